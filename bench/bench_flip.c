// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control-plane latencies that the fast path sees (targets in bench/README.md):
 *
 * 1. Health flip: the time from the agent's decision that a node is down
 *    to the fast path avoiding it. The decision's only write is the one
 *    xlbd's health callback makes, xlb_backend_set_state(DOWN); xlbd also
 *    takes the pin directory's flock around it, so both "write only" and
 *    "lock + write" are timed (the lock on a temporary directory; the time
 *    stops after the write, the unlock is not on the path). Right after
 *    each flip a SYN of a 5-tuple that mapped to that node (never used
 *    before, so no flow entry exists) goes through BPF_PROG_TEST_RUN and
 *    its outer destination address and destination MAC must not be the
 *    node's; the node is then set ACTIVE again (not timed). Tables are not
 *    rebuilt: the fast path's bounded re-probe skips the DOWN node.
 *
 * 2. Maglev rebuild and swap, M = 65537, N = 10, 100, 1000 weighted nodes:
 *    xlb_table_write() (config read, Maglev build, copy into free slots of
 *    the table space through mmap, one xlb_vips write that makes it live)
 *    and xlb_maglev_build() alone, timed in the same runs; the
 *    write-and-swap part is their per-run difference, and also measured
 *    as xlb_table_write() of an empty node set (its Maglev build is a fill
 *    of the table with "no backend"). The runs cycle through the table
 *    space, so the kernel grace periods that make freed slots reusable
 *    are in the figures when they happen.
 *
 * The program is loaded without pins, as bench_xdp does.
 *
 *   bench_flip [FLIPS [RUNS]]     defaults: 10000 flips, 20 runs
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../tests/lib/pkt.h"
#include "base/addr.h"
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "dataplane/pick.h"
#include "xlb_lb.skel.h"

#define SEED	    42
#define FLOWS	    (1 << 18)
#define NBE_MAX	    1000
#define RUNS_MAX    1000
#define OUTER_DADDR (14 + 16) /* Ethernet, then the outer IPv4 header */

