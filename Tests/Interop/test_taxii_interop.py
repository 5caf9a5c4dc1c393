"""The real `meridian serve`, driven by taxii2-client (PyPI) and by raw HTTP, on a loopback port.

Covers discovery, API root, collections, adding objects and reading the status, filtered gets, paging with
`as_pages` over thousands of objects added in one request, manifest, versions, get and delete, and every error status
the TAXII 2.1 standard calls for.
"""
import base64
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from conftest import MERIDIAN, TAXII, start_server, storage_section

SHARED = "11111111-1111-4111-8111-111111111111"
READ_ONLY = "22222222-2222-4222-8222-222222222222"
WRITE_ONLY = "33333333-3333-4333-8333-333333333333"
HIDDEN = "44444444-4444-4444-8444-444444444444"

CONFIG = f"""
[node]
title = "Interop test node"
owner = "cert-a"
max_content_length = 5000000
max_page_size = 1000

[server]
metrics_users = ["scraper"]

[[orgs]]
id = "cert-a"
name = "A"
country = "FRA"

[[orgs]]
id = "cert-b"
name = "B"
country = "JPN"

[[groups]]
name = "partners"
members = ["cert-a", "cert-b"]

[[api_roots]]
path = "root"
title = "Test root"

[[collections]]
id = "{SHARED}"
api_root = "root"
alias = "shared"
title = "Shared"
read = ["partners"]
write = ["partners"]

[[collections]]
id = "{READ_ONLY}"
api_root = "root"
title = "Read only for B"
read = ["partners"]
write = ["cert-a"]

[[collections]]
id = "{WRITE_ONLY}"
api_root = "root"
title = "Write only for B"
read = ["cert-a"]
write = ["partners"]

[[collections]]
id = "{HIDDEN}"
api_root = "root"
title = "A only"
read = ["cert-a"]
write = ["cert-a"]
"""

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def node():
    data = tempfile.mkdtemp(prefix="meridian-interop-")
    with open(os.path.join(data, "meridian.toml"), "w") as f:
        f.write(CONFIG + storage_section(data))
    for user, org in [("alice", "cert-a"), ("bob", "cert-b"), ("scraper", "cert-a")]:
        subprocess.run([MERIDIAN, "user", "add", user, "--org", org, "--data", data], input=PASSWORD + "\n",
                       text=True, check=True, capture_output=True)
    token = subprocess.run([MERIDIAN, "token", "create", "--user", "bob", "--data", data], text=True, check=True,
                           capture_output=True).stdout.strip()
    proc, base, _ = start_server(data)
    yield {"base": base, "token": token, "data": data}
    proc.terminate()
    proc.wait(timeout=10)


def indicator(n, modified="2020-01-01T00:00:00.000Z"):
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.UUID(int=n, version=4)}",
        "created": "2020-01-01T00:00:00.000Z", "modified": modified, "name": f"C2 address {n}",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']", "pattern_type": "stix",
        "valid_from": "2020-01-01T00:00:00Z",
    }


def collection(node, cid, user="alice"):
    return Collection(f"{node['base']}/root/collections/{cid}/", user=user, password=PASSWORD)


def test_discovery_api_root_and_collections(node):
    server = Server(node["base"] + "/taxii2/", user="alice", password=PASSWORD)
    assert server.title == "Interop test node"
    assert len(server.api_roots) == 1
    root = server.api_roots[0]
    assert root.title == "Test root"
    assert TAXII in root.versions
    assert root.max_content_length == 5000000
    assert [c.id for c in root.collections] == [SHARED, READ_ONLY, WRITE_ONLY, HIDDEN]
    bob = ApiRoot(node["base"] + "/root/", user="bob", password=PASSWORD)
    seen = {c.id: (c.can_read, c.can_write) for c in bob.collections}
    assert seen == {SHARED: (True, True), READ_ONLY: (True, False), WRITE_ONLY: (False, True)}


