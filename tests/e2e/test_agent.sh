#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of xlbd, the agent, on the reference topology: it attaches
# the fast path itself from its configuration, health-checks real HTTP
# servers, takes a dead backend out and brings it back, obeys the Admin API,
# survives a broken configuration on SIGHUP, and a restart of the agent keeps
# established connections alive.
#
# Environment: XLB, XLBD (default build/xlb, build/xlbd). Exit: 0 pass,
# 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

HELPER=$PWD/tests/lib/e2e_helper.py

. tests/lib/testbed.sh
xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd

xlbt_require_root
xlbt_require_cmd ip curl python3 timeout

KEY=$XLBT_API_KEY
ADMIN=$XLBT_ADMIN
SVC="$XLBT_VIP4:80/tcp"

xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
xlbt_backends_serve

# write_conf FILE [WEIGHT3]: the agent's configuration (be3's weight varies).
write_conf() {
	cat >"$1" <<EOF
$(xlbt_agent_conf_head)
upstreams:
  - id: web
    type: roundrobin
    scheme: tcp
    nodes:
      - {host: $(xlbt_addr4 be1), port: 80, weight: 1}
      - {host: $(xlbt_addr4 be2), port: 80, weight: 1}
      - {host: $(xlbt_addr4 be3), port: 80, weight: ${2:-1}}
    checks:
      active:
        type: http
        http_path: /health
        healthy: {interval_ms: 200, successes: 2}
        unhealthy: {interval_ms: 200, http_failures: 2, tcp_failures: 2, timeouts: 2}
stream_routes:
  - {id: 1, server_addr: $XLBT_VIP4, server_port: 80, upstream_id: web}
EOF
}

CONF=$TMP/xlb.yaml
write_conf "$CONF"

# --check validates only: a good file passes, a bad one names file:line:col.
xlbt_exec lb "$XLBD" --check -c "$CONF" >/dev/null 2>&1 || xlbt_fail "xlbd --check on a good file"
sed 's/successes: 2}/successes: 2, sucesses: 3}/' "$CONF" >"$TMP/bad.yaml"
rc=0
out=$(xlbt_exec lb "$XLBD" --check -c "$TMP/bad.yaml" 2>&1) || rc=$?
xlbt_expect_eq "xlbd --check on a bad file: exit status" "$rc" 1
grep -q "bad.yaml:[0-9]*:[0-9]*: .*sucesses" <<<"$out" ||
	xlbt_fail "xlbd --check: FILE:LINE:COL: key: reason" "$out" "bad.yaml:L:C: ...sucesses..."

start_agent() {
	xlbt_agent_start "$TMP/xlbd.log.$1" "$CONF"
	XLBD_PID=$XLBT_AGENT_PID
}

start_agent 1
xlbt_log "xlbd up"
xlbt_xlb lb vip list | grep -q "^$XLBT_VIP4:80/tcp " || xlbt_fail "VIP in the maps" \
	"$(xlbt_xlb lb vip list)" "$SVC"

# requests N: one connection each; prints the answering backends, one a line.
requests() {
	local i
	for ((i = 0; i < $1; i++)); do
		xlbt_exec client curl -s --max-time 2 "http://$XLBT_VIP4/" || echo "(failed)"
	done
}

out=$(requests 60 | sort | uniq -c)
for be in be1 be2 be3; do
	grep -q " $be$" <<<"$out" || xlbt_fail "all healthy: $be gets traffic" "$out" "be1 be2 be3"
done
xlbt_log "traffic spread over 3 healthy backends"

# A backend's server dies: the agent takes it out, new connections avoid it.
BE2=$(xlbt_addr4 be2)
xlbt_bg_stop "${XLBT_SRV[be2]}"
t0=${EPOCHREALTIME/[.,]/}
xlbt_wait_for 10 xlbt_node_is "$BE2" unhealthy || xlbt_fail "be2 marked unhealthy" "$(xlbt_node_status "$BE2")"
t1=${EPOCHREALTIME/[.,]/}
xlbt_log "be2 down detected in $(((t1 - t0) / 1000)) ms (interval 0.2 s, 2 failures)"
grep -q "health: node=$BE2:80 upstream=web state=.*->unhealthy" "$TMP/xlbd.log.1" ||
	xlbt_fail "a log line for the state change" "$(grep health: "$TMP/xlbd.log.1" | tail -3)"
