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
            password = re.search(r"password: (\S+)", f.read()).group(1)
        server = Server(f"http://127.0.0.1:{port}/taxii2/", user="analyst", password=password)
        collections = {c.title: c for c in server.api_roots[0].collections}
        attack = next(c for title, c in collections.items() if "ATT&CK" in title)
        disarm = next(c for title, c in collections.items() if "DISARM" in title)
        page = attack.get_objects(type="attack-pattern", limit=5)
        assert len(page["objects"]) == 5 and page["more"] is True
        assert all(o["type"] == "attack-pattern" for o in page["objects"])
        assert disarm.get_objects(limit=1)["objects"]
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


def test_the_demo_without_its_sample_data_says_so_and_creates_nothing():
    data = os.path.join(tempfile.mkdtemp(prefix="meridian-demo-"), "meridian-data")
    r = subprocess.run([MERIDIAN, "demo", "--data", data, "--port", str(free_port()), "--samples", "/nonexistent"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "no sample data" in r.stderr and "--samples" in r.stderr
    assert not os.path.exists(data)
