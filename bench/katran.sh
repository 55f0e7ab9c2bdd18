#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# xlb beside Katran: builds Katran's XDP balancer from a Katran source tree
# given on the command line (never copied into this repository) and times
# it and xlb_lb in one interleaved run of build/bench/bench_peer
# (bench/bench_peer.c): the same frames, the same harness, the same VIP and
# three backends. Prints the table and, given JSON, writes the figures there.
#
#   bench/katran.sh KATRAN_SRC [JSON]
#   bench/katran.sh --build KATRAN_SRC   only build; print Katran's commit
#
# bench/wire_rate.sh builds Katran the second way, when KATRAN_SRC is set,
# to put it on the same wire as xlb.
#
# bench/run.sh katran (with KATRAN_SRC set) runs it and records the output
# and this JSON in bench/results/katran.json, whence bench/README.md's table.
#
# KATRAN_SRC is the root of a checkout of facebookincubator/katran (the
# directory holding katran/lib/bpf/balancer.bpf.c). Its commit is taken from
# git when KATRAN_SRC is a work tree, else from $KATRAN_COMMIT.
# Environment: PEER_LOADS (3: every program loaded afresh 3 times, as the
# same object costs differently from one load to the next), PEER_CALLS
# (600000 calls per case, program and round), PEER_ROUNDS (2 a load: with
# 1.2M new flows a load, both flow tables are full and evicting for most
# of the SYN cases, as on a busy node), BUILD (build).
#
# Katran's BPF build (build_bpf_modules_opensource.sh with
# katran/lib/Makefile-bpf, no -d DEFINES by default) is reproduced here:
# the tree root and katran/lib/linux_includes on the include path, -DDEBUG
# -D__KERNEL__, clang -O2 -emit-llvm piped into llc -march=bpf. The object
# loads unchanged on Linux 6.18 with libbpf 1.1 (no source fix is applied).
set -eu -o pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
BUILD_ONLY=
if [ "${1:-}" = --build ]; then
	BUILD_ONLY=1
	shift
fi
SRC=${1:?usage: bench/katran.sh [--build] KATRAN_SRC [JSON]}
JSON=${2:-}
CLANG=${CLANG:-clang}
LLC=${LLC:-llc}

if [ ! -f "$SRC/katran/lib/bpf/balancer.bpf.c" ]; then
	echo "katran.sh: $SRC is not a Katran source tree" >&2
	exit 1
fi
SRC=$(cd "$SRC" && pwd)
COMMIT=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo "${KATRAN_COMMIT:-unknown}")
OBJ=$BUILD/katran/balancer.bpf.o
mkdir -p "$BUILD/katran"

# Katran's includes are written "katran/lib/..." from the tree root; its
# Makefile also copies linux_includes/ into include/, searched as well.
(cd "$SRC" && "$CLANG" -I. -Ikatran/lib/linux_includes \
	-DDEBUG -D__KERNEL__ -Wno-unused-value -Wno-pointer-sign \
	-Wno-compare-distinct-pointer-types \
	-O2 -emit-llvm -c -g katran/lib/bpf/balancer.bpf.c -o -) |
	"$LLC" -march=bpf -filetype=obj -o "$OBJ"
if [ -n "$BUILD_ONLY" ]; then
	echo "$COMMIT"
	exit 0
fi

make -s "$BUILD/bench/bench_peer"
"$BUILD/bench/bench_peer" -k "$OBJ" -c "$COMMIT" ${JSON:+-j "$JSON"} \
	-l "${PEER_LOADS:-3}" -n "${PEER_CALLS:-600000}" -r "${PEER_ROUNDS:-2}"
