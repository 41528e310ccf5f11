#!/usr/bin/env bash
# Trusted workflow sources (docs/workflows.md "Trusted sources"): git
# repositories built here with git, synced into versions by `source sync`
# and by the server's poller; per-tag outcomes (imported, refused with the
# key named, moved, deleted) never change a stored version (digests
# compared); file:// URLs; refusals that store nothing; the REST routes
# (admin only for changes) printing the CLI's JSON. http(s) is not tested
# (no network in tests; an unreachable http URL is).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
I=$T/inst
export NO_PROXY='*' no_proxy='*'

expect_rc "init" 0 "$BIAFLOWS" init "$I"

# --- help and usage
expect_rc "source -h" 0 bia source -h
check "help names every subcommand" has "$T/out" "source sync [ID|NAME]"
expect_rc "source without subcommand: usage" 2 bia source
expect_rc "add without a path: usage" 2 bia source add
expect_rc "an interval under 60 s: usage" 2 bia source add "$T" --interval 5
expect_rc "unknown format: usage" 2 bia source list --format xml
expect_rc "empty list" 0 bia source list
check "... has a header" has "$T/out" "ID  NAME  URL"

# mkrepo DIR: a git repository; commit_tag DIR TAG NAME [bad]: a commit with
# a descriptor of workflow NAME (bad: an input of an unknown type) and a tag
mkrepo() {
	git init -q "$1"
	git -C "$1" config user.email t@example.org
	git -C "$1" config user.name T
}
commit_tag() {
	local dir=$1 tag=$2 name=$3 bad=${4:-}
	$PY - "$dir/descriptor.json" "$name" "$bad" <<'PY'
import json, sys
d = {"name": sys.argv[2], "schema-version": "cytomine-0.1", "problem-class": "ObjSeg",
     "environment": {"type": "host"}, "command-line": "python3 wrapper.py RADIUS",
     "inputs": [{"id": "radius", "value-key": "@ID", "command-line-flag": "--@id",
                 "type": "Float" if sys.argv[3] else "Number", "default-value": 2,
                 "optional": True}]}
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
	echo "print('$tag')" >"$dir/wrapper.py"
	git -C "$dir" add -A && git -C "$dir" commit -qm "$tag" && git -C "$dir" tag -f "$tag" >/dev/null
}
# digest NAME@VERSION: the stored version's digest
digest() { bia workflow show "$1" --format json | $PY -c 'import json,sys; print(json.load(sys.stdin)["digest"])'; }
# tagfield SOURCE TAG FIELD: from `source show --format json`
tagfield() {
	bia source show "$1" --format json | $PY -c '
import json, sys
t = [x for x in json.load(sys.stdin)["tags"] if x["tag"] == sys.argv[1]]
print(t[0][sys.argv[2]] if t else "no-such-tag")' "$2" "$3"
}
srcfield() { bia source show "$1" --format json | $PY -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }
nsources() { sqlite3 "$I/biaflows.db" "SELECT count(*) FROM workflow_sources"; }
nversions() { sqlite3 "$I/biaflows.db" "SELECT count(*) FROM workflow_versions"; }

R=$T/repo
mkrepo "$R"
commit_tag "$R" v1 Src-One
commit_tag "$R" v2 Src-One

# --- add and sync
expect_rc "add a local repository" 0 bia source add "$R"
check "... prints the new id alone" test "$(cat "$T/out")" = 1
expect_rc "list json" 0 bia source list --format json
check "... named after the folder, never synced, default interval" test "$($PY -c '
import json,sys; s=json.load(open(sys.argv[1]))[0]
print(s["id"], s["name"], s["url"] == sys.argv[2], s["status"], s["interval"], s["last_sync_at"])' "$T/out" "$R")" = "1 repo True never 3600 None"
check "nothing imported by add" test "$(nversions)" = 0
expect_rc "sync imports every tag" 0 bia source sync repo
check "... prints the new version ids" test "$(cat "$T/out" | tr '\n' ' ')" = "1 2 "
check "... v1 and v2 stored" test "$(sqlite3 "$I/biaflows.db" "SELECT group_concat(version, ',') FROM (SELECT version FROM workflow_versions ORDER BY id) x")" = "v1,v2"
check "... recorded as imported with their version ids" test "$(tagfield 1 v1 status) $(tagfield 1 v1 version_id) $(tagfield 1 v2 status) $(tagfield 1 v2 version_id)" = "imported 1 imported 2"
check "... the source is ok, with its sync time" test "$(srcfield 1 status) $(srcfield 1 last_sync_at | cut -c1-2)" = "ok 20"
check "the mirror is a bare repository inside the instance" test "$(git -C "$I/sources/1.git" rev-parse --is-bare-repository)" = true
check "... with the tags" test "$(git -C "$I/sources/1.git" tag | tr '\n' ' ')" = "v1 v2 "
check "versions name the repository and tag" test "$(sqlite3 "$I/biaflows.db" "SELECT source FROM workflow_versions WHERE id = 1")" = "git:$R#v1"
D1=$(digest Src-One@v1)
D2=$(digest Src-One@v2)
expect_rc "sync again: nothing new" 0 bia source sync 1
check "... no ids" test ! -s "$T/out"
check "... says so" has "$T/err" "ok, 0 version(s) imported"

