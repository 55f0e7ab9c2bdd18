// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine of xlb -batch and xlb save: the VIPs, backends, members and
 * settings read once into memory with hash indexes, every command applied
 * and checked against that copy (nothing written), then the difference
 * written in a fixed order with batched map calls, each touched VIP's
 * Maglev table built once. A failed write undoes the earlier ones (see
 * xlb_batch_commit()).
 */
#define _GNU_SOURCE /* qsort_r() */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/vec.h"
#include "batch.h"
#include "batch_maps.h"
#include "cli.h"
#include "dataplane/chains.h"
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "dataplane/names.h"
#include "dataplane/netlink.h"

/* A VIP record. A VIP deleted and added again in one batch has two. */
struct bvip {
	struct xlb_vip_key key;
	struct xlb_vip orig; /* in the maps before (had) */
	struct xlb_vip cur;  /* after; .id known once created */
	__u8 had, exists, dirty;
	__u32 first; /* its members, a list through bmem.next (~0: none) */
	__u32 nmem;  /* members present now */
};

/* A (VIP record, backend id) pair, in the maps before (had) and/or now (present). */
struct bmem {
	__u32 vip, be; /* the index key: contiguous */
	__u32 orig_w, cur_w;
	__u32 next;
	__u8 had, present;
};

/*
 * Open addressing over record indexes (stored + 1; 0 is empty), keyed by
 * bytes that keyof() finds in the record.
 */
struct bidx {
	__u32 *slot;
	size_t mask, n;
	size_t ksz;
	const void *(*keyof)(const struct xlb_batch *b, __u32 i);
};

struct xlb_batch {
	struct xlb_maps *m;
	struct xlb_config cfg, cfg_orig;
	struct bvip *vips;
	size_t nvips, capvips, vips_live;
	struct bmem *mems;
	size_t nmems, capmems, mems_live;
	struct xlb_backend *be_orig, *be_cur; /* XLB_MAX_BACKENDS each */
	__u32 *be_refs;			      /* present members per backend */
	unsigned char *be_touched;
	__u32 be_next; /* where the search of a free backend id goes on */
	struct bidx vip_idx, mem_idx, be_idx;
	size_t tables; /* tables built by the commit */
	char warn[1024];
};

/* --- indexes -------------------------------------------------------------- */

