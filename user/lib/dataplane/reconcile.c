// SPDX-License-Identifier: GPL-2.0-only
/*
 * Desired state -> maps, by difference against a shadow of the maps, in
 * three stages. Plan (memory only, plus reads): backend ids and states,
 * each VIP's new member set, capacity; nothing is written when the plan
 * fails. Write, in the order the fast path needs (new VIPs, backends and
 * their states, then per VIP its members and table), with an undo journal:
 * a failed write puts back what this call changed. Removals last, once the
 * new state serves. The shadow then holds what the maps hold. A new
 * VIP's members go in one batched map update.
 *
 * A partial desired state is planned for what it lists alone; a count per
 * backend of the VIPs holding it finds the backends it leaves unused.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <arpa/inet.h>

#include "base/addr.h"
#include "base/log.h"
#include "dataplane/chains.h"
#include "dataplane/maglev.h"
#include "dataplane/maps_internal.h"
#include "dataplane/netlink.h"
#include "dataplane/reconcile.h"

#define SLOT_EMPTY (~0U)
#define HASH_SLOTS (2 * XLB_MAX_BACKENDS) /* a power of two: load <= 1/2 */

/* One member of a VIP as the maps hold it. */
struct sh_member {
	__u32 id;
	__u32 weight;
};

struct sh_vip {
	struct xlb_vip_key key;
	struct xlb_vip v;
	size_t n;
	struct sh_member *m; /* sorted by id */
};

struct xlb_shadow {
	int adopted;
	__u32 gen;		/* this reconcile's number: stamps below equal to it are current */
	struct xlb_backend *be; /* XLB_MAX_BACKENDS, as in the map */
	__u32 *fresh;		/* per id: gen when be[id] was read from or written to the map */
	__u32 *wanted;		/* per id: gen of the last reconcile that wanted it */
	__u32 *changed;		/* per id: gen in which it became or stopped being active */
	__u32 *refs;		/* per id: how many VIPs of the shadow hold it */
	__u32 *slots;		/* identity -> id, open addressing, linear probing */
	size_t nbackends;
	struct sh_vip *vips; /* sorted by key between reconciles */
	size_t nvips, cap;
	size_t nmembers; /* entries of the member map */
};

/* --- the identity hash of backends ------------------------------------------- */

static __u32 be_hash(__u8 family, const __be32 *addr, __be16 port)
{
	__u64 h = 0x9e3779b97f4a7c15ULL ^ family;
	int i;

	for (i = 0; i < 4; i++) {
		h = (h ^ addr[i]) * 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	h = (h ^ port) * 0xc4ceb9fe1a85ec53ULL;
	return (__u32)(h ^ (h >> 33));
}

static int be_is(const struct xlb_backend *b, __u8 family, const __be32 *addr, __be16 port)
{
	return b->family == family && b->port == port && !memcmp(b->addr, addr, sizeof(b->addr));
}

/* The slot that holds the backend, or the empty slot where it would go. */
static size_t hash_slot(const struct xlb_shadow *s, __u8 family, const __be32 *addr, __be16 port)
{
	size_t i = be_hash(family, addr, port) & (HASH_SLOTS - 1);

	while (s->slots[i] != SLOT_EMPTY && !be_is(&s->be[s->slots[i]], family, addr, port))
		i = (i + 1) & (HASH_SLOTS - 1);
	return i;
}

static __u32 hash_find(const struct xlb_shadow *s, const struct xlb_addr_key *a, __be16 port)
{
	return s->slots[hash_slot(s, a->family, a->addr, port)];
}

/* Take id out (be[id] still names it); backward shift keeps probes unbroken. */
static void hash_del(struct xlb_shadow *s, __u32 id)
{
	const struct xlb_backend *b = &s->be[id];
	size_t i = hash_slot(s, b->family, b->addr, b->port), j = i, k;

	if (s->slots[i] != id)
		return;
	for (;;) {
		j = (j + 1) & (HASH_SLOTS - 1);
		if (s->slots[j] == SLOT_EMPTY)
			break;
		b = &s->be[s->slots[j]];
		k = be_hash(b->family, b->addr, b->port) & (HASH_SLOTS - 1);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		s->slots[i] = s->slots[j];
		i = j;
	}
	s->slots[i] = SLOT_EMPTY;
}

int xlb_shadow_backend_id(const struct xlb_shadow *s, const struct xlb_addr_key *a, __u16 port,
			  __u32 *id)
{
	__u32 k;

	if (!s || !s->adopted)
		return -ENOENT;
	k = hash_find(s, a, htons(port));
	*id = k == SLOT_EMPTY ? ~0U : k;
	return 0;
}

void xlb_want_free(struct xlb_want *w)
{
	size_t i;

	for (i = 0; i < w->nvips; i++)
		free(w->vips[i].members);
	free(w->vips);
	free(w->backends);
	free(w->gone);
	memset(w, 0, sizeof(*w));
}

/* --- the shadow ---------------------------------------------------------------- */

struct xlb_shadow *xlb_shadow_new(void)
{
	struct xlb_shadow *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->be = calloc(XLB_MAX_BACKENDS, sizeof(*s->be));
	s->fresh = calloc(XLB_MAX_BACKENDS, sizeof(*s->fresh));
	s->wanted = calloc(XLB_MAX_BACKENDS, sizeof(*s->wanted));
	s->changed = calloc(XLB_MAX_BACKENDS, sizeof(*s->changed));
	s->refs = calloc(XLB_MAX_BACKENDS, sizeof(*s->refs));
	s->slots = malloc(HASH_SLOTS * sizeof(*s->slots));
	if (!s->be || !s->fresh || !s->wanted || !s->changed || !s->refs || !s->slots) {
		xlb_shadow_free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void xlb_shadow_reset(struct xlb_shadow *s)
{
	size_t i;

	for (i = 0; i < s->nvips; i++)
		free(s->vips[i].m);
	s->nvips = 0;
	s->nbackends = 0;
	s->nmembers = 0;
	s->adopted = 0;
}

void xlb_shadow_free(struct xlb_shadow *s)
{
	if (!s)
		return;
	xlb_shadow_reset(s);
	free(s->vips);
	free(s->slots);
	free(s->refs);
	free(s->changed);
	free(s->wanted);
	free(s->fresh);
	free(s->be);
	free(s);
}

static int vip_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct xlb_vip_key));
}

