#!/usr/bin/python3
"""Train the small U-Net of segment.py on nuclei made by `biaflows gen ObjSeg`.

  /usr/bin/python3 train.py --biaflows /path/to/biaflows [--data DIR] [--out unet.pt]
                            [--iterations 1500] [--patch 96] [--batch 8]

Generates (unless DIR already holds them) the training sets listed in SETS
-- seeds 1000.. (the tests use 21 and 100), a mix of easy, medium and hard --
then trains on random patches with flips, 90-degree rotations and small
intensity changes, on one CPU thread, deterministically (the same command
gives the same weights on the same machine and torch build), and writes the
state_dict to --out."""
import argparse, glob, os, subprocess, sys, time

import numpy
import tifffile
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet import UNet, normalise, targets  # noqa: E402

# (name, biaflows gen arguments): 36 images of 256x256
SETS = [
    ("easy", ["--n", "8", "--size", "256x256", "--seed", "1000", "--difficulty", "easy"]),
    ("medium", ["--n", "12", "--size", "256x256", "--seed", "1001", "--difficulty", "medium"]),
    ("hard", ["--n", "8", "--size", "256x256", "--seed", "1002", "--difficulty", "hard"]),
    ("medium16", ["--n", "4", "--size", "256x256", "--seed", "1003", "--difficulty", "medium", "--bits", "16"]),
    ("big", ["--n", "4", "--size", "256x256", "--seed", "1004", "--difficulty", "medium", "--objects", "30"]),
]


def load(data, biaflows):
    imgs, tgts = [], []
    for name, args in SETS:
        d = os.path.join(data, name)
        if not os.path.exists(os.path.join(d, "dataset.json")):
            subprocess.run([biaflows, "gen", "ObjSeg", d] + args, check=True, stdout=subprocess.DEVNULL)
        for f in sorted(glob.glob(os.path.join(d, "images", "*.tif"))):
            img = tifffile.imread(f)
            gt = tifffile.imread(os.path.join(d, "groundtruth", os.path.basename(f)))
            imgs.append(normalise(img))
            tgts.append(targets(gt))
    return imgs, tgts


def batch(rng, imgs, tgts, patch, size):
    xs, ys = [], []
    for _ in range(size):
        i = rng.randint(len(imgs))
        img, tgt = imgs[i], tgts[i]
        y0 = rng.randint(img.shape[0] - patch + 1)
        x0 = rng.randint(img.shape[1] - patch + 1)
        x = img[y0:y0 + patch, x0:x0 + patch]
        y = tgt[y0:y0 + patch, x0:x0 + patch]
        k = rng.randint(4)
        x, y = numpy.rot90(x, k), numpy.rot90(y, k)
        if rng.randint(2):
            x, y = x[:, ::-1], y[:, ::-1]
        x = x * rng.uniform(0.75, 1.25) + rng.uniform(-0.1, 0.1)
        xs.append(numpy.ascontiguousarray(x, numpy.float32))
        ys.append(numpy.ascontiguousarray(y))
    return torch.from_numpy(numpy.stack(xs)[:, None]), torch.from_numpy(numpy.stack(ys))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--biaflows", required=True)
    ap.add_argument("--data", default="/tmp/unet-train")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "unet.pt"))
    ap.add_argument("--iterations", type=int, default=1500)
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = numpy.random.RandomState(0)

    imgs, tgts = load(a.data, a.biaflows)
    print("training images: %d" % len(imgs), flush=True)
    model = UNet()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.iterations, pct_start=0.1)
    lossf = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 1.0, 2.0]))
    model.train()
    t0, run = time.time(), 0.0
    for it in range(1, a.iterations + 1):
        x, y = batch(rng, imgs, tgts, a.patch, a.batch)
        opt.zero_grad()
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        run += loss.item()
        if it % 50 == 0:
            print("it %5d  loss %.4f  %.0f s" % (it, run / 50, time.time() - t0), flush=True)
            run = 0.0
    model.eval()
    torch.save(model.state_dict(), a.out)
    print("saved %s (%d bytes, %.0f s)" % (a.out, os.path.getsize(a.out), time.time() - t0))


if __name__ == "__main__":
    main()
