// SPDX-License-Identifier: GPL-2.0-only
/*
 * The desired state: for each stream route, its upstream's nodes weighted
 * by health and priority (health/priority.c) become one struct
 * xlb_want_vip; every node a VIP uses becomes one struct xlb_want_backend
 * with its backend state. dataplane/reconcile.c writes the difference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"
#include "dataplane/maglev.h"
#include "health/priority.h"

struct want_builder {
	struct xlb_want *w;
	unsigned char *used;		      /* per node: a VIP uses its backend */
	unsigned char *usable;		      /* per node: agent_node_usable(), asked once */
	const struct xlb_upstream_conf **ups; /* the upstreams sorted by id */
	size_t *newpos;			      /* per node: its place among the used */
};

static int ups_cmp(const void *x, const void *y)
{
	return strcmp((*(const struct xlb_upstream_conf *const *)x)->id,
		      (*(const struct xlb_upstream_conf *const *)y)->id);
}

static const struct xlb_upstream_conf *upstream_of(struct xlb_agent *a, struct want_builder *b,
						   const char *id)
{
	size_t lo = 0, hi = a->conf.nupstreams, mid;
	int d;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		d = strcmp(id, b->ups[mid]->id);
		if (!d)
			return b->ups[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * b->w->backends starts as one entry per node, in the nodes' sorted order
 * (so one binary search finds both); agent_want_build() then keeps only
 * the entries some VIP uses.
 */
/* Where node j of upstream u is in a->nodes: the synced hint, else a search. */
static long node_pos(struct xlb_agent *a, const struct xlb_upstream_conf *u, size_t j)
{
	size_t ui = (size_t)(u - a->conf.upstreams), at;
	const struct xlb_node_conf *nc = &u->nodes[j];

	if (ui < a->nups_first && a->ups_first[ui] + j < a->nnode_at) {
		at = a->node_at[a->ups_first[ui] + j];
		if (at < a->nnodes &&
		    !agent_node_cmp(&a->nodes[at]->addr, a->nodes[at]->port, &nc->addr, nc->port))
			return (long)at;
	}
	return agent_node_pos(a->nodes, a->nnodes, &nc->addr, nc->port);
}

/* A VIP's members: its upstream's nodes weighted by health and priority. */
static int want_vip(struct xlb_agent *a, struct want_builder *b, const struct xlb_route_conf *r,
		    struct xlb_want_vip *wv)
{
	const struct xlb_upstream_conf *u = upstream_of(a, b, r->upstream_id);
	struct xlb_want_backend *wb;
	struct xlb_prio_node *in;
	struct xlb_prio_out *out;
	long *pos;
	size_t i;
	int err = -ENOMEM;

	memset(wv, 0, sizeof(*wv));
	wv->key = r->vip;
	wv->table_size = a->conf.xlb.table_size;
	if (!u)
		return 0; /* validation forbids it */
	/* Unset: from the node count (not health), as every LB node computes it. */
	if (!wv->table_size)
		wv->table_size = xlb_maglev_size_auto(u->nnodes);
	wv->flags = u->hash_src ? XLB_VIP_F_HASH_SRC : 0;
	if (xlb_conf_upstream_nat(&a->conf, u))
		wv->flags |= XLB_VIP_F_NAT;
	wv->members = calloc(u->nnodes + 1, sizeof(*wv->members));
	in = calloc(u->nnodes + 1, sizeof(*in));
	out = calloc(u->nnodes + 1, sizeof(*out));
	pos = calloc(u->nnodes + 1, sizeof(*pos));
	if (!wv->members || !in || !out || !pos)
		goto out;
	for (i = 0; i < u->nnodes; i++) {
		pos[i] = node_pos(a, u, i);
		if (pos[i] < 0)
			goto out;
		in[i].priority = u->nodes[i].priority;
		in[i].weight = u->nodes[i].weight;
		in[i].usable = b->usable[pos[i]];
	}
	xlb_priority_pick(in, u->nnodes, a->conf.xlb.on_no_healthy, out);
	for (i = 0; i < u->nnodes; i++) {
		b->used[pos[i]] = 1;
		wb = &b->w->backends[pos[i]];
		/* A backend shared by upstreams is active if any wants it. */
		if (out[i].active)
			wb->state = XLB_BE_ACTIVE;
		wv->members[i].addr = u->nodes[i].addr;
		wv->members[i].port = u->nodes[i].port;
		wv->members[i].weight = out[i].weight;
		wv->members[i].backend = pos[i] + 1; /* made an index of w->backends below */
	}
	wv->nmembers = u->nnodes;
	err = 0;
out:
	free(pos);
	free(out);
	free(in);
	return err;
}

static int want_build(struct xlb_agent *a, struct want_builder *b)
{
	size_t i, j, n = 0;
	int err;

	b->w->vips = calloc(a->conf.nroutes + 1, sizeof(*b->w->vips));
	b->w->backends = calloc(a->nnodes + 1, sizeof(*b->w->backends));
	b->used = calloc(a->nnodes + 1, 1);
	b->ups = calloc(a->conf.nupstreams + 1, sizeof(*b->ups));
	b->newpos = calloc(a->nnodes + 1, sizeof(*b->newpos));
	b->usable = calloc(a->nnodes + 1, 1);
	if (!b->w->vips || !b->w->backends || !b->used || !b->ups || !b->newpos || !b->usable)
		return -ENOMEM;
	for (i = 0; i < a->conf.nupstreams; i++)
		b->ups[i] = &a->conf.upstreams[i];
	qsort(b->ups, a->conf.nupstreams, sizeof(*b->ups), ups_cmp);
	for (i = 0; i < a->nnodes; i++) {
		b->w->backends[i].addr = a->nodes[i]->addr;
		b->w->backends[i].port = a->nodes[i]->port;
		b->w->backends[i].nh_ok = a->nodes[i]->nh_ok;
		b->w->backends[i].nh_ifindex = a->nodes[i]->nh_ifindex;
		b->w->backends[i].nh = a->nodes[i]->nh;
		b->w->backends[i].hint = a->nodes[i]->be_id + 1; /* ~0U: 0, none */
		/*
		 * Unless a VIP wants it active below: an unusable node by its
		 * cause; a usable one no VIP uses now (a lower priority group,
		 * weight 0) hands its flows to the nodes that are used.
		 */
		b->usable[i] = agent_node_usable(a->nodes[i]);
		b->w->backends[i].state =
			b->usable[i] ? XLB_BE_DOWN : agent_node_out_state(a->nodes[i]);
	}
	for (i = 0; i < a->conf.nroutes; i++) {
		err = want_vip(a, b, &a->conf.routes[i], &b->w->vips[i]);
		b->w->nvips++;
		if (err)
			return err;
	}
	/*
	 * Only backends some VIP uses: the others are removed from the maps.
	 * used[] becomes each node's new place, for the members' indexes.
	 */
	for (i = 0; i < a->nnodes; i++) {
		if (!b->used[i])
			continue;
		b->w->backends[n] = b->w->backends[i];
		b->newpos[i] = n++;
	}
	b->w->nbackends = n;
	for (i = 0; i < b->w->nvips; i++)
		for (j = 0; j < b->w->vips[i].nmembers; j++)
			b->w->vips[i].members[j].backend =
				b->newpos[b->w->vips[i].members[j].backend - 1] + 1;
	return 0;
}

int agent_want_build(struct xlb_agent *a, struct xlb_want *w)
{
	struct want_builder b = {.w = w};
	int err;

	memset(w, 0, sizeof(*w));
	err = want_build(a, &b);
	free(b.usable);
	free(b.newpos);
	free(b.ups);
	free(b.used);
	return err;
}
