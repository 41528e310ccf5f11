#!/usr/bin/python3
"""CellTracking-Python: segment the cells of every frame of a 2D or 3D time
sequence and link them by overlap into Cell Tracking Challenge tracks.

  segmentation (per frame): Gaussian smoothing, Otsu threshold, small objects
      removed, holes filled, distance-transform watershed (markers = maxima of
      the smoothed distance map at least min_distance apart)
  linking: every object of frame t takes as predecessor the object of frame
      t-1 it overlaps most (at least min_overlap of its area); an object of
      t-1 chosen by exactly one object continues its track; chosen by two or
      more it divides (its track ends, each successor starts a daughter track
      whose parent is the mother); objects without predecessor start tracks
  output: <stem>.tif, a 16-bit label stack (label = track, input's shape),
      and <stem>.txt, the CTC track file "L B E P" (every track occupies a
      contiguous run of frames, parents end before their daughters begin)

BIAFLOWS local mode: --infolder IN --outfolder OUT (other flags ignored).
"""
import argparse
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage as ndi
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
    p.add_argument("--sigma", type=float, default=1.0, help="Gaussian smoothing (px)")
    p.add_argument("--threshold_scale", type=float, default=1.0,
                   help="multiplies the Otsu threshold of each frame")
    p.add_argument("--min_size", type=int, default=30,
                   help="objects smaller than this (pixels/voxels) are removed")
    p.add_argument("--min_distance", type=int, default=4,
                   help="minimum distance between two watershed seeds (px)")
    p.add_argument("--min_overlap", type=float, default=0.2,
                   help="an object links to its predecessor when they share at least this fraction of its area")
    args, unknown = p.parse_known_args(argv)
    if unknown:
        log("ignoring unknown arguments: %s" % " ".join(unknown))
    return args


def read_sequence(path):
    """(T, Z, Y, X) float array, Z = 1 for 2D sequences; and the output shape."""
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
    a = np.asarray(a, dtype=np.float64)
    out_shape = a.shape
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 2:
        a = a[None, None]
        out_shape = a.shape[:1] + a.shape[2:]
    if a.ndim != 4:
        raise ValueError("%s: unexpected shape %s (axes %s)" % (path, a.shape, axes))
    return a, out_shape


def segment(frame, args):
    """Label image of one (Z, Y, X) frame (labels 1..n)."""
    is2d = frame.shape[0] == 1
    img = frame[0] if is2d else frame
    sig = args.sigma if is2d else (args.sigma / 2, args.sigma, args.sigma)
    sm = ndi.gaussian_filter(img, sig)
    if sm.max() <= sm.min():
        return np.zeros(frame.shape, np.int32)
    th = filters.threshold_otsu(sm) * args.threshold_scale
    fg = sm > th
    fg = morphology.remove_small_objects(fg, args.min_size)
    fg = ndi.binary_fill_holes(fg) if is2d else fg
    dist = ndi.distance_transform_edt(fg)
    dist = ndi.gaussian_filter(dist, 1.0)
    comp, _ = ndi.label(fg)
    peaks = peak_local_max(dist, min_distance=args.min_distance, labels=comp,
                           exclude_border=False)
    markers = np.zeros(fg.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    lab = segmentation.watershed(-dist, markers, mask=fg)
    # a component without a seed (too small for a peak) keeps one label
    missing = fg & (lab == 0)
    if missing.any():
        extra, n = ndi.label(missing)
        lab[missing] = extra[missing] + lab.max()
    # drop watershed fragments below min_size
    sizes = np.bincount(lab.ravel())
    small = sizes < args.min_size
    small[0] = False
    lab[small[lab]] = 0
    lab, _, _ = segmentation.relabel_sequential(lab)
    return lab[None] if is2d else lab


def link(labels, args):
    """Track label stack and CTC tracks {track: [B, E, P]}."""
    T = labels.shape[0]
    out = np.zeros(labels.shape, np.uint16)
    tracks = {}
    cur = {}  # object label in the previous frame -> track id
    nxt_id = 1

    def start(t, parent):
        nonlocal nxt_id
        tid = nxt_id
        nxt_id += 1
        if tid > 65535:
            raise ValueError("more than 65535 tracks")
        tracks[tid] = [t, t, parent]
        return tid

    for t in range(T):
        lab = labels[t]
        n = int(lab.max())
        new = {}
        if t == 0 or not cur:
            for o in range(1, n + 1):
                new[o] = start(t, 0)
        else:
            prev = labels[t - 1]
            m = (lab > 0) & (prev > 0)
            area = np.bincount(lab.ravel(), minlength=n + 1)
            pairs = lab[m].astype(np.int64) * (int(prev.max()) + 1) + prev[m]
            cnt = np.bincount(pairs)
            ov = np.nonzero(cnt)[0]
            best = {}  # object -> (overlap, predecessor)
            for code in ov:
                o, q = divmod(int(code), int(prev.max()) + 1)
                c = int(cnt[code])
                if c >= args.min_overlap * area[o] and (o not in best or c > best[o][0]):
                    best[o] = (c, q)
            succ = {}
            for o, (c, q) in best.items():
                succ.setdefault(q, []).append(o)
            for o in range(1, n + 1):
                if area[o] == 0:
                    continue
                q = best.get(o, (0, 0))[1]
                if q and q in cur:
                    if len(succ[q]) == 1:
                        tid = cur[q]
                        tracks[tid][1] = t
                        new[o] = tid
                    else:
                        new[o] = start(t, cur[q])
                else:
                    new[o] = start(t, 0)
        for o, tid in new.items():
            out[t][lab == o] = tid
        cur = new
    return out, tracks


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
            labels = np.stack([segment(seq[t], args) for t in range(seq.shape[0])])
            out, tracks = link(labels, args)
            out = out.reshape(out_shape)
            tifffile.imwrite(os.path.join(args.outfolder, stem + ".tif"), out,
                             metadata={"axes": "TYX" if out.ndim == 3 else "TZYX"})
            with open(os.path.join(args.outfolder, stem + ".txt"), "w") as f:
                for tid in sorted(tracks):
                    b, e, p = tracks[tid]
                    f.write("%d %d %d %d\n" % (tid, b, e, p))
            ndiv = sum(1 for v in tracks.values() if v[2]) // 2
            log("%s: shape %s, %d objects in frame 0, %d tracks, ~%d divisions" %
                (stem, seq.shape, int(labels[0].max()), len(tracks), ndiv))
        except Exception as e:
            failed += 1
            log("%s: FAILED: %s" % (stem, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
