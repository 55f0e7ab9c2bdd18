/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sending a VIP packet to its backend: IPIP (IPv4 in IPv4), IP6IP6 and
 * IPv4-in-IPv6 encapsulation with the outer source varied per flow, or L2
 * direct return (MACs rewritten, packet otherwise untouched). The L2
 * header, VLAN tag included, is kept in front of the new outer header.
 * Included by xlb_lb.bpf.c.
 */
#ifndef XLB_BPF_ENCAP_H
#define XLB_BPF_ENCAP_H

#include "csum.h"
#include "nexthop.h"
#include "parse.h"
#include "stats.h"

/*
 * Move the L2 header from data + grow to data after adjust_head(-grow), and
 * set its ethertype and MACs. Two constant-size copies: the verifier wants
 * fixed lengths.
 */
static __always_inline int xlb_l2_push(void *data, void *data_end, __u32 grow, __u32 l2_len,
				       __be16 proto, const struct xlb_nexthop *nh)
{
	struct ethhdr *eth = data;
	struct xlb_vlan_hdr *vh;

	if (data + grow + l2_len > data_end || (void *)(eth + 1) > data_end)
		return -1;
	if (l2_len == sizeof(struct ethhdr)) {
		eth->h_proto = proto;
	} else {
		vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end || data + grow + 18 > data_end)
			return -1;
		/* Keep TPID and TCI; inner ethertype becomes the outer's. */
		__builtin_memcpy(data + 12, data + grow + 12, 4);
		vh->proto = proto;
	}
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	return 0;
}

static __always_inline void xlb_outer_ipv4(struct iphdr *o, const struct xlb_pkt *p,
					   const struct xlb_backend *be,
					   const struct xlb_config *cfg, __u32 hash)
{
	o->version = 4;
	o->ihl = 5;
	o->tos = p->tos;
	o->tot_len = bpf_htons(p->ip_len + sizeof(*o));
	o->id = 0;
	o->frag_off = p->df ? bpf_htons(IP_DF) : 0;
	o->ttl = 64;
	o->protocol = IPPROTO_IPIP;
	o->saddr = (cfg->encap_src4 & ~cfg->encap_src4_mask) |
		   (bpf_htonl(hash) & cfg->encap_src4_mask);
	o->daddr = be->addr[0];
	o->check = 0;
	o->check = xlb_ipv4_csum(o);
}

static __always_inline void xlb_outer_ipv6(struct ipv6hdr *o, const struct xlb_pkt *p,
					   const struct xlb_backend *be,
					   const struct xlb_config *cfg, __u32 hash)
{
	__u32 *w = (__u32 *)o;

	/* version 6, traffic class from the inner packet, flow label = hash */
	w[0] = bpf_htonl((6U << 28) | ((__u32)p->tos << 20) | (hash & 0xfffff));
	o->payload_len = bpf_htons(p->ip_len);
	o->nexthdr = p->key.family == XLB_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
	o->hop_limit = 64;
	__builtin_memcpy(&o->saddr, cfg->encap_src6, 16);
	o->saddr.in6_u.u6_addr32[3] = (cfg->encap_src6[3] & ~cfg->encap_src6_mask) |
				      (bpf_htonl(hash) & cfg->encap_src6_mask);
	__builtin_memcpy(&o->daddr, be->addr, 16);
}

/* Push the outer header matching the backend's family. */
static __always_inline int xlb_encap(struct xdp_md *ctx, const struct xlb_pkt *p,
				     const struct xlb_backend *be, const struct xlb_nexthop *nh,
				     const struct xlb_config *cfg, __u32 hash)
{
	__u32 grow = be->family == XLB_AF_INET ? XLB_IPV4_ENCAP_LEN : XLB_IPV6_ENCAP_LEN;
	void *data, *data_end, *outer;
	__be16 proto;

	if (bpf_xdp_adjust_head(ctx, -(int)grow))
		return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	proto = be->family == XLB_AF_INET ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
	if (xlb_l2_push(data, data_end, grow, xlb_l2_len(p), proto, nh))
		return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);

	outer = data + xlb_l2_len(p);
	if (be->family == XLB_AF_INET) {
		if (outer + sizeof(struct iphdr) > data_end)
			return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);
		xlb_outer_ipv4(outer, p, be, cfg, hash);
	} else {
		if (outer + sizeof(struct ipv6hdr) > data_end)
			return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);
		xlb_outer_ipv6(outer, p, be, cfg, hash);
	}
	return XLB_CONTINUE;
}

/* L2 direct return: new MACs, nothing else changes. */
static __always_inline int xlb_l2_rewrite(struct xdp_md *ctx, const struct xlb_pkt *p,
					  const struct xlb_nexthop *nh)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	return XLB_CONTINUE;
}

#endif /* XLB_BPF_ENCAP_H */
