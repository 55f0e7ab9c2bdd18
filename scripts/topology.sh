#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The reference test topology (docs/testing.md), built from network
# namespaces, veth pairs and one bridge:
#
#   xlbt-ID-client 198.18.0.10 ---+
#   xlbt-ID-lb     198.18.0.2  ---+-- bridge xlbtIDbr in xlbt-ID-net
#   xlbt-ID-beN    198.18.0.11+N -+
#
# IPv6 alongside: fd00:78:6c62::10 (client), ::2 (lb), ::11+N (backend N,
# written as decimal digits, e.g. ::12). The client routes the VIP prefixes
# 198.18.100.0/24 and fd00:78:6c62:100::/64 via the LB; every backend holds
# the VIPs 198.18.100.1 and fd00:78:6c62:100::1 on lo (direct server return).
# A bpffs is mounted at /run/xlbt-ID/bpf with one pin directory per host
# (lb, be1 ... beN): /sys/fs/bpf cannot be used because `ip netns exec`
# remounts /sys.
#
# With XLBT_PLAIN_BACKENDS=1 the backends are plain hosts instead: no VIP,
# no ARP/rp_filter settings, only full checksums on their veth (they send
# through the LB, as the client does): the NAT setup (forward: nat).
#
# Nothing is created in the root namespace except that mount and its
# directory. Every name starts with "xlbt" and carries ID, so parallel runs
# never collide, and teardown only ever touches names made from its own ID.
#
# As a command:
#   scripts/topology.sh up ID [NBACKENDS]   build (default 3 backends)
#   scripts/topology.sh down ID             tear down whatever exists of ID
#   scripts/topology.sh show ID             list namespaces and addresses
# Sourced (tests/lib/testbed.sh does it), the functions below are the API:
#   xlbt_topo_up ID N, xlbt_topo_down ID, xlbt_topo_add_vip ID ADDR,
#   xlbt_ns HOST, xlbt_dev HOST, xlbt_peer HOST, xlbt_addr4 HOST,
#   xlbt_addr6 HOST, xlbt_pin_dir HOST, xlbt_run_dir, xlbt_tmp_dir.
# HOST is one of net, client, lb, be1 ... beN; the HOST functions use the
# ID of the last xlbt_topo_up (XLBT_ID).

XLBT_TOPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

XLBT_NET4=198.18.0      # hosts' /24
XLBT_NET6=fd00:78:6c62: # hosts' /64 is ${XLBT_NET6}:/64
XLBT_VIP4=198.18.100.1
XLBT_VIP6=fd00:78:6c62:100::1
XLBT_VIP4_NET=198.18.100.0/24
XLBT_VIP6_NET=fd00:78:6c62:100::/64
XLBT_MTU_CLIENT=1500 # clients keep the usual MTU ...
XLBT_MTU_PATH=1600   # ... the LB -> backend path fits an outer header
XLBT_MAX_BACKENDS=32
XLBT_XDP_PASS_OBJ=${XLBT_XDP_PASS_OBJ:-$XLBT_TOPO_ROOT/${BUILD:-build}/tests/bpf/xdp_pass.bpf.o}

# --- names (explicit ID) ------------------------------------------------------

_xlbt_id_ok() {
	[[ $1 =~ ^[0-9a-z]{1,7}$ ]] && return 0
	echo "topology: bad ID '$1' (1-7 characters of [0-9a-z])" >&2
	return 1
}

# Namespace of HOST: xlbt-ID-HOST.
_xlbt_ns() { printf 'xlbt-%s-%s\n' "$1" "$2"; }

# Device of HOST inside its own namespace (15 characters at most).
_xlbt_dev() {
	case $2 in
	client) printf 'xlbt%sc\n' "$1" ;;
	lb) printf 'xlbt%sl\n' "$1" ;;
	be*) printf 'xlbt%sb%s\n' "$1" "${2#be}" ;;
	*)
		echo "topology: no device for host '$2'" >&2
		return 1
		;;
	esac
}

