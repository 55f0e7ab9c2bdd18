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

#include "agent/adminapi.h"
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

int xlb_admin_api(const struct xlb_admin_store *st, const char *method, const char *path,
		  const char *body, size_t len, json_t **out)
{
	struct xlb_conf_errors errs;
	char path_key[160];
	const char *slash, *kind, *id;
	json_t *arr, *obj, *list;
	json_error_t jerr;
	size_t n, i;
	int at, err, created;

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
	id = slash ? slash + 1 : "";
	if (strchr(id, '/')) {
		*out = error_json("no such resource '%s'", path);
		return 404;
	}
	/* Ids are never cut to fit: a longer one would name another object. */
	if (strlen(id) >= XLB_ID_LEN) {
		*out = error_json("id is %zu characters long: at most %d", strlen(id),
				  XLB_ID_LEN - 1);
		return 400;
	}
	if (id_bad_char(id) >= 0) {
		*out = error_json(
			"id '%s' has '%c' at %d: an id is letters, digits, '-', '_' and '.'", id,
			id[id_bad_char(id)], id_bad_char(id) + 1);
		return 400;
	}

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
	if (strcmp(method, "PUT") && strcmp(method, "DELETE")) {
		*out = error_json("method not allowed (GET, PUT, DELETE)");
		return 405;
	}
	if (!id[0]) {
		*out = error_json("%s needs an id in the path", method);
		return 400;
	}
	if (!strcmp(method, "DELETE")) {
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
	/* APISIX: 201 when the key is new, 200 when it replaces one. */
	created = !json_is_array(arr) || xlb_admin_doc_find(arr, id) < 0;
	err = st->put(st->arg, kind, id, obj, &errs);
	if (err) {
		json_decref(obj);
		*out = err == -EINVAL ? conf_errors_json(&errs) : error_json("%s", strerror(-err));
		return err == -EINVAL ? 400 : 500;
	}
	pr_info("admin: put %s %s\n", kind, id);
	/*
	 * The object as written (with etcd, the running configuration gets it
	 * a moment later, through the watch).
	 */
	json_object_set_new(obj, "id", json_string(id));
	*out = entry(kind, obj);
	json_decref(obj);
	return created ? 201 : 200;
}
