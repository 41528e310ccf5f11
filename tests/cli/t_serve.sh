#!/usr/bin/env bash
# biaflows serve (docs/api.md): the REST API end to end through the Python
# client and raw HTTP (tests/http/api_test.py), users and tokens from the
# CLI, and stopping: SIGTERM and kill -9 during a run and during an upload.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
I=$T/inst
WF=$FIX/workflows/py-threshold
export NO_PROXY='*' no_proxy='*'

"$BIAFLOWS" init "$I" >/dev/null 2>&1
"$BIAFLOWS" gen ObjSeg "$T/ds" --n 3 --size 48x48 --seed 7 --difficulty easy >/dev/null 2>&1

# --- users and tokens (CLI)
expect_rc "user add reads the password from stdin" 0 sh -c "echo admin-password-1 | '$BIAFLOWS' --instance '$I' user add adm --role admin"
check "... prints the new id" test "$(cat "$T/out")" = 1
for u in alice:contributor bob:contributor vic:viewer zed:viewer; do
	echo "${u%%:*}-password-1" | bia user add "${u%%:*}" --role "${u##*:}" >/dev/null
done
expect_rc "a short password is refused" 1 sh -c "echo short | '$BIAFLOWS' --instance '$I' user add eve --role viewer"
check "... naming the rule" has "$T/err" "8 to 1024"
expect_rc "an unknown role is a usage error" 2 sh -c "echo long-enough-1 | '$BIAFLOWS' --instance '$I' user add eve --role boss"
expect_rc "a second user of that name is refused" 1 sh -c "echo long-enough-1 | '$BIAFLOWS' --instance '$I' user add alice --role viewer"
expect_rc "user list --format json" 0 bia user list --format json
check "... five users, no hashes" test "$($PY -c "import json,sys; d=json.load(open('$T/out')); print(len(d), any('pwhash' in u or 'argon' in json.dumps(u) for u in d))")" = "5 False"
check "passwords are stored as argon2id hashes" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM users WHERE pwhash LIKE '\$argon2id\$%'")" = 5
bia token create alice --name notebook >/dev/null
export TOKEN_ADMIN=$(bia token create adm) TOKEN_ALICE=$(bia token create alice) \
	TOKEN_BOB=$(bia token create bob) TOKEN_VIC=$(bia token create vic)
check "a token is printed once, bfa_ + 43 characters" eval '[[ "$TOKEN_ALICE" =~ ^bfa_[A-Za-z0-9_-]{43}$ ]]'
check "only its hash is stored" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM tokens WHERE hash LIKE '%$TOKEN_ALICE%' OR hash = '$TOKEN_ALICE'")" = 0
expect_rc "token list" 0 bia token list --user alice --format json
check "... alice's two tokens, without secrets" test "$($PY -c "import json; d=json.load(open('$T/out')); print(len(d), any('token' in t for t in d))")" = "2 False"

# --- the server
# term PID: SIGTERM, then wait for it at most 60 s (then SIGKILL: the test
# fails instead of hanging); $? is the server's exit status
term() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1"
}
start_server() { # extra args
	rm -f "$T/port"
	"$BIAFLOWS" --instance "$I" serve --listen 127.0.0.1:0 --port-file "$T/port" "$@" >>"$T/serve.log" 2>&1 &
	SPID=$!
	for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
	export PORT=$(cat "$T/port" 2>/dev/null)
}
start_server
check "serve listens (port file written)" test -n "$PORT"
BIAFLOWS="$BIAFLOWS" INST="$I" DS="$T/ds" WF="$WF" T="$T" $PY "$(dirname "$0")/../http/api_test.py" >"$T/api.out" 2>&1
api_rc=$?
cat "$T/api.out"
pass=$((pass + $(grep -c '^ok - ' "$T/api.out")))
fail=$((fail + $(grep -c '^not ok - ' "$T/api.out")))
check "api_test.py ran to its end" eval "[ $api_rc -eq 0 ] || grep -q '^# api_test.py' '$T/api.out'"
api() { curl -s --noproxy '*' -H "Authorization: Bearer $TOKEN_ALICE" "$@"; }
U() { echo "http://127.0.0.1:$PORT/api/v1$1"; }

# --- SIGTERM while a run executes: exit 0, the run is recovered at the next start
rid=$(api -X POST -d '{"workflow":"Threshold-Python","problem":"nuc","params":{"sleep":3}}' "$(U /runs)" | $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 100); do
	[ "$(sqlite3 "$I/biaflows.db" "SELECT status FROM runs WHERE id = $rid")" = running ] && break
	sleep 0.1
