"""The README's start command, `meridian demo`: a node with the sample data that taxii2-client can read."""
import os
import re
import signal
import subprocess
import tempfile
import time

import requests
from taxii2client.v21 import Server

from conftest import MERIDIAN, REPO, free_port


def test_the_demo_serves_attack_and_disarm_to_taxii2_client_and_restarts_on_its_data():
    data = os.path.join(tempfile.mkdtemp(prefix="meridian-demo-"), "meridian-data")
    port = free_port()

    def start():
        proc = subprocess.Popen([MERIDIAN, "demo", "--data", data, "--port", str(port), "--samples", os.path.join(REPO, "data")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(1200):  # the first start imports ATT&CK Enterprise and DISARM (a debug build is slow)
            try:
                requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
                return proc
            except requests.exceptions.ConnectionError:
                if proc.poll() is not None:
                    raise AssertionError("meridian demo stopped: " + proc.stdout.read()[-2000:])
                time.sleep(0.1)
        proc.kill()
        raise AssertionError("meridian demo did not start")

    proc = start()
    try:
        with open(os.path.join(data, "demo-credentials.txt")) as f:
            passwords = dict(line.split() for line in f)
        password = passwords["analyst"]
        server = Server(f"http://127.0.0.1:{port}/taxii2/", user="analyst", password=password)
        collections = {c.title: c for c in server.api_roots[0].collections}
        attack = next(c for title, c in collections.items() if "ATT&CK" in title)
        disarm = next(c for title, c in collections.items() if "DISARM" in title)
        page = attack.get_objects(type="attack-pattern", limit=5)
        assert len(page["objects"]) == 5 and page["more"] is True
        assert all(o["type"] == "attack-pattern" for o in page["objects"])
        assert disarm.get_objects(limit=1)["objects"]
        # The public report counts at once on the demo (delay_days = 0): ATT&CK as cyber threats, DISARM as
        # disinformation; and the node signed a checkpoint of its audit log when it started.
        report = requests.get(f"http://127.0.0.1:{port}/transparency/report.json", timeout=60).json()
        category = next(t for t in report["tables"] if t["id"] == "category")
        cells = category["rows"][-1]["cells"]
        assert cells[0] > 20000 and cells[1] > 600, cells
        for _ in range(100):
            checkpoints = requests.get(f"http://127.0.0.1:{port}/transparency/checkpoints/", timeout=10).json()["checkpoints"]
            if checkpoints:
                break
            time.sleep(0.1)
        assert checkpoints and checkpoints[0]["key_id"] == report["public_keys"][0]["id"]
        # The banner names every user with its real password, in commands that work as printed.
        banner = read_until(proc, "Stop with Ctrl-C.")
        for user, secret in passwords.items():
            assert f"{user} " in banner and secret in banner
        assert f"curl -u analyst:{password} " in banner
        assert f"http://127.0.0.1:{port}/" in banner
        # The web pages the banner names: the analyst signs in and finds the README's examples once indexed.
        assert f"http://127.0.0.1:{port}/ui/" in banner
        session = requests.Session()
        form = session.get(f"http://127.0.0.1:{port}/ui/login", timeout=10).text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form).group(1)
        signed_in = session.post(f"http://127.0.0.1:{port}/ui/login", timeout=30,
                                 data={"csrf": csrf, "username": "analyst", "password": password})
        assert signed_in.status_code == 200 and "Shared in the last" in signed_in.text
        searches = {"203.0.113.10": "C2 address of the ExampleBear phishing wave", "T1059": "Command and Scripting Interpreter",
                    "T0049": "Flood Information Space"}
        for _ in range(300):
            searches = {q: name for q, name in searches.items()
                        if name not in session.get(f"http://127.0.0.1:{port}/ui/search?q={q}", timeout=30).text}
            if not searches:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"not found by search within 60 s: {searches}")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    # The next start reuses the data directory: no second import, the same login.
    proc = start()
    try:
        out = requests.get(f"http://127.0.0.1:{port}/partnership/collections/", auth=("analyst", password),
                           headers={"Accept": "application/taxii+json;version=2.1"}, timeout=10)
        assert out.status_code == 200 and len(out.json()["collections"]) >= 2
    finally:
        proc.send_signal(signal.SIGINT)
        assert "imported" not in proc.communicate(timeout=60)[0]


