"""Shared by make-training-set.py and segment.py: normalisation, the
background / interior / boundary classes of a label image, the reading of
inputs and the instance post-processing (the same as NucleiSegmentation-UNet)."""
import numpy
import scipy.ndimage as ndi
import tifffile
from skimage.segmentation import watershed, relabel_sequential


def normalise(img):
    """Percentile normalisation (1 %, 99.8 %) to about [0, 1]."""
    img = img.astype(numpy.float32)
    lo, hi = numpy.percentile(img, (1.0, 99.8))
    if hi <= lo:
        hi = lo + 1.0
    return (img - lo) / (hi - lo)


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
    with tifffile.TiffFile(path) as tif:
        s = tif.series[0]
        axes, a = s.axes.upper(), s.asarray()
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
