#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of the xlb CLI's error handling on the reference topology
# (docs/testing.md), with the LB attached once and two VIPs configured.
#
# Every error case must give one line on stderr ("xlb: ...") that names the
# object and the reason, the documented exit status (1 usage error, 2
# operation failed), with -j exactly one JSON object {"error": ..., "exit": N}
# on stdout and nothing on stderr, and must change nothing: the pinned state
# (`xlb -j vip list`, `-j backend list`, `-j status`, the xlb_config map) is
# compared before and after each case.
#
# Cases: attach twice, detach where xlb is not attached and of a missing
# device, vip add of an existing VIP, vip del / backend add / backend set /
# flows --vip / pick on a missing VIP, an IPv4 backend on an IPv6 VIP, bad
# weights and states, bad VIP syntax, unknown object / verb / option,
# missing object / verb, an ambiguous prefix, a backend added twice,
# backend set without --weight or --state, an upstream id, API key or agent
# URL too long to send whole, commands in a fresh pin
# directory (before any attach). Also: unique prefixes work, --help at every
# level, 20 parallel backend adds and 10 parallel vip adds (the pin
# directory's flock serialises writers), `stats --watch 1 --count 2`.
#
# Environment: XLB (default build/xlb, relative to the repository root).
# Exit: 0 pass, 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

. tests/lib/testbed.sh

xlbt_require_exe XLB build/xlb
xlbt_require_root
xlbt_require_cmd ip python3 bpftool timeout realpath

# Every xlb call here is a map operation or a parse: 20 s is plenty.
export XLBT_XLB_TIMEOUT=20

VIP4=$XLBT_VIP4 # 198.18.100.1
VIP6=$XLBT_VIP6 # fd00:78:6c62:100::1
SVC4="$VIP4:80/tcp"
SVC6="[$VIP6]:80/tcp"
NOVIP="198.18.100.99:80/tcp"  # never created
SVCREF="198.18.102.1:80/tcp"  # reference for the digest check
PAR_BE=(198.18.0.{100..119})  # parallel backend adds (need not exist)
PAR_VIP=(198.18.101.{10..19}) # parallel vip adds (port 80/tcp)

# --- helpers -------------------------------------------------------------------

# xlb_ok ARGS...: run xlb on the LB; fail unless it exits 0. Stdout in $OUT.
xlb_ok() {
	local rc=0
	OUT=$(xlbt_xlb lb "$@" 2>"$TMP/xlb.err" </dev/null) || rc=$?
	((rc == 0)) || xlbt_fail "xlb $*" "exit $rc: $(head -c 600 "$TMP/xlb.err") $OUT" "exit 0"
}

# snapshot NAME: the LB's configuration state, raw, in $TMP/NAME.* (vip
# list, backend list, status, the xlb_config map; all JSON).
snapshot() {
	local p=$TMP/$1
	xlbt_xlb lb -j vip list >"$p.vips" 2>&1 </dev/null &&
		xlbt_xlb lb -j backend list >"$p.backends" 2>&1 </dev/null &&
		xlbt_xlb lb -j status >"$p.status" 2>&1 </dev/null &&
		xlbt_exec lb timeout 10 bpftool -j map dump pinned "$PIN/xlb_config" \
			>"$p.config" 2>&1 </dev/null
}

# canonical NAME: snapshot NAME as canonical text (sorted, no counters).
canonical() {
	local p=$TMP/$1
	python3 "$HELPER" snapshot "$p.vips" "$p.backends" "$p.status" "$p.config" 2>&1
}

# take_snapshot: remember the state all error cases must leave alone.
take_snapshot() {
	snapshot ref && canonical ref >"$TMP/ref.canon" ||
		xlbt_fail "state snapshot (vip list, backend list, status, xlb_config)" \
			"$(head -c 600 "$TMP/ref.canon" "$TMP/ref".*)"
}

