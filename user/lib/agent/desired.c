// SPDX-License-Identifier: GPL-2.0-only
/*
 * The desired state: for each stream route, its upstream's nodes weighted
 * by health and priority (health/priority.c) become one struct
 * xlb_want_vip; every node a VIP uses becomes one struct xlb_want_backend
 * with its backend state. dataplane/reconcile.c writes the difference.
 *
 * Kept between reconciles (struct agent_desired): each upstream's members
 * with what they were computed from, each route's VIP and upstream, each
 * node's health. An update recomputes only the upstreams whose nodes,
 * settings or nodes' health changed (or that gained their first route or
 * lost their last) and hands the reconcile a partial state: the VIPs of
 * the routes that are new or use such an upstream, the VIPs gone, and the
 * backends those name. The first update, and the one after
 * agent_want_forget(), builds the whole state.
 *
 * A new configuration (or node set: agent_nodes_sync()) is compared with
 * the kept one object by object. Without one, only health changed: the
 * nodes whose usability flipped (a->flipped) name the upstreams to
 * recompute, and nothing else is looked at.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"
#include "dataplane/maglev.h"
#include "health/priority.h"

/* One upstream: its members, and what they were computed from. */
struct des_ups {
	char id[XLB_ID_LEN];
	int hash_src, nat, least_conn;
	size_t nnodes;
	struct xlb_node_conf *nodes;	 /* a copy */
	struct xlb_want_member *members; /* weights by health and priority */
	unsigned char *active;		 /* per node: the fast path may send to it */
	__u32 table_size, flags;
	size_t routes, had_routes; /* routes using it now, at the last update */
	int dirty;		   /* recomputed, or its first route came or its last went */
};

struct des_route {
	struct xlb_vip_key key;
	size_t ups; /* in d->ups; SIZE_MAX: none (validation forbids it) */
};

/*
 * The large arrays of the last update but one, kept for the next: memory
 * whose pages are mapped already costs a memset, fresh memory a page
 * fault per page.
 */
enum { SP_UPS, SP_ROUTES, SP_SLOTS, SP_DIRTY, SP_BIDX, SP_MAX };

struct des_spare {
	void *p[SP_MAX];
	size_t bytes[SP_MAX];
};

struct agent_desired {
	struct des_spare spare;
	size_t bytes[SP_MAX]; /* of ups, slots, routes below */
	enum xlb_no_healthy on_no_healthy;
	__u32 table_size; /* xlb.table_size */
	struct des_ups *ups;
	size_t nups;   /* in configuration order */
	size_t *slots; /* id hash -> 1 + index in ups; 0: empty */
	size_t nslots; /* a power of two, at least twice nups */
	struct des_route *routes;
	size_t nroutes;		 /* in configuration order */
	unsigned long nodes_gen; /* a->nodes_gen of the update */
};

/* One update's working data. */
struct upd {
	struct xlb_agent *a;
	struct agent_desired *old, *d;
	int whole;		   /* no previous state: every VIP is listed */
	unsigned char *node_dirty; /* per node: new, or its health changed */
	size_t *bidx;		   /* per node: 1 + its index in w->backends */
};

static void ups_free(struct des_ups *u)
{
	free(u->nodes);
	free(u->members);
	free(u->active);
}

/* bytes of zeroes: the spare array of kind k when large enough, else new. */
static void *take(struct agent_desired *d, int k, size_t bytes)
{
	void *p = d->spare.p[k];

	d->spare.p[k] = NULL;
	if (p && d->spare.bytes[k] >= bytes) {
		d->bytes[k] = d->spare.bytes[k];
		return memset(p, 0, bytes);
	}
	free(p);
	d->bytes[k] = bytes;
	return calloc(1, bytes);
}

/* p (bytes long), unless NULL, becomes the spare array of kind k. */
static void give(struct agent_desired *d, int k, void *p, size_t bytes)
{
	if (!p)
		return;
	free(d->spare.p[k]);
	d->spare.p[k] = p;
	d->spare.bytes[k] = bytes;
}

