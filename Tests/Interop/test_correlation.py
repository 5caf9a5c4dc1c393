"""Correlation through the real server: an indicator posted by one partner and an observation posted by another
make a sighting that a TAXII client (taxii2-client) reads from the sightings collection."""
import json
import subprocess
import tempfile
import time
import uuid

from taxii2client.v21 import Server

from conftest import MERIDIAN, TAXII, start_server

PASSWORD = "a long enough password"


def test_an_observation_matching_a_partners_indicator_becomes_a_sighting():
    data = tempfile.mkdtemp(prefix="meridian-corr-")
    subprocess.run([MERIDIAN, "init", "--data", data], check=True, capture_output=True)
    for user, org in [("owner", "cert-example"), ("partner", "cert-partner")]:
        subprocess.run([MERIDIAN, "user", "add", user, "--org", org, "--data", data], input=PASSWORD + "\n", text=True,
                       check=True, capture_output=True)
    proc, base, _ = start_server(data)
    try:
        server = Server(f"{base}/taxii2/", user="owner", password=PASSWORD)
        root = server.api_roots[0]
        shared = next(c for c in root.collections if c.alias == "shared")
        indicator = {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                     "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                     "pattern": "[domain-name:value = 'c2.badhost.test']", "pattern_type": "stix",
                     "valid_from": "2026-01-01T00:00:00Z"}
        status = shared.add_objects(json.dumps({"objects": [indicator]}), wait_for_completion=True)
        assert status.success_count == 1
        partner = Server(f"{base}/taxii2/", user="partner", password=PASSWORD)
        partner_shared = next(c for c in partner.api_roots[0].collections if c.alias == "shared")
        domain = {"type": "domain-name", "spec_version": "2.1", "id": f"domain-name--{uuid.uuid4()}", "value": "c2.badhost.test"}
        observed = {"type": "observed-data", "spec_version": "2.1", "id": f"observed-data--{uuid.uuid4()}",
                    "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
                    "first_observed": "2026-02-01T00:00:00Z", "last_observed": "2026-02-01T00:05:00Z",
                    "number_observed": 4, "object_refs": [domain["id"]]}
        status = partner_shared.add_objects(json.dumps({"objects": [observed, domain]}), wait_for_completion=True)
        assert status.success_count == 2
        # The status says nothing about correlation, which runs after the answer.
        assert "sighting" not in json.dumps(status._raw)
        sightings = next(c for c in partner.api_roots[0].collections if c.alias == "sightings")
        found = []
        for _ in range(100):
            found = sightings.get_objects().get("objects", [])
            if found:
                break
            time.sleep(0.1)
        assert len(found) == 1
        s = found[0]
        assert s["type"] == "sighting" and s["sighting_of_ref"] == indicator["id"]
        assert s["observed_data_refs"] == [observed["id"]] and s["count"] == 4
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    verify = subprocess.run([MERIDIAN, "audit", "verify", "--data", data], capture_output=True, text=True)
    assert verify.returncode == 0
    log = subprocess.run([MERIDIAN, "audit", "export", "--data", data], capture_output=True, text=True).stdout
    assert any(json.loads(l)["action"] == "correlation" for l in log.splitlines())
