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

Real data: every <real>/ObjSeg/*/images/<stem>.tif with its
groundtruth/<stem>.tif (default $BIAFLOWS_REAL_DATA, else ../shared/data/real
from the repository root) is resized as segment.py resizes it (estimated
nucleus radius -> nuclei.CANONICAL_RADIUS), normalised as any input, and
REAL_PER_CLASS pixels per class are drawn the same way; for those only the
FEATURE ROWS are stored (not the images). --split dev leaves out the GOWT1
frames 01_t033, 01_t039 and the right half of the DSB2018 image (held-out
evaluation).

  .../make-training-set.py --biaflows B [--data DIR] [--out training.npz] [--real DIR] [--split all|dev]

Stored (numpy.savez_compressed):
  images  (N, H, W) uint16   the raw generated images (8-bit ones widened;
                             normalised at start-up, as any input)
  pix     (M, 4) int32       image index, y, x, class of the annotated pixels
  real_rows   (R, F) float16 features.py rows of the annotated real pixels
  real_labels (R,) uint8     their classes
The same number of pixels is drawn per class and image, 4 px away from the
border; boundary pixels between two touching nuclei are drawn twice as often
as their share (they are what separates nuclei)."""
import argparse, glob, os, subprocess, sys

import numpy
import tifffile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nuclei import targets, normalise, rescale, estimate_radius, scale_factor  # noqa: E402
from features import features  # noqa: E402

SIZE = "192x192"
PER_CLASS = 300
REAL_PER_CLASS = 500
DEV_EXCLUDE = ("01_t033", "01_t039")
DEV_LEFT_HALF = ("dsb2018_img2d",)
HERE = os.path.dirname(os.path.abspath(__file__))
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
    ap.add_argument("--out", default=os.path.join(HERE, "training.npz"))
    ap.add_argument("--real", default=os.environ.get("BIAFLOWS_REAL_DATA") or
                    os.path.join(HERE, "..", "..", "..", "shared", "data", "real"))
    ap.add_argument("--split", choices=("all", "dev"), default="all")
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
            pix += [(idx, y, x, c) for y, x, c in sample(rng, cls, inner, touching, PER_CLASS)]
    rows, labels = [], []
    for f in sorted(glob.glob(os.path.join(a.real, "ObjSeg", "*", "images", "*.tif"))):
        stem = os.path.basename(f)[:-4]
        g = os.path.join(os.path.dirname(os.path.dirname(f)), "groundtruth", os.path.basename(f))
        if not os.path.exists(g) or (a.split == "dev" and stem in DEV_EXCLUDE):
            continue
        img, gt = imread(f).astype(numpy.float32), imread(g).astype(numpy.int32)
        if img.ndim != 2 or gt.shape != img.shape:
            continue
        if a.split == "dev" and stem in DEV_LEFT_HALF:
            img, gt = img[:, :img.shape[1] // 2], gt[:, :img.shape[1] // 2]
        factor = scale_factor(estimate_radius(img), img.shape)  # exactly as segment.py resizes it
        img, gt = normalise(rescale(img, factor)), rescale(gt, factor, order=0)
        cls = targets(gt)
        inner = numpy.zeros(gt.shape, bool)
        inner[4:-4, 4:-4] = True
        feat = features(img[None])
        sel = sample(rng, cls, inner, ndi_touching(gt), REAL_PER_CLASS)
        rows.append(feat[[y * gt.shape[1] + x for y, x, c in sel]])
        labels.append([c for y, x, c in sel])
        print("real %s: x%.2f, %d pixels" % (stem, factor, len(sel)))
    rows = numpy.concatenate(rows) if rows else numpy.zeros((0, 35), numpy.float32)
    labels = numpy.concatenate(labels) if labels else numpy.zeros(0)
    numpy.savez_compressed(a.out, images=numpy.stack(images), pix=numpy.array(pix, numpy.int32),
                           real_rows=rows.astype(numpy.float16), real_labels=labels.astype(numpy.uint8))
    print("%s: %d images, %d pixels, %d real pixels, %d bytes" % (a.out, len(images), len(pix), len(labels),
                                                                   os.path.getsize(a.out)))


def imread(path):
    try:
        return tifffile.imread(path)
    except Exception:  # LZW without imagecodecs: fall back on Pillow
        from PIL import Image
        return numpy.array(Image.open(path))


def sample(rng, cls, inner, touching, per_class):
    """(y, x, class) of up to per_class pixels of each class inside `inner`;
    boundary pixels next to another nucleus weigh double."""
    out = []
    for c in range(3):
        ys, xs = numpy.nonzero((cls == c) & inner)
        if len(ys) == 0:
            continue
        w = numpy.ones(len(ys))
        if c == 2:
            w[touching[ys, xs]] = 2.0
        take = rng.choice(len(ys), min(per_class, len(ys)), replace=False, p=w / w.sum())
        take.sort()
        out += [(ys[k], xs[k], c) for k in take]
    return out


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