/*
 * After a whole state: spares as large as its arrays, their pages mapped
 * now, so that the first change does not pay the faults (without memory
 * it pays them).
 */
static void spares_make(struct agent_desired *d)
{
	static const int kinds[] = {SP_UPS, SP_ROUTES, SP_SLOTS};
	size_t i;
	void *p;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		p = d->spare.p[kinds[i]] ? NULL : malloc(d->bytes[kinds[i]]);
		if (p)
			give(d, kinds[i], memset(p, 0, d->bytes[kinds[i]]), d->bytes[kinds[i]]);
	}
}

/* The arrays of old, emptied, become d's spares. */
static void recycle(struct agent_desired *d, struct agent_desired *old)
{
	size_t i;

	for (i = 0; i < old->nups; i++)
		ups_free(&old->ups[i]);
	give(d, SP_UPS, old->ups, old->bytes[SP_UPS]);
	give(d, SP_SLOTS, old->slots, old->bytes[SP_SLOTS]);
	give(d, SP_ROUTES, old->routes, old->bytes[SP_ROUTES]);
	old->ups = NULL;
	old->slots = NULL;
	old->routes = NULL;
	old->nups = 0;
}

static void desired_free(struct agent_desired *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nups; i++)
		ups_free(&d->ups[i]);
	free(d->ups);
	free(d->slots);
	free(d->routes);
	for (i = 0; i < SP_MAX; i++)
		free(d->spare.p[i]);
	free(d);
}

void agent_want_forget(struct xlb_agent *a)
{
	desired_free(a->desired);
	a->desired = NULL;
}

static size_t id_hash(const char *id)
{
	size_t h = 14695981039346656037ULL;

	while (*id)
		h = (h ^ (unsigned char)*id++) * 1099511628211ULL;
	return h;
}

/* Index of upstream id in d->ups, or SIZE_MAX. */
static size_t ups_find(const struct agent_desired *d, const char *id)
{
	size_t i = id_hash(id) & (d->nslots - 1);

	for (; d->slots[i]; i = (i + 1) & (d->nslots - 1))
		if (!strcmp(d->ups[d->slots[i] - 1].id, id))
			return d->slots[i] - 1;
	return SIZE_MAX;
}

/* d->ups by id (the first of an id: validation forbids twins). */
static int ups_index(struct agent_desired *d)
{
	size_t i, k;

	for (d->nslots = 16; d->nslots < 2 * d->nups; d->nslots *= 2)
		;
	d->slots = take(d, SP_SLOTS, d->nslots * sizeof(*d->slots));
	if (!d->slots)
		return -ENOMEM;
	for (i = 0; i < d->nups; i++) {
		if (ups_find(d, d->ups[i].id) != SIZE_MAX)
			continue;
		for (k = id_hash(d->ups[i].id) & (d->nslots - 1); d->slots[k];
		     k = (k + 1) & (d->nslots - 1))
			;
		d->slots[k] = i + 1;
	}
	return 0;
}

/* Where node j of upstream u is in a->nodes: the synced hint if it holds, else a search. */
static long node_pos(struct upd *u, const struct xlb_upstream_conf *c, size_t j)
{
	struct xlb_agent *a = u->a;
	size_t ui = (size_t)(c - a->conf.upstreams), at;
	const struct xlb_node_conf *nc = &c->nodes[j];
	const struct agent_node *n;

	if (ui < a->nups_first && a->ups_first[ui] + j < a->nnode_at) {
		at = a->node_at[a->ups_first[ui] + j];
		n = at < a->nnodes ? a->nodes[at] : NULL;
		if (n && n->port == nc->port && !memcmp(&n->addr, &nc->addr, sizeof(n->addr)))
			return (long)at;
	}
	return agent_node_pos(a->nodes, a->nnodes, &nc->addr, nc->port);
}

