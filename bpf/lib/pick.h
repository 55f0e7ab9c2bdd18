/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Choosing a backend: VIP match, flow-table reuse, Maglev pick and the
 * bounded re-probe that steps over DOWN and DRAINING backends. Every LB node
 * given the same tables and seed makes the same choice (include/xlb/hash.h),
 * but for least_conn VIPs, whose choice follows this node's counts
 * (lconn.h). Included by xlb_lb.bpf.c.
 */
#ifndef XLB_BPF_PICK_H
#define XLB_BPF_PICK_H

#include <xlb/hash.h>
#include "flowcache.h"
#include "lconn.h"
#include "maps.h"
#include "parse.h"
#include "passive.h"
#include "stats.h"

/*
 * Whether the packet's destination may be a VIP's or a NAT source's
 * address: 0 only when its bit in xlb_addrs is clear and the filter is on.
 */
static __always_inline int xlb_addr_maybe(const struct xlb_pkt *p)
{
	struct xlb_addrs *a;
	__u32 zero = 0, bit;

	a = bpf_map_lookup_elem(&xlb_addrs, &zero);
	if (!a || !a->on)
		return 1;
	bit = xlb_addr_bit(p->key.daddr);
	return (a->bits[(bit / 64) & (XLB_ADDR_BITS_N / 64 - 1)] >> (bit % 64)) & 1;
}

/*
 * The VIP of an address shared by VIPs for some clients (XLB_VIP_F_CLIENTS
 * on the entry vk found): the one of the client's longest prefix, else
 * the entry itself when it is a VIP of its own (a table), else NULL.
 */
static __always_inline struct xlb_vip *
xlb_vip_client(const struct xlb_pkt *p, const struct xlb_vip_addr *vk, struct xlb_vip *vip)
{
	struct xlb_client_key ck = {
		.prefixlen = XLB_CLIENT_KEY_BITS,
		.port = vk->port,
		.proto = vk->proto,
		.family = vk->family,
	};
	struct xlb_vip_key *rk;

	__builtin_memcpy(ck.addr, vk->addr, sizeof(ck.addr));
	__builtin_memcpy(ck.client, p->key.saddr, sizeof(ck.client));
	rk = bpf_map_lookup_elem(&xlb_vip_clients, &ck);
	if (rk)
		return bpf_map_lookup_elem(&xlb_filtered_vips, rk);
	return vip->id == XLB_VIP_NO_ID ? NULL : vip;
}

/*
 * VIP for (daddr, dport, proto), else the port-less VIP (port 0). An
 * address whose VIPs are for some clients only costs one lookup more,
 * and only then (*clients set: a NULL is then the client's, not the
 * address's).
 */
static __always_inline struct xlb_vip *xlb_vip_match(const struct xlb_pkt *p, int *clients)
{
	struct xlb_vip_addr vk = {
		.port = p->key.dport,
		.proto = p->key.proto,
		.family = p->key.family,
	};
	struct xlb_vip *vip;

	__builtin_memcpy(vk.addr, p->key.daddr, sizeof(vk.addr));
	vip = bpf_map_lookup_elem(&xlb_vips, &vk);
	if (!vip) {
		vk.port = 0;
		vip = bpf_map_lookup_elem(&xlb_vips, &vk);
		if (!vip)
			return NULL;
	}
	if (!(vip->flags & XLB_VIP_F_CLIENTS))
		return vip;
	*clients = 1;
	return xlb_vip_client(p, &vk, vip);
}

static __always_inline struct xlb_backend *xlb_backend_get(__u32 id)
{
	return bpf_map_lookup_elem(&xlb_backends, &id);
}

/*
 * Maglev pick for a flow without a usable entry: the slot of the flow hash,
 * then up to XLB_REPROBE_MAX further slots, each from its own hash, while the
 * backend found is not ACTIVE (nor DRAINING, with draining_ok). Marking a
 * backend DOWN is thus one map write, and the next packet already avoids
 * it; the rebuilt table follows.
 */
