#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The command line at scale: `xlb -batch` of VIPS VIPs with BACKENDS
# backends each (default 10,000 x 10 = 100,000 backends, 110,000 lines),
# then the cost of one `xlb vip add` with 10,000 VIPs in the maps and with
# 100 (median of RUNS adds; each VIP is deleted again, untimed), and their
# ratio. One namespace of its own (xlbbench-batch, a veth pair, xlb_lb in
# generic mode), maps pinned in a bpffs of its own; all removed at the end.
# The batch's VIPs get the table size chosen from their backend count
# (1021 slots for 10), or --table-size TABLE if TABLE is set; the single vip
# add uses the default, as an operator's would. Checks that the maps hold
# what the batch says (xlb -j status), and prints the maps' memory.
#   bench/batch.sh [VIPS [BACKENDS]]   (root; RUNS=20 TABLE=)
# Fixed namespace name: run under the e2e lock (flock /tmp/xlb-e2e.lock).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
VIPS=${1:-10000}
BACKENDS=${2:-10}
RUNS=${RUNS:-20}
TABLE=${TABLE:-0}
XLB=$(realpath "${XLB:-build/xlb}")
NS=xlbbench-batch
for v in VIPS BACKENDS RUNS TABLE; do
	[[ ${!v} =~ ^[0-9]+$ ]] && { [ "$v" = TABLE ] || ((${!v} > 0)); } || {
		echo "batch: $v must be a positive number, not '${!v}'" >&2
		exit 2
	}
done
((VIPS >= 100 && VIPS <= 16000)) || {
	echo "batch: VIPS must be 100-16000 (the vip add figure compares 100 VIPs with VIPS)" >&2
	exit 2
}
[ -x "$XLB" ] || {
	echo "batch: $XLB not built (make)" >&2
	exit 2
}
[ "$(id -u)" = 0 ] || {
	echo "batch: needs root (namespaces, BPF)" >&2
	exit 77
}

