/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the HTTP registries (consul.c, eureka.c, nacos.c, kubernetes.c)
 * share: their pure response parsers (bytes -> nodes, for the unit tests
 * and the libFuzzer targets), and small helpers for polling a list of
 * servers with failover on the agent's loop.
 */
#ifndef XLB_HTTPREG_H
#define XLB_HTTPREG_H

#include <stddef.h>
#include <jansson.h>
#include "discovery/discovery.h"

/* --- parsers: 0, or -EINVAL with a reason in err --------------------------------- */

/*
 * Consul /v1/health/service/<name>: an array of {Node: {Address},
 * Service: {Address, Port, Weights: {Passing}}}. Service.Address, or
 * Node.Address when it is empty; weight Weights.Passing (else dflt).
 * *skipped counts entries whose address is not an IP literal.
 */
int xlb_consul_parse(const char *body, size_t len, __u32 dflt, struct xlb_disc_nodes *out,
		     unsigned int *skipped, char *err, size_t errlen);
/* Consul /v1/catalog/service/<name>: how many instances are registered. */
int xlb_consul_parse_catalog(const char *body, size_t len, size_t *count, char *err, size_t errlen);

/*
 * Eureka apps/<APP> in JSON: {"application": {"instance": [..] or {..}}};
 * instances whose overriddenStatus (when set and not UNKNOWN) or status is
 * UP; ipAddr; securePort when enabled, else port when enabled;
 * metadata.weight (number or decimal text) else dflt.
 */
int xlb_eureka_parse(const char *body, size_t len, __u32 dflt, struct xlb_disc_nodes *out,
		     unsigned int *skipped, char *err, size_t errlen);

/*
 * Nacos ns/instance/list: {"hosts": [{ip, port, weight, healthy, enabled}]}.
 * Healthy and enabled instances; weight (a float, Nacos' default 1.0) is
 * scaled by 100 (1.0 -> 100, 0.01 -> 1) and capped at XLB_WEIGHT_MAX; a
 * missing weight gives dflt. *total counts every host listed, healthy
 * or not.
 */
int xlb_nacos_parse(const char *body, size_t len, __u32 dflt, struct xlb_disc_nodes *out,
		    size_t *total, unsigned int *skipped, char *err, size_t errlen);
/* Nacos auth/login: {"accessToken": "...", "tokenTtl": seconds}. */
int xlb_nacos_parse_login(const char *body, size_t len, char *token, size_t toklen, double *ttl,
			  char *err, size_t errlen);

/*
 * Kubernetes EndpointSlices. The watch keeps every slice of the service
 * by name; the node set is the union of their ready endpoints' addresses
 * with the port named port_name.
 */
struct xlb_k8s_slice {
	char *name;
	struct xlb_disc_nodes nodes; /* ready addresses with the port */
	size_t endpoints;	     /* endpoints listed, ready or not */
};
struct xlb_k8s_slices {
	size_t n, cap;
	struct xlb_k8s_slice *v;
	char rv[128]; /* resourceVersion to resume from */
};
void xlb_k8s_slices_free(struct xlb_k8s_slices *s);
/* All nodes of all slices into out (appended). */
int xlb_k8s_slices_nodes(const struct xlb_k8s_slices *s, struct xlb_disc_nodes *out);

/* An EndpointSliceList: replaces s (on error s is unchanged). */
int xlb_k8s_parse_list(const char *body, size_t len, const char *port_name, __u32 weight,
		       struct xlb_k8s_slices *s, char *err, size_t errlen);

enum xlb_k8s_event {
	XLB_K8S_CHANGED = 0, /* ADDED, MODIFIED, DELETED applied */
	XLB_K8S_BOOKMARK,    /* only the resourceVersion moved */
	XLB_K8S_GONE,	     /* ERROR 410: the version is too old, list again */
	XLB_K8S_ERROR,	     /* another ERROR event (err says which) */
};
/* One watch event (one JSON line): >= 0 an enum xlb_k8s_event, or -EINVAL. */
int xlb_k8s_parse_event(const char *line, size_t len, const char *port_name, __u32 weight,
			struct xlb_k8s_slices *s, char *err, size_t errlen);

/* --- helpers ------------------------------------------------------------------------ */

/* A weight from a JSON number or decimal text, times scale, capped; dflt otherwise. */
__u32 xlb_httpreg_weight(const json_t *v, double scale, __u32 dflt);
/* Seconds between polls: fetch_interval, at least 0.1 s (0 must not spin). */
double xlb_httpreg_interval(const struct xlb_disc_http_conf *conf);
/* Parse a JSON document, or say what is wrong with it. */
json_t *xlb_httpreg_load(const char *what, const char *body, size_t len, char *err, size_t errlen);
/* "http://h:1" + "/v1/x" with no doubled slash; without userinfo when strip_auth. */
int xlb_httpreg_url(char *buf, size_t len, const char *host, int strip_auth, const char *path);
/* host as it may be logged: no userinfo (credentials), no trailing slash. */
const char *xlb_httpreg_name(const char *host, char *buf, size_t len);
/* user and password from "scheme://user:pass@host" (percent-decoded); 0 when present. */
int xlb_httpreg_userinfo(const char *host, char *user, size_t ulen, char *pass, size_t plen);
/* s percent-encoded for a URL query or path segment into buf. */
int xlb_httpreg_escape(char *buf, size_t len, const char *s);

#define XLB_HTTPREG_ARG_LEN 128 /* a discovery_args value, NUL included */
/*
 * discovery_args (JSON text or NULL) of a registry that takes two optional
 * strings, keys k1 and k2: their values into v1 and v2 (XLB_HTTPREG_ARG_LEN
 * bytes each; "" when absent). 0, or -EINVAL with the reason in why.
 */
int xlb_httpreg_args2(const char *args, const char *type, const char *k1, char *v1, const char *k2,
		      char *v2, char *why, size_t len);

/*
 * A poll loop over the servers of one registry: one request at a time, a
 * timer for the next one, and the server in use (kept while it answers;
 * on a failure the next one is tried at once, and only when every server
 * failed in a row does the watch report the error and back off).
 */
struct xlb_httpreg {
	struct xlb_disc_watch *w;
	struct event *timer;
	struct xlb_http_req *req;
	unsigned int host;   /* index of the server in use */
	unsigned int failed; /* servers that failed in a row */
	char first[256];     /* the first failure of the round */
	void (*fire)(struct xlb_httpreg *p);
};
int xlb_httpreg_init(struct xlb_httpreg *p, struct xlb_disc_watch *w,
		     void (*fire)(struct xlb_httpreg *p));
void xlb_httpreg_fini(struct xlb_httpreg *p);
void xlb_httpreg_after(struct xlb_httpreg *p, double secs);
/* A good answer from the current server. */
void xlb_httpreg_ok(struct xlb_httpreg *p);
/*
 * The current server failed (msg says how): try the next one now, or,
 * after a whole round of failures, report msg and back off.
 */
void xlb_httpreg_fail(struct xlb_httpreg *p, unsigned int nhosts, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* XLB_HTTPREG_H */
