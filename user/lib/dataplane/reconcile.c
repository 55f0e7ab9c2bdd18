// SPDX-License-Identifier: GPL-2.0-only
/*
 * Desired state -> maps, by difference. Order matters for the fast path:
 * backends (and their states) first, so a table never names an id that is
 * not set up yet; then VIPs, memberships and tables; removals last.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "base/addr.h"
#include "base/log.h"
#include "dataplane/maglev.h"
#include "dataplane/maps_internal.h"
#include "dataplane/netlink.h"
#include "dataplane/reconcile.h"
#include "base/vec.h"

/* Order of backends by identity: family, address, port. */
static int be_cmp(__u8 fa, const __be32 *aa, __be16 pa, __u8 fb, const __be32 *ab, __be16 pb)
{
	int d = memcmp(aa, ab, 16);

	if (fa != fb)
		return fa < fb ? -1 : 1;
	if (d)
		return d;
	return pa == pb ? 0 : ntohs(pa) < ntohs(pb) ? -1 : 1;
}

struct ctx {
	struct xlb_maps *m;
	struct xlb_backend *all; /* XLB_MAX_BACKENDS, as in the map */
	unsigned char *changed;	 /* per id: new or state changed */
	unsigned char *wanted;	 /* per id: in the desired state */
	__u32 *used;		 /* ids in use, sorted by identity */
	size_t nused;
	__u32 next_free;
	const struct xlb_want_backend **widx; /* wanted backends, sorted */
	struct xlb_reconcile_stats st;
};

static int used_cmp(const void *a, const void *b, void *arg)
{
	const struct xlb_backend *all = arg;
	const struct xlb_backend *x = &all[*(const __u32 *)a];
	const struct xlb_backend *y = &all[*(const __u32 *)b];

	return be_cmp(x->family, x->addr, x->port, y->family, y->addr, y->port);
}

/* Index of the backends in use, sorted for binary search. */
static int index_used(struct ctx *c)
{
	__u32 id;

	c->used = calloc(XLB_MAX_BACKENDS, sizeof(*c->used));
	if (!c->used)
		return -ENOMEM;
	for (id = 0; id < XLB_MAX_BACKENDS; id++)
		if (c->all[id].state != XLB_BE_UNUSED)
			c->used[c->nused++] = id;
	qsort_r(c->used, c->nused, sizeof(*c->used), used_cmp, c->all);
	return 0;
}

