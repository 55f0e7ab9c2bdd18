// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wire rate on veth (target in bench/README.md): frames per second that a program
 * attached natively to a veth forwards back out of it with XDP_TX, for
 * xlb_lb (one VIP, three backends, IPIP) and for the MAC-swap floor.
 *
 *   generator namespace                      DUT namespace
 *   lo: xdp_gen (generic, idle)
 *   GENDEV: xdp_count (native) <== veth ==>  DUTDEV: xlb_lb or xdp_macswap
 *
 * The generator is BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on
 * xdp_gen (bench/xdp_gen.bpf.c): each frame, a 60-byte IPv4 TCP ACK to the
 * VIP from one of a few source ports (flows created by SYNs first), leaves
 * GENDEV with XDP_TX and arrives on DUTDEV; what the program under test
 * sends back is counted per CPU and dropped by xdp_count on GENDEV. The
 * figure is frames received back per second. Both programs are measured in
 * alternation, RUNS times each, SECONDS per run after a short warm-up.
 *
 * Run it in the generator's namespace (ip netns exec); DUTNS is a name in
 * /run/netns. The DUT namespace must route the backends 198.18.0.11-13 out
 * of DUTDEV with resolved neighbours and forwarding on (bench/wire_rate.sh
 * sets that up): xlb resolves next hops through the FIB as in production.
 *
 *   trafficgen -g GENDEV -n DUTNS -d DUTDEV [-s SECONDS] [-r RUNS]
 *              [-p PORTS] [-R REPEAT] [-B BATCH] [-c CPU] [-o JSON]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "xdp_floor.skel.h"
#include "xdp_gen.skel.h"
#include "xlb_lb.skel.h"

#define VIP4	   "198.18.100.1:80/tcp"
#define SRC4	   "198.18.0.10"
#define DST4	   "198.18.100.1"
#define SPORT_BASE 40000
#define MAX_RUNS   32

enum { P_FLOOR, P_XLB, P_MAX };
static const char *const prog_names[P_MAX] = {"MAC-swap XDP_TX floor",
					      "xlb_lb (IPIP, 1 VIP, 3 backends)"};
static const char *const prog_keys[P_MAX] = {"floor", "xlb"};

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