/*
 * Node n's health for this update: what the last one used, unless it
 * flipped since or is new to the desired state. 1 when it differs.
 */
static int node_health(struct agent_node *n)
{
	unsigned char usable = n->des_seen && !n->flipped ? n->des_usable : !!agent_node_usable(n);
	__u8 out = agent_node_out_state(n);
	int changed = !n->des_seen || usable != n->des_usable || out != n->des_out_state;

	n->des_usable = usable;
	n->des_out_state = out;
	n->des_seen = 1;
	n->flipped = 0;
	return changed;
}

/* Every node's health now; node_dirty marks what differs from the last update. */
static int nodes_scan(struct upd *u)
{
	struct xlb_agent *a = u->a;
	size_t i;

	u->node_dirty = take(u->d, SP_DIRTY, a->nnodes + 1);
	u->bidx = take(u->d, SP_BIDX, (a->nnodes + 1) * sizeof(*u->bidx));
	if (!u->node_dirty || !u->bidx)
		return -ENOMEM;
	for (i = 0; i < a->nnodes; i++) {
		/* The nodes lie apart in memory: ask for the ones ahead early. */
		if (i + 16 < a->nnodes)
			__builtin_prefetch(a->nodes[i + 16]);
		u->node_dirty[i] = node_health(a->nodes[i]);
	}
	return 0;
}

static int ups_same(const struct des_ups *o, const struct xlb_upstream_conf *c, int nat,
		    __u32 table_size)
{
	size_t j;

	if (o->hash_src != c->hash_src || o->nat != nat || o->table_size != table_size ||
	    o->least_conn != (c->type == XLB_LB_LEAST_CONN) || o->nnodes != c->nnodes)
		return 0;
	for (j = 0; j < c->nnodes; j++)
		if (agent_node_cmp(&o->nodes[j].addr, o->nodes[j].port, &c->nodes[j].addr,
				   c->nodes[j].port) ||
		    o->nodes[j].weight != c->nodes[j].weight ||
		    o->nodes[j].priority != c->nodes[j].priority)
			return 0;
	return 1;
}

/* An upstream's members: its nodes weighted by health and priority. */
static int ups_compute(struct upd *u, const struct xlb_upstream_conf *c, struct des_ups *du)
{
	struct xlb_agent *a = u->a;
	struct xlb_prio_node *in;
	struct xlb_prio_out *out;
	size_t i;
	long pos;
	int err = -ENOMEM;

	du->nodes = malloc((c->nnodes + 1) * sizeof(*du->nodes));
	du->members = calloc(c->nnodes + 1, sizeof(*du->members));
	du->active = calloc(c->nnodes + 1, 1);
	in = calloc(c->nnodes + 1, sizeof(*in));
	out = calloc(c->nnodes + 1, sizeof(*out));
	if (!du->nodes || !du->members || !du->active || !in || !out)
		goto out;
	memcpy(du->nodes, c->nodes, c->nnodes * sizeof(*du->nodes));
	for (i = 0; i < c->nnodes; i++) {
		pos = node_pos(u, c, i);
		if (pos < 0) {
			err = -ENOENT; /* agent_nodes_sync() made one per node */
			goto out;
		}
		in[i].priority = c->nodes[i].priority;
		in[i].weight = c->nodes[i].weight;
		if (!a->nodes[pos]->des_seen)
			node_health(a->nodes[pos]); /* new to the desired state */
		in[i].usable = a->nodes[pos]->des_usable;
	}
	xlb_priority_pick(in, c->nnodes, a->conf.xlb.on_no_healthy, out);
	for (i = 0; i < c->nnodes; i++) {
		du->members[i].addr = c->nodes[i].addr;
		du->members[i].port = c->nodes[i].port;
		du->members[i].weight = out[i].weight;
		du->active[i] = !!out[i].active;
	}
	err = 0;
out:
	free(out);
	free(in);
	return err;
}

