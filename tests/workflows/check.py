#!/usr/bin/python3
"""Test one built-in workflow: generate its test dataset, run it through
`biaflows exec`, and check its main metric against the level it measurably
achieves (workflows/<Name>/test.json) and against trivial baselines computed
in the same test.

  check.py BIAFLOWS WORKFLOW_DIR TMPDIR

test.json:
  {"class": "ObjSeg",
   "gen": ["--n", "3", "--size", "128x128", "--seed", "21"],   (biaflows gen args)
   "params": ["name=value", ...],                              (optional)
   "measured": 0.71,          what the workflow scored when it was tuned
   "baselines": {"empty": "mAP", "full": "mAP"}                (optional)
   "real": {                                                   (optional)
     "dir": "ObjSeg/CTC_Fluo-N2DH-GOWT1_SEG_seq01",  a dataset of the real data
     "layout": "points",        converted first (convert_real of
                                scripts/real-datasets.sh)
     "stems": ["01_t021"],      the images used (default: all)
     "crop": [y0, y1, x0, x1],  the part of each image and mask used (optional)
     "measured": 0.74}          what the workflow scored on exactly that
  }

With "real", the workflow also runs on that small piece of a real dataset
(../shared/data/real, or $BIAFLOWS_REAL_DATA) and must reach 80 % of its
measured level there too and beat the empty baseline; without the real data
on the machine that check is skipped (reported as "ok - # SKIP").

The bound is 80 % of `measured` for metrics where higher is better, and
`measured` / 0.8 for metrics where lower is better. A baseline is beaten when
the workflow is strictly better on the named metric (default: the class's
main metric); NaN is the worst possible value. Prints TAP-like lines
("ok - ..." / "not ok - ...") for tests/workflows/t_workflows.sh.
"""
import json, math, os, shutil, subprocess, sys

import numpy
import tifffile

MAIN = {"ObjSeg": "mAP", "SptCnt": "REC", "ObjDet": "F1", "PixCla": "F1",
        "TreTrc": "TF1", "LooTrc": "F1", "LndDet": "MRE", "PrtTrk": "FNPSB",
        "ObjTrk": "TRA"}

results = []


def report(ok, desc, detail=""):
    results.append(ok)
    print(("ok - " if ok else "not ok - ") + desc)
    if not ok and detail:
        for line in str(detail).splitlines()[:30]:
            print("#   " + line)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def directions(bia):
    rc, out, err = run([bia, "metrics", "--list", "--format", "json"])
    if rc:
        sys.exit("metrics --list failed: " + err)
    return {(m["class"], m["code"]): m["direction"] for m in json.loads(out)}


