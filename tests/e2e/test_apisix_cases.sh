#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# APISIX compatibility of xlbd's Admin API, in the suite: every case of
# tests/apisix/cases.json (written from APISIX's schema and Admin API
# tests, each with its source) against a live xlbd, first with the objects
# in the Admin API's own store, then in a real etcd. A case matches when
# xlbd gives APISIX's status and error meaning, or the documented L4
# refusal (tests/apisix/MISMATCHES.md lists the decisions). Any mismatch
# fails the test; run_cases.py -v shows every answer.
#
# Exit: 0 pass, 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh

xlbt_require_exe XLBD build/xlbd
xlbt_require_root
xlbt_require_cmd ip python3 etcd

for mode in store etcd; do
	args=()
	[ "$mode" = etcd ] && args=(--etcd)
	out=$(XLBD=$XLBD python3 tests/apisix/run_cases.py "${args[@]}" 2>&1)
	rc=$?
	summary=$(grep -E '^[0-9]+ cases, ' <<<"$out" | tail -1)
	xlbt_log "objects in the $mode: ${summary:-no summary}"
	((rc == 0)) || xlbt_fail "APISIX cases, objects in the $mode" \
		"$(grep -vE '^[0-9]+ cases, ' <<<"$out" | head -c 1500)" "every case matching"
done
echo PASS
