/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sending a VIP packet to its backend: IPIP (IPv4 in IPv4), IP6IP6 and
 * IPv4-in-IPv6 encapsulation with the outer source varied per flow, GUE
 * (the same in UDP, with the flow's slot's earlier owners as hops:
 * docs/SECOND_CHANCE.md), or L2 direct return (MACs rewritten, packet
 * otherwise untouched). The L2 header, VLAN tag included, is kept in front
 * of the new outer header. Included by xlb_lb.bpf.c.
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

/*
 * Outer IPv4 header of len bytes in all, carrying proto. Its words are made
 * in registers and summed there: reading the header back from the packet
 * for the checksum cost ~5 ns a packet (the loads wait on the stores just
 * made, of other widths). The sum of the 32-bit words folds to that of the
 * 16-bit ones in either byte order.
 */
static __always_inline void xlb_outer_ipv4(struct iphdr *o, const struct xlb_pkt *p,
					   const struct xlb_backend *be,
					   const struct xlb_config *cfg, __u32 hash, __u32 len,
					   __u8 proto)
{
	__be32 *w = (__be32 *)o;
	/* version 4, 5 words of header, the inner TOS, the total length */
	__be32 w0 = bpf_htonl(0x45000000U | ((__u32)p->tos << 16) | (len & 0xffff));
	/* id 0; DF as the inner packet has it */
	__be32 w1 = p->df ? bpf_htonl(IP_DF) : 0;
	__be16 ttl_proto = bpf_htons((64U << 8) | proto);
	__be32 saddr = (cfg->encap_src4 & ~cfg->encap_src4_mask) |
		       (bpf_htonl(hash) & cfg->encap_src4_mask);
	__be32 daddr = be->addr[0];

	w[0] = w0;
	w[1] = w1;
	*(__be16 *)&o->ttl = ttl_proto;
	o->check = xlb_csum_fold((__u64)w0 + w1 + ttl_proto + saddr + daddr);
	w[3] = saddr;
	w[4] = daddr;
}

/* Outer IPv6 header before payload_len bytes of proto. */
static __always_inline void xlb_outer_ipv6(struct ipv6hdr *o, const struct xlb_pkt *p,
					   const struct xlb_backend *be,
					   const struct xlb_config *cfg, __u32 hash,
					   __u32 payload_len, __u8 proto)
{
	__u32 *w = (__u32 *)o;

	/* version 6, traffic class from the inner packet, flow label = hash */
	w[0] = bpf_htonl((6U << 28) | ((__u32)p->tos << 20) | (hash & 0xfffff));
	o->payload_len = bpf_htons(payload_len);
	o->nexthdr = proto;
	o->hop_limit = 64;
	__builtin_memcpy(&o->saddr, cfg->encap_src6, 16);
	o->saddr.in6_u.u6_addr32[3] = (cfg->encap_src6[3] & ~cfg->encap_src6_mask) |
				      (bpf_htonl(hash) & cfg->encap_src6_mask);
	__builtin_memcpy(&o->daddr, be->addr, 16);
}

/* The inner packet's own protocol number in an outer header. */
static __always_inline __u8 xlb_inner_proto(const struct xlb_pkt *p)
{
	return p->key.family == XLB_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
}

/*
 * UDP and GUE headers of a GUE packet with n hops; len: bytes from the UDP
 * header to the inner packet's start, exclusive of the inner packet.
 */
static __always_inline void xlb_gue_fill(struct udphdr *uh, struct xlb_gue *g,
					 const struct xlb_pkt *p, const struct xlb_config *cfg,
					 __u32 hash, __u32 n, __u32 len)
{
	/* A source port per flow spreads flows over the receiver's queues. */
	uh->source = bpf_htons(XLB_GUE_SPORT_BASE | (hash & 0x3fff));
	uh->dest = cfg->gue_port ?: bpf_htons(XLB_GUE_PORT_DEFAULT);
	uh->len = bpf_htons(p->ip_len + len);
	uh->check = 0;
	/* hlen: the words after the first, the private word and the hops. */
	g->hlen = (len - sizeof(*uh) - 4) / 4;
	g->proto = xlb_inner_proto(p);
	g->flags = 0;
	g->priv = bpf_htons(XLB_GUE_PRIV_TYPE);
	g->next = 0;
	g->count = n;
	if (n)
		xlb_count_reason(XLB_R_GUE_HOPS, p->frame_len, 0);
}

