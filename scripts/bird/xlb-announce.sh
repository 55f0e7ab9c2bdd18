#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Keep BIRD's VIP announcement in step with the local xlb: every INTERVAL
# seconds ask `xlb drain check` (xlb attached, its maps readable, the node
# not draining) and, when BIRD's protocol PROTOCOL (scripts/bird/xlb-bird.conf:
# a static protocol holding the VIP routes) does not match, enable it
# (announce) or disable it (withdraw) with birdc. BIRD's state is compared
# every time, so a restarted BIRD (whose protocol starts disabled) is put
# right within one interval. On SIGTERM/SIGINT the VIPs are withdrawn
# before exiting: with nobody watching xlb, the node must not attract
# traffic.
#
# With -a URL the agent must answer too (GET URL/metrics within 1 s): a node
# whose xlbd is gone keeps forwarding with the health it last knew, so
# withdrawing it lets nodes with fresh health decisions take its flows. The
# price: if every node's agent fails at once (a bad configuration for all),
# every node withdraws, where without -a the data planes would have gone on
# forwarding. Choose per deployment; the default is without.
#
#   xlb-announce.sh [-s BIRD_SOCKET] [-p PROTOCOL] [-i INTERVAL] [-x XLB] [-a URL]
#
# Defaults: /run/bird/bird.ctl, xlb_vips, 1 s, xlb from $PATH. The xlb pin
# directory is xlb's own default ($XLB_PIN_DIR, else /sys/fs/bpf/xlb).
# Changes are logged to stderr, one line each. As a systemd unit: run it
# After=bird.service xlbd.service, Restart=always.
set -uo pipefail

SOCK=/run/bird/bird.ctl
PROTO=xlb_vips
INTERVAL=1
XLB=xlb
AGENT=""

usage() {
	sed -n 's/^#   //p' "$0" >&2
	exit 2
}

while getopts s:p:i:x:a:h opt; do
	case $opt in
	s) SOCK=$OPTARG ;;
	p) PROTO=$OPTARG ;;
	i) INTERVAL=$OPTARG ;;
	x) XLB=$OPTARG ;;
	a) AGENT=$OPTARG ;;
	*) usage ;;
	esac
done
[[ $INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ ]] || {
	echo "xlb-announce: bad interval '$INTERVAL'" >&2
	exit 2
}
[[ $PROTO =~ ^[A-Za-z0-9_]+$ ]] || {
	echo "xlb-announce: bad protocol name '$PROTO'" >&2
	exit 2
}

log() {
	printf '%s xlb-announce: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$*" >&2
}

# BIRD's view: "up" when the protocol runs (routes announced), else "down"
# (disabled, or BIRD unreachable: then there is nothing to withdraw either).
bird_state() {
	birdc -s "$SOCK" show protocols "$PROTO" 2>/dev/null |
		awk -v p="$PROTO" '$1 == p { print ($4 == "up") ? "up" : "down"; found = 1 }
			END { if (!found) print "unknown" }'
}

bird_set() {
	local verb=$1 out
	out=$(birdc -s "$SOCK" "$verb" "$PROTO" 2>&1) || {
		log "birdc $verb $PROTO failed: $out"
		return 1
	}
}

stop() {
	[ -n "${SLEEPER:-}" ] && kill "$SLEEPER" 2>/dev/null
	bird_set disable && log "stopping: VIPs withdrawn"
	exit 0
}
trap stop TERM INT

last=""
while :; do
	if ! why=$("$XLB" drain check 2>&1); then
		want=down
	elif [ -n "$AGENT" ] && ! curl -sf -o /dev/null --noproxy '*' --max-time 1 "$AGENT/metrics"; then
		want=down
		why="do not announce: the agent at $AGENT does not answer"
	else
		want=up
	fi
	have=$(bird_state)
	if [ "$have" != "$want" ] && [ "$have" != unknown ]; then
		if [ "$want" = up ]; then
			bird_set enable && log "announce: ${why#announce: }"
		else
			bird_set disable && log "withdraw: ${why#*do not announce: }"
		fi
	elif [ "$have" = unknown ] && [ "$last" != unknown ]; then
		log "BIRD at $SOCK has no protocol $PROTO (not running yet?)"
	fi
	last=$have
	sleep "$INTERVAL" &
	SLEEPER=$!
	wait "$SLEEPER"
done
