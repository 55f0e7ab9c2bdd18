#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xlb at production scale: VIPS stream routes (default 10,000), each with
# its own upstream of NODES static nodes (default 10: 100,000 backends),
# from one generated configuration file, health checks off, forward: ipip.
#
#   bench/scale.sh
# Environment: XLBD (default build/xlbd), VIPS (10000), NODES (10),
# TABLE_SIZE (Maglev slots per VIP; default unset: xlbd sizes each table
# from its node count),
# NOFILE (xlbd's open-files limit, default 1024, a shell's usual ulimit -n),
# PERF_OUT (a file: perf record of xlbd during the reloads, to see where
# their time goes).
# Exit: 0 figures printed, 1 failure, 77 skip. Prints figures; asserts no
# timing.
#
# Everything happens in two namespaces made here: xlbt-scale-PID, where
# xlbd attaches to one end of a veth pair, and xlbt-scale-PID-gw with the
# other end, the gateway every node is routed through (so all 100,000
# backends share one next hop and one neighbour entry); a bpffs under /run
# for the pins. Node j of upstream i
# is 10.<i / 250>.<i % 250>.<1 + j> port 8000; VIP i is
# 198.19.<i / 250>.<1 + i % 250>:80. The namespace, the mount and xlbd
# are removed on exit.
#
# Figures:
#   start -> serving   exec of xlbd -> "xlbd running" (logged after the
#                      first full reconcile: every VIP in the maps), then
#                      the VIP count in the pinned xlb_vips checked
#   reload             the file with one node of the first upstream
#                      changed, back, one node of the last upstream, and
#                      one stream route with its upstream added (a change
#                      of the item count: the whole file is parsed);
#                      SIGHUP -> "reload: done" (the log's millisecond
#                      stamps), and the reconcile's own time and what it
#                      wrote (its "maps:" line)
#   memory             xlbd's VmRSS and VmHWM; every BPF map created since
#                      xlbd started (bpftool map show: bytes_memlock),
#                      grouped per VIP, per backend, flows, NAT, other
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

VIPS=${VIPS:-10000}
NODES=${NODES:-10}
TABLE_SIZE=${TABLE_SIZE:-}
NOFILE=${NOFILE:-1024}
STARTUP_MAX=120 # seconds

# shellcheck source=tests/lib/testbed.sh
. tests/lib/testbed.sh # xlbt_fail, xlbt_skip, cleanups and processes stopped at exit

fail() { # WHAT [ACTUAL]: xlbt_fail, keeping xlbd's log
	[ -s "${TMP:-}/xlbd.log" ] && cp "$TMP/xlbd.log" /tmp/xlbt-scale-failed.log &&
		echo "xlbd's log: /tmp/xlbt-scale-failed.log" >&2
	xlbt_fail "$@"
}
xlbt_require_root
xlbt_require_exe XLBD build/xlbd
xlbt_require_cmd ip python3 bpftool mount umount timeout
((VIPS >= 1 && VIPS <= 16000)) || fail "VIPS in 1..16000"
((NODES >= 1 && NODES <= 250)) || fail "NODES in 1..250"

ID=$$
NS=xlbt-scale-$ID
GW=xlbt-scale-$ID-gw
DEV=xlbs${ID}a
PEER=xlbs${ID}b
RUN=/run/xlbt-scale-$ID
PIN=$RUN/bpf/lb
TMP=$(mktemp -d /tmp/xlbt-scale.XXXXXX)
XLBD_PID=
xlbt_cleanup_add rm -rf "$TMP"

