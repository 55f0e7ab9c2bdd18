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

#endif /* XLB_CONFIG_TABLES_H */
