#!/usr/bin/env bash
# fsck on a flipped byte, an orphan file, a row without its file, a live
# import's temp file and a dead writer's temp file.
. "$(dirname "$0")/lib.sh"
I=$T/inst
IMG=$FIX/images
"$BIAFLOWS" init "$I" 2>/dev/null
bia problem add p --class ObjSeg >/dev/null
bia dataset import p "$FIX/sample" >/dev/null 2>&1
sha() { sha256sum "$1" | cut -c1-64; }
blob() { local d; d=$(sha "$1"); echo "$I/blobs/sha256/${d:0:2}/${d:2}"; }

expect_rc "clean instance: fsck exit 0" 0 bia fsck
check "clean: consistent" has "$T/out" "instance is consistent"
check "clean: 4 blobs checked" has "$T/out" "checked 4 blobs"

# flipped byte
B=$(blob "$FIX/sample/images/nuc_a.tif")
cp "$B" "$T/saved"
chmod u+w "$B"
printf '\xAA' | dd of="$B" bs=1 seek=200 conv=notrunc 2>/dev/null
expect_rc "flipped byte: fsck exit 1" 1 bia fsck
check "flipped byte: reported as corrupt with its path" has "$T/out" "corrupt    $B: content has digest"
check "flipped byte: file left for inspection" test -f "$B"
cp "$T/saved" "$B"
expect_rc "restored: fsck exit 0" 0 bia fsck

# orphan file: a well-named blob no row references
O=$(printf 'orphan' | sha256sum | cut -c1-64)
mkdir -p "$I/blobs/sha256/${O:0:2}"
printf 'orphan' >"$I/blobs/sha256/${O:0:2}/${O:2}"
expect_rc "orphan: fsck --dry-run reports, exit 1" 1 bia fsck --dry-run
check "orphan: dry run keeps it" test -f "$I/blobs/sha256/${O:0:2}/${O:2}"
expect_rc "orphan: fsck removes it, exit 0" 0 bia fsck
check "orphan: reported" has "$T/out" "orphan     $I/blobs/sha256/${O:0:2}/${O:2}: no row references this file: removed"
check "orphan: removed" test ! -e "$I/blobs/sha256/${O:0:2}/${O:2}"

# row without its file
G=$(blob "$FIX/sample/groundtruth/nuc_b.tif")
mv "$G" "$T/moved"
expect_rc "missing file: fsck exit 1" 1 bia fsck
check "missing file: reported with its digest path" has "$T/out" "missing    $G: a row references this blob but the file is absent"
mv "$T/moved" "$G"
expect_rc "file back: fsck exit 0" 0 bia fsck

# a blob row nothing references any more (e.g. outputs of a requeued run):
# the row is forgotten and the file removed
G2=$(blob "$FIX/sample/groundtruth/nuc_a.tif")
D2=$(sha "$FIX/sample/groundtruth/nuc_a.tif")
sqlite3 "$I/biaflows.db" "PRAGMA foreign_keys=ON; DELETE FROM gt_files WHERE digest='$D2'"
expect_rc "unreferenced blob row: fsck exit 0" 0 bia fsck
check "unreferenced blob row: file removed" test ! -e "$G2"
check "unreferenced blob row: row removed" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM blobs WHERE digest='$D2'")" = 0
expect_rc "then consistent" 0 bia fsck
check "3 blobs left" has "$T/out" "checked 3 blobs"

# a dead writer's temp file
printf 'x' >"$I/blobs/tmp/999999999-AbCdEf"
expect_rc "stale temp: fsck exit 0" 0 bia fsck
check "stale temp: removed" test ! -e "$I/blobs/tmp/999999999-AbCdEf"

# a dead import's conversion folder
mkdir -p "$I/runs/.import-tmp-Xy12Ab/images"
expect_rc "stale conversion folder: fsck exit 0" 0 bia fsck
check "stale conversion folder: removed" test ! -e "$I/runs/.import-tmp-Xy12Ab"

# a live import's temp file: the import stops itself right after writing it
BIAFLOWS_FAULT=blob.tmp_written BIAFLOWS_FAULT_ACTION=stop \
	"$BIAFLOWS" --instance "$I" image add p "$IMG/vips_bigtiff.tif" >"$T/live.out" 2>&1 &
pid=$!
state=
for _ in $(seq 1 500); do
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
	[ "$state" = T ] && break
	sleep 0.01
done
check "live import is stopped at the fault point" test "$state" = T
tmpf=$(ls "$I/blobs/tmp")
check "live import has a temp file" test -n "$tmpf"
expect_rc "live temp: fsck exit 0" 0 bia fsck --format json
check "live temp: reported as running" has "$T/out" '"temp_live": 1'
check "live temp: import flagged" has "$T/out" '"import_running": true'
check "live temp: kept" test -f "$I/blobs/tmp/$tmpf"
kill -CONT "$pid"
wait "$pid"
check "resumed import succeeds" test $? = 0
check "resumed import stored the image" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM images WHERE stem='vips_bigtiff'")" = 1
check "temp file gone after the import" test -z "$(ls "$I/blobs/tmp")"
expect_rc "after the import: fsck exit 0" 0 bia fsck
check "4 blobs checked" has "$T/out" "checked 4 blobs"
finish
