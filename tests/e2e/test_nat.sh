#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of NAT forwarding (forward: nat) with backends that know
# nothing of xlb: plain namespaces (XLBT_PLAIN_BACKENDS=1: no VIP on lo, no
# decap program, no XDP at all) running a plain HTTP/UDP server on their own
# address and their own port (8080/5353, the VIPs listen on 80/53: port
# translation). The agent runs the LB from a configuration with NAT chosen
# per upstream; real clients (curl, UDP sockets) go through it, and the
# nodes' replies come back through it, translated to VIP -> client.
#
# Checks: TCP over IPv4 and IPv6 and UDP over IPv4 reach both nodes and are
# answered from the VIP; a node sees the LB's NAT address and a port of the
# NAT range, not the client; full-size segments both ways (a 200 KB POST);
# the LB host's own connections to a node still work, inside the NAT port
# range too (a reply matching no entry passes to the kernel, counted as
# pass_nat_no_entry); the reason counters show the translations and no
# port exhaustion; `xlb flows` shows both directions of a live connection;
# `xlb stats` and /metrics show NAT's counters, memory and the nodes'
# SYN-ACK latency EWMA; with active probes off, a node's RST makes it
# mostly_healthy and its SYN-ACKs make it healthy again (passive recovery),
# and a node that resets every new connection (nftables reject) is taken
# out by its RSTs alone.
#
# Environment: XLB, XLBD (default build/xlb, build/xlbd). Exit: 0 pass,
# 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh
. tests/lib/traffic.sh

xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd
xlbt_require_root
xlbt_require_cmd ip curl python3 timeout realpath ethtool nft

VIP4=$XLBT_VIP4
VIP6=$XLBT_VIP6
NAT4=$XLBT_NET4.2 # the LB's own address: replies come to it
NAT6=${XLBT_NET6}:2
BACKENDS=(be1 be2)
CONNS=60
HELPER=$PWD/tests/lib/e2e_helper.py
XLBT_BATCH_SECONDS=120

reason() {
	python3 "$HELPER" reason "$TMP/stats.json" "$1" 2>&1
}

# --- plain backends ---------------------------------------------------------------

TMP=
XLBT_PLAIN_BACKENDS=1 xlbt_testbed_up 2
TMP=$(xlbt_tmp_dir)
xlbt_log "topology $XLBT_ID up, plain backends"

for be in "${BACKENDS[@]}"; do
	xlbt_bg_start "$be" "$TMP/$be.log" python3 tests/lib/backend_server.py \
		--name "$be" --http-port 8080 --udp-port 5353 \
		--udp-bind "$(xlbt_addr4 "$be")" --pid-file "$TMP/$be.pid"
done
for be in "${BACKENDS[@]}"; do
	xlbt_wait_for 10 test -s "$TMP/$be.pid" ||
		xlbt_fail "$be server not ready after 10 s" "$(head -c 300 "$TMP/$be.log")"
	! xdp_on "$be" || xlbt_fail "$be: XDP program on $(xlbt_dev "$be")" "attached" "none"
	lo=$(ip -n "$(xlbt_ns "$be")" -br addr show dev lo)
	for vip in "$VIP4" "$VIP6"; do
		! grep -qF "$vip" <<<"$lo" || xlbt_fail "$be: no VIP on lo" "$lo" "no $vip"
	done
done
xlbt_log "backends serving on 8080/5353, no VIP, no XDP"

# --- the agent, NAT per upstream ---------------------------------------------------

CONF=$TMP/xlb.yaml
cat >"$CONF" <<EOF
xlb:
  interfaces: [$(xlbt_dev lb)]
  nat_src: $NAT4
  nat_src6: "$NAT6"
  nat_connections: 16384
  admin: {listen: "127.0.0.1:9180"}
  log_level: info
