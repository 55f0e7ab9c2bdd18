/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The schema engine: tables of keys (config/schema.h) applied to a YAML
 * document, with every problem reported where it is. It knows nothing of
 * upstreams or routes: xlb's tables are in tables.c, tables_discovery.c
 * and nodes.c.
 *
 * Reading. libyaml's document API loads the whole text into a node graph
 * in which every node carries its line and column; YAML 1.1 is a superset
 * of the JSON we accept (tabs are fine inside flow collections), so one
 * parser serves both. libyaml does not resolve scalar types: we do, by the
 * YAML 1.2 core schema, from the scalar's text and style. A plain scalar is
 * null ("", ~, null), a boolean (true, false), an integer ([-+]?[0-9]+,
 * always decimal) or a float; yes/no/on/off and every quoted scalar are
 * strings. A number may stand where a string is expected (`id: 1`,
 * `api_key: 0123` keeps its text), never the reverse (`port: "80"` is an
 * error), as in APISIX's JSON schema.
 *
 * Declaring. Every object is one table of keys: name, type, bounds,
 * default (written as it would be in the document, and converted by the
 * code that converts the document's own values), and the field it fills
 * (offsetof/sizeof). A table may add a check on the whole object. Keys of
 * a mapping that no table names are errors, with a "did you mean" for a
 * near miss (edit distance <= 2) or else the list of valid keys. Keys a
 * table marks unsupported are errors that say why; metadata keys are
 * accepted and ignored.
 *
 * Reporting. Every problem is reported, not just the first: each error
 * records the line and column of the node that is wrong (a value, or the
 * key when the key itself is the problem, or the object when something is
 * missing), a path such as upstreams[0].checks.active.unhealthy.timeouts,
 * and a message that says what is allowed. Errors are sorted by position
 * at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/schema.h"

#define ERRS_MAX ARRAY_SIZE(((struct xlb_conf_errors *)0)->e)

/* --- errors -------------------------------------------------------------- */

static void report_v(struct parser *p, unsigned int line, unsigned int col, const char *path,
		     const char *fmt, va_list ap)
{
	struct xlb_conf_error *e;

	if (p->errs->n++ >= ERRS_MAX)
		return;
	e = &p->errs->e[p->errs->n - 1];
	e->line = line;
	e->col = col;
	snprintf(e->path, sizeof(e->path), "%s", path);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

void xlb_schema_report_at(struct parser *p, unsigned int line, unsigned int col, const char *path,
			  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(p, line, col, path, fmt, ap);
	va_end(ap);
}

void xlb_schema_report(struct parser *p, const yaml_node_t *n, const char *path, const char *fmt,
		       ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(p, line_of(n), n ? (unsigned int)n->start_mark.column + 1 : 0, path, fmt, ap);
	va_end(ap);
}

void xlb_schema_path_fmt(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, PATH_LEN, fmt, ap);
	va_end(ap);
}

void xlb_schema_path_key(char *dst, const char *base, const char *name)
{
	xlb_schema_path_fmt(dst, "%s%s%s", base, *base ? "." : "", name);
}

/* Errors sorted by position; equal positions keep their order. */
void xlb_schema_sort_errors(struct xlb_conf_errors *errs)
{
	size_t n = errs->n < ERRS_MAX ? errs->n : ERRS_MAX, i, j;
	struct xlb_conf_error tmp;

	for (i = 1; i < n; i++) {
		tmp = errs->e[i];
		for (j = i;
		     j > 0 && (errs->e[j - 1].line > tmp.line ||
			       (errs->e[j - 1].line == tmp.line && errs->e[j - 1].col > tmp.col));
		     j--)
			errs->e[j] = errs->e[j - 1];
		errs->e[j] = tmp;
	}
}

/* --- nodes and scalars ---------------------------------------------------- */

static int is_int_text(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* [-+]? ( . digits | digits ( . digits? )? ) ( [eE] [-+]? digits )? */
static int is_float_text(const char *s)
{
	int digits = 0;

	if (*s == '-' || *s == '+')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return !*s;
}

enum kind xlb_schema_kind_of(const char *s, int plain)
{
	if (!plain)
		return SK_STR;
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return SK_NULL;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "false") ||
	    !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return SK_BOOL;
	if (is_int_text(s))
		return SK_INT;
	if (is_float_text(s))
		return SK_FLOAT;
	return SK_STR;
}

enum kind xlb_schema_node_kind(const yaml_node_t *n)
{
	return xlb_schema_kind_of(scalar(n), n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
}

/* A scalar usable as a string: a string or a number, as written. */
const char *xlb_schema_string(const yaml_node_t *n)
{
	enum kind kind;

	if (n->type != YAML_SCALAR_NODE)
		return NULL;
	kind = xlb_schema_node_kind(n);
	if (kind == SK_NULL || kind == SK_BOOL)
		return NULL;
	/* JSON's "\u0000" would cut the string short: refuse it. */
	if (strlen(scalar(n)) != n->data.scalar.length)
		return NULL;
	return scalar(n);
}

/* The value of key name in mapping n (and the key node), or NULL. */
yaml_node_t *xlb_schema_map_find(struct parser *p, yaml_node_t *n, const char *name,
				 yaml_node_t **kn)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k;

	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		k = node_at(p, pair->key);
		if (k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), name)) {
			if (kn)
				*kn = k;
			return node_at(p, pair->value);
		}
	}
	return NULL;
}

