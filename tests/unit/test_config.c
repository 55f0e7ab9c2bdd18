/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Over 1,000 lines on purpose: one row per validation rule of the whole
 * configuration, run by one row runner; parts would each repeat the runner.
 *
 * The configuration parser (user/lib/config/: config.c and the schema engine,
 * tables and link pass it runs).
 *
 * Good documents: the shipped example (scripts/xlb.example.yaml) and small
 * ones in YAML and JSON must give the exact model, APISIX's defaults
 * included. Bad documents, table-driven: each row is a document and every
 * error it must give, exactly ("LINE:COL: PATH: MESSAGE", in order) and no
 * other; the parse must fail with -EINVAL and leave the caller's struct
 * zeroed. Every validation rule has a row. Checks print actual vs expected
 * and count failures; a failing test lists all bad rows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/addr.h"
#include "config/config.h"
#include "../lib/check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FILE_NAME     "t.yaml"
#define WANT_MAX      12
#define EXAMPLE	      "scripts/xlb.example.yaml"

/* --- checks beyond tests/lib/check.h ------------------------------------ */

static void print_errors(const struct xlb_conf_errors *errs)
{
	char buf[512];
	size_t i;

	for (i = 0; i < errs->n && i < ARRAY_SIZE(errs->e); i++) {
		xlb_conf_error_str(FILE_NAME, &errs->e[i], buf, sizeof(buf));
		print_error("  %s\n", buf);
	}
}

/* Parses a document that must be good. */
static void parse_good(const char *name, const char *text, struct xlb_conf *conf)
{
	struct xlb_conf_errors errs;
	int err;

	err = xlb_conf_parse(text, conf, &errs);
	if (err || errs.n) {
		print_error("%s: xlb_conf_parse() = %d, %zu error(s):\n", name, err, errs.n);
		print_errors(&errs);
	}
	assert_int_equal(err, 0);
	assert_int_equal(errs.n, 0);
}

static void check_addr(const struct xlb_addr_key *a, const char *want, const char *what)
{
	char buf[XLB_ADDRSTRLEN];

	check_str(xlb_addr_str(a->addr, a->family, buf, sizeof(buf)), want, "%s", what);
	check_int(a->family, strchr(want, ':') ? XLB_AF_INET6 : XLB_AF_INET, "%s family", what);
}

static void check_node(const struct xlb_upstream_conf *u, size_t i, const char *addr,
		       unsigned int port, unsigned int weight, int priority)
{
	const struct xlb_node_conf *n = &u->nodes[i];
	char what[128];

	snprintf(what, sizeof(what), "upstream %s node %zu", u->id, i);
	check_addr(&n->addr, addr, what);
	check_int(n->port, port, "%s port", what);
	check_int(n->weight, weight, "%s weight", what);
	check_int(n->priority, priority, "%s priority", what);
}

static void check_vip(const struct xlb_route_conf *r, const char *want)
{
	char buf[XLB_VIPSTRLEN];

	check_str(xlb_vip_str(&r->vip, buf, sizeof(buf)), want, "route %s VIP", r->id);
}

static void check_statuses(const unsigned int *codes, unsigned int n, const char *want,
			   const char *what)
{
	char buf[256];
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < n && off < sizeof(buf); i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%u", i ? " " : "", codes[i]);
	check_str(buf, want, "%s http_statuses", what);
}

/* APISIX's defaults, for the parts of a check block not written. */
#define ACTIVE_HEALTHY_STATUSES	  "200 302"
#define ACTIVE_UNHEALTHY_STATUSES "429 404 500 501 502 503 504 505"
#define PASSIVE_HEALTHY_STATUSES                   \
	"200 201 202 203 204 205 206 207 208 226 " \
	"300 301 302 303 304 305 306 307 308"
#define PASSIVE_UNHEALTHY_STATUSES "429 500 503"

static void check_passive_defaults(const struct xlb_check_passive *c, const char *what)
{
	check_int(c->type, XLB_CHECK_HTTP, "%s passive.type", what);
	check_int(c->healthy.successes, 5, "%s passive.healthy.successes", what);
	check_statuses(c->healthy.http_statuses, c->healthy.nstatus, PASSIVE_HEALTHY_STATUSES,
		       what);
	check_int(c->unhealthy.tcp_failures, 2, "%s passive.unhealthy.tcp_failures", what);
	check_int(c->unhealthy.timeouts, 7, "%s passive.unhealthy.timeouts", what);
	check_int(c->unhealthy.http_failures, 5, "%s passive.unhealthy.http_failures", what);
	check_statuses(c->unhealthy.http_statuses, c->unhealthy.nstatus, PASSIVE_UNHEALTHY_STATUSES,
		       what);
}

static void check_active_defaults(const struct xlb_check_active *c, const char *what)
{
	check_int(c->type, XLB_CHECK_HTTP, "%s active.type", what);
	check_dbl(c->timeout, 1, "%s active.timeout", what);
	check_int(c->concurrency, 10, "%s active.concurrency", what);
	check_int(c->port, 0, "%s active.port", what);
	check_str(c->http_method, "GET", "%s active.http_method", what);
	check_str(c->http_path, "/", "%s active.http_path", what);
	check_str(c->http_req_body, "", "%s active.http_req_body", what);
	check_str(c->host, "", "%s active.host", what);
	check_int(c->https_verify_certificate, 1, "%s active.https_verify_certificate", what);
	check_int(c->nheaders, 0, "%s active.nheaders", what);
	check_dbl(c->healthy.interval, 1, "%s active.healthy.interval", what);
	check_int(c->healthy.successes, 2, "%s active.healthy.successes", what);
	check_statuses(c->healthy.http_statuses, c->healthy.nstatus, ACTIVE_HEALTHY_STATUSES, what);
	check_dbl(c->unhealthy.interval, 1, "%s active.unhealthy.interval", what);
	check_int(c->unhealthy.http_failures, 5, "%s active.unhealthy.http_failures", what);
	check_int(c->unhealthy.tcp_failures, 2, "%s active.unhealthy.tcp_failures", what);
	check_int(c->unhealthy.timeouts, 3, "%s active.unhealthy.timeouts", what);
	check_statuses(c->unhealthy.http_statuses, c->unhealthy.nstatus, ACTIVE_UNHEALTHY_STATUSES,
		       what);
}

/* --- good documents --------------------------------------------------------- */

/* The example, from the working directory (make unit) or next to the binary. */
static int load_example(struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	char exe[4096], path[4200], *slash;
	ssize_t n;

	if (!access(EXAMPLE, R_OK))
		return xlb_conf_load(EXAMPLE, conf, errs);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/../../../" EXAMPLE, exe);
	return xlb_conf_load(path, conf, errs);
}

static void test_example(void **state)
{
	const struct xlb_upstream_conf *web, *inl;
	const struct xlb_route_conf *r;
	struct xlb_conf_errors errs;
	struct xlb_conf c;
	int err;

	err = load_example(&c, &errs);
	if (err)
		print_errors(&errs);
	assert_int_equal(err, 0);

	/* xlb: what is written, and the defaults of the rest. */
	check_int(c.xlb.nifaces, 1, "nifaces");
	check_str(c.xlb.interfaces[0], "eth0", "interfaces[0]");
	check_int(c.xlb.generic_mode, 0, "generic_mode");
	check_int(c.xlb.forward, XLB_FWD_IPIP, "forward");
	check_str(c.xlb.encap_src, "", "encap_src");
	check_str(c.xlb.encap_src6, "", "encap_src6");
	check_int(c.xlb.on_no_healthy, XLB_NO_HEALTHY_FAIL_OPEN, "on_no_healthy");
	check_int(c.xlb.table_size, 0, "table_size");
	check_int(c.xlb.hash_seed, 0, "hash_seed");
	check_int(c.xlb.flows, 0, "flows");
	check_int(c.xlb.flows6, 0, "flows6 (as flows)");
	check_str(c.xlb.admin_listen, "127.0.0.1:9180", "admin_listen");
	check_str(c.xlb.api_key, "", "api_key (none: the generated one)");
	check_int(c.xlb.admin_max_connections, 64, "admin max_connections");
	check_int(c.xlb.admin_max_header_size, 8192, "admin max_header_size");
	check_int(c.xlb.admin_max_body_size, 1 << 20, "admin max_body_size");
	check_int(c.xlb.admin_header_timeout * 1000, 10000, "admin header_timeout");
	check_int(c.xlb.admin_body_timeout * 1000, 30000, "admin body_timeout");
	check_int(c.xlb.admin_idle_timeout * 1000, 15000, "admin idle_timeout");
	check_str(c.xlb.log_level, "info", "log_level");

	/* Upstream "web", then the route's inline one. */
	check_int(c.nupstreams, 2, "nupstreams");
	web = xlb_conf_upstream(&c, "web");
	inl = xlb_conf_upstream(&c, "route:2");
	assert_non_null(web);
	assert_non_null(inl);
	check_int(web == &c.upstreams[0], 1, "web is upstreams[0]");
	check_str(web->name, "web servers", "web name");
	check_int(web->type, XLB_LB_ROUNDROBIN, "web type");
	check_int(web->hash_src, 0, "web hash_src");
	check_int(web->proto, IPPROTO_TCP, "web proto");
	check_int(web->line, 38, "web line");
	check_str(web->discovery_type, "", "web discovery_type");
	check_str(web->service_name, "", "web service_name");
	check_int(web->discovery_args == NULL, 1, "web discovery_args");
	check_int(web->nnodes, 3, "web nnodes");
	if (web->nnodes == 3) {
		check_node(web, 0, "198.18.0.12", 80, 1, 0);
		check_node(web, 1, "198.18.0.13", 80, 2, 0);
		check_node(web, 2, "198.18.0.14", 80, 3, 0);
	}
	check_int(web->active.enabled, 1, "web active.enabled");
	check_int(web->active.type, XLB_CHECK_HTTP, "web active.type");
	check_str(web->active.http_path, "/health", "web http_path");
	check_dbl(web->active.timeout, 1, "web timeout");
	check_int(web->active.concurrency, 10, "web concurrency (default)");
	check_int(web->active.port, 0, "web active.port (default)");
	check_int(web->active.https_verify_certificate, 1, "web verify (default)");
	check_dbl(web->active.healthy.interval, 0.2, "web healthy.interval");
	check_int(web->active.healthy.successes, 2, "web healthy.successes");
	check_statuses(web->active.healthy.http_statuses, web->active.healthy.nstatus,
		       ACTIVE_HEALTHY_STATUSES, "web healthy (default)");
	check_dbl(web->active.unhealthy.interval, 0.2, "web unhealthy.interval");
	check_int(web->active.unhealthy.http_failures, 2, "web http_failures");
	check_int(web->active.unhealthy.tcp_failures, 2, "web tcp_failures");
	check_int(web->active.unhealthy.timeouts, 2, "web timeouts");
	check_statuses(web->active.unhealthy.http_statuses, web->active.unhealthy.nstatus,
		       ACTIVE_UNHEALTHY_STATUSES, "web unhealthy (default)");
	check_int(web->passive.enabled, 0, "web passive.enabled");
	check_passive_defaults(&web->passive, "web");

	check_int(inl->type, XLB_LB_ROUNDROBIN, "route:2 type");
	check_int(inl->proto, IPPROTO_TCP, "route:2 proto");
	check_int(inl->line, 79, "route:2 line");
	check_int(inl->nnodes, 3, "route:2 nnodes");
	if (inl->nnodes == 3) {
		check_node(inl, 0, "fd00:78:6c62::12", 80, 1, 0);
		check_node(inl, 1, "fd00:78:6c62::13", 80, 1, 0);
		check_node(inl, 2, "fd00:78:6c62::14", 80, 1, 0);
	}
	check_int(inl->active.enabled, 1, "route:2 active.enabled");
	check_int(inl->active.type, XLB_CHECK_TCP, "route:2 active.type");
	check_dbl(inl->active.healthy.interval, 0.2, "route:2 healthy.interval");
	check_int(inl->active.healthy.successes, 2, "route:2 healthy.successes (default)");
	check_dbl(inl->active.unhealthy.interval, 0.2, "route:2 unhealthy.interval");
	check_int(inl->active.unhealthy.tcp_failures, 2, "route:2 tcp_failures");
	check_int(inl->active.unhealthy.timeouts, 2, "route:2 timeouts");
	check_int(inl->active.unhealthy.http_failures, 5, "route:2 http_failures (default)");

	/* Routes. */
	check_int(c.nroutes, 2, "nroutes");
	r = &c.routes[0];
	check_str(r->id, "1", "routes[0] id");
	check_vip(r, "198.18.100.1:80/tcp");
	check_int(r->remote.family, 0, "routes[0] remote family");
	check_int(r->remote_plen, 0, "routes[0] remote_plen");
	check_str(r->upstream_id, "web", "routes[0] upstream_id");
	check_int(r->line, 68, "routes[0] line");
	r = &c.routes[1];
	check_str(r->id, "2", "routes[1] id");
	check_vip(r, "[fd00:78:6c62:100::1]:80/tcp");
	check_str(r->upstream_id, "route:2", "routes[1] upstream_id");
	check_int(r->line, 75, "routes[1] line");

	check_int(xlb_conf_upstream(&c, "nope") == NULL, 1, "unknown upstream");
	xlb_conf_free(&c);
	check_int(c.nupstreams + c.nroutes, 0, "freed conf is empty");
	check_int(c.upstreams == NULL && c.routes == NULL, 1, "freed conf has no arrays");
	check_done();
}

