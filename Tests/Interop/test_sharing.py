"""The sharing policy end to end over HTTP, against the real `meridian serve`: four orgs in two groups, objects under
every TLP level and releasability markings, each org's view through objects, manifest, versions and object by id;
`policy explain`, the admin API, and the audit log (`audit verify` names a tampered entry)."""
import json
import os
import subprocess
import tempfile
import uuid

import pytest
import requests

from conftest import MERIDIAN, TAXII, database_url, execute_sql, start_server, storage_section

PASSWORD = "a long enough password"
ROOT = "exchange"
CONFIG = """
[node]
title = "Sharing test node"
owner = "own"

[[orgs]]
id = "own"
name = "Owner CERT"
country = "FRA"
kind = "owner"

[[orgs]]
id = "min"
name = "A ministry served by the owner"
country = "FRA"
kind = "client"

[[orgs]]
id = "cert"
name = "Partner CERT"
country = "JPN"
kind = "partner"

[[orgs]]
id = "peer"
name = "Partner node"
country = "DEU"
kind = "node"

[[groups]]
name = "eu"
members = ["own", "min", "peer"]

[[groups]]
name = "apac"
members = ["cert"]

[[api_roots]]
path = "exchange"
title = "Exchange"

[[collections]]
id = "0b9a3c1e-5d2f-4e7a-9c61-000000000001"
api_root = "exchange"
alias = "shared"
title = "Shared by all"
read = ["eu", "apac"]
write = ["eu", "apac"]

[[collections]]
id = "0b9a3c1e-5d2f-4e7a-9c61-000000000002"
api_root = "exchange"
alias = "public"
title = "Public"
read = ["eu"]
write = ["own"]
public = true
"""

TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
}
ORGS = ["own", "min", "cert", "peer"]


def indicator(name, markings, modified="2024-01-01T00:00:00.000Z", ident=None):
    o = {"type": "indicator", "spec_version": "2.1", "id": ident or f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, name)}",
         "created": "2024-01-01T00:00:00.000Z", "modified": modified, "name": name, "pattern_type": "stix",
         "pattern": "[ipv4-addr:value = '198.51.100.1']", "valid_from": "2024-01-01T00:00:00Z"}
    if markings:
        o["object_marking_refs"] = markings
    return o


def run(data, *args, stdin=None):
    return subprocess.run([MERIDIAN, *args, "--data", data], input=stdin, capture_output=True, text=True)


