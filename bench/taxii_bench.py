#!/usr/bin/env python3
"""Drives a TAXII 2.1 server for bench/taxii.sh: ingest through POST, a paging walk by `next`, and data generation.

  taxii_bench.py ingest URL USER PASSWORD BUNDLE [--batch 1000] [--seconds N]
  taxii_bench.py walk URL USER PASSWORD [--limit 1000]
  taxii_bench.py medallion-data BUNDLE OUT.json            # a medallion memory-backend file holding the bundle
  taxii_bench.py generate N OUT.json                        # N generated indicators as a bundle
  taxii_bench.py sqlite-floor BUNDLE DB [--page-size 4096]  # raw SQLite insert of the same rows, one transaction
"""
import base64
import datetime
import json
import sqlite3
import sys
import time
import uuid

import requests

TAXII = "application/taxii+json;version=2.1"
COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"  # the collection bench/taxii.sh configures


def session(user, password):
    s = requests.Session()
    s.auth = (user, password)
    s.headers.update({"Accept": TAXII})
    return s


def ingest(url, user, password, bundle, batch=1000, seconds=None):
    objects = json.load(open(bundle, encoding="utf-8"))["objects"]
    s = session(user, password)
    # Envelopes are serialized before the clock starts: the figure is the server's, not the client's JSON encoder's.
    envelopes = [(len(objects[i:i + batch]), json.dumps({"objects": objects[i:i + batch]}).encode())
                 for i in range(0, len(objects), batch)]
    s.get(url.split("/collections/")[0] + "/", timeout=600)  # authenticate once before timing
    start = time.perf_counter()
    done = 0
    for count, envelope in envelopes:
        r = s.post(url, data=envelope, headers={"Content-Type": TAXII}, timeout=3600)
        r.raise_for_status()
        status = r.json()
        while status.get("status") != "complete":  # wait for the status to be complete
            time.sleep(0.05)
            root = url.split("/collections/")[0]
            status = s.get(f"{root}/status/{status['id']}/", timeout=600).json()
        done += count
        if seconds and time.perf_counter() - start > seconds:
            break
    elapsed = time.perf_counter() - start
    print(json.dumps({"objects": done, "seconds": round(elapsed, 3), "objects_per_second": round(done / elapsed)}))


def walk(url, user, password, limit=1000, seconds=None):
    s = session(user, password)
    start = time.perf_counter()
    count = 0
    pages = 0
    params = {"limit": limit}
    while True:
        try:
            r = s.get(url, params=params, timeout=seconds or 600)
        except requests.Timeout:
            elapsed = time.perf_counter() - start
            print(json.dumps({"objects": count, "pages": pages, "seconds": round(elapsed, 3),
                              "stopped": f"no answer within {seconds or 600} s"}))
            return
        r.raise_for_status()
        body = r.json()
        count += len(body.get("objects", []))
        pages += 1
        if not body.get("more") or not body.get("next"):
            break
        if seconds and time.perf_counter() - start > seconds:
            elapsed = time.perf_counter() - start
            print(json.dumps({"objects": count, "pages": pages, "seconds": round(elapsed, 3), "stopped": "time limit",
                              "objects_per_second": round(count / elapsed)}))
            return
        params = {"limit": limit, "next": body["next"]}
    elapsed = time.perf_counter() - start
    print(json.dumps({"objects": count, "pages": pages, "seconds": round(elapsed, 3), "objects_per_second": round(count / elapsed)}))


