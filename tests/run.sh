#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run xlb's test suites: unit (cmocka), bpf (BPF_PROG_TEST_RUN) and e2e
# (network namespaces). Each test program is one result: exit 0 passes,
# 77 skips, anything else fails. Ends with one summary line
# "N passed, N failed, N skipped": passed and failed count programs,
# skipped counts every skip, a whole program's or one case's.
#
# Skips are printed, one line each, on the program's output:
#   ok N - CASE # SKIP REASON   one case skipped (TAP's directive; the
#                               program goes on, and passes or fails)
#   # SKIP REASON               the whole program skipped (it exits 77)
# A skip's name is SUITE/PROGRAM or SUITE/PROGRAM/CASE. With CI=true every
# skip must be listed, with its reason, in tests/skips.txt ("NAME: REASON"
# per line); an unlisted one fails its program and is named.
#   tests/run.sh [all|unit|bpf|e2e]...
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
SKIPS=tests/skips.txt
export XLB="${XLB:-$PWD/$BUILD/xlb}" XLB_BUILD="$PWD/$BUILD"
ci=0
case ${CI:-} in true | 1 | yes) ci=1 ;; esac

passed=0 failed=0 skipped=0 failures=() unlisted=()
log=$(mktemp /tmp/xlb-run.XXXXXX) || exit 1
trap 'rm -f "$log" "$log.done"' EXIT

# listed NAME: tests/skips.txt has a line "NAME: REASON" (REASON not empty).
listed() {
	local line
	[ -f "$SKIPS" ] || return 1
	while IFS= read -r line; do
		case $line in "$1: "?*) return 0 ;; esac
	done <"$SKIPS"
	return 1
}

# skip NAME REASON: count one skip; under CI an unlisted one is a failure.
# Returns 1 for an unlisted skip under CI.
skip() {
	echo "--- SKIP $1: $2"
	if [ "$ci" -eq 1 ] && ! listed "$1"; then
		unlisted+=("$1: $2")
		echo "--- unlisted skip (CI=true): $1: $2 (not in $SKIPS)"
		return 1
	fi
	skipped=$((skipped + 1))
	return 0
}

# The skips a program printed, as "CASE<TAB>REASON" lines.
case_skips() {
	sed -n 's/^ok [0-9][0-9]* - \(.*\) # SKIP \(.*\)$/\1\t\2/p' "$log"
}

run_one() {
	local name=$1
	shift
	local start=$SECONDS rc n=0 bad=0 why c r note=
	echo "=== $name"
	# The output is shown as it comes and kept for its skip lines. A child
	# the program left running may hold the pipe open: tee is not waited
	# for beyond a few seconds once the program has exited.
	rm -f "$log.done"
	"$@" > >(
		tee "$log"
		: >"$log.done"
	) 2>&1
	rc=$?
	for _ in $(seq 50); do
		[ -e "$log.done" ] && break
		sleep 0.1
	done
	if [ "$rc" -eq 77 ]; then
		why=$(sed -n 's/^# SKIP //p' "$log" | head -1)
		skip "$name" "${why:-no reason printed}" || bad=1
	else
		while IFS=$'\t' read -r c r; do
			n=$((n + 1))
			skip "$name/$c" "$r" || bad=1
		done < <(case_skips)
	fi
	if [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]; then
		passed=$((passed + 1))
		[ "$n" -gt 0 ] && note=", $n skipped"
		echo "--- PASS $name ($((SECONDS - start))s$note)"
	elif [ "$rc" -eq 77 ] && [ "$bad" -eq 0 ]; then
		:
	else
		failed=$((failed + 1))
		failures+=("$name")
		if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then
			echo "--- FAIL $name (a skip not listed in $SKIPS)"
		else
			echo "--- FAIL $name (exit $rc)"
		fi
	fi
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
	all)
		suite_unit
		suite_bpf
		suite_e2e
		;;
	unit | bpf | e2e) "suite_$s" ;;
	*)
		echo "run.sh: unknown suite '$s' (all, unit, bpf, e2e)" >&2
		exit 2
		;;
	esac
done

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
for u in "${unlisted[@]}"; do
	echo "unlisted skip (CI=true; list it in $SKIPS with its reason, or make it run): $u"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
