"""The public transparency report and the signed checkpoints of the audit log, against the real `meridian` binary:
what the report counts (and what it must not), the recovery attack on its withheld counts with an independent linear
programming solver (SciPy's HiGHS), public access, reproducible publication, checkpoints verified with the
`cryptography` package, a rewritten log caught by the node and by a peer holding its checkpoints, key rotation, and an
outsider checking an exported log against a published checkpoint."""
import base64
import hashlib
import http.server
import json
import os
import random
import sqlite3
import subprocess
import tempfile
import threading
import uuid

import pytest
import requests

from conftest import MERIDIAN, TAXII, free_port, new_node, start_server
from test_federation import PASSWORD, TLP, Node, collection_id, serve

NOW = "2026-01-01T00:00:00.000Z"
FUTURE = "2099-01-01"  # far enough ahead that the publication delay has passed for everything stored today


def run(*args, stdin=None):
    return subprocess.run([MERIDIAN, *args], capture_output=True, text=True, input=stdin, timeout=300)


def make(category, tlp, n):
    """A STIX object of a report category (docs/TRANSPARENCY.md), marked with a TLP level."""
    oid = f"{ {'cyber-threat': 'indicator', 'disinformation': 'attack-pattern', 'critical-infrastructure': 'infrastructure', 'consultation': 'note'}[category]}--{uuid.uuid4()}"
    o = {"type": oid.split("--")[0], "spec_version": "2.1", "id": oid, "created": NOW, "modified": NOW,
         "object_marking_refs": [TLP[tlp]]}
    if category == "cyber-threat":
        o.update(name=f"secret-indicator-{n}", pattern=f"[ipv4-addr:value = '198.51.100.{n % 250}']", pattern_type="stix",
                 valid_from="2026-01-01T00:00:00Z")
    elif category == "disinformation":
        o.update(name=f"secret-technique-{n}", external_references=[{"source_name": "DISARM", "external_id": "T0049"}])
    elif category == "critical-infrastructure":
        o.update(name=f"secret-cable-{n}", infrastructure_types=["unknown"])
    else:
        o.update(content=f"secret note {n}", object_refs=[f"indicator--{uuid.uuid4()}"])
    return o


def partnership(seed, include_excluded=True):
    """A node whose owner (FRA) imports and a partner (JPN) posts random numbers of objects of every category and TLP;
    returns the data directory and the true counts by (category, tlp, country)."""
    rng = random.Random(seed)
    data = new_node(f"meridian-transparency-{seed}-")
    assert run("user", "add", "bob", "--org", "cert-partner", "--data", data, stdin=PASSWORD + "\n").returncode == 0
    with open(os.path.join(data, "meridian.toml"), "a") as f:
        f.write("\n[limits]\nrequests_per_minute_per_account = 0\nrequests_per_minute_per_address = 0\n")
    text = open(os.path.join(data, "meridian.toml")).read()
    # Only `shared` counts: objects in ATT&CK's collection must not appear.
    text = text.replace("[transparency]\n", '[transparency]\ncollections = ["shared"]\n')
    with open(os.path.join(data, "meridian.toml"), "w") as f:
        f.write(text)
    truth = {}
    owner, partner = [], []
    n = 0
    for category in ["cyber-threat", "disinformation", "critical-infrastructure", "consultation"]:
        for tlp in ["clear", "green", "amber", "amber+strict", "red"]:
            for country, target in (("FRA", owner), ("JPN", partner)):
                # Mostly small counts, so that much is withheld; some large.
                count = rng.choice([0, 0, 1, 2, 3, 4, 6, 9, 15, 30])
                for _ in range(count):
                    target.append(make(category, tlp, n))
                    n += 1
                # The report counts what the node's owner may read (docs/TRANSPARENCY.md): a partner's TLP:RED
                # objects that name nobody are stored but neither read nor counted.
                truth[(category, tlp, country)] = 0 if (tlp, country) == ("red", "JPN") else count
    bundle = os.path.join(data, "owner.json")
    with open(bundle, "w") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": owner}, f)
    assert run("import", bundle, "--collection", "shared", "--data", data).returncode == 0
    if include_excluded:
        excluded = os.path.join(data, "excluded.json")
        with open(excluded, "w") as f:
            json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                       "objects": [make("disinformation", "clear", 10_000 + i) for i in range(40)]}, f)
        assert run("import", excluded, "--collection", "attack-enterprise", "--data", data).returncode == 0
    proc, base, _ = start_server(data)
    try:
        for i in range(0, len(partner), 500):
            r = requests.post(f"{base}/partnership/collections/shared/objects/", auth=("bob", PASSWORD), timeout=60,
                              headers={"Accept": TAXII, "Content-Type": TAXII}, data=json.dumps({"objects": partner[i:i + 500]}))
            assert r.status_code == 202 and r.json()["failure_count"] == 0, r.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return data, truth


