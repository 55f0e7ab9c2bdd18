// SPDX-License-Identifier: GPL-2.0-only
/*
 * The registry-independent half of service discovery; see discovery.h.
 * A watch owns the last good node set; registries only report answers and
 * errors, and this file decides what an answer may change.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

#include "discovery/discovery.h"
#include "base/http.h"
#include "base/log.h"
#include "base/vec.h"

#define BACKOFF_MIN 1.0 /* seconds */
#define BACKOFF_MAX 60.0
#define JITTER	    0.25 /* +- of the delay */

static const struct xlb_disc_ops *const registries[] = {
	&xlb_disc_dns, &xlb_disc_consul, &xlb_disc_eureka, &xlb_disc_nacos, &xlb_disc_kubernetes,
};
#define NREG (sizeof(registries) / sizeof(registries[0]))

struct xlb_disc {
	struct event_base *base;
	struct xlb_discovery_conf conf;
	struct xlb_http *http;
	struct xlb_disc_counters cnt[NREG];
	struct xlb_disc_watch *watches; /* list, for restarts on new settings */
	unsigned int rand;		/* jitter state */
};

struct xlb_disc_watch {
	struct xlb_disc *d;
	struct xlb_disc_watch *next;
	unsigned int reg; /* index in registries[] */
	char *service, *args;
	xlb_disc_update_fn cb;
	void *arg;
	void *priv;
	int started;
	struct xlb_node_conf *nodes; /* the last good set, sorted */
	size_t nnodes;
	struct xlb_disc_status st;
	unsigned int fails; /* errors in a row, for the backoff */
};

/* --- node lists ----------------------------------------------------------------- */

int xlb_disc_nodes_add(struct xlb_disc_nodes *ns, const struct xlb_node_conf *nd)
{
	if (xlb_vec_room((void **)&ns->v, sizeof(*ns->v), NULL, 0, ns->n, &ns->cap, 16))
		return -ENOMEM;
	ns->v[ns->n++] = *nd;
	return 0;
}

