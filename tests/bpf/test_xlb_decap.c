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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "xlb_decap.skel.h"
#include "../lib/pkt.h"

#define CLIENT4		"198.18.0.10"
#define LB4		"198.18.200.7"
#define BE4		"198.18.0.11"
#define VIP4		"198.18.100.1"
#define VIP4_OTHER	"198.18.100.2"
#define CLIENT6		"fd00:78:6c62::10"
#define LB6		"fd00:78:6c62:200::7"
#define BE6		"fd00:78:6c62::11"
#define VIP6		"fd00:78:6c62:100::1"
#define VIP6_OTHER	"fd00:78:6c62:100::2"

/* The local VIPs every case runs against. */
static const char *const local_vips[] = { VIP4, VIP6 };

#define TCP_SYN		0x02
#define TCP_ACK		0x10

#define P_TCP4	.src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80
#define P_UDP4	.src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP, .sport = 5353, .dport = 53
#define P_TCP6	.src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80
#define P_UDP6	.src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 5353, .dport = 53
#define IPIP	.tun_src = LB4, .tun_dst = BE4
#define IN6	.tun_src = LB6, .tun_dst = BE6

enum out_kind {
	OUT_SAME,	/* byte for byte the input */
	OUT_INNER,	/* the same packet built without its tunnel */
};

struct decap_case {
	const char *name;
	struct pkt_spec pkt;		/* the input packet */
	void (*mangle)(struct pkt *p);	/* break it once built */
	__u32 verdict;			/* XDP_PASS / XDP_DROP */
	enum out_kind out;
	int reason;			/* enum xlb_decap_reason counted once */
};

static const char *const reason_name[XLB_D_MAX] = {
	[XLB_D_DECAP] = "DECAP",
	[XLB_D_PASS_NOT_TUNNEL] = "PASS_NOT_TUNNEL",
	[XLB_D_PASS_NOT_VIP] = "PASS_NOT_VIP",
	[XLB_D_PASS_MALFORMED] = "PASS_MALFORMED",
	[XLB_D_DROP_HEADROOM] = "DROP_HEADROOM",
};

struct env {
	struct xlb_decap *skel;
	int prog_fd;
	int ncpu;
	char msg[512];
};

