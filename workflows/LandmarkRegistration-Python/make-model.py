#!/usr/bin/python3
"""Build the reference models of LandmarkRegistration-Python (deterministic).

  python3 make-model.py [--real DIR] [--biaflows BIN] [--only lung|wing]
                        [--stems He,CD31] [--outdir DIR]

lung: for each stain of the CIMA lung-lesion_3 set (He, CD31, Cc10) in
  $BIAFLOWS_REAL_DATA/LndDet/CIMA_lung-lesion_3_histology_landmarks_PROXY
  (default ../../../shared/data/real relative to this folder), the tissue
  mask at half resolution (2x2 block fraction, uint8) and its 80 landmarks
  (row, col, full-resolution pixels, from groundtruth/<stem>.csv).
wing: the same from synthetic images made by `biaflows gen LndDet` (seed 1000,
  a different seed from the test), 10 landmarks read from the ground-truth masks.
Writes model/<name>.npz (numpy arrays + a JSON registration config).
SPDX-License-Identifier: MIT
"""
import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import tifffile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lndreg  # noqa: E402

LUNG = "LndDet/CIMA_lung-lesion_3_histology_landmarks_PROXY"
LUNG_CFG = {}  # lndreg.DEFAULTS are tuned for these 660 x 892 sections
WING_CFG = {"coarse_factor": 2, "coarse_sigma": 1.0, "max_rotation": 30.0, "rotation_step": 3.0,
            "scales": [0.8, 0.9, 1.0, 1.1, 1.25], "affine_factors": [2, 1],
            "affine_sigmas": [1.0, 1.0], "nonrigid": True, "block_factor": 1, "block_sigma": 1.0,
            "block_half": 8, "block_spacing": 4, "block_search": 4, "field_sigma": 8.0,
            "base": 1, "feature": "od"}


def read_image(path):
    return lndreg.to_rgb_or_grey(lndreg.read_image(path))


OUTDIR = os.path.join(HERE, "model")


def save(name, tissues, landmarks, cfg, source):
    arrays = {"n_refs": np.array(len(tissues)), "config": np.array(json.dumps(cfg)),
              "source": np.array(source)}
    for i, (t, lm) in enumerate(zip(tissues, landmarks)):
        arrays["tissue_%d" % i] = np.round(t * 255).astype(np.uint8)
        arrays["landmarks_%d" % i] = np.asarray(lm, np.float32)
    os.makedirs(OUTDIR, exist_ok=True)
    path = os.path.join(OUTDIR, name + ".npz")
    np.savez_compressed(path, **arrays)
    print("wrote %s (%d references, %d bytes)" % (path, len(tissues), os.path.getsize(path)))


def lung(real, stems=None):
    root = os.path.join(real, LUNG)
    tissues, lms, used = [], [], []
    for img in sorted(glob.glob(os.path.join(root, "images", "*.jpg"))):
        stem = os.path.basename(img).split(".")[0]
        if stems and not any(s in stem for s in stems):
            continue
        with open(os.path.join(root, "groundtruth", stem + ".csv")) as f:
            rows = sorted((int(r["landmark"]), float(r["Y"]), float(r["X"])) for r in csv.DictReader(f))
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), stem
        cfg = dict(lndreg.DEFAULTS, **LUNG_CFG)
        tissues.append(lndreg.base_map(read_image(img), cfg))
        lms.append([[r[1], r[2]] for r in rows])
        used.append(stem)
    if not used:
        sys.exit("no lung images under " + root)
    save("lung", tissues, lms, LUNG_CFG, "CIMA lung-lesion_3: " + ", ".join(used))


def wing(biaflows):
    tmp = tempfile.mkdtemp(prefix="lndreg-gen-")
    try:
        out = os.path.join(tmp, "gen")
        subprocess.run([biaflows, "gen", "LndDet", out, "--n", "8", "--size", "128x128",
                        "--seed", "1000", "--difficulty", "medium"], check=True,
                       stdout=subprocess.DEVNULL)
        tissues, lms = [], []
        cfg = dict(lndreg.DEFAULTS, **WING_CFG)
        for img in sorted(glob.glob(os.path.join(out, "images", "*.tif"))):
            gt = tifffile.imread(os.path.join(out, "groundtruth", os.path.basename(img)))
            n = int(gt.max())
            pts = [np.argwhere(gt == k).mean(axis=0) for k in range(1, n + 1)]
            tissues.append(lndreg.base_map(read_image(img), cfg))
            lms.append(pts)
        save("wing", tissues, lms, WING_CFG, "biaflows gen LndDet --n 8 --size 128x128 --seed 1000")
    finally:
        shutil.rmtree(tmp)


def main():
    global OUTDIR
    repo = os.path.dirname(os.path.dirname(HERE))
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--real", default=os.environ.get("BIAFLOWS_REAL_DATA",
                                                    os.path.join(repo, "..", "shared", "data", "real")))
    p.add_argument("--biaflows", default=os.environ.get("BIAFLOWS", os.path.join(repo, "build", "biaflows")))
    p.add_argument("--only", choices=["lung", "wing"])
    p.add_argument("--stems", default="", help="comma-separated substrings: lung stains to use (default all)")
    p.add_argument("--outdir", default=None, help="where to write <name>.npz (default model/)")
    a = p.parse_args()
    OUTDIR = a.outdir or OUTDIR
    if a.only in (None, "lung"):
        lung(a.real, [s for s in a.stems.split(",") if s])
    if a.only in (None, "wing"):
        wing(a.biaflows)


if __name__ == "__main__":
    main()