# same_state WHAT: the state is still the reference one. Raw output first
# (cheap; map walks are stable while nothing changes), canonical on doubt.
same_state() {
	local f
	snapshot now || xlbt_fail "$1: state snapshot" "$(head -c 600 "$TMP/now".*)"
	for f in vips backends status config; do
		cmp -s "$TMP/ref.$f" "$TMP/now.$f" || break
	done
	[ "$f" = config ] && cmp -s "$TMP/ref.config" "$TMP/now.config" && return 0
	canonical now >"$TMP/now.canon"
	cmp -s "$TMP/ref.canon" "$TMP/now.canon" ||
		xlbt_fail "$1: the state changed" \
			"$(diff "$TMP/ref.canon" "$TMP/now.canon" | head -20 | tr '\n' ' ')" \
			"no change"
}

# expect_err WHAT CODE WORDS ARGS...: `xlb ARGS` (on the LB) fails with
# status CODE and one line on stderr naming every word of WORDS ('|'
# separated, case-insensitive); `xlb -j ARGS` gives the JSON form; neither
# changes the state.
expect_err() {
	local what=$1 code=$2 words=$3 rc=0 line w ww=() problems
	shift 3
	IFS='|' read -r -a ww <<<"$words"
	xlbt_xlb lb "$@" >"$TMP/e.out" 2>"$TMP/e.err" </dev/null || rc=$?
	line=$(cat "$TMP/e.err")
	((rc == code)) || xlbt_fail "$what: xlb $*: exit status" "$rc ($line)" "$code"
	[ ! -s "$TMP/e.out" ] ||
		xlbt_fail "$what: xlb $*: stdout" "$(head -c 300 "$TMP/e.out")" "empty"
	[ "$(wc -l <"$TMP/e.err")" -eq 1 ] && [[ $line == "xlb: "?* ]] ||
		xlbt_fail "$what: xlb $*: message" "$line" "one line 'xlb: ...'"
	for w in "${ww[@]}"; do
		grep -qiF -- "$w" <<<"$line" ||
			xlbt_fail "$what: xlb $*: message names '$w'" "$line" "contains '$w'"
	done

	rc=0
	xlbt_xlb lb -j "$@" >"$TMP/j.out" 2>"$TMP/j.err" </dev/null || rc=$?
	((rc == code)) || xlbt_fail "$what: xlb -j $*: exit status" \
		"$rc ($(head -c 300 "$TMP/j.out" "$TMP/j.err"))" "$code"
	[ ! -s "$TMP/j.err" ] ||
		xlbt_fail "$what: xlb -j $*: stderr" "$(head -c 300 "$TMP/j.err")" "empty"
	problems=$(python3 "$HELPER" json-error-line "$TMP/j.out" "$code" -- "${ww[@]}") ||
		xlbt_fail "$what: xlb -j $*: JSON error" "$(tr '\n' ';' <<<"$problems")" \
			"{\"error\": \"... ${words//|/ ... } ...\", \"exit\": $code}"

	same_state "$what: xlb $*"
	NCASES=$((NCASES + 1))
}

# expect_help WHAT WORD ARGS...: `xlb ARGS` exits 0 and prints a usage text
# that contains WORD.
expect_help() {
	local what=$1 word=$2 rc=0 out
	shift 2
	out=$(xlbt_xlb lb "$@" 2>&1 </dev/null) || rc=$?
	((rc == 0)) || xlbt_fail "help: xlb $*: exit status" "$rc ($(head -c 300 <<<"$out"))" 0
	grep -q '^Usage: xlb' <<<"$out" && grep -qF -- "$word" <<<"$out" ||
		xlbt_fail "help: xlb $*: text" "$(head -c 400 <<<"$out")" "Usage: xlb ... $word ..."
	NHELP=$((NHELP + 1))
}

# --- topology and the LB -------------------------------------------------------

TMP=
NCASES=0
NHELP=0
xlbt_testbed_up 2
TMP=$(xlbt_tmp_dir)
PIN=$(xlbt_pin_dir lb)
HELPER=$PWD/tests/lib/e2e_helper.py
LBDEV=$(xlbt_dev lb)
BE1=$(xlbt_addr4 be1)
BE2=$(xlbt_addr4 be2)
BE1_6=$(xlbt_addr6 be1)
xlbt_log "topology $XLBT_ID up"

