#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of the kernel signals xlbd acts on at once (rtnetlink,
# user/lib/health/nlmon.c + agent.c), beyond the route deletion of test_passive.sh:
#  1. neighbour FAILED: be2 vanishes from the wire; the LB's managed
#     neighbour entry for it goes FAILED and be2 is marked unhealthy, and so
#     is a node that is routed *via* be2 (the same next hop);
#  2. link down: a node reached over a second link of the LB (an extra veth
#     pair into a small namespace of its own, a /32 route on the LB) is
#     marked unhealthy when the LB's end of that link is set down.
# Each time the reason is checked in xlbd's log, `xlb health` (status and
# tcp_fail counter: it has no reason column) and /metrics
# (xlb_netlink_events_total{kind=...}), and the other nodes stay healthy.
# The time from the event to the node being seen unhealthy is printed, not
# asserted.
#
# Active probes are off for every node (interval_ms 0) so that nothing but the
# signal under test can move a node, and checks.passive has
# unhealthy.tcp_failures: 1 because the agent counts each kernel signal as
# one TCP failure judged by those thresholds: one signal is enough.
#
# Environment: XLB, XLBD (default build/xlb, build/xlbd). Exit: 0 pass,
# 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh

xlbt_require_root
xlbt_require_cmd ip curl python3 timeout date
xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd

KEY=$XLBT_API_KEY
ADMIN=$XLBT_ADMIN
VIA_BE2=198.18.50.12 # be2's extra address behind a /32 route via be2
LINKED=198.18.61.11  # a node behind the LB's second link
XNET_LB=198.18.60.1  # the second link: LB side ...
XNET_X=198.18.60.2   # ... and the extra namespace's side (LINKED's next hop)

xlbt_testbed_up 2
TMP=$(xlbt_tmp_dir)
BE1=$(xlbt_addr4 be1)
BE2=$(xlbt_addr4 be2)
LBDEV=$(xlbt_dev lb)

# The extra namespace and the LB's second link. topology.sh does not know
# them: delete the namespace ourselves (its veth pair goes with it); this
# runs before the topology's own teardown (cleanups run last-added first).
XNS=$(xlbt_ns ext)      # xlbt-ID-ext
XDEV_LB=xlbt${XLBT_ID}x # in the LB namespace
XDEV_X=xlbt${XLBT_ID}xp # in XNS
ext_down() {
	[ -e "/run/netns/$XNS" ] || return 0
	ip netns del "$XNS"
}
xlbt_cleanup_add ext_down
ip netns add "$XNS" || xlbt_fail "namespace $XNS"
ip -n "$XNS" link set dev lo up || xlbt_fail "lo up in $XNS"
ip -n "$(xlbt_ns lb)" link add name "$XDEV_LB" type veth peer name "$XDEV_X" netns "$XNS" ||
	xlbt_fail "veth pair $XDEV_LB/$XDEV_X"
xlbt_exec lb ip addr add "$XNET_LB/30" dev "$XDEV_LB" || xlbt_fail "address on $XDEV_LB"
xlbt_exec ext ip addr add "$XNET_X/30" dev "$XDEV_X" || xlbt_fail "address on $XDEV_X"
xlbt_exec ext ip addr add "$LINKED/32" dev lo || xlbt_fail "node address in $XNS"
xlbt_exec lb ip link set dev "$XDEV_LB" up || xlbt_fail "$XDEV_LB up"
xlbt_exec ext ip link set dev "$XDEV_X" up || xlbt_fail "$XDEV_X up"
link_running() {
	xlbt_exec lb ip -o link show dev "$XDEV_LB" | grep -q 'state UP'
}
xlbt_wait_for 5 link_running || xlbt_fail "$XDEV_LB has no carrier"
xlbt_exec lb ip route add "$LINKED/32" via "$XNET_X" dev "$XDEV_LB" ||
	xlbt_fail "route to $LINKED on the LB"

xlbt_exec be2 ip addr add "$VIA_BE2/32" dev lo || xlbt_fail "extra address on be2"
xlbt_exec lb ip route add "$VIA_BE2/32" via "$BE2" || xlbt_fail "route to $VIA_BE2 on the LB"

