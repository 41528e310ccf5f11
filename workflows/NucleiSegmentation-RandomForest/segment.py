#!/usr/bin/python3
"""NucleiSegmentation-RandomForest: nuclei instance segmentation by ilastik-like
pixel classification (background / interior / boundary) with a random forest,
then seeded watershed. BIAFLOWS local mode:

  python3 /app/segment.py [--trees 50] [--smooth 1.0] [--seed_threshold 0.7]
      [--fg_threshold 0.7] [--min_seed 4] [--min_area 12] [--seed 0]
      --local --infolder IN --outfolder OUT ...

At start-up the forest is fitted on the shipped training set (training.npz:
small generated images and annotated pixels, see make-training-set.py).
Every IN/<stem>.tif becomes OUT/<stem>.tif, a 16-bit label image (1..N) of the
image's shape. 3D stacks are classified slice by slice and the instances are
built in 3D from the stacked probabilities. A channel axis is averaged."""
import argparse, os, sys, time

import numpy
import scipy.ndimage as ndi
import tifffile
from sklearn.ensemble import RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from features import features  # noqa: E402
from nuclei import normalise, read_grey, instances  # noqa: E402


def fit(trees, seed):
    data = numpy.load(os.path.join(HERE, "training.npz"))
    images, pix = data["images"], data["pix"]
    rows, labels = [], []
    for i in range(len(images)):
        sel = pix[pix[:, 0] == i]
        f = features(normalise(images[i])[None])
        rows.append(f[sel[:, 1] * images.shape[2] + sel[:, 2]])
        labels.append(sel[:, 3])
    rf = RandomForestClassifier(n_estimators=trees, min_samples_leaf=2, max_features="sqrt",
                                n_jobs=1, random_state=seed)
    rf.fit(numpy.concatenate(rows), numpy.concatenate(labels))
    return rf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infolder", default="/data/in")
    ap.add_argument("--outfolder", default="/data/out")
    ap.add_argument("--trees", type=int, default=50)
    ap.add_argument("--smooth", type=float, default=1.0)
    ap.add_argument("--seed_threshold", type=float, default=0.7)
    ap.add_argument("--fg_threshold", type=float, default=0.7)
    ap.add_argument("--min_seed", type=int, default=4)
    ap.add_argument("--min_area", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    a, _ = ap.parse_known_args()  # --local, --gtfolder, -nmc, cytomine_* are ignored

    t0 = time.time()
    rf = fit(a.trees, a.seed)
    print("fitted the forest in %.1f s" % (time.time() - t0), file=sys.stderr, flush=True)
    os.makedirs(a.outfolder, exist_ok=True)
    names = sorted(n for n in os.listdir(a.infolder) if n.lower().endswith((".tif", ".tiff")))
    for name in names:
        t0 = time.time()
        stack, shape = read_grey(os.path.join(a.infolder, name))
        stack = normalise(stack)  # one normalisation for the whole stack
        probs = []
        for sl in stack:
            p = rf.predict_proba(features(sl[None])).reshape(sl.shape + (3,))
            p = numpy.moveaxis(p, -1, 0)
            if a.smooth > 0:
                p = ndi.gaussian_filter(p, (0, a.smooth, a.smooth))
            probs.append(p)
        prob = numpy.stack(probs, axis=1) if len(probs) > 1 else probs[0]
        lab = instances(prob, a.seed_threshold, a.fg_threshold, a.min_seed, a.min_area).reshape(shape)
        tifffile.imwrite(os.path.join(a.outfolder, name.split(".")[0] + ".tif"), lab.astype(numpy.uint16))
        print("%s: %d nuclei, %.1f s" % (name, int(lab.max()), time.time() - t0), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