static int sh_vip_cmp(const void *a, const void *b)
{
	return vip_key_cmp(&((const struct sh_vip *)a)->key, &((const struct sh_vip *)b)->key);
}

static int member_cmp(const void *a, const void *b)
{
	__u32 x = ((const struct sh_member *)a)->id, y = ((const struct sh_member *)b)->id;

	return x == y ? 0 : x < y ? -1 : 1;
}

/* Index of key among the first n (sorted) VIPs, or -1. */
static long vip_find(const struct xlb_shadow *s, size_t n, const struct xlb_vip_key *key)
{
	size_t lo = 0, hi = n, mid;
	int d;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		d = vip_key_cmp(key, &s->vips[mid].key);
		if (!d)
			return (long)mid;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int vip_room(struct xlb_shadow *s, size_t more)
{
	size_t cap = s->cap ? s->cap : 64;
	struct sh_vip *p;

	while (cap < s->nvips + more)
		cap *= 2;
	if (cap == s->cap)
		return 0;
	p = realloc(s->vips, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->vips = p;
	s->cap = cap;
	return 0;
}

static int collect_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct xlb_shadow *s = arg;

	if (vip_room(s, 1))
		return -ENOMEM;
	s->vips[s->nvips++] = (struct sh_vip){.key = *k, .v = *v};
	return 0;
}

/* Members into their VIPs (a member of no VIP counts, but belongs nowhere). */
static int adopt_members(struct xlb_shadow *s, const struct xlb_member_list *ms)
{
	long *by_id = malloc(XLB_MAX_VIPS * sizeof(*by_id));
	struct sh_vip *sv;
	size_t i;
	long at;

	if (!by_id)
		return -ENOMEM;
	for (i = 0; i < XLB_MAX_VIPS; i++)
		by_id[i] = -1;
	for (i = 0; i < s->nvips; i++)
		if (s->vips[i].v.id < XLB_MAX_VIPS)
			by_id[s->vips[i].v.id] = (long)i;
	for (i = 0; i < ms->n; i++) {
		at = ms->keys[i].vip_id < XLB_MAX_VIPS ? by_id[ms->keys[i].vip_id] : -1;
		if (at >= 0)
			s->vips[at].n++;
	}
	for (i = 0; i < s->nvips; i++) {
		s->vips[i].m = calloc(s->vips[i].n + 1, sizeof(*s->vips[i].m));
		if (!s->vips[i].m) {
			free(by_id);
			return -ENOMEM;
		}
		s->vips[i].n = 0;
	}
	for (i = 0; i < ms->n; i++) {
		at = ms->keys[i].vip_id < XLB_MAX_VIPS ? by_id[ms->keys[i].vip_id] : -1;
		if (at < 0)
			continue;
		sv = &s->vips[at];
		sv->m[sv->n++] = (struct sh_member){ms->keys[i].backend_id, ms->vals[i].weight};
		if (ms->keys[i].backend_id < XLB_MAX_BACKENDS)
			s->refs[ms->keys[i].backend_id]++;
	}
	for (i = 0; i < s->nvips; i++)
		qsort(s->vips[i].m, s->vips[i].n, sizeof(*s->vips[i].m), member_cmp);
	s->nmembers = ms->n;
	free(by_id);
	return 0;
}

/* Read what the maps hold: the backend array in one batch, VIPs, members. */
static int adopt(struct xlb_shadow *s, struct xlb_maps *m)
{
	struct xlb_member_list ms = {.vip_id = ~0U, .be_id = ~0U};
	struct xlb_backend *b;
	size_t slot;
	__u32 id;
	int err;

	xlb_shadow_reset(s);
	memset(s->slots, 0xff, HASH_SLOTS * sizeof(*s->slots));
	memset(s->refs, 0, XLB_MAX_BACKENDS * sizeof(*s->refs));
	err = xlb_backends_read(m, s->be);
	if (err)
		return err;
	for (id = 0; id < XLB_MAX_BACKENDS; id++) {
		b = &s->be[id];
		s->fresh[id] = s->gen;
		if (b->state == XLB_BE_UNUSED)
			continue;
		s->nbackends++;
		/* Two entries of one identity (only a bug makes them): the first is it. */
		slot = hash_slot(s, b->family, b->addr, b->port);
		if (s->slots[slot] == SLOT_EMPTY)
			s->slots[slot] = id;
	}
	err = xlb_vip_foreach(m, collect_vip, s);
	if (!err)
		err = xlb_member_foreach(m, xlb_member_list_add, &ms);
	if (!err) {
		qsort(s->vips, s->nvips, sizeof(*s->vips), sh_vip_cmp);
		err = adopt_members(s, &ms);
	}
	xlb_member_list_free(&ms);
	if (err)
		xlb_shadow_reset(s);
	else
		s->adopted = 1;
	return err;
}

/* --- one reconcile --------------------------------------------------------- */

/* A backend entry as it was before this reconcile changed it. */
struct be_undo {
	__u32 id;
	struct xlb_backend old;
	const struct xlb_want_backend *wb;
};

/* A VIP to write: its value and member set to be. */
struct vip_plan {
	const struct xlb_want_vip *wv; /* NULL: not listed, its table alone is rebuilt */
	struct xlb_vip_key key;
	long at;	  /* in the shadow; new VIPs: set when created */
	int is_new;	  /* created by this reconcile */
	int table;	  /* its table is to be rebuilt */
	struct xlb_vip v; /* the value to be (id: the shadow's) */
	size_t n;
	struct sh_member *m; /* sorted by id; moves into the shadow on success */
	size_t added;	     /* members not in the old set */
};

struct run {
	struct xlb_maps *m;
	struct xlb_shadow *s;
	struct xlb_want *w;
	struct xlb_reconcile_stats *st;
	struct be_undo *bu;
	size_t nbu, nbu_written;
	struct vip_plan *vp;
	size_t nvp, nvp_started, capvp;
	size_t old_nvips; /* shadow VIPs before this reconcile (new ones follow) */
	size_t nnew_vips, nnew_backends;
	size_t nmoved;	     /* backends that became or stopped being active */
	unsigned char *seen; /* per old shadow VIP: SEEN_* */
	struct sh_member *scratch;
	__u32 *freed; /* ids no VIP of the shadow holds any more (partial) */
	size_t nfreed, capfreed;
};

enum {
	SEEN_NOT = 0, /* not in a partial state: stays; in a whole one: removed */
	SEEN_WANTED,
	SEEN_GONE, /* listed in w->gone */
};

static void why(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set the error message, unless one is set already (the first cause wins). */
static void why(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->st->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->st->error, sizeof(r->st->error), fmt, ap);
	va_end(ap);
}

static void why_more(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void why_more(struct run *r, const char *fmt, ...)
{
	size_t len = strlen(r->st->error);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->st->error + len, sizeof(r->st->error) - len, fmt, ap);
	va_end(ap);
}

/* An errno as text, naming the limit when it is the open-files one. */
static const char *err_str(int err, char *buf, size_t len)
{
	struct rlimit rl;

	if (err != -EMFILE)
		return strerror(-err);
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		snprintf(buf, len, "open files limit (ulimit -n) reached");
	else
		snprintf(buf, len, "open files limit (ulimit -n) %llu reached",
			 (unsigned long long)rl.rlim_cur);
	return buf;
}

static const char *vip_s(const struct xlb_vip_key *k, char *buf)
{
	return xlb_vip_str(k, buf, XLB_VIPSTRLEN);
}

static const char *be_s(const struct xlb_backend *b, char *buf)
{
	xlb_backend_key(b, buf, XLB_VIPSTRLEN);
	return buf;
}

/* A free backend id below cap (the maps' size), from *cursor on. */
static __u32 alloc_id(struct xlb_shadow *s, __u32 *cursor, __u32 cap)
{
	for (; *cursor < cap; (*cursor)++)
		if (s->be[*cursor].state == XLB_BE_UNUSED)
			return (*cursor)++;
	return SLOT_EMPTY;
}

static void mark_changed(struct run *r, __u32 id, __u8 old_state)
{
	struct xlb_shadow *s = r->s;

	if ((old_state == XLB_BE_ACTIVE) == (s->be[id].state == XLB_BE_ACTIVE) ||
	    s->changed[id] == s->gen)
		return;
	s->changed[id] = s->gen;
	r->nmoved++;
}

/* Re-read an entry not read or written by this reconcile (another writer's hold). */
static int refresh(struct run *r, __u32 id)
{
	struct xlb_shadow *s = r->s;
	struct xlb_backend b;
	__u8 old = s->be[id].state;
	int err;

	if (s->fresh[id] == s->gen)
		return 0;
	err = xlb_backend_get(r->m, id, &b);
	if (err == -ENOENT)
		return 0; /* freed by another writer: ours to write again */
	if (err)
		return err;
	if (!be_is(&b, s->be[id].family, s->be[id].addr, s->be[id].port))
		return 0; /* reused by another writer: ours wins */
	s->be[id].state = b.state;
	s->be[id].by = b.by;
	s->fresh[id] = s->gen;
	mark_changed(r, id, old);
	return 0;
}

/*
 * Plan 1: every wanted backend gets its id (new ones the lowest free ids)
 * and its wanted state, in the shadow only; the journal keeps what was.
 */
static int plan_backends(struct run *r)
{
	struct xlb_shadow *s = r->s;
	struct xlb_want *w = r->w;
	struct xlb_want_backend *wb;
	struct xlb_backend *cur;
	char buf[XLB_VIPSTRLEN], ebuf[96];
	__u32 cursor = 0, id, cap = xlb_backend_cap(r->m);
	size_t i, slot, more;
	int err;

	r->bu = calloc(w->nbackends + 1, sizeof(*r->bu));
	if (!r->bu)
		return -ENOMEM;
	for (i = 0; i < w->nbackends; i++) {
		wb = &w->backends[i];
		/* The caller's hint, when right, saves the search. */
		id = wb->hint - 1;
		if (!wb->hint || id >= XLB_MAX_BACKENDS || s->be[id].state == XLB_BE_UNUSED ||
		    !be_is(&s->be[id], wb->addr.family, wb->addr.addr, htons(wb->port))) {
			slot = hash_slot(s, wb->addr.family, wb->addr.addr, htons(wb->port));
			id = s->slots[slot];
		}
		if (id == SLOT_EMPTY) {
			id = alloc_id(s, &cursor, cap);
			if (id == SLOT_EMPTY) {
				for (more = 0; i < w->nbackends; i++)
					more += hash_find(s, &w->backends[i].addr,
							  htons(w->backends[i].port)) == SLOT_EMPTY;
				why(r,
				    "backend ids: %zu in use and %zu more wanted, the maps hold %u "
				    "(xlb attach --backends, the backends setting)",
				    s->nbackends, more, cap);
				return -ENOSPC;
			}
			r->bu[r->nbu++] = (struct be_undo){.id = id, .old = s->be[id], .wb = wb};
			cur = &s->be[id];
			memset(cur, 0, sizeof(*cur));
			memcpy(cur->addr, wb->addr.addr, sizeof(cur->addr));
			cur->family = wb->addr.family;
			cur->port = htons(wb->port);
			cur->state = wb->state;
			cur->by = XLB_BY_AGENT;
			s->slots[slot] = id;
			s->nbackends++;
			s->changed[id] = s->gen;
			r->nmoved++;
			r->nnew_backends++;
		} else {
			cur = &s->be[id];
			/* A hold is re-read: the operator may have released it. */
			if (cur->state != wb->state || xlb_backend_held(cur)) {
				err = refresh(r, id);
				if (err) {
					why(r, "backend %s: reading its state: %s", be_s(cur, buf),
					    err_str(err, ebuf, sizeof(ebuf)));
					return err;
				}
			}
			/* A state the operator holds (xlb backend set) is not ours to change. */
			if (cur->state != wb->state && !xlb_backend_held(cur)) {
				r->bu[r->nbu++] = (struct be_undo){.id = id, .old = *cur, .wb = wb};
				cur->state = wb->state;
				cur->by = XLB_BY_AGENT;
				mark_changed(r, id, r->bu[r->nbu - 1].old.state);
			}
		}
		wb->id = id;
		s->wanted[id] = s->gen;
	}
	return 0;
}

/* A wanted VIP's members as ids and weights, sorted by id, into out: how many, or -errno. */
static int vip_members(struct run *r, const struct xlb_want_vip *wv, struct sh_member *out)
{
	struct xlb_shadow *s = r->s;
	const struct xlb_want_backend *wb;
	const struct xlb_want_member *wm;
	char vb[XLB_VIPSTRLEN], ab[XLB_ADDRSTRLEN];
	size_t i, n, sorted = 1;
	__u32 id;

	for (i = 0; i < wv->nmembers; i++) {
		wm = &wv->members[i];
		wb = wm->backend && wm->backend <= r->w->nbackends
			     ? &r->w->backends[wm->backend - 1]
			     : NULL;
		if (wb && wb->port == wm->port && !memcmp(&wb->addr, &wm->addr, sizeof(wb->addr)))
			id = wb->id;
		else
			id = hash_find(s, &wm->addr, htons(wm->port));
		if (id == SLOT_EMPTY || s->wanted[id] != s->gen) {
			why(r, "VIP %s: member %s port %u is not among the wanted backends",
			    vip_s(&wv->key, vb),
			    xlb_addr_str(wm->addr.addr, wm->addr.family, ab, sizeof(ab)), wm->port);
			return -EINVAL;
		}
		if (wm->weight > XLB_WEIGHT_MAX) {
			why(r, "VIP %s: member %s port %u: weight %u is above %u",
			    vip_s(&wv->key, vb),
			    xlb_addr_str(wm->addr.addr, wm->addr.family, ab, sizeof(ab)), wm->port,
			    wm->weight, XLB_WEIGHT_MAX);
			return -ERANGE;
		}
		out[i] = (struct sh_member){id, wm->weight};
		sorted &= !i || out[i - 1].id < id;
	}
	if (!sorted)
		qsort(out, wv->nmembers, sizeof(*out), member_cmp);
	/* A backend named twice is one member, with the last weight given (as a map write would). */
	for (i = 0, n = 0; i < wv->nmembers; i++) {
		if (n && out[n - 1].id == out[i].id)
			out[n - 1].weight = out[i].weight;
		else
			out[n++] = out[i];
	}
	return (int)n;
}

/* Members of new not in old (both sorted). */
static size_t members_added(const struct sh_member *old, size_t nold, const struct sh_member *new,
			    size_t nnew)
{
	size_t i = 0, j = 0, added = 0;

	while (j < nnew) {
		if (i < nold && old[i].id < new[j].id) {
			i++;
		} else if (i < nold && old[i].id == new[j].id) {
			i++;
			j++;
		} else {
			added++;
			j++;
		}
	}
	return added;
}

/* Whether a table over these members depends on a backend that changed now. */
static int members_moved(const struct xlb_shadow *s, const struct sh_member *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (m[i].weight && s->changed[m[i].id] == s->gen)
			return 1;
	return 0;
}

/* Room for one more plan. */
static struct vip_plan *plan_next(struct run *r)
{
	size_t cap = r->capvp ? 2 * r->capvp : 64;
	struct vip_plan *p;

	if (r->nvp < r->capvp)
		return &r->vp[r->nvp];
	p = realloc(r->vp, cap * sizeof(*p));
	if (!p)
		return NULL;
	r->vp = p;
	r->capvp = cap;
	return &r->vp[r->nvp];
}

/* Plan p (r->vp[r->nvp]) counts, with its own copy of its p->n members m. */
static int plan_add(struct run *r, struct vip_plan *p, const struct sh_member *m)
{
	p->m = malloc((p->n + 1) * sizeof(*p->m));
	if (!p->m)
		return -ENOMEM;
	memcpy(p->m, m, p->n * sizeof(*p->m));
	r->nvp++;
	return 0;
}

static int plan_vip(struct run *r, const struct xlb_want_vip *wv)
{
	struct xlb_shadow *s = r->s;
	struct vip_plan *p = plan_next(r);
	const struct sh_vip *old = NULL;
	char vb[XLB_VIPSTRLEN];
	int err, same;
	long at;

	if (!xlb_maglev_size_valid(wv->table_size)) {
		why(r, "VIP %s: table size %u is not a prime in 3..%u", vip_s(&wv->key, vb),
		    wv->table_size, XLB_MAGLEV_MAX);
		return -EINVAL;
	}
	if (!p)
		return -ENOMEM;
	at = vip_find(s, r->old_nvips, &wv->key);
	if (at >= 0) {
		if (r->seen[at]) {
			why(r, "VIP %s is %s", vip_s(&wv->key, vb),
			    r->seen[at] == SEEN_GONE ? "both wanted and gone" : "wanted twice");
			return -EINVAL;
		}
		r->seen[at] = SEEN_WANTED;
		old = &s->vips[at];
	}
	err = vip_members(r, wv, r->scratch);
	if (err < 0)
		return err;
	*p = (struct vip_plan){
		.wv = wv, .key = wv->key, .at = at, .is_new = at < 0, .n = (size_t)err};
	p->v.flags = wv->flags;
	p->v.table_size = wv->table_size;
	if (old) {
		p->v.id = old->v.id;
		same = old->n == p->n && !memcmp(old->m, r->scratch, p->n * sizeof(*old->m));
		p->table = !same || old->v.table_size != wv->table_size ||
			   members_moved(s, r->scratch, p->n);
		if (!p->table && old->v.flags == wv->flags)
			return 0; /* nothing to write */
		p->added = members_added(old->m, old->n, r->scratch, p->n);
	} else {
		p->table = 1;
		p->added = p->n;
		r->nnew_vips++;
	}
	return plan_add(r, p, r->scratch);
}

/* A partial state's gone VIPs: marked for removal (one not in the maps is gone already). */
static int plan_gone(struct run *r)
{
	char vb[XLB_VIPSTRLEN];
	size_t i;
	long at;

	for (i = 0; i < r->w->ngone; i++) {
		at = vip_find(r->s, r->old_nvips, &r->w->gone[i]);
		if (at < 0)
			continue;
		if (r->seen[at] == SEEN_WANTED) {
			why(r, "VIP %s is both wanted and gone", vip_s(&r->w->gone[i], vb));
			return -EINVAL;
		}
		r->seen[at] = SEEN_GONE;
	}
	return 0;
}

/*
 * A partial state lists no VIP whose only change is a member backend that
 * became or stopped being active: such a VIP's table is rebuilt from the
 * members it has, as a whole state would have it.
 */
static int plan_unlisted(struct run *r)
{
	struct xlb_shadow *s = r->s;
	const struct sh_vip *sv;
	struct vip_plan *p;
	size_t i;

	if (!r->nmoved)
		return 0;
	for (i = 0; i < r->old_nvips; i++) {
		sv = &s->vips[i];
		if (r->seen[i] || !members_moved(s, sv->m, sv->n))
			continue;
		p = plan_next(r);
		if (!p)
			return -ENOMEM;
		*p = (struct vip_plan){
			.key = sv->key, .at = (long)i, .table = 1, .v = sv->v, .n = sv->n};
		if (plan_add(r, p, sv->m))
			return -ENOMEM;
	}
	return 0;
}

/* Plan 2: what each VIP is to hold; the capacity of what is added. */
static int plan_vips(struct run *r)
{
	struct xlb_shadow *s = r->s;
	struct xlb_want *w = r->w;
	struct xlb_vip_key *keys;
	char vb[XLB_VIPSTRLEN];
	size_t i, most = 0, added = 0, k = 0;
	int err;

	for (i = 0; i < w->nvips; i++)
		if (w->vips[i].nmembers > most)
			most = w->vips[i].nmembers;
	r->seen = calloc(s->nvips + 1, 1);
	r->scratch = calloc(most + 1, sizeof(*r->scratch));
	if (!r->seen || !r->scratch)
		return -ENOMEM;
	err = w->partial ? plan_gone(r) : 0;
	for (i = 0; !err && i < w->nvips; i++)
		err = plan_vip(r, &w->vips[i]);
	if (!err && w->partial)
		err = plan_unlisted(r);
	if (err)
		return err;
	/* New VIPs wanted twice: sorted, twins are neighbours. */
	keys = calloc(r->nnew_vips + 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < r->nvp; i++)
		if (r->vp[i].is_new)
			keys[k++] = r->vp[i].key;
	qsort(keys, k, sizeof(*keys), vip_key_cmp);
	for (i = 1; i < k; i++) {
		if (!vip_key_cmp(&keys[i], &keys[i - 1])) {
			why(r, "VIP %s is wanted twice", vip_s(&keys[i], vb));
			free(keys);
			return -EINVAL;
		}
	}
	free(keys);
	if (s->nvips + r->nnew_vips > XLB_MAX_VIPS) {
		why(r, "VIP ids: %zu in use and %zu new, the limit is %u", s->nvips, r->nnew_vips,
		    XLB_MAX_VIPS);
		return -ENOSPC;
	}
	for (i = 0; i < r->nvp; i++)
		added += r->vp[i].added;
	if (s->nmembers + added > XLB_MAX_MEMBERS) {
		why(r, "members (VIP, backend pairs): %zu in the maps and %zu new, the limit is %u",
		    s->nmembers, added, XLB_MAX_MEMBERS);
		return -ENOSPC;
	}
	/* Room for the new VIPs now: nothing may fail for memory once writing. */
	return vip_room(s, r->nnew_vips) ? -ENOMEM : 0;
}

/*
 * Write 1: new VIPs, empty, in one call (all or none: no descriptor is
 * held per VIP); every VIP made is in the shadow, so undo() finds it.
 */
static int create_vips(struct run *r)
{
	struct xlb_shadow *s = r->s;
	struct xlb_vip_key *keys;
	struct xlb_vip *vals;
	struct vip_plan **of;
	char vb[XLB_VIPSTRLEN], ebuf[96];
	size_t i, n = 0;
	int err = 0;

	if (!r->nnew_vips)
		return 0;
	keys = calloc(r->nnew_vips, sizeof(*keys));
	vals = calloc(r->nnew_vips, sizeof(*vals));
	of = calloc(r->nnew_vips, sizeof(*of));
	if (!keys || !vals || !of) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < r->nvp; i++) {
		if (!r->vp[i].is_new)
			continue;
		of[n] = &r->vp[i];
		keys[n] = r->vp[i].key;
		vals[n++] = r->vp[i].v;
	}
	err = xlb_vips_create(r->m, keys, vals, n);
	if (err) {
		why(r, "creating %zu new VIPs (the first %s): %s", n, vip_s(&keys[0], vb),
		    err_str(err, ebuf, sizeof(ebuf)));
		goto out;
	}
	for (i = 0; i < n; i++) {
		of[i]->v.id = vals[i].id;
		of[i]->at = (long)s->nvips;
		s->vips[s->nvips++] = (struct sh_vip){.key = keys[i], .v = vals[i]};
	}
	r->st->vips_added += n;
out:
	free(of);
	free(vals);
	free(keys);
	return err;
}

