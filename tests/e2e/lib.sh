# lib.sh - shared setup for the end-to-end tests (sourced, not run).
#
# Gives each test a scratch directory (removed on exit, even on failure), a
# run directory under /dev/shm, the binaries, and small assertion helpers.
# A test prints what it checks and exits non-zero on the first failure.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${DNSTRAIL_BIN:=$TOP/bin}" "${DNSTRAIL_BUILD:=$TOP/build}"
export DNSTRAIL_BIN DNSTRAIL_BUILD
DNSTRAIL=$TOP/scripts/dnstrail
GEN=$TOP/scripts/gen_dns_pcap.py
TMP=$(mktemp -d /tmp/dnstrail-e2e.XXXXXX)
chmod 0755 "$TMP" # the stages run as the dnstrail user when we are root
RUN=/dev/shm/dnstrail-e2e.$$
cleanup_hooks=()
on_exit() {
	local rc=$?
	for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
	rm -rf "$TMP" "$RUN"
	exit $rc
}
trap on_exit EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
assert_eq() { # what, expected, actual
	[ "$2" = "$3" ] || fail "$1: expected $2, got $3"
	ok "$1 = $3"
}
# gen NAME ARGS...: write $TMP/NAME.pcap and $TMP/NAME.counts (the generator's JSON)
gen() {
	local name=$1; shift
	python3 "$GEN" "$TMP/$name.pcap" "$@" 2>"$TMP/$name.counts" >/dev/null
}
# gen_cached NAME ARGS...: like gen, but kept in $DNSTRAIL_BUILD/cache (the
# generator is deterministic, and slow for big captures); $TMP/NAME.* link to it.
gen_cached() {
	local name=$1; shift
	local key cache=$DNSTRAIL_BUILD/cache
	key=$(echo "$*" | md5sum | cut -c1-12)
	mkdir -p "$cache"
	if [ ! -s "$cache/$name.$key.counts" ]; then
		python3 "$GEN" "$cache/$name.$key.pcap" "$@" 2>"$cache/$name.$key.counts" >/dev/null
	fi
	ln -sf "$cache/$name.$key.pcap" "$TMP/$name.pcap"
	ln -sf "$cache/$name.$key.counts" "$TMP/$name.counts"
}
# stage_counter ERRFILE NAME: a counter from a stage's exit log ("name=value")
stage_counter() { grep -o "[ :]$2=[0-9]*" "$1" | tail -1 | cut -d= -f2; }
# count FILE KEY: a number from a generator counts file
count() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# Unanswered queries of a generated capture.  Not the generator's own
# "unanswered": that counts transactions, and an unanswered TCP session with
# two pipelined queries leaves two queries without a response.
unanswered_queries() { echo $(( $(count "$1" queries) - $(count "$1" responses) )); }
# Expected json lines for a generated capture with --dedup off.
expected_lines() {
	local c=$1
	echo $(( $(count "$c" answers) + $(count "$c" nxdomain) + $(count "$c" nodata) + $(unanswered_queries "$c") ))
}
