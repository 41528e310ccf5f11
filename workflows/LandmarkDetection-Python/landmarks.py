#!/usr/bin/python3
"""LandmarkDetection-Python: numbered landmarks on a wing-like shape (BIAFLOWS LndDet).

Atlas registration. A template of the wing (outline, veins fanning from the
hinge, two cross-veins, dark margin) and its N landmarks is drawn in template
coordinates; its geometry is the mean individual of the model in
src/gen/lnddet.c (no ground truth is read). For each image:

  1. the shape is segmented (heavy smoothing, Otsu; it is darker than the
     background) and its moments (centroid, principal axis, area) give a
     first similarity transform template -> image;
  2. the transform is refined to an affine one by maximising the normalised
     cross-correlation between the image and the template rendered through
     the transform and blurred by the PSF (Powell's method, deterministic);
  3. each landmark is refined locally: the rendered template patch around it
     is matched (normalised cross-correlation) against the image within
     `search` pixels, which absorbs elastic deformation and the individual
     variation of the veins.

Output: a mask where landmark k is one pixel of value k.
BIAFLOWS local mode (--infolder/--outfolder; other flags are ignored).
SPDX-License-Identifier: MIT
"""
import argparse
import math
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage as ndi
from scipy import optimize
from skimage import filters

RY = 0.45          # half height of the template outline
HINGE = (-0.82, 0.0)
STEP = 0.01        # template raster step, template units
X0, X1, Y0, Y1 = -1.3, 1.3, -0.7, 0.7


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--infolder", default="/data/in")
    p.add_argument("--outfolder", default="/data/out")
    p.add_argument("--landmarks", type=int, default=10, help="number of landmarks N")
    p.add_argument("--psf_sigma", type=float, default=1.5,
                   help="blur of the rendered template, pixels (the image's PSF)")
    p.add_argument("--search", type=int, default=4,
                   help="local refinement: search radius, pixels (0 = none)")
    p.add_argument("--patch", type=int, default=5,
                   help="local refinement: patch half size, pixels")
    p.add_argument("--shift_penalty", type=float, default=0.003,
                   help="local refinement: NCC penalty per pixel^2 of shift (prior)")
    p.add_argument("--transform", choices=["similarity", "affine"], default="affine",
                   help="global transform fitted by the registration")
    p.add_argument("--start_scales", type=str, default="1.0",
                   help="comma-separated factors on the moment-based scale to start the "
                        "registration from (the best correlation wins)")
    args, unknown = p.parse_known_args(argv)
    args.start_scales = [float(x) for x in args.start_scales.split(",") if x.strip()]
    return args, unknown


# ---- the template (mean individual of the model) ----

def outline_r(th):
    return 1 + 0.08 * np.cos(2 * th + 0.3) + 0.05 * np.cos(3 * th + 1.1)


def wing(n):
    nv = 2 if n < 4 else (n + 2) // 3
    ends, ctls = [], []
    for i in range(nv):
        th = -1.15 + 2.3 * (i + 0.5) / nv
        r = outline_r(th)
        e = (r * math.cos(th), RY * r * math.sin(th))
        mx, my = (HINGE[0] + e[0]) / 2, (HINGE[1] + e[1]) / 2
        dx, dy = e[0] - HINGE[0], e[1] - HINGE[1]
        bow = 0.06
        ends.append(e)
        ctls.append((mx - bow * dy, my + bow * dx))
    return nv, np.array(ends), np.array(ctls), 0.45, 0.78


def vein_at(ctl, end, t):
    t1 = 1 - t
    return np.array([t1 * t1 * HINGE[a] + 2 * t1 * t * ctl[a] + t * t * end[a] for a in range(2)])


def template_landmarks(n):
    nv, ends, ctls, f1, f2 = wing(n)
    pts = []
    for k in range(n):
        if k < nv:
            pts.append(ends[k])
        else:
            i = k % nv
            pts.append(vein_at(ctls[i], ends[i], f1 if k < 2 * nv else f2))
    return np.array(pts)  # (n, 2) as (x, y)


def seg_dist2(px, py, a, b):
    dx, dy = b[0] - a[0], b[1] - a[1]
    L = dx * dx + dy * dy
    t = np.clip(((px - a[0]) * dx + (py - a[1]) * dy) / max(L, 1e-12), 0, 1)
    ex, ey = px - a[0] - t * dx, py - a[1] - t * dy
    return ex * ex + ey * ey


