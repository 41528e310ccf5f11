#!/usr/bin/env bash
# biaflows run / runs / worker / logs / cancel: the run queue, the worker,
# ingest and metrics, recovery after a crash (docs/runs.md).
. "$(dirname "$0")/lib.sh"
WF=$FIX/workflows/py-threshold
PY=/usr/bin/python3
I=$T/inst
DB=$I/biaflows.db
q() { sqlite3 -cmd ".timeout 10000" "$DB" "$1"; }
status() { q "SELECT status FROM runs WHERE id = $1"; }
nruns() { q "SELECT count(*) FROM runs"; }
is_status() { [ "$(status "$1")" = "$2" ]; }
lock_free() { flock -n "$I/worker.lock" true; }
final() { case "$(status "$1")" in succeeded | failed | cancelled | timed_out) return 0 ;; esac; return 1; }
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }

# Register a workflow folder as a version: `workflow add` when this binary
# has it, else rows and blobs written directly.
wf_add() {
	local dir=$1 ver=$2
	if "$BIAFLOWS" workflow -h 2>/dev/null | grep -q "workflow add"; then
		bia workflow add "$dir" --version "$ver" >/dev/null
		return
	fi
	local name cls now f d vid
	name=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['name'])" "$dir/descriptor.json")
	cls=$($PY -c "import json,sys; print(json.load(open(sys.argv[1])).get('problem-class',''))" "$dir/descriptor.json")
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	q "INSERT OR IGNORE INTO workflows(name, created_at) VALUES ('$name', '$now');
	   INSERT INTO workflow_versions(workflow_id, version, digest, descriptor, problem_class, source, created_at)
	   SELECT id, '$ver', '$(cd "$dir" && find . -type f | sort | xargs sha256sum | sha256sum | cut -c1-64)',
	   readfile('$dir/descriptor.json'), '$cls', '$dir', '$now' FROM workflows WHERE name = '$name';"
	vid=$(q "SELECT max(id) FROM workflow_versions")
	(cd "$dir" && find . -type f | sed 's#^\./##' | sort) | while read -r f; do
		d=$(sha256sum "$dir/$f" | cut -c1-64)
		mkdir -p "$I/blobs/sha256/${d:0:2}"
		cp "$dir/$f" "$I/blobs/sha256/${d:0:2}/${d:2}"
		q "INSERT OR IGNORE INTO blobs(digest, size, created_at) VALUES ('$d', $(stat -c %s "$dir/$f"), '$now');
		   INSERT INTO workflow_files(version_id, path, digest, bytes, mode)
		   VALUES ($vid, '$f', '$d', $(stat -c %s "$dir/$f"), $([ -x "$dir/$f" ] && echo 493 || echo 420));"
	done
}

"$BIAFLOWS" init "$I" >/dev/null 2>&1
"$BIAFLOWS" gen ObjSeg "$T/ds" --n 3 --size 64x64 --difficulty easy --seed 3 >/dev/null 2>&1
GT=$T/ds/groundtruth
bia problem add P --class ObjSeg >/dev/null
bia problem add Q --class SptCnt >/dev/null
bia dataset import P "$T/ds" >/dev/null 2>&1
wf_add "$WF" 1.0
# a copy with a 1 s time limit, for the timeout
cp -r "$WF" "$T/fast"
sed -i 's/"Threshold-Python"/"Threshold-Fast"/; s/"time": "2m"/"time": "1s"/' "$T/fast/descriptor.json"
wf_add "$T/fast" 1.0
check "workflows registered" test "$(q 'SELECT count(*) FROM workflow_versions')" = 2

expect_rc "worker answers -h" 0 "$BIAFLOWS" worker -h
expect_rc "run answers -h" 0 "$BIAFLOWS" run -h

