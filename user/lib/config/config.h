/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's configuration model: APISIX's upstream and stream_route
 * objects, for L4, plus xlb's own settings. One validated model, whatever
 * the source (a YAML or JSON file in the shape of APISIX's standalone
 * apisix.yaml, the Admin API, etcd). Parsing fills a struct xlb_conf that
 * the caller owns and passes explicitly; nothing here is global.
 *
 * Field names, defaults and meanings follow APISIX where they apply:
 *   upstreams[]: id, name, desc, type (roundrobin: the 5-tuple | chash:
 *     key | least_conn: the less loaded of two), hash_on, key (remote_addr:
 *     client-address affinity),
 *     scheme (tcp | udp), nodes ({"host:port": weight} or
 *     [{host, port, weight, priority}]), checks {active, passive},
 *     discovery_type, service_name, discovery_args
 *   stream_routes[]: id, desc, server_addr, server_port (absent: all
 *     ports), remote_addr (client CIDR), upstream_id or upstream (inline),
 *     scheme (xlb's: tcp | udp; absent: the upstream's)
 *   xlb: interfaces, mode, forward, encap_src, encap_src6, on_no_healthy,
 *     table_size, hash_seed, flows, flows6, admin {listen, api_key, limits},
 *     metrics {per_node}, log_level
 */
#ifndef XLB_CONFIG_H
#define XLB_CONFIG_H

#include <stddef.h>
#include <xlb/abi.h>

#define XLB_ID_LEN	65  /* ids: 64 characters */
#define XLB_NAME_LEN	257 /* names (APISIX's): 256 characters */
#define XLB_STATUS_MAX	32  /* HTTP status codes per list */
#define XLB_HEADERS_MAX 16  /* req_headers entries */
#define XLB_IFACES_MAX	16

enum xlb_check_type {
	XLB_CHECK_TCP = 0,
	XLB_CHECK_HTTP,
	XLB_CHECK_HTTPS,
};

/* checks.active.healthy / .unhealthy and checks.passive.* */
struct xlb_check_healthy {
	double interval;	/* seconds; 0 = do not probe in this state */
	unsigned int successes; /* 1..254 */
	unsigned int nstatus;
	unsigned int http_statuses[XLB_STATUS_MAX];
};

struct xlb_check_unhealthy {
	double interval;
	unsigned int http_failures; /* 0..254; 0 = never counts */
	unsigned int tcp_failures;
	unsigned int timeouts;
	unsigned int nstatus;
	unsigned int http_statuses[XLB_STATUS_MAX];
};

struct xlb_check_active {
	int enabled; /* the block is present */
	enum xlb_check_type type;
	double timeout; /* seconds */
	unsigned int concurrency;
	unsigned int port;   /* 0 = the node's port */
	char http_method[8]; /* GET (default), POST, HEAD, ... */
	char http_path[256];
	char http_req_body[256]; /* sent with the request; "" = none */
	char host[256];		 /* Host header; "" = the node's address */
	int https_verify_certificate;
	unsigned int nheaders;
	char req_headers[XLB_HEADERS_MAX][256];
	struct xlb_check_healthy healthy;
	struct xlb_check_unhealthy unhealthy;
};

struct xlb_check_passive {
	int enabled;
	enum xlb_check_type type;
	struct xlb_check_healthy healthy;
	struct xlb_check_unhealthy unhealthy;
};

struct xlb_node_conf {
	struct xlb_addr_key addr; /* a literal address (names: discovery) */
	__u16 port;
	__u32 weight; /* 0 .. XLB_WEIGHT_MAX */
	int priority; /* higher first; default 0 */
};

/* Both fill a weighted Maglev table: chash hashes key, roundrobin the 5-tuple. */
enum xlb_lb_type {
	XLB_LB_ROUNDROBIN = 0, /* APISIX's default */
	XLB_LB_CHASH,	       /* needs key (remote_addr) */
	XLB_LB_LEAST_CONN,     /* weighted least connections (XLB_VIP_F_LEAST_CONN) */
};

struct xlb_upstream_conf {
	char id[XLB_ID_LEN];
	char name[XLB_NAME_LEN];
	enum xlb_lb_type type;
	int hash_src; /* key: remote_addr */
	__u8 proto;   /* scheme: IPPROTO_TCP / IPPROTO_UDP */
	size_t nnodes;
	struct xlb_node_conf *nodes; /* owned */
	struct xlb_check_active active;
	struct xlb_check_passive passive;
	char discovery_type[32]; /* "" = static nodes */
	char service_name[256];
	char *discovery_args; /* JSON text, owned; NULL = none */
	__u32 forward;	      /* 0 = xlb.forward; else XLB_FWD_* + 1 */
	int flow_state;	      /* 0 = xlb.flow_state; 1 table; 2 stateless */
	int unhealthy_move;   /* unhealthy_flows: keep (0) | move (1) */
	unsigned int line;    /* where it was defined (messages) */
};

