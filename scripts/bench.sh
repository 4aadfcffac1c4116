#!/usr/bin/env bash
# bench.sh - dnstrail throughput figures (run by `make bench`).
#
# Each measurement runs BENCH_RUNS times (default 3) and reports the median.
# Results are printed as a table and written to bench/results.json (ignored
# by git).  The machine should be otherwise idle: these are wall-clock rates.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DNSTRAIL_BIN:=$PWD/bin}" "${DNSTRAIL_BUILD:=$PWD/build}" "${BENCH_RUNS:=3}"
mkdir -p bench
RUN=/dev/shm/dnstrail-bench.$$
trap 'rm -rf "$RUN"' EXIT
results=()

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
record() { # name, value, unit
	results+=("{\"name\":\"$1\",\"value\":$2,\"unit\":\"$3\"}")
	printf '%-46s %14s %s\n' "$1" "$2" "$3"
}

# ---- ring: two processes, fixed-size records ----
ring_rate() { # record size, count -> records/s (consumer side)
	local size=$1 n=$2 r=$RUN/ring
	mkdir -p "$RUN"; rm -f "$r"
	"$DNSTRAIL_BUILD/tests/ring_peer" consume "$r" "$n" --sizes "fixed:$size" --capacity 16777216 --stats >"$RUN/c.out" &
	local c=$!
	sleep 0.1
	"$DNSTRAIL_BUILD/tests/ring_peer" produce "$r" "$n" --sizes "fixed:$size" --capacity 16777216 --eof >/dev/null
	wait $c
	awk '/^consume/ {print $2}' "$RUN/c.out"
}
echo "== ring between two processes (16 MiB ring, median of $BENCH_RUNS)"
for size in 64 512; do
	n=$((size == 64 ? 20000000 : 5000000))
	rate=$(for _ in $(seq "$BENCH_RUNS"); do ring_rate "$size" "$n"; done | median)
	record "ring.${size}B.records_per_s" "$rate" "records/s"
	record "ring.${size}B.gbytes_per_s" "$(awk -v r="$rate" -v s="$size" 'BEGIN {printf "%.2f", r * s / 1e9}')" "GB/s"
done

printf '[%s]\n' "$(IFS=,; echo "${results[*]}")" >bench/results.json
echo "written bench/results.json"
