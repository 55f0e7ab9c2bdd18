// SPDX-License-Identifier: GPL-2.0-only
/*
 * The flow table at scale (figures printed, never asserted; bench/README.md):
 *
 * 1. Capacity: the flow cache of `xlb attach --flows FLOWS` (FLOWS flows
 *    of each family), filled by the program itself: FLOWS SYNs of distinct
 *    5-tuples through BPF_PROG_TEST_RUN, each CPU sending its share while
 *    bound to it (each CPU has its own block of sets, as it would with the
 *    NIC's queues spread over the CPUs). The flows held are counted after
 *    half the SYNs and after all: a flow not held lost its way early, to
 *    a newer flow of a full set. Then the cache's memory as the kernel
 *    accounts it, bytes per flow, the fill's time per SYN, the walk's; and
 *    one least_conn sweep over the table such VIPs use (xlb_flows at the
 *    size attach gives it, every flow counted, none idle: xlb_lc_sweep()
 *    walks them all and corrects the counts).
 *
 * 2. Removal: a VIP with NBE backends, FLOWS flow entries spread over them,
 *    then one backend after the other taken out of the VIP and freed, as
 *    `xlb backend del` does: xlb_member_del() and xlb_backend_release().
 *    Only the release is timed; it is what frees the backend id for reuse
 *    (one write: the id's next generation makes its flows re-pick). The
 *    process is bound to CPU 0 and the table sized FLOWS times the CPU
 *    count, so that one CPU's share holds them all.
 *
 * The program is loaded without pins, as the BPF tests load it.
 *
 *   bench_flows [FLOWS [REMOVALS]]     defaults: 1000000 flows, 10 removals
 */
#define _GNU_SOURCE
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
#include "bench_xdp.h"
#include "base/addr.h"
#include "dataplane/conns.h"
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "xlb_lb.skel.h"

#define NBE   100
#define CHUNK 4096

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* xlb_lb loaded without pins (bpftest_lb_open), its flow table of size entries. */
static struct xlb_lb *load_plain(__u32 size)
{
	struct xlb_lb *lb = NULL;
	int ncpu, err = bpftest_lb_open(&lb, &ncpu, size);

	if (err) {
		xlb_lb__destroy(lb);
		errno = -err;
		return NULL;
	}
	return lb;
}

/* The VIP 198.18.100.1:80/tcp and NBE backends 198.18.0.<1 + i>:80. */
static int setup(struct xlb_maps *m, struct xlb_vip *vip, __u32 *ids)
{
	struct xlb_addr_key a;
	struct xlb_vip_key k;
	char text[64];
	__u16 port;
	__u32 i;
	int err;

	err = xlb_vip_parse("198.18.100.1:80/tcp", &k, NULL, 0);
	if (!err)
		err = xlb_vip_create(m, &k, 0, XLB_MAGLEV_DEFAULT, vip);
	for (i = 0; !err && i < NBE; i++) {
		snprintf(text, sizeof(text), "198.18.0.%u", 1 + i);
		err = xlb_endpoint_parse(text, &a, &port, NULL, 0);
		if (!err)
			err = xlb_backend_ensure(m, &a, 80, &ids[i]);
		if (!err)
			err = xlb_member_set(m, vip->id, ids[i], 1);
	}
	if (!err)
		err = xlb_table_rebuild(m, vip);
	return err;
}

