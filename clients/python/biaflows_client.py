"""A client of the BIAFLOWS REST API (biaflows serve), standard library only.

    from biaflows_client import Client
    c = Client("http://127.0.0.1:8080", token="bfa_...")
    c.problems()                       # every problem you may see
    c.images("nuclei")                 # every image of a problem
    c.download(12, "img.tif")          # an image's original file
    run = c.run("NucleiSegmentation-C", "nuclei", sigma=2)
    run.wait()                         # follows the run's event stream
    c.metrics(run.id)                  # one row per image
    c.leaderboard("nuclei")

Every method raises ApiError (with .code, .status, .message) when the server
answers with an error. docs/python-client.md has a notebook-style tour.
"""

import io
import json
import os
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["Client", "Run", "Operation", "ApiError"]

PAGE = 1000  # the largest page the server gives


class ApiError(Exception):
    """An error answer: code (a stable name such as "not_found"), HTTP
    status and message."""

    def __init__(self, status, code, message):
        super().__init__("%s (%s): %s" % (code, status, message))
        self.status = status
        self.code = code
        self.message = message


class Client:
    """A connection to one server. token: an API token ('biaflows token
    create USER'); None for a guest server's public content."""

    def __init__(self, url, token=None, timeout=60):
        self.url = url.rstrip("/")
        if not self.url.endswith("/api/v1"):
            self.url += "/api/v1"
        self.token = token
        self.timeout = timeout

    # ------------------------------------------------------------ transport
    def _request(self, method, path, query=None, body=None, data=None,
                 content_type=None, raw=False, stream=False):
        url = self.url + path
        if query:
            q = {k: v for k, v in query.items() if v is not None}
            if q:
                url += "?" + urllib.parse.urlencode(q)
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if body is not None:
            data = json.dumps(body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            # a stream gets keep-alives every 15 s: 40 s of silence is a broken one
            resp = urllib.request.urlopen(req, timeout=40 if stream else self.timeout)
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                err = json.loads(payload)["error"]
                raise ApiError(e.code, err.get("code"), err.get("message")) from None
            except (ValueError, KeyError, TypeError):
                raise ApiError(e.code, "http_error", payload[:200].decode("utf-8", "replace")) from None
        if stream:
            return resp
        with resp:
            payload = resp.read()
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def get(self, path, **query):
        return self._request("GET", path, query=query)

    def _all(self, path, **query):
        """Every item of a paged list."""
        items, offset = [], 0
        while True:
            page = self.get(path, limit=PAGE, offset=offset, **query)
            items.extend(page["items"])
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return items

    # ------------------------------------------------------------- problems
    def problems(self):
        return self._all("/problems")

    def problem(self, name):
        return self.get("/problems/" + _q(name))

    def create_problem(self, name, cls, description="", private=False):
        return self._request("POST", "/problems", body={
            "name": name, "class": cls, "description": description, "private": private})

    def images(self, problem):
        return self._all("/problems/%s/images" % _q(problem))

    def upload_image(self, problem, path, name=None):
        with open(path, "rb") as f:
            return self._request("POST", "/problems/%s/images" % _q(problem),
                                 query={"name": name or os.path.basename(path)},
                                 data=f.read(), content_type="application/octet-stream")

    def upload_gt(self, image_id, path, name=None, annotator=None):
        with open(path, "rb") as f:
            return self._request("POST", "/images/%d/gt" % image_id,
                                 query={"name": name or os.path.basename(path),
                                        "annotator": annotator},
                                 data=f.read(), content_type="application/octet-stream")

    def download(self, image_id, path):
        """Write an image's original file to path; returns path."""
        data = self._request("GET", "/images/%d/file" % image_id, raw=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # ------------------------------------------------------------ workflows
    def workflows(self):
        return self._all("/workflows")

    def workflow(self, ref):
        return self.get("/workflows/" + _q(ref))

    def upload_workflow(self, folder, version=None):
        """Add a workflow folder (with its descriptor.json) as a version."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            t.add(folder, arcname=os.path.basename(os.path.normpath(folder)))
        return self._request("POST", "/workflows", query={"version": version},
                             data=buf.getvalue(), content_type="application/x-tar")

    # ----------------------------------------------------------------- runs
    def run(self, workflow, problem, images=None, limits=None, params=None, **kw):
        """Launch a run; parameters by their descriptor ids (keywords, or a
        dict `params` for ids such as "images"). limits: {"timeout": "10m",
        "memory": "2G", "processes": N, "open_files": N, "output": "1G"}."""
        body = {"workflow": workflow, "problem": problem, "params": dict(params or {}, **kw)}
        if images is not None:
            body["images"] = list(images)
        if limits:
            body["limits"] = limits
        return Run(self, self._request("POST", "/runs", body=body))

    def get_run(self, run_id):
        return Run(self, self.get("/runs/%d" % run_id))

    def runs(self, problem=None, status=None, workflow=None):
        return self._all("/runs", problem=problem, status=status, workflow=workflow)

    def metrics(self, run_id):
        """The run's scores: one row per image {image, stem, status, METRIC: value...}."""
        r = self.get("/runs/%d" % run_id)
        rows = []
        for im in r.get("images", []):
            row = {"image": im.get("id"), "stem": im.get("stem"), "status": im.get("status")}
            row.update(im.get("metrics") or {})
            rows.append(row)
        return rows

    def leaderboard(self, problem, metric=None, seed=None, resamples=None):
        return self.get("/problems/%s/leaderboard" % _q(problem), metric=metric, seed=seed,
                        resamples=resamples)

    def compare(self, a, b, metric=None):
        return self.get("/compare", a=a, b=b, metric=metric)

    # ------------------------------------------------- long work (operations)
    def sweep(self, workflow, problem, metric=None, images=None, seed=None, resamples=None,
              **params):
        """Run a parameter grid and rank it: values as "A:B:STEP" or
        "V1,V2,..." (or a list). Returns an Operation; .wait() gives the
        leaderboard of the settings."""
        grid = {k: ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
                for k, v in params.items()}
        body = {"workflow": workflow, "params": grid, "metric": metric, "images": images,
                "seed": seed, "resamples": resamples}
        return Operation(self, self._request("POST", "/problems/%s/sweeps" % _q(problem),
                                             body={k: v for k, v in body.items() if v is not None}))

    def benchmark(self, problem, workflows=None, metric=None, seed=None, resamples=None):
        """Run the workflows' default settings where missing, then rank."""
        body = {"workflows": workflows, "metric": metric, "seed": seed, "resamples": resamples}
        return Operation(self, self._request("POST", "/problems/%s/benchmark" % _q(problem),
                                             body={k: v for k, v in body.items() if v is not None}))

    def import_dataset(self, problem, folder, skip_invalid=False, annotator=None):
        """Import a dataset folder (images/ and groundtruth/): an Operation."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            t.add(folder, arcname=os.path.basename(os.path.normpath(folder)))
        return Operation(self, self._request(
            "POST", "/problems/%s/dataset" % _q(problem),
            query={"skip_invalid": "true" if skip_invalid else None, "annotator": annotator},
            data=buf.getvalue(), content_type="application/gzip"))

    # ------------------------------------------------------------- exchange
    def export(self, problems=None, runs=False, workflows=False, environments=False,
               compression="zst"):
        """Export a bundle on the server (admin): an Operation whose result
        is `biaflows export --format json`'s report with "download"."""
        body = {"runs": runs, "workflows": workflows, "environments": environments,
                "compression": compression}
        if problems:
            body["problems"] = list(problems)
        return Operation(self, self._request("POST", "/exports", body=body))

    def download_export(self, result, path):
        """Write the bundle of a finished export (its result) to path."""
        resp = self._request("GET", result["download"][len("/api/v1"):], stream=True)
        with resp, open(path, "wb") as f:
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                f.write(chunk)
        return path

    def import_bundle(self, path):
        """Import a bundle file (admin): an Operation whose result is
        `biaflows import --format json`'s report."""
        with open(path, "rb") as f:
            return Operation(self, self._request("POST", "/imports", data=f.read(),
                                                 content_type="application/x-tar"))

    def score(self, cls, prediction, ground_truth, params=None, objects=False,
              prediction_tracks=None, ground_truth_tracks=None):
        """Score a prediction file against a GT file (no instance data):
        what `biaflows metrics CLASS PRED GT --format json` prints."""
        fields = {"class": cls}
        if params:
            fields["params"] = params
        if objects:
            fields["objects"] = "true"
        files = {"prediction": prediction, "ground_truth": ground_truth,
                 "prediction_tracks": prediction_tracks,
                 "ground_truth_tracks": ground_truth_tracks}
        data, ctype = _multipart(fields, {k: v for k, v in files.items() if v})
        return self._request("POST", "/metrics", data=data, content_type=ctype)

    def events(self, run_id=None, last_event_id=None, timeout=None):
        """Server-Sent Events as (event, data) pairs: of one run (ends with
        the run), or of the instance (never ends). TimeoutError once timeout
        seconds have passed (checked at every event and keep-alive)."""
        deadline = None if timeout is None else time.time() + timeout
        path = "/runs/%d/events" % run_id if run_id else "/events"
        resp = self._request("GET", path, query={"last_event_id": last_event_id}, stream=True)
        with resp:
            event, data = "message", []
            for raw in resp:
                if deadline is not None and time.time() > deadline:
                    raise TimeoutError("no end of the event stream in %s s" % timeout)
                line = raw.decode("utf-8", "replace").rstrip("\n").rstrip("\r")
                if not line:
                    if data:
                        text = "\n".join(data)
                        try:
                            payload = json.loads(text)
                        except ValueError:
                            payload = text
                        yield event, payload
                        if event == "end":
                            return
                    event, data = "message", []
                elif line.startswith(":"):
                    continue
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())


FINAL = ("succeeded", "failed", "cancelled", "timed_out")


class Operation:
    """Long work on the server (a sweep, a benchmark, an import)."""

    def __init__(self, client, record):
        self.client = client
        self.record = record
        self.id = record["id"]

    @property
    def state(self):
        return self.record["state"]

    def refresh(self):
        self.record = self.client.get("/operations/%d" % self.id)
        return self

    def wait(self, progress=True, timeout=None, out=sys.stderr):
        """Until it ends: its result, or ApiError with its error."""
        start, delay = time.time(), 0.2
        while self.refresh().state in ("queued", "running"):
            if progress and out:
                p = self.record["progress"]
                out.write("\r%s %d: %s/%s %s" % (self.record["kind"], self.id, p["done"],
                                                  p["total"], p["detail"][:60].ljust(60)))
                out.flush()
            if timeout is not None and time.time() - start > timeout:
                raise TimeoutError("operation %d did not end in %s s" % (self.id, timeout))
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)
        if progress and out:
            out.write("\n")
        if self.state == "failed":
            e = self.record.get("error", {}).get("error", {})
            raise ApiError(e.get("status"), e.get("code"), e.get("message"))
        return self.record["result"]