class Node:
    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="meridian-sharing-")
        os.makedirs(self.data, exist_ok=True)
        with open(os.path.join(self.data, "meridian.toml"), "w") as f:
            f.write(CONFIG + storage_section(self.data))
        for org in ORGS:
            assert run(self.data, "user", "add", org + "-user", "--org", org, stdin=PASSWORD + "\n").returncode == 0
        assert run(self.data, "user", "add", "admin", "--org", "own", "--admin", stdin=PASSWORD + "\n").returncode == 0
        # A releasability marking made with the CLI, another with the admin API once the server runs.
        made = run(self.data, "marking", "create", "--name", "REL TO JPN", "--releasable-to", "JPN")
        assert made.returncode == 0, made.stderr
        self.rel_jpn = json.loads(made.stdout)["id"]
        self.proc, self.base, _ = start_server(self.data)

    def url(self, collection, path=""):
        return f"{self.base}/{ROOT}/collections/{collection}/{path}"

    def get(self, user, url, **params):
        auth = (user + "-user", PASSWORD) if user in ORGS else ((user, PASSWORD) if user else None)
        return requests.get(url, auth=auth, params=params, headers={"Accept": TAXII}, timeout=30)

    def post(self, user, collection, objects):
        r = requests.post(self.url(collection, "objects/"), auth=(user + "-user", PASSWORD),
                          headers={"Accept": TAXII, "Content-Type": TAXII}, data=json.dumps({"objects": objects}), timeout=30)
        assert r.status_code == 202, r.text
        assert r.json()["failure_count"] == 0, r.text
        return r.json()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def node():
    n = Node()
    r = requests.post(f"{n.base}/admin/markings/", auth=("admin", PASSWORD), headers={"Accept": TAXII},
                      data=json.dumps({"name": "REL TO eu", "releasable_to": ["eu"]}), timeout=30)
    assert r.status_code == 201, r.text
    n.rel_eu = r.json()["id"]
    m = n
    # Submitted by min (a client of the owner), one object per rule.
    n.expected = {}
    n.objects = {
        "clear": indicator("clear", [TLP["clear"]]),
        "white": indicator("white", [TLP["white"]]),
        "green": indicator("green", [TLP["green"]]),
        "amber": indicator("amber", [TLP["amber"]]),
        "amber-strict": indicator("amber-strict", [TLP["amber+strict"]]),
        "red": indicator("red", [TLP["red"]]),
        "red-rel-jpn": indicator("red-rel-jpn", [TLP["red"], m.rel_jpn]),
        "green-rel-eu": indicator("green-rel-eu", [TLP["green"], m.rel_eu]),
        "unmarked": indicator("unmarked", []),
        "unknown": indicator("unknown", ["marking-definition--0000dead-0000-4000-8000-000000000000"]),
    }
    n.post("min", "shared", list(n.objects.values()))
    # The peer node pushes objects: received from it, so only the third column of the table applies.
    n.received = {
        "p-green": indicator("p-green", [TLP["green"]]),
        "p-amber": indicator("p-amber", [TLP["amber"]]),
        "p-amber-strict": indicator("p-amber-strict", [TLP["amber+strict"]]),
    }
    n.post("peer", "shared", list(n.received.values()))
    # A second, RED version of the amber object: the partner CERT's "last" is still the amber one.
    n.amber_red = indicator("amber", [TLP["red"]], modified="2024-06-01T00:00:00.000Z", ident=n.objects["amber"]["id"])
    n.post("min", "shared", [n.amber_red])
    n.post("own", "public", [indicator("public-clear", [TLP["clear"]]), indicator("public-green", [TLP["green"]])])
    yield n
    n.stop()


# Who sees each object's latest version in `shared` (the names of the objects above).
VIEWS = {
    "own": {"clear", "white", "green", "amber", "amber-strict", "green-rel-eu", "unmarked", "p-green", "p-amber", "p-amber-strict"},
    "min": {"clear", "white", "green", "amber", "amber-strict", "red", "red-rel-jpn", "green-rel-eu", "unmarked", "unknown",
            "p-green", "p-amber"},
    # A foreign partner is not a client of this node: AMBER received from a peer stays with the owner and its clients.
    "cert": {"clear", "white", "green", "amber", "amber-strict", "red-rel-jpn", "unmarked", "p-green"},
    "peer": {"clear", "white", "green", "amber", "green-rel-eu", "unmarked", "p-green"},
}


def names(envelope):
    return {o["name"] for o in envelope.get("objects", [])}


@pytest.mark.parametrize("org", ORGS)
def test_each_org_receives_exactly_its_view_through_objects(node, org):
    r = node.get(org, node.url("shared", "objects/"))
    assert r.status_code == 200
    got = names(r.json())
    assert got == VIEWS[org]
    # The amber object's latest version is RED: only its submitter receives that version.
    versions = {o["modified"] for o in r.json()["objects"] if o["id"] == node.objects["amber"]["id"]}
    assert versions == ({"2024-06-01T00:00:00.000Z"} if org == "min" else {"2024-01-01T00:00:00.000Z"})


