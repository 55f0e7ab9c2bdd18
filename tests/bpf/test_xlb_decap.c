/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF_PROG_TEST_RUN tests of the backend-side decap program
 * (bpf/xlb_decap.bpf.c) through its skeleton, driven by one table of cases:
 * input packet, expected verdict, expected output, reason counted.
 *
 * A stripped packet must equal the same packet built without its tunnel:
 * the original Ethernet header (VLAN tag included) with the inner family's
 * ethertype, then the inner IP packet byte for byte. Maps are never pinned.
 *
 * GUE frames are built here from the wire format as documented (outer IP,
 * UDP, GUE header with xlb's private word and room for XLB_GUE_HOPS hops,
 * inner packet), not by any code of the load balancer.
 *
 * Second chance needs sockets and routes: the test runs in a network
 * namespace of its own, where the VIPs are on lo with a listener on port 80
 * and one established connection each (client port P_HELD), and the hops
 * are neighbours (static entries) on a veth, so a hand-off's FIB lookup
 * succeeds and its frame can be compared byte for byte. Every case also
 * checks the hand-offs per peer (xlb_decap_peers): one packet and its bytes
 * to the hop a handed-on packet went to, nothing for any other case.
 *
 * Output: "ok N - name" or "not ok N - name: what differed", then
 * "P passed, F failed"; the exit status is 1 if a case failed.
 */
#define _GNU_SOURCE /* unshare() */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "dataplane/names.h"
#include "xlb_decap.skel.h"
#include "../lib/bpftest.h"
#include "../lib/pkt.h"

#define CLIENT4	   "198.18.0.10"
#define LB4	   "198.18.200.7"
#define BE4	   "198.18.0.11"
#define VIP4	   "198.18.100.1"
#define VIP4_OTHER "198.18.100.2"
#define BE4_2	   "198.18.0.12"
#define BE4_3	   "198.18.0.13"
#define CLIENT6	   "fd00:78:6c62::10"
#define LB6	   "fd00:78:6c62:200::7"
#define BE6	   "fd00:78:6c62::11"
#define VIP6	   "fd00:78:6c62:100::1"
#define VIP6_OTHER "fd00:78:6c62:100::2"
#define BE6_2	   "fd00:78:6c62::12"
#define BE6_3	   "fd00:78:6c62::13"

/* The local VIPs every case runs against. */
static const char *const local_vips[] = {VIP4, VIP6};

#define TCP_SYN 0x02
#define TCP_ACK 0x10

#define P_HELD	 40001		/* the client port of the connection each VIP holds */
#define P_LISTEN 40002		/* a client port with no connection (the listener only) */
#define HOP_DEV	 "xlbsc0"	/* the veth the hops are neighbours on */
#define NOROUTE4 "198.19.255.1" /* a hop with no route */

#define P_TCP4	       .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80
#define P_UDP4	       .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP, .sport = 5353, .dport = 53
#define P_TCP6	       .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80
#define P_TCP4_FROM(p) .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = p, .dport = 80
#define P_TCP6_FROM(p) .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .sport = p, .dport = 80
#define P_UDP6	       .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 5353, .dport = 53
#define IPIP	       .tun_src = LB4, .tun_dst = BE4
#define IN6	       .tun_src = LB6, .tun_dst = BE6
#define GUE4	       .gue = {.src = LB4, .dst = BE4}
#define GUE6	       .gue = {.src = LB6, .dst = BE6}

#define GUE_PORT_SET 7000 /* a port other than the default, set in the map */

/* A GUE encapsulation around a case's packet (which has no tun_src). */
struct gue_spec {
	const char *src, *dst;		/* outer addresses; NULL: no GUE */
	__u16 port;			/* UDP destination port; 0 = XLB_GUE_PORT_DEFAULT */
	int foreign;			/* another sender's header: no private word, no hops */
	__u8 hlen;			/* foreign: words of its own data after the GUE header */
	__u8 next, count;		/* xlb's private word */
	const char *hops[XLB_GUE_HOPS]; /* the first count are written, the rest stay 0 */
};

enum out_kind {
	OUT_SAME,    /* byte for byte the input */
	OUT_INNER,   /* the same packet built without its tunnel */
	OUT_HANDOFF, /* the input sent on to hop next: MACs, outer addresses, TTL, next */
	OUT_NONE,    /* dropped: the verdict says it all */
};

struct decap_case {
	const char *name;
	struct pkt_spec pkt;	       /* the input packet */
	struct gue_spec gue;	       /* wrapped in GUE once built */
	__u16 port;		       /* GUE port set in xlb_decap_gue_port; 0 = none */
	void (*mangle)(struct pkt *p); /* break it once built (after GUE) */
	__u32 verdict;		       /* XDP_PASS / XDP_DROP */
	enum out_kind out;
	int reason; /* enum xlb_decap_reason counted once */
};

struct env {
	unsigned char hop_mac[6]; /* HOP_DEV's address: the hand-off's source MAC */
	struct xlb_decap *skel;
	int prog_fd;
	int ncpu;
	struct bpftest t; /* the report, why the case failed */
	struct bpftest_reasons reasons;
};

