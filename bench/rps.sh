#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Requests per second through the load balancer, and the load balancer's CPU
# per request (targets in bench/README.md), on the reference topology (scripts/topology.sh:
# a client, the LB and three backends on one bridge). The same three nginx
# backends, the same wrk load from the client to http://VIP/ (VIP
# 198.18.100.1, routed by the client via the LB), three configurations:
#
#   plain    the LB namespace as a plain IPv4 router: an ECMP route for the
#            VIP over the three backends (L4 hash, fib_multipath_hash_policy
#            1), ICMP redirects off. Backends answer from the VIP on their lo
#            straight to the client: the path of xlb, without xlb.
#   xlb      xlb attached natively on the LB's device (as scripts/demo.sh
#            does with the CLI: VIP, 3 backends, --encap-src), xlb_decap on
#            the backends, direct server return.
#   xlbnat   xlb in NAT mode (xlb attach --forward nat --nat-src LB-ADDR
#            --nat-ports 1024-65535): the backends' own address and port, the
#            LB's address as source, replies back through the LB (translated
#            in XDP both ways); the backends' veths send full checksums (tx
#            off) for this configuration only, as replies cross XDP.
#   haproxy  HAProxy in TCP mode in the LB namespace, listening on the VIP
#            (added to the LB's lo), round-robin to the backends' own
#            addresses; a full proxy, so replies come back through it.
#
# Each configuration: wrk -tT -cC -dDs, RUNS times with keep-alive and RUNS
# times with "Connection: close" (one connection per request), after a 1 s
# warm-up each. Figures: requests/s (median, min, max; "vs plain" is the
# ratio of medians) and CPU per request, from tick counters read just
# before and after each wrk run:
#   haproxy_proc_us  HAProxy's process, utime+stime from /proc/PID/stat (all
#              its threads): HAProxy's own work, without the softirq receive
#              work that the kernel does for its sockets.
#   softirq_us the whole machine's softirq time (/proc/stat) per request.
#              With XDP the LB's work is softirq time that no process owns;
#              this column holds it, but also the receive work of every other
#              namespace (client, bridge, backends): an upper bound for xlb.
#   d_softirq_us softirq_us minus plain routing's (same mode): what xlb or
#              HAProxy add to (or save from) the machine's softirq time
#              compared with the kernel forwarding the same packets.
#   machine_us the whole machine's busy time (user+system+irq+softirq) per
#              request: all namespaces, wrk and nginx included.
#   pkts_per_req packets xlb handled per request (its own VIP counters):
#              times xlb's per-packet cost (bench_xdp, wire_rate) it gives
#              the XDP program's own CPU per request, a lower bound.
#   xlb_prog_us  the XDP program's own run time per request, from the
#              kernel's BPF statistics (kernel.bpf_stats_enabled=1 during
#              the run, restored at exit): run_time_ns of the program on the
#              LB's device (libxdp's dispatcher with xlb_lb in it, or xlb_lb
#              alone), as a difference around the wrk run, divided by the
#              requests. Measured, not estimated; it includes the two clock
#              reads per packet that the statistics themselves cost. Its
#              ratio to HAProxy's process time per request is the "LB CPU
#              per request" figure.
#   lb_us      with RPS_LB_NAPI=threaded only: the LB device's NAPI runs as
#              a kernel thread (an XDP program on the LB device in every
#              configuration: xlb, or XDP_PASS for plain and haproxy, since
#              a veth uses NAPI only then), so the LB namespace's receive
#              work is a thread's stime: lb_us = that thread + every process
#              in the LB namespace. It includes a thread wake-up per NAPI
#              poll (microseconds here), which softirq NAPI does not pay, so
#              it overstates the LB's cost at low packet rates per poll.
# The kernel here accounts CPU time by ticks (CONFIG_IRQ_TIME_ACCOUNTING is
# off, HZ 250, read in 1/CLK_TCK units): every figure is a tick sample, good
# over a run's thousands of ticks. Anything else running on the machine
# shows in the machine-wide figures.
#
#   bench/rps.sh [JSON]          default JSON: bench/results/rps.json
# Environment: RPS_SECONDS (5), RPS_RUNS (5), RPS_CONNS (50), RPS_THREADS (2),
# RPS_CONFIGS ("plain xlb haproxy"; add xlbnat for NAT), RPS_LB_NAPI
# (softirq | threaded).
# Needs wrk, haproxy, nginx (Debian: wrk haproxy nginx-light); skips (77)
# without them. The whole run stops itself after RPS_DEADLINE s (240).
set -u
cd "$(dirname "$0")/.." || exit 1
export XLB=${XLB:-$PWD/${BUILD:-build}/xlb}
export XLBT_ID=rps$(($$ % 10000))
# shellcheck source=../tests/lib/testbed.sh
. tests/lib/testbed.sh

