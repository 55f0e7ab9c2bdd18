#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test: a false alarm must not cut live connections. be2 keeps
# serving its clients while its probes fail (they go to another port, which
# be2 drops): the agent takes be2 out of new flows, and an established
# connection on be2 goes on being served. With `unhealthy_flows: move` the
# same situation moves be2's flows at once (the connection breaks: another
# backend answers it with a reset), and when the probes pass again be2 gets
# new flows again.
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
HELPER=$PWD/tests/lib/e2e_helper.py

KEY=xlbt-key-false-alarm
SVC="$XLBT_VIP4:80/tcp"

xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
BE2=$(xlbt_addr4 be2)

xlbt_backends_serve --http-port 8081 # the probes' port

# write_conf FILE [keep|move]: probes go to port 8081, clients to port 80.
write_conf() {
	cat >"$1" <<EOF
xlb:
  interfaces: [$(xlbt_dev lb)]
  on_no_healthy: fail_open
  admin: {listen: "127.0.0.1:9180", api_key: $KEY}
upstreams:
  - id: web
    type: roundrobin
    unhealthy_flows: ${2:-keep}
    nodes:
      - {host: $(xlbt_addr4 be1), port: 80, weight: 1}
      - {host: $BE2, port: 80, weight: 1}
      - {host: $(xlbt_addr4 be3), port: 80, weight: 1}
    checks:
      active:
        type: http
        port: 8081
        http_path: /
        timeout: 0.5
        healthy: {interval_ms: 200, successes: 2}
        unhealthy: {interval_ms: 200, http_failures: 2, tcp_failures: 2, timeouts: 2}
stream_routes:
  - {id: 1, server_addr: $XLBT_VIP4, server_port: 80, upstream_id: web}
EOF
}

CONF=$TMP/xlb.yaml
write_conf "$CONF" keep
xlbt_agent_start "$TMP/xlbd.log" "$CONF"
XLBD_PID=$XLBT_AGENT_PID
xlbt_wait_for 10 xlbt_node_is "$BE2" healthy || xlbt_fail "be2 healthy" "$(xlbt_node_status "$BE2")"

# keepalive NAME: a connection held on be2, one request every 0.1 s.
keepalive() {
	rm -f "$TMP/$1.ready"
	xlbt_bg_start client "$TMP/$1.out" python3 "$HELPER" keepalive --addr "$XLBT_VIP4" \
		--port 80 --want be2 --ready "$TMP/$1.ready" --log "$TMP/$1.log" --max-seconds 60
	KA=$XLBT_BG_PID
	xlbt_wait_for 10 test -s "$TMP/$1.ready" || xlbt_fail "connection held on be2" \
		"$(cat "$TMP/$1.log")"
}

# probes_blocked on|off: be2 drops the probes' port, and only that.
probes_blocked() {
	if [ "$1" = on ]; then
		xlbt_exec be2 nft -f - <<-'EOF' || xlbt_fail "nft on be2"
			table inet xlbt_probe {
				chain in { type filter hook input priority 0; tcp dport 8081 drop; }
			}
		EOF
	else
		xlbt_exec be2 nft delete table inet xlbt_probe || xlbt_fail "nft delete on be2"
	fi
}

# new_conns N: N new connections; the answering backends, one a line.
new_conns() {
	local i
	for ((i = 0; i < $1; i++)); do
		xlbt_exec client curl -s --max-time 2 "http://$XLBT_VIP4/" || echo "(failed)"
	done
}

# 1. Checks alone take be2 out: no new flows, the held connection goes on.
keepalive ka1
probes_blocked on
xlbt_wait_for 15 xlbt_node_is "$BE2" unhealthy || xlbt_fail "be2 unhealthy once its probes fail" \
	"$(xlbt_node_status "$BE2")"
xlbt_expect_eq "be2 in the maps (checks only)" "$(xlbt_map_state "$BE2:80")" draining
n0=$(grep -c '^ok be2' "$TMP/ka1.log")
out=$(new_conns 30 | sort | uniq -c)
grep -q " be2$\|failed" <<<"$out" && xlbt_fail "no new connection reaches be2" "$out"
sleep 2
n1=$(grep -c '^ok be2' "$TMP/ka1.log")
grep -q '^err' "$TMP/ka1.log" && xlbt_fail "the held connection on be2 survives the false alarm" \
	"$(grep '^err' "$TMP/ka1.log" | head -3)"
((n1 >= n0 + 10)) || xlbt_fail "be2 keeps serving the held connection" "$n0 -> $n1 requests"
xlbt_log "checks took be2 out: 30/30 new connections elsewhere, held connection served" \
	"$((n1 - n0)) more requests"

# 2. unhealthy_flows: move (a reload while be2 is still out): its flows move.
write_conf "$CONF" move
kill -HUP "$XLBD_PID"
be2_down() { [ "$(xlbt_map_state "$BE2:80")" = down ]; }
xlbt_wait_for 10 be2_down ||
	xlbt_fail "be2 down in the maps with unhealthy_flows: move" "$(xlbt_map_state "$BE2:80")"
xlbt_wait_for 10 grep -q '^err' "$TMP/ka1.log" ||
	xlbt_fail "the held connection moves off be2 (a reset from its new backend)" \
		"$(tail -3 "$TMP/ka1.log")"
xlbt_bg_stop "$KA"
xlbt_log "unhealthy_flows: move: be2 DOWN, the held connection ended: $(grep -m1 '^err' "$TMP/ka1.log")"

# 3. The probes pass again: be2 is active and gets new flows.
probes_blocked off
xlbt_wait_for 15 xlbt_node_is "$BE2" healthy || xlbt_fail "be2 healthy again" \
	"$(xlbt_node_status "$BE2")"
xlbt_expect_eq "be2 in the maps once healthy" "$(xlbt_map_state "$BE2:80")" active
out=$(new_conns 40 | sort | uniq -c)
grep -q " be2$" <<<"$out" || xlbt_fail "new connections reach be2 again" "$out"
grep -q "failed" <<<"$out" && xlbt_fail "every new connection answered" "$out"
echo "PASS: a probe-only failure kept the held connection ($((n1 - n0)) requests in 2 s while out); unhealthy_flows: move moved it"
