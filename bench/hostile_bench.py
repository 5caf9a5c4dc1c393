"""Driven by bench/hostile.sh: each adversarial request beside an ordinary one of the same size, on a fresh server."""
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid

M, WORK = sys.argv[1], sys.argv[2]
PASS = "bench password 1234"
TAXII = "application/taxii+json;version=2.1"
AUTH = "Basic " + base64.b64encode(f"bench:{PASS}".encode()).decode()
COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
CONFIG = f"""
[node]
title = "hostile"
owner = "bench-org"
max_content_length = 104857600
# Benchmarks measure the server, not its request limits.
[limits]
requests_per_minute_per_account = 0
requests_per_minute_per_address = 0
concurrent_requests_per_account = 0
[[orgs]]
id = "bench-org"
name = "Bench"
[[api_roots]]
path = "bench"
title = "bench"
[[collections]]
id = "{COLLECTION}"
api_root = "bench"
title = "bench"
read = ["bench-org"]
write = ["bench-org"]
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name):
        self.data = os.path.join(WORK, name)
        os.makedirs(self.data)
        with open(os.path.join(self.data, "meridian.toml"), "w") as f:
            f.write(CONFIG)
        subprocess.run([M, "user", "add", "bench", "--org", "bench-org", "--data", self.data], input=PASS + "\n", text=True,
                       check=True, capture_output=True)
        self.port = free_port()
        self.proc = subprocess.Popen([M, "serve", "--data", self.data, "--port", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        self.request("GET", "/taxii2/")  # credentials checked once, then remembered

    def request(self, method, path, body=None, headers=()):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        h = {"Accept": TAXII, "Authorization": AUTH, **dict(headers)}
        if body is not None:
            h["Content-Type"] = TAXII
        started = time.monotonic()
        conn.request(method, path, body=body, headers=h)
        response = conn.getresponse()
        data = response.read()
        elapsed = time.monotonic() - started
        conn.close()
        return response.status, data, elapsed

    def peak_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def identity(n, size=2000):
    return {"type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.uuid5(uuid.NAMESPACE_URL, str(n))}",
            "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z", "name": f"org {n}",
            "identity_class": "organization", "description": "x" * size}


def ordinary_envelope(size):
    objects, total, n = [], 0, 0
    while total < size:
        o = identity(n)
        objects.append(o)
        total += len(json.dumps(o)) + 1
        n += 1
    return json.dumps({"objects": objects}).encode()


rows = []


def row(case, ordinary, hostile, status):
    ratio = hostile[0] / ordinary[0] if ordinary[0] > 0 else float("inf")
    rows.append((case, ordinary, hostile, ratio, status))
    print(f"| {case} | {ordinary[0]:.3f} s, {ordinary[1]:.0f} MB | {hostile[0]:.3f} s, {hostile[1]:.0f} MB | {ratio:.2f} | {status} |",
          flush=True)


objects_path = f"/bench/collections/{COLLECTION}/objects/"


def post_beside_ordinary(name, label, hostile_body, runs=3):
    """POSTs an ordinary envelope of the same size, then the hostile body, each on a fresh server, `runs` times; one
    row of the medians (a single POST on a 2-core machine varies by a third from run to run)."""
    ordinary_body = ordinary_envelope(len(hostile_body))
    ordinary, hostile, status = [], [], None
    for run in range(runs):
        s = Server(f"{name}-ordinary-{run}")
        _, _, t = s.request("POST", objects_path, ordinary_body)
        ordinary.append((t, s.peak_mb()))
        s.stop()
        s = Server(f"{name}-hostile-{run}")
        status, _, t = s.request("POST", objects_path, hostile_body)
        hostile.append((t, s.peak_mb()))
        s.stop()
    row(label, sorted(ordinary)[runs // 2], sorted(hostile)[runs // 2], status)

print("| case | ordinary request (time, peak RSS) | adversarial request (time, peak RSS) | time ratio | answer |")
print("| --- | --- | --- | --- | --- |")

# 1. One object with 640,000 keys (about 10 MiB).
many = identity(0, size=10)
for i in range(640_000):
    many[f"x_k{i:06d}"] = i
hostile_body = json.dumps({"objects": [many]}).encode()
post_beside_ordinary("keys", f"POST one object of 640,000 keys ({len(hostile_body) >> 20} MiB)", hostile_body)

# 2. An object posted in 20,000 versions (four POSTs of 5,000; the collection keeps max_versions_per_object, 1,000).
s = Server("versions")
hot = "indicator--00000000-0000-4000-8000-000000000001"
cold = "indicator--00000000-0000-4000-8000-000000000002"


def indicator(ident, n):
    return {"type": "indicator", "spec_version": "2.1", "id": ident, "created": "2020-01-01T00:00:00.000Z",
            "modified": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1577836800 + n)) + ".000Z",
            "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"}


s.request("POST", objects_path, json.dumps({"objects": [indicator(cold, 0), indicator(hot, 0)]}).encode())
reads = [("objects/{id}/?limit=1", f"/bench/collections/{COLLECTION}/objects/ID/?limit=1"),
         ("objects/{id}/?match[version]=first", f"/bench/collections/{COLLECTION}/objects/ID/?match[version]=first"),
         ("objects/?match[id]=", f"/bench/collections/{COLLECTION}/objects/?match[id]=ID"),
         ("manifest/?match[id]=", f"/bench/collections/{COLLECTION}/manifest/?match[id]=ID"),
         ("objects/?limit=100 (the collection's page)", f"/bench/collections/{COLLECTION}/objects/?limit=100")]


def timed(path, repeat=5):
    best = None
    for _ in range(repeat):
        status, _, t = s.request("GET", path)
        best = t if best is None else min(best, t)
    return status, best


before = {label: timed(template.replace("ID", hot))[1] for label, template in reads}
kept = 0
for batch in range(4):
    versions = [indicator(hot, 1 + batch * 5000 + k) for k in range(5000)]
    _, body, _ = s.request("POST", objects_path, json.dumps({"objects": versions}).encode())
    kept += json.loads(body)["success_count"]
for label, template in reads:
    status, t = timed(template.replace("ID", hot))
    row(f"GET {label} of an object posted in 20,000 versions ({kept + 1} kept; ordinary: the same read when it had one)",
        (before[label], s.peak_mb()), (t, s.peak_mb()), status)
s.stop()

# 3. 3.5 million `{}` in a 10 MiB envelope.
bomb = b'{"objects":[' + b",".join([b"{}"] * 3_500_000) + b"]}"
post_beside_ordinary("status", f"POST 3,500,000 empty objects ({len(bomb) >> 20} MiB)", bomb)

# 4. A 1 GB body over max_content_length, sent with Connection: close.
s = Server("too-large")
status, _, t_small = s.request("POST", objects_path, ordinary_envelope(1 << 20))
sock = socket.create_connection(("127.0.0.1", s.port))
head = (f"POST {objects_path} HTTP/1.1\r\nHost: x\r\nAccept: {TAXII}\r\nContent-Type: {TAXII}\r\nAuthorization: {AUTH}\r\n"
        f"Connection: close\r\nContent-Length: {1 << 30}\r\n\r\n")
started = time.monotonic()
sock.sendall(head.encode())
sock.settimeout(30)
chunk = b"0" * 65536
try:
    while time.monotonic() - started < 30:
        sock.sendall(chunk)
    outcome = "not released within 30 s"
except OSError:
    outcome = "released"
released = time.monotonic() - started
row("POST a 1 GiB body over max_content_length, Connection: close (time until the client is released)",
    (t_small, s.peak_mb()), (released, s.peak_mb()), f"413, {outcome}")
s.stop()
