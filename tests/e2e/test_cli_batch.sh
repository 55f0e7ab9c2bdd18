#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of `xlb -batch`, `xlb save` and `xlb stats --zero` on the
# reference topology (docs/testing.md), two backends answering over IPIP.
#
# Checks: a batch with comments, blank lines and quoting makes the VIPs,
# backends and weights it says (60 VIPs, 2 of them served), and builds the
# same Maglev table as the single commands do (equal table digests);
# traffic reaches both backends. A batch with one bad line (a missing VIP,
# a bad weight) applies nothing, names FILE:LINE for each bad line and
# exits 2 (1 for syntax errors alone), in text and with -j (one JSON
# object listing the lines); with -force its good lines are applied and the
# exit status is still 2. A batch from standard input (-batch -) sets a
# state. `xlb save`, every VIP deleted by a batch, then `xlb -batch` of the
# saved file gives the same save, the same table digests and traffic again.
# `stats --zero --vip` zeroes one VIP and its backends, `stats --zero` all.
# `attach --backends 16` sizes every map indexed by backend id to 16 (xlb
# status), a batch wanting a 17th id applies nothing and names the option,
# a single `backend add` beyond 16 is refused.
#
# Environment: XLB (default build/xlb, relative to the repository root).
# Exit: 0 pass, 1 fail, 77 skip.

set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/testbed.sh
. tests/lib/traffic.sh
xlbt_require_exe XLB build/xlb
xlbt_require_root
xlbt_require_cmd ip curl python3 timeout realpath

VIP4=$XLBT_VIP4 VIP6=$XLBT_VIP6 # 198.18.100.1, fd00:78:6c62:100::1
SVC4="$VIP4:80/tcp" SVC6="[$VIP6]:80/tcp"
SVCREF="198.18.102.1:80/tcp" # built by single commands: the digest reference
BACKENDS=(be1 be2)
EXTRA=58 # VIPs 198.18.101.N:80/tcp with three unreachable backends each

# --- helpers -------------------------------------------------------------------

# xlb_rc WANT ARGS...: run xlb on the LB; fail unless it exits WANT. Stdout
# in $OUT, stderr in $ERR.
xlb_rc() {
	local want=$1 rc=0
	shift
	OUT=$(xlbt_xlb lb "$@" 2>"$TMP/rc.err" </dev/null) || rc=$?
	ERR=$(cat "$TMP/rc.err")
	((rc == want)) || xlbt_fail "xlb $*: exit status" "$rc: $(head -c 600 <<<"$ERR") $OUT" \
		"$want"
}

# digest SVC: the table digest `xlb vip list` shows for SVC.
digest() {
	xlbt_xlb lb -j vip list </dev/null | python3 -c '
import json, sys
print([v["table_digest"] for v in json.load(sys.stdin) if v["vip"] == sys.argv[1]][0])' "$1"
}

# counts: "VIPS MEMBERS BACKENDS" in use, from xlb -j status.
counts() {
	xlbt_xlb lb -j status </dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)["maps"]
print(m["vips"]["used"], m["members"]["used"], m["backends"]["used"])'
}

# contains WHAT TEXT WORDS...: TEXT contains every word.
contains() {
	local what=$1 text=$2 w
	shift 2
	for w in "$@"; do
		grep -qF -- "$w" <<<"$text" || xlbt_fail "$what: names '$w'" "$text" "'$w'"
	done
}

# --- topology, backends' servers and decap -----------------------------------

# serve BE: BE's HTTP server answering, xlb decap on its device for both VIPs.
serve() {
	xlbt_bg_start "$1" "$TMP/$1.log" python3 tests/lib/backend_server.py \
		--name "$1" --http-port 80 --pid-file "$TMP/$1.pid"
	xlbt_wait_for 10 test -s "$TMP/$1.pid" ||
		xlbt_fail "$1 server not ready after 10 s" "$(head -c 300 "$TMP/$1.log")"
	xlb_ok "$1" decap attach "$(xlbt_dev "$1")"
	xlb_ok "$1" decap vip add "$VIP4"
	xlb_ok "$1" decap vip add "$VIP6"
}

