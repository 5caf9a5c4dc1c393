"""The analysts' web pages in a real browser (Debian's Chromium driven by Playwright) against the real `meridian serve`:
sign in, browse, search, open objects; a partner never sees an object the sharing policy hides from it; untrusted
object content renders as text; forms without their CSRF token are refused; sessions end when revoked.
Screenshots of each page go to .test-output/ui/ in the repository (or $TEST_OUTPUT/ui/)."""
import html
import json
import os
import re
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from conftest import MERIDIAN, REPO, TAXII, start_server

PASSWORD = "a long enough password"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
OUTPUT = os.path.join(os.environ.get("TEST_OUTPUT", os.path.join(REPO, ".test-output")), "ui")
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
}
CONFIG = """
[node]
title = "Web pages test node"
owner = "own"
max_content_length = 2097152

[[orgs]]
id = "own"
name = "Owner CERT"
country = "FRA"
kind = "owner"

[[orgs]]
id = "cert"
name = "Partner CERT"
country = "JPN"

[[orgs]]
id = "peer"
name = "Allied node"
country = "DEU"
kind = "node"

[[api_roots]]
path = "exchange"
title = "Exchange"

[[collections]]
id = "0b9a3c1e-5d2f-4e7a-9c61-00000000000a"
api_root = "exchange"
alias = "shared"
title = "Shared by all"
read = ["own", "cert", "peer"]
write = ["own", "cert", "peer"]
"""
T = "2026-11-20T09:00:00.000Z"
MALWARE = "malware--" + str(uuid.UUID(int=1, version=4))
SECRET = "indicator--" + str(uuid.UUID(int=2, version=4))
RELATIONSHIP = "relationship--" + str(uuid.UUID(int=3, version=4))
HOSTILE = "malware--" + str(uuid.UUID(int=4, version=4))
TECHNIQUE = "attack-pattern--" + str(uuid.UUID(int=5, version=4))
TACTIC = "x-mitre-tactic--" + str(uuid.UUID(int=6, version=4))
MATRIX = "x-mitre-matrix--" + str(uuid.UUID(int=7, version=4))
USES = "relationship--" + str(uuid.UUID(int=8, version=4))
SECRET_USES = "relationship--" + str(uuid.UUID(int=9, version=4))
XSS = "<script>alert('name')</script><img src=x onerror=alert('img')>"


def common(kind, id, tlp, **rest):
    return {"type": kind, "spec_version": "2.1", "id": id, "created": T, "modified": T, "object_marking_refs": [TLP[tlp]], **rest}


OBJECTS = [
    common("malware", MALWARE, "green", name="ExampleBear loader", is_family=True,
           description="Loader used by ExampleBear against undersea cable operators."),
    common("indicator", SECRET, "amber+strict", name="Secret staging server", pattern_type="stix", valid_from=T,
           pattern="[ipv4-addr:value = '203.0.113.77']", indicator_types=["malicious-activity"]),
    common("relationship", RELATIONSHIP, "green", relationship_type="indicates", source_ref=SECRET, target_ref=MALWARE),
    common("malware", HOSTILE, "green", name=XSS, is_family=False, description="<b>bold?</b> javascript:alert('d')",
           external_references=[{"source_name": "evil", "url": "javascript:alert('url')"},
                                {"source_name": "vendor", "url": "https://vendor.example/report"}]),
    common("attack-pattern", TECHNIQUE, "clear", name="Command and Scripting Interpreter",
           external_references=[{"source_name": "mitre-attack", "external_id": "T1059"}],
           kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "execution"}]),
    common("x-mitre-tactic", TACTIC, "clear", name="Execution", x_mitre_shortname="execution"),
    common("x-mitre-matrix", MATRIX, "clear", name="Test ATT&CK", tactic_refs=[TACTIC]),
    common("relationship", USES, "green", relationship_type="uses", source_ref=MALWARE, target_ref=TECHNIQUE),
    # From the peer, like the indicator: only the owner may read it.
    common("relationship", SECRET_USES, "amber+strict", relationship_type="indicates", source_ref=SECRET, target_ref=TECHNIQUE),
]
FROM_PEER = {SECRET, SECRET_USES}


