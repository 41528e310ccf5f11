#!/usr/bin/env bash
# migrate-store (docs/store.md): an instance with rows in every table goes
# from SQLite to PostgreSQL and back to SQLite with nothing lost (every row
# of every table compared with the original by the test itself, not only by
# the command); a target that is not empty is refused and the instance
# keeps its store. Without $BIAFLOWS_DATABASE the SQLite -> SQLite copy is
# tested alone.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
I=$T/inst
WF=$FIX/workflows/py-threshold
PG=
case "${BIAFLOWS_DATABASE:-}" in postgresql://*) PG=$BIAFLOWS_DATABASE ;; esac
TABLES="problems blobs images gt_versions gt_files workflows workflow_versions workflow_files
runs run_outputs run_output_files run_scores run_reruns run_objects run_errors
run_score_history run_output_warnings run_jobs run_events run_summaries users tokens
problem_private problem_members workflow_sources workflow_source_tags run_origins instance_meta
problem_counts id_marks"

# dump DB: every row of every table, in a form both back ends print alike
# (ordered by every column; floats to 15 digits), one file per store
dump() { # DBFILE OUT
	local t cols
	: >"$2"
	for t in $TABLES; do
		cols=$(command sqlite3 "$(dirname "$1")/biaflows.db" "SELECT group_concat(name, ', ') FROM pragma_table_info('$t')")
		echo "== $t" >>"$2"
		sqlite3 "$1" "SELECT $cols FROM $t" | sort >>"$2"
	done
}

expect_rc "init (SQLite, whatever BIAFLOWS_DATABASE says)" 0 "$BIAFLOWS" init "$I" --database sqlite
"$BIAFLOWS" gen ObjSeg "$T/ds" --n 3 --size 32x32 --seed 4 --difficulty easy >/dev/null 2>&1
bia problem add P --class ObjSeg >/dev/null
bia problem add Q --class ObjSeg >/dev/null
bia dataset import P "$T/ds" >/dev/null 2>&1
bia workflow add "$WF" --version 1.0 >/dev/null
R=$(bia run Threshold-Python P --wait 2>/dev/null | head -1)
bia run Threshold-Python P >/dev/null 2>&1
bia worker >/dev/null 2>&1
bia rerun "$R" >/dev/null 2>&1
bia worker >/dev/null 2>&1
echo alice-password-1 | bia user add alice --role contributor >/dev/null
bia token create alice >/dev/null
bia problem rm Q >/dev/null 2>&1
# a trusted source with a tag imported and one refused (both tables)
git init -q "$T/src" && cp -r "$WF/." "$T/src/" && git -C "$T/src" add -A &&
	git -C "$T/src" -c user.email=t@e -c user.name=T commit -qm one && git -C "$T/src" tag s1 &&
	echo '{' >"$T/src/descriptor.json" && git -C "$T/src" -c user.email=t@e -c user.name=T commit -qam bad &&
	git -C "$T/src" tag s2
bia source add "$T/src" >/dev/null && bia source sync src >/dev/null 2>&1
n_runs=$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM runs")
check "rows in the tables that matter ($n_runs runs)" eval '[ "$n_runs" -ge 3 ] && [ "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM run_scores")" -gt 0 ] && [ "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM run_objects")" -gt 0 ] && [ "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM run_events")" -gt 0 ]'
check "a source with two tag rows" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM workflow_source_tags")" = 2
# the dumps read through the SQLite copy of the schema for column names
cp "$I/biaflows.db" "$T/orig.db"
mkdir -p "$T/o" && cp "$T/orig.db" "$T/o/biaflows.db"
dump "$T/o/biaflows.db" "$T/orig.dump"
check "the dump has every table" test "$(grep -c '^== ' "$T/orig.dump")" -eq 30

expect_rc "migrate-store -h" 0 bia migrate-store -h
check "... documents --to" has "$T/out" "--to URL"
expect_rc "migrate-store without --to: usage" 2 bia migrate-store
expect_rc "to a bad URL: refused" 1 bia migrate-store --to postgresql://nohost
check "... naming the URL's problem" has "$T/err" "bad PostgreSQL URL"
expect_rc "to an SQLite file that is not empty: refused" 1 bia migrate-store --to sqlite:biaflows.db
check "... the instance keeps its store" grep -q '"store": "sqlite:biaflows.db"' "$I/config"