/* Omitted blocks get APISIX's defaults; the checker is never left disabled. */
static void test_defaults(void **state)
{
	const struct xlb_upstream_conf *u;
	struct xlb_conf c;

	parse_good("defaults",
		   "upstreams:\n"
		   "  - {id: none, nodes: {\"198.18.0.1:80\": 1}}\n"
		   "  - {id: empty, nodes: {}, checks: {active: {}, passive: {}}}\n"
		   "  - id: partial\n"
		   "    nodes: {}\n"
		   "    checks:\n"
		   "      active: {type: tcp, unhealthy: {timeouts: 9}}\n"
		   "stream_routes: []\n",
		   &c);
	check_int(c.nupstreams, 3, "nupstreams");

	u = &c.upstreams[0];
	check_int(u->type, XLB_LB_ROUNDROBIN, "type: roundrobin, as APISIX");
	check_int(u->hash_src, 0, "hash_src");
	check_int(u->unhealthy_move, 0, "unhealthy_flows: keep");
	check_int(u->proto, IPPROTO_TCP, "proto");
	check_str(u->name, "", "name");
	check_int(u->active.enabled, 0, "none: active.enabled");
	check_int(u->passive.enabled, 0, "none: passive.enabled");
	check_active_defaults(&u->active, "none");
	check_passive_defaults(&u->passive, "none");

	u = &c.upstreams[1];
	check_int(u->nnodes, 0, "empty: nnodes");
	check_int(u->nodes == NULL, 1, "empty: nodes");
	check_int(u->active.enabled, 1, "empty: active.enabled");
	check_int(u->passive.enabled, 1, "empty: passive.enabled");
	check_active_defaults(&u->active, "empty");
	check_passive_defaults(&u->passive, "empty");

	u = &c.upstreams[2];
	check_int(u->active.type, XLB_CHECK_TCP, "partial: type");
	check_int(u->active.unhealthy.timeouts, 9, "partial: timeouts");
	check_int(u->active.unhealthy.tcp_failures, 2, "partial: tcp_failures");
	check_dbl(u->active.unhealthy.interval, 1, "partial: unhealthy.interval");
	check_int(u->active.healthy.successes, 2, "partial: healthy.successes");

	/* xlb settings, all defaults. */
	check_int(c.xlb.nifaces, 0, "nifaces");
	check_int(c.xlb.generic_mode, 0, "generic_mode");
	check_int(c.xlb.forward, XLB_FWD_IPIP, "forward");
	check_int(c.xlb.on_no_healthy, XLB_NO_HEALTHY_FAIL_OPEN, "on_no_healthy");
	check_int(c.xlb.table_size, 0, "table_size");
	check_str(c.xlb.admin_listen, "127.0.0.1:9180", "admin_listen");
	check_str(c.xlb.api_key, "", "api_key");
	check_str(c.xlb.log_level, "info", "log_level");
	xlb_conf_free(&c);

	/* Anchors and aliases: one checks block shared by two upstreams. */
	parse_good("anchors",
		   "upstreams:\n"
		   "  - {id: a, nodes: {}, checks: &c {active: {healthy: {interval_ms: 500}}}}\n"
		   "  - {id: b, nodes: {}, checks: *c}\n"
		   "stream_routes: []\n",
		   &c);
	check_int(c.upstreams[1].active.enabled, 1, "anchors: active.enabled");
	check_dbl(c.upstreams[1].active.healthy.interval, 0.5, "anchors: interval");
	xlb_conf_free(&c);

	/* No routes, written as such: a valid, empty configuration. */
	parse_good("no routes", "stream_routes: []\n", &c);
	check_int(c.nupstreams + c.nroutes, 0, "no routes: nothing");
	check_int(c.xlb.table_size, 0, "no routes: table_size");
	xlb_conf_free(&c);
	check_done();
}

/* Every field that the example does not set, set. */
/* discovery: and deployment.etcd with APISIX's defaults, timeouts in seconds. */
static void test_discovery_defaults(void **state)
{
	struct xlb_conf c;

	parse_good("discovery_defaults",
		   "deployment: {role: traditional, etcd: {host: [\"http://127.0.0.1:2379\"]}}\n"
		   "discovery:\n"
		   "  dns: {servers: [\"127.0.0.1:53\", \"[::1]:5353\"]}\n"
		   "  consul: {servers: [\"http://127.0.0.1:8500\"], timeout: {connect: 500}}\n"
		   "  eureka: {host: [\"http://127.0.0.1:8761\"]}\n"
		   "  nacos: {host: [\"http://nacos:nacos@127.0.0.1:8848\"], weight: 10}\n"
		   "  kubernetes: {service: {schema: http, host: 127.0.0.1, port: \"8080\"}}\n",
		   &c);
	check_int(c.etcd.enabled, 1, "etcd.enabled");
	check_str(c.etcd.prefix, "/apisix", "etcd.prefix");
	check_int(c.etcd.timeout == 30, 1, "etcd.timeout 30 s");
	check_int(c.discovery.dns.enabled, 1, "dns.enabled");
	check_int(c.discovery.dns.nservers, 2, "dns.nservers");
	check_str(c.discovery.dns.servers[1], "[::1]:5353", "dns.servers[1]");
	check_int(c.discovery.dns.min_ttl == 1 && c.discovery.dns.max_ttl == 3600, 1, "dns ttl");
	check_int(c.discovery.consul.enabled, 1, "consul.enabled");
	check_int(c.discovery.consul.timeout.connect == 0.5, 1, "consul connect 500 ms");
	check_int(c.discovery.consul.timeout.read == 5, 1, "consul read default 5000 ms");
	check_int(c.discovery.consul.timeout.wait == 60, 1, "consul wait 60 s");
	check_int(c.discovery.consul.weight, 1, "consul.weight");
	check_str(c.discovery.eureka.prefix, "/eureka/", "eureka.prefix");
	check_int(c.discovery.eureka.fetch_interval == 30, 1, "eureka.fetch_interval");
	check_int(c.discovery.eureka.weight, 100, "eureka.weight");
	check_str(c.discovery.nacos.prefix, "/nacos/v1/", "nacos.prefix");
	check_int(c.discovery.nacos.weight, 10, "nacos.weight");
	check_str(c.discovery.kubernetes.host, "127.0.0.1", "kubernetes.host");
	check_str(c.discovery.kubernetes.schema, "http", "kubernetes.schema");
	check_str(c.discovery.kubernetes.token_file,
		  "/var/run/secrets/kubernetes.io/serviceaccount/token", "kubernetes.token_file");
	check_int(c.discovery.kubernetes.default_weight, 50, "kubernetes.default_weight");
	xlb_conf_free(&c);

	/* service.host from an environment variable: a long name is read whole. */
	{
		char name[201], doc[400];

		memset(name, 'H', 200);
		name[200] = '\0';
		setenv(name, "198.18.9.9", 1);
		snprintf(doc, sizeof(doc),
			 "discovery: {kubernetes: {service: {host: \"${%s}\", "
			 "port: \"6443\"}}}\nstream_routes: []\n",
			 name);
		parse_good("env_long_name", doc, &c);
		check_str(c.discovery.kubernetes.host, "198.18.9.9",
			  "host from a long variable name");
		xlb_conf_free(&c);
		unsetenv(name);
	}

	parse_good("no_discovery", "xlb: {}\nstream_routes: []\n", &c);
	check_int(c.etcd.enabled || c.discovery.dns.enabled || c.discovery.consul.enabled ||
			  c.discovery.kubernetes.enabled,
		  0, "absent blocks are not enabled");
	xlb_conf_free(&c);
	check_done();
}

static void test_fields(void **state)
{
	const struct xlb_upstream_conf *u;
	const struct xlb_route_conf *r;
	struct xlb_conf c;

	parse_good(
		"fields",
		"xlb:\n"
		"  interfaces: [eth0, \"eth1.100\"]\n"
		"  mode: generic\n"
		"  forward: l2\n"
		"  encap_src: 10.9.0.0/24\n"
		"  encap_src6: \"fd00:9::/64\"\n"
		"  on_no_healthy: fail_closed\n"
		"  table_size: 131071\n"
		"  hash_seed: 4294967295\n"
		"  flows: 134217728\n"
		"  flows6: 1024\n"
		"  admin: {listen: \"[::1]:9180\"}\n"
		"  log_level: debug\n"
		"upstreams:\n"
		"  - id: db\n"
		"    name: \"1.10\"\n"
		"    desc: databases\n"
		"    labels: {team: storage}\n"
		"    create_time: 1700000000\n"
		"    update_time: 1700000001\n"
		"    type: roundrobin\n"
		"    hash_on: vars\n"
		"    scheme: udp\n"
		"    nodes:\n"
		"      - {host: 198.18.0.21, port: 5432, weight: 0, priority: -1}\n"
		"      - {host: \"[fd00::21]\", port: 5432, weight: 65535, metadata: {az: a}}\n"
		"    checks:\n"
		"      active:\n"
		"        type: https\n"
		"        timeout: 2.5\n"
		"        concurrency: 3\n"
		"        host: db.example\n"
		"        port: 8443\n"
		"        http_path: /ping?x=1\n"
		"        http_method: OPTIONS\n"
		"        http_req_body: \"{\\\"ping\\\": 1}\"\n"
		"        https_verify_certificate: false\n"
		"        req_headers: [\"User-Agent: xlb\", \"X-Check: 1\"]\n"
		"        healthy: {interval: 3600, successes: 254, http_statuses: [204]}\n"
		"        unhealthy: {interval_ms: 0, http_failures: 1, http_statuses: [599, 200]}\n"
		"      passive:\n"
		"        type: tcp\n"
		"        healthy: {successes: 1}\n"
		"        unhealthy: {tcp_failures: 254, timeouts: 0}\n"
		"  - id: 7\n"
		"    type: chash\n"
		"    key: remote_addr\n"
		"    discovery_type: consul\n"
		"    service_name: web.service\n"
		"    discovery_args: {namespace_id: ns, weights: [1, 2.5], tags: null, on: true}\n"
		"stream_routes:\n"
		"  - id: a\n"
		"    name: "
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		"nnnnnnnnnn\n"
		"    labels: {env: prod, tier: \"1\"}\n"
		"    server_addr: 198.18.100.2\n"
		"    upstream_id: db\n"
		"    remote_addr: 10.1.2.3/8\n"
		"  - id: b\n"
		"    desc: all ports, UDP over a TCP upstream\n"
		"    server_addr: \"[fd00::100]\"\n"
		"    scheme: udp\n"
		"    upstream_id: 7\n"
		"    remote_addr: \"fd00:1:2:3::1/33\"\n"
		"  - id: c\n"
		"    server_addr: 198.18.100.3\n"
		"    server_port: 65535\n"
		"    upstream_id: db\n",
		&c);

	check_int(c.xlb.nifaces, 2, "nifaces");
	check_str(c.xlb.interfaces[1], "eth1.100", "interfaces[1]");
	check_int(c.xlb.generic_mode, 1, "generic_mode");
	check_int(c.xlb.forward, XLB_FWD_L2, "forward");
	check_str(c.xlb.encap_src, "10.9.0.0/24", "encap_src");
	check_str(c.xlb.encap_src6, "fd00:9::/64", "encap_src6");
	check_int(c.xlb.on_no_healthy, XLB_NO_HEALTHY_FAIL_CLOSED, "on_no_healthy");
	check_int(c.xlb.table_size, 131071, "table_size");
	check_int(c.xlb.hash_seed, 4294967295U, "hash_seed");
	check_int(c.xlb.flows, 1 << 27, "flows");
	check_int(c.xlb.flows6, 1024, "flows6");
	check_str(c.xlb.admin_listen, "[::1]:9180", "listen (loopback: no key needed)");
	check_str(c.xlb.log_level, "debug", "log_level");

	u = &c.upstreams[0];
	check_str(u->name, "1.10", "name keeps the text of a number");
	check_int(u->type, XLB_LB_ROUNDROBIN, "type");
	check_int(u->proto, IPPROTO_UDP, "proto");
	check_int(u->nnodes, 2, "nnodes");
	if (u->nnodes == 2) {
		check_node(u, 0, "198.18.0.21", 5432, 0, -1);
		check_node(u, 1, "fd00::21", 5432, 65535, 0);
	}
	check_int(u->active.type, XLB_CHECK_HTTPS, "active.type");
	check_dbl(u->active.timeout, 2.5, "active.timeout");
	check_int(u->active.concurrency, 3, "concurrency");
	check_str(u->active.host, "db.example", "host");
	check_int(u->active.port, 8443, "port");
	check_str(u->active.http_path, "/ping?x=1", "http_path");
	check_str(u->active.http_method, "OPTIONS", "http_method");
	check_str(u->active.http_req_body, "{\"ping\": 1}", "http_req_body");
	check_int(u->active.https_verify_certificate, 0, "verify");
	check_int(u->active.nheaders, 2, "nheaders");
	check_str(u->active.req_headers[0], "User-Agent: xlb", "req_headers[0]");
	check_str(u->active.req_headers[1], "X-Check: 1", "req_headers[1]");
	check_dbl(u->active.healthy.interval, 3600, "healthy.interval");
	check_int(u->active.healthy.successes, 254, "healthy.successes");
	check_statuses(u->active.healthy.http_statuses, u->active.healthy.nstatus, "204",
		       "healthy");
	check_dbl(u->active.unhealthy.interval, 0, "unhealthy.interval_ms 0: no probes");
	check_int(u->active.unhealthy.http_failures, 1, "http_failures");
	check_statuses(u->active.unhealthy.http_statuses, u->active.unhealthy.nstatus, "599 200",
		       "unhealthy");
	check_int(u->passive.enabled, 1, "passive.enabled");
	check_int(u->passive.type, XLB_CHECK_TCP, "passive.type");
	check_int(u->passive.healthy.successes, 1, "passive successes");
	check_int(u->passive.unhealthy.tcp_failures, 254, "passive tcp_failures");
	check_int(u->passive.unhealthy.timeouts, 0, "passive timeouts");
	check_int(u->passive.unhealthy.http_failures, 5, "passive http_failures (default)");

	u = &c.upstreams[1];
	check_str(u->id, "7", "integer id");
	check_int(u->type, XLB_LB_CHASH, "type chash");
	check_int(u->hash_src, 1, "hash_src");
	check_str(u->discovery_type, "consul", "discovery_type");
	check_str(u->service_name, "web.service", "service_name");
	check_str(u->discovery_args,
		  "{\"namespace_id\":\"ns\",\"on\":true,\"tags\":null,\"weights\":[1,2.5]}",
		  "discovery_args");
	check_int(u->nnodes, 0, "discovery: no nodes");

	r = &c.routes[0];
	check_vip(r, "198.18.100.2:0/udp"); /* the upstream's scheme */
	check_int(strlen(r->name), 256, "routes[0] name: 256 characters, as APISIX");
	check_addr(&r->remote, "10.0.0.0", "routes[0] remote (host bits cleared)");
	check_int(r->remote_plen, 8, "routes[0] remote_plen");
	r = &c.routes[1];
	check_vip(r, "[fd00::100]:0/udp"); /* the route's scheme wins */
	check_addr(&r->remote, "fd00:1::", "routes[1] remote (host bits cleared)");
	check_int(r->remote_plen, 33, "routes[1] remote_plen");
	r = &c.routes[2];
	check_vip(r, "198.18.100.3:65535/udp");
	check_int(r->vip.port, htons(65535), "server_port in network byte order");
	check_str(c.routes[1].upstream_id, "7", "integer upstream_id");
	xlb_conf_free(&c);
	check_done();
}

