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

static json_t *node_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	yaml_node_item_t *it;
	yaml_node_pair_t *p;
	yaml_node_t *k, *v;
	json_t *out, *child;

	if (!n || depth > 64)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			return plain_scalar((const char *)n->data.scalar.value,
					    n->data.scalar.length);
		return json_stringn((const char *)n->data.scalar.value, n->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (it = n->data.sequence.items.start; out && it < n->data.sequence.items.top;
		     it++) {
			child = node_json(doc, yaml_document_get_node(doc, *it), depth + 1);
			if (!child || json_array_append_new(out, child)) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		for (p = n->data.mapping.pairs.start; out && p < n->data.mapping.pairs.top; p++) {
			k = yaml_document_get_node(doc, p->key);
			v = yaml_document_get_node(doc, p->value);
			if (!k || k->type != YAML_SCALAR_NODE)
				goto bad_map;
			child = node_json(doc, v, depth + 1);
			if (!child)
				goto bad_map;
			if (json_object_setn_new(out, (const char *)k->data.scalar.value,
						 k->data.scalar.length, child))
				goto bad_map;
		}
		return out;
	bad_map:
		json_decref(out);
		return NULL;
	default:
		return NULL;
	}
}

json_t *xlb_yaml_to_json(const char *text)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *out = NULL;

	if (!yaml_parser_initialize(&parser)) {
		errno = ENOMEM;
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_parser_delete(&parser);
		errno = EINVAL;
		return NULL;
	}
	out = yaml_document_get_root_node(&doc)
		      ? node_json(&doc, yaml_document_get_root_node(&doc), 0)
		      : json_object();
	if (!out)
		errno = EINVAL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return out;
}
