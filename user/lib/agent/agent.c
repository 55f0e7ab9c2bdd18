// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's core; see agent.h. Everything runs on one libevent loop:
 * health events flip a backend's fast-path state at once and schedule one
 * reconcile, which coalesces all changes of the same loop turn.
 *
 * Three sources feed the health state machines (checker.c): active probes,
 * passive events from the fast path, kernel signals.
 *
 * Passive events (bpf/lib/passive.h): the xlb_events ring buffer is read on
 * the loop (its epoll fd is an EV_READ|EV_PERSIST event, each wake-up runs
 * ring_buffer__consume). A client's SYN retransmission counts as a timeout,
 * a bare client RST as a TCP failure, both judged by the node's
 * checks.passive thresholds; nodes of upstreams without checks.passive
 * ignore them (counted). The fast path sees no successes with direct
 * server return, so passive checks only take nodes out: recovery comes
 * from active probes (hence APISIX's rule, kept by config.c, that passive
 * needs active; an upstream whose probe intervals are 0 stays down).
 *
 * Kernel signals (nlmon.c): each node's next hop is resolved when it first
 * appears (xlb_nl_route_get); the neighbour entry of that next hop turning
 * FAILED, its device losing IFF_UP/IFF_RUNNING or going away, or a deleted
 * route after which the node has no route any more, is one failure (TCP
 * failure, with the reason) for the node, judged by the passive thresholds
 * where configured, else by the node's own; a route that merely changes
 * updates the cache. The thresholds stay in charge: a node goes down on a
 * kernel signal alone only when its tcp_failures threshold is 1.
 *
 * Where the configuration comes from: the file, edited by the Admin API;
 * with deployment.etcd, the file gives the settings and etcd the upstreams
 * and stream routes (etcd_apply). An upstream with discovery_type gets its
 * nodes from its registry watch (sync_watches, fill_nodes): they are put
 * into the upstream as if the configuration listed them, so everything
 * after (nodes, probes, tables) is the same for both.
 */
#define _GNU_SOURCE		/* asprintf */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <event2/event.h>

#include "xlb_lb.skel.h"

#include "base/addr.h"
#include "agent/adminapi.h"
#include "agent/agent.h"
#include "dataplane/attach.h"
#include "health/checker.h"
#include "discovery/discovery.h"
#include "config/etcd.h"
#include "health/health.h"
#include "base/log.h"
#include "dataplane/maps.h"
#include "dataplane/names.h"
#include "dataplane/netlink.h"
#include "health/nlmon.h"
#include "health/priority.h"
#include "dataplane/reconcile.h"
#include "config/yamljson.h"

/* One distinct (address, port) across all upstreams: one target, one id. */
struct agent_node {
	struct xlb_addr_key addr;
	__u16 port;
	struct xlb_target *t;
	__u32 be_id;			/* ~0U: not in the maps yet */
	char label[XLB_VIPSTRLEN];	/* "198.18.0.12:80" */
	int passive;			/* an upstream of it has checks.passive */
	struct xlb_health_thresholds passive_th;
	struct xlb_addr_key nh;		/* next hop (the node itself when on-link) */
	int nh_ifindex;
	int nh_ok;			/* nh, nh_ifindex valid: a route exists */
	int link_down;			/* nh_ifindex seen down (signal edges) */
	int checked;			/* has checks (active, maybe passive) */
	int move_flows;			/* an upstream of it: unhealthy_flows: move */
	int unreachable;		/* kernel evidence since it was last usable */
};

/*
 * NAT sweep period. Dead entries cost nothing but memory (the fast path
 * treats them as free); the sweep reclaims them and reports connections
 * that died waiting for a SYN-ACK as timeouts of their node.
 */
#define XLB_AGENT_NAT_SWEEP_S	2

#define LAT_SAMPLES	1024		/* signal -> flip latencies kept per source */

/*
 * The watch of one upstream with discovery_type. It survives reloads that
 * keep the upstream's id, registry, service_name and discovery_args, so a
 * reload neither loses the node set nor asks the registry again.
 */
struct agent_watch {
	char id[XLB_ID_LEN];
	char *ident;			/* "type\nservice\nargs" */
	struct xlb_disc_watch *w;
};

struct xlb_agent {
	struct event_base *base;
	char conf_file[4096];
	char pin_dir[4096];
	json_t *doc;			/* the configuration as a document */
	struct xlb_conf conf;		/* the same, validated */
	struct xlb_maps maps;
	int maps_open;
	struct xlb_checker *checker;
	struct agent_node **nodes;
	size_t nnodes;
	struct event *reconcile_ev;
	struct xlb_agent_stats st;
	struct agent_node **by_id;	/* backend id -> node (XLB_MAX_BACKENDS) */
	struct ring_buffer *rb;		/* xlb_events */
	struct event *rb_ev;
	struct xlb_nlmon *nlmon;
	struct event *nl_ev;
	struct xlb_disc *disc;
	struct agent_watch *watches;	/* one per discovery upstream of conf */
	size_t nwatches;
	struct event *disc_ev;		/* a watch's node set changed */
	double loaded;			/* wall clock of the last configuration change */
	/*
	 * deployment.etcd: the file gives the settings, etcd the upstreams and
	 * stream routes; doc is file_doc with etcd's objects in it.
	 */
	json_t *file_doc;
	struct xlb_etcd *etcd;
	struct xlb_etcd_conf etcd_conf;	/* the settings etcd runs with */
	json_t *etcd_ups, *etcd_routes;	/* etcd's latest objects */
	int etcd_have;			/* etcd's objects arrived: maps may follow */
	char *etcd_problem;		/* the last problem logged, to log each once */
	unsigned long etcd_rejects;	/* etcd objects left out as invalid */
	struct event *nat_ev;		/* the NAT sweep, every XLB_AGENT_NAT_SWEEP_S */
	/* The signal being handled, for on_health's latency sample. */
	int sig_src;			/* enum xlb_agent_src, -1: none */
	__u64 sig_ns;			/* CLOCK_MONOTONIC when it happened */
	double lat_us[XLB_AGENT_SRC_MAX][LAT_SAMPLES];
	unsigned long nlat[XLB_AGENT_SRC_MAX];
};

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* CLOCK_MONOTONIC, as bpf_ktime_get_ns() reads it. */
static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static int node_cmp(const struct xlb_addr_key *a, __u16 pa, const struct xlb_addr_key *b, __u16 pb)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (memcmp(a->addr, b->addr, 16))
		return memcmp(a->addr, b->addr, 16);
	return pa == pb ? 0 : pa < pb ? -1 : 1;
}

/* Binary search: the node arrays are sorted by (address, port). */
static struct agent_node *find_node(struct agent_node **nodes, size_t n,
				    const struct xlb_addr_key *a, __u16 port)
{
	size_t lo = 0, hi = n, mid;
	int d;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		d = node_cmp(a, port, &nodes[mid]->addr, nodes[mid]->port);
		if (!d)
			return nodes[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
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
	int d = node_cmp(&a->nc->addr, a->nc->port, &b->nc->addr, b->nc->port);

	if (d)
		return d;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* backend id -> node, rebuilt whenever ids or nodes change. */
static void index_nodes(struct xlb_agent *a)
{
	size_t i;

	if (!a->by_id)
		return;
	memset(a->by_id, 0, XLB_MAX_BACKENDS * sizeof(*a->by_id));
	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i]->be_id < XLB_MAX_BACKENDS)
			a->by_id[a->nodes[i]->be_id] = a->nodes[i];
}

/* --- health ---------------------------------------------------------------- */

static int node_usable(const struct agent_node *n)
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
static __u8 node_out_state(const struct agent_node *n)
{
	return n->unreachable || n->move_flows ? XLB_BE_DOWN : XLB_BE_DRAINING;
}

