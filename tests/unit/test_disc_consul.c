// SPDX-License-Identifier: GPL-2.0-only
/*
 * The consul registry against tests/lib/registry_server.py playing Consul's
 * HTTP API (answers in the shapes of Consul's /v1/health/service and
 * /v1/catalog/service documentation): blocking queries with index and
 * wait, an index going backwards, resuming from the index after a dropped
 * connection, server failover, the token header, discovery_args, and bad
 * answers (HTTP 500, bad JSON, wrong types, a truncated body, an empty
 * list) that must keep the last good node set. Plus the pure parser.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "discovery/discovery.h"
#include "discovery/httpreg.h"
#include "../lib/registry_server.h"
#include "../lib/check.h"

#define HEALTH	"/v1/health/service/web"
#define CATALOG "/v1/catalog/service/web"

static struct regsrv srv;

/* One /v1/health/service entry as Consul documents it. */
static char *entry(char *buf, size_t len, const char *svc_addr, const char *node_addr, int port,
		   int weight)
{
	char w[64] = "";

	if (weight >= 0)
		snprintf(w, sizeof(w), ", \"Weights\": {\"Passing\": %d, \"Warning\": 1}", weight);
	snprintf(buf, len,
		 "{\"Node\": {\"ID\": \"40e4a748-2192-161a-0510-9bf59fe950b5\", \"Node\": \"n1\", "
		 "\"Address\": \"%s\", \"Datacenter\": \"dc1\", \"TaggedAddresses\": "
		 "{\"lan\": \"%s\", \"wan\": \"%s\"}, \"Meta\": {}}, "
		 "\"Service\": {\"ID\": \"web-%d\", \"Service\": \"web\", \"Tags\": [\"primary\"], "
		 "\"Address\": \"%s\", \"Meta\": {}, \"Port\": %d%s, \"Namespace\": \"default\"}, "
		 "\"Checks\": [{\"Node\": \"n1\", \"CheckID\": \"service:web\", \"Name\": "
		 "\"Service 'web' check\", \"Status\": \"passing\", \"ServiceID\": \"web\"}]}",
		 node_addr, node_addr, node_addr, port, svc_addr, port, w);
	return buf;
}

/* A response object for registry_server.py: status 200, X-Consul-Index, body. */
static char *answer(char *buf, size_t len, int index, const char *body)
{
	char *q = malloc(strlen(body) * 2 + 3), *o = q;
	const char *p;

	/* body as a JSON string */
	*o++ = '"';
	for (p = body; *p; p++) {
		if (*p == '"' || *p == '\\')
			*o++ = '\\';
		*o++ = *p;
	}
	*o++ = '"';
	*o = '\0';
	snprintf(buf, len, "{\"headers\": {\"X-Consul-Index\": \"%d\"}, \"body\": %s}", index, q);
	free(q);
	return buf;
}

static void conf_init(struct xlb_discovery_conf *c, const char *host0, const char *host1)
{
	memset(c, 0, sizeof(*c));
	c->consul.enabled = 1;
	snprintf(c->consul.hosts[0], sizeof(c->consul.hosts[0]), "%s", host0);
	c->consul.nhosts = 1;
	if (host1) {
		snprintf(c->consul.hosts[1], sizeof(c->consul.hosts[1]), "%s", host1);
		c->consul.nhosts = 2;
	}
	c->consul.weight = 7;
	c->consul.fetch_interval = 0.2;
	c->consul.timeout.connect = 2;
	c->consul.timeout.read = 5;
	c->consul.timeout.wait = 2;
}

#define TWO_NODES(buf, e1, e2)                                               \
	(snprintf(buf, sizeof(buf), "[%s, %s]",                              \
		  entry(e1, sizeof(e1), "198.18.0.1", "198.18.1.1", 80, 10), \
		  entry(e2, sizeof(e2), "", "198.18.1.2", 81, -1)),          \
	 buf)

