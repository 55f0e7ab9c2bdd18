# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The scale-out testbed: LB nodes lb1..lbN behind a router that spreads the
# VIP over them by ECMP, one configuration for all of them in one etcd on
# the router (APISIX's layout, /apisix/upstreams/web and
# /apisix/stream_routes/1), the reference topology's backends shared, with
# direct server return. Source it after testbed.sh, once the topology is up:
#
#   NLB=2
#   xlbt_testbed_up 5
#   . tests/lib/scaleout.sh
#   scaleout_nodes_up                        # lb1..lbN, uplinks, router sysctls
#   scaleout_etcd_start
#   ectl put /apisix/upstreams/web "$(upstream_json be1 be2 be3)"
#   write_conf 1 "  forward: gue"            # each node's file, its extra xlb: lines
#   agent_start 1                            # xlbd on lb1, PID in AGENT[1]
#   static_route                             # nexthop group over the nodes' links
#
#   client 198.18.0.10 ── bridge ── router 198.18.0.2 ─┬─ lb1 (uplink 198.18.11.2) ─┐
#                           │                          └─ lbN (uplink 198.18.1N.2) ─┤
#                           └── be1..beM 198.18.0.12- ◄── encapsulated, lbN 198.18.0.2+N
#
# The reference topology's "lb" namespace is the router (RTR). Each LB node
# runs xlbd with XDP on its uplink (UP), forwarding to the backends through
# its second device on the bridge (DOWN).

RTR=lb               # the reference topology's LB namespace routes here
UP=xlbt${XLBT_ID}u   # each LB's uplink: one name in every LB namespace
DOWN=xlbt${XLBT_ID}d # each LB's device on the backends' bridge
ADMIN=$XLBT_ADMIN
SVC="$XLBT_VIP4:80/tcp"
SEED=1592848954 # xlb.hash_seed: the same on every node
ETCD_PORT=23790
ROUTING=${ROUTING:-static} # how route_paths reads the router: static or bgp
SCALEOUT_HELPER=$XLBT_ROOT/tests/lib/e2e_helper.py
declare -gA AGENT=() # xlbd's PID on each node (agent_start)

lb_up4() { echo "198.18.$((10 + $1)).2"; }  # lbN's uplink address
rtr_up4() { echo "198.18.$((10 + $1)).1"; } # the router's end of it
lb_down4() { echo "198.18.0.$((2 + $1))"; } # lbN on the bridge
rtr_dev() { echo "xlbt${XLBT_ID}r$1"; }     # the router's end, in its namespace
lb_peer() { echo "xlbt${XLBT_ID}d${1}p"; }  # lbN's bridge port, in net

lb_cleanup() {
	local n
	for ((n = 1; n <= NLB; n++)); do
		ip netns pids "$(xlbt_ns "lb$n")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$(xlbt_ns "lb$n")" 2>/dev/null
	done
	return 0
}

# uplink_up N: lbN's link to the router (also when it comes back).
uplink_up() {
	local n=$1 ns
	ns=$(xlbt_ns "lb$n")
	ip -n "$(xlbt_ns $RTR)" link add name "$(rtr_dev "$n")" type veth peer name "$UP" \
		netns "$ns" || return 1
	ip -n "$(xlbt_ns $RTR)" addr add "$(rtr_up4 "$n")/24" dev "$(rtr_dev "$n")" &&
		ip -n "$ns" addr add "$(lb_up4 "$n")/24" dev "$UP" &&
		ip -n "$(xlbt_ns $RTR)" link set dev "$(rtr_dev "$n")" up &&
		ip -n "$ns" link set dev "$UP" up
}

# lb_make N: namespace lbN with its uplink and its device on the bridge.
lb_make() {
	local n=$1 ns netns
	ns=$(xlbt_ns "lb$n")
	netns=$(xlbt_ns net)
	ip netns add "$ns" || return 1
	ip -n "$ns" link set dev lo up || return 1
	# bpf_fib_lookup() needs forwarding; the VIPs are the fast path's only:
	# a packet passed up (next hop unresolved) is dropped, not routed back.
	ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 || return 1
	ip -n "$ns" route add blackhole "$XLBT_VIP4_NET" 2>/dev/null
	mkdir -p "$(xlbt_pin_dir "lb$n")" || return 1
	ip -n "$netns" link add name "$(lb_peer "$n")" mtu "$XLBT_MTU_PATH" type veth \
		peer name "$DOWN" mtu "$XLBT_MTU_PATH" netns "$ns" || return 1
	ip -n "$netns" link set dev "$(lb_peer "$n")" master "$(xlbt_bridge)" up || return 1
	# XDP_REDIRECT into a veth needs an XDP program on its peer.
	ip -n "$netns" link set dev "$(lb_peer "$n")" xdpdrv obj "$XLBT_XDP_PASS_OBJ" sec xdp ||
		return 1
	ip -n "$ns" addr add "$(lb_down4 "$n")/24" dev "$DOWN" || return 1
	ip -n "$ns" link set dev "$DOWN" up || return 1
	uplink_up "$n"
}

