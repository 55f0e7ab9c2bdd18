// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Admin API's objects: list, get, put and delete upstreams and stream
 * routes, APISIX's way (adminapi.h). Errors are JSON objects with
 * "error_msg"; a body that does not validate with the whole configuration
 * it would make is a 400 listing every problem, and nothing changes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/adminapi.h"
#include "base/apikey.h"
#include "base/log.h"

/*
 * Copy @in to @out (@size bytes), writing control bytes, and bytes >= 0x80
 * unless @utf8 and they form a well-formed UTF-8 sequence, as "\xNN": an
 * error message quotes what the client sent, and JSON strings must be UTF-8.
 */
static void printable(const char *in, char *out, size_t size, int utf8)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, k, n;

	while (*p && o + 5 < size) {
		n = *p < 0x80		  ? 1
		    : (*p & 0xe0) == 0xc0 ? 2
		    : (*p & 0xf0) == 0xe0 ? 3
		    : (*p & 0xf8) == 0xf0 ? 4
					  : 0;
		for (k = 1; k < n && (p[k] & 0xc0) == 0x80; k++)
			;
		if (n == 1 && *p >= 0x20 && *p != 0x7f) {
			out[o++] = *p++;
		} else if (utf8 && n > 1 && k == n && o + n < size) {
			memcpy(out + o, p, n);
			o += n;
			p += n;
		} else {
			o += snprintf(out + o, size - o, "\\x%02x", *p++);
		}
	}
	out[o] = '\0';
}

/*
 * A JSON string of @msg, which may quote the client's path and body (and be
 * cut inside a character): made valid UTF-8 first, so that an error answer
 * always has its message.
 */
static json_t *safe_string(const char *msg)
{
	char safe[512];
	json_t *s;

	printable(msg, safe, sizeof(safe), 1);
	s = json_string(safe);
	if (!s) { /* jansson refuses overlong forms and surrogates too */
		printable(msg, safe, sizeof(safe), 0);
		s = json_string(safe);
	}
	return s;
}

static json_t *error_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *error_json(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:o}", "error_msg", safe_string(msg));
}

/*
 * APISIX's ids: letters, digits, '-', '_' and '.' (schema_def.lua's
 * id_schema). Returns the first other byte's offset, or -1.
 */
static int id_bad_char(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++)
		if (!(isalnum((unsigned char)id[i]) || id[i] == '-' || id[i] == '_' ||
		      id[i] == '.'))
			return (int)i;
	return -1;
}

static json_t *conf_errors_json(const struct xlb_conf_errors *errs)
{
	json_t *list = json_array();
	char line[512];
	size_t i;

	for (i = 0; i < errs->n && i < sizeof(errs->e) / sizeof(errs->e[0]); i++) {
		snprintf(line, sizeof(line), "%s: %s", errs->e[i].path, errs->e[i].msg);
		json_array_append_new(list, safe_string(line));
	}
	return json_pack("{s:s, s:o}", "error_msg",
			 json_string_value(json_array_get(list, 0)) ?: "invalid configuration",
			 "errors", list);
}

/* The "key"/"value" form APISIX answers objects in. */
static json_t *entry(const char *kind, json_t *obj)
{
	json_t *id = json_object_get(obj, "id");
	char key[256];

	if (json_is_integer(id))
		snprintf(key, sizeof(key), "/apisix/%s/%lld", kind,
			 (long long)json_integer_value(id));
	else
		snprintf(key, sizeof(key), "/apisix/%s/%s", kind,
			 json_is_string(id) ? json_string_value(id) : "");
	return json_pack("{s:s, s:O}", "key", key, "value", obj);
}

int xlb_admin_doc_find(json_t *arr, const char *id)
{
	char buf[24]; /* a long long */
	json_t *o, *oid;
	size_t i;

	json_array_foreach (arr, i, o) {
		oid = json_object_get(o, "id");
		if (json_is_string(oid) && !strcmp(json_string_value(oid), id))
			return (int)i;
		if (!json_is_integer(oid))
			continue;
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(oid));
		if (!strcmp(buf, id))
			return (int)i;
	}
	return -1;
}

json_t *xlb_admin_doc_edit(json_t *doc, const char *kind, const char *id, json_t *obj, int *err)
{
	json_t *copy, *arr, *o;
	int at;

	*err = -ENOMEM;
	copy = json_deep_copy(doc);
	if (!copy)
		return NULL;
	arr = json_object_get(copy, kind);
	if (!json_is_array(arr)) {
		arr = json_array();
		if (!arr || json_object_set_new(copy, kind, arr))
			goto fail;
	}
	at = xlb_admin_doc_find(arr, id);
	if (!obj) {
		if (at < 0) {
			*err = -ENOENT;
			goto fail;
		}
		if (json_array_remove(arr, at))
			goto fail;
	} else {
		o = json_deep_copy(obj);
		if (!o || json_object_set_new(o, "id", json_string(id))) {
			json_decref(o);
			goto fail;
		}
		if (at < 0 ? json_array_append_new(arr, o) : json_array_set_new(arr, at, o))
			goto fail;
	}
	*err = 0;
	return copy;
fail:
	json_decref(copy);
	return NULL;
}

