#!/usr/bin/python3
"""PixelClassification-RandomForest: ilastik-like pixel classification with a
random forest. BIAFLOWS local mode:

  python3 /app/classify.py [--trees 50] [--classes 3] [--smooth 2.0] [--seed 0]
      --local --infolder IN --outfolder OUT ...

At start-up the forest is fitted on the shipped training set (training.npz:
small generated images and annotated pixels, see make-training-set.py), on
the colour or the grey part depending on the inputs; then every
IN/<stem>.tif (RGB as CYX or YXC, or grey) becomes OUT/<stem>.tif, an 8-bit
class mask (0..K-1) of the image's Y, X shape."""
import argparse, os, sys, time

import numpy
import scipy.ndimage as ndi
import tifffile
from sklearn.ensemble import RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from features import features  # noqa: E402


def prepare(img, grey):
    """uint8/uint16 image -> (C, Y, X) float32: colour / 255 (the absolute
    colour matters), grey by percentiles (1 %, 99.8 %)."""
    img = img.astype(numpy.float32)
    if grey:
        lo, hi = numpy.percentile(img, (1.0, 99.8))
        return ((img - lo) / max(hi - lo, 1e-6))[None]
    return img / 255.0


def read(path):
    """-> (image (C, Y, X) or (Y, X) as stored, grey?)"""
    with tifffile.TiffFile(path) as t:
        s = t.series[0]
        a, axes, dtype = s.asarray(), s.axes.upper(), s.dtype
    if a.ndim == 2:
        return a, True, dtype
    if axes.endswith(("C", "S")) and a.shape[-1] in (3, 4):
        a = numpy.moveaxis(a, -1, 0)
    elif a.ndim == 3 and a.shape[0] not in (3, 4) and a.shape[-1] in (3, 4):
        a = numpy.moveaxis(a, -1, 0)
    if a.ndim != 3:
        raise SystemExit("%s: unsupported shape %s (axes %s): PixCla images are 2D, grey or RGB" % (path, a.shape, axes))
    if a.shape[0] == 1:
        return a[0], True, dtype
    return a[:3], False, dtype


def fit(part, trees, seed, k):
    data = numpy.load(os.path.join(HERE, "training.npz"))
    images, pix = data[part + "_images"], data[part + "_pix"]
    grey = part == "grey"
    rows, labels = [], []
    for i in range(len(images)):
        sel = pix[pix[:, 0] == i]
        f = features(prepare(images[i], grey))
        w = images[i].shape[-1]
        rows.append(f[sel[:, 1] * w + sel[:, 2]])
        labels.append(sel[:, 3])
    x, y = numpy.concatenate(rows), numpy.concatenate(labels)
    if k == 2:
        y = numpy.where(y == 2, 1, y)  # two classes: the whole gland (lumen included) is class 1
    x, y = x[y < k], y[y < k]  # the training set has classes 0..7; keep those of the data
    rf = RandomForestClassifier(n_estimators=trees, min_samples_leaf=2, max_features="sqrt",
                                n_jobs=1, random_state=seed)
    rf.fit(x, y)
    return rf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infolder", default="/data/in")
    ap.add_argument("--outfolder", default="/data/out")
    ap.add_argument("--trees", type=int, default=50)
    ap.add_argument("--classes", type=int, default=3)
    ap.add_argument("--smooth", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    a, _ = ap.parse_known_args()  # --local, --gtfolder, -nmc, cytomine_* are ignored

    os.makedirs(a.outfolder, exist_ok=True)
    names = sorted(n for n in os.listdir(a.infolder) if n.lower().endswith((".tif", ".tiff")))
    forests = {}
    for name in names:
        t0 = time.time()
        img, grey, _ = read(os.path.join(a.infolder, name))
        part = "grey" if grey else "rgb"
        if part not in forests:
            forests[part] = fit(part, a.trees, a.seed, a.classes)
            print("fitted the %s forest in %.1f s" % (part, time.time() - t0), file=sys.stderr, flush=True)
        rf = forests[part]
        x = prepare(img, grey)
        shape = x.shape[1:]
        prob = rf.predict_proba(features(x)).reshape(shape + (len(rf.classes_),))
        classes = rf.classes_
        if a.smooth > 0:
            prob = ndi.gaussian_filter(prob, (a.smooth, a.smooth, 0), mode="reflect")
        mask = classes[numpy.argmax(prob, axis=-1)].astype(numpy.uint8)
        stem = name.split(".")[0]
        tifffile.imwrite(os.path.join(a.outfolder, stem + ".tif"), mask)
        print("%s: classes %s, %.1f s" % (name, numpy.bincount(mask.ravel()).tolist(), time.time() - t0),
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