in_ns() {
	ip netns exec "$NS" "$@"
}
now() {
	date +%s.%N
}
# ms_of_stamp LINE: the log line's ISO stamp (ms) as milliseconds of the day.
ms_of_stamp() {
	sed -E 's/^[0-9-]+T([0-9]+):([0-9]+):([0-9]+)\.([0-9]+)Z.*/\1 \2 \3 \4/' <<<"$1" |
		awk '{ printf "%d", (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'
}
status_kb() { # PID FIELD
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
# map_ids: ids of every BPF map, one a line.
map_ids() {
	bpftool map show -j | python3 -c 'import json, sys
for m in json.load(sys.stdin): print(m["id"])'
}

# gen_conf OUT [CHANGED]: the configuration; CHANGED=1 moves upstream 0's
# first node to another port (one node of one VIP differs), 2 the last
# upstream's, 3 adds one upstream and its stream route.
gen_conf() {
	python3 - "$1" "$DEV" "$VIPS" "$NODES" "${TABLE_SIZE:-0}" "${2:-0}" <<'EOF'
import sys
out, dev, vips, nodes, size, changed = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
w = []
w.append("xlb:")
w.append("  interfaces: [%s]" % dev)
w.append("  forward: ipip")
w.append("  encap_src: 198.18.200.1")
if size:
    w.append("  table_size: %d" % size)
w.append("  flows: 65536")
w.append("  log_level: info")
w.append("upstreams:")
total = vips + (changed == 3)
for i in range(total):
    w.append("  - id: u%d" % i)
    w.append("    type: roundrobin")
    w.append("    nodes:")
    for j in range(nodes):
        moved = i == {1: 0, 2: vips - 1}.get(changed, -1) and j == 0
        port = 9000 if moved else 8000
        w.append("      \"10.%d.%d.%d:%d\": 1" % (i // 250, i % 250, 1 + j, port))
w.append("stream_routes:")
for i in range(total):
    w.append("  - {id: %d, server_addr: 198.19.%d.%d, server_port: 80, upstream_id: u%d}"
             % (i + 1, i // 250, 1 + i % 250, i))
with open(out, "w") as f:
    f.write("\n".join(w) + "\n")
EOF
}

# --- the namespace ---------------------------------------------------------------
xlbt_cleanup_add ip netns del "$NS"
ip netns add "$NS" || fail "ip netns add $NS"
xlbt_cleanup_add ip netns del "$GW"
ip netns add "$GW" || fail "ip netns add $GW"
in_ns ip link set lo up || fail "lo up"
in_ns ip link add "$DEV" type veth peer name "$PEER" netns "$GW" || fail "veth pair"
in_ns ip link set "$DEV" up || fail "$DEV up"
ip -n "$GW" link set "$PEER" up || fail "$PEER up"
in_ns ip addr add 198.18.200.1/24 dev "$DEV" || fail "address on $DEV"
ip -n "$GW" addr add 198.18.200.2/24 dev "$PEER" || fail "address on $PEER"
in_ns ip route add 10.0.0.0/8 via 198.18.200.2 dev "$DEV" || fail "route to the nodes"
xlbt_cleanup_add rm -rf --one-file-system "$RUN"
mkdir -p "$RUN/bpf" || fail "mkdir $RUN/bpf"
mount -t bpf xlbt-bpffs "$RUN/bpf" || fail "bpffs at $RUN/bpf"
xlbt_cleanup_add umount -l "$RUN/bpf"
mkdir "$PIN" || fail "mkdir $PIN"

gen_conf "$TMP/xlb.yaml" || fail "configuration"
gen_conf "$TMP/xlb.changed.yaml" 1 || fail "configuration (one node changed)"
gen_conf "$TMP/xlb.last.yaml" 2 || fail "configuration (a node of the last upstream changed)"
gen_conf "$TMP/xlb.added.yaml" 3 || fail "configuration (one route added)"
conf_kb=$(($(stat -c %s "$TMP/xlb.yaml") / 1024))
map_ids | sort -n >"$TMP/maps.before" || fail "bpftool map show"

# --- start -> serving ------------------------------------------------------------
t_start=$(now)
# shellcheck disable=SC2016 # expanded by the inner shell
in_ns timeout -k 5 600 bash -c 'ulimit -n "$1" && exec env XLB_PIN_DIR="$2" "$3" -c "$4"' \
	scale "$NOFILE" "$PIN" "$XLBD" "$TMP/xlb.yaml" >"$TMP/xlbd.log" 2>&1 &
_XLBT_PIDS+=("$!") # stopped at exit, after xlbd (below)
for ((i = 0; i < 200; i++)); do
	[ -n "$XLBD_PID" ] && break
	XLBD_PID=$(pgrep -f -x "$XLBD -c $TMP/xlb.yaml" | head -1)
	[ -n "$XLBD_PID" ] || sleep 0.02
done
[ -n "$XLBD_PID" ] || fail "xlbd did not start: $(tail -3 "$TMP/xlbd.log")"
# shellcheck disable=SC2317 # a cleanup
stop_xlbd() { # not a child of this shell: xlbt_bg_stop's wait has nothing to say
	xlbt_bg_stop "$XLBD_PID" 20 || true
}
xlbt_cleanup_add stop_xlbd
# Serving, or gone: either ends the wait.
# shellcheck disable=SC2317 # called by xlbt_wait_for
up_or_gone() {
	grep -q "xlbd running" "$TMP/xlbd.log" || ! kill -0 "$XLBD_PID"
}
xlbt_wait_for "$STARTUP_MAX" up_or_gone
t_up=$(now)
kill -0 "$XLBD_PID" 2>/dev/null || fail "xlbd exited: $(tail -5 "$TMP/xlbd.log")"
grep -q "xlbd running" "$TMP/xlbd.log" ||
	fail "xlbd not serving within ${STARTUP_MAX}s: $(tail -3 "$TMP/xlbd.log")"
start_s=$(awk -v a="$t_start" -v b="$t_up" 'BEGIN { printf "%.2f", b - a }')
nofile=$(awk '/^Max open files/ { print $4 }' "/proc/$XLBD_PID/limits")
fds_up=$(find "/proc/$XLBD_PID/fd" -mindepth 1 2>/dev/null | wc -l)
up_kb=$(status_kb "$XLBD_PID" VmRSS)
first_maps=$(grep -m1 "maps: " "$TMP/xlbd.log" | sed 's/^.*maps: //')
vips_in=$(bpftool map dump pinned "$PIN/xlb_vips" -j | python3 -c 'import json, sys
print(len(json.load(sys.stdin)))') || fail "reading $PIN/xlb_vips"
[ "$vips_in" -eq "$VIPS" ] || fail "VIPs in the maps after start-up" "$vips_in"

# --- a reload that changes one node ----------------------------------------------
# FILE: copy it in place, SIGHUP, wait for the answer; sets r_ms, r_line,
# r_how (what was parsed).
reload() {
	local before
	before=$(grep -cE "reload: done|configuration stays" "$TMP/xlbd.log")
	cp "$1" "$TMP/xlb.yaml" || fail "copy $1"
	kill -HUP "$XLBD_PID" || fail "SIGHUP"
	for ((i = 0; i < 12000; i++)); do
		(($(grep -cE "reload: done|configuration stays" "$TMP/xlbd.log") > before)) && break
		sleep 0.01
	done
	grep "reload: " "$TMP/xlbd.log" | tail -1 | grep -q "reload: done" ||
		fail "reload: $(grep "reload: " "$TMP/xlbd.log" | tail -1)"
	r_ms=$(($(ms_of_stamp "$(grep "reload: done" "$TMP/xlbd.log" | tail -1)") - \
	$(ms_of_stamp "$(grep "reload: reading" "$TMP/xlbd.log" | tail -1)")))
	r_line=$(grep "maps: " "$TMP/xlbd.log" | tail -1 | sed 's/^.*maps: //')
	r_how="the whole file parsed"
	grep "reload: " "$TMP/xlbd.log" | tail -2 | head -1 | grep -q "parsed again" &&
		r_how="$(grep "reload: " "$TMP/xlbd.log" | tail -2 | head -1 |
			sed 's/^.*reload: \(.*\) parsed again.*$/\1 parsed again/')"
}
cp "$TMP/xlb.yaml" "$TMP/xlb.orig.yaml"
PERF_PID=
if [ -n "${PERF_OUT:-}" ]; then
	perf record -q -p "$XLBD_PID" -o "$PERF_OUT" >/dev/null 2>&1 &
	PERF_PID=$!
	sleep 0.5
fi
reload "$TMP/xlb.changed.yaml"
reload1_ms=$r_ms
reload1_maps=$r_line
reload1_how=$r_how
reload "$TMP/xlb.orig.yaml"
reload2_ms=$r_ms
reload2_maps=$r_line
reload2_how=$r_how
reload "$TMP/xlb.last.yaml"
reload3_ms=$r_ms
reload3_maps=$r_line
reload3_how=$r_how
reload "$TMP/xlb.added.yaml"
reload4_ms=$r_ms
reload4_maps=$r_line
reload4_how=$r_how
# --- the same through the Admin API ---------------------------------------------
# admin_put ID BODY: PUT one upstream; sets a_ms (curl's time to the answer), a_code.
KEY_FILE=$(grep -m1 "the key is in" "$TMP/xlbd.log" | sed 's/^.*the key is in \(.*\) (xlb reads it there).*$/\1/')
# admin_call METHOD KIND/ID [BODY]: the same for any call.
admin_put() {
	admin_call PUT "upstreams/$1" "$2"
}
admin_call() {
	local out
	out=$(in_ns curl -s -o "$TMP/admin.out" -w '%{http_code} %{time_total}' -X "$1" \
		-H "X-API-KEY: $(cat "$KEY_FILE")" ${3:+-d "$3"} "http://127.0.0.1:9180/apisix/admin/$2") ||
		fail "Admin API $1 $2" "$out"
	a_code=${out%% *}
	a_ms=$(awk -v t="${out#* }" 'BEGIN { printf "%.0f", t * 1000 }')
}
nodes_json() { # I PORT0: upstream I's nodes, the first on PORT0
	local i=$1 j sep=
	printf '{"type":"roundrobin","nodes":{'
	for ((j = 0; j < NODES; j++)); do
		printf '%s"10.%d.%d.%d:%d":1' "$sep" $((i / 250)) $((i % 250)) $((1 + j)) \
			"$([ "$j" = 0 ] && echo "$2" || echo 8000)"
		sep=,
	done
	printf '}}'
}
admin_put u1 "$(nodes_json 1 9001)"
[ "$a_code" = 200 ] || fail "Admin API PUT u1" "$a_code $(cat "$TMP/admin.out")"
admin1_ms=$a_ms
admin1_maps=$(grep "maps: " "$TMP/xlbd.log" | tail -1 | sed 's/^.*maps: //')
admin_put u1 "$(nodes_json 1 8000)"
[ "$a_code" = 200 ] || fail "Admin API PUT u1 back" "$a_code $(cat "$TMP/admin.out")"
admin2_ms=$a_ms
# A VIP added (its upstream, then its stream route) and removed.
admin_call PUT upstreams/extra "$(nodes_json $((VIPS + 1)) 8000)"
[ "$a_code" = 201 ] || fail "Admin API PUT a new upstream" "$a_code $(cat "$TMP/admin.out")"
admin3_ms=$a_ms
admin_call PUT stream_routes/extra '{"server_addr": "198.19.250.1", "server_port": 80, "upstream_id": "extra"}'
[ "$a_code" = 201 ] || fail "Admin API PUT a new stream route" "$a_code $(cat "$TMP/admin.out")"
admin4_ms=$a_ms
admin4_maps=$(grep "maps: " "$TMP/xlbd.log" | tail -1 | sed 's/^.*maps: //')
admin_call DELETE stream_routes/extra
[ "$a_code" = 200 ] || fail "Admin API DELETE the stream route" "$a_code $(cat "$TMP/admin.out")"
admin5_ms=$a_ms
admin_call DELETE upstreams/extra
[ "$a_code" = 200 ] || fail "Admin API DELETE the upstream" "$a_code $(cat "$TMP/admin.out")"
admin6_ms=$a_ms
if [ -n "$PERF_PID" ]; then
	kill -INT "$PERF_PID"
	wait "$PERF_PID"
fi
rss_kb=$(status_kb "$XLBD_PID" VmRSS)
hwm_kb=$(status_kb "$XLBD_PID" VmHWM)

# --- map memory ------------------------------------------------------------------
# Every map made since xlbd started, by what it is sized for; names only
# (the storage of tables may change: any map with vip, table or maglev in
# its name counts per VIP).
bpftool map show -j >"$TMP/maps.after.json" || fail "bpftool map show"
python3 - "$TMP/maps.before" "$TMP/maps.after.json" "$VIPS" "$((VIPS * NODES))" \
	>"$TMP/mem.txt" <<'EOF' || fail "map memory"
import json, sys
before = set(int(x) for x in open(sys.argv[1]).read().split())
maps = [m for m in json.load(open(sys.argv[2])) if m["id"] not in before]
vips, backends = int(sys.argv[3]), int(sys.argv[4])
def group(name):
    if "flow" in name or name.startswith("xlb_fc"):
        return "flows"
    if "nat" in name:
        return "nat"
    if any(s in name for s in ("vip", "table", "maglev", "slot")):
        return "vip"
    if any(s in name for s in ("backend", "member", "nexthop", "event_rate")):
        return "backend"
    return "other"
sums, count = {}, {}
for m in maps:
    g = group(m.get("name", ""))
    sums[g] = sums.get(g, 0) + m.get("bytes_memlock", 0)
    count[g] = count.get(g, 0) + 1
mb = lambda b: "%.1f" % (b / 1048576)
total = sum(v for k, v in sums.items() if k != "flows")
print("MEM_TOTAL_MB=%s" % mb(total))
print("MEM_MAPS=%d" % len(maps))
for g in ("vip", "backend", "flows", "nat", "other"):
    print("MEM_%s_MB=%s" % (g.upper(), mb(sums.get(g, 0))))
    print("MEM_%s_N=%d" % (g.upper(), count.get(g, 0)))
print("MEM_PER_VIP=%d" % (sums.get("vip", 0) / vips))
print("MEM_PER_BACKEND=%d" % (sums.get("backend", 0) / backends))
EOF
eval "$(cat "$TMP/mem.txt")"

xlbd_alive=yes
kill -0 "$XLBD_PID" 2>/dev/null || xlbd_alive=no

echo "xlbd with $VIPS stream routes x $NODES static nodes ($((VIPS * NODES)) backends)," \
	"health checks off, forward ipip, Maglev table_size ${TABLE_SIZE:-from the node count}, open-files limit" \
	"$nofile; configuration ${conf_kb} KB of YAML. $(nproc) CPUs, $(uname -r)."
echo
echo "| figure | value |"
echo "|---|---|"
echo "| start -> serving (exec -> \"xlbd running\", $vips_in VIPs in the maps) | $start_s s |"
echo "| first reconcile wrote | $first_maps |"
echo "| open file descriptors when serving (limit $nofile) | $fds_up |"
echo "| reload changing one node of the first upstream: SIGHUP -> \"reload: done\" | $reload1_ms ms |"
echo "| ... what it parsed; its reconcile | $reload1_how; $reload1_maps |"
echo "| reload changing it back | $reload2_ms ms |"
echo "| ... what it parsed; its reconcile | $reload2_how; $reload2_maps |"
echo "| reload changing one node of the last upstream | $reload3_ms ms |"
echo "| ... what it parsed; its reconcile | $reload3_how; $reload3_maps |"
echo "| reload adding one stream route and its upstream | $reload4_ms ms |"
echo "| ... what it parsed; its reconcile | $reload4_how; $reload4_maps |"
echo "| Admin API PUT of one upstream, one node moved: request -> answer | $admin1_ms ms |"
echo "| ... its reconcile | $admin1_maps |"
echo "| ... and back | $admin2_ms ms |"
echo "| Admin API: a new upstream / its new stream route | $admin3_ms ms / $admin4_ms ms |"
echo "| ... the route's reconcile | $admin4_maps |"
echo "| Admin API: DELETE that route / that upstream | $admin5_ms ms / $admin6_ms ms |"
echo "| VmRSS when serving / at the end | $((up_kb / 1024)) MB / $((rss_kb / 1024)) MB |"
echo "| VmHWM | $((hwm_kb / 1024)) MB |"
echo "| map memory, flow maps excluded ($MEM_MAPS maps) | $MEM_TOTAL_MB MB |"
echo "| ... per VIP: $MEM_VIP_N maps, $MEM_VIP_MB MB | $MEM_PER_VIP bytes per VIP |"
echo "| ... per backend: $MEM_BACKEND_N maps, $MEM_BACKEND_MB MB | $MEM_PER_BACKEND bytes per backend |"
echo "| ... NAT ($MEM_NAT_N maps) / other ($MEM_OTHER_N maps) | $MEM_NAT_MB MB / $MEM_OTHER_MB MB |"
echo "| flow cache and least_conn table ($MEM_FLOWS_N maps, --flows 65536) | $MEM_FLOWS_MB MB |"
echo "| xlbd still running at the end | $xlbd_alive |"
# xlb -batch: the same VIPs and backends through the CLI go here.
[ "$xlbd_alive" = yes ] || exit 1
exit 0
