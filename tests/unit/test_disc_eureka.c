// SPDX-License-Identifier: GPL-2.0-only
/*
 * The eureka registry against tests/lib/registry_server.py playing Eureka's
 * REST API (GET {prefix}apps/<APP> in the JSON shape Eureka documents):
 * status and overriddenStatus, port and securePort, metadata.weight, an
 * instance given as one object, changes between polls, 404 as gone, bad
 * answers that keep the last good set, server failover and basic
 * authentication from the host URL. Plus the pure parser.
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

#define APP "/eureka/apps/WEB"

static struct regsrv srv;

/* One instance as Eureka's JSON gives it. */
static char *inst(char *buf, size_t len, const char *ip, const char *status, const char *overridden,
		  int port, int sport, const char *weight)
{
	char md[64] = "{}";

	if (weight)
		snprintf(md, sizeof(md), "{\"weight\": %s}", weight);
	snprintf(buf, len,
		 "{\"instanceId\": \"%s:web:%d\", \"hostName\": \"%s\", \"app\": \"WEB\", "
		 "\"ipAddr\": \"%s\", \"status\": \"%s\", \"overriddenStatus\": \"%s\", "
		 "\"port\": {\"$\": %d, \"@enabled\": \"%s\"}, "
		 "\"securePort\": {\"$\": %d, \"@enabled\": \"%s\"}, \"countryId\": 1, "
		 "\"dataCenterInfo\": {\"@class\": "
		 "\"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo\", "
		 "\"name\": \"MyOwn\"}, \"leaseInfo\": {\"renewalIntervalInSecs\": 30, "
		 "\"durationInSecs\": 90}, \"metadata\": %s, \"homePageUrl\": \"http://%s:%d/\", "
		 "\"vipAddress\": \"web\", \"isCoordinatingDiscoveryServer\": \"false\", "
		 "\"lastUpdatedTimestamp\": \"1700000000000\", \"actionType\": \"ADDED\"}",
		 ip, port, ip, ip, status, overridden, port, port ? "true" : "false",
		 sport ? sport : 443, sport ? "true" : "false", md, ip, port);
	return buf;
}

static char *app(char *buf, size_t len, const char *instances)
{
	snprintf(buf, len, "{\"application\": {\"name\": \"WEB\", \"instance\": %s}}", instances);
	return buf;
}

