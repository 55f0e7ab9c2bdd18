/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fast path's choice computed in userspace (`xlb pick`): the flow
 * table first, else the VIP's Maglev slot and the same bounded re-probe as
 * bpf/lib/pick.h, over the same maps and include/xlb/hash.h.
 */
#ifndef XLB_PICK_H
#define XLB_PICK_H

#include "dataplane/maps.h"

enum xlb_pick_via {
	XLB_PICK_NONE = 0, /* no usable backend: the packet is dropped */
	XLB_PICK_FLOW,	   /* the flow table's entry */
	XLB_PICK_TABLE,	   /* the Maglev slot of the flow hash */
	XLB_PICK_REPROBE,  /* a later slot: the first one was not ACTIVE */
};

struct xlb_pick_result {
	enum xlb_pick_via via;
	__u32 backend_id;
	__u32 hash;
	__u32 slot;  /* table slot used (TABLE, REPROBE) */
	__u64 chain; /* chain of the flow hash's own slot (TABLE, REPROBE; struct xlb_slot) */
};

int xlb_pick_flow(struct xlb_maps *m, const struct xlb_vip *vip, const struct xlb_flow_key *key,
		  struct xlb_pick_result *r);

#endif /* XLB_PICK_H */
