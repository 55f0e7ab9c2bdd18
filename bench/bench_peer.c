// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlb beside Katran, one harness for both: Katran's XDP balancer (an object
 * built from Katran's own sources by bench/katran.sh) and xlb_lb, each set
 * up with one VIP per family on port 80 and three backends, get the same
 * frames in one interleaved run. Each figure is the duration the kernel
 * reports for repeat=1 BPF_PROG_TEST_RUN calls minus an empty program's,
 * every call on one CPU, measured in chunks that alternate empty program,
 * xlb and Katran, each chunk from a program one further, so that drift in
 * the machine's speed and the caches a program finds reach all three
 * alike; the median over rounds is printed with the ratio xlb / Katran and
 * written as JSON. Two
 * more rows give the IPv4 established and new-flow packets to a second
 * xlb_lb whose VIPs are stateless in GUE (no flow entries), beside Katran
 * with its flow table as always: what each design costs per packet.
 *
 * Katran is set up as bench/katran.h says, its per-CPU LRUs adding up to
 * xlb's default flow table.
 *
 * The figures also depend on where each program and its maps land: the
 * same object loaded twice can differ by 30 ns an established packet
 * (another offset of its JIT image in its pages, other map memory). -l
 * LOADS loads every program afresh that many times, each load timed for
 * ROUNDS rounds; a figure is the median over every load's rounds, and
 * the spread of the loads' own medians is printed beside it.
 *
 * -C times only the cases named (their keys, comma-separated: est4,syn4),
 * for A/B runs of one path that need not wait for the others. -x times a
 * second build of xlb_lb (its object file, e.g. a change's) as a fourth
 * program in the same chunks, set up alike: the column "-x ns" and its
 * difference from this build's, which the machine's drift between two
 * runs would otherwise swamp.
 *
 *   bench_peer -k KATRAN_OBJ [-c COMMIT] [-C CASES] [-j JSON] [-l LOADS] [-n CALLS]
 *              [-r ROUNDS] [-x XLB_OBJ]
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <getopt.h>
#include <sched.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <jansson.h>

#include "bench_xdp.h"
#include "katran.h"
#include "xdp_floor.skel.h"

enum prog_id { P_EMPTY, P_XLB, P_KATRAN, P_ALT, P_MAX }; /* P_ALT: -x, if given */

/* C_WARM: the non-VIP frame, left untouched, so valid with repeat=CHUNK. */
/*
 * C_SL_*: the same packets, xlb's VIPs stateless in GUE (no flow entries:
 * docs/SECOND_CHANCE.md), Katran as always.
 */
enum case_id { C_EST4, C_EST6, C_SYN4, C_SYN6, C_NONVIP, C_WARM, C_SL_EST4, C_SL_SYN4, C_MAX };

static const char *const case_names[C_MAX] = {
	[C_EST4] = "IPv4 TCP established flow",
	[C_EST6] = "IPv6 TCP established flow",
	[C_SYN4] = "IPv4 TCP SYN, new 5-tuple each",
	[C_SYN6] = "IPv6 TCP SYN, new 5-tuple each",
	[C_NONVIP] = "IPv4 TCP not for a VIP",
	[C_WARM] = "same, repeat=1000 (warm)",
	[C_SL_EST4] = "IPv4 established, xlb stateless",
	[C_SL_SYN4] = "IPv4 SYN new tuple, xlb stateless",
};

static const char *const case_keys[C_MAX] = {
	[C_EST4] = "est4",
	[C_EST6] = "est6",
	[C_SYN4] = "syn4",
	[C_SYN6] = "syn6",
	[C_NONVIP] = "nonvip",
	[C_WARM] = "nonvip_warm",
	[C_SL_EST4] = "stateless_est4",
	[C_SL_SYN4] = "stateless_syn4",
};

#define SAMPLES_MAX 64 /* loads x rounds */

/*
 * The figures of one run: per case and program, ns per call in each round
 * of each load (sample l * rounds + r), samples of them.
 */
struct peer_run {
	long calls;
	int rounds;
	int loads;
	int samples;	    /* rounds timed so far */
	unsigned int cases; /* bit c: case c is timed */
	int progs;	    /* P_ALT with -x, else P_MAX - 1 */
	double kern[C_MAX][P_MAX][SAMPLES_MAX];
	double wall[C_MAX][P_MAX][SAMPLES_MAX];
	int verdict[C_MAX][P_MAX];
};

#define CHUNK 1000

/*
 * One round of every case: chunks of CHUNK runs, the programs in turn,
 * from a program one further each chunk; a chunk is CHUNK repeat=1 calls,
 * or for C_WARM one call of repeat=CHUNK.
 */
static void peer_round(struct peer_run *run, int r, const int fds[C_MAX][P_MAX],
		       struct pkt pkts[C_MAX][P_MAX], struct katran *kt, __u32 seq[C_MAX][P_MAX])
{
	struct bench_cost cost[P_MAX];
	int c, p, i, fresh, warm;
	long done, k;

	for (c = 0; c < C_MAX; c++) {
		if (!(run->cases & 1U << c))
			continue;
		fresh = c == C_SYN4 || c == C_SYN6 || c == C_SL_SYN4;
		warm = c == C_WARM;
		memset(cost, 0, sizeof(cost));
		for (done = 0, k = 0; done < run->calls; done += CHUNK, k++) {
			katran_rate_reset(kt);
			/*
			 * Each chunk starts with the next program: one that
			 * always ran after the empty program, or after another
			 * balancer, would find the caches as that one left them
			 * (about 15 ns an established packet here).
			 */
			for (i = 0; i < run->progs; i++) {
				p = (k + i) % run->progs;
				run->verdict[c][p] = bench_run(fds[c][p], &pkts[c][p],
							       warm ? 1 : CHUNK, warm ? CHUNK : 1,
							       fresh ? &seq[c][p] : NULL, &cost[p]);
			}
		}
		for (p = 0; p < run->progs; p++) {
			run->kern[c][p][r] =
				(cost[p].kern_ns - cost[P_EMPTY].kern_ns) / cost[p].runs;
			run->wall[c][p][r] =
				(cost[p].wall_ns - cost[P_EMPTY].wall_ns) / cost[p].runs;
		}
		/* The empty program's own cost, kept for the record. */
		run->kern[c][P_EMPTY][r] = cost[P_EMPTY].kern_ns / cost[P_EMPTY].runs;
		run->wall[c][P_EMPTY][r] = cost[P_EMPTY].wall_ns / cost[P_EMPTY].runs;
	}
}

static double med(const double *v, int n)
{
	double s[SAMPLES_MAX];

	memcpy(s, v, sizeof(double) * n);
	return bench_median(s, n);
}

/* -x: the median over rounds of the -x build's ns minus this build's, for case c. */
static double alt_delta(const struct peer_run *run, int c)
{
	double d[SAMPLES_MAX];
	int r;

	for (r = 0; r < run->samples; r++)
		d[r] = run->kern[c][P_ALT][r] - run->kern[c][P_XLB][r];
	return med(d, run->samples);
}

/* The lowest and highest of the loads' own medians of program p in case c. */
static void load_spread(const struct peer_run *run, int c, int p, double *lo, double *hi)
{
	double m;
	int l;

	*lo = *hi = 0;
	for (l = 0; l < run->loads; l++) {
		m = med(&run->kern[c][p][l * run->rounds], run->rounds);
		if (!l || m < *lo)
			*lo = m;
		if (!l || m > *hi)
			*hi = m;
	}
}

static char *cpu_model(char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256], *v;

	snprintf(buf, size, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) || !(v = strchr(line, ':')))
			continue;
		v += strspn(v + 1, " ") + 1;
		v[strcspn(v, "\n")] = 0;
		snprintf(buf, size, "%s", v);
		break;
	}
	if (f)
		fclose(f);
	return buf;
}