# How a neighbour entry gets to FAILED here (kernel 6.18, measured).
# `ip neigh change ADDR dev DEV nud failed` is accepted but no substitute:
# with `managed` the kernel leaves the entry as it is (still REACHABLE, no
# notification); without it the entry loses NTF_EXT_MANAGED and becomes
# FAILED by decree (one notification, but not the kernel detecting
# anything, and the entry is no longer re-probed). So the entry has to
# fail for real. xlbd asks the kernel to keep each next hop resolved
# (an NTF_EXT_MANAGED entry, see user/lib/dataplane/netlink.c), and the kernel keeps
# re-verifying a managed entry on its own, no traffic needed (XDP's FIB
# lookups never confirm an entry). Measured here, an idle managed entry of
# a live host never rests in STALE: REACHABLE until reachable_time runs
# out -> DELAY for delay_first_probe_time -> PROBE -> answered: REACHABLE,
# over and over. When the host is gone, the next PROBE gets no answer and
# the entry goes FAILED after ucast_solicit probes retrans_time_ms apart
# (then the kernel's managed re-probe, every 5 s, takes it INCOMPLETE ->
# FAILED again: one more notification each time). With the defaults (15-45
# s reachable, 5 s delay, 3 x 1 s) that is up to ~53 s after the host went;
# the LB device's own knobs in the LB namespace bring it to
# <= 0.75 + 1 + 3 x 0.2 = ~2.4 s, well within the 10 s wait.
xlbt_exec lb sysctl -q -w "net.ipv4.neigh.$LBDEV.base_reachable_time_ms=500" \
	"net.ipv4.neigh.$LBDEV.delay_first_probe_time=1" \
	"net.ipv4.neigh.$LBDEV.retrans_time_ms=200" \
	"net.ipv4.neigh.$LBDEV.ucast_solicit=3" || xlbt_fail "neighbour timers on $LBDEV"

# Signals only: probe interval_ms 0 (the configuration wants an active block), and one
# TCP failure (= one kernel signal) takes a node down.
CHECKS='{active: {type: tcp, healthy: {interval_ms: 0}, unhealthy: {interval_ms: 0}},
      passive: {type: tcp, unhealthy: {tcp_failures: 1}}}'
CONF=$TMP/xlb.yaml
cat >"$CONF" <<EOF
$(xlbt_agent_conf_head "$LBDEV")
upstreams:
  - id: web
    type: roundrobin
    scheme: tcp
    nodes:
      - {host: $BE1, port: 80, weight: 1}
      - {host: $BE2, port: 80, weight: 1}
    checks: $CHECKS
  - id: via_be2
    type: roundrobin
    scheme: tcp
    nodes:
      - {host: $VIA_BE2, port: 80, weight: 1}
    checks: $CHECKS
  - id: linked
    type: roundrobin
    scheme: tcp
    nodes:
      - {host: $LINKED, port: 80, weight: 1}
    checks: $CHECKS
stream_routes:
  - {id: 1, server_addr: $XLBT_VIP4, server_port: 80, upstream_id: web}
  - {id: 2, server_addr: $XLBT_VIP4, server_port: 81, upstream_id: via_be2}
  - {id: 3, server_addr: $XLBT_VIP4, server_port: 82, upstream_id: linked}
EOF

LOG=$TMP/xlbd.log
xlbt_agent_start "$LOG" "$CONF"
grep -q "netlink: no kernel signals" "$LOG" &&
	xlbt_fail "xlbd without kernel signals" "$(grep 'netlink:' "$LOG")"

xlb_health() {
	xlbt_agent_cli health
}
now_us() {
	echo "${EPOCHREALTIME/[.,]/}"
}
# log_us PATTERN: time (epoch us, ms resolution) of xlbd's first log line
# matching PATTERN, from its timestamp ("2026-01-02T03:04:05.678Z info: ...").
log_us() {
	local ts
	ts=$(grep -m1 -e "$1" "$LOG" | cut -d' ' -f1)
	[ -n "$ts" ] && date -d "$ts" +%s%6N 2>/dev/null
}
# ms FROM TO: TO - FROM (epoch us) in ms, "?" when one is missing.
ms() {
	if [ -n "$1" ] && [ -n "$2" ]; then echo $((($2 - $1) / 1000)); else echo '?'; fi
}
managed_neigh() { # ADDR DEV: the LB has a managed entry for ADDR on DEV
	xlbt_exec lb ip neigh show "$1" dev "$2" | grep -q managed
}

