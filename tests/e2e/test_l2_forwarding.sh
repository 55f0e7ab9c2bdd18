#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of L2 forwarding (`xlb attach DEV --forward l2`) on the
# reference topology (shared/TESTBED.md): the LB only rewrites MAC addresses
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

XLB=${XLB:-build/xlb}
if [ ! -x "$XLB" ]; then
	echo "SKIP: $XLB missing"
	exit 77
fi
XLB=$(realpath "$XLB")

. tests/lib/testbed.sh

xlbt_require_root
xlbt_require_cmd ip curl python3 timeout realpath

VIP4=$XLBT_VIP4				# 198.18.100.1
VIP6=$XLBT_VIP6				# fd00:78:6c62:100::1
SVC4="$VIP4:80/tcp"
SVC6="[$VIP6]:80/tcp"
BACKENDS=(be1 be2 be3)
WEIGHTS=(1 1 4)				# on both VIPs
CONNS=${XLBT_L2_CONNS:-150}
((CONNS >= 100 && CONNS <= 2000)) || xlbt_fail "XLBT_L2_CONNS" "$CONNS" "100..2000"

# Client source ports, one range per phase (below the ephemeral range):
# every connection is a new 5-tuple.
P_WARM4=10000 P_WARM6=10200 P_HDR=10400
P_MAIN4=11000				# .. + CONNS - 1 (< 13000)
P_MAIN6=13000				# .. + CONNS - 1 (< 15000)
P_DOWN=15000 P_UP=15100

# --- helpers -------------------------------------------------------------------

# Python (stdlib only): a sniffer on the bridge and the spread statistics.
write_helper() {
	cat >"$1" <<'PY'
import argparse, ipaddress, json, math, signal, socket, struct, sys, time

def cmd_sniff(a):
    """Frames leaving the bridge ports (PACKET_OUTGOING) in the net
    namespace, per port: frames to a VIP by (family, src MAC, dst MAC),
    frames from a VIP by (family, src MAC), tunnelled frames (IPIP,
    IP6IP6, 4in6) by family."""
    vips = set(ipaddress.ip_address(v).packed for v in a.vip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    out = {"to_vip": {}, "from_vip": {}, "tunnel": {}}
    def add(kind, ifn, key):
        d = out[kind].setdefault(ifn, {})
        d[key] = d.get(key, 0) + 1
    open(a.ready, "w").close()
    end = time.time() + a.max_seconds
    while not stop and time.time() < end:
        try:
            f, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] != socket.PACKET_OUTGOING or len(f) < 34:
            continue
        ifn, dmac, smac = addr[0], f[0:6].hex(":"), f[6:12].hex(":")
        et = struct.unpack("!H", f[12:14])[0]
        if et == 0x0800:
            fam, proto, src, dst = "4", f[23], f[26:30], f[30:34]
            tunnel = proto in (4, 41)
        elif et == 0x86dd and len(f) >= 54:
            fam, proto, src, dst = "6", f[20], f[22:38], f[38:54]
            tunnel = proto in (4, 41)
        else:
            continue
        if tunnel:
            add("tunnel", ifn, fam)
        elif dst in vips:
            add("to_vip", ifn, "%s %s %s" % (fam, smac, dmac))
        elif src in vips:
            add("from_vip", ifn, "%s %s" % (fam, smac))
    json.dump(out, open(a.out, "w"), indent=1, sort_keys=True)

def cmd_check_sniff(a):
    """Judge a sniff summary; print one line per problem."""
    d = json.load(open(a.file))
    bad = []
    if d["tunnel"]:
        bad.append("tunnelled frames on the bridge: %s" % d["tunnel"])
    be_macs = {}
    for spec in a.backend:       # PEER,MAC
        peer, mac = spec.split(",")
        be_macs[mac] = peer
        got = d["to_vip"].get(peer, {})
        for fam in ("4", "6"):
            want = "%s %s %s" % (fam, a.lb_mac, mac)
            if not got.get(want):
                bad.append("%s: no IPv%s frames to a VIP from the LB's MAC %s to %s"
                           % (peer, fam, a.lb_mac, mac))
        other = sorted(k for k in got if k.split()[1:] != [a.lb_mac, mac])
        if other:
            bad.append("%s: frames to a VIP with other MACs: %s" % (peer, other[:4]))
    reps = d["from_vip"].get(a.client_peer, {})
    for fam in ("4", "6"):
        macs = set(k.split()[1] for k in reps if k.split()[0] == fam)
        if a.lb_mac in macs:
            bad.append("IPv%s replies to the client from the LB's MAC" % fam)
        if macs - set(be_macs):
            bad.append("IPv%s replies to the client from MACs %s, not backends'"
                       % (fam, sorted(macs - set(be_macs))))
        missing = sorted(be_macs[m] for m in set(be_macs) - macs)
        if missing:
            bad.append("no IPv%s replies to the client from %s" % (fam, missing))
    via_lb = d["from_vip"].get(a.lb_peer, {})
    if via_lb:
        bad.append("frames from a VIP sent towards the LB: %s" % via_lb)
    for b in bad:
        print(b)
    return 1 if bad else 0

def binom_cdf(k, n, p):
    """P(X <= k), X ~ Binomial(n, p)."""
    p = min(max(p, 0.0), 1.0)
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))

