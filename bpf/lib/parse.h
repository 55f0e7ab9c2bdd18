/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parsing: Ethernet (one 802.1Q/802.1ad tag), IPv4 (options),
 * IPv6 (extension headers up to XLB_IPV6_EXT_MAX), TCP, UDP, and the
 * header embedded in ICMP/ICMPv6 errors. Fills struct xlb_pkt; never
 * writes the packet. Every access is bounds-checked against data_end first.
 * Included by xlb_lb.bpf.c (the decap program has its own, smaller parse).
 */
#ifndef XLB_BPF_PARSE_H
#define XLB_BPF_PARSE_H

#include "common.h"
#include "stats.h"

/* What the parser learnt about a packet. Offsets are from ctx->data. */
struct xlb_pkt {
	struct xlb_flow_key key; /* client -> VIP 5-tuple */
	__u32 l2_len;		 /* 14, or 18 with a VLAN tag */
	__u32 ip_len;		 /* L3 length as the IP header says */
	__u32 ip_hlen;		 /* IPv4 header length with options */
	__u32 frame_len;	 /* whole frame, for byte counters */
	__u32 l4_off;		 /* the TCP/UDP (or ICMP) header */
	__u8 tcp_flags;
	__u8 icmp_err; /* key taken from an ICMP error */
	__u8 df;       /* IPv4 DF, always 1 for IPv6 */
	__u8 tos;      /* IPv4 TOS / IPv6 traffic class */
};

#define XLB_TCP_FIN 0x01
#define XLB_TCP_SYN 0x02
#define XLB_TCP_RST 0x04
#define XLB_TCP_ACK 0x10

/*
 * Offsets read back from struct xlb_pkt lose their bounds on the stack; the
 * verifier accepts packet pointers built from them only once re-bounded.
 */
static __always_inline __u32 xlb_l2_len(const struct xlb_pkt *p)
{
	return p->l2_len & 0x1f; /* 14 or 18 */
}

static __always_inline __u32 xlb_ip_hlen(const struct xlb_pkt *p)
{
	return p->ip_hlen & 0x3c; /* 20 .. 60 */
}

/* Ethernet and at most one VLAN tag; sets l2_len, returns the ethertype. */
static __always_inline int xlb_parse_eth(void *data, void *data_end, struct xlb_pkt *p,
					 __be16 *proto)
{
	struct ethhdr *eth = data;
	struct xlb_vlan_hdr *vh;

	if ((void *)(eth + 1) > data_end)
		return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
	*proto = eth->h_proto;
	p->l2_len = sizeof(*eth);
	if (*proto == bpf_htons(ETH_P_8021Q) || *proto == bpf_htons(ETH_P_8021AD)) {
		vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end)
			return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
		*proto = vh->proto;
		p->l2_len += XLB_VLAN_HLEN;
	}
	return XLB_CONTINUE;
}

/* Ports of a TCP/UDP header at l4; proto decides which. */
static __always_inline int xlb_parse_ports(void *l4, void *data_end, __u8 proto, __be16 *sport,
					   __be16 *dport, __u8 *flags)
{
	struct tcphdr *th = l4;
	struct udphdr *uh = l4;

	if (proto == IPPROTO_TCP) {
		if ((void *)(th + 1) > data_end)
			return -1;
		*sport = th->source;
		*dport = th->dest;
		*flags = ((__u8 *)th)[13];
		return 0;
	}
	if ((void *)(uh + 1) > data_end)
		return -1;
	*sport = uh->source;
	*dport = uh->dest;
	return 0;
}

/*
 * The header quoted by an ICMP error describes a packet the backend sent
 * (VIP -> client, direct server return), so the key is filled reversed to
 * name the client -> VIP flow. Only the first 8 bytes of its L4 header are
 * quoted. Returns XLB_CONTINUE with the key filled, else a verdict.
 *
 * It is the balancer's only when addressed to the quoted packet's source:
 * routers send errors to the source of the packet at fault (RFC 1122
 * 3.2.2, RFC 4443 2.2), here the VIP. One sent anywhere else (the LB's own
 * address, a backend, loopback, broadcast) is the host's even if it quotes
 * a VIP flow: it passes untouched, counted as not for a VIP. Comparing the
 * two addresses is the cheapest correct check: the VIP is then matched on
 * the quoted source (pick.h), so the outer destination is that very VIP. A
 * lookup of the outer destination would cost a map lookup, need the quoted
 * port and protocol too (VIPs are keyed on all three), and still take an
 * error sent to one VIP about another VIP's flow.
 */
