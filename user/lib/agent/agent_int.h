/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's insides, shared by its parts and by nothing else:
 *   agent.c     lifecycle (new, free, reload), wiring, the data plane's
 *               setup and settings, the health flip and the reconcile
 *   nodes.c     the node index: one entry per (address, port), its target,
 *               next hop and health adopted from the maps
 *   desired.c   configuration, nodes and health -> struct xlb_want
 *   sources.c   the file, Admin API edits and etcd -> the running configuration
 *   watches.c   one registry watch per discovery upstream
 *   signals.c   passive events, kernel signals, the NAT sweep
 *   snapshot.c  the read-only view the Admin API serialises
 */
#ifndef XLB_AGENT_INT_H
#define XLB_AGENT_INT_H

#include <stddef.h>
#include <jansson.h>
#include <linux/types.h>
#include <event2/util.h>

#include "agent/agent.h"
#include "base/addr.h"
#include "config/config.h"
#include "config/etcd.h"
#include "config/patch.h"
#include "dataplane/maps.h"
#include "dataplane/reconcile.h"
#include "health/health.h"

struct event;
struct ring_buffer;
struct xlb_checker;
struct xlb_disc;
struct xlb_disc_watch;
struct xlb_nlmon;
struct xlb_target;
struct agent_desired;

/* One distinct (address, port) across all upstreams: one target, one id. */
struct agent_node {
	struct xlb_addr_key addr;
	__u16 port;
	struct xlb_target *t;
	__u32 be_id;		   /* ~0U: not in the maps yet */
	char label[XLB_VIPSTRLEN]; /* "198.18.0.12:80" */
	char *ups;		   /* ids of the upstreams that name it: "u1,u2" */
	int passive;		   /* an upstream of it has checks.passive */
	struct xlb_health_thresholds passive_th;
	struct xlb_addr_key nh; /* next hop (the node itself when on-link) */
	int nh_ifindex;
	int nh_ok;	 /* nh, nh_ifindex valid: a route exists */
	int link_down;	 /* nh_ifindex seen down (signal edges) */
	int checked;	 /* has checks (active, maybe passive) */
	int move_flows;	 /* an upstream of it: unhealthy_flows: move */
	int unreachable; /* kernel evidence since it was last usable */
	int flipped;	 /* usability flipped, or new, since the last desired state */
	/* desired.c: the health the last desired state was computed with */
	unsigned char des_seen, des_usable;
	__u8 des_out_state;
};

/*
 * NAT sweep period. Dead entries cost nothing but memory (the fast path
 * treats them as free); the sweep reclaims them and reports connections
 * that died waiting for a SYN-ACK as timeouts of their node.
 */
#define XLB_AGENT_NAT_SWEEP_S 2

#define LAT_SAMPLES 1024 /* signal -> flip latencies kept per source */

/*
 * The watch of one upstream with discovery_type. It survives reloads that
 * keep the upstream's id, registry, service_name and discovery_args, so a
 * reload neither loses the node set nor asks the registry again.
 */
struct agent_watch {
	char id[XLB_ID_LEN];
	char *ident; /* "type\nservice\nargs" */
	struct xlb_disc_watch *w;
	int changed; /* its node set changed since agent_on_disc_changed() */
};