struct xlb_route_conf {
	char id[XLB_ID_LEN];
	char name[XLB_NAME_LEN];
	struct xlb_vip_key vip;	    /* server_addr, server_port, scheme */
	struct xlb_addr_key remote; /* remote_addr; family 0 = any client */
	unsigned int remote_plen;
	char upstream_id[XLB_ID_LEN]; /* an inline upstream gets the id "route:<id>" */
	unsigned int line;
};

enum xlb_no_healthy {
	XLB_NO_HEALTHY_FAIL_OPEN = 0, /* APISIX: use every node */
	XLB_NO_HEALTHY_FAIL_CLOSED,   /* drop new flows */
};

struct xlb_settings {
	unsigned int nifaces;
	char interfaces[XLB_IFACES_MAX][16];
	int generic_mode;   /* mode: native (0) | generic (1) */
	__u32 forward;	    /* XLB_FWD_IPIP | XLB_FWD_L2 | XLB_FWD_NAT | XLB_FWD_GUE */
	__u32 gue_port;	    /* GUE's UDP destination port */
	char encap_src[64]; /* CIDR text; "" = device address */
	char encap_src6[64];
	char nat_src[64];      /* NAT: the LB's IPv4 address towards nodes */
	char nat_src6[64];     /* NAT: the LB's IPv6 address towards nodes */
	__u32 nat_connections; /* NAT table size; 0 = default */
	__u32 nat_port_min;    /* NAT source ports handed out */
	__u32 nat_port_max;
	__u32 nat_timeout_syn; /* NAT idle timeouts, seconds */
	__u32 nat_timeout_established;
	__u32 nat_timeout_closing;
	__u32 nat_timeout_udp;
	enum xlb_no_healthy on_no_healthy;
	__u32 table_size;	     /* prime; 0 (default): from each VIP's node count */
	__u32 hash_seed;	     /* 0 = keep the data plane's */
	__u32 flows;		     /* flow-cache flows a family; 0 = default */
	__u32 flows6;		     /* IPv6 flow-cache flows; 0 = as flows */
	__u32 syn_table;	     /* recent SYNs of stateless VIPs; 0 = default */
	int stateless;		     /* flow_state: table (0) | stateless (1), upstreams' default */
	__u32 table_slots;	     /* Maglev table space (slots); 0 = default */
	__u32 backends;		     /* backend ids the maps hold; 0 = default */
	char admin_listen[64];	     /* "127.0.0.1:9180"; "" = no admin API */
	char api_key[128];	     /* "" = the generated key (xlb_api_key_load) */
	__u32 admin_max_connections; /* open at once; beyond, no accept */
	__u32 admin_max_header_size; /* request line and headers, bytes (431) */
	__u32 admin_max_body_size;   /* bytes (413) */
	double admin_header_timeout; /* seconds from a request's first byte to its head */
	double admin_body_timeout;   /* seconds from its head to the end of its body */
	double admin_idle_timeout;   /* seconds without a request, or without a byte */
	int metrics_per_node;	     /* /metrics: node series (1) or upstream sums (0) */
	char log_level[16];	     /* warn | info | debug */
};

/*
 * discovery: and deployment.etcd, with APISIX's config.yaml keys. Times are
 * kept in seconds whatever unit the document uses (APISIX writes registry
 * timeouts in milliseconds, fetch_interval and wait in seconds). A registry
 * block that is absent has enabled = 0.
 */
#define XLB_DISC_HOSTS_MAX 8
#define XLB_URL_LEN	   256

struct xlb_disc_timeout {
	double connect, send, read; /* seconds */
	double wait;		    /* consul: blocking-query wait, seconds */
};

struct xlb_disc_dns_conf {
	int enabled;
	unsigned int nservers;
	char servers[XLB_DISC_HOSTS_MAX][64]; /* "127.0.0.1:53", "[::1]:53" */
	double timeout;			      /* per query try, seconds */
	double min_ttl, max_ttl;	      /* re-resolve bounds, seconds */
	__u32 weight;			      /* A/AAAA nodes' weight */
};

/* consul, eureka, nacos: HTTP registries. */
struct xlb_disc_http_conf {
	int enabled;
	unsigned int nhosts;
	char hosts[XLB_DISC_HOSTS_MAX][XLB_URL_LEN]; /* tried in order, failover */
	char prefix[128];			     /* eureka "/eureka/", nacos "/nacos/v1/" */
	char token[256];			     /* consul ACL token */
	struct xlb_disc_timeout timeout;
	double fetch_interval; /* seconds between polls */
	__u32 weight;	       /* default node weight */
};

