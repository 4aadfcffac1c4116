#!/usr/bin/env bash
# logd_fluentd.sh - the fluentd sinks against fluentd_recv, a Forward
# receiver built on libmsgpack (not logd's encoder) that writes every
# record as JSON:
#   1. json over TCP and over a unix socket with require-ack and a tag:
#      every record equal, field by field and in order, to the file sink's
#      line, with the record's time as EventTime; chunks and acks counted;
#   2. transaction (one entry per transaction) and passivedns
#      ({"message": line}) formats;
#   3. require-ack while the receiver is killed with SIGKILL mid-stream and
#      started again: logd logs the loss and the reconnection once, never
#      exits, every record arrives at least once and in order, and every
#      record that arrives twice belongs to a chunk that was not acked
#      (resent whole, same id) - as many as logd counted;
#   4. bad specs exit 2 with one line.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DNSTRAIL_BIN:=$PWD/bin}" "${DNSTRAIL_BUILD:=$PWD/build}"
LOGD=$DNSTRAIL_BIN/dnstrail-logd FEED=$DNSTRAIL_BUILD/tests/txn_feed RECV=$DNSTRAIL_BUILD/tests/fluentd_recv
ROOT=(); [ "$(id -u)" = 0 ] && ROOT=(--allow-root)
T=$(mktemp -d /tmp/logd-fluentd.XXXXXX) # short: unix socket names are limited
chmod 0755 "$T"
pid= feed= r1= r2=
cleanup() {
	local rc=$?
	set +e # a failing step here must not cut the cleanup short
	for p in $pid $feed $r1 $r2; do kill -9 $p 2>/dev/null; wait $p 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
counter() { grep "sink $2" "$1" | grep -o " $3=[0-9]*" | tail -1 | cut -d= -f2; } # file, sink, name
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
N=20000
[ -n "${DNSTRAIL_SLOW:-}" ] && N=10000

# start_recv VAR ARGS...: a receiver in the background, its pid in VAR
start_recv() {
	local var=$1 ready=$T/ready.$RANDOM
	shift
	"$RECV" "$@" --ready "$ready" 2>>"$T/recv.err" &
	printf -v "$var" %s $!
	for _ in $(seq 100); do [ -e "$ready" ] && return 0; sleep 0.02; done
	fail "fluentd_recv did not start: $(tail -2 "$T/recv.err")"
}
start_logd() { # ERRFILE SINK...
	local err=$1
	shift
	rm -rf "$T/run"
	local sinks=()
	for s in "$@"; do sinks+=(--sink "$s"); done
	"$LOGD" --in log --run-dir "$T/run" "${sinks[@]}" "${ROOT[@]}" 2>"$err" &
	pid=$!
	for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done
}

# compare OUT... EXPECTED MODE: the receivers' records (files in order,
# chunk trailers and a killed receiver's unfinished chunk set aside)
# against the file sink's lines.  MODE exact, or atleastonce (repeats
# allowed only for chunks resent); prints "records repeats dup_chunks".
compare() {
	python3 - "$@" <<'EOF'
import json, sys, datetime
*outs, exp, mode = sys.argv[1:]
want = [l for l in open(exp, 'rb').read().split(b'\n')[:-1]]
pdns = not want[0].startswith(b'{')
# canonical text of a record: its fields, values and order, nothing else
canon = lambda o: json.dumps(o, ensure_ascii=False, separators=(',', ':'))
index = {(l if pdns else canon(json.loads(l))): i for i, l in enumerate(want)}
assert len(index) == len(want), "expected lines are not unique"

def ts_of(line):
    if pdns:
        s, us = line.split(b'||')[0].split(b'.')
        return '%s.%s000' % (s.decode(), us.decode())
    t = json.loads(line)['tstamp']
    d = datetime.datetime.strptime(t[:19], '%Y-%m-%dT%H:%M:%S').replace(tzinfo=datetime.timezone.utc)
    return '%d.%s' % (int(d.timestamp()), t[20:29])
chunks = []  # (id, [line index, ...])
for fn in outs:
    data = open(fn, 'rb').read()
    if not data.endswith(b'\n'):
        data = data[:data.rfind(b'\n') + 1]  # killed in the middle of a write
    group = []
    for l in data.split(b'\n')[:-1]:
        if l.startswith(b'#chunk '):
            _, cid, n = l.split(b' ')
            assert int(n) == len(group), (fn, l, len(group))
            chunks.append((cid, group))
            group = []
            continue
        t, rec = l.split(b' ', 1)
        got = json.loads(rec)
        if pdns:
            assert list(got) == ['message'], got
            i = index.get(got['message'].encode('utf-8'))
            assert i is not None, ("not an expected line", got)
        else:  # one of the file's lines, field by field and in order
            i = index.get(canon(got))
            assert i is not None, ("not an expected record", rec[:300])
        assert t.decode() == ts_of(want[i]), ("time", t, want[i][:60])
        group.append(i)
    if group:
        assert mode == 'atleastonce', "records after the last chunk trailer"
        chunks.append((b'(unfinished)', group))
seen, last, repeats, dup_chunks, ids = set(), -1, 0, 0, {}
for k, (cid, group) in enumerate(chunks):
    if cid == b'-':
        cid = k  # no require-ack: chunks have no id, none is a resend
    first = cid not in ids or cid == b'(unfinished)'
    if not first:
        assert ids[cid] == group, "chunk %s came again with other records" % cid
        dup_chunks += 1
    ids.setdefault(cid, group)
    for i in group:
        if i in seen:
            assert mode == 'atleastonce', "record %d twice" % (i + 1)
            repeats += 1
            continue
        assert i == last + 1, "record %d after %d: a record is missing or out of order" % (i + 1, last + 1)
        seen.add(i)
        last = i
    if cid == b'(unfinished)':
        dup_chunks += 1  # its records come again in the resent chunk
assert len(seen) == len(want), ("missing records", len(seen), len(want))
print(sum(len(g) for _, g in chunks), repeats, dup_chunks)
EOF
}

# ---- 1. json: tcp, and unix with require-ack
PORT=$(free_port)
start_recv r1 --tcp "$PORT" --out "$T/tcp.out" --tag dnstrail
start_recv r2 --unix "$T/fl.sock" --out "$T/unix.out" --tag dns.passive
start_logd "$T/logd1.err" "file:$T/f1" "fluentd:tcp:127.0.0.1:$PORT" \
	"fluentd:unix:$T/fl.sock,require-ack,tag=dns.passive"
"$FEED" --ring "$T/run/log" -n $N --eof --expect "$T/exp1" >/dev/null
wait $pid || fail "logd exited $? (stderr: $(tail -3 "$T/logd1.err"))"
pid=
lines=$(wc -l <"$T/exp1")
"$FEED" --verify "$T/f1" --expect "$T/exp1" || fail "file sink differs"
sleep 0.2
r=$(compare "$T/tcp.out" "$T/f1" exact) || fail "tcp: $r"
r=$(compare "$T/unix.out" "$T/f1" exact) || fail "unix: $r"
for s in tcp unix; do
	[ "$(counter "$T/logd1.err" "fluentd:$s" lines_written)" = "$lines" ] || fail "$s: lines_written != $lines"
	[ "$(counter "$T/logd1.err" "fluentd:$s" lines_dropped)" = 0 ] || fail "$s: lines dropped"
	sent=$(counter "$T/logd1.err" "fluentd:$s" chunks_sent)
	[ "$(grep -c '^#chunk' "$T/$s.out")" = "$sent" ] || fail "$s: the receiver got other than $sent chunks"
done
[ "$(counter "$T/logd1.err" fluentd:unix acks)" = "$(grep -c '^#chunk' "$T/unix.out")" ] || fail "acks != chunks"
[ "$(grep '^#chunk' "$T/tcp.out" | grep -vc '^#chunk - ')" = 0 ] || fail "chunk ids without require-ack"
[ "$(grep '^#chunk' "$T/unix.out" | cut -d' ' -f2 | sort -u | wc -l)" = "$(grep -c '^#chunk' "$T/unix.out")" ] ||
	fail "chunk ids repeat"
kill $r1 $r2; wait $r1 $r2 || true
r1= r2=
echo "ok: $N transactions, $lines records over tcp and over unix with require-ack ($sent chunks), exact"

# ---- 2. transaction and passivedns
for fmt in transaction passivedns; do
	rm -f "$T/$fmt.out"
	start_recv r1 --unix "$T/fl.sock" --out "$T/$fmt.out" --tag dnstrail
	rm -rf "$T/run"
	mkdir -p "$T/run"
	"$FEED" --ring "$T/run/$fmt" -n $((N / 4)) --eof --expect "$T/exp.$fmt" --format $fmt >/dev/null
	"$LOGD" --in "$fmt" --run-dir "$T/run" --format $fmt --sink "file:$T/f.$fmt" \
		--sink "fluentd:unix:$T/fl.sock,require-ack" "${ROOT[@]}" 2>"$T/logd.$fmt.err" || fail "logd --format $fmt"
	r=$(compare "$T/$fmt.out" "$T/f.$fmt" exact) || fail "$fmt: $r"
	kill $r1; wait $r1 || true
	r1=
	echo "ok: --format $fmt: $(wc -l <"$T/f.$fmt") records, exact"
done

# ---- 3. require-ack, the receiver killed with SIGKILL mid-stream
rm -f "$T/k1.out" "$T/k2.out"
# acks held 300 ms: the kill finds chunks written but not acked
start_recv r1 --unix "$T/fl.sock" --out "$T/k1.out" --tag dnstrail --ack-delay 300
start_logd "$T/logd3.err" "file:$T/f3" "fluentd:unix:$T/fl.sock,require-ack,wait=30,size=64M"
"$FEED" --ring "$T/run/log" -n $N --rate $((N / 3)) --eof --expect "$T/exp3" >/dev/null &
feed=$!
sleep 1
kill -9 $r1
wait $r1 2>/dev/null || true
r1=
sleep 0.3
kill -0 $pid 2>/dev/null || fail "logd exited when its peer died"
start_recv r2 --unix "$T/fl.sock" --out "$T/k2.out" --tag dnstrail
wait $feed || fail "feeder failed"
feed=
for _ in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "logd did not finish within 30 s"
wait $pid || fail "logd exited $? (stderr: $(tail -3 "$T/logd3.err"))"
pid=
lines=$(wc -l <"$T/exp3")
"$FEED" --verify "$T/f3" --expect "$T/exp3" || fail "file sink differs"
sleep 0.2
[ "$(grep -c "connection lost" "$T/logd3.err")" = 1 ] || fail "the loss was not logged exactly once"
[ "$(grep -c "reconnected" "$T/logd3.err")" = 1 ] || fail "the reconnection was not logged exactly once"
r=$(compare "$T/k1.out" "$T/k2.out" "$T/f3" atleastonce) || fail "after the kill: $r"
read -r got repeats dup_chunks <<<"$r"
w=$(counter "$T/logd3.err" fluentd lines_written) d=$(counter "$T/logd3.err" fluentd lines_dropped)
requeued=$(counter "$T/logd3.err" fluentd lines_requeued) resent=$(counter "$T/logd3.err" fluentd chunks_resent)
[ "$w" = "$lines" ] && [ "$d" = 0 ] || fail "written $w, dropped $d: want every one of $lines acked once"
[ "$got" = $((lines + repeats)) ] || fail "the receivers got $got records, $lines + $repeats repeats expected"
[ "$repeats" -le "$requeued" ] || fail "$repeats records twice, but logd resent only $requeued"
[ "$dup_chunks" -le "$resent" ] || fail "$dup_chunks chunks twice, but logd resent only $resent"
[ "$repeats" -gt 0 ] || fail "no record came twice: the kill found no chunk written and not acked"
echo "ok: receiver killed and restarted: all $lines records at least once, $repeats twice from" \
	"$dup_chunks unacked chunks (logd resent $resent chunks, $requeued records)"
kill $r2; wait $r2 || true
r2=

# ---- 4. bad specs
for spec in "fluentd:udp:127.0.0.1:24224" "fluentd:tcp:127.0.0.1" "fluentd:unix:/x,require-ack=yes" \
	"fluentd:unix:/x,tag=" "fluentd:unix:/x,facility=daemon" "fluentd:tcp:h:99999"; do
	set +e
	"$LOGD" --in log --run-dir "$T/run" --sink "$spec" "${ROOT[@]}" >/dev/null 2>"$T/usage.err"
	rc=$?
	set -e
	[ $rc = 2 ] || fail "'$spec' exited $rc, want 2"
	[ "$(wc -l <"$T/usage.err")" = 1 ] || fail "'$spec' printed $(wc -l <"$T/usage.err") lines"
done
echo "ok: bad fluentd specs refused"
