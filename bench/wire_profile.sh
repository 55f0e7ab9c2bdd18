#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Where a frame's time goes in the one-CPU wire-rate placement: for each
# program on the DUT veth (MAC-swap floor, encap floor, xlb_lb, Katran), one
# bench/wire_rate.sh run of that program alone ("same": generator, DUT and
# counter on CPU 0) with CPU 0 sampled by perf (cpu-clock, call graphs)
# once the frames flow. Prints the rate and, per symbol, its share of the
# samples and ns per frame (share x 1 / rate); "inclusive" adds what a BPF
# program spends in the kernel functions it calls (map lookups, helpers).
# Then the program's own samples by source line (its JIT line table, from
# build/bench/bpf_lines): where in the C its time goes, to a few
# instructions (a sample may land on the line after a slow one).
# Not a recorded benchmark: no JSON, the figures are for reading.
#
#   flock /tmp/xlb-e2e.lock bench/wire_profile.sh [SECONDS] [PROGS]
# SECONDS sampled per program (4); PROGS a comma-separated subset of
# floor, encap, xlb (all) and katran (with KATRAN_SRC set, as for
# bench/wire_rate.sh). Root; perf on PATH.
set -u
cd "$(dirname "$0")/.." || exit 1
SECS=${1:-4}
PROGS=${2:-floor,encap,xlb}
TOP=${WIRE_PROFILE_TOP:-14}
LINES_TOP=${WIRE_PROFILE_LINES:-20}
BPF_LINES=$PWD/${BUILD:-build}/bench/bpf_lines

fail() {
	echo "wire_profile: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || {
	echo "SKIP: wire_profile needs root"
	exit 77
}
command -v perf >/dev/null || fail "perf not found"
[ -x "$BPF_LINES" ] || fail "$BPF_LINES missing: run make"
[[ $SECS =~ ^[1-9][0-9]?$ ]] || fail "SECONDS must be 1-99, not '$SECS'"
[[ $PROGS =~ ^(floor|encap|xlb|katran)(,(floor|encap|xlb|katran))*$ ]] ||
	fail "PROGS must be a comma-separated subset of floor,encap,xlb,katran, not '$PROGS'"
[[ ,$PROGS, != *,katran,* ]] || [ -n "${KATRAN_SRC:-}" ] ||
	fail "PROGS katran needs KATRAN_SRC (a Katran source tree)"

