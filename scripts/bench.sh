#!/usr/bin/env bash
# bench.sh - where dnstrail's time goes (run by `make bench`).
#
#   floor      libpcap alone reading the capture (the rate to compare with)
#   pipeline   scripts/dnstrail -r CAPTURE -w /dev/shm/... --dedup off, 1 and
#              2 decoders, and with --dedup 3600; then 1 decoder to /dev/null;
#              each stage's cpu (summed over decoded's processes) and the
#              cores all of them kept busy over the run's wall time
#   stages     each stage alone, fed from memory: capd fills cap.0, then
#              decoded drains it into dec.0, correlated drains that into log,
#              logd drains log into a file on tmpfs; each one timed alone
#              (correlated twice: --dedup off, then --dedup 3600)
#   callgrind  each stage alone once more, under callgrind: instructions per
#              frame, message or line, which do not move with the machine's
#              load as the rates do (BENCH_CALLGRIND=0 skips it)
#   ring       two processes passing 64- and 512-byte records
#   live       (root) scripts/bench_live.sh: the capture replayed by
#              build/tests/pcap_pace (BENCH_LIVE_SENDER=tcpreplay: tcpreplay)
#              onto a veth, the sender pinned to CPU 0 and dnstrail to the
#              others (BENCH_LIVE_PIN=0: not pinned), at 300k packets/s for $BENCH_LIVE_SECONDS (default
#              20), then at $BENCH_LIVE_RATES (10 s each) up to the first
#              rate with a drop; BENCH_LIVE=0 skips it.  Once, not median.
#
# Memory: on this kind of VM a page the guest has not used lately costs a
# hypervisor fault on first touch (measured: dd writing 870 MB into a new
# /dev/shm file, 2.09 s of sys when cold, 0.28 s when the pages had just
# been freed), so the output file's pages, and correlated's dedup cache
# (200 MB, charged as user time: the guest does not see the fault), would
# swing a run's cost 2-5x between runs of the same code.  Before each timed
# run that writes the output or fills the dedup cache (the pipelines,
# correlated --dedup alone, logd alone, dd), a tmpfs file as large as the
# output plus 512 MB is written and removed (warm_memory), as a
# long-running sensor recycles pages it used moments ago.  BENCH_WARM=0
# skips it.
#
# The capture is scripts/gen_dns_pcap.py --transactions $BENCH_TRANSACTIONS
# (default 1000000), generated once into bench/ (ignored by git).  Every
# measurement runs $BENCH_RUNS times (default 3); the median is reported.
# Output: a table on stdout and bench/results.json.  Wall-clock rates:
# run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DNSTRAIL_BIN:=$PWD/bin}" "${DNSTRAIL_BUILD:=$PWD/build}" "${BENCH_RUNS:=3}"
: "${BENCH_TRANSACTIONS:=1000000}" "${BENCH_LIVE:=1}" "${BENCH_LIVE_SECONDS:=20}"
: "${BENCH_LIVE_RATES:=400000 500000 600000 800000 1000000}"
export DNSTRAIL_BIN
mkdir -p bench
CAP=bench/gen-$BENCH_TRANSACTIONS.pcap
RUN=/dev/shm/dnstrail-bench.$$
OUT=/dev/shm/dnstrail-bench-out.$$
trap 'rm -rf "$RUN" "$OUT"* "$RUN".*' EXIT
ROOT=()
[ "$(id -u)" -eq 0 ] && ROOT=(--allow-root)

if [ ! -s "$CAP.counts" ]; then
	echo "generating $CAP ($BENCH_TRANSACTIONS transactions, once)..." >&2
	python3 scripts/gen_dns_pcap.py "$CAP" --transactions "$BENCH_TRANSACTIONS" 2>"$CAP.counts" >/dev/null
