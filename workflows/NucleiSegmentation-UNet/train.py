#!/usr/bin/python3
"""Train the small U-Net of segment.py on nuclei made by `biaflows gen ObjSeg`
plus the real ObjSeg nuclei datasets (rescaled to the canonical radius).

  /usr/bin/python3 train.py --biaflows /path/to/biaflows [--data DIR] [--out unet.pt]
        [--real DIR] [--split all|dev] [--iterations 2000] [--patch 96] [--batch 8]

Generates (unless DIR already holds them) the training sets listed in SETS
-- seeds 1000.. (the tests use 21 and 100), a mix of easy, medium and hard.
Real data: every <real>/ObjSeg/*/images/<stem>.tif with its
groundtruth/<stem>.tif (default $BIAFLOWS_REAL_DATA, else
../shared/data/real from the repository root), each rescaled so that its
median ground-truth nucleus radius becomes unet.CANONICAL_RADIUS. With
--split dev the GOWT1 frames 01_t033 and 01_t039 and the right half of the
DSB2018 image are left out (held-out evaluation). Patches: half generated,
half real; random scale 0.8-1.25, 90-degree rotations, flips, gamma,
gain/offset. One CPU thread, deterministic (the same command gives the same
weights on the same machine and torch build); writes the state_dict to
--out."""
import argparse, glob, os, subprocess, sys, time

import numpy
import tifffile
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet import UNet, normalise, targets, rescale, CANONICAL_RADIUS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# (name, biaflows gen arguments): 36 images of 256x256
SETS = [
    ("easy", ["--n", "8", "--size", "256x256", "--seed", "1000", "--difficulty", "easy"]),
    ("medium", ["--n", "12", "--size", "256x256", "--seed", "1001", "--difficulty", "medium"]),
    ("hard", ["--n", "8", "--size", "256x256", "--seed", "1002", "--difficulty", "hard"]),
    ("medium16", ["--n", "4", "--size", "256x256", "--seed", "1003", "--difficulty", "medium", "--bits", "16"]),
    ("big", ["--n", "4", "--size", "256x256", "--seed", "1004", "--difficulty", "medium", "--objects", "30"]),
]
# --split dev: frames left out entirely, and images of which only the left half is used
DEV_EXCLUDE = ("01_t033", "01_t039")
DEV_LEFT_HALF = ("dsb2018_img2d",)


def imread(path):
    try:
        return tifffile.imread(path)
    except Exception:  # LZW without imagecodecs: fall back on Pillow
        from PIL import Image
        return numpy.array(Image.open(path))


def load_generated(data, biaflows):
    imgs, labs = [], []
    for name, args in SETS:
        d = os.path.join(data, name)
        if not os.path.exists(os.path.join(d, "dataset.json")):
            subprocess.run([biaflows, "gen", "ObjSeg", d] + args, check=True, stdout=subprocess.DEVNULL)
        for f in sorted(glob.glob(os.path.join(d, "images", "*.tif"))):
            imgs.append(normalise(tifffile.imread(f)))
            labs.append(tifffile.imread(os.path.join(d, "groundtruth", os.path.basename(f))).astype(numpy.int32))
    return imgs, labs


def load_real(real, split):
    imgs, labs, names = [], [], []
    for f in sorted(glob.glob(os.path.join(real, "ObjSeg", "*", "images", "*.tif"))):
        stem = os.path.basename(f)[:-4]
        g = os.path.join(os.path.dirname(os.path.dirname(f)), "groundtruth", os.path.basename(f))
        if not os.path.exists(g) or (split == "dev" and stem in DEV_EXCLUDE):
            continue
        img, lab = imread(f).astype(numpy.float32), imread(g).astype(numpy.int32)
        if img.ndim != 2 or lab.shape != img.shape:
            continue
        if split == "dev" and stem in DEV_LEFT_HALF:
            w = img.shape[1] // 2
            img, lab = img[:, :w], lab[:, :w]
        area = numpy.bincount(lab.ravel())[1:]
        area = area[area > 0]
        if not len(area):
            continue
        factor = CANONICAL_RADIUS / numpy.sqrt(numpy.median(area) / numpy.pi)
        imgs.append(normalise(rescale(img, factor)))
        labs.append(rescale(lab, factor, order=0))
        names.append("%s (x%.2f -> %dx%d)" % (stem, factor, imgs[-1].shape[0], imgs[-1].shape[1]))
    return imgs, labs, names


def patch_of(rng, img, lab, patch):
    s = numpy.exp(rng.uniform(numpy.log(0.8), numpy.log(1.25)))
    c = min(int(round(patch * s)), img.shape[0], img.shape[1])
    y0 = rng.randint(img.shape[0] - c + 1)
    x0 = rng.randint(img.shape[1] - c + 1)
    x, y = img[y0:y0 + c, x0:x0 + c], lab[y0:y0 + c, x0:x0 + c]
    if c != patch:
        x, y = rescale(x, patch / c), rescale(y, patch / c, order=0)
        x, y = x[:patch, :patch], y[:patch, :patch]
    return x, targets(y)


def batch(rng, gen, real, patch, size):
    xs, ys = [], []
    for _ in range(size):
        imgs, labs = real if (real[0] and rng.randint(2)) else gen
        i = rng.randint(len(imgs))
        x, y = patch_of(rng, imgs[i], labs[i], patch)
        k = rng.randint(4)
        x, y = numpy.rot90(x, k), numpy.rot90(y, k)
        if rng.randint(2):
            x, y = x[:, ::-1], y[:, ::-1]
        x = numpy.clip(x, 0, None) ** numpy.exp(rng.uniform(-0.35, 0.35))
        x = x * rng.uniform(0.75, 1.25) + rng.uniform(-0.1, 0.1)
        xs.append(numpy.ascontiguousarray(x, numpy.float32))
        ys.append(numpy.ascontiguousarray(y))
    return torch.from_numpy(numpy.stack(xs)[:, None]), torch.from_numpy(numpy.stack(ys))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--biaflows", required=True)
    ap.add_argument("--data", default="/tmp/unet-train")
    ap.add_argument("--real", default=os.environ.get("BIAFLOWS_REAL_DATA") or
                    os.path.join(HERE, "..", "..", "..", "shared", "data", "real"))
    ap.add_argument("--split", choices=("all", "dev"), default="all")
    ap.add_argument("--out", default=os.path.join(HERE, "unet.pt"))
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = numpy.random.RandomState(0)

    gen = load_generated(a.data, a.biaflows)
    rimgs, rlabs, names = load_real(a.real, a.split)
    print("generated images: %d; real images (%s): %s" % (len(gen[0]), a.real, ", ".join(names) or "none"), flush=True)
    model = UNet()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.iterations, pct_start=0.1)
    lossf = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 1.0, 2.0]))
    model.train()
    t0, run = time.time(), 0.0
    for it in range(1, a.iterations + 1):
        x, y = batch(rng, gen, (rimgs, rlabs), a.patch, a.batch)
        opt.zero_grad()
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        run += loss.item()
        if it % 100 == 0:
            print("it %5d  loss %.4f  %.0f s" % (it, run / 100, time.time() - t0), flush=True)
            run = 0.0
    model.eval()
    torch.save(model.state_dict(), a.out)
    print("saved %s (%d bytes, %.0f s)" % (a.out, os.path.getsize(a.out), time.time() - t0))


if __name__ == "__main__":
    main()
