#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The xlb demo: the reference topology in network namespaces (a client, the
# load balancer, three backends with real HTTP servers), real requests
# through the XDP program, a backend taken out and brought back, counters.
# Everything is torn down at the end, also on Ctrl-C. Needs root.
set -u
cd "$(dirname "$0")/.." || exit 1
export XLB=${XLB:-$PWD/${BUILD:-build}/xlb}
XLBT_ID=demo$(($$ % 1000))
# shellcheck source=../tests/lib/testbed.sh
. tests/lib/testbed.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
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

say "Backends: xlb_decap strips the tunnel, an HTTP server answers with its name"
for be in $(xlbt_backends); do
	xlbt_xlb "$be" decap attach "$(xlbt_dev "$be")" 2>/dev/null || xlbt_fail "decap attach on $be"
	xlbt_xlb "$be" decap vip add "$XLBT_VIP4"
	xlbt_xlb "$be" decap vip add "$XLBT_VIP6"
	xlbt_bg_start "$be" "$(xlbt_tmp_dir)/$be.log" python3 tests/lib/backend_server.py \
		--name "$be" --http-port 80
	echo "  $be: $(xlbt_addr4 "$be") / $(xlbt_addr6 "$be")"
done

say "Load balancer: xlb attach, two VIPs, weighted backends"
xlbt_xlb lb attach "$(xlbt_dev lb)" --encap-src 198.18.128.0/24
xlbt_xlb lb vip add "$VIP"
xlbt_xlb lb vip add "$VIP6"
w=1
for be in $(xlbt_backends); do
	xlbt_xlb lb backend add "$VIP" "$(xlbt_addr4 "$be")" --weight $w
	xlbt_xlb lb backend add "$VIP6" "$(xlbt_addr6 "$be")"
	w=$((w + 1))
done
xlbt_xlb lb backend list "$VIP" | sed 's/^/  /'
for be in $(xlbt_backends); do
	xlbt_wait_for 5 xlbt_exec client curl -sf --max-time 1 "http://$(xlbt_addr4 "$be")/" ||
		xlbt_fail "server on $be did not start"
done

say "90 requests to http://$XLBT_VIP4/ (weights 1:2:3)"
spread "http://$XLBT_VIP4/" 90
say "30 requests to http://[$XLBT_VIP6]/ (equal weights)"
spread "http://[$XLBT_VIP6]/" 30

be2=$(xlbt_addr4 be2)
say "be2 marked down: one map write, the next connection already avoids it"
t0=${EPOCHREALTIME/[.,]/}
xlbt_xlb lb backend set "$VIP" "$be2" --state down
t1=${EPOCHREALTIME/[.,]/}
echo "  'xlb backend set --state down' took $(((t1 - t0) / 1000)) ms (process start, state write, table rebuild and swap)"
spread "http://$XLBT_VIP4/" 45
say "be2 back: new flows spread over all three again"
xlbt_xlb lb backend set "$VIP" "$be2" --state active
spread "http://$XLBT_VIP4/" 45

say "xlb stats"
xlbt_xlb lb stats | sed 's/^/  /'
say "xlb flows --limit 5"
xlbt_xlb lb flows --limit 5 | sed 's/^/  /'
say "Done: tearing down"