JSON=${1:-bench/results/rps.json}
[[ $JSON == /* ]] || JSON=$PWD/$JSON
SECS=${RPS_SECONDS:-5}
RUNS=${RPS_RUNS:-5}
CONNS=${RPS_CONNS:-50}
THREADS=${RPS_THREADS:-2}
CONFIGS=${RPS_CONFIGS:-plain xlb haproxy}
LB_NAPI=${RPS_LB_NAPI:-softirq}
DEADLINE=${RPS_DEADLINE:-240}
HZ=$(getconf CLK_TCK)
T_START=$SECONDS

xlbt_require_root
xlbt_require_cmd wrk haproxy nginx
[ -x "$XLB" ] || xlbt_fail "$XLB missing: run make first"
case $LB_NAPI in threaded | softirq) ;; *) xlbt_fail "RPS_LB_NAPI: threaded or softirq" ;; esac

xlbt_testbed_up 3
TMPD=$(xlbt_tmp_dir)
LB_NS=$(xlbt_ns lb)
LB_DEV=$(xlbt_dev lb)
VIP=$XLBT_VIP4
URL=http://$VIP/

# --- backends: xlb_decap (passes what is not tunnelled) and nginx ------------
for be in $(xlbt_backends); do
	xlbt_xlb "$be" decap attach "$(xlbt_dev "$be")" >/dev/null 2>&1 ||
		xlbt_fail "decap attach on $be"
	xlbt_xlb "$be" decap vip add "$VIP" >/dev/null || xlbt_fail "decap vip add on $be"
	mkdir -p "$TMPD/nginx-$be"
	cat >"$TMPD/nginx-$be/nginx.conf" <<-EOF
		daemon off;
		master_process off;
		worker_processes 1;
		pid $TMPD/nginx-$be/nginx.pid;
		error_log $TMPD/nginx-$be/error.log warn;
		events { worker_connections 8192; }
		http {
			access_log off;
			client_body_temp_path $TMPD/nginx-$be/body;
			proxy_temp_path $TMPD/nginx-$be/proxy;
			fastcgi_temp_path $TMPD/nginx-$be/fastcgi;
			uwsgi_temp_path $TMPD/nginx-$be/uwsgi;
			scgi_temp_path $TMPD/nginx-$be/scgi;
			keepalive_requests 100000000;
			keepalive_timeout 120s;
			default_type text/plain;
			server {
				listen 80 backlog=4096;
				location / { return 200 "$be\n"; }
			}
		}
	EOF
	xlbt_bg_start "$be" "$TMPD/nginx-$be/out.log" nginx -p "$TMPD/nginx-$be" \
		-e "$TMPD/nginx-$be/error.log" -c "$TMPD/nginx-$be/nginx.conf"
done
for be in $(xlbt_backends); do
	xlbt_wait_for 5 xlbt_exec client curl -sf --max-time 1 "http://$(xlbt_addr4 "$be")/" ||
		xlbt_fail "nginx on $be did not answer" "$(cat "$TMPD/nginx-$be/error.log")"
	# The LB resolves its backends once (xlb's FIB lookup passes until then).
	xlbt_exec lb ping -c1 -W1 "$(xlbt_addr4 "$be")" >/dev/null ||
		xlbt_fail "LB cannot reach $be"
done
# One connection per request from one client address to one VIP:80 (and,
# with HAProxy, from the LB to each backend): whoever closes first keeps the
# port in TIME_WAIT for 60 s, which runs out of ports within a run unless
# connect() may reuse them (tcp_tw_reuse=1, safe with TCP timestamps).
for h in client lb; do
	xlbt_exec "$h" sysctl -q -w net.ipv4.ip_local_port_range="1024 65000" \
		net.ipv4.tcp_tw_reuse=1 || xlbt_fail "sysctls on $h"
done

# --- the LB's device: NAPI as a thread (RPS_LB_NAPI=threaded) ----------------
# Call after an XDP program is attached to the LB's device (a veth has NAPI
# instances only then).
lb_threaded() {
	[ "$LB_NAPI" = threaded ] || return 0
	xlbt_exec lb sh -c "echo 1 > /sys/class/net/$LB_DEV/threaded"
}
# PIDs of the LB device's NAPI threads (they change when XDP is attached).
napi_pids() {
	local f
	[ "$LB_NAPI" = threaded ] || return 0
	for f in /proc/[0-9]*/comm; do
		[[ $(<"$f") == "napi/$LB_DEV-"* ]] 2>/dev/null && {
			f=${f%/comm}
			echo "${f#/proc/}"
		}
	done
	return 0
}
lb_xdp_pass() {
	[ "$LB_NAPI" = threaded ] || return 0
	ip -n "$LB_NS" link set dev "$LB_DEV" xdpdrv obj "$XLBT_XDP_PASS_OBJ" sec xdp &&
		lb_threaded
}
lb_xdp_off() {
	[ "$LB_NAPI" = threaded ] || return 0
	ip -n "$LB_NS" link set dev "$LB_DEV" xdpdrv off
}

# --- configurations --------------------------------------------------------------
BE_ADDRS=()
for be in $(xlbt_backends); do BE_ADDRS+=("$(xlbt_addr4 "$be")"); done
HAPROXY_PID=

# backends_tx FROM TO: the backends' veth tx checksum offload from FROM to TO.
backends_tx() {
	local be
	for be in $(xlbt_backends); do
		ip netns exec "$(xlbt_ns "$be")" ethtool -K "$(xlbt_dev "$be")" tx "$2" \
			>/dev/null || return 1
	done
}

cfg_up() {
	local nh=() a
	case $1 in
	plain)
		for a in "${BE_ADDRS[@]}"; do nh+=(nexthop via "$a" dev "$LB_DEV"); done
		xlbt_exec lb sysctl -q -w net.ipv4.fib_multipath_hash_policy=1 \
			net.ipv4.conf.all.send_redirects=0 \
			"net.ipv4.conf.$LB_DEV.send_redirects=0" || return 1
		ip -n "$LB_NS" route add "$VIP/32" "${nh[@]}" || return 1
		lb_xdp_pass || return 1
		;;
	xlb)
		xlbt_xlb lb attach "$LB_DEV" --encap-src 198.18.128.0/24 >"$TMPD/attach.log" 2>&1 ||
			{
				cat "$TMPD/attach.log" >&2
				return 1
			}
		xlbt_xlb lb vip add "$VIP:80/tcp" >/dev/null || return 1
		for a in "${BE_ADDRS[@]}"; do
			xlbt_xlb lb backend add "$VIP:80/tcp" "$a" >/dev/null || return 1
		done
		lb_threaded || return 1
		;;
	xlbnat)
		backends_tx on off || return 1
		xlbt_xlb lb attach "$LB_DEV" --forward nat --nat-src "$(xlbt_addr4 lb)" \
			--nat-ports 1024-65535 >"$TMPD/attach.log" 2>&1 ||
			{
				cat "$TMPD/attach.log" >&2
				return 1
			}
		xlbt_xlb lb vip add "$VIP:80/tcp" --forward nat >/dev/null || return 1
		for a in "${BE_ADDRS[@]}"; do
			xlbt_xlb lb backend add "$VIP:80/tcp" "$a:80" >/dev/null || return 1
		done
		lb_threaded || return 1
		;;
	haproxy)
		ip -n "$LB_NS" addr add "$VIP/32" dev lo || return 1
		lb_xdp_pass || return 1
		{
			printf 'global\n\tmaxconn 4096\n\tnbthread %s\n' "$(nproc)"
			printf 'defaults\n\tmode tcp\n\ttimeout connect 5s\n'
			printf '\ttimeout client 60s\n\ttimeout server 60s\n'
			printf 'frontend vip\n\tbind %s:80\n\tdefault_backend web\n' "$VIP"
			printf 'backend web\n\tbalance roundrobin\n'
			for a in "${BE_ADDRS[@]}"; do printf '\tserver %s %s:80\n' "$a" "$a"; done
		} >"$TMPD/haproxy.cfg"
		xlbt_bg_start lb "$TMPD/haproxy.log" haproxy -db -f "$TMPD/haproxy.cfg"
		HAPROXY_PID=$XLBT_BG_PID
		;;
	esac
	xlbt_wait_for 5 xlbt_exec client curl -sf --max-time 1 "$URL" && return 0
	[ -n "$HAPROXY_PID" ] && cat "$TMPD/haproxy.log" >&2
	return 1
}

