#!/usr/bin/env bash
# kill -9 an import at fault-injection points: the instance then holds none
# or all of the import, and fsck reports it consistent (removing orphans).
. "$(dirname "$0")/lib.sh"
IMG=$FIX/images
D=$T/ds
mkdir -p "$D/images" "$D/groundtruth"
cp "$IMG/tf_int64.tif" "$D/images/a.tif"
cp "$IMG/mask_ok.tif" "$D/groundtruth/a.tif"
cp "$FIX/sample/images/nuc_a.tif" "$D/images/b.tif"
cp "$FIX/sample/groundtruth/nuc_a.tif" "$D/groundtruth/b.tif"
cp "$FIX/sample/images/nuc_b.tif" "$D/images/c.tif"
cp "$FIX/sample/groundtruth/nuc_b.tif" "$D/groundtruth/c.tif"
nfiles=6

fresh() {
	I=$T/inst-$1
	"$BIAFLOWS" init "$I" 2>/dev/null
	bia problem add p --class ObjSeg >/dev/null
}
count() { sqlite3 "$I/biaflows.db" "SELECT count(*) FROM $1"; }
blobs() { find "$I/blobs/sha256" -type f | wc -l | tr -d ' '; }

for point in "import.blob:3" "import.commit"; do
	fresh "${point%%:*}"
	before=$(snapshot "$I")
	run env BIAFLOWS_FAULT="$point" "$BIAFLOWS" --instance "$I" dataset import p "$D"
	check "$point: import killed by signal 9" test "$rc" = 137
	want=3
	[ "$point" = import.commit ] && want=$nfiles
	check "$point: $want blob files on disk" test "$(blobs)" = "$want"
	check "$point: no image rows" test "$(count images)" = 0
	check "$point: no GT rows" test "$(count gt_versions)" = 0
	check "$point: no blob rows" test "$(count blobs)" = 0
	expect_rc "$point: fsck succeeds" 0 bia fsck --format json
	/usr/bin/python3 - "$T/out" "$want" >"$T/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert r["consistent"] and r["orphans"] == n and r["orphans_removed"] == n, r
assert r["missing"] == 0 and r["corrupt"] == 0, r
print("fine")
PY
	check "$point: fsck removed $want orphans, consistent" has "$T/py" fine
	check "$point: no blob file left" test "$(blobs)" = 0
	check "$point: instance as before the import" test "$(snapshot "$I")" = "$before"
	expect_rc "$point: the import then succeeds" 0 bia dataset import p "$D"
	check "$point: all three images there" test "$(count images)" = 3
done

fresh committed
run env BIAFLOWS_FAULT=import.committed "$BIAFLOWS" --instance "$I" dataset import p "$D"
check "committed: killed by signal 9" test "$rc" = 137
check "committed: all 3 images present" test "$(count images)" = 3
check "committed: all 3 GT versions present" test "$(count gt_versions)" = 3
check "committed: all 6 files present" test "$(blobs)" = "$nfiles"
expect_rc "committed: fsck consistent" 0 bia fsck --format json
check "committed: nothing to remove" has "$T/out" '"orphans": 0'
check "committed: blobs verified" has "$T/out" '"blobs_checked": 6'
finish
