"""Meridian's `validate` against the OASIS reference validator (stix2-validator, PyPI), run on the same inputs.

The real `meridian` binary and the real stix2-validator must agree, object by object, on which objects are valid,
for the sample data and for objects broken in the ways partners' data is broken in practice.
"""
import copy
import gzip
import json
import os
import subprocess
import tempfile

import pytest
from stix2validator import ValidationOptions, validate_instance

from conftest import MERIDIAN, REPO

SMALL_FILES = [
    "data/oasis-examples/apt1.json",
    "data/oasis-examples/poisonivy.json",
    "data/oasis-examples/infrastructure.json",
    "data/oasis-examples/indicators-for-C2-with-COA.json",
    "data/misp/objects_collection_stix21.json",
    "data/misp/events_collection_stix21.json",
    "data/disarm/DISARM.json.gz",
    "data/attack/ics-attack-18.1.json.gz",
]


def load(path):
    full = os.path.join(REPO, path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(full, "rt", encoding="utf-8") as f:
        return json.load(f)


def meridian(document, *flags):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(document, f)
        path = f.name
    try:
        run = subprocess.run([MERIDIAN, "validate", "--json", *flags, path], capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(path)
    assert run.returncode in (0, 1), run.stderr
    out = json.loads(run.stdout)
    return [r["valid"] for r in out["results"]], run.returncode


def reference(objects, strict=False):
    """stix2-validator's verdicts; an exception it raises on an object (as for an unknown spec_version) is a refusal."""
    options = ValidationOptions(silent=True, strict=strict)
    verdicts = []
    for o in objects:
        try:
            verdicts.append(validate_instance(o, options).is_valid)
        except Exception:  # noqa: BLE001 - the reference's way of refusing an object
            verdicts.append(False)
    return verdicts


@pytest.mark.parametrize("path", SMALL_FILES)
@pytest.mark.parametrize("strict", [False, True])
def test_same_verdict_per_object_on_sample_data(path, strict):
    bundle = load(path)
    flags = ["--strict"] if strict else []
    ours, status = meridian(bundle, *flags)
    theirs = reference(bundle["objects"], strict)
    assert ours == theirs
    assert status == (0 if all(ours) else 1)


def broken_variants():
    base = load("data/oasis-examples/poisonivy.json")["objects"]
    indicator = next(o for o in base if o["type"] == "indicator")
    malware = next(o for o in base if o["type"] == "malware")
    rel = next(o for o in base if o["type"] == "relationship")

    def variant(obj, **changes):
        o = copy.deepcopy(obj)
        for k, v in changes.items():
            if v is None:
                o.pop(k, None)
            else:
                o[k] = v
        return o

    yield variant(indicator, pattern=None)
    yield variant(indicator, created="2016-13-01T00:00:00Z")
    yield variant(indicator, modified="2000-01-01T00:00:00.000Z")
    yield variant(indicator, spec_version="2.2")
    yield variant(indicator, id="indicator--not-a-uuid")
    yield variant(indicator, id="malware--" + indicator["id"].split("--")[1])
    yield variant(indicator, valid_until="2000-01-01T00:00:00Z")
    yield variant(indicator, confidence=101)
    yield variant(indicator, lang="zz-notalanguage")
    yield variant(indicator, x_custom_prop="kept")
    yield variant(indicator, CustomProp="bad name")
    yield variant(malware, is_family="yes")
    yield variant(malware, kill_chain_phases=[{"kill_chain_name": "lockheed-martin-cyber-kill-chain"}])
    yield variant(malware, external_references=[{"url": "https://example.com"}])
    yield variant(malware, object_marking_refs=["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"])
    yield variant(malware, granular_markings=[{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
                                               "selectors": ["nonexistent"]}])
    yield variant(rel, target_ref=None)
    yield variant(rel, relationship_type="Has Space")
    yield variant(rel, source_ref="not-an-id")
    yield {"type": "x-acme-widget", "spec_version": "2.1", "id": "x-acme-widget--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
           "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z"}
    yield {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4",
           "value": "198.51.100.3"}
    yield {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4",
           "value": 3}
    yield {"type": "network-traffic", "spec_version": "2.1", "id": "network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d",
           "src_port": 99999, "protocols": ["tcp"]}
    yield {"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
           "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": "TLP:GREEN",
           "definition": {"tlp": "green"}}


@pytest.mark.parametrize("strict", [False, True])
def test_same_verdict_on_broken_objects(strict):
    objects = list(broken_variants())
    flags = ["--strict"] if strict else []
    ours, _ = meridian(objects, *flags)
    theirs = reference(objects, strict)
    disagreements = [(i, objects[i].get("id"), o, t) for i, (o, t) in enumerate(zip(ours, theirs)) if o != t]
    assert not disagreements
    assert not all(theirs), "the variants must include invalid objects"


def test_standard_input_plain_or_gzipped_within_the_limit():
    raw = open(os.path.join(REPO, "data/oasis-examples/apt1.json"), "rb").read()
    for data in (raw, gzip.compress(raw)):
        run = subprocess.run([MERIDIAN, "validate", "-"], input=data, capture_output=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert b"bundle of 76 objects, 76 valid" in run.stdout
    # The limit holds for standard input too, for the bytes read and for what gzip data expands to.
    for data, reason in ((raw, b"larger than the limit of 1000 bytes"), (gzip.compress(raw), b"decompresses to more than the limit")):
        run = subprocess.run([MERIDIAN, "validate", "--max-input-bytes", "1000", "-"], input=data, capture_output=True, timeout=120)
        assert run.returncode == 2 and reason in run.stderr, run.stderr
    run = subprocess.run([MERIDIAN, "validate", "-"], input=gzip.compress(raw)[:500], capture_output=True, timeout=120)
    assert run.returncode == 2 and b"truncated gzip data" in run.stderr, run.stderr
