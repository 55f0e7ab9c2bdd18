/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Weighted least connections for VIPs flagged XLB_VIP_F_LEAST_CONN (an
 * upstream's type: least_conn), IPVS's wlc made cheap and bounded:
 *
 * - Choice: the better of two weighted candidates. The first is the
 *   Maglev pick (pick.h); the second the first of XLB_LC_PROBES further
 *   slots, each from its own hash (xlb_lc_slot()), that holds another
 *   ACTIVE backend. Slots are shared out by weight, so both are drawn in
 *   proportion to it; the one with fewer active flows per weight wins
 *   (a * w_b against b * w_a), ties to the first. Weights come from
 *   xlb_members: two hash lookups, for new flows of such VIPs only.
 * - Count: struct xlb_backend_conns per backend id, one entry shared by
 *   the CPUs and changed by atomic adds (no per-CPU copies: the choice
 *   reads the total). A flow entry created for such a VIP is flagged
 *   XLB_FLOW_F_COUNTED and adds one; its first FIN or RST from the client
 *   takes the one back and clears the flag (a compare and swap: once,
 *   whichever CPUs see it), so later packets of the closing connection
 *   take nothing more. A SYN on an entry no longer counted (a new
 *   connection on the 5-tuple of a closed one) counts it again. A re-pick
 *   takes the one back from the old backend. Atomics on map values need
 *   Linux 5.12, as NAT's port allocator does.
 * - Idle flows and evictions: the LRU evicts silently, and UDP has no
 *   FIN. A counted flow's last-seen second (seen_s) is written at most
 *   once a second; xlbd's sweep (user/lib/dataplane/conns.c) deletes
 *   counted flows idle past XLB_LC_IDLE_*_S and corrects the counts from
 *   what it finds in the table.
 *
 * Order matters for the sweep: an entry is flagged before its add and
 * unflagged after its subtraction, so a count the sweep reads is never
 * below the flagged entries it saw (see conns.c). Two CPUs ending one
 * flow at once (its packets on two receive queues) may both subtract for
 * a moment: readers take a count below 0 as 0.
 * Included by pick.h.
 */
#ifndef XLB_BPF_LCONN_H
#define XLB_BPF_LCONN_H

#include <xlb/hash.h>
#include "maps.h"
#include "parse.h"

/* Active flows above this compare as this: products stay in 64 bits. */
#define XLB_LC_ACTIVE_CAP 0xffffffffULL

static __always_inline void xlb_lc_active_add(__u32 id, __s64 n)
{
	struct xlb_backend_conns *c = bpf_map_lookup_elem(&xlb_backend_conns, &id);

	/* Result unused: a plain atomic add (BPF_XADD). */
	if (c)
		__sync_fetch_and_add(&c->active, n);
}

/*
 * One more active flow on id, its entry flagged already. opened first:
 * the sweep counts on that order (user/lib/dataplane/conns.c).
 */
static __always_inline void xlb_lc_open(__u32 id)
{
	struct xlb_backend_conns *c = bpf_map_lookup_elem(&xlb_backend_conns, &id);

	if (!c)
		return; /* id beyond the array: not a backend */
	__sync_fetch_and_add(&c->opened, 1);
	__sync_fetch_and_add(&c->active, 1);
}

/* Swap a flow's least_conn word from o to n: whether this CPU did it. */
static __always_inline int xlb_lc_swap(struct xlb_flow *flow, union xlb_flow_lc o,
				       union xlb_flow_lc n)
{
	return __sync_val_compare_and_swap(&flow->lc.word, o.word, n.word) == o.word;
}

/*
 * A counted flow ends (FIN, RST) or leaves its backend (re-pick): one
 * subtraction, then the flag cleared by compare and swap. A swap lost to
 * another CPU's last-seen write is tried again (those come once a second:
 * XLB_LC_SWAPS tries are plenty); one lost to another CPU that cleared
 * the flag first (both ended the flow at once), or out of tries, adds the
 * one back, so the count is taken once; it may dip meanwhile, never stay.
 * Subtracting before unflagging keeps the sweep's reading safe.
 */
#define XLB_LC_SWAPS 3
static __always_inline void xlb_lc_release(struct xlb_flow *flow)
{
	union xlb_flow_lc o, n;
	int i;

	if (!(flow->lc.flags & XLB_FLOW_F_COUNTED))
		return;
	xlb_lc_active_add(flow->backend_id, -1);
	for (i = 0; i < XLB_LC_SWAPS; i++) {
		o.word = flow->lc.word;
		if (!(o.flags & XLB_FLOW_F_COUNTED))
			break;
		n = o;
		n.flags &= ~XLB_FLOW_F_COUNTED;
		if (xlb_lc_swap(flow, o, n))
			return;
	}
	xlb_lc_active_add(flow->backend_id, 1);
}

static __always_inline __u64 xlb_lc_active(__u32 id)
{
	struct xlb_backend_conns *c = bpf_map_lookup_elem(&xlb_backend_conns, &id);
	__s64 n = c ? c->active : 0;

	if (n <= 0)
		return 0;
	return (__u64)n > XLB_LC_ACTIVE_CAP ? XLB_LC_ACTIVE_CAP : (__u64)n;
}

/* Weight of backend id in VIP vip_id (at most XLB_WEIGHT_MAX); 1 if unknown. */
static __always_inline __u64 xlb_lc_weight(__u32 vip_id, __u32 id)
{
	struct xlb_member_key k = {.vip_id = vip_id, .backend_id = id};
	struct xlb_member *m = bpf_map_lookup_elem(&xlb_members, &k);

	return m && m->weight ? m->weight : 1;
}

/*
 * The second candidate: backend id of the first probe slot holding an
 * ACTIVE backend other than first, else XLB_NO_BACKEND.
 */
static __always_inline __u32 xlb_lc_second(const struct xlb_vip *vip, __u32 hash, __u32 seed,
					   __u32 first, struct xlb_backend **be)
{
	struct xlb_slot *sl;
	__u32 i, idx, id;

	for (i = 0; i < XLB_LC_PROBES; i++) {
		/* As xlb_maglev_pick() reads a slot: its chain's primary. */
		idx = vip->table_off + xlb_lc_slot(hash, i, seed, vip->table_size);
		sl = bpf_map_lookup_elem(&xlb_chains, &idx);
		if (!sl)
			return XLB_NO_BACKEND;
		id = xlb_slot_id(sl->chain, 0);
		if (id == first || id == XLB_SLOT_NONE)
			continue;
		*be = bpf_map_lookup_elem(&xlb_backends, &id);
		if (*be && (*be)->state == XLB_BE_ACTIVE)
			return id;
	}
	return XLB_NO_BACKEND;
}

/*
 * A least_conn VIP's new flow: *id / *be (the Maglev pick, ACTIVE) become
 * the second candidate when that one has fewer active flows per weight.
 */
static __always_inline void xlb_lc_choose(const struct xlb_vip *vip, __u32 hash, __u32 seed,
					  __u32 *id, struct xlb_backend **be)
{
	struct xlb_backend *be2 = NULL;
	__u32 id2;

	id2 = xlb_lc_second(vip, hash, seed, *id, &be2);
	if (id2 == XLB_NO_BACKEND || !be2)
		return;
	/* a / w_a > b / w_b, without division: counts < 2^32, weights < 2^16. */
	if (xlb_lc_active(*id) * xlb_lc_weight(vip->id, id2) <=
	    xlb_lc_active(id2) * xlb_lc_weight(vip->id, *id))
		return;
	*id = id2;
	*be = be2;
}

/* Whether a packet ends its TCP connection, as far as counting goes. */
static __always_inline int xlb_lc_ends(const struct xlb_pkt *p)
{
	return p->key.proto == IPPROTO_TCP && (p->tcp_flags & (XLB_TCP_FIN | XLB_TCP_RST));
}

/*
 * A packet of an existing flow that keeps its backend: a counted flow's
 * FIN or RST takes its count back (once: the flag goes with it), any
 * other packet marks it seen; a client's SYN on an uncounted flow of a
 * least_conn VIP opens a new connection there and counts it (the swap
 * again: one CPU counts it).
 */
static __always_inline void xlb_lc_seen(const struct xlb_pkt *p, const struct xlb_vip *vip,
					struct xlb_flow *flow)
{
	union xlb_flow_lc o = {.word = flow->lc.word}, n = o;

	if (o.flags & XLB_FLOW_F_COUNTED) {
		if (xlb_lc_ends(p)) {
			xlb_lc_release(flow);
			return;
		}
		n.seen_s = bpf_ktime_get_coarse_ns() / 1000000000ULL;
		/* Once a second at most: the line stays shared. A lost swap is no loss. */
		if (n.seen_s != o.seen_s)
			xlb_lc_swap(flow, o, n);
		return;
	}
	/* Flows of other VIPs stop here, without reading the clock. */
	if (!(vip->flags & XLB_VIP_F_LEAST_CONN) || p->key.proto != IPPROTO_TCP ||
	    (p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK | XLB_TCP_RST | XLB_TCP_FIN)) != XLB_TCP_SYN)
		return;
	n.seen_s = bpf_ktime_get_coarse_ns() / 1000000000ULL;
	n.flags |= XLB_FLOW_F_COUNTED;
	if (xlb_lc_swap(flow, o, n))
		xlb_lc_open(flow->backend_id);
}

#endif /* XLB_BPF_LCONN_H */
