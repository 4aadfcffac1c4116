#!/usr/bin/env bash
# Floods: 10 million queries that are never answered, and 1 million answers
# for distinct names with dedup on.  Every table is bounded: memory stays
# within the documented budget and every eviction is counted.
#
# Budgets (peak RSS, which includes the ring pages a stage maps):
#   correlated  rings + 16 MiB + max-pending x 512 B + dedup-max x 512 B
#   decoded     rings + 16 MiB (+ its TCP and fragment caps, unused here)
#   logd        rings + 32 MiB (+ each sink's queue: 4 MiB by default)
# The rings here are 4 MiB each (--ring-size 4M): a stage maps two.
. "$(dirname "$0")/../e2e/lib.sh"
RINGS_KIB=$((2 * 4 * 1024))

rss() { grep "^dnstrail-$2: cpu" "$1" | sed -E 's/.*peak_rss=([0-9]+)KiB.*/\1/'; }
within() { # what rss_kib budget_kib
	# Sanitizer builds (DNSTRAIL_SLOW) hold freed memory in a quarantine and
	# pad every block: their RSS says nothing of the budget.
	if [ -n "${DNSTRAIL_SLOW:-}" ]; then
		echo "SKIP $1: peak RSS $2 KiB not checked in a sanitizer build"
		return
	fi
	[ "$2" -le "$3" ] || fail "$1: peak RSS $2 KiB over its budget of $3 KiB"
	ok "$1: peak RSS $2 KiB <= budget $3 KiB"
}

# 1. Ten million unanswered queries through a 100,000-entry table.
"$DNSTRAIL_BUILD/tests/flood_pcap" "$TMP/q.pcap" 10000000 2>/dev/null
"$DNSTRAIL" -r "$TMP/q.pcap" --sink "file:$TMP/q.out" --format passivedns --max-pending 100000 \
	--ring-size 4M --run-dir "$RUN" 2>"$TMP/q.err" || { tail "$TMP/q.err"; fail "flood exited $?"; }
rm -f "$TMP/q.pcap"
assert_eq "queries seen" 10000000 "$(stage_counter "$TMP/q.err" match.queries)"
assert_eq "evicted from the pending table (counted)" 9900000 "$(stage_counter "$TMP/q.err" match.evicted)"
assert_eq "unanswered, every one logged" 10000000 "$(wc -l <"$TMP/q.out")"
rm -f "$TMP/q.out"
within correlated "$(rss "$TMP/q.err" correlated)" $((RINGS_KIB + 16384 + 100000 * 512 / 1024))
within decoded "$(rss "$TMP/q.err" decoded)" $((RINGS_KIB + 16384))
within logd "$(rss "$TMP/q.err" logd)" $((RINGS_KIB + 32768 + 4096))

# 2. One million answers, every name distinct, dedup on with a
# 100,000-entry cache: evicted entries are written, never lost.
"$DNSTRAIL_BUILD/tests/flood_pcap" "$TMP/a.pcap" 1000000 --answer-every 1 2>/dev/null
"$DNSTRAIL" -r "$TMP/a.pcap" --sink "file:$TMP/a.out" --dedup 3600 --dedup-max 100000 --max-pending 100000 \
	--ring-size 4M --run-dir "$RUN" 2>"$TMP/a.err" || { tail "$TMP/a.err"; fail "dedup flood exited $?"; }
assert_eq "answered" 1000000 "$(stage_counter "$TMP/a.err" match.answered)"
assert_eq "dedup entries evicted (counted)" 900000 "$(stage_counter "$TMP/a.err" dedup.evicted)"
assert_eq "lines (each name once)" 1000000 "$(wc -l <"$TMP/a.out")"
assert_eq "sum of count" 1000000 "$(python3 -c 'import json,sys; print(sum(json.loads(l)["count"] for l in open(sys.argv[1])))' "$TMP/a.out")"
within correlated "$(rss "$TMP/a.err" correlated)" $((RINGS_KIB + 16384 + 100000 * 512 / 1024 + 100000 * 512 / 1024))
