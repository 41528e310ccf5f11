"""Shared by make-training-set.py and segment.py: normalisation, the
background / interior / boundary classes of a label image, the reading of
inputs and the instance post-processing (the same as NucleiSegmentation-UNet)."""
import numpy
import scipy.ndimage as ndi
import tifffile
from skimage.segmentation import watershed, relabel_sequential


CANONICAL_RADIUS = 9.0  # nucleus radius (px) of the training images; inputs are rescaled to it
LOG_EPS = 0.02  # log mapping: x -> log(1 + x / eps) / log(1 + 1 / eps)


def normalise(img):
    """Percentile normalisation (1 %, 99.8 % -> 0, 1, any bit depth and
    exposure) followed by a log mapping log(1 + x/eps) / log(1 + 1/eps),
    eps = 0.02: bright nuclei stay near 1 while nuclei at 2-5 % of the full
    scale (dim nuclei of high dynamic range images) reach 0.2-0.35."""
    img = img.astype(numpy.float32)
    lo, hi = numpy.percentile(img, (1.0, 99.8))
    if hi <= lo:
        hi = lo + 1.0
    x = numpy.clip((img - lo) / (hi - lo), 0.0, None)
    return (numpy.log1p(x / LOG_EPS) / numpy.log1p(1.0 / LOG_EPS)).astype(numpy.float32)


def estimate_radius(img):
    """Typical nucleus radius (px) of a 2D image, or 0 if there is nothing to
    measure: the normalised (log-mapped) image, Gaussian sigma 2, is
    thresholded by Otsu, opened, holes filled; the radius is the median, over
    the connected components of at least 16 px, of the largest inscribed
    radius (maximum of the distance transform in the component). The
    inscribed radius is barely changed when touching nuclei merge into one
    component or when small fragments appear, unlike the area. On the
    visible data it gives 8-9 px for generated nuclei (true median
    equivalent radius 7.8-8.6), 12-13 for DSB2018 (11.8) and 26 for GOWT1
    (30, elongated nuclei)."""
    from skimage.filters import threshold_otsu
    y = ndi.gaussian_filter(normalise(img), 2.0)
    if y.max() <= y.min():
        return 0.0
    m = ndi.binary_fill_holes(ndi.binary_opening(y > threshold_otsu(y)))
    lab, n = ndi.label(m)
    if not n:
        return 0.0
    idx = numpy.arange(1, n + 1)
    area = ndi.sum(m, lab, idx)
    rin = ndi.maximum(ndi.distance_transform_edt(m), lab, idx)
    rin = rin[area >= 16]
    return float(numpy.median(rin)) if len(rin) else 0.0


def scale_factor(radius, shape):
    """The resize factor that brings nuclei of `radius` px to the canonical
    radius: 1 when the radius is unknown (0) or within 10 % of the canonical
    one, else clipped to [1/16, 4] and so that the image keeps >= 32 px."""
    if radius <= 0:
        return 1.0
    f = CANONICAL_RADIUS / radius
    if abs(numpy.log(f)) < numpy.log(1.1):
        return 1.0
    return float(numpy.clip(max(f, 32.0 / min(shape)), 1.0 / 16, 4.0))


def rescale(img, factor, order=1):
    """Resize a 2D array by `factor` (anti-aliased when shrinking; order 0
    for labels)."""
    from skimage.transform import resize
    shape = tuple(max(8, int(round(s * factor))) for s in img.shape)
    if order == 0:
        return resize(img, shape, order=0, preserve_range=True, anti_aliasing=False).astype(img.dtype)
    return resize(img.astype(numpy.float32), shape, order=order, preserve_range=True,
                  anti_aliasing=factor < 1).astype(numpy.float32)


def resize_to(img, shape):
    """Bilinear resize of a 2D float array to `shape`."""
    from skimage.transform import resize
    return resize(img, shape, order=1, preserve_range=True, anti_aliasing=False).astype(numpy.float32)


def targets(labels, width=1):
    """Labels -> classes: 0 background, 1 interior, 2 boundary (the object
    pixels within `width` 4-connected steps of another label or the
    background)."""
    lab = labels.astype(numpy.int64)
    h, w = lab.shape
    edge = numpy.zeros(lab.shape, bool)
    pad = numpy.pad(lab, 1, mode="edge")
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        edge |= pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] != lab
    for _ in range(width - 1):
        pe = numpy.pad(edge, 1)
        grown = edge.copy()
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            grown |= pe[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        edge = grown
    cls = numpy.zeros(lab.shape, numpy.int64)
    cls[lab > 0] = 1
    cls[(lab > 0) & edge] = 2
    return cls


def read_grey(path):
    """The image as (slices, Y, X) float32 plus the output shape (the input's
    shape without its channel axis, which is averaged)."""
    try:
        with tifffile.TiffFile(path) as tif:
            s = tif.series[0]
            axes, a = s.axes.upper(), s.asarray()
    except Exception:  # e.g. LZW without imagecodecs: Pillow reads 2D TIFFs
        from PIL import Image
        a = numpy.array(Image.open(path))
        axes = "YX" if a.ndim == 2 else "YXS"
    if len(axes) != a.ndim:
        axes = "YX" if a.ndim == 2 else "Z" * (a.ndim - 2) + "YX"
    if "C" in axes or "S" in axes:
        c = axes.index("C") if "C" in axes else axes.index("S")
        a = a.astype(numpy.float32).mean(axis=c)
    shape = a.shape
    return a.reshape((-1,) + a.shape[-2:]), shape


def instances(prob, seed_threshold=0.5, fg_threshold=0.5, min_seed=4, min_area=12):
    """Probabilities (3, ...) -> label image: connected components of the
    interior (p_interior > seed_threshold; components smaller than min_seed
    dropped) are the seeds; a watershed on -p_interior grows them into the
    foreground (p_interior + p_boundary > fg_threshold); objects smaller than
    min_area pixels are removed; labels 1..N."""
    interior, fg = prob[1], prob[1] + prob[2]
    seeds, n = ndi.label(interior > seed_threshold)
    if n:
        sizes = numpy.bincount(seeds.ravel())
        small = sizes < min_seed
        small[0] = False
        seeds[small[seeds]] = 0
    mask = (fg > fg_threshold) | (seeds > 0)
    lab = watershed(-interior, seeds, mask=mask)
    if lab.max():
        sizes = numpy.bincount(lab.ravel())
        small = sizes < min_area
        small[0] = False
        lab[small[lab]] = 0
    lab, _, _ = relabel_sequential(lab)
    return lab