/* The case failed: keep the first reason; -1. */
#define fail(e, ...) bpftest_fail(&(e)->t, __VA_ARGS__)

/* --- GUE frames ---------------------------------------------------------- */

/*
 * Put the GUE encapsulation g around the IP packet of p: outer IPv4 (20
 * bytes, DF) or IPv6 (40, no extension header) of g's family, UDP from a
 * source port of the dynamic range to g->port (checksum 0 over IPv4,
 * computed over IPv6), the GUE header (version 0, C 0, hlen, proto of the
 * inner family, flags 0), then either xlb's private word (type, next,
 * count) and XLB_GUE_HOPS hop addresses of the outer family, or a foreign
 * sender's g->hlen words. xlb's header must come to XLB_GUE4_ENCAP_LEN /
 * XLB_GUE6_ENCAP_LEN bytes. Returns 0 or -EINVAL.
 */
static int gue_wrap(struct pkt *p, const struct gue_spec *g)
{
	__be32 src[4], dst[4], hop[4];
	int fam = pkt_addr(g->dst, dst), i;
	size_t ip = fam == 4 ? 20 : 40, alen = fam == 4 ? 4 : 16;
	size_t gue = g->foreign ? 4 + g->hlen * 4U : 8 + XLB_GUE_HOPS * alen;
	size_t encap = ip + 8 + gue, inner = p->len - p->l3_off, udp_len = 8 + gue + inner;
	__u8 *o = p->data + p->l3_off, *u = o + ip, *h = u + 8;

	if (fam < 0 || pkt_addr(g->src, src) != fam || p->len + encap > PKT_MAX ||
	    g->count > XLB_GUE_HOPS || g->hlen > 31)
		return -EINVAL;
	if (!g->foreign && encap != (fam == 4 ? XLB_GUE4_ENCAP_LEN : XLB_GUE6_ENCAP_LEN))
		return -EINVAL;
	memmove(o + encap, o, inner);
	memset(o, 0, encap);
	pkt_put_be16(o - 2, fam == 4 ? 0x0800 : 0x86dd);
	if (fam == 4) {
		o[0] = 0x45;
		pkt_put_be16(o + 2, encap + inner);
		pkt_put_be16(o + 6, 0x4000);
		o[8] = 64;
		o[9] = IPPROTO_UDP;
		memcpy(o + 12, src, 4);
		memcpy(o + 16, dst, 4);
		pkt_put_be16(o + 10, pkt_csum_fold(pkt_csum_add(0, o, 20)));
	} else {
		o[0] = 0x60;
		pkt_put_be16(o + 4, udp_len);
		o[6] = IPPROTO_UDP;
		o[7] = 64;
		memcpy(o + 8, src, 16);
		memcpy(o + 24, dst, 16);
	}
	pkt_put_be16(u, XLB_GUE_SPORT_BASE | 0x1234);
	pkt_put_be16(u + 2, g->port ? g->port : XLB_GUE_PORT_DEFAULT);
	pkt_put_be16(u + 4, udp_len);
	h[0] = (gue - 4) / 4;
	h[1] = (o[encap] >> 4) == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	if (g->foreign) {
		memset(h + 4, 0xa5, gue - 4);
	} else {
		pkt_put_be16(h + 4, XLB_GUE_PRIV_TYPE);
		h[6] = g->next;
		h[7] = g->count;
		for (i = 0; i < g->count; i++) {
			if (pkt_addr(g->hops[i], hop) != fam)
				return -EINVAL;
			memcpy(h + 8 + i * alen, hop, alen);
		}
	}
	if (fam == 6)
		pkt_put_be16(u + 6,
			     pkt_csum_fold(pkt_csum_add(
				     pkt_pseudo_sum(6, src, dst, IPPROTO_UDP, udp_len), u, udp_len))
				     ?: 0xffff);
	p->ip_off += encap;
	p->l4_off += encap;
	p->len += encap;
	return 0;
}

/* The outer UDP header of a GUE frame. */
static __u8 *gue_udp(struct pkt *p)
{
	__u8 *o = p->data + p->l3_off;

	return o + ((o[0] >> 4) == 4 ? 20 : 40);
}

/* --- mangles ------------------------------------------------------------- */

static void outer4_fix_csum(struct pkt *p)
{
	__u8 *h = p->data + p->l3_off;

	pkt_put_be16(h + 10, 0);
	pkt_put_be16(h + 10, pkt_csum_fold(pkt_csum_add(0, h, (h[0] & 0xf) * 4)));
}

/* Outer TTL 1: nothing left for a hand-off. */
static void outer4_ttl_1(struct pkt *p)
{
	p->data[p->l3_off + 8] = 1;
	outer4_fix_csum(p);
}

static void outer4_mf(struct pkt *p)
{
	p->data[p->l3_off + 6] |= 0x20;
	outer4_fix_csum(p);
}

static void outer4_offset(struct pkt *p)
{
	p->data[p->l3_off + 7] = 0x10;
	outer4_fix_csum(p);
}

static void cut_outer_hdr(struct pkt *p)
{
	p->len = p->l3_off + 12;
}

