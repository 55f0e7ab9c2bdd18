// SPDX-License-Identifier: GPL-2.0-only
/*
 * /metrics: the Prometheus text of a snapshot; see metrics.h. The text is
 * built in a 64 KiB buffer by plain copies and a hand-made integer
 * conversion, and handed to the evbuffer a buffer at a time: at 100,000
 * nodes one printf per sample would cost more than the map reads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "agent/agent.h"
#include "agent/metrics.h"
#include "config/etcd_mirror.h"
#include "dataplane/maps.h"

#define MW_CHUNK   (64 * 1024)
#define HEALTH_MAX 8 /* health states counted (xlb_agent_health_name() has 4) */

static const char COUNTER[] = "counter", GAUGE[] = "gauge";

/* The text under way: buf, then the evbuffer once buf is full. */
struct mw {
	struct evbuffer *out;
	size_t len;
	int err;
	char buf[MW_CHUNK];
};

static void mw_flush(struct mw *w)
{
	if (w->len && !w->err && evbuffer_add(w->out, w->buf, w->len))
		w->err = -ENOMEM;
	w->len = 0;
}

static void mw_mem(struct mw *w, const char *s, size_t n)
{
	if (w->len + n > sizeof(w->buf))
		mw_flush(w);
	if (n > sizeof(w->buf)) {
		if (!w->err && evbuffer_add(w->out, s, n))
			w->err = -ENOMEM;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void mw_str(struct mw *w, const char *s)
{
	mw_mem(w, s, strlen(s));
}

static void mw_u64(struct mw *w, unsigned long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mw_mem(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void mw_fixed(struct mw *w, double v, int decimals)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);

	if (n > 0 && (size_t)n < sizeof(tmp))
		mw_mem(w, tmp, (size_t)n);
	else
		mw_str(w, "NaN");
}

/* A label value: backslash, double quote and newline escaped. */
static void mw_label(struct mw *w, const char *v)
{
	size_t n = strcspn(v, "\\\"\n");

	mw_mem(w, v, n);
	for (v += n; *v; v++) {
		if (*v == '\n')
			mw_mem(w, "\\n", 2);
		else if (*v == '\\' || *v == '"')
			mw_mem(w, (const char[]){'\\', *v}, 2);
		else
			mw_mem(w, v, 1);
	}
}

static void mw_family(struct mw *w, const char *name, const char *type, const char *help)
{
	mw_str(w, "# HELP ");
	mw_str(w, name);
	mw_mem(w, " ", 1);
	mw_str(w, help);
	mw_str(w, "\n# TYPE ");
	mw_str(w, name);
	mw_mem(w, " ", 1);
	mw_str(w, type);
	mw_mem(w, "\n", 1);
}

/* "NAME{L1="V1",L2="V2"} " (labels that are NULL left out). */
static void mw_series(struct mw *w, const char *name, const char *l1, const char *v1,
		      const char *l2, const char *v2)
{
	mw_str(w, name);
	if (l1) {
		mw_mem(w, "{", 1);
		mw_str(w, l1);
		mw_mem(w, "=\"", 2);
		mw_label(w, v1);
		if (l2) {
			mw_mem(w, "\",", 2);
			mw_str(w, l2);
			mw_mem(w, "=\"", 2);
			mw_label(w, v2);
		}
		mw_mem(w, "\"}", 2);
	}
	mw_mem(w, " ", 1);
}

static void mw_u(struct mw *w, const char *name, const char *l1, const char *v1, const char *l2,
		 const char *v2, unsigned long long v)
{
	mw_series(w, name, l1, v1, l2, v2);
	mw_u64(w, v);
	mw_mem(w, "\n", 1);
}

static void mw_f(struct mw *w, const char *name, const char *l1, const char *v1, const char *l2,
		 const char *v2, double v, int decimals)
{
	mw_series(w, name, l1, v1, l2, v2);
	mw_fixed(w, v, decimals);
	mw_mem(w, "\n", 1);
}

/* A family of one sample without labels. */
static void m_one(struct mw *w, const char *name, const char *type, const char *help,
		  unsigned long long v)
{
	mw_family(w, name, type, help);
	mw_u(w, name, NULL, NULL, NULL, NULL, v);
}

/* The number of health states: xlb_agent_health_name() names 0..n-1. */
static unsigned int health_states(void)
{
	unsigned int n = 0;

	while (n < HEALTH_MAX && xlb_agent_health_name(n))
		n++;
	return n;
}

/* Health state h of nh states as xlb_node_health's value. */
static unsigned int health_value(unsigned int h, unsigned int nh)
{
	return h < nh ? nh - 1 - h : 0;
}

unsigned int xlb_metrics_health_value(unsigned int health)
{
	return health_value(health, health_states());
}

/* The fast path's three traffic counters, by index (the families below). */
static const struct {
	const char *what; /* the family name's middle part */
	const char *help;
} traffic[] = {
	{"packets", "Packets the fast path counted"},
	{"bytes", "Bytes of those packets"},
	{"new_flows", "Flows given a backend by the Maglev table"},
};

static unsigned long long traffic_at(const struct xlb_traffic *t, unsigned int k)
{
	return k == 0 ? t->packets : k == 1 ? t->bytes : t->new_flows;
}

static void m_vips(struct mw *w, const struct xlb_agent_snapshot *s)
{
	char name[64], help[128];
	unsigned int k;
	size_t i;

	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "xlb_vip_%s_total", traffic[k].what);
		snprintf(help, sizeof(help), "%s for a VIP.", traffic[k].help);
		mw_family(w, name, COUNTER, help);
		for (i = 0; i < s->nvips; i++)
			mw_u(w, name, "vip", s->vips[i].name, NULL, NULL,
			     traffic_at(&s->vips[i].traffic, k));
	}
}

