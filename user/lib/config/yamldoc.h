/* SPDX-License-Identifier: GPL-2.0-only */
/* YAML documents from libyaml's events: a node graph in a few arrays, or any other sink (see yamldoc.c). */
#ifndef XLB_YAMLDOC_H
#define XLB_YAMLDOC_H

#include <yaml.h>

/*
 * What a document's events build. Each function returns 0, or -1 to stop
 * (setting yp->error if the problem is libyaml's kind). An event's
 * strings (value, anchor) may be taken: set the pointer to NULL.
 */
struct xlb_yaml_sink {
	int (*scalar)(void *ctx, yaml_event_t *ev);
	int (*start)(void *ctx, yaml_event_t *ev); /* a sequence or a mapping */
	int (*end)(void *ctx, yaml_event_t *ev);
	int (*alias)(void *ctx, yaml_event_t *ev);
};

/*
 * The next document of yp's stream into sink, reading the same events as
 * yaml_parser_load() does: 1 (a document), 0 (the end of the stream), or
 * -1 (libyaml's error in yp, or the sink's).
 */
int xlb_yaml_events(yaml_parser_t *yp, const struct xlb_yaml_sink *sink, void *ctx);

/* Room for need more elements of size elem in *buf, of *cap (allocated even for none): 0, or -1. */
int xlb_yaml_grow(void *buf, size_t *cap, size_t used, size_t need, size_t elem);
/* In n structs of size elem, each starting with an anchor's name (char *): name's index, or n. */
size_t xlb_yaml_anchor_find(const void *anchors, size_t n, size_t elem, const char *name);

/*
 * doc is a libyaml document (read it with yaml_document_get_node() and
 * yaml_document_get_root_node()) whose nodes, items and pairs, and scalars
 * live in the arrays below; free it with xlb_yaml_doc_free(), never with
 * yaml_document_delete(). Tags and directives are not kept.
 */
struct xlb_yaml_doc {
	yaml_document_t doc;
	int *kids;	/* every sequence's items and mapping's pairs (key, value) */
	char *text;	/* every scalar, NUL-terminated, one after another */
	size_t anchors; /* anchors the document defines (0: no alias can occur) */
};

/*
 * The next document of yp's stream, as yaml_parser_load() reads it: the
 * same nodes in the same order, the same errors in yp (libyaml's, and its
 * composer's for anchors and aliases). Returns 1 (no root node at the end
 * of the stream) or 0 with yp->error set.
 */
int xlb_yaml_doc_load(yaml_parser_t *yp, struct xlb_yaml_doc *d);
void xlb_yaml_doc_free(struct xlb_yaml_doc *d);

#endif /* XLB_YAMLDOC_H */
