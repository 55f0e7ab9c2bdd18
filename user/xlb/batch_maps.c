// SPDX-License-Identifier: GPL-2.0-only
/*
 * Batched map access for xlb -batch and xlb stats --zero: whole-map reads
 * of the VIP and member hashes (the library's batched walks), and writes, deletes and per-CPU zeroing of
 * many entries, each through the kernel's batch operations
 * (BPF_MAP_*_BATCH) in chunks, one entry at a time where a batch call is
 * refused. Maps are reached through the skeleton, as everywhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "batch_maps.h"
#include "base/vec.h"
#include "dataplane/maps.h"
#include "xlb_lb.skel.h"

#define CHUNK 4096 /* entries per batch call */
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's own: a map type without batch operations */
#endif

/* Entries collected by a walk (xlb_vip_foreach(), xlb_member_foreach()). */
struct collect {
	void *keys, *vals;
	size_t ksz, vsz, n, cap;
};

static int collect_one(struct collect *c, const void *k, const void *v)
{
	if (xlb_vec_room(&c->keys, c->ksz, &c->vals, c->vsz, c->n, &c->cap, 1024))
		return -ENOMEM;
	memcpy((char *)c->keys + c->n * c->ksz, k, c->ksz);
	memcpy((char *)c->vals + c->n * c->vsz, v, c->vsz);
	c->n++;
	return 0;
}

static int collect_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	return collect_one(arg, k, v);
}

static int collect_member(const struct xlb_member_key *k, const struct xlb_member *v, void *arg)
{
	return collect_one(arg, k, v);
}

int xlb_bm_vips_read(struct xlb_maps *m, struct xlb_vip_key **keys, struct xlb_vip **vals,
		     size_t *n)
{
	struct collect c = {.ksz = sizeof(**keys), .vsz = sizeof(**vals)};
	int err = xlb_vip_foreach(m, collect_vip, &c);

	*keys = c.keys;
	*vals = c.vals;
	*n = c.n;
	return err;
}

int xlb_bm_members_read(struct xlb_maps *m, struct xlb_member_key **keys, struct xlb_member **vals,
			size_t *n)
{
	struct collect c = {.ksz = sizeof(**keys), .vsz = sizeof(**vals)};
	int err = xlb_member_foreach(m, collect_member, &c);

	*keys = c.keys;
	*vals = c.vals;
	*n = c.n;
	return err;
}

int xlb_bm_members_write(struct xlb_maps *m, const struct xlb_member_key *keys,
			 const struct xlb_member *vals, size_t n)
{
	return xlb_map_update_n(bpf_map__fd(m->skel->maps.xlb_members), keys, sizeof(*keys), vals,
				sizeof(*vals), n, NULL);
}

/* Delete n keys; a missing one is no error (a batch stops at it: retry singly). */
static int delete_n(int fd, const void *keys, size_t ksz, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	const char *k = keys;
	size_t i, j;
	__u32 count;

	for (i = 0; i < n; i += CHUNK) {
		count = n - i < CHUNK ? n - i : CHUNK;
		if (!bpf_map_delete_batch(fd, k + i * ksz, &count, &opts))
			continue;
		for (j = i + count; j < n && j < i + CHUNK; j++)
			if (bpf_map_delete_elem(fd, k + j * ksz) && errno != ENOENT)
				return -errno;
	}
	return 0;
}

int xlb_bm_members_delete(struct xlb_maps *m, const struct xlb_member_key *keys, size_t n)
{
	return delete_n(bpf_map__fd(m->skel->maps.xlb_members), keys, sizeof(*keys), n);
}

/*
 * Zero the values (vsz bytes each) of n keys of fd, on every CPU when
 * percpu is set.
 */
static int zero_n(int fd, const __u32 *ids, size_t n, size_t vsz, int percpu)
{
	int ncpu = percpu ? libbpf_num_possible_cpus() : 1;
	size_t stride = percpu ? (vsz + 7) & ~7UL : vsz, chunk;
	void *zero;
	int err;

	if (ncpu < 0)
		return ncpu;
	chunk = n < CHUNK ? n : CHUNK;
	if (!chunk)
		return 0;
	zero = calloc(chunk, ncpu * stride);
	if (!zero)
		return -ENOMEM;
	err = 0;
	for (size_t i = 0; !err && i < n; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk;

		err = xlb_map_update_n(fd, ids + i, sizeof(*ids), zero, ncpu * stride, c, NULL);
	}
	free(zero);
	return err;
}

static int percpu_zero(int fd, const __u32 *ids, size_t n, size_t vsz)
{
	return zero_n(fd, ids, n, vsz, 1);
}

int xlb_bm_backends_zero(struct xlb_maps *m, const __u32 *ids, size_t n, int nexthops)
{
	int err = percpu_zero(bpf_map__fd(m->skel->maps.xlb_backend_stats), ids, n,
			      sizeof(struct xlb_traffic));

	/* One next hop per backend, shared by the CPUs (bpf/lib/nexthop.h). */
	if (!err && nexthops)
		err = zero_n(bpf_map__fd(m->skel->maps.xlb_nexthops), ids, n,
			     sizeof(struct xlb_nexthop), 0);
	return err;
}

int xlb_bm_vips_zero(struct xlb_maps *m, const __u32 *ids, size_t n)
{
	return percpu_zero(bpf_map__fd(m->skel->maps.xlb_vip_stats), ids, n,
			   sizeof(struct xlb_traffic));
}

int xlb_bm_reasons_zero(struct xlb_maps *m)
{
	int ncpu = xlb_reason_cpus(), err;
	__u32 *ids, cpu, r, n = 0;

	if (ncpu < 0)
		return ncpu;
	ids = calloc((size_t)ncpu * XLB_R_MAX, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	/* Every CPU's block of xlb_reasons (bpf/lib/maps.h). */
	for (cpu = 0; cpu < (__u32)ncpu; cpu++)
		for (r = 0; r < XLB_R_MAX; r++)
			ids[n++] = XLB_R_KEY(cpu, r);
	err = zero_n(bpf_map__fd(m->skel->maps.xlb_reasons), ids, n,
		     sizeof(struct xlb_reason_count), 0);
	free(ids);
	return err;
}