static int write_json(const char *path, const struct peer_run *run, const char *commit)
{
	char cpu[128], date[32];
	struct utsname u;
	time_t now = time(NULL);
	json_t *doc, *o, *cases = json_array();
	int c, err;

	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	for (c = 0; c < C_MAX; c++) {
		double x = med(run->kern[c][P_XLB], run->samples);
		double k = med(run->kern[c][P_KATRAN], run->samples);

		if (!(run->cases & 1U << c))
			continue;
		o = json_pack("{s:s, s:s, s:f, s:f, s:f, s:s, s:s, s:f, s:f}", "case", case_keys[c],
			      "name", case_names[c], "xlb_ns", x, "katran_ns", k, "ratio", x / k,
			      "xlb_verdict", bench_verdict(run->verdict[c][P_XLB]),
			      "katran_verdict", bench_verdict(run->verdict[c][P_KATRAN]),
			      "xlb_wall_ns", med(run->wall[c][P_XLB], run->samples),
			      "katran_wall_ns", med(run->wall[c][P_KATRAN], run->samples));
		if (o && run->progs == P_MAX) {
			json_object_set_new(o, "x_ns",
					    json_real(med(run->kern[c][P_ALT], run->samples)));
			json_object_set_new(o, "x_minus_xlb_ns", json_real(alt_delta(run, c)));
			json_object_set_new(o, "x_verdict",
					    json_string(bench_verdict(run->verdict[c][P_ALT])));
		}
		if (o) {
			double lo, hi;

			load_spread(run, c, P_XLB, &lo, &hi);
			json_object_set_new(o, "xlb_load_min_ns", json_real(lo));
			json_object_set_new(o, "xlb_load_max_ns", json_real(hi));
			load_spread(run, c, P_KATRAN, &lo, &hi);
			json_object_set_new(o, "katran_load_min_ns", json_real(lo));
			json_object_set_new(o, "katran_load_max_ns", json_real(hi));
		}
		json_array_append_new(cases, o);
	}
	doc = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:i, s:s, s:o}", "date", date,
			"katran_commit", commit, "kernel", u.release, "cpu",
			cpu_model(cpu, sizeof(cpu)), "cpus", libbpf_num_possible_cpus(), "calls",
			(json_int_t)run->calls, "rounds", run->rounds, "loads", run->loads,
			"method",
			"kernel-reported duration of repeat=1 BPF_PROG_TEST_RUN calls minus an "
			"empty program's, on one CPU, chunks of 1000 calls alternating "
			"empty/xlb/Katran (then the -x build, x_*), each chunk from the next "
			"program, each program loaded afresh for every load; "
			"median of every load's rounds; *_load_min_ns, *_load_max_ns: the "
			"lowest and highest of the loads' own medians; *_wall_ns: the same calls "
			"timed by the wall clock",
			"cases", cases);
	if (!doc)
		return -ENOMEM;
	err = json_dump_file(doc, path, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	json_decref(doc);
	return err ? -EIO : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_peer -k KATRAN_OBJ [-c COMMIT] [-C CASES] [-j JSON] [-l LOADS] "
		"[-n CALLS>=%d] [-r ROUNDS] [-x XLB_OBJ] (LOADS x ROUNDS <= %d)\n",
		CHUNK, SAMPLES_MAX);
	exit(1);
}

