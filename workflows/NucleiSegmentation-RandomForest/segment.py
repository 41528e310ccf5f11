#!/usr/bin/python3
"""NucleiSegmentation-RandomForest: nuclei instance segmentation by ilastik-like
pixel classification (background / interior / boundary) with a random forest,
then seeded watershed. BIAFLOWS local mode:

  python3 /app/segment.py [--radius 0] [--trees 50] [--smooth 1.0] [--seed_threshold 0.7]
      [--fg_threshold 0.8] [--min_seed 4] [--min_area 12] [--seed 0]
      --local --infolder IN --outfolder OUT ...

At start-up the forest is fitted on the shipped training set (training.npz:
small generated images and annotated pixels, see make-training-set.py).
Every IN/<stem>.tif becomes OUT/<stem>.tif, a 16-bit label image (1..N) of the
image's shape. The image is first resized so that its nuclei get the radius of
the training images (nuclei.CANONICAL_RADIUS px; the nucleus radius is
--radius, or estimated from the image when 0); the class probabilities are
resized back before the instances are built. 3D stacks are classified slice by slice and the instances are
built in 3D from the stacked probabilities. A channel axis is averaged."""
import argparse, os, sys, time

import numpy
import scipy.ndimage as ndi
import tifffile
from sklearn.ensemble import RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from features import features  # noqa: E402
from nuclei import normalise, read_grey, instances, estimate_radius, scale_factor, rescale, resize_to  # noqa: E402


def fit(trees, seed, path=os.path.join(HERE, "training.npz")):
    data = numpy.load(path)
    images, pix = data["images"], data["pix"]
    rows, labels = [], []
    for i in range(len(images)):
        sel = pix[pix[:, 0] == i]
        f = features(normalise(images[i])[None])
        rows.append(f[sel[:, 1] * images.shape[2] + sel[:, 2]])
        labels.append(sel[:, 3])
    if "real_rows" in data and len(data["real_labels"]):  # feature rows of annotated real pixels
        rows.append(data["real_rows"].astype(numpy.float32))
        labels.append(data["real_labels"].astype(sel.dtype))
    rf = RandomForestClassifier(n_estimators=trees, min_samples_leaf=2, max_features="sqrt",
                                n_jobs=1, random_state=seed)
    rf.fit(numpy.concatenate(rows), numpy.concatenate(labels))
    return rf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infolder", default="/data/in")
    ap.add_argument("--outfolder", default="/data/out")
    ap.add_argument("--radius", type=float, default=0.0)
    ap.add_argument("--trees", type=int, default=50)
    ap.add_argument("--smooth", type=float, default=1.0)
    ap.add_argument("--seed_threshold", type=float, default=0.7)
    ap.add_argument("--fg_threshold", type=float, default=0.8)
    ap.add_argument("--min_seed", type=int, default=4)
    ap.add_argument("--min_area", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--training", default=os.path.join(HERE, "training.npz"))  # not in the descriptor
    a, _ = ap.parse_known_args()  # --local, --gtfolder, -nmc, cytomine_* are ignored

    t0 = time.time()
    rf = fit(a.trees, a.seed, a.training)
    print("fitted the forest in %.1f s" % (time.time() - t0), file=sys.stderr, flush=True)
    os.makedirs(a.outfolder, exist_ok=True)
    names = sorted(n for n in os.listdir(a.infolder) if n.lower().endswith((".tif", ".tiff")))
    for name in names:
        t0 = time.time()
        stack, shape = read_grey(os.path.join(a.infolder, name))
        radius = a.radius if a.radius > 0 else estimate_radius(stack.max(axis=0))
        factor = scale_factor(radius, stack.shape[-2:])
        small = numpy.stack([rescale(sl, factor) for sl in stack]) if factor != 1 else stack
        small = normalise(small)  # one normalisation for the whole stack
        probs = []
        for sl in small:
            p = rf.predict_proba(features(sl[None])).reshape(sl.shape + (3,))
            p = numpy.moveaxis(p, -1, 0)
            if a.smooth > 0:
                p = ndi.gaussian_filter(p, (0, a.smooth, a.smooth))
            if factor != 1:
                p = numpy.stack([resize_to(c, stack.shape[-2:]) for c in p])
            probs.append(p)
        prob = numpy.stack(probs, axis=1) if len(probs) > 1 else probs[0]
        area = 1.0 / factor ** 2  # min_seed, min_area are areas at the canonical scale
        lab = instances(prob, a.seed_threshold, a.fg_threshold, max(1, int(round(a.min_seed * area))),
                        int(round(a.min_area * area))).reshape(shape)
        tifffile.imwrite(os.path.join(a.outfolder, name.split(".")[0] + ".tif"), lab.astype(numpy.uint16))
        print("%s: radius %.1f px, scale x%.3f, %d nuclei, %.1f s" % (name, radius, factor, int(lab.max()),
                                                                   time.time() - t0), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
