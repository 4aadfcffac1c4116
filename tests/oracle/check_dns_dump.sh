#!/usr/bin/env bash
# check_dns_dump.sh - the tshark oracle for the DNS parser over the whole
# corpus: runs compare_dns_dump.py on every capture of tests/data/corpus that
# has a truth file (the .gz originals are skipped: libpcap does not read gzip,
# their gunzipped copies are compared).  Exits non-zero on any difference not
# listed in tests/oracle/exceptions.txt, or on a stale exception.
# Binaries are taken from $DNSTRAIL_BUILD (default ./build): tests/dns_dump.
set -eu
cd "$(dirname "$0")/../.."
: "${DNSTRAIL_BUILD:=$PWD/build}"
if [ ! -x "$DNSTRAIL_BUILD/tests/dns_dump" ]; then
	echo "check_dns_dump: $DNSTRAIL_BUILD/tests/dns_dump not built (make $DNSTRAIL_BUILD/tests/dns_dump)" >&2
	exit 1
fi
caps=()
for t in tests/data/corpus/*.truth.jsonl; do
	c=${t%.truth.jsonl}
	case $c in *.gz) continue ;; esac
	[ -f "$c" ] && caps+=("$c")
done
exec python3 tests/oracle/compare_dns_dump.py --build "$DNSTRAIL_BUILD" "${caps[@]}"
