#!/usr/bin/python3
"""Make training.npz, the compact training set MembraneClassification-RandomForest
fits its two forests on at start-up.

  /usr/bin/python3 make-training-set.py [--data DIR] [--out training.npz]
      [--per-slice 1700] [--folds 3] [--heldout 10,11,12,13,14]

DIR (default $BIAFLOWS_REAL_DATA, else ../shared/data/real relative to the
repository root) holds PixCla/ISBI2012_EM_membranes/{images,groundtruth}
(ISBI 2012 EM training slices, ground truth 0 = membrane). --heldout leaves
those slices out (for validation; the shipped file uses all slices).

For each slice, --per-slice pixels are drawn at random (seeded), and for
each pixel the set stores its label (1 = membrane), its feature row
(features.py) and its stage-2 context row (model.context of the stage-1
probability map). The stage-1 probabilities of a slice come from a forest
fitted on the OTHER folds (slices split into --folds contiguous blocks), so
stage 2 learns from the same kind of imperfect probabilities it sees on new
images. Nothing else is stored: no image, no pickled model (the forests are
refitted at start-up, so nothing depends on the scikit-learn version).

Stored (numpy.savez_compressed), rows as 8-bit bin codes (255 quantile
edges per column, as histogram-based tree learners do; the forests are
fitted on the bin centres, see model.dequantised):
  c1     (N, F1) uint8    feature rows, binned
  c2     (N, F2) uint8    context rows, binned
  edges1 (F1, 255), edges2 (F2, 255) float32  the bin edges
  y      (N,)    uint8    1 = membrane, 0 = other
  slice  (N,)    uint8    slice index
  names1, names2          feature names
SPDX-License-Identifier: MIT
"""
import argparse, glob, os, sys, time

import numpy
import tifffile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from features import features, normalise, names  # noqa: E402
from model import forest, context, proba, make_edges, binned, dequantised  # noqa: E402

TREES = 30  # the forests of the out-of-fold stage-1 probabilities


def read(path):
    if path.lower().endswith((".tif", ".tiff")):
        return tifffile.imread(path)
    from skimage.io import imread
    return imread(path)


def main():
    ap = argparse.ArgumentParser()
    default = os.environ.get("BIAFLOWS_REAL_DATA") or os.path.join(HERE, "..", "..", "..", "shared", "data", "real")
    ap.add_argument("--data", default=default)
    ap.add_argument("--out", default=os.path.join(HERE, "training.npz"))
    ap.add_argument("--per-slice", type=int, default=1700)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--interleave", action="store_true", help="folds of every k-th slice instead of contiguous blocks")
    ap.add_argument("--heldout", default="")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    d = os.path.join(a.data, "PixCla", "ISBI2012_EM_membranes")
    paths = sorted(glob.glob(os.path.join(d, "images", "*")))
    held = {int(v) for v in a.heldout.split(",") if v}
    paths = [p for i, p in enumerate(paths) if i not in held]
    rng = numpy.random.RandomState(a.seed)
    feats, labels, picks = [], [], []
    for p in paths:
        img = read(p)
        gt = read(os.path.join(d, "groundtruth", os.path.basename(p)))
        f = features(normalise(img))
        feats.append(f)
        labels.append((gt < 128).astype(numpy.uint8))  # 0 = membrane in the ground truth
        picks.append(rng.choice(gt.size, min(a.per_slice, gt.size), replace=False))
    n = len(paths)
    x1 = [f.reshape(-1, f.shape[-1])[k] for f, k in zip(feats, picks)]
    y = [g.ravel()[k] for g, k in zip(labels, picks)]
    edges1 = make_edges(numpy.concatenate(x1))
    c1 = [binned(x, edges1) for x in x1]
    fold = numpy.arange(n) % a.folds if a.interleave else numpy.arange(n) * a.folds // n
    x2 = [None] * n
    for k in range(a.folds):
        t0 = time.time()
        tr = [i for i in range(n) if fold[i] != k]
        rf = forest(TREES, a.seed).fit(dequantised(numpy.concatenate([c1[i] for i in tr]), edges1),
                                       numpy.concatenate([y[i] for i in tr]))
        for i in range(n):
            if fold[i] == k:
                c = context(proba(rf, feats[i]))
                x2[i] = c.reshape(-1, c.shape[-1])[picks[i]]
        print("fold %d: %.1f s" % (k, time.time() - t0), file=sys.stderr, flush=True)
    edges2 = make_edges(numpy.concatenate(x2))
    numpy.savez_compressed(
        a.out, c1=numpy.concatenate(c1), c2=binned(numpy.concatenate(x2), edges2), edges1=edges1, edges2=edges2,
        y=numpy.concatenate(y), slice=numpy.repeat(numpy.arange(n), [len(k) for k in picks]).astype(numpy.uint8),
        names1=numpy.array(names()), names2=numpy.array(["ctx%d" % i for i in range(x2[0].shape[1])]))
    print("%s: %d slices, %d rows, %d bytes" % (a.out, n, sum(len(k) for k in picks), os.path.getsize(a.out)))


if __name__ == "__main__":
    main()