done
t0=$(date +%s)
term $SPID
st=$?
check "SIGTERM during a run: exit 0" test "$st" -eq 0
check "... within the grace periods (requests, then the worker: 5 s each)" test $(($(date +%s) - t0)) -le 15
check "... says it stopped" has "$T/serve.log" "stopped"
start_server
for _ in $(seq 200); do
	s=$(sqlite3 "$I/biaflows.db" "SELECT status FROM runs WHERE id = $rid")
	case $s in succeeded | failed) break ;; esac
	sleep 0.1
done
# the worker finished the run within its grace period (succeeded), or left
# it to the next start's recovery (failed: interrupted) on a slow machine
check "... the run ends: finished before the exit or recovered by the next start" eval '[ "$s" = succeeded ] || sqlite3 "$I/biaflows.db" "SELECT reason FROM runs WHERE id = $rid" | grep -q "^interrupted: worker died"'

# --- kill -9 during a run: the next start recovers it
rid=$(api -X POST -d '{"workflow":"Threshold-Python","problem":"nuc","params":{"sleep":3}}' "$(U /runs)" | $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 100); do
	[ "$(sqlite3 "$I/biaflows.db" "SELECT status FROM runs WHERE id = $rid")" = running ] && break
	sleep 0.1
done
kill -9 $SPID
wait $SPID 2>/dev/null
n_before=$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM runs WHERE status = 'succeeded'")
start_server
for _ in $(seq 300); do
	s=$(sqlite3 "$I/biaflows.db" "SELECT status FROM runs WHERE id = $rid")
	case $s in succeeded | failed) break ;; esac
	sleep 0.1
done
check "kill -9 during a run: the next start recovers it (failed: interrupted)" test "$s" = failed
check "... with the reason" test "$(sqlite3 "$I/biaflows.db" "SELECT substr(reason, 1, 26) FROM runs WHERE id = $rid")" = "interrupted: worker died ("
check "... no earlier run was lost" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM runs WHERE status = 'succeeded'")" -eq "$n_before"

# --- kill -9 during an upload: nothing added, nothing left
head -c 3000000 /dev/urandom >"$T/big.tif"
n_img=$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM images")
curl -s --noproxy '*' --limit-rate 200k -H "Authorization: Bearer $TOKEN_ALICE" --data-binary @"$T/big.tif" "$(U '/problems/nuc/images?name=big.tif')" >/dev/null 2>&1 &
CPID=$!
sleep 1.5
check "an upload is being received" eval 'ls "$I/tmp" | grep -q "^upload-"'
kill -9 $SPID
wait $SPID 2>/dev/null
kill $CPID 2>/dev/null
wait $CPID 2>/dev/null
start_server
check "kill -9 during an upload: no image added" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM images")" = "$n_img"
check "... and the next start removes the partial upload" eval '! ls "$I/tmp" | grep -q "^upload-"'
expect_rc "fsck finds the instance sound" 0 bia fsck --dry-run

# --- a client that sends its headers a byte a second is cut off
rm -f "$T/hport"
"$BIAFLOWS" --instance "$I" serve --listen 127.0.0.1:0 --port-file "$T/hport" --no-worker --header-timeout 2 2>>"$T/serve.log" &
HPID=$!
for _ in $(seq 100); do [ -s "$T/hport" ] && break; sleep 0.1; done
$PY - "$(cat "$T/hport")" >"$T/slow.txt" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1)
t0 = time.time()
closed = None
for _ in range(12):
    try:
        s.sendall(b"G")
        if s.recv(1) == b"":
            closed = time.time() - t0
            break
    except socket.timeout:
        continue
    except OSError:
        closed = time.time() - t0
        break
print("closed after %.0f s" % closed if closed else "still open")
PY
check "--header-timeout 2: a slow-header client is disconnected within 4 s" grep -Eq "closed after [1-4] s" "$T/slow.txt"
term $HPID

# --- guest mode: anonymous reads public content only
term $SPID
start_server --guest
code=$(curl -s --noproxy '*' -o "$T/g.json" -w '%{http_code}' "$(U /problems)")
check "--guest: anonymous reads the problem list" test "$code" = 200
check "... public problems only" test "$($PY -c "import json; print([p['name'] for p in json.load(open('$T/g.json'))['items']])")" = "['nuc', 'nuc2', 'c1']"
code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -X POST -d '{"name":"x","class":"ObjSeg"}' "$(U /problems)")
check "... and writes nothing (401)" test "$code" = 401
code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$(U /tokens)")
check "... nor lists tokens (401)" test "$code" = 401
expect_rc "a second server on a port in use fails" 1 timeout 60 "$BIAFLOWS" --instance "$I" serve --listen "127.0.0.1:$PORT" --no-worker
check "... saying so" has "$T/err" "cannot listen"
term $SPID
check "the server stops cleanly" test $? -eq 0
check "no sanitizer report in the server's log" eval '! grep -q "Sanitizer\|runtime error" "$T/serve.log"'
finish