/* xlb: one VIP, three backends resolved by the FIB (no static next hops). */
static struct xlb_lb *load_xlb(void)
{
	static const char *const be4[] = {"198.18.0.11", "198.18.0.12", "198.18.0.13"};
	struct xlb_config cfg = {.forward = XLB_FWD_IPIP, .hash_seed = 42};
	struct xlb_lb *skel = xlb_lb__open();
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
	err = xlb_lb__load(skel);
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
	return skel;
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

static void usage(void)
{
	fprintf(stderr,
		"usage: trafficgen -g GENDEV -n DUTNS -d DUTDEV [-s SECONDS] [-r RUNS 1-%d]\n"
		"                  [-p PORTS] [-R REPEAT] [-B BATCH<=256] [-c CPU] [-o JSON]\n",
		MAX_RUNS);
	exit(1);
}

int main(int argc, char **argv)
{
	const char *gen_dev = NULL, *dut_ns = NULL, *dut_dev = NULL, *json = NULL;
	double secs = 5, warm = 0.5, mpps[P_MAX][MAX_RUNS], offered[P_MAX][MAX_RUNS];
	double ipip_share[P_MAX][MAX_RUNS];
	int runs = 5, ports = 16, cpu = -1, opt, r, p, rc = 2, dut_ifindex = 0, gen_ifindex, lo;
	struct gen g = {.repeat = 1 << 18, .batch = 64};
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
	struct xlb_lb *lb = NULL;
	int prog_fd[P_MAX];
	__u8 gen_mac[6], dut_mac[6];
	char path[256];
	struct rx a, b;
	__u64 sent;
	double dt;
	FILE *f;

	while ((opt = getopt(argc, argv, "g:n:d:s:r:p:R:B:c:o:h")) != -1) {
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
			secs = atof(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'p':
			ports = atoi(optarg);
			break;
		case 'R':
			g.repeat = strtoul(optarg, NULL, 0);
			break;
		case 'B':
			g.batch = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'o':
			json = optarg;
			break;
		default:
			usage();
		}
	}
	if (!gen_dev || !dut_ns || !dut_dev || secs <= 0 || secs > 60 || runs < 1 ||
	    runs > MAX_RUNS || ports < 1 || ports > 1000 || !g.repeat || g.batch > 256)
		usage();
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
	dut_ifindex = if_nametoindex(dut_dev);
	if (!dut_ifindex || mac_of(dut_dev, dut_mac)) {
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
	gs->rodata->sport_count = ports;
	if (xdp_gen__load(gs)) {
		fprintf(stderr, "trafficgen: load xdp_gen: %s\n", strerror(errno));
		goto out;
	}
	fl = xdp_floor__open_and_load();
	lb = load_xlb();
	if (!fl || !lb) {
		fprintf(stderr, "trafficgen: load floor/xlb failed\n");
		goto out;
	}
	prog_fd[P_FLOOR] = bpf_program__fd(fl->progs.xdp_macswap);
	prog_fd[P_XLB] = bpf_program__fd(lb->progs.xlb_lb);
	g.prog_fd = bpf_program__fd(gs->progs.xdp_gen);
	if (bpf_xdp_attach(gen_ifindex, bpf_program__fd(gs->progs.xdp_count), XDP_FLAGS_DRV_MODE,
			   NULL) ||
	    bpf_xdp_attach(lo, g.prog_fd, XDP_FLAGS_SKB_MODE, NULL)) {
		fprintf(stderr, "trafficgen: attach xdp_count on %s / xdp_gen on lo failed\n",
			gen_dev);
		goto out;
	}

	/* Frames: GENDEV -> DUTDEV. */
	ack.tcp_flags = 0x10;
	g.ctx.data_end = 0;
	g.ctx.ingress_ifindex = gen_ifindex;
	if (pkt_build(&g.frame, &syn)) {
		fprintf(stderr, "trafficgen: pkt_build failed\n");
		goto out;
	}
	memcpy(g.frame.data, dut_mac, 6);
	memcpy(g.frame.data + 6, gen_mac, 6);
	if (g.frame.len != sizeof(gs->bss->gen_frame)) {
		fprintf(stderr, "trafficgen: frame of %zu bytes, xdp_gen sends %zu\n", g.frame.len,
			sizeof(gs->bss->gen_frame));
		goto out;
	}
	memcpy(gs->bss->gen_frame, g.frame.data, g.frame.len);
	g.ctx.data_end = g.frame.len;

	/* The flows: a few SYNs per source port through xlb. */
	if (dut_attach(dut_ifindex, prog_fd[P_XLB]) || rx_read(bpf_map__fd(gs->maps.gen_rx), &a) ||
	    gen_call(&g, ports * 8))
		goto out;
	usleep(200000);
	if (rx_read(bpf_map__fd(gs->maps.gen_rx), &b))
		goto out;
	if (b.ipip == a.ipip) {
		fprintf(stderr, "trafficgen: xlb forwarded none of %d SYNs\n", ports * 8);
		print_reasons(lb);
		goto out;
	}
	pkt_build(&g.frame, &ack);
	memcpy(g.frame.data, dut_mac, 6);
	memcpy(g.frame.data + 6, gen_mac, 6);
	memcpy(gs->bss->gen_frame, g.frame.data, g.frame.len);

	fprintf(stderr,
		"trafficgen: %zu-byte frames, %d flows, %d x %.1f s per program, "
		"repeat %u, batch %u\n",
		g.frame.len, ports, runs, secs, g.repeat, g.batch);
	for (r = 0; r < runs && !stop; r++) {
		for (p = 0; p < P_MAX && !stop; p++) {
			if (dut_attach(dut_ifindex, prog_fd[p]))
				goto out;
			if (gen_for(&g, warm, &sent) < 0 ||
			    rx_read(bpf_map__fd(gs->maps.gen_rx), &a))
				goto out;
			dt = gen_for(&g, secs, &sent);
			if (dt < 0 || rx_read(bpf_map__fd(gs->maps.gen_rx), &b))
				goto out;
			mpps[p][r] = (b.frames - a.frames) / dt / 1e6;
			offered[p][r] = sent / dt / 1e6;
			ipip_share[p][r] = b.frames > a.frames ? (double)(b.ipip - a.ipip) /
									 (b.frames - a.frames)
							       : 0;
			fprintf(stderr,
				"trafficgen: run %d %-5s offered %.3f Mpps, back %.3f Mpps "
				"(%.0f%% IPIP)\n",
				r + 1, prog_keys[p], offered[p][r], mpps[p][r],
				ipip_share[p][r] * 100);
		}
	}
	print_reasons(lb);
	if (stop) {
		fprintf(stderr, "trafficgen: interrupted\n");
		goto out;
	}

	{
		struct stat3 s[P_MAX], o[P_MAX];
		double ratio;

		for (p = 0; p < P_MAX; p++) {
			s[p] = stat3(mpps[p], runs);
			o[p] = stat3(offered[p], runs);
		}
		ratio = s[P_FLOOR].med > 0 ? s[P_XLB].med / s[P_FLOOR].med : 0;
		printf("Wire rate on veth: %zu-byte IPv4 TCP frames (ACKs of %d established flows) "
		       "from a live-frames generator, forwarded back with XDP_TX; Mpps received "
		       "back, %d runs x %.1f s\n",
		       g.frame.len, ports, runs, secs);
		printf("| program on the DUT veth | median | min | max | offered (median) |\n"
		       "|---|---|---|---|---|\n");
		for (p = 0; p < P_MAX; p++)
			printf("| %s | %.3f | %.3f | %.3f | %.3f |\n", prog_names[p], s[p].med,
			       s[p].min, s[p].max, o[p].med);
		printf("| **xlb / floor** | **%.3f** | | | target >= 0.9 |\n", ratio);

		if (json) {
			f = fopen(json, "w");
			if (!f) {
				fprintf(stderr, "trafficgen: %s: %s\n", json, strerror(errno));
				goto out;
			}
			fprintf(f,
				"{\n  \"bench\": \"wire_rate_veth\",\n  \"frame_bytes\": %zu,\n"
				"  \"flows\": %d,\n  \"runs\": %d,\n  \"seconds_per_run\": %.2f,\n"
				"  \"repeat\": %u,\n  \"batch\": %u,\n  \"gen_cpu\": %d,\n",
				g.frame.len, ports, runs, secs, g.repeat, g.batch, cpu);
			for (p = 0; p < P_MAX; p++) {
				fprintf(f,
					"  \"%s\": {\"mpps_median\": %.4f, \"mpps_min\": %.4f, "
					"\"mpps_max\": %.4f, \"offered_mpps_median\": %.4f, "
					"\"mpps\": [",
					prog_keys[p], s[p].med, s[p].min, s[p].max, o[p].med);
				for (r = 0; r < runs; r++)
					fprintf(f, "%s%.4f", r ? ", " : "", mpps[p][r]);
				fprintf(f, "]},\n");
			}
			fprintf(f, "  \"ratio_xlb_floor\": %.4f,\n  \"target_ratio\": 0.9\n}\n",
				ratio);
			fclose(f);
		}
	}
	rc = 0;
out:
	if (dut_ifindex)
		dut_detach(dut_ifindex);
	bpf_xdp_detach(gen_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	bpf_xdp_detach(lo, XDP_FLAGS_SKB_MODE, NULL);
	xlb_lb__destroy(lb);
	xdp_floor__destroy(fl);
	xdp_gen__destroy(gs);
	return rc;
}
