#!/usr/bin/env bash
# capd gives up root once the capture is open; the other stages refuse root
# unless told otherwise.  Needs root.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then echo "SKIP privileges: needs root"; exit 0; fi
id -u dnstrail >/dev/null 2>&1 ||
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group dnstrail
uid=$(id -u dnstrail) gid=$(id -g dnstrail)

mkdir -p "$RUN"
gen p --transactions 2000
# --pace keeps capd reading for a few seconds while we look at it.
"$DNSTRAIL_BIN/dnstrail-capd" -r "$TMP/p.pcap" --run-dir "$RUN" --pace 1000 --user dnstrail 2>"$TMP/capd.err" &
capd=$!
cleanup_hooks+=("kill $capd 2>/dev/null")
sleep 1
st=/proc/$capd/status
[ -r "$st" ] || { cat "$TMP/capd.err"; fail "capd is not running"; }
assert_eq "capd real/effective/saved/fs uid" "$uid $uid $uid $uid" "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$st")"
assert_eq "capd gids" "$gid $gid $gid $gid" "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "$st")"
assert_eq "capd supplementary groups" "$gid" "$(awk '/^Groups:/ {print $2}' "$st")"
assert_eq "capd no_new_privs" "1" "$(awk '/^NoNewPrivs:/ {print $2}' "$st")"
assert_eq "capd effective capabilities" "0000000000000000" "$(awk '/^CapEff:/ {print $2}' "$st")"
owner=$(stat -c %U "$RUN/cap.0")
assert_eq "owner of the ring capd created" dnstrail "$owner"
kill "$capd"; wait "$capd" 2>/dev/null || true

for s in decoded correlated logd; do
	rc=0
	extra=(); [ $s = logd ] && extra=(--in log --sink stdout)
	"$DNSTRAIL_BIN/dnstrail-$s" --run-dir "$RUN" "${extra[@]}" >/dev/null 2>"$TMP/err" || rc=$?
	assert_eq "$s as root without --user/--allow-root exits" 2 "$rc"
	grep -q "refusing to run as root" "$TMP/err" || fail "$s: no clear refusal: $(cat "$TMP/err")"
done

# Through the launcher: every stage runs as dnstrail.
"$DNSTRAIL" -r "$TMP/p.pcap" -w "$TMP/out.jsonl" --run-dir "$RUN" --pace 2000 2>/dev/null &
launcher=$!
cleanup_hooks+=("kill $launcher 2>/dev/null")
seen=0
for _ in $(seq 50); do
	sleep 0.1
	pids=$(pgrep -f "dnstrail-(capd|decoded|correlated|logd) .*$RUN" || true)
	[ "$(echo "$pids" | wc -w)" -eq 4 ] && break
done
for p in $pids; do
	name=$(tr '\0' ' ' </proc/$p/cmdline | awk '{print $1}')
	assert_eq "euid of $(basename "$name")" "$uid" "$(awk '/^Uid:/ {print $3}' /proc/$p/status)"
	seen=$((seen + 1))
done
assert_eq "stages seen running" 4 "$seen"
wait "$launcher"
assert_eq "run directory owner and mode" "dnstrail 750" "$(stat -c '%U %a' "$RUN")"
assert_eq "ring modes" "660" "$(stat -c %a "$RUN"/cap.* "$RUN"/dec.* "$RUN"/log | sort -u | tr '\n' ' ' | sed 's/ $//')"
