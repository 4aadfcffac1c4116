#!/usr/bin/env bash
# run.sh HARNESS... - run each libFuzzer harness for $FUZZ_SECONDS seconds,
# seeded from tests/data/fuzz/<harness>/ (the regression inputs) and from
# tests/data/fuzz/<harness>-seeds/ when present.  New crashes are written to
# build/fuzz/<harness>-crashes/; copy each one into tests/data/fuzz/<harness>/
# once fixed, so make check replays it.
set -u
cd "$(dirname "$0")/../.."
: "${B:=build}" "${FUZZ_SECONDS:=60}"
rc=0
for h in "$@"; do
	work=$B/fuzz/$h-corpus crashes=$B/fuzz/$h-crashes
	mkdir -p "$work" "$crashes"
	seeds=()
	for d in tests/data/fuzz/$h tests/data/fuzz/$h-seeds; do [ -d "$d" ] && seeds+=("$d"); done
	echo "fuzz: $h for ${FUZZ_SECONDS}s (seeds: ${seeds[*]:-none})"
	if ! "$B/fuzz/$h" -max_total_time="$FUZZ_SECONDS" -artifact_prefix="$crashes/" \
		-print_final_stats=1 "$work" "${seeds[@]}" 2>"$B/fuzz/$h.log"; then
		echo "fuzz: $h FAILED: see $B/fuzz/$h.log and $crashes/"; rc=1
	fi
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "$B/fuzz/$h.log" | sed "s/^/  $h: /"
done
exit $rc
