#!/usr/bin/env bash
# biaflows export / import (docs/exchange.md): bundles verified by digest,
# round trips with identical content digests and leaderboards, content
# already present skipped, refusals leaving the instance unchanged, and
# kill -9 at every fault-injection point of an import.
. "$(dirname "$0")/lib.sh"
WF=$FIX/workflows/py-threshold
D=$FIX/descriptors
PY=/usr/bin/python3
export CLIENTS=$(cd "$(dirname "$0")/../../clients/python" && pwd)
A=$T/a
I=$A
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/out"; }
q() { sqlite3 "$1/biaflows.db" "$2"; }
# the manifest of a bundle (any compression) as JSON on stdout
manifest() { tar -xOf "$1" manifest.json; }
# what a leaderboard says, without ids (they are the importing instance's)
board() {
	"$BIAFLOWS" --instance "$1" bench "$2" --no-run --format json --resamples 200 2>/dev/null | $PY -c '
import json, sys
d = json.load(sys.stdin)
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in ("run", "run_id", "runs", "id", "created_at")}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
print(json.dumps(strip(d), sort_keys=True))'
}

# --- instance A: two problems, a second GT version, runs, a rerun, an
# image-archive workflow, a private problem, a log per run
"$BIAFLOWS" init "$A" >/dev/null 2>&1
"$BIAFLOWS" gen ObjSeg "$T/ds" --n 5 --size 64x64 --seed 4 --difficulty easy >/dev/null 2>&1
"$BIAFLOWS" gen ObjDet "$T/dds" --n 3 --size 32x32 --seed 1 >/dev/null 2>&1
bia problem add nuc --class ObjSeg --description "nuclei, 5 images" >/dev/null
bia problem set nuc --main-metric DC >/dev/null 2>&1
bia problem add spots --class ObjDet >/dev/null
bia dataset import nuc "$T/ds" >/dev/null 2>&1
bia dataset import spots "$T/dds" >/dev/null 2>&1
stem1=$(ls "$T/ds/images" | head -1 | sed 's/\.tif$//')
bia gt add "nuc/$stem1" "$T/ds/groundtruth/$stem1.tif" --annotator second >/dev/null 2>&1
q "$A" "INSERT INTO problem_private(problem_id) SELECT id FROM problems WHERE name = 'spots'"
bia workflow add "$WF" --version 1 >/dev/null 2>&1
mkdir -p "$T/arch"
cp "$D/image-archive.json" "$T/arch/descriptor.json"
echo 'fake image archive' >"$T/img.tar"
bia workflow add "$T/arch" --version 1.0 --image-archive "$T/img.tar" >/dev/null 2>&1
expect_rc "run 1" 0 bia run Threshold-Python nuc --param threshold=0.4 --wait
expect_rc "run 2" 0 bia run Threshold-Python nuc --param threshold=0.6 --wait
expect_rc "rerun of run 1" 0 bia rerun 1
check "A has three ended runs" test "$(q "$A" "SELECT count(*) FROM runs WHERE status = 'succeeded'")" = 3
AID=$(q "$A" "SELECT value FROM instance_meta WHERE key = 'id'")
check "the instance has a 32-hex id" test "${#AID}" = 32

