// SPDX-License-Identifier: GPL-2.0-only
/*
 * The consul registry: GET /v1/health/service/<name>?passing as a blocking
 * query. Each answer's X-Consul-Index is sent back as ?index=N&wait=Ws, so
 * Consul holds the request until the service changes or the wait ends.
 * Consul's rules for the index: an index that goes backwards (a restored
 * or re-elected server) resets it to 0, which asks for the current state
 * at once; an unchanged index that comes back early (a server ignoring
 * wait) does not spin, the next query waits fetch_interval. After a
 * failure the query resumes from the last index, on the next server when
 * there are several (tried in order; the one that answers is kept).
 *
 * Nodes: Service.Address, or Node.Address when it is empty (Consul's own
 * rule), and Service.Port; the weight is Service.Weights.Passing (Consul's
 * 1..65535, used as is), or the configured weight when Weights is absent.
 *
 * An empty list with ?passing is ambiguous: every instance failing its
 * checks, or the service deregistered. When the last good set was not
 * empty, /v1/catalog/service/<name> (health ignored) settles it: no
 * instance registered means the service is gone; instances that are
 * registered but failing keep the last good set (an "empty answer"
 * error), as a registry hiccup must not empty an upstream.
 *
 * discovery_args: {"dc": "<datacenter>", "tag": "<tag>"} (both optional),
 * passed as Consul's dc= and tag= query parameters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "base/addr.h"
#include "discovery/discovery.h"
#include "base/http.h"
#include "discovery/httpreg.h"

#define ARG_LEN XLB_HTTPREG_ARG_LEN

struct consul {
	struct xlb_httpreg p;
	unsigned long long index; /* X-Consul-Index of the last answer; 0: none */
	int catalog;		  /* the request in flight asks the catalog */
	struct timespec sent;
	char dc[ARG_LEN], tag[ARG_LEN];
};

/* --- parsing -------------------------------------------------------------------- */

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

