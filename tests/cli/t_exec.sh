#!/usr/bin/env bash
# biaflows exec: a workflow run on a folder in the sandbox, no instance.
. "$(dirname "$0")/lib.sh"
WF=$FIX/workflows/py-threshold
PY=/usr/bin/python3
jq_py() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }
"$BIAFLOWS" gen ObjSeg "$T/ds" --n 2 --size 96x96 --difficulty easy --seed 3 >/dev/null 2>&1
IN=$T/ds/images
GT=$T/ds/groundtruth

sum_in() { (cd "$IN" && sha256sum objseg_000.tif objseg_001.tif); }
SUM0=$(sum_in)
expect_rc "exec with --gt" 0 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o1" --gt "$GT" --param threshold=0.4 --param "label=a b"
check "two images scored" test "$(jq_py 'len(d["images"])')" = 2
check "class from the descriptor" test "$(jq_py 'd["class"]')" = ObjSeg
check "threshold baseline is good on easy data (DC > 0.9)" test "$(jq_py 'd["aggregate"]["DC"]["mean"] > 0.9')" = True
check "outputs copied to --out" test -f "$T/o1/objseg_000.tif" -a -f "$T/o1/objseg_001.tif"
check "run summary on stderr" has "$T/err" "workflow 'Threshold-Python' ok (exit code 0)"
check "ground truth is not visible to the workflow" grep -qx "gt_files=0" "$T/o1/sandbox.txt"
check "inputs are read-only" grep -qx "in_writable=no" "$T/o1/sandbox.txt"
check "working directory is /app" grep -qx "cwd=/app" "$T/o1/sandbox.txt"
check "single-plane TIFF inputs are staged as hard links (link count 2)" grep -qx "in_nlink=2 2" "$T/o1/sandbox.txt"
check "... of the originals (same inodes)" grep -qx "in_inodes=$(stat -c %i "$IN/objseg_000.tif") $(stat -c %i "$IN/objseg_001.tif")" "$T/o1/sandbox.txt"
check "the originals are unchanged after the run" test "$(sum_in)" = "$SUM0"
check "... and no longer linked (stage removed)" test "$(stat -c %h "$IN/objseg_000.tif")" = 1
check "a value with a space arrives as one argument" test "$(cat "$T/o1/label.txt")" = "a b"
check "the workflow's output is logged with timestamps" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*thresholding 2 images at 0.4' "$T/err"

expect_rc "without --gt: the run report" 0 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o2" --param threshold=0.4
check "report status ok" test "$(jq_py 'd["status"]')" = ok
check "report lists the effective parameters with defaults" test "$(jq_py 'd["parameters"]["threshold"]')" = 0.4
check "report: every output ok" test "$(jq_py '[o["status"] for o in d["outputs"]]')" = "['ok', 'ok']"

expect_rc "a missing output is scored as empty" 0 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o3" --gt "$GT" --param skip=objseg_000
check "missing image marked" test "$(jq_py 'd["images"][0].get("missing", False)')" = True
check "missing image: DC = 0" test "$(jq_py 'd["images"][0]["metrics"]["DC"]')" = 0.0
check "warning names the image" has "$T/err" "objseg_000: missing"

expect_rc "bad parameter value: usage error before anything runs" 2 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o4" --param threshold=abc
check "names the parameter" has "$T/err" "threshold"
check "nothing ran: --out not created" test ! -e "$T/o4"
expect_rc "parameter out of range" 2 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o4" --param threshold=2
expect_rc "unknown parameter" 2 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o4" --param nope=1
expect_rc "set-by-server parameter cannot be given" 2 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o4" --param cytomine_host=x

expect_rc "a failing workflow: exit 1" 1 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o5" --gt "$GT" --param fail=3
check "status failed, exit code 3" test "$(jq_py '(d["status"], d["exit_code"])')" = "('failed', 3)"
# (a label unique to this test names its processes: only they are checked)
TAG=t-exec-timeout-$$-$RANDOM
expect_rc "a workflow past its time: exit 1" 1 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o6" --param sleep=30 --param "label=$TAG" --timeout 1
check "status timed_out" test "$(jq_py 'd["status"]')" = timed_out
check "no workflow process left" test -z "$(pgrep -f "$TAG" || true)"

