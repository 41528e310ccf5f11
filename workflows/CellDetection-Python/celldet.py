#!/usr/bin/python3
"""CellDetection-Python: cell (nucleus) centres as a point mask (BIAFLOWS ObjDet).

RGB brightfield (H&E) images: colour deconvolution (haematoxylin, eosin,
optical density), the nucleus scale estimated from the haematoxylin map
(scale-normalised Laplacian-of-Gaussian scale space), the image resampled so
that nuclei have a canonical size, a small convolutional network (weights in
model.npz, trained by train.py on point annotations) that predicts a
"cell-centre" proximity map, and its local maxima above a threshold.
Grey-level images (fluorescence spots, or dark objects on a bright field):
Laplacian of Gaussian at the automatically selected scale, robust threshold,
local maxima. Output: <stem>.tif, uint16, value 1 at each detected centre, of
the input's Y,X shape. BIAFLOWS local mode (--infolder/--outfolder; other
flags are ignored).
SPDX-License-Identifier: MIT
"""
import argparse
import os
import sys
import time

import numpy as np
import tifffile
from scipy import ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
CANONICAL_SIGMA = 3.75   # nucleus LoG scale (px) of the network's input


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--infolder", default="/data/in")
    p.add_argument("--outfolder", default="/data/out")
    p.add_argument("--mode", choices=["auto", "he", "spots"], default="auto",
                   help="auto: RGB -> he (learned H&E nucleus detector), grey -> spots (LoG)")
    p.add_argument("--threshold", type=float, default=-1.0,
                   help="he: minimum centre probability of a detection (0..1); spots: robust "
                        "threshold in noise units; negative = the mode's default")
    p.add_argument("--cell_sigma", type=float, default=0.0,
                   help="object scale: LoG sigma in pixels (about radius/sqrt 2); 0 = estimated "
                        "from each image")
    p.add_argument("--min_distance", type=float, default=0.0,
                   help="minimum distance between two detections, pixels; 0 = from the scale")
    p.add_argument("--model", default=os.path.join(HERE, "model.npz"))
    return p.parse_known_args(argv)


def read_image(path):
    """Return (Y, X) grey float image or (Y, X, C) colour image, and the axes string."""
    with tifffile.TiffFile(path) as t:
        s = t.series[0]
        img = s.asarray()
        axes = s.axes
    for a in list(axes):  # drop singleton non-spatial axes (T, Z, Q, ...)
        if a not in "YXCS" and img.shape[axes.index(a)] == 1:
            img = np.take(img, 0, axis=axes.index(a))
            axes = axes.replace(a, "")
    for a in list(axes):  # remaining extra axes (Z, T): first plane
        if a not in "YXCS":
            img = np.take(img, 0, axis=axes.index(a))
            axes = axes.replace(a, "")
    ch = "C" if "C" in axes else ("S" if "S" in axes else None)
    if ch is not None:
        img = np.moveaxis(img, axes.index(ch), -1)
        if img.shape[-1] == 1:
            img = img[..., 0]
    elif img.ndim == 3 and img.shape[-1] in (3, 4):
        pass
    elif img.ndim == 3 and img.shape[0] in (3, 4):
        img = np.moveaxis(img, 0, -1)
    return np.asarray(img, dtype=np.float64), axes


# ---------------------------------------------------------------- helpers
def robust_unit(c, lo=1.0, hi=99.5):
    a, b = np.percentile(c, [lo, hi])
    return (c - a) / max(b - a, 1e-12)


def stain_maps(rgb):
    """Haematoxylin, eosin and optical-density maps of an RGB brightfield image,
    each scaled by its own 1 and 99.5 percentiles (stain-strength invariant)."""
    from skimage.color import rgb2hed
    rgb = rgb[..., :3]
    white = np.percentile(rgb, 99.5)
    rgb = np.clip(rgb / max(white, 1e-12), 1e-3, 1.0)  # the white point is the background
    hed = rgb2hed(rgb)
    od = -np.log(rgb).mean(-1)
    return [np.clip(robust_unit(c), -0.5, 1.5) for c in (hed[..., 0], hed[..., 1], od)]


def estimate_sigma(img, smin, smax, step=1.1):
    """Dominant blob scale: the sigma (geometric grid, parabola-refined) at which the
    scale-normalised LoG of img (bright blobs) has the largest mean over its
    strongest local maxima. Computed on a 2x-downsampled copy when smin >= 2."""
    f = 2.0 if smin >= 2.0 else 1.0
    im = ndi.zoom(img, 1.0 / f, order=1) if f > 1 else img
    sig = smin * step ** np.arange(int(np.log(smax / smin) / np.log(step)) + 1)
    resp = []
    for s in sig:
        q = s / f
        L = -ndi.gaussian_laplace(im, q) * q * q
        mx = ndi.maximum_filter(L, size=int(2 * q) | 1)
        v = np.sort(L[(L == mx) & (L > 0)])[::-1]
        n = max(10, int(0.2 * im.size / (np.pi * (2 * q) ** 2)))
        resp.append(v[:n].mean() if len(v) else 0.0)
    resp = np.array(resp)
    k = int(np.argmax(resp))
    if 0 < k < len(sig) - 1:  # parabola through the three log-scale samples
        y0, y1, y2 = resp[k - 1:k + 2]
        den = y0 - 2 * y1 + y2
        off = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        return float(sig[k] * step ** np.clip(off, -0.5, 0.5))
    return float(sig[k])


