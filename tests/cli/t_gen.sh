#!/usr/bin/env bash
# biaflows gen: usage and bounds, the dataset layout, byte-identical reruns,
# ground truth that scores perfectly against itself (every class, 2D and 3D),
# --perturb predictions, the difficulty ordering of the baselines, previews.
. "$(dirname "$0")/lib.sh"
G=$T/gen
mkdir -p "$G"
PY=/usr/bin/python3

# --- usage and bounds
expect_rc "gen -h" 0 "$BIAFLOWS" gen -h
check "help names the options" has "$T/out" "--perturb SPEC"
expect_rc "biaflows -h lists gen" 0 "$BIAFLOWS" -h
check "... with its summary" has "$T/out" "generate a synthetic dataset with ground truth"
expect_rc "gen without arguments: usage" 2 "$BIAFLOWS" gen
expect_rc "unknown class: usage" 2 "$BIAFLOWS" gen Nuclei "$G/x"
check "... named" has "$T/err" "unknown problem class 'Nuclei'"
expect_rc "bad --size: usage" 2 "$BIAFLOWS" gen ObjSeg "$G/x" --size 12x
check "... explained" has "$T/err" "--size must be WxH or WxHxD"
expect_rc "bad --difficulty: usage" 2 "$BIAFLOWS" gen ObjSeg "$G/x" --difficulty extreme
expect_rc "bad --perturb: usage" 2 "$BIAFLOWS" gen ObjSeg "$G/x" --perturb drop=3
check "... explained" has "$T/err" "drop must be in [0, 1]"
expect_rc "bad --n: usage" 2 "$BIAFLOWS" gen ObjSeg "$G/x" --n 0
expect_rc "unknown option: usage" 2 "$BIAFLOWS" gen ObjSeg "$G/x" --wobble
expect_rc "too small an image" 1 "$BIAFLOWS" gen ObjSeg "$G/x" --size 8x8
check "... explained" has "$T/err" "width and height must be between 16 and 16384"
expect_rc "too large an image" 1 "$BIAFLOWS" gen ObjSeg "$G/x" --size 16384x16384
check "... names the limit" has "$T/err" "more than the limit"
expect_rc "BIAFLOWS_MAX_PIXELS is respected" 1 env BIAFLOWS_MAX_PIXELS=1000 "$BIAFLOWS" gen ObjSeg "$G/x" --size 64x64
expect_rc "too many frames" 1 "$BIAFLOWS" gen ObjTrk "$G/x" --size 512x512 --frames 1000
expect_rc "--frames on a still class" 1 "$BIAFLOWS" gen ObjSeg "$G/x" --frames 3
expect_rc "3D PixCla refused" 1 "$BIAFLOWS" gen PixCla "$G/x" --size 32x32x8
expect_rc "--objects on PixCla refused" 1 "$BIAFLOWS" gen PixCla "$G/x" --objects 5
check "refusals leave nothing behind" test ! -e "$G/x"

# --- every class, 2D and 3D: layout, determinism, validity, perfect self-score
specs=(
	"ObjSeg --size 96x80"
	"ObjSeg --size 48x40x12 --bits 16 --difficulty hard"
	"SptCnt --size 96x80"
	"SptCnt --size 48x40x12"
	"ObjDet --size 96x80 --difficulty easy"
	"ObjDet --size 48x40x12"
	"PixCla --size 96x80 --classes 4"
	"PixCla --size 96x80 --grey --bits 16 --classes 2"
	"TreTrc --size 96x80"
	"TreTrc --size 64x56x16 --difficulty hard"
	"LooTrc --size 96x80"
	"LooTrc --size 48x48x12"
	"ObjTrk --size 80x64 --frames 8"
	"ObjTrk --size 48x40x10 --frames 5"
	"PrtTrk --size 80x64 --frames 10 --difficulty hard"
	"PrtTrk --size 48x40x10 --frames 6"
	"LndDet --size 96x96 --landmarks 12"
)
digest() { (cd "$1" && find . -type f | sort | xargs sha256sum); }
stems() { ls "$1" | sed 's/\.[^.]*$//' | sort -u; }
i=0
for spec in "${specs[@]}"; do
	read -r -a args <<<"$spec"
	cls=${args[0]}
	a=$G/a$i
	b=$G/b$i
	expect_rc "gen $spec" 0 "$BIAFLOWS" gen "$cls" "$a" --n 2 --seed 3 "${args[@]:1}"
	run "$BIAFLOWS" gen "$cls" "$b" --n 2 --seed 3 "${args[@]:1}"
	check "$spec: rerun is byte-identical" test "$(digest "$a")" = "$(digest "$b")"
	check "$spec: ground truth paired with images by stem" test "$(stems "$a/images")" = "$(stems "$a/groundtruth")"
	check "$spec: two images" test "$(ls "$a/images" | wc -l)" = 2
	expect_rc "$spec: GT against itself" 0 "$BIAFLOWS" metrics "$cls" "$a/groundtruth" "$a/groundtruth" --format json
	$PY - "$T/out" >"$T/py" 2>&1 <<'PY'
