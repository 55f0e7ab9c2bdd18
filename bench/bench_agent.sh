#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xlbd's CPU and memory with 1000 upstreams x 10 nodes (10,000 distinct
# nodes) TCP-probed every second, 1000 stream routes (VIPs 198.19.x.y:80,
# Maglev tables of 1009 slots: >= 100 slots per node, and 1000 tables of
# 65537 would be 512 MB of kernel memory).
#
# Everything happens in a namespace made here, xlbt-bench-PID: lo up with
# 198.18.0.0/16 routed to itself (a "local" route: every address answers),
# a veth pair for xlbd to attach to, a Python accept-and-close listener on
# ports 8001-8010 of every address, a bpffs under /run for the pins. The
# namespace, the mount and every process started here are removed on exit.
# Bounded: the whole run takes under 3 minutes.
#
#   bench/bench_agent.sh [SAMPLE_SECONDS]     default 30
# Environment: XLBD (default build/xlbd), UPSTREAMS (1000), NODES (10).
# Exit: 0 figures printed, 1 failure, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

XLBD=${XLBD:-build/xlbd}
UPSTREAMS=${UPSTREAMS:-1000}
NODES=${NODES:-10}
SAMPLE=${1:-30}
STARTUP_MAX=90 # seconds for the first reconcile
SETTLE=8       # seconds after start-up before sampling
HELPER=$PWD/bench/agent_load.py

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -x "$XLBD" ] || skip "$XLBD missing (make)"
for c in ip python3 curl mount umount timeout; do
	command -v "$c" >/dev/null || skip "$c not installed"
done
((SAMPLE >= 5 && SAMPLE <= 60)) || fail "SAMPLE_SECONDS in 5..60"
XLBD=$(realpath "$XLBD")

ID=$$
NS=xlbt-bench-$ID
DEV=xlbt${ID}a
PEER=xlbt${ID}b
RUN=/run/xlbt-bench-$ID
TMP=$(mktemp -d /tmp/xlbt-bench-agent.XXXXXX)
WRAP_PID=
XLBD_PID=
LSN_PID=
LSN_WRAP=

stop_pid() { # PID [SECONDS]: TERM, then KILL after SECONDS
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}

# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	stop_pid "$XLBD_PID" 10
	# Its wrappers (ip netns exec, timeout) then end by themselves.
	for ((i = 0; i < 30; i++)); do
		if [ -z "$XLBD_PID" ] || ! kill -0 "$WRAP_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	stop_pid "$WRAP_PID" 2
	stop_pid "$LSN_PID" 2
	stop_pid "$LSN_WRAP" 2
	ip netns del "$NS" 2>/dev/null
	if mountpoint -q "$RUN/bpf" 2>/dev/null; then
		umount "$RUN/bpf" 2>/dev/null || umount -l "$RUN/bpf"
	fi
	[ -d "$RUN" ] && rm -rf --one-file-system "$RUN"
	rm -rf "$TMP"
	ip netns list | grep -q "^$NS\b" && echo "bench_agent: namespace $NS left" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

