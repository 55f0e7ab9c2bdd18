// SPDX-License-Identifier: GPL-2.0-only
/*
 * etcd as a configuration source (APISIX's layout) through the v3 JSON
 * gateway, on the caller's libevent loop with the asynchronous HTTP client.
 *
 * Protocol. All requests are POSTs of JSON; keys and values travel in
 * base64 and 64-bit numbers as JSON strings; fields equal to zero are left
 * out (a PUT event has no "type", an empty value no "value").
 *  1. With a user: /v3/auth/authenticate {name, password} -> token, sent as
 *     "Authorization: <token>" from then on; an answer saying the token is
 *     no longer valid clears it and authenticates again.
 *  2. /v3/kv/range over [<prefix>/stream_routes/, <prefix>/upstreams0): one
 *     read with one revision covers both kinds (the few other kinds that
 *     sort between them are ignored), header.revision is the mirror's.
 *  3. /v3/watch {create_request: {key, range_end, start_revision: rev+1}}:
 *     a stream of JSON objects, one per line: first {"created": true}, then
 *     events. A response with compact_revision (etcd already dropped the
 *     history we need: we were away too long) means a range read again.
 *
 * Revisions. The mirror's revision is the range read's header revision,
 * then the mod_revision of the last event applied (or the header revision
 * of a progress notification). The header of the "created" response is not
 * used: events from start_revision may still follow it. After a dropped
 * watch the next one starts at revision + 1 of what was applied, so no
 * event is lost or applied twice across a reconnect; a range read is only
 * needed after a compaction, or when etcd's revision is behind ours (its
 * data was lost or replaced: what it holds now is the truth).
 *
 * Failures. A host that cannot be reached, answers an HTTP error, garbage,
 * or closes the watch moves us to the next host after a backoff (1 s
 * doubling to 60 s, +-25 % jitter, reset once a watch is created). The
 * mirror is never cleared by a failure; the agent hears nothing until
 * something really changed. Errors are counted each time and logged when
 * the error text changes (and once when things work again).
 *
 * Bad values. A value that is not a JSON object, or a key whose id is not
 * a valid id, is left out and named in the error text; a key that had a
 * good value keeps it until a good value or a delete comes.
 *
 * Re-entrancy. Stream data arrives inside libcurl's write callback: we
 * only parse and apply there. The agent's callback runs from a deferred
 * event of our own, which also coalesces bursts of watch responses into
 * one update. State changes (a compaction, garbage) abort the transfer
 * from the write callback; the done callback, outside libcurl, moves on.
 *
 * Dead connections. A watch on a host that vanished without a FIN or RST
 * (a partition) stays silent; requests have a timeout and the watch relies
 * on the kernel noticing. Watches are re-created every WATCH_REFRESH
 * seconds from the current revision, which bounds how long a silent dead
 * watch can go unnoticed. A watch that is not "created" within the
 * request timeout (a host that accepts and never answers) is a failure.
 */
#define _GNU_SOURCE		/* asprintf */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <jansson.h>

#include "config/etcd.h"
#include "base/http.h"
#include "base/log.h"

#define BACKOFF_MIN	1.0
#define BACKOFF_MAX	60.0
#define JITTER		0.25
#define WATCH_REFRESH	300.0			/* seconds; see "Dead connections" */
#define RANGE_MAX	(256U << 20)		/* the largest range answer taken */
#define LINE_MAX_LEN	(64U << 20)		/* the largest watch response taken */
#define ID_MAX		(XLB_ID_LEN - 1)

static const char *const kinds[] = { "upstreams", "stream_routes" };

/* snprintf where cutting a long text short is intended. */
static void __attribute__((format(printf, 3, 4)))
cut(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* --- base64 ------------------------------------------------------------------ */

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long xlb_etcd_b64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t i, o = 0;
	int v[4], k, pad;

	if (len % 4)
		return -EINVAL;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)		/* data after '=' */
				return -EINVAL;
			v[k] = b64_val(in[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		out[o++] = v[0] << 2 | v[1] >> 4;
		if (pad < 2)
			out[o++] = (v[1] & 0xf) << 4 | v[2] >> 2;
		if (pad < 1)
			out[o++] = (v[2] & 0x3) << 6 | v[3];
	}
	return o;
}

char *xlb_etcd_b64_encode(const void *in, size_t len)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	unsigned int n;
	char *out;

	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < len; i += 3) {
		n = p[i] << 16;
		if (i + 1 < len)
			n |= p[i + 1] << 8;
		if (i + 2 < len)
			n |= p[i + 2];
		out[o++] = b64_chars[n >> 18 & 63];
		out[o++] = b64_chars[n >> 12 & 63];
		out[o++] = i + 1 < len ? b64_chars[n >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64_chars[n & 63] : '=';
	}
	out[o] = 0;
	return out;
}

/* --- the mirror (pure) -------------------------------------------------------- */

struct xlb_etcd_mirror {
	char prefix[128];		/* without a trailing '/' */
	json_t *good;			/* key -> object with "id" */
	json_t *bad;			/* key -> reason */
	long long rev;
	unsigned long bad_seen;		/* bad values met, for the error counter */
};

struct xlb_etcd_mirror *xlb_etcd_mirror_new(const char *prefix)
{
	struct xlb_etcd_mirror *m;
	size_t n;

