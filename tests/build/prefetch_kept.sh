#!/usr/bin/env bash
# prefetch_kept.sh [BINARY] - the correlator's lookahead prefetches are in
# the built binary.  GCC deletes calls to a function whose only effect is a
# prefetch (it finds the function pure), and nothing else would notice: the
# output is the same, only slower.  dedup_prefetch was found compiled to a
# bare ret that way (issue 8, stop 14).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DNSTRAIL_BIN:=$PWD/bin}"
bin=${1:-$DNSTRAIL_BIN/dnstrail-correlated}
command -v objdump >/dev/null || { echo "prefetch_kept: objdump (binutils) is needed" >&2; exit 1; }
asm=$(objdump -d --no-show-raw-insn "$bin")
for f in dedup_prefetch match_prefetch; do
	n=$(awk -v f="<$f>:" '$2 == f {p = 1; next} p && /^$/ {exit} p' <<<"$asm" | grep -cE '\sprefetch(t[012]|nta|w)?\s' || true)
	if [ "$n" -lt 1 ]; then
		echo "FAIL: $f in $bin has no prefetch instruction left"
		exit 1
	fi
	echo "$f: $n prefetch instruction(s)"
done