cfg_down() {
	case $1 in
	plain)
		ip -n "$LB_NS" route del "$VIP/32"
		lb_xdp_off
		;;
	xlb) xlbt_xlb lb detach "$LB_DEV" >/dev/null ;;
	xlbnat)
		xlbt_xlb lb detach "$LB_DEV" >/dev/null
		backends_tx off on
		;;
	haproxy)
		[ -n "$HAPROXY_PID" ] && xlbt_bg_stop "$HAPROXY_PID"
		HAPROXY_PID=
		ip -n "$LB_NS" addr del "$VIP/32" dev lo
		lb_xdp_off
		;;
	esac
}

CUR_CFG=
cfg_down_current() {
	[ -z "$CUR_CFG" ] || cfg_down "$CUR_CFG"
}
xlbt_cleanup_add cfg_down_current

# --- measuring -------------------------------------------------------------------
# ticks PID...: utime+stime of the given processes/threads, in CLK_TCK ticks.
ticks() {
	local p t=0 v
	for p; do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		t=$((t + ${v:-0}))
	done
	echo $t
}

# The kernel's BPF run-time statistics, on for the run (xlb_prog_us).
BPF_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null) ||
	xlbt_fail "kernel.bpf_stats_enabled: not readable"
sysctl -q -w kernel.bpf_stats_enabled=1 || xlbt_fail "kernel.bpf_stats_enabled=1 refused"
xlbt_cleanup_add sysctl -q -w kernel.bpf_stats_enabled="$BPF_STATS_WAS"

