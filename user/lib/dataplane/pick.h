/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fast path's choice computed in userspace (`xlb pick`): the flow
 * table first, else the VIP's Maglev slot and the same bounded re-probe as
 * bpf/lib/pick.h, and for a least_conn VIP the same second candidate and
 * comparison as bpf/lib/lconn.h, over the same maps and include/xlb/hash.h.
 */
#ifndef XLB_PICK_H
#define XLB_PICK_H

#include "dataplane/maps.h"

enum xlb_pick_via {
	XLB_PICK_NONE = 0,   /* no usable backend: the packet is dropped */
	XLB_PICK_FLOW,	     /* the flow table's entry */
	XLB_PICK_TABLE,	     /* the Maglev slot of the flow hash */
	XLB_PICK_REPROBE,    /* a later slot: the first one was not ACTIVE */
	XLB_PICK_LEAST_CONN, /* least_conn: the second candidate, less loaded */
};

/*
 * A least_conn VIP's choice between two candidates (bpf/lib/lconn.h): the
 * table's pick and the second, with their active flows and weights. The
 * counts are this LB node's, at the moment of reading.
 */
struct xlb_pick_lc {
	__u32 id[2];	 /* id[1] XLB_NO_BACKEND: no second candidate */
	__u64 active[2]; /* active flows (struct xlb_backend_conns) */
	__u32 weight[2]; /* in the VIP (xlb_members); 1 when unknown */
	__u32 slot2;	 /* the second candidate's slot */
};

struct xlb_pick_result {
	enum xlb_pick_via via;
	__u32 backend_id;
	__u32 hash;
	__u32 slot;	/* table slot used (TABLE, REPROBE, LEAST_CONN) */
	__u64 chain;	/* chain of the flow hash's own slot (TABLE, REPROBE; struct xlb_slot) */
	int least_conn; /* the VIP is least_conn: lc is filled (not via FLOW) */
	struct xlb_pick_lc lc; /* the two candidates */
};

int xlb_pick_flow(struct xlb_maps *m, const struct xlb_vip *vip, const struct xlb_flow_key *key,
		  struct xlb_pick_result *r);

#endif /* XLB_PICK_H */