def publish(data, date=FUTURE):
    out = tempfile.mkdtemp(prefix="meridian-published-")
    r = run("transparency", "publish", "--data", data, "--out", out, "--date", date)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "report.json")) as f:
        return out, json.load(f)


def equations(report):
    """The linear equations a reader can write from the report: unknowns are the withheld counts (shared series, such
    as the month totals of the object-version tables, are one unknown however many tables show them)."""
    unknowns, rows = {}, []

    def term(key, value):
        if value is None:
            return unknowns.setdefault(key, len(unknowns)), 0
        return None, value

    def equal(total, parts):
        """total = sum(parts), each a (key, value) pair."""
        coefficients, constant = {}, 0
        for sign, (key, value) in [(-1, total)] + [(1, p) for p in parts]:
            index, known = term(key, value)
            if index is None:
                constant += sign * known
            else:
                coefficients[index] = coefficients.get(index, 0) + sign
        rows.append((coefficients, constant))

    for t in report["tables"]:
        s, tid = t["series"], t["id"]
        cells = [[((tid, "cell", r["month"], c), v) for c, v in enumerate(r["cells"])] for r in t["rows"]]
        total = ((s, "total"), t["total"])
        columns = [((tid, "column", c), v) for c, v in enumerate(t["column_totals"])]
        if t["rows"] and "total" in t["rows"][0]:
            row_totals = [((s, "row", r["month"]), r["total"]) for r in t["rows"]]
            for row, cells_of_row in zip(row_totals, cells):
                equal(row, cells_of_row)
            equal(total, row_totals)
        else:
            equal(total, [row[0] for row in cells])
        for c, column in enumerate(columns):
            equal(column, [row[c] for row in cells])
        equal(total, columns)
    return unknowns, rows


def attack(report):
    """The interval each withheld count lies in, given everything published, by linear programming; {key: (lo, hi)}."""
    from scipy.optimize import linprog  # here, not at collection: SciPy makes every test process larger

    unknowns, rows = equations(report)
    n = len(unknowns)
    if n == 0:
        return {}
    a_eq = [[coefficients.get(i, 0) for i in range(n)] for coefficients, _ in rows]
    b_eq = [-constant for _, constant in rows]
    intervals = {}
    for key, i in unknowns.items():
        objective = [0] * n
        objective[i] = 1
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * n, method="highs")
        objective[i] = -1
        high = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * n, method="highs")
        assert low.status == 0, (key, low.message)
        intervals[key] = (low.fun, float("inf") if high.status == 3 else -high.fun)
    return intervals


