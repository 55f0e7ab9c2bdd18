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
	{"GET", "routes/1", "", 404, "Unsupported resource type: routes"},
	{"PATCH", "upstreams/x", "{}", 404, "upstreams x not found"},
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
	{"PUT", "upstreams/x", "{", 400, "invalid request body"},
	{"PUT", "upstreams/x", "", 400, "missing configurations"},
	{"PUT", "upstreams/x", "[1]", 400, "body must be a JSON object"},
	/* 201 for a new object, 200 when it replaces one (APISIX's etcd.lua). */
	{"PUT", "upstreams/x", "{\"nodes\":{}}", 201, "\"key\":\"/apisix/upstreams/x\""},
	{"PUT", "upstreams/x", "{\"nodes\":{}}", 200, "\"key\":\"/apisix/upstreams/x\""},
	{"GET", "upstreams", "", 200, "\"total\":5"},
	{"DELETE", "upstreams/x", "", 200, "\"deleted\":\"1\""},
	{"DELETE", "upstreams/x", "", 404, "upstreams x not found"},
	/* APISIX's check_schema: a bare IPv6 host in the array form, the Admin API only. */
	{"PUT", "upstreams/v6", "{\"nodes\":[{\"host\":\"::1\",\"port\":80,\"weight\":1}]}", 400,
	 "invalid configuration: IPv6 address must be enclosed with '[' and ']' (node 1"},
	{"PUT", "stream_routes/v6",
	 "{\"upstream\":{\"nodes\":[{\"host\":\"198.18.0.1\",\"port\":80,\"weight\":1},"
	 "{\"host\":\"fd00::1\",\"port\":80,\"weight\":1}]}}",
	 400, "IPv6 address must be enclosed with '[' and ']' (node 2: \"[fd00::1]\")"},
	{"PUT", "upstreams/v6", "{\"nodes\":[{\"host\":\"[::1]\",\"port\":80,\"weight\":1}]}", 201,
	 "\"host\":\"[::1]\""},
	{"DELETE", "upstreams/v6", "", 200, "\"deleted\":\"1\""},
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
	{"GET", "up\xc3\xa9/1", "", 404, "Unsupported resource type: up\xc3\xa9"},
};

/* Send @n rows in order to @st, checking each answer. */
static void run_rows(const struct xlb_admin_store *st, const struct row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		json_t *out = NULL;
		const char *msg;
		char *text;
		int code;

		code = xlb_admin_api(st, r->method, r->path, r->body, strlen(r->body), &out);
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
}

static void test_requests(void **state)
{
	struct store s = {.doc = json_pack("{s:[{s:s, s:{}}], s:[]}", "upstreams", "id", "web",
					   "nodes", "stream_routes")};
	const struct xlb_admin_store st = {.doc = s_doc, .put = s_put, .arg = &s};

	run_rows(&st, rows, sizeof(rows) / sizeof(rows[0]));
	json_decref(s.doc);
	check_done();
}

/*
 * PATCH (APISIX's resource.lua and core/table.lua merge and patch), lists
 * (v3_adapter.lua's filters and pages) and the counter's createdIndex and
 * modifiedIndex.
 */
