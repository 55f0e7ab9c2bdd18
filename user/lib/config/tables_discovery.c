/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The key tables of APISIX's config.yaml that xlb reads: discovery: (dns,
 * consul, eureka, nacos, kubernetes) and deployment.etcd. Times are kept
 * in seconds whatever unit the document uses (registry timeouts are
 * written in milliseconds, as in APISIX). The root table (tables.c) holds
 * them under "discovery" and "deployment".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/addr.h"
#include "config/tables.h"

/* --- discovery: and deployment.etcd (APISIX's config.yaml) ------------------ */

static int check_dns_server(const char *s, unsigned long long v, char *why, size_t len)
{
	struct xlb_addr_key a;
	__u16 port = 0;

	if (!xlb_endpoint_parse(s, &a, &port, NULL, 0) && port)
		return 0;
	snprintf(why, len, "must be ADDR:PORT of a DNS server (e.g. 127.0.0.1:53), not '%s'", s);
	return -EINVAL;
}

/* A registry or etcd address: http(s)://host[:port], nothing after it. */
static int check_base_url(const char *s, unsigned long long v, char *why, size_t len)
{
	const char *h = !strncmp(s, "http://", 7)    ? s + 7
			: !strncmp(s, "https://", 8) ? s + 8
						     : NULL;

	if (h && *h && *h != '/' && !strpbrk(h, " \t\r\n?#") &&
	    (!strchr(h, '/') || !strchr(h, '/')[1]))
		return 0;
	snprintf(why, len, "must be a URL http://HOST[:PORT] or https://HOST[:PORT], not '%s'", s);
	return -EINVAL;
}

static int check_prefix(const char *s, unsigned long long v, char *why, size_t len)
{
	if (s[0] == '/' && !strpbrk(s, " \t\r\n?#"))
		return 0;
	snprintf(why, len, "must be a path that starts with '/', not '%s'", s);
	return -EINVAL;
}

/* A registry's API prefix: URLs are prefix + "apps/..." and the like. */
static int check_dir_prefix(const char *s, unsigned long long v, char *why, size_t len)
{
	if (check_prefix(s, v, why, len))
		return -EINVAL;
	if (s[strlen(s) - 1] == '/')
		return 0;
	snprintf(why, len, "must end with '/' (paths are appended to it), not '%s'", s);
	return -EINVAL;
}