	if (!prefix)
		prefix = "/apisix";
	n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (n >= sizeof(m->prefix)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	memcpy(m->prefix, prefix, n);
	m->good = json_object();
	m->bad = json_object();
	if (!m->good || !m->bad) {
		xlb_etcd_mirror_free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void xlb_etcd_mirror_free(struct xlb_etcd_mirror *m)
{
	if (!m)
		return;
	json_decref(m->good);
	json_decref(m->bad);
	free(m);
}

long long xlb_etcd_mirror_rev(const struct xlb_etcd_mirror *m)
{
	return m->rev;
}

/* A key or id made printable for error texts (keys are arbitrary bytes). */
static void printable(char *dst, size_t dlen, const char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < dlen; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			dst[o++] = c;
		else
			o += snprintf(dst + o, dlen - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < dlen)
		o += snprintf(dst + o, dlen - o, "...");
	dst[o < dlen ? o : dlen - 1] = 0;
}

/* A 64-bit number as the gateway writes it: a string, or a number. */
static int get_int(json_t *obj, const char *name, long long *v)
{
	json_t *j = json_object_get(obj, name);
	const char *s;
	char *end;

	*v = 0;
	if (!j)
		return 0;
	if (json_is_integer(j)) {
		*v = json_integer_value(j);
		return *v >= 0 ? 0 : -EINVAL;
	}
	if (!json_is_string(j))
		return -EINVAL;
	s = json_string_value(j);
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* etcd's own error answer: {"error": "...", "message": "...", "code": N}. */
static int etcd_error(json_t *root, char *why, size_t wlen)
{
	json_t *err = json_object_get(root, "error"), *msg, *code;
	const char *text = NULL;

	if (!err)
		return 0;
	msg = json_object_get(root, "message");
	if (json_is_string(msg))
		text = json_string_value(msg);
	else if (json_is_string(err))
		text = json_string_value(err);
	else if (json_is_object(err) && json_is_string(json_object_get(err, "message")))
		text = json_string_value(json_object_get(err, "message"));
	code = json_object_get(root, "code");
	if (json_is_object(err))
		code = json_object_get(err, "grpc_code");
	snprintf(why, wlen, "etcd error: %s (code %lld)", text ? text : "(no message)",
		 json_is_integer(code) ? (long long)json_integer_value(code) : -1LL);
	return -EPROTO;
}

/* The header revision; -EBADMSG when missing or bad and required. */
static int header_rev(json_t *root, long long *rev, int required, char *why, size_t wlen)
{
	json_t *h = json_object_get(root, "header");

	*rev = 0;
	if ((!h && !required) || (json_is_object(h) && !get_int(h, "revision", rev) &&
				  (*rev > 0 || !required)))
		return 0;
	snprintf(why, wlen, "answer without a valid header.revision");
	return -EBADMSG;
}

/*
 * The kind (0 upstreams, 1 stream_routes) of key, with the id; -1 for keys
 * we do not mirror (other kinds, the kind's own directory key, deeper
 * paths).
 */
static int key_kind(const struct xlb_etcd_mirror *m, const char *key, size_t len,
		    const char **id, size_t *idlen)
{
	size_t plen = strlen(m->prefix), klen;
	const char *rest;
	unsigned int k;

	if (len <= plen + 1 || memcmp(key, m->prefix, plen) || key[plen] != '/')
		return -1;
	rest = key + plen + 1;
	for (k = 0; k < 2; k++) {
		klen = strlen(kinds[k]);
		if ((size_t)(key + len - rest) > klen + 1 && !memcmp(rest, kinds[k], klen) &&
		    rest[klen] == '/') {
			*id = rest + klen + 1;
			*idlen = key + len - *id;
			return memchr(*id, '/', *idlen) ? -1 : (int)k;
		}
	}
	return -1;
}

static int id_valid(const char *id, size_t len)
{
	size_t i;

	if (!len || len > ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* One decoded key/value from a range answer or an event. */
struct kv {
	char *key;			/* NUL-terminated, printable-checked below */
	size_t klen;
	int kind;			/* -1: not ours */
	json_t *obj;			/* the good object, or NULL */
	char bad[160];			/* why the value is left out, or "" */
	int del;
	long long rev;
};

static void kv_clear(struct kv *kv)
{
	free(kv->key);
	json_decref(kv->obj);
	memset(kv, 0, sizeof(*kv));
}

static int b64_field(json_t *o, const char *name, int required, unsigned char **out, size_t *len)
{
	json_t *j = json_object_get(o, name);
	const char *s;
	long n;

	*out = NULL;
	*len = 0;
	if (!j && !required) {
		*out = calloc(1, 1);
		return *out ? 0 : -ENOMEM;
	}
	if (!json_is_string(j))
		return -EINVAL;
	s = json_string_value(j);
	*out = malloc(json_string_length(j) / 4 * 3 + 1);
	if (!*out)
		return -ENOMEM;
	n = xlb_etcd_b64_decode(s, json_string_length(j), *out);
	if (n < 0) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	(*out)[n] = 0;
	*len = n;
	return 0;
}

/*
 * Decode one etcd KeyValue ({"key", "value", "mod_revision"}) into kv. A
 * malformed KeyValue (not base64, no key) is the answer's fault: -EBADMSG.
 * A value that is not a good object is the key's problem: kv->bad.
 */
static int kv_decode(const struct xlb_etcd_mirror *m, json_t *j, int del, struct kv *kv,
		     char *why, size_t wlen)
{
	char pkey[96], pid[96];
	unsigned char *val;
	json_error_t jerr;
	const char *id;
	size_t vlen, idlen;
	json_t *obj;
	int err;

	memset(kv, 0, sizeof(*kv));
	kv->kind = -1;
	if (!json_is_object(j)) {
		snprintf(why, wlen, "kv is not an object");
		return -EBADMSG;
	}
	err = b64_field(j, "key", 1, (unsigned char **)&kv->key, &kv->klen);
	if (err == -ENOMEM)
		return err;
	if (err || !kv->klen) {
		snprintf(why, wlen, "kv without a base64 \"key\"");
		kv_clear(kv);
		return -EBADMSG;
	}
	if (get_int(j, "mod_revision", &kv->rev)) {
		printable(pkey, sizeof(pkey), kv->key, kv->klen);
		snprintf(why, wlen, "%s: bad mod_revision", pkey);
		kv_clear(kv);
		return -EBADMSG;
	}
	kv->del = del;
	kv->kind = key_kind(m, kv->key, kv->klen, &id, &idlen);
	if (kv->kind < 0)
		return 0;
	/* A key with a NUL inside cannot be a jansson key; it is no id either. */
	if (!id_valid(id, idlen)) {
		printable(pid, sizeof(pid), id, idlen);
		snprintf(kv->bad, sizeof(kv->bad), "id '%s' is not 1-%d letters, digits, "
			 "'.', '_' or '-'", pid, ID_MAX);
		kv->kind = -2;		/* reported, never stored */
		return 0;
	}
	if (del)
		return 0;
	err = b64_field(j, "value", 0, &val, &vlen);
	if (err == -ENOMEM) {
		kv_clear(kv);
		return err;
	}
	if (err) {
		printable(pkey, sizeof(pkey), kv->key, kv->klen);
		snprintf(why, wlen, "%s: value is not base64", pkey);
		kv_clear(kv);
		return -EBADMSG;
	}
	obj = json_loadb((const char *)val, vlen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	free(val);
	if (!obj) {
		cut(kv->bad, sizeof(kv->bad), "value is not JSON: %s (at %d:%d)", jerr.text,
			 jerr.line, jerr.column);
		return 0;
	}
	if (!json_is_object(obj)) {
		snprintf(kv->bad, sizeof(kv->bad), "value is not a JSON object");
		json_decref(obj);
		return 0;
	}
	if (json_object_set_new(obj, "id", json_stringn(id, idlen))) {
		json_decref(obj);
		kv_clear(kv);
		return -ENOMEM;
	}
	kv->obj = obj;
	return 0;
}

/* Reasons quote the value's bytes (jansson's error text): print them. */
static void set_bad(json_t *bad, const char *bkey, const char *reason)
{
	char r[sizeof(((struct kv *)0)->bad) * 2];

	printable(r, sizeof(r), reason, strlen(reason));
	json_object_set_new(bad, bkey, json_string(r));
}

/*
 * Apply a decoded kv to (good, bad); prev_good is where a key's earlier
 * good value is looked up when the new one is bad. 1 when good changed.
 */
static int kv_apply(json_t *good, json_t *bad, json_t *prev_good, struct kv *kv)
{
	json_t *old, *keep;
	char bkey[512];
	int changed = 0;

	if (kv->kind == -1)
		return 0;
	/* Bad keys may hold any bytes: they are stored as printed. */
	printable(bkey, sizeof(bkey), kv->key, kv->klen);
	if (kv->kind < 0) {
		if (kv->del)
			json_object_del(bad, bkey);
		else
			set_bad(bad, bkey, kv->bad);
		return 0;
	}
	old = json_object_get(good, kv->key);
	if (kv->del) {
		changed = old != NULL;
		json_object_del(good, kv->key);
		json_object_del(bad, bkey);
		return changed;
	}
	if (kv->bad[0]) {
		set_bad(bad, bkey, kv->bad);
		keep = json_object_get(prev_good, kv->key);
		if (keep && good != prev_good)
			json_object_set(good, kv->key, keep);
		return 0;
	}
	json_object_del(bad, bkey);
	changed = !old || !json_equal(old, kv->obj);
	json_object_set(good, kv->key, kv->obj);
	return changed;
}

/* jansson wants UTF-8 keys; our keys are checked to be printable ASCII. */
static int kv_storable(const struct kv *kv)
{
	return kv->kind == -1 || strlen(kv->key) == kv->klen;
}

/*
 * One answer of the gateway (what: "range answer", "watch response"): a
 * JSON object that is not etcd's own error. NULL with *err and why set.
 */
static json_t *answer_load(const char *what, const char *body, size_t len, int *err,
			   char *why, size_t wlen)
{
	json_error_t jerr;
	json_t *root;

	*err = -EBADMSG;
	root = json_loadb(body, len, 0, &jerr);
	if (!root) {
		snprintf(why, wlen, "%s is not JSON: %s", what, jerr.text);
		return NULL;
	}
	if (!json_is_object(root))
		snprintf(why, wlen, "%s is not a JSON object", what);
	else
		*err = etcd_error(root, why, wlen);
	if (!*err)
		return root;
	json_decref(root);
	return NULL;
}

int xlb_etcd_mirror_load_range(struct xlb_etcd_mirror *m, const char *body, size_t len,
			       char *why, size_t wlen)
{
	json_t *root, *kvs, *good = NULL, *bad = NULL, *j, *more;
	unsigned long nbad = 0;
	struct kv kv;
	long long rev;
	size_t i;
	int err;

	root = answer_load("range answer", body, len, &err, why, wlen);
	if (!root)
		return err;
	err = header_rev(root, &rev, 1, why, wlen);
	if (err)
		goto out;
	err = -EBADMSG;
	more = json_object_get(root, "more");
	if (json_is_true(more)) {
		snprintf(why, wlen, "range answer is incomplete (\"more\": true)");
		goto out;
	}
	kvs = json_object_get(root, "kvs");
	if (kvs && !json_is_array(kvs)) {
		snprintf(why, wlen, "range answer: \"kvs\" is not an array");
		goto out;
	}
	good = json_object();
	bad = json_object();
	if (!good || !bad) {
		err = -ENOMEM;
		snprintf(why, wlen, "out of memory");
		goto out;
	}
	json_array_foreach(kvs, i, j) {
		err = kv_decode(m, j, 0, &kv, why, wlen);
		if (err)
			goto out;
		if (kv.kind >= 0 && !kv_storable(&kv)) {
			kv_clear(&kv);
			continue;
		}
		nbad += kv.bad[0] != 0;
		kv_apply(good, bad, m->good, &kv);
		kv_clear(&kv);
	}
	m->bad_seen += nbad;
	err = !json_equal(good, m->good);
	json_decref(m->good);
	json_decref(m->bad);
	m->good = good;
	m->bad = bad;
	good = bad = NULL;
	m->rev = rev;
out:
	json_decref(good);
	json_decref(bad);
	json_decref(root);
	return err;
}

int xlb_etcd_mirror_apply_watch(struct xlb_etcd_mirror *m, const char *msg, size_t len,
				struct xlb_etcd_watch_info *info, char *why, size_t wlen)
{
	json_t *root, *res, *evs, *j, *t;
	struct kv *kv = NULL;
	size_t i, n = 0;
	long long base;
	int err, changed = 0;

	memset(info, 0, sizeof(*info));
	root = answer_load("watch response", msg, len, &err, why, wlen);
	if (!root)
		return err;
	err = -EBADMSG;
	res = json_object_get(root, "result");
	if (!json_is_object(res)) {
		snprintf(why, wlen, "watch response without a \"result\" object");
		goto out;
	}
	err = header_rev(res, &info->revision, 0, why, wlen);
	if (err)
		goto out;
	err = -EBADMSG;
	info->created = json_is_true(json_object_get(res, "created"));
	info->canceled = json_is_true(json_object_get(res, "canceled"));
	if (get_int(res, "compact_revision", &info->compact_revision)) {
		snprintf(why, wlen, "watch response: bad compact_revision");
		goto out;
	}
	t = json_object_get(res, "cancel_reason");
	if (json_is_string(t))
		snprintf(info->reason, sizeof(info->reason), "%s", json_string_value(t));
	evs = json_object_get(res, "events");
	if (evs && !json_is_array(evs)) {
		snprintf(why, wlen, "watch response: \"events\" is not an array");
		goto out;
	}
	info->events = json_array_size(evs);
	if (info->compact_revision > 0 || info->canceled) {
		err = 0;
		goto out;
	}
	/* Decode everything first: a bad event applies none of them. */
	kv = calloc(info->events ? info->events : 1, sizeof(*kv));
	if (!kv) {
		err = -ENOMEM;
		snprintf(why, wlen, "out of memory");
		goto out;
	}
	json_array_foreach(evs, i, j) {
		int del = 0;

		t = json_is_object(j) ? json_object_get(j, "type") : NULL;
		if (!json_is_object(j) || (t && !json_is_string(t))) {
			snprintf(why, wlen, "watch event %zu is not an event", i);
			goto out;
		}
		if (t && !strcmp(json_string_value(t), "DELETE"))
			del = 1;
		else if (t && strcmp(json_string_value(t), "PUT")) {
			snprintf(why, wlen, "watch event %zu: unknown type", i);
			goto out;
		}
		err = kv_decode(m, json_object_get(j, "kv"), del, &kv[n], why, wlen);
		if (err)
			goto out;
		n++;
		err = -EBADMSG;
	}
	/* One transaction's events share a revision: compare with the old one. */
	base = m->rev;
	for (i = 0; i < n; i++) {
		if (kv[i].rev && kv[i].rev <= base)
			continue;	/* already applied (a watch restarted early) */
		if (kv[i].kind >= 0 && !kv_storable(&kv[i]))
			continue;
		m->bad_seen += kv[i].bad[0] != 0;
		changed |= kv_apply(m->good, m->bad, m->good, &kv[i]);
		if (kv[i].rev > m->rev)
			m->rev = kv[i].rev;
	}
	/* A progress notification: everything up to its revision was sent. */
	if (!info->events && !info->created && info->revision > m->rev)
		m->rev = info->revision;
	err = changed;
out:
	for (i = 0; i < n; i++)
		kv_clear(&kv[i]);
	free(kv);
	json_decref(root);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int xlb_etcd_mirror_arrays(const struct xlb_etcd_mirror *m, json_t **upstreams,
			   json_t **stream_routes)
{
	size_t n = json_object_size(m->good), i = 0, idlen;
	json_t *arr[2], *v;
	const char **keys, *key, *id;
	int k;

	*upstreams = *stream_routes = NULL;
	keys = calloc(n ? n : 1, sizeof(*keys));
	arr[0] = json_array();
	arr[1] = json_array();
	if (!keys || !arr[0] || !arr[1])
		goto out_nomem;
	json_object_foreach(m->good, key, v)
		keys[i++] = key;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++) {
		k = key_kind(m, keys[i], strlen(keys[i]), &id, &idlen);
		if (k < 0)
			continue;
		if (json_array_append(arr[k], json_object_get(m->good, keys[i])))
			goto out_nomem;
	}
	free(keys);
	*upstreams = arr[0];
	*stream_routes = arr[1];
	return 0;

out_nomem:
	free(keys);
	json_decref(arr[0]);
	json_decref(arr[1]);
	return -ENOMEM;
}

unsigned int xlb_etcd_mirror_bad(const struct xlb_etcd_mirror *m, char *buf, size_t len)
{
	size_t n = json_object_size(m->bad), i = 0, o = 0;
	const char **keys, *key;
	json_t *v;

	if (len)
		buf[0] = 0;
	if (!n)
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (!keys) {
		snprintf(buf, len, "%zu bad values", n);
		return n;
	}
	json_object_foreach(m->bad, key, v)
		keys[i++] = key;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n && o < len; i++) {
		o += snprintf(buf + o, len - o, "%s%s: %s", i ? "; " : "", keys[i],
			      json_string_value(json_object_get(m->bad, keys[i])));
	}
	free(keys);
	return n;
}

/* --- the client --------------------------------------------------------------- */

enum etcd_state {
	ST_IDLE,			/* waiting for the retry timer */
	ST_AUTH,
	ST_RANGE,
	ST_WATCH,
};

struct etcd_put {
	LIST_ENTRY(etcd_put) link;
	struct xlb_etcd *e;
	char what[sizeof(((struct xlb_etcd_mirror *)0)->prefix) + 32 + XLB_ID_LEN];
	struct xlb_http_req *req;
	xlb_etcd_done_fn done;
	void *arg;
};

struct xlb_etcd {
	struct event_base *base;
	struct xlb_etcd_conf conf;
	xlb_etcd_update_fn cb;
	void *arg;
	struct xlb_http *http;
	struct xlb_etcd_mirror *m;

	enum etcd_state state;
	struct xlb_http_req *req;	/* auth, range or watch in flight */
	unsigned int host;		/* index into conf.hosts */
	unsigned int fails;		/* since the last good watch; backoff */
	unsigned int rand;
	int need_range;			/* the next connect reads the whole range */
	int watch_created;		/* the current watch said "created" */
	int ever_watched;		/* for the reconnect counter */
	int have_state;			/* a range read succeeded once */
	int notify;			/* the mirror changed since the last callback */
	int first_notify;		/* the first read is always delivered */
	int abort_compacted;		/* the watch was stopped for a resync */
	char abort_why[256];		/* why the watch was stopped from on_data */
	char token[512];		/* auth token, "" when none */

	char *line;			/* a watch response not yet complete */
	size_t len, cap;

	struct event *retry;		/* backoff timer, also the watch refresh */
	struct event *kick;		/* deferred callback to the agent */
	LIST_HEAD(, etcd_put) puts;

	char error[256];		/* transport or answer error, "" when none */
	char logged[256];		/* the last error text logged */
	unsigned long requests, updates, errors, resyncs, reconnects;
	unsigned long bad_counted;	/* m->bad_seen already in errors */
};

static void etcd_connect(struct xlb_etcd *e);

static const char *cur_host(const struct xlb_etcd *e)
{
	return e->conf.hosts[e->host];
}

static double request_timeout(const struct xlb_etcd *e)
{
	return e->conf.timeout > 0 ? e->conf.timeout : 30;
}

static double backoff(struct xlb_etcd *e)
{
	unsigned int k = e->fails ? e->fails - 1 : 0;
	double base = BACKOFF_MIN * (double)(1U << (k > 10 ? 10 : k)), r;

	if (base > BACKOFF_MAX)
		base = BACKOFF_MAX;
	r = (double)rand_r(&e->rand) / RAND_MAX;
	return base * (1.0 - JITTER + 2.0 * JITTER * r);
}

static void arm(struct event *ev, double secs)
{
	struct timeval tv = {
		.tv_sec = (time_t)secs,
		.tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6),
	};

	evtimer_add(ev, &tv);
}

/* The error shown in status and logged: ours, else the bad values. */
static void current_error(const struct xlb_etcd *e, char *buf, size_t len)
{
	char bad[sizeof(e->error)];

	if (e->error[0]) {
		snprintf(buf, len, "%s", e->error);
		return;
	}
	if (xlb_etcd_mirror_bad(e->m, bad, sizeof(bad)))
		cut(buf, len, "etcd %s: values left out: %s", e->m->prefix, bad);
	else if (len)
		buf[0] = 0;
}

/* Log when the error text changes, and once when it clears. */
static void log_error_change(struct xlb_etcd *e)
{
	char now[sizeof(e->logged)];

	current_error(e, now, sizeof(now));
	if (!strcmp(now, e->logged))
		return;
	if (now[0])
		pr_warn("%s\n", now);
	else
		pr_info("etcd %s: working again (revision %lld)\n", cur_host(e), e->m->rev);
	snprintf(e->logged, sizeof(e->logged), "%s", now);
}

/*
 * curl's texts carry timings ("Failed to connect to ... after 3 ms"):
 * dropped, so that the same failure is logged once, not on every retry.
 */
static void drop_timing(char *s)
{
	char *p = s, *q;

	while ((p = strstr(p, " after "))) {
		q = p + 7;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q > p + 7 && !strncmp(q, " ms", 3)) {
			memmove(p, q + 3, strlen(q + 3) + 1);
			continue;
		}
		p += 7;
	}
}

/* A request or answer failed: keep the mirror, next host, retry later. */
static void etcd_fail(struct xlb_etcd *e, const char *what, const char *why)
{
	double wait;

	e->errors++;
	cut(e->error, sizeof(e->error), "etcd %s: %s: %s", cur_host(e), what, why);
	drop_timing(e->error);
	log_error_change(e);
	e->req = NULL;
	e->state = ST_IDLE;
	e->watch_created = 0;
	e->len = 0;
	e->fails++;
	if (e->conf.nhosts > 1)
		e->host = (e->host + 1) % e->conf.nhosts;
	wait = backoff(e);
	pr_debug("etcd: retrying in %.1f s with %s\n", wait, cur_host(e));
	evtimer_del(e->retry);
	arm(e->retry, wait);
}

/* Headers for a request: content type and the token. */
static void req_headers(const struct xlb_etcd *e, char *auth, size_t len, const char *hdrs[3])
{
	unsigned int i = 0;

	hdrs[i++] = "Content-Type: application/json";
	if (e->token[0]) {
		snprintf(auth, len, "Authorization: %s", e->token);
		hdrs[i++] = auth;
	}
	hdrs[i] = NULL;
}

static struct xlb_http_req *etcd_post(struct xlb_etcd *e, const char *path, const char *body,
				      xlb_http_data_fn on_data, xlb_http_done_fn on_done,
				      void *arg, double timeout, size_t max_body)
{
	char url[XLB_URL_LEN + 64], auth[sizeof(e->token) + 32];
	const char *hdrs[3];
	struct xlb_http_opts o = {
		.method = "POST",
		.url = url,
		.headers = hdrs,
		.body = body,
		.connect_timeout = request_timeout(e) < 5 ? request_timeout(e) : 5,
		.timeout = timeout,
		.max_body = max_body,
		.on_data = on_data,
		.on_done = on_done,
		.arg = arg,
	};

	snprintf(url, sizeof(url), "%s%s", cur_host(e), path);
	req_headers(e, auth, sizeof(auth), hdrs);
	e->requests++;
	return xlb_http_start(e->http, &o);
}

/* "etcd error: ..." from an answer body, or the HTTP status. */
static void answer_error(const struct xlb_http_resp *resp, char *why, size_t len)
{
	json_t *root;

	root = json_loadb(resp->body, resp->len, 0, NULL);
	if (!json_is_object(root) || !etcd_error(root, why, len))
		snprintf(why, len, "HTTP %ld", resp->status);
	json_decref(root);
}

/* etcd says the token is unknown or expired (or auth got enabled). */
static int auth_invalid(const char *why)
{
	return strstr(why, "invalid auth token") || strstr(why, "user name is empty") ||
	       strstr(why, "(code 16)");
}

/* A request failed; a rejected token is cleared so the retry gets a new one. */
static void request_failed(struct xlb_etcd *e, const char *what, const char *why)
{
	if (auth_invalid(why))
		e->token[0] = 0;
	etcd_fail(e, what, why);
}

/* --- deferred delivery ---------------------------------------------------------- */

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_etcd *e = arg;
	json_t *ups, *routes;

	e->errors += e->m->bad_seen - e->bad_counted;
	e->bad_counted = e->m->bad_seen;
	log_error_change(e);
	if (!e->notify)
		return;
	e->notify = 0;
	if (xlb_etcd_mirror_arrays(e->m, &ups, &routes)) {
		pr_warn("etcd: out of memory building the update\n");
		e->notify = 1;
		return;
	}
	e->updates++;
	e->cb(ups, routes, e->m->rev, e->arg);
	json_decref(ups);
	json_decref(routes);
}

static void changed(struct xlb_etcd *e)
{
	e->notify = 1;
	event_active(e->kick, 0, 0);
}

/* --- watch ------------------------------------------------------------------------ */

/* One complete watch response; nonzero stops the stream (reason in abort_why). */
static int watch_line(struct xlb_etcd *e, const char *msg, size_t len)
{
	struct xlb_etcd_watch_info info;
	char why[256];
	int err;

	err = xlb_etcd_mirror_apply_watch(e->m, msg, len, &info, why, sizeof(why));
	if (err < 0) {
		snprintf(e->abort_why, sizeof(e->abort_why), "%s", why);
		return 1;
	}
	if (info.compact_revision > 0) {
		/* etcd no longer has the events after our revision: read again. */
		pr_info("etcd %s: revision %lld compacted (at %lld), reading everything again\n",
			cur_host(e), e->m->rev + 1, info.compact_revision);
		e->abort_compacted = 1;
		return 1;
	}
	if (info.canceled) {
		snprintf(e->abort_why, sizeof(e->abort_why), "watch cancelled by etcd%s%s",
			 info.reason[0] ? ": " : "", info.reason);
		return 1;
	}
	if (info.created && info.revision > 0 && info.revision < e->m->rev) {
		/* Not the history we followed: etcd lost its data, or another cluster. */
		pr_warn("etcd %s: revision %lld is behind ours (%lld): reading everything again\n",
			cur_host(e), info.revision, e->m->rev);
		e->abort_compacted = 1;
		return 1;
	}
	if (info.created && !e->watch_created) {
		e->watch_created = 1;
		evtimer_del(e->retry);
		arm(e->retry, WATCH_REFRESH);
		e->fails = 0;
		if (e->ever_watched)
			e->reconnects++;
		e->ever_watched = 1;
		if (e->error[0]) {
			e->error[0] = 0;
			event_active(e->kick, 0, 0);	/* logs "working again" */
		}
	}
	if (err > 0)
		changed(e);
	else if (info.events)
		event_active(e->kick, 0, 0);	/* a bad value is logged from there */
	return 0;
}

static int watch_data(struct xlb_http_req *r, const char *data, size_t len, void *arg)
{
	struct xlb_etcd *e = arg;
	size_t start = 0, i, need;
	char *p;

	/* Most responses come whole in one piece: parse them in place. */
	for (i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (e->len) {
			need = e->len + (i - start);
			if (need > e->cap) {
				p = realloc(e->line, need);
				if (!p)
					goto out_nomem;
				e->line = p;
				e->cap = need;
			}
			memcpy(e->line + e->len, data + start, i - start);
			if (watch_line(e, e->line, need))
				return 1;
			e->len = 0;
		} else if (i > start && watch_line(e, data + start, i - start)) {
			return 1;
		}
		start = i + 1;
	}
	if (start < len) {
		need = e->len + (len - start);
		if (need > LINE_MAX_LEN) {
			snprintf(e->abort_why, sizeof(e->abort_why),
				 "watch response larger than %u bytes", LINE_MAX_LEN);
			return 1;
		}
		if (need > e->cap) {
			p = realloc(e->line, need);
			if (!p)
				goto out_nomem;
			e->line = p;
			e->cap = need;
		}
		memcpy(e->line + e->len, data + start, len - start);
		e->len = need;
	}
	return 0;

out_nomem:
	snprintf(e->abort_why, sizeof(e->abort_why), "out of memory");
	return 1;
}

static void watch_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct xlb_etcd *e = arg;
	char why[256];

	e->req = NULL;
	/* A last response without its newline (an error closing the stream). */
	if (e->len && !e->abort_compacted && !e->abort_why[0])
		watch_line(e, e->line, e->len);
	e->len = 0;
	if (e->abort_compacted) {
		e->abort_compacted = 0;
		e->need_range = 1;
		e->resyncs++;
		e->watch_created = 0;
		etcd_connect(e);
		return;
	}
	if (e->abort_why[0]) {
		snprintf(why, sizeof(why), "%s", e->abort_why);
		e->abort_why[0] = 0;
		request_failed(e, "watch", why);
		return;
	}
	if (resp->error) {
		etcd_fail(e, "watch", resp->error);
		return;
	}
	if (resp->status != 200) {
		answer_error(resp, why, sizeof(why));
		request_failed(e, "watch", why);
		return;
	}
	etcd_fail(e, "watch", "closed by etcd");
}

/* The [from, to) range of the two kinds, base64. */
static int range_keys(const struct xlb_etcd *e, char **from, char **to)
{
	char k[sizeof(e->m->prefix) + 32];

	snprintf(k, sizeof(k), "%s/stream_routes/", e->m->prefix);
	*from = xlb_etcd_b64_encode(k, strlen(k));
	snprintf(k, sizeof(k), "%s/upstreams0", e->m->prefix);	/* '0' follows '/' */
	*to = xlb_etcd_b64_encode(k, strlen(k));
	if (*from && *to)
		return 0;
	free(*from);
	free(*to);
	return -ENOMEM;
}

static void start_watch(struct xlb_etcd *e)
{
	char *from, *to, *body;

	if (range_keys(e, &from, &to))
		goto out_nomem;
	/*
	 * progress_notify: etcd sends the current revision now and then when
	 * nothing of ours changes, so that a reconnect after a quiet spell
	 * does not ask for history that was compacted meanwhile.
	 */
	if (asprintf(&body, "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
		     "\"start_revision\":\"%lld\",\"progress_notify\":true}}", from, to,
		     e->m->rev + 1) < 0)
		body = NULL;
	free(from);
	free(to);
	if (!body)
		goto out_nomem;
	e->state = ST_WATCH;
	e->watch_created = 0;
	e->abort_why[0] = 0;
	e->abort_compacted = 0;
	e->len = 0;
	e->req = etcd_post(e, "/v3/watch", body, watch_data, watch_done, e, 0, 0);
	free(body);
	if (!e->req)
		etcd_fail(e, "watch", strerror(errno));
	else
		arm(e->retry, request_timeout(e));	/* until "created" */
	return;

out_nomem:
	etcd_fail(e, "watch", strerror(ENOMEM));
}

/* --- range ------------------------------------------------------------------------ */

static void range_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct xlb_etcd *e = arg;
	char why[256];
	int err;

	e->req = NULL;
	if (resp->error) {
		etcd_fail(e, "range", resp->error);
		return;
	}
	if (resp->status != 200) {
		answer_error(resp, why, sizeof(why));
		request_failed(e, "range", why);
		return;
	}
	err = xlb_etcd_mirror_load_range(e->m, resp->body, resp->len, why, sizeof(why));
	if (err < 0) {
		request_failed(e, "range", why);
		return;
	}
	e->need_range = 0;
	if (err > 0 || !e->have_state)
		changed(e);
	else
		event_active(e->kick, 0, 0);	/* bad values are logged from there */
	e->have_state = 1;
	if (e->error[0]) {
		e->error[0] = 0;
		event_active(e->kick, 0, 0);
	}
	start_watch(e);
}

static void start_range(struct xlb_etcd *e)
{
	char *from, *to, *body;

	if (range_keys(e, &from, &to))
		goto out_nomem;
	if (asprintf(&body, "{\"key\":\"%s\",\"range_end\":\"%s\"}", from, to) < 0)
		body = NULL;
	free(from);
	free(to);
	if (!body)
		goto out_nomem;
	e->state = ST_RANGE;
	e->req = etcd_post(e, "/v3/kv/range", body, NULL, range_done, e, request_timeout(e),
			   RANGE_MAX);
	free(body);
	if (!e->req)
		etcd_fail(e, "range", strerror(errno));
	return;

out_nomem:
	etcd_fail(e, "range", strerror(ENOMEM));
}

/* --- auth --------------------------------------------------------------------------- */

static void auth_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct xlb_etcd *e = arg;
	json_t *root, *tok;
	char why[256];

