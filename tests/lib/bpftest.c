// SPDX-License-Identifier: GPL-2.0-only
/* The harness of the BPF_PROG_TEST_RUN test programs; see bpftest.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/bpf.h>
#include <xlb/abi.h>
#include <bpf/bpf.h>

#include "bpftest.h"
#include "dataplane/maps.h"
#include "xlb_lb.skel.h"

/* --- the report ---------------------------------------------------------- */

int bpftest_fail(struct bpftest *t, const char *fmt, ...)
{
	va_list ap;

	if (t->msg[0])
		return -1; /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void bpftest_result(struct bpftest *t, int n, const char *name, int err)
{
	if (err > 0) {
		printf("ok %d - %s # SKIP %s\n", n, name, t->msg);
		t->skipped++;
	} else if (err) {
		printf("not ok %d - %s: %s\n", n, name,
		       t->msg[0] ? t->msg : "failed without a reason");
		t->failed++;
	} else {
		printf("ok %d - %s\n", n, name);
		t->passed++;
	}
	t->msg[0] = 0;
}

int bpftest_summary(const struct bpftest *t)
{
	if (t->skipped)
		printf("# %d skipped\n", t->skipped);
	printf("%d passed, %d failed\n", t->passed, t->failed);
	return t->failed ? 1 : 0;
}

int bpftest_cannot_load(const char *prog, const char *why)
{
	printf("# SKIP cannot load %s: %s (root and BPF needed)\n", prog, why);
	printf("0 passed, 0 failed\n");
	return 77;
}

/* --- loading and running --------------------------------------------------- */

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

void bpftest_libbpf_quiet(void)
{
	libbpf_set_print(libbpf_quiet);
}

int bpftest_prepare(struct bpf_object *obj, int *ncpu)
{
	struct bpf_map *map;
	int err;

	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0)
		return *ncpu ?: -EINVAL;
	bpf_object__for_each_map (map, obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return err;
	}
	return 0;
}

int bpftest_lb_open(struct xlb_lb **skel, int *ncpu, __u32 flows)
{
	return bpftest_lb_open_syns(skel, ncpu, flows, BPFTEST_SYN_BITS);
}

int bpftest_lb_size(struct xlb_lb *skel, int *ncpu, __u32 flows, unsigned int syn_bits)
{
	return bpftest_prepare(skel->obj, ncpu)
		       ?: bpf_map__set_max_entries(skel->maps.xlb_flows, flows)
		       ?: xlb_flow_cache_size(skel, flows, flows, *ncpu)
		       ?: bpf_map__set_max_entries(skel->maps.xlb_chains, BPFTEST_SLOTS)
		       ?: bpf_map__set_max_entries(skel->maps.xlb_syns, 1U << syn_bits)
		       ?: bpf_map__set_max_entries(skel->maps.xlb_slot_blocks,
						   BPFTEST_SLOTS / XLB_SLOT_BLOCK / 8);
}

int bpftest_lb_open_syns(struct xlb_lb **skel, int *ncpu, __u32 flows, unsigned int syn_bits)
{
	*skel = xlb_lb__open();
	if (!*skel)
		return -errno;
	return bpftest_lb_size(*skel, ncpu, flows, syn_bits) ?: xlb_lb__load(*skel);
}

int bpftest_chains_write(struct xlb_lb *skel, __u32 off, const __u64 *chains, __u32 n)
{
	size_t len = (size_t)BPFTEST_SLOTS * sizeof(__u64);
	__u64 *c;

	if (off > BPFTEST_SLOTS || n > BPFTEST_SLOTS - off)
		return -ERANGE;
	c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(skel->maps.xlb_chains),
		 0);
	if (c == MAP_FAILED)
		return -errno;
	memcpy(c + off, chains, (size_t)n * sizeof(*chains));
	munmap(c, len);
	return 0;
}