static __u64 fnv(const void *p, size_t n)
{
	const unsigned char *c = p;
	__u64 h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static const void *vip_keyof(const struct xlb_batch *b, __u32 i)
{
	return &b->vips[i].key;
}

static const void *mem_keyof(const struct xlb_batch *b, __u32 i)
{
	return &b->mems[i].vip;
}

/* A backend's identity: address, port and family, the first 19 bytes. */
#define BE_KEY_LEN offsetof(struct xlb_backend, state)
_Static_assert(offsetof(struct xlb_backend, family) == 18, "backend identity bytes");

static const void *be_keyof(const struct xlb_batch *b, __u32 i)
{
	return &b->be_cur[i];
}

static int idx_init(struct bidx *x, size_t cap, size_t ksz,
		    const void *(*keyof)(const struct xlb_batch *, __u32))
{
	size_t n = 64;

	while (n < 2 * cap)
		n *= 2;
	x->slot = calloc(n, sizeof(*x->slot));
	x->mask = n - 1;
	x->n = 0;
	x->ksz = ksz;
	x->keyof = keyof;
	return x->slot ? 0 : -ENOMEM;
}

/* The slot of key: the one holding it, or the empty one it would go to. */
static __u32 *idx_slot(const struct xlb_batch *b, const struct bidx *x, const void *key)
{
	size_t i = fnv(key, x->ksz) & x->mask;

	while (x->slot[i] && memcmp(x->keyof(b, x->slot[i] - 1), key, x->ksz))
		i = (i + 1) & x->mask;
	return &x->slot[i];
}

static long idx_find(const struct xlb_batch *b, const struct bidx *x, const void *key)
{
	__u32 *s = idx_slot(b, x, key);

	return *s ? (long)*s - 1 : -1;
}

/* Point key (found in record i) at record i, growing the table as needed. */
static int idx_put(struct xlb_batch *b, struct bidx *x, __u32 i)
{
	__u32 *s;

	if (2 * (x->n + 1) > x->mask + 1) {
		struct bidx bigger;
		size_t j;

		if (idx_init(&bigger, x->mask + 1, x->ksz, x->keyof))
			return -ENOMEM;
		for (j = 0; j <= x->mask; j++)
			if (x->slot[j])
				*idx_slot(b, &bigger, x->keyof(b, x->slot[j] - 1)) = x->slot[j];
		bigger.n = x->n;
		free(x->slot);
		*x = bigger;
	}
	s = idx_slot(b, x, x->keyof(b, i));
	if (!*s)
		x->n++;
	*s = i + 1;
	return 0;
}

/* --- records ---------------------------------------------------------------- */

static long vip_new(struct xlb_batch *b, const struct xlb_vip_key *k)
{
	struct bvip *v;

	if (xlb_vec_room((void **)&b->vips, sizeof(*b->vips), NULL, 0, b->nvips, &b->capvips, 256))
		return -ENOMEM;
	v = &b->vips[b->nvips];
	memset(v, 0, sizeof(*v));
	v->key = *k;
	v->first = ~0U;
	if (idx_put(b, &b->vip_idx, b->nvips))
		return -ENOMEM;
	return b->nvips++;
}

static long mem_new(struct xlb_batch *b, __u32 vip, __u32 be)
{
	struct bmem *mm;

	if (xlb_vec_room((void **)&b->mems, sizeof(*b->mems), NULL, 0, b->nmems, &b->capmems, 1024))
		return -ENOMEM;
	mm = &b->mems[b->nmems];
	memset(mm, 0, sizeof(*mm));
	mm->vip = vip;
	mm->be = be;
	mm->next = b->vips[vip].first;
	b->vips[vip].first = b->nmems;
	if (idx_put(b, &b->mem_idx, b->nmems))
		return -ENOMEM;
	return b->nmems++;
}

static long mem_find(const struct xlb_batch *b, __u32 vip, __u32 be)
{
	__u32 key[2] = {vip, be};

	return idx_find(b, &b->mem_idx, key);
}

static long be_find(const struct xlb_batch *b, const struct xlb_addr_key *a, __u16 port)
{
	struct xlb_backend k = {};

	memcpy(k.addr, a->addr, sizeof(k.addr));
	k.port = htons(port);
	k.family = a->family;
	return idx_find(b, &b->be_idx, &k);
}

/* --- reading the maps ------------------------------------------------------- */

/* The VIPs and members of the maps as records (ids: vip_of[] maps VIP id -> record). */
static int load_vips_members(struct xlb_batch *b)
{
	struct xlb_member_key *mk = NULL;
	struct xlb_member *mv = NULL;
	struct xlb_vip_key *vk = NULL;
	struct xlb_vip *vv = NULL;
	__u32 *vip_of;
	size_t nv, nm, i;
	long r;
	int err;

	vip_of = malloc(XLB_MAX_VIPS * sizeof(*vip_of));
	if (!vip_of)
		return -ENOMEM;
	memset(vip_of, 0xff, XLB_MAX_VIPS * sizeof(*vip_of));
	err = xlb_bm_vips_read(b->m, &vk, &vv, &nv);
	if (!err)
		err = xlb_bm_members_read(b->m, &mk, &mv, &nm);
	for (i = 0; !err && i < nv; i++) {
		r = vip_new(b, &vk[i]);
		if (r < 0) {
			err = r;
			break;
		}
		b->vips[r].orig = b->vips[r].cur = vv[i];
		b->vips[r].had = b->vips[r].exists = 1;
		if (vv[i].id < XLB_MAX_VIPS)
			vip_of[vv[i].id] = r;
	}
	b->vips_live = b->nvips;
	for (i = 0; !err && i < nm; i++) {
		/* A member of no VIP (a writer died midway) is left as it is. */
		if (mk[i].vip_id >= XLB_MAX_VIPS || vip_of[mk[i].vip_id] == ~0U ||
		    mk[i].backend_id >= XLB_MAX_BACKENDS)
			continue;
		r = mem_new(b, vip_of[mk[i].vip_id], mk[i].backend_id);
		if (r < 0) {
			err = r;
			break;
		}
		b->mems[r].had = b->mems[r].present = 1;
		b->mems[r].orig_w = b->mems[r].cur_w = mv[i].weight;
		b->vips[b->mems[r].vip].nmem++;
		b->be_refs[mk[i].backend_id]++;
		b->mems_live++;
	}
	free(vk);
	free(vv);
	free(mk);
	free(mv);
	free(vip_of);
	return err;
}

struct xlb_batch *xlb_batch_new(struct xlb_maps *m, char *err, size_t errlen)
{
	struct xlb_batch *b = calloc(1, sizeof(*b));
	const char *what = "memory";
	__u32 i;
	int e = -ENOMEM;

	if (!b)
		goto fail;
	b->m = m;
	b->be_orig = calloc(XLB_MAX_BACKENDS, sizeof(*b->be_orig));
	b->be_cur = calloc(XLB_MAX_BACKENDS, sizeof(*b->be_cur));
	b->be_refs = calloc(XLB_MAX_BACKENDS, sizeof(*b->be_refs));
	b->be_touched = calloc(XLB_MAX_BACKENDS, 1);
	if (!b->be_orig || !b->be_cur || !b->be_refs || !b->be_touched ||
	    idx_init(&b->vip_idx, 1024, sizeof(struct xlb_vip_key), vip_keyof) ||
	    idx_init(&b->mem_idx, 4096, 2 * sizeof(__u32), mem_keyof) ||
	    idx_init(&b->be_idx, 4096, BE_KEY_LEN, be_keyof))
		goto fail;
	what = "settings";
	e = xlb_config_get(m, &b->cfg);
	if (e)
		goto fail;
	b->cfg_orig = b->cfg;
	what = "backends";
	e = xlb_backends_read(m, b->be_orig);
	if (e)
		goto fail;
	memcpy(b->be_cur, b->be_orig, XLB_MAX_BACKENDS * sizeof(*b->be_cur));
	for (i = 0; i < XLB_MAX_BACKENDS; i++) {
		if (b->be_cur[i].state == XLB_BE_UNUSED)
			continue;
		e = idx_put(b, &b->be_idx, i);
		if (e)
			goto fail;
	}
	what = "VIPs and members";
	e = load_vips_members(b);
	if (e)
		goto fail;
	return b;
fail:
	snprintf(err, errlen, "read %s: %s", what, xlb_cli_strerror(e));
	xlb_batch_free(b);
	return NULL;
}

void xlb_batch_free(struct xlb_batch *b)
{
	if (!b)
		return;
	free(b->vips);
	free(b->mems);
	free(b->be_orig);
	free(b->be_cur);
	free(b->be_refs);
	free(b->be_touched);
	free(b->vip_idx.slot);
	free(b->mem_idx.slot);
	free(b->be_idx.slot);
	free(b);
}

/* --- commands, in memory ---------------------------------------------------- */

/* The live record of VIP k, or -1 with "VIP ... does not exist" in err. */
static long live_vip(struct xlb_batch *b, const struct xlb_vip_key *k, char *err, size_t errlen)
{
	long v = idx_find(b, &b->vip_idx, k);
	char s[XLB_VIPSTRLEN];

	if (v >= 0 && b->vips[v].exists)
		return v;
	snprintf(err, errlen, "VIP %s does not exist", xlb_vip_str(k, s, sizeof(s)));
	return -1;
}

static int op_vip_add(struct xlb_batch *b, const struct xlb_op *op, char *err, size_t errlen)
{
	long v = idx_find(b, &b->vip_idx, &op->vip);
	char s[XLB_VIPSTRLEN];
	__u32 flags;

	xlb_vip_str(&op->vip, s, sizeof(s));
	if (v >= 0 && b->vips[v].exists) {
		snprintf(err, errlen, "VIP %s already exists", s);
		return -1;
	}
	if (b->vips_live >= XLB_MAX_VIPS) {
		snprintf(err, errlen, "VIP %s: there are %u VIPs already, the most there can be", s,
			 XLB_MAX_VIPS);
		return -1;
	}
	/* A VIP deleted earlier in the batch gets a new record: a new VIP. */
	v = vip_new(b, &op->vip);
	if (v < 0) {
		snprintf(err, errlen, "VIP %s: %s", s, xlb_cli_strerror(v));
		return -1;
	}
	if (xlb_op_vip_flags(&b->cfg, op, &flags, err, errlen))
		return -1;
	b->vips[v].cur.flags = flags;
	b->vips[v].cur.table_size = op->table_size;
	b->vips[v].exists = b->vips[v].dirty = 1;
	b->vips_live++;
	return 0;
}

static void member_drop(struct xlb_batch *b, struct bmem *mm)
{
	mm->present = 0;
	b->vips[mm->vip].nmem--;
	b->vips[mm->vip].dirty = 1;
	b->be_refs[mm->be]--;
	b->be_touched[mm->be] = 1;
	b->mems_live--;
}

static int op_vip_del(struct xlb_batch *b, const struct xlb_op *op, char *err, size_t errlen)
{
	long v = live_vip(b, &op->vip, err, errlen);
	__u32 i;

	if (v < 0)
		return -1;
	for (i = b->vips[v].first; i != ~0U; i = b->mems[i].next)
		if (b->mems[i].present)
			member_drop(b, &b->mems[i]);
	b->vips[v].exists = 0;
	b->vips_live--;
	return 0;
}

/*
 * The backend of op: its id (found, or a free one taken when add is set),
 * or -1 with err.
 */
static long op_backend(struct xlb_batch *b, const struct xlb_op *op, const char *be_s, int add,
		       char *err, size_t errlen)
{
	__u32 cap = xlb_backend_cap(b->m);
	long id = be_find(b, &op->be, op->be_port);
	struct xlb_backend *e;

	if (id >= 0 || !add)
		return id;
	while (b->be_next < cap && (b->be_orig[b->be_next].state != XLB_BE_UNUSED ||
				    b->be_cur[b->be_next].state != XLB_BE_UNUSED))
		b->be_next++;
	if (b->be_next >= cap) {
		snprintf(err, errlen,
			 "backend %s: all %u backend ids are in use (xlb attach --backends sets "
			 "how many the maps hold)",
			 be_s, cap);
		return -1;
	}
	id = b->be_next;
	e = &b->be_cur[id];
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, op->be.addr, sizeof(e->addr));
	e->family = op->be.family;
	e->port = htons(op->be_port);
	e->state = XLB_BE_ACTIVE;
	if (idx_put(b, &b->be_idx, id)) {
		e->state = XLB_BE_UNUSED;
		snprintf(err, errlen, "backend %s: %s", be_s, xlb_cli_strerror(-ENOMEM));
		return -1;
	}
	return id;
}

