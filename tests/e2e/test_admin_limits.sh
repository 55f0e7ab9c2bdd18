#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of the agent's HTTP interface under abuse, and of its key.
# xlbd runs under `ulimit -n 256` and health-checks 3 backends:
#  - more idle connections than xlb.admin.max_connections, held open, take
#    neither health checking nor anything else down: every node stays
#    healthy for several check intervals, xlbd keeps to its cap, its log
#    does not flood, and the Admin API answers again once they close;
#  - a 64 MB request header is answered 431 with xlbd's memory bounded, a
#    too-large body 413, a head that never ends 408 after header_timeout;
#  - with no api_key configured, xlbd makes one in a root-only file, `xlb
#    health` finds it, a request without it is 401 (/metrics and
#    /v1/healthcheck stay open on loopback), and `xlbd --check` refuses the
#    example key and a short one off loopback.
#
# Environment: XLB, XLBD (default build/xlb, build/xlbd). Exit: 0 pass,
# 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh

xlbt_require_exe XLB build/xlb
xlbt_require_exe XLBD build/xlbd
xlbt_require_root
xlbt_require_cmd ip curl python3 timeout ss stat
CLIENT="python3 $PWD/tests/lib/admin_client.py"

NOFILE=256
HOLD=400
INTERVAL_MS=500
ADMIN=$XLBT_ADMIN

xlbt_testbed_up 3
TMP=$(xlbt_tmp_dir)
for be in $(xlbt_backends); do
	xlbt_xlb "$be" decap attach "$(xlbt_dev "$be")" 2>/dev/null || xlbt_fail "decap attach on $be"
	xlbt_xlb "$be" decap vip add "$XLBT_VIP4" || xlbt_fail "decap vip add on $be"
	xlbt_bg_start "$be" "$TMP/$be.log" python3 tests/lib/backend_server.py --name "$be" \
		--http-port 80
	xlbt_wait_for 5 xlbt_exec client curl -sf --max-time 1 "http://$(xlbt_addr4 "$be")/" ||
		xlbt_fail "server on $be did not start"
done

# --- the key: refusals by --check --------------------------------------------

check_key() {
	cat >"$TMP/key.yaml" <<EOC
xlb:
  interfaces: [eth0]
  admin: {listen: "$1", api_key: "$2"}
stream_routes: []
EOC
	xlbt_exec lb "$XLBD" --check -c "$TMP/key.yaml" 2>&1
}
out=$(check_key 0.0.0.0:9180 CHANGE-ME) && xlbt_fail "--check refuses CHANGE-ME off loopback" "$out"
grep -q "key.yaml:3:.*api_key: 'CHANGE-ME' is the example key" <<<"$out" ||
	xlbt_fail "--check: why CHANGE-ME is refused" "$out"
out=$(check_key "[::]:9180" 0123456789) && xlbt_fail "--check refuses a short key off loopback" "$out"
grep -q "api_key: is 10 characters long: at least 16" <<<"$out" ||
	xlbt_fail "--check: why a short key is refused" "$out"
out=$(check_key 0.0.0.0:9180 0123456789abcdef) || xlbt_fail "--check takes a 16-character key" "$out"
out=$(check_key 127.0.0.1:9180 CHANGE-ME) || xlbt_fail "--check takes any key on loopback" "$out"
xlbt_log "--check refuses CHANGE-ME and a short key off loopback"

# --- the agent, under ulimit -n $NOFILE --------------------------------------

CONF=$TMP/xlb.yaml
cat >"$CONF" <<EOF2
xlb:
  interfaces: [$(xlbt_dev lb)]
  encap_src: 198.18.128.0/24
  admin:
    listen: "127.0.0.1:9180"
    max_connections: 64
    header_timeout: 2
    idle_timeout: 60
    max_body_size: 65536
upstreams:
  - id: web
    type: roundrobin
    scheme: tcp
    nodes:
      - {host: $(xlbt_addr4 be1), port: 80, weight: 1}
      - {host: $(xlbt_addr4 be2), port: 80, weight: 1}
      - {host: $(xlbt_addr4 be3), port: 80, weight: 1}
    checks:
      active:
        type: http
        http_path: /health
        timeout: 1
        healthy: {interval_ms: $INTERVAL_MS, successes: 1}
        unhealthy: {interval_ms: $INTERVAL_MS, http_failures: 1, tcp_failures: 1, timeouts: 1}
