// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-packet cost of the fast path, measured as bench/README.md says: many
 * BPF_PROG_TEST_RUN calls of repeat=1 (a large repeat would feed the
 * program its own rewritten output), timed as a whole, minus the cost of
 * an empty program measured in the same run. Figures: established flow,
 * new flow (SYN), non-VIP, IPv6 established flow, and a MAC-swap XDP_TX
 * program as the floor. 69-byte IPv4 TCP frames, one VIP, three backends.
 * NAT (a third load balancer whose VIPs are NAT VIPs): client -> node of an
 * established connection, node -> client (the reply), a new connection
 * (port allocation: two inserts), and the IPv6 client -> node.
 *
 *   bench_xdp [CALLS [REPS]]      defaults: 1000000 calls, 5 repetitions
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../tests/lib/pkt.h"
#include "base/addr.h"
#include "dataplane/maps.h"
#include "xdp_floor.skel.h"
#include "xlb_lb.skel.h"

#define VIP4	"198.18.100.1"
#define VIP6	"fd00:78:6c62:100::1"

enum case_id {
	C_EMPTY, C_FLOOR, C_EST4, C_SYN4, C_SYN4_FULL, C_NONVIP, C_EST6,
	C_NAT_FWD4, C_NAT_REPLY4, C_NAT_SYN4, C_NAT_FWD6, C_NAT_REPLY6, C_MAX
};

static const char *const case_names[C_MAX] = {
	[C_EMPTY] = "empty program (subtracted)",
	[C_FLOOR] = "MAC-swap XDP_TX floor",
	[C_EST4] = "IPv4 TCP established flow",
	[C_SYN4] = "IPv4 TCP SYN, 1M-flow table",
	[C_SYN4_FULL] = "IPv4 TCP SYN, 16K-flow table",
	[C_NONVIP] = "non-VIP packet (XDP_PASS)",
	[C_EST6] = "IPv6 TCP established flow",
	[C_NAT_FWD4] = "NAT IPv4 client -> node",
	[C_NAT_REPLY4] = "NAT IPv4 node -> client",
	[C_NAT_SYN4] = "NAT IPv4 SYN, new connection",
	[C_NAT_FWD6] = "NAT IPv6 client -> node",
	[C_NAT_REPLY6] = "NAT IPv6 node -> client",
};

#define NAT4	"198.18.0.2"
#define NAT6	"fd00:78:6c62::2"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Average ns per call of prog over calls calls. With seq, every call gets a
 * 5-tuple never used before (source port and the source address's first
 * half from *seq, which advances); the TCP checksum is left stale, which the
 * load balancer never checks.
 */
static double run(int prog_fd, struct pkt *p, long calls, __u32 *seq, int *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data, .data_size_in = p->len,
		    .repeat = 1);
	__u8 out[PKT_MAX + 256];
	__be16 *sport = (__be16 *)(p->data + p->l4_off);
	double t0;
	long i;

	o.data_out = out;
	o.data_size_out = sizeof(out);
	t0 = now_ns();
	for (i = 0; i < calls; i++) {
		if (seq) {
			sport[0] = htons(1024 + *seq % 64000);
			((__be16 *)(p->data + p->ip_off + 12))[0] = htons(*seq / 64000);
			(*seq)++;
		}
		o.data_size_out = sizeof(out);
		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			fprintf(stderr, "test run: %s\n", strerror(errno));
			exit(2);
		}
	}
	*verdict = o.retval;
	return (now_ns() - t0) / calls;
}

static int setup_lb(struct xlb_lb *skel, int nat)
{
	struct xlb_maps m = { .skel = skel, .lock_fd = -1 };
	static const char *const be4[] = { "198.18.0.11", "198.18.0.12", "198.18.0.13" };
	static const char *const be6[] = { "fd00:78:6c62::11", "fd00:78:6c62::12",
					   "fd00:78:6c62::13" };
	struct xlb_config cfg = { .forward = XLB_FWD_IPIP, .hash_seed = 42 };
	struct xlb_nexthop nh = { .ifindex = 1, .mtu = 1600,
				  .smac = { 2, 0, 0, 0, 0, 2 }, .dmac = { 2, 0, 0, 0, 0, 0x11 } };
	struct xlb_vip_key k;
	struct xlb_addr_key a;
	struct xlb_vip v;
	const char *const *bes;
	__u32 id;
	__u16 port;
	int err, fam, i;

	if (nat) {
		/*
		 * Every port: 3 nodes x 64512 ports outnumber the table's
		 * entries, so new connections find free ports as the LRU evicts.
		 */
		inet_pton(AF_INET, NAT4, &cfg.nat_src4);
		inet_pton(AF_INET6, NAT6, cfg.nat_src6);
		cfg.nat_port_min = 1024;
		cfg.nat_port_max = 65535;
	}
	inet_pton(AF_INET, "198.18.128.0", &cfg.encap_src4);
	cfg.encap_src4_mask = htonl(0xff);
	inet_pton(AF_INET6, "fd00:78:6c62:80::", cfg.encap_src6);
	cfg.encap_src6_mask = htonl(0xff);
	/* Stamped ~146 years ahead: a static next hop, no FIB lookup. */
	nh.updated_ns = xlb_now_coarse_ns() + (1ULL << 62);
	err = xlb_config_set(&m, &cfg);
	for (fam = 0; !err && fam < 2; fam++) {
		err = xlb_vip_parse(fam ? "[" VIP6 "]:80/tcp" : VIP4 ":80/tcp", &k, NULL, 0);
		if (!err)
			err = xlb_vip_create(&m, &k, nat ? XLB_VIP_F_NAT : 0, XLB_MAGLEV_DEFAULT,
					     &v);
		bes = fam ? be6 : be4;
		for (i = 0; !err && i < 3; i++) {
			err = xlb_endpoint_parse(bes[i], &a, &port, NULL, 0);
			if (!err)
				err = xlb_backend_ensure(&m, &a, nat ? 8080 : 0, &id);
			if (!err)
				err = xlb_member_set(&m, v.id, id, 1);
			if (!err)
				err = xlb_nexthop_set(&m, id, &nh);
		}
		if (!err)
			err = xlb_table_rebuild(&m, &v);
	}
	return err;
}

