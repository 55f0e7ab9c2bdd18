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

int agent_node_next_ups(const char **p, char id[XLB_ID_LEN])
{
	const char *s = *p, *e;
	size_t len;

	if (!*s)
		return 0;
	e = strchr(s, ',');
	if (!e)
		e = s + strlen(s);
	len = (size_t)(e - s);
	*p = *e ? e + 1 : e;
	if (len >= XLB_ID_LEN)
		return -1;
	memcpy(id, s, len);
	id[len] = '\0';
	return 1;
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

/*
 * Node nc of upstream u, the first upstream that names it, with its
 * target; what the agent knew of it (old) carries over. NULL: no memory.
 */
static struct agent_node *node_make(struct xlb_agent *a, const struct xlb_upstream_conf *u,
				    const struct xlb_node_conf *nc, const struct agent_node *old)
{
	char addr[XLB_ADDRSTRLEN];
	struct agent_node *n = calloc(1, sizeof(*n));

	if (!n || node_add_upstream(n, u->id)) {
		free(n);
		return NULL;
	}
	n->addr = nc->addr;
	n->port = nc->port;
	n->be_id = old ? old->be_id : ~0U;
	node_set_passive(n, &u->passive);
	n->checked = u->active.enabled;
	n->move_flows = u->unhealthy_move;
	n->unreachable = old ? old->unreachable : 0;
	n->flipped = old ? old->flipped : 1;
	if (old) {
		n->des_seen = old->des_seen;
		n->des_usable = old->des_usable;
		n->des_out_state = old->des_out_state;
	}
	node_set_nexthop(n, old);
	xlb_addr_str(n->addr.addr, n->addr.family, addr, sizeof(addr));
	snprintf(n->label, sizeof(n->label), n->addr.family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u",
		 addr, n->port);
	n->t = xlb_checker_get(a->checker, &n->addr, n->port, &u->active);
	if (!n->t) {
		node_free(n);
		return NULL;
	}
	return n;
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

/* Node n starts from its backend b (id) in the maps. */
static void adopt_one(struct agent_node *n, __u32 id, const struct xlb_backend *b)
{
	enum xlb_health s;

	n->be_id = id;
	/* Without checks (removed meanwhile) nothing could bring it back. */
	s = n->checked ? xlb_health_adopt(b->state, b->by) : XLB_H_HEALTHY;
	if (s != xlb_target_state(n->t)) {
		xlb_target_set_state(n->t, s);
		pr_info("health: node=%s starts %s: %s in the data plane\n", n->label,
			xlb_health_name(s), xlb_state_name(b->state));
	}
	if (xlb_backend_held(b))
		pr_info("health: node=%s is %s by the operator (xlb backend set): its state "
			"stays\n",
			n->label, xlb_state_name(b->state));
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
	struct xlb_backend *all;
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
		id = find_backend(all, used, nused, fresh[i]);
		if (id != ~0U)
			adopt_one(fresh[i], id, &all[id]);
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
		old = agent_node_find(a->nodes, a->nnodes, &refs[i].nc->addr, refs[i].nc->port);
		n = node_make(a, u, refs[i].nc, old);
		if (!n)
			goto out_nomem;
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

/* Whether upstream u names (addr, port). */
static int ups_names(const struct xlb_upstream_conf *u, const struct xlb_addr_key *addr, __u16 port)
{
	size_t j;

	for (j = 0; j < u->nnodes; j++)
		if (!agent_node_cmp(&u->nodes[j].addr, u->nodes[j].port, addr, port))
			return 1;
	return 0;
}

/* Where (addr, port) goes in a->nodes to keep it sorted. */
static size_t node_slot(const struct xlb_agent *a, const struct xlb_addr_key *addr, __u16 port)
{
	size_t lo = 0, hi = a->nnodes, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (agent_node_cmp(&a->nodes[mid]->addr, a->nodes[mid]->port, addr, port) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Take node nd (at pos) out of the index, the flip list and the checker. */
static void node_remove(struct xlb_agent *a, size_t pos)
{
	struct agent_node *nd = a->nodes[pos];
	size_t i;

	for (i = 0; i < a->nflipped; i++)
		if (a->flipped[i] == nd)
			a->flipped[i--] = a->flipped[--a->nflipped];
	if (a->by_id && nd->be_id < XLB_MAX_BACKENDS && a->by_id[nd->be_id] == nd)
		a->by_id[nd->be_id] = NULL;
	memmove(a->nodes + pos, a->nodes + pos + 1, (a->nnodes - pos - 1) * sizeof(*a->nodes));
	a->nnodes--;
	xlb_checker_put(a->checker, nd->t);
	node_free(nd);
}

/* A node the upstream still names: its settings from the upstream's new text. */
static int node_refresh(struct xlb_agent *a, struct agent_node *nd,
			const struct xlb_upstream_conf *u)
{
	struct xlb_target *t = xlb_checker_get(a->checker, &nd->addr, nd->port, &u->active);

	if (!t)
		return -ENOMEM;
	xlb_checker_put(a->checker, nd->t);
	nd->t = t;
	xlb_target_set_data(t, nd);
	nd->passive = 0;
	memset(&nd->passive_th, 0, sizeof(nd->passive_th));
	node_set_passive(nd, &u->passive);
	nd->checked = u->active.enabled;
	nd->move_flows = u->unhealthy_move;
	return 0;
}

/* A node new to the agent: in the index, from its backend in the maps if any. */
static int node_insert(struct xlb_agent *a, const struct xlb_upstream_conf *u,
		       const struct xlb_node_conf *nc, int *adopt_all)
{
	struct agent_node *nd, **nodes;
	struct xlb_backend b;
	size_t pos;
	__u32 id;

	nodes = realloc(a->nodes, (a->nnodes + 1) * sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	a->nodes = nodes;
	nd = node_make(a, u, nc, NULL);
	if (!nd)
		return -ENOMEM;
	xlb_target_set_data(nd->t, nd);
	pos = node_slot(a, &nd->addr, nd->port);
	memmove(a->nodes + pos + 1, a->nodes + pos, (a->nnodes - pos) * sizeof(*a->nodes));
	a->nodes[pos] = nd;
	a->nnodes++;
	if (!a->maps_open)
		return 0;
	/* The one backend, by the reconcile's index; without one, read them all. */
	if (xlb_shadow_backend_id(a->shadow, &nd->addr, nd->port, &id)) {
		*adopt_all = 1;
		return 0;
	}
	if (id == ~0U || xlb_backend_get(&a->maps, id, &b) || be_node_cmp(&b, &nd->addr, nd->port))
		return 0;
	adopt_one(nd, id, &b);
	if (a->by_id)
		a->by_id[id] = nd;
	return 0;
}

#define NAMERS_MAX    256  /* upstreams naming one node, for a patch to follow it alone */
#define RUN_NODES_MAX 4096 /* nodes of a run, for a patch to follow them one by one */

/* Whether one of the n upstreams in ups has id. */
static int ids_have(const struct xlb_upstream_conf *ups, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(ups[i].id, id))
			return 1;
	return 0;
}

static void namer_add(const struct xlb_upstream_conf **ups, size_t *n,
		      const struct xlb_upstream_conf *u)
{
	size_t i, k;

	for (i = 0; i < *n && ups[i] < u; i++)
		;
	if (i < *n && ups[i] == u)
		return;
	for (k = *n; k > i; k--)
		ups[k] = ups[k - 1];
	ups[i] = u;
	(*n)++;
}

/*
 * The upstreams that name node (addr, port) once the run changed, in
 * configuration order: those it had outside the run (nd->ups), and the
 * run's new items that name it. 0, or -E2BIG (more than NAMERS_MAX).
 */
static int node_namers(struct xlb_agent *a, const struct agent_node *nd,
		       const struct xlb_upstream_conf *old, size_t nold,
		       const struct xlb_upstream_conf *nu, size_t n,
		       const struct xlb_addr_key *addr, __u16 port,
		       const struct xlb_upstream_conf **ups, size_t *nups)
{
	const struct xlb_upstream_conf *u;
	const char *p = nd && nd->ups ? nd->ups : "";
	char id[XLB_ID_LEN];
	size_t i;
	int r;

	*nups = 0;
	while ((r = agent_node_next_ups(&p, id))) {
		if (r < 0)
			continue;
		/* A run item: its new version says. */
		u = ids_have(old, nold, id) ? NULL : xlb_conf_upstream(&a->conf, id);
		if (!u)
			continue;
		if (*nups == NAMERS_MAX)
			return -E2BIG;
		namer_add(ups, nups, u);
	}
	for (i = 0; i < n; i++) {
		if (!ups_names(&nu[i], addr, port))
			continue;
		if (*nups == NAMERS_MAX)
			return -E2BIG;
		namer_add(ups, nups, &nu[i]);
	}
	return 0;
}

/*
 * Node (addr, port), at pos (-1: none yet), named by ups from now (n, in
 * configuration order): gone, new, or its settings from the first of them,
 * as agent_nodes_sync() makes a node.
 */
static int node_follow(struct xlb_agent *a, long pos, const struct xlb_node_conf *nc,
		       const struct xlb_upstream_conf **ups, size_t n, int *adopt_all)
{
	struct agent_node *nd;
	int err, usable = 0;
	__u8 out = 0;
	size_t i;

	if (!n) {
		if (pos >= 0)
			node_remove(a, (size_t)pos);
		return 0;
	}
	if (pos >= 0) {
		out = agent_node_out_state(a->nodes[pos]);
		usable = agent_node_usable(a->nodes[pos]);
	}
	if (pos < 0) {
		err = node_insert(a, ups[0], nc, adopt_all);
		pos = agent_node_pos(a->nodes, a->nnodes, &nc->addr, nc->port);
		if (err || pos < 0)
			return err ? err : -ENOENT;
	} else {
		err = node_refresh(a, a->nodes[pos], ups[0]);
		if (err)
			return err;
	}
	nd = a->nodes[pos];
	free(nd->ups);
	nd->ups = NULL;
	for (i = 0; i < n; i++) {
		if (node_add_upstream(nd, ups[i]->id))
			return -ENOMEM;
		if (!i)
			continue;
		if (!nd->passive)
			node_set_passive(nd, &ups[i]->passive);
		nd->move_flows |= ups[i]->unhealthy_move;
	}
	/* What makes its backend state may have changed: the next desired state looks. */
	if (agent_node_out_state(nd) != out || agent_node_usable(nd) != usable)
		agent_node_flipped(a, nd);
	return 0;
}

static int node_conf_cmp(const void *x, const void *y)
{
	const struct xlb_node_conf *a = *(const struct xlb_node_conf *const *)x;
	const struct xlb_node_conf *b = *(const struct xlb_node_conf *const *)y;

	return agent_node_cmp(&a->addr, a->port, &b->addr, b->port);
}

int agent_nodes_patch(struct xlb_agent *a, const struct xlb_upstream_conf *old, size_t nold,
		      size_t first, size_t n)
{
	const struct xlb_upstream_conf *nu = &a->conf.upstreams[first], **namers;
	const struct xlb_node_conf **keys, *nc;
	struct agent_node **fresh = NULL, *nd;
	size_t i, j, k, nkeys = 0, nnamers, nfresh = 0, before = a->nnodes;
	int err = 0, adopt_all = 0;
	long pos;

	for (i = 0; i < nold; i++)
		nkeys += old[i].nnodes;
	for (i = 0; i < n; i++)
		nkeys += nu[i].nnodes;
	if (nkeys > RUN_NODES_MAX)
		return agent_nodes_sync(a, &a->conf);
	/* Each node the run names, before or after, once. */
	keys = calloc(nkeys + 1, sizeof(*keys));
	namers = calloc(NAMERS_MAX + 1, sizeof(*namers));
	if (!keys || !namers) {
		free(keys);
		free(namers);
		return -ENOMEM;
	}
	for (i = 0, k = 0; i < nold; i++)
		for (j = 0; j < old[i].nnodes; j++)
			keys[k++] = &old[i].nodes[j];
	for (i = 0; i < n; i++)
		for (j = 0; j < nu[i].nnodes; j++)
			keys[k++] = &nu[i].nodes[j];
	qsort(keys, nkeys, sizeof(*keys), node_conf_cmp);
	for (k = 0; k < nkeys && !err; k++) {
		nc = keys[k];
		if (k && !node_conf_cmp(&keys[k - 1], &keys[k]))
			continue;
		pos = agent_node_pos(a->nodes, a->nnodes, &nc->addr, nc->port);
		nd = pos >= 0 ? a->nodes[pos] : NULL;
		err = node_namers(a, nd, old, nold, nu, n, &nc->addr, nc->port, namers, &nnamers);
		if (!err)
			err = node_follow(a, pos, nc, namers, nnamers, &adopt_all);
	}
	free(keys);
	free(namers);
	if (err == -E2BIG)
		return agent_nodes_sync(a, &a->conf);
	if (err)
		return err;
	if (adopt_all && a->nnodes > before) {
		/* The nodes new to the agent are those without a backend id yet. */
		fresh = calloc(a->nnodes, sizeof(*fresh));
		if (!fresh)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			for (j = 0; j < nu[i].nnodes; j++) {
				nd = agent_node_find(a->nodes, a->nnodes, &nu[i].nodes[j].addr,
						     nu[i].nodes[j].port);
				if (nd && nd->be_id == ~0U)
					fresh[nfresh++] = nd;
			}
		}
		err = adopt_health(a, fresh, nfresh);
		if (err)
			pr_warn("health: new nodes start healthy: reading the backends failed: "
				"%s\n",
				strerror(-err));
		for (i = 0; a->by_id && i < nfresh; i++)
			if (fresh[i]->be_id < XLB_MAX_BACKENDS)
				a->by_id[fresh[i]->be_id] = fresh[i];
		free(fresh);
	}
	return 0;
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