# --- a run that succeeds
expect_rc "run --wait succeeds" 0 bia run Threshold-Python P --param threshold=0.4 --wait
R1=$(head -1 "$T/out")
check "prints the run id" test "$R1" = 1
check "ends with the status and the main metric" grep -q "^run 1 succeeded: mAP [0-9.]* over 3 images" "$T/err"
check "status succeeded" is_status "$R1" succeeded
check "three outputs ok" test "$(q "SELECT count(*) FROM run_outputs WHERE run_id = $R1 AND status = 'ok'")" = 3
check "outputs are blobs" test "$(q "SELECT count(*) FROM run_output_files WHERE run_id = $R1")" = 3
check "every metric of the class for every image" test "$(q "SELECT count(*) FROM run_scores WHERE run_id = $R1")" = 24
check "scores record the GT version and metric library version" \
	test "$(q "SELECT count(*) FROM run_scores s JOIN gt_versions g ON g.id = s.gt_version_id AND g.is_current = 1 WHERE s.run_id = $R1 AND s.metrics_version = '1.1.0'")" = 24
check "run records env, dataset digest, executor, exit code" \
	test "$(q "SELECT env_digest || ' ' || length(dataset_digest) || ' ' || executor || ' ' || exit_code FROM runs WHERE id = $R1")" = "host 64 local 0"
expect_rc "runs show --format json" 0 bia runs show "$R1" --format json
check "show: status and BIAFLOWS code" test "$(json '(d["status"], d["code"])')" = "('succeeded', 3)"
check "show: parameters with defaults filled in" test "$(json '(d["params"]["threshold"], d["params"]["fail"])')" = "('0.4', '0')"
check "show: three images with outputs and metrics" test "$(json 'sum(1 for i in d["images"] if i["outputs"] and "DC" in i["metrics"])')" = 3
check "show: aggregates" test "$(json 'd["aggregate"]["DC"]["n"]')" = 3
check "show: the binary outputs are warned about, once for the run, naming the images" \
	test "$(json '[(w["warning"][:39], len(w["images"])) for w in d["warnings"] if "binary output" in w["warning"]]')" = "[('ObjSeg: binary output (every object has', 3)]"
check "... and on each image" test "$(json 'sum(1 for i in d["images"] if any("binary output" in w for w in i["warnings"]))')" = 3
cp "$T/out" "$T/show1.json"
# the same outputs scored by `biaflows metrics`
mkdir -p "$T/pred"
q "SELECT i.stem || ' ' || f.digest FROM run_output_files f JOIN images i ON i.id = f.image_id WHERE f.run_id = $R1" |
	while read -r stem d; do cp "$I/blobs/sha256/${d:0:2}/${d:2}" "$T/pred/$stem.tif"; done
"$BIAFLOWS" metrics ObjSeg "$T/pred" "$GT" --format json >"$T/metrics.json" 2>/dev/null
check "scores equal 'biaflows metrics' on the same files" $PY -c '
import json, math, sys
run = json.load(open(sys.argv[1])); ref = json.load(open(sys.argv[2]))
want = {i["name"]: i["metrics"] for i in ref["images"]}
ok = len(want) == 3
for im in run["images"]:
    for k, v in want[im["stem"]].items():
        w = im["metrics"][k]
        ok &= (v is None and w is None) or abs(v - w) <= 1e-9 * max(1, abs(v))
sys.exit(0 if ok else 1)' "$T/show1.json" "$T/metrics.json"
expect_rc "runs list" 0 bia runs --format json
check "list: workflow@version, status code and main metric mean" \
	test "$(json '(d[0]["workflow"], d[0]["code"], d[0]["main_metric"], d[0]["mean"] is not None)')" = "('Threshold-Python@1.0', 3, 'mAP', True)"
expect_rc "runs --format csv" 0 bia runs --problem P --format csv
check "csv header" has "$T/out" "id,workflow,problem,status,code"
expect_rc "logs" 0 bia logs "$R1"
check "log has the workflow's output with timestamps" grep -qE '^[0-9-]{10}T.*thresholding 3 images at 0.4' "$T/out"
expect_rc "logs --follow of a finished run ends" 0 bia logs "$R1" --follow

# --- refusals: nothing queued
N=$(nruns)
expect_rc "bad parameter refused" 2 bia run Threshold-Python P --param threshold=abc
check "... naming the parameter" has "$T/err" "threshold"
expect_rc "unknown parameter refused" 2 bia run Threshold-Python P --param nope=1
expect_rc "class mismatch refused" 1 bia run Threshold-Python Q
check "... saying the classes must match" has "$T/err" "classes must match"
expect_rc "unknown version refused" 1 bia run Threshold-Python@9.9 P
expect_rc "unknown image refused" 1 bia run Threshold-Python P --images nope
check "no run queued by refusals" test "$(nruns)" = "$N"

