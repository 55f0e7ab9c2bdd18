// SPDX-License-Identifier: GPL-2.0-only
/*
 * The eureka registry: GET {host}{prefix}apps/<APP> with Accept:
 * application/json every fetch_interval, on the first of the configured
 * servers that answers (failover in order; the one that answers is kept).
 * A host URL may carry user:password for Eureka's basic authentication.
 *
 * Nodes: instances whose overriddenStatus (when set and not UNKNOWN), or
 * else status, is UP; address ipAddr; securePort when enabled, else port
 * when enabled (APISIX's order); weight metadata.weight, else the
 * configured weight. "instance" is an array, or a single object in
 * answers converted from Eureka's XML. "$" and "@enabled" come as numbers
 * or text and booleans or text in the wild; both are accepted.
 *
 * Gone: Eureka answers 404 for an application with no instance left
 * registered. An application whose instances are all DOWN or
 * OUT_OF_SERVICE answers 200 with no UP instance: that keeps the last
 * good set (an "empty answer" error), as does every failure.
 *
 * discovery_args: none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "base/addr.h"
#include "discovery/discovery.h"
#include "base/http.h"
#include "discovery/httpreg.h"

struct eureka {
	struct xlb_httpreg p;
};

/* --- parsing ---------------------------------------------------------------------- */

static int is_true(const json_t *v)
{
	return json_is_true(v) || (json_is_string(v) && !strcmp(json_string_value(v), "true"));
}

