// SPDX-License-Identifier: GPL-2.0-only
/*
 * Flows from userspace: the flow cache (xlb_fc4, xlb_fc6), read through a
 * read-only mapping of each map or one set at a time, and least_conn
 * VIPs' flow table (xlb_flows), as one set of flows. The fast path writes
 * a set only from its own CPU; a reader here may see a way half written,
 * which it takes as it reads it (`xlb flows` is a snapshot).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xlb/flowcache.h>
#include <xlb/hash.h>
#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"
#include "xlb_lb.skel.h"

/* One family's cache: its map, set size, ways, geometry. */
struct fc {
	int fd;
	__u32 set_size, ways;
	__u32 entries, bits;
	int ncpu;
};

/* log2 of the sets per CPU of a cache of entries sets on ncpu CPUs. */
static __u32 bits_of(__u32 entries, int ncpu)
{
	__u32 bits = 0;

	while (bits < 31 && ((__u64)ncpu << (bits + 1)) <= entries)
		bits++;
	return bits;
}

static int fc_get(struct xlb_maps *m, int family, struct fc *c)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const struct bpf_map *map =
		family == XLB_AF_INET ? m->skel->maps.xlb_fc4 : m->skel->maps.xlb_fc6;

	c->fd = map_fd(map);
	c->set_size =
		family == XLB_AF_INET ? sizeof(struct xlb_fc_set4) : sizeof(struct xlb_fc_set6);
	c->ways = family == XLB_AF_INET ? XLB_FC4_WAYS : XLB_FC6_WAYS;
	c->ncpu = libbpf_num_possible_cpus();
	if (c->ncpu <= 0)
		return c->ncpu ?: -EINVAL;
	if (bpf_obj_get_info_by_fd(c->fd, &info, &len))
		return -errno;
	if (info.value_size != c->set_size)
		return -EINVAL;
	c->entries = info.max_entries;
	c->bits = bits_of(c->entries, c->ncpu);
	return 0;
}

/* The coarse clock the fast path stamps flows with (bpf_ktime_get_coarse_ns). */
static __u64 coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Way i of a set of family as a key and a flow; 0 if the way is free. */
static int way_read(const void *set, int family, __u32 i, __u64 now, struct xlb_flow_key *k,
		    struct xlb_flow *f)
{
	__u32 ref, meta;

	memset(k, 0, sizeof(*k));
	memset(f, 0, sizeof(*f));
	if (family == XLB_AF_INET) {
		const struct xlb_fc_set4 *s = set;

		if (!s->proto[i])
			return 0;
		k->saddr[0] = s->w[i].saddr;
		k->daddr[0] = s->w[i].daddr;
		k->sport = s->w[i].sport;
		k->dport = s->w[i].dport;
		k->proto = s->proto[i];
		ref = s->w[i].ref;
		meta = s->w[i].meta;
	} else {
		const struct xlb_fc_set6 *s = set;

		if (!s->proto[i])
			return 0;
		memcpy(k->saddr, s->w[i].saddr, sizeof(k->saddr));
		memcpy(k->daddr, s->w[i].daddr, sizeof(k->daddr));
		k->sport = s->w[i].sport;
		k->dport = s->w[i].dport;
		k->proto = s->proto[i];
		ref = s->w[i].ref;
		meta = s->w[i].meta;
	}
	k->family = family;
	f->backend_id = xlb_fc_ref_id(ref);
	f->be_gen = xlb_fc_ref_gen(ref);
	f->vip_id = xlb_fc_meta_vip(meta);
	f->created_ns = now - xlb_fc_age_ns(meta, now);
	f->lc.flags = XLB_FLOW_F_CACHED;
	return 1;
}

/* Way i of a set rewritten to flow f (its key stays). */
static void way_write(void *set, int family, __u32 i, const struct xlb_flow *f)
{
	__u32 ref = xlb_fc_ref(f->backend_id, xlb_fc_gen(f->be_gen));
	__u32 meta = xlb_fc_meta(f->vip_id, f->created_ns);

	if (family == XLB_AF_INET) {
		((struct xlb_fc_set4 *)set)->w[i].ref = ref;
		((struct xlb_fc_set4 *)set)->w[i].meta = meta;
	} else {
		((struct xlb_fc_set6 *)set)->w[i].ref = ref;
		((struct xlb_fc_set6 *)set)->w[i].meta = meta;
	}
}

/*
 * Whether the flow k of entry e is in the same set of a CPU before e's:
 * a flow whose packets moved CPUs has a way in both (bpf/lib/flowcache.h),
 * and a walk lists it once.
 */
static int seen_before(const char *base, const struct fc *c, size_t e, int family,
		       const struct xlb_flow_key *k)
{
	size_t set = e & ((1UL << c->bits) - 1), cpu = e >> c->bits, c2;
	struct xlb_flow_key k2;
	struct xlb_flow f2;
	__u32 i;

	/*
	 * Only the XLB_FC_PROBE_CPUS before: a way is copied from at most that
	 * far (the look goes to the CPUs after the one that missed). A flow
	 * copied around the end of the CPU list may be listed twice; the walk
	 * stays linear in the CPUs.
	 */
	for (c2 = cpu > XLB_FC_PROBE_CPUS ? cpu - XLB_FC_PROBE_CPUS : 0; c2 < cpu; c2++)
		for (i = 0; i < c->ways; i++)
			if (way_read(base + ((c2 << c->bits) | set) * c->set_size, family, i, 0,
				     &k2, &f2) &&
			    !memcmp(&k2, k, sizeof(k2)))
				return 1;
	return 0;
}