# --- a subset by stem and id, with an image skipped by the workflow
expect_rc "a skipped image: the run still succeeds" 0 bia run Threshold-Python@1.0 P --images objseg_000,objseg_001 --param skip=objseg_001 --wait
R=$(head -1 "$T/out")
check "two images in the run" test "$(q "SELECT count(*) FROM run_outputs WHERE run_id = $R")" = 2
check "skipped image recorded missing with the reason" \
	test "$(q "SELECT o.status || ':' || CAST((o.reason LIKE 'missing:%') AS INTEGER) FROM run_outputs o JOIN images i ON i.id = o.image_id WHERE o.run_id = $R AND i.stem = 'objseg_001'")" = "missing:1"
check "... and scored as empty (DC = 0)" \
	test "$(q "SELECT count(*) FROM run_scores s JOIN images i ON i.id = s.image_id WHERE s.run_id = $R AND i.stem = 'objseg_001' AND s.metric = 'DC' AND s.value = 0")" = 1

# --- failures
expect_rc "a failing workflow: run --wait exits 1" 1 bia run Threshold-Python P --param fail=3 --wait
R=$(head -1 "$T/out")
check "status failed with exit code 3" test "$(q "SELECT status || ' ' || exit_code FROM runs WHERE id = $R")" = "failed 3"
check "no scores for a failed run" test "$(q "SELECT count(*) FROM run_scores WHERE run_id = $R")" = 0
expect_rc "a run past the descriptor's time limit: exit 1" 1 bia run Threshold-Fast P --param sleep=30 --wait
R=$(head -1 "$T/out")
check "status timed_out, BIAFLOWS code 4" test "$(status "$R"):$(bia runs show "$R" --format json | $PY -c 'import json,sys; print(json.load(sys.stdin)["code"])')" = "timed_out:4"

# --- cancel: a running run and a queued one behind it
TAG=t-runs-cancel-$$-$RANDOM # names this test's workflow processes
expect_rc "queue a long run" 0 bia run Threshold-Python P --param sleep=30 --param "label=$TAG"
A=$(head -1 "$T/out")
expect_rc "queue another behind it" 0 bia run Threshold-Python P --param sleep=30
B=$(head -1 "$T/out")
check "the first runs" wait_until 20 is_status "$A" running
check "the second waits" is_status "$B" queued
expect_rc "cancel a queued run" 0 bia cancel "$B"
check "... cancelled at once" is_status "$B" cancelled
expect_rc "cancel a running run" 0 bia cancel "$A"
check "... the worker kills it" wait_until 20 final "$A"
check "... status cancelled" is_status "$A" cancelled
check "no workflow process left" test -z "$(pgrep -f "$TAG" || true)"
expect_rc "cancel of a finished run: exit 1" 1 bia cancel "$A"

# --- a second worker exits at once when the lock is held
expect_rc "a second worker exits when another holds the lock" 0 flock "$I/worker.lock" "$BIAFLOWS" --instance "$I" worker

# --- crash during execution: kill -9 at run.exec
check "no worker before the crash" wait_until 20 lock_free
BIAFLOWS_FAULT=run.exec bia run Threshold-Python P --param sleep=30 >"$T/out" 2>"$T/err"
K=$(head -1 "$T/out")
check "worker killed while the run was running" wait_until 20 eval 'is_status $K running && lock_free'
expect_rc "a later run proceeds" 0 bia run Threshold-Python P --wait
R=$(head -1 "$T/out")
check "the interrupted run is marked failed" \
	test "$(q "SELECT status || ':' || CAST((reason LIKE 'interrupted: worker died%') AS INTEGER) FROM runs WHERE id = $K")" = "failed:1"
check "the later run succeeded" is_status "$R" succeeded
check "the log says why" has "$I/runs/$K/log" "interrupted: worker died"

# --- crash between two images of the ingest: kill -9 at run.ingest
BIAFLOWS_FAULT=run.ingest bia run Threshold-Python P >"$T/out" 2>"$T/err"
G=$(head -1 "$T/out")
check "worker killed while ingesting" wait_until 20 eval 'is_status $G ingesting && lock_free'
check "the first image is stored whole, the others not at all" \
	test "$(q "SELECT count(*) FROM run_outputs WHERE run_id = $G"):$(q "SELECT group_concat(n) FROM (SELECT count(*) n FROM run_scores WHERE run_id = $G GROUP BY image_id) x")" = "1:8"
