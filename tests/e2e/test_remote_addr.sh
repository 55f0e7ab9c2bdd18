#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of a stream route's remote_addr (client filter) through
# xlbd on the reference topology, with real TCP connections from several
# client addresses: two routes on one VIP address and port, each for its
# client prefix and with its own upstream, send each client to its
# upstream; a client outside both is not balanced (it passes to the LB
# host, counted as pass_client); a route without remote_addr on the same
# address takes every other client; a true duplicate is refused.
#
# Environment: XLB, XLBD (default build/xlb, build/xlbd). Exit: 0 pass,
# 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh
xlbt_require_root
xlbt_require_cmd ip curl python3 timeout awk
xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd

xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
xlbt_backends_serve

# The client's own 198.18.0.10 and two more on its link: .20 and .30.
C1=$(xlbt_addr4 client)
C2=198.18.0.20
C3=198.18.0.30
for a in $C2 $C3; do
	ip -n "$(xlbt_ns client)" addr add "$a/24" dev "$(xlbt_dev client)" ||
		xlbt_fail "client address $a"
done

# write_conf FILE [ROUTE...]: two upstreams (be1, be2), a third (be3), the
# routes given as YAML flow mappings.
write_conf() {
	local f=$1 r
	shift
	{
		xlbt_agent_conf_head
		cat <<EOF
upstreams:
  - {id: one, scheme: tcp, nodes: {"$(xlbt_addr4 be1):80": 1}}
  - {id: two, scheme: tcp, nodes: {"$(xlbt_addr4 be2):80": 1}}
  - {id: all, scheme: tcp, nodes: {"$(xlbt_addr4 be3):80": 1}}
EOF
		[ $# = 0 ] && echo "stream_routes: []" || echo "stream_routes:"
		for r in "$@"; do
			echo "  - $r"
		done
	} >"$f"
}

R1="{id: r1, server_addr: $XLBT_VIP4, server_port: 80, remote_addr: $C1/32, upstream_id: one}"
R2="{id: r2, server_addr: $XLBT_VIP4, server_port: 80, remote_addr: 198.18.0.16/29, upstream_id: two}"
R3="{id: r3, server_addr: $XLBT_VIP4, server_port: 80, upstream_id: all}"

# A true duplicate (same address, port and client prefix) is refused.
write_conf "$TMP/dup.yaml" "$R1" "$R2" \
	"{id: r4, server_addr: $XLBT_VIP4, server_port: 80, remote_addr: 198.18.0.16/29, upstream_id: one}"
rc=0
out=$(xlbt_exec lb "$XLBD" --check -c "$TMP/dup.yaml" 2>&1) || rc=$?
xlbt_expect_eq "xlbd --check, two routes for one prefix: exit status" "$rc" 1
grep -q "duplicate VIP $XLBT_VIP4:80/tcp for clients 198.18.0.16/29: stream routes 'r2'.* and 'r4'" \
	<<<"$out" || xlbt_fail "the duplicate is named" "$out"

CONF=$TMP/xlb.yaml
write_conf "$CONF" "$R1" "$R2"
xlbt_exec lb "$XLBD" --check -c "$CONF" >/dev/null 2>&1 ||
	xlbt_fail "xlbd --check: two routes on one address for two prefixes" \
		"$(xlbt_exec lb "$XLBD" --check -c "$CONF" 2>&1)"
xlbt_agent_start "$TMP/xlbd.log" "$CONF"
xlbt_log "xlbd up with two routes on $XLBT_VIP4:80 for $C1/32 and 198.18.0.16/29"

# from SRC N: N connections from client address SRC; the answering
# backends, one a line ("(failed)" for a connection that got no answer).
from() {
	local i
	for ((i = 0; i < $2; i++)); do
		xlbt_exec client curl -s --max-time 1 --interface "$1" "http://$XLBT_VIP4/" ||
			echo "(failed)"
	done
}

# only SRC N BE: every one of N connections from SRC is answered by BE.
only() {
	local out
	out=$(from "$1" "$2" | sort | uniq -c)
	[ "$(awk '{print $2}' <<<"$out")" = "$3" ] ||
		xlbt_fail "connections from $1 all reach $3" "$out" "$2 $3"
}

# reason NAME: packets the LB counted under NAME.
reason() {
	xlbt_xlb lb -j stats | python3 -c '
import json, sys
print(json.load(sys.stdin)["reasons"][sys.argv[1]]["packets"])' "$1"
}

only "$C1" 10 be1
only "$C2" 10 be2
xlbt_log "each client prefix reaches its own upstream"

p0=$(reason pass_client)
out=$(from "$C3" 3)
grep -q "be[0-9]" <<<"$out" && xlbt_fail "a client outside both prefixes is not balanced" "$out"
p1=$(reason pass_client)
((p1 > p0)) || xlbt_fail "the LB counts pass_client for the outside client" "$p0 -> $p1"
xlbt_log "client $C3 outside both prefixes: not balanced, pass_client $p0 -> $p1"

# A route for every client on the same address takes the rest; the
# prefixes keep theirs.
write_conf "$CONF" "$R1" "$R2" "$R3"
xlbt_agent_cli reload >/dev/null || xlbt_fail "reload with a route for every client"
only "$C3" 10 be3
only "$C1" 10 be1
only "$C2" 10 be2
xlbt_log "a route without remote_addr on the same address takes every other client"

# A filter changed: the route's clients follow.
write_conf "$CONF" "{id: r1, server_addr: $XLBT_VIP4, server_port: 80, remote_addr: 198.18.0.16/29, upstream_id: one}" "$R3"
xlbt_agent_cli reload >/dev/null || xlbt_fail "reload with r1 for 198.18.0.16/29"
only "$C2" 10 be1
only "$C1" 10 be3
out=$(xlbt_xlb lb vip list)
[ "$(grep -c "^$XLBT_VIP4:80/tcp" <<<"$out")" = 2 ] ||
	xlbt_fail "xlb vip list: two VIPs on $XLBT_VIP4:80/tcp" "$out"
grep -q "^$XLBT_VIP4:80/tcp .*clients 198.18.0.16/29" <<<"$out" ||
	xlbt_fail "xlb vip list names the client prefix" "$out"
xlbt_log "a changed remote_addr moves its clients"

# The routes go: nothing is left of the address in the maps.
write_conf "$CONF"
xlbt_agent_cli reload >/dev/null || xlbt_fail "reload without routes"
out=$(xlbt_xlb lb vip list)
grep -q "$XLBT_VIP4" <<<"$out" && xlbt_fail "no VIP left" "$out"
echo PASS