# Bridge-side peer of HOST's device; it lives in the net namespace.
_xlbt_peer() {
	local dev
	dev=$(_xlbt_dev "$1" "$2") || return 1
	printf '%sp\n' "$dev"
}

_xlbt_bridge() { printf 'xlbt%sbr\n' "$1"; }
_xlbt_run_dir() { printf '/run/xlbt-%s\n' "$1"; }

# --- names (ID of the current topology) ----------------------------------------

xlbt_ns() { _xlbt_ns "${XLBT_ID:?XLBT_ID unset}" "$1"; }
xlbt_dev() { _xlbt_dev "${XLBT_ID:?XLBT_ID unset}" "$1"; }
xlbt_peer() { _xlbt_peer "${XLBT_ID:?XLBT_ID unset}" "$1"; }
xlbt_bridge() { _xlbt_bridge "${XLBT_ID:?XLBT_ID unset}"; }
xlbt_run_dir() { _xlbt_run_dir "${XLBT_ID:?XLBT_ID unset}"; }
xlbt_tmp_dir() { printf '%s/tmp\n' "$(xlbt_run_dir)"; }
xlbt_pin_dir() { printf '%s/bpf/%s\n' "$(xlbt_run_dir)" "$1"; }

xlbt_addr4() {
	case $1 in
	client) echo "$XLBT_NET4.10" ;;
	lb) echo "$XLBT_NET4.2" ;;
	be[0-9]*) echo "$XLBT_NET4.$((11 + ${1#be}))" ;;
	*)
		echo "topology: no address for host '$1'" >&2
		return 1
		;;
	esac
}

xlbt_addr6() {
	case $1 in
	client) echo "${XLBT_NET6}:10" ;;
	lb) echo "${XLBT_NET6}:2" ;;
	be[0-9]*) echo "${XLBT_NET6}:$((11 + ${1#be}))" ;;
	*)
		echo "topology: no address for host '$1'" >&2
		return 1
		;;
	esac
}

# Hosts that exist for ID (namespaces present), net first.
_xlbt_topo_hosts() {
	local ns
	ip netns list 2>/dev/null | while read -r ns _; do
		[[ $ns =~ ^xlbt-$1-(net|client|lb|be[0-9]+)$ ]] &&
			echo "${BASH_REMATCH[1]}"
	done | sort -V
}

# --- build ----------------------------------------------------------------------

# Run a command; on failure say which one, so a partial setup is easy to read.
_xlbt_do() {
	"$@" && return 0
	echo "topology: failed: $*" >&2
	return 1
}

# One host: namespace, sysctls, veth pair into the bridge, addresses.
_xlbt_topo_host() {
	local id=$1 host=$2 mtu=$3 ns dev peer netns
	ns=$(_xlbt_ns "$id" "$host")
	netns=$(_xlbt_ns "$id" net)
	dev=$(_xlbt_dev "$id" "$host") || return 1
	peer=$(_xlbt_peer "$id" "$host") || return 1

	_xlbt_do ip netns add "$ns" || return 1
	# DAD off before any address exists: v6 addresses usable at once.
	_xlbt_do ip netns exec "$ns" sysctl -q -w \
		net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.disable_ipv6=0 \
		net.ipv6.conf.default.disable_ipv6=0 || return 1
	_xlbt_do ip -n "$ns" link set dev lo up || return 1

	_xlbt_do ip -n "$netns" link add name "$peer" mtu "$mtu" type veth \
		peer name "$dev" mtu "$mtu" netns "$ns" || return 1
	_xlbt_do ip -n "$netns" link set dev "$peer" master "$(_xlbt_bridge "$id")" up ||
		return 1
	_xlbt_do ip -n "$ns" addr add "$(xlbt_addr4 "$host")/24" dev "$dev" || return 1
	_xlbt_do ip -n "$ns" addr add "$(xlbt_addr6 "$host")/64" dev "$dev" nodad ||
		return 1
	_xlbt_do ip -n "$ns" link set dev "$dev" up || return 1
}