static int fc_walk(struct xlb_maps *m, int family, xlb_flow_cb cb, void *arg)
{
	struct xlb_flow_key k;
	struct xlb_flow f;
	size_t len, e;
	__u64 now = coarse_now();
	struct fc c;
	char *base;
	__u32 i;
	int err;

	err = fc_get(m, family, &c);
	if (err)
		return err;
	len = (size_t)c.entries * c.set_size;
	base = mmap(NULL, len, PROT_READ, MAP_SHARED, c.fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	for (e = 0, err = 0; !err && e < c.entries; e++)
		for (i = 0; !err && i < c.ways; i++)
			if (way_read(base + e * c.set_size, family, i, now, &k, &f) &&
			    !seen_before(base, &c, e, family, &k))
				err = cb(&k, &f, arg);
	munmap(base, len);
	return err;
}

int xlb_flow_foreach(struct xlb_maps *m, xlb_flow_cb cb, void *arg)
{
	return xlb_map_walk(m->skel->maps.xlb_flows, XLB_WALK_FLOWS,
			    (union xlb_walk_cb){.flow = cb}, arg)
		       ?: fc_walk(m, XLB_AF_INET, cb, arg)
		       ?: fc_walk(m, XLB_AF_INET6, cb, arg);
}

/*
 * Visit every CPU's way of k: fn(set, way, its flow, arg) for each; the
 * number of ways met, or -errno. A set fn changed (fn returns 1) is
 * written back.
 */
static int fc_each_way(struct xlb_maps *m, const struct xlb_flow_key *k,
		       int (*fn)(void *set, int family, __u32 way, const struct xlb_flow *f,
				 void *arg),
		       void *arg)
{
	struct xlb_flow_key wk;
	struct xlb_config cfg;
	struct xlb_flow wf;
	struct xlb_fc_set6 set; /* the larger of the two */
	__u32 h5, idx, i;
	int err, cpu, n = 0;
	__u64 now;
	struct fc c;

	err = xlb_config_get(m, &cfg) ?: fc_get(m, k->family, &c);
	if (err)
		return err;
	h5 = xlb_flow_hash(k, xlb_fc_seed(&cfg), 0);
	now = coarse_now();
	for (cpu = 0; cpu < c.ncpu; cpu++) {
		idx = xlb_fc_index(cpu, c.bits, h5);
		if (bpf_map_lookup_elem(c.fd, &idx, &set))
			return -errno;
		for (i = 0; i < c.ways; i++) {
			if (!way_read(&set, k->family, i, now, &wk, &wf) ||
			    memcmp(&wk, k, sizeof(wk)))
				continue;
			n++;
			if (fn(&set, k->family, i, &wf, arg) &&
			    bpf_map_update_elem(c.fd, &idx, &set, BPF_ANY))
				return -errno;
		}
	}
	return n;
}

struct youngest {
	struct xlb_flow *f;
	int found;
};

static int way_youngest(void *set, int family, __u32 way, const struct xlb_flow *f, void *arg)
{
	struct youngest *y = arg;

	if (!y->found || f->created_ns > y->f->created_ns)
		*y->f = *f;
	y->found = 1;
	return 0;
}

int xlb_flow_lookup(struct xlb_maps *m, const struct xlb_flow_key *k, struct xlb_flow *f)
{
	struct youngest y = {.f = f};
	int n;

	if (!bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_flows), k, f))
		return 0;
	if (errno != ENOENT)
		return -errno;
	n = fc_each_way(m, k, way_youngest, &y);
	return n < 0 ? n : n ? 0 : -ENOENT;
}

static int way_rewrite(void *set, int family, __u32 way, const struct xlb_flow *f, void *arg)
{
	way_write(set, family, way, arg);
	return 1;
}

int xlb_flow_update(struct xlb_maps *m, const struct xlb_flow_key *k, const struct xlb_flow *f)
{
	int n;

	if (!bpf_map_update_elem(map_fd(m->skel->maps.xlb_flows), k, f, BPF_EXIST))
		return 0;
	if (errno != ENOENT)
		return -errno;
	n = fc_each_way(m, k, way_rewrite, (void *)f);
	return n < 0 ? n : n ? 0 : -ENOENT;
}

__u32 xlb_flow_capacity(struct xlb_maps *m)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	__u64 n;
	struct fc c4, c6;

	if (fc_get(m, XLB_AF_INET, &c4) || fc_get(m, XLB_AF_INET6, &c6) ||
	    bpf_obj_get_info_by_fd(map_fd(m->skel->maps.xlb_flows), &info, &len))
		return 0;
	n = (__u64)c4.entries * c4.ways + (__u64)c6.entries * c6.ways + info.max_entries;
	return n > UINT32_MAX ? UINT32_MAX : (__u32)n;
}

int xlb_flow_cache_size(struct xlb_lb *lb, __u64 flows, __u64 flows6, int ncpu)
{
	struct bpf_map *map[2] = {lb->maps.xlb_fc4, lb->maps.xlb_fc6};
	__u32 ways[2] = {XLB_FC4_WAYS, XLB_FC6_WAYS};
	__u32 bits, entries;
	int f, err;

	if (ncpu <= 0)
		return -EINVAL;
	for (f = 0; f < 2; f++) {
		bits = xlb_fc_bits(f ? flows6 : flows, ncpu, ways[f]);
		entries = xlb_pinned_max_entries(map[f], (__u32)ncpu << bits);
		bits = bits_of(entries, ncpu);
		err = bpf_map__set_max_entries(map[f], entries);
		if (err)
			return err;
		if (f == 0)
			lb->rodata->xlb_fc4_bits = bits;
		else
			lb->rodata->xlb_fc6_bits = bits;
	}
	lb->rodata->xlb_fc_ncpu = ncpu;
	return 0;
}
