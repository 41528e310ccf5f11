#!/usr/bin/python3
"""CellTracking-Python: segment the nuclei of every frame of a 2D or 3D time
sequence and link them into Cell Tracking Challenge tracks.

  scale: the nucleus radius is estimated from the image (pixel-weighted
      median size of the objects of an Otsu threshold on three frames)
  segmentation (per frame; 2D frames with a radius of 24 px or more are
      block-averaged first and the labels scaled back): percentile
      normalisation, Gaussian smoothing at radius/6, background level
      (histogram mode) and noise (spread below the mode) of the frame, a low
      noise-relative threshold (finds dim nuclei; capped at the frame's Otsu
      split in noise-limited frames); every component keeps the pixels
      above background + contrast_fraction of its own contrast (cuts
      halo bridges); touching nuclei are split by a watershed of the
      distance map, a split kept only where both sides rise clearly above the
      saddle (split_depth); each object is refined by its own contrast again;
      what was cut away is searched once more for dim nuclei next to bright
      ones; objects that do not stand out from a ring around them
      (local_contrast) or are small (min_size) are dropped
  linking: one-to-one assignment (Hungarian) between consecutive frames on
      overlap (1 - IoU) plus centroid distance / (1.5 radius); an unassigned
      object next to an assigned one, both smaller than their common
      predecessor, makes a division; a division with a daughter living fewer
      than 3 frames is undone; a track that stops and re-appears close by
      within max_gap frames is bridged (the missing frames get the shifted
      last mask)
  output: <stem>.tif, a 16-bit label stack (label = track, input's shape),
      and <stem>.txt, the CTC track file "L B E P"

BIAFLOWS local mode: --infolder IN --outfolder OUT (other flags ignored).

SPDX-License-Identifier: MIT
"""
import argparse
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage as ndi
from scipy.optimize import linear_sum_assignment
from skimage import filters, morphology, segmentation
from skimage.feature import peak_local_max


