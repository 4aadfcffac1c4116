#!/usr/bin/env bash
# The configuration file: the shipped example lists every option of every
# stage, each with a value its stage accepts; errors name FILE:LINE and exit
# 2; the command line wins over the file; [dnstrail] reaches the stages.
. "$(dirname "$0")/lib.sh"
EX=$TOP/scripts/dnstrail.conf.example
B=$DNSTRAIL_BIN
DEMO=$TOP/tests/data/demo.pcap

# 1. Every option is in the example.
for s in capd decoded correlated logd; do
	for opt in $("$B/dnstrail-$s" --help | sed -nE 's/^ {1,4}(-[a-zA-Z], )?--([a-z][a-z0-9-]*).*/\2/p'); do
		case $opt in
		in|config|check-options|version|help) ;; # given by whoever starts the stage
		*)
			grep -qE "^# $opt = " "$EX" || fail "option --$opt of dnstrail-$s is not in the example" ;;
		esac
	done
done
ok "every stage option has a key in $(basename "$EX")"

# 2. With every line uncommented (but the source), every stage accepts it.
sed -E 's/^# ([a-z-]+ = [^#]*[^# ]) +#.*/\1/' "$EX" | grep -vE '^(read|interface|write|allow-root) = ' >"$TMP/all.conf"
grep -c ' = ' "$TMP/all.conf" >/dev/null
for s in capd decoded correlated logd; do
	args=(); [ $s = capd ] && args=(-r "$DEMO"); [ $s = logd ] && args=(--in log)
	"$B/dnstrail-$s" --config "$TMP/all.conf" --check-options "${args[@]}" 2>"$TMP/err" ||
		{ cat "$TMP/err"; fail "dnstrail-$s refuses the example's values"; }
done
ok "every stage accepts every value of the example"

# 3. Errors name FILE:LINE, exit 2.
expect2() { # config-text message
	printf '%b' "$1" >"$TMP/bad.conf"
	local rc=0
	"$DNSTRAIL" -r "$DEMO" --config "$TMP/bad.conf" --run-dir "$RUN" >/dev/null 2>"$TMP/err" || rc=$?
	[ $rc -eq 2 ] || { cat "$TMP/err"; fail "exit $rc for: $1"; }
	grep -q "$TMP/bad.conf:$2" "$TMP/err" || { cat "$TMP/err"; fail "no '$2' for: $1"; }
	ok "refused with $TMP/bad.conf:$2"
}
expect2 '[dnstrail]\nfrobnicate = 1\n' "2: unknown key 'frobnicate'"
expect2 '[decoded]\ntcp-flows = lots\n' "2: invalid value 'lots' for tcp-flows"
expect2 '# c\n[dnstrail]\nquery-timeout = soon\n' "3: invalid value 'soon' for query-timeout"
expect2 '[logd]\nsensor = a\nsensor = b\n' "3: 'sensor' is already set at line 2"
expect2 '[nosuch]\n' "1: unknown section"
expect2 '[correlated]\nlog-opcodes = maybe\n' "2: 'log-opcodes' is a yes/no setting"
expect2 'decoders = 2\n' "1: setting outside any"
expect2 '[dnstrail]\ndecoders = x\n' "2: invalid value 'x' for decoders"

# 4. The file is applied, and the command line wins.
printf '[dnstrail]\nformat = passivedns\nsink = file:%s\n[correlated]\nsections = answer,authority\n' \
	"$TMP/from-file.txt" >"$TMP/good.conf"
"$DNSTRAIL" -r "$DEMO" --config "$TMP/good.conf" --run-dir "$RUN" 2>/dev/null || fail "good config"
grep -q '||' "$TMP/from-file.txt" || fail "format from the file not applied"
n_auth=$(wc -l <"$TMP/from-file.txt")
"$DNSTRAIL" -r "$DEMO" --config "$TMP/good.conf" --format json -w "$TMP/cli.jsonl" --run-dir "$RUN" 2>/dev/null ||
	fail "config + command line"
[ ! -s "$TMP/cli.jsonl" ] && fail "the command line's sink did not replace the file's"
python3 "$TOP/tests/e2e/check_json.py" "$TMP/cli.jsonl" >/dev/null || fail "--format json on the command line did not win"
assert_eq "lines with [correlated] sections = answer,authority (file) vs the command line run" "$n_auth" "$(wc -l <"$TMP/cli.jsonl")"
"$DNSTRAIL" -r "$DEMO" -w "$TMP/plain.jsonl" --run-dir "$RUN" 2>"$TMP/plain.err" ||
	{ cat "$TMP/plain.err"; fail "plain run"; }
[ "$(wc -l <"$TMP/plain.jsonl")" -lt "$n_auth" ] || fail "sections from [correlated] not applied"
ok "the file is applied to every stage, the command line wins"
