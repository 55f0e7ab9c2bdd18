#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Scale-out end to end: three xlb nodes behind a router that spreads the VIP
# over them by ECMP (L4 hash), one configuration for all of them in one etcd
# (APISIX's layout, /apisix/upstreams/web and /apisix/stream_routes/1; etcd
# runs on the router, each node reaches it over its uplink), shared backends
# with direct server return.
#
#   client 198.18.0.10 ── bridge ── router 198.18.0.2 ─┬─ lb1 (uplink 198.18.11.2) ─┐
#                           │                          ├─ lb2 (uplink 198.18.12.2) ─┤
#                           │                          └─ lb3 (uplink 198.18.13.2) ─┤
#                           └── be1..be3 198.18.0.12-14 ◄── IPIP, lbN 198.18.0.3-5 ─┘
#
# The reference topology's "lb" namespace is the router here; lb1..lb3 are
# added by this test. Each LB runs xlbd (XDP on its uplink, forwarding to
# the backends through its second device on the bridge); the backends
# answer the client directly.
#
# What it checks and reports:
#  1. the three nodes build the same Maglev table: `xlb -j vip list` gives
#     one table_digest on all of them;
#  2. long-lived connections (XLBT_SCALE_CONNS, default 120) held open and
#     exercised through the router: lb2's uplink is deleted (its flows move
#     to lb1 and lb3, which have no flow entries for them and pick the same
#     backend from the same table), then lb2 comes back (flows move back;
#     it is drained across its new attach, and with BGP announced only once
#     the drain stops): no connection breaks, and the counts are printed;
#  3. how long health decisions differ between the nodes, each probing on
#     its own (XLBT_SCALE_TRIALS rounds of a backend going down and up):
#     first and last node to flip, printed; the tables agree again after.
#
#  4. with BGP: a node that drains (`xlb drain start`), whose xlb is
#     detached or whose xlbd stops is withdrawn by its announcer, and
#     announced again after;
#     `xlb drain wait` sees its traffic end; no connection breaks.
#
# Routing: where bird2 is installed (scripts/install-deps.sh), BGP: each LB
# runs BIRD with scripts/bird/xlb-bird.conf (its own address and neighbour
# substituted) and scripts/bird/xlb-announce.sh; the router's BIRD merges
# the three routes into one multipath route. XLBT_SCALE_ROUTING=static, or
# no bird, uses a static nexthop group instead (one nexthop per LB whose
# link exists).
#
# Environment: XLB, XLBD (default build/xlb, build/xlbd). Exit: 0 pass,
# 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh
xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd

xlbt_require_root
xlbt_require_cmd ip curl python3 timeout ethtool etcd etcdctl

CONNS=${XLBT_SCALE_CONNS:-120}
TRIALS=${XLBT_SCALE_TRIALS:-1}
NLB=3

xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
. tests/lib/scaleout.sh
. tests/lib/traffic.sh
scaleout_nodes_up

# Backends: decapsulation and a server each.
xlbt_backends_serve

# The configuration every LB node reads: upstreams and stream routes in one
# etcd on the router; each node's file has only its own settings and the
# etcd address it reaches.
scaleout_etcd_start
ectl put /apisix/upstreams/web "$(printf '{"type":"roundrobin","scheme":"tcp","nodes":%s,"checks":{"active":{"type":"http","http_path":"/health","timeout":1,"healthy":{"interval_ms":500,"successes":2},"unhealthy":{"interval_ms":500,"http_failures":2,"tcp_failures":2,"timeouts":2}}}}' \
	"$(nodes_json be1 be2 be3)")"
route_put
for ((n = 1; n <= NLB; n++)); do
	write_conf "$n"
done
for ((n = 1; n <= NLB; n++)); do
	agent_start "$n"
done
xlbt_wait_for 15 all_nodes_are healthy be1 be2 be3 ||
	xlbt_fail "every node sees every backend healthy" "$(lb_admin 1 /v1/healthcheck)"

xlbt_wait_for 5 digests_agree || xlbt_fail "one table digest on every node" "$(digests)"
DIGEST_ALL=$(digests | cut -d' ' -f1)
xlbt_log "three nodes, one table: digest $DIGEST_ALL"

# One change in etcd reaches every node: be3's weight 2 gives all three one
# new table; back to 1, the first table again.
UP_WEB=$(etcd_get /apisix/upstreams/web)
t0=${EPOCHREALTIME/[.,]/}
ectl put /apisix/upstreams/web "$(sed 's/\("port":80,"weight":\)1}\]/\12}]/' <<<"$UP_WEB")"
xlbt_wait_for 10 digest_moved "$DIGEST_ALL" || xlbt_fail "an etcd change reaches every node" \
	"$(digests)" "$(grep etcd "$TMP/xlbd.lb1.log" | tail -3)"
