/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tests of the reconcile (user/lib/dataplane/reconcile.c) against a real,
 * loaded xlb_lb skeleton whose maps are never pinned: a reconcile writes
 * only the difference (nothing when nothing changed, one VIP's table when
 * one node changed), and a reconcile that fails leaves the maps as they
 * were, whether it fails in its plan (capacity), at the open-files limit
 * or in a write midway (the member map is made small here, so that the
 * plan, which checks XLB_MAX_MEMBERS, passes and a member write fails).
 *
 * "As they were" is checked on a dump of the maps in text: every backend
 * entry, every VIP with its value and its live table's digest, every
 * member with its weight.
 *
 * Output: "ok N - name" or "not ok N - name: what differed", then
 * "P passed, F failed"; the exit status is 1 if a test failed, 77 if the
 * program cannot be loaded.
 */
#define _GNU_SOURCE /* open_memstream(), strerrorname_np() */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "base/addr.h"
#include "dataplane/maps.h"
#include "dataplane/reconcile.h"
#include "xlb_lb.skel.h"
#include "../lib/bpftest.h"

#define MEMBERS_MAX 16 /* the member map's size here: small to fill */
#define NODES_MAX   8  /* members of one VIP in a spec */
#define TABLE	    13 /* Maglev slots per VIP */

struct env {
	struct bpftest t;
	struct xlb_lb *skel;
	struct xlb_maps m;
};

/* One VIP of a desired state: VIP number vip, members be[i] (numbers) with w[i]. */
struct vspec {
	int vip;
	int n;
	int be[NODES_MAX];
	__u32 w[NODES_MAX];
	int client; /* 0: every client; c: 198.18.(10 + c).0/24 only */
};

static void vip_key(int j, struct xlb_vip_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr[0] = htonl(0xc6126400 + j); /* 198.18.100.j */
	k->port = htons(80);
	k->proto = IPPROTO_TCP;
	k->family = XLB_AF_INET;
}

static void be_addr(int i, struct xlb_addr_key *a)
{
	memset(a, 0, sizeof(*a));
	a->addr[0] = htonl(0xc6120100 + i); /* 198.18.1.i */
	a->family = XLB_AF_INET;
}

/* A desired state from specs: every backend a member names, once, active. */
static int want_make(struct xlb_want *w, const struct vspec *vs, size_t n)
{
	unsigned char seen[256] = {};
	size_t i, j;
	int b;

	memset(w, 0, sizeof(*w));
	w->vips = calloc(n + 1, sizeof(*w->vips));
	w->backends = calloc(n * NODES_MAX + 1, sizeof(*w->backends));
	if (!w->vips || !w->backends)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct xlb_want_vip *wv = &w->vips[w->nvips++];

		vip_key(vs[i].vip, &wv->key);
		if (vs[i].client) {
			wv->key.client_family = XLB_AF_INET;
			wv->key.client[0] = htonl(0xc6120000 + ((10 + vs[i].client) << 8));
			wv->key.client_plen = 24;
		}
		wv->table_size = TABLE;
		wv->nmembers = vs[i].n;
		wv->members = calloc(vs[i].n + 1, sizeof(*wv->members));
		if (!wv->members)
			return -ENOMEM;
		for (j = 0; j < (size_t)vs[i].n; j++) {
			b = vs[i].be[j];
			be_addr(b, &wv->members[j].addr);
			wv->members[j].port = 80;
			wv->members[j].weight = vs[i].w[j];
			if (seen[b]++)
				continue;
			be_addr(b, &w->backends[w->nbackends].addr);
			w->backends[w->nbackends].port = 80;
			w->backends[w->nbackends++].state = XLB_BE_ACTIVE;
		}
	}
	return 0;
}

/* --- the maps as text ------------------------------------------------------------ */

struct dump {
	FILE *f;
	struct env *e;
	int err;
};

static int dump_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct dump *d = arg;
	char buf[XLB_VIPSTRLEN];
	__u64 digest = 0;
	int err;

	err = xlb_table_digest(&d->e->m, v, NULL, &digest, NULL);
	if (err)
		d->err = err;
	fprintf(d->f, "vip %s clients %08x/%u id %u flags %u size %u table %016llx\n",
		xlb_vip_str(k, buf, sizeof(buf)), ntohl(k->client[0]), k->client_plen, v->id,
		v->flags, v->table_size, (unsigned long long)digest);
	return 0;
}

