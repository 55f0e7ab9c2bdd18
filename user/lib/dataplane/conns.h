/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Least connections from userspace: each backend's active flows as the
 * fast path counts them (struct xlb_backend_conns, bpf/lib/lconn.h), and
 * xlbd's sweep that forgets idle counted flows and takes the flows the
 * LRU evicted off the counts.
 */
#ifndef XLB_CONNS_H
#define XLB_CONNS_H

#include <xlb/abi.h>

struct xlb_maps;

/* Active flows of backend id (0 for a count below 0: see abi.h). */
int xlb_conns_get(struct xlb_maps *m, __u32 id, __u64 *active);

/* Every backend id's active flows into all[XLB_MAX_BACKENDS]. */
int xlb_conns_all(struct xlb_maps *m, __u64 *all);

struct xlb_lc_sweep {
	__u64 flows;	/* flow entries walked */
	__u64 counted;	/* counted flows kept */
	__u64 idle;	/* counted flows deleted: idle past XLB_LC_IDLE_*_S, or stale */
	__u64 released; /* taken off the counts: the idle ones, evicted ones */
};

/*
 * One sweep at now_ns (CLOCK_MONOTONIC_COARSE, the fast path's clock):
 * walk least_conn VIPs' flow table (xlb_flows; their flows are in no
 * other), delete counted flows idle too long or left by an earlier user
 * of their backend id (another generation), then lower each backend's
 * count by what the walk proves is no flow any more.
 * Cost: one batched read of the table (its default 262,144 flows: 256
 * reads of 1,024 entries) and one pass over the counts (bench_flows).
 */
int xlb_lc_sweep(struct xlb_maps *m, __u64 now_ns, struct xlb_lc_sweep *out);

#endif /* XLB_CONNS_H */
