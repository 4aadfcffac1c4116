#!/usr/bin/env python3
"""compare_dns_dump.py - compare dnstrail's DNS parser with tshark, message by
message, over captures of the corpus.

Usage: compare_dns_dump.py [--build DIR] [--exceptions FILE] [-v] CAPTURE...

For each CAPTURE, runs DIR/tests/dns_dump on it and reads CAPTURE.truth.jsonl
(scripts/truth.py).  Every truth message that came over UDP, is not
inside an ICMP error quote nor a tunnel (GRE, ERSPAN, VXLAN, Geneve) nor an
802.11 frame, is compared with dns_dump's message of the same
frame: header (id, QR, opcode, RCODE and the EDNS extended RCODE), the first
question, EDNS (the whole summary: UDP size, version, flags, options) and every RR of the three sections
(name, type, TTL, data; data through truth_rr.truth_rr_to_presentation).
Frames dns_dump skips on purpose (IP fragments, which it does not
reassemble) are counted, not compared.  A message dns_dump prints that tshark
did not see is a difference too, unless dns_dump rejected it.

Each difference is a line "CAPTURE FRAME CODE: detail".  A difference listed
in the exceptions file (lines "CAPTURE FRAME CODE reason...", CODE may be '*'
for every difference of that frame, FRAME may be '*') is accepted; any other
makes the exit status 1, and so does an exception that no longer matches
anything (so the list stays true).  Prints a summary line
"oracle: N captures, M messages compared, ...".
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from truth_rr import (Prefix, truth_edns_summary, truth_name,  # noqa: E402
                      truth_rr_to_presentation)

DNS_PORTS = {53, 5353, 5355}
SECTIONS = ("answers", "authority", "additional")
# Encapsulations dns_dump (and common/netwalk) do not open: not compared.
TUNNELS = {"gre", "erspan", "vxlan", "geneve", "wlan", "wlan_radio", "radiotap"}


def load_truth(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_dump(build, capture, ports):
    p = subprocess.run([os.path.join(build, "tests", "dns_dump"), "-p",
                        ",".join(str(x) for x in sorted(ports)), capture],
                       capture_output=True, text=True, errors="replace")
    if p.returncode:
        raise SystemExit("dns_dump failed on %s: %s" % (capture, p.stderr.strip()))
    out = {}
    for line in p.stdout.splitlines():
        m = json.loads(line)
        out.setdefault(m["frame"], []).append(m)
    return out


def server_ports(truth):
    ports = set(DNS_PORTS)
    for m in truth:
        if m.get("transport") == "udp" and m.get("sport") and m.get("dport"):
            if not ({m["sport"], m["dport"]} & DNS_PORTS):
                ports.add(min(m["sport"], m["dport"]))
    return ports


def compare_message(t, d, diffs):
    """Appends (code, detail) for every difference between truth t and dump d."""
    def diff(code, ours, theirs):
        diffs.append((code, "dnstrail %r, tshark %r" % (ours, theirs)))

    if d["result"] == "reject":
        diffs.append(("rejected", "dnstrail rejected a message tshark dissected"))
        return
    if d.get("check_failed"):
        diffs.append(("record", d["check_failed"]))
    mdns = t.get("proto") == "mdns"
    for code, ours, theirs in (("id", d["id"], t["id"]), ("qr", d["qr"], t["response"]),
                               ("opcode", d["opcode"], t["opcode"])):
        if ours != theirs:
            diff(code, ours, theirs)
    if t.get("rcode") is not None and d["rcode"] & 15 != t["rcode"]:
        diff("rcode", d["rcode"] & 15, t["rcode"])

    if t["questions"]:
        q = t["questions"][0]
        name = truth_name(q["name"])
        qclass = d.get("qclass")
        if mdns and qclass is not None:
            qclass &= 0x7FFF  # tshark shows the QU bit apart
        if name is None:
            diffs.append(("question.unconvertible", "tshark shows %r" % q["name"]))
        elif (d.get("qname"), d.get("qtype"), qclass) != (name, q["type"], q["class"]):
            diff("question", [d.get("qname"), d.get("qtype"), qclass],
                 [name, q["type"], q["class"]])
    elif d.get("qname") is not None:
        diff("question", d.get("qname"), None)

    opt = None
    for s in SECTIONS:
        truth_rrs = t[s]
        if s == "additional":
            for i, rr in enumerate(truth_rrs):
                if rr["type"] == 41:
                    opt = rr
                    truth_rrs = truth_rrs[:i] + truth_rrs[i + 1:]
                    break
        ours = d[s]
        if len(ours) != len(truth_rrs):
            diff("%s.count" % s, len(ours), len(truth_rrs))
        for i, (o, rr) in enumerate(zip(ours, truth_rrs)):
            name, rtype, ttl, data = truth_rr_to_presentation(rr)
            code = "%s[%d]" % (s, i)
            if name is None:
                diffs.append((code + ".unconvertible", "tshark shows name %r" % rr["name"]))
            elif o[0] != name:
                diff(code + ".name", o[0], name)
            if o[1] != rtype:
                diff(code + ".type", o[1], rtype)
                continue
            if ttl is not None and o[3] != ttl:
                diff(code + ".ttl", o[3], ttl)
            if data is None:
                diffs.append((code + ".unconvertible", "tshark shows %s" %
                              json.dumps(rr["rdata"])[:200]))
            elif isinstance(data, Prefix):
                if not o[4].startswith(data):
                    diff(code + ".data", o[4], data + "...")
            elif o[4] != data:
                diff(code + ".data", o[4], data)

    if (opt is not None) != ("edns" in d):
        diff("edns", d.get("edns"), opt and opt["rdata"])
    elif opt is not None:
        r = opt["rdata"]
        udp = int(r["dns.rr.udp_payload_size"], 0)
        ver = int(r["dns.resp.edns0_version"], 0)
        do = (r.get("dns.resp.z_tree") or {}).get("dns.resp.z.do") == "1"
        ext = int(r["dns.resp.ext_rcode"], 0)
        head = "udp=%d v=%d%s" % (udp, ver, " do" if do else "")
        want = truth_edns_summary(opt)
        if want is None:
            diffs.append(("edns.unconvertible", json.dumps(r)[:200]))
            want = head
        if d["edns"] != want and not (want == head and d["edns"].startswith(head)):
            diff("edns", d["edns"], want)
        if d["edns_do"] != do:
            diff("edns_do", d["edns_do"], do)
        if d["rcode"] >> 4 != ext:
            diff("ext_rcode", d["rcode"] >> 4, ext)


def compare_capture(build, capture, stats):
    truth = load_truth(capture + ".truth.jsonl")
    udp = [m for m in truth if m.get("transport") == "udp" and not m.get("icmp_quoted")
           and not TUNNELS & set(m.get("frame_protocols", "").split(":"))]
    other_frames = {m["frame"] for m in truth if m not in udp}
    dump = run_dump(build, capture, server_ports(truth))
    diffs = []
    seen = set()
    for t in udp:
        frame = t["frame"]
        msgs = dump.get(frame, [])
        seen.add(frame)
        if msgs and "skipped" in msgs[0]:
            stats["skipped"] += 1
            continue
        if t["msg_index"] >= len(msgs):
            diffs.append((frame, "missing", "tshark has a DNS message dnstrail did not print"))
            continue
        stats["messages"] += 1
        found = []
        compare_message(t, msgs[t["msg_index"]], found)
        diffs += [(frame, c, x) for c, x in found]
    for frame, msgs in sorted(dump.items()):
        if frame in seen or frame in other_frames:
            continue
        for m in msgs:
            if "skipped" not in m and m["result"] != "reject":
                diffs.append((frame, "extra", "dnstrail parsed a message tshark did not "
                              "(qname %r)" % m.get("qname")))
    return diffs


def load_exceptions(path):
    rules = []
    if not path or not os.path.exists(path):
        return rules
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 3)
            if len(parts) < 4:
                raise SystemExit("%s:%d: want CAPTURE FRAME CODE REASON" % (path, n))
            rules.append({"capture": parts[0], "frame": parts[1], "code": parts[2],
                          "reason": parts[3], "line": n, "used": 0})
    return rules


def excepted(rules, capture, frame, code):
    for r in rules:
        if r["capture"] == capture and r["frame"] in ("*", str(frame)) and \
                r["code"] in ("*", code, code.split(".")[0]):
            r["used"] += 1
            return True
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("DNSTRAIL_BUILD", "build"))
    ap.add_argument("--exceptions",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "exceptions.txt"))
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("captures", nargs="+")
    a = ap.parse_args()
    rules = load_exceptions(a.exceptions)
    stats = {"messages": 0, "skipped": 0}
    bad = accepted = 0
    for cap in a.captures:
        base = os.path.basename(cap)
        for frame, code, detail in compare_capture(a.build, cap, stats):
            if excepted(rules, base, frame, code):
                accepted += 1
                if a.verbose:
                    print("excepted %s %s %s: %s" % (base, frame, code, detail))
                continue
            bad += 1
            print("DIFF %s %s %s: %s" % (base, frame, code, detail))
    stale = [r for r in rules if not r["used"]]
    for r in stale:
        print("STALE exception (line %d): %s %s %s" % (r["line"], r["capture"], r["frame"],
                                                       r["code"]))
    print("oracle: %d captures, %d messages compared, %d fragments skipped, "
          "%d differences excepted (%d exception lines), %d unexplained, %d stale" %
          (len(a.captures), stats["messages"], stats["skipped"], accepted, len(rules), bad,
           len(stale)))
    return 1 if bad or stale else 0


if __name__ == "__main__":
    sys.exit(main())
