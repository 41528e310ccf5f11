#!/usr/bin/env bash
# workflow add|sync|list|show: folders, versions, immutability, archives, git tags.
. "$(dirname "$0")/lib.sh"
I=$T/inst
D=$FIX/descriptors
PY=/usr/bin/python3

expect_rc "init" 0 "$BIAFLOWS" init "$I"

# --- help and usage
expect_rc "workflow -h" 0 bia workflow -h
check "help names every subcommand" has "$T/out" "workflow sync NAME|GIT_REPO"
expect_rc "workflow add -h" 0 bia workflow add -h
check "add -h prints usage" has "$T/out" "--image-archive"
expect_rc "workflow without subcommand: usage" 2 bia workflow
expect_rc "unknown subcommand: usage" 2 bia workflow frobnicate
expect_rc "add without path: usage" 2 bia workflow add
expect_rc "unknown option: usage" 2 bia workflow add "$T" --bogus
expect_rc "unknown format: usage" 2 bia workflow list --format xml
expect_rc "empty list" 0 bia workflow list
check "empty list has a header" has "$T/out" "ID  NAME  VERSION"

# --- a host workflow folder
W=$T/host
mkdir -p "$W/lib"
cp "$D/host-python.json" "$W/descriptor.json"
printf 'print("hi")\n' >"$W/wrapper.py"
chmod 755 "$W/wrapper.py"
printf 'x = 1\n' >"$W/lib/util.py"
mkdir -p "$W/.git" && echo junk >"$W/.git/HEAD"
NAME=NucleiSegmentation-Python-host

expect_rc "add a folder without --version" 0 bia workflow add "$W"
check "add prints the id alone" test "$(cat "$T/out")" = 1
expect_rc "add the same folder again" 0 bia workflow add "$W"
check "same content: the existing id" test "$(cat "$T/out")" = 1
check "... saying it exists" has "$T/err" "already exists with the same content"
expect_rc "show json" 0 bia workflow show "$NAME" --format json
$PY - "$T/out" >"$T/py" 2>&1 <<'PY'
import hashlib, json, sys
o = json.load(open(sys.argv[1]))
assert o["version"] == "dev-" + o["digest"][:12], o["version"]
assert o["problem_class"] == "ObjSeg"
paths = [f["path"] for f in o["files"]]
assert paths == ["descriptor.json", "lib/util.py", "wrapper.py"], paths
modes = {f["path"]: f["mode"] for f in o["files"]}
assert modes["wrapper.py"] == "755" and modes["lib/util.py"] == "644"
lines = sorted("%s %s %s\n" % (f["mode"], f["digest"], f["path"]) for f in o["files"])
assert hashlib.sha256("".join(lines).encode()).hexdigest() == o["digest"]
p = {x["id"]: x for x in o["parameters"]}
assert p["sigma"]["type"] == "Number" and p["sigma"]["default"] == "1.5", p["sigma"]
assert p["method"]["optional"] is True
assert p["cytomine_host"]["excluded"] is True
assert o["environment"]["type"] == "host"
assert o["resources"] == {"cpus": 2, "memory": 2147483648, "time": 600, "gpus": 0, "processes": None, "open_files": None, "output": None}, o["resources"]
assert len(o["versions"]) == 1
assert o["source"].endswith("/host")
print("fine")
PY
check "show json: version, files, digest, parameters, environment, resources" has "$T/py" fine
DEV=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$T/out")

expect_rc "add with --version v1" 0 bia workflow add "$W" --version v1
check "v1 is id 2" test "$(cat "$T/out")" = 2
expect_rc "add --version json" 0 bia workflow add "$W" --version v1 --format json
check "json add has existed" has "$T/out" '"existed": true'

# immutability
echo 'print("changed")' >"$W/wrapper.py"
before=$(snapshot "$I")
expect_rc "other content under v1 is refused" 1 bia workflow add "$W" --version v1
check "... saying versions are immutable" has "$T/err" "immutable"
check "... one line" test "$(lines "$T/err")" = 1
check "instance unchanged after refusal" test "$before" = "$(snapshot "$I")"
expect_rc "the change as v2" 0 bia workflow add "$W" --version v2
check "v2 is id 3" test "$(cat "$T/out")" = 3

