#!/usr/bin/env bash
# valgrind.sh - `make check-valgrind`: the end-to-end corpus test (the
# pipeline oracle over every capture of tests/data/corpus) with every stage
# running under valgrind's memcheck.  Any memory error, and any definite or
# indirect leak, in any stage of any run fails it.
set -u
cd "$(dirname "$0")/.."
: "${DNSTRAIL_BIN:=$PWD/bin}"
real=$DNSTRAIL_BIN
wrap=$(mktemp -d /tmp/dnstrail-vg.XXXXXX)
logs=$wrap/logs
mkdir -p "$logs"
chmod 0777 "$logs" # the stages run as the dnstrail user
chmod 0755 "$wrap"
trap 'rm -rf "$wrap"' EXIT
# The launcher asks every stage to check its options before each run: the
# first few of those checks per stage run under valgrind too, the rest
# (the same code, 220 times) natively, which halves the time.
mkdir -p "$wrap/optchecks"
chmod 0777 "$wrap/optchecks" # the stages may run as the dnstrail user
for s in capd decoded correlated logd ctl; do
	cat >"$wrap/dnstrail-$s" <<W
#!/bin/sh
case " \$* " in
*" --check-options "*|*" --help "*)
	n=\$(ls "$wrap/optchecks" | grep -c "^$s\\.") || true
	if [ "\$n" -ge 3 ]; then exec "$real/dnstrail-$s" "\$@"; fi
	: >"$wrap/optchecks/$s.\$\$" ;;
esac
exec valgrind -q --vgdb=no --leak-check=full --errors-for-leak-kinds=definite,indirect \\
	--error-exitcode=99 --log-file=$logs/%p.$s "$real/dnstrail-$s" "\$@"
W
	chmod 0755 "$wrap/dnstrail-$s"
done
DNSTRAIL_BIN=$wrap bash tests/oracle/check_pipeline.sh "$@"
rc=$?
bad=0
for f in "$logs"/*; do
	[ -s "$f" ] || continue
	echo "valgrind found problems in ${f##*.} (pid $(basename "${f%.*}")):"
	head -40 "$f"
	bad=1
done
runs=$(ls "$logs" | wc -l)
if [ $bad -eq 0 ]; then
	echo "valgrind: $runs stage runs, no memory error, no leak"
fi
[ $rc -eq 0 ] && [ $bad -eq 0 ]
