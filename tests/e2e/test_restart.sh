#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of what a restarted xlbd takes over from the data plane:
#  1. be2's server dies and the checks mark it unhealthy; xlbd stops and
#     starts again, and right away (its first probes are seconds away) a
#     burst of new connections goes to the VIP: none may reach be2, which
#     the maps hold DOWN. be2 then needs the configured successes to
#     come back.
#  2. an operator's `xlb backend set --state down` shows in /v1/healthcheck
#     and `xlb health` as the operator's, survives a reconcile (xlb reload)
#     and a restart of xlbd, and `--state active` hands the node back.
#
# Environment: XLB, XLBD (default build/xlb, build/xlbd). Exit: 0 pass,
# 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh

xlbt_require_root
xlbt_require_cmd ip curl python3 timeout
xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd
HELPER=$PWD/tests/lib/e2e_helper.py

KEY=$XLBT_API_KEY
ADMIN=$XLBT_ADMIN
SVC="$XLBT_VIP4:80/tcp"
BURST=50

xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
xlbt_backends_serve
BE2=$(xlbt_addr4 be2)
BE3=$(xlbt_addr4 be3)

# Healthy nodes are probed every 2 s: a restarted agent that believed a dead
# node healthy would need at least 2 s (two failed probes) to see it dead.
CONF=$TMP/xlb.yaml
cat >"$CONF" <<EOF
$(xlbt_agent_conf_head)
upstreams:
  - id: web
    type: roundrobin
    scheme: tcp
    nodes:
      - {host: $(xlbt_addr4 be1), port: 80, weight: 1}
      - {host: $BE2, port: 80, weight: 1}
      - {host: $BE3, port: 80, weight: 1}
    checks:
      active:
        type: http
        http_path: /health
        healthy: {interval: 2, successes: 2}
        unhealthy: {interval_ms: 500, http_failures: 2, tcp_failures: 2, timeouts: 2}
stream_routes:
  - {id: 1, server_addr: $XLBT_VIP4, server_port: 80, upstream_id: web}
EOF

start_agent() {
	xlbt_agent_start "$TMP/xlbd.log.$1" "$CONF"
	XLBD_PID=$XLBT_AGENT_PID
}

# burst FILE: BURST new connections to the VIP, one answer (or error) a line.
burst() {
	xlbt_exec client python3 "$HELPER" connect --addr "$XLBT_VIP4" --port 80 \
		--count "$BURST" >"$1" || xlbt_fail "connection burst" "$(tail -3 "$1")"
}

# new_flows ADDR: the fast path's count of new flows sent to backend ADDR:80.
new_flows() {
	xlbt_xlb lb -j backend list | python3 -c '
import json, sys
print(sum(b["new_flows"] for b in json.load(sys.stdin) if b["backend"] == sys.argv[1]))' "$1:80"
}

# map_state ADDR: the state of backend ADDR:80 in the maps (active, draining, down).
map_state() {
	xlbt_map_state "$1:80"
}

start_agent 1
burst "$TMP/burst.0"
for be in be1 be2 be3; do
	grep -qx "$be" "$TMP/burst.0" || xlbt_fail "all healthy: $be gets connections" \
		"$(sort "$TMP/burst.0" | uniq -c)"
done

# 1. be2 dies; the checks take it out.
xlbt_bg_stop "${XLBT_SRV[be2]}"
xlbt_wait_for 15 xlbt_node_is "$BE2" unhealthy ||
	xlbt_fail "be2 marked unhealthy" "$(xlbt_node_status "$BE2")"
# Only checks speak against it: no new flows, established ones stay.
xlbt_expect_eq "be2 in the maps once unhealthy" "$(map_state "$BE2")" draining
xlbt_log "be2 unhealthy, DRAINING in the maps"

# The agent restarts; the burst comes before any probe of it could fail.
xlbt_bg_stop "$XLBD_PID" 5
flows0=$(new_flows "$BE2")
t0=${EPOCHREALTIME/[.,]/}
start_agent 2
burst "$TMP/burst.1"
t1=${EPOCHREALTIME/[.,]/}
flows1=$(new_flows "$BE2")
reached=$((flows1 - flows0))
refused=$(grep -cvx 'be[13]\|seconds .*' "$TMP/burst.1")
xlbt_log "restart + $BURST new connections in $(((t1 - t0) / 1000)) ms:" \
	"$reached new flows reached dead be2, $refused connections failed"
