#!/usr/bin/python3
"""ParticleTracking-Python: detect spots in every frame of a 2D or 3D time
sequence and link them into tracks.

  detection: Laplacian of Gaussian, local maxima above median + k * MAD-sigma
             (sub-pixel position: intensity-weighted centroid of the 3x3(x3) patch)
  linking:   frame by frame, an optimal assignment (Hungarian algorithm,
             scipy.optimize.linear_sum_assignment) between the live tracks and
             the detections of the frame, within max_dist (grown with the gap),
             a track may skip up to max_gap frames (gap closing); positions of
             the skipped frames are interpolated linearly
  output:    a label stack of the input's shape, one pixel per track per frame,
             label = track id 1..N in order of first appearance

BIAFLOWS local mode: --infolder IN --outfolder OUT (other flags ignored).
"""
import argparse
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage as ndi
from scipy.optimize import linear_sum_assignment


def log(msg):
    print("[ParticleTracking] " + msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--infolder", default="/data/in")
    p.add_argument("--outfolder", default="/data/out")
    p.add_argument("--gtfolder", default="/data/gt")
    p.add_argument("--local", action="store_true")
    p.add_argument("-nmc", "--no_metrics_computation", action="store_true")
    p.add_argument("--spot_sigma", type=float, default=2.0,
                   help="LoG scale (px), about the spot radius / sqrt(2)")
    p.add_argument("--threshold", type=float, default=5.0,
                   help="detection threshold: LoG response above median + k * MAD-sigma")
    p.add_argument("--min_spacing", type=int, default=3,
                   help="minimum distance between two detections of a frame (px)")
    p.add_argument("--max_dist", type=float, default=6.0,
                   help="largest displacement between consecutive frames (px)")
    p.add_argument("--max_gap", type=int, default=3,
                   help="frames a track may skip (blinking particles); 0 = no gap closing")
    p.add_argument("--min_length", type=int, default=2,
                   help="tracks with fewer detections are dropped as spurious")
    p.add_argument("--use_velocity", type=str, default="true",
                   help="predict the next position from the last displacement (directed motion)")
    args, unknown = p.parse_known_args(argv)
    if unknown:
        log("ignoring unknown arguments: %s" % " ".join(unknown))
    args.use_velocity = str(args.use_velocity).lower() in ("1", "true", "yes")
    return args


def read_sequence(path):
    """Return a (T, Z, Y, X) float array (Z = 1 for 2D sequences)."""
    with tifffile.TiffFile(path) as t:
        s = t.series[0]
        a = s.asarray()
        axes = s.axes
    for ax in ("C", "S"):
        if ax in axes:
            i = axes.index(ax)
            a = a.mean(axis=i)
            axes = axes[:i] + axes[i + 1:]
    a = np.asarray(a, dtype=np.float64)
    # we read T first; any other leading axis (I, Q...) is treated as T when no T is given
    if "T" in axes:
        a = np.moveaxis(a, axes.index("T"), 0)
        axes = "T" + axes.replace("T", "")
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 2:
        a = a[None, None]
    if a.ndim != 4:
        raise ValueError("%s: unexpected shape %s (axes %s)" % (path, a.shape, axes))
    return a


def detect(frame, args):
    """Spots of one (Z, Y, X) frame as an (N, 3) array of float z, y, x."""
    is2d = frame.shape[0] == 1
    img = frame[0] if is2d else frame
    sig = args.spot_sigma if is2d else (args.spot_sigma * 2, args.spot_sigma, args.spot_sigma)
    r = -ndi.gaussian_laplace(img, sig)
    med = np.median(r)
    sd = 1.4826 * np.median(np.abs(r - med)) + 1e-12
    size = 2 * args.min_spacing + 1
    mx = ndi.maximum_filter(r, size=size, mode="nearest")
    peaks = np.argwhere((r == mx) & (r > med + args.threshold * sd))
    out = []
    w = np.maximum(r - med, 0)
    for p in peaks:
        sl = tuple(slice(max(c - 1, 0), min(c + 2, n)) for c, n in zip(p, r.shape))
        patch = w[sl]
        grid = np.mgrid[sl]
        tot = patch.sum()
        c = [float((g * patch).sum() / tot) if tot > 0 else float(pc) for g, pc in zip(grid, p)]
        out.append(c)
    out = np.asarray(out, float).reshape(-1, img.ndim)
    if is2d:
        out = np.concatenate([np.zeros((len(out), 1)), out], axis=1)
    return out


class Track:
    def __init__(self, t, pos):
        self.points = {t: pos}
        self.last_t = t
        self.vel = np.zeros(3)
        self.n_det = 1

    def predict(self, t, use_velocity):
        last = self.points[self.last_t]
        if not use_velocity:
            return last
        return last + self.vel * (t - self.last_t)

    def add(self, t, pos):
        prev_t = self.last_t
        prev = self.points[prev_t]
        # fill the gap frames by linear interpolation
        for k in range(prev_t + 1, t):
            f = (k - prev_t) / (t - prev_t)
            self.points[k] = prev + f * (pos - prev)
        self.vel = (pos - prev) / (t - prev_t)
        self.points[t] = pos
        self.last_t = t
        self.n_det += 1


def link(dets, args):
    """Frame-to-frame optimal assignment with gap closing."""
    BIG = 1e9
    live, done = [], []
    for t, d in enumerate(dets):
        # tracks that can still be continued at frame t
        still = []
        for tr in live:
            if t - tr.last_t - 1 > args.max_gap:
                done.append(tr)
            else:
                still.append(tr)
        live = still
        used = np.zeros(len(d), bool)
        if live and len(d):
            cost = np.full((len(live), len(d)), BIG)
            for i, tr in enumerate(live):
                gap = t - tr.last_t  # 1 = consecutive frames
                pred = tr.predict(t, args.use_velocity)
                dist = np.sqrt(((d - pred) ** 2).sum(axis=1))
                # without a velocity estimate (new track) the plain distance is used
                if args.use_velocity and len(tr.points) > 1:
                    dist0 = np.sqrt(((d - tr.points[tr.last_t]) ** 2).sum(axis=1))
                    dist = np.minimum(dist, dist0)
                gate = args.max_dist * np.sqrt(gap)
                ok = dist <= gate
                # prefer continuing a track now over bridging a longer gap
                cost[i, ok] = dist[ok] + 0.5 * args.max_dist * (gap - 1)
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows, cols):
                if cost[i, j] < BIG:
                    live[i].add(t, d[j])
                    used[j] = True
        for j in np.nonzero(~used)[0]:
            live.append(Track(t, d[j]))
    done.extend(live)
    return done