/* Flows first .. first + flows - 1: client 10.<i>:<port> -> the VIP, backend ids[i % NBE]. */
static int fill(struct xlb_maps *m, const struct xlb_vip *vip, const __u32 *ids, __u32 first,
		__u32 flows)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = bpf_map__fd(m->skel->maps.xlb_flows);
	struct xlb_backend be;
	__u16 gen[NBE];
	struct xlb_flow_key *k;
	struct xlb_flow *v;
	__u32 i, j, n, count;
	int err = 0;

	for (i = 0; !err && i < NBE; i++) {
		err = xlb_backend_get(m, ids[i], &be);
		gen[i] = be.gen;
	}
	if (err)
		return err;
	k = calloc(CHUNK, sizeof(*k));
	v = calloc(CHUNK, sizeof(*v));
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	for (i = first; !err && i < first + flows; i += n) {
		n = first + flows - i < CHUNK ? first + flows - i : CHUNK;
		for (j = 0; j < n; j++) {
			memset(&k[j], 0, sizeof(k[j]));
			k[j].saddr[0] = htonl(0x0a000000 | (i + j) >> 8);
			k[j].daddr[0] = htonl(0xc6126401);
			k[j].sport = htons(1024 + ((i + j) & 0xff));
			k[j].dport = htons(80);
			k[j].proto = IPPROTO_TCP;
			k[j].family = XLB_AF_INET;
			memset(&v[j], 0, sizeof(v[j]));
			v[j].backend_id = ids[(i + j) % NBE];
			v[j].vip_id = vip->id;
			v[j].created_ns = xlb_now_coarse_ns();
			/* The entry the fast path writes: the backend's generation too. */
			v[j].be_gen = gen[(i + j) % NBE];
			/* As a least_conn VIP's flow: counted, seen now. */
			v[j].lc.seen_s = v[j].created_ns / 1000000000ULL;
			v[j].lc.flags = XLB_FLOW_F_COUNTED;
		}
		count = n;
		if (!err && bpf_map_update_batch(fd, k, v, &count, &opts))
			err = -errno;
	}
	free(k);
	free(v);
	return err;
}

static int bind_cpu(int cpu)
{
	int err = bench_pin_cpu(cpu);

	if (err)
		fprintf(stderr, "bind to CPU %d: %s\n", cpu, strerror(-err));
	return err;
}

/* SYNs of fresh 5-tuples from every CPU, bound to it: its share of half (0) or rest (1). */
static void send_syns(int prog_fd, struct pkt *p, long flows, int ncpu, int half, __u32 *seq,
		      struct bench_cost *cost)
{
	long share;
	int cpu;

	for (cpu = 0; cpu < ncpu; cpu++) {
		share = flows / ncpu + (cpu < flows % ncpu);
		if (bind_cpu(cpu))
			exit(2);
		bench_run(prog_fd, p, half ? share - share / 2 : share / 2, 1, seq, cost);
	}
}

