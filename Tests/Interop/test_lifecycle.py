"""A node stops cleanly on SIGTERM and keeps what it acknowledged; `import` and `export` round-trip."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import requests

from conftest import MERIDIAN, REPO, TAXII, start_server

PASSWORD = "a long enough password"


def new_node():
    data = tempfile.mkdtemp(prefix="meridian-life-")
    subprocess.run([MERIDIAN, "init", "--data", data], check=True, capture_output=True)
    subprocess.run([MERIDIAN, "user", "add", "alice", "--org", "cert-example", "--data", data], input=PASSWORD + "\n",
                   text=True, check=True, capture_output=True)
    return data


def serve(data):
    proc, base, _ = start_server(data)
    return proc, base


def identity(n):
    return {"type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.UUID(int=n, version=4)}",
            "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z", "name": f"org {n}",
            "identity_class": "organization"}


def test_sigterm_stops_the_server_cleanly_and_acknowledged_objects_survive():
    data = new_node()
    proc, base = serve(data)
    r = requests.post(f"{base}/partnership/collections/shared/objects/", auth=("alice", PASSWORD),
                      headers={"Accept": TAXII, "Content-Type": TAXII},
                      data=json.dumps({"objects": [identity(n) for n in range(300)]}), timeout=30)
    assert r.status_code == 202 and r.json()["success_count"] == 300
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    out = subprocess.run([MERIDIAN, "export", "--collection", "shared", "--data", data], check=True, capture_output=True)
    bundle = json.loads(out.stdout)
    assert len(bundle["objects"]) == 300


def test_import_reports_stored_duplicates_and_rejections_then_export_returns_the_objects_unchanged():
    data = new_node()
    good = [identity(n) for n in range(5)]
    bad = identity(99)
    del bad["name"]
    path = os.path.join(data, "in.json")
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": good + [bad]}, f)
    first = subprocess.run([MERIDIAN, "import", path, "--collection", "shared", "--data", data], capture_output=True, text=True)
    assert first.returncode == 1
    assert "5 stored, 0 already present, 1 rejected" in first.stdout
    assert bad["id"] in first.stdout and "'name' is a required property" in first.stdout
    second = subprocess.run([MERIDIAN, "import", path, "--collection", "shared", "--data", data], capture_output=True, text=True)
    assert "0 stored, 5 already present, 1 rejected" in second.stdout
    out = subprocess.run([MERIDIAN, "export", "--collection", "shared", "--data", data, "--type", "identity"],
                         check=True, capture_output=True)
    assert json.loads(out.stdout)["objects"] == good
    empty = subprocess.run([MERIDIAN, "export", "--collection", "shared", "--data", data, "--type", "malware"],
                           check=True, capture_output=True)
    assert "objects" not in json.loads(empty.stdout)


def test_commands_fail_with_a_message_not_a_crash():
    data = new_node()
    for args, message in [
        (["import", "/nonexistent.json", "--collection", "shared"], "no such file"),
        (["import", os.path.join(REPO, "data/oasis-examples/apt1.json"), "--collection", "nope"], "no collection"),
        (["export", "--collection", "shared", "--added-after", "yesterday"], "added_after"),
        (["token", "create", "--user", "nobody"], "no user"),
        (["serve", "--data", "/nonexistent-dir"], "does not exist"),
    ]:
        r = subprocess.run([MERIDIAN, *args] + ([] if "--data" in args else ["--data", data]), capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert message in r.stderr, (args, r.stderr)
    weak = subprocess.run([MERIDIAN, "user", "add", "bob", "--org", "cert-example", "--data", data], input="short\n",
                          capture_output=True, text=True)
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr
