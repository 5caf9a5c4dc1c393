"""The operator's first week (issue 16), against the real binary: accounts and tokens managed from the command line and
the admin API while `serve` runs, file modes, one server per data directory, messages that name what is wrong, the
version, the install script."""
import json
import os
import select
import signal
import socket
import stat
import subprocess
import tempfile
import time

import requests

from conftest import MERIDIAN, REPO, TAXII, free_port, new_node, start_server

PASSWORD = "a long enough password"


def run(*args, stdin=None):
    return subprocess.run([MERIDIAN, *args], input=stdin, capture_output=True, text=True, timeout=120)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def get(base, path, auth=None, headers=None):
    return requests.get(base + path, auth=auth, headers={"Accept": TAXII, **(headers or {})}, timeout=10)


def test_init_makes_the_data_directory_private_and_serve_refuses_files_others_may_read():
    data = new_node("meridian-modes-")
    assert mode(data) == 0o700
    assert mode(os.path.join(data, "meridian.sqlite")) == 0o600
    assert mode(os.path.join(data, "meridian.toml")) == 0o600
    os.chmod(os.path.join(data, "meridian.sqlite"), 0o644)
    r = run("serve", "--data", data, "--port", str(free_port()))
    assert r.returncode == 2
    assert os.path.join(data, "meridian.sqlite") + " (mode 644)" in r.stderr and "chmod 600" in r.stderr
    # Told otherwise, it starts.
    proc, base, _ = start_server(data, "--allow-readable-files")
    proc.terminate()
    proc.wait(timeout=30)


def test_a_second_serve_on_one_data_directory_names_the_first_ones_pid():
    data = new_node("meridian-lock-")
    proc, base, _ = start_server(data)
    try:
        r = run("serve", "--data", data, "--port", str(free_port()))
        assert r.returncode == 2
        assert f"another meridian serve (pid {proc.pid}) is using {data}" in r.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # Once the first has stopped, the lock is free.
    proc, base, _ = start_server(data)
    proc.terminate()
    proc.wait(timeout=30)


def test_ports_and_tls_files_that_cannot_be_used_are_named():
    data = new_node("meridian-ports-")
    r = run("serve", "--data", data, "--port", "70000")
    assert r.returncode == 2 and "port 70000 is out of range" in r.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run("serve", "--data", data, "--port", str(port))
        assert r.returncode == 2 and f"port {port} on 127.0.0.1 is already in use" in r.stderr
    r = run("serve", "--data", data, "--port", str(free_port()), "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem")
    assert r.returncode == 2 and "TLS certificate /nonexistent/cert.pem does not exist" in r.stderr
    # TLS paths in meridian.toml are relative to the data directory.
    with open(os.path.join(data, "meridian.toml")) as f:
        text = f.read()
    with open(os.path.join(data, "meridian.toml"), "w") as f:
        f.write(text.replace('# tls_cert = "/etc/meridian/cert.pem"', 'tls_cert = "cert.pem"')
                .replace('# tls_key = "/etc/meridian/key.pem"', 'tls_key = "key.pem"'))
    r = run("serve", "--data", data, "--port", str(free_port()))
    assert r.returncode == 2 and f"TLS certificate {data}/cert.pem does not exist" in r.stderr


