#!/usr/bin/env bash
# run.sh - run every test: the Check programs in $DNSTRAIL_BUILD/tests, the
# fuzz regression replays, checks on the built binaries (tests/build), then
# the oracle, end-to-end and fault scripts.
# Prints one line per test and a summary; exits non-zero if any failed.
set -u
cd "$(dirname "$0")/.."
: "${DNSTRAIL_BUILD:=$PWD/build}" "${DNSTRAIL_BIN:=$PWD/bin}"
export DNSTRAIL_BUILD DNSTRAIL_BIN
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-600}
only=${1:-}
pass=0 fail=0 failed=()
run() { # name, command...
	local name=$1; shift
	[ -n "$only" ] && [[ "$name" != *"$only"* ]] && return
	local log="$DNSTRAIL_BUILD/logs/$name.log" t0=$SECONDS
	mkdir -p "$(dirname "$log")"
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1)); printf 'PASS %-40s %4ds\n' "$name" $((SECONDS - t0))
		grep -h '^SKIP' "$log" | sed 's/^/     /'
	else
		fail=$((fail + 1)); failed+=("$name")
		printf 'FAIL %-40s %4ds  (log: %s)\n' "$name" $((SECONDS - t0)) "$log"
		tail -25 "$log" | sed 's/^/     | /'
	fi
}
for t in "$DNSTRAIL_BUILD"/tests/test_*; do
	[ -x "$t" ] && run "unit/$(basename "$t")" "$t"
done
for t in "$DNSTRAIL_BUILD"/tests/replay_*; do
	[ -x "$t" ] || continue
	name=${t##*/replay_}
	dir=tests/data/fuzz/$name
	[ -d "$dir" ] && run "fuzz-replay/$name" "$t" "$dir"
done
for t in tests/build/*.sh; do
	[ -f "$t" ] && run "build/$(basename "$t" .sh)" bash "$t"
done
run oracle/dns-parser bash tests/oracle/check_dns_dump.sh
run oracle/netdecode bash tests/netoracle/check.sh
run oracle/pipeline bash tests/oracle/check_pipeline.sh
for t in tests/e2e/*.sh; do
	case $(basename "$t") in *lib.sh) continue ;; esac # sourced by the others
	[ -f "$t" ] && run "e2e/$(basename "$t" .sh)" bash "$t"
done
for t in tests/faults/*.sh; do
	[ -f "$t" ] && run "faults/$(basename "$t" .sh)" bash "$t"
done
echo "---- $pass passed, $fail failed"
[ $fail -eq 0 ] || { printf '  failed: %s\n' "${failed[@]}"; exit 1; }
