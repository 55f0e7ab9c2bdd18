/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Includes and conventions shared by every XDP program of xlb.
 *
 * Verdict rule used by all helpers that may end processing: a return value
 * >= 0 is a final XDP action (XDP_PASS, XDP_TX, XDP_DROP, XDP_REDIRECT);
 * a negative value means "continue". Callers write
 *	if (ret >= 0)
 *		return ret;
 */
#ifndef XLB_BPF_COMMON_H
#define XLB_BPF_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include <xlb/abi.h>

#define XLB_CONTINUE (-1)

/*
 * A 16-bit header field in host order, with its bound known to the
 * verifier. The verifiers of Linux 6.1 and 6.12 forget that a byte swap
 * (BPF_END) yields at most 16 bits, and then refuse packet-pointer math
 * with the result ("math between pkt pointer and register with unbounded
 * min value"). The mask restores the bound; it is written in asm because
 * the compiler knows it changes nothing and would drop it.
 */
static __always_inline __u32 xlb_ntohs(__be16 v)
{
	__u32 x = bpf_ntohs(v);

	asm volatile("%0 &= 0xffff" : "+r"(x));
	return x;
}

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#define IP_DF	  0x4000
#define IP_MF	  0x2000
#define IP_OFFSET 0x1fff

#define XLB_VLAN_HLEN 4

/* <linux/icmp.h> pulls in libc's socket headers; these are all we use. */
#define ICMP_DEST_UNREACH  3
#define ICMP_FRAG_NEEDED   4
#define ICMP_TIME_EXCEEDED 11

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		__be32 gateway;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
	} un;
};

struct xlb_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

#endif /* XLB_BPF_COMMON_H */