# NAME and NAME@VERSION
expect_rc "show NAME" 0 bia workflow show "$NAME"
check "NAME is the newest added" has "$T/out" "v2"
check "table shows parameters" has "$T/out" "sigma"
check "table shows environment" has "$T/out" "type=host"
check "table shows resources" has "$T/out" "cpus=2"
expect_rc "show NAME@v1" 0 bia workflow show "$NAME@v1" --format json
check "NAME@v1 is version v1" has "$T/out" '"version": "v1"'
check "versions listed" test "$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["versions"]))' "$T/out")" = 3
expect_rc "show NAME@dev" 0 bia workflow show "$NAME@$DEV" --format json
check "the dev version" has "$T/out" "\"id\": 1,"
expect_rc "unknown version" 1 bia workflow show "$NAME@v9"
check "... named" has "$T/err" "version 'v9'"
expect_rc "unknown workflow" 1 bia workflow show Nope
check "... named" has "$T/err" "no workflow named 'Nope'"
expect_rc "bad --version" 1 bia workflow add "$W" --version "a b"

# --- refusals: bad descriptor, missing descriptor, escaping symlink
B=$T/bad
mkdir -p "$B"
sed 's/"type": "Number"/"type": "Float"/' "$D/host-python.json" >"$B/descriptor.json"
before=$(snapshot "$I")
expect_rc "bad descriptor refused" 1 bia workflow add "$B"
check "one-line error naming the key" test "$(lines "$T/err")" = 1
check "... the key" has "$T/err" "'inputs[3].type': unknown type 'Float'"
check "instance unchanged" test "$before" = "$(snapshot "$I")"
rm "$B/descriptor.json"
echo x >"$B/wrapper.py"
expect_rc "folder without descriptor refused" 1 bia workflow add "$B"
check "... saying so" has "$T/err" "no descriptor.json"
cp "$D/host-python.json" "$B/descriptor.json"
ln -s /etc/passwd "$B/passwd"
expect_rc "symlink leaving the folder refused" 1 bia workflow add "$B"
check "... saying so" has "$T/err" "points outside the folder"
check "instance still unchanged" test "$before" = "$(snapshot "$I")"
expect_rc "missing folder" 1 bia workflow add "$T/nonexistent"

# --- image archives
A=$T/arch
mkdir -p "$A"
cp "$D/image-archive.json" "$A/descriptor.json"
echo 'fake image archive' >"$T/img.tar"
expect_rc "image environment without its archive refused" 1 bia workflow add "$A"
check "... mentions --image-archive" has "$T/err" "--image-archive"
expect_rc "image archive attached" 0 bia workflow add "$A" --version 1.0 --image-archive "$T/img.tar" --format json
check "archive stored at environment.archive" has "$T/out" '"path": "images/w_spotdetection-ij.tar"'
C=$T/cont
mkdir -p "$C"
cp "$D/nucleisegmentation-imagej.json" "$C/descriptor.json"
expect_rc "container-image workflow with an archive" 0 bia workflow add "$C" --version 1 --image-archive "$T/img.tar" --format json
check "archive stored at .biaflows/image.tar" has "$T/out" '"path": ".biaflows/image.tar"'
expect_rc "host workflow refuses an archive" 1 bia workflow add "$W" --version v3 --image-archive "$T/img.tar"
check "... saying why" has "$T/err" "runs on the host"

# --- list
expect_rc "list" 0 bia workflow list
check "table lists v1" has "$T/out" "$NAME  v1"
check "table lists the archive workflow" has "$T/out" "SpotDetection-Archive"
expect_rc "list csv" 0 bia workflow list --format csv
check "csv header" test "$(head -1 "$T/out")" = "id,name,version,class,digest,created_at,source"
check "csv rows" test "$(lines "$T/out")" = 6
expect_rc "list json" 0 bia workflow list --format json
check "json list has 5 versions with full digests" test "$($PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r), all(len(x["digest"])==64 for x in r))' "$T/out")" = "5 True"

