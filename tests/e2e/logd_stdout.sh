#!/usr/bin/env bash
# logd_stdout.sh - the stdout sink: to a file and through a pipe, exact
# lines in json and passivedns; a stdout whose reader went away (EPIPE) is
# a counted sink failure, not a crash; a reader that stops reading makes
# the sink drop after stall= instead of holding the ring, and another sink
# keeps every line.
. "$(dirname "$0")/logd_lib.sh"
counter() { grep "sink $2" "$1" | grep -o " $3=[0-9]*" | tail -1 | cut -d= -f2; }
feed() { rm -rf "$T/run"; mkdir -p "$T/run"; "$FEED" --ring "$T/run/log" --eof "$@" >/dev/null; }

# ---- 1. into a file, then through a pipe
feed -n 50000 --expect "$T/exp"
"$LOGD" --in log --run-dir "$T/run" --sink stdout "${ROOT[@]}" >"$T/out" 2>"$T/e1" || fail "logd exited $?"
"$FEED" --verify "$T/out" --expect "$T/exp" || fail "stdout to a file differs"
feed -n 50000 --format passivedns --expect "$T/exp.p"
"$LOGD" --in log --run-dir "$T/run" --sink stdout,size=64K --format passivedns "${ROOT[@]}" \
	2>"$T/e2" | cat >"$T/out.p"
[ "${PIPESTATUS[0]}" = 0 ] || fail "logd into a pipe exited ${PIPESTATUS[0]}"
cmp "$T/out.p" "$T/exp.p" || fail "stdout through a pipe differs"
echo "ok: stdout to a file and a pipe, exact"

# ---- 2. the reader goes away: EPIPE is counted, logd finishes the stream
feed -n 20000
"$LOGD" --in log --run-dir "$T/run" --sink stdout "${ROOT[@]}" 2>"$T/e3" | head -c 1000 >/dev/null
[ "${PIPESTATUS[0]}" = 0 ] || fail "logd exited ${PIPESTATUS[0]} after EPIPE"
grep -q "Broken pipe" "$T/e3" || fail "no EPIPE warning"
[ "$(counter "$T/e3" stdout lines_dropped)" -gt 0 ] || fail "EPIPE: nothing counted as dropped"
w=$(counter "$T/e3" stdout lines_written) d=$(counter "$T/e3" stdout lines_dropped)
lines=$(grep -o " lines=[0-9]*" "$T/e3" | cut -d= -f2)
[ $((w + d)) = "$lines" ] || fail "EPIPE: written $w + dropped $d != $lines"
echo "ok: EPIPE counted ($d lines dropped)"

# ---- 3. a reader that never reads: stdout stalls, the file sink gets all
mkfifo "$T/fifo"
exec 7<>"$T/fifo" # held open, never read: writes block once the pipe is full
feed -n 30000 --expect "$T/exp3"
"$LOGD" --in log --run-dir "$T/run" --sink stdout,stall=1,wait=0.2 --sink "file:$T/f3" \
	"${ROOT[@]}" >"$T/fifo" 2>"$T/e4" &
pid=$!
for _ in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
	fail "logd did not finish with a stalled stdout (stderr: $(tail -3 "$T/e4"))"
fi
set +e; wait $pid; rc=$?; set -e
pid=
exec 7>&-
[ $rc = 0 ] || fail "logd exited $rc with a stalled stdout"
"$FEED" --verify "$T/f3" --expect "$T/exp3" || fail "file sink lost lines while stdout stalled"
grep -Eq "cannot keep up|in flight for more than" "$T/e4" || fail "no warning about the stalled sink"
[ "$(counter "$T/e4" stdout lines_dropped)" -gt 0 ] || fail "stalled stdout dropped nothing"
echo "ok: stalled stdout dropped $(counter "$T/e4" stdout lines_dropped) lines, the file sink none"
