#!/usr/bin/env bash
# init, problem, image, gt, dataset import: the normal paths and output formats.
. "$(dirname "$0")/lib.sh"
I=$T/inst

expect_rc "init creates an instance" 0 "$BIAFLOWS" init "$I"
if pg_store_url "$I" >/dev/null; then # the PostgreSQL pass of tests/run-tests
	check "instance has its layout" test -f "$I/config" -a -d "$I/blobs/sha256" -a -d "$I/runs"
	check "no SQLite database" test ! -e "$I/biaflows.db"
	check "schema version recorded" test "$(sqlite3 "$I/biaflows.db" 'SELECT version FROM schema_version')" = 11
else
	check "instance has its layout" test -f "$I/biaflows.db" -a -f "$I/config" -a -d "$I/blobs/sha256" -a -d "$I/runs"
	check "database is in WAL mode" test "$(sqlite3 "$I/biaflows.db" 'PRAGMA journal_mode')" = wal
	check "schema version recorded" test "$(sqlite3 "$I/biaflows.db" 'PRAGMA user_version')" = 11
fi
expect_rc "init on an existing instance fails" 1 "$BIAFLOWS" init "$I"
check "... saying so" has "$T/err" "already a biaflows instance"
expect_rc "init --database with a bad URL fails" 1 "$BIAFLOWS" init "$T/bad" --database postgresql://nohost
check "... naming the problem, no folder made" eval 'has "$T/err" "bad PostgreSQL URL" && [ ! -e "$T/bad" ]'
expect_rc "init --database with a server out of reach fails" 1 "$BIAFLOWS" init "$T/bad" --database postgresql://nobody@127.0.0.1:1/none
check "... naming host and port, no folder made" eval 'has "$T/err" "127.0.0.1:1" && [ ! -e "$T/bad" ]'
expect_rc "init --database of an unknown kind fails" 1 "$BIAFLOWS" init "$T/bad" --database mysql://h/d
check "... naming the back ends there are" has "$T/err" "sqlite, postgresql"
expect_rc "init --database without a URL: usage" 2 "$BIAFLOWS" init "$T/bad" --database

# --- problems
expect_rc "problem add" 0 bia problem add nuclei --class objseg --description "2D nuclei"
check "problem add prints the id alone" test "$(cat "$T/out")" = 1
expect_rc "problem add json" 0 bia problem add spots --class SPTCNT --format json
check "json has canonical class" has "$T/out" '"class": "SptCnt"'
check "json has id 2" has "$T/out" '"id": 2'
expect_rc "duplicate problem name" 1 bia problem add nuclei --class ObjSeg
check "duplicate named" has "$T/err" "problem 'nuclei' already exists"
expect_rc "problem add without class: usage" 2 bia problem add x
expect_rc "problem list" 0 bia problem list
check "table header" has "$T/out" "ID  NAME    CLASS   IMAGES  DESCRIPTION"
check "table row" has "$T/out" "nuclei  ObjSeg  0       2D nuclei"
expect_rc "problem list csv" 0 bia problem list --format csv
check "csv header" test "$(head -1 "$T/out")" = "id,name,class,images,description"
check "csv row" has "$T/out" "2,spots,SptCnt,0,"
expect_rc "problem list json" 0 bia problem list --format json
check "json list parses with 2 entries" test "$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/out")" = 2
expect_rc "problem show by id" 0 bia problem show 1
check "show has class name" has "$T/out" "Object segmentation"
expect_rc "unknown format is a usage error" 2 bia problem list --format xml

# --- instance resolution
expect_rc "--instance after the subcommand" 0 "$BIAFLOWS" problem list --instance "$I"
expect_rc "BIAFLOWS_INSTANCE" 0 env BIAFLOWS_INSTANCE="$I" "$BIAFLOWS" problem list
check "env instance lists problems" has "$T/out" nuclei
expect_rc "current directory instance" 0 bash -c "cd '$I' && '$BIAFLOWS' problem list"
check "cwd instance lists problems" has "$T/out" spots
expect_rc "no instance anywhere: usage error" 2 bash -c "cd '$T' && '$BIAFLOWS' problem list"
check "no-instance error explains" has "$T/err" "no instance"
expect_rc "--instance that is not an instance" 1 "$BIAFLOWS" --instance "$T" problem list

