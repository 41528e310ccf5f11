#!/usr/bin/python3
"""TreeTracing-Python: trace one branching tree (a neuron-like arbor) in each
3D stack (or 2D image) of the input folder and write it as SWC.

  tubeness (Sato) -> threshold -> the component of the soma -> skeleton
  -> voxel graph -> BFS tree from the soma -> pruned spurs -> SWC

BIAFLOWS local mode: --infolder IN --outfolder OUT (other flags ignored).
Every input <stem>.tif gives OUT/<stem>.swc, coordinates in voxels
(x = column, y = row, z = slice), ids 1..N with parents before children.
"""
import argparse
import collections
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage as ndi
from skimage import filters, morphology


def log(msg):
    print("[TreeTracing] " + msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--infolder", default="/data/in")
    p.add_argument("--outfolder", default="/data/out")
    p.add_argument("--gtfolder", default="/data/gt")
    p.add_argument("--local", action="store_true")
    p.add_argument("-nmc", "--no_metrics_computation", action="store_true")
    p.add_argument("--sigma_min", type=float, default=1.0,
                   help="smallest tube scale (Hessian sigma, px)")
    p.add_argument("--sigma_max", type=float, default=2.0,
                   help="largest tube scale (Hessian sigma, px)")
    p.add_argument("--smooth", type=float, default=2.0,
                   help="Gaussian denoising before the tube filter (px; half along Z)")
    p.add_argument("--threshold", type=float, default=5.0,
                   help="tubeness threshold: median + k * MAD-sigma of the tubeness")
    p.add_argument("--threshold_low", type=float, default=2.5,
                   help="hysteresis: tubeness above median + k_low * MAD-sigma is kept where it touches the main threshold")
    p.add_argument("--soma_sigma", type=float, default=3.0,
                   help="smoothing (px) used to find the soma (the brightest blob)")
    p.add_argument("--min_branch", type=int, default=4,
                   help="terminal branches shorter than this (voxels) are pruned")
    p.add_argument("--z_ratio", type=float, default=1.0,
                   help="voxel depth / voxel width (the Hessian scales are divided by it along Z)")
    args, unknown = p.parse_known_args(argv)
    if unknown:
        log("ignoring unknown arguments: %s" % " ".join(unknown))
    return args


def read_volume(path):
    """Return a (Z, Y, X) float array and whether the input was 2D."""
    with tifffile.TiffFile(path) as t:
        s = t.series[0]
        a = s.asarray()
        axes = s.axes
    # drop channel / time axes of size 1, average channels if several
    for ax in ("C", "S"):
        if ax in axes:
            i = axes.index(ax)
            a = a.mean(axis=i)
            axes = axes[:i] + axes[i + 1:]
    if "T" in axes:
        i = axes.index("T")
        a = np.take(a, 0, axis=i)
        axes = axes[:i] + axes[i + 1:]
    a = np.squeeze(np.asarray(a, dtype=np.float64))
    if a.ndim == 2:
        return a[None], True
    if a.ndim != 3:
        raise ValueError("%s: expected a 2D image or a 3D stack, got shape %s" % (path, a.shape))
    return a, False


def robust_sigma(v):
    med = np.median(v)
    return med, 1.4826 * np.median(np.abs(v - med)) + 1e-12


def tubeness(vol, is2d, args):
    """Bright-ridge (Sato) response, max over scales, in 2D or 3D."""
    sigmas = np.arange(args.sigma_min, args.sigma_max + 1e-9, 0.5)
    if is2d:
        return filters.sato(vol[0], sigmas=sigmas, black_ridges=False)[None]
    if abs(args.z_ratio - 1.0) > 1e-6:
        # resample Z to isotropic voxels, filter, and sample back
        zoom = (args.z_ratio, 1.0, 1.0)
        iso = ndi.zoom(vol, zoom, order=1)
        r = filters.sato(iso, sigmas=sigmas, black_ridges=False)
        back = tuple(n / m for n, m in zip(vol.shape, r.shape))
        return ndi.zoom(r, back, order=1)[:vol.shape[0], :vol.shape[1], :vol.shape[2]]
    return filters.sato(vol, sigmas=sigmas, black_ridges=False)


def find_soma(vol, is2d, args):
    sm = ndi.gaussian_filter(vol, (0 if is2d else args.soma_sigma / 2, args.soma_sigma, args.soma_sigma))
    return np.unravel_index(int(np.argmax(sm)), sm.shape)


def skeleton_tree(skel, root_hint):
    """BFS over the 26-connected skeleton voxels from the voxel nearest the
    soma. Returns (coords (N,3) z,y,x, parents (N,) index or -1) in BFS order."""
    pts = np.argwhere(skel)
    if len(pts) == 0:
        return pts, np.zeros(0, int)
    index = {tuple(p): i for i, p in enumerate(pts)}
    d2 = ((pts - np.asarray(root_hint)) ** 2).sum(axis=1)
    start = int(np.argmin(d2))
    offs = [(dz, dy, dx) for dz in (-1, 0, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
            if (dz, dy, dx) != (0, 0, 0)]
    # face neighbours first: straighter paths
    offs.sort(key=lambda o: abs(o[0]) + abs(o[1]) + abs(o[2]))
    parent = np.full(len(pts), -2, int)
    parent[start] = -1
    order = [start]
    q = collections.deque([start])
    while q:
        i = q.popleft()
        z, y, x = pts[i]
        for dz, dy, dx in offs:
            j = index.get((z + dz, y + dy, x + dx))
            if j is not None and parent[j] == -2:
                parent[j] = i
                order.append(j)
                q.append(j)
    order = np.asarray(order)
    remap = np.full(len(pts), -1, int)
    remap[order] = np.arange(len(order))
    par = np.where(parent[order] >= 0, remap[np.maximum(parent[order], 0)], -1)
    return pts[order], par


def prune(coords, par, min_branch, rounds=3):
    """Remove terminal branches (tip up to the first branch point) shorter
    than min_branch nodes; repeated a few times."""
    for _ in range(rounds):
        n = len(par)
        if n == 0:
            break
        nchild = np.bincount(par[par >= 0], minlength=n)
        keep = np.ones(n, bool)
        removed = 0
        for tip in np.nonzero(nchild == 0)[0]:
            path = [tip]
            j = par[tip]
            while j >= 0 and nchild[j] == 1 and par[j] >= 0:
                path.append(j)
                j = par[j]
            # j is a branch point (or the root): the path is a terminal spur
            if j >= 0 and nchild[j] >= 2 and len(path) < min_branch:
                keep[path] = False
                removed += 1
        if not removed:
            break
        idx = np.nonzero(keep)[0]
        remap = np.full(n, -1, int)
        remap[idx] = np.arange(len(idx))
        coords = coords[idx]
        par = np.where(par[idx] >= 0, remap[np.maximum(par[idx], 0)], -1)
    return coords, par


def trace(vol, is2d, args):
    v = vol - ndi.gaussian_filter(vol, (0 if is2d else 4, 12, 12))  # flatten illumination/texture
    v = ndi.gaussian_filter(v, (0 if is2d else args.smooth / 2, args.smooth, args.smooth))
    t = tubeness(v, is2d, args)
    med, sd = robust_sigma(t)
    if args.threshold_low < args.threshold:
        fg = filters.apply_hysteresis_threshold(t, med + args.threshold_low * sd, med + args.threshold * sd)
    else:
        fg = t > med + args.threshold * sd
    soma = find_soma(vol, is2d, args)
    # the soma is a blob, not a tube: add it as a ball so it joins its branches
    sm = ndi.gaussian_filter(vol, (0 if is2d else args.soma_sigma / 2, args.soma_sigma, args.soma_sigma))
    smed, _ = robust_sigma(sm)
    blob, _ = ndi.label(sm > sm[soma] * 0.5 + smed * 0.5)
    fg |= blob == blob[soma]
    fg = ndi.binary_opening(fg, structure=np.ones((1, 2, 2), bool)) if not is2d else fg
    lab, n = ndi.label(fg, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return np.zeros((0, 3), int), np.zeros(0, int), soma, np.zeros(vol.shape)
    keep = lab[soma]
    if keep == 0:
        sizes = np.bincount(lab.ravel())
        sizes[0] = 0
        keep = int(np.argmax(sizes))
    comp = lab == keep
    comp = ndi.binary_fill_holes(comp) if is2d else comp
    if is2d:
        skel = morphology.skeletonize(comp[0])[None]
    else:
        skel = morphology.skeletonize_3d(comp) > 0
    coords, par = skeleton_tree(skel, soma)
    coords, par = prune(coords, par, args.min_branch)
    radius = ndi.distance_transform_edt(comp)
    return coords, par, soma, radius


def write_swc(path, coords, par, soma, radius):
    """The soma (type 1) is node 1; skeleton nodes follow in BFS order."""
    with open(path, "w") as f:
        f.write("# SWC written by TreeTracing-Python\n")
        f.write("# id type x y z radius parent (voxel coordinates)\n")
        z0, y0, x0 = soma
        f.write("1 1 %.3f %.3f %.3f %.3f -1\n" % (x0, y0, z0, max(1.0, radius[soma])))
        for i, (c, p) in enumerate(zip(coords, par)):
            z, y, x = c
            r = max(0.5, float(radius[z, y, x]))
            f.write("%d 3 %d %d %d %.3f %d\n" % (i + 2, x, y, z, r, 1 if p < 0 else p + 2))


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.outfolder, exist_ok=True)
    names = sorted(n for n in os.listdir(args.infolder) if n.lower().endswith((".tif", ".tiff")))
    if not names:
        log("no .tif input in %s" % args.infolder)
    failed = 0
    for name in names:
        stem = name.split(".")[0]
        try:
            vol, is2d = read_volume(os.path.join(args.infolder, name))
            coords, par, soma, radius = trace(vol, is2d, args)
            write_swc(os.path.join(args.outfolder, stem + ".swc"), coords, par, soma, radius)
            log("%s: shape %s, %d tree nodes" % (stem, vol.shape, len(coords) + 1))
        except Exception as e:  # one bad image must not stop the others
            failed += 1
            log("%s: FAILED: %s" % (stem, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
