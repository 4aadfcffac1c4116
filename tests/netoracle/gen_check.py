#!/usr/bin/env python3
"""gen_check.py - exact counts on generated traffic.

    gen_check.py COUNTS.json MSGS.jsonl STATS.json

COUNTS.json is what scripts/gen_dns_pcap.py printed on stderr, MSGS.jsonl
msgs_dump's output for that capture, STATS.json its --stats line.  Every
query and response the generator wrote must come out exactly once: in
total, by direction, by transport and IP version for queries, and tagged
with its VLAN; and no TCP stream may have needed a gap, a resync or a
discard.  Exit status 1 with the differences listed otherwise.
"""
import collections, json, sys

counts = json.load(open(sys.argv[1]))
msgs = [json.loads(l) for l in open(sys.argv[2])]
stats = json.load(open(sys.argv[3]))
q = [m for m in msgs if m["qr"] == 0]
got = {
    "messages": len(msgs),
    "queries": len(q),
    "responses": sum(1 for m in msgs if m["qr"] == 1),
    "udp4 queries": sum(1 for m in q if m["transport"] == "udp" and ":" not in m["src"]),
    "udp6 queries": sum(1 for m in q if m["transport"] == "udp" and ":" in m["src"]),
    "tcp queries": sum(1 for m in q if m["transport"] == "tcp"),
    "vlan queries": sum(1 for m in q if m["vlan"] is not None),
    "duplicate keys": sum(n - 1 for n in collections.Counter(
        (m["src"], m["dst"], m["sport"], m["dport"], m["transport"], m["id"], m["qr"], m["ts"])
        for m in msgs).values()),
    "tcp.gap_dropped": stats["tcp.gap_dropped"],
    "tcp.resync": stats["tcp.resync"],
    "tcp.bytes_discarded": stats["tcp.bytes_discarded"],
    "tcp.flows": stats["tcp.flows"],
}
want = {
    "messages": counts["queries"] + counts["responses"],
    "queries": counts["queries"],
    "responses": counts["responses"],
    "udp4 queries": counts["udp4"],
    "udp6 queries": counts["udp6"],
    "tcp queries": counts["tcp"] + counts["pipelined"],
    "duplicate keys": 0,
    "tcp.gap_dropped": 0,
    "tcp.resync": 0,
    "tcp.bytes_discarded": 0,
    "tcp.flows": 0,
}
bad = [k for k in want if got[k] != want[k]]
for k in bad:
    print("generated traffic: %s: want %d, got %d" % (k, want[k], got[k]))
# The generator counts tagged transactions; a pipelined second query is
# tagged like its session, so the tagged queries lie in this range.
lo, hi = counts["vlan"], counts["vlan"] + counts["pipelined"]
if not lo <= got["vlan queries"] <= hi:
    bad.append("vlan queries")
    print("generated traffic: vlan queries: want %d..%d, got %d" % (lo, hi, got["vlan queries"]))
print("generated traffic: %d messages (%d queries, %d responses), %s" %
      (got["messages"], got["queries"], got["responses"], "OK" if not bad else "FAILED"))
sys.exit(1 if bad else 0)
