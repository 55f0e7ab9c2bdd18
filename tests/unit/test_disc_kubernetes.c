// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kubernetes registry against tests/lib/registry_server.py playing the
 * API server (EndpointSliceList and watch events in the shapes of the
 * discovery.k8s.io/v1 API, the watch as a chunked stream of JSON lines):
 * list then watch, ADDED/MODIFIED/DELETED, bookmarks and resuming from
 * the last resourceVersion after the stream ends or drops, 410 (as an
 * ERROR event and as a status) relisting, a bad event line, bad list
 * answers keeping the set, readiness (a missing condition is ready),
 * ports by name, the bearer token re-read after a 401, and deletion of
 * every slice as gone. Plus the pure parsers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "discovery/discovery.h"
#include "discovery/httpreg.h"
#include "../lib/registry_server.h"
#include "../lib/check.h"

#define SLICES "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
#define WATCH  SLICES "?watch=1"

static struct regsrv srv;

/* An endpoint: ready "true"/"false", or NULL for no conditions at all. */
static char *ep(char *buf, size_t len, const char *addr, const char *ready)
{
	char cond[128] = "";

	if (ready)
		snprintf(cond, sizeof(cond),
			 ", \"conditions\": {\"ready\": %s, \"serving\": %s, "
			 "\"terminating\": false}",
			 ready, ready);
	snprintf(buf, len,
		 "{\"addresses\": [\"%s\"]%s, \"nodeName\": \"node-1\", "
		 "\"targetRef\": {\"kind\": \"Pod\", \"namespace\": \"default\", \"name\": "
		 "\"web-%s\"}}",
		 addr, cond, addr);
	return buf;
}

static char *slice(char *buf, size_t len, const char *name, const char *rv, const char *type,
		   const char *endpoints)
{
	snprintf(
		buf, len,
		"{\"kind\": \"EndpointSlice\", \"apiVersion\": \"discovery.k8s.io/v1\", "
		"\"metadata\": {\"name\": \"%s\", \"namespace\": \"default\", "
		"\"resourceVersion\": \"%s\", \"labels\": {\"kubernetes.io/service-name\": "
		"\"web\", \"endpointslice.kubernetes.io/managed-by\": "
		"\"endpointslice-controller.k8s.io\"}}, \"addressType\": \"%s\", "
		"\"endpoints\": %s, \"ports\": [{\"name\": \"http\", \"protocol\": \"TCP\", "
		"\"port\": 8080}, {\"name\": \"metrics\", \"protocol\": \"TCP\", \"port\": 9090}]}",
		name, rv, type, endpoints);
	return buf;
}

static char *list(char *buf, size_t len, const char *rv, const char *items)
{
	snprintf(buf, len,
		 "{\"kind\": \"EndpointSliceList\", \"apiVersion\": "
		 "\"discovery.k8s.io/v1\", \"metadata\": {\"resourceVersion\": \"%s\"}, "
		 "\"items\": %s}",
		 rv, items);
	return buf;
}

static char *event(char *buf, size_t len, const char *type, const char *obj)
{
	snprintf(buf, len, "{\"type\": \"%s\", \"object\": %s}", type, obj);
	return buf;
}

/* Slices a (IPv4: ready, not ready, no conditions) and b (IPv6, ready). */
static char *list1(char *buf, size_t len)
{
	char e[3][512], eps[1600], a[3000], b[3000], items[6100];

	snprintf(eps, sizeof(eps), "[%s, %s, %s]", ep(e[0], sizeof(e[0]), "198.18.0.1", "true"),
		 ep(e[1], sizeof(e[1]), "198.18.0.2", "false"),
		 ep(e[2], sizeof(e[2]), "198.18.0.3", NULL));
	slice(a, sizeof(a), "web-a", "90", "IPv4", eps);
	snprintf(eps, sizeof(eps), "[%s]", ep(e[0], sizeof(e[0]), "fd00:78:6c62::4", "true"));
	slice(b, sizeof(b), "web-b", "95", "IPv6", eps);
	snprintf(items, sizeof(items), "[%s, %s]", a, b);
	return list(buf, len, "100", items);
}

