"""No acknowledged write without its audit entry (issue 14, item 5): an import committed batch by batch, and a
server taking POSTs from several clients, are stopped with SIGINT or SIGKILL at random moments; after each stop
`audit verify --complete` finds the chain intact and every stored version listed by a write entry, and a re-run
leaves nothing out."""
import json
import os
import random
import signal
import subprocess
import threading
import time
import uuid

import requests

from conftest import new_node as conftest_new_node, MERIDIAN, TAXII, Poster, start_server, without_limits

PASSWORD = "a long enough password"
SEED = int(os.environ.get("MERIDIAN_CRASH_SEED", str(random.randrange(1 << 30))))


def new_node():
    data = conftest_new_node("meridian-crash-")
    without_limits(data)  # the clients post as fast as they can
    return data


def identity(n, tag):
    return {"type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.uuid5(uuid.NAMESPACE_URL, f'{tag}-{n}')}",
            "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z", "name": f"{tag} org {n}",
            "identity_class": "organization", "description": "x" * 200}


def complete(data):
    """Asserts the audit log is intact and lists every stored version."""
    out = subprocess.run([MERIDIAN, "audit", "verify", "--complete", "--data", data], capture_output=True, text=True)
    assert out.returncode == 0, f"seed {SEED}: " + out.stdout + out.stderr
    assert "audit log complete" in out.stdout


def stored_ids(data):
    out = subprocess.run([MERIDIAN, "export", "--collection", "shared", "--data", data], capture_output=True, text=True, check=True)
    return {o["id"] for o in json.loads(out.stdout).get("objects", [])}


def test_an_import_committed_batch_by_batch_and_stopped_at_random_moments_leaves_no_version_unaudited():
    rng = random.Random(SEED)
    data = new_node()
    objects = [identity(n, "import") for n in range(30_000)]
    path = os.path.join(data, "big.json")
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}, f)
    command = [MERIDIAN, "import", path, "--collection", "shared", "--transaction-bytes", "1000000", "--data", data]
    stops = 0
    for sig in [signal.SIGINT, signal.SIGKILL] * 4:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 2.5))
        if proc.poll() is None:
            proc.send_signal(sig)
            stops += 1
        proc.wait(timeout=60)
        complete(data)
    assert stops >= 4, f"seed {SEED}: the import finished before it could be stopped"
    final = subprocess.run(command, capture_output=True, text=True)
    assert final.returncode == 0, final.stdout + final.stderr
    complete(data)
    assert stored_ids(data) == {o["id"] for o in objects}


def test_a_server_killed_while_clients_post_keeps_an_entry_for_every_acknowledged_write():
    rng = random.Random(SEED + 1)
    data = new_node()
    poster = Poster(lambda n: identity(n, "post"), 50)
    acknowledged = poster.acknowledged

    for _ in range(5):
        proc, base, _ = start_server(data)
        stop = threading.Event()
        threads = [threading.Thread(target=poster.run, args=(base, stop)) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.5, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        complete(data)
    assert len(acknowledged) > 0
    missing = acknowledged - stored_ids(data)
    assert not missing, f"seed {SEED}: {len(missing)} acknowledged objects are not stored"
