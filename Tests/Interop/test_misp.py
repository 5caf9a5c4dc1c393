"""MISP interoperability (issue 19): Meridian's conversion of MISP events agrees with misp-stix from PyPI object by
object, its output passes stix2-validator, `meridian misp import` is all or nothing and idempotent, and a feed made
with PyMISP is imported completely."""
import json
import os
import subprocess
import tempfile

import pytest
from misp_stix_converter import MISPtoSTIX21Parser
from pymisp import MISPEvent, MISPObject, MISPOrganisation
from stix2patterns.pattern import Pattern
from stix2validator import ValidationOptions, validate_file

from conftest import MERIDIAN, REPO, new_node

FIXTURES = ["data/misp/events_collection_1.json", "data/misp/events_collection_2.json",
            "data/misp/attributes_collection_1.json", "data/misp/attributes_collection_2.json",
            "data/misp/objects_collection_1.json", "data/misp/objects_collection_2.json",
            "Tests/Fixtures/misp/common-attribute-types.json", "Tests/Fixtures/misp/objects-galaxies-sightings.json",
            "Tests/Fixtures/misp/more-object-templates.json", "Tests/Fixtures/misp/social-accounts.json", "Tests/Fixtures/misp/certificates.json", "Tests/Fixtures/misp/processes.json", "Tests/Fixtures/misp/sockets.json"]

# TLP ids: misp-stix writes TLP 1.0's, Meridian TLP 2.0's.
V1 = {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
      "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red"}
V2 = {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
      "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber", "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
      "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red"}
RANK = ["clear", "green", "amber", "amber+strict", "red"]
HIVES = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT", "HKU": "HKEY_USERS",
         "HKCC": "HKEY_CURRENT_CONFIG"}
COMPARED = ("name", "created", "modified", "valid_from", "first_observed", "last_observed", "published", "source_ref", "target_ref",
            "relationship_type", "sighting_of_ref", "where_sighted_refs", "observed_data_refs", "value", "hashes", "number",
            "resolves_to_refs", "from_ref", "to_refs", "subject", "message_id", "src_ref", "dst_ref", "src_port", "dst_port",
            "protocols", "size", "parent_directory_ref", "path", "user_id", "credential", "aliases", "kill_chain_phases",
            "external_references", "x_misp_value", "x_misp_type", "x_misp_name", "context", "description", "is_multipart",
            "identity_class", "account_login", "account_type", "display_name", "serial_number", "issuer", "subject", "version",
            "signature_algorithm", "subject_public_key_algorithm", "subject_public_key_exponent", "validity_not_before",
            "validity_not_after", "x509_v3_extensions", "pid", "command_line", "cwd", "parent_ref", "image_ref", "extensions")


def tlp(o, table):
    levels = [table[m] for m in o.get("object_marking_refs", []) if m in table]
    return max(levels, key=RANK.index) if levels else None


def full_hive(key):
    """Meridian writes a registry key's hive in full, as STIX 2.1 requires; misp-stix passes MISP's `HKLM` on."""
    first, sep, rest = key.partition("\\")
    return HIVES.get(first.upper(), first) + sep + rest


def comparisons(pattern):
    """A pattern's comparisons, parsed by stix2-patterns, per object type and in a stable order."""
    found = Pattern(pattern).inspect().comparisons
    out = {}
    for sco_type, items in found.items():
        rows = []
        for path, op, value in items:
            if sco_type == "windows-registry-key" and list(path) == ["key"]:
                value = "'" + full_hive(value[1:-1].replace("\\\\", "\\")).replace("\\", "\\\\") + "'"
            rows.append((tuple(map(str, path)), op, value))
        out[sco_type] = sorted(rows)
    return out


