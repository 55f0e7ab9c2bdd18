/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Maglev consistent hashing: the userspace half of backend selection.
 * xlb_maglev_build() fills a VIP's lookup table (one backend id per slot);
 * the fast path indexes it with the flow hash modulo the table size.
 * The algorithm and its choices are described atop maglev.c.
 */
#ifndef XLB_MAGLEV_H
#define XLB_MAGLEV_H

#include <linux/types.h>
#include <stddef.h>

/*
 * One backend as Maglev sees it. @key is its frozen identity string, the
 * same on every LB node, e.g. "198.18.0.11:80" or "[fd00::1]:80".
 */
struct xlb_maglev_node {
	const char *key;
	__u32 weight; /* 0 = not placed in the table */
	__u32 id;     /* value written into the table slots (backend id) */
};

/**
 * xlb_maglev_size_valid() - tell whether @n can be a Maglev table size
 * @n: candidate table size
 *
 * Return: 1 if @n is a prime with 3 <= @n <= XLB_MAGLEV_MAX, else 0.
 */
int xlb_maglev_size_valid(__u32 n);

/**
 * xlb_maglev_size_auto() - the table size for a VIP whose size is not set
 * @members: the VIP's members, usable or not
 *
 * At least XLB_MAGLEV_PER_NODE slots per member (each member's share is
 * then within 1% of its weight's), on a ladder of primes (251, 509, 1021,
 * ..., 32749, then XLB_MAGLEV_DEFAULT): the size, which decides every
 * flow's slot, changes only when the member count crosses a step. Depends
 * on the count alone, so that LB nodes given the same configuration agree.
 *
 * Return: a prime accepted by xlb_maglev_size_valid().
 */
__u32 xlb_maglev_size_auto(size_t members);

/**
 * xlb_maglev_build() - fill a Maglev lookup table
 * @nodes: backends, in any order
 * @n: number of entries in @nodes
 * @size: table size, a prime accepted by xlb_maglev_size_valid()
 * @seed: hash seed, the same on every LB node
 * @table: output, @size slots
 *
 * Each node with a non-zero weight receives a share of the slots
 * proportional to its weight; nodes with weight 0 receive none. The
 * result depends only on the set of (key, weight, id) and on @seed and
 * @size, never on the order of @nodes or on the machine: every LB node
 * given the same backends builds a byte-identical table. If no node has a
 * non-zero weight, every slot is XLB_NO_BACKEND.
 *
 * @table is written only on success.
 *
 * Return: 0 on success; -EINVAL if @size is not valid, @table is NULL,
 * @nodes is NULL with @n > 0, @n > XLB_MAX_BACKENDS, a key is NULL, two
 * nodes share a key (whatever their weights), or a node with a non-zero
 * weight has the id XLB_NO_BACKEND; -ENOMEM if scratch memory cannot be
 * allocated.
 */
int xlb_maglev_build(const struct xlb_maglev_node *nodes, size_t n, __u32 size, __u32 seed,
		     __u32 *table);

#endif /* XLB_MAGLEV_H */
