#!/usr/bin/env bash
# biaflows convert and dataset import --layout on synthetic look-alikes of the
# real layouts (CTC, ISBI 2012 PTC, BM_GRAZ points, CIMA landmarks, DIADEM
# SWC), written here by a small Python (stdlib) TIFF/PNG writer; bad inputs
# refused with exit 1, one error line naming the file, the instance unchanged.
. "$(dirname "$0")/lib.sh"
I=$T/inst
S=$T/src
L=$FIX/layouts

# --- synthetic look-alikes of the real layouts
/usr/bin/python3 - "$S" "$FIX/images/jpeg_rgb.jpg" "$FIX/images/jpeg_gray.jpg" <<'PY'
import os, shutil, struct, sys, zlib
S, JPG, JPG2 = sys.argv[1], sys.argv[2], sys.argv[3]

def tif(path, w, h, pages, bits=8):
    """Baseline little-endian TIFF, one strip per page, grey uint8/uint16."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    bps = bits // 8
    out = bytearray(b"II*\0" + struct.pack("<I", 0))
    offs = []
    for pg in pages:
        data = b"".join(struct.pack("<B" if bps == 1 else "<H", v) for v in pg)
        offs.append(len(out))
        out += data
    prev = 4
    for k, pg in enumerate(pages):
        if len(out) % 2:
            out += b"\0"
        ifd = len(out)
        struct.pack_into("<I", out, prev, ifd)
        tags = [(256, 3, w), (257, 3, h), (258, 3, bits), (259, 3, 1), (262, 3, 1),
                (273, 4, offs[k]), (277, 3, 1), (278, 3, h), (279, 4, w * h * bps)]
        out += struct.pack("<H", len(tags))
        for tag, typ, val in tags:
            out += struct.pack("<HHI", tag, typ, 1)
            out += struct.pack("<HH", val, 0) if typ == 3 else struct.pack("<I", val)
        prev = len(out)
        out += struct.pack("<I", 0)
    open(path, "wb").write(bytes(out))

def png(path, w, h, rgb):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = b"".join(b"\0" + bytes(rgb(x, y)[c] for x in range(w) for c in range(3)) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def put(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(text)

W, H = 8, 6
def frame(t):
    return [80 * t + x + 10 * y for y in range(H) for x in range(W)]
def tra(t):
    lab = [0] * (W * H)
    lab[1 + W * 1 + t] = lab[2 + W * 1 + t] = 1
    if t < 2:
        lab[5 + W * 4] = 2
    else:
        lab[4 + W * 4], lab[6 + W * 5] = 3, 4
    return lab
TRACKS = "1 0 2 0\n2 0 1 0\n3 2 2 2\n4 2 2 2\n"

# ObjTrk, real-data variant: images/tTTT.tif + groundtruth/TRA + SEG
d = f"{S}/CTC_like_seq01"
for t in range(3):
    tif(f"{d}/images/t{t:03d}.tif", W, H, [frame(t)])
    tif(f"{d}/groundtruth/TRA/man_track{t:03d}.tif", W, H, [tra(t)], 16)
put(f"{d}/groundtruth/TRA/man_track.txt", TRACKS)
seg = [0] * (W * H); seg[0] = seg[1] = 5
tif(f"{d}/groundtruth/SEG/man_seg001.tif", W, H, [seg], 16)
# ObjTrk, CTC's own layout: 01/ + 01_GT/, 02/ + 02_GT/
for n in ("01", "02"):
    for t in range(3):
        tif(f"{S}/ctc/{n}/t{t:03d}.tif", W, H, [[v + int(n) for v in frame(t)]])
        tif(f"{S}/ctc/{n}_GT/TRA/man_track{t:03d}.tif", W, H, [tra(t)], 16)
    put(f"{S}/ctc/{n}_GT/TRA/man_track.txt", TRACKS)
# the same with a track file that disagrees with the masks
shutil.copytree(f"{S}/ctc", f"{S}/ctc_bad")
shutil.rmtree(f"{S}/ctc_bad/02"); shutil.rmtree(f"{S}/ctc_bad/02_GT")
put(f"{S}/ctc_bad/01_GT/TRA/man_track.txt", "1 0 2 0\n2 0 2 0\n3 2 2 2\n4 2 2 2\n")

# PrtTrk: images/tTTT.tif + groundtruth/tracks.xml (+ a sub-folder with a longer XML)
XML = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<root>
<TrackContestISBI2012 SNR="7" density="low" scenario="RECEPTOR">
<particle>
<detection t="0" x="1.4" y="2.6" z="0" />
<detection t="1" x="2.5" y="2" z="0" />
<detection t="2" x="3" y="2" z="0" />
</particle>
<particle>
<detection t="1" x="7" y="5.2" z="0" />
<detection t="2" x="6.6" y="4.5" z="0" />
</particle>
</TrackContestISBI2012>
</root>
"""
d = f"{S}/PTC_like"
for t in range(3):
    tif(f"{d}/images/t{t:03d}.tif", W, H, [frame(t)])