__attribute__((format(printf, 2, 3)))
static int fail(struct env *e, const char *fmt, ...)
{
	va_list ap;

	if (e->msg[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *verdict_name(__u32 v)
{
	static const char *const name[] = {
		[XDP_ABORTED] = "XDP_ABORTED", [XDP_DROP] = "XDP_DROP",
		[XDP_PASS] = "XDP_PASS", [XDP_TX] = "XDP_TX",
		[XDP_REDIRECT] = "XDP_REDIRECT",
	};

	return v < sizeof(name) / sizeof(name[0]) ? name[v] : "unknown verdict";
}

/* --- mangles ------------------------------------------------------------- */

static void put_be16(__u8 *b, __u16 v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static void outer4_fix_csum(struct pkt *p)
{
	__u8 *h = p->data + p->l3_off;

	put_be16(h + 10, 0);
	put_be16(h + 10, pkt_csum_fold(pkt_csum_add(0, h, (h[0] & 0xf) * 4)));
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
	{ .name = "ipip tcp to a local VIP -> stripped",
	  .pkt = { P_TCP4, IPIP, .tcp_flags = TCP_SYN },
	  .verdict = XDP_PASS, .out = OUT_INNER, .reason = XLB_D_DECAP },
	{ .name = "ipip udp with payload -> stripped",
	  .pkt = { P_UDP4, IPIP, .payload_len = 1200 },
	  .verdict = XDP_PASS, .out = OUT_INNER, .reason = XLB_D_DECAP },
	{ .name = "ipip, inner ipv4 with options -> stripped",
	  .pkt = { P_TCP4, IPIP, .tcp_flags = TCP_ACK, .ip_opts = 12, .payload_len = 30 },
	  .verdict = XDP_PASS, .out = OUT_INNER, .reason = XLB_D_DECAP },
	{ .name = "ip6ip6 tcp to a local VIP -> stripped",
	  .pkt = { P_TCP6, IN6, .tcp_flags = TCP_SYN },
	  .verdict = XDP_PASS, .out = OUT_INNER, .reason = XLB_D_DECAP },
	{ .name = "ip6ip6 udp, inner extension headers -> stripped",
	  .pkt = { P_UDP6, IN6, .payload_len = 100,
		   .ext = { PKT_EXT_HOPOPTS, PKT_EXT_DSTOPTS } },
	  .verdict = XDP_PASS, .out = OUT_INNER, .reason = XLB_D_DECAP },
	{ .name = "4in6 to a local VIP -> stripped, ethertype ipv4",
	  .pkt = { P_TCP4, IN6, .tcp_flags = TCP_ACK, .payload_len = 500 },
	  .verdict = XDP_PASS, .out = OUT_INNER, .reason = XLB_D_DECAP },
	{ .name = "vlan ipip -> stripped, tag kept",
	  .pkt = { P_TCP4, IPIP, .tcp_flags = TCP_SYN, .vlan = 100 },
	  .verdict = XDP_PASS, .out = OUT_INNER, .reason = XLB_D_DECAP },
	{ .name = "vlan ip6ip6 -> stripped, tag kept",
	  .pkt = { P_UDP6, IN6, .payload_len = 10, .vlan = 4094 },
	  .verdict = XDP_PASS, .out = OUT_INNER, .reason = XLB_D_DECAP },
	{ .name = "vlan 4in6 -> stripped, ethertype in the tag becomes ipv4",
	  .pkt = { P_UDP4, IN6, .payload_len = 10, .vlan = 7 },
	  .verdict = XDP_PASS, .out = OUT_INNER, .reason = XLB_D_DECAP },

	/* Not for us: untouched. */
	{ .name = "ipip, inner destination not a VIP -> pass untouched",
	  .pkt = { .src = CLIENT4, .dst = VIP4_OTHER, .proto = IPPROTO_TCP, .sport = 1,
		   .dport = 80, IPIP },
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_NOT_VIP },
	{ .name = "ip6ip6, inner destination not a VIP -> pass untouched",
	  .pkt = { .src = CLIENT6, .dst = VIP6_OTHER, .proto = IPPROTO_TCP, .sport = 1,
		   .dport = 80, IN6 },
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_NOT_VIP },
	{ .name = "4in6, inner destination not a VIP -> pass untouched",
	  .pkt = { .src = CLIENT4, .dst = VIP4_OTHER, .proto = IPPROTO_UDP, .sport = 1,
		   .dport = 53, IN6 },
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_NOT_VIP },
	{ .name = "plain ipv4 tcp to the VIP -> pass untouched",
	  .pkt = { P_TCP4, .tcp_flags = TCP_SYN },
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_NOT_TUNNEL },
	{ .name = "plain ipv6 udp to the VIP -> pass untouched",
	  .pkt = { P_UDP6, .payload_len = 20 },
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_NOT_TUNNEL },
	{ .name = "6in4 (not made by xlb_lb) -> pass untouched",
	  .pkt = { P_TCP6, IPIP },
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_NOT_TUNNEL },
	{ .name = "arp -> pass untouched",
	  .pkt = { .ethertype = 0x0806, .payload_len = 28 },
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_NOT_TUNNEL },
	{ .name = "ipip outer first fragment -> pass untouched",
	  .pkt = { P_TCP4, IPIP }, .mangle = outer4_mf,
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_NOT_TUNNEL },
	{ .name = "ipip outer later fragment -> pass untouched",
	  .pkt = { P_TCP4, IPIP }, .mangle = outer4_offset,
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_NOT_TUNNEL },

	/* Malformed: untouched, counted. */
	{ .name = "truncated vlan tag -> pass untouched",
	  .pkt = { P_TCP4, IPIP, .vlan = 3 }, .mangle = cut_vlan_tag,
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_MALFORMED },
	{ .name = "truncated outer ipv4 header -> pass untouched",
	  .pkt = { P_TCP4, IPIP }, .mangle = cut_outer_hdr,
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_MALFORMED },
	{ .name = "truncated inner ipv4 header -> pass untouched",
	  .pkt = { P_TCP4, IPIP }, .mangle = cut_inner_hdr,
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_MALFORMED },
	{ .name = "truncated outer ipv6 header -> pass untouched",
	  .pkt = { P_TCP6, IN6 }, .mangle = cut_outer_hdr,
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_MALFORMED },
	{ .name = "truncated inner ipv6 header -> pass untouched",
	  .pkt = { P_TCP6, IN6 }, .mangle = cut_inner_hdr,
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_MALFORMED },
	{ .name = "ipip whose inner header says version 6 -> pass untouched",
	  .pkt = { P_TCP4, IPIP }, .mangle = inner_version_6,
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_MALFORMED },
	{ .name = "ip6ip6 whose inner header says version 4 -> pass untouched",
	  .pkt = { P_TCP6, IN6 }, .mangle = inner_version_4,
	  .verdict = XDP_PASS, .out = OUT_SAME, .reason = XLB_D_PASS_MALFORMED },
};

/* --- the runner ---------------------------------------------------------- */

static int reason_get(struct env *e, __u32 r, __u64 sum[2])
{
	struct xlb_reason_count *v = calloc(e->ncpu, sizeof(*v));
	int cpu, err = 0;

	if (!v)
		return -ENOMEM;
	sum[0] = sum[1] = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.xlb_decap_stats), &r, v))
		err = -errno;
	for (cpu = 0; !err && cpu < e->ncpu; cpu++) {
		sum[0] += v[cpu].packets;
		sum[1] += v[cpu].bytes;
	}
	free(v);
	return err;
}

static void reasons_counted(struct env *e, const __u64 before[][2], char *buf, size_t size)
{
	size_t off = 0;
	__u64 now[2];
	__u32 r;

	buf[0] = 0;
	for (r = 0; r < XLB_D_MAX && off < size; r++) {
		if (reason_get(e, r, now) || now[0] == before[r][0])
			continue;
		off += snprintf(buf + off, size - off, "%s%s +%llu", off ? ", " : "",
				reason_name[r], (unsigned long long)(now[0] - before[r][0]));
	}
	if (!off)
		snprintf(buf, size, "none");
}

static int run(struct env *e, const struct pkt *in, struct pkt *out, __u32 *verdict)
{
	struct xdp_md ctx = { .data_end = in->len, .ingress_ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in->data,
		.data_size_in = in->len,
		.data_out = out->data,
		.data_size_out = sizeof(out->data),
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = 1,
	);

	memset(out, 0, sizeof(*out));
	if (bpf_prog_test_run_opts(e->prog_fd, &opts))
		return -errno;
	out->len = opts.data_size_out;
	*verdict = opts.retval;
	return 0;
}

static int run_case(struct env *e, const struct decap_case *c)
{
	__u64 before[XLB_D_MAX][2], now[2];
	struct pkt_spec inner;
	struct pkt_expect x;
	struct pkt in, out;
	char buf[256];
	__u32 verdict = 0, r;
	int err;

	e->msg[0] = 0;
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
	for (r = 0; r < XLB_D_MAX; r++)
		if (reason_get(e, r, before[r]))
			return fail(e, "cannot read reason %u", r);

	err = run(e, &in, &out, &verdict);
	if (err)
		return fail(e, "test run: %s", strerror(-err));
	if (verdict != c->verdict) {
		reasons_counted(e, before, buf, sizeof(buf));
		return fail(e, "verdict: expected %s, got %s (reasons counted: %s)",
			    verdict_name(c->verdict), verdict_name(verdict), buf);
	}
	if (pkt_expect_cmp(&x, out.data, out.len, buf, sizeof(buf)))
		return fail(e, "output %s", buf);
	if (reason_get(e, c->reason, now))
		return fail(e, "cannot read reason %u", c->reason);
	if (now[0] - before[c->reason][0] != 1 || now[1] - before[c->reason][1] != in.len) {
		reasons_counted(e, before, buf, sizeof(buf));
		return fail(e, "reason %s: expected +1 packet +%zu bytes, got +%llu +%llu "
			    "(reasons counted: %s)", reason_name[c->reason], in.len,
			    (unsigned long long)(now[0] - before[c->reason][0]),
			    (unsigned long long)(now[1] - before[c->reason][1]), buf);
	}
	return 0;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

static int env_open(struct env *e)
{
	struct xlb_addr_key k;
	struct bpf_map *map;
	__u32 one = 1;
	size_t i;
	int err;

	e->ncpu = libbpf_num_possible_cpus();
	if (e->ncpu <= 0)
		return e->ncpu ?: -EINVAL;
	e->skel = xlb_decap__open();
	if (!e->skel)
		return -errno;
	/* Private maps: never pin, never reuse a pinned map. */
	bpf_object__for_each_map(map, e->skel->obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return err;
	}
	err = xlb_decap__load(e->skel);
	if (err)
		return err;
	e->prog_fd = bpf_program__fd(e->skel->progs.xlb_decap);
	for (i = 0; i < sizeof(local_vips) / sizeof(local_vips[0]); i++) {
		memset(&k, 0, sizeof(k));
		k.family = pkt_addr(local_vips[i], k.addr);
		if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.xlb_decap_vips),
					&k, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

int main(void)
{
	int i, n = sizeof(cases) / sizeof(cases[0]), passed = 0, failed = 0;
	struct env e = {};
	int err;

	libbpf_set_print(libbpf_quiet);
	err = env_open(&e);
	if (err) {
		printf("# SKIP: cannot load xlb_decap: %s (root and BPF needed)\n",
		       strerror(-err));
		printf("0 passed, 0 failed\n");
		xlb_decap__destroy(e.skel);
		return 77;
	}
	for (i = 0; i < n; i++) {
		if (run_case(&e, &cases[i])) {
			printf("not ok %d - %s: %s\n", i + 1, cases[i].name, e.msg);
			failed++;
		} else {
			printf("ok %d - %s\n", i + 1, cases[i].name);
			passed++;
		}
	}
	xlb_decap__destroy(e.skel);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
