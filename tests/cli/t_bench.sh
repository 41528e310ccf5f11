#!/usr/bin/env bash
# biaflows bench / compare / sweep / rerun and problem set --main-metric
# (docs/benchmarks.md): leaderboards over real runs of the fixture workflow.
. "$(dirname "$0")/lib.sh"
WF=$FIX/workflows/py-threshold
PY=/usr/bin/python3
I=$T/inst
DB=$I/biaflows.db
q() { sqlite3 -cmd ".timeout 10000" "$DB" "$1"; }
nruns() { q "SELECT count(*) FROM runs"; }
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }

"$BIAFLOWS" init "$I" >/dev/null 2>&1
"$BIAFLOWS" gen ObjSeg "$T/ds" --n 6 --size 64x64 --seed 4 --difficulty easy >/dev/null 2>&1
bia problem add nuc --class ObjSeg >/dev/null
bia problem add other --class ObjSeg >/dev/null
bia dataset import nuc "$T/ds" >/dev/null 2>&1
bia dataset import other "$T/ds" >/dev/null 2>&1
bia workflow add "$WF" --version 1 >/dev/null 2>&1

# --- problem set --main-metric
expect_rc "problem set --main-metric DC" 0 bia problem set nuc --main-metric DC
check "... shown by problem show" test "$(bia problem show nuc --format json | $PY -c 'import json,sys; print(json.load(sys.stdin)["main_metric"])')" = DC
expect_rc "an unknown metric is a usage error" 2 bia problem set nuc --main-metric F1
check "... naming the class's metrics" has "$T/err" "one of DC, AHD"
expect_rc "back to the class default" 0 bia problem set nuc --main-metric default
check "... mAP again" has "$T/err" "main metric mAP"

# --- sweep: a grid of three settings, run, ranked
expect_rc "sweep threshold=0.2:0.6:0.2" 0 bia sweep Threshold-Python nuc --param threshold=0.2:0.6:0.2 --resamples 2000 --format json
check "three runs queued" test "$(nruns)" = 3
check "progress on stderr while waiting" eval 'has "$T/err" "/3 runs done" && has "$T/err" "3/3 runs done" && has "$T/err" "s elapsed"'
check "three entries" test "$(json 'len(d["entries"])')" = 3
check "best setting first: threshold 0.4" test "$(json 'd["entries"][0]["params"]["threshold"]')" = 0.4
check "ranked by mean (descending, mAP)" test "$(json '[e["mean"] for e in d["entries"]] == sorted([e["mean"] for e in d["entries"]], reverse=True)')" = True
check "the seed and resamples are recorded" test "$(json '(d["seed"], d["resamples"], d["metric"], d["direction"])')" = "(1, 2000, 'mAP', 'higher')"
check "every CI brackets its mean" test "$(json 'all(e["ci95"][0] <= e["mean"] <= e["ci95"][1] for e in d["entries"])')" = True
check "Friedman over 6 complete images" test "$(json '(d["friedman"]["n"], d["friedman"]["k"])')" = "(6, 3)"
check "the leader has no test against itself" test "$(json '(d["entries"][0]["leader"], d["entries"][0]["vs_leader"])')" = "(True, None)"
check "the others are tested on 6 pairs" test "$(json '[e["vs_leader"]["n_pairs"] for e in d["entries"][1:]]')" = "[6, 6]"
cp "$T/out" "$T/sweep1.json"
expect_rc "the same sweep again" 0 bia sweep Threshold-Python nuc --param threshold=0.2,0.4,0.6 --resamples 2000 --format json
check "... reuses the succeeded runs (none queued)" test "$(nruns)" = 3
check "... byte-identical output" cmp -s "$T/out" "$T/sweep1.json"
expect_rc "another seed" 0 bia sweep Threshold-Python nuc --param threshold=0.2,0.4,0.6 --resamples 2000 --seed 9 --format json
check "... other bootstrap intervals" test "$(json 'd["seed"]')" = 9
check "... same means" test "$(json '[e["mean"] for e in d["entries"]]')" = "$($PY -c "import json; print([e['mean'] for e in json.load(open('$T/sweep1.json'))['entries']])")"
expect_rc "a bad range is a usage error" 2 bia sweep Threshold-Python nuc --param threshold=0.6:0.2:0.1
expect_rc "a grid over 1000 settings is refused" 2 bia sweep Threshold-Python nuc --param threshold=0:1:0.0001
expect_rc "a bad parameter value fails before anything runs" 1 bia sweep Threshold-Python nuc --param threshold=2,3
check "... names the parameter" has "$T/err" "threshold"
check "... nothing queued" test "$(nruns)" = 3
expect_rc "one bad value among good ones: still nothing runs" 1 bia sweep Threshold-Python nuc --param threshold=0.3,2
check "... nothing queued, not even the good setting" test "$(nruns)" = 3
bia problem add spots --class ObjDet >/dev/null
"$BIAFLOWS" gen ObjDet "$T/dds" --n 1 --size 32x32 --seed 1 >/dev/null 2>&1
bia dataset import spots "$T/dds" >/dev/null 2>&1
expect_rc "bench with a workflow of another class" 1 bia bench spots --workflows Threshold-Python
check "... refused naming the classes" has "$T/err" "the classes must match"
check "... nothing queued" test "$(nruns)" = 3

