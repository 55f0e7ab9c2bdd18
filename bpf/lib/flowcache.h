/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The flow cache's ways (xlb_fc4, xlb_fc6 in maps.h): finding a flow in
 * its set on this CPU, and choosing the way a new flow takes. Each CPU has
 * its own block of sets, so no two programs write one set at once (as
 * Katran's per-CPU flow tables); a TCP flow whose packets move to another
 * CPU is found in its old CPU's set (xlb_fc_probe, below).
 *
 * A new flow takes, in this order, a free way, the oldest way not hit
 * since the set's used bits were last cleared, or, when every way was
 * hit, the oldest way, clearing the bits (not-recently-used with the age
 * as the tie-break). A hit sets its way's bit, a store only when the bit
 * was clear, so an established flow's packet writes the line once a round.
 */
#ifndef XLB_BPF_FLOWCACHE_H
#define XLB_BPF_FLOWCACHE_H

#include <xlb/flowcache.h>
#include "maps.h"
#include "parse.h"

/* Ports as one word, in the key's (and the way's) order: sport, dport. */
static __always_inline __u32 xlb_fc_ports(const __be16 *sport)
{
	__u32 v;

	__builtin_memcpy(&v, sport, sizeof(v));
	return v;
}

/* This CPU's IPv4 set for the 5-tuple hash h5; NULL if the map is short. */
static __always_inline struct xlb_fc_set4 *xlb_fc4_set(__u32 h5)
{
	__u32 i = xlb_fc_index(bpf_get_smp_processor_id(), xlb_fc4_bits, h5);

	return bpf_map_lookup_elem(&xlb_fc4, &i);
}

static __always_inline struct xlb_fc_set6 *xlb_fc6_set(__u32 h5)
{
	__u32 i = xlb_fc_index(bpf_get_smp_processor_id(), xlb_fc6_bits, h5);

	return bpf_map_lookup_elem(&xlb_fc6, &i);
}

/* The way of k in s, -1 if none; with mark, its used bit set (this CPU's set only). */
static __always_inline int xlb_fc4_find(struct xlb_fc_set4 *s, const struct xlb_flow_key *k,
					int mark)
{
	__u32 ports = xlb_fc_ports(&k->sport);
	int i;

#pragma unroll
	for (i = 0; i < XLB_FC4_WAYS; i++) {
		if (s->proto[i] != k->proto || s->w[i].saddr != k->saddr[0] ||
		    s->w[i].daddr != k->daddr[0] || xlb_fc_ports(&s->w[i].sport) != ports)
			continue;
		if (mark && !(s->used & (1U << i)))
			s->used |= 1U << i;
		return i;
	}
	return -1;
}

static __always_inline int xlb_fc6_find(struct xlb_fc_set6 *s, const struct xlb_flow_key *k,
					int mark)
{
	__u32 ports = xlb_fc_ports(&k->sport);
	int i;

#pragma unroll
	for (i = 0; i < XLB_FC6_WAYS; i++) {
		if (s->proto[i] != k->proto || xlb_fc_ports(&s->w[i].sport) != ports ||
		    s->w[i].saddr[0] != k->saddr[0] || s->w[i].saddr[1] != k->saddr[1] ||
		    s->w[i].saddr[2] != k->saddr[2] || s->w[i].saddr[3] != k->saddr[3] ||
		    s->w[i].daddr[0] != k->daddr[0] || s->w[i].daddr[1] != k->daddr[1] ||
		    s->w[i].daddr[2] != k->daddr[2] || s->w[i].daddr[3] != k->daddr[3])
			continue;
		if (mark && !(s->used & (1U << i)))
			s->used |= 1U << i;
		return i;
	}
	return -1;
}

/*
 * The way a new flow takes among n (see the top): score is the age in
 * ticks, with a bit above it for a way not hit; a free way wins at once.
 * When every way was hit, *used is cleared for the new round.
 */
static __always_inline int xlb_fc_victim(const __u8 *proto, const __u32 *meta, unsigned int stride,
					 unsigned int n, __u8 *used, __u32 now_tick)
{
	__u32 score, best = 0, all = (1U << n) - 1;
	int i, v = 0;

#pragma unroll
	for (i = 0; i < n; i++) {
		if (!proto[i])
			return i;
		score = ((now_tick - (meta[i * stride] >> XLB_FC_VIP_BITS)) & XLB_FC_TICK_MASK) |
			(!(*used & (1U << i))) << XLB_FC_TICK_BITS;
		if (score > best) {
			best = score;
			v = i;
		}
	}
	if ((*used & all) == all)
		*used = 0;
	return v;
}

/*
 * Store k's flow (ref, meta) in its set at coarse time now: in way i if
 * i >= 0, else a chosen way; returns the way (-1 only where the verifier
 * needs a bound).
 */
static __always_inline int xlb_fc4_store(struct xlb_fc_set4 *s, int i, const struct xlb_flow_key *k,
					 __u32 ref, __u32 meta, __u64 now)
{
	__u8 used = s->used;

	if (i < 0)
		i = xlb_fc_victim(s->proto, &s->w[0].meta, sizeof(s->w[0]) / 4, XLB_FC4_WAYS, &used,
				  xlb_fc_tick(now));
	i &= 3;
	if (i >= XLB_FC4_WAYS)
		return -1;
	s->w[i].saddr = k->saddr[0];
	s->w[i].daddr = k->daddr[0];
	s->w[i].sport = k->sport;
	s->w[i].dport = k->dport;
	s->w[i].ref = ref;
	s->w[i].meta = meta;
	s->proto[i] = k->proto;
	s->used = used | 1U << i;
	return i;
}

static __always_inline int xlb_fc6_store(struct xlb_fc_set6 *s, int i, const struct xlb_flow_key *k,
					 __u32 ref, __u32 meta, __u64 now)
{
	__u8 used = s->used;

	if (i < 0)
		i = xlb_fc_victim(s->proto, &s->w[0].meta, sizeof(s->w[0]) / 4, XLB_FC6_WAYS, &used,
				  xlb_fc_tick(now));
	i &= 3;
	__builtin_memcpy(s->w[i].saddr, k->saddr, sizeof(k->saddr));
	__builtin_memcpy(s->w[i].daddr, k->daddr, sizeof(k->daddr));
	s->w[i].sport = k->sport;
	s->w[i].dport = k->dport;
	s->w[i].ref = ref;
	s->w[i].meta = meta;
	s->proto[i] = k->proto;
	s->used = used | 1U << i;
	return i;
}

/*
 * Another CPU's way of a TCP flow whose packet missed here: its packets
 * moved to this CPU (RSS changed; on veth, the sender's CPU runs the
 * program). Without it the flow would be picked anew from the table,
 * another backend if the table changed since the flow began. Only a TCP
 * packet other than a SYN looks: a SYN opens a connection, and a UDP
 * flow's first packet would pay the look on every new flow. The look
 * reads the same set number in the blocks of at most XLB_FC_PROBE_CPUS
 * (include/xlb/abi.h) other CPUs, the ones after this one, through
 * bpf_loop (verified once, whatever the count of other CPUs; not at all
 * on a one-CPU load, where the call is dead code), and writes nothing
 * there.
 */
struct xlb_fc_probe {
	struct xlb_flow_key key;
	__u32 h5;
	__u32 self;
	__u32 ref;
	__u32 meta;
	__u32 found;
};

static long xlb_fc4_probe_one(__u32 j, void *arg)
{
	struct xlb_fc_probe *pr = arg;
	struct xlb_fc_set4 *s;
	__u32 i = xlb_fc_index((pr->self + 1 + j) % xlb_fc_ncpu, xlb_fc4_bits, pr->h5);
	int w;

	s = bpf_map_lookup_elem(&xlb_fc4, &i);
	if (!s)
		return 1;
	w = xlb_fc4_find(s, &pr->key, 0);
	if (w < 0)
		return 0;
	pr->ref = s->w[w & 3].ref;
	pr->meta = s->w[w & 3].meta;
	pr->found = 1;
	return 1;
}

static long xlb_fc6_probe_one(__u32 j, void *arg)
{
	struct xlb_fc_probe *pr = arg;
	struct xlb_fc_set6 *s;
	__u32 i = xlb_fc_index((pr->self + 1 + j) % xlb_fc_ncpu, xlb_fc6_bits, pr->h5);
	int w;

	s = bpf_map_lookup_elem(&xlb_fc6, &i);
	if (!s)
		return 1;
	w = xlb_fc6_find(s, &pr->key, 0);
	if (w < 0)
		return 0;
	pr->ref = s->w[w & 3].ref;
	pr->meta = s->w[w & 3].meta;
	pr->found = 1;
	return 1;
}

/*
 * Whether a packet its store missed looks further, in other CPUs' sets
 * (above) and in the other store (a VIP that changed kind: pick.h): a
 * TCP packet but a SYN, which belongs to a connection under way.
 */
static __always_inline int xlb_fc_handover(const struct xlb_pkt *p)
{
	return p->key.proto == IPPROTO_TCP && !(p->tcp_flags & XLB_TCP_SYN);
}

/* Another CPU's way of p's flow into *ref, *meta, by one_cpu (above); 0 if none. */
static __always_inline int xlb_fc_probe(const struct xlb_pkt *p, __u32 h5,
					long (*one_cpu)(__u32 j, void *arg), __u32 *ref,
					__u32 *meta)
{
	struct xlb_fc_probe pr = {.key = p->key, .h5 = h5};
	__u32 n = xlb_fc_ncpu - 1;

	/*
	 * One CPU: no other set. This test must leave bpf_loop() dead code
	 * (xlb_fc_ncpu is read-only, so the verifier drops it): a call the
	 * verifier sees run 0 times leaves its callback unchecked, and the
	 * JIT of 6.12 and later then fails ("No program to jit").
	 */
	if (xlb_fc_ncpu < 2)
		return 0;
	pr.self = bpf_get_smp_processor_id();
	if (n > XLB_FC_PROBE_CPUS)
		n = XLB_FC_PROBE_CPUS;
	bpf_loop(n, one_cpu, &pr, 0);
	*ref = pr.ref;
	*meta = pr.meta;
	return pr.found;
}

/*
 * p's flow in this CPU's set or (a TCP packet but a SYN) another CPU's,
 * into *ref, *meta, writing nothing; 0 if none. For a least_conn VIP's
 * packet: its VIP was of another kind when the flow began.
 */
static __always_inline int xlb_fc_read(const struct xlb_pkt *p, __u32 h5, __u32 *ref, __u32 *meta)
{
	struct xlb_fc_set4 *s4;
	struct xlb_fc_set6 *s6;
	int i;

	if (p->key.family == XLB_AF_INET) {
		s4 = xlb_fc4_set(h5);
		i = s4 ? xlb_fc4_find(s4, &p->key, 0) : -1;
		if (s4 && i >= 0) {
			*ref = s4->w[i & 3].ref;
			*meta = s4->w[i & 3].meta;
			return 1;
		}
		return xlb_fc_handover(p) && xlb_fc_probe(p, h5, xlb_fc4_probe_one, ref, meta);
	}
	s6 = xlb_fc6_set(h5);
	i = s6 ? xlb_fc6_find(s6, &p->key, 0) : -1;
	if (s6 && i >= 0) {
		*ref = s6->w[i & 3].ref;
		*meta = s6->w[i & 3].meta;
		return 1;
	}
	return xlb_fc_handover(p) && xlb_fc_probe(p, h5, xlb_fc6_probe_one, ref, meta);
}

/*
 * p's flow in least_conn's table (xlb_flows) as a way's ref and meta; 0
 * if none. For a TCP packet but a SYN that the cache missed: its VIP was
 * a least_conn one when the flow began.
 */
static __always_inline int xlb_fc_from_table(const struct xlb_pkt *p, __u32 *ref, __u32 *meta)
{
	struct xlb_flow *f = bpf_map_lookup_elem(&xlb_flows, &p->key);

	if (!f)
		return 0;
	*ref = xlb_fc_ref(f->backend_id, xlb_fc_gen(f->be_gen));
	*meta = xlb_fc_meta(f->vip_id, f->created_ns);
	return 1;
}

#endif /* XLB_BPF_FLOWCACHE_H */