/* JSON (tabs, no spaces after colons) parses to the same model. */
static void test_json(void **state)
{
	const struct xlb_upstream_conf *u;
	struct xlb_conf c;

	parse_good(
		"json",
		"{\n"
		"\t\"xlb\": {\"interfaces\": [\"eth0\"], \"admin\": {\"listen\": \"\"}},\n"
		"\t\"upstreams\": [\n"
		"\t\t{\"id\":1,\"nodes\":{\"198.18.0.1:80\":1,\"[fd00::1]:80\":2},\n"
		"\t\t \"checks\": {\"active\": {\"type\": \"tcp\", \"healthy\": {\"interval_ms\": "
		"500}}}}\n"
		"\t],\n"
		"\t\"stream_routes\": [\n"
		"\t\t{\"id\": \"r\", \"server_addr\": \"198.18.100.1\", \"server_port\": 80,\n"
		"\t\t \"upstream_id\": 1, \"labels\": {\"env\": \"prod\"}}\n"
		"\t]\n"
		"}\n",
		&c);
	check_str(c.xlb.interfaces[0], "eth0", "interfaces[0]");
	check_str(c.xlb.admin_listen, "", "admin off");
	u = xlb_conf_upstream(&c, "1");
	assert_non_null(u);
	check_int(u->nnodes, 2, "nnodes");
	if (u->nnodes == 2) {
		check_node(u, 0, "198.18.0.1", 80, 1, 0);
		check_node(u, 1, "fd00::1", 80, 2, 0);
	}
	check_int(u->active.type, XLB_CHECK_TCP, "active.type");
	check_dbl(u->active.healthy.interval, 0.5, "healthy.interval");
	check_int(c.nroutes, 1, "nroutes");
	check_vip(&c.routes[0], "198.18.100.1:80/tcp");
	check_str(c.routes[0].upstream_id, "1", "upstream_id");
	xlb_conf_free(&c);
	check_done();
}

/* --- bad documents ------------------------------------------------------------ */

struct bad_case {
	const char *name;
	const char *yaml;
	const char *want[WANT_MAX]; /* "LINE:COL: PATH: MESSAGE", in order */
};