t1=${EPOCHREALTIME/[.,]/}
ectl put /apisix/upstreams/web "$UP_WEB"
xlbt_wait_for 10 digest_is "$DIGEST_ALL" ||
	xlbt_fail "etcd change undone on every node" "$(digests)" "$DIGEST_ALL"
xlbt_log "etcd: one put -> the same new table on all three nodes in $(((t1 - t0) / 1000)) ms, and back"

# What the announcer asks: a healthy, attached, not draining node says yes.
for ((n = 1; n <= NLB; n++)); do
	out=$(xlbt_xlb "lb$n" -j drain status)
	python3 -c 'import json, sys; d = json.loads(sys.argv[1])
sys.exit(not (d["announce"] is True and d["draining"] is False and d["vips"] == 1))' "$out" ||
		xlbt_fail "xlb -j drain status on lb$n" "$out" '"announce": true, "draining": false, "vips": 1'
	xlbt_xlb "lb$n" drain check >/dev/null || xlbt_fail "xlb drain check on lb$n: exit 0"
done
rc=0
out=$(xlbt_xlb lb1 drain wait --idle abc 2>&1) || rc=$?
xlbt_expect_eq "xlb drain wait --idle abc: exit status" "$rc" 1
grep -q -- "--idle 'abc'" <<<"$out" || xlbt_fail "the error names --idle" "$out"

# --- routing: the router's multipath route to the VIP -------------------------

# BGP where BIRD is installed (scripts/install-deps.sh installs bird2);
# XLBT_SCALE_ROUTING=static forces the static nexthop group.
if [ -n "${XLBT_SCALE_ROUTING:-}" ]; then
	ROUTING=$XLBT_SCALE_ROUTING
elif command -v bird >/dev/null 2>&1 && command -v birdc >/dev/null 2>&1; then
	ROUTING=bgp
else
	ROUTING=static
	xlbt_log "bird/birdc not installed: static multipath route, no BGP, drain not tested"
fi
[[ $ROUTING =~ ^(bgp|static)$ ]] || xlbt_fail "XLBT_SCALE_ROUTING" "$ROUTING" "bgp or static"
BIRD_EXAMPLE=scripts/bird/xlb-bird.conf
ANNOUNCE=$PWD/scripts/bird/xlb-announce.sh

# bird_lb_conf N FILE: the example LB configuration with lbN's own lines.
bird_lb_conf() {
	sed -e "s/^router id [0-9.]*;/router id $(lb_up4 "$1");/" \
		-e "s/^define ROUTER = [0-9.]*;/define ROUTER = $(rtr_up4 "$1");/" \
		"$BIRD_EXAMPLE" >"$2"
	grep -q "^router id $(lb_up4 "$1");" "$2" && grep -q "^define ROUTER = $(rtr_up4 "$1");" "$2"
}

# bird_router_conf FILE: the router peers with every LB and installs the
# VIP routes, merged into one multipath route, into its kernel.
bird_router_conf() {
	local n
	{
		cat <<EOF
router id $(xlbt_addr4 $RTR);
log stderr all;
protocol device { scan time 10; }
protocol kernel {
	scan time 2;
	merge paths yes;
	ipv4 { import none; export all; };
}
template bgp lbs {
	local as 65000;
	connect retry time 2;
	error wait time 2, 20;
	hold time 9;
	ipv4 { import all; export none; };
}
EOF
		for ((n = 1; n <= NLB; n++)); do
			echo "protocol bgp lb$n from lbs { neighbor $(lb_up4 "$n") as 65001; }"
		done
	} >"$1"
}

bird_start() {
	local host=$1 conf=$2
	xlbt_exec "$host" bird -p -c "$conf" || xlbt_fail "BIRD configuration for $host" \
		"$(xlbt_exec "$host" bird -p -c "$conf" 2>&1)"
	xlbt_bg_start "$host" "$TMP/bird.$host.log" bird -f -c "$conf" -s "$TMP/bird.$host.ctl" \
		-P "$TMP/bird.$host.pid"
}

if [ "$ROUTING" = static ]; then
	static_route || xlbt_fail "static nexthop group on the router" \
		"$(ip -n "$(xlbt_ns $RTR)" nexthop show 2>&1)"