xlb_ok attach "$LBDEV" --mode native
xlb_ok vip add "$SVC4"
xlb_ok vip add "$SVC6"
xlb_ok backend add "$SVC4" "$BE1" --weight 1
xlb_ok backend add "$SVC4" "$BE2" --weight 2
xlb_ok backend add "$SVC6" "$BE1_6"
xlb_ok backend add "$SVC6" "$(xlbt_addr6 be2)"
take_snapshot
xlbt_log "LB attached, 2 VIPs, 4 members"

# --- devices ---------------------------------------------------------------------

expect_err "attach twice" 2 "$LBDEV|already attached" attach "$LBDEV"
expect_err "attach twice, other options" 2 "$LBDEV|already attached" \
	attach "$LBDEV" --mode generic --forward l2 --seed 7
expect_err "detach where xlb is not attached" 2 "to lo|not attached" detach lo
expect_err "detach of a missing device" 2 "xlbt${XLBT_ID}zz|does not exist" \
	detach "xlbt${XLBT_ID}zz"
link=$(ip -n "$(xlbt_ns lb)" link show dev "$LBDEV")
grep -qE ' xdp|prog/xdp' <<<"$link" ||
	xlbt_fail "XDP still on $LBDEV after the refused attach/detach" "none" "attached"

# --- VIPs and backends -------------------------------------------------------------

expect_err "vip add of an existing VIP" 2 "$SVC4|already exists" vip add "$SVC4"
expect_err "vip add of an existing IPv6 VIP" 2 "$SVC6|already exists" vip add "$SVC6"
expect_err "vip del of a missing VIP" 2 "$NOVIP|does not exist" vip del "$NOVIP"
expect_err "backend add to a missing VIP" 2 "$NOVIP|does not exist" \
	backend add "$NOVIP" "$BE1"
expect_err "backend set on a missing VIP" 2 "$NOVIP|does not exist" \
	backend set "$NOVIP" "$BE1" --weight 3
expect_err "backend del on a missing VIP" 2 "$NOVIP|does not exist" \
	backend del "$NOVIP" "$BE1"
expect_err "backend list of a missing VIP" 2 "$NOVIP|does not exist" \
	backend list "$NOVIP"
expect_err "flows --vip of a missing VIP" 2 "$NOVIP|does not exist" flows --vip "$NOVIP"
expect_err "pick on a missing VIP" 2 "$NOVIP|does not exist" \
	pick "$NOVIP" "$(xlbt_addr4 client):40000"
expect_err "IPv4 backend on an IPv6 VIP" 1 "$BE1|IPv6" backend add "$SVC6" "$BE1"
expect_err "backend added twice" 2 "$BE1|already in|$SVC4" backend add "$SVC4" "$BE1"
expect_err "backend added twice (other weight)" 2 "$BE1|already in|$SVC4" \
	backend add "$SVC4" "$BE1" --weight 9
expect_err "backend del of a non-member" 2 "198.18.0.99|not in|$SVC4" \
	backend del "$SVC4" 198.18.0.99
expect_err "backend set of a non-member" 2 "198.18.0.99|not in|$SVC4" \
	backend set "$SVC4" 198.18.0.99 --weight 3
for w in 65536 -1 abc; do
	expect_err "backend add --weight $w" 1 "weight|'$w'|0-65535" \
		backend add "$SVC4" 198.18.0.99 --weight "$w"
	expect_err "backend set --weight $w" 1 "weight|'$w'|0-65535" \
		backend set "$SVC4" "$BE1" --weight "$w"
done
expect_err "backend set --state bogus" 1 "state|'bogus'" \
	backend set "$SVC4" "$BE1" --state bogus
expect_err "backend set without --weight or --state" 1 "--weight|--state" \
	backend set "$SVC4" "$BE1"

# Bad VIP syntax (parsed, never sent to): the form, then the words its
# message must contain. A bad port is reported by the address parser, which
# names ADDR:PORT without the /PROTO.
while read -r vip words; do
	expect_err "vip add $vip" 1 "$words" vip add "$vip"
	expect_err "backend add to $vip" 1 "$words" backend add "$vip" "$BE1"