/* Write 2: backend entries, new ones and changed states. */
static int write_backends(struct run *r)
{
	struct xlb_shadow *s = r->s;
	char buf[XLB_VIPSTRLEN], ebuf[96];
	size_t n = r->nbu - r->nbu_written, i, done = 0;
	struct xlb_backend *vals;
	__u32 *ids, id;
	int err;

	if (!n)
		return 0;
	ids = calloc(n, sizeof(*ids));
	vals = calloc(n, sizeof(*vals));
	err = ids && vals ? 0 : -ENOMEM;
	for (i = 0; !err && i < n; i++) {
		ids[i] = r->bu[r->nbu_written + i].id;
		vals[i] = s->be[ids[i]];
	}
	/* Batched: 100,000 new backends are a few calls, not 100,000. */
	if (!err)
		err = xlb_backends_write_n(r->m, ids, vals, n, &done);
	for (i = 0; i < done; i++, r->nbu_written++) {
		id = r->bu[r->nbu_written].id;
		s->fresh[id] = s->gen;
		if (r->bu[r->nbu_written].old.state == XLB_BE_UNUSED)
			r->st->backends_added++;
		else
			r->st->backends_changed++;
	}
	if (err) {
		id = r->nbu_written < r->nbu ? r->bu[r->nbu_written].id : 0;
		why(r, "backend %s: writing it: %s", be_s(&s->be[id], buf),
		    err_str(err, ebuf, sizeof(ebuf)));
	}
	free(vals);
	free(ids);
	return err;
}

