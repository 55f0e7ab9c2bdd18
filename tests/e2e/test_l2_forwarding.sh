#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of L2 forwarding (`xlb attach DEV --forward l2`) on the
# reference topology (docs/testing.md): the LB only rewrites MAC addresses
# and sends the client's frame on to the backend, which holds the VIP on lo
# (the topology puts it there) and needs no decapsulation at all, so the
# backends here run no xlb program. Replies go straight to the client
# (direct server return).
#
# Checks: real TCP connections (curl, one connection per request) to the
# IPv4 and the IPv6 VIP reach every backend in proportion to its weight;
# on the wire, frames to the backends are the client's own (VIP
# destination, no IPIP/IP6IP6) with the LB's source MAC, and replies reach
# the client from the backends' MACs, never through the LB; the LB's reason
# counters show fwd_l2 and no fwd_encap; a backend set down gets no new
# connections, and gets them again once active; a backend of the other
# address family is refused in L2 mode (exit 1, nothing changed).
#
# Environment: XLB (default build/xlb, relative to the repository root),
# XLBT_L2_CONNS (connections per VIP for the spread check, default 150).
# Exit: 0 pass, 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh
. tests/lib/traffic.sh

xlbt_require_exe XLB build/xlb
xlbt_require_root
xlbt_require_cmd ip curl python3 timeout realpath

VIP4=$XLBT_VIP4 # 198.18.100.1
VIP6=$XLBT_VIP6 # fd00:78:6c62:100::1
SVC4="$VIP4:80/tcp"
SVC6="[$VIP6]:80/tcp"
BACKENDS=(be1 be2 be3)
WEIGHTS=(1 1 4) # on both VIPs
CONNS=${XLBT_L2_CONNS:-150}
((CONNS >= 100 && CONNS <= 2000)) || xlbt_fail "XLBT_L2_CONNS" "$CONNS" "100..2000"

# Client source ports, one range per phase (below the ephemeral range):
# every connection is a new 5-tuple.
P_WARM4=10000 P_WARM6=10200 P_HDR=10400
P_MAIN4=11000 # .. + CONNS - 1 (< 13000)
P_MAIN6=13000 # .. + CONNS - 1 (< 15000)
P_DOWN=15000 P_UP=15100
XLBT_BATCH_SECONDS=120 # one curl_batch at most
HELPER=$PWD/tests/lib/e2e_helper.py

# --- helpers (more in tests/lib/traffic.sh) ------------------------------------

# reason NAME: packets the LB counted under reason NAME (from $TMP/stats.json).
reason() {
	python3 "$HELPER" reason "$TMP/stats.json" "$1" 2>&1
}

# --- topology and backends' servers (no decap) ------------------------------------

TMP=
xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
xlbt_log "topology $XLBT_ID up"

xlbt_http_servers "${BACKENDS[@]}"
for be in "${BACKENDS[@]}"; do
	body=$(xlbt_exec client curl -sS --max-time 3 "http://$(xlbt_addr4 "$be")/" 2>&1)
	xlbt_expect_eq "client -> $be real address" "$body" "$be"
	# L2 direct return needs the VIP on lo, nothing else: no xlb program.
	! xdp_on "$be" || xlbt_fail "$be: XDP program on $(xlbt_dev "$be")" "attached" "none"
	lo=$(ip -n "$(xlbt_ns "$be")" -br addr show dev lo)
	for vip in "$VIP4" "$VIP6"; do
		grep -qF " $vip/" <<<"$lo" || xlbt_fail "$be: $vip on lo" "$lo" "$vip/32 or /128"
	done
done
xlbt_log "backends serving, no decap"

# --- the LB in L2 mode -------------------------------------------------------------

LBDEV=$(xlbt_dev lb)
xlb_ok lb -j attach "$LBDEV" --mode native --forward l2
grep -q '"forward": *"l2"' <<<"$OUT" ||
	xlbt_fail "xlb -j attach $LBDEV --forward l2: output" "$OUT" '"forward": "l2"'
xdp_on lb || xlbt_fail "XDP program on $LBDEV after attach" "none" "one"

xlb_ok lb vip add "$SVC4"
xlb_ok lb vip add "$SVC6"
for i in "${!BACKENDS[@]}"; do
	be=${BACKENDS[i]}
	xlb_ok lb backend add "$SVC4" "$(xlbt_addr4 "$be")" --weight "${WEIGHTS[i]}"
	xlb_ok lb backend add "$SVC6" "$(xlbt_addr6 "$be")" --weight "${WEIGHTS[i]}"
done

# Another family's backend is refused in L2 mode (the frame cannot change
# family), as a usage error, and changes nothing.
xlb_ok lb -j backend list
before=$OUT
for spec in "$SVC6 $(xlbt_addr4 be1) IPv6" "$SVC4 $(xlbt_addr6 be1) L2"; do
	read -r svc addr word <<<"$spec"
	for j in "" -j; do
		rc=0
		# shellcheck disable=SC2086
		out=$(xlbt_xlb lb $j backend add "$svc" "$addr" 2>&1 </dev/null) || rc=$?
		xlbt_expect_eq "xlb $j backend add $svc $addr (L2 mode): exit status" "$rc" 1
		grep -qF "$addr" <<<"$out" && grep -qF "$word" <<<"$out" ||
			xlbt_fail "xlb $j backend add $svc $addr: message" "$out" \
				"names $addr and $word"
	done
done
out=$(xlbt_xlb lb -j backend add "$SVC4" "$(xlbt_addr6 be1)" 2>/dev/null </dev/null)
grep -qE '^\{"error": *".*", *"exit": *1\}$' <<<"$out" ||
	xlbt_fail "xlb -j backend add (other family): JSON" "$out" '{"error": "...", "exit": 1}'