fi
frames=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"])' "$CAP.counts")
samples=$RUN.samples
mkdir -p "$RUN"
: >"$samples"
# sample NAME VALUE: one measurement (the report takes medians)
sample() { echo "$1 $2" >>"$samples"; }
now() { date +%s.%N; }
# warm_memory: touch and free as much memory as a run takes: the output
# (about 900 bytes a transaction), the rings and correlated's tables
warm_memory() {
	[ "${BENCH_WARM:-1}" = 1 ] || return 0
	dd if=/dev/zero of="$OUT.warm" bs=1M count=$((BENCH_TRANSACTIONS * 9 / 10000 + 512)) 2>/dev/null
	rm -f "$OUT.warm"
}
# stage_totals ERRFILE STAGE: "processes user_s sys_s peak_rss_kib" over the
# stage's exit lines (decoded runs N processes: cpu summed, the largest
# RSS); nothing when the stage left no exit line
stage_totals() {
	grep "^dnstrail-$2: cpu " "$1" |
		sed -E 's/.*user=([0-9.]+)s sys=([0-9.]+)s peak_rss=([0-9]+)KiB.*/\1 \2 \3/' |
		awk '{n++; u += $1; s += $2; if ($3 > r) r = $3} END {if (n) print n, u, s, r}'
}
# stage_cpu ERRFILE STAGE PREFIX: record a stage's cpu seconds, peak RSS and
# number of processes
stage_cpu() {
	local n user sys rss
	read -r n user sys rss < <(stage_totals "$1" "$2") || return 0
	sample "$3.cpu_s" "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')"
	sample "$3.sys_s" "$sys"
	sample "$3.peak_rss_mib" "$(awk -v r="$rss" 'BEGIN {printf "%.1f", r / 1024}')"
	sample "$3.procs" "$n"
}
ring_waits() { # PREFIX: full-wait counters of every ring in $RUN
	"$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$RUN" --json |
		python3 -c 'import json,sys
for r in json.load(sys.stdin)["rings"]:
    if "full_waits" in r: print(r["name"], r["full_waits"])' |
		while read -r ring w; do sample "$1.full_waits.$ring" "$w"; done
}

echo "== floor: libpcap reading $CAP ($frames frames)" >&2
for _ in $(seq "$BENCH_RUNS"); do
	sample floor.frames_per_s "$("$DNSTRAIL_BUILD/tests/pcap_floor" "$CAP" | awk '{print $6}')"
done

pipeline() { # NAME ARGS... (the output goes to $PIPE_OUT, default a new file on tmpfs)
	local name=$1 out=${PIPE_OUT:-$OUT.jsonl}; shift
	echo "== pipeline: $name" >&2
	for _ in $(seq "$BENCH_RUNS"); do
		rm -f "$OUT.jsonl"
		warm_memory
		local t0 t1
		t0=$(now)
		scripts/dnstrail -r "$CAP" -w "$out" --run-dir "$RUN" "$@" 2>"$RUN.err" ||
			{ cat "$RUN.err" >&2; exit 1; }
		t1=$(now)
		sample "$name.frames_per_s" "$(awk -v f="$frames" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", f / (b - a)}')"
		for s in capd decoded correlated logd; do stage_cpu "$RUN.err" $s "$name.$s"; done
		ring_waits "$name"
	done
}
pipeline "pipeline.decoders1" --dedup off --decoders 1
pipeline "pipeline.decoders2" --dedup off --decoders 2
pipeline "pipeline.decoders2.dedup3600" --dedup 3600 --decoders 2
# The same as decoders1 without the file system: the difference is what the
# kernel charges for the output's new tmpfs pages (see logd's lines below).
PIPE_OUT=/dev/null pipeline "pipeline.decoders1.devnull" --dedup off --decoders 1

