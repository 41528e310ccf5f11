#!/usr/bin/python3
"""Turn a membrane dataset (images/ + groundtruth/ masks where 0 = membrane,
as the ISBI 2012 EM labels) into a LooTrc dataset: the same images and, as
ground truth, the one-pixel skeleton of the membrane network (255 on the
skeleton, 0 elsewhere), as the LooTrc proxy's PROVENANCE.md prescribes.

  membrane-network.py SRC_DIR OUT_DIR

Images are linked, not copied; OUT_DIR must not exist.
SPDX-License-Identifier: MIT
"""
import os
import sys

import numpy as np
import tifffile
from PIL import Image
from skimage.morphology import skeletonize


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    src, out = argv
    os.makedirs(os.path.join(out, "images"))
    os.makedirs(os.path.join(out, "groundtruth"))
    for f in sorted(os.listdir(os.path.join(src, "groundtruth"))):
        stem = f.split(".")[0]
        gt = np.asarray(Image.open(os.path.join(src, "groundtruth", f)))
        if gt.ndim == 3:
            gt = gt[..., 0]
        tifffile.imwrite(os.path.join(out, "groundtruth", stem + ".tif"),
                         skeletonize(gt == 0).astype(np.uint8) * 255)
        for g in os.listdir(os.path.join(src, "images")):
            if g.split(".")[0] == stem:
                os.symlink(os.path.abspath(os.path.join(src, "images", g)),
                           os.path.join(out, "images", g))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
