"""End-to-end tests of biaflows serve, against a live server.

Run by tests/cli/t_serve.sh, which creates the instance, the users and their
tokens and starts the server; the environment names them (see the script).
Prints "ok - ..." / "not ok - ..." lines, as the shell tests do.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python"))
from biaflows_client import ApiError, Client  # noqa: E402

E = os.environ
PORT = int(E["PORT"])
TOK = {k: E["TOKEN_" + k.upper()] for k in ("admin", "alice", "bob", "vic")}
BIAFLOWS = E["BIAFLOWS"]
INST = E["INST"]
DS = E["DS"]
WF = E["WF"]
passed = failed = 0


def ok(cond, desc, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + desc)
    else:
        failed += 1
        print("not ok - " + desc)
        if detail:
            for line in str(detail)[:1500].splitlines():
                print("#   " + line)
    sys.stdout.flush()


def call(method, path, token=None, body=None, headers=None, raw_body=None, prefix="/api/v1"):
    """(status, headers, parsed JSON or bytes)"""
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = raw_body
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    c.request(method, prefix + path, body=data, headers=h)
    r = c.getresponse()
    payload = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    if hdrs.get("content-type", "").startswith("application/json"):
        try:
            payload = json.loads(payload)
        except ValueError:
            pass
    return r.status, hdrs, payload


def code(resp):
    p = resp[2]
    return p.get("error", {}).get("code") if isinstance(p, dict) else None


def cli_json(*args):
    out = subprocess.run([BIAFLOWS, "--instance", INST] + list(args), capture_output=True,
                         check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


admin = Client("http://127.0.0.1:%d" % PORT, TOK["admin"])
alice = Client("http://127.0.0.1:%d" % PORT, TOK["alice"])
bob = Client("http://127.0.0.1:%d" % PORT, TOK["bob"])
vic = Client("http://127.0.0.1:%d" % PORT, TOK["vic"])
anon = Client("http://127.0.0.1:%d" % PORT)

# ------------------------------------------------------------------ basics
st, _, body = call("GET", "/problems")
ok(st == 401 and body["error"]["code"] == "unauthenticated",
   "without --guest an anonymous caller is refused (401, unauthenticated)", body)
st, _, body = call("GET", "/problems", token="bfa_notatoken")
ok(st == 401, "an unknown token is 401", body)
st, _, body = call("GET", "/nothing/here", token=TOK["admin"])
ok(st == 404 and code((st, _, body)) == "not_found", "an unknown route is 404 not_found")
st, hd, body = call("PUT", "/problems", token=TOK["admin"])
ok(st == 405 and code((st, _, body)) == "method_not_allowed" and hd.get("allow") == "GET, POST",
   "a wrong method is 405 with Allow", (st, hd.get("allow")))
st, _, body = call("GET", "/problems/../users", token=TOK["vic"])
ok(st in (400, 404) and isinstance(body, dict) and "error" in body,
   "a path with '..' is refused with an error body", (st, body))

# ------------------------------------------------------- problems, uploads
p = alice.create_problem("nuc", "objseg", "nuclei")
ok(p["name"] == "nuc" and p["class"] == "ObjSeg" and p["private"] is False,
   "a contributor creates a problem (class canonical)", p)
try:
    vic.create_problem("nope", "ObjSeg")
    ok(False, "a viewer cannot create a problem")
except ApiError as e:
    ok(e.status == 403 and e.code == "permission_denied", "a viewer cannot create a problem (403)", e)
try:
    bob.create_problem("nuc", "ObjSeg")
    ok(False, "a second problem of the same name is refused")
except ApiError as e:
    ok(e.status == 409 and e.code == "conflict", "a second problem of the same name is 409", e)

imgs = sorted(os.listdir(os.path.join(DS, "images")))
for f in imgs:
    alice.upload_image("nuc", os.path.join(DS, "images", f))
listed = alice.images("nuc")
ok([i["stem"] for i in listed] == [f[:-4] for f in imgs], "uploaded images are listed by stem",
   listed)
try:
    bob.upload_image("nuc", os.path.join(DS, "images", imgs[0]), name="x.tif")
    ok(False, "a contributor who is not a member cannot upload")
except ApiError as e:
    ok(e.status == 403, "a contributor who is not a member cannot upload (403)", e)
for im in listed:
    alice.upload_gt(im["id"], os.path.join(DS, "groundtruth", im["stem"] + ".tif"))
ok(all(alice.get("/images/%d" % i["id"])["gt_version"] for i in listed),
   "every image has its uploaded ground truth")
st, _, body = call("POST", "/problems/nuc/images?name=a.tif", token=TOK["alice"],
                   raw_body=b"not a tiff at all")
ok(st == 422 and body["error"]["problems"], "a corrupt image is 422 with its problems", body)
ok("upload-" not in json.dumps(body) and INST not in json.dumps(body),
   "... naming the uploaded file, not where the server kept it", body)
for bad in ("../x.tif", ".hidden.tif", "a/b.tif", ""):
    st, _, body = call("POST", "/problems/nuc/images?name=" + urllib.parse.quote(bad),
                       token=TOK["alice"], raw_body=b"x")
    ok(st == 400, "an upload named %r is refused (400)" % bad, body)
ok(len(alice.images("nuc")) == len(imgs), "refused uploads added nothing")
leftovers = [n for n in os.listdir(os.path.join(INST, "tmp")) if n.startswith("upload-")]
ok(not leftovers, "refused uploads leave no temporary file", leftovers)
tmpf = os.path.join(E["T"], "dl.tif")
admin.download(listed[0]["id"], tmpf)
with open(tmpf, "rb") as a, open(os.path.join(DS, "images", imgs[0]), "rb") as b:
    ok(a.read() == b.read(), "an image downloads byte for byte")

# ---------------------------------------------------------- paging, CSV
page = alice.get("/problems/nuc/images", limit=2, offset=1)
ok(page["total"] == len(imgs) and len(page["items"]) == 2 and page["items"][0]["stem"] == imgs[1][:-4],
   "a page: limit, offset and the total", page)
st, hd, _ = call("GET", "/problems/nuc/images?limit=0", token=TOK["alice"])
ok(st == 400, "limit 0 is refused")
st, hd, csv = call("GET", "/problems/nuc/images?format=csv", token=TOK["alice"])
ok(st == 200 and hd["content-type"].startswith("text/csv") and
   csv.decode().splitlines()[0].startswith("id,") and len(csv.decode().splitlines()) == len(imgs) + 1,
   "?format=csv gives a header and a row per image", csv[:200])
st, hd, csv2 = call("GET", "/problems/nuc/images", token=TOK["alice"], headers={"Accept": "text/csv"})
ok(st == 200 and csv2 == csv, "Accept: text/csv gives the same CSV")
ok(hd.get("x-total-count") == str(len(imgs)), "lists send X-Total-Count")

# ---------------------------------------------------------------- workflows
try:
    alice.upload_workflow(WF, version="1")
    ok(False, "a contributor cannot add workflows")
except ApiError as e:
    ok(e.status == 403, "a contributor cannot add workflows (admins manage them)", e)
w = admin.upload_workflow(WF, version="1")
ok(w["name"] == "Threshold-Python" and w["version"] == "1", "an admin uploads a workflow folder (tar)", w)
ok(w["source"] == "upload:adm", "... its source is the upload, not a temporary folder", w["source"])
w2 = admin.upload_workflow(WF, version="1")
ok(w2.get("existed") is True, "the same folder again is the same version (immutable)", w2)
st, _, body = call("POST", "/workflows?version=2", token=TOK["admin"], raw_body=b"garbage")
ok(st in (400, 422) and "error" in body, "a workflow upload that is not a tar is refused", body)
ok(any(v["name"] == "Threshold-Python" for v in vic.workflows()), "a viewer lists workflows")

# --------------------------------------------------------------------- runs
run = alice.run("Threshold-Python", "nuc", threshold=0.4)
ok(run.status == "queued", "a contributor launches a run (queued)", run.record)
rec = run.wait(progress=False, timeout=120)
ok(rec["status"] == "succeeded", "run.wait() follows it to success", rec.get("status"))
rows = alice.metrics(run.id)
ok(len(rows) == len(imgs) and all("mAP" in r for r in rows), "metrics: one row per image with mAP", rows)
tab = vic.get("/runs/%d/metrics" % run.id, sort="DC", order="desc", limit=2)
dcs = sorted((r["DC"] for r in rows), reverse=True)
ok(tab["total"] == len(imgs) and [r["DC"] for r in tab["items"]] == dcs[:2],
   "the metric table sorts by a metric and pages", tab)
tab = vic.get("/runs/%d/metrics" % run.id, stem=rows[1]["stem"])
ok(tab["total"] == 1 and tab["items"][0]["stem"] == rows[1]["stem"], "... and filters by stem", tab)
st, hd, csvm = call("GET", "/runs/%d/metrics?format=csv&sort=stem" % run.id, token=TOK["vic"])
ok(st == 200 and csvm.decode().splitlines()[0].startswith("image,stem,status,DC"),
   "... and comes as CSV", csvm[:200])
st, _, body = call("GET", "/runs/%d/metrics?sort=nope" % run.id, token=TOK["vic"])
ok(st == 400 and "cannot sort by" in body["error"]["message"], "an unknown sort key is 400", body)
run2 = alice.run("Threshold-Python", "nuc", threshold=0.6)
run2.wait(progress=False, timeout=120)
try:
    alice.run("Threshold-Python", "nuc", threshold=7)
    ok(False, "a bad parameter is refused")
except ApiError as e:
    ok(e.status == 400 and "threshold" in e.message, "a bad parameter is 400 naming it", e)
try:
    vic.run("Threshold-Python", "nuc")
    ok(False, "a viewer cannot launch runs")
except ApiError as e:
    ok(e.status == 403, "a viewer cannot launch runs (403)", e)
for lim in ({"timeout": -5}, {"processes": 0}, {"bogus": 1}, {"memory": "lots"}):
    try:
        alice.run("Threshold-Python", "nuc", limits=lim)
        ok(False, "bad limits %r are refused" % lim)
    except ApiError as e:
        ok(e.status == 400, "bad limits %r are refused (400)" % lim, e)
lrun = alice.run("Threshold-Python", "nuc", limits={"timeout": "10m", "processes": 64,
                                                      "open_files": 256, "memory": "1G"})
ok(lrun.record["limits"] == {"time": 600, "processes": 64, "open_files": 256, "memory": 1 << 30},
   "limits are kept on the run as the CLI keeps them", lrun.record["limits"])
lrun.wait(progress=False, timeout=120)
try:
    alice._request("POST", "/runs/%d/cancel" % run.id)
    ok(False, "cancelling a finished run is refused")
except ApiError as e:
    ok(e.status == 409 and "already succeeded" in e.message, "cancelling a finished run is 409", e)
lb = vic.leaderboard("nuc", resamples=200)
ok(len(lb["entries"]) == 3 and lb["metric"] == "mAP", "the leaderboard ranks the three settings",
   lb.get("entries"))
cmp_ = vic.compare(run.id, run2.id)
ok(cmp_["a"]["run"] == run.id and cmp_["n_pairs"] == len(imgs), "compare pairs the runs' images", cmp_)
st, _, log = call("GET", "/runs/%d/log" % run.id, token=TOK["vic"])
ok(st == 200 and b"thresholding" in log, "the run's log is text")
out = os.path.join(E["T"], "out.tif")
run.output(rows[0]["stem"], out)
ok(os.path.getsize(out) > 0, "an output downloads")
st, _, errs = call("GET", "/runs/%d/errors" % run.id, token=TOK["vic"])
ok(st == 200 and isinstance(errs, list) and len(errs) == len(imgs), "error counts per image", errs)
runs = vic.runs(problem="nuc")
ok([r["id"] for r in runs] == [run.id, run2.id, lrun.id], "runs filtered by problem", runs)
ok(vic.runs(status="failed") == [], "runs filtered by status")

# wait(timeout) ends even while the run is silent (a run that sleeps)
slow = alice.run("Threshold-Python", "nuc", sleep=20)
t0 = time.time()
try:
    slow.wait(progress=False, timeout=2)
    ok(False, "wait(timeout) raises TimeoutError")
except TimeoutError:
    ok(time.time() - t0 < 20, "wait(timeout=2) gives up while the run is silent (%.1f s)" % (
        time.time() - t0))
slow.cancel()
slow.wait(progress=False, timeout=120)
ok(slow.status == "cancelled", "... and the run can still be cancelled", slow.status)

# ------------------------------------------------- operations (long work)
prog = []


def follow_progress(client, sink):
    try:
        for ev, data in client.events():
            sink.append((ev, data))
            if ev == "progress" and data.get("detail") in ("succeeded", "failed"):
                return
    except Exception as e:  # noqa: BLE001
        sink.append(("error", str(e)))


pt = threading.Thread(target=follow_progress, args=(alice, prog), daemon=True)
pt.start()
time.sleep(0.3)
op = alice.sweep("Threshold-Python", "nuc", threshold="0.3,0.5", resamples=200)
ok(op.record["state"] in ("queued", "running") and op.record["url"].endswith("/operations/%d" % op.id),
   "a sweep answers 202 with an operation at once", op.record)
res = op.wait(progress=False, timeout=300)
ok(len(res["entries"]) == 2, "the sweep's operation ends with its leaderboard", res)
pt.join(30)
ok(any(e == "progress" and d["operation"] == "sweep %d" % op.id for e, d in prog) and
   prog[-1][1].get("detail") == "succeeded",
   "the sweep reports progress on GET /events, ending with succeeded", prog[-3:])
ok(cli_json("sweep", "Threshold-Python", "nuc", "--param", "threshold=0.3,0.5", "--resamples",
            "200", "--format", "json") == res, "... the JSON that sweep --format json prints")
try:
    bob.get("/operations/%d" % op.id)
    ok(True, "another user may read an operation on a public problem")
except ApiError as e:
    ok(False, "another user may read an operation on a public problem", e)
try:
    alice.sweep("Threshold-Python", "nuc", threshold="0.9:0.1:0.1")
    ok(False, "a bad sweep range is refused at once")
except ApiError as e:
    ok(e.status == 400, "a bad sweep range is refused at once (400)", e)
bop = alice.benchmark("nuc", resamples=200)
bres = bop.wait(progress=False, timeout=300)
ok(bres["problem"] == "nuc" and len(bres["entries"]) >= 2, "a benchmark operation ranks the runs", bres)
ops_ = alice.get("/operations")
ok([o["id"] for o in ops_["items"]] == [op.id, bop.id], "GET /operations lists the caller's", ops_)
alice.create_problem("nuc2", "ObjSeg")
iop = alice.import_dataset("nuc2", DS)
ires = iop.wait(progress=False, timeout=120)
ok(ires["images"] == len(imgs) and ires["gt_versions"] == len(imgs),
   "a dataset imports from a tar.gz as an operation", ires)
ok(len(alice.images("nuc2")) == len(imgs), "... its images are there")
st, _, body = call("POST", "/problems/nuc2/dataset", token=TOK["alice"], raw_body=b"not a tar")
ok(st == 202, "a bad archive is accepted as an operation ...")
bad_op = admin.get("/operations/%d" % body["id"])
for _ in range(100):
    bad_op = alice.get("/operations/%d" % body["id"])
    if bad_op["state"] not in ("queued", "running"):
        break
    time.sleep(0.1)
ok(bad_op["state"] == "failed" and bad_op["error"]["error"]["code"] == "invalid_format",
   "... that fails naming the problem", bad_op)
ok(len(alice.images("nuc2")) == len(imgs), "... and imports nothing")

# ------------------------------------------------------ standalone scoring
pred = os.path.join(E["T"], "pred.tif")
run.output(listed[0]["stem"], pred)
gtf = os.path.join(DS, "groundtruth", listed[0]["stem"] + ".tif")
sc = vic.score("ObjSeg", pred, gtf)
cli_sc = json.loads(subprocess.run([BIAFLOWS, "metrics", "ObjSeg", pred, gtf, "--format", "json"],
                                   capture_output=True).stdout)
ok(sc == cli_sc, "POST /metrics = metrics CLASS PRED GT --format json", (sc, cli_sc))
bad_pred = os.path.join(E["T"], "bad.tif")
with open(bad_pred, "wb") as f:
    f.write(b"not a tiff")
try:
    vic.score("ObjSeg", bad_pred, gtf)
    ok(False, "a corrupt prediction is refused")
except ApiError as e:
    ok(e.status in (400, 422) and "upload-" not in e.message and "bad.tif" in e.message,
       "a corrupt prediction is refused, naming the file, not the server's folder", e)
try:
    vic.score("Nope", pred, gtf)
    ok(False, "an unknown class is refused")
except ApiError as e:
    ok(e.status == 400, "scoring with an unknown class is 400", e)
try:
    vic.score("ObjSeg", pred, os.path.join(E["T"], "dl.tif"), params="gating_dist=x")
    ok(False, "a bad metric parameter is refused")
except ApiError as e:
    ok(e.status == 400, "a bad metric parameter is 400", e)
try:
    vic.score("ObjSeg", None, gtf) if False else vic._request(
        "POST", "/metrics", data=b'--xyzzy\r\nContent-Disposition: form-data; name="class"\r\n\r\n'
        b'ObjSeg\r\n--xyzzy\r\nContent-Disposition: form-data; name="ground_truth"; '
        b'filename="g.tif"\r\n\r\n' + open(gtf, "rb").read() + b'\r\n--xyzzy--\r\n',
        content_type="multipart/form-data; boundary=xyzzy")
    ok(False, "scoring without a prediction is refused")
except ApiError as e:
    ok(e.status == 400 and "missing_as_empty" in e.message, "scoring without a prediction is 400", e)
st, _, body = call("POST", "/metrics", token=TOK["vic"], raw_body=b"x",
                   headers={"Content-Type": "application/json"})
ok(st == 400, "POST /metrics needs a multipart form", body)
evil = ('--xyzzy\r\nContent-Disposition: form-data; name="ground_truth"; filename="../../x.tif"'
        '\r\n\r\ndata\r\n--xyzzy--\r\n').encode()
st, _, body = call("POST", "/metrics", token=TOK["vic"], raw_body=evil,
                   headers={"Content-Type": "multipart/form-data; boundary=xyzzy"})
ok(st == 400 and not any(os.path.exists(os.path.join(d, "x.tif"))
                         for d in (INST, os.path.join(INST, "tmp"), E["T"])),
   "a form file named '../../x.tif' is kept as x.tif in the request's own folder", body)

# ---------------------------------------- the same JSON as the CLI prints
ok(cli_json("problem", "list", "--format", "json") == admin.problems(),
   "GET /problems = problem list --format json")
ok(cli_json("run", "show", str(run.id), "--format", "json") == admin.get("/runs/%d" % run.id),
   "GET /runs/{id} = run show --format json")
ok(cli_json("runs", "--format", "json") == admin.runs(), "GET /runs = runs --format json")
ok(cli_json("image", "list", "nuc", "--format", "json") == admin.images("nuc"),
   "GET /problems/{p}/images = image list --format json")
ok(cli_json("bench", "nuc", "--no-run", "--resamples", "200", "--format", "json") ==
   admin.leaderboard("nuc", resamples=200), "leaderboard = bench --no-run --format json")
ok(cli_json("compare", str(run.id), str(run2.id), "--format", "json") == admin.compare(run.id, run2.id),
   "GET /compare = compare --format json")
ok(cli_json("workflow", "list", "--format", "json") == admin.workflows(),
   "GET /workflows = workflow list --format json")
ok(cli_json("gt", "list", str(listed[0]["id"]), "--format", "json") ==
   admin.get("/images/%d/gt" % listed[0]["id"]), "GET /images/{id}/gt = gt list --format json")

# a write by another process (the CLI) is seen at once (the response cache)
stale = 0
for i in range(20):
    m = "DC" if i % 2 == 0 else "default"
    admin.get("/problems/nuc")
    admin.get("/problems/nuc")  # answered from the cache
    subprocess.run([BIAFLOWS, "--instance", INST, "problem", "set", "nuc", "--main-metric", m],
                   capture_output=True, check=True)
    got = admin.get("/problems/nuc")["main_metric"]
    stale += got != (None if m == "default" else m)
ok(stale == 0, "20 CLI writes between cached reads: every read sees the write", stale)

# ------------------------------------------------------------------ events
evs = list(alice.events(run.id))
states = [d["state"] for e, d in evs if e == "state"]
ok(states == ["running", "ingesting", "succeeded"] and evs[-1][0] == "end",
   "a run's event stream: its states, log lines, then end", evs[:3])
ok(any(e == "log" for e, _ in evs), "... with its log lines")
# resume after the first event: only what follows
c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
c.request("GET", "/api/v1/runs/%d/events" % run.id,
          headers={"Authorization": "Bearer " + TOK["alice"], "Last-Event-ID": "1.0"})
text = c.getresponse().read().decode()
ok('"state":"running"' not in text and '"state":"succeeded"' in text,
   "Last-Event-ID resumes after that event", text[:300])

# instance-wide events: a new run shows up, filtered by visibility
got = []


def follow(client, sink):
    try:
        for ev, data in client.events():
            sink.append((ev, data))
            if ev == "state" and data.get("state") in ("succeeded", "failed"):
                return
    except Exception as e:  # noqa: BLE001
        sink.append(("error", str(e)))


t = threading.Thread(target=follow, args=(vic, got), daemon=True)
t.start()
time.sleep(0.5)
run3 = alice.run("Threshold-Python", "nuc", threshold=0.5)
t.join(60)
ok(any(e == "state" and d["run"] == run3.id for e, d in got), "GET /events shows a new run's states",
   got)

# -------------------------------------------------- private problems
sec = alice.create_problem("secret", "ObjSeg", private=True)
for f in imgs[:2]:
    alice.upload_image("secret", os.path.join(DS, "images", f))
simgs = alice.images("secret")
for im in simgs:
    alice.upload_gt(im["id"], os.path.join(DS, "groundtruth", im["stem"] + ".tif"))
srun = alice.run("Threshold-Python", "secret")
srun.wait(progress=False, timeout=120)
ok([x["name"] for x in alice.problems()] == ["nuc", "nuc2", "secret"],
   "a member sees the private problem")
ok([x["name"] for x in bob.problems()] == ["nuc", "nuc2"], "a non-member's problem list leaks nothing")
ok(bob.get("/problems")["total"] == 2, "... nor its count")
n_nuc = len(admin.runs(problem="nuc"))
ok(all(r["problem"] != "secret" for r in bob.runs()) and bob.get("/runs")["total"] == n_nuc,
   "... nor its runs or their count", (bob.get("/runs")["total"], n_nuc))
ok([x["name"] for x in admin.problems()] == ["nuc", "nuc2", "secret"], "an admin sees everything")
hidden = ["/problems/secret", "/problems/%d" % sec["id"], "/problems/secret/images",
          "/problems/secret/leaderboard", "/images/%d" % simgs[0]["id"],
          "/images/%d/file" % simgs[0]["id"], "/images/%d/gt" % simgs[0]["id"],
          "/runs/%d" % srun.id, "/runs/%d/log" % srun.id, "/runs/%d/events" % srun.id,
          "/runs/%d/errors" % srun.id, "/runs/%d/outputs/%s" % (srun.id, simgs[0]["stem"]),
          "/runs?problem=secret", "/compare?a=%d&b=%d" % (run.id, srun.id)]
for path in hidden:
    st, _, body = call("GET", path, token=TOK["bob"])
    ok(st == 404 and code((st, None, body)) == "not_found", "a non-member gets 404 for GET " + path,
       (st, body))
for path in hidden[:1]:
    st, _, body = call("GET", path, token=TOK["alice"])
    ok(st == 200, "the member reads " + path)
bob_events = []
t = threading.Thread(target=follow, args=(bob, bob_events), daemon=True)
t.start()
time.sleep(0.5)
sop = alice.sweep("Threshold-Python", "secret", threshold="0.2,0.3", resamples=100)
sop.wait(progress=False, timeout=300)
srun2 = alice.run("Threshold-Python", "secret", threshold=0.35)
srun2.wait(progress=False, timeout=120)
nrun = alice.run("Threshold-Python", "nuc", threshold=0.35)
t.join(60)
ok(not any(e == "state" and d["run"] in (srun2.id,) for e, d in bob_events) and
   any(e == "state" and d["run"] == nrun.id for e, d in bob_events),
   "a non-member's event stream shows no run of the private problem", bob_events)
ok(not any(e == "progress" and "secret" in json.dumps(d) or
           e == "progress" and d.get("operation") == "sweep %d" % sop.id for e, d in bob_events),
   "... nor the progress of its operations", [x for x in bob_events if x[0] == "progress"])
nrun.wait(progress=False, timeout=120)
admin._request("PUT", "/problems/secret/members/bob")
ok("secret" in [x["name"] for x in bob.problems()], "a member added by the owner sees it")
admin._request("DELETE", "/problems/secret/members/bob")
ok("secret" not in [x["name"] for x in bob.problems()], "... and not after removal")
alice._request("PATCH", "/problems/secret", body={"private": False})
ok("secret" in [x["name"] for x in bob.problems()], "a problem made public is seen by all")
alice._request("PATCH", "/problems/secret", body={"private": True})
# what each caller may write to (the web app offers only those problems)
W = {u: call("GET", "/session", token=TOK[u])[2].get("writable") for u in ("admin", "alice", "bob", "vic")}
ok(sorted(W["admin"]) == ["nuc", "nuc2", "secret"] and "secret" in W["alice"] and
   "secret" not in W["bob"] and W["vic"] == [] and call("GET", "/session")[2].get("writable") == [],
   "the session names the problems the caller may write to (admin: all; members; none for viewers)", W)
admin._request("PUT", "/problems/secret/members/bob")
ok("secret" in call("GET", "/session", token=TOK["bob"])[2]["writable"],
   "... a contributor made a member may write to it", W)
admin._request("DELETE", "/problems/secret/members/bob")

# -------------------------------------- every write route refuses anonymous and viewer
spec = admin.get("/openapi.json")
ok(spec["openapi"].startswith("3.1"), "openapi.json is OpenAPI 3.1")
ids = {"problem": "nuc", "image": str(listed[0]["id"]), "run": str(run.id),
       "stem": listed[0]["stem"], "workflow": "Threshold-Python", "user": "zed", "token": "999999",
       "source": "999999"}
routes = [(m.upper(), path) for path, item in spec["paths"].items() for m in item]
ok(len(routes) >= 35, "the document lists every route (%d)" % len(routes))


def fill(path):
    for k, v in ids.items():
        path = path.replace("{%s}" % k, v)
    return path[len("/api/v1"):]


undocumented = []
for method, path in routes:
    st, _, body = call(method, fill(path), token=TOK["admin"],
                       headers={"Content-Type": "application/json"}, raw_body=b"{}"
                       if method in ("POST", "PATCH", "PUT") else None) \
        if not path.endswith("/events") else (200, None, None)
    if st == 405 or (st == 404 and isinstance(body, dict) and
                     body.get("error", {}).get("message", "").startswith("no route")):
        undocumented.append((method, path, st))
ok(not undocumented, "every documented route answers", undocumented)
writes = [(m, p) for m, p in routes if m in ("POST", "PUT", "PATCH", "DELETE")
          and p != "/api/v1/session"]
bad = []
for method, path in writes:
    need = spec["paths"][path][method.lower()]["x-role"]
    st, _, _ = call(method, fill(path), raw_body=b"{}")
    if st != 401:
        bad.append(("anonymous", method, path, st))
    st, _, _ = call(method, fill(path), token=TOK["vic"], raw_body=b"{}")
    if need != "viewer" and st != 403:
        bad.append(("viewer", method, path, st))
ok(not bad, "every write route refuses an anonymous caller (401) and a viewer (403)", bad)
ok(len(admin.problems()) == 3 and len(admin.images("nuc")) == len(imgs),
   "... and nothing changed", admin.problems())

# ----------------------------------------------------- sessions and CSRF
st, _, body = call("POST", "/session", body={"name": "bob", "password": "wrong-password"})
ok(st == 401 and body["error"]["code"] == "unauthenticated", "a wrong password is 401")
st, _, body = call("POST", "/session", body={"name": "nobody", "password": "wrong-password"})
ok(st == 401 and body["error"]["message"] == "wrong user name or password",
   "an unknown user gets the same answer")
for _ in range(5):
    call("POST", "/session", body={"name": "bob", "password": "wrong-password"})
st, hd, body = call("POST", "/session", body={"name": "bob", "password": "bob-password-1"})
ok(st == 429 and body["error"]["code"] == "rate_limited" and int(hd.get("retry-after", "0")) > 0,
   "failed logins are rate-limited (429 with Retry-After)", (st, body))
st, hd, body = call("POST", "/session", body={"name": "alice", "password": "alice-password-1"})
cookie = hd.get("set-cookie", "")
ok(st == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie and body["csrf"],
   "a login sets an HttpOnly, SameSite=Strict session cookie and returns a CSRF token", (st, cookie))
sess = cookie.split(";")[0]
st, _, who = call("GET", "/session", headers={"Cookie": sess})
ok(who.get("user") == "alice" and who.get("session") is True, "the cookie authenticates", who)
st, _, body = call("POST", "/problems", headers={"Cookie": sess}, body={"name": "c1", "class": "ObjSeg"})
ok(st == 403, "a change with the cookie but no CSRF token is refused (403)", body)
st, _, body = call("POST", "/problems", headers={"Cookie": sess, "X-CSRF-Token": "bad"},
                   body={"name": "c1", "class": "ObjSeg"})
ok(st == 403, "... and with a wrong CSRF token", body)
st, hd2, body2 = call("POST", "/session", body={"name": "alice", "password": "alice-password-1"})
csrf, sess2 = body2["csrf"], hd2["set-cookie"].split(";")[0]
st, _, body = call("POST", "/problems", headers={"Cookie": sess2, "X-CSRF-Token": csrf},
                   body={"name": "c1", "class": "ObjSeg"})
ok(st == 201, "... accepted with the session's CSRF token", body)
st, _, body = call("POST", "/session", headers={"Cookie": sess2},
                   body={"name": "alice", "password": "alice-password-1"})
ok(st == 200, "logging in again with a session cookie needs no CSRF token", body)
st, _, body = call("DELETE", "/session", headers={"Cookie": sess2, "X-CSRF-Token": csrf})
st, _, who = call("GET", "/session", headers={"Cookie": sess2})
ok(who.get("user") is None, "after logout the cookie is worthless", who)

# ------------------------------------------------------------- tokens
t1 = vic._request("POST", "/tokens", body={"name": "notebook"})
ok(t1["token"].startswith("bfa_") and t1["user"] == "vic", "a user creates its own API token", t1)
vt = Client("http://127.0.0.1:%d" % PORT, t1["token"])
ok(vt.problems() is not None, "the new token works")
vic._request("DELETE", "/tokens/%d" % t1["id"])
try:
    vt.problems()
    ok(False, "a revoked token is refused")
except ApiError as e:
    ok(e.status == 401, "a revoked token is refused (401)", e)
try:
    vic._request("POST", "/tokens", body={"user": "alice"})
    ok(False, "a user cannot create tokens for another")
except ApiError as e:
    ok(e.status == 403, "a user cannot create tokens for another (403)", e)

# ------------------------------------------------------------- bad input
st, _, body = call("POST", "/problems", token=TOK["alice"], raw_body=b"{not json",
                   headers={"Content-Type": "application/json"})
ok(st == 400 and body["error"]["code"] in ("invalid_argument", "invalid_format"), "bad JSON is 400", body)
deep = b"[" * 100000 + b"]" * 100000
st, _, body = call("POST", "/problems", token=TOK["alice"], raw_body=deep)
ok(st in (400, 413), "over-deep JSON is refused", (st, body))
st, _, body = call("POST", "/problems", token=TOK["alice"], raw_body=b'{"name": "\xff\xfe", "class": "ObjSeg"}')
ok(st == 400, "invalid UTF-8 in JSON is 400", body)
# a body over the limit is refused before it is read
s = socket.create_connection(("127.0.0.1", PORT))
s.sendall(("POST /api/v1/problems HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{" %
           (TOK["alice"], 2 << 20)).encode())
s.settimeout(10)
head = s.recv(4096).decode("latin-1")
s.close()
ok(head.startswith("HTTP/1.1 413") and "limit_exceeded" in head,
   "a body over the limit is 413 at once (Content-Length)", head[:300])
# ... and so is one sent in chunks without a length: read, counted, refused
def chunks():
    for _ in range(40):
        yield b" " * 65536
c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
c.request("POST", "/api/v1/problems", body=chunks(), encode_chunked=True,
          headers={"Authorization": "Bearer " + TOK["alice"], "Transfer-Encoding": "chunked"})
r = c.getresponse()
body = json.loads(r.read())
ok(r.status == 413 and body["error"]["code"] == "limit_exceeded",
   "a chunked body over the limit is 413", (r.status, body))
c.close()
st, _, body = call("GET", "/problems/nuc%00x", token=TOK["alice"])
ok(st in (400, 404), "a NUL in the path is refused", (st, body))

# a slow client sending a byte a second does not block others
s = socket.create_connection(("127.0.0.1", PORT))
s.sendall(b"GET /api/v1/problems HTTP/1.1\r\n")
t0 = time.time()
for _ in range(3):
    s.sendall(b"X")
    st, _, _ = call("GET", "/problems", token=TOK["vic"])
    time.sleep(0.3)
ok(st == 200 and time.time() - t0 < 5, "a slow client does not block others")
s.close()

print("# api_test.py: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
