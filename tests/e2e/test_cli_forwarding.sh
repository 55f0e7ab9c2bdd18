#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of the xlb CLI on the reference topology (shared/TESTBED.md):
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

XLB=${XLB:-build/xlb}
if [ ! -x "$XLB" ]; then
	echo "SKIP: $XLB missing"
	exit 77
fi
XLB=$(realpath "$XLB")

. tests/lib/testbed.sh

xlbt_require_root
xlbt_require_cmd ip curl python3 bpftool ethtool timeout realpath

VIP4=$XLBT_VIP4				# 198.18.100.1
VIP6=$XLBT_VIP6				# fd00:78:6c62:100::1
VIPPL=198.18.100.2			# port-less VIP
SVC4="$VIP4:80/tcp"
SVC6="[$VIP6]:80/tcp"
SVCU="$VIP4:53/udp"
SVCPL="$VIPPL:0/tcp"
ENCAP4=198.18.128.0/24
ENCAP6=fd00:78:6c62:128::/112
BACKENDS=(be1 be2 be3)
WEIGHTS=(1 2 3)				# on SVC4; 1 each elsewhere
CONNS=${XLBT_E2E_CONNS:-600}
((CONNS >= 300 && CONNS <= 8000)) || xlbt_fail "XLBT_E2E_CONNS" "$CONNS" "300..8000"

# Client source ports, one range per phase (below the ephemeral range, so no
# clash with kernel-chosen ports): every connection is a new 5-tuple.
P_WARM4=10000 P_WARM6=10200 P_WARMPL=10400 P_WARMPL2=10600
P_HDR=11000 P_POST4=11001 P_POST6=11002
P_MAIN=12000				# .. 12000 + CONNS - 1 (< 20000)
P_V6=20000 P_PL80=20200 P_PL8080=20300
P_DOWN=20400 P_UP=20500 P_DRAIN=20600 P_AGAIN=20700
P_DEL=20800 P_DETACH=20801

# --- helpers -------------------------------------------------------------------