@pytest.fixture(scope="module")
def node():
    data = tempfile.mkdtemp(prefix="meridian-ui-")
    subprocess.run([MERIDIAN, "init", "--data", data], check=True, capture_output=True)
    with open(os.path.join(data, "meridian.toml"), "w") as f:
        f.write(CONFIG)
    for user, org, admin in [("olga", "own", True), ("pat", "cert", False), ("nina", "peer", False)]:
        subprocess.run([MERIDIAN, "user", "add", user, "--org", org, "--data", data] + (["--admin"] if admin else []),
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    proc, base, _ = start_server(data)
    # The AMBER+STRICT indicator arrives from a peer node: on this node only the owner may read it (SHARING.md).
    for user, objects in [("nina", [o for o in OBJECTS if o["id"] in FROM_PEER]),
                          ("olga", [o for o in OBJECTS if o["id"] not in FROM_PEER])]:
        r = requests.post(f"{base}/exchange/collections/shared/objects/", auth=(user, PASSWORD), timeout=30,
                          headers={"Accept": TAXII, "Content-Type": TAXII}, data=json.dumps({"objects": objects}))
        assert r.status_code == 202 and r.json()["success_count"] == len(objects), r.text
    # Search documents are made in the background within about a second of a write.
    session, _ = sign_in_with_requests(base, "olga")
    for _ in range(100):
        if "Command and Scripting Interpreter" in session.get(base + "/ui/search?q=T1059", timeout=10).text:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the objects were not indexed for search within 10 s")
    yield data, base
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    os.makedirs(OUTPUT, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def signed_in(browser, base, user):
    """A new browser context signed in as `user` through the sign-in form; also returns the dialogs any page opened."""
    context = browser.new_context()
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(base + "/ui/")
    assert page.url.endswith("/ui/login")
    assert page.locator(".error").count() == 0
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/ui/")
    return context, page, dialogs


def shot(page, name):
    page.screenshot(path=os.path.join(OUTPUT, name + ".png"), full_page=True)


def test_an_analyst_signs_in_browses_searches_and_opens_objects(node, browser):
    data, base = node
    context, page, dialogs = signed_in(browser, base, "olga")
    shot(page, "home")
    home = page.locator("main").inner_text()
    assert "Shared by all" in home and "9 object versions added" in home
    assert re.search(r"malware\s+2", home) and re.search(r"Owner CERT\s+7", home) and re.search(r"Allied node\s+2", home)

    page.get_by_role("link", name="Collections").click()
    shot(page, "collections")
    page.get_by_role("link", name="Shared by all").first.click()
    shot(page, "collection")
    listed = page.locator("main table").inner_text()
    for name in ["ExampleBear loader", "Secret staging server", "Command and Scripting Interpreter"]:
        assert name in listed
    # Filters: kind and TLP.
    page.get_by_label("Kind").select_option("malware")
    page.get_by_role("button", name="Filter").click()
    listed = page.locator("main table").inner_text()
    assert "ExampleBear loader" in listed and "Secret staging server" not in listed
    page.get_by_label("Kind").select_option("")
    page.get_by_label("TLP").select_option("amber+strict")
    page.get_by_role("button", name="Filter").click()
    listed = page.locator("main table").inner_text()
    assert "Secret staging server" in listed and "ExampleBear loader" not in listed

    # Search by an ATT&CK id, then by a value inside an indicator's pattern.
    page.get_by_label("Search", exact=True).fill("T1059")
    page.get_by_label("Search", exact=True).press("Enter")
    shot(page, "search")
    page.get_by_role("link", name="Command and Scripting Interpreter").click()
    assert "T1059" in page.locator("main").inner_text()
    page.goto(base + "/ui/search?q=203.0.113.77")
    page.get_by_role("link", name="Secret staging server").click()
    shot(page, "object-indicator")
    text = page.locator("main").inner_text()
    assert "[ipv4-addr:value = '203.0.113.77']" in text and "TLP:AMBER+STRICT" in text
    assert "Submitted by Allied node" in text and "Received from the peer node peer" in text
    # Admins see who may read it: the partner may not.
    assert re.search(r"Partner CERT \(cert\)\s+no\s+received-amber-strict-not-owner", text), text

    # The malware's page names the indicator at the other end of the relationship.
    page.goto(f"{base}/ui/objects/{MALWARE}")
    shot(page, "object-malware")
    relationships = page.locator("section", has_text="Relationships").inner_text()
    assert "indicates" in relationships and "Secret staging server" in relationships

    # The matrix: the technique's cell counts the two relationships the owner may read.
    page.get_by_role("link", name="Matrices").click()
    page.get_by_role("link", name="Test ATT&CK").click()
    shot(page, "matrix")
    cell = page.locator("li", has_text="T1059")
    assert cell.locator(".count").inner_text() == "2" and "shade-2" in cell.get_attribute("class")
    assert dialogs == []
    context.close()


def test_a_partner_never_sees_what_the_policy_hides_from_it(node, browser):
    data, base = node
    context, page, dialogs = signed_in(browser, base, "pat")
    home = page.locator("main").inner_text()
    assert "7 object versions added" in home and "Secret" not in home
    page.goto(base + "/ui/collections/shared/")
    assert "Secret staging server" not in page.content() and SECRET not in page.content()
    page.goto(base + "/ui/collections/shared/?tlp=amber%2Bstrict")
    assert "No object matches" in page.locator("main").inner_text()
    for words in ["203.0.113.77", "Secret staging", "staging"]:
        page.goto(base + "/ui/search?q=" + requests.utils.quote(words))
        text = page.locator("main").inner_text()
        assert "Nothing you may read matches" in text and page.locator("main table").count() == 0, words
        assert SECRET not in page.content() and "Secret staging server" not in page.content()
    # The hidden object's page is the page of an object that does not exist.
    hidden = page.goto(f"{base}/ui/objects/{SECRET}")
    hidden_text = page.locator("main").inner_text()
    missing = page.goto(f"{base}/ui/objects/indicator--{uuid.UUID(int=99, version=4)}")
    assert hidden.status == missing.status == 404 and hidden_text == page.locator("main").inner_text()
    # The relationship is visible; its hidden end is not named.
    page.goto(f"{base}/ui/objects/{MALWARE}")
    shot(page, "object-malware-partner")
    relationships = page.locator("section", has_text="Relationships").inner_text()
    assert "indicates" in relationships and "an object you may not see" in relationships
    assert "Secret staging server" not in page.content()
    # The matrix counts only what the partner may read: the peer's relationship is not counted.
    page.goto(f"{base}/ui/matrices/{MATRIX}")
    shot(page, "matrix-partner")
    cell = page.locator("li", has_text="T1059")
    assert cell.locator(".count").inner_text() == "1" and "shade-1" in cell.get_attribute("class")
    # Not an admin: no policy explanation.
    page.goto(f"{base}/ui/objects/{MALWARE}")
    assert "Who can read this version" not in page.content()
    assert dialogs == []
    context.close()


def test_untrusted_object_content_renders_as_text_and_runs_nothing(node, browser):
    data, base = node
    context, page, dialogs = signed_in(browser, base, "pat")
    response = page.goto(f"{base}/ui/objects/{HOSTILE}")
    shot(page, "object-hostile")
    csp = response.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert page.locator("h1").inner_text() == XSS
    assert page.locator("main script").count() == 0 and page.locator("main img").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator("a[href='https://vendor.example/report']").count() == 1
    page.goto(base + "/ui/search?q=" + requests.utils.quote("<script>"))
    page.goto(base + "/ui/collections/shared/")
    assert XSS in page.locator("main table").inner_text()
    assert dialogs == []
    context.close()


def sign_in_with_requests(base, user, password=PASSWORD):
    s = requests.Session()
    form = s.get(base + "/ui/login", timeout=10)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text).group(1)
    r = s.post(base + "/ui/login", data={"csrf": csrf, "username": user, "password": password}, allow_redirects=False, timeout=30)
    return s, r


def test_forms_without_their_token_are_refused_and_sessions_are_revocable(node):
    data, base = node
    s, r = sign_in_with_requests(base, "pat")
    assert r.status_code == 303 and r.headers["Location"] == "/ui/"
    cookie = r.headers["Set-Cookie"]
    assert "mrd_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain HTTP here: test_serve_tls checks it is Secure over HTTPS
    # Sign-out without the session's CSRF token, or with a forged one, does nothing.
    for form in [{}, {"csrf": "0" * 64}]:
        refused = s.post(base + "/ui/logout", data=form, allow_redirects=False, timeout=10)
        assert refused.status_code == 403 and "security token" in refused.text
        assert s.get(base + "/ui/", allow_redirects=False, timeout=10).status_code == 200
    # A sign-in form posted without the cookie its token belongs to (a cross-site post) is refused.
    stranger = requests.post(base + "/ui/login", data={"csrf": "1" * 64, "username": "pat", "password": PASSWORD},
                             allow_redirects=False, timeout=10)
    assert stranger.status_code == 403 and "mrd_session" not in stranger.headers.get("Set-Cookie", "")
    # A wrong password is told as such, without saying which part was wrong.
    _, wrong = sign_in_with_requests(base, "pat", "not the password")
    assert wrong.status_code == 401 and "user name or the password is wrong" in wrong.text
    _, unknown = sign_in_with_requests(base, "nobody", "not the password")
    assert unknown.status_code == 401 and "user name or the password is wrong" in unknown.text

    # The session is a token of kind session: revoking it ends the session at once.
    listed = subprocess.run([MERIDIAN, "token", "list", "--user", "pat", "--data", data], capture_output=True, text=True, check=True)
    session_ids = [line.split()[0] for line in listed.stdout.splitlines() if " session " in line]
    assert session_ids
    for token_id in session_ids:
        subprocess.run([MERIDIAN, "token", "revoke", token_id, "--data", data], check=True, capture_output=True)
    ended = s.get(base + "/ui/", allow_redirects=False, timeout=10)
    assert ended.status_code == 303 and ended.headers["Location"] == "/ui/login"

    # Signing out ends a session too.
    s2, _ = sign_in_with_requests(base, "pat")
    page = s2.get(base + "/ui/", timeout=10).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    assert s2.post(base + "/ui/logout", data={"csrf": csrf}, allow_redirects=False, timeout=10).status_code == 303
    assert s2.get(base + "/ui/", allow_redirects=False, timeout=10).status_code == 303


def test_bad_requests_get_a_clear_page_and_the_right_status(node):
    data, base = node
    s, _ = sign_in_with_requests(base, "olga")
    for path, status, message in [
        ("/ui/collections/shared/?tlp=purple", 400, "TLP 'purple' is not one of"),
        ("/ui/collections/shared/?since=yesterday", 400, "is not a date"),
        ("/ui/collections/shared/?partner=nobody", 400, "not an org of this partnership"),
        ("/ui/collections/shared/?type=%3Cscript%3E", 400, "is not a STIX type name"),
        ("/ui/collections/nothing-here/", 404, "no such page or object"),
        ("/ui/objects/not-an-id", 404, "no such page or object"),
        ("/ui/search?q=%FF", 400, "percent-encoded"),
    ]:
        r = s.get(base + path, allow_redirects=False, timeout=10)
        assert r.status_code == status and message in html.unescape(r.text), (path, r.status_code, r.text[-500:])
        assert "<script>" not in r.text


def created_ids(page):
    """The ids of the objects a form made, from the page that lists them."""
    return [a.get_attribute("href").rsplit("/", 1)[1] for a in page.locator("main table a").all()]


def taxii_objects(base, ids):
    r = requests.get(f"{base}/exchange/collections/shared/objects/", auth=("olga", PASSWORD), timeout=30,
                     headers={"Accept": TAXII}, params={"match[id]": ",".join(ids)})
    assert r.status_code == 200, r.text
    return r.json()["objects"]


def assert_valid_stix(objects):
    from stix2validator import ValidationOptions, validate_instance
    for o in objects:
        result = validate_instance(o, ValidationOptions(version="2.1"))
        assert result.is_valid, (o["id"], [str(e) for e in result.errors])


def test_analysts_discuss_an_object_and_file_each_report_form(node, browser):
    data, base = node
    context, page, dialogs = signed_in(browser, base, "pat")
    # A note on the malware, chosen TLP:GREEN; it shows in the object's discussion.
    page.goto(f"{base}/ui/objects/{MALWARE}")
    page.get_by_label("Summary (notes)").fill("Seen at our operator")
    page.get_by_label("Text").fill("The loader reached a cable landing station's office network.")
    page.get_by_label("TLP").select_option("green")
    with page.expect_navigation():
        page.get_by_role("button", name="Add to the discussion").click()
    discussion = page.locator("#discussion").inner_text()
    assert "Seen at our operator" in discussion and "pat (Partner CERT)" in discussion
    page.get_by_label("an opinion").check()
    page.get_by_label("Opinion", exact=True).select_option("agree")
    page.get_by_label("Text").fill("Matches what we saw.")
    with page.expect_navigation():
        page.get_by_role("button", name="Add to the discussion").click()
    shot(page, "object-discussion")
    opinion = page.locator("#discussion article", has_text="Opinion (agree)").inner_text()
    assert "Matches what we saw." in opinion and "nil" not in opinion

    # The three report forms, each stored as valid STIX 2.1 (checked again here by stix2-validator).
    page.get_by_role("link", name="Report").first.click()
    page.get_by_role("link", name="Cyber incident").click()
    page.get_by_label("Title").fill("Phishing wave against ministries")
    page.get_by_label("Description").fill("Spear-phishing with a loader.")
    page.get_by_label("Observables", exact=False).fill("198.51.100.23\nlogin-update.example.com\nhttps://login-update.example.com/a\n"
                                                      + "d41d8cd98f00b204e9800998ecf8427e")
    page.get_by_label("ATT&CK techniques", exact=False).fill("T1059")
    page.get_by_label("TLP").select_option("green")
    shot(page, "report-cyber-form")
    page.get_by_role("button", name="Report").click()
    shot(page, "report-cyber-created")
    ids = created_ids(page)
    objects = taxii_objects(base, ids)
    assert sorted(o["type"] for o in objects) == ["incident"] + ["indicator"] * 4 + ["relationship"] * 5
    assert {o["pattern"] for o in objects if o["type"] == "indicator"} == {
        "[ipv4-addr:value = '198.51.100.23']", "[domain-name:value = 'login-update.example.com']",
        "[url:value = 'https://login-update.example.com/a']", "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"}
    assert any(o.get("target_ref") == TECHNIQUE for o in objects)
    assert_valid_stix(objects)

    page.goto(base + "/ui/report/disinformation")
    page.get_by_label("Title").fill("Cable sabotage rumours")
    page.get_by_label("Narratives", exact=False).fill("The cable was cut by the government itself")
    page.get_by_label("Channels", exact=False).fill("@cable_truth_now")
    page.get_by_role("button", name="Report").click()
    shot(page, "report-disinformation-created")
    objects = taxii_objects(base, created_ids(page))
    assert sorted(o["type"] for o in objects) == ["incident", "infrastructure", "note", "relationship"]
    assert_valid_stix(objects)

    page.goto(base + "/ui/report/infrastructure")
    page.get_by_label("Title").fill("Damage to a Baltic cable")
    page.get_by_label("Name of the infrastructure", exact=False).fill("Example Baltic cable 1")
    page.get_by_label("Kind of infrastructure").select_option("undersea cable")
    page.get_by_label("Latitude", exact=False).fill("59.4")
    page.get_by_label("Longitude", exact=False).fill("24.1")
    page.get_by_label("Country", exact=False).fill("ee")
    page.get_by_label("Cause").select_option("anchor drag or fishing")
    page.get_by_role("button", name="Report").click()
    shot(page, "report-infrastructure-created")
    objects = taxii_objects(base, created_ids(page))
    location = next(o for o in objects if o["type"] == "location")
    assert location["latitude"] == 59.4 and location["country"] == "EE"
    assert_valid_stix(objects)

    # A wrong field: the form again with the reason, nothing stored.
    page.goto(base + "/ui/report/infrastructure")
    page.get_by_label("Title").fill("Out of range")
    page.get_by_label("Name of the infrastructure", exact=False).fill("Nowhere cable")
    page.get_by_label("Latitude", exact=False).fill("123")
    page.get_by_label("Longitude", exact=False).fill("0")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Report").click()
    assert answer.value.status == 400
    assert "Latitude must be a number of degrees" in page.locator("main").inner_text()
    assert page.get_by_label("Title").input_value() == "Out of range"
    assert "Nowhere cable" not in requests.get(f"{base}/exchange/collections/shared/objects/?match[type]=infrastructure",
                                               auth=("olga", PASSWORD), headers={"Accept": TAXII}, timeout=30).text
    page.goto(base + "/ui/report/cyber")
    page.get_by_label("Title").fill("Unknown technique")
    page.get_by_label("ATT&CK techniques", exact=False).fill("T9999")
    page.get_by_role("button", name="Report").click()
    assert "no technique T9999 that you may read" in page.locator("main").inner_text()
    assert dialogs == []
    context.close()


def test_uploads_store_a_bundle_and_list_what_was_refused(node, browser):
    data, base = node
    context, page, dialogs = signed_in(browser, base, "pat")
    good = common("threat-actor", "threat-actor--" + str(uuid.UUID(int=20, version=4)), "green", name="Uploaded actor",
                  threat_actor_types=["nation-state"])
    bad = {"type": "indicator", "spec_version": "2.1", "id": "indicator--" + str(uuid.UUID(int=21, version=4)),
           "created": T, "modified": T, "pattern": "[not a pattern", "pattern_type": "stix", "valid_from": T}
    path = os.path.join(tempfile.mkdtemp(), "bundle.json")
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": "bundle--" + str(uuid.uuid4()), "objects": [good, bad]}, f)
    page.goto(base + "/ui/upload")
    page.get_by_label("A STIX 2.1 bundle", exact=False).set_input_files(path)
    page.get_by_role("button", name="Upload").click()
    shot(page, "upload-summary")
    summary = page.locator("main section").inner_text()
    assert "1 objects stored" in summary and "1 refused" in summary and bad["id"] in summary and "pattern" in summary
    assert taxii_objects(base, [good["id"]])[0]["name"] == "Uploaded actor"
    # Not JSON: a clear message, nothing stored.
    with open(path, "w") as f:
        f.write('{"type": "bundle", "objects": [')
    page.get_by_label("A STIX 2.1 bundle", exact=False).set_input_files(path)
    page.get_by_role("button", name="Upload").click()
    assert "Nothing was stored" in page.locator("main").inner_text() and "not valid JSON" in page.locator("main").inner_text()
    # Larger than the node's max_content_length (2 MiB here): refused with 413, nothing stored.
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": "bundle--" + str(uuid.uuid4()),
                   "objects": [dict(good, id="threat-actor--" + str(uuid.uuid4()), description="x" * 1_000_000) for _ in range(3)]}, f)
    page.get_by_label("A STIX 2.1 bundle", exact=False).set_input_files(path)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Upload").click()
    assert answer.value.status == 413 and "larger than the node's limit" in page.locator("main").inner_text()
    assert dialogs == []
    context.close()


