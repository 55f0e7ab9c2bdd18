#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Wire rate on veth (target: >= 0.9 x a MAC-swap XDP_TX program's
# pps; also against a minimal IPIP-encapsulating XDP_TX program, which
# returns the same frame as xlb). Two namespaces joined by one veth pair:
#
#   xlbt-wID-gen  GEN 198.18.0.10  <== veth ==>  DUT 198.18.0.2  xlbt-wID-dut
#   live-frames generator + counter     xlb_lb, MAC-swap or encap floor, native
#
# build/bench/trafficgen (bench/trafficgen.c) loads, attaches and measures;
# this script builds the namespaces and removes them on exit. The DUT
# namespace forwards (bpf_fib_lookup needs it) and holds permanent neighbour
# entries for the backends 198.18.0.11-13 with the generator's MAC, so xlb's
# encapsulated frames go back to the generator, where they are counted and
# dropped.
#
# Two CPU placements, each measured on fresh namespaces:
#   same   everything on CPU 0: the generator's batches, then in softirq the
#          DUT's receive path (the program under test, XDP_TX) and the
#          counter's. The figure is the whole pipeline's rate on one core.
#   split  the generator on CPU 0; the DUT device's NAPI as a kernel thread
#          pinned to CPU 1, where the counter's NAPI also runs (softirq
#          raised by the DUT's XDP_TX). Frames cross CPUs, as from a NIC.
# After the rate runs, a pass of WIRE_STATS_SECONDS per program with BPF
# run-time statistics on gives each program's own ns per frame (the DUT's,
# the generator's, the counter's); on one CPU ("same") the rest of 1 / rate
# is the kernel's.
#
#   bench/wire_rate.sh [JSON]     default JSON: bench/results/wire_rate.json
# With KATRAN_SRC set (a Katran source tree, as for bench/katran.sh),
# Katran's balancer is built from it and measured on the same wire, in the
# same alternation: the peer's rate beside xlb's.
# Environment: WIRE_SECONDS (5), WIRE_RUNS (5), WIRE_FLOWS (16),
# WIRE_MODES ("same split"), WIRE_STATS_SECONDS (3; 0: no statistics pass),
# WIRE_GEN_ARGS (extra trafficgen options, e.g. "-x OBJ" for another
# build of xlb_lb beside this one (program xlb_x), "-B 256" for the
# live-frames batch size, "-P floor,xlb" for fewer programs).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
GEN_BIN=$PWD/$BUILD/bench/trafficgen
PASS_OBJ=$PWD/$BUILD/tests/bpf/xdp_pass.bpf.o
JSON=${1:-bench/results/wire_rate.json}
SECS=${WIRE_SECONDS:-5}
RUNS=${WIRE_RUNS:-5}
FLOWS=${WIRE_FLOWS:-16}
MODES=${WIRE_MODES:-same split}
STATS_SECS=${WIRE_STATS_SECONDS:-3}

[ "$(id -u)" -eq 0 ] || {
	echo "SKIP: wire_rate needs root"
	exit 77
}
[ -x "$GEN_BIN" ] || {
	echo "wire_rate: $GEN_BIN missing: run make" >&2
	exit 1
}
[ -r "$PASS_OBJ" ] || {
	echo "wire_rate: $PASS_OBJ missing: run make" >&2
	exit 1
}
KATRAN=()
if [ -n "${KATRAN_SRC:-}" ]; then
	commit=$(bench/katran.sh --build "$KATRAN_SRC") || {
		echo "wire_rate: cannot build Katran from $KATRAN_SRC" >&2
		exit 1
	}
	KATRAN=(-k "$PWD/$BUILD/katran/balancer.bpf.o" -K "$commit")
fi

ID=$(($$ % 100000))
NS_GEN=xlbt-w$ID-gen
NS_DUT=xlbt-w$ID-dut
GEN=xlbtw${ID}g
DUT=xlbtw${ID}d
GEN_PID=
TMP=$(mktemp -d /tmp/xlbt-wire.XXXXXX) || exit 1

teardown() {
	ip netns del "$NS_GEN" 2>/dev/null
	ip netns del "$NS_DUT" 2>/dev/null
}

cleanup() {
	local rc=$?
	trap - EXIT
	if [ -n "$GEN_PID" ] && kill -0 "$GEN_PID" 2>/dev/null; then
		kill -TERM "$GEN_PID" 2>/dev/null
		sleep 1
		kill -KILL "$GEN_PID" 2>/dev/null
	fi
	teardown
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "wire_rate: failed: $*" >&2
	exit 1
}
run() { "$@" || fail "$*"; }

