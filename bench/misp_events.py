"""Writes N MISP events (a list, as the REST API's restSearch returns them) for bench/misp.sh: each with 20 attributes
of common types (half flagged to_ids), a file object and a domain-ip object, and a TLP tag."""
import json
import sys
import uuid

TYPES = [("ip-dst", "203.0.{a}.{b}"), ("ip-src", "198.51.{a}.{b}"), ("domain", "host{n}.example.net"),
         ("url", "https://host{n}.example.net/p/{n}"), ("md5", "{h32}"), ("sha256", "{h64}"), ("email-src", "x{n}@example.org"),
         ("filename", "dropper{n}.exe"), ("hostname", "c2-{n}.example.com"), ("text", "note {n}")]


def event(i):
    def value(template, n):
        h = uuid.uuid5(uuid.NAMESPACE_OID, str(n)).hex
        return template.format(a=n >> 8 & 255, b=n & 255, n=n, h32=h, h64=h * 2)
    attributes = [{"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"a{i}-{k}")), "type": TYPES[k % 10][0], "category": "Network activity",
                   "value": value(TYPES[k % 10][1], i * 20 + k), "to_ids": k % 2 == 0, "timestamp": "1700000000"} for k in range(20)]
    obj = lambda k, name, attrs: {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"o{i}-{k}")), "name": name, "meta-category": "network",
                                  "timestamp": "1700000000", "Attribute": [
        {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"o{i}-{k}-{r}")), "type": t, "object_relation": r, "value": v, "to_ids": True,
         "category": "Network activity", "timestamp": "1700000000"} for r, t, v in attrs]}
    objects = [obj(0, "file", [("filename", "filename", f"f{i}.exe"), ("md5", "md5", uuid.uuid5(uuid.NAMESPACE_OID, f"f{i}").hex)]),
               obj(1, "domain-ip", [("domain", "domain", f"d{i}.example.com"), ("ip", "ip-dst", f"192.0.2.{i % 250 + 1}")])]
    return {"Event": {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"e{i}")), "info": f"Bench event {i}", "timestamp": "1700000000",
                      "date": "2023-11-14", "published": True, "publish_timestamp": "1700000100", "distribution": "1",
                      "Orgc": {"name": "CERT-Bench", "uuid": "5f000000-0000-4000-8000-0000000000aa"},
                      "Tag": [{"name": "tlp:green"}], "Attribute": attributes, "Object": objects}}


if __name__ == "__main__":
    json.dump([event(i) for i in range(int(sys.argv[1]))], sys.stdout)
