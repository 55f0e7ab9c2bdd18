// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Admin API's objects: list (filtered, paged), get, put, post, patch
 * and delete upstreams and stream routes, APISIX's way (adminapi.h), with
 * createdIndex and modifiedIndex. Errors are JSON objects with
 * "error_msg"; a body that does not validate with the whole configuration
 * it would make is a 400 listing every problem, said about the body in
 * APISIX's words, and nothing changes.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <regex.h>
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

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
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

/* --- createdIndex and modifiedIndex ----------------------------------------- */

void xlb_admin_counter_free(struct xlb_admin_counter *c)
{
	json_decref(c->revs);
	c->revs = NULL;
}

/* The counter's entry for kind/id: NULL when @st has no counter. */
static json_t *counter_entry(const struct xlb_admin_store *st, const char *kind, const char *id,
			     int create)
{
	struct xlb_admin_counter *c = st->counter;
	char key[48 + XLB_ID_LEN];
	json_t *e;

	if (!c)
		return NULL;
	if (!c->revs)
		c->revs = json_object();
	snprintf(key, sizeof(key), "%s/%s", kind, id);
	e = json_object_get(c->revs, key);
	if (e || !create)
		return e;
	c->last++;
	e = json_pack("[I, I]", (json_int_t)c->last, (json_int_t)c->last);
	if (e && json_object_set_new(c->revs, key, e))
		return NULL;
	return e;
}

/* A write of kind/id through the API (NULL @obj: its delete). */
static void counter_write(const struct xlb_admin_store *st, const char *kind, const char *id,
			  json_t *obj)
{
	char key[48 + XLB_ID_LEN];
	json_t *e;

	if (!st->counter)
		return;
	if (!obj) {
		snprintf(key, sizeof(key), "%s/%s", kind, id);
		json_object_del(st->counter->revs, key);
		return;
	}
	e = counter_entry(st, kind, id, 0);
	if (e)
		json_array_set_new(e, 1, json_integer(++st->counter->last));
	else
		counter_entry(st, kind, id, 1);
}

/* The id of a stored object, as a string in @buf. */
static const char *obj_id(json_t *obj, char *buf, size_t size)
{
	json_t *id = json_object_get(obj, "id");

	if (json_is_integer(id))
		snprintf(buf, size, "%lld", (long long)json_integer_value(id));
	else
		snprintf(buf, size, "%s", json_is_string(id) ? json_string_value(id) : "");
	return buf;
}

/*
 * entry() with createdIndex and modifiedIndex: the store's revisions, else
 * the counter's; left out when neither has them.
 */
static json_t *entry_indexed(const struct xlb_admin_store *st, const char *kind, json_t *obj)
{
	json_t *e = entry(kind, obj), *c;
	long long created, modified;
	char id[XLB_ID_LEN + 24];

	obj_id(obj, id, sizeof(id));
	if (!st->revs || st->revs(st->arg, kind, id, &created, &modified)) {
		c = counter_entry(st, kind, id, 1);
		if (!c)
			return e;
		created = json_integer_value(json_array_get(c, 0));
		modified = json_integer_value(json_array_get(c, 1));
	}
	json_object_set_new(e, "createdIndex", json_integer(created));
	json_object_set_new(e, "modifiedIndex", json_integer(modified));
	return e;
}

/* --- lists: filters and pages (APISIX's v3_adapter.lua) ----------------------- */