class Run:
    """A run: .id, .status, .record (the JSON of GET /runs/{id})."""

    def __init__(self, client, record):
        self.client = client
        self.record = record
        self.id = record["id"]

    @property
    def status(self):
        return self.record["status"]

    def refresh(self):
        self.record = self.client.get("/runs/%d" % self.id)
        return self

    def wait(self, progress=True, timeout=None, out=sys.stderr):
        """Follow the run's events until it ends (a progress line on out);
        returns the final record. TimeoutError after timeout seconds."""
        start = time.time()
        last = "queued"
        while True:
            left = None if timeout is None else max(0.0, timeout - (time.time() - start))
            try:
                for event, data in self.client.events(self.id, timeout=left):
                    if event == "state":
                        last = data.get("state", last)
                    if progress and out:
                        text = data.get("line", "") if event == "log" else last
                        out.write("\rrun %d: %-10s %5.0f s  %s" % (
                            self.id, last, time.time() - start, text[:60].ljust(60)))
                        out.flush()
                    if timeout is not None and time.time() - start > timeout:
                        raise TimeoutError("run %d did not end in %s s" % (self.id, timeout))
                    if event == "end":
                        break
            except TimeoutError:
                raise TimeoutError("run %d did not end in %s s" % (self.id, timeout)) from None
            except (OSError, ValueError):
                time.sleep(1)  # the connection broke: follow again
            self.refresh()
            if self.status in FINAL:
                if progress and out:
                    out.write("\n")
                return self.record
            if timeout is not None and time.time() - start > timeout:
                raise TimeoutError("run %d did not end in %s s" % (self.id, timeout))

    def cancel(self):
        self.record = self.client._request("POST", "/runs/%d/cancel" % self.id)
        return self

    def log(self):
        return self.client._request("GET", "/runs/%d/log" % self.id, raw=True).decode(
            "utf-8", "replace")

    def output(self, stem, path):
        data = self.client._request("GET", "/runs/%d/outputs/%s" % (self.id, _q(stem)), raw=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def __repr__(self):
        return "<Run %d %s>" % (self.id, self.status)


def _multipart(fields, files):
    boundary = "biaflows%x" % int(time.time() * 1e6)
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                   % (boundary, k, v)).encode())
    for k, path in files.items():
        with open(path, "rb") as f:
            content = f.read()
        out.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                   "Content-Type: application/octet-stream\r\n\r\n"
                   % (boundary, k, os.path.basename(path))).encode())
        out.write(content + b"\r\n")
    out.write(("--%s--\r\n" % boundary).encode())
    return out.getvalue(), "multipart/form-data; boundary=" + boundary


def _q(s):
    return urllib.parse.quote(str(s), safe="@")
