#!/usr/bin/python3
"""NucleiSegmentation-Python: nuclei as a label image (BIAFLOWS ObjSeg).

Gaussian smoothing, a global (Otsu, Li) or local threshold, hole filling,
small-object removal, then the Euclidean distance transform of the mask,
seeds at its regional maxima (h-maxima, or peaks at least min_distance apart)
and a marker-controlled watershed of the inverted distance map that splits
touching nuclei. 2D (YX) and 3D (ZYX) images; BIAFLOWS local mode
(--infolder/--outfolder; other flags are ignored).
SPDX-License-Identifier: MIT
"""
import argparse
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage as ndi
from skimage import filters, measure, morphology, segmentation
from skimage.feature import peak_local_max

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adaptive  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--infolder", default="/data/in")
    p.add_argument("--outfolder", default="/data/out")
    p.add_argument("--sigma", type=float, default=1.5,
                   help="Gaussian smoothing sigma, pixels (0 = none)")
    p.add_argument("--threshold_method", choices=["auto", "otsu", "li", "local"], default="auto",
                   help="auto: the image-adaptive method of adaptive.py (2D; 3D stacks use otsu); "
                        "sigma, block_size, threshold_offset, min_size, min_distance, h, seeds "
                        "and split apply to the other methods")
    p.add_argument("--radius", type=float, default=0,
                   help="auto: nucleus radius, pixels (0 = estimated from the image)")
    p.add_argument("--boundary", type=float, default=0.5,
                   help="auto: a nucleus ends where its background-subtracted intensity falls "
                        "below this fraction of its own median")
    p.add_argument("--min_contrast", type=float, default=0.9,
                   help="auto: a nucleus's mean must exceed the background by this many times "
                        "(background - dark level)")
    p.add_argument("--block_size", type=int, default=51,
                   help="local threshold: neighbourhood size, pixels (odd)")
    p.add_argument("--threshold_offset", type=float, default=-0.5,
                   help="added to the threshold, in units of the image's robust spread (MAD)")
    p.add_argument("--min_size", type=int, default=30,
                   help="objects (and holes) smaller than this many pixels/voxels are removed (filled)")
    p.add_argument("--min_distance", type=int, default=5,
                   help="minimum distance between two seeds, pixels")
    p.add_argument("--h", type=float, default=0.0,
                   help="h-maxima height on the distance map, pixels (0 = plain local maxima)")
    p.add_argument("--seeds", choices=["distance", "intensity", "combined"], default="combined",
                   help="map whose maxima seed the watershed: the distance transform, the smoothed "
                        "intensity, or their product (each scaled to [0, 1] within its object)")
    p.add_argument("--split", type=lambda s: s.lower() in ("1", "true", "yes"), default=True,
                   help="split touching nuclei with the distance-transform watershed")
    args, unknown = p.parse_known_args(argv)
    return args, unknown


def read_image(path):
    with tifffile.TiffFile(path) as t:
        s = t.series[0]
        img = s.asarray()
        axes = s.axes
    # keep Z, Y, X; drop channels (first channel) and singleton axes
    if "C" in axes or "S" in axes:
        c = axes.index("C") if "C" in axes else axes.index("S")
        img = np.take(img, 0, axis=c)
        axes = axes.replace("C", "").replace("S", "")
    for a in list(axes):
        if a not in "ZYX" and img.shape[axes.index(a)] == 1:
            img = np.take(img, 0, axis=axes.index(a))
            axes = axes.replace(a, "")
    return np.asarray(img, dtype=np.float64), axes


