#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# /metrics of a live xlbd at scale: UPSTREAMS (10000) upstreams of NODES
# (10) static nodes each, 100,000 distinct nodes, one stream route (VIP
# 198.19.x.y:80) per upstream, no health checks, Maglev tables of 131
# slots. Prints xlbd's start-up time, then for each mode (per node, then
# per upstream after a reload with metrics.per_node false) the scrape's
# size, bytes and series per node, seconds per scrape (median of 5, curl's
# total time) and promtool's verdict. Targets: <= 150 bytes a node and
# <= 0.3 s a scrape per node at 100,000 nodes.
#
# Everything happens in a namespace made here, xlbt-metrics-PID, with a
# veth pair for xlbd to attach to and a bpffs under /run for the pins; the
# namespace, the mount and xlbd are removed on exit. The node addresses
# (10.x.y.z) need not answer: nothing probes them.
#
#   bench/metrics.sh
# Environment: XLBD (default build/xlbd), UPSTREAMS (10000), NODES (10).
# Exit: 0 figures printed and the targets met, 1 failure or a target
# missed, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

XLBD=${XLBD:-build/xlbd}
UPSTREAMS=${UPSTREAMS:-10000}
NODES=${NODES:-10}
STARTUP_MAX=300 # seconds for the first reconcile
SCRAPES=5
MAX_BYTES=150
MAX_SECONDS=0.3

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
if [ "$(id -u)" -ne 0 ] || [ ! -x "$XLBD" ]; then
	echo "SKIP: needs root and $XLBD (make)"
	exit 77
fi
for c in ip curl mount umount timeout awk promtool; do
	command -v "$c" >/dev/null || fail "$c not installed (scripts/install-deps.sh)"
done
((UPSTREAMS >= 1 && UPSTREAMS <= 16000 && NODES >= 1 && UPSTREAMS * NODES <= 131072)) ||
	fail "UPSTREAMS 1..16000, NODES >= 1, UPSTREAMS x NODES <= 131072"
XLBD=$(realpath "$XLBD")
# Start-up holds files per VIP while it reconciles.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || fail "ulimit -n"

NS=xlbt-metrics-$$
DEV=xlbm$$a
RUN=/run/xlbt-metrics-$$
TMP=$(mktemp -d /tmp/xlbt-metrics.XXXXXX)
WRAP_PID=

# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	if [ -n "$WRAP_PID" ]; then
		# ip netns exec becomes timeout, which passes TERM on to xlbd.
		kill -TERM "$WRAP_PID" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$WRAP_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$WRAP_PID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	if mountpoint -q "$RUN/bpf" 2>/dev/null; then
		umount "$RUN/bpf" 2>/dev/null || umount -l "$RUN/bpf"
	fi
	[ -d "$RUN" ] && rm -rf --one-file-system "$RUN"
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

in_ns() {
	ip netns exec "$NS" "$@"
}

ip netns add "$NS" || fail "ip netns add $NS"
in_ns ip link set lo up || fail "lo up"
in_ns ip link add "$DEV" type veth peer name "${DEV%a}b" || fail "veth pair"
in_ns ip link set "$DEV" up && in_ns ip link set "${DEV%a}b" up || fail "veth up"
in_ns ip addr add 198.18.200.1/24 dev "$DEV" || fail "address on $DEV"
mkdir -p "$RUN/bpf" && mount -t bpf xlbt-bpffs "$RUN/bpf" && mkdir "$RUN/bpf/lb" ||
	fail "bpffs at $RUN/bpf"

# The configuration: node i of upstream u is 10.A.B.C:8080 with A.B.C = i.
awk -v ups="$UPSTREAMS" -v nodes="$NODES" -v dev="$DEV" 'BEGIN {
	print "xlb:"
	print "  interfaces: [" dev "]"
	print "  encap_src: 198.18.128.0/24"
	print "  table_size: 131"
	print "  flows: 65536"
	print "  admin: {listen: \"127.0.0.1:9180\", api_key: xlbt-bench-metrics}"
	print "  metrics: {per_node: true}"
	print "  log_level: info"
	print "upstreams:"
	for (u = 0; u < ups; u++) {
		print "  - id: u" u
		print "    nodes:"
		for (j = 0; j < nodes; j++) {
			i = u * nodes + j + 1
			printf "      \"10.%d.%d.%d:8080\": 1\n", int(i / 65536), int(i / 256) % 256, i % 256
		}
	}
	print "stream_routes:"
	for (u = 0; u < ups; u++)
		printf "  - {id: %d, server_addr: 198.19.%d.%d, server_port: 80, upstream_id: u%d}\n",
			u + 1, int(u / 250), 1 + u % 250, u
}' >"$TMP/xlb.yaml" || fail "configuration"

