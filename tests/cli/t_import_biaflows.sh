#!/usr/bin/env bash
# biaflows import-biaflows: BIAFLOWS project-migrator archives (WORKFLOWS.md
# §2.6) built here from `biaflows gen` datasets — ObjSeg (X_lbl masks),
# TreTrc (attached .swc), ObjTrk (label stack + attached .txt) — as .tar.gz,
# .tar and an unpacked folder: class, name, description, counts, every GT
# file's digest equal to the archive's; then refusals (unknown discipline,
# a _lbl without its input, '..' and link members, a corrupt gzip, malformed
# JSON, a GT of the wrong shape, an existing name): exit 1, one line naming
# the file, the instance unchanged.
. "$(dirname "$0")/lib.sh"
I=$T/inst
G=$T/gen
A=$T/arch
"$BIAFLOWS" init "$I" 2>/dev/null
for c in ObjSeg TreTrc ObjTrk; do
	"$BIAFLOWS" gen $c "$G/$c" --n 2 --seed 7 --size 24x20 >/dev/null 2>&1
done

# mkproj GENDIR OUTDIR CLASS PROJECT-JSON: the migrator's folder of a gen
# dataset: images/X.tif, images/X_lbl.tif (masks), attached_files/ (TreTrc
# .swc, ObjTrk .txt, each with an older decoy the importer must not take),
# the JSON files, and files the importer ignores
mkproj() {
	/usr/bin/python3 - "$@" <<'PY'
import json, os, shutil, sys
gen, out, cls, project = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
pid = project["id"]
top = f"{out}/biaflows.neubias.org-{pid}-{project.get('name', 'x')}-20240301-101500"
os.makedirs(f"{top}/images")
os.makedirs(f"{top}/attached_files")
stems = sorted(f[:-4] for f in os.listdir(f"{gen}/images"))
images, attached = [], []
for i, s in enumerate(stems):
    iid = 1000 + i
    shutil.copy(f"{gen}/images/{s}.tif", f"{top}/images/{s}.tif")
    images.append({"id": iid, "originalFilename": f"{s}.tif", "width": 24, "height": 20,
                   "depth": 1, "duration": 1, "channels": 1, "project": pid})
    if os.path.exists(f"{gen}/groundtruth/{s}.tif"):
        shutil.copy(f"{gen}/groundtruth/{s}.tif", f"{top}/images/{s}_lbl.tif")
        # Cytomine's other name fields, no originalFilename
        images.append({"id": 2000 + i, "filename": f"{s}_lbl.tif", "project": pid})
    for ext in ("swc", "txt"):
        g = f"{gen}/groundtruth/{s}.{ext}"
        if not os.path.exists(g):
            continue
        shutil.copy(g, f"{top}/attached_files/{s}-final.{ext}")
        open(f"{top}/attached_files/{s}-draft.{ext}", "w").write("not a valid file\n")
        dom = "be.cytomine.image.ImageInstance"
        attached.append({"id": 5000 + i, "filename": f"{s}-draft.{ext}", "domainClassName": dom,
                         "domainIdent": iid, "created": "1600000000000"})
        attached.append({"id": 5100 + i, "filename": f"{s}-final.{ext}", "domainClassName": dom,
                         "domainIdent": iid, "created": 1700000000000})
json.dump(project, open(f"{top}/project-{pid}.json", "w"))
# both collection shapes: an object for ObjSeg, a bare array otherwise
json.dump({"collection": images} if cls == "ObjSeg" else images,
          open(f"{top}/imageinstance-collection.json", "w"))
json.dump({"collection": attached}, open(f"{top}/attached-files-object-{pid}-collection.json", "w"))
json.dump({"id": 9, "domainIdent": pid, "data": f"<p>Synthetic <b>{cls}</b> data &amp; its ground truth</p><p>made by biaflows gen</p>"},
          open(f"{top}/description-object-{pid}.json", "w"))
for f in ("ontology-3.json", "term-collection.json", "user-annotation-collection.json",
          "sliceinstance-collection.json", "user-collection.json"):
    open(f"{top}/{f}", "w").write("[]")
PY
}
mkproj "$G/ObjSeg" "$A/seg" ObjSeg '{"id": 41, "name": "NUCLEI-SEG", "disciplineName": "Object segmentation"}'
mkproj "$G/TreTrc" "$A/tre" TreTrc '{"id": 42, "name": "TREES", "disciplineName": "filament tracing (trees)"}'
mkproj "$G/ObjTrk" "$A/trk" ObjTrk '{"id": 43, "name": "TRACKING", "discipline": {"id": 7, "name": "Object tracking", "shortName": "ObjTrk"}}'
mkproj "$G/ObjSeg" "$A/odd" ObjSeg '{"id": 44, "name": "ODD", "disciplineName": "Cell painting"}'
(cd "$A/seg" && tar -czf "$A/seg.tar.gz" .)
(cd "$A/tre" && tar -cf "$A/tre.tar" -- *)
(cd "$A/odd" && tar -czf "$A/odd.tar.gz" -- *)

