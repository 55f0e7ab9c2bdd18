// SPDX-License-Identifier: GPL-2.0-only
/*
 * The two ways a GUE VIP keeps its connections (docs/SECOND_CHANCE.md): a
 * flow table (one flow cache way per connection on every LB node) or stateless
 * (no entry; the backends' second chance keeps connections across table
 * changes), at a load of FLOWS live connections: what a SYN and an
 * established packet cost in each, and the LB's memory per connection.
 *
 * Each mode gets its own xlb_lb: a flow table of FLOWS entries and the SYN
 * table xlbd sets up by default (XLB_SYN_SLOTS_DEFAULT slots). FLOWS
 * connections are opened first by their SYNs, spread over the CPUs (the
 * flow cache's sets are per CPU: one CPU alone fills only its share).
 * Then RUNS rounds, each mode in turn, of CALLS calls of:
 *  - established: an ACK of a different live connection each call, so the
 *    flow entries are cold in the CPU caches, as with many clients (all
 *    established rounds come first: the SYN rounds evict connections);
 *  - SYN: a connection never seen each call; with the table full, each
 *    insert evicts one.
 * Costs are kernel-reported ns per call minus an empty XDP program's, the
 * two alternating in chunks as in bench_xdp. Memory is the kernel's own
 * account of each map (xlb_maps_memory()).
 *
 * usage: bench_modes [FLOWS [CALLS [RUNS]]]   (1000000 1000000 3)
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <sched.h>
#include <unistd.h>

#include "bench_xdp.h"
#include "xdp_floor.skel.h"

#define CHUNK	 1000
#define RUNS_MAX 16

enum mode { M_TABLE, M_STATELESS, M_MAX };
enum kase { K_EST, K_SYN, K_MAX };

static const char *const mode_names[M_MAX] = {"flow table", "stateless"};
static const char *const case_names[K_MAX] = {"established, another live connection each",
					      "SYN, a new connection each"};

/* The kernel's memory account of lb's map name, in bytes, or 0. */
static unsigned long long map_bytes(struct xlb_lb *lb, const char *name)
{
	struct xlb_maps m = {.skel = lb, .lock_fd = -1};
	struct xlb_mem_report r;
	size_t i;

	if (xlb_maps_memory(&m, &r))
		return 0;
	for (i = 0; i < r.n; i++)
		if (!strcmp(r.maps[i].name, name))
			return r.maps[i].bytes;
	return 0;
}

/* Flows held, the flow cache's and the table's (bpftest_flows_count). */
static unsigned long flow_entries(struct xlb_lb *lb)
{
	struct xlb_maps m = {.skel = lb, .lock_fd = -1};
	long n = bpftest_flows_count(&m);

	return n < 0 ? 0 : n;
}

/* An xlb_lb for mode with a flow table of flows entries and xlbd's SYN table. */
static struct xlb_lb *load_mode(enum mode mode, __u32 flows)
{
	struct xlb_lb *lb = NULL;
	struct xlb_maps m;
	struct xlb_config cfg;
	int ncpu;

	if (bpftest_lb_open_syns(&lb, &ncpu, flows, XLB_SYN_BITS_DEFAULT) ||
	    setup_lb(lb, mode == M_TABLE ? BENCH_GUE : BENCH_GUE_STATELESS))
		goto fail;
	m = (struct xlb_maps){.skel = lb, .lock_fd = -1};
	if (xlb_config_get(&m, &cfg))
		goto fail;
	cfg.syn_bits = XLB_SYN_BITS_DEFAULT;
	if (xlb_config_set(&m, &cfg))
		goto fail;
	return lb;
fail:
	xlb_lb__destroy(lb);
	return NULL;
}

