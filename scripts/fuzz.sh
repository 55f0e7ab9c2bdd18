#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run each libFuzzer target for a bounded time (make fuzz FUZZ_TIME=60).
#   scripts/fuzz.sh SECONDS build/fuzz/fuzz_NAME...
# Corpus: fuzz/corpus/NAME/ (seeds, kept in git) plus what the run finds in
# build/fuzz/corpus/NAME/. A crash stops the target and its input is copied
# to fuzz/regressions/NAME/, where test_fuzz_NAME replays it from then on.
set -u
cd "$(dirname "$0")/.." || exit 1
secs=${1:?seconds}
shift
rc=0
for bin in "$@"; do
	name=${bin##*/fuzz_}
	work=build/fuzz/corpus/$name art=build/fuzz/artifacts/$name
	mkdir -p "$work" "$art" "fuzz/corpus/$name"
	echo "=== fuzz $name (${secs}s)"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work" "fuzz/corpus/$name" 2>"build/fuzz/$name.log"; then
		rc=1
		mkdir -p "fuzz/regressions/$name"
		cp "$art"/* "fuzz/regressions/$name/" 2>/dev/null
		echo "--- CRASH $name: inputs kept in fuzz/regressions/$name/ (log build/fuzz/$name.log)"
		tail -n 30 "build/fuzz/$name.log"
	else
		echo "--- ok $name: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "build/fuzz/$name.log" | tail -n 1), no crash"
	fi
done
exit $rc
