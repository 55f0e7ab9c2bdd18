/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An upstream's nodes: {"HOST:PORT": WEIGHT, ...} or a list of {host, port,
 * weight, priority}. Nodes are address literals (host names need
 * discovery_type: dns), the port is required in both forms (an L4
 * balancer cannot default it from an HTTP scheme), and so is the weight in
 * the array form, as APISIX's own schema says. The same node twice in one
 * upstream is an error; duplicates are found by sorting. At most
 * XLB_MAX_MEMBERS nodes in all upstreams together.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/addr.h"
#include "config/tables.h"

#define NODES_MAX XLB_MAX_MEMBERS /* in all upstreams together */

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

char *xlb_conf_node_str(const struct xlb_node_conf *nd, char *buf, size_t len)
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
		snprintf(why, len,
			 "missing port (write HOST:PORT): xlb (L4) does not "
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
static void parse_host(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
		       void *obj, const char *path)
{
	struct xlb_node_conf *nd = obj;
	char why[WHY_LEN];
	const char *s = xlb_schema_string(vn);

	if (!s)
		xlb_schema_report(p, vn, path, "must be an IP address");
	else if (parse_host_text(s, &nd->addr, why, sizeof(why)))
		xlb_schema_report(p, vn, path, "%s", why);
}

/* A node's metadata (discovery's annotations): any mapping, as APISIX's schema says; unused. */
static void parse_metadata(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			   void *obj, const char *path)
{
	if (vn->type != YAML_MAPPING_NODE)
		xlb_schema_report(p, vn, path, "must be a mapping");
}

static const struct key node_keys[] = {
	{"host", KT_FN, .fn = parse_host, .flags = K_REQUIRED},
	{"port", KT_UINT, F(xlb_node_conf, port), .min = 1, .max = 65535, .flags = K_REQUIRED,
	 .note = "xlb (L4) does not default it from the scheme"},
	{"weight", KT_UINT, F(xlb_node_conf, weight), .min = 0, .max = XLB_WEIGHT_MAX,
	 .flags = K_REQUIRED},
	{"priority", KT_INT, F(xlb_node_conf, priority), .min = INT_MIN, .max = INT_MAX,
	 .def = "0"},
	{"metadata", KT_FN, .fn = parse_metadata},
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
		xlb_schema_path_fmt(dst, "%s[\"%s\"]", path, scalar(s->where));
	else
		xlb_schema_path_fmt(dst, "%s[%zu]", path, s->i);
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
		xlb_schema_report(p, src[i].where, npath, "duplicate node %s (first at line %u)",
				  xlb_conf_node_str(src[i].nd, buf, sizeof(buf)),
				  line_of(src[first].where));
	}
}

static int hash_node(struct parser *p, yaml_node_t *kn, yaml_node_t *vn, const char *path,
		     struct xlb_node_conf *nd)
{
	char npath[PATH_LEN], why[WHY_LEN];
	const char *s = xlb_schema_string(kn);
	int err = 0;

	memset(nd, 0, sizeof(*nd));
	if (!s) {
		xlb_schema_report(p, kn, path, "node keys must be HOST:PORT strings");
		return -EINVAL;
	}
	xlb_schema_path_fmt(npath, "%s[\"%s\"]", path, s);
	if (parse_hostport(s, nd, why, sizeof(why))) {
		xlb_schema_report(p, kn, npath, "%s", why);
		err = -EINVAL;
	}
	if (vn->type != YAML_SCALAR_NODE) {
		xlb_schema_expect(&weight_key, why, sizeof(why));
		xlb_schema_report(p, vn, npath, "weight %s", why);
		err = -EINVAL;
	} else if (xlb_schema_convert(&weight_key, scalar(vn), xlb_schema_node_kind(vn),
				      &nd->weight, why, sizeof(why))) {
		xlb_schema_report(p, vn, npath, "weight %s", why);
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
	xlb_schema_path_fmt(npath, "%s[%zu]", path, i);
	xlb_schema_defaults(&node_table, nd);
	xlb_schema_parse_object(p, &node_table, item, nd, npath);
	return p->errs->n == before ? 0 : -EINVAL;
}

/* nodes: {"HOST:PORT": WEIGHT, ...} or [{host, port, weight, priority}, ...] */
void xlb_conf_parse_nodes(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			  void *obj, const char *path)
{
	struct xlb_upstream_conf *u = obj;
	struct xlb_node_conf *nodes = NULL;
	struct node_src *src = NULL;
	int hash = vn->type == YAML_MAPPING_NODE;
	yaml_node_pair_t *pair;
	size_t n, m = 0, i;
	yaml_node_t *item;

	if (!hash && vn->type != YAML_SEQUENCE_NODE) {
		xlb_schema_report(p, vn, path,
				  "must be {\"HOST:PORT\": WEIGHT, ...} or a list of "
				  "{host, port, weight, priority}");
		return;
	}
	n = hash ? (size_t)(vn->data.mapping.pairs.top - vn->data.mapping.pairs.start)
		 : seq_len(vn);
	if (n > NODES_MAX - p->nodes) {
		xlb_schema_report(p, vn, path,
				  "too many nodes: at most %d in all upstreams together",
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
		src[m] = (struct node_src){.nd = &nodes[m], .where = item, .i = i};
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