echo "== stages alone, each fed from memory" >&2
# Preparation (not timed): the records each stage reads, kept whole in
# 1 GiB rings.  A ring consumed by a stage is released, so each stage of
# the preparation reads a replayed copy and the originals stay intact.
T=$DNSTRAIL_BUILD/tests/ring_tool
P=$RUN/prep
R=(--ring-size 1G "${ROOT[@]}")
rm -rf "$P" && mkdir -p "$P/cap" "$P/dec" "$P/log"
"$DNSTRAIL_BIN/dnstrail-capd" -r "$CAP" --run-dir "$P/cap" "${R[@]}" 2>/dev/null
"$T" replay "$P/cap/cap.0" "$P/dec/cap.0" --capacity 1073741824 >/dev/null
"$DNSTRAIL_BIN/dnstrail-decoded" --run-dir "$P/dec" "${R[@]}" 2>/dev/null
rm -f "$P/dec/cap.0"
"$T" replay "$P/dec/dec.0" "$P/log/dec.0" --capacity 1073741824 >/dev/null
"$DNSTRAIL_BIN/dnstrail-correlated" --dedup off --run-dir "$P/log" "${R[@]}" 2>/dev/null
rm -f "$P/log/dec.0"
ring_count() { "$DNSTRAIL_BIN/dnstrail-ctl" status --run-dir "$(dirname "$1")" --json |
	python3 -c 'import json,sys; print([r["records_in"] for r in json.load(sys.stdin)["rings"] if r["name"]==sys.argv[1]][0])' "$(basename "$1")"; }
msgs=$(ring_count "$P/dec/dec.0")
txns=$(ring_count "$P/log/log")
# cpu_of STAGE: its user + sys seconds, from its exit line in $RUN.err
cpu_of() { stage_totals "$RUN.err" "$1" | awk '{print $2 + $3}'; }
# alone STAGE COUNT [NAME]: the stage's rate per CPU-second, from its own
# rusage, reported as stage.NAME (default the stage)
alone() {
	local name=${3:-$1}
	stage_cpu "$RUN.err" "$1" "stage.$name"
	sample "stage.$name.per_cpu_s" "$(awk -v n="$2" -v c="$(cpu_of "$1")" 'BEGIN {printf "%.0f", n / c}')"
}
# run_alone STAGE [FILE]: the stage by itself, fed its prepared input from
# memory and drained (logd writes to FILE), its stderr in $RUN.err;
# ${WRAP[@]} goes in front of it (callgrind, below); correlated runs with
# --dedup $ALONE_DEDUP (default off)
WRAP=()
run_alone() {
	local M=$RUN/m
	rm -rf "$M" && mkdir -p "$M"
	case $1 in
	capd)
		"$T" drain "$M/cap.0" >/dev/null &
		"${WRAP[@]}" "$DNSTRAIL_BIN/dnstrail-capd" -r "$CAP" --run-dir "$M" "${ROOT[@]}" 2>"$RUN.err" ;;
	decoded)
		"$T" replay "$P/cap/cap.0" "$M/cap.0" >/dev/null &
		"$T" drain "$M/dec.0" >/dev/null &
		"${WRAP[@]}" "$DNSTRAIL_BIN/dnstrail-decoded" --run-dir "$M" "${ROOT[@]}" 2>"$RUN.err" ;;
	correlated)
		"$T" replay "$P/dec/dec.0" "$M/dec.0" >/dev/null &
		"$T" drain "$M/log" >/dev/null &
		"${WRAP[@]}" "$DNSTRAIL_BIN/dnstrail-correlated" --dedup "${ALONE_DEDUP:-off}" --run-dir "$M" "${ROOT[@]}" 2>"$RUN.err" ;;
	logd)
		"$T" replay "$P/log/log" "$M/log" >/dev/null &
		"${WRAP[@]}" "$DNSTRAIL_BIN/dnstrail-logd" --in log --sink "file:$2" --run-dir "$M" "${ROOT[@]}" 2>"$RUN.err" ;;
	esac
	wait
}
for _ in $(seq "$BENCH_RUNS"); do
	rm -f "$OUT.jsonl"
	run_alone capd
	alone capd "$frames"
	run_alone decoded
	alone decoded "$frames"
	run_alone correlated
	alone correlated "$msgs"
	# The dedup cache's cost: the same messages with --dedup 3600 (its
	# million entries fill and then turn over, as on the pipeline above).
	warm_memory
	ALONE_DEDUP=3600 run_alone correlated
	alone correlated "$msgs" correlated_dedup
	warm_memory
	run_alone logd "$OUT.jsonl"
	alone logd "$txns"
	lines=$(wc -l <"$OUT.jsonl")
	sample stage.logd.lines "$lines"
	sample stage.logd.lines_per_cpu_s "$(awk -v n="$lines" -v c="$(cpu_of logd)" 'BEGIN {printf "%.0f", n / c}')"
	# What the kernel alone charges for those bytes in a new tmpfs file
	# (page allocation and copy): dd writing as many, in 256 KiB writes.
	bytes=$(stat -c %s "$OUT.jsonl")
	rm -f "$OUT.jsonl" "$OUT.dd"
	warm_memory
	cpu=$( { TIMEFORMAT='%U %S'; time dd if=/dev/zero of="$OUT.dd" bs=256K count=$((bytes / 262144)) 2>/dev/null; } 2>&1 | tail -1 | awk '{print $1 + $2}')
	rm -f "$OUT.dd"
	sample stage.logd.tmpfs_mb "$((bytes / 1000000))"
	sample stage.logd.tmpfs_dd_cpu_s "$cpu"
	# logd to /dev/null: formatting and the loop without the file system.
	run_alone logd /dev/null
	sample stage.logd.devnull_lines_per_cpu_s "$(awk -v n="$lines" -v c="$(cpu_of logd)" 'BEGIN {printf "%.0f", n / c}')"
