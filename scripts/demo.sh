#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The xlb demo: the reference topology in network namespaces (a client, the
# load balancer, three backends with real HTTP servers), xlbd with the
# example configuration, real requests through the XDP program, a backend's
# server stopped (the agent takes it out) and started again, counters.
# Everything is torn down at the end, also on Ctrl-C. Needs root.
#
#   scripts/demo.sh [ipip|nat]     (or XLB_DEMO_FORWARD=nat; default ipip)
# nat: the backends are plain hosts (no VIP, no decap program); the LB
# translates both directions (forward: nat, nat_src: the LB's address).
set -u
cd "$(dirname "$0")/.." || exit 1
export XLB=${XLB:-$PWD/${BUILD:-build}/xlb}
XLBT_ID=demo$(($$ % 1000))
# shellcheck source=../tests/lib/testbed.sh
. tests/lib/testbed.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
MODE=${1:-${XLB_DEMO_FORWARD:-ipip}}
case $MODE in
ipip) ;;
nat) export XLBT_PLAIN_BACKENDS=1 ;;
*)
	echo "demo.sh: forward mode '$MODE' is not ipip or nat" >&2
	exit 2
	;;
esac
VIP=$XLBT_VIP4:80/tcp
VIP6="[$XLBT_VIP6]:80/tcp"

# N requests from the client to URL, one connection each; prints a
# histogram of the answering backends, with a live progress line.
spread() {
	local url=$1 n=$2 i out
	declare -A seen=()
	for ((i = 1; i <= n; i++)); do
		out=$(xlbt_exec client curl -s --max-time 2 "$url") || out="(failed)"
		seen[$out]=$((${seen[$out]:-0} + 1))
		[ -t 1 ] && printf '\r  %d/%d requests' "$i" "$n"
	done
	[ -t 1 ] && printf '\r%*s\r' 30 ''
	for out in "${!seen[@]}"; do
		printf '  %-10s %3d %s\n' "$out" "${seen[$out]}" \
			"$(printf '%*s' $((seen[$out] * 40 / n)) '' | tr ' ' '#')"
	done | sort
}

xlbt_require_root
[ -x "$XLB" ] || xlbt_fail "$XLB missing: run make first"

say "Topology: client, load balancer and 3 backends in network namespaces"
xlbt_testbed_up 3
scripts/topology.sh show "$XLBT_ID" | grep -E '^==|198\.18' | sed 's/^/  /'

if [ "$MODE" = nat ]; then
	say "Backends: plain hosts (no VIP, no decap, no XDP), an HTTP server answers with its name"
else
	say "Backends: xlb_decap strips the tunnel, an HTTP server answers with its name"
fi
for be in $(xlbt_backends); do
	if [ "$MODE" != nat ]; then
		xlbt_xlb "$be" decap attach "$(xlbt_dev "$be")" 2>/dev/null ||
			xlbt_fail "decap attach on $be"
		xlbt_xlb "$be" decap vip add "$XLBT_VIP4"
		xlbt_xlb "$be" decap vip add "$XLBT_VIP6"
	fi
	xlbt_http_server "$be"
	echo "  $be: $(xlbt_addr4 "$be") / $(xlbt_addr6 "$be")"
done

say "Agent: xlbd with scripts/xlb.example.yaml (3 weighted nodes, HTTP checks every 0.2 s)"
CONF=$(xlbt_tmp_dir)/xlb.yaml
NAT_SED=()
# NAT: every upstream by NAT, replies to the LB's own addresses.
[ "$MODE" = nat ] && NAT_SED=(-e "s/^  forward: ipip /  forward: nat  /"
	-e "s|# nat_src: 10.0.0.2 |nat_src: $(xlbt_addr4 lb)|"
	-e "s|# nat_src6: fd00::2 |nat_src6: \"$(xlbt_addr6 lb)\"|")
sed -e "s/interfaces: \[eth0\]/interfaces: [$(xlbt_dev lb)]/" \
	-e "s|# encap_src: 10.0.0.0/24 |encap_src: 198.18.128.0/24|" "${NAT_SED[@]}" \
	scripts/xlb.example.yaml >"$CONF"
