// SPDX-License-Identifier: GPL-2.0-only
/*
 * Typed accessors of the objects a VIP is made of: VIPs (created with
 * an empty table, tables.c), backends with their states and next hops,
 * memberships, and the decap program's VIP set (flows: flows.c). A
 * backend's identity string, the one Maglev orders by, is here too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/addr.h"
#include "base/vec.h"
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"
#include "xlb_decap.skel.h"
#include "xlb_lb.skel.h"

/* --- VIPs ---------------------------------------------------------------- */

int xlb_vip_get(struct xlb_maps *m, const struct xlb_vip_key *k, struct xlb_vip *v)
{
	int err = ret_errno(bpf_map_lookup_elem(xlb_vip_map_fd(m, k), k, v));

	return !err && xlb_vip_is_bare(v) ? -ENOENT : err;
}

struct vip_walk {
	xlb_vip_cb cb;
	void *arg;
};

/* VIPs as their writers made them: no bare entry, no XLB_VIP_F_CLIENTS. */
static int vip_visible(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct vip_walk *w = arg;
	struct xlb_vip shown = *v;

	if (xlb_vip_is_bare(v))
		return 0;
	shown.flags &= ~XLB_VIP_F_CLIENTS;
	return w->cb(k, &shown, w->arg);
}

int xlb_vip_foreach(struct xlb_maps *m, xlb_vip_cb cb, void *arg)
{
	struct vip_walk w = {cb, arg};
	int ret;

	ret = xlb_map_walk(m->skel->maps.xlb_vips, XLB_WALK_VIPS,
			   (union xlb_walk_cb){.vip = vip_visible}, &w);
	if (ret)
		return ret;
	return xlb_map_walk(m->skel->maps.xlb_filtered_vips, XLB_WALK_FILTERED,
			    (union xlb_walk_cb){.vip = cb}, arg);
}

int xlb_vip_update(struct xlb_maps *m, const struct xlb_vip_key *k, const struct xlb_vip *v)
{
	struct xlb_vip cur;
	int err;

	/* The table (size and offset) changes only with xlb_table_write(). */
	err = xlb_vip_get(m, k, &cur);
	if (err)
		return err;
	cur.flags = (v->flags & ~XLB_VIP_F_CLIENTS) | (cur.flags & XLB_VIP_F_CLIENTS);
	return ret_errno(bpf_map_update_elem(xlb_vip_map_fd(m, k), k, &cur, BPF_EXIST));
}

struct free_ids {
	__u32 *ids;
	size_t n, got;
};

/* A VIP id without a key is free; 1 (stop) once n are found. */
static int free_id(const void *key, const void *value, void *arg)
{
	const struct xlb_vip_key *k = value;
	struct free_ids *f = arg;

	if (!k->family)
		f->ids[f->got++] = *(const __u32 *)key;
	return f->got == f->n;
}

/* Free VIP ids, from the key record (batched reads): ids[0..n-1]. */
static int free_vip_ids(struct xlb_maps *m, __u32 *ids, size_t n)
{
	struct free_ids f = {.ids = ids, .n = n};
	int err;

	if (!n)
		return 0;
	err = xlb_map_read_batched(m->skel->maps.xlb_vip_keys, free_id, &f);
	if (err < 0)
		return err;
	return f.got < n ? -ENOSPC : 0;
}

