"""A node on PostgreSQL (`[storage] backend = "postgresql"`, docs/SCALING.md) run as an operator runs it: the real
binary, the test cluster of scripts/test.sh. Mistakes in the settings stop it with messages that name the setting and
never the password; two `meridian serve` replicas on one database act as one node."""
import json
import os
import re
import subprocess
import tempfile
import uuid

import pytest
import requests

from conftest import BACKEND, MERIDIAN, TAXII, database_url, free_port, new_node, start_server

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="runs in the PostgreSQL pass of scripts/test.sh")

PASSWORD = "a long enough password"


def run(*args, stdin=None):
    return subprocess.run([MERIDIAN, *args], input=stdin, text=True, capture_output=True, timeout=120)


def set_storage(data, **changes):
    """Rewrites keys of the node's [storage] table."""
    path = os.path.join(data, "meridian.toml")
    with open(path) as f:
        text = f.read()
    for key, value in changes.items():
        text = re.sub(rf'^{key} = .*$', f'{key} = {value}', text, flags=re.M)
    with open(path, "w") as f:
        f.write(text)


def indicator(n):
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.UUID(int=n, version=4)}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": f"C2 {n}",
            "pattern": f"[ipv4-addr:value = '203.0.113.{n % 250}']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "object_marking_refs": [
                "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}


def test_settings_mistakes_stop_the_node_naming_the_setting_and_never_the_password():
    data = new_node("meridian-pg-settings-")
    password_file = os.path.join(data, "db-password")
    with open(password_file) as f:
        real = f.read().strip()
    # A password file others may read.
    os.chmod(password_file, 0o644)
    r = run("user", "list", "--data", data)
    assert r.returncode == 2 and "storage.password_file" in r.stderr and "chmod 600" in r.stderr, r.stderr
    os.chmod(password_file, 0o600)
    # A wrong password.
    with open(password_file, "w") as f:
        f.write("not-the-password\n")
    r = run("user", "list", "--data", data)
    assert r.returncode == 2 and "refused the credentials of user" in r.stderr, r.stderr
    assert "not-the-password" not in r.stdout + r.stderr
    with open(password_file, "w") as f:
        f.write(real + "\n")
    # A database that does not exist, and a server that is not there.
    url = re.search(r'^url = "([^"]+)"', open(os.path.join(data, "meridian.toml")).read(), re.M).group(1)
    set_storage(data, url=f'"{re.sub(r"/meridian_interop_[0-9a-f]+", "/no_such_database", url)}"')
    r = run("user", "list", "--data", data)
    assert r.returncode == 2 and "has no database 'no_such_database'" in r.stderr, r.stderr
    closed = free_port()
    set_storage(data, url=f'"{re.sub(r":[0-9]+/", f":{closed}/", url)}"')
    r = run("serve", "--data", data, "--port", str(free_port()))
    assert r.returncode != 0 and f"cannot reach PostgreSQL at 127.0.0.1:{closed}" in r.stderr, r.stderr
    assert real not in r.stdout + r.stderr
    # A password in the URL itself is refused before any connection.
    set_storage(data, url=f'"{url.replace("@", ":" + real + "@", 1)}"')
    r = run("config", "check", "--data", data)
    assert r.returncode == 1 and "storage.url holds a password" in r.stdout + r.stderr
    assert real not in r.stdout + r.stderr


def test_backup_is_left_to_the_database_and_the_audit_log_verifies_in_it():
    data = new_node("meridian-pg-backup-")
    r = run("backup", "--data", data, "--out", os.path.join(tempfile.mkdtemp(), "b.sqlite"))
    assert r.returncode != 0 and "pg_dump" in r.stderr, r.stderr
    r = run("audit", "verify", "--data", data)
    assert r.returncode == 0 and "intact" in r.stdout, r.stdout + r.stderr
    users = subprocess.run(["psql", database_url(data), "-At", "-c", "SELECT name, org FROM account_user"], text=True,
                           capture_output=True, check=True).stdout.split()
    assert users == ["alice|cert-example"], "the account is in the database"