upstreams:
  - id: web
    forward: nat
    nodes:
      - {host: $(xlbt_addr4 be1), port: 8080, weight: 1}
      - {host: $(xlbt_addr4 be2), port: 8080, weight: 1}
    # Passive only (probe interval_ms 0): what NAT sees of the nodes decides.
    checks:
      active: {type: tcp, healthy: {interval_ms: 0}, unhealthy: {interval_ms: 0}}
      passive: {type: tcp, healthy: {successes: 3}, unhealthy: {tcp_failures: 3, timeouts: 3}}
  - id: web6
    forward: nat
    nodes:
      - {host: "$(xlbt_addr6 be1)", port: 8080, weight: 1}
      - {host: "$(xlbt_addr6 be2)", port: 8080, weight: 1}
  - id: dns
    forward: nat
    scheme: udp
    nodes:
      - {host: $(xlbt_addr4 be1), port: 5353, weight: 1}
      - {host: $(xlbt_addr4 be2), port: 5353, weight: 1}
stream_routes:
  - {id: 1, server_addr: $VIP4, server_port: 80, upstream_id: web}
  - {id: 2, server_addr: "$VIP6", server_port: 80, upstream_id: web6}
  - {id: 3, server_addr: $VIP4, server_port: 53, scheme: udp, upstream_id: dns}
EOF
xlbt_exec lb "$XLBD" --check -c "$CONF" >/dev/null 2>&1 ||
	xlbt_fail "xlbd --check" "$(xlbt_exec lb "$XLBD" --check -c "$CONF" 2>&1)"

# Without nat_src the configuration is refused, naming the key.
grep -v "nat_src: $NAT4" "$CONF" >"$TMP/bad.yaml"
rc=0
out=$(xlbt_exec lb "$XLBD" --check -c "$TMP/bad.yaml" 2>&1) || rc=$?
xlbt_expect_eq "xlbd --check without nat_src: exit status" "$rc" 1
grep -q "bad.yaml:[0-9]*:[0-9]*: .*forwards by NAT: set xlb.nat_src" <<<"$out" ||
	xlbt_fail "xlbd --check without nat_src: message" "$out" "...set xlb.nat_src..."

xlbt_agent_start "$TMP/xlbd.log" "$CONF"
xlb_ok lb -j vip list
for v in "$VIP4:80/tcp" "[$VIP6]:80/tcp" "$VIP4:53/udp"; do
	python3 -c '
import json, sys
vs = {v["vip"]: v for v in json.loads(sys.argv[1])}
sys.exit(0 if vs.get(sys.argv[2], {}).get("forward") == "nat" else 1)' "$OUT" "$v" ||
		xlbt_fail "VIP $v flagged for NAT in the maps" "$OUT" "forward nat"
done
# The CLI refuses a backend of the other family on a NAT VIP (usage, exit 1).
rc=0
out=$(xlbt_xlb lb backend add "$VIP4:80/tcp" "[$(xlbt_addr6 be1)]:8080" 2>&1 </dev/null) || rc=$?
xlbt_expect_eq "xlb backend add (IPv6 node on an IPv4 NAT VIP): exit status" "$rc" 1
grep -q "NAT does not translate between IPv4 and IPv6" <<<"$out" ||
	xlbt_fail "xlb backend add (IPv6 node on an IPv4 NAT VIP): message" "$out" \
		"NAT does not translate between IPv4 and IPv6"
xlbt_log "xlbd up, 3 NAT VIPs"

# --- TCP through NAT -------------------------------------------------------------------

warm_up "$VIP4:80/tcp" 10000 "http://$VIP4/"
warm_up "[$VIP6]:80/tcp" 10200 "http://[$VIP6]/"
for spec in "$VIP4:80 11000 http://$VIP4/" "[$VIP6]:80 12000 http://[$VIP6]/"; do
	read -r svc port url <<<"$spec"
	curl_batch "$TMP/main.out" "$port" "$CONNS" "$url"
	expect_batch "$svc ($CONNS connections)" "$TMP/main.out" "$CONNS"
	xlbt_expect_eq "$svc: backends reached" "$(seen "$TMP/main.out")" "be1,be2"
	xlbt_log "$svc: $CONNS connections answered by be1 and be2"
done

# The node sees the LB's NAT address and a NAT port, never the client.
for spec in "$VIP4 $NAT4 13000" "[$VIP6] $NAT6 13001"; do
	read -r host want lport <<<"$spec"
	out=$(xlbt_exec client curl -sS -g -i --max-time 3 --local-port "$lport" "http://$host/" 2>&1)
	hdr=$(tr -d '\r' <<<"$out" | sed -n 's/^X-Client-Addr: //p')
	read -r addr nport <<<"$hdr"
	[ "$addr" = "$want" ] || xlbt_fail "source address seen by the node (via $host)" "$out" "$want"
	[[ $nport =~ ^[0-9]+$ ]] && ((nport >= 1024 && nport <= 32767)) ||
		xlbt_fail "source port seen by the node (via $host)" "$nport" "1024..32767"