else
	for ((n = 1; n <= NLB; n++)); do
		bird_lb_conf "$n" "$TMP/bird.lb$n.conf" || xlbt_fail "BIRD configuration of lb$n" \
			"$(head -30 "$TMP/bird.lb$n.conf")"
		bird_start "lb$n" "$TMP/bird.lb$n.conf"
		xlbt_bg_start "lb$n" "$TMP/announce.lb$n.log" env XLB_PIN_DIR="$(xlbt_pin_dir "lb$n")" \
			"$ANNOUNCE" -s "$TMP/bird.lb$n.ctl" -x "$XLB" -i 0.5 -a "$ADMIN"
	done
	bird_router_conf "$TMP/bird.$RTR.conf"
	bird_start "$RTR" "$TMP/bird.$RTR.conf"
fi
xlbt_wait_for 30 paths_are 3 || xlbt_fail "router: 3 paths to the VIP" \
	"$(
		ip -n "$(xlbt_ns $RTR)" route show 2>&1
		tail -5 "$TMP"/bird.*.log "$TMP"/announce.*.log 2>&1
	)"
xlbt_log "router: multipath route to $XLBT_VIP4 over $(route_paths) LBs ($ROUTING)"

# Every LB resolves the backends before the test connections start.
nodes_resolve
xlbt_wait_for 10 xlbt_exec client curl -sf --max-time 1 "http://$XLBT_VIP4/" ||
	xlbt_fail "the VIP answers through the router"

# --- flows across a node going away and coming back ---------------------------

hold_start "$XLBT_VIP4" "$CONNS" 400
wait_rounds 5
C0=$(counts)
xlbt_log "$CONNS connections held; $C0"
for ((n = 1; n <= NLB; n++)); do
	f=$(flows "$n")
	xlbt_expect_ge "flow entries on lb$n before (ECMP spreads connections)" "$f" 1
done
F2=$(flows 2)
F13=$(($(flows 1) + $(flows 3)))

# lb2 goes away: its link is deleted; the router is left with two paths.
ip -n "$(xlbt_ns $RTR)" link del "$(rtr_dev 2)" || xlbt_fail "delete lb2's link"
T_GONE=${EPOCHREALTIME/[.,]/}
[ "$ROUTING" = static ] && static_route
xlbt_wait_for 20 paths_are 2 || xlbt_fail "router: 2 paths without lb2" \
	"$(ip -n "$(xlbt_ns $RTR)" route show 2>&1)"
wait_rounds 10
C1=$(counts)
F13b=$(($(flows 1) + $(flows 3)))
xlbt_log "lb2 gone; $C1"
xlbt_expect_ge "flow entries on lb1+lb3 after lb2 went (every held connection)" \
	"$F13b" "$CONNS"
xlbt_expect_eq "connections broken after lb2 went" "$(hold_broken)" 0

# lb2 comes back: a new link, xlb attached to it again (the pinned maps and
# the running xlbd are adopted), its route back on the router.
# It is drained before the attach: the flag must survive it, and with BGP
# lb2 must not be announced until the drain stops.
P2=$(vip_packets 2)
uplink_up 2 || xlbt_fail "lb2's link back"
xlbt_xlb lb2 drain start >/dev/null || xlbt_fail "xlb drain start on lb2 (not attached)"
xlbt_xlb lb2 attach "$UP" >/dev/null 2>&1 || xlbt_fail "xlb attach on lb2's new link"
out=$(xlbt_xlb lb2 drain status)
grep -q "^draining: yes" <<<"$out" || xlbt_fail "the drain flag survives xlb attach" "$out"
out=$(xlbt_xlb lb2 status)
grep -q "^node: *draining" <<<"$out" || xlbt_fail "xlb status says lb2 drains" "$out"
if [ "$ROUTING" = bgp ]; then
	bgp_up() {
		birdc -s "$TMP/bird.lb2.ctl" show protocols uplink 2>/dev/null | grep -q Established
	}
	xlbt_wait_for 30 bgp_up || xlbt_fail "lb2's BGP session up again" "$(tail -5 "$TMP/bird.lb2.log")"
	sleep 1.5 # three announcer intervals
	paths_are 2 || xlbt_fail "a drained lb2 is not announced" "$(route_paths)" 2
fi
xlbt_xlb lb2 drain stop >/dev/null || xlbt_fail "xlb drain stop on lb2"
[ "$ROUTING" = static ] && static_route
xlbt_wait_for 30 paths_are 3 || xlbt_fail "router: 3 paths with lb2 back" \
	"$(ip -n "$(xlbt_ns $RTR)" route show 2>&1)"
