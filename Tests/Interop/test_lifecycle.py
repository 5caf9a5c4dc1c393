"""A node stops cleanly on SIGTERM and keeps what it acknowledged; `import` and `export` round-trip."""
import gzip
import json
import os
import signal
import socket
import subprocess
import time
import uuid

import requests

from conftest import new_node as conftest_new_node, MERIDIAN, REPO, TAXII, start_server

PASSWORD = "a long enough password"


def new_node():
    return conftest_new_node("meridian-life-")


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


def export_count(data):
    out = subprocess.run([MERIDIAN, "export", "--collection", "shared", "--data", data], check=True, capture_output=True)
    return len(json.loads(out.stdout).get("objects", []))


def test_a_file_malformed_after_its_last_object_stores_nothing():
    data = new_node()
    path = os.path.join(data, "in.json")
    text = json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [identity(n) for n in range(20)]})
    for broken in [text[:-1] + ', "x": tru}', text.replace('"org 19"', '"org 19'), text[:-2]]:
        with open(path, "w") as f:
            f.write(broken)
        r = subprocess.run([MERIDIAN, "import", path, "--collection", "shared", "--data", data], capture_output=True, text=True)
        assert r.returncode == 2, (broken[-40:], r.stdout, r.stderr)
        assert "nothing was imported" in r.stderr, r.stderr
        assert export_count(data) == 0


def test_import_reads_gzip_and_standard_input():
    data = new_node()
    objects = [identity(n) for n in range(30)]
    path = os.path.join(data, "in.json.gz")
    with gzip.open(path, "wt") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects[:20]}, f)
    r = subprocess.run([MERIDIAN, "import", path, "--collection", "shared", "--data", data], capture_output=True, text=True)
    assert "20 stored, 0 already present, 0 rejected" in r.stdout, r.stdout + r.stderr
    envelope = json.dumps({"objects": objects[10:]})
    r = subprocess.run([MERIDIAN, "import", "-", "--collection", "shared", "--data", data], input=envelope,
                       capture_output=True, text=True)
    assert "10 stored, 10 already present, 0 rejected" in r.stdout, r.stdout + r.stderr
    assert export_count(data) == 30
    assert not [f for f in os.listdir(data) if f.startswith(".import-")]  # the copy of standard input is removed


