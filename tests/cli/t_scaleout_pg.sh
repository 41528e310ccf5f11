#!/usr/bin/env bash
# Scale-out on PostgreSQL (docs/store.md): two servers and two workers on
# one instance whose rows are in PostgreSQL, runs submitted at once through
# both servers' HTTP API and the CLI. Every submitted run is there, each is
# claimed and executed once (one "running" event, one attempt, one job),
# and every run ends. Needs $BIAFLOWS_DATABASE (the PostgreSQL pass of
# tests/run-tests); skipped without it.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
I=$T/inst
WF=$FIX/workflows/py-threshold
export NO_PROXY='*' no_proxy='*'
case "${BIAFLOWS_DATABASE:-}" in
postgresql://*) ;;
*)
	echo "# skipped: no PostgreSQL (set BIAFLOWS_DATABASE; scripts/services up postgres)"
	finish
	exit
	;;
esac
q() { sqlite3 "$I/biaflows.db" "$1"; } # psql in the instance's schema (lib.sh)
N_HTTP=10 # per server
N_CLI=8

expect_rc "init --database" 0 "$BIAFLOWS" init "$I" --database "$BIAFLOWS_DATABASE"
check "... the config names the store and its schema" grep -q '"store": "postgresql://.*?schema=bia_' "$I/config"
# four workers may run at once (slots), whichever process they are in
$PY - "$I/config" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["max_concurrent_runs"] = 4
json.dump(c, open(sys.argv[1], "w"))
PYEOF
"$BIAFLOWS" gen ObjSeg "$T/ds" --n 2 --size 32x32 --seed 5 --difficulty easy >/dev/null 2>&1
bia problem add P --class ObjSeg >/dev/null
bia dataset import P "$T/ds" >/dev/null 2>&1
bia workflow add "$WF" --version 1.0 >/dev/null
echo alice-password-1 | bia user add alice --role admin >/dev/null
TOKEN=$(bia token create alice)
check "set up" test -n "$TOKEN"

term() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
PIDS=()
PORTS=()
for s in 1 2; do
	"$BIAFLOWS" --instance "$I" serve --listen 127.0.0.1:0 --port-file "$T/port$s" >>"$T/serve$s.log" 2>&1 &
	PIDS+=($!)
done
for s in 1 2; do
	for _ in $(seq 100); do [ -s "$T/port$s" ] && break; sleep 0.1; done
	PORTS+=("$(cat "$T/port$s" 2>/dev/null)")
done
check "two servers listen" test -n "${PORTS[0]}" -a -n "${PORTS[1]}"

# submit: each server gets N_HTTP at once, the CLI N_CLI at once; each
# success is counted by the id it printed
submit_http() { # port n
	local i
	for i in $(seq "$2"); do
		curl -s --noproxy '*' -o "$T/http-$1-$i.json" -w '%{http_code}\n' \
			-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
			-d '{"workflow": "Threshold-Python", "problem": "P", "params": {}}' \
			"http://127.0.0.1:$1/api/v1/runs" >>"$T/http-$1.codes" &
	done
	wait
}
submit_http "${PORTS[0]}" "$N_HTTP" &
h1=$!
submit_http "${PORTS[1]}" "$N_HTTP" &
h2=$!
CLI_PIDS=()
for i in $(seq "$N_CLI"); do
	bia run Threshold-Python P >"$T/cli-$i.out" 2>"$T/cli-$i.err" &
	CLI_PIDS+=($!)
done
# two workers beside the servers, again while the queue is being drained
for w in 1 2; do
	(for _ in 1 2 3 4 5; do bia worker >>"$T/worker$w.log" 2>&1; sleep 0.5; done) &
	PIDS+=($!)
done
wait $h1 $h2
for p in "${CLI_PIDS[@]}"; do wait "$p"; done
sleep 0.5
ok_http=$(cat "$T"/http-*.codes 2>/dev/null | grep -c '^20[01]$')
ok_cli=$(cat "$T"/cli-*.out 2>/dev/null | grep -cE '^[0-9]+$')
submitted=$((ok_http + ok_cli))
check "every HTTP submission accepted ($ok_http of $((2 * N_HTTP)))" test "$ok_http" -eq $((2 * N_HTTP))
check "every CLI submission accepted ($ok_cli of $N_CLI)" test "$ok_cli" -eq "$N_CLI"
check "every accepted run is stored ($submitted)" test "$(q "SELECT count(*) FROM runs")" -eq "$submitted"
check "run ids are distinct" test "$(q "SELECT count(DISTINCT id) FROM runs")" -eq "$submitted"

# every run ends (the servers' workers and ours drain the queue)
for _ in $(seq 1800); do
	[ "$(q "SELECT count(*) FROM runs WHERE status IN ('queued', 'running', 'ingesting')")" = 0 ] && break
	sleep 0.2
done
check "every run ended" test "$(q "SELECT count(*) FROM runs WHERE status IN ('queued', 'running', 'ingesting')")" = 0
check "every run succeeded" test "$(q "SELECT count(*) FROM runs WHERE status = 'succeeded'")" -eq "$submitted"
check "each run was claimed once (one 'running' event each)" \
	test "$(q "SELECT count(*) FROM (SELECT run_id FROM run_events WHERE state = 'running' GROUP BY run_id HAVING count(*) = 1) x")" -eq "$submitted"
check "... and executed once (one attempt each)" test "$(q "SELECT count(*) FROM runs WHERE attempts = 1")" -eq "$submitted"
check "... with one executor job each" test "$(q "SELECT count(*) FROM run_jobs WHERE job LIKE 'local:%'")" -eq "$submitted"
check "... events in order: queued runs went running, ingesting, succeeded" \
	test "$(q "SELECT count(*) FROM runs r WHERE (SELECT string_agg(state, ' ' ORDER BY id) FROM run_events e WHERE e.run_id = r.id) = 'running ingesting succeeded'")" -eq "$submitted"
check "more than one process ran runs" test "$(q "SELECT count(DISTINCT worker_pid) FROM runs")" -gt 1
check "every run has its scores" test "$(q "SELECT count(DISTINCT run_id) FROM run_scores")" -eq "$submitted"
for p in "${PIDS[@]}"; do term "$p"; done
check "servers stopped" eval '! kill -0 ${PIDS[0]} 2>/dev/null && ! kill -0 ${PIDS[1]} 2>/dev/null'
expect_rc "fsck: consistent" 0 bia fsck
finish
