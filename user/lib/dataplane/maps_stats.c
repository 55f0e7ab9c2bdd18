// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counters, summed over CPUs (the load balancer's reasons and per-VIP and
 * per-backend traffic, the decap program's reasons and hand-offs per peer),
 * the settings entry of xlb_config, and the maps' memory as the kernel
 * accounts it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"
#include "xlb_decap.skel.h"
#include "xlb_lb.skel.h"

/*
 * The n reason counters of a program (xlb_reasons, xlb_decap_stats: a block
 * of XLB_R_SLOTS per CPU, CPU c's reason r at XLB_R_KEY(c, r)), summed.
 */
static int reasons_sum(int fd, __u32 n, struct xlb_reason_count *out)
{
	int ncpu = xlb_reason_cpus();
	struct xlb_reason_count c;
	__u32 cpu, r, k;

	if (ncpu < 0)
		return ncpu;
	memset(out, 0, n * sizeof(*out));
	for (cpu = 0; cpu < (__u32)ncpu; cpu++) {
		for (r = 0; r < n; r++) {
			k = XLB_R_KEY(cpu, r);
			if (bpf_map_lookup_elem(fd, &k, &c))
				return -errno;
			out[r].packets += c.packets;
			out[r].bytes += c.bytes;
		}
	}
	return 0;
}

int xlb_stats_reasons(struct xlb_maps *m, struct xlb_reason_count out[XLB_R_MAX])
{
	return reasons_sum(map_fd(m->skel->maps.xlb_reasons), XLB_R_MAX, out);
}

int xlb_reason_cpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > XLB_CPUS_MAX ? XLB_CPUS_MAX : n;
}

int xlb_decap_stats(struct xlb_decap_maps *m, struct xlb_reason_count out[XLB_D_MAX])
{
	return reasons_sum(map_fd(m->skel->maps.xlb_decap_stats), XLB_D_MAX, out);
}

static int peer_cmp(const void *a, const void *b)
{
	const struct xlb_decap_peer *x = a, *y = b;

	if (x->addr.family != y->addr.family)
		return x->addr.family < y->addr.family ? -1 : 1;
	return memcmp(x->addr.addr, y->addr.addr, sizeof(x->addr.addr));
}

int xlb_decap_peers(struct xlb_decap_maps *m, struct xlb_decap_peer **out, size_t *n)
{
	int fd = map_fd(m->skel->maps.xlb_decap_peers);
	struct xlb_addr_key key, next, *prev = NULL;
	size_t cap = bpf_map__max_entries(m->skel->maps.xlb_decap_peers);
	struct xlb_reason_count c;
	struct xlb_decap_peer *all;
	int err = 0;

	*out = NULL;
	*n = 0;
	all = calloc(cap ?: 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	/* Key by key: the map is small, and the LRU may drop an entry meanwhile. */
	while (*n < cap && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		err = xlb_percpu_sum_at(fd, &key, sizeof(c), (__u64 *)&c, 2);
		if (err == -ENOENT) {
			err = 0;
			continue;
		}
		if (err)
			break;
		all[*n].addr = key;
		all[*n].packets = c.packets;
		all[(*n)++].bytes = c.bytes;
	}
	if (!err && *n < cap && errno != ENOENT)
		err = -errno;
	if (err) {
		free(all);
		*n = 0;
		return err;
	}
	qsort(all, *n, sizeof(*all), peer_cmp);
	*out = all;
	return 0;
}

int xlb_stats_vip(struct xlb_maps *m, __u32 id, struct xlb_traffic *out)
{
	return xlb_percpu_sum(map_fd(m->skel->maps.xlb_vip_stats), id, sizeof(*out), (__u64 *)out,
			      3);
}

int xlb_stats_backend(struct xlb_maps *m, __u32 id, struct xlb_traffic *out)
{
	return xlb_percpu_sum(map_fd(m->skel->maps.xlb_backend_stats), id, sizeof(*out),
			      (__u64 *)out, 3);
}

struct backends_sum {
	struct xlb_traffic *all;
	int ncpu;
};

/* One backend id's per-CPU counters added up. */
static int backend_sum(const void *key, const void *value, void *arg)
{
	const size_t stride = (sizeof(struct xlb_traffic) + 7) & ~(size_t)7;
	const struct backends_sum *s = arg;
	__u32 id = *(const __u32 *)key;
	const struct xlb_traffic *t;
	int cpu;

	if (id >= XLB_MAX_BACKENDS)
		return 0;
	for (cpu = 0; cpu < s->ncpu; cpu++) {
		t = (const void *)((const char *)value + cpu * stride);
		s->all[id].packets += t->packets;
		s->all[id].bytes += t->bytes;
		s->all[id].new_flows += t->new_flows;
	}
	return 0;
}

int xlb_stats_backends(struct xlb_maps *m, struct xlb_traffic *all)
{
	struct backends_sum s = {.all = all, .ncpu = libbpf_num_possible_cpus()};

	if (s.ncpu <= 0)
		return s.ncpu ?: -EINVAL;
	memset(all, 0, XLB_MAX_BACKENDS * sizeof(*all));
	return xlb_map_read_batched(m->skel->maps.xlb_backend_stats, backend_sum, &s);
}

/* --- settings ------------------------------------------------------------- */

int xlb_config_get(struct xlb_maps *m, struct xlb_config *c)
{
	__u32 zero = 0;

	return ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_config), &zero, c));
}