def well_formed(page):
    """The page parsed as HTML: every element closed in order (void elements aside); returns the text of its cells."""
    import html.parser

    class Checker(html.parser.HTMLParser):
        void = {"meta", "br", "img", "input", "link", "hr", "line", "rect"}

        def __init__(self):
            super().__init__()
            self.open, self.cells, self.in_cell = [], [], False

        def handle_starttag(self, tag, attrs):
            if tag not in self.void:
                self.open.append(tag)
            self.in_cell = tag == "td"

        def handle_startendtag(self, tag, attrs):
            pass

        def handle_endtag(self, tag):
            if tag in self.void:
                return
            assert self.open and self.open[-1] == tag, (tag, self.open[-5:])
            self.open.pop()
            self.in_cell = False

        def handle_data(self, data):
            if self.in_cell:
                self.cells.append(data)

    checker = Checker()
    checker.feed(page)
    assert checker.open == [], checker.open
    return checker.cells


def published_numbers(report):
    for t in report["tables"]:
        for r in t["rows"]:
            yield from r["cells"]
            if "total" in r:
                yield r["total"]
        yield from t["column_totals"]
        yield t["total"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_withheld_count_can_be_recovered_and_none_below_k_is_published(seed):
    data, truth = partnership(seed, include_excluded=seed == 1)
    _, report = publish(data)
    k = report["k"]
    assert k == 5 and report["withheld"] > 0
    for v in published_numbers(report):
        assert v is None or v >= k, f"{v} < k published"
    intervals = attack(report)
    assert len(intervals) == report["withheld"] or len(intervals) <= report["withheld"]
    for key, (lo, hi) in intervals.items():
        assert hi - lo > 0.5, f"withheld count {key} is recoverable: it lies in [{lo}, {hi}]"
    # What is published is true: categories, TLP levels and countries (this month only, all of it in `shared`).
    tables = {t["id"]: t for t in report["tables"]}
    month = report["months"][-1]
    for tid, index in (("category", 0), ("tlp", 1), ("country", 2)):
        t = tables[tid]
        row = next(r for r in t["rows"] if r["month"] == month)
        for c, column in enumerate(t["columns"]):
            expected = sum(v for key, v in truth.items() if key[index] == column)
            if row["cells"][c] is not None:
                assert row["cells"][c] == expected, (tid, column)
    grand = sum(truth.values())
    assert tables["category"]["total"] in (None, grand)


def test_the_report_leaves_out_excluded_collections_and_what_is_newer_than_the_delay():
    data, truth = partnership(4)
    grand = sum(truth.values())
    # Today, with the default 30 days' delay: nothing is old enough.
    today = subprocess.run(["date", "-u", "+%Y-%m-%d"], capture_output=True, text=True).stdout.strip()
    _, now = publish(data, today)
    assert now["months"] == [] and now["delay_days"] == 30
    # Later: everything in `shared`, nothing of the 40 objects in ATT&CK's collection.
    _, later = publish(data)
    category = next(t for t in later["tables"] if t["id"] == "category")
    disinformation = sum(v for key, v in truth.items() if key[0] == "disinformation")
    assert category["total"] in (None, grand)
    if category["column_totals"][1] is not None:
        assert category["column_totals"][1] == disinformation
    # No id, name or value of any object appears.
    out, _ = publish(data)
    for name in os.listdir(out):
        text = open(os.path.join(out, name)).read()
        assert "secret" not in text and "indicator--" not in text and "198.51.100" not in text, name


def test_publication_is_reproducible_byte_for_byte():
    data, _ = partnership(5, include_excluded=False)
    first, _ = publish(data, "2099-03-01")
    second, _ = publish(data, "2099-03-01")
    assert sorted(os.listdir(first)) == sorted(os.listdir(second)) == ["category.svg", "country.svg", "index.html", "report.json",
                                                                        "sightings.svg", "tlp.svg"]
    for name in os.listdir(first):
        with open(os.path.join(first, name), "rb") as a, open(os.path.join(second, name), "rb") as b:
            assert a.read() == b.read(), name


def test_the_report_is_public_and_the_same_for_every_reader():
    data, _ = partnership(6, include_excluded=False)
    with open(os.path.join(data, "meridian.toml")) as f:
        text = f.read().replace("delay_days = 30", "delay_days = 0")
    with open(os.path.join(data, "meridian.toml"), "w") as f:
        f.write(text)
    proc, base, _ = start_server(data)
    try:
        anonymous = requests.get(base + "/transparency/report.json", timeout=30)
        assert anonymous.status_code == 200 and anonymous.headers["Content-Type"].startswith("application/json")
        report = anonymous.json()
        assert report["months"] and report["public_keys"] and report["public_keys"][0]["algorithm"] == "Ed25519"
        for auth in (("alice", PASSWORD), ("bob", PASSWORD)):
            assert requests.get(base + "/transparency/report.json", auth=auth, timeout=30).content == anonymous.content
        # The signing keys are also where a TAXII client learns the node: its discovery resource.
        from taxii2client.v21 import Server
        server = Server(f"{base}/taxii2/", user="bob", password=PASSWORD)
        assert server.title and [k["id"] for k in server.custom_properties["x_meridian_signing_keys"]] == \
            [k["id"] for k in report["public_keys"]]
        page = requests.get(base + "/transparency/", timeout=30)
        assert page.status_code == 200 and "<svg" in page.text and "report.json" in page.text and "secret" not in page.text
        # Every number in the page's tables is one the report publishes, or the mark of a withheld one.
        cells = well_formed(page.text)
        allowed = {str(v) for v in published_numbers(report) if v is not None} | {"·", "All months", "in use"}
        allowed |= {k["id"] for k in report["public_keys"]} | set(report["months"]) | {k["created"] for k in report["public_keys"]}
        assert cells and all(c in allowed for c in cells), [c for c in cells if c not in allowed]
        assert requests.get(base + "/transparency", timeout=30, allow_redirects=False).status_code == 301
        for v in published_numbers(report):
            assert v is None or v >= 5
        for key, (lo, hi) in attack(report).items():
            assert hi - lo > 0.5, key
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # Turned off: 404, and no counts.
    with open(os.path.join(data, "meridian.toml"), "a") as f:
        f.write("")
    text = text.replace("[transparency]\n", "[transparency]\nenabled = false\n")
    with open(os.path.join(data, "meridian.toml"), "w") as f:
        f.write(text)
    proc, base, _ = start_server(data)
    try:
        r = requests.get(base + "/transparency/report.json", timeout=30)
        assert r.status_code == 404 and "no transparency report" in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("setting, message", [
    ("k = 1", "transparency.k must be between 2"),
    ("delay_days = -1", "transparency.delay_days must be between 0"),
    ('collections = ["nowhere"]', "transparency.collections: 'nowhere' is not a declared collection"),
    ('dimensions = ["names"]', "transparency.dimensions: 'names' is not one of"),
])
def test_a_misconfigured_transparency_section_is_refused_naming_the_key(setting, message):
    data = new_node("meridian-transparency-bad-")
    path = os.path.join(data, "meridian.toml")
    text = open(path).read()
    key = setting.split(" = ")[0]
    lines = [line for line in text.split("\n") if not line.startswith(key + " = ")]
    text = "\n".join(lines).replace("[transparency]\n", f"[transparency]\n{setting}\n")
    with open(path, "w") as f:
        f.write(text)
    r = run("config", "check", "--file", path)
    assert r.returncode == 1 and message in r.stderr, r.stderr
    line = text.split("\n").index(setting) + 1
    if key != "collections" and key != "dimensions":
        assert f"meridian.toml:{line}:" in r.stderr, r.stderr
    r = run("serve", "--data", data, "--port", "1")
    assert r.returncode != 0 and message in r.stderr


# MARK: - Checkpoints


def signed(checkpoint, keys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(keys[checkpoint["key_id"]]))
    text = f"meridian-checkpoint/1\n{checkpoint['node']}\n{checkpoint['seq']}\n{checkpoint['head']}\n{checkpoint['at']}\n"
    key.verify(base64.b64decode(checkpoint["signature"]), text.encode())  # raises when it does not hold
    return True


def rewrite(data, rehash, drop_own_checkpoints=False):
    """Changes the org of the first write entry of the node's audit log, as an operator covering tracks would;
    with `rehash`, every later entry's prev and hash (and the head) are recomputed so that the chain holds again."""
    with sqlite3.connect(os.path.join(data, "meridian.sqlite")) as db:
        entries = db.execute("SELECT seq, entry FROM audit_entry ORDER BY seq").fetchall()
        target = next(seq for seq, entry in entries if b'"action":"write"' in bytes(entry))
        previous = bytes(32)
        for seq, entry in entries:
            entry = bytes(entry)
            if seq == target:
                entry = entry.replace(b'"org":null', b'"org":"someone-else"', 1).replace(b'"org":"cert-a"', b'"org":"someone-else"', 1)
            if rehash:
                start = entry.index(b'"prev":"') + 8
                entry = entry[:start] + previous.hex().encode() + entry[start + 64:]
            digest = hashlib.sha256(entry).digest()
            if rehash or seq == target:
                db.execute("UPDATE audit_entry SET entry = ?, hash = ? WHERE seq = ?", (entry, digest if rehash else
                           db.execute("SELECT hash FROM audit_entry WHERE seq = ?", (seq,)).fetchone()[0], seq))
            previous = digest
        if rehash:
            db.execute("UPDATE audit_head SET hash = ? WHERE one = 1", (previous,))
        if drop_own_checkpoints:
            db.execute("DELETE FROM audit_checkpoint WHERE origin = 'self'")


def test_checkpoints_are_signed_and_a_rewritten_log_contradicts_them():
    data = new_node("meridian-checkpoints-")
    bundle = os.path.join(data, "b.json")
    with open(bundle, "w") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [make("cyber-threat", "green", i) for i in range(5)]}, f)
    assert run("import", bundle, "--collection", "shared", "--data", data).returncode == 0
    proc, base, _ = start_server(data)
    try:
        document = requests.get(base + "/transparency/checkpoints/", timeout=30).json()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    keys = {k["id"]: k["key"] for k in document["public_keys"]}
    assert document["node"] == "cert-example" and document["checkpoints"]
    for c in document["checkpoints"]:
        assert signed(c, keys)
    # A forged signature does not verify.
    forged = dict(document["checkpoints"][0], head="0" * 64)
    with pytest.raises(Exception):
        signed(forged, keys)
    ok = run("audit", "verify", "--data", data)
    assert ok.returncode == 0 and "matches 1 signed checkpoint" in ok.stdout, ok.stdout + ok.stderr
    # Rewritten in place: the chain itself breaks.
    broken = tempfile.mkdtemp(prefix="meridian-rewrite-")
    subprocess.run(["cp", "-a", data + "/.", broken], check=True)
    rewrite(broken, rehash=False)
    r = run("audit", "verify", "--data", broken)
    assert r.returncode == 1 and "BROKEN" in r.stderr and "was altered" in r.stderr
    # Rewritten and re-hashed from the first entry: the chain holds, the checkpoint does not.
    rewrite(data, rehash=True)
    r = run("audit", "verify", "--data", data)
    assert r.returncode == 1, r.stdout
    assert "audit log intact" in r.stdout and "CONTRADICTS checkpoint" in r.stderr and "held by this node" in r.stderr, r.stderr
    assert "the log was rewritten after this checkpoint" in r.stderr