# A Python helper (stdlib only) for what shell does badly: sniffing frames,
# a keep-alive client, UDP requests, JSON queries, the spread statistics.
write_helper() {
	cat >"$1" <<'PY'
import argparse, http.client, ipaddress, json, math, signal, socket, struct
import sys, time

def cmd_sniff(a):
    """Frames leaving the bridge ports (PACKET_OUTGOING) in the net
    namespace: tunnelled frames per port and outer family, and the source
    MACs of replies (IP source = a VIP) per port."""
    vips = set(ipaddress.ip_address(v).packed for v in a.vip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    tun, rep = {}, {}
    open(a.ready, "w").close()
    end = time.time() + a.max_seconds
    def ip(b):
        return str(ipaddress.ip_address(b))
    def add_tun(ifn, fam, osrc, odst, idst):
        t = tun.setdefault(ifn, {}).setdefault(fam, {
            "n": 0, "outer_src": set(), "outer_dst": set(), "inner_dst": set()})
        t["n"] += 1
        t["outer_src"].add(ip(osrc))
        t["outer_dst"].add(ip(odst))
        t["inner_dst"].add(ip(idst) if idst else "?")
    while not stop and time.time() < end:
        try:
            f, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] != socket.PACKET_OUTGOING or len(f) < 34:
            continue
        ifn, smac = addr[0], f[6:12].hex(":")
        et = struct.unpack("!H", f[12:14])[0]
        if et == 0x0800:
            ihl = (f[14] & 15) * 4
            proto, src, dst = f[23], f[26:30], f[30:34]
            inner = 14 + ihl
            if proto == 4:
                add_tun(ifn, "4", src, dst, f[inner + 16:inner + 20])
                continue
            if src in vips:
                r = rep.setdefault(ifn, {})
                r[smac] = r.get(smac, 0) + 1
        elif et == 0x86dd and len(f) >= 54:
            nh, src, dst = f[20], f[22:38], f[38:54]
            if nh == 41:
                add_tun(ifn, "6", src, dst, f[54 + 24:54 + 40])
                continue
            if nh == 4:
                add_tun(ifn, "6", src, dst, f[54 + 16:54 + 20])
                continue
            if src in vips:
                r = rep.setdefault(ifn, {})
                r[smac] = r.get(smac, 0) + 1
    for d in tun.values():
        for t in d.values():
            for k in ("outer_src", "outer_dst", "inner_dst"):
                t[k] = sorted(t[k])
    json.dump({"tunnel": tun, "reply": rep}, open(a.out, "w"), indent=1)

def cmd_check_sniff(a):
    """Judge a sniff summary; print one line per problem."""
    d = json.load(open(a.file))
    bad = []
    srcs = {"4": set(), "6": set()}
    for spec in a.backend:       # PEER,ADDR4,ADDR6,MAC
        peer, a4, a6, mac = spec.split(",")
        for fam, addr, vip, net in (("4", a4, a.vip4, a.encap4),
                                    ("6", a6, a.vip6, a.encap6)):
            t = d["tunnel"].get(peer, {}).get(fam)
            if not t or t["n"] == 0:
                bad.append("%s: no IPv%s-outer tunnelled frames" % (peer, fam))
                continue
            if t["outer_dst"] != [addr]:
                bad.append("%s: outer dst %s, expected [%s]" %
                           (peer, t["outer_dst"], addr))
            if t["inner_dst"] != [vip]:
                bad.append("%s: inner dst %s, expected [%s]" %
                           (peer, t["inner_dst"], vip))
            out = [x for x in t["outer_src"]
                   if ipaddress.ip_address(x) not in ipaddress.ip_network(net)]
            if out:
                bad.append("%s: outer src %s outside %s" % (peer, out[:5], net))
            srcs[fam].update(t["outer_src"])
    for fam in ("4", "6"):
        # Hundreds of flows over the prefix: a handful of distinct outer
        # sources at the very least, if the source varies per flow.
        if len(srcs[fam]) < a.min_srcs:
            bad.append("IPv%s outer sources: %d distinct, expected >= %d" %
                       (fam, len(srcs[fam]), a.min_srcs))
    macs = d["reply"].get(a.client_peer, {})
    be_macs = set(spec.split(",")[3] for spec in a.backend)
    if not macs:
        bad.append("no reply frames from a VIP towards the client")
    if a.lb_mac in macs:
        bad.append("%d replies to the client came from the LB's MAC %s" %
                   (macs[a.lb_mac], a.lb_mac))
    other = set(macs) - be_macs
    if other:
        bad.append("replies from MACs %s, expected only backends' %s" %
                   (sorted(other), sorted(be_macs)))
    missing = be_macs - set(macs)
    if missing:
        bad.append("no direct replies from backend MACs %s" % sorted(missing))
    for b in bad:
        print(b)
    return 1 if bad else 0

def cmd_spread(a):
    """Per-backend share of a batch against the weights.

    Each connection's backend is a fixed hash of a distinct 5-tuple,
    i.e. a Bernoulli trial with p = w / sum(w). The share's standard
    deviation is sqrt(p(1-p)/n); a bound of 4 sigma fails a correct LB with
    probability 6.3e-5 per backend (< 2e-4 for three), while still catching
    ignored weights (equal shares miss 1/6 and 1/2 by 0.17). Add 0.01 for
    the Maglev table's own rounding of the weights (65537 slots: far less)."""
    names, weights = a.names.split(","), [int(w) for w in a.weights.split(",")]
    got = {n: 0 for n in names}
    total = 0
    for line in open(a.file):
        parts = line.split()
        if len(parts) == 2 and parts[1] in got:
            got[parts[1]] += 1
            total += 1
    bad = 0
    for n, w in zip(names, weights):
        p = w / sum(weights)
        share = got[n] / total if total else 0.0
        bound = 4 * math.sqrt(p * (1 - p) / max(total, 1)) + 0.01
        ok = abs(share - p) <= bound
        bad += not ok
        print("%s weight %d: %d/%d = %.3f, expected %.3f +- %.3f %s" %
              (n, w, got[n], total, share, p, bound, "ok" if ok else "BAD"))
    return 1 if bad or total == 0 else 0

def cmd_udp(a):
    """COUNT requests from COUNT distinct sockets (distinct source ports),
    each tried up to 3 times; print 'PORT NAME REPLY_SRC' or 'PORT ERR'."""
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    socks, fails = [], 0
    for _ in range(a.count):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
        s.settimeout(1.0)
        socks.append(s)
        port = s.getsockname()[1]
        for _ in range(3):
            s.sendto(b"hello", (a.addr, a.port))
            try:
                data, src = s.recvfrom(2048)
                print(port, data.decode().strip(), "%s:%d" % (src[0], src[1]))
                break
            except socket.timeout:
                continue
        else:
            print(port, "ERR timeout")
            fails += 1
            if fails >= 5:
                break
    return 0

def cmd_keepalive(a):
    """One TCP connection to ADDR:PORT that lands on WANT (new connections
    until one does), then GET / every 0.1 s over it; one line per request:
    'ok NAME LPORT' or 'err WHAT'. Ends on SIGTERM or after max-seconds."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    log = open(a.log, "w", buffering=1)
    conn = None
    for _ in range(a.tries):
        c = http.client.HTTPConnection(a.addr, a.port, timeout=2)
        try:
            c.request("GET", "/")
            body = c.getresponse().read().decode().strip()
        except OSError as e:
            log.write("connect-err %s\n" % e)
            c.close()
            continue
        if body == a.want:
            conn = c
            break
        c.close()
    if conn is None:
        log.write("err never reached %s\n" % a.want)
        return 1
    lport = conn.sock.getsockname()[1]
    open(a.ready, "w").write("%d\n" % lport)
    end = time.time() + a.max_seconds
    while not stop and time.time() < end:
        try:
            conn.request("GET", "/")
            body = conn.getresponse().read().decode().strip()
            now = conn.sock.getsockname()[1] if conn.sock else -1
            if now != lport:
                log.write("err connection changed: port %d -> %d\n" % (lport, now))
                return 1
            log.write("ok %s %d\n" % (body, now))
        except (OSError, http.client.HTTPException) as e:
            log.write("err %s: %s\n" % (type(e).__name__, e))
            return 1
        time.sleep(0.1)
    return 0

# --- JSON queries: tolerant of how the CLI nests things, strict on values.

def walk(o):
    if isinstance(o, dict):
        yield o
        for v in o.values():
            yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)

def parse_spec(spec):
    addr, rest = spec.rsplit(":", 1)
    port, proto = rest.split("/")
    return ipaddress.ip_address(addr.strip("[]")), int(port), proto.lower()

def same_addr(v, addr):
    try:
        return ipaddress.ip_address(str(v).strip("[]")) == addr
    except ValueError:
        return False

def vip_match(d, spec):
    addr, port, proto = parse_spec(spec)
    for k in ("vip", "name", "service", "key"):
        v = d.get(k)
        if isinstance(v, str) and v.lower() == spec.lower():
            return True
        if isinstance(v, dict) and vip_match(v, spec):
            return True
    for k in ("addr", "address", "vip", "ip"):
        if k in d and same_addr(d[k], addr):
            if int(d.get("port", -1)) == port and \
               str(d.get("proto", d.get("protocol", ""))).lower() in \
               (proto, {"tcp": "6", "udp": "17"}[proto]):
                return True
    return False

def packets_of(d):
    if isinstance(d.get("packets"), int):
        return d["packets"]
    for v in d.values():
        if isinstance(v, dict) and isinstance(v.get("packets"), int):
            return v["packets"]
    return None

def cmd_vip_packets(a):
    doc = json.load(open(a.file))
    for d in walk(doc):
        if vip_match(d, a.spec) and packets_of(d) is not None:
            print(packets_of(d))
            return 0
        for k, v in d.items():      # {"198.18.100.1:80/tcp": {"packets": N}}
            if k.lower() == a.spec.lower() and isinstance(v, dict) and \
               packets_of(v) is not None:
                print(packets_of(v))
                return 0
    print("none")
    return 1

def cmd_flows_count(a):
    doc = json.load(open(a.file))
    if isinstance(doc, dict):
        doc = doc.get("flows")
    if not isinstance(doc, list):
        print("none")
        return 1
    print(len(doc))
    return 0

def cmd_backend_state(a):
    doc = json.load(open(a.file))
    addr = ipaddress.ip_address(a.addr)
    for d in walk(doc):
        if "vip" in d and not vip_match(d, a.vip):
            continue            # the same backend under another VIP
        if "state" in d and any(same_addr(d.get(k), addr)
                                for k in ("addr", "address", "backend", "ip")):
            print(str(d["state"]).lower())
            return 0
    print("none")
    return 1

def cmd_json_error(a):
    """Exit 0 if stdout or stderr of a failed -j command is a JSON object
    with an "error" member."""
    for f in a.files:
        try:
            doc = json.load(open(f))
        except (ValueError, OSError):
            continue
        if any("error" in d for d in walk(doc)):
            return 0
    return 1

def cmd_map_type(a):
    print(json.load(sys.stdin).get("type", "?"))
    return 0

p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="cmd", required=True)
c = sub.add_parser("sniff")
c.add_argument("--out", required=True)
c.add_argument("--ready", required=True)
c.add_argument("--vip", action="append", default=[])
c.add_argument("--max-seconds", type=float, default=300)
c = sub.add_parser("check-sniff")
c.add_argument("file")
c.add_argument("--backend", action="append", default=[])
c.add_argument("--vip4")
c.add_argument("--vip6")
c.add_argument("--encap4")
c.add_argument("--encap6")
c.add_argument("--client-peer")
c.add_argument("--lb-mac")
c.add_argument("--min-srcs", type=int, default=8)
c = sub.add_parser("spread")
c.add_argument("file")
c.add_argument("--names")
c.add_argument("--weights")
c = sub.add_parser("udp")
c.add_argument("--addr")
c.add_argument("--port", type=int)
c.add_argument("--count", type=int)
c = sub.add_parser("keepalive")
c.add_argument("--addr")
c.add_argument("--port", type=int)
c.add_argument("--want")
c.add_argument("--tries", type=int, default=100)
c.add_argument("--ready")
c.add_argument("--log")
c.add_argument("--max-seconds", type=float, default=60)
c = sub.add_parser("vip-packets")
c.add_argument("file")
c.add_argument("spec")
c = sub.add_parser("flows-count")
c.add_argument("file")
c = sub.add_parser("backend-state")
c.add_argument("file")
c.add_argument("addr")
c.add_argument("vip")
c = sub.add_parser("json-error")
c.add_argument("files", nargs="+")
c = sub.add_parser("map-type")
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

# curl_batch OUT FIRST_PORT COUNT URL [CURL_ARGS...]: COUNT connections
# (one curl each, source ports FIRST_PORT...) from the client; OUT gets
# 'PORT BODY' or 'PORT ERR ...' per request. Stops after 5 failures in a row
# and after 300 s in all.
curl_batch() {
	local out=$1 first=$2 count=$3
	shift 3
	xlbt_exec client timeout 300 bash -c '
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

# warm_up WHAT FIRST_PORT URL: until every backend has answered once (new
# next hops may cost the first packets); 100 connections and 20 s at most.
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

# ka_answered_since LINE N: the keep-alive log has N answers after LINE.
ka_answered_since() {
	(($(tail -n +$(($1 + 1)) "$TMP/ka.log" | grep -c '^ok ') >= $2))
}

# xdp_on HOST: 0 if HOST's device has an XDP program attached.
xdp_on() {
	ip -n "$(xlbt_ns "$1")" link show dev "$(xlbt_dev "$1")" | grep -qE ' xdp|prog/xdp'
}

# --- topology, backends' servers and decap -----------------------------------

TMP=
xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
HELPER=$TMP/e2e_helper.py
write_helper "$HELPER"
xlbt_topo_add_vip "$XLBT_ID" "$VIPPL" || xlbt_fail "add $VIPPL on backends' lo"
xlbt_log "topology $XLBT_ID up"

for be in "${BACKENDS[@]}"; do
	xlbt_bg_start "$be" "$TMP/$be.log" python3 tests/lib/backend_server.py \
		--name "$be" --http-port 80 --http-port 8080 --udp-port 53 \
		--udp-bind "$VIP4" --udp-bind "$VIP6" --pid-file "$TMP/$be.pid"
done
for be in "${BACKENDS[@]}"; do
	xlbt_wait_for 10 test -s "$TMP/$be.pid" ||
		xlbt_fail "$be server not ready after 10 s" "$(head -c 300 "$TMP/$be.log")"
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
	--encap-src "$ENCAP4" --encap-src6 "$ENCAP6"
xdp_on lb || xlbt_fail "XDP program on $LBDEV after attach" "none" "one"
xlb_ok lb status
grep -q "$LBDEV" <<<"$OUT" || xlbt_fail "xlb status names $LBDEV" "$OUT" "$LBDEV"

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
# 600 connections the bounds are 0.07-0.09; see cmd_spread above.
names=$(IFS=,; echo "${BACKENDS[*]}")
weights=$(IFS=,; echo "${WEIGHTS[*]}")
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
