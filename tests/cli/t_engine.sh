#!/usr/bin/env bash
# A container-image without an attached archive, taken from a local
# container engine (docs/exec.md "Container engines"): exported with
# `save`, never pulled nor run by the engine, run in our sandbox. The
# engines are fakes (tests/fixtures/engines/fake-engine) put first on PATH.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
C=$FIX/workflows/biaflows-compat
IMG=neubiaswg5/w_compat-busybox
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }
"$BIAFLOWS" gen ObjSeg "$T/ds" --n 2 --size 64x64 --difficulty easy --seed 5 >/dev/null 2>&1
IN=$T/ds/images
"$C/make-image" "$T/compat.tar"
CFG=$(tar tf "$T/compat.tar" | grep -E '^[0-9a-f]{64}\.json$' | cut -c1-64)
check "fixture image built" test -n "$CFG"

# fake ENGINES...: a fresh folder $F with the named fake engines, having
# the image (id = its config digest, as docker and podman report it)
F=
n=0
fake() {
	n=$((n + 1))
	F=$T/fake$n
	mkdir -p "$F"
	for e in "$@"; do cp "$FIX/engines/fake-engine" "$F/$e"; done
	cp "$T/compat.tar" "$F/archive.tar"
	echo "$IMG sha256:$CFG" >"$F/images"
	: >"$F/argv.log"
}
# with_path DIR CMD...: CMD with DIR first on PATH
with_path() {
	local d=$1
	shift
	PATH="$d:$PATH" "$@"
}
saves() { grep -c " save " "$F/argv.log"; }
never_ran() { ! grep -qvE '^(docker|podman) (image inspect|save) ' "$F/argv.log"; }

# --- biaflows exec through a fake docker (type singularity: apptainer and
# singularity are not installed, docker is next)
fake docker podman
FD=$F
expect_rc "exec of a container-image without archive via docker" 0 \
	with_path "$F" "$BIAFLOWS" exec "$C" --in "$IN" --out "$T/e1" --envs "$T/envs" --param ij_radius=7 --param "ij_label=two words"
R=$T/e1/report.txt
check "report: environment docker:sha256:<config digest>" test "$(json 'd["environment"]')" = "docker:sha256:$CFG"
check "outputs written" test -f "$T/e1/objseg_000.tif" -a -f "$T/e1/objseg_001.tif"
check "parameters arrive" grep -qx "radius=7" "$R"
check "a value with a space arrives intact" grep -qx "label=two words" "$R"
check "the image's Env arrives" grep -qx "greeting=hello from the image" "$R"
check "the image's WorkingDir is used" grep -qx "pwd=/app" "$R"
check "whiteouts applied (the exported archive was unpacked by us)" grep -qx "whiteout=applied" "$R"
check "in our sandbox: the host's /usr is not visible" grep -qx "host_usr=hidden" "$R"
check "ground truth is not visible" grep -qx "gt_files=0" "$R"
check "the engine was probed with image inspect" grep -qxF "docker image inspect --format {{.Id}} $IMG" "$F/argv.log"
check "and exported with save -o" grep -qE "^docker save -o .*/image.tar $IMG\$" "$F/argv.log"
check "podman was not needed" test "$(grep -c '^podman' "$F/argv.log")" = 0
check "one unpacked image, no export left behind" test "$(ls -A "$T/envs")" = "$CFG"
check "the unpacked image keeps a copy of its config" test -f "$T/envs/$CFG/config.json"

expect_rc "exec again: the unpacked image is reused" 0 \
	with_path "$F" "$BIAFLOWS" exec "$C" --in "$IN" --out "$T/e2" --envs "$T/envs"
check "... without a second export (the id is the config digest)" test "$(saves)" = 1
check "default parameters used" grep -qx "radius=5" "$T/e2/report.txt"
check "the engine never ran or pulled anything" never_ran

# --- type docker, only podman installed: podman save --format docker-archive
mkdir -p "$T/cd" && cp -r "$C"/. "$T/cd/"
sed -i 's/"type": "singularity"/"type": "docker"/' "$T/cd/descriptor.json"
fake podman
expect_rc "exec of a docker-type image via podman" 0 \
	with_path "$F" "$BIAFLOWS" exec "$T/cd" --in "$IN" --out "$T/p1" --envs "$T/envs2"
check "report: environment podman:sha256:<config digest>" test "$(json 'd["environment"]')" = "podman:sha256:$CFG"
check "podman exported a docker archive" grep -qE "^podman save --format docker-archive -o .*/image.tar $IMG\$" "$F/argv.log"
check "... and ran nothing" never_ran
check "the workflow ran" grep -qx "local=yes" "$T/p1/report.txt"

# --- failures: each names every engine tried and why
fake docker podman
: >"$F/images"
expect_rc "image not present locally: refused" 1 \
	with_path "$F" "$BIAFLOWS" exec "$C" --in "$IN" --out "$T/f1" --envs "$T/envs3"
check "names the image" has "$T/err" "image '$IMG' is not present locally"
check "suggests pulling it first" has "$T/err" "run 'docker pull $IMG' first"
check "... for podman too" has "$T/err" "run 'podman pull $IMG' first"
check "nothing was pulled" never_ran
check "nothing was exported" test "$(saves)" = 0
check "keeps the hint about archives" has "$T/err" "--image-archive"
check "nothing ran: --out not written" test ! -e "$T/f1/report.txt"

fake docker
echo down >"$F/mode"
expect_rc "docker daemon not running: refused" 1 \
	with_path "$F" "$BIAFLOWS" exec "$C" --in "$IN" --out "$T/f2" --envs "$T/envs3"