# gt_digests PROBLEM: "STEM FILE-DIGEST" lines of its current GT files
gt_digests() {
	sqlite3 "$I/biaflows.db" "SELECT i.stem, f.digest FROM images i JOIN problems p ON p.id = i.problem_id
		JOIN gt_versions v ON v.image_id = i.id AND v.is_current = 1 JOIN gt_files f ON f.version_id = v.id
		WHERE p.name = '$1'" | tr '|' ' ' | sort
}
# want_digests DIR PATTERN...: "STEM DIGEST" of the archive's files (STEM
# from the file name up to _lbl or -final)
want_digests() {
	local d=$1 f
	shift
	for f in "$@"; do
		(cd "$d" && sha256sum $f) | while read -r h n; do
			n=${n##*/}
			n=${n%%_lbl*}
			n=${n%%-final*}
			echo "${n%.tif} $h"
		done
	done | sort
}
field() { /usr/bin/python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): o=o[k]
print(o)' "$T/out" "$1"; }

# --- ObjSeg from a .tar.gz: discipline by name, X_lbl masks
expect_rc "ObjSeg archive (.tar.gz) imported" 0 bia import-biaflows "$A/seg.tar.gz"
seg_id=$(cat "$T/out")
check "prints the new problem's id alone" test "$(cat "$T/out")" = "$(bia problem show NUCLEI-SEG --format json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
check "a summary on stderr" has "$T/err" "imported 2 images and 2 ground-truth versions into new ObjSeg problem 'NUCLEI-SEG'"
run bia problem show "$seg_id" --format json
check "class from 'Object segmentation'" test "$(field class)" = ObjSeg
check "name from the project" test "$(field name)" = NUCLEI-SEG
check "description from the description object, tags stripped" test "$(field description)" = "$(printf 'Synthetic ObjSeg data & its ground truth\n\nmade by biaflows gen')"
check "two images" test "$(field images)" = 2
check "each GT file is the archive's X_lbl.tif" test "$(gt_digests NUCLEI-SEG)" = \
	"$(want_digests "$A/seg" '*/images/*_lbl.tif')"
run bia image list NUCLEI-SEG --format json
check "images keep their original names" has "$T/out" '"original_name": "objseg_000.tif"'
check "no temporary folder left" test -z "$(ls -A "$I/runs" | grep import-tmp)"

# --- TreTrc from a plain .tar: the newest attached .swc is the GT
expect_rc "TreTrc archive (.tar) imported" 0 bia import-biaflows "$A/tre.tar" --format json
check "json: the problem's class" test "$(field problem.class)" = TreTrc
check "json: image count" test "$(field images)" = 2
check "json: GT count" test "$(field gt_versions)" = 2
check "the GT is the most recent attached .swc" test "$(gt_digests TREES)" = \
	"$(want_digests "$A/tre" '*/attached_files/*-final.swc')"

# --- ObjTrk from the unpacked folder: label stack + newest attached .txt
expect_rc "ObjTrk folder imported" 0 bia import-biaflows "$A/trk"
run bia problem show TRACKING --format json
check "class from a discipline object" test "$(field class)" = ObjTrk
check "GT: the label stack and the attached .txt" test "$(gt_digests TRACKING)" = \
	"$(want_digests "$A/trk" '*/images/*_lbl.tif' '*/attached_files/*-final.txt')"

# --- --class and --problem override the project's
expect_rc "--class overrides an unknown discipline" 0 bia import-biaflows "$A/odd.tar.gz" --class objseg --problem odd-seg
run bia problem show odd-seg --format json
check "--class: canonical class" test "$(field class)" = ObjSeg
check "--problem: the name" test "$(field name)" = odd-seg
expect_rc "--class overrides a known discipline" 0 bia import-biaflows "$A/seg" --class PixCla --problem seg-as-pixcla
run bia problem show seg-as-pixcla --format json
check "--class PixCla over 'Object segmentation'" test "$(field class)" = PixCla

# --- refusals: exit 1, one line naming the file and the problem, instance unchanged
before=$(snapshot "$I")
refused() {
	local desc=$1 named=$2 text=$3
	shift 3
	run "$@"
	if [ "$rc" -eq 1 ]; then ok "$desc: exit 1"; else
		not_ok "$desc: exit 1" "exit $rc; stderr: $(cat "$T/err")"; fi
	if [ "$(lines "$T/err")" = 1 ]; then ok "$desc: one line"; else
		not_ok "$desc: one line" "$(cat "$T/err")"; fi
	if has "$T/err" "$named" && has "$T/err" "$text"; then ok "$desc: names file and problem"; else
		not_ok "$desc: names file and problem" "want '$named' and '$text' in: $(cat "$T/err")"; fi
	if [ "$(snapshot "$I")" = "$before" ]; then ok "$desc: instance unchanged"; else
		not_ok "$desc: instance unchanged"; fi
	check "$desc: no temporary folder left" test -z "$(ls -A "$I/runs" | grep import-tmp)"
}
refused "unknown discipline" project-44.json "discipline 'Cell painting' is not a BIAFLOWS problem class" \
	bia import-biaflows "$A/odd.tar.gz" --problem odd2
refused "existing problem name" NUCLEI-SEG "already exists" \
	bia import-biaflows "$A/seg.tar.gz"

# a _lbl image without its input
cp -r "$A/seg" "$A/orphan"
/usr/bin/python3 - "$A/orphan" <<'PY'
import glob, json, shutil, sys
top = glob.glob(sys.argv[1] + "/*/")[0]
shutil.copy(glob.glob(top + "images/*_lbl.tif")[0], top + "images/lonely_lbl.tif")
p = top + "imageinstance-collection.json"
c = json.load(open(p))
c["collection"].append({"id": 3000, "originalFilename": "lonely_lbl.tif"})
json.dump(c, open(p, "w"))
PY
(cd "$A/orphan" && tar -czf "$A/orphan.tar.gz" -- *)
refused "a _lbl without its input" images/lonely_lbl.tif "ground truth without its input image" \
	bia import-biaflows "$A/orphan.tar.gz" --problem orphan
expect_rc "--skip-invalid imports the valid pairs" 0 bia import-biaflows "$A/orphan.tar.gz" --problem orphan --skip-invalid
check "--skip-invalid: the orphan is listed" has "$T/err" "skipped: $A/orphan.tar.gz:"
check "--skip-invalid: two images" test "$(bia image list orphan --format csv | tail -n +2 | wc -l)" = 2
before=$(snapshot "$I")

# hostile members: '..' and a symbolic link
/usr/bin/python3 - "$A" <<'PY'
import io, sys, tarfile
A = sys.argv[1]
def member(t, name, data=b"{}", link=None):
    i = tarfile.TarInfo(name)
    if link:
        i.type, i.linkname = tarfile.SYMTYPE, link
        t.addfile(i)
    else:
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
with tarfile.open(f"{A}/dotdot.tar.gz", "w:gz") as t:
    member(t, "h-1-x-d/project-1.json", b'{"id": 1, "name": "x", "disciplineName": "ObjSeg"}')
    member(t, "h-1-x-d/../../escaped.json")
with tarfile.open(f"{A}/link.tar", "w") as t:
    member(t, "h-1-x-d/project-1.json", b'{"id": 1, "name": "x", "disciplineName": "ObjSeg"}')
    member(t, "h-1-x-d/images/a.tif", link="/etc/passwd")
PY
refused "a '..' member" "escaped.json" "escapes its folder" \
	bia import-biaflows "$A/dotdot.tar.gz"
check "nothing written outside" test ! -e "$I/escaped.json" -a ! -e "$I/runs/escaped.json"
refused "a symbolic-link member" "images/a.tif" "is a link" \
	bia import-biaflows "$A/link.tar"

# a corrupt gzip: the stream cut and its middle overwritten
head -c 3000 "$A/seg.tar.gz" >"$A/corrupt.tar.gz"
printf 'garbage%.0s' $(seq 40) | dd of="$A/corrupt.tar.gz" bs=1 seek=1200 conv=notrunc 2>/dev/null
refused "a corrupt gzip" corrupt.tar.gz "damaged" \
	bia import-biaflows "$A/corrupt.tar.gz"
printf 'not an archive at all' >"$A/text.tar.gz"
refused "not an archive" text.tar.gz "archive" \
	bia import-biaflows "$A/text.tar.gz"

# malformed JSON: the project cut short; the image collection not a collection
cp -r "$A/seg" "$A/badjson"
p=$(ls "$A"/badjson/*/project-41.json)
printf '{"id": 41, "name": "NUCLEI' >"$p"
refused "malformed project JSON" project-41.json "" \
	bia import-biaflows "$A/badjson" --problem badjson
printf '{"id": 41, "name": "B", "disciplineName": "ObjSeg"}' >"$p"
printf '{"images": []}' >"$(dirname "$p")/imageinstance-collection.json"
refused "a collection that is none" imageinstance-collection.json "not a collection" \
	bia import-biaflows "$A/badjson" --problem badjson

# the dataset import's own checks, named by the archive's file
cp -r "$A/seg" "$A/shape"
m=$(ls "$A"/shape/*/images/objseg_001_lbl.tif)
"$BIAFLOWS" gen ObjSeg "$T/g2" --n 1 --seed 3 --size 30x20 >/dev/null 2>&1
cp "$T/g2/groundtruth/objseg_000.tif" "$m"
refused "a GT of another shape" images/objseg_001_lbl.tif "ground truth is 30x20 but image 'objseg_001.tif' is 24x20" \
	bia import-biaflows "$A/shape" --problem shape

# ObjTrk without its track file: refused before any image is read
cp -r "$A/trk" "$A/notxt"
/usr/bin/python3 - "$A"/notxt/*/attached-files-object-*.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["collection"] = [f for f in c["collection"] if f["domainIdent"] != 1000]
json.dump(c, open(sys.argv[1], "w"))
PY
refused "ObjTrk GT without an attached .txt" images/objtrk_000.tif "ObjTrk ground truth needs" \
	bia import-biaflows "$A/notxt" --problem notxt

expect_rc "usage: no archive" 2 bia import-biaflows
expect_rc "usage: unknown class" 2 bia import-biaflows "$A/seg" --class Foo
finish