stream_routes:
  - {id: 1, server_addr: $XLBT_VIP4, server_port: 80, upstream_id: web}
EOF2

KEYFILE=$(xlbt_api_key_file lb)
xlbt_cleanup_add rm -f "$KEYFILE"
rm -f "$KEYFILE"
LOG=$TMP/xlbd.log
xlbt_bg_start lb "$LOG" env XLB_PIN_DIR="$(xlbt_pin_dir lb)" \
	bash -c 'ulimit -n "$0" && exec "$1" -c "$2"' "$NOFILE" "$XLBD" "$CONF"
PID=$XLBT_BG_PID
xlbt_wait_for 10 xlbt_exec lb curl -sf --max-time 1 "$ADMIN/metrics" ||
	xlbt_fail "xlbd did not come up" "$(tail -5 "$LOG")"
xlbt_expect_eq "xlbd's open files limit" "$(awk '/^Max open files/ {print $4}' "/proc/$PID/limits")" \
	"$NOFILE"
grep "admin: at most" "$LOG" | sed 's/^/  /' >&2

# The generated key: root's, 0600; xlb finds it; without it, 401.
[ -f "$KEYFILE" ] || xlbt_fail "xlbd made a key file" "$(ls -l /run/xlb 2>&1)" "$KEYFILE"
xlbt_expect_eq "key file owner and mode" "$(stat -c '%U %a' "$KEYFILE")" "root 600"
xlbt_expect_eq "key folder mode" "$(stat -c '%a' "$(dirname "$KEYFILE")")" 700
KEY=$(cat "$KEYFILE")
out=$(
	unset XLB_API_KEY
	XLBT_XLB_TIMEOUT=10 xlbt_xlb lb health 2>&1
) ||
	xlbt_fail "xlb health without --api-key reads the key file" "$out"
code() {
	xlbt_exec lb curl -s -o "$TMP/out" -w '%{http_code}' --max-time 5 "$@"
}
xlbt_expect_eq "GET /apisix/admin/upstreams without the key" \
	"$(code "$ADMIN/apisix/admin/upstreams")" 401
xlbt_expect_eq "GET /v1/upstreams/web without the key" "$(code "$ADMIN/v1/upstreams/web")" 401
xlbt_expect_eq "POST /v1/reload without the key" "$(code -X POST "$ADMIN/v1/reload")" 401
xlbt_expect_eq "a wrong key" "$(code -H "X-API-KEY: ${KEY}x" "$ADMIN/apisix/admin/upstreams")" 401
xlbt_expect_eq "the key" "$(code -H "X-API-KEY: $KEY" "$ADMIN/apisix/admin/upstreams")" 200
xlbt_expect_eq "/metrics on loopback, without the key" "$(code "$ADMIN/metrics")" 200
xlbt_expect_eq "/v1/healthcheck on loopback, without the key" \
	"$(code "$ADMIN/v1/healthcheck")" 200
xlbt_log "generated key: $KEYFILE (root, 0600); xlb health finds it; 401 without it"

# --- held connections ----------------------------------------------------------

# all_healthy: every backend active in the fast path (the maps, not the API).
all_healthy() {
	xlbt_xlb lb -j backend list | python3 -c '
import json, sys
bes = json.load(sys.stdin)
bes = bes.get("backends", bes) if isinstance(bes, dict) else bes
ok = [b for b in bes if b.get("state") == "active"]
sys.exit(0 if len(ok) == 3 else 1)'
}
xlbt_wait_for 10 all_healthy || xlbt_fail "3 healthy nodes at start" "$(xlbt_xlb lb backend list)"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
lines0=$(wc -l <"$LOG")
unhealthy0=$(grep -c -- "->unhealthy" "$LOG")

