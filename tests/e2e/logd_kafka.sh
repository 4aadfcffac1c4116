#!/usr/bin/env bash
# logd_kafka.sh - logd's Kafka sink against a real peer: librdkafka's mock
# cluster (tests/helpers/kafka_mock.c, 3 brokers, the real protocol on
# loopback), read back with kcat.
#   1. 50000 transactions, a Kafka and a file sink: the topic holds exactly
#      the file's lines (as multisets), every key is the line's question name
#      and one key stays on one partition, lines_written (delivered) == lines;
#      the same in transaction and passivedns formats.
#   2. one broker down mid-stream, then up: logd keeps running, the file
#      sink gets 100 %, delivered + dropped == lines, every line in the topic
#      is an expected one and at least `delivered` distinct lines are there.
#   3. every broker down with timeout=2: records fail and are counted, the
#      sink lags instead of holding the file sink back, each kind of error is
#      logged once; brokers up again: deliveries resume.
#   4. SIGTERM mid-stream: logd drains and exits 0, nothing acknowledged lost;
#      kill -9 mid-stream (three times) and restart: every record reaches the
#      topic at least once, the file exactly once.
#   5. logd under valgrind: no error, no leak beyond librdkafka's own, also
#      when SIGTERM finds messages still out (every broker down).
# Bad specs (exit 2) are in the unit test test_logd_kafka.
# Skips (printing SKIP) when kcat is missing or the mock cannot start.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DNSTRAIL_BIN:=$PWD/bin}" "${DNSTRAIL_BUILD:=$PWD/build}"
LOGD=$DNSTRAIL_BIN/dnstrail-logd FEED=$DNSTRAIL_BUILD/tests/txn_feed MOCK=$DNSTRAIL_BUILD/tests/kafka_mock
ROOT=(); [ "$(id -u)" = 0 ] && ROOT=(--allow-root)
command -v kcat >/dev/null || { echo "SKIP kcat is not installed (apt-get install kcat)"; exit 0; }
[ -x "$MOCK" ] || { echo "SKIP $MOCK is not built (make test-build)"; exit 0; }
T=$(mktemp -d /dev/shm/logd-kafka.XXXXXX)
pid='' feed='' mock=''
cleanup() {
	local rc=$?
	set +e
	[ -n "$pid" ] && { kill -9 $pid; wait $pid; } 2>/dev/null
	[ -n "$feed" ] && { kill $feed; wait $feed; } 2>/dev/null
	[ -n "$mock" ] && { exec 7>&-; kill $mock; wait $mock; } 2>/dev/null
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
# sink_counter ERRFILE SINKPREFIX NAME: a sink's counter from logd's exit log
sink_counter() { grep "sink $2" "$1" | grep -o " $3=[0-9]*" | tail -1 | cut -d= -f2; }
counter() { grep -o " $2=[0-9]*" "$1" | tail -1 | cut -d= -f2; }
alive() { kill -0 "$1" 2>/dev/null; }
# wait_for PID SECONDS: wait for PID to exit, failing after SECONDS; sets rc
wait_for() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do alive "$1" || break; sleep 0.05; done
	alive "$1" && fail "process $1 still running after $2 s"
	rc=0; wait "$1" || rc=$?
}

# ---- the cluster
N=50000
[ -n "${DNSTRAIL_SLOW:-}" ] && N=20000 # sanitizer builds
mkfifo "$T/mock.in"
"$MOCK" --brokers 3 --topic dns --partitions 6 --topic fmt-transaction --partitions 3 \
	--topic fmt-passivedns --partitions 3 --topic down1 --partitions 6 --topic downall \
	--partitions 4 --topic term --partitions 4 --topic vg --partitions 2 \
	<"$T/mock.in" >"$T/mock.out" 2>"$T/mock.err" &
mock=$!
exec 7>"$T/mock.in"
# (creating the topics takes seconds under sanitizers)
for _ in $(seq 1200); do [ -s "$T/mock.out" ] || ! alive $mock && break; sleep 0.05; done
BOOT=$(head -1 "$T/mock.out")
if [ -z "$BOOT" ]; then
	echo "SKIP the mock Kafka cluster did not start: $(cat "$T/mock.err")"
	exit 0