static const struct row patch_rows[] = {
	{"PUT", "upstreams/1", "{\"nodes\":{\"a:1\":1,\"b:1\":1},\"type\":\"roundrobin\"}", 201,
	 "\"id\":\"1\""},
	{"GET", "upstreams/1", "", 200, "\"createdIndex\":1,\"modifiedIndex\":1"},
	{"PATCH", "upstreams/1", "{\"desc\":\"d\",\"nodes\":{\"c:1\":3}}", 200,
	 "\"nodes\":{\"a:1\":1,\"b:1\":1,\"c:1\":3}"},
	{"GET", "upstreams/1", "", 200, "\"createdIndex\":1,\"modifiedIndex\":2"},
	{"PATCH", "upstreams/1", "{\"desc\":null}", 200, "\"type\":\"roundrobin\""},
	{"PATCH", "upstreams/1/nodes", "{\"z:1\":4}", 200, "\"nodes\":{\"z:1\":4}"},
	{"PATCH", "upstreams/1/desc", "\"sub\"", 200, "\"desc\":\"sub\""},
	{"PATCH", "upstreams/1/checks/active/healthy/interval", "2", 200,
	 "\"checks\":{\"active\":{\"healthy\":{\"interval\":2}}}"},
	{"PATCH", "upstreams/1/type/x", "1", 400, "invalid sub-path: /type"},
	{"PATCH", "upstreams/1", "{\"update_time\":7}", 200, "\"update_time\":7"},
	{"PATCH", "upstreams/1", "", 400, "missing new configuration"},
	{"PATCH", "upstreams/1", "\"x\"", 400, "invalid configuration"},
	{"PATCH", "upstreams/1", "{\"id\":\"2\"}", 400, "wrong upstream id"},
	{"PATCH", "upstreams", "{}", 400, "missing upstream id"},
	{"PATCH", "upstreams/9", "{}", 404, "upstreams 9 not found"},
	{"PUT", "upstreams/2", "{\"nodes\":{},\"name\":\"web-b\",\"labels\":{\"env\":\"p\"}}", 201,
	 "\"id\":\"2\""},
	{"GET", "upstreams?name=%5Eweb", "", 200, "\"total\":1"},
	{"GET", "upstreams?name=b", "", 200, "\"total\":2"},
	{"GET", "upstreams?name=(", "", 400, "invalid name filter '('"},
	{"GET", "upstreams?label=env", "", 200, "\"total\":1"},
	{"GET", "upstreams?label=zone", "", 200, "{\"total\":0,\"list\":[]}"},
	{"GET", "upstreams?page=1&page_size=9", "", 400, "page_size must be between 10 and 500"},
	{"GET", "upstreams?page=1&page_size=501", "", 400, "page_size must be between 10 and 500"},
	/*
	 * Upstream 0 (from the store, numbered when first listed: 9) comes
	 * first in the store's order, last when paged (by createdIndex).
	 */
	{"GET", "upstreams", "", 200, "\"list\":[{\"key\":\"/apisix/upstreams/0\""},
	{"GET", "upstreams?page=1&page_size=10", "", 200,
	 "\"createdIndex\":1,\"modifiedIndex\":7},{\"key\":\"/apisix/upstreams/2\""},
	{"GET", "upstreams?page=1&page_size=10", "", 200,
	 "\"createdIndex\":9,\"modifiedIndex\":9}]"},
	{"GET", "upstreams?page=2&page_size=10", "", 200, "{\"total\":3,\"list\":[]}"},
	{"GET", "upstreams?page=2", "", 200, "\"total\":3"},
	{"GET", "upstreams?page=1&page_size=nan", "", 200, "\"total\":3"},
	{"GET", "upstreams?page=1&page_size=inf", "", 400, "page_size must be between 10 and 500"},
	{"GET", "upstreams?page=1e300&page_size=10", "", 200, "{\"total\":3,\"list\":[]}"},
	{"PUT", "stream_routes/1", "{\"upstream_id\":\"1\"}", 201, "\"id\":\"1\""},
	{"PUT", "stream_routes/2", "{\"upstream_id\":2}", 201, "\"id\":\"2\""},
	{"GET", "stream_routes?filter=upstream_id%3D2", "", 200, "\"total\":1"},
	{"GET", "stream_routes?filter=upstream_id%3D3", "", 200, "\"total\":0"},
	{"GET", "stream_routes?filter=other%3D3", "", 200, "\"total\":2"},
	{"PUT", "stream_routes/3", "{\"service_id\":\"1\"}", 400,
	 "\"service_id\" is not supported by xlb"},
	{"DELETE", "upstreams/2", "", 200, "\"deleted\":\"1\""},
	{"PUT", "upstreams/2", "{\"nodes\":{}}", 201, "\"id\":\"2\""},
	/* stream routes 1 and 2 took 10 and 11 */
	{"GET", "upstreams/2", "", 200, "\"createdIndex\":12,\"modifiedIndex\":12"},
};