int bpftest_slots_write(struct xlb_lb *skel, __u32 off, const __u32 *ids, __u32 n)
{
	size_t len = (size_t)BPFTEST_SLOTS * sizeof(__u64);
	__u64 *chains;
	__u32 i;

	if (off > BPFTEST_SLOTS || n > BPFTEST_SLOTS - off)
		return -ERANGE;
	chains = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      bpf_map__fd(skel->maps.xlb_chains), 0);
	if (chains == MAP_FAILED)
		return -errno;
	for (i = 0; i < n; i++)
		chains[off + i] =
			xlb_slot_pack(ids ? ids[i] : XLB_SLOT_NONE, XLB_SLOT_NONE, XLB_SLOT_NONE);
	munmap(chains, len);
	return 0;
}

int bpftest_run(int prog_fd, __u32 ifindex, const struct pkt *in, struct pkt *out, __u32 *verdict)
{
	struct xdp_md ctx = {
		.data_end = in->len,
		.ingress_ifindex = ifindex,
		.rx_queue_index = 0,
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1, );

	memset(out, 0, sizeof(*out));
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	out->len = opts.data_size_out;
	*verdict = opts.retval;
	return 0;
}

const char *bpftest_verdict_name(__u32 v)
{
	static const char *const name[] = {
		[XDP_ABORTED] = "XDP_ABORTED",	 [XDP_DROP] = "XDP_DROP",
		[XDP_PASS] = "XDP_PASS",	 [XDP_TX] = "XDP_TX",
		[XDP_REDIRECT] = "XDP_REDIRECT",
	};

	return v < sizeof(name) / sizeof(name[0]) ? name[v] : "unknown verdict";
}

/* --- per-CPU values ---------------------------------------------------------- */

