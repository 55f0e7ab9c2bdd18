#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The fast path's settings (the pinned xlb_config: forwarding method, NAT
# address and ports, hash seed, drain flag) as attach and the agent leave
# them:
#  - a second device attached without --forward / --nat-src keeps what the
#    first attach set (the maps are shared);
#  - xlbd writes its xlb settings at start, and again on a reload that
#    changes them (nat_src, nat_ports), keeping the drain flag;
#  - a reload that makes nat_src a VIP's address is refused;
#  - NAT ports inside the kernel's ephemeral range are warned about.
#
# Environment: XLB, XLBD. Exit: 0 pass, 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh
xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd

xlbt_require_root
xlbt_require_cmd ip curl python3 timeout bpftool

xlbt_testbed_up 1
TMP=$(xlbt_tmp_dir)
PIN=$(xlbt_pin_dir lb)
LB4=$(xlbt_addr4 lb)

# cfg FIELD: the pinned xlb_config's FIELD, as bpftool prints it with BTF.
cfg() {
	xlbt_exec lb bpftool -j map dump pinned "$PIN/xlb_config" | python3 -c '
import json, sys
d = json.load(sys.stdin)[0]
v = d["formatted"]["value"] if "formatted" in d else d["value"]
if isinstance(v, list):		# a per-CPU or array value: the first element
    v = v[0]
print(json.dumps(v[sys.argv[1]]))' "$1"
}
# be32 ADDR: an IPv4 address as the map holds it (network order read as a host u32).
be32() {
	python3 -c 'import socket, struct, sys; print(struct.unpack("=I", socket.inet_aton(sys.argv[1]))[0])' "$1"
}

out=$(xlbt_xlb lb attach "$(xlbt_dev lb)" --forward nat --nat-src "$LB4" \
	--nat-ports 20000-29999 2>&1) || xlbt_fail "attach --forward nat" "$out"
grep -q "ephemeral" <<<"$out" && xlbt_fail "no overlap warning below the ephemeral range" "$out"
fwd=$(cfg forward) src=$(cfg nat_src4) pmin=$(cfg nat_port_min)
xlbt_expect_eq "nat_src4 after the first attach" "$src" "$(be32 "$LB4")"
xlbt_expect_eq "nat_port_min after the first attach" "$pmin" 20000

# A second device, attached without the NAT options, shares the maps.
DEV2=xlbt${XLBT_ID}s
ip -n "$(xlbt_ns lb)" link add "$DEV2" type veth peer name "${DEV2}p" ||
	xlbt_fail "veth for a second device"
ip -n "$(xlbt_ns lb)" link set "$DEV2" up
ip -n "$(xlbt_ns lb)" link set "${DEV2}p" up
xlbt_xlb lb attach "$DEV2" --mode generic >/dev/null 2>&1 || xlbt_fail "attach a second device"
xlbt_expect_eq "forward kept by a second attach" "$(cfg forward)" "$fwd"
xlbt_expect_eq "nat_src4 kept by a second attach" "$(cfg nat_src4)" "$src"
xlbt_expect_eq "nat ports kept by a second attach" "$(cfg nat_port_min)" 20000
xlbt_xlb lb detach "$DEV2" >/dev/null 2>&1 || xlbt_fail "detach the second device"
xlbt_log "a second attach keeps the NAT settings"

# NAT ports inside the kernel's ephemeral range: said at attach.
read -r eph_lo eph_hi < <(xlbt_exec lb cat /proc/sys/net/ipv4/ip_local_port_range)
out=$(xlbt_xlb lb attach "$DEV2" --mode generic --nat-ports "$eph_lo-$((eph_lo + 99))" 2>&1) ||
	xlbt_fail "attach with NAT ports in the ephemeral range" "$out"
grep -q "overlap the kernel's ephemeral ports $eph_lo-$eph_hi" <<<"$out" ||
	xlbt_fail "overlap with ip_local_port_range is said" "$out"
xlbt_xlb lb detach "$DEV2" >/dev/null 2>&1 || xlbt_fail "detach the second device"

# The agent: its settings at start, and on a reload that changes them.
write_conf() {
	cat >"$TMP/xlb.yaml" <<EOF
xlb:
  forward: nat
  nat_src: $1
  nat_port_min: ${2%-*}
  nat_port_max: ${2#*-}
  admin: {listen: "127.0.0.1:9180"}
upstreams:
  - {id: web, nodes: {"$(xlbt_addr4 be1):80": 1}}
stream_routes:
  - {id: 1, server_addr: $3, server_port: 80, upstream_id: web}
EOF
}
write_conf 198.18.0.200 "30000-30999" "$XLBT_VIP4"
xlbt_agent_start "$TMP/xlbd.log" "$TMP/xlb.yaml"
xlbt_expect_eq "nat_src4 from xlbd at start" "$(cfg nat_src4)" "$(be32 198.18.0.200)"
xlbt_expect_eq "nat_port_min from xlbd at start" "$(cfg nat_port_min)" 30000
xlbt_xlb lb drain start >/dev/null || xlbt_fail "xlb drain start"
flags=$(cfg flags)
write_conf 198.18.0.201 "31000-31999" "$XLBT_VIP4"
kill -HUP "$XLBT_AGENT_PID"
nat_src_is() { [ "$(cfg nat_src4)" = "$(be32 "$1")" ]; }
xlbt_wait_for 5 nat_src_is 198.18.0.201 ||
	xlbt_fail "a reload writes the new nat_src" "$(cfg nat_src4)" "$(tail -5 "$TMP/xlbd.log")"
xlbt_expect_eq "nat_port_min after the reload" "$(cfg nat_port_min)" 31000
xlbt_expect_eq "the drain flag survives the reload" "$(cfg flags)" "$flags"
xlbt_log "xlbd writes its settings at start and on reload"

# nat_src equal to a VIP's address: refused, nothing changes.
write_conf "$XLBT_VIP4" "31000-31999" "$XLBT_VIP4"
kill -HUP "$XLBT_AGENT_PID"
xlbt_wait_for 5 grep -q "is also xlb.nat_src" "$TMP/xlbd.log" ||
	xlbt_fail "nat_src = a VIP refused" "$(tail -5 "$TMP/xlbd.log")"
nat_src_is 198.18.0.201 || xlbt_fail "a refused reload changes nothing" "$(cfg nat_src4)"
xlbt_log "nat_src = VIP refused"
echo PASS
