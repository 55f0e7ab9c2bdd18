// SPDX-License-Identifier: GPL-2.0-only
/*
 * Least connections from userspace (conns.h): read the per-backend counts
 * of active flows, and sweep the flow table for what the fast path cannot
 * see end.
 *
 * Why the sweep's correction never takes a count below the truth: the
 * fast path flags a flow entry before adding to opened and then active,
 * and subtracts from active before unflagging (bpf/lib/lconn.h). Let C0
 * and O0 be a backend's active and opened before the walk, C1 and O1
 * after, and live the flagged entries the walk saw. Flows evicted or
 * deleted are in C but in no entry (the leak); entries the walk saw
 * flagged and that ended afterwards are in live but no longer in C1; flows
 * opened during the walk are in C1 and in O1 - O0, and at most once in
 * live. So C1 - live - (O1 - O0) is at most the leak, and taking it off
 * (when positive) leaves the count at or above the flagged entries. What
 * it leaves over (flows opened and seen during the walk) goes at the next
 * quiet sweep. A count below 0 (two CPUs ending one flow) is raised to 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "base/vec.h"
#include "dataplane/conns.h"
#include "dataplane/maps_internal.h"

/* The count array mapped read-write (*n entries); NULL with errno. */
static struct xlb_backend_conns *conns_map(struct xlb_maps *m, __u32 *n, size_t *len)
{
	int fd = map_fd(m->skel->maps.xlb_backend_conns);
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return NULL;
	*n = info.max_entries;
	*len = ((size_t)*n * sizeof(struct xlb_backend_conns) + page - 1) / page * page;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static __u64 active_of(__s64 v)
{
	return v > 0 ? (__u64)v : 0;
}

int xlb_conns_get(struct xlb_maps *m, __u32 id, __u64 *active)
{
	struct xlb_backend_conns c;

	if (bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_backend_conns), &id, &c))
		return -errno;
	*active = active_of(c.active);
	return 0;
}

int xlb_conns_all(struct xlb_maps *m, __u64 *all)
{
	struct xlb_backend_conns *c;
	size_t len;
	__u32 n, i;

	c = conns_map(m, &n, &len);
	if (!c)
		return -errno;
	memset(all, 0, XLB_MAX_BACKENDS * sizeof(*all));
	for (i = 0; i < n && i < XLB_MAX_BACKENDS; i++)
		all[i] = active_of(__atomic_load_n(&c[i].active, __ATOMIC_RELAXED));
	munmap(c, len);
	return 0;
}

struct lc_walk {
	__u64 now_s;
	struct xlb_maps *m;
	__u32 *gen;  /* per backend id: its generation + 1, read when first met; 0: not yet */
	__u32 n;     /* entries of the count array */
	__u32 *live; /* per backend id: flagged entries seen, not gone */
	struct xlb_flow_key *gone; /* counted flows to delete */
	size_t ngone, cap;
	struct xlb_lc_sweep *out;
};

/*
 * Whether a counted flow is done with: idle past its timeout, or of an
 * earlier user of its backend id (another generation: the fast path
 * re-picks it on its next packet, and until then its count would weigh on
 * the id's new backend).
 */
static int lc_gone(struct lc_walk *w, const struct xlb_flow_key *k, const struct xlb_flow *f)
{
	__u64 tmo = k->proto == IPPROTO_TCP ? XLB_LC_IDLE_TCP_S : XLB_LC_IDLE_UDP_S;
	struct xlb_backend b;
	__u32 id = f->backend_id;

	/* One lookup per backend id in use, not per flow (ids < w->n: the caller). */
	if (!w->gen[id])
		w->gen[id] = xlb_backend_get(w->m, id, &b) ? 1 : (__u32)b.gen + 1;
	if (w->gen[id] - 1 != f->be_gen)
		return 1;
	return w->now_s > f->lc.seen_s && w->now_s - f->lc.seen_s > tmo;
}

