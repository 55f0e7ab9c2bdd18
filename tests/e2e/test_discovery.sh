#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of the agent with its configuration in etcd and its nodes
# from DNS, both real servers (etcd, unbound) started by the test inside the
# LB's namespace, with real TCP clients through the fast path:
#  - /apisix/upstreams/web (discovery_type dns) and /apisix/stream_routes/1
#    in etcd become a VIP whose members are the SRV records' targets;
#  - a changed SRV record (unbound-control) changes the members;
#  - a stream route put into etcd and deleted again appears and disappears;
#  - garbage put over the upstream keeps the running version;
#  - etcd killed: traffic goes on; restarted: the watch resumes and a later
#    put is applied; DNS server stopped: nodes kept, errors counted;
#  - a Consul upstream (the scripted registry server in Consul's shapes):
#    blocking queries follow a change, HTTP 500 keeps the nodes.
#
# Environment: XLB, XLBD. Exit: 0 pass, 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh
xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd

xlbt_require_root
xlbt_require_cmd ip curl python3 timeout etcd etcdctl unbound unbound-control

KEY=$XLBT_API_KEY
ADMIN=$XLBT_ADMIN
ETCD=http://127.0.0.1:23790
DNS_PORT=5353
ZONE=xlbt.test

xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)

for be in $(xlbt_backends); do
	xlbt_xlb "$be" decap attach "$(xlbt_dev "$be")" 2>/dev/null || xlbt_fail "decap attach on $be"
	xlbt_xlb "$be" decap vip add "$XLBT_VIP4" || xlbt_fail "decap vip add on $be"
	xlbt_bg_start "$be" "$TMP/$be.log" python3 tests/lib/backend_server.py --name "$be" \
		--http-port 80 --http-port 8080
	xlbt_wait_for 5 xlbt_exec client curl -sf --max-time 1 "http://$(xlbt_addr4 "$be")/" ||
		xlbt_fail "server on $be did not start"
done

# --- DNS: unbound on the LB's loopback, records changed live --------------------
cat >"$TMP/unbound.conf" <<EOF
server:
  interface: 127.0.0.1
  port: $DNS_PORT
  do-daemonize: no
  use-syslog: no
  logfile: ""
  username: ""
  chroot: ""
  directory: "$TMP"
  pidfile: "$TMP/unbound.pid"
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  local-zone: "$ZONE." static
  local-data: "_web._tcp.$ZONE. 1 IN SRV 10 5 80 be1.$ZONE."
  local-data: "_web._tcp.$ZONE. 1 IN SRV 10 5 80 be2.$ZONE."
  local-data: "be1.$ZONE. 1 IN A $(xlbt_addr4 be1)"
  local-data: "be2.$ZONE. 1 IN A $(xlbt_addr4 be2)"
  local-data: "be3.$ZONE. 1 IN A $(xlbt_addr4 be3)"
remote-control:
  control-enable: yes
  control-interface: "$TMP/unbound.ctl"
  control-use-cert: no
EOF
start_dns() {
	xlbt_bg_start lb "$TMP/unbound.log" unbound -d -c "$TMP/unbound.conf"
	DNS_PID=$XLBT_BG_PID
	xlbt_wait_for 5 xlbt_exec lb unbound-control -c "$TMP/unbound.conf" status ||
		xlbt_fail "unbound did not start" "$(tail -5 "$TMP/unbound.log")"
}
dnsctl() {
	xlbt_exec lb unbound-control -c "$TMP/unbound.conf" "$@" >/dev/null ||
		xlbt_fail "unbound-control $*"
}
start_dns

# --- etcd on the LB's loopback ------------------------------------------------------
start_etcd() {
	xlbt_bg_start lb "$TMP/etcd.log.$1" etcd --name xlbt --data-dir "$TMP/etcd" \
		--listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
		--listen-peer-urls http://127.0.0.1:23800 \
		--initial-advertise-peer-urls http://127.0.0.1:23800 \
		--initial-cluster xlbt=http://127.0.0.1:23800
	ETCD_PID=$XLBT_BG_PID
	xlbt_wait_for 15 xlbt_exec lb curl -sf --max-time 1 "$ETCD/health" ||
		xlbt_fail "etcd did not start" "$(tail -5 "$TMP/etcd.log.$1")"
}
ectl() {
	xlbt_exec lb env ETCDCTL_API=3 timeout 10 etcdctl --endpoints="$ETCD" "$@" >/dev/null ||
		xlbt_fail "etcdctl $*"
}
start_etcd 1

