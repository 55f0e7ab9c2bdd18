# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Helpers for shell end-to-end tests; source it from the test's main shell:
#
#   . "$(dirname "$0")/../lib/testbed.sh"
#   xlbt_require_root
#   xlbt_testbed_up 3                  # topology + teardown on EXIT
#   xlbt_exec client curl ...
#
# It sources scripts/topology.sh (names, addresses, xlbt_topo_*), sets
# XLBT_ID (default: PID % 100000) and installs an EXIT trap that stops the
# background processes started here, then runs the registered cleanups in
# reverse order, keeping the test's exit status. Exit codes: 0 pass,
# 1 fail (xlbt_fail), 77 skip (xlbt_skip).
#
# xlbt_fail / xlbt_skip exit the shell they run in: call them from the
# test's main shell, not inside $(...) or a pipeline.

XLBT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/topology.sh
. "$XLBT_ROOT/scripts/topology.sh"

XLBT_ID=${XLBT_ID:-$(($$ % 100000))}
XLBT_NBE=${XLBT_NBE:-0}
XLBT_T0=${EPOCHREALTIME/[.,]/}
_XLBT_CLEANUPS=()
_XLBT_PIDS=()

# --- messages and verdicts ---------------------------------------------------

# xlbt_log MSG...: progress line on stderr, seconds since start.
xlbt_log() {
	local now=${EPOCHREALTIME/[.,]/}
	printf '[%7.2f] %s\n' "$(((now - XLBT_T0) / 10000))e-2" "$*" >&2
}

# xlbt_skip REASON: the test cannot run here (exit 77).
xlbt_skip() {
	echo "# SKIP $*"
	exit 77
}