/* --- spelling ------------------------------------------------------------- */

/* Levenshtein distance, capped at 3 (all we need to know). */
static unsigned int distance(const char *a, const char *b)
{
	unsigned int row[65], i, j, prev, cur, best;
	size_t la = strlen(a), lb = strlen(b);

	if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		best = row[0];
		for (j = 1; j <= lb; j++) {
			cur = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (cur + 1 < row[j])
				row[j] = cur + 1;
			prev = cur;
			if (row[j] < best)
				best = row[j];
		}
		if (best > 2)
			return 3;
	}
	return row[lb] > 3 ? 3 : row[lb];
}

/* The closest of names to s, if close enough to be a typo of it. */
static const char *closest(const char *s, const char *const *names, size_t n)
{
	unsigned int d, best = 3;
	const char *found = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!names[i])
			continue;
		d = distance(s, names[i]);
		if (d < best && d < strlen(names[i])) {
			best = d;
			found = names[i];
		}
	}
	return found;
}

/* "a, b or c" */
static void join_choices(const struct choice *c, char *buf, size_t len)
{
	size_t n, i, off = 0;

	for (n = 0; c[n].name; n++)
		;
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s",
				i == 0	     ? ""
				: i + 1 == n ? " or "
					     : ", ",
				c[i].name);
}

/* --- converting scalars ---------------------------------------------------- */

void xlb_schema_expect(const struct key *k, char *why, size_t len)
{
	char list[160];

	if (k->expect) {
		snprintf(why, len, "%s", k->expect);
		return;
	}
	switch (k->type) {
	case KT_STR:
		snprintf(why, len, "must be a string");
		break;
	case KT_UINT:
		snprintf(why, len, "must be an integer %lld-%lld", k->min, k->max);
		break;
	case KT_INT:
		if (k->min == INT_MIN && k->max == INT_MAX)
			snprintf(why, len, "must be an integer");
		else
			snprintf(why, len, "must be an integer between %lld and %lld", k->min,
				 k->max);
		break;
	case KT_SECONDS:
		if (k->flags & K_INTEGER)
			snprintf(why, len, "must be an integer %lld-%.0f (%s)", k->min, k->dmax,
				 k->flags & K_MS ? "milliseconds" : "seconds");
		else
			snprintf(why, len, "must be a number of %s > 0 and <= %g",
				 k->flags & K_MS ? "milliseconds" : "seconds", k->dmax);
		break;
	case KT_BOOL:
		snprintf(why, len, "must be true or false");
		break;
	case KT_ENUM:
		join_choices(k->choices, list, sizeof(list));
		snprintf(why, len, "must be %s", list);
		break;
	case KT_STATUSES:
		snprintf(why, len, "must be a list of HTTP status codes 200-599");
		break;
	case KT_STRLIST:
		snprintf(why, len, "must be a list of strings");
		break;
	default:
		snprintf(why, len, "must be a mapping");
		break;
	}
}

static void store_uint(void *field, size_t size, unsigned long long v)
{
	switch (size) {
	case 1:
		*(__u8 *)field = (__u8)v;
		break;
	case 2:
		*(__u16 *)field = (__u16)v;
		break;
	case 4:
		*(__u32 *)field = (__u32)v;
		break;
	default:
		*(__u64 *)field = v;
		break;
	}
}

/* The wrong kind of scalar: say what is expected (and that quotes matter). */
static int wrong_kind(const struct key *k, enum kind kind, const char *s, char *why, size_t len)
{
	size_t n;

	xlb_schema_expect(k, why, len);
	n = strlen(why);
	if (kind == SK_STR && n < len &&
	    (is_int_text(s) || is_float_text(s) || !strcmp(s, "true") || !strcmp(s, "false")))
		snprintf(why + n, len - n, ", not a string");
	return -EINVAL;
}