def render_template(n, vein_halfwidth):
    """Darkness (0 = background) of the mean wing on a raster of template space."""
    nv, ends, ctls, f1, f2 = wing(n)
    xs = np.arange(X0, X1 + 1e-9, STEP)
    ys = np.arange(Y0, Y1 + 1e-9, STEP)
    qx, qy = np.meshgrid(xs, ys)
    u, v = qx, qy / RY
    rho = np.hypot(u, v) / outline_r(np.arctan2(v, u))
    inside = rho <= 1
    d2 = np.full(qx.shape, np.inf)
    for i in range(nv):
        pl = [vein_at(ctls[i], ends[i], k / 16) for k in range(17)]
        for j in range(16):
            d2 = np.minimum(d2, seg_dist2(qx, qy, pl[j], pl[j + 1]))
    dc = np.full(qx.shape, np.inf)
    for f in (f1, f2):
        cv = [vein_at(ctls[i], ends[i], f) for i in range(nv)]
        for i in range(nv - 1):
            dc = np.minimum(dc, seg_dist2(qx, qy, cv[i], cv[i + 1]))
    wv = vein_halfwidth
    dark = 0.3 + 0.8 * np.exp(-d2 / (2 * wv * wv)) + 0.65 * np.exp(-dc / (2 * (0.7 * wv) ** 2))
    dark = dark + 0.5 * (rho > 0.97)
    return np.where(inside, dark, 0.0)


def warp_template(tpl, A, t, shape):
    """Render tpl into an image of `shape` through p = A q + t (p, q as (x, y))."""
    h, w = shape
    Ai = np.linalg.inv(A)
    py, px = np.mgrid[0:h, 0:w].astype(np.float64)
    dx, dy = px - t[0], py - t[1]
    qx = Ai[0, 0] * dx + Ai[0, 1] * dy
    qy = Ai[1, 0] * dx + Ai[1, 1] * dy
    r = (qy - Y0) / STEP
    c = (qx - X0) / STEP
    return ndi.map_coordinates(tpl, [r, c], order=1, mode="constant", cval=0.0)


def ncc(a, b):
    a = a - a.mean()
    b = b - b.mean()
    d = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum()) / d if d > 0 else 0.0


# ---- per image ----

def initial_pose(img, tpl):
    """Similarity from the moments of the Otsu shape and of the template."""
    sm = filters.gaussian(img, 4.0, preserve_range=True)
    mask = sm < filters.threshold_otsu(sm)  # the wing is darker
    ys, xs = np.nonzero(mask)
    ty, tx = np.nonzero(tpl > 0)
    tx = X0 + tx * STEP
    ty = Y0 + ty * STEP

    def mom(x, y):
        cx, cy = x.mean(), y.mean()
        mxx, myy, mxy = ((x - cx) ** 2).mean(), ((y - cy) ** 2).mean(), ((x - cx) * (y - cy)).mean()
        return cx, cy, 0.5 * math.atan2(2 * mxy, mxx - myy)

    icx, icy, iang = mom(xs.astype(float), ys.astype(float))
    tcx, tcy, tang = mom(tx, ty)
    s = math.sqrt(len(xs) / (len(tx) * STEP * STEP))
    ang = iang - tang
    while ang > math.pi / 2:  # the hinge is on the left: rotations stay within +-90 deg
        ang -= math.pi
    while ang <= -math.pi / 2:
        ang += math.pi
    A = s * np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    t = np.array([icx, icy]) - A @ np.array([tcx, tcy])
    return A, t


def register(img, tpl, A0, t0, a):
    target = filters.gaussian(img, 0.7, preserve_range=True)
    target = -(target - target.mean())  # darkness
    sig = a.psf_sigma
    s0 = math.sqrt(abs(np.linalg.det(A0)))

    def params_to(p):
        if a.transform == "similarity":
            ds, ang, tx, ty = p
            c, s = math.cos(ang / 50.0), math.sin(ang / 50.0)
            R = np.array([[c, -s], [s, c]]) * (1 + ds / 50.0)
            return R @ A0, t0 + np.array([tx, ty])
        a11, a12, a21, a22, tx, ty = p
        return A0 + s0 / 50.0 * np.array([[a11, a12], [a21, a22]]), t0 + np.array([tx, ty])

    def cost(p):
        A, t = params_to(p)
        m = ndi.gaussian_filter(warp_template(tpl, A, t, img.shape), sig)
        return -ncc(m, target)

    n = 4 if a.transform == "similarity" else 6
    best = optimize.minimize(cost, np.zeros(n), method="Powell",
                             options={"xtol": 1e-2, "ftol": 1e-5, "maxfev": 3000})
    A, t = params_to(best.x)
    return A, t, -best.fun


