// SPDX-License-Identifier: GPL-2.0-only
/* Userspace mirror of the fast path's backend choice; see pick.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include <xlb/flowcache.h>
#include <xlb/hash.h>
#include "dataplane/conns.h"
#include "dataplane/pick.h"
#include "dataplane/tables.h"
#include "xlb_lb.skel.h"

/* A candidate's count and weight, as bpf/lib/lconn.h reads them. */
static void lc_load(struct xlb_maps *m, __u32 vip_id, struct xlb_pick_lc *lc, int i)
{
	struct xlb_member mb;

	if (xlb_conns_get(m, lc->id[i], &lc->active[i]))
		lc->active[i] = 0;
	if (lc->active[i] > 0xffffffffULL)
		lc->active[i] = 0xffffffffULL;
	lc->weight[i] = !xlb_member_get(m, vip_id, lc->id[i], &mb) && mb.weight ? mb.weight : 1;
}

/*
 * least_conn: the second candidate (first probe slot holding another
 * ACTIVE backend), and the less loaded per weight of the two; ties to
 * the table's pick.
 */
static void lc_choose(struct xlb_maps *m, const struct xlb_vip *vip, const __u64 *table, __u32 seed,
		      struct xlb_pick_result *r)
{
	struct xlb_pick_lc *lc = &r->lc;
	struct xlb_backend b;
	__u32 i, slot, id;

	r->least_conn = 1;
	lc->id[0] = r->backend_id;
	lc->id[1] = XLB_NO_BACKEND;
	lc_load(m, vip->id, lc, 0);
	for (i = 0; i < XLB_LC_PROBES; i++) {
		slot = xlb_lc_slot(r->hash, i, seed, vip->table_size);
		id = xlb_slot_id(table[slot], 0);
		if (id == lc->id[0] || id == XLB_SLOT_NONE)
			continue;
		if (!xlb_backend_get(m, id, &b) && b.state == XLB_BE_ACTIVE) {
			lc->id[1] = id;
			lc->slot2 = slot;
			break;
		}
	}
	if (lc->id[1] == XLB_NO_BACKEND)
		return;
	lc_load(m, vip->id, lc, 1);
	if (lc->active[0] * lc->weight[1] > lc->active[1] * lc->weight[0]) {
		r->via = XLB_PICK_LEAST_CONN;
		r->backend_id = lc->id[1];
		r->slot = lc->slot2;
	}
}

__u64 xlb_pick_slot_chain(struct xlb_maps *m, const struct xlb_vip *vip, __u32 hash)
{
	__u64 chain;

	if (!vip->table_size ||
	    xlb_table_read_slot(m, vip->id, vip->table_size, hash % vip->table_size, &chain))
		return 0;
	return chain;
}

unsigned int xlb_pick_hops(struct xlb_maps *m, __u64 chain, __u32 ids[XLB_GUE_HOPS])
{
	struct xlb_backend b;
	unsigned int n = 0;
	__u32 id;
	int i;

	for (i = 1; i < XLB_SLOT_IDS && n < XLB_GUE_HOPS; i++) {
		id = xlb_slot_id(chain, i);
		if (id == XLB_SLOT_NONE)
			break;
		if (xlb_backend_get(m, id, &b) || b.state == XLB_BE_UNUSED ||
		    b.state == XLB_BE_DOWN)
			continue;
		ids[n++] = id;
	}
	return n;
}

int xlb_pick_flow(struct xlb_maps *m, const struct xlb_vip *vip, const struct xlb_flow_key *key,
		  struct xlb_pick_result *r)
{
	struct xlb_config cfg;
	struct xlb_backend b;
	struct xlb_flow f;
	__u32 slot, id;
	__u64 *table;
	int err, i, stateless;

	memset(r, 0, sizeof(*r));
	err = xlb_config_get(m, &cfg);
	if (err)
		return err;
	r->hash = xlb_flow_hash(key, cfg.hash_seed, vip->flags & XLB_VIP_F_HASH_SRC);
	/* A stateless VIP keeps no flow entries: the table alone, DRAINING included. */
	stateless = !!(vip->flags & XLB_VIP_F_STATELESS);
	/*
	 * A cache way keeps the generation's low bits only (xlb_fc_gen);
	 * least_conn's table the whole of it, as the fast path compares.
	 */
	if (!stateless && !xlb_flow_lookup(m, key, &f) && f.vip_id == vip->id &&
	    !xlb_backend_get(m, f.backend_id, &b) &&
	    (f.lc.flags & XLB_FLOW_F_CACHED ? xlb_fc_gen(b.gen) == f.be_gen : b.gen == f.be_gen) &&
	    (b.state == XLB_BE_ACTIVE || b.state == XLB_BE_DRAINING)) {
		r->via = XLB_PICK_FLOW;
		r->backend_id = f.backend_id;
		r->chain = xlb_pick_slot_chain(m, vip, r->hash);
		return 0;
	}
	table = malloc((size_t)vip->table_size * sizeof(*table));
	if (!table)
		return -ENOMEM;
	err = xlb_table_read_chains(m, vip->id, table, vip->table_size);
	if (err)
		goto out;
	slot = r->hash % vip->table_size;
	r->chain = table[slot];
	for (i = 0; i <= XLB_REPROBE_MAX; i++) {
		id = xlb_slot_id(table[slot], 0);
		if (id == XLB_SLOT_NONE)
			break;
		if (!xlb_backend_get(m, id, &b) &&
		    (b.state == XLB_BE_ACTIVE || (stateless && b.state == XLB_BE_DRAINING))) {
			r->via = i ? XLB_PICK_REPROBE : XLB_PICK_TABLE;
			r->backend_id = id;
			r->slot = slot;
			break;
		}
		slot = xlb_reprobe_slot(r->hash, i + 1, cfg.hash_seed, vip->table_size);
	}
	if (r->via != XLB_PICK_NONE && vip->flags & XLB_VIP_F_LEAST_CONN)
		lc_choose(m, vip, table, cfg.hash_seed, r);
out:
	free(table);
	return err;
}
