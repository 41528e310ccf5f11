#!/usr/bin/env bash
# Every command answers -h; usage errors exit 2.
. "$(dirname "$0")/lib.sh"

expect_rc "biaflows -h exits 0" 0 "$BIAFLOWS" -h
check "biaflows -h lists commands" has "$T/out" "commands:"
cmds=$(sed -n '/^commands:/,$p' "$T/out" | awk 'NR>1 {print $1}')
check "command table is not empty" test -n "$cmds"
for c in $cmds; do
	expect_rc "biaflows $c -h exits 0" 0 "$BIAFLOWS" "$c" -h
	check "biaflows $c -h prints its usage" has "$T/out" "usage: biaflows $c"
	expect_rc "biaflows $c --help exits 0" 0 "$BIAFLOWS" "$c" --help
done
for sub in "problem add" "problem list" "image add" "gt add" "dataset import" "source add" "source sync"; do
	expect_rc "biaflows $sub -h exits 0 without an instance" 0 "$BIAFLOWS" $sub -h
done
expect_rc "no command: exit 2" 2 "$BIAFLOWS"
expect_rc "unknown command: exit 2" 2 "$BIAFLOWS" frobnicate
check "unknown command is named" has "$T/err" "unknown command 'frobnicate'"
expect_rc "unknown global option: exit 2" 2 "$BIAFLOWS" --bogus problem list
expect_rc "--version" 0 "$BIAFLOWS" --version
check "--version prints the version" has "$T/out" "biaflows 0."
expect_rc "version command" 0 "$BIAFLOWS" version
finish
