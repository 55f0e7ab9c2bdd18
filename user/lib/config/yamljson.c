// SPDX-License-Identifier: GPL-2.0-only
/*
 * A YAML (or JSON) document as a jansson tree, so that the agent can edit
 * its configuration object by object (Admin API) and hand the result back
 * to the one validating parser as JSON text. Plain scalars take the YAML
 * 1.1 core types the configuration uses (integers, floats, true/false,
 * null); quoted scalars stay strings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/yamldoc.h"
#include "config/yamljson.h"

static json_t *plain_scalar(const char *s, size_t len)
{
	char *end;
	long long i;
	double d;

	if (!len || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	errno = 0;
	i = strtoll(s, &end, 10);
	if (!errno && end == s + len && (s[0] != '0' || len == 1))
		return json_integer(i);
	errno = 0;
	d = strtod(s, &end);
	if (!errno && end == s + len && strpbrk(s, ".eE"))
		return json_real(d);
	return json_stringn(s, len);
}

/* An anchor: the value an alias copies, and a scalar's text for keys. */
struct janchor {
	char *name;
	json_t *value; /* a reference */
	char *key;     /* a scalar's text (NULL: a collection) */
	size_t keylen;
	int height; /* levels below it; -1 while it is open */
};

/* An open collection: values go into v, a mapping's after their key. */
struct jframe {
	json_t *v;
	char *key; /* the pending key of a mapping (NULL: none) */
	size_t keylen;
	int height;
	int anchor; /* its anchor's index, or -1 */
};

/*
 * One conversion: the deepest value is DEPTH_MAX levels below the root,
 * aliases expanded; a deeper one (an alias of an open collection among
 * them) makes the document fail, as a graph walk of libyaml's document
 * limited to that depth would.
 */
#define DEPTH_MAX 64

struct jload {
	json_t *root;
	struct jframe *open;
	size_t nopen, cap_open;
	struct janchor *anchors;
	size_t nanchors, cap_anchors;
};

/* v (taken) as the next value, height levels deep below itself. */
static int jadd(struct jload *l, json_t *v, int height)
{
	struct jframe *f;
	int err;

	if (!v)
		return -1;
	if ((int)l->nopen + height > DEPTH_MAX) {
		json_decref(v);
		return -1;
	}
	if (!l->nopen) {
		l->root = v;
		return 0;
	}
	f = &l->open[l->nopen - 1];
	if (f->height < height + 1)
		f->height = height + 1;
	if (json_is_array(f->v))
		return json_array_append_new(f->v, v);
	err = json_object_setn_new(f->v, f->key, f->keylen, v);
	free(f->key);
	f->key = NULL;
	return err;
}

/* A mapping's next key, from scalar text s: 0, or -1 if it is a value. */
static int jkey(struct jload *l, const char *s, size_t len, int *err)
{
	struct jframe *f = l->nopen ? &l->open[l->nopen - 1] : NULL;

	*err = 0;
	if (!f || !json_is_object(f->v) || f->key)
		return -1;
	f->key = malloc(len + 1);
	if (!f->key) {
		*err = -1;
		return 0;
	}
	memcpy(f->key, s, len);
	f->key[len] = '\0';
	f->keylen = len;
	return 0;
}

/* Where a collection or scalar is expected as a key: only scalars may be. */
static int jwants_key(const struct jload *l)
{
	const struct jframe *f = l->nopen ? &l->open[l->nopen - 1] : NULL;

	return f && json_is_object(f->v) && !f->key;
}

/* The anchor name (taken from the event), for value: 0 or -1. */
static int janchor_add(struct jload *l, yaml_char_t **name, json_t *value, const char *key,
		       size_t keylen)
{
	struct janchor *a;

	if (!*name)
		return 0;
	/* A name given twice: libyaml's "found duplicate anchor". */
	if (xlb_yaml_anchor_find(l->anchors, l->nanchors, sizeof(*l->anchors),
				 (const char *)*name) < l->nanchors ||
	    xlb_yaml_grow(&l->anchors, &l->cap_anchors, l->nanchors, 1, sizeof(*l->anchors)))
		return -1;
	a = &l->anchors[l->nanchors];
	*a = (struct janchor){.value = json_incref(value), .height = key ? 0 : -1};
	if (key) {
		a->key = malloc(keylen + 1);
		if (!a->key) {
			json_decref(value);
			return -1;
		}
		memcpy(a->key, key, keylen);
		a->key[keylen] = '\0';
		a->keylen = keylen;
	}
	a->name = (char *)*name;
	*name = NULL;
	l->nanchors++;
	return 0;
}