for a in "$BE1" "$BE2" "$VIA_BE2" "$LINKED"; do
	xlbt_expect_eq "$a healthy at start" "$(xlbt_node_status "$a")" healthy
done
# The agent has primed the next hops (reconcile.c): the entries that the
# kernel will re-probe.
xlbt_wait_for 5 managed_neigh "$BE2" "$LBDEV" ||
	xlbt_fail "a managed neighbour entry for $BE2" "$(xlbt_exec lb ip neigh show)"
xlbt_wait_for 5 managed_neigh "$XNET_X" "$XDEV_LB" ||
	xlbt_fail "a managed neighbour entry for $XNET_X" "$(xlbt_exec lb ip neigh show)"
xlbt_log "managed neighbour entries: $(xlbt_exec lb ip neigh show nud all |
	grep managed | awk '{print $1, $NF}' | xargs)"

# --- 1. neighbour FAILED: be2 vanishes --------------------------------------
# The kernel's neighbour notifications with their times, to split the wait
# into the kernel's part (to FAILED) and the agent's.
MON=$TMP/neigh.mon
xlbt_bg_start lb "$MON" ip -ts monitor neigh
MON_PID=$XLBT_BG_PID
sleep 0.2 # the monitor is listening
# be2 goes while its entry is REACHABLE: the host had just answered the
# kernel's probe, so what follows is the kernel noticing a known host go
# (as late as it can: a whole reachable_time still to run), not a first
# resolution failing.
neigh_state() { # ADDR DEV: the LB's neighbour state for ADDR on DEV
	xlbt_exec lb ip neigh show "$1" dev "$2" | awk '{print $NF}'
}
reachable() {
	[ "$(neigh_state "$BE2" "$LBDEV")" = REACHABLE ]
}
xlbt_wait_for 10 reachable ||
	xlbt_fail "be2's neighbour entry REACHABLE" "$(neigh_state "$BE2" "$LBDEV")"
t0=$(now_us)
xlbt_exec be2 ip link set dev "$(xlbt_dev be2)" down || xlbt_fail "be2's link down"
xlbt_log "be2 gone (its device down in its namespace); its entry on the LB was REACHABLE"
both_down() {
	xlbt_node_is "$BE2" unhealthy && xlbt_node_is "$VIA_BE2" unhealthy
}
xlbt_wait_for 10 both_down ||
	xlbt_fail "be2 and $VIA_BE2 unhealthy after be2's neighbour entry failed" \
		"$BE2 $(xlbt_node_status "$BE2"), $VIA_BE2 $(xlbt_node_status "$VIA_BE2")" \
		"$(
			xlbt_exec lb ip neigh show "$BE2" dev "$LBDEV"
			tail -5 "$MON"
		)"
t1=$(now_us)
xlbt_bg_stop "$MON_PID" 1
# The first FAILED notification for be2 as the monitor got it, e.g.
# "[2026-01-02T03:04:05.678901] 198.18.0.13 dev xlbt123l managed FAILED"
# (local time, which date -d reads back), and the agent's health line.
ts=$(sed -n "s/^\[\([^]]*\)\] $BE2 dev $LBDEV .*FAILED.*/\1/p" "$MON" | head -1)
tk=
[ -n "$ts" ] && tk=$(date -d "$ts" +%s%6N 2>/dev/null)
ta=$(log_us "health: node=$BE2:80 .*->unhealthy")
xlbt_log "be2 gone -> unhealthy seen in $(ms "$t0" "$t1") ms (0.1 s polling):" \
	"-> FAILED at the monitor $(ms "$t0" "$tk") ms, -> agent's health line" \
	"$(ms "$t0" "$ta") ms (the kernel's re-probe timers dominate)"