/* Outer header complete, inner IP header cut after 10 bytes. */
static void cut_inner_hdr(struct pkt *p)
{
	p->len = p->ip_off + 10;
}

static void inner_version_6(struct pkt *p)
{
	p->data[p->ip_off] = 0x65;
}

static void inner_version_4(struct pkt *p)
{
	p->data[p->ip_off] = 0x45;
}

static void cut_vlan_tag(struct pkt *p)
{
	p->len = 16;
}

static void gue_version_1(struct pkt *p)
{
	gue_udp(p)[8] |= 0x40;
}

static void gue_c_bit(struct pkt *p)
{
	gue_udp(p)[8] |= 0x20;
}

static void gue_proto_udp(struct pkt *p)
{
	gue_udp(p)[9] = IPPROTO_UDP;
}

static void gue_proto_ipv6(struct pkt *p)
{
	gue_udp(p)[9] = IPPROTO_IPV6;
}

/* hlen 31 (124 bytes): more than the frame holds after the GUE header. */
static void gue_hlen_31(struct pkt *p)
{
	__u8 *h = gue_udp(p) + 8;

	h[0] = (h[0] & 0xe0) | 31;
}

/* UDP header complete, GUE header cut after 2 bytes. */
static void cut_gue_hdr(struct pkt *p)
{
	p->len = gue_udp(p) - p->data + 8 + 2;
}

static void cut_udp_hdr(struct pkt *p)
{
	p->len = gue_udp(p) - p->data + 6;
}

/* --- the cases ----------------------------------------------------------- */

