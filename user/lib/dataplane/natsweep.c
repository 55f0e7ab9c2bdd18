// SPDX-License-Identifier: GPL-2.0-only
/*
 * The NAT connection table (bpf/lib/nat.h) from userspace: walk it, read
 * a connection's node side, delete a backend's connections, sweep the dead
 * ones, and read what NAT shows of each node and what the table costs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/nat.h>

#include "base/vec.h"
#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"
#include "dataplane/natsweep.h"
#include "xlb_lb.skel.h"

int xlb_nat_foreach(struct xlb_maps *m, xlb_nat_cb cb, void *arg)
{
	return xlb_map_walk(m->skel->maps.xlb_nat_fwd, XLB_WALK_NAT_FWD,
			    (union xlb_walk_cb){.nat_fwd = cb}, arg);
}

static void nat_rkey(struct xlb_nat_rkey *rk, const struct xlb_nat_fwd *f, __u8 proto, __u8 family)
{
	memset(rk, 0, sizeof(*rk));
	memcpy(rk->node, f->node, sizeof(rk->node));
	rk->node_port = f->node_port;
	rk->nat_port = f->nat_port;
	rk->proto = proto;
	rk->family = family;
}

int xlb_nat_rev_get(struct xlb_maps *m, const struct xlb_nat_fwd *f, __u8 proto, __u8 family,
		    struct xlb_nat_rev *r)
{
	struct xlb_nat_rkey rk;

	nat_rkey(&rk, f, proto, family);
	return ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_nat_rev), &rk, r));
}

/* Reverse keys to delete, and their clients' forward keys. */
struct nat_victims {
	struct xlb_nat_rkey *rk;
	struct xlb_flow_key *fk;
	size_t n, cap;
};

static int victim_add(struct nat_victims *v, const struct xlb_nat_rkey *rk,
		      const struct xlb_flow_key *fk)
{
	if (xlb_vec_room((void **)&v->rk, sizeof(*v->rk), (void **)&v->fk, sizeof(*v->fk), v->n,
			 &v->cap, 256))
		return -ENOMEM;
	v->rk[v->n] = *rk;
	v->fk[v->n++] = *fk;
	return 0;
}

/*
 * Whether an entry (either direction) still deserves deletion, judged on
 * what it holds now: the walk that chose the victims may have taken long,
 * and the fast path goes on meanwhile.
 */
typedef int (*nat_gone_fn)(__u8 state, __u64 seen_ns, __u32 backend_id, const void *arg);

/*
 * Delete the victims: the reverse entry, and the forward entry of its
 * client unless that one has moved on to another port (a newer connection
 * on the same 5-tuple). Each entry is read again just before its delete
 * and kept if gone() no longer holds or, for the reverse entry, it names
 * another client: the fast path may have revived it, or taken the dead
 * port over for a new connection, since the walk saw it. What is left is
 * the moment between that read and the delete (the kernel has no
 * conditional delete).
 */
