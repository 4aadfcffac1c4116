#!/usr/bin/env bash
# bench_live.sh CAPTURE RATE SECONDS [DNSTRAIL OPTION...] - live capture at a
# paced rate: a sender (SENDER=pcap_pace, the default, or tcpreplay) sends
# CAPTURE (looped) at RATE packets/s for SECONDS onto a veth pair between
# two network namespaces this script creates; dnstrail captures on the far
# end.  Nothing leaves those namespaces, and both are removed on exit, even
# on failure.
#
# Prints one line: "rate=R achieved=A sent=S captured=C missed=M
# kernel_drops=K ring_drops=D lost_after_capd=L lines=N sensor_busy=B": A is
# the packets/s the sender managed, M the frames sent that capd never saw
# (lost in the kernel before its socket, e.g. the veth's backlog), L the
# records a later stage failed to pass on (0 unless something is broken),
# B the percent of dnstrail's CPUs in use while the sender ran (see PIN
# below).  Needs root and build/tests/pcap_pace (make) or tcpreplay; run by
# scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: $0 CAPTURE RATE SECONDS [DNSTRAIL OPTION...]" >&2; exit 2; }
cap=$1 rate=$2 secs=$3
shift 3
: "${DNSTRAIL_BIN:=$PWD/bin}" "${DNSTRAIL_BUILD:=$PWD/build}" "${SENDER:=pcap_pace}" "${PIN:=1}"
export DNSTRAIL_BIN
TX=dtbtx$$ RX=dtbrx$$ RUN=/dev/shm/dnstrail-benchlive.$$ OUT=/dev/shm/dnstrail-benchlive-out.$$
launcher=
cleanup() {
	[ -n "$launcher" ] && kill "$launcher" 2>/dev/null && wait "$launcher" 2>/dev/null
	ip netns pids $RX 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns pids $TX 2>/dev/null | xargs -r kill 2>/dev/null
	sleep 0.3
	ip netns del $TX 2>/dev/null
	ip netns del $RX 2>/dev/null
	rm -rf "$RUN" "$OUT"*
}
trap cleanup EXIT
ip netns add $TX
ip netns add $RX
for ns in $TX $RX; do # no ND/MLD chatter in the counts
	ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
done
ip link add bt$$ type veth peer name br$$
ip link set bt$$ netns $TX
ip link set br$$ netns $RX
ip -n $TX link set bt$$ up
ip -n $RX link set br$$ up

# On two or more CPUs the sender runs on CPU 0 and dnstrail on the others
# (PIN=0: both anywhere).  The veth's receive path, up to the copy into
# capd's ring, runs in the sender's context, so unpinned the sender's
# kernel work and dnstrail compete for one pool and the rate measures the
# pair.  Pinned, dnstrail has fewer CPUs than the machine (harder than a
# real sensor, where the NIC sends), and sensor_busy, the share of its CPUs
# in use while the sender ran, shows its headroom at that rate.
ncpu=$(nproc)
tx_pin=() rx_pin=() rx_cpus=$(seq 0 $((ncpu - 1)))
if [ "$PIN" = 1 ] && [ "$ncpu" -ge 2 ]; then
	tx_pin=(taskset -c 0) rx_pin=(taskset -c "1-$((ncpu - 1))") rx_cpus=$(seq 1 $((ncpu - 1)))
fi
# cpu_ticks: busy and total jiffies of the CPUs dnstrail runs on
cpu_ticks() {
	local c
	for c in $rx_cpus; do grep "^cpu$c " /proc/stat; done |
		awk '{for (i = 2; i <= NF; i++) t += $i; idle += $5 + $6} END {print t - idle, t}'
}

ip netns exec $RX "${rx_pin[@]}" scripts/dnstrail -i br$$ -w "$OUT.jsonl" --dedup off --run-dir "$RUN" "$@" 2>"$OUT.err" &
launcher=$!
for _ in $(seq 100); do
	"$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json 2>/dev/null | grep -q '"stage":"capd"' && break
	sleep 0.1
done
kill -0 $launcher 2>/dev/null || { cat "$OUT.err" >&2; echo "bench_live: dnstrail did not start" >&2; exit 1; }
sleep 0.5
# The sender: build/tests/pcap_pace (sendmmsg, ~390k packets/s here with
# nothing capturing) or, with SENDER=tcpreplay, tcpreplay (one sendto per
# packet, ~290k).  What it achieved is the rate to report: its CPU also
# runs the veth's receive path, so it falls short of high requested rates.
ticks0=$(cpu_ticks)
if [ "$SENDER" = tcpreplay ]; then
	# -K: packets preloaded, so reading the file does not limit the rate.
	ip netns exec $TX "${tx_pin[@]}" tcpreplay -K -i bt$$ --pps="$rate" --loop=0 --duration="$secs" "$cap" >"$OUT.replay" 2>&1 ||
		{ cat "$OUT.replay" >&2; echo "bench_live: tcpreplay failed" >&2; exit 1; }
	sent=$(sed -nE 's/.*Successful packets: *([0-9]+).*/\1/p' "$OUT.replay")
	achieved=$(sed -nE 's/^Rated: .* ([0-9.]+) pps.*/\1/p' "$OUT.replay" | cut -d. -f1)
else
	ip netns exec $TX "${tx_pin[@]}" "$DNSTRAIL_BUILD/tests/pcap_pace" bt$$ "$rate" "$secs" "$cap" >"$OUT.replay" ||
		{ echo "bench_live: pcap_pace failed" >&2; exit 1; }
	sent=$(sed -nE 's/.*sent=([0-9]+) .*/\1/p' "$OUT.replay")
	achieved=$(sed -nE 's/.* rate=([0-9]+) .*/\1/p' "$OUT.replay")
fi
ticks1=$(cpu_ticks)
busy=$(echo "$ticks0 $ticks1" | awk '{printf "%d", ($4 > $2 ? 100 * ($3 - $1) / ($4 - $2) : 0)}')
sleep 2 # let the pipeline drain what it captured
kill -TERM $launcher
wait $launcher || { tail -20 "$OUT.err" >&2; echo "bench_live: dnstrail exited $? on SIGTERM" >&2; exit 1; }
launcher=
"$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json >"$OUT.status"
"$DNSTRAIL_BIN/dnstrail-ctl" stats --run-dir "$RUN" --json >"$OUT.stats"
python3 - "$OUT.status" "$OUT.stats" "$rate" "$sent" "$OUT.jsonl" "${achieved:-0}" "$busy" <<'PY'
import json, sys
rings = [r for r in json.load(open(sys.argv[1]))["rings"] if "dropped" in r]
st = json.load(open(sys.argv[2]))["stages"]
c = st["capd"]
lost = sum(r["dropped"] for r in rings if not r["name"].startswith("cap."))
lost += sum(r["records_in"] - r["records_out"] for r in rings)
lost += st["correlated"]["emit.records"] - st["logd"]["records_read"]
lines = sum(1 for _ in open(sys.argv[5]))
missed = max(int(sys.argv[4]) - c["capd.frames"], 0)
print("rate=%s achieved=%s sent=%s captured=%d missed=%d kernel_drops=%d ring_drops=%d lost_after_capd=%d lines=%d"
      " sensor_busy=%s" % (sys.argv[3], sys.argv[6], sys.argv[4], c["capd.frames"], missed, c["capd.kernel_drops"],
                           c["capd.ring_drops"], lost, lines, sys.argv[7]))
PY