static void test_patch_and_lists(void **state)
{
	struct xlb_admin_counter counter = {};
	struct store s = {.doc = json_pack("{s:[{s:s, s:{}, s:s}], s:[]}", "upstreams", "id", "0",
					   "nodes", "name", "db", "stream_routes")};
	const struct xlb_admin_store st = {
		.doc = s_doc, .put = s_put, .arg = &s, .counter = &counter};

	run_rows(&st, patch_rows, sizeof(patch_rows) / sizeof(patch_rows[0]));
	json_decref(s.doc);
	xlb_admin_counter_free(&counter);
	check_done();
}

/* A store whose every edit fails with one problem, as the parser reports it. */
struct fail_store {
	json_t *doc;
	struct xlb_conf_error e;
};

static json_t *f_doc(void *arg)
{
	return ((struct fail_store *)arg)->doc;
}

static int f_put(void *arg, const char *kind, const char *id, json_t *obj,
		 struct xlb_conf_errors *errs)
{
	struct fail_store *s = arg;

	memset(errs, 0, sizeof(*errs));
	errs->n = 1;
	errs->e[0] = s->e;
	return -EINVAL;
}

/* etcd's revisions, for one object. */
static int f_revs(void *arg, const char *kind, const char *id, long long *created,
		  long long *modified)
{
	if (strcmp(id, "web"))
		return -ENOENT;
	*created = 40;
	*modified = 42;
	return 0;
}

/*
 * The parser's problems, which name the edited document, said about the
 * body the client sent, in APISIX's words.
 */