# --- an entry with values on two images only: NaN counted, pairs shown
bia run Threshold-Python nuc --param threshold=0.45 --images objseg_000,objseg_001 --wait >/dev/null 2>&1
# --- bench: runs the default setting (missing), then the leaderboard
expect_rc "bench --workflows Threshold-Python" 0 bia bench nuc --workflows Threshold-Python --resamples 1000 --format json
check "the default setting was run (5 runs)" test "$(nruns)" = 5
check "five entries (three sweep settings, the subset run, the default)" test "$(json 'len(d["entries"])')" = 5
check "the subset entry: n 2, NaN 4" test "$(json '[(e["n"], e["n_nan"]) for e in d["entries"] if e["params"]["threshold"] == "0.45"][0]')" = "(2, 4)"
check "... tested against the leader on its 2 images" test "$(json '[e["vs_leader"]["n_pairs"] for e in d["entries"] if e["params"]["threshold"] == "0.45"][0]')" = 2
check "Friedman only on complete images (2)" test "$(json 'd["friedman"]["n"]')" = 2
check "robustness is reported" test "$(json 'sorted(d["robustness"].keys())')" = "['median', 'rank_then_mean']"
expect_rc "bench --format csv" 0 bia bench nuc --no-run --resamples 500 --format csv
check "csv: header and five rows" test "$(lines "$T/out")" = 6
expect_rc "bench --format table" 0 bia bench nuc --no-run --resamples 500
check "table: the tie column" has "$T/out" "leader"
bia bench nuc --no-run --resamples 500 --format md >"$T/md1"
bia bench nuc --no-run --resamples 500 --format md >"$T/md2"
check "table output is deterministic" cmp -s "$T/md1" "$T/md2"
check "md: a markdown table" grep -q '^| rank | entry |' "$T/md1"
expect_rc "bench on DC" 0 bia bench nuc --no-run --metric DC --resamples 500 --format json
check "... ranks on DC" test "$(json 'd["metric"]')" = DC
expect_rc "bench with an unknown metric: usage error" 2 bia bench nuc --metric TRA
expect_rc "bench on a problem without runs" 1 bia bench other --no-run
check "... says so" has "$T/err" "no succeeded run"

