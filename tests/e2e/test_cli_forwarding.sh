#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of the xlb CLI on the reference topology (docs/testing.md):
# real TCP, UDP and IPv6 traffic from a client namespace through the LB's XDP
# program to three backends that decapsulate with `xlb decap` and answer the
# client directly (direct server return).
#
# Checks: connections reach the backends and replies come straight back
# (seen on the wire); the spread follows the weights; outer headers are
# right (IPIP / IP6IP6 to the backend, outer source varying within the
# --encap-src prefix); UDP; IPv6; a port-less VIP on two ports; full-size
# segments through the tunnel; `xlb -j stats` / `-j flows` / `pick` agree with
# the traffic; state down and draining; pinned maps carry BTF field names;
# attach twice, vip del, detach and detach twice.
#
# Environment: XLB (default build/xlb, relative to the repository root),
# XLBT_E2E_CONNS (connections for the spread check, default 600).
# Exit: 0 pass, 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh
. tests/lib/traffic.sh

xlbt_require_exe XLB build/xlb
xlbt_require_root
xlbt_require_cmd ip curl python3 bpftool ethtool timeout realpath

VIP4=$XLBT_VIP4    # 198.18.100.1
VIP6=$XLBT_VIP6    # fd00:78:6c62:100::1
VIPPL=198.18.100.2 # port-less VIP
SVC4="$VIP4:80/tcp"
SVC6="[$VIP6]:80/tcp"
SVCU="$VIP4:53/udp"
SVCPL="$VIPPL:0/tcp"
ENCAP4=198.18.128.0/24
ENCAP6=fd00:78:6c62:128::/112
BACKENDS=(be1 be2 be3)
WEIGHTS=(1 2 3) # on SVC4; 1 each elsewhere
CONNS=${XLBT_E2E_CONNS:-600}
((CONNS >= 300 && CONNS <= 8000)) || xlbt_fail "XLBT_E2E_CONNS" "$CONNS" "300..8000"

# Client source ports, one range per phase (below the ephemeral range, so no
# clash with kernel-chosen ports): every connection is a new 5-tuple.
P_WARM4=10000 P_WARM6=10200 P_WARMPL=10400 P_WARMPL2=10600
P_HDR=11000 P_POST4=11001 P_POST6=11002
P_MAIN=12000 # .. 12000 + CONNS - 1 (< 20000)
P_V6=20000 P_PL80=20200 P_PL8080=20300
P_DOWN=20400 P_UP=20500 P_DRAIN=20600 P_AGAIN=20700
P_DEL=20800 P_DETACH=20801

# --- helpers (more in tests/lib/traffic.sh) ------------------------------------

# ka_answered_since LINE N: the keep-alive log has N answers after LINE.
ka_answered_since() {
	(($(tail -n +$(($1 + 1)) "$TMP/ka.log" | grep -c '^ok ') >= $2))
}

# --- topology, backends' servers and decap -----------------------------------

TMP=
xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
HELPER=$PWD/tests/lib/e2e_helper.py
xlbt_topo_add_vip "$XLBT_ID" "$VIPPL" || xlbt_fail "add $VIPPL on backends' lo"
xlbt_log "topology $XLBT_ID up"

xlbt_http_servers "${BACKENDS[@]}" -- --http-port 8080 --udp-port 53 \
	--udp-bind "$VIP4" --udp-bind "$VIP6"
for be in "${BACKENDS[@]}"; do
	# Plain connectivity, no LB: the client reaches the backend's own address.
	body=$(xlbt_exec client curl -sS --max-time 3 "http://$(xlbt_addr4 "$be")/" 2>&1)
	xlbt_expect_eq "client -> $be real address" "$body" "$be"
done

for be in "${BACKENDS[@]}"; do
	xlb_ok "$be" decap attach "$(xlbt_dev "$be")"
	for vip in "$VIP4" "$VIP6" "$VIPPL"; do
		xlb_ok "$be" decap vip add "$vip"
	done
	xdp_on "$be" || xlbt_fail "$be: XDP program on $(xlbt_dev "$be") after decap attach" \
		"none" "one"
done
xlbt_log "backends serving, decap attached"

# --- the LB ------------------------------------------------------------------

LBDEV=$(xlbt_dev lb)
xlb_ok lb attach "$LBDEV" --mode native --forward ipip \
	--encap-src "$ENCAP4" --encap-src6 "$ENCAP6" --flows 65536 --flows6 2048