done

# Instructions, each stage alone once under callgrind: unlike the rates
# above, the same for the same code and input whatever else the machine is
# doing, so a change shows even when the rates are noise (this VM's speed
# has varied up to 2x between runs).  BENCH_CALLGRIND=0 skips it (~3 minutes).
if [ "${BENCH_CALLGRIND:-1}" = 1 ] && command -v valgrind >/dev/null; then
	echo "== instructions per stage (callgrind, once each)" >&2
	WRAP=(valgrind --tool=callgrind --callgrind-out-file=/dev/null "--log-file=$RUN.cg")
	for s in capd decoded correlated correlated_dedup logd; do
		if [ $s = correlated_dedup ]; then ALONE_DEDUP=3600 run_alone correlated; else run_alone $s /dev/null; fi
		sample "stage.$s.instructions" "$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$RUN.cg" | tail -1)"
	done
	sample stage.correlated.messages "$msgs"
	WRAP=()
	rm -rf "$RUN/m" "$RUN.cg"
fi
rm -rf "$P"

echo "== ring between two processes (16 MiB ring)" >&2
ring_rate() { # record size, count -> records/s (consumer side)
	local r=$RUN/ring
	rm -f "$r"
	"$DNSTRAIL_BUILD/tests/ring_peer" consume "$r" "$2" --sizes "fixed:$1" --capacity 16777216 --stats >"$RUN.c" &
	local c=$!
	sleep 0.1
	"$DNSTRAIL_BUILD/tests/ring_peer" produce "$r" "$2" --sizes "fixed:$1" --capacity 16777216 --eof >/dev/null
	wait $c
	awk '/^consume / {print $2}' "$RUN.c"
}
for _ in $(seq "$BENCH_RUNS"); do
	sample ring.64B.records_per_s "$(ring_rate 64 20000000)"
	sample ring.512B.records_per_s "$(ring_rate 512 5000000)"
done

