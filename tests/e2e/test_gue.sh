#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of GUE forwarding and stateless VIPs on the reference
# topology (docs/testing.md): real TCP connections from a client namespace
# through the LB to three backends whose `xlb decap` strips GUE on a port
# other than the default, over IPv4 and IPv6.
#
# Checks: a stateless GUE VIP (IPv4) and a GUE VIP with flow entries (IPv6)
# answer every connection; the stateless VIP leaves no flow entry while the
# other does; `xlb vip list` names both; after a backend is added, the
# stateless VIP's table keeps the slots' earlier owners (table and chain
# digests, `xlb pick` names them, packets carry them as hops) and new
# connections reach all three backends; second chance: 50 connections held
# across the change all survive, though the LB keeps no flow entry, because
# the new owner of their slot hands their packets to the backend that holds
# them (counted sc_handoff); the backends count GUE packets stripped on the
# port they were given; a full-size POST fits the path with the GUE header.
#
# Environment: XLB (default build/xlb, relative to the repository root).
# Exit: 0 pass, 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh
. tests/lib/traffic.sh

xlbt_require_exe XLB build/xlb
xlbt_require_root
xlbt_require_cmd ip curl python3 timeout ping sysctl

VIP4=$XLBT_VIP4 # 198.18.100.1
VIP6=$XLBT_VIP6 # fd00:78:6c62:100::1
SVC4="$VIP4:80/tcp"
SVC6="[$VIP6]:80/tcp"
GUE_PORT=6081
BACKENDS=(be1 be2 be3)

# Client source ports, one range per phase: every connection a new 5-tuple.
P_WARM6=10000 P_MAIN4=12000 P_MAIN6=13000 P_AFTER=14000 P_POST=15000
HELD=50

# reason NAME: packets counted for the LB's reason NAME.
reason() {
	xlb_ok lb -j stats
	python3 -c 'import json, sys
print(json.loads(sys.argv[1])["reasons"][sys.argv[2]]["packets"])' "$OUT" "$1"
}

# flows_of SVC: the LB's flow entries for VIP SVC.
flows_of() {
	xlb_ok lb -j flows --vip "$1"
	python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$OUT"
}

# vip_field SVC KEY: KEY of VIP SVC in `xlb -j vip list`.
vip_field() {
	xlb_ok lb -j vip list
	python3 -c 'import json, sys
v = [v for v in json.loads(sys.argv[1]) if v["vip"] == sys.argv[2]][0]
print(json.dumps(v[sys.argv[3]]))' "$OUT" "$1" "$2"
}

TMP=
xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
xlbt_log "topology $XLBT_ID up"

xlbt_http_servers "${BACKENDS[@]}"
for be in "${BACKENDS[@]}"; do
	xlbt_decap_gue "$be" "$GUE_PORT" "${BACKENDS[@]}"
	xlb_ok "$be" decap vip add "$VIP4"
	xlb_ok "$be" decap vip add "$VIP6"
done

LBDEV=$(xlbt_dev lb)
xlb_ok lb attach "$LBDEV" --mode native --forward gue --gue-port "$GUE_PORT"
# A GUE node's VIPs are GUE without --forward; stateless asks no more.
xlb_ok lb vip add "$SVC4" --flow-state stateless --table-size 509
xlb_ok lb vip add "$SVC6"
for be in be1 be2; do
	xlb_ok lb backend add "$SVC4" "$(xlbt_addr4 "$be")"
done
for be in "${BACKENDS[@]}"; do
	xlb_ok lb backend add "$SVC6" "$(xlbt_addr6 "$be")"
done
xlbt_expect_eq "$SVC4 forward" "$(vip_field "$SVC4" forward)" '"gue"'
xlbt_expect_eq "$SVC4 stateless" "$(vip_field "$SVC4" stateless)" true
xlbt_expect_eq "$SVC6 forward" "$(vip_field "$SVC6" forward)" '"gue"'
xlbt_expect_eq "$SVC6 stateless" "$(vip_field "$SVC6" stateless)" false
xlbt_log "LB attached with --forward gue, two GUE VIPs"

# Resolves every backend's next hop (the first packets may go to the kernel).
warm_up "$SVC6" "$P_WARM6" "http://[$VIP6]/"

