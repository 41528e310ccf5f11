#!/usr/bin/python3
"""TreeTracing-Python: trace one branching tree (a neuron / axonal arbor) in
each 3D stack (or 2D image) of the input folder and write it as SWC.

SPDX-License-Identifier: MIT

  flat-field background removal -> Gaussian denoising -> percentile scale F
  -> threshold ladder (high -> low, relative to F): the arbor is the
     component with the longest bright geodesic path at the high level; it is
     grown level by level until it would swallow a foreign structure
     bigger than itself (or the low floor is reached)
  -> 3D skeleton -> minimum spanning tree over the 26-connected skeleton
     voxels, rooted at one end of the bright geodesic diameter
  -> short terminal spurs pruned -> nodes every few voxels -> SWC

BIAFLOWS local mode: --infolder IN --outfolder OUT (other flags ignored).
Every input <stem>.tif gives OUT/<stem>.swc, coordinates in voxels
(x = column, y = row, z = slice), ids exactly 1..N, parents before children.
"""
import argparse
import collections
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.spatial import cKDTree
from scipy.sparse.csgraph import (breadth_first_order, connected_components,
                                  dijkstra, minimum_spanning_tree)
from skimage import morphology

FULL = np.ones((3, 3, 3), bool)


def log(msg):
    print("[TreeTracing] " + msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    p.add_argument("--infolder", default="/data/in")
    p.add_argument("--outfolder", default="/data/out")
    p.add_argument("--gtfolder", default="/data/gt")
    p.add_argument("--local", action="store_true")
    p.add_argument("-nmc", "--no_metrics_computation", action="store_true")
    p.add_argument("--smooth", type=float, default=1.0,
                   help="Gaussian denoising sigma (px laterally, half of it along Z)")
    p.add_argument("--threshold_high", type=float, default=0.25,
                   help="start level of the threshold ladder, as a fraction of the bright level F (99.98th percentile)")
    p.add_argument("--threshold_low", type=float, default=0.07,
                   help="floor of the threshold ladder (fraction of F)")
    p.add_argument("--noise_k", type=float, default=6.0,
                   help="the floor is at least background + noise_k * robust noise sigma")
    p.add_argument("--merge_size", type=float, default=1.0,
                   help="stop lowering the threshold before the arbor absorbs a structure (a component of the "
                        "previous level) larger than merge_size times the arbor")
    p.add_argument("--min_branch", type=float, default=4.0,
                   help="terminal branches shorter than this (px) are pruned")
    p.add_argument("--node_step", type=int, default=3,
                   help="one SWC node every node_step skeleton voxels along unbranched paths")
    p.add_argument("--mode", default="auto", choices=["auto", "intensity", "tubeness"],
                   help="intensity: threshold ladder on the intensity; tubeness: Sato tubeness + hysteresis "
                        "(for noisy stacks); auto: tubeness when the bright level F is below snr_switch "
                        "times the noise of the smoothed stack")
    p.add_argument("--snr_switch", type=float, default=30.0,
                   help="auto mode: F / noise below this selects the tubeness path")
    p.add_argument("--tube_sigma_max", type=float, default=2.0,
                   help="tubeness path: largest Hessian scale (px; scales from 1 in steps of 0.5)")
    p.add_argument("--tube_threshold", type=float, default=5.0,
                   help="tubeness path: hysteresis high threshold, median + k robust sigmas of the tubeness")
    p.add_argument("--tube_threshold_low", type=float, default=2.5,
                   help="tubeness path: hysteresis low threshold (same units)")
    args, unknown = p.parse_known_args(argv)
    if unknown:
        log("ignoring unknown arguments: %s" % " ".join(unknown))
    return args


def read_volume(path):
    """Return a (Z, Y, X) float32 array and whether the input was 2D."""
    with tifffile.TiffFile(path) as t:
        s = t.series[0]
        a = s.asarray()
        axes = s.axes
    for ax in ("C", "S"):
        if ax in axes:
            i = axes.index(ax)
            a = a.mean(axis=i)
            axes = axes[:i] + axes[i + 1:]
    if "T" in axes:
        i = axes.index("T")
        a = np.take(a, 0, axis=i)
        axes = axes[:i] + axes[i + 1:]
    a = np.squeeze(np.asarray(a, dtype=np.float32))
    if a.ndim == 2:
        return a[None], True
    if a.ndim != 3:
        raise ValueError("%s: expected a 2D image or a 3D stack, got shape %s" % (path, a.shape))
    return a, False


def background(v, block=16):
    """Smooth per-slice background: median of block x block tiles,
    lightly smoothed and interpolated back (uneven illumination)."""
    Z, Y, X = v.shape
    b = max(1, min(block, Y // 4, X // 4))
    Yb, Xb = Y // b * b, X // b * b
    if Yb == 0 or Xb == 0:
        return np.full(v.shape, np.median(v), np.float32)
    t = v[:, :Yb, :Xb].reshape(Z, Yb // b, b, Xb // b, b).transpose(0, 1, 3, 2, 4)
    med = np.median(t.reshape(Z, Yb // b, Xb // b, b * b), axis=-1)
    med = ndi.gaussian_filter(med, (1 if Z > 1 else 0, 1, 1))
    bg = np.repeat(np.repeat(med.astype(np.float32), b, axis=1), b, axis=2)
    out = np.empty(v.shape, np.float32)
    out[:, :Yb, :Xb] = bg
    out[:, Yb:, :Xb] = bg[:, -1:, :]  # edge rows / columns: nearest tile
    out[:, :, Xb:] = out[:, :, Xb - 1:Xb]
    return out


def neighbour_edges(coords, shape):
    """26-neighbour edges (i, j, length) between voxel coordinates (N, 3)."""
    key = (coords[:, 0] * shape[1] + coords[:, 1]) * shape[2] + coords[:, 2]
    order = np.argsort(key)
    ks = key[order]
    I, J, W = [], [], []
    for dz in (0, 1):
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dz == 0 and (dy < 0 or (dy == 0 and dx <= 0)):
                    continue  # each unordered pair once
                nb = coords + np.array([dz, dy, dx])
                ok = ((nb[:, 0] < shape[0]) & (nb[:, 1] >= 0) & (nb[:, 1] < shape[1])
                      & (nb[:, 2] >= 0) & (nb[:, 2] < shape[2]))
                nk = (nb[:, 0] * shape[1] + nb[:, 1]) * shape[2] + nb[:, 2]
                pos = np.minimum(np.searchsorted(ks, nk), len(ks) - 1)
                hit = ok & (ks[pos] == nk)
                I.append(np.nonzero(hit)[0])
                J.append(order[pos[hit]])
                W.append(np.full(int(hit.sum()), np.sqrt(dz * dz + dy * dy + dx * dx)))
    return np.concatenate(I), np.concatenate(J), np.concatenate(W)


def skeleton(mask, is2d):
    if is2d:
        return morphology.skeletonize(mask[0])[None]
    return morphology.skeletonize_3d(mask) > 0


def skeleton_graph(mask, is2d):
    """Skeleton voxels of mask (N, 3) and their MST graph (sparse, symmetric)."""
    sl = ndi.find_objects(mask.astype(np.uint8))
    if not sl or sl[0] is None:
        return np.zeros((0, 3), int), None
    sl = sl[0]
    sub = skeleton(mask[sl], is2d)
    coords = np.argwhere(sub) + np.array([s.start for s in sl])
    n = len(coords)
    if n == 0:
        return coords, None
    I, J, W = neighbour_edges(coords, mask.shape)
    G = coo_matrix((W, (I, J)), shape=(n, n)).tocsr()
    T = minimum_spanning_tree(G)
    return coords, (T + T.T).tocsr()


def bright_diameter(coords, T, inten, iref):
    """Longest path of the tree T where each edge counts its length times
    min(1, intensity / iref): long AND bright. Returns (length, end a, end b)."""
    c = T.tocoo()
    w = np.clip(np.minimum(inten[c.row], inten[c.col]) / max(iref, 1e-6), 0.05, 1.0)
    Tw = coo_matrix((c.data * w, (c.row, c.col)), shape=T.shape).tocsr()
    ncomp, lab = connected_components(Tw, directed=False)
    best = (0.0, 0, 0)
    for comp in range(ncomp):
        start = int(np.nonzero(lab == comp)[0][0])
        d0 = dijkstra(Tw, directed=False, indices=start)
        d0[~np.isfinite(d0)] = -1
        a = int(np.argmax(d0))
        da = dijkstra(Tw, directed=False, indices=a)
        da[~np.isfinite(da)] = -1
        b = int(np.argmax(da))
        if da[b] > best[0]:
            best = (float(da[b]), a, b)
    return best


def select_arbor(sm, is2d, args):
    """Binary mask of the arbor (see the module docstring) and the root voxel."""
    F, med, noise = bright_and_noise(sm)
    floor = max(args.threshold_low * F, med + args.noise_k * noise)
    hi = max(args.threshold_high * F, floor)
    levels = [hi]
    while levels[-1] * 0.8 > floor:
        levels.append(levels[-1] * 0.8)
    if levels[-1] > floor:
        levels.append(floor)
    # 1) at the high level: the component holding the longest bright path
    lab, n = ndi.label(sm > hi, structure=FULL)
    if n == 0:
        return None, None, (F, noise, hi, floor, hi)
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    best = None
    objs = ndi.find_objects(lab)
    for c in np.argsort(sizes)[::-1][:8]:
        if sizes[c] == 0:
            break
        sl = objs[c - 1]
        m = lab[sl] == c
        coords, T = skeleton_graph(m, is2d)
        if T is None or len(coords) < 2:
            continue
        inten = sm[sl][tuple(coords.T)]
        L, a, b = bright_diameter(coords, T, inten, 0.5 * F)
        if best is None or L > best[0]:
            origin = np.array([s.start for s in sl])
            best = (L, c, coords[a] + origin)
    if best is None:
        c = int(np.argmax(sizes))
        seed = np.unravel_index(int(np.argmax(np.where(lab == c, sm, -np.inf))), sm.shape)
    else:
        c = best[1]
        seed = tuple(int(x) for x in best[2])
    main = lab == c
    used = hi
    # 2) lower the threshold while the arbor does not swallow a large dimmer structure
    for t in levels[1:]:
        prev_lab, prev_main = lab, main
        lab, n = ndi.label(sm > t, structure=FULL)
        cid = lab[seed]
        new = lab == cid
        absorbed = np.unique(prev_lab[new & ~prev_main & (prev_lab > 0)])
        stop = False
        if len(absorbed):
            # a structure bigger than the arbor itself is another neuron / clutter
            prev_sizes = np.bincount(prev_lab.ravel())
            stop = bool(prev_sizes[absorbed].max() > args.merge_size * prev_main.sum())
        if stop:
            lab, main = prev_lab, prev_main
            break
        main = new
        used = t
    return main, seed, (F, noise, hi, floor, used)


def prune(C, par, min_len, rounds=3):
    """Remove terminal branches (tip up to the first branch point) shorter
    than min_len px; repeated a few times."""
    for _ in range(rounds):
        n = len(par)
        if n < 3:
            break
        nch = np.bincount(par[par >= 0], minlength=n)
        L = np.zeros(n)
        m = par >= 0
        L[m] = np.linalg.norm(C[m] - C[par[m]], axis=1)
        keep = np.ones(n, bool)
        removed = 0
        for tip in np.nonzero(nch == 0)[0]:
            path = [tip]
            length = L[tip]
            j = par[tip]
            while j >= 0 and nch[j] == 1 and par[j] >= 0:
                path.append(j)
                length += L[j]
                j = par[j]
            if j >= 0 and nch[j] >= 2 and length < min_len:
                keep[path] = False
                removed += 1
        if not removed:
            break
        C, par = subset(C, par, keep)
    return C, par


def subset(C, par, keep):
    """Keep the nodes in keep (a set closed under 'parent of'), renumbered."""
    idx = np.nonzero(keep)[0]
    rm = np.full(len(par), -1)
    rm[idx] = np.arange(len(idx))
    return C[idx], np.where(par[idx] >= 0, rm[np.maximum(par[idx], 0)], -1)


def simplify(C, par, step):
    """Keep the root, tips, branch points and every step-th node of the
    unbranched runs; the others are bridged by straight segments."""
    n = len(par)
    if step <= 1 or n < 3:
        return C, par
    nch = np.bincount(par[par >= 0], minlength=n)
    keep = np.ones(n, bool)
    depth = np.zeros(n, int)
    for i in range(n):  # parents come before children
        j = par[i]
        if j >= 0:
            depth[i] = depth[j] + 1 if nch[j] == 1 else 0
            if nch[i] == 1 and depth[i] % step != 0:
                keep[i] = False
    newpar = par.copy()
    for i in range(n):
        j = par[i]
        if j >= 0:
            while not keep[j]:
                j = newpar[j]
            newpar[i] = j
    idx = np.nonzero(keep)[0]
    rm = np.full(n, -1)
    rm[idx] = np.arange(len(idx))
    return C[idx], np.where(newpar[idx] >= 0, rm[np.maximum(newpar[idx], 0)], -1)


def bright_and_noise(sm):
    F = float(np.percentile(sm, 99.98))
    if F <= 0:
        F = float(sm.max())
    r = sm[::2, ::4, ::4].ravel() if sm.shape[0] > 1 else sm[0, ::2, ::2].ravel()
    med = float(np.median(r))
    return F, med, 1.4826 * float(np.median(np.abs(r - med)))


def trace(vol, is2d, args):
    """Returns node coordinates (N, 3) z,y,x, parent indices (-1 = root,
    parents first) and a radius lookup."""
    v = vol - background(vol)
    s = args.smooth
    sm = ndi.gaussian_filter(v, (0 if is2d else s / 2, s, s)) if s > 0 else v
    mode = args.mode
    if mode == "auto":
        F, med, noise = bright_and_noise(sm)
        snr = (F - med) / max(noise, 1e-6)
        mode = "intensity" if snr >= args.snr_switch else "tubeness"
        log("  bright level / noise = %.1f -> %s path" % (snr, mode))
    if mode == "tubeness":
        return tube_trace(vol, is2d, args)
    mask, seed, info = select_arbor(sm, is2d, args)
    log("  F %.1f noise %.2f levels %.1f..%.1f used %.1f" % info)
    if mask is None or not mask.any():
        return np.zeros((0, 3)), np.zeros(0, int), None
    coords, T = skeleton_graph(mask, is2d)
    if T is None or len(coords) < 2:
        return coords.astype(float), np.full(len(coords), -1), None
    inten = sm[tuple(coords.T)]
    F = info[0]
    _, a, _ = bright_diameter(coords, T, inten, 0.5 * F)
    # keep the connected part of the skeleton holding the diameter (one tree)
    order, pred = breadth_first_order(T, a, directed=False)
    par_idx = pred[order]
    inv = np.full(len(coords), -1)
    inv[order] = np.arange(len(order))
    C = coords[order].astype(float)
    par = np.where(par_idx >= 0, inv[np.maximum(par_idx, 0)], -1)
    par[0] = -1
    C, par = prune(C, par, args.min_branch)
    C, par = simplify(C, par, args.node_step)
    radius = RadiusLookup(mask)
    return C, par, radius


class RadiusLookup:
    """Distance from a voxel to the nearest border voxel of the mask (a cheap
    stand-in for the distance transform, queried at the nodes only)."""

    def __init__(self, mask):
        border = mask & ~ndi.binary_erosion(mask, border_value=0)
        pts = np.argwhere(border)
        self.tree = cKDTree(pts) if len(pts) else None

    def __getitem__(self, zyx):
        if self.tree is None:
            return 1.0
        return float(self.tree.query(np.asarray(zyx, float))[0]) + 0.5


# ---------------------------------------------------------------------------
# Tubeness path (noisy, low-contrast stacks): the workflow's earlier method.
# Sato tubeness -> hysteresis (robust-sigma units) -> the soma's component
# -> skeleton -> BFS tree from the soma -> spurs pruned (one node per voxel).

def tube_trace(vol, is2d, args):
    from skimage import filters
    v = vol - ndi.gaussian_filter(vol, (0 if is2d else 4, 12, 12))
    v = ndi.gaussian_filter(v, (0 if is2d else 1.0, 2.0, 2.0))
    sigmas = np.arange(1.0, args.tube_sigma_max + 1e-9, 0.5)
    if is2d:
        t = filters.sato(v[0], sigmas=sigmas, black_ridges=False)[None]
    else:
        t = filters.sato(v, sigmas=sigmas, black_ridges=False)
    med = np.median(t)
    sd = 1.4826 * np.median(np.abs(t - med)) + 1e-12
    if args.tube_threshold_low < args.tube_threshold:
        fg = filters.apply_hysteresis_threshold(t, med + args.tube_threshold_low * sd,
                                                med + args.tube_threshold * sd)
    else:
        fg = t > med + args.tube_threshold * sd
    sm = ndi.gaussian_filter(vol, (0 if is2d else 1.5, 3.0, 3.0))
    soma = np.unravel_index(int(np.argmax(sm)), sm.shape)
    smed = np.median(sm)
    blob, _ = ndi.label(sm > sm[soma] * 0.5 + smed * 0.5)
    fg |= blob == blob[soma]  # the soma is a blob, not a tube
    if not is2d:
        fg = ndi.binary_opening(fg, structure=np.ones((1, 2, 2), bool))
    lab, n = ndi.label(fg, structure=FULL)
    if n == 0:
        return np.zeros((0, 3)), np.zeros(0, int), None
    keep = lab[soma]
    if keep == 0:
        sizes = np.bincount(lab.ravel())
        sizes[0] = 0
        keep = int(np.argmax(sizes))
    comp = lab == keep
    if is2d:
        comp = ndi.binary_fill_holes(comp)
    skel = skeleton(comp, is2d)
    C, par = bfs_tree(skel, soma)
    C, par = prune_nodes(C, par, 4)
    # the soma itself is the root node
    C = np.concatenate([np.array([soma], float), C.astype(float)])
    par = np.concatenate([[-1], np.where(par < 0, 0, par + 1)])
    return C, par, RadiusLookup(comp)


def bfs_tree(skel, root_hint):
    """Breadth-first tree over the 26-connected skeleton voxels from the
    voxel nearest root_hint (face neighbours first)."""
    pts = np.argwhere(skel)
    if len(pts) == 0:
        return pts, np.zeros(0, int)
    index = {tuple(p): i for i, p in enumerate(pts)}
    start = int(np.argmin(((pts - np.asarray(root_hint)) ** 2).sum(axis=1)))
    offs = [(dz, dy, dx) for dz in (-1, 0, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
            if (dz, dy, dx) != (0, 0, 0)]
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


def prune_nodes(C, par, min_nodes, rounds=3):
    """Remove terminal branches of fewer than min_nodes nodes."""
    for _ in range(rounds):
        n = len(par)
        if n == 0:
            break
        nch = np.bincount(par[par >= 0], minlength=n)
        keep = np.ones(n, bool)
        removed = 0
        for tip in np.nonzero(nch == 0)[0]:
            path = [tip]
            j = par[tip]
            while j >= 0 and nch[j] == 1 and par[j] >= 0:
                path.append(j)
                j = par[j]
            if j >= 0 and nch[j] >= 2 and len(path) < min_nodes:
                keep[path] = False
                removed += 1
        if not removed:
            break
        C, par = subset(C, par, keep)
    return C, par


def write_swc(path, C, par, radius):
    with open(path, "w") as f:
        f.write("# SWC written by TreeTracing-Python\n")
        f.write("# id type x y z radius parent (voxel coordinates)\n")
        for i, (c, p) in enumerate(zip(C, par)):
            z, y, x = c
            r = 1.0 if radius is None else max(0.5, float(radius[int(z), int(y), int(x)]))
            f.write("%d %d %.1f %.1f %.1f %.2f %d\n" % (i + 1, 1 if p < 0 else 3, x, y, z, r,
                                                      -1 if p < 0 else p + 1))


def fallback(vol):
    """A 2-node tree at the brightest voxel (an empty SWC breaks the metric)."""
    z, y, x = np.unravel_index(int(np.argmax(vol)), vol.shape)
    C = np.array([[z, y, x], [z, y, min(x + 1, vol.shape[2] - 1)]], float)
    return C, np.array([-1, 0])


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
            C, par, radius = trace(vol, is2d, args)
            if len(C) < 2:
                C, par = fallback(vol)
            write_swc(os.path.join(args.outfolder, stem + ".swc"), C, par, radius)
            log("%s: shape %s, %d tree nodes" % (stem, vol.shape, len(C)))
        except Exception as e:  # one bad image must not stop the others
            failed += 1
            log("%s: FAILED: %s" % (stem, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
