/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The configuration parser: a YAML or JSON document -> struct xlb_conf.
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
 * Declaring. Every object (xlb settings, admin, upstream, node, checks,
 * active, passive and their healthy/unhealthy blocks, stream_route) is one
 * table of keys: name, type, bounds, default (written as it would be in the
 * document, and converted by the code that converts the document's own
 * values), and the field it fills (offsetof/sizeof). A table may add a
 * check on the whole object (nodes or discovery, api_key off loopback...).
 * Keys of a mapping that no table names are errors, with a "did you mean"
 * for a near miss (edit distance <= 2) or else the list of valid keys.
 * APISIX keys that xlb cannot honour at L4 are errors that say so; pure
 * metadata (desc, labels, create_time, update_time, a node's metadata) is
 * accepted and ignored.
 *
 * Validating, then applying. The model is built in a private struct xlb_conf
 * and handed to the caller only if no problem was found; otherwise it is
 * freed and the caller's struct stays zeroed. Every problem is reported,
 * not just the first: each error records the line and column of the node
 * that is wrong (a value, or the key when the key itself is the problem, or
 * the object when something is missing), a path such as
 * upstreams[0].checks.active.unhealthy.timeouts, and a message that says
 * what is allowed. Errors are sorted by position at the end. Problems that
 * follow from another (an upstream that failed to parse, used by a route)
 * are not reported twice.
 *
 * Order. Upstreams are parsed first, then stream routes (an inline upstream
 * becomes the upstream "route:<route id>"; ':' is not allowed in ids, so
 * the name cannot collide), then everything that relates objects: unique
 * ids, dangling upstream_id, unique VIPs, IPv6 VIPs with IPv4 nodes.
 * Duplicate checks sort, so 10k routes and 100k nodes stay fast.
 *
 * Where xlb differs from APISIX, on purpose: a node's port is required (an
 * L4 balancer cannot default it from an HTTP scheme), and so is its weight
 * in the array form, as APISIX's own schema says; nodes are address
 * literals (names need discovery_type: dns); server_addr is required (it
 * is the VIP, not a filter) and is one address, not a prefix; intervals
 * take fractions of a second, and 0 (as in APISIX) means no active probe
 * in that state; remote_addr's host bits are
 * cleared. As APISIX: passive checks only together with active ones.
 * YAML anchors and aliases work; merge keys (<<) and a second document in
 * the stream are errors.
 *
 * A file cut short must not remove every VIP. An empty document is an
 * error, and so is one without stream_routes (no routes is written
 * "stream_routes: []"), except with deployment.etcd, where the routes come
 * from etcd. Text cut inside a value is a syntax error from libyaml, and a
 * NUL byte (after which the parser would see nothing) is refused with its
 * position when the file is read.
 *
 * Limits that keep a hostile document (aliases of aliases) small: at most
 * 65536 upstreams, XLB_MAX_VIPS stream routes, XLB_MAX_MEMBERS nodes in
 * all upstreams, and 4096 values 16 levels deep in one discovery_args.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "base/addr.h"
#include "config/config.h"
#include "dataplane/maglev.h"
#include "base/apikey.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define STR_(x)			#x
#define STR(x)			STR_(x)

#define PATH_LEN		sizeof(((struct xlb_conf_error *)0)->path)
#define WHY_LEN			sizeof(((struct xlb_conf_error *)0)->msg)
#define ERRS_MAX		ARRAY_SIZE(((struct xlb_conf_errors *)0)->e)
#define KEYS_MAX		32		/* keys in one table */
#define UPSTREAMS_MAX		65536
#define ROUTES_MAX		XLB_MAX_VIPS
#define NODES_MAX		XLB_MAX_MEMBERS	/* in all upstreams together */
#define ARGS_DEPTH_MAX		16		/* discovery_args nesting */
#define ARGS_VALUES_MAX		4096		/* values in one discovery_args */
#define SECONDS_MAX		3600
#define FILE_MAX		(64 << 20)
/* An inline upstream's id: "route:" + the route's id, in XLB_ID_LEN. */
#define INLINE_PREFIX		"route:"
#define ROUTE_ID_INLINE_MAX	(XLB_ID_LEN - sizeof(INLINE_PREFIX))

struct parser;
struct key;

/* What a scalar's text and style make it (YAML 1.2 core schema). */
enum kind {
	SK_NULL,
	SK_BOOL,
	SK_INT,
	SK_FLOAT,
	SK_STR,
};

enum ktype {
	KT_STR,		/* char[size]; min = shortest length */
	KT_UINT,	/* unsigned, [min, max], stored in size bytes */
	KT_INT,		/* signed, [min, max], int */
	KT_SECONDS,	/* double, > 0 and <= dmax; fractions allowed */
	KT_BOOL,	/* int 0/1 */
	KT_ENUM,	/* one of choices: its value, or its name if K_TEXT */
	KT_STATUSES,	/* HTTP status codes: count at off2, array at off */
	KT_STRLIST,	/* strings: count at off2, char[max][size / max] at off */
	KT_OBJECT,	/* a nested table filling the struct at off */
	KT_FN,		/* parsed by fn */
	KT_META,	/* metadata: accepted and ignored */
	KT_UNSUPPORTED,	/* an APISIX key that xlb (L4) cannot honour */
};

#define K_REQUIRED	(1U << 0)
#define K_TEXT		(1U << 1)	/* KT_ENUM: store the name, not the value */
#define K_BE16		(1U << 2)	/* KT_UINT: store in network byte order */
#define K_ZERO_OK	(1U << 3)	/* KT_SECONDS: 0 allowed (interval 0 = no probes) */
#define K_MS		(1U << 4)	/* KT_SECONDS: written in milliseconds */

struct choice {
	const char *name;
	int value;
};

/* Checks a converted value; text for strings, v for numbers. */
typedef int (*check_fn)(const char *text, unsigned long long v, char *why, size_t len);
typedef void (*parse_fn)(struct parser *p, const struct key *k, yaml_node_t *kn,
			 yaml_node_t *vn, void *obj, const char *path);
typedef void (*table_fn)(struct parser *p, yaml_node_t *n, void *obj, const char *path);

struct key {
	const char *name;
	enum ktype type;
	size_t off, size;		/* the field in the table's struct */
	size_t off2;			/* KT_STATUSES, KT_STRLIST: the count */
	long long min, max;		/* bounds; lists: max entries */
	double dmax;			/* KT_SECONDS */
	const char *def;		/* default, as written in a document */
	const struct choice *choices;	/* KT_ENUM, ending with { NULL } */
	const char *const *unsupported;	/* KT_ENUM: APISIX values xlb rejects */
	const struct table *sub;	/* KT_OBJECT */
	parse_fn fn;			/* KT_FN */
	check_fn check;			/* after conversion, before storing */
	const char *expect;		/* what is allowed, if not the type's text */
	unsigned int flags;		/* K_* */
	const char *note;		/* why it is required / unsupported */
};

struct table {
	const struct key *keys;
	size_t nkeys;
	size_t present;		/* offset + 1 of an int set when given; 0: none */
	table_fn check;		/* cross-key checks, after the keys */
};

#define F(type, m)	.off = offsetof(struct type, m), .size = sizeof(((struct type *)0)->m)
#define PRESENT(type, m) (offsetof(struct type, m) + 1)
#define TABLE(k, ...)	{ .keys = k, .nkeys = ARRAY_SIZE(k), __VA_ARGS__ }

/* What the parser knows about one upstream or route while it runs. */
struct item {
	yaml_node_t *node;	/* its mapping */
	int ok;			/* parsed without a problem */
};

struct parser {
	yaml_document_t *doc;
	struct xlb_conf *conf;
	struct xlb_conf_errors *errs;
	int err;			/* -ENOMEM, sticky */
	yaml_node_t *upstreams;		/* the top-level sequences, found ... */
	yaml_node_t *routes;		/* ... first, parsed in order later */
	yaml_node_t *inline_up;		/* the route being parsed: its upstream */
	size_t nodes;			/* nodes in all upstreams so far */
	struct item *ups, *rts;
};

static void parse_object(struct parser *p, const struct table *t, yaml_node_t *n, void *obj,
			 const char *path);

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