/* A per-CPU value's copies are 8-byte aligned. */
static size_t percpu_stride(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

void *bpftest_percpu_read(struct bpf_map *map, __u32 key, int ncpu, size_t size)
{
	void *buf = calloc(ncpu, percpu_stride(size));

	if (buf && bpf_map_lookup_elem(bpf_map__fd(map), &key, buf)) {
		free(buf);
		return NULL;
	}
	return buf;
}

int bpftest_percpu_write(struct bpf_map *map, __u32 key, int ncpu, const void *val, size_t size)
{
	size_t stride = percpu_stride(size);
	__u8 *buf = calloc(ncpu, stride);
	int cpu, err = 0;

	if (!buf)
		return -ENOMEM;
	for (cpu = 0; val && cpu < ncpu; cpu++)
		memcpy(buf + cpu * stride, val, size);
	if (bpf_map_update_elem(bpf_map__fd(map), &key, buf, BPF_ANY))
		err = -errno;
	free(buf);
	return err;
}

int bpftest_percpu_sum(struct bpf_map *map, __u32 key, int ncpu, __u64 *sum, size_t n)
{
	__u64 *v;
	size_t i;
	int cpu;

	memset(sum, 0, n * sizeof(*sum));
	v = bpftest_percpu_read(map, key, ncpu, n * sizeof(*v));
	if (!v)
		return -errno;
	for (cpu = 0; cpu < ncpu; cpu++)
		for (i = 0; i < n; i++)
			sum[i] += v[cpu * n + i];
	free(v);
	return 0;
}

int bpftest_blocks_write(struct bpf_map *map, __u32 key, int ncpu, __u32 stride, const void *val,
			 size_t size)
{
	__u8 *buf = calloc(1, size);
	__u32 k;
	int cpu, err = 0;

	if (!buf)
		return -ENOMEM;
	if (val)
		memcpy(buf, val, size);
	for (cpu = 0; !err && cpu < ncpu; cpu++) {
		k = cpu * stride + key;
		if (bpf_map_update_elem(bpf_map__fd(map), &k, buf, BPF_ANY))
			err = -errno;
	}
	free(buf);
	return err;
}

int bpftest_blocks_sum(struct bpf_map *map, __u32 key, int ncpu, __u32 stride, __u64 *sum, size_t n)
{
	__u64 *v = calloc(n, sizeof(*v));
	__u32 k;
	size_t i;
	int cpu, err = 0;

	if (!v)
		return -ENOMEM;
	memset(sum, 0, n * sizeof(*sum));
	for (cpu = 0; !err && cpu < ncpu; cpu++) {
		k = cpu * stride + key;
		if (bpf_map_lookup_elem(bpf_map__fd(map), &k, v))
			err = -errno;
		for (i = 0; !err && i < n; i++)
			sum[i] += v[i];
	}
	free(v);
	return err;
}

/* --- reason counters ------------------------------------------------------- */

static int reason_sum(const struct bpftest_reasons *r, __u32 reason, __u64 now[2])
{
	return bpftest_blocks_sum(r->map, reason, r->ncpu, XLB_R_SLOTS, now, 2);
}

int bpftest_reasons_snap(struct bpftest *t, struct bpftest_reasons *r)
{
	__u32 i;

	if (r->n > BPFTEST_REASONS_MAX)
		return bpftest_fail(t, "%u reasons, the harness keeps %d", r->n,
				    BPFTEST_REASONS_MAX);
	for (i = 0; i < r->n; i++)
		if (reason_sum(r, i, r->before[i]))
			return bpftest_fail(t, "cannot read reason %u", i);
	return 0;
}

/* Names of the reasons counted since the snapshot: "fwd_encap +1, ..." */
static void reasons_counted(const struct bpftest_reasons *r, char *buf, size_t size)
{
	size_t off = 0;
	__u64 now[2];
	__u32 i;

	buf[0] = 0;
	for (i = 0; i < r->n && off < size; i++) {
		if (reason_sum(r, i, now) || now[0] == r->before[i][0])
			continue;
		off += snprintf(buf + off, size - off, "%s%s +%llu", off ? ", " : "", r->name(i),
				(unsigned long long)(now[0] - r->before[i][0]));
	}
	if (!off)
		snprintf(buf, size, "none");
}

int bpftest_expect_verdict(struct bpftest *t, const struct bpftest_reasons *r, __u32 got,
			   __u32 want)
{
	char counted[256];

	if (got == want)
		return 0;
	reasons_counted(r, counted, sizeof(counted));
	return bpftest_fail(t, "verdict: expected %s, got %s (reasons counted: %s)",
			    bpftest_verdict_name(want), bpftest_verdict_name(got), counted);
}

int bpftest_expect_reason(struct bpftest *t, const struct bpftest_reasons *r, __u32 reason,
			  size_t len)
{
	char counted[256];
	__u64 now[2];

	if (reason >= r->n || reason_sum(r, reason, now))
		return bpftest_fail(t, "cannot read reason %u", reason);
	if (now[0] - r->before[reason][0] == 1 && now[1] - r->before[reason][1] == len)
		return 0;
	reasons_counted(r, counted, sizeof(counted));
	return bpftest_fail(t,
			    "reason %s: expected +1 packet +%zu bytes, got +%llu +%llu "
			    "(reasons counted: %s)",
			    r->name(reason), len,
			    (unsigned long long)(now[0] - r->before[reason][0]),
			    (unsigned long long)(now[1] - r->before[reason][1]), counted);
}

/* Zero one mmapable array map whole. */
static int array_zero(struct bpf_map *map)
{
	size_t len = (size_t)bpf_map__max_entries(map) * bpf_map__value_size(map);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);

	if (p == MAP_FAILED)
		return -errno;
	memset(p, 0, len);
	munmap(p, len);
	return 0;
}

int bpftest_fc_clear(struct xlb_lb *skel)
{
	return array_zero(skel->maps.xlb_fc4) ?: array_zero(skel->maps.xlb_fc6);
}

static int flow_count_one(const struct xlb_flow_key *k, const struct xlb_flow *f, void *arg)
{
	(*(long *)arg)++;
	return 0;
}

long bpftest_flows_count(struct xlb_maps *m)
{
	long n = 0;
	int err = xlb_flow_foreach(m, flow_count_one, &n);

	return err ? err : n;
}
