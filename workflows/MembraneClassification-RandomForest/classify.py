#!/usr/bin/python3
"""MembraneClassification-RandomForest: membrane / non-membrane pixel
classification of electron-microscopy sections (BIAFLOWS PixCla) with an
ilastik-like two-stage (auto-context) random forest. BIAFLOWS local mode:

  python3 /app/classify.py [--membrane 0] [--background 255] [--trees 30]
      [--stages 2] [--smooth 1.0] [--threshold 0.45] [--seed 0]
      --infolder IN --outfolder OUT ...

At start-up the forests are fitted on the shipped training set
(training.npz: binned feature rows and labels of randomly sampled pixels of
the ISBI 2012 EM training slices, see make-training-set.py). Every IN/<stem>.tif
(grey 8/16-bit, or RGB, then averaged to grey) becomes OUT/<stem>.tif, a
mask of the image's Y, X shape with the value `membrane` on membrane pixels
and `background` elsewhere (8-bit, 16-bit if a value exceeds 255); with
--output network, the one-pixel skeleton of the membrane network instead
(255 on it, 0 elsewhere: the LooTrc workflow NetworkTracing-Membranes runs
this code so).
SPDX-License-Identifier: MIT
"""
import argparse, os, sys, time

import numpy
import scipy.ndimage as ndi
import tifffile
from skimage import morphology

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from features import features, normalise  # noqa: E402
from model import forest, context, proba, dequantised  # noqa: E402


def read_grey(path):
    with tifffile.TiffFile(path) as t:
        s = t.series[0]
        a, axes = s.asarray(), s.axes.upper()
    a = numpy.squeeze(a)
    if a.ndim == 3:  # colour (CYX or YXC): the channel mean
        if axes.endswith(("C", "S")) or (a.shape[-1] in (3, 4) and a.shape[0] not in (3, 4)):
            a = a[..., :3].mean(axis=-1)
        else:
            a = a[:3].mean(axis=0)
    if a.ndim != 2:
        raise SystemExit("%s: unsupported shape %s (axes %s): PixCla images are 2D" % (path, a.shape, axes))
    return a


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--infolder", default="/data/in")
    ap.add_argument("--outfolder", default="/data/out")
    ap.add_argument("--membrane", type=int, default=0, help="output value of membrane pixels")
    ap.add_argument("--background", type=int, default=255, help="output value of the other pixels")
    ap.add_argument("--trees", type=int, default=30)
    ap.add_argument("--stages", type=int, default=2, choices=[1, 2])
    ap.add_argument("--smooth", type=float, default=1.0)
    ap.add_argument("--threshold", type=float, default=0.45)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", choices=["mask", "network"], default="mask",
                    help="mask: membrane / background values (PixCla); network: the one-pixel "
                         "skeleton of the membrane (255, else 0; LooTrc)")
    ap.add_argument("--polarity", choices=["dark", "bright", "auto"], default="dark",
                    help="dark: membranes darker than their surroundings (EM); bright: lighter "
                         "(fluorescence), the image is inverted; auto: bright when the median is "
                         "nearer the 1 %% than the 99 %% percentile (a dark background)")
    ap.add_argument("--min_piece", type=int, default=30,
                    help="network: membrane pieces smaller than this many pixels are dropped")
    a, _ = ap.parse_known_args()  # --local, --gtfolder, -nmc, cytomine_* are ignored

    t0 = time.time()
    data = numpy.load(os.path.join(HERE, "training.npz"))
    c1, c2, y = dequantised(data["c1"], data["edges1"]), dequantised(data["c2"], data["edges2"]), data["y"]
    rf1 = forest(a.trees, a.seed).fit(c1, y)
    rf2 = forest(a.trees, a.seed).fit(numpy.concatenate([c1, c2], axis=1), y) if a.stages == 2 else None
    print("fitted %d forest(s) on %d pixels in %.1f s" % (a.stages, len(y), time.time() - t0),
          file=sys.stderr, flush=True)

    os.makedirs(a.outfolder, exist_ok=True)
    dtype = numpy.uint8 if max(a.membrane, a.background) <= 255 and min(a.membrane, a.background) >= 0 \
        else numpy.uint16
    names = sorted(n for n in os.listdir(a.infolder) if n.lower().endswith((".tif", ".tiff")))
    for name in names:
        t1 = time.time()
        img = normalise(read_grey(os.path.join(a.infolder, name)))
        if a.polarity == "bright" or (a.polarity == "auto" and numpy.median(img) < 0.5):
            img = 1 - img  # the forests know dark membranes
        f = features(img)
        p = proba(rf1, f)
        if rf2 is not None:
            p = proba(rf2, numpy.concatenate([f, context(p)], axis=-1))
        if a.smooth > 0:
            p = ndi.gaussian_filter(p, a.smooth, mode="reflect")
        if a.output == "network":
            m = morphology.remove_small_objects(p > a.threshold, max(a.min_piece, 1))
            mask = morphology.skeletonize(m).astype(numpy.uint8) * 255
        else:
            mask = numpy.where(p > a.threshold, a.membrane, a.background).astype(dtype)
        tifffile.imwrite(os.path.join(a.outfolder, name.split(".")[0] + ".tif"), mask)
        print("%s: %.1f %% membrane, %.1f s" % (name, 100.0 * (p > a.threshold).mean(), time.time() - t1),
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
