// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent seen from outside, read-only: what the Admin API's status
 * endpoints and /metrics show, copied out of the nodes and their targets,
 * the running configuration, the registry watches, etcd and the maps into
 * plain structs (agent.h). admin.c only serialises them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataplane/conns.h"
#include "agent/agent_int.h"
#include "base/vec.h"
#include "dataplane/names.h"
#include "discovery/discovery.h"
#include "health/checker.h"
#include "health/passive.h"

const char *xlb_agent_health_name(unsigned int i)
{
	return i < XLB_H_MAX ? xlb_health_name(i) : NULL;
}

/* parts: enum xlb_snap_part, plus SNAP_NAT when an upstream forwards by NAT. */
#define SNAP_NAT (1U << 16)

/* bt: every backend's traffic, read in one pass (NULL: none read). */
static void node_view(struct xlb_agent *a, const struct agent_node *n, unsigned int parts,
		      const struct xlb_traffic *bt, const __u64 *ac, struct xlb_agent_node_view *v)
{
	const struct xlb_health_counters *c = xlb_target_counters(n->t);
	struct xlb_nat_node nh;
	struct xlb_addr_key addr;
	struct xlb_backend b;

	_Static_assert(sizeof(v->label) == sizeof(n->label), "node label sizes");
	memcpy(v->label, n->label, sizeof(v->label));
	xlb_target_addr(n->t, &addr, &v->port);
	v->health = xlb_target_state(n->t);
	v->success = c->success;
	v->http_failure = c->http_failure;
	v->tcp_failure = c->tcp_failure;
	v->timeout = c->timeout;
	v->latency_s = xlb_target_latency(n->t);
	v->probes = xlb_target_probes(n->t);
	if (parts & XLB_SNAP_STATUS) {
		xlb_addr_str(addr.addr, addr.family, v->ip, sizeof(v->ip));
		if (!xlb_backend_get(&a->maps, n->be_id, &b) && xlb_backend_held(&b))
			snprintf(v->status, sizeof(v->status), "%s (operator)",
				 xlb_state_name(b.state));
		else
			snprintf(v->status, sizeof(v->status), "%s", xlb_health_name(v->health));
	}
	if (!(parts & XLB_SNAP_METRICS) || n->be_id == ~0U)
		return;
	/* Without NAT there is nothing to read: a map lookup a node saved. */
	if ((parts & SNAP_NAT) && !xlb_nat_node_read(&a->maps, n->be_id, &nh) &&
	    (nh.synacks || nh.node_rsts)) {
		v->nat = 1;
		v->synack_ewma_s = nh.synack_ewma_s;
		v->synacks = nh.synacks;
		v->node_rsts = nh.node_rsts;
	}
	if (bt && n->be_id < XLB_MAX_BACKENDS) {
		v->traffic = bt[n->be_id];
		v->has_traffic = 1;
		v->active_flows = ac ? ac[n->be_id] : 0;
	}
}

static void watch_view(const struct xlb_disc_watch *w, struct xlb_agent_watch_view *v)
{
	struct xlb_disc_status st = {};

	xlb_disc_watch_status(w, &st);
	v->answered = st.have_answer;
	v->confirmed = st.confirmed;
	v->changed = st.changed;
	v->answers = st.answers;
	v->errors = st.errors;
	v->changes = st.changes;
	snprintf(v->error, sizeof(v->error), "%s", st.error);
}

static int upstream_view(struct xlb_agent *a, const struct xlb_upstream_conf *u,
			 struct xlb_agent_upstream_view *v)
{
	static const char *const checks[] = {"tcp", "http", "https"};
	const struct xlb_node_conf *nc;
	struct xlb_agent_member_view *m;
	struct agent_watch *aw;
	size_t i;

