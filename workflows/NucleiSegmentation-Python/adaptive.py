"""The image-adaptive nuclei segmentation of NucleiSegmentation-Python
(threshold_method=auto, 2D): every length comes from the nucleus radius
estimated on the image, every threshold from the image's own histogram or
from each nucleus's own brightness, so 8- and 16-bit, dim and bright, small
and large nuclei need no tuning.

 1. Radius r: the area-weighted median inscribed radius of the components
    of an Otsu mask, which neither a clump of touching nuclei nor a crowd of
    bright specks distorts.
 2. Smoothing: a Gaussian of sigma r/8 for detection (a dim, noisy nucleus
    stays in one piece), of sigma r/24 (at least 0.7 px) for the outlines.
 3. Detection: the image is mapped to log intensity above its 0.5 %
    percentile (a dim nucleus next to a 30x brighter one still stands out),
    its background (a grey opening of radius 1.5 r, computed on a
    subsampled copy) is subtracted, and the difference is thresholded by the
    triangle method (but at least 2 robust SDs above its median); holes
    filled, specks below 0.1 pi r^2 dropped.
 4. Splitting: a component whose solidity (after an opening of radius r/4,
    so a ragged edge is no concavity) is below `solidity` (touching nuclei
    make concave outlines) is cut by a watershed seeded at the peaks
    (at least 0.6 r apart) of distance-to-edge x smoothed intensity; a
    convex one larger than two typical nuclei (2 pi r^2) is cut the same
    way only if the cut runs along a valley of intensity.
 5. Outline: each nucleus is grown (watershed on the intensity) into a band
    of r/3 around its detection and kept where its background-subtracted
    intensity exceeds `boundary` x its own median: a bright and a dim
    nucleus get their edge at the same relative height.
 6. Nuclei smaller than 0.15 pi r^2, or whose mean is not `min_contrast`
    times the background (median of the rest) above the dark level, go.
SPDX-License-Identifier: MIT
"""
import numpy as np
from scipy import ndimage as ndi
from skimage import filters, measure, morphology, segmentation
from skimage.feature import peak_local_max
from skimage.transform import resize


# the detection threshold is at least KN robust SDs (1.4826 MAD) above the
# median of the background-subtracted log image: the triangle method alone
# falls into the noise when nuclei cover much of a noisy image
KN = 2
# a convex object larger than two typical nuclei is cut only where the cut
# is dimmer than VALLEY x the median of its parts (in the smoothed contrast)
VALLEY = 0.9


def estimate_radius(img):
    """Typical nucleus radius (pixels) of a 2D image: the area-weighted
    median of the inscribed radii (largest distance to the edge) of the
    components of an Otsu mask. The inscribed radius of a clump of touching
    nuclei is still about one nucleus's, unlike its area; weighting by area
    keeps a few nuclei among many bright specks (debris, nucleoli) from being
    outvoted."""
    sm = filters.gaussian(img, 1, preserve_range=True)
    mask = ndi.binary_fill_holes(sm > filters.threshold_otsu(sm))
    comps = measure.label(mask)
    if comps.max() == 0:
        return 8.0
    areas = np.bincount(comps.ravel())[1:]
    inscribed = np.asarray(ndi.maximum(ndi.distance_transform_edt(mask), comps,
                                       np.arange(1, comps.max() + 1)))
    keep = areas >= 16
    if not keep.any():
        return 8.0
    areas, inscribed = areas[keep], inscribed[keep]
    order = np.argsort(inscribed)
    half = np.searchsorted(np.cumsum(areas[order]), areas.sum() / 2)
    return float(max(2.0, inscribed[order][half]))


