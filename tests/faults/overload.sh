#!/usr/bin/env bash
# Live traffic faster than the box can take: tcpreplay --topspeed of a
# generated capture onto a veth pair inside namespaces this test creates
# (with correlated paused for a second, so capd must drop),
# dnstrail capturing on the other end.  The only place allowed to lose
# anything is capd (the kernel buffer or a full ring), and it counts it;
# every later stage delivers everything it accepted; memory stays bounded.
# Needs root; everything is torn down on exit.
. "$(dirname "$0")/../e2e/lib.sh"
if [ "$(id -u)" -ne 0 ]; then echo "SKIP overload: needs root"; exit 0; fi
command -v tcpreplay >/dev/null || { echo "SKIP overload: tcpreplay is not installed"; exit 0; }

TX=dtotx$$ RX=dtorx$$
cleanup_hooks+=("ip netns pids $RX 2>/dev/null | xargs -r kill 2>/dev/null; sleep 0.3; ip netns del $TX 2>/dev/null; ip netns del $RX 2>/dev/null")
ip netns add $TX
ip netns add $RX
# No IPv6 on the link: the kernel's own neighbour discovery and MLD frames
# would pass the default filter and spoil the exact frame count.
for ns in $TX $RX; do
	ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
done
ip link add ot$$ type veth peer name or$$
ip link set ot$$ netns $TX
ip link set or$$ netns $RX
ip -n $TX link set ot$$ up
ip -n $RX link set or$$ up

gen_cached g200k --transactions 200000
sent_want=$(count "$TMP/g200k.counts" packets)

# A small kernel buffer and small rings make the overload certain.
ip netns exec $RX "$DNSTRAIL" -i or$$ --sink "file:$TMP/live.jsonl" --dedup off --decoders 2 \
	--buffer-size 2M --ring-size 1M --run-dir "$RUN" 2>"$TMP/err" &
launcher=$!
cleanup_hooks+=("kill $launcher 2>/dev/null")
for _ in $(seq 100); do
	"$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json 2>/dev/null | grep -q '"stage":"capd"' && break
	sleep 0.1
done
kill -0 $launcher 2>/dev/null || { cat "$TMP/err"; fail "dnstrail did not start"; }
sleep 0.5
# --topspeed alone does not always outrun dnstrail on this box, so the test
# makes sure of it: correlated is stopped for a second in mid-replay, its
# input rings fill, the decoders wait on them, and capd must drop.
corr=$("$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json |
	python3 -c 'import json,sys; print([s["pid"] for s in json.load(sys.stdin)["stages"] if s["stage"]=="correlated"][0])')
ip netns exec $TX tcpreplay -i ot$$ --topspeed "$TMP/g200k.pcap" >"$TMP/replay.txt" 2>&1 &
replay=$!
sleep 0.2
kill -STOP "$corr"
cleanup_hooks+=("kill -CONT $corr 2>/dev/null")
sleep 1
kill -CONT "$corr"
wait $replay || { cat "$TMP/replay.txt"; fail "tcpreplay failed"; }
sent=$(sed -nE 's/.*Successful packets: *([0-9]+).*/\1/p' "$TMP/replay.txt")
assert_eq "packets tcpreplay sent" "$sent_want" "$sent"
sleep 2
kill -TERM $launcher 2>/dev/null || { cat "$TMP/err"; fail "dnstrail exited during the test"; }
wait $launcher || { tail -20 "$TMP/err"; fail "dnstrail exited $? after SIGTERM"; }

"$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json >"$TMP/status.json"
"$DNSTRAIL_BIN/dnstrail-ctl" stats --run-dir "$RUN" --json >"$TMP/stats.json"
python3 - "$TMP/status.json" "$TMP/stats.json" "$sent" "$TMP/live.jsonl" <<'PY'
import json, sys
rings = {r["name"]: r for r in json.load(open(sys.argv[1]))["rings"] if "dropped" in r}
st = json.load(open(sys.argv[2]))["stages"]
sent = int(sys.argv[3])
def fail(m):
    sys.exit("FAIL: " + m)
capd = st["capd"]
frames, kdrop, rdrop = capd["capd.frames"], capd["capd.kernel_drops"], capd["capd.ring_drops"]
print("ok: sent %d, capd got %d, dropped %d in the kernel and %d on full rings"
      % (sent, frames, kdrop, rdrop))
if frames + kdrop > sent:
    fail("capd accounts for more frames than were sent")
if kdrop + rdrop == 0:
    fail("nothing was dropped: the sensor was not overloaded, so this test proved nothing")
for name, r in rings.items():
    if not name.startswith("cap.") and r["dropped"]:
        fail("ring %s dropped %d records: only capd may drop" % (name, r["dropped"]))
    if r["records_in"] != r["records_out"]:
        fail("ring %s: %d records in, %d out: not delivered" % (name, r["records_in"], r["records_out"]))
cap_in = sum(r["records_in"] for n, r in rings.items() if n.startswith("cap."))
dec_read = sum(st[s]["decoded.records_in"] for s in st if s.startswith("decoded."))
if cap_in != dec_read:
    fail("decoders read %d of the %d records capd wrote" % (dec_read, cap_in))
dec_frames = sum(st[s]["frames"] for s in st if s.startswith("decoded."))
if dec_frames != frames - rdrop:
    fail("capd kept %d - %d frames, the decoders got %d" % (frames, rdrop, dec_frames))
dec_out = sum(st[s]["decoded.messages_out"] for s in st if s.startswith("decoded."))
dec_ring = sum(r["records_in"] for n, r in rings.items() if n.startswith("dec."))
if st["correlated"]["correlated.messages"] != dec_out:
    fail("correlated read %d of the %d messages decoded" % (st["correlated"]["correlated.messages"], dec_out))
emitted = st["correlated"]["emit.records"]
if st["logd"]["records_read"] != emitted:
    fail("logd read %d of %d transactions" % (st["logd"]["records_read"], emitted))
lines = sum(1 for _ in open(sys.argv[4]))
if st["logd"]["lines"] != lines or st["logd"]["sink.0.lines_dropped"]:
    fail("logd formatted %d lines, the file has %d" % (st["logd"]["lines"], lines))
print("ok: after capd nothing was lost: %d frames -> %d messages -> %d transactions -> %d lines"
      % (dec_read, dec_out, emitted, lines))
PY
# Memory stays bounded: 1 MiB rings, default tables, small as they are used.
grep -E "^dnstrail-(capd|decoded|correlated|logd): cpu" "$TMP/err" | while read -r line; do
	kib=$(echo "$line" | sed -E 's/.*peak_rss=([0-9]+)KiB.*/\1/')
	[ "$kib" -lt 65536 ] || fail "over 64 MiB: $line"
	echo "ok: ${line%%:*}: peak RSS $kib KiB"
done