def test_add_objects_then_read_them_with_filters(node):
    c = collection(node, SHARED)
    objects = [indicator(n) for n in range(1, 4)] + [{
        "type": "malware", "spec_version": "2.1", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
        "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z", "name": "Poison Ivy",
        "is_family": True,
    }]
    status = c.add_objects(json.dumps({"objects": objects}), wait_for_completion=True)
    assert status.status == "complete"
    assert status.success_count == 4 and status.failure_count == 0
    malware = c.get_objects(type="malware")
    assert [o["id"] for o in malware["objects"]] == ["malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"]
    one = c.get_object(objects[0]["id"])
    assert one["objects"] == [objects[0]]
    # Re-posting the same versions is a success, not an error, and stores nothing new.
    again = c.add_objects(json.dumps({"objects": objects}), wait_for_completion=True)
    assert again.success_count == 4
    assert len(c.get_objects(id=objects[0]["id"])["objects"]) == 1


def test_invalid_objects_are_listed_as_failures_and_valid_ones_stored(node):
    c = collection(node, SHARED)
    bad = indicator(900)
    del bad["pattern"]
    good = indicator(901)
    status = c.add_objects(json.dumps({"objects": [bad, good, "not an object"]}), wait_for_completion=True)
    assert status.success_count == 1 and status.failure_count == 2
    assert status.failures[0]["id"] == bad["id"]
    assert "pattern" in status.failures[0]["message"]
    assert c.get_object(good["id"])["objects"][0]["id"] == good["id"]


def test_paging_with_as_pages_over_thousands_added_in_one_request(node):
    c = collection(node, SHARED)
    objects = [indicator(10_000 + n) for n in range(2600)]
    status = c.add_objects(json.dumps({"objects": objects}), wait_for_completion=True)
    assert status.success_count == 2600
    wanted = {o["id"] for o in objects}
    seen = []
    for envelope in as_pages(c.get_objects, per_request=250, type="indicator"):
        seen += [o["id"] for o in envelope.get("objects", [])]
    assert len(seen) == len(set(seen)), "an object was repeated"
    assert wanted <= set(seen), "an object was skipped"


def test_manifest_versions_and_delete(node):
    c = collection(node, SHARED)
    versions = ["2021-01-01T00:00:00.000Z", "2021-02-01T00:00:00.000Z", "2021-03-01T00:00:00.000Z"]
    objs = [indicator(777, modified=v) for v in versions]
    c.add_objects(json.dumps({"objects": objs}), wait_for_completion=True)
    oid = objs[0]["id"]
    manifest = c.get_manifest(id=oid)
    assert [m["version"] for m in manifest["objects"]] == [versions[-1]]
    assert [m["version"] for m in c.get_manifest(id=oid, version="all")["objects"]] == versions
    assert c.object_versions(oid)["versions"] == versions
    assert c.get_object(oid, version="first")["objects"][0]["modified"] == versions[0]
    c.delete_object(oid, version=versions[-1])
    assert c.get_object(oid)["objects"][0]["modified"] == versions[1]
    c.delete_object(oid)
    c.delete_object(oid, version="all")
    r = raw(node, "GET", f"/root/collections/{SHARED}/objects/{oid}/", auth=("alice", PASSWORD))
    assert r.status_code == 404
    assert oid not in [m["id"] for m in c.get_manifest().get("objects", [])]


def test_a_bearer_token_authenticates(node):
    r = raw(node, "GET", "/root/collections/", headers={"Authorization": "Bearer " + node["token"]})
    assert r.status_code == 200
    assert len(r.json()["collections"]) == 3


def raw(node, method, path, auth=None, headers=None, body=None):
    h = {"Accept": TAXII}
    if headers:
        h.update(headers)
    return requests.request(method, node["base"] + path, auth=auth, headers=h, data=body, timeout=30)


def assert_error(r, status):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == TAXII
    body = r.json()
    assert body["title"]
    assert body["http_status"] == str(status)