def blob_scale(img, smin=0.8, smax=16.0, step=1.15, top=0.1):
    """Automatic scale selection (Lindeberg): the local maxima of the scale-normalised
    LoG over (sigma, y, x); the geometric median of the sigmas of the strongest
    `top` fraction of them (interior scales only)."""
    sig = smin * step ** np.arange(int(np.log(smax / smin) / np.log(step)) + 1)
    st = np.stack([-ndi.gaussian_laplace(img, s) * s * s for s in sig])
    z, y, x = np.nonzero((st == ndi.maximum_filter(st, size=3)) & (st > 0))
    inner = (z > 0) & (z < len(sig) - 1)
    z, y, x = z[inner], y[inner], x[inner]
    if len(z) == 0:
        return float(smin * 2)
    o = np.argsort(-st[z, y, x], kind="stable")[:max(5, int(top * len(z)))]
    return float(np.exp(np.median(np.log(sig[z[o]]))))


def local_maxima(m, thr, min_dist):
    """Peaks of m above thr, strongest first, none closer than min_dist to a kept one."""
    from scipy.spatial import cKDTree
    size = max(3, int(2 * np.floor(max(min_dist, 1.0)) + 1))
    mx = ndi.maximum_filter(m, size=size, mode="nearest")
    pk = np.argwhere((m == mx) & (m > thr))
    if len(pk) == 0:
        return pk
    pk = pk[np.argsort(-m[pk[:, 0], pk[:, 1]], kind="stable")]
    tree = cKDTree(pk)
    keep = np.ones(len(pk), bool)
    for i in range(len(pk)):
        if keep[i]:
            for j in tree.query_ball_point(pk[i], min_dist - 1e-9):
                if j > i:
                    keep[j] = False
    return pk[keep]