/*
 * A VIP's first members, batched: how many were written (the rest, if
 * any, is for the one-by-one loop).
 */
static size_t members_batched(struct run *r, __u32 vip_id, const struct sh_member *new, size_t nnew)
{
	struct xlb_member_key *keys;
	struct xlb_member *vals;
	size_t i, n = nnew;

	if (nnew < 2)
		return 0;
	keys = calloc(nnew, sizeof(*keys));
	vals = calloc(nnew, sizeof(*vals));
	if (!keys || !vals) {
		n = 0;
		goto out;
	}
	for (i = 0; i < nnew; i++) {
		keys[i] = (struct xlb_member_key){.vip_id = vip_id, .backend_id = new[i].id};
		vals[i].weight = new[i].weight;
	}
	/* What a failure leaves is for the one-by-one loop, which reports it. */
	xlb_map_update_n(map_fd(r->m->skel->maps.xlb_members), keys, sizeof(*keys), vals,
			 sizeof(*vals), nnew, &n);
	r->st->members_changed += n;
out:
	free(vals);
	free(keys);
	return n;
}

/*
 * Bring the members of VIP v from (old, nold) to (new, nnew), both sorted:
 * weights set where they differ, members no longer there deleted. A VIP
 * without members gets its first ones batched.
 */
static int write_members(struct run *r, __u32 vip_id, const struct sh_member *old, size_t nold,
			 const struct sh_member *new, size_t nnew)
{
	size_t i = 0, j = nold ? 0 : members_batched(r, vip_id, new, nnew);
	int err = 0;

	while (!err && (i < nold || j < nnew)) {
		if (j == nnew || (i < nold && old[i].id < new[j].id)) {
			err = xlb_member_del(r->m, vip_id, old[i++].id);
			if (err == -ENOENT)
				err = 0;
		} else if (i == nold || new[j].id < old[i].id || old[i].weight != new[j].weight) {
			if (i < nold && old[i].id == new[j].id)
				i++;
			err = xlb_member_set(r->m, vip_id, new[j].id, new[j].weight);
			j++;
		} else {
			i++;
			j++;
			continue;
		}
		if (!err)
			r->st->members_changed++;
	}
	return err;
}

