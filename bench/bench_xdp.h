/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the per-packet benchmarks (bench_xdp.c, bench_peer.c) share: an
 * xlb_lb loaded and set up for them (one IPv4 and one IPv6 VIP on port 80,
 * three backends each, static next hops on the loopback device), and the
 * timed loop of BPF_PROG_TEST_RUN calls.
 *
 * A figure is the cost of repeat=1 calls (a large repeat would feed a
 * rewriting program its own output) minus that of an empty program, taken
 * two ways: the duration the kernel reports for each call (the program run
 * alone, between two clock reads) and the wall-clock time of the whole
 * call. bench/README.md says which is used where and why they differ.
 */
#ifndef XLB_BENCH_XDP_H
#define XLB_BENCH_XDP_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../tests/lib/bpftest.h"
#include "../tests/lib/pkt.h"
#include "base/addr.h"
#include "dataplane/maps.h"
#include "lb_file.h"
#include "xlb_lb.skel.h"

#define VIP4 "198.18.100.1"
#define VIP6 "fd00:78:6c62:100::1"
#define NAT4 "198.18.0.2"
#define NAT6 "fd00:78:6c62::2"

/* Sums over the calls of one bench_run(). */
struct bench_cost {
	double kern_ns; /* durations the kernel reported */
	double wall_ns; /* wall-clock time of the calls */
	long runs;	/* program runs: calls x repeat */
};

/* Run the calling thread on CPU cpu only: 0, or -errno (errno kept). Needs _GNU_SOURCE. */
static inline int bench_pin_cpu(int cpu)
{
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	return sched_setaffinity(0, sizeof(cpus), &cpus) ? -errno : 0;
}

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Call prog on p calls times, adding the times to *cost. Each call runs it
 * repeat times; above 1 only for a program that leaves the frame untouched
 * (each run gets the previous run's output): the runs after the first find
 * the CPU's caches and TLB as the program left them, as frames in a NAPI
 * batch do, where each repeat=1 call starts after a syscall entry. With seq,
 * every call gets a 5-tuple never used before (source port and the first
 * half of the source address from *seq, which advances; the same bytes of
 * the IPv6 source); the TCP checksum is left stale, which neither load
 * balancer checks. Returns the verdict of the last call.
 */
static int bench_run(int prog_fd, struct pkt *p, long calls, __u32 repeat, __u32 *seq,
		     struct bench_cost *cost)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data, .data_size_in = p->len,
		    .repeat = repeat);
	__u8 out[PKT_MAX + 256];
	__be16 *sport = (__be16 *)(p->data + p->l4_off);
	double kern = 0, t0;
	long i;

	o.data_out = out;
	t0 = bench_now_ns();
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
		kern += (double)o.duration * repeat; /* the kernel's mean per run */
	}
	cost->wall_ns += bench_now_ns() - t0;
	cost->kern_ns += kern;
	cost->runs += calls * repeat;
	return o.retval;
}

#define BENCH_CHUNK 1000

/* The benchmarks' IPv4 TCP packet to VIP4:80 with flags, 15 bytes of payload. */
#define BENCH_TCP4(flags)                                                                \
	{                                                                                \
		.src = "198.18.0.10", .dst = VIP4, .proto = IPPROTO_TCP, .sport = 40000, \
		.dport = 80, .tcp_flags = (flags), .payload_len = 15                     \
	}

/*
 * calls calls of p on prog_fd in chunks of BENCH_CHUNK that alternate with
 * as many calls of the empty program (empty_fd, frame ep), so that both see
 * the machine alike. Stores ns per call minus the empty program's,
 * kernel-reported in *kern and by the wall clock in *wall, and the empty
 * program's own costs in *empty_kern and *empty_wall (each may be NULL).
 * Returns the last verdict.
 */
static inline int bench_measure(int prog_fd, struct pkt *p, int empty_fd, struct pkt *ep,
				long calls, __u32 *seq, double *kern, double *wall,
				double *empty_kern, double *empty_wall)
{
	struct bench_cost e = {0}, x = {0};
	long done;
	int v = 0;

	for (done = 0; done < calls; done += BENCH_CHUNK) {
		bench_run(empty_fd, ep, BENCH_CHUNK, 1, NULL, &e);
		v = bench_run(prog_fd, p, BENCH_CHUNK, 1, seq, &x);
	}
	if (kern)
		*kern = (x.kern_ns - e.kern_ns) / x.runs;
	if (wall)
		*wall = (x.wall_ns - e.wall_ns) / x.runs;
	if (empty_kern)
		*empty_kern = e.kern_ns / e.runs;
	if (empty_wall)
		*empty_wall = e.wall_ns / e.runs;
	return v;
}