_xlbt_topo_client() {
	local id=$1 ns dev
	ns=$(_xlbt_ns "$id" client)
	dev=$(_xlbt_dev "$id" client)
	# Native XDP on the LB sees what a checksum-offloading veth sends: only
	# the pseudo-header sum. Full checksums, as real NICs deliver them.
	_xlbt_do ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null || return 1
	_xlbt_do ip -n "$ns" route add "$XLBT_VIP4_NET" via "$(xlbt_addr4 lb)" || return 1
	_xlbt_do ip -n "$ns" -6 route add "$XLBT_VIP6_NET" via "$(xlbt_addr6 lb)" ||
		return 1
}

_xlbt_topo_lb() {
	local id=$1 ns netns peer
	ns=$(_xlbt_ns "$id" lb)
	netns=$(_xlbt_ns "$id" net)
	peer=$(_xlbt_peer "$id" lb)
	# bpf_fib_lookup() answers FWD_DISABLED without forwarding on.
	_xlbt_do ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 || return 1
	# A frame the LB sends with XDP_TX stalls in this peer's ring unless the
	# peer runs an XDP program itself.
	if [ ! -r "$XLBT_XDP_PASS_OBJ" ]; then
		echo "topology: $XLBT_XDP_PASS_OBJ missing (run make)" >&2
		return 1
	fi
	_xlbt_do ip -n "$netns" link set dev "$peer" xdpdrv obj "$XLBT_XDP_PASS_OBJ" \
		sec xdp || return 1
}

# Add a VIP (IPv4 or IPv6) to every backend's lo.
_xlbt_topo_vip_on_lo() {
	local ns=$1 addr=$2
	if [[ $addr == *:* ]]; then
		ip -n "$ns" -6 addr replace "$addr/128" dev lo nodad
	else
		ip -n "$ns" addr replace "$addr/32" dev lo
	fi
}

_xlbt_topo_backend() {
	local id=$1 host=$2 ns dev
	ns=$(_xlbt_ns "$id" "$host")
	dev=$(_xlbt_dev "$id" "$host")
	# VIP on lo: never answer ARP for it on the wire (arp_ignore) and never
	# use it as the source of our own ARP (arp_announce). Loose reverse-path
	# filtering: a kernel ipip/ip6tnl device (real servers) receives packets
	# whose source routes via another device, which strict mode drops.
	_xlbt_do ip netns exec "$ns" sysctl -q -w \
		net.ipv4.conf.all.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2 \
		"net.ipv4.conf.$dev.arp_ignore=1" \
		"net.ipv4.conf.$dev.arp_announce=2" \
		net.ipv4.conf.all.rp_filter=2 \
		net.ipv4.conf.default.rp_filter=2 \
		"net.ipv4.conf.$dev.rp_filter=2" \
		net.ipv4.conf.lo.rp_filter=2 || return 1
	_xlbt_do _xlbt_topo_vip_on_lo "$ns" "$XLBT_VIP4" || return 1
	_xlbt_do _xlbt_topo_vip_on_lo "$ns" "$XLBT_VIP6" || return 1
}

# A plain backend (NAT): nothing of direct return. Its replies cross the
# LB's XDP program, so its veth sends full checksums like the client's.
_xlbt_topo_plain_backend() {
	local id=$1 host=$2
	_xlbt_do ip netns exec "$(_xlbt_ns "$id" "$host")" ethtool -K \
		"$(_xlbt_dev "$id" "$host")" tx off >/dev/null
}