def differences(theirs, ours):
    """What differs between misp-stix's objects and Meridian's: ids, patterns, markings and the compared properties."""
    t = {o["id"]: o for o in theirs if o["type"] != "marking-definition"}
    m = {o["id"]: o for o in ours}
    problems = []
    if set(t) != set(m):
        problems.append(f"ids only from misp-stix: {sorted(set(t) - set(m))}; only from Meridian: {sorted(set(m) - set(t))}")
    # Meridian marks every object with its event's TLP, and observables and sightings with their attribute's.
    inherited = {}
    for o in t.values():
        if o["type"] in ("report", "grouping"):
            for r in o["object_refs"]:
                inherited.setdefault(r, tlp(o, V1) or tlp(o, V2))
    for o in t.values():
        if o["type"] == "observed-data":
            for r in o["object_refs"]:
                inherited[r] = tlp(o, V1) or tlp(o, V2) or inherited.get(r)
        if o["type"] == "sighting":
            of = t[o["sighting_of_ref"]]
            inherited[o["id"]] = tlp(of, V1) or tlp(of, V2) or inherited.get(o["id"])
    for i in sorted(set(t) & set(m)):
        a, b = t[i], m[i]
        if a["type"] == "indicator" and comparisons(a["pattern"]) != comparisons(b["pattern"]):
            problems.append(f"{i}: pattern {a['pattern']} != {b['pattern']}")
        want = tlp(a, V1) or tlp(a, V2)
        if want is None and a["type"] not in ("report", "grouping", "identity"):
            want = inherited.get(i)
        if want != tlp(b, V2):
            problems.append(f"{i}: TLP {want} != {tlp(b, V2)}")
        for k in COMPARED:
            if a["type"] == "identity" and k in ("created", "modified"):
                continue  # misp-stix stamps a sighting's organisation with the time of the conversion
            expected = full_hive(a[k]) if a["type"] == "windows-registry-key" and k == "key" else a.get(k)
            if expected != b.get(k):
                problems.append(f"{i}: {k} {a.get(k)!r} != {b.get(k)!r}")
        if "object_refs" in a and set(a["object_refs"]) != set(b.get("object_refs", [])):
            problems.append(f"{i}: object_refs differ")
        custom_a = {k: v for k, v in a.items() if k.startswith("x_misp_")}
        custom_b = {k: v for k, v in b.items() if k.startswith("x_misp_")}
        if custom_a != custom_b:
            problems.append(f"{i}: custom properties {custom_a} != {custom_b}")
    return problems


def misp_stix(path):
    parser = MISPtoSTIX21Parser()
    with open(path) as f:
        parser.parse_json_content(json.load(f))
    assert not parser.errors, parser.errors
    return json.loads(parser.bundle.serialize())["objects"]