put(f"{d}/groundtruth/tracks_t000-002.xml", XML)
put(f"{d}/groundtruth/original_full/all.xml", XML.replace('t="2" x="3"', 't="9" x="3"'))
shutil.copytree(d, f"{S}/PTC_malformed")
put(f"{S}/PTC_malformed/groundtruth/tracks_t000-002.xml", XML.replace("</particle>\n<particle>", "</particle>\n<particle", 1))

# ObjDet (BM_GRAZ-like): RGB PNG images; dot PNG + "x y label" TXT with count line + CSV
d = f"{S}/BM_like"
for name, pts in (("BM_0001", [(4, 5, 1), (12, 3, 3), (0, 9, 1)]), ("BM_0002", [(19, 0, 3)])):
    png(f"{d}/images/{name}.png", 20, 10, lambda x, y, k=len(pts): (x * 10, y * 20, k))
    png(f"{d}/groundtruth/{name}.png", 20, 10, lambda x, y, p=pts: (255,) * 3 if any(x == a and y == b for a, b, _ in p) else (0,) * 3)
    put(f"{d}/groundtruth/{name}.txt", f"{len(pts)} 3 0\n" + "".join(f"{x} {y} {c}\n" for x, y, c in pts))
    put(f"{d}/groundtruth/{name}.csv", "x,y,label\n" + "".join(f"{x},{y},{c}\n" for x, y, c in pts))
shutil.copytree(d, f"{S}/BM_outside")
put(f"{S}/BM_outside/groundtruth/BM_0002.csv", "x,y,label\n19,0,3\n20,4,1\n")
put(f"{S}/BM_outside/groundtruth/BM_0002.txt", "2 3 0\n19 0 3\n20 4 1\n")

# LndDet (CIMA-like): JPEG images, landmark,X,Y CSVs, a sub-folder of originals
d = f"{S}/CIMA_like"
for name, src in (("s-He", JPG), ("s-CD31", JPG2)):
    os.makedirs(f"{d}/images", exist_ok=True)
    shutil.copy(src, f"{d}/images/{name}.jpg")
    put(f"{d}/groundtruth/{name}.csv", "landmark,X,Y\n1,2.4,3.6\n2,10.5,0\n3,15.4,15.4\n")
    put(f"{d}/groundtruth/original_scale-50pc/{name}.csv", " ,X,Y\n1,24,36\n2,105,0\n3,154,154\n")

# TreTrc (DIADEM-like): 3-slice stacks + SWC
d = f"{S}/DIADEM_like"
tif(f"{d}/images/OP_1.tif", W, H, [frame(z) for z in range(3)])
put(f"{d}/groundtruth/OP_1.swc", "# Neurolucida to SWC conversion from L-Measure.\n1 2 0.5 1 0 1 -1\n2 2 3 4 1 1 1\n3 2 6 5 2 1 2\n")
tif(f"{d}/images/OP_2.tif", W, H, [[v + 1 for v in frame(z)] for z in range(3)])
put(f"{d}/groundtruth/OP_2.swc", "1 2 0.5 1 0 1 -1\n2 2 30 4 1 1 1\n")
shutil.copytree(d, f"{S}/DIADEM_bad")
put(f"{S}/DIADEM_bad/groundtruth/OP_2.swc", "1 2 0.5 1 0 1 -1\n2 2 3 4 1 1 7\n")
PY
check "synthetic layouts written" test -f "$S/DIADEM_like/groundtruth/OP_2.swc"

"$BIAFLOWS" init "$I" >/dev/null 2>&1
for pc in "trk ObjTrk" "trk2 ObjTrk" "ptc PrtTrk" "det ObjDet" "lnd LndDet" "tre TreTrc" "seg ObjSeg"; do
	set -- $pc
	bia problem add "$1" --class "$2" >/dev/null
done

# ------------------------------------------------------------ biaflows convert
expect_rc "convert needs no instance; -h" 0 "$BIAFLOWS" convert -h
check "usage names the layouts" has "$T/out" "convert isbi-ptc XML FRAMES_DIR OUT_DIR"
expect_rc "convert ctc (images/ + groundtruth/TRA variant) --seg" 0 \
	"$BIAFLOWS" convert ctc "$S/CTC_like_seq01" "$T/c1" --seg
