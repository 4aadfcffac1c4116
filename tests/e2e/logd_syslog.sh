#!/usr/bin/env bash
# logd_syslog.sh - the syslog sinks against a real rsyslogd started here
# (own config, work directory, pid file and sockets in a temporary
# directory; no /dev/log, no system rsyslog touched; killed on exit):
#   1. txn_feed -> logd with a file sink, syslog:unix (imuxsock) and
#      syslog:tcp (imtcp, octet counting): rsyslog writes each message's
#      PRI, APP-NAME, PROCID, HOSTNAME, TIMESTAMP and MSG; every MSG must
#      equal the file sink's line, in order, with the configured facility,
#      severity and app-name and the record's time;
#   2. the same while rsyslogd is stopped mid-stream and started again:
#      logd logs the loss and the reconnection once per sink, never exits,
#      the file sink gets every record, each syslog sink accounts for every
#      record (written + dropped = offered), and what rsyslog got is whole
#      expected lines in order (a line twice only if logd counted it as
#      sent again);
#   3. syslog:udp (imudp), paced: exact as in 1;
#   4. bad sink specs exit 2 with one line.
# Without a usable rsyslogd it prints SKIP and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DNSTRAIL_BIN:=$PWD/bin}" "${DNSTRAIL_BUILD:=$PWD/build}"
LOGD=$DNSTRAIL_BIN/dnstrail-logd FEED=$DNSTRAIL_BUILD/tests/txn_feed
ROOT=(); [ "$(id -u)" = 0 ] && ROOT=(--allow-root)
RSYSLOGD=$(command -v rsyslogd || true)
[ -n "$RSYSLOGD" ] || { echo "SKIP logd_syslog: rsyslogd is not installed"; exit 0; }
T=$(mktemp -d /tmp/logd-syslog.XXXXXX) # a short path: unix socket names are limited
chmod 0755 "$T"
pid= feed= rs=
cleanup() {
	local rc=$?
	set +e # a failing step here must not cut the cleanup short
	[ -n "$pid" ] && { kill -9 $pid; wait $pid; } 2>/dev/null
	[ -n "$feed" ] && { kill $feed; wait $feed; } 2>/dev/null
	[ -n "$rs" ] && { kill -9 $rs; wait $rs; } 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
counter() { grep "sink $2" "$1" | grep -o " $3=[0-9]*" | tail -1 | cut -d= -f2; } # file, sink, name
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp_port() { python3 -c 'import socket; s=socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
N=20000
[ -n "${DNSTRAIL_SLOW:-}" ] && N=10000 # sanitizer builds
HOST=$(hostname)
TCP=$(free_port) UDP=$(free_udp_port)
SOCK=$T/log.sock
mkdir -p "$T/rs"
cat >"$T/rs.conf" <<EOF
global(workDirectory="$T/rs" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
module(load="imtcp")
module(load="imudp")
input(type="imuxsock" Socket="$SOCK" UseSpecialParser="off" ParseHostname="on"
      RateLimit.Interval="0" IgnoreTimestamp="off")
input(type="imtcp" port="$TCP" address="127.0.0.1")
input(type="imudp" port="$UDP" address="127.0.0.1" rcvbufSize="32m")
template(name="raw" type="string"
         string="%pri%|%app-name%|%procid%|%hostname%|%timereported:::date-rfc3339%|%msg%\n")
# one file per input and APP-NAME: each phase below uses its own app-names
template(name="out" type="string" string="$T/%inputname%-%app-name%.log")
if \$inputname startswith "im" then { action(type="omfile" dynaFile="out" template="raw") stop }
action(type="omfile" file="$T/rsyslog-internal.log")
EOF
"$RSYSLOGD" -N1 -f "$T/rs.conf" >"$T/rs.check" 2>&1 ||
	{ echo "SKIP logd_syslog: this rsyslogd refuses the test's configuration: $(tail -1 "$T/rs.check")"; exit 0; }

start_rsyslog() {
	"$RSYSLOGD" -n -f "$T/rs.conf" -i "$T/rs.pid" >>"$T/rs.out" 2>&1 &
	rs=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1', $TCP)).close()" \
			2>/dev/null && return 0
		kill -0 $rs 2>/dev/null || break
		sleep 0.05
	done
	return 1
}
stop_rsyslog() {
	kill -TERM $rs
	wait $rs || true
	rs=
}
start_rsyslog || { echo "SKIP logd_syslog: rsyslogd does not start here: $(tail -2 "$T/rs.out" | tr '\n' ' ')"; exit 0; }

# wait_lines FILE N: rsyslog writes asynchronously
wait_lines() {
	for _ in $(seq 300); do
		[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "$1 has $(wc -l <"$1" 2>/dev/null || echo 0) lines, want $2"
}

# check OUT EXPECTED PRI APP PROCID MODE: MODE exact (the same lines in the
# same order) or resumed (whole expected lines, in order, repeats allowed);
# prints "lines distinct repeats"
check() {
	python3 - "$@" "$HOST" <<'EOF'
import sys
out, exp, pri, app, procid, mode, host = sys.argv[1:8]
want = open(exp, 'rb').read().split(b'\n')[:-1]
index = {l: i for i, l in enumerate(want)}
assert len(index) == len(want), "the expected lines are not unique: cannot tell repeats"
got = open(out, 'rb').read().split(b'\n')
assert got[-1] == b'', "rsyslog's output ends with a cut line"
seen, last, repeats = set(), -1, 0
for n, l in enumerate(got[:-1]):
    f = l.split(b'|', 5)
    assert len(f) == 6, (n, l[:200])
    assert f[0] == pri.encode() and f[1] == app.encode() and f[2] == procid.encode(), (n, f[:5])
    assert f[3] == host.encode(), (n, f[3], host)
    i = index.get(f[5])
    assert i is not None, "line %d is not an expected line (cut, or changed): %r" % (n + 1, f[5][:300])
    ts = want[i][11:37] + b'Z'  # tstamp cut to microseconds
    assert f[4] == ts, (n, f[4], ts)
    if i in seen:
        assert mode == 'resumed', "line %d repeats expected line %d" % (n + 1, i + 1)
        repeats += 1
        continue
    assert i > last, "line %d (expected %d) comes after expected line %d: out of order" % (n + 1, i + 1, last + 1)
    if mode == 'exact':
        assert i == last + 1, "expected line %d is missing" % (last + 2)
    seen.add(i)
    last = i
if mode == 'exact':
    assert len(seen) == len(want), (len(seen), len(want))
print(len(got) - 1, len(seen), repeats)
EOF
}

# ---- 1. unix and tcp, exact
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/f1" \
	--sink "syslog:unix:$SOCK,facility=local3,severity=notice,app-name=dnsu" \
	--sink "syslog:tcp:127.0.0.1:$TCP,facility=daemon,severity=warning" "${ROOT[@]}" 2>"$T/logd1.err" &
pid=$!
for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done
"$FEED" --ring "$T/run/log" -n $N --eof --expect "$T/exp1" >"$T/feed1.out"
wait $pid || fail "logd exited $? (stderr: $(tail -3 "$T/logd1.err"))"
procid=$pid pid=
lines=$(wc -l <"$T/exp1")
"$FEED" --verify "$T/f1" --expect "$T/exp1" || fail "file sink differs"
wait_lines "$T/imuxsock-dnsu.log" "$lines"
wait_lines "$T/imtcp-dnstrail.log" "$lines"
r=$(check "$T/imuxsock-dnsu.log" "$T/f1" $((19 * 8 + 5)) dnsu $procid exact) || fail "unix: $r"
r=$(check "$T/imtcp-dnstrail.log" "$T/f1" $((3 * 8 + 4)) dnstrail $procid exact) || fail "tcp: $r"
for s in unix tcp; do
	[ "$(counter "$T/logd1.err" "syslog:$s" lines_written)" = "$lines" ] || fail "$s: lines_written != $lines"
	[ "$(counter "$T/logd1.err" "syslog:$s" lines_dropped)" = 0 ] || fail "$s: lines dropped"
	[ "$(counter "$T/logd1.err" "syslog:$s" stalls)" = 0 ] || fail "$s: a busy receiver counted as a stall"
done
echo "ok: $N transactions, $lines lines: rsyslog got each, in order, over unix and tcp"

# ---- 2. rsyslogd stopped mid-stream and started again
rm -rf "$T/run"
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/f2" --sink "syslog:unix:$SOCK,wait=0.5,app-name=r2" \
	--sink "syslog:tcp:127.0.0.1:$TCP,wait=0.5,app-name=r2" "${ROOT[@]}" 2>"$T/logd2.err" &
pid=$!
for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done
"$FEED" --ring "$T/run/log" -n $N --rate $((N / 4)) --eof --expect "$T/exp2" >"$T/feed2.out" &
feed=$!
sleep 1
stop_rsyslog
sleep 0.7
kill -0 $pid 2>/dev/null || fail "logd exited while rsyslogd was down"
start_rsyslog || fail "rsyslogd did not start again"
wait $feed || fail "feeder failed"
feed=
for _ in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "logd did not finish within 30 s"
wait $pid || fail "logd exited $? (stderr: $(tail -3 "$T/logd2.err"))"
procid=$pid pid=
lines=$(wc -l <"$T/exp2")
"$FEED" --verify "$T/f2" --expect "$T/exp2" || fail "file sink lost records while rsyslogd was down"
sleep 1 # rsyslog's last writes
for s in unix tcp; do
	in=imuxsock; [ $s = tcp ] && in=imtcp
	[ "$(grep "sink syslog:$s" "$T/logd2.err" | grep -c "connection lost")" = 1 ] ||
		fail "$s: the loss was not logged exactly once: $(grep "sink syslog:$s" "$T/logd2.err")"
	[ "$(grep "sink syslog:$s" "$T/logd2.err" | grep -c "reconnected")" = 1 ] ||
		fail "$s: the reconnection was not logged exactly once"
	w=$(counter "$T/logd2.err" "syslog:$s" lines_written) d=$(counter "$T/logd2.err" "syslog:$s" lines_dropped)
	[ $((w + d)) = "$lines" ] || fail "$s: written $w + dropped $d != offered $lines"
	[ "$(counter "$T/logd2.err" "syslog:$s" connects)" = 2 ] || fail "$s: connects != 2"
	r=$(check "$T/$in-r2.log" "$T/f2" 134 r2 $procid resumed) || fail "$s across the restart: $r"
	read -r got distinct repeats <<<"$r"
	requeued=$(counter "$T/logd2.err" "syslog:$s" lines_requeued)
	[ "$repeats" -le "$requeued" ] || fail "$s: $repeats lines twice, but logd sent only $requeued again"
	echo "ok: $s across the restart: logd wrote $w and dropped $d of $lines lines (resent $requeued);" \
		"rsyslog kept $distinct distinct, $repeats twice"
done

# ---- 3. udp, paced (UDP has no flow control: rsyslog must keep up)
U=$((N / 4))
rm -rf "$T/run"
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/f3" --sink "syslog:udp:127.0.0.1:$UDP,app-name=dnsudp" \
	"${ROOT[@]}" 2>"$T/logd3.err" &
pid=$!
for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done
"$FEED" --ring "$T/run/log" -n $U --rate 5000 --eof --expect "$T/exp3" >/dev/null
wait $pid || fail "logd exited $?"
procid=$pid pid=
lines=$(wc -l <"$T/exp3")
wait_lines "$T/imudp-dnsudp.log" "$lines"
r=$(check "$T/imudp-dnsudp.log" "$T/f3" 134 dnsudp $procid exact) || fail "udp: $r"
echo "ok: udp: $U transactions, $lines datagrams, exact"

# ---- 4. bad specs
for spec in "syslog:tcp:127.0.0.1" "syslog:tcp:127.0.0.1:0" "syslog:unix:" "syslog:tls:h:1" \
	"syslog:unix:/x,facility=bogus" "syslog:unix:/x,severity=9" "syslog:unix:/x,app-name=a b" \
	"syslog:unix:/x,tag=t" "syslog:tcp:[::1:514"; do
	set +e
	"$LOGD" --in log --run-dir "$T/run" --sink "$spec" "${ROOT[@]}" >/dev/null 2>"$T/usage.err"
	rc=$?
	set -e
	[ $rc = 2 ] || fail "'$spec' exited $rc, want 2"
	[ "$(wc -l <"$T/usage.err")" = 1 ] || fail "'$spec' printed $(wc -l <"$T/usage.err") lines"
done
echo "ok: bad syslog specs refused"