def test_the_serving_line_comes_once_the_socket_is_bound_with_the_real_port():
    data = new_node("meridian-bound-")
    proc = subprocess.Popen([MERIDIAN, "serve", "--data", data, "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line, before = "", ""
        for _ in range(200):
            line = proc.stdout.readline()
            before += line
            if "serving TAXII 2.1 at" in line:
                break
        url = line.split(" at ")[1].split()[0]
        assert not url.endswith(":0/taxii2/")
        assert requests.get(url.replace("/taxii2/", "/health"), timeout=10).status_code == 200
        # `/` says what the node is and where its discovery endpoint is.
        page = requests.get(url.replace("/taxii2/", "/"), timeout=10)
        assert page.headers["Content-Type"].startswith("text/html") and 'href="/taxii2/"' in page.text
        # SIGHUP reloads the configuration; the server keeps serving.
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert proc.poll() is None
        assert requests.get(url.replace("/taxii2/", "/health"), timeout=10).status_code == 200
    finally:
        proc.terminate()
        out = before + proc.communicate(timeout=30)[0]
    assert "SIGHUP: meridian.toml" in out
    # The correlation index is announced by serve, not by the commands that store objects.
    assert "correlation index ready" in out
    imported = run("import", os.path.join(REPO, "data", "demo", "cert-north.json"), "--collection", "shared", "--data", data)
    assert imported.returncode == 0 and "correlation index ready" not in imported.stdout + imported.stderr


def test_accounts_and_tokens_managed_while_serve_runs_take_effect_at_once_and_are_audited():
    data = new_node("meridian-accounts-", user="admin")
    run("user", "add", "admin", "--org", "cert-example", "--admin", "--data", data, stdin=PASSWORD + "\n")
    assert run("user", "add", "carol", "--org", "cert-partner", "--data", data, stdin=PASSWORD + "\n").returncode == 0
    # Moving a user to another org must be asked for.
    moved = run("user", "add", "carol", "--org", "cert-example", "--data", data, stdin=PASSWORD + "\n")
    assert moved.returncode == 2 and "acts for 'cert-partner'" in moved.stderr and "--move" in moved.stderr
    token = run("token", "create", "--user", "carol", "--expires", "90d", "--data", data).stdout.strip()
    bad = run("token", "create", "--user", "carol", "--expires", "soon", "--data", data)
    assert bad.returncode == 2 and "--expires 'soon'" in bad.stderr
    listed = run("token", "list", "--data", data).stdout
    assert token.split("_", 2)[1] in listed and "carol" in listed and token.split("_", 2)[2] not in listed
    users = run("user", "list", "--data", data).stdout
    assert "carol" in users and "cert-partner" in users and "admin" in users

    proc, base, _ = start_server(data)
    try:
        carol = ("carol", PASSWORD)
        bearer = {"Authorization": "Bearer " + token}
        assert get(base, "/partnership/collections/", carol).status_code == 200
        assert get(base, "/partnership/collections/", headers=bearer).status_code == 200
        # Missing and refused credentials are told apart; anonymous callers are asked for credentials.
        missing = get(base, "/partnership/collections/")
        assert missing.status_code == 401 and missing.json()["title"] == "Authentication required"
        refused = get(base, "/partnership/collections/", ("carol", "not the password"))
        assert refused.status_code == 401 and refused.json()["title"] == "Credentials refused"

        assert run("user", "disable", "carol", "--data", data).returncode == 0
        assert get(base, "/partnership/collections/", carol).status_code == 401
        assert get(base, "/partnership/collections/", headers=bearer).status_code == 401
        assert run("user", "enable", "carol", "--data", data).returncode == 0
        assert get(base, "/partnership/collections/", headers=bearer).status_code == 200
        revoked = run("token", "revoke", token.split("_")[1][:6], "--data", data)
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        assert get(base, "/partnership/collections/", headers=bearer).status_code == 401

        # The same operations in the admin API, for admins only.
        admin = ("admin", PASSWORD)
        assert get(base, "/admin/users/", carol).status_code == 403
        names = {u["name"]: u for u in get(base, "/admin/users/", admin).json()["users"]}
        assert names["carol"]["org"] == "cert-partner" and names["carol"]["disabled"] is False
        created = requests.post(base + "/admin/tokens/", auth=admin, headers={"Accept": TAXII, "Content-Type": TAXII},
                                data=json.dumps({"user": "carol", "expires": "12h"}), timeout=10)
        assert created.status_code == 201
        second = created.json()["token"]
        tokens = get(base, "/admin/tokens/?user=carol", admin).json()["tokens"]
        assert [t["id"] for t in tokens] == [created.json()["id"]] and tokens[0]["expires"] is not None
        assert get(base, "/partnership/collections/", headers={"Authorization": "Bearer " + second}).status_code == 200
        assert requests.delete(base + f"/admin/tokens/{created.json()['id']}/", auth=admin, headers={"Accept": TAXII},
                               timeout=10).status_code == 200
        assert get(base, "/partnership/collections/", headers={"Authorization": "Bearer " + second}).status_code == 401
        assert requests.post(base + "/admin/users/carol/disable/", auth=admin, headers={"Accept": TAXII}, timeout=10).json()["disabled"]
        assert get(base, "/partnership/collections/", carol).status_code == 401
        unknown = requests.delete(base + "/admin/users/nobody/", auth=admin, headers={"Accept": TAXII}, timeout=10)
        assert unknown.status_code == 404 and "'nobody'" in unknown.json()["description"]
        assert requests.delete(base + "/admin/users/carol/", auth=admin, headers={"Accept": TAXII}, timeout=10).status_code == 200
        assert "carol" not in run("user", "list", "--data", data).stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # Every change is in the audit log, and the failed sign-ins are counted there with the client's address.
    entries = [json.loads(line) for line in run("audit", "export", "--data", data).stdout.splitlines()]
    actions = [e["action"] for e in entries]
    for action in ["user.add", "token.create", "user.disable", "user.enable", "token.revoke", "user.remove"]:
        assert action in actions, action
    failed = [e["detail"] for e in entries if e["action"] == "auth.failed"]
    assert {(f["attempted"], f["address"]) for f in failed} >= {("carol", "127.0.0.1")}
    assert sum(f["count"] for f in failed if f["attempted"] == "carol") >= 3
    assert run("audit", "verify", "--data", data).returncode == 0


def test_version_usage_errors_and_the_install_script():
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("meridian ") and "commit " in version.stdout
    assert run("export", "--help").stdout.count("--version") == 1
    for args in (["match", "--pattern", "[x:y = 1]"], ["pattern", "check"], ["match", "--no-such-option"]):
        r = run(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert "Usage" in r.stderr or "Error" in r.stderr
    prefix = tempfile.mkdtemp(prefix="meridian-install-")
    r = subprocess.run([os.path.join(REPO, "scripts", "install.sh"), "--binary", MERIDIAN, "--prefix", prefix],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    installed = subprocess.run([os.path.join(prefix, "bin", "meridian"), "--version"], capture_output=True, text=True)
    assert installed.stdout == version.stdout
    assert "meridian" in open(os.path.join(prefix, "share", "bash-completion", "completions", "meridian")).read()
    assert os.path.exists(os.path.join(prefix, "share", "zsh", "site-functions", "_meridian"))


def test_import_reports_progress_as_lines_when_not_on_a_terminal():
    data = new_node("meridian-progress-")
    r = run("import", os.path.join(REPO, "data", "disarm", "DISARM.json.gz"), "--collection", "disarm", "--data", data)
    assert r.returncode == 0
    line = r.stderr.strip().splitlines()[0]
    assert line.startswith("import ") and "objects" in line and "objects/s" in line and "%" in line


def test_the_password_is_asked_for_twice_without_echo_on_a_terminal():
    import pty
    data = new_node("meridian-tty-")
    secret = "terminal password 42"

    def add(first, second):
        master, slave = pty.openpty()
        proc = subprocess.Popen([MERIDIAN, "user", "add", "dave", "--org", "cert-example", "--data", data],
                                stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        out = b""

        def read_until(marker):
            nonlocal out
            deadline = time.monotonic() + 60
            while marker not in out:
                ready, _, _ = select.select([master], [], [], 1)
                if ready:
                    out += os.read(master, 1024)
                assert time.monotonic() < deadline, f"no {marker!r} from meridian user add: {out!r}"

        read_until(b"Password")
        os.write(master, (first + "\n").encode())
        read_until(b"again")
        os.write(master, (second + "\n").encode())
        proc.wait(timeout=60)
        try:
            while True:
                chunk = os.read(master, 1024)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        os.close(master)
        return proc.returncode, out.decode(errors="replace")

    code, out = add(secret, "another password 42")
    assert code == 2 and "the two passwords differ" in out and secret not in out
    code, out = add(secret, secret)
    assert code == 0 and "user dave acts for cert-example" in out and secret not in out


def test_init_gives_each_node_fresh_collection_ids_and_marks_example_values():
    first, second = new_node("meridian-ids-"), new_node("meridian-ids-")
    ids = []
    for data in (first, second):
        with open(os.path.join(data, "meridian.toml")) as f:
            text = f.read()
        assert "EXAMPLE" in text
        ids.append({line.split('"')[1] for line in text.splitlines() if line.startswith("id = ") and "-" in line and len(line) > 40})
    assert len(ids[0]) == 4 and not ids[0] & ids[1]


def test_a_malformed_meridian_toml_is_refused_with_its_line_and_does_not_stop_a_running_node():
    # The TOML parser Meridian used before its own (toml++, in TOMLKit) aborted on files like these (found by
    # scripts/fuzz.sh): now a running node refuses the edit, says where, and keeps serving on the configuration in force.
    data = new_node("meridian-toml-crash-")
    proc, base, _ = start_server(data)
    try:
        path = os.path.join(data, "meridian.toml")
        with open(path) as f:
            good = f.read()
        bad_line = good.count("\n") + 3
        with open(path, "w") as f:
            f.write(good + "\n[audit]\nreads = [}\n")
        time.sleep(0.1)
        r = get(base, "/partnership/collections/", ("alice", PASSWORD))
        assert r.status_code == 200 and proc.poll() is None
        with open(path, "w") as f:
            f.write(good)
        assert get(base, "/partnership/collections/", ("alice", PASSWORD)).status_code == 200
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert "the changed configuration is refused" in out
    assert f"meridian.toml:{bad_line}: not valid TOML: expected a value" in out, out
    bad = os.path.join(tempfile.mkdtemp(prefix="meridian-toml-"), "bad.toml")
    for text, line in [("[node]\ntitle = [}\n", 2), ("[#]\n", 1), ("a = {\n", 1), ('s = """\n\\ x"""\n', 2)]:
        with open(bad, "w") as f:
            f.write(text)
        r = run("config", "check", "--file", bad)
        assert r.returncode == 1, (text, r.returncode, r.stderr)
        assert f"bad.toml:{line}: not valid TOML" in r.stderr + r.stdout, (text, r.stderr)