static void test_parse(void **state)
{
	struct xlb_disc_nodes ns = {0};
	char e1[2048], e2[2048], e3[2048], body[8192], err[256];
	unsigned int skipped;

	snprintf(body, sizeof(body), "[%s, %s, %s]",
		 entry(e1, sizeof(e1), "198.18.0.1", "198.18.1.1", 80, 10),
		 entry(e2, sizeof(e2), "", "fd00:78:6c62::2", 81, -1),
		 entry(e3, sizeof(e3), "web.service.consul", "198.18.1.3", 82, 1));
	assert_int_equal(xlb_consul_parse(body, strlen(body), 7, &ns, &skipped, err, sizeof(err)),
			 0);
	assert_int_equal(ns.n, 2);
	assert_int_equal(skipped, 1);
	assert_int_equal(ns.v[0].port, 80);
	assert_int_equal(ns.v[0].weight, 10);
	assert_int_equal(ns.v[0].addr.family, XLB_AF_INET);
	/* Service.Address empty: Node.Address; no Weights: the default. */
	assert_int_equal(ns.v[1].port, 81);
	assert_int_equal(ns.v[1].weight, 7);
	assert_int_equal(ns.v[1].addr.family, XLB_AF_INET6);
	xlb_disc_nodes_free(&ns);

	assert_int_equal(xlb_consul_parse("[]", 2, 7, &ns, &skipped, err, sizeof(err)), 0);
	assert_int_equal(ns.n, 0);

	static const char *const bad[] = {
		"",
		"[",
		"{}",
		"null",
		"[1]",
		"[{}]",
		"[{\"Service\": []}]",
		"[{\"Service\": {\"Port\": \"80\", \"Address\": \"198.18.0.1\"}}]",
		"[{\"Service\": {\"Port\": 0, \"Address\": \"198.18.0.1\"}}]",
		"[{\"Service\": {\"Port\": 70000, \"Address\": \"198.18.0.1\"}}]",
		"[{\"Service\": {\"Port\": 80, \"Address\": 5}}]",
		"[{\"Service\": {\"Port\": 80, \"Address\": \"\"}}]",
		"[{\"Service\": {\"Port\": 80, \"Address\": \"\"}, \"Node\": {\"Address\": []}}]",
		"[{\"Service\": {\"Port\": 80, \"Address\": \"198.18.0.1\", \"Weights\": {}}}]",
		"[{\"Service\": {\"Port\": 80, \"Address\": \"198.18.0.1\", "
		"\"Weights\": {\"Passing\": -1}}}]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(xlb_consul_parse(bad[i], strlen(bad[i]), 7, &ns, &skipped, err,
						  sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
		xlb_disc_nodes_free(&ns);
	}
	/* A weight over xlb's range is capped. */
	const char *big = "[{\"Service\": {\"Port\": 80, \"Address\": \"198.18.0.1\", "
			  "\"Weights\": {\"Passing\": 100000}}}]";
	assert_int_equal(xlb_consul_parse(big, strlen(big), 7, &ns, &skipped, err, sizeof(err)), 0);
	assert_int_equal(ns.v[0].weight, XLB_WEIGHT_MAX);
	xlb_disc_nodes_free(&ns);
}