/* Over every node: how many in each health state, probes sent. */
static void m_nodes_all(struct mw *w, const struct xlb_agent_snapshot *s)
{
	unsigned long long by[HEALTH_MAX] = {}, probes = 0;
	unsigned int h, nh = health_states();
	size_t i;

	for (i = 0; i < s->nnodes; i++) {
		if (s->nodes[i].health < nh)
			by[s->nodes[i].health]++;
		probes += s->nodes[i].probes;
	}
	mw_family(w, "xlb_nodes", GAUGE, "Nodes (distinct address and port) by health state.");
	for (h = 0; h < nh; h++)
		mw_u(w, "xlb_nodes", "state", xlb_agent_health_name(h), NULL, NULL, by[h]);
	m_one(w, "xlb_probes_total", COUNTER,
	      "Active health probes sent, all nodes (lower when a node goes away).", probes);
}

/* Per node: its health as one number, its new flows, NAT's figures. */
static void m_per_node(struct mw *w, const struct xlb_agent_snapshot *s)
{
	static const char *const nat[] = {"xlb_nat_synack_ewma_seconds", "xlb_nat_synacks_total",
					  "xlb_nat_node_rsts_total"};
	static const char *const nat_help[] = {
		"NAT: SYN to the node's SYN-ACK, EWMA (1/8).",
		"NAT: SYN-ACKs from the node.",
		"NAT: RSTs from the node.",
	};
	const struct xlb_agent_node_view *n;
	unsigned int nh = health_states();
	size_t i;
	int k;

	mw_family(w, "xlb_node_health", GAUGE,
		  "Health state of a node: 3 healthy, 2 mostly_healthy, 1 mostly_unhealthy, "
		  "0 unhealthy.");
	for (i = 0; i < s->nnodes; i++) {
		n = &s->nodes[i];
		mw_u(w, "xlb_node_health", "node", n->label, NULL, NULL,
		     health_value(n->health, nh));
	}
	mw_family(w, "xlb_node_new_flows_total", COUNTER,
		  "Flows given a node by the Maglev tables, all VIPs.");
	for (i = 0; i < s->nnodes; i++)
		if (s->nodes[i].has_traffic)
			mw_u(w, "xlb_node_new_flows_total", "node", s->nodes[i].label, NULL, NULL,
			     s->nodes[i].traffic.new_flows);
	/* Only nodes with open least_conn flows: the others would add bytes to every scrape. */
	mw_family(w, "xlb_node_active_flows", GAUGE,
		  "Open flows of least_conn VIPs on a node, as this LB node counts them "
		  "(absent: none).");
	for (i = 0; i < s->nnodes; i++)
		if (s->nodes[i].has_traffic && s->nodes[i].active_flows)
			mw_u(w, "xlb_node_active_flows", "node", s->nodes[i].label, NULL, NULL,
			     s->nodes[i].active_flows);
	/* NAT: what a node's own answers showed (SYN-ACK time, RSTs). */
	for (k = 0; k < 3; k++) {
		mw_family(w, nat[k], k ? COUNTER : GAUGE, nat_help[k]);
		for (i = 0; i < s->nnodes; i++) {
			n = &s->nodes[i];
			if (!n->nat)
				continue;
			if (k == 0)
				mw_f(w, nat[0], "node", n->label, NULL, NULL, n->synack_ewma_s, 9);
			else
				mw_u(w, nat[k], "node", n->label, NULL, NULL,
				     k == 1 ? n->synacks : n->node_rsts);
		}
	}
}