# scaleout_nodes_up: the router forwards with an L4 multipath hash; lb1 ..
# lb$NLB made, removed at exit.
scaleout_nodes_up() {
	local n
	xlbt_cleanup_add lb_cleanup
	ip netns exec "$(xlbt_ns $RTR)" sysctl -q -w net.ipv4.ip_forward=1 \
		net.ipv4.fib_multipath_hash_policy=1 || xlbt_fail "router sysctls"
	for ((n = 1; n <= NLB; n++)); do
		lb_make "$n" || xlbt_fail "LB namespace lb$n"
	done
}

# --- one configuration in etcd ------------------------------------------------

# scaleout_etcd_start: etcd on the router (each node reaches it over its
# uplink, so a node whose link is gone cannot, as in a real partition).
scaleout_etcd_start() {
	local tmp
	tmp=$(xlbt_tmp_dir)
	xlbt_bg_start $RTR "$tmp/etcd.log" etcd --name xlbt --data-dir "$tmp/etcd" \
		--listen-client-urls "http://0.0.0.0:$ETCD_PORT" \
		--advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls http://127.0.0.1:23800 \
		--initial-advertise-peer-urls http://127.0.0.1:23800 \
		--initial-cluster xlbt=http://127.0.0.1:23800
	xlbt_wait_for 15 xlbt_exec $RTR curl -sf --max-time 1 "http://127.0.0.1:$ETCD_PORT/health" ||
		xlbt_fail "etcd did not start" "$(tail -5 "$tmp/etcd.log")"
}

# ectl ARGS...: etcdctl on the router; fails the test unless it succeeds.
ectl() {
	xlbt_exec $RTR env ETCDCTL_API=3 timeout 10 etcdctl \
		--endpoints="http://127.0.0.1:$ETCD_PORT" "$@" >/dev/null || xlbt_fail "etcdctl $*"
}

# etcd_get KEY: the value stored at KEY.
etcd_get() {
	xlbt_exec $RTR env ETCDCTL_API=3 timeout 10 etcdctl \
		--endpoints="http://127.0.0.1:$ETCD_PORT" get --print-value-only "$1"
}

# nodes_json BE...: an upstream's node list, BE:80 with weight 1 each.
nodes_json() {
	local be out=()
	for be; do
		out+=("$(printf '{"host":"%s","port":80,"weight":1}' "$(xlbt_addr4 "$be")")")
	done
	(
		IFS=,
		echo "[${out[*]}]"
	)
}

# route_put: the stream route of the VIP (port 80) to upstream web.
route_put() {
	ectl put /apisix/stream_routes/1 \
		"{\"server_addr\":\"$XLBT_VIP4\",\"server_port\":80,\"upstream_id\":\"web\"}"
}

# write_conf N [LINES]: lbN's file: the settings every node shares, LINES
# (more `xlb:` keys, indented two spaces) and the etcd address lbN reaches.
write_conf() {
	cat >"$(xlbt_tmp_dir)/xlb.lb$1.yaml" <<EOF
xlb:
  interfaces: [$UP]
  hash_seed: $SEED
  on_no_healthy: fail_open
  admin: {listen: "127.0.0.1:9180"}
  log_level: info
${2:-}
deployment:
  etcd: {host: ["http://$(rtr_up4 "$1"):$ETCD_PORT"], prefix: /apisix, timeout: 2}
EOF
}

lb_admin() {
	xlbt_exec "lb$1" curl -s --max-time 2 "$ADMIN$2"
}

# agent_start N: xlbd on lbN with its file and pin dir, PID in AGENT[N];
# waits until it answers.
agent_start() {
	local tmp
	tmp=$(xlbt_tmp_dir)
	xlbt_cleanup_add rm -f "$(xlbt_api_key_file "lb$1")"
	xlbt_bg_start "lb$1" "$tmp/xlbd.lb$1.log" env XLB_PIN_DIR="$(xlbt_pin_dir "lb$1")" \
		"$XLBD" -c "$tmp/xlb.lb$1.yaml"
	# shellcheck disable=SC2034 # the tests stop it
	AGENT[$1]=$XLBT_BG_PID
	xlbt_wait_for 10 lb_admin "$1" /metrics ||
		xlbt_fail "xlbd on lb$1 did not come up" "$(tail -5 "$tmp/xlbd.lb$1.log")"
}

# node_state N ADDR: lbN's health state of ADDR:80.
node_state() {
	lb_admin "$1" /v1/healthcheck | python3 -c '
import json, sys
for u in json.load(sys.stdin):
    for n in u["nodes"]:
        if n["ip"] == sys.argv[1] and n["port"] == 80:
            print(n["status"])' "$2"
}