# Wait (bounded) until every host device is up with carrier.
_xlbt_topo_wait_up() {
	local id=$1 n=$2 host i
	for host in client lb $(seq -f 'be%g' 1 "$n"); do
		for ((i = 0; i < 50; i++)); do
			ip -n "$(_xlbt_ns "$id" "$host")" -o link show dev \
				"$(_xlbt_dev "$id" "$host")" 2>/dev/null |
				grep -q 'state UP' && break
			sleep 0.1
		done
		if ((i == 50)); then
			echo "topology: $host device not up after 5 s" >&2
			return 1
		fi
	done
}

_xlbt_topo_build() {
	local id=$1 n=$2 run netns i
	run=$(_xlbt_run_dir "$id")
	netns=$(_xlbt_ns "$id" net)

	# One bpffs outside /sys, shared by all hosts, one directory each.
	_xlbt_do mkdir -p "$run/bpf" "$run/tmp" || return 1
	_xlbt_do mount -t bpf xlbt-bpffs "$run/bpf" || return 1
	_xlbt_do mkdir "$run/bpf/lb" || return 1
	for ((i = 1; i <= n; i++)); do
		_xlbt_do mkdir "$run/bpf/be$i" || return 1
	done

	# The switch: a bridge in its own namespace. No IPv6 on its ports (no
	# link-local chatter), no multicast snooping (ND floods like ARP), no STP.
	_xlbt_do ip netns add "$netns" || return 1
	_xlbt_do ip netns exec "$netns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 || return 1
	_xlbt_do ip -n "$netns" link set dev lo up || return 1
	_xlbt_do ip -n "$netns" link add name "$(_xlbt_bridge "$id")" type bridge \
		stp_state 0 mcast_snooping 0 || return 1
	_xlbt_do ip -n "$netns" link set dev "$(_xlbt_bridge "$id")" up || return 1

	_xlbt_topo_host "$id" client "$XLBT_MTU_CLIENT" || return 1
	_xlbt_topo_client "$id" || return 1
	_xlbt_topo_host "$id" lb "$XLBT_MTU_PATH" || return 1
	_xlbt_topo_lb "$id" || return 1
	for ((i = 1; i <= n; i++)); do
		_xlbt_topo_host "$id" "be$i" "$XLBT_MTU_PATH" || return 1
		if [ "${XLBT_PLAIN_BACKENDS:-0}" = 1 ]; then
			_xlbt_topo_plain_backend "$id" "be$i" || return 1
		else
			_xlbt_topo_backend "$id" "be$i" || return 1
		fi
	done
	_xlbt_topo_wait_up "$id" "$n"
}

# xlbt_topo_up ID [N]: build the topology with N backends (default 3). Sets
# XLBT_ID and XLBT_NBE. On failure, tears down what it built and returns 1.
xlbt_topo_up() {
	local id=${1:-} n=${2:-3}
	_xlbt_id_ok "$id" || return 1
	if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > XLBT_MAX_BACKENDS)); then
		echo "topology: NBACKENDS must be 1..$XLBT_MAX_BACKENDS, not '$n'" >&2
		return 1
	fi
	if [ -n "$(_xlbt_topo_hosts "$id")" ] || [ -e "$(_xlbt_run_dir "$id")" ]; then
		echo "topology: ID $id is in use (scripts/topology.sh down $id)" >&2
		return 1
	fi
	XLBT_ID=$id
	XLBT_NBE=$n
	if ! _xlbt_topo_build "$id" "$n"; then
		xlbt_topo_down "$id"
		return 1
	fi
}

# --- teardown ----------------------------------------------------------------