# --- an invalid tag is refused with the key named; the others still come
commit_tag "$R" v3 Src-One bad
commit_tag "$R" v4 Src-One
expect_rc "sync with an invalid tag: exit 1" 1 bia source sync repo
check "... the valid new tag is imported" test "$(cat "$T/out")" = 3
check "... the invalid one refused, naming the key" has "$T/err" "tag 'v3' refused"
check "... recorded on the source with the reason" eval "tagfield 1 v3 message | grep -q \"'inputs\\[0\\].type': unknown type 'Float'\""
check "... status refused, no version" test "$(tagfield 1 v3 status) $(tagfield 1 v3 version_id)" = "refused None"
check "... the source is partial, its error names the tag" test "$(srcfield 1 status)" = partial
check "... error text" eval "srcfield 1 error | grep -q \"tag 'v3'\""
check "v1 and v2 unchanged" test "$(digest Src-One@v1) $(digest Src-One@v2)" = "$D1 $D2"
expect_rc "source list shows the error" 0 bia source list
check "... partial in the table" has "$T/out" "partial"

# --- a moved tag and a deleted tag never change a stored version
git -C "$R" tag -f v1 v4 >/dev/null
git -C "$R" tag -d v2 >/dev/null
before=$(sqlite3 "$I/biaflows.db" "SELECT id, version, digest FROM workflow_versions ORDER BY id; SELECT * FROM workflow_files ORDER BY version_id, path")
expect_rc "sync with a moved and a deleted tag: exit 1" 1 bia source sync repo
check "... the moved tag refused as moved" eval "tagfield 1 v1 message | grep -q 'moved tag'"
check "... and still names its version" test "$(tagfield 1 v1 status) $(tagfield 1 v1 version_id)" = "refused 1"
check "... the deleted tag recorded as deleted, its version kept" test "$(tagfield 1 v2 status) $(tagfield 1 v2 version_id)" = "deleted 2"
check "... stored versions and files byte for byte the same" test "$before" = "$(sqlite3 "$I/biaflows.db" "SELECT id, version, digest FROM workflow_versions ORDER BY id; SELECT * FROM workflow_files ORDER BY version_id, path")"
check "... digests unchanged" test "$(digest Src-One@v1) $(digest Src-One@v2)" = "$D1 $D2"
check "... the mirror saw the move (forced) and the deletion (pruned)" test "$(git -C "$I/sources/1.git" rev-parse 'v1^{commit}') $(git -C "$I/sources/1.git" tag | tr '\n' ' ')" = "$(git -C "$R" rev-parse 'v4^{commit}') v1 v3 v4 "
# moving it back and fixing v3: both come right
git -C "$R" tag -f v1 "$(git -C "$R" log --format=%H --reverse | head -1)" >/dev/null
commit_tag "$R" v3 Src-One
expect_rc "v1 moved back, v3 fixed: exit 0" 0 bia source sync repo
check "... v3 imported now" test "$(tagfield 1 v3 status)" = imported
check "... v1 gives its version again" test "$(tagfield 1 v1 status) $(tagfield 1 v1 version_id)" = "present 1"
check "... v1 still the same" test "$(digest Src-One@v1)" = "$D1"
check "... the source is ok again" test "$(srcfield 1 status) $(srcfield 1 error)" = "ok "