/*
 * A VIP's table from members with a weight whose backend is active; every
 * member may stay in a slot's chain.
 */
static int write_table(struct run *r, const struct xlb_vip *v, const struct sh_member *ms, size_t n)
{
	struct xlb_table_input in;
	size_t i;
	int err;

	err = xlb_table_input_init(&in, n);
	for (i = 0; i < n && !err; i++) {
		err = refresh(r, ms[i].id);
		if (!err)
			xlb_table_input_add(&in, ms[i].id, &r->s->be[ms[i].id], ms[i].weight);
	}
	if (!err)
		err = xlb_table_input_write(r->m, v, &in);
	if (!err)
		r->st->tables_written++;
	xlb_table_input_free(&in);
	return err;
}

/*
 * Write 3 for one VIP: members, then its table and its value; a new size
 * has its table first, so that the size the fast path reads never exceeds
 * the table it indexes.
 */
static int write_vip(struct run *r, const struct vip_plan *p)
{
	const struct sh_vip *old = &r->s->vips[p->at];
	int err, resize = old->v.table_size != p->v.table_size;
	int revalue = memcmp(&old->v, &p->v, sizeof(p->v));

	err = write_members(r, p->v.id, old->m, old->n, p->m, p->n);
	if (!err && revalue && !resize && !p->is_new)
		err = xlb_vip_update(r->m, &p->key, &p->v);
	if (!err && p->table)
		err = write_table(r, &p->v, p->m, p->n);
	if (!err && revalue && resize && !p->is_new)
		err = xlb_vip_update(r->m, &p->key, &p->v);
	if (!err && revalue && !p->is_new)
		r->st->vips_updated++;
	return err;
}