def read_until(proc, marker):
    text = ""
    while marker not in text:
        line = proc.stdout.readline()
        if not line:
            break
        text += line
    return text


# What each demo user reads of the shared collection (the README's walkthrough): the owner's objects under each TLP
# level and releasability, the partner's observation, and the sighting correlation made of the two.
SHARED = {
    "threat-actor--d3e00000-0000-4000-8000-000000000001": "GREEN",
    "indicator--d3e00000-0000-4000-8000-000000000002": "CLEAR",
    "campaign--d3e00000-0000-4000-8000-000000000003": "GREEN",
    "infrastructure--d3e00000-0000-4000-8000-000000000004": "AMBER",
    "note--d3e00000-0000-4000-8000-000000000005": "AMBER+STRICT",
    "indicator--d3e00000-0000-4000-8000-000000000006": "RED, REL TO nato-example",
    "report--d3e00000-0000-4000-8000-000000000007": "AMBER, REL TO nato-example",
    "ipv4-addr--d3e00000-0000-4000-8000-000000000008": "GREEN, from cert-north",
    "observed-data--d3e00000-0000-4000-8000-000000000009": "GREEN, from cert-north",
    "indicator--d3e00000-0000-4000-8000-000000000010": "GREEN, from cert-north",
}
HIDDEN = {
    "analyst": set(),  # the owner
    "north": set(),  # a partner in nato-example
    "ministry": {"06", "07"},  # a client, not in nato-example
    "south": {"06", "07"},  # a partner in indo-pacific-example
    "east-node": {"05", "06", "07"},  # a peer node: no AMBER+STRICT unless named
}


def test_the_demo_shows_each_org_what_the_sharing_policy_allows_and_a_sighting_made_by_correlation():
    data = os.path.join(tempfile.mkdtemp(prefix="meridian-demo-"), "meridian-data")
    port = free_port()
    proc = subprocess.Popen([MERIDIAN, "demo", "--data", data, "--port", str(port), "--samples", os.path.join(REPO, "data")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        read_until(proc, "Stop with Ctrl-C.")
        with open(os.path.join(data, "demo-credentials.txt")) as f:
            passwords = dict(line.split() for line in f)
        assert set(passwords) == set(HIDDEN)
        assert oct(os.stat(os.path.join(data, "demo-credentials.txt")).st_mode & 0o777) == "0o600"
        for user, hidden in HIDDEN.items():
            server = Server(f"http://127.0.0.1:{port}/taxii2/", user=user, password=passwords[user])
            collections = {c.title: c for c in server.api_roots[0].collections}
            seen = {o["id"] for o in collections["Partner submissions"].get_objects()["objects"]}
            expected = {i for i in SHARED if i[-2:] not in hidden}
            assert seen == expected, f"{user}: {sorted(seen ^ expected)}"
            sightings = collections["Sightings"].get_objects()["objects"]
            assert [(s["sighting_of_ref"], s["observed_data_refs"]) for s in sightings] == [
                ("indicator--d3e00000-0000-4000-8000-000000000002", ["observed-data--d3e00000-0000-4000-8000-000000000009"])], user
        # policy explain says why, as the banner suggests.
        r = subprocess.run([MERIDIAN, "policy", "explain", "--data", data, "--object", "indicator--d3e00000-0000-4000-8000-000000000006",
                            "--org", "cert-south"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "releasability-not-matched" in r.stdout
        r = subprocess.run([MERIDIAN, "policy", "explain", "--data", data, "--object", "note--d3e00000-0000-4000-8000-000000000005",
                            "--org", "node-east"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "tlp-amber-strict-peer-not-named" in r.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_the_demo_without_its_sample_data_says_so_and_creates_nothing():
    data = os.path.join(tempfile.mkdtemp(prefix="meridian-demo-"), "meridian-data")
    r = subprocess.run([MERIDIAN, "demo", "--data", data, "--port", str(free_port()), "--samples", "/nonexistent"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "no sample data" in r.stderr and "--samples" in r.stderr
    assert not os.path.exists(data)