check "says the daemon is not reachable" has "$T/err" "docker: daemon not reachable (Cannot connect to the Docker daemon"

mkdir -p "$T/empty"
expect_rc "no engine on PATH: refused" 1 \
	env PATH="$T/empty" "$BIAFLOWS" exec "$C" --in "$IN" --out "$T/f3" --envs "$T/envs3"
for e in apptainer singularity docker podman; do
	check "lists $e as not installed" has "$T/err" "$e: not installed"
done
check "and the archive hint" has "$T/err" "archive"

fake docker
echo hang >"$F/mode"
t0=$(date +%s)
expect_rc "an engine that never answers: refused" 1 \
	with_path "$F" "$BIAFLOWS" exec "$T/cd" --in "$IN" --out "$T/f4" --envs "$T/envs3"
check "... after the probe timeout, not later" test $(($(date +%s) - t0)) -lt 15
check "says it did not answer" has "$T/err" "docker: did not answer within 5 s"
check "the hung engine was killed" test -z "$(pgrep -f "^/bin/sleep 60\.$(stat -c %i "$F")\$" || true)"

mkdir -p "$T/cbad" && cp -r "$C"/. "$T/cbad/"
sed -i 's#"image": "[^"]*"#"image": "--output=/tmp/x"#' "$T/cbad/descriptor.json"
fake docker
expect_rc "an image name that looks like an option: refused" 1 \
	with_path "$F" "$BIAFLOWS" exec "$T/cbad" --in "$IN" --out "$T/f5" --envs "$T/envs3"
check "... before any engine is called" test "$(lines "$F/argv.log")" = 0

# --- biaflows run --wait through the fake docker: the worker inherits PATH
F=$FD
: >"$F/argv.log"
I=$T/inst
"$BIAFLOWS" init "$I" >/dev/null 2>&1
bia problem add P --class ObjSeg >/dev/null
bia dataset import P "$T/ds" >/dev/null 2>&1
expect_rc "workflow add of a container-image without archive" 0 bia workflow add "$C" --version v1
expect_rc "run --wait via docker" 0 with_path "$F" "$BIAFLOWS" --instance "$I" run Compat-Busybox P --param ij_radius=3 --wait
RID=$(head -1 "$T/out")
expect_rc "run show" 0 bia run show "$RID" --format json
check "run succeeded" test "$(json 'd["status"]')" = succeeded
check "the record names the engine and the config digest" test "$(json 'd["env_digest"]')" = "docker:sha256:$CFG"
check "two outputs ok" test "$(json 'sum(1 for o in d["images"] if o["status"] == "ok")')" = 2
check "the log tells where the image came from" has "$I/runs/$RID/log" "environment: container image '$IMG' from docker (exported and unpacked), sha256:$CFG"
check "unpacked once into the instance's envs" test -f "$I/envs/$CFG/.biaflows-verified"
expect_rc "a second run reuses it" 0 with_path "$F" "$BIAFLOWS" --instance "$I" run Compat-Busybox P --wait
RID2=$(head -1 "$T/out")
check "... without exporting again" test "$(saves)" = 1
check "... as its log says" has "$I/runs/$RID2/log" "from docker (unpacked before)"
check "the engine never ran or pulled anything" never_ran

: >"$F/images"
rm -rf "$I/envs"
expect_rc "run with the image missing from the engine: exit 1" 1 with_path "$F" "$BIAFLOWS" --instance "$I" run Compat-Busybox P --wait
RID3=$(head -1 "$T/out")
expect_rc "its record" 0 bia run show "$RID3" --format json
check "run failed" test "$(json 'd["status"]')" = failed
check "the reason says the image is not present locally" test "$(json '"is not present locally" in d["reason"] and "--image-archive" in d["reason"]')" = True
check "detached workers reported no error" \
	eval '! grep -qE "ERROR|runtime error|Sanitizer" "$I/runs/worker.log" 2>/dev/null'
# --- a real Podman (Debian's podman; rootful, daemonless), with a private
# image store in the test folder: load the fixture image, then biaflows
# exports it with `podman save` and runs it in its own sandbox
if command -v podman >/dev/null 2>&1; then
	PM=$T/podman
	mkdir -p "$PM"
	printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/root"\nrunroot = "%s/run"\n' "$PM" "$PM" >"$PM/storage.conf"
	export CONTAINERS_STORAGE_CONF=$PM/storage.conf
	podman load -q -i "$T/compat.tar" >/dev/null 2>&1
	podman tag "localhost/$IMG:v1" "$IMG" >/dev/null 2>&1
	check "real podman: the image is in the private store" podman image exists "$IMG"
	# PATH without docker: podman is the engine used
	mkdir -p "$PM/bin"
	ln -sf "$(command -v podman)" "$PM/bin/podman"
	expect_rc "real podman: exec of the descriptor without archive" 0 env PATH="$PM/bin:/usr/sbin:/sbin" "$BIAFLOWS" exec "$C" --in "$IN" --out "$T/pm-out" --envs "$PM/envs"
	check "real podman: every output written" test -f "$T/pm-out/objseg_000.tif" -a -f "$T/pm-out/objseg_001.tif"
	check "real podman: the environment names the engine" test "$(json 'd["environment"]')" = "podman:sha256:$CFG"
	check "real podman: the image store is unchanged (no container left)" test -z "$(podman ps -aq 2>/dev/null)"
	unset CONTAINERS_STORAGE_CONF
else
	echo "# podman not installed: the real-engine checks are skipped"
fi
finish