/* Upstream ids that use node n, for log lines. */
static void node_upstreams(const struct xlb_agent *a, const struct agent_node *n, char *buf,
			   size_t len)
{
	size_t i, j, off = 0;
	const struct xlb_upstream_conf *u;

	buf[0] = '\0';
	for (i = 0; i < a->conf.nupstreams; i++) {
		u = &a->conf.upstreams[i];
		for (j = 0; j < u->nnodes; j++) {
			if (node_cmp(&u->nodes[j].addr, u->nodes[j].port, &n->addr, n->port))
				continue;
			off += snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? "," : "",
					u->id);
			break;
		}
	}
}

static void on_health(struct xlb_target *t, enum xlb_health old, enum xlb_health new,
		      enum xlb_health_event ev, const char *detail, void *arg)
{
	struct xlb_agent *a = arg;
	struct agent_node *n = xlb_target_data(t);
	char ups[256];
	double t0;
	int lock, err;

	if (!n)
		return;
	a->st.health_changes++;
	node_upstreams(a, n, ups, sizeof(ups));
	pr_info("health: node=%s upstream=%s state=%s->%s event=%s reason=\"%s\"\n", n->label,
		ups, xlb_health_name(old), xlb_health_name(new), xlb_health_event_name(ev),
		detail ? detail : "");
	if (xlb_health_usable(new))
		n->unreachable = 0;
	if (xlb_health_usable(old) == xlb_health_usable(new))
		return;
	/*
	 * The decision is made: one map write now, so that the next packet
	 * already avoids (or may use) the node; tables follow in the reconcile.
	 */
	if (n->be_id != ~0U && a->maps_open) {
		t0 = now_us();
		lock = xlb_pin_dir_lock(a->pin_dir);
		err = xlb_backend_set_state(&a->maps, n->be_id,
					    xlb_health_usable(new) ? XLB_BE_ACTIVE : node_out_state(n));
		if (lock >= 0)
			close(lock);
		if (err == -EBUSY) {
			pr_info("health: node=%s: its state stays the operator's (xlb backend "
				"set)\n", n->label);
		} else if (err) {
			pr_warn("health: node=%s: state write failed: %s\n", n->label, strerror(-err));
		} else {
			a->st.flips++;
			a->st.last_flip_us = now_us() - t0;
			if (a->st.last_flip_us > a->st.max_flip_us)
				a->st.max_flip_us = a->st.last_flip_us;
			if (a->sig_src >= 0 && !xlb_health_usable(new))
				a->lat_us[a->sig_src][a->nlat[a->sig_src]++ % LAT_SAMPLES] =
					(now_ns() - a->sig_ns) / 1e3;
		}
	}
	event_active(a->reconcile_ev, 0, 0);
}

/* --- desired state ---------------------------------------------------------- */

struct want_builder {
	struct xlb_want w;
	unsigned char *used;	/* per node: a VIP uses its backend */
};

/*
 * The wanted backend of a node: b->w.backends starts as one entry per node,
 * in the nodes' sorted order (so the same binary search finds both);
 * build_want() then keeps only the entries some VIP uses.
 */
