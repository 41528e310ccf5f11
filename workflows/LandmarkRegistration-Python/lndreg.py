#!/usr/bin/python3
"""LandmarkRegistration-Python: landmarks by registration to annotated references (BIAFLOWS LndDet).

Every image (input and references) is turned into a stain-independent tissue
map: optical density summed over the channels (background = the image's 99th
percentile per channel), Otsu threshold of log(OD) = tissue mask, block mean
and Gaussian blur = local tissue density (model "wing": the scaled OD itself). The input's map is registered to each reference
map of the chosen model: coarse exhaustive search (rotation x scale, with the
translation from the masked normalised cross-correlation over the overlap of
the rotated/scaled reference and the input), affine refinement (Powell on the NCC, coarse to fine), then a smooth
non-rigid correction from block matching on a regular grid (NCC peaks,
confidence-weighted, Gaussian-kernel interpolated displacement field). The
reference landmarks are mapped into the input through each registration and
combined over the references (multi-atlas; robust mean around the median). Output: uint16 mask, value k at
landmark k. BIAFLOWS local mode (--infolder/--outfolder).
SPDX-License-Identifier: MIT
"""
import argparse
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage as ndi
from scipy import optimize
from scipy import signal
from skimage import filters
from skimage.feature import match_template

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- features
def to_rgb_or_grey(img):
    """Return a float (Y, X, C) array from a 2D, YXC or CYX image."""
    a = np.asarray(img)
    a = np.squeeze(a)
    if a.ndim == 2:
        a = a[:, :, None]
    elif a.ndim == 3 and a.shape[0] <= 4 and a.shape[2] > 4:
        a = np.moveaxis(a, 0, 2)
    if a.ndim != 3:
        raise ValueError("expected a 2D grey or RGB image, got shape %s" % (img.shape,))
    if a.shape[2] == 4:
        a = a[:, :, :3]
    return a.astype(np.float64)


def optical_density(img):
    a = to_rgb_or_grey(img)
    lo = np.percentile(a.reshape(-1, a.shape[2]), 0.5, axis=0)
    bg = np.percentile(a.reshape(-1, a.shape[2]), 99, axis=0)
    scale = np.maximum(bg - lo, 1e-9)
    # intensity relative to the white background; 1/256 of the range floors the OD
    rel = np.clip((a - lo + scale / 256.0) / (scale + scale / 256.0), 1.0 / 256, 1.0)
    return -np.log(rel).sum(axis=2)


def tissue_mask(img, presmooth=1.0, kind="mask"):
    """kind mask: Otsu threshold of log(OD) (stain-independent tissue/background);
    kind od: the OD itself scaled by its 99.5th percentile (keeps inner contrast)."""
    od = optical_density(img)
    if kind == "od":
        s = filters.gaussian(od, presmooth) if presmooth > 0 else od
        return np.clip(s / (np.percentile(s, 99.5) + 1e-9), 0, 1).astype(np.float32)
    s = np.log(filters.gaussian(od, presmooth) + 0.02)
    t = filters.threshold_otsu(s)
    # large empty areas (glass, fill around a rotated scan) would make the first
    # threshold split glass from everything; threshold again within the sample
    # (within ~10 px of the first mask), where it separates walls from air spaces
    near = filters.gaussian((s > t).astype(np.float32), 10) > 0.1
    if 0.05 < near.mean() < 0.98:
        t = filters.threshold_otsu(s[near])
    return (s > t).astype(np.float32)


def downsample(a, f):
    """Block mean by an integer factor f (crops the ragged border)."""
    if f == 1:
        return a.astype(np.float32)
    h, w = (a.shape[0] // f) * f, (a.shape[1] // f) * f
    return a[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3)).astype(np.float32)


def feature(base, f, sigma):
    """Tissue density at 1/(base * f) of full resolution from the base map."""
    d = downsample(base, f)
    return filters.gaussian(d, sigma).astype(np.float32) if sigma > 0 else d