fi
echo "mock cluster: $BOOT"
replies=1
mockcmd() { # send a command, wait for its reply
	echo "$*" >&7
	replies=$((replies + 1))
	for _ in $(seq 100); do [ "$(wc -l <"$T/mock.out")" -ge $replies ] && break; sleep 0.05; done
	[ "$(sed -n "${replies}p" "$T/mock.out")" = ok ] || fail "mock: '$*' -> $(sed -n "${replies}p" "$T/mock.out")"
}

# consume TOPIC OUT: everything in the topic, as "partition:keylen:key vallen:value\n"
consume() {
	timeout 60 kcat -C -b "$BOOT" -t "$1" -e -q -f '%p:%K:%k%S:%s\n' >"$2" 2>"$2.err" ||
		fail "kcat on $1 failed: $(head -3 "$2.err")"
}

# check.py MODE KAFKA FILE [DELIVERED FAILED]: parses kcat's output and
# compares it with the lines of FILE.  MODE exact: same multiset; subset:
# every message is a line of FILE, at least DELIVERED distinct ones arrived
# (nothing acknowledged is lost), and at most DELIVERED + FAILED (nothing
# arrived that logd dropped before handing it over).
cat >"$T/check.py" <<'EOF'
import collections, json, sys
mode, kafka, ref = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(kafka, 'rb').read()
msgs, i = [], 0
def num(i):
    j = data.index(b':', i)
    return int(data[i:j]), j + 1
while i < len(data):
    part, i = num(i)
    klen, i = num(i)
    key = None if klen < 0 else data[i:i + klen]
    i += max(klen, 0)
    vlen, i = num(i)
    val = data[i:i + vlen]
    i += vlen
    assert data[i:i + 1] == b'\n', ('bad kcat framing at', i)
    i += 1
    msgs.append((part, key, val))
lines = open(ref, 'rb').read().split(b'\n')
assert lines[-1] == b''
lines = lines[:-1]
got = collections.Counter(v for _, _, v in msgs)
want = collections.Counter(lines)
if mode == 'exact':
    assert got == want, ('topic and file differ', len(msgs), len(lines),
                         list((got - want).items())[:2], list((want - got).items())[:2])
else:
    unknown = [v for v in got if v not in want]
    assert not unknown, ('lines in the topic that logd never had', unknown[:2])
    delivered, failed = int(sys.argv[4]), int(sys.argv[5])
    assert len(got) >= delivered, ('acknowledged lines missing from the topic', len(got), delivered)
    # beyond those, only lines whose report failed (timed out in flight)
    assert len(got) <= delivered + failed, ('lines in the topic logd never handed over',
                                            len(got), delivered, failed)
# keys: the question name as a JSON reader decodes it; passivedns: field 5
parts = collections.defaultdict(set)
for part, key, val in msgs:
    if val.startswith(b'{'):
        q = json.loads(val.decode('utf-8'))['q'].encode('utf-8')
    else:
        q = val.split(b'||')[4]
        if len(q) > 1 and q.endswith(b'.'):
            q = q[:-1]
    want_key = q if q else None
    assert key == want_key, ('key', key, 'is not the question name', want_key, val[:200])
    parts[key].add(part)
spread = [k for k, p in parts.items() if k is not None and len(p) > 1]
assert not spread, ('one key on several partitions', spread[:3])
print('%s: %d messages, %d distinct (%d repeated: at least once), %d keys, %d partitions' %
      (mode, len(msgs), len(got), len(msgs) - len(got), len(parts), len({p for p, _, _ in msgs})))
EOF

# run_logd NAME ARGS...: logd on ring $T/NAME/log in the background, pid in $pid
run_logd() {
	local name=$1; shift
	rm -rf "${T:?}/$name"; mkdir -p "$T/$name"
	"$LOGD" --in log --run-dir "$T/$name" "$@" "${ROOT[@]}" 2>"$T/$name.err" &
	pid=$!
	for _ in $(seq 100); do [ -e "$T/$name/log" ] && break; sleep 0.05; done
}