TMP=
xlbt_testbed_up 2
TMP=$(xlbt_tmp_dir)
xlbt_log "topology $XLBT_ID up"
for be in "${BACKENDS[@]}"; do
	serve "$be"
done
LBDEV=$(xlbt_dev lb)
xlb_ok lb attach "$LBDEV" --mode native --forward ipip
BE1=$(xlbt_addr4 be1) BE2=$(xlbt_addr4 be2) BE1V6=$(xlbt_addr6 be1)

# --- a good batch --------------------------------------------------------------

{
	echo "# xlb -batch: the test's VIPs"
	echo
	echo "vip add $SVC4 --table-size 1009   # served"
	echo "  vip add '$SVC6' --hash src"
	echo "backend add $SVC4 $BE1 --weight 1"
	echo "backend add \"$SVC4\" $BE2 --w 2"
	echo "back add $SVC6 [$BE1V6]:80"
	for ((i = 1; i <= EXTRA; i++)); do
		echo "vip add 198.18.101.$i:80/tcp --table-size 251"
		for j in 1 2 3; do
			echo "backend add 198.18.101.$i:80/tcp 198.18.99.$j:80 --weight $j"
		done
	done
} >"$TMP/good.batch"
xlb_rc 0 -batch "$TMP/good.batch"
[ -z "$OUT" ] || xlbt_fail "xlb -batch: stdout" "$OUT" "nothing"
xlbt_expect_eq "after the batch: VIPs, members, backends" "$(counts)" \
	"$((2 + EXTRA)) $((3 + 3 * EXTRA)) 6"
xlb_ok lb -j backend list "$SVC4"
python3 -c '
import json, sys
got = sorted((b["backend"], b["weight"]) for b in json.loads(sys.argv[1]))
sys.exit(0 if got == [(sys.argv[2], 1), (sys.argv[3], 2)] else "backends of the VIP: %s" % got)' \
	"$OUT" "$BE1" "$BE2" || xlbt_fail "backend list $SVC4 after the batch" "$OUT" \
	"$BE1 weight 1, $BE2 weight 2"

# The same VIP made by single commands has the same table.
xlb_ok lb vip add "$SVCREF" --table-size 1009
xlb_ok lb backend add "$SVCREF" "$BE1" --weight 1
xlb_ok lb backend add "$SVCREF" "$BE2" --weight 2
xlbt_expect_eq "table digest: batch vs single commands" "$(digest "$SVC4")" "$(digest "$SVCREF")"
xlb_ok lb vip del "$SVCREF"
warm_up "$SVC4" 10000 "http://$VIP4/"
xlbt_log "a batch of $(wc -l <"$TMP/good.batch") lines applied; traffic reaches both backends"

# --- bad lines: nothing applied, each named ------------------------------------

xlb_ok lb save
SAVED=$OUT
{
	echo "vip add 198.18.103.1:80/tcp"
	echo "backend add 198.18.103.1:80/tcp $BE1"
	echo "backend add 198.18.103.9:80/tcp $BE1 # no such VIP"
	echo "backend set $SVC4 $BE2 --weight 5"
	echo "backend add $SVC4 $BE1 --weight 7 # already in it"
} >"$TMP/bad.batch"
xlb_rc 2 -batch "$TMP/bad.batch"
contains "bad batch" "$ERR" "$TMP/bad.batch:3: backend add: VIP 198.18.103.9:80/tcp does not exist" \
	"$TMP/bad.batch:5: backend add: backend $BE1 is already in VIP $SVC4" \
	"2 lines with errors: nothing applied"
[ "$(grep -c "bad.batch:[0-9]*:" <<<"$ERR")" -eq 3 ] ||
	xlbt_fail "bad batch: lines naming FILE:LINE" "$ERR" "2 lines, and the summary"
xlb_ok lb save
xlbt_expect_eq "after the bad batch: the maps" "$OUT" "$SAVED"

printf 'vip add 198.18.103.1:80/tcp\nbackend add %s %s --weight x\nvip frob\n' \
	"$SVC4" "$BE1" >"$TMP/syntax.batch"
xlb_rc 1 -batch "$TMP/syntax.batch"
contains "syntax errors" "$ERR" "syntax.batch:2: backend add: weight 'x' is not a number" \
	"syntax.batch:3: vip: 'frob' is not a verb of a batch"

