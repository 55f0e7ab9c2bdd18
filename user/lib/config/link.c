/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Building the model, then linking it: the root table's check
 * (xlb_conf_build) runs once every top-level key has been seen.
 *
 * Order. Upstreams are parsed first, then stream routes (an inline upstream
 * becomes the upstream "route:<route id>"; ':' is not allowed in ids, so
 * the name cannot collide), then everything that relates objects: unique
 * ids, dangling upstream_id, a route's protocol from its upstream's
 * scheme, unique VIPs, IPv6 VIPs with IPv4 nodes, and forwarding (NAT
 * needs nat_src of the VIP's family and nodes of that family). Duplicate
 * checks sort, so 10k routes and 100k nodes stay fast. Problems that
 * follow from another (an upstream that failed to parse, used by a route)
 * are not reported twice.
 *
 * A file cut short must not remove every VIP: a document without
 * stream_routes is an error (no routes is written "stream_routes: []"),
 * except with deployment.etcd, where the routes come from etcd. At most
 * 65536 upstreams and XLB_MAX_VIPS stream routes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/addr.h"
#include "config/patch.h"
#include "config/tables.h"

#define UPSTREAMS_MAX	    65536
#define ROUTES_MAX	    XLB_MAX_VIPS
/* An inline upstream's id: "route:" + the route's id, in XLB_ID_LEN. */
#define INLINE_PREFIX	    "route:"
#define ROUTE_ID_INLINE_MAX (XLB_ID_LEN - sizeof(INLINE_PREFIX))

/* --- building the model: upstreams, routes, then what relates them -------- */

static void parse_upstream(struct parser *p, yaml_node_t *n, size_t i)
{
	struct xlb_upstream_conf *u = &p->conf->upstreams[p->conf->nupstreams];
	struct item *it = &p->ups[p->conf->nupstreams++];
	size_t before = p->errs->n;
	char path[PATH_LEN];

	xlb_schema_path_fmt(path, "upstreams[%zu]", i);
	it->node = n;
	u->line = line_of(n);
	xlb_schema_defaults(&xlb_conf_upstream_table, u);
	xlb_schema_parse_object(p, &xlb_conf_upstream_table, n, u, path);
	if (n->type == YAML_MAPPING_NODE && !xlb_schema_map_find(p, n, "id", NULL))
		xlb_schema_report(p, n, path, "missing key 'id'");
	it->ok = p->errs->n == before;
}

/* A route's inline upstream, named "route:<route id>". */
static void parse_inline_upstream(struct parser *p, struct xlb_route_conf *r, yaml_node_t *rn,
				  const char *path)
{
	struct xlb_upstream_conf *u = &p->conf->upstreams[p->conf->nupstreams];
	struct item *it = &p->ups[p->conf->nupstreams++];
	size_t before = p->errs->n;
	char upath[PATH_LEN];
	yaml_node_t *kn = NULL;

	xlb_schema_path_key(upath, path, "upstream");
	it->node = p->inline_up;
	u->line = line_of(p->inline_up);
	xlb_schema_defaults(&xlb_conf_upstream_table, u);
	xlb_schema_parse_object(p, &xlb_conf_upstream_table, p->inline_up, u, upath);
	if (xlb_schema_map_find(p, p->inline_up, "id", &kn))
		xlb_schema_report(p, kn, upath,
				  "an inline upstream has no id (it is named 'route:<route "
				  "id>'); use upstream_id to share an upstream");
	memset(u->id, 0, sizeof(u->id));
	if (strlen(r->id) > ROUTE_ID_INLINE_MAX) {
		xlb_schema_path_key(upath, path, "id");
		xlb_schema_report(p, xlb_schema_map_find(p, rn, "id", NULL), upath,
				  "must be at most %zu characters "
				  "when the route has an inline upstream (named 'route:<id>')",
				  ROUTE_ID_INLINE_MAX);
	} else if (r->id[0]) {
		xlb_schema_path_fmt(u->id, INLINE_PREFIX "%s", r->id);
	}
	if (!xlb_schema_map_find(p, rn, "upstream_id", NULL))
		memcpy(r->upstream_id, u->id, sizeof(r->upstream_id));
	it->ok = p->errs->n == before;
}

static void parse_route(struct parser *p, yaml_node_t *n, size_t i)
{
	struct xlb_route_conf *r = &p->conf->routes[p->conf->nroutes];
	struct item *it = &p->rts[p->conf->nroutes++];
	size_t before = p->errs->n;
	char path[PATH_LEN];

	xlb_schema_path_fmt(path, "stream_routes[%zu]", i);
	it->node = n;
	r->line = line_of(n);
	p->inline_up = NULL;
	xlb_schema_defaults(&xlb_conf_route_table, r);
	xlb_schema_parse_object(p, &xlb_conf_route_table, n, r, path);
	if (p->inline_up)
		parse_inline_upstream(p, r, n, path);
	it->ok = p->errs->n == before;
}

/* An id and the index of the object that has it. */
struct ent {
	const char *id;
	size_t i;
};

static int cmp_ent(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int d = strcmp(x->id, y->id);

	return d ? d : (x->i > y->i) - (x->i < y->i);
}

static int cmp_id_ent(const void *key, const void *b)
{
	return strcmp(key, ((const struct ent *)b)->id);
}

/* Sorts e by id; reports each object whose id an earlier one has. */
static void dup_ids(struct parser *p, struct ent *e, size_t n, const struct item *items,
		    const char *list)
{
	char path[PATH_LEN];
	size_t i, first = 0;

	qsort(e, n, sizeof(*e), cmp_ent);
	for (i = 1; i < n; i++) {
		if (strcmp(e[i].id, e[first].id)) {
			first = i;
			continue;
		}
		xlb_schema_path_fmt(path, "%s[%zu].id", list, e[i].i);
		xlb_schema_report(
			p, xlb_schema_map_find(p, items[e[i].i].node, "id", NULL), path,
			"duplicate id '%s' (first at line %u)", e[i].id,
			line_of(xlb_schema_map_find(p, items[e[first].i].node, "id", NULL)));
	}
}

static const char *fwd_name(__u32 f)
{
	return f == XLB_FWD_NAT	  ? "nat"
	       : f == XLB_FWD_L2  ? "l2"
	       : f == XLB_FWD_GUE ? "gue"
				  : "ipip";
}

/*
 * A route's forwarding: direct return is one method for the whole data
 * plane (xlb.forward), NAT may be chosen per upstream. A NAT route needs
 * the LB's address of its VIP's family and nodes of that family (no
 * translation between IPv4 and IPv6). Returns 1 when it reported.
 */
static int link_route_nat(struct parser *p, struct xlb_route_conf *r,
			  const struct xlb_upstream_conf *u, yaml_node_t *where, const char *path)
{
	const struct xlb_settings *s = &p->conf->xlb;
	const char *nat = r->vip.family == XLB_AF_INET ? s->nat_src : s->nat_src6;
	char vip[XLB_VIPSTRLEN], nd[XLB_VIPSTRLEN];
	struct xlb_addr_key na;
	size_t i;

	/*
	 * Nodes answer NAT connections at nat_src:PORT; were nat_src a VIP's
	 * address, those answers would be taken for new clients of the VIP.
	 */
	if (nat[0] && !xlb_addr_parse(nat, &na, NULL, 0) && na.family == r->vip.family &&
	    !memcmp(na.addr, r->vip.addr, sizeof(na.addr))) {
		xlb_schema_report(
			p, where, path,
			"server_addr %s is also xlb.%s: nodes' replies to NAT "
			"connections would be taken for this VIP's clients; give NAT another "
			"address",
			nat, r->vip.family == XLB_AF_INET ? "nat_src" : "nat_src6");
		return 1;
	}
	/* NAT and GUE are per VIP; IPIP and L2 the node's. */
	if (u->forward && u->forward != XLB_FWD_NAT + 1 && u->forward != XLB_FWD_GUE + 1 &&
	    s->forward != u->forward - 1) {
		xlb_schema_report(
			p, where, path,
			"upstream '%s' (line %u) has forward %s but xlb.forward is "
			"%s: direct return is one method for all; set forward: nat on the "
			"upstreams to translate and xlb.forward to ipip or l2",
			u->id, u->line, fwd_name(u->forward - 1), fwd_name(s->forward));
		return 1;
	}
	if (xlb_conf_upstream_stateless(p->conf, u) && !xlb_conf_upstream_gue(p->conf, u)) {
		xlb_schema_report(
			p, where, path,
			"upstream '%s' (line %u) has flow_state stateless but forwards by %s: "
			"without flow entries, connections follow a table change only through "
			"GUE's hops; set forward: gue (IPIP has no room for hops, NAT and L2 "
			"keep flow entries)",
			u->id, u->line, fwd_name(u->forward ? u->forward - 1 : s->forward));
		return 1;
	}
	if (!xlb_conf_upstream_nat(p->conf, u))
		return 0;
	if (!(r->vip.family == XLB_AF_INET ? s->nat_src : s->nat_src6)[0]) {
		xlb_schema_report(p, where, path,
				  "upstream '%s' (line %u) forwards by NAT: set xlb.%s (the "
				  "LB's IPv%d address the nodes send their replies to)",
				  u->id, u->line,
				  r->vip.family == XLB_AF_INET ? "nat_src" : "nat_src6",
				  r->vip.family);
		return 1;
	}
	for (i = 0; i < u->nnodes && u->nodes[i].addr.family == r->vip.family; i++)
		;
	if (i == u->nnodes)
		return 0;
	xlb_schema_report(
		p, where, path,
		"NAT from IPv%d VIP %s to node %s of upstream '%s' (line %u): "
		"NAT does not translate between IPv4 and IPv6; use nodes of the VIP's family",
		r->vip.family, xlb_vip_str(&r->vip, vip, sizeof(vip)),
		xlb_conf_node_str(&u->nodes[i], nd, sizeof(nd)), u->id, u->line);
	return 1;
}

/* Forwarding, and IPv6 VIPs need IPv6 nodes: 1 when it reported. */
static int link_checks(struct parser *p, struct xlb_route_conf *r,
		       const struct xlb_upstream_conf *u, yaml_node_t *where, const char *path)
{
	char vip[XLB_VIPSTRLEN], nd[XLB_VIPSTRLEN];
	size_t i;

	if (link_route_nat(p, r, u, where, path) || r->vip.family != XLB_AF_INET6)
		return 0;
	for (i = 0; i < u->nnodes && u->nodes[i].addr.family != XLB_AF_INET; i++)
		;
	if (i == u->nnodes)
		return 0;
	xlb_schema_report(p, where, path,
			  "IPv6 VIP %s needs IPv6 nodes: upstream '%s' (line %u) has %s",
			  xlb_vip_str(&r->vip, vip, sizeof(vip)), u->id, u->line,
			  xlb_conf_node_str(&u->nodes[i], nd, sizeof(nd)));
	return 1;
}

/* The route's upstream exists; its protocol; link_checks(). */
static void link_route(struct parser *p, size_t j, const struct ent *ups, size_t nups)
{
	struct xlb_route_conf *r = &p->conf->routes[j];
	struct item *it = &p->rts[j];
	const struct xlb_upstream_conf *u;
	char path[PATH_LEN];
	yaml_node_t *where, *kn = NULL;
	const struct ent *e;

	if (!r->upstream_id[0])
		return;
	where = xlb_schema_map_find(p, it->node, "upstream_id", NULL);
	xlb_schema_path_fmt(path, "stream_routes[%zu].%s", j, where ? "upstream_id" : "upstream");
	if (!where && xlb_schema_map_find(p, it->node, "upstream", &kn))
		where = kn;
	e = bsearch(r->upstream_id, ups, nups, sizeof(*ups), cmp_id_ent);
	if (!e) {
		xlb_schema_report(p, where, path,
				  "dangling upstream_id '%s': no upstream has this id",
				  r->upstream_id);
		it->ok = 0;
		return;
	}
	u = &p->conf->upstreams[e->i];
	if (!r->vip.proto)
		r->vip.proto = u->proto;
	if (!it->ok || !p->ups[e->i].ok)
		return;
	if (link_checks(p, r, u, where, path))
		it->ok = 0;
}

/*
 * A route's VIP: its address, port and protocol, and its client filter
 * (remote_addr): routes on one address for different clients are distinct
 * VIPs, as APISIX's stream routes that differ only by remote_addr.
 */
struct vip_ent {
	const struct xlb_route_conf *r;
	size_t i;
};

/* Routes' VIPs in order: address, port, protocol, then client filter. */
static int route_vip_cmp(const struct xlb_route_conf *x, const struct xlb_route_conf *y)
{
	int d = memcmp(&x->vip, &y->vip, sizeof(x->vip));

	if (!d)
		d = (x->remote.family > y->remote.family) - (x->remote.family < y->remote.family);
	if (!d && x->remote.family)
		d = memcmp(x->remote.addr, y->remote.addr, sizeof(x->remote.addr));
	if (!d && x->remote.family)
		d = (x->remote_plen > y->remote_plen) - (x->remote_plen < y->remote_plen);
	return d;
}

static int vip_ent_key(const struct vip_ent *x, const struct vip_ent *y)
{
	return route_vip_cmp(x->r, y->r);
}

static int cmp_vip_ent(const void *a, const void *b)
{
	const struct vip_ent *x = a, *y = b;
	int d = vip_ent_key(x, y);

	return d ? d : (x->i > y->i) - (x->i < y->i);
}

static void dup_vips(struct parser *p, struct vip_ent *v, size_t n)
{
	const struct xlb_route_conf *r = p->conf->routes;
	char path[PATH_LEN], buf[XLB_VIPSTRLEN], cl[XLB_ADDRSTRLEN + 32], a[XLB_ADDRSTRLEN];
	size_t i, first = 0;

	qsort(v, n, sizeof(*v), cmp_vip_ent);
	for (i = 1; i < n; i++) {
		if (vip_ent_key(&v[i], &v[first])) {
			first = i;
			continue;
		}
		cl[0] = 0;
		if (v[i].r->remote.family)
			snprintf(cl, sizeof(cl), " for clients %s/%u",
				 xlb_addr_str(v[i].r->remote.addr, v[i].r->remote.family, a,
					      sizeof(a)),
				 v[i].r->remote_plen);
		xlb_schema_path_fmt(path, "stream_routes[%zu].server_addr", v[i].i);
		xlb_schema_report(
			p, xlb_schema_map_find(p, p->rts[v[i].i].node, "server_addr", NULL), path,
			"duplicate VIP %s%s: stream routes '%s' (line %u) and '%s' (line %u)",
			xlb_vip_str(&v[i].r->vip, buf, sizeof(buf)), cl, r[v[first].i].id,
			r[v[first].i].line, r[v[i].i].id, r[v[i].i].line);
	}
}

static void relate(struct parser *p, size_t ntop)
{
	struct xlb_conf *c = p->conf;
	size_t n = c->nupstreams > c->nroutes ? c->nupstreams : c->nroutes, m, i;
	struct vip_ent *v = NULL;
	struct ent *e = NULL;

	if (!n)
		return;
	e = calloc(n, sizeof(*e));
	v = calloc(n, sizeof(*v));
	if (!e || !v) {
		p->err = -ENOMEM;
		goto out_free;
	}
	for (i = 0, m = 0; i < ntop; i++)
		if (c->upstreams[i].id[0])
			e[m++] = (struct ent){c->upstreams[i].id, i};
	dup_ids(p, e, m, p->ups, "upstreams");
	for (i = 0, m = 0; i < c->nroutes; i++)
		if (c->routes[i].id[0])
			e[m++] = (struct ent){c->routes[i].id, i};
	dup_ids(p, e, m, p->rts, "stream_routes");

	/* Every upstream by id, for the routes' references. */
	for (i = 0, m = 0; i < c->nupstreams; i++)
		if (c->upstreams[i].id[0])
			e[m++] = (struct ent){c->upstreams[i].id, i};
	qsort(e, m, sizeof(*e), cmp_ent);
	for (i = 0; i < c->nroutes; i++)
		link_route(p, i, e, m);

	for (i = 0, m = 0; i < c->nroutes; i++)
		if (p->rts[i].ok)
			v[m++] = (struct vip_ent){&c->routes[i], i};
	dup_vips(p, v, m);
out_free:
	free(v);
	free(e);
}

/* A top-level list: its length, or 0 after reporting why it is unusable. */
static size_t list_len(struct parser *p, yaml_node_t *n, const char *name, size_t max)
{
	if (!n)
		return 0;
	if (n->type == YAML_SCALAR_NODE && xlb_schema_node_kind(n) == SK_NULL) {
		xlb_schema_report(p, n, name, "must be a list, not empty (write [] for none)");
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		xlb_schema_report(p, n, name, "must be a list");
		return 0;
	}
	if (seq_len(n) > max) {
		xlb_schema_report(p, n, name, "must have at most %zu entries", max);
		return 0;
	}
	return seq_len(n);
}

/* The root table's check: runs once every top-level key has been seen. */
void xlb_conf_build(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	struct xlb_conf *c = p->conf;
	size_t nup, nrt, i;

	/*
	 * No routes must be written as such: a file cut short before its
	 * stream_routes (saved half-way, a full disk) would otherwise remove
	 * every VIP. With etcd the routes come from etcd, not from the file.
	 */
	if (!p->routes && !c->etcd.enabled)
		xlb_schema_report(p, n, path,
				  "missing key 'stream_routes' (write 'stream_routes: []' to "
				  "run without routes; a file cut short must not remove them all)");
	nup = list_len(p, p->upstreams, "upstreams", UPSTREAMS_MAX);
	nrt = list_len(p, p->routes, "stream_routes", ROUTES_MAX);
	if (nup + nrt) {
		c->upstreams = calloc(nup + nrt, sizeof(*c->upstreams));
		p->ups = calloc(nup + nrt, sizeof(*p->ups));
		if (!c->upstreams || !p->ups) {
			p->err = -ENOMEM;
			return;
		}
	}
	if (nrt) {
		c->routes = calloc(nrt, sizeof(*c->routes));
		p->rts = calloc(nrt, sizeof(*p->rts));
		if (!c->routes || !p->rts) {
			p->err = -ENOMEM;
			return;
		}
	}
	for (i = 0; i < nup && !p->err; i++)
		parse_upstream(p, node_at(p, p->upstreams->data.sequence.items.start[i]), i);
	for (i = 0; i < nrt && !p->err; i++)
		parse_route(p, node_at(p, p->routes->data.sequence.items.start[i]), i);
	if (!p->err)
		relate(p, nup);
}

/* --- a run of items parsed again (patch.c) ----------------------------------- */

static void run_upstreams(struct parser *p, size_t first, yaml_node_t *seq,
			  struct xlb_upstream_conf *ups)
{
	char path[PATH_LEN];
	yaml_node_t *n;
	size_t i, k = seq ? seq_len(seq) : 0;

	for (i = 0; i < k && !p->err; i++) {
		n = node_at(p, seq->data.sequence.items.start[i]);
		xlb_schema_path_fmt(path, "upstreams[%zu]", first + i);
		ups[i].line = line_of(n);
		xlb_schema_defaults(&xlb_conf_upstream_table, &ups[i]);
		xlb_schema_parse_object(p, &xlb_conf_upstream_table, n, &ups[i], path);
		if (n->type == YAML_MAPPING_NODE && !xlb_schema_map_find(p, n, "id", NULL))
			xlb_schema_report(p, n, path, "missing key 'id'");
	}
}

/* 0, or -EAGAIN for an inline upstream: it is an item of the upstreams, a full parse. */
static int run_routes(struct parser *p, size_t first, yaml_node_t *seq, struct xlb_route_conf *rts)
{
	char path[PATH_LEN];
	yaml_node_t *n;
	size_t i, k = seq ? seq_len(seq) : 0;

	for (i = 0; i < k && !p->err; i++) {
		n = node_at(p, seq->data.sequence.items.start[i]);
		xlb_schema_path_fmt(path, "stream_routes[%zu]", first + i);
		rts[i].line = line_of(n);
		p->inline_up = NULL;
		xlb_schema_defaults(&xlb_conf_route_table, &rts[i]);
		xlb_schema_parse_object(p, &xlb_conf_route_table, n, &rts[i], path);
		if (p->inline_up)
			return -EAGAIN;
	}
	return 0;
}

int xlb_conf_parse_run(const struct xlb_conf *conf, int list, size_t first, yaml_document_t *doc,
		       yaml_node_t *seq, size_t nodes, size_t room, void **items)
{
	struct xlb_conf_errors *errs = calloc(1, sizeof(*errs));
	struct parser p = {
		.doc = doc, .errs = errs, .conf = (struct xlb_conf *)conf, .nodes = nodes};
	size_t i, k = seq ? seq_len(seq) : 0;
	struct xlb_upstream_conf *ups = NULL;
	void *arr;
	int err = 0;

	if (room < k)
		room = k;
	arr = list ? calloc(room + 1, sizeof(struct xlb_route_conf))
		   : calloc(room + 1, sizeof(struct xlb_upstream_conf));
	if (!errs || !arr) {
		free(errs);
		free(arr);
		return -ENOMEM;
	}
	if (list)
		err = run_routes(&p, first, seq, arr);
	else
		run_upstreams(&p, first, seq, ups = arr);
	if (!err)
		err = p.err ? p.err : errs->n ? -EAGAIN : 0;
	free(errs);
	if (!err) {
		*items = arr;
		return 0;
	}
	for (i = 0; ups && i < k; i++) {
		free(ups[i].nodes);
		free(ups[i].discovery_args);
	}
	free(arr);
	return err;
}

/* Index of the upstream id among the n in ups, or n. */
static size_t ups_index(const struct xlb_upstream_conf *ups, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n && strcmp(ups[i].id, id); i++)
		;
	return i;
}

