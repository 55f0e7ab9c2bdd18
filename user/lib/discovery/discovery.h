/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Service discovery: an upstream with discovery_type + service_name gets
 * its nodes from a registry. One watch per upstream; one file per registry
 * (dns.c, consul.c, eureka.c, nacos.c, kubernetes.c) implements struct
 * xlb_disc_ops; everything runs on the agent's libevent loop and never
 * blocks (HTTP through http.h on libcurl's multi interface, DNS through
 * c-ares).
 *
 * The rules every registry gets from this layer, not from its own code:
 *  - A registry reports answers with xlb_disc_result() and failures with
 *    xlb_disc_error(). The watch keeps the last good node set; an error
 *    never changes it. An empty answer replaces a non-empty set only when
 *    the registry says the service is gone (XLB_DISC_GONE); otherwise it
 *    counts as an error ("empty answer").
 *  - Errors are logged once per change of error text (and once when the
 *    registry answers well again) and counted per registry for /metrics.
 *  - Node sets are normalised (sorted by address and port, duplicates
 *    merged) so that an unchanged answer costs no reconcile; each good
 *    answer, changed or not, updates the time the set was last confirmed.
 *  - Retries after errors wait xlb_disc_backoff(): exponential from 1 s to
 *    60 s with +-25 % jitter, reset by a good answer.
 *
 * Response parsers are pure functions (bytes in, nodes or an error out) so
 * that unit tests and libFuzzer targets call them without a loop.
 */
#ifndef XLB_DISCOVERY_H
#define XLB_DISCOVERY_H

#include <stdarg.h>
#include <stddef.h>
#include <xlb/abi.h>
#include "config/config.h"

struct event_base;
struct xlb_disc;
struct xlb_disc_watch;
struct xlb_http;

/*
 * A registry's node is a configuration node (struct xlb_node_conf): the
 * registries fill the same struct the file does, and the agent uses their
 * sets as an upstream's nodes unchanged.
 */

/* A growing node list for parsers (free with xlb_disc_nodes_free). */
struct xlb_disc_nodes {
	size_t n, cap;
	struct xlb_node_conf *v;
};
int xlb_disc_nodes_add(struct xlb_disc_nodes *ns, const struct xlb_node_conf *nd);
void xlb_disc_nodes_free(struct xlb_disc_nodes *ns);

/* xlb_disc_result() flags */
#define XLB_DISC_GONE (1U << 0) /* the registry says: no such service (now) */

/* A registry's implementation. */
struct xlb_disc_ops {
	const char *name; /* discovery_type */
	/*
	 * Check service_name and discovery_args (JSON text or NULL) without
	 * side effects: 0, or -EINVAL with a message in why. Used when the
	 * configuration is validated, before anything is applied.
	 */
	int (*check)(const struct xlb_discovery_conf *conf, const char *service_name,
		     const char *args, char *why, size_t len);
	/*
	 * Start watching w (xlb_disc_watch_service() etc. say what); the
	 * first answer or error comes later, on the loop. Private state goes
	 * in xlb_disc_watch_set_priv(). 0 or -errno.
	 */
	int (*start)(struct xlb_disc_watch *w);
	/* Stop every request and timer of w and free its private state. */
	void (*stop)(struct xlb_disc_watch *w);
};

extern const struct xlb_disc_ops xlb_disc_dns, xlb_disc_consul, xlb_disc_eureka, xlb_disc_nacos,
	xlb_disc_kubernetes;

/* --- the manager (one per agent) ------------------------------------------- */

struct xlb_disc *xlb_disc_new(struct event_base *base, const struct xlb_discovery_conf *conf);
void xlb_disc_free(struct xlb_disc *d);
/*
 * New registry settings (a reload). Watches keep their node sets; those
 * of a registry whose settings changed are restarted.
 */