#define HOSTS(type, m, req)                                                                     \
	KT_STRLIST, F(type, m), .off2 = offsetof(struct type, n##m), .max = XLB_DISC_HOSTS_MAX, \
				.check = check_base_url, .flags = req

/* Registry timeouts are in milliseconds, as in APISIX. */
#define MS(type, m, d) KT_SECONDS, F(type, m), .dmax = 600000, .flags = K_MS, .def = d

static const struct key dns_keys[] = {
	{"servers", KT_STRLIST, F(xlb_disc_dns_conf, servers),
	 .off2 = offsetof(struct xlb_disc_dns_conf, nservers), .max = XLB_DISC_HOSTS_MAX,
	 .check = check_dns_server, .flags = K_REQUIRED},
	{"timeout", KT_SECONDS, F(xlb_disc_dns_conf, timeout), .dmax = 60, .def = "2"},
	{"min_ttl", KT_SECONDS, F(xlb_disc_dns_conf, min_ttl), .dmax = 86400, .def = "1"},
	{"max_ttl", KT_SECONDS, F(xlb_disc_dns_conf, max_ttl), .dmax = 86400, .def = "3600"},
	{"weight", KT_UINT, F(xlb_disc_dns_conf, weight), .min = 1, .max = XLB_WEIGHT_MAX,
	 .def = "1"},
	{"resolv_conf", KT_UNSUPPORTED, .note = "list the servers"},
	{"order", KT_UNSUPPORTED, .note = "SRV is tried first, then A and AAAA"},
	{"enable_resolv_search_opt", KT_UNSUPPORTED, .note = "use fully qualified names"},
};
_Static_assert(ARRAY_SIZE(dns_keys) <= KEYS_MAX, "dns_keys");

static void check_dns(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_disc_dns_conf *c = obj;

	if (c->min_ttl > c->max_ttl)
		xlb_schema_report(p, n, path, "min_ttl (%g) must not exceed max_ttl (%g)",
				  c->min_ttl, c->max_ttl);
}
static const struct table dns_table =
	TABLE(dns_keys, .check = check_dns, .present = PRESENT(xlb_disc_dns_conf, enabled));

static const struct key timeout_keys[] = {
	{"connect", MS(xlb_disc_timeout, connect, "2000")},
	{"send", MS(xlb_disc_timeout, send, "2000")},
	{"read", MS(xlb_disc_timeout, read, "5000")},
	/* consul: how long a blocking query may wait, in seconds */
	{"wait", KT_SECONDS, F(xlb_disc_timeout, wait), .dmax = 600, .def = "60"},
};
static const struct table timeout_table = TABLE(timeout_keys);

static const struct key consul_keys[] = {
	{"servers", HOSTS(xlb_disc_http_conf, hosts, K_REQUIRED)},
	{"token", KT_STR, F(xlb_disc_http_conf, token)},
	{"timeout", KT_OBJECT, F(xlb_disc_http_conf, timeout), .sub = &timeout_table},
	{"weight", KT_UINT, F(xlb_disc_http_conf, weight), .min = 1, .max = XLB_WEIGHT_MAX,
	 .def = "1"},
	{"fetch_interval", KT_SECONDS, F(xlb_disc_http_conf, fetch_interval), .dmax = 3600,
	 .def = "3"},
	{"keepalive", KT_META}, /* connections are always reused */
	{"sort_type", KT_META}, /* nodes are always sorted by address */
	{"skip_services", KT_UNSUPPORTED, .note = "xlb only watches the services upstreams name"},
	{"default_service", KT_UNSUPPORTED, .note = "name every service in an upstream"},
	{"dump", KT_UNSUPPORTED, .note = "xlb upstream show lists the discovered nodes"},
};
_Static_assert(ARRAY_SIZE(consul_keys) <= KEYS_MAX, "consul_keys");
static const struct table consul_table =
	TABLE(consul_keys, .present = PRESENT(xlb_disc_http_conf, enabled));

static const struct key eureka_keys[] = {
	{"host", HOSTS(xlb_disc_http_conf, hosts, K_REQUIRED)},
	{"prefix", KT_STR, F(xlb_disc_http_conf, prefix), .check = check_dir_prefix,
	 .def = "/eureka/"},
	{"fetch_interval", KT_SECONDS, F(xlb_disc_http_conf, fetch_interval), .dmax = 3600,
	 .def = "30"},
	{"weight", KT_UINT, F(xlb_disc_http_conf, weight), .min = 1, .max = XLB_WEIGHT_MAX,
	 .def = "100"},
	{"timeout", KT_OBJECT, F(xlb_disc_http_conf, timeout), .sub = &timeout_table},
};
static const struct table eureka_table =
	TABLE(eureka_keys, .present = PRESENT(xlb_disc_http_conf, enabled));

static const struct key nacos_keys[] = {
	{"host", HOSTS(xlb_disc_http_conf, hosts, K_REQUIRED)},
	{"prefix", KT_STR, F(xlb_disc_http_conf, prefix), .check = check_dir_prefix,
	 .def = "/nacos/v1/"},
	{"fetch_interval", KT_SECONDS, F(xlb_disc_http_conf, fetch_interval), .dmax = 3600,
	 .def = "30"},
	{"weight", KT_UINT, F(xlb_disc_http_conf, weight), .min = 1, .max = XLB_WEIGHT_MAX,
	 .def = "100"},
	{"timeout", KT_OBJECT, F(xlb_disc_http_conf, timeout), .sub = &timeout_table},
};
static const struct table nacos_table =
	TABLE(nacos_keys, .present = PRESENT(xlb_disc_http_conf, enabled));

static const struct choice schema_choices[] = {
	{"https", 0},
	{"http", 0},
	{0},
};

static const struct key k8s_service_keys[] = {
	{"schema", KT_ENUM, F(xlb_disc_k8s_conf, schema), .flags = K_TEXT,
	 .choices = schema_choices, .def = "https"},
	{"host", KT_STR, F(xlb_disc_k8s_conf, host), .min = 1, .def = "${KUBERNETES_SERVICE_HOST}"},
	{"port", KT_STR, F(xlb_disc_k8s_conf, port), .min = 1, .def = "${KUBERNETES_SERVICE_PORT}"},
};
static const struct table k8s_service_table = TABLE(k8s_service_keys);

static const struct key k8s_client_keys[] = {
	{"token", KT_STR, F(xlb_disc_k8s_conf, token)},
	{"token_file", KT_STR, F(xlb_disc_k8s_conf, token_file),
	 .def = "/var/run/secrets/kubernetes.io/serviceaccount/token"},
	{"ca_file", KT_STR, F(xlb_disc_k8s_conf, ca_file),
	 .def = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"},
};
static const struct table k8s_client_table = TABLE(k8s_client_keys);

static const struct key k8s_keys[] = {
	{"service", KT_OBJECT, .sub = &k8s_service_table},
	{"client", KT_OBJECT, .sub = &k8s_client_table},
	{"watch_endpoint_slices", KT_BOOL, F(xlb_disc_k8s_conf, watch_endpoint_slices),
	 .def = "true"},
	{"default_weight", KT_UINT, F(xlb_disc_k8s_conf, default_weight), .min = 1,
	 .max = XLB_WEIGHT_MAX, .def = "50"},
	{"shared_size", KT_META}, /* an nginx shared dict's size */
	{"namespace_selector", KT_UNSUPPORTED, .note = "service_name names the namespace"},
	{"label_selector", KT_UNSUPPORTED, .note = "service_name names the service"},
};
/*
 * service.host and .port may name an environment variable, "${NAME}", as
 * APISIX's defaults do (${KUBERNETES_SERVICE_HOST} inside a pod): it is
 * read when the file is.
 */
static void expand_env(struct parser *p, yaml_node_t *n, const char *path, const char *key,
		       char *field, size_t size)
{
	char name[sizeof(((struct xlb_disc_k8s_conf *)0)->host)], kpath[PATH_LEN];
	const char *v;
	size_t len = strlen(field);

	if (len < 4 || strncmp(field, "${", 2) || field[len - 1] != '}')
		return;
	_Static_assert(sizeof(name) >= sizeof(((struct xlb_disc_k8s_conf *)0)->port), "name");
	snprintf(name, sizeof(name), "%.*s", (int)(len - 3), field + 2);
	v = getenv(name);
	xlb_schema_path_key(kpath, path, key);
	if (!v || !*v || strlen(v) >= size)
		xlb_schema_report(p, n, kpath, "environment variable %s is %s: set %s", name,
				  v && *v ? "too long" : "not set (not in a pod?)", kpath);
	else
		snprintf(field, size, "%s", v);
}

static void check_k8s(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	struct xlb_disc_k8s_conf *c = obj;
	char kpath[PATH_LEN];
	yaml_node_t *w;

	/* The Endpoints API is deprecated: xlb reads EndpointSlices only. */
	if (!c->watch_endpoint_slices &&
	    (w = xlb_schema_map_find(p, n, "watch_endpoint_slices", NULL))) {
		xlb_schema_path_key(kpath, path, "watch_endpoint_slices");
		xlb_schema_report(p, w, kpath,
				  "false (the Endpoints API) is not supported: xlb reads "
				  "EndpointSlices (discovery.k8s.io/v1) only");
	}

	expand_env(p, n, path, "service.host", c->host, sizeof(c->host));
	expand_env(p, n, path, "service.port", c->port, sizeof(c->port));
}

static const struct table k8s_table =
	TABLE(k8s_keys, .check = check_k8s, .present = PRESENT(xlb_disc_k8s_conf, enabled));

static const struct key discovery_keys[] = {
	{"dns", KT_OBJECT, F(xlb_discovery_conf, dns), .sub = &dns_table},
	{"consul", KT_OBJECT, F(xlb_discovery_conf, consul), .sub = &consul_table},
	{"eureka", KT_OBJECT, F(xlb_discovery_conf, eureka), .sub = &eureka_table},
	{"nacos", KT_OBJECT, F(xlb_discovery_conf, nacos), .sub = &nacos_table},
	{"kubernetes", KT_OBJECT, F(xlb_discovery_conf, kubernetes), .sub = &k8s_table},
	{"consul_kv", KT_UNSUPPORTED, .note = "use consul"},
	{"tars", KT_UNSUPPORTED},
};
const struct table xlb_conf_discovery_table = TABLE(discovery_keys);

static const struct key etcd_keys[] = {
	{"host", HOSTS(xlb_etcd_conf, hosts, K_REQUIRED)},
	{"prefix", KT_STR, F(xlb_etcd_conf, prefix), .check = check_prefix, .def = "/apisix"},
	{"timeout", KT_SECONDS, F(xlb_etcd_conf, timeout), .dmax = 3600, .def = "30"},
	{"user", KT_STR, F(xlb_etcd_conf, user)},
	{"password", KT_STR, F(xlb_etcd_conf, password)},
	{"tls", KT_UNSUPPORTED, .note = "use https:// hosts with the system's CA store"},
	{"startup_retry", KT_META}, /* xlb retries with backoff, forever */
	{"resync_delay", KT_META},
	{"health_check_timeout", KT_META},
	{"watch_timeout", KT_META},
};
static const struct table etcd_table = TABLE(etcd_keys, .present = PRESENT(xlb_etcd_conf, enabled));

static const struct key deployment_keys[] = {
	{"etcd", KT_OBJECT, .sub = &etcd_table},
	/* xlb is always a data plane that reads etcd; these only say so. */
	{"role", KT_META},
	{"role_traditional", KT_META},
	{"role_data_plane", KT_META},
	{"admin", KT_UNSUPPORTED, .note = "use xlb.admin"},
};
const struct table xlb_conf_deployment_table = TABLE(deployment_keys);
