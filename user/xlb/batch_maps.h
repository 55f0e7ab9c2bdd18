/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Batched reads and writes of the pinned maps for xlb -batch and
 * xlb stats --zero (batch_maps.c): many entries per system call where
 * the kernel allows it, one at a time where it does not.
 */
#ifndef XLB_BATCH_MAPS_H
#define XLB_BATCH_MAPS_H

#include <stddef.h>
#include <xlb/abi.h>

struct xlb_maps;

/* Every VIP: *keys and *vals allocated (free them), *n entries. */
int xlb_bm_vips_read(struct xlb_maps *m, struct xlb_vip_key **keys, struct xlb_vip **vals,
		     size_t *n);
/* Every member, likewise. */
int xlb_bm_members_read(struct xlb_maps *m, struct xlb_member_key **keys, struct xlb_member **vals,
			size_t *n);
/* Write n members. */
int xlb_bm_members_write(struct xlb_maps *m, const struct xlb_member_key *keys,
			 const struct xlb_member *vals, size_t n);
/* Delete n members; missing ones are no error. */
int xlb_bm_members_delete(struct xlb_maps *m, const struct xlb_member_key *keys, size_t n);
/* Zero the traffic counters (on every CPU) and the next hops of n backend ids. */
int xlb_bm_backends_zero(struct xlb_maps *m, const __u32 *ids, size_t n, int nexthops);
/* Zero the traffic counters of n VIP ids, on every CPU. */
int xlb_bm_vips_zero(struct xlb_maps *m, const __u32 *ids, size_t n);
/* Zero every reason counter, on every CPU. */
int xlb_bm_reasons_zero(struct xlb_maps *m);

#endif /* XLB_BATCH_MAPS_H */
