#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every benchmark and print its figures (root: BPF_PROG_TEST_RUN); the
# whole output also goes to bench/results/results.md and its tables, with the
# JSON the wire-rate and requests/s benchmarks write, to results.json.
#   bench/run.sh [CALLS]     CALLS per figure and run for bench_xdp (1000000)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
mkdir -p bench/results
if [ -z "${XLB_BENCH_TEE:-}" ]; then
	XLB_BENCH_TEE=1 "$0" "$@" | tee bench/results/results.md
	rc=${PIPESTATUS[0]}
	python3 bench/tables.py bench/results/results.md bench/results/wire_rate.json \
		bench/results/rps.json >bench/results/results.json
	echo "tables: bench/results/results.md, bench/results/results.json"
	exit "$rc"
fi
echo "# machine: $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
"$BUILD/bench/bench_xdp" "${1:-1000000}" 5
echo
"$BUILD/bench/bench_maglev"
echo
"$BUILD/bench/bench_flip"
echo
XLBD="$BUILD/xlbd" bench/bench_agent.sh
echo
bench/wire_rate.sh bench/results/wire_rate.json
echo
bench/rps.sh bench/results/rps.json || [ $? -eq 77 ]
echo
bench/scaleout.sh 10