# --- Consul: the scripted registry server plays it (no Consul in Debian) ----------
xlbt_bg_start lb "$TMP/registry.out" python3 tests/lib/registry_server.py
REG_PID=$XLBT_BG_PID
xlbt_wait_for 5 test -s "$TMP/registry.out" || xlbt_fail "registry server did not start"
CONSUL_PORT=$(head -n 1 "$TMP/registry.out")
# consul_set INDEX ADDR...: /v1/health/service/api answers these instances at
# INDEX, at once the first time and after 1 s (a blocking query) after that.
consul_set() {
	local index=$1 a body='[' sep=''
	shift
	for a in "$@"; do
		body+="$sep"'{"Node":{"Node":"n-'$a'","Address":"'$a'"},"Service":{"ID":"api-'$a'","Service":"api","Address":"","Port":80,"Weights":{"Passing":1,"Warning":1}},"Checks":[]}'
		sep=,
	done
	body+=']'
	xlbt_exec lb curl -sf --max-time 2 -X POST "http://127.0.0.1:$CONSUL_PORT/_ctl/script" -d \
		'{"routes":{"/v1/health/service/api":[{"headers":{"X-Consul-Index":"'$index'"},"body":'"$body"'},{"headers":{"X-Consul-Index":"'$index'"},"body":'"$body"',"delay":1}]}}' \
		>/dev/null || xlbt_fail "scripting the registry server"
}
consul_fail() {
	xlbt_exec lb curl -sf --max-time 2 -X POST "http://127.0.0.1:$CONSUL_PORT/_ctl/script" -d \
		'{"routes":{"/v1/health/service/api":[{"status":500,"body":"boom"}]}}' >/dev/null ||
		xlbt_fail "scripting the registry server"
}

UPSTREAM='{"type":"roundrobin","discovery_type":"dns","service_name":"_web._tcp.'$ZONE'"}'
ectl put /apisix/upstreams/web "$UPSTREAM"
ectl put /apisix/stream_routes/1 '{"server_addr":"'$XLBT_VIP4'","server_port":80,"upstream_id":"web"}'

CONF=$TMP/xlb.yaml
cat >"$CONF" <<EOF
xlb:
  interfaces: [$(xlbt_dev lb)]
  encap_src: 198.18.128.0/24
  admin: {listen: "127.0.0.1:9180", api_key: $KEY}
deployment:
  role: traditional
  etcd: {host: ["$ETCD"], prefix: /apisix, timeout: 5}
discovery:
  dns: {servers: ["127.0.0.1:$DNS_PORT"], min_ttl: 1, max_ttl: 2, timeout: 1}
  consul: {servers: ["http://127.0.0.1:$CONSUL_PORT"], fetch_interval: 0.5, timeout: {wait: 2}}
EOF
xlbt_agent_start "$TMP/xlbd.log" "$CONF"
LOG=$TMP/xlbd.log

# requests N [PORT]: one connection each; the answering backends, one a line.
requests() {
	local i
	for ((i = 0; i < $1; i++)); do
		xlbt_exec client curl -s --max-time 2 "http://$XLBT_VIP4:${2:-80}/" || echo "(failed)"
	done
}
# members [PORT]: the VIP's backends in the maps; has_member ADDR [PORT].
members() {
	xlbt_xlb lb backend list "$XLBT_VIP4:${1:-80}/tcp" 2>&1
}
has_member() {
	members "${2:-80}" | grep -qwF "$1"
}
no_member() {
	! has_member "$@"
}
no_vip_port() {
	! xlbt_xlb lb vip list | grep -q ":$1/tcp"
}
# metric NAME: the value of the agent's /metrics sample NAME (with labels).
metric() {
	xlbt_exec lb curl -s --max-time 2 "$ADMIN/metrics" | awk -v n="$1" '$1 == n {print $2}'
}
metric_is() {
	[ "$(metric "$1")" = "$2" ]
}
metric_gt() {
	local v
	v=$(metric "$1")
	[ -n "$v" ] && [ "${v%.*}" -gt "$2" ]
}
BE1=$(xlbt_addr4 be1) BE2=$(xlbt_addr4 be2) BE3=$(xlbt_addr4 be3)
xlbt_wait_for 10 has_member "$BE2" || xlbt_fail "etcd route + DNS SRV -> VIP with be1, be2" \
	"$(members)" "$(tail -20 "$LOG")"