struct xlb_disc_k8s_conf {
	int enabled;
	char schema[8]; /* https | http */
	char host[256];
	char port[8];
	char token[4096];     /* client.token */
	char token_file[256]; /* client.token_file */
	char ca_file[256];    /* xlb: CA bundle; default the service account's */
	int watch_endpoint_slices;
	__u32 default_weight;
};

struct xlb_etcd_conf {
	int enabled;
	unsigned int nhosts;
	char hosts[XLB_DISC_HOSTS_MAX][XLB_URL_LEN];
	char prefix[128]; /* "/apisix" */
	double timeout;	  /* seconds */
	char user[64], password[128];
};

struct xlb_discovery_conf {
	struct xlb_disc_dns_conf dns;
	struct xlb_disc_http_conf consul, eureka, nacos;
	struct xlb_disc_k8s_conf kubernetes;
};

struct xlb_conf {
	struct xlb_settings xlb;
	struct xlb_discovery_conf discovery;
	struct xlb_etcd_conf etcd; /* deployment.etcd */
	size_t nupstreams;
	struct xlb_upstream_conf *upstreams; /* owned */
	size_t nroutes;
	struct xlb_route_conf *routes; /* owned */
	size_t nodes_total;	       /* nodes in all upstreams */
	/*
	 * Where each upstream and stream route is in the text it was parsed
	 * from, and that text (xlb_conf_parse_kept()): what lets a reload
	 * reparse only the items that changed (patch.c). NULL: none kept.
	 */
	struct xlb_conf_layout *layout; /* owned */
};

/* One problem found in a source, with where it is. */
struct xlb_conf_error {
	unsigned int line, col; /* 1-based; 0 = unknown */
	char path[128];		/* "upstreams[0].checks.active.type" */
	char msg[256];
};

struct xlb_conf_errors {
	size_t n;
	struct xlb_conf_error e[64]; /* the first 64; n counts all */
};

/**
 * xlb_conf_parse() - parse and validate a YAML or JSON document
 * @text: the document (NUL-terminated)
 * @conf: filled on success; the caller frees it with xlb_conf_free()
 * @errs: every problem found (all of them, not just the first)
 *
 * Nothing is applied: validation is complete before a caller may use @conf.
 * An empty document, or one without stream_routes (and without
 * deployment.etcd), is a problem: no routes is written "stream_routes: []".
 * Return: 0, -EINVAL when @errs holds problems, -ENOMEM.
 */
int xlb_conf_parse(const char *text, struct xlb_conf *conf, struct xlb_conf_errors *errs);
/**
 * xlb_conf_read() - read a configuration file as text
 * @file: the file
 * @text: on success the whole file, NUL-terminated; the caller frees it
 * @errs: on failure the one problem (a NUL byte with its line and column)
 *
 * Return: 0; -EINVAL for a file that cannot be a configuration (a NUL byte,
 * larger than 64 MiB); -errno when it cannot be read.
 */
int xlb_conf_read(const char *file, char **text, struct xlb_conf_errors *errs);
/*
 * xlb_conf_read() into the buffer *text of *cap bytes, grown as needed
 * (*text and *cap follow, also on failure): a reader that keeps its
 * buffer pays no page faults for memory it used before.
 */
int xlb_conf_read_reuse(const char *file, char **text, size_t *cap, struct xlb_conf_errors *errs);
/* xlb_conf_read() and xlb_conf_parse(): the errors of either. */
int xlb_conf_load(const char *file, struct xlb_conf *conf, struct xlb_conf_errors *errs);
void xlb_conf_free(struct xlb_conf *conf);
/* "FILE:LINE:COL: path: message" for error i. */
void xlb_conf_error_str(const char *file, const struct xlb_conf_error *e, char *buf, size_t len);

/* Lookups in a validated conf. */
/*
 * Whether a and b are the same configuration (what they own compared by
 * value; line numbers too, unless !lines). 1 or 0.
 */
int xlb_conf_equal(const struct xlb_conf *a, const struct xlb_conf *b, int lines);
const struct xlb_upstream_conf *xlb_conf_upstream(const struct xlb_conf *conf, const char *id);
/* Whether upstream u forwards by NAT (its own forward, else xlb.forward). */
int xlb_conf_upstream_nat(const struct xlb_conf *conf, const struct xlb_upstream_conf *u);
/* Whether upstream u forwards in GUE (its own forward, else xlb.forward). */
int xlb_conf_upstream_gue(const struct xlb_conf *conf, const struct xlb_upstream_conf *u);
/* Whether upstream u keeps no flow state (its own flow_state, else xlb.flow_state). */
int xlb_conf_upstream_stateless(const struct xlb_conf *conf, const struct xlb_upstream_conf *u);

#endif /* XLB_CONFIG_H */