xlbt_bg_start lb "$TMP/idle.log" $CLIENT idle 127.0.0.1 9180 "$HOLD" 60 "$TMP/idle.ready"
IDLE=$XLBT_BG_PID
xlbt_wait_for 10 test -s "$TMP/idle.ready" || xlbt_fail "idle client up" "$(cat "$TMP/idle.log")"
held=$(cat "$TMP/idle.ready")
xlbt_log "$held of $HOLD idle connections made (the rest wait in the kernel or time out)"
# Several check intervals (16 x 0.5 s): every node stays healthy.
for ((i = 0; i < 16; i++)); do
	all_healthy || xlbt_fail "nodes stay healthy while $held connections are held" \
		"$(
			xlbt_xlb lb backend list
			grep health: "$LOG" | tail -5
		)"
	sleep "$(printf %d.%03d $((INTERVAL_MS / 1000)) $((INTERVAL_MS % 1000)))"
done
# Established: those xlbd accepted (a socket of its own: ss names the
# process) and those the kernel holds in the backlog. Its open files count
# too, but they also hold health probes' sockets of the moment.
conns=$(xlbt_exec lb ss -Htnp state established '( sport = :9180 )')
est=$(grep -c . <<<"$conns")
open=$(grep -c "pid=$PID," <<<"$conns")
fds=$(ls "/proc/$PID/fd" | wc -l)
xlbt_log "while held: $est established, $open accepted by xlbd (the rest in the backlog);" \
	"$fds files open (limit $NOFILE)"
((open > 0)) || xlbt_fail "ss names the connections xlbd accepted" "$conns"
((open <= 64)) || xlbt_fail "xlbd accepts at most max_connections" "$open" "<= 64"
((fds < NOFILE)) || xlbt_fail "xlbd keeps below its open files limit" "$fds" "< $NOFILE"
xlbt_expect_eq "no node marked unhealthy while held" "$(grep -c -- "->unhealthy" "$LOG")" \
	"$unhealthy0"
xlbt_bg_stop "$IDLE" >/dev/null
xlbt_wait_for 10 xlbt_exec lb curl -sf --max-time 1 "$ADMIN/metrics" ||
	xlbt_fail "the Admin API answers again once they are closed"
xlbt_expect_eq "the Admin API, with the key, after" \
	"$(code -H "X-API-KEY: $KEY" "$ADMIN/apisix/admin/upstreams")" 200
lines=$(($(wc -l <"$LOG") - lines0))
xlbt_log "log lines while held and after: $lines"
((lines <= 20)) || xlbt_fail "no log flood" "$lines lines: $(tail -5 "$LOG")" "<= 20"

# --- sizes and deadlines ----------------------------------------------------------

rss0=$(rss)
read -r hstatus sent < <(xlbt_exec lb $CLIENT header 127.0.0.1 9180 $((64 << 20)))
rss1=$(rss)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
xlbt_log "64 MB header: $hstatus after $sent bytes sent; RSS ${rss0} kB -> ${rss1} kB" \
	"(peak $hwm kB)"
xlbt_expect_eq "a 64 MB request header" "$hstatus" 431
((rss1 - rss0 < 8192)) || xlbt_fail "RSS growth from a 64 MB header" "$((rss1 - rss0)) kB" "< 8192 kB"
((hwm - rss0 < 8192)) || xlbt_fail "peak RSS growth from a 64 MB header" "$((hwm - rss0)) kB" \
	"< 8192 kB"
head -c 70000 /dev/zero | tr '\0' a >"$TMP/body"
xlbt_expect_eq "a body above max_body_size" "$(code -H "X-API-KEY: $KEY" -X PUT \
	--data-binary @"$TMP/body" "$ADMIN/apisix/admin/upstreams/big")" 413
read -r status secs < <(xlbt_exec lb $CLIENT slow 127.0.0.1 9180)
xlbt_log "a head that never ends: $status after $secs s (header_timeout 2)"
xlbt_expect_eq "a head that never ends" "$status" 408
all_healthy || xlbt_fail "nodes healthy at the end" "$(xlbt_xlb lb backend list)"
kill -0 "$PID" || xlbt_fail "xlbd still running"
echo "PASS: admin limits (held $held, accepted $open, log +$lines lines, 64 MB header $hstatus," \
	"RSS ${rss0}->${rss1} kB)"