# xdp_prog_ns: "run_time_ns run_cnt" of the XDP program on the LB's device,
# "0 0" with none.
xdp_prog_ns() {
	local id
	id=$(ip netns exec "$LB_NS" bpftool -j net show dev "$LB_DEV" 2>/dev/null |
		python3 -c 'import json, sys
x = json.load(sys.stdin)[0].get("xdp", [])
print(x[0]["id"] if x else "")' 2>/dev/null)
	[ -n "$id" ] || {
		echo "0 0"
		return
	}
	bpftool -j prog show id "$id" | python3 -c 'import json, sys
p = json.load(sys.stdin)
print(p.get("run_time_ns", 0), p.get("run_cnt", 0))'
}

# snap: "softirq busy lbprocs napi haproxy" ticks now.
snap() {
	local u n s q sq st
	read -r _ u n s _ _ q sq st _ </proc/stat
	# shellcheck disable=SC2046 # lists of PIDs
	echo "$sq $((u + n + s + q + sq + st)) $(ticks $(ip netns pids "$LB_NS")) $(ticks $(napi_pids))" \
		"$([ -n "$HAPROXY_PID" ] && ticks "$HAPROXY_PID" || echo 0)"
}

declare -A RES=() # RES[cfg/mode] = "rps req errors lb_us hap_us sirq_us mach_us;..."

# wrk_run SECONDS MODE: wrk from the client, output in $TMPD/wrk.out. In the
# background, waited for in a polling loop: a signal ends the script at once
# (the topology's teardown stops wrk).
wrk_run() {
	local d=$1 hdr=()
	[ "$2" = close ] && hdr=(-H "Connection: close")
	xlbt_bg_start client "$TMPD/wrk.out" timeout -k 5 $((d + 20)) wrk -t"$THREADS" \
		-c"$CONNS" -d"${d}s" "${hdr[@]}" "$URL"
	xlbt_bg_wait "$XLBT_BG_PID" $((d + 30))
}

# xlb_pkts: packets xlb has counted for its VIPs so far (0 without xlb).
xlb_pkts() {
	local n
	[ "$CUR_CFG" = xlb ] || [ "$CUR_CFG" = xlbnat ] || {
		echo 0
		return
	}
	n=$(xlbt_xlb lb -j stats 2>/dev/null | python3 -c 'import json, sys
print(sum(v["packets"] for v in json.load(sys.stdin)["vips"].values()))' 2>/dev/null)
	[[ $n =~ ^[0-9]+$ ]] && echo "$n" || echo -1 # -1: unknown this run
}

# measure CFG MODE: one wrk run; appends to RES[CFG/MODE] the fields
# rps requests errors lb_us haproxy_proc_us softirq_us machine_us napi_us
# pkts_per_req xlb_prog_us.
measure() {
	local cfg=$1 mode=$2 a b p0 p1 x0 x1 out req rps err line lb sq
	p0=$(xlb_pkts)
	read -ra x0 < <(xdp_prog_ns)
	read -ra a < <(snap)
	wrk_run "$SECS" "$mode" || {
		cat "$TMPD/wrk.out" >&2
		return 1
	}
	read -ra b < <(snap)
	read -ra x1 < <(xdp_prog_ns)
	out=$(cat "$TMPD/wrk.out")
	p1=$(xlb_pkts)
	req=$(awk '/requests in/ {print $1}' <<<"$out")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	err=$(awk '/Socket errors:/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
		/Non-2xx/ {e += $NF} END {print e + 0}' <<<"$out")
	[ -n "$req" ] && [ "$req" -gt 0 ] || {
		echo "$out" >&2
		return 1
	}
	line=$(awk -v req="$req" -v hz="$HZ" -v rps="$rps" -v err="$err" \
		-v sq=$((b[0] - a[0])) -v busy=$((b[1] - a[1])) -v procs=$((b[2] - a[2])) \
		-v napi=$((b[3] - a[3])) -v hap=$((b[4] - a[4])) -v p0="$p0" -v p1="$p1" \
		-v xns=$((x1[0] - x0[0])) -v xn=$((x1[1] - x0[1])) -v isxlb="$([[ $cfg == xlb* ]] && echo 1 || echo 0)" 'BEGIN {
		us = 1e6 / hz / req
		printf "%s %d %d %.3f %.3f %.3f %.3f %.3f %.2f %.4f", rps, req, err,
			(procs + napi) * us, hap * us, sq * us, busy * us, napi * us,
			p0 < 0 || p1 < 0 ? -1 : (p1 - p0) / req,
			(isxlb && xn > 0) ? xns / 1000 / req : -1 }')
	RES[$cfg / $mode]+="$line;"
	read -r rps req err lb _ sq _ <<<"$line"
	printf '  %-7s %-9s %8.0f req/s %7d requests %3d errors  softirq %6.2f us/req  LB %6.2f us/req\n' \
		"$cfg" "$mode" "$rps" "$req" "$err" "$sq" "$lb" >&2
}

# --- run -----------------------------------------------------------------------
echo "# requests/s: $(nproc) CPUs, $(uname -r); wrk -t$THREADS -c$CONNS -d${SECS}s," \
	"$RUNS runs per figure; nginx-light backends x3; LB device NAPI: $LB_NAPI"
for cfg in $CONFIGS; do
	case $cfg in plain | xlb | xlbnat | haproxy) ;; *) xlbt_fail "unknown configuration $cfg" ;; esac
	xlbt_log "configuration $cfg"
	CUR_CFG=$cfg
	cfg_up "$cfg" || xlbt_fail "$cfg: setup, or no answer from $URL"
	for mode in keepalive close; do
		wrk_run 1 "$mode" || xlbt_fail "$cfg $mode: warm-up" "$(cat "$TMPD/wrk.out")"
		for ((r = 0; r < RUNS; r++)); do
			((SECONDS - T_START + SECS + 5 < DEADLINE)) ||
				xlbt_fail "deadline of ${DEADLINE}s reached (RPS_SECONDS/RPS_RUNS lower?)"
			measure "$cfg" "$mode" || xlbt_fail "$cfg $mode: wrk failed"
		done
	done
	if [ "$cfg" = xlb ] || [ "$cfg" = xlbnat ]; then
		xlbt_xlb lb -j stats >"$TMPD/xlb-stats.json"
		xlbt_log "xlb reasons: $(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(" ".join(k + "=" + str(v["packets"]) for k, v in d.get("reasons", {}).items() if v["packets"]))' \
			"$TMPD/xlb-stats.json" 2>/dev/null)"
	fi
	cfg_down "$cfg"
	CUR_CFG=
done

# --- report ------------------------------------------------------------------------
# stats CFG MODE FIELD: "median min max" of field FIELD (1-based) over the
# runs; negative values (unknown) left out.
stats() {
	tr ';' '\n' <<<"${RES[$1 / $2]:-}" | awk -v f="$3" 'NF && $f >= 0 {print $f}' | sort -g |
		awk '{v[NR] = $1} END {
			if (!NR) { print "0 0 0"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR] }'
}
med() { stats "$@" | cut -d' ' -f1; }
has() { [ -n "${RES[$1 / $2]:-}" ]; }
# div A B [FMT]: A / B, or "-" when B is missing or 0.
div() {
	awk -v a="$1" -v b="${2:-0}" -v f="${3:-%.3f}" 'BEGIN {
		if (b + 0 > 0) printf f, a / b; else printf "-" }'
}
MODE_NAME=([0]=keepalive [1]=close)
mode_label() { [ "$1" = close ] && echo "new connection per request" || echo "keep-alive"; }

