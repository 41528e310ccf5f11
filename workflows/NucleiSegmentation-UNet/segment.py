#!/usr/bin/python3
"""NucleiSegmentation-UNet: nuclei instance segmentation with a small U-Net
(background / interior / boundary) and seeded watershed. BIAFLOWS local mode:

  python3 /app/segment.py [--seed_threshold 0.85] [--fg_threshold 0.7]
      [--min_seed 4] [--min_area 12] --local --infolder IN --outfolder OUT ...

Every IN/<stem>.tif becomes OUT/<stem>.tif, a 16-bit label image (labels 1..N)
of the image's shape. 2D images are segmented as they are; 3D stacks (Z, Y, X)
are predicted slice by slice and the instances are built in 3D from the
stacked probabilities. A channel axis is averaged."""
import argparse, os, sys, time

import numpy
import tifffile
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from unet import UNet, normalise, predict, instances  # noqa: E402


def read_grey(path):
    """The image as (Z, Y, X) float32 plus the output shape (the input's
    shape without its channel axis)."""
    with tifffile.TiffFile(path) as tif:
        s = tif.series[0]
        axes, a = s.axes.upper(), s.asarray()
    if len(axes) != a.ndim:  # should not happen; fall back on the shape
        axes = "YX" if a.ndim == 2 else ("ZYX" if a.ndim == 3 else "Z" * (a.ndim - 2) + "YX")
    if "C" in axes or "S" in axes:
        c = axes.index("C") if "C" in axes else axes.index("S")
        a = a.astype(numpy.float32).mean(axis=c)
        axes = axes[:c] + axes[c + 1:]
    shape = a.shape
    a = a.reshape((-1,) + a.shape[-2:])  # Z, T, ... all become slices
    return a, shape


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infolder", default="/data/in")
    ap.add_argument("--outfolder", default="/data/out")
    ap.add_argument("--seed_threshold", type=float, default=0.85)
    ap.add_argument("--fg_threshold", type=float, default=0.7)
    ap.add_argument("--min_seed", type=int, default=4)
    ap.add_argument("--min_area", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    a, _ = ap.parse_known_args()  # --local, --gtfolder, -nmc, cytomine_* are ignored

    torch.set_num_threads(max(1, a.threads))
    model = UNet()
    model.load_state_dict(torch.load(os.path.join(HERE, "unet.pt"), map_location="cpu"))
    model.eval()
    os.makedirs(a.outfolder, exist_ok=True)
    names = sorted(n for n in os.listdir(a.infolder) if n.lower().endswith((".tif", ".tiff")))
    for name in names:
        t0 = time.time()
        stack, shape = read_grey(os.path.join(a.infolder, name))
        stack = normalise(stack)  # one normalisation for the whole stack
        prob = numpy.stack([predict(model, sl) for sl in stack], axis=1)  # (3, Z, Y, X)
        if stack.shape[0] == 1:
            prob = prob[:, 0]
        lab = instances(prob, a.seed_threshold, a.fg_threshold, a.min_seed, a.min_area)
        lab = lab.reshape(shape)
        out = lab.astype(numpy.uint16 if lab.max() < 65536 else numpy.uint32)
        stem = name.split(".")[0]
        tifffile.imwrite(os.path.join(a.outfolder, stem + ".tif"), out)
        print("%s: %d nuclei, %.1f s" % (name, int(lab.max()), time.time() - t0), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
