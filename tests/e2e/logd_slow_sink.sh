#!/usr/bin/env bash
# logd_slow_sink.sh - slow-sink isolation (issue 5): a fluentd receiver
# that stops reading after a while must cost the other sinks nothing.
# txn_feed writes 200000 transactions as fast as it can; logd has a file
# sink and a fluentd sink whose receiver stops reading:
#   1. unix socket, require-ack, receiver stops for good after 20000
#      records: the run finishes on its own, the file sink has every
#      record, and the fluentd sink's counters are exact: written = what
#      the receiver acked (in order, no repeats), dropped > 0 and
#      dropped = offered - delivered;
#   2. TCP without acks, receiver stops after 20000 records and resumes
#      (SIGUSR1) once the feed is over: again the file sink has every
#      record, and what the receiver got is exactly what logd counts as
#      written (in order, no gaps other than counted drops), dropped =
#      offered - delivered.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DNSTRAIL_BIN:=$PWD/bin}" "${DNSTRAIL_BUILD:=$PWD/build}"
LOGD=$DNSTRAIL_BIN/dnstrail-logd FEED=$DNSTRAIL_BUILD/tests/txn_feed RECV=$DNSTRAIL_BUILD/tests/fluentd_recv
ROOT=(); [ "$(id -u)" = 0 ] && ROOT=(--allow-root)
T=$(mktemp -d /tmp/logd-slow.XXXXXX)
chmod 0755 "$T"
pid= feed= rcv=
cleanup() {
	local rc=$?
	set +e # a failing step here must not cut the cleanup short
	for p in $pid $feed $rcv; do kill -9 $p 2>/dev/null; wait $p 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
counter() { grep "sink $2" "$1" | grep -o " $3=[0-9]*" | tail -1 | cut -d= -f2; } # file, sink, name
N=200000 STOP=20000
[ -n "${DNSTRAIL_SLOW:-}" ] && N=100000

start_recv() {
	rm -f "$T/ready"
	"$RECV" "$@" --ready "$T/ready" 2>>"$T/recv.err" &
	rcv=$!
	for _ in $(seq 100); do [ -e "$T/ready" ] && return 0; sleep 0.02; done
	fail "fluentd_recv did not start"
}

# delivered OUT EXPECTED: the receiver's records must be expected lines, in
# order; prints how many (with "prefix" when they are the stream's start)
delivered() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
canon = lambda o: json.dumps(o, ensure_ascii=False, separators=(',', ':'))
want = open(sys.argv[2], 'rb').read().split(b'\n')[:-1]
index = {canon(json.loads(l)): i for i, l in enumerate(want)}
last, n, gaps = -1, 0, 0
for l in open(sys.argv[1], 'rb').read().split(b'\n')[:-1]:
    if l.startswith(b'#chunk'):
        continue
    i = index.get(canon(json.loads(l.split(b' ', 1)[1])))
    assert i is not None, ("not an expected record", l[:200])
    assert i > last, ("out of order or twice", i, last)
    gaps += i != last + 1
    last, n = i, n + 1
print(n, "prefix" if not gaps else "gaps")
EOF
}

run() { # NAME SINK-SPEC: feeds N transactions, returns when logd has exited
	local name=$1 spec=$2
	rm -rf "$T/run"
	"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/$name.file" --sink "$spec" "${ROOT[@]}" \
		2>"$T/$name.err" &
	pid=$!
	for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done
	"$FEED" --ring "$T/run/log" -n $N --eof --expect "$T/$name.exp" >/dev/null &
	feed=$!
}

# ---- 1. require-ack over a unix socket; the receiver never reads again
start_recv --unix "$T/fl.sock" --out "$T/a.out" --stall-after $STOP
t0=$SECONDS
run a "fluentd:unix:$T/fl.sock,require-ack,wait=0.5,stall=2"
wait $feed || fail "the feeder failed: logd held the ring for the stuck sink"
feed=
for _ in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "logd did not finish within 60 s of the end of the stream"
wait $pid || fail "logd exited $? (stderr: $(tail -3 "$T/a.err"))"
pid=
secs=$((SECONDS - t0))
lines=$(wc -l <"$T/a.exp")
"$FEED" --verify "$T/a.file" --expect "$T/a.exp" || fail "the file sink lost records"
[ "$(counter "$T/a.err" file lines_written)" = "$lines" ] || fail "file: lines_written != $lines"
read -r got shape <<<"$(delivered "$T/a.out" "$T/a.exp")" || fail "the receiver's records"
# (a prefix of the stream unless the receiver was already too slow before
# it stopped - as under sanitizers - and the sink lagged then too)
w=$(counter "$T/a.err" fluentd lines_written) d=$(counter "$T/a.err" fluentd lines_dropped)
[ "$w" = "$got" ] || fail "fluentd: lines_written $w, but the receiver acked $got"
[ "$d" -gt 0 ] || fail "fluentd: nothing dropped"
[ "$d" = $((lines - got)) ] || fail "fluentd: dropped $d != offered $lines - delivered $got"
grep -q "cannot keep up\|pending for more than" "$T/a.err" || fail "no warning about the stuck sink"
kill $rcv; wait $rcv || true
rcv=
echo "ok: stuck receiver (require-ack): file sink $lines/$lines lines; fluentd delivered $got ($shape)," \
	"dropped $d (= $lines - $got); finished in ${secs} s"

# ---- 2. TCP without acks; the receiver resumes after the stream ended
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_recv --tcp "$PORT" --out "$T/b.out" --stall-after $STOP
t0=$SECONDS
run b "fluentd:tcp:127.0.0.1:$PORT,wait=0.5,stall=60"
wait $feed || fail "the feeder failed: logd held the ring for the slow sink"
feed=
kill -0 $pid 2>/dev/null || fail "logd finished while its fluentd sink still held records"
kill -USR1 $rcv # read again: what logd still holds goes out
for _ in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "logd did not finish within 60 s once the receiver read again"
wait $pid || fail "logd exited $? (stderr: $(tail -3 "$T/b.err"))"
pid=
secs=$((SECONDS - t0))
sleep 0.3
lines=$(wc -l <"$T/b.exp")
"$FEED" --verify "$T/b.file" --expect "$T/b.exp" || fail "the file sink lost records"
read -r got shape <<<"$(delivered "$T/b.out" "$T/b.exp")" || fail "the receiver's records"
w=$(counter "$T/b.err" fluentd lines_written) d=$(counter "$T/b.err" fluentd lines_dropped)
[ "$w" = "$got" ] || fail "fluentd: lines_written $w, but the receiver got $got"
[ "$d" -gt 0 ] || fail "fluentd: nothing dropped"
[ "$d" = $((lines - got)) ] || fail "fluentd: dropped $d != offered $lines - delivered $got"
grep -q "caught up" "$T/b.err" || fail "the sink did not report catching up"
kill $rcv; wait $rcv || true
rcv=
echo "ok: slow receiver (tcp): file sink $lines/$lines lines; fluentd delivered $got, dropped $d" \
	"(= $lines - $got); finished in ${secs} s"
