// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's desired state kept between reconciles (user/lib/agent/
 * desired.c): after each change of configuration or health, the partial
 * state it hands over, applied to a model of the maps, leaves what the
 * whole state built afresh would; and it lists only what the change
 * touches. The model: VIPs with their size, flags and members, backends
 * with their states; a partial state replaces the VIPs it lists, removes
 * those gone, sets the states of the backends it lists and drops the
 * backends no VIP holds any more (struct xlb_want's contract).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>

#include "agent/agent_int.h"
#include "base/addr.h"
#include "health/checker.h"
#include "config/patch.h"
#include "../lib/check.h"

#define MAXV 16
#define MAXM 8
#define MAXB 32

struct mvip {
	struct xlb_vip_key key;
	__u32 table_size, flags;
	size_t n;
	struct xlb_want_member m[MAXM];
};

struct mbe {
	struct xlb_addr_key addr;
	__u16 port;
	__u8 state;
};

/* What the maps would hold. */
struct model {
	struct mvip v[MAXV];
	size_t nv;
	struct mbe b[MAXB];
	size_t nb;
};

static struct mvip *model_vip(struct model *m, const struct xlb_vip_key *k, int add)
{
	size_t i;

	for (i = 0; i < m->nv; i++)
		if (!memcmp(&m->v[i].key, k, sizeof(*k)))
			return &m->v[i];
	if (!add || m->nv == MAXV)
		return NULL;
	memset(&m->v[m->nv], 0, sizeof(m->v[0]));
	m->v[m->nv].key = *k;
	return &m->v[m->nv++];
}

static int be_named(const struct model *m, const struct mbe *b)
{
	size_t i, j;

	for (i = 0; i < m->nv; i++)
		for (j = 0; j < m->v[i].n; j++)
			if (m->v[i].m[j].port == b->port &&
			    !memcmp(&m->v[i].m[j].addr, &b->addr, sizeof(b->addr)))
				return 1;
	return 0;
}

/* Apply w to m; a member naming the wrong backend is a failed check. */
static void model_apply(struct model *m, const struct xlb_want *w, const char *step)
{
	const struct xlb_want_backend *wb;
	const struct xlb_want_vip *wv;
	struct mvip *v;
	size_t i, j, k;

	if (!w->partial)
		memset(m, 0, sizeof(*m));
	for (i = 0; i < w->ngone; i++) {
		v = model_vip(m, &w->gone[i], 0);
		if (v)
			*v = m->v[--m->nv];
	}
	for (i = 0; i < w->nvips; i++) {
		wv = &w->vips[i];
		v = model_vip(m, &wv->key, 1);
		expect_int(v && wv->nmembers <= MAXM, 1, "%s: VIP %zu fits the model", step, i);
		v->table_size = wv->table_size;
		v->flags = wv->flags;
		v->n = wv->nmembers;
		for (j = 0; j < wv->nmembers; j++) {
			v->m[j] = wv->members[j];
			v->m[j].backend = 0;
			k = wv->members[j].backend;
			expect_int(k >= 1 && k <= w->nbackends, 1,
				   "%s: VIP %zu member %zu names a backend", step, i, j);
			wb = &w->backends[k - 1];
			check_int(
				wb->port == wv->members[j].port &&
					!memcmp(&wb->addr, &wv->members[j].addr, sizeof(wb->addr)),
				1, "%s: VIP %zu member %zu names its own backend", step, i, j);
		}
	}
	for (i = 0; i < w->nbackends; i++) {
		wb = &w->backends[i];
		for (k = 0; k < m->nb; k++)
			if (m->b[k].port == wb->port &&
			    !memcmp(&m->b[k].addr, &wb->addr, sizeof(wb->addr)))
				break;
		if (k == m->nb) {
			expect_int(m->nb < MAXB, 1, "%s: backends fit the model", step);
			m->nb++;
		}
		m->b[k] = (struct mbe){wb->addr, wb->port, wb->state};
	}
	for (k = 0; k < m->nb;)
		if (be_named(m, &m->b[k]))
			k++;
		else
			m->b[k] = m->b[--m->nb];
}

static int line_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The model as sorted lines of text, in buf. */
static void model_text(const struct model *m, char *buf, size_t len)
{
	char lines[MAXV + MAXB][512], *ps[MAXV + MAXB], vs[XLB_VIPSTRLEN], as[XLB_ADDRSTRLEN];
	size_t i, j, n = 0, at = 0;
	int k;

	for (i = 0; i < m->nv; i++) {
		k = snprintf(lines[n], sizeof(lines[n]),
			     "vip %s size %u flags %u:", xlb_vip_str(&m->v[i].key, vs, sizeof(vs)),
			     m->v[i].table_size, m->v[i].flags);
		for (j = 0; j < m->v[i].n && k > 0 && (size_t)k < sizeof(lines[n]); j++)
			k += snprintf(lines[n] + k, sizeof(lines[n]) - k, " %s:%u=%u",
				      xlb_addr_str(m->v[i].m[j].addr.addr, m->v[i].m[j].addr.family,
						   as, sizeof(as)),
				      m->v[i].m[j].port, m->v[i].m[j].weight);
		ps[n] = lines[n];
		n++;
	}
	for (i = 0; i < m->nb; i++) {
		snprintf(lines[n], sizeof(lines[n]), "backend %s:%u state %u",
			 xlb_addr_str(m->b[i].addr.addr, m->b[i].addr.family, as, sizeof(as)),
			 m->b[i].port, m->b[i].state);
		ps[n] = lines[n];
		n++;
	}
	qsort(ps, n, sizeof(*ps), line_cmp);
	buf[0] = 0;
	for (i = 0; i < n; i++)
		at += snprintf(buf + at, at < len ? len - at : 0, "%s\n", ps[i]);
}

struct fix {
	struct event_base *base;
	struct xlb_agent a;
	struct model cur; /* what the partial states applied so far hold */
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	expect_int(!!f, 1, "fixture allocated");
	f->base = event_base_new();
	f->a.checker = f->base ? xlb_checker_new(f->base, NULL, NULL) : NULL;
	f->a.by_id = calloc(XLB_MAX_BACKENDS, sizeof(*f->a.by_id));
	expect_int(f->a.checker && f->a.by_id, 1, "checker and index made");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	agent_want_forget(&f->a);
	agent_nodes_free(&f->a);
	xlb_conf_free(&f->a.conf);
	xlb_checker_free(f->a.checker);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* Three upstreams (u3 shares 10.0.0.2 with u1; u2 has a backup group) and routes. */
static void conf_make(char *buf, size_t len, const char *u1, const char *u2, const char *routes)
{
	snprintf(buf, len,
		 "upstreams:\n"
		 "  - {id: u1, nodes: {%s}}\n"
		 "  - id: u2\n"
		 "    nodes:\n%s"
		 "  - {id: u3, nodes: {\"10.0.0.5:80\": 1, \"10.0.0.2:80\": 3}}\n"
		 "stream_routes:\n%s",
		 u1, u2, routes);
}

#define U1 "\"10.0.0.1:80\": 1, \"10.0.0.2:80\": 1"
#define U2                                                             \
	"      - {host: 10.0.0.3, port: 80, weight: 1, priority: 0}\n" \
	"      - {host: 10.0.0.4, port: 80, weight: 1, priority: -1}\n"
/* 10.0.0.1 moved from u1 to u2. */
#define U1_MOVED "\"10.0.0.2:80\": 1"
#define U2_MOVED U2 "      - {host: 10.0.0.1, port: 80, weight: 1, priority: 0}\n"
#define ROUTE(id, vip, u)                                                                          \
	"  - {id: " #id ", server_addr: 198.18.100." #vip ", server_port: 80, upstream_id: " u "}" \
	"\n"
#define ROUTES ROUTE(1, 1, "u1") ROUTE(2, 2, "u2") ROUTE(3, 3, "u3") ROUTE(4, 4, "u1")

static void adopt_text(struct fix *f, const char *text)
{
	struct xlb_conf_errors errs;
	struct xlb_conf conf;
	int err;

	err = xlb_conf_parse(text, &conf, &errs);
	expect_int(err, 0, "configuration parses (%s: %s)", errs.n ? errs.e[0].path : "",
		   errs.n ? errs.e[0].msg : "");
	expect_int(agent_nodes_sync(&f->a, &conf), 0, "nodes synced");
	xlb_conf_free(&f->a.conf);
	f->a.conf = conf;
}

/*
 * One update: partial (unless whole), listing nv VIPs and ng gone; applied
 * to the model, it equals the whole state built afresh, which leaves the
 * kept state as it was.
 */
static void step(struct fix *f, const char *name, int whole, size_t nv, size_t ng)
{
	struct agent_desired *kept;
	struct model fresh;
	struct xlb_want w;
	static char got[16384], want[16384];

	expect_int(agent_want_update(&f->a, &w), 0, "%s: update", name);
	check_int(w.partial, !whole, "%s: partial", name);
	check_int((long long)w.nvips, (long long)nv, "%s: VIPs listed", name);
	check_int((long long)w.ngone, (long long)ng, "%s: VIPs gone", name);
	model_apply(&f->cur, &w, name);
	xlb_want_free(&w);
	kept = f->a.desired;
	f->a.desired = NULL;
	expect_int(agent_want_update(&f->a, &w), 0, "%s: whole update", name);
	check_int(w.partial, 0, "%s: whole state after a forget", name);
	memset(&fresh, 0, sizeof(fresh));
	model_apply(&fresh, &w, name);
	xlb_want_free(&w);
	agent_want_forget(&f->a);
	f->a.desired = kept;
	model_text(&f->cur, got, sizeof(got));
	model_text(&fresh, want, sizeof(want));
	if (strcmp(got, want))
		print_error("%s: the maps after the partial state:\n%sexpected:\n%s", name, got,
			    want);
	check_int(!strcmp(got, want), 1, "%s: the maps equal the whole state's", name);
	check_done();
}

/* The configuration of conf_make() into text, adopted. */
static void reconf(struct fix *f, char *text, size_t len, const char *u1, const char *u2,
		   const char *routes)
{
	conf_make(text, len, u1, u2, routes);
	adopt_text(f, text);
}

static void set_health(struct fix *f, const char *addr, enum xlb_health h)
{
	struct xlb_addr_key a = {.family = XLB_AF_INET};
	struct agent_node *n;

	inet_pton(AF_INET, addr, a.addr);
	n = agent_node_find(f->a.nodes, f->a.nnodes, &a, 80);
	expect_int(!!n, 1, "node %s exists", addr);
	xlb_target_set_state(n->t, h);
	agent_node_flipped(&f->a, n); /* as the agent's health callback does */
}

static __u8 be_state(struct fix *f, const char *addr)
{
	struct xlb_addr_key a = {.family = XLB_AF_INET};
	size_t i;

	inet_pton(AF_INET, addr, a.addr);
	for (i = 0; i < f->cur.nb; i++)
		if (!memcmp(&f->cur.b[i].addr, &a, sizeof(a)))
			return f->cur.b[i].state;
	return XLB_BE_UNUSED;
}

/* The weight of node addr in VIP 198.18.100.vip, or -1. */
static long member_weight(struct fix *f, int vip, const char *addr)
{
	struct xlb_addr_key a = {.family = XLB_AF_INET};
	size_t i, j;

	inet_pton(AF_INET, addr, a.addr);
	for (i = 0; i < f->cur.nv; i++) {
		if (ntohl(f->cur.v[i].key.addr[0]) != (0xc6126400u | (unsigned int)vip))
			continue;
		for (j = 0; j < f->cur.v[i].n; j++)
			if (!memcmp(&f->cur.v[i].m[j].addr, &a, sizeof(a)))
				return f->cur.v[i].m[j].weight;
	}
	return -1;
}

/* Configurations one after the other: the VIPs each lists and has gone. */
static const struct {
	const char *name, *u1, *u2, *routes;
	size_t nv, ng;
} routes_steps[] = {
	/* u1 changed back too: routes 1 and 4 */
	{"a route removed", U1, U2, ROUTE(1, 1, "u1") ROUTE(2, 2, "u2") ROUTE(4, 4, "u1"), 2, 1},
	{"a route added", U1, U2,
	 ROUTE(1, 1, "u1") ROUTE(2, 2, "u2") ROUTE(4, 4, "u1") ROUTE(5, 5, "u3"), 1, 0},
	{"a VIP renamed (its address)", U1, U2,
	 ROUTE(1, 1, "u1") ROUTE(2, 2, "u2") ROUTE(4, 9, "u1") ROUTE(5, 5, "u3"), 1, 1},
	{"a route onto another upstream", U1, U2,
	 ROUTE(1, 1, "u1") ROUTE(2, 2, "u2") ROUTE(4, 9, "u3") ROUTE(5, 5, "u3"), 1, 0},
	{"a node moved from u1 to u2", U1_MOVED, U2_MOVED,
	 ROUTE(1, 1, "u1") ROUTE(2, 2, "u2") ROUTE(4, 9, "u3") ROUTE(5, 5, "u3"), 2, 0},
};

static void test_changes(void **state)
{
	struct fix *f = *state;
	char text[4096];
	size_t i;

	reconf(f, text, sizeof(text), U1, U2, ROUTES);
	step(f, "first", 1, 4, 0);
	step(f, "nothing changed", 0, 0, 0);
	adopt_text(f, text);
	step(f, "the same file again", 0, 0, 0);
	/* A weight of u1: both its routes (a shared upstream). */
	reconf(f, text, sizeof(text), "\"10.0.0.1:80\": 5, \"10.0.0.2:80\": 1", U2, ROUTES);
	step(f, "a weight of u1", 0, 2, 0);
	for (i = 0; i < sizeof(routes_steps) / sizeof(routes_steps[0]); i++) {
		reconf(f, text, sizeof(text), routes_steps[i].u1, routes_steps[i].u2,
		       routes_steps[i].routes);
		step(f, routes_steps[i].name, 0, routes_steps[i].nv, routes_steps[i].ng);
	}
	/* Health: u2's primary group goes down, its backup takes over. */
	set_health(f, "10.0.0.3", XLB_H_UNHEALTHY);
	set_health(f, "10.0.0.1", XLB_H_UNHEALTHY);
	step(f, "u2's primary group down", 0, 1, 0);
	check_int(member_weight(f, 2, "10.0.0.4"), 1, "the backup node has its weight");
	check_int(be_state(f, "10.0.0.3"), XLB_BE_DRAINING, "the node down drains");
	set_health(f, "10.0.0.3", XLB_H_HEALTHY);
	step(f, "u2's primary back", 0, 1, 0);
	check_int(member_weight(f, 2, "10.0.0.4"), 0, "the backup node is idle again");
	check_int(member_weight(f, 2, "10.0.0.3"), 1, "the primary node has its weight");
	/* The node u1 and u3 share: the VIPs of both. */
	set_health(f, "10.0.0.2", XLB_H_UNHEALTHY);
	step(f, "a shared node down", 0, 3, 0);
	/*
	 * Down, it is active for u1 alone (no other node: fail-open). u1's
	 * only route goes: it drains, and u3's VIPs, not listed, follow.
	 */
	check_int(be_state(f, "10.0.0.2"), XLB_BE_ACTIVE, "the shared node, u1's only one");
	reconf(f, text, sizeof(text), U1_MOVED, U2_MOVED,
	       ROUTE(2, 2, "u2") ROUTE(4, 9, "u3") ROUTE(5, 5, "u3"));
	step(f, "the route of u1 gone", 0, 0, 1);
	check_int(be_state(f, "10.0.0.2"), XLB_BE_DRAINING, "the shared node drains");
	reconf(f, text, sizeof(text), U1_MOVED, U2_MOVED,
	       ROUTE(1, 1, "u1") ROUTE(2, 2, "u2") ROUTE(4, 9, "u3") ROUTE(5, 5, "u3"));
	step(f, "the route of u1 back", 0, 1, 0);
	set_health(f, "10.0.0.2", XLB_H_HEALTHY);
	step(f, "a shared node back", 0, 3, 0);
	/* u3's last route goes: its node 10.0.0.5 with it; 10.0.0.2 stays for u1. */
	reconf(f, text, sizeof(text), U1_MOVED, U2_MOVED, ROUTE(1, 1, "u1") ROUTE(2, 2, "u2"));
	step(f, "an upstream's last routes gone", 0, 0, 2);
	check_int(be_state(f, "10.0.0.5"), XLB_BE_UNUSED, "the node of no route is gone");
	check_int(be_state(f, "10.0.0.2"), XLB_BE_ACTIVE, "the shared node stays");
	/* A setting every VIP depends on: all listed. */
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "xlb: {table_size: 1021}\n");
	adopt_text(f, text);
	step(f, "table_size for every VIP", 0, 2, 0);
	check_done();
}

/* --- reloads that reparse only what changed (config/patch.c) ----------------- */

#define PATCH_BASE                                                                   \
	"upstreams:\n"                                                               \
	"  - id: p1\n"                                                               \
	"    nodes:\n"                                                               \
	"      \"10.1.0.1:80\": 1\n"                                                 \
	"      \"10.1.0.2:80\": 1\n"                                                 \
	"  - id: p2\n"                                                               \
	"    unhealthy_flows: move\n"                                                \
	"    nodes:\n"                                                               \
	"      \"10.1.0.3:80\": 1\n"                                                 \
	"      \"10.1.0.4:80\": 1\n"                                                 \
	"stream_routes:\n"                                                           \
	"  - {id: 1, server_addr: 198.18.100.1, server_port: 80, upstream_id: p1}\n" \
	"  - {id: 2, server_addr: 198.18.100.2, server_port: 80, upstream_id: p2}\n" \
	"  - {id: 3, server_addr: 198.18.100.3, server_port: 80, upstream_id: p2}\n"

/*
 * The nodes a patch left are the ones a whole sync makes of the same
 * configuration: the same set, each with the same upstreams (in order),
 * passive thresholds, checks and flow policy.
 */
static void nodes_as_synced(struct fix *f, const char *what)
{
	struct xlb_agent *b = calloc(1, sizeof(*b));
	struct agent_node *n, *m;
	size_t i;

	expect_int(!!b, 1, "memory");
	b->checker = f->a.checker; /* targets are shared by address: got and put back */
	expect_int(agent_nodes_sync(b, &f->a.conf), 0, "%s: whole sync", what);
	check_int(f->a.nnodes, b->nnodes, "%s: nodes", what);
	for (i = 0; i < b->nnodes && i < f->a.nnodes; i++) {
		n = f->a.nodes[i];
		m = b->nodes[i];
		check_int(agent_node_cmp(&n->addr, n->port, &m->addr, m->port), 0, "%s: node %zu",
			  what, i);
		if (strcmp(n->ups ? n->ups : "", m->ups ? m->ups : ""))
			print_error("%s: %s's upstreams '%s', synced '%s'\n", what, n->label,
				    n->ups, m->ups);
		check_int(!strcmp(n->ups ? n->ups : "", m->ups ? m->ups : ""), 1,
			  "%s: upstreams of %s", what, n->label);
		check_int(n->passive, m->passive, "%s: passive of %s", what, n->label);
		check_int(!memcmp(&n->passive_th, &m->passive_th, sizeof(n->passive_th)), 1,
			  "%s: passive thresholds of %s", what, n->label);
		check_int(n->checked, m->checked, "%s: checks of %s", what, n->label);
		check_int(n->move_flows, m->move_flows, "%s: flow policy of %s", what, n->label);
		check_int(n->t == m->t, 1, "%s: target of %s", what, n->label);
	}
	agent_nodes_free(b);
	free(b);
}

/* text with from replaced by to, patched in as a reload does; alone: without a whole node sync. */
static char *patch_in(struct fix *f, char *text, const char *from, const char *to, int alone)
{
	const char *at = strstr(text, from);
	unsigned long gen = f->a.nodes_gen;
	struct xlb_conf_patch pt;
	size_t n = strlen(text) - strlen(from) + strlen(to);
	char *next = malloc(n + 1);

	expect_int(at && next, 1, "'%s' is in the text", from);
	snprintf(next, n + 1, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	expect_int(xlb_conf_patch_make(&f->a.conf, next, &pt), 0, "'%s' -> '%s' patched", from, to);
	if (pt.list == XLB_LIST_UPSTREAMS)
		expect_int(agent_nodes_patch(&f->a, pt.items, pt.n, pt.first, pt.nconf), 0,
			   "nodes patched");
	f->a.edit.list = pt.list;
	f->a.edit.first = pt.first;
	f->a.edit.n = pt.nconf;
	f->a.edit.whole = pt.n != pt.nconf; /* the ids stay in these steps */
	check_int(f->a.nodes_gen == gen, alone, "'%s' -> '%s': nodes without a whole sync", from,
		  to);
	nodes_as_synced(f, to);
	xlb_conf_patch_free(&pt);
	free(text);
	return strdup(next); /* the conf keeps next */
}

static void test_patches(void **state)
{
	struct fix *f = *state;
	struct xlb_conf_errors errs;
	char *text = strdup(PATCH_BASE);

	expect_int(xlb_conf_parse_kept(text, &f->a.conf, &errs), 0, "the base parses");
	expect_int(agent_nodes_sync(&f->a, &f->a.conf), 0, "nodes synced");
	step(f, "first", 1, 3, 0);
	text = patch_in(f, text, "10.1.0.2:80", "10.1.0.2:81", 1);
	step(f, "patch: a node of p1 moved to another port", 0, 1, 0);
	check_int(member_weight(f, 1, "10.1.0.2"), 1, "the moved node has its weight");
	text = patch_in(f, text, "\"10.1.0.4:80\": 1", "\"10.1.0.4:80\": 7", 1);
	step(f, "patch: a weight of p2 (both its routes)", 0, 2, 0);
	text = patch_in(f, text, "198.18.100.3,", "198.18.100.9,", 1);
	step(f, "patch: a route's address", 0, 1, 1);
	text = patch_in(f, text, "198.18.100.2, server_port: 80, upstream_id: p2",
			"198.18.100.2, server_port: 80, upstream_id: p1", 1);
	step(f, "patch: a route onto another upstream", 0, 1, 0);
	set_health(f, "10.1.0.1", XLB_H_UNHEALTHY);
	text = patch_in(f, text, "\"10.1.0.4:80\": 7", "\"10.1.0.4:80\": 2", 1);
	step(f, "patch and a health flip together", 0, 3, 0);
	check_int(be_state(f, "10.1.0.1"), XLB_BE_DRAINING, "the node down drains");
	text = patch_in(f, text, "      \"10.1.0.3:80\": 1\n", "", 1);
	step(f, "patch: a node of p2 removed", 0, 1, 0);
	check_int(be_state(f, "10.1.0.3"), XLB_BE_UNUSED, "the removed node's backend goes");
	/* A node p1 names too: its settings come from the first upstream that names it. */
	text = patch_in(f, text, "      \"10.1.0.4:80\": 2\n",
			"      \"10.1.0.4:80\": 2\n      \"10.1.0.1:80\": 1\n", 1);
	/* p2 moves flows of nodes down: the shared node's state, and so p1's VIPs too. */
	step(f, "patch: a node p1 has too", 0, 3, 0);
	/*
	 * Items come and go: compared whole, listed as changes all the same.
	 * The run takes in p2 (the text before stream_routes is its), which
	 * shares a node with p1 now.
	 */
	text = patch_in(f, text, "stream_routes:\n",
			"  - id: p3\n    nodes:\n      \"10.1.0.7:80\": 1\nstream_routes:\n", 1);
	step(f, "patch: an upstream added (no route yet)", 0, 0, 0);
	text = patch_in(f, text, "  - {id: 1,",
			"  - {id: 7, server_addr: 198.18.100.7, server_port: 80, upstream_id: p3}\n"
			"  - {id: 1,",
			1);
	step(f, "patch: a route added onto it", 0, 1, 0);
	check_int(be_state(f, "10.1.0.7"), XLB_BE_ACTIVE, "the new upstream's node serves");
	text = patch_in(
		f, text,
		"  - {id: 7, server_addr: 198.18.100.7, server_port: 80, upstream_id: p3}\n", "",
		1);
	step(f, "patch: that route removed", 0, 0, 1);
	text = patch_in(f, text, "  - id: p3\n    nodes:\n      \"10.1.0.7:80\": 1\n", "", 1);
	step(f, "patch: that upstream removed", 0, 0, 0);
	check_int(be_state(f, "10.1.0.7"), XLB_BE_UNUSED, "its node is gone");
	free(text);
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patches, setup, teardown),
	};

	return check_run_tests("desired", tests, NULL, NULL);
}