# ---------------------------------------------------------------- H&E mode
def build_net(weights):
    """The network of train.py (a 2-level U-Net), weights from a dict of arrays."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    c = int(weights["width"])

    def blk(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(o, o, 3, padding=1), nn.ReLU())

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.e1, self.e2, self.e3 = blk(3, c), blk(c, 2 * c), blk(2 * c, 4 * c)
            self.d2, self.d1 = blk(6 * c, 2 * c), blk(3 * c, c)
            self.out = nn.Conv2d(c, 1, 1)

        def forward(self, x):
            a = self.e1(x)
            b = self.e2(F.max_pool2d(a, 2))
            d = self.e3(F.max_pool2d(b, 2))
            b = self.d2(torch.cat([b, F.interpolate(d, scale_factor=2)], 1))
            a = self.d1(torch.cat([a, F.interpolate(b, scale_factor=2)], 1))
            return self.out(a)[:, 0]

    net = Net()
    sd = {k[2:]: torch.tensor(np.asarray(v, np.float32)) for k, v in weights.items()
          if k.startswith("w:")}
    net.load_state_dict(sd)
    net.eval()
    return net


def he_input(rgb, cell_sigma=0.0):
    """Network input (3, y, x) at the canonical nucleus scale, and the zoom factor."""
    chans = stain_maps(rgb)
    s = cell_sigma if cell_sigma > 0 else estimate_sigma(chans[0], 2.0, 24.0)
    f = CANONICAL_SIGMA / s
    shape = chans[0].shape
    if abs(f - 1) > 1e-3:
        from skimage.transform import rescale
        chans = [rescale(c, f, order=1, anti_aliasing=f < 1, mode="reflect") for c in chans]
    # the output size is rounded: the effective zoom of each axis is the size ratio
    f = np.array(chans[0].shape, float) / np.array(shape, float)
    return np.stack(chans).astype(np.float32), f, s


def predict(net, x, tile=512, pad=32):
    """Centre-proximity map of x (3, y, x), tiled to bound the memory."""
    import torch
    _, H, W = x.shape
    out = np.zeros((H, W), np.float32)
    with torch.no_grad():
        for y0 in range(0, H, tile):
            for x0 in range(0, W, tile):
                ya, xa = max(y0 - pad, 0), max(x0 - pad, 0)
                yb, xb = min(y0 + tile + pad, H), min(x0 + tile + pad, W)
                sub = x[:, ya:yb, xa:xb]
                ph, pw = (-sub.shape[1]) % 4, (-sub.shape[2]) % 4
                sub = np.pad(sub, ((0, 0), (0, ph), (0, pw)), mode="reflect")
                p = net(torch.from_numpy(np.ascontiguousarray(sub))[None])[0].numpy()
                h, w = min(tile, H - y0), min(tile, W - x0)
                out[y0:y0 + h, x0:x0 + w] = p[y0 - ya:y0 - ya + h, x0 - xa:x0 + w - xa]
    return out


def predict_tta(net, x, n=8):
    """predict() averaged over the n (1, 2, 4 or 8) flips/rotations of x."""
    acc = np.zeros(x.shape[1:], np.float32)
    tf = [(k, fl) for fl in (False, True) for k in range(4)]
    tf = tf[:1] if n <= 1 else ([(0, False), (0, True)] if n == 2 else
                                ([(0, False), (2, False), (0, True), (2, True)] if n <= 4 else tf))
    for k, fl in tf:
        xx = np.rot90(x, k, (1, 2))
        xx = xx[:, :, ::-1] if fl else xx
        p = predict(net, np.ascontiguousarray(xx))
        p = p[:, ::-1] if fl else p
        acc += np.rot90(p, -k)
    return acc / len(tf)


def detect_he(rgb, a, net, meta):
    x, f, s = he_input(rgb, a.cell_sigma)
    prob = ndi.gaussian_filter(predict_tta(net, x, int(meta.get("tta", 1))), float(meta["smooth"]))
    thr = a.threshold if a.threshold >= 0 else float(meta["threshold"])
    md = a.min_distance * f.mean() if a.min_distance > 0 else float(meta["min_distance"])
    pk = local_maxima(prob, thr, md)
    pts = np.round((pk + 0.5) / f - 0.5).astype(int)   # back to the input's pixel grid
    return pts, "he, nucleus sigma %.2f px, zoom %.3f, threshold %.2f" % (s, f.mean(), thr)


# ---------------------------------------------------------------- spots mode
def detect_spots(img, a):
    """Grey image: LoG at the estimated object scale, robust threshold, local maxima.
    Dark objects on a bright background (brightfield) are inverted first."""
    if img.ndim == 3:
        img = img[..., :3].mean(-1)
    p1, med, p99 = np.percentile(img, [1, 50, 99])
    if med - p1 > p99 - med:  # bright background: objects are dark
        img = -img
    img = robust_unit(img, 0.5, 99.9)
    s = a.cell_sigma if a.cell_sigma > 0 else blob_scale(img)
    L = -ndi.gaussian_laplace(img, s) * s * s
    m = np.median(L)
    low = L[L <= m]
    noise = 1.4826 * np.median(m - low) + 1e-12
    k = a.threshold if a.threshold >= 0 else 3.5
    md = a.min_distance if a.min_distance > 0 else max(2.0, s)
    pts = local_maxima(L, m + k * noise, md)
    return pts, "spots, sigma %.2f px, threshold %.1f noise units" % (s, k)


def main(argv):
    a, unknown = parse_args(argv)
    if unknown:
        print("ignored arguments: %s" % " ".join(unknown), file=sys.stderr)
    os.makedirs(a.outfolder, exist_ok=True)
    names = sorted(f for f in os.listdir(a.infolder) if f.lower().endswith((".tif", ".tiff")))
    net = meta = None
    status = 0
    for name in names:
        t0 = time.time()
        try:
            img, axes = read_image(os.path.join(a.infolder, name))
        except Exception as e:  # noqa: BLE001 - report and go on with the others
            print("%s: cannot read: %s" % (name, e), file=sys.stderr)
            status = 1
            continue
        colour = img.ndim == 3 and img.shape[-1] >= 3
        mode = a.mode if a.mode != "auto" else ("he" if colour else "spots")
        if mode == "he":
            if not colour:
                img = np.repeat(img[..., None] if img.ndim == 2 else img[..., :1], 3, -1)
            if net is None:
                import torch
                torch.set_num_threads(1)
                w = dict(np.load(a.model))
                net, meta = build_net(w), w
            pts, how = detect_he(img, a, net, meta)
        else:
            pts, how = detect_spots(img, a)
        shape = img.shape[:2]
        out = np.zeros(shape, np.uint16)
        if len(pts):
            pts = np.clip(pts, 0, np.array(shape) - 1)
            out[pts[:, 0], pts[:, 1]] = 1
        stem = name.split(".")[0]
        tifffile.imwrite(os.path.join(a.outfolder, stem + ".tif"), out)
        print("%s: %s %s, %d cells (%s) in %.1f s" % (name, axes, img.shape, int(out.sum()),
                                                       how, time.time() - t0), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