static int victims_delete(struct xlb_maps *m, const struct nat_victims *v, nat_gone_fn gone,
			  const void *arg)
{
	int rfd = map_fd(m->skel->maps.xlb_nat_rev), ffd = map_fd(m->skel->maps.xlb_nat_fwd);
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (!bpf_map_lookup_elem(rfd, &v->rk[i], &r) &&
		    !memcmp(&r.client, &v->fk[i], sizeof(r.client)) &&
		    gone(r.state, r.seen_ns, r.backend_id, arg) &&
		    bpf_map_delete_elem(rfd, &v->rk[i]) && errno != ENOENT)
			return -errno;
		if (!bpf_map_lookup_elem(ffd, &v->fk[i], &f) && f.nat_port == v->rk[i].nat_port &&
		    f.node_port == v->rk[i].node_port &&
		    !memcmp(f.node, v->rk[i].node, sizeof(f.node)) &&
		    gone(f.state, f.seen_ns, f.backend_id, arg) &&
		    bpf_map_delete_elem(ffd, &v->fk[i]) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

static int nat_rev_foreach(struct xlb_maps *m, xlb_nat_rev_cb cb, void *arg)
{
	return xlb_map_walk(m->skel->maps.xlb_nat_rev, XLB_WALK_NAT_REV,
			    (union xlb_walk_cb){.nat_rev = cb}, arg);
}

/*
 * Walk the node side for victims (pick adds them to v), then delete those
 * that gone() still condemns. Keys first, deletes after: deleting while
 * walking restarts the walk. Frees v.
 */
static int nat_cull(struct xlb_maps *m, xlb_nat_rev_cb pick, nat_gone_fn gone, void *arg,
		    struct nat_victims *v)
{
	int err = nat_rev_foreach(m, pick, arg);

	if (!err)
		err = victims_delete(m, v, gone, arg);
	free(v->rk);
	free(v->fk);
	return err;
}

struct nat_purge {
	__u32 id;
	struct nat_victims v;
};

static int purge_of(const struct xlb_nat_rkey *k, const struct xlb_nat_rev *r, void *arg)
{
	struct nat_purge *p = arg;

	return r->backend_id == p->id ? victim_add(&p->v, k, &r->client) : 0;
}

static int purge_gone(__u8 state, __u64 seen_ns, __u32 backend_id, const void *arg)
{
	const struct nat_purge *p = arg;

	return backend_id == p->id;
}

int xlb_nat_purge_backend(struct xlb_maps *m, __u32 id)
{
	struct nat_purge p = {.id = id};

	return nat_cull(m, purge_of, purge_gone, &p, &p.v);
}

struct nat_sweep_ctx {
	struct xlb_config cfg;
	__u64 now;     /* the caller's clock at the start of the walk */
	__u64 started; /* xlb_now_coarse_ns() then */
	xlb_nat_timeout_cb cb;
	void *arg;
	struct xlb_nat_sweep *out;
	struct nat_victims v;
};

static int sweep_one(const struct xlb_nat_rkey *k, const struct xlb_nat_rev *r, void *arg)
{
	struct nat_sweep_ctx *s = arg;

	if (!xlb_nat_dead(&s->cfg, r->state, r->seen_ns, s->now)) {
		s->out->live++;
		return 0;
	}
	s->out->dead++;
	if (r->state == XLB_NAT_S_SYN_SENT) {
		s->out->syn_timeouts++;
		if (s->cb)
			s->cb(r, s->arg);
	}
	return victim_add(&s->v, k, &r->client);
}

/* Dead still, by the caller's clock moved on by the time the sweep took. */
static int sweep_gone(__u8 state, __u64 seen_ns, __u32 backend_id, const void *arg)
{
	const struct nat_sweep_ctx *s = arg;

	return xlb_nat_dead(&s->cfg, state, seen_ns, s->now + (xlb_now_coarse_ns() - s->started));
}

int xlb_nat_sweep(struct xlb_maps *m, __u64 now_ns, xlb_nat_timeout_cb cb, void *arg,
		  struct xlb_nat_sweep *out)
{
	struct nat_sweep_ctx s = {
		.now = now_ns, .started = xlb_now_coarse_ns(), .cb = cb, .arg = arg, .out = out};
	int err;

	memset(out, 0, sizeof(*out));
	err = xlb_config_get(m, &s.cfg);
	if (err)
		return err;
	return nat_cull(m, sweep_one, sweep_gone, &s, &s.v);
}

int xlb_nat_node_read(struct xlb_maps *m, __u32 id, struct xlb_nat_node *out)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, err = 0;
	struct xlb_nat_health *h;
	double wsum = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu < 0)
		return ncpu;
	h = calloc(ncpu, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_nat_health), &id, h)) {
		/* Attached without NAT, the map has one entry: nothing to read. */
		err = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	/* Each CPU's EWMA weighted by its samples. */
	for (cpu = 0; cpu < ncpu; cpu++) {
		out->synacks += h[cpu].synacks;
		out->node_rsts += h[cpu].node_rsts;
		wsum += (double)h[cpu].synack_ewma_ns * h[cpu].synacks;
	}
	if (out->synacks)
		out->synack_ewma_s = wsum / out->synacks / 1e9;
out:
	free(h);
	return err;
}

int xlb_nat_memory(struct xlb_maps *m, struct xlb_nat_mem *out)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int ffd = map_fd(m->skel->maps.xlb_nat_fwd), rfd = map_fd(m->skel->maps.xlb_nat_rev);

	memset(out, 0, sizeof(*out));
	if (bpf_obj_get_info_by_fd(ffd, &info, &len))
		return -errno;
	out->capacity = info.max_entries;
	out->bytes = xlb_map_memlock(ffd) + xlb_map_memlock(rfd);
	out->entry_bytes = sizeof(struct xlb_flow_key) + sizeof(struct xlb_nat_fwd) +
			   sizeof(struct xlb_nat_rkey) + sizeof(struct xlb_nat_rev);
	return 0;
}
