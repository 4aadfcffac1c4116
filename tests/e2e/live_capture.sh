#!/usr/bin/env bash
# Live capture against real DNS software.  The test builds its own
# topology: two network namespaces joined by a veth pair, unbound (serving
# only local data: no recursion, nothing leaves the namespaces) on one side,
# dnsperf and dig on the other, and dnstrail capturing on the client's veth.
# Every response the clients report receiving must be logged exactly once,
# with the right client, server, ports and a positive latency, and nothing
# may be dropped anywhere.  Needs root; everything is torn down on exit.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then echo "SKIP live_capture: needs root"; exit 0; fi
for t in ip unbound dnsperf dig; do
	command -v $t >/dev/null || { echo "SKIP live_capture: $t is not installed"; exit 0; }
done

SRV=dtsrv$$ CLI=dtcli$$
cleanup_hooks+=("ip netns pids $SRV 2>/dev/null | xargs -r kill 2>/dev/null; ip netns pids $CLI 2>/dev/null | xargs -r kill 2>/dev/null; sleep 0.3; ip netns del $SRV 2>/dev/null; ip netns del $CLI 2>/dev/null")
ip netns add $SRV
ip netns add $CLI
ip link add vs$$ type veth peer name vc$$
ip link set vs$$ netns $SRV
ip link set vc$$ netns $CLI
ip -n $SRV addr add 10.53.0.1/24 dev vs$$
ip -n $SRV addr add fd53::1/64 dev vs$$ nodad
ip -n $CLI addr add 10.53.0.2/24 dev vc$$
ip -n $CLI addr add fd53::2/64 dev vc$$ nodad
for ns in $SRV $CLI; do ip -n $ns link set lo up; done
ip -n $SRV link set vs$$ up
ip -n $CLI link set vc$$ up

# unbound: local data only.  "." is a static zone, so a name not listed
# gets NXDOMAIN from unbound itself instead of a query to the internet.
big=$(printf 'x%.0s' $(seq 200))
cat >"$TMP/unbound.conf" <<EOF
server:
	interface: 10.53.0.1
	interface: fd53::1
	access-control: 10.53.0.0/24 allow
	access-control: fd53::/64 allow
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "$TMP"
	pidfile: "$TMP/unbound.pid"
	use-syslog: no
	logfile: "$TMP/unbound.log"
	module-config: "iterator"
	num-threads: 1
	incoming-num-tcp: 100
	local-zone: "." static
	local-zone: "example.test." static
	local-data: "example.test. 300 IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 300"
	local-data: 'big.example.test. 60 IN TXT "$big" "$big" "$big"'
EOF
: >"$TMP/queries"
for i in $(seq 1 50); do
	echo "	local-data: \"h$i.example.test. 300 IN A 192.0.2.$i\"" >>"$TMP/unbound.conf"
	echo "	local-data: \"h$i.example.test. 300 IN AAAA 2001:db8::$i\"" >>"$TMP/unbound.conf"
	printf 'h%d.example.test A\nh%d.example.test AAAA\n' "$i" "$i" >>"$TMP/queries"
done
for i in $(seq 1 25); do
	echo "	local-data: \"m$i.example.test. 300 IN MX 10 mail$i.example.test.\"" >>"$TMP/unbound.conf"
	printf 'm%d.example.test MX\nmissing%d.example.test A\n' "$i" "$i" >>"$TMP/queries"
done
n_queries=$(wc -l <"$TMP/queries") # 150 per dnsperf run
unbound-checkconf "$TMP/unbound.conf" >/dev/null || fail "unbound configuration"
ip netns exec $SRV unbound -c "$TMP/unbound.conf" &
cleanup_hooks+=("kill $! 2>/dev/null")
for _ in $(seq 50); do
	ip netns exec $CLI dig +short +time=1 +tries=1 @10.53.0.1 h1.example.test A 2>/dev/null | grep -q 192.0.2.1 && break
	sleep 0.1
done
ok "unbound answers in its namespace"

# dnstrail on the client's side of the veth.
ip netns exec $CLI "$DNSTRAIL" -i vc$$ --sink "file:$TMP/live.jsonl" --format transaction --dedup off \
	--run-dir "$RUN" 2>"$TMP/dnstrail.err" &
launcher=$!
cleanup_hooks+=("kill $launcher 2>/dev/null")
for _ in $(seq 100); do
	"$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(s["stage"]=="capd" and s["state"]=="alive" for s in d["stages"]) else 1)' 2>/dev/null && break
	sleep 0.1
done
kill -0 $launcher 2>/dev/null || { cat "$TMP/dnstrail.err"; fail "dnstrail did not start"; }
sleep 0.5 # capd is attached: let the capture socket settle

