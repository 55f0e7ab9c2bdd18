// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nacos registry: GET {host}{prefix}ns/instance/list?serviceName=..
 * &healthyOnly=true (&namespaceId=..&groupName=.. from discovery_args
 * namespace_id and group_name, as APISIX) every fetch_interval, on the
 * first configured server that answers (failover in order).
 *
 * Authentication, as APISIX: a host written "http://user:pass@host:8848"
 * logs in with POST {prefix}auth/login (username, password) and sends the
 * accessToken it gets as a query parameter, logging in again before
 * tokenTtl runs out (at 90 % of it), when the server changes, and once
 * when a list request is refused with 401 or 403.
 *
 * Nodes: ip and port of the hosts that are healthy and enabled; weight
 * is Nacos' float (default 1.0, range 0..10000) times 100, so 1.0 -> 100
 * and 0.01 -> 1, capped at XLB_WEIGHT_MAX; weight 0 stays 0 (no traffic).
 *
 * An empty list with healthyOnly=true is ambiguous (every instance
 * unhealthy, or none registered). When the last good set was not empty,
 * the same list without healthyOnly settles it: no instance at all means
 * the service is gone; instances that exist but are unhealthy keep the
 * last good set (an "empty answer" error).
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
#include "base/log.h"

#define ARG_LEN	  XLB_HTTPREG_ARG_LEN
#define TOKEN_LEN 2048

enum nacos_phase {
	PH_LOGIN,
	PH_LIST, /* healthyOnly=true */
	PH_ALL,	 /* healthyOnly=false: is the service gone? */
};

struct nacos {
	struct xlb_httpreg p;
	enum nacos_phase phase;
	char ns[ARG_LEN], group[ARG_LEN];
	char token[TOKEN_LEN];	 /* "" = none (no credentials or not logged in) */
	double token_until;	 /* monotonic seconds */
	unsigned int token_host; /* the server the token is from */
	int relogged;		 /* logged in again after a 401/403 already */
};

/* --- parsing ------------------------------------------------------------------------- */

