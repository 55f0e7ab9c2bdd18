// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cost of removing one backend while the flow table is full: a VIP
 * with NBE backends, FLOWS flow entries spread over them (written from
 * userspace in batches, as the fast path would have made them), then one
 * backend after the other taken out of the VIP and freed, as
 * `xlb backend del` does: xlb_member_del() and xlb_backend_release(). Only
 * the release is timed; it is what frees the backend id for reuse. The
 * figure is printed, never asserted (bench/README.md).
 *
 * The program is loaded without pins, as bench_xdp does. The flow table is
 * a per-CPU LRU: a CPU fills only its share, so the process is bound to
 * CPU 0 and the table sized FLOWS times the CPU count.
 *
 *   bench_remove [FLOWS [REMOVALS]]     defaults: 1000000 flows, 10 removals
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

#include "base/addr.h"
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

static struct xlb_lb *load_lb(__u32 flows)
{
	struct xlb_lb *lb = xlb_lb__open();
	int ncpu = libbpf_num_possible_cpus();
	struct bpf_map *map;

	if (!lb || ncpu < 1)
		return NULL;
	bpf_object__for_each_map (map, lb->obj)
		bpf_map__set_pin_path(map, NULL);
	if (bpf_map__set_max_entries(lb->maps.xlb_flows, flows * ncpu + CHUNK) ||
	    xlb_lb__load(lb)) {
		xlb_lb__destroy(lb);
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

/* flows entries, client 10.<i>:<port> -> the VIP, backend ids[i % NBE]. */
static int fill(struct xlb_maps *m, const struct xlb_vip *vip, const __u32 *ids, __u32 flows)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = bpf_map__fd(m->skel->maps.xlb_flows);
	struct xlb_backend be;
	struct xlb_flow_key *k;
	struct xlb_flow *v;
	__u32 i, j, n, count;
	int err = 0;

	k = calloc(CHUNK, sizeof(*k));
	v = calloc(CHUNK, sizeof(*v));
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	for (i = 0; !err && i < flows; i += n) {
		n = flows - i < CHUNK ? flows - i : CHUNK;
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
			err = xlb_backend_get(m, v[j].backend_id, &be);
			if (err)
				break;
			v[j].be_gen = be.gen;
		}
		count = n;
		if (!err && bpf_map_update_batch(fd, k, v, &count, &opts))
			err = -errno;
	}
	free(k);
	free(v);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
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
	cpu_set_t cpus;
	int err, i;

	if (flows < NBE || flows > 16000000 || removals < 1 || removals > NBE) {
		fprintf(stderr, "usage: bench_remove [FLOWS %d-16000000 [REMOVALS 1-%d]]\n", NBE,
			NBE);
		return 1;
	}
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus)) {
		fprintf(stderr, "bind to CPU 0: %s\n", strerror(errno));
		return 2;
	}
	lb = load_lb((__u32)flows);
	if (!lb) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return 2;
	}
	m = (struct xlb_maps){.skel = lb, .lock_fd = -1};
	err = setup(&m, &vip, ids);
	if (!err)
		err = fill(&m, &vip, ids, (__u32)flows);
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
	printf("Removing one backend of %d with %ld flows in the table (%ld of them its own): "
	       "xlb_backend_release(), %d removals (ms)\n",
	       NBE, flows, flows / NBE, removals);
	printf("| flows | removals | min | p50 | max |\n|---|---|---|---|---|\n");
	printf("| %ld | %d | %.3f | %.3f | %.3f |\n", flows, removals, t[0], t[removals / 2],
	       t[removals - 1]);
	return 0;
}