def test_two_replicas_on_one_database_are_one_node():
    first = new_node("meridian-pg-replica-a-")
    # The second replica: its own data directory (each serve locks its own), the same configuration and database.
    second = tempfile.mkdtemp(prefix="meridian-pg-replica-b-")
    for name in ("meridian.toml", "db-password"):
        with open(os.path.join(first, name)) as src, open(os.open(os.path.join(second, name), os.O_WRONLY | os.O_CREAT, 0o600), "w") as dst:
            dst.write(src.read())
    os.chmod(second, 0o700)
    a, base_a, _ = start_server(first)
    b, base_b, _ = start_server(second)
    try:
        session = requests.Session()
        session.auth = ("alice", PASSWORD)  # made through the first directory, known to both
        posted = []
        for k in range(6):
            base = base_a if k % 2 == 0 else base_b
            batch = [indicator(k * 50 + i) for i in range(50)]
            r = session.post(f"{base}/partnership/collections/shared/objects/", headers={"Accept": TAXII, "Content-Type": TAXII},
                             data=json.dumps({"objects": batch}), timeout=30)
            assert r.status_code == 202 and r.json()["success_count"] == 50, r.text
            posted += [o["id"] for o in batch]
        # Walked by `next` through both replicas in turn: every object once, date_added increasing.
        seen, added, more, cursor, turn = [], [], True, None, 0
        while more:
            base = (base_a, base_b)[turn % 2]
            params = {"limit": 17, **({"next": cursor} if cursor else {})}
            r = session.get(f"{base}/partnership/collections/shared/objects/", params=params, headers={"Accept": TAXII}, timeout=30)
            assert r.status_code == 200, r.text
            body = r.json()
            seen += [o["id"] for o in body.get("objects", [])]
            added.append(r.headers["X-TAXII-Date-Added-Last"]) if body.get("objects") else None
            more, cursor, turn = body.get("more", False), body.get("next"), turn + 1
        assert sorted(seen) == sorted(posted) and len(seen) == len(set(seen))
        assert added == sorted(added)
        # A token made by one replica's admin API is honoured by the other at once.
        token = run("token", "create", "--user", "alice", "--data", second).stdout.strip()
        r = requests.get(f"{base_a}/partnership/collections/", headers={"Accept": TAXII, "Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200, r.text
    finally:
        for p in (a, b):
            p.terminate()
            p.wait(timeout=30)
    r = run("audit", "verify", "--data", first)
    assert r.returncode == 0 and "intact" in r.stdout, r.stdout + r.stderr
    url = database_url(first)
    writes = subprocess.run(["psql", url, "-At", "-c", "SELECT count(*) FROM audit_entry WHERE convert_from(entry, 'UTF8') LIKE '%\"action\":\"write\"%'"],
                            text=True, capture_output=True, check=True).stdout.strip()
    assert int(writes) == 6, "one write entry per post, from both replicas, in one chain"


def test_a_database_that_goes_away_answers_503_and_service_resumes_by_itself_when_it_returns():
    """On a cluster of its own (stopped and started again here), not the shared test cluster."""
    import time
    from conftest import REPO
    script = os.path.join(REPO, "scripts", "postgres.sh")
    cluster = tempfile.mkdtemp(prefix="meridian-pg-outage-")
    url = subprocess.run([script, "start", cluster], text=True, capture_output=True, check=True).stdout.strip()
    saved = os.environ["MERIDIAN_TEST_POSTGRES_URL"]
    os.environ["MERIDIAN_TEST_POSTGRES_URL"] = url
    try:
        data = new_node("meridian-pg-outage-")
    finally:
        os.environ["MERIDIAN_TEST_POSTGRES_URL"] = saved
    proc, base, _ = start_server(data)
    session = requests.Session()
    session.auth = ("alice", PASSWORD)
    headers = {"Accept": TAXII, "Content-Type": TAXII}
    objects = f"{base}/partnership/collections/shared/objects/"
    try:
        r = session.post(objects, headers=headers, data=json.dumps({"objects": [indicator(1)]}), timeout=30)
        assert r.status_code == 202, r.text
        subprocess.run([script, "pause", cluster], check=True)
        started = time.monotonic()
        r = session.get(objects, headers={"Accept": TAXII}, timeout=60)
        waited = time.monotonic() - started
        assert r.status_code == 503, r.text
        assert r.headers["Content-Type"].startswith("application/taxii+json") and "Retry-After" in r.headers
        assert r.json()["title"] == "Database unavailable" and "password" not in r.text.lower()
        assert waited < 15, f"answered after {waited:.1f} s"
        r = session.post(objects, headers=headers, data=json.dumps({"objects": [indicator(2)]}), timeout=60)
        assert r.status_code == 503, r.text
        subprocess.run([script, "resume", cluster], check=True)
        # Back by itself: no restart of the node.
        deadline = time.monotonic() + 30
        while True:
            r = session.get(objects, headers={"Accept": TAXII}, timeout=30)
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 200, r.text
        assert [o["id"] for o in r.json()["objects"]] == [indicator(1)["id"]], "the refused write stored nothing"
        r = session.post(objects, headers=headers, data=json.dumps({"objects": [indicator(3)]}), timeout=30)
        assert r.status_code == 202 and r.json()["success_count"] == 1, r.text
    finally:
        # Killed rather than stopped: what this test checks is done, and a graceful stop right after an outage has
        # been seen to wait on the database's connections longer than the test would.
        proc.kill()
        proc.wait(timeout=30)
        subprocess.run([script, "stop", cluster], check=True)


def test_storage_copy_moves_a_sqlite_node_into_postgresql_with_its_dates_accounts_and_audit_chain():
    import urllib.parse
    # A SQLite node with versions, a deletion, a token, a checkpoint.
    data = tempfile.mkdtemp(prefix="meridian-pg-copy-")
    subprocess.run([MERIDIAN, "init", "--data", data], check=True, capture_output=True)
    assert run("user", "add", "alice", "--org", "cert-example", "--data", data, stdin=PASSWORD + "\n").returncode == 0
    token = run("token", "create", "--user", "alice", "--data", data).stdout.strip()
    proc, base, _ = start_server(data)
    objects = f"{base}/partnership/collections/shared/objects/"
    session = requests.Session()
    session.auth = ("alice", PASSWORD)
    try:
        for k in range(3):
            r = session.post(objects, headers={"Accept": TAXII, "Content-Type": TAXII},
                             data=json.dumps({"objects": [indicator(k * 40 + i) for i in range(40)]}), timeout=30)
            assert r.status_code == 202, r.text
        gone = indicator(5)["id"]
        assert session.delete(f"{objects}{gone}/", headers={"Accept": TAXII}, timeout=30).status_code == 200

        def walk(base):
            r = requests.get(f"{base}/partnership/collections/shared/manifest/", headers={"Accept": TAXII,
                             "Authorization": f"Bearer {token}"}, params={"limit": 1000}, timeout=30)
            assert r.status_code == 200, r.text
            return [(m["id"], m["date_added"], m["version"]) for m in r.json()["objects"]]
        before = walk(base)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert run("audit", "checkpoint", "--data", data).returncode == 0
    # The target: a new database, its password in a file of the operator's.
    server = urllib.parse.urlsplit(os.environ["MERIDIAN_TEST_POSTGRES_URL"])
    database = "meridian_copy_" + uuid.uuid4().hex
    subprocess.run(["psql", server._replace(query="").geturl(), "-q", "-c", f"CREATE DATABASE {database}"], check=True, capture_output=True)
    secret = os.path.join(tempfile.mkdtemp(), "pw")
    with open(os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(urllib.parse.unquote(server.password) + "\n")
    target = f"postgresql://{server.username}@{server.hostname}:{server.port}/{database}?sslmode=disable"
    copied = run("storage", "copy", "--data", data, "--to", target, "--password-file", secret)
    assert copied.returncode == 0, copied.stderr
    assert "119 object version(s)" in copied.stdout and "1 tombstone(s)" in copied.stdout and "chain verified" in copied.stdout
    assert urllib.parse.unquote(server.password) not in copied.stdout + copied.stderr
    # Never into a database that holds data.
    again = run("storage", "copy", "--data", data, "--to", target, "--password-file", secret)
    assert again.returncode == 2 and "already holds a node's data" in again.stderr, again.stderr
    # The node now runs on PostgreSQL: the same versions with the same date_added, the same token, the same chain.
    with open(os.path.join(data, "meridian.toml"), "a") as f:
        f.write(f'\n[storage]\nbackend = "postgresql"\nurl = "{target}"\npassword_file = "db-password"\n')
    with open(secret) as src, open(os.open(os.path.join(data, "db-password"), os.O_WRONLY | os.O_CREAT, 0o600), "w") as dst:
        dst.write(src.read())
    os.rename(os.path.join(data, "meridian.sqlite"), os.path.join(data, "meridian.sqlite.moved"))
    verified = run("audit", "verify", "--data", data, "--no-peers")
    assert verified.returncode == 0 and "intact" in verified.stdout and re.search(r"matches [1-9][0-9]* signed checkpoint", verified.stdout), verified.stdout + verified.stderr
    proc, base, _ = start_server(data)
    try:
        assert walk(base) == before and gone not in {m[0] for m in before}
        r = session.post(objects.replace(objects.split("/partnership")[0], base), headers={"Accept": TAXII, "Content-Type": TAXII},
                         data=json.dumps({"objects": [indicator(999)]}), timeout=30)
        assert r.status_code == 202, r.text
        after = walk(base)
        assert after[:-1] == before and after[-1][1] > before[-1][1], "date_added goes on increasing after the copied ones"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