# xlbt_fail WHAT [ACTUAL [EXPECTED]]: the test failed (exit 1).
xlbt_fail() {
	echo "FAIL: $1" >&2
	[ $# -ge 2 ] && printf '  actual:   %s\n' "$2" >&2
	[ $# -ge 3 ] && printf '  expected: %s\n' "$3" >&2
	exit 1
}

# xlbt_expect_eq WHAT ACTUAL EXPECTED
xlbt_expect_eq() {
	[ "$2" = "$3" ] || xlbt_fail "$1" "$2" "$3"
}

# xlbt_expect_ge WHAT ACTUAL MIN (integers)
xlbt_expect_ge() {
	[[ $2 =~ ^-?[0-9]+$ ]] && (($2 >= $3)) || xlbt_fail "$1" "$2" ">= $3"
}

# xlbt_require_root; xlbt_require_cmd CMD...: skip when missing.
xlbt_require_root() {
	[ "$(id -u)" -eq 0 ] || xlbt_skip "needs root"
}

xlbt_require_cmd() {
	local c
	for c; do
		command -v "$c" >/dev/null 2>&1 || xlbt_skip "$c not installed"
	done
}

# xlbt_require_exe VAR DEFAULT: $VAR (DEFAULT if unset or empty; relative to
# the repository root, where the tests run) is an executable, else skip;
# VAR becomes its absolute path.
xlbt_require_exe() {
	local path=${!1:-$2}
	[ -x "$path" ] || xlbt_skip "$path missing"
	printf -v "$1" '%s' "$(realpath "$path")"
}

# --- cleanup -----------------------------------------------------------------

# xlbt_cleanup_add CMD [ARGS...]: run CMD at exit (last added runs first).
xlbt_cleanup_add() {
	local q
	printf -v q '%q ' "$@"
	_XLBT_CLEANUPS+=("$q")
}

_xlbt_on_exit() {
	local rc=$? i pid
	trap - EXIT
	for pid in "${_XLBT_PIDS[@]}"; do
		xlbt_bg_stop "$pid" 1
	done
	for ((i = ${#_XLBT_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${_XLBT_CLEANUPS[i]}" || echo "cleanup failed: ${_XLBT_CLEANUPS[i]}" >&2
	done
	exit $rc
}

trap _xlbt_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- topology ----------------------------------------------------------------

# xlbt_testbed_up N: build the reference topology with N backends for
# XLBT_ID, torn down at exit (also when setup fails half-way).
xlbt_testbed_up() {
	xlbt_cleanup_add xlbt_topo_down "$XLBT_ID"
	xlbt_topo_up "$XLBT_ID" "$1" || xlbt_fail "topology $XLBT_ID up with $1 backends"
}

# xlbt_exec HOST CMD...: run CMD in HOST's namespace.
xlbt_exec() {
	local host=$1
	shift
	ip netns exec "$(xlbt_ns "$host")" "$@"
}

# xlbt_xlb HOST ARGS...: run $XLB in HOST's namespace with HOST's pin dir,
# killed after XLBT_XLB_TIMEOUT seconds (default 60; exit status 124).
xlbt_xlb() {
	local host=$1
	shift
	ip netns exec "$(xlbt_ns "$host")" env XLB_PIN_DIR="$(xlbt_pin_dir "$host")" \
		timeout -k 5 "${XLBT_XLB_TIMEOUT:-60}" "${XLB:?XLB unset}" "$@"
}

# xlbt_mac HOST: MAC address of HOST's device.
xlbt_mac() {
	ip -n "$(xlbt_ns "$1")" -o link show dev "$(xlbt_dev "$1")" |
		sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p'
}

# xlbt_backends: be1 ... beN of the current topology.
xlbt_backends() {
	local i
	for ((i = 1; i <= XLBT_NBE; i++)); do
		echo "be$i"
	done
}

# --- waiting and background processes ----------------------------------------

# xlbt_wait_for SECONDS CMD...: run CMD (quietly) every 0.1 s until it
# succeeds; 1 if it never did within SECONDS. CMD itself must be bounded.
xlbt_wait_for() {
	local limit=$1 end
	shift
	end=$((${EPOCHREALTIME/[.,]/} + limit * 1000000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		((${EPOCHREALTIME/[.,]/} < end)) || return 1
		sleep 0.1
	done
}

# xlbt_bg_start HOST LOG CMD...: start CMD in HOST's namespace in the
# background, output to LOG. Its PID is in XLBT_BG_PID (ip netns exec execs
# CMD, so it is CMD's PID); it is stopped at exit if still running.
xlbt_bg_start() {
	local host=$1 log=$2
	shift 2
	ip netns exec "$(xlbt_ns "$host")" "$@" >"$log" 2>&1 </dev/null &
	XLBT_BG_PID=$!
	_XLBT_PIDS+=("$XLBT_BG_PID")
}

_xlbt_bg_forget() {
	local i
	for i in "${!_XLBT_PIDS[@]}"; do
		[ "${_XLBT_PIDS[i]}" = "$1" ] && unset '_XLBT_PIDS[i]'
	done
	return 0
}

# xlbt_bg_stop PID [SECONDS]: SIGTERM, SIGKILL after SECONDS (default 3);
# returns the process's exit status (143 after SIGTERM, 137 after SIGKILL).
xlbt_bg_stop() {
	local pid=$1 limit=${2:-3} i rc=0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < limit * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || rc=$?
	_xlbt_bg_forget "$pid"
	return $rc
}

# xlbt_bg_wait PID SECONDS: wait for PID to end by itself; its exit status,
# or 124 (and SIGKILL) when it is still running after SECONDS.
xlbt_bg_wait() {
	local pid=$1 limit=$2 i rc=0
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		_xlbt_bg_forget "$pid"
		return 124
	fi
	wait "$pid" 2>/dev/null || rc=$?
	_xlbt_bg_forget "$pid"
	return $rc
}

# --- backends ----------------------------------------------------------------

# xlbt_http_server BE [ARG...]: tests/lib/backend_server.py (it answers with
# BE's name) on BE's port 80, and whatever ARGs add (e.g. --http-port 8081),
# in the background (xlbt_http_servers), its PID in XLBT_SRV[BE]; returns
# once the client reaches port 80.
declare -gA XLBT_SRV=()
xlbt_http_server() {
	xlbt_http_servers "$1" -- "${@:2}"
	xlbt_wait_for 5 xlbt_exec client curl -sf --max-time 1 "http://$(xlbt_addr4 "$1")/" ||
		xlbt_fail "server on $1 did not start"
}

# xlbt_http_servers BE... [-- ARG...]: tests/lib/backend_server.py on each
# BE (--http-port 80 and ARGs), all started at once; returns when each has
# written its PID file (30 s at most: a VM without KVM starts Python
# slowly), PIDs in XLBT_SRV[BE].
xlbt_http_servers() {
	local bes=() be tmp
	tmp=$(xlbt_tmp_dir)
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		bes+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	for be in "${bes[@]}"; do
		rm -f "$tmp/$be.pid"
		xlbt_bg_start "$be" "$tmp/$be.log" python3 "$XLBT_ROOT/tests/lib/backend_server.py" \
			--name "$be" --http-port 80 "$@" --pid-file "$tmp/$be.pid"
		XLBT_SRV[$be]=$XLBT_BG_PID
	done
	for be in "${bes[@]}"; do
		xlbt_wait_for 30 test -s "$tmp/$be.pid" ||
			xlbt_fail "$be server not ready after 30 s" "$(head -c 300 "$tmp/$be.log")"
	done
}

# xlbt_decap_gue BE PORT PEER...: BE decapsulates GUE on PORT with second
# chance (xlb decap attach --gue-port). Hand-offs need forwarding
# (bpf_fib_lookup) and the peers' neighbours (BE pings each PEER), and a
# frame sent back out of a veth with XDP_TX reaches the bridge only if the
# peer runs an XDP program (docs/testing.md), as the LB's does.
xlbt_decap_gue() {
	local be=$1 port=$2 peer
	shift 2
	xlbt_exec "$be" sysctl -qw "net.ipv4.conf.$(xlbt_dev "$be").forwarding=1" \
		net.ipv6.conf.all.forwarding=1 || xlbt_fail "$be: forwarding on"
	ip -n "$(xlbt_ns net)" link set dev "$(xlbt_peer "$be")" xdpdrv obj "$XLBT_XDP_PASS_OBJ" \
		sec xdp || xlbt_fail "$be: XDP_PASS program on its bridge-side peer"
	for peer; do
		[ "$peer" = "$be" ] ||
			xlbt_exec "$be" ping -c 1 -W 2 "$(xlbt_addr4 "$peer")" >/dev/null ||
			xlbt_fail "$be: ping $peer"
	done
	xlbt_xlb "$be" decap attach "$(xlbt_dev "$be")" --gue-port "$port" >/dev/null ||
		xlbt_fail "$be: xlb decap attach --gue-port $port"
}

# xlbt_backends_serve [ARG...]: every backend decapsulates (xlb_decap, the
# IPv4 VIP) and runs xlbt_http_server with ARGs.
xlbt_backends_serve() {
	local be
	for be in $(xlbt_backends); do
		xlbt_xlb "$be" decap attach "$(xlbt_dev "$be")" 2>/dev/null ||
			xlbt_fail "decap attach on $be"
		xlbt_xlb "$be" decap vip add "$XLBT_VIP4" || xlbt_fail "decap vip add on $be"
		xlbt_http_server "$be" "$@"
	done
}

# --- the agent ---------------------------------------------------------------

# The agent's HTTP interface, inside the lb namespace (xlb.admin.listen).
XLBT_ADMIN=${XLBT_ADMIN:-http://127.0.0.1:9180}

# xlbt_api_key_file HOST: where xlbd on HOST keeps the Admin API key it
# makes when its configuration has none (user/lib/base/apikey.h).
xlbt_api_key_file() {
	local pin
	pin=$(xlbt_pin_dir "$1")
	pin=${pin#/}
	printf '/run/xlb/api_key.%s\n' "${pin//\//_}"
}

# The Admin API key of the agent tests' configurations (xlbt_agent_conf_head).
XLBT_API_KEY=${XLBT_API_KEY:-xlbt-key}

# xlbt_agent_conf_head [DEV]: the `xlb:` block most agent tests share: the
# lb's device (or DEV), IPIP sources 198.18.128.0/24, fail_open, the admin
# listener of $XLBT_ADMIN with $XLBT_API_KEY, info logs. For a heredoc:
#   cat >"$CONF" <<EOF
#   $(xlbt_agent_conf_head)
#   upstreams: ...
xlbt_agent_conf_head() {
	cat <<EOF
xlb:
  interfaces: [${1:-$(xlbt_dev lb)}]
  encap_src: 198.18.128.0/24
  on_no_healthy: fail_open
  admin: {listen: "${XLBT_ADMIN#http://}", api_key: $XLBT_API_KEY}
  log_level: info
EOF
}

# xlbt_agent_cli ARGS...: the xlb CLI in the lb namespace, asking the agent
# (XLBT_ADMIN, XLBT_API_KEY); 20 s at most.
xlbt_agent_cli() {
	xlbt_exec lb env XLB_ADMIN="$XLBT_ADMIN" XLB_API_KEY="$XLBT_API_KEY" timeout 20 "$XLB" "$@"
}

# xlbt_agent_start LOG CONF: $XLBD in the lb namespace with lb's pin dir,
# output to LOG; waits up to 10 s for its HTTP interface. PID in
# XLBT_AGENT_PID (stopped at exit like any xlbt_bg_start process); the key
# file it may make is removed at exit.
xlbt_agent_start() {
	xlbt_cleanup_add rm -f "$(xlbt_api_key_file lb)"
	xlbt_bg_start lb "$1" env XLB_PIN_DIR="$(xlbt_pin_dir lb)" "${XLBD:?XLBD unset}" -c "$2"
	XLBT_AGENT_PID=$XLBT_BG_PID
	xlbt_wait_for 10 xlbt_exec lb curl -sf --max-time 1 "$XLBT_ADMIN/metrics" ||
		xlbt_fail "xlbd did not come up" "$(tail -5 "$1")"
}

# xlbt_node_status ADDR: the agent's health state of node ADDR:80.
xlbt_node_status() {
	xlbt_exec lb curl -s --max-time 2 "$XLBT_ADMIN/v1/healthcheck" | python3 -c '
import json, sys
for u in json.load(sys.stdin):
    for n in u["nodes"]:
        if n["ip"] == sys.argv[1] and n["port"] == 80:
            print(n["status"])' "$1"
}

# xlbt_node_is ADDR STATE: true when node ADDR:80 is in STATE.
xlbt_node_is() {
	[ "$(xlbt_node_status "$1")" = "$2" ]
}

# xlbt_map_state ADDR:PORT: the state of that backend in the LB's maps
# (active, draining, down; none when it has no entry).
xlbt_map_state() {
	xlbt_xlb lb -j backend list | python3 -c '
import json, sys
print(*{b["state"] for b in json.load(sys.stdin) if b["backend"] == sys.argv[1]} or {"none"})' \
		"$1"
}

# xlbt_metric TEXT: the value of the agent's /metrics line containing TEXT.
xlbt_metric() {
	xlbt_exec lb curl -s --max-time 2 "$XLBT_ADMIN/metrics" | grep -F "$1" | awk '{print $2}'
}