/* An upstream's sums over its members, for m_per_upstream(). */
struct up_sum {
	unsigned long long by[HEALTH_MAX];
	unsigned long long traffic[3];
	unsigned long long probes;
};

static void up_sum(const struct xlb_agent_snapshot *s, const struct xlb_agent_upstream_view *u,
		   struct up_sum *sum)
{
	const struct xlb_agent_node_view *n;
	unsigned int k;
	size_t j;

	memset(sum, 0, sizeof(*sum));
	for (j = 0; j < u->nmembers; j++) {
		if (u->members[j].node < 0 || (size_t)u->members[j].node >= s->nnodes)
			continue;
		n = &s->nodes[u->members[j].node];
		if (n->health < HEALTH_MAX)
			sum->by[n->health]++;
		sum->probes += n->probes;
		for (k = 0; n->has_traffic && k < 3; k++)
			sum->traffic[k] += traffic_at(&n->traffic, k);
	}
}

/* Per upstream: its nodes by health state, the sums of their counters. */
static int m_per_upstream(struct mw *w, const struct xlb_agent_snapshot *s)
{
	struct up_sum *sums = calloc(s->nupstreams + 1, sizeof(*sums));
	char name[64], help[160];
	unsigned int h, k, nh = health_states();
	const char *id;
	size_t i;

	if (!sums)
		return -ENOMEM;
	for (i = 0; i < s->nupstreams; i++)
		up_sum(s, &s->upstreams[i], &sums[i]);
	mw_family(w, "xlb_upstream_nodes", GAUGE, "Nodes of an upstream by health state.");
	for (i = 0; i < s->nupstreams; i++)
		for (h = 0; h < nh; h++)
			mw_u(w, "xlb_upstream_nodes", "upstream", s->upstreams[i].id, "state",
			     xlb_agent_health_name(h), sums[i].by[h]);
	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "xlb_upstream_%s_total", traffic[k].what);
		snprintf(help, sizeof(help),
			 "%s to an upstream's nodes (their sum: lower when a node leaves).",
			 traffic[k].help);
		mw_family(w, name, COUNTER, help);
		for (i = 0; i < s->nupstreams; i++)
			mw_u(w, name, "upstream", s->upstreams[i].id, NULL, NULL,
			     sums[i].traffic[k]);
	}
	mw_family(w, "xlb_upstream_probes_total", COUNTER,
		  "Active health probes sent to an upstream's nodes (their sum).");
	for (i = 0; i < s->nupstreams; i++) {
		id = s->upstreams[i].id;
		mw_u(w, "xlb_upstream_probes_total", "upstream", id, NULL, NULL, sums[i].probes);
	}
	free(sums);
	return 0;
}

/* Families of one sample without labels, from a table. */
struct scalar {
	const char *name, *type, *help;
	unsigned long long v;
};

static void m_scalars(struct mw *w, const struct scalar *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		m_one(w, t[i].name, t[i].type, t[i].help, t[i].v);
}

/* least_conn: the sweep of counted flows (user/lib/dataplane/conns.c). */
static void m_least_conn(struct mw *w, const struct xlb_agent_snapshot *s)
{
	const struct scalar t[] = {
		{"xlb_least_conn_sweeps_total", COUNTER, "least_conn sweeps of the flow table.",
		 s->st.lc_sweeps},
		{"xlb_least_conn_idle_total", COUNTER,
		 "Idle least_conn flows deleted by the sweep.", s->st.lc_idle},
		{"xlb_least_conn_released_total", COUNTER,
		 "Active flows the sweep took off the counts (idle or evicted flows).",
		 s->st.lc_released},
	};

	m_scalars(w, t, sizeof(t) / sizeof(t[0]));
}

static void m_nat(struct mw *w, const struct xlb_agent_snapshot *s)
{
	const struct scalar t[] = {
		{"xlb_nat_connections", GAUGE, "NAT connections at the agent's last sweep.",
		 s->st.nat_live},
		{"xlb_nat_capacity", GAUGE, "NAT connections the maps can hold.", s->nat_capacity},
		{"xlb_nat_memory_bytes", GAUGE, "Both NAT maps, as the kernel accounts them.",
		 s->nat_bytes},
		{"xlb_nat_entry_bytes", GAUGE, "Keys and values of one NAT connection.",
		 s->nat_entry_bytes},
		{"xlb_nat_reclaimed_total", COUNTER, "Dead NAT connections deleted by the sweep.",
		 s->st.nat_reclaimed},
		{"xlb_nat_syn_timeouts_total", COUNTER,
		 "Reclaimed NAT connections that never got a SYN-ACK.", s->st.nat_syn_timeouts},
	};

	m_scalars(w, t, sizeof(t) / sizeof(t[0]));
}

