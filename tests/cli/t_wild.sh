#!/usr/bin/env bash
# Descriptors as they exist in published BIAFLOWS and BIOMERO repositories
# (tests/fixtures/descriptors/wild, our own files in their shapes): every
# cytomine-0.1 shape registers unchanged, with a warning where a value-key is
# not in the command line; the command line of a default run is what local
# mode expects; broken files are refused with a message naming the problem.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
W=$FIX/descriptors/wild
I=$T/inst
"$BIAFLOWS" init "$I" >/dev/null 2>&1
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }
mkwf() { # NAME FILE: a workflow folder holding the descriptor
	mkdir -p "$T/wf/$1"
	cp "$2" "$T/wf/$1/descriptor.json"
	printf 'import sys\nprint(sys.argv)\n' >"$T/wf/$1/wrapper.py"
}
n=0
for f in "$W"/ok/*.json; do
	name=$(basename "$f" .json)
	mkwf "$name" "$f"
	expect_rc "$name: registers unchanged" 0 bia workflow add "$T/wf/$name" --version 1
	cp "$T/err" "$T/$name.err"
	n=$((n + 1))
done
check "ten shapes registered" test "$n" = 10
check "partial command line: a warning per missing value-key" \
	test "$(grep -c "is not a token of 'command-line'" "$T/partial-command-line.err")" = 3
check "... naming how the value is passed" has "$T/partial-command-line.err" "'DO_3D' is not a token of 'command-line': the value is passed as '--do_3D VALUE' after it"
expect_rc "partial command line: show" 0 bia workflow show CellSegmentation-Partial --format json
check "... the default command line: template values (cytomine tokens left out), then the others, then local mode" \
	test "$(json '" ".join(d["default_command_line"])')" = "python wrapper.py --diameter 0 --prob_threshold 0.0 --flow_threshold 0.4 --do_3D false --local --infolder /data/in --outfolder /data/out --gtfolder /data/gt -nmc"
expect_rc "set-by-server threshold: show" 0 bia workflow show PixCla-GlaS-Like --format json
check "... threshold is an ordinary parameter with its default" \
	test "$(json '([p["excluded"] for p in d["parameters"] if p["id"] == "threshold"], d["default_command_line"][2:4])')" = "([False], ['--threshold', '0.5'])"
check "... no warning" eval '! grep -q warning "$T/set-by-server-threshold.err"'
expect_rc "cytomine_* user inputs: show" 0 bia workflow show LandmarkDetect-Train-Like --format json
check "... left out by id, as local mode; upper-case ids kept" \
	test "$(json '" ".join(d["default_command_line"][2:6])')" = "--model_RMAX 100 --model_P 3"
expect_rc "a custom value-key: show" 0 bia workflow show CellExpansion-Like --format json
check "... substituted in place with its own flag" test "$(json '" ".join(d["default_command_line"][2:4])')" = "--max-pixels 5"
expect_rc "an @-prefixed value-key the command does not repeat: show" 0 bia workflow show NucleiSegmentation-Template-Like --format json
check "... passed after the template (its literal tokens kept) with its flag" test "$(json '" ".join(d["default_command_line"][2:8])')" = "SIGMA MAX_SIZE --sigma 1.0 --max_size 500"
expect_rc "a placeholder command line (type oci): show" 0 bia workflow show MicroSam-Like --format json
check "... the values follow it" test "$(json '" ".join(d["default_command_line"][:5])')" = "python /app/run.py [CYTOMINE_FLAGS] [PARAMS] --mode"
expect_rc "a required parameter without default: show" 0 bia workflow show Rivuletpy-Like --format json
check "... says what is missing" test "$(json 'd["default_command_line_missing"]')" = "parameter 'threshold' is required and has no default"
# refused, naming the problem
for f in "$W"/refused/*.json; do
	name=$(basename "$f" .json)
	mkwf "$name" "$f"
	expect_rc "$name: refused" 1 bia workflow add "$T/wf/$name" --version 1
	cp "$T/err" "$T/$name.err"
done
check "trailing comma: the JSON error and where" grep -q "descriptor.json.*line 1" "$T/trailing-comma.err"
check "unquoted word: the JSON error" grep -q "descriptor.json" "$T/unquoted-value.err"
check "duplicate id: named" has "$T/duplicate-id.err" "duplicate id 'cytomine_id_software'"
check "another schema's type: named" has "$T/schema-1.0.0-types.err" "unknown type 'float'"
check "nothing of the refused ones registered" test "$(bia workflow list --format json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 10
finish