# --- export
expect_rc "export -h" 0 bia export -h
check "... names the options" has "$T/out" "--with-environments"
expect_rc "export without a file: usage" 2 bia export
expect_rc "a bad name is refused" 1 bia export "$T/a.zip"
check "... naming the accepted names" has "$T/err" ".tar.zst"
expect_rc "an unknown problem is refused" 1 bia export "$T/x.tar" --problem nope
check "... naming it" has "$T/err" "no problem 'nope'"
check "... and nothing written" test ! -e "$T/x.tar"
expect_rc "export everything (zstd)" 0 bia export "$T/a.tar.zst" --with-runs --with-environments --progress --format json
cp "$T/out" "$T/exp-a.json"
check "report: 2 problems, 8 images, 9 GT versions, 3 runs" test "$(json '[d["records"][k] for k in ("problems","images","gt_versions","runs")]')" = "[2, 8, 9, 3]"
check "report: both workflow versions" test "$(json 'd["records"]["workflow_versions"]')" = 2
check "report names this instance" test "$(json 'd["instance"]')" = "$AID"
check "progress on stderr" has "$T/err" "export: files"
manifest "$T/a.tar.zst" >"$T/ma.json"
check "manifest: format and version 1" test "$($PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["format"], m["version"])' "$T/ma.json")" = "biaflows-bundle 1"
check "manifest: the source instance" test "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["instance"])' "$T/ma.json")" = "$AID"
mkdir -p "$T/ua" && tar --zstd -xf "$T/a.tar.zst" -C "$T/ua"
check "every record file has the manifest's digest" $PY -c '
import hashlib, json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
assert all(hashlib.sha256(open(sys.argv[1] + "/" + r["path"], "rb").read()).hexdigest() == r["digest"] for r in m["records"])' "$T/ua"
check "every file is named by its sha256 and indexed" $PY -c '
import hashlib, json, os, sys
d = sys.argv[1]
idx = {json.loads(l)["digest"] for l in open(d + "/records/blobs.jsonl")}
files = os.listdir(d + "/blobs")
assert set(files) == idx, (len(files), len(idx))
assert all(hashlib.sha256(open(d + "/blobs/" + f, "rb").read()).hexdigest() == f for f in files)' "$T/ua"
check "the environment archive is in" test -e "$T/ua/blobs/$(sha256sum "$T/img.tar" | cut -c1-64)"
check "run logs are in the bundle" test "$(ls "$T/ua/logs" | wc -l)" = 3
check "records hold no ids, only refs and an origin per run" $PY -c '
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1] + "/records/runs.jsonl")]
assert all("id" not in r and r["origin"] == sys.argv[2] + "/runs/%d" % (i + 1) for i, r in enumerate(runs)), runs[0]["origin"]
assert runs[2]["rerun"]["of"] == 1 and runs[2]["rerun"]["verdict"].startswith("reproduced")' "$T/ua" "$AID"

# --- import into an empty instance, export again: identical content
B=$T/b
"$BIAFLOWS" init "$B" >/dev/null 2>&1
expect_rc "import -h" 0 "$BIAFLOWS" --instance "$B" import -h
expect_rc "import into an empty instance" 0 "$BIAFLOWS" --instance "$B" import "$T/a.tar.zst" --progress --format json
check "added: everything" test "$(json '[d["added"][k] for k in ("problems","images","gt_versions","workflow_versions","runs")]')" = "[2, 8, 9, 2, 3]"
check "progress on stderr" has "$T/err" "import: commit"
expect_rc "export B (plain tar)" 0 "$BIAFLOWS" --instance "$B" export "$T/b.tar" --with-runs --with-environments
check "the same content digest" test "$(cat "$T/out")" = "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["content_digest"])' "$T/exp-a.json")"
manifest "$T/b.tar" >"$T/mb.json"
check "every record file's digest identical" $PY -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["records"] == b["records"] and b["instance"] != a["instance"]' "$T/ma.json" "$T/mb.json"
check "the leaderboard is identical on both" test "$(board "$A" nuc)" = "$(board "$B" nuc)"
check "... and not empty" test "$(board "$B" nuc | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))')" = 2
check "scores identical (and there are some)" eval '[ -n "$(q "$B" "SELECT count(*) FROM run_scores WHERE run_id = 1")" ] && [ "$(q "$B" "SELECT count(*) FROM run_scores")" -gt 10 ]'
check "scores identical" test "$(q "$A" "SELECT group_concat(s, ',') FROM (SELECT metric || '=' || coalesce(CAST(value AS TEXT), value_text) AS s FROM run_scores ORDER BY run_id, image_id, metric) x")" = "$(q "$B" "SELECT group_concat(s, ',') FROM (SELECT metric || '=' || coalesce(CAST(value AS TEXT), value_text) AS s FROM run_scores ORDER BY run_id, image_id, metric) x")"
check "a run's log came along" test "$("$BIAFLOWS" --instance "$B" logs 2 | sha256sum)" = "$(bia logs 2 | sha256sum)"
check "the rerun's verdict came along" test "$(q "$B" "SELECT verdict FROM run_reruns")" = "$(q "$A" "SELECT verdict FROM run_reruns")"
check "the private problem is private" test "$(q "$B" "SELECT count(*) FROM problem_private p JOIN problems x ON x.id = p.problem_id WHERE x.name = 'spots'")" = 1
check "settings came along" test "$(q "$B" "SELECT main_metric || ' ' || description FROM problems WHERE name = 'nuc'")" = "DC nuclei, 5 images"
check "GT versions: the second is current" test "$(q "$B" "SELECT annotator FROM gt_versions g JOIN images i ON i.id = g.image_id WHERE i.stem = '$stem1' AND is_current <> 0")" = second
expect_rc "B is consistent" 0 "$BIAFLOWS" --instance "$B" fsck
check "... pyramids built at import" has "$T/out" "0 missing"