T_BACK=${EPOCHREALTIME/[.,]/}
wait_rounds 10
C2=$(counts)
P2b=$(vip_packets 2)
xlbt_log "lb2 back; $C2"
xlbt_expect_ge "lb2 forwards VIP packets again" "$((P2b - P2))" 1

# Drain and health, with BGP: lb3 drains (the announcer withdraws its
# route, lb3 keeps forwarding what still reaches it until idle), then
# stops draining; lb1's fast path is detached (unhealthy: withdrawn) and
# attached again (announced). Held connections go on throughout.
DRAIN=""
if [ "$ROUTING" = bgp ]; then
	# The wait starts with the drain: it sees the packets lb3 still
	# forwards until the router has moved its flows away.
	t0=${EPOCHREALTIME/[.,]/}
	xlbt_xlb lb3 drain start >/dev/null || xlbt_fail "xlb drain start on lb3"
	xlbt_bg_start lb3 "$TMP/drain.json" env XLB_PIN_DIR="$(xlbt_pin_dir lb3)" \
		"$XLB" -j drain wait --idle 2 --timeout 60
	WAIT=$XLBT_BG_PID
	xlbt_wait_for 10 paths_are 2 || xlbt_fail "router: lb3's route withdrawn when it drains" \
		"$(ip -n "$(xlbt_ns $RTR)" route show 2>&1)"
	t1=${EPOCHREALTIME/[.,]/}
	out=$(xlbt_xlb lb3 drain status)
	grep -q "^draining: yes" <<<"$out" && grep -q "^announce: no" <<<"$out" ||
		xlbt_fail "xlb drain status on lb3" "$out" "draining: yes, announce: no"
	rc=0
	xlbt_xlb lb3 drain check >/dev/null 2>&1 || rc=$?
	xlbt_expect_eq "xlb drain check on a draining node: exit status" "$rc" 2
	xlbt_bg_wait "$WAIT" 70 || xlbt_fail "xlb drain wait on lb3: traffic gone" "$(cat "$TMP/drain.json")"
	out=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
print("%d VIP packets forwarded while draining, the last %.2f s into it" %
      (d["packets"], d["last_packet_s"]))' "$TMP/drain.json") ||
		xlbt_fail "xlb -j drain wait output" "$(cat "$TMP/drain.json")"
	xlbt_log "lb3 drained: route withdrawn in $(((t1 - t0) / 1000)) ms; $out"
	DRAIN="lb3 drain: withdrawn in $(((t1 - t0) / 1000)) ms, $out"
	wait_rounds 5
	xlbt_xlb lb3 drain stop >/dev/null || xlbt_fail "xlb drain stop on lb3"
	xlbt_wait_for 10 paths_are 3 || xlbt_fail "router: lb3 announced again after drain stop"
	wait_rounds 5

	xlbt_xlb lb1 detach "$UP" --keep-maps >/dev/null || xlbt_fail "detach xlb on lb1"
	t0=${EPOCHREALTIME/[.,]/}
	xlbt_wait_for 10 paths_are 2 || xlbt_fail "router: lb1's route withdrawn without xlb"
	t1=${EPOCHREALTIME/[.,]/}
	xlbt_xlb lb1 attach "$UP" >/dev/null 2>&1 || xlbt_fail "xlb attach on lb1 again"
	xlbt_wait_for 10 paths_are 3 || xlbt_fail "router: lb1 announced again with xlb back"
	DRAIN+="; lb1 unhealthy (detached): withdrawn in $(((t1 - t0) / 1000)) ms"
	xlbt_log "lb1 withdrawn $(((t1 - t0) / 1000)) ms after its xlb was detached, back once attached"
	wait_rounds 5

	# The announcers run with -a: a node whose agent is gone is withdrawn
	# (its data plane forwards on meanwhile), and announced once it is back.
	t0=${EPOCHREALTIME/[.,]/}
	xlbt_bg_stop "${AGENT[3]}" 5
	xlbt_wait_for 10 paths_are 2 || xlbt_fail "router: lb3's route withdrawn without its xlbd"
	t1=${EPOCHREALTIME/[.,]/}
	mv "$TMP/xlbd.lb3.log" "$TMP/xlbd.lb3.log.1"
	agent_start 3
	xlbt_wait_for 10 paths_are 3 || xlbt_fail "router: lb3 announced again with its xlbd back"
	DRAIN+="; lb3 without xlbd: withdrawn in $(((t1 - t0) / 1000)) ms"
	xlbt_log "lb3 withdrawn $(((t1 - t0) / 1000)) ms after its xlbd stopped, back once restarted"
	wait_rounds 5
	xlbt_wait_for 5 digests_agree || xlbt_fail "one digest after lb3's agent restart" "$(digests)"
