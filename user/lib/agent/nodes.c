// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's node index: one entry per distinct (address, port) across
 * all upstreams, each with its checker target, backend id, next hop and
 * passive thresholds, sorted for binary search and indexed by backend id.
 * A node new to the agent starts from its backend's state in the maps.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "agent/agent_int.h"
#include "base/log.h"
#include "dataplane/names.h"
#include "dataplane/netlink.h"
#include "health/checker.h"

int agent_node_cmp(const struct xlb_addr_key *a, __u16 pa, const struct xlb_addr_key *b, __u16 pb)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (memcmp(a->addr, b->addr, 16))
		return memcmp(a->addr, b->addr, 16);
	return pa == pb ? 0 : pa < pb ? -1 : 1;
}

/* Binary search: the node arrays are sorted by (address, port). */
long agent_node_pos(struct agent_node **nodes, size_t n, const struct xlb_addr_key *a, __u16 port)
{
	size_t lo = 0, hi = n, mid;
	int d;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		d = agent_node_cmp(a, port, &nodes[mid]->addr, nodes[mid]->port);
		if (!d)
			return (long)mid;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

struct agent_node *agent_node_find(struct agent_node **nodes, size_t n,
				   const struct xlb_addr_key *a, __u16 port)
{
	long i = agent_node_pos(nodes, n, a, port);

	return i < 0 ? NULL : nodes[i];
}

/* A node of an upstream in configuration order, for sorting. */
struct node_ref {
	const struct xlb_upstream_conf *u;
	const struct xlb_node_conf *nc;
	size_t order;
};

static int node_ref_cmp(const void *x, const void *y)
{
	const struct node_ref *a = x, *b = y;
	int d = agent_node_cmp(&a->nc->addr, a->nc->port, &b->nc->addr, b->nc->port);

	if (d)
		return d;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* backend id -> node, rebuilt whenever ids or nodes change. */
void agent_nodes_index(struct xlb_agent *a)
{
	size_t i;

	if (!a->by_id)
		return;
	memset(a->by_id, 0, XLB_MAX_BACKENDS * sizeof(*a->by_id));
	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i]->be_id < XLB_MAX_BACKENDS)
			a->by_id[a->nodes[i]->be_id] = a->nodes[i];
}

int agent_node_usable(const struct agent_node *n)
{
	return xlb_health_usable(xlb_target_state(n->t));
}

/*
 * The backend state of a node that is not usable. Probes and passive
 * counters can be wrong (a broken probe path, clients' resets): such a
 * node gets no new flows but keeps its established ones (DRAINING), as
 * IPVS and Katran keep connections on a node their checks took out.
 * Kernel evidence that the node cannot be reached (neighbour failed, link
 * down, route gone), or an upstream of it with unhealthy_flows: move,
 * moves its flows at once (DOWN): their clients get a reset from another
 * node rather than a long timeout.
 */
__u8 agent_node_out_state(const struct agent_node *n)
{
	return n->unreachable || n->move_flows ? XLB_BE_DOWN : XLB_BE_DRAINING;
}

void agent_node_flipped(struct xlb_agent *a, struct agent_node *n)
{
	size_t cap = a->capflipped ? 2 * a->capflipped : 64;
	struct agent_node **p;

	n->flipped = 1;
	if (a->nflipped == a->capflipped) {
		p = realloc(a->flipped, cap * sizeof(*p));
		if (!p) {
			a->flips_lost = 1;
			return;
		}
		a->flipped = p;
		a->capflipped = cap;
	}
	a->flipped[a->nflipped++] = n;
}

/* Upstream ids that use node n, for log lines (kept by agent_nodes_sync()). */
void agent_node_upstreams(const struct xlb_agent *a, const struct agent_node *n, char *buf,
			  size_t len)
{
	snprintf(buf, len, "%s", n->ups ? n->ups : "");
}

/* Add upstream id to n's list, once. */
static int node_add_upstream(struct agent_node *n, const char *id)
{
	size_t have = n->ups ? strlen(n->ups) : 0, add = strlen(id);
	const char *p = n->ups;
	char *ups;

	while (p && (p = strstr(p, id))) {
		if ((p == n->ups || p[-1] == ',') && (p[add] == ',' || !p[add]))
			return 0;
		p += add;
	}
	ups = realloc(n->ups, have + add + 2);
	if (!ups)
		return -ENOMEM;
	snprintf(ups + have, add + 2, "%s%s", have ? "," : "", id);
	n->ups = ups;
	return 0;
}

static void node_free(struct agent_node *n)
{
	free(n->ups);
	free(n);
}