struct xlb_agent {
	/* agent.c */
	struct event_base *base;
	char conf_file[4096];
	char pin_dir[4096];
	json_t *doc;	      /* the configuration as a document */
	struct xlb_conf conf; /* the same, validated */
	struct xlb_maps maps;
	int maps_open;
	struct xlb_shadow *shadow;     /* what the maps hold, for reconciles by difference */
	struct agent_desired *desired; /* desired.c: the last desired state handed over */
	struct xlb_checker *checker;
	struct event *reconcile_ev;
	struct xlb_agent_stats st;
	/* nodes.c */
	struct agent_node **nodes; /* sorted by (address, port) */
	size_t nnodes;
	struct agent_node **by_id; /* backend id -> node (XLB_MAX_BACKENDS) */
	/*
	 * Node j of upstream u of the synced configuration is nodes[node_at[
	 * ups_first[u] + j]]: a hint for desired.c, checked before use.
	 */
	size_t *node_at, *ups_first;
	size_t nnode_at, nups_first;
	unsigned long nodes_gen; /* bumped by every agent_nodes_sync() */
	/*
	 * Nodes whose usability flipped since the last desired state (agent.c
	 * notes them, desired.c takes them); flips_lost: a note failed for
	 * memory, so the next desired state looks at every node.
	 */
	struct agent_node **flipped;
	size_t nflipped, capflipped;
	int flips_lost;
	/* signals.c */
	struct ring_buffer *rb; /* xlb_events */
	struct event *rb_ev;
	struct xlb_nlmon *nlmon;
	struct event *nl_ev;
	struct event *nat_ev; /* the NAT sweep, every XLB_AGENT_NAT_SWEEP_S */
	struct event *lc_ev;  /* the least_conn sweep, every XLB_LC_SWEEP_S */
	/* The signal being handled, for the flip's latency sample. */
	int sig_src;  /* enum xlb_agent_src, -1: none */
	__u64 sig_ns; /* CLOCK_MONOTONIC when it happened */
	double lat_us[XLB_AGENT_SRC_MAX][LAT_SAMPLES];
	unsigned long nlat[XLB_AGENT_SRC_MAX];
	/* watches.c */
	struct xlb_disc *disc;
	struct agent_watch *watches; /* one per discovery upstream of conf */
	size_t nwatches;
	struct event *disc_ev; /* a watch's node set changed */
	/* sources.c */
	double loaded; /* wall clock of the last configuration change */
	/*
	 * The items a reload patched (config/patch.c), for the next desired
	 * state to recompute alone; n = 0: none.
	 */
	struct {
		int list; /* XLB_LIST_* */
		size_t first, n;
		int whole; /* items came or went, or changed ids: compare everything */
	} edit;
	char *rbuf; /* the buffer reloads read the file into */
	size_t rcap;
	/*
	 * deployment.etcd: the file gives the settings, etcd the upstreams and
	 * stream routes; doc is file_doc with etcd's objects in it.
	 */
	json_t *file_doc;
	struct xlb_etcd *etcd;
	struct xlb_etcd_conf etcd_conf; /* the settings etcd runs with */
	json_t *etcd_ups, *etcd_routes; /* etcd's latest objects (the upstreams served) */
	json_t *etcd_all_ups;		/* etcd's upstreams, all of them */
	/* Upstreams no stream route uses: id -> [object, valid], for file. */
	json_t *etcd_verdicts, *etcd_verdict_file;
	unsigned int etcd_ignored_ups; /* of them, those not served (invalid) */
	int etcd_have;		       /* etcd's objects arrived: maps may follow */
	char *etcd_problem;	       /* the last problem logged, to log each once */
	unsigned long etcd_rejects;    /* etcd objects left out as invalid */
	int nat_small_said;	       /* nat_capacity_check() warned */
};

/* agent.c */
int agent_apply_settings(struct xlb_agent *a, const struct xlb_settings *s);
/* Write the desired state's difference to the maps. */
int agent_reconcile(struct xlb_agent *a);

/* nodes.c */
int agent_node_cmp(const struct xlb_addr_key *a, __u16 pa, const struct xlb_addr_key *b, __u16 pb);
/* Binary search: the node arrays are sorted by (address, port). -1: none. */
long agent_node_pos(struct agent_node **nodes, size_t n, const struct xlb_addr_key *a, __u16 port);
struct agent_node *agent_node_find(struct agent_node **nodes, size_t n,
				   const struct xlb_addr_key *a, __u16 port);
