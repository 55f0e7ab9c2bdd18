/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Maglev tables in the maps (tables.c): build, swap in, rebuild from
 * members, read back, digest. Part of the typed map layer; included by
 * dataplane/maps.h.
 */
#ifndef XLB_TABLES_H
#define XLB_TABLES_H

#include <stddef.h>
#include <xlb/abi.h>
#include "base/addr.h"

struct xlb_maps;
struct xlb_maglev_node;
struct xlb_chain_member;

/*
 * The size a VIP's next table gets with members members (usable or not,
 * so that health never changes it): its own, unless XLB_VIP_F_SIZE_AUTO
 * asks for xlb_maglev_size_auto().
 */
__u32 xlb_vip_table_size(const struct xlb_vip *vip, size_t members);
/*
 * Rebuild a VIP's Maglev table from its members (ACTIVE backends with a
 * weight) and swap it in with one map write.
 */
int xlb_table_rebuild(struct xlb_maps *m, const struct xlb_vip *vip);
/* Rebuild every VIP that has backend be_id as a member. */
int xlb_table_rebuild_backend(struct xlb_maps *m, __u32 be_id);
/*
 * Build a VIP's table from nodes (Maglev, the config map's hash seed) and
 * swap it in. Node keys are backend identities (xlb_backend_key()). keep
 * names every member of the VIP (nodes are those of them that get slots):
 * a VIP with XLB_VIP_F_CHAINS keeps the earlier owners of each slot that
 * are still members as the slot's secondaries (dataplane/chains.h), when
 * its size and hash mode stay; other VIPs' chains are their primaries.
 */
int xlb_table_write(struct xlb_maps *m, const struct xlb_vip *vip,
		    const struct xlb_maglev_node *nodes, size_t n,
		    const struct xlb_chain_member *keep, size_t nkeep);
/*
 * What xlb_table_write() takes, gathered one member at a time by each
 * writer of tables (rebuild, reconcile, the CLI's batch) in one way.
 */
struct xlb_table_input {
	struct xlb_maglev_node *nodes; /* members that get slots */
	char (*keys)[XLB_VIPSTRLEN];   /* their identities */
	struct xlb_chain_member *keep; /* every member */
	size_t n, nkeep, cap;
};
/* Room for @members members: 0 or -ENOMEM (xlb_table_input_free() either way). */
int xlb_table_input_init(struct xlb_table_input *in, size_t members);
/*
 * Member @id with backend @b: it may stay in a slot's chain; it gets slots
 * when @weight is not 0 and @b is ACTIVE. At most init's @members calls.
 */
void xlb_table_input_add(struct xlb_table_input *in, __u32 id, const struct xlb_backend *b,
			 __u32 weight);
/* xlb_table_write() of what was added. */
int xlb_table_input_write(struct xlb_maps *m, const struct xlb_vip *vip,
			  const struct xlb_table_input *in);
void xlb_table_input_free(struct xlb_table_input *in);
/* Slots of the table space in use (by live tables or freed ones), and in all. */
int xlb_table_space(struct xlb_maps *m, __u32 *used, __u32 *max);
/* Copy a VIP's current table's primaries out (size slots; XLB_NO_BACKEND for none). */
int xlb_table_read(struct xlb_maps *m, __u32 vip_id, __u32 *table, __u32 size);
/* Copy a VIP's current table's chains out (size slots, struct xlb_slot's packing). */
int xlb_table_read_chains(struct xlb_maps *m, __u32 vip_id, __u64 *chains, __u32 size);
/* One slot's chain of a VIP's current table (of size slots). */
int xlb_table_read_slot(struct xlb_maps *m, __u32 vip_id, __u32 size, __u32 slot, __u64 *chain);

/**
 * xlb_table_digest() - a VIP's live table as one number, comparable across nodes
 * @m: maps
 * @vip: the VIP (id, table size, flags)
 * @all: every backend as xlb_backends_read() gives them, or NULL to read them
 * @digest: out: FNV-1a 64 over the table size, the hash mode, the node's
 *          hash seed and, slot by slot, the (family, address, port) of the
 *          backend in it (the slot's primary)
 * @chain_digest: out, or NULL: the same over every field of each slot's
 *          chain (primary and secondaries), in another format number
 *
 * Read back from the live table, so it shows what the fast path uses. Ids
 * do not enter it: nodes that number backends differently but built the
 * same table get the same digest.
 *
 * Return: 0 or a negative errno.
 */
int xlb_table_digest(struct xlb_maps *m, const struct xlb_vip *vip, const struct xlb_backend *all,
		     __u64 *digest, __u64 *chain_digest);

#endif /* XLB_TABLES_H */