def test_key_rotation_keeps_old_checkpoints_verifiable_and_erases_the_old_private_key():
    data = new_node("meridian-rotate-")
    assert run("audit", "checkpoint", "--data", data).returncode == 0
    first = run("key", "list", "--data", data).stdout
    rotated = run("key", "rotate", "--data", data)
    assert rotated.returncode == 0 and "new signing key" in rotated.stdout
    made = run("audit", "checkpoint", "--data", data)
    assert made.returncode == 0 and "signed with key" in made.stdout
    listed = run("key", "list", "--data", data).stdout
    assert listed.count("\n") == first.count("\n") + 1 and "in use" in listed
    with sqlite3.connect(os.path.join(data, "meridian.sqlite")) as db:
        keys = db.execute("SELECT id, private_key IS NULL, retired IS NOT NULL FROM node_key ORDER BY created").fetchall()
        ids = [c[0] for c in db.execute("SELECT key_id FROM audit_checkpoint WHERE origin = 'self' ORDER BY seq")]
    assert [k[1:] for k in keys] == [(1, 1), (0, 0)]
    assert ids == [keys[0][0], keys[1][0]]
    r = run("audit", "verify", "--data", data, "--no-peers")
    assert r.returncode == 0 and "matches 2 signed checkpoint" in r.stdout, r.stdout + r.stderr
    # A checkpoint whose key is unknown to the node is refused by name.
    with sqlite3.connect(os.path.join(data, "meridian.sqlite")) as db:
        db.execute("UPDATE audit_checkpoint SET key_id = 'feedfeedfeedfeed' WHERE seq = (SELECT MIN(seq) FROM audit_checkpoint)")
    r = run("audit", "verify", "--data", data)
    assert r.returncode == 1 and "is not signed by any key of this node (key feedfeedfeedfeed)" in r.stderr