static int convert_enum(const struct key *k, const char *s, enum kind kind, void *field, char *why,
			size_t len)
{
	const char *names[16] = {0};
	char list[160];
	const char *near;
	size_t i, n = 0;

	for (i = 0; k->choices[i].name; i++) {
		if (n < ARRAY_SIZE(names))
			names[n++] = k->choices[i].name;
		if (kind != SK_STR || strcmp(s, k->choices[i].name))
			continue;
		if (k->flags & K_TEXT)
			snprintf(field, k->size, "%s", s);
		else if (k->size)
			store_uint(field, k->size, (unsigned long long)k->choices[i].value);
		return 0;
	}
	join_choices(k->choices, list, sizeof(list));
	for (i = 0; k->unsupported && k->unsupported[i]; i++) {
		if (!strcmp(s, k->unsupported[i])) {
			snprintf(why, len, "'%s' is not supported by xlb (L4): use %s", s, list);
			return -EINVAL;
		}
	}
	if (kind == SK_NULL) {
		snprintf(why, len, "must be %s", list);
		return -EINVAL;
	}
	near = closest(s, names, n);
	if (near)
		snprintf(why, len, "must be %s, not '%s' (did you mean '%s'?)", list, s, near);
	else
		snprintf(why, len, "must be %s, not '%s'", list, s);
	return -EINVAL;
}

/*
 * Converts scalar text s of the given kind for key k and stores it into
 * the table's struct at obj. Used for the document's values and for the
 * tables' defaults alike. Return: 0, or -EINVAL with a reason in why.
 */
int xlb_schema_convert(const struct key *k, const char *s, enum kind kind, void *obj, char *why,
		       size_t len)
{
	char *field = (char *)obj + k->off;
	unsigned long long u;
	long long v;
	double d;
	char *end;

	switch (k->type) {
	case KT_STR:
		if (kind == SK_NULL || kind == SK_BOOL)
			return wrong_kind(k, kind, s, why, len);
		if (strlen(s) < (size_t)k->min) {
			snprintf(why, len, "must not be empty");
			return -EINVAL;
		}
		if (strlen(s) >= k->size) {
			snprintf(why, len, "must be at most %zu characters", k->size - 1);
			return -EINVAL;
		}
		if (k->check && k->check(s, 0, why, len))
			return -EINVAL;
		snprintf(field, k->size, "%s", s);
		return 0;
	case KT_UINT:
	case KT_INT:
		if (kind != SK_INT)
			return wrong_kind(k, kind, s, why, len);
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || v < k->min || v > k->max)
			return wrong_kind(k, kind, s, why, len);
		if (k->check && k->check(s, (unsigned long long)v, why, len))
			return -EINVAL;
		u = (unsigned long long)v;
		if (k->type == KT_INT)
			*(int *)field = (int)v;
		else if (k->flags & K_BE16)
			*(__be16 *)field = htons((__u16)u);
		else
			store_uint(field, k->size, u);
		return 0;
	case KT_SECONDS:
		if (kind != SK_INT && (kind != SK_FLOAT || k->flags & K_INTEGER))
			return wrong_kind(k, kind, s, why, len);
		d = strtod(s, &end);
		if (!(k->flags & K_INTEGER ? d >= (double)k->min : d > 0) || d > k->dmax)
			return wrong_kind(k, kind, s, why, len);
		*(double *)field = k->flags & K_MS ? d / 1000 : d;
		return 0;
	case KT_BOOL:
		if (kind != SK_BOOL)
			return wrong_kind(k, kind, s, why, len);
		*(int *)field = s[0] == 't' || s[0] == 'T';
		return 0;
	case KT_ENUM:
		return convert_enum(k, s, kind, field, why, len);
	default:
		xlb_schema_expect(k, why, len);
		return -EINVAL;
	}
}

/* --- lists ------------------------------------------------------------------ */