tmp=$(mktemp -d)
PIN=$tmp/bpf
cleanup() {
	ip netns exec $NS "$XLB" --pin-dir "$PIN" detach v0 >/dev/null 2>&1
	ip netns del $NS 2>/dev/null
	umount "$PIN" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# up: a fresh namespace with xlb attached and empty maps.
up() {
	ip netns exec $NS "$XLB" --pin-dir "$PIN" detach v0 >/dev/null 2>&1
	ip netns del $NS 2>/dev/null
	ip netns add $NS &&
		ip -n $NS link add v0 type veth peer name v1 &&
		ip -n $NS link set v0 up && ip -n $NS link set v1 up && ip -n $NS link set lo up &&
		ip netns exec $NS "$XLB" --pin-dir "$PIN" attach v0 --mode generic >/dev/null 2>&1
}

xlb() { ip netns exec $NS "$XLB" --pin-dir "$PIN" "$@"; }

# batch N K FILE: N VIPs 198.18.x.y:80/tcp with K backends each (10.a.b.c:8080).
batch() {
	python3 - "$1" "$2" "$TABLE" >"$3" <<'PY'
import sys
n, k, t = (int(x) for x in sys.argv[1:4])
out = []
for i in range(n):
    vip = "198.18.%d.%d:80/tcp" % (100 + i // 250, 1 + i % 250)
    out.append("vip add %s" % vip + (" --table-size %d" % t if t else ""))
    for j in range(k):
        b = i * k + j
        out.append("backend add %s 10.%d.%d.%d:8080" % (vip, b >> 16, (b >> 8) & 255, b & 255))
print("\n".join(out))
PY
}

# apply FILE: xlb -batch FILE, its wall time in ms on stdout; fails unless
# the maps then hold the VIPs and backends the batch says.
apply() {
	local t0 t1 out
	t0=$(date +%s%N)
	out=$(xlb -j -batch "$1" 2>"$tmp/warn") || {
		echo "batch: xlb -batch $1 failed: $out $(head -c 300 "$tmp/warn")" >&2
		return 1
	}
	t1=$(date +%s%N)
	echo "$out" >"$tmp/apply.json"
	echo $(((t1 - t0) / 1000000))
}

# held N K: the maps hold N VIPs and N*K members.
held() {
	xlb -j status | python3 -c '
import json, sys
m = json.load(sys.stdin)["maps"]
n, k = int(sys.argv[1]), int(sys.argv[2])
got = (m["vips"]["used"], m["members"]["used"])
sys.exit(0 if got == (n, n * k) else "batch: maps hold %d VIPs, %d members; the batch made %d, %d"
         % (got + (n, n * k)))' "$1" "$2"
}

# vip_add: median ms of RUNS single `xlb vip add` (default table size), each
# timed inside the namespace (no `ip netns exec` in the figure).
vip_add() {
	ip netns exec $NS bash -c '
		xlb=$1 pin=$2 runs=$3
		for ((i = 1; i <= runs; i++)); do
			vip=198.19.0.$i:80/tcp
			t0=$EPOCHREALTIME
			"$xlb" --pin-dir "$pin" vip add "$vip" || exit 1
			t1=$EPOCHREALTIME
			"$xlb" --pin-dir "$pin" vip del "$vip" || exit 1
			echo "${t0/./} ${t1/./}"
		done' _ "$XLB" "$PIN" "$RUNS" >"$tmp/adds" || {
		echo "batch: vip add failed" >&2
		return 1
	}
	python3 -c '
import statistics, sys
d = [(int(b) - int(a)) / 1000 for a, b in (l.split() for l in open(sys.argv[1]))]
print("%.1f" % statistics.median(d))' "$tmp/adds"
}

mkdir -p "$PIN" && mount -t bpf bpf "$PIN" || {
	echo "batch: cannot mount a bpffs on $PIN" >&2
	exit 1
}
up || {
	echo "batch: cannot set up namespace $NS with xlb attached" >&2
	exit 1
}
batch "$VIPS" "$BACKENDS" "$tmp/big.batch"
lines=$(wc -l <"$tmp/big.batch")
big_ms=$(apply "$tmp/big.batch") && held "$VIPS" "$BACKENDS" || exit 1
warn=$(tr '\n' ' ' <"$tmp/warn" | head -c 600)
mem=$(xlb status | grep -E '^(memory|per item):')
add_big=$(vip_add) || exit 1

up || exit 1
batch 100 "$BACKENDS" "$tmp/small.batch"
small_ms=$(apply "$tmp/small.batch") && held 100 "$BACKENDS" || exit 1
add_small=$(vip_add) || exit 1

ratio=$(python3 -c "print('%.2f' % ($add_big / $add_small))")
echo "## The command line at scale: xlb -batch, vip add"
echo
echo "| figure | value | target |"
echo "|---|---|---|"
printf '| xlb -batch: %d VIPs x %d backends (%d lines, table size %s) | %.2f s | <= 10 s |\n' \
	"$VIPS" "$BACKENDS" "$lines" "$([ "$TABLE" = 0 ] && echo "from the backend count" || echo "$TABLE")" \
	"$(awk -v ms="$big_ms" 'BEGIN { print ms / 1000 }')"
printf '| xlb -batch: 100 VIPs x %d backends | %.2f s | |\n' "$BACKENDS" \
	"$(awk -v ms="$small_ms" 'BEGIN { print ms / 1000 }')"
printf '| vip add with %d VIPs in the maps (median of %d) | %s ms | |\n' "$VIPS" "$RUNS" "$add_big"
printf '| vip add with 100 VIPs in the maps (median of %d) | %s ms | |\n' "$RUNS" "$add_small"
printf '| vip add at %d VIPs / at 100 | %s | <= 1.5 |\n' "$VIPS" "$ratio"
echo
echo "open-files limit $(ulimit -n) (hard $(ulimit -Hn)); the batch's warnings: ${warn:-none}"
echo
echo "xlb status after the $VIPS-VIP batch (memory as the kernel accounts it, $(nproc) CPUs):"
echo
sed 's/^/    /' <<<"$mem"