static const struct bad_case bad_cases[] = {
	{
		"yaml_syntax",
		"upstreams: [1, 2\n",
		{
			"2:1: did not find expected ',' or ']' (while parsing a flow sequence that "
			"started at line 1)",
		},
	},
	{
		"yaml_bad_utf8",
		"xlb:\n"
		"  mode: \xff\n"
		"stream_routes: []\n",
		{
			"2:9: invalid leading UTF-8 octet",
		},
	},
	{
		"root_not_mapping",
		"- upstreams\n",
		{
			"1:1: the document must be a mapping of upstreams, stream_routes and xlb",
		},
	},
	{
		"root_scalar",
		"hello\n",
		{
			"1:1: the document must be a mapping of upstreams, stream_routes and xlb",
		},
	},
	/*
	 * A file emptied, or cut short while it was written, must not remove
	 * every route: no routes is written "stream_routes: []".
	 */
	{
		"empty",
		"",
		{
			"1:1: the document is empty (write 'stream_routes: []' to run without "
			"routes)",
		},
	},
	{
		"comments_only",
		"# the routes come later\n"
		"\n",
		{
			"1:1: the document is empty (write 'stream_routes: []' to run without "
			"routes)",
		},
	},
	{
		"document_start_only",
		"---\n",
		{
			"1:1: the document is empty (write 'stream_routes: []' to run without "
			"routes)",
		},
	},
	{
		"empty_mapping",
		"{}\n",
		{
			"1:1: missing key 'stream_routes' (write 'stream_routes: []' to run "
			"without routes; a file cut short must not remove them all)",
		},
	},
	{
		"cut_before_routes",
		"xlb:\n"
		"  interfaces: [eth0]\n"
		"upstreams:\n"
		"  - {id: web, nodes: {\"198.18.0.1:80\": 1}}\n",
		{
			"1:1: missing key 'stream_routes' (write 'stream_routes: []' to run "
			"without routes; a file cut short must not remove them all)",
		},
	},
	{
		"cut_at_value",
		"upstreams:\n"
		"  - {id: web, nodes: {\"198.18.0.1:80\": 1}}\n"
		"stream_routes:\n",
		{
			"3:15: stream_routes: must be a list, not empty (write [] for none)",
		},
	},
	{
		"cut_in_key",
		"upstreams: []\n"
		"stream_rou",
		{
			"3:1: could not find expected ':' (while scanning a simple key that "
			"started at line 2)",
		},
	},
	{
		"cut_in_string",
		"stream_routes:\n"
		"  - {id: a, server_addr: \"198.18.",
		{
			"2:34: found unexpected end of stream (while scanning a quoted scalar that "
			"started at line 2)",
		},
	},
	{
		"cut_in_flow",
		"stream_routes: [\n"
		"  {id: a, server_addr: 198.18.100.1, upstream: {nodes: {\"198.18.0.1:80\": "
		"1}}},\n",
		{
			"3:1: did not find expected node content (while parsing a flow node that "
			"started at line 3)",
		},
	},
	{
		"second_document",
		"xlb: {}\n"
		"stream_routes: []\n"
		"---\n"
		"xlb: {}\n",
		{
			"4:1: only one YAML document is allowed",
		},
	},
	{
		"top_level_types",
		"upstreams: {}\n"
		"stream_routes: 3\n"
		"xlb: []\n",
		{
			"1:12: upstreams: must be a list",
			"2:16: stream_routes: must be a list",
			"3:6: xlb: must be a mapping",
		},
	},
	{
		"unknown_top_key",
		"upstream: []\n"
		"stream_routes: []\n",
		{
			"1:1: unknown key 'upstream' (did you mean 'upstreams'?)",
		},
	},
	{
		"discovery_settings",
		"discovery:\n"
		"  dns: {servers: [\"127.0.0.1\"], min_ttl: 30, max_ttl: 10}\n"
		"  consul: {servers: [\"ftp://127.0.0.1\"], timeout: {connect: -1}}\n"
		"  eureka: {host: [\"http://127.0.0.1:8761\"], prefix: eureka/}\n"
		"  nacos: {hosts: [\"http://127.0.0.1:8848\"], prefix: /nacos/v1}\n"
		"  consul_kv: {servers: []}\n"
		"deployment:\n"
		"  etcd: {host: [\"http://127.0.0.1:2379/v3\"], prefix: apisix}\n"
		"stream_routes: []\n",
		{
			"2:8: discovery.dns: min_ttl (30) must not exceed max_ttl (10)",
			"2:19: discovery.dns.servers[0]: must be ADDR:PORT of a DNS server (e.g. "
			"127.0.0.1:53), not '127.0.0.1'",
			"3:22: discovery.consul.servers[0]: must be a URL http://HOST[:PORT] or "
			"https://HOST[:PORT], not 'ftp://127.0.0.1'",
			"3:61: discovery.consul.timeout.connect: must be a number of milliseconds "
			"> 0 and <= 600000",
			"4:53: discovery.eureka.prefix: must be a path that starts with '/', not "
			"'eureka/'",
			"5:10: discovery.nacos: missing key 'host'",
			"5:11: discovery.nacos: unknown key 'hosts' (did you mean 'host'?)",
			"5:53: discovery.nacos.prefix: must end with '/' (paths are appended to "
			"it), not '/nacos/v1'",
			"6:3: discovery.consul_kv: not supported by xlb (L4): use consul",
			"8:17: deployment.etcd.host[0]: must be a URL http://HOST[:PORT] or "
			"https://HOST[:PORT], not 'http://127.0.0.1:2379/v3'",
			"8:54: deployment.etcd.prefix: must be a path that starts with '/', not "
			"'apisix'",
		},
	},
	{
		"kubernetes_endpoints_api",
		"discovery:\n"
		"  kubernetes: {service: {host: 127.0.0.1, port: \"6443\"}, watch_endpoint_slices: "
		"false}\n"
		"stream_routes: []\n",
		{
			"2:81: discovery.kubernetes.watch_endpoint_slices: false (the Endpoints "
			"API) is not supported: xlb reads EndpointSlices (discovery.k8s.io/v1) "
			"only",
		},
	},
	{
		"unknown_top_key_far",
		"frobnicate: 1\n"
		"stream_routes: []\n",
		{
			"1:1: unknown key 'frobnicate' (valid keys: xlb, upstreams, stream_routes, "
			"discovery, deployment)",
		},
	},
	{
		"l7_sections",
		"routes: []\n"
		"plugins: {}\n"
		"stream_routes: []\n",
		{
			"1:1: routes: not supported by xlb (L4): xlb serves stream_routes only",
			"2:1: plugins: not supported by xlb (L4): xlb serves stream_routes only",
		},
	},
	{
		"merge_key",
		"xlb:\n"
		"  <<: {mode: native}\n"
		"stream_routes: []\n",
		{
			"2:3: xlb: YAML merge keys (<<) are not supported",
		},
	},
	{
		"duplicate_key",
		"xlb:\n"
		"  mode: native\n"
		"  mode: generic\n"
		"stream_routes: []\n",
		{
			"3:3: xlb: duplicate key 'mode' (first at line 2)",
		},
	},
	{
		"complex_key",
		"xlb:\n"
		"  ? [a]\n"
		"  : 1\n"
		"stream_routes: []\n",
		{
			"2:5: xlb: keys must be strings",
		},
	},
	{
		"xlb_interfaces",
		"xlb:\n"
		"  interfaces: [eth0, \"a/b\", eth0, verylonginterface, \"\", ..]\n"
		"stream_routes: []\n",
		{
			"2:22: xlb.interfaces[1]: 'a/b' is not an interface name (no '/', ':' or "
			"white space)",
			"2:29: xlb.interfaces[2]: duplicate 'eth0'",
			"2:35: xlb.interfaces[3]: must be at most 15 characters",
			"2:54: xlb.interfaces[4]: must be a non-empty string",
			"2:58: xlb.interfaces[5]: '..' is not an interface name (no '/', ':' or "
			"white space)",
		},
	},
	{
		"xlb_interfaces_type",
		"xlb:\n"
		"  interfaces: eth0\n"
		"stream_routes: []\n",
		{
			"2:15: xlb.interfaces: must be a list of strings",
		},
	},
	{
		"xlb_interfaces_many",
		"xlb:\n"
		"  interfaces: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q]\n"
		"stream_routes: []\n",
		{
			"2:15: xlb.interfaces: must have at most 16 entries",
		},
	},
	{
		"xlb_mode",
		"xlb:\n"
		"  mode: generc\n"
		"  forward: dsr\n"
		"  on_no_healthy: fail\n"
		"  log_level: 3\n"
		"stream_routes: []\n",
		{
			"2:9: xlb.mode: must be native or generic, not 'generc' (did you mean "
			"'generic'?)",
			"3:12: xlb.forward: must be ipip, l2, nat or gue, not 'dsr'",
			"4:18: xlb.on_no_healthy: must be fail_open or fail_closed, not 'fail'",
			"5:14: xlb.log_level: must be warn, info or debug, not '3'",
		},
	},
	{
		"xlb_encap",
		"xlb:\n"
		"  encap_src: fd00::/64\n"
		"  encap_src6: 10.0.0.0/8\n"
		"stream_routes: []\n",
		{
			"2:14: xlb.encap_src: must be an IPv4 prefix ADDR/LEN, not 'fd00::/64'",
			"3:15: xlb.encap_src6: must be an IPv6 prefix ADDR/LEN, not '10.0.0.0/8'",
		},
	},
	{
		"xlb_encap_bad",
		"xlb:\n"
		"  encap_src: 10.0.0.0/33\n"
		"  encap_src6: nope\n"
		"stream_routes: []\n",
		{
			"2:14: xlb.encap_src: '10.0.0.0/33': prefix length must be 0-32",
			"3:15: xlb.encap_src6: 'nope' is not an IP address",
		},
	},
	{
		"xlb_numbers",
		"xlb:\n"
		"  table_size: 65536\n"
		"  hash_seed: -1\n"
		"  flows: 1023\n"
		"  flows6: 0\n"
		"stream_routes: []\n",
		{
			"2:15: xlb.table_size: must be 0 (chosen from the node count) or a prime "
			"3-1048573 (e.g. 65537)",
			"3:14: xlb.hash_seed: must be an integer 0-4294967295",
			"4:10: xlb.flows: must be an integer 1024-134217728",
			"5:11: xlb.flows6: must be an integer 1024-134217728",
		},
	},
	{
		"xlb_numbers2",
		"xlb:\n"
		"  table_size: big\n"
		"  hash_seed: 4294967296\n"
		"  flows: 134217729\n"
		"  flows6: 134217729\n"
		"stream_routes: []\n",
		{
			"2:15: xlb.table_size: must be 0 (chosen from the node count) or a prime "
			"3-1048573 (e.g. 65537)",
			"3:14: xlb.hash_seed: must be an integer 0-4294967295",
			"4:10: xlb.flows: must be an integer 1024-134217728",
			"5:11: xlb.flows6: must be an integer 1024-134217728",
		},
	},
	{
		"xlb_admin_listen",
		"xlb:\n"
		"  admin:\n"
		"    listen: localhost\n"
		"stream_routes: []\n",
		{
			"3:13: xlb.admin.listen: must be ADDR:PORT (e.g. 127.0.0.1:9180), or \"\" "
			"for no admin API",
		},
	},
	{
		"xlb_admin_no_port",
		"xlb:\n"
		"  admin: {listen: \"127.0.0.1\"}\n"
		"stream_routes: []\n",
		{
			"2:19: xlb.admin.listen: must be ADDR:PORT (e.g. 127.0.0.1:9180), or \"\" "
			"for no admin API",
		},
	},
	{
		"xlb_admin_key_v4",
		"xlb:\n"
		"  admin:\n"
		"    listen: 0.0.0.0:9180\n"
		"stream_routes: []\n",
		{
			"3:13: xlb.admin: missing key 'api_key' (required when listen 0.0.0.0:9180 "
			"is not a loopback address)",
		},
	},
	{
		"xlb_admin_key_v6",
		"xlb:\n"
		"  admin:\n"
		"    listen: \"[::]:9180\"\n"
		"    api_key: \"\"\n"
		"stream_routes: []\n",
		{
			"3:13: xlb.admin: missing key 'api_key' (required when listen [::]:9180 is "
			"not a loopback address)",
		},
	},
	{
		"xlb_admin_example_key",
		"xlb:\n"
		"  admin:\n"
		"    listen: 0.0.0.0:9180\n"
		"    api_key: CHANGE-ME\n"
		"stream_routes: []\n",
		{
			"4:14: xlb.admin.api_key: 'CHANGE-ME' is the example key: set a secret one "
			"(at least 16 characters) when listen 0.0.0.0:9180 is not a loopback "
			"address",
		},
	},
	{
		"xlb_admin_short_key",
		"xlb:\n"
		"  admin: {listen: \"[fd00::1]:9180\", api_key: 0123456789abcde}\n"
		"stream_routes: []\n",
		{
			"2:46: xlb.admin.api_key: is 15 characters long: at least 16 when listen "
			"[fd00::1]:9180 is not a loopback address",
		},
	},
	{
		"xlb_admin_limits",
		"xlb:\n"
		"  admin:\n"
		"    max_connections: 0\n"
		"    max_header_size: 100\n"
		"    max_body_size: 67108865\n"
		"    header_timeout: 0\n"
		"    idle_timeout: 3601\n"
		"stream_routes: []\n",
		{
			"3:22: xlb.admin.max_connections: must be an integer 1-65536",
			"4:22: xlb.admin.max_header_size: must be an integer 1024-1048576",
			"5:20: xlb.admin.max_body_size: must be an integer 1024-67108864",
			"6:21: xlb.admin.header_timeout: must be a number of seconds > 0 and <= "
			"3600",
			"7:19: xlb.admin.idle_timeout: must be a number of seconds > 0 and <= 3600",
		},
	},
	{
		"xlb_admin_unknown",
		"xlb:\n"
		"  admin:\n"
		"    apikey: x\n"
		"stream_routes: []\n",
		{
			"3:5: xlb.admin: unknown key 'apikey' (did you mean 'api_key'?)",
		},
	},
	{
		"xlb_unknown",
		"xlb:\n"
		"  interface: [eth0]\n"
		"stream_routes: []\n",
		{
			"2:3: xlb: unknown key 'interface' (did you mean 'interfaces'?)",
		},
	},
	{
		"xlb_not_mapping",
		"xlb: native\n"
		"stream_routes: []\n",
		{
			"1:6: xlb: must be a mapping",
		},
	},
	{
		"up_missing_id",
		"upstreams:\n"
		"  - nodes: {}\n"
		"stream_routes: []\n",
		{
			"2:5: upstreams[0]: missing key 'id'",
		},
	},
	{
		"up_bad_id",
		"upstreams:\n"
		"  - id: \"a b\"\n"
		"    nodes: {}\n"
		"  - id: \"\"\n"
		"    nodes: {}\n"
		"  - id: [1]\n"
		"    nodes: {}\n"
		"stream_routes: []\n",
		{
			"2:9: upstreams[0].id: may hold only letters, digits, '.', '_' and '-'",
			"4:9: upstreams[1].id: must not be empty",
			"6:9: upstreams[2].id: must be a string",
		},
	},
	{
		"up_long_id",
		"upstreams:\n"
		"  - id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"    nodes: {}\n"
		"stream_routes: []\n",
		{
			"2:9: upstreams[0].id: must be at most 64 characters",
		},
	},
	{
		"up_dup_id",
		"upstreams:\n"
		"  - id: 1\n"
		"    nodes: {}\n"
		"  - id: \"1\"\n"
		"    nodes: {}\n"
		"  - id: 1\n"
		"    nodes: {}\n"
		"stream_routes: []\n",
		{
			"4:9: upstreams[1].id: duplicate id '1' (first at line 2)",
			"6:9: upstreams[2].id: duplicate id '1' (first at line 2)",
		},
	},
	{
		"up_item_not_mapping",
		"upstreams:\n"
		"  - web\n"
		"stream_routes: []\n",
		{
			"2:5: upstreams[0]: must be a mapping",
		},
	},
	{
		"up_type",
		"upstreams:\n"
		"  - id: a\n"
		"    type: ewma\n"
		"    nodes: {}\n"
		"  - id: b\n"
		"    type: roundrobbin\n"
		"    nodes: {}\n"
		"  - id: c\n"
		"    type: least_conn\n"
		"    nodes: {}\n"
		"stream_routes: []\n",
		{
			"3:11: upstreams[0].type: 'ewma' is not supported by xlb (L4): it needs "
			"each response's latency, which a direct-server-return balancer never "
			"sees",
			"6:11: upstreams[1].type: must be chash, roundrobin or least_conn, not "
			"'roundrobbin' (did you mean 'roundrobin'?)",
		},
	},
	{
		/* As APISIX's check_upstream_conf: chash hashes key, so it needs one. */
		"up_chash_no_key",
		"upstreams:\n"
		"  - id: a\n"
		"    type: chash\n"
		"    nodes: {}\n"
		"  - {id: b, type: chash, hash_on: consumer, nodes: {}}\n"
		"  - {id: c, type: chash, key: arg_device_id, nodes: {}}\n"
		"  - {id: d, type: chash, key: 1, nodes: {}}\n"
		"  - {id: e, type: chash, key: remote_port, nodes: {}}\n"
		"stream_routes: []\n",
		{
			"2:5: upstreams[0]: missing key 'key' (type chash hashes it: "
			"remote_addr; type roundrobin hashes the 5-tuple)",
			"5:35: upstreams[1].hash_on: 'consumer' is not supported by xlb (L4): use "
			"vars",
			"6:31: upstreams[2].key: 'arg_device_id' is not supported by xlb (L4): xlb "
			"does not see HTTP requests; use remote_addr",
			"7:31: upstreams[3].key: must be a string",
			"8:31: upstreams[4].key: 'remote_port' is not supported by xlb (L4): a "
			"client's port changes with each connection; use remote_addr",
		},
	},
	{
		"up_hash",
		"upstreams:\n"
		"  - id: a\n"
		"    hash_on: header\n"
		"    key: uri\n"
		"    nodes: {}\n"
		"  - id: b\n"
		"    key: client\n"
		"    nodes: {}\n"
		"  - id: c\n"
		"    type: roundrobin\n"
		"    key: remote_addr\n"
		"    nodes: {}\n"
		"  - id: d\n"
		"    type: least_conn\n"
		"    key: remote_addr\n"
		"    nodes: {}\n"
		"stream_routes: []\n",
		{
			"3:14: upstreams[0].hash_on: 'header' is not supported by xlb (L4): use "
			"vars",
			"4:10: upstreams[0].key: 'uri' is not supported by xlb (L4): xlb does not "
			"see HTTP requests; use remote_addr",
			"7:10: upstreams[1].key: failed to match pattern \"^((uri|server_name|"
			"server_addr|request_uri|remote_port|remote_addr|query_string|host|"
			"hostname|"
			"mqtt_client_id)|arg_[0-9a-zA-z_-]+)$\" with \"client\" (xlb hashes "
			"remote_addr)",
			"11:10: upstreams[2].key: applies to type chash only (roundrobin does not "
			"hash)",
			"15:10: upstreams[3].key: applies to type chash only (least_conn does not "
			"hash)",
		},
	},
	{
		"up_scheme",
		"upstreams:\n"
		"  - id: a\n"
		"    scheme: http\n"
		"    nodes: {}\n"
		"  - id: b\n"
		"    scheme: sctp\n"
		"    nodes: {}\n"
		"stream_routes: []\n",
		{
			"3:13: upstreams[0].scheme: 'http' is not supported by xlb (L4): use tcp "
			"or udp",
			"6:13: upstreams[1].scheme: must be tcp or udp, not 'sctp' (did you mean "
			"'tcp'?)",
		},
	},
	{
		"up_unhealthy_flows",
		"upstreams:\n"
		"  - id: a\n"
		"    unhealthy_flows: drop\n"
		"    nodes: {}\n"
		"stream_routes: []\n",
		{
			"3:22: upstreams[0].unhealthy_flows: must be keep or move, not 'drop'",
		},
	},
	{
		"up_unsupported",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    retries: 1\n"
		"    retry_timeout: 1\n"
		"    timeout: {connect: 1}\n"
		"    pass_host: node\n"
		"    upstream_host: x\n"
		"    tls: {}\n"
		"    keepalive_pool: {}\n"
		"stream_routes: []\n",
		{
			"4:5: upstreams[0].retries: not supported by xlb (L4): packets are "
			"forwarded, connections not retried",
			"5:5: upstreams[0].retry_timeout: not supported by xlb (L4): packets are "
			"forwarded, connections not retried",
			"6:5: upstreams[0].timeout: not supported by xlb (L4): xlb does not proxy "
			"connections",
			"7:5: upstreams[0].pass_host: not supported by xlb (L4): xlb does not see "
			"HTTP requests",
			"8:5: upstreams[0].upstream_host: not supported by xlb (L4): xlb does not "
			"see HTTP requests",
			"9:5: upstreams[0].tls: not supported by xlb (L4): xlb does not originate "
			"TLS",
			"10:5: upstreams[0].keepalive_pool: not supported by xlb (L4): xlb does "
			"not proxy connections",
		},
	},
	{
		"up_unknown",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    nod: 1\n"
		"    foo: 1\n"
		"stream_routes: []\n",
		{
			"4:5: upstreams[0]: unknown key 'nod' (did you mean 'nodes'?)",
			"5:5: upstreams[0]: unknown key 'foo' (valid keys: id, name, desc, labels, "
			"create_time, update_time, type, hash_on, key, scheme, nodes, checks, "
			"discovery_type, service_name, discovery_args, forward, flow_state, "
			"unhealthy_flows)",
		},
	},
	{
		"nodes_type",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: \"198.18.0.1:80\"\n"
		"stream_routes: []\n",
		{
			"3:12: upstreams[0].nodes: must be {\"HOST:PORT\": WEIGHT, ...} or a list "
			"of {host, port, weight, priority}",
		},
	},
	{
		"nodes_hash",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes:\n"
		"      \"198.18.0.1\": 1\n"
		"      \"web.local:80\": 1\n"
		"      \"1.2.3.256:80\": 1\n"
		"      \"fd00::1:80\": 1\n"
		"      \"[fd00::1]\": 1\n"
		"      \"198.18.0.1:0\": 1\n"
		"      \"198.18.0.1:65536\": 1\n"
		"      \"[web]:80\": 1\n"
		"stream_routes: []\n",
		{
			"4:7: upstreams[0].nodes[\"198.18.0.1\"]: missing port (write HOST:PORT): "
			"xlb (L4) does not default it from the scheme",
			"5:7: upstreams[0].nodes[\"web.local:80\"]: 'web.local' is a host name: "
			"host names need discovery_type (dns)",
			"6:7: upstreams[0].nodes[\"1.2.3.256:80\"]: '1.2.3.256' is not an IP "
			"address",
			"7:7: upstreams[0].nodes[\"fd00::1:80\"]: write IPv6 nodes as [ADDR]:PORT",
			"8:7: upstreams[0].nodes[\"[fd00::1]\"]: missing port (write HOST:PORT): "
			"xlb (L4) does not default it from the scheme",
			"9:7: upstreams[0].nodes[\"198.18.0.1:0\"]: port must be an integer "
			"1-65535",
			"10:7: upstreams[0].nodes[\"198.18.0.1:65536\"]: port must be an integer "
			"1-65535",
			"11:7: upstreams[0].nodes[\"[web]:80\"]: '[web]' is not an IP address",
		},
	},
	{
		"nodes_weight",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes:\n"
		"      \"198.18.0.1:80\": 65536\n"
		"      \"198.18.0.2:80\": \"1\"\n"
		"      \"198.18.0.3:80\": -1\n"
		"      \"198.18.0.4:80\": 1.5\n"
		"      \"198.18.0.5:80\": [1]\n"
		"      \"198.18.0.6:80\":\n"
		"stream_routes: []\n",
		{
			"4:24: upstreams[0].nodes[\"198.18.0.1:80\"]: weight must be an integer "
			"0-65535",
			"5:24: upstreams[0].nodes[\"198.18.0.2:80\"]: weight must be an integer "
			"0-65535, not a string",
			"6:24: upstreams[0].nodes[\"198.18.0.3:80\"]: weight must be an integer "
			"0-65535",
			"7:24: upstreams[0].nodes[\"198.18.0.4:80\"]: weight must be an integer "
			"0-65535",
			"8:24: upstreams[0].nodes[\"198.18.0.5:80\"]: weight must be an integer "
			"0-65535",
			"9:23: upstreams[0].nodes[\"198.18.0.6:80\"]: weight must be an integer "
			"0-65535",
		},
	},
	{
		"nodes_dup",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes:\n"
		"      \"198.18.0.1:80\": 1\n"
		"      \"198.18.0.2:80\": 1\n"
		"      \"198.18.0.1:080\": 2\n"
		"      \"[fd00::1]:80\": 1\n"
		"      \"[fd00:0::1]:80\": 1\n"
		"      \"198.18.0.1:81\": 1\n"
		"stream_routes: []\n",
		{
			"6:7: upstreams[0].nodes[\"198.18.0.1:080\"]: duplicate node 198.18.0.1:80 "
			"(first at line 4)",
			"8:7: upstreams[0].nodes[\"[fd00:0::1]:80\"]: duplicate node [fd00::1]:80 "
			"(first at line 7)",
		},
	},
	{
		"nodes_array",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes:\n"
		"      - {host: 198.18.0.1, weight: 1}\n"
		"      - {host: 198.18.0.2, port: 80}\n"
		"      - {port: 80, weight: 1}\n"
		"      - {host: db.local, port: 80, weight: 1}\n"
		"      - {host: \"[fd00::1]:80\", port: 80, weight: 1}\n"
		"      - {host: 198.18.0.3, port: 0, weight: 65536, priority: high}\n"
		"      - {host: 198.18.0.4, port: 80, wieght: 1}\n"
		"      - 198.18.0.5:80\n"
		"stream_routes: []\n",
		{
			"4:9: upstreams[0].nodes[0]: missing key 'port' (xlb (L4) does not default "
			"it from the scheme)",
			"5:9: upstreams[0].nodes[1]: missing key 'weight'",
			"6:9: upstreams[0].nodes[2]: missing key 'host'",
			"7:16: upstreams[0].nodes[3].host: 'db.local' is a host name: host names "
			"need discovery_type (dns)",
			"8:16: upstreams[0].nodes[4].host: '[fd00::1]:80' is not an IP address",
			"9:34: upstreams[0].nodes[5].port: must be an integer 1-65535",
			"9:45: upstreams[0].nodes[5].weight: must be an integer 0-65535",
			"9:62: upstreams[0].nodes[5].priority: must be an integer",
			"10:9: upstreams[0].nodes[6]: missing key 'weight'",
			"10:38: upstreams[0].nodes[6]: unknown key 'wieght' (did you mean "
			"'weight'?)",
			"11:9: upstreams[0].nodes[7]: must be a mapping",
		},
	},
	{
		/* APISIX's schema: a node's metadata is an object. */
		"nodes_array_metadata",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes:\n"
		"      - {host: 198.18.0.1, port: 80, weight: 1, metadata: a}\n"
		"      - {host: 198.18.0.2, port: 80, weight: 1, metadata: [a]}\n"
		"stream_routes: []\n",
		{
			"4:59: upstreams[0].nodes[0].metadata: must be a mapping",
			"5:59: upstreams[0].nodes[1].metadata: must be a mapping",
		},
	},
	{
		"nodes_array_dup",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes:\n"
		"      - {host: \"fd00::1\", port: 80, weight: 1}\n"
		"      - {host: \"[fd00::1]\", port: 80, weight: 0, priority: 1}\n"
		"stream_routes: []\n",
		{
			"5:9: upstreams[0].nodes[1]: duplicate node [fd00::1]:80 (first at line 4)",
		},
	},
	{
		"discovery",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    discovery_type: dns\n"
		"    service_name: web\n"
		"  - id: b\n"
		"  - id: c\n"
		"    discovery_type: dns\n"
		"  - id: d\n"
		"    nodes: {}\n"
		"    service_name: web\n"
		"    discovery_args: {a: 1}\n"
		"  - id: e\n"
		"    discovery_type: dsn\n"
		"    service_name: web\n"
		"    discovery_args: [1]\n"
		"stream_routes: []\n",
		{
			"4:5: upstreams[0]: use either nodes or discovery_type with service_name, "
			"not both",
			"6:5: upstreams[1]: missing key 'nodes' (or discovery_type with "
			"service_name)",
			"7:5: upstreams[2]: missing key 'service_name' (discovery_type needs it)",
			"11:19: upstreams[3].service_name: needs discovery_type",
			"12:21: upstreams[3].discovery_args: needs discovery_type",
			"14:21: upstreams[4].discovery_type: must be dns, consul, consul_kv, "
			"nacos, eureka or kubernetes, not 'dsn' (did you mean 'dns'?)",
			"16:21: upstreams[4].discovery_args: must be a mapping",
		},
	},
	{
		"discovery_args",
		"upstreams:\n"
		"  - id: a\n"
		"    discovery_type: dns\n"
		"    service_name: x\n"
		"    discovery_args: &x {k: [*x]}\n"
		"  - id: b\n"
		"    discovery_type: dns\n"
		"    service_name: x\n"
		"    discovery_args: {a: 1, a: 2}\n"
		"  - id: c\n"
		"    discovery_type: nacos\n"
		"    service_name: x\n"
		"    discovery_args: {namespace_id: 1, group_name: [g]}\n"
		"stream_routes: []\n",
		{
			/* An alias cycle: stopped, not followed forever. */
			"5:28: upstreams[0].discovery_args: is too large (at most 4096 values, 16 "
			"levels deep)",
			"9:28: upstreams[1].discovery_args: duplicate key 'a'",
			"13:36: upstreams[2].discovery_args.namespace_id: must be a string",
			"13:51: upstreams[2].discovery_args.group_name: must be a string",
		},
	},
	{
		"checks_type",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    checks: yes\n"
		"  - id: b\n"
		"    nodes: {}\n"
		"    checks: {activ: {}}\n"
		"  - id: c\n"
		"    nodes: {}\n"
		"    checks: {passive: {type: tcp}}\n"
		"stream_routes: []\n",
		{
			"4:13: upstreams[0].checks: must be a mapping",
			"7:14: upstreams[1].checks: unknown key 'activ' (did you mean 'active'?)",
			"10:14: upstreams[2].checks: passive checks need active checks too: only "
			"probes bring a node back",
		},
	},
	{
		"checks_active",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    checks:\n"
		"      active:\n"
		"        type: udp\n"
		"        timeout: 0\n"
		"        concurrency: 0\n"
		"        http_path: health\n"
		"        host: \"a b\"\n"
		"        port: 0\n"
		"        https_verify_certificate: yes\n"
		"        timout: 1\n"
		"stream_routes: []\n",
		{
			"6:15: upstreams[0].checks.active.type: must be http, https or tcp, not "
			"'udp' (did you mean 'tcp'?)",
			"7:18: upstreams[0].checks.active.timeout: must be a number of seconds > 0 "
			"and <= 3600",
			"8:22: upstreams[0].checks.active.concurrency: must be an integer 1-65535",
			"9:20: upstreams[0].checks.active.http_path: must be a path that starts "
			"with '/' (no spaces)",
			"10:15: upstreams[0].checks.active.host: must be a host name (letters, "
			"digits, '.', '_' and '-')",
			"11:15: upstreams[0].checks.active.port: must be an integer 1-65535",
			"12:35: upstreams[0].checks.active.https_verify_certificate: must be true "
			"or false",
			"13:9: upstreams[0].checks.active: unknown key 'timout' (did you mean "
			"'timeout'?)",
		},
	},
	{
		"checks_active_http",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    checks:\n"
		"      active: {http_method: FOO, http_req_body: [ping]}\n"
		"  - id: b\n"
		"    nodes: {}\n"
		"    checks: {active: {http_method: get}}\n"
		"stream_routes: []\n",
		{
			"5:29: upstreams[0].checks.active.http_method: must be GET, POST, PUT, "
			"DELETE, PATCH, HEAD, OPTIONS, CONNECT, TRACE or PURGE, not 'FOO'",
			"5:49: upstreams[0].checks.active.http_req_body: must be a string",
			"8:36: upstreams[1].checks.active.http_method: must be GET, POST, PUT, "
			"DELETE, PATCH, HEAD, OPTIONS, CONNECT, TRACE or PURGE, not 'get'",
		},
	},
	{
		"checks_active2",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    checks:\n"
		"      active:\n"
		"        timeout: fast\n"
		"        https_verify_certificate: \"true\"\n"
		"        req_headers: [\"X-A: 1\", \"bad\", \"X-A: 1\", \": x\"]\n"
		"        healthy: []\n"
		"stream_routes: []\n",
		{
			"6:18: upstreams[0].checks.active.timeout: must be a number of seconds > 0 "
			"and <= 3600",
			"7:35: upstreams[0].checks.active.https_verify_certificate: must be true "
			"or false, not a string",
			"8:33: upstreams[0].checks.active.req_headers[1]: must be a header 'Name: "
			"value'",
			"8:40: upstreams[0].checks.active.req_headers[2]: duplicate 'X-A: 1'",
			"8:50: upstreams[0].checks.active.req_headers[3]: must be a header 'Name: "
			"value'",
			"9:18: upstreams[0].checks.active.healthy: must be a mapping",
		},
	},
	{
		"checks_healthy",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    checks:\n"
		"      active:\n"
		"        healthy:\n"
		"          interval: -0.5\n"
		"          successes: 0\n"
		"          http_statuses: [200, 200, 700, \"302\"]\n"
		"        unhealthy:\n"
		"          interval: 3601\n"
		"          http_failures: 255\n"
		"          tcp_failures: -1\n"
		"          timeouts: 255\n"
		"          http_statuses: []\n"
		"          intervall: 1\n"
		"stream_routes: []\n",
		{
			"7:21: upstreams[0].checks.active.healthy.interval: must be an integer "
			"1-3600 (seconds)",
			"8:22: upstreams[0].checks.active.healthy.successes: must be an integer "
			"1-254",
			"9:32: upstreams[0].checks.active.healthy.http_statuses[1]: duplicate "
			"status code 200",
			"9:37: upstreams[0].checks.active.healthy.http_statuses[2]: must be an "
			"HTTP status code 200-599",
			"9:42: upstreams[0].checks.active.healthy.http_statuses[3]: must be an "
			"HTTP status code 200-599",
			"11:21: upstreams[0].checks.active.unhealthy.interval: must be an integer "
			"1-3600 (seconds)",
			"12:26: upstreams[0].checks.active.unhealthy.http_failures: must be an "
			"integer 1-254",
			"13:25: upstreams[0].checks.active.unhealthy.tcp_failures: must be an "
			"integer 1-254",
			"14:21: upstreams[0].checks.active.unhealthy.timeouts: must be an integer "
			"1-254",
			"15:26: upstreams[0].checks.active.unhealthy.http_statuses: must not be "
			"empty",
			"16:11: upstreams[0].checks.active.unhealthy: unknown key 'intervall' (did "
			"you mean 'interval'?)",
		},
	},
	{
		/* APISIX's interval: whole seconds from 1; xlb's interval_ms from 0. */
		"checks_interval",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    checks:\n"
		"      active:\n"
		"        healthy: {interval: 0, successes: 1}\n"
		"        unhealthy: {interval: 0.5}\n"
		"  - id: b\n"
		"    nodes: {}\n"
		"    checks:\n"
		"      active:\n"
		"        healthy: {interval_ms: 0.5}\n"
		"        unhealthy: {interval: 1, interval_ms: 3600001}\n"
		"stream_routes: []\n",
		{
			"6:29: upstreams[0].checks.active.healthy.interval: must be an integer "
			"1-3600 (seconds)",
			"7:31: upstreams[0].checks.active.unhealthy.interval: must be an integer "
			"1-3600 (seconds)",
			"12:32: upstreams[1].checks.active.healthy.interval_ms: must be an integer "
			"0-3600000 (milliseconds)",
			"13:34: upstreams[1].checks.active.unhealthy: give interval (seconds) or "
			"interval_ms, not both",
			"13:47: upstreams[1].checks.active.unhealthy.interval_ms: must be an "
			"integer 0-3600000 (milliseconds)",
		},
	},
	{
		"checks_statuses",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    checks:\n"
		"      active:\n"
		"        healthy: {http_statuses: 200}\n"
		"        unhealthy: {http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, "
		"209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, "
		"225, 226, 227, 228, 229, 230, 231, 232]}\n"
		"stream_routes: []\n",
		{
			"6:34: upstreams[0].checks.active.healthy.http_statuses: must be a list of "
			"HTTP status codes 200-599",
			"7:36: upstreams[0].checks.active.unhealthy.http_statuses: must have at "
			"most 32 status codes",
		},
	},
	{
		"checks_passive",
		"upstreams:\n"
		"  - id: a\n"
		"    nodes: {}\n"
		"    checks:\n"
		"      active: {type: tcp}\n"
		"      passive:\n"
		"        type: tcp\n"
		"        healthy: {interval: 1, successes: 255}\n"
		"        unhealthy: {timeouts: 255, tcp_failures: 0}\n"
		"stream_routes: []\n",
		{
			"8:19: upstreams[0].checks.passive.healthy: unknown key 'interval' (valid "
			"keys: successes, http_statuses)",
			"8:43: upstreams[0].checks.passive.healthy.successes: must be an integer "
			"0-254",
			"9:31: upstreams[0].checks.passive.unhealthy.timeouts: must be an integer "
			"0-254",
		},
	},
	{
		"route_missing",
		"stream_routes:\n"
		"  - server_port: 80\n",
		{
			"2:5: stream_routes[0]: missing key 'id'",
			"2:5: stream_routes[0]: missing key 'server_addr' (the VIP)",
			"2:5: stream_routes[0]: missing key 'upstream_id' (or an inline upstream)",
		},
	},
	{
		"route_not_mapping",
		"stream_routes:\n"
		"  - 1\n",
		{
			"2:5: stream_routes[0]: must be a mapping",
		},
	},
	{
		"route_addr",
		"upstreams:\n"
		"  - {id: u, nodes: {}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: vip.local, upstream_id: u}\n"
		"  - {id: 2, server_addr: 10.0.0.0/8, upstream_id: u}\n"
		"  - {id: 3, server_addr: 1.2.3, upstream_id: u}\n"
		"  - {id: 4, server_addr: [1], upstream_id: u}\n",
		{
			"4:26: stream_routes[0].server_addr: 'vip.local' is not an IP address",
			"5:26: stream_routes[1].server_addr: '10.0.0.0/8' is a prefix: a VIP is "
			"one address",
			"6:26: stream_routes[2].server_addr: '1.2.3' is not an IP address",
			"7:26: stream_routes[3].server_addr: must be an IP address (the VIP)",
		},
	},
	{
		"route_port_proto",
		"upstreams:\n"
		"  - {id: u, nodes: {}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 1.1.1.1, server_port: 65536, upstream_id: u}\n"
		"  - {id: 2, server_addr: 1.1.1.2, server_port: \"80\", upstream_id: u}\n"
		"  - {id: 3, server_addr: 1.1.1.3, scheme: sctp, upstream_id: u}\n"
		"  - {id: 4, server_addr: 1.1.1.4, protocol: {name: redis}, upstream_id: u}\n"
		"  - {id: 5, server_addr: 1.1.1.5, protocol: udp, upstream_id: u}\n"
		"  - {id: 6, server_addr: 1.1.1.6, server_port: 0, scheme: http, upstream_id: u}\n",
		{
			"4:48: stream_routes[0].server_port: must be an integer 1-65535",
			"5:48: stream_routes[1].server_port: must be an integer 1-65535, not a "
			"string",
			"6:43: stream_routes[2].scheme: must be tcp or udp, not 'sctp' (did you "
			"mean 'tcp'?)",
			"7:35: stream_routes[3].protocol: not supported by xlb (L4): xRPC "
			"protocols are parsed by a proxy; xlb forwards packets and reads no "
			"application protocol (the L4 protocol is the key scheme: tcp or udp)",
			"8:45: stream_routes[4].protocol: must be a mapping (APISIX's xRPC "
			"protocol object, which xlb does not read; the L4 protocol is the key "
			"scheme: tcp or udp)",
			"9:48: stream_routes[5].server_port: must be an integer 1-65535",
			"9:59: stream_routes[5].scheme: 'http' is not supported by xlb (L4): use "
			"tcp or udp",
		},
	},
	{
		"route_remote",
		"upstreams:\n"
		"  - {id: u, nodes: {}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 1.1.1.1, remote_addr: 10.0.0.0/33, upstream_id: u}\n"
		"  - {id: 2, server_addr: 1.1.1.2, remote_addr: \"fd00::/8\", upstream_id: u}\n"
		"  - {id: 3, server_addr: \"fd00::3\", remote_addr: 10.0.0.0/8, upstream_id: u}\n",
		{
			"4:48: stream_routes[0].remote_addr: '10.0.0.0/33': prefix length must be "
			"0-32",
			"5:48: stream_routes[1].remote_addr: is IPv6 but server_addr is IPv4: no "
			"client could match",
			"6:50: stream_routes[2].remote_addr: is IPv4 but server_addr is IPv6: no "
			"client could match",
		},
	},
	{
		"route_upstream",
		"upstreams:\n"
		"  - {id: u, nodes: {}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 1.1.1.1}\n"
		"  - {id: 2, server_addr: 1.1.1.2, upstream_id: u, upstream: {nodes: {}}}\n"
		"  - {id: 3, server_addr: 1.1.1.3, upstream_id: nope}\n"
		"  - {id: 4, server_addr: 1.1.1.4, upstream: web}\n",
		{
			"4:5: stream_routes[0]: missing key 'upstream_id' (or an inline upstream)",
			"5:51: stream_routes[1]: use either upstream_id or an inline upstream, not "
			"both (one would be ignored)",
			"6:48: stream_routes[2].upstream_id: dangling upstream_id 'nope': no "
			"upstream has this id",
			"7:45: stream_routes[3].upstream: must be a mapping",
		},
	},
	{
		"route_dup_id",
		"upstreams:\n"
		"  - {id: u, nodes: {}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 1.1.1.1, upstream_id: u}\n"
		"  - {id: \"1\", server_addr: 1.1.1.2, upstream_id: u}\n",
		{
			"5:10: stream_routes[1].id: duplicate id '1' (first at line 4)",
		},
	},
	{
		"route_dup_vip",
		"upstreams:\n"
		"  - {id: u, nodes: {}}\n"
		"  - {id: v, scheme: udp, nodes: {}}\n"
		"stream_routes:\n"
		"  - {id: a, server_addr: 1.1.1.1, server_port: 80, upstream_id: u}\n"
		"  - {id: b, server_addr: 1.1.1.1, server_port: 80, upstream_id: v}\n"
		"  - {id: c, server_addr: 1.1.1.1, server_port: 80, upstream_id: v, scheme: "
		"tcp}\n"
		"  - {id: d, server_addr: \"fd00::1\", upstream_id: u}\n"
		"  - {id: e, server_addr: \"fd00:0::1\", upstream: {nodes: {}}}\n",
		{
			"7:26: stream_routes[2].server_addr: duplicate VIP 1.1.1.1:80/tcp: stream "
			"routes 'a' (line 5) and 'c' (line 7)",
			"9:26: stream_routes[4].server_addr: duplicate VIP [fd00::1]:0/tcp: stream "
			"routes 'd' (line 8) and 'e' (line 9)",
		},
	},
	{
		"route_v6_v4_nodes",
		"upstreams:\n"
		"  - id: u\n"
		"    nodes: {\"[fd00::1]:80\": 1, \"198.18.0.1:80\": 1}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: \"fd00::1\", upstream_id: u}\n"
		"  - id: 2\n"
		"    server_addr: \"fd00::2\"\n"
		"    upstream:\n"
		"      nodes: [{host: 198.18.0.2, port: 80, weight: 1}]\n"
		"  - {id: 3, server_addr: 198.18.100.3, upstream_id: u}\n",
		{
			"5:50: stream_routes[0].upstream_id: IPv6 VIP [fd00::1]:0/tcp needs IPv6 "
			"nodes: upstream 'u' (line 2) has 198.18.0.1:80",
			"8:5: stream_routes[1].upstream: IPv6 VIP [fd00::2]:0/tcp needs IPv6 "
			"nodes: upstream 'route:2' (line 9) has 198.18.0.2:80",
		},
	},
	{
		"route_inline",
		"stream_routes:\n"
		"  - id: 1\n"
		"    server_addr: 1.1.1.1\n"
		"    upstream: {id: x, nodes: {\"web.local:80\": 1}}\n"
		"  - id: rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr\n"
		"    server_addr: 1.1.1.2\n"
		"    upstream: {nodes: {}}\n",
		{
			"4:16: stream_routes[0].upstream: an inline upstream has no id (it is "
			"named 'route:<route id>'); use upstream_id to share an upstream",
			"4:31: stream_routes[0].upstream.nodes[\"web.local:80\"]: 'web.local' is a "
			"host name: host names need discovery_type (dns)",
			"5:9: stream_routes[1].id: must be at most 58 characters when the route "
			"has an inline upstream (named 'route:<id>')",
		},
	},
	{
		"apisix_meta",
		"upstreams:\n"
		"  - id: a\n"
		"    name: 1\n"
		"    desc: [x]\n"
		"    labels: {env: \"pro duction\", build: 16, empty: \"\"}\n"
		"    nodes: {}\n"
		"    checks: {}\n"
		"  - id: b\n"
		"    name: \"\"\n"
		"    labels: env\n"
		"    nodes: {}\n"
		"    checks: {active: {req_headers: []}}\n"
		"stream_routes:\n"
		"  - id: r\n"
		"    name: "
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		"nnnnnnnnnnn\n"
		"    desc: 2\n"
		"    server_addr: 198.18.100.2\n"
		"    upstream_id: a\n",
		{
			"3:11: upstreams[0].name: must be a string",
			"4:11: upstreams[0].desc: must be a string",
			"5:19: upstreams[0].labels.env: must not contain white space (APISIX's "
			"pattern ^\\S+$)",
			"5:41: upstreams[0].labels.build: must be a string",
			"5:52: upstreams[0].labels.empty: must not be empty",
			"7:13: upstreams[0].checks: passive checks need active checks too, and "
			"this block has neither: give active (and passive) or leave checks out",
			"9:11: upstreams[1].name: must not be empty",
			"10:13: upstreams[1].labels: must be a mapping of strings",
			"12:36: upstreams[1].checks.active.req_headers: must not be empty",
			"15:11: stream_routes[0].name: must be at most 256 characters",
			"16:11: stream_routes[0].desc: must be a string",
		},
	},
	{
		"route_unsupported",
		"upstreams:\n"
		"  - {id: u, nodes: {}}\n"
		"stream_routes:\n"
		"  - id: 1\n"
		"    server_addr: 1.1.1.1\n"
		"    upstream_id: u\n"
		"    sni: a.com\n"
		"    plugins: {}\n"
		"    service_id: 1\n"
		"    server: 1\n",
		{
			"7:5: stream_routes[0].sni: not supported by xlb (L4): xlb does not read "
			"TLS handshakes",
			"8:5: stream_routes[0].plugins: not supported by xlb (L4): xlb runs no "
			"plugins",
			"9:5: stream_routes[0].service_id: not supported by xlb (L4): use "
			"upstream_id or an inline upstream",
			"10:5: stream_routes[0]: unknown key 'server' (valid keys: id, name, "
			"desc, labels, create_time, update_time, server_addr, server_port, "
			"scheme, protocol, remote_addr, upstream_id, upstream)",
		},
	},
	{
		"nat_src_missing",
		"upstreams:\n"
		"  - {id: u, forward: nat, nodes: {\"198.18.0.11:8080\": 1}}\n"
		"  - {id: w, forward: nat, nodes: {\"[fd00:78:6c62::11]:80\": 1}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 198.18.100.1, server_port: 80, upstream_id: u}\n"
		"  - {id: 2, server_addr: \"fd00:78:6c62:100::1\", server_port: 80, upstream_id: "
		"w}\n",
		{
			"5:70: stream_routes[0].upstream_id: upstream 'u' (line 2) forwards by "
			"NAT: set xlb.nat_src (the LB's IPv4 address the nodes send their replies "
			"to)",
			"6:79: stream_routes[1].upstream_id: upstream 'w' (line 3) forwards by "
			"NAT: set xlb.nat_src6 (the LB's IPv6 address the nodes send their replies "
			"to)",
		},
	},
	{
		"nat_family_mix",
		"xlb: {nat_src: 198.18.0.2, nat_src6: \"fd00:78:6c62::2\", forward: nat}\n"
		"upstreams:\n"
		"  - {id: u, nodes: {\"198.18.0.11:80\": 1, \"[fd00:78:6c62::11]:80\": 1}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 198.18.100.1, server_port: 80, upstream_id: u}\n",
		{
			"5:70: stream_routes[0].upstream_id: NAT from IPv4 VIP 198.18.100.1:80/tcp "
			"to node [fd00:78:6c62::11]:80 of upstream 'u' (line 3): NAT does not "
			"translate between IPv4 and IPv6; use nodes of the VIP's family",
		},
	},
	{
		"nat_src_is_vip",
		"xlb: {nat_src: 198.18.100.1, forward: nat}\n"
		"upstreams:\n"
		"  - {id: u, nodes: {\"198.18.0.11:80\": 1}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 198.18.100.1, server_port: 80, upstream_id: u}\n",
		{
			"5:70: stream_routes[0].upstream_id: server_addr 198.18.100.1 is also "
			"xlb.nat_src: nodes' replies to NAT connections would be taken for this "
			"VIP's clients; give NAT another address",
		},
	},
	{
		"nat_settings",
		"xlb:\n"
		"  forward: l2\n"
		"  nat_src: \"fd00::2\"\n"
		"  nat_src6: 198.18.0.2\n"
		"  nat_port_min: 40000\n"
		"  nat_port_max: 2000\n"
		"  nat_timeout_syn: 0\n"
		"upstreams:\n"
		"  - {id: u, forward: ipip, nodes: {}}\n"
		"  - {id: w, forward: gre, nodes: {}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 198.18.100.1, upstream_id: u}\n",
		{
			"3:12: xlb.nat_src: must be an IPv4 address, not 'fd00::2'",
			"4:13: xlb.nat_src6: must be an IPv6 address, not '198.18.0.2'",
			"5:17: xlb.nat_port_min: 40000 is above nat_port_max 2000: no port to hand "
			"out",
			"7:20: xlb.nat_timeout_syn: must be an integer 1-86400",
			"10:22: upstreams[1].forward: must be ipip, l2, nat or gue, not 'gre' (did "
			"you "
			"mean 'gue'?)",
			"12:53: stream_routes[0].upstream_id: upstream 'u' (line 9) has forward "
			"ipip but xlb.forward is l2: direct return is one method for all; set "
			"forward: nat on the upstreams to translate and xlb.forward to ipip or l2",
		},
	},
	{
		"stateless_not_gue",
		"upstreams:\n"
		"  - {id: u, flow_state: stateless, nodes: {}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 198.18.100.1, upstream_id: u}\n",
		{
			"4:53: stream_routes[0].upstream_id: upstream 'u' (line 2) has flow_state "
			"stateless but forwards by ipip: without flow entries, connections follow "
			"a table change only through GUE's hops; set forward: gue (IPIP has no "
			"room for hops, NAT and L2 keep flow entries)",
		},
	},
};