# The clients.  dnsperf -v lists every response it received.
run_perf() { # tag family mode server
	ip netns exec $CLI dnsperf -v -s "$4" -m "$3" -d "$TMP/queries" -n 1 -c 4 -Q 2000 -t 2 \
		>"$TMP/perf.$1" 2>&1 || fail "dnsperf $1"
	grep -c '^> ' "$TMP/perf.$1"
}
got_udp4=$(run_perf udp4 inet udp 10.53.0.1)
got_tcp4=$(run_perf tcp4 inet tcp 10.53.0.1)
got_udp6=$(run_perf udp6 inet6 udp fd53::1)
got_tcp6=$(run_perf tcp6 inet6 tcp fd53::1)
for k in udp4 tcp4 udp6 tcp6; do
	v=got_$k
	assert_eq "responses dnsperf received over $k" "$n_queries" "${!v}"
done
# TC=1: no EDNS, a 600-byte answer; dig retries over TCP by itself.
ip netns exec $CLI dig +noedns +time=2 +tries=1 @10.53.0.1 big.example.test TXT >"$TMP/dig.tc" 2>&1
grep -q "Truncated, retrying in TCP mode" "$TMP/dig.tc" || fail "dig did not fall back to TCP: $(cat "$TMP/dig.tc")"
grep -q 'status: NOERROR' "$TMP/dig.tc" || fail "TCP retry failed"
ip netns exec $CLI dig +time=2 +tries=1 @10.53.0.1 nothing-here.example.test A >"$TMP/dig.nx" 2>&1
grep -q 'status: NXDOMAIN' "$TMP/dig.nx" || fail "no NXDOMAIN"
ok "dig: TCP fallback after TC=1, and NXDOMAIN"
sleep 1

# Stop: capd first, the rest drain.
kill -TERM $launcher 2>/dev/null || { cat "$TMP/dnstrail.err"; fail "dnstrail exited during the test"; }
wait $launcher || { cat "$TMP/dnstrail.err"; fail "dnstrail exited $? on SIGTERM"; }
ok "dnstrail drained and exited 0"

python3 - "$TMP" "$n_queries" <<'PY'
import json, sys, collections
tmp, n = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(tmp + "/live.jsonl")]
def fail(m):
    sys.exit("FAIL: " + m)
kinds = collections.Counter(r["kind"] for r in recs)
if kinds.get("response-only") or kinds.get("unanswered"):
    fail("not every response was matched: %s" % dict(kinds))
by = collections.Counter()
for r in recs:
    v6 = ":" in r["src"]
    want_cli, want_srv = ("fd53::2", "fd53::1") if v6 else ("10.53.0.2", "10.53.0.1")
    if (r["src"], r["dst"]) != (want_cli, want_srv):
        fail("client/server wrong: %s" % r)
    if r["dport"] != 53 or r["sport"] == 53 or not 0 < r["sport"] < 65536:
        fail("ports wrong: %s" % r)
    if not r["elapsed"] > 0:
        fail("latency not positive: %s" % r)
    if r["q"] not in ("big.example.test", "nothing-here.example.test"):
        by[r["protocol"] + ("6" if v6 else "4")] += 1
for k in ("udp4", "tcp4", "udp6", "tcp6"):
    if by[k] != n:
        fail("%s: %d transactions logged, dnsperf received %d" % (k, by[k], n))
    print("ok: %s: %d transactions logged, once each" % (k, by[k]))
dup = collections.Counter((r["protocol"], r["src"], r["sport"], r["query_id"], r["q"], r["qtype"]) for r in recs)
if max(dup.values()) != 1:
    fail("a transaction was logged twice: %s" % [k for k, c in dup.items() if c > 1][:3])
big = sorted((r["protocol"], r["truncated"]) for r in recs if r["q"] == "big.example.test")
if big != [("tcp", False), ("udp", True)]:
    fail("TC fallback: expected a truncated UDP answer and a TCP answer, got %s" % big)
print("ok: TC=1 over UDP then the full answer over TCP")
tcp_big = [r for r in recs if r["q"] == "big.example.test" and r["protocol"] == "tcp"][0]
if len(tcp_big["answers"]) != 1 or tcp_big["answers"][0]["data"].count('"') != 6:
    fail("TCP TXT answer: %s" % tcp_big["answers"])
nx = [r for r in recs if r["q"] == "nothing-here.example.test"]
if len(nx) != 1 or nx[0]["rcode"] != 3:
    fail("NXDOMAIN: %s" % nx)
print("ok: NXDOMAIN logged with rcode 3")
misses = [r for r in recs if r["q"].startswith("missing")]
if len(misses) != 4 * 25 or any(r["rcode"] != 3 for r in misses):
    fail("missing names: %d records" % len(misses))
PY

"$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json >"$TMP/status.json"
python3 - "$TMP/status.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
drops = {r["name"]: r["dropped"] for r in d["rings"] if "dropped" in r}
if any(drops.values()):
    sys.exit("FAIL: ring drops: %s" % drops)
print("ok: no ring dropped anything: %s" % drops)
PY
"$DNSTRAIL_BIN/dnstrail-ctl" stats --run-dir "$RUN" --json >"$TMP/stats.json"
python3 - "$TMP/stats.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["stages"]["capd"]
if c["capd.kernel_drops"] or c["capd.if_drops"] or c["capd.ring_drops"]:
    sys.exit("FAIL: capd drops: %s" % c)
print("ok: capd dropped nothing (kernel, interface, rings)")
PY
