/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A reload that reparses only what changed (user/lib/config/patch.c).
 *
 * The rule under test: a patched conf is exactly what the full parser makes
 * of the new text (every upstream, node and route, line numbers included),
 * and its document is exactly xlb_yaml_to_json() of it; applying the patch
 * again gives back the old conf; and every change the patch may not make
 * (another key, an item added or removed, an id, a problem to report, an
 * anchor, an inline upstream) is left to the full parser (-EAGAIN) with the
 * conf untouched. Patches chain: each starts from the text the last left.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/patch.h"
#include "config/yamljson.h"
#include "../lib/check.h"

#define NUPS 60

/* The base document: NUPS upstreams of 3 nodes, one route each, mixed styles. */
static char *base_text(void)
{
	size_t cap = 1 << 16, len = 0, i;
	char *t = malloc(cap);

	assert_non_null(t);
	len += snprintf(t + len, cap - len, "xlb:\n  forward: ipip\nupstreams:\n");
	for (i = 0; i < NUPS; i++) {
		len += snprintf(t + len, cap - len,
				"  - id: u%zu\n    type: roundrobin\n    nodes:\n"
				"      \"10.0.%zu.1:80\": 1\n      \"10.0.%zu.2:80\": 2\n"
				"      \"10.0.%zu.3:80\": 1\n",
				i, i, i, i);
		if (i % 7 == 3)
			len += snprintf(t + len, cap - len, "  # upstream %zu ends here\n\n", i);
	}
	len += snprintf(t + len, cap - len, "stream_routes:\n");
	for (i = 0; i < NUPS; i++) {
		if (i % 2)
			len += snprintf(t + len, cap - len,
					"  - {id: %zu, server_addr: 198.19.0.%zu, server_port: 80, "
					"upstream_id: u%zu}\n",
					i + 1, i + 1, i);
		else
			len += snprintf(t + len, cap - len,
					"  - id: %zu\n    server_addr: 198.19.0.%zu\n"
					"    server_port: 80\n    upstream_id: u%zu\n",
					i + 1, i + 1, i);
	}
	assert_true(len < cap);
	return t;
}

/* text with the first occurrence of from replaced by to (malloc'd). */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t lt = strlen(text), lf = strlen(from), lto = strlen(to);
	char *t;

	if (!at)
		fail_msg("'%s' is not in the text", from);
	t = malloc(lt - lf + lto + 1);
	assert_non_null(t);
	memcpy(t, text, (size_t)(at - text));
	memcpy(t + (at - text), to, lto);
	memcpy(t + (at - text) + lto, at + lf, lt - (size_t)(at - text) - lf + 1);
	return t;
}

/* Whether same_conf() compares line numbers (a JSON edit has none of its own). */
static int with_lines = 1;

static void same_conf(const struct xlb_conf *a, const struct xlb_conf *b, const char *what)
{
	check_int(xlb_conf_equal(a, b, with_lines), 1, "%s: the same configuration", what);
}

/* The full parser's conf and document of text. */
static void full(const char *text, struct xlb_conf *conf, json_t **doc)
{
	struct xlb_conf_errors errs;
	int err = xlb_conf_parse_kept(text, conf, &errs);

	check_int(err, 0, "full parse (%zu problems: %s)", errs.n, errs.n ? errs.e[0].msg : "");
	if (doc)
		*doc = xlb_yaml_to_json(text);
}

/*
 * Patch cur (conf and doc of text *cur) to next: 0 expected, with the
 * result compared to the full parser's; or -EAGAIN, with cur untouched.
 */