# ---------------------------------------------------------------- transforms
def affine_matrix(p, c):
    """p = (a11-1, a12, a21, a22-1, ty, tx) about centre c (row, col) -> 2x3 matrix."""
    A = np.array([[1 + p[0], p[1]], [p[2], 1 + p[3]]])
    t = np.asarray(c) + np.array([p[4], p[5]]) - A @ np.asarray(c)
    return np.c_[A, t]


def apply(M, pts):
    return pts @ M[:, :2].T + M[:, 2]


def warp_to_ref(mov, M, shape, scale=1.0):
    """Sample mov at M(x) for x on a grid of `shape`; M in full-resolution units,
    the grids at 1/scale of full resolution. Returns values and validity."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    pts = np.c_[yy.ravel(), xx.ravel()] * scale + (scale - 1) / 2.0
    q = (apply(M, pts) - (scale - 1) / 2.0) / scale
    v = ndi.map_coordinates(mov, q.T, order=1, mode="constant", cval=np.nan)
    v = v.reshape(shape)
    ok = np.isfinite(v)
    return np.where(ok, v, 0), ok


def ncc(a, b, ok):
    n = ok.sum()
    if n < 50:
        return -1.0
    x = a[ok] - a[ok].mean()
    y = b[ok] - b[ok].mean()
    d = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / d) if d > 0 else -1.0


# ---------------------------------------------------------------- registration
def _corr(a, k):
    """Full cross-correlation of a with kernel k (output index = shift + k.shape - 1)."""
    return signal.fftconvolve(a, k[::-1, ::-1], mode="full")


def masked_ncc(f, mf, t, mt, min_overlap):
    """Normalised cross-correlation of template t (validity mt) at every shift over
    image f (validity mf), computed over the overlapping valid pixels only
    (Padfield 2012). Returns the score map (full-correlation indexing)."""
    f = f * mf
    t = t * mt
    n = _corr(mf, mt)
    sf, sff = _corr(f, mt), _corr(f * f, mt)
    st, stt = _corr(mf, t), _corr(mf, t * t)
    sft = _corr(f, t)
    n = np.round(n)
    nn = np.maximum(n, 1)
    num = sft - sf * st / nn
    den = np.sqrt(np.maximum(sff - sf * sf / nn, 0) * np.maximum(stt - st * st / nn, 0))
    ok = (n >= min_overlap) & (den > 1e-6 * nn)
    r = np.full(n.shape, -1.0)
    r[ok] = num[ok] / den[ok]
    return np.clip(r, -1, 1)


def coarse(ref, mov, scale, angles, scales, min_overlap=0.4):
    """Exhaustive rotation x scale search; for each candidate the reference map is
    rotated/scaled about its centre and the translation is the peak of the masked NCC
    with the moving map (overlap >= min_overlap of the smaller area).
    ref, mov: maps at 1/scale resolution. Returns the best 2x3 matrix (full res,
    ref -> mov) and its score."""
    best = (-2, None)
    H, W = ref.shape
    c = np.array([(H - 1) / 2.0, (W - 1) / 2.0])
    mf = np.ones(mov.shape)
    for s in scales:
        for ang in angles:
            th = np.deg2rad(ang)
            R = s * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
            Ri = np.linalg.inv(R)
            # bounding box of the transformed reference, around the origin
            corners = (np.array([[0, 0], [0, W - 1], [H - 1, 0], [H - 1, W - 1]]) - c) @ R.T
            lo = np.floor(corners.min(0)).astype(int)
            hi = np.ceil(corners.max(0)).astype(int)
            yy, xx = np.mgrid[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1].astype(np.float64)
            src = np.c_[yy.ravel(), xx.ravel()] @ Ri.T + c
            tpl = ndi.map_coordinates(ref, src.T, order=1, mode="constant", cval=np.nan)
            tpl = tpl.reshape(yy.shape)
            mt = np.isfinite(tpl).astype(np.float64)
            tpl = np.where(mt > 0, tpl, 0.0)
            need = min_overlap * min(mt.sum(), mf.sum())
            r = masked_ncc(mov.astype(np.float64), mf, tpl, mt, need)
            k = np.unravel_index(np.argmax(r), r.shape)
            if r[k] > best[0]:
                # template pixel (0, 0) = point lo (relative to the ref centre after R)
                # lands on moving pixel k - (tpl.shape - 1); so the ref centre lands on
                # tgt = k - (tpl.shape - 1) - lo
                tgt = np.array(k, float) - (np.array(tpl.shape) - 1) - lo
                Mr = np.c_[R, tgt - R @ c]
                # to full resolution: x_full = scale * x + (scale - 1)/2
                o = (scale - 1) / 2.0
                Mf = np.c_[Mr[:, :2], scale * Mr[:, 2] + o - Mr[:, :2] @ np.array([o, o])]
                best = (float(r[k]), Mf)
    return best[1], best[0]


def refine_affine(ref, mov, scale, M0, centre, reg=0.0):
    """Powell optimisation of the NCC over a 6-parameter affine correction of M0,
    minus reg x the squared linear part of the correction (without it, zooming in
    on the dense lesion can raise the NCC over the shrinking overlap)."""
    A0 = np.r_[M0, [[0, 0, 1]]]

    def compose(p):
        D = np.r_[affine_matrix(p, centre), [[0, 0, 1]]]
        return (A0 @ D)[:2]

    def cost(p):
        v, ok = warp_to_ref(mov, compose(p), ref.shape, scale)
        if ok.mean() < 0.25:  # never trade the overlap for a better score
            return 1.0
        return -ncc(ref, v, ok) + reg * float(np.sum(np.square(p[:4])))

    x0 = np.zeros(6)
    step = np.array([0.02, 0.02, 0.02, 0.02, 2 * scale, 2 * scale])
    res = optimize.minimize(lambda q: cost(q * step), x0 / step, method="Powell",
                            options={"xtol": 1e-2, "ftol": 1e-5, "maxfev": 2000})
    p = res.x * step
    return compose(p), -cost(p)


def block_match(ref, mov_w, scale, spacing, half, search, min_std=0.05):
    """Displacements (full res) of grid blocks of ref found in mov_w (mov already
    warped into the ref frame). Returns points (full res), displacements, weights."""
    H, W = ref.shape
    pts, dis, wts = [], [], []
    movp = np.pad(mov_w, search + half, mode="reflect")
    for y in range(half, H - half, spacing):
        for x in range(half, W - half, spacing):
            tpl = ref[y - half:y + half + 1, x - half:x + half + 1]
            if tpl.std() < min_std:
                continue
            win = movp[y:y + 2 * (search + half) + 1, x:x + 2 * (search + half) + 1]
            r = match_template(win, tpl)
            k = np.unravel_index(np.argmax(r), r.shape)
            peak = r[k]
            # sub-pixel refinement by a parabola through the neighbours
            off = np.array(k, dtype=np.float64)
            for ax in (0, 1):
                i = k[ax]
                if 0 < i < r.shape[ax] - 1:
                    lo = r[(i - 1, k[1])] if ax == 0 else r[(k[0], i - 1)]
                    hi = r[(i + 1, k[1])] if ax == 0 else r[(k[0], i + 1)]
                    den = lo - 2 * peak + hi
                    if den < 0:
                        off[ax] += 0.5 * (lo - hi) / den
            d = off - search
            # confidence: peak NCC times its height above the window's median response
            w = max(peak - np.median(r), 0.0) * max(peak, 0.0)
            pts.append([y * scale + (scale - 1) / 2.0, x * scale + (scale - 1) / 2.0])
            dis.append(d * scale)
            wts.append(w)
    return np.array(pts).reshape(-1, 2), np.array(dis).reshape(-1, 2), np.array(wts)


def smooth_field(pts, dis, wts, query, sigma, prior=1.0):
    """Gaussian-kernel weighted mean displacement at the query points, shrunk to 0
    (the affine solution) where there is little support."""
    out = np.zeros((len(query), 2))
    for i, q in enumerate(query):
        d2 = np.sum((pts - q) ** 2, axis=1)
        k = wts * np.exp(-d2 / (2 * sigma ** 2))
        out[i] = (k[:, None] * dis).sum(0) / (k.sum() + prior * 1e-3 * wts.sum() / max(len(wts), 1))
    return out


def robust_field(pts, dis, wts, sigma, iters=2, clip=2.5):
    """Down-weight block displacements far from the local smooth field (outliers)."""
    w = wts.copy()
    for _ in range(iters):
        f = smooth_field(pts, dis, w, pts, sigma)
        r = np.linalg.norm(dis - f, axis=1)
        s = 1.4826 * np.median(r[w > 0]) + 1e-6 if np.any(w > 0) else 1.0
        w = wts * (r < clip * s + 1.0)
    return w


def register(tis_ref, tis_mov, cfg):
    """Map from reference (full res, row/col) to moving image; returns a callable."""
    fc = cfg["coarse_factor"]
    r8 = feature(tis_ref, fc, cfg["coarse_sigma"])
    m8 = feature(tis_mov, fc, cfg["coarse_sigma"])
    b = cfg["base"]
    scale = float(b * fc)
    angles = np.arange(-cfg["max_rotation"], cfg["max_rotation"] + 1e-9, cfg["rotation_step"])
    M, sc = coarse(r8, m8, scale, angles, cfg["scales"])
    info = {"coarse_ncc": sc}
    H, W = tis_ref.shape
    centre = np.array([(b * H - 1) / 2.0, (b * W - 1) / 2.0])
    for f, sg in zip(cfg["affine_factors"], cfg["affine_sigmas"]):
        rf, mf = feature(tis_ref, f, sg), feature(tis_mov, f, sg)
        M, sc = refine_affine(rf, mf, float(b * f), M, centre, cfg["affine_reg"])
    info["affine_ncc"] = sc
    field = None
    if cfg["nonrigid"]:
        f, sg = cfg["block_factor"], cfg["block_sigma"]
        rf, mf = feature(tis_ref, f, sg), feature(tis_mov, f, sg)
        scale = float(b * f)
        mw, ok = warp_to_ref(mf, M, rf.shape, scale)
        mw[~ok] = float(np.median(mf))
        pts, dis, wts = block_match(rf, mw, scale, cfg["block_spacing"], cfg["block_half"],
                                    cfg["block_search"])
        if len(wts) and wts.sum() > 0:
            wts = robust_field(pts, dis, wts, cfg["field_sigma"])
            field = (pts, dis, wts)

    def mapping(p):
        p = np.asarray(p, float)
        if field is not None:
            p = p + smooth_field(field[0], field[1], field[2], p, cfg["field_sigma"])
        return apply(M, p)

    return mapping, info


# ---------------------------------------------------------------- model
DEFAULTS = {"coarse_factor": 4, "coarse_sigma": 1.0, "max_rotation": 30.0, "rotation_step": 3.0,
            "scales": [0.9, 1.0, 1.1], "affine_factors": [4, 2], "affine_sigmas": [1.5, 1.5],
            "nonrigid": True, "block_factor": 1, "block_sigma": 1.5, "block_spacing": 16,
            "block_half": 16, "block_search": 12, "field_sigma": 40.0, "presmooth": 1.0,
            "base": 2, "feature": "mask", "affine_reg": 1.0}


def load_model(name):
    path = name if name.endswith(".npz") else os.path.join(HERE, "model", name + ".npz")
    z = np.load(path, allow_pickle=False)
    refs = []
    n = int(z["n_refs"])
    for i in range(n):
        t = z["tissue_%d" % i].astype(np.float32) / 255.0
        refs.append((t, z["landmarks_%d" % i].astype(np.float64)))
    cfg = dict(DEFAULTS)
    if "config" in z.files:
        import json
        cfg.update(json.loads(str(z["config"])))
    return refs, cfg


def base_map(img, cfg):
    """The tissue map every registration starts from, at 1/base of full resolution
    (base x base block mean; base 2 for the lung sections)."""
    return downsample(tissue_mask(img, cfg["presmooth"], cfg["feature"]), cfg["base"])


def predict(img, refs, cfg, combine="robust"):
    tm = base_map(img, cfg)
    preds, infos = [], []
    for t, lm in refs:
        mp, info = register(t, tm, cfg)
        # landmarks are stored as (row, col) in full-resolution pixels of the reference
        preds.append(mp(lm))
        infos.append(info)
    return combine_predictions(np.array(preds), combine, img.shape[:2]), infos


def combine_predictions(P, how, shape):
    """P: (references, landmarks, 2). median: coordinate-wise median; mean: mean;
    robust: per landmark, the mean of the references within max(3 x their median
    distance, 1 % of the image diagonal) of the coordinate-wise median (a failed
    registration is voted out, agreeing ones are averaged)."""
    med = np.median(P, axis=0)
    if how == "median" or len(P) < 3:
        return med if how != "mean" else P.mean(axis=0)
    if how == "mean":
        return P.mean(axis=0)
    d = np.linalg.norm(P - med[None], axis=2)  # (refs, landmarks)
    tol = np.maximum(3 * np.median(d, axis=0), 0.01 * np.hypot(*shape))
    keep = (d <= tol[None]).astype(float)
    return (P * keep[:, :, None]).sum(0) / np.maximum(keep.sum(0), 1)[:, None]


def write_mask(shape, pts, path):
    mask = np.zeros(shape, np.uint16)
    H, W = shape
    order = np.arange(1, len(pts) + 1)
    for k, (y, x) in zip(order, pts):
        yi = int(np.clip(np.round(y), 0, H - 1))
        xi = int(np.clip(np.round(x), 0, W - 1))
        # a landmark on a pixel already taken goes to the nearest free pixel
        if mask[yi, xi]:
            for r in range(1, 10):
                done = False
                for dy in range(-r, r + 1):
                    for dx in range(-r, r + 1):
                        yy, xx = yi + dy, xi + dx
                        if 0 <= yy < H and 0 <= xx < W and not mask[yy, xx]:
                            yi, xi, done = yy, xx, True
                            break
                    if done:
                        break
                if done:
                    break
        mask[yi, xi] = k
    tifffile.imwrite(path, mask)


def read_image(path):
    if path.lower().endswith((".tif", ".tiff")):
        return tifffile.imread(path)
    import imageio
    return imageio.imread(path)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--infolder", default="/data/in")
    p.add_argument("--outfolder", default="/data/out")
    p.add_argument("--model", default="lung",
                   help="reference model: lung (CIMA lung-lesion histology, 80 landmarks), "
                        "wing (biaflows gen LndDet shape, 10 landmarks) or a path to a .npz")
    p.add_argument("--nonrigid", choices=["model", "true", "false"], default="model",
                   help="apply the block-matching non-rigid correction (model = the model's setting)")
    p.add_argument("--max_rotation", type=float, default=0,
                   help="coarse search over rotations within +/- this, degrees (0 = the model's)")
    p.add_argument("--combine", choices=["robust", "median", "mean"], default="robust",
                   help="how the references' landmark predictions are combined: robust = mean of "
                        "the references that agree with the median, median, or mean")
    return p.parse_known_args(argv)


def main(argv):
    a, _ = parse_args(argv)
    refs, cfg = load_model(a.model)
    if a.nonrigid != "model":
        cfg["nonrigid"] = a.nonrigid == "true"
    if a.max_rotation > 0:
        cfg["max_rotation"] = a.max_rotation
    os.makedirs(a.outfolder, exist_ok=True)
    names = sorted(n for n in os.listdir(a.infolder)
                   if n.lower().endswith((".tif", ".tiff", ".png", ".jpg", ".jpeg")))
    for n in names:
        img = read_image(os.path.join(a.infolder, n))
        rgb = to_rgb_or_grey(img)
        pts, infos = predict(rgb, refs, cfg, a.combine)
        stem = n.split(".")[0]
        write_mask(rgb.shape[:2], pts, os.path.join(a.outfolder, stem + ".tif"))
        print("%s: %d landmarks, affine NCC %s" % (
            n, len(pts), " ".join("%.3f" % i["affine_ncc"] for i in infos)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