static void test_check_args(void **state)
{
	struct xlb_discovery_conf c;
	char why[256];

	conf_init(&c, "http://127.0.0.1:8500", NULL);
	assert_int_equal(xlb_disc_check(&c, "consul", "web", NULL, why, sizeof(why)), 0);
	assert_int_equal(xlb_disc_check(&c, "consul", "web", "{\"dc\": \"dc2\", \"tag\": \"v1\"}",
					why, sizeof(why)),
			 0);
	assert_int_equal(
		xlb_disc_check(&c, "consul", "web", "{\"namespace\": \"x\"}", why, sizeof(why)),
		-EINVAL);
	assert_non_null(strstr(why, "namespace"));
	assert_int_equal(xlb_disc_check(&c, "consul", "web", "{\"dc\": 1}", why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(xlb_disc_check(&c, "consul", "web", "[]", why, sizeof(why)), -EINVAL);
	assert_int_equal(xlb_disc_check(&c, "consul", "a/b", NULL, why, sizeof(why)), -EINVAL);
}

/*
 * Blocking queries: the first query has no index; each later one sends
 * the last X-Consul-Index with a wait; changes show up as they come.
 */
static void test_blocking(void **state)
{
	char e1[2048], e2[2048], e3[2048], b[8192], a1[16384], a2[16384], script[40000];
	struct xlb_discovery_conf c;
	struct dwatch t;
	char *q;

	TWO_NODES(b, e1, e2);
	answer(a1, sizeof(a1), 10, b);
	snprintf(b, sizeof(b), "[%s, %s, %s]", e1, e2,
		 entry(e3, sizeof(e3), "198.18.0.3", "198.18.1.3", 80, 5));
	answer(a2, sizeof(a2), 11, b);
	snprintf(script, sizeof(script),
		 "{\"routes\": {\"" HEALTH "\": [%s, %s, {\"wait\": true}]}}", a1, a2);
	assert_int_equal(regsrv_script(&srv, script), 0);
	conf_init(&c, srv.url, NULL);
	snprintf(c.consul.token, sizeof(c.consul.token), "acl-secret");
	assert_int_equal(dwatch_start(&t, &c, "consul", "web", "{\"dc\": \"dc1\"}"), 0);
	assert_true(dwatch_wait_nodes(&t, "198.18.0.1:80/10 198.18.0.3:80/5 198.18.1.2:81/7", 10));
	/* The third query blocks at index 11. */
	for (int i = 0; i < 100 && regsrv_count(&srv, HEALTH) < 3; i++)
		run_for(t.base, 0.05);
	q = regsrv_req(&srv, HEALTH, 0, "query");
	assert_string_equal(q, "passing=1&dc=dc1");
	free(q);
	q = regsrv_req(&srv, HEALTH, 1, "query");
	assert_string_equal(q, "passing=1&dc=dc1&index=10&wait=2s");
	free(q);
	q = regsrv_req(&srv, HEALTH, 2, "query");
	assert_string_equal(q, "passing=1&dc=dc1&index=11&wait=2s");
	free(q);
	q = regsrv_req(&srv, HEALTH, 0, "header:x-consul-token");
	assert_string_equal(q, "acl-secret");
	free(q);
	assert_int_equal(dwatch_status(&t).errors, 0);
	assert_int_equal(t.updates, 2);
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/* Push one answer to the blocked query, then block again. */
static void push(const char *path, const char *resp)
{
	assert_int_equal(regsrv_answer(&srv, path, resp), 0);
}

/*
 * Garbage never empties the set: after each bad answer the set is the
 * same, the error is counted, and the query resumes from the last index.
 */
static void test_bad_answers_keep_set(void **state)
{
	char e1[2048], e2[2048], b[8192], good[16384], script[40000];
	const char *want = "198.18.0.1:80/10 198.18.1.2:81/7";
	static const char *const bad[] = {
		"{\"status\": 500, \"body\": \"rpc error: No cluster leader\"}",
		"{\"headers\": {\"X-Consul-Index\": \"12\"}, \"body\": \"[{\\\"Node\\\": \"}",
		"{\"headers\": {\"X-Consul-Index\": \"12\"}, \"body\": "
		"\"[{\\\"Service\\\": {\\\"Port\\\": \\\"eighty\\\"}}]\"}",
		"{\"headers\": {\"X-Consul-Index\": \"12\"}, \"body\": {\"Service\": 1}}",
		"{\"headers\": {\"X-Consul-Index\": \"12\"}, \"body\": \"[{\\\"Service\\\": "
		"{\\\"Port\\\": 80, \\\"Address\\\": \\\"198.18.0.9\\\"}}]\", \"truncate\": 20}",
		/* A slow registry: the query times out. */
		"{\"delay\": 6, \"body\": []}",
	};
	struct xlb_discovery_conf c;
	unsigned long errors = 0, answers;
	struct dwatch t;
	char *q;
	size_t i;

	answer(good, sizeof(good), 10, TWO_NODES(b, e1, e2));
	snprintf(script, sizeof(script), "{\"routes\": {\"" HEALTH "\": [%s, {\"wait\": true}]}}",
		 good);
	assert_int_equal(regsrv_script(&srv, script), 0);
	conf_init(&c, srv.url, NULL);
	c.consul.timeout.read = 1;
	assert_int_equal(dwatch_start(&t, &c, "consul", "web", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, want, 10));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		push(HEALTH, bad[i]);
		errors++;
		assert_true(dwatch_wait_counts(&t, errors, 0, 10));
		assert_string_equal(dwatch_nodes(&t), want);
		assert_true(dwatch_status(&t).error[0] != '\0');
		/* The retry resumes at index 10, then a good answer clears the error. */
		answers = dwatch_status(&t).answers;
		push(HEALTH, good);
		assert_true(dwatch_wait_counts(&t, errors, answers + 1, 10));
		q = regsrv_req(&srv, HEALTH, -2, "query");
		assert_string_equal(q, "passing=1&index=10&wait=2s");
		free(q);
		assert_string_equal(dwatch_status(&t).error, "");
	}
	assert_int_equal(t.updates, 1);
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/*
 * An empty ?passing list: instances still registered (failing checks)
 * keep the set; no instance in the catalog means the service is gone.
 */
static void test_empty_list(void **state)
{
	char e1[2048], e2[2048], b[8192], good[16384], script[60000], empty[256];
	struct xlb_discovery_conf c;
	struct dwatch t;

	answer(good, sizeof(good), 10, TWO_NODES(b, e1, e2));
	answer(empty, sizeof(empty), 11, "[]");
	snprintf(script, sizeof(script),
		 "{\"routes\": {\"" HEALTH "\": [%s, %s, {\"wait\": true}],"
		 "\"" CATALOG
		 "\": [{\"headers\": {\"X-Consul-Index\": \"11\"}, \"body\": [{\"ID\": "
		 "\"x\", \"Node\": \"n1\", \"Address\": \"198.18.1.1\", \"ServiceAddress\": "
		 "\"198.18.0.1\", \"ServicePort\": 80}]}, {\"wait\": true}]}}",
		 good, empty);
	assert_int_equal(regsrv_script(&srv, script), 0);
	conf_init(&c, srv.url, NULL);
	assert_int_equal(dwatch_start(&t, &c, "consul", "web", NULL), 0);
	assert_true(dwatch_wait_counts(&t, 1, 1, 10));
	assert_string_equal(dwatch_nodes(&t), "198.18.0.1:80/10 198.18.1.2:81/7");
	assert_non_null(strstr(dwatch_status(&t).error, "empty answer"));
	assert_int_equal(regsrv_count(&srv, CATALOG), 1);
	/* Deregistered: the catalog is empty too. */
	push(CATALOG, "{\"headers\": {\"X-Consul-Index\": \"12\"}, \"body\": []}");
	push(HEALTH, "{\"headers\": {\"X-Consul-Index\": \"12\"}, \"body\": []}");
	assert_true(dwatch_wait_nodes(&t, "", 10));
	assert_string_equal(dwatch_status(&t).error, "");
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/*
 * The longest service name consul_check allows (200 characters), each one
 * escaped to three: the query path carries all of it.
 */
static void test_long_service_name(void **state)
{
	char e1[2048], e2[2048], b[8192], good[16384], script[40000], name[201], path[640];
	struct xlb_discovery_conf c;
	struct dwatch t;
	size_t i, o;

	memset(name, ' ', 200);
	name[200] = '\0';
	o = snprintf(path, sizeof(path), "/v1/health/service/");
	for (i = 0; i < 200; i++)
		o += snprintf(path + o, sizeof(path) - o, "%%20");
	answer(good, sizeof(good), 10, TWO_NODES(b, e1, e2));
	snprintf(script, sizeof(script), "{\"routes\": {\"%s\": [%s, {\"wait\": true}]}}", path,
		 good);
	assert_int_equal(regsrv_script(&srv, script), 0);
	conf_init(&c, srv.url, NULL);
	assert_int_equal(xlb_disc_check(&c, "consul", name, NULL, b, sizeof(b)), 0);
	assert_int_equal(dwatch_start(&t, &c, "consul", name, NULL), 0);
	assert_true(dwatch_wait_nodes(&t, "198.18.0.1:80/10 198.18.1.2:81/7", 10));
	assert_int_equal(regsrv_count(&srv, path), 1);
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/* Consul: an index that goes backwards is reset, the next query has none. */
static void test_index_backwards(void **state)
{
	char e1[2048], e2[2048], b[8192], a1[16384], a2[16384], a3[16384], script[60000];
	struct xlb_discovery_conf c;
	struct dwatch t;
	char *q;

	TWO_NODES(b, e1, e2);
	answer(a1, sizeof(a1), 100, b);
	answer(a2, sizeof(a2), 50, b);
	answer(a3, sizeof(a3), 60, b);
	snprintf(script, sizeof(script),
		 "{\"routes\": {\"" HEALTH "\": [%s, %s, %s, {\"wait\": true}]}}", a1, a2, a3);
	assert_int_equal(regsrv_script(&srv, script), 0);
	conf_init(&c, srv.url, NULL);
	assert_int_equal(dwatch_start(&t, &c, "consul", "web", NULL), 0);
	for (int i = 0; i < 200 && regsrv_count(&srv, HEALTH) < 4; i++)
		run_for(t.base, 0.05);
	assert_int_equal(regsrv_count(&srv, HEALTH), 4);
	q = regsrv_req(&srv, HEALTH, 1, "query");
	assert_string_equal(q, "passing=1&index=100&wait=2s");
	free(q);
	q = regsrv_req(&srv, HEALTH, 2, "query");
	assert_string_equal(q, "passing=1");
	free(q);
	q = regsrv_req(&srv, HEALTH, 3, "query");
	assert_string_equal(q, "passing=1&index=60&wait=2s");
	free(q);
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/* The first server refuses connections: the second answers, no error. */
static void test_failover(void **state)
{
	char e1[2048], e2[2048], b[8192], a1[16384], script[40000];
	struct xlb_discovery_conf c;
	struct dwatch t;

	answer(a1, sizeof(a1), 10, TWO_NODES(b, e1, e2));
	snprintf(script, sizeof(script), "{\"routes\": {\"" HEALTH "\": [%s, {\"wait\": true}]}}",
		 a1);
	assert_int_equal(regsrv_script(&srv, script), 0);
	conf_init(&c, "http://127.0.0.1:1", srv.url);
	assert_int_equal(dwatch_start(&t, &c, "consul", "web", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, "198.18.0.1:80/10 198.18.1.2:81/7", 10));
	assert_int_equal(dwatch_status(&t).errors, 0);
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);

	/* Both down: one error per round, nothing learnt. */
	conf_init(&c, "http://127.0.0.1:1", "http://127.0.0.1:2");
	assert_int_equal(dwatch_start(&t, &c, "consul", "web", NULL), 0);
	assert_true(dwatch_wait_counts(&t, 1, 0, 10));
	assert_string_equal(dwatch_nodes(&t), "");
	assert_non_null(strstr(dwatch_status(&t).error, "consul http://127.0.0.1:"));
	dwatch_stop(&t);
}

static int freed;

static void free_in_cb(struct xlb_disc_watch *w, void *arg)
{
	xlb_disc_watch_free(w);
	freed++;
}

/* The update callback may free its watch: nothing touches it afterwards. */
static void test_free_in_callback(void **state)
{
	char e1[2048], e2[2048], b[8192], a1[16384], script[40000];
	struct xlb_discovery_conf c;
	struct event_base *base;
	struct xlb_disc *d;

	answer(a1, sizeof(a1), 10, TWO_NODES(b, e1, e2));
	snprintf(script, sizeof(script), "{\"routes\": {\"" HEALTH "\": [%s, {\"wait\": true}]}}",
		 a1);
	assert_int_equal(regsrv_script(&srv, script), 0);
	conf_init(&c, srv.url, NULL);
	base = event_base_new();
	d = xlb_disc_new(base, &c);
	assert_non_null(xlb_disc_watch_new(d, "consul", "web", NULL, NULL, 0, free_in_cb, NULL));
	for (int i = 0; i < 200 && !freed; i++)
		run_for(base, 0.05);
	assert_int_equal(freed, 1);
	run_for(base, 0.3);
	xlb_disc_free(d);
	event_base_free(base);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_check_args),
		cmocka_unit_test(test_blocking),
		cmocka_unit_test(test_bad_answers_keep_set),
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_index_backwards),
		cmocka_unit_test(test_long_service_name),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_free_in_callback),
	};
	int rc;

	if (regsrv_start(&srv)) {
		printf("# SKIP cannot start tests/lib/registry_server.py (python3)\n");
		return 77;
	}
	rc = check_run_tests("consul", tests, NULL, NULL);
	regsrv_stop(&srv);
	return rc;
}
