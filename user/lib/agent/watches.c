// SPDX-License-Identifier: GPL-2.0-only
/*
 * Registry watches: one per upstream with discovery_type, kept across
 * reloads that do not change its discovery settings, started from what
 * the maps hold. Discovered nodes are put into the upstream as if the
 * configuration listed them, so nodes, probes and tables treat both alike.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <event2/event.h>

#include "agent/agent_int.h"
#include "base/log.h"
#include "discovery/discovery.h"

static char *watch_ident(const struct xlb_upstream_conf *u)
{
	char *s;

	if (asprintf(&s, "%s\n%s\n%s", u->discovery_type, u->service_name,
		     u->discovery_args ? u->discovery_args : "") < 0)
		return NULL;
	return s;
}

struct agent_watch *agent_watch_find(struct agent_watch *ws, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ws[i].w && !strcmp(ws[i].id, id))
			return &ws[i];
	return NULL;
}

struct seed_ctx {
	struct xlb_agent *a;
	__u32 vip_id;
	struct xlb_disc_nodes *out;
};

static int seed_member(const struct xlb_member_key *k, const struct xlb_member *v, void *arg)
{
	struct seed_ctx *sc = arg;
	struct xlb_node_conf nd = {.weight = v->weight};
	struct xlb_backend b;

	if (k->vip_id != sc->vip_id || xlb_backend_get(&sc->a->maps, k->backend_id, &b))
		return 0;
	memcpy(nd.addr.addr, b.addr, sizeof(nd.addr.addr));
	nd.addr.family = b.family;
	nd.port = ntohs(b.port);
	return xlb_disc_nodes_add(sc->out, &nd);
}

/*
 * What the fast path already has for upstream u: the members of the first
 * VIP that uses it. A new watch (agent restarted, etcd's objects arriving,
 * a reload that changed the service) starts from them, so the upstream
 * keeps forwarding as it did until the registry answers.
 */
static void seed_from_maps(struct xlb_agent *a, const struct xlb_conf *conf,
			   const struct xlb_upstream_conf *u, struct xlb_disc_nodes *out)
{
	struct seed_ctx sc = {.a = a, .out = out};
	struct xlb_vip_key key;
	struct xlb_vip vip;
	size_t i;

	if (!a->maps_open)
		return;
	for (i = 0; i < conf->nroutes; i++) {
		if (strcmp(conf->routes[i].upstream_id, u->id))
			continue;
		agent_route_key(&conf->routes[i], &key);
		if (xlb_vip_get(&a->maps, &key, &vip))
			continue;
		sc.vip_id = vip.id;
		xlb_member_foreach(&a->maps, seed_member, &sc);
		return;
	}
}

static int watch_used(const struct agent_watch *ws, size_t n, const struct xlb_disc_watch *w)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ws[i].w == w)
			return 1;
	return 0;
}