int xlb_nacos_parse(const char *body, size_t len, __u32 dflt, struct xlb_disc_nodes *out,
		    size_t *total, unsigned int *skipped, char *err, size_t errlen)
{
	json_t *root, *hosts, *e, *ip, *port, *healthy, *enabled;
	struct xlb_node_conf nd;
	int ret = -EINVAL;
	size_t i;

	*skipped = 0;
	*total = 0;
	root = xlb_httpreg_load("nacos answer", body, len, err, errlen);
	if (!root)
		return -EINVAL;
	hosts = json_object_get(root, "hosts");
	if (!json_is_array(hosts)) {
		snprintf(err, errlen, "nacos answer has no \"hosts\" array");
		goto out;
	}
	*total = json_array_size(hosts);
	json_array_foreach (hosts, i, e) {
		if (!json_is_object(e)) {
			snprintf(err, errlen, "hosts[%zu] is not an object", i);
			goto out;
		}
		ip = json_object_get(e, "ip");
		port = json_object_get(e, "port");
		healthy = json_object_get(e, "healthy");
		enabled = json_object_get(e, "enabled");
		if (!json_is_string(ip)) {
			snprintf(err, errlen, "hosts[%zu].ip is not a string", i);
			goto out;
		}
		if (!json_is_integer(port) || json_integer_value(port) < 1 ||
		    json_integer_value(port) > 65535) {
			snprintf(err, errlen, "hosts[%zu].port is not a port number", i);
			goto out;
		}
		if ((healthy && !json_is_boolean(healthy)) ||
		    (enabled && !json_is_boolean(enabled))) {
			snprintf(err, errlen, "hosts[%zu]: healthy or enabled is not a boolean", i);
			goto out;
		}
		if (json_is_false(healthy) || json_is_false(enabled))
			continue;
		memset(&nd, 0, sizeof(nd));
		if (xlb_addr_parse(json_string_value(ip), &nd.addr, NULL, 0)) {
			(*skipped)++;
			continue;
		}
		nd.port = (__u16)json_integer_value(port);
		if (json_object_get(e, "weight") && !json_is_number(json_object_get(e, "weight"))) {
			snprintf(err, errlen, "hosts[%zu].weight is not a number", i);
			goto out;
		}
		nd.weight = xlb_httpreg_weight(json_object_get(e, "weight"), 100, dflt);
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

int xlb_nacos_parse_login(const char *body, size_t len, char *token, size_t toklen, double *ttl,
			  char *err, size_t errlen)
{
	json_t *root, *t, *l;
	int ret = -EINVAL;

	root = xlb_httpreg_load("nacos login answer", body, len, err, errlen);
	if (!root)
		return -EINVAL;
	t = json_object_get(root, "accessToken");
	l = json_object_get(root, "tokenTtl");
	if (!json_is_string(t) || !json_string_length(t) || json_string_length(t) >= toklen) {
		snprintf(err, errlen, "nacos login answer has no usable accessToken");
		goto out;
	}
	if (!json_is_number(l) || json_number_value(l) <= 0) {
		snprintf(err, errlen, "nacos login answer has no positive tokenTtl");
		goto out;
	}
	strcpy(token, json_string_value(t));
	*ttl = json_number_value(l);
	ret = 0;
out:
	json_decref(root);
	return ret;
}

static int nacos_check(const struct xlb_discovery_conf *conf, const char *service_name,
		       const char *args, char *why, size_t len)
{
	char ns[ARG_LEN], group[ARG_LEN];

	if (strlen(service_name) > 200) {
		snprintf(why, len, "nacos service_name is longer than 200 bytes");
		return -EINVAL;
	}
	return xlb_httpreg_args2(args, "nacos", "namespace_id", ns, "group_name", group, why, len);
}

/* --- the watch ------------------------------------------------------------------------ */

static const struct xlb_disc_http_conf *nacos_conf(struct xlb_disc_watch *w)
{
	return &xlb_disc_conf(xlb_disc_watch_disc(w))->nacos;
}

static double now_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int host_has_auth(const char *host)
{
	/* Decoded, never longer than the URL: the credentials always fit. */
	char u[XLB_URL_LEN], pw[XLB_URL_LEN];

	return !xlb_httpreg_userinfo(host, u, sizeof(u), pw, sizeof(pw));
}

static void on_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct nacos *n = arg;
	const struct xlb_disc_http_conf *conf = nacos_conf(n->p.w);
	unsigned int hi = n->p.host % conf->nhosts, skipped;
	char host[XLB_URL_LEN], err[256];
	struct xlb_disc_nodes ns = {0};
	size_t total, have;
	double ttl;

	n->p.req = NULL;
	/* Never log credentials: name the server without its userinfo. */
	xlb_httpreg_name(conf->hosts[hi], host, sizeof(host));
	if (resp->error) {
		xlb_httpreg_fail(&n->p, conf->nhosts, "nacos %s: %s", host, resp->error);
		return;
	}
	if (n->phase == PH_LOGIN) {
		if (resp->status != 200) {
			xlb_httpreg_fail(&n->p, conf->nhosts, "nacos %s: login: HTTP %ld", host,
					 resp->status);
			return;
		}
		if (xlb_nacos_parse_login(resp->body, resp->len, n->token, sizeof(n->token), &ttl,
					  err, sizeof(err))) {
			xlb_httpreg_fail(&n->p, conf->nhosts, "nacos %s: %s", host, err);
			return;
		}
		n->token_until = now_mono() + ttl * 0.9;
		n->token_host = hi;
		n->phase = PH_LIST;
		xlb_httpreg_after(&n->p, 0);
		return;
	}
	if ((resp->status == 401 || resp->status == 403) && n->token[0] && !n->relogged) {
		/* The token may have been revoked or the server restarted: once more. */
		n->relogged = 1;
		n->token[0] = '\0';
		n->phase = PH_LIST;
		xlb_httpreg_after(&n->p, 0);
		return;
	}
	if (resp->status != 200) {
		xlb_httpreg_fail(&n->p, conf->nhosts, "nacos %s: HTTP %ld", host, resp->status);
		return;
	}
	if (xlb_nacos_parse(resp->body, resp->len, conf->weight, &ns, &total, &skipped, err,
			    sizeof(err))) {
		xlb_disc_nodes_free(&ns);
		xlb_httpreg_fail(&n->p, conf->nhosts, "nacos %s: %s", host, err);
		return;
	}
	n->relogged = 0;
	if (skipped && !ns.n) {
		xlb_disc_nodes_free(&ns);
		xlb_httpreg_fail(&n->p, conf->nhosts,
				 "nacos %s: no healthy instance has an IP "
				 "address",
				 host);
		return;
	}
	xlb_httpreg_ok(&n->p);
	if (n->phase == PH_ALL && !ns.n) {
		/* Nothing registered: gone. Registered but unhealthy: keep the set. */
		n->phase = PH_LIST;
		xlb_httpreg_after(&n->p, xlb_httpreg_interval(conf));
		xlb_disc_nodes_free(&ns);
		xlb_disc_result(n->p.w, NULL, 0, total ? 0 : XLB_DISC_GONE);
		return;
	}
	/* (Healthy instances in the second answer: they came back meanwhile.) */
	n->phase = PH_LIST;
	xlb_disc_watch_nodes(n->p.w, &have);
	if (!ns.n && have && !skipped) {
		n->phase = PH_ALL;
		xlb_httpreg_after(&n->p, 0);
		return;
	}
	xlb_httpreg_after(&n->p, xlb_httpreg_interval(conf));
	/* Last: the update callback may stop this watch (and free n). */
	xlb_disc_result(n->p.w, ns.v, ns.n, 0);
	xlb_disc_nodes_free(&ns);
}

static int query_add(char *q, size_t len, const char *key, const char *val)
{
	char v[3 * TOKEN_LEN + 1];
	size_t l = strlen(q);
	int k;

	if (xlb_httpreg_escape(v, sizeof(v), val))
		return -ENAMETOOLONG;
	k = snprintf(q + l, len - l, "%s%s=%s", l ? "&" : "", key, v);
	return k < 0 || (size_t)k >= len - l ? -ENAMETOOLONG : 0;
}

static void nacos_fire(struct xlb_httpreg *p)
{
	struct nacos *n = (struct nacos *)p;
	const struct xlb_disc_http_conf *conf = nacos_conf(p->w);
	unsigned int hi = p->host % conf->nhosts;
	const char *host = conf->hosts[hi];
	const char *prefix = conf->prefix[0] ? conf->prefix : "/nacos/v1/";
	static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	char path[8192], url[8600], q[7800], user[XLB_URL_LEN], pass[XLB_URL_LEN], body[1500],
		shown[XLB_URL_LEN];
	struct xlb_http_opts o = {0};
	int err = 0;

	if (n->phase == PH_LOGIN && !host_has_auth(host))
		n->phase = PH_LIST; /* failed over to a server without credentials */
	if (host_has_auth(host) && n->phase != PH_LOGIN &&
	    (!n->token[0] || n->token_host != hi || now_mono() >= n->token_until))
		n->phase = PH_LOGIN;
	q[0] = '\0';
	if (n->phase == PH_LOGIN) {
		xlb_httpreg_userinfo(host, user, sizeof(user), pass, sizeof(pass));
		err = query_add(q, sizeof(q), "username", user) ||
		      query_add(q, sizeof(q), "password", pass);
		snprintf(body, sizeof(body), "%s", q);
		snprintf(path, sizeof(path), "%sauth/login", prefix);
		o.body = body;
		o.headers = form;
	} else {
		err = query_add(q, sizeof(q), "serviceName", xlb_disc_watch_service(p->w)) ||
		      query_add(q, sizeof(q), "healthyOnly",
				n->phase == PH_LIST ? "true" : "false");
		if (!err && n->ns[0])
			err = query_add(q, sizeof(q), "namespaceId", n->ns);
		if (!err && n->group[0])
			err = query_add(q, sizeof(q), "groupName", n->group);
		if (!err && n->token[0])
			err = query_add(q, sizeof(q), "accessToken", n->token);
		snprintf(path, sizeof(path), "%sns/instance/list?%s", prefix, q);
	}
	if (err || xlb_httpreg_url(url, sizeof(url), host, 1, path)) {
		xlb_httpreg_fail(p, conf->nhosts, "nacos: URL too long");
		return;
	}
	o.url = url;
	o.connect_timeout = conf->timeout.connect;
	o.timeout = conf->timeout.connect + (conf->timeout.read > 0 ? conf->timeout.read : 5);
	o.on_done = on_done;
	o.arg = n;
	xlb_disc_count_request(p->w);
	p->req = xlb_http_start(xlb_disc_http(xlb_disc_watch_disc(p->w)), &o);
	if (!p->req) {
		xlb_httpreg_name(host, shown, sizeof(shown));
		xlb_httpreg_fail(p, conf->nhosts, "nacos %s: cannot start a request: %s", shown,
				 strerror(errno));
	}
}

static int nacos_start(struct xlb_disc_watch *w)
{
	struct nacos *n;
	char why[200];

	if (!nacos_conf(w)->nhosts)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	if (xlb_httpreg_args2(xlb_disc_watch_args(w), "nacos", "namespace_id", n->ns, "group_name",
			      n->group, why, sizeof(why))) {
		free(n);
		return -EINVAL;
	}
	if (xlb_httpreg_init(&n->p, w, nacos_fire)) {
		free(n);
		return -ENOMEM;
	}
	n->phase = PH_LIST;
	xlb_disc_watch_set_priv(w, n);
	xlb_httpreg_after(&n->p, 0);
	return 0;
}

static void nacos_stop(struct xlb_disc_watch *w)
{
	struct nacos *n = xlb_disc_watch_priv(w);

	if (!n)
		return;
	xlb_httpreg_fini(&n->p);
	memset(n->token, 0, sizeof(n->token));
	free(n);
	xlb_disc_watch_set_priv(w, NULL);
}

const struct xlb_disc_ops xlb_disc_nacos = {
	.name = "nacos",
	.check = nacos_check,
	.start = nacos_start,
	.stop = nacos_stop,
};
