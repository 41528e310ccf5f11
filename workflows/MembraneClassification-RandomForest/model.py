"""The two-stage (auto-context) random forest shared by classify.py and
make-training-set.py.

Stage 1: a forest on the per-pixel features (features.py) gives P1, the
membrane probability. Stage 2 ("auto-context", Tu & Bai 2010; ilastik's
autocontext workflow): a forest on the same features plus context features
of P1 (context() below) gives P2, the final membrane probability.
SPDX-License-Identifier: MIT
"""
import numpy
import scipy.ndimage as ndi
from sklearn.ensemble import RandomForestClassifier

from features import _eig2

# the forest hyper-parameters (used for the stored out-of-fold stage-1
# probabilities at training time and for the fit at start-up)
MIN_LEAF = 3


def forest(trees, seed):
    return RandomForestClassifier(n_estimators=trees, min_samples_leaf=MIN_LEAF, max_features="sqrt",
                                  n_jobs=1, random_state=seed)


def make_edges(rows, bins=256):
    """(N, F) float rows -> (F, bins - 1) float32 bin edges: the quantiles of
    each column (as LightGBM/XGBoost histogram methods do)."""
    q = numpy.linspace(0, 100, bins + 1)[1:-1]
    return numpy.percentile(rows, q, axis=0).T.astype(numpy.float32)


def binned(rows, edges):
    """(N, F) float rows -> (N, F) uint8 bin codes (0..len(edges[f]))."""
    cols = numpy.ascontiguousarray(rows.T)
    out = numpy.empty(cols.shape, numpy.uint8)
    for j in range(len(cols)):
        out[j] = numpy.searchsorted(edges[j], cols[j], side="right")
    return out.T


def dequantised(codes, edges):
    """(N, F) bin codes -> (N, F) float32 values: each bin's centre (the
    outer bins: half a neighbouring bin's width beyond the outer edges). The
    forests are fitted on these values and applied to the raw features, so a
    split between two bin centres falls close to the edge between them."""
    e = edges.astype(numpy.float64)
    lo = e[:, :1] - (e[:, 1:2] - e[:, :1]) / 2
    hi = e[:, -1:] + (e[:, -1:] - e[:, -2:-1]) / 2
    e = numpy.concatenate([lo, e, hi], axis=1)
    centres = ((e[:, 1:] + e[:, :-1]) / 2).astype(numpy.float32)  # (F, 256)
    return numpy.take_along_axis(centres.T, codes.astype(numpy.intp), axis=0)


def context(p):
    """(Y, X) probability map -> (Y, X, 22) float32 context features: p,
    its Gaussian smoothings (1, 2, 4, 8 px), Hessian eigenvalues and gradient
    magnitude at 1, 2, 4 px, and max/min filters over 3, 7, 15 px squares."""
    p = numpy.asarray(p, numpy.float32)
    out = [p]
    for s in (1, 2, 4, 8):
        out.append(ndi.gaussian_filter(p, s, mode="reflect"))
    for s in (1, 2, 4):
        hyy = ndi.gaussian_filter(p, s, order=(2, 0), mode="reflect")
        hxx = ndi.gaussian_filter(p, s, order=(0, 2), mode="reflect")
        hxy = ndi.gaussian_filter(p, s, order=(1, 1), mode="reflect")
        h1, h2 = _eig2(hxx * s * s, hxy * s * s, hyy * s * s)
        gy = ndi.gaussian_filter(p, s, order=(1, 0), mode="reflect")
        gx = ndi.gaussian_filter(p, s, order=(0, 1), mode="reflect")
        out += [h1, h2, s * numpy.hypot(gx, gy)]
    for k in (3, 7, 15):
        out += [ndi.maximum_filter(p, k, mode="reflect"), ndi.minimum_filter(p, k, mode="reflect")]
    return numpy.stack(out, axis=-1).astype(numpy.float32)


def proba(rf, f):
    """Membrane probability (class 1) of the (Y, X, F) feature image f."""
    shape = f.shape[:2]
    if 1 not in rf.classes_:
        return numpy.zeros(shape, numpy.float32)
    col = list(rf.classes_).index(1)
    rows = f.reshape(-1, f.shape[-1])
    out = numpy.empty(len(rows), numpy.float32)
    step = 1 << 18  # bounded memory for large images
    for a in range(0, len(rows), step):
        out[a:a + step] = rf.predict_proba(rows[a:a + step])[:, col]
    return out.reshape(shape)
