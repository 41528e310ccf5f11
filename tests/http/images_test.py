"""Images served for viewers (docs/images.md), checked with independent readers.

Run by tests/cli/t_images.sh with Debian's python3 (numpy, tifffile,
python3-zarr, numcodecs). Makes images of every kind with tifffile, imports
them with the CLI, starts `biaflows serve`, then reads every image back over
HTTP with zarr (a store that GETs each key) and compares every level-0 pixel
with the original; checks the NGFF v0.4 metadata, the labels, the signed
links, the permissions, and the IIIF Image API (pixels decoded from PNG).
Prints "ok - ..." / "not ok - ..." lines, as the shell tests do.
"""

import atexit
import collections.abc
import http.client
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib

import numpy as np
import tifffile
import zarr

E = os.environ
B = E["BIAFLOWS"]
T = E["T"]
I = os.path.join(T, "inst")
passed = failed = 0
PORT = None


def ok(cond, desc, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + desc)
    else:
        failed += 1
        print("not ok - " + desc)
        for line in str(detail)[:1500].splitlines():
            print("#   " + line)
    sys.stdout.flush()


def bia(*args, stdin=None):
    p = subprocess.run([B, "--instance", I, *args], input=stdin, capture_output=True,
                       text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def get(path, token="viewer", headers=None, method="GET"):
    """(status, headers, body); token: a viewer's by default, None: anonymous"""
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    h = dict(headers or {})
    if token == "viewer":
        token = TOK_ANN
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, headers=h)
    r = c.getresponse()
    body = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, body


class HttpStore(collections.abc.MutableMapping):
    """A read-only zarr v2 store over HTTP: a key is a GET, 404 is absent."""

    def __init__(self, base, token="viewer"):
        self.base = base.rstrip("/")
        self.token = token
        self.gets = 0

    def __getitem__(self, key):
        self.gets += 1
        st, _, body = get(self.base + "/" + key, self.token)
        if st == 404:
            raise KeyError(key)
        if st != 200:
            raise IOError("GET %s/%s: %d %s" % (self.base, key, st, body[:200]))
        return body

    def __contains__(self, key):
        try:
            self[key]
            return True
        except KeyError:
            return False

    def __setitem__(self, k, v):
        raise IOError("read only")

    def __delitem__(self, k):
        raise IOError("read only")

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


def png_decode(data):
    """8-bit grey or RGB PNG -> array (h, w) or (h, w, 3); the stdlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and ctype in (0, 2)
            nc = 1 if ctype == 0 else 3
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * nc
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - nc] if x >= nc else 0
            b = prev[x]
            c = prev[x - nc] if x >= nc else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 255
        out[y] = cur
        prev = cur
    return out.reshape(h, w) if nc == 1 else out.reshape(h, w, 3)


SERVERS = []


def _stop_all():
    for p in SERVERS:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_stop_all)  # a test that dies does not leave a server behind


def start_server(*extra):
    global PORT
    pf = os.path.join(T, "port")
    if os.path.exists(pf):
        os.unlink(pf)
    log = open(os.path.join(T, "serve.log"), "ab")
    p = subprocess.Popen([B, "--instance", I, "serve", "--listen", "127.0.0.1:0",
                          "--port-file", pf, *extra], stdout=log, stderr=log)
    SERVERS.append(p)
    for _ in range(200):
        if os.path.exists(pf) and open(pf).read().strip():
            break
        time.sleep(0.05)
    PORT = int(open(pf).read())
    return p


def stop_server(p):
    p.terminate()
    try:
        rc = p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        ok(False, "the server stops within 60 s of SIGTERM")
        return
    log = open(os.path.join(T, "serve.log"), errors="replace").read()
    bad = [l for l in log.splitlines() if "Sanitizer" in l or "runtime error" in l]
    ok(rc == 0 and not bad, "the server stopped cleanly (exit 0, no sanitizer report)",
       (rc, "\n".join(bad[:5])))


# ---------------------------------------------------------------- fixtures
rng = np.random.default_rng(15)
os.makedirs(os.path.join(T, "img"), exist_ok=True)


def path(name):
    return os.path.join(T, "img", name)


def blobs(h, w, n, seed):
    r = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint16)
    for i in range(1, n + 1):
        y, x = r.integers(0, h - 12), r.integers(0, w - 12)
        m[y:y + r.integers(4, 12), x:x + r.integers(4, 12)] = i
    return m


ORIG = {}
ORIG["u8"] = rng.integers(0, 256, (300, 517), dtype=np.uint8)
tifffile.imwrite(path("u8.tif"), ORIG["u8"])
ORIG["u16"] = rng.integers(0, 65536, (600, 700), dtype=np.uint16)
tifffile.imwrite(path("u16.ome.tif"), ORIG["u16"], ome=True,
                 metadata={"axes": "YX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.25})
ORIG["f32"] = rng.normal(10, 3, (260, 270)).astype(np.float32)
tifffile.imwrite(path("f32.tif"), ORIG["f32"])
ORIG["rgb"] = rng.integers(0, 256, (280, 300, 3), dtype=np.uint8)
tifffile.imwrite(path("rgb.tif"), ORIG["rgb"], photometric="rgb")
ORIG["zstack"] = rng.integers(0, 4096, (5, 200, 300), dtype=np.uint16)
tifffile.imwrite(path("zstack.tif"), ORIG["zstack"])
ORIG["tseries"] = rng.integers(0, 256, (4, 150, 170), dtype=np.uint8)
tifffile.imwrite(path("tseries.ome.tif"), ORIG["tseries"], ome=True, metadata={"axes": "TYX"})
ORIG["multich"] = rng.integers(0, 65536, (2, 3, 120, 130), dtype=np.uint16)
tifffile.imwrite(path("multich.ome.tif"), ORIG["multich"], ome=True, metadata={"axes": "CZYX"})
# the expected (t, c, z, y, x) view of each
TCZYX = {
    "u8": ORIG["u8"][None, None, None],
    "u16": ORIG["u16"][None, None, None],
    "f32": ORIG["f32"][None, None, None],
    "rgb": np.moveaxis(ORIG["rgb"], 2, 0)[None, :, None],
    "zstack": ORIG["zstack"][None, None],
    "tseries": ORIG["tseries"][:, None, None],
    "multich": ORIG["multich"][None],
}
GT = blobs(300, 517, 60, 3)
tifffile.imwrite(path("u8_gt.tif"), GT)

subprocess.run([B, "init", I], capture_output=True, check=True)
bia("problem", "add", "pub", "--class", "ObjSeg")
bia("problem", "add", "priv", "--class", "ObjSeg")
rc, out, err = bia("image", "add", "pub", *[path(n) for n in (
    "u8.tif", "u16.ome.tif", "f32.tif", "rgb.tif", "zstack.tif", "tseries.ome.tif",
    "multich.ome.tif")], "--format", "json")
ok(rc == 0, "image add of u8, u16, f32, RGB, Z, T and multichannel OME-TIFF", err)
IDS = {}
for rec in json.loads(out)["added"] if rc == 0 else []:
    IDS[rec["stem"]] = rec["id"]
ok(len(IDS) == 7, "... seven images", out)
rc, out, err = bia("gt", "add", "pub/u8", path("u8_gt.tif"))
ok(rc == 0, "gt add of a label mask", err)
rc, _, err = bia("image", "add", "priv", path("u8.tif"))
ok(rc == 0, "the same file in a second problem", err)
rc, out, _ = bia("image", "list", "priv", "--format", "json")
PRIV_ID = json.loads(out)[0]["id"]
rc, out, _ = bia("image", "layers", "pub/u8", "--format", "json")
layers = json.loads(out) if rc == 0 else []
ok([l["name"] for l in layers] == ["image", "gt-1", "gt"] and all(l["ready"] for l in layers),
   "image layers: the image, its GT version and 'gt', pyramids built at import", out)
bia("user", "add", "ann", "--role", "viewer", stdin="ann-password-1\n")
bia("user", "add", "adm", "--role", "admin", stdin="adm-password-1\n")
_, TOK_ANN, _ = bia("token", "create", "ann")
_, TOK_ADM, _ = bia("token", "create", "adm")
TOK_ANN, TOK_ADM = TOK_ANN.strip(), TOK_ADM.strip()

# ---------------------------------------------------------------- the pyramids on disk
rc, out, err = bia("image", "pyramid", "--format", "json")
st = json.loads(out) if rc == 0 else {}
ok(rc == 0 and st.get("built") == 0 and st.get("present") == 8,
   "image pyramid: nothing to build (7 images and the GT; the private copy shares a digest)",
   out + err)

# overlays: problems with hand-placed objects and workflows that write fixed
# predictions, so the error categories are known
INPUTS = [{"id": k, "value-key": "@ID", "command-line-flag": "--@id", "name": k,
           "set-by-server": True, "optional": False, "type": "String"}
          for k in ("cytomine_host", "cytomine_public_key", "cytomine_private_key",
                    "cytomine_id_project", "cytomine_id_software")]


def fixed_dataset(problem, cls, stem, img, gt):
    """A problem of one image and its GT mask; (rc, stderr) of the import."""
    for sub, a in (("images", img), ("groundtruth", gt)):
        os.makedirs(path("%s/%s" % (problem, sub)), exist_ok=True)
        tifffile.imwrite(path("%s/%s/%s.tif" % (problem, sub, stem)), a)
    bia("problem", "add", problem, "--class", cls)
    rc, _, err = bia("dataset", "import", problem, path(problem))
    return rc, err


def fixed_workflow(name, cls, points):
    """A host workflow writing, for every input, a uint8 mask with
    value v at each (y, x, v) of points; (rc, stderr) of workflow add."""
    wf = path("wf-" + name)
    os.makedirs(wf, exist_ok=True)
    open(os.path.join(wf, "fixed.py"), "w").write("""
