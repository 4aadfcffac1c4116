#!/usr/bin/env bash
# make install: every file in place, the systemd units pass systemd-analyze
# verify, the installed launcher works and reports the same version as every
# binary, and capd run the way its unit runs it (as dnstrail, with ambient
# CAP_NET_RAW) captures and then holds no capability at all.
. "$(dirname "$0")/lib.sh"
P=$TMP/prefix
make -C "$TOP" --no-print-directory install PREFIX="$P" SYSCONFDIR="$P/etc" >/dev/null ||
	fail "make install"
for f in bin/dnstrail bin/dnstrail-capd bin/dnstrail-decoded bin/dnstrail-correlated bin/dnstrail-logd \
	bin/dnstrail-ctl etc/dnstrail/dnstrail.conf.example lib/systemd/system/dnstrail.target \
	lib/systemd/system/dnstrail-capd.service lib/systemd/system/dnstrail-decoded@.service \
	lib/systemd/system/dnstrail-correlated.service lib/systemd/system/dnstrail-logd.service \
	lib/sysusers.d/dnstrail.conf; do
	[ -e "$P/$f" ] || fail "make install did not install $f"
done
ok "make install puts every file in place under PREFIX"
grep -q "ExecStart=$P/bin/dnstrail-capd" "$P/lib/systemd/system/dnstrail-capd.service" ||
	fail "units do not point at the installed binaries"

v=$(cat "$TOP/VERSION")
assert_eq "installed launcher version" "dnstrail $v" "$(DNSTRAIL_BIN= "$P/bin/dnstrail" --version)"
for s in capd decoded correlated logd ctl; do
	assert_eq "dnstrail-$s version" "dnstrail-$s $v" "$("$P/bin/dnstrail-$s" --version)"
done
env -u DNSTRAIL_BIN "$P/bin/dnstrail" -r "$TOP/tests/data/demo.pcap" --sink stdout --run-dir "$RUN" \
	>"$TMP/demo.jsonl" 2>/dev/null || fail "installed launcher failed"
assert_eq "lines from the installed pipeline" 58 "$(wc -l <"$TMP/demo.jsonl")"

if command -v systemd-analyze >/dev/null; then
	u=$P/lib/systemd/system
	cp "$u/dnstrail-decoded@.service" "$TMP/dnstrail-decoded@0.service"
	(cd "$u" && systemd-analyze verify ./dnstrail-logd.service ./dnstrail-correlated.service \
		./dnstrail-capd.service ./dnstrail.target "$TMP/dnstrail-decoded@0.service") >"$TMP/verify" 2>&1 ||
		{ cat "$TMP/verify"; fail "systemd-analyze verify"; }
	ok "systemd-analyze verify passes on every unit"
else
	echo "SKIP systemd-analyze verify: systemd-analyze is not installed"
fi

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	id -u dnstrail >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group dnstrail
	setpriv --reuid=dnstrail --regid=dnstrail --init-groups --inh-caps=+net_raw,+net_admin \
		--ambient-caps=+net_raw,+net_admin "$P/bin/dnstrail-capd" -i lo --run-dir "$RUN.caps" 2>"$TMP/capd.err" &
	pid=$!
	cleanup_hooks+=("kill $pid 2>/dev/null; rm -rf $RUN.caps")
	for _ in $(seq 50); do [ -e "$RUN.caps/capd.stats" ] && break; sleep 0.1; done
	assert_eq "capd's capabilities once capturing (CapPrm CapEff CapAmb)" \
		"0000000000000000 0000000000000000 0000000000000000" \
		"$(awk '/^Cap(Prm|Eff|Amb):/ {printf "%s%s", sep, $2; sep=" "}' /proc/$pid/status)"
	assert_eq "capd's no_new_privs" 1 "$(awk '/^NoNewPrivs:/ {print $2}' /proc/$pid/status)"
	kill $pid; wait $pid 2>/dev/null || true
else
	echo "SKIP capabilities: needs root and setpriv"
fi
