# logd_lib.sh - shared setup of the logd end-to-end tests (sourced).
#
# Gives LOGD and FEED (tests/helpers/txn_feed), ROOT (--allow-root when
# root), a scratch directory T under /dev/shm named after the test, and a
# cleanup that kills the logd ($pid) and feeder ($feed) a test started
# before removing T.  fail and counter (a counter from a logd log file) as
# every logd test uses them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${DNSTRAIL_BIN:=$PWD/bin}" "${DNSTRAIL_BUILD:=$PWD/build}"
LOGD=$DNSTRAIL_BIN/dnstrail-logd FEED=$DNSTRAIL_BUILD/tests/txn_feed
ROOT=(); [ "$(id -u)" = 0 ] && ROOT=(--allow-root)
T=$(mktemp -d "/dev/shm/$(basename "$0" .sh).XXXXXX")
pid= feed=
logd_cleanup_extra() { :; } # a test may redefine it (unmounts and the like)
cleanup() {
	local rc=$?
	set +e # a failing step here must not cut the cleanup short
	# wait, so nothing still writes into $T (or holds a mount) when it goes
	[ -n "$pid" ] && { kill -9 $pid; wait $pid; } 2>/dev/null
	[ -n "$feed" ] && { kill $feed; wait $feed; } 2>/dev/null
	logd_cleanup_extra
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
counter() { grep -o " $2=[0-9]*" "$1" | tail -1 | cut -d= -f2; } # file, name