int xlb_vips_create(struct xlb_maps *m, const struct xlb_vip_key *keys, struct xlb_vip *vips,
		    size_t n)
{
	int kfd = map_fd(m->skel->maps.xlb_vip_keys), err;
	struct xlb_vip_key none = {};
	struct xlb_vip old;
	size_t i, made = 0;
	__u32 *ids;

	for (i = 0; i < n; i++) {
		if (!xlb_maglev_size_valid(vips[i].table_size) || xlb_vip_key_check(&keys[i]))
			return -EINVAL;
		if (!xlb_vip_get(m, &keys[i], &old))
			return -EEXIST;
	}
	ids = calloc(n + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	err = free_vip_ids(m, ids, n);
	for (i = 0; !err && i < n; i++)
		vips[i].id = ids[i];
	if (!err)
		err = xlb_tables_new(m, vips, n);
	if (err)
		goto out;
	for (i = 0; !err && i < n; i++) {
		xlb_percpu_zero(map_fd(m->skel->maps.xlb_vip_stats), vips[i].id,
				sizeof(struct xlb_traffic));
		err = ret_errno(bpf_map_update_elem(kfd, &vips[i].id, &keys[i], BPF_ANY));
		if (!err)
			err = xlb_vip_put(m, &keys[i], &vips[i]);
		if (!err)
			made++;
		else
			bpf_map_update_elem(kfd, &vips[i].id, &none, BPF_ANY);
	}
	/* On failure nothing half-made stays: the VIPs and tables of this call. */
	for (i = 0; err && i < n; i++) {
		if (i < made) {
			xlb_vip_unput(m, &keys[i]);
			bpf_map_update_elem(kfd, &vips[i].id, &none, BPF_ANY);
		}
		xlb_tables_free(m, &vips[i]);
	}
out:
	free(ids);
	return err;
}

int xlb_vip_create(struct xlb_maps *m, const struct xlb_vip_key *k, __u32 flags, __u32 table_size,
		   struct xlb_vip *out)
{
	struct xlb_vip v = {.flags = flags, .table_size = table_size};
	int err = xlb_vips_create(m, k, &v, 1);

	if (!err && out)
		*out = v;
	return err;
}

int xlb_member_list_add(const struct xlb_member_key *k, const struct xlb_member *v, void *arg)
{
	struct xlb_member_list *c = arg;

	if ((c->vip_id != ~0U && k->vip_id != c->vip_id) ||
	    (c->be_id != ~0U && k->backend_id != c->be_id))
		return 0;
	if (xlb_vec_room((void **)&c->keys, sizeof(*c->keys), (void **)&c->vals, sizeof(*c->vals),
			 c->n, &c->cap, 64))
		return -ENOMEM;
	c->keys[c->n] = *k;
	c->vals[c->n++] = *v;
	return 0;
}

void xlb_member_list_free(struct xlb_member_list *c)
{
	free(c->keys);
	free(c->vals);
}

/* The VIP out of the fast path (*v: what it was): its key, then its tables and id. */
static int vip_unlink(struct xlb_maps *m, const struct xlb_vip_key *k, struct xlb_vip *v)
{
	int err;

	err = xlb_vip_get(m, k, v);
	if (err)
		return err;
	/* Stop matching first, then take the rest away. */
	err = xlb_vip_unput(m, k);
	if (err)
		return err;
	xlb_tables_free(m, v);
	bpf_map_update_elem(map_fd(m->skel->maps.xlb_vip_keys), &v->id, &(struct xlb_vip_key){},
			    BPF_ANY);
	return 0;
}

int xlb_vip_delete_known(struct xlb_maps *m, const struct xlb_vip_key *k, const __u32 *be_ids,
			 size_t n)
{
	struct xlb_vip v;
	size_t i;
	int err;

	err = vip_unlink(m, k, &v);
	for (i = 0; !err && i < n; i++) {
		err = xlb_member_del(m, v.id, be_ids[i]);
		err = err == -ENOENT ? 0 : err;
	}
	return err;
}

int xlb_vip_delete(struct xlb_maps *m, const struct xlb_vip_key *k)
{
	struct xlb_member_list c = {.be_id = ~0U};
	struct xlb_vip v;
	size_t i;
	int err;

	err = vip_unlink(m, k, &v);
	if (err)
		return err;
	c.vip_id = v.id;
	err = xlb_member_foreach(m, xlb_member_list_add, &c);
	for (i = 0; !err && i < c.n; i++) {
		xlb_member_del(m, v.id, c.keys[i].backend_id);
		err = xlb_backend_release(m, c.keys[i].backend_id);
	}
	xlb_member_list_free(&c);
	return err;
}

/* --- backends and their next hops ------------------------------------------------------------ */

int xlb_backend_get(struct xlb_maps *m, __u32 id, struct xlb_backend *b)
{
	if (id >= XLB_MAX_BACKENDS)
		return -ENOENT;
	if (bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_backends), &id, b))
		return -errno;
	return b->state == XLB_BE_UNUSED ? -ENOENT : 0;
}