probes=$(grep -c "health: node=$BE2:80 .*->" "$TMP/xlbd.log.2")
[ "$reached" = 0 ] ||
	xlbt_fail "new connections to dead be2 after the restart ($probes health changes seen)" \
		"$reached of $BURST" 0
xlbt_expect_eq "failed connections after the restart" "$refused" 0
xlbt_expect_eq "be2's state after the restart" "$(xlbt_node_status "$BE2")" unhealthy
grep -q "node=$BE2:80 .*starts unhealthy" "$TMP/xlbd.log.2" ||
	xlbt_fail "the log says where be2's state came from" "$(grep "$BE2" "$TMP/xlbd.log.2")"

# be2's server is back: the configured 2 successes bring the node back.
xlbt_http_server be2
xlbt_wait_for 10 xlbt_node_is "$BE2" healthy ||
	xlbt_fail "be2 healthy again" "$(xlbt_node_status "$BE2")"
grep -q "node=$BE2:80 .*state=unhealthy->mostly_unhealthy event=success" "$TMP/xlbd.log.2" &&
	grep -q "node=$BE2:80 .*state=mostly_unhealthy->healthy event=success" \
		"$TMP/xlbd.log.2" ||
	xlbt_fail "be2 came back through mostly_unhealthy (2 successes)" \
		"$(grep "health: node=$BE2" "$TMP/xlbd.log.2")"
burst "$TMP/burst.2"
grep -qx be2 "$TMP/burst.2" || xlbt_fail "be2 gets connections again" \
	"$(sort "$TMP/burst.2" | uniq -c)"
xlbt_log "be2 back after 2 successes"

# 2. The operator takes be3 down by hand.
xlbt_xlb lb backend set "$SVC" "$BE3:80" --state down || xlbt_fail "xlb backend set --state down"
xlbt_expect_eq "/v1/healthcheck of an operator's down" "$(xlbt_node_status "$BE3")" \
	"down (operator)"
out=$(xlbt_agent_cli health) || xlbt_fail "xlb health" "$out"
grep -q "$BE3 *down (operator)" <<<"$out" || xlbt_fail "xlb health shows the operator's down" "$out"
hc=$(xlbt_exec lb curl -s --max-time 2 "$ADMIN/v1/healthcheck")
python3 -c '
import json, sys
n = [n for u in json.loads(sys.argv[1]) for n in u["nodes"] if n["ip"] == sys.argv[2]][0]
sys.exit(n["health"] != "healthy")' "$hc" "$BE3" ||
	xlbt_fail "/v1/healthcheck keeps the checks' own view in 'health'" "$hc"
# A reconcile (reload) and a restart keep it.
xlbt_agent_cli reload >/dev/null || xlbt_fail "xlb reload"
xlbt_expect_eq "an operator's down after a reload" "$(map_state "$BE3")" down
xlbt_bg_stop "$XLBD_PID" 5
start_agent 3
xlbt_expect_eq "an operator's down after a restart" "$(map_state "$BE3")" down
xlbt_expect_eq "/v1/healthcheck after a restart" "$(xlbt_node_status "$BE3")" "down (operator)"
sleep 2.5 # probes of be3 succeed meanwhile: they must not undo it
xlbt_expect_eq "an operator's down after be3's probes" "$(map_state "$BE3")" down
burst "$TMP/burst.3"
grep -qx be3 "$TMP/burst.3" && xlbt_fail "no new connection to be3 while down" \
	"$(sort "$TMP/burst.3" | uniq -c)"
# --state active hands it back to the agent.
xlbt_xlb lb backend set "$SVC" "$BE3:80" --state active || xlbt_fail "xlb backend set --state active"
xlbt_expect_eq "/v1/healthcheck after --state active" "$(xlbt_node_status "$BE3")" healthy
burst "$TMP/burst.4"
grep -qx be3 "$TMP/burst.4" || xlbt_fail "be3 gets connections again" \
	"$(sort "$TMP/burst.4" | uniq -c)"
xlbt_log "operator's down shown, kept across reload and restart, released"
echo "PASS: $reached of $BURST new connections reached the dead node after the restart"