# ---- 1. everything arrives, keyed by question name, in every format
run_logd p1 --sink "kafka:$BOOT/dns" --sink "file:$T/p1.jsonl"
"$FEED" --ring "$T/p1/log" -n $N --eof --expect "$T/p1.exp" >"$T/p1.feed"
wait_for $pid 120; pid=
[ $rc = 0 ] || fail "logd exited $rc: $(tail -3 "$T/p1.err")"
lines=$(sed -n 's/.*lines=\([0-9]*\).*/\1/p' "$T/p1.feed")
"$FEED" --verify "$T/p1.jsonl" --expect "$T/p1.exp" >/dev/null || fail "file sink differs"
consume dns "$T/p1.kafka"
python3 "$T/check.py" exact "$T/p1.kafka" "$T/p1.jsonl" || fail "phase 1: topic check"
[ "$(sink_counter "$T/p1.err" kafka: lines_written)" = "$lines" ] ||
	fail "delivered (lines_written) $(sink_counter "$T/p1.err" kafka: lines_written) != $lines"
[ "$(sink_counter "$T/p1.err" kafka: lines_dropped)" = 0 ] || fail "kafka sink dropped lines"
[ "$(sink_counter "$T/p1.err" kafka: delivery_failed)" = 0 ] || fail "deliveries failed"
! grep -q "warning\|Kafka" "$T/p1.err" || fail "unexpected messages: $(grep -m3 Kafka "$T/p1.err")"
echo "ok: $N transactions, $lines lines: topic == file, keys == question names, delivered == $lines"

for fmt in transaction passivedns; do
	run_logd "p1$fmt" --sink "kafka:$BOOT/fmt-$fmt,compression=zstd,linger=0.05,acks=1" \
		--sink "file:$T/p1.$fmt" --format $fmt
	"$FEED" --ring "$T/p1$fmt/log" -n 20000 --eof --format $fmt >"$T/p1$fmt.feed"
	wait_for $pid 120; pid=
	[ $rc = 0 ] || fail "logd --format $fmt exited $rc"
	consume "fmt-$fmt" "$T/p1$fmt.kafka"
	python3 "$T/check.py" exact "$T/p1$fmt.kafka" "$T/p1.$fmt" || fail "phase 1: $fmt"
	n=$(wc -l <"$T/p1.$fmt")
	[ "$(sink_counter "$T/p1$fmt.err" kafka: lines_written)" = "$n" ] || fail "$fmt: delivered != $n"
done
echo "ok: transaction and passivedns formats (zstd, acks=1, linger=0.05)"

# ---- 2. one broker down mid-stream, then up again
run_logd p2 --sink "kafka:$BOOT/down1,timeout=60" --sink "file:$T/p2.jsonl"
"$FEED" --ring "$T/p2/log" -n $N --rate 10000 --eof --expect "$T/p2.exp" >"$T/p2.feed" &
feed=$!
sleep 1.5
mockcmd down 2
for _ in $(seq 25); do sleep 0.1; alive $pid || fail "logd exited while a broker was down"; done
mockcmd up 2
wait_for $feed 120; feed=
[ $rc = 0 ] || fail "feeder exited $rc"
wait_for $pid 120; pid=
[ $rc = 0 ] || fail "logd exited $rc after a broker went down: $(tail -3 "$T/p2.err")"
lines=$(sed -n 's/.*lines=\([0-9]*\).*/\1/p' "$T/p2.feed")
"$FEED" --verify "$T/p2.jsonl" --expect "$T/p2.exp" >/dev/null || fail "phase 2: file sink differs"
written=$(sink_counter "$T/p2.err" kafka: lines_written)
dropped=$(sink_counter "$T/p2.err" kafka: lines_dropped)
failed=$(sink_counter "$T/p2.err" kafka: delivery_failed)
[ $((written + dropped)) = "$lines" ] || fail "phase 2: delivered $written + dropped $dropped != $lines"
consume down1 "$T/p2.kafka"
grep -v "counters\|sink file" "$T/p2.err" | cut -c1-300
python3 "$T/check.py" subset "$T/p2.kafka" "$T/p2.jsonl" "$written" "$failed" || fail "phase 2: topic check"
echo "ok: broker 2 down for 2.5 s: file 100 % ($lines lines); kafka delivered $written + dropped $dropped" \
	"(failed $failed, lags $(sink_counter "$T/p2.err" kafka: lags)) == $lines; all delivered lines in the topic"