out=$(requests 40 | sort | uniq -c)
for be in be1 be2; do
	grep -q " $be$" <<<"$out" || xlbt_fail "SRV targets get traffic: $be" "$out"
done
grep -q " be3$\|failed" <<<"$out" && xlbt_fail "only SRV targets get traffic" "$out"
out=$(xlbt_agent_cli upstream show web) || xlbt_fail "xlb upstream show web" "$out"
grep -q "discovery dns service _web._tcp.$ZONE" <<<"$out" || xlbt_fail "show: discovery line" "$out"
grep -q "$BE1:80 .*source dns *confirmed [0-9.]* s ago" <<<"$out" ||
	xlbt_fail "show: node source and confirmation" "$out"
xlbt_log "etcd + DNS: VIP serves be1, be2"

# A record changes: be3 joins the SRV set, be1 leaves.
t0=${EPOCHREALTIME/[.,]/}
dnsctl local_data "_web._tcp.$ZONE. 1 IN SRV 10 5 80 be3.$ZONE."
dnsctl local_data_remove "_web._tcp.$ZONE."
dnsctl local_data "_web._tcp.$ZONE. 1 IN SRV 10 5 80 be2.$ZONE."
dnsctl local_data "_web._tcp.$ZONE. 1 IN SRV 10 5 80 be3.$ZONE."
xlbt_wait_for 10 has_member "$BE3" || xlbt_fail "DNS change followed: be3 in" "$(members)" \
	"$(grep discovery "$LOG" | tail -5)"
xlbt_wait_for 10 no_member "$BE1" ||
	xlbt_fail "DNS change followed: be1 out" "$(members)"
t1=${EPOCHREALTIME/[.,]/}
xlbt_log "SRV change followed in $(((t1 - t0) / 1000)) ms (TTL 1 s)"
out=$(requests 40 | sort | uniq -c)
grep -q " be1$\|failed" <<<"$out" && xlbt_fail "be1 gets no new connections" "$out"
grep -q " be3$" <<<"$out" || xlbt_fail "be3 gets traffic" "$out"

# A stream route through etcd: appears, then goes.
t0=${EPOCHREALTIME/[.,]/}
ectl put /apisix/stream_routes/2 '{"server_addr":"'$XLBT_VIP4'","server_port":8080,"upstream":{"nodes":[{"host":"'$BE1'","port":8080,"weight":1}]}}'
xlbt_wait_for 5 has_member "$BE1" 8080 || xlbt_fail "route 2 from etcd" "$(xlbt_xlb lb vip list)"
t1=${EPOCHREALTIME/[.,]/}
xlbt_log "etcd put -> VIP in the maps in $(((t1 - t0) / 1000)) ms"
out=$(requests 5 8080 | sort | uniq -c)
grep -q " 5 be1$" <<<"$out" || xlbt_fail "route 2 serves from be1" "$out"
ectl del /apisix/stream_routes/2
xlbt_wait_for 5 no_vip_port 8080 ||
	xlbt_fail "route 2 deleted from etcd" "$(xlbt_xlb lb vip list)"