def meridian_convert(*paths):
    r = subprocess.run([MERIDIAN, "misp", "convert", *paths], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["objects"]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_meridian_and_misp_stix_agree_object_by_object(fixture):
    path = os.path.join(REPO, fixture)
    ours = meridian_convert(path)
    assert ours
    assert differences(misp_stix(path), ours) == []


def test_the_comparison_sees_a_difference():
    path = os.path.join(REPO, "Tests/Fixtures/misp/objects-galaxies-sightings.json")
    ours = meridian_convert(path)
    changed = [dict(o, pattern="[ipv4-addr:value = '192.0.2.99']") if o["type"] == "indicator" else o for o in ours]
    assert any("pattern" in p for p in differences(misp_stix(path), changed))
    assert any("ids only" in p for p in differences(misp_stix(path), ours[1:]))


@pytest.mark.parametrize("fixture", FIXTURES[-7:])
def test_stix2_validator_finds_no_error_in_meridians_conversion(fixture, tmp_path):
    out = tmp_path / "bundle.json"
    out.write_text(json.dumps({"type": "bundle", "id": "bundle--6f000000-0000-4000-8000-000000000001",
                               "objects": meridian_convert(os.path.join(REPO, fixture))}))
    results = validate_file(str(out), ValidationOptions(version="2.1"))
    assert results.is_valid, [str(e) for r in results.object_results for e in r.errors]


def make_feed(out):
    """A MISP feed as PyMISP's feed generator writes one: an event file per event, manifest.json and hashes.csv."""
    os.makedirs(out, exist_ok=True)
    org = MISPOrganisation()
    org.from_dict(name="CERT-Feed", uuid="5e000000-0000-4000-8000-0000000000aa")
    manifest, hashes, uuids = {}, [], set()
    for n in range(3):
        event = MISPEvent()
        event.info, event.uuid, event.Orgc = f"Feed event {n}", f"5e000000-0000-4000-8000-00000000000{n}", org
        event.distribution, event.published = 3, True
        event.timestamp, event.publish_timestamp = 1700000000 + n, 1700000100 + n
        event.add_tag("tlp:green")
        event.add_attribute("ip-dst", f"203.0.113.{n + 1}", to_ids=True, comment="C2")
        event.add_attribute("domain", f"c2-{n}.example.net")
        event.add_attribute("sha256", "ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b", to_ids=False)
        event.add_attribute("text", "free text note")
        f = MISPObject("file", standalone=False)
        f.add_attribute("filename", value=f"dropper{n}.exe")
        f.add_attribute("md5", value="8764605c6f388c89096b534d33565802")
        event.add_object(f)
        with open(os.path.join(out, event.uuid + ".json"), "w") as fh:
            json.dump(event.to_feed(with_meta=False), fh)
        manifest.update(event.manifest)
        hashes += [(h, event.uuid) for h in event.attributes_hashes("md5")]
        uuids |= {a.uuid for a in event.attributes} | {f.uuid} | {event.uuid}
    with open(os.path.join(out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh)
    with open(os.path.join(out, "hashes.csv"), "w") as fh:
        fh.writelines(f"{h},{u}\n" for h, u in hashes)
    return uuids


def exported(data):
    r = subprocess.run([MERIDIAN, "export", "--collection", "shared", "--data", data], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout).get("objects", [])


def misp_import(data, *paths, extra=()):
    return subprocess.run([MERIDIAN, "misp", "import", *paths, "--collection", "shared", "--data", data, *extra], capture_output=True,
                          text=True, timeout=300)


def streamed(feed):
    """--max-bytes that holds the feed's largest event file but not the whole feed: imported file by file."""
    sizes = [os.path.getsize(os.path.join(feed, n)) for n in os.listdir(feed) if n.endswith(".json") and n != "manifest.json"]
    assert sum(sizes) > max(sizes)
    return ("--max-bytes", str(max(sizes)))


@pytest.mark.parametrize("file_by_file", [False, True])
def test_a_pymisp_feed_is_imported_completely_and_again_stores_nothing(tmp_path, file_by_file):
    feed = str(tmp_path / "feed")
    uuids = make_feed(feed)
    data = new_node()
    first = misp_import(data, feed, extra=streamed(feed) if file_by_file else ())
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 events" in first.stdout and " 0 rejected" in first.stdout
    objects = exported(data)
    # Every event, attribute and object of the feed is there, under its MISP uuid.
    stored = {o["id"].split("--", 1)[1] for o in objects}
    assert uuids <= stored, uuids - stored
    assert {o["type"] for o in objects} >= {"report", "indicator", "observed-data", "file", "x-misp-attribute"}
    # Every object made from a TLP:GREEN event carries TLP:GREEN.
    assert all(tlp(o, V2) == "green" for o in objects if o["type"] != "identity")
    again = misp_import(data, feed)
    assert again.returncode == 0 and ": 0 stored" in again.stdout, again.stdout
    assert len(exported(data)) == len(objects)
    # The node's indicators match what misp-stix makes of the same feed.
    theirs = []
    for name in sorted(os.listdir(feed)):
        if name.endswith(".json") and name != "manifest.json":
            theirs += misp_stix(os.path.join(feed, name))
    assert differences([o for o in theirs if o["type"] != "identity"], [o for o in objects if o["type"] != "identity"]) == []


@pytest.mark.parametrize("break_it, message", [
    (lambda feed: os.remove(os.path.join(feed, "5e000000-0000-4000-8000-000000000001.json")),
     "lists event 5e000000-0000-4000-8000-000000000001 but 5e000000-0000-4000-8000-000000000001.json is missing"),
    (lambda feed: open(os.path.join(feed, "5e000000-0000-4000-8000-000000000002.json"), "a").write("}"), "not valid JSON"),
    (lambda feed: rewrite(feed, lambda e: e["Attribute"][0].update(value="not-an-address")),
     "'ip-dst' value 'not-an-address' is not an IPv4 or IPv6 address"),
    (lambda feed: rewrite(feed, lambda e: e["Attribute"][0].update(type="flux-capacitor")), "'flux-capacitor' is not a MISP attribute type"),
    (lambda feed: rewrite(feed, lambda e: e.update(distribution="0")), "distribution 0 (your organisation only)"),
])
@pytest.mark.parametrize("file_by_file", [False, True])
def test_bad_feeds_are_refused_naming_what_is_wrong_and_import_nothing(tmp_path, break_it, message, file_by_file):
    feed = str(tmp_path / "feed")
    make_feed(feed)
    break_it(feed)
    limit = streamed(feed)
    data = new_node()
    # File by file, the first two events convert before the third fails: the first pass still stores nothing.
    r = misp_import(data, feed, extra=limit if file_by_file else ())
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "nothing was imported" in r.stderr, r.stderr
    assert exported(data) == []


def rewrite(feed, change):
    """Changes the last event of a feed."""
    path = os.path.join(feed, "5e000000-0000-4000-8000-000000000002.json")
    with open(path) as f:
        document = json.load(f)
    change(document["Event"])
    with open(path, "w") as f:
        json.dump(document, f)


# -- A collection as a MISP feed ---------------------------------------------------------------------------------------

PARTNER = ("bob", "another long password")
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def oasis_indicator(n, marking):
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--6a000000-0000-4000-8000-00000000000{n}",
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": f"OASIS-style {n}",
            "pattern": f"[ipv4-addr:value = '198.51.100.{n}']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
            "object_marking_refs": [marking]}


@pytest.fixture(scope="module")
def feed_node():
    """A node whose `shared` collection holds two MISP events and, posted by TAXII, a TLP:GREEN indicator in the OASIS
    style and a TLP:RED one that only the owner's org may read; alice is of the owner org, bob of the partner."""
    import requests
    from conftest import start_server
    data = new_node()
    subprocess.run([MERIDIAN, "user", "add", PARTNER[0], "--org", "cert-partner", "--data", data], input=PARTNER[1] + "\n",
                   text=True, check=True, capture_output=True)
    r = misp_import(data, os.path.join(REPO, "Tests/Fixtures/misp/objects-galaxies-sightings.json"),
                    os.path.join(REPO, "Tests/Fixtures/misp/common-attribute-types.json"),
                    os.path.join(REPO, "Tests/Fixtures/misp/more-object-templates.json"),
                    os.path.join(REPO, "Tests/Fixtures/misp/social-accounts.json"),
                    os.path.join(REPO, "Tests/Fixtures/misp/certificates.json"),
                    os.path.join(REPO, "Tests/Fixtures/misp/processes.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    proc, base, _ = start_server(data)
    alice = ("alice", "a long enough password")
    collections = requests.get(base + "/partnership/collections/", auth=alice, headers={"Accept": "application/taxii+json;version=2.1"}).json()
    shared = next(c["id"] for c in collections["collections"] if c["title"] == "Partner submissions")
    posted = requests.post(f"{base}/partnership/collections/{shared}/objects/", auth=alice,
                           headers={"Accept": "application/taxii+json;version=2.1", "Content-Type": "application/taxii+json;version=2.1"},
                           json={"objects": [oasis_indicator(1, GREEN), oasis_indicator(2, RED)]})
    assert posted.status_code == 202 and posted.json()["success_count"] == 2, posted.text
    yield {"data": data, "base": base, "shared": shared, "users": {"alice": alice, "bob": PARTNER}}
    proc.kill()
    proc.wait()


def feed(node, user, name):
    import requests
    return requests.get(f"{node['base']}/misp/feeds/partnership/shared/{name}", auth=node["users"][user], timeout=60)


def taxii_indicators(node, user):
    import requests
    r = requests.get(f"{node['base']}/partnership/collections/{node['shared']}/objects/", auth=node["users"][user],
                     params={"match[type]": "indicator", "limit": "1000"}, headers={"Accept": "application/taxii+json;version=2.1"})
    assert r.status_code == 200
    return {o["id"]: o for o in r.json().get("objects", [])}


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_each_readers_feed_loads_in_pymisp_and_misp_stix_gives_back_the_indicators_taxii_shows_them(feed_node, user, tmp_path):
    manifest = feed(feed_node, user, "manifest.json")
    assert manifest.status_code == 200, manifest.text
    events = manifest.json()
    assert events
    back = {}
    for uuid in events:
        r = feed(feed_node, user, uuid + ".json")
        assert r.status_code == 200
        event = MISPEvent()
        event.load(r.text)  # PyMISP reads it without error
        assert event.uuid == uuid and event.info == events[uuid]["info"]
        for o in misp_stix_of(r.json(), tmp_path / f"{uuid}.json"):
            back[o["id"]] = o
    expected = taxii_indicators(feed_node, user)
    for id_, indicator in expected.items():
        uuid = id_.split("--", 1)[1]
        if id_ in back:
            assert comparisons(back[id_]["pattern"]) == comparisons(indicator["pattern"]), id_
        else:
            # A pattern no MISP attribute type makes travels as a stix2-pattern attribute, verbatim: only the two
            # posted in the OASIS style, not any that came from MISP.
            assert uuid.startswith("6a000000-"), id_
            custom = back.get("x-misp-attribute--" + uuid)
            assert custom and custom["x_misp_type"] == "stix2-pattern" and custom["x_misp_value"] == indicator["pattern"], id_
    # Nothing the reader may not see: every indicator or attribute in the feed is one TAXII shows them.
    shown = {i.split("--", 1)[1] for i in expected}
    fed = {i.split("--", 1)[1] for i, o in back.items() if o["type"] in ("indicator",) or o.get("x_misp_type") == "stix2-pattern"}
    assert fed == shown
    assert ("6a000000-0000-4000-8000-000000000002" in shown) == (user == "alice")
    # Observations of MISP objects not flagged to_ids come back as the same observations (a domain-ip, a
    # network-connection), not only indicators.
    def observed(uuid):
        od = back.get("observed-data--" + uuid)
        assert od, uuid
        out = set()
        for ref in od["object_refs"]:
            sco = back[ref]
            out |= {str(sco[k]) for k in ("value", "dst_port") if k in sco} | set(sco.get("protocols", []))
        return out
    assert observed("5b000000-0000-4000-8000-000000000002") == {"evil.example.com", "203.0.113.5"}
    assert observed("5b000000-0000-4000-8000-000000000005") == {"198.51.100.1", "203.0.113.5", "443", "tcp"}
    process = back.get("process--5b500000-0000-4000-8000-000000000002")
    assert process and (process["pid"], process["command_line"]) == (7, "sh -c 'curl x'")
    gitlab = back.get("user-account--5b300000-0000-4000-8000-000000000006")
    assert gitlab and (gitlab["account_type"], gitlab["account_login"], gitlab["display_name"], gitlab["user_id"]) == \
        ("gitlab", "evil-dev2", "Evil Dev Two", "43")
    # Galaxy clusters and sightings come back too.
    assert "attack-pattern--dc31fe1e-d722-49da-8f5f-92c7b5aff534" in back and "threat-actor--7cdff317-a673-4474-84ec-4f1754947823" in back
    assert "sighting--5b000000-0000-4000-8000-0000000000c1" in back
    # hashes.csv lists the MD5 of values, with their events.
    hashes = feed(feed_node, user, "hashes.csv").text.splitlines()
    assert hashes and all(len(h.split(",")[0]) == 32 and h.split(",")[1] in events for h in hashes)


def misp_stix_of(event, path):
    path.write_text(json.dumps(event))
    return misp_stix(str(path))


def test_the_feed_needs_credentials_and_names_no_collection_it_does_not_serve(feed_node):
    import requests
    base = feed_node["base"]
    assert requests.get(f"{base}/misp/feeds/partnership/shared/manifest.json").status_code == 401
    wrong = requests.get(f"{base}/misp/feeds/partnership/secret/manifest.json", auth=feed_node["users"]["bob"])
    assert wrong.status_code == 404 and "secret" in wrong.text
    assert feed(feed_node, "bob", "../../etc/passwd").status_code == 404
    assert feed(feed_node, "bob", "6a000000-0000-4000-8000-000000000099.json").status_code == 404


def test_misp_export_writes_the_feed_serve_gives_that_org_and_it_imports_back(feed_node, tmp_path):
    out = str(tmp_path / "feed")
    r = subprocess.run([MERIDIAN, "misp", "export", "--collection", "shared", "--org", "cert-partner", "--out", out,
                        "--data", feed_node["data"]], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "manifest.json")) as f:
        assert json.load(f) == feed(feed_node, "bob", "manifest.json").json()
    # Another node imports it as it would any MISP feed.
    other = new_node()
    again = misp_import(other, out)
    assert again.returncode == 0, again.stdout + again.stderr
    ids = {o["id"] for o in exported(other)}
    assert set(taxii_indicators(feed_node, "bob")) <= ids


def test_an_admin_posts_misp_json_and_it_is_imported_as_the_command_imports_it():
    import requests
    from conftest import start_server
    data = new_node()
    subprocess.run([MERIDIAN, "user", "add", "root", "--org", "cert-example", "--admin", "--data", data], input="an admin password 1\n",
                   text=True, check=True, capture_output=True)
    proc, base, _ = start_server(data)
    try:
        with open(os.path.join(REPO, "data/misp/events_collection_1.json"), "rb") as f:
            body = f.read()
        url = base + "/admin/misp/import/"
        admin = ("root", "an admin password 1")
        assert requests.post(url, params={"collection": "shared"}, data=body).status_code == 401
        assert requests.post(url, params={"collection": "shared"}, data=body, auth=("alice", "a long enough password")).status_code == 403
        missing = requests.post(url, data=body, auth=admin)
        assert missing.status_code == 400 and "collection" in missing.json()["description"]
        bad = json.loads(body)
        bad["response"][1]["Event"]["Attribute"][0]["value"] = "not a domain"
        refused = requests.post(url, params={"collection": "shared"}, data=json.dumps(bad), auth=admin)
        assert refused.status_code == 422, refused.text
        assert "attribute 4bb235a7-7d25-4aef-802f-2c6b45c5eceb" in refused.json()["description"]
        assert exported(data) == []
        done = requests.post(url, params={"collection": "shared"}, data=body, auth=admin)
        assert done.status_code == 200, done.text
        summary = done.json()
        assert summary["events"] == 2 and summary["stored"] == summary["objects"] and summary["rejected"] == []
        again = requests.post(url, params={"collection": "shared"}, data=body, auth=admin).json()
        assert again["stored"] == 0 and again["already_present"] == summary["objects"]
        assert {o["id"] for o in exported(data)} == {o["id"] for o in meridian_convert(os.path.join(REPO, "data/misp/events_collection_1.json"))}
    finally:
        proc.kill()
        proc.wait()


def test_attack_clusters_refer_to_the_attack_objects_the_node_holds(tmp_path):
    import gzip
    with gzip.open(os.path.join(REPO, "data/attack/enterprise-attack-18.1.json.gz")) as f:
        attack = json.load(f)["objects"]
    t1059 = next(o for o in attack if o["type"] == "attack-pattern"
                 and any(r.get("external_id") == "T1059" for r in o.get("external_references", [])))
    bundle = tmp_path / "t1059.json"
    bundle.write_text(json.dumps({"type": "bundle", "id": "bundle--6b000000-0000-4000-8000-000000000001", "objects": [t1059]}))
    data = new_node()
    r = subprocess.run([MERIDIAN, "import", str(bundle), "--collection", "attack-enterprise", "--data", data], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = misp_import(data, os.path.join(REPO, "Tests/Fixtures/misp/objects-galaxies-sightings.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    shared = {o["id"]: o for o in exported(data)}
    report = shared["report--5b000000-0000-4000-8000-0000000000ff"]
    # The cluster "Command and Scripting Interpreter - T1059" is the ATT&CK object already held, not a copy.
    assert t1059["id"] in report["object_refs"]
    assert "attack-pattern--dc31fe1e-d722-49da-8f5f-92c7b5aff534" not in shared
    # A cluster the node holds nothing for is made as misp-stix makes it.
    assert "threat-actor--7cdff317-a673-4474-84ec-4f1754947823" in shared


def sharing_group_event(*members, prefix="6c"):
    return {"Event": {"uuid": f"{prefix}000000-0000-4000-8000-0000000000ff", "info": "Cable landing station scans", "timestamp": "1700000000",
                      "distribution": "4", "Orgc": {"name": "Example national CERT", "uuid": "6c000000-0000-4000-8000-0000000000aa"},
                      "SharingGroup": {"name": "Cable watch", "SharingGroupOrg": [{"Organisation": {"name": m}} for m in members]},
                      "Attribute": [{"uuid": f"{prefix}000000-0000-4000-8000-000000000001", "type": "ip-dst", "category": "Network activity",
                                     "value": "203.0.113.77", "to_ids": True, "timestamp": "1700000000", "distribution": "5"}]}}


def test_a_sharing_group_is_honoured_by_releasability_or_refused(tmp_path):
    import requests
    from conftest import start_server
    data = new_node()
    subprocess.run([MERIDIAN, "user", "add", PARTNER[0], "--org", "cert-partner", "--data", data], input=PARTNER[1] + "\n",
                   text=True, check=True, capture_output=True)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps(sharing_group_event("Example national CERT", "Some other CERT")))
    refused = misp_import(data, str(unknown))
    assert refused.returncode == 2 and "'Some other CERT' is no org of the partnership" in refused.stderr, refused.stderr
    assert exported(data) == []
    # --stricter leaves the unknown member out: the event is for the owner's org alone.
    stricter = subprocess.run([MERIDIAN, "misp", "import", str(unknown), "--collection", "shared", "--stricter", "--data", data],
                              capture_output=True, text=True, timeout=120)
    assert stricter.returncode == 0, stricter.stdout + stricter.stderr
    both = tmp_path / "both.json"
    both.write_text(json.dumps(sharing_group_event("Example national CERT", "Example partner CERT", prefix="6d")))
    assert misp_import(data, str(both)).returncode == 0
    proc, base, _ = start_server(data)
    try:
        shared = "/partnership/collections/"
        headers = {"Accept": "application/taxii+json;version=2.1"}
        cid = next(c["id"] for c in requests.get(base + shared, auth=("alice", "a long enough password"), headers=headers).json()["collections"]
                   if c["title"] == "Partner submissions")
        def seen(auth):
            r = requests.get(f"{base}{shared}{cid}/objects/", auth=auth, headers=headers)
            return {o["id"] for o in r.json().get("objects", [])}
        assert "indicator--6c000000-0000-4000-8000-000000000001" in seen(("alice", "a long enough password"))
        assert not any(i.startswith(("indicator--6c", "grouping--6c", "observed-data--6c")) for i in seen(PARTNER))
        # A group of both orgs: the partner reads it too.
        assert "indicator--6d000000-0000-4000-8000-000000000001" in seen(PARTNER)
    finally:
        proc.kill()
        proc.wait()


def test_an_event_larger_than_the_limit_is_refused_whole(tmp_path):
    attributes = [{"uuid": f"6e000000-0000-4000-8000-{i:012d}", "type": "ip-dst", "category": "Network activity",
                   "value": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", "to_ids": True, "timestamp": "1700000000"} for i in range(30_000)]
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"Event": {"uuid": "6e000000-0000-4000-8000-0000000000ff", "info": "Big", "timestamp": "1700000000",
                                         "Attribute": attributes}}))
    data = new_node()
    r = subprocess.run([MERIDIAN, "misp", "import", str(big), "--collection", "shared", "--max-bytes", "1000000", "--data", data],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "limited to 1000000 bytes" in r.stderr and "nothing was imported" in r.stderr, r.stderr
    assert exported(data) == []
    # Within the limit, all of it: 2,000 attributes become 10,001 objects in one transaction.
    small = tmp_path / "small.json"
    small.write_text(json.dumps({"Event": {"uuid": "6e000000-0000-4000-8000-0000000000ff", "info": "Big", "timestamp": "1700000000",
                                           "Attribute": attributes[:2000]}}))
    r = misp_import(data, str(small))
    assert r.returncode == 0 and "10001 STIX objects: 10001 stored" in r.stdout, r.stdout + r.stderr
