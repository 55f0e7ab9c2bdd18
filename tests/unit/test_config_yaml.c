/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * YAML documents from libyaml's events (user/lib/config/yamldoc.c and
 * yamljson.c): the JSON tree the Admin API edits, and the composer's
 * errors (anchors, aliases) as the configuration parser reports them.
 *
 * JSON, table-driven: each row is a document and the compact JSON it must
 * give, or NULL when it must be refused (errno EINVAL): scalars by their
 * YAML type, aliases copied (of scalars as keys too), a collection as a
 * key refused, aliases of an open collection refused, and the depth limit
 * (64 levels below the root, aliases expanded) on both sides of the line.
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
#include "config/yamljson.h"
#include "../lib/check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct json_row {
	const char *name;
	const char *yaml;
	const char *json; /* NULL: refused */
};

static const struct json_row json_rows[] = {
	{"empty", "", "{}"},
	{"comments only", "# nothing\n", "{}"},
	{"empty document", "---\n", "null"},
	{"scalar root", "42\n", "42"},
	{"first document only", "a: 1\n---\nb: 2\n", "{\"a\": 1}"},
	{"types",
	 "a: ~\nb: null\nc: True\nd: FALSE\ne: 012\nf: 0\ng: -3\nh: 1.5\ni: 1e3\nj: yes\n"
	 "k: '1'\nl: 0x10\n",
	 "{\"a\": null, \"b\": null, \"c\": true, \"d\": false, \"e\": \"012\", \"f\": 0, "
	 "\"g\": -3, \"h\": 1.5, \"i\": 1000.0, \"j\": \"yes\", \"k\": \"1\", \"l\": \"0x10\"}"},
	{"flow and block", "a: [1, {b: c}]\nd:\n  - e\n  - []\n  - {}\n",
	 "{\"a\": [1, {\"b\": \"c\"}], \"d\": [\"e\", [], {}]}"},
	{"duplicate keys: the last wins", "a: 1\nb: 2\na: 3\n", "{\"a\": 3, \"b\": 2}"},
	{"alias of a collection", "a: &x {b: [1, 2]}\nc: *x\nd: *x\n",
	 "{\"a\": {\"b\": [1, 2]}, \"c\": {\"b\": [1, 2]}, \"d\": {\"b\": [1, 2]}}"},
	{"alias of a replaced value", "a: &x {q: 1}\na: 2\nb: *x\n",
	 "{\"a\": 2, \"b\": {\"q\": 1}}"},
	{"alias of a scalar as a key", "a: &k key\n*k : 3\n", "{\"a\": \"key\", \"key\": 3}"},
	{"anchor on a key", "&a k: v\nx: *a\n", "{\"k\": \"v\", \"x\": \"k\"}"},
	{"alias of a collection as a key", "a: &k [1]\n*k : 3\n", NULL},
	{"collection as a key", "? [a, b]\n: c\n", NULL},
	{"alias cycle", "a: &x\n  b: *x\n", NULL},
	{"alias of an open sequence", "&x [1, *x]\n", NULL},
	{"undefined alias", "a: *nope\n", NULL},
	{"duplicate anchor", "a: &x 1\nb: &x 2\n", NULL},
	{"syntax error", "a: [1, 2\n", NULL},
};

/* [[...[INNER]...]] with n brackets each side. */
static char *nest(int n, const char *before, const char *inner)
{
	size_t len = strlen(before) + strlen(inner) + 2 * n + 2;
	char *s = malloc(len);
	int i, off;

	assert_non_null(s);
	off = snprintf(s, len, "%s", before);
	for (i = 0; i < n; i++)
		s[off++] = '[';
	off += snprintf(s + off, len - off, "%s", inner);
	for (i = 0; i < n; i++)
		s[off++] = ']';
	s[off++] = '\n';
	s[off] = '\0';
	return s;
}

static void check_json(const char *name, const char *yaml, const char *want)
{
	json_t *j;
	char *got;

	errno = 0;
	j = xlb_yaml_to_json(yaml);
	if (!want) {
		got = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
		check_str(got, NULL, "%s", name);
		if (!j)
			check_int(errno, EINVAL, "%s: errno", name);
		free(got);
		json_decref(j);
		return;
	}
	if (!j) {
		check_str(NULL, want, "%s (errno %d)", name, errno);
		return;
	}
	got = json_dumps(j, JSON_ENCODE_ANY);
	check_str(got, want, "%s", name);
	free(got);
	json_decref(j);
}

static void test_json_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(json_rows); i++)
		check_json(json_rows[i].name, json_rows[i].yaml, json_rows[i].json);
	check_done();
}

/* 64 levels below the root pass, 65 do not, with aliases expanded. */
static void test_json_depth(void **state)
{
	static const struct {
		int n;
		const char *before, *inner;
		int ok;
	} rows[] = {
		{64, "", "1", 1},
		{65, "", "1", 0},
		{64, "", "[]", 1},
		{65, "", "[]", 0},
		/* x holds 10 levels; y's alias sits n + 1 levels below the root. */
		{53, "x: &x [[[[[[[[[[1]]]]]]]]]]\ny: ", "*x", 1},
		{54, "x: &x [[[[[[[[[[1]]]]]]]]]]\ny: ", "*x", 0},
		/* The key does not count, its value does. */
		{62, "x: &x k\ny: ", "{*x : 1}", 1},
		{63, "x: &x k\ny: ", "{*x : 1}", 0},
	};
	char name[64];
	json_t *j;
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		s = nest(rows[i].n, rows[i].before, rows[i].inner);
		snprintf(name, sizeof(name), "%d levels of %s%s", rows[i].n, rows[i].before,
			 rows[i].inner);
		j = xlb_yaml_to_json(s);
		check_int(j != NULL, rows[i].ok, "%s", name);
		json_decref(j);
		free(s);
	}
	check_done();
}

/* libyaml's composer errors, with their positions, from the parser. */
static void test_composer_errors(void **state)
{
	static const struct {
		const char *yaml, *want;
	} rows[] = {
		{"stream_routes: []\nx: *nope\n", "<input>:2:4: found undefined alias"},
		{"stream_routes: &x []\nx: &x 1\n",
		 "<input>:2:4: second occurrence (found duplicate anchor; first occurrence that "
		 "started at line 1)"},
	};
	struct xlb_conf_errors errs;
	struct xlb_conf c;
	char buf[512];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		check_int(xlb_conf_parse(rows[i].yaml, &c, &errs), -EINVAL, "%s", rows[i].yaml);
		check_int(errs.n, 1, "%s: errors", rows[i].yaml);
		xlb_conf_error_str(NULL, &errs.e[0], buf, sizeof(buf));
		check_str(buf, rows[i].want, "%s", rows[i].yaml);
	}
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_rows),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_composer_errors),
	};

	return check_run_tests("config_yaml", tests, NULL, NULL);
}