# ---- 3. every broker down: failures counted, logged once, the file sink unhurt
mockcmd down -1
# A short reconnect backoff (through properties=), so the producer is back
# within the 2 s the test waits once the brokers are up again.
printf '# test\nreconnect.backoff.max.ms = 300\n' >"$T/p3.properties"
run_logd p3 --sink "kafka:$BOOT/downall,timeout=2,wait=0.5,size=256K,properties=$T/p3.properties" \
	--sink "file:$T/p3.jsonl"
"$FEED" --ring "$T/p3/log" -n 20000 --expect "$T/p3a.exp" >/dev/null
sleep 3 # past timeout=: what was handed over fails
alive $pid || fail "logd exited with every broker down"
mockcmd up -1
sleep 2 # the producer reconnects (its backoff)
"$FEED" --ring "$T/p3/log" --start 20000 -n 5000 --eof --expect "$T/p3b.exp" >/dev/null
wait_for $pid 120; pid=
[ $rc = 0 ] || fail "logd exited $rc: $(tail -3 "$T/p3.err")"
cat "$T/p3a.exp" "$T/p3b.exp" >"$T/p3.exp"
"$FEED" --verify "$T/p3.jsonl" --expect "$T/p3.exp" >/dev/null || fail "phase 3: file sink differs"
lines=$(wc -l <"$T/p3.exp")
second=$(wc -l <"$T/p3b.exp")
written=$(sink_counter "$T/p3.err" kafka: lines_written)
dropped=$(sink_counter "$T/p3.err" kafka: lines_dropped)
failed=$(sink_counter "$T/p3.err" kafka: delivery_failed)
errors=$(sink_counter "$T/p3.err" kafka: client_errors)
[ $((written + dropped)) = "$lines" ] || fail "phase 3: delivered $written + dropped $dropped != $lines"
[ "$failed" -gt 0 ] || fail "phase 3: no delivery counted failed with every broker down"
[ "$(sink_counter "$T/p3.err" kafka: lags)" -ge 1 ] || fail "phase 3: the sink never lagged"
[ "$written" -ge "$second" ] || fail "phase 3: only $written delivered after the brokers came back ($second sent)"
[ "$errors" -gt 0 ] || fail "phase 3: no client error counted"
# Once per kind: "did not take a record" once, each librdkafka error kind once.
[ "$(grep -c "did not take a record" "$T/p3.err")" = 1 ] || fail "delivery failure not logged exactly once"
kinds=$(grep -o "([A-Z_]*); librdkafka retries" "$T/p3.err" | cut -d' ' -f1 | sort | uniq -c)
[ -n "$kinds" ] || fail "phase 3: no Kafka error logged"
echo "$kinds" | awk '$1 > 1 { exit 1 }' || fail "an error kind was logged more than once: $kinds"
grep -q "deliveries succeed again" "$T/p3.err" || fail "no recovery message"
consume downall "$T/p3.kafka"
grep -v "counters\|sink file" "$T/p3.err" | cut -c1-300
python3 "$T/check.py" subset "$T/p3.kafka" "$T/p3.jsonl" "$written" "$failed" || fail "phase 3: topic check"
echo "ok: all brokers down: $failed failed, $dropped dropped, $errors client errors (logged:" \
	"$(echo $kinds)), file 100 %; $written delivered once back"

