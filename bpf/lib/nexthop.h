/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Next hop of a backend from the kernel's FIB and neighbour table
 * (bpf_fib_lookup), cached per backend for XLB_NH_TTL_NS because a lookup
 * costs ~100 ns. Userspace may clear an entry to force a refresh, or stamp
 * one in the future to make it static. Included by xlb_lb.bpf.c.
 *
 * The cache is one entry per backend shared by the CPUs, written in place
 * without a lock. CPUs that find it stale at the same time each do the FIB
 * lookup and write the same result: work done twice, once per TTL. A CPU
 * reading while another writes may see some fields of the old result and
 * some of the new one; both describe a path to the same backend, and they
 * differ only when the route or the neighbour changed in that TTL, when
 * packets in flight already take either path. The refresh writes the
 * stamp last, so on a strongly ordered CPU (x86) a cleared entry (stamp 0)
 * is not taken as fresh before its fields are written; a weakly ordered one
 * may show one packet the stamp first, and that packet goes to a zero
 * device and is lost, as one lost to a route change. At worst a packet
 * leaves with a stale MAC or device, as it could with a per-CPU cache one
 * TTL late.
 */
#ifndef XLB_BPF_NEXTHOP_H
#define XLB_BPF_NEXTHOP_H

#include "maps.h"
#include "stats.h"

/*
 * Resolve the backend's next hop through the FIB. The first lookup passes
 * tot_len 0xffff so that the helper reports the path MTU (it fills
 * mtu_result only with BPF_FIB_LKUP_RET_FRAG_NEEDED); the second gets MACs.
 */
static __always_inline int xlb_nexthop_refresh(struct xdp_md *ctx, const struct xlb_backend *be,
					       struct xlb_nexthop *nh, __u64 now, __u32 frame_len)
{
	struct bpf_fib_lookup fib = {};
	__u32 mtu = 0;
	int rc, pass;

	for (pass = 0; pass < 2; pass++) {
		__builtin_memset(&fib, 0, sizeof(fib));
		fib.ifindex = ctx->ingress_ifindex;
		if (be->family == XLB_AF_INET) {
			fib.family = AF_INET;
			fib.ipv4_dst = be->addr[0];
		} else {
			fib.family = AF_INET6;
			__builtin_memcpy(fib.ipv6_dst, be->addr, 16);
		}
		fib.tot_len = pass ? 0 : 0xffff;
		rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
		if (!pass) {
			/* FRAG_NEEDED carries the MTU; SUCCESS means >= 64K. */
			if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
				mtu = fib.mtu_result;
			else if (rc == BPF_FIB_LKUP_RET_SUCCESS)
				mtu = 0xffff;
			else if (rc != BPF_FIB_LKUP_RET_NO_NEIGH)
				break;
			continue;
		}
	}
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		/* ARP/ND not resolved yet: the kernel resolves, we count. */
		return xlb_count_reason(XLB_R_PASS_NO_NEIGH, frame_len, XDP_PASS);
	default:
		/* No route, forwarding disabled, blackhole...: the kernel decides. */
		return xlb_count_reason(XLB_R_PASS_FIB, frame_len, XDP_PASS);
	}
	nh->ifindex = fib.ifindex;
	nh->mtu = mtu ? mtu : 1500;
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	/* The stamp last: other CPUs take the entry as fresh from here on. */
	barrier();
	nh->updated_ns = now ? now : 1;
	return XLB_CONTINUE;
}

/*
 * The cached next hop of backend id, refreshed when stale.
 *
 * The stamp is held against the clock once per tick, not per packet: the
 * coarse clock moves with jiffies, and bpf_jiffies64() is JITed as a plain
 * load where the clock is a helper call (~15 ns per established packet in
 * BPF_PROG_TEST_RUN). nh->tick holds the tick (jiffies, low 32 bits) in
 * which a CPU last found the entry fresh; CPUs racing write the same value,
 * once a tick. Userspace writes 0 there; an entry it clears (stamp 0) is
 * refreshed whatever the tick says.
 */
static __always_inline int xlb_nexthop_get(struct xdp_md *ctx, __u32 id,
					   const struct xlb_backend *be,
					   struct xlb_nexthop **nh_out, __u32 frame_len)
{
	struct xlb_nexthop *nh = bpf_map_lookup_elem(&xlb_nexthops, &id);
	__u32 tick = bpf_jiffies64();
	__u64 now;

	if (!nh)
		return xlb_count_reason(XLB_R_PASS_FIB, frame_len, XDP_PASS);
	*nh_out = nh;
	if (nh->updated_ns && nh->tick == tick)
		return XLB_CONTINUE;
	now = bpf_ktime_get_coarse_ns();
	/*
	 * Signed age: an entry stamped in the future stays fresh until then,
	 * which lets userspace install static next hops.
	 */
	if (!nh->updated_ns || (__s64)(now - nh->updated_ns) > (__s64)XLB_NH_TTL_NS)
		return xlb_nexthop_refresh(ctx, be, nh, now, frame_len);
	nh->tick = tick;
	return XLB_CONTINUE;
}

#endif /* XLB_BPF_NEXTHOP_H */