static int dump_member(const struct xlb_member_key *k, const struct xlb_member *v, void *arg)
{
	fprintf(((struct dump *)arg)->f, "member vip %u backend %u weight %u\n", k->vip_id,
		k->backend_id, v->weight);
	return 0;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lines of text sorted in place (walk order is the map's, not ours). */
static void sort_lines(char *text)
{
	char **lines = NULL, *p, *out, *save = NULL;
	size_t n = 0, cap = 0, i, len = strlen(text);

	out = malloc(len + 1);
	if (!out)
		return;
	for (p = strtok_r(text, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		if (n == cap) {
			char **l = realloc(lines, (cap = cap ? 2 * cap : 64) * sizeof(*l));

			if (!l)
				goto out;
			lines = l;
		}
		lines[n++] = p;
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	out[0] = 0;
	for (i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	memcpy(text, out, strlen(out) + 1);
out:
	free(lines);
	free(out);
}

/* The entries of xlb_vip_clients and the address entries they need, raw. */
static void dump_clients(struct env *e, FILE *f)
{
	int fd = bpf_map__fd(e->skel->maps.xlb_vip_clients);
	struct xlb_client_key k, next;
	struct xlb_vip_key rk, base;
	struct xlb_vip v;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &rk))
			continue;
		memset(&base, 0, sizeof(base));
		memcpy(base.addr, k.addr, sizeof(base.addr));
		base.port = k.port;
		base.proto = k.proto;
		base.family = k.family;
		if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.xlb_vips), &base, &v))
			v = (struct xlb_vip){.flags = ~0U};
		fprintf(f, "client %08x/%u -> %08x/%u, address flags %x\n", ntohl(k.client[0]),
			k.prefixlen - XLB_CLIENT_KEY_VIP_BITS, ntohl(rk.client[0]), rk.client_plen,
			v.flags);
	}
}