ALICE = ("alice", PASSWORD)
BOB = ("bob", PASSWORD)


@pytest.mark.parametrize("query", [
    "limit=0", "limit=-1", "limit=x", "added_after=yesterday", "added_after=2020-01-01T00:00:00",
    "match[version]=all,last", "match[version]=sometime", "match[type]=a,a", "match[spec_version]=3.0",
    "next=garbage", "unknown=1", "limit=1&limit=2", "match%5Btype%5D=indicator&match[type]=malware",
])
def test_malformed_filters_are_400_not_500(node, query):
    assert_error(raw(node, "GET", f"/root/collections/{SHARED}/objects/?{query}", auth=ALICE), 400)


def test_status_401_with_www_authenticate(node):
    r = raw(node, "GET", "/root/collections/", auth=("alice", "wrong password"))
    assert_error(r, 401)
    assert "Basic" in r.headers["WWW-Authenticate"]
    assert_error(raw(node, "GET", "/root/collections/", headers={"Authorization": "Bearer mrd_0000000000000000_" + "x" * 43}), 401)
    assert_error(raw(node, "GET", f"/root/collections/{SHARED}/objects/"), 401)


def test_status_403_for_write_only_and_read_only_callers(node):
    assert_error(raw(node, "GET", f"/root/collections/{WRITE_ONLY}/objects/", auth=BOB), 403)
    assert_error(raw(node, "GET", f"/root/collections/{WRITE_ONLY}/objects/indicator--{uuid.uuid4()}/", auth=BOB), 403)
    assert_error(raw(node, "GET", f"/root/collections/{WRITE_ONLY}/manifest/", auth=BOB), 403)
    body = json.dumps({"objects": [indicator(5)]})
    assert_error(raw(node, "POST", f"/root/collections/{READ_ONLY}/objects/", auth=BOB,
                     headers={"Content-Type": TAXII}, body=body), 403)
    assert_error(raw(node, "DELETE", f"/root/collections/{READ_ONLY}/objects/indicator--{uuid.uuid4()}/", auth=BOB), 403)


def test_status_404_alike_for_missing_and_forbidden_collections(node):
    missing = raw(node, "GET", f"/root/collections/{uuid.uuid4()}/objects/", auth=BOB)
    hidden = raw(node, "GET", f"/root/collections/{HIDDEN}/objects/", auth=BOB)
    assert_error(missing, 404)
    assert_error(hidden, 404)
    assert missing.json() == hidden.json()
    assert_error(raw(node, "GET", "/nowhere/", auth=BOB), 404)
    assert_error(raw(node, "GET", f"/root/status/{uuid.uuid4()}/", auth=BOB), 404)


def test_status_406_and_415(node):
    r = requests.get(node["base"] + "/root/collections/", auth=ALICE, headers={"Accept": "text/html"}, timeout=10)
    assert_error(r, 406)
    r = raw(node, "POST", f"/root/collections/{SHARED}/objects/", auth=ALICE, headers={"Content-Type": "text/plain"},
            body="{}")
    assert_error(r, 415)


def test_status_413_without_reading_the_body(node):
    big = b"{" + b" " * 6_000_000 + b"}"
    r = raw(node, "POST", f"/root/collections/{SHARED}/objects/", auth=ALICE, headers={"Content-Type": TAXII}, body=big)
    assert_error(r, 413)


def test_status_400_and_422_for_bad_envelopes(node):
    post = lambda body: raw(node, "POST", f"/root/collections/{SHARED}/objects/", auth=ALICE,
                            headers={"Content-Type": TAXII}, body=body)
    assert_error(post('{"objects": [}'), 400)
    assert_error(post('{"no_objects": []}'), 422)
    assert_error(post('[1, 2]'), 422)


