/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xlb's key tables and the passes between them, private to config/: the
 * tables of apisix.yaml (tables.c) and of config.yaml's discovery: and
 * deployment: (tables_discovery.c), an upstream's nodes (nodes.c), and the
 * root table's check that builds and links the model (link.c).
 */
#ifndef XLB_CONFIG_TABLES_H
#define XLB_CONFIG_TABLES_H

#include "config/schema.h"

/* tables.c */
extern const struct table xlb_conf_root_table;
extern const struct table xlb_conf_upstream_table;
extern const struct table xlb_conf_route_table;

/* tables_discovery.c */
extern const struct table xlb_conf_discovery_table;
extern const struct table xlb_conf_deployment_table;

/* nodes.c: upstream.nodes (a KT_FN key), and "ADDR:PORT" / "[ADDR]:PORT" of a node. */
void xlb_conf_parse_nodes(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			  void *obj, const char *path);
char *xlb_conf_node_str(const struct xlb_node_conf *nd, char *buf, size_t len);

/* link.c: the root table's check; parses upstreams and routes, then relates them. */
void xlb_conf_build(struct parser *p, yaml_node_t *n, void *obj, const char *path);

/*
 * patch.c's parts in link.c: the items of seq (a document of their own;
 * NULL: none) as a run at first of list of conf, into a new array *items
 * with room for room of them (nodes: how many the other upstreams have,
 * for the limit); then, once in conf, what relates the n new items to the
 * others, the nold old ones being gone. 0, -EAGAIN (a problem, or a change
 * only a full parse may make), -ENOMEM.
 */
int xlb_conf_parse_run(const struct xlb_conf *conf, int list, size_t first, yaml_document_t *doc,
		       yaml_node_t *seq, size_t nodes, size_t room, void **items);
int xlb_conf_relate_run(struct xlb_conf *conf, int list, size_t first, size_t n, const void *old,
			size_t nold);

/* config.c's parts in patch.c: where the lists' items are in text. */
struct xlb_conf_layout *xlb_conf_layout_make(const char *text, yaml_document_t *doc,
					     yaml_node_t *ups, yaml_node_t *routes);
void xlb_conf_layout_free(struct xlb_conf_layout *lay);
/* The layout owns text (malloc'd) from now on. */
void xlb_conf_layout_text(struct xlb_conf_layout *lay, char *text);

#endif /* XLB_CONFIG_TABLES_H */