def log(msg):
    print("[CellTracking] " + msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--infolder", default="/data/in")
    p.add_argument("--outfolder", default="/data/out")
    p.add_argument("--gtfolder", default="/data/gt")
    p.add_argument("--local", action="store_true")
    p.add_argument("-nmc", "--no_metrics_computation", action="store_true")
    p.add_argument("--radius", type=float, default=0,
                   help="nucleus radius in px (0 = estimated from the image)")
    p.add_argument("--sigma", type=float, default=0,
                   help="Gaussian smoothing in px (0 = radius/6)")
    p.add_argument("--threshold_scale", type=float, default=1.0,
                   help="multiplies the noise-relative detection threshold")
    p.add_argument("--contrast_fraction", type=float, default=0.4,
                   help="an object keeps its pixels above background + this fraction of its own contrast")
    p.add_argument("--split_depth", type=float, default=0.1,
                   help="touching objects are split when both distance-map peaks rise this fraction above the saddle between them")
    p.add_argument("--local_contrast", type=float, default=0.5,
                   help="an object must exceed its surroundings by this fraction of its contrast above background")
    p.add_argument("--min_size", type=float, default=0.1,
                   help="objects smaller than this fraction of the typical nucleus area are removed")
    p.add_argument("--max_gap", type=int, default=2,
                   help="bridge a track that vanishes for at most this many frames")
    args, unknown = p.parse_known_args(argv)
    if unknown:
        log("ignoring unknown arguments: %s" % " ".join(unknown))
    return args


def read_sequence(path):
    """(T, Z, Y, X) float32 array, Z = 1 for 2D sequences; and the output shape."""
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
        a = np.moveaxis(a, axes.index("T"), 0)
    a = np.asarray(a, dtype=np.float32)
    out_shape = a.shape
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 2:
        a = a[None, None]
        out_shape = a.shape[:1] + a.shape[2:]
    if a.ndim != 4:
        raise ValueError("%s: unexpected shape %s (axes %s)" % (path, a.shape, axes))
    return a, out_shape


def normalise(seq):
    """Percentile normalisation of the whole sequence to about [0, 1]."""
    sub = seq.ravel()[:: max(1, seq.size // 4000000)]
    lo, hi = np.percentile(sub, [0.5, 99.8])
    if hi <= lo:
        hi = lo + 1.0
    return (seq - lo) / (hi - lo)


def squeeze(frame):
    return frame[0] if frame.shape[0] == 1 else frame


def smooth(img, s):
    if s <= 0:
        return img
    return ndi.gaussian_filter(img, s if img.ndim == 2 else (s / 2, s, s))


def background(sm):
    """Background level (histogram mode) and noise (spread below the mode)."""
    v = sm.ravel()[:: max(1, sm.size // 1000000)]
    lo, hi = np.percentile(v, [0.1, 99.9])
    if hi <= lo:
        return float(lo), 1e-6
    h, e = np.histogram(v, bins=512, range=(lo, hi))
    h = ndi.gaussian_filter1d(h.astype(np.float64), 2)
    i = int(np.argmax(h))
    bg = 0.5 * (e[i] + e[i + 1])
    below = v[v <= bg]
    sd = np.sqrt(np.mean((below - bg) ** 2)) if below.size > 20 else np.std(v)
    return bg, max(float(sd), 1e-4 * (hi - lo))


def estimate_radius(seq):
    """Typical nucleus radius (px) from the median object size of a rough
    Otsu threshold after light smoothing)."""
    T = seq.shape[0]
    areas = []
    for t in sorted(set([0, T // 2, T - 1])):
        img = squeeze(seq[t])
        sm = smooth(img, 2.0)
        bg, sd = background(sm)
        th = filters.threshold_otsu(sm)
        fg = ndi.binary_opening(sm > max(th, bg + 4 * sd), iterations=1)
        lab, n = ndi.label(fg)
        if n == 0:
            continue
        s = np.bincount(lab.ravel())[1:]
        areas.extend(s[s >= 12].tolist())
    if not areas:
        return 8.0
    # pixel-weighted median: the size of the object a random foreground
    # pixel belongs to (insensitive to many tiny noise specks)
    a = np.sort(np.array(areas, np.float64))
    cw = np.cumsum(a)
    aw = a[np.searchsorted(cw, cw[-1] / 2)]
    # then the plain median of the objects of at least a quarter of that
    # size (clusters of touching nuclei do not inflate it)
    a = float(np.median(a[a >= 0.25 * aw]))
    d = squeeze(seq[0]).ndim
    r = np.sqrt(a / np.pi) if d == 2 else (3 * a / (4 * np.pi)) ** (1 / 3)
    return float(np.clip(r, 2.0, 200.0))


def merge_unjustified(lab, dist, alpha):
    """Merge neighbouring watershed regions unless both rise clearly above
    the saddle between them: (peak - saddle) >= alpha * peak for both."""
    n = int(lab.max())
    if n < 2:
        return lab
    idx = np.arange(1, n + 1)
    peak = np.asarray(ndi.maximum(dist, lab, idx), np.float64)
    best = {}
    for ax in range(lab.ndim):
        a = [slice(None)] * lab.ndim
        b = [slice(None)] * lab.ndim
        a[ax] = slice(0, -1)
        b[ax] = slice(1, None)
        la, lb = lab[tuple(a)], lab[tuple(b)]
        m = (la != lb) & (la > 0) & (lb > 0)
        if not m.any():
            continue
        u, v = la[m].astype(np.int64), lb[m].astype(np.int64)
        val = np.minimum(dist[tuple(a)][m], dist[tuple(b)][m])
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        code = lo * (n + 1) + hi
        order = np.lexsort((val, code))
        code, val = code[order], val[order]
        last = np.r_[code[1:] != code[:-1], True]
        for c, s in zip(code[last], val[last]):
            c = int(c)
            if s > best.get(c, -1):
                best[c] = float(s)
    parent = np.arange(n + 1)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    top = np.r_[0.0, peak]
    for c, s in sorted(best.items(), key=lambda kv: -kv[1]):
        i, j = divmod(c, n + 1)
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        if s > (1 - alpha) * min(top[ri], top[rj]):
            parent[rj] = ri
            top[ri] = max(top[ri], top[rj])
    lut = np.array([find(i) for i in range(n + 1)])
    return lut[lab]


def segment(frame, r, args, scale=1):
    """Label image of one (Z, Y, X) frame (labels 1..n); scale: the frame
    was block-averaged by this factor (r is already in its pixels)."""
    img = squeeze(frame)
    d = img.ndim
    s = args.sigma / scale if args.sigma > 0 else max(1.0, r / 6)
    sm = smooth(img, s)
    bg, sd = background(sm)
    # loose threshold: 4 noise sd above the background, but never above
    # the frame's own Otsu split (at low signal-to-noise the 4-sd level lies
    # inside the nuclei) nor below 1 sd
    step = min(4.0 * sd, max(filters.threshold_otsu(sm) - bg, sd))
    thr = bg + args.threshold_scale * step
    vol = np.pi * r * r if d == 2 else 4 / 3 * np.pi * r ** 3
    min_size = max(4, int(args.min_size * vol))
    fg = sm > thr
    # the 95th percentile of an object overestimates its plateau by about
    # 1.65 noise sd (matters only at low signal-to-noise)
    pc = 1.65
    fg = morphology.remove_small_objects(fg, min_size)
    if d == 2:
        fg = ndi.binary_fill_holes(fg)
    if not fg.any():
        return np.zeros(frame.shape, np.int32)
    out = np.zeros(fg.shape, np.int32)
    nxt = 1
    for _ in range(2):
        # each connected component keeps its pixels above background +
        # contrast_fraction of its own contrast (cuts halo bridges)
        pre_left = np.zeros(fg.shape, bool)
        cl0, _ = ndi.label(fg)
        for i, sl in enumerate(ndi.find_objects(cl0)):
            m = cl0[sl] == i + 1
            peak = np.percentile(sm[sl][m], 95) - pc * sd
            k = m & (sm[sl] > bg + args.contrast_fraction * (peak - bg))
            pre_left[sl] |= m & ~k
            fg[sl][m & ~k] = False
        # split touching nuclei: watershed of the distance map from all its
        # maxima, then merge the regions whose split is not justified
        dist = ndi.distance_transform_edt(fg)
        dist = smooth(dist, max(1.0, r / 10))
        peaks = peak_local_max(dist, min_distance=max(1, int(r / 3)), labels=ndi.label(fg)[0],
                               exclude_border=False)
        markers = np.zeros(fg.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        lab = segmentation.watershed(-dist, markers, mask=fg)
        miss = fg & (lab == 0)
        if miss.any():
            extra, _ = ndi.label(miss)
            lab[miss] = extra[miss] + lab.max()
        lab = merge_unjustified(lab, dist, args.split_depth)
        # per-object refinement: keep pixels above bg + f * (own peak - bg)
        left = pre_left
        for i, sl in enumerate(ndi.find_objects(lab)):
            if sl is None:
                continue
            m = lab[sl] == i + 1
            vals = sm[sl][m]
            if vals.size < min_size:
                continue
            peak = np.percentile(vals, 95) - pc * sd
            thr = bg + args.contrast_fraction * (peak - bg)
            k = m & (sm[sl] > thr)
            left[sl] |= m & ~k
            if d == 2:
                k = ndi.binary_fill_holes(k)
            cl, n = ndi.label(k)
            if n == 0:
                continue
            cs = np.bincount(cl.ravel())
            cs[0] = 0
            for c in np.nonzero(cs >= min_size)[0]:
                out[sl][(cl == c) & (out[sl] == 0)] = nxt
                nxt += 1
        # second round on what was cut away (dim nuclei next to bright ones),
        # after removing thin halo rests
        fg = ndi.binary_opening(left, morphology.disk(max(1, int(r / 4)))
                                if d == 2 else morphology.ball(max(1, int(r / 4))))
        fg = morphology.remove_small_objects(fg, min_size)
        if not fg.any():
            break
    out = contrast_filter(out, sm, bg, r, args.local_contrast)
    out, _, _ = segmentation.relabel_sequential(out)
    return out[None] if d == 2 else out


def segment_scaled(frame, r, args):
    """segment() on a 2D frame block-averaged so that the radius is about
    12 px or more (big nuclei: same result, several times faster); labels
    are brought back to full size by nearest neighbour."""
    f = int(r // 12) if frame.shape[0] == 1 else 1
    if f < 2:
        return segment(frame, r, args)
    img = frame[0]
    H, W = img.shape
    h, w = -(-H // f), -(-W // f)
    pad = np.pad(img, ((0, h * f - H), (0, w * f - W)), mode="edge")
    small = pad.reshape(h, f, w, f).mean(axis=(1, 3))
    lab = segment(small[None], r / f, args, f)[0]
    big = np.repeat(np.repeat(lab, f, axis=0), f, axis=1)[:H, :W]
    return big[None]


def contrast_filter(lab, sm, bg, r, minc):
    """Drop objects that do not stand out from their surroundings: the mean
    of a ring around them (other objects excluded) must lie below
    mean - minc * (mean - bg)."""
    if minc <= 0:
        return lab
    w = max(2, int(r / 3))
    fgall = lab > 0
    for i, sl in enumerate(ndi.find_objects(lab)):
        if sl is None:
            continue
        big = tuple(slice(max(0, q.start - w - 1), q.stop + w + 1) for q in sl)
        m = lab[big] == i + 1
        ring = ndi.binary_dilation(m, iterations=w) & ~fgall[big]
        if not ring.any():
            continue
        inside = sm[big][m].mean()
        outside = sm[big][ring].mean()
        if inside - outside < minc * (inside - bg):
            lab[big][m] = 0
    return lab


def props(lab):
    """Per object: area, centroid."""
    n = int(lab.max())
    idx = np.arange(1, n + 1)
    area = ndi.sum_labels(np.ones(lab.shape), lab, idx) if n else np.zeros(0)
    cen = np.array(ndi.center_of_mass(np.ones(lab.shape), lab, idx)).reshape(n, lab.ndim)
    return area, cen


def link(labels, r, args):
    """Track label stack and CTC tracks {track: [B, E, P]}."""
    T = labels.shape[0]
    P = [props(labels[t]) for t in range(T)]
    # obj_track[t][o] = track id of object o (1-based) in frame t
    tracks = {}
    owner = [dict() for _ in range(T)]
    nxt = [1]

    def start(t, parent):
        tid = nxt[0]
        nxt[0] += 1
        tracks[tid] = [t, t, parent]
        return tid

    gate = 1.5 * r
    for t in range(T):
        lab = labels[t]
        n = int(lab.max())
        if t == 0 or not owner[t - 1]:
            for o in range(1, n + 1):
                owner[t][o] = start(t, 0)
            continue
        prev = labels[t - 1]
        m = int(prev.max())
        a1, c1 = P[t - 1]
        a2, c2 = P[t]
        both = (lab > 0) & (prev > 0)
        ov = np.bincount(prev[both].astype(np.int64) * (n + 1) + lab[both],
                         minlength=(m + 1) * (n + 1)).reshape(m + 1, n + 1)[1:, 1:]
        iou = ov / np.maximum(a1[:, None] + a2[None, :] - ov, 1)
        dd = np.sqrt(((c1[:, None, :] - c2[None, :, :]) ** 2).sum(-1))
        ok = (iou > 0) | (dd < gate)
        cost = np.where(ok, (1 - iou) + dd / gate, 1e6)
        rows, cols = linear_sum_assignment(cost) if m and n else ([], [])
        match = {}
        for i, j in zip(rows, cols):
            if ok[i, j] and (i + 1) in owner[t - 1]:
                match[j + 1] = i + 1
        # divisions: an unmatched object close to a matched sibling that
        # shares the same predecessor, both markedly smaller than it
        inv = {q: o for o, q in match.items()}
        div = {}
        for j in range(n):
            o = j + 1
            if o in match:
                continue
            cand = [(dd[i, j], i + 1) for i in range(m) if ok[i, j] and (i + 1) in inv]
            if not cand:
                continue
            _, q = min(cand)
            sib = inv[q]
            if q in div.values():
                continue
            if (a2[j] < 0.85 * a1[q - 1] and a2[sib - 1] < 0.85 * a1[q - 1]
                    and dd[q - 1, j] < 2.0 * r):
                div[o] = q
        for o in range(1, n + 1):
            if o in div:
                q = div[o]
                owner[t][o] = start(t, owner[t - 1][q])
            elif o in match and match[o] in div.values():
                owner[t][o] = start(t, owner[t - 1][match[o]])
            elif o in match:
                tid = owner[t - 1][match[o]]
                tracks[tid][1] = t
                owner[t][o] = tid
            else:
                owner[t][o] = start(t, 0)
    out = np.zeros(labels.shape, np.uint16)
    for t in range(T):
        if owner[t]:
            lut = np.zeros(int(labels[t].max()) + 1, np.uint16)
            for o, tid in owner[t].items():
                lut[o] = tid
            out[t] = lut[labels[t]]
    out, tracks = prune_divisions(out, tracks)
    out, tracks = close_gaps(out, tracks, r, args)
    return out, tracks


def prune_divisions(out, tracks, min_life=3):
    """A division one of whose two daughters lives fewer than min_life
    frames and has no daughters itself is taken for a fragment: the other
    daughter continues the mother's track and the fragment loses its parent."""
    children = {}
    for tid, (b, e, p) in tracks.items():
        if p:
            children.setdefault(p, []).append(tid)
    for m, ch in sorted(children.items()):
        if len(ch) != 2 or m not in tracks:
            continue
        life = [tracks[c][1] - tracks[c][0] + 1 for c in ch]
        short = [c for c, l in zip(ch, life) if l < min_life and c not in children]
        if not short:
            continue
        frag = min(short, key=lambda c: tracks[c][1] - tracks[c][0])
        keep = ch[0] if ch[1] == frag else ch[1]
        tracks[frag][2] = 0
        b, e, _ = tracks[keep]
        for g in range(b, e + 1):
            out[g][out[g] == keep] = m
        tracks[m][1] = e
        for v in tracks.values():
            if v[2] == keep:
                v[2] = m
        del tracks[keep]
        if keep in children:
            children[m] = children.pop(keep)
    return out, tracks


def close_gaps(out, tracks, r, args):
    """A parentless track that starts within max_gap frames after another
    track ended, close to where it ended, continues it: the missing frames
    get the last mask shifted along the displacement."""
    if args.max_gap <= 0:
        return out, tracks
    T = out.shape[0]
    children = {}
    for tid, (b, e, p) in tracks.items():
        if p:
            children.setdefault(p, []).append(tid)

    def centroid(t, tid):
        return np.array(ndi.center_of_mass(out[t] == tid))

    ends = [tid for tid, (b, e, p) in tracks.items() if e < T - 2 and tid not in children]
    used = set()
    for tid in sorted(ends, key=lambda k: tracks[k][1]):
        if tid not in tracks:
            continue
        b, e, p = tracks[tid]
        ce = centroid(e, tid)
        best = None
        for sid, (b2, e2, p2) in tracks.items():
            if p2 or sid in used or sid == tid or not (e + 2 <= b2 <= e + 1 + args.max_gap):
                continue
            cs = centroid(b2, sid)
            dist = np.sqrt(((cs - ce) ** 2).sum())
            if dist < r * (1 + 0.5 * (b2 - e - 1)) and (best is None or dist < best[0]):
                best = (dist, sid, cs)
        if best is None:
            continue
        _, sid, cs = best
        b2, e2, _ = tracks[sid]
        mask = out[e] == tid
        ok = True
        fills = []
        for g in range(e + 1, b2):
            frac = (g - e) / (b2 - e)
            sh = np.round((cs - ce) * frac).astype(int)
            mm = ndi.shift(mask, sh, order=0)
            if (out[g][mm] != 0).mean() > 0.2 if mm.any() else True:
                ok = False
                break
            fills.append((g, mm))
        if not ok:
            continue
        for g, mm in fills:
            out[g][mm & (out[g] == 0)] = tid
        # the later track becomes part of this one
        for g in range(b2, e2 + 1):
            out[g][out[g] == sid] = tid
        tracks[tid][1] = e2
        for cid, v in tracks.items():
            if v[2] == sid:
                v[2] = tid
        del tracks[sid]
        used.add(sid)
    return out, tracks


def renumber(out, tracks):
    ids = sorted(tracks, key=lambda k: (tracks[k][0], k))
    new = {old: i + 1 for i, old in enumerate(ids)}
    lut = np.zeros(int(out.max()) + 1, np.uint16)
    for old, nw in new.items():
        lut[old] = nw
    out = lut[out]
    nt = {new[k]: [v[0], v[1], new[v[2]] if v[2] else 0] for k, v in tracks.items()}
    return out, nt


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
            seq, out_shape = read_sequence(os.path.join(args.infolder, name))
            seq = normalise(seq)
            r = args.radius if args.radius > 0 else estimate_radius(seq)
            labels = np.stack([segment_scaled(seq[t], r, args) for t in range(seq.shape[0])])
            out, tracks = link(labels, r, args)
            out, tracks = renumber(out, tracks)
            if len(tracks) > 65535:
                raise ValueError("more than 65535 tracks")
            out = out.reshape(out_shape)
            tifffile.imwrite(os.path.join(args.outfolder, stem + ".tif"), out,
                             metadata={"axes": "TYX" if out.ndim == 3 else "TZYX"})
            with open(os.path.join(args.outfolder, stem + ".txt"), "w") as f:
                for tid in sorted(tracks):
                    b, e, p = tracks[tid]
                    f.write("%d %d %d %d\n" % (tid, b, e, p))
            ndiv = sum(1 for v in tracks.values() if v[2]) // 2
            log("%s: shape %s, radius %.1f px, %d objects in frame 0, %d tracks, ~%d divisions" %
                (stem, seq.shape, r, int(labels[0].max()), len(tracks), ndiv))
        except Exception as e:
            failed += 1
            log("%s: FAILED: %s" % (stem, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