done

# Full-size segments both ways: 200 KB up, the answer back.
head -c 200000 /dev/zero >"$TMP/body"
for url in "http://$VIP4/" "http://[$VIP6]/"; do
	out=$(xlbt_exec client curl -sS -g --max-time 10 --data-binary "@$TMP/body" "$url" 2>&1)
	[[ $out =~ ^be[12]\ 200000$ ]] || xlbt_fail "POST 200000 bytes to $url" "$out" "beN 200000"
done
xlbt_log "node sees NAT address and port; 200 KB POSTs ok"

# --- UDP through NAT -------------------------------------------------------------------

xlbt_exec client python3 "$HELPER" udp --addr "$VIP4" --port 53 --count 40 >"$TMP/udp.out" 2>&1
n=$(grep -cE "^[0-9]+ be[12] $VIP4:53\$" "$TMP/udp.out")
xlbt_expect_eq "UDP to $VIP4:53: answers from the VIP" "$n" 40
xlbt_expect_eq "UDP: nodes reached" \
	"$(awk '{print $2}' "$TMP/udp.out" | sort -u | paste -sd,)" "be1,be2"
xlbt_log "UDP: 40 datagrams answered from $VIP4:53 by be1 and be2"

# --- the LB host's own connections ----------------------------------------------------