/* The cases named in list (comma-separated keys) as a mask; 0 if one is unknown. */
static unsigned int parse_cases(const char *list)
{
	unsigned int mask = 0;
	size_t len;
	int c;

	while (*list) {
		len = strcspn(list, ",");
		for (c = 0; c < C_MAX; c++)
			if (strlen(case_keys[c]) == len && !strncmp(list, case_keys[c], len))
				break;
		if (c == C_MAX) {
			fprintf(stderr, "bench_peer: unknown case '%.*s' in -C; cases:", (int)len,
				list);
			for (c = 0; c < C_MAX; c++)
				fprintf(stderr, " %s", case_keys[c]);
			fprintf(stderr, "\n");
			return 0;
		}
		mask |= 1U << c;
		list += len;
		list += *list == ',';
	}
	if (!mask)
		fprintf(stderr, "bench_peer: -C names no case\n");
	return mask;
}

/* One load of every program: xlb twice (IPIP, stateless GUE), the -x build likewise. */
struct progs {
	struct xdp_floor *floor;
	struct xlb_lb *lb, *lb_sl, *lb_x, *lb_x_sl;
	struct katran kt;
};

static void progs_free(struct progs *pg)
{
	xlb_lb__destroy(pg->lb);
	xlb_lb__destroy(pg->lb_sl);
	xlb_lb__destroy(pg->lb_x);
	xlb_lb__destroy(pg->lb_x_sl);
	xdp_floor__destroy(pg->floor);
	bpf_object__close(pg->kt.obj);
	memset(pg, 0, sizeof(*pg));
}