check "no scores without an output row" \
	test "$(q "SELECT count(*) FROM run_scores s WHERE run_id = $G AND NOT EXISTS (SELECT 1 FROM run_outputs o WHERE o.run_id = s.run_id AND o.image_id = s.image_id)")" = 0
# any command that reads runs recovers it (not only the next worker)
expect_rc "runs (no worker started) after the worker died" 0 bia runs --format json
check "... shows the run failed, not ingesting" test "$(json '[r["status"] for r in d if r["id"] == '$G'][0]')" = failed
check "... saying it recovered a dead worker's run" has "$T/err" "1 run(s) of a worker that died recovered"
check "the run is failed, interrupted" \
	test "$(q "SELECT status || ':' || CAST((reason LIKE 'interrupted: worker died%') AS INTEGER) FROM runs WHERE id = $G")" = "failed:1"
expect_rc "a new worker has nothing to recover" 0 bia worker

# --- consistency
expect_rc "fsck: consistent after everything" 0 bia fsck
check "fsck removed no run output" test "$(q "SELECT count(*) FROM run_output_files WHERE run_id = $R1")" = 3
expect_rc "runs list after everything" 0 bia runs
check "detached workers reported no error (sanitizers included)" \
	eval '! grep -qE "ERROR|runtime error|Sanitizer" "$I/runs/worker.log" 2>/dev/null'
check "every run has ended" test "$(q "SELECT count(*) FROM runs WHERE status IN ('queued','running','ingesting')")" = 0
# BIAFLOWS compatibility through `run`: an unmodified BIAFLOWS descriptor
# with its image attached as a `docker save` archive
C=$FIX/workflows/biaflows-compat
"$C/make-image" "$T/compat.tar"
expect_rc "workflow add --image-archive" 0 bia workflow add "$C" --version v1 --image-archive "$T/compat.tar"
CP=$(bia problem list --format json | /usr/bin/python3 -c 'import json,sys; print([p["name"] for p in json.load(sys.stdin) if p["class"] == "ObjSeg"][0])')
expect_rc "run the BIAFLOWS workflow in its image" 0 bia run Compat-Busybox "$CP" --param "ij_label=two words" --wait
RID=$(cat "$T/out")
expect_rc "its run record" 0 bia run show "$RID" --format json
check "image environment recorded by digest" grep -q '"env_digest": "sha256:' "$T/out"
check "run succeeded" grep -q '"status": "succeeded"' "$T/out"
expect_rc "its log" 0 bia logs "$RID"
# --- per-run limits: --timeout shorter than the descriptor's 2m
cfg() { $PY -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); c[sys.argv[2]]=json.loads(sys.argv[3]); json.dump(c,open(p,"w"),indent=2)' "$I/config" "$1" "$2"; }
N=$(nruns)
expect_rc "bad --timeout refused" 2 bia run Threshold-Python P --timeout abc
expect_rc "bad --memory refused" 2 bia run Threshold-Python P --memory lots
check "nothing queued by bad limits" test "$(nruns)" = "$N"
expect_rc "a run past its own --timeout: exit 1" 1 bia run Threshold-Python P --param sleep=30 --timeout 1s --memory 2G --wait
R=$(head -1 "$T/out")
check "status timed_out by the run's limit" is_status "$R" timed_out
check "the log names the run's limits" has "$I/runs/$R/log" "limits: 1 s, 2147483648 bytes"
expect_rc "run show --format json" 0 bia run show "$R" --format json
check "show: the run's limits" test "$(json '(d["limits"]["time"], d["limits"]["memory"], d["attempts"], d["interrupted"])')" = "(1, 2147483648, 1, 0)"
expect_rc "run show (table)" 0 bia run show "$R"
check "table shows the limits" has "$T/out" "time=1s memory=2147483648"
expect_rc "a run without limits" 0 bia run show "$R1"
check "... shows the descriptor's" has "$T/out" "descriptor"
N=$(nruns)
expect_rc "bad --processes refused" 2 bia run Threshold-Python P --processes 0
expect_rc "bad --open-files refused" 2 bia run Threshold-Python P --open-files 8
expect_rc "bad --output refused" 2 bia run Threshold-Python P --output none
check "nothing queued by bad sandbox limits" test "$(nruns)" = "$N"
expect_rc "a run past its own --processes: exit 1" 1 bia run Threshold-Python P --processes 8 --open-files 256 --output 100M --param spawn=50 --wait
R=$(head -1 "$T/out")
check "status failed" is_status "$R" failed
expect_rc "its record" 0 bia run show "$R" --format json
check "the reason names the process limit" test "$(json '"process limit of 8" in d["reason"]')" = True
check "show: the run's sandbox limits" test "$(json '(d["limits"]["processes"], d["limits"]["open_files"], d["limits"]["output"])')" = "(8, 256, 104857600)"
check "the log names them" has "$I/runs/$R/log" "8 processes, 256 open files, 104857600 output bytes"
expect_rc "run show (table)" 0 bia run show "$R"
check "table shows them" has "$T/out" "processes=8 open_files=256 output=104857600"

