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
 * Output: "ok N - name" or "not ok N - name: what differed", then
 * "P passed, F failed"; the exit status is 1 if a case failed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
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
#define CLIENT6	   "fd00:78:6c62::10"
#define LB6	   "fd00:78:6c62:200::7"
#define BE6	   "fd00:78:6c62::11"
#define VIP6	   "fd00:78:6c62:100::1"
#define VIP6_OTHER "fd00:78:6c62:100::2"

/* The local VIPs every case runs against. */
static const char *const local_vips[] = {VIP4, VIP6};

#define TCP_SYN 0x02
#define TCP_ACK 0x10

#define P_TCP4 .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80
#define P_UDP4 .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP, .sport = 5353, .dport = 53
#define P_TCP6 .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80
#define P_UDP6 .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 5353, .dport = 53
#define IPIP   .tun_src = LB4, .tun_dst = BE4
#define IN6    .tun_src = LB6, .tun_dst = BE6

enum out_kind {
	OUT_SAME,  /* byte for byte the input */
	OUT_INNER, /* the same packet built without its tunnel */
};

struct decap_case {
	const char *name;
	struct pkt_spec pkt;	       /* the input packet */
	void (*mangle)(struct pkt *p); /* break it once built */
	__u32 verdict;		       /* XDP_PASS / XDP_DROP */
	enum out_kind out;
	int reason; /* enum xlb_decap_reason counted once */
};

struct env {
	struct xlb_decap *skel;
	int prog_fd;
	int ncpu;
	struct bpftest t; /* the report, why the case failed */
	struct bpftest_reasons reasons;
};

/* The case failed: keep the first reason; -1. */
#define fail(e, ...) bpftest_fail(&(e)->t, __VA_ARGS__)

/* --- mangles ------------------------------------------------------------- */

static void outer4_fix_csum(struct pkt *p)
{
	__u8 *h = p->data + p->l3_off;

	pkt_put_be16(h + 10, 0);
	pkt_put_be16(h + 10, pkt_csum_fold(pkt_csum_add(0, h, (h[0] & 0xf) * 4)));
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

/* --- the runner ---------------------------------------------------------- */

static int run_case(struct env *e, const struct decap_case *c)
{
	struct pkt_spec inner;
	struct pkt_expect x;
	struct pkt in, out;
	char buf[256];
	__u32 verdict = 0;
	int err;

	if (pkt_build(&in, &c->pkt))
		return fail(e, "cannot build the input packet");
	if (c->mangle)
		c->mangle(&in);
	if (c->out == OUT_INNER) {
		inner = c->pkt;
		inner.tun_src = inner.tun_dst = NULL;
		if (pkt_build(&out, &inner))
			return fail(e, "cannot build the expected packet");
		pkt_expect_frame(&x, &out);
	} else {
		pkt_expect_frame(&x, &in);
	}
	if (bpftest_reasons_snap(&e->t, &e->reasons))
		return -1;

	err = bpftest_run(e->prog_fd, 1, &in, &out, &verdict);
	if (err)
		return fail(e, "test run: %s", strerror(-err));
	if (bpftest_expect_verdict(&e->t, &e->reasons, verdict, c->verdict))
		return -1;
	if (pkt_expect_cmp(&x, out.data, out.len, buf, sizeof(buf)))
		return fail(e, "output %s", buf);
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
	err = env_open(&e);
	if (err) {
		xlb_decap__destroy(e.skel);
		return bpftest_cannot_load("xlb_decap", strerror(-err));
	}
	for (i = 0; i < n; i++)
		bpftest_result(&e.t, i + 1, cases[i].name, run_case(&e, &cases[i]));
	xlb_decap__destroy(e.skel);
	return bpftest_summary(&e.t);
}