static void patch_to(struct xlb_conf *conf, json_t **doc, char **cur, char *next, int want,
		     const char *what)
{
	struct xlb_conf_patch pt;
	struct xlb_conf ref, before;
	json_t *ref_doc, *new_doc;
	int err;

	full(*cur, &before, NULL);
	err = xlb_conf_patch_make(conf, next, &pt);
	check_int(err, want, "%s: patch", what);
	if (err) {
		same_conf(conf, &before, what);
		free(next);
		goto out;
	}
	new_doc = xlb_conf_patch_doc(&pt, *doc);
	check_int(!!new_doc, 1, "%s: document patched", what);
	full(next, &ref, &ref_doc);
	same_conf(conf, &ref, what);
	check_int(json_equal(new_doc, ref_doc), 1, "%s: document as parsed whole", what);
	/* Applied again: the old conf; and once more the new. */
	xlb_conf_patch_apply(conf, &pt);
	same_conf(conf, &before, what);
	xlb_conf_patch_apply(conf, &pt);
	same_conf(conf, &ref, what);
	xlb_conf_patch_free(&pt);
	xlb_conf_free(&ref);
	json_decref(ref_doc);
	json_decref(*doc);
	*doc = new_doc;
	free(*cur);
	*cur = strdup(next); /* conf owns next */
out:
	xlb_conf_free(&before);
}

/*
 * Both lists changed: the two steps xlb_conf_patch_split() gives, in the
 * order that is valid (first), each compared with the full parser's.
 */
static void split_to(struct xlb_conf *conf, json_t **doc, char **cur, char *next, int first,
		     const char *what)
{
	char *mid[2], *final = strdup(next), *step;
	struct xlb_conf_patch pt;
	int err;

	expect_int(xlb_conf_patch_split(conf, next, &mid[0], &mid[1]), 0, "%s: split", what);
	/* The other order is refused, and changes nothing. */
	err = xlb_conf_patch_make(conf, mid[!first], &pt);
	if (!err) {
		check_int(err, -EAGAIN, "%s: the other order first", what);
		xlb_conf_patch_apply(conf, &pt);
		pt.text = NULL;
		xlb_conf_patch_free(&pt);
	}
	free(mid[!first]);
	step = mid[first];
	patch_to(conf, doc, cur, step, 0, what);
	patch_to(conf, doc, cur, final, 0, what);
	free(next);
}