static int op_backend_cmd(struct xlb_batch *b, const struct xlb_op *op, char *err, size_t errlen)
{
	char be_s[XLB_VIPSTRLEN], vip_s[XLB_VIPSTRLEN];
	struct xlb_backend shown = {.port = htons(op->be_port), .family = op->be.family};
	long v, id, mi;
	struct bmem *mm;

	memcpy(shown.addr, op->be.addr, sizeof(shown.addr));
	xlb_backend_label(&shown, be_s, sizeof(be_s));
	xlb_vip_str(&op->vip, vip_s, sizeof(vip_s));
	v = live_vip(b, &op->vip, err, errlen);
	if (v < 0)
		return -1;
	if (op->kind == XLB_OP_BACKEND_ADD) {
		if (xlb_op_family_check(&b->cfg, b->vips[v].cur.flags, op, err, errlen))
			return -1;
		if (b->mems_live >= XLB_MAX_MEMBERS) {
			snprintf(err, errlen, "backend %s: VIPs have %u backends already, the most",
				 be_s, XLB_MAX_MEMBERS);
			return -1;
		}
	}
	id = op_backend(b, op, be_s, op->kind == XLB_OP_BACKEND_ADD, err, errlen);
	if (id < 0 && op->kind == XLB_OP_BACKEND_ADD)
		return -1;
	mi = id < 0 ? -1 : mem_find(b, v, id);
	mm = mi < 0 ? NULL : &b->mems[mi];
	if (op->kind == XLB_OP_BACKEND_ADD) {
		if (mm && mm->present) {
			snprintf(err, errlen, "backend %s is already in VIP %s", be_s, vip_s);
			return -1;
		}
		if (!mm) {
			mi = mem_new(b, v, id);
			if (mi < 0) {
				snprintf(err, errlen, "backend %s: %s", be_s, xlb_cli_strerror(mi));
				return -1;
			}
			mm = &b->mems[mi];
		}
		mm->present = 1;
		mm->cur_w = op->weight;
		b->vips[v].nmem++;
		b->vips[v].dirty = 1;
		b->be_refs[id]++;
		b->be_touched[id] = 1;
		b->mems_live++;
		return 0;
	}
	if (!mm || !mm->present) {
		snprintf(err, errlen, "backend %s is not in VIP %s", be_s, vip_s);
		return -1;
	}
	if (op->kind == XLB_OP_BACKEND_DEL) {
		member_drop(b, mm);
		return 0;
	}
	if (op->has_weight) {
		mm->cur_w = op->weight;
		b->vips[v].dirty = 1;
	}
	if (op->has_state) {
		/* Draining and down are held against the agent; active hands it back. */
		b->be_cur[id].state = op->state;
		b->be_cur[id].by = op->state == XLB_BE_ACTIVE ? XLB_BY_AGENT : XLB_BY_OPERATOR;
		b->be_touched[id] = 1;
	}
	return 0;
}