/* APISIX's name of one object of @kind, as its messages say it. */
static const char *kind_one(const char *kind)
{
	return strcmp(kind, "upstreams") ? "stream route" : "upstream";
}

/*
 * Whether @id breaks APISIX's id rules (schema_def.lua's id_schema: 1 to 64
 * letters, digits, '-', '_' and '.'; ids are never cut to fit, a longer one
 * would name another object): 0, or 1 with the answer in @out.
 */
static int id_refused(const char *id, json_t **out)
{
	static const char head[] =
		"invalid configuration: property \"id\" validation failed: object matches "
		"none of the required";
	int bad = id_bad_char(id);

	if (strlen(id) >= XLB_ID_LEN) {
		*out = error_json("%s (id is %zu characters long: at most %d)", head, strlen(id),
				  XLB_ID_LEN - 1);
		return 1;
	}
	if (bad >= 0) {
		*out = error_json("%s (id '%s' has '%c' at %d: an id is letters, digits, '-', "
				  "'_' and '.')",
				  head, id, id[bad], bad + 1);
		return 1;
	}
	return 0;
}

/*
 * The body's "id" as a string in @buf (XLB_ID_LEN bytes or more): 0 without one, 1 with one, -1 for
 * one that is neither a string nor an integer of at least 1 (APISIX's
 * id_schema), with the answer in @out.
 */
static int body_id(json_t *obj, char *buf, size_t size, json_t **out)
{
	json_t *bid = json_object_get(obj, "id");

	if (!bid)
		return 0;
	if (json_is_string(bid)) {
		if (id_refused(json_string_value(bid), out))
			return -1;
		snprintf(buf, size, "%s", json_string_value(bid));
		return 1;
	}
	if (json_is_integer(bid) && json_integer_value(bid) >= 1) {
		snprintf(buf, size, "%lld", (long long)json_integer_value(bid));
		return 1;
	}
	*out = error_json("invalid configuration: property \"id\" validation failed: object "
			  "matches none of the required (an id is a string or an integer of at "
			  "least 1)");
	return -1;
}

/*
 * APISIX's check_forbidden_properties (admin/resource.lua): the store keeps
 * create_time and update_time, a PUT or POST may not set them, in the
 * object or in its inline upstream. Returns the first one found, or NULL.
 */
static const char *forbidden_time(json_t *obj)
{
	static const char *const keys[] = {"create_time", "update_time"};
	static const char *const up_keys[] = {"upstream.create_time", "upstream.update_time"};
	json_t *up = json_object_get(obj, "upstream");
	size_t i;

	for (i = 0; i < 2; i++)
		if (json_object_get(obj, keys[i]))
			return keys[i];
	for (i = 0; json_is_object(up) && i < 2; i++)
		if (json_object_get(up, keys[i]))
			return up_keys[i];
	return NULL;
}

/*
 * A new id for POST: 20 digits, as APISIX's (which zero-pads etcd's
 * revision); here the wall clock in nanoseconds, always above the last one
 * given, and skipping ids in use.
 */
static void post_id(json_t *arr, char *buf, size_t size)
{
	static unsigned long long last;
	struct timespec ts;
	unsigned long long n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
	do {
		last = n > last ? n : last + 1;
		snprintf(buf, size, "%020llu", last);
	} while (json_is_array(arr) && xlb_admin_doc_find(arr, buf) >= 0);
}

/*
 * APISIX's inject_timestamp (admin/utils.lua): create_time kept from the
 * object replaced (now for a new one), update_time now; seconds.
 */
static void stamp(json_t *obj, json_t *prev)
{
	json_t *ct = json_object_get(prev, "create_time");
	json_int_t now = (json_int_t)time(NULL);

	json_object_set_new(obj, "create_time",
			    json_is_integer(ct) ? json_copy(ct) : json_integer(now));
	json_object_set_new(obj, "update_time", json_integer(now));
}