def cmd_spread(a):
    """Per-backend counts of a batch against the weights.

    Each connection's backend is a fixed hash of a distinct 5-tuple, so the
    count of backend i over n connections is Binomial(n, p_i), p_i =
    w_i / sum(w). The Maglev table (65537 slots) gives each backend a share
    within far less than 0.01 of p_i; allow that much. A backend fails when
    its count is in a tail of probability < ALPHA even at the least
    extreme share in [p_i - 0.01, p_i + 0.01] (exact binomial tails). With
    ALPHA = 1e-5 and 6 tails per VIP, a correct LB fails a VIP with
    probability < 6e-5. Weights ignored (equal shares) put the weight-4
    backend near n/3 instead of 2n/3: a tail of ~1e-15 at n = 150."""
    alpha = 1e-5
    names, weights = a.names.split(","), [int(w) for w in a.weights.split(",")]
    got = {n: 0 for n in names}
    n = 0
    for line in open(a.file):
        parts = line.split()
        if len(parts) == 2 and parts[1] in got:
            got[parts[1]] += 1
            n += 1
    bad = 0
    for name, w in zip(names, weights):
        p = w / sum(weights)
        k = got[name]
        low = binom_cdf(k, n, p - 0.01)                              # P(X <= k)
        high = 1 - binom_cdf(k - 1, n, p + 0.01) if k > 0 else 1.0   # P(X >= k)
        ok = n > 0 and low >= alpha and high >= alpha
        bad += not ok
        print("%s weight %d: %d/%d = %.3f, expected %.3f; P(<=)=%.2g P(>=)=%.2g %s"
              % (name, w, k, n, k / n if n else 0, p, low, high, "ok" if ok else "BAD"))
    return 1 if bad or n == 0 else 0

def cmd_reason(a):
    """Packets of one reason in `xlb -j stats`."""
    d = json.load(open(a.file))
    print(d["reasons"][a.name]["packets"])
    return 0

p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="cmd", required=True)
c = sub.add_parser("sniff")
c.add_argument("--out", required=True)
c.add_argument("--ready", required=True)
c.add_argument("--vip", action="append", default=[])
c.add_argument("--max-seconds", type=float, default=120)
c = sub.add_parser("check-sniff")
c.add_argument("file")
c.add_argument("--backend", action="append", default=[])
c.add_argument("--lb-mac")
c.add_argument("--lb-peer")
c.add_argument("--client-peer")
c = sub.add_parser("spread")
c.add_argument("file")
c.add_argument("--names")
c.add_argument("--weights")
c = sub.add_parser("reason")
c.add_argument("file")
c.add_argument("name")
a = p.parse_args()
sys.exit(globals()["cmd_" + a.cmd.replace("-", "_")](a))
PY
}

# xlb_ok HOST ARGS...: run xlb in HOST's namespace; fail unless it exits 0.
# Its stdout is in $OUT.
xlb_ok() {
	local host=$1 rc=0
	shift
	OUT=$(xlbt_xlb "$host" "$@" 2>"$TMP/xlb.err" </dev/null) || rc=$?
	((rc != 124)) || xlbt_fail "xlb $* (on $host)" "still running after 60 s" "exit 0"
	((rc == 0)) || xlbt_fail "xlb $* (on $host)" \
		"exit $rc: $(head -c 600 "$TMP/xlb.err") $OUT" "exit 0"
}

# curl_batch OUT FIRST_PORT COUNT URL: COUNT connections (one curl each,
# source ports FIRST_PORT...) from the client; OUT gets 'PORT BODY' or
# 'PORT ERR ...' per request. Stops after 5 failures in a row and after
# 120 s in all.
curl_batch() {
	local out=$1 first=$2 count=$3
	shift 3
	xlbt_exec client timeout 120 bash -c '
		first=$1 count=$2 fails=0
		shift 2
		for ((p = first; p < first + count; p++)); do
			if body=$(curl -sS -g --connect-timeout 2 --max-time 3 \
					--local-port "$p" "$@" 2>&1); then
				echo "$p $body"
				fails=0
			else
				echo "$p ERR ${body//$'\''\n'\''/ }"
				((++fails >= 5)) && break
			fi
		done
		exit 0' _ "$first" "$count" "$@" >"$out" 2>&1
}

