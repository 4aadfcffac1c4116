#!/usr/bin/env bash
# Bad command lines and bad inputs: one clear line on stderr and a defined
# exit code (2 for usage, 1 for an unusable input), never a crash.
. "$(dirname "$0")/lib.sh"

expect() { # code, what-the-message-says, command...
	local code=$1 says=$2; shift 2
	local rc=0
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
	[ "$rc" -eq "$code" ] || { cat "$TMP/err"; fail "'$*' exited $rc, expected $code"; }
	grep -q -- "$says" "$TMP/err" || { cat "$TMP/err"; fail "'$*': message lacks '$says'"; }
	[ "$(wc -l <"$TMP/err")" -eq 1 ] || { cat "$TMP/err"; fail "'$*': more than one line on stderr"; }
	ok "$(basename "$1") ${*:2} -> $rc"
}
B=$DNSTRAIL_BIN
for s in capd decoded correlated logd ctl; do
	expect 2 "unknown option" "$B/dnstrail-$s" --no-such-option
	"$B/dnstrail-$s" --version | grep -qx "dnstrail-$s $(cat "$TOP/VERSION")" || fail "$s --version"
done
expect 2 "exactly one of -r FILE or -i IFACE" "$B/dnstrail-capd"
expect 2 "invalid value 'x' for --decoders" "$B/dnstrail-capd" -r x --decoders x
expect 2 "invalid value '0' for --decoders" "$B/dnstrail-capd" -r x --decoders 0
expect 2 "invalid value '100000' for --ports" "$B/dnstrail-capd" -r x --ports 100000
expect 2 "invalid value '3000' for --ring-size" "$B/dnstrail-capd" -r x --ring-size 3000
expect 2 "bad filter" "$B/dnstrail-capd" -r "$TOP/tests/data/demo.pcap" -f "port port" --run-dir "$RUN" --allow-root
expect 1 "cannot read capture" "$B/dnstrail-capd" -r "$TMP/missing.pcap" --run-dir "$RUN"
expect 1 "does not exist" "$B/dnstrail-capd" -i nosuchif0 --run-dir "$RUN"
expect 2 "invalid value '-1' for --query-timeout" "$B/dnstrail-correlated" --query-timeout -1
expect 2 "invalid value 'soon' for --dedup" "$B/dnstrail-correlated" --dedup soon
expect 2 "invalid value 'question' for --sections" "$B/dnstrail-correlated" --sections question
expect 2 "invalid value 'lots' for --tcp-flows" "$B/dnstrail-decoded" --tcp-flows lots
expect 2 "needs a value" "$B/dnstrail-decoded" --in
expect 2 "unknown command" "$B/dnstrail-ctl" frobnicate

# The launcher.
expect 2 "give -r FILE or -i IFACE" "$DNSTRAIL"
expect 2 "unknown option '--bogus'" "$DNSTRAIL" -r x --bogus
expect 1 "does not exist" "$DNSTRAIL" -r "$TMP/missing.pcap"
expect 1 "interface nosuchif0 does not exist" "$DNSTRAIL" -i nosuchif0
expect 2 "invalid value 'many' for --decoders" "$DNSTRAIL" -r "$TOP/tests/data/demo.pcap" --decoders many
expect 2 "invalid value 'xml' for --format" "$DNSTRAIL" -r "$TOP/tests/data/demo.pcap" --format xml
"$DNSTRAIL" --version | grep -qx "dnstrail $(cat "$TOP/VERSION")" || fail "dnstrail --version"
ok "versions agree"

# A capture we cannot decode, and a damaged one.
printf 'not a pcap at all\n' >"$TMP/junk.pcap"
expect 1 "cannot read capture" "$B/dnstrail-capd" -r "$TMP/junk.pcap" --run-dir "$RUN" --allow-root
