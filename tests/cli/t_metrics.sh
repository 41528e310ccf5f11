#!/usr/bin/env bash
# biaflows metrics: no instance, files and folders, output conventions.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
# mk FILE DTYPE H W [T]: a label image from python expressions on stdin
mk() {
	$PY - "$@" <<'PYEOF'
import sys, numpy, tifffile
path, dtype, h, w = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
a = numpy.zeros((h, w), dtype=dtype)
exec(sys.stdin.read() if False else open(path + ".py").read())
tifffile.imwrite(path, a, photometric="minisblack")
PYEOF
}
jq_py() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }

expect_rc "--list" 0 "$BIAFLOWS" metrics --list
for c in ObjSeg SptCnt ObjDet PixCla TreTrc LooTrc ObjTrk PrtTrk LndDet; do
	check "--list has $c" has "$T/out" "$c"
done
expect_rc "--list json" 0 "$BIAFLOWS" metrics --list --class objseg --format json
check "ObjSeg metrics in order, extras last" test "$(jq_py '",".join(m["code"] for m in d)')" = "DC,AHD,FOVL,mAP,JI,AP50,PQ,CTC_SEG"
check "mAP is the ObjSeg main metric" test "$(jq_py '[m["code"] for m in d if m["main"]][0]')" = mAP
check "AHD is lower-is-better" test "$(jq_py '[m["direction"] for m in d if m["code"]=="AHD"][0]')" = lower
check "JI is an extra" test "$(jq_py '[m["extra"] for m in d if m["code"]=="JI"][0]')" = True
expect_rc "--list unknown class" 1 "$BIAFLOWS" metrics --list --class Foo

# ObjSeg, hand-computed: GT = 4x4 square (label 1) + 2x2 square (label 2);
# prediction = the 4x4 square only.
#   DC   = 2*16 / (20 + 16) = 0.8888888888888888
#   FOVL = (1 + 0) / 2 = 0.5
#   mAP  = 1 / (2 + 1e-9) at every threshold = 0.49999999975
#   AHD  = (d(G->P) + 0) / 2, d(G->P) = (3*sqrt2 + 5 + 5 + 4*sqrt2) / 20
#        = 0.4974873734152916
mkdir -p "$T/gt" "$T/pred"
echo 'a[0:4, 0:4] = 1; a[6:8, 6:8] = 2' >"$T/gt/a.tif.py"
echo 'a[0:4, 0:4] = 1' >"$T/pred/a.tif.py"
mk "$T/gt/a.tif" uint16 10 10
mk "$T/pred/a.tif" uint8 10 10
expect_rc "ObjSeg file pair" 0 "$BIAFLOWS" metrics ObjSeg "$T/pred/a.tif" "$T/gt/a.tif"
check "keys: class, metrics, params, deviations, warnings" test "$(jq_py '",".join(sorted(d))')" = "class,deviations,metrics,params,warnings"
check "class canonical" test "$(jq_py 'd["class"]')" = ObjSeg
check "DC = 32/36" test "$(jq_py 'abs(d["metrics"]["DC"] - 32/36) < 1e-12')" = True
check "FOVL = 0.5" test "$(jq_py 'abs(d["metrics"]["FOVL"] - 0.5) < 1e-12')" = True
check "mAP = 1/(2+1e-9)" test "$(jq_py 'abs(d["metrics"]["mAP"] - 1/(2+1e-9)) < 1e-12')" = True
check "AHD hand value" test "$(jq_py 'abs(d["metrics"]["AHD"] - (7*2**0.5 + 10)/40) < 1e-9')" = True
expect_rc "table format" 0 "$BIAFLOWS" metrics objseg "$T/pred/a.tif" "$T/gt/a.tif" --format table
check "table has DC row" grep -qE "^DC +0.888889 +Dice coefficient" "$T/out"
expect_rc "--objects" 0 "$BIAFLOWS" metrics ObjSeg "$T/pred/a.tif" "$T/gt/a.tif" --objects
check "objects: 1 TP GT and 1 FN GT" test "$(jq_py 'sorted(o["status"] for o in d["objects"] if o["kind"]=="gt")')" = "['FN', 'TP']"