/* checks.passive's thresholds, when the upstream has the block. */
static void node_set_passive(struct agent_node *n, const struct xlb_check_passive *p)
{
	if (!p->enabled)
		return;
	n->passive = 1;
	n->passive_th = (struct xlb_health_thresholds){
		.successes = p->healthy.successes,
		.tcp_failures = p->unhealthy.tcp_failures,
		.http_failures = p->unhealthy.http_failures,
		.timeouts = p->unhealthy.timeouts,
	};
}

/* The next hop: the old node's when it had one, else asked of the kernel. */
static void node_set_nexthop(struct agent_node *n, const struct agent_node *old)
{
	if (old && old->nh_ok) {
		n->nh = old->nh;
		n->nh_ifindex = old->nh_ifindex;
		n->nh_ok = 1;
		n->link_down = old->link_down;
		return;
	}
	n->nh_ok = !xlb_nl_route_get(&n->addr, &n->nh, &n->nh_ifindex);
}

/* A backend entry's identity as a node's (address, port). */
static int be_node_cmp(const struct xlb_backend *b, const struct xlb_addr_key *a, __u16 port)
{
	struct xlb_addr_key k = {.family = b->family};

	memcpy(k.addr, b->addr, sizeof(k.addr));
	return agent_node_cmp(&k, ntohs(b->port), a, port);
}

static int be_id_cmp(const void *x, const void *y, void *arg)
{
	const struct xlb_backend *all = arg, *b = &all[*(const __u32 *)y];
	struct xlb_addr_key k = {.family = b->family};

	memcpy(k.addr, b->addr, sizeof(k.addr));
	return be_node_cmp(&all[*(const __u32 *)x], &k, ntohs(b->port));
}

