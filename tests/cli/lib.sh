# Helpers for CLI tests: source from a test script, then call finish.
# Each check prints "ok - ..." or "not ok - ..."; finish prints the counts.
set -u
BIAFLOWS=${BIAFLOWS:?set BIAFLOWS to the biaflows binary}
FIX=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)
T=$(mktemp -d /tmp/bia-cli-XXXXXX)
trap '[ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT
unset BIAFLOWS_INSTANCE BIAFLOWS_FAULT BIAFLOWS_FAULT_ACTION BIAFLOWS_MAX_PIXELS
pass=0
fail=0
# every sqlite3 call of a test waits for a writer (a worker, an import)
# instead of failing with "database is locked"
sqlite3() { command sqlite3 -cmd ".timeout 10000" "$@"; }

ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() {
	fail=$((fail + 1))
	echo "not ok - $1"
	if [ -n "${2:-}" ]; then echo "$2" | sed 's/^/#   /'; fi
}

# run CMD...: stdout in $T/out, stderr in $T/err, exit code in $rc
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# expect_rc DESC CODE CMD...
expect_rc() {
	local desc=$1 want=$2
	shift 2
	run "$@"
	if [ "$rc" -eq "$want" ]; then ok "$desc"; else
		not_ok "$desc" "exit $rc, want $want; stdout: $(head -c 300 "$T/out"); stderr: $(head -c 600 "$T/err")"
	fi
}

# check DESC CONDITION-COMMAND...
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "failed: $*"; fi
}

# has FILE TEXT: the file contains the fixed string
has() { grep -qF -- "$2" "$1"; }
# lines FILE: number of lines
lines() { wc -l <"$1" | tr -d ' '; }

# A fingerprint of an instance: database content and every stored file.
snapshot() {
	local dir=$1
	{
		sqlite3 "$dir/biaflows.db" .dump
		(cd "$dir" && find blobs -type f ! -name .lock | sort | xargs -r sha256sum)
	} 2>&1
}

# bia ARGS...: biaflows on the test instance $I
bia() { "$BIAFLOWS" --instance "$I" "$@"; }

finish() {
	echo "# $(basename "$0"): $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
