# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Traffic through the LB for the forwarding end-to-end tests; source it
# after testbed.sh, once the topology is up:
#
#   xlb_ok lb vip add "$SVC"             # xlb that must succeed; stdout in $OUT
#   warm_up "$SVC" 10000 "http://$VIP/"   # until every backend has answered
#   curl_batch "$TMP/b.out" 11000 300 "http://$VIP/"
#   expect_batch "$SVC" "$TMP/b.out" 300 [FORBIDDEN_BACKEND]
#
# Backends answer HTTP with their name (be1 ...: tests/lib/backend_server.py).
# Scratch files go to xlbt_tmp_dir. XLBT_BATCH_SECONDS bounds one
# curl_batch (default 300).

# xlb_ok HOST ARGS...: run xlb in HOST's namespace; fail unless it exits 0.
# Its stdout is in $OUT.
xlb_ok() {
	local host=$1 rc=0 err
	shift
	err=$(xlbt_tmp_dir)/xlb.err
	OUT=$(xlbt_xlb "$host" "$@" 2>"$err" </dev/null) || rc=$?
	((rc != 124)) || xlbt_fail "xlb $* (on $host)" "still running after 60 s" "exit 0"
	((rc == 0)) || xlbt_fail "xlb $* (on $host)" \
		"exit $rc: $(head -c 600 "$err") $OUT" "exit 0"
}

# xdp_on HOST: 0 if HOST's device has an XDP program attached.
xdp_on() {
	local l
	l=$(ip -n "$(xlbt_ns "$1")" link show dev "$(xlbt_dev "$1")")
	grep -qE ' xdp|prog/xdp' <<<"$l"
}

# curl_batch OUT FIRST_PORT COUNT URL [CURL_ARGS...]: COUNT connections
# (one curl each, source ports FIRST_PORT...) from the client; OUT gets
# 'PORT BODY' or 'PORT ERR ...' per request. Stops after 5 failures in a row
# and after XLBT_BATCH_SECONDS in all.
curl_batch() {
	local out=$1 first=$2 count=$3
	shift 3
	xlbt_exec client timeout "${XLBT_BATCH_SECONDS:-300}" bash -c '
		first=$1 count=$2 fails=0
		shift 2
		for ((p = first; p < first + count; p++)); do
			if body=$(curl -sS -g --connect-timeout 2 --max-time 3 \
					--local-port "$p" "$@" 2>&1); then
				echo "$p $body"
				fails=0
			else
				echo "$p ERR ${body//$'\''\n'\''/ }"
				((++fails >= 5)) && break
			fi
		done
		exit 0' _ "$first" "$count" "$@" >"$out" 2>&1
}

# expect_batch WHAT OUT COUNT [FORBIDDEN_NAME]: COUNT answers, every one a
# backend name (and never FORBIDDEN_NAME).
expect_batch() {
	local what=$1 out=$2 count=$3 forbid=${4:-} n bad
	n=$(grep -cE '^[0-9]+ be[0-9]+$' "$out")
	bad=$(grep -vE '^[0-9]+ be[0-9]+$' "$out" | head -3 | tr '\n' ';')
	[ "$n" -eq "$count" ] ||
		xlbt_fail "$what: answered connections" "$n (e.g. $bad)" "$count"
	if [ -n "$forbid" ]; then
		n=$(grep -c " $forbid\$" "$out")
		xlbt_expect_eq "$what: connections that reached $forbid" "$n" 0
	fi
}

# seen OUT: the backend names in a batch, sorted, comma-separated.
seen() {
	awk 'NF == 2 && $2 ~ /^be[0-9]+$/ { print $2 }' "$1" | sort -u | paste -sd,
}

# warm_up WHAT FIRST_PORT URL: until every backend of the topology has
# answered once (the first packets to a backend may go to the kernel while
# its next hop resolves); 100 connections and 20 s at most.
warm_up() {
	local what=$1 first=$2 url=$3 i tmp all end out
	tmp=$(xlbt_tmp_dir)
	out=$tmp/warm.out
	all=$(xlbt_backends | paste -sd,)
	end=$((${EPOCHREALTIME/[.,]/} + 20000000))
	: >"$out"
	for ((i = 0; i < 20 && ${EPOCHREALTIME/[.,]/} < end; i++)); do
		curl_batch "$tmp/warm.part" $((first + i * 5)) 5 "$url"
		cat "$tmp/warm.part" >>"$out"
		[ "$(seen "$out")" = "$all" ] && return 0
		sleep 0.5
	done
	xlbt_fail "$what: warm-up never reached every backend" \
		"$(seen "$out"); LB verdicts: $(xlbt_xlb lb stats 2>&1 </dev/null |
			sed -n '/^Reasons/,$p' | tr -s ' \n' ' ')" "$all"
}

# --- long-lived connections ---------------------------------------------------

# hold_start ADDR CONNS MAX_SECONDS: CONNS connections from the client to
# ADDR:80 held open and exercised in rounds (e2e_helper.py hold: one GET on
# each per round, a connection broken when it fails or another backend
# answers); returns once all are open, the helper's PID in HOLD.
# Files: hold.progress ('ROUND BROKEN'), hold.json (summary, at the end).
hold_start() {
	local tmp
	tmp=$(xlbt_tmp_dir)
	xlbt_bg_start client "$tmp/hold.log" python3 "$XLBT_ROOT/tests/lib/e2e_helper.py" hold \
		--addr "$1" --port 80 --conns "$2" --ready "$tmp/hold.ready" \
		--progress "$tmp/hold.progress" --out "$tmp/hold.json" --max-seconds "$3"
	HOLD=$XLBT_BG_PID
	xlbt_wait_for 60 test -s "$tmp/hold.ready" ||
		xlbt_fail "$2 connections held to $1" "$(tail -3 "$tmp/hold.log")"
}

# rounds: rounds the held connections went through so far.
rounds() {
	cut -d' ' -f1 "$(xlbt_tmp_dir)/hold.progress" 2>/dev/null || echo 0
}

# hold_broken: held connections broken so far.
hold_broken() {
	cut -d' ' -f2 "$(xlbt_tmp_dir)/hold.progress" 2>/dev/null || echo 0
}

rounds_ge() {
	(($(rounds) >= $1))
}

# wait_rounds N: the held connections were all exercised N more times.
wait_rounds() {
	local want=$(($(rounds) + $1))
	xlbt_wait_for 60 rounds_ge "$want" ||
		xlbt_fail "held connections exercised $1 more rounds" "$(rounds)" ">= $want"
}

# hold_stop: stop the helper; its summary (JSON) in HOLD_SUMMARY and the
# broken count in HOLD_BROKEN (the first reasons go to stderr).
hold_stop() {
	local tmp
	tmp=$(xlbt_tmp_dir)
	xlbt_bg_stop "$HOLD" 5
	[ -s "$tmp/hold.json" ] || xlbt_fail "hold summary" "$(tail -3 "$tmp/hold.log")"
	HOLD_SUMMARY=$(cat "$tmp/hold.json")
	HOLD_BROKEN=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["broken"])
for w in d["why"]:
    print("  broken:", w, file=sys.stderr)' "$tmp/hold.json")
}