static __always_inline int xlb_maglev_pick(const struct xlb_vip *vip, __u32 hash, __u32 seed,
					   __u32 *id_out, struct xlb_backend **be_out,
					   __u32 frame_len, int draining_ok)
{
	struct xlb_slot *sl;
	struct xlb_backend *be;
	__u32 slot, idx, id;
	int i;

	if (!vip->table_size)
		return xlb_count_reason(XLB_R_DROP_NO_TABLE, frame_len, XDP_DROP);
	slot = hash % vip->table_size;

	for (i = 0; i <= XLB_REPROBE_MAX; i++) {
		idx = vip->table_off + slot;
		sl = bpf_map_lookup_elem(&xlb_chains, &idx);
		if (!sl)
			return xlb_count_reason(XLB_R_DROP_NO_TABLE, frame_len, XDP_DROP);
		id = xlb_slot_id(sl->chain, 0);
		if (id == XLB_SLOT_NONE)
			break; /* empty table: no backend at all */
		be = xlb_backend_get(id);
		if (be &&
		    (be->state == XLB_BE_ACTIVE || (draining_ok && be->state == XLB_BE_DRAINING))) {
			if (i)
				xlb_count_reason(XLB_R_REPROBE, frame_len, 0);
			*id_out = id;
			*be_out = be;
			return XLB_CONTINUE;
		}
		slot = xlb_reprobe_slot(hash, i + 1, seed, vip->table_size);
	}
	return xlb_count_reason(XLB_R_DROP_NO_BACKEND, frame_len, XDP_DROP);
}

/*
 * The chain of the flow's own slot (hash's, before any re-probe): the
 * backends its connection may live on (docs/SECOND_CHANCE.md); 0 if none.
 */
static __always_inline __u64 xlb_slot_chain(const struct xlb_vip *vip, __u32 hash)
{
	struct xlb_slot *sl;
	__u32 idx;

	if (!vip->table_size)
		return 0;
	idx = vip->table_off + hash % vip->table_size;
	sl = bpf_map_lookup_elem(&xlb_chains, &idx);
	return sl ? sl->chain : 0;
}

/*
 * A VIP without flow entries (docs/SECOND_CHANCE.md, "Stateless mode"):
 * every packet is picked from the table, and a connection whose slot
 * changed owner lives on one of the hops GUE carries, not in a flow entry,
 * so SYNs and established packets cost alike and LB nodes share nothing
 * per flow. A DRAINING primary still takes its slot's packets, SYNs
 * included (the moment between a drain's state write and the table
 * rebuild, after which it is the slot's first earlier owner). Only a TCP
 * SYN or bare RST touches xlb_syns: a young entry of the same backend makes
 * a retry or a RST a passive-health event, as a flow entry does.
 */
static __always_inline int xlb_pick_stateless(const struct xlb_pkt *p, const struct xlb_vip *vip,
					      const struct xlb_config *cfg, __u32 hash,
					      __u32 *id_out, struct xlb_backend **be_out)
{
	__u8 f = p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_RST | XLB_TCP_ACK);
	struct xlb_syn *syn;
	__u32 h5, slot, tag;
	__u64 now;
	int ret;

	ret = xlb_maglev_pick(vip, hash, cfg->hash_seed, id_out, be_out, p->frame_len, 1);
	if (ret >= 0 || p->key.proto != IPPROTO_TCP || p->icmp_err ||
	    (f != XLB_TCP_SYN && f != XLB_TCP_RST))
		return ret;
	if (!cfg->syn_bits)
		goto counted;
	/* The 5-tuple's own hash (a VIP may hash on the client alone). */
	h5 = vip->flags & XLB_VIP_F_HASH_SRC ? xlb_flow_hash(&p->key, cfg->hash_seed, 0) : hash;
	slot = h5 & ((1U << (cfg->syn_bits & 31)) - 1);
	tag = xlb_jhash_3words(h5, (__u32)p->key.sport << 16 | p->key.dport, vip->id,
			       cfg->hash_seed) |
	      1;
	syn = bpf_map_lookup_elem(&xlb_syns, &slot);
	if (!syn)
		goto counted;
	now = bpf_ktime_get_coarse_ns();
	if (syn->tag == tag && syn->f.backend_id == *id_out && syn->f.vip_id == vip->id &&
	    now - syn->f.created_ns < XLB_PASSIVE_YOUNG_NS) {
		xlb_passive_check(p, &syn->f);
		return XLB_CONTINUE;
	}
	if (f != XLB_TCP_SYN)
		return XLB_CONTINUE;
	syn->tag = tag;
	syn->f.backend_id = *id_out;
	syn->f.be_gen = (*be_out)->gen;
	syn->f.vip_id = vip->id;
	syn->f.created_ns = now;