def render(tracks, shape, args):
    """Label stack (T, Z, Y, X): one pixel per track per frame."""
    T, Z, Y, X = shape
    out = np.zeros(shape, np.uint16)
    tracks = sorted(tracks, key=lambda tr: (min(tr.points), tuple(tr.points[min(tr.points)])))
    lab = 0
    for tr in tracks:
        lab += 1
        for t in sorted(tr.points):
            z, y, x = np.rint(tr.points[t]).astype(int)
            z, y, x = min(max(z, 0), Z - 1), min(max(y, 0), Y - 1), min(max(x, 0), X - 1)
            if out[t, z, y, x]:
                # two particles on one pixel: take the nearest free pixel
                best = None
                for dz in range(-1 if Z > 1 else 0, 2 if Z > 1 else 1):
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            zz, yy, xx = z + dz, y + dy, x + dx
                            if 0 <= zz < Z and 0 <= yy < Y and 0 <= xx < X and not out[t, zz, yy, xx]:
                                dd = dz * dz + dy * dy + dx * dx
                                if best is None or dd < best[0]:
                                    best = (dd, zz, yy, xx)
                if best is None:
                    continue
                z, y, x = best[1:]
            out[t, z, y, x] = lab
    return out


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
            with tifffile.TiffFile(os.path.join(args.infolder, name)) as tf:
                in_shape = tf.series[0].shape
                in_axes = tf.series[0].axes
            seq = read_sequence(os.path.join(args.infolder, name))
            dets = [detect(seq[t], args) for t in range(seq.shape[0])]
            tracks = link(dets, args)
            tracks = [tr for tr in tracks if tr.n_det >= args.min_length]
            lab = render(tracks, seq.shape, args)
            if seq.shape[1] == 1:
                lab = lab[:, 0]
            tifffile.imwrite(os.path.join(args.outfolder, stem + ".tif"), lab,
                             metadata={"axes": "TYX" if lab.ndim == 3 else "TZYX"})
            log("%s: %s %s, %d detections, %d tracks" % (stem, in_axes, in_shape,
                                                      sum(len(d) for d in dets), int(lab.max())))
        except Exception as e:
            failed += 1
            log("%s: FAILED: %s" % (stem, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
