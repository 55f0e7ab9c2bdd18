#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Native-mode XDP on virtio_net, the guest's half (scripts/vmtest.sh runs
# the other half on this machine). The guest is the load balancer between
# two multi-queue virtio_net NICs backed by taps on the host:
#
#   eth1 198.18.0.2/24: the client 198.18.0.10 and backend b1 198.18.0.11
#   eth2 198.18.1.2/24: backend b2 198.18.1.11
#
# VIP 198.18.100.1:8080 goes to b1 (out of the NIC it came in on: XDP_TX),
# VIP 198.18.100.2:8080 to b2 (out of the other NIC: XDP_REDIRECT). The
# host's client connects to both; the backends decapsulate and reply
# directly. Passes when every connection succeeded and the driver's own
# counters show XDP_TX on eth1 and redirects from eth1.
#   scripts/vmtest-native.sh OUT_DIR
set -u
OUT=$1
XLB=${XLB:-build/xlb}
fail() {
	echo "native: $*"
	exit 1
}

modprobe virtio_net 2>/dev/null
dev_by_mac() {
	local d
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && {
			echo "${d##*/}"
			return 0
		}
	done
	return 1
}
for _ in $(seq 50); do
	d1=$(dev_by_mac 52:54:00:78:6c:01) && d2=$(dev_by_mac 52:54:00:78:6c:02) && break
	sleep 0.1
done
[ -n "${d1:-}" ] && [ -n "${d2:-}" ] || fail "no virtio_net devices"
drv=$(basename "$(readlink /sys/class/net/$d1/device/driver)")
echo "devices: $d1 $d2 (driver $drv)"
ethtool -l "$d1" | sed -n '/Current/,$p'
ncpu=$(nproc)
ethtool -L "$d1" combined "$ncpu" 2>/dev/null
ethtool -L "$d2" combined "$ncpu" 2>/dev/null

ip link set "$d1" up && ip link set "$d2" up
ip addr add 198.18.0.2/24 dev "$d1" && ip addr add 198.18.1.2/24 dev "$d2"
sysctl -qw net.ipv4.ip_forward=1
"$XLB" attach "$d1" --mode native || fail "attach $d1 native"
"$XLB" attach "$d2" --mode native || fail "attach $d2 native"
"$XLB" status | head -5
"$XLB" vip add 198.18.100.1:8080/tcp && "$XLB" backend add 198.18.100.1:8080/tcp 198.18.0.11 &&
	"$XLB" vip add 198.18.100.2:8080/tcp && "$XLB" backend add 198.18.100.2:8080/tcp 198.18.1.11 ||
	fail "VIP setup"
# The fast path passes packets to the kernel until a next hop is resolved.
ping -c1 -W2 198.18.0.11 >/dev/null
ping -c1 -W2 198.18.1.11 >/dev/null
ip neigh show

touch "$OUT/native.ready"
for _ in $(seq 600); do
	[ -f "$OUT/native.done" ] && break
	sleep 0.1
done
[ -f "$OUT/native.done" ] || fail "the host side never finished"
cat "$OUT/native.host"
"$XLB" stats
stat_of() { ethtool -S "$1" | awk -v k="$2" '$1 ~ k":$" { s += $2 } END { print s + 0 }'; }
tx=$(stat_of "$d1" 'xdp_tx')
redir=$(stat_of "$d1" 'xdp_redirects')
ethtool -S "$d1" | grep -E 'xdp' | grep -v ': 0$'
"$XLB" detach "$d1" && "$XLB" detach "$d2"
conns=$(grep -c '^vip .*: 5/5' "$OUT/native.host")
host_rc=$(cat "$OUT/native.host.rc" 2>/dev/null)
echo "connections: $(grep '^vip' "$OUT/native.host" | tr '\n' ' ')"
[ "$host_rc" = 0 ] && [ "$conns" = 2 ] || fail "connections through the guest failed ($(grep '^vip' "$OUT/native.host" | tr '\n' ' '))"
[ "$tx" -gt 0 ] || fail "no XDP_TX counted by $drv on $d1"
[ "$redir" -gt 0 ] || fail "no XDP redirect counted by $drv on $d1"
echo "pass: 10/10 TCP via $drv native, xdp_tx=$tx redirects=$redir"
