#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of passive health and kernel signals (xlbd), with active
# probes off (interval_ms 0) so that nothing else can take a node out:
#  1. be2's server stops answering SYNs (nftables drop in its namespace);
#     clients retry, the fast path sees their SYN retransmissions on flows
#     it sent to be2 and the agent marks be2 unhealthy (passive checks).
#  2. a node reached only through a route on the LB (an extra address of
#     be1 behind a /32 route) is marked unhealthy by the netlink path
#     within milliseconds of the route's deletion.
# Both are checked in the agent's health view, `xlb health` and /metrics.
# Nothing brings them back here: recovery is the active probes' job.
#
# Environment: XLB, XLBD (default build/xlb, build/xlbd). Exit: 0 pass,
# 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh

xlbt_require_root
xlbt_require_cmd ip curl python3 timeout nft
xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd

KEY=$XLBT_API_KEY
ADMIN=$XLBT_ADMIN
ROUTED=198.18.50.11 # be1's extra address, reachable only via a route on the LB

xlbt_testbed_up 2
TMP=$(xlbt_tmp_dir)
BE1=$(xlbt_addr4 be1)
BE2=$(xlbt_addr4 be2)

for be in be1 be2; do
	xlbt_xlb "$be" decap attach "$(xlbt_dev "$be")" 2>/dev/null || xlbt_fail "decap attach on $be"
	xlbt_xlb "$be" decap vip add "$XLBT_VIP4" || xlbt_fail "decap vip add on $be"
	xlbt_bg_start "$be" "$TMP/$be.log" python3 tests/lib/backend_server.py --name "$be" \
		--http-port 80
	xlbt_wait_for 5 xlbt_exec client curl -sf --max-time 1 "http://$(xlbt_addr4 "$be")/" ||
		xlbt_fail "server on $be did not start"
done
xlbt_exec be1 ip addr add "$ROUTED/32" dev lo || xlbt_fail "extra address on be1"
xlbt_exec lb ip route add "$ROUTED/32" via "$BE1" || xlbt_fail "route to $ROUTED on the LB"

# Passive checks only: probe interval_ms 0 (the configuration wants an active block).
CHECKS='{active: {type: tcp, healthy: {interval_ms: 0}, unhealthy: {interval_ms: 0}},
      passive: {type: tcp, unhealthy: {timeouts: 3, tcp_failures: 1}}}'
CONF=$TMP/xlb.yaml
cat >"$CONF" <<EOF
$(xlbt_agent_conf_head)
upstreams:
  - id: web
    type: roundrobin
    scheme: tcp
    nodes:
      - {host: $BE1, port: 80, weight: 1}
      - {host: $BE2, port: 80, weight: 1}
    checks: $CHECKS
  - id: routed
    type: roundrobin
    scheme: tcp
    nodes:
      - {host: $ROUTED, port: 80, weight: 1}
    checks: $CHECKS
stream_routes:
  - {id: 1, server_addr: $XLBT_VIP4, server_port: 80, upstream_id: web}
  - {id: 2, server_addr: $XLBT_VIP4, server_port: 81, upstream_id: routed}
EOF

LOG=$TMP/xlbd.log
xlbt_agent_start "$LOG" "$CONF"
grep -q "passive: no events\|netlink: no kernel signals" "$LOG" &&
	xlbt_fail "xlbd without its signal sources" "$(grep 'passive:\|netlink:' "$LOG")"

for a in "$BE1" "$BE2" "$ROUTED"; do
	xlbt_expect_eq "$a healthy at start" "$(xlbt_node_status "$a")" healthy
done

# --- 1. passive: be2 drops SYNs -------------------------------------------
xlbt_exec be2 nft add table inet xlbt || xlbt_fail "nft table on be2"
xlbt_exec be2 nft add chain inet xlbt in '{ type filter hook input priority 0; }' ||
	xlbt_fail "nft chain on be2"
xlbt_exec be2 nft add rule inet xlbt in tcp dport 80 tcp flags '& (syn|ack) == syn' drop ||
	xlbt_fail "nft rule on be2"
xlbt_log "be2 drops SYNs"

