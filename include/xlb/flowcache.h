/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The flow cache's packing and placement (struct xlb_fc_set4/6 in abi.h),
 * shared by the fast path and userspace (`xlb flows`, `xlb pick`, tests):
 * a flow's set is the one at its 5-tuple's hash in its CPU's block, a
 * block being 2^bits sets. Pure integer code; compiles for BPF and the host.
 */
#ifndef XLB_FLOWCACHE_H
#define XLB_FLOWCACHE_H

#include <linux/types.h>
#include "abi.h"

#define XLB_FC_TICK_MASK ((1U << XLB_FC_TICK_BITS) - 1)

static inline __u32 xlb_fc_ref(__u32 id, __u16 gen)
{
	return id | (__u32)gen << XLB_FC_ID_BITS;
}

static inline __u32 xlb_fc_ref_id(__u32 ref)
{
	return ref & ((1U << XLB_FC_ID_BITS) - 1);
}

/* The generation bits a way keeps of a backend's gen. */
static inline __u16 xlb_fc_gen(__u16 gen)
{
	return gen & ((1U << XLB_FC_GEN_BITS) - 1);
}

static inline __u16 xlb_fc_ref_gen(__u32 ref)
{
	return ref >> XLB_FC_ID_BITS;
}

static inline __u32 xlb_fc_tick(__u64 ns)
{
	return (__u32)(ns >> XLB_FC_TICK_SHIFT) & XLB_FC_TICK_MASK;
}

static inline __u32 xlb_fc_meta(__u32 vip_id, __u64 created_ns)
{
	return vip_id | xlb_fc_tick(created_ns) << XLB_FC_VIP_BITS;
}

static inline __u32 xlb_fc_meta_vip(__u32 meta)
{
	return meta & ((1U << XLB_FC_VIP_BITS) - 1);
}

/* A way's age at now_ns, modulo the ticks' wrap; a tick's precision. */
static inline __u64 xlb_fc_age_ns(__u32 meta, __u64 now_ns)
{
	return (__u64)((xlb_fc_tick(now_ns) - (meta >> XLB_FC_VIP_BITS)) & XLB_FC_TICK_MASK)
	       << XLB_FC_TICK_SHIFT;
}

/* The entry of CPU cpu's set for the 5-tuple hash hash, blocks of 2^bits sets. */
static inline __u32 xlb_fc_index(__u32 cpu, __u32 bits, __u32 hash)
{
	bits &= 31;
	return cpu << bits | (hash & ((1U << bits) - 1));
}

/* Sets per CPU for at least flows flows in ways-way sets on ncpu CPUs, as 2^bits. */
static inline __u32 xlb_fc_bits(__u64 flows, __u32 ncpu, __u32 ways)
{
	__u64 per = (__u64)ncpu * ways;
	__u64 sets = flows / per + (flows % per != 0);
	__u32 bits = 0;

	while (bits < 31 && (1ULL << bits) < sets)
		bits++;
	return bits;
}

/*
 * The seed of the flow cache's set hash: the hash seed the cache was made
 * with. A flow's set must not move when the hash seed changes (the flows
 * it holds would all be lost), so the first change keeps the old seed for
 * the sets (xlb_config_reseed); until then the flow hash serves both.
 */
static inline __u32 xlb_fc_seed(const struct xlb_config *c)
{
	return c->flags & XLB_CFG_F_FC_SEED ? c->fc_seed : c->hash_seed;
}

/* Change c's hash seed to seed, the flow cache's sets keeping theirs. */
static inline void xlb_config_reseed(struct xlb_config *c, __u32 seed)
{
	if (seed != c->hash_seed && !(c->flags & XLB_CFG_F_FC_SEED)) {
		c->fc_seed = c->hash_seed;
		c->flags |= XLB_CFG_F_FC_SEED;
	}
	c->hash_seed = seed;
}

#endif /* XLB_FLOWCACHE_H */
