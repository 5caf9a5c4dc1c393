"""Operations (issue 21): an online backup taken while clients write, restored into a new directory, serves the same
objects with an intact audit log; bad backups and occupied directories are refused, leaving nothing behind."""
import json
import os
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid

import requests

from conftest import MERIDIAN, TAXII, new_node, start_server

PASSWORD = "a long enough password"
AUTH = ("alice", PASSWORD)


def indicator(n):
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, str(n))}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}


def all_objects(base):
    ids, next_ = set(), None
    while True:
        url = base + "/partnership/collections/shared/objects/?limit=1000" + (f"&next={next_}" if next_ else "")
        page = requests.get(url, auth=AUTH, headers={"Accept": TAXII}, timeout=30).json()
        ids |= {(o["id"], o["modified"]) for o in page.get("objects", [])}
        if not page.get("more"):
            return ids
        next_ = page["next"]


def run(*args):
    return subprocess.run([MERIDIAN, *args], capture_output=True, text=True, timeout=300)


def test_an_online_backup_restores_into_a_node_serving_the_same_objects_with_an_intact_audit_log():
    data = new_node("meridian-backup-")
    proc, base, _ = start_server(data)
    stop = threading.Event()
    posted = []

    def writer():
        n = 0
        while not stop.is_set():
            body = json.dumps({"objects": [indicator(n * 10 + k) for k in range(10)]})
            r = requests.post(base + "/partnership/collections/shared/objects/", auth=AUTH, data=body,
                              headers={"Accept": TAXII, "Content-Type": TAXII}, timeout=30)
            posted.append(r.status_code)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(posted) < 5:
            time.sleep(0.01)
        backup = os.path.join(tempfile.mkdtemp(prefix="meridian-bk-"), "node.backup")
        r = run("backup", "--data", data, "--out", backup)
        assert r.returncode == 0, r.stderr
        assert oct(os.stat(backup).st_mode & 0o777) == "0o600"
    finally:
        stop.set()
        thread.join()
    assert set(posted) == {202}
    proc.terminate()
    proc.wait(timeout=30)

    restored = os.path.join(tempfile.mkdtemp(prefix="meridian-restored-"), "data")
    r = run("restore", backup, "--data", restored)
    assert r.returncode == 0, r.stderr
    assert "audit log intact" in r.stdout
    assert oct(os.stat(restored).st_mode & 0o777) == "0o700"
    assert oct(os.stat(os.path.join(restored, "meridian.sqlite")).st_mode & 0o777) == "0o600"
    assert run("audit", "verify", "--complete", "--data", restored).returncode == 0
    # The copy is one moment of the database: the objects it serves are a prefix of what the original holds, and every
    # object it holds has its write entry.
    proc, base, _ = start_server(data)
    original = all_objects(base)
    proc.terminate()
    proc.wait(timeout=30)
    proc, base, _ = start_server(restored)
    try:
        copy = all_objects(base)
        assert copy and copy <= original
        assert len(copy) % 10 == 0  # whole envelopes: each POST commits at once
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # The same users sign in.
    assert "alice" in run("user", "list", "--data", restored).stdout


def test_a_restore_refuses_what_is_not_a_backup_and_an_occupied_directory_and_leaves_nothing_behind():
    data = new_node("meridian-backup-")
    target = os.path.join(tempfile.mkdtemp(prefix="meridian-restore-"), "data")
    r = run("restore", os.path.join(data, "meridian.toml"), "--data", target)
    assert r.returncode == 2 and "not a Meridian backup (not an SQLite database)" in r.stderr
    assert not os.path.exists(target)
    r = run("restore", os.path.join(data, "meridian.sqlite"), "--data", target)
    assert r.returncode == 2 and "no meridian_backup table" in r.stderr
    assert not os.path.exists(target)
    backup = os.path.join(tempfile.mkdtemp(prefix="meridian-bk-"), "node.backup")
    assert run("backup", "--data", data, "--out", backup).returncode == 0
    again = run("backup", "--data", data, "--out", backup)
    assert again.returncode == 2 and "already exists" in again.stderr
    r = run("restore", backup, "--data", data)
    assert r.returncode == 2 and "already exists" in r.stderr
    # A backup whose audit log was tampered with is refused, and nothing is left in the target.
    db = sqlite3.connect(backup)
    db.execute("UPDATE audit_entry SET entry = replace(entry, 'alice', 'mallory')")
    db.commit()
    db.close()
    r = run("restore", backup, "--data", target)
    assert r.returncode == 2 and "audit log is broken" in r.stderr
    assert not os.path.exists(target)
