// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nacos registry against tests/lib/registry_server.py playing Nacos'
 * open API (ns/instance/list and auth/login in the shapes Nacos
 * documents): namespace and group arguments, login with credentials from
 * the host URL and the token on every query, a new login before tokenTtl
 * ends and after a 403, weights scaled from floats, healthy and enabled,
 * an empty list (unhealthy vs gone), and bad answers that keep the last
 * good set. Plus the pure parsers.
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

#define LIST  "/nacos/v1/ns/instance/list"
#define LOGIN "/nacos/v1/auth/login"

static struct regsrv srv;

static char *host(char *buf, size_t len, const char *ip, int port, const char *weight,
		  const char *healthy, const char *enabled)
{
	snprintf(buf, len,
		 "{\"instanceId\": \"%s#%d#DEFAULT#DEFAULT_GROUP@@web\", \"ip\": \"%s\", "
		 "\"port\": %d, \"weight\": %s, \"healthy\": %s, \"enabled\": %s, "
		 "\"ephemeral\": true, \"clusterName\": \"DEFAULT\", \"serviceName\": "
		 "\"DEFAULT_GROUP@@web\", \"metadata\": {}, \"instanceHeartBeatInterval\": 5000, "
		 "\"instanceIdGenerator\": \"simple\", \"ipDeleteTimeout\": 30000, "
		 "\"instanceHeartBeatTimeOut\": 15000}",
		 ip, port, ip, port, weight, healthy, enabled);
	return buf;
}

static char *list(char *buf, size_t len, const char *hosts)
{
	snprintf(buf, len,
		 "{\"name\": \"DEFAULT_GROUP@@web\", \"groupName\": \"DEFAULT_GROUP\", "
		 "\"clusters\": \"\", \"cacheMillis\": 10000, \"hosts\": %s, "
		 "\"lastRefTime\": 1700000000000, \"checksum\": \"\", \"allIPs\": false, "
		 "\"reachProtectionThreshold\": false, \"valid\": true}",
		 hosts);
	return buf;
}