# A static upstream and its stream route through etcd: each applied alone,
# without parsing the whole configuration again; then both deleted.
ectl put /apisix/upstreams/static '{"id":"static","type":"roundrobin","nodes":[{"host":"'$BE1'","port":8080,"weight":1}]}'
ectl put /apisix/stream_routes/3 '{"id":"3","server_addr":"'$XLBT_VIP4'","server_port":8080,"upstream_id":"static"}'
xlbt_wait_for 5 has_member "$BE1" 8080 || xlbt_fail "route 3 from etcd" "$(xlbt_xlb lb vip list)"
grep -q "etcd: [0-9]* objects applied one by one" "$LOG" ||
	xlbt_fail "etcd's objects applied one by one" "$(grep etcd: "$LOG" | tail -5)"
out=$(requests 5 8080 | sort | uniq -c)
grep -q " 5 be1$" <<<"$out" || xlbt_fail "route 3 serves from be1" "$out"
ectl del /apisix/stream_routes/3
ectl del /apisix/upstreams/static
xlbt_wait_for 5 no_vip_port 8080 ||
	xlbt_fail "route 3 deleted from etcd" "$(xlbt_xlb lb vip list)"
xlbt_log "etcd: an upstream and its route added and deleted, one by one"

# An Admin API edit goes to etcd (and so persists), then comes back by the watch.
code=$(xlbt_exec lb curl -s -o "$TMP/admin.out" -w '%{http_code}' -H "X-API-KEY: $KEY" -X PUT \
	-d '{"server_addr":"'$XLBT_VIP4'","server_port":8080,"upstream_id":"web"}' \
	"$ADMIN/apisix/admin/stream_routes/4")
xlbt_expect_eq "admin PUT with etcd (a new route: 201)" "$code" 201
xlbt_exec lb env ETCDCTL_API=3 etcdctl --endpoints="$ETCD" get /apisix/stream_routes/4 |
	grep -q '"server_port":8080' || xlbt_fail "admin PUT stored in etcd"
xlbt_wait_for 5 has_member "$BE2" 8080 || xlbt_fail "admin PUT applied through the watch" \
	"$(xlbt_xlb lb vip list)"
code=$(xlbt_exec lb curl -s -o "$TMP/admin.out" -w '%{http_code}' -H "X-API-KEY: $KEY" \
	-X DELETE "$ADMIN/apisix/admin/stream_routes/4")
xlbt_expect_eq "admin DELETE with etcd" "$code" 200
xlbt_wait_for 5 no_vip_port 8080 || xlbt_fail "admin DELETE applied through etcd"
xlbt_log "admin API edits persist in etcd"

# Garbage over the upstream: the running version stays, the problem is said.
ectl put /apisix/upstreams/web '{"type":"roundrobin","nodes":{"not-an-address:80":"heavy"}}'
xlbt_wait_for 5 grep -q "etcd: /apisix/upstreams/web: .*the running version stays" "$LOG" ||
	xlbt_fail "an invalid upstream in etcd is refused" "$(tail -5 "$LOG")"
ectl put /apisix/upstreams/web 'not json {'
xlbt_wait_for 5 metric_is xlb_etcd_bad_values 1 ||
	xlbt_fail "a non-JSON value is counted" "$(xlbt_exec lb curl -s "$ADMIN/metrics" | grep "^xlb_etcd")"
out=$(requests 20 | sort | uniq -c)
grep -q "failed" <<<"$out" && xlbt_fail "VIP serves through bad etcd values" "$out"
ectl put /apisix/upstreams/web "$UPSTREAM"
xlbt_log "bad etcd values refused, VIP kept serving"

# One key with two problems costs that key only; a good key beside it applies.
ectl put /apisix/stream_routes/6 '{"server_addr":"'$XLBT_VIP4'","server_port":8086,"upstream_id":"web","service_id":"s","plugins":{}}'
ectl put /apisix/stream_routes/7 '{"server_addr":"'$XLBT_VIP4'","server_port":8087,"upstream_id":"web"}'
xlbt_wait_for 5 has_member "$BE2" 8087 || xlbt_fail "a good route beside a bad one applies" \
	"$(xlbt_xlb lb vip list)" "$(grep etcd: "$LOG" | tail -4)"