static int write_vips(struct run *r)
{
	char vb[XLB_VIPSTRLEN], ebuf[96];
	const struct vip_plan *p;
	int err;

	for (; r->nvp_started < r->nvp; r->nvp_started++) {
		p = &r->vp[r->nvp_started];
		err = write_vip(r, p);
		if (err) {
			r->nvp_started++; /* partly written: undo() puts it back too */
			why(r, "VIP %s: writing its members and table: %s", vip_s(&p->key, vb),
			    err_str(err, ebuf, sizeof(ebuf)));
			return err;
		}
	}
	return 0;
}

/*
 * Put back what this reconcile wrote, newest first: backend states in the
 * shadow (so rebuilt tables match them), each VIP started (old members,
 * table and value), backend entries, VIPs created. Every step is tried;
 * the first failure is returned.
 */
static int undo(struct run *r)
{
	struct xlb_shadow *s = r->s;
	const struct vip_plan *p;
	const struct sh_vip *old;
	struct be_undo *u;
	size_t i;
	int err, first = 0;

	for (i = r->nbu; i-- > 0;) {
		u = &r->bu[i];
		if (u->old.state == XLB_BE_UNUSED) {
			hash_del(s, u->id);
			s->nbackends--;
		}
		s->be[u->id] = u->old;
		s->changed[u->id] = s->gen;
		s->fresh[u->id] = s->gen; /* written back below: tables must not re-read it */
	}
	for (i = r->nvp_started; i-- > 0;) {
		p = &r->vp[i];
		if (p->at < 0)
			continue;
		old = &s->vips[p->at];
		err = write_members(r, p->v.id, p->m, p->n, old->m, old->n);
		if (!err && !p->is_new && old->v.table_size != p->v.table_size)
			err = xlb_vip_update(r->m, &old->key, &old->v);
		if (!err && !p->is_new && p->table)
			err = write_table(r, &old->v, old->m, old->n);
		if (!err && !p->is_new && old->v.flags != p->v.flags)
			err = xlb_vip_update(r->m, &old->key, &old->v);
		first = first ? first : err;
	}
	for (i = r->nbu_written; i-- > 0;) {
		u = &r->bu[i];
		/* An id freed again takes its next gen: its new flows are re-picked. */
		err = xlb_backend_write(r->m, u->id, &u->old);
		first = first ? first : err;
	}
	for (i = s->nvips; i-- > r->old_nvips;) {
		err = xlb_vip_delete(r->m, &s->vips[i].key);
		first = first ? first : err == -ENOENT ? 0 : err;
	}
	s->nvips = r->old_nvips;
	return first;
}

