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
	XLB_PICK_FLOW,	     /* the flow's entry (flow cache or table) */
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
	__u32 slot;	       /* table slot used (TABLE, REPROBE, LEAST_CONN) */
	__u64 chain;	       /* chain of the flow hash's own slot (struct xlb_slot) */
	int least_conn;	       /* the VIP is least_conn: lc is filled (not via FLOW) */
	struct xlb_pick_lc lc; /* the two candidates */
};

int xlb_pick_flow(struct xlb_maps *m, const struct xlb_vip *vip, const struct xlb_flow_key *key,
		  struct xlb_pick_result *r);

/*
 * The chain of the slot @hash names in the current table of @vip's id,
 * before any re-probe: what the fast path reads for a GUE packet's hops
 * (bpf/lib/pick.h xlb_slot_chain); 0 when the VIP has no table.
 */
__u64 xlb_pick_slot_chain(struct xlb_maps *m, const struct xlb_vip *vip, __u32 hash);

/*
 * The hops a GUE packet with @chain carries (bpf/lib/encap.h xlb_gue_hops):
 * the chain's earlier owners that are in use and not DOWN, in order, into
 * @ids. Returns how many (at most XLB_GUE_HOPS).
 */
unsigned int xlb_pick_hops(struct xlb_maps *m, __u64 chain, __u32 ids[XLB_GUE_HOPS]);

#endif /* XLB_PICK_H */
