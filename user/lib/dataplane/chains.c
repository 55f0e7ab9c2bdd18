// SPDX-License-Identifier: GPL-2.0-only
/*
 * The history rule: a slot keeps the backends that owned it before, as
 * long as they are still members of the VIP, so that a connection opened
 * on an earlier owner can be handed on to it (docs/SECOND_CHANCE.md). Every
 * LB node that applies the same sequence of member sets from the same start
 * computes the same chains; the rule reads nothing else.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xlb/abi.h>
#include "dataplane/chains.h"

static int member_cmp(const void *a, const void *b)
{
	const struct xlb_chain_member *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Family of backend id if the chains may keep it, else 0. */
static __u8 kept_family(const struct xlb_chain_member *keep, size_t n, __u32 id)
{
	const struct xlb_chain_member key = {.id = id}, *m;

	if (id == XLB_SLOT_NONE)
		return 0;
	m = bsearch(&key, keep, n, sizeof(*keep), member_cmp);
	return m ? m->family : 0;
}

int xlb_chains_next(const __u32 *prim, const __u64 *old, __u32 size,
		    const struct xlb_chain_member *keep, size_t nkeep, __u64 *out)
{
	struct xlb_chain_member *sorted = NULL;
	__u32 i, id, ids[XLB_SLOT_IDS];
	unsigned int j, k;
	__u8 fam;

	if (old && nkeep) {
		sorted = malloc(nkeep * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, keep, nkeep * sizeof(*sorted));
		qsort(sorted, nkeep, sizeof(*sorted), member_cmp);
	}
	for (i = 0; i < size; i++) {
		ids[0] = prim[i] == XLB_NO_BACKEND ? XLB_SLOT_NONE : prim[i];
		ids[1] = ids[2] = XLB_SLOT_NONE;
		fam = sorted ? kept_family(sorted, nkeep, ids[0]) : 0;
		/*
		 * Without a primary the VIP has nothing to send to: no chain.
		 * A primary the chains may not keep (not a member: a caller's
		 * bug) has no family to match, so it gets no secondaries.
		 */
		for (j = 0, k = 1; fam && j < XLB_SLOT_IDS && k < XLB_SLOT_IDS; j++) {
			id = xlb_slot_id(old[i], j);
			if (id == ids[0] || id == ids[1] || kept_family(sorted, nkeep, id) != fam)
				continue;
			ids[k++] = id;
		}
		out[i] = xlb_slot_pack(ids[0], ids[1], ids[2]);
	}
	free(sorted);
	return 0;
}