void xlb_disc_set_conf(struct xlb_disc *d, const struct xlb_discovery_conf *conf);
const struct xlb_discovery_conf *xlb_disc_conf(const struct xlb_disc *d);
struct event_base *xlb_disc_base(const struct xlb_disc *d);
/* The HTTP client shared by the HTTP registries. */
struct xlb_http *xlb_disc_http(struct xlb_disc *d);

/* The registry named type, or NULL. */
const struct xlb_disc_ops *xlb_disc_find(const char *type);
/*
 * Validate an upstream's discovery settings against conf: 0, or -EINVAL
 * with the reason (unknown or unconfigured registry, bad service_name...).
 */
int xlb_disc_check(const struct xlb_discovery_conf *conf, const char *type,
		   const char *service_name, const char *args, char *why, size_t len);

/* --- watches ---------------------------------------------------------------- */

/* Called on the loop after a watch's node set changed. */
typedef void (*xlb_disc_update_fn)(struct xlb_disc_watch *w, void *arg);

/*
 * Watch type/service_name/args (validated with xlb_disc_check first).
 * @seed: a node set to start from (the last one the data plane had, so a
 * restart or reload does not empty the upstream before the first answer);
 * may be NULL.
 */
struct xlb_disc_watch *xlb_disc_watch_new(struct xlb_disc *d, const char *type,
					  const char *service_name, const char *args,
					  const struct xlb_node_conf *seed, size_t nseed,
					  xlb_disc_update_fn cb, void *arg);
void xlb_disc_watch_free(struct xlb_disc_watch *w);

/* The last good node set, sorted by (address, port); valid until the next update. */
const struct xlb_node_conf *xlb_disc_watch_nodes(const struct xlb_disc_watch *w, size_t *n);

struct xlb_disc_status {
	int have_answer;  /* a good answer came since the watch started */
	double confirmed; /* wall clock (seconds) of the last good answer; 0: none */
	double changed;	  /* wall clock of the last change of the node set */
	unsigned long answers, errors, changes;
	char error[256]; /* the current error; "" when the last answer was good */
};
void xlb_disc_watch_status(const struct xlb_disc_watch *w, struct xlb_disc_status *st);

/* For registries: what to watch. */
struct xlb_disc *xlb_disc_watch_disc(const struct xlb_disc_watch *w);
const char *xlb_disc_watch_type(const struct xlb_disc_watch *w);
const char *xlb_disc_watch_service(const struct xlb_disc_watch *w);
const char *xlb_disc_watch_args(const struct xlb_disc_watch *w); /* JSON text or NULL */
void *xlb_disc_watch_priv(const struct xlb_disc_watch *w);
void xlb_disc_watch_set_priv(struct xlb_disc_watch *w, void *priv);

/*
 * For registries: a good answer (nodes need not be sorted or unique;
 * flags XLB_DISC_GONE), or an error (the text names the registry's
 * problem: "consul http://127.0.0.1:8500: HTTP 500").
 */
void xlb_disc_result(struct xlb_disc_watch *w, const struct xlb_node_conf *nodes, size_t n,
		     unsigned int flags);
void xlb_disc_error(struct xlb_disc_watch *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Seconds to wait before the next try after an error (backoff with jitter). */
double xlb_disc_backoff(struct xlb_disc_watch *w);

/* --- counters for /metrics, per registry type --------------------------------- */

struct xlb_disc_counters {
	unsigned long requests; /* requests or queries sent */
	unsigned long answers;	/* good answers */
	unsigned long errors;	/* failed requests and bad answers */
	unsigned long changes;	/* node-set changes applied */
};
/* Registry types in a fixed order for metrics: i = 0.. while non-NULL. */
const char *xlb_disc_type_at(unsigned int i);
void xlb_disc_counters(const struct xlb_disc *d, const char *type, struct xlb_disc_counters *c);
/* Registries count their requests here. */
void xlb_disc_count_request(struct xlb_disc_watch *w);

#endif /* XLB_DISCOVERY_H */