/* A family of named counters: NAME{LABEL="name"} n for rows from..to-1. */
static void m_counts(struct mw *w, const char *name, const char *help, const char *label,
		     const struct xlb_agent_count *c, unsigned int from, unsigned int to)
{
	unsigned int i;

	mw_family(w, name, COUNTER, help);
	for (i = from; i < to; i++)
		mw_u(w, name, label, c[i].name, NULL, NULL, c[i].n);
}

static void m_signals(struct mw *w, const struct xlb_agent_snapshot *s)
{
	static const char *const stats[] = {"p50", "p99", "max"};
	const struct xlb_agent_latency *l;
	unsigned int i, k;

	m_counts(w, "xlb_reason_packets_total", "Packets by the fast path's verdict reason.",
		 "reason", s->reasons, 0, s->have_reasons ? XLB_R_MAX : 0);
	m_counts(w, "xlb_passive_events_total", "Passive-health events from the fast path.", "kind",
		 s->passive, XLB_EVK_NONE + 1, XLB_EVK_MAX);
	m_one(w, "xlb_passive_events_ignored_total", COUNTER,
	      "Passive events for nodes without checks.passive.", s->st.passive_ignored);
	m_counts(w, "xlb_netlink_events_total", "Kernel signals reported as node failures.", "kind",
		 s->netlink, 0, sizeof(s->netlink) / sizeof(s->netlink[0]));
	m_one(w, "xlb_netlink_overruns_total", COUNTER,
	      "Kernel notifications lost (socket buffer overrun).", s->st.netlink_overruns);
	mw_family(w, "xlb_signal_flip_seconds", GAUGE,
		  "Passive event or kernel signal to fast-path state write (last samples).");
	for (i = 0; i < XLB_AGENT_SRC_MAX; i++) {
		l = &s->latency[i];
		for (k = 0; l->n && k < 3; k++)
			mw_f(w, "xlb_signal_flip_seconds", "source", l->source, "stat", stats[k],
			     k == 0   ? l->p50
			     : k == 1 ? l->p99
				      : l->max,
			     9);
	}
}

static void m_agent(struct mw *w, const struct xlb_agent_stats *st)
{
	mw_family(w, "xlb_health_flip_seconds", GAUGE,
		  "Health decision to fast-path state write, last and max.");
	mw_f(w, "xlb_health_flip_seconds", "stat", "last", NULL, NULL, st->last_flip_us / 1e6, 9);
	mw_f(w, "xlb_health_flip_seconds", "stat", "max", NULL, NULL, st->max_flip_us / 1e6, 9);
	m_one(w, "xlb_health_flips_total", COUNTER, "Fast-path state writes for health.",
	      st->flips);
	m_one(w, "xlb_health_changes_total", COUNTER, "Health state changes of nodes.",
	      st->health_changes);
	mw_family(w, "xlb_map_update_seconds", GAUGE,
		  "Time to reconcile the maps (tables included), last and max.");
	mw_f(w, "xlb_map_update_seconds", "stat", "last", NULL, NULL, st->last_reconcile_ms / 1e3,
	     6);
	mw_f(w, "xlb_map_update_seconds", "stat", "max", NULL, NULL, st->max_reconcile_ms / 1e3, 6);
	m_one(w, "xlb_map_updates_total", COUNTER, "Reconciles of the maps.", st->reconciles);
	m_one(w, "xlb_map_update_errors_total", COUNTER, "Reconciles that failed.",
	      st->reconcile_errors);
	m_one(w, "xlb_config_reloads_total", COUNTER, "Configuration reloads.", st->reloads);
	m_one(w, "xlb_config_reload_errors_total", COUNTER,
	      "Reloads refused (the running configuration stayed).", st->reload_errors);
}

/* Registry requests, answers, errors and node-set changes, per registry. */
static void m_discovery(struct mw *w, const struct xlb_agent_snapshot *s)
{
	static const char *const names[] = {
		"xlb_discovery_requests_total",
		"xlb_discovery_answers_total",
		"xlb_discovery_errors_total",
		"xlb_discovery_changes_total",
	};
	static const char *const help[] = {
		"Requests or queries sent to the registry.",
		"Good answers from the registry (changed or not).",
		"Failed requests and bad answers (the last good nodes stay).",
		"Node-set changes applied from the registry.",
	};
	const struct xlb_agent_registry_view *r;
	unsigned int k;
	size_t i;

	for (k = 0; k < 4; k++) {
		mw_family(w, names[k], COUNTER, help[k]);
		for (i = 0; i < s->nregistries; i++) {
			r = &s->registries[i];
			mw_u(w, names[k], "registry", r->type, NULL, NULL,
			     k == 0   ? r->requests
			     : k == 1 ? r->answers
			     : k == 2 ? r->errors
				      : r->changes);
		}
	}
}

