/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bring the pinned maps to a desired state by difference: VIPs, backends,
 * memberships with weights, backend states, Maglev tables. What already
 * matches is not written, so untouched VIPs see no disturbance; a table is
 * rebuilt only when its members, their weights or their states changed.
 * The writer owns the maps: VIPs and backends not in the desired state are
 * removed. One exception: a backend state the operator holds (draining or
 * down by xlb backend set, xlb_backend_held()) stays, and tables follow it.
 */
#ifndef XLB_RECONCILE_H
#define XLB_RECONCILE_H

#include <stddef.h>
#include <xlb/abi.h>
#include "dataplane/maps.h"

struct xlb_want_member {
	struct xlb_addr_key addr;
	__u16 port;
	__u32 weight; /* effective: 0 = in no table slot */
};

struct xlb_want_vip {
	struct xlb_vip_key key;
	__u32 flags; /* XLB_VIP_F_* */
	__u32 table_size;
	size_t nmembers;
	struct xlb_want_member *members;
};

struct xlb_want_backend {
	struct xlb_addr_key addr;
	__u16 port;
	__u8 state; /* enum xlb_backend_state */
	__u32 id;   /* out: the id it has in the maps */
};

struct xlb_want {
	size_t nvips;
	struct xlb_want_vip *vips;
	size_t nbackends; /* every backend any member names, once */
	struct xlb_want_backend *backends;
};

struct xlb_reconcile_stats {
	unsigned int vips_added, vips_updated, vips_removed;
	unsigned int backends_added, backends_changed, backends_removed;
	unsigned int members_changed, tables_written;
};

/**
 * xlb_reconcile() - write the difference between the maps and @w
 * @m: maps opened for writing (lock held)
 * @w: the desired state; @w->backends[i].id is filled
 * @st: what was written (may be NULL)
 *
 * Return: 0 or a negative errno; on error the maps hold a consistent mix
 * of old and new (each VIP's table always matches a valid member set).
 */
int xlb_reconcile(struct xlb_maps *m, struct xlb_want *w, struct xlb_reconcile_stats *st);

#endif /* XLB_RECONCILE_H */