/* backend id -> node, rebuilt whenever ids or nodes change. */
void agent_nodes_index(struct xlb_agent *a);
int agent_node_usable(const struct agent_node *n);
/* n's usability flipped: the next desired state looks at it (a->flipped). */
void agent_node_flipped(struct xlb_agent *a, struct agent_node *n);
/* The backend state of a node that is not usable (DRAINING or DOWN). */
__u8 agent_node_out_state(const struct agent_node *n);
/*
 * The next id of a node's upstream list (n->ups: "u1,u2") from *p into
 * id: 1, 0 at the end, -1 for one too long for id (passed over).
 */
int agent_node_next_ups(const char **p, char id[XLB_ID_LEN]);
/* Upstream ids that use node n, for log lines. */
void agent_node_upstreams(const struct xlb_agent *a, const struct agent_node *n, char *buf,
			  size_t len);
/* The nodes of conf, each with its target (see nodes.c). */
int agent_nodes_sync(struct xlb_agent *a, const struct xlb_conf *conf);
/*
 * The n upstreams at first in a->conf replaced the nold in old: their
 * nodes follow, the others' stay as they are (else a whole
 * agent_nodes_sync()).
 */
int agent_nodes_patch(struct xlb_agent *a, const struct xlb_upstream_conf *old, size_t nold,
		      size_t first, size_t n);
void agent_nodes_free(struct xlb_agent *a);

/* desired.c */
/*
 * What the maps should hold for a's configuration, nodes and health: the
 * whole state the first time and after agent_want_forget(), else what
 * changed since the last call (a partial struct xlb_want). On error *w
 * may be partly built: xlb_want_free() it either way; the next call
 * builds the whole state.
 */
int agent_want_update(struct xlb_agent *a, struct xlb_want *w);
/* A route's VIP key: its client filter (remote_addr) is part of it. */
void agent_route_key(const struct xlb_route_conf *rc, struct xlb_vip_key *k);
/* The maps may not hold the last update (its reconcile failed): start whole. */
void agent_want_forget(struct xlb_agent *a);

/* sources.c */
/* Validate the file's text; on success *doc and *conf hold it. */
int agent_load_text(const char *text, json_t **doc, struct xlb_conf *conf,
		    struct xlb_conf_errors *errs);
/* Load and validate the file; on success *doc and *conf hold it. */
int agent_load_file(const char *file, json_t **doc, struct xlb_conf *conf,
		    struct xlb_conf_errors *errs);
/* Read the file again and make it the running configuration (a reload). */
int agent_reload_file(struct xlb_agent *a, struct xlb_conf_errors *errs);
/* Make the file (with etcd's objects, if any) the running configuration. */
int agent_adopt_file(struct xlb_agent *a, json_t *file_doc, struct xlb_conf *conf,
		     struct xlb_conf_errors *errs);
void agent_sources_free(struct xlb_agent *a);

/* watches.c */
struct agent_watch *agent_watch_find(struct agent_watch *ws, size_t n, const char *id);
/* The registry watches conf needs; discovered nodes put into conf's upstreams. */
int agent_watches_sync(struct xlb_agent *a, struct xlb_conf *conf);
/* disc_ev's callback: a watch's node set changed. */
void agent_on_disc_changed(evutil_socket_t fd, short what, void *arg);
void agent_watches_free(struct xlb_agent *a);

/* signals.c */
int agent_passive_open(struct xlb_agent *a);
int agent_netlink_open(struct xlb_agent *a);
int agent_nat_sweep_start(struct xlb_agent *a);
/* A flip was written: its latency, when a passive or kernel signal caused it. */
void agent_signal_flipped(struct xlb_agent *a);
/* Over the last samples of src (seconds); *n samples in all (0: none, the rest untouched). */
void agent_signal_latency(struct xlb_agent *a, enum xlb_agent_src src, unsigned long *n,
			  double *p50, double *p99, double *max);
void agent_signals_free(struct xlb_agent *a);

#endif /* XLB_AGENT_INT_H */
