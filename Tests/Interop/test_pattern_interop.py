"""`meridian pattern check` and `meridian match` against the OASIS reference tools from PyPI (stix2-patterns 2.1.2 and
stix2-matcher 3.0.0), case by case: the conformance corpus plus generated comparisons that exercise the value
semantics (types, regular expressions, LIKE, CIDR) on the same data."""
import itertools
import json
import os
import subprocess
import tempfile

from stix2matcher.matcher import match as reference_match
from stix2patterns.validator import run_validator

from conftest import MERIDIAN, REPO

CORPUS = os.path.join(REPO, "Tests", "Conformance", "patterns")


def batch(command, lines):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    out = subprocess.run([MERIDIAN, *command, "--batch", f.name], capture_output=True, text=True, check=True)
    os.unlink(f.name)
    return [json.loads(l) for l in out.stdout.splitlines()]


def reference_verdict(pattern, observed, version):
    try:
        return {"matched": bool(reference_match(pattern, observed, stix_version=version))}
    except Exception as e:  # the reference raises for unparseable patterns and evaluation errors alike
        return {"error": type(e).__name__}


def test_pattern_check_agrees_with_stix2_patterns_on_every_syntax_case():
    cases = json.load(open(os.path.join(CORPUS, "pattern_syntax_cases.json")))
    results = batch(["pattern", "check"], [{"pattern": c["pattern"]} for c in cases])
    assert len(results) == len(cases)
    for c, r in zip(cases, results):
        reference_valid = not run_validator(c["pattern"])
        assert r["valid"] == reference_valid, (c["pattern"], r)
        assert set(r) <= {"valid", "error"}


def test_match_agrees_with_stix2_matcher_on_the_whole_corpus():
    cases = json.load(open(os.path.join(CORPUS, "matcher_cases.json"))) + \
        json.load(open(os.path.join(CORPUS, "matcher_error_cases.json")))
    results = batch(["match"], [{"pattern": c["pattern"], "observed_data": c["observed_data"],
                                 "stix_version": c["stix_version"]} for c in cases])
    assert len(results) == len(cases)
    for c, r in zip(cases, results):
        expected = reference_verdict(c["pattern"], c["observed_data"], c["stix_version"])
        assert ("error" in r) == ("error" in expected), (c["pattern"], r, expected)
        if "matched" in expected:
            assert r["matched"] == expected["matched"], (c["pattern"], r, expected)