/*
 * Upstreams [first, first + n) new, the nold in old gone: ids unique; an
 * id gone is no route's; an id kept keeps its protocol (the routes took
 * theirs from it); the routes of the new ones, link_checks().
 */
static void relate_upstreams(struct parser *p, struct xlb_conf *c, size_t first, size_t n,
			     const struct xlb_upstream_conf *old, size_t nold)
{
	const struct xlb_upstream_conf *u;
	char path[PATH_LEN];
	size_t i, j, k;

	for (k = first; k < first + n && !p->errs->n; k++) {
		u = &c->upstreams[k];
		for (i = 0; i < c->nupstreams; i++)
			if (i != k && !strcmp(c->upstreams[i].id, u->id))
				xlb_schema_report(p, NULL, "upstreams", "duplicate id");
		i = ups_index(old, nold, u->id);
		if (i < nold && old[i].proto != u->proto)
			p->err = -EAGAIN;
	}
	for (i = 0; i < nold && !p->errs->n; i++) {
		if (ups_index(&c->upstreams[first], n, old[i].id) < n)
			continue;
		for (j = 0; j < c->nroutes; j++)
			if (!strcmp(c->routes[j].upstream_id, old[i].id))
				xlb_schema_report(p, NULL, "stream_routes", "dangling upstream_id");
	}
	for (j = 0; j < c->nroutes && !p->errs->n; j++) {
		k = ups_index(&c->upstreams[first], n, c->routes[j].upstream_id);
		if (k == n)
			continue;
		xlb_schema_path_fmt(path, "stream_routes[%zu]", j);
		link_checks(p, &c->routes[j], &c->upstreams[first + k], NULL, path);
	}
}