no_vip_port 8086 || xlbt_fail "the bad route is left out" "$(xlbt_xlb lb vip list)"
grep -q "etcd: /apisix/stream_routes/6: .*left out" "$LOG" ||
	xlbt_fail "the bad route is named" "$(grep etcd: "$LOG" | tail -4)"
# Deleting an upstream a route uses is refused, and later changes still apply.
ectl del /apisix/upstreams/web
xlbt_wait_for 5 grep -q "etcd: /apisix/upstreams/web: .*deletion is refused" "$LOG" ||
	xlbt_fail "deleting a used upstream is refused" "$(grep etcd: "$LOG" | tail -4)"
ectl put /apisix/stream_routes/8 '{"server_addr":"'$XLBT_VIP4'","server_port":8088,"upstream_id":"web"}'
xlbt_wait_for 5 has_member "$BE2" 8088 || xlbt_fail "changes apply after a refused deletion" \
	"$(xlbt_xlb lb vip list)" "$(grep etcd: "$LOG" | tail -4)"
ectl put /apisix/upstreams/web "$UPSTREAM"
ectl del /apisix/stream_routes/6
ectl del /apisix/stream_routes/7
ectl del /apisix/stream_routes/8
xlbt_wait_for 5 no_vip_port 8088 || xlbt_fail "routes 7, 8 deleted" "$(xlbt_xlb lb vip list)"
xlbt_log "etcd: a bad key costs that key only; a refused deletion blocks nothing"

# An APISIX deployment's etcd: HTTP routes, services, consumers, SSL objects,
# plugins... beside the stream routes, in APISIX's value shape, and upstreams
# only HTTP routes use, with keys only an HTTP proxy has. xlb serves what it
# serves, counts the rest by kind, logs none of it per key, and keeps taking
# changes.
T='"create_time":1733600000,"update_time":1733600001'
HTTP_UP='"type":"roundrobin","nodes":{"'$BE1':80":1},"scheme":"http","pass_host":"rewrite","upstream_host":"www.example.com","retries":2,"retry_timeout":5,"timeout":{"connect":6,"send":6,"read":6},"keepalive_pool":{"size":320,"idle_timeout":60,"requests":1000}'
ectl put /apisix/upstreams/http1 '{"id":"http1",'"$HTTP_UP,$T"'}'
ectl put /apisix/upstreams/http2 '{"id":"http2","type":"chash","hash_on":"header","key":"X-User",'"${HTTP_UP#*,},$T"'}'
ectl put /apisix/routes/1 '{"id":"1","uri":"/hello","methods":["GET"],"upstream_id":"http1","plugins":{"limit-count":{"count":2,"time_window":60}},'"$T"'}'
ectl put /apisix/routes/2 '{"id":"2","uri":"/api/*","host":"api.example.com","service_id":"1",'"$T"'}'
ectl put /apisix/services/1 '{"id":"1","upstream_id":"http2","plugins":{"proxy-rewrite":{"uri":"/"}},'"$T"'}'
ectl put /apisix/consumers/jack '{"username":"jack","plugins":{"key-auth":{"key":"auth-one"}},'"$T"'}'
ectl put /apisix/ssls/1 '{"id":"1","snis":["www.example.com"],"cert":"-----BEGIN CERTIFICATE-----","key":"-----BEGIN PRIVATE KEY-----",'"$T"'}'
ectl put /apisix/global_rules/1 '{"id":"1","plugins":{"prometheus":{}},'"$T"'}'
ectl put /apisix/plugin_configs/1 '{"id":"1","plugins":{"cors":{}},'"$T"'}'
ectl put /apisix/plugin_metadata/http-logger '{"id":"http-logger","log_format":{"host":"$host"}}'
ectl put /apisix/plugins '[{"name":"limit-count"},{"name":"key-auth"},{"name":"prometheus"}]'
ectl put /apisix/protos/1 '{"id":"1","content":"syntax = \"proto3\";",'"$T"'}'
ectl put /apisix/stream_routes/9 '{"id":"9","server_addr":"'$XLBT_VIP4'","server_port":8089,"upstream_id":"web",'"$T"'}'
xlbt_wait_for 5 has_member "$BE2" 8089 || xlbt_fail "a stream route beside an APISIX deployment's objects" \
	"$(xlbt_xlb lb vip list)" "$(grep etcd: "$LOG" | tail -4)"