	e->req = NULL;
	if (resp->error) {
		etcd_fail(e, "authenticate", resp->error);
		return;
	}
	if (resp->status != 200) {
		answer_error(resp, why, sizeof(why));
		etcd_fail(e, "authenticate", why);
		return;
	}
	root = json_loadb(resp->body, resp->len, 0, NULL);
	tok = json_object_get(root, "token");
	if (!json_is_string(tok) || !json_string_length(tok) ||
	    json_string_length(tok) >= sizeof(e->token) ||
	    strpbrk(json_string_value(tok), "\r\n")) {
		json_decref(root);
		etcd_fail(e, "authenticate", "answer without a usable token");
		return;
	}
	snprintf(e->token, sizeof(e->token), "%s", json_string_value(tok));
	json_decref(root);
	etcd_connect(e);
}

static void start_auth(struct xlb_etcd *e)
{
	json_t *req;
	char *body;

	req = json_pack("{s:s, s:s}", "name", e->conf.user, "password", e->conf.password);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		etcd_fail(e, "authenticate", strerror(ENOMEM));
		return;
	}
	e->state = ST_AUTH;
	e->token[0] = 0;
	e->req = etcd_post(e, "/v3/auth/authenticate", body, NULL, auth_done, e,
			   request_timeout(e), 0);
	free(body);
	if (!e->req)
		etcd_fail(e, "authenticate", strerror(errno));
}