# folders: a second pair (perfect), a prediction without GT
echo 'a[2:5, 2:5] = 1' >"$T/gt/b.tif.py"
cp "$T/gt/b.tif.py" "$T/pred/b.tif.py"
mk "$T/gt/b.tif" uint16 8 8
mk "$T/pred/b.tif" uint16 8 8
echo 'a[0, 0] = 1' >"$T/pred/extra.tif.py"
mk "$T/pred/extra.tif" uint8 4 4
expect_rc "ObjSeg folders" 0 "$BIAFLOWS" metrics ObjSeg "$T/pred" "$T/gt"
check "images listed by stem" test "$(jq_py '",".join(i["name"] for i in d["images"])')" = "a,b"
check "aggregate DC mean" test "$(jq_py 'abs(d["aggregate"]["DC"]["mean"] - (32/36 + 1)/2) < 1e-12')" = True
check "aggregate DC n=2, n_nan=0" test "$(jq_py '(d["aggregate"]["DC"]["n"], d["aggregate"]["DC"]["n_nan"])')" = "(2, 0)"
check "aggregate DC sample std" test "$(jq_py 'abs(d["aggregate"]["DC"]["std"] - ((1-32/36)**2/2)**0.5) < 1e-12')" = True
check "aggregate DC median" test "$(jq_py 'abs(d["aggregate"]["DC"]["median"] - (32/36 + 1)/2) < 1e-12')" = True
check "prediction without GT is a warning" test "$(jq_py 'any("extra" in w for w in d["warnings"])')" = True
check "... also on stderr" has "$T/err" "prediction without ground truth"
rm "$T/pred/b.tif"
expect_rc "GT without prediction: error" 1 "$BIAFLOWS" metrics ObjSeg "$T/pred" "$T/gt"
check "error names the GT file" has "$T/err" "$T/gt/b.tif: no prediction with stem 'b'"
expect_rc "--missing-as-empty" 0 "$BIAFLOWS" metrics ObjSeg "$T/pred" "$T/gt" --missing-as-empty
check "missing image marked" test "$(jq_py '[i.get("missing", False) for i in d["images"]]')" = "[False, True]"
check "missing scored as empty: DC 0" test "$(jq_py 'd["images"][1]["metrics"]["DC"]')" = 0.0
check "missing scored as empty: AHD nan" test "$(jq_py 'd["images"][1]["metrics"]["AHD"]')" = nan
check "aggregate AHD counts the NaN" test "$(jq_py '(d["aggregate"]["AHD"]["n"], d["aggregate"]["AHD"]["n_nan"])')" = "(1, 1)"
expect_rc "folders as csv" 0 "$BIAFLOWS" metrics ObjSeg "$T/pred" "$T/gt" --missing-as-empty --format csv
check "csv header" test "$(head -1 "$T/out")" = "name,DC,AHD,FOVL,mAP,JI,AP50,PQ,CTC_SEG"
check "csv has mean and median rows" test "$(cut -d, -f1 "$T/out" | tail -2 | tr '\n' ' ')" = "mean median "
mkdir -p "$T/one_p" "$T/one_g"
cp "$T/pred/a.tif" "$T/one_p/"
cp "$T/gt/a.tif" "$T/one_g/"
expect_rc "folder with a single pair" 0 "$BIAFLOWS" metrics ObjSeg "$T/one_p" "$T/one_g"
check "single-pair folder still has images and aggregate" test "$(jq_py '("images" in d, "aggregate" in d)')" = "(True, True)"