int xlb_batch_add(struct xlb_batch *b, const struct xlb_op *op, int line, char *err, size_t errlen)
{
	switch (op->kind) {
	case XLB_OP_VIP_ADD:
		return op_vip_add(b, op, err, errlen);
	case XLB_OP_VIP_DEL:
		return op_vip_del(b, op, err, errlen);
	case XLB_OP_BACKEND_ADD:
	case XLB_OP_BACKEND_SET:
	case XLB_OP_BACKEND_DEL:
		return op_backend_cmd(b, op, err, errlen);
	case XLB_OP_DRAIN_START:
		b->cfg.flags |= XLB_CFG_F_DRAIN;
		return 0;
	case XLB_OP_DRAIN_STOP:
		b->cfg.flags &= ~XLB_CFG_F_DRAIN;
		return 0;
	default:
		snprintf(err, errlen, "not a command of a batch");
		return -1;
	}
}

/* --- writing ---------------------------------------------------------------- */

/* What the commit writes, worked out before the first write. */
struct plan {
	__u32 *be_ids; /* A: backend entries to write (new ones first: nnew) */
	struct xlb_backend *be_vals;
	size_t nbe, nnew;
	__u32 *new_vips; /* B: records of VIPs to create */
	struct xlb_vip_key *vk;
	struct xlb_vip *vv;
	size_t nvk, nmade;	   /* nmade: created so far */
	struct xlb_member_key *mk; /* C: members to write (ids known after B) */
	struct xlb_member *mv;
	__u32 *mrec;
	size_t nmw;
	struct xlb_member_key *dk; /* D: members to delete, and their weights */
	struct xlb_member *dv;
	size_t nmd;
	__u32 *tables; /* E: VIP records whose table is built */
	size_t ntables;
	__u32 *gone; /* F: VIP records to delete */
	size_t ngone;
	__u32 *rel_ids;
	size_t nrel;
};