__u32 xlb_backend_cap(const struct xlb_maps *m)
{
	__u32 cap = bpf_map__max_entries(m->skel->maps.xlb_backends);

	return cap < XLB_MAX_BACKENDS ? cap : XLB_MAX_BACKENDS;
}

int xlb_backends_read(struct xlb_maps *m, struct xlb_backend *all)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys, out_batch, count = XLB_MAX_BACKENDS;
	int err = 0;

	keys = calloc(XLB_MAX_BACKENDS, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	if (bpf_map_lookup_batch(map_fd(m->skel->maps.xlb_backends), NULL, &out_batch, keys, all,
				 &count, &opts) &&
	    errno != ENOENT)
		err = -errno;
	free(keys);
	return err;
}

void xlb_backend_gen(const struct xlb_backend *old, struct xlb_backend *b)
{
	int same = old->state != XLB_BE_UNUSED && b->state != XLB_BE_UNUSED &&
		   old->family == b->family && old->port == b->port &&
		   !memcmp(old->addr, b->addr, sizeof(b->addr));

	b->gen = same ? old->gen : (__u16)(old->gen + 1);
}

int xlb_backend_write(struct xlb_maps *m, __u32 id, const struct xlb_backend *b)
{
	return xlb_backends_write_n(m, &id, b, 1, NULL);
}

/* From this many entries on, one read of the whole array beats a read per entry. */
#define BE_READ_ALL 256

