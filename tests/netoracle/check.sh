#!/usr/bin/env bash
# check.sh - netdecode against tshark and against generated traffic.
#
#  1. oracle.py: msgs_dump on every capture of tests/data/corpus compared
#     with its tshark truth file; every difference must be listed in
#     tests/netoracle/exceptions.txt with its reason.
#  2. gen_check.py: scripts/gen_dns_pcap.py writes $GEN_TRANSACTIONS
#     transactions (default 50000) of mixed UDP/TCP/IPv6/VLAN traffic; msgs_dump must
#     give exactly the queries and responses it reports.
#
# Binaries come from $DNSTRAIL_BUILD (default ./build): tests/msgs_dump.
# Exits non-zero on any unexplained difference.
set -u
cd "$(dirname "$0")/../.."
: "${DNSTRAIL_BUILD:=$PWD/build}" "${GEN_TRANSACTIONS:=50000}"
dump=$DNSTRAIL_BUILD/tests/msgs_dump
if [ ! -x "$dump" ]; then
	echo "check.sh: $dump is not built (make test-build)" >&2
	exit 1
fi
rc=0
python3 tests/netoracle/oracle.py --msgs-dump "$dump" --corpus tests/data/corpus \
	--exceptions tests/netoracle/exceptions.txt || rc=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 scripts/gen_dns_pcap.py "$tmp/g.pcap" --transactions "$GEN_TRANSACTIONS" 2>"$tmp/counts.json" || rc=1
"$dump" --stats "$tmp/g.pcap" >"$tmp/msgs.jsonl" 2>"$tmp/stats.json" || rc=1
python3 tests/netoracle/gen_check.py "$tmp/counts.json" "$tmp/msgs.jsonl" "$tmp/stats.json" || rc=1
exit $rc
