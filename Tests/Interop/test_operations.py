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


def big_indicator(n, size=200_000):
    o = indicator(1_000_000 + n)
    o["description"] = "x" * size
    return o


def test_a_full_disk_refuses_writes_with_503_keeps_reads_and_recovers_once_space_is_freed():
    mountpoint = tempfile.mkdtemp(prefix="meridian-small-disk-")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", mountpoint], capture_output=True, text=True)
    if mounted.returncode != 0:
        import pytest
        pytest.skip("mounting a small file system needs root: " + mounted.stderr.strip())
    proc = None
    try:
        data = os.path.join(mountpoint, "data")
        subprocess.run([MERIDIAN, "init", "--data", data], check=True, capture_output=True)
        subprocess.run([MERIDIAN, "user", "add", "alice", "--org", "cert-example", "--data", data], input=PASSWORD + "\n",
                       text=True, check=True, capture_output=True)
        # Most of the file system is taken by a file the test frees later.
        filler = os.path.join(mountpoint, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (36 << 20))
        proc, base, _ = start_server(data)
        headers = {"Accept": TAXII, "Content-Type": TAXII}
        stored, refused = [], None
        for n in range(200):
            objects = [big_indicator(n * 5 + k) for k in range(5)]
            r = requests.post(base + "/partnership/collections/shared/objects/", auth=AUTH, data=json.dumps({"objects": objects}),
                              headers=headers, timeout=60)
            if r.status_code == 202:
                stored += [o["id"] for o in objects]
                continue
            refused = (r, objects)
            break
        assert refused is not None, "the small file system never filled"
        r, lost = refused
        assert r.status_code == 503 and r.headers["Content-Type"].startswith("application/taxii+json")
        assert r.json()["title"] == "Storage full"
        # Reads go on; nothing of the refused envelope was stored; everything acknowledged is there.
        held = {i for i, _ in all_objects(base)}
        assert set(stored) <= held
        assert not {o["id"] for o in lost} & held
        # Space freed: the same write succeeds, without a restart.
        os.remove(filler)
        again = requests.post(base + "/partnership/collections/shared/objects/", auth=AUTH, data=json.dumps({"objects": lost}),
                              headers=headers, timeout=60)
        assert again.status_code == 202 and again.json()["success_count"] == len(lost)
        assert {o["id"] for o in lost} <= {i for i, _ in all_objects(base)}
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
        proc = None
        assert "the disk holding the database is full" in out
        # Every acknowledged write has its audit entry, and the chain is intact.
        verified = run("audit", "verify", "--complete", "--data", data)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        if proc:
            proc.kill()
            proc.wait(timeout=30)
        subprocess.run(["umount", mountpoint], capture_output=True)


def test_a_data_directory_written_by_v0_1_0_is_migrated_and_served_with_its_objects_users_and_tokens():
    import shutil
    fixture = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Fixtures", "v0.1.0")
    data = os.path.join(tempfile.mkdtemp(prefix="meridian-upgrade-"), "data")
    os.makedirs(data)
    for name in ("meridian.toml", "meridian.sqlite"):
        shutil.copy(os.path.join(fixture, name), data)
        os.chmod(os.path.join(data, name), 0o644)  # as v0.1.0 left them
    with open(os.path.join(fixture, "bob.token")) as f:
        token = f.read().strip()
    # v0.1.0 left the database readable by others: serve names it and says what to do.
    refused = run("serve", "--data", data, "--port", "0")
    assert refused.returncode == 2 and "meridian.sqlite (mode 644)" in refused.stderr
    os.chmod(os.path.join(data, "meridian.sqlite"), 0o600)
    proc, base, _ = start_server(data)
    try:
        headers = {"Accept": TAXII}
        page = requests.get(base + "/partnership/collections/shared/objects/", auth=("alice", "alice password 123"),
                            headers=headers, timeout=30).json()
        assert sorted(o["id"] for o in page["objects"]) == [
            "indicator--0b0b0b0b-0000-4000-8000-000000000001", "indicator--d3e00000-0000-4000-8000-000000000010",
            "ipv4-addr--d3e00000-0000-4000-8000-000000000008", "observed-data--d3e00000-0000-4000-8000-000000000009"]
        # bob's token from v0.1.0 still works, and the new account operations apply to old accounts.
        assert requests.get(base + "/partnership/collections/", headers={**headers, "Authorization": "Bearer " + token},
                            timeout=30).status_code == 200
        assert run("user", "disable", "bob", "--data", data).returncode == 0
        assert requests.get(base + "/partnership/collections/", headers={**headers, "Authorization": "Bearer " + token},
                            timeout=30).status_code == 401
        users = requests.get(base + "/admin/users/", auth=("alice", "alice password 123"), headers=headers, timeout=30).json()
        assert {(u["name"], u["org"], u["admin"], u["disabled"]) for u in users["users"]} == {
            ("alice", "cert-example", True, False), ("bob", "cert-partner", False, True)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    verified = run("audit", "verify", "--complete", "--data", data)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    db = sqlite3.connect(os.path.join(data, "meridian.sqlite"))
    migrations = [r[0] for r in db.execute("SELECT identifier FROM grdb_migrations")]
    db.close()
    # Every migration of this release ran, in order (v9 added the signing keys and checkpoints).
    assert [m.split(":")[0] for m in migrations] == [f"v{i}" for i in range(1, len(migrations) + 1)] and len(migrations) >= 9


def test_request_limits_answer_429_with_retry_after_and_throttle_repeated_failed_sign_ins():
    data = new_node("meridian-limits-")
    with open(os.path.join(data, "meridian.toml"), "a") as f:
        f.write("\n[limits]\nrequests_per_minute_per_address = 30\nsign_in_failures = 3\nsign_in_throttle_seconds = 120\n")
    proc, base, _ = start_server(data)
    try:
        headers = {"Accept": TAXII}
        # Three wrong passwords for alice: the fourth attempt is refused before it is checked, even with the right one.
        for _ in range(3):
            assert requests.get(base + "/partnership/collections/", auth=("alice", "wrong"), headers=headers, timeout=10).status_code == 401
        throttled = requests.get(base + "/partnership/collections/", auth=AUTH, headers=headers, timeout=10)
        assert throttled.status_code == 429 and throttled.json()["title"] == "Too many requests"
        assert 100 <= int(throttled.headers["Retry-After"]) <= 120
        assert "failed sign-ins" in throttled.json()["description"]
        # A burst of ten (30 a minute) is allowed from one address; then 429 with Retry-After.
        statuses = [requests.get(base + "/taxii2/", headers=headers, timeout=10).status_code for _ in range(15)]
        assert 429 in statuses
        refused = requests.get(base + "/taxii2/", headers=headers, timeout=10)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["Content-Type"].startswith("application/taxii+json")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # A limit out of range is refused at start, naming the key.
    with open(os.path.join(data, "meridian.toml"), "a") as f:
        f.write("concurrent_requests_per_account = -1\n")
    r = run("config", "check", "--data", data)
    assert r.returncode == 1 and "limits.concurrent_requests_per_account" in r.stderr