/* What an upstream's members depend on besides health, from its configuration. */
static void ups_describe(struct xlb_agent *a, const struct xlb_upstream_conf *c,
			 const struct des_ups *o, __u32 old_table_size, struct des_ups *du)
{
	int nat = xlb_conf_upstream_nat(&a->conf, c), gue = xlb_conf_upstream_gue(&a->conf, c);
	int stateless = xlb_conf_upstream_stateless(&a->conf, c);
	__u32 ts;

	/* Unset: from the node count (not health), as every LB node computes it. */
	if (a->conf.xlb.table_size)
		ts = a->conf.xlb.table_size;
	else if (o && !old_table_size && o->nnodes == c->nnodes)
		ts = o->table_size;
	else
		ts = xlb_maglev_size_auto(c->nnodes);
	du->hash_src = c->hash_src;
	du->nat = nat;
	du->least_conn = c->type == XLB_LB_LEAST_CONN;
	du->table_size = ts;
	du->nnodes = c->nnodes;
	/*
	 * GUE carries a slot's earlier owners: its tables keep them.
	 * least_conn: the fast path's choice among two slots of the table
	 * (bpf/lib/lconn.h); NAT VIPs keep the Maglev pick (bpf/lib/nat.h),
	 * stateless ones too (least_conn counts flow entries).
	 */
	du->flags = (c->hash_src ? XLB_VIP_F_HASH_SRC : 0) | (nat ? XLB_VIP_F_NAT : 0) |
		    (gue ? XLB_VIP_F_GUE | XLB_VIP_F_CHAINS : 0) |
		    (stateless ? XLB_VIP_F_STATELESS : 0) |
		    (du->least_conn && !stateless ? XLB_VIP_F_LEAST_CONN : 0);
}

/*
 * Every upstream of the configuration, in its order: the previous one's
 * members when nothing they depend on changed, else computed (dirty).
 */
static int ups_update(struct upd *u)
{
	struct xlb_agent *a = u->a;
	struct agent_desired *d = u->d, *old = u->old;
	const struct xlb_upstream_conf *c;
	struct des_ups *du, *o;
	size_t i, j, k, no = old ? old->nups : 0;
	int err, ok;

	d->ups = take(d, SP_UPS, (a->conf.nupstreams + 1) * sizeof(*d->ups));
	if (!d->ups)
		return -ENOMEM;
	for (i = 0; i < a->conf.nupstreams; i++) {
		c = &a->conf.upstreams[i];
		if (i + 4 < a->conf.nupstreams)
			__builtin_prefetch(a->conf.upstreams[i + 4].nodes);
		du = &d->ups[d->nups++];
		memcpy(du->id, c->id, sizeof(du->id));
		/* The same place as before, else by id. */
		k = i < no && !strcmp(old->ups[i].id, c->id) ? i
		    : old				     ? ups_find(old, c->id)
							     : SIZE_MAX;
		o = k != SIZE_MAX ? &old->ups[k] : NULL;
		ups_describe(a, c, o, old ? old->table_size : 0, du);
		ok = o && o->members && !u->whole &&
		     old->on_no_healthy == a->conf.xlb.on_no_healthy &&
		     ups_same(o, c, du->nat, du->table_size);
		for (j = 0; ok && j < c->nnodes; j++) {
			long pos = node_pos(u, c, j);

			ok = pos >= 0 && !u->node_dirty[pos];
		}
		du->had_routes = o ? o->routes : 0;
		if (ok) {
			du->nodes = o->nodes;
			du->members = o->members;
			du->active = o->active;
			o->nodes = NULL;
			o->members = NULL;
			o->active = NULL;
			continue;
		}
		du->dirty = 1;
		err = ups_compute(u, c, du);
		if (err)
			return err;
	}
	d->on_no_healthy = a->conf.xlb.on_no_healthy;
	d->table_size = a->conf.xlb.table_size;
	return ups_index(d);
}

static int key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct xlb_vip_key));
}