int xlb_admin_api(const struct xlb_admin_store *st, const char *method, const char *path,
		  const char *body, size_t len, json_t **out)
{
	struct xlb_conf_errors errs;
	char path_key[160], idbuf[XLB_ID_LEN + 1];
	const char *slash, *kind, *id, *forbidden;
	json_t *arr, *obj, *list;
	json_error_t jerr;
	size_t n, i;
	int at, err, has;

	slash = strchr(path, '/');
	n = slash ? (size_t)(slash - path) : strlen(path);
	if (n == strlen("upstreams") && !strncmp(path, "upstreams", n)) {
		kind = "upstreams";
	} else if (n == strlen("stream_routes") && !strncmp(path, "stream_routes", n)) {
		kind = "stream_routes";
	} else {
		*out = error_json("no such resource '%.*s' (upstreams, stream_routes)", (int)n,
				  path);
		return 404;
	}
	/* APISIX's stream_routes.lua refuses PATCH, sub-paths included. */
	if (!strcmp(method, "PATCH") && !strcmp(kind, "stream_routes")) {
		*out = error_json("not supported `PATCH` method for stream route");
		return 405;
	}
	id = slash ? slash + 1 : "";
	if (strchr(id, '/')) {
		*out = error_json("no such resource '%s'", path);
		return 404;
	}
	if (id_refused(id, out))
		return 400;

	arr = json_object_get(st->doc(st->arg), kind);
	if (!strcmp(method, "GET")) {
		if (id[0]) {
			at = json_is_array(arr) ? xlb_admin_doc_find(arr, id) : -1;
			if (at < 0) {
				*out = error_json("%s %s not found", kind, id);
				return 404;
			}
			*out = entry(kind, json_array_get(arr, at));
			return 200;
		}
		list = json_array();
		json_array_foreach (arr, i, obj)
			json_array_append_new(list, entry(kind, obj));
		*out = json_pack("{s:i, s:o}", "total", (int)json_array_size(list), "list", list);
		return 200;
	}
	if (strcmp(method, "PUT") && strcmp(method, "POST") && strcmp(method, "DELETE")) {
		*out = error_json("method not allowed (GET, PUT, POST, DELETE)");
		return 405;
	}
	if (!strcmp(method, "DELETE")) {
		if (!id[0]) {
			*out = error_json("missing %s id", kind_one(kind));
			return 400;
		}
		err = st->put(st->arg, kind, id, NULL, &errs);
		if (err == -ENOENT) {
			*out = error_json("%s %s not found", kind, id);
			return 404;
		}
		if (err == -EINVAL) {
			*out = conf_errors_json(&errs);
			return 400;
		}
		if (err) {
			*out = error_json("%s", strerror(-err));
			return 500;
		}
		pr_info("admin: deleted %s %s\n", kind, id);
		snprintf(path_key, sizeof(path_key), "/apisix/%s/%s", kind, id);
		*out = json_pack("{s:s, s:s}", "deleted", "1", "key", path_key);
		return 200;
	}

	obj = json_loadb(body ? body : "", len, 0, &jerr);
	if (!obj) {
		*out = error_json("body is not JSON: line %d column %d: %s", jerr.line, jerr.column,
				  jerr.text);
		return 400;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		*out = error_json("body must be a JSON object");
		return 400;
	}
	/* APISIX's check_conf (admin/resource.lua): the id first, then the times. */
	has = body_id(obj, idbuf, sizeof(idbuf), out);
	if (!strcmp(method, "POST")) {
		if (id[0] || has) {
			if (has < 0)
				json_decref(*out);
			*out = error_json("wrong %s id, do not need it", kind_one(kind));
			goto bad;
		}
	} else if (!id[0] && !has) {
		*out = error_json("missing %s id", kind_one(kind));
		goto bad;
	} else if (id[0] && has > 0 && strcmp(id, idbuf)) {
		*out = error_json("wrong %s id", kind_one(kind));
		goto bad;
	}
	forbidden = forbidden_time(obj);
	if (forbidden) {
		if (has < 0)
			json_decref(*out);
		*out = error_json("the property is forbidden: %s", forbidden);
		goto bad;
	}
	if (has < 0)
		goto bad;
	if (!strcmp(method, "POST"))
		post_id(arr, idbuf, sizeof(idbuf));
	else if (id[0])
		snprintf(idbuf, sizeof(idbuf), "%s", id);
	/* APISIX: 201 when the key is new, 200 when it replaces one. */
	at = json_is_array(arr) ? xlb_admin_doc_find(arr, idbuf) : -1;
	stamp(obj, at < 0 ? NULL : json_array_get(arr, at));
	err = st->put(st->arg, kind, idbuf, obj, &errs);
	if (err) {
		json_decref(obj);
		*out = err == -EINVAL ? conf_errors_json(&errs) : error_json("%s", strerror(-err));
		return err == -EINVAL ? 400 : 500;
	}
	pr_info("admin: %s %s %s\n", method, kind, idbuf);
	/*
	 * The object as written (with etcd, the running configuration gets it
	 * a moment later, through the watch).
	 */
	json_object_set_new(obj, "id", json_string(idbuf));
	*out = entry(kind, obj);
	json_decref(obj);
	return at < 0 ? 201 : 200;
bad:
	json_decref(obj);
	return 400;
}

int xlb_admin_authorized(int loopback, const char *method, const char *path, const char *key,
			 const char *api_key)
{
	if (loopback && !strcmp(method, "GET") &&
	    (!strcmp(path, "/metrics") || !strcmp(path, "/v1/healthcheck")))
		return 1;
	return key && xlb_api_key_equal(key, api_key);
}
