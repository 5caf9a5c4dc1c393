"""Crash safety (issue 21, item 1), short form: while three clients POST, an import runs and a reader pages, the server
is killed with SIGKILL at random moments, 20 times, each restart on the same data. After each kill: every object a
status resource acknowledged is stored, nothing is stored twice, date_added only grows (never reused, never going
back after a restart), the audit log is intact with an entry for every stored version, and SQLite's integrity check
passes. MERIDIAN_CRASH_ROUNDS sets the number of kills (longer runs on demand), MERIDIAN_CRASH_SEED the randomness."""
import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid

import requests

from conftest import MERIDIAN, TAXII, Poster, new_node, start_server, without_limits

PASSWORD = "a long enough password"
ROUNDS = int(os.environ.get("MERIDIAN_CRASH_ROUNDS", "20"))
SEED = int(os.environ.get("MERIDIAN_CRASH_SEED", str(random.randrange(1 << 30))))


def indicator(n):
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, f'crash-{n}')}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": f"crash {n}",
            "pattern": f"[ipv4-addr:value = '203.0.113.{n % 250}']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "description": "y" * 300}


def database_state(data):
    """(collection, id, version) of every stored version, the largest date_added per collection, and the integrity check."""
    db = sqlite3.connect(f"file:{os.path.join(data, 'meridian.sqlite')}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT collection, id, version_us, date_added FROM object_version").fetchall()
        integrity = db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()
    return rows, integrity


def test_sigkill_at_random_moments_loses_no_acknowledged_write_and_breaks_nothing():
    rng = random.Random(SEED)
    data = new_node("meridian-harness-")
    without_limits(data)  # the clients post as fast as they can
    # A file imported (into another collection) while the server is killed: the import is killed with it.
    bundle = os.path.join(tempfile.mkdtemp(prefix="meridian-harness-file-"), "bundle.json.gz")
    with gzip.open(bundle, "wt") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [indicator(10**8 + k) for k in range(1500)]}, f)
    poster = Poster(indicator, 20)
    acknowledged = poster.acknowledged
    high_water = {}  # collection -> largest date_added seen after the previous kill
    seen = set()

    def reader(base, stop):
        session = requests.Session()
        while not stop.is_set():
            try:
                page = session.get(f"{base}/partnership/collections/shared/manifest/?limit=200", auth=("alice", PASSWORD),
                                   headers={"Accept": TAXII}, timeout=10)
            except requests.exceptions.RequestException:
                return
            assert page.status_code == 200
            added = [o["date_added"] for o in page.json().get("objects", [])]
            assert added == sorted(added) and len(added) == len(set(added))

    for round_ in range(ROUNDS):
        proc, base, _ = start_server(data)
        stop = threading.Event()
        threads = [threading.Thread(target=poster.run, args=(base, stop)) for _ in range(3)]
        threads.append(threading.Thread(target=reader, args=(base, stop)))
        for t in threads:
            t.start()
        importer = None
        if round_ % 4 == 1:
            importer = subprocess.Popen([MERIDIAN, "import", bundle, "--collection", "attack-enterprise", "--transaction-bytes", "0",
                                         "--data", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.2) if importer is None else rng.uniform(0.5, 3.0))
        proc.send_signal(signal.SIGKILL)
        if importer:
            importer.send_signal(signal.SIGKILL)
            importer.wait(timeout=30)
        proc.wait(timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=30)

        rows, integrity = database_state(data)
        assert integrity == [("ok",)], f"seed {SEED}, round {round_}: {integrity}"
        keys = [(c, i, v) for c, i, v, _ in rows]
        assert len(keys) == len(set(keys)), f"seed {SEED}, round {round_}: a version is stored twice"
        stored = {i for _, i, _, _ in rows}
        missing = acknowledged - stored
        assert not missing, f"seed {SEED}, round {round_}: {len(missing)} acknowledged objects are not stored"
        # date_added never goes back: what this round stored comes after everything stored before it.
        for c, i, v, added in rows:
            if (c, i, v) not in seen and c in high_water:
                assert added > high_water[c], f"seed {SEED}, round {round_}: date_added went back in {c}"
        for c, i, v, added in rows:
            seen.add((c, i, v))
            high_water[c] = max(high_water.get(c, 0), added)
        verified = subprocess.run([MERIDIAN, "audit", "verify", "--complete", "--data", data], capture_output=True, text=True,
                                  timeout=120)
        assert verified.returncode == 0, f"seed {SEED}, round {round_}: {verified.stdout}{verified.stderr}"
    assert len(acknowledged) > 0
    print(f"crash harness, seed {SEED}: {ROUNDS} kills, {len(acknowledged)} acknowledged objects, {len(seen)} versions stored "
          f"in {len(high_water)} collection(s)")
