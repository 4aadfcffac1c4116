#!/usr/bin/env bash
# deps.sh - install the Debian packages dnstrail needs to build and test.
# Does nothing when they are all present.  Needs root to install; otherwise
# it names the missing packages and the command to run.
set -euo pipefail

PKGS=(
	build-essential pkg-config
	libpcap-dev liburing-dev libjson-c-dev check librdkafka-dev zlib1g-dev
	python3 tcpdump tshark
	clang libclang-rt-14-dev
	iproute2 unbound dnsutils knot-dnsutils dnsperf tcpreplay
	rsyslog libmsgpack-dev kcat valgrind
	procps psmisc util-linux passwd
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
	echo "deps.sh: install them with: sudo bash scripts/deps.sh" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/dnstrail-deps.log 2>&1; then
	apt-get update >>/tmp/dnstrail-deps.log 2>&1
	apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/dnstrail-deps.log 2>&1 || {
		echo "deps.sh: apt-get install failed; see /tmp/dnstrail-deps.log" >&2
		tail -20 /tmp/dnstrail-deps.log >&2
		exit 1
	}
fi
# Debian starts services on install; the tests start their own instances.
for svc in unbound rsyslog; do
	if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
	pkill -x "$svc" 2>/dev/null || pkill -x "${svc}d" 2>/dev/null || true
done
