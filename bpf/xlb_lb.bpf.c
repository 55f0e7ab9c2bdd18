// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlb_lb: the XDP load balancer. Entry and dispatch only; each step lives in
 * bpf/lib/: parse.h (headers), pick.h (VIP, flow table, Maglev), nexthop.h
 * (FIB cache), encap.h (IPIP / IP6IP6 / 4in6 / GUE / L2), icmp.h (too big),
 * passive.h (passive-health events), nat.h (NAT, both directions),
 * stats.h (counters), maps.h (every map).
 *
 * Packets that are not for a VIP leave byte-for-byte untouched (XDP_PASS).
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/parse.h"
#include "lib/pick.h"
#include "lib/nexthop.h"
#include "lib/encap.h"
#include "lib/icmp.h"
#include "lib/nat.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * IPv6 VIPs need IPv6 backends; L2 mode cannot change the family at all
 * (a GUE VIP is encapsulated whatever the node's method).
 */
static __always_inline int xlb_family_ok(const struct xlb_pkt *p, const struct xlb_backend *be,
					 const struct xlb_config *cfg, int gue)
{
	if (be->family == p->key.family)
		return 1;
	return (cfg->forward != XLB_FWD_L2 || gue) && p->key.family == XLB_AF_INET;
}

/*
 * gue: send in GUE, with the earlier owners in chain (the flow's own slot)
 * as hops; else IPIP or L2 as the node forwards.
 */
static __always_inline int xlb_send(struct xdp_md *ctx, struct xlb_pkt *p, __u32 id,
				    struct xlb_backend *be, const struct xlb_config *cfg,
				    __u32 hash, int gue, __u64 chain)
{
	struct xlb_nexthop *nh;
	__u32 encap_len;
	int ret;

	ret = xlb_nexthop_get(ctx, id, be, &nh, p->frame_len);
	if (ret >= 0)
		return ret;

	if (cfg->forward == XLB_FWD_L2 && !gue) {
		ret = xlb_l2_rewrite(ctx, p, nh);
		if (ret >= 0)
			return ret;
		xlb_count_reason(XLB_R_FWD_L2, p->frame_len, 0);
	} else {
		if (be->family == XLB_AF_INET)
			encap_len = gue ? XLB_GUE4_ENCAP_LEN : XLB_IPV4_ENCAP_LEN;
		else
			encap_len = gue ? XLB_GUE6_ENCAP_LEN : XLB_IPV6_ENCAP_LEN;
		if (p->ip_len + encap_len > nh->mtu)
			return xlb_too_big(ctx, p, nh->mtu, encap_len);
		ret = xlb_encap(ctx, p, be, nh, cfg, hash, gue, chain);
		if (ret >= 0)
			return ret;
		xlb_count_reason(p->icmp_err ? XLB_R_FWD_ICMP
				 : gue	     ? XLB_R_FWD_GUE
					     : XLB_R_FWD_ENCAP,
				 p->frame_len, 0);
	}
	xlb_count_traffic(&xlb_backend_stats, id, p->frame_len);
	if (nh->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	/* bpf_redirect returns XDP_REDIRECT, or XDP_ABORTED on a bad ifindex. */
	return bpf_redirect(nh->ifindex, 0);
}

/*
 * A packet for VIP vip: NAT, or a backend's pick and the send. The VIP's
 * counters are the caller's.
 */
static __always_inline int xlb_balance(struct xdp_md *ctx, struct xlb_pkt *p,
				       const struct xlb_vip *vip)
{
	struct xlb_config *cfg;
	struct xlb_backend *be;
	__u32 id, hash, zero = 0;
	__u64 chain = 0;
	int ret;

	cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	if (!cfg)
		return XDP_PASS; /* array map: cannot fail for key 0 */
	if (vip->flags & XLB_VIP_F_NAT || cfg->forward == XLB_FWD_NAT)
		return xlb_nat_forward(ctx, p, vip, cfg);

	ret = xlb_pick(p, vip, cfg, &id, &be, &hash);
	if (ret >= 0)
		return ret;
	if (!xlb_family_ok(p, be, cfg, vip->flags & XLB_VIP_F_GUE))
		return xlb_count_reason(XLB_R_DROP_FAMILY, p->frame_len, XDP_DROP);
	if (vip->flags & XLB_VIP_F_GUE)
		chain = xlb_slot_chain(vip, hash);
	return xlb_send(ctx, p, id, be, cfg, hash, vip->flags & XLB_VIP_F_GUE, chain);
}

SEC("xdp")
int xlb_lb(struct xdp_md *ctx)
{
	struct xlb_pkt p = {};
	struct xlb_vip *vip, v;
	int ret, clients = 0;

	ret = xlb_parse(ctx, &p);
	if (ret >= 0)
		return ret;
	if (!xlb_addr_maybe(&p))
		return xlb_count_reason(XLB_R_PASS_NOT_VIP, p.frame_len, XDP_PASS);
	vip = xlb_vip_match(&p, &clients);
	if (!vip) {
		/*
		 * A client outside every filter of the address is not the
		 * balancer's: like a packet for no VIP, it goes to the host
		 * untouched, where a local service or the firewall decides.
		 */
		if (clients)
			return xlb_count_reason(XLB_R_PASS_CLIENT, p.frame_len, XDP_PASS);
		/* A node's reply to a NAT connection is for no VIP. */
		ret = xlb_nat_reply(ctx, &p);
		if (ret >= 0)
			return ret;
		return xlb_count_reason(XLB_R_PASS_NOT_VIP, p.frame_len, XDP_PASS);
	}
	/*
	 * The rest reads a copy: the VIP comes from xlb_vips or from
	 * xlb_filtered_vips, and pointers into two maps would have the
	 * verifier walk everything below twice (states of different maps
	 * never match). One value is 16 bytes, read at once as before.
	 */
	__builtin_memcpy(&v, vip, sizeof(v));
	vip = &v;
	ret = xlb_balance(ctx, &p, vip);
	/*
	 * Counted last, beside the backend's counter: at the start, the
	 * counter's cache and TLB misses held up the lookups that follow
	 * (~30 ns per established packet in bench_xdp).
	 */
	xlb_count_traffic(&xlb_vip_stats, vip->id, p.frame_len);
	return ret;
}