# --- compare
expect_rc "compare 3 2" 0 bia compare 3 2 --format json
check "six pairs" test "$(json 'd["n_pairs"]')" = 6
check "wins + ties + losses = pairs" test "$(json 'd["wins"] + d["ties"] + d["losses"]')" = 6
check "run 2 (0.4) beats run 3 (0.6) on every image" test "$(json 'd["losses"]')" = 6
check "differences sorted from A's best" test "$(json '[i["diff"] for i in d["images"]] == sorted([i["diff"] for i in d["images"]], reverse=True)')" = True
check "rank-biserial -1 when A loses everywhere" test "$(json 'd["rank_biserial"]')" = -1.0
check "p-value reported" test "$(json '0 < d["wilcoxon"]["pvalue"] < 0.05')" = True
expect_rc "compare with the subset run leaves 4 images out" 0 bia compare 4 2 --format json
check "... counted" test "$(json '(d["n_pairs"], d["n_left_out"])')" = "(2, 4)"
bia run Threshold-Python other --wait >/dev/null 2>&1
expect_rc "runs of different problems are refused" 1 bia compare 2 6

# --- rerun: exact, within tolerance, not reproduced
expect_rc "rerun 2: reproduced exactly" 0 bia rerun 2 --format json
check "verdict reproduced-exact" test "$(json 'd["reproduction"]')" = reproduced-exact
new=$(json 'd["run"]')
check "stored on the new run (run show)" test "$(bia run show "$new" --format json | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["reproduction"], d["rerun_of"])')" = "reproduced-exact 2"
check "every output identical" test "$(json '(d["detail"]["identical_outputs"], d["detail"]["images"])')" = "(6, 6)"
# make run 2's first output look different (another stored blob): the
# outputs now differ but the metrics still agree
other=$(q "SELECT digest FROM run_output_files WHERE run_id = 3 LIMIT 1")
q "UPDATE run_output_files SET digest = '$other' WHERE run_id = 2 AND image_id = (SELECT min(image_id) FROM run_output_files WHERE run_id = 2)"
expect_rc "rerun 2 after its output changed" 0 bia rerun 2 --format json
check "verdict reproduced-within-tolerance" test "$(json 'd["reproduction"]')" = reproduced-within-tolerance
check "... one differing output" test "$(json 'd["detail"]["differing_outputs"]')" = 1
# and a stored score off by 0.01: beyond the default tolerance, within 0.1
q "UPDATE run_scores SET value = value - 0.01 WHERE run_id = 2 AND metric = 'DC' AND image_id = (SELECT min(image_id) FROM run_scores WHERE run_id = 2)"
expect_rc "rerun 2 after a score changed: not reproduced, exit 1" 1 bia rerun 2 --format json
check "verdict not-reproduced" test "$(json 'd["reproduction"]')" = not-reproduced
check "... names the first difference" test "$(json '"DC" in d["detail"]["first_difference"]')" = True
expect_rc "... within --tolerance 0.1" 0 bia rerun 2 --tolerance 0.1 --format json
check "verdict reproduced-within-tolerance" test "$(json 'd["reproduction"]')" = reproduced-within-tolerance
# --- a built-in workflow on an imported ObjTrk problem: the CTC track file
# of the ground truth (stored as a .txt of the version) is found at ingest
"$BIAFLOWS" gen ObjTrk "$T/trk" --n 1 --size 96x96 --frames 6 --seed 3 >/dev/null 2>&1
bia problem add cells --class ObjTrk >/dev/null
bia dataset import cells "$T/trk" >/dev/null 2>&1
bia workflow add "$(dirname "$0")/../../workflows/CellTracking-Python" --version 1 >/dev/null 2>&1
expect_rc "bench of an ObjTrk problem runs the cell tracker" 0 bia bench cells --workflows CellTracking-Python --resamples 200 --format json
check "... and ranks it on TRA" test "$(json '(d["metric"], d["entries"][0]["n"], d["entries"][0]["mean"] > 0.5)')" = "('TRA', 1, True)"
check "... one image: no CI, no verdict, and a note saying why" \
	test "$(json '(d["too_few_images"], d["entries"][0]["ci95"], d["entries"][0]["tied_with_first"], d["note"][:40])')" = "(True, [None, None], None, 'n = 1: too few images to compare (confid')"
