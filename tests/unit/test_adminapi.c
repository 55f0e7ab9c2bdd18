// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Admin API as a function (user/lib/agent/adminapi.h), over a store
 * that takes every edit: the API's own rules, apart from the configuration's
 * validation. One row per request, applied in order to one store: method,
 * path, body, the status, and a piece of the answer ("error_msg" for an
 * error, the compact JSON otherwise).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "agent/adminapi.h"
#include "../lib/check.h"

struct store {
	json_t *doc;
};

static json_t *s_doc(void *arg)
{
	return ((struct store *)arg)->doc;
}

static int s_put(void *arg, const char *kind, const char *id, json_t *obj,
		 struct xlb_conf_errors *errs)
{
	struct store *s = arg;
	json_t *doc;
	int err;

	memset(errs, 0, sizeof(*errs));
	doc = xlb_admin_doc_edit(s->doc, kind, id, obj, &err);
	if (!doc)
		return err;
	json_decref(s->doc);
	s->doc = doc;
	return 0;
}

struct row {
	const char *method, *path, *body;
	int code;
	const char *want; /* in error_msg, or in the compact answer for a 2xx */
};

static const struct row rows[] = {
	{"GET", "upstreams", "", 200, "\"total\":1"},
	{"GET", "upstreams/web", "", 200, "\"key\":\"/apisix/upstreams/web\""},
	{"GET", "upstreams/nope", "", 404, "upstreams nope not found"},
	{"GET", "routes/1", "", 404, "no such resource 'routes'"},
	{"PATCH", "upstreams/x", "{}", 405, "method not allowed"},
	{"PATCH", "stream_routes/1", "{}", 405, "not supported `PATCH` method for stream route"},
	{"PATCH", "stream_routes/1/desc", "\"x\"", 405, "not supported `PATCH` method"},
	/* Ids (APISIX's admin/resource.lua check_conf). */
	{"PUT", "upstreams", "{}", 400, "missing upstream id"},
	{"PUT", "stream_routes", "{}", 400, "missing stream route id"},
	{"DELETE", "upstreams", "", 400, "missing upstream id"},
	{"DELETE", "stream_routes", "", 400, "missing stream route id"},
	{"PUT", "upstreams", "{\"id\":\"b1\",\"nodes\":{}}", 201,
	 "\"key\":\"/apisix/upstreams/b1\""},
	{"PUT", "upstreams", "{\"id\":7,\"nodes\":{}}", 201, "\"key\":\"/apisix/upstreams/7\""},
	{"PUT", "upstreams/7", "{\"id\":7,\"nodes\":{}}", 200, "\"id\":\"7\""},
	{"PUT", "upstreams/7", "{\"id\":\"7\",\"nodes\":{}}", 200, "\"id\":\"7\""},
	{"PUT", "upstreams/1", "{\"id\":3}", 400, "wrong upstream id"},
	{"PUT", "stream_routes/1", "{\"id\":\"2\"}", 400, "wrong stream route id"},
	{"PUT", "upstreams", "{\"id\":-100}", 400, "property \"id\" validation failed"},
	{"PUT", "upstreams", "{\"id\":0}", 400, "property \"id\" validation failed"},
	{"PUT", "upstreams", "{\"id\":1.5}", 400, "property \"id\" validation failed"},
	{"PUT", "upstreams", "{\"id\":\"a$\"}", 400, "id 'a$' has '$' at 2"},
	{"POST", "upstreams/x", "{}", 400, "wrong upstream id, do not need it"},
	{"POST", "upstreams", "{\"id\":1}", 400, "wrong upstream id, do not need it"},
	{"POST", "stream_routes/1", "{}", 400, "wrong stream route id, do not need it"},
	{"POST", "upstreams", "{\"nodes\":{}}", 201, "\"key\":\"/apisix/upstreams/"},
	/* create_time and update_time are the store's (APISIX's check_forbidden_properties). */
	{"PUT", "upstreams/t", "{\"create_time\":1}", 400,
	 "the property is forbidden: create_time"},
	{"PUT", "upstreams/t", "{\"update_time\":1}", 400,
	 "the property is forbidden: update_time"},
	{"POST", "upstreams", "{\"create_time\":1}", 400, "the property is forbidden: create_time"},
	{"PUT", "stream_routes/t", "{\"upstream\":{\"update_time\":1}}", 400,
	 "the property is forbidden: upstream.update_time"},
	{"PUT", "upstreams/t", "{\"nodes\":{}}", 201, "\"create_time\":"},
	{"PUT", "upstreams/t", "{\"nodes\":{}}", 200, "\"update_time\":"},
	{"GET", "upstreams/t", "", 200, "\"create_time\":"},
	{"DELETE", "upstreams/t", "", 200, "\"deleted\":\"1\""},
	{"PUT", "upstreams/x", "{", 400, "body is not JSON"},
	{"PUT", "upstreams/x", "[1]", 400, "body must be a JSON object"},
	/* 201 for a new object, 200 when it replaces one (APISIX's etcd.lua). */
	{"PUT", "upstreams/x", "{\"nodes\":{}}", 201, "\"key\":\"/apisix/upstreams/x\""},
	{"PUT", "upstreams/x", "{\"nodes\":{}}", 200, "\"key\":\"/apisix/upstreams/x\""},
	{"GET", "upstreams", "", 200, "\"total\":5"},
	{"DELETE", "upstreams/x", "", 200, "\"deleted\":\"1\""},
	{"DELETE", "upstreams/x", "", 404, "upstreams x not found"},
	/* Ids: APISIX's characters, 64 at most, never cut to fit. */
	{"PUT", "upstreams/a:b", "{}", 400, "id 'a:b' has ':' at 2"},
	{"PUT", "upstreams/a b", "{}", 400, "has ' ' at 2"},
	{"PUT",
	 "upstreams/"
	 "0123456789012345678901234567890123456789012345678901234567890123",
	 "{}", 201, "0123456789012345678901234567890123456789012345678901234567890123"},
	{"PUT",
	 "upstreams/"
	 "01234567890123456789012345678901234567890123456789012345678901234",
	 "{}", 400, "id is 65 characters long: at most 64"},
	/*
	 * An error quotes the client's bytes: valid UTF-8 as it is, anything
	 * else as \xNN, so that the answer is JSON with its error_msg.
	 */
	{"PUT", "upstreams/\xc3\xa9t\xc3\xa9", "{}", 400,
	 "id '\xc3\xa9t\xc3\xa9' has '\\xc3' at 1"},
	{"GET", "upstreams/a/\xed\xa0\x80", "", 404, "'upstreams/a/\\xed\\xa0\\x80'"},
	{"GET", "upstreams/a/\xff\x01", "", 404, "'upstreams/a/\\xff\\x01'"},
	{"GET", "up\xc3\xa9/1", "", 404, "no such resource 'up\xc3\xa9'"},
};