if [ -n "$PG" ]; then
	expect_rc "migrate-store --to PostgreSQL" 0 bia migrate-store --to "$PG"
	check "... says what it copied" has "$T/out" "the instance now uses"
	check "... the config names the new store" grep -q '"store": "postgresql://.*schema=bia_' "$I/config"
	check "... the old store is left as it was" test "$(sqlite3 "$T/orig.db" .dump | sha256sum)" = "$(command sqlite3 "$I/biaflows.db" .dump | sha256sum)"
	cp "$T/orig.db" "$T/pgcols.db" # column names for dump()
	mkdir -p "$T/p" && cp "$T/orig.db" "$T/p/biaflows.db"
	dump_pg() { # OUT: the same dump, through psql
		local t cols u
		u=$(pg_store_url "$I")
		: >"$1"
		for t in $TABLES; do
			cols=$(command sqlite3 "$T/p/biaflows.db" "SELECT group_concat(name, ', ') FROM pragma_table_info('$t')")
			echo "== $t" >>"$1"
			pg_sql "$u" "SELECT $cols FROM $t" | sort >>"$1"
		done
	}
	dump_pg "$T/pg.dump"
	# psql prints doubles in their shortest exact form, sqlite3 to 15
	# digits: compare them to 15 digits (the copy back to SQLite below is
	# compared exactly)
	norm() { $PY -c '
import sys, re
def f(m):
    return "%.15g" % float(m.group(0))
for line in open(sys.argv[1]):
    print(re.sub(r"-?\d+\.\d+(e[-+]?\d+)?", f, line.rstrip("\n")))
' "$1" | sort; }
	check "every row of every table is in PostgreSQL" test "$(norm "$T/orig.dump" | sha256sum)" = "$(norm "$T/pg.dump" | sha256sum)"
	expect_rc "the instance works on PostgreSQL: runs list" 0 bia runs --format json
	check "... every run" test "$($PY -c "import json; print(len(json.load(open('$T/out'))))")" -eq "$n_runs"
	expect_rc "... fsck" 0 bia fsck
	expect_rc "to a PostgreSQL schema that exists: refused" 1 bia migrate-store --to "$PG?schema=$(pg_store_url "$I" | sed -n 's/.*schema=//p')"
	expect_rc "back to SQLite (a new file)" 0 bia migrate-store --to sqlite:back.db
	check "... the config names it" grep -q '"store": "sqlite:back.db"' "$I/config"
	mkdir -p "$T/b" && cp "$I/back.db" "$T/b/biaflows.db"
	dump "$T/b/biaflows.db" "$T/back.dump"
	check "every row of every table came back" cmp -s "$T/orig.dump" "$T/back.dump"
	check "... the rowid order of scores too" test "$(command sqlite3 "$T/orig.db" "SELECT group_concat(rowid || metric) FROM run_scores")" = "$(command sqlite3 "$I/back.db" "SELECT group_concat(rowid || metric) FROM run_scores")"
	expect_rc "a new run after the round trip" 0 bia run Threshold-Python P --wait
	check "... gets a new id" test "$(command sqlite3 "$I/back.db" "SELECT max(id) FROM runs")" -gt "$(command sqlite3 "$T/orig.db" "SELECT max(id) FROM runs")"
else
	echo "# no PostgreSQL (BIAFLOWS_DATABASE): SQLite -> SQLite only"
	expect_rc "migrate-store --to sqlite:copy.db" 0 bia migrate-store --to sqlite:copy.db
	check "... the config names it" grep -q '"store": "sqlite:copy.db"' "$I/config"
	mkdir -p "$T/b" && cp "$I/copy.db" "$T/b/biaflows.db"
	dump "$T/b/biaflows.db" "$T/copy.dump"
	check "every row of every table is in the copy" cmp -s "$T/orig.dump" "$T/copy.dump"
	expect_rc "the instance works on the copy" 0 bia fsck
fi
finish