def test_import_memory_does_not_grow_with_the_file():
    # 200 objects of 1 MB each: a 200 MB file imported with far less memory than its size (reading it whole would
    # take more than the file); memory stays near 110 MB from about 100 MB of input upwards.
    data = new_node()
    path = os.path.join(data, "big.json")
    with open(path, "w") as f:
        f.write('{"type": "bundle", "id": "bundle--%s", "objects": [' % uuid.uuid4())
        for n in range(200):
            o = identity(n)
            o["description"] = "x" * (1 << 20)
            f.write(("," if n else "") + json.dumps(o))
        f.write("]}")
    # The peak is read from the process's own memory map (VmHWM), sampled until it exits: the rusage of a child
    # also counts the memory of the process that forked it (pytest, large once SciPy is loaded), before the exec.
    out_path, err_path = os.path.join(data, "import.out"), os.path.join(data, "import.err")
    with open(out_path, "w") as out_file, open(err_path, "w") as err_file:
        proc = subprocess.Popen([MERIDIAN, "import", path, "--collection", "shared", "--data", data],
                                stdout=out_file, stderr=err_file, text=True)
        peak_kb = 0
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak_kb = max(peak_kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(0.02)
    out = open(out_path).read()
    assert proc.returncode == 0, out + open(err_path).read()
    assert "200 stored" in out
    assert peak_kb > 0
    peak_mb = peak_kb / 1024
    assert peak_mb < 150, f"peak resident memory {peak_mb:.0f} MB for a 200 MB file"


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


def test_a_node_keeps_serving_and_accepting_writes_while_a_file_is_imported_into_it():
    # The import stores its file in one transaction: the node's own writes wait for its commit (well within SQLite's
    # busy timeout), reads do not. Reads and small POSTs go on for as long as the import runs.
    data = new_node()
    proc, base = serve(data)
    path = os.path.join(data, "in.json")
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [identity(n) for n in range(4000)]}, f)
    importing = subprocess.Popen([MERIDIAN, "import", path, "--collection", "shared", "--data", data],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    collection = f"{base}/partnership/collections/shared/objects/"
    headers = {"Accept": TAXII, "Content-Type": TAXII}
    statuses = []
    n = 10_000
    while importing.poll() is None or not statuses:
        r = requests.get(collection, params={"limit": 10}, auth=("alice", PASSWORD), headers={"Accept": TAXII}, timeout=30)
        assert r.status_code == 200
        r = requests.post(collection, auth=("alice", PASSWORD), headers=headers,
                          data=json.dumps({"objects": [identity(n + k) for k in range(5)]}), timeout=60)
        assert r.status_code == 202, r.text
        statuses.append(r.json()["id"])
        n += 5
    for status_id in statuses:
        while True:
            status = requests.get(f"{base}/partnership/status/{status_id}/", auth=("alice", PASSWORD),
                                  headers={"Accept": TAXII}, timeout=30).json()
            if status["status"] == "complete":
                break
            time.sleep(0.05)
        assert status["success_count"] == 5 and status["failure_count"] == 0, status
    out, err = importing.communicate(timeout=300)
    assert importing.returncode == 0, out + err
    assert "4000 stored, 0 already present, 0 rejected" in out
    assert export_count(data) == 4000 + 5 * len(statuses)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_config_check_and_serve_refuse_a_misspelt_key_naming_its_line():
    data = new_node()
    ok = subprocess.run([MERIDIAN, "config", "check", "--data", data], capture_output=True, text=True)
    assert ok.returncode == 0 and "valid: 2 orgs (1 owner, 1 partner)" in ok.stdout, ok.stdout + ok.stderr
    path = os.path.join(data, "meridian.toml")
    text = open(path).read()
    line = text.splitlines().index("port = 8080") + 1
    with open(path, "w") as f:
        f.write(text.replace("\nport = 8080", "\nprot = 8080"))
    bad = subprocess.run([MERIDIAN, "config", "check", "--data", data], capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"meridian.toml:{line}: unknown key `prot` in [server]; did you mean `port`?" in bad.stderr, bad.stderr
    # serve refuses at start with the same message instead of falling back to a default.
    served = subprocess.run([MERIDIAN, "serve", "--data", data], capture_output=True, text=True, timeout=60)
    assert served.returncode != 0 and "did you mean `port`?" in served.stderr
    missing = subprocess.run([MERIDIAN, "config", "check", "--file", os.path.join(data, "nothing.toml")], capture_output=True, text=True)
    assert missing.returncode == 2 and "cannot be read" in missing.stderr


def test_a_running_server_decides_the_next_request_with_an_edited_configuration():
    data = new_node()
    subprocess.run([MERIDIAN, "user", "add", "jp", "--org", "cert-partner", "--data", data], input=PASSWORD + "\n",
                   text=True, check=True, capture_output=True)
    path = os.path.join(data, "meridian.toml")
    text = open(path).read()
    # The partner is taken off the shared collection's read list before the server starts.
    restricted = text.replace('alias = "shared"\ntitle = "Partner submissions"\ndescription = "Read-write for every partner"\n'
                              'read = ["partnership"]', 'alias = "shared"\ntitle = "Partner submissions"\n'
                              'description = "Read-write for every partner"\nread = ["cert-example"]')
    assert restricted != text
    with open(path, "w") as f:
        f.write(restricted)
    proc, base = serve(data)
    try:
        url = f"{base}/partnership/collections/shared/objects/"
        assert requests.get(url, auth=("jp", PASSWORD), headers={"Accept": TAXII}, timeout=10).status_code == 403
        with open(path, "w") as f:
            f.write(text)  # the operator puts the partner back: no restart
        assert requests.get(url, auth=("jp", PASSWORD), headers={"Accept": TAXII}, timeout=10).status_code == 200
        with open(path, "w") as f:
            f.write(text + "\nbroken = [\n")  # a mistake: refused, the configuration in force stays
        assert requests.get(url, auth=("jp", PASSWORD), headers={"Accept": TAXII}, timeout=10).status_code == 200
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert "the changed configuration is refused" in out
