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
# port exhaustion.
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
xlbt_require_cmd ip curl python3 timeout realpath ethtool

VIP4=$XLBT_VIP4
VIP6=$XLBT_VIP6
NAT4=$XLBT_NET4.2			# the LB's own address: replies come to it
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
  admin: {listen: "127.0.0.1:9180"}
  log_level: info
upstreams:
  - id: web
    forward: nat
    nodes:
      - {host: $(xlbt_addr4 be1), port: 8080, weight: 1}
      - {host: $(xlbt_addr4 be2), port: 8080, weight: 1}
    checks:
      active:
        type: tcp
        healthy: {interval: 0.5, successes: 1}
        unhealthy: {interval: 0.5, tcp_failures: 2, timeouts: 2}
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
  - {id: 3, server_addr: $VIP4, server_port: 53, protocol: udp, upstream_id: dns}
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
# kernel, which owns the connection.
body=$(xlbt_exec lb curl -sS --max-time 3 --local-port 30001 "http://$(xlbt_addr4 be2):8080/" 2>&1)
xlbt_expect_eq "LB host -> be2:8080 from port 30001 (in the NAT range)" "$body" "be2"
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

xlbt_log "PASS"
exit 0