/* The next step: authenticate, read everything, or watch from rev + 1. */
static void etcd_connect(struct xlb_etcd *e)
{
	evtimer_del(e->retry);
	if (e->conf.user[0] && !e->token[0])
		start_auth(e);
	else if (e->need_range)
		start_range(e);
	else
		start_watch(e);
}

/* Backoff over, or a watch to refresh. */
static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_etcd *e = arg;

	if (e->state == ST_WATCH && e->req && !e->watch_created) {
		char why[64];

		xlb_http_cancel(e->req);
		snprintf(why, sizeof(why), "no answer within %.0f s", request_timeout(e));
		etcd_fail(e, "watch", why);
		return;
	}
	if (e->state == ST_WATCH && e->req) {
		/* Refresh: same revision, fresh connection; not a reconnect. */
		xlb_http_cancel(e->req);
		e->req = NULL;
		e->ever_watched = 0;
	}
	etcd_connect(e);
}

struct xlb_etcd *xlb_etcd_new(struct event_base *base, const struct xlb_etcd_conf *conf,
			      xlb_etcd_update_fn cb, void *arg)
{
	struct xlb_etcd *e;

	if (!base || !conf || !conf->nhosts || !cb) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->base = base;
	e->conf = *conf;
	e->cb = cb;
	e->arg = arg;
	e->rand = (unsigned int)time(NULL) ^ (unsigned int)getpid() ^ (unsigned int)(size_t)e;
	e->need_range = 1;
	LIST_INIT(&e->puts);
	e->m = xlb_etcd_mirror_new(conf->prefix[0] ? conf->prefix : "/apisix");
	e->http = xlb_http_new(base);
	e->retry = evtimer_new(base, on_retry, e);
	e->kick = event_new(base, -1, 0, on_kick, e);
	if (!e->m || !e->http || !e->retry || !e->kick) {
		xlb_etcd_free(e);
		errno = ENOMEM;
		return NULL;
	}
	etcd_connect(e);
	return e;
}