static inline const char *bench_verdict(int v)
{
	return v == XDP_TX	   ? "TX"
	       : v == XDP_PASS	   ? "PASS"
	       : v == XDP_DROP	   ? "DROP"
	       : v == XDP_REDIRECT ? "REDIRECT"
				   : "other";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n values (sorts them). */
static inline double bench_median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return v[n / 2];
}

/* How a bench load balancer's VIPs forward. */
enum bench_mode {
	BENCH_IPIP = 0,
	BENCH_NAT = 1,
	BENCH_GUE = 2,		 /* GUE, flow table */
	BENCH_GUE_STATELESS = 3, /* GUE, no flow entries */
	BENCH_LEAST_CONN = 4,	 /* IPIP, least_conn VIPs */
};

/*
 * Three backends per VIP (IPv4 and IPv6); a GUE VIP's table is then built
 * again with a fourth, so that the slots it took carry their earlier owner
 * as a hop, as after a scale-out.
 */
static int setup_lb(struct xlb_lb *skel, enum bench_mode mode)
{
	int nat = mode == BENCH_NAT, gue = mode == BENCH_GUE || mode == BENCH_GUE_STATELESS;
	__u32 flags = nat ? XLB_VIP_F_NAT
		      : mode == BENCH_GUE_STATELESS
			      ? XLB_VIP_F_GUE | XLB_VIP_F_CHAINS | XLB_VIP_F_STATELESS
		      : gue			 ? XLB_VIP_F_GUE | XLB_VIP_F_CHAINS
		      : mode == BENCH_LEAST_CONN ? XLB_VIP_F_LEAST_CONN
						 : 0;
	struct xlb_maps m = {.skel = skel, .lock_fd = -1};
	static const char *const be4[] = {"198.18.0.11", "198.18.0.12", "198.18.0.13",
					  "198.18.0.14"};
	static const char *const be6[] = {"fd00:78:6c62::11", "fd00:78:6c62::12",
					  "fd00:78:6c62::13", "fd00:78:6c62::14"};
	struct xlb_config cfg = {.forward = XLB_FWD_IPIP, .hash_seed = 42};
	struct xlb_nexthop nh = {.ifindex = 1,
				 .mtu = 1600,
				 .smac = {2, 0, 0, 0, 0, 2},
				 .dmac = {2, 0, 0, 0, 0, 0x11}};
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
	/* The address filter on, as attach leaves it; VIPs set their bits. */
	err = xlb_addrs_fill(skel->maps.xlb_vips, skel->maps.xlb_addrs, &cfg)
		      ?: xlb_config_set(&m, &cfg);
	for (fam = 0; !err && fam < 2; fam++) {
		err = xlb_vip_parse(fam ? "[" VIP6 "]:80/tcp" : VIP4 ":80/tcp", &k, NULL, 0);
		if (!err)
			err = xlb_vip_create(&m, &k, flags, XLB_MAGLEV_DEFAULT, &v);
		bes = fam ? be6 : be4;
		for (i = 0; !err && i < 3 + gue; i++) {
			if (i == 3)
				err = xlb_table_rebuild(&m, &v);
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
static inline struct xlb_lb *load_lb(__u32 flows, enum bench_mode mode)
{
	struct xlb_lb *lb = NULL;
	int ncpu;

	if (bpftest_lb_open(&lb, &ncpu, flows) || setup_lb(lb, mode)) {
		xlb_lb__destroy(lb);
		return NULL;
	}
	return lb;
}

/*
 * The same from the object file path, another build of xlb_lb
 * (lb_file.h), in place of the object built in: two builds timed in one
 * process.
 */
static inline struct xlb_lb *load_lb_file(const char *path, __u32 flows, enum bench_mode mode)
{
	struct xlb_lb *lb = xlb_lb_open_file(path);
	int ncpu, err;

	if (!lb)
		return NULL;
	err = bpftest_lb_size(lb, &ncpu, flows, BPFTEST_SYN_BITS) ?: xlb_lb__load(lb) ?:
	      setup_lb(lb, mode);
	if (!err)
		return lb;
	fprintf(stderr, "%s: load or setup failed: %s\n", path, strerror(err < 0 ? -err : err));
	xlb_lb__destroy(lb);
	return NULL;
}

#endif