import argparse, os, numpy, tifffile
p = argparse.ArgumentParser()
p.add_argument("--infolder"); p.add_argument("--outfolder"); p.add_argument("--gtfolder")
a, _ = p.parse_known_args()
for name in os.listdir(a.infolder):
    img = tifffile.imread(os.path.join(a.infolder, name))
    m = numpy.zeros(img.shape, numpy.uint8)
    for y, x, v in %r:
        m[y, x] = v
    tifffile.imwrite(os.path.join(a.outfolder, name), m)
""" % (points,))
    json.dump({"name": name, "description": "test", "schema-version": "cytomine-0.1",
               "container-image": {"image": "t/" + name.lower(), "type": "singularity"},
               "problem-class": cls, "environment": {"type": "host"},
               "command-line": "python3 /app/fixed.py CYTOMINE_HOST CYTOMINE_PUBLIC_KEY "
                               "CYTOMINE_PRIVATE_KEY CYTOMINE_ID_PROJECT CYTOMINE_ID_SOFTWARE",
               "inputs": INPUTS}, open(os.path.join(wf, "descriptor.json"), "w"))
    rc, _, err = bia("workflow", "add", wf, "--version", "1")
    return rc, err


# SptCnt: three GT points; the workflow finds two (one off by a pixel) and
# one that is not there
spot_img = np.zeros((80, 100), np.uint8)
spot_img[10, 10] = spot_img[50, 50] = spot_img[20, 90] = 200
rc, err = fixed_dataset("spots", "SptCnt", "s1", spot_img, (spot_img > 0).astype(np.uint8))
ok(rc == 0, "a SptCnt dataset with three GT points", err)
rc, err = fixed_workflow("Spots-Fixed", "SptCnt", [(10, 11, 1), (21, 90, 1), (70, 70, 1)])
ok(rc == 0, "a point-detection workflow", err)
rc, out, err = bia("run", "Spots-Fixed", "spots", "--wait")
SPOT_RUN = int(out.split()[0]) if rc == 0 and out.strip() else 0
ok(rc == 0 and SPOT_RUN > 0, "its run succeeds", out + err)
rc, out, _ = bia("image", "list", "spots", "--format", "json")
SPOT_ID = json.loads(out)[0]["id"]
rc, out, _ = bia("image", "layers", str(SPOT_ID), "--format", "json")
ok(rc == 0 and "run-%d" % SPOT_RUN in [l["name"] for l in json.loads(out)] and
   all(l["ready"] for l in json.loads(out)),
   "the run's output is a layer with its pyramid (built at ingest)", out)
# landmarks: the error map numbers them by class, the overlay by raster order
lm_gt = np.zeros((40, 60), np.uint8)
lm_gt[10, 10], lm_gt[20, 30] = 1, 2
lm_img = np.where(lm_gt > 0, 200, 0).astype(np.uint8)
rc, err = fixed_dataset("marks", "LndDet", "l1", lm_img, lm_gt)
ok(rc == 0, "a LndDet dataset with two landmarks", err)
fixed_workflow("Marks-Fixed", "LndDet", [(10, 11, 1), (21, 30, 2), (30, 50, 3)])
rc, out, err = bia("run", "Marks-Fixed", "marks", "--wait")
MARK_RUN = int(out.split()[0]) if rc == 0 and out.strip() else 0
ok(rc == 0 and MARK_RUN > 0, "a landmark workflow's run succeeds", out + err)
MARK_ID = json.loads(bia("image", "list", "marks", "--format", "json")[1])[0]["id"]

# a trace: a GT path of five nodes on plane 4, along y=10 then turning
# down x=30; the workflow traces its first three nodes and a branch that is
# not there, so the GT edges 2-1 and 3-2 are matched, 4-3 and 5-4 missed,
# and the result's edges 2-1, 3-2 matched and 5-4 (y=60) spurious
os.makedirs(path("trace/images"), exist_ok=True)
os.makedirs(path("trace/groundtruth"), exist_ok=True)
tifffile.imwrite(path("trace/images/t1.tif"), np.zeros((8, 64, 64), np.uint8))
SWC_GT = ("1 3 10 10 4 1 -1\n2 3 20 10 4 1 1\n3 3 30 10 4 1 2\n"
          "4 3 30 40 4 1 3\n5 3 30 55 4 1 4\n")
open(path("trace/groundtruth/t1.swc"), "w").write(SWC_GT)
bia("problem", "add", "trace", "--class", "TreTrc")
rc, _, err = bia("dataset", "import", "trace", path("trace"))
ok(rc == 0, "a TreTrc dataset: a hand-made SWC line", err)
wf = path("wf-Trace-Fixed")
os.makedirs(wf, exist_ok=True)
open(os.path.join(wf, "fixed.py"), "w").write("""
import argparse, os
p = argparse.ArgumentParser()
p.add_argument("--infolder"); p.add_argument("--outfolder")
a, _ = p.parse_known_args()
for name in os.listdir(a.infolder):
    open(os.path.join(a.outfolder, name.rsplit(".", 1)[0] + ".swc"), "w").write(
        "1 3 10 10 4 1 -1\\n2 3 20 10 4 1 1\\n3 3 30 10 4 1 2\\n"
        "4 3 40 60 4 1 -1\\n5 3 60 60 4 1 4\\n")