in_ns() {
	ip netns exec "$NS" "$@"
}
now() {
	date +%s.%N
}
# ms_between T0 T1: milliseconds, rounded.
ms_between() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'
}
# scrape FILE: /metrics into FILE; prints the seconds it took.
scrape() {
	in_ns curl -s --max-time 20 -o "$1" -w '%{time_total}' http://127.0.0.1:9180/metrics
}
# cpu_ticks PID: utime + stime, in clock ticks.
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
status_kb() { # PID FIELD
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# --- the namespace ---------------------------------------------------------------
ip netns add "$NS" || fail "ip netns add $NS"
in_ns ip link set lo up || fail "lo up"
in_ns ip route add local 198.18.0.0/16 dev lo || fail "local route for 198.18.0.0/16"
in_ns ip link add "$DEV" type veth peer name "$PEER" || fail "veth pair"
in_ns ip link set "$DEV" up || fail "$DEV up"
in_ns ip link set "$PEER" up || fail "$PEER up"
in_ns ip addr add 198.18.200.1/24 dev "$DEV" || fail "address on $DEV"
in_ns sysctl -q -w net.ipv4.ip_local_port_range="10000 65000" net.ipv4.tcp_tw_reuse=1 ||
	fail "sysctl"
mkdir -p "$RUN/bpf" || fail "mkdir $RUN/bpf"
mount -t bpf xlbt-bpffs "$RUN/bpf" || fail "bpffs at $RUN/bpf"
mkdir "$RUN/bpf/lb" || fail "mkdir $RUN/bpf/lb"

# --- nodes: 10 ports on every address of 198.18.0.0/16 ------------------------------
in_ns python3 "$HELPER" listen --ports 8001 --count "$NODES" --max-seconds 175 \
	--ready "$TMP/listen.ready" >"$TMP/listen.log" 2>&1 &
LSN_PID=$!
for ((i = 0; i < 50; i++)); do
	[ -s "$TMP/listen.ready" ] && break
	sleep 0.1
done
[ -s "$TMP/listen.ready" ] || fail "listener: $(cat "$TMP/listen.log")"
LSN_WRAP=$LSN_PID
LSN_PID=$(cat "$TMP/listen.ready") # python itself (ip netns exec forks)
in_ns python3 -c 'import socket; socket.create_connection(("198.18.4.250", 8001), 1).close()' ||
	fail "a node address does not answer"

python3 "$HELPER" conf "$TMP/xlb.yaml" --dev "$DEV" --upstreams "$UPSTREAMS" --nodes "$NODES" \
	--ports 8001 --table-size 1009 || fail "configuration"
conf_kb=$(($(stat -c %s "$TMP/xlb.yaml") / 1024))

# --- xlbd ----------------------------------------------------------------------------
t_start=$(now)
in_ns timeout -k 5 170 env XLB_PIN_DIR="$RUN/bpf/lb" "$XLBD" -c "$TMP/xlb.yaml" \
	>"$TMP/xlbd.log" 2>&1 &
WRAP_PID=$!
# ip netns exec -> timeout -> xlbd: find xlbd among the descendants.
for ((i = 0; i < 100; i++)); do
	[ -n "$XLBD_PID" ] && break
	for p in $(pgrep -P "$WRAP_PID"); do
		XLBD_PID=$(pgrep -P "$p" -x xlbd)
		[ -n "$XLBD_PID" ] && break
	done
	[ -n "$XLBD_PID" ] || sleep 0.02
done
[ -n "$XLBD_PID" ] || fail "xlbd did not start: $(tail -3 "$TMP/xlbd.log")"

# Start-up ends with the first full reconcile ("xlbd running" follows it).
t_up=
for ((i = 0; i < STARTUP_MAX * 20; i++)); do
	if grep -q "xlbd running" "$TMP/xlbd.log"; then
		t_up=$(now)
		break
	fi
	kill -0 "$XLBD_PID" 2>/dev/null || fail "xlbd exited: $(tail -5 "$TMP/xlbd.log")"
	sleep 0.05
done
[ -n "$t_up" ] || fail "xlbd not up within ${STARTUP_MAX}s: $(tail -3 "$TMP/xlbd.log")"
startup_ms=$(ms_between "$t_start" "$t_up")
startup_cpu_ms=$(($(cpu_ticks "$XLBD_PID") * 1000 / $(getconf CLK_TCK)))
first_maps=$(grep -m1 "maps: " "$TMP/xlbd.log" | sed 's/^.*maps: //')
up_kb=$(status_kb "$XLBD_PID" VmRSS)

sleep "$SETTLE"

# --- sample ----------------------------------------------------------------------------
scrape "$TMP/m1" >/dev/null || fail "metrics"
t1=$(now)
c1=$(cpu_ticks "$XLBD_PID")
l1=$(cpu_ticks "$LSN_PID")
sleep "$SAMPLE"
c2=$(cpu_ticks "$XLBD_PID")
l2=$(cpu_ticks "$LSN_PID")
t2=$(now)
scrape2_s=$(scrape "$TMP/m2") || fail "metrics"
t3=$(now)
rss_kb=$(status_kb "$XLBD_PID" VmRSS)
hwm_kb=$(status_kb "$XLBD_PID" VmHWM)
fds=$(find "/proc/$XLBD_PID/fd" -mindepth 1 2>/dev/null | wc -l)
hz=$(getconf CLK_TCK)

eval "$(python3 "$HELPER" metrics "$TMP/m1" | sed 's/^M_/A_/')"
eval "$(python3 "$HELPER" metrics "$TMP/m2" | sed 's/^M_/B_/')"
metrics_kb=$(($(stat -c %s "$TMP/m2") / 1024))
# Probes between the scrapes' ends: t1 (after scrape 1) .. t3 (after scrape 2).
probe_rate=$(awk -v a="$A_PROBES" -v b="$B_PROBES" -v t1="$t1" -v t3="$t3" \
	'BEGIN { printf "%.0f", (b - a) / (t3 - t1) }')
cpu_pct=$(awk -v c1="$c1" -v c2="$c2" -v hz="$hz" -v t1="$t1" -v t2="$t2" \
	'BEGIN { printf "%.1f", 100 * (c2 - c1) / hz / (t2 - t1) }')
lsn_pct=$(awk -v c1="$l1" -v c2="$l2" -v hz="$hz" -v t1="$t1" -v t2="$t2" \
	'BEGIN { printf "%.1f", 100 * (c2 - c1) / hz / (t2 - t1) }')
probe_cpu_us=$(awk -v c1="$c1" -v c2="$c2" -v hz="$hz" -v t1="$t1" -v t2="$t2" -v r="$probe_rate" \
	'BEGIN { if (r > 0) printf "%.1f", 1e6 * (c2 - c1) / hz / (t2 - t1) / r; else print "NA" }')
changes=$(grep -c "health: node=" "$TMP/xlbd.log")

# --- one node goes down: the flip and the reconcile it causes, at this scale ---------
down_node=198.18.1.1:8001
down_flip=NA
down_update=NA
down_seen=NA
if command -v nft >/dev/null &&
	in_ns nft -f - <<<"table ip xlbt { chain in { type filter hook input priority 0;
		ip daddr 198.18.1.1 tcp dport 8001 reject with tcp reset; }; }"; then
	t_down=$(now)
	for ((i = 0; i < 100; i++)); do
		sleep 0.2
		scrape "$TMP/m3" >/dev/null || continue
		eval "$(python3 "$HELPER" metrics "$TMP/m3" | sed 's/^M_/C_/')"
		((C_UPDATES > B_UPDATES)) && break
	done
	if ((C_UPDATES > B_UPDATES)); then
		down_seen=$(ms_between "$t_down" "$(now)")
		down_flip=$(awk -v s="$C_FLIP_LAST" 'BEGIN { printf "%.1f", s * 1e6 }')
		down_update=$C_UPDATE_LAST
	fi
