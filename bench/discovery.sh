#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Registry change -> nodes in the maps: the figures that the tests running
# real servers print (never assert), collected into one table. Runs
#   ETCD_LATENCY_PUTS=1000 build/tests/unit/test_etcd    (a real etcd)
#   build/tests/unit/test_disc_dns                       (a real unbound)
#   tests/e2e/test_discovery.sh                          (xlbd, namespaces)
# and prints, for each, the lines that carry a figure. Single runs; the
# tests' own polling (every 0.1 s) is included in their times.
#   bench/discovery.sh            (root: the e2e test uses namespaces)
# Exit: 0 figures printed, 1 a test failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# run PATTERN COMMAND...: run it, print "| command | line |" per figure line
run() {
	local pat=$1 rc
	shift
	"$@" >"$out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		tail -20 "$out" >&2
		echo "discovery: $* failed (exit $rc)" >&2
		exit 1
	fi
	grep -E "$pat" "$out" | sed -E 's/^\[ *[0-9.]+\] //; s/^# //' |
		while IFS= read -r line; do
			# shellcheck disable=SC2016 # the backquotes are markdown
			printf '| `%s` | %s |\n' "$CMD" "$line"
		done
}

echo "Registry change -> nodes in the maps (single runs, the tests' polling every 0.1 s included)"
echo "| command | figure |"
echo "|---|---|"
CMD="ETCD_LATENCY_PUTS=1000 $BUILD/tests/unit/test_etcd"
run '^etcd (put|quick restart|restart)' env ETCD_LATENCY_PUTS=1000 "$BUILD/tests/unit/test_etcd"
CMD="$BUILD/tests/unit/test_disc_dns"
run '^# (new SRV|changed A|TTL)' "$BUILD/tests/unit/test_disc_dns"
CMD="tests/e2e/test_discovery.sh"
run '(SRV change followed|etcd put -> VIP|consul change followed)' bash tests/e2e/test_discovery.sh
