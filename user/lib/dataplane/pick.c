// SPDX-License-Identifier: GPL-2.0-only
/* Userspace mirror of the fast path's backend choice; see pick.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include <xlb/hash.h>
#include "dataplane/pick.h"
#include "xlb_lb.skel.h"

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
	if (!stateless && !bpf_map_lookup_elem(bpf_map__fd(m->skel->maps.xlb_flows), key, &f) &&
	    f.vip_id == vip->id && !xlb_backend_get(m, f.backend_id, &b) && b.gen == f.be_gen &&
	    (b.state == XLB_BE_ACTIVE || b.state == XLB_BE_DRAINING)) {
		r->via = XLB_PICK_FLOW;
		r->backend_id = f.backend_id;
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
out:
	free(table);
	return err;
}