curl_batch "$TMP/main4.out" "$P_MAIN4" 200 "http://$VIP4/"
expect_batch "$SVC4 (200 connections, stateless)" "$TMP/main4.out" 200
xlbt_expect_eq "$SVC4: backends reached" "$(seen "$TMP/main4.out")" "be1,be2"
curl_batch "$TMP/main6.out" "$P_MAIN6" 100 "http://[$VIP6]/"
expect_batch "$SVC6 (100 connections, IPv6 GUE)" "$TMP/main6.out" 100
xlbt_expect_eq "$SVC6: flow entries kept" "$(($(flows_of "$SVC6") > 0))" 1
xlbt_expect_eq "$SVC4: flow entries (stateless)" "$(flows_of "$SVC4")" 0
n=$(reason fwd_gue)
((n >= 300 * 3)) || xlbt_fail "LB reason fwd_gue after 300 connections" "$n" ">= 900"
xlbt_log "GUE delivered: 200 stateless IPv4 and 100 IPv6 connections, no stateless flow entry"

# --- a backend added: chains keep the earlier owners ------------------------

hold_start "$VIP4" "$HELD" 300
wait_rounds 3
xlbt_log "$HELD connections held on be1 and be2, no flow entry on the LB"

before=$(vip_field "$SVC4" table_digest)
xlb_ok lb backend add "$SVC4" "$(xlbt_addr4 be3)"
[ "$(vip_field "$SVC4" table_digest)" != "$before" ] ||
	xlbt_fail "$SVC4 table_digest after adding be3" "unchanged" "changed"
[ "$(vip_field "$SVC4" chains)" = true ] ||
	xlbt_fail "$SVC4 keeps chains" "$(vip_field "$SVC4" chains)" true
# Some client's slot moved to be3 and names its earlier owner.
found=
for ((port = 40000; port < 40200; port++)); do
	xlb_ok lb -j pick "$SVC4" "$(xlbt_addr4 client):$port"
	if python3 -c 'import json, sys
p = json.loads(sys.argv[1])
b = p["backend"]
sys.exit(0 if (b == sys.argv[2] or b.startswith(sys.argv[2] + ":")) and p["secondaries"] else 1)' \
		"$OUT" "$(xlbt_addr4 be3)"; then
		found=$OUT
		break
	fi
done
[ -n "$found" ] || xlbt_fail "xlb pick: a slot of be3 with an earlier owner" "none in 200 ports" \
	"one"
xlbt_log "chains: $found"

hops=$(reason gue_hops)
curl_batch "$TMP/after.out" "$P_AFTER" 150 "http://$VIP4/"
expect_batch "$SVC4 after be3 joined (150 connections)" "$TMP/after.out" 150
xlbt_expect_eq "$SVC4: backends reached after be3 joined" "$(seen "$TMP/after.out")" \
	"be1,be2,be3"
n=$(reason gue_hops)
((n > hops)) || xlbt_fail "LB reason gue_hops after be3 joined" "$n" "> $hops"
xlbt_expect_eq "$SVC4: flow entries (stateless)" "$(flows_of "$SVC4")" 0

# Second chance: the held connections whose slot moved to be3 reach it,
# which hands them to their backend.
wait_rounds 5
hold_stop
summary=$HOLD_SUMMARY broken=$HOLD_BROKEN
xlb_ok be3 -j decap stats
handoffs=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["sc_handoff"]["packets"])' \
	"$OUT")
xlbt_log "held across be3's arrival: $summary; be3 handed on $handoffs packets"
xlbt_expect_eq "held connections broken across a backend added (stateless, second chance)" \
	"$broken" 0
((handoffs > 0)) || xlbt_fail "be3: packets handed to their connection's backend" \
	"$handoffs" "> 0"

# --- full-size segments, the backends' side -------------------------------------

head -c 200000 /dev/zero | tr '\0' x >"$TMP/post.data"
for spec in "$P_POST http://$VIP4/" "$((P_POST + 1)) http://[$VIP6]/"; do
	body=$(xlbt_exec client curl -sS -g --max-time 5 --local-port "${spec%% *}" \
		--data-binary @"$TMP/post.data" "${spec#* }" 2>&1)
	[[ $body =~ ^be[0-9]+\ 200000$ ]] ||
		xlbt_fail "POST 200000 bytes to ${spec#* } in GUE" "$body" "beN 200000"
done

for be in "${BACKENDS[@]}"; do
	xlb_ok "$be" -j decap stats
	n=$(python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(d["reasons"]["gue"]["packets"] if "reasons" in d else d["gue"]["packets"])' "$OUT")
	((n > 0)) || xlbt_fail "$be: GUE packets stripped on port $GUE_PORT" "$n" "> 0"
done
xlbt_log "backends stripped GUE on port $GUE_PORT; full-size POSTs fit"
echo PASS