fi

hold_stop
read -r HC HB HR HQ HS < <(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
print(d["conns"], d["broken"], d["rounds"], d["requests"], d["slowest_s"])' "$HOLD_SUMMARY")
echo "scale-out ($ROUTING): $HC connections, $HR rounds, $HQ requests, broken $HB" \
	"(lb2 removed: flows on lb2 before $F2, on lb1+lb3 $F13 -> $F13b; lb2 back:" \
	"$((P2b - P2)) VIP packets on lb2 since${DRAIN:+; $DRAIN}), slowest request ${HS} s"
xlbt_expect_eq "connections held" "$HC" "$CONNS"
xlbt_expect_eq "connections broken across lb2 going and coming back" "$HB" 0
xlbt_log "gone at +$(((T_GONE - XLBT_T0) / 1000)) ms, back at +$(((T_BACK - XLBT_T0) / 1000)) ms"

# --- health divergence between nodes that probe on their own ------------------

# flip_ms N ADDR STATE SINCE: lbN's log time (ms since the epoch) of its
# first flip of ADDR:80 to STATE after log line SINCE.
flip_ms() {
	tail -n +"$4" "$TMP/xlbd.lb$1.log" |
		grep -m1 "health: node=$2:80 upstream=web state=[a-z_]*->$3 " |
		python3 -c '
import datetime, sys
l = sys.stdin.readline()
if l:
    t = datetime.datetime.strptime(l.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    print(int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))'
}
log_lines() {
	wc -l <"$TMP/xlbd.lb$1.log"
}
# divergence ADDR STATE T0 SINCE...: "detect_first detect_last spread" in ms.
divergence() {
	local addr=$1 state=$2 t0=$3 n t ts=()
	shift 3
	for ((n = 1; n <= NLB; n++)); do
		t=$(flip_ms "$n" "$addr" "$state" "${!n}")
		[ -n "$t" ] || return 1
		ts+=("$t")
	done
	python3 -c 'import sys; t = [int(x) - int(sys.argv[1]) for x in sys.argv[2:]]
print(min(t), max(t), max(t) - min(t))' "$t0" "${ts[@]}"
}

BE3=$(xlbt_addr4 be3)
for ((trial = 1; trial <= TRIALS; trial++)); do
	L1=$(log_lines 1) L2=$(log_lines 2) L3=$(log_lines 3)
	t0=$(($(date +%s%N) / 1000000))
	xlbt_bg_stop "${XLBT_SRV[be3]}"
	xlbt_wait_for 20 all_nodes_are unhealthy be3 ||
		xlbt_fail "every node marks be3 unhealthy" "$(node_state 1 "$BE3") $(node_state 2 "$BE3") $(node_state 3 "$BE3")"
	down=$(divergence "$BE3" unhealthy "$t0" "$L1" "$L2" "$L3") ||
		xlbt_fail "each node logs be3's flip to unhealthy"
	xlbt_wait_for 5 digests_agree || xlbt_fail "one digest again with be3 down" "$(digests)"
	D_DOWN=$(digests | cut -d' ' -f1)
	[ "$D_DOWN" != "$DIGEST_ALL" ] || xlbt_fail "be3 down changes the table digest" "$D_DOWN"

	L1=$(log_lines 1) L2=$(log_lines 2) L3=$(log_lines 3)
	t0=$(($(date +%s%N) / 1000000))
	xlbt_http_server be3
	xlbt_wait_for 20 all_nodes_are healthy be3 || xlbt_fail "every node marks be3 healthy again"
	up=$(divergence "$BE3" healthy "$t0" "$L1" "$L2" "$L3") ||
		xlbt_fail "each node logs be3's flip to healthy"
	xlbt_wait_for 5 digests_agree || xlbt_fail "one digest again with be3 up" "$(digests)"
	xlbt_expect_eq "digest with be3 back" "$(digests | cut -d' ' -f1)" "$DIGEST_ALL"
	# "first last spread" in ms: from the event to the first and the last
	# node's decision, and the window in which the nodes disagreed.
	echo "health divergence trial $trial: down: first $(cut -d' ' -f1 <<<"$down") ms," \
		"last $(cut -d' ' -f2 <<<"$down") ms, nodes differ $(cut -d' ' -f3 <<<"$down") ms;" \
		"up: first $(cut -d' ' -f1 <<<"$up") ms, last $(cut -d' ' -f2 <<<"$up") ms," \
		"nodes differ $(cut -d' ' -f3 <<<"$up") ms (interval 0.5 s, 2 in a row)"
done
echo PASS