static const __u32 maglev_ns[] = {10, 100, 1000};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* splitmix64: fixed-seed weights, the same sets on every run. */
static __u64 rnd(__u64 *state)
{
	__u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A VIP and its backends: ids, addresses and Maglev nodes. */
struct pool {
	struct xlb_vip vip;
	const char *vip_addr;
	__u32 n;
	__u32 id[NBE_MAX];
	__be32 addr[NBE_MAX];
	char key[NBE_MAX][XLB_VIPSTRLEN];
	struct xlb_maglev_node node[NBE_MAX];
};

/*
 * A VIP vip_addr:80/tcp with n backends 198.18.<net + i / 250>.<1 + i % 250>,
 * weights from *rng (1..100) or 1, each with a static next hop whose
 * destination MAC carries its id; with table, the VIP's table is built.
 */
static int pool_setup(struct xlb_maps *m, struct pool *p, const char *vip_addr, __u32 n,
		      unsigned int net, __u64 *rng, int table)
{
	static __u32 next_id;
	struct xlb_nexthop nh = {
		.ifindex = 1, .mtu = 1600, .smac = {2, 0, 0, 0, 0, 2}, .dmac = {2, 0, 0, 0}};
	struct xlb_backend b;
	struct xlb_addr_key a;
	struct xlb_vip_key k;
	char text[64];
	__u32 i, w;
	__u16 port;
	int err;

	p->n = n;
	p->vip_addr = vip_addr;
	snprintf(text, sizeof(text), "%s:80/tcp", vip_addr);
	err = xlb_vip_parse(text, &k, NULL, 0);
	if (!err)
		err = xlb_vip_create(m, &k, 0, XLB_MAGLEV_DEFAULT, &p->vip);
	/* Stamped ~146 years ahead: a static next hop, no FIB lookup. */
	nh.updated_ns = xlb_now_coarse_ns() + (1ULL << 62);
	for (i = 0; !err && i < n; i++) {
		snprintf(text, sizeof(text), "198.18.%u.%u", net + i / 250, 1 + i % 250);
		err = xlb_endpoint_parse(text, &a, &port, NULL, 0);
		if (err)
			break;
		/*
		 * Fresh maps: ids in order, one write each (xlb_backend_ensure()
		 * reads the whole backend array per call, slow for 1,100).
		 */
		p->id[i] = next_id++;
		memset(&b, 0, sizeof(b));
		memcpy(b.addr, a.addr, sizeof(b.addr));
		b.family = a.family;
		b.port = htons(80);
		b.state = XLB_BE_ACTIVE;
		err = xlb_backend_write(m, p->id[i], &b);
		w = rng ? 1 + rnd(rng) % 100 : 1;
		if (!err)
			err = xlb_member_set(m, p->vip.id, p->id[i], w);
		nh.dmac[4] = p->id[i] >> 8;
		nh.dmac[5] = p->id[i] & 0xff;
		if (!err)
			err = xlb_nexthop_set(m, p->id[i], &nh);
		if (err)
			break;
		p->addr[i] = a.addr[0];
		xlb_backend_key(&b, p->key[i], sizeof(p->key[i]));
		p->node[i] =
			(struct xlb_maglev_node){.key = p->key[i], .weight = w, .id = p->id[i]};
	}
	if (!err && table)
		err = xlb_table_rebuild(m, &p->vip);
	if (err)
		fprintf(stderr, "setup of %s with %u backends: %s\n", vip_addr, n, strerror(-err));
	return err;
}

static int pool_index(const struct pool *p, __u32 id)
{
	__u32 i;

	for (i = 0; i < p->n; i++)
		if (p->id[i] == id)
			return (int)i;
	return -1;
}

/* A SYN of a 5-tuple never used before (*seq advances) and its flow key. */
static void fresh_syn(const struct pool *p, __u32 *seq, struct pkt *pk, struct xlb_flow_key *fk)
{
	struct pkt_spec s = {.dst = p->vip_addr,
			     .proto = IPPROTO_TCP,
			     .dport = 80,
			     .tcp_flags = 0x02,
			     .payload_len = 15};
	char src[32];

	snprintf(src, sizeof(src), "198.18.%u.%u", 200 + *seq / (250 * 64000),
		 1 + *seq / 64000 % 250);
	s.src = src;
	s.sport = 1024 + *seq % 64000;
	(*seq)++;
	pkt_build(pk, &s);
	memset(fk, 0, sizeof(*fk));
	inet_pton(AF_INET, src, &fk->saddr[0]);
	inet_pton(AF_INET, p->vip_addr, &fk->daddr[0]);
	fk->sport = htons(s.sport);
	fk->dport = htons(80);
	fk->proto = IPPROTO_TCP;
	fk->family = XLB_AF_INET;
}

/* Run pk through the program; the backend index it went to, or -1. */
static int send_syn(int prog_fd, const struct pool *p, struct pkt *pk, int *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pk->data, .data_size_in = pk->len,
		    .repeat = 1);
	static __u8 out[PKT_MAX + 256];
	__be32 daddr;
	__u32 id;
	int i;

	o.data_out = out;
	o.data_size_out = sizeof(out);
	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		fprintf(stderr, "test run: %s\n", strerror(errno));
		exit(2);
	}
	*verdict = o.retval;
	if (o.retval != XDP_TX || o.data_size_out < OUTER_DADDR + 4)
		return -1;
	memcpy(&daddr, out + OUTER_DADDR, 4);
	id = out[4] << 8 | out[5];
	for (i = 0; i < (int)p->n; i++)
		if (p->addr[i] == daddr)
			/* Address and MAC must name the same backend. */
			return p->id[i] == id ? i : -2;
	return -1;
}

struct flip_res {
	double p50, p99, max;
	long flips, violations, dropped, other, pick_errors;
};

/*
 * flips times: a fresh 5-tuple, the backend B it maps to, B DOWN (timed,
 * with or without lock_dir's flock), a SYN of that 5-tuple must not reach
 * B, B ACTIVE again.
 */