counted:
	if (f != XLB_TCP_SYN)
		return XLB_CONTINUE;
	xlb_count_new_flow(&xlb_backend_stats, *id_out);
	xlb_count_new_flow(&xlb_vip_stats, vip->id);
	return XLB_CONTINUE;
}

/*
 * Whether a flow's backend be, still the one the flow was given, keeps
 * this packet: while ACTIVE, or DRAINING for all but a TCP SYN (no ACK),
 * which opens a connection, so even on a known 5-tuple (a client's retry,
 * a reused port) it is a new flow and goes elsewhere.
 */
static __always_inline int xlb_flow_keeps(const struct xlb_pkt *p, const struct xlb_backend *be)
{
	return be->state == XLB_BE_ACTIVE ||
	       (be->state == XLB_BE_DRAINING &&
		(p->key.proto != IPPROTO_TCP ||
		 (p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) != XLB_TCP_SYN));
}

/* Forward, and remember the flow (xlb_pick_new). */
#define XLB_PICK_STORE (-2)

/*
 * A new or re-picked flow's backend, from the table (and least_conn's
 * counts): a verdict, XLB_CONTINUE to forward without remembering the
 * flow (a TCP RST, an ICMP error), or XLB_PICK_STORE.
 */
static __always_inline int xlb_pick_new(const struct xlb_pkt *p, const struct xlb_vip *vip,
					const struct xlb_config *cfg, __u32 hash, __u32 *id_out,
					struct xlb_backend **be_out)
{
	int ret;

	ret = xlb_maglev_pick(vip, hash, cfg->hash_seed, id_out, be_out, p->frame_len, 0);
	if (ret >= 0)
		return ret;
	if (vip->flags & XLB_VIP_F_LEAST_CONN)
		xlb_lc_choose(vip, hash, cfg->hash_seed, id_out, be_out);
	if (p->icmp_err || (p->tcp_flags & XLB_TCP_RST && p->key.proto == IPPROTO_TCP))
		return XLB_CONTINUE;
	xlb_count_new_flow(&xlb_backend_stats, *id_out);
	xlb_count_new_flow(&xlb_vip_stats, vip->id);
	return XLB_PICK_STORE;
}

/*
 * The hash of p's set in the flow cache: the whole 5-tuple's, by the
 * cache's own seed, as a VIP may hash on the client alone and the hash
 * seed may have changed since the cache was made (xlb_fc_seed); else the
 * flow hash, hash, serves.
 */
static __always_inline __u32 xlb_fc_hash(const struct xlb_pkt *p, const struct xlb_vip *vip,
					 const struct xlb_config *cfg, __u32 hash)
{
	__u32 seed = xlb_fc_seed(cfg);

	if (vip->flags & XLB_VIP_F_HASH_SRC || seed != cfg->hash_seed)
		return xlb_flow_hash(&p->key, seed, 0);
	return hash;
}

/*
 * A flow cache hit (way ref, meta): XLB_CONTINUE with its backend if that
 * keeps the packet, else 0 (re-pick). A SYN retry or bare RST of a young
 * flow is a passive-health event (passive.h), which needs the flow whole.
 */
static __always_inline int xlb_fc_use(const struct xlb_pkt *p, const struct xlb_vip *vip, __u32 ref,
				      __u32 meta, __u32 *id_out, struct xlb_backend **be_out)
{
	struct xlb_flow f = {};
	struct xlb_backend *be;
	__u64 now;

	be = xlb_backend_get(xlb_fc_ref_id(ref));
	if (!be || xlb_fc_gen(be->gen) != xlb_fc_ref_gen(ref) || !xlb_flow_keeps(p, be) ||
	    xlb_fc_meta_vip(meta) != vip->id) {
		xlb_count_reason(XLB_R_FLOW_REPICK, p->frame_len, 0);
		return 0;
	}
	if (p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_RST)) {
		now = bpf_ktime_get_coarse_ns();
		f.backend_id = xlb_fc_ref_id(ref);
		f.vip_id = vip->id;
		f.created_ns = now - xlb_fc_age_ns(meta, now);
		xlb_passive_check(p, &f);
	}
	*id_out = xlb_fc_ref_id(ref);
	*be_out = be;
	return XLB_CONTINUE;
}