/* A load balancer with a flow table of flows entries, set up for the bench. */
static struct xlb_lb *load_lb(__u32 flows, int nat)
{
	struct xlb_lb *lb = xlb_lb__open();
	struct bpf_map *map;

	if (!lb)
		return NULL;
	bpf_object__for_each_map(map, lb->obj)
		bpf_map__set_pin_path(map, NULL);
	if (bpf_map__set_max_entries(lb->maps.xlb_flows, flows) || xlb_lb__load(lb) ||
	    setup_lb(lb, nat)) {
		xlb_lb__destroy(lb);
		return NULL;
	}
	return lb;
}

/*
 * Open a NAT connection with syn (one run), and build in reply the node's
 * answer to it (to the NAT address and the port it was given); run that
 * once as a SYN-ACK so that the connection is established, then make
 * reply a plain ACK with a payload like the client's.
 */
static int nat_connect(struct xlb_lb *lb, int fd, const struct pkt_spec *syn, struct pkt *reply)
{
	struct pkt_spec r = *syn;
	struct xlb_flow_key k = { .sport = htons(syn->sport), .dport = htons(syn->dport),
				  .proto = syn->proto };
	struct xlb_nat_fwd f;
	char node[64];
	struct pkt p;
	int v, six = !!strchr(syn->dst, ':');

	k.family = pkt_addr(syn->src, k.saddr);
	pkt_addr(syn->dst, k.daddr);
	pkt_build(&p, syn);
	run(fd, &p, 1, 0, &v);
	if (bpf_map_lookup_elem(bpf_map__fd(lb->maps.xlb_nat_fwd), &k, &f))
		return -1;
	inet_ntop(six ? AF_INET6 : AF_INET, f.node, node, sizeof(node));
	r.src = node;
	r.dst = six ? NAT6 : NAT4;
	r.sport = ntohs(f.node_port);
	r.dport = ntohs(f.nat_port);
	r.tcp_flags = 0x12;
	pkt_build(reply, &r);
	run(fd, reply, 1, 0, &v);
	if (v != XDP_TX)
		return -1;
	r.tcp_flags = 0x10;
	return pkt_build(reply, &r);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 1000000;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	struct pkt_spec syn4 = { .src = "198.18.0.10", .dst = VIP4, .proto = IPPROTO_TCP,
				 .sport = 40000, .dport = 80, .tcp_flags = 0x02,
				 .payload_len = 15 };
	struct pkt_spec ack4 = syn4, ack6 = syn4, nonvip = syn4, syn6;
	static struct pkt pkts[C_MAX];
	double res[C_MAX][16], med[C_MAX], empty[16];
	int fds[C_MAX], verdict[C_MAX], c, r, v;
	struct xlb_lb *lb, *lb_full, *lb_nat;
	struct xdp_floor *floor;
	__u32 seq = 0, seq_full = 0, seq_nat = 0;
	struct xlb_reason_count rs[XLB_R_MAX];

	if (calls < 1000 || reps < 1 || reps > 16) {
		fprintf(stderr, "usage: bench_xdp [CALLS>=1000 [REPS 1-16]]\n");
		return 1;
	}
	ack4.tcp_flags = 0x10;
	nonvip.dst = "198.18.0.99";
	ack6.src = "fd00:78:6c62::10";
	ack6.dst = VIP6;
	ack6.tcp_flags = 0x10;
	ack6.payload_len = 15;
	syn6 = ack6;
	syn6.tcp_flags = 0x02;

	/*
	 * Two load balancers: one with the default flow table (1M entries,
	 * mostly cold in the CPU caches; inserts evict once a CPU's share of
	 * the per-CPU LRU lists is used), one with a small table that stays in
	 * cache and where every new flow evicts an old one.
	 */
	lb = load_lb(XLB_FLOW_MAX_DEFAULT, 0);
	lb_full = load_lb(16384, 0);
	lb_nat = load_lb(XLB_FLOW_MAX_DEFAULT, 1);
	floor = xdp_floor__open_and_load();
	if (!lb || !lb_full || !lb_nat || !floor) {
		fprintf(stderr, "load/setup failed: %s\n", strerror(errno));
		return 2;
	}
	fds[C_EMPTY] = bpf_program__fd(floor->progs.xdp_empty);
	fds[C_FLOOR] = bpf_program__fd(floor->progs.xdp_macswap);
	for (c = C_EST4; c < C_MAX; c++)
		fds[c] = bpf_program__fd(lb->progs.xlb_lb);
	fds[C_SYN4_FULL] = bpf_program__fd(lb_full->progs.xlb_lb);
	for (c = C_NAT_FWD4; c <= C_NAT_REPLY6; c++)
		fds[c] = bpf_program__fd(lb_nat->progs.xlb_lb);
	pkt_build(&pkts[C_EMPTY], &ack4);
	pkt_build(&pkts[C_FLOOR], &ack4);
	pkt_build(&pkts[C_EST4], &ack4);
	pkt_build(&pkts[C_SYN4], &syn4);
	pkt_build(&pkts[C_SYN4_FULL], &syn4);
	/* Fill the small table first: from then on every SYN evicts. */
	run(fds[C_SYN4_FULL], &pkts[C_SYN4_FULL], 65536, &seq_full, &v);
	pkt_build(&pkts[C_NONVIP], &nonvip);
	pkt_build(&pkts[C_EST6], &ack6);

	/* Create the established flows once, with their SYNs. */
	{
		struct pkt s4, s6;

		pkt_build(&s4, &syn4);
		pkt_build(&s6, &syn6);
		run(fds[C_EST4], &s4, 1, 0, &v);
		run(fds[C_EST6], &s6, 1, 0, &v);
		/* NAT: SYN, then the node's SYN-ACK makes it established. */
		if (nat_connect(lb_nat, fds[C_NAT_FWD4], &syn4, &pkts[C_NAT_REPLY4]) ||
		    nat_connect(lb_nat, fds[C_NAT_FWD6], &syn6, &pkts[C_NAT_REPLY6])) {
			fprintf(stderr, "NAT connection setup failed\n");
			return 2;
		}
	}
	pkt_build(&pkts[C_NAT_FWD4], &ack4);
	pkt_build(&pkts[C_NAT_FWD6], &ack6);
	pkt_build(&pkts[C_NAT_SYN4], &syn4);
	for (r = 0; r < reps; r++) {
		for (c = 0; c < C_MAX; c++)
			res[c][r] = run(fds[c], &pkts[c], calls,
					c == C_SYN4 ? &seq : c == C_SYN4_FULL ? &seq_full :
					c == C_NAT_SYN4 ? &seq_nat : NULL,
					&verdict[c]);
		empty[r] = res[C_EMPTY][r];
		for (c = C_MAX - 1; c >= 0; c--)
			res[c][r] -= res[C_EMPTY][r];
	}
	qsort(empty, reps, sizeof(double), cmp_double);
	printf("xlb fast path, ns per packet: %ld calls x %d runs, minus an empty program's "
	       "cost (median %.1f ns per call)\n", calls, reps, empty[reps / 2]);
	printf("| %-30s | verdict | median | min | max |\n|---|---|---|---|---|\n", "case");
	for (c = 0; c < C_MAX; c++) {
		double sorted[16], mn, mx;

		memcpy(sorted, res[c], sizeof(double) * reps);
		qsort(sorted, reps, sizeof(double), cmp_double);
		mn = sorted[0];
		mx = sorted[reps - 1];
		med[c] = sorted[reps / 2];
		if (c == C_EMPTY)
			continue;
		printf("| %-30s | %-7s | %6.1f | %5.1f | %5.1f |\n", case_names[c],
		       verdict[c] == XDP_TX ? "TX" : verdict[c] == XDP_PASS ? "PASS" :
		       verdict[c] == XDP_DROP ? "DROP" : "other", med[c], mn, mx);
	}
	/* Only the NAT SYN case can fail to translate (no free port). */
	{
		struct xlb_maps m = { .skel = lb_nat, .lock_fd = -1 };

		if (!xlb_stats_reasons(&m, rs))
			printf("NAT SYNs: %llu new connections translated, %llu without a free "
			       "port; NAT table: %u connections\n",
			       (unsigned long long)rs[XLB_R_FWD_NAT].packets,
			       (unsigned long long)rs[XLB_R_DROP_NAT_PORTS].packets,
			       XLB_NAT_MAX_DEFAULT);
	}
	xlb_lb__destroy(lb);
	xlb_lb__destroy(lb_full);
	xlb_lb__destroy(lb_nat);
	xdp_floor__destroy(floor);
	return 0;
}