static void parse_statuses(struct parser *p, const struct key *k, yaml_node_t *vn, void *obj,
			   const char *path)
{
	unsigned int codes[XLB_STATUS_MAX], n = 0, i, bad = 0;
	char ipath[PATH_LEN];
	yaml_node_item_t *it;
	yaml_node_t *item;
	long long v;

	if (vn->type != YAML_SEQUENCE_NODE) {
		xlb_schema_report(p, vn, path, "must be a list of HTTP status codes 200-599");
		return;
	}
	if (seq_len(vn) == 0) {
		xlb_schema_report(p, vn, path, "must not be empty");
		return;
	}
	if (seq_len(vn) > XLB_STATUS_MAX) {
		xlb_schema_report(p, vn, path, "must have at most %d status codes", XLB_STATUS_MAX);
		return;
	}
	for (it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
		item = node_at(p, *it);
		xlb_schema_path_fmt(ipath, "%s[%zu]", path,
				    (size_t)(it - vn->data.sequence.items.start));
		if (item->type != YAML_SCALAR_NODE || xlb_schema_node_kind(item) != SK_INT ||
		    (v = strtoll(scalar(item), NULL, 10)) < 200 || v > 599) {
			xlb_schema_report(p, item, ipath, "must be an HTTP status code 200-599");
			bad = 1;
			continue;
		}
		for (i = 0; i < n && codes[i] != (unsigned int)v; i++)
			;
		if (i < n) {
			xlb_schema_report(p, item, ipath, "duplicate status code %lld", v);
			bad = 1;
			continue;
		}
		codes[n++] = (unsigned int)v;
	}
	if (bad)
		return;
	*(unsigned int *)((char *)obj + k->off2) = n;
	memcpy((char *)obj + k->off, codes, n * sizeof(codes[0]));
}

/* Defaults of status lists are written "200 302 ...". */
static void default_statuses(const struct key *k, void *obj)
{
	unsigned int *codes = (unsigned int *)((char *)obj + k->off), n = 0;
	const char *s = k->def;
	char *end;

	while (*s && n < XLB_STATUS_MAX) {
		codes[n++] = (unsigned int)strtoul(s, &end, 10);
		s = end;
	}
	*(unsigned int *)((char *)obj + k->off2) = n;
}

static void parse_strlist(struct parser *p, const struct key *k, yaml_node_t *vn, void *obj,
			  const char *path)
{
	size_t elem = k->size / (size_t)k->max, n, i, j, bad = 0;
	char ipath[PATH_LEN], why[WHY_LEN];
	char *list = (char *)obj + k->off;
	yaml_node_t *item;
	const char *s;

	if (vn->type != YAML_SEQUENCE_NODE) {
		xlb_schema_report(p, vn, path, "must be a list of strings");
		return;
	}
	n = seq_len(vn);
	if (n > (size_t)k->max) {
		xlb_schema_report(p, vn, path, "must have at most %lld entries", k->max);
		return;
	}
	for (i = 0; i < n; i++) {
		item = node_at(p, vn->data.sequence.items.start[i]);
		xlb_schema_path_fmt(ipath, "%s[%zu]", path, i);
		s = xlb_schema_string(item);
		if (!s || !*s) {
			xlb_schema_report(p, item, ipath, "must be a non-empty string");
			bad = 1;
			continue;
		}
		if (strlen(s) >= elem) {
			xlb_schema_report(p, item, ipath, "must be at most %zu characters",
					  elem - 1);
			bad = 1;
			continue;
		}
		if (k->check && k->check(s, 0, why, sizeof(why))) {
			xlb_schema_report(p, item, ipath, "%s", why);
			bad = 1;
			continue;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(list + j * elem, s))
				break;
		if (j < i) {
			xlb_schema_report(p, item, ipath, "duplicate '%s'", s);
			bad = 1;
			continue;
		}
		/* Stored as we go, for the duplicate test; count set at the end. */
		snprintf(list + i * elem, elem, "%s", s);
	}
	if (bad)
		memset(list, 0, k->size);
	else
		*(unsigned int *)((char *)obj + k->off2) = (unsigned int)n;
}

/* --- objects ---------------------------------------------------------------- */

void xlb_schema_defaults(const struct table *t, void *obj)
{
	char why[WHY_LEN];
	const struct key *k;

	for (k = t->keys; k < t->keys + t->nkeys; k++) {
		if (k->type == KT_OBJECT)
			xlb_schema_defaults(k->sub, (char *)obj + k->off);
		else if (k->def && k->type == KT_STATUSES)
			default_statuses(k, obj);
		else if (k->def)
			xlb_schema_convert(k, k->def, xlb_schema_kind_of(k->def, 1), obj, why,
					   sizeof(why));
	}
}