""")
json.dump({"name": "Trace-Fixed", "description": "test", "schema-version": "cytomine-0.1",
           "container-image": {"image": "t/trace-fixed", "type": "singularity"},
           "problem-class": "TreTrc", "environment": {"type": "host"},
           "command-line": "python3 /app/fixed.py CYTOMINE_HOST CYTOMINE_PUBLIC_KEY "
                           "CYTOMINE_PRIVATE_KEY CYTOMINE_ID_PROJECT CYTOMINE_ID_SOFTWARE",
           "inputs": INPUTS}, open(os.path.join(wf, "descriptor.json"), "w"))
bia("workflow", "add", wf, "--version", "1")
rc, out, err = bia("run", "Trace-Fixed", "trace", "--wait")
TRACE_RUN = int(out.split()[0]) if rc == 0 and out.strip() else 0
ok(rc == 0 and TRACE_RUN > 0, "a tracing workflow's run succeeds", out + err)
TRACE_ID = json.loads(bia("image", "list", "trace", "--format", "json")[1])[0]["id"]

# cell tracks and a trace, generated
subprocess.run([B, "gen", "ObjTrk", path("ot"), "--n", "1", "--size", "64x48", "--frames", "4"],
               capture_output=True)
subprocess.run([B, "gen", "TreTrc", path("tt"), "--n", "1", "--size", "64x64x8"],
               capture_output=True)
bia("problem", "add", "cells", "--class", "ObjTrk")
bia("problem", "add", "neurons", "--class", "TreTrc")
rc1, _, e1 = bia("dataset", "import", "cells", path("ot"))
rc2, _, e2 = bia("dataset", "import", "neurons", path("tt"))
ok(rc1 == 0 and rc2 == 0, "ObjTrk and TreTrc datasets", e1 + e2)
CELL_ID = json.loads(bia("image", "list", "cells", "--format", "json")[1])[0]["id"]
TREE_ID = json.loads(bia("image", "list", "neurons", "--format", "json")[1])[0]["id"]

srv = start_server()
# make 'priv' private (the API: PATCH)
c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
c.request("PATCH", "/api/v1/problems/priv", body=json.dumps({"private": True}),
          headers={"Authorization": "Bearer " + TOK_ADM, "Content-Type": "application/json"})
r = c.getresponse()
r.read()
ok(r.status == 200, "the problem 'priv' is made private", r.status)


# ---------------------------------------------------------------- every pixel over HTTP
def ngff_check(name, g, want_levels_shape0):
    ms = g.attrs["multiscales"]
    m = ms[0]
    ok(m["version"] == "0.4" and [a["name"] for a in m["axes"]] == ["t", "c", "z", "y", "x"]
       and [a["type"] for a in m["axes"]] == ["time", "channel", "space", "space", "space"],
       name + ": multiscales v0.4, axes t c z y x with their types", m["axes"])
    ds = m["datasets"]
    shapes = [g[d["path"]].shape for d in ds]
    good = shapes[0] == want_levels_shape0
    for k in range(1, len(shapes)):
        good &= shapes[k][:3] == shapes[0][:3]
        good &= shapes[k][3] == -(-shapes[k - 1][3] // 2) and shapes[k][4] == -(-shapes[k - 1][4] // 2)
    good &= shapes[-1][3] <= 256 and shapes[-1][4] <= 256
    good &= len(shapes) == 1 or shapes[-2][3] > 256 or shapes[-2][4] > 256
    ok(good, name + ": levels halve X and Y down to one chunk", shapes)
    sc = [d["coordinateTransformations"][0] for d in ds]
    base = sc[0]["scale"]
    ok(all(t["type"] == "scale" and len(t["scale"]) == 5 for t in sc) and
       all(t["scale"][:3] == base[:3] and abs(t["scale"][3] - base[3] * 2 ** k) < 1e-9 and
           abs(t["scale"][4] - base[4] * 2 ** k) < 1e-9 for k, t in enumerate(sc)),
       name + ": per-level scale transforms (x2 in X and Y per level)", sc)
    za = g["0"]
    ok(za.chunks == (1, 1, 1, 256, 256) and za.compressor.codec_id == "zstd" and
       g.store[ds[0]["path"] + "/.zarray"] and
       json.loads(g.store[ds[0]["path"] + "/.zarray"])["dimension_separator"] == "/",
       name + ": 256 x 256 chunks per plane, zstd, '/' keys", (za.chunks, za.compressor))
    return shapes


for name, want in TCZYX.items():
    iid = IDS.get(name)
    store = HttpStore("/zarr/images/%s.zarr" % iid)
    try:
        g = zarr.open_group(store, mode="r")
        shapes = ngff_check(name, g, want.shape)
        lvl0 = g["0"][:]
        ok(lvl0.dtype == want.dtype and np.array_equal(lvl0, want),
           name + ": every level-0 pixel read over HTTP equals the original",
           (lvl0.dtype, want.dtype, lvl0.shape, want.shape))
        if len(shapes) > 1:
            l1 = g["1"][:].astype(np.float64)
            a = want.astype(np.float64)
            h, w = a.shape[3] // 2 * 2, a.shape[4] // 2 * 2
            mean = (a[..., 0:h:2, 0:w:2] + a[..., 1:h:2, 0:w:2] + a[..., 0:h:2, 1:w:2] +
                    a[..., 1:h:2, 1:w:2]) / 4
            if want.dtype == np.float32:
                good = np.allclose(l1[..., :h // 2, :w // 2], mean, rtol=1e-5)
            else:
                good = np.array_equal(l1[..., :h // 2, :w // 2], np.floor(mean + 0.5))
            ok(good, name + ": level 1 is the (rounded) mean of 2 x 2")
        om = g.attrs["omero"]
        ok(len(om["channels"]) == want.shape[1] and
           all(c["window"]["start"] < c["window"]["end"] for c in om["channels"]),
           name + ": omero channels with a default window", om)
    except Exception as e:  # noqa: BLE001
        ok(False, name + ": read over HTTP with zarr", repr(e))

# physical sizes
g = zarr.open_group(HttpStore("/zarr/images/%d.zarr" % IDS["u16"]), mode="r")
m = g.attrs["multiscales"][0]
ok(m["datasets"][0]["coordinateTransformations"][0]["scale"][3:] == [0.25, 0.5] and
   m["axes"][4].get("unit") == "micrometer",
   "u16: physical pixel size (0.25 x 0.5 µm) in the scale and the unit on the axes", m)
ok(abs(g.attrs["omero"]["channels"][0]["window"]["end"] - 65535) < 1000,
   "u16: the window's end is near the 99.9th percentile of uniform data",
   g.attrs["omero"]["channels"][0])
g = zarr.open_group(HttpStore("/zarr/images/%d.zarr" % IDS["rgb"]), mode="r")
ok([c["color"] for c in g.attrs["omero"]["channels"]] == ["FF0000", "00FF00", "0000FF"],
   "rgb: red, green and blue channels", g.attrs["omero"])

# labels
st, _, body = get("/zarr/images/%d.zarr/labels/.zattrs" % IDS["u8"])
ok(st == 200 and json.loads(body) == {"labels": ["gt", "gt-1"]}, "labels/.zattrs lists gt and gt-1",
   body)
try:
    lg = zarr.open_group(HttpStore("/zarr/images/%d.zarr/labels/gt" % IDS["u8"]), mode="r")
    il = lg.attrs["image-label"]
    ok(il["version"] == "0.4" and il["source"]["image"] == "../../" and
       sorted(c["label-value"] for c in il["colors"]) == sorted(set(np.unique(GT)) - {0}) and
       all(len(c["rgba"]) == 4 for c in il["colors"]),
       "labels/gt: image-label v0.4, source ../../, a colour per object id", il)
    l0 = lg["0"][:]
    ok(np.array_equal(l0[0, 0, 0], GT), "labels/gt: every level-0 label equals the mask")
    l1 = lg["1"][:][0, 0, 0]
    h, w = GT.shape[0] // 2 * 2, GT.shape[1] // 2 * 2
    q = np.stack([GT[0:h:2, 0:w:2], GT[0:h:2, 1:w:2], GT[1:h:2, 0:w:2], GT[1:h:2, 1:w:2]])
    counts = (q == l1[None, :h // 2, :w // 2]).sum(0)
    best = np.max([(q == q[i][None]).sum(0) for i in range(4)], axis=0)
    ok(np.all(counts >= 1) and np.all(counts == best),
       "labels/gt: level 1 takes the mode of 2 x 2 (never a blended id)")
    ok(lg.attrs["multiscales"][0]["type"] == "mode", "labels/gt: multiscales type 'mode'")
except Exception as e:  # noqa: BLE001
    ok(False, "labels read over HTTP with zarr", repr(e))

# ---------------------------------------------------------------- HTTP details
key = "/zarr/images/%d.zarr/0/0/0/0/0/0" % IDS["u8"]
st, h, body = get(key)
ok(st == 200 and h.get("cache-control") == "public, max-age=31536000, immutable" and
   h.get("etag") and h.get("access-control-allow-origin") == "*" and
   h.get("accept-ranges") == "bytes",
   "a chunk: ETag, Cache-Control immutable, CORS, Accept-Ranges", h)
st2, h2, _ = get(key, headers={"If-None-Match": h.get("etag", "x")})
ok(st2 == 304, "If-None-Match with its ETag: 304", st2)
st3, h3, part = get(key, headers={"Range": "bytes=10-19"})
ok(st3 == 206 and part == body[10:20] and h3.get("content-range") == "bytes 10-19/%d" % len(body),
   "Range bytes=10-19: 206 with those bytes and Content-Range", (st3, h3))
st4, h4, part = get(key, headers={"Range": "bytes=-5"})
ok(st4 == 206 and part == body[-5:], "Range bytes=-5: the last 5 bytes", st4)
st5, h5, _ = get(key, headers={"Range": "bytes=%d-" % (len(body) + 10)})
ok(st5 == 416 and h5.get("content-range") == "bytes */%d" % len(body),
   "a range past the end: 416 with Content-Range */size", (st5, h5))
st, h, body = get(key, method="OPTIONS", headers={"Origin": "http://viewer.example",
                                                   "Access-Control-Request-Method": "GET"})
ok(st == 204 and "GET" in h.get("access-control-allow-methods", "") and
   "Range" in h.get("access-control-allow-headers", ""), "CORS preflight (OPTIONS): 204", h)
st, h, body = get(key, method="POST")
ok(st == 405 and "GET" in h.get("allow", ""), "POST on a chunk: 405 with Allow", (st, h))
st, _, body = get("/zarr/images/%d.zarr/7/0/0/0/0/0" % IDS["u8"])
ok(st == 404, "a key that does not exist: 404 (zarr reads it as fill value)", st)
st, _, body = get("/zarr/images/%d.zarr/../../config" % IDS["u8"])
ok(st == 400, "a key with '..': refused", st)
st, _, body = get("/zarr/images/999999.zarr/.zattrs")
ok(st == 404, "an unknown image: 404", st)

# permissions: anonymous (no guest mode) 401; a non-member viewer 404; admin ok
pk = "/zarr/images/%d.zarr/.zattrs" % PRIV_ID
st_anon, _, _ = get(pk, None)
st_ann, _, _ = get(pk, TOK_ANN)
st_adm, h_adm, _ = get(pk, TOK_ADM)
ok(st_anon == 401 and st_ann == 404 and st_adm == 200,
   "a private problem's image: anonymous 401, a non-member 404, an admin 200",
   (st_anon, st_ann, st_adm))
ok(h_adm.get("cache-control", "").startswith("private"), "... cached privately", h_adm)
st, _, _ = get("/zarr/images/%d.zarr/.zattrs" % IDS["u8"], None)
ok(st == 401, "without guest mode, even a public image needs a credential", st)
st, _, _ = get("/zarr/images/%d.zarr/.zattrs" % IDS["u8"], TOK_ANN)
ok(st == 200, "a viewer reads a public problem's image", st)

# signed links
c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
c.request("POST", "/api/v1/images/%d/links" % PRIV_ID, body=json.dumps({"expires_in": 600}),
          headers={"Authorization": "Bearer " + TOK_ADM, "Content-Type": "application/json"})
r = c.getresponse()
link = json.loads(r.read())
ok(r.status == 201 and link["path"].startswith("/zarr/s/"), "POST /images/{id}/links: 201", link)
try:
    g = zarr.open_group(HttpStore(link["path"], None), mode="r")
    ok(np.array_equal(g["0"][:][0, 0, 0], ORIG["u8"]),
       "a signed link opens the private image with no credential (napari, vizarr)")
except Exception as e:  # noqa: BLE001
    ok(False, "a signed link opens the private image", repr(e))
bad = link["path"].replace("/zarr/s/", "/zarr/s/1")  # another expiry: the signature fails
st, _, body = get(bad + "/.zattrs", None)
ok(st == 401 and b"signature" in body, "a tampered link: 401 naming the signature", body)
rc, out, _ = bia("image", "link", str(PRIV_ID), "--expires", "1")
time.sleep(2.1)
st, _, body = get(out.strip() + "/.zattrs", None)
ok(rc == 0 and st == 401 and b"expired" in body, "an expired link (image link --expires 1): 401",
   (rc, st, body))
c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
c.request("POST", "/api/v1/images/%d/links" % PRIV_ID, body="{}",
          headers={"Authorization": "Bearer " + TOK_ANN, "Content-Type": "application/json"})
r = c.getresponse()
r.read()
ok(r.status == 404, "a non-member cannot make a link to a private image", r.status)

# ---------------------------------------------------------------- IIIF
base = "/iiif/3/%d" % IDS["u8"]
st, h, body = get(base + "/info.json", TOK_ANN)
info = json.loads(body) if st == 200 else {}
ok(st == 200 and info.get("profile") == "level2" and info.get("type") == "ImageService3" and
   info.get("width") == 517 and info.get("height") == 300 and
   info["tiles"][0]["scaleFactors"] == [1, 2, 4] and "webp" in info["extraFormats"],
   "IIIF info.json: level 2, size, tiles with a scale factor per level, formats", body[:400])
st, h, body = get(base + "/full/max/0/default.png", TOK_ANN)
ok(st == 200 and h.get("content-type") == "image/png" and
   np.array_equal(png_decode(body), ORIG["u8"]),
   "IIIF full/max/0/default.png of an 8-bit image: every pixel", st)
st, h, body = get(base + "/10,20,100,50/max/0/gray.png", TOK_ANN)
ok(st == 200 and np.array_equal(png_decode(body), ORIG["u8"][20:70, 10:110]),
   "IIIF region x,y,w,h", st)
st, h, body = get(base + "/10,20,100,50/max/90/default.png", TOK_ANN)
ok(st == 200 and np.array_equal(png_decode(body), np.rot90(ORIG["u8"][20:70, 10:110], -1)),
   "IIIF rotation 90 (clockwise)", st)
st, h, body = get(base + "/10,20,100,50/max/!0/default.png", TOK_ANN)
ok(st == 200 and np.array_equal(png_decode(body), ORIG["u8"][20:70, 10:110, ][:, ::-1]),
   "IIIF mirroring (!0)", st)
st, h, body = get(base + "/full/!256,256/0/default.jpg", TOK_ANN)
ok(st == 200 and body[:3] == b"\xff\xd8\xff" and h.get("content-type") == "image/jpeg",
   "IIIF thumbnail full/!256,256/0/default.jpg", st)
st, h, body = get(base + "/full/256,/0/default.webp", TOK_ANN)
ok(st == 200 and body[:4] == b"RIFF" and body[8:12] == b"WEBP", "IIIF webp", st)
st, h, body = get(base + "/full/!256,256/0/default.png?labels=gt", TOK_ANN)
st0, _, body0 = get(base + "/full/!256,256/0/default.png", TOK_ANN)
if st == 200 and st0 == 200:
    a, b0 = png_decode(body), png_decode(body0)
    ok(a.ndim == 3 and a.shape[:2] == b0.shape and
       np.any(a[..., 0].astype(int) != b0.astype(int)),
       "IIIF ?labels=gt draws the GT in colour on the thumbnail", (a.shape, b0.shape))
else:
    ok(False, "IIIF ?labels=gt", (st, body[:200]))
b16 = "/iiif/3/%d" % IDS["zstack"]
st, h, body = get(b16 + "/full/max/0/default.png?z=3&window=0,4095", TOK_ANN)
want = np.floor(ORIG["zstack"][3].astype(np.float64) * 255 / 4095 + 0.5).astype(np.uint8)
got = png_decode(body) if st == 200 else None
ok(st == 200 and got is not None and np.abs(got.astype(int) - want.astype(int)).max() <= 1,
   "IIIF 16-bit plane z=3 with window=0,4095", st)
bm = "/iiif/3/%d" % IDS["multich"]
st, h, body = get(bm + "/full/max/0/default.png?c=1&z=2&window=0,65535", TOK_ANN)
want = np.floor(ORIG["multich"][1, 2].astype(np.float64) * 255 / 65535 + 0.5).astype(np.uint8)
got = png_decode(body) if st == 200 else None
ok(st == 200 and got is not None and np.abs(got.astype(int) - want.astype(int)).max() <= 1,
   "IIIF channel c=1 of a multichannel stack", st)
bt = "/iiif/3/%d" % IDS["tseries"]
st, h, body = get(bt + "/full/max/0/default.png?t=2", TOK_ANN)
ok(st == 200 and np.array_equal(png_decode(body), ORIG["tseries"][2]), "IIIF time point t=2", st)
brgb = "/iiif/3/%d" % IDS["rgb"]
st, h, body = get(brgb + "/full/max/0/default.png", TOK_ANN)
ok(st == 200 and np.array_equal(png_decode(body), ORIG["rgb"]), "IIIF RGB: every pixel", st)
for spec, why in [("9999,0,10,10/max/0/default.jpg", "outside"),
                  ("full/5000,5000/0/default.jpg", "larger than the region"),
                  ("full/^5000,5000/0/default.jpg", "over the bound"),
                  ("full/max/45/default.jpg", "rotation"),
                  ("full/max/0/default.gif", "format"),
                  ("full/max/0/sepia.jpg", "quality"),
                  ("full/0,0/0/default.jpg", "size"),
                  ("a,b,c,d/max/0/default.jpg", "region")]:
    st, h, body = get(base + "/" + spec, TOK_ANN)
    ok(st == 400 and why.encode() in body, "IIIF %s: 400 naming the %s" % (spec, why),
       (st, body[:300]))
st, h, body = get(b16 + "/full/max/0/default.jpg?z=99", TOK_ANN)
ok(st == 400 and b"z=99" in body, "IIIF z out of range: 400", body[:200])
st, h, body = get("/iiif/3/%d/info.json" % PRIV_ID, TOK_ANN)
ok(st == 404, "IIIF of a private image for a non-member: 404", st)

# ---------------------------------------------------------------- overlays
def api(path, token="viewer"):
    st, h, body = get("/api/v1" + path, token)
    try:
        return st, json.loads(body)
    except ValueError:
        return st, body


st, ov = api("/images/%d/overlays/run-%d" % (SPOT_ID, SPOT_RUN))
rows = [(r[0], r[1], r[6]) for r in ov.get("items", [])] if st == 200 else []
ok(st == 200 and ov["kind"] == "points" and rows == [(11, 10, "TP"), (90, 21, "TP"), (70, 70, "FP")]
   and ov["categories"] == {"TP": 2, "FP": 1},
   "overlay of a run's points: coordinates and the error map's TP/FP", ov)
st, ov = api("/images/%d/overlays/gt?run=%d" % (SPOT_ID, SPOT_RUN))
rows = [(r[0], r[1], r[6]) for r in ov.get("items", [])] if st == 200 else []
ok(st == 200 and rows == [(10, 10, "TP"), (90, 20, "TP"), (50, 50, "FN")],
   "overlay of the GT through that run: the missed point is FN", ov)
st, ov = api("/images/%d/overlays/gt?bbox=0,0,60,60&limit=1" % SPOT_ID)
ok(st == 200 and ov["matching"] == 2 and ov["returned"] == 1 and ov["truncated"] and
   ov["total"] == 3, "overlay viewport (bbox) and limit: 2 match, 1 returned, truncated", ov)
rc, out, _ = bia("image", "overlay", str(SPOT_ID), "run-%d" % SPOT_RUN)
st, ov = api("/images/%d/overlays/run-%d" % (SPOT_ID, SPOT_RUN))
ok(rc == 0 and json.loads(out) == ov, "image overlay (CLI) prints what the route answers")
st, ov = api("/images/%d/overlays/run-%d" % (MARK_ID, MARK_RUN))
rows = [(r[0], r[1], r[5], r[6]) for r in ov.get("items", [])] if st == 200 else []
ok(st == 200 and rows == [(11, 10, 1, "located"), (30, 21, 2, "located"),
                          (50, 30, 3, "spurious")],
   "overlay of a run's landmarks: each with its class and located/spurious", ov)
st, ov = api("/images/%d/overlays/gt?t=2" % CELL_ID)
ok(st == 200 and ov["kind"] == "tracks" and ov["matching"] > 0 and
   all(r[3] == 2 for r in ov["items"]) and "lineage" in ov,
   "overlay of cell tracks: centroids of frame t=2 and the lineage", str(ov)[:300])
st, ov = api("/images/%d/overlays/gt?z=4" % TREE_ID)
ok(st == 200 and ov["kind"] == "trace" and ov["columns"][:5] == ["x", "y", "z", "id", "parent"] and
   0 < ov["matching"] < ov["total"],
   "overlay of a trace on plane z=4: the nodes and segments there", str(ov)[:300])
st, ls = api("/images/%d/layers" % TRACE_ID)
vec = sorted((l["name"], l["kind"], l["zarr"], l.get("vector")) for l in ls if l["kind"] != "image")
ok(st == 200 and vec == sorted([("gt", "gt", None, True), ("gt-%d" % ls[1]["ref"], "gt", None, True),
                                ("run-%d" % TRACE_RUN, "run", None, True)]),
   "a trace's layers: its GT and the run's SWC, vector layers without a pyramid", ls)
# a trace's segments (node to parent) carry their edge's error category
st, ov = api("/images/%d/overlays/run-%d" % (TRACE_ID, TRACE_RUN))
rows = sorted((r[3], r[4], r[8]) for r in ov.get("items", []))
ok(st == 200 and ov["columns"][8] == "status" and
   rows == [(1, -1, None), (2, 1, "matched"), (3, 2, "matched"), (4, -1, None), (5, 4, "spurious")],
   "overlay of a run's trace: each segment matched or spurious (roots have none)", ov)
st, ov = api("/images/%d/overlays/gt?run=%d" % (TRACE_ID, TRACE_RUN))
rows = sorted((r[3], r[8]) for r in ov.get("items", []))
ok(st == 200 and rows == [(1, None), (2, "matched"), (3, "matched"), (4, "missed"), (5, "missed")] and
   ov["categories"] == {"matched": 2, "missed": 2},
   "overlay of the GT trace through that run: the segments it missed", ov)
st, ov = api("/images/%d/overlays/gt" % IDS["u8"])
ok(st == 415 or st == 422 or st == 501 or (st >= 400 and "labels" in str(ov)),
   "ObjSeg has no vector overlay: an error pointing at the labels", (st, ov))
st, ov = api("/images/%d/overlays/run-999" % SPOT_ID)
ok(st == 404, "an unknown layer: 404", (st, ov))
st, ov = api("/images/%d/overlays/gt?bbox=5,5,1,1" % SPOT_ID)
ok(st == 400, "a bad bbox: 400", (st, ov))

# IIIF thumbnail with the run's result drawn as labels
st, h, body = get("/iiif/3/%d/full/max/0/default.png?labels=run-%d" % (SPOT_ID, SPOT_RUN))
img = png_decode(body) if st == 200 else None
ok(st == 200 and img is not None and img.ndim == 3 and np.any(img[70, 70] != img[0, 0]),
   "IIIF ?labels=run-N draws a run's result", st)

stop_server(srv)

# ---------------------------------------------------------------- under serve: built in the background
srv = start_server("--guest")
tifffile.imwrite(path("late.tif"), rng.integers(0, 256, (400, 400), dtype=np.uint8))
# the instance's event stream, read while the upload happens
events = []


def listen():
    try:
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=20)
        c.request("GET", "/api/v1/events", headers={"Authorization": "Bearer " + TOK_ADM})
        r = c.getresponse()
        end = time.time() + 20
        while time.time() < end:
            line = r.fp.readline().decode(errors="replace")
            if not line:
                break
            if line.startswith("data:") and '"pyramid"' in line:
                events.append(json.loads(line[5:]))
                if events[-1].get("done") == events[-1].get("total"):
                    break
        c.close()
    except OSError:
        pass


th = threading.Thread(target=listen)
th.start()
time.sleep(0.5)
# an upload through the API: the server's thread builds the pyramid
data = open(path("late.tif"), "rb").read()
c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
c.request("POST", "/api/v1/problems/pub/images?name=late.tif", body=data,
          headers={"Authorization": "Bearer " + TOK_ADM})
r = c.getresponse()
late = json.loads(r.read())
late_id = late["added"][0]["id"] if r.status in (200, 201) else None
ok(late_id is not None, "an image uploaded under serve", late)
st = None
for _ in range(200):
    st, h, body = get("/zarr/images/%s.zarr/.zattrs" % late_id, None)
    if st != 503:
        break
    time.sleep(0.05)
ok(st == 200, "... its pyramid is built in the background (503 with Retry-After until then)",
   (st, body[:200]))
th.join(30)
ok(events and events[-1]["done"] == events[-1]["total"] == 400 and
   "late.tif" in events[-1]["detail"],
   "... with progress events on the instance stream (rows done of 400)", events[-3:])
stop_server(srv)

# ---------------------------------------------------------------- fsck and rebuild
zdir = None
for root, dirs, files in os.walk(os.path.join(I, "derived", "zarr")):
    if root.endswith("-iz.zarr") and os.path.exists(os.path.join(root, "1", "0", "0", "0", "0", "0")):
        zdir = root
        break
chunk = os.path.join(zdir, "1", "0", "0", "0", "0", "0")
open(chunk, "wb").write(b"damaged")
os.makedirs(os.path.join(os.path.dirname(zdir), ".tmp-999999-x.zarr"))
rc, out, err = bia("fsck", "--dry-run", "--format", "json")
rep = json.loads(out)
ok(rc == 1 and rep["pyramids"]["corrupt"] == 1, "fsck --dry-run finds the damaged chunk", out)
rc, out, err = bia("fsck", "--format", "json")
rep = json.loads(out)
ok(rc == 0 and rep["pyramids"]["rebuilt"] == 1 and rep["pyramids"]["removed"] >= 1,
   "fsck rebuilds it and removes a dead build's temp directory", out)
ok(open(chunk, "rb").read()[:4] == b"\x28\xb5\x2f\xfd", "... the chunk is a zstd frame again")
rc, out, err = bia("image", "pyramid", "pub/u8", "--rebuild", "--format", "json")
ok(rc == 0 and json.loads(out)["built"] == 2, "image pyramid --rebuild: the image and its GT", out)

# ids are never given again: a chunk cached as immutable stays right
tifffile.imwrite(path("newest.tif"), rng.integers(0, 256, (64, 64), dtype=np.uint8))
rc, out, _ = bia("image", "add", "pub", path("newest.tif"))
late2 = int(out.strip() or 0)
rc2, _, err2 = bia("image", "rm", str(late2))
rc3, out3, _ = bia("image", "add", "pub", path("newest.tif"))
ok(rc == 0 and rc2 == 0 and rc3 == 0 and int(out3.strip() or 0) == late2 + 1,
   "removing the newest image does not give its id to the next one", (out, err2, out3))

# ---------------------------------------------------------------- streaming large TIFFs
# A tiled RGB (chunky), a tiled planar RGB and a stripped 16-bit TIFF: the
# pyramid streamed tile row by tile row is the pyramid of the image read
# whole, file for file.
def tree(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, d)] = open(p, "rb").read()
    return out


yy, xx = np.mgrid[0:700, 0:900]
big = {
    "tiled_rgb": (np.stack([(xx * 7 + yy) % 256, (yy * 3) % 256, (xx ^ yy) % 256], -1)
                  .astype(np.uint8), dict(tile=(128, 128), photometric="rgb",
                                          compression="zlib")),
    "tiled_planar": (np.stack([(xx + yy) % 256, xx % 256, yy % 256]).astype(np.uint8),
                     dict(tile=(64, 96), photometric="rgb", planarconfig="separate")),
    "stripped_u16": (((xx * 37 + yy * 11) % 65536).astype(np.uint16),
                     dict(rowsperstrip=7, compression="zlib")),
}
for name, (arr, kw) in big.items():
    tifffile.imwrite(path(name + ".tif"), arr, **kw)
trees = {}
for mode, env in (("read", {}), ("stream", {"BIAFLOWS_STREAM_MIN_BYTES": "1"})):
    inst = os.path.join(T, "inst-" + mode)
    subprocess.run([B, "init", inst], capture_output=True)
    subprocess.run([B, "--instance", inst, "problem", "add", "w", "--class", "ObjSeg"],
                   capture_output=True)
    p = subprocess.run([B, "--instance", inst, "image", "add", "w",
                        *[path(n + ".tif") for n in big]], capture_output=True, text=True,
                       env=dict(os.environ, **env))
    ok(p.returncode == 0, "image add of tiled, planar and stripped TIFFs (%s)" % mode, p.stderr)
    trees[mode] = {}
    for root, dirs, _ in os.walk(os.path.join(inst, "derived", "zarr")):
        for d in dirs:
            if d.endswith(".zarr"):
                g = zarr.open_group(os.path.join(root, d), mode="r")
                trees[mode][g.attrs["multiscales"][0]["name"]] = (os.path.join(root, d), g)
for name, (arr, kw) in big.items():
    d_read, g_read = trees["read"][name + ".tif"]
    d_stream, g_stream = trees["stream"][name + ".tif"]
    want = arr[None, None, None] if arr.ndim == 2 else (
        np.moveaxis(arr, 2, 0)[None, :, None] if "planarconfig" not in kw else arr[None, :, None])
    ok(np.array_equal(g_stream["0"][:], want), name + ": the streamed pyramid's level 0 is the image")
    ok(tree(d_read) == tree(d_stream), name + ": streamed and read-whole pyramids are identical files")

# a truncated tiled TIFF, streamed: refused with one line naming the file
raw = open(path("tiled_rgb.tif"), "rb").read()
open(path("cut.tif"), "wb").write(raw[:len(raw) * 2 // 3])
inst = os.path.join(T, "inst-stream")
p = subprocess.run([B, "--instance", inst, "image", "add", "w", path("cut.tif")],
                   capture_output=True, text=True,
                   env=dict(os.environ, BIAFLOWS_STREAM_MIN_BYTES="1"))
lines = [l for l in p.stderr.splitlines() if l.strip()]
ok(p.returncode == 1 and len(lines) == 1 and "cut.tif" in lines[0] and
   ("decode" in lines[0] or "truncated" in lines[0]),
   "a truncated tiled TIFF (streamed): refused in one line naming the file", p.stderr)

# memory: a 6000 x 6000 RGB tiled TIFF (108 MB of samples) is imported and
# its pyramid built without holding it
yy, xx = np.mgrid[0:6000, 0:6000]
arr = np.stack([(xx + yy) % 256, (xx * 3) % 256, (yy * 5) % 256], -1).astype(np.uint8)
del yy, xx
tifffile.imwrite(path("slide.tif"), arr, tile=(256, 256), photometric="rgb", compression="zlib")
nbytes = arr.nbytes
del arr
inst = os.path.join(T, "inst-slide")
subprocess.run([B, "init", inst], capture_output=True)
subprocess.run([B, "--instance", inst, "problem", "add", "w", "--class", "ObjSeg"],
               capture_output=True)
# measured by a small process of its own: a child forked from this (large)
# one would start with this one's peak
MEASURE = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, st, ru = os.wait4(p.pid, 0)
sys.stdout.write("%d %d %s" % (st, ru.ru_maxrss * 1024, p.stderr.read().decode()))
"""
m = subprocess.run([sys.executable, "-c", MEASURE, B, "--instance", inst, "image", "add", "w",
                    path("slide.tif")], capture_output=True, text=True)
status, rss, err = (m.stdout.split(" ", 2) + ["", "", ""])[:3]
status, rss = int(status or 1), int(rss or 0)
ok(status == 0, "image add of a 6000 x 6000 RGB tiled TIFF", err)
ok(rss < nbytes * 0.75, "... peak memory %.0f MB, under 3/4 of the %.0f MB image" %
   (rss / 1e6, nbytes / 1e6), rss)
p = subprocess.run([B, "--instance", inst, "image", "pyramid", "--format", "json"],
                   capture_output=True, text=True)
ok(p.returncode == 0 and json.loads(p.stdout)["present"] == 1, "... its pyramid is there",
   p.stdout + p.stderr)

print("# images_test.py: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