# --- git repositories (git command line)
R=$T/repo
git init -q "$R"
git -C "$R" config user.email t@example.org
git -C "$R" config user.name T
cp "$D/nucleisegmentation-imagej.json" "$R/descriptor.json"
echo 'print(1)' >"$R/wrapper.py"
git -C "$R" add -A && git -C "$R" commit -qm one && git -C "$R" tag v1.0
echo 'print(2)' >"$R/wrapper.py"
git -C "$R" commit -qam two && git -C "$R" tag -a v1.1 -m release
echo 'uncommitted' >"$R/wrapper.py"
GNAME=NucleiSegmentation-ImageJ
expect_rc "add a git repository" 0 bia workflow add "$R"
check "one id per tag" test "$(lines "$T/out")" = 2
expect_rc "show the newest tag" 0 bia workflow show "$GNAME" --format json
check "newest is v1.1" has "$T/out" '"version": "v1.1"'
check "tag content, not the work tree" test "$($PY -c '
import json,sys,hashlib
o=json.load(open(sys.argv[1])); f=[x for x in o["files"] if x["path"]=="wrapper.py"][0]
print(f["digest"]==hashlib.sha256(b"print(2)\n").hexdigest())' "$T/out")" = True
check "source names repository and tag" has "$T/out" "#v1.1\""
# the same repository with a container image was added as version 1 above
expect_rc "add the repository again" 0 bia workflow add "$R"
check "same ids" test "$(cat "$T/out" | tr "\n" " ")" = "6 7 "
git -C "$R" checkout -q wrapper.py
echo 'print(3)' >"$R/wrapper.py"
git -C "$R" commit -qam three && git -C "$R" tag v2.0
expect_rc "sync by name adds the new tag" 0 bia workflow sync "$GNAME"
check "sync prints the one new id" test "$(cat "$T/out")" = 8
check "sync summary" has "$T/err" "1 added, 2 already present"
expect_rc "sync by path: nothing new" 0 bia workflow sync "$R" --format json
check "json sync: empty list" test "$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/out")" = 0
git -C "$R" tag -f v1.0 >/dev/null
before=$(snapshot "$I")
expect_rc "moved tag refused" 1 bia workflow sync "$R"
check "... saying the tag moved" has "$T/err" "moved tag"
check "... and immutable" has "$T/err" "immutable"
check "instance unchanged by the moved tag" test "$before" = "$(snapshot "$I")"
expect_rc "URL refused" 1 bia workflow add https://github.com/neubias-wg5/W_NucleiSegmentation-ImageJ
check "... clone first" has "$T/err" "clone it first"
expect_rc "sync of a folder workflow" 1 bia workflow sync SpotDetection-Archive
check "... not from git" has "$T/err" "not added from a git repository"
E=$T/empty
git init -q "$E"
expect_rc "repository without tags" 1 bia workflow add "$E"
check "... suggests tagging" has "$T/err" "no tags"
expect_rc "a repository with --version is a folder" 0 bia workflow add "$R" --version wt
expect_rc "its files skip .git" 0 bia workflow show "$GNAME@wt" --format json
check "no .git files" test "$($PY -c 'import json,sys; print(any(".git" in f["path"].split("/") for f in json.load(open(sys.argv[1]))["files"]))' "$T/out")" = False

# --- stored data is consistent
expect_rc "fsck" 0 bia fsck
check "no orphans" has "$T/out" " 0 orphans"

# --- a crash between storing blobs and the commit leaves only orphans
K=$T/crash
mkdir -p "$K"
cp "$D/host-python.json" "$K/descriptor.json"
echo 'print("crash 1")' >"$K/a.py"
echo 'print("crash 2")' >"$K/b.py"
run bash -c '"$@"; exit $?' _ env BIAFLOWS_FAULT=workflow.blob:2 "$BIAFLOWS" --instance "$I" workflow add "$K" --version crash
check "killed at the second blob" test "$rc" -ge 128
expect_rc "the version is not there" 1 bia workflow show "$NAME@crash"
run bia fsck
check "fsck removes the orphan blobs" has "$T/out" "2 orphans (2 removed)"
expect_rc "fsck clean afterwards" 0 bia fsck
expect_rc "the add succeeds after the crash" 0 bia workflow add "$K" --version crash

finish