def segment(img, a):
    nd = img.ndim
    sm = filters.gaussian(img, sigma=a.sigma, preserve_range=True) if a.sigma > 0 else img
    med = np.median(sm)
    mad = 1.4826 * np.median(np.abs(sm - med)) + 1e-12
    if a.threshold_method == "otsu":
        t = filters.threshold_otsu(sm)
    elif a.threshold_method == "li":
        t = filters.threshold_li(sm)
    else:
        bs = a.block_size | 1
        t = filters.threshold_local(sm, block_size=bs, method="gaussian") if nd == 2 else \
            np.stack([filters.threshold_local(z, block_size=bs, method="gaussian") for z in sm])
        # a local threshold alone turns flat background into noise: also ask for
        # more than the global Otsu's background level
        t = np.maximum(t, 0.5 * (med + filters.threshold_otsu(sm)))
    mask = sm > t + a.threshold_offset * mad
    mask = ndi.binary_fill_holes(mask) if nd == 2 else \
        morphology.remove_small_holes(mask, area_threshold=max(a.min_size, 1))
    mask = morphology.remove_small_objects(mask, min_size=max(a.min_size, 1))
    if not a.split:
        return measure.label(mask, connectivity=1)
    dist = ndi.distance_transform_edt(mask)
    comps = measure.label(mask, connectivity=1)
    if a.seeds != "distance":
        # intensity relative to the object's own range (nuclei have domes); the
        # product with the distance keeps seeds away from the boundaries
        inten = np.clip(sm - t, 0, None)
        scale = ndi.maximum(inten, comps, np.arange(comps.max() + 1))
        rel = inten / np.maximum(np.asarray(scale)[comps], 1e-12)
        dscale = ndi.maximum(dist, comps, np.arange(comps.max() + 1))
        drel = dist / np.maximum(np.asarray(dscale)[comps], 1e-12)
        smap = rel if a.seeds == "intensity" else rel * drel
        # in pixels of the distance map, so h and the flooding keep their units
        dist = smap * np.asarray(dscale)[comps]
    else:
        dist = filters.gaussian(dist, sigma=1.0, preserve_range=True)  # fewer spurious maxima
    if a.h > 0:
        hm = morphology.h_maxima(dist, a.h) & mask
        lab_h = measure.label(hm)
        # merge h-maxima plateaus closer than min_distance: keep the highest
        # point of each plateau, then enforce the separation with peak_local_max
        pts = np.array([np.unravel_index(np.argmax(np.where(lab_h == i, dist, -1)), dist.shape)
                        for i in range(1, lab_h.max() + 1)]) if lab_h.max() else np.zeros((0, nd), int)
        keep = np.zeros(dist.shape, bool)
        if len(pts):
            keep[tuple(pts.T)] = True
        cand = peak_local_max(np.where(keep, dist, 0), min_distance=max(a.min_distance, 1),
                              labels=comps, exclude_border=False)
    else:
        cand = peak_local_max(dist, min_distance=max(a.min_distance, 1), labels=comps,
                              exclude_border=False)
    markers = np.zeros(dist.shape, np.int32)
    for i, c in enumerate(cand, 1):
        markers[tuple(c)] = i
    # every component gets at least one seed
    n = len(cand)
    for r in measure.regionprops(comps):
        if not markers[tuple(r.coords.T)].any():
            n += 1
            markers[tuple(r.coords[np.argmax(dist[tuple(r.coords.T)])])] = n
    lab = segmentation.watershed(-dist, markers, mask=mask)
    return lab


def main(argv):
    a, unknown = parse_args(argv)
    if unknown:
        print("ignored arguments: %s" % " ".join(unknown), file=sys.stderr)
    os.makedirs(a.outfolder, exist_ok=True)
    names = sorted(f for f in os.listdir(a.infolder) if f.lower().endswith((".tif", ".tiff")))
    for name in names:
        img, axes = read_image(os.path.join(a.infolder, name))
        how = a.threshold_method
        if how == "auto" and img.ndim == 2:
            lab, r = adaptive.segment(img, a.radius, a.boundary, a.min_contrast)
            how = "auto, radius %.1f px" % r
        else:
            if how == "auto":  # 3D: the global Otsu path
                how = "otsu"
            lab = segment(img, argparse.Namespace(**dict(vars(a), threshold_method=how)))
        stem = name.split(".")[0]
        dtype = np.uint16 if lab.max() < 65536 else np.uint32
        tifffile.imwrite(os.path.join(a.outfolder, stem + ".tif"), lab.astype(dtype))
        print("%s: %s %s, %d nuclei (%s)" % (name, axes, img.shape, lab.max(), how), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