/* {"$": 8080, "@enabled": "true"}: the port when enabled, 0 when not, -1 when malformed. */
static int port_of(const json_t *p)
{
	const json_t *num, *en;
	long long v;
	char *end;

	if (!p)
		return 0;
	if (!json_is_object(p))
		return -1;
	en = json_object_get(p, "@enabled");
	if (!is_true(en))
		return 0;
	num = json_object_get(p, "$");
	if (json_is_integer(num)) {
		v = json_integer_value(num);
	} else if (json_is_string(num)) {
		v = strtoll(json_string_value(num), &end, 10);
		if (end == json_string_value(num) || *end)
			return -1;
	} else {
		return -1;
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

static int instance_up(const json_t *inst)
{
	const json_t *ov = json_object_get(inst, "overriddenStatus"), *st;

	/* Eureka's own rule: an override other than UNKNOWN wins. */
	if (json_is_string(ov) && json_string_length(ov) &&
	    strcmp(json_string_value(ov), "UNKNOWN"))
		return !strcmp(json_string_value(ov), "UP");
	/* Some servers spell it overriddenstatus. */
	ov = json_object_get(inst, "overriddenstatus");
	if (json_is_string(ov) && json_string_length(ov) &&
	    strcmp(json_string_value(ov), "UNKNOWN"))
		return !strcmp(json_string_value(ov), "UP");
	st = json_object_get(inst, "status");
	return json_is_string(st) && !strcmp(json_string_value(st), "UP");
}

static int add_instance(const json_t *inst, size_t i, __u32 dflt, struct xlb_disc_nodes *out,
			unsigned int *skipped, char *err, size_t errlen)
{
	const json_t *ip, *md, *st;
	struct xlb_node_conf nd;
	int port, sport;

	if (!json_is_object(inst)) {
		snprintf(err, errlen, "instance %zu is not an object", i);
		return -EINVAL;
	}
	st = json_object_get(inst, "status");
	if (!json_is_string(st)) {
		snprintf(err, errlen, "instance %zu: status is not a string", i);
		return -EINVAL;
	}
	if (!instance_up(inst))
		return 0;
	ip = json_object_get(inst, "ipAddr");
	if (!json_is_string(ip)) {
		snprintf(err, errlen, "instance %zu: ipAddr is not a string", i);
		return -EINVAL;
	}
	port = port_of(json_object_get(inst, "port"));
	sport = port_of(json_object_get(inst, "securePort"));
	if (port < 0 || sport < 0) {
		snprintf(err, errlen, "instance %zu: malformed port or securePort", i);
		return -EINVAL;
	}
	if (sport)
		port = sport;
	if (!port) {
		snprintf(err, errlen, "instance %zu: neither port nor securePort is enabled", i);
		return -EINVAL;
	}
	memset(&nd, 0, sizeof(nd));
	if (xlb_addr_parse(json_string_value(ip), &nd.addr, NULL, 0)) {
		(*skipped)++;
		return 0;
	}
	nd.port = (__u16)port;
	md = json_object_get(inst, "metadata");
	nd.weight = xlb_httpreg_weight(json_is_object(md) ? json_object_get(md, "weight") : NULL, 1,
				       dflt);
	if (xlb_disc_nodes_add(out, &nd)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int xlb_eureka_parse(const char *body, size_t len, __u32 dflt, struct xlb_disc_nodes *out,
		     unsigned int *skipped, char *err, size_t errlen)
{
	json_t *root, *app, *inst, *e;
	int ret = -EINVAL;
	size_t i;

	*skipped = 0;
	root = xlb_httpreg_load("eureka answer", body, len, err, errlen);
	if (!root)
		return -EINVAL;
	app = json_object_get(root, "application");
	if (!json_is_object(app)) {
		snprintf(err, errlen, "eureka answer has no \"application\" object");
		goto out;
	}
	inst = json_object_get(app, "instance");
	if (!inst) {
		ret = 0; /* an application without instances */
		goto out;
	}
	if (json_is_object(inst)) {
		ret = add_instance(inst, 0, dflt, out, skipped, err, errlen);
		goto out;
	}
	if (!json_is_array(inst)) {
		snprintf(err, errlen, "application.instance is neither an array nor an object");
		goto out;
	}
	json_array_foreach (inst, i, e) {
		ret = add_instance(e, i, dflt, out, skipped, err, errlen);
		if (ret)
			goto out;
	}
	ret = 0;
out:
	if (ret)
		ret = -EINVAL;
	json_decref(root);
	return ret;
}

/* --- the watch ----------------------------------------------------------------------- */

static const struct xlb_disc_http_conf *eureka_conf(struct xlb_disc_watch *w)
{
	return &xlb_disc_conf(xlb_disc_watch_disc(w))->eureka;
}

static int eureka_check(const struct xlb_discovery_conf *conf, const char *service_name,
			const char *args, char *why, size_t len)
{
	if (strlen(service_name) > 200 || strpbrk(service_name, "/?#%")) {
		snprintf(why, len, "eureka service_name '%s' is not an application name",
			 service_name);
		return -EINVAL;
	}
	if (args && strcmp(args, "{}") && strcmp(args, "null")) {
		snprintf(why, len, "discovery_args: eureka takes none");
		return -EINVAL;
	}
	return 0;
}

static void on_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct eureka *e = arg;
	const struct xlb_disc_http_conf *conf = eureka_conf(e->p.w);
	char shown[XLB_URL_LEN];
	const char *host =
		xlb_httpreg_name(conf->hosts[e->p.host % conf->nhosts], shown, sizeof(shown));
	struct xlb_disc_nodes ns = {0};
	unsigned int skipped;
	char err[256];

	e->p.req = NULL;
	if (resp->error) {
		xlb_httpreg_fail(&e->p, conf->nhosts, "eureka %s: %s", host, resp->error);
		return;
	}
	if (resp->status == 404) {
		/* Eureka drops an application with its last instance. */
		xlb_httpreg_ok(&e->p);
		xlb_httpreg_after(&e->p, xlb_httpreg_interval(conf));
		xlb_disc_result(e->p.w, NULL, 0, XLB_DISC_GONE);
		return;
	}
	if (resp->status != 200) {
		xlb_httpreg_fail(&e->p, conf->nhosts, "eureka %s: HTTP %ld", host, resp->status);
		return;
	}
	if (xlb_eureka_parse(resp->body, resp->len, conf->weight, &ns, &skipped, err,
			     sizeof(err))) {
		xlb_disc_nodes_free(&ns);
		xlb_httpreg_fail(&e->p, conf->nhosts, "eureka %s: %s", host, err);
		return;
	}
	if (skipped && !ns.n) {
		xlb_httpreg_fail(&e->p, conf->nhosts,
				 "eureka %s: no UP instance has an IP "
				 "address in ipAddr",
				 host);
		return;
	}
	xlb_httpreg_ok(&e->p);
	xlb_httpreg_after(&e->p, xlb_httpreg_interval(conf));
	/* Last: the update callback may stop this watch (and free e). */
	xlb_disc_result(e->p.w, ns.v, ns.n, 0);
	xlb_disc_nodes_free(&ns);
}

static void eureka_fire(struct xlb_httpreg *p)
{
	struct eureka *e = (struct eureka *)p;
	const struct xlb_disc_http_conf *conf = eureka_conf(p->w);
	const char *host = conf->hosts[p->host % conf->nhosts];
	char shown[XLB_URL_LEN];
	static const char *const hdrs[] = {"Accept: application/json", NULL};
	char name[700], path[1000], url[1400];
	struct xlb_http_opts o = {0};

	xlb_httpreg_escape(name, sizeof(name), xlb_disc_watch_service(p->w));
	snprintf(path, sizeof(path), "%sapps/%s", conf->prefix[0] ? conf->prefix : "/eureka/",
		 name);
	if (xlb_httpreg_url(url, sizeof(url), host, 0, path)) {
		xlb_httpreg_fail(p, conf->nhosts, "eureka %s: URL too long",
				 xlb_httpreg_name(host, shown, sizeof(shown)));
		return;
	}
	o.url = url;
	o.headers = hdrs;
	o.connect_timeout = conf->timeout.connect;
	o.timeout = conf->timeout.connect + (conf->timeout.read > 0 ? conf->timeout.read : 5);
	o.on_done = on_done;
	o.arg = e;
	xlb_disc_count_request(p->w);
	p->req = xlb_http_start(xlb_disc_http(xlb_disc_watch_disc(p->w)), &o);
	if (!p->req)
		xlb_httpreg_fail(p, conf->nhosts, "eureka %s: cannot start a request: %s",
				 xlb_httpreg_name(host, shown, sizeof(shown)), strerror(errno));
}

static int eureka_start(struct xlb_disc_watch *w)
{
	struct eureka *e;

	if (!eureka_conf(w)->nhosts)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (xlb_httpreg_init(&e->p, w, eureka_fire)) {
		free(e);
		return -ENOMEM;
	}
	xlb_disc_watch_set_priv(w, e);
	xlb_httpreg_after(&e->p, 0);
	return 0;
}

static void eureka_stop(struct xlb_disc_watch *w)
{
	struct eureka *e = xlb_disc_watch_priv(w);

	if (!e)
		return;
	xlb_httpreg_fini(&e->p);
	free(e);
	xlb_disc_watch_set_priv(w, NULL);
}

const struct xlb_disc_ops xlb_disc_eureka = {
	.name = "eureka",
	.check = eureka_check,
	.start = eureka_start,
	.stop = eureka_stop,
};