int xlb_consul_parse(const char *body, size_t len, __u32 dflt, struct xlb_disc_nodes *out,
		     unsigned int *skipped, char *err, size_t errlen)
{
	json_t *root, *e, *svc, *node, *addr, *port, *w, *pass;
	struct xlb_node_conf nd;
	const char *a;
	size_t i;
	int ret = -EINVAL;

	*skipped = 0;
	root = xlb_httpreg_load("health answer", body, len, err, errlen);
	if (!root)
		return -EINVAL;
	if (!json_is_array(root)) {
		snprintf(err, errlen, "health answer is %s, not an array", json_type_name(root));
		goto out;
	}
	json_array_foreach (root, i, e) {
		svc = json_object_get(e, "Service");
		node = json_object_get(e, "Node");
		if (!json_is_object(e) || !json_is_object(svc)) {
			snprintf(err, errlen, "entry %zu: no Service object", i);
			goto out;
		}
		port = json_object_get(svc, "Port");
		if (!json_is_integer(port) || json_integer_value(port) < 1 ||
		    json_integer_value(port) > 65535) {
			snprintf(err, errlen, "entry %zu: Service.Port is not a port number", i);
			goto out;
		}
		addr = json_object_get(svc, "Address");
		if (addr && !json_is_string(addr)) {
			snprintf(err, errlen, "entry %zu: Service.Address is %s, not a string", i,
				 json_type_name(addr));
			goto out;
		}
		a = addr ? json_string_value(addr) : "";
		if (!a[0]) {
			addr = node ? json_object_get(node, "Address") : NULL;
			if (!json_is_string(addr)) {
				snprintf(err, errlen,
					 "entry %zu: no Service.Address and no "
					 "Node.Address",
					 i);
				goto out;
			}
			a = json_string_value(addr);
		}
		memset(&nd, 0, sizeof(nd));
		if (xlb_addr_parse(a, &nd.addr, NULL, 0)) {
			/* A host name: xlb balances to addresses only. */
			(*skipped)++;
			continue;
		}
		nd.port = (__u16)json_integer_value(port);
		nd.weight = dflt;
		w = json_object_get(svc, "Weights");
		if (w) {
			pass = json_object_get(w, "Passing");
			if (!json_is_integer(pass) || json_integer_value(pass) < 0) {
				snprintf(err, errlen,
					 "entry %zu: Service.Weights.Passing is not "
					 "a weight",
					 i);
				goto out;
			}
			nd.weight = json_integer_value(pass) > XLB_WEIGHT_MAX
					    ? XLB_WEIGHT_MAX
					    : (__u32)json_integer_value(pass);
		}
		if (xlb_disc_nodes_add(out, &nd)) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int xlb_consul_parse_catalog(const char *body, size_t len, size_t *count, char *err, size_t errlen)
{
	json_t *root = xlb_httpreg_load("catalog answer", body, len, err, errlen);

	if (!root)
		return -EINVAL;
	if (!json_is_array(root)) {
		snprintf(err, errlen, "catalog answer is %s, not an array", json_type_name(root));
		json_decref(root);
		return -EINVAL;
	}
	*count = json_array_size(root);
	json_decref(root);
	return 0;
}

static int consul_check(const struct xlb_discovery_conf *conf, const char *service_name,
			const char *args, char *why, size_t len)
{
	char dc[ARG_LEN], tag[ARG_LEN];

	if (strlen(service_name) > 200 || strpbrk(service_name, "/?#")) {
		snprintf(why, len, "consul service_name '%s' is not a Consul service name",
			 service_name);
		return -EINVAL;
	}
	return xlb_httpreg_args2(args, "consul", "dc", dc, "tag", tag, why, len);
}

/* --- the watch ----------------------------------------------------------------------- */

static const struct xlb_disc_http_conf *consul_conf(struct xlb_disc_watch *w)
{
	return &xlb_disc_conf(xlb_disc_watch_disc(w))->consul;
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void consul_fire(struct xlb_httpreg *p);

static void on_catalog(struct consul *c, const struct xlb_http_resp *resp, const char *host)
{
	const struct xlb_disc_http_conf *conf = consul_conf(c->p.w);
	char err[256];
	size_t count;

	c->catalog = 0;
	if (xlb_consul_parse_catalog(resp->body, resp->len, &count, err, sizeof(err))) {
		/* Ask again from scratch once the server answers properly. */
		c->index = 0;
		xlb_httpreg_fail(&c->p, conf->nhosts, "consul %s: %s", host, err);
		return;
	}
	xlb_httpreg_ok(&c->p);
	/* No instance registered: gone. Registered but failing: keep the set. */
	xlb_httpreg_after(&c->p, 0);
	/* Last: the update callback may stop this watch (and free c). */
	xlb_disc_result(c->p.w, NULL, 0, count ? 0 : XLB_DISC_GONE);
}

static void on_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct consul *c = arg;
	const struct xlb_disc_http_conf *conf = consul_conf(c->p.w);
	char shown[XLB_URL_LEN];
	const char *host = xlb_httpreg_name(conf->hosts[c->p.host % conf->nhosts], shown,
					    sizeof(shown)),
		   *h;
	struct xlb_disc_nodes ns = {0};
	unsigned long long idx = 0, old = c->index;
	unsigned int skipped;
	char err[256], *end;
	size_t have;
	double next;

	c->p.req = NULL;
	if (resp->error) {
		xlb_httpreg_fail(&c->p, conf->nhosts, "consul %s: %s", host, resp->error);
		return;
	}
	if (resp->status != 200) {
		xlb_httpreg_fail(&c->p, conf->nhosts, "consul %s: HTTP %ld", host, resp->status);
		return;
	}
	if (c->catalog) {
		on_catalog(c, resp, host);
		return;
	}
	if (xlb_consul_parse(resp->body, resp->len, conf->weight, &ns, &skipped, err,
			     sizeof(err))) {
		xlb_disc_nodes_free(&ns); /* what was parsed before the problem */
		xlb_httpreg_fail(&c->p, conf->nhosts, "consul %s: %s", host, err);
		return;
	}
	if (skipped && !ns.n) {
		xlb_disc_nodes_free(&ns);
		xlb_httpreg_fail(&c->p, conf->nhosts,
				 "consul %s: no instance has an IP address "
				 "(%u with host names)",
				 host, skipped);
		return;
	}
	h = xlb_http_header(r, "X-Consul-Index");
	if (h) {
		errno = 0;
		idx = strtoull(h, &end, 10);
		if (errno || end == h || *end)
			idx = 0;
	}
	xlb_httpreg_ok(&c->p);
	/* Consul: an index that goes backwards resets it; 0 is never sent back. */
	c->index = idx < old ? 0 : idx;
	if (idx < old)
		next = 0;
	else if (!idx || (idx == old && elapsed(&c->sent) < 1.0))
		next = xlb_httpreg_interval(conf);
	else
		next = 0;
	xlb_disc_watch_nodes(c->p.w, &have);
	if (!ns.n && have && !skipped) {
		/* Ambiguous: ask the catalog whether the service is still registered. */
		c->catalog = 1;
		xlb_httpreg_after(&c->p, 0);
		return;
	}
	xlb_httpreg_after(&c->p, next);
	/* Last: the update callback may stop this watch (and free c). */
	xlb_disc_result(c->p.w, ns.v, ns.n, 0);
	xlb_disc_nodes_free(&ns);
}

static void consul_fire(struct xlb_httpreg *p)
{
	struct consul *c = (struct consul *)p;
	const struct xlb_disc_http_conf *conf = consul_conf(p->w);
	const char *host = conf->hosts[p->host % conf->nhosts];
	char shown[XLB_URL_LEN];
	/* service_name: at most 200 characters (consul_check), 3 each escaped */
	char name[3 * 200 + 1], path[1800], url[2100], q[800], v[3 * ARG_LEN + 1], tok[300];
	const char *hdrs[2] = {NULL, NULL};
	struct xlb_http_opts o = {0};
	/* Consul reads wait=0s as its default (5 min): ask for 1 s at least. */
	double wait = conf->timeout.wait <= 0  ? 60
		      : conf->timeout.wait < 1 ? 1
					       : conf->timeout.wait;
	double read = conf->timeout.read > 0 ? conf->timeout.read : 5;
	size_t ql;

	xlb_httpreg_escape(name, sizeof(name), xlb_disc_watch_service(p->w));
	q[0] = '\0';
	if (c->dc[0]) {
		xlb_httpreg_escape(v, sizeof(v), c->dc);
		ql = strlen(q);
		snprintf(q + ql, sizeof(q) - ql, "&dc=%s", v);
	}
	if (c->tag[0]) {
		xlb_httpreg_escape(v, sizeof(v), c->tag);
		ql = strlen(q);
		snprintf(q + ql, sizeof(q) - ql, "&tag=%s", v);
	}
	if (c->catalog) {
		snprintf(path, sizeof(path), "/v1/catalog/service/%s?%s", name, q[0] ? q + 1 : "");
		o.timeout = read;
	} else if (c->index) {
		snprintf(path, sizeof(path),
			 "/v1/health/service/%s?passing=1%s&index=%llu&wait=%ds", name, q, c->index,
			 (int)wait);
		/* Consul adds up to wait/16 of jitter to the wait. */
		o.timeout = wait + wait / 16 + read;
	} else {
		snprintf(path, sizeof(path), "/v1/health/service/%s?passing=1%s", name, q);
		o.timeout = read;
	}
	if (xlb_httpreg_url(url, sizeof(url), host, 0, path)) {
		xlb_httpreg_fail(p, conf->nhosts, "consul %s: URL too long",
				 xlb_httpreg_name(host, shown, sizeof(shown)));
		return;
	}
	if (conf->token[0]) {
		snprintf(tok, sizeof(tok), "X-Consul-Token: %s", conf->token);
		hdrs[0] = tok;
	}
	o.url = url;
	o.headers = hdrs;
	o.connect_timeout = conf->timeout.connect;
	o.on_done = on_done;
	o.arg = c;
	clock_gettime(CLOCK_MONOTONIC, &c->sent);
	xlb_disc_count_request(p->w);
	p->req = xlb_http_start(xlb_disc_http(xlb_disc_watch_disc(p->w)), &o);
	if (!p->req)
		xlb_httpreg_fail(p, conf->nhosts, "consul %s: cannot start a request: %s",
				 xlb_httpreg_name(host, shown, sizeof(shown)), strerror(errno));
}

static int consul_start(struct xlb_disc_watch *w)
{
	struct consul *c = calloc(1, sizeof(*c));
	char why[200];

	if (!c)
		return -ENOMEM;
	if (xlb_httpreg_args2(xlb_disc_watch_args(w), "consul", "dc", c->dc, "tag", c->tag, why,
			      sizeof(why)) ||
	    !consul_conf(w)->nhosts) {
		free(c);
		return -EINVAL;
	}
	if (xlb_httpreg_init(&c->p, w, consul_fire)) {
		free(c);
		return -ENOMEM;
	}
	xlb_disc_watch_set_priv(w, c);
	xlb_httpreg_after(&c->p, 0);
	return 0;
}

static void consul_stop(struct xlb_disc_watch *w)
{
	struct consul *c = xlb_disc_watch_priv(w);

	if (!c)
		return;
	xlb_httpreg_fini(&c->p);
	free(c);
	xlb_disc_watch_set_priv(w, NULL);
}

const struct xlb_disc_ops xlb_disc_consul = {
	.name = "consul",
	.check = consul_check,
	.start = consul_start,
	.stop = consul_stop,
};
