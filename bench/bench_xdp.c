// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-packet cost of the fast path, measured as bench/README.md says: many
 * BPF_PROG_TEST_RUN calls of repeat=1 (a large repeat would feed the
 * program its own rewritten output), in chunks of 1000 that alternate
 * with as many calls of an empty program, minus the empty program's cost.
 * The figure is the duration the kernel reports (the program run alone);
 * the wall-clock time of the same calls, which adds the noise of the
 * syscall around it, is printed beside it. bench_peer.c times Katran's
 * balancer the same way. Figures: established flow,
 * new flow (SYN) into flow tables of 1M, 16K and 10M entries, non-VIP,
 * IPv6 established flow, and a MAC-swap XDP_TX
 * program as the floor. 69-byte IPv4 TCP frames, one VIP, three backends.
 * NAT (a third load balancer whose VIPs are NAT VIPs): client -> node of an
 * established connection, node -> client (the reply), a new connection
 * (port allocation: two inserts), and the IPv6 client -> node. GUE (VIPs
 * that carry a slot's earlier owner as a hop): established flow and SYN
 * with the flow table, then the same without flow entries (stateless),
 * where a SYN costs what an established packet does but for one insert
 * into the small SYN table. least_conn (VIPs with XLB_VIP_F_LEAST_CONN): a
 * new flow (two candidates, their counts and weights, the count's atomic
 * adds).
 *
 *   bench_xdp [CALLS [REPS]]      defaults: 1000000 calls, 5 repetitions
 */
#define _GNU_SOURCE /* sched_setaffinity, in bench_xdp.h */
#include "bench_xdp.h"
#include "xdp_floor.skel.h"

/* The large flow table's size: filled before it is timed. */
#define FLOWS_10M 10000000

enum case_id {
	C_EMPTY,
	C_FLOOR,
	C_EST4,
	C_SYN4,
	C_SYN4_FULL,
	C_SYN4_10M,
	C_LC_SYN4,
	C_NONVIP,
	C_EST6,
	C_NAT_FWD4,
	C_NAT_REPLY4,
	C_NAT_SYN4,
	C_NAT_FWD6,
	C_NAT_REPLY6,
	C_GUE_EST4,
	C_GUE_SYN4,
	C_SL_EST4,
	C_SL_SYN4,
	C_SL_EST6,
	C_MAX
};

static const char *const case_names[C_MAX] = {
	[C_EMPTY] = "empty program (subtracted)",
	[C_FLOOR] = "MAC-swap XDP_TX floor",
	[C_EST4] = "IPv4 TCP established flow",
	[C_SYN4] = "IPv4 TCP SYN, 1M-flow table",
	[C_SYN4_FULL] = "IPv4 TCP SYN, 16K-flow table",
	[C_SYN4_10M] = "IPv4 TCP SYN, 10M-flow table",
	[C_LC_SYN4] = "IPv4 TCP SYN, least_conn, 1M",
	[C_NONVIP] = "non-VIP packet (XDP_PASS)",
	[C_EST6] = "IPv6 TCP established flow",
	[C_NAT_FWD4] = "NAT IPv4 client -> node",
	[C_NAT_REPLY4] = "NAT IPv4 node -> client",
	[C_NAT_SYN4] = "NAT IPv4 SYN, new connection",
	[C_NAT_FWD6] = "NAT IPv6 client -> node",
	[C_NAT_REPLY6] = "NAT IPv6 node -> client",
	[C_GUE_EST4] = "GUE IPv4 established flow",
	[C_GUE_SYN4] = "GUE IPv4 SYN, 1M-flow table",
	[C_SL_EST4] = "GUE stateless IPv4 established",
	[C_SL_SYN4] = "GUE stateless IPv4 SYN",
	[C_SL_EST6] = "GUE stateless IPv6 established",
};

/* Run prog calls times, untimed (setup); returns the last verdict. */
static int run(int prog_fd, struct pkt *p, long calls, __u32 *seq)
{
	struct bench_cost unused = {0};

	return bench_run(prog_fd, p, calls, 1, seq, &unused);
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
	struct xlb_flow_key k = {
		.sport = htons(syn->sport), .dport = htons(syn->dport), .proto = syn->proto};
	struct xlb_nat_fwd f;
	char node[64];
	struct pkt p;
	int v, six = !!strchr(syn->dst, ':');

	k.family = pkt_addr(syn->src, k.saddr);
	pkt_addr(syn->dst, k.daddr);
	pkt_build(&p, syn);
	v = run(fd, &p, 1, NULL);
	if (bpf_map_lookup_elem(bpf_map__fd(lb->maps.xlb_nat_fwd), &k, &f))
		return -1;
	inet_ntop(six ? AF_INET6 : AF_INET, f.node, node, sizeof(node));
	r.src = node;
	r.dst = six ? NAT6 : NAT4;
	r.sport = ntohs(f.node_port);
	r.dport = ntohs(f.nat_port);
	r.tcp_flags = 0x12;
	pkt_build(reply, &r);
	v = run(fd, reply, 1, NULL);
	if (v != XDP_TX)
		return -1;
	r.tcp_flags = 0x10;
	return pkt_build(reply, &r);
}

#define CHUNK BENCH_CHUNK

/* One figure of case c (bench_measure(), beside the empty program). */
static int measure(const int *fds, struct pkt *pkts, int c, long calls, __u32 *seq, double *kern,
		   double *wall, double *empty_kern, double *empty_wall)
{
	return bench_measure(fds[c], &pkts[c], fds[C_EMPTY], &pkts[C_EMPTY], calls, seq, kern, wall,
			     empty_kern, empty_wall);
}

/* The median (which 0), minimum (-1) or maximum (1) of n values. */
static double stat(const double *v, int n, int which)
{
	double s[16];

	memcpy(s, v, sizeof(double) * n);
	bench_median(s, n);
	return which < 0 ? s[0] : which > 0 ? s[n - 1] : s[n / 2];
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 1000000;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	struct pkt_spec syn4 = BENCH_TCP4(0x02);
	struct pkt_spec ack4 = syn4, ack6 = syn4, nonvip = syn4, syn6;
	static struct pkt pkts[C_MAX];
	double kern[C_MAX][16], wall[C_MAX][16], ekern[C_MAX][16], ewall[C_MAX][16];
	int fds[C_MAX], verdict[C_MAX], c, r;
	struct xlb_lb *lb, *lb_full, *lb_10m, *lb_nat, *lb_gue, *lb_sl, *lb_lc;
	struct xdp_floor *floor;
	__u32 seq = 0, seq_full = 0, seq_10m = 0, seq_nat = 0, seq_gue = 0, seq_sl = 0, seq_lc = 0;
	struct xlb_reason_count rs[XLB_R_MAX];

	calls -= calls % CHUNK;
	if (calls < CHUNK || reps < 1 || reps > 16) {
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
	 * Three load balancers: one with the default flow cache (1M flows a
	 * family, mostly cold in the CPU caches; once a set is full, each new
	 * flow there takes an old one's way), one with a small cache that
	 * stays in the CPU caches and where every new flow takes an old one's
	 * way, and one of 10M flows, full before it is timed.
	 */
	lb = load_lb(XLB_FLOW_MAX_DEFAULT, BENCH_IPIP);
	lb_full = load_lb(16384, BENCH_IPIP);
	lb_10m = load_lb(FLOWS_10M, BENCH_IPIP);
	lb_nat = load_lb(XLB_FLOW_MAX_DEFAULT, BENCH_NAT);
	lb_gue = load_lb(XLB_FLOW_MAX_DEFAULT, BENCH_GUE);
	lb_sl = load_lb(XLB_FLOW_MAX_DEFAULT, BENCH_GUE_STATELESS);
	lb_lc = load_lb(XLB_FLOW_MAX_DEFAULT, BENCH_LEAST_CONN);
	floor = xdp_floor__open_and_load();
	if (!lb || !lb_full || !lb_10m || !lb_nat || !lb_gue || !lb_sl || !lb_lc || !floor) {
		fprintf(stderr, "load/setup failed: %s\n", strerror(errno));
		return 2;
	}
	fds[C_EMPTY] = bpf_program__fd(floor->progs.xdp_empty);
	fds[C_FLOOR] = bpf_program__fd(floor->progs.xdp_macswap);
	for (c = C_EST4; c < C_MAX; c++)
		fds[c] = bpf_program__fd(lb->progs.xlb_lb);
	fds[C_SYN4_FULL] = bpf_program__fd(lb_full->progs.xlb_lb);
	fds[C_SYN4_10M] = bpf_program__fd(lb_10m->progs.xlb_lb);
	fds[C_LC_SYN4] = bpf_program__fd(lb_lc->progs.xlb_lb);
	for (c = C_NAT_FWD4; c <= C_NAT_REPLY6; c++)
		fds[c] = bpf_program__fd(lb_nat->progs.xlb_lb);
	fds[C_GUE_EST4] = fds[C_GUE_SYN4] = bpf_program__fd(lb_gue->progs.xlb_lb);
	fds[C_SL_EST4] = fds[C_SL_SYN4] = fds[C_SL_EST6] = bpf_program__fd(lb_sl->progs.xlb_lb);
	pkt_build(&pkts[C_GUE_EST4], &ack4);
	pkt_build(&pkts[C_GUE_SYN4], &syn4);
	pkt_build(&pkts[C_SL_EST4], &ack4);
	pkt_build(&pkts[C_SL_SYN4], &syn4);
	pkt_build(&pkts[C_SL_EST6], &ack6);
	pkt_build(&pkts[C_EMPTY], &ack4);
	pkt_build(&pkts[C_FLOOR], &ack4);
	pkt_build(&pkts[C_EST4], &ack4);
	pkt_build(&pkts[C_SYN4], &syn4);
	pkt_build(&pkts[C_SYN4_FULL], &syn4);
	pkt_build(&pkts[C_SYN4_10M], &syn4);
	pkt_build(&pkts[C_LC_SYN4], &syn4);
	/*
	 * Fill the small table and the 10M one first: from then on every SYN
	 * evicts (the 1M table fills during the first run).
	 */
	run(fds[C_SYN4_FULL], &pkts[C_SYN4_FULL], 65536, &seq_full);
	run(fds[C_SYN4_10M], &pkts[C_SYN4_10M], FLOWS_10M, &seq_10m);
	pkt_build(&pkts[C_NONVIP], &nonvip);
	pkt_build(&pkts[C_EST6], &ack6);

	/* Create the established flows once, with their SYNs. */
	{
		struct pkt s4, s6;

		pkt_build(&s4, &syn4);
		pkt_build(&s6, &syn6);
		run(fds[C_EST4], &s4, 1, NULL);
		run(fds[C_EST6], &s6, 1, NULL);
		run(fds[C_GUE_EST4], &s4, 1, NULL);
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
	for (r = 0; r < reps; r++)
		for (c = C_EMPTY + 1; c < C_MAX; c++)
			verdict[c] = measure(fds, pkts, c, calls,
					     c == C_SYN4	? &seq
					     : c == C_SYN4_FULL ? &seq_full
					     : c == C_SYN4_10M	? &seq_10m
					     : c == C_LC_SYN4	? &seq_lc
					     : c == C_NAT_SYN4	? &seq_nat
					     : c == C_GUE_SYN4	? &seq_gue
					     : c == C_SL_SYN4	? &seq_sl
								: NULL,
					     &kern[c][r], &wall[c][r], &ekern[c][r], &ewall[c][r]);
	printf("xlb fast path, ns per packet: %ld repeat=1 calls x %d runs, minus an empty "
	       "program's cost (kernel-reported %.1f ns, wall clock %.1f ns per call)\n",
	       calls, reps, stat(ekern[C_EST4], reps, 0), stat(ewall[C_EST4], reps, 0));
	printf("| %-30s | verdict | median | min | max | wall clock |\n"
	       "|---|---|---|---|---|---|\n",
	       "case");
	for (c = C_EMPTY + 1; c < C_MAX; c++)
		printf("| %-30s | %-7s | %6.1f | %5.1f | %5.1f | %10.1f |\n", case_names[c],
		       bench_verdict(verdict[c]), stat(kern[c], reps, 0), stat(kern[c], reps, -1),
		       stat(kern[c], reps, 1), stat(wall[c], reps, 0));
	/* Only the NAT SYN case can fail to translate (no free port). */
	{
		struct xlb_maps m = {.skel = lb_nat, .lock_fd = -1};

		if (!xlb_stats_reasons(&m, rs))
			printf("NAT SYNs: %llu new connections translated, %llu without a free "
			       "port; NAT table: %u connections\n",
			       (unsigned long long)rs[XLB_R_FWD_NAT].packets,
			       (unsigned long long)rs[XLB_R_DROP_NAT_PORTS].packets,
			       XLB_NAT_MAX_DEFAULT);
	}
	xlb_lb__destroy(lb);
	xlb_lb__destroy(lb_full);
	xlb_lb__destroy(lb_10m);
	xlb_lb__destroy(lb_nat);
	xlb_lb__destroy(lb_gue);
	xlb_lb__destroy(lb_sl);
	xlb_lb__destroy(lb_lc);
	xdp_floor__destroy(floor);
	return 0;
}
