#!/usr/bin/env bash
# The web app in a real browser (Debian's chromium, headless, WebGL2 through
# SwiftShader, driven by playwright-core): a generated instance, a server on
# a free port, then tests/web/browser.mjs walks the pages (TAP output).
#   BIAFLOWS=build/biaflows bash tests/web/t_web.sh
# WEB_SHOTS=DIR keeps a screenshot of each page there (docs/img: the docs').
set -u
cd "$(dirname "$0")/../.."
B=${BIAFLOWS:-$PWD/build/biaflows}
WEB=${BIAFLOWS_WEB:-$(dirname "$B")/web}
T=$(mktemp -d /tmp/bia-web-XXXXXX)
SRV=
cleanup() {
	if [ -n "$SRV" ]; then
		kill "$SRV" 2>/dev/null
		wait "$SRV" 2>/dev/null
	fi
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "not ok 1 - setup: $*"; echo "# web: 0 passed, 1 failed"; exit 1; }
[ -f "$WEB/index.html" ] || fail "the web app is not built ($WEB/index.html; run make)"
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || fail "chromium is not installed (scripts/install-deps)"

I=$T/inst
bia() { "$B" --instance "$I" "$@"; }
{
	bia init "$I" >/dev/null
	echo 'admin-password-1' | bia user add admin --role admin
	echo 'alice-password-1' | bia user add alice --role contributor
	echo 'vic-password-1' | bia user add vic --role viewer
	# 16-bit nuclei: the viewer's pixels, contrast, error maps, compare, benchmark
	"$B" gen ObjSeg "$T/nuclei" --n 6 --seed 3 --bits 16 --size 192x160
	bia problem add nuclei16 --class ObjSeg --description "16-bit synthetic nuclei"
	bia dataset import nuclei16 "$T/nuclei"
	# a problem of the same class the contributor is not a member of
	bia problem add unjoined --class ObjSeg --description "not alice's"
	# spots: a vector overlay
	"$B" gen SptCnt "$T/spots" --n 1 --seed 2
	bia problem add spots --class SptCnt --description "synthetic spots"
	bia dataset import spots "$T/spots"
	# particle tracks: a track's head drawn at its frame
	"$B" gen PrtTrk "$T/tracks" --n 1 --seed 4 --frames 12 --tracks 6
	bia problem add tracks --class PrtTrk --description "synthetic particle tracks"
	bia dataset import tracks "$T/tracks"
	# an image a contributor uploads from the problem page
	"$B" gen ObjSeg "$T/extra" --n 1 --seed 9 --bits 16 --size 192x160
	cp "$T/extra/images/objseg_000.tif" "$T/upload_me.tif"
	bia workflow add "$(dirname "$B")/workflows/NucleiSegmentation-C" --version 1 ||
		bia workflow add "$PWD/build/workflows/NucleiSegmentation-C" --version 1
	bia run NucleiSegmentation-C nuclei16 --wait
	bia run NucleiSegmentation-C nuclei16 --param sigma=2.5 --wait
	# cell tracks, hard enough for the tracker to split and miss cells: the
	# AOGM error map
	"$B" gen ObjTrk "$T/cells" --n 1 --size 128x96 --frames 8 --seed 5 --difficulty hard
	bia problem add cells --class ObjTrk --description "synthetic cell tracks"
	bia dataset import cells "$T/cells"
	bia workflow add "$PWD/workflows/CellTracking-Python" --version 1
	bia run CellTracking-Python cells --wait
	# a hand-made trace (plane 4: along y=20, then down x=60) and a workflow
	# tracing its first part and a branch that is not there (y=80): matched,
	# missed and spurious segments where the test knows them
	mkdir -p "$T/trace/images" "$T/trace/groundtruth" "$T/wf-trace"
	/usr/bin/python3 - "$T/trace/images/t1.tif" <<-'PY'
		import sys, numpy, tifffile
		a = numpy.full((8, 96, 96), 20, numpy.uint8)
		a[4, 20, 10:61] = 200
		a[4, 20:81, 60] = 200
		tifffile.imwrite(sys.argv[1], a)
	PY
	printf '1 3 10 20 4 1 -1\n2 3 35 20 4 1 1\n3 3 60 20 4 1 2\n4 3 60 50 4 1 3\n5 3 60 80 4 1 4\n' >"$T/trace/groundtruth/t1.swc"
	bia problem add trace --class TreTrc --description "a hand-made trace"
	bia dataset import trace "$T/trace"
	cat >"$T/wf-trace/fixed.py" <<-'PY'
		import argparse, os
		p = argparse.ArgumentParser()
		p.add_argument("--infolder"); p.add_argument("--outfolder")
		a, _ = p.parse_known_args()
		for n in os.listdir(a.infolder):
		    open(os.path.join(a.outfolder, n.rsplit(".", 1)[0] + ".swc"), "w").write(
		        "1 3 10 20 4 1 -1\n2 3 35 20 4 1 1\n3 3 60 20 4 1 2\n4 3 10 80 4 1 -1\n5 3 40 80 4 1 4\n")
	PY
	/usr/bin/python3 - "$T/wf-trace/descriptor.json" <<-'PY'
		import json, sys
		keys = ("cytomine_host", "cytomine_public_key", "cytomine_private_key",
		        "cytomine_id_project", "cytomine_id_software")
		json.dump({"name": "Trace-Fixed", "description": "a fixed trace", "schema-version": "cytomine-0.1",
		           "container-image": {"image": "t/trace-fixed", "type": "singularity"},
		           "problem-class": "TreTrc", "environment": {"type": "host"},
		           "command-line": "python3 /app/fixed.py " + " ".join(k.upper() for k in keys),
		           "inputs": [{"id": k, "value-key": "@ID", "command-line-flag": "--@id", "name": k,
		                       "set-by-server": True, "optional": False, "type": "String"} for k in keys]},
		          open(sys.argv[1], "w"))
	PY
	bia workflow add "$T/wf-trace" --version 1
	bia run Trace-Fixed trace --wait
	bia image pyramid
} >"$T/setup.log" 2>&1 || { cat "$T/setup.log"; fail "the instance could not be made"; }

# (the program itself in the background, not a function: $! is its pid)
"$B" --instance "$I" serve --listen 127.0.0.1:0 --port-file "$T/port" --guest --web "$WEB" 2>"$T/serve.log" &
SRV=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || { cat "$T/serve.log"; fail "the server did not start"; }

# the contributor may write to the problems (members are added over the API)
ADMIN=$(bia token create admin)
for p in nuclei16 spots; do
	curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $ADMIN" \
		"http://127.0.0.1:$(cat "$T/port")/api/v1/problems/$p/members/alice" || fail "cannot add alice to $p"
done

UPLOAD_IMAGE=$T/upload_me.tif CHROMIUM="$CHROMIUM" node tests/web/browser.mjs "http://127.0.0.1:$(cat "$T/port")"
st=$?
[ $st -eq 0 ] || tail -20 "$T/serve.log"
exit $st