/* NAT: per upstream or global, settings with their defaults. */
static void test_nat(void **state)
{
	struct xlb_conf c;

	parse_good("nat",
		   "xlb: {nat_src: 198.18.0.2, nat_port_max: 2047, nat_timeout_udp: 5,\n"
		   "      nat_connections: 4096}\n"
		   "upstreams:\n"
		   "  - {id: n, forward: nat, nodes: {\"198.18.0.11:8080\": 1}}\n"
		   "  - {id: d, nodes: {\"198.18.0.12:80\": 1}}\n"
		   "stream_routes:\n"
		   "  - {id: 1, server_addr: 198.18.100.1, server_port: 80, upstream_id: n}\n"
		   "  - {id: 2, server_addr: 198.18.100.2, server_port: 80, upstream_id: d}\n",
		   &c);
	check_str(c.xlb.nat_src, "198.18.0.2", "nat_src");
	check_int(c.xlb.nat_port_min, XLB_NAT_PORT_MIN, "nat_port_min default");
	check_int(c.xlb.nat_port_max, 2047, "nat_port_max");
	check_int(c.xlb.nat_timeout_syn, XLB_NAT_TMO_SYN, "nat_timeout_syn default");
	check_int(c.xlb.nat_timeout_established, XLB_NAT_TMO_ESTABLISHED,
		  "nat_timeout_established default");
	check_int(c.xlb.nat_timeout_closing, XLB_NAT_TMO_CLOSING, "nat_timeout_closing default");
	check_int(c.xlb.nat_timeout_udp, 5, "nat_timeout_udp");
	check_int(c.xlb.nat_connections, 4096, "nat_connections");
	check_int(xlb_conf_upstream_nat(&c, xlb_conf_upstream(&c, "n")), 1, "upstream n by NAT");
	check_int(xlb_conf_upstream_nat(&c, xlb_conf_upstream(&c, "d")), 0, "upstream d direct");
	xlb_conf_free(&c);

	parse_good("nat global",
		   "xlb: {forward: nat, nat_src6: \"fd00:78:6c62::2\"}\n"
		   "upstreams:\n"
		   "  - {id: n, nodes: {\"[fd00:78:6c62::11]:80\": 1}}\n"
		   "stream_routes:\n"
		   "  - {id: 1, server_addr: \"fd00:78:6c62:100::1\", upstream_id: n}\n",
		   &c);
	check_int(c.xlb.forward, XLB_FWD_NAT, "xlb.forward");
	check_int(xlb_conf_upstream_nat(&c, xlb_conf_upstream(&c, "n")), 1, "upstream n by NAT");
	xlb_conf_free(&c);
	check_done();
}