static void plan_free(struct plan *p)
{
	free(p->be_ids);
	free(p->be_vals);
	free(p->new_vips);
	free(p->vk);
	free(p->vv);
	free(p->mk);
	free(p->mv);
	free(p->mrec);
	free(p->dk);
	free(p->dv);
	free(p->tables);
	free(p->gone);
	free(p->rel_ids);
}

static int plan_make(struct xlb_batch *b, struct plan *p)
{
	size_t nv = b->nvips + 1, nm = b->nmems + 1, i;
	struct bmem *mm;
	int pass;

	memset(p, 0, sizeof(*p));
	p->be_ids = calloc(XLB_MAX_BACKENDS, sizeof(*p->be_ids));
	p->be_vals = calloc(XLB_MAX_BACKENDS, sizeof(*p->be_vals));
	p->rel_ids = calloc(XLB_MAX_BACKENDS, sizeof(*p->rel_ids));
	p->new_vips = calloc(nv, sizeof(*p->new_vips));
	p->vk = calloc(nv, sizeof(*p->vk));
	p->vv = calloc(nv, sizeof(*p->vv));
	p->tables = calloc(nv, sizeof(*p->tables));
	p->gone = calloc(nv, sizeof(*p->gone));
	p->mk = calloc(nm, sizeof(*p->mk));
	p->mv = calloc(nm, sizeof(*p->mv));
	p->mrec = calloc(nm, sizeof(*p->mrec));
	p->dk = calloc(nm, sizeof(*p->dk));
	p->dv = calloc(nm, sizeof(*p->dv));
	if (!p->dv || !p->be_ids || !p->be_vals || !p->rel_ids || !p->new_vips || !p->vk ||
	    !p->vv || !p->tables || !p->gone || !p->mk || !p->mv || !p->mrec || !p->dk)
		return -ENOMEM;
	/* Backends: new ones (zeroed counters) first, then changed states. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < XLB_MAX_BACKENDS; i++) {
			int fresh = b->be_orig[i].state == XLB_BE_UNUSED;

			if (!b->be_touched[i] || !b->be_refs[i] || fresh != !pass ||
			    !memcmp(&b->be_orig[i], &b->be_cur[i], sizeof(b->be_cur[i])))
				continue;
			p->be_ids[p->nbe] = i;
			p->be_vals[p->nbe++] = b->be_cur[i];
			p->nnew += fresh;
		}
	}
	for (i = 0; i < XLB_MAX_BACKENDS; i++) {
		if (b->be_touched[i] && !b->be_refs[i] && b->be_orig[i].state != XLB_BE_UNUSED) {
			p->rel_ids[p->nrel++] = i;
		}
	}
	/* A backend whose state changes changes the tables of its VIPs. */
	for (i = 0; i < b->nmems; i++) {
		mm = &b->mems[i];
		if (mm->present && b->be_cur[mm->be].state != b->be_orig[mm->be].state)
			b->vips[mm->vip].dirty = 1;
	}
	for (i = 0; i < b->nvips; i++) {
		struct bvip *v = &b->vips[i];

		if (v->exists && !v->had) {
			p->new_vips[p->nvk] = i;
			p->vk[p->nvk] = v->key;
			p->vv[p->nvk++] = v->cur;
		}
		if (v->exists && v->dirty)
			p->tables[p->ntables++] = i;
		if (v->had && !v->exists)
			p->gone[p->ngone++] = i;
	}
	for (i = 0; i < b->nmems; i++) {
		mm = &b->mems[i];
		if (mm->present && (!mm->had || mm->cur_w != mm->orig_w)) {
			p->mrec[p->nmw] = i;
			p->mv[p->nmw++].weight = mm->cur_w;
		} else if (mm->had && !mm->present) {
			p->dv[p->nmd].weight = mm->orig_w;
			p->dk[p->nmd++] = (struct xlb_member_key){
				.vip_id = b->vips[mm->vip].orig.id, .backend_id = mm->be};
		}
	}
	return 0;
}

/*
 * Build VIP record v's table from its members as they are now, or as they
 * were (orig), and swap it in.
 */
static int vip_table(struct xlb_batch *b, __u32 v, int orig)
{
	const struct xlb_backend *be = orig ? b->be_orig : b->be_cur;
	struct xlb_vip *vip = orig ? &b->vips[v].orig : &b->vips[v].cur;
	struct xlb_table_input in;
	size_t members = 0;
	struct bmem *mm;
	__u32 i;
	int err;

	for (i = b->vips[v].first; i != ~0U; i = b->mems[i].next)
		members += orig ? b->mems[i].had : b->mems[i].present;
	vip->table_size = xlb_vip_table_size(vip, members);
	err = xlb_table_input_init(&in, members);
	for (i = b->vips[v].first; !err && i != ~0U; i = mm->next) {
		mm = &b->mems[i];
		if (orig ? mm->had : mm->present)
			xlb_table_input_add(&in, mm->be, &be[mm->be],
					    orig ? mm->orig_w : mm->cur_w);
	}
	if (!err)
		err = xlb_table_input_write(b->m, vip, &in);
	xlb_table_input_free(&in);
	return err;
}

