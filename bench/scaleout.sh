#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Scale-out figures: how long three xlb nodes that health-check on their own
# disagree about a backend, and what happens to held connections when a
# node goes, comes back, drains. Runs tests/e2e/test_scaleout.sh with
# TRIALS rounds of one backend's server stopped and started again (probes
# every 0.5 s, 2 in a row to flip, 1 s timeout) and prints, for each
# direction, the time from the event to the first and to the last node's
# decision and the window in which the nodes differed (xlbd's log times,
# ms); median, min and max over the trials. Also the test's summary of the
# held connections and the time one etcd put took to reach all three nodes.
#   bench/scaleout.sh [TRIALS]     (default 10; root)
set -uo pipefail
cd "$(dirname "$0")/.."
TRIALS=${1:-10}
[[ $TRIALS =~ ^[1-9][0-9]*$ ]] || {
	echo "scaleout: TRIALS must be a positive number" >&2
	exit 2
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
XLBT_SCALE_TRIALS=$TRIALS bash tests/e2e/test_scaleout.sh >"$out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	tail -20 "$out" >&2
	echo "scaleout: tests/e2e/test_scaleout.sh failed (exit $rc)" >&2
	exit $rc
fi
echo "## Scale-out: three nodes, health divergence ($TRIALS trials)"
echo
grep '^scale-out' "$out"
# The test's log line of one etcd put reaching the three nodes' tables.
grep -o 'etcd: one put -> .*' "$out"
echo
python3 - "$out" <<'PY'
import re, statistics, sys
rows = {"down": [], "up": []}
for l in open(sys.argv[1]):
    m = re.match(r"health divergence trial \d+: down: first (\d+) ms, last (\d+) ms, "
                 r"nodes differ (\d+) ms; up: first (\d+) ms, last (\d+) ms, "
                 r"nodes differ (\d+) ms", l)
    if m:
        v = [int(x) for x in m.groups()]
        rows["down"].append(v[0:3])
        rows["up"].append(v[3:6])
print("| backend goes | first node (ms) | last node (ms) | nodes differ (ms) |")
print("|---|---|---|---|")
for k, label in (("down", "down (server stopped)"), ("up", "up (server started)")):
    cols = list(zip(*rows[k]))
    cell = lambda c: "%d (%d-%d)" % (statistics.median(c), min(c), max(c))
    print("| %s | %s | %s | %s |" % (label, cell(cols[0]), cell(cols[1]), cell(cols[2])))
print("\nmedian (min-max) over %d trials" % len(rows["down"]))
PY
