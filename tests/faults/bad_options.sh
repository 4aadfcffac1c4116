#!/usr/bin/env bash
# Every option of every program, given a value it must refuse: one line on
# stderr naming the option, and exit code 2.  Options are read from each
# program's --help, so an option added later is covered without editing
# this test.  Values: garbage for numbers, sizes, durations, lists and
# enumerations; the empty string for names and paths.
. "$(dirname "$0")/../e2e/lib.sh"
B=$DNSTRAIL_BIN
mkdir -p "$RUN"
DEMO=$TOP/tests/data/demo.pcap
n=0

check() { # program-label option value command...
	local label=$1 opt=$2 val=$3; shift 3
	local rc=0
	timeout 10 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
	if [ $rc -ne 2 ] || [ "$(wc -l <"$TMP/err")" -ne 1 ] || ! grep -q -- "$opt" "$TMP/err"; then
		echo "--- $label --$opt '$val': exit $rc, stderr:"; cat "$TMP/err"
		fail "$label --$opt '$val' must give one line naming $opt and exit 2"
	fi
	n=$((n + 1))
}

# options of a program: "name METAVAR" per line ("name" alone for flags)
options() { "$@" --help | sed -nE 's/^ {1,4}(-[a-zA-Z], )?--([a-z][a-z0-9-]*)( [A-Z][A-Z0-9|._]*)?.*/\2 \3/p'; }
bad_value() { # METAVAR: a value the option must refuse
	case $1 in
	FILE|IF|IFACE|PATH|BPF|NAME|NAME\|PATH|DIR|USER|SPEC) echo "" ;;
	*) echo "x@y" ;;
	esac
}

declare -A base=(
	[capd]="-r $DEMO --run-dir $RUN --allow-root"
	[decoded]="--run-dir $RUN --allow-root"
	[correlated]="--run-dir $RUN --allow-root"
	[logd]="--in log --sink stdout --run-dir $RUN --allow-root"
)
for s in capd decoded correlated logd; do
	while read -r opt meta; do
		[ -n "$meta" ] || continue # flags take no value
		case "$s/$opt" in
		capd/filter) continue ;; # empty means "no filter"
		capd/read | capd/interface) args=(--run-dir "$RUN" --allow-root) ;; # the source itself
		*) read -r -a args <<<"${base[$s]}" ;;
		esac
		check "dnstrail-$s" "$opt" "$(bad_value "$meta")" "$B/dnstrail-$s" "${args[@]}" "--$opt" "$(bad_value "$meta")"
	done < <(options "$B/dnstrail-$s")
done
ok "every option of the four stages refuses a bad value ($n cases)"

m=$n
while read -r opt meta; do
	[ -n "$meta" ] || continue
	case $opt in read|interface|filter) continue ;; esac
	val=$(bad_value "$meta")
	[ "$opt" = format ] && val=xml
	[ "$opt" = dedup ] && val=soon
	check dnstrail "$opt" "$val" "$DNSTRAIL" -r "$DEMO" --run-dir "$RUN" "--$opt" "$val"
done < <(options "$DNSTRAIL")
# Every stage option also reaches the stages through the launcher.
declare -A seen=()
for s in capd decoded correlated logd; do
	while read -r opt meta; do
		[ -n "$meta" ] || continue
		case " in out user run-dir read interface filter decoders config sink format dedup pace " in
		*" $opt "*) continue ;; esac
		[ -n "${seen[$opt]:-}" ] && continue
		seen[$opt]=1
		val=$(bad_value "$meta")
		check dnstrail "$opt" "$val" "$DNSTRAIL" -r "$DEMO" --run-dir "$RUN" "--$opt" "$val"
	done < <(options "$B/dnstrail-$s")
done
ok "every option of the launcher, and every stage option passed through it, refuses a bad value ($((n - m)) cases)"

# Misuse that is not a value.
check dnstrail-capd "exactly one" "" "$B/dnstrail-capd" -r "$DEMO" -i lo
check dnstrail "unknown option" "" "$DNSTRAIL" -r "$DEMO" --no-such-thing
check dnstrail "unknown option" "" "$DNSTRAIL" -r "$DEMO" --check-options
check dnstrail-ctl "needs a value" "" "$B/dnstrail-ctl" status --run-dir
ok "misuse refused"