/*
 * A GUE packet's hops: the earlier owners of the flow's slot (chain
 * fields 1 and 2, all of the backend's family: chains.c) that are not
 * DOWN, in chain order. Returns how many; hops beyond stay zero.
 */
static __always_inline __u32 xlb_gue_hops(const struct xlb_pkt *p, __u64 chain,
					  __be32 hops[XLB_GUE_HOPS][4])
{
	struct xlb_backend *b;
	__u32 n = 0, id;
	int i;

#pragma unroll
	for (i = 1; i < XLB_SLOT_IDS; i++) {
		id = xlb_slot_id(chain, i);
		if (id == XLB_SLOT_NONE)
			break;
		b = bpf_map_lookup_elem(&xlb_backends, &id);
		if (!b || b->state == XLB_BE_UNUSED)
			continue;
		if (b->state == XLB_BE_DOWN) {
			xlb_count_reason(XLB_R_HOP_DOWN, p->frame_len, 0);
			continue;
		}
		/* Constant indexes: the verifier wants fixed stack offsets. */
		if (n)
			__builtin_memcpy(hops[1], b->addr, 16);
		else
			__builtin_memcpy(hops[0], b->addr, 16);
		n++;
	}
	return n;
}

/*
 * UDP checksum of a GUE packet over IPv6 (RFC 8200 wants one), without
 * reading the payload: a transport segment whose own checksum is right
 * sums to the negated sum of its pseudo-header, and a valid IPv4 header or
 * ICMPv4 message to zero, so the headers alone give the sum (the kernel's
 * local checksum offload works the same way). uh is the outer UDP header,
 * followed by GUE, the private word and the hops; the inner packet comes
 * after them. 0 (no checksum) where the shortcut does not hold: an IPv4
 * UDP datagram sent without a checksum, an IPv6 packet with extension
 * headers.
 */
static __always_inline __be16 xlb_gue6_csum(const struct ipv6hdr *o, const struct xlb_pkt *p,
					    void *data_end)
{
	const __u32 *w = (const void *)(o + 1);
	const void *inner = (const void *)o + XLB_GUE6_ENCAP_LEN;
	const struct ipv6hdr *ip6 = inner;
	const struct iphdr *iph = inner;
	__u32 l4_len, hlen, i;
	__u64 sum;
	__u8 proto;

	if ((void *)(ip6 + 1) > data_end)
		return 0;
	sum = xlb_ipv6_pseudo_sum(o, p->ip_len + XLB_GUE6_ENCAP_LEN - sizeof(*o), IPPROTO_UDP);
	/* UDP (check 0), GUE, private word and hops: 48 bytes. */
#pragma unroll
	for (i = 0; i < (XLB_GUE6_ENCAP_LEN - sizeof(*o)) / 4; i++)
		sum += w[i];
	if (p->key.family == XLB_AF_INET) {
		hlen = xlb_ip_hlen(p);
		proto = p->icmp_err ? IPPROTO_ICMP : p->key.proto;
		if (proto == IPPROTO_ICMP)
			return xlb_csum_fold(sum) ?: 0xffff;
		if (proto == IPPROTO_UDP) {
			const struct udphdr *iu = inner + hlen;

			if ((void *)(iu + 1) > data_end || !iu->check)
				return 0;
		}
		l4_len = p->ip_len - hlen;
		/* The segment: minus its pseudo-header's sum; the header: zero. */
		return xlb_csum_fold(sum + xlb_csum_fold((__u64)iph->saddr + iph->daddr +
							 bpf_htonl(((__u32)proto << 16) | l4_len)))
			       ?: 0xffff;
	}
	if (p->l4_off - p->l2_len != sizeof(*ip6))
		return 0;
	proto = p->icmp_err ? IPPROTO_ICMPV6 : p->key.proto;
	l4_len = p->ip_len - sizeof(*ip6);
	/* The inner IPv6 header, then minus the segment's pseudo-header. */
#pragma unroll
	for (i = 0; i < sizeof(*ip6) / 4; i++)
		sum += ((const __u32 *)ip6)[i];
	return xlb_csum_fold(sum + xlb_csum_fold(xlb_ipv6_pseudo_sum(ip6, l4_len, proto)))
		       ?: 0xffff;
}

