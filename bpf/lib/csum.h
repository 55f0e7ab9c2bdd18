/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internet checksums computed in the program: the outer IPv4 header,
 * ICMP/ICMPv6 messages the program builds, and incremental updates of the
 * headers NAT and second chance rewrite (RFC 1624). Included by
 * xlb_lb.bpf.c, through encap.h, icmp.h and nat.h, and by xlb_decap.bpf.c.
 */
#ifndef XLB_BPF_CSUM_H
#define XLB_BPF_CSUM_H

#include "common.h"

static __always_inline __u16 xlb_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Checksum of a 20-byte IPv4 header whose check field is zero. */
static __always_inline __u16 xlb_ipv4_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u64 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	return xlb_csum_fold(sum);
}

/* Sum of an IPv6 pseudo-header (addresses, length, next header). */
static __always_inline __u64 xlb_ipv6_pseudo_sum(const struct ipv6hdr *ip6, __u32 len, __u8 proto)
{
	const __u32 *s = (const __u32 *)&ip6->saddr;
	const __u32 *d = (const __u32 *)&ip6->daddr;
	__u64 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++)
		sum += (__u64)s[i] + d[i];
	return sum + bpf_htonl(len) + bpf_htonl(proto);
}

/* One's-complement difference of a 32-bit word changing from -> to. */
static __always_inline __u64 xlb_csum_diff32(__be32 from, __be32 to)
{
	return (__u64)(__u32)~from + (__u32)to;
}

static __always_inline __u64 xlb_csum_diff16(__be16 from, __be16 to)
{
	return (__u64)(__u16)~from + (__u16)to;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
static __always_inline __u16 xlb_csum_apply(__u16 check, __u64 diff)
{
	return xlb_csum_fold((__u64)(__u16)~check + diff);
}

#endif /* XLB_BPF_CSUM_H */
