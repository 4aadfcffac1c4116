#!/usr/bin/env bash
# Counters: every stage publishes its counters in shared memory, and
# dnstrail-ctl shows them as a table, JSON, Prometheus text, over HTTP for a
# scrape, and as statsd pushes; SIGUSR1 makes a stage log them.  All checked
# against the counts of a known capture.
. "$(dirname "$0")/lib.sh"
gen m --transactions 5000 --tcp 0 --vlan 0
"$DNSTRAIL" -r "$TMP/m.pcap" -w "$TMP/m.jsonl" --run-dir "$RUN" 2>/dev/null || fail "pipeline"
C=$DNSTRAIL_BIN/dnstrail-ctl
packets=$(count "$TMP/m.counts" packets)
queries=$(count "$TMP/m.counts" queries)
responses=$(count "$TMP/m.counts" responses)

"$C" stats --run-dir "$RUN" --json >"$TMP/stats.json"
python3 - "$TMP/stats.json" "$packets" "$queries" "$responses" "$(wc -l <"$TMP/m.jsonl")" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["stages"]
packets, queries, responses, lines = map(int, sys.argv[2:])
checks = [
    ("capd", "capd.frames", packets),
    ("decoded.0", "decoded.messages_out", queries + responses),
    ("correlated", "match.queries", queries),
    ("correlated", "match.answered", responses),
    ("logd", "lines", lines),
    ("logd", "sink.0.lines_written", lines),
]
for stage, name, want in checks:
    got = s[stage][name]
    if got != want:
        sys.exit("FAIL: %s %s = %d, expected %d" % (stage, name, got, want))
    print("ok: %s %s = %d" % (stage, name, got))
PY

# status shows each stage's headline counters, the same values as stats.
"$C" status --run-dir "$RUN" --json >"$TMP/status.json"
"$C" status --run-dir "$RUN" >"$TMP/status.txt"
python3 - "$TMP/status.json" "$TMP/stats.json" "$TMP/status.txt" <<'PY'
import json, sys
status = {s["stage"]: s["counters"] for s in json.load(open(sys.argv[1]))["stages"]}
stats = json.load(open(sys.argv[2]))["stages"]
text = open(sys.argv[3]).read()
want = {
    "capd": ["capd.frames", "capd.ring_drops", "capd.kernel_drops"],
    "decoded.0": ["frames", "decoded.messages_out", "tcp.flows_evicted", "frag.mem_evicted"],
    "correlated": ["match.pending", "match.answered", "match.response_only", "match.unanswered",
                   "match.evicted", "correlated.opcode_skipped"],  # dedup.*: off with -r
    "logd": ["lines", "sink.0.lines_written", "sink.0.lines_dropped"],
}
for stage, names in want.items():
    for n in names:
        if status[stage].get(n) != stats[stage][n]:
            sys.exit("FAIL: status %s %s = %r, stats says %d" % (stage, n, status[stage].get(n), stats[stage][n]))
        if " %s=%d" % (n, stats[stage][n]) not in text:
            sys.exit("FAIL: status table lacks %s %s=%d" % (stage, n, stats[stage][n]))
for stage, kv in status.items():
    for n, v in kv.items():
        if stats[stage][n] != v:
            sys.exit("FAIL: status %s %s = %d, stats says %d" % (stage, n, v, stats[stage][n]))
print("ok: status shows %d headline counters, equal to stats" % sum(len(v) for v in status.values()))
PY

"$C" stats --run-dir "$RUN" --prometheus >"$TMP/prom.txt"
python3 - "$TMP/prom.txt" "$packets" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
sample = re.compile(r'^(dnstrail_[a-z0-9_]+)\{(stage|ring)="[^"]+"\} [0-9]+$')
typed = set()
for l in lines:
    if l.startswith("# TYPE "):
        name, kind = l.split()[2:4]
        if kind not in ("counter", "gauge"):
            sys.exit("FAIL: bad TYPE line %r" % l)
        typed.add(name)
    elif l.startswith("# HELP "):
        continue
    elif not sample.match(l):
        sys.exit("FAIL: not exposition format: %r" % l)
    elif sample.match(l).group(1) not in typed:
        sys.exit("FAIL: sample before its TYPE: %r" % l)
want = 'dnstrail_capd_frames{stage="capd"} %s' % sys.argv[2]
if want not in lines:
    sys.exit("FAIL: %r missing" % want)
print("ok: Prometheus text: %d lines, %d metrics, valid exposition format" % (len(lines), len(typed)))
PY

port=$((20000 + RANDOM % 20000))
"$C" stats --run-dir "$RUN" --listen "127.0.0.1:$port" &
lp=$!
cleanup_hooks+=("kill $lp 2>/dev/null")
python3 - "$port" "$packets" <<'PY'
import sys, time, urllib.request
for _ in range(50):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=2).read().decode()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("FAIL: no answer on the listener")
if 'dnstrail_capd_frames{stage="capd"} %s' % sys.argv[2] not in body:
    sys.exit("FAIL: scrape lacks capd frames")
print("ok: scrape over HTTP: %d bytes" % len(body))
PY

# statsd: one push, received by a UDP listener on loopback.
python3 - "$C" "$RUN" "$packets" "$responses" <<'PY'
import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(5)
port = s.getsockname()[1]
subprocess.run([sys.argv[1], "stats", "--run-dir", sys.argv[2], "--statsd", "127.0.0.1:%d" % port,
                "--sensor", "s1", "--rounds", "1"], check=True)
got = {}
try:
    while True:
        for line in s.recv(65536).decode().splitlines():
            name, rest = line.split(":", 1)
            value, kind = rest.split("|")
            got[name] = (int(value), kind)
except socket.timeout:
    pass
want = {"dnstrail.s1.packets": (int(sys.argv[3]), "c"),               # gopassivedns's name
        "dnstrail.s1.capd.frames": (int(sys.argv[3]), "c"),
        "dnstrail.s1.correlated.match.answered": (int(sys.argv[4]), "c")}
for k, v in want.items():
    if got.get(k) != v:
        sys.exit("FAIL: statsd %s = %s, expected %s" % (k, got.get(k), v))
print("ok: statsd push: %d metrics, counters as expected" % len(got))
PY

# SIGUSR1: a stage logs its counters and keeps running.
"$DNSTRAIL" -r "$TMP/m.pcap" -w "$TMP/p.jsonl" --pace 2000 --run-dir "$RUN.usr1" 2>"$TMP/usr1.err" &
lp2=$!
cleanup_hooks+=("kill $lp2 2>/dev/null; rm -rf $RUN.usr1")
sleep 1.5
for s in capd decoded correlated logd; do pkill -USR1 -f "dnstrail-$s .*$RUN.usr1"; done
sleep 0.5
cp "$TMP/usr1.err" "$TMP/usr1.before" # before any stage exits (which logs them too)
kill -TERM $lp2; wait $lp2 || fail "paced run exited $? after SIGTERM"
for s in capd decoded correlated logd; do
	grep -q "^dnstrail-$s: .*=" "$TMP/usr1.before" || fail "dnstrail-$s logged no counters on SIGUSR1"
done
ok "SIGUSR1 makes every stage log its counters"