xlb_ok lb -j backend list
xlbt_expect_eq "backend list after the refused adds" "$OUT" "$before"
xlbt_log "LB attached in L2 mode, 2 VIPs x 3 backends (weights ${WEIGHTS[*]})"

warm_up "$SVC4" "$P_WARM4" "http://$VIP4/"
warm_up "$SVC6" "$P_WARM6" "http://[$VIP6]/"

# --- traffic: spread by weight, frames on the wire ----------------------------------

xlbt_bg_start net "$TMP/sniff.log" python3 "$HELPER" sniff --out "$TMP/sniff.json" \
	--ready "$TMP/sniff.ready" --vip "$VIP4" --vip "$VIP6" --max-seconds 120
SNIFF_PID=$XLBT_BG_PID
xlbt_wait_for 10 test -e "$TMP/sniff.ready" ||
	xlbt_fail "sniffer not ready" "$(cat "$TMP/sniff.log")"

names=$(
	IFS=,
	echo "${BACKENDS[*]}"
)
weights=$(
	IFS=,
	echo "${WEIGHTS[*]}"
)
for spec in "$SVC4 $P_MAIN4 http://$VIP4/" "$SVC6 $P_MAIN6 http://[$VIP6]/"; do
	read -r svc port url <<<"$spec"
	xlbt_log "$CONNS connections to $svc"
	curl_batch "$TMP/main.out" "$port" "$CONNS" "$url"
	expect_batch "$svc ($CONNS connections)" "$TMP/main.out" "$CONNS"
	# Binomial counts against the weights; the bound is explained in
	# cmd_spread of the helper (a correct LB fails with probability < 6e-5).
	if ! spread=$(python3 "$HELPER" spread "$TMP/main.out" --names "$names" \
		--weights "$weights" --test binomial); then
		xlbt_fail "$svc: spread over backends against weights $weights" \
			"$(tr '\n' ';' <<<"$spread")"
	fi
	xlbt_log "spread ok: $(tr '\n' ';' <<<"$spread")"
done

# The backend sees the client's own address and port: no proxy, no NAT.
hdr=$(xlbt_exec client curl -sS -i --max-time 3 --local-port "$P_HDR" "http://$VIP4/" 2>&1 |
	tr -d '\r' | sed -n 's/^X-Client-Addr: //p')
xlbt_expect_eq "client address seen by the backend" "$hdr" "$(xlbt_addr4 client) $P_HDR"

xlbt_bg_stop "$SNIFF_PID" 5
[ -s "$TMP/sniff.json" ] || xlbt_fail "sniffer summary" "$(cat "$TMP/sniff.log")"
args=()
for be in "${BACKENDS[@]}"; do
	args+=(--backend "$(xlbt_peer "$be"),$(xlbt_mac "$be")")
done
if ! problems=$(python3 "$HELPER" check-sniff-l2 "$TMP/sniff.json" "${args[@]}" \
	--lb-mac "$(xlbt_mac lb)" --lb-peer "$(xlbt_peer lb)" \
	--client-peer "$(xlbt_peer client)"); then
	xlbt_fail "frames on the wire (client frames MAC-rewritten to backends, direct replies)" \
		"$(tr '\n' ';' <<<"$problems")" \
		"to each backend from the LB's MAC, no tunnels, replies from backends' MACs"
fi
xlbt_log "wire ok: LB -> backends by MAC rewrite, replies direct from backends"

# --- counters -----------------------------------------------------------------------

xlb_ok lb -j stats
printf '%s\n' "$OUT" >"$TMP/stats.json"
n=$(reason fwd_l2)
# Each connection sends at least SYN, ACK + request and FIN to the VIP.
xlbt_expect_ge "LB reason fwd_l2 (packets)" "$n" $((2 * CONNS * 3))
for r in fwd_encap fwd_icmp drop_family; do
	xlbt_expect_eq "LB reason $r (packets)" "$(reason "$r")" 0
done
xlbt_log "counters ok: fwd_l2 $n, fwd_encap 0"

# --- state down steers new connections away ----------------------------------------

BE3=$(xlbt_addr4 be3)
xlb_ok lb backend set "$SVC4" "$BE3" --state down
xlb_ok lb backend list "$SVC4"
grep -qE "[[:space:]]${BE3}[[:space:]].*[[:space:]]down[[:space:]]" <<<"$OUT" ||
	xlbt_fail "xlb backend list $SVC4 shows $BE3 down" "$OUT" "$BE3 ... down"
curl_batch "$TMP/down.out" "$P_DOWN" 40 "http://$VIP4/"
expect_batch "$SVC4 with be3 down (40 connections)" "$TMP/down.out" 40 be3
xlbt_expect_eq "$SVC4 with be3 down: backends reached" "$(seen "$TMP/down.out")" "be1,be2"
xlb_ok lb backend set "$SVC4" "$BE3" --state active
curl_batch "$TMP/up.out" "$P_UP" 20 "http://$VIP4/"
expect_batch "$SVC4 with be3 active again (20 connections)" "$TMP/up.out" 20
# be3 has weight 4/6: missing it in 20 connections has probability 3e-10.
grep -q ' be3$' "$TMP/up.out" ||
	xlbt_fail "be3 back in service" "$(seen "$TMP/up.out")" "be3 among them"
xlbt_log "state down and back ok"

xlb_ok lb detach "$LBDEV"
! xdp_on lb || xlbt_fail "XDP on $LBDEV after xlb detach" "attached" "none"

xlbt_log "PASS"
exit 0