void xlb_etcd_free(struct xlb_etcd *e)
{
	struct etcd_put *p;

	if (!e)
		return;
	while ((p = LIST_FIRST(&e->puts))) {
		LIST_REMOVE(p, link);
		free(p);
	}
	xlb_http_free(e->http);		/* cancels everything, no callbacks */
	if (e->retry)
		event_free(e->retry);
	if (e->kick)
		event_free(e->kick);
	xlb_etcd_mirror_free(e->m);
	free(e->line);
	free(e);
}

void xlb_etcd_status(const struct xlb_etcd *e, struct xlb_etcd_status *st)
{
	memset(st, 0, sizeof(*st));
	st->connected = e->state == ST_WATCH && e->watch_created;
	st->have_state = e->have_state;
	st->revision = e->m->rev;
	st->requests = e->requests;
	st->updates = e->updates;
	st->errors = e->errors;
	st->resyncs = e->resyncs;
	st->reconnects = e->reconnects;
	st->bad_values = xlb_etcd_mirror_bad(e->m, NULL, 0);
	current_error(e, st->error, sizeof(st->error));
	snprintf(st->host, sizeof(st->host), "%s", cur_host(e));
}

/* --- writes ------------------------------------------------------------------------- */

static void put_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct etcd_put *p = arg;
	struct xlb_etcd *e = p->e;
	char why[256], text[256];
	json_t *root;
	int err = 0;

	why[0] = 0;
	if (resp->error) {
		cut(why, sizeof(why), "etcd %s: %s: %s", cur_host(e), p->what, resp->error);
		err = -EIO;
	} else if (resp->status != 200) {
		answer_error(resp, text, sizeof(text));
		if (auth_invalid(text))
			e->token[0] = 0;
		cut(why, sizeof(why), "etcd %s: %s: %s", cur_host(e), p->what, text);
		err = -EIO;
	} else {
		root = json_loadb(resp->body, resp->len, 0, NULL);
		if (!json_is_object(root) || !json_is_object(json_object_get(root, "header"))) {
			cut(why, sizeof(why), "etcd %s: %s: unexpected answer", cur_host(e),
			    p->what);
			err = -EIO;
		}
		json_decref(root);
	}
	LIST_REMOVE(p, link);
	if (err)
		pr_warn("%s\n", why);
	if (p->done)
		p->done(err, why, p->arg);
	free(p);
}