int xlb_backends_write_n(struct xlb_maps *m, const __u32 *ids, const struct xlb_backend *vals,
			 size_t n, size_t *done)
{
	int fd = map_fd(m->skel->maps.xlb_backends), err = 0;
	struct xlb_backend *nv, *all = NULL, old;
	__u32 cap = xlb_backend_cap(m);
	size_t i;

	if (done)
		*done = 0;
	nv = malloc((n ? n : 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	if (n >= BE_READ_ALL) {
		all = xlb_backends_read_new(m);
		if (!all)
			err = -errno;
	}
	/* Each entry's gen against the entry there now. */
	for (i = 0; !err && i < n; i++) {
		if (ids[i] >= cap)
			err = -EINVAL;
		else if (all)
			old = all[ids[i]];
		else if (bpf_map_lookup_elem(fd, &ids[i], &old))
			err = -errno;
		if (!err) {
			nv[i] = vals[i];
			xlb_backend_gen(&old, &nv[i]);
		}
	}
	if (!err)
		err = xlb_map_update_n(fd, ids, sizeof(*ids), nv, sizeof(*nv), n, done);
	free(all);
	free(nv);
	return err;
}

struct xlb_backend *xlb_backends_read_new(struct xlb_maps *m)
{
	struct xlb_backend *all = calloc(XLB_MAX_BACKENDS, sizeof(*all));
	int err;

	if (!all) {
		errno = ENOMEM;
		return NULL;
	}
	err = xlb_backends_read(m, all);
	if (err) {
		free(all);
		errno = -err;
		return NULL;
	}
	return all;
}

int xlb_backend_find(struct xlb_maps *m, const struct xlb_addr_key *a, __u16 port, __u32 *id)
{
	struct xlb_backend *all = xlb_backends_read_new(m);
	__u32 i;
	int err = -ENOENT;

	if (!all)
		return -errno ? -errno : -ENOMEM;
	for (i = 0; i < XLB_MAX_BACKENDS; i++) {
		if (all[i].state != XLB_BE_UNUSED && all[i].family == a->family &&
		    all[i].port == htons(port) && !memcmp(all[i].addr, a->addr, 16)) {
			*id = i;
			err = 0;
			break;
		}
	}
	free(all);
	return err;
}

int xlb_backend_ensure(struct xlb_maps *m, const struct xlb_addr_key *a, __u16 port, __u32 *id)
{
	struct xlb_backend *all, b = {};
	__u32 i, free_id = ~0U, cap = xlb_backend_cap(m);
	int err;

	all = xlb_backends_read_new(m);
	if (!all)
		return -ENOMEM;
	for (i = 0; i < cap; i++) {
		if (all[i].state == XLB_BE_UNUSED) {
			if (free_id == ~0U)
				free_id = i;
			continue;
		}
		if (all[i].family == a->family && all[i].port == htons(port) &&
		    !memcmp(all[i].addr, a->addr, 16)) {
			*id = i;
			free(all);
			return 0;
		}
	}
	free(all);
	if (free_id == ~0U)
		return -ENOSPC;
	memcpy(b.addr, a->addr, 16);
	b.family = a->family;
	b.port = htons(port);
	b.state = XLB_BE_ACTIVE;
	xlb_percpu_zero(map_fd(m->skel->maps.xlb_backend_stats), free_id,
			sizeof(struct xlb_traffic));
	bpf_map_update_elem(map_fd(m->skel->maps.xlb_nexthops), &free_id, &(struct xlb_nexthop){},
			    BPF_ANY);
	err = xlb_backend_write(m, free_id, &b);
	if (!err)
		*id = free_id;
	return err;
}

/*
 * Write a backend's state and who set it; the rest of its entry stays.
 * With keep_held, a state the operator holds is not overwritten (-EBUSY).
 */
static int backend_put_state(struct xlb_maps *m, __u32 id, enum xlb_backend_state state,
			     enum xlb_backend_by by, int keep_held)
{
	struct xlb_backend b;
	int err;

	if (state == XLB_BE_UNUSED || state >= XLB_BE_STATE_MAX)
		return -EINVAL;
	err = xlb_backend_get(m, id, &b);
	if (err)
		return err;
	if (keep_held && xlb_backend_held(&b))
		return -EBUSY;
	b.state = state;
	b.by = by;
	/* The entry as read, its state changed: the same gen (xlb_backend_gen()). */
	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_backends), &id, &b, BPF_ANY));
}

/**
 * xlb_backend_set_state() - the agent's state of a backend
 * @m: the maps
 * @id: the backend
 * @state: XLB_BE_ACTIVE, XLB_BE_DRAINING or XLB_BE_DOWN
 *
 * A state the operator holds (xlb_backend_hold()) stays as it is.
 * Return: 0, -EBUSY when the operator holds the backend, -ENOENT for a
 * free slot, -EINVAL for a bad @state, or another negative errno.
 */
int xlb_backend_set_state(struct xlb_maps *m, __u32 id, enum xlb_backend_state state)
{
	return backend_put_state(m, id, state, XLB_BY_AGENT, 1);
}

/**
 * xlb_backend_hold() - the operator's state of a backend (xlb backend set)
 * @m: the maps
 * @id: the backend
 * @state: XLB_BE_DRAINING or XLB_BE_DOWN to hold the backend there (the
 *	agent's writes leave it alone), XLB_BE_ACTIVE to end a hold and hand
 *	the backend back to the agent
 *
 * Return: 0, -ENOENT for a free slot, -EINVAL for a bad @state, or another
 * negative errno.
 */
int xlb_backend_hold(struct xlb_maps *m, __u32 id, enum xlb_backend_state state)
{
	return backend_put_state(m, id, state,
				 state == XLB_BE_ACTIVE ? XLB_BY_AGENT : XLB_BY_OPERATOR, 0);
}