static int lc_walk_one(const struct xlb_flow_key *k, const struct xlb_flow *f, void *arg)
{
	struct lc_walk *w = arg;

	w->out->flows++;
	if (!(f->lc.flags & XLB_FLOW_F_COUNTED) || f->backend_id >= w->n)
		return 0;
	if (!lc_gone(w, k, f)) {
		w->live[f->backend_id]++;
		w->out->counted++;
		return 0;
	}
	if (xlb_vec_room((void **)&w->gone, sizeof(*w->gone), NULL, 0, w->ngone, &w->cap, 256))
		return -ENOMEM;
	w->gone[w->ngone++] = *k;
	return 0;
}

/*
 * Delete the idle and stale flows, each read again first: a packet may
 * have come since the walk. One that did and is still counted is live after all
 * (else its count would be taken off); one whose FIN came has given its
 * count back itself. The kernel has no conditional delete: what is left
 * is the moment between the read and the delete, after which such a flow
 * is picked anew and counted again.
 */
static int lc_gone_delete(struct xlb_maps *m, struct lc_walk *w)
{
	int fd = map_fd(m->skel->maps.xlb_flows);
	struct xlb_flow f;
	size_t i;

	for (i = 0; i < w->ngone; i++) {
		if (bpf_map_lookup_elem(fd, &w->gone[i], &f) ||
		    !(f.lc.flags & XLB_FLOW_F_COUNTED) || f.backend_id >= w->n)
			continue;
		if (!lc_gone(w, &w->gone[i], &f)) {
			w->live[f.backend_id]++;
			continue;
		}
		if (bpf_map_delete_elem(fd, &w->gone[i])) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		w->out->idle++;
	}
	return 0;
}

/* Lower each count by what the walk proves gone (see the top of the file). */
static void lc_correct(struct xlb_backend_conns *c, const __u64 *opened0, const struct lc_walk *w)
{
	__s64 active, gone;
	__u64 opened;
	__u32 i;

	for (i = 0; i < w->n; i++) {
		active = __atomic_load_n(&c[i].active, __ATOMIC_SEQ_CST);
		opened = __atomic_load_n(&c[i].opened, __ATOMIC_SEQ_CST);
		gone = active - (__s64)w->live[i] - (__s64)(opened - opened0[i]);
		if (gone > 0) {
			__atomic_fetch_sub(&c[i].active, gone, __ATOMIC_SEQ_CST);
			w->out->released += gone;
		} else if (active < 0) {
			__atomic_fetch_add(&c[i].active, -active, __ATOMIC_SEQ_CST);
		}
	}
}

int xlb_lc_sweep(struct xlb_maps *m, __u64 now_ns, struct xlb_lc_sweep *out)
{
	struct lc_walk w = {.now_s = now_ns / 1000000000ULL, .m = m, .out = out};
	struct xlb_backend_conns *c;
	__u64 *opened0 = NULL;
	size_t len;
	__u32 i;
	int err;

	memset(out, 0, sizeof(*out));
	c = conns_map(m, &w.n, &len);
	if (!c)
		return -errno;
	opened0 = malloc((size_t)w.n * sizeof(*opened0));
	w.live = calloc(w.n, sizeof(*w.live));
	w.gen = calloc(w.n, sizeof(*w.gen));
	if (!opened0 || !w.live || !w.gen) {
		err = -ENOMEM;
		goto out_free;
	}
	/* Before the walk, with the ordering the argument above needs. */
	for (i = 0; i < w.n; i++)
		opened0[i] = __atomic_load_n(&c[i].opened, __ATOMIC_SEQ_CST);
	/* Counted flows are least_conn ones, all in xlb_flows (not the cache). */
	err = xlb_map_walk(m->skel->maps.xlb_flows, XLB_WALK_FLOWS,
			   (union xlb_walk_cb){.flow = lc_walk_one}, &w);
	if (!err)
		err = lc_gone_delete(m, &w);
	if (!err)
		lc_correct(c, opened0, &w);
out_free:
	free(w.gen);
	free(w.gone);
	free(w.live);
	free(opened0);
	munmap(c, len);
	return err;
}
