/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent: the configuration (file, then Admin API edits) and the health
 * of every node become the fast path's maps. It owns one checker target per
 * backend (address, port), computes each VIP's usable members (health,
 * priority groups, the no-healthy-node policy) and reconciles the maps by
 * difference. A node that turns unusable is flipped with one map write
 * before its tables are rebuilt. What it runs is read through
 * xlb_agent_snapshot(), a copy in plain structs (the Admin API's view).
 */
#ifndef XLB_AGENT_H
#define XLB_AGENT_H

#include <stddef.h>
#include <jansson.h>
#include <linux/types.h>
#include <xlb/abi.h>
#include "base/addr.h"
#include "config/config.h"
#include "config/etcd_mirror.h"

struct event_base;
struct xlb_agent;

struct xlb_agent_stats {
	unsigned long reloads, reload_errors;
	unsigned long reconciles, reconcile_errors;
	unsigned long flips;		  /* fast-path state writes for health */
	double last_flip_us, max_flip_us; /* decision -> state written */
	double last_reconcile_ms, max_reconcile_ms;
	unsigned long health_changes;
	/* Passive checks: ring-buffer events by enum xlb_event_kind. */
	unsigned long passive_events[XLB_EVK_MAX];
	unsigned long passive_ignored; /* no such node, or no checks.passive */
	/* Kernel signals that were reported as failures, by enum xlb_agent_nl. */
	unsigned long netlink_failures[3];
	unsigned long netlink_overruns;
	/* NAT: the sweep of dead connections (xlb_nat_sweep). */
	unsigned long nat_sweeps;
	unsigned long nat_reclaimed;	/* dead connections deleted */
	unsigned long nat_syn_timeouts; /* of them: no SYN-ACK ever came */
	unsigned long nat_live;		/* connections at the last sweep */
	/* least_conn: the sweep of counted flows (xlb_lc_sweep). */
	unsigned long lc_sweeps;
	unsigned long lc_idle;	   /* idle counted flows deleted */
	unsigned long lc_released; /* active flows taken off the counts: idle, evicted */
};

/* Kernel signals the agent acts on (index of netlink_failures). */
enum xlb_agent_nl { XLB_AGENT_NL_NEIGH = 0, XLB_AGENT_NL_LINK, XLB_AGENT_NL_ROUTE };
const char *xlb_agent_nl_name(unsigned int k);

/* Sources of a signal -> map-write latency (passive events, netlink). */
enum xlb_agent_src { XLB_AGENT_SRC_PASSIVE = 0, XLB_AGENT_SRC_NETLINK, XLB_AGENT_SRC_MAX };

/**
 * xlb_agent_new() - load @conf_file, set up the data plane and start checks
 * @errs: configuration problems when the file is bad (return -EINVAL)
 *
 * Attaches to the configured interfaces where xlb is not attached yet, and
 * adopts pinned maps of a running data plane without disturbing its flows.
 * Return: the agent, or NULL with errno.
 */
struct xlb_agent *xlb_agent_new(struct event_base *base, const char *conf_file, const char *pin_dir,
				struct xlb_conf_errors *errs);
void xlb_agent_free(struct xlb_agent *a);

/*
 * What a valid configuration may say but this agent cannot act on
 * (remote_addr filters; a discovery_type whose registry has no block in
 * discovery:, or a service_name it rejects): -EINVAL with the reasons in
 * @errs. xlbd refuses such a configuration rather than run without them.
 */
int xlb_agent_conf_supported(const struct xlb_conf *conf, struct xlb_conf_errors *errs);

/*
 * What xlbd --check says: the file read and validated as at start and on
 * reload (the same refusals), without touching the data plane. 0, -EINVAL
 * with the problems in @errs, or -errno when it cannot be read (@errs says so).
 */
int xlb_agent_check_file(const char *file, struct xlb_conf_errors *errs);

/* Re-read the file; a bad file is reported in @errs and changes nothing. */
int xlb_agent_reload(struct xlb_agent *a, struct xlb_conf_errors *errs);

/*
 * Replace (or with @obj NULL, delete) the object @id of @kind ("upstreams"
 * or "stream_routes"): the whole resulting configuration is validated before
 * anything is applied. -ENOENT for a delete of nothing; -EINVAL with @errs.
 */
int xlb_agent_put(struct xlb_agent *a, const char *kind, const char *id, json_t *obj,
		  struct xlb_conf_errors *errs);
/* The configuration file's name. */
const char *xlb_agent_conf_file(struct xlb_agent *a);
/* The current configuration document (borrowed). */
json_t *xlb_agent_doc(struct xlb_agent *a);
/* The running configuration (borrowed, read-only). */
const struct xlb_conf *xlb_agent_conf(struct xlb_agent *a);
/*
 * An object's create and modify revisions in etcd (APISIX's createdIndex
 * and modifiedIndex); -ENOENT without etcd as the store or without the key.
 */
int xlb_agent_revs(struct xlb_agent *a, const char *kind, const char *id, long long *created,
		   long long *modified);
/*
 * Files the health probes may hold at once: two per node with active
 * checks, at most two per probe the checker runs at once.
 */
unsigned long long xlb_agent_probe_fds(struct xlb_agent *a);

/* --- the read-only view the Admin API serialises (snapshot.c) ------------- */

/* A named counter. */
struct xlb_agent_count {
	const char *name;
	unsigned long long n;
};

/* One node (a distinct address and port) as the agent runs it. */
struct xlb_agent_node_view {
	char label[XLB_VIPSTRLEN]; /* "198.18.0.12:80", "[2001:db8::2]:80" */
	char ip[XLB_ADDRSTRLEN];   /* XLB_SNAP_STATUS */
	__u16 port;
	unsigned int health; /* its state: xlb_agent_health_name(health) */
	/* The health machine's counters. */
	unsigned int success, http_failure, tcp_failure, timeout;
	double latency_s; /* of the last probe; < 0: none yet */
	unsigned long probes;
	/* XLB_SNAP_STATUS: the health's name, or "STATE (operator)" while held. */
	char status[32];
	/* XLB_SNAP_METRICS: NAT figures, when the node answered (SYN-ACK, RST). */
	int nat;
	double synack_ewma_s;
	unsigned long long synacks, node_rsts;
	/* XLB_SNAP_METRICS: the fast path's counters, when in the maps. */
	int has_traffic;
	struct xlb_traffic traffic;
	unsigned long long active_flows; /* least_conn's count (with has_traffic) */
};

/* A node of an upstream, in configuration order. */
struct xlb_agent_member_view {
	long node; /* index in the snapshot's nodes; -1: none */
	char host[XLB_ADDRSTRLEN];
	__u16 port;
	unsigned long weight;
	int priority;
	double confirmed; /* wall clock: the registry's answer or the load */
};

/* A registry watch's state (upstreams with discovery_type). */
struct xlb_agent_watch_view {
	int answered;		   /* a good answer came since the watch started */
	double confirmed, changed; /* wall clock; 0: never */
	unsigned long answers, errors, changes;
	char error[256]; /* "" when the last answer was good */
};

struct xlb_agent_upstream_view {
	char id[XLB_ID_LEN];
	const char *check; /* active check: "tcp", "http", "https" or "none" */
	int active;
	char discovery_type[32]; /* "": static nodes ("config") */
	char service_name[256];
	int watched; /* watch below valid */
	struct xlb_agent_watch_view watch;
	struct xlb_agent_member_view *members;
	size_t nmembers;
};

/* Signal -> fast-path state write, over the last samples (seconds). */
struct xlb_agent_latency {
	const char *source; /* "passive", "netlink" */
	unsigned long n;    /* samples in all; 0: none (the rest 0) */
	double p50, p99, max;
};

struct xlb_agent_registry_view {
	const char *type; /* "dns", "consul", ... */
	unsigned long requests, answers, errors, changes;
};

/* deployment.etcd as a source. */
struct xlb_agent_etcd_view {
	int on; /* etcd is the source: the rest is valid */
	int connected;
	long long revision;
	unsigned long requests, updates, errors, resyncs, reconnects;
	unsigned int bad_values;
	unsigned long rejects; /* objects left out as invalid */
	/* keys not served, by xlb_etcd_other_kind_name(); unused invalid upstreams */
	unsigned int ignored[XLB_ETCD_OTHER_KINDS], ignored_upstreams;
};

struct xlb_agent_vip_view {
	char name[XLB_VIPSTRLEN]; /* "198.18.0.10:80/tcp" */
	struct xlb_traffic traffic;
};

enum xlb_snap_part {
	XLB_SNAP_STATUS = 1 << 0,	/* nodes' status (the operator's hold) and ip */
	XLB_SNAP_METRICS = 1 << 1,	/* everything /metrics shows */
	XLB_SNAP_NO_UPSTREAMS = 1 << 2, /* upstreams left out (metrics per node) */
};

struct xlb_decap_peer;

struct xlb_agent_snapshot {
	struct xlb_agent_stats st;
	struct xlb_agent_node_view *nodes; /* sorted by address and port */
	size_t nnodes;
	struct xlb_agent_upstream_view *upstreams; /* configuration order */
	size_t nupstreams;
	/* XLB_SNAP_METRICS */
	struct xlb_agent_vip_view *vips;
	size_t nvips;
	__u32 nat_capacity, nat_entry_bytes;
	__u64 nat_bytes;
	int have_reasons;
	struct xlb_agent_count reasons[XLB_R_MAX];
	struct xlb_agent_count passive[XLB_EVK_MAX]; /* [XLB_EVK_NONE] unused */
	struct xlb_agent_count netlink[XLB_AGENT_NL_ROUTE + 1];
	struct xlb_agent_latency latency[XLB_AGENT_SRC_MAX];
	struct xlb_agent_registry_view *registries; /* every registry type */
	size_t nregistries;
	struct xlb_agent_etcd_view etcd;
	/* xlb_decap's hand-offs per peer, when its maps are pinned in the pin dir */
	int have_decap;
	struct xlb_decap_peer *decap_peers; /* by address (dataplane/maps.h) */
	size_t ndecap_peers;
};

/**
 * xlb_agent_snapshot() - what the agent runs, copied out
 * @parts: enum xlb_snap_part bits: what to read besides nodes and upstreams
 *
 * Return: 0 or -ENOMEM; xlb_agent_snapshot_free() @s either way.
 */
int xlb_agent_snapshot(struct xlb_agent *a, unsigned int parts, struct xlb_agent_snapshot *s);
void xlb_agent_snapshot_free(struct xlb_agent_snapshot *s);
/* The name of health state i ("healthy", ...); NULL past the last one. */
const char *xlb_agent_health_name(unsigned int i);

#endif /* XLB_AGENT_H */