static void warn_add(struct xlb_batch *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn_add(struct xlb_batch *b, const char *fmt, ...)
{
	size_t off = strlen(b->warn);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->warn + off, sizeof(b->warn) - off, fmt, ap);
	va_end(ap);
}

/* The kernel's neighbour table limit (gc_thresh3) of a family; 1024 if unknown. */
static size_t neigh_limit(__u8 family)
{
	const char *path = family == XLB_AF_INET6 ? "/proc/sys/net/ipv6/neigh/default/gc_thresh3"
						  : "/proc/sys/net/ipv4/neigh/default/gc_thresh3";
	unsigned long n = 1024;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lu", &n) != 1)
			n = 1024;
		fclose(f);
	}
	return n;
}

/* Next hops primed so far (a short list: at most the neighbour table's limit). */
struct primed {
	struct xlb_addr_key *nh;
	int *ifindex;
	size_t n, cap;
};

/* Add (nh, ifindex) unless it is there: 1 added, 0 there, -ENOMEM. */
static int primed_add(struct primed *p, const struct xlb_addr_key *nh, int ifindex)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->ifindex[i] == ifindex && !memcmp(&p->nh[i], nh, sizeof(*nh)))
			return 0;
	if (xlb_vec_room((void **)&p->nh, sizeof(*p->nh), (void **)&p->ifindex, sizeof(*p->ifindex),
			 p->n, &p->cap, 64))
		return -ENOMEM;
	p->nh[p->n] = *nh;
	p->ifindex[p->n++] = ifindex;
	return 1;
}

/*
 * Have the kernel resolve the next hops of new backends before traffic
 * comes (as backend add does): a route lookup per backend address and one
 * managed neighbour entry per next hop, for as many addresses as the
 * kernel's neighbour table holds (gc_thresh3): past that, entries would
 * only push each other out, and the others resolve on their first packets.
 * Failures and skips are folded into one warning each.
 */
static void prime_neighbours(struct xlb_batch *b, const struct plan *p)
{
	struct xlb_addr_key a = {}, last = {}, nh;
	char first[XLB_ADDRSTRLEN] = "";
	size_t i, tried[2] = {}, limit[2], failed = 0, skipped = 0;
	struct primed done = {};
	int err, first_err = 0, ifindex, v6;

	limit[0] = neigh_limit(XLB_AF_INET);
	limit[1] = neigh_limit(XLB_AF_INET6);
	for (i = 0; i < p->nnew; i++) {
		memcpy(a.addr, p->be_vals[i].addr, sizeof(a.addr));
		a.family = p->be_vals[i].family;
		if (i && !memcmp(&a, &last, sizeof(a)))
			continue; /* the same address on another port */
		last = a;
		v6 = a.family == XLB_AF_INET6;
		if (tried[v6] >= limit[v6]) {
			skipped++;
			continue;
		}
		tried[v6]++;
		err = xlb_nl_route_get(&a, &nh, &ifindex);
		if (!err) {
			err = primed_add(&done, &nh, ifindex);
			err = err == 1 ? xlb_nl_neigh_manage(&nh, ifindex) : err;
		}
		if (err && !failed++) {
			first_err = err;
			xlb_addr_str(a.addr, a.family, first, sizeof(first));
		}
	}
	free(done.nh);
	free(done.ifindex);
	if (failed)
		warn_add(b,
			 "warning: %zu new backend address%s: cannot prepare the neighbour entry "
			 "(%s: %s%s)\n",
			 failed, failed == 1 ? "" : "es", first, xlb_cli_strerror(first_err),
			 failed > 1 ? ", and the others alike or for another reason" : "");
	if (skipped)
		warn_add(b,
			 "note: %zu new backend addresses not prepared: the kernel keeps %zu "
			 "neighbour entries (gc_thresh3); they resolve on their first packets\n",
			 skipped, limit[0]);
}

/* The steps of a commit, in order; undo goes back from the one that failed. */
enum step {
	STEP_BACKENDS,
	STEP_VIPS,
	STEP_MEMBERS,
	STEP_MEMBERS_DEL,
	STEP_TABLES,
	STEP_SETTINGS,
	STEP_VIPS_DEL, /* from here on, nothing is undone */
	STEP_RELEASE,
	STEP_DONE,
};

static const char *const step_name[STEP_DONE] = {
	[STEP_BACKENDS] = "write backends", [STEP_VIPS] = "create VIPs",
	[STEP_MEMBERS] = "write members",   [STEP_MEMBERS_DEL] = "delete members",
	[STEP_TABLES] = "build tables",	    [STEP_SETTINGS] = "write settings",
	[STEP_VIPS_DEL] = "delete VIPs",    [STEP_RELEASE] = "free unused backends",
};

