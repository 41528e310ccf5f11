#!/usr/bin/env bash
# Bad input: one-line error naming the file and the problem, exit 1, and the
# instance exactly as before.
. "$(dirname "$0")/lib.sh"
I=$T/inst
IMG=$FIX/images
"$BIAFLOWS" init "$I" 2>/dev/null
bia problem add nuc --class ObjSeg >/dev/null
bia dataset import nuc "$FIX/sample" >/dev/null 2>&1
before=$(snapshot "$I")

# refused DESC FILE-NAMED TEXT CMD...: exit 1, one stderr line with FILE and TEXT, no change
refused() {
	local desc=$1 named=$2 text=$3
	shift 3
	run "$@"
	if [ "$rc" -ne 1 ]; then
		not_ok "$desc: exit 1" "exit $rc; stderr: $(cat "$T/err")"
	else ok "$desc: exit 1"; fi
	if [ "$(lines "$T/err")" = 1 ]; then ok "$desc: one line"; else
		not_ok "$desc: one line" "$(cat "$T/err")"; fi
	if has "$T/err" "$named" && has "$T/err" "$text"; then ok "$desc: names file and problem"; else
		not_ok "$desc: names file and problem" "want '$named' and '$text' in: $(cat "$T/err")"; fi
	if [ "$(snapshot "$I")" = "$before" ]; then ok "$desc: instance unchanged"; else
		not_ok "$desc: instance unchanged"; fi
}

refused "truncated TIFF" bad_truncated.tif "declares 12 images but has 2 pages" \
	bia image add nuc "$IMG/bad_truncated.tif"
refused "TIFF cut inside its strip" bad_truncated_data.tif "truncated or corrupt strip" \
	bia image add nuc "$IMG/bad_truncated_data.tif"
refused "PNG named .tif" bad_png_named.tif "holds png data but is named .tif" \
	bia image add nuc "$IMG/bad_png_named.tif"
refused "garbage TIFF" bad_garbage.tif "bad_garbage.tif:" \
	bia image add nuc "$IMG/bad_garbage.tif"
refused "empty file" bad_empty.tif "file is empty" \
	bia image add nuc "$IMG/bad_empty.tif"
refused "missing file" nothere.tif "No such file" \
	bia image add nuc "$T/nothere.tif"
mkdir -p "$T/adir.tif"
refused "a folder given as a file" adir.tif "not a regular file" \
	bia image add nuc "$T/adir.tif"
refused "dimension bomb (pixel limit)" vips_tiled_lzw.tif "exceeds the limit of 1000 samples" \
	env BIAFLOWS_MAX_PIXELS=1000 "$BIAFLOWS" --instance "$I" image add nuc "$IMG/vips_tiled_lzw.tif"
refused "crafted 200000x200000 header" bomb-200kx200k.tif "exceeds the limit" \
	bia image add nuc "$FIX/../../fuzz/corpus/tiff/bomb-200kx200k.tif"
refused "64-bit labels beyond 32 bits" tf_int64_big.tif "exceed the 32-bit range" \
	bia image add nuc "$IMG/tf_int64_big.tif"

# GT whose shape differs from its image
D=$T/ds
mkdir -p "$D/images" "$D/groundtruth"
cp "$IMG/tf_int64.tif" "$D/images/a.tif"
cp "$IMG/mask_wrong_shape.tif" "$D/groundtruth/a.tif"
refused "GT shape differs from image" groundtruth/a.tif "ground truth is 16x11 but image 'a.tif' is 16x12" \
	bia dataset import nuc "$D"
refused "gt add with wrong shape" mask_wrong_shape.tif "ground truth is 16x11" \
	bia gt add nuc/nuc_a "$IMG/mask_wrong_shape.tif"
printf '' >"$T/empty.swc"
refused "empty non-image GT" empty.swc "ground-truth file is empty" \
	bia gt add nuc/nuc_a "$T/empty.swc"
refused "unknown GT file type" README.md "unsupported ground-truth file type" \
	bia gt add nuc/nuc_a "$IMG/README.md"
refused "duplicate stem" nuc_a.tif "an image with stem 'nuc_a' already exists" \
	bia image add nuc "$FIX/sample/images/nuc_a.tif"

