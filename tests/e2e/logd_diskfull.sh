#!/usr/bin/env bash
# logd_diskfull.sh - a file sink on a 2 MB tmpfs that fills up: logd keeps
# running, drops and counts whole batches (written + dropped == offered),
# never leaves a partial line, and writes again once space is freed.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DNSTRAIL_BIN:=$PWD/bin}" "${DNSTRAIL_BUILD:=$PWD/build}"
LOGD=$DNSTRAIL_BIN/dnstrail-logd FEED=$DNSTRAIL_BUILD/tests/txn_feed
if [ "$(id -u)" != 0 ]; then
	echo "SKIP logd_diskfull: mounting a small tmpfs needs root"
	exit 0
fi
T=$(mktemp -d /dev/shm/logd-full.XXXXXX)
pid=
cleanup() {
	local rc=$?
	set +e # a failing step here must not cut the cleanup short
	# wait for logd to be gone: it holds a file on the mount
	[ -n "$pid" ] && { kill -9 $pid; wait $pid; } 2>/dev/null
	umount "$T/mnt" 2>/dev/null || true
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$T/run" "$T/mnt"
mount -t tmpfs -o size=2m tmpfs "$T/mnt" || { echo "SKIP logd_diskfull: cannot mount tmpfs"; exit 0; }
dd if=/dev/zero of="$T/mnt/filler" bs=64k count=20 status=none # 1.25 MB of the 2

# Latest counters of the sink: "written dropped", fresh from SIGUSR1.
totals() {
	local before
	before=$(grep -c "^dnstrail-logd: sink " "$T/logd.err" || true)
	kill -USR1 $pid
	for _ in $(seq 200); do
		[ "$(grep -c "^dnstrail-logd: sink " "$T/logd.err" || true)" -gt "$before" ] && break
		sleep 0.02
	done
	grep "^dnstrail-logd: sink " "$T/logd.err" | tail -1 |
		sed 's/.* lines_written=\([0-9]*\) .* lines_dropped=\([0-9]*\) .*/\1 \2/'
}

"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/mnt/out" --allow-root 2>"$T/logd.err" &
pid=$!
for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done

# phase 1: ~7 MB of lines into ~0.75 MB of space
out1=$("$FEED" --ring "$T/run/log" -n 10000 --expect "$T/exp1")
want1=$(echo "$out1" | sed 's/.*lines=\([0-9]*\).*/\1/')
for _ in $(seq 100); do
	read -r w d < <(totals)
	[ $((w + d)) = "$want1" ] && break
	sleep 0.1
done
[ $((w + d)) = "$want1" ] || fail "phase 1: written $w + dropped $d != offered $want1"
[ "$d" -gt 0 ] || fail "phase 1: nothing dropped on a full disk"
kill -0 $pid || fail "logd died on a full disk"
lines1=$(wc -l <"$T/mnt/out")
[ "$lines1" = "$w" ] || fail "phase 1: file has $lines1 lines, logd says $w written"
echo "ok: disk full: $w lines written, $d dropped, logd running"

# phase 2: free space, feed slowly (6 s, longer than the longest backoff)
rm "$T/mnt/filler"
out2=$("$FEED" --ring "$T/run/log" --start 10000 -n 6000 --rate 1000 --eof --expect "$T/exp2")
want2=$(echo "$out2" | sed 's/.*lines=\([0-9]*\).*/\1/')
wait $pid || fail "logd exited $?"
pid=
read -r w d < <(grep "^dnstrail-logd: sink " "$T/logd.err" | tail -1 |
	sed 's/.* lines_written=\([0-9]*\) .* lines_dropped=\([0-9]*\) .*/\1 \2/')
[ $((w + d)) = $((want1 + want2)) ] || fail "written $w + dropped $d != offered $((want1 + want2))"
lines=$(wc -l <"$T/mnt/out")
[ "$lines" = "$w" ] || fail "file has $lines lines, logd says $w written"
[ "$lines" -gt "$lines1" ] || fail "nothing written after space was freed"
[ "$(tail -c1 "$T/mnt/out" | od -An -c | tr -d ' ')" = '\n' ] || fail "partial last line"
cat "$T/exp1" "$T/exp2" >"$T/exp"
"$FEED" --verify "$T/mnt/out" --expect "$T/exp" --subsequence || fail "file is not whole expected lines"
grep -Eq "No space left on device|disk full" "$T/logd.err" || fail "no disk-full warning"
grep -q "writing again" "$T/logd.err" || fail "no recovery message"
echo "ok: space freed: $((lines - lines1)) more lines; $w written + $d dropped == $((want1 + want2)) offered"