@pytest.mark.parametrize("org", ORGS)
def test_paging_counts_only_visible_objects(node, org):
    seen, nxt = [], None
    while True:
        params = {"limit": "2"}
        if nxt:
            params["next"] = nxt
        r = node.get(org, node.url("shared", "objects/"), **params)
        body = r.json()
        if body["more"]:
            assert len(body["objects"]) == 2
        seen += [o["name"] for o in body.get("objects", [])]
        if r.headers.get("X-TAXII-Date-Added-First"):
            assert r.headers["X-TAXII-Date-Added-Last"] >= r.headers["X-TAXII-Date-Added-First"]
        if not body["more"]:
            break
        nxt = body["next"]
    assert sorted(seen) == sorted(VIEWS[org])


@pytest.mark.parametrize("org", ORGS)
def test_the_manifest_lists_exactly_the_visible_objects(node, org):
    r = node.get(org, node.url("shared", "manifest/"))
    ids = {o["id"] for o in r.json().get("objects", [])}
    everything = {**node.objects, **node.received}
    assert ids == {everything[name]["id"] for name in VIEWS[org]}


@pytest.mark.parametrize("org", ORGS)
def test_object_by_id_and_versions_answer_hidden_objects_like_missing_ones(node, org):
    missing = f"indicator--{uuid.uuid4()}"
    gone = node.get(org, node.url("shared", f"objects/{missing}/"))
    gone_versions = node.get(org, node.url("shared", f"objects/{missing}/versions/"))
    assert gone.status_code == 404 and gone_versions.status_code == 404
    everything = {**node.objects, **node.received}
    for name, obj in everything.items():
        r = node.get(org, node.url("shared", f"objects/{obj['id']}/"))
        v = node.get(org, node.url("shared", f"objects/{obj['id']}/versions/"))
        m = node.get(org, node.url("shared", "manifest/"), **{"match[id]": obj["id"]})
        if name in VIEWS[org]:
            assert r.status_code == 200 and names(r.json()) == {name}
            assert v.status_code == 200
        else:
            assert (r.status_code, r.text, dict(r.headers).get("Content-Type")) == (404, gone.text, gone.headers["Content-Type"])
            assert (v.status_code, v.text) == (404, gone_versions.text)
            assert "objects" not in m.json() and m.json()["more"] is False
    amber_versions = node.get(org, node.url("shared", f"objects/{node.objects['amber']['id']}/versions/")).json()["versions"]
    assert len(amber_versions) == (2 if org == "min" else 1)


def test_anonymous_readers_see_only_clear_content_of_public_collections(node):
    r = node.get(None, node.url("public", "objects/"))
    assert r.status_code == 200 and names(r.json()) == {"public-clear"}
    assert node.get(None, node.url("shared", "objects/")).status_code == 401
    # An org not on the public collection's read list reads it as anonymous does.
    assert names(node.get("cert", node.url("public", "objects/")).json()) == {"public-clear"}
    assert names(node.get("min", node.url("public", "objects/")).json()) == {"public-clear", "public-green"}


def test_policy_explain_names_the_rule(node):
    red = node.objects["red"]["id"]
    out = run(node.data, "policy", "explain", "--object", red, "--org", "cert")
    assert out.returncode == 1 and "tlp-red-not-named" in out.stdout
    out = run(node.data, "policy", "explain", "--object", red, "--org", "min")
    assert out.returncode == 0 and "[submitter]" in out.stdout
    assert "reader: min (client, FRA), in eu" in out.stdout
    # A foreign partner is not a client: received AMBER is refused by its own rule, and explain names the kind.
    out = run(node.data, "policy", "explain", "--object", node.received["p-amber"]["id"], "--org", "cert")
    assert out.returncode == 1 and "received-amber-not-owner-or-client" in out.stdout, out.stdout
    assert "reader: cert (partner, JPN), in apac" in out.stdout
    r = requests.get(f"{node.base}/admin/explain/", params={"object": node.received["p-amber"]["id"], "org": "peer"},
                     auth=("admin", PASSWORD), headers={"Accept": TAXII}, timeout=30)
    assert r.status_code == 200
    assert [v["rule"] for v in r.json()["versions"]] == ["received-amber-not-forwarded"]
    assert r.json()["kind"] == "node"
    # Only admins may ask.
    assert node.get("cert", f"{node.base}/admin/explain/?object={red}&org=cert").status_code == 403