check "prints the files written" test "$(lines "$T/out")" = 5
check "image stack named after the folder" test -f "$T/c1/images/CTC_like_seq01.tif"
check "track file copied" cmp -s "$T/c1/groundtruth/CTC_like_seq01.txt" "$S/CTC_like_seq01/groundtruth/TRA/man_track.txt"
check "SEG frames listed" test "$(cat "$T/c1/seg/CTC_like_seq01_frames.txt")" = 1
expect_rc "convert ctc (CTC layout, two sequences, --stem prefix)" 0 \
	"$BIAFLOWS" convert ctc "$S/ctc" "$T/c2" --stem gowt
check "stems gowt_01 and gowt_02" test -f "$T/c2/images/gowt_01.tif" -a -f "$T/c2/groundtruth/gowt_02.txt"
check "summary" has "$T/err" "converted 2 sequences"
expect_rc "convert ctc again into the same folder" 1 "$BIAFLOWS" convert ctc "$S/ctc" "$T/c2" --stem gowt
check "... refuses to overwrite" has "$T/err" "already exists (not overwritten)"
expect_rc "convert isbi-ptc" 0 "$BIAFLOWS" convert isbi-ptc "$S/PTC_like/groundtruth/tracks_t000-002.xml" "$S/PTC_like/images" "$T/c3"
check "stem = the XML's stem" test -f "$T/c3/images/tracks_t000-002.tif" -a -f "$T/c3/groundtruth/tracks_t000-002.tif"
expect_rc "convert points (count-line TXT)" 0 "$BIAFLOWS" convert points "$S/BM_like/groundtruth/BM_0001.txt" --like "$S/BM_like/images/BM_0001.png" "$T/p.tif"
check "points summary" has "$T/err" "3 points written"
expect_rc "convert points with --columns" 0 "$BIAFLOWS" convert points "$L/columns.csv" --like "$S/BM_like/images/BM_0001.png" "$T/p2.tif" --columns -,y,x
expect_rc "convert points without --like: usage" 2 "$BIAFLOWS" convert points "$L/columns.csv" "$T/p3.tif"
expect_rc "convert points: bad --columns is a usage error" 2 "$BIAFLOWS" convert points "$L/columns.csv" --like "$S/BM_like/images/BM_0001.png" "$T/p3.tif" --columns x,q
expect_rc "convert swc" 0 "$BIAFLOWS" convert swc "$S/DIADEM_like/groundtruth/OP_1.swc" "$T/op.swc"
check "swc copied byte for byte" cmp -s "$T/op.swc" "$S/DIADEM_like/groundtruth/OP_1.swc"
expect_rc "convert dataset --layout points" 0 "$BIAFLOWS" convert dataset --layout points "$S/CIMA_like" "$T/c4" --number-points
check "dataset: images copied, masks written" test -f "$T/c4/images/s-He.jpg" -a ! -L "$T/c4/images/s-He.jpg" -a -f "$T/c4/groundtruth/s-He.tif"
expect_rc "unknown conversion" 2 "$BIAFLOWS" convert nope a b
expect_rc "--seg outside ctc" 2 "$BIAFLOWS" convert swc a b --seg

# convert refusals: exit 1, one error line naming the file, nothing left behind
conv_refused() { # DESC NAMED TEXT OUTDIR CMD...
	local desc=$1 named=$2 text=$3 out=$4
	shift 4
	run "$@"
	if [ "$rc" -eq 1 ]; then ok "$desc: exit 1"; else not_ok "$desc: exit 1" "exit $rc: $(cat "$T/err")"; fi
	if [ "$(grep -c 'error:' "$T/err")" = 1 ] && has "$T/err" "$named" && has "$T/err" "$text"; then
		ok "$desc: one error line naming the file"
	else not_ok "$desc: one error line naming the file" "$(cat "$T/err")"; fi
	if [ -z "$(find "$out" -type f 2>/dev/null)" ]; then ok "$desc: nothing written"; else
		not_ok "$desc: nothing written" "$(find "$out" -type f)"; fi
}
conv_refused "convert ctc, track file disagrees" "ctc_bad/01_GT/TRA/man_track.txt" "label 2 is missing from frame 2" \
	"$T/x1" "$BIAFLOWS" convert ctc "$S/ctc_bad" "$T/x1"