# class rules on ground truth: PrtTrk one pixel per track per frame;
# ObjTrk track file agreeing with its stack
bia problem add tracks --class PrtTrk >/dev/null
bia problem add cells --class ObjTrk >/dev/null
before=$(snapshot "$I")
P=$T/prt
mkdir -p "$P/images" "$P/groundtruth" "$T/trk/images" "$T/trk/groundtruth"
/usr/bin/python3 - "$P" "$T/trk" <<'PY'
import sys, numpy, tifffile
p, k = sys.argv[1], sys.argv[2]
img = numpy.zeros((3, 8, 8), numpy.uint8) + 10
tifffile.imwrite(p + "/images/s.tif", img, photometric="minisblack", metadata={"axes": "TYX"})
gt = numpy.zeros((3, 8, 8), numpy.uint16)
gt[0, 1, 1] = 1; gt[1, 2, 2] = 1; gt[2, 3, 3] = 1; gt[2, 5, 5] = 1   # track 1 twice in frame 2
tifffile.imwrite(p + "/groundtruth/s.tif", gt, photometric="minisblack", metadata={"axes": "TYX"})
tifffile.imwrite(k + "/images/c.tif", img, photometric="minisblack", metadata={"axes": "TYX"})
lab = numpy.zeros((3, 8, 8), numpy.uint16)
lab[0, 1:3, 1:3] = 1; lab[1, 1:3, 1:3] = 1; lab[2, 1:3, 1:3] = 2
tifffile.imwrite(k + "/groundtruth/c.tif", lab, photometric="minisblack", metadata={"axes": "TYX"})
open(k + "/groundtruth/c.txt", "w").write("1 0 2 0\n")   # label 2 missing, 1 ends at frame 1
PY
refused "PrtTrk duplicate detection" groundtruth/s.tif "duplicate detection of track 1 in frame 2" \
	bia dataset import tracks "$P"
run bia dataset import cells "$T/trk"
check "ObjTrk track file disagreeing with the stack: exit 1" test "$rc" = 1
check "ObjTrk: names the track file" has "$T/err" "c.txt"
check "ObjTrk: instance unchanged" test "$(snapshot "$I")" = "$before"
before=$(snapshot "$I")

# unknown class code
run bia problem add x --class Segmentation
check "unknown class: exit 1" test "$rc" = 1
check "unknown class: names the code and the valid ones" has "$T/err" "unknown problem class 'Segmentation' (expected one of ObjSeg, SptCnt"
check "unknown class: one line" test "$(lines "$T/err")" = 1
check "unknown class: instance unchanged" test "$(snapshot "$I")" = "$before"

# all-or-nothing: several good files and one bad refuses the lot
D2=$T/ds2
mkdir -p "$D2/images" "$D2/groundtruth"
cp "$IMG/tf_int64.tif" "$D2/images/good1.tif"
cp "$IMG/png_gray8.png" "$D2/images/good2.png"
cp "$IMG/bad_truncated_data.tif" "$D2/images/bad.tif"
cp "$IMG/mask_ok.tif" "$D2/groundtruth/good1.tif"
cp "$IMG/mask_ok.tif" "$D2/groundtruth/orphan.tif"
run bia dataset import nuc "$D2"
check "mixed dataset refused" test "$rc" = 1
check "lists the bad image" has "$T/err" "images/bad.tif"
check "lists the GT without image" has "$T/err" "groundtruth/orphan.tif: ground truth without an image"
check "says nothing was imported" has "$T/err" "refused: 2 invalid files, nothing imported"
check "mixed dataset: instance unchanged" test "$(snapshot "$I")" = "$before"
expect_rc "--skip-invalid imports the valid pairs" 0 bia dataset import nuc "$D2" --skip-invalid
check "two images imported" test "$(lines "$T/out")" = 2
check "skipped files listed" has "$T/err" "skipped: $D2/images/bad.tif"
expect_rc "fsck after skip" 0 bia fsck
# a file name holding a newline (and a terminal escape): every error and
# warning stays one line, the name quoted with escapes
D3=$T/newline
mkdir -p "$D3/images" "$D3/groundtruth"
printf 'not an image' >"$D3/images/bad
name.tif"
cp "$IMG/png_gray8.png" "$D3/images/esc$(printf '\033')[31m.png"
cp "$IMG/tf_int64.tif" "$D3/images/good1.tif"
cp "$IMG/mask_ok.tif" "$D3/groundtruth/good1.tif"
run bia dataset import nuc "$D3"
check "newline in a name: refused" test "$rc" = 1
check "... every stderr line is a biaflows message" test "$(grep -vc '^biaflows: ' "$T/err")" = 0
check "... the name is quoted with \\n" has "$T/err" 'images/bad\nname.tif: not a TIFF, PNG or JPEG image'
check "... a terminal escape is not passed through" test "$(grep -c "$(printf '\033')" "$T/err")" = 0
check "... shown as \\x1b" has "$T/err" 'esc\x1b[31m'
finish
