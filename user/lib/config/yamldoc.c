// SPDX-License-Identifier: GPL-2.0-only
/*
 * YAML documents from libyaml's events (xlb_yaml_events), and the node
 * graph that yaml_parser_load() builds, built from them at a fraction of
 * the cost (xlb_yaml_doc_load): the same nodes with the same indices and
 * marks, aliases pointing at their anchor's node, so the schema engine
 * reads it with libyaml's own accessors. libyaml's loader allocates per
 * node (a copy of the default tag, a stack of items or pairs); here the
 * nodes, the children of every collection and the text of every scalar
 * are three arrays that grow by doubling, and a collection's children wait
 * on one stack until its end event, then move to their array in one
 * piece. A mapping's pairs are its children two by two (key, value). Tags
 * are not kept (nothing in the configuration reads them).
 *
 * While loading, a node's pointers hold offsets into arrays that may
 * still move; they become pointers once the document is complete.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/yamldoc.h"

int xlb_yaml_events(yaml_parser_t *yp, const struct xlb_yaml_sink *sink, void *ctx)
{
	yaml_event_t ev;
	int err = 0;

	if (!yp->stream_start_produced) {
		if (!yaml_parser_parse(yp, &ev))
			return -1;
		yaml_event_delete(&ev); /* STREAM-START */
	}
	if (yp->stream_end_produced)
		return 0;
	if (!yaml_parser_parse(yp, &ev))
		return -1;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_event_delete(&ev); /* DOCUMENT-START: its directives are not kept */
	while (!err) {
		if (!yaml_parser_parse(yp, &ev))
			return -1;
		switch (ev.type) {
		case YAML_SCALAR_EVENT:
			err = sink->scalar(ctx, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			err = sink->start(ctx, &ev);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			err = sink->end(ctx, &ev);
			break;
		case YAML_ALIAS_EVENT:
			err = sink->alias(ctx, &ev);
			break;
		case YAML_DOCUMENT_END_EVENT:
			yaml_event_delete(&ev);
			return 1;
		default: /* not inside a document */
			break;
		}
		yaml_event_delete(&ev);
	}
	return -1;
}

int xlb_yaml_grow(void *buf, size_t *cap, size_t used, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;
	void *bigger;

	if (*(void **)buf && used + need <= *cap)
		return 0;
	while (n < used + need)
		n *= 2;
	bigger = realloc(*(void **)buf, n * elem);
	if (!bigger)
		return -1;
	*(void **)buf = bigger;
	*cap = n;
	return 0;
}

/* Linear, as libyaml's composer: documents have few anchors. */
size_t xlb_yaml_anchor_find(const void *anchors, size_t n, size_t elem, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(*(char *const *)((const char *)anchors + i * elem), name))
			break;
	return i;
}

/* --- the node graph --------------------------------------------------------- */

struct anchor {
	char *name;
	int index;
};

/* An open collection: its node and where its children start on the stack. */
struct frame {
	int index;
	size_t first;
};

struct loader {
	yaml_parser_t *yp;
	yaml_node_t *nodes;
	size_t nnodes, cap_nodes;
	int *stack; /* children of the open collections */
	size_t nstack, cap_stack;
	struct frame *open;
	size_t nopen, cap_open;
	int *kids;
	size_t nkids, cap_kids;
	char *text;
	size_t ntext, cap_text;
	struct anchor *anchors;
	size_t nanchors, cap_anchors;
};

static int memory_error(struct loader *l)
{
	l->yp->error = YAML_MEMORY_ERROR;
	return -1;
}

