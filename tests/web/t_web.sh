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
	rm -rf "$T"
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