# --- max_concurrent_runs = 2: two runs at once, one per slot
check "no worker before the concurrency test" wait_until 20 lock_free
cfg max_concurrent_runs 2
expect_rc "queue a long run (2 slots)" 0 bia run Threshold-Python P --param sleep=30
A=$(head -1 "$T/out")
expect_rc "queue a second long run" 0 bia run Threshold-Python P --param sleep=30
B=$(head -1 "$T/out")
check "both run at once" wait_until 20 eval 'is_status $A running && is_status $B running'
check "... in two slots, by two workers" \
	test "$(q "SELECT count(DISTINCT worker_slot) || ':' || count(DISTINCT worker_pid) FROM runs WHERE id IN ($A, $B)")" = "2:2"
expect_rc "a third worker exits when every slot is held" 0 timeout 20 "$BIAFLOWS" --instance "$I" worker
cfg max_concurrent_runs 3
expect_rc "a worker in a third slot: nothing to do" 0 timeout 20 "$BIAFLOWS" --instance "$I" worker
check "... and it left the live siblings' runs alone" eval 'is_status $A running && is_status $B running'
cfg max_concurrent_runs 2
expect_rc "cancel the first" 0 bia cancel "$A"
expect_rc "cancel the second" 0 bia cancel "$B"
check "... both end" wait_until 20 eval 'final $A && final $B'
check "... cancelled" eval 'is_status $A cancelled && is_status $B cancelled'
check "both slots free again" wait_until 20 eval 'lock_free && flock -n "$I/worker.lock.1" true'
cfg max_concurrent_runs 1

# --- on_interrupted = requeue: kill -9 at run.exec, then a second attempt
cfg on_interrupted '"requeue"'
BIAFLOWS_FAULT=run.exec bia run Threshold-Python P --param sleep=2 >"$T/out" 2>"$T/err"
K=$(head -1 "$T/out")
check "requeue: worker killed while the run was running" wait_until 20 eval 'is_status $K running && lock_free'
expect_rc "a new worker recovers and runs it again" 0 bia worker
check "the run succeeded on the second attempt" \
	test "$(q "SELECT status || ':' || attempts || ':' || interrupted FROM runs WHERE id = $K")" = "succeeded:2:1"
check "the log records the interrupted attempt" has "$I/runs/$K/log" "requeued: attempt 1 interrupted"
check "one set of outputs and scores" \
	test "$(q "SELECT count(*) FROM run_outputs WHERE run_id = $K"):$(q "SELECT count(*) FROM run_scores WHERE run_id = $K")" = "3:24"
BIAFLOWS_FAULT=run.exec bia run Threshold-Python P --param sleep=2 >"$T/out" 2>"$T/err"
K2=$(head -1 "$T/out")
check "requeue: killed again" wait_until 20 eval 'is_status $K2 running && lock_free'
q "UPDATE runs SET attempts = 3 WHERE id = $K2"
expect_rc "a new worker recovers" 0 bia worker
check "after 3 attempts the run is failed" \
	test "$(q "SELECT status || ':' || CAST((reason LIKE 'interrupted: worker died%gave up after 3 attempts') AS INTEGER) FROM runs WHERE id = $K2")" = "failed:1"
