#!/usr/bin/env bash
# logd_sighup.sh - logrotate style: while records flow, mv the file away and
# send SIGHUP, twice.  The moved files and the new one together hold every
# line exactly once, in order, each ending on a whole line; logd counts two
# reopens.  Then SIGUSR1 logs the counters, and SIGTERM drains and exits 0.
. "$(dirname "$0")/logd_lib.sh"
mkdir -p "$T/run"

"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/out" "${ROOT[@]}" 2>"$T/logd.err" &
pid=$!
for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done
# ~4.5 s of records at 10000/s; the file is moved at ~1.5 s and ~3 s
"$FEED" --ring "$T/run/log" -n 45000 --rate 10000 --expect "$T/exp" >/dev/null &
feed=$!
sleep 1.5
mv "$T/out" "$T/out.old1"
kill -HUP $pid
sleep 1.5
mv "$T/out" "$T/out.old2"
kill -HUP $pid
wait $feed || fail "feeder failed"
feed=
sleep 0.5
kill -USR1 $pid
for _ in $(seq 100); do grep -q "counters:" "$T/logd.err" && break; sleep 0.05; done
grep -q "counters:" "$T/logd.err" || fail "no counters logged on SIGUSR1"
kill -TERM $pid
wait $pid || fail "logd exited $? after SIGTERM"
pid=

for f in out.old1 out.old2 out; do
	[ -s "$T/$f" ] || fail "$f is empty: the reopen did not happen where expected"
	[ "$(tail -c1 "$T/$f" | od -An -c | tr -d ' ')" = '\n' ] || fail "$f does not end with a whole line"
done
cat "$T/out.old1" "$T/out.old2" "$T/out" >"$T/all"
"$FEED" --verify "$T/all" --expect "$T/exp" || fail "lines lost or repeated across reopens"
[ "$(counter "$T/logd.err" reopens)" = 2 ] || fail "reopens != 2"
echo "ok: two logrotate-style reopens, $(wc -l <"$T/all") lines exactly once"