/* The id of n's backend among the sorted used ids, or ~0U. */
static __u32 find_backend(const struct xlb_backend *all, const __u32 *used, size_t nused,
			  const struct agent_node *n)
{
	size_t lo = 0, hi = nused, mid;
	int d;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		d = be_node_cmp(&all[used[mid]], &n->addr, n->port);
		if (!d)
			return used[mid];
		if (d > 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return ~0U;
}

/*
 * Nodes new to the agent whose backend the maps already have (the agent
 * restarted, or etcd's or a registry's nodes came after a restart) start
 * from what the data plane holds (xlb_health_adopt()): a node the agent
 * had taken out stays out until its checks bring it back. One read of the
 * backend array for all of them.
 */
static int adopt_health(struct xlb_agent *a, struct agent_node **fresh, size_t nfresh)
{
	struct xlb_backend *all, *b;
	struct agent_node *n;
	enum xlb_health s;
	size_t i, nused = 0;
	__u32 *used, id;
	int err;

	if (!nfresh || !a->maps_open)
		return 0;
	all = calloc(XLB_MAX_BACKENDS, sizeof(*all));
	used = calloc(XLB_MAX_BACKENDS, sizeof(*used));
	err = all && used ? xlb_backends_read(&a->maps, all) : -ENOMEM;
	if (err)
		goto out;
	for (id = 0; id < XLB_MAX_BACKENDS; id++)
		if (all[id].state != XLB_BE_UNUSED)
			used[nused++] = id;
	qsort_r(used, nused, sizeof(*used), be_id_cmp, all);
	for (i = 0; i < nfresh; i++) {
		n = fresh[i];
		id = find_backend(all, used, nused, n);
		if (id == ~0U)
			continue;
		b = &all[id];
		n->be_id = id;
		/* Without checks (removed meanwhile) nothing could bring it back. */
		s = n->checked ? xlb_health_adopt(b->state, b->by) : XLB_H_HEALTHY;
		if (s != xlb_target_state(n->t)) {
			xlb_target_set_state(n->t, s);
			pr_info("health: node=%s starts %s: %s in the data plane\n", n->label,
				xlb_health_name(s), xlb_state_name(b->state));
		}
		if (xlb_backend_held(b))
			pr_info("health: node=%s is %s by the operator (xlb backend set): its "
				"state stays\n",
				n->label, xlb_state_name(b->state));
	}
out:
	free(used);
	free(all);
	return err;
}

/*
 * The nodes of conf, each with its target: new targets are taken before the
 * old ones are released, so a node that stays keeps its state and counters.
 * A node new to the agent starts from its backend in the maps, if any
 * (adopt_health()).
 */
int agent_nodes_sync(struct xlb_agent *a, const struct xlb_conf *conf)
{
	struct agent_node **nodes = NULL, **fresh = NULL, *n = NULL, *old;
	const struct xlb_upstream_conf *u;
	struct node_ref *refs = NULL;
	size_t *node_at = NULL, *ups_first = NULL;
	size_t i, j, cnt = 0, nrefs = 0, nfresh = 0;
	char addr[XLB_ADDRSTRLEN];
	int err;

	/*
	 * Every (upstream, node) in configuration order, sorted by address and
	 * port: one node per run, its settings from the first upstream that
	 * names it, and the result sorted for agent_node_find().
	 */
	for (i = 0; i < conf->nupstreams; i++)
		nrefs += conf->upstreams[i].nnodes;
	refs = calloc(nrefs + 1, sizeof(*refs));
	nodes = calloc(nrefs + 1, sizeof(*nodes));
	fresh = calloc(nrefs + 1, sizeof(*fresh));
	node_at = calloc(nrefs + 1, sizeof(*node_at));
	ups_first = calloc(conf->nupstreams + 1, sizeof(*ups_first));
	if (!refs || !nodes || !fresh || !node_at || !ups_first)
		goto out_nomem;
	for (i = 0, nrefs = 0; i < conf->nupstreams; i++) {
		u = &conf->upstreams[i];
		ups_first[i] = nrefs;
		for (j = 0; j < u->nnodes; j++, nrefs++)
			refs[nrefs] = (struct node_ref){.u = u, .nc = &u->nodes[j], .order = nrefs};
	}
	qsort(refs, nrefs, sizeof(*refs), node_ref_cmp);
	for (i = 0; i < nrefs; i++) {
		u = refs[i].u;
		if (n && !agent_node_cmp(&n->addr, n->port, &refs[i].nc->addr, refs[i].nc->port)) {
			/* One target per (address, port). */
			if (!n->passive)
				node_set_passive(n, &u->passive);
			n->move_flows |= u->unhealthy_move;
			if (node_add_upstream(n, u->id))
				goto out_nomem;
			node_at[refs[i].order] = cnt - 1;
			continue;
		}
		n = calloc(1, sizeof(*n));
		if (!n)
			goto out_nomem;
		if (node_add_upstream(n, u->id)) {
			node_free(n);
			goto out_nomem;
		}
		n->addr = refs[i].nc->addr;
		n->port = refs[i].nc->port;
		old = agent_node_find(a->nodes, a->nnodes, &n->addr, n->port);
		n->be_id = old ? old->be_id : ~0U;
		node_set_passive(n, &u->passive);
		n->checked = u->active.enabled;
		n->move_flows = u->unhealthy_move;
		n->unreachable = old ? old->unreachable : 0;
		n->flipped = old ? old->flipped : 1;
		node_set_nexthop(n, old);
		xlb_addr_str(n->addr.addr, n->addr.family, addr, sizeof(addr));
		snprintf(n->label, sizeof(n->label),
			 n->addr.family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", addr, n->port);
		n->t = xlb_checker_get(a->checker, &n->addr, n->port, &u->active);
		if (!n->t) {
			node_free(n);
			goto out_nomem;
		}
		if (!old)
			fresh[nfresh++] = n;
		node_at[refs[i].order] = cnt;
		nodes[cnt++] = n;
	}
	free(refs);
	free(a->node_at);
	free(a->ups_first);
	a->node_at = node_at;
	a->nnode_at = nrefs;
	a->ups_first = ups_first;
	a->nups_first = conf->nupstreams;
	for (i = 0; i < a->nnodes; i++) {
		xlb_checker_put(a->checker, a->nodes[i]->t);
		node_free(a->nodes[i]);
	}
	free(a->nodes);
	a->nodes = nodes;
	a->nnodes = cnt;
	for (i = 0; i < cnt; i++)
		xlb_target_set_data(nodes[i]->t, nodes[i]);
	err = adopt_health(a, fresh, nfresh);
	if (err)
		pr_warn("health: new nodes start healthy: reading the backends failed: %s\n",
			strerror(-err));
	free(fresh);
	agent_nodes_index(a);
	a->nodes_gen++;
	a->nflipped = 0; /* they name nodes freed above; a new node set is compared whole */
	return 0;

out_nomem:
	for (i = 0; i < cnt; i++) {
		xlb_checker_put(a->checker, nodes[i]->t);
		node_free(nodes[i]);
	}
	free(fresh);
	free(nodes);
	free(refs);
	free(node_at);
	free(ups_first);
	return -ENOMEM;
}

void agent_nodes_free(struct xlb_agent *a)
{
	size_t i;

	for (i = 0; i < a->nnodes; i++) {
		xlb_checker_put(a->checker, a->nodes[i]->t);
		node_free(a->nodes[i]);
	}
	free(a->nodes);
	a->nodes = NULL;
	a->nnodes = 0;
	free(a->flipped);
	a->flipped = NULL;
	a->nflipped = a->capflipped = 0;
	free(a->by_id);
	a->by_id = NULL;
	free(a->node_at);
	free(a->ups_first);
	a->node_at = a->ups_first = NULL;
	a->nnode_at = a->nups_first = 0;
}
