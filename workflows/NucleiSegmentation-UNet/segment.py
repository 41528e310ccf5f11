#!/usr/bin/python3
"""NucleiSegmentation-UNet: nuclei instance segmentation with a small U-Net
(background / interior / boundary) and seeded watershed. BIAFLOWS local mode:

  python3 /app/segment.py [--radius 0] [--seed_threshold 0.85] [--fg_threshold 0.7]
      [--min_seed 4] [--min_area 12] --local --infolder IN --outfolder OUT ...

Every IN/<stem>.tif becomes OUT/<stem>.tif, a 16-bit label image (labels 1..N)
of the image's shape. The image is resized so that its nuclei get the radius
the network was trained at (unet.CANONICAL_RADIUS px; the nucleus radius is
--radius, or estimated from the image when 0), predicted, and the
probabilities are resized back before the instances are built. 3D stacks
(Z, Y, X) are predicted slice by slice (resized in Y, X only) and the
instances are built in 3D from the stacked probabilities. A channel axis is
averaged."""
import argparse, os, sys, time

import numpy
import tifffile
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from unet import UNet, normalise, predict, instances, estimate_radius, rescale, CANONICAL_RADIUS  # noqa: E402


def read_grey(path):
    """The image as (Z, Y, X) float32 plus the output shape (the input's
    shape without its channel axis)."""
    try:
        with tifffile.TiffFile(path) as tif:
            s = tif.series[0]
            axes, a = s.axes.upper(), s.asarray()
    except Exception:  # e.g. LZW without imagecodecs: Pillow reads 2D TIFFs
        from PIL import Image
        a = numpy.array(Image.open(path))
        axes = "YX" if a.ndim == 2 else "YXS"
    if len(axes) != a.ndim:  # should not happen; fall back on the shape
        axes = "YX" if a.ndim == 2 else ("ZYX" if a.ndim == 3 else "Z" * (a.ndim - 2) + "YX")
    if "C" in axes or "S" in axes:
        c = axes.index("C") if "C" in axes else axes.index("S")
        a = a.astype(numpy.float32).mean(axis=c)
        axes = axes[:c] + axes[c + 1:]
    shape = a.shape
    a = a.reshape((-1,) + a.shape[-2:])  # Z, T, ... all become slices
    return a, shape


def scale_factor(radius, shape):
    """The resize factor that brings nuclei of `radius` px to the canonical
    radius: 1 when the radius is unknown (0) or within 10 % of the canonical
    one, else clipped to [1/16, 4] and so that the image keeps >= 32 px."""
    if radius <= 0:
        return 1.0
    f = CANONICAL_RADIUS / radius
    if abs(numpy.log(f)) < numpy.log(1.1):
        return 1.0
    return float(numpy.clip(max(f, 32.0 / min(shape)), 1.0 / 16, 4.0))


def resize_to(img, shape):
    """Bilinear resize of a 2D float array to `shape`."""
    from skimage.transform import resize
    return resize(img, shape, order=1, preserve_range=True, anti_aliasing=False).astype(numpy.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infolder", default="/data/in")
    ap.add_argument("--outfolder", default="/data/out")
    ap.add_argument("--radius", type=float, default=0.0)
    ap.add_argument("--seed_threshold", type=float, default=0.85)
    ap.add_argument("--fg_threshold", type=float, default=0.7)
    ap.add_argument("--min_seed", type=int, default=4)
    ap.add_argument("--min_area", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", default=os.path.join(HERE, "unet.pt"))  # not in the descriptor
    a, _ = ap.parse_known_args()  # --local, --gtfolder, -nmc, cytomine_* are ignored

    torch.set_num_threads(max(1, a.threads))
    model = UNet()
    model.load_state_dict(torch.load(a.weights, map_location="cpu"))
    model.eval()
    os.makedirs(a.outfolder, exist_ok=True)
    names = sorted(n for n in os.listdir(a.infolder) if n.lower().endswith((".tif", ".tiff")))
    for name in names:
        t0 = time.time()
        stack, shape = read_grey(os.path.join(a.infolder, name))
        radius = a.radius if a.radius > 0 else estimate_radius(stack.max(axis=0))
        factor = scale_factor(radius, stack.shape[-2:])
        small = numpy.stack([rescale(sl, factor) for sl in stack]) if factor != 1 else stack
        small = normalise(small)  # one normalisation for the whole stack
        prob = []
        for sl in small:
            p = predict(model, sl)
            if factor != 1:
                p = numpy.stack([resize_to(c, stack.shape[-2:]) for c in p])
            prob.append(p)
        prob = numpy.stack(prob, axis=1)  # (3, Z, Y, X)
        if stack.shape[0] == 1:
            prob = prob[:, 0]
        area = 1.0 / factor ** 2  # min_seed, min_area are areas at the canonical scale
        lab = instances(prob, a.seed_threshold, a.fg_threshold, max(1, int(round(a.min_seed * area))),
                        int(round(a.min_area * area)))
        lab = lab.reshape(shape)
        out = lab.astype(numpy.uint16 if lab.max() < 65536 else numpy.uint32)
        stem = name.split(".")[0]
        tifffile.imwrite(os.path.join(a.outfolder, stem + ".tif"), out)
        print("%s: radius %.1f px, scale x%.3f, %d nuclei, %.1f s" % (name, radius, factor, int(lab.max()), time.time() - t0),
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