def test_writes_need_the_token_the_right_and_a_readable_object(node):
    data, base = node
    s, _ = sign_in_with_requests(base, "pat")
    page = s.get(f"{base}/ui/objects/{MALWARE}", timeout=10).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    note = {"kind": "note", "content": "hello", "collection": "shared", "tlp": "green"}
    # Without the token: refused, nothing stored.
    r = s.post(f"{base}/ui/objects/{MALWARE}/consult", data=note, allow_redirects=False, timeout=10)
    assert r.status_code == 403
    r = s.post(f"{base}/ui/report/cyber", data={"name": "x", "collection": "shared", "tlp": "green"}, allow_redirects=False, timeout=10)
    assert r.status_code == 403
    # On an object the partner may not read: the same 404 as for none.
    r = s.post(f"{base}/ui/objects/{SECRET}/consult", data={**note, "csrf": csrf}, allow_redirects=False, timeout=10)
    assert r.status_code == 404
    # A TLP or collection the form does not offer.
    r = s.post(f"{base}/ui/objects/{MALWARE}/consult", data={**note, "csrf": csrf, "tlp": "purple"}, allow_redirects=False, timeout=10)
    assert r.status_code == 400 and "Choose a TLP level" in html.unescape(r.text)
    r = s.post(f"{base}/ui/objects/{MALWARE}/consult", data={**note, "csrf": csrf, "collection": "elsewhere"}, allow_redirects=False, timeout=10)
    assert r.status_code == 400 and "collection you may write to" in r.text
    # An oversized form.
    r = s.post(f"{base}/ui/objects/{MALWARE}/consult", data={**note, "csrf": csrf, "content": "x" * 100_000}, allow_redirects=False, timeout=10)
    assert r.status_code == 413
    stored = requests.get(f"{base}/exchange/collections/shared/objects/?match[type]=note", auth=("olga", PASSWORD),
                          headers={"Accept": TAXII}, timeout=30).json().get("objects", [])
    assert not any(o.get("content") == "hello" for o in stored)