[ "$MODE" = nat ] && grep -E '^  (forward|nat_src)' "$CONF" | sed 's/^/ /'
XLBD=${XLBD:-$PWD/${BUILD:-build}/xlbd}
# No api_key in the example: xlbd makes one, and xlb (as root) reads it.
xlbt_cleanup_add rm -f "$(xlbt_api_key_file lb)"
xlbt_bg_start lb "$(xlbt_tmp_dir)/xlbd.log" env XLB_PIN_DIR="$(xlbt_pin_dir lb)" "$XLBD" -c "$CONF"
XLBD_PID=$XLBT_BG_PID
agent() {
	xlbt_exec lb env XLB_PIN_DIR="$(xlbt_pin_dir lb)" timeout 10 "$XLB" "$@"
}
xlbt_wait_for 10 agent health || xlbt_fail "xlbd did not start" "$(tail -5 "$(xlbt_tmp_dir)/xlbd.log")"
sed 's/^[0-9TZ:.-]* /  /' "$(xlbt_tmp_dir)/xlbd.log" | head -8
for be in $(xlbt_backends); do
	xlbt_wait_for 5 xlbt_exec client curl -sf --max-time 1 "http://$(xlbt_addr4 "$be")/" ||
		xlbt_fail "server on $be did not start"
done
agent upstream show web | sed 's/^/  /'

say "90 requests to http://$XLBT_VIP4/ (weights 1:2:3)"
spread "http://$XLBT_VIP4/" 90
say "30 requests to http://[$XLBT_VIP6]/ (equal weights)"
spread "http://[$XLBT_VIP6]/" 30

# status ADDR: the agent's health state of node ADDR:80.
status() {
	agent -j health | python3 -c '
import json, sys
for u in json.load(sys.stdin):
    for n in u["nodes"]:
        if n["ip"] == sys.argv[1] and n["port"] == 80:
            print(n["status"]); sys.exit(0)' "$1"
}
status_is() { [ "$(status "$1")" = "$2" ]; }
wait_state() {
	local t0=${EPOCHREALTIME/[.,]/} i
	for ((i = 0; i < 200; i++)); do
		status_is "$1" "$2" && break
		[ -t 1 ] && printf '\r  waiting for %s: %s ' "$2" "$(status "$1")"
		sleep 0.05
	done
	[ -t 1 ] && printf '\r%*s\r' 50 ''
	status_is "$1" "$2" || xlbt_fail "$1 did not become $2"
	echo "  $1 is $2 after $(((${EPOCHREALTIME/[.,]/} - t0) / 1000)) ms"
}

be2=$(xlbt_addr4 be2)
say "be2's HTTP server stops: the agent's checks take it out"
xlbt_bg_stop "${XLBT_SRV[be2]}"
wait_state "$be2" unhealthy
grep -h "health: node=$be2" "$(xlbt_tmp_dir)/xlbd.log" | tail -2 | sed 's/^[0-9TZ:.-]* /  /'
spread "http://$XLBT_VIP4/" 45

say "be2's server is back: after 2 good checks it gets new flows again"
xlbt_http_server be2
wait_state "$be2" healthy
spread "http://$XLBT_VIP4/" 45

say "xlb stats"
xlbt_xlb lb stats | sed 's/^/  /'
say "xlb health (from the agent)"
agent health | sed 's/^/  /'
if [ "$MODE" = nat ]; then
	say "What be1 sees of a client through NAT (X-Client-Addr: the LB's address and a NAT port)"
	xlbt_exec client curl -s -i --max-time 2 "http://$XLBT_VIP4/" | tr -d '\r' |
		grep -E '^(X-Backend|X-Client-Addr)' | sed 's/^/  /'
	say "xlb flows --limit 5 (both directions of each connection)"
	xlbt_exec client python3 -c '
import socket, time
s = socket.create_connection(("'"$XLBT_VIP4"'", 80))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(4096); time.sleep(3)' &
	sleep 1
	xlbt_xlb lb flows --limit 5 | sed 's/^/  /'
	wait
else
	say "xlb flows --limit 5"
	xlbt_xlb lb flows --limit 5 | sed 's/^/  /'
fi
say "Done: tearing down"