/*
 * Push the outer header matching the backend's family: IPIP / IP6IP6 /
 * 4in6, or with gue the same in GUE carrying the flow's slot's earlier
 * owners (chain) as hops. Every shape has a constant size.
 */
static __always_inline int xlb_encap(struct xdp_md *ctx, const struct xlb_pkt *p,
				     const struct xlb_backend *be, const struct xlb_nexthop *nh,
				     const struct xlb_config *cfg, __u32 hash, int gue, __u64 chain)
{
	__be32 hops[XLB_GUE_HOPS][4] = {};
	__u32 grow, n = 0;
	void *data, *data_end, *outer;
	struct udphdr *uh;
	struct xlb_gue *g;
	__be32 *h4;
	__be16 proto;

	if (be->family == XLB_AF_INET)
		grow = gue ? XLB_GUE4_ENCAP_LEN : XLB_IPV4_ENCAP_LEN;
	else
		grow = gue ? XLB_GUE6_ENCAP_LEN : XLB_IPV6_ENCAP_LEN;
	if (gue)
		n = xlb_gue_hops(p, chain, hops);
	if (bpf_xdp_adjust_head(ctx, -(int)grow))
		return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	proto = be->family == XLB_AF_INET ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
	if (xlb_l2_push(data, data_end, grow, xlb_l2_len(p), proto, nh))
		return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);

	outer = data + xlb_l2_len(p);
	if (!gue) {
		if (be->family == XLB_AF_INET) {
			if (outer + XLB_IPV4_ENCAP_LEN > data_end)
				return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len,
							XDP_DROP);
			xlb_outer_ipv4(outer, p, be, cfg, hash, p->ip_len + XLB_IPV4_ENCAP_LEN,
				       IPPROTO_IPIP);
		} else {
			if (outer + XLB_IPV6_ENCAP_LEN > data_end)
				return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len,
							XDP_DROP);
			xlb_outer_ipv6(outer, p, be, cfg, hash, p->ip_len, xlb_inner_proto(p));
		}
		return XLB_CONTINUE;
	}

	/*
	 * One branch per family down to the last write: the family is read
	 * from a map value, and the verifier must not meet the IPv6 writes on
	 * the path whose bounds check was the IPv4 one.
	 */
	if (be->family == XLB_AF_INET) {
		if (outer + XLB_GUE4_ENCAP_LEN > data_end)
			return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);
		xlb_outer_ipv4(outer, p, be, cfg, hash, p->ip_len + XLB_GUE4_ENCAP_LEN,
			       IPPROTO_UDP);
		uh = outer + sizeof(struct iphdr);
		g = (void *)(uh + 1);
		xlb_gue_fill(uh, g, p, cfg, hash, n, XLB_GUE4_ENCAP_LEN - sizeof(struct iphdr));
		h4 = (void *)(g + 1);
		h4[0] = hops[0][0];
		h4[1] = hops[1][0];
		return XLB_CONTINUE;
	}
	if (outer + XLB_GUE6_ENCAP_LEN > data_end)
		return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);
	xlb_outer_ipv6(outer, p, be, cfg, hash,
		       p->ip_len + XLB_GUE6_ENCAP_LEN - sizeof(struct ipv6hdr), IPPROTO_UDP);
	uh = outer + sizeof(struct ipv6hdr);
	g = (void *)(uh + 1);
	xlb_gue_fill(uh, g, p, cfg, hash, n, XLB_GUE6_ENCAP_LEN - sizeof(struct ipv6hdr));
	__builtin_memcpy((void *)(g + 1), hops, sizeof(hops));
	uh->check = xlb_gue6_csum(outer, p, data_end);
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