/* Whether key is among the n sorted keys. */
static int key_in(const struct xlb_vip_key *keys, size_t n, const struct xlb_vip_key *key)
{
	return bsearch(key, keys, n, sizeof(*keys), key_cmp) != NULL;
}

/* Sorted copy of the routes' keys (NULL: out of memory). */
static struct xlb_vip_key *keys_sorted(const struct des_route *rs, size_t n)
{
	struct xlb_vip_key *keys = calloc(n + 1, sizeof(*keys));
	size_t i;

	if (!keys)
		return NULL;
	for (i = 0; i < n; i++)
		keys[i] = rs[i].key;
	qsort(keys, n, sizeof(*keys), key_cmp);
	return keys;
}

void agent_route_key(const struct xlb_route_conf *rc, struct xlb_vip_key *k)
{
	*k = rc->vip;
	if (!rc->remote.family)
		return;
	k->client_family = rc->remote.family;
	memcpy(k->client, rc->remote.addr, sizeof(k->client));
	k->client_plen = (__u8)rc->remote_plen;
}

/*
 * Every route's VIP and upstream; dirty[i] for the routes whose VIP is
 * new or whose upstream changed; w->gone for the VIPs no route has now.
 */
static int routes_update(struct upd *u, unsigned char *dirty, struct xlb_want *w)
{
	struct xlb_agent *a = u->a;
	struct agent_desired *d = u->d, *old = u->old;
	struct xlb_vip_key *old_keys = NULL, *new_keys = NULL;
	const struct des_route *o;
	struct des_route *r;
	size_t i, no = old ? old->nroutes : 0, moved = no != a->conf.nroutes;
	long at;

	d->routes = take(d, SP_ROUTES, (a->conf.nroutes + 1) * sizeof(*d->routes));
	if (!d->routes)
		return -ENOMEM;
	for (i = 0; i < a->conf.nroutes; i++) {
		r = &d->routes[d->nroutes++];
		agent_route_key(&a->conf.routes[i], &r->key);
		r->ups = ups_find(d, a->conf.routes[i].upstream_id);
		if (r->ups != SIZE_MAX)
			d->ups[r->ups].routes++;
		moved |= i >= no || key_cmp(&old->routes[i].key, &r->key);
	}
	for (i = 0; i < d->nups; i++)
		d->ups[i].dirty |= !d->ups[i].routes != !d->ups[i].had_routes;
	/* Routes in the same order as before: pairs by position, else by key. */
	if (moved && old) {
		old_keys = keys_sorted(old->routes, no);
		new_keys = keys_sorted(d->routes, d->nroutes);
		if (!old_keys || !new_keys)
			goto nomem;
	}
	for (i = 0; i < d->nroutes; i++) {
		r = &d->routes[i];
		o = NULL;
		if (old && i < no && !key_cmp(&old->routes[i].key, &r->key)) {
			o = &old->routes[i];
		} else if (old_keys && key_in(old_keys, no, &r->key)) {
			for (at = 0; (size_t)at < no; at++) /* rare: a VIP moved in the file */
				if (!key_cmp(&old->routes[at].key, &r->key))
					break;
			o = (size_t)at < no ? &old->routes[at] : NULL;
		}
		dirty[i] = u->whole || !o || r->ups == SIZE_MAX || o->ups == SIZE_MAX ||
			   strcmp(old->ups[o->ups].id, d->ups[r->ups].id) || d->ups[r->ups].dirty;
	}
	if (old_keys) {
		w->gone = calloc(no + 1, sizeof(*w->gone));
		if (!w->gone)
			goto nomem;
		for (i = 0; i < no; i++)
			if (!key_in(new_keys, d->nroutes, &old_keys[i]))
				w->gone[w->ngone++] = old_keys[i];
	}
	free(old_keys);
	free(new_keys);
	return 0;
nomem:
	free(old_keys);
	free(new_keys);
	return -ENOMEM;
}