t0=$(date +%s.%N)
# Not through in_ns: $! must be ip itself, which becomes timeout.
ip netns exec "$NS" timeout -k 5 900 env XLB_PIN_DIR="$RUN/bpf/lb" "$XLBD" -c "$TMP/xlb.yaml" \
	>"$TMP/xlbd.log" 2>&1 &
WRAP_PID=$!
up=
for ((i = 0; i < STARTUP_MAX * 10; i++)); do
	grep -q "xlbd running" "$TMP/xlbd.log" && up=$(date +%s.%N) && break
	kill -0 "$WRAP_PID" 2>/dev/null || fail "xlbd exited: $(tail -5 "$TMP/xlbd.log")"
	sleep 0.1
done
[ -n "$up" ] || fail "xlbd not up within ${STARTUP_MAX}s: $(tail -3 "$TMP/xlbd.log")"
nodes=$((UPSTREAMS * NODES))
echo "xlbd: $UPSTREAMS upstreams x $NODES nodes ($nodes nodes), up in" \
	"$(awk -v a="$t0" -v b="$up" 'BEGIN { printf "%.1f", b - a }') s;" \
	"log: $(wc -l <"$TMP/xlbd.log") lines, $(wc -c <"$TMP/xlbd.log") bytes"
grep -- '\.\.\. and [0-9]* more like this' "$TMP/xlbd.log" | head -5 | sed 's/^/  folded: /'

# measure MODE: SCRAPES scrapes; a row of figures; 1 when a target is missed.
measure() {
	local s times=() bytes series median out
	for ((s = 0; s < SCRAPES; s++)); do
		times+=("$(in_ns curl -s --max-time 60 -o "$TMP/m" -w '%{time_total}' \
			http://127.0.0.1:9180/metrics)") || fail "scrape ($1)"
	done
	bytes=$(stat -c %s "$TMP/m")
	series=$(grep -vc '^#' "$TMP/m")
	median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$((SCRAPES / 2 + 1))p")
	out=$(promtool check metrics <"$TMP/m" 2>&1) && out=pass || out="FAIL: $(head -3 <<<"$out")"
	printf '| %s | %d | %.1f | %.2f | %.3f | %s |\n' "$1" "$bytes" \
		"$(awk -v b="$bytes" -v n="$nodes" 'BEGIN { print b / n }')" \
		"$(awk -v b="$series" -v n="$nodes" 'BEGIN { print b / n }')" "$median" "$out"
	[ "$out" = pass ] && awk -v b="$bytes" -v n="$nodes" -v t="$median" -v mb="$MAX_BYTES" \
		-v mt="$MAX_SECONDS" 'BEGIN { exit !(b / n <= mb && t <= mt) }'
}

echo
echo "| mode | bytes | bytes/node | series/node | s/scrape (median of $SCRAPES) | promtool |"
echo "|---|---|---|---|---|---|"
missed=0
measure per_node || missed=1
sed -i 's/per_node: true/per_node: false/' "$TMP/xlb.yaml"
in_ns curl -s --max-time 120 -X POST -H "X-API-KEY: xlbt-bench-metrics" \
	http://127.0.0.1:9180/v1/reload | grep -q reloaded || fail "reload with per_node false"
measure per_upstream || missed=1
echo
echo "target: <= $MAX_BYTES bytes a node and <= $MAX_SECONDS s a scrape (per node):" \
	"$([ "$missed" = 0 ] && echo met || echo NOT met)"
# Figures, not a test: a missed target is printed, not an exit status.
exit 0