static void test_patches(void **state)
{
	struct xlb_conf conf;
	char *cur = base_text(), *t;
	json_t *doc;

	full(cur, &conf, &doc);
	/* Changes within items. */
	patch_to(&conf, &doc, &cur, edit(cur, "10.0.3.2:80\": 2", "10.0.3.2:81\": 2"), 0,
		 "a node's port");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "10.0.5.1:80\": 1\n", "10.0.5.1:80\": 1\n      \"10.0.5.9:80\": 3\n"), 0,
		 "a node added (later lines move)");
	patch_to(&conf, &doc, &cur, edit(cur, "      \"10.0.7.3:80\": 1\n", ""), 0,
		 "a node removed (later lines move back)");
	patch_to(&conf, &doc, &cur, edit(cur, "# upstream 10 ends", "# upstream ten ends"), 0,
		 "a comment");
	t = edit(cur, "10.0.2.1:80", "10.0.2.1:90");
	patch_to(&conf, &doc, &cur, edit(t, "10.0.50.1:80", "10.0.50.1:90"), 0,
		 "two upstreams far apart");
	free(t);
	patch_to(&conf, &doc, &cur,
		 edit(cur, "server_addr: 198.19.0.4,", "server_addr: 198.19.1.4,"), 0,
		 "a flow-style route's address");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "server_addr: 198.19.0.3\n",
		      "server_addr: 198.19.0.3\n    scheme: udp\n"),
		 0, "a block route's scheme");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "    type: roundrobin\n    nodes:\n      \"10.0.59.1",
		      "    type: chash\n    key: remote_addr\n    nodes:\n      \"10.0.59.1"),
		 0, "the last upstream's type");
	/* Left to the full parser. */
	patch_to(&conf, &doc, &cur, strdup(cur), -EAGAIN, "the same text");
	patch_to(&conf, &doc, &cur, edit(cur, "forward: ipip", "forward: l2"), -EAGAIN,
		 "a setting");
	patch_to(&conf, &doc, &cur, edit(cur, "  - id: u9\n", "  - id: u99\n"), -EAGAIN,
		 "an id a route names");
	patch_to(&conf, &doc, &cur, edit(cur, "10.0.4.1:80", "10.0.4.1:70000"), -EAGAIN,
		 "a bad port (the full parser says why)");
	patch_to(&conf, &doc, &cur, edit(cur, "upstream_id: u13}", "upstream_id: nope}"), -EAGAIN,
		 "a dangling upstream_id");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "server_addr: 198.19.0.6,", "server_addr: 198.19.0.8,"), -EAGAIN,
		 "a duplicate VIP");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "      \"10.0.11.1:80\": 1\n",
		      "      \"10.0.11.1:80\": &w 1\n      \"10.0.11.7:80\": *w\n"),
		 -EAGAIN, "an anchor");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "    upstream_id: u14\n",
		      "    upstream:\n      nodes: {\"10.1.1.1:80\": 1}\n"),
		 -EAGAIN, "an inline upstream");
	patch_to(&conf, &doc, &cur, edit(cur, "  - id: u13\n", "foo: 1\n  - id: u13\n"), -EAGAIN,
		 "a key at the top inside the list");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "server_addr: 198.19.0.3\n", "server_addr: \"2001:db8::3\"\n"), -EAGAIN,
		 "an IPv6 VIP with IPv4 nodes");
	/* Items come and go. */
	patch_to(&conf, &doc, &cur,
		 edit(cur, "  - id: u9\n",
		      "  - id: u9b\n    nodes: {\"10.9.9.9:80\": 1}\n  - id: u9\n"),
		 0, "an upstream added");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "  - id: u9\n",
		      "  - id: u9b\n    nodes: {\"10.9.9.8:80\": 1}\n  - id: u9\n"),
		 -EAGAIN, "an upstream id twice");
	patch_to(&conf, &doc, &cur, edit(cur, "  - id: u9b\n", "  - id: u9c\n"), 0,
		 "an upstream no route names renamed");
	patch_to(&conf, &doc, &cur, edit(cur, "  - id: u9c\n    nodes: {\"10.9.9.9:80\": 1}\n", ""),
		 0, "an upstream no route names removed");
	patch_to(&conf, &doc, &cur, edit(cur, "  - id: u10\n", "  - id: u10x\n"), -EAGAIN,
		 "an upstream a route names renamed");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "  - {id: 2,",
		      "  - {id: 200, server_addr: 198.19.9.9, upstream_id: u3}\n  - {id: 2,"),
		 0, "a route added");
	patch_to(&conf, &doc, &cur,
		 edit(cur, "  - {id: 200, server_addr: 198.19.9.9, upstream_id: u3}\n", ""), 0,
		 "a route removed");
	t = edit(cur, "  - {id: 2,",
		 "  - {id: 201, server_addr: 198.19.9.9, upstream_id: u3}\n  - {id: 2,");
	patch_to(&conf, &doc, &cur,
		 edit(t, "stream_routes:\n",
		      "stream_routes:\n  - {id: 202, server_addr: 198.19.9.10, upstream_id: u4}\n"),
		 0, "two routes added apart");
	free(t);
	patch_to(&conf, &doc, &cur, edit(cur, "  - {id: 201,", "  - {id: 1,"), -EAGAIN,
		 "a route's id twice");
	/* Both lists: an upstream with its route, then both gone. */
	t = edit(cur, "stream_routes:\n",
		 "  - id: both\n    nodes: {\"10.5.5.5:80\": 1}\nstream_routes:\n");
	split_to(&conf, &doc, &cur,
		 edit(t, "  - {id: 2,",
		      "  - {id: 300, server_addr: 198.19.7.7, upstream_id: both}\n  - {id: 2,"),
		 0, "an upstream and its route added");
	free(t);
	t = edit(cur, "  - id: both\n    nodes: {\"10.5.5.5:80\": 1}\n", "");
	split_to(&conf, &doc, &cur,
		 edit(t, "  - {id: 300, server_addr: 198.19.7.7, upstream_id: both}\n", ""), 1,
		 "an upstream and its route removed");
	free(t);
	/* Still patchable after all that. */
	patch_to(&conf, &doc, &cur, edit(cur, "10.0.20.3:80", "10.0.20.3:8080"), 0,
		 "a node's port, again");
	xlb_conf_free(&conf);
	json_decref(doc);
	free(cur);
	check_done();
}

