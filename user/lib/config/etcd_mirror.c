// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pure half of etcd as a configuration source: base64 as the v3 JSON
 * gateway writes keys and values, and the mirror of APISIX's keys under a
 * prefix that range answers and watch responses update. No network, no
 * loop: the client (etcd.c) feeds it answers, and the unit tests and the
 * fuzz target call it directly.
 *
 * Keys. <prefix>/upstreams/<id> and <prefix>/stream_routes/<id> are
 * mirrored. Every other key under the prefix (an APISIX deployment's
 * routes, services, plugins, SSL objects, consumers...) is ignored: its
 * value is not even decoded, only the key is kept, so that the ignored
 * keys can be counted by kind (xlb_etcd_mirror_others()).
 *
 * Bad values. A value that is not a JSON object, or a key whose id is not
 * a valid id, is left out and named in the error text; a key that had a
 * good value keeps it until a good value or a delete comes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "config/etcd_mirror.h"

#define ID_MAX (XLB_ID_LEN - 1)

static const char *const kinds[] = {"upstreams", "stream_routes"};

/* APISIX's other kinds, as counted; the last one takes any other key. */
static const char *const other_kinds[XLB_ETCD_OTHER_KINDS] = {
	"routes",  "services",	   "consumers",	     "consumer_groups",
	"ssls",	   "global_rules", "plugin_configs", "plugin_metadata",
	"plugins", "protos",	   "secrets",	     "other",
};

const char *xlb_etcd_other_kind_name(unsigned int i)
{
	return i < XLB_ETCD_OTHER_KINDS ? other_kinds[i] : NULL;
}