mkdir -p "$T/in2" && cp "$IN"/objseg_00[01].tif "$T/in2/" && chmod 600 "$T/in2/objseg_000.tif"
expect_rc "an input not readable by all" 0 "$BIAFLOWS" exec "$WF" --in "$T/in2" --out "$T/o10"
check "... is re-encoded, not linked (the sandbox user must read it)" grep -qx "in_nlink=1 2" "$T/o10/sandbox.txt"

# sandbox limits from the command line (override the descriptor's resources)
expect_rc "--processes 8: a workflow starting 50 processes fails" 1 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/p1" --processes 8 --param spawn=50
check "status process_limit" test "$(jq_py 'd["status"]')" = process_limit
check "... the reason names the limit" test "$(jq_py '"process limit of 8" in d["reason"]')" = True
expect_rc "50 processes under the default limit: ok" 0 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/p2" --param spawn=50
expect_rc "--output 1M: a workflow writing 5 MB fails" 1 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/p3" --output 1M --param big=5
check "status output_limit" test "$(jq_py 'd["status"]')" = output_limit
expect_rc "5 MB under --output 10M: ok" 0 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/p4" --output 10M --open-files 64 --param big=5
for bad in "--processes 0" "--processes 100001" "--processes 8x" "--open-files 15" "--open-files 1048577" "--open-files many" "--output 0" "--output 2X"; do
	# shellcheck disable=SC2086
	expect_rc "bad $bad: usage error" 2 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/p5" $bad
	check "... nothing ran" test ! -e "$T/p5"
done

mkdir -p "$T/o7" && touch "$T/o7/old.tif"
expect_rc "non-empty --out refused" 1 "$BIAFLOWS" exec "$WF" --in "$IN" --out "$T/o7"
check "... saying so" has "$T/err" "is not empty"
mkdir -p "$T/nowf"
expect_rc "folder without descriptor" 1 "$BIAFLOWS" exec "$T/nowf" --in "$IN" --out "$T/o8"
check "... names descriptor.json" has "$T/err" "descriptor.json"
expect_rc "missing --in" 2 "$BIAFLOWS" exec "$WF" --out "$T/o9"