conv_refused "convert isbi-ptc, malformed XML" "PTC_malformed/groundtruth/tracks_t000-002.xml:" "invalid XML" \
	"$T/x2" "$BIAFLOWS" convert isbi-ptc "$S/PTC_malformed/groundtruth/tracks_t000-002.xml" "$S/PTC_malformed/images" "$T/x2"
conv_refused "convert isbi-ptc, detections beyond the frames" "original_full/all.xml:" "in frame t=9, but the images have frames 0..2" \
	"$T/x3" "$BIAFLOWS" convert isbi-ptc "$S/PTC_like/groundtruth/original_full/all.xml" "$S/PTC_like/images" "$T/x3"
conv_refused "convert points, point outside the image" "BM_outside/groundtruth/BM_0002.csv:3:" "point (20, 4) is outside the image (20x10" \
	"$T/x4" "$BIAFLOWS" convert points "$S/BM_outside/groundtruth/BM_0002.csv" --like "$S/BM_outside/images/BM_0002.png" "$T/x4/m.tif"
conv_refused "convert points, two points on one pixel" "dup.csv:4:" "same pixel (3, 3) as the point of line 3" \
	"$T/x5" "$BIAFLOWS" convert points "$L/dup.csv" --like "$S/BM_like/images/BM_0001.png" "$T/x5/m.tif"
conv_refused "convert swc, parent missing" "DIADEM_bad/groundtruth/OP_2.swc" "line 2" \
	"$T/x6" "$BIAFLOWS" convert swc "$S/DIADEM_bad/groundtruth/OP_2.swc" "$T/x6/o.swc"

# ------------------------------------------------- dataset import --layout
json_of() { bia image list "$1" --format json >"$T/json" 2>/dev/null; }
# a CTC folder without --layout: refused with the hint, never 30 unrelated frames
expect_rc "a CTC folder without --layout: refused" 1 bia dataset import trk2 "$S/ctc"
check "... with the hint" has "$T/err" "looks like a Cell Tracking Challenge folder (2 sequence(s) and their ground truth, e.g. "
check "... ending in 'use --layout ctc'" has "$T/err" "): use --layout ctc"
expect_rc "one of its sequences: refused" 1 bia dataset import trk2 "$S/ctc/01"
check "... naming the sibling _GT folder" has "$T/err" "looks like a sequence of a Cell Tracking Challenge folder (t000.tif... with 01_GT beside it)"
check "nothing imported into trk2" test "$(bia image list trk2 --format json)" = "[]"
expect_rc "import --layout ctc (real-data variant)" 0 bia dataset import trk "$S/CTC_like_seq01" --layout ctc
check "one image id printed" test "$(lines "$T/out")" = 1
check "SEG not imported, said so" has "$T/err" "SEG masks not converted"
check "summary" has "$T/err" "imported 1 images and 1 ground-truth versions into 'trk'"
json_of trk
/usr/bin/python3 - "$T/json" >"$T/py" 2>&1 <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert len(v) == 1 and v[0]["stem"] == "CTC_like_seq01", v
o = v[0]
assert (o["size_x"], o["size_y"], o["size_z"], o["size_c"], o["size_t"]) == (8, 6, 1, 1, 3), o
assert o["gt_version"] is not None and o["layout"] == "ome"
print("fine")
PY
check "sequence imported as one 8x6 image with T=3 and GT" has "$T/py" fine
expect_rc "gt of the sequence: stack + txt" 0 bia gt list trk/CTC_like_seq01 --format json
/usr/bin/python3 - "$T/out" >"$T/py" 2>&1 <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert sorted(f["kind"] for f in v[0]["files"]) == ["mask", "txt"], v
assert sorted(f["name"] for f in v[0]["files"]) == ["CTC_like_seq01.tif", "CTC_like_seq01.txt"], v
print("fine")
PY
check "GT version holds the label stack and the track file" has "$T/py" fine
check "temporary folder removed" test -z "$(ls -A "$I/runs")"
expect_rc "import --layout ctc (CTC layout, --stem)" 0 bia dataset import trk2 "$S/ctc" --layout ctc --stem g
check "two sequences" test "$(lines "$T/out")" = 2
expect_rc "import --layout isbi-ptc" 0 bia dataset import ptc "$S/PTC_like" --layout isbi-ptc
check "sub-folder with the longer XML ignored" has "$T/err" "original_full: sub-folder ignored"
json_of ptc
check "PTC stem is the XML's stem, T=3" /usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert [(o["stem"], o["size_t"]) for o in v] == [("tracks_t000-002", 3)], v' "$T/json"
expect_rc "import --layout points (ObjDet, BM_GRAZ-like)" 0 bia dataset import det "$S/BM_like" --layout points
check "two images" test "$(lines "$T/out")" = 2
check "dot PNG ignored, said so" has "$T/err" "BM_0001.png: ignored"
check "TXT and CSV agree" has "$T/err" "same points as 'BM_0001.csv'"
expect_rc "gt of BM_0001 is one converted mask" 0 bia gt list det/BM_0001 --format json
check "mask named by stem" /usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert [(f["name"], f["kind"]) for f in v[0]["files"]] == [("BM_0001.tif", "mask")], v' "$T/out"
expect_rc "import --layout points (LndDet, CIMA-like JPEG)" 0 bia dataset import lnd "$S/CIMA_like" --layout points
check "two images" test "$(lines "$T/out")" = 2
expect_rc "import --layout swc" 0 bia dataset import tre "$S/DIADEM_like" --layout swc
check "SWC nodes outside the image: a warning" has "$T/err" "1 of 2 nodes lie outside the image"
expect_rc "fsck after the imports" 0 bia fsck
check "consistent" has "$T/out" "instance is consistent"

