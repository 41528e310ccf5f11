#!/usr/bin/python3
"""The part of docs/real-data.md about one problem, from its runs in an
instance (bench/real-data calls it after `biaflows bench`):

  real-data-report.py BIAFLOWS INSTANCE PROBLEM DATASET_DIR IMG_DIR NAME

Prints (markdown) every run's mean of every metric of the class, the
held-out scores the learned workflows' training scripts measured
(workflows/*/heldout.json, entries for NAME), and draws the best run's
result on the dataset's first image into IMG_DIR/real-NAME.png
(bench/real-data-figure.py). DATASET_DIR holds images/ and groundtruth/ as
imported.
SPDX-License-Identifier: MIT
"""
import glob
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def bia(b, inst, *args):
    p = subprocess.run([b, "--instance", inst, *args], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit("biaflows %s: %s" % (" ".join(args), p.stderr.strip()))
    return json.loads(p.stdout)


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NaN"
    if isinstance(v, float) and abs(v) >= 1000:
        return "%.0f" % v
    return "%.4g" % v if isinstance(v, float) else str(v)


def stem_of(name):
    return name.split(".")[0]


def main(argv):
    if len(argv) != 6:
        sys.exit(__doc__)
    b, inst, problem, dsdir, imgdir, name = argv
    metrics = bia(b, inst, "metrics", "--list", "--format", "json")
    runs = bia(b, inst, "runs", "--problem", problem, "--format", "json")
    shows = [bia(b, inst, "runs", "show", str(r["id"]), "--format", "json") for r in runs]
    if not shows:
        print("No runs.\n")
        return 0
    cls = shows[0]["class"]
    codes = [m["code"] for m in metrics if m["class"] == cls]
    direction = {m["code"]: m["direction"] for m in metrics if m["class"] == cls}
    main_metric = shows[0]["main_metric"]
    print("Every metric of %s, mean over the images (%s: %s is better):" %
          (cls, main_metric, direction.get(main_metric, "higher")))
    print()
    print("| workflow | run | status | time (s) | " + " | ".join(codes) + " |")
    print("|---|---|---|---|" + "---|" * len(codes))
    best, bestkey = None, None
    for s in shows:
        agg = s.get("aggregate") or {}
        vals = [agg.get(c, {}).get("mean") if agg.get(c, {}).get("n_nan", 0) == 0 else float("nan")
                for c in codes]
        print("| %s | %d | %s | %s | %s |" % (s["workflow"], s["id"], s["status"], s["duration"],
                                            " | ".join(fmt(v) for v in vals)))
        m = agg.get(main_metric, {})
        v = m.get("mean")
        if s["status"] != "succeeded" or v is None or m.get("n_nan"):
            continue
        key = -v if direction.get(main_metric) == "higher" else v
        if bestkey is None or key < bestkey:
            best, bestkey = s, key
    print()
    held = []
    for path in sorted(glob.glob(os.path.join(ROOT, "workflows", "*", "heldout.json"))):
        entry = json.load(open(path)).get(name)
        if entry:
            held.append((os.path.basename(os.path.dirname(path)), entry))
    if held:
        print("Held-out scores of the learned workflows (measured by their training")
        print("scripts on images left out of training; see each workflow's README):")
        print()
        for w, e in held:
            ms = ", ".join("%s %s" % (k, fmt(v)) for k, v in e["metrics"].items())
            print("* %s: %s (%s)" % (w, ms, e["split"]))
        print()
    if best is None:
        return 0
    # the best run's first image with an output
    for img in best["images"]:
        outs = [o for o in img["outputs"] if not o["name"].endswith(".txt")]
        if img["status"] != "ok" or not outs:
            continue
        stem = img["stem"]
        ims = [f for f in os.listdir(os.path.join(dsdir, "images")) if stem_of(f) == stem]
        gts = [f for f in os.listdir(os.path.join(dsdir, "groundtruth"))
               if stem_of(f) == stem and not f.endswith((".txt", ".csv"))]
        if not ims or not gts:
            continue
        d = outs[0]["digest"]
        pred = os.path.join(inst, "blobs", "sha256", d[:2], d[2:])
        png = os.path.join(imgdir, "real-%s.png" % name)
        p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "real-data-figure.py"), cls,
                            os.path.join(dsdir, "images", ims[0]),
                            os.path.join(dsdir, "groundtruth", gts[0]), pred, png,
                            "%s: %s (magenta GT, green result)" % (stem, best["workflow"])],
                           capture_output=True, text=True)
        if p.returncode:
            print("(no picture: %s)\n" % p.stderr.strip().splitlines()[-1:])
            break
        print("![%s on %s](img/%s)" % (best["workflow"], stem, os.path.basename(png)))
        print()
        print("*%s, the best %s, on %s: ground truth magenta, result green.*" %
              (best["workflow"], main_metric, stem))
        print()
        break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