live_sender=${BENCH_LIVE_SENDER:-pcap_pace}
if [ "$BENCH_LIVE" = 1 ] && [ "$(id -u)" -eq 0 ] &&
	{ [ "$live_sender" = pcap_pace ] || command -v tcpreplay >/dev/null; }; then
	# live RATE SECONDS: one paced replay; its figures become samples
	live() {
		echo "== live: $live_sender at $1 packets/s for $2 s" >&2
		local line
		line=$(SENDER=$live_sender PIN=${BENCH_LIVE_PIN:-1} bash scripts/bench_live.sh "$CAP" "$1" "$2") || exit 1
		echo "   $line" >&2
		for kv in $line; do sample "live.$1.${kv%%=*}" "${kv#*=}"; done
		[[ $line == *" missed=0 kernel_drops=0 ring_drops=0 "* ]] || return 1
		# Stop once the sender cannot keep up: higher requests measure the sender.
		local a=${line#*achieved=}
		[ "${a%% *}" -ge $(($1 * 9 / 10)) ] || { echo "   the sender's ceiling here: ${a%% *} packets/s" >&2; return 1; }
	}
	if live 300000 "$BENCH_LIVE_SECONDS"; then
		for r in $BENCH_LIVE_RATES; do live "$r" 10 || break; done
	fi
else
	echo "== live: skipped (needs root, BENCH_LIVE=1, and tcpreplay if BENCH_LIVE_SENDER=tcpreplay)" >&2
fi

python3 - "$samples" "$frames" "$CAP" <<'PY'
import collections, json, os, statistics, sys
vals = collections.defaultdict(list)
for line in open(sys.argv[1]):
    k, v = line.split()
    vals[k].append(float(v))
med = {k: statistics.median(v) for k, v in vals.items()}
floor = med["floor.frames_per_s"]
frames = int(sys.argv[2])
def g(k, fmt="%.0f"):
    return fmt % med[k] if k in med else "-"
print("\ndnstrail bench: %s, %d frames, median of %d runs%s\n" % (sys.argv[3], frames, len(vals["floor.frames_per_s"]),
      "; memory warmed before each run (BENCH_WARM=0: not)" if os.environ.get("BENCH_WARM", "1") == "1" else ""))
print("%-34s %14s %8s" % ("", "rate", "floor"))
print("%-34s %14s %8s" % ("libpcap read (floor)", g("floor.frames_per_s") + " f/s", "1.00"))
for name in ("pipeline.decoders1", "pipeline.decoders2", "pipeline.decoders2.dedup3600", "pipeline.decoders1.devnull"):
    r = med.get(name + ".frames_per_s")
    if r is None:
        continue
    off = med.get("pipeline.decoders2.frames_per_s") if name.endswith(".dedup3600") else None
    print("%-34s %14s %8.2f%s" % (name, "%.0f f/s" % r, r / floor,
                                  "   %.2f of pipeline.decoders2" % (r / off) if off else ""))
    procs = lambda s: "x%.0f" % med["%s.%s.procs" % (name, s)] if med.get("%s.%s.procs" % (name, s), 1) > 1 else ""
    stages = ["%s%s %ss (sys %s) %sMiB" % (s, procs(s), g("%s.%s.cpu_s" % (name, s), "%.2f"), g("%s.%s.sys_s" % (name, s), "%.2f"),
                                          g("%s.%s.peak_rss_mib" % (name, s), "%.0f"))
              for s in ("capd", "decoded", "correlated", "logd")]
    print("    cpu/rss  " + ", ".join(stages))
    # CPU seconds of all stages over the run's wall time: near the
    # machine's core count, the pipeline is CPU-bound as a whole and any
    # stage's extra work slows it; well below, one stage is the bottleneck.
    cpu = sum(med.get("%s.%s.cpu_s" % (name, s), 0) for s in ("capd", "decoded", "correlated", "logd"))
    print("    cores busy  %.2f (stage cpu %.2f s over %.2f s wall; %d cores)" % (cpu * r / frames, cpu, frames / r, os.cpu_count()))
    waits = ["%s=%s" % (k.split(".full_waits.")[1], "%.0f" % v) for k, v in sorted(med.items())
             if k.startswith(name + ".full_waits.")]
    print("    ring-full waits  " + " ".join(waits))
print()
units = {"capd": "frames", "decoded": "frames", "correlated": "messages", "correlated_dedup": "messages",
         "logd": "transactions"}
label = {"correlated_dedup": "correlated dedup3600"}
for s in units:
    k = "stage.%s.per_cpu_s" % s
    if k in med:
        print("%-34s %14s   cpu %ss (sys %ss)  rss %sMiB" % ("stage alone: " + label.get(s, s), "%.0f %s/cpu-s" % (med[k], units[s]),
              g("stage.%s.cpu_s" % s, "%.2f"), g("stage.%s.sys_s" % s, "%.2f"), g("stage.%s.peak_rss_mib" % s)))
per = {"capd": frames, "decoded": frames, "correlated": med.get("stage.correlated.messages"),
       "correlated_dedup": med.get("stage.correlated.messages"), "logd": med.get("stage.logd.lines")}
unit = {"capd": "frame", "decoded": "frame", "correlated": "message", "correlated_dedup": "message", "logd": "line"}
ins = ["%s %.0f/%s" % (label.get(s, s), med["stage.%s.instructions" % s] / per[s], unit[s]) for s in unit
       if med.get("stage.%s.instructions" % s) and per[s]]
if ins:
    # The total is the pipeline without dedup: correlated_dedup replaces correlated, it does not add to it.
    print("%-34s %14s   %s" % ("instructions (callgrind)", "%.2f G" % (sum(med["stage.%s.instructions" % s]
          for s in ("capd", "decoded", "correlated", "logd") if "stage.%s.instructions" % s in med) / 1e9),
          ", ".join(ins)))
if "stage.logd.lines" in med:
    print("%-34s %14s   %s lines/cpu-s (json, file on tmpfs)" % ("  logd lines written", "%.0f" % med["stage.logd.lines"],
          g("stage.logd.lines_per_cpu_s")))
    print("%-34s %14s   lines/cpu-s (json, file:/dev/null: no file system)" % ("  logd to /dev/null", g("stage.logd.devnull_lines_per_cpu_s")))
    print("%-34s %14s   cpu-s for dd to write the same %s MB into a new tmpfs file" % ("  kernel's share (tmpfs)", g("stage.logd.tmpfs_dd_cpu_s", "%.2f"), g("stage.logd.tmpfs_mb")))
for size in (64, 512):
    k = "ring.%dB.records_per_s" % size
    if k in med:
        print("%-34s %14s   %.2f GB/s" % ("ring, %d-byte records" % size, "%.0f rec/s" % med[k], med[k] * size / 1e9))
live = sorted({int(k.split(".")[1]) for k in med if k.startswith("live.")})
if live:
    print()
    best = None
    for r in live:
        g2 = lambda f: med.get("live.%d.%s" % (r, f), float("nan"))
        drops = g2("missed") + g2("kernel_drops") + g2("ring_drops")
        if drops == 0 and (best is None or g2("achieved") > best):
            best = g2("achieved")
        print("%-34s %14s   achieved %.0f pkt/s, captured %.0f of %.0f sent, dropped %.0f (missed %.0f, kernel %.0f, rings %.0f), lost after capd %.0f, dnstrail's CPUs %.0f%% busy"
              % ("live, asked %d pkt/s" % r, "%.2f%% loss" % (100 * drops / max(g2("sent"), 1)),
                 g2("achieved"), g2("captured"), g2("sent"), drops, g2("missed"), g2("kernel_drops"), g2("ring_drops"),
                 g2("lost_after_capd"), g2("sensor_busy")))
    print("%-34s %14s" % ("live: highest rate without a drop", "%.0f pkt/s" % best if best else "none"))
json.dump({"capture": sys.argv[3], "frames": frames, "median": med, "samples": vals},
          open("bench/results.json", "w"), indent=1, sort_keys=True)
print("\nwritten bench/results.json")
PY