static void test_parse(void **state)
{
	char i1[2048], i2[2048], i3[2048], i4[2048], i5[2048], arr[12000], body[13000], err[256];
	struct xlb_disc_nodes ns = {0};
	unsigned int skipped;

	snprintf(arr, sizeof(arr), "[%s, %s, %s, %s, %s]",
		 inst(i1, sizeof(i1), "198.18.0.1", "UP", "UNKNOWN", 8080, 0, "\"30\""),
		 inst(i2, sizeof(i2), "198.18.0.2", "UP", "OUT_OF_SERVICE", 8080, 0, NULL),
		 inst(i3, sizeof(i3), "198.18.0.3", "DOWN", "UP", 8080, 8443, "5"),
		 inst(i4, sizeof(i4), "198.18.0.4", "DOWN", "UNKNOWN", 8080, 0, NULL),
		 inst(i5, sizeof(i5), "web-5.local", "UP", "UNKNOWN", 8080, 0, NULL));
	app(body, sizeof(body), arr);
	assert_int_equal(xlb_eureka_parse(body, strlen(body), 100, &ns, &skipped, err, sizeof(err)),
			 0);
	assert_int_equal(ns.n, 2);
	assert_int_equal(skipped, 1);
	assert_int_equal(ns.v[0].port, 8080);
	assert_int_equal(ns.v[0].weight, 30);
	/* overriddenStatus UP wins over DOWN; securePort wins when enabled. */
	assert_int_equal(ns.v[1].port, 8443);
	assert_int_equal(ns.v[1].weight, 5);
	xlb_disc_nodes_free(&ns);

	/* One instance as an object; "$" as text; @enabled as a boolean. */
	const char *one = "{\"application\": {\"name\": \"WEB\", \"instance\": {\"ipAddr\": "
			  "\"fd00:78:6c62::1\", \"status\": \"UP\", \"port\": {\"$\": \"9000\", "
			  "\"@enabled\": true}}}}";
	assert_int_equal(xlb_eureka_parse(one, strlen(one), 100, &ns, &skipped, err, sizeof(err)),
			 0);
	assert_int_equal(ns.n, 1);
	assert_int_equal(ns.v[0].port, 9000);
	assert_int_equal(ns.v[0].weight, 100);
	assert_int_equal(ns.v[0].addr.family, XLB_AF_INET6);
	xlb_disc_nodes_free(&ns);

	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"applications\": {}}",
		"{\"application\": []}",
		"{\"application\": {\"instance\": 5}}",
		"{\"application\": {\"instance\": [5]}}",
		"{\"application\": {\"instance\": [{\"status\": 1}]}}",
		"{\"application\": {\"instance\": [{\"status\": \"UP\", \"ipAddr\": 1, "
		"\"port\": {\"$\": 80, \"@enabled\": \"true\"}}]}}",
		"{\"application\": {\"instance\": [{\"status\": \"UP\", \"ipAddr\": "
		"\"198.18.0.1\", "
		"\"port\": {\"$\": \"x\", \"@enabled\": \"true\"}}]}}",
		"{\"application\": {\"instance\": [{\"status\": \"UP\", \"ipAddr\": "
		"\"198.18.0.1\", "
		"\"port\": {\"$\": 70000, \"@enabled\": \"true\"}}]}}",
		"{\"application\": {\"instance\": [{\"status\": \"UP\", \"ipAddr\": "
		"\"198.18.0.1\", "
		"\"port\": {\"$\": 80, \"@enabled\": \"false\"}}]}}",
		"{\"application\": {\"instance\": [{\"status\": \"UP\", \"ipAddr\": "
		"\"198.18.0.1\", "
		"\"port\": 80}]}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(xlb_eureka_parse(bad[i], strlen(bad[i]), 100, &ns, &skipped, err,
						  sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
		xlb_disc_nodes_free(&ns);
	}
}

static void conf_init(struct xlb_discovery_conf *c, const char *host0, const char *host1)
{
	memset(c, 0, sizeof(*c));
	c->eureka.enabled = 1;
	snprintf(c->eureka.hosts[0], sizeof(c->eureka.hosts[0]), "%s", host0);
	c->eureka.nhosts = 1;
	if (host1) {
		snprintf(c->eureka.hosts[1], sizeof(c->eureka.hosts[1]), "%s", host1);
		c->eureka.nhosts = 2;
	}
	snprintf(c->eureka.prefix, sizeof(c->eureka.prefix), "/eureka/");
	c->eureka.weight = 100;
	c->eureka.fetch_interval = 0.2;
	c->eureka.timeout.connect = 2;
	c->eureka.timeout.read = 2;
}

static void push(const char *path, const char *resp)
{
	assert_int_equal(regsrv_answer(&srv, path, resp), 0);
}

static char *resp_of(char *buf, size_t len, const char *body)
{
	snprintf(buf, len, "{\"body\": %s}", body);
	return buf;
}

