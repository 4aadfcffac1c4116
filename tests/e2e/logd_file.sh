#!/usr/bin/env bash
# logd_file.sh - logd end to end into file sinks: 200000 transactions fed by
# txn_feed must come out as exactly the expected lines (parsed back with
# json-c by txn_feed --verify and with python's json.loads, field by field
# and in field order), in every format, to two sinks at once; counters
# must add up; bad command lines exit 2 with one line.
. "$(dirname "$0")/logd_lib.sh"

# ---- 1. json, 200000 transactions, two file sinks, logd started first
N=200000
[ -n "${DNSTRAIL_SLOW:-}" ] && N=100000 # sanitizer builds
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/a.jsonl" --sink "file:$T/b.jsonl,size=64M" \
	"${ROOT[@]}" 2>"$T/logd.err" &
pid=$!
for _ in $(seq 100); do [ -e "$T/run/log" ] && break; sleep 0.05; done
"$FEED" --ring "$T/run/log" -n $N --eof --expect "$T/exp.jsonl" >"$T/feed.out"
wait $pid || fail "logd exited $? (stderr: $(cat "$T/logd.err"))"
pid=
lines=$(sed -n 's/.*lines=\([0-9]*\).*/\1/p' "$T/feed.out")
[ "$(wc -l <"$T/exp.jsonl")" = "$lines" ] || fail "feeder wrote an inconsistent expect file"
[ "$(wc -l <"$T/a.jsonl")" = "$lines" ] || fail "a.jsonl has $(wc -l <"$T/a.jsonl") lines, want $lines"
"$FEED" --verify "$T/a.jsonl" --expect "$T/exp.jsonl" || fail "a.jsonl differs"
cmp -s "$T/a.jsonl" "$T/b.jsonl" || fail "the two sinks differ"
python3 - "$T/a.jsonl" "$T/exp.jsonl" <<'EOF' || fail "python check"
import json, sys
got = open(sys.argv[1], 'rb').read().split(b'\n')
want = open(sys.argv[2], 'rb').read().split(b'\n')
assert got[-1] == b'' and len(got) == len(want), (len(got), len(want))
for i, (g, w) in enumerate(zip(got[:-1], want[:-1])):
    dg = json.loads(g.decode('utf-8'))  # strict UTF-8: invalid bytes would raise
    dw = json.loads(w.decode('utf-8'))
    assert list(dg.items()) == list(dw.items()), (i + 1, g[:300], w[:300])
print("python: %d lines equal field by field" % (len(got) - 1))
EOF
[ "$(counter "$T/logd.err" records_read)" = $N ] || fail "records_read != $N"
[ "$(grep -c "lines_written=$lines " "$T/logd.err")" = 2 ] || fail "lines_written != $lines for both sinks"
[ "$(grep -c " lines_dropped=0 " "$T/logd.err")" = 2 ] || fail "a sink dropped lines"
echo "ok: $N transactions, $lines lines, exact in both sinks"

# ---- 2. transaction and passivedns formats, with a sensor
for fmt in transaction passivedns; do
	rm -rf "$T/run"; mkdir -p "$T/run"
	"$FEED" --ring "$T/run/$fmt" -n 30000 --eof --expect "$T/exp.$fmt" --format $fmt \
		--sensor 'probe "7"' >/dev/null
	"$LOGD" --in "$fmt" --run-dir "$T/run" --sink "file:$T/out.$fmt" --format $fmt \
		--sensor 'probe "7"' "${ROOT[@]}" 2>"$T/logd.$fmt.err" || fail "logd --format $fmt"
	"$FEED" --verify "$T/out.$fmt" --expect "$T/exp.$fmt" --format $fmt || fail "$fmt output differs"
done
cmp -s "$T/out.passivedns" "$T/exp.passivedns" || fail "passivedns not byte-identical"
echo "ok: transaction and passivedns formats"

# ---- 3. bad input records are counted and skipped, valid ones still written
# (a ring of another kind is refused with exit 3)
rm -rf "$T/run"; mkdir -p "$T/run"
"$FEED" --ring "$T/run/log" -n 10 --eof >/dev/null
python3 - "$T/run/log" <<'EOF'
import struct, sys
# Corrupt the kind byte of the first record's rec_txn (offset 16 in the
# payload, after the 8-byte ring header) so rec_txn_check rejects it.
f = open(sys.argv[1], 'r+b'); f.seek(4096 + 8 + 16); f.write(bytes([9])); f.close()
EOF
"$LOGD" --in log --run-dir "$T/run" --sink "file:$T/bad.jsonl" "${ROOT[@]}" 2>"$T/bad.err" ||
	fail "logd on a ring with a bad record exited $?"
[ "$(counter "$T/bad.err" records_invalid)" = 1 ] || fail "records_invalid != 1"
[ "$(counter "$T/bad.err" records_read)" = 9 ] || fail "records_read != 9"
grep -q "skipping an invalid record" "$T/bad.err" || fail "no warning for the invalid record"
echo "ok: invalid record counted and skipped"

# ---- 4. usage errors: one line, exit 2
for args in "--in log" "--in log --sink bogus:x" "--in log --sink file:$T/x,max-size=1x" \
	"--in log --sink stdout --format xml" "--in log --sink stdout --nope" \
	"--in log --sink stdout --ring-size 100000"; do
	set +e
	# shellcheck disable=SC2086
	"$LOGD" $args --run-dir "$T/run" 2>"$T/usage.err" >/dev/null
	rc=$?
	set -e
	[ $rc = 2 ] || fail "'$args' exited $rc, want 2"
	[ "$(wc -l <"$T/usage.err")" = 1 ] || fail "'$args' printed $(wc -l <"$T/usage.err") lines"
done
echo "ok: usage errors"