done <<-EOF
	1.2.3.4:80 VIP '1.2.3.4:80'|ADDR:PORT/PROTO
	fd00::1:80/tcp VIP 'fd00::1:80/tcp'|[ADDR]:PORT/PROTO
	1.2.3.4:80/sctp VIP '1.2.3.4:80/sctp'|'sctp'|tcp or udp
	1.2.3.4:99999/tcp '1.2.3.4:99999'|port '99999'|0-65535
EOF

# --- the command line itself -------------------------------------------------------

expect_err "unknown object" 1 "unknown object|'frob'" frob
expect_err "unknown verb" 1 "unknown verb|'frob'" vip frob
expect_err "unknown verb of backend" 1 "unknown verb|'frob'" backend frob list
expect_err "unknown option of a verb" 1 "unknown option|--frob" vip list --frob
expect_err "unknown option of attach" 1 "unknown option|--frob" attach "$LBDEV" --frob
expect_err "unknown global option" 1 "unknown option|--frob" --frob vip list
expect_err "missing argument" 1 "missing argument|vip add" vip add
expect_err "ambiguous prefix" 1 "ambiguous|'d'|detach|decap" d
expect_err "ambiguous prefix st" 1 "ambiguous|'st'|status|stats" st
expect_err "ambiguous prefix of an option" 1 "ambiguous|--encap|--encap-src|--encap-src6" \
	attach "$LBDEV" --encap 198.18.128.0/24
expect_err "bad --hash" 1 "--hash|'md5'" vip add 198.18.100.98:80/tcp --hash md5
expect_err "bad --table-size" 1 "--table-size|'4'|prime" \
	vip add 198.18.100.98:80/tcp --table-size 4
expect_err "bad --forward" 1 "forward|'gre'" attach "$LBDEV" --forward gre
expect_err "bad --mode" 1 "mode|'turbo'" attach "$LBDEV" --mode turbo
# Agent commands refuse what they would otherwise cut (checked before any request).
LONG_ID=$(printf 'u%.0s' {1..65})
expect_err "upstream id of 65 characters" 1 "upstream id|65 characters|at most 64" \
	upstream show "$LONG_ID"
expect_err "API key of 128 characters" 1 "api-key|128 characters|at most 127" \
	health --api-key "$(printf 'k%.0s' {1..128})"
expect_err "agent URL of 401 characters" 1 "--admin|401 characters|at most 400" \
	reload --admin "http://127.0.0.1:9180/$(printf 'p%.0s' {1..379})"