def medallion_data(bundle, out):
    objects = json.load(open(bundle, encoding="utf-8"))["objects"]
    now = datetime.datetime.now(datetime.timezone.utc)
    manifest = []
    for i, o in enumerate(objects):
        added = (now + datetime.timedelta(microseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        manifest.append({"id": o["id"], "date_added": added, "version": o.get("modified", o.get("created", added)),
                         "media_type": "application/stix+json;version=2.1"})
    data = {
        "/discovery": {"title": "medallion", "default": "http://127.0.0.1/bench/", "api_roots": ["http://127.0.0.1/bench/"]},
        "bench": {
            "information": {"title": "bench", "versions": [TAXII], "max_content_length": 104857600},
            "status": [],
            "collections": [{
                "id": "91a7b528-80eb-42ed-a74d-c6fbd5a26116", "title": "bench", "can_read": True, "can_write": True,
                "media_types": ["application/stix+json;version=2.1"], "objects": objects, "manifest": manifest,
            }],
        },
    }
    json.dump(data, open(out, "w", encoding="utf-8"))


def generate(n, out):
    with open(out, "w", encoding="utf-8") as f:
        f.write('{"type":"bundle","id":"bundle--%s","objects":[' % uuid.uuid4())
        for i in range(n):
            if i:
                f.write(",")
            ip = f"{10 + (i >> 24) % 200}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            f.write(json.dumps({
                "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.UUID(int=i, version=4)}",
                "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                "name": f"Generated indicator {i}", "description": "Scanning source seen by a partner sensor",
                "indicator_types": ["malicious-activity"], "pattern": f"[ipv4-addr:value = '{ip}']",
                "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
            }, separators=(",", ":")))
        f.write("]}")


def original_objects(raw):
    """Each object of the bundle's `objects` list with its exact bytes in the file (what Meridian stores)."""
    text = raw.decode("utf-8")
    decoder = json.JSONDecoder()
    i = text.index("[", text.index('"objects"')) + 1
    out = []
    while True:
        while text[i] in " \t\r\n":
            i += 1
        if text[i] == "]":
            return out
        obj, end = decoder.raw_decode(text, i)
        out.append((obj, text[i:end].encode("utf-8")))
        i = end
        while text[i] in " \t\r\n":
            i += 1
        if text[i] == ",":
            i += 1


def sqlite_floor(bundle, db, page_size=4096):
    # The rows Meridian writes for the same objects: its collection id, the exact bytes of each object, its marking
    # references as JSON text, the same columns and indexes; only validation and bookkeeping are left out.
    rows = []
    base = int(time.time() * 1e6)
    for i, (o, body) in enumerate(original_objects(open(bundle, "rb").read())):
        markings = json.dumps(o["object_marking_refs"]) if "object_marking_refs" in o else None
        rows.append((COLLECTION, base + i, o["id"], o["type"], o.get("spec_version", "2.1"), base + i, o.get("modified"),
                     0, markings, None, 0, "bench-org", None, 1, 1, body))
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA page_size={int(page_size)}")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("""CREATE TABLE object_version (collection TEXT NOT NULL, date_added INTEGER NOT NULL, id TEXT NOT NULL,
        type TEXT NOT NULL, spec_version TEXT NOT NULL, version_us INTEGER NOT NULL, version_text TEXT, revoked INTEGER NOT NULL,
        markings TEXT, granular_markings TEXT, markings_malformed INTEGER NOT NULL, submitted_by TEXT, received_from TEXT,
        is_first INTEGER NOT NULL, is_last INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (collection, date_added))
        WITHOUT ROWID""")
    con.execute("CREATE UNIQUE INDEX i1 ON object_version (collection, id, version_us)")
    con.execute("CREATE INDEX i2 ON object_version (collection, type, date_added)")
    con.execute("CREATE INDEX i3 ON object_version (collection, is_last, date_added)")
    # Timed until the database is closed (its log checkpointed and removed), as Meridian's import is.
    start = time.perf_counter()
    with con:
        con.executemany("INSERT INTO object_version VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.close()
    elapsed = time.perf_counter() - start
    print(json.dumps({"objects": len(rows), "seconds": round(elapsed, 3), "objects_per_second": round(len(rows) / elapsed)}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    opts = {}
    positional = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            opts[args[i][2:]] = int(args[i + 1])
            i += 2
        else:
            positional.append(args[i])
            i += 1
    if cmd == "ingest":
        ingest(*positional, batch=opts.get("batch", 1000), seconds=opts.get("seconds"))
    elif cmd == "walk":
        walk(*positional, limit=opts.get("limit", 1000), seconds=opts.get("seconds"))
    elif cmd == "medallion-data":
        medallion_data(*positional)
    elif cmd == "generate":
        generate(int(positional[0]), positional[1])
    elif cmd == "sqlite-floor":
        sqlite_floor(*positional, page_size=opts.get("page-size", 4096))
    else:
        sys.exit(__doc__)
