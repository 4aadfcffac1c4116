#!/usr/bin/env python3
"""oracle.py - compare netdecode (via msgs_dump) with tshark's truth files.

For every capture in the corpus directory, runs
    msgs_dump --ports P CAPTURE
and compares its messages with CAPTURE.truth.jsonl (written by
scripts/truth.py from tshark 4.0) as a multiset of
    (src, dst, sport, dport, transport, id, qr)
per capture.  The ports P are 53, 5353 (mDNS) and 5355 (LLMNR), which
tshark dissects by default, plus, for each truth message on none of them,
the lower of its two ports (the decode-as captures: 8053, 1053, 443, ...).

Every difference must be listed in the exceptions file, one line per
(capture, kind, key) with its exact count and a reason:
    capture <TAB> missing|extra <TAB> src <TAB> dst <TAB> sport <TAB> dport
            <TAB> transport <TAB> id <TAB> qr <TAB> count <TAB> reason
"missing": tshark shows the message and we do not; "extra": the reverse.
An exception that no longer matches is an error too, so the file stays true.

Usage: oracle.py --msgs-dump PATH --corpus DIR --exceptions FILE [--only NAME]
                 [--suggest]   (print unexplained differences as exception lines)
Exit status 0 when every difference is explained, 1 otherwise.
"""
import argparse, collections, gzip, json, os, shutil, subprocess, sys, tempfile

DEFAULT_PORTS = (53, 5353, 5355)


def captures(corpus):
    for name in sorted(os.listdir(corpus)):
        if name.endswith(".truth.jsonl") or name in ("SHA256SUMS", "SOURCES.md"):
            continue
        if os.path.exists(os.path.join(corpus, name + ".truth.jsonl")):
            yield name


def truth_keys(path):
    keys = collections.Counter()
    for line in open(path):
        r = json.loads(line)
        keys[(r["src"], r["dst"], r["sport"], r["dport"], r["transport"], r["id"],
              1 if r["response"] else 0)] += 1
    return keys


def ports_for(keys):
    ports = set(DEFAULT_PORTS)
    for (src, dst, sport, dport, transport, i, qr) in keys:
        if sport not in DEFAULT_PORTS and dport not in DEFAULT_PORTS:
            ports.add(min(sport, dport))
    return sorted(ports)


def our_keys(msgs_dump, capture, ports, tmpdir):
    path = capture
    if capture.endswith(".gz"):  # libpcap does not read gzip: unpack first
        path = os.path.join(tmpdir, os.path.basename(capture)[:-3])
        with gzip.open(capture, "rb") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
    p = subprocess.run([msgs_dump, "--ports", ",".join(map(str, ports)), path],
                       capture_output=True, text=True)
    if p.returncode not in (0, 2):  # 2: file cut inside a record, output still valid
        raise RuntimeError("%s: msgs_dump exit %d: %s" % (capture, p.returncode, p.stderr))
    keys = collections.Counter()
    for line in p.stdout.splitlines():
        r = json.loads(line)
        keys[(r["src"], r["dst"], r["sport"], r["dport"], r["transport"], r["id"], r["qr"])] += 1
    return keys


def load_exceptions(path):
    exc = {}
    for n, line in enumerate(open(path), 1):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split("\t")
        if len(f) != 11 or f[1] not in ("missing", "extra") or not f[10].strip():
            raise SystemExit("%s:%d: malformed exception line" % (path, n))
        key = (f[2], f[3], int(f[4]), int(f[5]), f[6], int(f[7]), int(f[8]))
        exc[(f[0], f[1], key)] = (int(f[9]), f[10], n)
    return exc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--msgs-dump", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--exceptions", required=True)
    ap.add_argument("--only")
    ap.add_argument("--suggest", action="store_true")
    a = ap.parse_args()
    exc = load_exceptions(a.exceptions)
    used = set()
    bad = 0
    totals = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in captures(a.corpus):
            if a.only and a.only not in name:
                continue
            cap = os.path.join(a.corpus, name)
            tk = truth_keys(cap + ".truth.jsonl")
            ports = ports_for(tk)
            ok = our_keys(a.msgs_dump, cap, ports, tmp)
            totals["captures"] += 1
            totals["truth_messages"] += sum(tk.values())
            totals["our_messages"] += sum(ok.values())
            diffs = [("missing", k, n) for k, n in (tk - ok).items()] + \
                    [("extra", k, n) for k, n in (ok - tk).items()]
            for kind, key, n in sorted(diffs, key=lambda d: (d[0], str(d[1]))):
                e = exc.get((name, kind, key))
                if e and e[0] == n:
                    used.add((name, kind, key))
                    totals["explained_" + kind] += n
                    continue
                bad += 1
                fields = [name, kind] + [str(x) for x in key] + [str(n)]
                if a.suggest:
                    print("\t".join(fields + ["REASON"]))
                else:
                    why = "count %d listed, %d found" % (e[0], n) if e else "not listed"
                    print("UNEXPLAINED %s (%s) ports=%s" % (" ".join(fields), why,
                                                           ",".join(map(str, ports))))
    for (name, kind, key), (n, reason, line) in sorted(exc.items(), key=lambda x: x[1][2]):
        if (name, kind, key) in used or (a.only and a.only not in name):
            continue
        bad += 1
        print("STALE exception line %d: %s %s %s" % (line, name, kind, key))
    print("oracle: %(captures)d captures, %(truth_messages)d tshark messages, "
          "%(our_messages)d ours; " % totals +
          "explained: %d missing, %d extra; unexplained/stale: %d" %
          (totals["explained_missing"], totals["explained_extra"], bad), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