static int flip_run(struct xlb_maps *m, int prog_fd, const struct pool *p, const char *lock_dir,
		    long flips, __u32 *seq, struct flip_res *res)
{
	struct xlb_pick_result r;
	struct xlb_flow_key fk;
	struct pkt pk;
	double *lat, t0, t1;
	int err, lock = -1, got, verdict;
	long i, n = 0;

	memset(res, 0, sizeof(*res));
	lat = calloc(flips, sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	for (i = 0; i < flips; i++) {
		fresh_syn(p, seq, &pk, &fk);
		err = xlb_pick_flow(m, &p->vip, &fk, &r);
		if (err || r.via != XLB_PICK_TABLE || pool_index(p, r.backend_id) < 0) {
			res->pick_errors++;
			continue;
		}
		t0 = now_us();
		if (lock_dir) {
			lock = xlb_pin_dir_lock(lock_dir);
			if (lock < 0) {
				err = lock;
				break;
			}
		}
		err = xlb_backend_set_state(m, r.backend_id, XLB_BE_DOWN);
		t1 = now_us();
		if (lock >= 0)
			close(lock);
		lock = -1;
		if (err)
			break;
		got = send_syn(prog_fd, p, &pk, &verdict);
		if (verdict == XDP_DROP)
			res->dropped++;
		else if (verdict != XDP_TX)
			res->other++;
		else if (got == -2 || got < 0 || p->id[got] == r.backend_id)
			res->violations++;
		err = xlb_backend_set_state(m, r.backend_id, XLB_BE_ACTIVE);
		if (err)
			break;
		lat[n++] = t1 - t0;
	}
	if (!err && n) {
		qsort(lat, n, sizeof(*lat), cmp_double);
		res->flips = n;
		res->p50 = lat[n / 2];
		res->p99 = lat[(n * 99) / 100];
		res->max = lat[n - 1];
	}
	free(lat);
	return err;
}

/* Without flips: fresh SYNs reach the backend xlb_pick_flow() predicts. */
static long control_run(struct xlb_maps *m, int prog_fd, const struct pool *p, long count,
			__u32 *seq)
{
	struct xlb_pick_result r;
	struct xlb_flow_key fk;
	struct pkt pk;
	int got, verdict;
	long i, ok = 0;

	for (i = 0; i < count; i++) {
		fresh_syn(p, seq, &pk, &fk);
		if (xlb_pick_flow(m, &p->vip, &fk, &r) || r.via != XLB_PICK_TABLE)
			continue;
		got = send_syn(prog_fd, p, &pk, &verdict);
		ok += got >= 0 && p->id[got] == r.backend_id;
	}
	return ok;
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stat3(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return (struct stat3){.med = v[n / 2], .min = v[0], .max = v[n - 1]};
}

enum { T_BUILD, T_WRITE, T_DIFF, T_EMPTY, T_MAX };

static int maglev_bench(struct xlb_maps *m, struct pool *p, int runs)
{
	static const char *const head[T_MAX] = {
		[T_BUILD] = "xlb_maglev_build",
		[T_WRITE] = "xlb_table_write",
		[T_DIFF] = "xlb_table_write - build",
		[T_EMPTY] = "xlb_table_write, 0 nodes",
	};
	static double v[T_MAX][RUNS_MAX];
	__u32 *table, size = p->vip.table_size;
	double t0, t1, t2, t3;
	struct stat3 st;
	unsigned int c;
	int r, k, err = 0;

	table = calloc(size, sizeof(*table));
	if (!table)
		return -ENOMEM;
	printf("Maglev rebuild and swap, M = %u, weights 1..100, %d runs each: us, median "
	       "(min-max)\n| N |",
	       size, runs);
	for (k = 0; k < T_MAX; k++)
		printf(" %s |", head[k]);
	printf("\n|---|");
	for (k = 0; k < T_MAX; k++)
		printf("---|");
	printf("\n");
	for (c = 0; c < sizeof(maglev_ns) / sizeof(maglev_ns[0]); c++) {
		__u32 n = maglev_ns[c];

		/* One of each first: page faults and map caches warm up. */
		err = xlb_table_write(m, &p->vip, p->node, n, NULL, 0);
		if (!err)
			err = xlb_maglev_build(p->node, n, size, SEED, table);
		for (r = 0; !err && r < runs; r++) {
			t0 = now_us();
			err = xlb_maglev_build(p->node, n, size, SEED, table);
			t1 = now_us();
			if (!err)
				err = xlb_table_write(m, &p->vip, p->node, n, NULL, 0);
			t2 = now_us();
			if (!err)
				err = xlb_table_write(m, &p->vip, p->node, 0, NULL, 0);
			t3 = now_us();
			v[T_BUILD][r] = t1 - t0;
			v[T_WRITE][r] = t2 - t1;
			v[T_DIFF][r] = v[T_WRITE][r] - v[T_BUILD][r];
			v[T_EMPTY][r] = t3 - t2;
		}
		if (err) {
			fprintf(stderr, "table write, N = %u: %s\n", n, strerror(-err));
			break;
		}
		printf("| %u |", n);
		for (k = 0; k < T_MAX; k++) {
			st = stat3(v[k], runs);
			printf(" %.0f (%.0f-%.0f) |", st.med, st.min, st.max);
		}
		printf("\n");
	}
	free(table);
	return err;
}

static struct xlb_lb *load_lb(void)
{
	struct xlb_lb *lb = xlb_lb__open();
	struct bpf_map *map;

	if (!lb)
		return NULL;
	bpf_object__for_each_map (map, lb->obj)
		bpf_map__set_pin_path(map, NULL);
	if (bpf_map__set_max_entries(lb->maps.xlb_flows, FLOWS) ||
	    xlb_flow_cache_size(lb, FLOWS, FLOWS, libbpf_num_possible_cpus()) || xlb_lb__load(lb)) {
		xlb_lb__destroy(lb);
		return NULL;
	}
	return lb;
}

int main(int argc, char **argv)
{
	static struct pool p3, p100, pml;
	long flips = argc > 1 ? atol(argv[1]) : 10000;
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	struct xlb_config cfg = {.forward = XLB_FWD_IPIP, .hash_seed = SEED};
	char lock_dir[] = "/tmp/xlb-bench-flip.XXXXXX";
	struct pool *pools[2] = {&p3, &p100};
	struct flip_res res;
	struct xlb_maps m;
	struct xlb_lb *lb;
	__u32 seq = 0;
	__u64 rng = 0x5eed1234;
	long ok;
	int prog_fd, err, i, l, ret = 2;

	if (flips < 100 || runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: bench_flip [FLIPS>=100 [RUNS 1-%d]]\n", RUNS_MAX);
		return 1;
	}
	lb = load_lb();
	if (!lb) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return 2;
	}
	if (!mkdtemp(lock_dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		goto out_destroy;
	}
	m = (struct xlb_maps){.skel = lb, .lock_fd = -1};
	prog_fd = bpf_program__fd(lb->progs.xlb_lb);
	inet_pton(AF_INET, "198.18.128.0", &cfg.encap_src4);
	cfg.encap_src4_mask = htonl(0xff);
	err = xlb_config_set(&m, &cfg);
	if (!err)
		err = pool_setup(&m, &p3, "198.18.100.1", 3, 0, NULL, 1);
	if (!err)
		err = pool_setup(&m, &p100, "198.18.100.2", 100, 1, NULL, 1);
	if (!err)
		err = pool_setup(&m, &pml, "198.18.100.3", 1000, 2, &rng, 0);
	if (err)
		goto out_rmdir;

	printf("Health flip: decision -> fast path avoids the node, %ld flips per row; each "
	       "checked with a SYN of a fresh 5-tuple that mapped to the node (us)\n",
	       flips);
	printf("| backends | timed | p50 | p99 | max | flips | SYNs to the DOWN node | "
	       "SYNs dropped | other verdicts |\n|---|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < 2; i++) {
		ok = control_run(&m, prog_fd, pools[i], 1000, &seq);
		if (ok != 1000) {
			fprintf(stderr,
				"control: only %ld of 1000 SYNs reached the predicted "
				"backend; the check cannot be trusted\n",
				ok);
			goto out_rmdir;
		}
		for (l = 0; l < 2; l++) {
			err = flip_run(&m, prog_fd, pools[i], l ? lock_dir : NULL, flips, &seq,
				       &res);
			if (err) {
				fprintf(stderr, "flip: %s\n", strerror(-err));
				goto out_rmdir;
			}
			printf("| %u | %s | %.2f | %.2f | %.2f | %ld | %ld | %ld | %ld |\n",
			       pools[i]->n, l ? "flock + write" : "write only", res.p50, res.p99,
			       res.max, res.flips, res.violations, res.dropped, res.other);
			if (res.pick_errors)
				fprintf(stderr, "  %ld 5-tuples skipped: no table pick\n",
					res.pick_errors);
			if (res.violations || res.other)
				ret = 3;
		}
	}
	printf("(control before each backend set: 1000 of 1000 SYNs without a flip reached "
	       "the backend xlb_pick_flow() predicted. Dropped: XDP_DROP, drop_no_backend,\n"
	       "the flow's slot and its %d re-probed slots all held the DOWN node; the "
	       "table rebuild that follows a flip ends that)\n\n",
	       XLB_REPROBE_MAX);
	err = maglev_bench(&m, &pml, runs);
	if (!err && ret != 3)
		ret = 0;
out_rmdir:
	rmdir(lock_dir);
out_destroy:
	xlb_lb__destroy(lb);
	return ret;
}