echo
echo "| configuration | connections | req/s median | min | max | vs plain | machine softirq us/req | softirq vs plain us/req | machine busy us/req | HAProxy process us/req | xlb pkts/req | xlb program us/req |$([ "$LB_NAPI" = threaded ] && echo " LB ns (threaded NAPI) us/req |")"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|$([ "$LB_NAPI" = threaded ] && echo "---|")"
for mode in "${MODE_NAME[@]}"; do
	for cfg in $CONFIGS; do
		read -r m mn mx < <(stats "$cfg" "$mode" 1)
		sq=$(med "$cfg" "$mode" 6)
		dsq=-
		has plain "$mode" && dsq=$(awk -v a="$sq" -v b="$(med plain "$mode" 6)" \
			'BEGIN { printf "%+.2f", a - b }')
		hap=-
		[ "$cfg" = haproxy ] && hap=$(med "$cfg" "$mode" 5)
		pk=- xu=-
		[[ $cfg == xlb* ]] && pk=$(med "$cfg" "$mode" 9) xu=$(med "$cfg" "$mode" 10)
		printf '| %s | %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s |' "$cfg" \
			"$(mode_label "$mode")" "$m" "$mn" "$mx" \
			"$(has plain "$mode" && div "$m" "$(med plain "$mode" 1)" || echo -)" \
			"$sq" "$dsq" "$(med "$cfg" "$mode" 7)" "$hap" "$pk" "$xu"
		[ "$LB_NAPI" = threaded ] && printf ' %s |' "$(med "$cfg" "$mode" 4)"
		echo
	done