fi
xlbd_alive=yes
kill -0 "$XLBD_PID" 2>/dev/null || xlbd_alive=no
stop_pid "$LSN_PID" 2
wait "$LSN_WRAP" 2>/dev/null
LSN_PID=
LSN_WRAP=

echo "xlbd with $UPSTREAMS upstreams x $NODES nodes ($B_NODES distinct nodes), TCP checks every" \
	"1 s (healthy and unhealthy), $UPSTREAMS stream routes, Maglev table_size 1009;" \
	"configuration ${conf_kb} KB of YAML. $(nproc) CPUs, $(uname -r)."
echo
echo "| figure | value |"
echo "|---|---|"
echo "| start-up: exec -> first full reconcile done (\"xlbd running\") | $startup_ms ms |"
echo "| CPU used during start-up (utime + stime) | $startup_cpu_ms ms |"
echo "| first reconcile wrote | $first_maps |"
echo "| xlb_map_update_seconds after start-up, last / max | $B_UPDATE_LAST / $B_UPDATE_MAX s |"
echo "| reconciles (xlb_map_updates_total) after start-up | $B_UPDATES |"
echo "| CPU over ${SAMPLE} s (utime + stime, % of one core) | $cpu_pct % |"
echo "| probes per second (xlb_node_probes_total, two scrapes) | $probe_rate |"
echo "| CPU per probe | $probe_cpu_us us |"
echo "| VmRSS after start-up / at the end | $((up_kb / 1024)) MB / $((rss_kb / 1024)) MB |"
echo "| VmHWM | $((hwm_kb / 1024)) MB |"
echo "| open file descriptors | $fds |"
echo "| nodes not healthy at the end | $B_NOT_HEALTHY of $B_NODES |"
echo "| health changes logged / fast-path flips | $changes / $B_FLIPS |"
echo "| /metrics scrape: time, size | ${scrape2_s} s, ${metrics_kb} KB |"
echo "| node $down_node refused (nft reset), after sampling: decision -> state write (xlb_health_flip_seconds) | $down_flip us |"
echo "| ... then its reconcile (xlb_map_update_seconds last) | $down_update s |"
echo "| ... refused -> reconcile seen in /metrics (2 failures at 1 s, + polling) | $down_seen ms |"
echo "| xlbd still running at the end | $xlbd_alive |"
echo "(the nodes' listener, one Python process: $lsn_pct % of a core over the sample;" \
	"$(tail -1 "$TMP/listen.log" 2>/dev/null))"
if ((changes > 0)); then
	echo "Health changes by event and reason (most frequent first):"
	grep "health: node=" "$TMP/xlbd.log" |
		sed 's/.*state=\([a-z_]*->[a-z_]*\) event=\([a-z_]*\) reason="\([^"]*\)".*/\1 \2 \3/' |
		sort | uniq -c | sort -rn | head -6
fi
[ "$xlbd_alive" = yes ] || exit 1
exit 0
