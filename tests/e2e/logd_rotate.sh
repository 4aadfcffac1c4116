#!/usr/bin/env bash
# logd_rotate.sh - file rotation: by size with max-files (the newest files
# kept, each within max-size, together the exact tail of the stream), with
# gzip (compressed by the child, same content), and by time (every line
# exactly once across all files, none lost at a rotation).
. "$(dirname "$0")/logd_lib.sh"

# ---- 1. by size: max-size=1M, max-files=3
mkdir -p "$T/run" "$T/s"
"$FEED" --ring "$T/run/log" -n 20000 --eof --expect "$T/exp" >/dev/null
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/s/out,max-size=1M,max-files=3" "${ROOT[@]}" \
	2>"$T/s.err" || fail "logd exited $?"
ls "$T/s" >"$T/s.list"
[ "$(cat "$T/s.list" | tr '\n' ' ')" = "out out.1 out.2 out.3 " ] || fail "files: $(cat "$T/s.list")"
for f in out out.1 out.2 out.3; do
	size=$(stat -c %s "$T/s/$f")
	[ "$size" -le 1048576 ] || fail "$f is $size bytes, over max-size"
	[ "$(tail -c1 "$T/s/$f" | od -An -c | tr -d ' ')" = '\n' ] || fail "$f does not end with a whole line"
done
for f in out.1 out.2 out.3; do
	# a file is rotated before the write that would overflow it, and writes
	# are at most one batch (256K) or max-size/16: at least 3/4 full
	[ "$(stat -c %s "$T/s/$f")" -ge 786432 ] || fail "$f is much smaller than max-size: rotated too early"
done
cat "$T/s/out.3" "$T/s/out.2" "$T/s/out.1" "$T/s/out" >"$T/s.all"
kept=$(wc -l <"$T/s.all")
tail -n "$kept" "$T/exp" >"$T/exp.tail"
"$FEED" --verify "$T/s.all" --expect "$T/exp.tail" || fail "kept files are not the tail of the stream"
total=$(wc -c <"$T/exp")
rot=$(counter "$T/s.err" rotations)
[ "$rot" -ge $((total / 1048576)) ] || fail "only $rot rotations for $total bytes"
echo "ok: size rotation, $rot rotations, newest 3 kept, each <= 1M, exact tail ($kept lines)"

# ---- 2. the same with gzip: decompressed, the kept files are still the
# exact tail of the stream (where rotations fall depends on batch timing)
mkdir -p "$T/z"
rm -rf "$T/run"; mkdir -p "$T/run"
"$FEED" --ring "$T/run/log" -n 20000 --eof >/dev/null
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/z/out,max-size=1M,max-files=3,gzip" \
	"${ROOT[@]}" 2>"$T/z.err" || fail "logd (gzip) exited $?"
[ "$(ls "$T/z" | tr '\n' ' ')" = "out out.1.gz out.2.gz out.3.gz " ] || fail "gzip files: $(ls "$T/z")"
[ "$(counter "$T/z.err" compress_failures)" = 0 ] || fail "compress_failures"
{ for k in 3 2 1; do gzip -dc "$T/z/out.$k.gz"; done; cat "$T/z/out"; } >"$T/z.all"
kept=$(wc -l <"$T/z.all")
tail -n "$kept" "$T/exp" >"$T/exp.tail"
"$FEED" --verify "$T/z.all" --expect "$T/exp.tail" || fail "gzip'ed files are not the tail of the stream"
[ "$kept" -gt $((3 * 2400)) ] || fail "only $kept lines kept in 4 files of ~1M"
echo "ok: gzip rotation"

# ---- 2b. a crash left out.2 uncompressed and a temporary file behind: the
# next logd finishes the job
gzip -dc "$T/z/out.2.gz" >"$T/z/out.2" && rm "$T/z/out.2.gz"
cp "$T/z/out.2" "$T/z2.ref"
echo junk >"$T/z/out.gz-tmp.99"
# no new records: a write could rotate (the current file may be past 1M,
# rotation waits while 4 compressions run) and renumber the files
"$FEED" --ring "$T/run/log" --start 20000 -n 0 --eof >/dev/null
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/z/out,max-size=1M,max-files=3,gzip" \
	"${ROOT[@]}" 2>"$T/z2.err" || fail "logd (gzip sweep) exited $?"
[ "$(ls "$T/z" | tr '\n' ' ')" = "out out.1.gz out.2.gz out.3.gz " ] || fail "after sweep: $(ls "$T/z")"
gzip -dc "$T/z/out.2.gz" | cmp -s - "$T/z2.ref" || fail "swept out.2.gz differs"
echo "ok: leftover uncompressed file and temporary file handled after a crash"

# ---- 2c. a crash between two renames of a rotation left a gap (out.1
# missing): the next rotation fills it instead of carrying it on, so the
# numbers stay contiguous and nothing beyond the gap is pushed out early
mkdir -p "$T/g"
rm -rf "$T/run"; mkdir -p "$T/run"
echo old3 >"$T/g/out.3"; echo old2 >"$T/g/out.2"
"$FEED" --ring "$T/run/log" -n 2000 --eof --expect "$T/exp.g" >/dev/null
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/g/out,max-size=1M,max-files=4" \
	"${ROOT[@]}" 2>"$T/g.err" || fail "logd (gap) exited $?"
[ "$(counter "$T/g.err" rotations)" = 1 ] || fail "expected 1 rotation, got $(counter "$T/g.err" rotations)"
[ "$(ls "$T/g" | tr '\n' ' ')" = "out out.1 out.2 out.3 " ] || fail "after gap: $(ls "$T/g")"
[ "$(cat "$T/g/out.2")$(cat "$T/g/out.3")" = old2old3 ] || fail "files beyond the gap were moved"
cat "$T/g/out.1" "$T/g/out" >"$T/g.all"
"$FEED" --verify "$T/g.all" --expect "$T/exp.g" || fail "gap rotation lost or repeated lines"
echo "ok: a gap left by a crash mid-rotation is filled by the next rotation"

# ---- 3. by time: rotate-every=1 while records trickle in for ~4 s
mkdir -p "$T/t"
rm -rf "$T/run"; mkdir -p "$T/run"
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/t/out,rotate-every=1,max-files=100" \
	"${ROOT[@]}" 2>"$T/t.err" &
pid=$!
for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done
"$FEED" --ring "$T/run/log" -n 8000 --rate 2000 --eof --expect "$T/exp.t" >/dev/null
wait $pid || fail "logd (time) exited $?"
pid=
n=$(ls "$T/t" | wc -l)
[ "$n" -ge 3 ] || fail "only $n files after ~4 s with rotate-every=1"
: >"$T/t.all"
for k in $(seq $((n - 1)) -1 1); do cat "$T/t/out.$k" >>"$T/t.all"; done
cat "$T/t/out" >>"$T/t.all"
"$FEED" --verify "$T/t.all" --expect "$T/exp.t" || fail "time rotation lost or repeated lines"
echo "ok: time rotation into $n files, every line exactly once"