# --- importing again: everything present, nothing changes
before=$(snapshot "$B")
expect_rc "import the same bundle again" 0 "$BIAFLOWS" --instance "$B" import "$T/a.tar.zst" --format json
check "nothing added" test "$(json 'sum(d["added"].values())')" = 0
check "everything present" test "$(json '[d["present"][k] for k in ("problems","images","gt_versions","workflow_versions","runs")]')" = "[2, 8, 9, 2, 3]"
check "instance unchanged" test "$(snapshot "$B")" = "$before"
expect_rc "B's bundle back into A: A's own runs are recognised" 0 bia import "$T/b.tar" --format json
check "... nothing added to A" test "$(json 'sum(d["added"].values())')" = 0

# --- into an instance with content of its own
C=$T/c
"$BIAFLOWS" init "$C" >/dev/null 2>&1
"$BIAFLOWS" --instance "$C" problem add other --class ObjSeg >/dev/null
"$BIAFLOWS" --instance "$C" dataset import other "$T/ds" >/dev/null 2>&1
"$BIAFLOWS" --instance "$C" workflow add "$WF" --version 1 >/dev/null 2>&1
"$BIAFLOWS" --instance "$C" run Threshold-Python other --wait >/dev/null 2>&1
expect_rc "import into an instance with its own runs" 0 "$BIAFLOWS" --instance "$C" import "$T/a.tar.zst" --format json
check "the workflow version was there already" test "$(json '(d["added"]["workflow_versions"], d["present"]["workflow_versions"])')" = "(1, 1)"
check "the runs got new ids" test "$(q "$C" "SELECT group_concat(run_id) FROM run_origins")" = "2,3,4"
check "the leaderboard is the same there too" test "$(board "$A" nuc)" = "$(board "$C" nuc)"
check "the rerun names its original by the new id" test "$(q "$C" "SELECT rerun_of FROM run_reruns")" = 2