# Stop every process still inside ID's namespaces (they are ours: nothing
# else runs in them), by PID: TERM, then KILL after 2 s.
_xlbt_topo_kill() {
	local id=$1 host pids=() pid i alive
	for host in $(_xlbt_topo_hosts "$id"); do
		pids+=($(ip netns pids "$(_xlbt_ns "$id" "$host")" 2>/dev/null))
	done
	[ ${#pids[@]} -eq 0 ] && return 0
	kill -TERM "${pids[@]}" 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		alive=0
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && {
				alive=1
				break
			}
		done
		((alive)) || return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null
	return 0
}

# xlbt_topo_down ID: delete ID's namespaces (their veths, bridge and XDP
# programs go with them), unmount its bpffs and remove /run/xlbt-ID.
# Works on any partial setup; touches only names made from ID. Returns 1 if
# something could not be removed.
xlbt_topo_down() {
	local id=${1:-} host run i rc=0
	_xlbt_id_ok "$id" || return 1
	run=$(_xlbt_run_dir "$id")

	_xlbt_topo_kill "$id"
	for host in $(_xlbt_topo_hosts "$id"); do
		ip netns del "$(_xlbt_ns "$id" "$host")" || rc=1
	done

	for ((i = 0; i < 5; i++)); do
		mountpoint -q "$run/bpf" 2>/dev/null || break
		umount "$run/bpf" 2>/dev/null || umount -l "$run/bpf" || break
	done
	if mountpoint -q "$run/bpf" 2>/dev/null; then
		echo "topology: $run/bpf still mounted" >&2
		rc=1
	elif [ -d "$run" ]; then
		rm -rf --one-file-system "$run" || rc=1
	fi

	if [ -n "$(_xlbt_topo_hosts "$id")" ]; then
		echo "topology: namespaces left: $(_xlbt_topo_hosts "$id" | xargs)" >&2
		rc=1
	fi
	return $rc
}

# xlbt_topo_add_vip ID ADDR: put one more VIP on every backend's lo.
xlbt_topo_add_vip() {
	local id=$1 addr=$2 host
	_xlbt_id_ok "$id" || return 1
	for host in $(_xlbt_topo_hosts "$id"); do
		[[ $host == be* ]] || continue
		_xlbt_do _xlbt_topo_vip_on_lo "$(_xlbt_ns "$id" "$host")" "$addr" ||
			return 1
	done
}

_xlbt_topo_show() {
	local id=$1 host ns
	_xlbt_id_ok "$id" || return 1
	for host in $(_xlbt_topo_hosts "$id"); do
		ns=$(_xlbt_ns "$id" "$host")
		echo "== $ns"
		ip -n "$ns" -br addr show
	done
	mountpoint -q "$(_xlbt_run_dir "$id")/bpf" &&
		echo "== bpffs $(_xlbt_run_dir "$id")/bpf"
	return 0
}

# --- command line ---------------------------------------------------------------

_xlbt_topo_main() {
	local cmd=${1:-}
	if [ "$(id -u)" -ne 0 ]; then
		echo "topology: must run as root" >&2
		return 1
	fi
	case $cmd in
	up)
		[ $# -ge 2 ] || {
			_xlbt_topo_usage
			return 2
		}
		xlbt_topo_up "$2" "${3:-3}" || return 1
		echo "topology: up: ID $2, $XLBT_NBE backends, pin dirs under" \
			"$(xlbt_run_dir)/bpf; lb device $(xlbt_dev lb) in $(xlbt_ns lb)"
		;;
	down)
		[ $# -eq 2 ] || {
			_xlbt_topo_usage
			return 2
		}
		xlbt_topo_down "$2"
		;;
	show)
		[ $# -eq 2 ] || {
			_xlbt_topo_usage
			return 2
		}
		_xlbt_topo_show "$2"
		;;
	*)
		_xlbt_topo_usage
		[ "$cmd" = -h ] || [ "$cmd" = --help ] || return 2
		;;
	esac
}

_xlbt_topo_usage() {
	cat >&2 <<-EOF
		usage: ${0##*/} up ID [NBACKENDS]   build the reference topology (3 backends)
		       ${0##*/} down ID             delete everything of ID
		       ${0##*/} show ID             list its namespaces and addresses
		ID: 1-7 characters of [0-9a-z], e.g. \$\$ % 100000
	EOF
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	_xlbt_topo_main "$@"
	exit $?
fi