expect_rc "the same as a table" 0 bia bench cells --workflows CellTracking-Python --resamples 200
check "... says n = 1 is too few" has "$T/out" "n = 1: too few images to compare"
check "... prints n/a, never nan" eval '! grep -qw nan "$T/out"'
"$BIAFLOWS" gen ObjTrk "$T/trkh" --n 1 --size 96x96 --frames 6 --seed 3 --difficulty hard >/dev/null 2>&1
bia problem add cellsh --class ObjTrk >/dev/null
bia dataset import cellsh "$T/trkh" >/dev/null 2>&1
expect_rc "the cell tracker on a hard sequence" 0 bia run CellTracking-Python cellsh --wait
CR=$(tail -1 "$T/out")
expect_rc "errors of the tracking run, one image" 0 bia errors "$CR" --image objtrk_000 --format json
check "... every AOGM operation names its frame (an edge: both)" test "$(json 'len(d) > 0 and all(isinstance(r["frame"], int) or (isinstance(r["frame"], list) and len(r["frame"]) == 2) for r in d)')" = True

# the worker judges a rerun itself (no one waiting for it)
expect_rc "rerun --no-wait" 0 bia rerun 3 --no-wait
nr=$(tail -1 "$T/out")
for _ in $(seq 100); do [ -n "$(q "SELECT verdict FROM run_reruns WHERE run_id = $nr")" ] && break; sleep 0.1; done
check "... the worker stored the verdict" test "$(q "SELECT verdict FROM run_reruns WHERE run_id = $nr")" = reproduced-exact
expect_rc "rerun of an unknown run" 1 bia rerun 999
expect_rc "bad tolerance: usage error" 2 bia rerun 2 --tolerance -1
# --- rescoring: after `gt add`, a run scored against the old GT is
# rescored (old scores kept in history), and bench never ranks stale scores
expect_rc "a run on 'other'" 0 bia run Threshold-Python other --param threshold=0.4 --wait
OR=$(tail -1 "$T/out")
expect_rc "... its record" 0 bia run show "$OR" --format json
before=$(json 'd["main_metric_mean"]')
gt_before=$(json 'd["images"][0]["gt_version_id"]')
expect_rc "rescore: nothing stale yet" 0 bia rescore other
check "... says so" has "$T/out" "no run of 'other' needed rescoring"
"$BIAFLOWS" gen ObjSeg "$T/ds2" --n 6 --size 64x64 --seed 9 --difficulty easy >/dev/null 2>&1
for f in "$T"/ds2/groundtruth/*.tif; do bia gt add "other/$(basename "$f" .tif)" "$f" --annotator second >/dev/null; done
expect_rc "bench after gt add" 0 bia bench other --workflows Threshold-Python --resamples 200 --format json
check "... says it rescored the stale run" has "$T/err" "rescored run $OR (Threshold-Python@1): 6 of 6 images were scored against an older ground truth"
after=$(json 'd["entries"][0]["mean"]')
check "... and ranks the new scores (the mean changed)" test "$before" != "$after"
expect_rc "the run's record" 0 bia run show "$OR" --format json
check "... now names the new GT versions" test "$(json 'd["images"][0]["gt_version_id"]')" != "$gt_before"
check "... and the new mean" test "$(json 'd["main_metric_mean"]')" = "$after"
check "the old scores are kept in history" test "$(q "SELECT count(*) FROM run_score_history WHERE run_id = $OR AND gt_version_id = $gt_before")" = 8
expect_rc "rescore PROBLEM: nothing stale any more" 0 bia rescore other --format json
check "... an empty list" test "$(json 'len(d)')" = 0
expect_rc "rescore RUN: every image again" 0 bia rescore "$OR" --format json
check "... 6 images rescored, same value" test "$(json '(d[0]["rescored_images"], d[0]["after"] == d[0]["before"])')" = "(6, True)"
expect_rc "rescore of a run that did not succeed" 1 bia rescore 999
# --- competition ranking: two versions that produce the same outputs share
# rank =1 (never an average rank 1.5)
cp -r "$WF" "$T/wf2"
echo "# the same workflow, another version" >"$T/wf2/NOTES.txt"
bia workflow add "$T/wf2" --version 2 >/dev/null 2>&1
expect_rc "bench of two identical versions" 0 bia bench nuc --workflows Threshold-Python@1,Threshold-Python@2 --resamples 200 --format json
check "... the two threshold=0.5 settings share rank 3 (competition ranking), the next is 5" test "$(json '[(e["entry"], e["rank"], e["rank_shared"]) for e in d["entries"] if e["rank"] in (3, 4, 5)]')" = "[('Threshold-Python@1', 3, True), ('Threshold-Python@2', 3, True), ('Threshold-Python@1', 5, False)]"
expect_rc "... as a table" 0 bia bench nuc --workflows Threshold-Python@1,Threshold-Python@2 --resamples 200
check "... shown as =N" test "$(grep -c '^=[0-9]* ' "$T/out")" -ge 2
# --- a one-sided main metric shows its companion beside it
expect_rc "bench on FOVL (overlap of GT objects only)" 0 bia bench nuc --workflows Threshold-Python@1 --metric FOVL --resamples 200 --format json
check "... names DC as its companion, with a mean per entry" test "$(json '(d["companion_metric"], all(isinstance(e["companion_mean"], float) for e in d["entries"]))')" = "('DC', True)"
expect_rc "... as a table" 0 bia bench nuc --workflows Threshold-Python@1 --metric FOVL --resamples 200
check "... with a 'DC mean' column and a line saying why" eval 'has "$T/out" "DC mean" && has "$T/out" "FOVL only penalises one kind of error"'
# --- sweeps: values compared by type, parameters in full, failed settings
N0=$(nruns)
expect_rc "sweep threshold=0.40 (the 0.4 setting of the first sweep)" 0 bia sweep Threshold-Python@1 nuc --param threshold=0.40 --resamples 200 --format json
check "... reuses its run: nothing queued" test "$(nruns)" = "$N0"
expect_rc "sweep threshold=0.3,0.30 is one setting" 0 bia sweep Threshold-Python@1 nuc --param threshold=0.3,0.30 --resamples 200 --format json
check "... one run queued, one entry" test "$(($(nruns) - N0)):$(json 'len(d["entries"])')" = "1:1"
expect_rc "sweep with a long string value" 0 bia sweep Threshold-Python@1 nuc --param "label=a label long enough to have been cut in the table before" --param threshold=0.3 --resamples 200
check "... the table shows it in full" has "$T/out" "label=a label long enough to have been cut in the table before"
check "... and the parameters common to every entry" has "$T/out" "parameters of every entry: "
expect_rc "sweep where a setting fails: exit 1" 1 bia sweep Threshold-Python@1 nuc --param fail=0,3 --param threshold=0.35 --resamples 200
check "... the failed setting is listed with the last line of its log" grep -q "fail=3 threshold=0.35  run [0-9]* failed: in_nlink=" "$T/out"
expect_rc "... and in JSON" 1 bia sweep Threshold-Python@1 nuc --param fail=0,3 --param threshold=0.35 --resamples 200 --format json
check "... failed_settings with status and reason" test "$(json '[(f["params"]["fail"], f["status"], f["reason"][:9]) for f in d["failed_settings"]]')" = "[('3', 'failed', 'in_nlink=')]"
# --- compare: headers name each run's parameters
expect_rc "compare two settings" 0 bia compare 1 2
check "... the header shows each run's parameters" grep -q "A = run 1 (Threshold-Python@1, .*threshold=0.2).*B = run 2 (Threshold-Python@1, .*threshold=0.4)" "$T/out"
finish