/* Where upstream du names node n, or -1. */
static long ups_node(const struct des_ups *du, const struct agent_node *n)
{
	size_t j;

	for (j = 0; j < du->nnodes; j++)
		if (!agent_node_cmp(&du->nodes[j].addr, du->nodes[j].port, &n->addr, n->port))
			return (long)j;
	return -1;
}

/*
 * The backend of a->nodes[pos], node j of upstream du, in w->backends
 * (once): 1 + its index, 0 when no used upstream names it, -errno.
 */
static long backend_of(struct upd *u, struct xlb_want *w, const struct des_ups *du, size_t j,
		       long pos)
{
	struct agent_node *n = u->a->nodes[pos];
	const struct des_ups *o;
	struct xlb_want_backend *wb;
	int active = du->routes && du->active[j], used = !!du->routes;
	size_t i;
	long k;

	if (u->bidx[pos])
		return (long)u->bidx[pos];
	if (!n->des_seen)
		node_health(n);
	/* A node several upstreams name is active if any used one wants it. */
	for (i = 0; !active && n->ups && strchr(n->ups, ',') && i < u->d->nups; i++) {
		o = &u->d->ups[i];
		k = o->routes ? ups_node(o, n) : -1;
		if (k < 0)
			continue;
		used = 1;
		active = o->active[k];
	}
	if (!used)
		return 0;
	wb = &w->backends[w->nbackends];
	wb->addr = n->addr;
	wb->port = n->port;
	wb->nh_ok = n->nh_ok;
	wb->nh_ifindex = n->nh_ifindex;
	wb->nh = n->nh;
	wb->hint = n->be_id + 1; /* ~0U: 0, none */
	/*
	 * Unless a VIP wants it active: an unusable node by its cause; a
	 * usable one no VIP uses now (a lower priority group, weight 0) hands
	 * its flows to the nodes that are used.
	 */
	if (active)
		wb->state = XLB_BE_ACTIVE;
	else
		wb->state = n->des_usable ? XLB_BE_DOWN : n->des_out_state;
	u->bidx[pos] = ++w->nbackends;
	return (long)u->bidx[pos];
}

/* A route's VIP: its upstream's members, each naming its backend. */
static int vip_emit(struct upd *u, struct xlb_want *w, const struct des_route *r)
{
	struct xlb_want_vip *wv = &w->vips[w->nvips++];
	const struct des_ups *du;
	size_t j;
	long pos, b;

	wv->key = r->key;
	wv->table_size = u->a->conf.xlb.table_size;
	if (r->ups == SIZE_MAX)
		return 0; /* validation forbids it */
	du = &u->d->ups[r->ups];
	wv->table_size = du->table_size;
	wv->flags = du->flags;
	wv->members = malloc((du->nnodes + 1) * sizeof(*wv->members));
	if (!wv->members)
		return -ENOMEM;
	memcpy(wv->members, du->members, du->nnodes * sizeof(*wv->members));
	wv->nmembers = du->nnodes;
	for (j = 0; j < du->nnodes; j++) {
		pos = node_pos(u, &u->a->conf.upstreams[r->ups], j);
		b = pos < 0 ? -ENOENT : backend_of(u, w, du, j, pos);
		if (b <= 0)
			return b ? (int)b : -ENOENT;
		wv->members[j].backend = (__u32)b;
	}
	return 0;
}

/*
 * The listed VIPs and their backends; for a partial state also the nodes
 * of changed upstreams, whose state another upstream's VIP may depend on.
 */