/* type: least_conn, as APISIX writes it (nodes as a list or a map). */
static void test_least_conn(void **state)
{
	struct xlb_conf c;

	parse_good(
		"least_conn",
		"upstreams:\n"
		"  - {id: l, type: least_conn, nodes: [{host: 198.18.0.12, port: 80, weight: 2,\n"
		"     priority: 1}, {host: 198.18.0.13, port: 80, weight: 1}]}\n"
		"  - {id: m, type: least_conn, nodes: {\"198.18.0.12:80\": 2}}\n"
		"stream_routes:\n"
		"  - {id: 1, server_addr: 198.18.100.1, server_port: 80, upstream_id: l}\n"
		"  - {id: 2, server_addr: 198.18.100.2, server_port: 80, upstream_id: m}\n",
		&c);
	check_int(xlb_conf_upstream(&c, "l")->type, XLB_LB_LEAST_CONN, "upstream l type");
	check_int(xlb_conf_upstream(&c, "m")->type, XLB_LB_LEAST_CONN, "upstream m type");
	check_int(xlb_conf_upstream(&c, "l")->hash_src, 0, "upstream l hashes no source");
	xlb_conf_free(&c);
	check_done();
}

/* GUE: per upstream on any node, or global; its port. */
static void test_gue(void **state)
{
	struct xlb_conf c;

	parse_good("gue",
		   "xlb: {forward: l2}\n"
		   "upstreams:\n"
		   "  - {id: g, forward: gue, nodes: {\"[fd00:78:6c62::11]:80\": 1}}\n"
		   "  - {id: d, nodes: {\"198.18.0.12:80\": 1}}\n"
		   "stream_routes:\n"
		   "  - {id: 1, server_addr: 198.18.100.1, server_port: 80, upstream_id: g}\n"
		   "  - {id: 2, server_addr: 198.18.100.2, server_port: 80, upstream_id: d}\n",
		   &c);
	check_int(c.xlb.gue_port, XLB_GUE_PORT_DEFAULT, "gue_port default");
	check_int(xlb_conf_upstream_gue(&c, xlb_conf_upstream(&c, "g")), 1, "upstream g in GUE");
	check_int(xlb_conf_upstream_gue(&c, xlb_conf_upstream(&c, "d")), 0, "upstream d by L2");
	xlb_conf_free(&c);

	parse_good("gue global",
		   "xlb: {forward: gue, gue_port: 7000}\n"
		   "upstreams:\n"
		   "  - {id: g, nodes: {\"198.18.0.11:80\": 1}}\n"
		   "  - {id: n, forward: nat, nodes: {\"198.18.0.12:80\": 1}}\n"
		   "stream_routes:\n"
		   "  - {id: 1, server_addr: 198.18.100.1, upstream_id: g}\n",
		   &c);
	check_int(c.xlb.forward, XLB_FWD_GUE, "xlb.forward");
	check_int(c.xlb.gue_port, 7000, "gue_port");
	check_int(xlb_conf_upstream_gue(&c, xlb_conf_upstream(&c, "g")), 1, "upstream g in GUE");
	check_int(xlb_conf_upstream_gue(&c, xlb_conf_upstream(&c, "n")), 0, "upstream n by NAT");
	xlb_conf_free(&c);

	parse_good("stateless",
		   "xlb: {flow_state: stateless, syn_table: 4096}\n"
		   "upstreams:\n"
		   "  - {id: g, forward: gue, nodes: {\"198.18.0.11:80\": 1}}\n"
		   "  - {id: t, forward: gue, flow_state: table, nodes: {\"198.18.0.12:80\": 1}}\n"
		   "stream_routes:\n"
		   "  - {id: 1, server_addr: 198.18.100.1, upstream_id: g}\n"
		   "  - {id: 2, server_addr: 198.18.100.2, upstream_id: t}\n",
		   &c);
	check_int(c.xlb.syn_table, 4096, "syn_table");
	check_int(xlb_conf_upstream_stateless(&c, xlb_conf_upstream(&c, "g")), 1, "g stateless");
	check_int(xlb_conf_upstream_stateless(&c, xlb_conf_upstream(&c, "t")), 0, "t table");
	xlb_conf_free(&c);
	check_done();
}