static void test_requests(void **state)
{
	struct store s = {.doc = json_pack("{s:[{s:s, s:{}}], s:[]}", "upstreams", "id", "web",
					   "nodes", "stream_routes")};
	const struct xlb_admin_store st = {.doc = s_doc, .put = s_put, .arg = &s};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		json_t *out = NULL;
		const char *msg;
		char *text;
		int code;

		code = xlb_admin_api(&st, r->method, r->path, r->body, strlen(r->body), &out);
		check_int(code, r->code, "row %zu: %s %s: status", i, r->method, r->path);
		if (!json_is_object(out)) {
			check_int(0, 1, "row %zu: %s %s: the answer is a JSON object", i, r->method,
				  r->path);
			continue;
		}
		if (code >= 300) {
			msg = json_string_value(json_object_get(out, "error_msg"));
			check_contains(msg ? msg : "(no error_msg)", r->want, "row %zu: %s %s", i,
				       r->method, r->path);
		} else {
			text = json_dumps(out, JSON_COMPACT);
			check_contains(text ? text : "", r->want, "row %zu: %s %s", i, r->method,
				       r->path);
			free(text);
		}
		json_decref(out);
	}
	json_decref(s.doc);
	check_done();
}

/* Who needs the key: everyone, but for two reads on a loopback listener. */
static void test_authorized(void **state)
{
	static const char key[] = "0123456789abcdef-key";
	static const struct {
		int loopback;
		const char *method, *path, *given;
		int want;
	} rows[] = {
		{1, "GET", "/metrics", NULL, 1},
		{1, "GET", "/v1/healthcheck", NULL, 1},
		{0, "GET", "/metrics", NULL, 0},
		{0, "GET", "/metrics", key, 1},
		{1, "PUT", "/metrics", NULL, 0},
		{1, "GET", "/metrics/", NULL, 0},
		{1, "GET", "/v1/upstreams/web", NULL, 0},
		{1, "GET", "/apisix/admin/upstreams", NULL, 0},
		{1, "GET", "/apisix/admin/upstreams", key, 1},
		{0, "PUT", "/apisix/admin/upstreams/1", key, 1},
		{0, "PUT", "/apisix/admin/upstreams/1", "0123456789abcdef-ke", 0},
		{0, "PUT", "/apisix/admin/upstreams/1", "0123456789abcdef-key2", 0},
		{0, "PUT", "/apisix/admin/upstreams/1", "", 0},
		{0, "POST", "/v1/reload", "0123456789ABCDEF-KEY", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_int(xlb_admin_authorized(rows[i].loopback, rows[i].method, rows[i].path,
					       rows[i].given, key),
			  rows[i].want, "row %zu: %s %s, loopback %d, key %s", i, rows[i].method,
			  rows[i].path, rows[i].loopback, rows[i].given ? rows[i].given : "(none)");
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_authorized),
	};

	return check_run_tests("adminapi", tests, NULL, NULL);
}