static int want_emit(struct upd *u, const unsigned char *dirty, struct xlb_want *w)
{
	const struct des_ups *du;
	size_t i, j, n = 0, nb = 0;
	long pos, b;
	int err;

	/* Room for each backend once: at most the nodes of what is listed. */
	for (i = 0; i < u->d->nroutes; i++) {
		n += dirty[i];
		if (dirty[i] && !u->whole && u->d->routes[i].ups != SIZE_MAX)
			nb += u->d->ups[u->d->routes[i].ups].nnodes;
	}
	for (i = 0; !u->whole && i < u->d->nups; i++)
		nb += u->d->ups[i].dirty ? u->d->ups[i].nnodes : 0;
	if (u->whole || nb > u->a->nnodes)
		nb = u->a->nnodes;
	w->vips = calloc(n + 1, sizeof(*w->vips));
	w->backends = calloc(nb + 1, sizeof(*w->backends));
	if (!w->vips || !w->backends)
		return -ENOMEM;
	for (i = 0; i < u->d->nroutes; i++) {
		if (!dirty[i])
			continue;
		err = vip_emit(u, w, &u->d->routes[i]);
		if (err)
			return err;
	}
	w->partial = !u->whole;
	for (i = 0; w->partial && i < u->d->nups; i++) {
		du = &u->d->ups[i];
		for (j = 0; du->dirty && j < du->nnodes; j++) {
			pos = node_pos(u, &u->a->conf.upstreams[i], j);
			b = pos < 0 ? -ENOENT : backend_of(u, w, du, j, pos);
			if (b < 0)
				return (int)b;
		}
	}
	return 0;
}

/* Mark the upstreams that name node n (its list of ids, else a search of all). */
static void ups_mark(struct upd *u, const struct agent_node *n, size_t *marked, size_t *nmarked)
{
	struct agent_desired *d = u->d;
	const char *p = n->ups ? n->ups : "";
	char id[XLB_ID_LEN];
	int r, search = 0;
	size_t i;

	while ((r = agent_node_next_ups(&p, id))) {
		i = r > 0 ? ups_find(d, id) : SIZE_MAX;
		if (i == SIZE_MAX) {
			search = 1; /* an id with a comma: search */
			break;
		}
		if (!d->ups[i].dirty)
			marked[(*nmarked)++] = i;
		d->ups[i].dirty = 1;
	}
	for (i = 0; search && i < d->nups; i++) {
		if (d->ups[i].dirty || ups_node(&d->ups[i], n) < 0)
			continue;
		marked[(*nmarked)++] = i;
		d->ups[i].dirty = 1;
	}
}

/*
 * Patched routes (a->edit): each one's VIP and upstream anew; a VIP no
 * route has any more is gone, an upstream that gained its first route or
 * lost its last is dirty.
 */
static int routes_edit(struct upd *u, unsigned char *dirty, struct xlb_want *w)
{
	struct xlb_agent *a = u->a;
	struct agent_desired *d = u->d;
	struct des_route *r;
	struct xlb_vip_key old;
	size_t i, k, end = a->edit.first + a->edit.n;

	w->gone = calloc(a->edit.n + 1, sizeof(*w->gone));
	if (!w->gone)
		return -ENOMEM;
	for (i = a->edit.first; i < end && i < d->nroutes; i++) {
		r = &d->routes[i];
		old = r->key;
		if (r->ups != SIZE_MAX)
			d->ups[r->ups].routes--;
		agent_route_key(&a->conf.routes[i], &r->key);
		r->ups = ups_find(d, a->conf.routes[i].upstream_id);
		if (r->ups != SIZE_MAX)
			d->ups[r->ups].routes++;
		dirty[i] = 1;
		if (!key_cmp(&old, &r->key))
			continue;
		for (k = 0; k < d->nroutes && key_cmp(&d->routes[k].key, &old); k++)
			;
		if (k == d->nroutes)
			w->gone[w->ngone++] = old;
	}
	for (i = 0; i < d->nups; i++)
		d->ups[i].dirty |= !d->ups[i].routes != !d->ups[i].had_routes;
	return 0;
}

/*
 * The configuration and node set are the kept ones, but for the items a
 * patch replaced (a->edit): take them over and recompute the upstreams of
 * the nodes whose usability flipped, and the patched ones.
 */