# ObjDet: counts are integers, NaN is "nan", params echoed upper-case
echo 'a[2, 2] = 1; a[7, 7] = 1' >"$T/gt/d.tif.py"
echo 'pass' >"$T/pred/d.tif.py"
mk "$T/gt/d.tif" uint8 10 10
mk "$T/pred/d.tif" uint8 10 10
expect_rc "ObjDet empty prediction" 0 "$BIAFLOWS" metrics ObjDet "$T/pred/d.tif" "$T/gt/d.tif" --param gating_dist=3
check "TP is the integer 0" grep -q '"TP": 0,' "$T/out"
check "FN = 2" test "$(jq_py 'd["metrics"]["FN"]')" = 2
check "PR = nan" test "$(jq_py 'd["metrics"]["PR"]')" = nan
check "RE = 0" test "$(jq_py 'd["metrics"]["RE"]')" = 0.0
check "GATING_DIST echoed" test "$(jq_py 'd["params"]["GATING_DIST"]')" = 3
expect_rc "unknown parameter" 2 "$BIAFLOWS" metrics ObjDet "$T/pred/d.tif" "$T/gt/d.tif" --param foo=1
expect_rc "bad gating_dist" 2 "$BIAFLOWS" metrics ObjDet "$T/pred/d.tif" "$T/gt/d.tif" --param gating_dist=-1

# wrong shape: one line naming the problem
echo 'a[0,0] = 1' >"$T/pred/s.tif.py"
mk "$T/pred/s.tif" uint8 9 10
expect_rc "shape mismatch refused" 1 "$BIAFLOWS" metrics ObjSeg "$T/pred/s.tif" "$T/gt/a.tif"
check "shape error is one line" test "$(lines "$T/err")" = 1
expect_rc "unknown class" 1 "$BIAFLOWS" metrics Foo "$T/pred/a.tif" "$T/gt/a.tif"
expect_rc "file vs folder" 1 "$BIAFLOWS" metrics ObjSeg "$T/pred" "$T/gt/a.tif"
expect_rc "missing arguments" 2 "$BIAFLOWS" metrics ObjSeg "$T/pred/a.tif"
# ObjTrk: a track file inconsistent with its stack: TRA not computable (as the
# CTC tools), SEG and DET still computed; a refusal about the ground truth
# names the ground-truth file
mkdir -p "$T/trk"
/usr/bin/python3 - "$T/trk" <<'PY'
import sys, numpy, tifffile
d = sys.argv[1]
a = numpy.zeros((4, 12, 12), numpy.uint16)
a[:, 2:6, 2:6] = 1
m = {"axes": "TYX"}
tifffile.imwrite(d + "/gt.tif", a, metadata=m, photometric="minisblack")
tifffile.imwrite(d + "/pred.tif", a, metadata=m, photometric="minisblack")
open(d + "/gt.txt", "w").write("1 0 3 0\n")
open(d + "/pred.txt", "w").write("1 0 2 0\n")  # says frame 3 has no label 1: inconsistent
tifffile.imwrite(d + "/empty.tif", numpy.zeros((4, 12, 12), numpy.uint16), metadata=m, photometric="minisblack")
open(d + "/empty.txt", "w").write("")
PY
expect_rc "ObjTrk with an inconsistent prediction track file" 0 "$BIAFLOWS" metrics ObjTrk "$T/trk/pred.tif" "$T/trk/gt.tif"
check "... TRA not computable, SEG and DET 1" test "$(jq_py '(d["metrics"]["TRA"], d["metrics"]["SEG"], d["metrics"]["DET"])')" = "('nan', 1.0, 1.0)"
check "... with the reason" test "$(jq_py 'any("TRA not computable" in w for w in d["warnings"])')" = True
expect_rc "ObjTrk against an empty ground truth: refused" 1 "$BIAFLOWS" metrics ObjTrk "$T/trk/pred.tif" "$T/trk/empty.tif"
check "... naming the ground-truth file, not the prediction" eval 'has "$T/err" "empty.tif" && ! has "$T/err" "pred.tif"'
finish