cfg on_interrupted '"fail"'
check "every run has ended (new cases)" test "$(q "SELECT count(*) FROM runs WHERE status IN ('queued','running','ingesting')")" = 0
# the instance's pixel limit applies to workflow outputs (the inputs are
# 64x64 = 4096 samples; the bomb writer's outputs claim 100x100), and an
# output is refused from its header, before it is decoded
wf_add "$FIX/workflows/py-bomb" 1
cfg max_pixels 5000
expect_rc "outputs over the instance's pixel limit" 0 bia run Bomb-Writer P --param size=100 --wait
BR=$(tail -1 "$T/out")
expect_rc "... its record" 0 bia run show "$BR" --format json
check "... the outputs are refused by the instance's limit" \
	test "$(json 'sum("exceeds the limit of 5000 samples" in o.get("reason", "") for o in d["images"])')" = 3
$PY -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); del c["max_pixels"]; json.dump(c,open(p,"w"))' "$I/config"
expect_rc "outputs of 46000x46000 (2.1 GB decoded) under a 256 MB run" 0 bia run Bomb-Writer P --wait
BR=$(tail -1 "$T/out")
expect_rc "... its record" 0 bia run show "$BR" --format json
check "... refused by the run's memory budget, from the header" \
	test "$(json 'sum("more than the memory budget of 268435456 bytes" in o.get("reason", "") for o in d["images"])')" = 3
