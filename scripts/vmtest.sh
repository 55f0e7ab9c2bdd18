#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The kernel matrix: boot each kernel in qemu and run xlb's kernel-facing
# tests inside it (scripts/vmtest-guest.sh): load every BPF program (with the
# verifier's instruction count), the BPF_PROG_TEST_RUN tests, the CLI
# forwarding test in namespaces, and native-mode XDP on the guest's
# multi-queue virtio_net devices with real frames from this machine.
#
#   scripts/vmtest.sh [KERNEL...]        (make vmtest [KERNELS="..."])
#
# A KERNEL is a Debian suite name (bookworm, trixie, bullseye, ...): the
# suite's linux-image-amd64 is downloaded with apt from the same archive this
# machine's apt uses, through a private apt configuration under
# build/vmtest/; or "host": the same guest script run on this machine's own
# kernel, without a VM. Default: bookworm trixie bullseye host.
#
# The guest shares this machine's root filesystem read-only over 9p with a
# tmpfs overlay on top, so it runs the very binaries built here; the kernel's
# modules come from the downloaded package. KVM is used when /dev/kvm opens,
# TCG otherwise. Prints one line per kernel, and the table with
# --table (docs/kernels.md is made from it); exits non-zero when a kernel
# that is expected to work does not (see EXPECT below).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BUILD=${BUILD:-build}
VMDIR=$ROOT/$BUILD/vmtest
RESULTS=$ROOT/bench/results/kernels
MEM=${VMTEST_MEM:-2048}
CPUS=${VMTEST_CPUS:-2}
TIMEOUT=${VMTEST_TIMEOUT:-2100}

# Kernels that must pass every column; others are reported, not required.
EXPECT=${VMTEST_EXPECT:-"bookworm trixie host"}

