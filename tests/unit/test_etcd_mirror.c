/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * etcd's pure half (user/lib/config/etcd_mirror.c): base64, range answers
 * and watch responses applied to the mirror (good and bad values, garbage
 * leaving the mirror as it was, compaction and cancel reported, stale
 * events skipped), and the keys the mirror accepts. No network, no etcd;
 * the client against a real etcd is test_etcd.c.
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

#include "../lib/check.h"
#include "config/etcd.h"

/* --- pure: base64 ------------------------------------------------------------ */

static void test_b64(void **state)
{
	static const struct {
		const char *plain, *enc;
	} v[] = {
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
		{"/apisix/upstreams/1", "L2FwaXNpeC91cHN0cmVhbXMvMQ=="},
	};
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "Zg==Zg==", "Zm9v!", "Zm=v", "====", "Zg=a"};
	unsigned char out[64];
	unsigned int i;
	char *enc;
	long n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		enc = xlb_etcd_b64_encode(v[i].plain, strlen(v[i].plain));
		check_str(enc, v[i].enc, "encode '%s'", v[i].plain);
		free(enc);
		n = xlb_etcd_b64_decode(v[i].enc, strlen(v[i].enc), out);
		check_int(n, strlen(v[i].plain), "decode '%s' length", v[i].enc);
		if (n >= 0)
			check_int(memcmp(out, v[i].plain, n), 0, "decode '%s' bytes", v[i].enc);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_int(xlb_etcd_b64_decode(bad[i], strlen(bad[i]), out), -EINVAL, "decode '%s'",
			  bad[i]);
	/* Every byte value survives a round trip. */
	for (i = 0; i < 256; i++)
		out[i % 64] = i;
	enc = xlb_etcd_b64_encode(out, 64);
	{
		unsigned char back[64];

		check_int(xlb_etcd_b64_decode(enc, strlen(enc), back), 64, "round trip length");
		check_int(memcmp(back, out, 64), 0, "round trip bytes");
	}
	free(enc);
	check_done();
}

/* --- pure: the mirror ------------------------------------------------------------ */

static char *b64s(const char *s)
{
	return xlb_etcd_b64_encode(s, strlen(s));
}

/* A KeyValue as the gateway writes it (value NULL: none, as in a delete). */
static json_t *kv_json(const char *key, const char *value, long long rev)
{
	char *k = b64s(key), *v = value ? b64s(value) : NULL, r[32];
	json_t *j;

	snprintf(r, sizeof(r), "%lld", rev);
	j = json_pack("{s:s, s:s}", "key", k, "mod_revision", r);
	if (v)
		json_object_set_new(j, "value", json_string(v));
	free(k);
	free(v);
	return j;
}

