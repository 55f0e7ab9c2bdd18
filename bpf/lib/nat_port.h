/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NAT source-port allocation, without a loop over anything large:
 * XLB_NAT_PORT_TRIES candidates in [nat_port_min, nat_port_max] (double
 * hashing: hashed start and stride). A connection whose forward entry is
 * gone while a candidate's reverse entry still names it gets that port
 * back. Else a free candidate is claimed by inserting its reverse entry
 * with BPF_NOEXIST, a dead one by a compare and swap of its last-seen
 * time, then taking over its entry: either way two CPUs never get one
 * port. Ports are per (node, node port, protocol) because the node is part
 * of the reverse key. All candidates live: XLB_R_DROP_NAT_PORTS.
 * Included by nat.h.
 */
#ifndef XLB_BPF_NAT_PORT_H
#define XLB_BPF_NAT_PORT_H

#include <xlb/hash.h>
#include <xlb/nat.h>
#include "maps.h"
#include "nat_state.h"
#include "parse.h"
#include "stats.h"

/*
 * Take over the dead reverse entry old, last seen at seen: a compare and
 * swap of its seen time, so that of two CPUs taking the same dead port at
 * once only one wins (the loser then finds it live). 64-bit atomics on
 * map values need kernel 5.12.
 */
static __always_inline int xlb_nat_take(struct xlb_nat_rev *old, __u64 seen, __u64 now)
{
	return __sync_val_compare_and_swap(&old->seen_ns, seen, now) == seen;
}

/*
 * Claim a source port towards be for the packet's connection: insert the
 * reverse entry, then the forward one into *f.
 */
static __always_inline int xlb_nat_alloc(struct xdp_md *ctx, const struct xlb_pkt *p,
					 const struct xlb_vip *vip, const struct xlb_backend *be,
					 __u32 id, const struct xlb_config *cfg, __u32 hash,
					 __u64 now, struct xlb_nat_fwd *f)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 lo = cfg->nat_port_min ?: XLB_NAT_PORT_MIN;
	__u32 hi = cfg->nat_port_max ?: XLB_NAT_PORT_MAX;
	int syn = (p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN;
	struct ethhdr *eth = data;
	struct xlb_nat_rkey rk = {};
	struct xlb_nat_rev rv = {};
	struct xlb_nat_rev *old;
	__u32 range, start, step, h, i, first;
	__u64 seen;

	if ((void *)(eth + 1) > data_end)
		return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
	if (hi < lo)
		hi = lo;
	range = hi - lo + 1;

	f->node_port = be->port ?: p->key.dport;
	__builtin_memcpy(f->node, be->addr, sizeof(f->node));
	f->backend_id = id;
	f->vip_id = vip->id;
	/* Not opened by a SYN: unconfirmed until the node answers. */
	f->state = p->key.proto == IPPROTO_UDP ? XLB_NAT_S_UDP
		   : syn		       ? XLB_NAT_S_SYN_SENT
					       : XLB_NAT_S_UNCONFIRMED;
	f->created_ns = bpf_ktime_get_ns();
	f->seen_ns = now;

	rv.client = p->key;
	rv.backend_id = id;
	rv.state = f->state;
	rv.created_ns = f->created_ns;
	rv.seen_ns = now;
	rv.ifindex = ctx->ingress_ifindex;
	__builtin_memcpy(rv.smac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(rv.dmac, eth->h_source, ETH_ALEN);

	__builtin_memcpy(rk.node, be->addr, sizeof(rk.node));
	rk.node_port = f->node_port;
	rk.proto = p->key.proto;
	rk.family = p->key.family;

	/*
	 * Double hashing: a hashed start and a hashed odd stride, so that
	 * live ports do not pile up in runs that every later connection
	 * must walk (consecutive candidates would). A range of one or two
	 * ports is walked whole (stride 1).
	 */
	h = xlb_jhash_3words(hash, 0x6e6174, 0, cfg->hash_seed);
	start = h % range;
	step = range > 2 ? (1 + (h >> 16) % (range - 1)) | 1 : 1;
	if (step >= range)
		step = 1;
	/*
	 * First every candidate for this connection's own reverse entry: its
	 * forward entry may be gone (LRU eviction, a re-pick away and back)
	 * while the node still knows it by that port; another port would be
	 * another connection to the node. Kept: the entry's state and age,
	 * unless a SYN opens a new connection on the tuple. Note on the way
	 * the first candidate that is free or dead.
	 */
	first = XLB_NAT_PORT_TRIES;
	for (i = 0; i < XLB_NAT_PORT_TRIES; i++) {
		rk.nat_port = bpf_htons(lo + (start + i * step) % range);
		old = bpf_map_lookup_elem(&xlb_nat_rev, &rk);
		if (!old) {
			if (first == XLB_NAT_PORT_TRIES)
				first = i;
			continue;
		}
		seen = old->seen_ns;
		if (xlb_key_eq(&old->client, &p->key)) {
			if (xlb_nat_dead(cfg, old->state, seen, now)) {
				if (!xlb_nat_take(old, seen, now))
					continue;
			} else if (!syn && p->key.proto == IPPROTO_TCP) {
				f->state = rv.state = old->state;
				f->created_ns = rv.created_ns = old->created_ns;
			}
			if (!bpf_map_update_elem(&xlb_nat_rev, &rk, &rv, BPF_EXIST))
				goto claimed;
			continue;
		}
		if (first == XLB_NAT_PORT_TRIES && xlb_nat_dead(cfg, old->state, seen, now))
			first = i;
	}
	/*
	 * Then claim the first free or dead one. Look before inserting: an
	 * LRU hash takes a free node (evicting one when none is left) before
	 * it finds the key exists, so a failed BPF_NOEXIST insert would cost
	 * an eviction. The insert still uses BPF_NOEXIST: another CPU may
	 * claim the port between the two.
	 */
	for (i = first; i < XLB_NAT_PORT_TRIES; i++) {
		rk.nat_port = bpf_htons(lo + (start + i * step) % range);
		old = bpf_map_lookup_elem(&xlb_nat_rev, &rk);
		if (!old) {
			if (!bpf_map_update_elem(&xlb_nat_rev, &rk, &rv, BPF_NOEXIST))
				goto claimed;
			continue;
		}
		seen = old->seen_ns;
		if (xlb_nat_dead(cfg, old->state, seen, now) && xlb_nat_take(old, seen, now) &&
		    !bpf_map_update_elem(&xlb_nat_rev, &rk, &rv, BPF_EXIST))
			goto claimed;
	}
	return xlb_count_reason(XLB_R_DROP_NAT_PORTS, p->frame_len, XDP_DROP);
claimed:
	f->nat_port = rk.nat_port;
	bpf_map_update_elem(&xlb_nat_fwd, &p->key, f, BPF_ANY);
	xlb_count_new_flow(&xlb_backend_stats, id);
	xlb_count_new_flow(&xlb_vip_stats, vip->id);
	return XLB_CONTINUE;
}

#endif /* XLB_BPF_NAT_PORT_H */