def test_sign_ins_are_throttled_and_expired_sessions_end(node):
    data, base = node
    import sqlite3
    s, _ = sign_in_with_requests(base, "olga")
    assert s.get(base + "/ui/", allow_redirects=False, timeout=10).status_code == 200
    # A session past its expiry (8 hours) is refused like a revoked one.
    with sqlite3.connect(os.path.join(data, "meridian.sqlite")) as db:
        db.execute("UPDATE token SET expires_at = 1 WHERE kind = 'session' AND user = 'olga'")
    ended = s.get(base + "/ui/", allow_redirects=False, timeout=10)
    assert ended.status_code == 303 and ended.headers["Location"] == "/ui/login"
    assert "mrd_session=;" in ended.headers.get("Set-Cookie", "")
    # Repeated failures for one name from one address are throttled (the node's [limits], 10 by default).
    statuses = [sign_in_with_requests(base, "olga", "wrong password")[1].status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429], statuses
    throttled = sign_in_with_requests(base, "olga")[1]
    assert throttled.status_code == 429 and "Too many attempts" in throttled.text and int(throttled.headers["Retry-After"]) > 0


def test_pages_fit_a_phone_and_work_from_the_keyboard(node, browser):
    data, base = node
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(base + "/ui/login")
    # Keyboard only: the first Tab reaches the skip link, then the form's fields in order.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_label("User name").focus()
    page.keyboard.type("pat")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{base}/ui/objects/{MALWARE}")
    shot(page, "phone-object")
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
