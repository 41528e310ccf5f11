#!/usr/bin/python3
"""Make training.npz, the compact training set NucleiSegmentation-RandomForest
fits its random forest on at start-up: small images made by
`biaflows gen ObjSeg` (seeds 3000.., never the tests' seeds 21 and 100; a mix
of difficulties) and, for each, a sparse sample of annotated pixels of the
classes background (0), interior (1) and boundary (2) -- an ilastik project
in miniature, with the labels derived from the generated ground truth (the
boundary is the one-pixel inner rim of every nucleus, so touching nuclei are
separated by two boundary pixels).

  /usr/bin/python3 make-training-set.py --biaflows /path/to/biaflows [--data DIR] [--out training.npz]

Stored (numpy.savez_compressed):
  images  (N, H, W) uint16   the raw images (8-bit ones widened; normalised
                             by percentiles at start-up, as any input)
  pix     (M, 4) int32       image index, y, x, class of the annotated pixels
The same number of pixels is drawn per class and image, 4 px away from the
border; boundary pixels between two touching nuclei are drawn twice as often
as their share (they are what separates nuclei)."""
import argparse, glob, os, subprocess, sys

import numpy
import tifffile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nuclei import targets  # noqa: E402

SIZE = "192x192"
PER_CLASS = 300
SETS = [
    ("easy", ["--n", "2", "--seed", "3000", "--difficulty", "easy"]),
    ("medium", ["--n", "3", "--seed", "3001", "--difficulty", "medium"]),
    ("hard", ["--n", "2", "--seed", "3002", "--difficulty", "hard"]),
    ("medium16", ["--n", "1", "--seed", "3003", "--difficulty", "medium", "--bits", "16"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--biaflows", required=True)
    ap.add_argument("--data", default="/tmp/nucleirf-train")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "training.npz"))
    a = ap.parse_args()
    rng = numpy.random.RandomState(0)
    images, pix = [], []
    for name, args in SETS:
        d = os.path.join(a.data, name)
        if not os.path.exists(os.path.join(d, "dataset.json")):
            subprocess.run([a.biaflows, "gen", "ObjSeg", d, "--size", SIZE] + args, check=True,
                           stdout=subprocess.DEVNULL)
        for f in sorted(glob.glob(os.path.join(d, "images", "*.tif"))):
            img = tifffile.imread(f)
            gt = tifffile.imread(os.path.join(d, "groundtruth", os.path.basename(f)))
            cls = targets(gt)
            idx = len(images)
            images.append(img.astype(numpy.uint16))
            inner = numpy.zeros(gt.shape, bool)
            inner[4:-4, 4:-4] = True
            # boundary pixels next to another nucleus (not background) weigh double
            touching = ndi_touching(gt)
            for c in range(3):
                ys, xs = numpy.nonzero((cls == c) & inner)
                if len(ys) == 0:
                    continue
                w = numpy.ones(len(ys))
                if c == 2:
                    w[touching[ys, xs]] = 2.0
                take = rng.choice(len(ys), min(PER_CLASS, len(ys)), replace=False, p=w / w.sum())
                take.sort()
                pix += [(idx, ys[k], xs[k], c) for k in take]
    numpy.savez_compressed(a.out, images=numpy.stack(images), pix=numpy.array(pix, numpy.int32))
    print("%s: %d images, %d pixels, %d bytes" % (a.out, len(images), len(pix), os.path.getsize(a.out)))


def ndi_touching(gt):
    """Object pixels with a 4-neighbour of another object (not background)."""
    lab = gt.astype(numpy.int64)
    pad = numpy.pad(lab, 1, mode="edge")
    out = numpy.zeros(lab.shape, bool)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nb = pad[1 + dy:1 + dy + lab.shape[0], 1 + dx:1 + dx + lab.shape[1]]
        out |= (lab > 0) & (nb > 0) & (nb != lab)
    return out


if __name__ == "__main__":
    main()