done
echo
for mode in "${MODE_NAME[@]}"; do
	has xlbnat "$mode" && has haproxy "$mode" &&
		echo "requests/s, $(mode_label "$mode"): xlb NAT / HAProxy =" \
			"$(div "$(med xlbnat "$mode" 1)" "$(med haproxy "$mode" 1)")"
	has xlb "$mode" && has haproxy "$mode" || continue
	echo "LB CPU per request, $(mode_label "$mode"): xlb's machine softirq / HAProxy's process =" \
		"$(div "$(med xlb "$mode" 6)" "$(med haproxy "$mode" 5)") (upper bound for xlb)"
	echo "LB CPU per request, $(mode_label "$mode"): xlb's program run time / HAProxy's process =" \
		"$(div "$(med xlb "$mode" 10)" "$(med haproxy "$mode" 5)" %.4f) (target <= 0.05)"
	[ "$LB_NAPI" = threaded ] &&
		echo "  LB namespace (threaded NAPI + processes): xlb / HAProxy =" \
			"$(div "$(med xlb "$mode" 4)" "$(med haproxy "$mode" 4)")"
done

# --- JSON ----------------------------------------------------------------------------
mkdir -p "$(dirname "$JSON")"
{
	printf '{\n  "bench": "rps",\n  "wrk": {"threads": %s, "connections": %s, "seconds": %s},\n' \
		"$THREADS" "$CONNS" "$SECS"
	printf '  "runs": %s,\n  "backends": "nginx-light x3",\n  "lb_napi": "%s",\n' "$RUNS" "$LB_NAPI"
	printf '  "clk_tck": %s,\n  "results": {' "$HZ"
	first=1
	for cfg in $CONFIGS; do
		for mode in "${MODE_NAME[@]}"; do
			has "$cfg" "$mode" || continue
			((first)) || printf ','
			first=0
			read -r m mn mx < <(stats "$cfg" "$mode" 1)
			vs=$(has plain "$mode" && div "$m" "$(med plain "$mode" 1)" "%.4f")
			[ "${vs:--}" = - ] && vs=null
			printf '\n    "%s/%s": {"rps_median": %s, "rps_min": %s, "rps_max": %s, "vs_plain": %s' \
				"$cfg" "$mode" "$m" "$mn" "$mx" "$vs"
			for f in 6:machine_softirq_us_per_req 7:machine_busy_us_per_req \
				5:haproxy_proc_us_per_req 9:xlb_pkts_per_req 4:lb_ns_threaded_us_per_req \
				10:xlb_prog_us_per_req; do
				printf ', "%s": %s' "${f#*:}" "$(med "$cfg" "$mode" "${f%%:*}")"
			done
			printf ', "runs": ['
			tr ';' '\n' <<<"${RES[$cfg / $mode]}" | awk 'NF {
				printf "%s{\"rps\": %s, \"requests\": %s, \"errors\": %s, " \
					"\"lb_ns_threaded_us\": %s, \"haproxy_proc_us\": %s, \"softirq_us\": %s, " \
					"\"busy_us\": %s, \"napi_us\": %s, \"xlb_pkts_per_req\": %s, " \
					"\"xlb_prog_us\": %s}",
					n++ ? ", " : "", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
			printf ']}'
		done
	done
	printf '\n  }\n}\n'
} >"$JSON"
echo "(figures in $JSON; $((SECONDS - T_START)) s)"