/*
 * Put back what steps before failed (and failed itself, partly) wrote.
 * Returns the first error of the undo, 0 when all went back.
 */
static int undo(struct xlb_batch *b, struct plan *p, enum step failed)
{
	struct xlb_member_key *back;
	struct xlb_member *back_v;
	int err = 0, e;
	size_t i, n = 0;

	if (failed >= STEP_SETTINGS)
		err = xlb_config_set(b->m, &b->cfg_orig);
	if (failed >= STEP_TABLES) {
		for (i = 0; i < p->ntables; i++) {
			if (!b->vips[p->tables[i]].had)
				continue;
			e = vip_table(b, p->tables[i], 1);
			err = err ?: e;
		}
	}
	if (failed >= STEP_MEMBERS) {
		/* Members written: back to their weight, or away; deleted ones back. */
		back = calloc(p->nmw + p->nmd + 1, sizeof(*back));
		back_v = calloc(p->nmw + p->nmd + 1, sizeof(*back_v));
		if (!back || !back_v) {
			err = err ?: -ENOMEM;
		} else {
			for (i = 0; i < p->nmw; i++) {
				struct bmem *mm = &b->mems[p->mrec[i]];

				if (mm->had) {
					back[n] = p->mk[i];
					back_v[n++].weight = mm->orig_w;
				}
			}
			for (i = 0; i < p->nmd; i++) {
				back[n] = p->dk[i];
				back_v[n++] = p->dv[i];
			}
			e = xlb_bm_members_delete(b->m, p->mk, p->nmw);
			err = err ?: e;
			e = xlb_bm_members_write(b->m, back, back_v, n);
			err = err ?: e;
		}
		free(back);
		free(back_v);
	}
	if (failed >= STEP_VIPS) {
		for (i = 0; i < p->nmade; i++) {
			e = xlb_vip_delete(b->m, &p->vk[i]);
			err = err ?: (e == -ENOENT ? 0 : e);
		}
	}
	if (failed >= STEP_BACKENDS) {
		for (i = 0; i < p->nbe; i++)
			p->be_vals[i] = b->be_orig[p->be_ids[i]];
		e = xlb_backends_write_n(b->m, p->be_ids, p->be_vals, p->nbe, NULL);
		err = err ?: e;
	}
	return err;
}

/* One step of the commit; 0 or a negative errno. */
static int run_step(struct xlb_batch *b, struct plan *p, enum step s)
{
	size_t i;
	int err = 0;

	switch (s) {
	case STEP_BACKENDS:
		err = xlb_bm_backends_zero(b->m, p->be_ids, p->nnew, 1);
		if (!err)
			err = xlb_backends_write_n(b->m, p->be_ids, p->be_vals, p->nbe, NULL);
		if (!err)
			prime_neighbours(b, p);
		return err;
	case STEP_VIPS:
		/* All at once, each with an empty table: all or none. */
		err = p->nvk ? xlb_vips_create(b->m, p->vk, p->vv, p->nvk) : 0;
		if (!err)
			p->nmade = p->nvk;
		for (i = 0; i < p->nmade; i++)
			b->vips[p->new_vips[i]].cur.id = p->vv[i].id;
		return err;
	case STEP_MEMBERS:
		for (i = 0; i < p->nmw; i++) {
			struct bmem *mm = &b->mems[p->mrec[i]];

			p->mk[i].vip_id = b->vips[mm->vip].cur.id;
			p->mk[i].backend_id = mm->be;
		}
		return xlb_bm_members_write(b->m, p->mk, p->mv, p->nmw);
	case STEP_MEMBERS_DEL:
		return xlb_bm_members_delete(b->m, p->dk, p->nmd);
	case STEP_TABLES:
		for (i = 0; !err && i < p->ntables; i++)
			err = vip_table(b, p->tables[i], 0);
		b->tables = i;
		return err;
	case STEP_SETTINGS:
		if (b->cfg.flags == b->cfg_orig.flags)
			return 0;
		return xlb_config_set(b->m, &b->cfg);
	case STEP_VIPS_DEL:
		/* Their members are gone already: the deletes find none to walk. */
		for (i = 0; !err && i < p->ngone; i++) {
			err = xlb_vip_delete(b->m, &b->vips[p->gone[i]].key);
			if (err == -ENOENT)
				err = 0;
		}
		return err;
	case STEP_RELEASE:
		if (!p->nrel)
			return 0;
		memset(p->be_vals, 0, p->nrel * sizeof(*p->be_vals));
		/* Freed ids take their next gen: their flows are re-picked, none walked. */
		err = xlb_backends_write_n(b->m, p->rel_ids, p->be_vals, p->nrel, NULL);
		for (i = 0; !err && i < p->nrel; i++)
			err = xlb_nat_purge_backend(b->m, p->rel_ids[i]);
		return err;
	default:
		return 0;
	}
}