xlb_rc 2 -j -batch "$TMP/bad.batch"
[ -z "$ERR" ] || xlbt_fail "xlb -j -batch: stderr" "$ERR" "nothing"
python3 -c '
import json, sys
o = json.loads(sys.argv[1])
lines = [e["line"] for e in o["errors"]]
ok = lines == [3, 5] and o["exit"] == 2 and o["applied"] == 0 and "nothing applied" in o["error"]
sys.exit(0 if ok else "not the expected report")' "$OUT" ||
	xlbt_fail "xlb -j -batch of a bad batch" "$OUT" "errors on lines 3 and 5, exit 2, applied 0"
xlb_ok lb save
xlbt_expect_eq "after the bad batch (-j): the maps" "$OUT" "$SAVED"

# -force: the good lines go in, the exit status still says something failed.
xlb_rc 2 -batch "$TMP/bad.batch" -force
contains "-force" "$ERR" "-force: 3 commands applied, 2 lines with errors"
xlb_ok lb backend list 198.18.103.1:80/tcp
contains "-force: the good lines' backend" "$OUT" "$BE1"
xlb_ok lb -j backend list "$SVC4"
grep -q '"weight": *5' <<<"$OUT" || xlbt_fail "-force: backend set --weight 5 applied" "$OUT"
xlbt_log "bad lines named, nothing applied; -force applied the good ones"

# A write the kernel refuses midway: 17 VIPs of the largest table size do
# not fit the table space (16 x 1048576 slots, some taken already), so
# creating them fails after the new backend was written; that write is undone.
{
	for ((i = 1; i <= 17; i++)); do
		echo "vip add 198.18.104.$i:80/tcp --table-size 1048573"
	done
	echo "backend add 198.18.104.1:80/tcp 198.18.98.1"
	echo "backend set $SVC4 $BE1 --weight 3"
} >"$TMP/undo.batch"
xlb_ok lb save
SAVED=$OUT
before=$(counts)
xlb_rc 2 -batch "$TMP/undo.batch"
contains "a failed write" "$ERR" "create VIPs: no room left" \
	"the earlier writes were undone, nothing changed"
xlbt_expect_eq "after the undone batch: VIPs, members, backends" "$(counts)" "$before"
xlb_ok lb save
xlbt_expect_eq "after the undone batch: the maps" "$OUT" "$SAVED"
xlbt_log "a write refused midway: undone"

# --- standard input --------------------------------------------------------------

printf 'backend set %s %s --state draining --weight 2\nvip del 198.18.103.1:80/tcp\n' \
	"$SVC4" "$BE2" | xlbt_xlb lb -batch - >"$TMP/stdin.out" 2>&1 ||
	xlbt_fail "xlb -batch - (standard input)" "$(cat "$TMP/stdin.out")" "exit 0"
xlb_ok lb backend list "$SVC4"
grep "$BE2" <<<"$OUT" | grep -q draining || xlbt_fail "-batch -: state of $BE2" "$OUT" "draining"
xlb_ok lb vip list
grep -q 198.18.103.1 <<<"$OUT" && xlbt_fail "-batch -: vip del" "$OUT" "198.18.103.1 gone"

# --- save, flush, restore ------------------------------------------------------

xlb_ok lb save
SAVED=$OUT
printf '%s\n' "$SAVED" >"$TMP/saved.batch"
grep -q "backend set $SVC4 $BE2 --state draining" "$TMP/saved.batch" ||
	xlbt_fail "save: the held state" "$(grep "$BE2" "$TMP/saved.batch")" "--state draining"
before4=$(digest "$SVC4") before6=$(digest "$SVC6")
awk '$1 == "vip" && $2 == "add" { print "vip del " $3 }' "$TMP/saved.batch" >"$TMP/flush.batch"
xlb_rc 0 -batch "$TMP/flush.batch"
xlbt_expect_eq "after deleting every VIP: VIPs, members, backends" "$(counts)" "0 0 0"
xlb_rc 0 -batch "$TMP/saved.batch"
xlb_ok lb save
xlbt_expect_eq "save after restore" "$OUT" "$SAVED"
xlbt_expect_eq "table digest of $SVC4 after restore" "$(digest "$SVC4")" "$before4"
xlbt_expect_eq "table digest of $SVC6 after restore" "$(digest "$SVC6")" "$before6"
echo "backend set $SVC4 $BE2 --state active" >"$TMP/active.batch"
xlb_rc 0 -batch "$TMP/active.batch"
warm_up "$SVC4" 10200 "http://$VIP4/"
xlbt_log "save -> delete every VIP -> batch of the save: the same maps, traffic again"

