// SPDX-License-Identifier: GPL-2.0-only
/*
 * createdIndex and modifiedIndex with etcd as the Admin API's store: the
 * mirror (user/lib/config/etcd_mirror.c) keeps each good object's
 * create_revision and mod_revision from range answers and watch events,
 * and hands them over with xlb_etcd_mirror_revs().
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
#include <jansson.h>

#include "config/etcd_mirror.h"
#include "../lib/check.h"

/* A KeyValue as the gateway writes it, revisions as strings. */
static json_t *kv(const char *key, const char *value, long long crev, long long mrev)
{
	char *k = xlb_etcd_b64_encode(key, strlen(key));
	char *v = xlb_etcd_b64_encode(value, strlen(value));
	char c[32], m[32];
	json_t *j;

	snprintf(c, sizeof(c), "%lld", crev);
	snprintf(m, sizeof(m), "%lld", mrev);
	j = json_pack("{s:s, s:s, s:s, s:s}", "key", k, "value", v, "create_revision", c,
		      "mod_revision", m);
	free(k);
	free(v);
	return j;
}

static int feed(struct xlb_etcd_mirror *m, json_t *root, int watch)
{
	struct xlb_etcd_watch_info info;
	char why[256], *text = json_dumps(root, JSON_COMPACT);
	int err;

	err = watch ? xlb_etcd_mirror_apply_watch(m, text, strlen(text), &info, why, sizeof(why))
		    : xlb_etcd_mirror_load_range(m, text, strlen(text), why, sizeof(why));
	free(text);
	json_decref(root);
	return err;
}

/* Check the mirror's "created/modified" of kind/id (or "error -N"). */
static void check_revs(struct xlb_etcd_mirror *m, const char *kind, const char *id,
		       const char *want, const char *what)
{
	long long c = -1, mo = -1;
	int err = xlb_etcd_mirror_revs(m, kind, id, &c, &mo);
	char got[64];

	if (err)
		snprintf(got, sizeof(got), "error %d", err);
	else
		snprintf(got, sizeof(got), "%lld/%lld", c, mo);
	check_str(got, want, "%s", what);
}

static void test_revs(void **state)
{
	struct xlb_etcd_mirror *m = xlb_etcd_mirror_new("/apisix");
	assert_non_null(m);
	check_int(feed(m,
		       json_pack("{s:{s:s}, s:[o, o, o]}", "header", "revision", "20", "kvs",
				 kv("/apisix/upstreams/1", "{\"nodes\":{}}", 5, 9),
				 kv("/apisix/stream_routes/1", "{}", 7, 7),
				 kv("/apisix/routes/1", "{}", 8, 8)),
		       0),
		  1, "range answer");
	check_revs(m, "upstreams", "1", "5/9", "upstream 1 after the range read");
	check_revs(m, "stream_routes", "1", "7/7", "stream route 1");
	check_revs(m, "routes", "1", "error -2", "a key the mirror does not take");
	check_revs(m, "upstreams", "2", "error -2", "no such object");

	/* A put renews mod_revision; a bad value keeps the good one's revisions. */
	check_int(feed(m,
		       json_pack("{s:{s:{s:s}, s:[{s:o}, {s:o}]}}", "result", "header", "revision",
				 "22", "events", "kv",
				 kv("/apisix/upstreams/1", "{\"nodes\":{\"a:1\":1}}", 5, 21), "kv",
				 kv("/apisix/stream_routes/1", "[1]", 7, 22)),
		       1),
		  1, "watch events");
	check_revs(m, "upstreams", "1", "5/21", "upstream 1 after a put");
	check_revs(m, "stream_routes", "1", "7/7", "stream route 1 kept with its good value");

	/* A range read after a bad value keeps the good one's revisions too. */
	check_int(feed(m,
		       json_pack("{s:{s:s}, s:[o, o]}", "header", "revision", "23", "kvs",
				 kv("/apisix/upstreams/1", "{\"nodes\":{\"a:1\":1}}", 5, 21),
				 kv("/apisix/stream_routes/1", "[1]", 7, 22)),
		       0),
		  0, "range answer again");
	check_revs(m, "stream_routes", "1", "7/7", "stream route 1 after the range read");

	/* A delete forgets them. */
	check_int(feed(m,
		       json_pack("{s:{s:{s:s}, s:[{s:s, s:o}]}}", "result", "header", "revision",
				 "24", "events", "type", "DELETE", "kv",
				 kv("/apisix/upstreams/1", "", 0, 24)),
		       1),
		  1, "delete");
	check_revs(m, "upstreams", "1", "error -2", "upstream 1 deleted");
	xlb_etcd_mirror_free(m);
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revs),
	};

	return check_run_tests("adminapi_revs", tests, NULL, NULL);
}