/*
 * Item KIND[at] of conf's document replaced by the JSON object obj_text
 * (an Admin API edit): want 0, with the conf as the full parser makes of
 * the edited document; or -EAGAIN, with the conf untouched.
 */
static void item_to(struct xlb_conf *conf, json_t *doc, const char *kind, size_t at, size_t nconf,
		    const char *obj_text, int want, const char *what)
{
	struct xlb_conf_patch pt;
	struct xlb_conf ref, before;
	json_t *obj = obj_text ? json_loads(obj_text, 0, NULL) : NULL, *edited, *arr;
	char *text;
	int err;

	expect_int(!obj_text || obj, 1, "%s: JSON", what);
	edited = json_deep_copy(doc);
	arr = json_object_get(edited, kind);
	if (nconf)
		json_array_remove(arr, at);
	if (obj)
		json_array_insert(arr, at, obj);
	text = json_dumps(doc, JSON_COMPACT);
	full(text, &before, NULL);
	free(text);
	with_lines = 0;
	err = xlb_conf_patch_item(conf,
				  strcmp(kind, "upstreams") ? XLB_LIST_ROUTES : XLB_LIST_UPSTREAMS,
				  at, nconf, obj, &pt);
	check_int(err, want, "%s: patch", what);
	if (!err) {
		text = json_dumps(edited, JSON_COMPACT);
		full(text, &ref, NULL);
		free(text);
		same_conf(conf, &ref, what);
		xlb_conf_patch_apply(conf, &pt);
		same_conf(conf, &before, what);
		xlb_conf_patch_apply(conf, &pt);
		xlb_conf_patch_free(&pt);
		xlb_conf_free(&ref);
		json_object_set(doc, kind, arr);
	} else {
		same_conf(conf, &before, what);
	}
	with_lines = 1;
	xlb_conf_free(&before);
	json_decref(edited);
	json_decref(obj);
}

static void test_items(void **state)
{
	struct xlb_conf conf;
	char *cur = base_text();
	json_t *doc;

	full(cur, &conf, &doc);
	xlb_conf_forget_text(&conf);
	item_to(&conf, doc, "upstreams", 5, 1,
		"{\"id\": \"u5\", \"type\": \"roundrobin\", \"nodes\": {\"10.7.7.7:80\": 3}}", 0,
		"an upstream replaced");
	item_to(&conf, doc, "stream_routes", 4, 1,
		"{\"id\": \"5\", \"server_addr\": \"198.19.3.5\", \"server_port\": 81, "
		"\"upstream_id\": \"u7\"}",
		0, "a route replaced");
	item_to(&conf, doc, "upstreams", 6, 1,
		"{\"id\": \"u6\", \"nodes\": {\"10.7.7.7:70000\": 1}}", -EAGAIN, "a bad port");
	item_to(&conf, doc, "upstreams", 6, 1, "{\"id\": \"u66\", \"nodes\": {\"10.7.7.7:80\": 1}}",
		-EAGAIN, "another id");
	item_to(&conf, doc, "stream_routes", 8, 1,
		"{\"id\": \"9\", \"server_addr\": \"198.19.0.2\", \"server_port\": 80, "
		"\"upstream_id\": \"u8\"}",
		-EAGAIN, "a duplicate VIP");
	item_to(&conf, doc, "upstreams", NUPS, 0,
		"{\"id\": \"new\", \"nodes\": {\"10.8.8.8:80\": 1}}", 0, "an upstream added");
	item_to(&conf, doc, "stream_routes", NUPS, 0,
		"{\"id\": \"900\", \"server_addr\": \"198.19.8.8\", \"server_port\": 80, "
		"\"upstream_id\": \"new\"}",
		0, "a route added");
	item_to(&conf, doc, "upstreams", NUPS, 1, NULL, -EAGAIN,
		"an upstream a route names deleted");
	item_to(&conf, doc, "stream_routes", 3, 1, NULL, 0, "a route deleted");
	item_to(&conf, doc, "upstreams", 3, 1, NULL, 0, "the upstream of no route deleted");
	xlb_conf_free(&conf);
	json_decref(doc);
	free(cur);
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patches),
		cmocka_unit_test(test_items),
	};

	return check_run_tests("conf_patch", tests, NULL, NULL);
}