static int jscalar(void *ctx, yaml_event_t *ev)
{
	struct jload *l = ctx;
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	json_t *v;
	int err;

	v = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_scalar(s, len)
							     : json_stringn(s, len);
	if (!v || janchor_add(l, &ev->data.scalar.anchor, v, s, len)) {
		json_decref(v);
		return -1;
	}
	if (!jkey(l, s, len, &err)) {
		json_decref(v);
		return err;
	}
	return jadd(l, v, 0);
}

static int jstart(void *ctx, yaml_event_t *ev)
{
	struct jload *l = ctx;
	int map = ev->type == YAML_MAPPING_START_EVENT;
	json_t *v = map ? json_object() : json_array();
	size_t anchor = l->nanchors;

	/* A collection as a key, or one level too deep. */
	if (!v || jwants_key(l) || (int)l->nopen > DEPTH_MAX ||
	    janchor_add(l, map ? &ev->data.mapping_start.anchor : &ev->data.sequence_start.anchor,
			v, NULL, 0) ||
	    xlb_yaml_grow(&l->open, &l->cap_open, l->nopen, 1, sizeof(*l->open))) {
		json_decref(v);
		return -1;
	}
	if (jadd(l, json_incref(v), 0)) {
		json_decref(v);
		return -1;
	}
	l->open[l->nopen++] =
		(struct jframe){.v = v, .anchor = anchor < l->nanchors ? (int)anchor : -1};
	json_decref(v); /* its parent (or root) holds it */
	return 0;
}

static int jend(void *ctx, yaml_event_t *ev)
{
	struct jload *l = ctx;
	struct jframe *f = &l->open[--l->nopen];

	if (f->anchor >= 0)
		l->anchors[f->anchor].height = f->height;
	free(f->key);
	/* Its height is known only now. */
	if (l->nopen && l->open[l->nopen - 1].height < f->height + 1)
		l->open[l->nopen - 1].height = f->height + 1;
	return (int)l->nopen + f->height > DEPTH_MAX ? -1 : 0;
}

static int jalias(void *ctx, yaml_event_t *ev)
{
	struct jload *l = ctx;
	size_t i = xlb_yaml_anchor_find(l->anchors, l->nanchors, sizeof(*l->anchors),
					(const char *)ev->data.alias.anchor);
	const struct janchor *a;
	int err;

	/* Undefined (libyaml: "found undefined alias"), or its own descendant. */
	if (i == l->nanchors || l->anchors[i].height < 0)
		return -1;
	a = &l->anchors[i];
	if (a->key && !jkey(l, a->key, a->keylen, &err))
		return err;
	if (!a->key && jwants_key(l))
		return -1;
	return jadd(l, json_deep_copy(a->value), a->height);
}

static void jload_free(struct jload *l)
{
	size_t i;

	for (i = 0; i < l->nopen; i++)
		free(l->open[i].key);
	for (i = 0; i < l->nanchors; i++) {
		free(l->anchors[i].name);
		free(l->anchors[i].key);
		json_decref(l->anchors[i].value);
	}
	free(l->anchors);
	free(l->open);
}

static const struct xlb_yaml_sink json_sink = {
	.scalar = jscalar,
	.start = jstart,
	.end = jend,
	.alias = jalias,
};

/*
 * The first document straight from libyaml's events: no node graph. An
 * alias is a copy of its anchor's value; a mapping's keys are scalars
 * (an alias of a scalar counts), as in JSON.
 */
json_t *xlb_yaml_to_json(const char *text)
{
	struct jload l = {0};
	yaml_parser_t parser;
	int ret;

	if (!yaml_parser_initialize(&parser)) {
		errno = ENOMEM;
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	ret = xlb_yaml_events(&parser, &json_sink, &l);
	if (!ret)
		l.root = json_object(); /* nothing: an empty object */
	jload_free(&l);
	yaml_parser_delete(&parser);
	if (ret >= 0 && l.root)
		return l.root;
	json_decref(l.root);
	errno = EINVAL;
	return NULL;
}