def generated_cases():
    """Every operator against every kind of value, with the constants that stress coercion."""
    observable = {"type": "x-test", "id": "x-test--0b0e3c51-9b1c-4a43-9b5f-1d9d4b1f2a01", "s": "Hello World\n",
                  "u": "Ünïcödé straße", "n": 42, "f": 4.5, "b": True, "ip": "192.168.10.7", "cidr": "10.1.0.0/16",
                  "data_hex": "00ff10", "name_bin": "YWxpY2U=", "ts": "2021-03-04T05:06:07.123456Z",
                  "list": [1, "two", 3.0], "nested": {"k": "v"}}
    bundle = {"type": "bundle", "id": "bundle--0b0e3c51-9b1c-4a43-9b5f-1d9d4b1f2a02", "objects": [
        {"type": "observed-data", "id": "observed-data--0b0e3c51-9b1c-4a43-9b5f-1d9d4b1f2a03", "number_observed": 2,
         "first_observed": "2021-03-04T05:06:07Z", "last_observed": "2021-03-04T05:09:07Z",
         "object_refs": [observable["id"]], "spec_version": "2.1"}, observable]}
    props = ["s", "u", "n", "f", "b", "ip", "cidr", "data_hex", "name_bin", "ts", "list", "nested", "list[*]", "missing"]
    constants = ["'Hello World'", "'hello%'", "42", "42.0", "4.5", "true", "h'00ff10'", "b'YWxpY2U='",
                 "t'2021-03-04T05:06:07.123456Z'", "'192.168.10.7'"]
    ops = ["=", "!=", "<", ">=", "NOT <", "NOT ="]
    for p, c, o in itertools.product(props, constants, ops):
        yield f"[x-test:{p} {o} {c}]", bundle
    regexes = ["^Hello", "World$", "o W", "^hello", "(?i)^hello", "\\w+\\s\\w+", "[A-Z][a-z]+", "^.*$", "a{2,}",
               "stra(ss|ß)e", "\\d", "^\\S+$", "l+o", "x*", "^$", "\\x00\\xff"]
    regexes += ["(a+)+$", "^(\\w+\\s?)*$", "[^a-z ]", "\\bWorld\\b", "o\\B", "\\AHello", "World\\Z", "[\\]]",
                "\\u00fc", "\\.", "a|b|W", "(?s)World.", "(?m)^$", "Wor(?:ld)?", "(?P<x>l)l"]
    for p, r in itertools.product(["s", "u", "data_hex", "name_bin", "n"], regexes):
        # A STIX string literal escapes a backslash as \\.
        yield "[x-test:%s MATCHES '%s']" % (p, r.replace("\\", "\\\\")), bundle
    likes = ["Hello%", "%World", "H_llo World", "%", "_", "Ünï%", "%straße", "hello%", "alice", "%lic%"]
    for p, l in itertools.product(["s", "u", "name_bin", "n"], likes):
        yield f"[x-test:{p} LIKE '{l}']", bundle
    for block in ["192.168.0.0/16", "192.168.10.7/32", "10.0.0.0/8", "192.168.10.0/24"]:
        yield f"[x-test:ip ISSUBSET '{block}']", bundle
        yield f"[x-test:cidr ISSUPERSET '10.1.2.3']", bundle
        yield f"[x-test:cidr ISSUBSET '{block}']", bundle
    for s in ["(42, 43)", "(42.0, 1)", "(true, false)", "('Hello World\\n', 'x')", "(1, 'a')"]:
        for p in ["n", "b", "s", "f"]:
            yield f"[x-test:{p} IN {s}]", bundle
    for q in ["REPEATS 2 TIMES", "REPEATS 3 TIMES", "WITHIN 1 SECONDS", "WITHIN 300 SECONDS",
              "START t'2021-03-04T05:00:00Z' STOP t'2021-03-04T05:07:00Z'",
              "START t'2021-03-04T05:09:07Z' STOP t'2021-03-04T06:00:00Z'"]:
        yield f"[x-test:n = 42] {q}", bundle
        yield f"([x-test:n = 42] AND [x-test:b = true]) {q}", bundle
        yield f"[x-test:n = 42] FOLLOWEDBY [x-test:f > 4] {q}", bundle


def test_match_agrees_with_stix2_matcher_on_generated_comparisons():
    cases = list(generated_cases())
    results = batch(["match"], [{"pattern": p, "observed_data": [b], "stix_version": "2.1"} for p, b in cases])
    disagreements = []
    for (pattern, bundle), r in zip(cases, results):
        expected = reference_verdict(pattern, [bundle], "2.1")
        if ("error" in r) != ("error" in expected) or r.get("matched") != expected.get("matched"):
            disagreements.append((pattern, r, expected))
    assert len(cases) > 1000
    assert not disagreements, disagreements[:10]


def test_match_command_exit_codes():
    bundle = next(generated_cases())[1]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(bundle, f)
    hit = subprocess.run([MERIDIAN, "match", "--pattern", "[x-test:n = 42]", f.name], capture_output=True, text=True)
    assert hit.returncode == 0 and json.loads(hit.stdout)[0]["type"] == "observed-data"
    miss = subprocess.run([MERIDIAN, "match", "--pattern", "[x-test:n = 43]", f.name], capture_output=True, text=True)
    assert miss.returncode == 1
    bad = subprocess.run([MERIDIAN, "match", "--pattern", "[x-test:n = ", f.name], capture_output=True, text=True)
    assert bad.returncode == 2 and "expected" in bad.stderr
    os.unlink(f.name)


def test_invalid_utf8_in_a_batch_line_is_an_error_for_that_line_only():
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as f:
        f.write(b'{"pattern": "[a:b = \'\xff\xfe\']"}\n{"pattern": "[a:b = 1]"}\n')
    out = subprocess.run([MERIDIAN, "pattern", "check", "--batch", f.name], capture_output=True, text=True)
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    assert out.returncode == 0 and len(lines) == 2
    assert lines[0]["valid"] is False and lines[1] == {"valid": True}
    os.unlink(f.name)
