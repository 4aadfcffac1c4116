#!/usr/bin/env bash
# bench_live.sh CAPTURE RATE SECONDS [DNSTRAIL OPTION...] - live capture at a
# paced rate: tcpreplay sends CAPTURE (looped) at RATE packets/s for SECONDS
# onto a veth pair between two network namespaces this script creates;
# dnstrail captures on the far end.  Nothing leaves those namespaces, and
# both are removed on exit, even on failure.
#
# Prints one line: "rate=R achieved=A sent=S captured=C kernel_drops=K ring_drops=D
# lost_after_capd=L lines=N" (A: the packets/s tcpreplay managed) where lost_after_capd counts records any later
# stage failed to pass on (0 unless something is broken).  Needs root and
# tcpreplay; run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: $0 CAPTURE RATE SECONDS [DNSTRAIL OPTION...]" >&2; exit 2; }
cap=$1 rate=$2 secs=$3
shift 3
: "${DNSTRAIL_BIN:=$PWD/bin}"
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

ip netns exec $RX scripts/dnstrail -i br$$ -w "$OUT.jsonl" --dedup off --run-dir "$RUN" "$@" 2>"$OUT.err" &
launcher=$!
for _ in $(seq 100); do
	"$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json 2>/dev/null | grep -q '"stage":"capd"' && break
	sleep 0.1
done
kill -0 $launcher 2>/dev/null || { cat "$OUT.err" >&2; echo "bench_live: dnstrail did not start" >&2; exit 1; }
sleep 0.5
# -K: packets preloaded, so reading the file does not limit the rate.
ip netns exec $TX tcpreplay -K -i bt$$ --pps="$rate" --loop=0 --duration="$secs" "$cap" >"$OUT.replay" 2>&1 ||
	{ cat "$OUT.replay" >&2; echo "bench_live: tcpreplay failed" >&2; exit 1; }
sent=$(sed -nE 's/.*Successful packets: *([0-9]+).*/\1/p' "$OUT.replay")
# What tcpreplay achieved: on two cores shared with dnstrail it falls short
# of high requested rates, and the rate to report is the one sent.
achieved=$(sed -nE 's/^Rated: .* ([0-9.]+) pps.*/\1/p' "$OUT.replay" | cut -d. -f1)
sleep 2 # let the pipeline drain what it captured
kill -TERM $launcher
wait $launcher || { tail -20 "$OUT.err" >&2; echo "bench_live: dnstrail exited $? on SIGTERM" >&2; exit 1; }
launcher=
"$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json >"$OUT.status"
"$DNSTRAIL_BIN/dnstrail-ctl" stats --run-dir "$RUN" --json >"$OUT.stats"
python3 - "$OUT.status" "$OUT.stats" "$rate" "$sent" "$OUT.jsonl" "${achieved:-0}" <<'PY'
import json, sys
rings = [r for r in json.load(open(sys.argv[1]))["rings"] if "dropped" in r]
st = json.load(open(sys.argv[2]))["stages"]
c = st["capd"]
lost = sum(r["dropped"] for r in rings if not r["name"].startswith("cap."))
lost += sum(r["records_in"] - r["records_out"] for r in rings)
lost += st["correlated"]["emit.records"] - st["logd"]["records_read"]
lines = sum(1 for _ in open(sys.argv[5]))
print("rate=%s achieved=%s sent=%s captured=%d kernel_drops=%d ring_drops=%d lost_after_capd=%d lines=%d"
      % (sys.argv[3], sys.argv[6], sys.argv[4], c["capd.frames"], c["capd.kernel_drops"], c["capd.ring_drops"],
         lost, lines))
PY
