#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install every Debian package xlb needs to build, test, benchmark and demo.
# Idempotent: prints nothing and touches nothing when all are present.
set -euo pipefail

pkgs=(
	# build
	make gcc clang llvm pkg-config libbpf-dev libxdp-dev bpftool linux-libc-dev
	libmnl-dev libcmocka-dev libjansson-dev libyaml-dev libevent-dev libcurl4-openssl-dev libc-ares-dev
	# formatting (scripts/format.sh: make format, make format-check)
	clang-format shfmt
	# tests, demo, bench
	iproute2 ethtool python3 curl procps util-linux nftables
	# etcd as a configuration source (tests)
	etcd-server etcd-client
	# a DNS server for the dns discovery tests
	unbound
	# scale-out: BGP announcement of the VIPs (scripts/bird, tests/e2e/test_scaleout.sh)
	bird2
	# promtool, which checks the agent's /metrics text (tests)
	prometheus
	# benchmarks: load generator, the proxy compared against, backends, ping (bench/rps.sh)
	wrk haproxy nginx-light iputils-ping
	# the kernel matrix (scripts/vmtest.sh): qemu, an initramfs, modules
	qemu-system-x86 busybox-static cpio kmod xz-utils zstd
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