# ---- 4. SIGTERM mid-stream: drains and exits 0
run_logd p4 --sink "kafka:$BOOT/term" --sink "file:$T/p4.jsonl"
"$FEED" --ring "$T/p4/log" -n $N --rate 20000 --expect "$T/p4.exp" >/dev/null &
feed=$!
sleep 1
kill -TERM $pid
wait_for $pid 30; pid=
[ $rc = 0 ] || fail "logd exited $rc on SIGTERM"
kill $feed 2>/dev/null; wait $feed 2>/dev/null || true; feed=
written=$(sink_counter "$T/p4.err" kafka: lines_written)
[ "$(sink_counter "$T/p4.err" kafka: lines_dropped)" = 0 ] || fail "phase 4: dropped on SIGTERM"
[ "$written" = "$(wc -l <"$T/p4.jsonl")" ] || fail "phase 4: kafka $written != file $(wc -l <"$T/p4.jsonl")"
consume term "$T/p4.kafka"
python3 "$T/check.py" exact "$T/p4.kafka" "$T/p4.jsonl" || fail "phase 4: topic check"
echo "ok: SIGTERM mid-stream: $written lines delivered, the same as the file's"

# ---- 4b. kill -9 mid-stream, then restart: at least once - every record is
# in the topic (some twice), the file exactly once
mockcmd topic crash 4
crash_logd() {
	"$LOGD" --in log --run-dir "$T/p4b" --sink "kafka:$BOOT/crash" --sink "file:$T/p4b.jsonl" \
		"${ROOT[@]}" 2>>"$T/p4b.err" &
	pid=$!
}
rm -rf "$T/p4b"; mkdir -p "$T/p4b"
crash_logd
for _ in $(seq 100); do [ -e "$T/p4b/log" ] && break; sleep 0.05; done
# The stream lasts about 4 s whatever N is, so all three kills land in it
# (at 20000 records/s the 20000 of a sanitizer build were over before the
# third, and logd had rightly exited at their end).
"$FEED" --ring "$T/p4b/log" -n $N --rate $((N / 4)) --eof --expect "$T/p4b.exp" >/dev/null &
feed=$!
kills=0
for _ in 1 2 3; do
	sleep 0.7
	kill -9 $pid 2>/dev/null && kills=$((kills + 1))
	wait $pid 2>/dev/null || true
	crash_logd
done
[ $kills -ge 2 ] || fail "phase 4b: only $kills of the kills found logd running mid-stream"
wait_for $feed 120; feed=
wait_for $pid 120; pid=
[ $rc = 0 ] || fail "phase 4b: restarted logd exited $rc"
"$FEED" --verify "$T/p4b.jsonl" --expect "$T/p4b.exp" >/dev/null || fail "phase 4b: file not exactly once"
consume crash "$T/p4b.kafka"
# (the file, checked exactly once against the feeder's expectations, gives
# the lines byte for byte; the expect file only field by field)
python3 - "$T/p4b.kafka" "$T/p4b.jsonl" <<'EOF' || fail "phase 4b: records lost across kill -9"
import sys
data, i, vals = open(sys.argv[1], 'rb').read(), 0, []
while i < len(data):  # partition:keylen:key vallen:value\n
    j = data.index(b':', i); j = data.index(b':', j + 1); klen = int(data[i:j].split(b':')[1])
    i = j + 1 + max(klen, 0); j = data.index(b':', i); vlen = int(data[i:j]); vals.append(data[j + 1:j + 1 + vlen])
    i = j + 2 + vlen
want = open(sys.argv[2], 'rb').read().split(b'\n')[:-1]
missing = set(want) - set(vals)
assert not missing, ('%d records never reached the topic' % len(missing), sorted(missing)[:1])
assert set(vals) <= set(want), 'unknown records in the topic'
print('kill -9: %d lines, %d messages, %d sent again after a restart' % (len(want), len(vals), len(vals) - len(set(vals))))
EOF
echo "ok: kill -9 three times mid-stream: every record in the topic at least once, the file exactly once"

# ---- 5. valgrind
if ! command -v valgrind >/dev/null; then
	echo "SKIP valgrind is not installed: phase 5 not run"
	exit 0
fi
# Not `ldd | grep -q`: grep -q exits at the first match, ldd then dies of
# SIGPIPE on its next write, and pipefail makes the pipeline false, so about
# one run in 300 put the ASan build under valgrind (which aborts it).
if grep -q "libasan\|libtsan" <<<"$(ldd "$LOGD")"; then
	echo "SKIP $LOGD is built with a sanitizer, which valgrind cannot run: phase 5 not run"
	exit 0