# --- selections
expect_rc "export one problem without runs" 0 bia export "$T/s.tar.gz" --problem spots --format json
check "only its records" test "$(json '[d["records"][k] for k in ("problems","images","gt_versions","workflow_versions","runs")]')" = "[1, 3, 3, 0, 0]"
E=$T/e
"$BIAFLOWS" init "$E" >/dev/null 2>&1
expect_rc "import it" 0 "$BIAFLOWS" --instance "$E" import "$T/s.tar.gz"
check "one problem, three images" test "$(q "$E" "SELECT count(*) FROM problems"),$(q "$E" "SELECT count(*) FROM images")" = "1,3"
expect_rc "export without environments" 0 bia export "$T/noenv.tar" --with-workflows --format json
check "... both versions" test "$(json 'd["records"]["workflow_versions"]')" = 2
check "... the archive is not in the bundle" test "$(tar -tf "$T/noenv.tar" | grep -c "blobs/$(sha256sum "$T/img.tar" | cut -c1-64)")" = 0
expect_rc "export with environments, one problem" 0 bia export "$T/env.tar" --problem spots --with-environments --format json
check "... no version of another class" test "$(json 'd["records"]["workflow_versions"]')" = 0
expect_rc "a version without its archive is skipped" 0 "$BIAFLOWS" --instance "$E" import "$T/noenv.tar" --format json
check "... and reported" test "$(json '[(s["workflow"], s["version"]) for s in d["skipped"]]')" = "[('SpotDetection-Archive', '1.0')]"
check "... saying how to export it" has "$T/err" "--with-environments"
check "... the other version added" test "$(json 'd["added"]["workflow_versions"]')" = 1
cp -r "$T/ua" "$T/ua-noenv" && rm "$T/ua-noenv/blobs/$(sha256sum "$T/img.tar" | cut -c1-64)"
sed -i '/"'"$(sha256sum "$T/img.tar" | cut -c1-64)"'"/d' "$T/ua-noenv/records/blobs.jsonl"
# and its runs made to name that version (refs: versions by name, so 1)
sed -i 's/"workflow":2/"workflow":1/' "$T/ua-noenv/records/runs.jsonl"
$PY -c '
import hashlib, json, sys
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
for r in m["records"]:
    data = open(d + "/" + r["path"], "rb").read()
    r["digest"], r["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
m["content_digest"] = hashlib.sha256("".join("%s %s\n" % (r["path"], r["digest"]) for r in m["records"]).encode()).hexdigest()
json.dump(m, open(d + "/manifest.json", "w"))' "$T/ua-noenv"
E2=$T/e2
"$BIAFLOWS" init "$E2" >/dev/null 2>&1
before=$(snapshot "$E2")
expect_rc "a run of a version that cannot come is refused" 1 "$BIAFLOWS" --instance "$E2" import "$T/ua-noenv"
check "... naming the run and why" has "$T/err" "SpotDetection-Archive@1.0, which cannot be imported"
"$BIAFLOWS" --instance "$E2" fsck >/dev/null 2>&1
check "... instance unchanged" test "$(snapshot "$E2")" = "$before"

# --- refusals: each leaves the instance unchanged
F=$T/f
"$BIAFLOWS" init "$F" >/dev/null 2>&1
"$BIAFLOWS" --instance "$F" problem add nuc --class ObjSeg >/dev/null
refuse() { # DESC PATTERN BUNDLE
	local before
	before=$(snapshot "$F")
	expect_rc "$1: refused" 1 "$BIAFLOWS" --instance "$F" import "$3"
	check "$1: says '$2'" has "$T/err" "$2"
	"$BIAFLOWS" --instance "$F" fsck >/dev/null 2>&1
	check "$1: instance unchanged" test "$(snapshot "$F")" = "$before"
	check "$1: no staging folder left" test -z "$(ls -A "$F/runs" | grep exchange)"
}
# rewrite a bundle: tamper.py IN OUT MEMBER-PREFIX ACTION
cat >"$T/tamper.py" <<'EOF'
import io, json, sys, tarfile
src, dst, prefix, action = sys.argv[1:5]
with tarfile.open(src) as t, tarfile.open(dst, "w") as o:
    done = False
    for m in t.getmembers():
        data = t.extractfile(m).read()
        if not done and m.name.startswith(prefix):
            done = True
            if action == "flip":
                data = bytes([data[0] ^ 1]) + data[1:]
            elif action == "newer":
                j = json.loads(data); j["version"] = 2; data = json.dumps(j).encode()
            elif action == "drop":
                continue
            elif action == "dotdot":
                m.name = "../" + m.name
        m.size = len(data)
        o.addfile(m, io.BytesIO(data))
EOF
$PY "$T/tamper.py" "$T/b.tar" "$T/newer.tar" manifest.json newer
refuse "a bundle of a newer format" "format version 2, newer than this biaflows reads (1)" "$T/newer.tar"
$PY "$T/tamper.py" "$T/b.tar" "$T/flip-blob.tar" blobs/ flip
refuse "a damaged file" "a damaged bundle" "$T/flip-blob.tar"
$PY "$T/tamper.py" "$T/b.tar" "$T/flip-rec.tar" records/run_images flip
refuse "a damaged record file" "records/run_images.jsonl" "$T/flip-rec.tar"
$PY "$T/tamper.py" "$T/b.tar" "$T/drop.tar" blobs/ drop
refuse "a missing file" "lacks blobs/" "$T/drop.tar"
$PY "$T/tamper.py" "$T/b.tar" "$T/dotdot.tar" blobs/ dotdot
refuse "a member outside the bundle" "not a file a bundle holds" "$T/dotdot.tar"
head -c 5000 "$T/b.tar" >"$T/trunc.tar"
refuse "a truncated bundle" "import of" "$T/trunc.tar"
head -c 20000 /dev/urandom >"$T/noise.tar.gz"
refuse "random bytes" "import of" "$T/noise.tar.gz"
refuse "a missing file name" "No such file" "$T/none.tar"
# a damaged manifest is caught by its content digest
mkdir -p "$T/ub" && tar -xf "$T/b.tar" -C "$T/ub"
$PY -c '
import json, sys
p = sys.argv[1] + "/manifest.json"
m = json.load(open(p)); m["records"][2]["rows"] += 1; json.dump(m, open(p, "w"))' "$T/ub"
refuse "an unpacked bundle with a wrong row count" "records, the manifest says" "$T/ub"
# an image with the same stem and other content
"$BIAFLOWS" --instance "$F" gen ObjSeg "$T/other" --n 1 --size 64x64 --seed 99 >/dev/null 2>&1
mkdir -p "$T/clash/images" "$T/clash/groundtruth"
cp "$T/other/images/"*.tif "$T/clash/images/$stem1.tif"
cp "$T/other/groundtruth/"*.tif "$T/clash/groundtruth/$stem1.tif"
"$BIAFLOWS" --instance "$F" dataset import nuc "$T/clash" >/dev/null 2>&1
refuse "an image whose stem exists with other content" "image '$stem1' exists here" "$T/b.tar"
G=$T/g
"$BIAFLOWS" init "$G" >/dev/null 2>&1
mkdir -p "$T/wf2" && cp -r "$WF/." "$T/wf2/" && echo "# changed" >>"$T/wf2/wrapper.py"
"$BIAFLOWS" --instance "$G" workflow add "$T/wf2" --version 1 >/dev/null 2>&1
before=$(snapshot "$G")
expect_rc "a workflow version with other content: refused" 1 "$BIAFLOWS" --instance "$G" import "$T/b.tar"
check "... immutable" has "$T/err" "Threshold-Python@1 exists here with other content (versions are immutable)"
"$BIAFLOWS" --instance "$G" fsck >/dev/null 2>&1
check "... instance unchanged" test "$(snapshot "$G")" = "$before"

# --- kill -9 at each fault point: the instance as it was (after fsck
# removes orphan files), then the import succeeds
H=$T/h
"$BIAFLOWS" init "$H" >/dev/null 2>&1
"$BIAFLOWS" --instance "$H" problem add keep --class ObjSeg >/dev/null
for site in exchange.after_3_files exchange.in_records exchange.before_commit; do
	before=$(snapshot "$H")
	BIAFLOWS_FAULT=$site "$BIAFLOWS" --instance "$H" import "$T/a.tar.zst" >/dev/null 2>&1
	rc=$?
	check "$site: killed" test "$rc" = 137
	check "$site: no row of the bundle" test "$(q "$H" "SELECT count(*) FROM problems")" = 1
	expect_rc "$site: fsck" 0 "$BIAFLOWS" --instance "$H" fsck
	check "$site: instance as it was" test "$(snapshot "$H")" = "$before"
	check "$site: staging folder gone" test -z "$(ls -A "$H/runs" | grep exchange)"
done
BIAFLOWS_FAULT=exchange.after_commit "$BIAFLOWS" --instance "$H" import "$T/a.tar.zst" >/dev/null 2>&1
rc=$?
check "after_commit: killed" test "$rc" = 137
check "after_commit: the rows are in" test "$(q "$H" "SELECT count(*) FROM runs")" = 3
check "after_commit: the logs wait in the staging folder" test -n "$(ls -A "$H/runs" | grep exchange)"
expect_rc "after_commit: fsck places them" 0 "$BIAFLOWS" --instance "$H" fsck
check "after_commit: every run has its log" test "$(ls "$H"/runs/*/log | wc -l)" = 3
check "after_commit: staging folder gone" test -z "$(ls -A "$H/runs" | grep exchange)"
check "after_commit: logs equal the source's" test "$("$BIAFLOWS" --instance "$H" logs "$(q "$H" "SELECT run_id FROM run_origins WHERE origin LIKE '%/runs/2'")" | sha256sum)" = "$(bia logs 2 | sha256sum)"
expect_rc "then importing again adds nothing" 0 "$BIAFLOWS" --instance "$H" import "$T/a.tar.zst" --format json
check "... all present" test "$(json 'sum(d["added"].values())')" = 0

# --- over HTTP: export and import as operations with progress events,
# and pull (snapshot, resumable download, verified)
echo admin-password-1 | bia user add adm --role admin >/dev/null
echo viewer-password-1 | bia user add vic --role viewer >/dev/null
TOK=$(bia token create adm)
VTOK=$(bia token create vic)
rm -f "$T/port"
"$BIAFLOWS" --instance "$A" serve --listen 127.0.0.1:0 --port-file "$T/port" >"$T/serve.log" 2>&1 &
SPID=$!
wait_until 20 test -s "$T/port"
PORT=$(cat "$T/port")
URL=http://127.0.0.1:$PORT
api() { curl -s --noproxy '*' -H "Authorization: Bearer $TOK" "$@"; }
# wait for an operation (its JSON in $T/op.json): OP_URL
op_wait() {
	local i
	for i in $(seq 300); do
		api "$URL$1" >"$T/op.json"
		grep -q '"state": *"\(succeeded\|failed\)"' "$T/op.json" && return 0
		sleep 0.1
	done
	return 1
}
curl -s -N --noproxy '*' -H "Authorization: Bearer $TOK" "$URL/api/v1/events" >"$T/events" 2>/dev/null &
EPID=$!
sleep 0.3
api -X POST -H 'Content-Type: application/json' -d '{"runs": true, "environments": true, "compression": "gz"}' "$URL/api/v1/exports" >"$T/out"
check "POST /exports answers an operation" test "$(json 'd["kind"]')" = export
check "... which succeeds" op_wait "$(json 'd["url"]')"
cp "$T/op.json" "$T/out"
check "its result is the CLI's report (same content digest)" test "$(json 'd["result"]["content_digest"]')" = "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["content_digest"])' "$T/exp-a.json")"
DL=$(json 'd["result"]["download"]')
api -o "$T/api.tar.gz" -w '%{http_code}' "$URL$DL" >"$T/code"
check "the bundle downloads" test "$(cat "$T/code")" = 200
check "... a gzip tar" sh -c "tar -tzf '$T/api.tar.gz' | head -1 | grep -q manifest.json"
api -o "$T/part" -H 'Range: bytes=100-' -w '%{http_code}' "$URL$DL" >"$T/code"
check "a Range request answers 206 from that byte" test "$(cat "$T/code")" = 206
check "... the rest of the file" cmp -s "$T/part" <(tail -c +101 "$T/api.tar.gz")
check "a viewer may not export" test "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VTOK" -X POST -H 'Content-Type: application/json' -d '{}' "$URL/api/v1/exports")" = 403
check "an unknown export is 404" test "$(api -o /dev/null -w '%{http_code}' "$URL/api/v1/exports/00000000000000000000000000000000.tar")" = 404
# the Python client: the same export, downloaded, then imported elsewhere
# (below, through curl)
$PY - "$URL" "$TOK" "$T/py.tar.zst" >"$T/py.out" 2>&1 <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["CLIENTS"])
from biaflows_client import Client
c = Client(sys.argv[1], sys.argv[2])
r = c.export(runs=True, environments=True).wait(progress=False)
c.download_export(r, sys.argv[3])
print(r["content_digest"])
PYEOF
check "the Python client exports and downloads (same content digest)" test "$(tail -1 "$T/py.out")" = "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["content_digest"])' "$T/exp-a.json")"
check "... a bundle tar reads" sh -c "tar -tf '$T/py.tar.zst' | grep -q '^records/runs.jsonl'"
J=$T/j
"$BIAFLOWS" init "$J" >/dev/null 2>&1
echo admin-password-1 | "$BIAFLOWS" --instance "$J" user add adm --role admin >/dev/null
JTOK=$("$BIAFLOWS" --instance "$J" token create adm)
rm -f "$T/jport"
"$BIAFLOWS" --instance "$J" serve --listen 127.0.0.1:0 --port-file "$T/jport" >"$T/jserve.log" 2>&1 &
JPID=$!
wait_until 20 test -s "$T/jport"
JURL=http://127.0.0.1:$(cat "$T/jport")
curl -s --noproxy '*' -H "Authorization: Bearer $JTOK" -X POST --data-binary @"$T/api.tar.gz" "$JURL/api/v1/imports" >"$T/out"
check "POST /imports answers an operation" test "$(json 'd["kind"]')" = bundle-import
OPU=$(json 'd["url"]')
TOK_SAVE=$TOK; TOK=$JTOK; URL_SAVE=$URL; URL=$JURL
check "... which succeeds" op_wait "$OPU"
TOK=$TOK_SAVE; URL=$URL_SAVE
cp "$T/op.json" "$T/out"
check "its result: everything added" test "$(json '[d["result"]["added"][k] for k in ("problems","images","gt_versions","workflow_versions","runs")]')" = "[2, 8, 9, 2, 3]"
check "the leaderboard there is A's" test "$(board "$A" nuc)" = "$(board "$J" nuc)"
kill $JPID 2>/dev/null; wait $JPID 2>/dev/null
kill $EPID 2>/dev/null; wait $EPID 2>/dev/null
check "progress events of the export" has "$T/events" '"export 1"'

