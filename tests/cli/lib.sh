# Helpers for CLI tests: source from a test script, then call finish.
# Each check prints "ok - ..." or "not ok - ..."; finish prints the counts.
set -u
BIAFLOWS=${BIAFLOWS:?set BIAFLOWS to the biaflows binary}
FIX=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)
T=$(mktemp -d /tmp/bia-cli-XXXXXX)
trap '[ -n "${KEEP_T:-}" ] || { pg_drop_schemas "$T"; rm -rf "$T"; }' EXIT
unset BIAFLOWS_INSTANCE BIAFLOWS_FAULT BIAFLOWS_FAULT_ACTION BIAFLOWS_MAX_PIXELS
pass=0
fail=0
# every sqlite3 call of a test waits for a writer (a worker, an import)
# instead of failing with "database is locked". An instance whose store is
# PostgreSQL (made with $BIAFLOWS_DATABASE set: the second pass of
# tests/run-tests) is queried with psql instead, in its schema: the tests'
# SQL is the common kind, and psql -tA prints rows as sqlite3 does.
sqlite3() {
	local args=("$@") db="" i=0 url
	while [ $i -lt ${#args[@]} ]; do
		case "${args[$i]}" in
		-cmd) i=$((i + 2)) ;;
		-*) i=$((i + 1)) ;;
		*) db=${args[$i]}; break ;;
		esac
	done
	if [ -n "$db" ] && url=$(pg_store_url "$(dirname "$db")"); then
		pg_sql "$url" "${args[@]:$((i + 1))}"
	else
		command sqlite3 -cmd ".timeout 10000" "$@"
	fi
}
# pg_store_url DIR: the PostgreSQL URL of the instance's store, if it has one
pg_store_url() {
	[ -f "$1/config" ] || return 1
	local u
	u=$(sed -n 's/.*"store": *"\(postgresql:[^"]*\)".*/\1/p' "$1/config")
	[ -n "$u" ] && echo "$u"
}
# pg_drop_schemas DIR: drop the PostgreSQL schemas of the instances under
# DIR (the ones this test made)
pg_drop_schemas() {
	local c u
	for c in $(find "$1" -maxdepth 3 -name config 2>/dev/null); do
		u=$(pg_store_url "$(dirname "$c")") || continue
		pg_sql "$u" "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $(echo "$u" |
			sed -n 's/.*[?&]schema=\([a-z0-9_]*\).*/\1/p') CASCADE" >/dev/null 2>&1
	done
	return 0
}
# pg_sql URL [SQL]: SQL (or .dump) in the URL's schema
pg_sql() {
	local url=$1 schema conn
	shift
	schema=$(echo "$url" | sed -n 's/.*[?&]schema=\([a-z0-9_]*\).*/\1/p')
	conn=$(echo "$url" | sed 's/[?&]schema=[a-z0-9_]*//')
	if [ "${1:-}" = .dump ]; then
		pg_dump -a -n "$schema" "$conn" | grep -v '^--\|^SET \|^SELECT pg_catalog\|^\\restrict \|^\\unrestrict \|^$'
		return
	fi
	# SQLite's spellings the tests use: group_concat, PRAGMA foreign_keys
	local sql=${1:-}
	sql=$(printf '%s' "$sql" | sed -e "s/group_concat(\([^()]*\), '\([^']*\)')/string_agg((\1)::text, '\2')/g" \
		-e "s/group_concat(\([^(),]*\))/string_agg((\1)::text, ',')/g" \
		-e 's/PRAGMA foreign_keys *= *ON; *//')
	PGOPTIONS="-c search_path=$schema" psql -X -q -tA -v ON_ERROR_STOP=1 "$conn" \
		${sql:+-c "$sql"}
}

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

# wait_until SECONDS CMD...: poll CMD every 0.1 s, at most SECONDS
wait_until() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
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
