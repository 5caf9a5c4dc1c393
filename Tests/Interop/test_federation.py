"""Federation between real nodes on loopback (separate processes, ports and databases): a chain A→B→C and a
triangle, what crosses each boundary by TLP, resuming after SIGKILL, misbehaving peers, and a pull from medallion."""
import datetime
import http.server
import json
import os
import signal
import sqlite3
import sys
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

from conftest import MERIDIAN, TAXII, free_port, start_server

PASSWORD = "a long enough password"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def collection_id(node):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "meridian-test-" + node))


class Node:
    """A node `name` (owner org cert-NAME) whose collection `shared` the listed peer orgs may read."""

    def __init__(self, name, readers, peers=()):
        self.name = name
        self.data = tempfile.mkdtemp(prefix=f"meridian-fed-{name}-")
        self.port = free_port()
        self.readers = readers
        self.peers = list(peers)
        self.proc = None

    def config(self):
        orgs = ({f"cert-{self.name}"} | set(self.readers) | set(getattr(self, "writers", [])) | set(getattr(self, "known", []))
                | {p["org"] for p in self.peers})
        # Metrics are public here: the background synchronisation test reads them without credentials.
        text = f'[node]\ntitle = "{self.name}"\nowner = "cert-{self.name}"\n[server]\npublic_metrics = true\n'
        for org in sorted(orgs):
            text += f'[[orgs]]\nid = "{org}"\nname = "{org}"\ncountry = "FRA"\nkind = "{"node" if org.startswith("node-") else "owner" if org == f"cert-{self.name}" else "partner"}"\n'
        for group, members in getattr(self, "groups", {}).items():
            text += f'[[groups]]\nname = "{group}"\nmembers = {json.dumps(members)}\n'
        text += '[[api_roots]]\npath = "p"\ntitle = "p"\n'
        read = ", ".join(f'"{r}"' for r in [f"cert-{self.name}"] + list(self.readers))
        write = ", ".join(f'"{w}"' for w in [f"cert-{self.name}"] + list(getattr(self, "writers", [])))
        text += (f'[[collections]]\nid = "{collection_id(self.name)}"\napi_root = "p"\nalias = "shared"\ntitle = "shared"\n'
                 f'read = [{read}]\nwrite = [{write}]\n')
        for p in self.peers:
            # A secret: readable by its owner only, or serve refuses to start.
            with open(os.open(os.path.join(self.data, p["name"] + ".password"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(PASSWORD)
            text += (f'[[peers]]\nname = "{p["name"]}"\norg = "{p["org"]}"\napi_root = "{p["url"]}"\nusername = "{p["user"]}"\n'
                     f'password_file = "{p["name"]}.password"\npage_size = {p.get("page_size", 1000)}\ntimeout_seconds = 5\n'
                     f'max_page_bytes = {p.get("max_page_bytes", 268435456)}\n')
            if p.get("push"):
                text += f'[[peers.push]]\nlocal = "shared"\nremote = "{p["remote"]}"\n'
            else:
                text += f'[[peers.pull]]\nremote = "{p["remote"]}"\nlocal = "shared"\n'

        return text

    def init(self, users):
        with open(os.path.join(self.data, "meridian.toml"), "w") as f:
            f.write(self.config())
        for user, org in users:
            subprocess.run([MERIDIAN, "user", "add", user, "--org", org, "--data", self.data], input=PASSWORD + "\n", text=True,
                           check=True, capture_output=True)

    def start(self):
        self.proc, self.base, _ = start_server(self.data)
        return self

    @property
    def api_root(self):
        return f"http://127.0.0.1:{self.port}/p/"

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def sync(self):
        return subprocess.run([MERIDIAN, "sync", "--once", "--data", self.data], capture_output=True, text=True, timeout=120)

    def stored_ids(self):
        """Every object id the node's database holds, whoever may read it (read straight from the file)."""
        with sqlite3.connect(os.path.join(self.data, "meridian.sqlite")) as db:
            return {row[0] for row in db.execute("SELECT id FROM object_version")}

    def restart(self):
        """Stops the server, rewrites the configuration from the node's attributes, and serves again."""
        self.stop()
        with open(os.path.join(self.data, "meridian.toml"), "w") as f:
            f.write(self.config())
        serve(self)

    def names(self):
        out = subprocess.run([MERIDIAN, "export", "--collection", "shared", "--match-version", "all", "--data", self.data],
                             capture_output=True, text=True, check=True)
        return sorted(o.get("name", o["id"]) for o in json.loads(out.stdout).get("objects", []))


def serve(node):
    """Starts `meridian serve` on the node's own port."""
    proc = subprocess.Popen([MERIDIAN, "serve", "--data", node.data, "--port", str(node.port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    import requests
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{node.port}/health", timeout=1)
            node.proc = proc
            return
        except requests.exceptions.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not start")


def indicator(name, marking):
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, name)}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": name,
            "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
            "object_marking_refs": [TLP[marking]]}


def load(node, objects):
    """Stores objects in a node's shared collection with `meridian import` (the node's owner submits them)."""
    path = os.path.join(node.data, f"load-{uuid.uuid4()}.json")
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}, f)
    subprocess.run([MERIDIAN, "import", path, "--collection", "shared", "--data", node.data], check=True, capture_output=True)


def post(node, user, objects):
    import requests
    r = requests.post(f"{node.api_root}collections/shared/objects/", auth=(user, PASSWORD),
                      headers={"Accept": TAXII, "Content-Type": TAXII}, data=json.dumps({"objects": objects}), timeout=60)
    assert r.status_code == 202 and r.json()["failure_count"] == 0, r.text


@pytest.fixture
def chain():
    """A → B → C: B pulls A's shared collection, C pulls B's."""
    a = Node("a", readers=["node-b", "node-c"])
    b = Node("b", readers=["node-c"], peers=[{"name": "a", "org": "node-a", "url": "", "user": "b-sync", "remote": collection_id("a")}])
    c = Node("c", readers=[], peers=[{"name": "b", "org": "node-b", "url": "", "user": "c-sync", "remote": collection_id("b")}])
    b.peers[0]["url"] = a.api_root
    c.peers[0]["url"] = b.api_root
    a.init([("analyst", "cert-a"), ("b-sync", "node-b"), ("c-sync", "node-c")])
    b.init([("analyst", "cert-b"), ("c-sync", "node-c")])
    c.init([("analyst", "cert-c")])
    serve(a)
    serve(b)
    post(a, "analyst", [indicator(level, level) for level in TLP])
    yield a, b, c
    for n in (a, b, c):
        n.stop()


def test_a_chain_carries_clear_and_green_but_never_amber_amber_strict_or_red_to_the_third_node(chain):
    a, b, c = chain
    first = b.sync()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 stored" in first.stdout
    # Progress, not on a terminal: a line per peer every few seconds (the first after the first page).
    assert "sync a: 3 objects" in first.stderr and "objects/s" in first.stderr
    # B, a peer node, received what A lets a peer pull: CLEAR, GREEN and AMBER.
    assert b.names() == ["amber", "clear", "green"]
    second = c.sync()
    assert second.returncode == 0, second.stdout + second.stderr
    # AMBER received by B from a peer is never forwarded; AMBER+STRICT and RED never left A.
    assert c.names() == ["clear", "green"]
    # Nothing new: a second round stores nothing.
    again = b.sync()
    assert "0 stored" in again.stdout
    # A deletes its GREEN object: B deletes the copy it received from A, and C the copy it received from B.
    import requests
    green = indicator("green", "green")["id"]
    r = requests.delete(f"{a.api_root}collections/shared/objects/{green}/", auth=("analyst", PASSWORD), headers={"Accept": TAXII})
    assert r.status_code == 200
    b_sync = b.sync()
    assert "1 deleted" in b_sync.stdout, b_sync.stdout
    assert b.names() == ["amber", "clear"]
    c_sync = c.sync()
    assert "1 deleted" in c_sync.stdout, c_sync.stdout
    assert c.names() == ["clear"]


def test_a_triangle_does_not_duplicate(chain):
    """A → B → C → A: what A shared comes back to A through C and is recognised, not stored again."""
    a, b, c = chain
    assert b.sync().returncode == 0
    assert c.sync().returncode == 0
    # C serves its collection to A, and A pulls it.
    c.readers = ["node-a"]
    with open(os.path.join(c.data, "meridian.toml"), "w") as f:
        f.write(c.config())
    subprocess.run([MERIDIAN, "user", "add", "a-sync", "--org", "node-a", "--data", c.data], input=PASSWORD + "\n", text=True,
                   check=True, capture_output=True)
    serve(c)
    a.stop()
    a.peers = [{"name": "c", "org": "node-c", "url": c.api_root, "user": "a-sync", "remote": collection_id("c")}]
    with open(os.path.join(a.data, "meridian.toml"), "w") as f:
        f.write(a.config())
    before = a.names()
    report = a.sync()
    assert report.returncode == 0, report.stdout + report.stderr
    assert "0 stored, 2 already present" in report.stdout
    assert a.names() == before
    # And round again: nothing moves.
    assert "0 stored" in b.sync().stdout and "0 stored" in c.sync().stdout


def test_a_sync_killed_mid_way_resumes_without_losing_or_duplicating(chain):
    a, b, c = chain
    post(a, "analyst", [dict(indicator(f"bulk-{n}", "green")) for n in range(3000)])
    b.stop()
    with open(os.path.join(b.data, "meridian.toml"), "w") as f:
        f.write(b.config().replace("page_size = 1000", "page_size = 50"))
    # Killed at random moments, several times (issue 21, item 1): after each kill B's database is sound, holds no
    # version twice, and has a write entry for every version it holds.
    import random
    rng = random.Random()
    for _ in range(6):
        proc = subprocess.Popen([MERIDIAN, "sync", "--once", "--data", b.data], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.2, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(os.path.join(b.data, "meridian.sqlite")) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("SELECT COUNT(*) FROM (SELECT collection, id, version_us FROM object_version "
                              "GROUP BY collection, id, version_us HAVING COUNT(*) > 1)").fetchone() == (0,)
        verified = subprocess.run([MERIDIAN, "audit", "verify", "--complete", "--data", b.data], capture_output=True, text=True)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    partial = len(b.names())
    resumed = b.sync()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    names = b.names()
    assert len(names) == 3003 and len(set(names)) == 3003, (partial, len(names))


class Misbehaving(http.server.BaseHTTPRequestHandler):
    mode = "malformed"

    def do_GET(self):
        if self.mode == "slow":
            time.sleep(8)
        if self.mode == "error":
            self.send_response(500)
            self.end_headers()
            return
        body = {"malformed": b'{"more": false, "objects": [{"type": "indicator",',
                "invalid": json.dumps({"more": False, "objects": [{"type": "indicator", "id": "indicator--nonsense"},
                                                                   indicator("valid-one", "green")]}).encode(),
                "slow": b'{"more": false}',
                "huge": json.dumps({"more": False, "objects": [indicator(f"big-{n}", "green") for n in range(50)]}).encode()}[self.mode]
        self.send_response(200)
        self.send_header("Content-Type", TAXII)
        self.send_header("X-TAXII-Date-Added-First", "2026-01-01T00:00:00.000000Z")
        self.send_header("X-TAXII-Date-Added-Last", "2026-01-01T00:00:00.000000Z")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("mode", ["malformed", "error", "invalid", "slow", "huge"])
def test_a_misbehaving_peer_does_not_corrupt_the_store_and_is_reported(mode):
    port = free_port()
    handler = type("H", (Misbehaving,), {"mode": mode})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        b = Node("b", readers=[], peers=[{"name": "bad", "org": "node-bad", "url": f"http://127.0.0.1:{port}/p/",
                                          "user": "x", "remote": "5f0c0a1e-0000-4000-8000-000000000001",
                                          "max_page_bytes": 4096}])
        b.init([])
        result = b.sync()
        if mode == "invalid":
            # The valid object is stored; the invalid one is rejected and counted.
            assert "1 stored" in result.stdout and "1 rejected" in result.stdout
            assert b.names() == ["valid-one"]
            assert "rejected" in result.stderr
        else:
            assert result.returncode == 1, result.stdout
            assert "bad" in result.stdout and "errors" in result.stdout
            assert b.names() == []
            assert "synchronisation failed" in result.stderr
    finally:
        server.shutdown()


def test_a_pull_from_medallion_works():
    # medallion is installed in the test virtualenv, beside the interpreter running the tests.
    venv_medallion = os.path.join(os.path.dirname(sys.executable), "medallion")
    objects = [indicator(f"from-medallion-{n}", "green") for n in range(25)]
    now = datetime.datetime.now(datetime.timezone.utc)
    # medallion gives every object of this file the same date_added: paging must still get them all.
    added = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    coll = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    data = {"/discovery": {"title": "medallion", "default": "http://127.0.0.1/m/", "api_roots": ["http://127.0.0.1/m/"]},
            "m": {"information": {"title": "m", "versions": [TAXII], "max_content_length": 104857600}, "status": [],
                  "collections": [{"id": coll, "title": "m", "can_read": True, "can_write": True,
                                   "media_types": ["application/stix+json;version=2.1"], "objects": objects,
                                   "manifest": [{"id": o["id"], "date_added": added, "version": o["modified"],
                                                 "media_type": "application/stix+json;version=2.1"} for o in objects]}]}}
    work = tempfile.mkdtemp(prefix="medallion-")
    with open(os.path.join(work, "data.json"), "w") as f:
        json.dump(data, f)
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump({"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                               "filename": os.path.join(work, "data.json")},
                   "users": {"admin": PASSWORD}, "taxii": {"max_page_size": 10}}, f)
    port = free_port()
    proc = subprocess.Popen([venv_medallion, "--host", "127.0.0.1", "--port", str(port), os.path.join(work, "config.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import requests
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/taxii2/", auth=("admin", PASSWORD), headers={"Accept": TAXII}, timeout=1)
                break
            except requests.exceptions.ConnectionError:
                time.sleep(0.2)
        b = Node("b", readers=[], peers=[{"name": "medallion", "org": "node-medallion", "url": f"http://127.0.0.1:{port}/m/",
                                          "user": "admin", "remote": coll, "page_size": 10}])
        b.init([])
        result = b.sync()
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(b.names()) == 25
        assert "0 stored" in b.sync().stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def pushing_pair():
    """A pushes its shared collection to B, where node-a may read and write; B serves."""
    b = Node("b", readers=["node-a"])
    b.writers = ["node-a"]
    a = Node("a", readers=["node-b"], peers=[{"name": "b", "org": "node-b", "url": b.api_root, "user": "a-sync",
                                              "remote": collection_id("b"), "push": True}])
    b.init([("a-sync", "node-a")])
    a.init([("analyst", "cert-a")])
    serve(b)
    return a, b


def test_push_sends_what_the_peer_may_read_and_revocations_follow():
    """A node that cannot be reached from outside pushes to its peer: the peer gets what A's policy lets it read,
    stored as received from A; a revocation on A reaches it with the next push."""
    a, b = pushing_pair()
    try:
        load(a, [indicator(level, level) for level in TLP])
        first = a.sync()
        assert first.returncode == 0, first.stdout + first.stderr
        assert "3 pushed" in first.stdout
        assert b.names() == ["amber", "clear", "green"]
        revoked = dict(indicator("green", "green"), modified="2026-03-01T00:00:00.000Z", revoked=True)
        load(a, [revoked])
        second = a.sync()
        assert "1 pushed" in second.stdout, second.stdout
        out = subprocess.run([MERIDIAN, "export", "--collection", "shared", "--id", revoked["id"], "--data", b.data],
                             capture_output=True, text=True, check=True)
        assert json.loads(out.stdout)["objects"][0].get("revoked") is True
        # Pushing again sends nothing new.
        assert "0 pushed" in a.sync().stdout
        # A deletion on A reaches B with the next push.
        serve(a)
        import requests
        r = requests.delete(f"{a.api_root}collections/shared/objects/{indicator('clear', 'clear')['id']}/", auth=("analyst", PASSWORD),
                            headers={"Accept": TAXII})
        assert r.status_code == 200
        a.sync()
        assert "clear" not in b.names()
    finally:
        b.stop()
        a.stop()


def test_serve_synchronises_in_the_background_and_reports_per_peer_metrics(chain):
    a, b, c = chain
    serve(c)  # C pulls from B as soon as it starts
    import requests
    for _ in range(100):
        metrics = requests.get(f"http://127.0.0.1:{c.port}/metrics", timeout=5).text
        if 'meridian_federation_objects_in_total{peer="b"}' in metrics:
            break
        time.sleep(0.2)
    assert 'meridian_federation_last_success_seconds{peer="b"}' in metrics
    assert "meridian_federation_objects_in_total" in metrics


def test_pushed_deletions_of_every_tlp_level_arrive_and_travel_down_the_chain():
    """A pushes to B, where node-a may only write (docs/FEDERATION.md's set-up), and C pulls from B. Every version A
    pushed, at every TLP level, is deleted at B when A deletes it, though B does not let node-a read what it received
    from A above GREEN; C, which received CLEAR and GREEN from B, deletes its copies in turn. A DELETE the peer
    refuses is reported as a failure and tried again at the next sync."""
    import requests
    b = Node("b", readers=["node-c"])
    b.writers = ["node-a"]
    a = Node("a", readers=["node-b"], peers=[{"name": "b", "org": "node-b", "url": b.api_root, "user": "a-sync",
                                              "remote": collection_id("b"), "push": True}])
    c = Node("c", readers=[], peers=[{"name": "b", "org": "node-b", "url": b.api_root, "user": "c-sync", "remote": collection_id("b")}])
    b.init([("a-sync", "node-a"), ("c-sync", "node-c")])
    a.init([("analyst", "cert-a")])
    c.init([])
    serve(b)
    try:
        # Every org here is French: AMBER+STRICT and RED released to FRA reach node-b, and B's owner may read them.
        made = subprocess.run([MERIDIAN, "marking", "create", "--name", "REL TO FRA", "--releasable-to", "FRA", "--data", a.data],
                              capture_output=True, text=True, check=True)
        rel = json.loads(made.stdout)
        objects = {level: indicator(f"del-{level}", level) for level in TLP}
        for level in ("amber+strict", "red"):
            objects[level]["object_marking_refs"].append(rel["id"])
        load(a, [rel] + list(objects.values()))
        first = a.sync()
        assert first.returncode == 0 and "6 pushed" in first.stdout, first.stdout + first.stderr
        assert b.names() == sorted(["REL TO FRA"] + [f"del-{level}" for level in TLP])
        pulled = c.sync()
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        assert c.names() == ["REL TO FRA", "del-clear", "del-green"]

        serve(a)
        for level, o in objects.items():
            r = requests.delete(f"{a.api_root}collections/shared/objects/{o['id']}/", auth=("analyst", PASSWORD), headers={"Accept": TAXII})
            assert r.status_code == 200, (level, r.status_code)
        pushed = a.sync()
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        assert "5 deleted" in pushed.stdout, pushed.stdout
        assert b.names() == ["REL TO FRA"]
        down = c.sync()
        assert down.returncode == 0 and "2 deleted" in down.stdout, down.stdout + down.stderr
        assert c.names() == ["REL TO FRA"]

        # B stops letting node-a write: the next deletion is refused, reported, and not counted as done.
        late = indicator("del-late", "green")
        load(a, [late])
        assert "1 pushed" in a.sync().stdout
        b.stop()
        b.writers = []
        b.known = ["node-a"]
        with open(os.path.join(b.data, "meridian.toml"), "w") as f:
            f.write(b.config())
        serve(b)
        r = requests.delete(f"{a.api_root}collections/shared/objects/{late['id']}/", auth=("analyst", PASSWORD), headers={"Accept": TAXII})
        assert r.status_code == 200
        refused = a.sync()
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "HTTP 404" in refused.stdout and "the peer must give this node's account there (user 'a-sync') write access" in refused.stdout, refused.stdout
        assert "del-late" in b.names()
        # Once B lets node-a write again, the deletion that failed goes through.
        b.stop()
        b.writers = ["node-a"]
        with open(os.path.join(b.data, "meridian.toml"), "w") as f:
            f.write(b.config())
        serve(b)
        retried = a.sync()
        assert retried.returncode == 0 and "1 deleted" in retried.stdout, retried.stdout + retried.stderr
        assert "del-late" not in b.names()
    finally:
        for n in (a, b, c):
            n.stop()


# Versions that become visible to a peer after its cursor moved past them (issue 14, item 2): each reaches the peer on
# its next sync, in a chain A → B → C where C pulls from B.

def marking(node, name, *releasable_to):
    made = subprocess.run([MERIDIAN, "marking", "create", "--name", name, "--releasable-to", ",".join(releasable_to),
                           "--data", node.data], capture_output=True, text=True, check=True)
    return json.loads(made.stdout)


def marked(name, definition):
    o = indicator(name, "green")
    o["object_marking_refs"].append(definition["id"])
    return o


def synced(node):
    result = node.sync()
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_marking_b_learns_late_makes_its_objects_reach_c(chain):
    a, b, c = chain
    rel = marking(a, "REL TO FRA", "FRA")  # registered on A, not yet stored in a collection
    late = [marked(f"late-{n}", rel) for n in range(3)]
    post(a, "analyst", late + [indicator("after-late", "green")])  # C's cursor moves past them on this one
    synced(b)
    assert {o["id"] for o in late} <= b.stored_ids()  # B holds them, but cannot read them: it does not know the marking
    synced(c)
    assert indicator("after-late", "green")["id"] in c.stored_ids() and not {o["id"] for o in late} & c.stored_ids()
    # A shares the definition afterwards: B learns it, and C's next sync brings what B now lets it read.
    post(a, "analyst", [rel])
    synced(b)
    out = synced(c)
    assert {o["id"] for o in late} <= c.stored_ids(), out


def test_a_group_c_joins_late_on_b_makes_its_objects_reach_c(chain):
    a, b, c = chain
    b.groups = {"analysts": ["cert-b"]}
    b.restart()
    rel = marking(b, "REL TO analysts", "analysts")
    post(b, "analyst", [rel])
    grouped = [marked(f"grouped-{n}", rel) for n in range(3)]
    post(b, "analyst", grouped + [indicator("after-grouped", "green")])
    synced(c)
    assert indicator("after-grouped", "green")["id"] in c.stored_ids() and not {o["id"] for o in grouped} & c.stored_ids()
    # B's owner adds node-c to the group and restarts B with the new configuration.
    b.groups = {"analysts": ["cert-b", "node-c"]}
    b.restart()
    out = synced(c)
    assert {o["id"] for o in grouped} <= c.stored_ids(), out


def test_a_marking_registered_by_bs_admin_makes_its_objects_reach_c(chain):
    a, b, c = chain
    rel = marking(a, "REL TO FRA (never shared)", "FRA")  # A never stores the definition: B cannot learn it from A
    unknown = [marked(f"unknown-{n}", rel) for n in range(3)]
    post(a, "analyst", unknown + [indicator("after-unknown", "green")])
    synced(b)
    synced(c)
    assert indicator("after-unknown", "green")["id"] in c.stored_ids() and not {o["id"] for o in unknown} & c.stored_ids()
    # B's admin registers the partner's definition, in another process while B serves.
    path = os.path.join(b.data, "rel.json")
    with open(path, "w") as f:
        json.dump(rel, f)
    registered = subprocess.run([MERIDIAN, "marking", "register", path, "--data", b.data], capture_output=True, text=True)
    assert registered.returncode == 0, registered.stderr
    out = synced(c)
    assert {o["id"] for o in unknown} <= c.stored_ids(), out


def test_a_sync_run_by_another_process_right_before_cs_pull_is_read_with_the_new_markings(chain):
    a, b, c = chain
    synced(b)
    synced(c)  # B's server has decided reads with the markings it knew then
    rel = marking(a, "REL TO FRA (fresh)", "FRA")
    post(a, "analyst", [rel])
    fresh = [marked(f"fresh-{n}", rel) for n in range(3)]
    post(a, "analyst", fresh + [indicator("after-fresh", "green")])
    # `meridian sync --once` on B is another process than B's server: it stores the definition and the objects.
    synced(b)
    # At once, B's server answers node-c with the new markings, not the registry it held before.
    import requests
    r = requests.get(f"{b.api_root}collections/shared/objects/", auth=("c-sync", PASSWORD), headers={"Accept": TAXII},
                     params={"match[type]": "indicator"}, timeout=30)
    assert {o["id"] for o in fresh} <= {o["id"] for o in r.json().get("objects", [])}
    out = synced(c)
    assert {o["id"] for o in fresh} <= c.stored_ids(), out


def test_a_push_sends_what_a_late_marking_made_readable_by_the_peer():
    """A pushes to B. Objects on A refer to a marking A does not know yet: hidden from node-b, and the push cursor
    moves past them. Once A's admin registers the definition, A's next push sends them."""
    a, b = pushing_pair()
    serve(a)
    try:
        rel = marking(b, "REL TO FRA", "FRA")  # defined elsewhere: A has never seen it
        hidden = [marked(f"pending-{n}", rel) for n in range(3)]
        post(a, "analyst", hidden + [indicator("after-pending", "green")])
        first = synced(a)
        assert "1 pushed" in first, first
        assert not {o["id"] for o in hidden} & b.stored_ids()
        path = os.path.join(a.data, "rel.json")
        with open(path, "w") as f:
            json.dump(rel, f)
        subprocess.run([MERIDIAN, "marking", "register", path, "--data", a.data], check=True, capture_output=True)
        second = synced(a)
        assert "3 pushed" in second, second
        assert {o["id"] for o in hidden} <= b.stored_ids()
    finally:
        a.stop()
        b.stop()
