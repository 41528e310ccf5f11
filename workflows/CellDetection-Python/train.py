#!/usr/bin/python3
"""Train the H&E cell-centre network of CellDetection-Python; writes model.npz.

Data: the BM_GRAZ_HE bone-marrow tiles (RGB H&E, point annotations) under
$BIAFLOWS_REAL_DATA (default: ../shared/data/real relative to the repo root),
ObjDet/BM_GRAZ_HE_bone_marrow_cells/{images/*.png, groundtruth/*.csv}.
Each tile goes through the same input path as celldet.py (colour
deconvolution, nucleus scale estimated from the image, zoom to the canonical
nucleus scale). Target: exp(-d^2 / (2 * 1.5^2)), d = distance (canonical
pixels) to the nearest annotated centre. Loss: mean squared error weighted
1 + 9 * target. Augmentation: the 8 flips/rotations, per-channel gain
(0.8-1.2) and offset (+-0.08) of the stain maps (stain variation).
Deterministic for a given --seed (one CPU thread).
  --tiles all (default) | a comma list of tile stems (held-out experiments)
  --eval STEM[,STEM]     score these tiles after training (F1, 5 px gate)
SPDX-License-Identifier: MIT
"""
import argparse
import csv
import os
import sys
import time

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import celldet  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SUB = "ObjDet/BM_GRAZ_HE_bone_marrow_cells"


def load_tile(root, stem):
    from skimage import io
    rgb = io.imread(os.path.join(root, SUB, "images", stem + ".png"))[..., :3].astype(np.float64)
    with open(os.path.join(root, SUB, "groundtruth", stem + ".csv")) as fh:
        pts = np.array([(float(r["y"]), float(r["x"])) for r in csv.DictReader(fh)])
    return rgb, pts


def make_target(shape, pts, r=1.5):
    m = np.ones(shape, bool)
    idx = np.clip(np.round(pts).astype(int), 0, np.array(shape) - 1)
    m[idx[:, 0], idx[:, 1]] = False
    d = ndi.distance_transform_edt(m)
    return np.exp(-d ** 2 / (2 * r * r)).astype(np.float32)


def f1_score(pred, gt, gate=5.0):
    from scipy.optimize import linear_sum_assignment
    if len(pred) == 0 or len(gt) == 0:
        return 0.0, 0, len(pred), len(gt)
    d = np.sqrt(((pred[:, None, :] - gt[None, :, :]) ** 2).sum(-1))
    c = np.where(d <= gate, d, 1e6)
    r, k = linear_sum_assignment(c)
    tp = int((c[r, k] <= gate).sum())
    return 2 * tp / (len(pred) + len(gt)), tp, len(pred) - tp, len(gt) - tp


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("BIAFLOWS_REAL_DATA",
                                                    os.path.join(REPO, "..", "shared", "data", "real")))
    p.add_argument("--tiles", default="all")
    p.add_argument("--eval", default="")
    p.add_argument("--iters", type=int, default=1600)
    p.add_argument("--batch", type=int, default=6)
    p.add_argument("--crop", type=int, default=80)
    p.add_argument("--width", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=0.55, help="stored default detection threshold")
    p.add_argument("--smooth", type=float, default=0.5)
    p.add_argument("--tta", type=int, default=8, help="stored: flips/rotations averaged at prediction")
    p.add_argument("--min_distance", type=float, default=3.0, help="canonical pixels")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.npz"))
    a = p.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    stems = sorted(f[:-4] for f in os.listdir(os.path.join(a.data, SUB, "images")) if f.endswith(".png"))
    if a.tiles != "all":
        stems = a.tiles.split(",")
    tiles = []
    for s in stems:
        rgb, pts = load_tile(a.data, s)
        x, f, sig = celldet.he_input(rgb)
        tiles.append((x, make_target(x.shape[1:], (pts + 0.5) * f - 0.5)))
        print("%s: nucleus sigma %.2f px, zoom %.4f x %.4f, %d points" % (s, sig, f[0], f[1], len(pts)),
              flush=True)
    w0 = {"width": np.array(a.width)}
    net = celldet.build_net(dict(w0, **{"w:" + k: v.numpy() for k, v in
                                        _fresh_state(a.width, a.seed).items()}))
    net.train()
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=a.iters)
    t0 = time.time()
    S = a.crop
    for it in range(a.iters):
        xs, ts = [], []
        for _ in range(a.batch):
            x, t = tiles[rng.integers(len(tiles))]
            y0 = rng.integers(0, x.shape[1] - S)
            x0 = rng.integers(0, x.shape[2] - S)
            xc, tc = x[:, y0:y0 + S, x0:x0 + S], t[y0:y0 + S, x0:x0 + S]
            k = rng.integers(4)
            xc, tc = np.rot90(xc, k, (1, 2)), np.rot90(tc, k)
            if rng.random() < 0.5:
                xc, tc = xc[:, :, ::-1], tc[:, ::-1]
            xc = xc * rng.uniform(0.8, 1.2, (3, 1, 1)) + rng.uniform(-0.08, 0.08, (3, 1, 1))
            xs.append(np.ascontiguousarray(xc))
            ts.append(np.ascontiguousarray(tc))
        xb = torch.tensor(np.array(xs), dtype=torch.float32)
        tb = torch.tensor(np.array(ts))
        pb = net(xb)
        loss = ((1 + 9 * tb) * (pb - tb) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if it % 100 == 0 or it == a.iters - 1:
            print("iter %d loss %.5f (%.0f s)" % (it, float(loss), time.time() - t0), flush=True)
    net.eval()
    out = {"width": np.array(a.width), "threshold": np.array(a.threshold),
           "smooth": np.array(a.smooth), "tta": np.array(a.tta), "min_distance": np.array(a.min_distance),
           "canonical_sigma": np.array(celldet.CANONICAL_SIGMA)}
    for k, v in net.state_dict().items():
        out["w:" + k] = v.numpy().astype(np.float32)
    np.savez_compressed(a.out, **out)
    print("wrote %s (%d bytes)" % (a.out, os.path.getsize(a.out)))
    for s in [e for e in a.eval.split(",") if e]:
        rgb, gt = load_tile(a.data, s)
        x, f, _ = celldet.he_input(rgb)
        prob = ndi.gaussian_filter(celldet.predict_tta(net, x, a.tta), a.smooth)
        np.save(os.path.splitext(a.out)[0] + "_prob_%s.npy" % s, prob)
        for thr in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65):
            pk = celldet.local_maxima(prob, thr, a.min_distance)
            pts = np.round((pk + 0.5) / f - 0.5)
            f1, tp, fp, fn = f1_score(pts, gt)
            print("eval %s threshold %.2f: F1 %.4f (TP %d FP %d FN %d)" % (s, thr, f1, tp, fp, fn))
    return 0


def _fresh_state(width, seed):
    """Initial weights: PyTorch's default initialisation under the given seed, with
    the parameter names of celldet.build_net's network."""
    import torch
    import torch.nn as nn
    torch.manual_seed(seed)
    c = width

    def blk(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(o, o, 3, padding=1), nn.ReLU())
    m = nn.ModuleDict({"e1": blk(3, c), "e2": blk(c, 2 * c), "e3": blk(2 * c, 4 * c),
                       "d2": blk(6 * c, 2 * c), "d1": blk(3 * c, c), "out": nn.Conv2d(c, 1, 1)})
    return m.state_dict()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