# A missing object or verb: exit 1 with the choices (usage text); with -j
# a JSON error like every other one.
for spec in "object|" "verb|vip" "verb|backend" "verb|decap"; do
	what=${spec%%|*} obj=${spec#*|}
	rc=0
	# shellcheck disable=SC2086
	xlbt_xlb lb $obj >"$TMP/m.out" 2>&1 </dev/null || rc=$?
	xlbt_expect_eq "xlb $obj (no $what): exit status" "$rc" 1
	grep -q "^Usage: xlb $obj" "$TMP/m.out" ||
		xlbt_fail "xlb $obj (no $what): usage text" "$(head -c 300 "$TMP/m.out")" \
			"Usage: xlb $obj..."
	rc=0
	# shellcheck disable=SC2086
	xlbt_xlb lb -j $obj >"$TMP/j.out" 2>"$TMP/j.err" </dev/null || rc=$?
	xlbt_expect_eq "xlb -j $obj (no $what): exit status" "$rc" 1
	problems=$(python3 "$HELPER" json-error-line "$TMP/j.out" 1 "missing $what") ||
		xlbt_fail "xlb -j $obj (no $what): JSON error" \
			"$(tr '\n' ';' <<<"$problems") stderr: $(head -c 200 "$TMP/j.err")" \
			"{\"error\": \"missing $what ...\", \"exit\": 1}"
done

# Unique prefixes give what the full words give.
for spec in "v l|vip list" "b l|backend list" "ba li $SVC4|backend list $SVC4" "statu|status" "fl|flows"; do
	short=${spec%%|*} long=${spec#*|}
	# shellcheck disable=SC2086
	xlb_ok -j $long
	want=$OUT
	# shellcheck disable=SC2086
	xlb_ok -j $short
	xlbt_expect_eq "xlb -j $short (= xlb -j $long)" "$OUT" "$want"
	# shellcheck disable=SC2086
	xlb_ok $long
	want=$OUT
	# shellcheck disable=SC2086
	xlb_ok $short
	xlbt_expect_eq "xlb $short (= xlb $long)" "$OUT" "$want"
done

# --help at every level; the top level lists every object's options.
expect_help "top" "OBJECT VERB" --help
expect_help "top" "OBJECT VERB" -h
expect_help "top" "vip" help
top=$(xlbt_xlb lb --help 2>&1 </dev/null)
for obj in attach detach status stats flows pick; do
	expect_help "$obj" "xlb $obj" "$obj" --help
	line=$(grep "^  xlb $obj\b" <<<"$top")
	for opt in $(xlbt_xlb lb "$obj" --help 2>/dev/null </dev/null | grep -oE -- '--[a-z0-9-]+'); do
		grep -qF -- "$opt" <<<"$line" ||
			xlbt_fail "xlb --help: the line of $obj lists $opt" "$line" "... $opt ..."
	done
done
for spec in "vip add del list" "backend add set del list" "decap attach detach vip stats"; do
	# shellcheck disable=SC2086
	set -- $spec
	obj=$1
	shift
	expect_help "$obj" "xlb $obj" "$obj" --help
	expect_help "$obj" "xlb $obj" "$obj" -h
	for verb; do
		expect_help "$obj $verb" "xlb $obj $verb" "$obj" "$verb" --help
		grep -qE "^  xlb $obj .*\b$verb\b" <<<"$top" ||
			xlbt_fail "xlb --help mentions $obj $verb" "$(grep "xlb $obj" <<<"$top")" "$verb"
	done
done
expect_help "prefix" "xlb backend set" b s --help
xlbt_log "$NCASES error cases, $NHELP help texts ok"

# --- before attach: a fresh pin directory --------------------------------------------

FRESH=$(xlbt_run_dir)/bpf/fresh
mkdir "$FRESH" || xlbt_fail "mkdir $FRESH"
for cmd in "vip list" "vip add $SVC4" "vip del $SVC4" "backend list" \
	"backend add $SVC4 $BE1" "backend set $SVC4 $BE1 --weight 2" \
	"backend del $SVC4 $BE1" "stats" "stats --watch 1 --count 1" "flows" \
	"flows --vip $SVC4" "pick $SVC4 $(xlbt_addr4 client):40000"; do
	# shellcheck disable=SC2086
	expect_err "before attach: $cmd" 2 "$FRESH|xlb attach" --pin-dir "$FRESH" $cmd
done
expect_err "before attach, missing pin dir: vip add" 2 "$FRESH/none|xlb attach" \
	--pin-dir "$FRESH/none" vip add "$SVC4"
left=$(ls -A "$FRESH")
xlbt_expect_eq "files left in the fresh pin directory" "$left" ""
[ ! -e "$FRESH/none" ] || xlbt_fail "$FRESH/none after a failed vip add" "exists" "absent"
rmdir "$FRESH"
xlbt_log "fresh pin directory ok"

# --- concurrency: 30 writers at once ---------------------------------------------------

# Every writer waits at a barrier (a file, polled for at most 10 s), so they
# start within a few milliseconds of each other.
GO=$TMP/go
PAR_PIDS=()
PAR_NAMES=()
start_par() {
	local name=$1
	shift
	(
		for ((i = 0; i < 1000; i++)); do
			[ -e "$GO" ] && break
			sleep 0.01
		done
		xlbt_xlb lb "$@" </dev/null
	) >"$TMP/par.$name.out" 2>"$TMP/par.$name.err" &
	PAR_PIDS+=($!)
	PAR_NAMES+=("$name: xlb $*")
}
for a in "${PAR_BE[@]}"; do
	start_par "be$a" backend add "$SVC4" "$a"
done
for v in "${PAR_VIP[@]}"; do
	start_par "vip$v" vip add "$v:80/tcp"
done
t0=${EPOCHREALTIME/[.,]/}
touch "$GO"
fails=()
for i in "${!PAR_PIDS[@]}"; do
	rc=0
	wait "${PAR_PIDS[i]}" || rc=$?
	((rc == 0)) || fails+=("${PAR_NAMES[i]} -> exit $rc $(head -c 200 "$TMP/par.${PAR_NAMES[i]%%:*}.err")")
done
t1=${EPOCHREALTIME/[.,]/}
((${#fails[@]} == 0)) ||
	xlbt_fail "parallel writers that failed" "$(printf '%s; ' "${fails[@]}")" "none"
xlbt_log "30 parallel writers done in $(((t1 - t0) / 1000)) ms"

# The same members, one by one and in reverse order: Maglev orders by backend
# identity, so the digest must be the parallel-built VIP's.
xlb_ok vip add "$SVCREF"
for ((i = ${#PAR_BE[@]} - 1; i >= 0; i--)); do
	xlb_ok backend add "$SVCREF" "${PAR_BE[i]}"
done
xlb_ok backend add "$SVCREF" "$BE2" --weight 2
xlb_ok backend add "$SVCREF" "$BE1" --weight 1
xlb_ok -j vip list
printf '%s\n' "$OUT" >"$TMP/c.vips"
xlb_ok -j backend list
printf '%s\n' "$OUT" >"$TMP/c.backends"
xlb_ok -j status
printf '%s\n' "$OUT" >"$TMP/c.status"
args=()
for a in "${PAR_BE[@]}" "$BE1" "$BE2"; do args+=(--addr "$a"); done
for v in "${PAR_VIP[@]}"; do args+=(--vip "$v"); done
problems=$(python3 "$HELPER" concurrency "$TMP/c.vips" "$TMP/c.backends" "$TMP/c.status" \
	--svc "$SVC4" --ref "$SVCREF" --svc-backends $((${#PAR_BE[@]} + 2)) "${args[@]}") ||
	xlbt_fail "state after 20 parallel backend adds and 10 parallel vip adds" \
		"$(tr '\n' ';' <<<"$problems")" "each once, counts and digests consistent"
# The text listing agrees with the JSON one.
xlb_ok vip list
n=$(grep -cE "^$SVC4 .* backends $((${#PAR_BE[@]} + 2)) +digest [0-9a-f]{16}\$" <<<"$OUT")
xlbt_expect_eq "xlb vip list: $SVC4 line with $((${#PAR_BE[@]} + 2)) backends" "$n" 1
xlbt_expect_eq "xlb vip list: lines" "$(wc -l <<<"$OUT")" $((${#PAR_VIP[@]} + 3))
xlbt_log "concurrency ok"

# --- stats --watch, not on a terminal -------------------------------------------------

t0=${EPOCHREALTIME/[.,]/}
rc=0
xlbt_xlb lb stats --watch 1 --count 2 >"$TMP/watch.out" 2>"$TMP/watch.err" </dev/null || rc=$?
t1=${EPOCHREALTIME/[.,]/}
ms=$(((t1 - t0) / 1000))
xlbt_expect_eq "stats --watch 1 --count 2: exit status" "$rc" 0
xlbt_expect_eq "stats --watch 1 --count 2: snapshots ('VIPs:' lines)" \
	"$(grep -c '^VIPs:$' "$TMP/watch.out")" 2
xlbt_expect_eq "stats --watch 1 --count 2: escape characters" \
	"$(tr -dc '\033' <"$TMP/watch.out" | wc -c)" 0
grep -qF "$SVC4" "$TMP/watch.out" ||
	xlbt_fail "stats --watch: names $SVC4" "$(head -c 300 "$TMP/watch.out")" "$SVC4"
((ms >= 1800 && ms <= 10000)) ||
	xlbt_fail "stats --watch 1 --count 2: run time" "$ms ms" "about 2000 ms"
rc=0
xlbt_xlb lb -j stats --watch 1 --count 2 >"$TMP/watchj.out" 2>"$TMP/watchj.err" </dev/null ||
	rc=$?
xlbt_expect_eq "-j stats --watch 1 --count 2: exit status" "$rc" 0
problems=$(python3 "$HELPER" watch-json "$TMP/watchj.out" 2) ||
	xlbt_fail "-j stats --watch 1 --count 2: output" "$problems" "2 JSON snapshots"
xlbt_log "stats --watch ok ($ms ms)"

xlbt_log "PASS"
exit 0
