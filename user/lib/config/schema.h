/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The schema engine's types and functions, private to config/: a table of
 * keys (name, type, bounds, default, the field it fills) per object, and
 * the functions that apply such a table to a node of a libyaml document,
 * reporting each problem with its line, column and path (schema.c).
 */
#ifndef XLB_CONFIG_SCHEMA_H
#define XLB_CONFIG_SCHEMA_H

#include <stddef.h>
#include <yaml.h>
#include "config/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STR_(x)	      #x
#define STR(x)	      STR_(x)

#define PATH_LEN sizeof(((struct xlb_conf_error *)0)->path)
#define WHY_LEN	 sizeof(((struct xlb_conf_error *)0)->msg)
#define KEYS_MAX 32 /* keys in one table */

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
	KT_SECONDS,	/* double, > 0 and <= dmax; fractions allowed (but K_INTEGER) */
	KT_BOOL,	/* int 0/1 */
	KT_ENUM,	/* one of choices: its value, or its name if K_TEXT */
	KT_STATUSES,	/* HTTP status codes: count at off2, array at off */
	KT_STRLIST,	/* strings: count at off2, char[max][size / max] at off */
	KT_OBJECT,	/* a nested table filling the struct at off */
	KT_FN,		/* parsed by fn */
	KT_META,	/* metadata: accepted and ignored */
	KT_UNSUPPORTED, /* an APISIX key that xlb (L4) cannot honour */
};

#define K_REQUIRED (1U << 0)
#define K_TEXT	   (1U << 1) /* KT_ENUM: store the name, not the value */
#define K_BE16	   (1U << 2) /* KT_UINT: store in network byte order */
#define K_INTEGER  (1U << 3) /* KT_SECONDS: a whole number, min to dmax */
#define K_MS	   (1U << 4) /* KT_SECONDS: written in milliseconds */

struct choice {
	const char *name;
	int value;
};

/* Checks a converted value; text for strings, v for numbers. */
typedef int (*check_fn)(const char *text, unsigned long long v, char *why, size_t len);
typedef void (*parse_fn)(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			 void *obj, const char *path);
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
	const char *const *unsupported; /* KT_ENUM: APISIX values xlb rejects */
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
	size_t present; /* offset + 1 of an int set when given; 0: none */
	table_fn check; /* cross-key checks, after the keys */
};

/* In tables: the field of struct type a key fills, a table's presence flag, a table. */
#define F(type, m)	 .off = offsetof(struct type, m), .size = sizeof(((struct type *)0)->m)
#define PRESENT(type, m) (offsetof(struct type, m) + 1)
#define TABLE(k, ...)                                          \
	{                                                      \
		.keys = k, .nkeys = ARRAY_SIZE(k), __VA_ARGS__ \
	}

/* What the parser knows about one upstream or route while it runs. */
struct item {
	yaml_node_t *node; /* its mapping */
	int ok;		   /* parsed without a problem */
};

/*
 * One parse: the engine's part (doc, errs, err), then what xlb's tables
 * and link.c keep while they build the model.
 */
struct parser {
	yaml_document_t *doc;
	struct xlb_conf_errors *errs;
	int err; /* -ENOMEM, sticky */
	struct xlb_conf *conf;
	yaml_node_t *upstreams; /* the top-level sequences, found ... */
	yaml_node_t *routes;	/* ... first, parsed in order later */
	yaml_node_t *inline_up; /* the route being parsed: its upstream */
	size_t nodes;		/* nodes in all upstreams so far */
	struct item *ups, *rts;
};

/* --- errors ----------------------------------------------------------------- */

/* A problem at a known line and column (1-based; 0: unknown). */
void xlb_schema_report_at(struct parser *p, unsigned int line, unsigned int col, const char *path,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A problem at node n (NULL: position unknown). */
void xlb_schema_report(struct parser *p, const yaml_node_t *n, const char *path, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));
/* libyaml's syntax error, with its position: -EINVAL, or -ENOMEM. */
int xlb_schema_syntax_error(struct parser *p, const yaml_parser_t *yp, const char *text);
/* Errors sorted by position; equal positions keep their order. */
void xlb_schema_sort_errors(struct xlb_conf_errors *errs);

/* A path of PATH_LEN bytes: printf-like, and base.name. */
void xlb_schema_path_fmt(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xlb_schema_path_key(char *dst, const char *base, const char *name);

/* --- nodes and scalars ------------------------------------------------------ */

static inline yaml_node_t *node_at(struct parser *p, int i)
{
	return yaml_document_get_node(p->doc, i);
}

static inline const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static inline unsigned int line_of(const yaml_node_t *n)
{
	return n ? (unsigned int)n->start_mark.line + 1 : 0;
}

static inline size_t seq_len(const yaml_node_t *n)
{
	return n->data.sequence.items.top - n->data.sequence.items.start;
}

enum kind xlb_schema_kind_of(const char *s, int plain);
enum kind xlb_schema_node_kind(const yaml_node_t *n);
/* A scalar usable as a string: a string or a number, as written; else NULL. */
const char *xlb_schema_string(const yaml_node_t *n);
/* The value of key name in mapping n (and the key node), or NULL. */
yaml_node_t *xlb_schema_map_find(struct parser *p, yaml_node_t *n, const char *name,
				 yaml_node_t **kn);

/* --- values and objects ----------------------------------------------------- */

/* What key k allows, as a message ("must be an integer 1-254"). */
void xlb_schema_expect(const struct key *k, char *why, size_t len);
/*
 * Converts scalar text s of the given kind for key k and stores it into
 * the table's struct at obj. Used for the document's values and for the
 * tables' defaults alike. Return: 0, or -EINVAL with a reason in why.
 */
int xlb_schema_convert(const struct key *k, const char *s, enum kind kind, void *obj, char *why,
		       size_t len);
/* Every default of table t (and of its nested tables) into obj. */
void xlb_schema_defaults(const struct table *t, void *obj);
/* Mapping n into obj by table t; every problem reported under path. */
void xlb_schema_parse_object(struct parser *p, const struct table *t, yaml_node_t *n, void *obj,
			     const char *path);

#endif /* XLB_CONFIG_SCHEMA_H */
