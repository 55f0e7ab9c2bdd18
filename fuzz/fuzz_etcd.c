// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: etcd gateway answers into the etcd source's mirror
 * (user/lib/config/etcd.h). The first byte picks what the rest is:
 *   even: a /v3/kv/range answer, then (if it loaded) the same bytes split
 *         at newlines as a watch stream applied on top;
 *   odd:  a watch stream only (one response per line) on a mirror loaded
 *         from a fixed good range answer.
 * Whatever the bytes, the mirror stays consistent: an error leaves it and
 * its revision as they were, the revision never goes back, every object
 * handed out is a JSON object whose "id" is a valid id, and the bad-value
 * text is printable. Base64 decoding of the input is checked against a
 * round trip through the encoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "config/etcd.h"

/* /p/upstreams/1 = {"a":1}, /p/stream_routes/s = {} at revision 7. */
static const char good_range[] =
	"{\"header\":{\"revision\":\"7\"},\"kvs\":["
	"{\"key\":\"L3AvdXBzdHJlYW1zLzE=\",\"mod_revision\":\"5\",\"value\":\"eyJhIjoxfQ==\"},"
	"{\"key\":\"L3Avc3RyZWFtX3JvdXRlcy9z\",\"mod_revision\":\"6\",\"value\":\"e30=\"}]}";

static void check_mirror(const struct xlb_etcd_mirror *m)
{
	json_t *a[2], *v, *id;
	char bad[512];
	size_t i, j;
	const char *s;
	int k;

	if (xlb_etcd_mirror_arrays(m, &a[0], &a[1]))
		return; /* out of memory */
	for (k = 0; k < 2; k++) {
		json_array_foreach (a[k], i, v) {
			id = json_object_get(v, "id");
			if (!json_is_object(v) || !json_is_string(id))
				abort();
			s = json_string_value(id);
			if (!*s || strlen(s) > 64 ||
			    strspn(s, "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(s))
				abort();
		}
		json_decref(a[k]);
	}
	xlb_etcd_mirror_bad(m, bad, sizeof(bad));
	for (j = 0; bad[j]; j++)
		if ((unsigned char)bad[j] < 0x20 || (unsigned char)bad[j] >= 0x7f)
			abort();
}

static void watch_stream(struct xlb_etcd_mirror *m, const char *data, size_t size)
{
	struct xlb_etcd_watch_info wi;
	const char *p = data, *end = data + size, *nl;
	long long rev;
	char why[256];
	int err;

	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		rev = xlb_etcd_mirror_rev(m);
		err = xlb_etcd_mirror_apply_watch(m, p, nl - p, &wi, why, sizeof(why));
		if (xlb_etcd_mirror_rev(m) < rev)
			abort();
		if (err < 0 && (xlb_etcd_mirror_rev(m) != rev || !why[0]))
			abort();
		if (err > 1)
			abort();
		check_mirror(m);
		p = nl + 1;
	}
}

static void b64_round_trip(const char *data, size_t size)
{
	unsigned char *out = malloc(size / 4 * 3 + 1);
	char *enc;
	long n;

	if (!out)
		return;
	n = xlb_etcd_b64_decode(data, size, out);
	if (n >= 0) {
		if ((size_t)n > size / 4 * 3)
			abort();
		enc = xlb_etcd_b64_encode(out, n);
		/* Canonical input comes back as it was (non-zero spare bits aside). */
		if (enc && strlen(enc) != size)
			abort();
		free(enc);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlb_etcd_mirror *m;
	const char *body = (const char *)data + 1;
	char why[256];
	long long rev;
	int err;

	if (!size)
		return 0;
	m = xlb_etcd_mirror_new("/p");
	if (!m)
		return 0;
	if (!(data[0] & 1)) {
		rev = xlb_etcd_mirror_rev(m);
		err = xlb_etcd_mirror_load_range(m, body, size - 1, why, sizeof(why));
		if (err < 0 && (xlb_etcd_mirror_rev(m) != rev || !why[0]))
			abort();
		check_mirror(m);
		if (err >= 0)
			watch_stream(m, body, size - 1);
	} else {
		if (xlb_etcd_mirror_load_range(m, good_range, strlen(good_range), why,
					       sizeof(why)) != 1)
			abort();
		watch_stream(m, body, size - 1);
	}
	xlb_etcd_mirror_free(m);
	b64_round_trip(body, size - 1);
	return 0;
}
