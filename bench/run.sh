#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Regenerates the committed benchmark results: runs each benchmark NAME
# given (default: all, in the order below), prints its output and records it
# in bench/results/NAME.json with the command line, the date, the commit,
# kernel, CPU and load average (bench/tables.py record); then writes the
# figure tables of README.md and bench/README.md from every JSON
# (bench/tables.py readme). A benchmark that fails or skips leaves its JSON
# as it was. Root (BPF_PROG_TEST_RUN, namespaces); the benchmarks want a
# quiet machine and use fixed namespace names, so on a shared one:
#   flock /tmp/xlb-e2e.lock bench/run.sh [NAME ...]      (make bench-results)
#   bench/run.sh --list                                  names and commands
# katran (xlb beside Katran's balancer, bench/katran.sh) needs a Katran
# source tree: KATRAN_SRC=DIR (and KATRAN_COMMIT=SHA when DIR is not a git
# work tree); without KATRAN_SRC it is skipped and katran.json kept. With
# KATRAN_SRC, wire_rate measures Katran's balancer on the same wire too.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
RESULTS=bench/results
NAMES=(xdp passive maglev flip agent scale wire_rate rps rps_nat scaleout discovery katran batch metrics flows modes)

# The command that measures NAME; DATA is where a benchmark that writes its
# own JSON (kept under "data") writes it.
command_of() {
	case $1 in
	xdp) echo "$BUILD/bench/bench_xdp 1000000 5" ;;
	passive) echo "$BUILD/bench/bench_passive 100000" ;;
	maglev) echo "$BUILD/bench/bench_maglev" ;;
	flip) echo "$BUILD/bench/bench_flip" ;;
	agent) echo "XLBD=$BUILD/xlbd bench/bench_agent.sh" ;;
	scale) echo "XLBD=$BUILD/xlbd bench/scale.sh" ;;
	wire_rate) echo "${KATRAN_SRC:+KATRAN_SRC=$(printf %q "$KATRAN_SRC") }bench/wire_rate.sh DATA" ;;
	rps) echo "bench/rps.sh DATA" ;;
	rps_nat) echo "RPS_CONFIGS='plain xlbnat haproxy' RPS_RUNS=3 bench/rps.sh DATA" ;;
	scaleout) echo "bench/scaleout.sh 10" ;;
	discovery) echo "bench/discovery.sh" ;;
	katran) echo "bench/katran.sh $(printf %q "${KATRAN_SRC:-KATRAN_SRC}") DATA" ;;
	batch) echo "bench/batch.sh" ;;
	metrics) echo "XLBD=$BUILD/xlbd bench/metrics.sh" ;;
	flows) echo "$BUILD/bench/bench_flows 10000000 10" ;;
	modes) echo "$BUILD/bench/bench_modes 1000000 1000000 3" ;;
	*) return 1 ;;
	esac
}

if [ "${1:-}" = --list ]; then
	for n in "${NAMES[@]}"; do
		printf '%-10s %s\n' "$n" "$(command_of "$n")"
	done
	exit 0
fi
[ $# -eq 0 ] || [ "$*" = all ] || NAMES=("$@")
for n in "${NAMES[@]}"; do
	command_of "$n" >/dev/null || {
		echo "run.sh: no benchmark '$n' (--list)" >&2
		exit 2
	}
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=()
for n in "${NAMES[@]}"; do
	cmd=$(command_of "$n")
	if [ "$n" = katran ] && [ -z "${KATRAN_SRC:-}" ]; then
		echo "## katran: skipped: KATRAN_SRC is not set (a Katran source tree," \
			"see bench/README.md, \"xlb beside Katran\"); $RESULTS/katran.json left as it was"
		# Named on the command line, it was asked for: not recorded.
		[ "$*" = "" ] || [ "$*" = all ] || failed+=(katran)
		echo
		continue
	fi
	data=
	[[ $cmd == *DATA* ]] && data=$tmp/$n.data.json
	echo "## $n: $cmd"
	start=$SECONDS
	DATA=$data bash -c "${cmd//DATA/\"\$DATA\"}" 2>&1 | tee "$tmp/$n.out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ] || { [ -n "$data" ] && [ ! -s "$data" ]; }; then
		echo "## $n: exit $rc, $RESULTS/$n.json left as it was"
		failed+=("$n")
	else
		python3 bench/tables.py record "$n" "$cmd" "$rc" $((SECONDS - start)) \
			"$tmp/$n.out" ${data:+"$data"} || failed+=("$n")
	fi
	echo
done
python3 bench/tables.py readme || failed+=(tables)
if [ ${#failed[@]} -gt 0 ]; then
	echo "run.sh: not recorded: ${failed[*]}" >&2
	exit 1
fi