#define LIST1_NODES "198.18.0.1:8080/50 198.18.0.3:8080/50 fd00:78:6c62::4:8080/50"

/* n bytes of s as a JSON string literal. */
static char *jstr(char *buf, size_t len, const char *s, size_t n)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; i < n && o + 3 < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf[o++] = '\\';
		buf[o++] = s[i];
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static void test_parse(void **state)
{
	struct xlb_k8s_slices s = {0};
	struct xlb_disc_nodes ns = {0};
	char body[12000], ev[5000], sl[4000], e[512], err[256];

	list1(body, sizeof(body));
	assert_int_equal(xlb_k8s_parse_list(body, strlen(body), "http", 50, &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rv, "100");
	assert_int_equal(xlb_k8s_slices_nodes(&s, &ns), 0);
	assert_int_equal(ns.n, 3);
	assert_int_equal(ns.v[0].port, 8080);
	xlb_disc_nodes_free(&ns);

	/* Another port name picks another port; an unknown one none. */
	assert_int_equal(
		xlb_k8s_parse_list(body, strlen(body), "metrics", 50, &s, err, sizeof(err)), 0);
	assert_int_equal(xlb_k8s_slices_nodes(&s, &ns), 0);
	assert_int_equal(ns.v[0].port, 9090);
	xlb_disc_nodes_free(&ns);

	/* Events: MODIFIED replaces web-a, BOOKMARK moves rv, DELETED drops. */
	slice(sl, sizeof(sl), "web-a", "101", "IPv4",
	      (snprintf(body, sizeof(body), "[%s]", ep(e, sizeof(e), "198.18.0.9", "true")), body));
	event(ev, sizeof(ev), "MODIFIED", sl);
	assert_int_equal(xlb_k8s_parse_event(ev, strlen(ev), "metrics", 50, &s, err, sizeof(err)),
			 XLB_K8S_CHANGED);
	assert_string_equal(s.rv, "101");
	assert_int_equal(xlb_k8s_slices_nodes(&s, &ns), 0);
	assert_int_equal(ns.n, 2);
	xlb_disc_nodes_free(&ns);
	const char *bm = "{\"type\": \"BOOKMARK\", \"object\": {\"kind\": \"EndpointSlice\", "
			 "\"apiVersion\": \"discovery.k8s.io/v1\", \"metadata\": "
			 "{\"resourceVersion\": \"200\"}}}";
	assert_int_equal(xlb_k8s_parse_event(bm, strlen(bm), "metrics", 50, &s, err, sizeof(err)),
			 XLB_K8S_BOOKMARK);
	assert_string_equal(s.rv, "200");
	event(ev, sizeof(ev), "DELETED", sl);
	assert_int_equal(xlb_k8s_parse_event(ev, strlen(ev), "metrics", 50, &s, err, sizeof(err)),
			 XLB_K8S_CHANGED);
	assert_int_equal(s.n, 1);
	const char *gone = "{\"type\": \"ERROR\", \"object\": {\"kind\": \"Status\", "
			   "\"apiVersion\": \"v1\", \"metadata\": {}, \"status\": \"Failure\", "
			   "\"message\": \"too old resource version: 1 (2)\", \"reason\": "
			   "\"Expired\", \"code\": 410}}";
	assert_int_equal(xlb_k8s_parse_event(gone, strlen(gone), "http", 50, &s, err, sizeof(err)),
			 XLB_K8S_GONE);
	const char *other = "{\"type\": \"ERROR\", \"object\": {\"kind\": \"Status\", "
			    "\"message\": \"internal error\", \"code\": 500}}";
	assert_int_equal(
		xlb_k8s_parse_event(other, strlen(other), "http", 50, &s, err, sizeof(err)),
		XLB_K8S_ERROR);
	assert_non_null(strstr(err, "internal error"));

	static const char *const bad_events[] = {
		"",
		"{",
		"[]",
		"{\"type\": \"ADDED\"}",
		"{\"type\": 1, \"object\": {}}",
		"{\"type\": \"ADDED\", \"object\": {\"metadata\": {\"resourceVersion\": \"1\"}}}",
		"{\"type\": \"ADDED\", \"object\": {\"metadata\": {\"name\": \"x\"}}}",
		"{\"type\": \"ADDED\", \"object\": {\"metadata\": {\"name\": \"x\", "
		"\"resourceVersion\": \"1\"}, \"endpoints\": {}}}",
		"{\"type\": \"ADDED\", \"object\": {\"metadata\": {\"name\": \"x\", "
		"\"resourceVersion\": \"1\"}, \"endpoints\": [{\"addresses\": [1]}], "
		"\"ports\": [{\"name\": \"http\", \"port\": 80}]}}",
		"{\"type\": \"ADDED\", \"object\": {\"metadata\": {\"name\": \"x\", "
		"\"resourceVersion\": \"1\"}, \"endpoints\": [{\"addresses\": [\"198.18.0.1\"], "
		"\"conditions\": {\"ready\": \"yes\"}}]}}",
		"{\"type\": \"ADDED\", \"object\": {\"metadata\": {\"name\": \"x\", "
		"\"resourceVersion\": \"1\"}, \"ports\": [{\"name\": \"http\", \"port\": "
		"\"80\"}]}}",
		"{\"type\": \"SYNC\", \"object\": {\"metadata\": {\"name\": \"x\", "
		"\"resourceVersion\": \"1\"}}}",
		/* Found by fuzzing: an empty version would make the next watch start "now". */
		"{\"type\": \"MODIFIED\", \"object\": {\"metadata\": {\"name\": \"x\", "
		"\"resourceVersion\": \"\"}}}",
		"{\"type\": \"BOOKMARK\", \"object\": {\"metadata\": {\"resourceVersion\": \"\"}}}",
	};
	for (size_t i = 0; i < sizeof(bad_events) / sizeof(bad_events[0]); i++) {
		err[0] = '\0';
		assert_int_equal(xlb_k8s_parse_event(bad_events[i], strlen(bad_events[i]), "http",
						     50, &s, err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
	}
	static const char *const bad_lists[] = {
		"",
		"[",
		"[]",
		"{\"items\": []}",
		"{\"metadata\": {\"resourceVersion\": \"1\"}, "
		"\"items\": {}}",
		"{\"metadata\": {\"resourceVersion\": \"1\"}, \"items\": [1]}",
	};
	for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		err[0] = '\0';
		assert_int_equal(xlb_k8s_parse_list(bad_lists[i], strlen(bad_lists[i]), "http", 50,
						    &s, err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
		/* A bad list leaves the slices as they were. */
		assert_int_equal(s.n, 1);
	}
	xlb_k8s_slices_free(&s);
}

static char token_file[64];

static void write_token(const char *tok)
{
	FILE *f = fopen(token_file, "w");

	assert_non_null(f);
	fprintf(f, "%s\n", tok);
	fclose(f);
}

static void conf_init(struct xlb_discovery_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->kubernetes.enabled = 1;
	snprintf(c->kubernetes.schema, sizeof(c->kubernetes.schema), "http");
	snprintf(c->kubernetes.host, sizeof(c->kubernetes.host), "127.0.0.1");
	snprintf(c->kubernetes.port, sizeof(c->kubernetes.port), "%d", srv.port);
	snprintf(c->kubernetes.token_file, sizeof(c->kubernetes.token_file), "%s", token_file);
	c->kubernetes.watch_endpoint_slices = 1;
	c->kubernetes.default_weight = 50;
}

static void push(const char *path, const char *resps)
{
	assert_int_equal(regsrv_push(&srv, path, resps), 0);
}

static int count_is(int want, const char *path, struct dwatch *t)
{
	for (int i = 0; i < 200 && regsrv_count(&srv, path) < want; i++)
		run_for(t->base, 0.05);
	return regsrv_count(&srv, path) == want;
}

static void test_check(void **state)
{
	struct xlb_discovery_conf c;
	char why[256];

	conf_init(&c);
	assert_int_equal(
		xlb_disc_check(&c, "kubernetes", "default/web:http", NULL, why, sizeof(why)), 0);
	assert_int_equal(xlb_disc_check(&c, "kubernetes", "default/web", NULL, why, sizeof(why)),
			 0);
	assert_int_equal(xlb_disc_check(&c, "kubernetes", "web:http", NULL, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(
		xlb_disc_check(&c, "kubernetes", "Default/web:http", NULL, why, sizeof(why)),
		-EINVAL);
	assert_int_equal(xlb_disc_check(&c, "kubernetes", "default/web:", NULL, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(xlb_disc_check(&c, "kubernetes", "default/web:http", "{\"a\": 1}", why,
					sizeof(why)),
			 -EINVAL);
}

static void test_list_and_watch(void **state)
{
	char l1[12000], script[30000], sl[4000], ev[5000], e[512], eps[1000], resp[30000];
	struct xlb_discovery_conf c;
	struct dwatch t;
	char *v;

	list1(l1, sizeof(l1));
	snprintf(script, sizeof(script),
		 "{\"routes\": {\"" SLICES "\": [{\"body\": %s}, "
		 "{\"wait\": true}], \"" WATCH "\": [{\"wait\": true}]}}",
		 l1);
	assert_int_equal(regsrv_script(&srv, script), 0);
	write_token("token-1");
	conf_init(&c);
	assert_int_equal(dwatch_start(&t, &c, "kubernetes", "default/web:http", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, LIST1_NODES, 10));
	v = regsrv_req(&srv, SLICES, 0, "query");
	assert_string_equal(v, "labelSelector=kubernetes.io%2Fservice-name%3Dweb");
	free(v);
	v = regsrv_req(&srv, SLICES, 0, "header:authorization");
	assert_string_equal(v, "Bearer token-1");
	free(v);
	assert_true(count_is(1, WATCH, &t));
	v = regsrv_req(&srv, WATCH, 0, "query");
	assert_string_equal(v, "labelSelector=kubernetes.io%2Fservice-name%3Dweb&watch=1&"
			       "resourceVersion=100&allowWatchBookmarks=true&timeoutSeconds=290");
	free(v);

	/* MODIFIED and a BOOKMARK, then the server ends the watch: resume at 150. */
	snprintf(eps, sizeof(eps), "[%s]", ep(e, sizeof(e), "198.18.0.5", "true"));
	event(ev, sizeof(ev), "MODIFIED", slice(sl, sizeof(sl), "web-a", "101", "IPv4", eps));
	/* The event arrives split in two chunks: one line all the same. */
	{
		char a[2600], b[2600];
		size_t half = strlen(ev) / 2;

		jstr(a, sizeof(a), ev, half);
		jstr(b, sizeof(b), ev + half, strlen(ev + half));
		snprintf(resp, sizeof(resp),
			 "[{\"chunks\": [{\"data\": %s}, {\"data\": "
			 "%s, \"delay\": 0.1}, {\"data\": \"\\n\"}, {\"data\": {\"type\": "
			 "\"BOOKMARK\", \"object\": {\"kind\": \"EndpointSlice\", \"metadata\": "
			 "{\"resourceVersion\": \"150\"}}}, \"delay\": 0.1}]}, {\"wait\": true}]",
			 a, b);
	}
	push(WATCH, resp);
	assert_true(dwatch_wait_nodes(&t, "198.18.0.5:8080/50 fd00:78:6c62::4:8080/50", 10));
	assert_true(count_is(2, WATCH, &t));
	v = regsrv_req(&srv, WATCH, 1, "query");
	assert_non_null(strstr(v, "&resourceVersion=150&"));
	free(v);
	assert_int_equal(dwatch_status(&t).errors, 0);

	/* ADDED on a stream that then drops: an error, resume at 151. */
	snprintf(eps, sizeof(eps), "[%s]", ep(e, sizeof(e), "198.18.0.6", NULL));
	event(ev, sizeof(ev), "ADDED", slice(sl, sizeof(sl), "web-c", "151", "IPv4", eps));
	snprintf(resp, sizeof(resp),
		 "[{\"chunks\": [{\"data\": %s}], \"end\": false}, "
		 "{\"wait\": true}]",
		 ev);
	push(WATCH, resp);
	assert_true(dwatch_wait_nodes(&t,
				      "198.18.0.5:8080/50 198.18.0.6:8080/50 "
				      "fd00:78:6c62::4:8080/50",
				      10));
	assert_true(count_is(3, WATCH, &t));
	assert_int_equal(dwatch_status(&t).errors, 1);
	v = regsrv_req(&srv, WATCH, 2, "query");
	assert_non_null(strstr(v, "&resourceVersion=151&"));
	free(v);
	assert_int_equal(regsrv_count(&srv, SLICES "?labelSelector"), 4); /* 1 list, 3 watches */

	/* ERROR 410 on the stream: list again (no error), watch from the new list. */
	snprintf(resp, sizeof(resp), "[{\"body\": %s}, {\"wait\": true}]", l1);
	push(SLICES, resp);
	push(WATCH,
	     "[{\"chunks\": [{\"data\": {\"type\": \"ERROR\", \"object\": {\"kind\": "
	     "\"Status\", \"apiVersion\": \"v1\", \"metadata\": {}, \"status\": \"Failure\", "
	     "\"message\": \"too old resource version: 151 (300)\", \"reason\": \"Expired\", "
	     "\"code\": 410}}}], \"hold\": 5}, {\"wait\": true}]");
	assert_true(dwatch_wait_nodes(&t, LIST1_NODES, 10));
	assert_true(count_is(4, WATCH, &t));
	v = regsrv_req(&srv, WATCH, 3, "query");
	assert_non_null(strstr(v, "&resourceVersion=100&"));
	free(v);

	/* HTTP 410 on the watch: the same. */
	push(SLICES, resp);
	push(WATCH, "[{\"status\": 410, \"body\": {\"kind\": \"Status\", \"code\": 410}}, "
		    "{\"wait\": true}]");
	assert_true(count_is(5, WATCH, &t));
	assert_int_equal(regsrv_count(&srv, SLICES "?labelSelector") - 5, 3);

	/* A line that is not JSON: an error, then a fresh list after the backoff. */
	push(SLICES, resp);
	push(WATCH, "[{\"chunks\": [{\"data\": \"{\\\"type\\\": \\\"ADDED\\\", \\\"obj\\n\"}], "
		    "\"hold\": 5}, {\"wait\": true}]");
	assert_true(dwatch_wait_counts(&t, 2, 0, 10));
	assert_string_equal(dwatch_nodes(&t), LIST1_NODES);
	assert_true(count_is(6, WATCH, &t));
	assert_int_equal(regsrv_count(&srv, SLICES "?labelSelector") - 6, 4);

	/* 401: the token file is read again. */
	write_token("token-2");
	push(WATCH, "[{\"status\": 401, \"body\": {\"kind\": \"Status\", \"code\": 401}}, "
		    "{\"wait\": true}]");
	assert_true(count_is(7, WATCH, &t));
	assert_int_equal(dwatch_status(&t).errors, 3);
	v = regsrv_req(&srv, WATCH, 6, "header:authorization");
	assert_string_equal(v, "Bearer token-2");
	free(v);

	/* Every slice deleted: the service is gone. */
	event(ev, sizeof(ev), "DELETED", slice(sl, sizeof(sl), "web-a", "400", "IPv4", "[]"));
	snprintf(resp, sizeof(resp), "[{\"chunks\": [{\"data\": %s}", ev);
	event(ev, sizeof(ev), "DELETED", slice(sl, sizeof(sl), "web-b", "401", "IPv6", "[]"));
	snprintf(resp + strlen(resp), sizeof(resp) - strlen(resp),
		 ", {\"data\": %s}], \"hold\": 5}, {\"wait\": true}]", ev);
	push(WATCH, resp);
	assert_true(dwatch_wait_nodes(&t, "", 10));
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/*
 * A token file longer than the agent keeps (4095 bytes) is not sent cut;
 * one that fits, with its trailing newline, is sent whole.
 */
static void test_long_token(void **state)
{
	char l1[12000], script[30000], tok[4097], want[4200];
	struct xlb_discovery_conf c;
	struct dwatch t;
	char *v;

	list1(l1, sizeof(l1));
	snprintf(script, sizeof(script),
		 "{\"routes\": {\"" SLICES "\": [{\"body\": %s}, "
		 "{\"body\": %s}, {\"wait\": true}], \"" WATCH "\": [{\"wait\": true}]}}",
		 l1, l1);
	assert_int_equal(regsrv_script(&srv, script), 0);
	memset(tok, 't', 4096);
	tok[4096] = '\0';
	write_token(tok);
	conf_init(&c);
	assert_int_equal(dwatch_start(&t, &c, "kubernetes", "default/web:http", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, LIST1_NODES, 10));
	v = regsrv_req(&srv, SLICES, 0, "header:authorization");
	assert_null(v);
	dwatch_stop(&t);

	tok[4095] = '\0';
	write_token(tok);
	assert_int_equal(dwatch_start(&t, &c, "kubernetes", "default/web:http", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, LIST1_NODES, 10));
	v = regsrv_req(&srv, SLICES, 1, "header:authorization");
	snprintf(want, sizeof(want), "Bearer %s", tok);
	assert_string_equal(v ? v : "(none)", want);
	free(v);
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/* Bad list answers keep the last good set. */
static void test_bad_lists(void **state)
{
	char l1[12000], script[30000], resp[30000];
	static const char *const bad[] = {
		"{\"status\": 500, \"body\": {\"kind\": \"Status\", \"code\": 500}}",
		"{\"body\": \"{\\\"kind\\\": \\\"EndpointSliceList\\\", \\\"items\\\": [\"}",
		"{\"body\": {\"metadata\": {\"resourceVersion\": \"5\"}, \"items\": "
		"[{\"metadata\": "
		"{\"name\": \"x\"}, \"endpoints\": [{\"addresses\": \"198.18.0.1\"}]}]}}",
		"{\"body\": {\"metadata\": {\"resourceVersion\": \"5\"}, \"items\": []}, "
		"\"truncate\": 10}",
		/* Slices whose endpoints are all not ready: not gone. */
		"{\"body\": {\"metadata\": {\"resourceVersion\": \"5\"}, \"items\": "
		"[{\"metadata\": "
		"{\"name\": \"web-a\"}, \"endpoints\": [{\"addresses\": [\"198.18.0.1\"], "
		"\"conditions\": {\"ready\": false}}], \"ports\": [{\"name\": \"http\", "
		"\"port\": 8080}]}]}}",
	};
	const char *err410 = "{\"chunks\": [{\"data\": {\"type\": \"ERROR\", \"object\": "
			     "{\"kind\": \"Status\", \"code\": 410}}}], \"hold\": 5}";
	struct xlb_discovery_conf c;
	unsigned long errors = 0, answers;
	struct dwatch t;
	size_t i;

	list1(l1, sizeof(l1));
	snprintf(script, sizeof(script),
		 "{\"routes\": {\"" SLICES "\": [{\"body\": %s}, "
		 "{\"wait\": true}], \"" WATCH "\": [{\"wait\": true}]}}",
		 l1);
	assert_int_equal(regsrv_script(&srv, script), 0);
	write_token("token-1");
	conf_init(&c);
	assert_int_equal(dwatch_start(&t, &c, "kubernetes", "default/web:http", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, LIST1_NODES, 10));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		answers = dwatch_status(&t).answers;
		snprintf(resp, sizeof(resp), "[%s, {\"body\": %s}, {\"wait\": true}]", bad[i], l1);
		push(SLICES, resp);
		/* A list that parses (the last one) is followed by a watch: end it too. */
		snprintf(resp, sizeof(resp), "[%s, %s%s{\"wait\": true}]", err410,
			 i == sizeof(bad) / sizeof(bad[0]) - 1 ? err410 : "",
			 i == sizeof(bad) / sizeof(bad[0]) - 1 ? ", " : "");
		push(WATCH, resp);
		errors++;
		if (!dwatch_wait_counts(&t, errors, answers + 1, 10))
			fail_msg(
				"bad answer %zu: errors %lu answers %lu (want %lu, %lu); lists %d, "
				"watches %d",
				i, dwatch_status(&t).errors, dwatch_status(&t).answers, errors,
				answers + 1, regsrv_count(&srv, SLICES "?label"),
				regsrv_count(&srv, WATCH));
		assert_string_equal(dwatch_nodes(&t), LIST1_NODES);
		assert_string_equal(dwatch_status(&t).error, "");
	}
	assert_int_equal(t.updates, 1);

	/* A list with no slice: gone. */
	push(SLICES, "[{\"body\": {\"kind\": \"EndpointSliceList\", \"metadata\": "
		     "{\"resourceVersion\": \"9\"}, \"items\": []}}, {\"wait\": true}]");
	snprintf(resp, sizeof(resp), "[%s, {\"wait\": true}]", err410);
	push(WATCH, resp);
	assert_true(dwatch_wait_nodes(&t, "", 10));
	dwatch_stop(&t);
	regsrv_ctl(&srv, "close", "{}", NULL);
}

/* https (the default schema) verified with client.ca_file. */
static void test_https_ca(void **state)
{
	char dir[] = "/tmp/xlb-k8s-tls-XXXXXX", cert[64], key[64], cmd[512];
	char l1[12000], script[30000];
	struct xlb_discovery_conf c;
	struct regsrv tls;
	struct dwatch t;

	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
		 "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s "
		 ">/dev/null 2>&1",
		 key, cert);
	if (system(cmd) || regsrv_start_tls(&tls, cert, key)) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
		check_skip("openssl could not make a certificate, or the TLS server did not start");
	}
	snprintf(script, sizeof(script),
		 "{\"routes\": {\"" SLICES "\": [{\"body\": %s}, "
		 "{\"wait\": true}], \"" WATCH "\": [{\"wait\": true}]}}",
		 list1(l1, sizeof(l1)));
	assert_int_equal(regsrv_script(&tls, script), 0);
	conf_init(&c);
	snprintf(c.kubernetes.schema, sizeof(c.kubernetes.schema), "https");
	snprintf(c.kubernetes.port, sizeof(c.kubernetes.port), "%d", tls.port);
	snprintf(c.kubernetes.ca_file, sizeof(c.kubernetes.ca_file), "%s", cert);
	assert_int_equal(dwatch_start(&t, &c, "kubernetes", "default/web:http", NULL), 0);
	assert_true(dwatch_wait_nodes(&t, LIST1_NODES, 10));
	assert_int_equal(dwatch_status(&t).errors, 0);
	dwatch_stop(&t);
	regsrv_stop(&tls);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),	       cmocka_unit_test(test_check),
		cmocka_unit_test(test_list_and_watch), cmocka_unit_test(test_long_token),
		cmocka_unit_test(test_bad_lists),      cmocka_unit_test(test_https_ca),
	};
	int rc, fd;

	snprintf(token_file, sizeof(token_file), "/tmp/xlb-k8s-token-XXXXXX");
	fd = mkstemp(token_file);
	if (fd < 0)
		return 1;
	close(fd);
	if (regsrv_start(&srv)) {
		unlink(token_file);
		printf("# SKIP cannot start tests/lib/registry_server.py (python3)\n");
		return 77;
	}
	rc = check_run_tests("kubernetes", tests, NULL, NULL);
	regsrv_stop(&srv);
	unlink(token_file);
	return rc;
}