/**
 * xlb_backend_held() - whether the operator holds a backend's state
 * @b: a backend entry
 *
 * Return: 1 when the operator set it draining or down, else 0.
 */
int xlb_backend_held(const struct xlb_backend *b)
{
	return b->by == XLB_BY_OPERATOR && b->state != XLB_BE_UNUSED && b->state != XLB_BE_ACTIVE;
}

int xlb_backend_release(struct xlb_maps *m, __u32 id)
{
	struct xlb_member_list c = {.vip_id = ~0U, .be_id = id};
	int err;

	if (id >= XLB_MAX_BACKENDS)
		return -EINVAL;
	err = xlb_member_foreach(m, xlb_member_list_add, &c);
	xlb_member_list_free(&c);
	if (err || c.n)
		return err;
	/* The next generation: the id's flows are re-picked, none is walked. */
	err = xlb_backend_write(m, id, &(struct xlb_backend){.state = XLB_BE_UNUSED});
	if (!err)
		err = xlb_nat_purge_backend(m, id);
	return err;
}

int xlb_nexthop_set(struct xlb_maps *m, __u32 id, const struct xlb_nexthop *nh)
{
	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_nexthops), &id, nh, BPF_ANY));
}

/* --- members ------------------------------------------------------------- */

int xlb_member_get(struct xlb_maps *m, __u32 vip_id, __u32 be_id, struct xlb_member *v)
{
	struct xlb_member_key k = {.vip_id = vip_id, .backend_id = be_id};

	return ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_members), &k, v));
}

int xlb_member_set(struct xlb_maps *m, __u32 vip_id, __u32 be_id, __u32 weight)
{
	struct xlb_member_key k = {.vip_id = vip_id, .backend_id = be_id};
	struct xlb_member v = {.weight = weight};

	if (weight > XLB_WEIGHT_MAX)
		return -ERANGE;
	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_members), &k, &v, BPF_ANY));
}

int xlb_member_del(struct xlb_maps *m, __u32 vip_id, __u32 be_id)
{
	struct xlb_member_key k = {.vip_id = vip_id, .backend_id = be_id};

	return ret_errno(bpf_map_delete_elem(map_fd(m->skel->maps.xlb_members), &k));
}

int xlb_member_foreach(struct xlb_maps *m, xlb_member_cb cb, void *arg)
{
	return xlb_map_walk(m->skel->maps.xlb_members, XLB_WALK_MEMBERS,
			    (union xlb_walk_cb){.member = cb}, arg);
}

void xlb_backend_key(const struct xlb_backend *b, char *buf, size_t len)
{
	char a[XLB_ADDRSTRLEN];

	xlb_addr_str(b->addr, b->family, a, sizeof(a));
	snprintf(buf, len, b->family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", a, ntohs(b->port));
}

void xlb_backend_label(const struct xlb_backend *b, char *buf, size_t len)
{
	if (b->port)
		xlb_backend_key(b, buf, len);
	else
		xlb_addr_str(b->addr, b->family, buf, len);
}

/* --- decap VIPs ---------------------------------------------------------- */

int xlb_decap_vip_add(struct xlb_decap_maps *m, const struct xlb_addr_key *a)
{
	__u32 one = 1;

	return ret_errno(
		bpf_map_update_elem(map_fd(m->skel->maps.xlb_decap_vips), a, &one, BPF_NOEXIST));
}

int xlb_decap_vip_del(struct xlb_decap_maps *m, const struct xlb_addr_key *a)
{
	return ret_errno(bpf_map_delete_elem(map_fd(m->skel->maps.xlb_decap_vips), a));
}

int xlb_decap_vip_foreach(struct xlb_decap_maps *m, xlb_addr_cb cb, void *arg)
{
	return xlb_map_walk(m->skel->maps.xlb_decap_vips, XLB_WALK_DECAP_VIPS,
			    (union xlb_walk_cb){.addr = cb}, arg);
}