/*
 * The backend of a stateful VIP's packet but a least_conn one's, through
 * the flow cache (flowcache.h): the flow's backend while that one keeps
 * it (xlb_flow_keeps) and is still the backend the flow was given (the
 * id's generation is the way's: include/xlb/abi.h), else a Maglev pick,
 * remembered in the flow's way or the way the set gives up; a TCP flow
 * that missed here may be another CPU's (xlb_fc_probe) or, begun while
 * its VIP was a least_conn one, least_conn's table's: this CPU's set
 * then takes its way before the same checks. A flow whose
 * backend id was freed, or freed and given to another address, is thus
 * re-picked like one whose backend went DOWN. Each family in a branch of
 * its own: the verifier keeps a set's pointer with its map's size.
 */
static __always_inline int xlb_pick_cached(const struct xlb_pkt *p, const struct xlb_vip *vip,
					   const struct xlb_config *cfg, __u32 hash, __u32 h5,
					   __u32 *id_out, struct xlb_backend **be_out)
{
	struct xlb_fc_set4 *s4;
	struct xlb_fc_set6 *s6;
	__u32 ref, meta;
	__u64 now;
	int ret, i;

	if (p->key.family == XLB_AF_INET) {
		s4 = xlb_fc4_set(h5);
		if (!s4) {
			ret = xlb_pick_new(p, vip, cfg, hash, id_out, be_out);
			return ret == XLB_PICK_STORE ? XLB_CONTINUE : ret;
		}
		i = xlb_fc4_find(s4, &p->key, 1);
		if (i < 0 && xlb_fc_handover(p) &&
		    (xlb_fc_probe(p, h5, xlb_fc4_probe_one, &ref, &meta) ||
		     xlb_fc_from_table(p, &ref, &meta)))
			i = xlb_fc4_store(s4, -1, &p->key, ref, meta, bpf_ktime_get_coarse_ns());
		if (i >= 0 &&
		    xlb_fc_use(p, vip, s4->w[i & 3].ref, s4->w[i & 3].meta, id_out, be_out))
			return XLB_CONTINUE;
		ret = xlb_pick_new(p, vip, cfg, hash, id_out, be_out);
		if (ret != XLB_PICK_STORE)
			return ret;
		now = bpf_ktime_get_coarse_ns();
		xlb_fc4_store(s4, i, &p->key, xlb_fc_ref(*id_out, xlb_fc_gen((*be_out)->gen)),
			      xlb_fc_meta(vip->id, now), now);
		return XLB_CONTINUE;
	}
	s6 = xlb_fc6_set(h5);
	if (!s6) {
		ret = xlb_pick_new(p, vip, cfg, hash, id_out, be_out);
		return ret == XLB_PICK_STORE ? XLB_CONTINUE : ret;
	}
	i = xlb_fc6_find(s6, &p->key, 1);
	if (i < 0 && xlb_fc_handover(p) &&
	    (xlb_fc_probe(p, h5, xlb_fc6_probe_one, &ref, &meta) ||
	     xlb_fc_from_table(p, &ref, &meta)))
		i = xlb_fc6_store(s6, -1, &p->key, ref, meta, bpf_ktime_get_coarse_ns());
	if (i >= 0 && xlb_fc_use(p, vip, s6->w[i & 3].ref, s6->w[i & 3].meta, id_out, be_out))
		return XLB_CONTINUE;
	ret = xlb_pick_new(p, vip, cfg, hash, id_out, be_out);
	if (ret != XLB_PICK_STORE)
		return ret;
	now = bpf_ktime_get_coarse_ns();
	xlb_fc6_store(s6, i, &p->key, xlb_fc_ref(*id_out, xlb_fc_gen((*be_out)->gen)),
		      xlb_fc_meta(vip->id, now), now);
	return XLB_CONTINUE;
}

/*
 * The backend of a least_conn VIP's packet: as xlb_pick_cached, through
 * xlb_flows, whose entries carry the flow's count word (lconn.h). New
 * flows are remembered with their backend's generation, except for TCP
 * RSTs and ICMP errors; an existing entry is written only when re-picked.
 * A TCP flow the table misses may be in the flow cache, begun while the
 * VIP was of another kind (xlb_fc_read).
 */