int main(int argc, char **argv)
{
	long flows = argc > 1 ? atol(argv[1]) : 1000000;
	long calls = argc > 2 ? atol(argv[2]) : 1000000;
	int runs = argc > 3 ? atoi(argv[3]) : 3;
	struct pkt_spec syn = BENCH_TCP4(0x02), ack = BENCH_TCP4(0x10);
	static struct pkt pkts[K_MAX], empty;
	double ns[M_MAX][K_MAX][RUNS_MAX], fill_ns[M_MAX];
	int verdict[M_MAX][K_MAX], ncpu, cpu, md, k, r;
	__u32 seq_est[M_MAX] = {0}, seq_syn[M_MAX];
	struct xlb_lb *lb[M_MAX];
	struct xdp_floor *floor;
	unsigned long live[M_MAX];

	calls -= calls % CHUNK;
	if (flows < CHUNK || flows > 100000000 || calls < CHUNK || calls > flows || runs < 1 ||
	    runs > RUNS_MAX) {
		fprintf(stderr, "usage: bench_modes [FLOWS 1000-100000000 [CALLS 1000-FLOWS "
				"[RUNS 1-16]]]\n");
		return 1;
	}
	pkt_build(&pkts[K_SYN], &syn);
	pkt_build(&pkts[K_EST], &ack);
	pkt_build(&empty, &ack);
	ncpu = libbpf_num_possible_cpus();
	floor = xdp_floor__open_and_load();
	lb[M_TABLE] = load_mode(M_TABLE, flows);
	lb[M_STATELESS] = load_mode(M_STATELESS, flows);
	if (!floor || !lb[M_TABLE] || !lb[M_STATELESS] || ncpu < 1) {
		fprintf(stderr, "load/setup failed: %s\n", strerror(errno));
		return 2;
	}

	/* Open FLOWS connections, each CPU its share of them. */
	for (md = 0; md < M_MAX; md++) {
		struct bench_cost c = {0};
		struct pkt s = pkts[K_SYN];
		__u32 seq = 0;

		for (cpu = 0; cpu < ncpu; cpu++) {
			long n = flows / ncpu + (cpu < flows % ncpu);

			if (bench_pin_cpu(cpu)) {
				fprintf(stderr, "cannot run on CPU %d: %s\n", cpu, strerror(errno));
				return 2;
			}
			bench_run(bpf_program__fd(lb[md]->progs.xlb_lb), &s, n, 1, &seq, &c);
		}
		fill_ns[md] = c.kern_ns / c.runs;
		seq_syn[md] = seq;
		live[md] = flow_entries(lb[md]);
	}
	bench_pin_cpu(0);

	for (k = 0; k < K_MAX; k++)
		for (r = 0; r < runs; r++)
			for (md = 0; md < M_MAX; md++) {
				__u32 *seq = k == K_SYN ? &seq_syn[md] : &seq_est[md];

				if (k == K_EST && *seq + calls > flows)
					*seq = 0; /* only connections the fill opened */
				verdict[md][k] = bench_measure(
					bpf_program__fd(lb[md]->progs.xlb_lb), &pkts[k],
					bpf_program__fd(floor->progs.xdp_empty), &empty, calls, seq,
					&ns[md][k][r], NULL, NULL, NULL);
			}

	printf("GUE VIP, flow table against stateless, %ld live connections: ns per packet "
	       "(kernel-reported, minus an empty program's), %ld calls x %d runs each\n",
	       flows, calls, runs);
	printf("| %-10s | %-42s | verdict | median | min | max |\n|---|---|---|---|---|---|\n",
	       "mode", "packet");
	for (md = 0; md < M_MAX; md++)
		for (k = 0; k < K_MAX; k++) {
			double *v = ns[md][k];

			bench_median(v, runs);
			printf("| %-10s | %-42s | %-7s | %6.1f | %5.1f | %5.1f |\n", mode_names[md],
			       case_names[k], bench_verdict(verdict[md][k]), v[runs / 2], v[0],
			       v[runs - 1]);
		}
	printf("\nOpening the %ld connections (one SYN each, 0 to %ld live), ns per SYN "
	       "(the empty program's cost not subtracted):\n",
	       flows, flows);
	printf("| mode | ns per SYN | flow entries after |\n|---|---|---|\n");
	for (md = 0; md < M_MAX; md++)
		printf("| %s | %.1f | %lu |\n", mode_names[md], fill_ns[md], live[md]);

	{
		/* An IPv4 VIP: the IPv4 flow cache holds its connections. */
		unsigned long long ft = map_bytes(lb[M_TABLE], "xlb_fc4");
		unsigned long long syns = map_bytes(lb[M_STATELESS], "xlb_syns");

		printf("\nLB memory (the kernel's account of each map):\n");
		printf("| mode | per connection | fixed |\n|---|---|---|\n");
		printf("| flow table | %.1f bytes (xlb_fc4: %.1f MiB for %ld flows) | - |\n",
		       (double)ft / flows, ft / 1048576.0, flows);
		printf("| stateless | 0 bytes (no entry; %lu in the flow table) | SYN table "
		       "%.1f MiB (%u slots), whatever the number of connections |\n",
		       live[M_STATELESS], syns / 1048576.0, XLB_SYN_SLOTS_DEFAULT);
	}
	xlb_lb__destroy(lb[M_TABLE]);
	xlb_lb__destroy(lb[M_STATELESS]);
	xdp_floor__destroy(floor);
	return 0;
}
