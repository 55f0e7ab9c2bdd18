/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent: the configuration (file, then Admin API edits) and the health
 * of every node become the fast path's maps. It owns one checker target per
 * backend (address, port), computes each VIP's usable members (health,
 * priority groups, the no-healthy-node policy) and reconciles the maps by
 * difference. A node that turns unusable is flipped with one map write
 * before its tables are rebuilt.
 */
#ifndef XLB_AGENT_H
#define XLB_AGENT_H

#include <jansson.h>
#include "config/config.h"
#include "dataplane/maps.h"

struct event_base;
struct xlb_agent;
struct xlb_checker;

struct xlb_agent_stats {
	unsigned long reloads, reload_errors;
	unsigned long reconciles, reconcile_errors;
	unsigned long flips;			/* fast-path state writes for health */
	double last_flip_us, max_flip_us;	/* decision -> state written */
	double last_reconcile_ms, max_reconcile_ms;
	unsigned long health_changes;
	/* Passive checks: ring-buffer events by enum xlb_event_kind. */
	unsigned long passive_events[XLB_EVK_MAX];
	unsigned long passive_ignored;		/* no such node, or no checks.passive */
	/* Kernel signals that were reported as failures, by enum xlb_agent_nl. */
	unsigned long netlink_failures[3];
	unsigned long netlink_overruns;
	/* NAT: the sweep of dead connections (xlb_nat_sweep). */
	unsigned long nat_sweeps;
	unsigned long nat_reclaimed;		/* dead connections deleted */
	unsigned long nat_syn_timeouts;		/* of them: no SYN-ACK ever came */
	unsigned long nat_live;			/* connections at the last sweep */
};

/* Kernel signals the agent acts on (index of netlink_failures). */
enum xlb_agent_nl { XLB_AGENT_NL_NEIGH = 0, XLB_AGENT_NL_LINK, XLB_AGENT_NL_ROUTE };
const char *xlb_agent_nl_name(unsigned int k);
const char *xlb_event_kind_name(unsigned int k);

/* Sources of a signal -> map-write latency (passive events, netlink). */
enum xlb_agent_src { XLB_AGENT_SRC_PASSIVE = 0, XLB_AGENT_SRC_NETLINK, XLB_AGENT_SRC_MAX };
/*
 * Signal -> fast-path state write, over the last samples (seconds): p50,
 * p99, max; *n samples in all (0: none, the rest untouched).
 */
void xlb_agent_signal_latency(struct xlb_agent *a, enum xlb_agent_src src, unsigned long *n,
			      double *p50, double *p99, double *max);

/**
 * xlb_agent_new() - load @conf_file, set up the data plane and start checks
 * @errs: configuration problems when the file is bad (return -EINVAL)
 *
 * Attaches to the configured interfaces where xlb is not attached yet, and
 * adopts pinned maps of a running data plane without disturbing its flows.
 * Return: the agent, or NULL with errno.
 */
struct xlb_agent *xlb_agent_new(struct event_base *base, const char *conf_file,
				const char *pin_dir, struct xlb_conf_errors *errs);
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
/*
 * Upstream id as the agent runs it: its nodes (static or discovered) with
 * each one's source ("config" or the registry), when it was last confirmed
 * (wall-clock seconds) and its health, plus the registry watch's status.
 * NULL: no such upstream.
 */
json_t *xlb_agent_upstream_view(struct xlb_agent *a, const char *id);
/* The configuration file's name. */
const char *xlb_agent_conf_file(struct xlb_agent *a);
/* The current configuration document (borrowed). */
json_t *xlb_agent_doc(struct xlb_agent *a);
const struct xlb_conf *xlb_agent_conf(struct xlb_agent *a);
struct xlb_checker *xlb_agent_checker(struct xlb_agent *a);
struct xlb_maps *xlb_agent_maps(struct xlb_agent *a);
struct xlb_disc;
/* The registry watches' manager; NULL while no upstream uses discovery. */
struct xlb_disc *xlb_agent_disc(struct xlb_agent *a);
struct xlb_etcd;
/* The etcd source (NULL without deployment.etcd); *rejects: objects left out as invalid. */
struct xlb_etcd *xlb_agent_etcd(struct xlb_agent *a, unsigned long *rejects);
const struct xlb_agent_stats *xlb_agent_stats(struct xlb_agent *a);

struct xlb_target;
/* Every node: its label ("addr:port"), target and backend id (~0U: none). */
typedef int (*xlb_agent_node_cb)(const char *label, struct xlb_target *t, __u32 be_id, void *arg);
int xlb_agent_foreach_node(struct xlb_agent *a, xlb_agent_node_cb cb, void *arg);

#endif /* XLB_AGENT_H */
