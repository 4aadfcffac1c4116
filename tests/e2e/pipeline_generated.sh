#!/usr/bin/env bash
# The whole pipeline on generated traffic (issue 2's definition of done):
# exactly the generator's record count, every line valid JSON with the
# DESIGN.md fields, and --decoders 3 gives the same multiset of lines, with
# all three rings used and no flow split between decoders.
. "$(dirname "$0")/lib.sh"

gen g --transactions 20000 --tcp 0 --vlan 0
want=$(expected_lines "$TMP/g.counts")

"$DNSTRAIL" -r "$TMP/g.pcap" -w "$TMP/one.jsonl" --dedup off --run-dir "$RUN" 2>"$TMP/one.err" ||
	{ cat "$TMP/one.err"; fail "pipeline exited $?"; }
assert_eq "lines with --decoders 1 (answers+nxdomain+nodata+unanswered)" "$want" "$(wc -l <"$TMP/one.jsonl")"
assert_eq "lines that are valid JSON with the DESIGN fields" "$want" "$(python3 "$TOP/tests/e2e/check_json.py" "$TMP/one.jsonl")"
unans=$(grep -c '"kind":"unanswered"' "$TMP/one.jsonl")
assert_eq "unanswered lines" "$(unanswered_queries "$TMP/g.counts")" "$unans"

"$DNSTRAIL" -r "$TMP/g.pcap" -w "$TMP/three.jsonl" --dedup off --decoders 3 --run-dir "$RUN" 2>"$TMP/three.err" ||
	{ cat "$TMP/three.err"; fail "pipeline with 3 decoders exited $?"; }
sort "$TMP/one.jsonl" >"$TMP/one.sorted"
sort "$TMP/three.jsonl" >"$TMP/three.sorted"
cmp -s "$TMP/one.sorted" "$TMP/three.sorted" || fail "--decoders 3 output differs from --decoders 1 (as multisets)"
ok "--decoders 3 gives the same multiset of $want lines"

# A capture on stdin (-r -), pcap and pcapng, gives what the file gives.
"$DNSTRAIL" -r - -w "$TMP/stdin.jsonl" --dedup off --run-dir "$RUN" <"$TMP/g.pcap" 2>"$TMP/stdin.err" ||
	{ cat "$TMP/stdin.err"; fail "pipeline reading stdin exited $?"; }
cmp -s "$TMP/one.jsonl" "$TMP/stdin.jsonl" || fail "-r - (stdin) output differs from -r FILE"
ok "-r - (a pcap on stdin) gives the same $want lines as -r FILE"
ng=$TOP/tests/data/corpus/zeek_pcapng-multi-interface.pcapng # two interfaces, ns timestamps
"$DNSTRAIL" -r "$ng" -w "$TMP/ng.jsonl" --dedup off --run-dir "$RUN" 2>/dev/null || fail "pipeline on a pcapng file exited $?"
"$DNSTRAIL" -r - -w "$TMP/ngin.jsonl" --dedup off --run-dir "$RUN" <"$ng" 2>/dev/null || fail "pipeline on pcapng from stdin exited $?"
[ -s "$TMP/ng.jsonl" ] || fail "no records from $ng"
cmp -s "$TMP/ng.jsonl" "$TMP/ngin.jsonl" || fail "pcapng on stdin differs from the pcapng file"
ok "a pcapng on stdin gives the same $(wc -l <"$TMP/ng.jsonl") lines as the file"

# Dispatch: run capd and three decoders only, then read what each decoder
# produced from its (unconsumed) output ring.
rm -rf "$RUN"; mkdir -p "$RUN"
root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-root)
for k in 0 1 2; do
	"$DNSTRAIL_BIN/dnstrail-decoded" --in cap.$k --out dec.$k --run-dir "$RUN" "${root[@]}" 2>/dev/null &
done
sleep 0.2
"$DNSTRAIL_BIN/dnstrail-capd" -r "$TMP/g.pcap" --decoders 3 --run-dir "$RUN" "${root[@]}" 2>/dev/null
wait
for k in 0 1 2; do
	"$DNSTRAIL_BIN/dnstrail-ctl" dump dec.$k --run-dir "$RUN" >"$TMP/dec.$k.txt"
done
python3 - "$TMP" <<'PY'
import re, sys
tmp = sys.argv[1]
pat = re.compile(r" (udp|tcp) (\S+):\d+ > (\S+):\d+ ")
owner, sizes = {}, []
for k in range(3):
    n = 0
    for line in open("%s/dec.%d.txt" % (tmp, k)):
        m = pat.search(line)
        if not m:
            continue
        n += 1
        pair = tuple(sorted((m.group(2), m.group(3))))
        if owner.setdefault(pair, k) != k:
            sys.exit("FAIL: flow %s seen in dec.%d and dec.%d" % (pair, owner[pair], k))
    sizes.append(n)
if min(sizes) == 0:
    sys.exit("FAIL: a decoder got no traffic: %s" % sizes)
print("ok: messages per decoder %s, %d flows, none split" % (sizes, len(owner)))
PY