static __always_inline int xlb_pick_counted(const struct xlb_pkt *p, const struct xlb_vip *vip,
					    const struct xlb_config *cfg, __u32 hash, __u32 *id_out,
					    struct xlb_backend **be_out)
{
	struct xlb_flow *flow;
	struct xlb_flow nf = {};
	struct xlb_backend *be;
	__u32 ref, meta;
	__u64 now;
	int ret;

	flow = bpf_map_lookup_elem(&xlb_flows, &p->key);
	if (!flow && xlb_fc_handover(p) &&
	    xlb_fc_read(p, xlb_fc_hash(p, vip, cfg, hash), &ref, &meta)) {
		/*
		 * Begun while the VIP was of another kind: the flow keeps its
		 * backend on the same terms, uncounted, as it was then.
		 */
		be = xlb_backend_get(xlb_fc_ref_id(ref));
		if (be && xlb_fc_gen(be->gen) == xlb_fc_ref_gen(ref) && xlb_flow_keeps(p, be) &&
		    xlb_fc_meta_vip(meta) == vip->id) {
			now = bpf_ktime_get_coarse_ns();
			nf.backend_id = xlb_fc_ref_id(ref);
			nf.be_gen = be->gen;
			nf.vip_id = vip->id;
			nf.created_ns = now - xlb_fc_age_ns(meta, now);
			bpf_map_update_elem(&xlb_flows, &p->key, &nf, BPF_NOEXIST);
			*id_out = nf.backend_id;
			*be_out = be;
			return XLB_CONTINUE;
		}
	}
	if (flow) {
		be = xlb_backend_get(flow->backend_id);
		if (be && be->gen == flow->be_gen && xlb_flow_keeps(p, be) &&
		    flow->vip_id == vip->id) {
			xlb_passive_check(p, flow);
			xlb_lc_seen(p, vip, flow);
			*id_out = flow->backend_id;
			*be_out = be;
			return XLB_CONTINUE;
		}
		xlb_count_reason(XLB_R_FLOW_REPICK, p->frame_len, 0);
	}
	ret = xlb_pick_new(p, vip, cfg, hash, id_out, be_out);
	if (ret != XLB_PICK_STORE)
		return ret;
	nf.backend_id = *id_out;
	nf.be_gen = (*be_out)->gen;
	nf.vip_id = vip->id;
	nf.created_ns = bpf_ktime_get_coarse_ns();
	/* A re-picked flow's old backend loses it before the entry changes. */
	if (flow)
		xlb_lc_release(flow);
	nf.lc.seen_s = nf.created_ns / 1000000000ULL;
	nf.lc.flags = XLB_FLOW_F_COUNTED;
	if (!bpf_map_update_elem(&xlb_flows, &p->key, &nf, BPF_ANY))
		xlb_lc_open(*id_out); /* after the entry: see lconn.h */
	return XLB_CONTINUE;
}

/*
 * The backend for this packet: by the table alone for a stateless VIP,
 * through the flow cache or, for least_conn, the flow table otherwise. A
 * client's SYN retry or bare RST on a usable flow is a passive-health
 * event (passive.h); on a re-picked flow it is not: that backend is
 * already out.
 */
static __always_inline int xlb_pick(const struct xlb_pkt *p, const struct xlb_vip *vip,
				    const struct xlb_config *cfg, __u32 *id_out,
				    struct xlb_backend **be_out, __u32 *hash_out)
{
	__u32 hash;

	hash = xlb_flow_hash(&p->key, cfg->hash_seed, vip->flags & XLB_VIP_F_HASH_SRC);
	*hash_out = hash;
	if (vip->flags & XLB_VIP_F_STATELESS)
		return xlb_pick_stateless(p, vip, cfg, hash, id_out, be_out);
	if (vip->flags & XLB_VIP_F_LEAST_CONN)
		return xlb_pick_counted(p, vip, cfg, hash, id_out, be_out);
	return xlb_pick_cached(p, vip, cfg, hash, xlb_fc_hash(p, vip, cfg, hash), id_out, be_out);
}

#endif /* XLB_BPF_PICK_H */