# --- images
expect_rc "image add two files" 0 bia image add nuclei "$FIX/images/vips_tiled_lzw.tif" "$FIX/images/tf_ome.ome.tif"
check "image add prints two ids" test "$(cat "$T/out" | tr '\n' ' ')" = "1 2 "
expect_rc "image list" 0 bia image list nuclei
check "list shows the OME stem without .ome" has "$T/out" "tf_ome "
check "list shows dims" has "$T/out" "300x200x1"
expect_rc "image list json" 0 bia image list --format json
/usr/bin/python3 - "$T/out" >"$T/py" 2>&1 <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
o = [r for r in rows if r["stem"] == "tf_ome"][0]
assert (o["size_x"], o["size_y"], o["size_z"], o["size_c"], o["size_t"]) == (8, 10, 3, 2, 2), o
assert o["dtype"] == "uint16" and o["original_name"] == "tf_ome.ome.tif" and o["layout"] == "ome"
assert len(o["digest"]) == 64 and o["physical_size_x"] == 0.5
print("fine")
PY
check "json records dims, type, digest, original name" has "$T/py" fine
expect_rc "image show PROBLEM/STEM" 0 bia image show nuclei/tf_ome
check "show has digest" has "$T/out" "digest"
expect_rc "image show ID" 0 bia image show 1
check "show by id" has "$T/out" "vips_tiled_lzw"
expect_rc "image show unknown stem" 1 bia image show nuclei/nothere
expect_rc "image list csv" 0 bia image list nuclei --format csv
check "csv has 3 lines" test "$(lines "$T/out")" = 3

# --- ground truth
expect_rc "gt add with annotator" 0 bia gt add nuclei/vips_tiled_lzw "$FIX/images/vips_tiled_lzw.tif" --annotator alice
check "gt add prints the version id" test "$(cat "$T/out")" = 1
expect_rc "gt add second version, not current" 0 bia gt add 1 "$FIX/images/vips_tiled_lzw.tif" --annotator bob --not-current
expect_rc "gt list" 0 bia gt list nuclei/vips_tiled_lzw --format json
/usr/bin/python3 - "$T/out" >"$T/py" 2>&1 <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert [x["annotator"] for x in v] == ["alice", "bob"], v
assert [x["current"] for x in v] == [True, False], v
assert v[0]["files"][0]["kind"] == "mask"
print("fine")
PY
check "two GT versions, first current" has "$T/py" fine
expect_rc "gt add third version becomes current" 0 bia gt add nuclei/vips_tiled_lzw "$FIX/images/vips_tiled_lzw.tif"
check "current moved to version 3" test "$(sqlite3 "$I/biaflows.db" 'SELECT id FROM gt_versions WHERE is_current = 1')" = 3

# --- dataset import: images/ + groundtruth/ with non-image GT
D=$T/ds
mkdir -p "$D/images" "$D/groundtruth"
cp "$FIX/sample/images/nuc_a.tif" "$FIX/sample/images/nuc_b.tif" "$D/images/"
cp "$FIX/sample/groundtruth/nuc_a.tif" "$D/groundtruth/"
printf '1 1 10 10 0 1 -1\n2 3 12 10 0 1 1\n' >"$D/groundtruth/nuc_a.swc"
printf '1 0 3 0\n' >"$D/groundtruth/nuc_a.txt"
printf 'x,y\n8,8\n' >"$D/groundtruth/nuc_b.csv"
expect_rc "problem for dataset" 0 bia problem add ds --class ObjSeg
expect_rc "dataset import" 0 bia dataset import ds "$D"
check "dataset import prints 2 ids" test "$(lines "$T/out")" = 2
check "summary on stderr" has "$T/err" "imported 2 images and 2 ground-truth versions into 'ds'"
expect_rc "gt list of nuc_a" 0 bia gt list ds/nuc_a --format json
/usr/bin/python3 - "$T/out" >"$T/py" 2>&1 <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
kinds = sorted(f["kind"] for f in v[0]["files"])
assert kinds == ["mask", "swc", "txt"], kinds
print("fine")
PY
check "one GT version with mask, swc and txt" has "$T/py" fine
expect_rc "gt list of nuc_b has a csv" 0 bia gt list ds/nuc_b
check "csv GT" has "$T/out" "nuc_b.csv"