# ------------------------------------------------------ refused imports
before=$(snapshot "$I")
import_refused() { # DESC NAMED TEXT CMD...
	local desc=$1 named=$2 text=$3
	shift 3
	run "$@"
	if [ "$rc" -eq 1 ]; then ok "$desc: exit 1"; else not_ok "$desc: exit 1" "exit $rc: $(cat "$T/err")"; fi
	if [ "$(grep -c 'error:' "$T/err")" = 1 ] && has "$T/err" "$named" && has "$T/err" "$text"; then
		ok "$desc: one error line naming the file"
	else not_ok "$desc: one error line naming the file" "$(cat "$T/err")"; fi
	if ! grep -q '\.import-tmp' "$T/err"; then ok "$desc: no temporary path in messages"; else
		not_ok "$desc: no temporary path in messages" "$(cat "$T/err")"; fi
	if [ "$(snapshot "$I")" = "$before" ]; then ok "$desc: instance unchanged"; else
		not_ok "$desc: instance unchanged"; fi
	if [ -z "$(ls -A "$I/runs")" ]; then ok "$desc: temporary folder removed"; else
		not_ok "$desc: temporary folder removed" "$(ls -A "$I/runs")"; fi
}
bia problem add trk3 --class ObjTrk >/dev/null
bia problem add ptc2 --class PrtTrk >/dev/null
bia problem add det2 --class ObjDet >/dev/null
bia problem add tre2 --class TreTrc >/dev/null
before=$(snapshot "$I")
import_refused "CTC track file disagreeing with the masks" "ctc_bad/01_GT/TRA/man_track.txt" "label 2 is missing from frame 2" \
	bia dataset import trk3 "$S/ctc_bad" --layout ctc
import_refused "malformed ISBI XML" "PTC_malformed/groundtruth/tracks_t000-002.xml:" "invalid XML" \
	bia dataset import ptc2 "$S/PTC_malformed" --layout isbi-ptc
import_refused "point outside the image" "BM_outside/groundtruth/BM_0002.csv:3: point (20, 4) is outside the image" "" \
	bia dataset import det2 "$S/BM_outside" --layout points
import_refused "invalid SWC" "DIADEM_bad/groundtruth/OP_2.swc" "line 2" \
	bia dataset import tre2 "$S/DIADEM_bad" --layout swc
import_refused "a sequence already in the problem" "CTC_like_seq01/images (frames 0..2)" "already exists in 'trk'" \
	bia dataset import trk "$S/CTC_like_seq01" --layout ctc
import_refused "layout that does not suit the class" "layout 'ctc'" "ObjSeg" \
	bia dataset import seg "$S/ctc" --layout ctc
expect_rc "unknown layout is a usage error" 2 bia dataset import det2 "$S/BM_like" --layout nope
expect_rc "--stem without --layout is a usage error" 2 bia dataset import det2 "$S/BM_like" --stem x
check "instance still unchanged" test "$(snapshot "$I")" = "$before"

# --skip-invalid imports the valid pairs and lists the rest
expect_rc "points with --skip-invalid" 0 bia dataset import det2 "$S/BM_outside" --layout points --skip-invalid
check "the valid pair imported" test "$(lines "$T/out")" = 1
check "the invalid one listed as skipped" has "$T/err" "skipped: $S/BM_outside/groundtruth/BM_0002.csv:3"
check "no temporary folder left" test -z "$(ls -A "$I/runs")"
expect_rc "fsck at the end" 0 bia fsck
check "still consistent" has "$T/out" "instance is consistent"
finish