out=$(requests 40 | sort | uniq -c)
grep -q " be2$\|failed" <<<"$out" && xlbt_fail "no new connection reaches dead be2" "$out"

# It comes back: traffic returns after the healthy threshold.
xlbt_http_server be2
xlbt_wait_for 10 xlbt_node_is "$BE2" healthy || xlbt_fail "be2 healthy again" "$(xlbt_node_status "$BE2")"
out=$(requests 60 | sort | uniq -c)
grep -q " be2$" <<<"$out" || xlbt_fail "be2 gets traffic again" "$out"
xlbt_log "be2 back"

# Admin API: the key is required; a bad body is a 400 and changes nothing.
code=$(xlbt_exec lb curl -s -o /dev/null -w '%{http_code}' "$ADMIN/apisix/admin/upstreams")
xlbt_expect_eq "admin without X-API-KEY" "$code" 401
admin() {
	xlbt_exec lb curl -s -o "$TMP/admin.out" -w '%{http_code}' -H "X-API-KEY: $KEY" "$@"
}
code=$(admin "$ADMIN/apisix/admin/upstreams/web")
xlbt_expect_eq "GET upstream web" "$code" 200
grep -q '"key":"/apisix/upstreams/web"' "$TMP/admin.out" || xlbt_fail "GET body" "$(cat "$TMP/admin.out")"
before=$(xlbt_xlb lb -j backend list)
code=$(admin -X PUT -d '{"nodes": {"198.18.0.12:80": "heavy"}}' "$ADMIN/apisix/admin/upstreams/web")
xlbt_expect_eq "PUT a bad upstream" "$code" 400
grep -q "weight" "$TMP/admin.out" || xlbt_fail "400 names the problem" "$(cat "$TMP/admin.out")"
xlbt_expect_eq "a bad PUT changes nothing" "$(xlbt_xlb lb -j backend list)" "$before"
body=$(printf '{"type":"roundrobin","nodes":[{"host":"%s","port":80,"weight":1},{"host":"%s","port":80,"weight":1},{"host":"%s","port":80,"weight":0}],"checks":{"active":{"type":"http","http_path":"/health","healthy":{"interval_ms":200,"successes":2},"unhealthy":{"interval_ms":200,"http_failures":2,"tcp_failures":2,"timeouts":2}}}}' \
	"$(xlbt_addr4 be1)" "$(xlbt_addr4 be2)" "$(xlbt_addr4 be3)")
code=$(admin -X PUT -d "$body" "$ADMIN/apisix/admin/upstreams/web")
xlbt_expect_eq "PUT upstream web (be3 weight 0)" "$code" 200
out=$(requests 40 | sort | uniq -c)
grep -q " be3$" <<<"$out" && xlbt_fail "weight 0 via the Admin API: be3 gets nothing" "$out"
code=$(admin -X DELETE "$ADMIN/apisix/admin/stream_routes/1")
xlbt_expect_eq "DELETE stream route 1" "$code" 200
xlbt_xlb lb vip list | grep -q "^$XLBT_VIP4:80/tcp " && xlbt_fail "VIP removed by DELETE"
xlbt_log "admin API ok"

# SIGHUP with a broken file: reported, and the running configuration stays.
cp "$TMP/bad.yaml" "$CONF"
kill -HUP "$XLBD_PID"
xlbt_wait_for 5 grep -q "running configuration stays" "$TMP/xlbd.log.1" ||
	xlbt_fail "bad reload reported" "$(tail -5 "$TMP/xlbd.log.1")"
kill -0 "$XLBD_PID" || xlbt_fail "xlbd survives a bad reload"
# A good file: the route is back (the file is the truth after a reload).
write_conf "$CONF"
kill -HUP "$XLBD_PID"
xlbt_wait_for 5 sh -c "grep -q 'reload: done' '$TMP/xlbd.log.1'" ||
	xlbt_fail "good reload" "$(tail -5 "$TMP/xlbd.log.1")"
