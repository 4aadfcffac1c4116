#!/usr/bin/env bash
# correlated's proofs on generated traffic (issue 4): exact verdict counts,
# sane elapsed times, dedup that accounts for every line, determinism, and
# a query flood that stays within its memory bound.
. "$(dirname "$0")/lib.sh"

gen_cached g200k --transactions 200000
C=$TMP/g200k.counts

# 1. Verdicts, one object per transaction.
"$DNSTRAIL" -r "$TMP/g200k.pcap" -w "$TMP/txn.jsonl" --format transaction --dedup off --run-dir "$RUN" 2>"$TMP/txn.err" ||
	{ cat "$TMP/txn.err"; fail "pipeline exited"; }
python3 - "$TMP/txn.jsonl" "$C" <<'PY'
import json, sys
c = json.load(open(sys.argv[2]))
kinds, bad = {}, []
for line in open(sys.argv[1]):
    o = json.loads(line)
    kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    # The generator draws latencies from [0.5, 60] ms, written with µs precision.
    if o["kind"] == "answered" and not (0 < o["elapsed"] <= 60000000):
        bad.append(o["elapsed"])
def eq(what, want, got):
    if want != got:
        sys.exit("FAIL: %s: expected %s, got %s" % (what, want, got))
    print("ok: %s = %s" % (what, got))
eq("answered transactions (generator responses)", c["responses"], kinds.get("answered", 0))
# Queries without a response; the generator's own "unanswered" counts
# transactions (a pipelined TCP pair left unanswered is one transaction).
eq("unanswered transactions (queries - responses)", c["queries"] - c["responses"], kinds.get("unanswered", 0))
eq("response-only transactions", 0, kinds.get("response-only", 0))
eq("answered elapsed outside (0, 60 ms]", 0, len(bad))
PY

# 2. JSON lines without dedup: all distinct; twice: byte-identical.
"$DNSTRAIL" -r "$TMP/g200k.pcap" -w "$TMP/off.jsonl" --dedup off --run-dir "$RUN" 2>/dev/null || fail "pipeline exited"
want=$(expected_lines "$C")
assert_eq "lines, --dedup off" "$want" "$(wc -l <"$TMP/off.jsonl")"
# Identical lines may only come from identical RRs inside one response (the
# generator repeats a TXT or A record now and then): tshark, as an
# independent oracle, must find exactly as many repeats in those responses.
sort "$TMP/off.jsonl" | uniq -d >"$TMP/dups.jsonl"
extra=$(( $(wc -l <"$TMP/off.jsonl") - $(sort -u "$TMP/off.jsonl" | wc -l) ))
if [ "$extra" -gt 0 ]; then
	ids=$(python3 -c 'import json,sys; print(", ".join(sorted({str(json.loads(l)["query_id"]) for l in open(sys.argv[1])})))' "$TMP/dups.jsonl")
	python3 "$TOP/scripts/truth.py" "$TMP/g200k.pcap" -o "$TMP/dups.truth" -Y "dns.flags.response == 1 && dns.id in {$ids}"
	repeats=$(python3 - "$TMP/dups.truth" "$TOP/tests/oracle" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from truth_rr import truth_rr_to_presentation
n = 0
for line in open(sys.argv[1]):
    m = json.loads(line)
    rrs = [truth_rr_to_presentation(a) for a in m["answers"]]
    n += len(rrs) - len(set(rrs))
print(n)
PY
)
	assert_eq "repeated lines = RRs repeated within a response (tshark)" "$repeats" "$extra"
else
	ok "no repeated lines"
fi
"$DNSTRAIL" -r "$TMP/g200k.pcap" -w "$TMP/off2.jsonl" --dedup off --run-dir "$RUN" 2>/dev/null || fail "pipeline exited"
cmp -s "$TMP/off.jsonl" "$TMP/off2.jsonl" || fail "two runs over the same capture differ"
ok "two runs are byte-identical"
"$DNSTRAIL" -r "$TMP/g200k.pcap" -w "$TMP/off4.jsonl" --dedup off --decoders 4 --run-dir "$RUN" 2>/dev/null || fail "pipeline exited"
cmp -s <(sort "$TMP/off.jsonl") <(sort "$TMP/off4.jsonl") || fail "--decoders 4 differs from --decoders 1"
ok "--decoders 4 gives the same multiset"

