/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * "Too big" answers: a VIP packet that would exceed the path MTU once
 * encapsulated is turned, in place, into an ICMP fragmentation-needed
 * (IPv4) or packet-too-big (IPv6) message from the VIP to the client, which
 * lowers its path MTU by the encapsulation overhead. Included by xlb_lb.bpf.c.
 */
#ifndef XLB_BPF_ICMP_H
#define XLB_BPF_ICMP_H

#include "csum.h"
#include "parse.h"
#include "stats.h"

#define XLB_ICMP6_QUOTE 128 /* bytes of the packet quoted in a PTB */
/*
 * Bound of the checksum loop: the largest message summed, the PTB's ICMPv6
 * header plus its quote (136 bytes; frag-needed sums at most 8 + 60 + 8).
 */
#define XLB_QUOTE_WORDS ((sizeof(struct icmp6hdr) + XLB_ICMP6_QUOTE) / 4)

/* 32-bit-word sum of len bytes (a multiple of 4, <= 4 * XLB_QUOTE_WORDS). */
static __always_inline __u64 xlb_sum_words(void *start, void *data_end, __u32 len)
{
	__u32 *w = start;
	__u64 sum = 0;
	int i;

	for (i = 0; i < (int)XLB_QUOTE_WORDS; i++) {
		if ((__u32)i * 4 >= len || (void *)(w + i + 1) > data_end)
			break;
		sum += w[i];
	}
	return sum;
}

/*
 * Reshape the frame to l2 + hdr + quote bytes with the L2 header first and
 * its MACs swapped: adjust_head(-hdr), move the L2 header, trim the tail.
 */
static __always_inline int xlb_reply_frame(struct xdp_md *ctx, const struct xlb_pkt *p, __u32 hdr,
					   __u32 quote)
{
	void *data, *data_end;
	struct ethhdr *eth;
	__u8 mac[ETH_ALEN];
	int trim;

	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + hdr + 18 > data_end)
		return -1;
	if (p->l2_len == sizeof(struct ethhdr))
		__builtin_memmove(data, data + hdr, sizeof(struct ethhdr));
	else
		__builtin_memmove(data, data + hdr, 18);
	eth = data;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	trim = (int)(p->l2_len + hdr + quote) - (int)(data_end - data);
	if (trim < 0 && bpf_xdp_adjust_tail(ctx, trim))
		return -1;
	return 0;
}

static __always_inline int xlb_too_big4(struct xdp_md *ctx, const struct xlb_pkt *p, __u32 mtu)
{
	__u32 quote = xlb_ip_hlen(p) + 8, hdr = sizeof(struct iphdr) + sizeof(struct icmphdr);
	void *data, *data_end;
	struct icmphdr *ic;
	struct iphdr *iph;

	if (p->ip_len < quote || xlb_reply_frame(ctx, p, hdr, quote))
		return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	iph = data + xlb_l2_len(p);
	ic = (void *)(iph + 1);
	if ((void *)(ic + 1) > data_end)
		return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);

	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->tot_len = bpf_htons(hdr + quote);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = 64;
	iph->protocol = IPPROTO_ICMP;
	iph->saddr = p->key.daddr[0];
	iph->daddr = p->key.saddr[0];
	iph->check = 0;
	iph->check = xlb_ipv4_csum(iph);

	ic->type = ICMP_DEST_UNREACH;
	ic->code = ICMP_FRAG_NEEDED;
	ic->un.frag.__unused = 0;
	ic->un.frag.mtu = bpf_htons(mtu);
	ic->checksum = 0;
	ic->checksum = xlb_csum_fold(xlb_sum_words(ic, data_end, sizeof(*ic) + quote));
	return xlb_count_reason(XLB_R_TX_TOO_BIG, p->frame_len, XDP_TX);
}

static __always_inline int xlb_too_big6(struct xdp_md *ctx, const struct xlb_pkt *p, __u32 mtu)
{
	__u32 quote = XLB_ICMP6_QUOTE, hdr = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr);
	void *data, *data_end;
	struct icmp6hdr *ic;
	struct ipv6hdr *ip6;
	__u64 sum;

	if (p->ip_len < quote || xlb_reply_frame(ctx, p, hdr, quote))
		return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip6 = data + xlb_l2_len(p);
	ic = (void *)(ip6 + 1);
	if ((void *)(ic + 1) > data_end)
		return xlb_count_reason(XLB_R_DROP_HEADROOM, p->frame_len, XDP_DROP);

	*(__u32 *)ip6 = bpf_htonl(6U << 28);
	ip6->payload_len = bpf_htons(sizeof(*ic) + quote);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = 64;
	__builtin_memcpy(&ip6->saddr, p->key.daddr, 16);
	__builtin_memcpy(&ip6->daddr, p->key.saddr, 16);

	ic->icmp6_type = ICMPV6_PKT_TOOBIG;
	ic->icmp6_code = 0;
	ic->icmp6_cksum = 0;
	ic->icmp6_mtu = bpf_htonl(mtu);
	sum = xlb_ipv6_pseudo_sum(ip6, sizeof(*ic) + quote, IPPROTO_ICMPV6);
	sum += xlb_sum_words(ic, data_end, sizeof(*ic) + quote);
	ic->icmp6_cksum = xlb_csum_fold(sum);
	return xlb_count_reason(XLB_R_TX_TOO_BIG, p->frame_len, XDP_TX);
}

/*
 * The packet does not fit the path once encapsulated. Tell the client the
 * MTU it may use; an IPv4 packet without DF, or an ICMP error, is dropped.
 */
static __always_inline int xlb_too_big(struct xdp_md *ctx, const struct xlb_pkt *p, __u32 path_mtu,
				       __u32 encap_len)
{
	__u32 mtu = path_mtu - encap_len;

	if (p->icmp_err || !p->df)
		return xlb_count_reason(XLB_R_DROP_TOO_BIG, p->frame_len, XDP_DROP);
	if (p->key.family == XLB_AF_INET)
		return xlb_too_big4(ctx, p, mtu);
	return xlb_too_big6(ctx, p, mtu < 1280 ? 1280 : mtu);
}

#endif /* XLB_BPF_ICMP_H */
