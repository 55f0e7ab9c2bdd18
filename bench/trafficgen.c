// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wire rate on veth (target in bench/README.md): frames per second that a program
 * attached natively to a veth forwards back out of it with XDP_TX, for
 * xlb_lb (one VIP, three backends, IPIP) and for two floors
 * (bench/xdp_floor.bpf.c): a MAC swap, and a minimal IPIP encapsulation
 * (adjust_head, outer header and checksum, no lookups), which returns the
 * same 80-byte frame as xlb and so separates the cost of encapsulating on
 * veth from xlb's own. With -k, Katran's balancer (its object, built by
 * bench/katran.sh; set up by bench/katran.h with the same VIP and
 * backends) is measured alike, in the same alternation: the peer on the
 * same wire. With -x, another build of xlb_lb (its object file, e.g. a
 * change's) is a program of its own, set up alike: an A/B of two builds
 * in one run, which the machine's drift between two runs would swamp.
 *
 *   generator namespace                      DUT namespace
 *   lo: xdp_gen (generic, idle)
 *   GENDEV: xdp_count (native) <== veth ==>  DUTDEV: the program under test
 *
 * The generator is BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on
 * xdp_gen (bench/xdp_gen.bpf.c): each frame, a 60-byte IPv4 TCP ACK to the
 * VIP from one of a few source ports (flows created by SYNs first), leaves
 * GENDEV with XDP_TX and arrives on DUTDEV; what the program under test
 * sends back is counted per CPU and dropped by xdp_count on GENDEV. The
 * figure is frames received back per second. The programs (-P; default
 * the floors and xlb, with katran and xlb_x given -k and -x) are measured
 * in alternation, RUNS times each, SECONDS per run after a short warm-up.
 *
 * With -S, a last pass of STATS_SECONDS per program runs with the kernel's
 * BPF run-time statistics on (bpf_enable_stats) and reports what each
 * program costs per frame in the real receive path: the DUT's program,
 * the generator's xdp_gen and the counter's xdp_count (run_time_ns /
 * run_cnt). The statistics cost a clock read or two per program run,
 * which is why the rates come from passes without them. With -1 (the
 * whole pipeline runs on one CPU) the rest of a frame's time, the
 * kernel's (veth transmit and receive, XDP_TX, the generator's loop,
 * frame recycling), is 1 / rate minus the three programs.
 *
 * Run it in the generator's namespace (ip netns exec); DUTNS is a name in
 * /run/netns. The DUT namespace must route the backends 198.18.0.11-13 out
 * of DUTDEV with resolved neighbours and forwarding on (bench/wire_rate.sh
 * sets that up): xlb resolves next hops through the FIB as in production.
 *
 *   trafficgen -g GENDEV -n DUTNS -d DUTDEV [-s SECONDS] [-r RUNS]
 *              [-p PORTS] [-R REPEAT] [-B BATCH] [-c CPU] [-P PROGS]
 *              [-S STATS_SECONDS] [-1] [-k KATRAN_OBJ [-K KATRAN_COMMIT]] [-x XLB_OBJ]
 *              [-o JSON]
 * PROGS: a comma-separated subset of floor, encap, xlb, katran (with -k),
 * xlb_x (with -x).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../tests/lib/pkt.h"
#include "base/addr.h"
#include "dataplane/maps.h"
#include "dataplane/names.h"
#include "katran.h"
#include "lb_file.h"
#include "xdp_floor.skel.h"
#include "xdp_gen.skel.h"
#include "xlb_lb.skel.h"

#define VIP4	   "198.18.100.1:80/tcp"
#define SRC4	   "198.18.0.10"
#define DST4	   "198.18.100.1"
#define DST6	   "fd00:78:6c62:100::1" /* Katran's second VIP, not sent to */
#define SPORT_BASE 40000
#define MAX_RUNS   32

enum { P_FLOOR, P_ENCAP, P_XLB, P_KATRAN, P_XLB_X, P_MAX };
static const char *const prog_names[P_MAX] = {
	"MAC-swap XDP_TX floor", "minimal IPIP-encap XDP_TX floor",
	"xlb_lb (IPIP, 1 VIP, 3 backends)", "Katran balancer (IPIP, 1 VIP, 3 backends)",
	"xlb_lb of -x, set up alike"};
static const char *const prog_keys[P_MAX] = {"floor", "encap", "xlb", "katran", "xlb_x"};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int mac_of(const char *dev, __u8 mac[6])
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* Namespaces: the generator's own (where we run) and the DUT's. */
static int ns_self = -1, ns_dut = -1;