/* The etcd source, when the configuration comes from etcd. */
static void m_etcd(struct mw *w, const struct xlb_agent_etcd_view *e)
{
	unsigned int i;
	const struct scalar t[] = {
		{"xlb_etcd_requests_total", COUNTER, "Requests sent to etcd.", e->requests},
		{"xlb_etcd_updates_total", COUNTER, "Updates from the watch.", e->updates},
		{"xlb_etcd_errors_total", COUNTER, "Failed requests and bad answers or values.",
		 e->errors},
		{"xlb_etcd_resyncs_total", COUNTER, "Full reads of the prefix after a compaction.",
		 e->resyncs},
		{"xlb_etcd_reconnects_total", COUNTER, "Watches made again after a failure.",
		 e->reconnects},
		{"xlb_etcd_bad_values", GAUGE,
		 "Keys left out because their value is not an object.", e->bad_values},
		{"xlb_etcd_rejects_total", COUNTER,
		 "Objects that did not validate (the running version stayed).", e->rejects},
	};

	if (!e->on)
		return;
	m_one(w, "xlb_etcd_connected", GAUGE, "1 while the watch on etcd is open.", e->connected);
	mw_family(w, "xlb_etcd_revision", GAUGE, "The etcd revision the configuration reflects.");
	mw_series(w, "xlb_etcd_revision", NULL, NULL, NULL, NULL);
	if (e->revision < 0)
		mw_mem(w, "-", 1);
	mw_u64(w, e->revision < 0 ? -(unsigned long long)e->revision
				  : (unsigned long long)e->revision);
	mw_mem(w, "\n", 1);
	m_scalars(w, t, sizeof(t) / sizeof(t[0]));
	mw_family(w, "xlb_etcd_ignored_keys", GAUGE,
		  "Keys under the prefix that are not served, by kind: other kinds, and "
		  "upstreams no stream route uses that do not validate for L4.");
	mw_u(w, "xlb_etcd_ignored_keys", "kind", "upstreams", NULL, NULL, e->ignored_upstreams);
	for (i = 0; i < XLB_ETCD_OTHER_KINDS; i++)
		mw_u(w, "xlb_etcd_ignored_keys", "kind", xlb_etcd_other_kind_name(i), NULL, NULL,
		     e->ignored[i]);
}

/* xlb_decap's second-chance hand-offs per peer (the next hop they went to). */
static void m_decap(struct mw *w, const struct xlb_agent_snapshot *s)
{
	static const struct {
		const char *name, *help;
	} fam[2] = {
		{"xlb_decap_handoffs_total",
		 "Packets xlb_decap handed to the next hop (second chance), per peer."},
		{"xlb_decap_handoff_bytes_total",
		 "Bytes xlb_decap handed to the next hop (second chance), per peer."},
	};
	const struct xlb_decap_peer *p;
	char a[XLB_ADDRSTRLEN];
	size_t f, i;

	for (f = 0; s->have_decap && f < 2; f++) {
		mw_family(w, fam[f].name, COUNTER, fam[f].help);
		for (i = 0; i < s->ndecap_peers; i++) {
			p = &s->decap_peers[i];
			mw_u(w, fam[f].name, "peer",
			     xlb_addr_str(p->addr.addr, p->addr.family, a, sizeof(a)), NULL, NULL,
			     f ? p->bytes : p->packets);
		}
	}
}

int xlb_metrics_write(struct evbuffer *out, const struct xlb_agent_snapshot *s, int per_node)
{
	struct mw *w = malloc(sizeof(*w));
	int err = 0;

	if (!w)
		return -ENOMEM;
	w->out = out;
	w->len = 0;
	w->err = 0;
	m_vips(w, s);
	m_nodes_all(w, s);
	if (per_node)
		m_per_node(w, s);
	else
		err = m_per_upstream(w, s);
	m_nat(w, s);
	m_least_conn(w, s);
	m_signals(w, s);
	m_agent(w, &s->st);
	m_discovery(w, s);
	m_etcd(w, &s->etcd);
	m_decap(w, s);
	mw_flush(w);
	if (!err)
		err = w->err;
	free(w);
	return err;
}
