/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xlb's key tables for APISIX's standalone apisix.yaml: the root, xlb's
 * own settings (xlb:, xlb.admin), upstreams with their checks, and stream
 * routes; the checks of single values they use and the fields parsed by
 * functions of their own (discovery_args, server_addr, remote_addr, an
 * inline upstream). Nodes are in nodes.c, discovery: and deployment: in
 * tables_discovery.c; what relates objects to each other in link.c.
 *
 * Defaults are APISIX's schema (lua-resty-healthcheck's for passive
 * checks). APISIX keys that xlb cannot honour at L4 are errors that say
 * so; metadata (name, desc, labels: checked as APISIX's schema does;
 * create_time, update_time, a node's metadata) has no effect.
 *
 * Where xlb differs from APISIX, on purpose: server_addr is required (it
 * is the VIP, not a filter) and is one address, not a prefix; besides
 * APISIX's interval (whole seconds from 1) a health check's state takes
 * interval_ms, from 0 (no active probe in that state: lua-resty-
 * healthcheck's 0, which APISIX's schema does not let through);
 * remote_addr's host bits are cleared. As APISIX: passive
 * checks only together with active ones. discovery_args may be any
 * mapping, kept as JSON text: at most 4096 values 16 levels deep.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/addr.h"
#include "base/apikey.h"
#include "config/tables.h"
#include "dataplane/maglev.h"

#define ARGS_DEPTH_MAX	16   /* discovery_args nesting */
#define ARGS_VALUES_MAX 4096 /* values in one discovery_args */
#define SECONDS_MAX	3600

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

#define PRIME_EXPECT                                                                              \
	"must be 0 (chosen from the node count) or a prime 3-" STR(XLB_MAGLEV_MAX) " (e.g. " STR( \
		XLB_MAGLEV_DEFAULT) ")"

static int check_prime(const char *s, unsigned long long v, char *why, size_t len)
{
	if (!v || (v <= UINT32_MAX && xlb_maglev_size_valid((__u32)v)))
		return 0;
	snprintf(why, len, PRIME_EXPECT);
	return -EINVAL;
}

#define POW2_EXPECT "must be 0 or a power of two 1024-16777216"

static int check_pow2(const char *s, unsigned long long v, char *why, size_t len)
{
	if (!v || (v >= 1024 && !(v & (v - 1))))
		return 0;
	snprintf(why, len, POW2_EXPECT);
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

	for (c = s; colon && c<colon && * c> ' ' && *c < 0x7f; c++)
		;
	if (colon && colon > s && c == colon && !strpbrk(s, "\r\n"))
		return 0;
	snprintf(why, len, "must be a header 'Name: value'");
	return -EINVAL;
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
		switch (xlb_schema_node_kind(n)) {
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
		for (it = n->data.sequence.items.start; j && it < n->data.sequence.items.top;
		     it++) {
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
			s = xlb_schema_string(kn);
			if (!s || json_object_get(j, s)) {
				snprintf(c->why, sizeof(c->why),
					 s ? "duplicate key '%s'" : "keys must be strings", s);
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
	static const char *const typed[] = {"namespace_id", "group_name"};
	struct xlb_upstream_conf *u = obj;
	struct json_ctx c = {0};
	char tpath[PATH_LEN];
	yaml_node_t *tn;
	size_t i;
	int bad = 0;
	json_t *j;

	if (vn->type != YAML_MAPPING_NODE) {
		xlb_schema_report(p, vn, path, "must be a mapping");
		return;
	}
	/* The keys APISIX's schema types (nacos's); the rest is free. */
	for (i = 0; i < ARRAY_SIZE(typed); i++) {
		tn = xlb_schema_map_find(p, vn, typed[i], NULL);
		if (!tn || (tn->type == YAML_SCALAR_NODE && xlb_schema_node_kind(tn) == SK_STR))
			continue;
		xlb_schema_path_key(tpath, path, typed[i]);
		xlb_schema_report(p, tn, tpath, "must be a string");
		bad = 1;
	}
	if (bad)
		return;
	j = to_json(p, vn, 0, &c);
	if (!j && c.where) {
		xlb_schema_report(p, c.where, path, "%s", c.why);
		return;
	}
	if (j)
		u->discovery_args = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!u->discovery_args)
		p->err = -ENOMEM;
	json_decref(j);
}

/* --- APISIX's metadata: name, desc, labels ---------------------------------- */

#define TEXT_MAX 256 /* APISIX's name, desc and label values */

/*
 * name (1-256 characters) and desc (0-256), stored when the key has a
 * field. As APISIX: a number is not a string.
 */
static void parse_text(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
		       void *obj, const char *path)
{
	const char *s = xlb_schema_string(vn);

	if (!s || xlb_schema_node_kind(vn) != SK_STR)
		xlb_schema_report(p, vn, path, "must be a string");
	else if (strlen(s) < (size_t)k->min)
		xlb_schema_report(p, vn, path, "must not be empty");
	else if (strlen(s) > TEXT_MAX)
		xlb_schema_report(p, vn, path, "must be at most %d characters", TEXT_MAX);
	else if (k->size)
		snprintf((char *)obj + k->off, k->size, "%s", s);
}

/* labels: a mapping of non-empty strings without white space (APISIX's ^\S+$). */
static void parse_labels(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			 void *obj, const char *path)
{
	char lpath[PATH_LEN];
	yaml_node_pair_t *pair;
	yaml_node_t *ln, *v;
	const char *name, *s;

	if (vn->type != YAML_MAPPING_NODE) {
		xlb_schema_report(p, vn, path, "must be a mapping of strings");
		return;
	}
	for (pair = vn->data.mapping.pairs.start; pair < vn->data.mapping.pairs.top; pair++) {
		ln = node_at(p, pair->key);
		v = node_at(p, pair->value);
		name = xlb_schema_string(ln);
		if (!name) {
			xlb_schema_report(p, ln, path, "keys must be strings");
			continue;
		}
		xlb_schema_path_key(lpath, path, name);
		s = xlb_schema_string(v);
		if (!s || xlb_schema_node_kind(v) != SK_STR)
			xlb_schema_report(p, v, lpath, "must be a string");
		else if (!*s)
			xlb_schema_report(p, v, lpath, "must not be empty");
		else if (strlen(s) > TEXT_MAX)
			xlb_schema_report(p, v, lpath, "must be at most %d characters", TEXT_MAX);
		else if (strpbrk(s, " \t\n\r\v\f"))
			xlb_schema_report(p, v, lpath,
					  "must not contain white space (APISIX's pattern ^\\S+$)");
	}
}

/* --- stream routes ---------------------------------------------------------- */

static void parse_server_addr(struct parser *p, const struct key *k, yaml_node_t *kn,
			      yaml_node_t *vn, void *obj, const char *path)
{
	struct xlb_route_conf *r = obj;
	const char *s = xlb_schema_string(vn);
	struct xlb_addr_key a;
	char why[WHY_LEN];

	if (!s)
		xlb_schema_report(p, vn, path, "must be an IP address (the VIP)");
	else if (strchr(s, '/'))
		xlb_schema_report(p, vn, path, "'%s' is a prefix: a VIP is one address", s);
	else if (xlb_addr_parse(s, &a, why, sizeof(why)))
		xlb_schema_report(p, vn, path, "%s", why);
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
	const char *s = xlb_schema_string(vn);
	struct xlb_addr_key a;
	unsigned int plen, w, bits;
	char why[WHY_LEN];

	if (!s) {
		xlb_schema_report(p, vn, path, "must be an address or prefix ADDR/LEN");
		return;
	}
	if (xlb_cidr_parse(s, &a, &plen, why, sizeof(why))) {
		xlb_schema_report(p, vn, path, "%s", why);
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

/*
 * APISIX's protocol is an xRPC object ({name, conf}): an application
 * protocol a proxy parses. xlb's L4 protocol is the route's scheme.
 */
static void parse_protocol(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			   void *obj, const char *path)
{
	if (vn->type == YAML_MAPPING_NODE)
		xlb_schema_report(p, kn, path,
				  "not supported by xlb (L4): xRPC protocols are parsed by a "
				  "proxy; xlb forwards packets and reads no application "
				  "protocol (the L4 protocol is the key scheme: tcp or udp)");
	else
		xlb_schema_report(p, vn, path,
				  "must be a mapping (APISIX's xRPC protocol object, which xlb "
				  "does not read; the L4 protocol is the key scheme: tcp or udp)");
}

static void parse_inline(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			 void *obj, const char *path)
{
	if (vn->type != YAML_MAPPING_NODE)
		xlb_schema_report(p, vn, path, "must be a mapping");
	else
		p->inline_up = vn;
}

/* --- the tables ------------------------------------------------------------- */

static const struct choice check_type_choices[] = {
	{"http", XLB_CHECK_HTTP},
	{"https", XLB_CHECK_HTTPS},
	{"tcp", XLB_CHECK_TCP},
	{0},
};

/*
 * interval: APISIX's, whole seconds from 1; interval_ms, xlb's, the same
 * in milliseconds from 0 (0: no probes in that state). One or the other.
 */
static void check_interval(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	yaml_node_t *kn = NULL;

	if (xlb_schema_map_find(p, n, "interval", NULL) &&
	    xlb_schema_map_find(p, n, "interval_ms", &kn))
		xlb_schema_report(p, kn, path, "give interval (seconds) or interval_ms, not both");
}

/* Defaults: APISIX's schema (lua-resty-healthcheck's for passive). */
static const struct key active_healthy_keys[] = {
	{"interval", KT_SECONDS, F(xlb_check_healthy, interval), .min = 1, .dmax = SECONDS_MAX,
	 .flags = K_INTEGER, .def = "1"},
	{"interval_ms", KT_SECONDS, F(xlb_check_healthy, interval), .dmax = SECONDS_MAX * 1000,
	 .flags = K_INTEGER | K_MS},
	{"successes", KT_UINT, F(xlb_check_healthy, successes), .min = 1, .max = 254, .def = "2"},
	{"http_statuses", KT_STATUSES, F(xlb_check_healthy, http_statuses),
	 .off2 = offsetof(struct xlb_check_healthy, nstatus), .def = "200 302"},
};
_Static_assert(ARRAY_SIZE(active_healthy_keys) <= KEYS_MAX, "active_healthy_keys");
static const struct table active_healthy_table =
	TABLE(active_healthy_keys, .check = check_interval);

static const struct key active_unhealthy_keys[] = {
	{"interval", KT_SECONDS, F(xlb_check_unhealthy, interval), .min = 1, .dmax = SECONDS_MAX,
	 .flags = K_INTEGER, .def = "1"},
	{"interval_ms", KT_SECONDS, F(xlb_check_unhealthy, interval), .dmax = SECONDS_MAX * 1000,
	 .flags = K_INTEGER | K_MS},
	{"http_failures", KT_UINT, F(xlb_check_unhealthy, http_failures), .min = 1, .max = 254,
	 .def = "5"},
	{"tcp_failures", KT_UINT, F(xlb_check_unhealthy, tcp_failures), .min = 1, .max = 254,
	 .def = "2"},
	{"timeouts", KT_UINT, F(xlb_check_unhealthy, timeouts), .min = 1, .max = 254, .def = "3"},
	{"http_statuses", KT_STATUSES, F(xlb_check_unhealthy, http_statuses),
	 .off2 = offsetof(struct xlb_check_unhealthy, nstatus),
	 .def = "429 404 500 501 502 503 504 505"},
};
_Static_assert(ARRAY_SIZE(active_unhealthy_keys) <= KEYS_MAX, "active_unhealthy_keys");
static const struct table active_unhealthy_table =
	TABLE(active_unhealthy_keys, .check = check_interval);

/* APISIX's method_schema: the methods a probe may send. */
static const struct choice http_method_choices[] = {
	{"GET", 0},	{"POST", 0},	{"PUT", 0},   {"DELETE", 0}, {"PATCH", 0}, {"HEAD", 0},
	{"OPTIONS", 0}, {"CONNECT", 0}, {"TRACE", 0}, {"PURGE", 0},  {0},
};

static const struct key active_keys[] = {
	{"type", KT_ENUM, F(xlb_check_active, type), .choices = check_type_choices, .def = "http"},
	{"timeout", KT_SECONDS, F(xlb_check_active, timeout), .dmax = SECONDS_MAX, .def = "1"},
	{"concurrency", KT_UINT, F(xlb_check_active, concurrency), .min = 1, .max = 65535,
	 .def = "10"},
	{"host", KT_STR, F(xlb_check_active, host), .min = 1, .check = check_host},
	{"port", KT_UINT, F(xlb_check_active, port), .min = 1, .max = 65535},
	{"http_method", KT_ENUM, F(xlb_check_active, http_method), .flags = K_TEXT,
	 .choices = http_method_choices, .def = "GET"},
	{"http_path", KT_STR, F(xlb_check_active, http_path), .min = 1, .check = check_http_path,
	 .def = "/"},
	{"http_req_body", KT_STR, F(xlb_check_active, http_req_body)},
	{"https_verify_certificate", KT_BOOL, F(xlb_check_active, https_verify_certificate),
	 .def = "true"},
	{"req_headers", KT_STRLIST, F(xlb_check_active, req_headers),
	 .off2 = offsetof(struct xlb_check_active, nheaders), .max = XLB_HEADERS_MAX,
	 .check = check_header},
	{"healthy", KT_OBJECT, F(xlb_check_active, healthy), .sub = &active_healthy_table},
	{"unhealthy", KT_OBJECT, F(xlb_check_active, unhealthy), .sub = &active_unhealthy_table},
};
_Static_assert(ARRAY_SIZE(active_keys) <= KEYS_MAX, "active_keys");

/* As APISIX: req_headers, when given, has at least one item. */
static void check_active(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	yaml_node_t *rh = xlb_schema_map_find(p, n, "req_headers", NULL);
	char kpath[PATH_LEN];

	if (rh && rh->type == YAML_SEQUENCE_NODE &&
	    rh->data.sequence.items.top == rh->data.sequence.items.start) {
		xlb_schema_path_key(kpath, path, "req_headers");
		xlb_schema_report(p, rh, kpath, "must not be empty");
	}
}

static const struct table active_table =
	TABLE(active_keys, .present = PRESENT(xlb_check_active, enabled), .check = check_active);

static const struct key passive_healthy_keys[] = {
	{"successes", KT_UINT, F(xlb_check_healthy, successes), .max = 254, .def = "5"},
	{"http_statuses", KT_STATUSES, F(xlb_check_healthy, http_statuses),
	 .off2 = offsetof(struct xlb_check_healthy, nstatus),
	 .def = "200 201 202 203 204 205 206 207 208 226 "
		"300 301 302 303 304 305 306 307 308"},
};
_Static_assert(ARRAY_SIZE(passive_healthy_keys) <= KEYS_MAX, "passive_healthy_keys");
static const struct table passive_healthy_table = TABLE(passive_healthy_keys);

static const struct key passive_unhealthy_keys[] = {
	{"http_failures", KT_UINT, F(xlb_check_unhealthy, http_failures), .max = 254, .def = "5"},
	{"tcp_failures", KT_UINT, F(xlb_check_unhealthy, tcp_failures), .max = 254, .def = "2"},
	{"timeouts", KT_UINT, F(xlb_check_unhealthy, timeouts), .max = 254, .def = "7"},
	{"http_statuses", KT_STATUSES, F(xlb_check_unhealthy, http_statuses),
	 .off2 = offsetof(struct xlb_check_unhealthy, nstatus), .def = "429 500 503"},
};
_Static_assert(ARRAY_SIZE(passive_unhealthy_keys) <= KEYS_MAX, "passive_unhealthy_keys");
static const struct table passive_unhealthy_table = TABLE(passive_unhealthy_keys);

static const struct key passive_keys[] = {
	{"type", KT_ENUM, F(xlb_check_passive, type), .choices = check_type_choices, .def = "http"},
	{"healthy", KT_OBJECT, F(xlb_check_passive, healthy), .sub = &passive_healthy_table},
	{"unhealthy", KT_OBJECT, F(xlb_check_passive, unhealthy), .sub = &passive_unhealthy_table},
};
_Static_assert(ARRAY_SIZE(passive_keys) <= KEYS_MAX, "passive_keys");
static const struct table passive_table =
	TABLE(passive_keys, .present = PRESENT(xlb_check_passive, enabled));

/* As APISIX: passive checks only with active ones (only probes revive a node). */
static void check_checks(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_upstream_conf *u = obj;
	yaml_node_t *kn = NULL;

	if (u->passive.enabled && !u->active.enabled && xlb_schema_map_find(p, n, "passive", &kn))
		xlb_schema_report(p, kn, path,
				  "passive checks need active checks too: only probes "
				  "bring a node back");
	else if (n->type == YAML_MAPPING_NODE &&
		 n->data.mapping.pairs.top == n->data.mapping.pairs.start)
		xlb_schema_report(p, n, path,
				  "passive checks need active checks too, and this "
				  "block has neither: give active (and passive) or "
				  "leave checks out");
}

static const struct key checks_keys[] = {
	{"active", KT_OBJECT, F(xlb_upstream_conf, active), .sub = &active_table},
	{"passive", KT_OBJECT, F(xlb_upstream_conf, passive), .sub = &passive_table},
};
_Static_assert(ARRAY_SIZE(checks_keys) <= KEYS_MAX, "checks_keys");
static const struct table checks_table = TABLE(checks_keys, .check = check_checks);

static const struct choice lb_choices[] = {
	{"chash", XLB_LB_CHASH},
	{"roundrobin", XLB_LB_ROUNDROBIN},
	{"least_conn", XLB_LB_LEAST_CONN},
	{0},
};

static const struct key lb_type_key = {"type", KT_ENUM, F(xlb_upstream_conf, type),
				       .choices = lb_choices};

/* type: ewma gets its own reason; the rest is an enum (absent: roundrobin, 0). */
static void parse_lb_type(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			  void *obj, const char *path)
{
	const char *s = xlb_schema_string(vn);
	char why[WHY_LEN];

	if (s && !strcmp(s, "ewma"))
		xlb_schema_report(p, vn, path,
				  "'ewma' is not supported by xlb (L4): it needs each "
				  "response's latency, which a direct-server-return "
				  "balancer never sees");
	else if (vn->type != YAML_SCALAR_NODE)
		xlb_schema_report(p, vn, path, "must be chash, roundrobin or least_conn");
	else if (xlb_schema_convert(&lb_type_key, scalar(vn), xlb_schema_node_kind(vn), obj, why,
				    sizeof(why)))
		xlb_schema_report(p, vn, path, "%s", why);
}

static const struct choice hash_on_choices[] = {{"vars", 0}, {0}};
static const char *const hash_on_unsupported[] = {
	"header", "cookie", "consumer", "vars_combinations", NULL,
};

/*
 * key, with hash_on vars: one of APISIX's variables (its
 * upstream_hash_vars_schema), of which xlb hashes remote_addr; the others
 * are refused with the reason.
 */
#define KEY_VARS_PATTERN                                                                  \
	"^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string" \
	"|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$"
#define NO_HTTP "xlb does not see HTTP requests"

static const struct {
	const char *name, *why;
} key_vars[] = {
	{"uri", NO_HTTP},
	{"request_uri", NO_HTTP},
	{"query_string", NO_HTTP},
	{"host", NO_HTTP},
	{"hostname", "xlb does not see HTTP requests or TLS handshakes"},
	{"server_name", "xlb does not see HTTP requests or TLS handshakes"},
	{"server_addr", "a VIP's flows all have the same server address"},
	{"remote_port", "a client's port changes with each connection"},
	{"mqtt_client_id", "xlb does not read MQTT"},
};

/* APISIX's arg_[0-9a-zA-z_-]+ (sic: A-z also takes [ \\ ] ^ and `). */
static int is_arg_var(const char *s)
{
	if (strncmp(s, "arg_", 4) || !s[4])
		return 0;
	for (s += 4; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'z') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static void parse_key(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
		      void *obj, const char *path)
{
	struct xlb_upstream_conf *u = obj;
	const char *s = xlb_schema_string(vn), *why = NULL;
	size_t i;

	if (!s || xlb_schema_node_kind(vn) != SK_STR) {
		xlb_schema_report(p, vn, path, "must be a string");
		return;
	}
	if (!strcmp(s, "remote_addr")) {
		u->hash_src = 1;
		return;
	}
	for (i = 0; i < ARRAY_SIZE(key_vars) && !why; i++)
		if (!strcmp(s, key_vars[i].name))
			why = key_vars[i].why;
	if (!why && is_arg_var(s))
		why = NO_HTTP;
	if (why)
		xlb_schema_report(p, vn, path,
				  "'%s' is not supported by xlb (L4): %s; use remote_addr", s, why);
	else
		xlb_schema_report(p, vn, path,
				  "failed to match pattern \"" KEY_VARS_PATTERN "\" with \"%s\" "
				  "(xlb hashes remote_addr)",
				  s);
}

static const struct choice scheme_choices[] = {
	{"tcp", IPPROTO_TCP},
	{"udp", IPPROTO_UDP},
	{0},
};
static const char *const scheme_unsupported[] = {
	"http", "https", "grpc", "grpcs", "tls", "kafka", NULL,
};

/* APISIX's registries; the agent may support fewer (it says so at start). */
static const struct choice discovery_choices[] = {
	{"dns", 0},	   {"consul", 0}, {"consul_kv", 0}, {"nacos", 0}, {"eureka", 0},
	{"kubernetes", 0}, {0},
};

/* Stored as XLB_FWD_* + 1: 0 is "absent", the global method. */
static const struct choice up_forward_choices[] = {
	{"ipip", XLB_FWD_IPIP + 1},
	{"l2", XLB_FWD_L2 + 1},
	{"nat", XLB_FWD_NAT + 1},
	{"gue", XLB_FWD_GUE + 1},
	{0},
};

/* Stored as 1 (table) or 2 (stateless): 0 is "absent", xlb.flow_state. */
static const struct choice up_flow_state_choices[] = {
	{"table", 1},
	{"stateless", 2},
	{0},
};

static const struct choice unhealthy_flows_choices[] = {
	{"keep", 0},
	{"move", 1},
	{0},
};

static void check_upstream(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_upstream_conf *u = obj;
	yaml_node_t *nodes, *dt, *sn, *da, *key, *ho, *kn = NULL;
	const char *hs;
	char kpath[PATH_LEN];

	nodes = xlb_schema_map_find(p, n, "nodes", NULL);
	dt = xlb_schema_map_find(p, n, "discovery_type", &kn);
	sn = xlb_schema_map_find(p, n, "service_name", NULL);
	da = xlb_schema_map_find(p, n, "discovery_args", NULL);
	if (nodes && dt)
		xlb_schema_report(p, kn, path,
				  "use either nodes or discovery_type with service_name, "
				  "not both");
	else if (!nodes && !dt)
		xlb_schema_report(p, n, path,
				  "missing key 'nodes' (or discovery_type with service_name)");
	if (dt && !sn)
		xlb_schema_report(p, n, path,
				  "missing key 'service_name' (discovery_type needs it)");
	if (sn && !dt) {
		xlb_schema_path_key(kpath, path, "service_name");
		xlb_schema_report(p, sn, kpath, "needs discovery_type");
	}
	if (da && !dt) {
		xlb_schema_path_key(kpath, path, "discovery_args");
		xlb_schema_report(p, da, kpath, "needs discovery_type");
	}
	key = xlb_schema_map_find(p, n, "key", NULL);
	if (key && u->hash_src && u->type != XLB_LB_CHASH) {
		xlb_schema_path_key(kpath, path, "key");
		xlb_schema_report(p, key, kpath, "applies to type chash only (%s does not hash)",
				  u->type == XLB_LB_ROUNDROBIN ? "roundrobin" : "least_conn");
	}
	/* As APISIX's check_upstream_conf: chash hashes key (hash_on consumer: none). */
	ho = xlb_schema_map_find(p, n, "hash_on", NULL);
	hs = ho ? xlb_schema_string(ho) : NULL;
	if (!key && u->type == XLB_LB_CHASH && !(hs && !strcmp(hs, "consumer")))
		xlb_schema_report(p, n, path,
				  "missing key 'key' (type chash hashes it: remote_addr; "
				  "type roundrobin hashes the 5-tuple)");
}

static const struct key upstream_keys[] = {
	/* Required, but not in an inline upstream: see parse_upstream(). */
	{"id", KT_STR, F(xlb_upstream_conf, id), .min = 1, .check = check_id},
	{"name", KT_FN, F(xlb_upstream_conf, name), .min = 1, .fn = parse_text},
	/* Metadata: checked as APISIX does, then ignored. */
	{"desc", KT_FN, .fn = parse_text},
	{"labels", KT_FN, .fn = parse_labels},
	{"create_time", KT_META},
	{"update_time", KT_META},
	{"type", KT_FN, .fn = parse_lb_type},
	{"hash_on", KT_ENUM, .choices = hash_on_choices, .unsupported = hash_on_unsupported,
	 .def = "vars"},
	{"key", KT_FN, .fn = parse_key},
	{"scheme", KT_ENUM, F(xlb_upstream_conf, proto), .choices = scheme_choices,
	 .unsupported = scheme_unsupported, .def = "tcp"},
	{"nodes", KT_FN, .fn = xlb_conf_parse_nodes},
	{"checks", KT_OBJECT, .sub = &checks_table},
	{"discovery_type", KT_ENUM, F(xlb_upstream_conf, discovery_type), .flags = K_TEXT,
	 .choices = discovery_choices},
	{"service_name", KT_STR, F(xlb_upstream_conf, service_name), .min = 1},
	{"discovery_args", KT_FN, .fn = parse_discovery_args},
	/* Not APISIX's: how packets reach the nodes (default: xlb.forward). */
	{"forward", KT_ENUM, F(xlb_upstream_conf, forward), .choices = up_forward_choices},
	/*
	 * Not APISIX's: whether the LB keeps a flow entry per connection, or
	 * none (GUE's hops carry connections across table changes).
	 */
	{"flow_state", KT_ENUM, F(xlb_upstream_conf, flow_state), .choices = up_flow_state_choices},
	/*
	 * Not APISIX's: what happens to a node's established flows when checks
	 * (active or passive) take it out: they stay (a check may be wrong), or
	 * move at once. Kernel evidence and an operator's down always move them.
	 */
	{"unhealthy_flows", KT_ENUM, F(xlb_upstream_conf, unhealthy_move),
	 .choices = unhealthy_flows_choices, .def = "keep"},
	/* APISIX's proxy settings: xlb forwards packets, it proxies nothing. */
	{"retries", KT_UNSUPPORTED, .note = "packets are forwarded, connections not retried"},
	{"retry_timeout", KT_UNSUPPORTED, .note = "packets are forwarded, connections not retried"},
	{"timeout", KT_UNSUPPORTED, .note = "xlb does not proxy connections"},
	{"keepalive_pool", KT_UNSUPPORTED, .note = "xlb does not proxy connections"},
	{"pass_host", KT_UNSUPPORTED, .note = "xlb does not see HTTP requests"},
	{"upstream_host", KT_UNSUPPORTED, .note = "xlb does not see HTTP requests"},
	{"tls", KT_UNSUPPORTED, .note = "xlb does not originate TLS"},
};
_Static_assert(ARRAY_SIZE(upstream_keys) <= KEYS_MAX, "upstream_keys");
const struct table xlb_conf_upstream_table = TABLE(upstream_keys, .check = check_upstream);

static void check_route(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_route_conf *r = obj;
	yaml_node_t *uid, *up, *ra, *kn = NULL;
	char kpath[PATH_LEN];

	uid = xlb_schema_map_find(p, n, "upstream_id", NULL);
	up = xlb_schema_map_find(p, n, "upstream", &kn);
	if (uid && up)
		xlb_schema_report(p, kn, path,
				  "use either upstream_id or an inline upstream, not both (one "
				  "would be ignored)");
	else if (!uid && !up)
		xlb_schema_report(p, n, path, "missing key 'upstream_id' (or an inline upstream)");
	ra = xlb_schema_map_find(p, n, "remote_addr", NULL);
	if (ra && r->remote.family && r->vip.family && r->remote.family != r->vip.family) {
		xlb_schema_path_key(kpath, path, "remote_addr");
		xlb_schema_report(p, ra, kpath,
				  "is IPv%d but server_addr is IPv%d: no client could match",
				  r->remote.family, r->vip.family);
	}
}

static const struct key route_keys[] = {
	{"id", KT_STR, F(xlb_route_conf, id), .min = 1, .check = check_id, .flags = K_REQUIRED},
	{"name", KT_FN, F(xlb_route_conf, name), .min = 1, .fn = parse_text},
	/* Metadata: checked as APISIX does, then ignored. */
	{"desc", KT_FN, .fn = parse_text},
	{"labels", KT_FN, .fn = parse_labels},
	{"create_time", KT_META},
	{"update_time", KT_META},
	{"server_addr", KT_FN, .fn = parse_server_addr, .flags = K_REQUIRED, .note = "the VIP"},
	/* Absent: every port (APISIX: no port to match). */
	{"server_port", KT_UINT, F(xlb_route_conf, vip.port), .min = 1, .max = 65535,
	 .flags = K_BE16},
	/* Not APISIX's: the VIP's L4 protocol; absent: the upstream's scheme. */
	{"scheme", KT_ENUM, F(xlb_route_conf, vip.proto), .choices = scheme_choices,
	 .unsupported = scheme_unsupported},
	{"protocol", KT_FN, .fn = parse_protocol},
	{"remote_addr", KT_FN, .fn = parse_remote_addr},
	{"upstream_id", KT_STR, F(xlb_route_conf, upstream_id), .min = 1, .check = check_id},
	{"upstream", KT_FN, .fn = parse_inline},
	{"sni", KT_UNSUPPORTED, .note = "xlb does not read TLS handshakes"},
	{"plugins", KT_UNSUPPORTED, .note = "xlb runs no plugins"},
	{"service_id", KT_UNSUPPORTED, .note = "use upstream_id or an inline upstream"},
};
_Static_assert(ARRAY_SIZE(route_keys) <= KEYS_MAX, "route_keys");
const struct table xlb_conf_route_table = TABLE(route_keys, .check = check_route);

static void check_admin(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_settings *s = obj;
	struct xlb_addr_key a;
	yaml_node_t *at;
	char kpath[PATH_LEN];
	__u16 port;

	if (!s->admin_listen[0] || xlb_endpoint_parse(s->admin_listen, &a, &port, NULL, 0) ||
	    xlb_addr_is_loopback(&a))
		return;
	if (!s->api_key[0]) {
		at = xlb_schema_map_find(p, n, "listen", NULL);
		xlb_schema_report(p, at ? at : n, path,
				  "missing key 'api_key' (required when listen "
				  "%s is not a loopback address)",
				  s->admin_listen);
		return;
	}
	/* Off loopback, a key anyone can guess opens the node set to the network. */
	at = xlb_schema_map_find(p, n, "api_key", NULL);
	xlb_schema_path_key(kpath, path, "api_key");
	if (!strcmp(s->api_key, XLB_API_KEY_EXAMPLE))
		xlb_schema_report(p, at ? at : n, kpath,
				  "'%s' is the example key: set a secret one (at "
				  "least %d characters) when listen %s is not a loopback address",
				  XLB_API_KEY_EXAMPLE, XLB_API_KEY_MIN, s->admin_listen);
	else if (strlen(s->api_key) < XLB_API_KEY_MIN)
		xlb_schema_report(p, at ? at : n, kpath,
				  "is %zu characters long: at least %d when listen %s "
				  "is not a loopback address",
				  strlen(s->api_key), XLB_API_KEY_MIN, s->admin_listen);
}

static const struct key admin_keys[] = {
	{"listen", KT_STR, F(xlb_settings, admin_listen), .check = check_listen,
	 .def = "127.0.0.1:9180"},
	{"api_key", KT_STR, F(xlb_settings, api_key)},
	/* Limits on the listener (user/lib/agent/admin.c). */
	{"max_connections", KT_UINT, F(xlb_settings, admin_max_connections), .min = 1, .max = 65536,
	 .def = "64"},
	{"max_header_size", KT_UINT, F(xlb_settings, admin_max_header_size), .min = 1024,
	 .max = 1 << 20, .def = "8192"},
	{"max_body_size", KT_UINT, F(xlb_settings, admin_max_body_size), .min = 1024,
	 .max = 64 << 20, .def = "1048576"},
	{"header_timeout", KT_SECONDS, F(xlb_settings, admin_header_timeout), .dmax = 3600,
	 .def = "10"},
	{"body_timeout", KT_SECONDS, F(xlb_settings, admin_body_timeout), .dmax = 3600,
	 .def = "30"},
	{"idle_timeout", KT_SECONDS, F(xlb_settings, admin_idle_timeout), .dmax = 3600,
	 .def = "15"},
};
_Static_assert(ARRAY_SIZE(admin_keys) <= KEYS_MAX, "admin_keys");
static const struct table admin_table = TABLE(admin_keys, .check = check_admin);

/* What /metrics shows (user/lib/agent/metrics.c). */
static const struct key metrics_keys[] = {
	{"per_node", KT_BOOL, F(xlb_settings, metrics_per_node), .def = "true"},
};
_Static_assert(ARRAY_SIZE(metrics_keys) <= KEYS_MAX, "metrics_keys");
static const struct table metrics_table = TABLE(metrics_keys);

static const struct choice mode_choices[] = {{"native", 0}, {"generic", 1}, {0}};
static const struct choice forward_choices[] = {
	{"ipip", XLB_FWD_IPIP}, {"l2", XLB_FWD_L2}, {"nat", XLB_FWD_NAT}, {"gue", XLB_FWD_GUE}, {0},
};
static const struct choice flow_state_choices[] = {{"table", 0}, {"stateless", 1}, {0}};
static const struct choice no_healthy_choices[] = {
	{"fail_open", XLB_NO_HEALTHY_FAIL_OPEN},
	{"fail_closed", XLB_NO_HEALTHY_FAIL_CLOSED},
	{0},
};
static const struct choice level_choices[] = {
	{"warn", 0},
	{"info", 0},
	{"debug", 0},
	{0},
};

static const struct key settings_keys[] = {
	{"interfaces", KT_STRLIST, F(xlb_settings, interfaces),
	 .off2 = offsetof(struct xlb_settings, nifaces), .max = XLB_IFACES_MAX,
	 .check = check_ifname},
	{"mode", KT_ENUM, F(xlb_settings, generic_mode), .choices = mode_choices, .def = "native"},
	{"forward", KT_ENUM, F(xlb_settings, forward), .choices = forward_choices, .def = "ipip"},
	{"gue_port", KT_UINT, F(xlb_settings, gue_port), .min = 1, .max = 65535,
	 .def = STR(XLB_GUE_PORT_DEFAULT)},
	{"flow_state", KT_ENUM, F(xlb_settings, stateless), .choices = flow_state_choices,
	 .def = "table"},
	/* Slots of the SYN table of stateless VIPs; 0: none (no passive health for them). */
	{"syn_table", KT_UINT, F(xlb_settings, syn_table), .max = 1 << 24, .check = check_pow2,
	 .expect = POW2_EXPECT, .def = STR(XLB_SYN_SLOTS_DEFAULT)},
	{"encap_src", KT_STR, F(xlb_settings, encap_src), .check = check_cidr4},
	{"encap_src6", KT_STR, F(xlb_settings, encap_src6), .check = check_cidr6},
	/* NAT (bpf/lib/nat.h): the address nodes reply to, ports, idle timeouts. */
	{"nat_src", KT_STR, F(xlb_settings, nat_src), .check = check_addr4},
	{"nat_src6", KT_STR, F(xlb_settings, nat_src6), .check = check_addr6},
	/* Absent: 0, the size chosen at attach (XLB_NAT_MAX_DEFAULT). */
	{"nat_connections", KT_UINT, F(xlb_settings, nat_connections), .min = 1024, .max = 1 << 24},
	{"nat_port_min", KT_UINT, F(xlb_settings, nat_port_min), .min = 1, .max = 65535,
	 .def = STR(XLB_NAT_PORT_MIN)},
	{"nat_port_max", KT_UINT, F(xlb_settings, nat_port_max), .min = 1, .max = 65535,
	 .def = STR(XLB_NAT_PORT_MAX)},
	{"nat_timeout_syn", KT_UINT, F(xlb_settings, nat_timeout_syn), .min = 1, .max = 86400,
	 .def = STR(XLB_NAT_TMO_SYN)},
	{"nat_timeout_established", KT_UINT, F(xlb_settings, nat_timeout_established), .min = 1,
	 .max = 7 * 86400, .def = STR(XLB_NAT_TMO_ESTABLISHED)},
	{"nat_timeout_closing", KT_UINT, F(xlb_settings, nat_timeout_closing), .min = 1,
	 .max = 86400, .def = STR(XLB_NAT_TMO_CLOSING)},
	{"nat_timeout_udp", KT_UINT, F(xlb_settings, nat_timeout_udp), .min = 1, .max = 86400,
	 .def = STR(XLB_NAT_TMO_UDP)},
	{"on_no_healthy", KT_ENUM, F(xlb_settings, on_no_healthy), .choices = no_healthy_choices,
	 .def = "fail_open"},
	{"table_size", KT_UINT, F(xlb_settings, table_size), .max = UINT32_MAX,
	 .check = check_prime, .expect = PRIME_EXPECT, .def = "0"},
	{"hash_seed", KT_UINT, F(xlb_settings, hash_seed), .max = UINT32_MAX},
	/* Absent: 0, the size chosen at attach (XLB_FLOW_MAX_DEFAULT). */
	{"flows", KT_UINT, F(xlb_settings, flows), .min = 1024, .max = 1 << 27},
	/* Absent: 0, as flows (an IPv4-only node sets it low). */
	{"flows6", KT_UINT, F(xlb_settings, flows6), .min = 1024, .max = 1 << 27},
	{"table_slots", KT_UINT, F(xlb_settings, table_slots), .min = 1 << 16, .max = 1 << 28},
	/* Absent: 0, XLB_MAX_BACKENDS (or the pinned maps' size). */
	{"backends", KT_UINT, F(xlb_settings, backends), .min = 16, .max = XLB_MAX_BACKENDS},
	{"admin", KT_OBJECT, .sub = &admin_table},
	{"metrics", KT_OBJECT, .sub = &metrics_table},
	{"log_level", KT_ENUM, F(xlb_settings, log_level), .flags = K_TEXT,
	 .choices = level_choices, .def = "info"},
};
_Static_assert(ARRAY_SIZE(settings_keys) <= KEYS_MAX, "settings_keys");
static void check_settings(struct parser *p, yaml_node_t *n, void *obj, const char *path)
{
	const struct xlb_settings *s = obj;
	yaml_node_t *k = xlb_schema_map_find(p, n, "nat_port_min", NULL);
	char kpath[PATH_LEN];

	if (s->nat_port_min <= s->nat_port_max)
		return;
	xlb_schema_path_key(kpath, path, "nat_port_min");
	xlb_schema_report(p, k ? k : n, kpath, "%u is above nat_port_max %u: no port to hand out",
			  s->nat_port_min, s->nat_port_max);
}

static const struct table settings_table = TABLE(settings_keys, .check = check_settings);

static void record_list(struct parser *p, const struct key *k, yaml_node_t *kn, yaml_node_t *vn,
			void *obj, const char *path)
{
	if (!strcmp(k->name, "upstreams"))
		p->upstreams = vn;
	else
		p->routes = vn;
}

#define L7_ONLY "xlb serves stream_routes only"

static const struct key root_keys[] = {
	{"xlb", KT_OBJECT, F(xlb_conf, xlb), .sub = &settings_table},
	{"upstreams", KT_FN, .fn = record_list},
	{"stream_routes", KT_FN, .fn = record_list},
	{"discovery", KT_OBJECT, F(xlb_conf, discovery), .sub = &xlb_conf_discovery_table},
	{"deployment", KT_OBJECT, F(xlb_conf, etcd), .sub = &xlb_conf_deployment_table},
	/* The rest of APISIX's standalone apisix.yaml. */
	{"routes", KT_UNSUPPORTED, .note = L7_ONLY},
	{"services", KT_UNSUPPORTED, .note = L7_ONLY},
	{"consumers", KT_UNSUPPORTED, .note = L7_ONLY},
	{"consumer_groups", KT_UNSUPPORTED, .note = L7_ONLY},
	{"ssls", KT_UNSUPPORTED, .note = L7_ONLY},
	{"global_rules", KT_UNSUPPORTED, .note = L7_ONLY},
	{"plugins", KT_UNSUPPORTED, .note = L7_ONLY},
	{"plugin_configs", KT_UNSUPPORTED, .note = L7_ONLY},
	{"plugin_metadata", KT_UNSUPPORTED, .note = L7_ONLY},
	{"protos", KT_UNSUPPORTED, .note = L7_ONLY},
	{"secrets", KT_UNSUPPORTED, .note = L7_ONLY},
};
_Static_assert(ARRAY_SIZE(root_keys) <= KEYS_MAX, "root_keys");
const struct table xlb_conf_root_table = TABLE(root_keys, .check = xlb_conf_build);