/* Routes [first, first + n) new: ids and VIPs unique, upstreams that exist, link_checks(). */
static void relate_routes(struct parser *p, struct xlb_conf *c, size_t first, size_t n)
{
	const struct xlb_upstream_conf *u;
	struct xlb_route_conf *r;
	char path[PATH_LEN];
	size_t i, j;

	for (j = first; j < first + n && !p->errs->n; j++) {
		r = &c->routes[j];
		xlb_schema_path_fmt(path, "stream_routes[%zu]", j);
		u = r->upstream_id[0] ? xlb_conf_upstream(c, r->upstream_id) : NULL;
		if (!u) {
			xlb_schema_report(p, NULL, path, "dangling upstream_id");
			break;
		}
		if (!r->vip.proto)
			r->vip.proto = u->proto;
		link_checks(p, r, u, NULL, path);
		for (i = 0; i < c->nroutes && !p->errs->n; i++)
			if (i != j && (!route_vip_cmp(&c->routes[i], r) ||
				       (r->id[0] && !strcmp(c->routes[i].id, r->id))))
				xlb_schema_report(p, NULL, path, "duplicate VIP or id");
	}
}

int xlb_conf_relate_run(struct xlb_conf *c, int list, size_t first, size_t n, const void *old,
			size_t nold)
{
	struct xlb_conf_errors *errs = calloc(1, sizeof(*errs));
	struct parser p = {.errs = errs, .conf = c};
	int err;

	if (!errs)
		return -ENOMEM;
	if (list == XLB_LIST_UPSTREAMS)
		relate_upstreams(&p, c, first, n, old, nold);
	else
		relate_routes(&p, c, first, n);
	err = p.err ? p.err : errs->n ? -EAGAIN : 0;
	free(errs);
	return err;
}
