"""A soak of biaflows serve (run by bench/soak): mixed reads, writes and
event streams against an ASan/UBSan build for DURATION seconds, sampling
the server's resident memory. Prints the samples, the request counts and
failures, and whether the sanitizers reported anything.

Environment: PORT, TOKEN (admin), SPID (server pid), DS (a dataset folder),
LOG (the server's stderr), DURATION.
"""

import http.client
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "clients", "python"))
from biaflows_client import ApiError, Client  # noqa: E402

PORT = int(os.environ["PORT"])
TOKEN = os.environ["TOKEN"]
SPID = int(os.environ["SPID"])
DS = os.environ["DS"]
DURATION = float(os.environ.get("DURATION", "600"))
c = Client("http://127.0.0.1:%d" % PORT, TOKEN, timeout=120)
stop = time.time() + DURATION
counts = {"read": 0, "write": 0, "stream": 0, "fail": 0}
lock = threading.Lock()
errors = []


def count(k, n=1):
    with lock:
        counts[k] += n


def fail(what):
    with lock:
        counts["fail"] += 1
        if len(errors) < 20:
            errors.append(what)


def rss_kb():
    with open("/proc/%d/status" % SPID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def reader():
    paths = ["/problems", "/problems/soak/images?limit=20", "/runs?limit=50", "/workflows",
             "/problems/soak/leaderboard?resamples=100", "/openapi.json", "/session",
             "/problems/soak/images?format=csv", "/nothing", "/runs/999999"]
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    while time.time() < stop:
        p = random.choice(paths)
        try:
            conn.request("GET", "/api/v1" + p, headers={"Authorization": "Bearer " + TOKEN})
            r = conn.getresponse()
            r.read()
            if r.status >= 500:
                fail("GET %s: %d" % (p, r.status))
            count("read")
        except Exception as e:  # noqa: BLE001
            fail("GET %s: %s" % (p, e))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)


def writer(k):
    imgs = sorted(os.listdir(os.path.join(DS, "images")))
    i = 0
    while time.time() < stop:
        i += 1
        name = "w%d-%d" % (k, i)
        try:
            c.create_problem(name, "ObjSeg", private=bool(i % 2))
            for f in imgs[:2]:
                c.upload_image(name, os.path.join(DS, "images", f))
            for im in c.images(name):
                c.upload_gt(im["id"], os.path.join(DS, "groundtruth", im["stem"] + ".tif"))
            run = c.run("Threshold-Python", name, threshold=random.choice([0.3, 0.5]))
            if i % 3 == 0:
                run.cancel()
            run.wait(progress=False, timeout=120)
            c.metrics(run.id)
            try:  # malformed writes are answered, never crash
                c._request("POST", "/problems", body={"name": name, "class": "nope"})
            except ApiError:
                pass
            c._request("DELETE", "/problems/%s" % name, query={"force": "true"})
            count("write", 6)
        except Exception as e:  # noqa: BLE001
            fail("write %s: %s" % (name, e))
            time.sleep(1)


def streamer():
    while time.time() < stop:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
            conn.request("GET", "/api/v1/events", headers={"Authorization": "Bearer " + TOKEN})
            r = conn.getresponse()
            end = time.time() + random.uniform(1, 5)
            while time.time() < end:
                if not r.fp.readline():
                    break
            conn.close()  # leaves in the middle of a stream
            count("stream")
        except (TimeoutError, OSError):
            count("stream")
        except Exception as e:  # noqa: BLE001
            fail("stream: %s" % e)


threads = [threading.Thread(target=reader, daemon=True) for _ in range(4)]
threads += [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(2)]
threads += [threading.Thread(target=streamer, daemon=True) for _ in range(3)]
for t in threads:
    t.start()
samples = []
t0 = time.time()
while time.time() < stop:
    samples.append((int(time.time() - t0), rss_kb()))
    time.sleep(min(30, max(1, DURATION / 20)))
for t in threads:
    t.join(180)
samples.append((int(time.time() - t0), rss_kb()))
print("rss (s: MiB): " + ", ".join("%d: %.0f" % (s, kb / 1024) for s, kb in samples))
third = samples[len(samples) // 3][1]
print("rss after a third of the time %.0f MiB, at the end %.0f MiB (growth %.0f%%)" % (
    third / 1024, samples[-1][1] / 1024, 100.0 * (samples[-1][1] - third) / max(third, 1)))
print("requests: %d reads, %d writes, %d streams, %d failures" % (
    counts["read"], counts["write"], counts["stream"], counts["fail"]))
for e in errors:
    print("  " + e)
sys.exit(1 if counts["fail"] else 0)