# Rounds of 8 parallel clients, 2.5 s connect timeout: each client that lands
# on be2 retransmits its SYN after 1 s (and 3 s), on the same 5-tuple.
t0=${EPOCHREALTIME/[.,]/}
for round in 1 2 3 4; do
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		xlbt_exec client curl -s -o /dev/null --connect-timeout 2.5 --max-time 3 \
			"http://$XLBT_VIP4/" &
		pids+=($!)
	done
	wait "${pids[@]}"
	xlbt_node_is "$BE2" unhealthy && break
done
t1=${EPOCHREALTIME/[.,]/}
xlbt_expect_eq "be2 unhealthy by passive checks" "$(xlbt_node_status "$BE2")" unhealthy
xlbt_expect_eq "be1 stays healthy" "$(xlbt_node_status "$BE1")" healthy
xlbt_log "be2 down by passive checks after $(((t1 - t0) / 1000)) ms of client retries"
grep -q "health: node=$BE2:80 upstream=web state=.*->unhealthy event=timeout reason=\"passive: SYN retransmitted" "$LOG" ||
	xlbt_fail "a health line for be2 naming the passive cause" "$(grep health: "$LOG" | tail -3)"
n=$(xlbt_metric 'xlb_passive_events_total{kind="syn_retransmit"}')
xlbt_expect_ge "xlb_passive_events_total{kind=syn_retransmit}" "${n:-0}" 3
# New connections avoid be2 now.
for i in 1 2 3 4 5 6 7 8 9 10; do
	out=$(xlbt_exec client curl -s --max-time 2 "http://$XLBT_VIP4/") ||
		xlbt_fail "request $i after be2 went down" "$out"
	xlbt_expect_eq "request $i answered by be1" "$out" be1
done

# --- 2. netlink: the route to a node disappears ---------------------------
t0=${EPOCHREALTIME/[.,]/}
xlbt_exec lb ip route del "$ROUTED/32" || xlbt_fail "route delete"
xlbt_wait_for 5 xlbt_node_is "$ROUTED" unhealthy ||
	xlbt_fail "$ROUTED unhealthy after its route went" "$(xlbt_node_status "$ROUTED")"
t1=${EPOCHREALTIME/[.,]/}
ms=$(((t1 - t0) / 1000))
xlbt_log "route deleted -> $ROUTED unhealthy seen in $ms ms (includes the polling)"
((ms < 1000)) || xlbt_fail "route deletion acted on within 1 s" "$ms ms"
grep -q "netlink: node=$ROUTED:80 upstream=routed kind=no_route" "$LOG" ||
	xlbt_fail "a netlink line for $ROUTED" "$(grep netlink: "$LOG" | tail -3)"
grep -q "health: node=$ROUTED:80 upstream=routed state=.*->unhealthy event=tcp_failure" "$LOG" ||
	xlbt_fail "a health line for $ROUTED" "$(grep health: "$LOG" | tail -3)"
n=$(xlbt_metric 'xlb_netlink_events_total{kind="no_route"}')
xlbt_expect_eq "xlb_netlink_events_total{kind=no_route}" "$n" 1
lat=$(xlbt_metric 'xlb_signal_flip_seconds{source="netlink",stat="max"}')
plat=$(xlbt_metric 'xlb_signal_flip_seconds{source="passive",stat="max"}')
xlbt_log "signal -> map write: netlink ${lat:-?} s, passive ${plat:-?} s"
[ -n "$lat" ] && [ -n "$plat" ] || xlbt_fail "xlb_signal_flip_seconds for both sources"

# --- the CLI and metrics show both ------------------------------------------
out=$(xlbt_agent_cli health) ||
	xlbt_fail "xlb health" "$out"
grep -q "$BE2 *unhealthy" <<<"$out" || xlbt_fail "xlb health: be2 unhealthy" "$out"
grep -q "$ROUTED *unhealthy" <<<"$out" || xlbt_fail "xlb health: $ROUTED unhealthy" "$out"
grep -q "$BE1 *healthy" <<<"$out" || xlbt_fail "xlb health: be1 healthy" "$out"
for node in "$BE2" "$ROUTED"; do
	v=$(xlbt_metric "xlb_node_health{node=\"$node:80\"}")
	xlbt_expect_eq "/metrics: $node unhealthy (xlb_node_health 0)" "$v" 0
done
echo PASS