static int enter(int ns)
{
	if (setns(ns, CLONE_NEWNET) < 0) {
		fprintf(stderr, "trafficgen: setns: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Attach prog_fd natively to the DUT's device (replacing what is there). */
static int dut_attach(int ifindex, int prog_fd)
{
	int err, err2;

	if (enter(ns_dut))
		return -1;
	err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	err2 = enter(ns_self);
	if (err)
		fprintf(stderr, "trafficgen: attach on DUT: %s\n", strerror(-err));
	return err ? err : err2;
}

static void dut_detach(int ifindex)
{
	if (enter(ns_dut))
		return;
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	enter(ns_self);
}

/*
 * xlb (this build's, or path's): one VIP (its id in *vip_id), three
 * backends resolved by the FIB (no static next hops).
 */
static struct xlb_lb *load_xlb(const char *path, __u32 *vip_id)
{
	static const char *const be4[] = {"198.18.0.11", "198.18.0.12", "198.18.0.13"};
	struct xlb_config cfg = {.forward = XLB_FWD_IPIP, .hash_seed = 42};
	struct xlb_lb *skel = path ? xlb_lb_open_file(path) : xlb_lb__open();
	struct xlb_maps m = {.lock_fd = -1};
	struct bpf_map *map;
	struct xlb_vip_key k;
	struct xlb_addr_key a;
	struct xlb_vip v;
	__u32 id;
	__u16 port;
	int err, i;

	if (!skel)
		return NULL;
	bpf_object__for_each_map (map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	/* The flow cache as attach sizes it by default, on every CPU. */
	err = xlb_flow_cache_size(skel, XLB_FLOW_MAX_DEFAULT, XLB_FLOW_MAX_DEFAULT,
				  libbpf_num_possible_cpus())
		      ?: xlb_lb__load(skel);
	m.skel = skel;
	/* Outer source varies per flow within 198.18.128.0/24, as in the demo. */
	inet_pton(AF_INET, "198.18.128.0", &cfg.encap_src4);
	cfg.encap_src4_mask = htonl(0xff);
	if (!err)
		err = xlb_config_set(&m, &cfg);
	if (!err)
		err = xlb_vip_parse(VIP4, &k, NULL, 0);
	if (!err)
		err = xlb_vip_create(&m, &k, 0, XLB_MAGLEV_DEFAULT, &v);
	for (i = 0; !err && i < 3; i++) {
		err = xlb_endpoint_parse(be4[i], &a, &port, NULL, 0);
		if (!err)
			err = xlb_backend_ensure(&m, &a, 0, &id);
		if (!err)
			err = xlb_member_set(&m, v.id, id, 1);
	}
	if (!err)
		err = xlb_table_rebuild(&m, &v);
	if (err) {
		fprintf(stderr, "trafficgen: xlb setup: %s\n", strerror(err < 0 ? -err : err));
		xlb_lb__destroy(skel);
		return NULL;
	}
	*vip_id = v.id;
	return skel;
}

/* New flows xlb counted for its VIP (ULLONG_MAX if unreadable). */
static unsigned long long new_flows(struct xlb_lb *lb, __u32 vip_id)
{
	struct xlb_maps m = {.skel = lb, .lock_fd = -1};
	struct xlb_traffic t;

	return xlb_stats_vip(&m, vip_id, &t) ? ULLONG_MAX : t.new_flows;
}

/*
 * The ACKs must take xlb's established path: a flow cache that misses
 * them (too small, or lost) would make every frame a new flow's, and the
 * figure another path's.
 */
static int check_established(struct xlb_lb *lb, __u32 vip_id, unsigned long long before,
			     const char *name)
{
	unsigned long long after = new_flows(lb, vip_id);

	if (after == ULLONG_MAX || before == ULLONG_MAX) {
		fprintf(stderr, "trafficgen: %s: cannot read its VIP's counters\n", name);
		return -1;
	}
	if (after != before) {
		fprintf(stderr,
			"trafficgen: %s counted %llu new flows while the ACKs ran: its flow "
			"cache missed established flows, the figures are not its established "
			"path's\n",
			name, after - before);
		return -1;
	}
	return 0;
}

/*
 * Katran likewise: its ACKs must find their flows in its per-CPU LRU, not
 * miss it (LRU_MISS_CNTR's non-SYN count) or find no LRU for the CPU.
 */
static unsigned long long katran_misses(struct katran *kt)
{
	return katran_counter(kt, KATRAN_LRU_MISS).v2 + katran_counter(kt, KATRAN_FALLBACK_LRU).v1;
}

/* xlb's verdict counters, on stderr: what the frames under test became. */
static void print_reasons(struct xlb_lb *lb)
{
	struct xlb_maps m = {.skel = lb, .lock_fd = -1};
	struct xlb_reason_count rs[XLB_R_MAX];
	int i;

	if (xlb_stats_reasons(&m, rs))
		return;
	fprintf(stderr, "trafficgen: xlb reasons:");
	for (i = 0; i < XLB_R_MAX; i++)
		if (rs[i].packets)
			fprintf(stderr, " %s=%llu", xlb_reason_name(i),
				(unsigned long long)rs[i].packets);
	fprintf(stderr, "\n");
}

struct rx {
	__u64 frames, bytes, ipip;
};

static int rx_read(int map_fd, struct rx *out)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct rx vals[ncpu > 0 ? ncpu : 1];
	__u32 zero = 0;

	if (ncpu <= 0 || bpf_map_lookup_elem(map_fd, &zero, vals))
		return -1;
	memset(out, 0, sizeof(*out));
	for (c = 0; c < ncpu; c++) {
		out->frames += vals[c].frames;
		out->bytes += vals[c].bytes;
		out->ipip += vals[c].ipip;
	}
	return 0;
}

struct gen {
	int prog_fd;
	struct xdp_md ctx;
	struct pkt frame;
	__u32 repeat, batch;
};

/* One live-frames call: repeat frames out of GENDEV. */
static int gen_call(struct gen *g, __u32 repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = g->frame.data, .data_size_in = g->frame.len,
		    .ctx_in = &g->ctx, .ctx_size_in = sizeof(g->ctx), .repeat = repeat,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = g->batch);

	if (bpf_prog_test_run_opts(g->prog_fd, &o)) {
		fprintf(stderr, "trafficgen: live-frames test run: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Send for secs seconds; *sent frames sent, returns the elapsed time. */
static double gen_for(struct gen *g, double secs, __u64 *sent)
{
	double t0 = now_s(), t;

	*sent = 0;
	do {
		if (gen_call(g, g->repeat))
			return -1;
		*sent += g->repeat;
		t = now_s();
	} while (t - t0 < secs && !stop);
	return t - t0;
}

/* Whose run time the statistics pass reads. */
enum { S_DUT, S_GEN, S_COUNT, S_MAX };
static const char *const stat_keys[S_MAX] = {"dut_prog_ns", "gen_ns", "count_ns"};

/* A program's cumulative run time and runs (while statistics are on). */
static int prog_stats(int fd, __u64 *ns, __u64 *cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		fprintf(stderr, "trafficgen: program info: %s\n", strerror(errno));
		return -1;
	}
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

/* The same of each program in S_* order. */
static int stats_read(const int fds[S_MAX], __u64 ns[S_MAX], __u64 cnt[S_MAX])
{
	int i;

	for (i = 0; i < S_MAX; i++)
		if (prog_stats(fds[i], &ns[i], &cnt[i]))
			return -1;
	return 0;
}

struct bench {
	struct gen g;
	int rx_fd;	 /* gen_rx: what came back */
	int dut_ifindex; /* in the DUT's namespace */
	int prog_fd[P_MAX];
	int gen_fd, count_fd;
	int empty_fd; /* xdp_empty: what the statistics cost per run */
	double warm;  /* seconds sent before each measurement */
};

/* One measurement: rates in Mpps; ns per run of each program (stats only). */
struct sample {
	double back, offered, ipip_share;
	double ns[S_MAX];
};

/*
 * Attach program p on the DUT, warm up, send for secs; with_stats, also
 * what each program cost per run meanwhile (statistics must be on).
 */
static int measure(struct bench *b, int p, double secs, int with_stats, struct sample *s)
{
	const int fds[S_MAX] = {b->prog_fd[p], b->gen_fd, b->count_fd};
	__u64 ns0[S_MAX], cnt0[S_MAX], ns1[S_MAX], cnt1[S_MAX], sent;
	struct rx a, r;
	double dt;
	int i;

	if (dut_attach(b->dut_ifindex, b->prog_fd[p]) || gen_for(&b->g, b->warm, &sent) < 0 ||
	    rx_read(b->rx_fd, &a) || (with_stats && stats_read(fds, ns0, cnt0)))
		return -1;
	dt = gen_for(&b->g, secs, &sent);
	if (dt < 0 || rx_read(b->rx_fd, &r) || (with_stats && stats_read(fds, ns1, cnt1)))
		return -1;
	s->back = (r.frames - a.frames) / dt / 1e6;
	s->offered = sent / dt / 1e6;
	s->ipip_share = r.frames > a.frames ? (double)(r.ipip - a.ipip) / (r.frames - a.frames) : 0;
	for (i = 0; i < S_MAX; i++)
		s->ns[i] = with_stats && cnt1[i] > cnt0[i]
				   ? (double)(ns1[i] - ns0[i]) / (cnt1[i] - cnt0[i])
				   : 0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stat3(const double *v, int n)
{
	double s[MAX_RUNS];

	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	return (struct stat3){n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1]};
}

/* What was measured, per program, and how. */
struct results {
	int sel[P_MAX];	 /* measured */
	int runs, ports; /* runs per program, flows */
	double secs, stats_secs;
	int one_cpu; /* the whole pipeline on the generator's CPU */
	double mpps[P_MAX][MAX_RUNS], offered[P_MAX][MAX_RUNS];
	struct stat3 rate[P_MAX], off[P_MAX];
	struct sample stats[P_MAX]; /* the statistics pass, if stats_secs */
	double clock_ns;	    /* in each ns figure of it: xdp_empty's */
};

/* a's rate over b's (medians), or 0 when either was not measured. */
static double ratio(const struct results *res, int a, int b)
{
	if (!res->sel[a] || !res->sel[b] || res->rate[b].med <= 0)
		return 0;
	return res->rate[a].med / res->rate[b].med;
}

/* Program k's own ns per run in s, without the statistics' clock reads. */
static double net_ns(const struct results *res, const struct sample *s, int k)
{
	return s->ns[k] - res->clock_ns;
}

/*
 * ns per frame on one CPU (rate passes) not spent in any of the three
 * programs (statistics pass, net).
 */
static double rest_ns(const struct results *res, int p)
{
	const struct sample *s = &res->stats[p];
	double frame = res->rate[p].med > 0 ? 1e3 / res->rate[p].med : 0;
	int k;

	for (k = 0; k < S_MAX; k++)
		frame -= net_ns(res, s, k);
	return frame;
}

/*
 * What the statistics add to a program's run_time_ns per run: the run time
 * of xdp_empty, run by BPF_PROG_TEST_RUN with them on.
 */
static int clock_cost(int empty_fd, const struct pkt *frame, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame->data, .data_size_in = frame->len,
		    .repeat = 1 << 20);
	__u64 ns0, cnt0, ns1, cnt1;

	if (prog_stats(empty_fd, &ns0, &cnt0))
		return -1;
	if (bpf_prog_test_run_opts(empty_fd, &o)) {
		fprintf(stderr, "trafficgen: test run of xdp_empty: %s\n", strerror(errno));
		return -1;
	}
	if (prog_stats(empty_fd, &ns1, &cnt1))
		return -1;
	if (cnt1 <= cnt0) {
		fprintf(stderr, "trafficgen: xdp_empty's runs were not counted\n");
		return -1;
	}
	*ns = (double)(ns1 - ns0) / (cnt1 - cnt0);
	return 0;
}

static const struct {
	int a, b;
	const char *label, *key, *note;
} ratios[] = {
	{P_XLB, P_FLOOR, "xlb / MAC-swap floor", "ratio_xlb_floor", "target >= 0.9"},
	{P_XLB, P_ENCAP, "xlb / encap floor", "ratio_xlb_encap", "xlb's own logic"},
	{P_ENCAP, P_FLOOR, "encap floor / MAC-swap floor", "ratio_encap_floor",
	 "encapsulating on veth"},
	{P_KATRAN, P_FLOOR, "Katran / MAC-swap floor", "ratio_katran_floor",
	 "the peer, same harness"},
	{P_XLB, P_KATRAN, "xlb / Katran", "ratio_xlb_katran", "above 1: xlb forwards more"},
	{P_XLB_X, P_XLB, "-x / xlb", "ratio_x_xlb", "above 1: the -x build forwards more"},
};

static void print_rates(const struct results *res, size_t frame_len)
{
	size_t i;
	int p;

	printf("Wire rate on veth: %zu-byte IPv4 TCP frames (ACKs of %d established flows) "
	       "from a live-frames generator, forwarded back with XDP_TX; Mpps received "
	       "back, %d runs x %.1f s\n",
	       frame_len, res->ports, res->runs, res->secs);
	printf("| program on the DUT veth | median | min | max | offered (median) |\n"
	       "|---|---|---|---|---|\n");
	for (p = 0; p < P_MAX; p++)
		if (res->sel[p])
			printf("| %s | %.3f | %.3f | %.3f | %.3f |\n", prog_names[p],
			       res->rate[p].med, res->rate[p].min, res->rate[p].max,
			       res->off[p].med);
	for (i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++)
		if (ratio(res, ratios[i].a, ratios[i].b) > 0)
			printf("| **%s** | **%.3f** | | | %s |\n", ratios[i].label,
			       ratio(res, ratios[i].a, ratios[i].b), ratios[i].note);
}

/* Each program's cost per frame, and (one CPU) xlb's extra cost by part. */
static void print_stats(const struct results *res)
{
	const struct sample *s, *x = &res->stats[P_XLB];
	double frame[P_MAX];
	int p;

	printf("\nEach program's ns per frame: a %.1f s pass per program with BPF run-time "
	       "statistics on (run_time_ns / run_cnt, less %.1f ns, an empty program's under "
	       "them)%s\n",
	       res->stats_secs, res->clock_ns,
	       res->one_cpu ? "; rest: 1 / median rate of the rate runs less the three, the "
			      "kernel's part (veth, XDP_TX, the generator's loop, frame recycling)"
			    : "");
	printf("| program on the DUT veth | Mpps in this pass | DUT program | generator xdp_gen "
	       "| counter xdp_count |%s\n|---|---|---|---|---|%s\n",
	       res->one_cpu ? " rest |" : "", res->one_cpu ? "---|" : "");
	for (p = 0; p < P_MAX; p++) {
		if (!res->sel[p])
			continue;
		s = &res->stats[p];
		printf("| %s | %.3f | %.1f | %.1f | %.1f |", prog_names[p], s->back,
		       net_ns(res, s, S_DUT), net_ns(res, s, S_GEN), net_ns(res, s, S_COUNT));
		if (res->one_cpu)
			printf(" %.1f |", rest_ns(res, p));
		printf("\n");
	}
	if (!res->one_cpu || !res->sel[P_XLB])
		return;
	/*
	 * The gap per frame from the rate passes (no statistics), split by
	 * the statistics pass: the programs' differences, and the rest.
	 */
	printf("\nxlb's extra time per frame on one CPU: 1 / median rate against each floor "
	       "(rate passes), split by the statistics pass; ns\n");
	printf("| xlb against | per frame | DUT program | generator xdp_gen | counter xdp_count "
	       "| rest |\n|---|---|---|---|---|---|\n");
	for (p = 0; p < P_MAX; p++)
		frame[p] = res->sel[p] && res->rate[p].med > 0 ? 1e3 / res->rate[p].med : 0;
	for (p = 0; p < P_XLB; p++) {
		double d[S_MAX], dframe = frame[P_XLB] - frame[p];
		int i;

		if (!res->sel[p])
			continue;
		s = &res->stats[p];
		for (i = 0; i < S_MAX; i++)
			d[i] = x->ns[i] - s->ns[i];
		printf("| %s | %+.1f | %+.1f | %+.1f | %+.1f | %+.1f |\n", prog_names[p], dframe,
		       d[S_DUT], d[S_GEN], d[S_COUNT], dframe - d[S_DUT] - d[S_GEN] - d[S_COUNT]);
	}
}

static int write_json(const char *path, const struct results *res, const struct gen *g, int cpu,
		      const char *katran_commit)
{
	const struct sample *s;
	FILE *f = fopen(path, "w");
	size_t i;
	int p, r, k;

	if (!f) {
		fprintf(stderr, "trafficgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f,
		"{\n  \"bench\": \"wire_rate_veth\",\n  \"frame_bytes\": %zu,\n"
		"  \"flows\": %d,\n  \"runs\": %d,\n  \"seconds_per_run\": %.2f,\n"
		"  \"repeat\": %u,\n  \"batch\": %u,\n  \"gen_cpu\": %d,\n  \"one_cpu\": %s,\n"
		"  \"stats_seconds\": %.2f,\n  \"stats_clock_ns\": %.2f,\n",
		g->frame.len, res->ports, res->runs, res->secs, g->repeat, g->batch, cpu,
		res->one_cpu ? "true" : "false", res->stats_secs, res->clock_ns);
	if (res->sel[P_KATRAN])
		fprintf(f, "  \"katran_commit\": \"%s\",\n", katran_commit);
	for (p = 0; p < P_MAX; p++) {
		if (!res->sel[p])
			continue;
		fprintf(f,
			"  \"%s\": {\"mpps_median\": %.4f, \"mpps_min\": %.4f, \"mpps_max\": %.4f, "
			"\"offered_mpps_median\": %.4f, \"ns_per_frame\": %.2f, \"mpps\": [",
			prog_keys[p], res->rate[p].med, res->rate[p].min, res->rate[p].max,
			res->off[p].med, res->rate[p].med > 0 ? 1e3 / res->rate[p].med : 0);
		for (r = 0; r < res->runs; r++)
			fprintf(f, "%s%.4f", r ? ", " : "", res->mpps[p][r]);
		fprintf(f, "]");
		if (res->stats_secs > 0) {
			s = &res->stats[p];
			fprintf(f, ", \"stats\": {\"mpps\": %.4f", s->back);
			for (k = 0; k < S_MAX; k++)
				fprintf(f, ", \"%s\": %.2f", stat_keys[k], net_ns(res, s, k));
			if (res->one_cpu)
				fprintf(f, ", \"rest_ns\": %.2f", rest_ns(res, p));
			fprintf(f, "}");
		}
		fprintf(f, "},\n");
	}
	for (i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++)
		if (ratio(res, ratios[i].a, ratios[i].b) > 0)
			fprintf(f, "  \"%s\": %.4f,\n", ratios[i].key,
				ratio(res, ratios[i].a, ratios[i].b));
	fprintf(f, "  \"target_ratio\": 0.9\n}\n");
	if (fclose(f)) {
		fprintf(stderr, "trafficgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* -P: a comma-separated subset of prog_keys. */
static int parse_progs(const char *arg, int sel[P_MAX])
{
	char buf[64], *tok, *save;
	int p;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -1;
	memset(sel, 0, P_MAX * sizeof(sel[0]));
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (p = 0; p < P_MAX && strcmp(tok, prog_keys[p]); p++)
			;
		if (p == P_MAX) {
			fprintf(stderr,
				"trafficgen: -P: no program '%s' (floor, encap, xlb, katran, "
				"xlb_x)\n",
				tok);
			return -1;
		}
		sel[p] = 1;
	}
	for (p = 0; p < P_MAX && !sel[p]; p++)
		;
	return p == P_MAX ? -1 : 0;
}

/* RUNS rounds over the selected programs, then the statistics pass. */
static int measure_all(struct bench *b, struct results *res)
{
	struct sample s;
	int r, p, sfd;

	for (r = 0; r < res->runs && !stop; r++) {
		for (p = 0; p < P_MAX && !stop; p++) {
			if (!res->sel[p])
				continue;
			if (measure(b, p, res->secs, 0, &s))
				return -1;
			res->mpps[p][r] = s.back;
			res->offered[p][r] = s.offered;
			fprintf(stderr,
				"trafficgen: run %d %-5s offered %.3f Mpps, back %.3f Mpps "
				"(%.0f%% IPIP)\n",
				r + 1, prog_keys[p], s.offered, s.back, s.ipip_share * 100);
		}
	}
	for (p = 0; p < P_MAX; p++) {
		if (!res->sel[p])
			continue;
		res->rate[p] = stat3(res->mpps[p], res->runs);
		res->off[p] = stat3(res->offered[p], res->runs);
	}
	if (res->stats_secs <= 0 || stop)
		return 0;
	/* On while the descriptor is open (kernel.bpf_stats_enabled counts it). */
	sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (sfd < 0) {
		fprintf(stderr, "trafficgen: cannot turn on BPF run-time statistics: %s\n",
			strerror(errno));
		return -1;
	}
	if (clock_cost(b->empty_fd, &b->g.frame, &res->clock_ns)) {
		close(sfd);
		return -1;
	}
	fprintf(stderr, "trafficgen: stats: %.1f ns per run are the statistics' own (xdp_empty)\n",
		res->clock_ns);
	for (p = 0; p < P_MAX && !stop; p++) {
		if (!res->sel[p])
			continue;
		if (measure(b, p, res->stats_secs, 1, &res->stats[p])) {
			close(sfd);
			return -1;
		}
		s = res->stats[p];
		fprintf(stderr,
			"trafficgen: stats %-5s back %.3f Mpps; ns per run: DUT program %.1f, "
			"xdp_gen %.1f, xdp_count %.1f\n",
			prog_keys[p], s.back, s.ns[S_DUT], s.ns[S_GEN], s.ns[S_COUNT]);
	}
	close(sfd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: trafficgen -g GENDEV -n DUTNS -d DUTDEV [-s SECONDS] [-r RUNS 1-%d]\n"
		"                  [-p PORTS] [-R REPEAT] [-B BATCH<=256] [-c CPU]\n"
		"                  [-P floor,encap,xlb,katran,xlb_x] [-S STATS_SECONDS] [-1]\n"
		"                  [-k KATRAN_OBJ [-K KATRAN_COMMIT]] [-x XLB_OBJ] [-o JSON]\n",
		MAX_RUNS);
	exit(1);
}

/*
 * The flows through balancer p: a few SYNs per source port (the frame
 * xdp_gen holds), of which some must come back encapsulated.
 */
static int open_flows(struct bench *b, int p, int ports)
{
	struct rx a, r;

	if (dut_attach(b->dut_ifindex, b->prog_fd[p]) || rx_read(b->rx_fd, &a) ||
	    gen_call(&b->g, ports * 8))
		return -1;
	usleep(200000);
	if (rx_read(b->rx_fd, &r))
		return -1;
	if (r.ipip == a.ipip) {
		fprintf(stderr, "trafficgen: %s forwarded none of %d SYNs\n", prog_keys[p],
			ports * 8);
		return -1;
	}
	return 0;
}

/* The frame xdp_gen sends: spec, from GENDEV's MAC to DUTDEV's. */
static int set_frame(struct bench *b, struct xdp_gen *gs, const struct pkt_spec *spec,
		     const __u8 gen_mac[6], const __u8 dut_mac[6])
{
	if (pkt_build(&b->g.frame, spec)) {
		fprintf(stderr, "trafficgen: pkt_build failed\n");
		return -1;
	}
	memcpy(b->g.frame.data, dut_mac, 6);
	memcpy(b->g.frame.data + 6, gen_mac, 6);
	if (b->g.frame.len != sizeof(gs->bss->gen_frame)) {
		fprintf(stderr, "trafficgen: frame of %zu bytes, xdp_gen sends %zu\n",
			b->g.frame.len, sizeof(gs->bss->gen_frame));
		return -1;
	}
	memcpy(gs->bss->gen_frame, b->g.frame.data, b->g.frame.len);
	b->g.ctx.data_end = b->g.frame.len;
	return 0;
}

int main(int argc, char **argv)
{
	const char *gen_dev = NULL, *dut_ns = NULL, *dut_dev = NULL, *json = NULL;
	const char *kobj = NULL, *kcommit = "unknown", *xobj = NULL;
	static struct results res = {.sel = {1, 1, 1}, .runs = 5, .ports = 16, .secs = 5};
	struct katran kt = {0};
	int progs_given = 0, err;
	struct bench b = {.g = {.repeat = 1 << 18, .batch = 64}, .warm = 0.5};
	int cpu = -1, opt, rc = 2, gen_ifindex, lo;
	struct pkt_spec syn = {.src = SRC4,
			       .dst = DST4,
			       .proto = IPPROTO_TCP,
			       .sport = SPORT_BASE,
			       .dport = 80,
			       .tcp_flags = 0x02,
			       .payload_len = 6};
	struct pkt_spec ack = syn;
	struct xdp_gen *gs = NULL;
	struct xdp_floor *fl = NULL;
	struct xlb_lb *lb = NULL, *lb_x = NULL;
	unsigned long long nf = 0, nf_x = 0, km = 0, km_new;
	__u32 vip_id = 0, vip_id_x = 0;
	__u8 gen_mac[6], dut_mac[6];
	char path[256];

	while ((opt = getopt(argc, argv, "g:n:d:s:r:p:R:B:c:P:S:1k:K:x:o:h")) != -1) {
		switch (opt) {
		case 'g':
			gen_dev = optarg;
			break;
		case 'n':
			dut_ns = optarg;
			break;
		case 'd':
			dut_dev = optarg;
			break;
		case 's':
			res.secs = atof(optarg);
			break;
		case 'r':
			res.runs = atoi(optarg);
			break;
		case 'p':
			res.ports = atoi(optarg);
			break;
		case 'R':
			b.g.repeat = strtoul(optarg, NULL, 0);
			break;
		case 'B':
			b.g.batch = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'P':
			if (parse_progs(optarg, res.sel))
				usage();
			progs_given = 1;
			break;
		case 'S':
			res.stats_secs = atof(optarg);
			break;
		case '1':
			res.one_cpu = 1;
			break;
		case 'k':
			kobj = optarg;
			break;
		case 'K':
			kcommit = optarg;
			break;
		case 'x':
			xobj = optarg;
			break;
		case 'o':
			json = optarg;
			break;
		default:
			usage();
		}
	}
	if (!gen_dev || !dut_ns || !dut_dev || res.secs <= 0 || res.secs > 60 || res.runs < 1 ||
	    res.runs > MAX_RUNS || res.ports < 1 || res.ports > 1000 || !b.g.repeat ||
	    b.g.batch > 256 || res.stats_secs < 0 || res.stats_secs > 60)
		usage();
	if (kobj && !progs_given)
		res.sel[P_KATRAN] = 1;
	if (xobj && !progs_given)
		res.sel[P_XLB_X] = 1;
	if ((res.sel[P_KATRAN] && !kobj) || (res.sel[P_XLB_X] && !xobj)) {
		fprintf(stderr, "trafficgen: -P katran needs -k KATRAN_OBJ, xlb_x -x XLB_OBJ\n");
		usage();
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			fprintf(stderr, "trafficgen: cannot pin to CPU %d: %s\n", cpu,
				strerror(errno));
	}

	snprintf(path, sizeof(path), "/run/netns/%s", dut_ns);
	ns_self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ns_dut = open(path, O_RDONLY | O_CLOEXEC);
	if (ns_self < 0 || ns_dut < 0) {
		fprintf(stderr, "trafficgen: %s: %s\n", ns_self < 0 ? "own netns" : path,
			strerror(errno));
		return 2;
	}
	gen_ifindex = if_nametoindex(gen_dev);
	lo = if_nametoindex("lo");
	if (!gen_ifindex || !lo || mac_of(gen_dev, gen_mac)) {
		fprintf(stderr, "trafficgen: no device %s here\n", gen_dev);
		return 2;
	}
	if (enter(ns_dut))
		return 2;
	b.dut_ifindex = if_nametoindex(dut_dev);
	if (!b.dut_ifindex || mac_of(dut_dev, dut_mac)) {
		fprintf(stderr, "trafficgen: no device %s in %s\n", dut_dev, dut_ns);
		return 2;
	}
	if (enter(ns_self))
		return 2;

	/* Programs. */
	gs = xdp_gen__open();
	if (!gs)
		goto out;
	gs->rodata->gen_ifindex = gen_ifindex;
	gs->rodata->sport_base = SPORT_BASE;
	gs->rodata->sport_count = res.ports;
	if (xdp_gen__load(gs)) {
		fprintf(stderr, "trafficgen: load xdp_gen: %s\n", strerror(errno));
		goto out;
	}
	fl = xdp_floor__open_and_load();
	lb = load_xlb(NULL, &vip_id);
	if (res.sel[P_XLB_X]) {
		lb_x = load_xlb(xobj, &vip_id_x);
		if (!lb_x)
			goto out;
		b.prog_fd[P_XLB_X] = bpf_program__fd(lb_x->progs.xlb_lb);
	}
	if (!fl || !lb) {
		fprintf(stderr, "trafficgen: load floor/xlb failed\n");
		goto out;
	}
	b.prog_fd[P_FLOOR] = bpf_program__fd(fl->progs.xdp_macswap);
	b.prog_fd[P_ENCAP] = bpf_program__fd(fl->progs.xdp_encap);
	b.prog_fd[P_XLB] = bpf_program__fd(lb->progs.xlb_lb);
	b.g.prog_fd = b.gen_fd = bpf_program__fd(gs->progs.xdp_gen);
	b.count_fd = bpf_program__fd(gs->progs.xdp_count);
	b.empty_fd = bpf_program__fd(fl->progs.xdp_empty);
	if (res.sel[P_KATRAN]) {
		/* Its LRUs as large as xlb's default flow table, as in bench_peer. */
		err = katran_load(&kt, kobj, XLB_FLOW_MAX_DEFAULT, DST4, DST6);
		if (err) {
			fprintf(stderr, "trafficgen: load or set up Katran (%s): %s\n", kobj,
				strerror(err < 0 ? -err : err));
			goto out;
		}
		b.prog_fd[P_KATRAN] = kt.prog_fd;
	}
	b.rx_fd = bpf_map__fd(gs->maps.gen_rx);
	if (bpf_xdp_attach(gen_ifindex, b.count_fd, XDP_FLAGS_DRV_MODE, NULL) ||
	    bpf_xdp_attach(lo, b.gen_fd, XDP_FLAGS_SKB_MODE, NULL)) {
		fprintf(stderr, "trafficgen: attach xdp_count on %s / xdp_gen on lo failed\n",
			gen_dev);
		goto out;
	}

	/* Frames: GENDEV -> DUTDEV. The flows: SYNs through each balancer. */
	b.g.ctx.ingress_ifindex = gen_ifindex;
	if (set_frame(&b, gs, &syn, gen_mac, dut_mac))
		goto out;
	if (open_flows(&b, P_XLB, res.ports)) {
		print_reasons(lb);
		goto out;
	}
	if ((res.sel[P_KATRAN] && open_flows(&b, P_KATRAN, res.ports)) ||
	    (res.sel[P_XLB_X] && open_flows(&b, P_XLB_X, res.ports)))
		goto out;
	ack.tcp_flags = 0x10;
	if (set_frame(&b, gs, &ack, gen_mac, dut_mac))
		goto out;
	nf = new_flows(lb, vip_id);
	if (lb_x)
		nf_x = new_flows(lb_x, vip_id_x);
	if (res.sel[P_KATRAN])
		km = katran_misses(&kt);

	fprintf(stderr,
		"trafficgen: %zu-byte frames, %d flows, %d x %.1f s per program, "
		"repeat %u, batch %u\n",
		b.g.frame.len, res.ports, res.runs, res.secs, b.g.repeat, b.g.batch);
	if (measure_all(&b, &res))
		goto out;
	print_reasons(lb);
	if (!stop && ((res.sel[P_XLB] && check_established(lb, vip_id, nf, "xlb")) ||
		      (lb_x && check_established(lb_x, vip_id_x, nf_x, "the -x build"))))
		goto out;
	if (!stop && res.sel[P_KATRAN] && (km_new = katran_misses(&kt) - km)) {
		fprintf(stderr,
			"trafficgen: Katran missed its LRU on %llu ACKs: the figures are not "
			"its established path's\n",
			km_new);
		goto out;
	}
	if (stop) {
		fprintf(stderr, "trafficgen: interrupted\n");
		goto out;
	}
	print_rates(&res, b.g.frame.len);
	if (res.stats_secs > 0)
		print_stats(&res);
	if (json && write_json(json, &res, &b.g, cpu, kcommit))
		goto out;
	rc = 0;
out:
	if (b.dut_ifindex)
		dut_detach(b.dut_ifindex);
	bpf_xdp_detach(gen_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	bpf_xdp_detach(lo, XDP_FLAGS_SKB_MODE, NULL);
	xlb_lb__destroy(lb);
	xlb_lb__destroy(lb_x);
	bpf_object__close(kt.obj);
	xdp_floor__destroy(fl);
	xdp_gen__destroy(gs);
	return rc;
}
