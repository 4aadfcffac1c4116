#!/usr/bin/env bash
# Capture files and rings that are broken: a clear message and a defined
# exit code (1 unusable input, 3 damaged input whose readable part was
# processed), or a counted skip - never a crash, never silence.
. "$(dirname "$0")/../e2e/lib.sh"
C=$TOP/tests/data/corpus

# wrapped_bin DIR SCRIPT: a binary directory for DNSTRAIL_BIN whose capd is
# the sh SCRIPT ($capd in it: the real one), the other stages the real ones
wrapped_bin() {
	mkdir -p "$1"
	for s in decoded correlated logd ctl; do ln -s "$DNSTRAIL_BIN/dnstrail-$s" "$1/dnstrail-$s"; done
	printf '#!/bin/sh\ncapd="%s"\n%s\n' "$DNSTRAIL_BIN/dnstrail-capd" "$2" >"$1/dnstrail-capd"
	chmod 0755 "$1/dnstrail-capd"
}

expect_run() { # code message capture [options]: the whole pipeline
	local code=$1 says=$2 cap=$3; shift 3
	local rc=0
	"$DNSTRAIL" -r "$cap" -w "$TMP/out.jsonl" --run-dir "$RUN" "$@" >/dev/null 2>"$TMP/err" || rc=$?
	[ $rc -eq "$code" ] || { cat "$TMP/err"; fail "$(basename "$cap"): exit $rc, expected $code"; }
	grep -q -- "$says" "$TMP/err" || { cat "$TMP/err"; fail "$(basename "$cap"): no '$says' on stderr"; }
	grep -qiE "segmentation|core dumped|AddressSanitizer|runtime error" "$TMP/err" && fail "crash"
	ok "$(basename "$cap"): exit $rc, says '$says'"
}

: >"$TMP/empty.pcap"
expect_run 1 "cannot read capture" "$TMP/empty.pcap"
printf 'GIF89a not a capture at all, just some bytes\n' >"$TMP/magic.pcap"
expect_run 1 "unknown file format" "$TMP/magic.pcap"
expect_run 1 "link type PPP_SERIAL (50) is not supported" "$C/tcpdump_ppp_ip_udp_dns.pcap"
expect_run 1 "is a directory" "$TMP"
# The same refusal from a capd slow to say it (as under valgrind): still
# final, never a restart loop.
wrapped_bin "$TMP/slowbin" 'case " $* " in *" --check-options "*) ;; *) sleep 2.5 ;; esac
exec "$capd" "$@"'
t0=$SECONDS
DNSTRAIL_BIN=$TMP/slowbin expect_run 1 "capd failed to start (status 1)" "$C/tcpdump_ppp_ip_udp_dns.pcap"
grep -q "restarting" "$TMP/err" && { cat "$TMP/err"; fail "a refused capture was restarted"; }
[ $((SECONDS - t0)) -le 15 ] || fail "the refusal took $((SECONDS - t0)) s"

# Cut inside a record: everything before the cut goes through, exit 3.
head -c 5000 "$C/dnscap_dns.pcap" >"$TMP/cut.pcap"
# tshark, as the oracle, reads the frames before the cut.
tshark -r "$TMP/cut.pcap" -Y dns -T fields -e dns.id -e udp.srcport -e udp.dstport >"$TMP/cut.tshark" 2>/dev/null || true
frames=$(wc -l <"$TMP/cut.tshark")
expect_run 3 "damaged or cut short after $frames frames passed the filter" "$TMP/cut.pcap"
# Every transaction begun before the cut is logged, once.
want=$(awk '{p = $2 == 53 ? $3 : $2; print $1, p}' "$TMP/cut.tshark" | sort -u | wc -l)
assert_eq "transactions logged from the frames before the cut" "$want" "$(python3 -c '
import json, sys
print(len({(o["query_id"], o["sport"]) for o in map(json.loads, open(sys.argv[1]))}))' "$TMP/out.jsonl")"
expect_run 3 "damaged or cut short" "$C/dpkt_truncated_dns_2.pcap"
# A capd still exiting when logd is done (it marked its rings EOF; the
# leak check of a sanitizer build then takes a while, and a SIGTERM then
# only sets the stop flag of a loop already left): its exit 3 is still the
# run's.
wrapped_bin "$TMP/lingerbin" 'trap "" TERM
"$capd" "$@"
rc=$?
case " $* " in *" --check-options "*) ;; *) sleep 3 ;; esac
exit $rc'
DNSTRAIL_BIN=$TMP/lingerbin expect_run 3 "damaged or cut short after $frames frames" "$TMP/cut.pcap"

# Every frame cut to 40 bytes: headers only.  Nothing to log, all counted.
editcap -s 40 "$C/dnscap_dns.pcap" "$TMP/snap40.pcap"
rm -f "$TMP/out.jsonl"
"$DNSTRAIL" -r "$TMP/snap40.pcap" -w "$TMP/out.jsonl" --run-dir "$RUN" 2>"$TMP/err" || fail "snaplen 40: exit $?"
assert_eq "lines from headers-only frames" 0 "$(wc -l <"$TMP/out.jsonl")"
cut_frames=$(stage_counter "$TMP/err" ip.truncated)
assert_eq "frames counted as cut short (ip.truncated)" 82 "$cut_frames"

# A ring with a record whose length is garbage: the consumer refuses it.
rm -rf "$RUN"; mkdir -p "$RUN"
"$DNSTRAIL_BIN/dnstrail-capd" -r "$C/dnscap_dns.pcap" --run-dir "$RUN" --allow-root 2>/dev/null
python3 - "$RUN/cap.0" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096 + 0)             # the first record's header
    f.write(struct.pack("<IHH", 1 << 30, 16, (~(1 << 30)) & 0xffff))
PY
rc=0
"$DNSTRAIL_BIN/dnstrail-decoded" --run-dir "$RUN" --allow-root 2>"$TMP/err" || rc=$?
assert_eq "decoded on a corrupt ring exits" 3 "$rc"
grep -q "corrupt record at position 0" "$TMP/err" || { cat "$TMP/err"; fail "no clear message"; }
ok "decoded refuses the corrupt ring: $(grep -o 'corrupt record.*' "$TMP/err" | head -1 | cut -c1-80)"