/* A problem at a known line and column (1-based; 0: unknown). */
static void report_at(struct parser *p, unsigned int line, unsigned int col,
		      const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void report_at(struct parser *p, unsigned int line, unsigned int col,
		      const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(p, line, col, path, fmt, ap);
	va_end(ap);
}

static unsigned int line_of(const yaml_node_t *n)
{
	return n ? (unsigned int)n->start_mark.line + 1 : 0;
}

/* A problem at node n (NULL: position unknown). */
static void report(struct parser *p, const yaml_node_t *n, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(struct parser *p, const yaml_node_t *n, const char *path,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(p, line_of(n), n ? (unsigned int)n->start_mark.column + 1 : 0, path, fmt, ap);
	va_end(ap);
}

static void path_fmt(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void path_fmt(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, PATH_LEN, fmt, ap);
	va_end(ap);
}

static void path_key(char *dst, const char *base, const char *name)
{
	path_fmt(dst, "%s%s%s", base, *base ? "." : "", name);
}

/* Errors sorted by position; equal positions keep their order. */
static void sort_errors(struct xlb_conf_errors *errs)
{
	size_t n = errs->n < ERRS_MAX ? errs->n : ERRS_MAX, i, j;
	struct xlb_conf_error tmp;

	for (i = 1; i < n; i++) {
		tmp = errs->e[i];
		for (j = i; j > 0 && (errs->e[j - 1].line > tmp.line ||
				      (errs->e[j - 1].line == tmp.line &&
				       errs->e[j - 1].col > tmp.col)); j--)
			errs->e[j] = errs->e[j - 1];
		errs->e[j] = tmp;
	}
}

/* --- nodes and scalars ---------------------------------------------------- */

static yaml_node_t *node_at(struct parser *p, int i)
{
	return yaml_document_get_node(p->doc, i);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

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

static enum kind kind_of(const char *s, int plain)
{
	if (!plain)
		return SK_STR;
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return SK_NULL;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") ||
	    !strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return SK_BOOL;
	if (is_int_text(s))
		return SK_INT;
	if (is_float_text(s))
		return SK_FLOAT;
	return SK_STR;
}

static enum kind node_kind(const yaml_node_t *n)
{
	return kind_of(scalar(n), n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
}

/* A scalar usable as a string: a string or a number, as written. */
static const char *string_of(const yaml_node_t *n)
{
	enum kind kind;

	if (n->type != YAML_SCALAR_NODE)
		return NULL;
	kind = node_kind(n);
	if (kind == SK_NULL || kind == SK_BOOL)
		return NULL;
	/* JSON's "\u0000" would cut the string short: refuse it. */
	if (strlen(scalar(n)) != n->data.scalar.length)
		return NULL;
	return scalar(n);
}

/* The value of key name in mapping n (and the key node), or NULL. */
static yaml_node_t *map_find(struct parser *p, yaml_node_t *n, const char *name,
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

static size_t seq_len(const yaml_node_t *n)
{
	return n->data.sequence.items.top - n->data.sequence.items.start;
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
				i == 0 ? "" : i + 1 == n ? " or " : ", ", c[i].name);
}

/* --- converting scalars ---------------------------------------------------- */

static void expect(const struct key *k, char *why, size_t len)
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
		snprintf(why, len, "must be a number of %s %s and <= %g",
			 k->flags & K_MS ? "milliseconds" : "seconds",
			 k->flags & K_ZERO_OK ? ">= 0" : "> 0", k->dmax);
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
static int wrong_kind(const struct key *k, enum kind kind, const char *s, char *why,
		      size_t len)
{
	size_t n;

	expect(k, why, len);
	n = strlen(why);
	if (kind == SK_STR && n < len &&
	    (is_int_text(s) || is_float_text(s) || !strcmp(s, "true") || !strcmp(s, "false")))
		snprintf(why + n, len - n, ", not a string");
	return -EINVAL;
}

static int convert_enum(const struct key *k, const char *s, enum kind kind, void *field,
			char *why, size_t len)
{
	const char *names[16] = { 0 };
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
static int convert(const struct key *k, const char *s, enum kind kind, void *obj,
		   char *why, size_t len)
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
		if (kind != SK_INT && kind != SK_FLOAT)
			return wrong_kind(k, kind, s, why, len);
		d = strtod(s, &end);
		if (!((d > 0 || (d == 0 && k->flags & K_ZERO_OK)) && d <= k->dmax))
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
		expect(k, why, len);
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
		report(p, vn, path, "must be a list of HTTP status codes 200-599");
		return;
	}
	if (seq_len(vn) == 0) {
		report(p, vn, path, "must not be empty");
		return;
	}
	if (seq_len(vn) > XLB_STATUS_MAX) {
		report(p, vn, path, "must have at most %d status codes", XLB_STATUS_MAX);
		return;
	}
	for (it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
		item = node_at(p, *it);
		path_fmt(ipath, "%s[%zu]", path, (size_t)(it - vn->data.sequence.items.start));
		if (item->type != YAML_SCALAR_NODE || node_kind(item) != SK_INT ||
		    (v = strtoll(scalar(item), NULL, 10)) < 200 || v > 599) {
			report(p, item, ipath, "must be an HTTP status code 200-599");
			bad = 1;
			continue;
		}
		for (i = 0; i < n && codes[i] != (unsigned int)v; i++)
			;
		if (i < n) {
			report(p, item, ipath, "duplicate status code %lld", v);
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
		report(p, vn, path, "must be a list of strings");
		return;
	}
	n = seq_len(vn);
	if (n > (size_t)k->max) {
		report(p, vn, path, "must have at most %lld entries", k->max);
		return;
	}
	for (i = 0; i < n; i++) {
		item = node_at(p, vn->data.sequence.items.start[i]);
		path_fmt(ipath, "%s[%zu]", path, i);
		s = string_of(item);
		if (!s || !*s) {
			report(p, item, ipath, "must be a non-empty string");
			bad = 1;
			continue;
		}
		if (strlen(s) >= elem) {
			report(p, item, ipath, "must be at most %zu characters", elem - 1);
			bad = 1;
			continue;
		}
		if (k->check && k->check(s, 0, why, sizeof(why))) {
			report(p, item, ipath, "%s", why);
			bad = 1;
			continue;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(list + j * elem, s))
				break;
		if (j < i) {
			report(p, item, ipath, "duplicate '%s'", s);
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

static void apply_defaults(const struct table *t, void *obj)
{
	char why[WHY_LEN];
	const struct key *k;

	for (k = t->keys; k < t->keys + t->nkeys; k++) {
		if (k->type == KT_OBJECT)
			apply_defaults(k->sub, (char *)obj + k->off);
		else if (k->def && k->type == KT_STATUSES)
			default_statuses(k, obj);
		else if (k->def)
			convert(k, k->def, kind_of(k->def, 1), obj, why, sizeof(why));
	}
}

static void unknown_key(struct parser *p, const struct table *t, yaml_node_t *kn,
			const char *path)
{
	const char *names[KEYS_MAX] = { 0 }, *s = scalar(kn), *near;
	char list[WHY_LEN];
	size_t i, off = 0;

	if (!strcmp(s, "<<")) {
		report(p, kn, path, "YAML merge keys (<<) are not supported");
		return;
	}
	list[0] = '\0';
	for (i = 0; i < t->nkeys; i++) {
		if (t->keys[i].type == KT_UNSUPPORTED)
			continue;
		names[i] = t->keys[i].name;
		if (off < sizeof(list))
			off += snprintf(list + off, sizeof(list) - off, "%s%s",
					off ? ", " : "", names[i]);
	}
	near = closest(s, names, t->nkeys);
	if (near)
		report(p, kn, path, "unknown key '%s' (did you mean '%s'?)", s, near);
	else
		report(p, kn, path, "unknown key '%s' (valid keys: %s)", s, list);
}

static void parse_value(struct parser *p, const struct key *k, yaml_node_t *kn,
			yaml_node_t *vn, void *obj, const char *path)
{
	char why[WHY_LEN];

	switch (k->type) {
	case KT_META:
		break;
	case KT_UNSUPPORTED:
		report(p, kn, path, "not supported by xlb (L4)%s%s", k->note ? ": " : "",
		       k->note ? k->note : "");
		break;
	case KT_OBJECT:
		parse_object(p, k->sub, vn, (char *)obj + k->off, path);
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
			expect(k, why, sizeof(why));
			report(p, vn, path, "%s", why);
		} else if (strlen(scalar(vn)) != vn->data.scalar.length) {
			report(p, vn, path, "must not contain NUL characters");
		} else if (convert(k, scalar(vn), node_kind(vn), obj, why, sizeof(why))) {
			report(p, vn, path, "%s", why);
		}
		break;
	}
}

static void parse_object(struct parser *p, const struct table *t, yaml_node_t *n, void *obj,
			 const char *path)
{
	yaml_node_t *seen[KEYS_MAX] = { 0 }, *kn, *vn;
	char kpath[PATH_LEN];
	yaml_node_pair_t *pair;
	const struct key *k;
	size_t i;

	if (n->type != YAML_MAPPING_NODE) {
		report(p, n, path, "must be a mapping");
		return;
	}
	if (t->present)
		*(int *)((char *)obj + t->present - 1) = 1;
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		kn = node_at(p, pair->key);
		vn = node_at(p, pair->value);
		if (!string_of(kn)) {
			report(p, kn, path, "keys must be strings");
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
			report(p, kn, path, "duplicate key '%s' (first at line %u)", k->name,
			       line_of(seen[i]));
			continue;
		}
		seen[i] = kn;
		path_key(kpath, path, k->name);
		parse_value(p, k, kn, vn, obj, kpath);
	}
	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		if ((k->flags & K_REQUIRED) && !seen[i])
			report(p, n, path, "missing key '%s'%s%s%s", k->name,
			       k->note ? " (" : "", k->note ? k->note : "", k->note ? ")" : "");
	}
	if (t->check)
		t->check(p, n, obj, path);
}

/* --- checks of single values --------------------------------------------- */

static int check_id(const char *s, unsigned long long v, char *why, size_t len)
{
	for (; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-')
			continue;
		snprintf(why, len, "may hold only letters, digits, '.', '_' and '-'");
		return -EINVAL;
	}
	return 0;
}

/* The kernel's dev_valid_name(), less the length (the field bounds it). */
static int check_ifname(const char *s, unsigned long long v, char *why, size_t len)
{
	if (strcmp(s, ".") && strcmp(s, "..") && !strpbrk(s, "/: \t\n\r\v\f"))
		return 0;
	snprintf(why, len, "'%s' is not an interface name (no '/', ':' or white space)", s);
	return -EINVAL;
}

#define PRIME_EXPECT	"must be a prime 3-" STR(XLB_MAGLEV_MAX) " (e.g. " \
			STR(XLB_MAGLEV_DEFAULT) ")"

static int check_prime(const char *s, unsigned long long v, char *why, size_t len)
{
	if (v <= UINT32_MAX && xlb_maglev_size_valid((__u32)v))
		return 0;
	snprintf(why, len, PRIME_EXPECT);
	return -EINVAL;
}

static int check_cidr(const char *s, __u8 family, char *why, size_t len)
{
	struct xlb_addr_key a;
	unsigned int plen;

	if (xlb_cidr_parse(s, &a, &plen, why, len))
		return -EINVAL;
	if (a.family == family)
		return 0;
	snprintf(why, len, "must be an IPv%d prefix ADDR/LEN, not '%s'", family, s);
	return -EINVAL;
}

static int check_cidr4(const char *s, unsigned long long v, char *why, size_t len)
{
	return check_cidr(s, XLB_AF_INET, why, len);
}

static int check_cidr6(const char *s, unsigned long long v, char *why, size_t len)
{
	return check_cidr(s, XLB_AF_INET6, why, len);
}

static int check_addr(const char *s, __u8 family, char *why, size_t len)
{
	struct xlb_addr_key a;

	if (xlb_addr_parse(s, &a, why, len))
		return -EINVAL;
	if (a.family == family)
		return 0;
	snprintf(why, len, "must be an IPv%d address, not '%s'", family, s);
	return -EINVAL;
}

static int check_addr4(const char *s, unsigned long long v, char *why, size_t len)
{
	return check_addr(s, XLB_AF_INET, why, len);
}

static int check_addr6(const char *s, unsigned long long v, char *why, size_t len)
{
	return check_addr(s, XLB_AF_INET6, why, len);
}

static int check_listen(const char *s, unsigned long long v, char *why, size_t len)
{
	struct xlb_addr_key a;
	__u16 port = 0;

	if (!*s || (!xlb_endpoint_parse(s, &a, &port, NULL, 0) && port))
		return 0;
	snprintf(why, len, "must be ADDR:PORT (e.g. 127.0.0.1:9180), or \"\" for no admin API");
	return -EINVAL;
}

static int check_http_path(const char *s, unsigned long long v, char *why, size_t len)
{
	const char *c;

	for (c = s; *c && (unsigned char)*c > ' ' && *c != 0x7f; c++)
		;
	if (s[0] == '/' && !*c)
		return 0;
	snprintf(why, len, "must be a path that starts with '/' (no spaces)");
	return -EINVAL;
}

/* A Host header: APISIX's host pattern, less its wildcard. */
static int check_host(const char *s, unsigned long long v, char *why, size_t len)
{
	for (; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-')
			continue;
		snprintf(why, len, "must be a host name (letters, digits, '.', '_' and '-')");
		return -EINVAL;
	}
	return 0;
}

static int check_header(const char *s, unsigned long long v, char *why, size_t len)
{
	const char *colon = strchr(s, ':'), *c;

	for (c = s; colon && c < colon && *c > ' ' && *c < 0x7f; c++)
		;
	if (colon && colon > s && c == colon && !strpbrk(s, "\r\n"))
		return 0;
	snprintf(why, len, "must be a header 'Name: value'");
	return -EINVAL;
}

/* --- addresses and nodes -------------------------------------------------- */

/* Letters, digits, '.', '-', '_' and at least one letter: a DNS name. */
static int is_hostname(const char *s)
{
	int letter = 0;

	for (; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')
			letter = 1;
		else if (!((*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
			return 0;
	}
	return letter;
}

static int parse_host_text(const char *s, struct xlb_addr_key *a, char *why, size_t len)
{
	if (!xlb_addr_parse(s, a, NULL, 0))
		return 0;
	if (is_hostname(s))
		snprintf(why, len, "'%s' is a host name: host names need discovery_type (dns)", s);
	else
		snprintf(why, len, "'%s' is not an IP address", s);
	return -EINVAL;
}

static char *node_str(const struct xlb_node_conf *nd, char *buf, size_t len)
{
	char a[XLB_ADDRSTRLEN];

	xlb_addr_str(nd->addr.addr, nd->addr.family, a, sizeof(a));
	snprintf(buf, len, nd->addr.family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", a, nd->port);
	return buf;
}

/* The hash form's key: "198.18.0.11:80" or "[fd00::11]:80". */
static int parse_hostport(const char *s, struct xlb_node_conf *nd, char *why, size_t len)
{
	const char *colon, *rb;
	char host[256];
	__u32 port;

	if (s[0] == '[') {
		rb = strchr(s, ']');
		if (!rb || (rb[1] && rb[1] != ':')) {
			snprintf(why, len, "must be HOST:PORT ([ADDR]:PORT for IPv6)");
			return -EINVAL;
		}
		colon = rb[1] ? rb + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon) {
			snprintf(why, len, "write IPv6 nodes as [ADDR]:PORT");
			return -EINVAL;
		}
	}
	if (!colon) {
		snprintf(why, len, "missing port (write HOST:PORT): xlb (L4) does not "
			 "default it from the scheme");
		return -EINVAL;
	}
	if ((size_t)(colon - s) >= sizeof(host)) {
		snprintf(why, len, "host is longer than 255 characters");
		return -EINVAL;
	}
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	if (parse_host_text(host, &nd->addr, why, len))
		return -EINVAL;
	if (xlb_u32_parse(colon + 1, 1, 65535, &port)) {
		snprintf(why, len, "port must be an integer 1-65535");
		return -EINVAL;
	}
	nd->port = (__u16)port;
	return 0;
}

/* The array form's host: an address, IPv6 with or without brackets. */
static void parse_host(struct parser *p, const struct key *k, yaml_node_t *kn,
		       yaml_node_t *vn, void *obj, const char *path)
{
	struct xlb_node_conf *nd = obj;
	char why[WHY_LEN];
	const char *s = string_of(vn);

	if (!s)
		report(p, vn, path, "must be an IP address");
	else if (parse_host_text(s, &nd->addr, why, sizeof(why)))
		report(p, vn, path, "%s", why);
}

static const struct key node_keys[] = {
	{ "host", KT_FN, .fn = parse_host, .flags = K_REQUIRED },
	{ "port", KT_UINT, F(xlb_node_conf, port), .min = 1, .max = 65535, .flags = K_REQUIRED,
	  .note = "xlb (L4) does not default it from the scheme" },
	{ "weight", KT_UINT, F(xlb_node_conf, weight), .min = 0, .max = XLB_WEIGHT_MAX,
	  .flags = K_REQUIRED },
	{ "priority", KT_INT, F(xlb_node_conf, priority), .min = INT_MIN, .max = INT_MAX,
	  .def = "0" },
	{ "metadata", KT_META },	/* discovery's annotations */
};
_Static_assert(ARRAY_SIZE(node_keys) <= KEYS_MAX, "node_keys");
static const struct table node_table = TABLE(node_keys);

/* The hash form's value. */
static const struct key weight_key = {
	"weight", KT_UINT, .size = sizeof(__u32), .min = 0, .max = XLB_WEIGHT_MAX,
};

/* Where a node was written: its key (hash form) or its item (array form). */
struct node_src {
	const struct xlb_node_conf *nd;
	yaml_node_t *where;
	size_t i;
};

static int cmp_node_src(const void *a, const void *b)
{
	const struct node_src *x = a, *y = b;
	int d = memcmp(&x->nd->addr, &y->nd->addr, sizeof(x->nd->addr));

	if (!d)
		d = (int)x->nd->port - (int)y->nd->port;
	if (!d)
		d = (x->i > y->i) - (x->i < y->i);
	return d;
}

static void node_path(char *dst, const char *path, const struct node_src *s)
{
	if (s->where->type == YAML_SCALAR_NODE)
		path_fmt(dst, "%s[\"%s\"]", path, scalar(s->where));
	else
		path_fmt(dst, "%s[%zu]", path, s->i);
}

static void dup_nodes(struct parser *p, struct node_src *src, size_t n, const char *path)
{
	char npath[PATH_LEN], buf[XLB_VIPSTRLEN];
	size_t i, first = 0;

	qsort(src, n, sizeof(*src), cmp_node_src);
	for (i = 1; i < n; i++) {
		if (memcmp(&src[i].nd->addr, &src[first].nd->addr, sizeof(src[i].nd->addr)) ||
		    src[i].nd->port != src[first].nd->port) {
			first = i;
			continue;
		}
		node_path(npath, path, &src[i]);
		report(p, src[i].where, npath, "duplicate node %s (first at line %u)",
		       node_str(src[i].nd, buf, sizeof(buf)), line_of(src[first].where));
	}
}

static int hash_node(struct parser *p, yaml_node_t *kn, yaml_node_t *vn, const char *path,
		     struct xlb_node_conf *nd)
{
	char npath[PATH_LEN], why[WHY_LEN];
	const char *s = string_of(kn);
	int err = 0;

	memset(nd, 0, sizeof(*nd));
	if (!s) {
		report(p, kn, path, "node keys must be HOST:PORT strings");
		return -EINVAL;
	}
	path_fmt(npath, "%s[\"%s\"]", path, s);
	if (parse_hostport(s, nd, why, sizeof(why))) {
		report(p, kn, npath, "%s", why);
		err = -EINVAL;
	}
	if (vn->type != YAML_SCALAR_NODE) {
		expect(&weight_key, why, sizeof(why));
		report(p, vn, npath, "weight %s", why);
		err = -EINVAL;
	} else if (convert(&weight_key, scalar(vn), node_kind(vn), &nd->weight, why, sizeof(why))) {
		report(p, vn, npath, "weight %s", why);
		err = -EINVAL;
	}
	return err;
}

static int array_node(struct parser *p, yaml_node_t *item, const char *path, size_t i,
		      struct xlb_node_conf *nd)
{
	char npath[PATH_LEN];
	size_t before = p->errs->n;

	memset(nd, 0, sizeof(*nd));
	path_fmt(npath, "%s[%zu]", path, i);
	apply_defaults(&node_table, nd);
	parse_object(p, &node_table, item, nd, npath);
	return p->errs->n == before ? 0 : -EINVAL;
}

/* nodes: {"HOST:PORT": WEIGHT, ...} or [{host, port, weight, priority}, ...] */
static void parse_nodes(struct parser *p, const struct key *k, yaml_node_t *kn,
			yaml_node_t *vn, void *obj, const char *path)
{
	struct xlb_upstream_conf *u = obj;
	struct xlb_node_conf *nodes = NULL;
	struct node_src *src = NULL;
	int hash = vn->type == YAML_MAPPING_NODE;
	yaml_node_pair_t *pair;
	size_t n, m = 0, i;
	yaml_node_t *item;

	if (!hash && vn->type != YAML_SEQUENCE_NODE) {
		report(p, vn, path, "must be {\"HOST:PORT\": WEIGHT, ...} or a list of "
		       "{host, port, weight, priority}");
		return;
	}
	n = hash ? (size_t)(vn->data.mapping.pairs.top - vn->data.mapping.pairs.start) :
		   seq_len(vn);
	if (n > NODES_MAX - p->nodes) {
		report(p, vn, path, "too many nodes: at most %d in all upstreams together",
		       NODES_MAX);
		return;
	}
	p->nodes += n;
	if (!n)
		return;
	nodes = calloc(n, sizeof(*nodes));
	src = calloc(n, sizeof(*src));
	if (!nodes || !src) {
		p->err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		if (hash) {
			pair = &vn->data.mapping.pairs.start[i];
			item = node_at(p, pair->key);
			if (hash_node(p, item, node_at(p, pair->value), path, &nodes[m]))
				continue;
		} else {
			item = node_at(p, vn->data.sequence.items.start[i]);
			if (array_node(p, item, path, i, &nodes[m]))
				continue;
		}
		src[m] = (struct node_src){ .nd = &nodes[m], .where = item, .i = i };
		m++;
	}
	dup_nodes(p, src, m, path);
	u->nodes = nodes;
	u->nnodes = m;
	nodes = NULL;
out_free:
	free(src);
	free(nodes);
}

/* --- discovery_args: any mapping, kept as JSON text ----------------------- */

struct json_ctx {
	size_t values;
	char why[WHY_LEN];
	yaml_node_t *where;
};

static json_t *to_json(struct parser *p, yaml_node_t *n, int depth, struct json_ctx *c)
{
	yaml_node_pair_t *pair;
	yaml_node_item_t *it;
	json_t *j = NULL, *v;
	yaml_node_t *kn;
	const char *s;
	long long i;

	if (depth > ARGS_DEPTH_MAX || ++c->values > ARGS_VALUES_MAX) {
		snprintf(c->why, sizeof(c->why), "is too large (at most %d values, %d levels deep)",
			 ARGS_VALUES_MAX, ARGS_DEPTH_MAX);
		c->where = n;
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		s = scalar(n);
		switch (node_kind(n)) {
		case SK_NULL:
			return json_null();
		case SK_BOOL:
			return json_boolean(s[0] == 't' || s[0] == 'T');
		case SK_INT:
			errno = 0;
			i = strtoll(s, NULL, 10);
			return errno ? json_real(strtod(s, NULL)) : json_integer(i);
		case SK_FLOAT:
			return json_real(strtod(s, NULL));
		default:
			return json_stringn_nocheck(s, n->data.scalar.length);
		}
	case YAML_SEQUENCE_NODE:
		j = json_array();
		for (it = n->data.sequence.items.start; j && it < n->data.sequence.items.top; it++) {
			v = to_json(p, node_at(p, *it), depth + 1, c);
			if (!v || json_array_append_new(j, v))
				goto out_fail;
		}
		return j;
	case YAML_MAPPING_NODE:
		j = json_object();
		for (pair = n->data.mapping.pairs.start; j && pair < n->data.mapping.pairs.top;
		     pair++) {
			kn = node_at(p, pair->key);
			s = string_of(kn);
			if (!s || json_object_get(j, s)) {
				snprintf(c->why, sizeof(c->why), s ? "duplicate key '%s'" :
					 "keys must be strings", s);
				c->where = kn;
				goto out_fail;
			}
			v = to_json(p, node_at(p, pair->value), depth + 1, c);
			if (!v || json_object_set_new_nocheck(j, s, v))
				goto out_fail;
		}
		return j;
	default:
		return NULL;
	}
out_fail:
	json_decref(j);
	return NULL;
}

static void parse_discovery_args(struct parser *p, const struct key *k, yaml_node_t *kn,
				 yaml_node_t *vn, void *obj, const char *path)
{
	struct xlb_upstream_conf *u = obj;
	struct json_ctx c = { 0 };
	json_t *j;

	if (vn->type != YAML_MAPPING_NODE) {
		report(p, vn, path, "must be a mapping");
		return;
	}
	j = to_json(p, vn, 0, &c);
	if (!j && c.where) {
		report(p, c.where, path, "%s", c.why);
		return;
	}
	if (j)
		u->discovery_args = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!u->discovery_args)
		p->err = -ENOMEM;
	json_decref(j);
}

/* --- stream routes ---------------------------------------------------------- */

static void parse_server_addr(struct parser *p, const struct key *k, yaml_node_t *kn,
			      yaml_node_t *vn, void *obj, const char *path)
{
	struct xlb_route_conf *r = obj;
	const char *s = string_of(vn);
	struct xlb_addr_key a;
	char why[WHY_LEN];

	if (!s)
		report(p, vn, path, "must be an IP address (the VIP)");
	else if (strchr(s, '/'))
		report(p, vn, path, "'%s' is a prefix: a VIP is one address", s);
	else if (xlb_addr_parse(s, &a, why, sizeof(why)))
		report(p, vn, path, "%s", why);
	else {
		memcpy(r->vip.addr, a.addr, sizeof(r->vip.addr));
		r->vip.family = a.family;
	}
}

/* Stored with the host bits cleared: 10.1.2.3/8 means 10.0.0.0/8. */
static void parse_remote_addr(struct parser *p, const struct key *k, yaml_node_t *kn,
			      yaml_node_t *vn, void *obj, const char *path)
{
	struct xlb_route_conf *r = obj;
	const char *s = string_of(vn);
	struct xlb_addr_key a;
	unsigned int plen, w, bits;
	char why[WHY_LEN];

	if (!s) {
		report(p, vn, path, "must be an address or prefix ADDR/LEN");
		return;
	}
	if (xlb_cidr_parse(s, &a, &plen, why, sizeof(why))) {
		report(p, vn, path, "%s", why);
		return;
	}
	for (w = 0; w < 4; w++) {
		bits = plen > w * 32 ? plen - w * 32 : 0;
		if (bits < 32)
			a.addr[w] &= bits ? htonl(~0U << (32 - bits)) : 0;
	}
	r->remote = a;
	r->remote_plen = plen;
}

static void parse_inline(struct parser *p, const struct key *k, yaml_node_t *kn,
			 yaml_node_t *vn, void *obj, const char *path)
{
	if (vn->type != YAML_MAPPING_NODE)
		report(p, vn, path, "must be a mapping");
	else
		p->inline_up = vn;
}

/* --- the tables ------------------------------------------------------------- */

static const struct choice check_type_choices[] = {
	{ "http", XLB_CHECK_HTTP }, { "https", XLB_CHECK_HTTPS }, { "tcp", XLB_CHECK_TCP }, { 0 },
};

/* Defaults: APISIX's schema (lua-resty-healthcheck's for passive). */
static const struct key active_healthy_keys[] = {
	{ "interval", KT_SECONDS, F(xlb_check_healthy, interval), .dmax = SECONDS_MAX,
	  .flags = K_ZERO_OK, .def = "1" },
	{ "successes", KT_UINT, F(xlb_check_healthy, successes), .min = 1, .max = 254,
	  .def = "2" },
	{ "http_statuses", KT_STATUSES, F(xlb_check_healthy, http_statuses),
	  .off2 = offsetof(struct xlb_check_healthy, nstatus), .def = "200 302" },
};
_Static_assert(ARRAY_SIZE(active_healthy_keys) <= KEYS_MAX, "active_healthy_keys");
static const struct table active_healthy_table = TABLE(active_healthy_keys);

static const struct key active_unhealthy_keys[] = {
	{ "interval", KT_SECONDS, F(xlb_check_unhealthy, interval), .dmax = SECONDS_MAX,
	  .flags = K_ZERO_OK, .def = "1" },
	{ "http_failures", KT_UINT, F(xlb_check_unhealthy, http_failures), .max = 254,
	  .def = "5" },
	{ "tcp_failures", KT_UINT, F(xlb_check_unhealthy, tcp_failures), .max = 254,
	  .def = "2" },
	{ "timeouts", KT_UINT, F(xlb_check_unhealthy, timeouts), .max = 254, .def = "3" },
	{ "http_statuses", KT_STATUSES, F(xlb_check_unhealthy, http_statuses),
	  .off2 = offsetof(struct xlb_check_unhealthy, nstatus),
	  .def = "429 404 500 501 502 503 504 505" },
};
_Static_assert(ARRAY_SIZE(active_unhealthy_keys) <= KEYS_MAX, "active_unhealthy_keys");
static const struct table active_unhealthy_table = TABLE(active_unhealthy_keys);

static const struct key active_keys[] = {
	{ "type", KT_ENUM, F(xlb_check_active, type), .choices = check_type_choices,
	  .def = "http" },
	{ "timeout", KT_SECONDS, F(xlb_check_active, timeout), .dmax = SECONDS_MAX,
	  .def = "1" },
	{ "concurrency", KT_UINT, F(xlb_check_active, concurrency), .min = 1, .max = 65535,
	  .def = "10" },
	{ "host", KT_STR, F(xlb_check_active, host), .min = 1, .check = check_host },
	{ "port", KT_UINT, F(xlb_check_active, port), .min = 1, .max = 65535 },
	{ "http_path", KT_STR, F(xlb_check_active, http_path), .min = 1,
	  .check = check_http_path, .def = "/" },
	{ "https_verify_certificate", KT_BOOL, F(xlb_check_active, https_verify_certificate),
	  .def = "true" },
	{ "req_headers", KT_STRLIST, F(xlb_check_active, req_headers),
	  .off2 = offsetof(struct xlb_check_active, nheaders), .max = XLB_HEADERS_MAX,
	  .check = check_header },
	{ "healthy", KT_OBJECT, F(xlb_check_active, healthy), .sub = &active_healthy_table },
	{ "unhealthy", KT_OBJECT, F(xlb_check_active, unhealthy),
	  .sub = &active_unhealthy_table },
};
_Static_assert(ARRAY_SIZE(active_keys) <= KEYS_MAX, "active_keys");
static const struct table active_table =
	TABLE(active_keys, .present = PRESENT(xlb_check_active, enabled));

static const struct key passive_healthy_keys[] = {
	{ "successes", KT_UINT, F(xlb_check_healthy, successes), .min = 1, .max = 254,
	  .def = "5" },
	{ "http_statuses", KT_STATUSES, F(xlb_check_healthy, http_statuses),
	  .off2 = offsetof(struct xlb_check_healthy, nstatus),
	  .def = "200 201 202 203 204 205 206 207 208 226 "
		 "300 301 302 303 304 305 306 307 308" },
};
_Static_assert(ARRAY_SIZE(passive_healthy_keys) <= KEYS_MAX, "passive_healthy_keys");
static const struct table passive_healthy_table = TABLE(passive_healthy_keys);

static const struct key passive_unhealthy_keys[] = {
	{ "http_failures", KT_UINT, F(xlb_check_unhealthy, http_failures), .max = 254,
	  .def = "5" },
	{ "tcp_failures", KT_UINT, F(xlb_check_unhealthy, tcp_failures), .max = 254,
	  .def = "2" },
	{ "timeouts", KT_UINT, F(xlb_check_unhealthy, timeouts), .max = 254, .def = "7" },
	{ "http_statuses", KT_STATUSES, F(xlb_check_unhealthy, http_statuses),
	  .off2 = offsetof(struct xlb_check_unhealthy, nstatus), .def = "429 500 503" },
};
_Static_assert(ARRAY_SIZE(passive_unhealthy_keys) <= KEYS_MAX, "passive_unhealthy_keys");
static const struct table passive_unhealthy_table = TABLE(passive_unhealthy_keys);

static const struct key passive_keys[] = {
	{ "type", KT_ENUM, F(xlb_check_passive, type), .choices = check_type_choices,
	  .def = "http" },
	{ "healthy", KT_OBJECT, F(xlb_check_passive, healthy), .sub = &passive_healthy_table },
	{ "unhealthy", KT_OBJECT, F(xlb_check_passive, unhealthy),
	  .sub = &passive_unhealthy_table },
};
_Static_assert(ARRAY_SIZE(passive_keys) <= KEYS_MAX, "passive_keys");
static const struct table passive_table =
	TABLE(passive_keys, .present = PRESENT(xlb_check_passive, enabled));

/* As APISIX: passive checks only with active ones (only probes revive a node). */
static void check_checks(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_upstream_conf *u = obj;
	yaml_node_t *kn = NULL;

	if (u->passive.enabled && !u->active.enabled && map_find(p, n, "passive", &kn))
		report(p, kn, path, "passive checks need active checks too: only probes "
		       "bring a node back");
}

static const struct key checks_keys[] = {
	{ "active", KT_OBJECT, F(xlb_upstream_conf, active), .sub = &active_table },
	{ "passive", KT_OBJECT, F(xlb_upstream_conf, passive), .sub = &passive_table },
};
_Static_assert(ARRAY_SIZE(checks_keys) <= KEYS_MAX, "checks_keys");
static const struct table checks_table = TABLE(checks_keys, .check = check_checks);

static const struct choice lb_choices[] = {
	{ "chash", XLB_LB_CHASH }, { "roundrobin", XLB_LB_ROUNDROBIN }, { 0 },
};
static const char *const lb_unsupported[] = { "ewma", "least_conn", NULL };

static const struct choice hash_on_choices[] = { { "vars", 0 }, { 0 } };
static const char *const hash_on_unsupported[] = {
	"header", "cookie", "consumer", "vars_combinations", NULL,
};

/* key: remote_addr only; absent = the 5-tuple. */
static const struct choice key_choices[] = { { "remote_addr", 1 }, { 0 } };
static const char *const key_unsupported[] = {
	"uri", "server_name", "server_addr", "request_uri", "remote_port", "query_string",
	"host", "hostname", NULL,
};

static const struct choice scheme_choices[] = {
	{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { 0 },
};
static const char *const scheme_unsupported[] = {
	"http", "https", "grpc", "grpcs", "tls", "kafka", NULL,
};

/* APISIX's registries; the agent may support fewer (it says so at start). */
static const struct choice discovery_choices[] = {
	{ "dns", 0 }, { "consul", 0 }, { "consul_kv", 0 }, { "nacos", 0 }, { "eureka", 0 },
	{ "kubernetes", 0 }, { 0 },
};

/* Stored as XLB_FWD_* + 1: 0 is "absent", the global method. */
static const struct choice up_forward_choices[] = {
	{ "ipip", XLB_FWD_IPIP + 1 }, { "l2", XLB_FWD_L2 + 1 }, { "nat", XLB_FWD_NAT + 1 }, { 0 },
};

static const struct choice unhealthy_flows_choices[] = {
	{ "keep", 0 }, { "move", 1 }, { 0 },
};

static void check_upstream(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_upstream_conf *u = obj;
	yaml_node_t *nodes, *dt, *sn, *da, *key, *kn = NULL;
	char kpath[PATH_LEN];

	nodes = map_find(p, n, "nodes", NULL);
	dt = map_find(p, n, "discovery_type", &kn);
	sn = map_find(p, n, "service_name", NULL);
	da = map_find(p, n, "discovery_args", NULL);
	if (nodes && dt)
		report(p, kn, path, "use either nodes or discovery_type with service_name, "
		       "not both");
	else if (!nodes && !dt)
		report(p, n, path, "missing key 'nodes' (or discovery_type with service_name)");
	if (dt && !sn)
		report(p, n, path, "missing key 'service_name' (discovery_type needs it)");
	if (sn && !dt) {
		path_key(kpath, path, "service_name");
		report(p, sn, kpath, "needs discovery_type");
	}
	if (da && !dt) {
		path_key(kpath, path, "discovery_args");
		report(p, da, kpath, "needs discovery_type");
	}
	key = map_find(p, n, "key", NULL);
	if (key && u->hash_src && u->type == XLB_LB_ROUNDROBIN) {
		path_key(kpath, path, "key");
		report(p, key, kpath, "applies to type chash only (roundrobin does not hash)");
	}
}

static const struct key upstream_keys[] = {
	/* Required, but not in an inline upstream: see parse_upstream(). */
	{ "id", KT_STR, F(xlb_upstream_conf, id), .min = 1, .check = check_id },
	{ "name", KT_STR, F(xlb_upstream_conf, name), .min = 1 },
	/* Metadata: accepted, ignored. */
	{ "desc", KT_META },
	{ "labels", KT_META },
	{ "create_time", KT_META },
	{ "update_time", KT_META },
	{ "type", KT_ENUM, F(xlb_upstream_conf, type), .choices = lb_choices,
	  .unsupported = lb_unsupported, .def = "chash" },
	{ "hash_on", KT_ENUM, .choices = hash_on_choices, .unsupported = hash_on_unsupported,
	  .def = "vars" },
	{ "key", KT_ENUM, F(xlb_upstream_conf, hash_src), .choices = key_choices,
	  .unsupported = key_unsupported },
	{ "scheme", KT_ENUM, F(xlb_upstream_conf, proto), .choices = scheme_choices,
	  .unsupported = scheme_unsupported, .def = "tcp" },
	{ "nodes", KT_FN, .fn = parse_nodes },
	{ "checks", KT_OBJECT, .sub = &checks_table },
	{ "discovery_type", KT_ENUM, F(xlb_upstream_conf, discovery_type), .flags = K_TEXT,
	  .choices = discovery_choices },
	{ "service_name", KT_STR, F(xlb_upstream_conf, service_name), .min = 1 },
	{ "discovery_args", KT_FN, .fn = parse_discovery_args },
	/* Not APISIX's: how packets reach the nodes (default: xlb.forward). */
	{ "forward", KT_ENUM, F(xlb_upstream_conf, forward), .choices = up_forward_choices },
	/*
	 * Not APISIX's: what happens to a node's established flows when checks
	 * (active or passive) take it out: they stay (a check may be wrong), or
	 * move at once. Kernel evidence and an operator's down always move them.
	 */
	{ "unhealthy_flows", KT_ENUM, F(xlb_upstream_conf, unhealthy_move),
	  .choices = unhealthy_flows_choices, .def = "keep" },
	/* APISIX's proxy settings: xlb forwards packets, it proxies nothing. */
	{ "retries", KT_UNSUPPORTED, .note = "packets are forwarded, connections not retried" },
	{ "retry_timeout", KT_UNSUPPORTED,
	  .note = "packets are forwarded, connections not retried" },
	{ "timeout", KT_UNSUPPORTED, .note = "xlb does not proxy connections" },
	{ "keepalive_pool", KT_UNSUPPORTED, .note = "xlb does not proxy connections" },
	{ "pass_host", KT_UNSUPPORTED, .note = "xlb does not see HTTP requests" },
	{ "upstream_host", KT_UNSUPPORTED, .note = "xlb does not see HTTP requests" },
	{ "tls", KT_UNSUPPORTED, .note = "xlb does not originate TLS" },
};
_Static_assert(ARRAY_SIZE(upstream_keys) <= KEYS_MAX, "upstream_keys");
static const struct table upstream_table = TABLE(upstream_keys, .check = check_upstream);

static const struct choice proto_choices[] = {
	{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { 0 },
};

static void check_route(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_route_conf *r = obj;
	yaml_node_t *uid, *up, *ra, *kn = NULL;
	char kpath[PATH_LEN];

	uid = map_find(p, n, "upstream_id", NULL);
	up = map_find(p, n, "upstream", &kn);
	if (uid && up)
		report(p, kn, path, "use either upstream_id or an inline upstream, not both");
	else if (!uid && !up)
		report(p, n, path, "missing key 'upstream_id' (or an inline upstream)");
	ra = map_find(p, n, "remote_addr", NULL);
	if (ra && r->remote.family && r->vip.family && r->remote.family != r->vip.family) {
		path_key(kpath, path, "remote_addr");
		report(p, ra, kpath, "is IPv%d but server_addr is IPv%d: no client could match",
		       r->remote.family, r->vip.family);
	}
}

static const struct key route_keys[] = {
	{ "id", KT_STR, F(xlb_route_conf, id), .min = 1, .check = check_id,
	  .flags = K_REQUIRED },
	/* Metadata: accepted, ignored. */
	{ "desc", KT_META },
	{ "labels", KT_META },
	{ "create_time", KT_META },
	{ "update_time", KT_META },
	{ "server_addr", KT_FN, .fn = parse_server_addr, .flags = K_REQUIRED,
	  .note = "the VIP" },
	{ "server_port", KT_UINT, F(xlb_route_conf, vip.port), .max = 65535, .flags = K_BE16 },
	/* Absent: the upstream's scheme. (APISIX's xRPC protocol objects: no.) */
	{ "protocol", KT_ENUM, F(xlb_route_conf, vip.proto), .choices = proto_choices },
	{ "remote_addr", KT_FN, .fn = parse_remote_addr },
	{ "upstream_id", KT_STR, F(xlb_route_conf, upstream_id), .min = 1, .check = check_id },
	{ "upstream", KT_FN, .fn = parse_inline },
	{ "sni", KT_UNSUPPORTED, .note = "xlb does not read TLS handshakes" },
	{ "plugins", KT_UNSUPPORTED, .note = "xlb runs no plugins" },
	{ "service_id", KT_UNSUPPORTED, .note = "use upstream_id or an inline upstream" },
};
_Static_assert(ARRAY_SIZE(route_keys) <= KEYS_MAX, "route_keys");
static const struct table route_table = TABLE(route_keys, .check = check_route);

static void check_admin(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_settings *s = obj;
	struct xlb_addr_key a;
	yaml_node_t *at;
	char kpath[PATH_LEN];
	__u16 port;

	if (!s->admin_listen[0] ||
	    xlb_endpoint_parse(s->admin_listen, &a, &port, NULL, 0) || xlb_addr_is_loopback(&a))
		return;
	if (!s->api_key[0]) {
		at = map_find(p, n, "listen", NULL);
		report(p, at ? at : n, path, "missing key 'api_key' (required when listen "
		       "%s is not a loopback address)", s->admin_listen);
		return;
	}
	/* Off loopback, a key anyone can guess opens the node set to the network. */
	at = map_find(p, n, "api_key", NULL);
	path_key(kpath, path, "api_key");
	if (!strcmp(s->api_key, XLB_API_KEY_EXAMPLE))
		report(p, at ? at : n, kpath, "'%s' is the example key: set a secret one (at "
		       "least %d characters) when listen %s is not a loopback address",
		       XLB_API_KEY_EXAMPLE, XLB_API_KEY_MIN, s->admin_listen);
	else if (strlen(s->api_key) < XLB_API_KEY_MIN)
		report(p, at ? at : n, kpath, "is %zu characters long: at least %d when listen %s "
		       "is not a loopback address", strlen(s->api_key), XLB_API_KEY_MIN,
		       s->admin_listen);
}

static const struct key admin_keys[] = {
	{ "listen", KT_STR, F(xlb_settings, admin_listen), .check = check_listen,
	  .def = "127.0.0.1:9180" },
	{ "api_key", KT_STR, F(xlb_settings, api_key) },
	/* Limits on the listener (user/lib/agent/admin.c). */
	{ "max_connections", KT_UINT, F(xlb_settings, admin_max_connections), .min = 1,
	  .max = 65536, .def = "64" },
	{ "max_header_size", KT_UINT, F(xlb_settings, admin_max_header_size), .min = 1024,
	  .max = 1 << 20, .def = "8192" },
	{ "max_body_size", KT_UINT, F(xlb_settings, admin_max_body_size), .min = 1024,
	  .max = 64 << 20, .def = "1048576" },
	{ "header_timeout", KT_SECONDS, F(xlb_settings, admin_header_timeout), .dmax = 3600,
	  .def = "10" },
	{ "body_timeout", KT_SECONDS, F(xlb_settings, admin_body_timeout), .dmax = 3600,
	  .def = "30" },
	{ "idle_timeout", KT_SECONDS, F(xlb_settings, admin_idle_timeout), .dmax = 3600,
	  .def = "15" },
};
_Static_assert(ARRAY_SIZE(admin_keys) <= KEYS_MAX, "admin_keys");
static const struct table admin_table = TABLE(admin_keys, .check = check_admin);

static const struct choice mode_choices[] = { { "native", 0 }, { "generic", 1 }, { 0 } };
static const struct choice forward_choices[] = {
	{ "ipip", XLB_FWD_IPIP }, { "l2", XLB_FWD_L2 }, { "nat", XLB_FWD_NAT }, { 0 },
};
static const struct choice no_healthy_choices[] = {
	{ "fail_open", XLB_NO_HEALTHY_FAIL_OPEN }, { "fail_closed", XLB_NO_HEALTHY_FAIL_CLOSED },
	{ 0 },
};
static const struct choice level_choices[] = {
	{ "warn", 0 }, { "info", 0 }, { "debug", 0 }, { 0 },
};

static const struct key settings_keys[] = {
	{ "interfaces", KT_STRLIST, F(xlb_settings, interfaces),
	  .off2 = offsetof(struct xlb_settings, nifaces), .max = XLB_IFACES_MAX,
	  .check = check_ifname },
	{ "mode", KT_ENUM, F(xlb_settings, generic_mode), .choices = mode_choices,
	  .def = "native" },
	{ "forward", KT_ENUM, F(xlb_settings, forward), .choices = forward_choices,
	  .def = "ipip" },
	{ "encap_src", KT_STR, F(xlb_settings, encap_src), .check = check_cidr4 },
	{ "encap_src6", KT_STR, F(xlb_settings, encap_src6), .check = check_cidr6 },
	/* NAT (bpf/lib/nat.h): the address nodes reply to, ports, idle timeouts. */
	{ "nat_src", KT_STR, F(xlb_settings, nat_src), .check = check_addr4 },
	{ "nat_src6", KT_STR, F(xlb_settings, nat_src6), .check = check_addr6 },
	/* Absent: 0, the size chosen at attach (XLB_NAT_MAX_DEFAULT). */
	{ "nat_connections", KT_UINT, F(xlb_settings, nat_connections), .min = 1024,
	  .max = 1 << 24 },
	{ "nat_port_min", KT_UINT, F(xlb_settings, nat_port_min), .min = 1, .max = 65535,
	  .def = STR(XLB_NAT_PORT_MIN) },
	{ "nat_port_max", KT_UINT, F(xlb_settings, nat_port_max), .min = 1, .max = 65535,
	  .def = STR(XLB_NAT_PORT_MAX) },
	{ "nat_timeout_syn", KT_UINT, F(xlb_settings, nat_timeout_syn), .min = 1,
	  .max = 86400, .def = STR(XLB_NAT_TMO_SYN) },
	{ "nat_timeout_established", KT_UINT, F(xlb_settings, nat_timeout_established),
	  .min = 1, .max = 7 * 86400, .def = STR(XLB_NAT_TMO_ESTABLISHED) },
	{ "nat_timeout_closing", KT_UINT, F(xlb_settings, nat_timeout_closing), .min = 1,
	  .max = 86400, .def = STR(XLB_NAT_TMO_CLOSING) },
	{ "nat_timeout_udp", KT_UINT, F(xlb_settings, nat_timeout_udp), .min = 1,
	  .max = 86400, .def = STR(XLB_NAT_TMO_UDP) },
	{ "on_no_healthy", KT_ENUM, F(xlb_settings, on_no_healthy),
	  .choices = no_healthy_choices, .def = "fail_open" },
	{ "table_size", KT_UINT, F(xlb_settings, table_size), .max = UINT32_MAX,
	  .check = check_prime, .expect = PRIME_EXPECT, .def = STR(XLB_MAGLEV_DEFAULT) },
	{ "hash_seed", KT_UINT, F(xlb_settings, hash_seed), .max = UINT32_MAX },
	/* Absent: 0, the size chosen at attach (XLB_FLOW_MAX_DEFAULT). */
	{ "flows", KT_UINT, F(xlb_settings, flows), .min = 1024, .max = 1 << 27 },
	{ "admin", KT_OBJECT, .sub = &admin_table },
	{ "log_level", KT_ENUM, F(xlb_settings, log_level), .flags = K_TEXT,
	  .choices = level_choices, .def = "info" },
};
_Static_assert(ARRAY_SIZE(settings_keys) <= KEYS_MAX, "settings_keys");
static void check_settings(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_settings *s = obj;
	yaml_node_t *k = map_find(p, n, "nat_port_min", NULL);
	char kpath[PATH_LEN];

	if (s->nat_port_min <= s->nat_port_max)
		return;
	path_key(kpath, path, "nat_port_min");
	report(p, k ? k : n, kpath, "%u is above nat_port_max %u: no port to hand out",
	       s->nat_port_min, s->nat_port_max);
}

static const struct table settings_table = TABLE(settings_keys, .check = check_settings);

/* --- discovery: and deployment.etcd (APISIX's config.yaml) ------------------ */

static int check_dns_server(const char *s, unsigned long long v, char *why, size_t len)
{
	struct xlb_addr_key a;
	__u16 port = 0;

	if (!xlb_endpoint_parse(s, &a, &port, NULL, 0) && port)
		return 0;
	snprintf(why, len, "must be ADDR:PORT of a DNS server (e.g. 127.0.0.1:53), not '%s'", s);
	return -EINVAL;
}

/* A registry or etcd address: http(s)://host[:port], nothing after it. */
static int check_base_url(const char *s, unsigned long long v, char *why, size_t len)
{
	const char *h = !strncmp(s, "http://", 7) ? s + 7 : !strncmp(s, "https://", 8) ? s + 8 : NULL;

	if (h && *h && *h != '/' && !strpbrk(h, " \t\r\n?#") &&
	    (!strchr(h, '/') || !strchr(h, '/')[1]))
		return 0;
	snprintf(why, len, "must be a URL http://HOST[:PORT] or https://HOST[:PORT], not '%s'", s);
	return -EINVAL;
}

static int check_prefix(const char *s, unsigned long long v, char *why, size_t len)
{
	if (s[0] == '/' && !strpbrk(s, " \t\r\n?#"))
		return 0;
	snprintf(why, len, "must be a path that starts with '/', not '%s'", s);
	return -EINVAL;
}

/* A registry's API prefix: URLs are prefix + "apps/..." and the like. */
static int check_dir_prefix(const char *s, unsigned long long v, char *why, size_t len)
{
	if (check_prefix(s, v, why, len))
		return -EINVAL;
	if (s[strlen(s) - 1] == '/')
		return 0;
	snprintf(why, len, "must end with '/' (paths are appended to it), not '%s'", s);
	return -EINVAL;
}

#define HOSTS(type, m, req)							\
	KT_STRLIST, F(type, m), .off2 = offsetof(struct type, n##m),		\
	.max = XLB_DISC_HOSTS_MAX, .check = check_base_url, .flags = req

/* Registry timeouts are in milliseconds, as in APISIX. */
#define MS(type, m, d)								\
	KT_SECONDS, F(type, m), .dmax = 600000, .flags = K_MS, .def = d

static const struct key dns_keys[] = {
	{ "servers", KT_STRLIST, F(xlb_disc_dns_conf, servers),
	  .off2 = offsetof(struct xlb_disc_dns_conf, nservers), .max = XLB_DISC_HOSTS_MAX,
	  .check = check_dns_server, .flags = K_REQUIRED },
	{ "timeout", KT_SECONDS, F(xlb_disc_dns_conf, timeout), .dmax = 60, .def = "2" },
	{ "min_ttl", KT_SECONDS, F(xlb_disc_dns_conf, min_ttl), .dmax = 86400, .def = "1" },
	{ "max_ttl", KT_SECONDS, F(xlb_disc_dns_conf, max_ttl), .dmax = 86400, .def = "3600" },
	{ "weight", KT_UINT, F(xlb_disc_dns_conf, weight), .min = 1, .max = XLB_WEIGHT_MAX,
	  .def = "1" },
	{ "resolv_conf", KT_UNSUPPORTED, .note = "list the servers" },
	{ "order", KT_UNSUPPORTED, .note = "SRV is tried first, then A and AAAA" },
	{ "enable_resolv_search_opt", KT_UNSUPPORTED, .note = "use fully qualified names" },
};
_Static_assert(ARRAY_SIZE(dns_keys) <= KEYS_MAX, "dns_keys");

static void check_dns(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_disc_dns_conf *c = obj;

	if (c->min_ttl > c->max_ttl)
		report(p, n, path, "min_ttl (%g) must not exceed max_ttl (%g)", c->min_ttl,
		       c->max_ttl);
}
static const struct table dns_table = TABLE(dns_keys, .check = check_dns,
					    .present = PRESENT(xlb_disc_dns_conf, enabled));

static const struct key timeout_keys[] = {
	{ "connect", MS(xlb_disc_timeout, connect, "2000") },
	{ "send", MS(xlb_disc_timeout, send, "2000") },
	{ "read", MS(xlb_disc_timeout, read, "5000") },
	/* consul: how long a blocking query may wait, in seconds */
	{ "wait", KT_SECONDS, F(xlb_disc_timeout, wait), .dmax = 600, .def = "60" },
};
static const struct table timeout_table = TABLE(timeout_keys);

static const struct key consul_keys[] = {
	{ "servers", HOSTS(xlb_disc_http_conf, hosts, K_REQUIRED) },
	{ "token", KT_STR, F(xlb_disc_http_conf, token) },
	{ "timeout", KT_OBJECT, F(xlb_disc_http_conf, timeout), .sub = &timeout_table },
	{ "weight", KT_UINT, F(xlb_disc_http_conf, weight), .min = 1, .max = XLB_WEIGHT_MAX,
	  .def = "1" },
	{ "fetch_interval", KT_SECONDS, F(xlb_disc_http_conf, fetch_interval), .dmax = 3600,
	  .def = "3" },
	{ "keepalive", KT_META },	/* connections are always reused */
	{ "sort_type", KT_META },	/* nodes are always sorted by address */
	{ "skip_services", KT_UNSUPPORTED, .note = "xlb only watches the services upstreams name" },
	{ "default_service", KT_UNSUPPORTED, .note = "name every service in an upstream" },
	{ "dump", KT_UNSUPPORTED, .note = "xlb upstream show lists the discovered nodes" },
};
_Static_assert(ARRAY_SIZE(consul_keys) <= KEYS_MAX, "consul_keys");
static const struct table consul_table = TABLE(consul_keys,
					       .present = PRESENT(xlb_disc_http_conf, enabled));

static const struct key eureka_keys[] = {
	{ "host", HOSTS(xlb_disc_http_conf, hosts, K_REQUIRED) },
	{ "prefix", KT_STR, F(xlb_disc_http_conf, prefix), .check = check_dir_prefix,
	  .def = "/eureka/" },
	{ "fetch_interval", KT_SECONDS, F(xlb_disc_http_conf, fetch_interval), .dmax = 3600,
	  .def = "30" },
	{ "weight", KT_UINT, F(xlb_disc_http_conf, weight), .min = 1, .max = XLB_WEIGHT_MAX,
	  .def = "100" },
	{ "timeout", KT_OBJECT, F(xlb_disc_http_conf, timeout), .sub = &timeout_table },
};
static const struct table eureka_table = TABLE(eureka_keys,
					       .present = PRESENT(xlb_disc_http_conf, enabled));

static const struct key nacos_keys[] = {
	{ "host", HOSTS(xlb_disc_http_conf, hosts, K_REQUIRED) },
	{ "prefix", KT_STR, F(xlb_disc_http_conf, prefix), .check = check_dir_prefix,
	  .def = "/nacos/v1/" },
	{ "fetch_interval", KT_SECONDS, F(xlb_disc_http_conf, fetch_interval), .dmax = 3600,
	  .def = "30" },
	{ "weight", KT_UINT, F(xlb_disc_http_conf, weight), .min = 1, .max = XLB_WEIGHT_MAX,
	  .def = "100" },
	{ "timeout", KT_OBJECT, F(xlb_disc_http_conf, timeout), .sub = &timeout_table },
};
static const struct table nacos_table = TABLE(nacos_keys,
					      .present = PRESENT(xlb_disc_http_conf, enabled));

static const struct choice schema_choices[] = {
	{ "https", 0 }, { "http", 0 }, { 0 },
};

static const struct key k8s_service_keys[] = {
	{ "schema", KT_ENUM, F(xlb_disc_k8s_conf, schema), .flags = K_TEXT,
	  .choices = schema_choices, .def = "https" },
	{ "host", KT_STR, F(xlb_disc_k8s_conf, host), .min = 1,
	  .def = "${KUBERNETES_SERVICE_HOST}" },
	{ "port", KT_STR, F(xlb_disc_k8s_conf, port), .min = 1,
	  .def = "${KUBERNETES_SERVICE_PORT}" },
};
static const struct table k8s_service_table = TABLE(k8s_service_keys);

static const struct key k8s_client_keys[] = {
	{ "token", KT_STR, F(xlb_disc_k8s_conf, token) },
	{ "token_file", KT_STR, F(xlb_disc_k8s_conf, token_file),
	  .def = "/var/run/secrets/kubernetes.io/serviceaccount/token" },
	{ "ca_file", KT_STR, F(xlb_disc_k8s_conf, ca_file),
	  .def = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" },
};
static const struct table k8s_client_table = TABLE(k8s_client_keys);

static const struct key k8s_keys[] = {
	{ "service", KT_OBJECT, .sub = &k8s_service_table },
	{ "client", KT_OBJECT, .sub = &k8s_client_table },
	{ "watch_endpoint_slices", KT_BOOL, F(xlb_disc_k8s_conf, watch_endpoint_slices),
	  .def = "true" },
	{ "default_weight", KT_UINT, F(xlb_disc_k8s_conf, default_weight), .min = 1,
	  .max = XLB_WEIGHT_MAX, .def = "50" },
	{ "shared_size", KT_META },	/* an nginx shared dict's size */
	{ "namespace_selector", KT_UNSUPPORTED, .note = "service_name names the namespace" },
	{ "label_selector", KT_UNSUPPORTED, .note = "service_name names the service" },
};
/*
 * service.host and .port may name an environment variable, "${NAME}", as
 * APISIX's defaults do (${KUBERNETES_SERVICE_HOST} inside a pod): it is
 * read when the file is.
 */
static void expand_env(struct parser *p, yaml_node_t *n, const char *path, const char *key,
		       char *field, size_t size)
{
	char name[sizeof(((struct xlb_disc_k8s_conf *)0)->host)], kpath[PATH_LEN];
	const char *v;
	size_t len = strlen(field);

	if (len < 4 || strncmp(field, "${", 2) || field[len - 1] != '}')
		return;
	_Static_assert(sizeof(name) >= sizeof(((struct xlb_disc_k8s_conf *)0)->port), "name");
	snprintf(name, sizeof(name), "%.*s", (int)(len - 3), field + 2);
	v = getenv(name);
	path_key(kpath, path, key);
	if (!v || !*v || strlen(v) >= size)
		report(p, n, kpath, "environment variable %s is %s: set %s", name,
		       v && *v ? "too long" : "not set (not in a pod?)", kpath);
	else
		snprintf(field, size, "%s", v);
}

static void check_k8s(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	struct xlb_disc_k8s_conf *c = obj;
	char kpath[PATH_LEN];
	yaml_node_t *w;

	/* The Endpoints API is deprecated: xlb reads EndpointSlices only. */
	if (!c->watch_endpoint_slices && (w = map_find(p, n, "watch_endpoint_slices", NULL))) {
		path_key(kpath, path, "watch_endpoint_slices");
		report(p, w, kpath, "false (the Endpoints API) is not supported: xlb reads "
		       "EndpointSlices (discovery.k8s.io/v1) only");
	}

	expand_env(p, n, path, "service.host", c->host, sizeof(c->host));
	expand_env(p, n, path, "service.port", c->port, sizeof(c->port));
}

static const struct table k8s_table = TABLE(k8s_keys, .check = check_k8s,
					    .present = PRESENT(xlb_disc_k8s_conf, enabled));

static const struct key discovery_keys[] = {
	{ "dns", KT_OBJECT, F(xlb_discovery_conf, dns), .sub = &dns_table },
	{ "consul", KT_OBJECT, F(xlb_discovery_conf, consul), .sub = &consul_table },
	{ "eureka", KT_OBJECT, F(xlb_discovery_conf, eureka), .sub = &eureka_table },
	{ "nacos", KT_OBJECT, F(xlb_discovery_conf, nacos), .sub = &nacos_table },
	{ "kubernetes", KT_OBJECT, F(xlb_discovery_conf, kubernetes), .sub = &k8s_table },
	{ "consul_kv", KT_UNSUPPORTED, .note = "use consul" },
	{ "tars", KT_UNSUPPORTED },
};
static const struct table discovery_table = TABLE(discovery_keys);

static const struct key etcd_keys[] = {
	{ "host", HOSTS(xlb_etcd_conf, hosts, K_REQUIRED) },
	{ "prefix", KT_STR, F(xlb_etcd_conf, prefix), .check = check_prefix,
	  .def = "/apisix" },
	{ "timeout", KT_SECONDS, F(xlb_etcd_conf, timeout), .dmax = 3600, .def = "30" },
	{ "user", KT_STR, F(xlb_etcd_conf, user) },
	{ "password", KT_STR, F(xlb_etcd_conf, password) },
	{ "tls", KT_UNSUPPORTED, .note = "use https:// hosts with the system's CA store" },
	{ "startup_retry", KT_META },	/* xlb retries with backoff, forever */
	{ "resync_delay", KT_META },
	{ "health_check_timeout", KT_META },
	{ "watch_timeout", KT_META },
};
static const struct table etcd_table = TABLE(etcd_keys,
					     .present = PRESENT(xlb_etcd_conf, enabled));

static const struct key deployment_keys[] = {
	{ "etcd", KT_OBJECT, .sub = &etcd_table },
	/* xlb is always a data plane that reads etcd; these only say so. */
	{ "role", KT_META },
	{ "role_traditional", KT_META },
	{ "role_data_plane", KT_META },
	{ "admin", KT_UNSUPPORTED, .note = "use xlb.admin" },
};
static const struct table deployment_table = TABLE(deployment_keys);

static void record_list(struct parser *p, const struct key *k, yaml_node_t *kn,
			yaml_node_t *vn, void *obj, const char *path)
{
	if (!strcmp(k->name, "upstreams"))
		p->upstreams = vn;
	else
		p->routes = vn;
}

static void build(struct parser *p, yaml_node_t *n, void *obj, const char *path);

#define L7_ONLY	"xlb serves stream_routes only"

static const struct key root_keys[] = {
	{ "xlb", KT_OBJECT, F(xlb_conf, xlb), .sub = &settings_table },
	{ "upstreams", KT_FN, .fn = record_list },
	{ "stream_routes", KT_FN, .fn = record_list },
	{ "discovery", KT_OBJECT, F(xlb_conf, discovery), .sub = &discovery_table },
	{ "deployment", KT_OBJECT, F(xlb_conf, etcd), .sub = &deployment_table },
	/* The rest of APISIX's standalone apisix.yaml. */
	{ "routes", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "services", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "consumers", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "consumer_groups", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "ssls", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "global_rules", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "plugins", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "plugin_configs", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "plugin_metadata", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "protos", KT_UNSUPPORTED, .note = L7_ONLY },
	{ "secrets", KT_UNSUPPORTED, .note = L7_ONLY },
};
_Static_assert(ARRAY_SIZE(root_keys) <= KEYS_MAX, "root_keys");
static const struct table root_table = TABLE(root_keys, .check = build);

/* --- building the model: upstreams, routes, then what relates them -------- */

static void parse_upstream(struct parser *p, yaml_node_t *n, size_t i)
{
	struct xlb_upstream_conf *u = &p->conf->upstreams[p->conf->nupstreams];
	struct item *it = &p->ups[p->conf->nupstreams++];
	size_t before = p->errs->n;
	char path[PATH_LEN];

	path_fmt(path, "upstreams[%zu]", i);
	it->node = n;
	u->line = line_of(n);
	apply_defaults(&upstream_table, u);
	parse_object(p, &upstream_table, n, u, path);
	if (n->type == YAML_MAPPING_NODE && !map_find(p, n, "id", NULL))
		report(p, n, path, "missing key 'id'");
	it->ok = p->errs->n == before;
}

/* A route's inline upstream, named "route:<route id>". */
static void parse_inline_upstream(struct parser *p, struct xlb_route_conf *r, yaml_node_t *rn,
				  const char *path)
{
	struct xlb_upstream_conf *u = &p->conf->upstreams[p->conf->nupstreams];
	struct item *it = &p->ups[p->conf->nupstreams++];
	size_t before = p->errs->n;
	char upath[PATH_LEN];
	yaml_node_t *kn = NULL;

	path_key(upath, path, "upstream");
	it->node = p->inline_up;
	u->line = line_of(p->inline_up);
	apply_defaults(&upstream_table, u);
	parse_object(p, &upstream_table, p->inline_up, u, upath);
	if (map_find(p, p->inline_up, "id", &kn))
		report(p, kn, upath, "an inline upstream has no id (it is named 'route:<route "
		       "id>'); use upstream_id to share an upstream");
	memset(u->id, 0, sizeof(u->id));
	if (strlen(r->id) > ROUTE_ID_INLINE_MAX) {
		path_key(upath, path, "id");
		report(p, map_find(p, rn, "id", NULL), upath, "must be at most %zu characters "
		       "when the route has an inline upstream (named 'route:<id>')",
		       ROUTE_ID_INLINE_MAX);
	} else if (r->id[0]) {
		path_fmt(u->id, INLINE_PREFIX "%s", r->id);
	}
	if (!map_find(p, rn, "upstream_id", NULL))
		memcpy(r->upstream_id, u->id, sizeof(r->upstream_id));
	it->ok = p->errs->n == before;
}

static void parse_route(struct parser *p, yaml_node_t *n, size_t i)
{
	struct xlb_route_conf *r = &p->conf->routes[p->conf->nroutes];
	struct item *it = &p->rts[p->conf->nroutes++];
	size_t before = p->errs->n;
	char path[PATH_LEN];

	path_fmt(path, "stream_routes[%zu]", i);
	it->node = n;
	r->line = line_of(n);
	p->inline_up = NULL;
	apply_defaults(&route_table, r);
	parse_object(p, &route_table, n, r, path);
	if (p->inline_up)
		parse_inline_upstream(p, r, n, path);
	it->ok = p->errs->n == before;
}

/* An id and the index of the object that has it. */
struct ent {
	const char *id;
	size_t i;
};

static int cmp_ent(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int d = strcmp(x->id, y->id);

	return d ? d : (x->i > y->i) - (x->i < y->i);
}

static int cmp_id_ent(const void *key, const void *b)
{
	return strcmp(key, ((const struct ent *)b)->id);
}

/* Sorts e by id; reports each object whose id an earlier one has. */
static void dup_ids(struct parser *p, struct ent *e, size_t n, const struct item *items,
		    const char *list)
{
	char path[PATH_LEN];
	size_t i, first = 0;

	qsort(e, n, sizeof(*e), cmp_ent);
	for (i = 1; i < n; i++) {
		if (strcmp(e[i].id, e[first].id)) {
			first = i;
			continue;
		}
		path_fmt(path, "%s[%zu].id", list, e[i].i);
		report(p, map_find(p, items[e[i].i].node, "id", NULL), path,
		       "duplicate id '%s' (first at line %u)", e[i].id,
		       line_of(map_find(p, items[e[first].i].node, "id", NULL)));
	}
}

int xlb_conf_upstream_nat(const struct xlb_conf *conf, const struct xlb_upstream_conf *u)
{
	return u->forward ? u->forward == XLB_FWD_NAT + 1 : conf->xlb.forward == XLB_FWD_NAT;
}

static const char *fwd_name(__u32 f)
{
	return f == XLB_FWD_NAT ? "nat" : f == XLB_FWD_L2 ? "l2" : "ipip";
}

/*
 * A route's forwarding: direct return is one method for the whole data
 * plane (xlb.forward), NAT may be chosen per upstream. A NAT route needs
 * the LB's address of its VIP's family and nodes of that family (no
 * translation between IPv4 and IPv6). Returns 1 when it reported.
 */
static int link_route_nat(struct parser *p, struct xlb_route_conf *r,
			  const struct xlb_upstream_conf *u, yaml_node_t *where, const char *path)
{
	const struct xlb_settings *s = &p->conf->xlb;
	const char *nat = r->vip.family == XLB_AF_INET ? s->nat_src : s->nat_src6;
	char vip[XLB_VIPSTRLEN], nd[XLB_VIPSTRLEN];
	struct xlb_addr_key na;
	size_t i;

	/*
	 * Nodes answer NAT connections at nat_src:PORT; were nat_src a VIP's
	 * address, those answers would be taken for new clients of the VIP.
	 */
	if (nat[0] && !xlb_addr_parse(nat, &na, NULL, 0) && na.family == r->vip.family &&
	    !memcmp(na.addr, r->vip.addr, sizeof(na.addr))) {
		report(p, where, path, "server_addr %s is also xlb.%s: nodes' replies to NAT "
		       "connections would be taken for this VIP's clients; give NAT another "
		       "address", nat, r->vip.family == XLB_AF_INET ? "nat_src" : "nat_src6");
		return 1;
	}
	if (u->forward && u->forward != XLB_FWD_NAT + 1 && s->forward != u->forward - 1) {
		report(p, where, path, "upstream '%s' (line %u) has forward %s but xlb.forward is "
		       "%s: direct return is one method for all; set forward: nat on the "
		       "upstreams to translate and xlb.forward to ipip or l2", u->id, u->line,
		       fwd_name(u->forward - 1), fwd_name(s->forward));
		return 1;
	}
	if (!xlb_conf_upstream_nat(p->conf, u))
		return 0;
	if (!(r->vip.family == XLB_AF_INET ? s->nat_src : s->nat_src6)[0]) {
		report(p, where, path, "upstream '%s' (line %u) forwards by NAT: set xlb.%s (the "
		       "LB's IPv%d address the nodes send their replies to)", u->id, u->line,
		       r->vip.family == XLB_AF_INET ? "nat_src" : "nat_src6", r->vip.family);
		return 1;
	}
	for (i = 0; i < u->nnodes && u->nodes[i].addr.family == r->vip.family; i++)
		;
	if (i == u->nnodes)
		return 0;
	report(p, where, path, "NAT from IPv%d VIP %s to node %s of upstream '%s' (line %u): "
	       "NAT does not translate between IPv4 and IPv6; use nodes of the VIP's family",
	       r->vip.family, xlb_vip_str(&r->vip, vip, sizeof(vip)),
	       node_str(&u->nodes[i], nd, sizeof(nd)), u->id, u->line);
	return 1;
}

/* The route's upstream exists; its protocol; IPv6 VIPs need IPv6 nodes. */
static void link_route(struct parser *p, size_t j, const struct ent *ups, size_t nups)
{
	struct xlb_route_conf *r = &p->conf->routes[j];
	struct item *it = &p->rts[j];
	const struct xlb_upstream_conf *u;
	char path[PATH_LEN], vip[XLB_VIPSTRLEN], nd[XLB_VIPSTRLEN];
	yaml_node_t *where, *kn = NULL;
	const struct ent *e;
	size_t i;

	if (!r->upstream_id[0])
		return;
	where = map_find(p, it->node, "upstream_id", NULL);
	path_fmt(path, "stream_routes[%zu].%s", j, where ? "upstream_id" : "upstream");
	if (!where && map_find(p, it->node, "upstream", &kn))
		where = kn;
	e = bsearch(r->upstream_id, ups, nups, sizeof(*ups), cmp_id_ent);
	if (!e) {
		report(p, where, path, "dangling upstream_id '%s': no upstream has this id",
		       r->upstream_id);
		it->ok = 0;
		return;
	}
	u = &p->conf->upstreams[e->i];
	if (!r->vip.proto)
		r->vip.proto = u->proto;
	if (!it->ok || !p->ups[e->i].ok)
		return;
	if (link_route_nat(p, r, u, where, path) || r->vip.family != XLB_AF_INET6)
		return;
	for (i = 0; i < u->nnodes && u->nodes[i].addr.family != XLB_AF_INET; i++)
		;
	if (i == u->nnodes)
		return;
	report(p, where, path, "IPv6 VIP %s needs IPv6 nodes: upstream '%s' (line %u) has %s",
	       xlb_vip_str(&r->vip, vip, sizeof(vip)), u->id, u->line,
	       node_str(&u->nodes[i], nd, sizeof(nd)));
	it->ok = 0;
}

struct vip_ent {
	const struct xlb_vip_key *vip;
	size_t i;
};

static int cmp_vip_ent(const void *a, const void *b)
{
	const struct vip_ent *x = a, *y = b;
	int d = memcmp(x->vip, y->vip, sizeof(*x->vip));

	return d ? d : (x->i > y->i) - (x->i < y->i);
}

static void dup_vips(struct parser *p, struct vip_ent *v, size_t n)
{
	const struct xlb_route_conf *r = p->conf->routes;
	char path[PATH_LEN], buf[XLB_VIPSTRLEN];
	size_t i, first = 0;

	qsort(v, n, sizeof(*v), cmp_vip_ent);
	for (i = 1; i < n; i++) {
		if (memcmp(v[i].vip, v[first].vip, sizeof(*v[i].vip))) {
			first = i;
			continue;
		}
		path_fmt(path, "stream_routes[%zu].server_addr", v[i].i);
		report(p, map_find(p, p->rts[v[i].i].node, "server_addr", NULL), path,
		       "duplicate VIP %s: stream routes '%s' (line %u) and '%s' (line %u)",
		       xlb_vip_str(v[i].vip, buf, sizeof(buf)), r[v[first].i].id,
		       r[v[first].i].line, r[v[i].i].id, r[v[i].i].line);
	}
}

static void relate(struct parser *p, size_t ntop)
{
	struct xlb_conf *c = p->conf;
	size_t n = c->nupstreams > c->nroutes ? c->nupstreams : c->nroutes, m, i;
	struct vip_ent *v = NULL;
	struct ent *e = NULL;

	if (!n)
		return;
	e = calloc(n, sizeof(*e));
	v = calloc(n, sizeof(*v));
	if (!e || !v) {
		p->err = -ENOMEM;
		goto out_free;
	}
	for (i = 0, m = 0; i < ntop; i++)
		if (c->upstreams[i].id[0])
			e[m++] = (struct ent){ c->upstreams[i].id, i };
	dup_ids(p, e, m, p->ups, "upstreams");
	for (i = 0, m = 0; i < c->nroutes; i++)
		if (c->routes[i].id[0])
			e[m++] = (struct ent){ c->routes[i].id, i };
	dup_ids(p, e, m, p->rts, "stream_routes");

	/* Every upstream by id, for the routes' references. */
	for (i = 0, m = 0; i < c->nupstreams; i++)
		if (c->upstreams[i].id[0])
			e[m++] = (struct ent){ c->upstreams[i].id, i };
	qsort(e, m, sizeof(*e), cmp_ent);
	for (i = 0; i < c->nroutes; i++)
		link_route(p, i, e, m);

	for (i = 0, m = 0; i < c->nroutes; i++)
		if (p->rts[i].ok)
			v[m++] = (struct vip_ent){ &c->routes[i].vip, i };
	dup_vips(p, v, m);
out_free:
	free(v);
	free(e);
}

/* A top-level list: its length, or 0 after reporting why it is unusable. */
static size_t list_len(struct parser *p, yaml_node_t *n, const char *name, size_t max)
{
	if (!n)
		return 0;
	if (n->type == YAML_SCALAR_NODE && node_kind(n) == SK_NULL) {
		report(p, n, name, "must be a list, not empty (write [] for none)");
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		report(p, n, name, "must be a list");
		return 0;
	}
	if (seq_len(n) > max) {
		report(p, n, name, "must have at most %zu entries", max);
		return 0;
	}
	return seq_len(n);
}

/* The root table's check: runs once every top-level key has been seen. */
static void build(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	struct xlb_conf *c = p->conf;
	size_t nup, nrt, i;

	/*
	 * No routes must be written as such: a file cut short before its
	 * stream_routes (saved half-way, a full disk) would otherwise remove
	 * every VIP. With etcd the routes come from etcd, not from the file.
	 */
	if (!p->routes && !c->etcd.enabled)
		report(p, n, path, "missing key 'stream_routes' (write 'stream_routes: []' to "
		       "run without routes; a file cut short must not remove them all)");
	nup = list_len(p, p->upstreams, "upstreams", UPSTREAMS_MAX);
	nrt = list_len(p, p->routes, "stream_routes", ROUTES_MAX);
	if (nup + nrt) {
		c->upstreams = calloc(nup + nrt, sizeof(*c->upstreams));
		p->ups = calloc(nup + nrt, sizeof(*p->ups));
		if (!c->upstreams || !p->ups) {
			p->err = -ENOMEM;
			return;
		}
	}
	if (nrt) {
		c->routes = calloc(nrt, sizeof(*c->routes));
		p->rts = calloc(nrt, sizeof(*p->rts));
		if (!c->routes || !p->rts) {
			p->err = -ENOMEM;
			return;
		}
	}
	for (i = 0; i < nup && !p->err; i++)
		parse_upstream(p, node_at(p, p->upstreams->data.sequence.items.start[i]), i);
	for (i = 0; i < nrt && !p->err; i++)
		parse_route(p, node_at(p, p->routes->data.sequence.items.start[i]), i);
	if (!p->err)
		relate(p, nup);
}

/* --- the API ------------------------------------------------------------- */

static int syntax_error(struct parser *p, const yaml_parser_t *yp, const char *text)
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
		report_at(p, line, col, "", "%s", yp->problem ? yp->problem : "unreadable text");
	} else if (yp->context) {
		report_at(p, yp->problem_mark.line + 1, yp->problem_mark.column + 1, "",
			  "%s (%s that started at line %zu)", yp->problem, yp->context,
			  yp->context_mark.line + 1);
	} else {
		report_at(p, yp->problem_mark.line + 1, yp->problem_mark.column + 1, "", "%s",
			  yp->problem ? yp->problem : "not YAML");
	}
	return -EINVAL;
}

int xlb_conf_parse(const char *text, struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	struct xlb_conf tmp = { 0 };
	struct parser p = { .conf = &tmp, .errs = errs };
	yaml_document_t doc, more;
	yaml_node_t *root;
	yaml_parser_t yp;
	int err;

	memset(conf, 0, sizeof(*conf));
	memset(errs, 0, sizeof(*errs));
	if (!text)
		return -EINVAL;
	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&yp, &doc)) {
		err = syntax_error(&p, &yp, text);
		goto out_parser;
	}
	p.doc = &doc;
	apply_defaults(&root_table, &tmp);
	root = yaml_document_get_root_node(&doc);
	/* Empty, comments only, or "---" alone: a file emptied or not yet written. */
	if (!root || (root->type == YAML_SCALAR_NODE && node_kind(root) == SK_NULL))
		report_at(&p, 1, 1, "", "the document is empty (write 'stream_routes: []' to "
			  "run without routes)");
	else if (root->type != YAML_MAPPING_NODE)
		report(&p, root, "", "the document must be a mapping of upstreams, "
		       "stream_routes and xlb");
	else
		parse_object(&p, &root_table, root, &tmp, "");
	/* One document: a second one would be silently ignored otherwise. */
	if (root && !yaml_parser_load(&yp, &more)) {
		syntax_error(&p, &yp, text);
	} else if (root) {
		if (yaml_document_get_root_node(&more))
			report(&p, yaml_document_get_root_node(&more), "",
			       "only one YAML document is allowed");
		yaml_document_delete(&more);
	}
	err = p.err ? p.err : errs->n ? -EINVAL : 0;
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&yp);
	free(p.ups);
	free(p.rts);
	sort_errors(errs);
	if (err)
		xlb_conf_free(&tmp);
	else
		*conf = tmp;
	return err;
}

/* The whole file, NUL-terminated, in *text (malloc'd), and its length. */
static int read_text(const char *file, char **text, size_t *size)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *bigger;
	ssize_t n;
	int fd, err = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (cap - len < 4096) {
			if (cap >= FILE_MAX) {
				err = -EFBIG;
				goto out_close;
			}
			cap = cap ? 2 * cap : 65536;
			bigger = realloc(buf, cap + 1);
			if (!bigger) {
				err = -ENOMEM;
				goto out_close;
			}
			buf = bigger;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out_close;
		}
		if (!n)
			break;
		len += n;
	}
	buf[len] = '\0';
out_close:
	close(fd);
	if (err) {
		free(buf);
	} else {
		*text = buf;
		*size = len;
	}
	return err;
}

int xlb_conf_read(const char *file, char **text, struct xlb_conf_errors *errs)
{
	unsigned int line = 1, col = 1;
	struct xlb_conf_error *e = &errs->e[0];
	size_t len = 0, i;
	char *buf = NULL;
	int err;

	memset(errs, 0, sizeof(*errs));
	*text = NULL;
	err = read_text(file, &buf, &len);
	if (err) {
		errs->n = 1;
		snprintf(e->msg, sizeof(e->msg), "cannot read: %s",
			 err == -EFBIG ? "larger than 64 MiB" : strerror(-err));
		return err == -EFBIG ? -EINVAL : err;
	}
	/* The parser stops at a NUL: what follows it would be silently lost. */
	if (strlen(buf) == len) {
		*text = buf;
		return 0;
	}
	for (i = 0; buf[i]; i++, col++) {
		if (buf[i] == '\n') {
			line++;
			col = 0;
		}
	}
	free(buf);
	errs->n = 1;
	e->line = line;
	e->col = col;
	snprintf(e->msg, sizeof(e->msg), "contains a NUL byte (not a text file?)");
	return -EINVAL;
}

int xlb_conf_load(const char *file, struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	char *text;
	int err;

	memset(conf, 0, sizeof(*conf));
	err = xlb_conf_read(file, &text, errs);
	if (err)
		return err;
	err = xlb_conf_parse(text, conf, errs);
	free(text);
	return err;
}

void xlb_conf_free(struct xlb_conf *conf)
{
	size_t i;

	if (!conf)
		return;
	for (i = 0; i < conf->nupstreams; i++) {
		free(conf->upstreams[i].nodes);
		free(conf->upstreams[i].discovery_args);
	}
	free(conf->upstreams);
	free(conf->routes);
	memset(conf, 0, sizeof(*conf));
}

void xlb_conf_error_str(const char *file, const struct xlb_conf_error *e, char *buf, size_t len)
{
	char pos[32] = "";

	if (e->line)
		snprintf(pos, sizeof(pos), ":%u:%u", e->line, e->col);
	snprintf(buf, len, "%s%s: %s%s%s", file ? file : "<input>", pos, e->path,
		 e->path[0] ? ": " : "", e->msg);
}

/* Linear: for lookups now and then, not per packet. */
const struct xlb_upstream_conf *xlb_conf_upstream(const struct xlb_conf *conf, const char *id)
{
	size_t i;

	for (i = 0; i < conf->nupstreams; i++)
		if (!strcmp(conf->upstreams[i].id, id))
			return &conf->upstreams[i];
	errno = ENOENT;
	return NULL;
}