static void test_bad(void **state)
{
	const struct bad_case *bc;
	struct xlb_conf_errors errs;
	char got[512], want[512];
	unsigned char *b;
	struct xlb_conf c;
	size_t nwant, i;
	int err;

	for (bc = bad_cases; bc < bad_cases + ARRAY_SIZE(bad_cases); bc++) {
		memset(&c, 0xa5, sizeof(c));
		err = xlb_conf_parse(bc->yaml, &c, &errs);
		check_int(err, -EINVAL, "%s: return", bc->name);
		/* Nothing usable, nothing to free. */
		for (b = (unsigned char *)&c; b < (unsigned char *)(&c + 1) && !*b; b++)
			;
		check_int(b == (unsigned char *)(&c + 1), 1, "%s: conf zeroed", bc->name);
		for (nwant = 0; nwant < WANT_MAX && bc->want[nwant]; nwant++)
			;
		check_int(errs.n, nwant, "%s: number of errors", bc->name);
		for (i = 0; i < nwant || (i < errs.n && i < ARRAY_SIZE(errs.e)); i++) {
			got[0] = '\0';
			if (i < errs.n)
				xlb_conf_error_str(FILE_NAME, &errs.e[i], got, sizeof(got));
			snprintf(want, sizeof(want), FILE_NAME ":%s", i < nwant ? bc->want[i] : "");
			check_str(got, want, "%s: error %zu", bc->name, i);
		}
		xlb_conf_free(&c);
	}
	check_done();
}