out=$(requests 30 | sort | uniq -c)
grep -q "failed" <<<"$out" && xlbt_fail "VIP serves after reload" "$out"
xlbt_log "reload ok"

# reload_wait WHAT: SIGHUP, and the next "reload: done".
reload_wait() {
	local n
	n=$(grep -c "reload: done" "$TMP/xlbd.log.1")
	kill -HUP "$XLBD_PID"
	xlbt_wait_for 5 sh -c "[ \$(grep -c 'reload: done' '$TMP/xlbd.log.1') -gt $n ]" ||
		xlbt_fail "$1" "$(tail -5 "$TMP/xlbd.log.1")"
}
# An edit inside one upstream: that item alone is parsed again, and it takes.
write_conf "$CONF" 0
reload_wait "reload with be3's weight 0"
grep -q "reload: 1 of upstreams at \[0\] parsed again (were 1), the rest kept" "$TMP/xlbd.log.1" ||
	xlbt_fail "the edited upstream alone is parsed again" "$(grep reload: "$TMP/xlbd.log.1" | tail -3)"
out=$(requests 40 | sort | uniq -c)
grep -q " be3$\|failed" <<<"$out" && xlbt_fail "weight 0 by a file edit: be3 gets nothing" "$out"
write_conf "$CONF"
reload_wait "reload with be3's weight 1"
out=$(requests 60 | sort | uniq -c)
grep -q " be3$" <<<"$out" || xlbt_fail "be3 gets traffic again after the edit back" "$out"
xlbt_log "reload of one edited upstream ok"
# An upstream with its stream route in one edit: two steps, one list each.
web2="  - {id: web2, type: roundrobin, nodes: [{host: $(xlbt_addr4 be1), port: 80, weight: 1}]}"
sed -i "s/^stream_routes:\$/$web2\nstream_routes:/" "$CONF"
echo "  - {id: 2, server_addr: $XLBT_VIP4, server_port: 81, upstream_id: web2}" >>"$CONF"
reload_wait "reload adding an upstream and its stream route"
grep -q "reload: [0-9]* of upstreams at \[[0-9]*\] and [0-9]* of stream_routes at \[[0-9]*\] parsed again" \
	"$TMP/xlbd.log.1" || xlbt_fail "both lists parsed again, in two steps" \
	"$(grep reload: "$TMP/xlbd.log.1" | tail -3)"
xlbt_xlb lb vip list | grep -q "^$XLBT_VIP4:81/tcp " ||
	xlbt_fail "the new stream route's VIP" "$(xlbt_xlb lb vip list)"
write_conf "$CONF"
reload_wait "reload removing them"
xlbt_xlb lb vip list | grep -q "^$XLBT_VIP4:81/tcp " &&
	xlbt_fail "the removed stream route's VIP is gone" "$(xlbt_xlb lb vip list)"
out=$(requests 30 | sort | uniq -c)
grep -q "failed" <<<"$out" && xlbt_fail "the VIP serves after both reloads" "$out"
xlbt_log "reload of an upstream with its route, added and removed, ok"

out=$(xlbt_agent_cli health) || xlbt_fail "xlb health" "$out"
for be in be1 be2 be3; do
	grep -q "$(xlbt_addr4 $be) *healthy" <<<"$out" || xlbt_fail "xlb health lists $be healthy" "$out"
done
out=$(xlbt_agent_cli upstream list) || xlbt_fail "xlb upstream list" "$out"
grep -q "/apisix/upstreams/web" <<<"$out" || xlbt_fail "xlb upstream list shows web" "$out"
out=$(xlbt_agent_cli upstream show web) || xlbt_fail "xlb upstream show web" "$out"
grep -q "$(xlbt_addr4 be3):80 *weight 1 .*healthy *source config *confirmed [0-9.]* s ago" <<<"$out" ||
	xlbt_fail "xlb upstream show: node, weight, health" "$out"