/* A node (collections: empty until their end): its index, or 0 (memory). */
static int add_node(struct loader *l, yaml_node_type_t type, const yaml_event_t *ev)
{
	yaml_node_t *n;

	if (xlb_yaml_grow(&l->nodes, &l->cap_nodes, l->nnodes, 1, sizeof(*l->nodes)))
		return 0;
	n = &l->nodes[l->nnodes++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->start_mark = ev->start_mark;
	n->end_mark = ev->end_mark;
	return (int)l->nnodes;
}

/* The node's anchor, if it has one (taken from the event), as libyaml's composer does. */
static int add_anchor(struct loader *l, int index, yaml_char_t **name)
{
	size_t i;

	if (!*name)
		return 0;
	i = xlb_yaml_anchor_find(l->anchors, l->nanchors, sizeof(*l->anchors), (const char *)*name);
	if (i < l->nanchors) {
		l->yp->error = YAML_COMPOSER_ERROR;
		l->yp->context = "found duplicate anchor; first occurrence";
		l->yp->context_mark = l->nodes[l->anchors[i].index - 1].start_mark;
		l->yp->problem = "second occurrence";
		l->yp->problem_mark = l->nodes[index - 1].start_mark;
		return -1;
	}
	if (xlb_yaml_grow(&l->anchors, &l->cap_anchors, l->nanchors, 1, sizeof(*l->anchors)))
		return memory_error(l);
	l->anchors[l->nanchors++] = (struct anchor){(char *)*name, index};
	*name = NULL;
	return 0;
}

/* Node index into the open collection, if any (else it is the root). */
static int add_kid(struct loader *l, int index)
{
	if (!l->nopen)
		return 0;
	if (xlb_yaml_grow(&l->stack, &l->cap_stack, l->nstack, 1, sizeof(*l->stack)))
		return memory_error(l);
	l->stack[l->nstack++] = index;
	return 0;
}

static int load_scalar(void *ctx, yaml_event_t *ev)
{
	struct loader *l = ctx;
	size_t len = ev->data.scalar.length;
	int index = add_node(l, YAML_SCALAR_NODE, ev);
	yaml_node_t *n;

	if (!index || xlb_yaml_grow(&l->text, &l->cap_text, l->ntext, len + 1, 1))
		return memory_error(l);
	n = &l->nodes[index - 1];
	memcpy(l->text + l->ntext, ev->data.scalar.value, len);
	l->text[l->ntext + len] = '\0';
	n->data.scalar.value = (yaml_char_t *)(uintptr_t)l->ntext;
	n->data.scalar.length = len;
	n->data.scalar.style = ev->data.scalar.style;
	l->ntext += len + 1;
	if (add_anchor(l, index, &ev->data.scalar.anchor))
		return -1;
	return add_kid(l, index);
}

static int load_start(void *ctx, yaml_event_t *ev)
{
	struct loader *l = ctx;
	int map = ev->type == YAML_MAPPING_START_EVENT;
	int index = add_node(l, map ? YAML_MAPPING_NODE : YAML_SEQUENCE_NODE, ev);

	if (!index)
		return memory_error(l);
	if (map)
		l->nodes[index - 1].data.mapping.style = ev->data.mapping_start.style;
	else
		l->nodes[index - 1].data.sequence.style = ev->data.sequence_start.style;
	if (add_anchor(l, index,
		       map ? &ev->data.mapping_start.anchor : &ev->data.sequence_start.anchor) ||
	    add_kid(l, index))
		return -1;
	if (xlb_yaml_grow(&l->open, &l->cap_open, l->nopen, 1, sizeof(*l->open)))
		return memory_error(l);
	l->open[l->nopen++] = (struct frame){index, l->nstack};
	return 0;
}

/*
 * The open collection's children move to kids. The parser gives a
 * mapping's keys and values in turn: n / 2 pairs.
 */
static int load_end(void *ctx, yaml_event_t *ev)
{
	struct loader *l = ctx;
	struct frame *f = &l->open[--l->nopen];
	size_t n = l->nstack - f->first;
	yaml_node_t *node = &l->nodes[f->index - 1];

	if (xlb_yaml_grow(&l->kids, &l->cap_kids, l->nkids, n, sizeof(*l->kids)))
		return memory_error(l);
	if (n)
		memcpy(l->kids + l->nkids, l->stack + f->first, n * sizeof(*l->kids));
	node->end_mark = ev->end_mark;
	/* Offsets for now (sequence and mapping alike): see finish(). */
	node->data.sequence.items.start = (yaml_node_item_t *)(uintptr_t)l->nkids;
	l->nkids += n;
	node->data.sequence.items.top = (yaml_node_item_t *)(uintptr_t)l->nkids;
	l->nstack = f->first;
	return 0;
}

static int load_alias(void *ctx, yaml_event_t *ev)
{
	struct loader *l = ctx;
	size_t i = xlb_yaml_anchor_find(l->anchors, l->nanchors, sizeof(*l->anchors),
					(const char *)ev->data.alias.anchor);

	if (i < l->nanchors)
		return add_kid(l, l->anchors[i].index);
	l->yp->error = YAML_COMPOSER_ERROR;
	l->yp->problem = "found undefined alias";
	l->yp->problem_mark = ev->start_mark;
	return -1;
}

static const struct xlb_yaml_sink loader_sink = {
	.scalar = load_scalar,
	.start = load_start,
	.end = load_end,
	.alias = load_alias,
};

/* Offsets s.start, s.top into kids become pointers to type. */
#define SPAN(s, type, kids)                                                \
	do {                                                               \
		(s).start = (type *)((kids) + (uintptr_t)(s).start);       \
		(s).top = (s).end = (type *)((kids) + (uintptr_t)(s).top); \
	} while (0)

/* Offsets become pointers, now that the arrays stay where they are. */
static void finish(struct loader *l, struct xlb_yaml_doc *d)
{
	yaml_node_t *n;

	for (n = l->nodes; n < l->nodes + l->nnodes; n++) {
		if (n->type == YAML_SCALAR_NODE)
			n->data.scalar.value =
				(yaml_char_t *)l->text + (uintptr_t)n->data.scalar.value;
		else if (n->type == YAML_SEQUENCE_NODE)
			SPAN(n->data.sequence.items, yaml_node_item_t, l->kids);
		else if (n->type == YAML_MAPPING_NODE)
			SPAN(n->data.mapping.pairs, yaml_node_pair_t, l->kids);
	}
	d->doc.nodes.start = l->nodes;
	d->doc.nodes.top = l->nodes + l->nnodes;
	d->doc.nodes.end = l->nodes + l->cap_nodes;
	d->kids = l->kids;
	d->text = l->text;
	l->nodes = NULL;
	l->kids = NULL;
	l->text = NULL;
}

int xlb_yaml_doc_load(yaml_parser_t *yp, struct xlb_yaml_doc *d)
{
	struct loader l = {.yp = yp};
	size_t i;
	int ret;

	memset(d, 0, sizeof(*d));
	ret = xlb_yaml_events(yp, &loader_sink, &l);
	if (ret > 0) {
		finish(&l, d);
		d->anchors = l.nanchors;
	}
	for (i = 0; i < l.nanchors; i++)
		free(l.anchors[i].name);
	free(l.anchors);
	free(l.open);
	free(l.stack);
	free(l.nodes);
	free(l.kids);
	free(l.text);
	return ret >= 0;
}

void xlb_yaml_doc_free(struct xlb_yaml_doc *d)
{
	free(d->doc.nodes.start);
	free(d->kids);
	free(d->text);
	memset(d, 0, sizeof(*d));
}
