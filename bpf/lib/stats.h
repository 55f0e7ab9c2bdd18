/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-CPU counters: per reason (a block per CPU in one array), per VIP,
 * per backend (per-CPU arrays). No atomics: each CPU writes its own slot
 * and userspace sums them. Included by xlb_lb.bpf.c.
 */
#ifndef XLB_BPF_STATS_H
#define XLB_BPF_STATS_H

#include "maps.h"

/*
 * Count a packet under reason r and hand back the verdict unchanged. A CPU
 * numbered XLB_CPUS_MAX or above finds no block and counts nothing (attach
 * warns of such a host).
 */
static __always_inline int xlb_count_reason(__u32 r, __u32 bytes, int verdict)
{
	__u32 k = XLB_R_KEY(bpf_get_smp_processor_id(), r);
	struct xlb_reason_count *c = bpf_map_lookup_elem(&xlb_reasons, &k);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return verdict;
}

/* Count one packet of a VIP or backend (map: xlb_vip_stats / _backend_stats). */
static __always_inline void xlb_count_traffic(void *map, __u32 id, __u32 bytes)
{
	struct xlb_traffic *t = bpf_map_lookup_elem(map, &id);

	if (t) {
		t->packets++;
		t->bytes += bytes;
	}
}

/*
 * Count a new flow only: its packet is counted by xlb_count_traffic, so
 * bumping packets here too would count every first packet twice.
 */
static __always_inline void xlb_count_new_flow(void *map, __u32 id)
{
	struct xlb_traffic *t = bpf_map_lookup_elem(map, &id);

	if (t)
		t->new_flows++;
}

#endif /* XLB_BPF_STATS_H */