static void test_errors(void **state)
{
	static const struct {
		const char *method, *path, *body, *epath, *emsg, *want;
	} rows[] = {
		{"PUT", "upstreams/1", "{\"name\":\"nnn\"}", "upstreams[1].name",
		 "must be at most 2 characters",
		 "invalid configuration: property \"name\" validation failed: string too long, "
		 "expected at most 2, got 3"},
		{"PUT", "upstreams/1", "{\"name\":\"\"}", "upstreams[1].name", "must not be empty",
		 "property \"name\" validation failed: string too short, expected at least 1, got "
		 "0"},
		{"PUT", "upstreams/1", "{\"checks\":{\"active\":{\"healthy\":{\"successes\":0}}}}",
		 "upstreams[1].checks.active.healthy.successes", "must be an integer 1-254",
		 "invalid configuration: property \"checks\" validation failed: property "
		 "\"active\" validation failed: property \"healthy\" validation failed: property "
		 "\"successes\" validation failed: expected 0 to be at least 1"},
		{"PUT", "upstreams/1", "{\"checks\":{\"active\":{\"healthy\":{\"interval\":0.5}}}}",
		 "upstreams[1].checks.active.healthy.interval",
		 "must be an integer 1-3600 (seconds)",
		 "property \"healthy\" validation failed: property \"interval\" validation failed: "
		 "wrong type: expected integer, got number"},
		{"PUT", "upstreams/1", "{\"checks\":{\"active\":{\"healthy\":{\"interval\":0}}}}",
		 "upstreams[1].checks.active.healthy.interval",
		 "must be an integer 1-3600 (seconds)",
		 "property \"interval\" validation failed: expected 0 to be at least 1"},
		{"PUT", "stream_routes/1", "{\"protocol\":\"udp\"}", "stream_routes[1].protocol",
		 "must be a mapping (xRPC; the L4 protocol is scheme)",
		 "property \"protocol\" validation failed: wrong type: expected object, got string "
		 "(xRPC; the L4 protocol is scheme)"},
		{"PUT", "upstreams/1", "{\"port\":\"80\"}", "upstreams[1].port",
		 "must be an integer 1-65535, not a string",
		 "property \"port\" validation failed: wrong type: expected integer, got string"},
		{"PUT", "upstreams/1", "{\"port\":65536}", "upstreams[1].port",
		 "must be an integer 1-65535", "expected 65536 to be at most 65535"},
		{"PUT", "upstreams/1", "{\"x\":1}", "upstreams[1]",
		 "unknown key 'x' (valid keys: a)",
		 "invalid configuration: additional properties forbidden, found x"},
		{"PUT", "upstreams/1", "{\"scheme\":\"ftp\"}", "upstreams[1].scheme",
		 "must be tcp or udp, not 'ftp'",
		 "property \"scheme\" validation failed: matches none of the enum values"},
		{"PUT", "upstreams/1", "{\"scheme\":1}", "upstreams[1].scheme",
		 "must be tcp or udp, not '1'",
		 "property \"scheme\" validation failed: wrong type: expected string, got number"},
		{"PUT", "upstreams/1", "{\"nodes\":{\"a:1\":-1}}", "upstreams[1].nodes[\"a:1\"]",
		 "weight must be an integer 0-65535",
		 "property \"nodes\" validation failed: object matches none of the required: "
		 "[\"a:1\"] weight: expected -1 to be at least 0"},
		{"PUT", "upstreams/1", "{\"nodes\":{\"a:0\":1}}", "upstreams[1].nodes[\"a:0\"]",
		 "port must be an integer 1-65535", "invalid port 0"},
		{"PUT", "upstreams/1", "{\"nodes\":[{\"weight\":\"1\"}]}",
		 "upstreams[1].nodes[0].weight", "must be an integer 0-65535, not a string",
		 "property \"nodes\" validation failed: object matches none of the required: "
		 "failed to validate item 1: property \"weight\" validation failed: wrong type: "
		 "expected integer, got string"},
		{"PUT", "upstreams/1", "{\"retries\":1}", "upstreams[1].retries",
		 "not supported by xlb (L4): packets are forwarded",
		 "property \"retries\" validation failed: not supported by xlb (L4): packets"},
		{"PUT", "upstreams/1", "{}", "upstreams[1]",
		 "missing key 'nodes' (or discovery_type with service_name)",
		 "value should match only one schema, but matches none"},
		{"PUT", "stream_routes/1", "{\"upstream_id\":\"99\"}",
		 "stream_routes[1].upstream_id",
		 "dangling upstream_id '99': no upstream has this id",
		 "failed to fetch upstream info by upstream id [99], response code: 404"},
		/* Another object's problem names it, by kind and id. */
		{"DELETE", "upstreams/web", "", "stream_routes[0].upstream_id",
		 "dangling upstream_id 'web': no upstream has this id",
		 "can not delete this upstream, stream_route [r1] is still using it now"},
		{"PUT", "upstreams/web", "{}", "stream_routes[0]", "bad",
		 "stream route r1 would be invalid: bad"},
	};
	struct fail_store s = {.doc = json_pack("{s:[{s:s}, {s:s}], s:[{s:s, s:s}]}", "upstreams",
						"id", "web", "id", "1", "stream_routes", "id", "r1",
						"upstream_id", "web")};
	const struct xlb_admin_store st = {.doc = f_doc, .put = f_put, .revs = f_revs, .arg = &s};
	const char *msg;
	json_t *out;
	size_t i;
	char *text;
	int code;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(s.e.path, sizeof(s.e.path), "%s", rows[i].epath);
		snprintf(s.e.msg, sizeof(s.e.msg), "%s", rows[i].emsg);
		out = NULL;
		code = xlb_admin_api(&st, rows[i].method, rows[i].path, rows[i].body,
				     strlen(rows[i].body), &out);
		check_int(code, 400, "row %zu: status", i);
		msg = json_string_value(json_object_get(out, "error_msg"));
		check_contains(msg ? msg : "(no error_msg)", rows[i].want, "row %zu", i);
		json_decref(out);
	}
	/* No counter: the store's revisions only, where it has them. */
	out = NULL;
	check_int(xlb_admin_api(&st, "GET", "upstreams", "", 0, &out), 200, "list");
	text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	check_contains(text ? text : "",
		       "{\"createdIndex\":40,\"key\":\"/apisix/upstreams/web\","
		       "\"modifiedIndex\":42",
		       "the store's revisions");
	check_contains(text ? text : "", "{\"key\":\"/apisix/upstreams/1\",\"value\"",
		       "no counter: no index");
	free(text);
	json_decref(out);
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
		cmocka_unit_test(test_patch_and_lists),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_authorized),
	};

	return check_run_tests("adminapi", tests, NULL, NULL);
}