# --- a file:// URL, a name, an interval
R2=$T/second.git
mkrepo "$R2"
commit_tag "$R2" 1.0 Src-Two
expect_rc "add a file:// URL with --name and --interval" 0 bia source add "file://$R2" --name viafile --interval 600 --format json
check "... json: the object" test "$($PY -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["id"], s["name"], s["url"][:7], s["interval"])' "$T/out")" = "2 viafile file:// 600"
expect_rc "sync it by id" 0 bia source sync 2 --format json
check "... json: imported one version" test "$($PY -c 'import json,sys; s=json.load(open(sys.argv[1])); print(len(s["imported"]), s["tags"][0]["tag"], s["tags"][0]["workflow"])' "$T/out")" = "1 1.0 Src-Two"

# --- refusals store nothing
n0=$(nsources)
expect_rc "ssh:// refused" 1 bia source add ssh://git@example.org/x.git
check "... naming the scheme" has "$T/err" "scheme 'ssh' is not accepted"
expect_rc "scp-like ssh address refused" 1 bia source add git@example.org:x/y.git
check "... as ssh" has "$T/err" "looks like an ssh address"
expect_rc "git:// refused" 1 bia source add git://example.org/x.git
mkdir -p "$T/plain"
expect_rc "a folder that is not a repository" 1 bia source add "$T/plain"
check "... says so" has "$T/err" "is not a git repository"
expect_rc "a missing folder" 1 bia source add "$T/nothing"
expect_rc "a file:// URL to nothing" 1 bia source add file://$T/nothing
check "... cannot reach it" has "$T/err" "cannot reach the repository"
expect_rc "an unreachable http URL" 1 bia source add http://127.0.0.1:1/x.git
check "... names the URL and the reason" eval "grep -q 'http://127.0.0.1:1/x.git' '$T/err' && grep -qi 'connect' '$T/err'"
expect_rc "a name of digits" 1 bia source add "$R2" --name 123
expect_rc "a name in use" 1 bia source add "$R2" --name viafile
check "... says so" has "$T/err" "already exists"
check "nothing stored by the refusals" test "$(nsources)" = "$n0"

# --- a repository that goes away: the sync records the error, versions stay
R3=$T/third
mkrepo "$R3"
commit_tag "$R3" t1 Src-Three
expect_rc "add a third" 0 bia source add "$R3"
expect_rc "... sync" 0 bia source sync third
mv "$R3" "$T/third-moved"
expect_rc "sync of a repository that is gone: exit 1" 1 bia source sync third
check "... the error on the source" test "$(srcfield third status)" = error
check "... naming the fetch" eval "srcfield third error | grep -q 'cannot fetch'"
check "... its tag records stay" test "$(tagfield third t1 status)" = imported
check "... its version stays" test "$(bia workflow show Src-Three@t1 --format json >/dev/null && echo y)" = y
expect_rc "sync of all sources: exit 1 (one failed)" 1 bia source sync
expect_rc "rm by name" 0 bia source rm third
check "... gone from the list" test "$(bia source list --format csv | grep -c third)" = 0
check "... its mirror removed" test ! -e "$I/sources/3.git"
check "... its versions stay" test "$(bia workflow show Src-Three@t1 --format json >/dev/null && echo y)" = y
check "... and its tag rows are gone" test "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM workflow_source_tags WHERE source_id = 3")" = 0
expect_rc "rm of an unknown source" 1 bia source rm third

# --- one sync of a source at a time (a lock beside its mirror)
commit_tag "$R" v5 Src-One
(exec 9>"$I/sources/1.lock" && flock 9 && sleep 3) &
LPID=$!
sleep 0.5
t0=$(date +%s)
expect_rc "a sync waits for a sync in progress" 0 bia source sync repo
check "... (it waited for the lock)" test $(($(date +%s) - t0)) -ge 2
check "... then imported v5" test "$(tagfield 1 v5 status)" = imported
wait "$LPID"

# --- the server: polling with a short interval, and the REST routes
echo admin-password-1 | bia user add adm --role admin >/dev/null
echo vic-password-1 | bia user add vic --role viewer >/dev/null
TA=$(bia token create adm)
TV=$(bia token create vic)
rm -f "$T/port"
BIAFLOWS_SOURCE_INTERVAL=1 "$BIAFLOWS" --instance "$I" serve --listen 127.0.0.1:0 --port-file "$T/port" --no-worker >>"$T/serve.log" 2>&1 &
SPID=$!
wait_until 10 test -s "$T/port"
PORT=$(cat "$T/port")
check "serve listens" test -n "$PORT"
commit_tag "$R" v6 Src-One
has_v6() { [ "$(sqlite3 "$I/biaflows.db" "SELECT count(*) FROM workflow_versions WHERE version = 'v6'")" = 1 ]; }
check "the server's poller imports a new tag without any request" wait_until 20 has_v6
check "... recorded on the source" test "$(tagfield 1 v6 status)" = imported

