#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run xlb's test suites: unit (cmocka), bpf (BPF_PROG_TEST_RUN) and e2e
# (network namespaces). Each test program is one result: exit 0 passes,
# 77 skips (with its reason printed), anything else fails. Ends with one
# summary line "N passed, N failed, N skipped".
#   tests/run.sh [all|unit|bpf|e2e]...
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
export XLB="${XLB:-$PWD/$BUILD/xlb}" XLB_BUILD="$PWD/$BUILD"

passed=0 failed=0 skipped=0 failures=()

run_one() {
	local name=$1; shift
	local start=$SECONDS rc
	echo "=== $name"
	"$@"
	rc=$?
	case $rc in
	0) passed=$((passed + 1)); echo "--- PASS $name ($((SECONDS - start))s)" ;;
	77) skipped=$((skipped + 1)); echo "--- SKIP $name" ;;
	*) failed=$((failed + 1)); failures+=("$name"); echo "--- FAIL $name (exit $rc)" ;;
	esac
}

suite_unit() {
	local t
	for t in "$BUILD"/tests/unit/test_*; do
		[ -x "$t" ] && run_one "unit/${t##*/}" "$t"
	done
}

suite_bpf() {
	local t
	for t in "$BUILD"/tests/bpf/test_*; do
		[ -x "$t" ] && run_one "bpf/${t##*/}" "$t"
	done
}

suite_e2e() {
	local t
	for t in tests/e2e/test_*.sh; do
		[ -f "$t" ] && run_one "e2e/${t##*/}" timeout 600 bash "$t"
	done
}

[ $# -eq 0 ] && set -- all
for s in "$@"; do
	case $s in
	all) suite_unit; suite_bpf; suite_e2e ;;
	unit|bpf|e2e) "suite_$s" ;;
	*) echo "run.sh: unknown suite '$s' (all, unit, bpf, e2e)" >&2; exit 2 ;;
	esac
done

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
