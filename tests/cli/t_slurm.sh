#!/usr/bin/env bash
# Runs on a real SLURM cluster (scripts/services up slurm: munged,
# slurmctld, slurmd on this host): submit, state from squeue then sacct,
# logs streamed from the node, resources as sbatch options, batches of
# images as several jobs, cancel with scancel, a worker killed mid-job and
# re-attached, a job SLURM cannot find failing as unknown (never success),
# a worker that died while submitting. docs/deployment.md "SLURM".
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
I=$T/inst
DB=$I/biaflows.db
q() { sqlite3 "$DB" "$1"; }
status() { q "SELECT status FROM runs WHERE id = $1"; }
jobof() { q "SELECT job FROM run_jobs WHERE run_id = $1"; }
final() { case "$(status "$1")" in succeeded | failed | cancelled | timed_out) return 0 ;; esac; return 1; }
jname() { jobof "$1" | cut -d: -f4; }
jids() { jobof "$1" | cut -d: -f5; }
# squeue's state of a run's job ("" once squeue forgot it)
sq_state() { squeue -h -o %T --name="$(jname "$1")" 2>/dev/null | head -1; }
is_running() { [ "$(sq_state "$1")" = RUNNING ]; }
sq_gone() { [ -z "$(squeue -h -o %i --name="$(jname "$1")" 2>/dev/null)" ]; }
# sacct's rows "ID|NAME|STATE" of a run's job name (the job-completion log
# when the cluster has no accounting database)
acct() {
	local out
	out=$(sacct -X -P -n -o JobIDRaw,JobName,State 2>&1) ||
		out=$(sacct -c -X -P -n -o JobIDRaw,JobName,State 2>&1)
	echo "$out" | grep -F "|$(jname "$1")|" || true
}
wpid() { q "SELECT worker_pid FROM runs WHERE id = $1"; }
# every metric of every image of a run, and the aggregate: one JSON text
scores() { "$BIAFLOWS" --instance "$I" run show "$1" --format json |
	$PY -c "import json,sys; d=json.load(sys.stdin); print(json.dumps([[i['stem'], i['metrics']] for i in d['images']] + [d['aggregate']], sort_keys=True))"; }
# the id a queueing command printed
newid() { cat "$T/out"; }
# kill_worker RUN: once the run's job runs on the cluster, kill -9 its
# worker and wait until it is gone
kill_worker() {
	local pid
	wait_until 30 is_running "$1"
	pid=$(wpid "$1")
	kill -9 "$pid" 2>/dev/null
	wait_until 10 eval "! kill -0 $pid 2>/dev/null"
}

# a cluster this test started is stopped at its end; one already up stays
if ! "$ROOT/scripts/services" status slurm 2>/dev/null; then
	trap '"$ROOT/scripts/services" down slurm 2>/dev/null; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT
fi
if ! env_line=$("$ROOT/scripts/services" up slurm 2>"$T/services.err"); then
	not_ok "scripts/services up slurm starts a cluster" "$(cat "$T/services.err")"
	finish
	exit 1
fi
ok "scripts/services up slurm starts a cluster (idempotent)"
export "${env_line?}"
check "... sinfo shows its node idle" eval 'sinfo -h -N -o %t | grep -q -E "idle|mix|alloc"'
env_again=$("$ROOT/scripts/services" up slurm 2>/dev/null)
check "... a second 'up' only prints how to reach it" test "$env_again" = "$env_line"
export BIAFLOWS_SLURM_POLL_MS=200

"$BIAFLOWS" init "$I" >/dev/null 2>&1
"$BIAFLOWS" gen ObjSeg "$T/ds" --n 3 --size 64x64 --difficulty easy --seed 3 >/dev/null 2>&1
bia problem add P --class ObjSeg >/dev/null
bia dataset import P "$T/ds" >/dev/null 2>&1
bia workflow add "$FIX/workflows/py-threshold" --version 1.0 >/dev/null 2>&1

# --- the same run locally and on SLURM
expect_rc "a local run succeeds" 0 bia run Threshold-Python P --wait
L=$(newid)
expect_rc "run --executor slurm --wait succeeds" 0 bia run Threshold-Python P --executor slurm --wait
S=$(newid)
check "... recorded with executor slurm" test "$(q "SELECT executor FROM runs WHERE id = $S")" = slurm
check "... its job id names cluster, submit time, a unique job name and the job" \
	eval '[[ "$(jobof $S)" =~ ^slurm:biaflows:[0-9]{10}:bia-r$S-a1-[0-9a-f]{8}:[0-9]+$ ]]'
check "... scored like the local run (every metric of every image)" test "$(scores $S)" = "$(scores $L)"
check "... which has metrics" eval '[[ "$(scores $L)" == *mAP* ]]'
check "... SLURM's accounting has the job COMPLETED under its name" \
	eval '[[ "$(acct $S)" == "$(jids $S)|$(jname $S)|COMPLETED" ]]'