static int health_update(struct upd *u, unsigned char *dirty, struct xlb_want *w)
{
	struct xlb_agent *a = u->a;
	struct agent_desired *d = u->d;
	struct des_spare spare;
	struct agent_node *n;
	struct des_ups o;
	size_t i, k, nmarked = 0, *marked;
	int err = 0;

	spare = d->spare;
	*d = *u->old;
	d->spare = spare;
	memset(u->old, 0, sizeof(*u->old)); /* freed empty */
	for (i = 0; i < d->nups; i++) {
		d->ups[i].dirty = 0;
		d->ups[i].had_routes = d->ups[i].routes;
	}
	marked = calloc(d->nups + 1, sizeof(*marked));
	u->bidx = take(d, SP_BIDX, (a->nnodes + 1) * sizeof(*u->bidx));
	if (!marked || !u->bidx) {
		free(marked);
		return -ENOMEM;
	}
	for (i = 0; i < a->nflipped; i++) {
		n = a->flipped[i];
		if (!n->des_seen || !node_health(n))
			continue;
		ups_mark(u, n, marked, &nmarked);
	}
	if (a->edit.n && a->edit.list == XLB_LIST_UPSTREAMS) {
		for (k = a->edit.first; k < a->edit.first + a->edit.n && k < d->nups; k++) {
			o = d->ups[k];
			ups_describe(a, &a->conf.upstreams[k], &o, d->table_size, &d->ups[k]);
			if (!d->ups[k].dirty)
				marked[nmarked++] = k;
			d->ups[k].dirty = 1;
		}
	}
	if (a->edit.n && a->edit.list == XLB_LIST_ROUTES)
		err = routes_edit(u, dirty, w);
	/* After every node's new health is in: a group may depend on several. */
	for (i = 0; i < nmarked && !err; i++) {
		ups_free(&d->ups[marked[i]]);
		err = ups_compute(u, &a->conf.upstreams[marked[i]], &d->ups[marked[i]]);
	}
	free(marked);
	for (i = 0; !err && i < d->nroutes; i++)
		dirty[i] |= d->routes[i].ups != SIZE_MAX && d->ups[d->routes[i].ups].dirty;
	return err;
}

int agent_want_update(struct xlb_agent *a, struct xlb_want *w)
{
	struct upd u = {.a = a, .old = a->desired, .whole = !a->desired};
	unsigned char *dirty = NULL;
	int err = -ENOMEM;

	memset(w, 0, sizeof(*w));
	u.d = calloc(1, sizeof(*u.d));
	dirty = calloc(a->conf.nroutes + 1, 1);
	if (!u.d || !dirty)
		goto out;
	if (u.old) {
		u.d->spare = u.old->spare;
		memset(&u.old->spare, 0, sizeof(u.old->spare));
	}
	if (u.old && u.old->nodes_gen == a->nodes_gen && !a->flips_lost && !a->edit.whole &&
	    u.old->nroutes == a->conf.nroutes && u.old->nups == a->conf.nupstreams) {
		err = health_update(&u, dirty, w);
	} else {
		err = nodes_scan(&u);
		if (!err)
			err = ups_update(&u);
		if (!err)
			err = routes_update(&u, dirty, w);
	}
	if (!err)
		err = want_emit(&u, dirty, w);
	u.d->nodes_gen = a->nodes_gen;
out:
	a->nflipped = 0;
	a->flips_lost = 0;
	a->edit.n = 0;
	a->edit.whole = 0;
	if (u.d) {
		give(u.d, SP_BIDX, u.bidx, u.d->bytes[SP_BIDX]);
		give(u.d, SP_DIRTY, u.node_dirty, u.d->bytes[SP_DIRTY]);
		if (u.old)
			recycle(u.d, u.old);
	} else {
		free(u.bidx);
		free(u.node_dirty);
	}
	if (!err && u.whole)
		spares_make(u.d);
	desired_free(u.old);
	a->desired = err ? NULL : u.d;
	if (err)
		desired_free(u.d);
	free(dirty);
	return err;
}
