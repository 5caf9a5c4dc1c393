"""`meridian serve` over HTTPS (TLS 1.2 or later), and its refusal to serve plain HTTP off loopback."""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import pytest
import requests
from taxii2client.v21 import Server

from conftest import MERIDIAN, free_port, new_node, start_server


@pytest.fixture(scope="module")
def tls_node():
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make a test certificate")
    data = tempfile.mkdtemp(prefix="meridian-tls-")
    subprocess.run([MERIDIAN, "init", "--data", data], check=True, capture_output=True)
    subprocess.run([MERIDIAN, "user", "add", "alice", "--org", "cert-example", "--data", data],
                   input="a long enough password\n", text=True, check=True, capture_output=True)
    cert, key = os.path.join(data, "cert.pem"), os.path.join(data, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    proc, base, port = start_server(data, "--tls-cert", cert, "--tls-key", key, scheme="https", verify=cert)
    yield {"base": base, "cert": cert, "port": port, "data": data}
    proc.terminate()
    proc.wait(timeout=10)


def test_taxii2_client_reads_over_https(tls_node, monkeypatch):
    # requests lets these variables override a session's own `verify` (the CA that signed our test certificate).
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    server = Server(tls_node["base"] + "/taxii2/", user="alice", password="a long enough password", verify=tls_node["cert"])
    assert server.title == "Meridian node"
    assert [c.alias for c in server.api_roots[0].collections] == ["attack-enterprise", "disarm", "shared", "sightings"]


def test_tls_1_1_is_refused_and_1_2_accepted(tls_node):
    for version, accepted in [(ssl.TLSVersion.TLSv1_1, False), (ssl.TLSVersion.TLSv1_2, True)]:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(tls_node["cert"])
        try:
            ctx.minimum_version = version
            ctx.maximum_version = version
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            continue  # this OpenSSL cannot even offer the version: nothing to test
        try:
            with socket.create_connection(("127.0.0.1", tls_node["port"])) as sock:
                with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
                    assert accepted, f"{version} was accepted"
                    assert tls.version() == "TLSv1.2"
        except ssl.SSLError:
            assert not accepted, f"{version} was refused"


def test_plain_http_is_refused_off_loopback_without_the_flag():
    data = new_node("meridian-plain-")
    r = subprocess.run([MERIDIAN, "serve", "--data", data, "--host", "0.0.0.0", "--port", str(free_port())],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "refusing plain HTTP" in r.stderr


def test_the_web_pages_session_cookie_is_secure_over_https(tls_node, monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    import re
    s = requests.Session()
    s.verify = tls_node["cert"]
    form = s.get(tls_node["base"] + "/ui/login", timeout=10)
    assert "Secure" in form.headers["Set-Cookie"]
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text).group(1)
    r = s.post(tls_node["base"] + "/ui/login", data={"csrf": csrf, "username": "alice", "password": "a long enough password"},
               allow_redirects=False, timeout=30)
    session_cookie = next(c for c in r.headers["Set-Cookie"].split(", mrd_") if "session=" in c)
    assert r.status_code == 303 and "Secure" in session_cookie and "HttpOnly" in session_cookie