import json, math, sys
perfect = {"DC": 1, "AHD": 0, "FOVL": 1, "mAP": 1, "JI": 1, "AP50": 1, "PQ": 1, "CTC_SEG": 1,
           "REC": 0, "FN": 0, "FP": 0, "RE": 1, "PR": 1, "F1": 1, "RMSE": 0, "ACC": 1,
           "TFNR": 0, "TFPR": 0, "TF1": 1, "UVR": 0, "FNR": 0, "FPR": 0, "SEG": 1, "TRA": 1, "DET": 1,
           "PD": 0, "NPSA": 1, "FNPSB": 1, "JST": 1, "NMT": 0, "NST": 0, "JSD": 1, "NMD": 0,
           "NSD": 0, "MRE": 0}
same = [("NREF", "NPRED"), ("NRT", "NCT"), ("NRT", "NPT"), ("NRD", "NCD"), ("NRD", "NPD")]
doc = json.load(open(sys.argv[1]))
for im in doc["images"]:
    m = im["metrics"]
    for k, v in m.items():
        if k in perfect:
            assert isinstance(v, (int, float)) and abs(v - perfect[k]) < 1e-6, (im["name"], k, v)
    for a, b in same:
        if a in m:
            assert m[a] == m[b], (im["name"], a, m[a], b, m[b])
    assert len(m) > 0
print("perfect")
PY
	check "$spec: every metric is perfect" has "$T/py" perfect
	i=$((i + 1))
done
check "ObjTrk GT has its track files" test -f "$G/a12/groundtruth/objtrk_000.txt" -a -f "$G/a12/groundtruth/objtrk_001.txt"
check "TreTrc GT is SWC" test -f "$G/a8/groundtruth/tretrc_000.swc"
run "$BIAFLOWS" gen ObjSeg "$G/seed4" --n 2 --seed 4 --size 96x80
check "another seed gives other images" test "$(digest "$G/seed4")" != "$(digest "$G/a0")"

$PY - "$G/a13/dataset.json" >"$T/py" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["class"] == "ObjTrk" and d["generator"] == "biaflows gen" and d["seed"] == 3, d
assert d["version"] and d["difficulty"] == "medium" and d["n"] == 2
p = d["parameters"]
assert p["size"] == [48, 40, 10] and p["frames"] == 5 and p["bits"] == 8
for k in ("noise", "blur", "contrast", "density", "illumination"):
    assert isinstance(p[k], float), k
im = d["images"][0]
assert im["stem"] == "objtrk_000" and im["image"] == "images/objtrk_000.tif"
assert im["groundtruth"] == ["groundtruth/objtrk_000.tif", "groundtruth/objtrk_000.txt"]
assert im["tracks"] >= 1
print("fine")
PY
check "dataset.json records class, seed, version, parameters, files" has "$T/py" fine

# --- output folder rules
expect_rc "an existing dataset is not overwritten" 1 "$BIAFLOWS" gen ObjSeg "$G/a0" --n 1 --size 64x64
check "... --force is suggested" has "$T/err" "--force"
expect_rc "--force replaces it" 0 "$BIAFLOWS" gen ObjSeg "$G/a0" --n 1 --size 64x64 --force
check "... with the new content only" test "$(ls "$G/a0/images" | wc -l)" = 1
mkdir -p "$G/busy" && echo keep >"$G/busy/notes.txt"
expect_rc "a non-empty folder is refused, even with --force" 1 "$BIAFLOWS" gen ObjSeg "$G/busy" --force
check "... and left alone" test "$(ls "$G/busy")" = notes.txt
mkdir -p "$G/empty"
expect_rc "an empty folder is fine" 0 "$BIAFLOWS" gen SptCnt "$G/empty" --n 1 --size 64x64