def test_the_admin_api_refuses_releasability_to_unknown_entries(node):
    r = requests.post(f"{node.base}/admin/markings/", auth=("admin", PASSWORD), headers={"Accept": TAXII},
                      data=json.dumps({"name": "typo", "releasable_to": ["nato-typo"]}), timeout=30)
    assert r.status_code == 422 and "nato-typo" in r.json()["description"]
    assert run(node.data, "marking", "create", "--name", "x", "--releasable-to", "").returncode == 2


def test_a_post_may_not_redefine_a_tlp_marking(node):
    forged = {"type": "marking-definition", "spec_version": "2.1", "id": TLP["red"], "created": "2022-10-01T00:00:00.000Z",
              "name": "TLP:RED", "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
                                                {"extension_type": "property-extension", "tlp_2_0": "clear"}}}
    r = requests.post(node.url("shared", "objects/"), auth=("own-user", PASSWORD),
                      headers={"Accept": TAXII, "Content-Type": TAXII}, data=json.dumps({"objects": [forged]}), timeout=30)
    assert r.json()["failure_count"] == 1 and "may not redefine" in r.json()["failures"][0]["message"]


def test_forged_created_by_ref_grants_nothing(node):
    # cert claims to be created by the owner's identity; the submitter is still cert, recorded by the server.
    o = indicator("forged", [TLP["red"]])
    o["created_by_ref"] = "identity--8c3b6f2e-51d4-4a0e-9d77-3f1a7c9e2b10"
    node.post("cert", "shared", [o])
    assert node.get("cert", node.url("shared", f"objects/{o['id']}/")).status_code == 200
    assert node.get("own", node.url("shared", f"objects/{o['id']}/")).status_code == 404


def test_reads_and_writes_are_in_the_audit_log_and_tampering_is_detected(node):
    node.get("cert", node.url("shared", "objects/"))
    node.stop()  # flushes queued reads
    ok = run(node.data, "audit", "verify")
    assert ok.returncode == 0 and "intact" in ok.stdout
    lines = [json.loads(l) for l in run(node.data, "audit", "export").stdout.splitlines()]
    actions = {l["action"] for l in lines}
    assert {"configuration", "user.add", "marking.register", "write", "read"} <= actions
    reads = [l for l in lines if l["action"] == "read" and l["org"] == "cert"]
    received = {tuple(v) for l in reads for v in l["detail"]["versions"]}
    assert (node.objects["red"]["id"], "2024-01-01T00:00:00.000Z") not in received
    assert (node.objects["red-rel-jpn"]["id"], "2024-01-01T00:00:00.000Z") in received
    if database_url(node.data):
        execute_sql(node.data, "UPDATE audit_entry SET entry = convert_to(replace(convert_from(entry, 'UTF8'), '\"cert\"', '\"own\"'), "
                               f"'UTF8') WHERE seq = {reads[0]['seq']}")
    else:
        execute_sql(node.data, "UPDATE audit_entry SET entry = CAST(replace(CAST(entry AS TEXT), '\"cert\"', '\"own\"') AS BLOB) "
                               f"WHERE seq = {reads[0]['seq']}")
    broken = run(node.data, "audit", "verify")
    assert broken.returncode == 1 and f"entry {reads[0]['seq']}" in broken.stderr
    node.proc, node.base, _ = start_server(node.data)  # the fixture's teardown stops it again


def test_the_published_releasability_extension_is_valid_stix_for_the_reference_validator():
    from stix2validator import ValidationOptions, validate_file
    from conftest import REPO
    path = os.path.join(REPO, "docs", "extensions", "releasability-extension.json")
    result = validate_file(path, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for o in result.object_results for e in o.errors]
    out = subprocess.run([MERIDIAN, "validate", path], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