def test_an_outsider_checks_an_exported_log_against_a_published_checkpoint():
    data = new_node("meridian-outsider-")
    bundle = os.path.join(data, "b.json")
    with open(bundle, "w") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [make("consultation", "clear", i) for i in range(3)]}, f)
    assert run("import", bundle, "--collection", "shared", "--data", data).returncode == 0
    proc, base, _ = start_server(data)
    try:
        url = base + "/transparency/checkpoints/"
        seq = requests.get(url, timeout=10).json()["checkpoints"][0]["seq"]
        exported = os.path.join(data, "log.jsonl")
        with open(exported, "w") as f:
            subprocess.run([MERIDIAN, "audit", "export", "--data", data], stdout=f, check=True)
        r = run("audit", "verify", "--export", exported, "--checkpoint", url)
        assert r.returncode == 0 and "exported audit log intact" in r.stdout, r.stdout + r.stderr
        # The same log re-hashed after a change passes its own chain but not the published checkpoint.
        lines = open(exported, "rb").read().splitlines()
        previous = bytes(32)
        out = []
        for i, line in enumerate(lines):
            entry = line[:line.rindex(b',"hash":')] + b"}"
            if i == 0:
                entry = entry.replace(b'"at":"', b'"at":"1', 1)
            start = entry.index(b'"prev":"') + 8
            entry = entry[:start] + previous.hex().encode() + entry[start + 64:]
            digest = hashlib.sha256(entry).digest()
            out.append(entry[:-1] + b',"hash":"' + digest.hex().encode() + b'"}')
            previous = digest
        tampered = os.path.join(data, "tampered.jsonl")
        with open(tampered, "wb") as f:
            f.write(b"\n".join(out) + b"\n")
        r = run("audit", "verify", "--export", tampered, "--checkpoint", url)
        assert r.returncode == 1 and "the log was rewritten after it" in r.stderr, r.stdout + r.stderr
        # A truncated export ends before the checkpoint.
        with open(tampered, "wb") as f:
            f.write(b"\n".join(lines[:seq - 1]) + b"\n")
        r = run("audit", "verify", "--export", tampered, "--checkpoint", url)
        assert r.returncode == 1 and "entries were removed" in r.stderr, r.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert run("audit", "verify", "--export", exported).returncode == 2