# Above the NAT range (the kernel's ephemeral ports): not NAT at all.
body=$(xlbt_exec lb curl -sS --max-time 3 "http://$(xlbt_addr4 be1):8080/" 2>&1)
xlbt_expect_eq "LB host -> be1:8080 (ephemeral port)" "$body" "be1"
xlb_ok lb -j stats
printf '%s\n' "$OUT" >"$TMP/stats.json"
before=$(reason pass_nat_no_entry)
# Inside the NAT range: the node's reply matches no entry and goes to the
# kernel, which owns the connection. (A port that a translated connection
# to be2:8080 holds would take the reply: that is why the default range
# stays below the kernel's ephemeral ports. Pick one no connection holds.)
xlb_ok lb -j flows
HOSTPORT=$(python3 -c '
import json, sys
used = {f["nat"]["src"] for f in json.loads(sys.argv[1]) if f.get("nat")}
print(next(p for p in range(30001, 32767) if "%s:%d" % (sys.argv[2], p) not in used))' \
	"$OUT" "$NAT4")
body=$(xlbt_exec lb curl -sS --max-time 3 --local-port "$HOSTPORT" \
	"http://$(xlbt_addr4 be2):8080/" 2>&1)
xlbt_expect_eq "LB host -> be2:8080 from port $HOSTPORT (in the NAT range)" "$body" "be2"
xlb_ok lb -j stats
printf '%s\n' "$OUT" >"$TMP/stats.json"
xlbt_expect_ge "pass_nat_no_entry after the host's own connection" \
	"$(reason pass_nat_no_entry)" $((before + 3))
xlbt_log "host's own connections ok (NAT range too: passed, counted)"

# --- counters -----------------------------------------------------------------------

# Each connection: SYN, ACK + request, FIN, ACK at least each way.
xlbt_expect_ge "fwd_nat (packets)" "$(reason fwd_nat)" $((2 * CONNS * 3))
xlbt_expect_ge "tx_nat_reply (packets)" "$(reason tx_nat_reply)" $((2 * CONNS * 3))
for r in drop_nat_ports drop_nat_src drop_family fwd_encap; do
	xlbt_expect_eq "LB reason $r (packets)" "$(reason "$r")" 0
done
xlbt_log "counters: fwd_nat $(reason fwd_nat), tx_nat_reply $(reason tx_nat_reply)"

# --- xlb flows: both directions of a live connection -----------------------------------

xlbt_bg_start client "$TMP/ka.out" python3 "$HELPER" keepalive --addr "$VIP4" --port 80 \
	--want be1 --ready "$TMP/ka.ready" --log "$TMP/ka.log" --max-seconds 60
KA_PID=$XLBT_BG_PID
xlbt_wait_for 15 test -s "$TMP/ka.ready" || xlbt_fail "keep-alive connection" "$(cat "$TMP/ka.log")"
KA_PORT=$(cat "$TMP/ka.ready")
xlb_ok lb -j flows --vip "$VIP4:80/tcp"
printf '%s\n' "$OUT" >"$TMP/flows.json"
if ! out=$(
	python3 - "$TMP/flows.json" "$(xlbt_addr4 client):$KA_PORT" "$VIP4:80" \
		"$(xlbt_addr4 be1):8080" "$NAT4" <<'PY'
import json, sys
flows, client, vip, node, nat = json.load(open(sys.argv[1])), *sys.argv[2:]
for f in flows:
    if f["src"] != client:
        continue
    r, n = f.get("reply") or {}, f.get("nat") or {}
    ok = (f["dst"] == vip and f["state"] == "established" and n.get("dst") == node and
          n.get("src", "").startswith(nat + ":") and r.get("src") == node and
          r.get("dst") == n.get("src") and r.get("to_src") == vip and
          r.get("to_dst") == client and r.get("state") == "established")
    print(json.dumps(f))
    sys.exit(0 if ok else 1)
print("no flow from", client)
sys.exit(1)
PY
); then
	xlbt_fail "xlb -j flows: the keep-alive connection, both directions" "$out" \
		"$(xlbt_addr4 client):$KA_PORT -> $VIP4:80 => nat $NAT4:P -> be1:8080, reply back"
fi
xlb_ok lb flows --vip "$VIP4:80/tcp"
grep -A1 -F "$(xlbt_addr4 client):$KA_PORT -> $VIP4:80 => nat $NAT4:" <<<"$OUT" |
	grep -qF "reply $(xlbt_addr4 be1):8080 -> $NAT4:" ||
	xlbt_fail "xlb flows (text): both directions" "$(head -4 <<<"$OUT")" "... => nat ...; reply ..."
xlbt_bg_stop "$KA_PID" 3
grep -q '^err' "$TMP/ka.log" && xlbt_fail "keep-alive connection broke" "$(grep '^err' "$TMP/ka.log")"
xlbt_log "flows: both directions of $(xlbt_addr4 client):$KA_PORT shown"

# --- stats and metrics: NAT's own figures --------------------------------------------

xlb_ok lb -j stats
printf '%s\n' "$OUT" >"$TMP/stats.json"
if ! out=$(
	python3 - "$TMP/stats.json" "$(xlbt_addr4 be1):8080" <<'PY'
import json, sys
nat = json.load(open(sys.argv[1]))["nat"]
node = nat["nodes"].get(sys.argv[2], {})
ok = (nat["translations"] > 0 and nat["replies"] > 0 and nat["port_failures"] == 0 and
      nat["unmatched_replies"] > 0 and nat["capacity"] > 0 and nat["memory_bytes"] > 0 and
      nat["entry_bytes"] == 192 and node.get("synacks", 0) > 0 and
      0 < node.get("synack_ewma_ms", 0) < 1000)
print(json.dumps(nat))
sys.exit(0 if ok else 1)
PY
); then
	xlbt_fail "xlb -j stats: nat" "$out" "translations, replies, memory, be1's SYN-ACK EWMA"
fi
xlb_ok lb -j status
python3 -c '
import json, sys
n = json.loads(sys.argv[1])["maps"]["nat"]
sys.exit(0 if n["used"] > 0 and n["max"] == 16384 and n["entry_bytes"] == 192 and
         n["memory_bytes"] > 0 else 1)' "$OUT" ||
	xlbt_fail "xlb -j status: maps.nat" "$OUT" \
		"used > 0, max 16384 (nat_connections), memory_bytes, entry_bytes 192"
xlb_ok lb stats
grep -q "^NAT:" <<<"$OUT" && grep -q "node $(xlbt_addr4 be1):8080 .*SYN-ACK EWMA" <<<"$OUT" ||
	xlbt_fail "xlb stats (text): NAT section" "$OUT" "NAT: ... node ... SYN-ACK EWMA"
ewma=$(xlbt_metric "xlb_nat_synack_ewma_seconds{node=\"$(xlbt_addr4 be1):8080\"}")
python3 -c 'import sys; sys.exit(0 if 0 < float(sys.argv[1]) < 1 else 1)' "${ewma:-0}" ||
	xlbt_fail "/metrics xlb_nat_synack_ewma_seconds of be1" "$ewma" "0 < x < 1"
ok=$(xlbt_metric 'xlb_passive_events_total{kind="node_ok"}')
xlbt_expect_ge "/metrics passive node_ok events (SYN-ACKs as successes)" "${ok:-0}" 1
xlbt_exec lb curl -s --max-time 2 "$XLBT_ADMIN/metrics" >"$TMP/metrics"
for m in xlb_nat_memory_bytes xlb_nat_entry_bytes xlb_nat_capacity; do
	xlbt_expect_ge "/metrics $m" "$(awk -v m="$m" '$1 == m { print $2 }' "$TMP/metrics")" 1
done
xlbt_log "stats and metrics: be1 SYN-ACK EWMA ${ewma}s, $ok success events"

# --- passive health from the nodes' RSTs ------------------------------------------------

node_status() {
	xlbt_exec lb curl -s --max-time 2 "$XLBT_ADMIN/v1/healthcheck" | python3 -c '
import json, sys
for u in json.load(sys.stdin):
    for n in u["nodes"]:
        if n["ip"] == sys.argv[1] and n["port"] == 8080:
            print(n["status"]); sys.exit(0)' "$1"
}
node_is() { [ "$(node_status "$1")" = "$2" ]; }

BE2=$(xlbt_addr4 be2)
node_is "$BE2" healthy || xlbt_fail "be2 before the RSTs" "$(node_status "$BE2")" healthy
# be2's server refuses what comes through NAT (the NAT ports), nothing else.
reject_on() {
	xlbt_exec be2 nft -f - <<EOF
table inet xlbt_nat {
	chain input {
		type filter hook input priority 0;
		ip saddr $NAT4 tcp dport 8080 tcp sport 1024-32767 reject with tcp reset
	}
}
EOF
}
reject_off() { xlbt_exec be2 nft delete table inet xlbt_nat; }

# One RST: be2 is mostly_healthy; its SYN-ACKs then bring it back
# (successes, passive recovery: nothing else probes it here).
reject_on || xlbt_fail "nftables reject on be2"
for ((p = 14000; p < 14100; p++)); do
	xlbt_exec client curl -s --max-time 2 --local-port "$p" "http://$VIP4/" >/dev/null
	xlbt_wait_for 1 node_is "$BE2" mostly_healthy && break
done
reject_off || xlbt_fail "nftables reject off on be2"
xlbt_expect_eq "be2 after one RST" "$(node_status "$BE2")" mostly_healthy
curl_batch "$TMP/ok.out" 14100 60 "http://$VIP4/"
expect_batch "$VIP4:80 after the reject is lifted (60 connections)" "$TMP/ok.out" 60
xlbt_wait_for 5 node_is "$BE2" healthy ||
	xlbt_fail "be2 healthy again from its SYN-ACKs (passive successes)" \
		"$(node_status "$BE2")" healthy
xlbt_log "be2: one RST -> mostly_healthy, its SYN-ACKs -> healthy again"

# Refusing everything: taken out by its RSTs alone.
reject_on || xlbt_fail "nftables reject on be2"
curl_batch "$TMP/rst.out" 14200 30 "http://$VIP4/"
xlbt_wait_for 5 node_is "$BE2" unhealthy ||
	xlbt_fail "be2 unhealthy from its RSTs (passive, NAT)" "$(node_status "$BE2")" unhealthy
rsts=$(xlbt_metric 'xlb_passive_events_total{kind="node_rst"}')
xlbt_expect_ge "/metrics passive node_rst events" "${rsts:-0}" 4
curl_batch "$TMP/after.out" 14300 30 "http://$VIP4/"
expect_batch "$VIP4:80 with be2 out (30 connections)" "$TMP/after.out" 30 be2
xlbt_log "be2 refused, taken out by its RSTs ($rsts events); new connections on be1 only"

xlbt_log "PASS"
exit 0