def worse(value, direction):
    """A sort key where larger means worse; NaN is the worst."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.inf
    return -value if direction == "higher" else value


def mean_of(report_json, metric):
    agg = report_json["aggregate"].get(metric)
    if agg is None or agg["n_nan"] or agg["mean"] is None:
        return float("nan")
    return agg["mean"]


def full_baseline(cls, gtdir, outdir):
    """The all-foreground prediction of every ground-truth file, or None
    when the class has none (TreTrc: a tree is not a mask)."""
    os.makedirs(outdir)
    for name in sorted(os.listdir(gtdir)):
        path = os.path.join(gtdir, name)
        stem = name.split(".")[0]
        if cls == "TreTrc":
            return None
        if name.endswith(".txt"):
            continue
        gt = tifffile.imread(path)
        if cls == "LndDet":
            # every landmark at the image centre: the "mean shape" guess
            pred = numpy.zeros(gt.shape, numpy.uint16)
            k = int(gt.max())
            ys, xs = gt.shape[0] // 2, gt.shape[1] // 2
            for lab in range(1, k + 1):
                y = ys + (lab - 1) // 64
                x = xs + (lab - 1) % 64
                pred[min(y, gt.shape[0] - 1), min(x, gt.shape[1] - 1)] = lab
        elif cls == "PrtTrk":
            return None
        else:
            pred = numpy.ones(gt.shape, numpy.uint16 if gt.dtype != numpy.uint8 else numpy.uint8)
        tifffile.imwrite(os.path.join(outdir, stem + ".tif"), pred)
        if cls == "ObjTrk":
            t = gt.shape[0]
            with open(os.path.join(outdir, stem + ".txt"), "w") as f:
                f.write("1 0 %d 0\n" % (t - 1))
    return outdir


def check_level(what, metric, value, direction, measured):
    """The value must reach 80 % of the measured level (lower is better:
    at most measured / 0.8); NaN never does."""
    bound = 0.8 * measured if direction == "higher" else measured / 0.8
    good = value >= bound if direction == "higher" else value <= bound
    report(good and not math.isnan(value),
           "%s: %s = %.4f, %s than the bound %.4f (80%% of the measured %.4f)" %
           (what, metric, value, "higher" if direction == "higher" else "lower", bound, measured))


def beats_baseline(bia, cls, bdir, gt, res, metric, dirs, what, base):
    """The workflow's result `res` must be strictly better on `metric` than
    the baseline predictions in bdir (missing files scored as empty)."""
    rc, bout, berr = run([bia, "metrics", cls, bdir, gt, "--missing-as-empty", "--format", "json"])
    if rc:
        report(False, "%s: score the %s baseline" % (what, base), berr)
        return
    bval = mean_of(json.loads(bout), metric)
    wval = mean_of(res, metric)
    d = dirs[(cls, metric)]
    report(worse(wval, d) < worse(bval, d),
           "%s: beats the %s baseline on %s (%.4f vs %.4f)" % (what, base, metric, wval, bval))


def real_dir():
    env = os.environ.get("BIAFLOWS_REAL_DATA")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(root), "shared", "data", "real")


def read_any(path):
    """A TIFF, PNG or JPEG as an array (LZW TIFFs through PIL when tifffile
    lacks the codec)."""
    if path.lower().endswith((".tif", ".tiff")):
        try:
            return tifffile.imread(path)
        except (ValueError, NotImplementedError):
            pass
    from PIL import Image
    return numpy.asarray(Image.open(path))


def real_piece(bia, spec, tmp):
    """images/ and groundtruth/ of the real-data piece named by spec, in
    tmp/real; None (and why) when the real data is not on this machine."""
    src = os.path.join(real_dir(), spec["dir"])
    if not os.path.isdir(src):
        return None, "no real data at %s" % src
    if spec.get("layout"):
        conv = os.path.join(tmp, "real-conv")
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        # converted as bench/real-data and the demo convert it
        rc, out, err = run(["bash", "-c", '. "$0"; convert_real "$@"',
                            os.path.join(root, "scripts", "real-datasets.sh"),
                            bia, src, spec["layout"], conv])
        if rc:
            raise RuntimeError("convert: " + err)
        src = conv
    dst = os.path.join(tmp, "real")
    stems = spec.get("stems")
    crop = spec.get("crop")
    for sub in ("images", "groundtruth"):
        os.makedirs(os.path.join(dst, sub))
        for f in sorted(os.listdir(os.path.join(src, sub))):
            path = os.path.join(src, sub, f)
            stem = f.split(".")[0]
            if os.path.isdir(path) or (stems and stem not in stems):
                continue
            if not crop or not f.lower().endswith((".tif", ".tiff", ".png", ".jpg")):
                shutil.copy(path, os.path.join(dst, sub, f))
                continue
            a = read_any(path)
            y0, y1, x0, x1 = crop
            yx = a.ndim - 3 if a.ndim == 3 and a.shape[-1] in (3, 4) else a.ndim - 2
            idx = [slice(None)] * a.ndim
            idx[yx], idx[yx + 1] = slice(y0, y1), slice(x0, x1)
            a = numpy.ascontiguousarray(a[tuple(idx)])
            tifffile.imwrite(os.path.join(dst, sub, stem + ".tif"), a,
                             photometric="rgb" if a.ndim == 3 and a.shape[-1] == 3 else None)
    return dst, None


def check_real(bia, wfdir, name, cls, spec, tmp, dirs):
    main_metric = MAIN[cls]
    try:
        piece, why = real_piece(bia, spec, tmp)
    except RuntimeError as e:
        report(False, "%s: prepare the real-data piece" % name, str(e))
        return
    if piece is None:
        print("ok - %s: real-data check # SKIP %s" % (name, why))
        return
    gt = os.path.join(piece, "groundtruth")
    rc, out, err = run([bia, "exec", wfdir, "--in", os.path.join(piece, "images"), "--out",
                        os.path.join(tmp, "real-out"), "--gt", gt, "--class", cls])
    report(rc == 0, "%s: runs on the real-data piece" % name, err[-3000:])
    if rc:
        return
    res = json.loads(out)
    value = mean_of(res, main_metric)
    direction = dirs[(cls, main_metric)]
    check_level("%s: real data (%s)" % (name, spec["dir"]), main_metric, value, direction,
                spec["measured"])
    empty = os.path.join(tmp, "real-empty")
    os.makedirs(empty)
    beats_baseline(bia, cls, empty, gt, res, main_metric, dirs, "%s: real data" % name, "empty")
    print("# %s real %s %s" % (name, main_metric, json.dumps(res["aggregate"][main_metric])))


def main():
    bia, wfdir, tmp = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    name = os.path.basename(wfdir.rstrip("/"))
    spec = json.load(open(os.path.join(wfdir, "test.json")))
    cls = spec["class"]
    main_metric = MAIN[cls]
    dirs = directions(bia)
    ds = os.path.join(tmp, "ds")
    rc, out, err = run([bia, "gen", cls, ds] + spec["gen"])
    if rc:
        report(False, "%s: gen the test dataset" % name, err)
        return
    gt = os.path.join(ds, "groundtruth")
    cmd = [bia, "exec", wfdir, "--in", os.path.join(ds, "images"), "--out",
           os.path.join(tmp, "out"), "--gt", gt, "--class", cls]
    for p in spec.get("params", []):
        cmd += ["--param", p]
    rc, out, err = run(cmd)
    report(rc == 0, "%s: runs through biaflows exec" % name, err[-3000:])
    if rc:
        return
    res = json.loads(out)
    missing = [i["name"] for i in res["images"] if i.get("missing") or i.get("invalid")]
    report(not missing, "%s: an output for every image" % name, "missing/invalid: %s\n%s" % (missing, err[-2000:]))
    value = mean_of(res, main_metric)
    direction = dirs[(cls, main_metric)]
    check_level(name, main_metric, value, direction, spec["measured"])

    baselines = spec.get("baselines", {"empty": main_metric, "full": main_metric})
    for base, metric in baselines.items():
        bdir = os.path.join(tmp, "base-" + base)
        if base == "empty":
            os.makedirs(bdir)
        else:
            if full_baseline(cls, gt, bdir) is None:
                report(False, "%s: no '%s' baseline for %s (remove it from test.json)" % (name, base, cls))
                continue
        beats_baseline(bia, cls, bdir, gt, res, metric, dirs, name, base)
    print("# %s %s %s" % (name, main_metric, json.dumps(res["aggregate"][main_metric])))
    if "real" in spec:
        check_real(bia, wfdir, name, cls, spec["real"], tmp, dirs)


if __name__ == "__main__":
    main()
