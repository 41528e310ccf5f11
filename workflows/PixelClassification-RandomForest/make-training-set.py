#!/usr/bin/python3
"""Make training.npz, the compact training set PixelClassification-RandomForest
fits its random forest on at start-up: a few small images made by
`biaflows gen PixCla` (seeds 2000.., never the tests' seeds) and, for each,
a sparse sample of annotated pixels -- the same thing an ilastik project
holds (training images + brush strokes), with the labels read from the
generated ground truth.

  /usr/bin/python3 make-training-set.py --biaflows /path/to/biaflows [--data DIR] [--out training.npz]

Stored (numpy.savez_compressed):
  rgb_images  (N, 3, H, W) uint8   H&E-like colour images
  rgb_pix     (M, 4) int32         image index, y, x, class of the annotated pixels
  grey_images (N', H, W) uint8     grey images (--grey)
  grey_pix    (M', 4) int32
Pixels are sampled with the same number per class and image (fewer when a
class has fewer pixels), 4 px away from the image border."""
import argparse, glob, os, subprocess

import numpy
import tifffile

SIZE = "192x192"
PER_CLASS = 250
RGB_SETS = [
    ("rgb-easy", ["--n", "2", "--seed", "2000", "--difficulty", "easy"]),
    ("rgb-medium", ["--n", "3", "--seed", "2001", "--difficulty", "medium"]),
    ("rgb-hard", ["--n", "2", "--seed", "2002", "--difficulty", "hard"]),
    ("rgb-k8", ["--n", "3", "--seed", "2003", "--difficulty", "medium", "--classes", "8"]),
]
GREY_SETS = [
    ("grey-easy", ["--n", "1", "--seed", "2010", "--difficulty", "easy", "--grey"]),
    ("grey-medium", ["--n", "2", "--seed", "2011", "--difficulty", "medium", "--grey"]),
    ("grey-hard", ["--n", "1", "--seed", "2012", "--difficulty", "hard", "--grey"]),
]


def collect(sets, data, biaflows, rng, rgb):
    images, pix = [], []
    for name, args in sets:
        d = os.path.join(data, name)
        if not os.path.exists(os.path.join(d, "dataset.json")):
            subprocess.run([biaflows, "gen", "PixCla", d, "--size", SIZE] + args, check=True,
                           stdout=subprocess.DEVNULL)
        for f in sorted(glob.glob(os.path.join(d, "images", "*.tif"))):
            with tifffile.TiffFile(f) as t:
                img, axes = t.series[0].asarray(), t.series[0].axes
            if rgb and axes.endswith(("C", "S")):
                img = numpy.moveaxis(img, -1, 0)
            gt = tifffile.imread(os.path.join(d, "groundtruth", os.path.basename(f)))
            idx = len(images)
            images.append(img.astype(numpy.uint8))
            inner = numpy.zeros(gt.shape, bool)
            inner[4:-4, 4:-4] = True
            for c in numpy.unique(gt):
                ys, xs = numpy.nonzero((gt == c) & inner)
                if len(ys) == 0:
                    continue
                take = rng.choice(len(ys), min(PER_CLASS, len(ys)), replace=False)
                take.sort()
                for k in take:
                    pix.append((idx, ys[k], xs[k], int(c)))
    return numpy.stack(images), numpy.array(pix, numpy.int32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--biaflows", required=True)
    ap.add_argument("--data", default="/tmp/pixcla-train")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "training.npz"))
    a = ap.parse_args()
    rng = numpy.random.RandomState(0)
    rgb_images, rgb_pix = collect(RGB_SETS, a.data, a.biaflows, rng, True)
    grey_images, grey_pix = collect(GREY_SETS, a.data, a.biaflows, rng, False)
    numpy.savez_compressed(a.out, rgb_images=rgb_images, rgb_pix=rgb_pix,
                           grey_images=grey_images, grey_pix=grey_pix)
    print("%s: %d colour images, %d pixels; %d grey images, %d pixels; %d bytes" % (
        a.out, len(rgb_images), len(rgb_pix), len(grey_images), len(grey_pix), os.path.getsize(a.out)))


if __name__ == "__main__":
    main()