int xlb_batch_commit(struct xlb_batch *b, char *err, size_t errlen)
{
	struct plan p;
	enum step s;
	int e, ue;

	e = plan_make(b, &p);
	if (e) {
		snprintf(err, errlen, "plan the writes: %s (nothing written)", xlb_cli_strerror(e));
		plan_free(&p);
		return -1;
	}
	for (s = STEP_BACKENDS; s < STEP_DONE; s++) {
		e = run_step(b, &p, s);
		if (e)
			break;
	}
	if (!e) {
		plan_free(&p);
		return 0;
	}
	if (s >= STEP_VIPS_DEL) {
		snprintf(err, errlen,
			 "%s: %s; every other change is written (the VIPs listed by 'xlb vip "
			 "list' are the ones left)",
			 step_name[s], xlb_cli_strerror(e));
	} else {
		ue = undo(b, &p, s);
		if (ue)
			snprintf(err, errlen,
				 "%s: %s; undoing the earlier writes failed too (%s): check "
				 "'xlb save' against the batch",
				 step_name[s], xlb_cli_strerror(e), xlb_cli_strerror(ue));
		else
			snprintf(err, errlen,
				 "%s: %s; the earlier writes were undone, nothing "
				 "changed",
				 step_name[s], xlb_cli_strerror(e));
	}
	plan_free(&p);
	return -1;
}

const char *xlb_batch_warnings(const struct xlb_batch *b)
{
	return b->warn;
}

void xlb_batch_counts(const struct xlb_batch *b, size_t *vips, size_t *backends, size_t *tables)
{
	*vips = b->vips_live;
	*backends = b->mems_live;
	*tables = b->tables;
}

/* --- save ------------------------------------------------------------------- */

/* qsort_r() orders: VIP records by key, member records by backend identity. */
static int cmp_vip(const void *x, const void *y, void *arg)
{
	const struct xlb_batch *b = arg;

	return memcmp(&b->vips[*(const __u32 *)x].key, &b->vips[*(const __u32 *)y].key,
		      sizeof(struct xlb_vip_key));
}

static int cmp_mem(const void *x, const void *y, void *arg)
{
	const struct xlb_batch *b = arg;

	return memcmp(&b->be_cur[b->mems[*(const __u32 *)x].be],
		      &b->be_cur[b->mems[*(const __u32 *)y].be], BE_KEY_LEN);
}

int xlb_batch_save(struct xlb_batch *b, void (*emit)(const char *line, void *arg), void *arg)
{
	char line[300], vs[XLB_VIPSTRLEN], bs[XLB_VIPSTRLEN], size[32];
	unsigned char *held_done;
	__u32 *order, *mo, i, j, n = 0, nm;
	int err = 0;

	order = calloc(b->nvips + 1, sizeof(*order));
	mo = calloc(b->nmems + 1, sizeof(*mo));
	held_done = calloc(XLB_MAX_BACKENDS, 1);
	if (!order || !mo || !held_done) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < b->nvips; i++)
		if (b->vips[i].exists)
			order[n++] = i;
	qsort_r(order, n, sizeof(*order), cmp_vip, b);
	for (i = 0; i < n; i++) {
		const struct bvip *v = &b->vips[order[i]];

		xlb_vip_str(&v->key, vs, sizeof(vs));
		if (v->cur.flags & XLB_VIP_F_SIZE_AUTO)
			size[0] = '\0';
		else
			snprintf(size, sizeof(size), " --table-size %u", v->cur.table_size);
		snprintf(line, sizeof(line), "vip add %s%s%s%s%s%s", vs, size,
			 v->cur.flags & XLB_VIP_F_HASH_SRC ? " --hash src" : "",
			 v->cur.flags & XLB_VIP_F_NAT	? " --forward nat"
			 : v->cur.flags & XLB_VIP_F_GUE ? " --forward gue"
							: "",
			 v->cur.flags & XLB_VIP_F_STATELESS ? " --flow-state stateless" : "",
			 v->cur.flags & XLB_VIP_F_LEAST_CONN ? " --lb least_conn" : "");
		emit(line, arg);
		nm = 0;
		for (j = v->first; j != ~0U; j = b->mems[j].next)
			if (b->mems[j].present)
				mo[nm++] = j;
		qsort_r(mo, nm, sizeof(*mo), cmp_mem, b);
		for (j = 0; j < nm; j++) {
			const struct bmem *mm = &b->mems[mo[j]];
			const struct xlb_backend *e = &b->be_cur[mm->be];

			xlb_backend_label(e, bs, sizeof(bs));
			snprintf(line, sizeof(line), "backend add %s %s --weight %u", vs, bs,
				 mm->cur_w);
			emit(line, arg);
			/* A state the operator holds; once per backend (it is the backend's). */
			if (!xlb_backend_held(e) || held_done[mm->be])
				continue;
			held_done[mm->be] = 1;
			snprintf(line, sizeof(line), "backend set %s %s --state %s", vs, bs,
				 xlb_state_name(e->state));
			emit(line, arg);
		}
	}
out:
	free(order);
	free(mo);
	free(held_done);
	return err;
}