/* A query argument's value, %XX and '+' decoded, into @buf; NULL when absent. */
static const char *query_arg(const char *query, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name), o = 0;
	const char *p = query;
	int hi, lo;

	while (p && *p) {
		if (!strncmp(p, name, n) && (p[n] == '=' || p[n] == '&' || !p[n])) {
			p += n + (p[n] == '=');
			while (*p && *p != '&' && o + 1 < size) {
				if (*p == '%' && (hi = hexval(p[1])) >= 0 &&
				    (lo = hexval(p[2])) >= 0) {
					buf[o++] = (char)(hi << 4 | lo);
					p += 3;
				} else {
					buf[o++] = *p == '+' ? ' ' : *p;
					p++;
				}
			}
			buf[o] = '\0';
			return buf;
		}
		p = strchr(p, '&');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

/* A value as the filter compares it: strings as they are, integers in decimal. */
static int value_is(json_t *v, const char *want)
{
	char buf[24];

	if (json_is_string(v))
		return !strcmp(json_string_value(v), want);
	if (!json_is_integer(v))
		return 0;
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	return !strcmp(buf, want);
}

/*
 * The "filter" argument ("upstream_id=1&service_id=2", itself URL-encoded):
 * every field a stream route may be filtered on must be equal; other
 * fields are ignored, as APISIX does.
 */
static int filter_match(const char *kind, const char *filter, json_t *obj)
{
	static const char *const fields[] = {"service_id", "upstream_id"};
	char val[256];
	size_t i;

	if (strcmp(kind, "stream_routes"))
		return 1;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (query_arg(filter, fields[i], val, sizeof(val)) &&
		    !value_is(json_object_get(obj, fields[i]), val))
			return 0;
	return 1;
}

struct list_args {
	const char *name, *label, *filter; /* NULL: not given */
	regex_t name_re;
	double page, page_size; /* paging only with both */
	int paged;
};

static int list_keep(const char *kind, const struct list_args *la, json_t *obj)
{
	json_t *name = json_object_get(obj, "name");

	if (la->name &&
	    !(json_is_string(name) && !regexec(&la->name_re, json_string_value(name), 0, NULL, 0)))
		return 0;
	if (la->label && !json_object_get(json_object_get(obj, "labels"), la->label))
		return 0;
	return !la->filter || filter_match(kind, la->filter, obj);
}

/* A list item and where the store has it (equal createdIndex keep that order). */
struct list_item {
	json_t *entry;
	size_t pos;
};

static int by_created(const void *a, const void *b)
{
	const struct list_item *x = a, *y = b;
	json_int_t cx = json_integer_value(json_object_get(x->entry, "createdIndex"));
	json_int_t cy = json_integer_value(json_object_get(y->entry, "createdIndex"));

	if (cx != cy)
		return cx < cy ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* A number argument as Lua's tonumber() reads it; 0 when it is none. */
static int number_arg(const char *s, double *v)
{
	char *end;

	if (!s || !*s)
		return 0;
	*v = strtod(s, &end);
	return !*end && *v == *v; /* NaN is no number */
}

/*
 * GET of a whole kind: filtered by name (a regular expression), label (a
 * key of labels) and, for stream routes, filter; total counts what the
 * filters keep; with page and page_size, sorted by createdIndex and cut.
 */
static int list_kind(const struct xlb_admin_store *st, const char *kind, json_t *arr,
		     const char *query, json_t **out)
{
	char name[256], label[256], filter[256], page[32], size[32], why[128];
	struct list_args la = {};
	struct list_item *items;
	json_t *list, *obj;
	size_t i, n = 0, from, to;
	int err;

	la.name = query_arg(query, "name", name, sizeof(name));
	la.label = query_arg(query, "label", label, sizeof(label));
	la.filter = query_arg(query, "filter", filter, sizeof(filter));
	la.paged = number_arg(query_arg(query, "page", page, sizeof(page)), &la.page) &&
		   number_arg(query_arg(query, "page_size", size, sizeof(size)), &la.page_size);
	if (la.paged && !(la.page_size >= 10 && la.page_size <= 500)) {
		*out = error_json("page_size must be between 10 and 500");
		return 400;
	}
	if (la.name && (err = regcomp(&la.name_re, la.name, REG_EXTENDED | REG_NOSUB))) {
		regerror(err, &la.name_re, why, sizeof(why));
		*out = error_json("invalid name filter '%s': %s", la.name, why);
		return 400;
	}
	items = calloc(json_array_size(arr) + 1, sizeof(*items));
	if (!items) {
		if (la.name)
			regfree(&la.name_re);
		*out = error_json("out of memory");
		return 500;
	}
	json_array_foreach (arr, i, obj)
		if (list_keep(kind, &la, obj))
			items[n++] = (struct list_item){entry_indexed(st, kind, obj), i};
	if (la.name)
		regfree(&la.name_re);
	from = 0;
	to = n;
	if (la.paged) {
		qsort(items, n, sizeof(*items), by_created);
		if (la.page < 1)
			la.page = 1;
		from = la.page * la.page_size - la.page_size < (double)n
			       ? (size_t)(la.page * la.page_size - la.page_size)
			       : n;
		to = from + (size_t)la.page_size < n ? from + (size_t)la.page_size : n;
	}
	list = json_array();
	for (i = 0; i < n; i++) {
		if (i >= from && i < to)
			json_array_append(list, items[i].entry);
		json_decref(items[i].entry);
	}
	free(items);
	*out = json_pack("{s:I, s:o}", "total", (json_int_t)n, "list", list);
	return 200;
}

/* --- PATCH (APISIX's resource.lua and core/table.lua) ------------------------- */

/* APISIX's merge: objects key by key, anything else replaced, null removes. */
static void merge(json_t *into, json_t *from)
{
	json_t *v, *old;
	const char *k;

	json_object_foreach (from, k, v) {
		old = json_object_get(into, k);
		if (json_is_null(v))
			json_object_del(into, k);
		else if (json_is_object(v) && json_is_object(old))
			merge(old, v);
		else
			json_object_set(into, k, v);
	}
}

/*
 * Put @val at @sub ("checks/active/healthy/interval") in @obj, making the
 * objects missing on the way; an empty last segment replaces the whole
 * object. The new object, or NULL (@obj freed) with the answer in @out.
 */
static json_t *patch_at(json_t *obj, const char *sub, json_t *val, json_t **out)
{
	json_t *at = obj, *next;
	const char *seg = sub, *slash;
	char name[256];

	while ((slash = strchr(seg, '/'))) {
		snprintf(name, sizeof(name), "%.*s", (int)(slash - seg), seg);
		next = json_object_get(at, name);
		/* A key jansson refuses (not UTF-8) is no key an object can have. */
		if (!next && json_object_set_new(at, name, json_object()))
			break;
		next = json_object_get(at, name);
		if (!json_is_object(next))
			break;
		at = next;
		seg = slash + 1;
	}
	if (!slash && !*seg) {
		json_decref(obj);
		return json_incref(val);
	}
	if (!slash && !json_object_set(at, seg, val))
		return obj;
	*out = error_json("invalid sub-path: /%.*s", slash ? (int)(slash - sub) : (int)strlen(sub),
			  sub);
	json_decref(obj);
	return NULL;
}

/* --- errors in APISIX's words -------------------------------------------------- */

/* JSON Schema's name of @v's type, as APISIX's messages give it. */
static const char *schema_type(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

/* Characters (not bytes) of a UTF-8 string, as a length bound counts them. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/*
 * xlb's reason @msg for the value @v the client sent (NULL: none), said as
 * APISIX's schema checker says it where the two mean the same: types
 * ("wrong type: expected integer, got string"), bounds ("expected 0 to be
 * at least 1"), lengths, enums, unknown and missing keys. Other reasons
 * (xlb's own checks, L4 refusals) stay as they are.
 */
static void apisix_reason(const char *msg, json_t *v, char *out, size_t size)
{
	long long lo, hi, x;
	const char *range;
	char name[128];
	size_t max;

	if (sscanf(msg, "unknown key '%127[^']'", name) == 1) {
		snprintf(out, size, "additional properties forbidden, found %s", name);
		return;
	}
	/* APISIX's upstream is oneOf nodes / discovery_type + service_name. */
	if (!strncmp(msg, "missing key 'nodes'", 19)) {
		snprintf(out, size, "value should match only one schema, but matches none (%s)",
			 msg);
		return;
	}
	if (!strncmp(msg, "use either nodes or discovery_type", 34)) {
		snprintf(out, size, "value should match only one schema, but matches both (%s)",
			 msg);
		return;
	}
	/* and checks is anyOf: active required, or active and passive. */
	if (!strncmp(msg, "passive checks need active", 26)) {
		snprintf(out, size, "object matches none of the required (%s)", msg);
		return;
	}
	if (sscanf(msg, "missing key '%127[^']'", name) == 1) {
		snprintf(out, size, "property \"%s\" is required (%s)", name, msg);
		return;
	}
	if (strstr(msg, "not supported by xlb") || !v) {
		snprintf(out, size, "%s", msg);
		return;
	}
	if (strstr(msg, "must be an integer") || strstr(msg, "HTTP status code")) {
		range = strpbrk(msg, "0123456789");
		if (!json_is_integer(v)) {
			snprintf(out, size, "wrong type: expected integer, got %s", schema_type(v));
			return;
		}
		x = json_integer_value(v);
		if (range && sscanf(range, "%lld-%lld", &lo, &hi) == 2 && (x < lo || x > hi)) {
			snprintf(out, size, "expected %lld to be at %s %lld", x,
				 x < lo ? "least" : "most", x < lo ? lo : hi);
			return;
		}
	} else if (!strcmp(msg, "must be true or false") && !json_is_boolean(v)) {
		snprintf(out, size, "wrong type: expected boolean, got %s", schema_type(v));
		return;
	} else if (!strncmp(msg, "duplicate ", 10)) {
		snprintf(out, size, "expected unique items but items are equal (%s)", msg);
		return;
	} else if (!strcmp(msg, "must not be empty") && json_is_string(v)) {
		snprintf(out, size, "string too short, expected at least 1, got 0");
		return;
	} else if (!strcmp(msg, "must not be empty") && json_is_array(v)) {
		snprintf(out, size, "expect array to have at least 1 items");
		return;
	} else if (sscanf(msg, "must be at most %zu characters", &max) == 1 && json_is_string(v)) {
		snprintf(out, size, "string too long, expected at most %zu, got %zu", max,
			 utf8_len(json_string_value(v)));
		return;
	} else if (!strncmp(msg, "must be a mapping", 17) && !json_is_object(v)) {
		/* with xlb's note, if it has one: "must be a mapping (...)" */
		snprintf(out, size, "wrong type: expected object, got %s%s", schema_type(v),
			 !strncmp(msg + 17, " (", 2) ? msg + 17 : "");
		return;
	} else if (!strcmp(msg, "must be a string") && !json_is_string(v)) {
		snprintf(out, size, "wrong type: expected string, got %s", schema_type(v));
		return;
	} else if (json_is_number(v) || json_is_boolean(v)) {
		/* Every other key xlb checks this way holds a string. */
		snprintf(out, size, "wrong type: expected string, got %s", schema_type(v));
		return;
	} else if (!strncmp(msg, "must be a host name", 19) && json_is_string(v)) {
		snprintf(out, size, "failed to match pattern (%s) with \"%s\"", msg + 8,
			 json_string_value(v));
		return;
	} else if (strstr(msg, ", not '") && json_is_string(v)) {
		snprintf(out, size, "matches none of the enum values (%s)", msg);
		return;
	}
	snprintf(out, size, "%s", msg);
}

/*
 * One step of an error path: ".name", "[3]" or "[\"host:port\"]". Its
 * text (the key, or the index) in @name; the rest of the path returned,
 * NULL at the end.
 */
static const char *path_step(const char *p, char *name, size_t size, int *index)
{
	const char *end;

	*index = -1;
	if (*p == '.') {
		end = p + 1 + strcspn(p + 1, ".[");
		snprintf(name, size, "%.*s", (int)(end - p - 1), p + 1);
		return end;
	}
	if (p[0] == '[' && p[1] == '"') {
		end = strstr(p + 2, "\"]");
		if (!end)
			return NULL;
		snprintf(name, size, "%.*s", (int)(end - p - 2), p + 2);
		return end + 2;
	}
	if (*p == '[') {
		*index = atoi(p + 1);
		end = strchr(p, ']');
		return end ? end + 1 : NULL;
	}
	return NULL;
}

/*
 * @e, a problem at @rest (the path below the object, "" for the object
 * itself) of the object @obj the client sent, as APISIX says it:
 * 'property "checks" validation failed: property "active" validation
 * failed: expected 0 to be at least 1'. Nodes, one of two forms in
 * APISIX's schema, fail as "object matches none of the required".
 */
/* snprintf at @o in @out, @o moved on; what does not fit is cut. */
static void append(char *out, size_t size, size_t *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *out, size_t size, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *o, size - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o = *o + n < size ? *o + n : size - 1;
}

static void apisix_error(const char *rest, json_t *obj, const char *msg, char *out, size_t size)
{
	char name[128], reason[300];
	const char *p = rest;
	json_t *v = obj;
	int index, in_nodes = 0, node_key = 0;
	size_t o = 0;

	append(out, size, &o, "invalid configuration: ");
	while (p && *p) {
		p = path_step(p, name, sizeof(name), &index);
		if (!p)
			break;
		node_key = in_nodes == 1 && index < 0;
		if (index >= 0) {
			v = json_array_get(v, index);
			append(out, size, &o, "failed to validate item %d: ", index + 1);
		} else if (node_key) {
			/* a node of the hash form: "HOST:PORT": WEIGHT */
			v = json_object_get(v, name);
			if (!strncmp(msg, "port must be", 12) && strrchr(name, ':')) {
				append(out, size, &o, "invalid port %s", strrchr(name, ':') + 1);
				return;
			}
			append(out, size, &o, "[\"%s\"]%s: ", name,
			       !strncmp(msg, "weight ", 7) ? " weight" : "");
		} else {
			v = json_object_get(v, name);
			append(out, size, &o, "property \"%s\" validation failed: ", name);
		}
		if (in_nodes)
			in_nodes++;
		if (!strcmp(name, "nodes") && index < 0 && !in_nodes) {
			in_nodes = 1;
			append(out, size, &o, "object matches none of the required: ");
		}
	}
	/* The hash form names no key: the value is the weight, the key its address. */
	if (node_key && !strncmp(msg, "weight ", 7))
		msg += 7;
	else if (node_key)
		v = NULL;
	apisix_reason(msg, v, reason, sizeof(reason));
	append(out, size, &o, "%s", reason);
}

/*
 * The id of the object at @index of @kind in the document after an edit
 * of @kind/@id (a delete when @del), found in the document before it.
 */
static const char *other_id(json_t *doc, const char *kind, int index, const char *ekind,
			    const char *id, int del, char *buf, size_t size)
{
	json_t *arr = json_object_get(doc, kind);
	int at = strcmp(kind, ekind) ? -1 : xlb_admin_doc_find(arr, id);

	if (del && at >= 0 && index >= at)
		index++;
	if (index >= (int)json_array_size(arr))
		return id; /* the new object */
	return obj_id(json_array_get(arr, index), buf, size);
}

/*
 * The answer to an edit of @kind/@id with @obj (NULL: a delete) that does
 * not validate: its problems in the client's terms. A problem in the
 * object sent names the key in it as APISIX does; one in another object
 * (a stream route that would lose its upstream) names that object.
 */
static json_t *edit_errors_json(json_t *doc, const char *kind, const char *id, json_t *obj,
				const struct xlb_conf_errors *errs)
{
	char line[512], name[40], oid[XLB_ID_LEN + 24], up[XLB_ID_LEN];
	json_t *list = json_array();
	const char *rest;
	size_t i;
	int index, at;

	at = xlb_admin_doc_find(json_object_get(doc, kind), id);
	if (at < 0)
		at = (int)json_array_size(json_object_get(doc, kind));
	for (i = 0; i < errs->n && i < sizeof(errs->e) / sizeof(errs->e[0]); i++) {
		const struct xlb_conf_error *e = &errs->e[i];

		if (sscanf(e->path, "%39[a-z_][%d]", name, &index) != 2 ||
		    !(rest = strchr(e->path, ']'))) {
			snprintf(line, sizeof(line), "invalid configuration: %s: %s", e->path,
				 e->msg);
		} else if (obj && !strcmp(name, kind) && index == at) {
			if (sscanf(e->msg, "dangling upstream_id '%63[^']'", up) == 1)
				snprintf(line, sizeof(line),
					 "failed to fetch upstream info by upstream id [%s], "
					 "response code: 404",
					 up);
			else
				apisix_error(rest + 1, obj, e->msg, line, sizeof(line));
		} else {
			other_id(doc, name, index, kind, id, !obj, oid, sizeof(oid));
			rest += 1 + (rest[1] == '.');
			/* APISIX's delete_checker words for routes, said of a stream route. */
			if (!obj && !strcmp(kind, "upstreams") && !strcmp(name, "stream_routes") &&
			    !strncmp(e->msg, "dangling upstream_id", 20))
				snprintf(line, sizeof(line),
					 "can not delete this upstream, stream_route [%s] is "
					 "still using it now",
					 oid);
			else
				snprintf(line, sizeof(line), "%s %s would be invalid: %s%s%s",
					 kind_one(name), oid, rest, *rest ? ": " : "", e->msg);
		}
		json_array_append_new(list, safe_string(line));
	}
	return json_pack("{s:s, s:o}", "error_msg",
			 json_string_value(json_array_get(list, 0)) ?: "invalid configuration",
			 "errors", list);
}

/* --- the requests ---------------------------------------------------------------- */

/* The body as JSON (any value; NULL for none), or -1 with the answer in @out. */
static int load_body(const char *body, size_t len, json_t **conf, json_t **out)
{
	json_error_t jerr;

	*conf = NULL;
	if (!body || !len)
		return 0;
	*conf = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
	if (*conf)
		return 0;
	*out = error_json("invalid request body: line %d column %d: %s", jerr.line, jerr.column,
			  jerr.text);
	return -1;
}

/*
 * APISIX's check_schema (apisix/upstream.lua), before the schema: a node
 * of the array form whose host is a bare IPv6 address is refused by the
 * Admin API (its data plane, like xlb's file and etcd, takes it as is).
 * The upstream's, or a stream route's inline one's. 1 with the answer.
 */
static int bare_ipv6_node(const char *kind, json_t *obj, json_t **out)
{
	json_t *up = strcmp(kind, "upstreams") ? json_object_get(obj, "upstream") : obj;
	json_t *nodes = json_object_get(up, "nodes"), *nd;
	struct in6_addr a6;
	const char *host;
	size_t i;

	json_array_foreach (nodes, i, nd) {
		host = json_string_value(json_object_get(nd, "host"));
		if (host && inet_pton(AF_INET6, host, &a6) == 1) {
			*out = error_json("invalid configuration: IPv6 address must be enclosed "
					  "with '[' and ']' (node %zu: \"[%s]\")",
					  i + 1, host);
			return 1;
		}
	}
	return 0;
}

/* Write @obj (validated whole by the store) and answer @ok with it. */
static int write_obj(const struct xlb_admin_store *st, const char *method, const char *kind,
		     const char *id, json_t *obj, int ok, json_t **out)
{
	struct xlb_conf_errors errs;
	int err;

	if (bare_ipv6_node(kind, obj, out))
		return 400;
	err = st->put(st->arg, kind, id, obj, &errs);
	if (err) {
		*out = err == -EINVAL ? edit_errors_json(st->doc(st->arg), kind, id, obj, &errs)
				      : error_json("%s", strerror(-err));
		return err == -EINVAL ? 400 : 500;
	}
	counter_write(st, kind, id, obj);
	pr_info("admin: %s %s %s\n", method, kind, id);
	/*
	 * The object as written (with etcd, the running configuration gets it
	 * a moment later, through the watch).
	 */
	json_object_set_new(obj, "id", json_string(id));
	*out = entry(kind, obj);
	return ok;
}

static int do_patch(const struct xlb_admin_store *st, const char *kind, const char *id,
		    const char *sub, json_t *arr, json_t *conf, json_t **out)
{
	char idbuf[XLB_ID_LEN + 1];
	json_t *obj;
	int at, has, code;

	if (!conf) {
		*out = error_json("missing new configuration");
		return 400;
	}
	if (!*sub && !json_is_object(conf)) {
		*out = error_json("invalid configuration");
		return 400;
	}
	at = json_is_array(arr) ? xlb_admin_doc_find(arr, id) : -1;
	if (at < 0) {
		*out = error_json("%s %s not found", kind, id);
		return 404;
	}
	obj = json_deep_copy(json_array_get(arr, at));
	if (!obj) {
		*out = error_json("out of memory");
		return 500;
	}
	if (*sub) {
		obj = patch_at(obj, sub, conf, out);
		if (!obj)
			return 400;
		if (!json_is_object(obj)) {
			json_decref(obj);
			*out = error_json("invalid configuration");
			return 400;
		}
	} else {
		merge(obj, conf);
	}
	/* APISIX's inject_timestamp for PATCH: update_time renewed unless the body sets it. */
	if (!json_object_get(obj, "create_time"))
		json_object_set_new(obj, "create_time", json_integer((json_int_t)time(NULL)));
	if (*sub || !json_object_get(conf, "update_time"))
		json_object_set_new(obj, "update_time", json_integer((json_int_t)time(NULL)));
	/* check_conf: the merged id must be the path's. */
	has = body_id(obj, idbuf, sizeof(idbuf), out);
	if (has > 0 && strcmp(idbuf, id)) {
		*out = error_json("wrong %s id", kind_one(kind));
		json_decref(obj);
		return 400;
	}
	if (has < 0) {
		json_decref(obj);
		return 400;
	}
	code = write_obj(st, "PATCH", kind, id, obj, 200, out);
	json_decref(obj);
	return code;
}

static int do_delete(const struct xlb_admin_store *st, const char *kind, const char *id,
		     json_t **out)
{
	struct xlb_conf_errors errs;
	char path_key[160];
	int err;

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
		*out = edit_errors_json(st->doc(st->arg), kind, id, NULL, &errs);
		return 400;
	}
	if (err) {
		*out = error_json("%s", strerror(-err));
		return 500;
	}
	counter_write(st, kind, id, NULL);
	pr_info("admin: deleted %s %s\n", kind, id);
	snprintf(path_key, sizeof(path_key), "/apisix/%s/%s", kind, id);
	*out = json_pack("{s:s, s:s}", "deleted", "1", "key", path_key);
	return 200;
}

/* PUT and POST: APISIX's check_conf (admin/resource.lua), the id first, then the times. */
static int do_put(const struct xlb_admin_store *st, const char *method, const char *kind,
		  const char *id, json_t *arr, json_t *obj, json_t **out)
{
	char idbuf[XLB_ID_LEN + 1];
	const char *forbidden;
	int at, has;

	if (!obj) {
		*out = error_json("missing configurations");
		return 400;
	}
	if (!json_is_object(obj)) {
		*out = error_json("invalid configuration: the body must be a JSON object");
		return 400;
	}
	has = body_id(obj, idbuf, sizeof(idbuf), out);
	if (!strcmp(method, "POST")) {
		if (id[0] || has) {
			if (has < 0)
				json_decref(*out);
			*out = error_json("wrong %s id, do not need it", kind_one(kind));
			return 400;
		}
	} else if (!id[0] && !has) {
		*out = error_json("missing %s id", kind_one(kind));
		return 400;
	} else if (id[0] && has > 0 && strcmp(id, idbuf)) {
		*out = error_json("wrong %s id", kind_one(kind));
		return 400;
	}
	forbidden = forbidden_time(obj);
	if (forbidden) {
		if (has < 0)
			json_decref(*out);
		*out = error_json("the property is forbidden: %s", forbidden);
		return 400;
	}
	if (has < 0)
		return 400;
	if (!strcmp(kind, "stream_routes") && json_object_get(obj, "service_id")) {
		*out = error_json("invalid configuration: property \"service_id\" is not supported "
				  "by xlb: it keeps no service objects; give the stream route "
				  "upstream_id or an inline upstream");
		return 400;
	}
	if (!strcmp(method, "POST"))
		post_id(arr, idbuf, sizeof(idbuf));
	else if (id[0])
		snprintf(idbuf, sizeof(idbuf), "%s", id);
	/* APISIX: 201 when the key is new, 200 when it replaces one. */
	at = json_is_array(arr) ? xlb_admin_doc_find(arr, idbuf) : -1;
	stamp(obj, at < 0 ? NULL : json_array_get(arr, at));
	return write_obj(st, method, kind, idbuf, obj, at < 0 ? 201 : 200, out);
}

int xlb_admin_api(const struct xlb_admin_store *st, const char *method, const char *path,
		  const char *body, size_t len, json_t **out)
{
	char target[256], id[XLB_ID_LEN + 1];
	const char *slash, *kind, *query, *sub;
	json_t *arr, *conf;
	size_t n;
	int at, code;

	query = strchr(path, '?');
	n = query ? (size_t)(query - path) : strlen(path);
	query = query ? query + 1 : "";
	snprintf(target, sizeof(target), "%.*s", (int)n, path);
	slash = strchr(target, '/');
	n = slash ? (size_t)(slash - target) : strlen(target);
	if (n == strlen("upstreams") && !strncmp(target, "upstreams", n)) {
		kind = "upstreams";
	} else if (n == strlen("stream_routes") && !strncmp(target, "stream_routes", n)) {
		kind = "stream_routes";
	} else {
		*out = error_json("Unsupported resource type: %.*s (upstreams, stream_routes)",
				  (int)n, target);
		return 404;
	}
	/* APISIX's stream_routes.lua refuses PATCH, sub-paths included. */
	if (!strcmp(method, "PATCH") && !strcmp(kind, "stream_routes")) {
		*out = error_json("not supported `PATCH` method for stream route");
		return 405;
	}
	/* kind/ID/SUB: only PATCH takes a sub-path (into the object). */
	sub = slash ? strchr(slash + 1, '/') : NULL;
	if (sub && strcmp(method, "PATCH")) {
		*out = error_json("no such resource '%s'", target);
		return 404;
	}
	n = slash ? (sub ? (size_t)(sub - slash - 1) : strlen(slash + 1)) : 0;
	if (n > XLB_ID_LEN) /* too long: id_refused says so */
		n = XLB_ID_LEN;
	snprintf(id, sizeof(id), "%.*s", (int)n, slash ? slash + 1 : "");
	sub = sub ? sub + 1 : "";
	if (id_refused(id, out))
		return 400;

	arr = json_object_get(st->doc(st->arg), kind);
	if (!strcmp(method, "GET")) {
		if (!id[0])
			return list_kind(st, kind, arr, query, out);
		at = json_is_array(arr) ? xlb_admin_doc_find(arr, id) : -1;
		if (at < 0) {
			*out = error_json("%s %s not found", kind, id);
			return 404;
		}
		*out = entry_indexed(st, kind, json_array_get(arr, at));
		return 200;
	}
	if (strcmp(method, "PUT") && strcmp(method, "POST") && strcmp(method, "DELETE") &&
	    strcmp(method, "PATCH")) {
		*out = error_json("method not allowed (GET, PUT, POST, PATCH, DELETE)");
		return 405;
	}
	if (!strcmp(method, "DELETE"))
		return do_delete(st, kind, id, out);
	if (!strcmp(method, "PATCH") && !id[0]) {
		*out = error_json("missing %s id", kind_one(kind));
		return 400;
	}
	if (load_body(body, len, &conf, out))
		return 400;
	if (!strcmp(method, "PATCH"))
		code = do_patch(st, kind, id, sub, arr, conf, out);
	else
		code = do_put(st, method, kind, id, arr, conf, out);
	json_decref(conf);
	return code;
}

int xlb_admin_authorized(int loopback, const char *method, const char *path, const char *key,
			 const char *api_key)
{
	if (loopback && !strcmp(method, "GET") &&
	    (!strcmp(path, "/metrics") || !strcmp(path, "/v1/healthcheck")))
		return 1;
	return key && xlb_api_key_equal(key, api_key);
}