# staging by hard link: single-plane TIFF images are linked from the blob
# store (the workflow prints the link counts of its inputs)
expect_rc "a run on TIFF inputs" 0 bia run Threshold-Python P --param threshold=0.4 --wait
SR=$(tail -1 "$T/out")
expect_rc "its log" 0 bia logs "$SR"
# (2 or more: interrupted runs above may keep staged links of the same blobs)
check "inputs staged as hard links of the blobs (link count >= 2)" grep -qE "in_nlink=([2-9]|[1-9][0-9]+)( ([2-9]|[1-9][0-9]+))*$" "$T/out"
# runners killed with SIGKILL above leave their output mount and cgroups;
# the next run sweeps those of dead runners (names carry the runner's pid).
# Only the runners this test killed are checked (their pids are in the run
# logs), never what other processes on the machine own.
expect_rc "a run after the kills" 0 bia run Threshold-Python P --param threshold=0.4 --wait
# gone PID: exited, or a zombie its parent has not reaped
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]; }
killed=$(grep -ho "running (worker pid [0-9]*)" "$I"/runs/*/log | tr -dc '0-9\n' | sort -u)
check "the test killed runners (pids from their logs)" test -n "$killed"
mounts=0 cgroups=0
for pid in $killed; do
	gone "$pid" || continue
	grep -q "/biaflows-out-$pid-" /proc/mounts && mounts=$((mounts + 1))
	for c in /sys/fs/cgroup/pids/biaflows-exec-"$pid"-* /sys/fs/cgroup/memory/biaflows-exec-"$pid"-*; do
		[ -d "$c" ] && cgroups=$((cgroups + 1))
	done
done
check "no output mount of a runner this test killed is left" test "$mounts" = 0
check "no cgroup of a runner this test killed is left" test "$cgroups" = 0

# a killed runner that its parent does not reap stays a zombie (as under an
# init that reaps orphans late): the sweep and the recovery treat it as dead
$PY - "$BIAFLOWS" "$I" "$T/zombie.txt" <<'PY'
import fcntl, os, subprocess, sys, time
bia, inst, rep = sys.argv[1:]
out = open(rep, "w")
def state(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
def leftovers(pid):
    m = sum(f"/biaflows-out-{pid}-" in l for l in open("/proc/mounts"))
    c = sum(1 for d in ("pids", "memory") if os.path.isdir(f"/sys/fs/cgroup/{d}")
            for e in os.listdir(f"/sys/fs/cgroup/{d}") if e.startswith(f"biaflows-exec-{pid}-"))
    return m, c
# hold the worker slot so that `run` queues without starting a worker
lk = open(os.path.join(inst, "worker.lock"), "a")
fcntl.flock(lk, fcntl.LOCK_EX)
r = subprocess.run([bia, "--instance", inst, "run", "Threshold-Python", "P", "--param", "sleep=30"],
                   capture_output=True, text=True)
run_id = r.stdout.split()[0]
fcntl.flock(lk, fcntl.LOCK_UN)
# our child: killed with SIGKILL once its sandbox is up (its output mount
# exists), never waited for
import signal
w = subprocess.Popen([bia, "--instance", inst, "worker"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
for _ in range(600):  # the sandbox is up: its output mount and its cgroups
    m, c = leftovers(w.pid)
    if m and c:
        break
    time.sleep(0.05)
time.sleep(0.2)
os.kill(w.pid, signal.SIGKILL)
for _ in range(300):
    if state(w.pid) == "Z":
        break
    time.sleep(0.1)
print(f"zombie={state(w.pid)}", file=out)
m, c = leftovers(w.pid)
print(f"before mounts={m} cgroups={int(c > 0)}", file=out)
r = subprocess.run([bia, "--instance", inst, "run", "Threshold-Python", "P", "--wait"],
                   capture_output=True, text=True)
print(f"next rc={r.returncode}", file=out)
m, c = leftovers(w.pid)
print(f"after mounts={m} cgroups={c}", file=out)
print(f"still_zombie={state(w.pid)}", file=out)
s = subprocess.run([bia, "--instance", inst, "runs", "show", run_id, "--format", "json"],
                   capture_output=True, text=True).stdout
import json
d = json.loads(s)
print(f"killed_run={d['status']}:{d['reason']}", file=out)
w.wait()
PY
check "zombie: the killed runner is an unreaped zombie" grep -qx "zombie=Z" "$T/zombie.txt"
check "zombie: it left its output mount and cgroups" grep -qx "before mounts=1 cgroups=1" "$T/zombie.txt"
check "zombie: the next run succeeds" grep -qx "next rc=0" "$T/zombie.txt"
check "zombie: its mount and cgroups are swept" grep -qx "after mounts=0 cgroups=0" "$T/zombie.txt"
check "zombie: ... while it is still a zombie" grep -qx "still_zombie=Z" "$T/zombie.txt"
check "zombie: its run is recovered as interrupted" grep -q "^killed_run=failed:interrupted: worker died (pid [0-9]*, while running)" "$T/zombie.txt"
grep "^killed_run" "$T/zombie.txt"
# --- getting outputs out; removing images and GT referenced by runs
expect_rc "run outputs RUN -o DIR" 0 bia run outputs "$R1" -o "$T/r1out"
check "... the three outputs, by name, as stored" test "$(cd "$T/r1out" && ls | tr '\n' ' ')" = "objseg_000.tif objseg_001.tif objseg_002.tif "
d0=$(sha256sum "$T/r1out/objseg_000.tif" | cut -c1-64)
check "... byte-identical to the stored blob" test "$(q "SELECT count(*) FROM run_output_files WHERE run_id = $R1 AND name = 'objseg_000.tif' AND digest = '$d0'")" = 1
expect_rc "... into a folder that is not empty: refused" 1 bia run outputs "$R1" -o "$T/r1out"
expect_rc "image rm of an image runs used: refused" 1 bia image rm P/objseg_000
check "... saying why and how" eval 'has "$T/err" "is referenced by" && has "$T/err" "--force"'
gv=$(q "SELECT g.id FROM gt_versions g JOIN images i ON i.id = g.image_id WHERE i.stem = 'objseg_001' AND g.is_current = 1")
expect_rc "gt rm of a version runs are scored against: refused" 1 bia gt rm "$gv"
check "... saying so" has "$T/err" "scores"
expect_rc "queue a long run" 0 bia run Threshold-Python P --param sleep=30
LR=$(head -1 "$T/out")
expect_rc "image rm --force while a run uses it: refused" 1 bia image rm P/objseg_001 --force
check "... naming the run" has "$T/err" "is used by run $LR, which has not ended"
expect_rc "cancel it" 0 bia cancel "$LR"
check "... it ends" wait_until 20 final "$LR"
expect_rc "image rm --force" 0 bia image rm P/objseg_000 --force
check "... the image, its GT and the runs' rows of it are gone" \
	test "$(q "SELECT (SELECT count(*) FROM images WHERE stem = 'objseg_000') + (SELECT count(*) FROM run_outputs o LEFT JOIN images i ON i.id = o.image_id WHERE i.id IS NULL)")" = 0
expect_rc "... the run still shows, with the other images" 0 bia run show "$R1" --format json
check "... two images left" test "$(json 'len(d["images"])')" = 2
expect_rc "fsck after the removal" 0 bia fsck
# --- lists are paged; the run list's means agree with run show (summaries)
NR=$(nruns)
expect_rc "runs --limit 2 --offset 1 --format json" 0 bia runs --limit 2 --offset 1 --format json
check "... two runs, the 2nd and 3rd oldest" \
	test "$(json '",".join(str(r["id"]) for r in d)')" = "$(q "SELECT group_concat(id) FROM (SELECT id FROM runs ORDER BY id LIMIT 2 OFFSET 1) x")"
expect_rc "runs --limit 2 (table)" 0 bia runs --limit 2
check "... says which of how many" has "$T/err" "runs 1-2 of $NR"
expect_rc "runs --status cancelled" 0 bia runs --status cancelled --format json
check "... only cancelled runs, all of them" \
	test "$(json 'str(len(d)) + ":" + ",".join(sorted(set(r["status"] for r in d)))')" = "$(q "SELECT count(*) FROM runs WHERE status = 'cancelled'"):cancelled"
expect_rc "runs --limit 0: usage" 2 bia runs --limit 0
expect_rc "runs --status bogus: refused" 1 bia runs --status bogus
check "... naming it" has "$T/err" "unknown run status 'bogus'"
expect_rc "image list --limit 1 --offset 1" 0 bia image list P --limit 1 --offset 1 --format json
check "... one image, the second" test "$(json 'd[0]["stem"]')" = objseg_002
bia runs --format json >"$T/runs.json"
for r in $(q "SELECT id FROM runs WHERE status = 'succeeded' ORDER BY id"); do
	bia run show "$r" --format json >"$T/show.json"
	a=$($PY -c "import json,sys; print(json.dumps([x['mean'] for x in json.load(open(sys.argv[1])) if x['id'] == $r]))" "$T/runs.json")
	b=$($PY -c "import json,sys; print(json.dumps([json.load(open(sys.argv[1]))['main_metric_mean']]))" "$T/show.json")
	[ "$a" = "$b" ] || echo "run $r: list $a, show $b" >>"$T/means.diff"
done
check "every succeeded run: the list's mean is run show's (a removed image included)" test ! -s "$T/means.diff"
check "the image removal dropped the summaries of the runs that scored it" \
	test "$(q "SELECT count(*) FROM run_summaries WHERE run_id = $R1")" = 0
# --- events: every state change is a row; logs --follow is woken by them
check "the cancelled run's changes, in order" \
	test "$(q "SELECT group_concat(state, ' ') FROM (SELECT state FROM run_events WHERE run_id = $LR ORDER BY id) x")" = "running cancelled"
expect_rc "queue a 2 s run" 0 bia run Threshold-Python P --param sleep=2
FR=$(head -1 "$T/out")
expect_rc "logs --follow ends with the run" 0 timeout 60 "$BIAFLOWS" --instance "$I" logs "$FR" --follow
check "... printing its end" has "$T/out" "worker: run succeeded"
q "SELECT means FROM run_summaries WHERE run_id = $FR" >"$T/summary.json"
check "... it keeps a summary, as run show's means (the same doubles)" \
	test "$(bia run show "$FR" --format json | $PY -c 'import json,sys; a=json.load(sys.stdin)["aggregate"]; s=json.load(open(sys.argv[1])); print(s == {k: v["mean"] for k, v in a.items()} and len(s) > 3)' "$T/summary.json")" = True
check "... and the run had a job id of the local executor" \
	test "$(q "SELECT CAST((job LIKE 'local:%') AS INTEGER) FROM run_jobs WHERE run_id = $FR")" = 1
# --- the instance's limits: the log size, an unknown limit
cfg limits '{"max_log_bytes": 10}'
expect_rc "a run with a 10-byte log limit" 0 bia run Threshold-Python P --wait
check "... its workflow output is cut, saying so" has "$I/runs/$(head -1 "$T/out")/log" "[biaflows: log truncated at the log size limit]"
cfg limits '{"max_log_byte": 10}'
expect_rc "an unknown limit is refused" 1 bia runs
check "... naming it" has "$T/err" "unknown limit 'max_log_byte'"
cfg limits '{}'
finish