def test_a_peer_holding_checkpoints_catches_a_log_rewritten_with_its_own_checkpoints():
    """B pulls from A and keeps A's checkpoints. A's operator then re-hashes A's log and deletes A's own checkpoints:
    A's chain and its remaining checkpoints hold, but `audit verify` on A asks B, whose copy contradicts the log."""
    a = Node("a", readers=["node-b"], peers=[{"name": "b", "org": "node-b", "url": "", "user": "a-sync", "remote": collection_id("b")}])
    b = Node("b", readers=["node-a"], peers=[{"name": "a", "org": "node-a", "url": "", "user": "b-sync", "remote": collection_id("a")}])
    a.peers[0]["url"] = b.api_root
    b.peers[0]["url"] = a.api_root
    a.init([("analyst", "cert-a"), ("b-sync", "node-b")])
    b.init([("analyst", "cert-b"), ("a-sync", "node-a")])
    try:
        serve(a)
        from test_federation import post
        post(a, "analyst", [make("cyber-threat", "green", i) for i in range(3)])
        assert run("audit", "checkpoint", "--data", a.data).returncode == 0
        synced = b.sync()
        assert synced.returncode == 0 and "checkpoint(s) witnessed" in synced.stdout, synced.stdout + synced.stderr
        a.stop()
        rewrite(a.data, rehash=True, drop_own_checkpoints=True)
        # Without the peer, the rewrite goes unseen.
        alone = run("audit", "verify", "--data", a.data, "--no-peers")
        assert alone.returncode == 0, alone.stdout + alone.stderr
        serve(b)
        held = requests.get(f"http://127.0.0.1:{b.port}/transparency/checkpoints/witnessed", timeout=10).json()
        assert held["witnessed"]["a"] and held["witnessed"]["a"][0]["node"] == "cert-a"
        caught = run("audit", "verify", "--data", a.data)
        assert caught.returncode == 1, caught.stdout + caught.stderr
        assert "CONTRADICTS checkpoint" in caught.stderr and "held by peer 'b'" in caught.stderr, caught.stderr
    finally:
        a.stop()
        b.stop()