# pull
P=$T/p
"$BIAFLOWS" init "$P" >/dev/null 2>&1
expect_rc "pull -h" 0 "$BIAFLOWS" --instance "$P" pull -h
expect_rc "pull of a non-http URL: refused" 1 "$BIAFLOWS" --instance "$P" pull ftp://x
check "... naming the schemes" has "$T/err" "http:// or https://"
expect_rc "pull without a token" 1 "$BIAFLOWS" --instance "$P" pull "$URL"
check "... says the server refused" has "$T/err" "HTTP 40"
expect_rc "a viewer may not pull everything" 1 "$BIAFLOWS" --instance "$P" pull "$URL" --token "$VTOK"
check "... told to name problems" has "$T/err" "name the problems"
expect_rc "a viewer does not see a private problem" 1 "$BIAFLOWS" --instance "$P" pull "$URL" --token "$VTOK" --problem spots
check "... no such problem" has "$T/err" "no problem 'spots'"
before=$(snapshot "$P")
BIAFLOWS_FAULT=pull.file:5 "$BIAFLOWS" --instance "$P" pull "$URL" --token "$TOK" --with-runs --with-environments >/dev/null 2>&1
check "a pull killed after 5 files" test $? = 137
check "... imported nothing" test "$(snapshot "$P")" = "$before"
check "... kept the files it fetched" test "$(ls "$P"/exchange/pull-*/blobs | grep -vc part)" = 5
# one more file half fetched (as a connection cut would leave it)
PD=$(ls -d "$P"/exchange/pull-*)
half=$($PY -c '
import json, os, sys
d = sys.argv[1]
for l in open(d + "/records/blobs.jsonl"):
    g = json.loads(l)["digest"]
    if not os.path.exists(d + "/blobs/" + g):
        print(g); break' "$PD")
head -c 100 "$A/blobs/sha256/${half:0:2}/${half:2}" >"$PD/blobs/$half.part"
nfiles=$(( $(wc -l <"$PD/records/blobs.jsonl") + $(wc -l <"$PD/records/logs.jsonl") ))
expect_rc "pull again" 0 "$BIAFLOWS" --instance "$P" pull "$URL" --token "$TOK" --with-runs --with-environments --progress --format json
check "... resumed the 5 files" test "$(json 'd["download"]["resumed"]')" = 5
check "... and the half one with a Range request" test "$(json 'd["download"]["range_resumed"]')" -ge 1
check "... fetched the rest" test "$(json 'd["download"]["files"] + d["download"]["resumed"]')" = "$nfiles"
check "... showed progress" has "$T/err" "pull: download"
check "... imported everything" test "$(json '[d["added"][k] for k in ("problems","images","gt_versions","workflow_versions","runs")]')" = "[2, 8, 9, 2, 3]"
check "... and removed its folder" test -z "$(ls "$P/exchange" | grep pull-)"
check "the pulled instance has A's content digest" test "$("$BIAFLOWS" --instance "$P" export "$T/p.tar" --with-runs --with-environments)" = "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["content_digest"])' "$T/exp-a.json")"
expect_rc "pull again: nothing new" 0 "$BIAFLOWS" --instance "$P" pull "$URL" --token "$TOK" --with-runs --with-environments --format json
check "... no image file downloaded" test "$(json 'd["download"]["skipped"]')" -gt 0
check "... nothing added" test "$(json 'sum(d["added"].values())')" = 0
# a file damaged in transit: the import refuses, nothing changes
Q=$T/q
"$BIAFLOWS" init "$Q" >/dev/null 2>&1
BIAFLOWS_FAULT=pull.file:2 "$BIAFLOWS" --instance "$Q" pull "$URL" --token "$TOK" --problem nuc >/dev/null 2>&1
QD=$(ls -d "$Q"/exchange/pull-*)
f=$(ls "$QD/blobs" | head -1)
chmod u+w "$QD/blobs/$f" && printf 'x' >>"$QD/blobs/$f"
before=$(snapshot "$Q")
expect_rc "a damaged fetched file: refused" 1 "$BIAFLOWS" --instance "$Q" pull "$URL" --token "$TOK" --problem nuc
check "... as damaged" has "$T/err" "a damaged bundle"
check "... nothing imported" test "$(snapshot "$Q")" = "$before"
term_server() { kill -TERM "$1" 2>/dev/null; for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
term_server $SPID

finish