for node in "$BE2:80 upstream=web" "$VIA_BE2:80 upstream=via_be2"; do
	grep -q "netlink: node=$node kind=neigh_failed reason=\"neighbour $BE2 failed" "$LOG" ||
		xlbt_fail "a netlink line for $node naming the neighbour" \
			"$(grep netlink: "$LOG" | tail -3)"
	grep -q "health: node=$node state=.*->unhealthy event=tcp_failure reason=\"neighbour $BE2 failed" "$LOG" ||
		xlbt_fail "a health line for $node naming the neighbour" \
			"$(grep health: "$LOG" | tail -3)"
done
# Evidence that the node is unreachable moves its established flows too
# (via_be2, alone in its upstream, stays active: fail_open).
xlbt_expect_eq "$BE2 down in the maps (kernel evidence)" "$(xlbt_map_state "$BE2:80")" down
# At least one signal per node; the kernel repeats FAILED every ~5 s.
n=$(xlbt_metric 'xlb_netlink_events_total{kind="neigh_failed"}')
xlbt_expect_ge "xlb_netlink_events_total{kind=neigh_failed}" "${n:-0}" 2
for a in "$BE1" "$LINKED"; do
	xlbt_expect_eq "$a stays healthy" "$(xlbt_node_status "$a")" healthy
done
n=$(xlbt_metric 'xlb_netlink_events_total{kind="link_down"}')
xlbt_expect_eq "no link_down signal yet" "$n" 0

# --- 2. link down: the LB's second link ---------------------------------------
# The kernel also drops the IPv4 route via that link, without an
# RTM_DELROUTE (IPv4 does not announce those): the link is the signal.
t0=$(now_us)
xlbt_exec lb ip link set dev "$XDEV_LB" down || xlbt_fail "$XDEV_LB down"
xlbt_wait_for 10 xlbt_node_is "$LINKED" unhealthy ||
	xlbt_fail "$LINKED unhealthy after $XDEV_LB went down" "$(xlbt_node_status "$LINKED")"
t1=$(now_us)
ta=$(log_us "health: node=$LINKED:80 .*->unhealthy")
xlbt_log "link $XDEV_LB down -> $LINKED unhealthy seen in $(ms "$t0" "$t1") ms" \
	"(0.1 s polling), -> agent's health line $(ms "$t0" "$ta") ms"
grep -q "netlink: node=$LINKED:80 upstream=linked kind=link_down reason=\"link $XDEV_LB (ifindex [0-9]*) down\"" "$LOG" ||
	xlbt_fail "a netlink line for $LINKED naming the link" "$(grep netlink: "$LOG" | tail -3)"
grep -q "health: node=$LINKED:80 upstream=linked state=.*->unhealthy event=tcp_failure reason=\"link $XDEV_LB" "$LOG" ||
	xlbt_fail "a health line for $LINKED naming the link" "$(grep health: "$LOG" | tail -3)"
n=$(xlbt_metric 'xlb_netlink_events_total{kind="link_down"}')
xlbt_expect_eq "xlb_netlink_events_total{kind=link_down}" "$n" 1
xlbt_expect_eq "be1 stays healthy" "$(xlbt_node_status "$BE1")" healthy
# Only LINKED's next hop is on that link: no other node took a link signal.
if grep "kind=link_down" "$LOG" | grep -qv "node=$LINKED:80"; then
	xlbt_fail "link_down only for $LINKED" "$(grep kind=link_down "$LOG")"
fi

lat=$(xlbt_metric 'xlb_signal_flip_seconds{source="netlink",stat="max"}')
xlbt_log "signal -> map write (agent): netlink max ${lat:-?} s"

# --- the CLI and metrics show it ------------------------------------------------
out=$(xlb_health) || xlbt_fail "xlb health" "$out"
for a in "$BE2" "$VIA_BE2" "$LINKED"; do
	grep -Eq "^ +$a +unhealthy +ok [0-9]+ tcp_fail [1-9]" <<<"$out" ||
		xlbt_fail "xlb health: $a unhealthy with TCP failures" "$out"
	v=$(xlbt_metric "xlb_node_health{node=\"$a:80\"}")
	xlbt_expect_eq "/metrics: $a unhealthy (xlb_node_health 0)" "$v" 0
done
grep -Eq "^ +$BE1 +healthy +ok [0-9]+ tcp_fail 0 " <<<"$out" ||
	xlbt_fail "xlb health: be1 healthy, no TCP failures" "$out"
echo PASS