/* Discovered nodes become u's nodes, as if the configuration listed them. */
static int fill_nodes(struct xlb_upstream_conf *u, const struct xlb_disc_watch *w)
{
	const struct xlb_node_conf *dn;
	struct xlb_node_conf *nodes = NULL;
	size_t n;

	dn = xlb_disc_watch_nodes(w, &n);
	if (n) {
		nodes = malloc(n * sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
		memcpy(nodes, dn, n * sizeof(*nodes));
	}
	free(u->nodes);
	u->nodes = nodes;
	u->nnodes = n;
	return 0;
}

static void on_disc_update(struct xlb_disc_watch *w, void *arg)
{
	struct xlb_agent *a = arg;
	size_t i;

	for (i = 0; i < a->nwatches; i++)
		if (a->watches[i].w == w)
			a->watches[i].changed = 1;
	event_active(a->disc_ev, 0, 0); /* coalesce the updates of one loop turn */
}

/*
 * Node sets changed: each upstream whose watch answered gets its nodes,
 * then its nodes, probes and VIPs follow alone (agent_nodes_patch(), the
 * desired state's edit), so that a registry's answer costs what it
 * changes, not what the configuration holds.
 */
void agent_on_disc_changed(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_agent *a = arg;
	struct xlb_upstream_conf *u, old;
	struct agent_watch *aw;
	size_t i, k;
	int err = 0;

	for (i = 0; i < a->nwatches && !err; i++) {
		aw = &a->watches[i];
		if (!aw->changed)
			continue;
		aw->changed = 0;
		for (k = 0; k < a->conf.nupstreams && strcmp(a->conf.upstreams[k].id, aw->id); k++)
			;
		if (k == a->conf.nupstreams)
			continue;
		u = &a->conf.upstreams[k];
		old = *u;
		u->nodes = NULL;
		err = fill_nodes(u, aw->w);
		if (err) {
			u->nodes = old.nodes;
			break;
		}
		err = agent_nodes_patch(a, &old, 1, k, 1);
		free(old.nodes);
		if (err)
			break;
		a->edit.list = XLB_LIST_UPSTREAMS;
		a->edit.first = k;
		a->edit.n = 1;
		a->edit.whole = 0;
		agent_reconcile(a);
	}
	if (err) {
		/* Some upstreams may hold new nodes: the next desired state compares all. */
		agent_want_forget(a);
		pr_warn("discovery: applying node changes: %s\n", strerror(-err));
	}
}

/*
 * The watches conf needs: kept where the upstream's discovery settings did
 * not change, started otherwise (seeded from the maps),
 * stopped for upstreams that are gone. Then every discovery upstream of
 * conf gets its watch's nodes. On error nothing of a's changes.
 */
int agent_watches_sync(struct xlb_agent *a, struct xlb_conf *conf)
{
	struct agent_watch *ws = NULL, *old;
	struct xlb_upstream_conf *u;
	struct xlb_disc_nodes seed = {};
	size_t i, j, n = 0;
	char *ident;
	int err = 0;

	for (i = 0; i < conf->nupstreams; i++)
		n += !!conf->upstreams[i].discovery_type[0];
	if (n && !a->disc) {
		a->disc = xlb_disc_new(a->base, &conf->discovery);
		if (!a->disc)
			return -ENOMEM;
	} else if (a->disc) {
		xlb_disc_set_conf(a->disc, &conf->discovery);
	}
	ws = calloc(n + 1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	for (i = 0, j = 0; i < conf->nupstreams; i++) {
		u = &conf->upstreams[i];
		if (!u->discovery_type[0])
			continue;
		ident = watch_ident(u);
		if (!ident) {
			err = -ENOMEM;
			goto out_err;
		}
		snprintf(ws[j].id, sizeof(ws[j].id), "%s", u->id);
		ws[j].ident = ident;
		old = agent_watch_find(a->watches, a->nwatches, u->id);
		if (old && !strcmp(old->ident, ident)) {
			ws[j++].w = old->w; /* kept: freed below only if unused */
			continue;
		}
		seed_from_maps(a, conf, u, &seed);
		ws[j].w = xlb_disc_watch_new(a->disc, u->discovery_type, u->service_name,
					     u->discovery_args, seed.v, seed.n, on_disc_update, a);
		if (seed.n && ws[j].w)
			pr_info("discovery: upstream %s starts from the %zu node%s the data plane "
				"has\n",
				u->id, seed.n, seed.n == 1 ? "" : "s");
		xlb_disc_nodes_free(&seed);
		if (!ws[j++].w) {
			err = -errno ? -errno : -ENOMEM;
			goto out_err;
		}
	}
	for (i = 0; i < conf->nupstreams && !err; i++) {
		u = &conf->upstreams[i];
		old = u->discovery_type[0] ? agent_watch_find(ws, n, u->id) : NULL;
		if (old)
			err = fill_nodes(u, old->w);
	}
	if (err)
		goto out_err;
	for (i = 0; i < a->nwatches; i++) {
		if (!watch_used(ws, n, a->watches[i].w))
			xlb_disc_watch_free(a->watches[i].w);
		free(a->watches[i].ident);
	}
	free(a->watches);
	a->watches = ws;
	a->nwatches = n;
	return 0;

out_err:
	/* The watches a had stay a's; only new ones go. */
	for (i = 0; i < n; i++) {
		if (ws[i].w && !watch_used(a->watches, a->nwatches, ws[i].w))
			xlb_disc_watch_free(ws[i].w);
		free(ws[i].ident);
	}
	free(ws);
	return err;
}

void agent_watches_free(struct xlb_agent *a)
{
	size_t i;

	for (i = 0; i < a->nwatches; i++) {
		xlb_disc_watch_free(a->watches[i].w);
		free(a->watches[i].ident);
	}
	free(a->watches);
	a->watches = NULL;
	a->nwatches = 0;
	xlb_disc_free(a->disc);
	a->disc = NULL;
	if (a->disc_ev)
		event_free(a->disc_ev);
	a->disc_ev = NULL;
}