# 3. Dedup.  The first sighting of a key is written at once with count 1;
# the window (3600 s) outlasts the capture, so at shutdown every key seen
# again is written once more with the number of repeats.  Hence, per key:
# one line if it was seen once, else exactly two lines, counts 1 and n-1;
# and the counts add up to the lines without dedup.
"$DNSTRAIL" -r "$TMP/g200k.pcap" -w "$TMP/dd.jsonl" --dedup 3600 --run-dir "$RUN" 2>/dev/null || fail "pipeline exited"
"$DNSTRAIL" -r "$TMP/g200k.pcap" -w "$TMP/dd4.jsonl" --dedup 3600 --decoders 4 --run-dir "$RUN" 2>/dev/null || fail "pipeline exited"
python3 - "$TMP/off.jsonl" "$TMP/dd.jsonl" "$TMP/dd4.jsonl" <<'PY'
import collections, json, sys
def key(o):
    if o["rrname"] == "" and o["atype"] == "":
        return (o["q"].lower(), o["qtype"], "-", "U" if o["kind"] == "unanswered" else o["rcode"])
    return (o["q"].lower(), o["qtype"], o["rrname"].lower(), o["atype"], o["a"])
seen = collections.Counter(key(json.loads(l)) for l in open(sys.argv[1]))
total = sum(seen.values())
for path in sys.argv[2:]:
    lines = collections.defaultdict(list)
    for l in open(path):
        o = json.loads(l)
        lines[key(o)].append(o["count"])
    name = path.split("/")[-1]
    if set(lines) != set(seen):
        sys.exit("FAIL: %s: keys differ from the undeduplicated output" % name)
    for k, n in seen.items():
        want = [1] if n == 1 else [1, n - 1]
        if lines[k] != want:
            sys.exit("FAIL: %s: key %s seen %d times, written with counts %s" % (name, k, n, lines[k]))
    written = sum(len(v) for v in lines.values())
    print("ok: %s: %d keys, %d lines (%d keys seen again), sum of count = %d = lines without dedup"
          % (name, len(seen), written, written - len(seen), sum(sum(v) for v in lines.values())))
    if sum(sum(v) for v in lines.values()) != total:
        sys.exit("FAIL: %s: sum of count differs" % name)
PY
cmp -s <(sort "$TMP/dd.jsonl") <(sort "$TMP/dd4.jsonl") || fail "dedup output differs between 1 and 4 decoders"
ok "dedup output identical (as multisets) for 1 and 4 decoders"

# 4. A flood of queries that are never answered, with a small pending table:
# bounded memory, every eviction counted, every query logged as unanswered.
"$DNSTRAIL_BUILD/tests/flood_pcap" "$TMP/flood.pcap" 5000000 2>/dev/null
"$DNSTRAIL" -r "$TMP/flood.pcap" --sink "file:$TMP/flood.out" --format passivedns --max-pending 100000 \
	--ring-size 4M --run-dir "$RUN" 2>"$TMP/flood.err" || { cat "$TMP/flood.err"; fail "flood run exited"; }
grep dnstrail-correlated "$TMP/flood.err"
assert_eq "evicted" 4900000 "$(stage_counter "$TMP/flood.err" match.evicted)"
assert_eq "unanswered" 5000000 "$(stage_counter "$TMP/flood.err" match.unanswered)"
assert_eq "unanswered lines written" 5000000 "$(wc -l <"$TMP/flood.out")"
rss=$(grep dnstrail-correlated "$TMP/flood.err" | grep -o 'peak_rss=[0-9]*' | cut -d= -f2)
[ "$rss" -lt 65536 ] || fail "correlated peak RSS ${rss} KiB >= 64 MiB"
ok "correlated peak RSS ${rss} KiB < 64 MiB (rings of 4 MiB included)"