static const struct decap_case cases[] = {
	/* Tunnels to a local VIP: stripped. */
	{.name = "ipip tcp to a local VIP -> stripped",
	 .pkt = {P_TCP4, IPIP, .tcp_flags = TCP_SYN},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},
	{.name = "ipip udp with payload -> stripped",
	 .pkt = {P_UDP4, IPIP, .payload_len = 1200},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},
	{.name = "ipip, inner ipv4 with options -> stripped",
	 .pkt = {P_TCP4, IPIP, .tcp_flags = TCP_ACK, .ip_opts = 12, .payload_len = 30},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},
	{.name = "ip6ip6 tcp to a local VIP -> stripped",
	 .pkt = {P_TCP6, IN6, .tcp_flags = TCP_SYN},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},
	{.name = "ip6ip6 udp, inner extension headers -> stripped",
	 .pkt = {P_UDP6, IN6, .payload_len = 100, .ext = {PKT_EXT_HOPOPTS, PKT_EXT_DSTOPTS}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},
	{.name = "4in6 to a local VIP -> stripped, ethertype ipv4",
	 .pkt = {P_TCP4, IN6, .tcp_flags = TCP_ACK, .payload_len = 500},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},
	{.name = "vlan ipip -> stripped, tag kept",
	 .pkt = {P_TCP4, IPIP, .tcp_flags = TCP_SYN, .vlan = 100},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},
	{.name = "vlan ip6ip6 -> stripped, tag kept",
	 .pkt = {P_UDP6, IN6, .payload_len = 10, .vlan = 4094},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},
	{.name = "vlan 4in6 -> stripped, ethertype in the tag becomes ipv4",
	 .pkt = {P_UDP4, IN6, .payload_len = 10, .vlan = 7},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},

	/* GUE to a local VIP: stripped, whatever the hops say. */
	{.name = "gue ipv4 in ipv4, no hop -> stripped",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 GUE4,
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "gue ipv4 in ipv4, one hop, a SYN -> stripped here",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN, .payload_len = 100},
	 .gue = {.src = LB4, .dst = BE4, .count = 1, .hops = {BE4_2}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_SC_SYN},
	{.name = "gue ipv4 in ipv4, two hops, a SYN -> stripped here",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN, .payload_len = 1200},
	 .gue = {.src = LB4, .dst = BE4, .count = 2, .hops = {BE4_2, BE4_3}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_SC_SYN},
	{.name = "gue ipv6 in ipv6, no hop -> stripped",
	 .pkt = {P_TCP6, .tcp_flags = TCP_SYN},
	 GUE6,
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "gue ipv6 in ipv6, one hop, a SYN -> stripped here",
	 .pkt = {P_TCP6, .tcp_flags = TCP_SYN, .payload_len = 100},
	 .gue = {.src = LB6, .dst = BE6, .count = 1, .hops = {BE6_2}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_SC_SYN},
	{.name = "gue ipv6 in ipv6, two hops, inner extension headers -> stripped",
	 .pkt = {P_UDP6, .payload_len = 300, .ext = {PKT_EXT_HOPOPTS, PKT_EXT_DSTOPTS}},
	 .gue = {.src = LB6, .dst = BE6, .count = 2, .hops = {BE6_2, BE6_3}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "gue ipv4 in ipv6, no hop -> stripped, ethertype ipv4",
	 .pkt = {P_UDP4, .payload_len = 50},
	 GUE6,
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "gue ipv4 in ipv6, one hop -> stripped, ethertype ipv4",
	 .pkt = {P_TCP4, .tcp_flags = TCP_ACK, .ip_opts = 8},
	 .gue = {.src = LB6, .dst = BE6, .count = 1, .hops = {BE6_2}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "gue ipv4 in ipv6, two hops, a SYN -> stripped here, ethertype ipv4",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN, .payload_len = 700},
	 .gue = {.src = LB6, .dst = BE6, .count = 2, .hops = {BE6_2, BE6_3}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_SC_SYN},
	{.name = "gue, hops all used (next = count = 2) -> stripped",
	 .pkt = {P_TCP4, .tcp_flags = TCP_ACK},
	 .gue = {.src = LB4, .dst = BE4, .next = 2, .count = 2, .hops = {BE4_2, BE4_3}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "gue ipv6 in ipv4 -> stripped, ethertype ipv6",
	 .pkt = {P_TCP6, .tcp_flags = TCP_SYN},
	 GUE4,
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "foreign gue, hlen 0 (no private word) -> stripped",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 .gue = {.src = LB4, .dst = BE4, .foreign = 1},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "foreign gue over ipv6, hlen 0 -> stripped",
	 .pkt = {P_UDP6, .payload_len = 20},
	 .gue = {.src = LB6, .dst = BE6, .foreign = 1},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "foreign gue, hlen 31 (the largest) -> stripped",
	 .pkt = {P_TCP6, .tcp_flags = TCP_ACK, .payload_len = 40},
	 .gue = {.src = LB6, .dst = BE6, .foreign = 1, .hlen = 31},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "vlan gue ipv4 in ipv4 -> stripped, tag kept",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN, .vlan = 100},
	 .gue = {.src = LB4, .dst = BE4, .count = 1, .hops = {BE4_2}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_SC_SYN},
	{.name = "vlan gue ipv4 in ipv6 -> stripped, ethertype in the tag becomes ipv4",
	 .pkt = {P_UDP4, .payload_len = 10, .vlan = 7},
	 .gue = {.src = LB6, .dst = BE6, .count = 2, .hops = {BE6_2, BE6_3}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "gue to the port set in the map -> stripped",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 .gue = {.src = LB4, .dst = BE4, .port = GUE_PORT_SET},
	 .port = GUE_PORT_SET,
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},
	{.name = "ipip with a gue port set -> stripped as before",
	 .pkt = {P_TCP4, IPIP, .tcp_flags = TCP_SYN},
	 .port = GUE_PORT_SET,
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_DECAP},

	/* GUE not for us, or not GUE: untouched. */
	{.name = "gue, inner destination not a VIP -> pass untouched",
	 .pkt = {.src = CLIENT4, .dst = VIP4_OTHER, .proto = IPPROTO_TCP, .sport = 1, .dport = 80},
	 GUE4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_VIP},
	{.name = "gue ipv6 in ipv6, inner destination not a VIP -> pass untouched",
	 .pkt = {.src = CLIENT6, .dst = VIP6_OTHER, .proto = IPPROTO_UDP, .sport = 1, .dport = 53},
	 .gue = {.src = LB6, .dst = BE6, .count = 2, .hops = {BE6_2, BE6_3}},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_VIP},
	{.name = "gue to another udp port -> pass untouched",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 .gue = {.src = LB4, .dst = BE4, .port = XLB_GUE_PORT_DEFAULT + 1},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "gue to the default port while another is set -> pass untouched",
	 .pkt = {P_TCP6, .tcp_flags = TCP_SYN},
	 GUE6,
	 .port = GUE_PORT_SET,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "gue version 1 -> pass untouched",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 GUE4,
	 .mangle = gue_version_1,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "gue control message (C set) -> pass untouched",
	 .pkt = {P_TCP6, .tcp_flags = TCP_SYN},
	 GUE6,
	 .mangle = gue_c_bit,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "gue carrying proto 17 -> pass untouched",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 GUE4,
	 .mangle = gue_proto_udp,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "udp to the gue port, payload no gue data message (C set) -> pass untouched",
	 .pkt = {.src = CLIENT4,
		 .dst = BE4,
		 .proto = IPPROTO_UDP,
		 .sport = 5000,
		 .dport = XLB_GUE_PORT_DEFAULT,
		 .payload_len = 64},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "udp to the gue port behind an ipv6 extension header -> pass untouched",
	 .pkt = {.src = CLIENT6,
		 .dst = BE6,
		 .proto = IPPROTO_UDP,
		 .sport = 5000,
		 .dport = XLB_GUE_PORT_DEFAULT,
		 .payload_len = 64,
		 .ext = {PKT_EXT_DSTOPTS}},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},

	/* Malformed GUE: untouched, counted. */
	{.name = "gue truncated in the udp header -> pass untouched",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 GUE4,
	 .mangle = cut_udp_hdr,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "gue header truncated -> pass untouched",
	 .pkt = {P_TCP6, .tcp_flags = TCP_SYN},
	 GUE6,
	 .mangle = cut_gue_hdr,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "gue, hops cut short -> pass untouched",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 GUE4,
	 .mangle = cut_inner_hdr,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "gue, hlen longer than the packet -> pass untouched",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 GUE4,
	 .mangle = gue_hlen_31,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "gue proto 41 whose inner header says version 4 -> pass untouched",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 GUE6,
	 .mangle = gue_proto_ipv6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},

	/* Not for us: untouched. */
	{.name = "ipip, inner destination not a VIP -> pass untouched",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4_OTHER,
		 .proto = IPPROTO_TCP,
		 .sport = 1,
		 .dport = 80,
		 IPIP},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_VIP},
	{.name = "ip6ip6, inner destination not a VIP -> pass untouched",
	 .pkt = {.src = CLIENT6,
		 .dst = VIP6_OTHER,
		 .proto = IPPROTO_TCP,
		 .sport = 1,
		 .dport = 80,
		 IN6},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_VIP},
	{.name = "4in6, inner destination not a VIP -> pass untouched",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4_OTHER,
		 .proto = IPPROTO_UDP,
		 .sport = 1,
		 .dport = 53,
		 IN6},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_VIP},
	{.name = "plain ipv4 tcp to the VIP -> pass untouched",
	 .pkt = {P_TCP4, .tcp_flags = TCP_SYN},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "plain ipv6 udp to the VIP -> pass untouched",
	 .pkt = {P_UDP6, .payload_len = 20},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "6in4 (not made by xlb_lb) -> pass untouched",
	 .pkt = {P_TCP6, IPIP},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "arp -> pass untouched",
	 .pkt = {.ethertype = 0x0806, .payload_len = 28},
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "ipip outer first fragment -> pass untouched",
	 .pkt = {P_TCP4, IPIP},
	 .mangle = outer4_mf,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},
	{.name = "ipip outer later fragment -> pass untouched",
	 .pkt = {P_TCP4, IPIP},
	 .mangle = outer4_offset,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_NOT_TUNNEL},

	/* Second chance: kept if this host holds the connection, else handed on. */
	{.name = "second chance: ipv4 ACK of a connection held here -> stripped here",
	 .pkt = {P_TCP4_FROM(P_HELD), .tcp_flags = TCP_ACK, .payload_len = 10},
	 .gue = {.src = LB4, .dst = BE4, .count = 2, .hops = {BE4_2, BE4_3}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_SC_KNOWN},
	{.name = "second chance: ipv6 ACK of a connection held here -> stripped here",
	 .pkt = {P_TCP6_FROM(P_HELD), .tcp_flags = TCP_ACK, .payload_len = 10},
	 .gue = {.src = LB6, .dst = BE6, .count = 1, .hops = {BE6_2}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_SC_KNOWN},
	{.name = "second chance: ipv4 ACK nobody here holds -> handed to hop 1",
	 .pkt = {P_TCP4_FROM(P_LISTEN), .tcp_flags = TCP_ACK, .payload_len = 100},
	 .gue = {.src = LB4, .dst = BE4, .count = 2, .hops = {BE4_2, BE4_3}},
	 .verdict = XDP_REDIRECT,
	 .out = OUT_HANDOFF,
	 .reason = XLB_D_SC_HANDOFF},
	{.name = "second chance: handed on from hop 1 -> to hop 2",
	 .pkt = {P_TCP4_FROM(40003), .tcp_flags = TCP_ACK},
	 .gue = {.src = BE4_2, .dst = BE4, .next = 1, .count = 2, .hops = {BE4_2, BE4_3}},
	 .verdict = XDP_REDIRECT,
	 .out = OUT_HANDOFF,
	 .reason = XLB_D_SC_HANDOFF},
	{.name = "second chance: ipv6 ACK nobody here holds -> handed on, UDP checksum right",
	 .pkt = {P_TCP6_FROM(P_LISTEN), .tcp_flags = TCP_ACK, .payload_len = 333},
	 .gue = {.src = LB6, .dst = BE6, .count = 2, .hops = {BE6_3, BE6_2}},
	 .verdict = XDP_REDIRECT,
	 .out = OUT_HANDOFF,
	 .reason = XLB_D_SC_HANDOFF},
	{.name = "second chance: ipv4 in ipv6 nobody here holds -> handed on",
	 .pkt = {P_TCP4_FROM(40004), .tcp_flags = TCP_ACK | 0x01, .payload_len = 7},
	 .gue = {.src = LB6, .dst = BE6, .count = 1, .hops = {BE6_2}},
	 .verdict = XDP_REDIRECT,
	 .out = OUT_HANDOFF,
	 .reason = XLB_D_SC_HANDOFF},
	{.name = "second chance: RST nobody here holds -> handed on",
	 .pkt = {P_TCP4_FROM(40005), .tcp_flags = 0x04},
	 .gue = {.src = LB4, .dst = BE4, .count = 1, .hops = {BE4_3}},
	 .verdict = XDP_REDIRECT,
	 .out = OUT_HANDOFF,
	 .reason = XLB_D_SC_HANDOFF},
	{.name = "second chance: a hop with no route -> dropped, counted",
	 .pkt = {P_TCP4_FROM(40006), .tcp_flags = TCP_ACK},
	 .gue = {.src = LB4, .dst = BE4, .count = 1, .hops = {NOROUTE4}},
	 .verdict = XDP_DROP,
	 .out = OUT_NONE,
	 .reason = XLB_D_SC_NO_ROUTE},
	{.name = "second chance: outer TTL 1 -> dropped, counted",
	 .pkt = {P_TCP4_FROM(40007), .tcp_flags = TCP_ACK},
	 .gue = {.src = LB4, .dst = BE4, .count = 1, .hops = {BE4_2}},
	 .mangle = outer4_ttl_1,
	 .verdict = XDP_DROP,
	 .out = OUT_SAME,
	 .reason = XLB_D_SC_TTL},
	{.name = "second chance: UDP with hops -> stripped here (no second chance for UDP)",
	 .pkt = {P_UDP4, .payload_len = 20},
	 .gue = {.src = LB4, .dst = BE4, .count = 2, .hops = {BE4_2, BE4_3}},
	 .verdict = XDP_PASS,
	 .out = OUT_INNER,
	 .reason = XLB_D_GUE},

	/* Malformed: untouched, counted. */
	{.name = "truncated vlan tag -> pass untouched",
	 .pkt = {P_TCP4, IPIP, .vlan = 3},
	 .mangle = cut_vlan_tag,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "truncated outer ipv4 header -> pass untouched",
	 .pkt = {P_TCP4, IPIP},
	 .mangle = cut_outer_hdr,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "truncated inner ipv4 header -> pass untouched",
	 .pkt = {P_TCP4, IPIP},
	 .mangle = cut_inner_hdr,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "truncated outer ipv6 header -> pass untouched",
	 .pkt = {P_TCP6, IN6},
	 .mangle = cut_outer_hdr,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "truncated inner ipv6 header -> pass untouched",
	 .pkt = {P_TCP6, IN6},
	 .mangle = cut_inner_hdr,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "ipip whose inner header says version 6 -> pass untouched",
	 .pkt = {P_TCP4, IPIP},
	 .mangle = inner_version_6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
	{.name = "ip6ip6 whose inner header says version 4 -> pass untouched",
	 .pkt = {P_TCP6, IN6},
	 .mangle = inner_version_4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_D_PASS_MALFORMED},
};

/* --- second chance: the namespace, its sockets, a hand-off's frame ---------- */

/* Every command of the namespace's setup; -1 at the first that fails. */
static int netns_setup(struct env *e)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add " HOP_DEV " type veth peer name " HOP_DEV "p",
		"ip link set " HOP_DEV " up",
		"ip link set " HOP_DEV "p up",
		"ip addr add " BE4 "/24 dev " HOP_DEV,
		"ip -6 addr add " BE6 "/64 dev " HOP_DEV " nodad",
		"ip addr add " VIP4 "/32 dev lo",
		"ip addr add " CLIENT4 "/32 dev lo",
		"ip -6 addr add " VIP6 "/128 dev lo nodad",
		"ip -6 addr add " CLIENT6 "/128 dev lo nodad",
		"ip neigh add " BE4_2 " lladdr 02:00:00:00:00:12 dev " HOP_DEV " nud permanent",
		"ip neigh add " BE4_3 " lladdr 02:00:00:00:00:13 dev " HOP_DEV " nud permanent",
		"ip -6 neigh add " BE6_2 " lladdr 02:00:00:00:00:12 dev " HOP_DEV " nud permanent",
		"ip -6 neigh add " BE6_3 " lladdr 02:00:00:00:00:13 dev " HOP_DEV " nud permanent",
		/* bpf_fib_lookup answers only where the ingress device forwards. */
		"sysctl -qw net.ipv4.conf.lo.forwarding=1 net.ipv6.conf.all.forwarding=1",
	};
	struct ifreq ifr = {};
	size_t i;
	int fd;

	if (unshare(CLONE_NEWNET))
		return fail(e, "unshare(CLONE_NEWNET): %s", strerror(errno));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (system(cmds[i]))
			return fail(e, "namespace setup: '%s' failed", cmds[i]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", HOP_DEV);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr))
		return fail(e, "%s's address: %s", HOP_DEV, strerror(errno));
	memcpy(e->hop_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return 0;
}

/* A socket of family fam bound to addr:port (listening if lst), or -1. */
static int sock_at(int fam, const char *addr, int port, int lst)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(fam, SOCK_STREAM, 0), one = 1, ok;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = fam == AF_INET ? inet_pton(AF_INET, addr, &a4.sin_addr) == 1 &&
				      !bind(fd, (struct sockaddr *)&a4, sizeof(a4))
			    : inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1 &&
				      !bind(fd, (struct sockaddr *)&a6, sizeof(a6));
	if (!ok || (lst && listen(fd, 8))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Per VIP: a listener on port 80 and a connection from the client's P_HELD. */
static int sockets_setup(struct env *e)
{
	static const struct {
		int fam;
		const char *vip, *client;
	} v[] = {{AF_INET, VIP4, CLIENT4}, {AF_INET6, VIP6, CLIENT6}};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(80)};
	size_t i;
	int c;

	for (i = 0; i < 2; i++) {
		if (sock_at(v[i].fam, v[i].vip, 80, 1) < 0)
			return fail(e, "listener on %s:80: %s", v[i].vip, strerror(errno));
		c = sock_at(v[i].fam, v[i].client, P_HELD, 0);
		inet_pton(AF_INET, v[i].vip, &a4.sin_addr);
		inet_pton(AF_INET6, v[i].vip, &a6.sin6_addr);
		if (c < 0 ||
		    connect(c,
			    v[i].fam == AF_INET ? (struct sockaddr *)&a4 : (struct sockaddr *)&a6,
			    v[i].fam == AF_INET ? sizeof(a4) : sizeof(a6)))
			return fail(e, "connection %s:%d -> %s:80: %s", v[i].client, P_HELD,
				    v[i].vip, strerror(errno));
	}
	return 0;
}

/*
 * The input sent on to hop g->next: next-hop MACs, outer source = the
 * address it was sent to, outer destination = the hop, TTL - 1, the IPv4
 * header checksum or the IPv6 UDP checksum computed anew over the whole
 * datagram, the private word's next + 1.
 */
static int expect_handoff(struct env *e, const struct decap_case *c, const struct pkt *in,
			  struct pkt *x)
{
	static const unsigned char hop_macs[2][6] = {{2, 0, 0, 0, 0, 0x12}, {2, 0, 0, 0, 0, 0x13}};
	__u8 *o, *u, *h;
	size_t udp_len;
	__be32 hop[4];
	int fam;

	*x = *in;
	o = x->data + x->l3_off;
	u = gue_udp(x);
	h = u + 8;
	fam = pkt_addr(c->gue.hops[c->gue.next], hop);
	memcpy(x->data,
	       hop_macs[!strcmp(c->gue.hops[c->gue.next], BE4_3) ||
			!strcmp(c->gue.hops[c->gue.next], BE6_3)],
	       6);
	memcpy(x->data + 6, e->hop_mac, 6);
	h[6]++;
	if (fam == 4) {
		memcpy(o + 12, o + 16, 4);
		memcpy(o + 16, hop, 4);
		o[8]--;
		pkt_put_be16(o + 10, 0);
		pkt_put_be16(o + 10, pkt_csum_fold(pkt_csum_add(0, o, 20)));
		return 0;
	}
	memcpy(o + 8, o + 24, 16);
	memcpy(o + 24, hop, 16);
	o[7]--;
	udp_len = u[4] << 8 | u[5];
	pkt_put_be16(u + 6, 0);
	pkt_put_be16(u + 6,
		     pkt_csum_fold(pkt_csum_add(
			     pkt_pseudo_sum(6, o + 8, o + 24, IPPROTO_UDP, udp_len), u, udp_len))
			     ?: 0xffff);
	return 0;
}

/* --- hand-offs per peer ------------------------------------------------- */

/*
 * Packets and bytes xlb_decap_peers holds for peer hop (NULL: every peer),
 * summed over CPUs, in c.
 */
static int peer_count(struct env *e, const char *hop, struct xlb_reason_count *c)
{
	int fd = bpf_map__fd(e->skel->maps.xlb_decap_peers), cpu;
	struct xlb_addr_key k, next, want = {}, *prev = NULL;
	struct xlb_reason_count v[e->ncpu];

	memset(c, 0, sizeof(*c));
	if (hop)
		want.family = pkt_addr(hop, want.addr);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (hop && memcmp(&k, &want, sizeof(k)))
			continue;
		if (bpf_map_lookup_elem(fd, &k, v))
			return fail(e, "read xlb_decap_peers: %s", strerror(errno));
		for (cpu = 0; cpu < e->ncpu; cpu++) {
			c->packets += v[cpu].packets;
			c->bytes += v[cpu].bytes;
		}
	}
	return 0;
}

/*
 * A case's effect on the peer counters: one packet of len bytes to the hop
 * it was handed to, nothing anywhere else.
 */
static int expect_peers(struct env *e, const struct decap_case *c, size_t len,
			const struct xlb_reason_count *all0, const struct xlb_reason_count *hop0)
{
	const char *hop = c->out == OUT_HANDOFF ? c->gue.hops[c->gue.next] : NULL;
	struct xlb_reason_count all, one;
	__u64 n = hop ? 1 : 0;

	if (peer_count(e, NULL, &all) || (hop && peer_count(e, hop, &one)))
		return -1;
	if (all.packets - all0->packets != n || all.bytes - all0->bytes != n * len)
		return fail(
			e,
			"hand-offs per peer: +%llu pkts +%llu bytes in all, expected +%llu, +%llu",
			(unsigned long long)(all.packets - all0->packets),
			(unsigned long long)(all.bytes - all0->bytes), (unsigned long long)n,
			(unsigned long long)(n * len));
	if (hop && (one.packets - hop0->packets != 1 || one.bytes - hop0->bytes != len))
		return fail(e, "hand-offs to %s: +%llu pkts +%llu bytes, expected +1, +%zu", hop,
			    (unsigned long long)(one.packets - hop0->packets),
			    (unsigned long long)(one.bytes - hop0->bytes), len);
	return 0;
}

/* After every case: the peers' counts add up to sc_handoff, and the map is bounded. */
static int peers_total(struct env *e)
{
	const struct bpf_map *peers = e->skel->maps.xlb_decap_peers;
	struct xlb_reason_count all;
	__u32 max = bpf_map__max_entries(peers);
	__u64 h[2];

	if (bpf_map__type(peers) != BPF_MAP_TYPE_LRU_PERCPU_HASH || max < 64 || max > 65536)
		return fail(e,
			    "xlb_decap_peers: type %d, %u entries; expected an LRU per-CPU hash, "
			    "64-65536",
			    bpf_map__type(peers), max);
	if (peer_count(e, NULL, &all))
		return -1;
	if (bpftest_blocks_sum(e->skel->maps.xlb_decap_stats, XLB_D_SC_HANDOFF, e->ncpu,
			       XLB_R_SLOTS, h, 2))
		return fail(e, "read sc_handoff: %s", strerror(errno));
	if (!all.packets || all.packets != h[0] || all.bytes != h[1])
		return fail(e, "peers %llu pkts %llu bytes, sc_handoff %llu pkts %llu bytes",
			    (unsigned long long)all.packets, (unsigned long long)all.bytes,
			    (unsigned long long)h[0], (unsigned long long)h[1]);
	return 0;
}

/* --- the runner ---------------------------------------------------------- */

static int run_case(struct env *e, const struct decap_case *c)
{
	struct xlb_reason_count all0, hop0 = {};
	struct pkt_spec inner;
	struct pkt_expect x;
	struct pkt in, out;
	char buf[256];
	__u32 verdict = 0, zero = 0, port = c->port;
	int err;

	if (pkt_build(&in, &c->pkt) || (c->gue.dst && gue_wrap(&in, &c->gue)))
		return fail(e, "cannot build the input packet");
	if (c->mangle)
		c->mangle(&in);
	if (c->out == OUT_INNER) {
		inner = c->pkt;
		inner.tun_src = inner.tun_dst = NULL;
		if (pkt_build(&out, &inner))
			return fail(e, "cannot build the expected packet");
		pkt_expect_frame(&x, &out);
	} else if (c->out == OUT_HANDOFF) {
		if (expect_handoff(e, c, &in, &out))
			return -1;
		pkt_expect_frame(&x, &out);
	} else {
		pkt_expect_frame(&x, &in);
	}
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.xlb_decap_gue_port), &zero, &port,
				BPF_ANY))
		return fail(e, "set the GUE port: %s", strerror(errno));
	if (bpftest_reasons_snap(&e->t, &e->reasons) || peer_count(e, NULL, &all0) ||
	    (c->out == OUT_HANDOFF && peer_count(e, c->gue.hops[c->gue.next], &hop0)))
		return -1;

	err = bpftest_run(e->prog_fd, 1, &in, &out, &verdict);
	if (err)
		return fail(e, "test run: %s", strerror(-err));
	if (bpftest_expect_verdict(&e->t, &e->reasons, verdict, c->verdict))
		return -1;
	if (c->out != OUT_NONE && pkt_expect_cmp(&x, out.data, out.len, buf, sizeof(buf)))
		return fail(e, "output %s", buf);
	if (expect_peers(e, c, in.len, &all0, &hop0))
		return -1;
	return bpftest_expect_reason(&e->t, &e->reasons, c->reason, in.len);
}

static int env_open(struct env *e)
{
	struct xlb_addr_key k;
	__u32 one = 1;
	size_t i;
	int err;

	e->skel = xlb_decap__open();
	if (!e->skel)
		return -errno;
	err = bpftest_prepare(e->skel->obj, &e->ncpu);
	if (err)
		return err;
	err = xlb_decap__load(e->skel);
	if (err)
		return err;
	e->prog_fd = bpf_program__fd(e->skel->progs.xlb_decap);
	e->reasons = (struct bpftest_reasons){
		.map = e->skel->maps.xlb_decap_stats,
		.ncpu = e->ncpu,
		.n = XLB_D_MAX,
		.name = xlb_decap_reason_name,
	};
	for (i = 0; i < sizeof(local_vips) / sizeof(local_vips[0]); i++) {
		memset(&k, 0, sizeof(k));
		k.family = pkt_addr(local_vips[i], k.addr);
		if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.xlb_decap_vips), &k, &one,
					BPF_ANY))
			return -errno;
	}
	return 0;
}

int main(void)
{
	int i, n = sizeof(cases) / sizeof(cases[0]);
	struct env e = {};
	int err;

	bpftest_libbpf_quiet();
	if (netns_setup(&e) || sockets_setup(&e)) {
		fprintf(stderr, "second chance setup: %s\n", e.t.msg);
		return 1;
	}
	err = env_open(&e);
	if (err) {
		xlb_decap__destroy(e.skel);
		return bpftest_cannot_load("xlb_decap", strerror(-err));
	}
	for (i = 0; i < n; i++)
		bpftest_result(&e.t, i + 1, cases[i].name, run_case(&e, &cases[i]));
	bpftest_result(&e.t, n + 1, "hand-offs per peer add up to sc_handoff; the map is bounded",
		       peers_total(&e));
	xlb_decap__destroy(e.skel);
	return bpftest_summary(&e.t);
}
