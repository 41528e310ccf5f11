#!/usr/bin/python3
"""One picture of a result on real data: the image with its ground truth and
a workflow's prediction drawn over it, for docs/real-data.md.

  real-data-figure.py CLASS IMAGE GT PRED OUT.png [TITLE]

IMAGE, GT and PRED are the files a problem of CLASS stores (TIFF, PNG, JPEG;
SWC for TreTrc; the label stack of ObjTrk). Ground truth is drawn in magenta,
the prediction in green: outlines for masks (ObjSeg, ObjTrk: the first
frame; PixCla: the edges of the class-0 region), circles (GT) and crosses
(prediction) for points (ObjDet, LndDet; PrtTrk: every frame on the first),
the projected edges of the trees for TreTrc (on the maximum projection),
the skeleton pixels for LooTrc.
The picture is at most 512 pixels wide.
SPDX-License-Identifier: MIT
"""
import sys

import numpy as np
import tifffile
from PIL import Image, ImageDraw
from skimage import segmentation

GT_RGB, PRED_RGB = (255, 0, 255), (0, 230, 0)
WIDTH = 512


def read(path):
    """An array of any file the project stores; LZW TIFFs through PIL when
    tifffile lacks the codec."""
    if path.lower().endswith((".tif", ".tiff")):
        try:
            with tifffile.TiffFile(path) as t:
                s = t.series[0]
                return s.asarray(), s.axes
        except (ValueError, NotImplementedError):
            pass
    a = np.asarray(Image.open(path))
    return a, "YXS" if a.ndim == 3 else "YX"


def plane(arr, axes, project=False):
    """A YX or YXS plane: the first T, the maximum over Z when `project`
    (else the middle Z), channels kept as RGB when there are three."""
    a, ax = arr, axes
    for name in "TQ":
        if name in ax:
            a = np.take(a, 0, axis=ax.index(name))
            ax = ax.replace(name, "")
    if "Z" in ax:
        i = ax.index("Z")
        a = a.max(axis=i) if project else np.take(a, a.shape[i] // 2, axis=i)
        ax = ax.replace("Z", "")
    for name in "CS":
        if name in ax:
            i = ax.index(name)
            a = np.moveaxis(a, i, -1)
            ax = ax.replace(name, "") + "S"
    if a.ndim == 3 and a.shape[-1] not in (3, 4):
        a = a[..., 0]
    return a[..., :3] if a.ndim == 3 else a


def display(img):
    """8-bit RGB of a plane, grey images stretched between their 0.5 % and
    99.8 % percentiles."""
    img = np.asarray(img, np.float64)
    if img.ndim == 2:
        lo, hi = np.percentile(img, [0.5, 99.8])
        g = np.clip((img - lo) / max(hi - lo, 1e-12), 0, 1) * 255
        img = np.stack([g] * 3, -1)
    elif img.max() > 255:
        img = img / img.max() * 255
    return np.clip(img, 0, 255).astype(np.uint8)


def points(mask):
    """(y, x) of every non-zero pixel of a mask's first plane(s): all of T
    for a particle stack, the maximum over Z."""
    m = np.asarray(mask)
    while m.ndim > 2:
        m = m.max(axis=0)
    return np.argwhere(m > 0)


def swc_edges(path):
    nodes = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if not p or p[0].startswith("#"):
                continue
            nodes[int(p[0])] = (float(p[2]), float(p[3]), int(p[-1]))
    return [((x, y), (nodes[par][0], nodes[par][1]))
            for x, y, par in nodes.values() if par in nodes]


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    cls, image, gt, pred, out = argv[:5]
    title = argv[5] if len(argv) > 5 else ""
    arr, axes = read(image)
    base = display(plane(arr, axes, project=cls in ("TreTrc", "PrtTrk")))
    h, w = base.shape[:2]
    rgb = base.copy()
    marks = []  # (kind, colour, list of (y, x)) drawn after scaling
    lines = []
    if cls in ("ObjSeg", "ObjTrk", "PixCla"):
        for path, colour in ((gt, GT_RGB), (pred, PRED_RGB)):
            lab = plane(*read(path))
            if cls == "PixCla":  # class 0 (membrane in the EM data) and the rest
                lab = (lab != 0).astype(np.int32)
            if lab.shape != (h, w):
                continue
            # two pixels wide, so the outline survives the downscaling
            edge = segmentation.find_boundaries(lab, mode="thick" if w > WIDTH else "inner")
            rgb[edge] = colour
    elif cls == "LooTrc":  # skeleton masks, pixel by pixel
        for path, colour in ((gt, GT_RGB), (pred, PRED_RGB)):
            sk = plane(*read(path))
            if sk.shape == (h, w):
                rgb[sk > 0] = colour
    elif cls == "TreTrc":
        lines = [(GT_RGB, swc_edges(gt)), (PRED_RGB, swc_edges(pred))]
    else:  # point masks
        marks = [("o", GT_RGB, points(read(gt)[0])), ("x", PRED_RGB, points(read(pred)[0]))]
    scale = min(1.0, WIDTH / w)
    pic = Image.fromarray(rgb)
    if scale < 1:
        pic = pic.resize((int(round(w * scale)), int(round(h * scale))), Image.LANCZOS)
    d = ImageDraw.Draw(pic)
    for colour, edges in lines:
        for (x0, y0), (x1, y1) in edges:
            d.line([(x0 * scale, y0 * scale), (x1 * scale, y1 * scale)], fill=colour, width=2)
    for kind, colour, pts in marks:
        for y, x in pts:
            x, y = x * scale, y * scale
            if kind == "o":
                d.ellipse([x - 5, y - 5, x + 5, y + 5], outline=colour, width=2)
            else:
                d.line([x - 4, y - 4, x + 4, y + 4], fill=colour, width=2)
                d.line([x - 4, y + 4, x + 4, y - 4], fill=colour, width=2)
    if title:
        d.rectangle([0, 0, 8 + 6 * len(title), 14], fill=(0, 0, 0))
        d.text((4, 2), title, fill=(255, 255, 255))
    # a palette of 128 colours (the overlay colours kept exact by the octree)
    # keeps docs/ small
    pic.quantize(colors=128, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
