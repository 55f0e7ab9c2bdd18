/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internet checksums computed in the program: the outer IPv4 header, and
 * ICMP/ICMPv6 messages the program builds. Included by xlb_lb.bpf.c.
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
static __always_inline __u64 xlb_ipv6_pseudo_sum(const struct ipv6hdr *ip6,
						 __u32 len, __u8 proto)
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

#endif /* XLB_BPF_CSUM_H */
