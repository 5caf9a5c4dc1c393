"""Helpers shared by the interoperability tests: the binary under test, free ports, starting `meridian serve`."""
import os
import socket
import subprocess
import tempfile
import time

import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MERIDIAN = os.environ.get("MERIDIAN_BIN", os.path.join(REPO, ".build", "debug", "meridian"))
TAXII = "application/taxii+json;version=2.1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data, *extra, scheme="http", verify=True):
    """Starts `meridian serve` on a free loopback port and waits for /health; returns (process, base URL, port)."""
    port = free_port()
    proc = subprocess.Popen([MERIDIAN, "serve", "--data", data, "--port", str(port), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    base = f"{scheme}://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(base + "/health", timeout=1, verify=verify)
            return proc, base, port
        except requests.exceptions.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("meridian serve did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])


BACKEND = os.environ.get("MERIDIAN_TEST_BACKEND", "sqlite")


def storage_section(data):
    """The `[storage]` table that puts a node on a new database of the test cluster when the run's backend is
    PostgreSQL (MERIDIAN_TEST_BACKEND=postgresql, with MERIDIAN_TEST_POSTGRES_URL), the password in a 0600 file of
    the data directory as an operator would keep it; empty for SQLite."""
    if BACKEND != "postgresql":
        return ""
    import urllib.parse
    import uuid
    server = urllib.parse.urlsplit(os.environ["MERIDIAN_TEST_POSTGRES_URL"])
    database = "meridian_interop_" + uuid.uuid4().hex
    admin = server._replace(query="").geturl()
    subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {database}"], check=True, capture_output=True)
    password_file = os.path.join(data, "db-password")
    with open(os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(urllib.parse.unquote(server.password) + "\n")
    url = f"postgresql://{server.username}@{server.hostname}:{server.port}/{database}?sslmode=disable"
    return f'\n[storage]\nbackend = "postgresql"\nurl = "{url}"\npassword_file = "db-password"\n'


def database_url(data):
    """For a node on PostgreSQL, a URL psql can use (password included) to reach its database; None on SQLite."""
    import re
    import urllib.parse
    with open(os.path.join(data, "meridian.toml")) as f:
        m = re.search(r'^url = "([^"]+)"', f.read(), re.M)
    if not m:
        return None
    with open(os.path.join(data, "db-password")) as f:
        password = f.read().strip()
    url = urllib.parse.urlsplit(m.group(1))
    return url._replace(netloc=f"{url.username}:{urllib.parse.quote(password)}@{url.hostname}:{url.port}").geturl()


def execute_sql(data, sql):
    """Runs SQL on a node's database, SQLite's file or PostgreSQL's, as a tamperer with access to it would."""
    url = database_url(data)
    if url:
        subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)
        return
    import sqlite3
    db = sqlite3.connect(os.path.join(data, "meridian.sqlite"))
    db.execute(sql)
    db.commit()
    db.close()


def new_node(prefix="meridian-", user="alice", password="a long enough password"):
    """A data directory made by `meridian init`, with one user of the owner org; returns its path."""
    data = tempfile.mkdtemp(prefix=prefix)
    subprocess.run([MERIDIAN, "init", "--data", data], check=True, capture_output=True)
    section = storage_section(data)
    if section:
        with open(os.path.join(data, "meridian.toml"), "a") as f:
            f.write(section)
    subprocess.run([MERIDIAN, "user", "add", user, "--org", "cert-example", "--data", data], input=password + "\n",
                   text=True, check=True, capture_output=True)
    return data


def without_limits(data):
    """Turns off a node's request limits ([limits]), for tests that load it as fast as they can."""
    with open(os.path.join(data, "meridian.toml"), "a") as f:
        f.write("\n[limits]\nrequests_per_minute_per_account = 0\nrequests_per_minute_per_address = 0\n"
                "concurrent_requests_per_account = 0\n")


class Poster:
    """Clients that POST envelopes to a node's `shared` collection until told to stop or the server goes away, and
    the ids the status resources acknowledged (for tests that kill the server under load)."""

    def __init__(self, make, size, auth=("alice", "a long enough password")):
        import itertools
        import threading
        self.make, self.size, self.auth = make, size, auth
        self.acknowledged = set()
        self.lock = threading.Lock()
        self.counter = itertools.count()

    def run(self, base, stop):
        import json
        session = requests.Session()
        while not stop.is_set():
            with self.lock:
                start = next(self.counter) * self.size
            batch = [self.make(start + k) for k in range(self.size)]
            try:
                r = session.post(f"{base}/partnership/collections/shared/objects/", auth=self.auth, timeout=10,
                                 headers={"Accept": TAXII, "Content-Type": TAXII}, data=json.dumps({"objects": batch}))
            except requests.exceptions.RequestException:
                return
            if r.status_code == 202:
                with self.lock:
                    self.acknowledged.update(s["id"] for s in r.json().get("successes", []))