static int find_used(const struct ctx *c, const struct xlb_addr_key *a, __be16 port, __u32 *id)
{
	size_t lo = 0, hi = c->nused, mid;
	const struct xlb_backend *b;
	int d;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		b = &c->all[c->used[mid]];
		d = be_cmp(a->family, a->addr, port, b->family, b->addr, b->port);
		if (!d) {
			*id = c->used[mid];
			return 0;
		}
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

static int alloc_id(struct ctx *c, __u32 *id)
{
	for (; c->next_free < XLB_MAX_BACKENDS; c->next_free++) {
		if (c->all[c->next_free].state == XLB_BE_UNUSED) {
			*id = c->next_free++;
			return 0;
		}
	}
	return -ENOSPC;
}

/*
 * Step 1: every wanted backend has an id and its wanted state, except one
 * whose state the operator holds: it keeps it.
 */
static int apply_backends(struct ctx *c, struct xlb_want *w)
{
	struct xlb_want_backend *wb;
	char abuf[XLB_ADDRSTRLEN];
	struct xlb_backend b;
	size_t i;
	int err, found;

	for (i = 0; i < w->nbackends; i++) {
		wb = &w->backends[i];
		found = !find_used(c, &wb->addr, htons(wb->port), &wb->id);
		if (!found) {
			err = alloc_id(c, &wb->id);
			if (err)
				return err;
		}
		c->wanted[wb->id] = 1;
		/* A state the operator holds (xlb backend set) is not ours to change. */
		if (found &&
		    (c->all[wb->id].state == wb->state || xlb_backend_held(&c->all[wb->id])))
			continue;
		memset(&b, 0, sizeof(b));
		memcpy(b.addr, wb->addr.addr, sizeof(b.addr));
		b.family = wb->addr.family;
		b.port = htons(wb->port);
		b.state = wb->state;
		err = xlb_backend_write(c->m, wb->id, &b);
		if (err)
			return err;
		c->all[wb->id] = b;
		c->changed[wb->id] = 1;
		if (found) {
			c->st.backends_changed++;
			continue;
		}
		c->st.backends_added++;
		/*
		 * A new backend: have the kernel resolve its next hop now, so the
		 * fast path's FIB lookups find a MAC when traffic comes.
		 */
		err = xlb_nl_backend_prime(&wb->addr);
		if (err)
			pr_warn("backend %s: no neighbour entry prepared: %s\n",
				xlb_addr_str(wb->addr.addr, wb->addr.family, abuf, sizeof(abuf)),
				strerror(-err));
	}
	return 0;
}

static int want_be_cmp(const void *a, const void *b)
{
	const struct xlb_want_backend *x = *(const struct xlb_want_backend *const *)a;
	const struct xlb_want_backend *y = *(const struct xlb_want_backend *const *)b;

	return be_cmp(x->addr.family, x->addr.addr, x->port, y->addr.family, y->addr.addr, y->port);
}

/* The wanted backends sorted by identity, for member_id(). */
static const struct xlb_want_backend **index_wanted(const struct xlb_want *w)
{
	const struct xlb_want_backend **idx = calloc(w->nbackends + 1, sizeof(*idx));
	size_t i;

	if (!idx)
		return NULL;
	for (i = 0; i < w->nbackends; i++)
		idx[i] = &w->backends[i];
	qsort(idx, w->nbackends, sizeof(*idx), want_be_cmp);
	return idx;
}

/* Id of a wanted member's backend (apply_backends gave every one an id). */
static int member_id(const struct xlb_want_backend **idx, size_t n,
		     const struct xlb_want_member *wm, __u32 *id)
{
	size_t lo = 0, hi = n, mid;
	int d;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		d = be_cmp(wm->addr.family, wm->addr.addr, wm->port, idx[mid]->addr.family,
			   idx[mid]->addr.addr, idx[mid]->port);
		if (!d) {
			*id = idx[mid]->id;
			return 0;
		}
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

static int member_key_cmp(const struct xlb_member_key *a, const struct xlb_member_key *b);

static int order_cmp(const void *a, const void *b, void *arg)
{
	const struct xlb_member_key *k = arg;

	return member_key_cmp(&k[*(const size_t *)a], &k[*(const size_t *)b]);
}

static int member_key_cmp(const struct xlb_member_key *a, const struct xlb_member_key *b)
{
	if (a->vip_id != b->vip_id)
		return a->vip_id < b->vip_id ? -1 : 1;
	return a->backend_id == b->backend_id ? 0 : a->backend_id < b->backend_id ? -1 : 1;
}

/* Sort the current members by (VIP id, backend id), keys and values together. */
static int sort_members(struct xlb_member_list *ms)
{
	struct xlb_member_key *k;
	struct xlb_member *v;
	size_t *order, i;

	order = calloc(ms->n + 1, sizeof(*order));
	k = calloc(ms->n + 1, sizeof(*k));
	v = calloc(ms->n + 1, sizeof(*v));
	if (!order || !k || !v) {
		free(order);
		free(k);
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < ms->n; i++)
		order[i] = i;
	qsort_r(order, ms->n, sizeof(*order), order_cmp, ms->keys);
	for (i = 0; i < ms->n; i++) {
		k[i] = ms->keys[order[i]];
		v[i] = ms->vals[order[i]];
	}
	free(order);
	free(ms->keys);
	free(ms->vals);
	ms->keys = k;
	ms->vals = v;
	return 0;
}

/* First index of a member of vip_id (or of a later VIP) in the sorted members. */
static size_t members_from(const struct xlb_member_list *ms, __u32 vip_id)
{
	size_t lo = 0, hi = ms->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (ms->keys[mid].vip_id < vip_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Weight of (vip_id, be_id) in the current members, or -1. */
static long cur_weight(const struct xlb_member_list *ms, __u32 vip_id, __u32 be_id)
{
	struct xlb_member_key key = {.vip_id = vip_id, .backend_id = be_id};
	size_t lo = 0, hi = ms->n, mid;
	int d;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		d = member_key_cmp(&key, &ms->keys[mid]);
		if (!d)
			return ms->vals[mid].weight;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Step 2 for one VIP: memberships, then the table if anything it depends on moved. */
static int apply_vip_members(struct ctx *c, const struct xlb_want *w, const struct xlb_want_vip *wv,
			     const struct xlb_vip *v, const struct xlb_member_list *ms, int force)
{
	struct xlb_maglev_node *nodes;
	char(*keys)[XLB_VIPSTRLEN];
	__u32 *ids, id;
	size_t i, j, n = 0;
	int err = 0, dirty = force, keep;
	long cw;

	ids = calloc(wv->nmembers + 1, sizeof(*ids));
	nodes = calloc(wv->nmembers + 1, sizeof(*nodes));
	keys = calloc(wv->nmembers + 1, sizeof(*keys));
	if (!ids || !nodes || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < wv->nmembers; i++) {
		err = member_id(c->widx, w->nbackends, &wv->members[i], &ids[i]);
		if (err)
			goto out;
		cw = cur_weight(ms, v->id, ids[i]);
		if (cw != (long)wv->members[i].weight) {
			err = xlb_member_set(c->m, v->id, ids[i], wv->members[i].weight);
			if (err)
				goto out;
			c->st.members_changed++;
			dirty = 1;
		}
		dirty |= c->changed[ids[i]];
	}
	/* Members that are no longer wanted (sorted: this VIP's are together). */
	for (j = members_from(ms, v->id); j < ms->n && ms->keys[j].vip_id == v->id; j++) {
		for (keep = 0, i = 0; i < wv->nmembers && !keep; i++)
			keep = ids[i] == ms->keys[j].backend_id;
		if (keep)
			continue;
		err = xlb_member_del(c->m, v->id, ms->keys[j].backend_id);
		if (err && err != -ENOENT)
			goto out;
		c->st.members_changed++;
		dirty = 1;
	}
	if (!dirty)
		goto out;
	for (i = 0; i < wv->nmembers; i++) {
		id = ids[i];
		if (!wv->members[i].weight || c->all[id].state != XLB_BE_ACTIVE)
			continue;
		xlb_backend_key(&c->all[id], keys[n], sizeof(keys[n]));
		nodes[n].key = keys[n];
		nodes[n].weight = wv->members[i].weight;
		nodes[n].id = id;
		n++;
	}
	err = xlb_table_write(c->m, v, nodes, n);
	if (!err)
		c->st.tables_written++;
out:
	free(keys);
	free(nodes);
	free(ids);
	return err;
}

struct vips {
	struct xlb_vip_key *k;
	struct xlb_vip *v;
	size_t n, cap;
};

static int collect_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct vips *vs = arg;

	if (xlb_vec_room((void **)&vs->k, sizeof(*vs->k), (void **)&vs->v, sizeof(*vs->v), vs->n,
			 &vs->cap, 64))
		return -ENOMEM;
	vs->k[vs->n] = *k;
	vs->v[vs->n++] = *v;
	return 0;
}

static int find_vip(const struct vips *vs, const struct xlb_vip_key *k)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		if (!memcmp(&vs->k[i], k, sizeof(*k)))
			return (int)i;
	return -1;
}

/* Step 2: VIPs (new ones created together), each with its members and table. */
static int apply_vips(struct ctx *c, struct xlb_want *w, struct vips *cur,
		      const struct xlb_member_list *ms)
{
	struct xlb_vip_key *nkeys;
	struct xlb_vip *nvips, v;
	const struct xlb_want_vip *wv;
	size_t i, nnew = 0, at_new = 0;
	int err, at, force;

	nkeys = calloc(w->nvips + 1, sizeof(*nkeys));
	nvips = calloc(w->nvips + 1, sizeof(*nvips));
	if (!nkeys || !nvips) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < w->nvips; i++) {
		if (find_vip(cur, &w->vips[i].key) >= 0)
			continue;
		nkeys[nnew] = w->vips[i].key;
		nvips[nnew].flags = w->vips[i].flags;
		nvips[nnew].table_size = w->vips[i].table_size;
		nnew++;
	}
	/* One batch: installing tables costs a kernel grace period per call. */
	err = nnew ? xlb_vips_create(c->m, nkeys, nvips, nnew) : 0;
	if (err)
		goto out;
	c->st.vips_added += nnew;

	for (i = 0; i < w->nvips; i++) {
		wv = &w->vips[i];
		at = find_vip(cur, &wv->key);
		force = 0;
		if (at < 0) {
			v = nvips[at_new++];
			force = 1;
		} else {
			v = cur->v[at];
			if (v.flags != wv->flags || v.table_size != wv->table_size) {
				force = v.table_size != wv->table_size;
				v.flags = wv->flags;
				v.table_size = wv->table_size;
				/* A new size: the table first, so slots stay in range. */
				if (force) {
					err = apply_vip_members(c, w, wv, &v, ms, 1);
					if (err)
						goto out;
				}
				err = xlb_vip_update(c->m, &wv->key, &v);
				if (err)
					goto out;
				c->st.vips_updated++;
				if (force)
					continue;
			}
		}
		err = apply_vip_members(c, w, wv, &v, ms, force);
		if (err)
			goto out;
	}
out:
	free(nvips);
	free(nkeys);
	return err;
}

/* Step 3: what is no longer wanted. */
static int remove_rest(struct ctx *c, const struct xlb_want *w, const struct vips *cur)
{
	struct xlb_backend zero = {};
	size_t i, j;
	int err, keep;
	__u32 id;

	for (i = 0; i < cur->n; i++) {
		for (keep = 0, j = 0; j < w->nvips && !keep; j++)
			keep = !memcmp(&w->vips[j].key, &cur->k[i], sizeof(cur->k[i]));
		if (keep)
			continue;
		err = xlb_vip_delete(c->m, &cur->k[i]);
		if (err && err != -ENOENT)
			return err;
		c->st.vips_removed++;
	}
	for (id = 0; id < XLB_MAX_BACKENDS; id++) {
		if (c->all[id].state == XLB_BE_UNUSED || c->wanted[id])
			continue;
		err = xlb_backend_write(c->m, id, &zero);
		if (!err)
			err = xlb_flow_purge_backend(c->m, id);
		if (!err)
			err = xlb_nat_purge_backend(c->m, id);
		if (err)
			return err;
		c->st.backends_removed++;
	}
	return 0;
}

int xlb_reconcile(struct xlb_maps *m, struct xlb_want *w, struct xlb_reconcile_stats *st)
{
	struct ctx c = {.m = m};
	struct xlb_member_list ms = {.vip_id = ~0U, .be_id = ~0U};
	struct vips cur = {};
	int err;

	c.all = calloc(XLB_MAX_BACKENDS, sizeof(*c.all));
	c.changed = calloc(XLB_MAX_BACKENDS, 1);
	c.wanted = calloc(XLB_MAX_BACKENDS, 1);
	if (!c.all || !c.changed || !c.wanted) {
		err = -ENOMEM;
		goto out;
	}
	err = xlb_backends_read(m, c.all);
	if (!err)
		err = index_used(&c);
	if (!err)
		err = apply_backends(&c, w);
	if (!err)
		err = xlb_vip_foreach(m, collect_vip, &cur);
	if (!err)
		err = xlb_member_foreach(m, xlb_member_list_add, &ms);
	if (!err)
		err = sort_members(&ms);
	if (!err) {
		c.widx = index_wanted(w);
		err = c.widx ? 0 : -ENOMEM;
	}
	if (!err)
		err = apply_vips(&c, w, &cur, &ms);
	if (!err)
		err = remove_rest(&c, w, &cur);
out:
	if (st)
		*st = c.st;
	free(cur.k);
	free(cur.v);
	xlb_member_list_free(&ms);
	free(c.widx);
	free(c.used);
	free(c.wanted);
	free(c.changed);
	free(c.all);
	return err;
}
