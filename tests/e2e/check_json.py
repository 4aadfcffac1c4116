#!/usr/bin/env python3
"""check_json.py FILE: every line is a JSON object with the DESIGN.md fields
of the `json` format and the right types.  Prints the line count; exits 1 on
the first bad line, saying which and why."""
import json, sys

REQUIRED = {
    "tstamp": str, "query_id": int, "rcode": int, "q": str, "qtype": str, "qclass": str,
    "rrname": str, "a": str, "atype": str, "ttl": int, "src": str, "sport": int,
    "dst": str, "dport": int, "protocol": str, "bytes": int, "truncated": bool,
    "aa": bool, "rd": bool, "ra": bool, "opcode": int, "count": int, "kind": str,
}
OPTIONAL = {"elapsed": int, "vlan": int, "sensor": str, "section": str}

def check(o):
    for k, t in REQUIRED.items():
        if k not in o:
            return "missing field %s" % k
        if type(o[k]) is not t:
            return "field %s is %s, not %s" % (k, type(o[k]).__name__, t.__name__)
    for k in o:
        if k not in REQUIRED and k not in OPTIONAL:
            return "unexpected field %s" % k
        if k in OPTIONAL and type(o[k]) is not OPTIONAL[k]:
            return "field %s has the wrong type" % k
    if o["kind"] not in ("answered", "response-only", "unanswered"):
        return "bad kind %r" % o["kind"]
    if o["protocol"] not in ("udp", "tcp"):
        return "bad protocol %r" % o["protocol"]
    if ("elapsed" in o) != (o["kind"] == "answered"):
        return "elapsed present iff kind is answered"
    if not o["tstamp"].endswith("Z") or len(o["tstamp"]) != 30:
        return "tstamp %r is not RFC 3339 UTC with nanoseconds" % o["tstamp"]
    if o["count"] < 1:
        return "count < 1"
    return None

n = 0
with open(sys.argv[1], "rb") as f:
    for n, raw in enumerate(f, 1):
        try:
            o = json.loads(raw)
        except ValueError as e:
            sys.exit("line %d: not JSON (%s): %r" % (n, e, raw[:200]))
        why = check(o)
        if why:
            sys.exit("line %d: %s: %r" % (n, why, raw[:300]))
print(n)