void xlb_disc_nodes_free(struct xlb_disc_nodes *ns)
{
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static int node_cmp(const void *x, const void *y)
{
	const struct xlb_node_conf *a = x, *b = y;
	int d;

	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	d = memcmp(a->addr.addr, b->addr.addr, sizeof(a->addr.addr));
	if (d)
		return d;
	return a->port == b->port ? 0 : a->port < b->port ? -1 : 1;
}

/*
 * Sort and merge duplicates in place: one node per (address, port), with
 * the highest priority any entry gave and the weights of that priority
 * added up (a registry listing one instance twice means twice the share).
 */
static size_t normalise(struct xlb_node_conf *v, size_t n)
{
	size_t i, out = 0;

	qsort(v, n, sizeof(*v), node_cmp);
	for (i = 0; i < n; i++) {
		if (out && !node_cmp(&v[out - 1], &v[i])) {
			if (v[i].priority > v[out - 1].priority) {
				v[out - 1].priority = v[i].priority;
				v[out - 1].weight = v[i].weight;
			} else if (v[i].priority == v[out - 1].priority) {
				v[out - 1].weight += v[i].weight;
				if (v[out - 1].weight > XLB_WEIGHT_MAX)
					v[out - 1].weight = XLB_WEIGHT_MAX;
			}
			continue;
		}
		v[out++] = v[i];
	}
	return out;
}

static int nodes_equal(const struct xlb_node_conf *a, const struct xlb_node_conf *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (node_cmp(&a[i], &b[i]) || a[i].weight != b[i].weight ||
		    a[i].priority != b[i].priority)
			return 0;
	return 1;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- registries ------------------------------------------------------------------- */

const struct xlb_disc_ops *xlb_disc_find(const char *type)
{
	size_t i;

	for (i = 0; i < NREG; i++)
		if (!strcmp(registries[i]->name, type))
			return registries[i];
	return NULL;
}

static int reg_index(const char *type)
{
	size_t i;

	for (i = 0; i < NREG; i++)
		if (!strcmp(registries[i]->name, type))
			return (int)i;
	return -1;
}

/* The settings block of registry i and its size (a reload compares them). */
static const void *reg_conf(const struct xlb_discovery_conf *c, unsigned int i, size_t *len)
{
	switch (i) {
	case 0:
		*len = sizeof(c->dns);
		return &c->dns;
	case 1:
		*len = sizeof(c->consul);
		return &c->consul;
	case 2:
		*len = sizeof(c->eureka);
		return &c->eureka;
	case 3:
		*len = sizeof(c->nacos);
		return &c->nacos;
	case 4:
		*len = sizeof(c->kubernetes);
		return &c->kubernetes;
	}
	*len = 0;
	return NULL;
}

_Static_assert(NREG == 5, "reg_conf() knows every registry");
/* Every block starts with its "enabled" flag (set when the block is present). */
_Static_assert(offsetof(struct xlb_disc_dns_conf, enabled) == 0 &&
		       offsetof(struct xlb_disc_http_conf, enabled) == 0 &&
		       offsetof(struct xlb_disc_k8s_conf, enabled) == 0,
	       "enabled first");

/* Whether the discovery: section has a block for registry i. */
static int reg_enabled(const struct xlb_discovery_conf *c, unsigned int i)
{
	size_t len;
	const int *enabled = reg_conf(c, i, &len);

	return enabled && *enabled;
}

const char *xlb_disc_type_at(unsigned int i)
{
	return i < NREG ? registries[i]->name : NULL;
}

int xlb_disc_check(const struct xlb_discovery_conf *conf, const char *type,
		   const char *service_name, const char *args, char *why, size_t len)
{
	int i = reg_index(type);

	if (i < 0) {
		snprintf(why, len,
			 "'%s' is not a registry xlb supports (dns, consul, eureka, "
			 "nacos, kubernetes)",
			 type);
		return -EINVAL;
	}
	if (!reg_enabled(conf, i)) {
		snprintf(why, len, "needs a 'discovery: %s:' block with the registry's address",
			 type);
		return -EINVAL;
	}
	if (!service_name || !service_name[0]) {
		snprintf(why, len, "needs service_name");
		return -EINVAL;
	}
	return registries[i]->check ? registries[i]->check(conf, service_name, args, why, len) : 0;
}

/* --- the manager -------------------------------------------------------------------- */

struct xlb_disc *xlb_disc_new(struct event_base *base, const struct xlb_discovery_conf *conf)
{
	struct xlb_disc *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->base = base;
	d->conf = *conf;
	d->rand = (unsigned int)time(NULL) ^ (unsigned int)(size_t)d;
	d->http = xlb_http_new(base);
	if (!d->http) {
		free(d);
		return NULL;
	}
	return d;
}

static void watch_stop(struct xlb_disc_watch *w)
{
	if (w->started && registries[w->reg]->stop)
		registries[w->reg]->stop(w);
	w->started = 0;
	w->priv = NULL;
}

static void watch_start(struct xlb_disc_watch *w)
{
	int err = registries[w->reg]->start(w);

	if (err) {
		xlb_disc_error(w, "%s: cannot start watching '%s': %s", registries[w->reg]->name,
			       w->service, strerror(-err));
		return;
	}
	w->started = 1;
}

void xlb_disc_free(struct xlb_disc *d)
{
	if (!d)
		return;
	while (d->watches)
		xlb_disc_watch_free(d->watches);
	xlb_http_free(d->http);
	free(d);
}

void xlb_disc_set_conf(struct xlb_disc *d, const struct xlb_discovery_conf *conf)
{
	struct xlb_discovery_conf old = d->conf;
	struct xlb_disc_watch *w;
	const void *a, *b;
	size_t la, lb;

	d->conf = *conf;
	for (w = d->watches; w; w = w->next) {
		a = reg_conf(&old, w->reg, &la);
		b = reg_conf(conf, w->reg, &lb);
		if (la == lb && !memcmp(a, b, la))
			continue;
		pr_info("discovery: %s settings changed: restarting the watch of '%s'\n",
			registries[w->reg]->name, w->service);
		watch_stop(w);
		w->fails = 0;
		watch_start(w);
	}
}

const struct xlb_discovery_conf *xlb_disc_conf(const struct xlb_disc *d)
{
	return &d->conf;
}

struct event_base *xlb_disc_base(const struct xlb_disc *d)
{
	return d->base;
}

struct xlb_http *xlb_disc_http(struct xlb_disc *d)
{
	return d->http;
}

void xlb_disc_counters(const struct xlb_disc *d, const char *type, struct xlb_disc_counters *c)
{
	int i = reg_index(type);

	memset(c, 0, sizeof(*c));
	if (i >= 0)
		*c = d->cnt[i];
}

/* --- watches -------------------------------------------------------------------------- */

struct xlb_disc_watch *xlb_disc_watch_new(struct xlb_disc *d, const char *type,
					  const char *service_name, const char *args,
					  const struct xlb_node_conf *seed, size_t nseed,
					  xlb_disc_update_fn cb, void *arg)
{
	struct xlb_disc_watch *w;
	int i = reg_index(type);

	if (i < 0) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->d = d;
	w->reg = i;
	w->cb = cb;
	w->arg = arg;
	w->service = strdup(service_name);
	w->args = args ? strdup(args) : NULL;
	if (nseed) {
		w->nodes = malloc(nseed * sizeof(*w->nodes));
		if (w->nodes) {
			memcpy(w->nodes, seed, nseed * sizeof(*w->nodes));
			w->nnodes = normalise(w->nodes, nseed);
		}
	}
	if (!w->service || (args && !w->args) || (nseed && !w->nodes)) {
		free(w->service);
		free(w->args);
		free(w->nodes);
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->next = d->watches;
	d->watches = w;
	watch_start(w);
	return w;
}

void xlb_disc_watch_free(struct xlb_disc_watch *w)
{
	struct xlb_disc_watch **pp;

	if (!w)
		return;
	watch_stop(w);
	for (pp = &w->d->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	free(w->nodes);
	free(w->service);
	free(w->args);
	free(w);
}

const struct xlb_node_conf *xlb_disc_watch_nodes(const struct xlb_disc_watch *w, size_t *n)
{
	*n = w->nnodes;
	return w->nodes;
}

void xlb_disc_watch_status(const struct xlb_disc_watch *w, struct xlb_disc_status *st)
{
	*st = w->st;
}

struct xlb_disc *xlb_disc_watch_disc(const struct xlb_disc_watch *w)
{
	return w->d;
}

const char *xlb_disc_watch_type(const struct xlb_disc_watch *w)
{
	return registries[w->reg]->name;
}

const char *xlb_disc_watch_service(const struct xlb_disc_watch *w)
{
	return w->service;
}

const char *xlb_disc_watch_args(const struct xlb_disc_watch *w)
{
	return w->args;
}

void *xlb_disc_watch_priv(const struct xlb_disc_watch *w)
{
	return w->priv;
}

void xlb_disc_watch_set_priv(struct xlb_disc_watch *w, void *priv)
{
	w->priv = priv;
}

void xlb_disc_count_request(struct xlb_disc_watch *w)
{
	w->d->cnt[w->reg].requests++;
}

void xlb_disc_error(struct xlb_disc_watch *w, const char *fmt, ...)
{
	char msg[sizeof(w->st.error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->st.errors++;
	w->d->cnt[w->reg].errors++;
	w->fails++;
	/* Once per change of error: a registry that stays down logs once. */
	if (strcmp(msg, w->st.error))
		pr_warn("discovery: %s '%s': %s; keeping %zu node%s\n", registries[w->reg]->name,
			w->service, msg, w->nnodes, w->nnodes == 1 ? "" : "s");
	memcpy(w->st.error, msg, sizeof(msg));
}

void xlb_disc_result(struct xlb_disc_watch *w, const struct xlb_node_conf *nodes, size_t n,
		     unsigned int flags)
{
	struct xlb_node_conf *v = NULL;
	size_t i;

	if (!n && w->nnodes && !(flags & XLB_DISC_GONE)) {
		xlb_disc_error(w, "empty answer (the registry did not say the service is gone)");
		return;
	}
	for (i = 0; i < n; i++) {
		if (nodes[i].weight > XLB_WEIGHT_MAX ||
		    (nodes[i].addr.family != XLB_AF_INET && nodes[i].addr.family != XLB_AF_INET6) ||
		    !nodes[i].port) {
			xlb_disc_error(w, "answer with an invalid node (index %zu)", i);
			return;
		}
	}
	if (n) {
		v = malloc(n * sizeof(*v));
		if (!v) {
			xlb_disc_error(w, "out of memory");
			return;
		}
		memcpy(v, nodes, n * sizeof(*v));
		n = normalise(v, n);
	}
	if (w->st.error[0])
		pr_info("discovery: %s '%s': answering again (%zu node%s)\n",
			registries[w->reg]->name, w->service, n, n == 1 ? "" : "s");
	w->st.error[0] = '\0';
	w->fails = 0;
	w->st.answers++;
	w->d->cnt[w->reg].answers++;
	w->st.have_answer = 1;
	w->st.confirmed = wall_now();
	if (n == w->nnodes && nodes_equal(v, w->nodes, n)) {
		free(v);
		return;
	}
	pr_info("discovery: %s '%s': %zu -> %zu node%s%s\n", registries[w->reg]->name, w->service,
		w->nnodes, n, n == 1 ? "" : "s",
		!n ? " (the registry says the service is gone)" : "");
	free(w->nodes);
	w->nodes = v;
	w->nnodes = n;
	w->st.changes++;
	w->st.changed = w->st.confirmed;
	w->d->cnt[w->reg].changes++;
	if (w->cb)
		w->cb(w, w->arg);
}

double xlb_disc_backoff(struct xlb_disc_watch *w)
{
	unsigned int k = w->fails ? w->fails - 1 : 0;
	double base = BACKOFF_MIN * ldexp(1.0, k > 16 ? 16 : (int)k), r;

	if (base > BACKOFF_MAX)
		base = BACKOFF_MAX;
	r = (double)rand_r(&w->d->rand) / RAND_MAX; /* [0, 1] */
	return base * (1.0 - JITTER + 2.0 * JITTER * r);
}