rc=0
out=$(xlbt_agent_cli upstream show nosuch 2>&1) || rc=$?
xlbt_expect_eq "xlb upstream show of a missing upstream: exit" "$rc" 2
cp "$TMP/bad.yaml" "$CONF"
rc=0
out=$(xlbt_agent_cli reload 2>&1) || rc=$?
xlbt_expect_eq "xlb reload of a bad file: exit" "$rc" 2
grep -q "xlb.yaml:[0-9]*:[0-9]*: .*sucesses" <<<"$out" || xlbt_fail "xlb reload names the problem" "$out"
write_conf "$CONF"
xlbt_agent_cli reload >/dev/null || xlbt_fail "xlb reload of a good file"
xlbt_log "xlb health / upstream / reload ok"

# Metrics in Prometheus text, as promtool reads them (a dependency: missing
# fails): one health series per node; per upstream with metrics.per_node false.
command -v promtool >/dev/null ||
	xlbt_fail "promtool on PATH (Debian package prometheus: scripts/install-deps.sh)"
m=$(xlbt_exec lb curl -s "$ADMIN/metrics")
for name in 'xlb_vip_packets_total{vip="198.18.100.1:80/tcp"}' 'xlb_node_health{node=' \
	'xlb_reason_packets_total{reason="fwd_encap"}' 'xlb_health_flip_seconds{stat="max"}' \
	'# HELP xlb_node_health ' 'xlb_nodes{state="healthy"}'; do
	grep -qF "$name" <<<"$m" || xlbt_fail "metric $name" "$(head -20 <<<"$m")"
done
xlbt_expect_eq "/metrics: xlb_node_health series (one a node)" \
	"$(grep -c '^xlb_node_health{' <<<"$m")" 3
out=$(promtool check metrics <<<"$m" 2>&1) || xlbt_fail "promtool check metrics (per node)" "$out"
sed -i 's/^  log_level: info$/  metrics: {per_node: maybe}\n&/' "$CONF"
out=$(xlbt_exec lb "$XLBD" --check -c "$CONF" 2>&1) && xlbt_fail "xlbd --check: per_node: maybe"
grep -q "xlb.yaml:[0-9]*:[0-9]*: .*per_node.*true or false" <<<"$out" ||
	xlbt_fail "a bad metrics.per_node is named" "$out" "xlb.yaml:L:C: xlb.metrics.per_node: ..."
sed -i 's/per_node: maybe/per_node: false/' "$CONF"
xlbt_agent_cli reload >/dev/null || xlbt_fail "xlb reload with metrics.per_node false"
m=$(xlbt_exec lb curl -s "$ADMIN/metrics")
n=$(awk '/^xlb_upstream_nodes\{upstream="web",/ { n += $2 } END { print n + 0 }' <<<"$m")
xlbt_expect_eq "/metrics per upstream: web's nodes over the states" "$n" 3
grep -q '^xlb_node_' <<<"$m" && xlbt_fail "/metrics per upstream: no node series" \
	"$(grep '^xlb_node_' <<<"$m" | head -3)"
out=$(promtool check metrics <<<"$m" 2>&1) || xlbt_fail "promtool check metrics (per upstream)" "$out"
write_conf "$CONF"
xlbt_agent_cli reload >/dev/null || xlbt_fail "xlb reload back to metrics per node"
xlbt_log "/metrics: promtool passes per node and per upstream"

# Restart of the agent: an established connection keeps working throughout.
xlbt_bg_start client "$TMP/ka.out" python3 "$HELPER" keepalive --addr "$XLBT_VIP4" --port 80 \
	--want be1 --ready "$TMP/ka.ready" --log "$TMP/ka.log" --max-seconds 30
KA=$XLBT_BG_PID
xlbt_wait_for 10 test -s "$TMP/ka.ready" || xlbt_fail "keep-alive connection" "$(cat "$TMP/ka.log")"
xlbt_bg_stop "$XLBD_PID" 5
sleep 1
start_agent 2
sleep 1
n0=$(grep -c '^ok' "$TMP/ka.log")
sleep 0.5
n1=$(grep -c '^ok' "$TMP/ka.log")
xlbt_bg_stop "$KA"
grep -q '^err' "$TMP/ka.log" && xlbt_fail "connection across the agent restart" \
	"$(grep '^err' "$TMP/ka.log" | head -3)"
((n1 > n0)) || xlbt_fail "requests keep flowing after the restart" "$n0 -> $n1"
xlbt_log "agent restart kept the connection ($n1 requests)"
echo PASS
