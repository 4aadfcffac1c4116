#!/usr/bin/env bash
# Kill any stage, twice, in the middle of a run: the launcher restarts it
# and the output must equal an undisturbed run's exactly (capd resumes its
# file, decoded and correlated resume at their checkpoints and correlated
# replays its pending queries, logd's file sink is exactly-once).  With TCP
# in the mix a killed decoder loses the streams it was reassembling: then
# the difference must be TCP transactions only, and no more than the
# streams it reported lost can explain.
. "$(dirname "$0")/../e2e/lib.sh"

gen k --transactions 30000 --tcp 0 --vlan 0.05
gen t --transactions 30000 --tcp 0.3
# n: k with frames the filter refuses after every frame (capd must keep its
# place in the file across them), as classic pcap (capd's own reader) and
# as pcapng (libpcap's)
python3 "$TOP/tests/helpers/add_noise.py" "$TMP/k.pcap" "$TMP/n.pcap"
editcap -F pcapng "$TMP/n.pcap" "$TMP/ng.pcap"
for g in k t n ng; do
	"$DNSTRAIL" -r "$TMP/$g.pcap" -w "$TMP/$g.base.jsonl" --decoders 2 --run-dir "$RUN" 2>/dev/null ||
		fail "undisturbed run exited $?"
done

# kill_stage STAGE: SIGKILL the running STAGE, waiting up to 10 s for one.
# Not the launcher's --check-options run of the stage: killing that one
# fails the start-up, which is not what is tested.
kill_stage() {
	local pids
	for _ in $(seq 100); do
		pids=$({ pgrep -f "dnstrail-$1 .*$RUN" || true; } | while read -r p; do
			grep -qaF -- --check-options "/proc/$p/cmdline" 2>/dev/null || echo "$p"
		done)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null && return
		sleep 0.1
	done
}

# run_killed CAPTURE STAGE OUT: a paced run in which STAGE is killed twice
run_killed() {
	local cap=$1 stage=$2 out=$3
	"$DNSTRAIL" -r "$TMP/$cap.pcap" -w "$out" --decoders 2 --pace 25000 --run-dir "$RUN" 2>"$out.err" &
	local launcher=$!
	cleanup_hooks+=("kill $launcher 2>/dev/null")
	for at in 0.8 0.4; do
		sleep "$at"
		# After the first kill, wait for the launcher to start it again.
		kill_stage "$stage"
	done
	local rc=0
	wait $launcher || rc=$?
	[ $rc -eq 0 ] || { tail -5 "$out.err"; fail "run with $stage killed exited $rc"; }
	local restarts
	restarts=$(grep -c "dnstrail: $stage[.0-9]* (pid [0-9]*) died (killed by signal 9)" "$out.err" || true)
	[ "$restarts" -ge 2 ] || { cat "$out.err"; fail "$stage: expected 2 restarts, saw $restarts"; }
}

for stage in capd decoded correlated logd; do
	run_killed k $stage "$TMP/k.$stage.jsonl"
	cmp -s <(sort "$TMP/k.base.jsonl") <(sort "$TMP/k.$stage.jsonl") ||
		fail "$stage killed twice: output differs from the undisturbed run"
	ok "$stage killed twice: $(wc -l <"$TMP/k.base.jsonl") lines, identical to the undisturbed run"
done
for g in n ng; do
	run_killed $g capd "$TMP/$g.capd.jsonl"
	cmp -s <(sort "$TMP/k.base.jsonl") <(sort "$TMP/$g.base.jsonl") ||
		fail "$g: the frames added to k changed its output"
	cmp -s <(sort "$TMP/k.base.jsonl") <(sort "$TMP/$g.capd.jsonl") ||
		fail "capd killed twice reading $g (refused frames in between): output differs"
	ok "capd killed twice reading $g, refused frames in between: identical to the undisturbed run"
done
# What the restarted stages said (neither line is required: a stage killed
# before its first checkpoint has nothing to replay or resume).
grep -h "replayed .* rebuilt" "$TMP/k.correlated.jsonl.err" | sed 's/^/   /' || true
grep -h "resuming after frame" "$TMP/k.capd.jsonl.err" | sed 's/^/   /' || true

# Decoders holding TCP streams.
run_killed t decoded "$TMP/t.decoded.jsonl"
lost=$(grep -o 'was tracking [0-9]* TCP connections' "$TMP/t.decoded.jsonl.err" | awk '{s += $3} END {print s + 0}')
python3 - "$TMP/t.base.jsonl" "$TMP/t.decoded.jsonl" "$lost" <<'PY'
import collections, json, sys
base = collections.Counter(open(sys.argv[1]).read().splitlines())
got = collections.Counter(open(sys.argv[2]).read().splitlines())
lost = int(sys.argv[3])
diff = list((base - got).elements()) + list((got - base).elements())
flows = set()
for line in diff:
    o = json.loads(line)
    if o["protocol"] != "tcp":
        sys.exit("FAIL: a UDP record differs after a decoder restart: %s" % line[:200])
    flows.add((o["src"], o["sport"], o["dst"], o["dport"]))
if len(flows) > lost:
    sys.exit("FAIL: %d TCP connections differ, the decoders reported %d streams lost" % (len(flows), lost))
print("ok: decoded killed with TCP in flight: %d differing lines, all TCP, in %d connections; "
      "the decoders were tracking %d connections when killed" % (len(diff), len(flows), lost))
PY

# Stopped while a stage awaits its restart: the stages behind it would wait
# for an EOF that never comes, so the launcher stops them itself; it must
# be gone within seconds, exit 0, and have written what was decoded.
for stage in capd correlated; do
	"$DNSTRAIL" -r "$TMP/k.pcap" -w "$TMP/stop.$stage.jsonl" --decoders 2 --pace 25000 --run-dir "$RUN" \
		2>"$TMP/stop.$stage.err" &
	launcher=$!
	sleep 0.8
	kill_stage "$stage"
	for _ in $(seq 50); do grep -q "dnstrail: $stage (pid [0-9]*) died" "$TMP/stop.$stage.err" && break; sleep 0.02; done
	kill -TERM $launcher
	t0=$SECONDS rc=0
	wait $launcher || rc=$?
	[ $rc -eq 0 ] || { cat "$TMP/stop.$stage.err"; fail "stopped while $stage awaited its restart: exit $rc"; }
	[ $((SECONDS - t0)) -le 10 ] || fail "stopping while $stage awaited its restart took $((SECONDS - t0)) s"
	grep -q "$stage is not running: stopping" "$TMP/stop.$stage.err" ||
		{ cat "$TMP/stop.$stage.err"; fail "the launcher did not stop the stages behind $stage"; }
	[ -s "$TMP/stop.$stage.jsonl" ] || fail "nothing written before the stop"
	ok "stopped while $stage awaited its restart: exit 0 after $((SECONDS - t0)) s, $(wc -l <"$TMP/stop.$stage.jsonl") lines"
done