bia logs $S >"$T/log"
check "... the workflow's lines on the node reached the run's log" has "$T/log" "thresholding 3 images"
check "... each once" test "$(grep -c 'thresholding 3 images' "$T/log")" = 1
check "... the job's folder is removed at the end" test ! -e "$I/runs/$S/job"

# --- a built-in workflow of a sequence class (label stack + track file)
"$BIAFLOWS" gen ObjTrk "$T/trk" --n 2 --size 64x64 --frames 6 --seed 5 >/dev/null 2>&1
bia problem add TRK --class ObjTrk >/dev/null
bia dataset import TRK "$T/trk" >/dev/null 2>&1
bia workflow add "$ROOT/workflows/CellTracking-Python" --version 1 >/dev/null 2>&1
run bia run CellTracking-Python TRK --executor local --wait
TL=$(cat "$T/out")
expect_rc "CellTracking-Python (ObjTrk) on SLURM, in batches of one sequence" 0 \
	bia run CellTracking-Python TRK --executor slurm --batch-size 1 --wait
TS=$(cat "$T/out")
check "... scored like the local run (every metric of every sequence)" test "$(scores $TS)" = "$(scores $TL)"
check "... which has tracking metrics" eval '[[ "$(scores $TL)" == *TRA* ]]'

# --- batches of images: one job each
expect_rc "--batch-size 1: three jobs, one run" 0 bia run Threshold-Python P --executor slurm \
	--batch-size 1 --wait
B=$(newid)
check "... three job ids" test "$(jids $B | tr ',' '\n' | wc -l)" = 3
check "... each job saw one image" test "$(bia logs $B | grep -c 'thresholding 1 images')" = 3
check "... scored like the single job" test "$(scores $B)" = "$(scores $S)"

# --- a workflow that fails
expect_rc "a failing workflow: run --wait exits 1" 1 bia run Threshold-Python P --executor slurm \
	--param fail=3 --wait
F=$(newid)
check "... the run failed with the workflow's exit code" \
	test "$(q "SELECT status || ' ' || exit_code FROM runs WHERE id = $F")" = "failed 3"
check "... sacct says FAILED 3" eval '[[ "$(sacct -c -X -P -n -o JobIDRaw,JobName,State,ExitCode 2>/dev/null |
	grep -F "|$(jname $F)|")" == *"|FAILED|3:0" ]]'

# --- resources become sbatch options
run bia run Threshold-Python P --executor slurm --param sleep=3 --cpus 2 --partition main \
	--timeout 5m --memory 1G
R=$(newid)
if wait_until 30 is_running $R; then
	scontrol show job "$(jids $R)" >"$T/job"
	check "--cpus 2 -> NumCPUs=2" has "$T/job" "NumCPUs=2"
	check "--partition main -> Partition=main" has "$T/job" "Partition=main"
	check "--timeout 5m -> TimeLimit 5 min + 2 min margin" has "$T/job" "TimeLimit=00:07:00"
	check "--memory 1G -> 1G per node" eval 'grep -q -E "MinMemoryNode=1G|mem=1G" "$T/job"'
	check "the job's name is the run's job name" has "$T/job" "JobName=$(jname $R)"
else
	not_ok "the resources run starts on the cluster" "$(bia logs $R)"
fi
wait_until 60 final $R
check "... and succeeds" test "$(status $R)" = succeeded

# --- cancel: scancel, the run ends cancelled
run bia run Threshold-Python P --executor slurm --param sleep=60
C=$(newid)
wait_until 30 is_running $C
expect_rc "cancel a running SLURM run" 0 bia cancel $C
wait_until 30 final $C
check "... the run ended cancelled" test "$(status $C)" = cancelled
check "... squeue no longer runs it" wait_until 20 sq_gone $C
check "... sacct says CANCELLED" eval '[[ "$(acct $C)" == *"|CANCELLED"* ]]'

# --- a worker killed mid-job; the job finishes alone; a new worker
# re-attaches (through sacct, squeue having forgotten the job)
run bia run Threshold-Python P --executor slurm --param sleep=3
K=$(newid)
wait_until 30 is_running $K
pid=$(wpid $K)
kill -9 "$pid" 2>/dev/null
check "a worker killed mid-job (pid $pid)" wait_until 10 eval "! kill -0 $pid 2>/dev/null"
check "... its job goes on on the cluster" test "$(status $K)" = running
check "... ends, and squeue forgets it (MinJobAge)" wait_until 60 sq_gone $K
expect_rc "'runs' sees the dead worker's cluster job" 0 bia runs
check "... says a worker re-attaches" has "$T/err" "have cluster jobs: a worker re-attaches"
wait_until 60 final $K
check "... the worker it started re-attached and ingested: succeeded" test "$(status $K)" = succeeded
check "... scored like the others" test "$(scores $K)" = "$(scores $S)"
bia logs $K >"$T/log"
check "... its log says so" has "$T/log" "re-attaches to job slurm:"
check "... the job ran once (one job under its name)" test "$(acct $K | wc -l)" = 1
check "... the workflow's lines arrived once" test "$(grep -c 'thresholding 3 images' "$T/log")" = 1