for kv in upstreams=2 routes=2 services=1 consumers=1 ssls=1 global_rules=1 plugin_configs=1 \
	plugin_metadata=1 plugins=1 protos=1 other=0; do
	xlbt_wait_for 5 metric_is "xlb_etcd_ignored_keys{kind=\"${kv%=*}\"}" "${kv#*=}" ||
		xlbt_fail "ignored keys of kind ${kv%=*} counted (${kv#*=})" \
			"$(xlbt_exec lb curl -s "$ADMIN/metrics" | grep "^xlb_etcd_ignored")"
done
grep -q "etcd: /apisix/\(upstreams/http\|routes\|services\|consumers\|ssls\|global_rules\|plugin\|protos\)" "$LOG" &&
	xlbt_fail "objects xlb does not serve are not logged per key" "$(grep etcd: "$LOG" | tail -6)"
grep -q "etcd: 2 upstreams that no stream route uses are not served" "$LOG" ||
	xlbt_fail "the unused upstreams are said once, as a count" "$(grep etcd: "$LOG" | tail -6)"
out=$(requests 20 | sort | uniq -c)
grep -q "failed" <<<"$out" && xlbt_fail "VIP serves beside an APISIX deployment's objects" "$out"
# A stream route that uses such an upstream makes it served: its problem is
# then said, and the route is left out; without the route it is quiet again.
ectl put /apisix/stream_routes/10 '{"server_addr":"'$XLBT_VIP4'","server_port":8090,"upstream_id":"http1"}'
xlbt_wait_for 5 grep -q "etcd: /apisix/upstreams/http1: .*left out" "$LOG" ||
	xlbt_fail "a used upstream with HTTP keys is refused, named" "$(grep etcd: "$LOG" | tail -4)"
no_vip_port 8090 || xlbt_fail "the route on it is left out" "$(xlbt_xlb lb vip list)"
ectl del /apisix/stream_routes/10
for k in upstreams/http1 upstreams/http2 routes/1 routes/2 services/1 consumers/jack ssls/1 \
	global_rules/1 plugin_configs/1 plugin_metadata/http-logger plugins protos/1; do
	ectl del "/apisix/$k"
done
xlbt_wait_for 5 metric_is 'xlb_etcd_ignored_keys{kind="routes"}' 0 ||
	xlbt_fail "deleted keys no longer counted" "$(xlbt_exec lb curl -s "$ADMIN/metrics" | grep "^xlb_etcd_ignored")"
metric_is 'xlb_etcd_ignored_keys{kind="upstreams"}' 0 || xlbt_fail "unused upstreams gone"
ectl del /apisix/stream_routes/9
xlbt_wait_for 5 no_vip_port 8089 || xlbt_fail "route 9 deleted" "$(xlbt_xlb lb vip list)"
xlbt_log "etcd: an APISIX deployment's other objects counted by kind, never logged, never in the way"

# etcd dies: forwarding goes on; it comes back: the watch resumes.
xlbt_bg_stop "$ETCD_PID"
xlbt_wait_for 10 metric_is xlb_etcd_connected 0 ||
	xlbt_fail "etcd down seen" "$(xlbt_exec lb curl -s "$ADMIN/metrics" | grep "^xlb_etcd")"
out=$(requests 20 | sort | uniq -c)
grep -q "failed" <<<"$out" && xlbt_fail "VIP serves while etcd is down" "$out"
has_member "$BE2" || xlbt_fail "etcd down: members kept" "$(members)"
start_etcd 2
ectl put /apisix/stream_routes/3 '{"server_addr":"'$XLBT_VIP4'","server_port":8080,"upstream_id":"web"}'
xlbt_wait_for 20 has_member "$BE2" 8080 || xlbt_fail "watch resumed after an etcd restart" \
	"$(xlbt_xlb lb vip list)" "$(grep etcd "$LOG" | tail -8)"
xlbt_log "etcd restart: watch resumed ($(metric xlb_etcd_reconnects_total) reconnects)"