def background(logimg, r):
    """Grey opening of radius 1.5 r, computed on a copy subsampled by about
    r/6 (the background is smooth at that scale) and smoothed."""
    k = max(1, int(r // 6))
    small = logimg[::k, ::k]
    rad = max(2, int(round(1.5 * r / k)))
    pad = 2 * rad  # reflected, so the image edge is no cliff
    b = morphology.opening(np.pad(small, pad, mode="reflect"), morphology.disk(rad))
    b = filters.gaussian(b, rad / 2, preserve_range=True)[pad:-pad, pad:-pad]
    return resize(b, logimg.shape, order=1, preserve_range=True)


def split(mask, r, solidity, intensity):
    """Label the components of mask, cutting the concave ones (solidity below
    `solidity`) by a watershed from the peaks of distance x intensity."""
    comps = measure.label(mask)
    out = np.zeros(mask.shape, np.int32)
    n = 0
    for reg in measure.regionprops(comps):
        sl, m = reg.slice, reg.image
        # the solidity of the outline opened by a disk of r/4: a ragged edge
        # (a dim, noisy nucleus) is not a concavity
        mo = morphology.binary_opening(np.pad(m, 2), morphology.disk(max(1, int(r / 4))))
        sol = measure.regionprops(mo.astype(np.uint8))[0].solidity if mo.any() else 1.0
        big = reg.area > 2 * np.pi * r * r
        if sol >= solidity and not big:
            n += 1
            out[sl][m] = n
            continue
        d = ndi.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]
        iv = intensity[sl]
        iv = (iv - iv[m].min()) / (np.ptp(iv[m]) + 1e-12)
        seedmap = np.minimum(d / r, 1.0) * iv
        peaks = peak_local_max(seedmap, min_distance=max(1, int(0.6 * r)),
                               labels=m.astype(np.int32), exclude_border=False)
        if len(peaks) <= 1:
            n += 1
            out[sl][m] = n
            continue
        markers = np.zeros(m.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        w = segmentation.watershed(-seedmap, markers, mask=m)
        if sol >= solidity:
            cut = segmentation.find_boundaries(w, connectivity=1, mode="inner", background=0) & m
            inner = ndi.grey_erosion(np.where(m, w, 0), size=3) > 0
            cut &= inner
            if not cut.any() or np.mean(iv[cut]) > VALLEY * np.median(iv[m & ~cut]):
                n += 1
                out[sl][m] = n
                continue
        for k in range(1, w.max() + 1):
            n += 1
            out[sl][w == k] = n
    return out


def segment(img, radius=0.0, boundary=0.5, min_contrast=0.9, solidity=0.9):
    """Label image of the nuclei of a 2D image (float array)."""
    img = np.asarray(img, np.float64)
    lo, hi = np.percentile(img, [0.5, 99.9])
    if hi <= lo:
        return np.zeros(img.shape, np.int32), 0.0
    r = radius if radius > 0 else estimate_radius(img)
    sm = filters.gaussian(img, max(0.7, r / 24), preserve_range=True)
    # detection in log intensity over a smooth background
    smd = filters.gaussian(img, max(0.7, r / 8), preserve_range=True)
    logimg = np.log1p(np.maximum(smd - lo, 0) / (hi - lo) * 255)
    bglog = background(logimg, r)
    contrast = logimg - bglog
    med = np.median(contrast)
    noise = 1.4826 * np.median(np.abs(contrast - med))
    det = contrast > max(filters.threshold_triangle(contrast), med + KN * noise)
    det = morphology.remove_small_objects(det, max(1, int(0.1 * np.pi * r * r)))
    det = ndi.binary_fill_holes(det)
    lab = split(det, r, solidity, filters.gaussian(contrast, max(1.0, r / 4), preserve_range=True))
    # outline of each nucleus at `boundary` of its own median height
    above = sm - (np.expm1(bglog) / 255 * (hi - lo) + lo)
    band = ndi.binary_dilation(det, iterations=max(1, int(r / 3)))
    grown = segmentation.watershed(-sm, lab, mask=band)
    out = np.zeros(lab.shape, np.int32)
    for i, sl in enumerate(ndi.find_objects(grown), 1):
        if sl is None:
            continue
        core = lab[sl] == i
        if not core.any():
            continue
        m = ndi.binary_fill_holes((grown[sl] == i) & (above[sl] > boundary * np.median(above[sl][core])))
        parts = measure.label(m)
        if parts.max() > 1:  # keep the part holding most of the detection
            cnt = np.bincount(parts[core & m] if (core & m).any() else parts.ravel())
            cnt[0] = 0
            m = parts == cnt.argmax()
        out[sl][m] = i
    out = morphology.remove_small_objects(out, max(1, int(0.15 * np.pi * r * r)))
    # contrast against the background: the mean must stand min_contrast x
    # (background - dark level) above the background
    bg = np.median(sm[out == 0]) if (out == 0).any() else lo
    for reg in measure.regionprops(out, intensity_image=sm):
        if reg.mean_intensity - bg < min_contrast * (bg - lo + 1e-12):
            out[reg.slice][reg.image] = 0
    lab, _, _ = segmentation.relabel_sequential(out)
    return lab, r