die() {
	echo "vmtest: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, taps, BPF)"
for c in qemu-system-x86_64 busybox cpio depmod apt-get dpkg-deb; do
	command -v "$c" >/dev/null || die "$c missing (scripts/install-deps.sh installs it)"
done
[ -x "$BUILD/xlb" ] && [ -f "$BUILD/bpf/xlb_lb.o" ] || die "build first (make all)"

# --- kernels from Debian's archive ---------------------------------------------

# apt_for SUITE: a private apt configuration reading SUITE, SUITE-updates
# and SUITE-security from the archives that this machine's own apt sources
# name (the newest kernel of a release comes through its security archive).
apt_for() {
	local suite=$1 d=$VMDIR/apt/$1 uri sec
	uri=$(apt_uri main) || return 1
	sec=$(apt_uri security) || sec=
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/etc"
	{
		echo "deb $uri $suite main"
		echo "deb $uri $suite-updates main"
		[ -n "$sec" ] && echo "deb $sec $suite-security main"
	} >"$d/etc/sources.list"
	APT_OPTS=(-o Dir::Etc::sourcelist="$d/etc/sources.list" -o Dir::Etc::sourceparts=/nonexistent
		-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" -o APT::Sandbox::User=root)
}

# apt_uri main|security: the first http(s) URI of this machine's Debian
# archive, or of its security archive, from deb822 sources or sources.list.
apt_uri() {
	local u all
	all=$( (
		sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
		awk '$1 == "deb" { print ($2 ~ /^\[/ ? $3 : $2) }' /etc/apt/sources.list 2>/dev/null
	) |
		grep '^http')
	if [ "$1" = security ]; then
		u=$(grep -m1 -- '-security' <<<"$all")
	else
		u=$(grep -v -- '-security' <<<"$all" | head -1)
	fi
	[ -n "$u" ] || {
		echo "vmtest: no Debian $1 archive in this machine's apt sources" >&2
		return 1
	}
	echo "$u"
}

# fetch_kernel SUITE: download and unpack SUITE's linux-image-amd64 into
# $VMDIR/k/SUITE (once), run depmod there; sets KVER and KDIR.
fetch_kernel() {
	local suite=$1 pkg deb
	KDIR=$VMDIR/k/$suite
	if [ ! -f "$KDIR/.done" ]; then
		apt_for "$suite" || return 1
		apt-get -q "${APT_OPTS[@]}" update >"$VMDIR/apt-$suite.log" 2>&1 ||
			{
				echo "vmtest: apt update of $suite failed (see $VMDIR/apt-$suite.log)" >&2
				return 1
			}
		pkg=$(apt-cache "${APT_OPTS[@]}" depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -1)
		[ -n "$pkg" ] || {
			echo "vmtest: no linux-image-amd64 in $suite" >&2
			return 1
		}
		rm -rf "$KDIR" && mkdir -p "$KDIR"
		(cd "$KDIR" && apt-get -q "${APT_OPTS[@]}" download "$pkg" >>"$VMDIR/apt-$suite.log" 2>&1) ||
			{
				echo "vmtest: download of $pkg failed (see $VMDIR/apt-$suite.log)" >&2
				return 1
			}
		deb=$(ls "$KDIR"/*.deb)
		dpkg-deb -x "$deb" "$KDIR/root" && rm -f "$deb" || return 1
		# Debian 13 installs modules under /usr/lib (merged /usr).
		[ -d "$KDIR/root/lib/modules" ] || ln -s usr/lib "$KDIR/root/lib"
		KVER=$(ls "$KDIR/root/lib/modules/")
		depmod -b "$KDIR/root" "$KVER" || return 1
		echo "$KVER" >"$KDIR/.done"
	fi
	KVER=$(cat "$KDIR/.done")
}

# mod_closure KDIR KVER MOD...: MOD and what it depends on, dependencies
# first, as paths relative to the modules directory.
mod_closure() {
	local root=$1 ver=$2
	shift 2
	local m
	for m; do
		modprobe -d "$root" -S "$ver" --show-depends "$m" 2>/dev/null |
			sed -n 's|^insmod [^ ]*/lib/modules/[^/]*/||p' | sed 's/ .*//'
	done | awk '!seen[$0]++'
}

# make_initramfs: busybox, the modules that the 9p + overlay root needs
# (decompressed: busybox's insmod reads plain .ko) and a small /init.
make_initramfs() {
	local d=$KDIR/initramfs m mods
	rm -rf "$d" && mkdir -p "$d/bin" "$d/mod" "$d/proc" "$d/sys" "$d/dev" "$d/lower" "$d/rw" "$d/newroot"
	cp "$(command -v busybox)" "$d/bin/busybox"
	mods=$(mod_closure "$KDIR/root" "$KVER" virtio_pci 9pnet_virtio 9p overlay)
	[ -n "$mods" ] || {
		echo "vmtest: no modules found for $KVER" >&2
		return 1
	}
	: >"$d/mod/order"
	for m in $mods; do
		local base=${m##*/} src=$KDIR/root/lib/modules/$KVER/$m
		base=${base%.xz}
		base=${base%.zst}
		case $m in
		*.xz) xz -dc "$src" >"$d/mod/$base" ;;
		*.zst) zstd -qdc "$src" >"$d/mod/$base" ;;
		*) cp "$src" "$d/mod/$base" ;;
		esac
		echo "$base" >>"$d/mod/order"
	done
	cp scripts/vmtest-init "$d/init" && chmod 755 "$d/init"
	(cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) >"$KDIR/initramfs.gz"
}

# --- the host side of the guest's NICs ------------------------------------------

# The guest's eth1 and eth2 are tap devices in namespace $HNS, each on a
# bridge: eth1 (198.18.0.0/24) with a client and a backend, eth2
# (198.18.1.0/24) with a second backend, so that xlb_lb in the guest sends
# to the first with XDP_TX and to the second with a redirect.
HNS= CNS= B1NS= B2NS=
host_up() {
	local id=$1
	HNS=xlbt-vmh$id
	CNS=xlbt-vmc$id B1NS=xlbt-vmb$id B2NS=xlbt-vmd$id
	ip netns add "$HNS" && ip netns add "$CNS" && ip netns add "$B1NS" && ip netns add "$B2NS" || return 1
	local h="ip netns exec $HNS"
	$h ip link set lo up
	$h ip link add xlbt-br0 type bridge && $h ip link add xlbt-br1 type bridge
	$h ip tuntap add dev xlbt-tap0 mode tap multi_queue
	$h ip tuntap add dev xlbt-tap1 mode tap multi_queue
	$h ip link set xlbt-tap0 master xlbt-br0 && $h ip link set xlbt-tap1 master xlbt-br1
	# client and first backend on br0, second backend on br1
	local ns br ifc addr gw
	for spec in "$CNS xlbt-br0 198.18.0.10 198.18.0.2 c" "$B1NS xlbt-br0 198.18.0.11 198.18.0.2 b" \
		"$B2NS xlbt-br1 198.18.1.11 198.18.1.2 d"; do
		read -r ns br addr gw ifc <<<"$spec"
		ifc=xlbt-v$ifc$id
		$h ip link add "$ifc" type veth peer name eth0 netns "$ns" || return 1
		$h ip link set "$ifc" master "$br" up
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$addr/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via "$gw"
		ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null 2>&1
	done
	$h ip link set xlbt-br0 up && $h ip link set xlbt-br1 up
	$h ip link set xlbt-tap0 up && $h ip link set xlbt-tap1 up
}

host_down() {
	local ns
	for ns in "$HNS" "$CNS" "$B1NS" "$B2NS"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	HNS=
}

# --- one kernel ----------------------------------------------------------------

# start_qemu ACCEL CPU: the guest in the background (QPID), console in $log.
start_qemu() {
	local accel=$1 cpu=$2
	: >"$log"
	timeout "$TIMEOUT" ip netns exec "$HNS" qemu-system-x86_64 \
		-machine q35,accel="$accel" -cpu "$cpu" -smp "$CPUS" -m "$MEM" \
		-nographic -no-reboot -nodefaults -serial "file:$log" -monitor none \
		-kernel "$KDIR/root/boot/vmlinuz-$KVER" -initrd "$KDIR/initramfs.gz" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 xlb.guest=$ROOT/scripts/vmtest-guest.sh xlb.out=$OUT xlb.kdir=$KDIR/root/lib/modules xlb.steps=${VMTEST_STEPS:-}" \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
		-fsdev local,id=out,path="$OUT",security_model=none \
		-device virtio-9p-pci,fsdev=out,mount_tag=xlbout \
		-netdev tap,id=n1,ifname=xlbt-tap0,script=no,downscript=no,queues="$CPUS",vhost=off \
		-device virtio-net-pci,netdev=n1,mq=on,vectors=$((2 * CPUS + 2)),mac=52:54:00:78:6c:01,romfile= \
		-netdev tap,id=n2,ifname=xlbt-tap1,script=no,downscript=no,queues="$CPUS",vhost=off \
		-device virtio-net-pci,netdev=n2,mq=on,vectors=$((2 * CPUS + 2)),mac=52:54:00:78:6c:02,romfile= \
		-device virtio-rng-pci \
		>>"$OUT/qemu.log" 2>&1 &
	QPID=$!
}

# booted SECONDS: the guest's init spoke within SECONDS.
booted() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		grep -q 'vmtest-init: up' "$log" 2>/dev/null && return 0
		kill -0 "$QPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# run_vm SUITE: boot it, run the guest script, leave its result file in
# $OUT/result. KVM where it works (VMTEST_ACCEL=auto tries it and falls
# back to TCG when the guest has not reached its init within 20 s: nested
# KVM can hang), else TCG.
run_vm() {
	local suite=$1 t0 accel=${VMTEST_ACCEL:-auto}
	OUT=$VMDIR/out/$suite
	rm -rf "$OUT" && mkdir -p "$OUT"
	fetch_kernel "$suite" || return 1
	make_initramfs || return 1
	host_up "$$" || {
		host_down
		echo "vmtest: host side of the guest's NICs failed" >&2
		return 1
	}
	log=$OUT/console.log
	t0=$SECONDS
	if [ "$accel" != tcg ] && [ -w /dev/kvm ]; then
		start_qemu kvm host,-arch-capabilities
		if booted 20; then
			accel=kvm
		else
			kill "$QPID" 2>/dev/null
			wait "$QPID" 2>/dev/null
			echo "vmtest: no boot under KVM within 20 s; using TCG" >>"$OUT/qemu.log"
			accel=tcg
			t0=$SECONDS
		fi
	fi
	[ "$accel" = kvm ] || {
		accel=tcg
		start_qemu tcg max
	}
	echo "accel=$accel" >"$OUT/accel"
	booted 300 && echo "boot=$((SECONDS - t0))" >"$OUT/boot"
	# The guest signals that its NICs are configured; then this side's
	# clients run the native-mode test against it.
	while kill -0 "$QPID" 2>/dev/null && [ ! -f "$OUT/native.ready" ]; do
		sleep 1
	done
	if [ -f "$OUT/native.ready" ]; then
		native_host_side >"$OUT/native.host" 2>&1
		echo $? >"$OUT/native.host.rc"
		touch "$OUT/native.done"
	fi
	wait "$QPID"
	QPID=
	{
		echo "accel=$accel"
		cat "$OUT/boot" 2>/dev/null
		echo "boot_to_done=$((SECONDS - t0))"
	} \
		>>"$OUT/result"
	host_down
	[ -s "$OUT/result" ]
}

# native_host_side: TCP through the guest's xlb_lb to both backends, from
# the client namespace; the backends decapsulate with xlb_decap.
native_host_side() {
	local b run=/run/xlbt-vm$$ pids=() p
	mkdir -p "$run/bpf" && mount -t bpf xlbt-bpffs "$run/bpf" || return 1
	for b in "$B1NS" "$B2NS"; do
		mkdir -p "$run/bpf/$b"
		ip -n "$b" addr add 198.18.100.1/32 dev lo
		ip -n "$b" addr add 198.18.100.2/32 dev lo
		ip netns exec "$b" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 \
			net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
		ip netns exec "$b" env XLB_PIN_DIR="$run/bpf/$b" "$ROOT/$BUILD/xlb" decap attach eth0 \
			--mode generic &&
			ip netns exec "$b" env XLB_PIN_DIR="$run/bpf/$b" "$ROOT/$BUILD/xlb" decap vip add 198.18.100.1 &&
			ip netns exec "$b" env XLB_PIN_DIR="$run/bpf/$b" "$ROOT/$BUILD/xlb" decap vip add 198.18.100.2 ||
			{
				echo "decap setup in $b failed"
				break
			}
		ip netns exec "$b" python3 "$ROOT/tests/lib/backend_server.py" --name "$b" \
			--http-port 8080 --pid-file "$run/$b.pid" </dev/null >"$OUT/server-$b.log" 2>&1 &
		pids+=($!)
	done
	for b in "$B1NS" "$B2NS"; do
		for _ in $(seq 50); do
			[ -f "$run/$b.pid" ] && break
			sleep 0.1
		done
	done
	local v rc=0 n
	for v in 198.18.100.1 198.18.100.2; do
		n=0
		for _ in 1 2 3 4 5; do
			ip netns exec "$CNS" curl -s -m 3 "http://$v:8080/" >>"$OUT/native.curl" 2>&1 &&
				n=$((n + 1))
		done
		echo "vip $v: $n/5"
		[ "$n" -eq 5 ] || rc=1
	done
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	umount "$run/bpf" && rmdir "$run/bpf" "$run" 2>/dev/null
	rm -f "$run"/*.pid
	rmdir "$run" 2>/dev/null
	return $rc
}

main() {
	local kernels=("$@") k rc=0 npass=0 nfail=0 nknown=0
	[ ${#kernels[@]} -gt 0 ] || kernels=(bookworm trixie bullseye host)
	mkdir -p "$VMDIR" "$RESULTS"
	trap 'host_down; [ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null' EXIT
	# A signal ends the run through the EXIT trap, which stops the guest
	# (timeout, in a process group of its own, hands it on to qemu) and
	# removes the namespaces; without these, bash would die without it.
	trap 'exit 130' INT
	trap 'exit 143' TERM
	for k in "${kernels[@]}"; do
		if [ "$k" = host ]; then
			OUT=$VMDIR/out/host
			rm -rf "$OUT" && mkdir -p "$OUT"
			XLB_VMTEST_OUT=$OUT bash scripts/vmtest-guest.sh --host >"$OUT/console.log" 2>&1
		else
			run_vm "$k"
		fi
		if report "$k"; then
			npass=$((npass + 1))
		else
			case " $EXPECT " in
			*" $k "*)
				rc=1
				nfail=$((nfail + 1))
				;;
			*) nknown=$((nknown + 1)) ;; # a kernel xlb does not support
			esac
		fi
		# A full run is a row of the README's table; a partial one is not.
		if [ -z "${VMTEST_STEPS:-}" ] && [ -s "$OUT/result" ]; then
			{
				cat "$OUT/result"
				echo "date=$(date -u +%Y-%m-%d)"
			} >"$RESULTS/$k.result"
		fi
	done
	table >"$RESULTS/kernels.md"
	readme_table
	echo "vmtest: $npass passed, $nfail failed, $nknown skipped"
	return $rc
}

# table: the markdown table of every kernel's last full run, from the
# result files in $RESULTS (bench/results/kernels/).
table() {
	local f k
	echo "| kernel | release | xlb_lb loads | verifier insns (xlb_lb, xlb_decap) | BPF tests | CLI e2e | native virtio_net | boot | boot + tests | run on |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for k in bookworm trixie bullseye host; do
		f=$RESULTS/$k.result
		[ -f "$f" ] || continue
		(
			# shellcheck disable=SC1090
			. "$f"
			local lb=${insns#*xlb_lb:} dc=${insns#*xlb_decap:}
			lb=${lb%%,*} dc=${dc%%,*}
			printf '| %s | %s | %s | %s, %s | %s | %s | %s | %s | %s s | %s, %s |\n' \
				"$(suite_name "$k")" "$kernel" "$loads${refusal:+ (attach: ${refusal#exit * })}" "$lb" "$dc" "$bpf" "$e2e" \
				"${native//|/\\|}" "${boot:+$boot s}" "${boot_to_done:-$guest_time}" \
				"${accel:-no VM}" "$date"
		)
	done
}

suite_name() {
	case $1 in
	bookworm) echo "Debian 12 (bookworm)" ;;
	trixie) echo "Debian 13 (trixie)" ;;
	bullseye) echo "Debian 11 (bullseye)" ;;
	host) echo "this machine" ;;
	*) echo "$1" ;;
	esac
}

# readme_table: the README's "Supported kernels" table is the text between
# its two marker lines, replaced by the table.
readme_table() {
	python3 - "$RESULTS/kernels.md" README.md <<-'PY'
		import sys
		table = open(sys.argv[1]).read()
		readme = open(sys.argv[2]).read()
		begin, end = "<!-- kernels: begin (scripts/vmtest.sh) -->\n", "<!-- kernels: end -->"
		if begin in readme and end in readme:
		    head, rest = readme.split(begin, 1)
		    readme = head + begin + table + rest[rest.index(end):]
		    open(sys.argv[2], "w").write(readme)
	PY
}

# report KERNEL: one line from $OUT/result; fails unless every column passed.
report() {
	local k=$1 kernel= loads= insns= refusal= bpf= e2e= native= guest_time= ok= accel= boot= \
		boot_to_done=
	if [ ! -s "$OUT/result" ]; then
		echo "$k: no result (see $OUT/console.log)"
		return 1
	fi
	# shellcheck disable=SC1091
	. "$OUT/result"
	printf '%-9s %-24s load=%s insns=%s bpf=%s e2e=%s native=%s time=%ss (%s)\n' "$k" \
		"${kernel:-?}" "${loads:-?}" "${insns:-?}" "${bpf:-?}" "${e2e:-?}" "${native:-?}" \
		"${boot_to_done:-${guest_time:-?}}" "${accel:-host}"
	[ "${loads:-}" = yes ] && [ "${ok:-}" = 1 ]
}

main "$@"
