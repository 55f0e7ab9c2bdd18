/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test packets built from a declarative description: Ethernet with an
 * optional 802.1Q tag, IPv4 with optional options and DF/MF/offset bits,
 * IPv6 with optional extension headers, TCP, UDP, ICMP/ICMPv6 (echo, or an
 * error quoting another packet), optionally inside an IPIP / IP6IP6 / 4in6
 * tunnel. Every checksum is correct. Shared by tests/bpf and bench/.
 *
 * Addresses are text ("198.18.0.10", "fd00:78:6c62::10"); the family of a
 * packet is that of its destination address. Multi-byte numbers in a
 * struct pkt_spec are in host order.
 */
#ifndef XLB_TEST_PKT_H
#define XLB_TEST_PKT_H

#include <stddef.h>
#include <linux/types.h>

#define PKT_MAX	    4096 /* largest frame built */
#define PKT_EXT_MAX 4	 /* IPv6 extension headers per packet */

/* MAC addresses of every built frame: client -> load balancer. */
extern const __u8 pkt_mac_client[6];
extern const __u8 pkt_mac_lb[6];

/* IPv6 extension headers (not protocol numbers: IPPROTO_HOPOPTS is 0). */
enum pkt_ext {
	PKT_EXT_END = 0,  /* ends the list */
	PKT_EXT_HOPOPTS,  /* hop-by-hop options, PadN */
	PKT_EXT_ROUTING,  /* segment routing, no segments left */
	PKT_EXT_DSTOPTS,  /* destination options, PadN */
	PKT_EXT_FRAGMENT, /* fragment at offset 0 with M set */
};

struct pkt_spec {
	const char *src;	      /* L3 source address */
	const char *dst;	      /* L3 destination address; sets the family */
	__u8 proto;		      /* IPPROTO_TCP, _UDP, _ICMP or _ICMPV6 */
	__u16 sport, dport;	      /* TCP/UDP ports */
	__u8 tcp_flags;		      /* TCP: FIN 0x01 SYN 0x02 RST 0x04 ACK 0x10 */
	__u8 icmp_type, icmp_code;    /* ICMP/ICMPv6 */
	__u32 icmp_info;	      /* ICMP word 2: echo id/seq, MTU (v4: low 16 bits) */
	const struct pkt_spec *quote; /* ICMP error: the packet it quotes */
	__u16 quote_len;	      /* bytes of that packet quoted; 0 = all */
	__u16 payload_len;	      /* L4 payload bytes (a fixed pattern) */
	__u16 vlan;		      /* 802.1Q VLAN id; 0 = untagged */
	__u8 tos;		      /* IPv4 TOS / IPv6 traffic class */
	__u8 ttl;		      /* TTL / hop limit; 0 = 63 */
	__u8 no_df;		      /* IPv4: leave DF clear */
	__u16 frag;		      /* IPv4: MF (0x2000) and offset bits */
	__u8 ip_opts;		      /* IPv4 option bytes: 0, 4, ... 40 */
	__u8 ext[PKT_EXT_MAX];	      /* enum pkt_ext, in order; PKT_EXT_END ends */
	__u32 flow_label;	      /* IPv6 */
	__u16 ethertype;	      /* not 0: a non-IP frame of payload_len bytes */
	const char *tun_src;	      /* not NULL: inside an IPIP/IP6IP6/4in6 */
	const char *tun_dst;	      /* tunnel from tun_src to tun_dst */
};

/* A built frame and where its headers start. */
struct pkt {
	__u8 data[PKT_MAX];
	size_t len;
	size_t l3_off; /* after Ethernet (and tag): 14 or 18 */
	size_t ip_off; /* the (inner) IP header; l3_off without a tunnel */
	size_t l4_off; /* the L4 header after options / extensions */
};

/**
 * pkt_build() - build the frame that @s describes into @p
 * Return: 0, or -EINVAL for a bad description, -ENOSPC if it is too big.
 */
int pkt_build(struct pkt *p, const struct pkt_spec *s);

/**
 * pkt_build_l3() - build only the IP packet of @s (no L2, no tunnel)
 * Return: its length, or a negative errno.
 */
int pkt_build_l3(__u8 *buf, size_t size, const struct pkt_spec *s);

/**
 * pkt_addr() - parse text address @text into four big-endian words
 * Return: 4 or 6 (the family), or -EINVAL.
 */
int pkt_addr(const char *text, __be32 addr[4]);

/* @v at @b in network byte order (unaligned). */
void pkt_put_be16(__u8 *b, __u16 v);
void pkt_put_be32(__u8 *b, __u32 v);

/* Internet checksum pieces: sum of 16-bit big-endian words, and its fold. */
__u32 pkt_csum_add(__u32 sum, const void *buf, size_t len);
__u16 pkt_csum_fold(__u32 sum);
__u32 pkt_pseudo_sum(int family, const void *src, const void *dst, __u8 proto, __u32 len);

/* 1 if @len bytes at @buf (checksum included) plus @pseudo sum to 0xffff. */
int pkt_csum_ok(const void *buf, size_t len, __u32 pseudo);

#define PKT_FIELDS_MAX 32

/*
 * An expected frame assembled field by field, so that a mismatch can be
 * reported as "byte 30 (outer saddr): expected 0xc6, got 0xc7".
 */
struct pkt_expect {
	__u8 data[PKT_MAX];
	size_t len;
	struct {
		size_t off, len;
		const char *name;
	} field[PKT_FIELDS_MAX];
	int nfield;
};

/**
 * pkt_expect_put() - append field @name of @len bytes copied from @src
 * (zeros when @src is NULL)
 * Return: where the field lies in @x->data, to patch it later; NULL (and
 * nothing appended) when it does not fit.
 */
__u8 *pkt_expect_put(struct pkt_expect *x, const char *name, const void *src, size_t len);

/* @x := the frame @p, its fields named by layer (L2, IP header, L4, ...). */
void pkt_expect_frame(struct pkt_expect *x, const struct pkt *p);

/**
 * pkt_expect_cmp() - compare @len bytes at @got with @x
 * Return: 0 if equal; else 1 and a description of the first difference
 * (offset, field, both bytes, or both lengths) in @msg.
 */
int pkt_expect_cmp(const struct pkt_expect *x, const __u8 *got, size_t len, char *msg, size_t size);

#endif /* XLB_TEST_PKT_H */