	snprintf(v->id, sizeof(v->id), "%s", u->id);
	v->check = u->active.enabled ? checks[u->active.type] : "none";
	v->active = u->active.enabled;
	snprintf(v->discovery_type, sizeof(v->discovery_type), "%s", u->discovery_type);
	snprintf(v->service_name, sizeof(v->service_name), "%s", u->service_name);
	aw = u->discovery_type[0] ? agent_watch_find(a->watches, a->nwatches, u->id) : NULL;
	if (aw) {
		v->watched = 1;
		watch_view(aw->w, &v->watch);
	}
	v->members = calloc(u->nnodes + 1, sizeof(*v->members));
	if (!v->members)
		return -ENOMEM;
	for (i = 0; i < u->nnodes; i++) {
		nc = &u->nodes[i];
		m = &v->members[v->nmembers++];
		m->node = agent_node_pos(a->nodes, a->nnodes, &nc->addr, nc->port);
		xlb_addr_str(nc->addr.addr, nc->addr.family, m->host, sizeof(m->host));
		m->port = nc->port;
		m->weight = nc->weight;
		m->priority = nc->priority;
		/* A static node is confirmed by the configuration that lists it. */
		m->confirmed = aw ? v->watch.confirmed : a->loaded;
	}
	return 0;
}

struct vips_ctx {
	struct xlb_agent *a;
	struct xlb_agent_snapshot *s;
	size_t cap;
};

static int vip_view(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct vips_ctx *vc = arg;
	struct xlb_agent_snapshot *s = vc->s;
	struct xlb_agent_vip_view *vv;

	if (xlb_vec_room((void **)&s->vips, sizeof(*s->vips), NULL, 0, s->nvips, &vc->cap, 16))
		return -ENOMEM;
	vv = &s->vips[s->nvips];
	memset(vv, 0, sizeof(*vv));
	if (xlb_stats_vip(&vc->a->maps, v->id, &vv->traffic))
		return 0;
	xlb_vip_str(k, vv->name, sizeof(vv->name));
	s->nvips++;
	return 0;
}

static int registries_view(struct xlb_agent *a, struct xlb_agent_snapshot *s)
{
	struct xlb_agent_registry_view *r;
	struct xlb_disc_counters c = {};
	size_t i, n = 0;

	while (xlb_disc_type_at(n))
		n++;
	s->registries = calloc(n + 1, sizeof(*s->registries));
	if (!s->registries)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		r = &s->registries[i];
		r->type = xlb_disc_type_at(i);
		if (a->disc)
			xlb_disc_counters(a->disc, r->type, &c);
		r->requests = c.requests;
		r->answers = c.answers;
		r->errors = c.errors;
		r->changes = c.changes;
	}
	s->nregistries = n;
	return 0;
}

static void etcd_view(struct xlb_agent *a, struct xlb_agent_etcd_view *v)
{
	struct xlb_etcd_status st;

	if (!a->etcd)
		return;
	xlb_etcd_status(a->etcd, &st);
	*v = (struct xlb_agent_etcd_view){
		.on = 1,
		.connected = st.connected,
		.revision = st.revision,
		.requests = st.requests,
		.updates = st.updates,
		.errors = st.errors,
		.resyncs = st.resyncs,
		.reconnects = st.reconnects,
		.bad_values = st.bad_values,
		.rejects = a->etcd_rejects,
		.ignored_upstreams = a->etcd_ignored_ups,
	};
	memcpy(v->ignored, st.ignored, sizeof(v->ignored));
}

/*
 * xlb_decap's hand-offs per peer, when this host also runs it with its maps
 * in the agent's pin dir (its counter map pinned there): the skeleton is
 * opened for the scrape only then.
 */
static void decap_view(struct xlb_agent *a, struct xlb_agent_snapshot *s)
{
	struct xlb_decap_maps dm;
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/xlb_decap_peers", a->pin_dir) >= (int)sizeof(path) ||
	    stat(path, &st) || xlb_decap_maps_open(&dm, a->pin_dir, 0))
		return;
	s->have_decap = !xlb_decap_peers(&dm, &s->decap_peers, &s->ndecap_peers);
	xlb_decap_maps_close(&dm);
}

