#!/usr/bin/env bash
# biaflows errors: error maps stored by the ingest of a run (per image and
# category counts, per-object records), --category/--top ordering, --problem
# (docs/benchmarks.md "Error maps").
. "$(dirname "$0")/lib.sh"
WF=$FIX/workflows/py-threshold
PY=/usr/bin/python3
I=$T/inst
DB=$I/biaflows.db
q() { sqlite3 "$DB" "$1"; }
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }

# Three 64x64 images; the fixture workflow thresholds at half the maximum,
# so the prediction is exactly where the input is 200 (objects are its
# connected components). Rows y, columns x, inclusive:
#  a: GT 1 y2-9 x2-9 predicted exactly (TP); GT 2 y2-9 x20-35 predicted as
#     two pieces x20-26, x29-35 (IoU 56/128: GT FN + split, pieces FP);
#     GT 3 y20-27 x2-9 and GT 4 y20-27 x12-19 predicted as one y20-27 x2-19
#     (IoU 64/144: both FN, the prediction FP + merged); GT 5 y40-47 x40-47
#     not predicted (FN); prediction y50-55 x2-7 without GT (FP).
#     => tp 1, fp 4, fn 4, split 1, merged 1
#  b: GT 1 y2-9 x2-9 predicted exactly, GT 2 y30-37 x30-37 not => tp 1, fn 1
#  c: three GT objects, predicted exactly => tp 3; skipped by the workflow
#     (--param skip=c): an empty prediction => fn 3
mkdir -p "$T/ds/images" "$T/ds/groundtruth"
$PY - "$T/ds" <<'PYEOF'
import sys, numpy, tifffile
d = sys.argv[1]
def img(rects):
    a = numpy.zeros((64, 64), numpy.uint16)
    for v, (y0, y1, x0, x1) in rects:
        a[y0:y1 + 1, x0:x1 + 1] = v
    return a
gt = {
    "a": [(1, (2, 9, 2, 9)), (2, (2, 9, 20, 35)), (3, (20, 27, 2, 9)), (4, (20, 27, 12, 19)), (5, (40, 47, 40, 47))],
    "b": [(1, (2, 9, 2, 9)), (2, (30, 37, 30, 37))],
    "c": [(1, (2, 9, 2, 9)), (2, (20, 27, 20, 27)), (3, (40, 47, 40, 47))],
}
pred = {
    "a": [(2, 9, 2, 9), (2, 9, 20, 26), (2, 9, 29, 35), (20, 27, 2, 19), (50, 55, 2, 7)],
    "b": [(2, 9, 2, 9)],
    "c": [r for _, r in gt["c"]],
}
for s in gt:
    tifffile.imwrite("%s/groundtruth/%s.tif" % (d, s), img(gt[s]))
    tifffile.imwrite("%s/images/%s.tif" % (d, s), (img([(200, r) for r in pred[s]])).astype(numpy.uint8))
PYEOF
"$BIAFLOWS" init "$I" >/dev/null 2>&1
bia problem add P --class ObjSeg >/dev/null
bia problem add PX --class PixCla >/dev/null
expect_rc "dataset imported" 0 bia dataset import P "$T/ds"
expect_rc "workflow added" 0 bia workflow add "$WF" --version 1.0

expect_rc "errors answers -h" 0 "$BIAFLOWS" errors -h
check "... with its usage" has "$T/out" "usage: biaflows errors RUN"

expect_rc "run with c skipped" 0 bia run Threshold-Python P --param threshold=0.5 --param skip=c --wait
R1=$(head -1 "$T/out")
check "c has no output" test "$(q "SELECT o.status FROM run_outputs o JOIN images i ON i.id = o.image_id WHERE o.run_id = $R1 AND i.stem = 'c'")" = missing
check "a count row for every category of every image" \
	test "$(q "SELECT count(*) FROM run_errors WHERE run_id = $R1")" = 15
counts() { q "SELECT group_concat(e.category || '=' || e.count, ' ') FROM (SELECT e.* FROM run_errors e JOIN images i ON i.id = e.image_id WHERE e.run_id = $1 AND i.stem = '$2' ORDER BY e.category) e"; }
check "a: fn=4 fp=4 merged=1 split=1 tp=1" test "$(counts "$R1" a)" = "fn=4 fp=4 merged=1 split=1 tp=1"
check "b: fn=1 tp=1, zeros stored" test "$(counts "$R1" b)" = "fn=1 fp=0 merged=0 split=0 tp=1"
check "c (no output): all FN" test "$(counts "$R1" c)" = "fn=3 fp=0 merged=0 split=0 tp=0"
check "c: three GT objects, all FN, nothing predicted" \
	test "$(q "SELECT group_concat(o.kind || o.obj_id || o.status, ' ') FROM run_objects o JOIN images i ON i.id = o.image_id WHERE o.run_id = $R1 AND i.stem = 'c'")" = "gt1FN gt2FN gt3FN"
check "a: ten object rows (5 GT + 5 predicted)" \
	test "$(q "SELECT count(*) FROM run_objects o JOIN images i ON i.id = o.image_id WHERE o.run_id = $R1 AND i.stem = 'a'")" = 10
check "a: the split GT object, the merging prediction" \
	test "$(q "SELECT group_concat(o.kind || o.obj_id, ' ') FROM run_objects o JOIN images i ON i.id = o.image_id WHERE o.run_id = $R1 AND i.stem = 'a' AND (o.detail LIKE '%\"split\":true%' OR o.detail LIKE '%\"merged\":true%')")" = "gt2 pred4"