static char *range_answer(long long rev, json_t *kvs)
{
	char r[32], *s;
	json_t *root;

	snprintf(r, sizeof(r), "%lld", rev);
	root = json_pack("{s:{s:s, s:s}}", "header", "cluster_id", "1", "revision", r);
	if (kvs && json_array_size(kvs))
		json_object_set_new(root, "kvs", kvs);
	else
		json_decref(kvs);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

/* A watch response with events (type NULL: a put). */
static char *watch_msg(long long hdr_rev, json_t *events)
{
	char r[32], *s;
	json_t *root;

	snprintf(r, sizeof(r), "%lld", hdr_rev);
	root = json_pack("{s:{s:{s:s}, s:o}}", "result", "header", "revision", r, "events", events);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

static json_t *ev_put(const char *key, const char *value, long long rev)
{
	return json_pack("{s:o}", "kv", kv_json(key, value, rev));
}

static json_t *ev_del(const char *key, long long rev)
{
	return json_pack("{s:s, s:o}", "type", "DELETE", "kv", kv_json(key, NULL, rev));
}

/* "id,id|id" of the mirror's arrays: upstream ids, '|', stream route ids. */
static void mirror_ids(const struct xlb_etcd_mirror *m, char *buf, size_t len)
{
	json_t *a[2], *v;
	size_t i, o = 0;
	int k;

	buf[0] = 0;
	assert_int_equal(xlb_etcd_mirror_arrays(m, &a[0], &a[1]), 0);
	for (k = 0; k < 2; k++) {
		json_array_foreach (a[k], i, v)
			o += snprintf(buf + o, len - o, "%s%s", i ? "," : "",
				      json_string_value(json_object_get(v, "id")));
		if (!k)
			o += snprintf(buf + o, len - o, "|");
		json_decref(a[k]);
	}
}

static void test_mirror_range(void **state)
{
	struct xlb_etcd_mirror *m = xlb_etcd_mirror_new("/apisix/");
	char why[256], ids[256], bad[512], *body;
	json_t *kvs, *a[2];
	int err;

	assert_non_null(m);
	kvs = json_pack("[o,o,o,o,o,o,o,o]",
			kv_json("/apisix/stream_routes/r1", "{\"upstream_id\":\"2\"}", 5),
			kv_json("/apisix/ssls/1", "{}", 3),
			kv_json("/apisix/upstreams", "\"init_dir\"", 2),
			kv_json("/apisix/upstreams/2", "{\"id\":99,\"nodes\":[]}", 4),
			kv_json("/apisix/upstreams/1", "{\"nodes\":[]}", 6),
			kv_json("/apisix/upstreams/x/y", "{}", 7),
			kv_json("/apisix/upstreams/3", "[1,2]", 8),
			kv_json("/apisix/upstreams/4", "{not json", 9));
	body = range_answer(10, kvs);
	err = xlb_etcd_mirror_load_range(m, body, strlen(body), why, sizeof(why));
	free(body);
	check_int(err, 1, "first range: changed");
	check_int(xlb_etcd_mirror_rev(m), 10, "revision from the header");
	mirror_ids(m, ids, sizeof(ids));
	check_str(ids, "1,2|r1", "ids (sorted, from the key, other kinds ignored)");
	check_int(xlb_etcd_mirror_bad(m, bad, sizeof(bad)), 2, "bad values");
	check_contains(bad, "/apisix/upstreams/3: value is not a JSON object", "bad text");
	check_contains(bad, "/apisix/upstreams/4: value is not JSON", "bad text");
	/* The id from the key wins over the value's own. */
	assert_int_equal(xlb_etcd_mirror_arrays(m, &a[0], &a[1]), 0);
	check_str(json_string_value(json_object_get(json_array_get(a[0], 1), "id")), "2",
		  "id of upstreams/2");
	json_decref(a[0]);
	json_decref(a[1]);

	/* Garbage in any form: an error, the mirror untouched. */
	{
		static const char *const garbage[] = {
			"",
			"hello",
			"[]",
			"{}",
			"{\"header\":{}}",
			"{\"header\":{\"revision\":\"x\"}}",
			"{\"header\":{\"revision\":\"11\"},\"kvs\":{}}",
			"{\"header\":{\"revision\":\"11\"},\"kvs\":[1]}",
			"{\"header\":{\"revision\":\"11\"},\"kvs\":[{\"key\":\"!!\"}]}",
			"{\"header\":{\"revision\":\"11\"},\"kvs\":[{\"key\":"
			"\"L2FwaXNpeC91cHN0cmVhbXMvMQ==\",\"value\":\"#\"}]}",
			"{\"header\":{\"revision\":\"11\"},\"more\":true}",
			"{\"error\":\"etcdserver: mvcc: required revision has been "
			"compacted\",\"message\":\"etcdserver: mvcc: required revision has been "
			"compacted\",\"code\":11}",
			"{\"header\":{\"revision\":\"11\"}",
		};
		unsigned int i;

		for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
			why[0] = 0;
			err = xlb_etcd_mirror_load_range(m, garbage[i], strlen(garbage[i]), why,
							 sizeof(why));
			check_int(err < 0, 1, "garbage %u '%s' is an error (%d)", i, garbage[i],
				  err);
			check_int(why[0] != 0, 1, "garbage %u has a reason", i);
			mirror_ids(m, ids, sizeof(ids));
			check_str(ids, "1,2|r1", "garbage %u leaves the mirror", i);
			check_int(xlb_etcd_mirror_rev(m), 10, "garbage %u leaves the revision", i);
		}
	}

	/* Same content again: unchanged. A bad value for a good key keeps it. */
	kvs = json_pack("[o,o,o]",
			kv_json("/apisix/stream_routes/r1", "{\"upstream_id\":\"2\"}", 5),
			kv_json("/apisix/upstreams/2", "{\"id\":99,\"nodes\":[]}", 4),
			kv_json("/apisix/upstreams/1", "nonsense", 11));
	body = range_answer(12, kvs);
	err = xlb_etcd_mirror_load_range(m, body, strlen(body), why, sizeof(why));
	free(body);
	check_int(err, 0, "same objects: unchanged");
	mirror_ids(m, ids, sizeof(ids));
	check_str(ids, "1,2|r1", "upstreams/1 keeps its last good value");
	check_int(xlb_etcd_mirror_bad(m, bad, sizeof(bad)), 1, "bad values after resync");
	check_contains(bad, "/apisix/upstreams/1: value is not JSON", "bad text");

	/* An empty range is etcd saying everything is gone. */
	body = range_answer(13, NULL);
	err = xlb_etcd_mirror_load_range(m, body, strlen(body), why, sizeof(why));
	free(body);
	check_int(err, 1, "empty range: changed");
	mirror_ids(m, ids, sizeof(ids));
	check_str(ids, "|", "empty range empties");
	check_int(xlb_etcd_mirror_bad(m, bad, sizeof(bad)), 0, "no bad values");
	xlb_etcd_mirror_free(m);
	check_done();
}

/* The key layout and etcd's own error answers, which the client relies on. */
static void test_mirror_keys(void **state)
{
	struct xlb_etcd_mirror *m = xlb_etcd_mirror_new("/apisix");
	char why[256];
	json_t *j;

	assert_non_null(m);
	check_str(xlb_etcd_mirror_prefix(m), "/apisix", "prefix");
	check_int(xlb_etcd_kind_id_valid("upstreams", "u-1.a_b"), 1, "upstream id");
	check_int(xlb_etcd_kind_id_valid("stream_routes", "r1"), 1, "route id");
	check_int(xlb_etcd_kind_id_valid("routes", "r1"), 0, "other kind");
	check_int(xlb_etcd_kind_id_valid(NULL, "r1"), 0, "no kind");
	check_int(xlb_etcd_kind_id_valid("upstreams", NULL), 0, "no id");
	check_int(xlb_etcd_kind_id_valid("upstreams", ""), 0, "empty id");
	check_int(xlb_etcd_kind_id_valid("upstreams", "a/b"), 0, "id with '/'");
	check_int(xlb_etcd_mirror_bad_seen(m), 0, "no bad values seen");

	j = json_loads("{\"error\":\"etcdserver: user name is empty\",\"code\":3}", 0, NULL);
	check_int(xlb_etcd_error_answer(j, why, sizeof(why)), -EPROTO, "error answer");
	check_str(why, "etcd error: etcdserver: user name is empty (code 3)", "error text");
	json_decref(j);
	j = json_loads("{\"header\":{}}", 0, NULL);
	check_int(xlb_etcd_error_answer(j, why, sizeof(why)), 0, "not an error answer");
	json_decref(j);
	xlb_etcd_mirror_free(m);
	check_done();
}

/* "routes:1,ssls:2" for the nonzero counts of the keys not mirrored. */
static void others_str(const struct xlb_etcd_mirror *m, char *buf, size_t len)
{
	unsigned int c[XLB_ETCD_OTHER_KINDS], i;
	size_t o = 0;

	xlb_etcd_mirror_others(m, c);
	buf[0] = 0;
	for (i = 0; i < XLB_ETCD_OTHER_KINDS && o < len; i++)
		if (c[i])
			o += snprintf(buf + o, len - o, "%s%s:%u", o ? "," : "",
				      xlb_etcd_other_kind_name(i), c[i]);
}

/*
 * An APISIX deployment's keys beside ours: counted by kind, values never
 * looked at (not JSON is fine), never in the objects; deletes and a new
 * range read keep the counts true.
 */
static void test_mirror_others(void **state)
{
	struct xlb_etcd_mirror *m = xlb_etcd_mirror_new("/apisix");
	struct xlb_etcd_watch_info wi;
	char why[256], ids[256], cnt[256], *msg;
	int err;

	assert_non_null(m);
	check_str(xlb_etcd_other_kind_name(0), "routes", "first kind");
	check_str(xlb_etcd_other_kind_name(XLB_ETCD_OTHER_KINDS - 1), "other", "last kind");
	check_int(xlb_etcd_other_kind_name(XLB_ETCD_OTHER_KINDS) == NULL, 1, "past the last");
	msg = range_answer(
		20, json_pack("[o,o,o,o,o,o,o,o,o,o]",
			      kv_json("/apisix/routes/1", "{\"uri\":\"/\"}", 3),
			      kv_json("/apisix/routes/2", "not json at all", 4),
			      kv_json("/apisix/services/1", "{}", 5),
			      kv_json("/apisix/plugins", "[{\"name\":\"limit-count\"}]", 6),
			      kv_json("/apisix/consumers/jack", "{}", 7),
			      kv_json("/apisix/consumers/jack/credentials/c1", "{}", 8),
			      kv_json("/apisix/stream_routes", "\"init_dir\"", 9),
			      kv_json("/apisix/data_plane/server_info/x", "{}", 10),
			      kv_json("/apisix/upstreams/u1", "{\"nodes\":[]}", 11),
			      kv_json("/apisix/stream_routes/s1", "{\"upstream_id\":\"u1\"}", 12)));
	err = xlb_etcd_mirror_load_range(m, msg, strlen(msg), why, sizeof(why));
	free(msg);
	check_int(err, 1, "range with other kinds: changed");
	mirror_ids(m, ids, sizeof(ids));
	check_str(ids, "u1|s1", "only upstreams and stream routes mirrored");
	check_int(xlb_etcd_mirror_bad(m, NULL, 0), 0, "other kinds' values are not bad values");
	others_str(m, cnt, sizeof(cnt));
	check_str(cnt, "routes:2,services:1,consumers:2,plugins:1,other:1", "counts by kind");

	msg = watch_msg(23, json_pack("[o,o,o]", ev_del("/apisix/routes/2", 21),
				      ev_put("/apisix/ssls/1", "{}", 22),
				      ev_put("/apisix/routes/1", "{\"uri\":\"/a\"}", 23)));
	err = xlb_etcd_mirror_apply_watch(m, msg, strlen(msg), &wi, why, sizeof(why));
	free(msg);
	check_int(err, 0, "other kinds' events change no object");
	check_int(xlb_etcd_mirror_rev(m), 23, "but move the revision");
	others_str(m, cnt, sizeof(cnt));
	check_str(cnt, "routes:1,services:1,consumers:2,ssls:1,plugins:1,other:1",
		  "a delete, a new kind, a changed key");

	msg = range_answer(
		30, json_pack("[o,o]", kv_json("/apisix/upstreams/u1", "{\"nodes\":[]}", 11),
			      kv_json("/apisix/stream_routes/s1", "{\"upstream_id\":\"u1\"}", 12)));
	err = xlb_etcd_mirror_load_range(m, msg, strlen(msg), why, sizeof(why));
	free(msg);
	check_int(err, 0, "a new range read: objects unchanged");
	others_str(m, cnt, sizeof(cnt));
	check_str(cnt, "", "a new range read recounts");
	xlb_etcd_mirror_free(m);
	check_done();
}

static void test_mirror_watch(void **state)
{
	struct xlb_etcd_mirror *m = xlb_etcd_mirror_new("/p");
	struct xlb_etcd_watch_info wi;
	char why[256], ids[256], bad[512], *msg;
	const char *s;
	int err;

	assert_non_null(m);
	msg = range_answer(5, json_pack("[o]", kv_json("/p/upstreams/a", "{}", 3)));
	assert_int_equal(xlb_etcd_mirror_load_range(m, msg, strlen(msg), why, sizeof(why)), 1);
	free(msg);

	s = "{\"result\":{\"header\":{\"revision\":\"9\"},\"created\":true}}";
	err = xlb_etcd_mirror_apply_watch(m, s, strlen(s), &wi, why, sizeof(why));
	check_int(err, 0, "created: nothing changed");
	check_int(wi.created, 1, "created");
	check_int(xlb_etcd_mirror_rev(m), 5, "created does not move the revision");

	msg = watch_msg(8, json_pack("[o,o,o,o]", ev_put("/p/upstreams/b", "{\"x\":1}", 6),
				     ev_put("/p/stream_routes/s", "{}", 7),
				     ev_put("/p/routes/1", "{}", 7), ev_del("/p/upstreams/a", 8)));
	err = xlb_etcd_mirror_apply_watch(m, msg, strlen(msg), &wi, why, sizeof(why));
	free(msg);
	check_int(err, 1, "events: changed");
	check_int(wi.events, 4, "event count");
	check_int(xlb_etcd_mirror_rev(m), 8, "revision of the last event");
	mirror_ids(m, ids, sizeof(ids));
	check_str(ids, "b|s", "after put, put, other kind, delete");

	/* Stale events (a restarted watch overlapping) are skipped. */
	msg = watch_msg(8, json_pack("[o]", ev_put("/p/upstreams/a", "{}", 3)));
	err = xlb_etcd_mirror_apply_watch(m, msg, strlen(msg), &wi, why, sizeof(why));
	free(msg);
	check_int(err, 0, "stale event: unchanged");
	mirror_ids(m, ids, sizeof(ids));
	check_str(ids, "b|s", "stale event skipped");

	/* A bad value: left out (new key), the old one kept (known key), named. */
	msg = watch_msg(10, json_pack("[o,o,o]", ev_put("/p/upstreams/c", "1", 9),
				      ev_put("/p/upstreams/b", "{oops", 10),
				      ev_put("/p/upstreams/bad id", "{}", 10)));
	err = xlb_etcd_mirror_apply_watch(m, msg, strlen(msg), &wi, why, sizeof(why));
	free(msg);
	check_int(err, 0, "bad values: objects unchanged");
	mirror_ids(m, ids, sizeof(ids));
	check_str(ids, "b|s", "bad values left out, b kept");
	check_int(xlb_etcd_mirror_bad(m, bad, sizeof(bad)), 3, "bad values");
	check_contains(bad, "/p/upstreams/c: value is not a JSON object", "bad text");
	check_contains(bad, "/p/upstreams/b: value is not JSON", "bad text");
	check_contains(bad, "/p/upstreams/bad id: id 'bad id' is not", "bad text");
	/* Deleting or fixing them clears them. */
	msg = watch_msg(12, json_pack("[o,o,o]", ev_del("/p/upstreams/c", 11),
				      ev_put("/p/upstreams/b", "{\"x\":2}", 12),
				      ev_del("/p/upstreams/bad id", 12)));
	err = xlb_etcd_mirror_apply_watch(m, msg, strlen(msg), &wi, why, sizeof(why));
	free(msg);
	check_int(err, 1, "fixed b: changed");
	check_int(xlb_etcd_mirror_bad(m, bad, sizeof(bad)), 0, "no bad values left (%s)", bad);

	/* A response with one malformed event applies none of them. */
	{
		json_t *evs = json_pack(
			"[o,o]", ev_put("/p/upstreams/d", "{}", 13),
			json_pack("{s:s, s:{s:s}}", "type", "PUT", "kv", "key", "not base64!"));

		msg = watch_msg(13, evs);
		err = xlb_etcd_mirror_apply_watch(m, msg, strlen(msg), &wi, why, sizeof(why));
		free(msg);
		check_int(err, -EBADMSG, "malformed event");
		mirror_ids(m, ids, sizeof(ids));
		check_str(ids, "b|s", "nothing of a malformed response applied");
		check_int(xlb_etcd_mirror_rev(m), 12, "revision kept");
	}

	/* Compaction and cancel: reported, nothing applied. */
	s = "{\"result\":{\"header\":{},\"canceled\":true,\"compact_revision\":\"20\"}}";
	err = xlb_etcd_mirror_apply_watch(m, s, strlen(s), &wi, why, sizeof(why));
	check_int(err, 0, "compaction: no change");
	check_int(wi.compact_revision, 20, "compact_revision");
	check_int(wi.canceled, 1, "canceled");
	s = "{\"result\":{\"header\":{\"revision\":\"30\"},\"canceled\":true,"
	    "\"cancel_reason\":\"permission denied\"}}";
	err = xlb_etcd_mirror_apply_watch(m, s, strlen(s), &wi, why, sizeof(why));
	check_int(err, 0, "cancel: no change");
	check_str(wi.reason, "permission denied", "cancel reason");
	check_int(xlb_etcd_mirror_rev(m), 12, "cancel keeps the revision");

	/* A progress notification moves the revision. */
	s = "{\"result\":{\"header\":{\"revision\":\"40\"}}}";
	err = xlb_etcd_mirror_apply_watch(m, s, strlen(s), &wi, why, sizeof(why));
	check_int(err, 0, "progress: no change");
	check_int(xlb_etcd_mirror_rev(m), 40, "progress revision");

	/* Garbage and etcd's errors. */
	{
		static const char *const garbage[] = {
			"",
			"x",
			"[]",
			"{\"result\":1}",
			"{\"result\":{\"events\":{}}}",
			"{\"result\":{\"events\":[1]}}",
			"{\"result\":{\"events\":[{\"type\":\"BOOM\",\"kv\":{\"key\":\"YQ==\"}}]}}",
			"{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"-"
			"1\"}}]}}",
			"{\"result\":{\"compact_revision\":\"x\"}}",
			"{\"error\":{\"grpc_code\":16,\"http_code\":401,\"message\":\"etcdserver: "
			"invalid auth token\"}}",
		};
		unsigned int i;

		for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
			why[0] = 0;
			err = xlb_etcd_mirror_apply_watch(m, garbage[i], strlen(garbage[i]), &wi,
							  why, sizeof(why));
			check_int(err < 0, 1, "garbage %u '%s' is an error", i, garbage[i]);
			check_int(why[0] != 0, 1, "garbage %u has a reason", i);
		}
		check_contains(why, "invalid auth token (code 16)", "etcd's error text");
		mirror_ids(m, ids, sizeof(ids));
		check_str(ids, "b|s", "garbage leaves the mirror");
	}
	xlb_etcd_mirror_free(m);
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),	     cmocka_unit_test(test_mirror_range),
		cmocka_unit_test(test_mirror_watch), cmocka_unit_test(test_mirror_others),
		cmocka_unit_test(test_mirror_keys),
	};

	return check_run_tests("etcd mirror", tests, NULL, NULL);
}
