"""ilastik-like pixel features (Sommer et al. 2011). For each scale sigma:
the Gaussian smoothing of every channel, and on the luminance (the channel
mean; the image itself when grey): gradient magnitude, Laplacian of
Gaussian, the two eigenvalues of the Hessian of Gaussian and the two
eigenvalues of the structure tensor (inner scale sigma, outer scale 2 sigma).
Colour images (C = 3): 5 scales x (3 + 6) = 45 features; grey: 5 x 7 = 35."""
import numpy
import scipy.ndimage as ndi

SIGMAS = (0.7, 1.6, 3.5, 5.0, 10.0)


def _eig2(a, b, c):
    """Eigenvalues (larger, smaller) of the symmetric 2x2 matrices [[a, b], [b, c]]."""
    m = (a + c) / 2
    d = numpy.sqrt(((a - c) / 2) ** 2 + b * b)
    return m + d, m - d


def texture(img, s):
    """The six derivative features of a 2D float32 image at scale s."""
    gy = ndi.gaussian_filter(img, s, order=(1, 0))
    gx = ndi.gaussian_filter(img, s, order=(0, 1))
    hyy = ndi.gaussian_filter(img, s, order=(2, 0))
    hxx = ndi.gaussian_filter(img, s, order=(0, 2))
    hxy = ndi.gaussian_filter(img, s, order=(1, 1))
    h1, h2 = _eig2(hxx, hxy, hyy)
    s1, s2 = _eig2(ndi.gaussian_filter(gx * gx, 2 * s), ndi.gaussian_filter(gx * gy, 2 * s),
                   ndi.gaussian_filter(gy * gy, 2 * s))
    return [numpy.hypot(gx, gy), hxx + hyy, h1, h2, s1, s2]


def features(img):
    """img: (C, Y, X) float32 (C = 1 or 3) -> (Y*X, F) float32 rows."""
    lum = img.mean(axis=0)
    feats = []
    for s in SIGMAS:
        feats += [ndi.gaussian_filter(img[c], s) for c in range(img.shape[0])]
        feats += texture(lum, s)
    return numpy.stack(feats, axis=-1).reshape(-1, len(feats)).astype(numpy.float32)