int xlb_etcd_put(struct xlb_etcd *e, const char *kind, const char *id, json_t *obj,
		 xlb_etcd_done_fn done, void *arg)
{
	char key[sizeof(e->m->prefix) + 32 + XLB_ID_LEN], *k64 = NULL, *v64 = NULL, *val = NULL;
	char *body = NULL;
	struct etcd_put *p;
	json_t *copy;
	int err = -ENOMEM;

	if (!kind || (strcmp(kind, kinds[0]) && strcmp(kind, kinds[1])) || !id ||
	    !id_valid(id, strlen(id)) || (obj && !json_is_object(obj)))
		return -EINVAL;
	snprintf(key, sizeof(key), "%s/%s/%s", e->m->prefix, kind, id);
	p = calloc(1, sizeof(*p));
	k64 = xlb_etcd_b64_encode(key, strlen(key));
	if (!p || !k64)
		goto out;
	if (obj) {
		copy = json_deep_copy(obj);
		if (!copy || json_object_set_new(copy, "id", json_string(id))) {
			json_decref(copy);
			goto out;
		}
		val = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(copy);
		v64 = val ? xlb_etcd_b64_encode(val, strlen(val)) : NULL;
		if (!v64 || asprintf(&body, "{\"key\":\"%s\",\"value\":\"%s\"}", k64, v64) < 0)
			body = NULL;
	} else if (asprintf(&body, "{\"key\":\"%s\"}", k64) < 0) {
		body = NULL;
	}
	if (!body)
		goto out;
	p->e = e;
	cut(p->what, sizeof(p->what), "%s %s", obj ? "put" : "delete", key);
	p->done = done;
	p->arg = arg;
	p->req = etcd_post(e, obj ? "/v3/kv/put" : "/v3/kv/deleterange", body, NULL, put_done,
			   p, request_timeout(e), 0);
	if (!p->req) {
		err = -errno;
		goto out;
	}
	LIST_INSERT_HEAD(&e->puts, p, link);
	p = NULL;
	err = 0;
out:
	free(p);
	free(k64);
	free(val);
	free(v64);
	free(body);
	return err;
}