# --- getting stored files back out
expect_rc "image get (the original)" 0 bia image get ds/nuc_a -o "$T/got.tif"
check "... byte-identical to the imported file" cmp -s "$T/got.tif" "$FIX/sample/images/nuc_a.tif"
expect_rc "image get --as ome-tiff" 0 bia image get ds/nuc_a -o "$T/got.ome.tif" --as ome-tiff
check "... the same pixels, read by tifffile, with OME-XML" /usr/bin/python3 -c '
import sys, numpy, tifffile
a = tifffile.imread(sys.argv[1]); b = tifffile.imread(sys.argv[2])
assert a.shape == b.shape and (a == b).all(), (a.shape, b.shape)
assert tifffile.TiffFile(sys.argv[2]).is_ome
' "$FIX/sample/images/nuc_a.tif" "$T/got.ome.tif"
expect_rc "image get --as bmp: usage error" 2 bia image get ds/nuc_a -o "$T/x.bmp" --as bmp
expect_rc "gt get (three files: into a folder)" 0 bia gt get ds/nuc_a -o "$T/gtout"
check "... by their names, byte-identical" eval 'cmp -s "$T/gtout/nuc_a.tif" "$FIX/sample/groundtruth/nuc_a.tif" && cmp -s "$T/gtout/nuc_a.swc" "$D/groundtruth/nuc_a.swc" && test -f "$T/gtout/nuc_a.txt"'
expect_rc "gt get of one file to a file" 0 bia gt get ds/nuc_b -o "$T/b.csv"
check "... byte-identical" cmp -s "$T/b.csv" "$D/groundtruth/nuc_b.csv"
# gt rm: the newest remaining version becomes current again
expect_rc "gt add a second version" 0 bia gt add ds/nuc_b "$D/groundtruth/nuc_b.csv" --annotator second
V2=$(cat "$T/out")
expect_rc "gt rm it" 0 bia gt rm "$V2"
expect_rc "... gt list" 0 bia gt list ds/nuc_b --format json
check "... one version left, current" test "$(/usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(len(v), v[0]["current"])' "$T/out")" = "1 True"
expect_rc "gt rm of an unknown version" 1 bia gt rm 999
# --- dataset import: BIAFLOWS X / X_lbl naming in one folder
F=$T/flat
mkdir -p "$F"
cp "$FIX/sample/images/nuc_a.tif" "$F/cell1.tif"
cp "$FIX/sample/groundtruth/nuc_a.tif" "$F/cell1_lbl.tif"
cp "$FIX/sample/images/nuc_b.tif" "$F/cell2.tif"
cp "$FIX/sample/groundtruth/nuc_b.tif" "$F/cell2_lbl.tif"
expect_rc "problem for flat" 0 bia problem add flat --class objseg
expect_rc "dataset import X_lbl layout" 0 bia dataset import flat "$F" --format json
/usr/bin/python3 - "$T/out" >"$T/py" 2>&1 <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert o["images"] == 2 and o["gt_versions"] == 2, o
assert sorted(a["stem"] for a in o["added"]) == ["cell1", "cell2"]
print("fine")
PY
check "flat layout pairs cellN with cellN_lbl" has "$T/py" fine

# --- rm
expect_rc "problem rm refuses a non-empty problem" 1 bia problem rm flat
check "rm explains --force" has "$T/err" "--force"
nblobs=$(find "$I/blobs/sha256" -type f | wc -l)
expect_rc "problem rm --force" 0 bia problem rm flat --force
check "problem gone" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM problems WHERE name='flat'")" = 0
check "its images gone" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM images WHERE stem LIKE 'cell%'")" = 0
# nuc_a/nuc_b images and nuc_a's mask are shared with problem ds and stay;
# nuc_b's mask (cell2_lbl) was only in flat and goes
sha() { sha256sum "$1" | cut -c1-64; }
blob() { local d; d=$(sha "$1"); echo "$I/blobs/sha256/${d:0:2}/${d:2}"; }
check "one unshared blob removed" test "$(find "$I/blobs/sha256" -type f | wc -l)" = "$((nblobs - 1))"
check "shared image blob kept" test -f "$(blob "$FIX/sample/images/nuc_b.tif")"
check "shared mask blob kept" test -f "$(blob "$FIX/sample/groundtruth/nuc_a.tif")"
check "unshared mask blob removed" test ! -e "$(blob "$FIX/sample/groundtruth/nuc_b.tif")"
expect_rc "fsck after all this" 0 bia fsck
check "fsck consistent" has "$T/out" "instance is consistent"
expect_rc "rm ds" 0 bia problem rm ds --force
check "unshared blobs removed" test "$(find "$I/blobs/sha256" -type f | wc -l)" -lt "$nblobs"
expect_rc "fsck still consistent" 0 bia fsck
# images without any GT: one warning for the import, not one per file
bia problem add nogt --class ObjSeg >/dev/null
mkdir -p "$T/nogt/images"
for i in 1 2 3 4; do cp "$FIX/sample/images/nuc_a.tif" "$T/nogt/images/n$i.tif"; printf '%04d' $i >>"$T/nogt/images/n$i.tif"; done
expect_rc "import images without ground truth" 0 bia dataset import nogt "$T/nogt"
check "... one warning line" test "$(grep -c 'warning' "$T/err")" = 1
check "... saying none of the 4 images has ground truth" has "$T/err" "none of the 4 images has ground truth"
finish