xdp_on lb || xlbt_fail "XDP program on $LBDEV after attach" "none" "one"
xlb_ok lb status
grep -q "$LBDEV" <<<"$OUT" || xlbt_fail "xlb status names $LBDEV" "$OUT" "$LBDEV"
# No NAT source: the NAT maps take the least room; the table space its default.
# The flow cache: 65536 IPv4 flows in sets of 3 ways, 2048 IPv6 ones in
# sets of 4, per possible CPU a power of two of sets.
xlb_ok lb -j status
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
ncpu = 0
for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
    lo, _, hi = part.partition("-")
    ncpu += int(hi or lo) - int(lo) + 1
def entries(flows, ways):
    sets, bits = -(-flows // (ncpu * ways)), 0
    while (1 << bits) < sets:
        bits += 1
    return ncpu << bits
m = d["memory"]["maps"]
sys.exit(0 if d["maps"]["nat"]["max"] == 1024 and
         d["memory"]["table_slots"]["max"] == 12 << 20 and d["memory"]["total_bytes"] > 0 and
         m["xlb_fc4"]["max_entries"] == entries(65536, 3) and
         m["xlb_fc6"]["max_entries"] == entries(2048, 4) else 1)' "$OUT" ||
	xlbt_fail "xlb -j status after an attach without NAT, --flows 65536 --flows6 2048" "$OUT" \
		"maps.nat.max 1024, memory.table_slots.max 12582912, xlb_fc4/xlb_fc6 sized for 65536/2048 flows"

xlb_ok lb vip add "$SVC4"
xlb_ok lb vip add "$SVC6"
xlb_ok lb vip add "$SVCU"
xlb_ok lb vip add "$SVCPL"
for i in "${!BACKENDS[@]}"; do
	be=${BACKENDS[i]}
	xlb_ok lb backend add "$SVC4" "$(xlbt_addr4 "$be")" --weight "${WEIGHTS[i]}"
	xlb_ok lb backend add "$SVC6" "$(xlbt_addr6 "$be")"
	xlb_ok lb backend add "$SVCU" "$(xlbt_addr4 "$be")"
	xlb_ok lb backend add "$SVCPL" "$(xlbt_addr4 "$be")"
done
xlb_ok lb vip list
for vip in "$VIP4" "$VIP6" "$VIPPL"; do
	grep -qF "$vip" <<<"$OUT" || xlbt_fail "xlb vip list shows $vip" "$OUT" "$vip"
done
xlb_ok lb backend list "$SVC4"
for be in "${BACKENDS[@]}"; do
	grep -qwF "$(xlbt_addr4 "$be")" <<<"$OUT" ||
		xlbt_fail "xlb backend list $SVC4 shows $be" "$OUT" "$(xlbt_addr4 "$be")"
done
# The address filter: on since the attach, one bit per VIP address (three).
xlb_ok lb -j status
python3 -c '
import json, sys
f = json.loads(sys.argv[1]).get("address_filter", {})
sys.exit(0 if f.get("on") is True and f.get("bits_set") == 3 and f.get("bits") == 32768 else 1)' \
	"$OUT" || xlbt_fail "xlb -j status: address filter after 4 VIPs on 3 addresses" "$OUT" \
	"address_filter: on, bits_set 3, bits 32768"
xlb_ok lb status
grep -q "^filter: *on, 3 of 32768" <<<"$OUT" ||
	xlbt_fail "xlb status: the address filter line" "$OUT" "filter: on, 3 of 32768 ..."
xlbt_log "LB attached, 4 VIPs configured"

warm_up "$SVC4" "$P_WARM4" "http://$VIP4/"
warm_up "$SVC6" "$P_WARM6" "http://[$VIP6]/"
warm_up "$SVCPL" "$P_WARMPL" "http://$VIPPL/"
warm_up "$SVCPL" "$P_WARMPL2" "http://$VIPPL:8080/"

# --- traffic: spread, IPv6, direct return, outer headers ----------------------

xlbt_bg_start net "$TMP/sniff.log" python3 "$HELPER" sniff --out "$TMP/sniff.json" \
	--ready "$TMP/sniff.ready" --vip "$VIP4" --vip "$VIP6" --vip "$VIPPL"
SNIFF_PID=$XLBT_BG_PID
xlbt_wait_for 10 test -e "$TMP/sniff.ready" ||
	xlbt_fail "sniffer not ready" "$(cat "$TMP/sniff.log")"

xlbt_log "$CONNS connections to $SVC4"
curl_batch "$TMP/main.out" "$P_MAIN" "$CONNS" "http://$VIP4/"
expect_batch "$SVC4 ($CONNS connections)" "$TMP/main.out" "$CONNS"
# Each backend's share must lie within 4 standard deviations of w/sum(w)
# (+0.01 for the Maglev table's rounding): a correct LB fails this with
# probability < 2e-4, equal shares (weights ignored) fail it for sure. At
# 600 connections the bounds are 0.07-0.09; see cmd_spread in the helper.
names=$(
	IFS=,
	echo "${BACKENDS[*]}"
)
weights=$(
	IFS=,
	echo "${WEIGHTS[*]}"
)
if ! spread=$(python3 "$HELPER" spread "$TMP/main.out" --names "$names" \
	--weights "$weights"); then
	xlbt_fail "$SVC4: spread over backends against weights $weights" "$spread"
fi
xlbt_log "spread ok: $(tr '\n' ';' <<<"$spread")"

curl_batch "$TMP/v6.out" "$P_V6" 60 "http://[$VIP6]/"
expect_batch "$SVC6 (60 connections)" "$TMP/v6.out" 60
# Equal weights: a backend left out of 60 connections has probability 3e-11.
xlbt_expect_eq "$SVC6: backends reached" "$(seen "$TMP/v6.out")" "be1,be2,be3"

xlbt_bg_stop "$SNIFF_PID" 5
[ -s "$TMP/sniff.json" ] || xlbt_fail "sniffer summary" "$(cat "$TMP/sniff.log")"
args=()
for be in "${BACKENDS[@]}"; do
	args+=(--backend "$(xlbt_peer "$be"),$(xlbt_addr4 "$be"),$(xlbt_addr6 "$be"),$(xlbt_mac "$be")")
done
if ! problems=$(python3 "$HELPER" check-sniff "$TMP/sniff.json" "${args[@]}" \
	--vip4 "$VIP4" --vip6 "$VIP6" --encap4 "$ENCAP4" --encap6 "$ENCAP6" \
	--client-peer "$(xlbt_peer client)" --lb-mac "$(xlbt_mac lb)" --min-srcs 16); then
	xlbt_fail "frames on the wire (tunnels to backends, direct replies)" \
		"$(tr '\n' ';' <<<"$problems")" "IPIP/IP6IP6 to each backend, replies from backends' MACs"
fi
xlbt_log "wire ok: tunnelled to each backend, replies direct from backends"

# The backend sees the client's own address and port (no proxy, no NAT).
hdr=$(xlbt_exec client curl -sS -i --max-time 3 --local-port "$P_HDR" "http://$VIP4/" 2>&1 |
	tr -d '\r' | sed -n 's/^X-Client-Addr: //p')
xlbt_expect_eq "client address seen by the backend" "$hdr" "$(xlbt_addr4 client) $P_HDR"

# Full-size client segments (1500-byte MTU) plus the outer header.
head -c 200000 /dev/zero | tr '\0' x >"$TMP/post.data"
for spec in "$P_POST4 http://$VIP4/" "$P_POST6 http://[$VIP6]/"; do
	body=$(xlbt_exec client curl -sS -g --max-time 5 --local-port "${spec%% *}" \
		--data-binary @"$TMP/post.data" "${spec#* }" 2>&1)
	[[ $body =~ ^be[0-9]+\ 200000$ ]] ||
		xlbt_fail "POST 200000 bytes to ${spec#* }" "$body" "beN 200000"
done

# --- UDP, port-less VIP --------------------------------------------------------

xlbt_exec client timeout 60 python3 "$HELPER" udp --addr "$VIP4" --port 53 \
	--count 30 >"$TMP/udp.out" 2>&1
n=$(grep -cE "^[0-9]+ be[0-9]+ $VIP4:53\$" "$TMP/udp.out")
[ "$n" -eq 30 ] || xlbt_fail "$SVCU: replies from $VIP4:53" \
	"$n ($(grep -vE " $VIP4:53\$" "$TMP/udp.out" | head -3 | tr '\n' ';'))" 30

curl_batch "$TMP/pl80.out" "$P_PL80" 30 "http://$VIPPL/"
expect_batch "$SVCPL on port 80" "$TMP/pl80.out" 30
curl_batch "$TMP/pl8080.out" "$P_PL8080" 30 "http://$VIPPL:8080/"
expect_batch "$SVCPL on port 8080" "$TMP/pl8080.out" 30
xlbt_log "UDP, IPv6, port-less VIP ok"

# --- stats, flows, pick, pinned maps ------------------------------------------

xlb_ok lb -j stats
printf '%s\n' "$OUT" >"$TMP/stats.json"
for spec in "$SVC4 $CONNS" "$SVC6 60" "$SVCU 30" "$SVCPL 60"; do
	svc=${spec% *} min=${spec#* }
	pk=$(python3 "$HELPER" vip-packets "$TMP/stats.json" "$svc")
	[[ $pk =~ ^[0-9]+$ ]] && ((pk >= min)) ||
		xlbt_fail "xlb -j stats: packets of $svc" "$pk (in $(head -c 800 "$TMP/stats.json"))" ">= $min"
done

xlb_ok lb -j flows --vip "$SVC4" --limit 1000
printf '%s\n' "$OUT" >"$TMP/flows.json"
n=$(python3 "$HELPER" flows-count "$TMP/flows.json")
[[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 1000)) ||
	xlbt_fail "xlb -j flows --vip $SVC4 --limit 1000: entries" \
		"$n (in $(head -c 600 "$TMP/flows.json"))" "1..1000"
xlb_ok lb -j flows --vip "$SVC4" --limit 5
printf '%s\n' "$OUT" >"$TMP/flows5.json"
n=$(python3 "$HELPER" flows-count "$TMP/flows5.json")
[[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 5)) ||
	xlbt_fail "xlb -j flows --limit 5: entries" "$n" "1..5"

# pick answers what the traffic did, for 20 connections of the main batch.
addrs=()
for be in "${BACKENDS[@]}"; do addrs+=("$(xlbt_addr4 "$be")"); done
while read -r port be; do
	xlb_ok lb pick "$SVC4" "$(xlbt_addr4 client):$port"
	got=$(grep -owF -e "${addrs[0]}" -e "${addrs[1]}" -e "${addrs[2]}" <<<"$OUT" |
		sort -u | paste -sd,)
	xlbt_expect_eq "xlb pick $SVC4 $(xlbt_addr4 client):$port" "$got" "$(xlbt_addr4 "$be")"
done < <(head -20 "$TMP/main.out")

# Pinned maps carry BTF: bpftool prints field names, not bare bytes.
found= tried=
while read -r pin; do
	type=$(timeout 10 bpftool -j map show pinned "$pin" 2>/dev/null </dev/null |
		python3 "$HELPER" map-type 2>/dev/null) || type="?"
	tried+="${pin##*/}($type) "
	[[ $type == *hash* ]] || continue
	if timeout 20 bpftool map dump pinned "$pin" >"$TMP/dump.out" 2>&1 </dev/null &&
		grep -qE '"(backend_id|addr)"' "$TMP/dump.out"; then
		found=$pin
		break
	fi
	tried+="[$(head -c 200 "$TMP/dump.out" | tr -s ' \n' ' ')] "
done < <(find "$(xlbt_pin_dir lb)" -maxdepth 3 -type f 2>/dev/null | head -50)
[ -n "$found" ] || xlbt_fail "bpftool map dump of a pinned hash map under $(xlbt_pin_dir lb)" \
	"no \"backend_id\"/\"addr\" field in any of: ${tried:-no pins}" "named BTF fields"
xlbt_log "stats, flows, pick, BTF ok (${found##*/})"

# --- backend states --------------------------------------------------------------

BE2=$(xlbt_addr4 be2)
xlb_ok lb backend set "$SVC4" "$BE2" --state down
xlb_ok lb -j backend list "$SVC4"
printf '%s\n' "$OUT" >"$TMP/bl.json"
xlbt_expect_eq "state of be2 in xlb -j backend list" \
	"$(python3 "$HELPER" backend-state "$TMP/bl.json" "$BE2" "$SVC4")" down
curl_batch "$TMP/down.out" "$P_DOWN" 50 "http://$VIP4/"
expect_batch "$SVC4 with be2 down (50 connections)" "$TMP/down.out" 50 be2
xlb_ok lb backend set "$SVC4" "$BE2" --state active
curl_batch "$TMP/up.out" "$P_UP" 30 "http://$VIP4/"
expect_batch "$SVC4 with be2 active again" "$TMP/up.out" 30
# be2 has weight 2/6: missing it in 30 connections has probability 5e-6.
grep -q ' be2$' "$TMP/up.out" || xlbt_fail "be2 back in service" "$(seen "$TMP/up.out")" "be2 among them"

# Draining: a connection already on be1 keeps working, new ones avoid be1.
xlbt_bg_start client "$TMP/ka.out" python3 "$HELPER" keepalive --addr "$VIP4" --port 80 \
	--want be1 --ready "$TMP/ka.ready" --log "$TMP/ka.log" --max-seconds 60
KA_PID=$XLBT_BG_PID
xlbt_wait_for 30 test -s "$TMP/ka.ready" ||
	xlbt_fail "keep-alive connection to be1" "$(tail -3 "$TMP/ka.log" "$TMP/ka.out")"
sleep 0.5
BE1=$(xlbt_addr4 be1)
xlb_ok lb backend set "$SVC4" "$BE1" --state draining
mark=$(wc -l <"$TMP/ka.log")
curl_batch "$TMP/drain.out" "$P_DRAIN" 50 "http://$VIP4/"
expect_batch "$SVC4 with be1 draining (50 connections)" "$TMP/drain.out" 50 be1
# At least 10 more requests over the old connection since draining began.
xlbt_wait_for 10 ka_answered_since "$mark" 10
kill -0 "$KA_PID" 2>/dev/null ||
	xlbt_fail "keep-alive client to be1 while draining" "$(tail -3 "$TMP/ka.log")" "still running"
xlbt_bg_stop "$KA_PID" 3
after=$(tail -n +$((mark + 1)) "$TMP/ka.log")
n=$(grep -c '^ok be1 ' <<<"$after")
bad=$(grep -v '^ok be1 ' "$TMP/ka.log" | grep -v '^connect-err' | head -3 | tr '\n' ';')
xlbt_expect_eq "keep-alive connection: failures" "$bad" ""
xlbt_expect_ge "keep-alive requests answered by be1 after draining began" "$n" 10
xlbt_expect_eq "keep-alive connection: local ports used" \
	"$(grep '^ok ' "$TMP/ka.log" | awk '{ print $3 }' | sort -u | wc -l)" 1
xlb_ok lb backend set "$SVC4" "$BE1" --state active
xlbt_log "down and draining ok ($n requests on the draining connection)"

# --- attach twice, vip del, detach ------------------------------------------------

rc=0
xlbt_xlb lb attach "$LBDEV" --encap-src "$ENCAP4" >"$TMP/att2.out" 2>"$TMP/att2.err" || rc=$?
msg=$(cat "$TMP/att2.out" "$TMP/att2.err")
((rc != 0)) || xlbt_fail "second xlb attach $LBDEV: exit status" "$rc" "non-zero"
grep -qiE 'already|attached|in use|exist|busy' <<<"$msg" ||
	xlbt_fail "second xlb attach $LBDEV: error message" "$msg" "says it is already attached"
rc=0
xlbt_xlb lb -j attach "$LBDEV" --encap-src "$ENCAP4" >"$TMP/att3.out" 2>"$TMP/att3.err" || rc=$?
((rc != 0)) && python3 "$HELPER" json-error "$TMP/att3.out" "$TMP/att3.err" ||
	xlbt_fail "xlb -j attach twice: JSON error" \
		"exit $rc: $(cat "$TMP/att3.out" "$TMP/att3.err")" 'non-zero, {"error": ...}'
curl_batch "$TMP/again.out" "$P_AGAIN" 10 "http://$VIP4/"
expect_batch "$SVC4 after the refused second attach" "$TMP/again.out" 10

xlb_ok lb vip del "$SVCPL"
xlb_ok lb vip list
! grep -qF "$VIPPL" <<<"$OUT" || xlbt_fail "xlb vip list after vip del $SVCPL" "$OUT" "no $VIPPL"
curl_batch "$TMP/del.out" "$P_DEL" 1 "http://$VIPPL/"
grep -q ' ERR ' "$TMP/del.out" ||
	xlbt_fail "connection to deleted VIP $SVCPL" "$(cat "$TMP/del.out")" "fails"

xlb_ok lb detach "$LBDEV"
! xdp_on lb || xlbt_fail "XDP on $LBDEV after xlb detach" \
	"$(ip -n "$(xlbt_ns lb)" link show dev "$LBDEV" | tr '\n' ' ')" "no xdp"
rc=0
xlbt_xlb lb detach "$LBDEV" >"$TMP/det2.out" 2>&1 || rc=$?
((rc != 0)) || xlbt_fail "second xlb detach $LBDEV: exit status" "$rc" "non-zero"
curl_batch "$TMP/det.out" "$P_DETACH" 1 "http://$VIP4/"
grep -q ' ERR ' "$TMP/det.out" ||
	xlbt_fail "connection to $SVC4 with the LB detached" "$(cat "$TMP/det.out")" "fails"

for be in "${BACKENDS[@]}"; do
	xlb_ok "$be" decap detach "$(xlbt_dev "$be")"
	! xdp_on "$be" || xlbt_fail "XDP on $be after xlb decap detach" "attached" "none"
done

xlbt_log "PASS"
exit 0