# Consul: an upstream from blocking queries; a change follows; HTTP 500 keeps the nodes.
consul_set 7 "$BE1" "$BE3"
ectl put /apisix/upstreams/api '{"type":"roundrobin","discovery_type":"consul","service_name":"api"}'
ectl put /apisix/stream_routes/5 '{"server_addr":"'$XLBT_VIP4'","server_port":9090,"upstream_id":"api"}'
xlbt_wait_for 10 has_member "$BE3" 9090 || xlbt_fail "consul upstream -> VIP 9090" \
	"$(members 9090)" "$(grep -i consul "$LOG" | tail -5)"
has_member "$BE1" 9090 || xlbt_fail "consul upstream: be1 too" "$(members 9090)"
t0=${EPOCHREALTIME/[.,]/}
consul_set 8 "$BE1" "$BE2"
xlbt_wait_for 10 has_member "$BE2" 9090 || xlbt_fail "consul change followed" "$(members 9090)"
xlbt_wait_for 10 no_member "$BE3" 9090 || xlbt_fail "consul change: be3 out" "$(members 9090)"
t1=${EPOCHREALTIME/[.,]/}
xlbt_log "consul change followed in $(((t1 - t0) / 1000)) ms (blocking query held 1 s)"
consul_fail
xlbt_wait_for 10 metric_gt 'xlb_discovery_errors_total{registry="consul"}' 0 ||
	xlbt_fail "consul 500 counted" "$(xlbt_exec lb curl -s "$ADMIN/metrics" | grep "^xlb_discovery")"
has_member "$BE1" 9090 && has_member "$BE2" 9090 || xlbt_fail "consul 500: nodes kept" "$(members 9090)"
out=$(xlbt_agent_cli upstream show api) || xlbt_fail "xlb upstream show api" "$out"
grep -q "error: consul .*500" <<<"$out" || xlbt_fail "show: the registry's error" "$out"
grep -q "$BE2:80 .*source consul" <<<"$out" || xlbt_fail "show: consul as the source" "$out"
xlbt_log "consul: nodes followed, HTTP 500 kept them"

# The DNS server dies: the nodes stay, the error is counted.
xlbt_bg_stop "$DNS_PID"
errs0=$(metric 'xlb_discovery_errors_total{registry="dns"}')
xlbt_wait_for 10 metric_gt 'xlb_discovery_errors_total{registry="dns"}' "${errs0:-0}" ||
	xlbt_fail "DNS errors counted" "$(xlbt_exec lb curl -s "$ADMIN/metrics" | grep "^xlb_discovery")"
sleep 3
has_member "$BE2" && has_member "$BE3" || xlbt_fail "DNS down: nodes kept" "$(members)"
out=$(requests 20 | sort | uniq -c)
grep -q "failed" <<<"$out" && xlbt_fail "VIP serves while DNS is down" "$out"
[ "$(grep -c "discovery: dns '_web._tcp.$ZONE': .*keeping" "$LOG")" -le 2 ] ||
	xlbt_fail "the error is logged once per change" "$(grep "keeping" "$LOG")"
xlbt_log "DNS down: nodes kept, errors counted"

# xlbd restarts while the DNS server is still down: the discovered upstream
# starts from the members the data plane has, once etcd has answered.
xlbt_bg_stop "$XLBT_AGENT_PID"
xlbt_agent_start "$TMP/xlbd.log.2" "$CONF"
xlbt_wait_for 10 grep -q "discovery: upstream web starts from the 2 nodes" "$TMP/xlbd.log.2" ||
	xlbt_fail "restart: web seeded from the maps" "$(tail -8 "$TMP/xlbd.log.2")"
sleep 2
has_member "$BE2" && has_member "$BE3" || xlbt_fail "restart with DNS down: nodes kept" "$(members)"
out=$(requests 20 | sort | uniq -c)
grep -q "failed" <<<"$out" && xlbt_fail "VIP serves across the restart" "$out"
xlbt_log "xlbd restarted with DNS down: upstream kept from the data plane"
echo PASS