# BIAFLOWS compatibility: an unmodified BIAFLOWS-style descriptor (five
# set-by-server cytomine_* inputs) run in its container image, given as a
# `docker save` archive of a busybox image with a shell wrapper
C=$FIX/workflows/biaflows-compat
"$C/make-image" "$T/compat.tar"
expect_rc "BIAFLOWS descriptor without an engine or archive: refused" 1 "$BIAFLOWS" exec "$C" --in "$IN" --out "$T/c0"
check "... explaining how to give an archive" has "$T/err" "archive"
expect_rc "BIAFLOWS workflow in its image" 0 "$BIAFLOWS" exec "$C" --image-archive "$T/compat.tar" --envs "$T/envs" --in "$IN" --out "$T/c1" --param "ij_label=two words" --param ij_radius=7
R=$T/c1/report.txt
check "local-mode flags arrive" grep -qx "local=yes" "$R"
check "-nmc arrives (metrics are the platform's)" grep -qx "nmc=yes" "$R"
check "no cytomine_* argument is passed" grep -qx "cytomine_args=no" "$R"
check "the leading 'python wrapper.py' follows the Entrypoint" grep -qx "positional=2" "$R"
check "a parameter value arrives" grep -qx "radius=7" "$R"
check "a value with a space arrives intact" grep -qx "label=two words" "$R"
check "the image's Env arrives" grep -qx "greeting=hello from the image" "$R"
check "the image's WorkingDir is used" grep -qx "pwd=/app" "$R"
check "a file present only in the archive is seen" grep -qx "image_file=from the image" "$R"
check "a file removed by a whiteout is not" grep -qx "whiteout=applied" "$R"
check "the host's /usr is not visible" grep -qx "host_usr=hidden" "$R"
check "ground truth is not visible" grep -qx "gt_files=0" "$R"
check "outputs written" test -f "$T/c1/objseg_000.tif" -a -f "$T/c1/objseg_001.tif"
expect_rc "the unpacked image is reused" 0 "$BIAFLOWS" exec "$C" --image-archive "$T/compat.tar" --envs "$T/envs" --in "$IN" --out "$T/c2"
check "default parameters used" grep -qx "radius=5" "$T/c2/report.txt"
check "one unpacked image" test "$(ls "$T/envs" | wc -l)" = 1
expect_rc "its run report (json)" 0 "$BIAFLOWS" exec "$C" --image-archive "$T/compat.tar" --envs "$T/envs" --in "$IN" --out "$T/c3" --format json
check "... names the environment by the image's digest" grep -q '"environment": "sha256:[0-9a-f]\{64\}"' "$T/out"
# a compressed (LZW) input is re-encoded, not linked: a workflow whose TIFF
# reader lacks the codec (tifffile without imagecodecs) still reads it
mkdir -p "$T/lzw"
tiffcp -c lzw "$IN/objseg_000.tif" "$T/lzw/objseg_000.tif"
expect_rc "an LZW-compressed input is read by the workflow" 0 "$BIAFLOWS" exec "$WF" --in "$T/lzw" --out "$T/o-lzw" --gt "$GT" --param threshold=0.4
check "... and scored (not missing)" test "$(jq_py 'd["images"][0].get("missing", False)')" = False
check "... staged as a copy, not a link" grep -qx "in_nlink=1" "$T/o-lzw/sandbox.txt"
# a hostile workflow writes small TIFFs that decode to 46000 x 46000 (2.1 GB):
# refused from their header (the run's 256 MB budget, the input's shape),
# quickly and without decoding them
BW=$FIX/workflows/py-bomb
python3 - "$BIAFLOWS" "$BW" "$IN" "$T/bomb" "$T/bomb.txt" <<'PY'
import resource, subprocess, sys, time
bia, wf, inp, out, rep = sys.argv[1:]
t = time.time()
r = subprocess.run([bia, "exec", wf, "--in", inp, "--out", out], capture_output=True, text=True)
open(rep, "w").write("rc=%d\nseconds=%.2f\nmaxrss_kb=%d\n%s" % (
    r.returncode, time.time() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.stderr))
PY
check "bomb outputs: the workflow ran" grep -q "claiming 46000x46000" "$T/bomb.txt"
check "bomb outputs: refused within the run's memory budget" grep -q "more than the memory budget of 268435456 bytes" "$T/bomb.txt"
check "bomb outputs: none valid" grep -q "0 of 2 outputs valid" "$T/bomb.txt"
check "bomb outputs: under 50 MB of memory" test "$(sed -n 's/^maxrss_kb=//p' "$T/bomb.txt")" -lt 51200
check "bomb outputs: under 10 s" python3 -c "import sys; sys.exit(not float('$(sed -n 's/^seconds=//p' "$T/bomb.txt")') < 10)"
expect_rc "bomb outputs with an 8 GB budget" 0 "$BIAFLOWS" exec "$BW" --in "$IN" --out "$T/bomb2" --memory 8G
check "... refused by shape, from the header" has "$T/err" "shape 46000x46000x1 T=1 differs from the input's"
# relative paths everywhere: --in, --out, --gt relative to the current folder
mkdir -p "$T/rel"
cp -r "$IN" "$T/rel/images"
cp -r "$GT" "$T/rel/gt"
(cd "$T/rel" && "$BIAFLOWS" exec "$WF" --in images --out out --gt gt --format json >"$T/out" 2>"$T/err"); rc=$?
check "exec with relative --in, --out and --gt" test "$rc" = 0
check "... scored, nothing missing" test "$(jq_py 'sum(1 for i in d["images"] if i.get("missing"))')" = 0
(cd "$T/rel" && "$BIAFLOWS" exec "$WF" --in ./images --out ../rel-out2 --gt ./gt >/dev/null 2>"$T/err"); rc=$?
check "... and with ./ and ../ forms" test "$rc" = 0
finish