/* What /metrics shows besides nodes: VIPs, NAT, reasons, signals, sources. */
static int metrics_view(struct xlb_agent *a, struct xlb_agent_snapshot *s)
{
	static const char *const sources[XLB_AGENT_SRC_MAX] = {"passive", "netlink"};
	struct xlb_reason_count r[XLB_R_MAX];
	struct vips_ctx vc = {.a = a, .s = s};
	struct xlb_agent_latency *l;
	struct xlb_nat_mem nm;
	unsigned int i;
	int err;

	err = xlb_vip_foreach(&a->maps, vip_view, &vc);
	if (err == -ENOMEM)
		return err;
	xlb_nat_memory(&a->maps, &nm);
	s->nat_capacity = nm.capacity;
	s->nat_bytes = nm.bytes;
	s->nat_entry_bytes = nm.entry_bytes;
	s->have_reasons = !xlb_stats_reasons(&a->maps, r);
	for (i = 0; s->have_reasons && i < XLB_R_MAX; i++)
		s->reasons[i] = (struct xlb_agent_count){xlb_reason_name(i), r[i].packets};
	for (i = XLB_EVK_NONE + 1; i < XLB_EVK_MAX; i++)
		s->passive[i] =
			(struct xlb_agent_count){xlb_event_kind_name(i), a->st.passive_events[i]};
	for (i = XLB_AGENT_NL_NEIGH; i <= XLB_AGENT_NL_ROUTE; i++)
		s->netlink[i] =
			(struct xlb_agent_count){xlb_agent_nl_name(i), a->st.netlink_failures[i]};
	for (i = 0; i < XLB_AGENT_SRC_MAX; i++) {
		l = &s->latency[i];
		l->source = sources[i];
		agent_signal_latency(a, i, &l->n, &l->p50, &l->p99, &l->max);
	}
	etcd_view(a, &s->etcd);
	decap_view(a, s);
	return registries_view(a, s);
}

int xlb_agent_snapshot(struct xlb_agent *a, unsigned int parts, struct xlb_agent_snapshot *s)
{
	struct xlb_traffic *bt = NULL;
	__u64 *ac = NULL;
	size_t i;
	int err;

	memset(s, 0, sizeof(*s));
	s->st = a->st;
	for (i = 0; (parts & XLB_SNAP_METRICS) && i < a->conf.nupstreams; i++)
		if (xlb_conf_upstream_nat(&a->conf, &a->conf.upstreams[i])) {
			parts |= SNAP_NAT;
			break;
		}
	s->nodes = calloc(a->nnodes + 1, sizeof(*s->nodes));
	s->upstreams = calloc(a->conf.nupstreams + 1, sizeof(*s->upstreams));
	if (!s->nodes || !s->upstreams)
		return -ENOMEM;
	/* Every backend's counters in a few batched reads, not one read a node. */
	if ((parts & XLB_SNAP_METRICS) && a->maps_open) {
		bt = calloc(XLB_MAX_BACKENDS, sizeof(*bt));
		if (bt && xlb_stats_backends(&a->maps, bt)) {
			free(bt);
			bt = NULL;
		}
		/* least_conn's counts: one pass over the mapped array. */
		ac = calloc(XLB_MAX_BACKENDS, sizeof(*ac));
		if (ac && xlb_conns_all(&a->maps, ac)) {
			free(ac);
			ac = NULL;
		}
	}
	for (i = 0; i < a->nnodes; i++)
		node_view(a, a->nodes[i], parts, bt, ac, &s->nodes[s->nnodes++]);
	free(ac);
	free(bt);
	/* At 100,000 nodes the upstreams' members cost a tenth of a scrape. */
	for (i = 0; !(parts & XLB_SNAP_NO_UPSTREAMS) && i < a->conf.nupstreams; i++) {
		err = upstream_view(a, &a->conf.upstreams[i], &s->upstreams[s->nupstreams++]);
		if (err)
			return err;
	}
	return parts & XLB_SNAP_METRICS ? metrics_view(a, s) : 0;
}

void xlb_agent_snapshot_free(struct xlb_agent_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->nupstreams; i++)
		free(s->upstreams[i].members);
	free(s->upstreams);
	free(s->nodes);
	free(s->vips);
	free(s->registries);
	free(s->decap_peers);
	memset(s, 0, sizeof(*s));
}