# the per-image table
expect_rc "errors RUN" 0 bia errors "$R1"
check "table header" test "$(head -1 "$T/out" | tr -s ' ')" = "IMAGE_ID STEM TP FP FN SPLIT MERGED"
check "one row per image, by stem" test "$(awk 'NR>1 {print $2}' "$T/out" | tr '\n' ' ')" = "a b c "
expect_rc "errors RUN --category fn --top 2 --format csv" 0 bia errors "$R1" --category fn --top 2 --format csv
check "csv: most false negatives first, two rows" \
	test "$(cut -d, -f2- "$T/out" | tr '\n' ' ')" = "stem,tp,fp,fn,split,merged a,1,4,4,1,1 c,0,0,3,0,0 "
expect_rc "errors RUN --category fp --format json" 0 bia errors "$R1" --category fp --format json
check "json: fp descending, ties by stem" test "$(json '[(r["stem"], r["fp"]) for r in d]')" = "[('a', 4), ('b', 0), ('c', 0)]"
expect_rc "errors RUN --category tp" 0 bia errors "$R1" --category tp --format json
check "tp: a and b tie (1), by stem; c last" test "$(json '[r["stem"] for r in d]')" = "['a', 'b', 'c']"
expect_rc "errors RUN --top 1" 0 bia errors "$R1" --top 1 --format json
check "--top alone: the first by stem" test "$(json '[r["stem"] for r in d]')" = "['a']"

# one image: the per-object records for an overlay
expect_rc "errors RUN --image a --format json" 0 bia errors "$R1" --image a --format json
check "image a: 10 records, GT then predicted" \
	test "$(json '" ".join(r["kind"] + str(r["id"]) + r["status"] for r in d)')" = \
	"gt1TP gt2FN gt3FN gt4FN gt5FN pred1TP pred2FP pred3FP pred4FP pred5FP"
check "TP record: match and IoU 1" test "$(json '(d[0]["match"], d[0]["score"], d[0]["detail"]["area"])')" = "(1, 1.0, 64)"
check "each object's centroid and bounding box: GT 1 (y2-9 x2-9)" \
	test "$(json '(d[0]["centroid"], d[0]["bbox"])')" = "([5.5, 5.5, 0.0], [2, 2, 0, 9, 9, 0])"
check "... the missed GT 5 (y40-47 x40-47) can be found" \
	test "$(json '[(r["centroid"], r["bbox"]) for r in d if r["kind"] == "gt" and r["id"] == 5]')" = "[([43.5, 43.5, 0.0], [40, 40, 0, 47, 47, 0])]"
check "... the spurious prediction y50-55 x2-7" \
	test "$(json '[r["bbox"] for r in d if r["kind"] == "pred" and r["bbox"][1] == 50]')" = "[[2, 50, 0, 7, 55, 0]]"
check "split GT record: no match, best IoU 56/128, split" \
	test "$(json '(d[1]["match"], d[1]["score"], d[1]["detail"]["split"])')" = "(None, 0.4375, True)"
check "merging prediction" test "$(json 'd[8]["detail"].get("merged")')" = True
IMG_C=$(q "SELECT id FROM images WHERE stem = 'c'")
expect_rc "errors RUN --image ID (table)" 0 bia errors "$R1" --image "$IMG_C"
check "table of c's records" test "$(awk 'NR>1 {print $1 $2 $3}' "$T/out" | tr '\n' ' ')" = "gt1FN gt2FN gt3FN "
check "... with where each is" has "$T/out" "(23.5, 23.5) box x 20-27 y 20-27"
expect_rc "--image: an unknown stem" 1 bia errors "$R1" --image nope

# a second run predicts c: the problem-wide query
expect_rc "second run, nothing skipped" 0 bia run Threshold-Python P --param threshold=0.5 --wait
R2=$(head -1 "$T/out")
check "run 2, c: tp=3 fn=0" test "$(counts "$R2" c)" = "fn=0 fp=0 merged=0 split=0 tp=3"
expect_rc "errors --problem P --category fn --top 3" 0 bia errors --problem P --category fn --top 3 --format json
check "most FN across runs: a (run 1), a (run 2), c (run 1)" \
	test "$(json '[(r["run"], r["stem"], r["fn"]) for r in d]')" = "[($R1, 'a', 4), ($R2, 'a', 4), ($R1, 'c', 3)]"
check "... with the workflow" test "$(json 'd[0]["workflow"]')" = "Threshold-Python@1.0"
expect_rc "errors --problem P (table)" 0 bia errors --problem P
check "six rows: by run then stem" test "$(awk 'NR>1 {print $1 $4}' "$T/out" | tr '\n' ' ')" = "${R1}a ${R1}b ${R1}c ${R2}a ${R2}b ${R2}c "

# refusals
expect_rc "unknown category: usage error" 2 bia errors "$R1" --category switched
check "... listing the class's categories" has "$T/err" "tp, fp, fn, split, merged"
expect_rc "no RUN and no --problem" 2 bia errors
expect_rc "RUN and --problem" 2 bia errors "$R1" --problem P
expect_rc "bad --top" 2 bia errors "$R1" --top 0
expect_rc "unknown run" 1 bia errors 999
expect_rc "PixCla has no error map" 1 bia errors --problem PX
check "... saying so" has "$T/err" "no error map"
finish