/*
 * The VIPs of the shadow hold ms (+1) or no longer do (-1). An id no VIP
 * holds any more is noted for a partial state's removals; when memory for
 * the note fails, the next whole reconcile removes the backend.
 */
static void refs_add(struct run *r, const struct sh_member *ms, size_t n, int d)
{
	struct xlb_shadow *s = r->s;
	size_t i, cap;
	__u32 *p, id;

	for (i = 0; i < n; i++) {
		id = ms[i].id;
		if (id >= XLB_MAX_BACKENDS)
			continue;
		s->refs[id] += d;
		if (s->refs[id] || d > 0)
			continue;
		if (r->nfreed == r->capfreed) {
			cap = r->capfreed ? 2 * r->capfreed : 64;
			p = realloc(r->freed, cap * sizeof(*p));
			if (!p)
				continue;
			r->freed = p;
			r->capfreed = cap;
		}
		r->freed[r->nfreed++] = id;
	}
}

/* The shadow takes the new member sets and values. */
static void commit(struct run *r)
{
	struct xlb_shadow *s = r->s;
	struct vip_plan *p;
	struct sh_vip *sv;
	size_t i;

	for (i = 0; i < r->nvp; i++) {
		p = &r->vp[i];
		sv = &s->vips[p->at];
		s->nmembers = s->nmembers + p->n - sv->n;
		refs_add(r, p->m, p->n, 1);
		refs_add(r, sv->m, sv->n, -1);
		free(sv->m);
		sv->m = p->m;
		sv->n = p->n;
		sv->v = p->v;
		p->m = NULL;
	}
}

/* Removal 1: VIPs no longer wanted; the shadow's VIPs sorted again. */
/*
 * A VIP of the shadow out of the maps: its members by key (the shadow
 * knows them; members another writer added to it are left); its backends
 * are remove_backends()' to free.
 */
static int vip_delete(struct run *r, const struct sh_vip *sv)
{
	__u32 *ids = calloc(sv->n + 1, sizeof(*ids));
	size_t j;
	int err;

	if (!ids)
		return -ENOMEM;
	for (j = 0; j < sv->n; j++)
		ids[j] = sv->m[j].id;
	err = xlb_vip_delete_known(r->m, &sv->key, ids, sv->n);
	free(ids);
	return err;
}

static int remove_vips(struct run *r)
{
	struct xlb_shadow *s = r->s;
	char vb[XLB_VIPSTRLEN], ebuf[96];
	size_t i, k = 0;
	int err = 0, e;

	for (i = 0; i < s->nvips; i++) {
		if (i >= r->old_nvips || err ||
		    r->seen[i] != (r->w->partial ? SEEN_GONE : SEEN_NOT)) {
			s->vips[k++] = s->vips[i];
			continue;
		}
		e = vip_delete(r, &s->vips[i]);
		if (e && e != -ENOENT) {
			why(r, "removing VIP %s: %s", vip_s(&s->vips[i].key, vb),
			    err_str(e, ebuf, sizeof(ebuf)));
			err = e;
			s->vips[k++] = s->vips[i];
			continue;
		}
		s->nmembers -= s->vips[i].n;
		refs_add(r, s->vips[i].m, s->vips[i].n, -1);
		free(s->vips[i].m);
		r->st->vips_removed++;
	}
	s->nvips = k;
	if (r->nnew_vips || r->st->vips_removed)
		qsort(s->vips, s->nvips, sizeof(*s->vips), sh_vip_cmp);
	return err;
}

