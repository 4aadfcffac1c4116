#!/usr/bin/env bash
# logd_kill9.sh - exactly-once across crashes: while txn_feed produces, logd
# is killed with SIGKILL at random moments and restarted, over and over;
# at the end each file sink holds every record exactly once, in order - a
# plain file, and a file rotated by size (so kills also land around
# rotations).  The ring is small (1M) so it wraps and fills while logd is
# down.
. "$(dirname "$0")/logd_lib.sh"
mkdir -p "$T/run" "$T/b"
# Sanitizer builds (DNSTRAIL_SLOW) are slower to catch up after each restart.
if [ -n "${DNSTRAIL_SLOW:-}" ]; then N=80000 RATE=8000; else N=150000 RATE=15000; fi

start_logd() {
	"$LOGD" --in log --run-dir "$T/run" --ring-size 1M --sink "file:$T/a" \
		--sink "file:$T/b/out,max-size=2M,max-files=1000" "${ROOT[@]}" 2>>"$T/logd.err" &
	pid=$!
}

start_logd
for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done
"$FEED" --ring "$T/run/log" -n "$N" --rate "$RATE" --eof --expect "$T/exp" >"$T/feed.out" &
feed=$!
kills=0
while kill -0 $feed 2>/dev/null; do
	sleep "0.$((RANDOM % 45 + 5))"
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	kills=$((kills + 1))
	start_logd
done
wait $feed || fail "feeder failed"
feed=
# The last logd reads to the end of the stream and exits by itself.
for _ in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "logd did not finish the stream within 30 s"
wait $pid || fail "final logd exited $?"
pid=
[ $kills -ge 10 ] || fail "only $kills kills: the feeder ran too briefly"

"$FEED" --verify "$T/a" --expect "$T/exp" || fail "plain file: records lost or repeated"
n=$(ls "$T/b" | wc -l)
# Oldest first.  A kill between the renames of the last rotation may leave
# one number free (the next rotation would fill it), so follow the names.
: >"$T/b.all"
for k in $(ls "$T/b" | sed -n 's/^out\.\([0-9]*\)$/\1/p' | sort -rn); do cat "$T/b/out.$k" >>"$T/b.all"; done
cat "$T/b/out" >>"$T/b.all"
"$FEED" --verify "$T/b.all" --expect "$T/exp" || fail "rotated files: records lost or repeated"
rec=$(grep -c "recovery: removed" "$T/logd.err" || true)
echo "ok: $kills kills with SIGKILL, $(wc -l <"$T/exp") lines exactly once in both sinks" \
	"($n rotated files; $rec truncations of bytes written after the last recorded position)"