static struct xlb_want_backend *want_backend(struct xlb_agent *a, struct want_builder *b,
					     const struct xlb_addr_key *addr, __u16 port)
{
	size_t lo = 0, hi = a->nnodes, mid;
	int d;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		d = node_cmp(addr, port, &a->nodes[mid]->addr, a->nodes[mid]->port);
		if (!d) {
			b->used[mid] = 1;
			return &b->w.backends[mid];
		}
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void want_free(struct xlb_want *w)
{
	size_t i;

	for (i = 0; i < w->nvips; i++)
		free(w->vips[i].members);
	free(w->vips);
	free(w->backends);
	memset(w, 0, sizeof(*w));
}

/* A VIP's members: its upstream's nodes weighted by health and priority. */
static int want_vip(struct xlb_agent *a, struct want_builder *b, const struct xlb_route_conf *r,
		    struct xlb_want_vip *wv)
{
	const struct xlb_upstream_conf *u = xlb_conf_upstream(&a->conf, r->upstream_id);
	struct xlb_want_backend *wb;
	struct xlb_prio_node *in;
	struct xlb_prio_out *out;
	struct agent_node *n;
	size_t i;
	int err = -ENOMEM;

	memset(wv, 0, sizeof(*wv));
	wv->key = r->vip;
	wv->table_size = a->conf.xlb.table_size;
	if (!u)
		return 0;	/* validation forbids it */
	wv->flags = u->hash_src ? XLB_VIP_F_HASH_SRC : 0;
	if (xlb_conf_upstream_nat(&a->conf, u))
		wv->flags |= XLB_VIP_F_NAT;
	wv->members = calloc(u->nnodes + 1, sizeof(*wv->members));
	in = calloc(u->nnodes + 1, sizeof(*in));
	out = calloc(u->nnodes + 1, sizeof(*out));
	if (!wv->members || !in || !out)
		goto out;
	for (i = 0; i < u->nnodes; i++) {
		n = find_node(a->nodes, a->nnodes, &u->nodes[i].addr, u->nodes[i].port);
		in[i].priority = u->nodes[i].priority;
		in[i].weight = u->nodes[i].weight;
		in[i].usable = n && node_usable(n);
	}
	xlb_priority_pick(in, u->nnodes, a->conf.xlb.on_no_healthy, out);
	for (i = 0; i < u->nnodes; i++) {
		wb = want_backend(a, b, &u->nodes[i].addr, u->nodes[i].port);
		if (!wb)
			goto out;
		/* A backend shared by upstreams is active if any wants it. */
		if (out[i].active)
			wb->state = XLB_BE_ACTIVE;
		wv->members[i].addr = u->nodes[i].addr;
		wv->members[i].port = u->nodes[i].port;
		wv->members[i].weight = out[i].weight;
	}
	wv->nmembers = u->nnodes;
	err = 0;
out:
	free(out);
	free(in);
	return err;
}

static int build_want(struct xlb_agent *a, struct want_builder *b)
{
	size_t i, n = 0;
	int err;

	memset(b, 0, sizeof(*b));
	b->w.vips = calloc(a->conf.nroutes + 1, sizeof(*b->w.vips));
	b->w.backends = calloc(a->nnodes + 1, sizeof(*b->w.backends));
	b->used = calloc(a->nnodes + 1, 1);
	if (!b->w.vips || !b->w.backends || !b->used)
		return -ENOMEM;
	for (i = 0; i < a->nnodes; i++) {
		b->w.backends[i].addr = a->nodes[i]->addr;
		b->w.backends[i].port = a->nodes[i]->port;
		/*
		 * Unless a VIP wants it active below: an unusable node by its
		 * cause; a usable one no VIP uses now (a lower priority group,
		 * weight 0) hands its flows to the nodes that are used.
		 */
		b->w.backends[i].state = node_usable(a->nodes[i]) ? XLB_BE_DOWN :
					 node_out_state(a->nodes[i]);
	}
	for (i = 0; i < a->conf.nroutes; i++) {
		err = want_vip(a, b, &a->conf.routes[i], &b->w.vips[i]);
		b->w.nvips++;
		if (err)
			return err;
	}
	/* Only backends some VIP uses: the others are removed from the maps. */
	for (i = 0; i < a->nnodes; i++)
		if (b->used[i])
			b->w.backends[n++] = b->w.backends[i];
	b->w.nbackends = n;
	return 0;
}

static int reconcile(struct xlb_agent *a)
{
	struct xlb_reconcile_stats rs;
	struct want_builder b;
	struct agent_node *n;
	double t0 = now_us();
	int err, lock;
	size_t i;

	/*
	 * Until etcd's objects arrive the configuration has none: leave the
	 * maps of a running data plane as they are rather than empty them.
	 */
	if (a->etcd && !a->etcd_have)
		return 0;
	err = build_want(a, &b);
	if (err)
		goto out;
	lock = xlb_pin_dir_lock(a->pin_dir);
	if (lock < 0) {
		err = lock;
		goto out;
	}
	err = xlb_reconcile(&a->maps, &b.w, &rs);
	close(lock);
	for (i = 0; i < b.w.nbackends; i++) {
		n = find_node(a->nodes, a->nnodes, &b.w.backends[i].addr, b.w.backends[i].port);
		if (n)
			n->be_id = b.w.backends[i].id;
	}
	index_nodes(a);
	if (!err && (rs.vips_added || rs.vips_updated || rs.vips_removed || rs.backends_added ||
		     rs.backends_changed || rs.backends_removed || rs.members_changed ||
		     rs.tables_written))
		pr_info("maps: vips +%u ~%u -%u, backends +%u ~%u -%u, members ~%u, tables %u\n",
			rs.vips_added, rs.vips_updated, rs.vips_removed, rs.backends_added,
			rs.backends_changed, rs.backends_removed, rs.members_changed,
			rs.tables_written);
out:
	want_free(&b.w);
	free(b.used);
	a->st.reconciles++;
	a->st.last_reconcile_ms = (now_us() - t0) / 1e3;
	if (a->st.last_reconcile_ms > a->st.max_reconcile_ms)
		a->st.max_reconcile_ms = a->st.last_reconcile_ms;
	if (err) {
		a->st.reconcile_errors++;
		pr_warn("maps: reconcile failed: %s\n", strerror(-err));
	}
	return err;
}

static void on_reconcile(evutil_socket_t fd, short what, void *arg)
{
	reconcile(arg);
}

/* --- discovery ------------------------------------------------------------------ */

static char *watch_ident(const struct xlb_upstream_conf *u)
{
	char *s;

	if (asprintf(&s, "%s\n%s\n%s", u->discovery_type, u->service_name,
		     u->discovery_args ? u->discovery_args : "") < 0)
		return NULL;
	return s;
}

static struct agent_watch *find_watch(struct agent_watch *ws, size_t n, const char *id)
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
	struct xlb_disc_node nd = { .weight = v->weight };
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
	struct seed_ctx sc = { .a = a, .out = out };
	struct xlb_vip vip;
	size_t i;

	if (!a->maps_open)
		return;
	for (i = 0; i < conf->nroutes; i++) {
		if (strcmp(conf->routes[i].upstream_id, u->id) ||
		    xlb_vip_get(&a->maps, &conf->routes[i].vip, &vip))
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
	const struct xlb_disc_node *dn;
	struct xlb_node_conf *nodes = NULL;
	size_t i, n;

	dn = xlb_disc_watch_nodes(w, &n);
	if (n) {
		nodes = calloc(n, sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		nodes[i] = (struct xlb_node_conf){ .addr = dn[i].addr, .port = dn[i].port,
						   .weight = dn[i].weight,
						   .priority = dn[i].priority };
	free(u->nodes);
	u->nodes = nodes;
	u->nnodes = n;
	return 0;
}

static void on_disc_update(struct xlb_disc_watch *w, void *arg)
{
	struct xlb_agent *a = arg;

	event_active(a->disc_ev, 0, 0);	/* coalesce the updates of one loop turn */
}

static int sync_nodes(struct xlb_agent *a, const struct xlb_conf *conf);
static int reconcile(struct xlb_agent *a);

/* Node sets changed: refill the upstreams, then nodes, probes and maps follow. */
static void on_disc_changed(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_agent *a = arg;
	struct xlb_upstream_conf *u;
	struct agent_watch *aw;
	size_t i;
	int err = 0;

	for (i = 0; i < a->conf.nupstreams && !err; i++) {
		u = &a->conf.upstreams[i];
		aw = u->discovery_type[0] ? find_watch(a->watches, a->nwatches, u->id) : NULL;
		if (aw)
			err = fill_nodes(u, aw->w);
	}
	if (!err)
		err = sync_nodes(a, &a->conf);
	if (err) {
		pr_warn("discovery: applying node changes: %s\n", strerror(-err));
		return;
	}
	reconcile(a);
}

/*
 * The watches conf needs: kept where the upstream's discovery settings did
 * not change, started otherwise (seeded from the maps),
 * stopped for upstreams that are gone. Then every discovery upstream of
 * conf gets its watch's nodes. On error nothing of a's changes.
 */
static int sync_watches(struct xlb_agent *a, struct xlb_conf *conf)
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
		old = find_watch(a->watches, a->nwatches, u->id);
		if (old && !strcmp(old->ident, ident)) {
			ws[j++].w = old->w;	/* kept: freed below only if unused */
			continue;
		}
		seed_from_maps(a, conf, u, &seed);
		ws[j].w = xlb_disc_watch_new(a->disc, u->discovery_type, u->service_name,
					     u->discovery_args, seed.v, seed.n, on_disc_update, a);
		if (seed.n && ws[j].w)
			pr_info("discovery: upstream %s starts from the %zu node%s the data plane "
				"has\n", u->id, seed.n, seed.n == 1 ? "" : "s");
		xlb_disc_nodes_free(&seed);
		if (!ws[j++].w) {
			err = -errno ? -errno : -ENOMEM;
			goto out_err;
		}
	}
	for (i = 0; i < conf->nupstreams && !err; i++) {
		u = &conf->upstreams[i];
		old = u->discovery_type[0] ? find_watch(ws, n, u->id) : NULL;
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

/* --- configuration ---------------------------------------------------------- */

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
	struct xlb_addr_key k = { .family = b->family };

	memcpy(k.addr, b->addr, sizeof(k.addr));
	return node_cmp(&k, ntohs(b->port), a, port);
}

static int be_id_cmp(const void *x, const void *y, void *arg)
{
	const struct xlb_backend *all = arg, *b = &all[*(const __u32 *)y];
	struct xlb_addr_key k = { .family = b->family };

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
				"state stays\n", n->label, xlb_state_name(b->state));
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
static int sync_nodes(struct xlb_agent *a, const struct xlb_conf *conf)
{
	struct agent_node **nodes = NULL, **fresh = NULL, *n = NULL, *old;
	const struct xlb_upstream_conf *u;
	struct node_ref *refs = NULL;
	size_t i, j, cnt = 0, nrefs = 0, nfresh = 0;
	char addr[XLB_ADDRSTRLEN];
	int err;

	/*
	 * Every (upstream, node) in configuration order, sorted by address and
	 * port: one node per run, its settings from the first upstream that
	 * names it, and the result sorted for find_node().
	 */
	for (i = 0; i < conf->nupstreams; i++)
		nrefs += conf->upstreams[i].nnodes;
	refs = calloc(nrefs + 1, sizeof(*refs));
	nodes = calloc(nrefs + 1, sizeof(*nodes));
	fresh = calloc(nrefs + 1, sizeof(*fresh));
	if (!refs || !nodes || !fresh)
		goto out_nomem;
	for (i = 0, nrefs = 0; i < conf->nupstreams; i++) {
		u = &conf->upstreams[i];
		for (j = 0; j < u->nnodes; j++, nrefs++)
			refs[nrefs] = (struct node_ref){ .u = u, .nc = &u->nodes[j], .order = nrefs };
	}
	qsort(refs, nrefs, sizeof(*refs), node_ref_cmp);
	for (i = 0; i < nrefs; i++) {
		u = refs[i].u;
		if (n && !node_cmp(&n->addr, n->port, &refs[i].nc->addr, refs[i].nc->port)) {
			/* One target per (address, port). */
			if (!n->passive)
				node_set_passive(n, &u->passive);
			n->move_flows |= u->unhealthy_move;
			continue;
		}
		n = calloc(1, sizeof(*n));
		if (!n)
			goto out_nomem;
		n->addr = refs[i].nc->addr;
		n->port = refs[i].nc->port;
		old = find_node(a->nodes, a->nnodes, &n->addr, n->port);
		n->be_id = old ? old->be_id : ~0U;
		node_set_passive(n, &u->passive);
		n->checked = u->active.enabled;
		n->move_flows = u->unhealthy_move;
		n->unreachable = old ? old->unreachable : 0;
		node_set_nexthop(n, old);
		xlb_addr_str(n->addr.addr, n->addr.family, addr, sizeof(addr));
		snprintf(n->label, sizeof(n->label),
			 n->addr.family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", addr, n->port);
		n->t = xlb_checker_get(a->checker, &n->addr, n->port, &u->active);
		if (!n->t) {
			free(n);
			goto out_nomem;
		}
		if (!old)
			fresh[nfresh++] = n;
		nodes[cnt++] = n;
	}
	free(refs);
	for (i = 0; i < a->nnodes; i++) {
		xlb_checker_put(a->checker, a->nodes[i]->t);
		free(a->nodes[i]);
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
	index_nodes(a);
	return 0;

out_nomem:
	for (i = 0; i < cnt; i++) {
		xlb_checker_put(a->checker, nodes[i]->t);
		free(nodes[i]);
	}
	free(fresh);
	free(nodes);
	free(refs);
	return -ENOMEM;
}

static void add_err(struct xlb_conf_errors *errs, unsigned int line, const char *path,
		    const char *fmt, const char *arg)
{
	struct xlb_conf_error *e;

	if (errs->n < sizeof(errs->e) / sizeof(errs->e[0])) {
		e = &errs->e[errs->n];
		memset(e, 0, sizeof(*e));
		e->line = line;
		snprintf(e->path, sizeof(e->path), "%s", path);
		snprintf(e->msg, sizeof(e->msg), fmt, arg);
	}
	errs->n++;
}

int xlb_agent_conf_supported(const struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	const struct xlb_upstream_conf *u;
	char path[64], why[256];
	size_t i;

	for (i = 0; i < conf->nroutes; i++) {
		if (!conf->routes[i].remote.family)
			continue;
		snprintf(path, sizeof(path), "stream_routes[%zu].remote_addr", i);
		add_err(errs, conf->routes[i].line, path, "%s", "client filters are not enforced by the fast path yet; "
			"remove the key rather than run without the filter");
	}
	for (i = 0; i < conf->nupstreams; i++) {
		u = &conf->upstreams[i];
		if (!u->discovery_type[0] ||
		    !xlb_disc_check(&conf->discovery, u->discovery_type, u->service_name,
				    u->discovery_args, why, sizeof(why)))
			continue;
		snprintf(path, sizeof(path), "upstreams[%zu].discovery_type", i);
		add_err(errs, u->line, path, "%s", why);
	}
	return errs->n ? -EINVAL : 0;
}

/* Validate doc as a whole; on success *conf holds it. */
static int doc_parse(json_t *doc, struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	int err;

	memset(errs, 0, sizeof(*errs));
	if (!text)
		return -ENOMEM;
	err = xlb_conf_parse(text, conf, errs);
	free(text);
	if (!err && xlb_agent_conf_supported(conf, errs)) {
		xlb_conf_free(conf);
		err = -EINVAL;
	}
	return err;
}

/* Make conf (validated) the running configuration. */
static int adopt(struct xlb_agent *a, json_t *doc, struct xlb_conf *conf)
{
	struct xlb_conf old = a->conf;
	int err;

	err = sync_watches(a, conf);
	if (!err)
		err = sync_nodes(a, conf);
	if (err)
		return err;
	a->loaded = wall_now();
	a->conf = *conf;
	memset(conf, 0, sizeof(*conf));
	xlb_conf_free(&old);
	json_decref(a->doc);
	a->doc = json_incref(doc);
	return reconcile(a);
}

/*
 * Load and validate the file; on success *doc and *conf hold it. The file
 * is read once: the model and the document the Admin API edits come from
 * the same text, even if the file changes meanwhile.
 */
static int load_file(const char *file, json_t **doc, struct xlb_conf *conf,
		     struct xlb_conf_errors *errs)
{
	char *text;
	int err;

	memset(conf, 0, sizeof(*conf));
	err = xlb_conf_read(file, &text, errs);
	if (err)
		return err;	/* errs says why, with the position of a NUL byte */
	err = xlb_conf_parse(text, conf, errs);
	if (err)
		goto out_text;	/* errs has line:col for the file itself */
	err = xlb_agent_conf_supported(conf, errs);
	if (err)
		goto out_free;
	if (conf->etcd.enabled && (conf->nupstreams || conf->nroutes)) {
		add_err(errs, conf->nupstreams ? conf->upstreams[0].line : conf->routes[0].line,
			conf->nupstreams ? "upstreams" : "stream_routes", "%s",
			"with deployment.etcd, upstreams and stream_routes come from etcd: "
			"remove them from the file (or put them in etcd)");
		err = -EINVAL;
		goto out_free;
	}
	*doc = xlb_yaml_to_json(text);
	if (!*doc) {
		err = errno == ENOMEM ? -ENOMEM : -EINVAL;
		goto out_free;
	}
	free(text);
	return 0;
out_free:
	xlb_conf_free(conf);
out_text:
	free(text);
	return err;
}

int xlb_agent_check_file(const char *file, struct xlb_conf_errors *errs)
{
	struct xlb_conf conf;
	json_t *doc = NULL;
	int err;

	err = load_file(file, &doc, &conf, errs);
	if (err)
		return err;
	xlb_conf_free(&conf);
	json_decref(doc);
	return 0;
}

/* --- etcd as the source of upstreams and stream routes ------------------------ */

/* file_doc with etcd's objects as its upstreams and stream_routes. */
static json_t *merge_doc(json_t *file_doc, json_t *ups, json_t *routes)
{
	json_t *doc = json_deep_copy(file_doc);

	if (!doc)
		return NULL;
	if (json_object_set_new(doc, "upstreams", ups ? json_deep_copy(ups) : json_array()) ||
	    json_object_set_new(doc, "stream_routes",
				routes ? json_deep_copy(routes) : json_array())) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int apply_settings(struct xlb_agent *a, const struct xlb_settings *s);

static const char *obj_id(json_t *o, char *buf, size_t len)
{
	json_t *id = json_object_get(o, "id");

	if (json_is_string(id))
		return json_string_value(id);
	snprintf(buf, len, "%lld", json_is_integer(id) ? (long long)json_integer_value(id) : -1LL);
	return buf;
}

/* Note a refused key once per distinct set of problems (f: the set being built). */
static void etcd_problem(struct xlb_agent *a, FILE *f, const char *kind, const char *id,
			 const struct xlb_conf_errors *errs, const char *outcome)
{
	a->etcd_rejects++;
	if (f)
		fprintf(f, "etcd: %s/%s/%s: %s: %s; %s\n", a->etcd_conf.prefix, kind, id,
			errs->n ? errs->e[0].path : "?", errs->n ? errs->e[0].msg : "?", outcome);
}

/*
 * Try one change of etcd on top of *cur (obj NULL: delete kind/id): kept
 * when the whole still validates. 1 kept, 0 refused, -ENOMEM.
 */
static int etcd_try(struct xlb_agent *a, json_t **cur, const char *kind, const char *id,
		    json_t *obj, FILE *f)
{
	struct xlb_conf conf = {};
	struct xlb_conf_errors errs;
	json_t *doc = json_deep_copy(*cur), *arr;
	int at, err;

	if (!doc)
		return -ENOMEM;
	arr = json_object_get(doc, kind);
	at = xlb_admin_doc_find(arr, id);
	if (!obj)
		err = at >= 0 ? json_array_remove(arr, at) : 0;
	else if (at >= 0)
		err = json_array_set(arr, at, obj);
	else
		err = json_array_append(arr, obj);
	if (err) {
		json_decref(doc);
		return -ENOMEM;
	}
	err = doc_parse(doc, &conf, &errs);
	xlb_conf_free(&conf);
	if (err == -ENOMEM) {
		json_decref(doc);
		return err;
	}
	if (err) {
		etcd_problem(a, f, kind, id, &errs, !obj ? "its deletion is refused (it is in use)" :
			     at >= 0 ? "the running version stays" : "left out");
		json_decref(doc);
		return 0;
	}
	json_decref(*cur);
	*cur = doc;
	return 1;
}

/*
 * Make etcd's objects the running configuration: all at once when they
 * validate together, the usual case. Otherwise, from the objects that run
 * now, etcd's changes are tried one key at a time (upstreams added or
 * changed, then routes added or changed, then routes deleted, then
 * upstreams deleted), each kept only if the whole still validates: one bad
 * key costs that key, never the rest. Refused keys are logged once for
 * each distinct set of problems.
 */
static int etcd_apply(struct xlb_agent *a)
{
	static const char *const kinds[2] = { "upstreams", "stream_routes" };
	json_t *etcd_objs[2] = { a->etcd_ups, a->etcd_routes };
	struct xlb_conf conf = {};
	struct xlb_conf_errors errs;
	char *problems = NULL, idb[32];
	json_t *doc, *o, *run;
	size_t plen = 0, i;
	int k, err;
	FILE *f;

	doc = merge_doc(a->file_doc, a->etcd_ups, a->etcd_routes);
	if (!doc)
		return -ENOMEM;
	err = doc_parse(doc, &conf, &errs);
	if (err == -EINVAL) {
		xlb_conf_free(&conf);
		json_decref(doc);
		doc = merge_doc(a->file_doc, json_object_get(a->doc, "upstreams"),
				json_object_get(a->doc, "stream_routes"));
		if (!doc)
			return -ENOMEM;
		f = open_memstream(&problems, &plen);
		for (k = 0, err = 0; k < 2 && err >= 0; k++) {
			json_array_foreach(etcd_objs[k], i, o) {
				const char *id = obj_id(o, idb, sizeof(idb));

				run = json_array_get(json_object_get(doc, kinds[k]),
						     xlb_admin_doc_find(json_object_get(doc, kinds[k]), id));
				if (run && json_equal(run, o))
					continue;
				err = etcd_try(a, &doc, kinds[k], id, o, f);
				if (err < 0)
					break;
			}
		}
		for (k = 1; k >= 0 && err >= 0; k--) {
			run = json_object_get(doc, kinds[k]);
			for (i = json_array_size(run); i-- > 0 && err >= 0;) {
				char id[XLB_ID_LEN];

				snprintf(id, sizeof(id), "%s",
					 obj_id(json_array_get(run, i), idb, sizeof(idb)));
				if (xlb_admin_doc_find(etcd_objs[k], id) < 0)
					err = etcd_try(a, &doc, kinds[k], id, NULL, f);
				run = json_object_get(doc, kinds[k]);
			}
		}
		if (f)
			fclose(f);
		err = err < 0 ? err : doc_parse(doc, &conf, &errs);
	}
	if (problems && plen) {
		if (!a->etcd_problem || strcmp(problems, a->etcd_problem)) {
			char *save = NULL, *l;

			free(a->etcd_problem);
			a->etcd_problem = strdup(problems);
			for (l = strtok_r(problems, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				pr_warn("%s\n", l);
		}
	} else {
		free(a->etcd_problem);
		a->etcd_problem = NULL;
	}
	free(problems);
	if (!err)
		err = adopt(a, doc, &conf);
	else
		pr_warn("etcd: cannot apply etcd's objects (%s); the running configuration stays\n",
			strerror(-err));
	xlb_conf_free(&conf);
	json_decref(doc);
	return err;
}

static void on_etcd_update(json_t *ups, json_t *routes, long long rev, void *arg)
{
	struct xlb_agent *a = arg;

	json_decref(a->etcd_ups);
	json_decref(a->etcd_routes);
	a->etcd_ups = json_incref(ups);
	a->etcd_routes = json_incref(routes);
	a->etcd_have = 1;
	pr_info("etcd: revision %lld: %zu upstreams, %zu stream routes\n", rev,
		json_array_size(ups), json_array_size(routes));
	etcd_apply(a);
}

/* Start, restart or stop the etcd source for the settings in conf. */
static int etcd_sync(struct xlb_agent *a, const struct xlb_etcd_conf *c)
{
	if (a->etcd && !memcmp(c, &a->etcd_conf, sizeof(*c)))
		return 0;
	if (a->etcd) {
		pr_info("etcd: settings changed: reconnecting\n");
		xlb_etcd_free(a->etcd);
		a->etcd = NULL;
	}
	a->etcd_conf = *c;
	if (!c->enabled) {
		/* The file is the source again: etcd's objects are forgotten. */
		json_decref(a->etcd_ups);
		json_decref(a->etcd_routes);
		a->etcd_ups = a->etcd_routes = NULL;
		a->etcd_have = 0;
		return 0;
	}
	a->etcd = xlb_etcd_new(a->base, c, on_etcd_update, a);
	if (!a->etcd)
		return -errno ? -errno : -ENOMEM;
	pr_info("etcd: reading upstreams and stream routes from %s%s under %s\n", c->hosts[0],
		c->nhosts > 1 ? " (and fail-over hosts)" : "", c->prefix);
	return 0;
}

/*
 * The file (at start or reloaded) and, with etcd, the objects from etcd:
 * with etcd's objects in hand, the new file is validated together with the
 * objects that run now before anything changes (settings, the etcd
 * connection); then etcd's own objects are tried again with the new file.
 */
static int adopt_file(struct xlb_agent *a, json_t *file_doc, struct xlb_conf *conf,
		      struct xlb_conf_errors *errs)
{
	struct xlb_conf merged = {};
	json_t *doc = NULL;
	int err;

	if (conf->etcd.enabled && a->etcd_have && a->doc) {
		doc = merge_doc(file_doc, json_object_get(a->doc, "upstreams"),
				json_object_get(a->doc, "stream_routes"));
		if (!doc)
			return -ENOMEM;
		err = doc_parse(doc, &merged, errs);
		if (err)
			goto out;
	}
	err = apply_settings(a, &conf->xlb);
	if (!err)
		err = etcd_sync(a, &conf->etcd);
	if (err)
		goto out;
	json_decref(a->file_doc);
	a->file_doc = json_incref(file_doc);
	if (doc) {
		err = adopt(a, doc, &merged);
		if (!err)
			etcd_apply(a);
	} else {
		err = adopt(a, file_doc, conf);
	}
out:
	xlb_conf_free(&merged);
	json_decref(doc);
	return err;
}

/* --- passive and kernel signals ---------------------------------------------- */

static const char *const evk_names[XLB_EVK_MAX] = {
	[XLB_EVK_NONE] = "none",
	[XLB_EVK_SYN_RETRANS] = "syn_retransmit",
	[XLB_EVK_CLIENT_RST] = "client_rst",
	[XLB_EVK_NODE_RST] = "node_rst",
	[XLB_EVK_NODE_OK] = "node_ok",
};
_Static_assert(XLB_EVK_NODE_OK + 1 == XLB_EVK_MAX, "name every enum xlb_event_kind value");

static const char *const nl_names[] = {
	[XLB_AGENT_NL_NEIGH] = "neigh_failed",
	[XLB_AGENT_NL_LINK] = "link_down",
	[XLB_AGENT_NL_ROUTE] = "no_route",
};

const char *xlb_event_kind_name(unsigned int k)
{
	return k < XLB_EVK_MAX ? evk_names[k] : "?";
}

const char *xlb_agent_nl_name(unsigned int k)
{
	return k < sizeof(nl_names) / sizeof(nl_names[0]) ? nl_names[k] : "?";
}

/* Report ev for node n on behalf of signal source src that happened at ts. */
static void node_signal(struct xlb_agent *a, struct agent_node *n, enum xlb_agent_src src,
			__u64 ts, enum xlb_health_event ev, const char *detail)
{
	a->sig_src = src;
	a->sig_ns = ts;
	xlb_target_report_with(a->checker, n->t, ev, detail, n->passive ? &n->passive_th : NULL);
	a->sig_src = -1;
}

/* What each kind of passive event means to the health state machine. */
static const enum xlb_health_event evk_events[XLB_EVK_MAX] = {
	[XLB_EVK_SYN_RETRANS] = XLB_EV_TIMEOUT,
	[XLB_EVK_CLIENT_RST] = XLB_EV_TCP_FAILURE,
	[XLB_EVK_NODE_RST] = XLB_EV_TCP_FAILURE,
	[XLB_EVK_NODE_OK] = XLB_EV_SUCCESS,
};

static const char *const evk_details[XLB_EVK_MAX] = {
	[XLB_EVK_NONE] = "?",
	[XLB_EVK_SYN_RETRANS] = "SYN retransmitted",
	[XLB_EVK_CLIENT_RST] = "bare RST from the client",
	[XLB_EVK_NODE_RST] = "RST from the node (NAT)",
	[XLB_EVK_NODE_OK] = "SYN-ACK from the node (NAT)",
};

/* One record of the xlb_events ring (libbpf's ring_buffer_sample_fn). */
static int on_passive_event(void *ctx, void *data, size_t size)
{
	const struct xlb_event *ev = data;
	struct xlb_agent *a = ctx;
	char client[XLB_ADDRSTRLEN], detail[160];
	struct agent_node *n;

	if (size < sizeof(*ev) || ev->kind == XLB_EVK_NONE || ev->kind >= XLB_EVK_MAX)
		return 0;	/* a newer data plane's record: not ours */
	a->st.passive_events[ev->kind]++;
	n = ev->backend_id < XLB_MAX_BACKENDS && a->by_id ? a->by_id[ev->backend_id] : NULL;
	if (!n || !n->passive) {
		a->st.passive_ignored++;
		return 0;
	}
	xlb_addr_str(ev->saddr, ev->family, client, sizeof(client));
	snprintf(detail, sizeof(detail), "passive: %s, client %s port %u, %.1f s after the SYN",
		 evk_details[ev->kind], client, ntohs(ev->sport), ev->flow_age_ns / 1e9);
	pr_debug("passive: node=%s kind=%s client=%s port=%u flow_age_ms=%llu\n", n->label,
		 evk_names[ev->kind], client, ntohs(ev->sport),
		 (unsigned long long)(ev->flow_age_ns / 1000000));
	node_signal(a, n, XLB_AGENT_SRC_PASSIVE, ev->ts_ns, evk_events[ev->kind], detail);
	return 0;
}

static void on_ring_ready(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_agent *a = arg;
	int err = ring_buffer__consume(a->rb);

	if (err < 0)
		pr_warn("passive: reading xlb_events: %s\n", strerror(-err));
}

static int passive_open(struct xlb_agent *a)
{
	int err;

	a->rb = ring_buffer__new(bpf_map__fd(a->maps.skel->maps.xlb_events), on_passive_event, a,
				 NULL);
	if (!a->rb)
		return -errno;
	a->rb_ev = event_new(a->base, ring_buffer__epoll_fd(a->rb), EV_READ | EV_PERSIST,
			     on_ring_ready, a);
	if (!a->rb_ev || event_add(a->rb_ev, NULL))
		return -ENOMEM;
	err = ring_buffer__consume(a->rb);	/* what came before we listened */
	return err < 0 ? err : 0;
}

/* A NAT connection died waiting for its node's SYN-ACK: a timeout. */
static void on_nat_timeout(const struct xlb_nat_rev *r, void *arg)
{
	struct xlb_agent *a = arg;
	struct agent_node *n;
	char client[XLB_ADDRSTRLEN], detail[160];

	a->st.nat_syn_timeouts++;
	n = r->backend_id < XLB_MAX_BACKENDS && a->by_id ? a->by_id[r->backend_id] : NULL;
	if (!n || !n->passive)
		return;
	xlb_addr_str(r->client.saddr, r->client.family, client, sizeof(client));
	snprintf(detail, sizeof(detail), "passive: no SYN-ACK (NAT), client %s port %u",
		 client, ntohs(r->client.sport));
	node_signal(a, n, XLB_AGENT_SRC_PASSIVE, now_ns(), XLB_EV_TIMEOUT, detail);
}

static void on_nat_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_agent *a = arg;
	struct xlb_nat_sweep sw;
	int err;

	err = xlb_nat_sweep(&a->maps, xlb_now_coarse_ns(), on_nat_timeout, a, &sw);
	if (err) {
		pr_warn("nat: sweep: %s\n", strerror(-err));
		return;
	}
	a->st.nat_sweeps++;
	a->st.nat_reclaimed += sw.dead;
	a->st.nat_live = sw.live;
	if (sw.dead)
		pr_debug("nat: swept %llu dead connections (%llu without SYN-ACK), %llu live\n",
			 (unsigned long long)sw.dead, (unsigned long long)sw.syn_timeouts,
			 (unsigned long long)sw.live);
}

static int nat_sweep_start(struct xlb_agent *a)
{
	struct timeval tv = { .tv_sec = XLB_AGENT_NAT_SWEEP_S };

	a->nat_ev = event_new(a->base, -1, EV_PERSIST, on_nat_sweep, a);
	if (!a->nat_ev || event_add(a->nat_ev, &tv))
		return -ENOMEM;
	return 0;
}

static void nl_report(struct xlb_agent *a, struct agent_node *n, enum xlb_agent_nl kind,
		      __u64 ts, const char *detail)
{
	char ups[256];

	a->st.netlink_failures[kind]++;
	node_upstreams(a, n, ups, sizeof(ups));
	pr_info("netlink: node=%s upstream=%s kind=%s reason=\"%s\"\n", n->label, ups,
		nl_names[kind], detail);
	/* Evidence, not opinion: when this takes the node out, its flows move. */
	n->unreachable = 1;
	node_signal(a, n, XLB_AGENT_SRC_NETLINK, ts, XLB_EV_TCP_FAILURE, detail);
}

/* Whether addr lies in prefix/plen (same family). */
static int in_prefix(const struct xlb_addr_key *addr, const struct xlb_addr_key *prefix,
		     unsigned int plen)
{
	const __u8 *x = (const __u8 *)addr->addr, *p = (const __u8 *)prefix->addr;
	unsigned int i, bits = addr->family == XLB_AF_INET ? 32 : 128;

	if (addr->family != prefix->family || plen > bits)
		return 0;
	for (i = 0; i < plen / 8; i++)
		if (x[i] != p[i])
			return 0;
	return plen % 8 ? !((x[i] ^ p[i]) & (0xff00 >> (plen % 8))) : 1;
}

/* Ask the kernel again for n's route: a failure only when it is gone. */
static void node_route_check(struct xlb_agent *a, struct agent_node *n, __u64 ts)
{
	char addr[XLB_ADDRSTRLEN], detail[160];
	struct xlb_addr_key nh;
	int ifindex, err;

	err = xlb_nl_route_get(&n->addr, &nh, &ifindex);
	if (!err) {
		if (!n->nh_ok || n->nh_ifindex != ifindex || memcmp(nh.addr, n->nh.addr, 16)) {
			xlb_addr_str(nh.addr, nh.family, addr, sizeof(addr));
			pr_info("netlink: node=%s route now via %s ifindex %d\n", n->label, addr,
				ifindex);
		}
		n->nh = nh;
		n->nh_ifindex = ifindex;
		n->nh_ok = 1;
		return;
	}
	if (!n->nh_ok)
		return;		/* already without a route: reported then */
	n->nh_ok = 0;
	snprintf(detail, sizeof(detail), "no route to the node any more (%s)", strerror(-err));
	nl_report(a, n, XLB_AGENT_NL_ROUTE, ts, detail);
}

static void on_nl_signal(const struct xlb_nl_signal *s, void *arg)
{
	struct xlb_agent *a = arg;
	char addr[XLB_ADDRSTRLEN], detail[160];
	struct agent_node *n;
	__u64 ts = now_ns();
	size_t i;

	/* The callbacks below may change health, never the node list. */
	for (i = 0; i < a->nnodes; i++) {
		n = a->nodes[i];
		switch (s->kind) {
		case XLB_NL_NEIGH_FAILED:
			if (!n->nh_ok || n->nh.family != s->addr.family ||
			    memcmp(n->nh.addr, s->addr.addr, 16) || n->nh_ifindex != s->ifindex)
				break;
			xlb_addr_str(s->addr.addr, s->addr.family, addr, sizeof(addr));
			snprintf(detail, sizeof(detail), "neighbour %s failed (ifindex %d)", addr,
				 s->ifindex);
			nl_report(a, n, XLB_AGENT_NL_NEIGH, ts, detail);
			break;
		case XLB_NL_LINK:
			if (!n->nh_ok || n->nh_ifindex != s->ifindex)
				break;
			if (s->up) {
				n->link_down = 0;
				break;
			}
			if (n->link_down)
				break;	/* one failure per down edge */
			n->link_down = 1;
			snprintf(detail, sizeof(detail), "link %s (ifindex %d) down",
				 s->ifname[0] ? s->ifname : "?", s->ifindex);
			nl_report(a, n, XLB_AGENT_NL_LINK, ts, detail);
			break;
		case XLB_NL_ROUTE_DEL:
			if (in_prefix(&n->addr, &s->addr, s->plen))
				node_route_check(a, n, ts);
			break;
		case XLB_NL_OVERRUN:
			node_route_check(a, n, ts);
			break;
		default:
			break;
		}
	}
	if (s->kind == XLB_NL_OVERRUN) {
		a->st.netlink_overruns++;
		pr_warn("netlink: signals lost (receive buffer full): routes re-checked\n");
	}
}

static void on_nl_ready(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_agent *a = arg;
	int err = xlb_nlmon_read(a->nlmon);

	if (err)
		pr_warn("netlink: reading signals: %s\n", strerror(-err));
}

static int netlink_open(struct xlb_agent *a)
{
	a->nlmon = xlb_nlmon_new(on_nl_signal, a);
	if (!a->nlmon)
		return -errno;
	a->nl_ev = event_new(a->base, xlb_nlmon_fd(a->nlmon), EV_READ | EV_PERSIST, on_nl_ready, a);
	if (!a->nl_ev || event_add(a->nl_ev, NULL))
		return -ENOMEM;
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

void xlb_agent_signal_latency(struct xlb_agent *a, enum xlb_agent_src src, unsigned long *n,
			      double *p50, double *p99, double *max)
{
	double v[LAT_SAMPLES];
	size_t k;

	*n = (unsigned int)src < XLB_AGENT_SRC_MAX ? a->nlat[src] : 0;
	if (!*n)
		return;
	k = *n < LAT_SAMPLES ? *n : LAT_SAMPLES;
	memcpy(v, a->lat_us[src], k * sizeof(v[0]));
	qsort(v, k, sizeof(v[0]), cmp_double);
	*p50 = v[(k - 1) / 2] / 1e6;
	*p99 = v[(k - 1) * 99 / 100] / 1e6;
	*max = v[k - 1] / 1e6;
}

/* --- data plane --------------------------------------------------------------- */

/* The NAT part of the fast path's settings, from the configuration. */
static int nat_settings(const struct xlb_settings *s, struct xlb_config *cfg, char *err,
			size_t errlen)
{
	cfg->nat_src4 = 0;
	memset(cfg->nat_src6, 0, sizeof(cfg->nat_src6));
	if (s->nat_src[0] && xlb_nat_src_parse(s->nat_src, 4, cfg, err, errlen))
		return -EINVAL;
	if (s->nat_src6[0] && xlb_nat_src_parse(s->nat_src6, 6, cfg, err, errlen))
		return -EINVAL;
	cfg->nat_port_min = s->nat_port_min;
	cfg->nat_port_max = s->nat_port_max;
	cfg->nat_tmo_syn = s->nat_timeout_syn;
	cfg->nat_tmo_established = s->nat_timeout_established;
	cfg->nat_tmo_closing = s->nat_timeout_closing;
	cfg->nat_tmo_udp = s->nat_timeout_udp;
	return 0;
}

/*
 * The xlb settings the fast path reads (forwarding method, hash seed, NAT
 * addresses, ports and timeouts) into the pinned config, at start and on
 * every reload; other fields (the drain flag, encapsulation sources) stay.
 */
static int apply_settings(struct xlb_agent *a, const struct xlb_settings *s)
{
	struct xlb_config cfg, old;
	char err_s[256];
	int err, lock;

	if (!a->maps_open)
		return 0;
	err = xlb_config_get(&a->maps, &cfg);
	if (err)
		return err;
	old = cfg;
	if (s->hash_seed && cfg.hash_seed != s->hash_seed)
		pr_warn("hash seed changes from %u to %u: new flows will hash differently\n",
			cfg.hash_seed, s->hash_seed);
	cfg.forward = s->forward;
	if (s->hash_seed)
		cfg.hash_seed = s->hash_seed;
	err = nat_settings(s, &cfg, err_s, sizeof(err_s));
	if (err) {
		pr_warn("%s\n", err_s);
		return err;
	}
	if ((s->nat_src[0] || s->nat_src6[0]) &&
	    xlb_nat_ports_overlap(cfg.nat_port_min, cfg.nat_port_max, err_s, sizeof(err_s)))
		pr_warn("%s\n", err_s);
	if (!memcmp(&old, &cfg, sizeof(cfg)))
		return 0;
	lock = xlb_pin_dir_lock(a->pin_dir);
	if (lock < 0)
		return lock;
	/* Re-read under the lock: xlb drain may have changed the flags. */
	if (!xlb_config_get(&a->maps, &old))
		cfg.flags = old.flags;
	err = xlb_config_set(&a->maps, &cfg);
	close(lock);
	if (!err)
		pr_info("fast-path settings written (forward, hash seed, NAT)\n");
	return err;
}

static int setup_data_plane(struct xlb_agent *a)
{
	const struct xlb_settings *s = &a->conf.xlb;
	struct xlb_lb_setup su = {
		.mode = s->generic_mode ? XDP_MODE_SKB : XDP_MODE_NATIVE,
		.forward = s->forward,
		.forward_set = 1,
		.encap_src = s->encap_src[0] ? s->encap_src : NULL,
		.encap_src6 = s->encap_src6[0] ? s->encap_src6 : NULL,
		.seed_set = !!s->hash_seed,
		.seed = s->hash_seed,
		.flows = s->flows,
		.nat_conns = s->nat_connections,
	};
	struct xlb_lb_notes notes;
	char err_s[512];
	unsigned int i;
	int err;

	for (i = 0; i < s->nifaces; i++) {
		su.ifname = s->interfaces[i];
		err = xlb_lb_attach_dev(a->pin_dir, &su, &notes, err_s, sizeof(err_s));
		if (err == -EEXIST) {
			pr_info("adopting xlb already attached to %s\n", su.ifname);
			continue;
		}
		if (err) {
			pr_warn("%s\n", err_s);
			return err;
		}
		pr_info("attached xlb to %s%s\n", su.ifname,
			notes.legacy ? " (plain attach: no libxdp dispatcher here)" : "");
	}
	err = xlb_maps_open(&a->maps, a->pin_dir, 0);
	if (err) {
		pr_warn("no xlb maps in %s: list xlb.interfaces in the configuration or run "
			"'xlb attach DEV' first\n", a->pin_dir);
		return err;
	}
	a->maps_open = 1;
	return apply_settings(a, s);
}

/* --- public ------------------------------------------------------------------- */

struct xlb_agent *xlb_agent_new(struct event_base *base, const char *conf_file,
				const char *pin_dir, struct xlb_conf_errors *errs)
{
	struct xlb_conf conf = {};
	struct xlb_agent *a;
	json_t *doc = NULL;
	int err;

	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->base = base;
	a->sig_src = -1;
	snprintf(a->conf_file, sizeof(a->conf_file), "%s", conf_file);
	snprintf(a->pin_dir, sizeof(a->pin_dir), "%s", pin_dir);
	err = load_file(conf_file, &doc, &conf, errs);
	if (err)
		goto out_free;
	a->conf = conf;		/* settings are needed before the first adopt */
	memset(&conf, 0, sizeof(conf));
	a->reconcile_ev = event_new(base, -1, 0, on_reconcile, a);
	a->disc_ev = event_new(base, -1, 0, on_disc_changed, a);
	a->checker = xlb_checker_new(base, on_health, a);
	a->by_id = calloc(XLB_MAX_BACKENDS, sizeof(*a->by_id));
	if (!a->reconcile_ev || !a->disc_ev || !a->checker || !a->by_id) {
		err = -ENOMEM;
		goto out_free;
	}
	err = setup_data_plane(a);
	if (err)
		goto out_free;
	/* Without them the agent still works, on active probes alone. */
	err = passive_open(a);
	if (err)
		pr_warn("passive: no events from the fast path: %s\n", strerror(-err));
	err = netlink_open(a);
	if (err)
		pr_warn("netlink: no kernel signals: %s\n", strerror(-err));
	err = nat_sweep_start(a);
	if (err)
		goto out_free;
	conf = a->conf;
	memset(&a->conf, 0, sizeof(a->conf));
	err = adopt_file(a, doc, &conf, errs);
	if (err)
		goto out_free;
	json_decref(doc);
	return a;

out_free:
	xlb_conf_free(&conf);
	json_decref(doc);
	xlb_agent_free(a);
	errno = -err;
	return NULL;
}

void xlb_agent_free(struct xlb_agent *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nnodes; i++) {
		xlb_checker_put(a->checker, a->nodes[i]->t);
		free(a->nodes[i]);
	}
	free(a->nodes);
	for (i = 0; i < a->nwatches; i++) {
		xlb_disc_watch_free(a->watches[i].w);
		free(a->watches[i].ident);
	}
	free(a->watches);
	xlb_disc_free(a->disc);
	xlb_etcd_free(a->etcd);
	json_decref(a->etcd_ups);
	json_decref(a->etcd_routes);
	json_decref(a->file_doc);
	free(a->etcd_problem);
	if (a->disc_ev)
		event_free(a->disc_ev);
	if (a->nat_ev)
		event_free(a->nat_ev);
	if (a->nl_ev)
		event_free(a->nl_ev);
	xlb_nlmon_free(a->nlmon);
	if (a->rb_ev)
		event_free(a->rb_ev);
	ring_buffer__free(a->rb);
	free(a->by_id);
	xlb_checker_free(a->checker);
	if (a->reconcile_ev)
		event_free(a->reconcile_ev);
	if (a->maps_open)
		xlb_maps_close(&a->maps);
	xlb_conf_free(&a->conf);
	json_decref(a->doc);
	free(a);
}

int xlb_agent_reload(struct xlb_agent *a, struct xlb_conf_errors *errs)
{
	struct xlb_conf conf = {};
	json_t *doc = NULL;
	int err;

	a->st.reloads++;
	err = load_file(a->conf_file, &doc, &conf, errs);
	if (!err)
		err = adopt_file(a, doc, &conf, errs);
	xlb_conf_free(&conf);
	json_decref(doc);
	if (err)
		a->st.reload_errors++;
	return err;
}

/* Index of the object with id in array arr, or -1. */
static void on_etcd_put(int err, const char *why, void *arg)
{
	if (err)
		pr_warn("etcd: writing an admin API edit failed: %s\n", why && *why ? why :
			strerror(-err));
}

int xlb_agent_put(struct xlb_agent *a, const char *kind, const char *id, json_t *obj,
		  struct xlb_conf_errors *errs)
{
	struct xlb_conf conf = {};
	json_t *doc;
	int err;

	memset(errs, 0, sizeof(*errs));
	doc = xlb_admin_doc_edit(a->doc, kind, id, obj, &err);
	if (!doc)
		return err;
	err = doc_parse(doc, &conf, errs);
	/*
	 * With etcd the edit is written there (and so persists); it comes back
	 * through the watch and is applied like any other etcd change.
	 */
	if (!err && a->etcd)
		err = xlb_etcd_put(a->etcd, kind, id, obj, on_etcd_put, a);
	else if (!err)
		err = adopt(a, doc, &conf);
	xlb_conf_free(&conf);
	json_decref(doc);
	return err;
}

json_t *xlb_agent_upstream_view(struct xlb_agent *a, const char *id)
{
	const struct xlb_upstream_conf *u = xlb_conf_upstream(&a->conf, id);
	struct agent_watch *aw;
	struct xlb_disc_status st = {};
	struct agent_node *n;
	char host[XLB_ADDRSTRLEN];
	json_t *v, *nodes, *disc = NULL;
	size_t i;

	if (!u)
		return NULL;
	aw = u->discovery_type[0] ? find_watch(a->watches, a->nwatches, u->id) : NULL;
	if (aw) {
		xlb_disc_watch_status(aw->w, &st);
		disc = json_pack("{s:s, s:s, s:b, s:f, s:f, s:I, s:I, s:I, s:s?}", "type",
				 u->discovery_type, "service_name", u->service_name, "answered",
				 st.have_answer, "confirmed", st.confirmed, "changed", st.changed,
				 "answers", (json_int_t)st.answers, "errors", (json_int_t)st.errors, "changes",
				 (json_int_t)st.changes, "error", st.error[0] ? st.error : NULL);
	}
	nodes = json_array();
	for (i = 0; nodes && i < u->nnodes; i++) {
		n = find_node(a->nodes, a->nnodes, &u->nodes[i].addr, u->nodes[i].port);
		xlb_addr_str(u->nodes[i].addr.addr, u->nodes[i].addr.family, host, sizeof(host));
		json_array_append_new(nodes, json_pack(
			"{s:s, s:i, s:I, s:i, s:s, s:f, s:s}", "host", host, "port",
			u->nodes[i].port, "weight", (json_int_t)u->nodes[i].weight, "priority",
			u->nodes[i].priority, "source", aw ? u->discovery_type : "config",
			/* a static node is confirmed by the configuration that lists it */
			"confirmed", aw ? st.confirmed : a->loaded, "health",
			n ? xlb_health_name(xlb_target_state(n->t)) : "unknown"));
	}
	v = json_pack("{s:s, s:o, s:o}", "id", u->id, "discovery", disc ? disc : json_null(),
		      "nodes", nodes);
	return v;
}

const char *xlb_agent_conf_file(struct xlb_agent *a)
{
	return a->conf_file;
}

json_t *xlb_agent_doc(struct xlb_agent *a)
{
	return a->doc;
}

const struct xlb_conf *xlb_agent_conf(struct xlb_agent *a)
{
	return &a->conf;
}

struct xlb_checker *xlb_agent_checker(struct xlb_agent *a)
{
	return a->checker;
}

struct xlb_disc *xlb_agent_disc(struct xlb_agent *a)
{
	return a->disc;
}

struct xlb_etcd *xlb_agent_etcd(struct xlb_agent *a, unsigned long *rejects)
{
	if (rejects)
		*rejects = a->etcd_rejects;
	return a->etcd;
}

struct xlb_maps *xlb_agent_maps(struct xlb_agent *a)
{
	return &a->maps;
}

const struct xlb_agent_stats *xlb_agent_stats(struct xlb_agent *a)
{
	return &a->st;
}

int xlb_agent_foreach_node(struct xlb_agent *a, xlb_agent_node_cb cb, void *arg)
{
	size_t i;
	int err;

	for (i = 0; i < a->nnodes; i++) {
		err = cb(a->nodes[i]->label, a->nodes[i]->t, a->nodes[i]->be_id, arg);
		if (err)
			return err;
	}
	return 0;
}