/* Part 1: the flow cache of flows flows filled by every CPU; what it holds and costs. */
static int capacity(long flows, int ncpu)
{
	struct bench_cost cost = {0};
	struct xlb_mem_report r;
	struct pkt_spec syn = BENCH_TCP4(0x02);
	struct xlb_lb *lb = load_lb((__u32)flows, BENCH_IPIP), *lc;
	struct xlb_lc_sweep sw = {};
	struct xlb_maps m;
	struct xlb_vip vip;
	struct pkt p;
	__u32 ids[NBE], seq = 0;
	unsigned long long b4, b6;
	double t_count, t_sweep;
	long held[2] = {0, 0};
	int err = 0, i;

	if (!lb) {
		fprintf(stderr, "load with %ld flows: %s\n", flows, strerror(errno));
		return 2;
	}
	m = (struct xlb_maps){.skel = lb, .lock_fd = -1};
	pkt_build(&p, &syn);
	for (i = 0; !err && i < 2; i++) {
		send_syns(bpf_program__fd(lb->progs.xlb_lb), &p, flows, ncpu, i, &seq, &cost);
		t_count = now_ms();
		held[i] = bpftest_flows_count(&m);
		err = held[i] < 0 ? (int)held[i] : 0;
		t_count = now_ms() - t_count;
	}
	if (!err)
		err = xlb_maps_memory(&m, &r);
	for (i = 0, b4 = b6 = 0; !err && i < (int)r.n; i++) {
		if (!strcmp(r.maps[i].name, "xlb_fc4"))
			b4 = r.maps[i].bytes;
		if (!strcmp(r.maps[i].name, "xlb_fc6"))
			b6 = r.maps[i].bytes;
	}
	xlb_lb__destroy(lb);
	if (err) {
		fprintf(stderr, "capacity: %s\n", strerror(-err));
		return 2;
	}
	/* least_conn's table as attach sizes it, every entry counted. */
	lc = load_plain(XLB_LC_FLOWS_DEFAULT);
	if (!lc) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return 2;
	}
	m = (struct xlb_maps){.skel = lc, .lock_fd = -1};
	err = setup(&m, &vip, ids);
	/* Each CPU's share while bound to it: the table's LRU lists are per CPU. */
	for (i = 0; !err && i < ncpu; i++)
		err = bind_cpu(i)
			      ?: fill(&m, &vip, ids, XLB_LC_FLOWS_DEFAULT / ncpu * i,
				      XLB_LC_FLOWS_DEFAULT / ncpu);
	t_sweep = now_ms();
	if (!err)
		err = xlb_lc_sweep(&m, xlb_now_coarse_ns(), &sw);
	t_sweep = now_ms() - t_sweep;
	xlb_lb__destroy(lc);
	if (err) {
		fprintf(stderr, "least_conn sweep: %s\n", strerror(-err));
		return 2;
	}
	printf("The flow cache at %ld flows a family (xlb attach --flows %ld), filled by the "
	       "program with SYNs of fresh 5-tuples, each of %d CPUs sending its share bound to "
	       "it\n",
	       flows, flows, ncpu);
	printf("| figure | value |\n|---|---|\n");
	printf("| flows written | %ld |\n", flows);
	printf("| held after half, %% | %.2f |\n", 100.0 * held[0] / (flows / 2));
	printf("| held after all, %% | %.2f |\n", 100.0 * held[1] / flows);
	printf("| IPv4 cache memory (kernel's account) | %.1f MB |\n", b4 / 1e6);
	printf("| IPv6 cache memory (kernel's account) | %.1f MB |\n", b6 / 1e6);
	printf("| bytes per flow (both caches) | %.0f |\n", (double)(b4 + b6) / flows);
	printf("| bytes per IPv4 flow | %.0f |\n| bytes per IPv6 flow | %.0f |\n",
	       (double)b4 / flows, (double)b6 / flows);
	printf("| fill, ns per SYN (wall clock, with the call) | %.0f |\n",
	       cost.wall_ns / (double)flows);
	printf("| walk, s | %.2f |\n", t_count / 1e3);
	printf("| least_conn sweep (%llu counted flows), s | %.2f |\n",
	       (unsigned long long)sw.counted, t_sweep / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	long flows = argc > 1 ? atol(argv[1]) : 1000000;
	int removals = argc > 2 ? atoi(argv[2]) : 10;
	struct xlb_maps m;
	struct xlb_vip vip;
	struct xlb_lb *lb;
	__u32 ids[NBE];
	double t[NBE], t0;
	int ncpu = libbpf_num_possible_cpus(), err, i;

	if (flows < NBE || flows > 16000000 || removals < 1 || removals > NBE) {
		fprintf(stderr, "usage: bench_flows [FLOWS %d-16000000 [REMOVALS 1-%d]]\n", NBE,
			NBE);
		return 1;
	}
	if (ncpu < 1) {
		fprintf(stderr, "CPUs: %s\n", strerror(-ncpu));
		return 2;
	}
	err = capacity(flows, ncpu);
	if (err)
		return err;
	if (bind_cpu(0))
		return 2;
	lb = load_plain((__u32)flows * ncpu + CHUNK);
	if (!lb) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return 2;
	}
	m = (struct xlb_maps){.skel = lb, .lock_fd = -1};
	err = setup(&m, &vip, ids);
	if (!err)
		err = fill(&m, &vip, ids, 0, (__u32)flows);
	if (err) {
		fprintf(stderr, "setup: %s\n", strerror(-err));
		xlb_lb__destroy(lb);
		return 2;
	}
	for (i = 0; i < removals; i++) {
		err = xlb_member_del(&m, vip.id, ids[i]);
		if (err)
			break;
		t0 = now_ms();
		err = xlb_backend_release(&m, ids[i]);
		t[i] = now_ms() - t0;
		if (err)
			break;
	}
	xlb_lb__destroy(lb);
	if (err) {
		fprintf(stderr, "removal %d: %s\n", i + 1, strerror(-err));
		return 2;
	}
	qsort(t, removals, sizeof(t[0]), cmp_double);
	printf("\nRemoving one backend of %d with %ld flows in the table (%ld of them its own): "
	       "xlb_backend_release(), %d removals (ms)\n",
	       NBE, flows, flows / NBE, removals);
	printf("| flows | removals | min | p50 | max |\n|---|---|---|---|---|\n");
	printf("| %ld | %d | %.3f | %.3f | %.3f |\n", flows, removals, t[0], t[removals / 2],
	       t[removals - 1]);
	return 0;
}