fi
# librdkafka initialises Cyrus SASL once per process (sasl_client_init, which
# loads its plugins) and nothing ever frees it: still reachable, allocated
# under rd_kafka_new.  Only that is suppressed.
cat >"$T/rdkafka.supp" <<'EOF'
{
   librdkafka-sasl-global-init
   Memcheck:Leak
   match-leak-kinds: reachable
   ...
   fun:sasl_client_init
   obj:*/librdkafka.so*
   fun:rd_kafka_new
}
EOF
rm -rf "$T/p5"; mkdir -p "$T/p5"
"$FEED" --ring "$T/p5/log" -n 3000 --eof --expect "$T/p5.exp" >/dev/null
# --fair-sched: valgrind runs one thread at a time, and its default lock lets
# logd's loop (awake every millisecond while messages are out) starve
# librdkafka's threads until every message times out.
valgrind --error-exitcode=99 --fair-sched=yes --num-callers=40 --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
	--suppressions="$T/rdkafka.supp" --log-file="$T/vg.log" \
	"$LOGD" --in log --run-dir "$T/p5" --sink "kafka:$BOOT/vg,wait=3600" --sink "file:$T/p5.jsonl" "${ROOT[@]}" \
	2>"$T/p5.err" || fail "valgrind: logd exited $? ($(grep -m5 "ERROR SUMMARY\|definitely\|reachable" "$T/vg.log"))"
grep -q "ERROR SUMMARY: 0 errors" "$T/vg.log" || fail "valgrind found errors: $(grep -m3 SUMMARY "$T/vg.log")"
[ "$(sink_counter "$T/p5.err" kafka: lines_written)" = "$(wc -l <"$T/p5.jsonl")" ] ||
	fail "valgrind: delivered $(sink_counter "$T/p5.err" kafka: lines_written) != $(wc -l <"$T/p5.jsonl")"
consume vg "$T/p5.kafka"
python3 "$T/check.py" exact "$T/p5.kafka" "$T/p5.jsonl" >/dev/null || fail "phase 5: topic check"
grep -q "definitely lost: 0 bytes\|All heap blocks were freed" "$T/vg.log" || fail "valgrind: leaks"
echo "ok: valgrind: $(grep -o "ERROR SUMMARY: [0-9]* errors" "$T/vg.log"), leaks: none," \
	"$(grep -o "suppressed: [0-9,]* bytes in [0-9]* blocks" "$T/vg.log" | head -1) (librdkafka's SASL init)"

# The other exit: SIGTERM with every broker down, so the drain gives up
# (after 10 s) with messages still out: they are counted dropped, purged,
# and the ring keeps their records for the next logd.
mockcmd down -1
rm -rf "$T/p6"; mkdir -p "$T/p6"
"$FEED" --ring "$T/p6/log" -n 300 --expect "$T/p6.exp" >/dev/null
valgrind --error-exitcode=99 --fair-sched=yes --num-callers=40 --leak-check=full --show-leak-kinds=all \
	--errors-for-leak-kinds=all --suppressions="$T/rdkafka.supp" --log-file="$T/vg6.log" \
	"$LOGD" --in log --run-dir "$T/p6" --sink "kafka:$BOOT/vg" "${ROOT[@]}" 2>"$T/p6.err" &
pid=$!
sleep 4
kill -TERM $pid
wait_for $pid 60; pid=
mockcmd up -1
[ $rc = 0 ] || fail "valgrind, SIGTERM with brokers down: exited $rc ($(grep -m3 "ERROR SUMMARY\|definitely\|reachable" "$T/vg6.log"))"
lines=$(wc -l <"$T/p6.exp")
[ "$(sink_counter "$T/p6.err" kafka: lines_dropped)" = "$lines" ] || fail "valgrind: not all $lines counted dropped"
grep -q "a restarted logd sends their records again" "$T/p6.err" || fail "no warning about messages left out"
echo "ok: valgrind, SIGTERM with every broker down: $(grep -o "ERROR SUMMARY: [0-9]* errors" "$T/vg6.log"), $lines lines counted dropped"