static __always_inline int xlb_parse_icmp4_inner(void *l4, void *data_end, int room,
						 struct xlb_pkt *p)
{
	struct iphdr *in = l4 + sizeof(struct icmphdr);
	__u32 hlen;
	__be16 *ports;

	if ((void *)(in + 1) > data_end)
		return xlb_count_reason(XLB_R_PASS_PROTO, p->frame_len, XDP_PASS);
	hlen = (in->ihl & 0xf) << 2;
	/* The quote must be an IPv4 header and its ports, inside the packet. */
	if (in->version != 4 || hlen < sizeof(*in) ||
	    room < (int)(sizeof(struct icmphdr) + hlen + 4) ||
	    (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
		return xlb_count_reason(XLB_R_PASS_PROTO, p->frame_len, XDP_PASS);
	ports = (void *)in + hlen;
	if ((void *)(ports + 2) > data_end)
		return xlb_count_reason(XLB_R_PASS_PROTO, p->frame_len, XDP_PASS);
	/* key.daddr still holds the outer destination (xlb_parse_ipv4). */
	if (in->saddr != p->key.daddr[0])
		return xlb_count_reason(XLB_R_PASS_NOT_VIP, p->frame_len, XDP_PASS);
	p->key.saddr[0] = in->daddr;
	p->key.daddr[0] = in->saddr;
	p->key.sport = ports[1];
	p->key.dport = ports[0];
	p->key.proto = in->protocol;
	p->icmp_err = 1;
	return XLB_CONTINUE;
}

static __always_inline int xlb_parse_icmp6_inner(void *l4, void *data_end, int room,
						 struct xlb_pkt *p)
{
	struct ipv6hdr *in = l4 + sizeof(struct icmp6hdr);
	__be16 *ports = (void *)(in + 1);
	const __u32 *s = in->saddr.in6_u.u6_addr32, *d = p->key.daddr;

	if ((void *)(ports + 2) > data_end)
		return xlb_count_reason(XLB_R_PASS_PROTO, p->frame_len, XDP_PASS);
	/* The quote must be an IPv6 header and its ports, inside the packet. */
	if (in->version != 6 || room < (int)(sizeof(struct icmp6hdr) + sizeof(*in) + 4) ||
	    (in->nexthdr != IPPROTO_TCP && in->nexthdr != IPPROTO_UDP))
		return xlb_count_reason(XLB_R_PASS_PROTO, p->frame_len, XDP_PASS);
	/* key.daddr still holds the outer destination (xlb_parse_ipv6). */
	if ((s[0] ^ d[0]) | (s[1] ^ d[1]) | (s[2] ^ d[2]) | (s[3] ^ d[3]))
		return xlb_count_reason(XLB_R_PASS_NOT_VIP, p->frame_len, XDP_PASS);
	__builtin_memcpy(p->key.saddr, &in->daddr, 16);
	__builtin_memcpy(p->key.daddr, &in->saddr, 16);
	p->key.sport = ports[1];
	p->key.dport = ports[0];
	p->key.proto = in->nexthdr;
	p->icmp_err = 1;
	return XLB_CONTINUE;
}

/*
 * L4 at l4 with IP protocol proto; room is what the IP header's length
 * leaves for it (negative when the extension headers already overran it).
 * TCP/UDP fill the key; ICMP errors fill it from the quoted header (or
 * pass, as above). Anything else passes to the kernel untouched.
 *
 * Every header is checked twice: against data_end, which is what the
 * verifier follows, and against room, which is what the packet is: a frame
 * may carry bytes after its IP packet (Ethernet padding, or a lie in the
 * length field), and those are no header.
 */
static __always_inline int xlb_parse_l4(void *l4, void *data_end, int room, __u8 proto,
					struct xlb_pkt *p)
{
	struct icmphdr *ic = l4;
	struct icmp6hdr *ic6 = l4;

	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		p->key.proto = proto;
		if (room < (int)(proto == IPPROTO_TCP ? sizeof(struct tcphdr)
						      : sizeof(struct udphdr)) ||
		    xlb_parse_ports(l4, data_end, proto, &p->key.sport, &p->key.dport,
				    &p->tcp_flags))
			return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
		return XLB_CONTINUE;
	}
	if (proto == IPPROTO_ICMP) {
		if ((void *)(ic + 1) > data_end || room < (int)sizeof(*ic))
			return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
		if (ic->type == ICMP_DEST_UNREACH || ic->type == ICMP_TIME_EXCEEDED)
			return xlb_parse_icmp4_inner(l4, data_end, room, p);
	} else if (proto == IPPROTO_ICMPV6) {
		if ((void *)(ic6 + 1) > data_end || room < (int)sizeof(*ic6))
			return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
		if ((ic6->icmp6_type == ICMPV6_DEST_UNREACH ||
		     ic6->icmp6_type == ICMPV6_PKT_TOOBIG || ic6->icmp6_type == ICMPV6_TIME_EXCEED))
			return xlb_parse_icmp6_inner(l4, data_end, room, p);
	}
	return xlb_count_reason(XLB_R_PASS_PROTO, p->frame_len, XDP_PASS);
}

static __always_inline int xlb_parse_ipv4(void *data, void *data_end, struct xlb_pkt *p)
{
	struct iphdr *iph = data + p->l2_len;
	__u32 hlen;

	if ((void *)(iph + 1) > data_end)
		return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
	hlen = (iph->ihl & 0xf) << 2;
	p->ip_len = xlb_ntohs(iph->tot_len);
	if (iph->version != 4 || hlen < sizeof(*iph) || p->ip_len < hlen ||
	    data + p->l2_len + p->ip_len > data_end)
		return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return xlb_count_reason(XLB_R_PASS_FRAGMENT, p->frame_len, XDP_PASS);
	p->key.family = XLB_AF_INET;
	p->key.saddr[0] = iph->saddr;
	p->key.daddr[0] = iph->daddr;
	p->ip_hlen = hlen;
	p->df = !!(iph->frag_off & bpf_htons(IP_DF));
	p->tos = iph->tos;
	p->l4_off = p->l2_len + hlen;
	return xlb_parse_l4((void *)iph + hlen, data_end, p->ip_len - hlen, iph->protocol, p);
}

static __always_inline int xlb_parse_ipv6(void *data, void *data_end, struct xlb_pkt *p)
{
	struct ipv6hdr *ip6 = data + p->l2_len;
	struct ipv6_opt_hdr *opt;
	void *l4 = ip6 + 1;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
	p->ip_len = sizeof(*ip6) + xlb_ntohs(ip6->payload_len);
	if (ip6->version != 6 || data + p->l2_len + p->ip_len > data_end)
		return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
	nexthdr = ip6->nexthdr;

	/* Bounded walk: the verifier needs a constant trip count. */
	for (i = 0; i < XLB_IPV6_EXT_MAX; i++) {
		opt = l4;
		if (nexthdr == IPPROTO_FRAGMENT)
			return xlb_count_reason(XLB_R_PASS_FRAGMENT, p->frame_len, XDP_PASS);
		if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING &&
		    nexthdr != IPPROTO_DSTOPTS)
			break;
		if ((void *)(opt + 1) > data_end)
			return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
		nexthdr = opt->nexthdr;
		l4 += (opt->hdrlen + 1) << 3;
	}
	p->key.family = XLB_AF_INET6;
	__builtin_memcpy(p->key.saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->key.daddr, &ip6->daddr, 16);
	p->df = 1;
	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	p->l4_off = l4 - data;
	return xlb_parse_l4(l4, data_end, (int)(p->l2_len + p->ip_len) - (int)p->l4_off, nexthdr,
			    p);
}

/* Parse a frame; >= 0 is a verdict (the packet is not ours to balance). */
static __always_inline int xlb_parse(struct xdp_md *ctx, struct xlb_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__be16 proto;
	int ret;

	p->frame_len = data_end - data;
	ret = xlb_parse_eth(data, data_end, p, &proto);
	if (ret >= 0)
		return ret;
	if (proto == bpf_htons(ETH_P_IP))
		return xlb_parse_ipv4(data, data_end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return xlb_parse_ipv6(data, data_end, p);
	return xlb_count_reason(XLB_R_PASS_NOT_IP, p->frame_len, XDP_PASS);
}

#endif /* XLB_BPF_PARSE_H */
