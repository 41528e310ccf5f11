"""ilastik-like per-pixel features for membrane (thin dark ridge) detection.

For each scale sigma in SIGMAS, on the percentile-normalised grey image:
Gaussian smoothing, gradient magnitude, Laplacian of Gaussian, the two
eigenvalues of the Hessian of Gaussian and the difference of Gaussians
G(sigma) - G(next sigma) (G(1.6 sigma) for the last); plus the raw
intensity (1 + 6 x 7 = 43 features). (The structure-tensor eigenvalues,
tried too, added nothing measurable on held-out slices.) Derivatives are scale-normalised (times sigma^order), so that all
features have similar magnitudes (they are stored as float16). All float32.
SPDX-License-Identifier: MIT
"""
import numpy
import scipy.ndimage as ndi

SIGMAS = (0.7, 1.0, 1.6, 2.5, 3.5, 5.0, 10.0)
PER_SCALE = ("gauss", "gradmag", "log", "hess1", "hess2", "dog")


def names():
    return ["raw"] + ["%s_%g" % (f, s) for s in SIGMAS for f in PER_SCALE]


def normalise(img, lo=1.0, hi=99.0):
    """Any 2D grey image (8/16 bit, float) -> float32, its lo/hi percentiles
    mapped to 0/1."""
    img = numpy.asarray(img, numpy.float32)
    a, b = numpy.percentile(img, (lo, hi))
    return (img - a) / max(float(b - a), 1e-6)


def _eig2(a, b, c):
    """Eigenvalues (larger, smaller) of the symmetric 2x2 matrices [[a, b], [b, c]]."""
    m = (a + c) / 2
    d = numpy.sqrt(((a - c) / 2) ** 2 + b * b)
    return m + d, m - d


def features(img):
    """img: (Y, X) float32 normalised -> (Y, X, F) float32."""
    img = numpy.asarray(img, numpy.float32)
    out = [img]
    g1d = ndi.gaussian_filter1d
    ders = []
    for s in SIGMAS:  # separable Gaussian derivatives, the Y passes shared
        y0, y1, y2 = (g1d(img, s, axis=0, order=o, mode="reflect") for o in (0, 1, 2))
        ders.append((g1d(y0, s, axis=1, mode="reflect"), g1d(y1, s, axis=1, mode="reflect"),
                     g1d(y0, s, axis=1, order=1, mode="reflect"), g1d(y2, s, axis=1, mode="reflect"),
                     g1d(y0, s, axis=1, order=2, mode="reflect"), g1d(y1, s, axis=1, order=1, mode="reflect")))
    gs = [d[0] for d in ders] + [ndi.gaussian_filter(img, 1.6 * SIGMAS[-1], mode="reflect")]
    for k, s in enumerate(SIGMAS):
        g, gy, gx, hyy, hxx, hxy = ders[k]
        gx *= s
        gy *= s
        h1, h2 = _eig2(hxx * s * s, hxy * s * s, hyy * s * s)
        out += [g, numpy.hypot(gx, gy), h1 + h2, h1, h2, g - gs[k + 1]]
    return numpy.stack(out, axis=-1).astype(numpy.float32)