/* Entries of a map (LPM trie or hash). */
static int map_count(struct bpf_map *map)
{
	__u8 key[64], next[64];
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(bpf_map__fd(map), prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

/* Everything a reconcile writes, as sorted text (free it). */
static char *dump_maps(struct env *e)
{
	struct xlb_backend *all = calloc(XLB_MAX_BACKENDS, sizeof(*all));
	struct dump d = {.e = e};
	char buf[XLB_VIPSTRLEN], *text = NULL;
	size_t len;
	__u32 id;

	if (!all)
		return NULL;
	d.f = open_memstream(&text, &len);
	if (!d.f || xlb_backends_read(&e->m, all)) {
		free(all);
		if (d.f)
			fclose(d.f);
		free(text);
		return NULL;
	}
	for (id = 0; id < XLB_MAX_BACKENDS; id++) {
		if (all[id].state == XLB_BE_UNUSED)
			continue;
		xlb_backend_key(&all[id], buf, sizeof(buf));
		fprintf(d.f, "backend %u %s state %u by %u\n", id, buf, all[id].state, all[id].by);
	}
	free(all);
	dump_clients(e, d.f);
	if (xlb_vip_foreach(&e->m, dump_vip, &d) || xlb_member_foreach(&e->m, dump_member, &d))
		d.err = -EIO;
	fclose(d.f);
	if (d.err) {
		free(text);
		return NULL;
	}
	sort_lines(text);
	return text;
}

/* Fail with the first line where two dumps differ. */
static int expect_same(struct env *e, const char *what, const char *got, const char *want)
{
	size_t i = 0, ls = 0;

	if (!got || !want)
		return bpftest_fail(&e->t, "%s: cannot dump the maps", what);
	if (!strcmp(got, want))
		return 0;
	while (got[i] && got[i] == want[i]) {
		if (got[i] == '\n')
			ls = i + 1;
		i++;
	}
	return bpftest_fail(&e->t, "%s: maps differ at \"%.*s\" (expected \"%.*s\")", what,
			    (int)strcspn(got + ls, "\n"), got + ls, (int)strcspn(want + ls, "\n"),
			    want + ls);
}

static int reconcile(struct env *e, struct xlb_shadow *s, const struct vspec *vs, size_t n,
		     struct xlb_reconcile_stats *st)
{
	struct xlb_want w;
	int err = want_make(&w, vs, n);

	if (!err)
		err = xlb_reconcile(&e->m, s, &w, st);
	xlb_want_free(&w);
	return err;
}

/*
 * A partial state: the VIPs of vs, gone the VIP numbers in gone, and
 * backend number down (0: none) draining.
 */
static int reconcile_partial(struct env *e, struct xlb_shadow *s, const struct vspec *vs, size_t n,
			     const int *gone, size_t ngone, int down,
			     struct xlb_reconcile_stats *st)
{
	struct xlb_addr_key a;
	struct xlb_want w;
	size_t i;
	int err = want_make(&w, vs, n);

	w.partial = 1;
	w.gone = calloc(ngone + 1, sizeof(*w.gone));
	if (!w.gone)
		err = -ENOMEM;
	for (i = 0; !err && i < ngone; i++)
		vip_key(gone[i], &w.gone[w.ngone++]);
	be_addr(down, &a);
	for (i = 0; !err && down && i < w.nbackends; i++)
		if (!memcmp(&w.backends[i].addr, &a, sizeof(a)))
			w.backends[i].state = XLB_BE_DRAINING;
	if (!err)
		err = xlb_reconcile(&e->m, s, &w, st);
	xlb_want_free(&w);
	return err;
}

static int stats_zero(const struct xlb_reconcile_stats *st)
{
	return !(st->vips_added || st->vips_updated || st->vips_removed || st->backends_added ||
		 st->backends_changed || st->backends_removed || st->members_changed ||
		 st->tables_written);
}

static const struct vspec A[] = {
	{1, 3, {1, 2, 3}, {1, 1, 1}},
	{2, 3, {3, 4, 5}, {1, 2, 1}},
	{3, 2, {6, 7}, {1, 1}},
};
#define NA (sizeof(A) / sizeof(A[0]))

/* The maps to state A; a failure is the case's. */
static int reconcile_a(struct env *e, struct xlb_shadow *s)
{
	struct xlb_reconcile_stats st;
	int err = reconcile(e, s, A, NA, &st);

	return err ? bpftest_fail(&e->t, "reconcile A: %s (%s)", strerror(-err), st.error) : 0;
}

/* --- cases ----------------------------------------------------------------------------- */

/* Nothing changed: nothing is written, and the maps hold the state. */
static int t_nothing_twice(struct env *e, struct xlb_shadow *s)
{
	struct xlb_reconcile_stats st;
	int err;

	err = reconcile(e, s, A, NA, &st);
	if (err)
		return bpftest_fail(&e->t, "first reconcile: %s (%s)", strerror(-err), st.error);
	if (st.vips_added != 3 || st.backends_added != 7 || st.members_changed != 8 ||
	    st.tables_written != 3)
		return bpftest_fail(&e->t,
				    "first reconcile wrote vips +%u, backends +%u, members %u, "
				    "tables %u (expected 3, 7, 8, 3)",
				    st.vips_added, st.backends_added, st.members_changed,
				    st.tables_written);
	err = reconcile(e, s, A, NA, &st);
	if (err || !stats_zero(&st))
		return bpftest_fail(&e->t,
				    "the same state again: err %d, vips +%u ~%u, backends +%u ~%u, "
				    "members %u, tables %u (expected nothing written)",
				    err, st.vips_added, st.vips_updated, st.backends_added,
				    st.backends_changed, st.members_changed, st.tables_written);
	return 0;
}

/* What one node of one VIP changed writes: one table, one backend in, one out. */
static int one_node_written(struct env *e, const struct xlb_reconcile_stats *st)
{
	if (st->tables_written != 1 || st->backends_added != 1 || st->backends_removed != 1 ||
	    st->members_changed != 2 || st->vips_added || st->vips_removed || st->vips_updated)
		return bpftest_fail(&e->t,
				    "wrote tables %u, backends +%u -%u, members %u, vips +%u ~%u "
				    "-%u (expected 1, +1 -1, 2, none)",
				    st->tables_written, st->backends_added, st->backends_removed,
				    st->members_changed, st->vips_added, st->vips_updated,
				    st->vips_removed);
	return 0;
}

/* One node of one VIP changed: one table, one backend in, one out. */
static int t_one_node(struct env *e, struct xlb_shadow *s)
{
	struct vspec b[NA];
	struct xlb_reconcile_stats st;
	char *want, *got;
	int err;

	memcpy(b, A, sizeof(b));
	b[2].be[1] = 9; /* VIP 3: node 7 -> node 9 */
	if (reconcile_a(e, s))
		return -1;
	err = reconcile(e, s, b, NA, &st);
	if (err)
		return bpftest_fail(&e->t, "reconcile B: %s (%s)", strerror(-err), st.error);
	if (one_node_written(e, &st))
		return -1;
	/* The same maps as a reconcile that reads them afresh would leave. */
	got = dump_maps(e);
	err = reconcile(e, NULL, b, NA, &st);
	want = dump_maps(e);
	err = err ? bpftest_fail(&e->t, "fresh reconcile: %s", st.error)
		  : expect_same(e, "after one node changed", got, want);
	if (!err && !stats_zero(&st))
		err = bpftest_fail(&e->t, "a fresh reconcile of the same state wrote something");
	free(got);
	free(want);
	return err;
}

/*
 * After a failed reconcile whose own checks passed (err 0): the maps are
 * as before, and the shadow still knows them (A again writes nothing).
 * Frees the dumps.
 */
static int after_failure(struct env *e, struct xlb_shadow *s, int err, char *before, char *after,
			 const char *what)
{
	struct xlb_reconcile_stats st;

	if (!err)
		err = expect_same(e, what, after, before);
	free(before);
	free(after);
	if (!err && (reconcile(e, s, A, NA, &st) || !stats_zero(&st)))
		err = bpftest_fail(&e->t, "%s: the shadow no longer matches the maps", what);
	return err;
}

/*
 * The maps after a partial reconcile are those a whole reconcile of the
 * state b (backend number down draining) leaves, read afresh: it writes
 * nothing and the dumps are equal.
 */
static int same_as_whole(struct env *e, const struct vspec *b, size_t n, int down, const char *what)
{
	struct xlb_reconcile_stats st;
	char *got = dump_maps(e), *want;
	int err;

	err = reconcile_partial(e, NULL, b, n, NULL, 0, down, &st);
	want = dump_maps(e);
	if (err)
		err = bpftest_fail(&e->t, "%s: the whole reconcile: %s", what, st.error);
	else if (!stats_zero(&st))
		err = bpftest_fail(
			&e->t,
			"%s: a whole reconcile of the same state wrote vips +%u ~%u -%u, "
			"backends +%u ~%u -%u, members %u, tables %u",
			what, st.vips_added, st.vips_updated, st.vips_removed, st.backends_added,
			st.backends_changed, st.backends_removed, st.members_changed,
			st.tables_written);
	else
		err = expect_same(e, what, got, want);
	free(got);
	free(want);
	return err;
}

/* A partial state listing VIP 3 alone: VIPs 1 and 2 are not read, not written. */
static int t_partial_untouched(struct env *e, struct xlb_shadow *s)
{
	struct vspec b[] = {A[2]};
	struct xlb_reconcile_stats st;
	struct xlb_addr_key a;
	struct xlb_member mv;
	struct xlb_vip vip;
	struct xlb_vip_key k;
	__u32 id;
	int err;

	b[0].be[1] = 9; /* VIP 3: node 7 -> node 9 */
	err = reconcile(e, s, A, NA, &st);
	/* Behind the shadow's back: VIP 1's member 1 gets weight 9. */
	vip_key(1, &k);
	be_addr(1, &a);
	if (!err)
		err = xlb_vip_get(&e->m, &k, &vip);
	if (!err)
		err = xlb_backend_find(&e->m, &a, 80, &id);
	if (!err)
		err = xlb_member_set(&e->m, vip.id, id, 9);
	if (err)
		return bpftest_fail(&e->t, "setting up: %s (%s)", strerror(-err), st.error);
	err = reconcile_partial(e, s, b, 1, NULL, 0, 0, &st);
	if (err)
		return bpftest_fail(&e->t, "partial reconcile: %s", st.error);
	if (one_node_written(e, &st))
		return -1;
	err = xlb_member_get(&e->m, vip.id, id, &mv);
	if (err || mv.weight != 9)
		return bpftest_fail(&e->t,
				    "VIP 1's member: err %d weight %u (expected 9: untouched)", err,
				    err ? 0 : mv.weight);
	return 0;
}

/*
 * A partial state: VIP 1 gone, VIP 4 new (sharing backend 3 with VIP 2),
 * VIP 2 with a new weight. The maps equal a whole reconcile's; backends 1
 * and 2, held by VIP 1 alone, are removed.
 */
static int t_partial_gone_new(struct env *e, struct xlb_shadow *s)
{
	struct vspec b[] = {A[1], {4, 2, {3, 8}, {1, 1}}}, whole[] = {A[1], A[2], b[1]};
	static const int gone[] = {1};
	struct xlb_reconcile_stats st;
	int err;

	b[0].w[1] = 4;
	whole[0] = b[0];
	err = reconcile(e, s, A, NA, &st);
	if (!err)
		err = reconcile_partial(e, s, b, 2, gone, 1, 0, &st);
	if (err)
		return bpftest_fail(&e->t, "reconcile: %s (%s)", strerror(-err), st.error);
	if (st.vips_added != 1 || st.vips_removed != 1 || st.backends_added != 1 ||
	    st.backends_removed != 2 || st.tables_written != 2)
		return bpftest_fail(&e->t,
				    "wrote vips +%u -%u, backends +%u -%u, tables %u (expected +1 "
				    "-1, +1 -2, 2)",
				    st.vips_added, st.vips_removed, st.backends_added,
				    st.backends_removed, st.tables_written);
	return same_as_whole(e, whole, 3, 0, "after VIP 1 gone, VIP 4 new");
}

/*
 * A partial state listing VIP 2 with its backend 3 draining: VIP 1, not
 * listed, holds backend 3 too and gets its table rebuilt without it.
 */
static int t_partial_shared(struct env *e, struct xlb_shadow *s)
{
	struct xlb_reconcile_stats st;
	int err;

	err = reconcile(e, s, A, NA, &st);
	if (!err)
		err = reconcile_partial(e, s, &A[1], 1, NULL, 0, 3, &st);
	if (err)
		return bpftest_fail(&e->t, "reconcile: %s (%s)", strerror(-err), st.error);
	if (st.backends_changed != 1 || st.tables_written != 2 || st.members_changed)
		return bpftest_fail(&e->t,
				    "wrote backends ~%u, tables %u, members %u (expected 1, 2, 0)",
				    st.backends_changed, st.tables_written, st.members_changed);
	return same_as_whole(e, A, NA, 3, "after a shared backend drained");
}

/* A VIP both listed and gone is refused, and nothing is written. */
static int t_partial_both(struct env *e, struct xlb_shadow *s)
{
	static const int gone[] = {2};
	struct xlb_reconcile_stats st;
	char *before, *after;
	int err;

	if (reconcile_a(e, s))
		return -1;
	before = dump_maps(e);
	err = reconcile_partial(e, s, A, NA, gone, 1, 0, &st);
	after = dump_maps(e);
	if (err != -EINVAL || !strstr(st.error, "both wanted and gone"))
		err = bpftest_fail(&e->t, "err %d \"%s\" (expected -EINVAL, both wanted and gone)",
				   err, st.error);
	else
		err = 0;
	return after_failure(e, s, err, before, after, "after a VIP listed and gone");
}

/* A plan that does not fit (VIP ids) writes nothing, though backends changed too. */
static int t_capacity(struct env *e, struct xlb_shadow *s)
{
	struct xlb_reconcile_stats st;
	struct vspec *b;
	size_t n = NA + XLB_MAX_VIPS, i;
	char *before, *after;
	int err;

	if (reconcile_a(e, s))
		return -1;
	b = calloc(n, sizeof(*b));
	if (!b)
		return bpftest_fail(&e->t, "out of memory");
	memcpy(b, A, sizeof(A));
	b[0].be[0] = 10; /* a new backend, and weights changed */
	b[1].w[0] = 5;
	for (i = NA; i < n; i++)
		b[i].vip = 1000 + (int)i; /* VIPs without members */
	before = dump_maps(e);
	err = reconcile(e, s, b, n, &st);
	after = dump_maps(e);
	free(b);
	if (err != -ENOSPC || !strstr(st.error, "VIP ids"))
		err = bpftest_fail(&e->t,
				   "too many VIPs: err %d \"%s\" (expected -ENOSPC, VIP ids)", err,
				   st.error);
	else
		err = 0;
	return after_failure(e, s, err, before, after, "after a plan that does not fit");
}

/* A write that fails midway (the member map is full) is undone. */
static int t_midway(struct env *e, struct xlb_shadow *s)
{
	static const struct vspec more[] = {
		{4, 4, {11, 12, 13, 14}, {1, 1, 1, 1}},
		{5, 6, {15, 16, 17, 18, 20, 21}, {1, 1, 1, 1, 1, 1}},
	};
	struct vspec b[NA + 2];
	struct xlb_reconcile_stats st;
	char *before, *after;
	int err;

	if (reconcile_a(e, s))
		return -1;
	/*
	 * 8 members; in the order written: VIP 2 swaps one (8), VIP 3 loses
	 * one (7), VIP 4 adds 4 (11), VIP 5 adds 6: the 6th is the 17th of 16.
	 */
	memcpy(b, A, sizeof(A));
	memcpy(b + NA, more, sizeof(more));
	b[0].w[1] = 7;	 /* VIP 1: a weight */
	b[1].be[2] = 19; /* VIP 2: node 5 -> node 19 */
	b[2].n = 1;	 /* VIP 3: node 7 goes */
	before = dump_maps(e);
	err = reconcile(e, s, b, NA + 2, &st);
	after = dump_maps(e);
	if (!err)
		err = bpftest_fail(&e->t, "a full member map: the reconcile succeeded");
	else if (!strstr(st.error, "the maps are as they were"))
		err = bpftest_fail(&e->t, "error \"%s\" (expected: the maps are as they were)",
				   st.error);
	else
		err = 0;
	return after_failure(e, s, err, before, after, "after a failed write");
}

/*
 * VIPs on one address for two client prefixes and for every other client:
 * created, left alone when unchanged, undone on a failed write, and taken
 * away with their LPM entries and the address's entry.
 */
static int t_clients(struct env *e, struct xlb_shadow *s)
{
	static const struct vspec c[] = {
		{1, 1, {1}, {1}, 1},
		{1, 1, {2}, {1}, 2},
		{1, 1, {3}, {1}, 0},
	};
	static const struct vspec more[] = {
		{1, 8, {11, 12, 13, 14, 15, 16, 17, 18}, {1, 1, 1, 1, 1, 1, 1, 1}, 3},
		{1, 8, {21, 22, 23, 24, 25, 26, 27, 28}, {1, 1, 1, 1, 1, 1, 1, 1}, 4},
	};
	struct vspec b[5];
	struct xlb_reconcile_stats st;
	char *before, *after;
	int err;

	err = reconcile(e, s, c, 3, &st);
	if (err)
		return bpftest_fail(&e->t, "reconcile: %s (%s)", strerror(-err), st.error);
	if (st.vips_added != 3 || map_count(e->skel->maps.xlb_vip_clients) != 2 ||
	    map_count(e->skel->maps.xlb_filtered_vips) != 2 ||
	    map_count(e->skel->maps.xlb_vips) != 1)
		return bpftest_fail(&e->t,
				    "3 VIPs on one address: %u added, %d LPM entries, %d filtered "
				    "VIPs, %d address entries (expected 3, 2, 2, 1)",
				    st.vips_added, map_count(e->skel->maps.xlb_vip_clients),
				    map_count(e->skel->maps.xlb_filtered_vips),
				    map_count(e->skel->maps.xlb_vips));
	err = reconcile(e, s, c, 3, &st);
	if (err || !stats_zero(&st))
		return bpftest_fail(&e->t, "the same state again: err %d, vips +%u ~%u -%u", err,
				    st.vips_added, st.vips_updated, st.vips_removed);

	/* Two more prefixes whose members overflow the member map: undone. */
	memcpy(b, c, sizeof(c));
	memcpy(b + 3, more, sizeof(more));
	before = dump_maps(e);
	err = reconcile(e, s, b, 5, &st);
	after = dump_maps(e);
	if (!err)
		err = bpftest_fail(&e->t, "a full member map: the reconcile succeeded");
	else
		err = expect_same(e, "after a failed write", after, before);
	free(before);
	free(after);
	if (err)
		return err;
	if (map_count(e->skel->maps.xlb_vip_clients) != 2)
		return bpftest_fail(&e->t, "after the undo: %d LPM entries (expected 2)",
				    map_count(e->skel->maps.xlb_vip_clients));

	/* The VIP for every client and one prefix go: the address's entry stays bare. */
	err = reconcile(e, s, c, 1, &st);
	if (err || st.vips_removed != 2 || map_count(e->skel->maps.xlb_vip_clients) != 1 ||
	    map_count(e->skel->maps.xlb_filtered_vips) != 1 ||
	    map_count(e->skel->maps.xlb_vips) != 1)
		return bpftest_fail(&e->t,
				    "down to one prefix: err %d (%s), %u removed, %d LPM entries, "
				    "%d filtered VIPs, %d address entries (expected 2, 1, 1, 1)",
				    err, st.error, st.vips_removed,
				    map_count(e->skel->maps.xlb_vip_clients),
				    map_count(e->skel->maps.xlb_filtered_vips),
				    map_count(e->skel->maps.xlb_vips));
	err = reconcile(e, s, c, 0, &st);
	if (err || map_count(e->skel->maps.xlb_vip_clients) ||
	    map_count(e->skel->maps.xlb_filtered_vips) || map_count(e->skel->maps.xlb_vips))
		return bpftest_fail(
			&e->t,
			"nothing wanted: err %d (%s), %d LPM entries, %d filtered VIPs, "
			"%d address entries (expected none)",
			err, st.error, map_count(e->skel->maps.xlb_vip_clients),
			map_count(e->skel->maps.xlb_filtered_vips),
			map_count(e->skel->maps.xlb_vips));
	return 0;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ., .. and the directory's own */
}

/*
 * At the open-files limit: with a few descriptors free, 20 new VIPs are
 * made (no descriptor per VIP); with none free, either they are made all
 * the same or nothing is written and the error names the limit.
 */
static int t_nofile(struct env *e, struct xlb_shadow *s)
{
	struct vspec b[20];
	struct xlb_reconcile_stats st;
	struct rlimit old, low;
	char *before, *after, expect[64];
	int err, i, used;

	memset(b, 0, sizeof(b));
	for (i = 0; i < 20; i++)
		b[i] = (struct vspec){.vip = 50 + i}; /* no members: the member map is small */
	used = open_fds();
	if (used < 0 || getrlimit(RLIMIT_NOFILE, &old))
		return bpftest_fail(&e->t, "cannot read the open-files figures");
	before = dump_maps(e);
	low = old;
	low.rlim_cur = used; /* none free: the dump above closed what it opened */
	setrlimit(RLIMIT_NOFILE, &low);
	err = reconcile(e, s, b, 20, &st);
	setrlimit(RLIMIT_NOFILE, &old);
	after = dump_maps(e);
	snprintf(expect, sizeof(expect), "open files limit (ulimit -n) %d reached", used);
	if (err && !strstr(st.error, expect))
		err = bpftest_fail(&e->t, "no descriptor free: error \"%s\" (expected \"%s\")",
				   st.error, expect);
	else if (err)
		err = expect_same(e, "after failing at the open-files limit", after, before);
	else if (st.vips_added != 20)
		err = bpftest_fail(&e->t, "no descriptor free: %u VIPs made (expected 20)",
				   st.vips_added);
	free(before);
	free(after);
	if (err)
		return err;
	/* A few free: made, all in one call. */
	xlb_shadow_reset(s);
	err = reconcile(e, s, A, NA, &st); /* the 20 go */
	low.rlim_cur = used + 6;
	if (!err)
		setrlimit(RLIMIT_NOFILE, &low);
	if (!err)
		err = reconcile(e, s, b, 20, &st);
	setrlimit(RLIMIT_NOFILE, &old);
	if (err || st.vips_added != 20)
		return bpftest_fail(&e->t,
				    "6 descriptors free: err %d \"%s\", %u VIPs made (expected 20)",
				    err, st.error, st.vips_added);
	return 0;
}

/* A state the operator holds stays, and the tables leave the backend out. */
static int t_held(struct env *e, struct xlb_shadow *s)
{
	struct xlb_reconcile_stats st;
	struct xlb_addr_key a;
	struct xlb_backend b;
	struct vspec v[NA];
	__u32 id;
	int err;

	err = reconcile(e, s, A, NA, &st);
	be_addr(2, &a);
	if (!err)
		err = xlb_backend_find(&e->m, &a, 80, &id);
	if (!err)
		err = xlb_backend_hold(&e->m, id, XLB_BE_DOWN);
	if (err)
		return bpftest_fail(&e->t, "setting up: %s", strerror(-err));
	/* A change of VIP 1 rebuilds its table: without backend 2, which is held down. */
	memcpy(v, A, sizeof(v));
	v[0].w[0] = 3;
	err = reconcile(e, s, v, NA, &st);
	if (!err)
		err = xlb_backend_get(&e->m, id, &b);
	if (err)
		return bpftest_fail(&e->t, "reconcile: %s (%s)", strerror(-err), st.error);
	if (b.state != XLB_BE_DOWN || !xlb_backend_held(&b))
		return bpftest_fail(&e->t, "held backend: state %u by %u (expected down, held)",
				    b.state, b.by);
	{
		struct xlb_vip vip;
		struct xlb_vip_key k;
		__u32 t[TABLE], i;

		vip_key(1, &k);
		err = xlb_vip_get(&e->m, &k, &vip);
		if (!err)
			err = xlb_table_read(&e->m, vip.id, t, TABLE);
		if (err)
			return bpftest_fail(&e->t, "reading VIP 1's table: %s", strerror(-err));
		for (i = 0; i < TABLE; i++)
			if (t[i] == id)
				return bpftest_fail(&e->t, "slot %u names the held backend", i);
	}
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct env *e, struct xlb_shadow *s);
} tests[] = {
	{"the same state twice: nothing written the second time", t_nothing_twice},
	{"one node changed: one table, one backend in and one out", t_one_node},
	{"a plan over capacity (VIP ids) writes nothing", t_capacity},
	{"a write failing midway (member map full) is undone", t_midway},
	{"open-files limit: no descriptor per VIP; the error names the limit", t_nofile},
	{"a state the operator holds stays, and tables leave it out", t_held},
	{"partial: VIPs not listed are not touched", t_partial_untouched},
	{"partial: a VIP gone, one new, one changed equal a whole reconcile", t_partial_gone_new},
	{"partial: a shared backend's state rebuilds the unlisted VIP's table", t_partial_shared},
	{"partial: a VIP both listed and gone is refused", t_partial_both},
	{"VIPs for client prefixes on one address: made, kept, undone, removed", t_clients},
};

/* Empty maps, through a reconcile to nothing. */
static int env_reset(struct env *e)
{
	struct xlb_want w = {};
	struct xlb_reconcile_stats st;

	return xlb_reconcile(&e->m, NULL, &w, &st);
}

static int env_open(struct env *e)
{
	int ncpu, err;

	e->skel = xlb_lb__open();
	if (!e->skel)
		return -errno;
	err = bpftest_prepare(e->skel->obj, &ncpu);
	if (!err)
		err = bpf_map__set_max_entries(e->skel->maps.xlb_members, MEMBERS_MAX);
	if (!err)
		err = bpf_map__set_max_entries(e->skel->maps.xlb_flows, 1024 * ncpu);
	if (!err)
		err = xlb_flow_cache_size(e->skel, 1024 * ncpu, 1024 * ncpu, ncpu);
	if (!err)
		err = xlb_lb__load(e->skel);
	e->m = (struct xlb_maps){.skel = e->skel, .lock_fd = -1};
	return err;
}

int main(void)
{
	int i, n = sizeof(tests) / sizeof(tests[0]), err;
	struct xlb_shadow *s;
	struct env e = {};

	bpftest_libbpf_quiet();
	err = env_open(&e);
	if (err) {
		xlb_lb__destroy(e.skel);
		return bpftest_cannot_load("xlb_lb", strerrorname_np(-err));
	}
	for (i = 0; i < n; i++) {
		s = xlb_shadow_new();
		err = s ? env_reset(&e) : -ENOMEM;
		if (err)
			err = bpftest_fail(&e.t, "cannot reset the maps: %s", strerror(-err));
		else
			err = tests[i].fn(&e, s);
		bpftest_result(&e.t, i + 1, tests[i].name, err ? -1 : 0);
		xlb_shadow_free(s);
	}
	env_reset(&e);
	xlb_lb__destroy(e.skel);
	return bpftest_summary(&e.t);
}
