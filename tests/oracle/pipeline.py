#!/usr/bin/env python3
"""pipeline.py - the whole pipeline against tshark, capture by capture.

For every capture of the corpus with a truth file, runs

    scripts/dnstrail -r CAPTURE --dedup off --log-opcodes --ports P --format json

and compares, for every DNS response, the multiset of

    (q, qtype, rrname, a, atype, ttl, client, server, query_id, protocol)

it logs with the one built from tshark's truth (tests/data/corpus/*.truth.jsonl):
one tuple per answer RR, or one with empty rrname/a/atype and ttl 0 for a
response without answers.  Rdata is turned into presentation format by
truth_rr.py, independently of the C renderers.  Ports P are chosen as
tests/netoracle does (53, 5353, 5355, plus a capture's decode-as port).

Differences already explained per message by the component oracles are
carried over, not repeated: a response message listed in
tests/netoracle/exceptions.txt (not decoded, or decoded where tshark is
not), or whose frame has an entry in tests/oracle/exceptions.txt (tshark and
dnstrail render something differently), is left out on both sides, and
counted.  Every other difference must be listed, per record, in
tests/oracle/pipeline_exceptions.txt with its reason:

    capture <TAB> missing|extra <TAB> record as JSON list <TAB> reason

A difference not listed, or a listed one that no longer occurs, fails.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "netoracle"))
from truth_rr import Prefix, truth_name, truth_rr_to_presentation, type_mnemonic  # noqa: E402
import oracle as netoracle  # noqa: E402


def msg_id(client, cport, server, sport, proto, qid):
    return (client, cport, server, sport, proto, qid)


def truth_records(path, skip_frames, skip_msgs):
    """Expected records, those known only up to a prefix of their data
    (tshark leaves NSEC/NSEC3 bitmaps out), and the message identities
    left out."""
    recs = collections.Counter()
    prefixed = []
    left_out = set()
    for line in open(path):
        m = json.loads(line)
        if not m["response"] or m.get("icmp_quoted"):
            continue
        ident = msg_id(m["dst"], m["dport"], m["src"], m["sport"], m["transport"], m["id"])
        if m["frame"] in skip_frames or ident in skip_msgs:
            left_out.add(ident)
            continue
        q = qtype = ""
        if m["questions"]:
            q = truth_name(m["questions"][0]["name"])
            qtype = type_mnemonic(m["questions"][0]["type"])
        base = (q, qtype)
        tail = (m["dst"], m["src"], m["id"], m["transport"])
        if not m["answers"]:
            recs[base + ("", "", "", 0) + tail] += 1
            continue
        for rr in m["answers"]:
            name, rtype, ttl, data = truth_rr_to_presentation(rr)
            if data is None:
                left_out.add(ident)  # tshark's fields do not say it all
                continue
            rec = base + (name, str(data), type_mnemonic(rtype), ttl) + tail
            if isinstance(data, Prefix):
                prefixed.append(rec)
            else:
                recs[rec] += 1
    return recs, prefixed, left_out


def match_prefixed(prefixed, extra):
    """Pair each prefix-only record with an extra record that extends it;
    returns the prefix records left unpaired."""
    unpaired = []
    for rec in prefixed:
        for cand in list(extra):
            if (extra[cand] and cand[:3] == rec[:3] and cand[4:] == rec[4:] and
                    cand[3].startswith(rec[3])):
                extra[cand] -= 1
                if not extra[cand]:
                    del extra[cand]
                break
        else:
            unpaired.append(rec)
    return unpaired


def our_records(lines, left_out):
    recs = collections.Counter()
    for line in lines:
        o = json.loads(line)
        if o["kind"] == "unanswered":
            continue
        if msg_id(o["src"], o["sport"], o["dst"], o["dport"], o["protocol"], o["query_id"]) in left_out:
            continue
        recs[(o["q"], o["qtype"], o["rrname"], o["a"], o["atype"], o["ttl"],
              o["src"], o["dst"], o["query_id"], o["protocol"])] += 1
    return recs


def component_exceptions(corpus_name):
    """Frames (dns oracle) and message identities (netoracle) to leave out."""
    frames = set()
    for line in open(os.path.join(HERE, "exceptions.txt")):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cap, frame = line.split(None, 2)[:2]
        if cap == corpus_name:
            frames.add("*" if frame == "*" else int(frame))
    msgs = set()
    for line in open(os.path.join(HERE, "..", "netoracle", "exceptions.txt")):
        if not line.strip() or line.startswith("#"):
            continue
        f = line.rstrip("\n").split("\t")
        if f[0] != corpus_name or f[8] != "1":
            continue
        src, dst, sport, dport, proto, qid = f[2], f[3], int(f[4]), int(f[5]), f[6], int(f[7])
        msgs.add(msg_id(dst, dport, src, sport, proto, qid))
    return frames, msgs


def load_exceptions(path):
    rules = {}
    for n, line in enumerate(open(path), 1):
        if not line.strip() or line.startswith("#"):
            continue
        f = line.rstrip("\n").split("\t")
        if len(f) != 4:
            sys.exit("%s:%d: expected 4 tab-separated fields" % (path, n))
        rules[(f[0], f[1], tuple(json.loads(f[2])))] = [f[3], 0]
    return rules


def run_pipeline(dnstrail, capture, ports, tmp):
    out = os.path.join(tmp, "out.jsonl")
    if os.path.exists(out):
        os.unlink(out)
    cmd = [dnstrail, "-r", capture, "--dedup", "off", "--log-opcodes", "--allow-root",
           "--ports", ",".join(map(str, ports)), "--sink", "file:" + out,
           "--run-dir", os.path.join(tmp, "run")]
    p = subprocess.run(cmd, capture_output=True, text=True)
    # 3: the capture is damaged or cut short; what could be read was logged.
    # 1 for a link type dnstrail does not decode (refused at start-up): no
    # records, and the component oracles explain what tshark saw there.
    if p.returncode == 1 and "is not supported" in p.stderr:
        return []
    if p.returncode not in (0, 3):
        raise RuntimeError("%s: dnstrail exit %d: %s" % (capture, p.returncode, p.stderr[-2000:]))
    return open(out).read().splitlines() if os.path.exists(out) else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dnstrail", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--exceptions", default=os.path.join(HERE, "pipeline_exceptions.txt"))
    ap.add_argument("captures", nargs="*", help="only these (default: every capture)")
    a = ap.parse_args()
    rules = load_exceptions(a.exceptions)
    unexplained = compared = left_total = caps = 0
    done = set()
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        for name in netoracle.captures(a.corpus):
            if name.endswith(".gz") or (a.captures and name not in a.captures):
                continue
            cap = os.path.join(a.corpus, name)
            truth = cap + ".truth.jsonl"
            ports = netoracle.ports_for(netoracle.truth_keys(truth))
            frames, msgs = component_exceptions(name)
            if "*" in frames:
                continue  # the dns oracle excepts the whole capture
            want, prefixed, left_out = truth_records(truth, frames, msgs)
            got = our_records(run_pipeline(a.dnstrail, cap, ports, tmp), left_out)
            caps += 1
            done.add(name)
            compared += sum(want.values()) + len(prefixed)
            left_total += len(left_out)
            extra = got - want
            missing = want - got
            for rec in match_prefixed(prefixed, extra):
                missing[rec] += 1
            for kind, diff in (("missing", missing), ("extra", extra)):
                for rec, n in sorted(diff.items()):
                    rule = rules.get((name, kind, rec))
                    if rule:
                        rule[1] += n
                        continue
                    unexplained += n
                    print("UNEXPLAINED\t%s\t%s\t%s\t(x%d)" % (name, kind, json.dumps(list(rec)), n))
    stale = [k for k, v in rules.items() if v[1] == 0 and k[0] in done]
    for k in stale:
        print("STALE exception (no longer happens): %s %s %s" % (k[0], k[1], json.dumps(list(k[2]))))
    print("pipeline oracle: %d captures, %d response records compared, %d messages left to the "
          "component oracles' exceptions, %d listed differences, %d unexplained, %d stale"
          % (caps, compared, left_total, sum(v[1] for v in rules.values()), unexplained, len(stale)))
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
