#!/usr/bin/env bash
# Concurrent writers never lose committed data: two processes importing the
# same folder, and two adding overlapping workflow folders under the same
# version, while fsck runs beside them. The loser's rollback must not remove
# a blob the winner committed; fsck must not remove a blob a live writer is
# about to reference. 10 trials each; every time fsck finds the instance
# consistent and no row is without its file.
. "$(dirname "$0")/lib.sh"
"$BIAFLOWS" gen ObjSeg "$T/data" --n 50 --size 48x40 --seed 7 >/dev/null 2>&1
check "50 generated images" test "$(ls "$T/data/images" | wc -l)" = 50

# fsck_clean DIR: fsck exit 0, no row without its file (JSON report)
fsck_clean() {
	"$BIAFLOWS" --instance "$1" fsck --format json >"$T/fsck.json" 2>"$T/fsck.err" || return 1
	python3 - "$T/fsck.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["consistent"] and r["missing"] == 0 and r["corrupt"] == 0, r
PY
}
# rows_have_files DIR: every digest a row names has its blob file
rows_have_files() {
	local n=0 d
	for d in $(sqlite3 -cmd ".timeout 10000" "$1/biaflows.db" \
		"SELECT digest FROM images UNION SELECT digest FROM gt_files UNION SELECT digest FROM workflow_files"); do
		[ -f "$1/blobs/sha256/${d:0:2}/${d:2}" ] || n=$((n + 1))
	done
	[ "$n" -eq 0 ]
}
# fsck_loop DIR STOPFILE: fsck (removing orphans) until STOPFILE exists
fsck_loop() {
	while [ ! -e "$2" ]; do "$BIAFLOWS" --instance "$1" fsck >/dev/null 2>&1; done
}

ok_imports=0 bad_imports=0 winners=0
for trial in 1 2 3 4 5 6 7 8 9 10; do
	I=$T/imp$trial
	"$BIAFLOWS" init "$I" 2>/dev/null
	bia problem add p --class ObjSeg >/dev/null
	rm -f "$T/stop"
	fsck_loop "$I" "$T/stop" &
	fl=$!
	bia dataset import p "$T/data" >"$T/a.out" 2>"$T/a.err" &
	a=$!
	bia dataset import p "$T/data" >"$T/b.out" 2>"$T/b.err" &
	b=$!
	wait $a; ra=$?
	wait $b; rb=$?
	touch "$T/stop"
	wait $fl
	# one import wins (the other is refused: the same images exist), or both
	# fail cleanly; either way nothing committed is lost
	[ $ra -eq 0 ] && winners=$((winners + 1))
	[ $rb -eq 0 ] && winners=$((winners + 1))
	n=$(sqlite3 -cmd ".timeout 10000" "$I/biaflows.db" "SELECT count(*) FROM images")
	if fsck_clean "$I" && rows_have_files "$I" && { [ "$n" = 0 ] || [ "$n" = 50 ]; }; then
		ok_imports=$((ok_imports + 1))
	else
		bad_imports=$((bad_imports + 1))
		echo "# trial $trial: rc $ra/$rb, $n images; $(head -c 300 "$T/fsck.json") $(head -c 200 "$T/a.err") $(head -c 200 "$T/b.err")"
	fi
done
check "imports: consistent in 10 of 10 trials (bad: $bad_imports)" test "$ok_imports" = 10
check "imports: the images were committed (by one import) in every trial" test "$winners" -ge 10

# two workflow folders of one name sharing files, added as the same version
mk_wf() { # DIR WHICH
	mkdir -p "$1"
	cp "$FIX/workflows/py-threshold/threshold.py" "$1/"
	cp -r "$T/shared" "$1/common"
	echo "only in $2 $RANDOM" >"$1/own.txt"
	sed "s/Global threshold/Global threshold ($2)/" "$FIX/workflows/py-threshold/descriptor.json" >"$1/descriptor.json"
}
ok_wf=0 bad_wf=0
for trial in 1 2 3 4 5 6 7 8 9 10; do
	I=$T/wf$trial
	"$BIAFLOWS" init "$I" 2>/dev/null
	rm -rf "$T/shared" "$T/w1" "$T/w2"
	mkdir "$T/shared"
	for k in $(seq 1 40); do head -c 50000 /dev/urandom >"$T/shared/f$k.bin"; done
	mk_wf "$T/w1" one
	mk_wf "$T/w2" two
	rm -f "$T/stop"
	fsck_loop "$I" "$T/stop" &
	fl=$!
	bia workflow add "$T/w1" --version v1 >"$T/a.out" 2>"$T/a.err" &
	a=$!
	bia workflow add "$T/w2" --version v1 >"$T/b.out" 2>"$T/b.err" &
	b=$!
	wait $a; ra=$?
	wait $b; rb=$?
	touch "$T/stop"
	wait $fl
	nv=$(sqlite3 -cmd ".timeout 10000" "$I/biaflows.db" "SELECT count(*) FROM workflow_versions")
	if [ $((ra + rb)) -ge 1 ] && [ "$nv" = 1 ] && fsck_clean "$I" && rows_have_files "$I"; then
		ok_wf=$((ok_wf + 1))
	else
		bad_wf=$((bad_wf + 1))
		echo "# trial $trial: rc $ra/$rb, $nv versions; $(head -c 300 "$T/fsck.json") $(head -c 200 "$T/a.err") $(head -c 200 "$T/b.err")"
	fi
done
check "workflows: one version, consistent in 10 of 10 trials (bad: $bad_wf)" test "$ok_wf" = 10
finish