U() { echo "http://127.0.0.1:$PORT/api/v1$1"; }
# req TOKEN METHOD PATH [BODY]: body in $T/body, status echoed
req() {
	curl -s --noproxy '*' -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $1" -X "$2" \
		${4:+-H 'Content-Type: application/json' -d "$4"} "$(U "$3")"
}
check "GET /sources (a viewer): 200" test "$(req "$TV" GET /sources)" = 200
check "... lists the sources" test "$($PY -c 'import json,sys; print([s["name"] for s in json.load(open(sys.argv[1]))["items"]])' "$T/body")" = "['repo', 'viafile']"
check "GET /sources/repo: the CLI's JSON" test "$(req "$TV" GET /sources/repo)" = 200
bia source show repo --format json >"$T/cli.json"
# (but for the sync times: the poller syncs every second here)
check "... same as 'source show --format json'" $PY -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for o in (a, b):
    del o["last_sync_at"], o["last_ok_at"]
sys.exit(a != b or not a["tags"])' "$T/body" "$T/cli.json"
R4=$T/fourth
mkrepo "$R4"
commit_tag "$R4" w1 Src-Four
check "POST /sources by a viewer: 403" test "$(req "$TV" POST /sources "{\"url\": \"$R4\"}")" = 403
check "POST /sources by an admin: 201" test "$(req "$TA" POST /sources "{\"url\": \"$R4\", \"name\": \"four\", \"interval\": 120}")" = 201
SID=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/body")
check "... returns the source" test "$($PY -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["name"], s["interval"], s["status"])' "$T/body")" = "four 120 never"
check "POST /sources with a bad scheme: 4xx naming it" eval "[ \"\$(req '$TA' POST /sources '{\"url\": \"ssh://h/x\"}')\" -ge 400 ] && grep -q \"scheme 'ssh'\" '$T/body'"
check "POST /sources/ID/sync by a viewer: 403" test "$(req "$TV" POST "/sources/$SID/sync")" = 403
check "POST /sources/ID/sync by an admin: 202 (an operation)" test "$(req "$TA" POST "/sources/$SID/sync")" = 202
OPU=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"][len("/api/v1"):])' "$T/body")
op_done() { req "$TA" GET "$OPU" >/dev/null && grep -q '"state": *"succeeded"' "$T/body"; }
check "... which succeeds" wait_until 60 op_done
cp "$T/body" "$T/op.json"; $PY -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["result"], open(sys.argv[2], "w"))' "$T/op.json" "$T/body"
# (the poller may have synced the new source first: the answer then
# imports nothing new, but the tag is recorded either way)
W1=$(bia workflow show Src-Four@w1 --format json | $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "... w1 imported as a version" test -n "$W1"
check "... the answer: the source, ok, w1 with its version id" test "$($PY -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["name"], s["status"], s["tags"][0]["tag"], s["tags"][0]["status"], s["tags"][0]["version_id"], set(s["imported"]) <= {s["tags"][0]["version_id"]}, "changes" in s)' "$T/body")" = "four ok w1 imported $W1 True True"
check "GET /sources/nothing: 404" test "$(req "$TV" GET /sources/nothing)" = 404
check "POST /sources/nothing/sync: 404 at once" test "$(req "$TA" POST /sources/nothing/sync)" = 404
check "DELETE /sources/ID by a viewer: 403" test "$(req "$TV" DELETE "/sources/$SID")" = 403
check "DELETE /sources/ID by an admin: 200" test "$(req "$TA" DELETE "/sources/$SID")" = 200
check "... gone" test "$(req "$TV" GET "/sources/$SID")" = 404
check "the OpenAPI document lists the routes" eval "req '$TV' GET /openapi.json >/dev/null && grep -q '/api/v1/sources/{source}/sync' '$T/body'"
kill -TERM "$SPID"
for _ in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
kill -9 "$SPID" 2>/dev/null
wait "$SPID"
check "the server stops cleanly" test $? -eq 0
check "no sanitizer report in the server's log" eval '! grep -q "Sanitizer\|runtime error" "$T/serve.log"'
finish
