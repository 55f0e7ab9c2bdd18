#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The kernel-facing checks of one kernel, run by scripts/vmtest.sh as the
# guest's first process (--vm) or on this machine's own kernel (--host).
# Writes shell assignments to $OUT/result (kernel, loads, insns, bpf, e2e,
# native, ok) and the logs beside it.
set -u
mode=${1:---host}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}

arg() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $(cat /proc/cmdline) "; }

if [ "$mode" = --vm ]; then
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	OUT=$(arg xlb.out)
	# A fresh /run and /tmp (the host's test runs leave names there), unless
	# the checkout or the results live below one: the overlay keeps those.
	for d in /run /tmp; do
		case "$ROOT/ $OUT/" in
		"$d"/* | *" $d"/*) ;;
		*) mount -t tmpfs tmpfs "$d" ;;
		esac
	done
	mount -t bpf bpf /sys/fs/bpf
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
	ln -sf /proc/self/fd /dev/fd # process substitution in the tests
	mkdir -p "$OUT" /lib/modules
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 xlbout "$OUT"
	mount --bind "$(arg xlb.kdir)" /lib/modules
	ip link set lo up
	hostname xlb-vmtest
	exec >"$OUT/guest.log" 2>&1
else
	OUT=${XLB_VMTEST_OUT:?XLB_VMTEST_OUT unset}
fi
cd "$ROOT" || exit 1
export XLB="$ROOT/$BUILD/xlb" XLBD="$ROOT/$BUILD/xlbd" XLB_BUILD="$ROOT/$BUILD"

res() { echo "$1=$2" >>"$OUT/result"; }
# VMTEST_STEPS (xlb.steps= in a VM): which checks run; "verifier-log" adds
# bpftool's full load log of xlb_lb, for working on a verifier refusal.
steps=${VMTEST_STEPS:-$(arg xlb.steps)}
steps=${steps:-load,bpf,e2e,native}
step() {
	case ",$steps," in *",$1,"*) return 0 ;; esac
	return 1
}
t0=$SECONDS
: >"$OUT/result"
res kernel "$(uname -r)"
ok=1

# --- 1. every program loads (in a private bpffs: nothing pinned here stays)
loads=yes insns=
for obj in xlb_lb xlb_decap; do
	log=$OUT/load-$obj.log
	if "$BUILD/xlb" check --load "$obj" >"$log" 2>&1; then
		n=$(sed -n 's/.*verified \([0-9]*\) instructions.*/\1/p' "$log" | head -1)
		insns="$insns${insns:+,}$obj:${n:-?}"
	else
		loads=no ok=0
		insns="$insns${insns:+,}$obj:rejected"
	fi
done
res loads "$loads"
res insns "$insns"
# A kernel that cannot run xlb must be refused with a sentence, not a dump.
if [ "$loads" = no ]; then
	ip link add xlbt-vmchk type dummy 2>/dev/null
	"$BUILD/xlb" attach xlbt-vmchk --mode generic >"$OUT/refusal.log" 2>&1
	res refusal "\"exit $?: $(head -1 "$OUT/refusal.log" | tr -d '"$`')\""
	ip link del xlbt-vmchk 2>/dev/null
fi

if step verifier-log; then
	mkdir -p /sys/fs/bpf/vmtest-log
	bpftool -d prog loadall "$BUILD/bpf/xlb_lb.o" /sys/fs/bpf/vmtest-log >"$OUT/verifier.log" 2>&1
	rm -rf /sys/fs/bpf/vmtest-log
fi

# "attach-log": libbpf's and libxdp's debug output of an attach (generic
# mode, on a dummy device), for working on an attach failure.
if step attach-log; then
	ip link add xlbt-vmdbg type dummy && ip link set xlbt-vmdbg up
	"$BUILD/xlb" -d attach xlbt-vmdbg --mode generic >"$OUT/attach.log" 2>&1
	"$BUILD/xlb" -d detach xlbt-vmdbg >>"$OUT/attach.log" 2>&1
	ip link del xlbt-vmdbg
fi

# --- 2. BPF_PROG_TEST_RUN tests
# Under CI=true a skip not listed in tests/skips.txt is a failure.
step bpf && CI=true tests/run.sh bpf >"$OUT/bpf.log" 2>&1
b=$(tail -1 "$OUT/bpf.log" 2>/dev/null)
res bpf "\"$b\""
case $b in *" passed, 0 failed, "*) ;; *) ok=0 ;; esac

# --- 3. the CLI forwarding test: namespaces, real TCP/UDP
# Under TCG on a busy host one curl can take most of a second: the batches
# get time to finish rather than a verdict on the emulator's speed.
if step e2e; then
	XLBT_BATCH_SECONDS=1200 timeout 1500 bash tests/e2e/test_cli_forwarding.sh \
		>"$OUT/e2e.log" 2>&1
	case $? in
	0) res e2e pass ;;
	77)
		res e2e "\"skip: $(grep -m1 '^# SKIP' "$OUT/e2e.log")\""
		ok=0
		;;
	*)
		res e2e fail
		ok=0
		;;
	esac
else
	res e2e "\"not run\""
fi

# --- 4. native XDP on virtio_net (VM only)
if [ "$mode" = --vm ] && step native; then
	bash scripts/vmtest-native.sh "$OUT" >"$OUT/native.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		res native "\"$(tail -1 "$OUT/native.log")\""
	else
		res native "\"failed: $(tail -1 "$OUT/native.log")\""
		ok=0
	fi
else
	res native "-"
fi
res guest_time "$((SECONDS - t0))"
res ok "$ok"

if [ "$mode" = --vm ]; then
	sync
	cd /
	umount "$OUT"
	echo o >/proc/sysrq-trigger
	sleep 10
fi