class CheckpointPeer(http.server.BaseHTTPRequestHandler):
    """A TAXII peer with nothing to share whose checkpoints are malformed, or signed by a key it does not list."""
    mode = "malformed"

    def do_GET(self):
        if self.path.startswith("/transparency/checkpoints/"):
            if self.mode == "malformed":
                body = b'{"public_keys": [], "checkpoints": [{"seq": "x"}]}'
            else:
                # "weak": the all-zero key, a point of small order that accepts an all-zero signature of anything;
                # "forged": a real key, but the signature is over another text.
                from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
                from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
                private = Ed25519PrivateKey.generate()
                raw = bytes(32) if self.mode == "weak" else private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                signature = bytes(64) if self.mode == "weak" else private.sign(b"something else")
                body = json.dumps({"node": "cert-bad", "public_keys": [{"id": "k1", "key": base64.b64encode(raw).decode()}],
                                   "checkpoints": [{"node": "cert-bad", "seq": 3, "head": "ab" * 32, "at": "2026-12-01T00:00:00.000000Z",
                                                    "key_id": "k1", "signature": base64.b64encode(signature).decode()}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
            return
        if "/objects/" not in self.path:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", TAXII)
        self.end_headers()
        self.wfile.write(b'{"more": false}')

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("mode", ["malformed", "weak", "forged"])
def test_a_peer_serving_bad_checkpoints_is_recorded_and_does_not_stop_sync(mode):
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), type("H", (CheckpointPeer,), {"mode": mode}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        b = Node("b", readers=[], peers=[{"name": "bad", "org": "node-bad", "url": f"http://127.0.0.1:{port}/p/",
                                          "user": "x", "remote": "5f0c0a1e-0000-4000-8000-000000000001"}])
        b.init([])
        result = b.sync()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "checkpoints refused" in result.stdout and "errors" not in result.stdout, result.stdout
        assert "the peer's checkpoints are malformed" in result.stderr
        with sqlite3.connect(os.path.join(b.data, "meridian.sqlite")) as db:
            assert db.execute("SELECT COUNT(*) FROM audit_checkpoint WHERE origin = 'bad'").fetchone()[0] == 0
    finally:
        server.shutdown()