# all_nodes_are STATE BE...: every LB node sees every BE in STATE.
all_nodes_are() {
	local n be
	for ((n = 1; n <= NLB; n++)); do
		for be in "${@:2}"; do
			[ "$(node_state "$n" "$(xlbt_addr4 "$be")")" = "$1" ] || return 1
		done
	done
}

# --- the nodes' tables --------------------------------------------------------

# digests [FIELD] [NODE...]: "D1 D2 ...", each node's FIELD (table_digest by
# default, or chain_digest) of the VIP; every node by default.
digests() {
	local field=${1:-table_digest} n nodes out=()
	shift
	nodes=("$@")
	[ ${#nodes[@]} -gt 0 ] || mapfile -t nodes < <(seq 1 "$NLB")
	for n in "${nodes[@]}"; do
		out+=("$(xlbt_xlb "lb$n" -j vip list | python3 -c '
import json, sys
for v in json.load(sys.stdin):
    if v["vip"] == sys.argv[1]:
        print(v[sys.argv[2]])' "$SVC" "$field")")
	done
	echo "${out[*]}"
}

# digests_agree [FIELD] [NODE...]: one digest on every node named.
digests_agree() {
	local d
	read -ra d <<<"$(digests "$@")"
	[ ${#d[@]} -ge 1 ] && [[ ${d[0]} =~ ^[0-9a-f]{16}$ ]] || return 1
	[ "$(printf '%s\n' "${d[@]}" | sort -u | wc -l)" -eq 1 ] &&
		[ ${#d[@]} -eq "$(($# > 1 ? $# - 1 : NLB))" ]
}

# digest_moved OLD [FIELD]: the nodes agree on a FIELD other than OLD.
digest_moved() {
	digests_agree "${2:-table_digest}" && [ "$(digests "${2:-table_digest}" | cut -d' ' -f1)" != "$1" ]
}

# digest_is D [FIELD]: the nodes agree on D.
digest_is() {
	digests_agree "${2:-table_digest}" && [ "$(digests "${2:-table_digest}" | cut -d' ' -f1)" = "$1" ]
}

# --- routing ------------------------------------------------------------------

# static_route: a nexthop group over the LBs whose links exist. Unlike a
# plain multipath route (which the kernel deletes whole when one of its
# devices goes), a group loses only the nexthop of a deleted device.
static_route() {
	local r n ids=()
	r=$(xlbt_ns $RTR)
	for ((n = 1; n <= NLB; n++)); do
		ip -n "$r" link show dev "$(rtr_dev "$n")" >/dev/null 2>&1 || continue
		ip -n "$r" nexthop replace id "$n" via "$(lb_up4 "$n")" dev "$(rtr_dev "$n")" ||
			return 1
		ids+=("$n")
	done
	ip -n "$r" nexthop replace id 100 group "$(
		IFS=/
		echo "${ids[*]}"
	)" &&
		ip -n "$r" route replace "$XLBT_VIP4/32" nhid 100
}

# route_paths: how many LBs the router's route to the VIP uses now.
route_paths() {
	local r
	r=$(xlbt_ns $RTR)
	if [ "$ROUTING" = static ]; then
		ip -n "$r" nexthop show id 100 2>/dev/null | grep -o 'group [0-9/]*' |
			tr '/' '\n' | grep -c '[0-9]'
	else
		ip -n "$r" route show "$XLBT_VIP4/32" 2>/dev/null | grep -c 'nexthop via\|^[0-9.]* via'
	fi
}

paths_are() {
	[ "$(route_paths)" = "$1" ]
}

# nodes_resolve: every LB node resolves every backend (ARP) before the
# test's connections start.
nodes_resolve() {
	local n be
	for ((n = 1; n <= NLB; n++)); do
		for be in $(xlbt_backends); do
			xlbt_exec "lb$n" ping -c1 -W1 "$(xlbt_addr4 "$be")" >/dev/null 2>&1
		done
	done
}

# --- what each node forwards --------------------------------------------------

# vip_packets N: packets lbN counted for the VIP.
vip_packets() {
	local tmp
	tmp=$(xlbt_tmp_dir)
	xlbt_xlb "lb$1" -j stats >"$tmp/stats.json" 2>/dev/null &&
		python3 "$SCALEOUT_HELPER" vip-packets "$tmp/stats.json" "$SVC"
}

# flows N: lbN's flow entries.
flows() {
	local tmp
	tmp=$(xlbt_tmp_dir)
	xlbt_xlb "lb$1" -j flows >"$tmp/flows.json" 2>/dev/null &&
		python3 "$SCALEOUT_HELPER" flows-count "$tmp/flows.json"
}

# counts: "lbN F flows/P pkts" for every node.
counts() {
	local n f p line=""
	for ((n = 1; n <= NLB; n++)); do
		if ! f=$(flows "$n") || ! p=$(vip_packets "$n"); then
			line+="lb$n -  "
			continue
		fi
		line+="lb$n $f flows/$p pkts  "
	done
	echo "$line"
}