# --- --perturb: the metrics benchmark's calls
P="--perturb drop=0.1,split=0.1,merge=0.1,shift=2"
bench=(
	"ObjSeg --size 1024x1024 --objects 200"
	"ObjDet --size 1024x1024 --objects 2000"
	"SptCnt --size 128x128"
	"PixCla --classes 3"
	"LndDet --landmarks 20"
	"PrtTrk --frames 10 --size 64x64 --tracks 5"
	"LooTrc --size 48x48x12"
	"TreTrc --size 96x96x16"
	"ObjTrk --size 96x96 --frames 10"
)
for spec in "${bench[@]}"; do
	read -r -a args <<<"$spec"
	cls=${args[0]}
	o=$G/p-$cls
	expect_rc "perturb $spec" 0 "$BIAFLOWS" gen "$cls" "$o" --n 1 --seed 1 "${args[@]:1}" $P
	check "$cls: predictions named as the ground truth" test "$(ls "$o/predictions")" = "$(ls "$o/groundtruth")"
	expect_rc "$cls: predictions score" 0 "$BIAFLOWS" metrics "$cls" "$o/predictions" "$o/groundtruth" --format json
	cp "$T/out" "$T/m.json"
	"$BIAFLOWS" metrics --list --class "$cls" --format json >"$T/list.json"
	$PY - "$T/m.json" "$T/list.json" >"$T/py" 2>&1 <<'PY'
import json, math, sys
doc = json.load(open(sys.argv[1]))
m = doc["images"][0]["metrics"] if "images" in doc else doc["metrics"]
main = [x for x in json.load(open(sys.argv[2])) if x["main"]][0]
v = m[main["code"]]
if v == "nan":
    print("imperfect (nan)")  # LndDet: a dropped landmark makes MRE NaN, as BIAFLOWS
else:
    best = 1 if main["direction"] == "higher" else 0
    print("imperfect" if abs(v - best) > 1e-6 else "perfect %s" % v)
PY
	check "$cls: perturbed predictions are not perfect" has "$T/py" imperfect
done
run "$BIAFLOWS" gen ObjSeg "$G/p2" --n 1 --seed 1 --size 1024x1024 --objects 200 $P
check "perturbation is deterministic" test "$(digest "$G/p2")" = "$(digest "$G/p-ObjSeg")"
$PY - "$G/p-ObjSeg/dataset.json" >"$T/py" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
im = d["images"][0]
assert im["objects"] >= 190, im
assert im["perturbed"]["dropped"] == 20 and im["perturbed"]["split"] == 20, im
assert d["parameters"]["perturb"]["shift"] == 2
print("fine")
PY
check "ObjSeg 1024x1024 --objects 200: 200 objects, 20 dropped, 20 split" has "$T/py" fine

# --- difficulty: a simple baseline gets worse from easy to medium to hard
diff=(
	"ObjSeg --size 128x128"
	"SptCnt --size 128x128"
	"ObjDet --size 128x128"
	"PixCla --size 128x128"
	"TreTrc --size 96x96x24"
	"LooTrc --size 96x96x24"
	"ObjTrk --size 96x96 --frames 12"
	"PrtTrk --size 96x96 --frames 15"
	"LndDet --size 128x128"
)
for spec in "${diff[@]}"; do
	read -r -a args <<<"$spec"
	cls=${args[0]}
	"$BIAFLOWS" metrics --list --class "$cls" --format json >"$T/list.json"
	for l in easy medium hard; do
		o=$G/d-$cls-$l
		run "$BIAFLOWS" gen "$cls" "$o" --n 3 --seed 5 --difficulty "$l" "${args[@]:1}"
		expect_rc "$cls $l: baseline runs" 0 "$BIAFLOWS" gen baseline "$o" "$o/baseline"
		run "$BIAFLOWS" metrics "$cls" "$o/baseline" "$o/groundtruth" --format json
		cp "$T/out" "$T/$l.json"
	done
	$PY - "$T/list.json" "$T/easy.json" "$T/medium.json" "$T/hard.json" >"$T/py" 2>&1 <<'PY'
import json, sys
main = [x for x in json.load(open(sys.argv[1])) if x["main"]][0]
code = main["code"]
v = [json.load(open(f))["aggregate"][code]["mean"] for f in sys.argv[2:]]
worse = (v[0] > v[1] > v[2]) if main["direction"] == "higher" else (v[0] < v[1] < v[2])
print("%s %s easy %.4f medium %.4f hard %.4f" % (main["class"], code, v[0], v[1], v[2]))
print("ordered" if worse else "NOT ordered")
PY
	echo "# $(head -1 "$T/py")"
	check "$cls: the baseline's main metric worsens easy > medium > hard" has "$T/py" "ordered"
	check "... strictly" test "$(grep -c 'NOT ordered' "$T/py")" = 0
done

# --- previews
expect_rc "--preview writes a PNG" 0 "$BIAFLOWS" gen ObjSeg "$G/pv" --n 1 --size 256x256 --preview "$G/pv.png"
check "... a PNG" test "$(head -c 4 "$G/pv.png" | tail -c 3)" = PNG
check "... under 150 KB" test "$(stat -c %s "$G/pv.png")" -lt 153600
finish