TMP=$(mktemp -d /tmp/xlbt-wprof.XXXXXX) || exit 1
RUN_PID=
cleanup() {
	local rc=$?
	trap - EXIT
	if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
		kill -TERM "$RUN_PID" 2>/dev/null
		wait "$RUN_PID"
	fi
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The DUT's program of each PROG, by name.
declare -A PROG_NAME=([floor]=xdp_macswap [encap]=xdp_encap [xlb]=xlb_lb
	[katran]=balancer_ingress)

# by_line NAME NS: the samples of program NAME in $TMP/samples by source
# line ($TMP/lines from bpf_lines), as a table; NS: ns per frame.
by_line() {
	python3 - "$TMP/lines" "$TMP/samples" "$1" "$2" "$LINES_TOP" <<'PY'
import bisect, collections, sys
lines, samples, name, ns, top = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
# Records come in instruction order; subprograms' images may lie below.
table = sorted((int(a, 16), rest) for a, _, rest in
               (l.rstrip("\n").partition(" ") for l in open(lines)))
addr = [a for a, _ in table]
what = [w for _, w in table]
count, total, mine = collections.Counter(), 0, 0
for l in open(samples):
    f = l.split()
    if len(f) < 2:
        continue
    total += 1
    if not f[1].startswith("bpf_prog_") or not f[1].endswith("_" + name):
        continue
    i = bisect.bisect_right(addr, int(f[0], 16)) - 1
    mine += 1
    count[what[i] if i >= 0 else "?"] += 1
if not mine:
    sys.exit("no samples of " + name)
print("| source line of %s | share of its samples | ns/frame |" % name)
print("|---|---|---|")
for w, c in count.most_common(top):
    loc, _, src = w.partition(" ")
    src = " ".join(src.split()).replace("|", "\\|")
    print("| %s `%s` | %.1f%% | %.1f |" % (loc, src[:70], 100.0 * c / mine, ns * c / total))
PY
}

# profile PROG: one run of PROG alone, sampled once it is sending.
profile() {
	local p=$1 i mpps ns id
	# The run outlasts the sampling: set-up, a warm-up, then SECS + 4 s.
	# Katran is built only when it is the program profiled.
	KATRAN_SRC=$([ "$p" = katran ] && echo "${KATRAN_SRC:-}") \
	WIRE_MODES=same WIRE_RUNS=1 WIRE_SECONDS=$((SECS + 4)) WIRE_STATS_SECONDS=0 \
	WIRE_GEN_ARGS="-P $p" bench/wire_rate.sh "$TMP/$p.json" >"$TMP/$p.out" 2>&1 &
	RUN_PID=$!
	for ((i = 0; i < 600; i++)); do
		grep -q '^trafficgen: .*-byte frames' "$TMP/$p.out" && break
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^trafficgen: .*-byte frames' "$TMP/$p.out" || {
		cat "$TMP/$p.out" >&2
		fail "$p: the generator did not start"
	}
	sleep 1.5 # past the warm-up
	# The newest program of that name (bpftool shows 15 characters of it).
	id=$(bpftool prog show 2>/dev/null | awk -v n="${PROG_NAME[$p]:0:15}" \
		'$3 == "name" && $4 == n { sub(":", "", $1); id = $1 } END { print id }')
	[ -n "$id" ] && "$BPF_LINES" "$id" >"$TMP/lines" ||
		fail "$p: no line table of ${PROG_NAME[$p]}"
	perf record -q -e cpu-clock -C 0 -g -o "$TMP/$p.data" -- sleep "$SECS" \
		>"$TMP/$p.perf" 2>&1 || {
		cat "$TMP/$p.perf" >&2
		fail "$p: perf record failed"
	}
	wait "$RUN_PID" || {
		RUN_PID=
		cat "$TMP/$p.out" >&2
		fail "$p: wire_rate.sh failed"
	}
	RUN_PID=
	mpps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["same"][sys.argv[2]]["mpps_median"])' \
		"$TMP/$p.json" "$p") || fail "$p: no rate in $TMP/$p.json"
	ns=$(awk -v m="$mpps" 'BEGIN { printf "%.1f", 1000 / m }')
	echo "## $p: $mpps Mpps, $ns ns per frame (perf: $SECS s of CPU 0)"
	echo "| symbol | self % | self ns/frame | inclusive % | inclusive ns/frame |"
	echo "|---|---|---|---|---|"
	perf report -i "$TMP/$p.data" --children --sort sym -g none --stdio 2>/dev/null |
		awk -v ns="$ns" -v top="$TOP" '
			/^#/ || NF < 4 { next }
			{
				ch = $1; se = $2; sub("%", "", ch); sub("%", "", se)
				sym = $4
				# Every frame runs inside the generator syscall: show the
				# BPF programs inclusively, the rest by its own samples.
				if (sym ~ /^bpf_prog_/ && sym !~ /bpf_prog_test_run/)
					prog[++nprog] = sprintf("| %s | %.1f | %.1f | %.1f | %.1f |", sym,
						se, se * ns / 100, ch, ch * ns / 100)
				else if (se + 0 > 0)
					self[sym] = se + 0
			}
			END {
				for (i = 1; i <= nprog; i++)
					print prog[i]
				n = 0
				while (n < top) {
					best = ""
					for (s in self)
						if (best == "" || self[s] > self[best])
							best = s
					if (best == "")
						break
					printf "| %s | %.1f | %.1f | | |\n", best, self[best], self[best] * ns / 100
					delete self[best]
					n++
				}
			}'
	echo
	perf script -i "$TMP/$p.data" -F ip,sym --hide-call-graph >"$TMP/samples" 2>/dev/null ||
		fail "$p: perf script failed"
	by_line "${PROG_NAME[$p]}" "$ns" || fail "$p: no samples of its program"
	echo
}

echo "# wire-rate profile, one CPU: $(uname -r), $(grep -m1 'model name' /proc/cpuinfo |
	cut -d: -f2 | sed 's/^ //')"
echo
for p in ${PROGS//,/ }; do
	profile "$p"
done