void xlb_etcd_cut(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* --- base64 ------------------------------------------------------------------ */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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
			if (pad) /* data after '=' */
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
	char prefix[XLB_ETCD_PREFIX_LEN]; /* without a trailing '/' */
	json_t *good;			  /* key -> object with "id" */
	json_t *bad;			  /* key -> reason */
	json_t *revs;			  /* key of good -> [create_revision, mod_revision] */
	json_t *others;			  /* printed key not mirrored -> index in other_kinds */
	long long rev;
	unsigned long bad_seen; /* bad values met, for the error counter */
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
	m->revs = json_object();
	m->others = json_object();
	if (!m->good || !m->bad || !m->revs || !m->others) {
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
	json_decref(m->revs);
	json_decref(m->others);
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
int xlb_etcd_error_answer(json_t *root, char *why, size_t wlen)
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
	if ((!h && !required) ||
	    (json_is_object(h) && !get_int(h, "revision", rev) && (*rev > 0 || !required)))
		return 0;
	snprintf(why, wlen, "answer without a valid header.revision");
	return -EBADMSG;
}

/* What follows "<prefix>/" in key, or NULL when key is not under the prefix. */
static const char *key_rest(const struct xlb_etcd_mirror *m, const char *key, size_t len)
{
	size_t plen = strlen(m->prefix);

	if (len <= plen + 1 || memcmp(key, m->prefix, plen) || key[plen] != '/')
		return NULL;
	return key + plen + 1;
}

/*
 * The kind (0 upstreams, 1 stream_routes) of key, with the id; -1 for keys
 * we do not mirror (other kinds, the kind's own directory key, deeper
 * paths).
 */
static int key_kind(const struct xlb_etcd_mirror *m, const char *key, size_t len, const char **id,
		    size_t *idlen)
{
	const char *rest = key_rest(m, key, len);
	unsigned int k;
	size_t klen;

	for (k = 0; rest && k < 2; k++) {
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

/*
 * The index in other_kinds of a key key_kind() does not take, or -1 for
 * keys not counted: outside the prefix, or a mirrored kind's own directory
 * key (APISIX 2's "init_dir" values).
 */
static int other_kind(const struct xlb_etcd_mirror *m, const char *key, size_t len)
{
	const char *rest = key_rest(m, key, len), *slash;
	unsigned int k;
	size_t seg;

	if (!rest)
		return -1;
	slash = memchr(rest, '/', key + len - rest);
	seg = slash ? (size_t)(slash - rest) : (size_t)(key + len - rest);
	for (k = 0; k < 2 && !slash; k++)
		if (seg == strlen(kinds[k]) && !memcmp(rest, kinds[k], seg))
			return -1;
	for (k = 0; k < XLB_ETCD_OTHER_KINDS - 1; k++)
		if (seg == strlen(other_kinds[k]) && !memcmp(rest, other_kinds[k], seg))
			return (int)k;
	return XLB_ETCD_OTHER_KINDS - 1;
}

static int id_valid(const char *id, size_t len)
{
	size_t i;

	if (!len || len > ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* One decoded key/value from a range answer or an event. */
struct kv {
	char *key; /* NUL-terminated, printable-checked below */
	size_t klen;
	int kind;      /* -1: not ours */
	int other;     /* kind -1: index in other_kinds, or -1: not counted */
	json_t *obj;   /* the good object, or NULL */
	char bad[160]; /* why the value is left out, or "" */
	int del;
	long long rev;	/* mod_revision */
	long long crev; /* create_revision */
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
static int kv_decode(const struct xlb_etcd_mirror *m, json_t *j, int del, struct kv *kv, char *why,
		     size_t wlen)
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
	if (get_int(j, "create_revision", &kv->crev)) {
		printable(pkey, sizeof(pkey), kv->key, kv->klen);
		snprintf(why, wlen, "%s: bad create_revision", pkey);
		kv_clear(kv);
		return -EBADMSG;
	}
	kv->del = del;
	kv->kind = key_kind(m, kv->key, kv->klen, &id, &idlen);
	if (kv->kind < 0) {
		kv->other = other_kind(m, kv->key, kv->klen);
		return 0;
	}
	/* A key with a NUL inside cannot be a jansson key; it is no id either. */
	if (!id_valid(id, idlen)) {
		printable(pid, sizeof(pid), id, idlen);
		snprintf(kv->bad, sizeof(kv->bad),
			 "id '%s' is not 1-%d letters, digits, "
			 "'.', '_' or '-'",
			 pid, ID_MAX);
		kv->kind = -2; /* reported, never stored */
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
		xlb_etcd_cut(kv->bad, sizeof(kv->bad), "value is not JSON: %s (at %d:%d)",
			     jerr.text, jerr.line, jerr.column);
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
 * The mirror's objects: good (key -> object), bad (printed key -> reason)
 * and revs (key of a good one -> [create_revision, mod_revision]).
 */
struct kv_sets {
	json_t *good, *bad, *revs, *others;
};

/*
 * Apply a decoded kv to @to; @prev is where a key's earlier good value
 * (and its revisions) is looked up when the new one is bad. 1 when good
 * changed.
 */
static int kv_apply(const struct kv_sets *to, const struct kv_sets *prev, struct kv *kv)
{
	json_t *good = to->good, *bad = to->bad;
	json_t *old, *keep;
	char bkey[512];
	int changed = 0;

	/* Bad keys and others may hold any bytes: they are stored as printed. */
	printable(bkey, sizeof(bkey), kv->key, kv->klen);
	if (kv->kind == -1) {
		if (kv->del)
			json_object_del(to->others, bkey);
		else if (kv->other >= 0)
			json_object_set_new(to->others, bkey, json_integer(kv->other));
		return 0;
	}
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
		json_object_del(to->revs, kv->key);
		json_object_del(bad, bkey);
		return changed;
	}
	if (kv->bad[0]) {
		set_bad(bad, bkey, kv->bad);
		keep = json_object_get(prev->good, kv->key);
		if (keep && good != prev->good) {
			json_object_set(good, kv->key, keep);
			keep = json_object_get(prev->revs, kv->key);
			if (keep)
				json_object_set(to->revs, kv->key, keep);
		}
		return 0;
	}
	json_object_del(bad, bkey);
	changed = !old || !json_equal(old, kv->obj);
	json_object_set(good, kv->key, kv->obj);
	json_object_set_new(to->revs, kv->key,
			    json_pack("[I, I]", (json_int_t)kv->crev, (json_int_t)kv->rev));
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
static json_t *answer_load(const char *what, const char *body, size_t len, int *err, char *why,
			   size_t wlen)
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
		*err = xlb_etcd_error_answer(root, why, wlen);
	if (!*err)
		return root;
	json_decref(root);
	return NULL;
}

int xlb_etcd_mirror_load_range(struct xlb_etcd_mirror *m, const char *body, size_t len, char *why,
			       size_t wlen)
{
	json_t *root, *kvs, *j, *more;
	const struct kv_sets prev = {m->good, m->bad, m->revs, m->others};
	struct kv_sets to = {};
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
	to.good = json_object();
	to.bad = json_object();
	to.revs = json_object();
	to.others = json_object();
	if (!to.good || !to.bad || !to.revs || !to.others) {
		err = -ENOMEM;
		snprintf(why, wlen, "out of memory");
		goto out;
	}
	json_array_foreach (kvs, i, j) {
		err = kv_decode(m, j, 0, &kv, why, wlen);
		if (err)
			goto out;
		if (kv.kind >= 0 && !kv_storable(&kv)) {
			kv_clear(&kv);
			continue;
		}
		nbad += kv.bad[0] != 0;
		kv_apply(&to, &prev, &kv);
		kv_clear(&kv);
	}
	m->bad_seen += nbad;
	err = !json_equal(to.good, m->good);
	json_decref(m->good);
	json_decref(m->bad);
	json_decref(m->revs);
	json_decref(m->others);
	m->good = to.good;
	m->bad = to.bad;
	m->revs = to.revs;
	m->others = to.others;
	to.good = to.bad = to.revs = to.others = NULL;
	m->rev = rev;
out:
	json_decref(to.good);
	json_decref(to.bad);
	json_decref(to.revs);
	json_decref(to.others);
	json_decref(root);
	return err;
}

int xlb_etcd_mirror_apply_watch(struct xlb_etcd_mirror *m, const char *msg, size_t len,
				struct xlb_etcd_watch_info *info, char *why, size_t wlen)
{
	json_t *root, *res, *evs, *j, *t;
	const struct kv_sets sets = {m->good, m->bad, m->revs, m->others};
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
	json_array_foreach (evs, i, j) {
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
			continue; /* already applied (a watch restarted early) */
		if (kv[i].kind >= 0 && !kv_storable(&kv[i]))
			continue;
		m->bad_seen += kv[i].bad[0] != 0;
		changed |= kv_apply(&sets, &sets, &kv[i]);
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
	json_object_foreach (m->good, key, v)
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

int xlb_etcd_mirror_revs(const struct xlb_etcd_mirror *m, const char *kind, const char *id,
			 long long *created, long long *modified)
{
	char key[XLB_ETCD_PREFIX_LEN + 32 + XLB_ID_LEN];
	json_t *r;

	snprintf(key, sizeof(key), "%s/%s/%s", m->prefix, kind, id);
	r = json_object_get(m->revs, key);
	if (!json_is_array(r))
		return -ENOENT;
	*created = json_integer_value(json_array_get(r, 0));
	*modified = json_integer_value(json_array_get(r, 1));
	return 0;
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
	json_object_foreach (m->bad, key, v)
		keys[i++] = key;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n && o < len; i++) {
		o += snprintf(buf + o, len - o, "%s%s: %s", i ? "; " : "", keys[i],
			      json_string_value(json_object_get(m->bad, keys[i])));
	}
	free(keys);
	return n;
}

const char *xlb_etcd_mirror_prefix(const struct xlb_etcd_mirror *m)
{
	return m->prefix;
}

void xlb_etcd_mirror_others(const struct xlb_etcd_mirror *m,
			    unsigned int counts[XLB_ETCD_OTHER_KINDS])
{
	const char *key;
	json_int_t k;
	json_t *v;

	memset(counts, 0, XLB_ETCD_OTHER_KINDS * sizeof(counts[0]));
	json_object_foreach (m->others, key, v) {
		k = json_integer_value(v);
		if (k >= 0 && k < XLB_ETCD_OTHER_KINDS)
			counts[k]++;
	}
}

unsigned long xlb_etcd_mirror_bad_seen(const struct xlb_etcd_mirror *m)
{
	return m->bad_seen;
}

int xlb_etcd_kind_id_valid(const char *kind, const char *id)
{
	return kind && (!strcmp(kind, kinds[0]) || !strcmp(kind, kinds[1])) && id &&
	       id_valid(id, strlen(id));
}