# --- stats --zero ----------------------------------------------------------------

# stat JSON PATH...: a counter of `xlb -j stats`.
stat() {
	xlbt_xlb lb -j stats </dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[k]
print(v)' "$@"
}
[ "$(stat vips "$SVC4" packets)" -gt 0 ] ||
	xlbt_fail "stats before --zero: $SVC4 packets" "$(stat vips "$SVC4" packets)" "> 0"
xlb_ok lb stats --zero --vip "$SVC4"
xlbt_expect_eq "stats --zero --vip: $SVC4 packets" "$(stat vips "$SVC4" packets)" 0
xlbt_expect_eq "stats --zero --vip: $BE1 packets" "$(stat backends "$BE1" packets)" 0
[ "$(stat reasons fwd_encap packets)" -gt 0 ] ||
	xlbt_fail "stats --zero --vip leaves the reasons" "$(stat reasons fwd_encap packets)" "> 0"
xlb_rc 1 stats --vip "$SVC4"
contains "stats --vip without --zero" "$ERR" "--vip goes with --zero"
xlb_rc 2 stats --zero --vip 198.18.103.9:80/tcp
contains "stats --zero of a missing VIP" "$ERR" "198.18.103.9:80/tcp does not exist"
xlb_ok lb stats --zero
xlbt_xlb lb -j stats </dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
# Reasons other than forwarding may count a neighbour probe meanwhile.
n = sum(v["packets"] for g in ("vips", "backends") for v in s[g].values())
n += s["reasons"]["fwd_encap"]["packets"]
sys.exit(0 if n == 0 else "%d packets left" % n)' ||
	xlbt_fail "stats --zero: every counter" "$(xlbt_xlb lb stats 2>&1 </dev/null | head -20)" 0
xlbt_log "stats --zero: one VIP, then all"

# --- attach --backends: the maps indexed by backend id, sized ------------------

xlb_rc 1 attach "$LBDEV" --backends 8
contains "attach --backends 8" "$ERR" "--backends '8' is not a number 16-131072"
xlb_ok lb detach "$LBDEV"
xlb_ok lb attach "$LBDEV" --mode native --forward ipip --backends 16
xlbt_xlb lb -j status </dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
# The kernel keeps 15 characters of a map name.
got = [s["maps"]["backends"]["max"]] + [s["memory"]["maps"][m[:15]]["max_entries"] for m in
      ("xlb_backends", "xlb_nexthops", "xlb_backend_stats", "xlb_event_rate")]
sys.exit(0 if got == [16] * 5 else "backend capacity, then max_entries: %s" % got)' ||
	xlbt_fail "attach --backends 16: status" "$(xlbt_xlb lb -j status 2>&1 </dev/null | head -c 600)"
{
	echo "vip add $SVC4 --table-size 251"
	for ((j = 1; j <= 17; j++)); do echo "backend add $SVC4 198.18.99.$j:80"; done
} >"$TMP/cap.batch"
xlb_rc 2 -batch "$TMP/cap.batch"
contains "a batch of 17 backends into 16 ids" "$ERR" "all 16 backend ids are in use" \
	"xlb attach --backends" "$TMP/cap.batch:18"
xlbt_expect_eq "after the refused batch: VIPs, members, backends" "$(counts)" "0 0 0"
head -17 "$TMP/cap.batch" >"$TMP/cap16.batch"
xlb_rc 0 -batch "$TMP/cap16.batch"
xlb_rc 2 backend add "$SVC4" 198.18.99.17:80
contains "backend add beyond 16 ids" "$ERR" "no room left"
xlbt_expect_eq "16 ids: VIPs, members, backends" "$(counts)" "1 16 16"
xlbt_log "attach --backends 16: every map indexed by backend id holds 16, the 17th is refused"

xlbt_log "PASS"
exit 0
