#!/usr/bin/env bash
# Images for viewers (docs/images.md): OME-Zarr pyramids and labels read back
# over HTTP with python3-zarr, IIIF tiles decoded pixel by pixel, signed
# links, permissions, background builds, fsck repair (tests/http/images_test.py);
# streaming a tiled and a stripped TIFF gives the same pyramid as reading it.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export NO_PROXY='*' no_proxy='*'

BIAFLOWS="$BIAFLOWS" T="$T" $PY "$(dirname "$0")/../http/images_test.py" >"$T/images.out" 2>&1
prc=$?
cat "$T/images.out"
pass=$((pass + $(grep -c '^ok - ' "$T/images.out")))
fail=$((fail + $(grep -c '^not ok - ' "$T/images.out")))
check "images_test.py ran to its end" eval "[ $prc -eq 0 ] || grep -q '^# images_test.py' '$T/images.out'"

finish