static int progs_load(struct progs *pg, const char *kobj, const char *xobj, int fds[C_MAX][P_MAX])
{
	int c, err;

	memset(pg, 0, sizeof(*pg));
	pg->lb = load_lb(XLB_FLOW_MAX_DEFAULT, BENCH_IPIP);
	pg->lb_sl = load_lb(XLB_FLOW_MAX_DEFAULT, BENCH_GUE_STATELESS);
	pg->floor = xdp_floor__open_and_load();
	err = katran_load(&pg->kt, kobj, XLB_FLOW_MAX_DEFAULT, VIP4, VIP6);
	if (xobj) {
		pg->lb_x = load_lb_file(xobj, XLB_FLOW_MAX_DEFAULT, BENCH_IPIP);
		pg->lb_x_sl =
			pg->lb_x ? load_lb_file(xobj, XLB_FLOW_MAX_DEFAULT, BENCH_GUE_STATELESS)
				 : NULL;
		if (!pg->lb_x || !pg->lb_x_sl) {
			fprintf(stderr, "load/setup failed: -x %s\n", xobj);
			return -1;
		}
	}
	if (!pg->lb || !pg->lb_sl || !pg->floor || err) {
		fprintf(stderr, "load/setup failed: xlb %s, Katran %s\n",
			pg->lb && pg->lb_sl && pg->floor ? "ok" : "failed",
			strerror(err ? -err : 0));
		return -1;
	}
	for (c = 0; c < C_MAX; c++) {
		fds[c][P_EMPTY] = bpf_program__fd(pg->floor->progs.xdp_empty);
		fds[c][P_XLB] = bpf_program__fd(c >= C_SL_EST4 ? pg->lb_sl->progs.xlb_lb
							       : pg->lb->progs.xlb_lb);
		fds[c][P_KATRAN] = pg->kt.prog_fd;
		if (xobj)
			fds[c][P_ALT] = bpf_program__fd(c >= C_SL_EST4 ? pg->lb_x_sl->progs.xlb_lb
								       : pg->lb_x->progs.xlb_lb);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *kobj = NULL, *commit = "unknown", *json = NULL, *xobj = NULL;
	struct pkt_spec ack4 = BENCH_TCP4(0x10);
	struct pkt_spec syn4, ack6, syn6, nonvip;
	static struct pkt pkts[C_MAX][P_MAX];
	static struct peer_run run = {.calls = 1000000,
				      .rounds = 3,
				      .loads = 1,
				      .cases = (1U << C_MAX) - 1,
				      .progs = P_MAX - 1};
	__u32 seq[C_MAX][P_MAX] = {0};
	struct progs pg = {0};
	struct pkt s;
	int fds[C_MAX][P_MAX], c, p, r, l, opt, cpu;
	struct katran_lb_stats miss = {0}, fallback = {0}, ks;
	double lo, hi;

	while ((opt = getopt(argc, argv, "k:c:C:j:l:n:r:x:")) != -1) {
		if (opt == 'k')
			kobj = optarg;
		else if (opt == 'c')
			commit = optarg;
		else if (opt == 'C')
			run.cases = parse_cases(optarg);
		else if (opt == 'j')
			json = optarg;
		else if (opt == 'l')
			run.loads = atoi(optarg);
		else if (opt == 'n')
			run.calls = atol(optarg);
		else if (opt == 'r')
			run.rounds = atoi(optarg);
		else if (opt == 'x')
			xobj = optarg;
		else
			usage();
	}
	if (!kobj || !run.cases || run.calls < CHUNK || run.rounds < 1 || run.loads < 1 ||
	    run.rounds > SAMPLES_MAX || run.loads > SAMPLES_MAX / run.rounds)
		usage();
	run.calls -= run.calls % CHUNK;
	if (xobj)
		run.progs = P_MAX;
	syn4 = ack4;
	syn4.tcp_flags = 0x02;
	nonvip = ack4;
	nonvip.dst = "198.18.0.99";
	ack6 = ack4;
	ack6.src = "fd00:78:6c62::10";
	ack6.dst = VIP6;
	syn6 = ack6;
	syn6.tcp_flags = 0x02;
	for (p = 0; p < P_MAX; p++) {
		pkt_build(&pkts[C_EST4][p], &ack4);
		pkt_build(&pkts[C_EST6][p], &ack6);
		pkt_build(&pkts[C_SYN4][p], &syn4);
		pkt_build(&pkts[C_SYN6][p], &syn6);
		pkt_build(&pkts[C_NONVIP][p], &nonvip);
		pkt_build(&pkts[C_WARM][p], &nonvip);
		pkt_build(&pkts[C_SL_EST4][p], &ack4);
		pkt_build(&pkts[C_SL_SYN4][p], &syn4);
		/* Each program's new flows from its own range of tuples. */
		seq[C_SYN4][p] = seq[C_SYN6][p] = p * 64000 * 256;
		seq[C_SL_SYN4][p] = p * 64000 * 256 + 64000 * 128;
	}
	/*
	 * Every call on one CPU: both balancers keep flows per CPU, and a
	 * flow opened on one CPU and timed on another would miss there.
	 */
	cpu = sched_getcpu();
	if (bench_pin_cpu(cpu < 0 ? 0 : cpu))
		fprintf(stderr, "bench_peer: cannot stay on one CPU: %s\n", strerror(errno));
	for (l = 0; l < run.loads; l++) {
		if (progs_load(&pg, kobj, xobj, fds))
			return 2;
		/* The established flows: opened once a load with their SYNs. */
		for (p = P_XLB; p < run.progs; p++) {
			struct bench_cost unused = {0};

			pkt_build(&s, &syn4);
			bench_run(fds[C_EST4][p], &s, 1, 1, NULL, &unused);
			pkt_build(&s, &syn6);
			bench_run(fds[C_EST6][p], &s, 1, 1, NULL, &unused);
		}
		for (r = 0; r < run.rounds; r++)
			peer_round(&run, run.samples++, fds, pkts, &pg.kt, seq);
		ks = katran_counter(&pg.kt, KATRAN_LRU_MISS);
		miss.v1 += ks.v1;
		miss.v2 += ks.v2;
		fallback.v1 += katran_counter(&pg.kt, KATRAN_FALLBACK_LRU).v1;
		if (l < run.loads - 1) {
			progs_free(&pg);
			sleep(1); /* the kernel frees the maps' memory after the last close */
		}
	}

	printf("xlb and Katran (%s), ns per packet: kernel-reported duration of %ld repeat=1 "
	       "calls x %d interleaved rounds x %d loads, minus an empty program's (%.1f ns "
	       "per call)\n",
	       commit, run.calls, run.rounds, run.loads,
	       med(run.kern[__builtin_ctz(run.cases)][P_EMPTY], run.samples));
	printf("| %-31s | xlb ns | Katran ns | ratio | verdicts |\n|---|---|---|---|---|\n",
	       "case");
	for (c = 0; c < C_MAX; c++) {
		double x = med(run.kern[c][P_XLB], run.samples);
		double k = med(run.kern[c][P_KATRAN], run.samples);

		if (!(run.cases & 1U << c))
			continue;
		printf("| %-31s | %6.1f | %9.1f | %5.2f | %s / %s |\n", case_names[c], x, k, x / k,
		       bench_verdict(run.verdict[c][P_XLB]),
		       bench_verdict(run.verdict[c][P_KATRAN]));
	}
	for (c = 0; run.loads > 1 && c < C_MAX; c++) {
		if (!(run.cases & 1U << c))
			continue;
		if (c == __builtin_ctz(run.cases))
			printf("Spread over the %d loads (each load's own median)\n"
			       "| %-31s | xlb ns | Katran ns |\n|---|---|---|\n",
			       run.loads, "case");
		load_spread(&run, c, P_XLB, &lo, &hi);
		printf("| %-31s | %.1f - %.1f", case_names[c], lo, hi);
		load_spread(&run, c, P_KATRAN, &lo, &hi);
		printf(" | %.1f - %.1f |\n", lo, hi);
	}
	for (c = 0; xobj && c < C_MAX; c++) {
		if (!(run.cases & 1U << c))
			continue;
		if (c == __builtin_ctz(run.cases))
			printf("-x %s beside this build (delta: median over rounds of the "
			       "difference)\n| %-31s | xlb ns | -x ns | delta | verdict |\n"
			       "|---|---|---|---|---|\n",
			       xobj, "case");
		printf("| %-31s | %6.1f | %5.1f | %+5.1f | %s |\n", case_names[c],
		       med(run.kern[c][P_XLB], run.samples), med(run.kern[c][P_ALT], run.samples),
		       alt_delta(&run, c), bench_verdict(run.verdict[c][P_ALT]));
	}
	/* Established flows must have hit Katran's per-CPU LRUs, not missed. */
	printf("Katran (every load): %llu non-SYN TCP packets missed its LRU, %llu SYNs did; "
	       "%llu used the fallback LRU\n",
	       (unsigned long long)miss.v2, (unsigned long long)miss.v1,
	       (unsigned long long)fallback.v1);
	if (json && write_json(json, &run, commit)) {
		fprintf(stderr, "cannot write %s\n", json);
		return 2;
	}
	progs_free(&pg);
	return 0;
}