static void test_watch(void **state)
{
	char i1[2048], i2[2048], arr[5000], body[6000], good[7000], script[8000];
	const char *want = "198.18.0.1:8080/100 198.18.0.2:8080/20";
	static const char *const bad[] = {
		"{\"status\": 500, \"body\": \"Internal Server Error\"}",
		"{\"body\": \"{\\\"application\\\": {\"}",
		"{\"body\": {\"application\": {\"instance\": [{\"status\": \"UP\", \"ipAddr\": "
		"7}]}}}",
		"{\"body\": {\"application\": {\"name\": \"WEB\", \"instance\": [{\"status\": "
		"\"UP\", \"ipAddr\": \"198.18.0.1\", \"port\": {\"$\": 8080, \"@enabled\": "
		"\"true\"}}]}}, \"truncate\": 30}",
		/* Every instance DOWN: not gone, the set stays. */
		"{\"body\": {\"application\": {\"name\": \"WEB\", \"instance\": [{\"status\": "
		"\"DOWN\", \"ipAddr\": \"198.18.0.1\", \"port\": {\"$\": 8080, \"@enabled\": "
		"\"true\"}}]}}}",
	};
	struct xlb_discovery_conf c;
	unsigned long errors = 0, answers;
	struct dwatch t;
	char *v;
	size_t i;

	snprintf(arr, sizeof(arr), "[%s, %s]",
		 inst(i1, sizeof(i1), "198.18.0.1", "UP", "UNKNOWN", 8080, 0, NULL),
		 inst(i2, sizeof(i2), "198.18.0.2", "UP", "UNKNOWN", 8080, 0, "\"20\""));
	resp_of(good, sizeof(good), app(body, sizeof(body), arr));
	snprintf(script, sizeof(script), "{\"routes\": {\"" APP "\": [%s, {\"wait\": true}]}}",
		 good);
	assert_int_equal(regsrv_script(&srv, script), 0);
	/* The first server is down; user:password goes out as basic auth. */
	conf_init(&c, "http://127.0.0.1:1", "");
	snprintf(c.eureka.hosts[1], sizeof(c.eureka.hosts[1]), "http://eu:pw@127.0.0.1:%d/",
		 srv.port);
	assert_int_equal(dwatch_start(&t, &c, "eureka", "WEB", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, want, 10));
	assert_int_equal(dwatch_status(&t).errors, 0);
	v = regsrv_req(&srv, APP, 0, "header:accept");
	assert_string_equal(v, "application/json");
	free(v);
	v = regsrv_req(&srv, APP, 0, "header:authorization");
	assert_string_equal(v, "Basic ZXU6cHc=");
	free(v);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		push(APP, bad[i]);
		errors++;
		assert_true(dwatch_wait_counts(&t, errors, 0, 10));
		assert_string_equal(dwatch_nodes(&t), want);
		/* Credentials from the host URL never show in messages. */
		assert_null(strstr(dwatch_status(&t).error, "pw@"));
		answers = dwatch_status(&t).answers;
		push(APP, good);
		assert_true(dwatch_wait_counts(&t, errors, answers + 1, 10));
		assert_string_equal(dwatch_status(&t).error, "");
	}
	assert_int_equal(t.updates, 1);

	/* A change, then the application is gone (404). */
	snprintf(arr, sizeof(arr), "%s",
		 inst(i1, sizeof(i1), "198.18.0.3", "UP", "UNKNOWN", 0, 8443, "7"));
	resp_of(good, sizeof(good), app(body, sizeof(body), arr));
	push(APP, good);
	assert_true(dwatch_wait_nodes(&t, "198.18.0.3:8443/7", 10));
	push(APP, "{\"status\": 404, \"body\": \"\"}");
	assert_true(dwatch_wait_nodes(&t, "", 10));
	assert_string_equal(dwatch_status(&t).error, "");
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

static void test_check(void **state)
{
	struct xlb_discovery_conf c;
	char why[256];

	conf_init(&c, "http://127.0.0.1:8761", NULL);
	assert_int_equal(xlb_disc_check(&c, "eureka", "WEB", NULL, why, sizeof(why)), 0);
	assert_int_equal(xlb_disc_check(&c, "eureka", "WEB", "{\"x\": 1}", why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(xlb_disc_check(&c, "eureka", "a/b", NULL, why, sizeof(why)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_watch),
	};
	int rc;

	if (regsrv_start(&srv)) {
		printf("# SKIP cannot start tests/lib/registry_server.py (python3)\n");
		return 77;
	}
	rc = check_run_tests("eureka", tests, NULL, NULL);
	regsrv_stop(&srv);
	return rc;
}
