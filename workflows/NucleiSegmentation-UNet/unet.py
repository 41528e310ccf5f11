"""A small 2D U-Net (3 levels, 8-16-32 channels) predicting, per pixel, the
classes background (0), nucleus interior (1) and nucleus boundary (2), and the
post-processing that turns its probabilities into labelled nuclei.

Shared by train.py (training) and segment.py (inference)."""
import numpy
import scipy.ndimage as ndi
import torch
import torch.nn as nn
from skimage.segmentation import watershed, relabel_sequential

CHANNELS = (8, 16, 32)
NCLASSES = 3


def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Input (N, 1, H, W) with H, W multiples of 4 (2 poolings); output
    (N, 3, H, W) logits."""

    def __init__(self, channels=CHANNELS, nclasses=NCLASSES):
        super().__init__()
        c1, c2, c3 = channels
        self.enc1 = block(1, c1)
        self.enc2 = block(c1, c2)
        self.bottom = block(c2, c3)
        self.up2 = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.dec2 = block(2 * c2, c2)
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.dec1 = block(2 * c1, c1)
        self.head = nn.Conv2d(c1, nclasses, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(nn.functional.max_pool2d(e1, 2))
        b = self.bottom(nn.functional.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


CANONICAL_RADIUS = 9.0  # nucleus radius (px) of the training data; images are rescaled to it
LOG_EPS = 0.02  # log mapping: x -> log(1 + x / eps) / log(1 + 1 / eps)


def normalise(img):
    """Percentile normalisation (1 %, 99.8 % -> 0, 1, any bit depth and
    exposure) followed by a log mapping log(1 + x/eps) / log(1 + 1/eps),
    eps = 0.02, which keeps bright nuclei near 1 while lifting nuclei at
    2-5 % of the full scale (dim nuclei of high dynamic range images) to
    0.2-0.35, so the network sees them."""
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


def rescale(img, factor, order=1):
    """Resize a 2D array by `factor` (anti-aliased when shrinking; order 0
    for labels)."""
    from skimage.transform import resize
    shape = tuple(max(8, int(round(s * factor))) for s in img.shape)
    if order == 0:
        return resize(img, shape, order=0, preserve_range=True, anti_aliasing=False).astype(img.dtype)
    return resize(img.astype(numpy.float32), shape, order=order, preserve_range=True,
                  anti_aliasing=factor < 1).astype(numpy.float32)


def targets(labels, width=2):
    """Ground-truth labels -> classes: 0 background, 1 interior, 2 boundary
    (the object pixels within `width` 4-connected steps of another label or
    the background)."""
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


def predict(model, img2d):
    """Class probabilities (3, H, W) of one normalised 2D image; pads
    (reflect) to a multiple of 8."""
    h, w = img2d.shape
    ph, pw = (-h) % 8, (-w) % 8
    x = numpy.pad(img2d, ((0, ph), (0, pw)), mode="reflect" if min(h, w) > max(ph, pw) else "edge")
    with torch.no_grad():
        t = torch.from_numpy(numpy.ascontiguousarray(x, numpy.float32))[None, None]
        p = torch.softmax(model(t), 1)[0].numpy()
    return p[:, :h, :w]


def instances(prob, seed_threshold=0.5, fg_threshold=0.5, min_seed=4, min_area=12):
    """Probabilities (3, H, W) -> label image: connected components of the
    interior (p_interior > seed_threshold, components smaller than min_seed
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