# expect_batch WHAT OUT COUNT [FORBIDDEN_NAME]: COUNT answers, every one a
# backend name (and never FORBIDDEN_NAME).
expect_batch() {
	local what=$1 out=$2 count=$3 forbid=${4:-} n bad
	n=$(grep -cE '^[0-9]+ be[0-9]+$' "$out")
	bad=$(grep -vE '^[0-9]+ be[0-9]+$' "$out" | head -3 | tr '\n' ';')
	[ "$n" -eq "$count" ] ||
		xlbt_fail "$what: answered connections" "$n (e.g. $bad)" "$count"
	if [ -n "$forbid" ]; then
		n=$(grep -c " $forbid\$" "$out")
		xlbt_expect_eq "$what: connections that reached $forbid" "$n" 0
	fi
}

# seen OUT: the backend names in a batch, sorted, comma-separated.
seen() {
	awk 'NF == 2 && $2 ~ /^be[0-9]+$/ { print $2 }' "$1" | sort -u | paste -sd,
}

# warm_up WHAT FIRST_PORT URL: until every backend has answered once (the
# first packets to a backend may go to the kernel while its neighbour entry
# resolves); 100 connections and 20 s at most.
warm_up() {
	local what=$1 first=$2 url=$3 i out=$TMP/warm.out all end
	all=$(printf '%s\n' "${BACKENDS[@]}" | paste -sd,)
	end=$((${EPOCHREALTIME/[.,]/} + 20000000))
	: >"$out"
	for ((i = 0; i < 20 && ${EPOCHREALTIME/[.,]/} < end; i++)); do
		curl_batch "$TMP/warm.part" $((first + i * 5)) 5 "$url"
		cat "$TMP/warm.part" >>"$out"
		[ "$(seen "$out")" = "$all" ] && return 0
		sleep 0.5
	done
	xlbt_fail "$what: warm-up never reached every backend" \
		"$(seen "$out"); LB verdicts: $(xlbt_xlb lb stats 2>&1 </dev/null |
			sed -n '/^Reasons/,$p' | tr -s ' \n' ' ')" "$all"
}

# xdp_on HOST: 0 if HOST's device has an XDP program attached.
xdp_on() {
	local l
	l=$(ip -n "$(xlbt_ns "$1")" link show dev "$(xlbt_dev "$1")")
	grep -qE ' xdp|prog/xdp' <<<"$l"
}

# reason NAME: packets the LB counted under reason NAME (from $TMP/stats.json).
reason() {
	python3 "$HELPER" reason "$TMP/stats.json" "$1" 2>&1
}

# --- topology and backends' servers (no decap) ------------------------------------

TMP=
xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
HELPER=$TMP/l2_helper.py
write_helper "$HELPER"
xlbt_log "topology $XLBT_ID up"

for be in "${BACKENDS[@]}"; do
	xlbt_bg_start "$be" "$TMP/$be.log" python3 tests/lib/backend_server.py \
		--name "$be" --http-port 80 --pid-file "$TMP/$be.pid"
done
for be in "${BACKENDS[@]}"; do
	xlbt_wait_for 10 test -s "$TMP/$be.pid" ||
		xlbt_fail "$be server not ready after 10 s" "$(head -c 300 "$TMP/$be.log")"
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
	--ready "$TMP/sniff.ready" --vip "$VIP4" --vip "$VIP6"
SNIFF_PID=$XLBT_BG_PID
xlbt_wait_for 10 test -e "$TMP/sniff.ready" ||
	xlbt_fail "sniffer not ready" "$(cat "$TMP/sniff.log")"

names=$(IFS=,; echo "${BACKENDS[*]}")
weights=$(IFS=,; echo "${WEIGHTS[*]}")
for spec in "$SVC4 $P_MAIN4 http://$VIP4/" "$SVC6 $P_MAIN6 http://[$VIP6]/"; do
	read -r svc port url <<<"$spec"
	xlbt_log "$CONNS connections to $svc"
	curl_batch "$TMP/main.out" "$port" "$CONNS" "$url"
	expect_batch "$svc ($CONNS connections)" "$TMP/main.out" "$CONNS"
	# Binomial counts against the weights; the bound is explained in
	# cmd_spread above (a correct LB fails with probability < 6e-5).
	if ! spread=$(python3 "$HELPER" spread "$TMP/main.out" --names "$names" \
		--weights "$weights"); then
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
if ! problems=$(python3 "$HELPER" check-sniff "$TMP/sniff.json" "${args[@]}" \
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
