#!/usr/bin/python3
"""SpotCounting-LoG-Python: spots as a point mask (BIAFLOWS SptCnt).

Scale-normalised Laplacian of Gaussian at the spot scale (bright spots give
a strong positive response of -sigma^2 LoG), local maxima of the response
at least min_distance apart, kept when the response exceeds a threshold:
either `median + k * MAD` of the response (robust to the number of spots)
or a fraction of the image's strongest response. One pixel (value 1) per
spot. 2D (YX) and 3D (ZYX) images; in 3D the Z sigma is sigma * z_ratio.
BIAFLOWS local mode (--infolder/--outfolder; other flags are ignored).
SPDX-License-Identifier: MIT
"""
import argparse
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage as ndi


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--infolder", default="/data/in")
    p.add_argument("--outfolder", default="/data/out")
    p.add_argument("--spot_sigma", type=float, default=1.6,
                   help="spot (PSF) sigma in pixels: the LoG scale")
    p.add_argument("--z_ratio", type=float, default=2.0,
                   help="3D: Z sigma / XY sigma (axial elongation of the spots)")
    p.add_argument("--threshold_mode", choices=["mad", "relative"], default="mad")
    p.add_argument("--threshold", type=float, default=3.5,
                   help="mad: k in median + k*MAD of the LoG response; relative: fraction (0..1) "
                        "of the strongest response")
    p.add_argument("--min_distance", type=int, default=1,
                   help="minimum distance between two spots, pixels (maxima are taken in a "
                        "(2 min_distance + 1) window)")
    p.add_argument("--background_sigma", type=float, default=0.0,
                   help="subtract a Gaussian background of this sigma first (0 = none)")
    args, unknown = p.parse_known_args(argv)
    return args, unknown


def read_image(path):
    with tifffile.TiffFile(path) as t:
        s = t.series[0]
        img = s.asarray()
        axes = s.axes
    if "C" in axes or "S" in axes:
        c = axes.index("C") if "C" in axes else axes.index("S")
        img = np.take(img, 0, axis=c)
        axes = axes.replace("C", "").replace("S", "")
    for a in list(axes):
        if a not in "ZYX" and img.shape[axes.index(a)] == 1:
            img = np.take(img, 0, axis=axes.index(a))
            axes = axes.replace(a, "")
    return np.asarray(img, dtype=np.float64), axes


def detect(img, a):
    nd = img.ndim
    s = a.spot_sigma
    sig = (s * a.z_ratio, s, s) if nd == 3 else (s, s)
    x = img
    if a.background_sigma > 0:
        x = x - ndi.gaussian_filter(x, a.background_sigma)
    # scale-normalised LoG, sign flipped: bright blobs give positive peaks
    resp = -ndi.gaussian_laplace(x, sig) * s * s
    if a.threshold_mode == "mad":
        med = np.median(resp)
        mad = 1.4826 * np.median(np.abs(resp - med)) + 1e-12
        t = med + a.threshold * mad
    else:
        t = a.threshold * resp.max()
    md = max(int(a.min_distance), 1)
    size = [2 * md + 1] * nd
    if nd == 3:
        size[0] = max(3, 2 * int(round(md * a.z_ratio / 2)) + 1)
    mx = ndi.maximum_filter(resp, size=size, mode="nearest")
    peaks = (resp == mx) & (resp > t)
    # plateaus (equal neighbours) give one spot: their first voxel
    lab, n = ndi.label(peaks, structure=np.ones([3] * nd))
    out = np.zeros(img.shape, np.uint8)
    if n:
        idx = ndi.minimum(np.arange(resp.size).reshape(resp.shape), lab, np.arange(1, n + 1))
        out.flat[np.asarray(idx, dtype=np.int64)] = 1
    return out


def main(argv):
    a, unknown = parse_args(argv)
    if unknown:
        print("ignored arguments: %s" % " ".join(unknown), file=sys.stderr)
    os.makedirs(a.outfolder, exist_ok=True)
    names = sorted(f for f in os.listdir(a.infolder) if f.lower().endswith((".tif", ".tiff")))
    for name in names:
        img, axes = read_image(os.path.join(a.infolder, name))
        pts = detect(img, a)
        stem = name.split(".")[0]
        tifffile.imwrite(os.path.join(a.outfolder, stem + ".tif"), pts)
        print("%s: %s %s, %d spots" % (name, axes, img.shape, int(pts.sum())), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
