/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bring the pinned maps to a desired state by difference: VIPs, backends,
 * memberships with weights, backend states, Maglev tables. What already
 * matches is not written, so untouched VIPs see no disturbance; a table is
 * rebuilt only when its members, their weights or their states changed.
 * The writer owns the maps: VIPs and backends not in the desired state are
 * removed. One exception: a backend state the operator holds (draining or
 * down by xlb backend set, xlb_backend_held()) stays, and tables follow it.
 *
 * The cost is that of the change: a struct xlb_shadow keeps what the maps
 * hold (read from them once, then kept up to date by every write), so a
 * reconcile compares the desired state with memory and reads the maps only
 * for what it is about to write. A reconcile either reaches the desired
 * state or leaves the maps as they were, and says why in the stats' error.
 */
#ifndef XLB_RECONCILE_H
#define XLB_RECONCILE_H

#include <stddef.h>
#include <xlb/abi.h>
#include "dataplane/maps.h"

struct xlb_want_member {
	struct xlb_addr_key addr;
	__u16 port;
	__u32 weight;  /* effective: 0 = in no table slot */
	__u32 backend; /* in, optional: 1 + its index in w->backends; 0: found by address */
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
	__u32 hint; /* in, optional: 1 + the id it had; 0: found by address */
	/*
	 * In, optional: the next hop, when the caller knows it (nh_ok), so a
	 * new backend's neighbour is prepared once per next hop without a
	 * route lookup; else the kernel is asked per new backend.
	 */
	int nh_ok;
	int nh_ifindex;
	struct xlb_addr_key nh;
};

struct xlb_want {
	size_t nvips;
	struct xlb_want_vip *vips;
	size_t nbackends; /* every backend any member names, once */
	struct xlb_want_backend *backends;
	/*
	 * A change rather than the whole state (partial): vips holds only the
	 * VIPs new or changed since the last reconcile with the same shadow,
	 * gone those no longer wanted; every other VIP stays as the maps hold
	 * it, unread. backends holds those the listed VIPs name, with their
	 * states; the others keep theirs, and one that no VIP holds after the
	 * change is removed. A VIP not listed whose table depends on a backend
	 * whose state changed gets its table rebuilt all the same.
	 */
	int partial;
	size_t ngone;
	struct xlb_vip_key *gone;
};

/* Free what a desired state holds (members, VIPs, backends, gone) and zero it. */
void xlb_want_free(struct xlb_want *w);

struct xlb_reconcile_stats {
	unsigned int vips_added, vips_updated, vips_removed;
	unsigned int backends_added, backends_changed, backends_removed;
	unsigned int members_changed, tables_written;
	char error[256]; /* on failure: what failed, why, and what the maps hold */
};

/* What the maps hold, as one writer last saw and wrote them. */
struct xlb_shadow;

struct xlb_shadow *xlb_shadow_new(void);
void xlb_shadow_free(struct xlb_shadow *s);
/* Forget what the maps hold: the next reconcile reads them again. */
void xlb_shadow_reset(struct xlb_shadow *s);

/*
 * The id of backend (a, port) as the shadow knows it (~0U: none), for a
 * writer that must find one backend without reading them all: 0, or
 * -ENOENT when the shadow has not read the maps yet.
 */
int xlb_shadow_backend_id(const struct xlb_shadow *s, const struct xlb_addr_key *a, __u16 port,
			  __u32 *id);

/**
 * xlb_reconcile() - write the difference between the maps and @w
 * @m: maps opened for writing (lock held)
 * @s: what the maps hold, kept between calls (xlb_shadow_new()); read from
 *     the maps on first use or after xlb_shadow_reset(). NULL: read now and
 *     forgotten after the call (a one-off writer pays a full read).
 * @w: the desired state; @w->backends[i].id is filled
 * @st: what was written and, on failure, why (may be NULL)
 *
 * Everything that can be checked is checked before the first write:
 * capacity (VIP ids, backend ids, members), table sizes, weights, members
 * naming wanted backends, memory. Other writers (the CLI) are seen where
 * they matter: a backend's state is read before it is written or put in a
 * table, so an operator's hold is kept; VIPs and backends they add stay
 * until @s is reset.
 *
 * A partial @w (see struct xlb_want) is compared with the shadow only for
 * what it lists, so the cost is that of the change, not of the maps.
 *
 * Return: 0 or a negative errno. On error the maps are as they were before
 * the call (@st->error says so), unless undoing failed too (then it says
 * what failed and @s is reset so the next call reads the maps again);
 * removals of what is no longer wanted come last, after the new state
 * serves, and one that fails leaves that item in place.
 */
int xlb_reconcile(struct xlb_maps *m, struct xlb_shadow *s, struct xlb_want *w,
		  struct xlb_reconcile_stats *st);

#endif /* XLB_RECONCILE_H */