int xlb_config_set(struct xlb_maps *m, const struct xlb_config *c)
{
	__u32 zero = 0;
	int err = xlb_addrs_add_nat(m, c); /* before the fast path meets them */

	return err
		       ?: ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_config), &zero, c,
							BPF_ANY));
}

__u64 xlb_map_memlock(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* What one entry of a map stands for, by the map's name. */
static enum xlb_mem_item mem_item(const char *name)
{
	static const struct {
		const char *name;
		enum xlb_mem_item item;
	} items[] = {
		{"xlb_vips", XLB_MEM_VIP},	     {"xlb_vip_keys", XLB_MEM_VIP},
		{"xlb_vip_stats", XLB_MEM_VIP},	     {"xlb_vip_clients", XLB_MEM_VIP},
		{"xlb_filtered_vips", XLB_MEM_VIP},  {"xlb_chains", XLB_MEM_TABLE},
		{"xlb_slot_blocks", XLB_MEM_TABLE},  {"xlb_backends", XLB_MEM_BACKEND},
		{"xlb_nexthops", XLB_MEM_BACKEND},   {"xlb_backend_stats", XLB_MEM_BACKEND},
		{"xlb_event_rate", XLB_MEM_BACKEND}, {"xlb_nat_health", XLB_MEM_BACKEND},
		{"xlb_members", XLB_MEM_MEMBER},     {"xlb_flows", XLB_MEM_FLOW},
		{"xlb_fc4", XLB_MEM_FLOW},	     {"xlb_fc6", XLB_MEM_FLOW},
		{"xlb_nat_fwd", XLB_MEM_NAT},	     {"xlb_nat_rev", XLB_MEM_NAT},
		{"xlb_syns", XLB_MEM_OTHER},	     {"xlb_addrs", XLB_MEM_VIP},
	};
	size_t i;

	for (i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (!strcmp(items[i].name, name))
			return items[i].item;
	return XLB_MEM_OTHER;
}

int xlb_maps_memory(struct xlb_maps *m, struct xlb_mem_report *r)
{
	struct bpf_map_info info;
	struct xlb_map_mem *mm;
	struct bpf_map *map;
	__u32 len;
	int fd;

	memset(r, 0, sizeof(*r));
	bpf_object__for_each_map (map, m->skel->obj) {
		fd = bpf_map__fd(map);
		/* The program's own data sections (.rodata, .bss) are no map of ours. */
		if (fd < 0 || bpf_map__is_internal(map) || r->n == XLB_MEM_MAPS_MAX)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return -errno;
		mm = &r->maps[r->n++];
		snprintf(mm->name, sizeof(mm->name), "%s", bpf_map__name(map));
		mm->bytes = xlb_map_memlock(fd);
		mm->max_entries = info.max_entries;
		mm->item = mem_item(mm->name);
		r->bytes[mm->item] += mm->bytes;
		r->total += mm->bytes;
	}
	return xlb_table_space(m, &r->slots_used, &r->slots_max);
}
