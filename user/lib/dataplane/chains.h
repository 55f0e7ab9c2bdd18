/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The history rule of a VIP's table (chains.c): each slot's chain after a
 * change, from the slot's new primary and its chain before it
 * (docs/SECOND_CHANCE.md, "The history rule"). Pure: no maps.
 */
#ifndef XLB_CHAINS_H
#define XLB_CHAINS_H

#include <stddef.h>
#include <linux/types.h>

/* A backend a VIP's chains may keep: a member of it, whatever its weight or state. */
struct xlb_chain_member {
	__u32 id;
	__u8 family; /* XLB_AF_INET or XLB_AF_INET6 */
};

/**
 * xlb_chains_next() - a table's chains after a change
 * @prim: the new primaries, @size slots (xlb_maglev_build()'s table;
 *        XLB_NO_BACKEND for none)
 * @old: the chains of the same table before the change (@size slots, same
 *       seed and hash mode), or NULL: no history, every chain its primary
 * @size: slots
 * @keep: the backends a chain may keep (the VIP's members), any order
 * @nkeep: entries in @keep
 * @out: @size chains (struct xlb_slot's packing); may not be @old
 *
 * Slot i's chain is its new primary, then the backends of its old chain,
 * first to last, that are in @keep, have the primary's address family and
 * are not in the chain yet, up to XLB_SLOT_IDS ids. A slot without a
 * primary has an empty chain. The same inputs give the same bytes on every
 * host.
 *
 * Return: 0, or -ENOMEM.
 */
int xlb_chains_next(const __u32 *prim, const __u64 *old, __u32 size,
		    const struct xlb_chain_member *keep, size_t nkeep, __u64 *out);

#endif /* XLB_CHAINS_H */