static void test_parse(void **state)
{
	char h[5][1024], arr[6000], body[7000], err[256], tok[64];
	struct xlb_disc_nodes ns = {0};
	unsigned int skipped;
	size_t total;
	double ttl;

	snprintf(arr, sizeof(arr), "[%s, %s, %s, %s, %s]",
		 host(h[0], sizeof(h[0]), "198.18.0.1", 8080, "1.0", "true", "true"),
		 host(h[1], sizeof(h[1]), "198.18.0.2", 8080, "0.5", "true", "true"),
		 host(h[2], sizeof(h[2]), "198.18.0.3", 8080, "1.0", "false", "true"),
		 host(h[3], sizeof(h[3]), "198.18.0.4", 8080, "1.0", "true", "false"),
		 host(h[4], sizeof(h[4]), "fd00:78:6c62::5", 9090, "10000", "true", "true"));
	list(body, sizeof(body), arr);
	assert_int_equal(
		xlb_nacos_parse(body, strlen(body), 100, &ns, &total, &skipped, err, sizeof(err)),
		0);
	assert_int_equal(total, 5);
	assert_int_equal(ns.n, 3);
	assert_int_equal(ns.v[0].weight, 100);
	assert_int_equal(ns.v[1].weight, 50);
	assert_int_equal(ns.v[2].weight, XLB_WEIGHT_MAX);
	assert_int_equal(ns.v[2].port, 9090);
	xlb_disc_nodes_free(&ns);

	/* A tiny positive weight still gets traffic; 0 gets none. */
	const char *w = "{\"hosts\": [{\"ip\": \"198.18.0.1\", \"port\": 1, \"weight\": 0.001},"
			"{\"ip\": \"198.18.0.2\", \"port\": 1, \"weight\": 0}]}";
	assert_int_equal(
		xlb_nacos_parse(w, strlen(w), 100, &ns, &total, &skipped, err, sizeof(err)), 0);
	assert_int_equal(ns.v[0].weight, 1);
	assert_int_equal(ns.v[1].weight, 0);
	xlb_disc_nodes_free(&ns);

	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"hosts\": {}}",
		"{\"hosts\": [1]}",
		"{\"hosts\": [{\"ip\": 1, \"port\": 80}]}",
		"{\"hosts\": [{\"ip\": \"198.18.0.1\", \"port\": \"80\"}]}",
		"{\"hosts\": [{\"ip\": \"198.18.0.1\", \"port\": 80, \"healthy\": \"yes\"}]}",
		"{\"hosts\": [{\"ip\": \"198.18.0.1\", \"port\": 80, \"weight\": \"1\"}]}",
		"{\"hosts\": [{\"ip\": \"198.18.0.1\", \"port\": 0}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(xlb_nacos_parse(bad[i], strlen(bad[i]), 100, &ns, &total, &skipped,
						 err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
		xlb_disc_nodes_free(&ns);
	}

	const char *login = "{\"accessToken\": \"eyJhbGciOiJIUzI1NiJ9.x.y\", \"tokenTtl\": 18000, "
			    "\"globalAdmin\": true}";
	assert_int_equal(xlb_nacos_parse_login(login, strlen(login), tok, sizeof(tok), &ttl, err,
					       sizeof(err)),
			 0);
	assert_string_equal(tok, "eyJhbGciOiJIUzI1NiJ9.x.y");
	assert_true(ttl == 18000);
	assert_int_equal(xlb_nacos_parse_login("{\"accessToken\": 1}", 18, tok, sizeof(tok), &ttl,
					       err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(xlb_nacos_parse_login("{\"accessToken\": \"t\"}", 20, tok, sizeof(tok),
					       &ttl, err, sizeof(err)),
			 -EINVAL);
}

static void conf_init(struct xlb_discovery_conf *c, const char *host0)
{
	memset(c, 0, sizeof(*c));
	c->nacos.enabled = 1;
	snprintf(c->nacos.hosts[0], sizeof(c->nacos.hosts[0]), "%s", host0);
	c->nacos.nhosts = 1;
	snprintf(c->nacos.prefix, sizeof(c->nacos.prefix), "/nacos/v1/");
	c->nacos.weight = 100;
	c->nacos.fetch_interval = 0.2;
	c->nacos.timeout.connect = 2;
	c->nacos.timeout.read = 2;
}

static void push(const char *path, const char *resp)
{
	assert_int_equal(regsrv_answer(&srv, path, resp), 0);
}

static void test_check(void **state)
{
	struct xlb_discovery_conf c;
	char why[256];

	conf_init(&c, "http://127.0.0.1:8848");
	assert_int_equal(xlb_disc_check(&c, "nacos", "web",
					"{\"namespace_id\": \"ns1\", "
					"\"group_name\": \"g\"}",
					why, sizeof(why)),
			 0);
	assert_int_equal(xlb_disc_check(&c, "nacos", "web", "{\"group\": \"g\"}", why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "group"));
	assert_int_equal(
		xlb_disc_check(&c, "nacos", "web", "{\"group_name\": 5}", why, sizeof(why)),
		-EINVAL);
}

/* Plain lists: arguments in the query, changes, bad answers, empty lists. */
static void test_watch(void **state)
{
	char h[3][1024], arr[4000], body[5000], good[6000], script[8000], empty_all[6000];
	const char *want = "198.18.0.1:8080/100 198.18.0.2:8080/25";
	static const char *const bad[] = {
		"{\"status\": 500, \"body\": \"server is DOWN now\"}",
		"{\"body\": \"{\\\"hosts\\\": [\"}",
		"{\"body\": {\"hosts\": [{\"ip\": \"198.18.0.1\", \"port\": \"8080\"}]}}",
		"{\"body\": {\"hosts\": [{\"ip\": \"198.18.0.1\", \"port\": 8080}]}, \"truncate\": "
		"12}",
	};
	struct xlb_discovery_conf c;
	unsigned long errors = 0, answers;
	struct dwatch t;
	char *q;
	size_t i;

	snprintf(arr, sizeof(arr), "[%s, %s]",
		 host(h[0], sizeof(h[0]), "198.18.0.1", 8080, "1.0", "true", "true"),
		 host(h[1], sizeof(h[1]), "198.18.0.2", 8080, "0.25", "true", "true"));
	snprintf(good, sizeof(good), "{\"body\": %s}", list(body, sizeof(body), arr));
	snprintf(script, sizeof(script), "{\"routes\": {\"" LIST "\": [%s, {\"wait\": true}]}}",
		 good);
	assert_int_equal(regsrv_script(&srv, script), 0);
	conf_init(&c, srv.url);
	assert_int_equal(dwatch_start(&t, &c, "nacos", "web",
				      "{\"namespace_id\": \"ns 1\", "
				      "\"group_name\": \"G\"}"),
			 0);
	assert_true(dwatch_wait_nodes(&t, want, 10));
	q = regsrv_req(&srv, LIST, 0, "query");
	assert_string_equal(q, "serviceName=web&healthyOnly=true&namespaceId=ns%201&groupName=G");
	free(q);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		push(LIST, bad[i]);
		errors++;
		assert_true(dwatch_wait_counts(&t, errors, 0, 10));
		assert_string_equal(dwatch_nodes(&t), want);
		answers = dwatch_status(&t).answers;
		push(LIST, good);
		assert_true(dwatch_wait_counts(&t, errors, answers + 1, 10));
		assert_string_equal(dwatch_status(&t).error, "");
	}
	assert_int_equal(t.updates, 1);

	/* Empty healthy list, instances still registered: the set stays. */
	snprintf(arr, sizeof(arr), "[%s]",
		 host(h[2], sizeof(h[2]), "198.18.0.1", 8080, "1.0", "false", "true"));
	snprintf(empty_all, sizeof(empty_all), "{\"body\": %s}", list(body, sizeof(body), arr));
	push(LIST, "{\"body\": {\"hosts\": []}}");
	push(LIST, empty_all);
	assert_true(dwatch_wait_counts(&t, errors + 1, 0, 10));
	assert_non_null(strstr(dwatch_status(&t).error, "empty answer"));
	assert_string_equal(dwatch_nodes(&t), want);
	q = regsrv_req(&srv, LIST, -1, "query");
	assert_non_null(strstr(q, "healthyOnly=false"));
	free(q);
	/* Nothing registered at all: gone. */
	push(LIST, "{\"body\": {\"hosts\": []}}");
	push(LIST, "{\"body\": {\"hosts\": []}}");
	assert_true(dwatch_wait_nodes(&t, "", 10));
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/* Login from the host URL's credentials, token use, refresh and 403. */
static void test_login(void **state)
{
	char h[1024], arr[2000], body[3000], good[4000], script[12000];
	struct xlb_discovery_conf c;
	struct dwatch t;
	char url[128], *v;
	int logins;

	snprintf(arr, sizeof(arr), "[%s]",
		 host(h, sizeof(h), "198.18.0.1", 8080, "2.0", "true", "true"));
	snprintf(good, sizeof(good), "{\"body\": %s}", list(body, sizeof(body), arr));
	/* A token that lives 1 s: renewed at 0.9 s, while polls run every 0.2 s. */
	snprintf(script, sizeof(script),
		 "{\"routes\": {\"" LIST "\": [%s],"
		 "\"" LOGIN "\": [{\"body\": {\"accessToken\": \"tok-1\", \"tokenTtl\": 1, "
		 "\"globalAdmin\": false}}, {\"body\": {\"accessToken\": \"tok-2\", "
		 "\"tokenTtl\": 1000}}]}}",
		 good);
	assert_int_equal(regsrv_script(&srv, script), 0);
	snprintf(url, sizeof(url), "http://nacos:s%%40cret@127.0.0.1:%d", srv.port);
	conf_init(&c, url);
	assert_int_equal(dwatch_start(&t, &c, "nacos", "web", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, "198.18.0.1:8080/200", 10));
	v = regsrv_req(&srv, LOGIN, 0, "body");
	assert_string_equal(v, "username=nacos&password=s%40cret");
	free(v);
	v = regsrv_req(&srv, LOGIN, 0, "method");
	assert_string_equal(v, "POST");
	free(v);
	v = regsrv_req(&srv, LIST, 0, "query");
	assert_string_equal(v, "serviceName=web&healthyOnly=true&accessToken=tok-1");
	free(v);
	/* No basic auth from the URL: credentials only go to the login. */
	v = regsrv_req(&srv, LIST, 0, "header:authorization");
	assert_null(v);
	for (int i = 0; i < 100 && regsrv_count(&srv, LOGIN) < 2; i++)
		run_for(t.base, 0.05);
	assert_int_equal(regsrv_count(&srv, LOGIN), 2);
	run_for(t.base, 0.5);
	v = regsrv_req(&srv, LIST, -1, "query");
	assert_string_equal(v, "serviceName=web&healthyOnly=true&accessToken=tok-2");
	free(v);

	/* A 403: log in again once, then the list works again. */
	logins = regsrv_count(&srv, LOGIN);
	{
		char pushbuf[9000];

		snprintf(pushbuf, sizeof(pushbuf),
			 "[{\"status\": 403, \"body\": \"token expired\"}, %s]", good);
		assert_int_equal(regsrv_push(&srv, LIST, pushbuf), 0);
	}
	for (int i = 0; i < 100 && regsrv_count(&srv, LOGIN) < logins + 1; i++)
		run_for(t.base, 0.05);
	assert_int_equal(regsrv_count(&srv, LOGIN), logins + 1);
	assert_int_equal(dwatch_status(&t).errors, 0);
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/* A user name of 150 characters (any that fits in a host URL) still logs in. */
static void test_login_long_user(void **state)
{
	char h[1024], arr[2000], body[3000], good[4000], script[12000], user[151], want[200];
	struct xlb_discovery_conf c;
	struct dwatch t;
	char url[256], *v;

	memset(user, 'u', 150);
	user[150] = '\0';
	snprintf(arr, sizeof(arr), "[%s]",
		 host(h, sizeof(h), "198.18.0.1", 8080, "2.0", "true", "true"));
	snprintf(good, sizeof(good), "{\"body\": %s}", list(body, sizeof(body), arr));
	snprintf(script, sizeof(script),
		 "{\"routes\": {\"" LIST "\": [%s],"
		 "\"" LOGIN "\": [{\"body\": {\"accessToken\": \"tok-1\", \"tokenTtl\": 1000}}]}}",
		 good);
	assert_int_equal(regsrv_script(&srv, script), 0);
	snprintf(url, sizeof(url), "http://%s:pw@127.0.0.1:%d", user, srv.port);
	conf_init(&c, url);
	assert_int_equal(dwatch_start(&t, &c, "nacos", "web", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, "198.18.0.1:8080/200", 10));
	assert_int_equal(regsrv_count(&srv, LOGIN), 1);
	v = regsrv_req(&srv, LOGIN, 0, "body");
	snprintf(want, sizeof(want), "username=%s&password=pw", user);
	assert_string_equal(v, want);
	free(v);
	v = regsrv_req(&srv, LIST, 0, "query");
	assert_string_equal(v, "serviceName=web&healthyOnly=true&accessToken=tok-1");
	free(v);
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse), cmocka_unit_test(test_check),
		cmocka_unit_test(test_watch), cmocka_unit_test(test_login_long_user),
		cmocka_unit_test(test_login),
	};
	int rc;

	if (regsrv_start(&srv)) {
		printf("# SKIP cannot start tests/lib/registry_server.py (python3)\n");
		return 77;
	}
	rc = check_run_tests("nacos", tests, NULL, NULL);
	regsrv_stop(&srv);
	return rc;
}