def refine(img, model, pts, a):
    """Move each landmark by the integer shift that best matches its patch."""
    h, w = img.shape
    target = -filters.gaussian(img, 0.7, preserve_range=True)
    R, S = a.patch, a.search
    out = []
    for (x, y) in pts:
        xi, yi = int(round(x)), int(round(y))
        best, bx, by = -np.inf, 0.0, 0.0
        if S > 0 and R <= yi < h - R and R <= xi < w - R:
            mp = model[yi - R:yi + R + 1, xi - R:xi + R + 1]
            for dy in range(-S, S + 1):
                for dx in range(-S, S + 1):
                    y0, x0 = yi + dy - R, xi + dx - R
                    if y0 < 0 or x0 < 0 or y0 + 2 * R + 1 > h or x0 + 2 * R + 1 > w:
                        continue
                    sc = ncc(mp, target[y0:y0 + 2 * R + 1, x0:x0 + 2 * R + 1]) \
                        - a.shift_penalty * (dx * dx + dy * dy)
                    if sc > best:
                        best, bx, by = sc, dx, dy
        out.append((x + bx, y + by))
    return np.array(out)


def place(pts, shape):
    """One pixel per landmark; a taken pixel moves to the nearest free one."""
    h, w = shape
    m = np.zeros(shape, np.uint8 if len(pts) < 256 else np.uint16)
    for k, (x, y) in enumerate(pts, 1):
        xi = min(max(int(math.floor(x + 0.5)), 0), w - 1)
        yi = min(max(int(math.floor(y + 0.5)), 0), h - 1)
        done = False
        for r in range(0, max(h, w)):
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    X, Y = xi + dx, yi + dy
                    if 0 <= X < w and 0 <= Y < h and not m[Y, X]:
                        m[Y, X] = k
                        done = True
                        break
                if done:
                    break
            if done:
                break
    return m


def read_image(path):
    with tifffile.TiffFile(path) as t:
        s = t.series[0]
        img = s.asarray()
        axes = s.axes
    if "C" in axes or "S" in axes:  # RGB: luminance
        c = axes.index("C") if "C" in axes else axes.index("S")
        img = np.asarray(img, np.float64).mean(axis=c)
        axes = axes.replace("C", "").replace("S", "")
    for ax in list(axes):
        if ax not in "YX" and img.shape[axes.index(ax)] == 1:
            img = np.take(img, 0, axis=axes.index(ax))
            axes = axes.replace(ax, "")
    if img.ndim != 2:
        raise SystemExit("%s: a 2D image is expected, not %s %s" % (path, axes, img.shape))
    return np.asarray(img, np.float64), axes


def main(argv):
    a, unknown = parse_args(argv)
    if unknown:
        print("ignored arguments: %s" % " ".join(unknown), file=sys.stderr)
    os.makedirs(a.outfolder, exist_ok=True)
    lm = template_landmarks(a.landmarks)
    tpl_cache = {}
    names = sorted(f for f in os.listdir(a.infolder) if f.lower().endswith((".tif", ".tiff")))
    for name in names:
        img, axes = read_image(os.path.join(a.infolder, name))
        if "init" not in tpl_cache:  # the shape's moments do not depend on the vein width
            tpl_cache["init"] = render_template(a.landmarks, 0.025)
        A, t = initial_pose(img, tpl_cache["init"])
        s = math.sqrt(abs(np.linalg.det(A)))
        # vein half-width: about 1.1 px in the images, in template units
        key = round(1.1 / s, 3)
        if key not in tpl_cache:
            tpl_cache[key] = render_template(a.landmarks, key)
        tpl = tpl_cache[key]
        # several starting scales (uneven illumination can bias the Otsu
        # shape); the best correlation wins
        best = None
        c = np.array([img.shape[1] / 2.0, img.shape[0] / 2.0])
        tc = np.linalg.solve(A, c - t)  # template point at the image centre
        for f in a.start_scales:
            Af = A * f
            tf = c - Af @ tc
            r = register(img, tpl, Af, tf, a)
            if best is None or r[2] > best[2]:
                best = r
        A, t, score = best
        pts = lm @ A.T + t
        if a.search > 0:
            model = ndi.gaussian_filter(warp_template(tpl, A, t, img.shape), a.psf_sigma)
            pts = refine(img, model, pts, a)
        m = place(pts, img.shape)
        stem = name.split(".")[0]
        tifffile.imwrite(os.path.join(a.outfolder, stem + ".tif"), m)
        print("%s: %s %s, registration NCC %.3f, scale %.1f px/unit" % (name, axes, img.shape, score, s),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