static void unknown_key(struct parser *p, const struct table *t, yaml_node_t *kn, const char *path)
{
	const char *names[KEYS_MAX] = {0}, *s = scalar(kn), *near;
	char list[WHY_LEN];
	size_t i, off = 0;

	if (!strcmp(s, "<<")) {
		xlb_schema_report(p, kn, path, "YAML merge keys (<<) are not supported");
		return;
	}
	list[0] = '\0';
	for (i = 0; i < t->nkeys; i++) {
		if (t->keys[i].type == KT_UNSUPPORTED)
			continue;
		names[i] = t->keys[i].name;
		if (off < sizeof(list))
			off += snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "",
					names[i]);
	}
	near = closest(s, names, t->nkeys);
	if (near)
		xlb_schema_report(p, kn, path, "unknown key '%s' (did you mean '%s'?)", s, near);
	else
		xlb_schema_report(p, kn, path, "unknown key '%s' (valid keys: %s)", s, list);
}

static void parse_value(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			void *obj, const char *path)
{
	char why[WHY_LEN];

	switch (k->type) {
	case KT_META:
		break;
	case KT_UNSUPPORTED:
		xlb_schema_report(p, kn, path, "not supported by xlb (L4)%s%s", k->note ? ": " : "",
				  k->note ? k->note : "");
		break;
	case KT_OBJECT:
		xlb_schema_parse_object(p, k->sub, vn, (char *)obj + k->off, path);
		break;
	case KT_FN:
		k->fn(p, k, kn, vn, obj, path);
		break;
	case KT_STATUSES:
		parse_statuses(p, k, vn, obj, path);
		break;
	case KT_STRLIST:
		parse_strlist(p, k, vn, obj, path);
		break;
	default:
		if (vn->type != YAML_SCALAR_NODE) {
			xlb_schema_expect(k, why, sizeof(why));
			xlb_schema_report(p, vn, path, "%s", why);
		} else if (strlen(scalar(vn)) != vn->data.scalar.length) {
			xlb_schema_report(p, vn, path, "must not contain NUL characters");
		} else if (xlb_schema_convert(k, scalar(vn), xlb_schema_node_kind(vn), obj, why,
					      sizeof(why))) {
			xlb_schema_report(p, vn, path, "%s", why);
		}
		break;
	}
}

void xlb_schema_parse_object(struct parser *p, const struct table *t, yaml_node_t *n, void *obj,
			     const char *path)
{
	yaml_node_t *seen[KEYS_MAX] = {0}, *kn, *vn;
	char kpath[PATH_LEN];
	yaml_node_pair_t *pair;
	const struct key *k;
	size_t i;

	if (n->type != YAML_MAPPING_NODE) {
		xlb_schema_report(p, n, path, "must be a mapping");
		return;
	}
	if (t->present)
		*(int *)((char *)obj + t->present - 1) = 1;
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		kn = node_at(p, pair->key);
		vn = node_at(p, pair->value);
		if (!xlb_schema_string(kn)) {
			xlb_schema_report(p, kn, path, "keys must be strings");
			continue;
		}
		for (k = t->keys; k < t->keys + t->nkeys && strcmp(k->name, scalar(kn)); k++)
			;
		if (k == t->keys + t->nkeys) {
			unknown_key(p, t, kn, path);
			continue;
		}
		i = k - t->keys;
		if (seen[i]) {
			xlb_schema_report(p, kn, path, "duplicate key '%s' (first at line %u)",
					  k->name, line_of(seen[i]));
			continue;
		}
		seen[i] = kn;
		xlb_schema_path_key(kpath, path, k->name);
		parse_value(p, k, kn, vn, obj, kpath);
	}
	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		if ((k->flags & K_REQUIRED) && !seen[i])
			xlb_schema_report(p, n, path, "missing key '%s'%s%s%s", k->name,
					  k->note ? " (" : "", k->note ? k->note : "",
					  k->note ? ")" : "");
	}
	if (t->check)
		t->check(p, n, obj, path);
}

int xlb_schema_syntax_error(struct parser *p, const yaml_parser_t *yp, const char *text)
{
	unsigned int line = 1, col = 1;
	size_t i;

	if (yp->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (yp->error == YAML_READER_ERROR) {
		/* The reader gives a byte offset, not a mark. */
		for (i = 0; i < yp->problem_offset && text[i]; i++, col++) {
			if (text[i] == '\n') {
				line++;
				col = 0;
			}
		}
		xlb_schema_report_at(p, line, col, "", "%s",
				     yp->problem ? yp->problem : "unreadable text");
	} else if (yp->context) {
		xlb_schema_report_at(p, yp->problem_mark.line + 1, yp->problem_mark.column + 1, "",
				     "%s (%s that started at line %zu)", yp->problem, yp->context,
				     yp->context_mark.line + 1);
	} else {
		xlb_schema_report_at(p, yp->problem_mark.line + 1, yp->problem_mark.column + 1, "",
				     "%s", yp->problem ? yp->problem : "not YAML");
	}
	return -EINVAL;
}