def test_status_resource_is_visible_only_to_its_org(node):
    r = raw(node, "POST", f"/root/collections/{SHARED}/objects/", auth=ALICE, headers={"Content-Type": TAXII},
            body=json.dumps({"objects": [indicator(42)]}))
    assert r.status_code == 202
    sid = r.json()["id"]
    assert raw(node, "GET", f"/root/status/{sid}/", auth=ALICE).status_code == 200
    assert_error(raw(node, "GET", f"/root/status/{sid}/", auth=BOB), 404)


def test_health_and_prometheus_metrics(node):
    assert requests.get(node["base"] + "/health", timeout=10).json() == {"status": "ok"}
    raw(node, "POST", f"/root/collections/{SHARED}/objects/", auth=ALICE, headers={"Content-Type": TAXII},
        body=json.dumps({"objects": [indicator(4242)]}))
    # Metrics are for admins and the users of [server] metrics_users (here "scraper"), by password or token.
    anonymous = requests.get(node["base"] + "/metrics", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["title"] == "Authentication required"
    assert requests.get(node["base"] + "/metrics", auth=BOB, timeout=10).status_code == 403
    wrong = requests.get(node["base"] + "/metrics", auth=("scraper", "not the password"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["title"] == "Credentials refused"
    metrics = requests.get(node["base"] + "/metrics", auth=("scraper", PASSWORD), timeout=10).text
    assert "meridian_objects_stored_total" in metrics
    token = subprocess.run([MERIDIAN, "token", "create", "--user", "scraper", "--data", node["data"]], text=True, check=True,
                           capture_output=True).stdout.strip()
    by_token = requests.get(node["base"] + "/metrics", headers={"Authorization": "Bearer " + token}, timeout=10)
    assert by_token.status_code == 200 and "meridian_objects_stored_total" in by_token.text
    assert "hb_requests" in metrics or "http_requests" in metrics


def test_odd_characters_in_ids_and_paths_are_clean_errors(node):
    for path in [f"/root/collections/{SHARED}/objects/%00%ff/", f"/root/collections/{SHARED}/objects/..%2f..%2fetc/",
                 "/root/collections/%E2%80%AE/objects/", f"/root/collections/{SHARED}/objects/" + "x" * 5000 + "/",
                 f"/root/collections/{SHARED}/objects/indicator--'%20OR%201=1--/"]:
        r = raw(node, "GET", path, auth=ALICE)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert r.headers["Content-Type"] == TAXII


def test_the_server_keeps_serving_after_half_closed_and_abandoned_connections(node):
    host, port = node["base"].replace("http://", "").split(":")
    # A client that sends half a request and goes away.
    s = socket.create_connection((host, int(port)))
    s.sendall(b"POST /root/collections/" + SHARED.encode() + b"/objects/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"obj")
    s.close()
    # A client that half-closes after sending a request.
    s = socket.create_connection((host, int(port)))
    auth = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    s.sendall(f"GET /root/collections/{SHARED}/objects/ HTTP/1.1\r\nHost: x\r\nAccept: {TAXII}\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
    s.shutdown(socket.SHUT_WR)
    assert s.recv(12).startswith(b"HTTP/1.1 200")
    s.close()
    # A client that disconnects while a large response is being written.
    s = socket.create_connection((host, int(port)))
    s.sendall(f"GET /root/collections/{SHARED}/objects/?limit=1000 HTTP/1.1\r\nHost: x\r\nAccept: {TAXII}\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
    s.recv(100)
    s.close()
    # A slow client that trickles its headers.
    slow = socket.create_connection((host, int(port)))
    slow.sendall(b"GET /health HTTP/1.1\r\n")
    # Others are served meanwhile.
    assert raw(node, "GET", "/root/collections/", auth=ALICE).status_code == 200
    slow.sendall(b"Host: x\r\n\r\n")
    assert slow.recv(12).startswith(b"HTTP/1.1 200")
    slow.close()
    # Nothing of the abandoned POST was stored.
    ids = [o["id"] for o in collection(node, SHARED).get_objects(type="indicator", limit=1000).get("objects", [])]
    assert len(ids) == len(set(ids))