/*
 * Removal 2: backends no VIP wants (a partial state: those no VIP holds
 * any more and it does not list); their flows go with them.
 */
static int remove_backends(struct run *r)
{
	struct xlb_shadow *s = r->s;
	struct xlb_backend zero = {}, b;
	char buf[XLB_VIPSTRLEN], ebuf[96];
	size_t i, n = r->w->partial ? r->nfreed : XLB_MAX_BACKENDS;
	__u32 id;
	int err;

	for (i = 0; i < n; i++) {
		id = r->w->partial ? r->freed[i] : (__u32)i;
		if (s->be[id].state == XLB_BE_UNUSED || s->wanted[id] == s->gen ||
		    (r->w->partial && s->refs[id]))
			continue;
		/* Removing its last VIP may have freed it already. */
		err = xlb_backend_get(r->m, id, &b);
		/* The id's next gen: its flows are re-picked, none is walked. */
		if (!err)
			err = xlb_backend_write(r->m, id, &zero);
		if (!err)
			err = xlb_nat_purge_backend(r->m, id);
		if (err && err != -ENOENT) {
			why(r, "removing backend %s: %s", be_s(&s->be[id], buf),
			    err_str(err, ebuf, sizeof(ebuf)));
			return err;
		}
		hash_del(s, id);
		s->be[id] = zero;
		s->nbackends--;
		r->st->backends_removed++;
	}
	return 0;
}

struct hop {
	struct xlb_addr_key nh;
	int ifindex;
};

static int hop_cmp(const void *a, const void *b)
{
	const struct hop *x = a, *y = b;

	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	return memcmp(&x->nh, &y->nh, sizeof(x->nh));
}

/*
 * Have the kernel resolve the next hops of new backends now, so the fast
 * path's FIB lookups find a MAC when traffic comes: once per distinct next
 * hop when the caller gave them, else one route lookup per backend. One
 * warning for all that fail.
 */
static void prime_neighbours(struct run *r)
{
	const struct xlb_want_backend *wb;
	char ab[XLB_ADDRSTRLEN];
	struct hop *hops;
	size_t i, n = 0, failed = 0;
	int err, first = 0;

	hops = calloc(r->nnew_backends + 1, sizeof(*hops));
	if (!hops)
		return;
	for (i = 0; i < r->nbu; i++) {
		wb = r->bu[i].wb;
		if (r->bu[i].old.state != XLB_BE_UNUSED)
			continue;
		if (wb->nh_ok) {
			hops[n++] = (struct hop){wb->nh, wb->nh_ifindex};
			continue;
		}
		err = xlb_nl_backend_prime(&wb->addr);
		if (err && !failed++) {
			first = err;
			xlb_addr_str(wb->addr.addr, wb->addr.family, ab, sizeof(ab));
		}
	}
	qsort(hops, n, sizeof(*hops), hop_cmp);
	for (i = 0; i < n; i++) {
		if (i && !hop_cmp(&hops[i], &hops[i - 1]))
			continue;
		err = xlb_nl_neigh_manage(&hops[i].nh, hops[i].ifindex);
		if (err && !failed++) {
			first = err;
			xlb_addr_str(hops[i].nh.addr, hops[i].nh.family, ab, sizeof(ab));
		}
	}
	if (failed == 1)
		pr_warn("backend next hop %s: no neighbour entry prepared: %s\n", ab,
			strerror(-first));
	else if (failed)
		pr_warn("backend next hop %s: no neighbour entry prepared: %s (and %zu more "
			"like this)\n",
			ab, strerror(-first), failed - 1);
	free(hops);
}

static void run_free(struct run *r)
{
	size_t i;

	for (i = 0; r->vp && i < r->nvp; i++)
		free(r->vp[i].m);
	free(r->vp);
	free(r->bu);
	free(r->seen);
	free(r->scratch);
	free(r->freed);
}

int xlb_reconcile(struct xlb_maps *m, struct xlb_shadow *s, struct xlb_want *w,
		  struct xlb_reconcile_stats *st)
{
	struct xlb_reconcile_stats own_st;
	struct xlb_shadow *own = NULL;
	struct run r = {.m = m, .w = w, .st = st ? st : &own_st};
	char ebuf[96];
	int err, uerr;

	memset(r.st, 0, sizeof(*r.st));
	if (!s) {
		own = s = xlb_shadow_new();
		if (!s)
			return -ENOMEM;
	}
	r.s = s;
	if (++s->gen == 0)
		s->gen = 1; /* 0 is "never" in the stamps */
	if (!s->adopted) {
		err = adopt(s, m);
		if (err) {
			why(&r, "reading the maps: %s", err_str(err, ebuf, sizeof(ebuf)));
			goto out;
		}
	}
	r.old_nvips = s->nvips;
	err = plan_backends(&r);
	if (!err)
		err = plan_vips(&r);
	if (err == -ENOMEM)
		why(&r, "planning the change: out of memory");
	if (!err)
		err = create_vips(&r);
	if (!err)
		err = write_backends(&r);
	if (!err)
		err = write_vips(&r);
	if (err) {
		uerr = undo(&r);
		if (uerr) {
			why_more(&r,
				 "; putting the maps back failed too (%s): they hold part of "
				 "the change",
				 err_str(uerr, ebuf, sizeof(ebuf)));
			xlb_shadow_reset(s);
		} else if (r.nbu_written || r.nvp_started || r.st->vips_added) {
			why_more(&r, "; the maps are as they were");
		} else {
			why_more(&r, "; nothing was written");
		}
		memset(r.st, 0, offsetof(struct xlb_reconcile_stats, error));
		goto out;
	}
	commit(&r);
	prime_neighbours(&r);
	err = remove_vips(&r);
	if (!err)
		err = remove_backends(&r);
	if (err)
		why_more(&r, "; the rest of the change is written");
out:
	run_free(&r);
	xlb_shadow_free(own);
	return err;
}
