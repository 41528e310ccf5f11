#!/usr/bin/env bash
# Every built-in workflow (workflows/*/test.json) through `biaflows exec` on
# generated data: its main metric against the documented level and the
# empty / all-foreground baselines (tests/workflows/check.py).
# WORKFLOWS="A B" limits the run to some workflows.
. "$(dirname "$0")/../cli/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=$(dirname "$BIAFLOWS")
for dir in "$ROOT"/workflows/*/; do
	name=$(basename "$dir")
	[ -f "$dir/test.json" ] || continue
	if [ -n "${WORKFLOWS:-}" ] && ! [[ " $WORKFLOWS " == *" $name "* ]]; then continue; fi
	# workflows with compiled parts run from their build folder
	[ -f "$BUILD_DIR/workflows/$name/descriptor.json" ] && dir=$BUILD_DIR/workflows/$name
	mkdir -p "$T/$name"
	/usr/bin/python3 "$ROOT/tests/workflows/check.py" "$BIAFLOWS" "$dir" "$T/$name" >"$T/$name.log" 2>&1
	st=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$T/$name.log"
	[ $st -eq 0 ] || not_ok "$name: check.py exited $st" "$(tail -20 "$T/$name.log")"
done
finish