/*
 * Problems everywhere at once, stream_routes written before upstreams: all
 * are reported, in the order of the text, whatever the order of checking.
 */
static void test_multiple_errors(void **state)
{
	static const char *const want[] = {
		FILE_NAME ":2:48: stream_routes[0].upstream_id: dangling upstream_id 'wbe': "
			  "no upstream has this id",
		FILE_NAME ":3:26: stream_routes[1].server_port: must be an integer 1-65535",
		FILE_NAME ":5:21: upstreams[0].type: must be chash, roundrobin or least_conn, "
			  "not 'chsh' (did you mean 'chash'?)",
		FILE_NAME ":6:34: upstreams[0].nodes[\"web.local:80\"]: 'web.local' is a host "
			  "name: host names need discovery_type (dns)",
		FILE_NAME ":7:46: upstreams[0].checks.active.unhealthy.timeouts: must be an "
			  "integer 1-254",
		FILE_NAME ":9:15: xlb.table_size: must be 0 (chosen from the node count) or a "
			  "prime 3-1048573 (e.g. 65537)",
	};
	struct xlb_conf_errors errs;
	struct xlb_conf c;
	char got[512];
	size_t i;

	assert_int_equal(
		xlb_conf_parse(
			"stream_routes:\n"
			"  - {id: 1, server_addr: 1.1.1.1, upstream_id: wbe}\n"
			"  - {id: 2, server_port: -1, server_addr: 1.1.1.2, upstream_id: web}\n"
			"upstreams:\n"
			"  - {id: web, type: chsh, nodes: {\"198.18.0.1:80\": 1,\n"
			"                                 \"web.local:80\": 1},\n"
			"     checks: {active: {unhealthy: {timeouts: 255}}}}\n"
			"xlb:\n"
			"  table_size: 1000\n",
			&c, &errs),
		-EINVAL);
	check_int(errs.n, ARRAY_SIZE(want), "number of errors");
	for (i = 0; i < ARRAY_SIZE(want) && i < errs.n; i++) {
		xlb_conf_error_str(FILE_NAME, &errs.e[i], got, sizeof(got));
		check_str(got, want[i], "error %zu", i);
	}
	check_int(c.nupstreams + c.nroutes, 0, "no conf");
	check_done();
}

/* More problems than stored: n counts them all, the first ones are kept. */
static void test_many_errors(void **state)
{
	struct xlb_conf_errors errs;
	size_t len = 0, i, n = 100;
	struct xlb_conf c;
	char *text;

	text = malloc(n * 64 + 64);
	assert_non_null(text);
	len += sprintf(text + len, "upstreams:\n");
	for (i = 0; i < n; i++)
		len += sprintf(text + len, "  - {id: u%zu, type: ewma, nodes: {}}\n", i);
	len += sprintf(text + len, "stream_routes: []\n");
	assert_int_equal(xlb_conf_parse(text, &c, &errs), -EINVAL);
	free(text);
	check_int(errs.n, n, "errors counted");
	for (i = 0; i < ARRAY_SIZE(errs.e); i++) {
		check_int(errs.e[i].line, i + 2, "error %zu line", i);
		check_int(errs.e[i].col, 20 + (i >= 10), "error %zu col", i);
	}
	check_done();
}

static void test_error_str(void **state)
{
	struct xlb_conf_error e = {.line = 3, .col = 7, .path = "xlb.mode", .msg = "bad"};
	char buf[128];

	xlb_conf_error_str("/etc/xlb/xlb.yaml", &e, buf, sizeof(buf));
	check_str(buf, "/etc/xlb/xlb.yaml:3:7: xlb.mode: bad", "full");
	e.path[0] = '\0';
	xlb_conf_error_str("x.yaml", &e, buf, sizeof(buf));
	check_str(buf, "x.yaml:3:7: bad", "no path");
	e.line = e.col = 0;
	xlb_conf_error_str("x.yaml", &e, buf, sizeof(buf));
	check_str(buf, "x.yaml: bad", "no position");
	xlb_conf_error_str(NULL, &e, buf, sizeof(buf));
	check_str(buf, "<input>: bad", "no file");
	xlb_conf_error_str("x.yaml", &e, buf, 5);
	check_str(buf, "x.ya", "truncated");
	check_done();
}

static void test_load_errors(void **state)
{
	struct xlb_conf_errors errs;
	struct xlb_conf c;
	char buf[256];

	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(xlb_conf_load("/nonexistent/xlb.yaml", &c, &errs), -ENOENT);
	check_int(c.nupstreams + c.nroutes, 0, "missing: conf zeroed");
	check_int(errs.n, 1, "missing: one error");
	xlb_conf_error_str("/nonexistent/xlb.yaml", &errs.e[0], buf, sizeof(buf));
	check_str(buf, "/nonexistent/xlb.yaml: cannot read: No such file or directory",
		  "missing: message");
	assert_int_equal(xlb_conf_load("/", &c, &errs), -EISDIR);
	check_int(errs.n, 1, "directory: one error");
	assert_int_equal(xlb_conf_parse(NULL, &c, &errs), -EINVAL);
	check_done();
}

/* Writes len bytes of text to a new temporary file; its name in path. */
static void write_tmp(char *path, size_t size, const char *text, size_t len)
{
	int fd;

	snprintf(path, size, "/tmp/xlb-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/*
 * A file is a configuration as a whole or not at all: a NUL byte (the
 * parser would stop there and drop the rest) and an empty file are bad
 * files with a position, -EINVAL as any other bad document.
 */
static void test_load_whole_file(void **state)
{
	static const char nul[] = "stream_routes: []\nxlb: {\0mode: generic}\n";
	struct xlb_conf_errors errs;
	char path[64], buf[256], want[256];
	struct xlb_conf c;
	char *text;

	write_tmp(path, sizeof(path), nul, sizeof(nul) - 1);
	memset(&c, 0xa5, sizeof(c));
	check_int(xlb_conf_load(path, &c, &errs), -EINVAL, "NUL: return");
	check_int(c.nupstreams + c.nroutes, 0, "NUL: conf zeroed");
	check_int(errs.n, 1, "NUL: one error");
	xlb_conf_error_str(path, &errs.e[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s:2:7: contains a NUL byte (not a text file?)", path);
	check_str(buf, want, "NUL: message");
	check_int(xlb_conf_read(path, &text, &errs), -EINVAL, "NUL: read");
	check_int(text == NULL, 1, "NUL: no text");
	unlink(path);

	write_tmp(path, sizeof(path), "", 0);
	check_int(xlb_conf_read(path, &text, &errs), 0, "empty: read");
	check_str(text ? text : "(null)", "", "empty: text");
	free(text);
	check_int(xlb_conf_load(path, &c, &errs), -EINVAL, "empty: return");
	check_int(errs.n, 1, "empty: one error");
	xlb_conf_error_str(path, &errs.e[0], buf, sizeof(buf));
	snprintf(want, sizeof(want),
		 "%s:1:1: the document is empty (write 'stream_routes: "
		 "[]' to run without routes)",
		 path);
	check_str(buf, want, "empty: message");
	unlink(path);
	check_done();
}

/*
 * Many objects: duplicate checks sort instead of comparing every pair, so
 * this stays quick; the one duplicate VIP, last, is still found.
 */
static void test_many_objects(void **state)
{
	struct xlb_conf_errors errs;
	size_t len = 0, i, n = 5000;
	struct xlb_conf c;
	char *text;
	int err;

	text = malloc(n * 200 + 256);
	assert_non_null(text);
	len += sprintf(text + len, "upstreams:\n");
	for (i = 0; i < n; i++)
		len += sprintf(text + len,
			       "  - {id: u%zu, nodes: {\"10.%zu.%zu.1:80\": 1, "
			       "\"10.%zu.%zu.2:80\": 1}}\n",
			       i, i >> 8, i & 255, i >> 8, i & 255);
	len += sprintf(text + len, "stream_routes:\n");
	for (i = 0; i < n; i++)
		len += sprintf(text + len,
			       "  - {id: r%zu, server_addr: 198.18.%zu.%zu, "
			       "upstream_id: u%zu}\n",
			       i, i >> 8, i & 255, n - 1 - i);
	err = xlb_conf_parse(text, &c, &errs);
	if (err)
		print_errors(&errs);
	assert_int_equal(err, 0);
	check_int(c.nupstreams, n, "nupstreams");
	check_int(c.nroutes, n, "nroutes");
	check_str(c.routes[n - 1].upstream_id, "u0", "last route's upstream");
	xlb_conf_free(&c);

	len += sprintf(text + len, "  - {id: dup, server_addr: 198.18.0.7, upstream_id: u1}\n");
	assert_int_equal(xlb_conf_parse(text, &c, &errs), -EINVAL);
	check_int(errs.n, 1, "one duplicate");
	check_str(errs.e[0].msg,
		  "duplicate VIP 198.18.0.7:0/tcp: stream routes 'r7' "
		  "(line 5010) and 'dup' (line 10003)",
		  "duplicate VIP");
	free(text);
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_discovery_defaults),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_nat),
		cmocka_unit_test(test_gue),
		cmocka_unit_test(test_least_conn),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_multiple_errors),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_error_str),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_many_objects),
		cmocka_unit_test(test_load_whole_file),
	};

	return check_run_tests("config", tests, NULL, NULL);
}
