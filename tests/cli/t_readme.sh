#!/usr/bin/env bash
# The README's tour runs as written: its ```sh block is extracted and run,
# every line, in a temporary folder laid out like the repository (build/,
# workflows/), with set -e, so the tour cannot drift from the program.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$T/tour
mkdir -p "$W/build"
ln -s "$BIAFLOWS" "$W/build/biaflows"
# the C workflows are built by the normal build (make)
ln -s "$ROOT/build/workflows" "$W/build/workflows"
ln -s "$ROOT/workflows" "$W/workflows"
awk '/^## A 5-minute tour/ {t = 1} t && /^```sh/ {b = 1; next} b && /^```/ {exit} b {print}' \
	"$ROOT/README.md" >"$T/tour.sh"
check "the tour block was found" test "$(grep -c '\$B ' "$T/tour.sh")" -gt 20
check "the tour names no placeholder file" eval '! grep -qE "pred\.tif|other_mask|Fluo-N2DH|/tmp/" "$T/tour.sh"'
check "the tour uses no test fixture" eval '! grep -q "tests/fixtures" "$T/tour.sh"'
(cd "$W" && bash -e -o pipefail "$T/tour.sh" >"$T/tour.out" 2>"$T/tour.err"); rc=$?
check "every line of the tour runs (exit 0)" test "$rc" = 0 || tail -20 "$T/tour.err"
check "... the C workflow succeeded and printed its main metric" grep -q "run 1 succeeded: .*mAP" "$T/tour.err"
check "... bench ranked two workflows" grep -q "NucleiSegmentation-Python@1" "$T/tour.out"
check "... the rerun reproduced" grep -q "reproduced-exact" "$T/tour.out"
check "... the stored image came back" test -s "$W/objseg_000.tif"
check "... the run's outputs came back" test "$(ls "$W/run1-outputs" | wc -l)" = 6
check "... the REST API listed the runs (CSV)" grep -q "^id,workflow,problem,status" "$T/tour.out"
check "... a IIIF thumbnail with the GT drawn came back (JPEG)" eval '[ "$(head -c 3 "$W/thumb.jpg" | od -An -tx1 | tr -d " ")" = ffd8ff ]'
check "... image layers listed the image and its GT" grep -q "/zarr/images/1.zarr/labels/gt" "$T/tour.out"
check "... image link printed a signed path" grep -qE "^/zarr/s/[0-9]+/[0-9a-f]{32}/images/1.zarr$" "$T/tour.out"
check "... and the server stopped cleanly" grep -q "^biaflows: stopped" "$T/tour.err"
check "... the rescore saw the new ground truth" grep -q "rescored\|NucleiSegmentation" "$T/tour.out"
finish