# --- SLURM cannot find the job: unknown, retried, then failed (never success)
run bia run Threshold-Python P --executor slurm --param sleep=3
U=$(newid)
kill_worker $U
real=$(jids $U)
# the stored id now names a job SLURM never had under this name (as when
# SLURM reuses ids, or its records were lost)
q "UPDATE run_jobs SET job = replace(job, ':$real', ':99999') WHERE run_id = $U"
BIAFLOWS_SLURM_UNKNOWN_TRIES=3 run bia worker
check "a job SLURM cannot find: the run failed" test "$(status $U)" = failed
check "... with the reason 'unknown'" eval '[[ "$(q "SELECT reason FROM runs WHERE id = $U")" == *"unknown"*"neither squeue nor sacct"* ]]'
scancel "$real" 2>/dev/null

# --- SLURM cannot be asked at all (here: a worker without the cluster's
# configuration): retried, then failed naming SLURM's error
run bia run Threshold-Python P --executor slurm --param sleep=3
X=$(newid)
kill_worker $X
SLURM_CONF=$T/no-such.conf BIAFLOWS_SLURM_UNREACHABLE_TRIES=3 run bia worker
check "SLURM out of reach: the run failed" test "$(status $X)" = failed
check "... saying SLURM could not be asked, and why" eval '[[ "$(q "SELECT reason FROM runs WHERE id = $X")" == *"could not be asked"*"squeue"* ]]'

# --- the worker died between naming the job and storing its id
run bia run Threshold-Python P --executor slurm --param sleep=30
W=$(newid)
kill_worker $W
name=$(jname $W)
q "UPDATE run_jobs SET job = 'pending:$name:$(date +%s)' WHERE run_id = $W"
run bia worker
check "a job left 'pending' (its id never stored): the run is recovered as interrupted" \
	eval '[[ "$(status $W)" == failed && "$(q "SELECT reason FROM runs WHERE id = $W")" == *"interrupted"* ]]'
check "... the job that went out under its name is cancelled, not left running" \
	wait_until 20 eval '[ -z "$(squeue -h -o %i --name='"$name"')" ]'

# --- the instance's default executor
$PY - "$I/config" <<'EOF'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c["executor"] = "slurm"; json.dump(c, open(p, "w"))
EOF
expect_rc "config executor slurm: a plain run goes to SLURM" 0 bia run Threshold-Python P --wait
check "... recorded as slurm" test "$(q "SELECT executor FROM runs WHERE id = $(newid)")" = slurm
expect_rc "--executor local still runs locally" 0 bia run Threshold-Python P --executor local --wait
expect_rc "an unknown executor is refused" 1 bia run Threshold-Python P --executor kubernetes
check "... naming the executors there are" has "$T/err" "local, slurm"
expect_rc "a partition a batch script cannot carry is a usage error" 2 bia run Threshold-Python P \
	--partition "a b"

# --- a server killed mid-job: the server started again re-attaches (its
# worker thread holds the worker slot, so the run is the server's)
start_server() {
	rm -f "$T/port"
	"$BIAFLOWS" --instance "$I" serve --listen 127.0.0.1:0 --port-file "$T/port" >>"$T/serve.log" 2>&1 &
	SPID=$!
	wait_until 10 test -s "$T/port"
}
start_server
run bia run Threshold-Python P --param sleep=3
V=$(cat "$T/out")
if wait_until 30 is_running "$V"; then
	check "a run of the server's worker runs on SLURM" test "$(wpid "$V")" = "$SPID"
	kill -9 "$SPID"
	wait "$SPID" 2>/dev/null
	check "... the server killed mid-job, its job goes on" test "$(status "$V")" = running
	start_server
	wait_until 60 final "$V"
	check "... the server started again re-attached and ingested it" test "$(status "$V")" = succeeded
	check "... scored like the others" test "$(scores "$V")" = "$(scores $S)"
	check "... one job under its name" test "$(acct "$V" | wc -l)" = 1
else
	not_ok "the server's run starts on SLURM" "$(bia logs "$V"; tail "$T/serve.log")"
fi
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null

# --- the node's side refuses a bad spec file clearly
mkdir -p "$T/badjob"
echo '{"format":"biaflows-exec-spec","argv":[]}' >"$T/badjob/spec.json"
expect_rc "job-exec with a bad spec file fails" 1 "$BIAFLOWS" job-exec "$T/badjob"
check "... naming the problem" has "$T/err" "spec file"
check "... and leaves a result saying so" eval 'grep -q "\"status\": *\"error\"" "$T/badjob/result.json"'

finish
