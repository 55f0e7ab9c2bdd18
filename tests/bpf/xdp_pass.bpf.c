/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A trivial XDP program that passes every frame. The test topology attaches
 * it (native mode) to the bridge-side peer of the LB's veth: a frame the LB
 * sends with XDP_TX lands in that peer's ring and is only processed promptly
 * when the peer runs an XDP program of its own (docs/testing.md, "XDP_TX on veth").
 * Real NICs need nothing of the kind.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