setup() {
	local ns be gen_mac
	run ip netns add "$NS_GEN"
	run ip netns add "$NS_DUT"
	for ns in "$NS_GEN" "$NS_DUT"; do
		run ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		run ip -n "$ns" link set dev lo up
	done
	run ip -n "$NS_GEN" link add name "$GEN" type veth peer name "$DUT" netns "$NS_DUT"
	run ip -n "$NS_GEN" addr add 198.18.0.10/24 dev "$GEN"
	run ip -n "$NS_DUT" addr add 198.18.0.2/24 dev "$DUT"
	run ip -n "$NS_GEN" link set dev "$GEN" up
	run ip -n "$NS_DUT" link set dev "$DUT" up
	run ip netns exec "$NS_DUT" sysctl -q -w net.ipv4.ip_forward=1
	gen_mac=$(ip -n "$NS_GEN" -o link show dev "$GEN" |
		sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p')
	for be in 11 12 13; do
		run ip -n "$NS_DUT" neigh replace "198.18.0.$be" lladdr "$gen_mac" \
			nud permanent dev "$DUT"
	done
}

# DEV's receive path as a kernel thread pinned to CPU 1. A veth has NAPI
# instances only while an XDP program is attached: attach a placeholder
# first (trafficgen replaces it, which keeps the NAPI and its thread).
napi_thread() {
	local ns=$1 dev=$2 cpu=$3 p pids f
	run ip -n "$ns" link set dev "$dev" xdpdrv obj "$PASS_OBJ" sec xdp
	run ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded"
	pids=$(for f in /proc/[0-9]*/comm; do
		[[ $(<"$f") == "napi/$dev-"* ]] 2>/dev/null && {
			f=${f%/comm}
			echo "${f#/proc/}"
		}
	done)
	[ -n "$pids" ] || fail "no NAPI thread of $dev"
	for p in $pids; do run taskset -p -c "$cpu" "$p" >/dev/null; done
}

# measure MODE OUT: one trafficgen run on fresh namespaces, table on stdout.
measure() {
	local mode=$1 out=$2 limit rc one=
	setup
	if [ "$mode" = split ]; then
		napi_thread "$NS_DUT" "$DUT" 1
	else
		one=-1
	fi
	echo "## placement: $mode ($([ "$mode" = split ] &&
		echo "generator on CPU 0, DUT NAPI thread on CPU 1 with the counter" ||
		echo "generator, DUT and counter all on CPU 0"))"
	# Bounded: each run is a warm-up and SECS per program (three, one more
	# with Katran, one more with -x), the statistics pass likewise, plus
	# setup.
	progs=$((${#KATRAN[@]} ? 4 : 3))
	[[ " ${WIRE_GEN_ARGS:-} " != *" -x "* ]] || progs=$((progs + 1))
	limit=$(((RUNS * (${SECS%.*} + 2) + ${STATS_SECS%.*} + 2) * progs + 30))
	# shellcheck disable=SC2086
	ip netns exec "$NS_GEN" timeout -k 5 "$limit" "$GEN_BIN" -g "$GEN" -n "$NS_DUT" \
		-d "$DUT" -s "$SECS" -r "$RUNS" -p "$FLOWS" -c 0 -S "$STATS_SECS" $one \
		${KATRAN[@]+"${KATRAN[@]}"} ${WIRE_GEN_ARGS:-} -o "$out" &
	GEN_PID=$!
	wait "$GEN_PID"
	rc=$?
	GEN_PID=
	teardown
	return $rc
}

echo "# wire rate on veth: $(nproc) CPUs, $(uname -r)," \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
parts=()
for mode in $MODES; do
	case $mode in same | split) ;; *) fail "unknown mode $mode" ;; esac
	echo
	measure "$mode" "$TMP/$mode.json" || fail "trafficgen ($mode)"
	parts+=("\"$mode\": $(cat "$TMP/$mode.json")")
done
mkdir -p "$(dirname "$JSON")"
{
	printf '{\n'
	for i in "${!parts[@]}"; do
		printf '%s%s\n' "${parts[i]}" "$([ "$i" -lt $((${#parts[@]} - 1)) ] && echo ,)"
	done
	printf '}\n'
} >"$JSON"
echo
echo "(figures in $JSON)"
