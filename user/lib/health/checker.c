/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Active health checks on the caller's libevent loop: targets, their
 * settings, when they are probed and what the results do to their state.
 * The probes themselves (TCP, HTTP, HTTPS) are in probe.c.
 *
 * Targets. One struct xlb_target per (address, port), in a chained hash
 * table that doubles as it fills; reference counted, freed when the last
 * xlb_checker_put() comes. Check settings are interned: targets with equal
 * settings (every node of an upstream) share one refcounted copy, so
 * 100k targets do not carry 100k copies of a 4.8 KB struct.
 *
 * Timers. Each target has one libevent timer (libevent keeps timers in a
 * min-heap: arming and firing cost O(log n), and nothing scans the targets
 * per tick). The first probe comes after a random delay in [0, interval)
 * so that targets added together spread out; then a probe follows each
 * probe's end after healthy.interval (healthy, mostly_healthy) or
 * unhealthy.interval (the others). Counting from the end, not the start,
 * means a target that times out is never probed twice at once and never
 * back to back. An interval of 0 means no probe in that state; a state
 * change by xlb_target_report() into the other group re-arms the timer with
 * that group's interval.
 *
 * Concurrency. At most max_inflight probes run at once (half the soft
 * RLIMIT_NOFILE, between 16 and 1024: each probe holds a socket); a timer
 * that fires when all slots are busy queues its target (FIFO), and each
 * finished probe starts the next queued one. APISIX's checks.active.
 * concurrency is per upstream; one global cap serves the same purpose here.
 *
 * Memory and re-entrancy. The checker owns targets, interned settings,
 * probes and curl's per-socket events. A probe belongs to its target and
 * is cancelled with it (TCP: event freed, socket closed; HTTP: handle
 * removed from the multi handle, which also drops its sockets' events).
 * The health callback runs only from our own event callbacks (never inside
 * a libcurl call) or from xlb_target_report(), with an extra reference held
 * on its target: it may call xlb_checker_get() and xlb_checker_put() on any
 * target, including dropping the last reference of the one it is told
 * about. It must not call xlb_checker_free(). Its detail string lives only
 * during the call. Nothing here is thread-safe: call everything from the
 * loop's thread.
 *
 * Settings changes. xlb_checker_get() with settings equal to the target's
 * changes nothing (a reconcile that touches every node does not postpone
 * any probe); different settings are swapped in and an idle target is
 * rescheduled with a fresh jitter, its state and counters untouched.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <event2/event.h>

#include "base/addr.h"
#include "health/checker.h"
#include "health/checker_priv.h"
#include "base/curlev.h"
#include "base/log.h"

#define PROBES_MAX 1024 /* probes in flight at most */
#define PROBES_MIN 16
#define TAB_MIN	   64 /* initial hash table sizes (powers of 2) */

/* Thresholds of a target without settings: APISIX's active-check defaults. */
static const struct xlb_health_thresholds default_thresholds = {
	.successes = 2,
	.tcp_failures = 2,
	.http_failures = 5,
	.timeouts = 3,
};

static void probe_submit(struct xlb_target *t);
static void probes_kick(struct xlb_checker *c);

/* --- small helpers --------------------------------------------------------- */

static __u64 mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static __u64 hash_bytes(__u64 h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	/* FNV-1a, finished by mix64() where a table index is taken. */
	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Uniform in [0, 1), xorshift64*: per checker, no global state. */
static double rand01(struct xlb_checker *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (double)((c->rng * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

static double elapsed_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void copy_str(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* --- interned settings ----------------------------------------------------- */

static double canon_double(double x)
{
	return x == 0 ? 0.0 : x; /* -0.0 and 0.0 hash alike */
}

static void conf_canon(struct xlb_check_active *d, const struct xlb_check_active *s)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->enabled = !!s->enabled;
	d->type = s->type;
	d->timeout = canon_double(s->timeout);
	d->concurrency = s->concurrency;
	d->port = s->port;
	copy_str(d->http_method, s->http_method, sizeof(d->http_method));
	copy_str(d->http_path, s->http_path, sizeof(d->http_path));
	copy_str(d->http_req_body, s->http_req_body, sizeof(d->http_req_body));
	copy_str(d->host, s->host, sizeof(d->host));
	d->https_verify_certificate = !!s->https_verify_certificate;
	d->nheaders = s->nheaders < XLB_HEADERS_MAX ? s->nheaders : XLB_HEADERS_MAX;
	for (i = 0; i < d->nheaders; i++)
		copy_str(d->req_headers[i], s->req_headers[i], sizeof(d->req_headers[i]));
	d->healthy.interval = canon_double(s->healthy.interval);
	d->healthy.successes = s->healthy.successes;
	d->healthy.nstatus =
		s->healthy.nstatus < XLB_STATUS_MAX ? s->healthy.nstatus : XLB_STATUS_MAX;
	for (i = 0; i < d->healthy.nstatus; i++)
		d->healthy.http_statuses[i] = s->healthy.http_statuses[i];
	d->unhealthy.interval = canon_double(s->unhealthy.interval);
	d->unhealthy.http_failures = s->unhealthy.http_failures;
	d->unhealthy.tcp_failures = s->unhealthy.tcp_failures;
	d->unhealthy.timeouts = s->unhealthy.timeouts;
	d->unhealthy.nstatus =
		s->unhealthy.nstatus < XLB_STATUS_MAX ? s->unhealthy.nstatus : XLB_STATUS_MAX;
	for (i = 0; i < d->unhealthy.nstatus; i++)
		d->unhealthy.http_statuses[i] = s->unhealthy.http_statuses[i];
}

/* Field by field (never memcmp: padding is not part of the settings). */
static int conf_equal(const struct xlb_check_active *a, const struct xlb_check_active *b)
{
	unsigned int i;

	if (a->enabled != b->enabled || a->type != b->type || a->timeout != b->timeout ||
	    a->concurrency != b->concurrency || a->port != b->port ||
	    a->https_verify_certificate != b->https_verify_certificate ||
	    a->nheaders != b->nheaders || strcmp(a->http_method, b->http_method) ||
	    strcmp(a->http_path, b->http_path) || strcmp(a->http_req_body, b->http_req_body) ||
	    strcmp(a->host, b->host))
		return 0;
	for (i = 0; i < a->nheaders; i++)
		if (strcmp(a->req_headers[i], b->req_headers[i]))
			return 0;
	if (a->healthy.interval != b->healthy.interval ||
	    a->healthy.successes != b->healthy.successes ||
	    a->healthy.nstatus != b->healthy.nstatus ||
	    memcmp(a->healthy.http_statuses, b->healthy.http_statuses,
		   a->healthy.nstatus * sizeof(a->healthy.http_statuses[0])))
		return 0;
	return a->unhealthy.interval == b->unhealthy.interval &&
	       a->unhealthy.http_failures == b->unhealthy.http_failures &&
	       a->unhealthy.tcp_failures == b->unhealthy.tcp_failures &&
	       a->unhealthy.timeouts == b->unhealthy.timeouts &&
	       a->unhealthy.nstatus == b->unhealthy.nstatus &&
	       !memcmp(a->unhealthy.http_statuses, b->unhealthy.http_statuses,
		       a->unhealthy.nstatus * sizeof(a->unhealthy.http_statuses[0]));
}

static __u32 conf_hash(const struct xlb_check_active *a)
{
	__u64 h = 0xcbf29ce484222325ULL;
	unsigned int i;

	h = hash_bytes(h, &a->enabled, sizeof(a->enabled));
	h = hash_bytes(h, &a->type, sizeof(a->type));
	h = hash_bytes(h, &a->timeout, sizeof(a->timeout));
	h = hash_bytes(h, &a->concurrency, sizeof(a->concurrency));
	h = hash_bytes(h, &a->port, sizeof(a->port));
	h = hash_bytes(h, a->http_method, strlen(a->http_method) + 1);
	h = hash_bytes(h, a->http_path, strlen(a->http_path) + 1);
	h = hash_bytes(h, a->http_req_body, strlen(a->http_req_body) + 1);
	h = hash_bytes(h, a->host, strlen(a->host) + 1);
	h = hash_bytes(h, &a->https_verify_certificate, sizeof(a->https_verify_certificate));
	for (i = 0; i < a->nheaders; i++)
		h = hash_bytes(h, a->req_headers[i], strlen(a->req_headers[i]) + 1);
	h = hash_bytes(h, &a->healthy.interval, sizeof(a->healthy.interval));
	h = hash_bytes(h, &a->healthy.successes, sizeof(a->healthy.successes));
	h = hash_bytes(h, a->healthy.http_statuses,
		       a->healthy.nstatus * sizeof(a->healthy.http_statuses[0]));
	h = hash_bytes(h, &a->unhealthy.interval, sizeof(a->unhealthy.interval));
	h = hash_bytes(h, &a->unhealthy.http_failures, sizeof(a->unhealthy.http_failures));
	h = hash_bytes(h, &a->unhealthy.tcp_failures, sizeof(a->unhealthy.tcp_failures));
	h = hash_bytes(h, &a->unhealthy.timeouts, sizeof(a->unhealthy.timeouts));
	h = hash_bytes(h, a->unhealthy.http_statuses,
		       a->unhealthy.nstatus * sizeof(a->unhealthy.http_statuses[0]));
	return (__u32)mix64(h ^ a->nheaders ^ ((__u64)a->healthy.nstatus << 8) ^
			    ((__u64)a->unhealthy.nstatus << 16));
}

/* Double a chained table; on no memory keep the old one (longer chains). */
static void conf_tab_grow(struct xlb_checker *c)
{
	size_t n = c->conf_size ? c->conf_size * 2 : TAB_MIN, i;
	struct check_conf **nt = calloc(n, sizeof(*nt)), *e, *next;

	if (!nt)
		return;
	for (i = 0; i < c->conf_size; i++) {
		for (e = c->confs[i]; e; e = next) {
			next = e->next;
			e->next = nt[e->hash & (n - 1)];
			nt[e->hash & (n - 1)] = e;
		}
	}
	free(c->confs);
	c->confs = nt;
	c->conf_size = n;
}

/* The interned copy of *s, with a reference taken; NULL with errno. */
static struct check_conf *conf_get(struct xlb_checker *c, const struct xlb_check_active *s)
{
	struct check_conf *cf, *e;

	cf = malloc(sizeof(*cf));
	if (!cf)
		return NULL;
	conf_canon(&cf->a, s);
	cf->hash = conf_hash(&cf->a);
	if (c->conf_size) {
		for (e = c->confs[cf->hash & (c->conf_size - 1)]; e; e = e->next) {
			if (e->hash == cf->hash && conf_equal(&e->a, &cf->a)) {
				free(cf);
				e->refs++;
				return e;
			}
		}
	}
	if (c->nconfs >= c->conf_size)
		conf_tab_grow(c);
	if (!c->conf_size) {
		free(cf);
		errno = ENOMEM;
		return NULL;
	}
	cf->refs = 1;
	cf->th.successes = cf->a.healthy.successes;
	cf->th.tcp_failures = cf->a.unhealthy.tcp_failures;
	cf->th.http_failures = cf->a.unhealthy.http_failures;
	cf->th.timeouts = cf->a.unhealthy.timeouts;
	cf->next = c->confs[cf->hash & (c->conf_size - 1)];
	c->confs[cf->hash & (c->conf_size - 1)] = cf;
	c->nconfs++;
	return cf;
}

static void conf_put(struct xlb_checker *c, struct check_conf *cf)
{
	struct check_conf **pp;

	if (!cf || --cf->refs)
		return;
	for (pp = &c->confs[cf->hash & (c->conf_size - 1)]; *pp; pp = &(*pp)->next) {
		if (*pp == cf) {
			*pp = cf->next;
			break;
		}
	}
	c->nconfs--;
	free(cf);
}

/* --- targets: lookup and scheduling ---------------------------------------- */

static void key_norm(struct xlb_addr_key *k, const struct xlb_addr_key *a)
{
	memset(k, 0, sizeof(*k));
	k->family = a->family;
	k->addr[0] = a->addr[0];
	if (a->family == XLB_AF_INET6)
		memcpy(k->addr, a->addr, sizeof(k->addr));
}

static __u32 target_hash(const struct xlb_addr_key *k, __u16 port)
{
	__u64 h = 0x9e3779b97f4a7c15ULL ^ k->family;
	int i;

	for (i = 0; i < 4; i++)
		h = mix64(h ^ k->addr[i]);
	return (__u32)mix64(h ^ port);
}

/* As conf_tab_grow(). */
static void target_tab_grow(struct xlb_checker *c)
{
	size_t n = c->tab_size ? c->tab_size * 2 : TAB_MIN, i;
	struct xlb_target **nt = calloc(n, sizeof(*nt)), *e, *next;

	if (!nt)
		return;
	for (i = 0; i < c->tab_size; i++) {
		for (e = c->tab[i]; e; e = next) {
			next = e->next;
			e->next = nt[e->hash & (n - 1)];
			nt[e->hash & (n - 1)] = e;
		}
	}
	free(c->tab);
	c->tab = nt;
	c->tab_size = n;
}

static struct xlb_target *target_find(struct xlb_checker *c, const struct xlb_addr_key *k,
				      __u16 port, __u32 hash)
{
	struct xlb_target *t;

	if (!c->tab_size)
		return NULL;
	for (t = c->tab[hash & (c->tab_size - 1)]; t; t = t->next)
		if (t->hash == hash && t->port == port && t->addr.family == k->family &&
		    !memcmp(t->addr.addr, k->addr, sizeof(k->addr)))
			return t;
	return NULL;
}

/* Whether the target gets active probes at all. */
static int target_probed(const struct xlb_target *t)
{
	return t->conf && t->conf->a.enabled && probe_port(t);
}

/* Seconds between probes in the current state; 0: none. */
static double target_interval(const struct xlb_target *t)
{
	double iv;

	if (!target_probed(t))
		return 0;
	iv = xlb_health_usable(t->state) ? t->conf->a.healthy.interval
					 : t->conf->a.unhealthy.interval;
	return iv > 0 ? iv : 0;
}

static const struct xlb_health_thresholds *target_thresholds(const struct xlb_target *t)
{
	return t->conf ? &t->conf->th : &default_thresholds;
}

/* "addr:port", "[v6]:port" */
char *xlb_checker_target_str(const struct xlb_target *t, char *buf, size_t len)
{
	char addr[XLB_ADDRSTRLEN];

	xlb_addr_str(t->addr.addr, t->addr.family, addr, sizeof(addr));
	snprintf(buf, len, t->addr.family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", addr, t->port);
	return buf;
}

/*
 * (Re)arm the timer for the next probe: after the state's interval, or a
 * random part of it (@jitter). Nothing while a probe runs or waits (its end
 * arms the timer) or when the state has no interval.
 */
static void target_arm(struct xlb_target *t, int jitter)
{
	double iv = target_interval(t);
	struct timeval tv;

	evtimer_del(t->timer);
	if (t->probe || t->queued || iv <= 0)
		return;
	if (jitter)
		iv *= rand01(t->c);
	tv = to_timeval(iv);
	evtimer_add(t->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	probe_submit(arg);
}

/* --- probes ---------------------------------------------------------------- */

/* Stop everything scheduled for t: timer, queue slot, probe in flight. */
static void target_cancel(struct xlb_target *t)
{
	struct xlb_checker *c = t->c;

	evtimer_del(t->timer);
	if (t->queued) {
		TAILQ_REMOVE(&c->waitq, t, wait);
		t->queued = 0;
	}
	if (t->probe) {
		xlb_probe_free(c, t->probe);
		t->probe = NULL;
		c->inflight--;
	}
}

static void target_destroy(struct xlb_target *t)
{
	struct xlb_checker *c = t->c;
	struct xlb_target **pp;

	for (pp = &c->tab[t->hash & (c->tab_size - 1)]; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	c->ntargets--;
	target_cancel(t);
	conf_put(c, t->conf);
	event_free(t->timer);
	free(t);
	probes_kick(c);
}

static void target_unref(struct xlb_target *t)
{
	if (--t->refs == 0)
		target_destroy(t);
}

/*
 * Feed one event to the state machine; on a change, re-arm the timer when
 * the state moved between the probe-interval groups, and tell the owner.
 * t may be gone when this returns (the callback may drop the last reference).
 */
static void target_event_th(struct xlb_target *t, enum xlb_health_event ev, const char *detail,
			    const struct xlb_health_thresholds *th)
{
	struct xlb_checker *c = t->c;
	enum xlb_health old = t->state;
	char name[XLB_ADDRSTRLEN + 8];

	t->state = xlb_health_next(old, &t->ctr, ev, th);
	if (t->state == old)
		return;
	pr_debug("health: %s: %s -> %s (%s: %s)\n", xlb_checker_target_str(t, name, sizeof(name)),
		 xlb_health_name(old), xlb_health_name(t->state), xlb_health_event_name(ev),
		 detail ? detail : "");
	if (xlb_health_usable(old) != xlb_health_usable(t->state))
		target_arm(t, 0);
	if (!c->cb)
		return;
	t->refs++;
	c->cb(t, old, t->state, ev, detail, c->arg);
	target_unref(t);
}

static void target_event(struct xlb_target *t, enum xlb_health_event ev, const char *detail)
{
	target_event_th(t, ev, detail, target_thresholds(t));
}

/*
 * A probe ended. @has_ev: whether the result is an event (an HTTP status in
 * neither list, or a failure on our side, is none).
 */
void xlb_checker_probe_done(struct xlb_target *t, int has_ev, enum xlb_health_event ev,
			    const char *detail)
{
	struct xlb_checker *c = t->c;
	struct probe *p = t->probe;

	t->latency = elapsed_since(&p->start);
	t->probe = NULL;
	c->inflight--;
	xlb_probe_free(c, p);

	t->refs++;
	if (has_ev)
		target_event(t, ev, detail);
	target_arm(t, 0);
	target_unref(t);
	probes_kick(c);
}

/* --- starting probes ------------------------------------------------------- */

static void probe_start(struct xlb_target *t)
{
	struct xlb_checker *c = t->c;
	char name[XLB_ADDRSTRLEN + 8];
	int err;

	err = xlb_probe_start(t, &t->probe);
	if (err) {
		/* Our failure, not the target's: no event; try again later. */
		pr_warn("health: %s: probe not started: %s\n",
			xlb_checker_target_str(t, name, sizeof(name)), strerror(-err));
		target_arm(t, 0);
		return;
	}
	t->probes++;
	c->inflight++;
}

static void probe_submit(struct xlb_target *t)
{
	struct xlb_checker *c = t->c;

	if (t->probe || t->queued || !target_probed(t))
		return;
	if (c->inflight >= c->max_inflight) {
		TAILQ_INSERT_TAIL(&c->waitq, t, wait);
		t->queued = 1;
		return;
	}
	probe_start(t);
}

/* Start queued probes while slots are free (never from inside libcurl). */
static void probes_kick(struct xlb_checker *c)
{
	struct xlb_target *t;

	while (!c->freeing && c->inflight < c->max_inflight && (t = TAILQ_FIRST(&c->waitq))) {
		TAILQ_REMOVE(&c->waitq, t, wait);
		t->queued = 0;
		probe_start(t);
	}
}

/* --- public API ------------------------------------------------------------ */

unsigned int xlb_checker_max_inflight(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return PROBES_MAX;
	n = rl.rlim_cur / 2;
	if (n > PROBES_MAX)
		n = PROBES_MAX;
	return n < PROBES_MIN ? PROBES_MIN : (unsigned int)n;
}

/**
 * xlb_checker_new() - a health checker on an event loop
 * @base: the caller's libevent loop; it must outlive the checker
 * @cb: called on every state change (may be NULL)
 * @arg: passed to @cb
 *
 * Return: the checker, or NULL with errno (ENOMEM, or EINVAL without @base).
 */
struct xlb_checker *xlb_checker_new(struct event_base *base, xlb_health_cb cb, void *arg)
{
	struct xlb_checker *c;
	int err;

	if (!base) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base = base;
	c->cb = cb;
	c->arg = arg;
	TAILQ_INIT(&c->waitq);
	c->max_inflight = xlb_checker_max_inflight();
	if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != sizeof(c->rng))
		c->rng = (__u64)time(NULL) ^ ((__u64)getpid() << 32) ^ (uintptr_t)c;
	c->rng = c->rng ? c->rng : 0x853c49e6748fea9bULL;
	c->cv = xlb_curlev_new(base, xlb_probe_curl_done, NULL, c);
	if (!c->cv) {
		err = errno;
		free(c);
		errno = err;
		return NULL;
	}
	return c;
}

/**
 * xlb_checker_free() - stop every probe and free every target
 * @c: the checker (NULL: nothing)
 *
 * Targets still referenced are freed too: their pointers become invalid.
 * Not to be called from the health callback.
 */
void xlb_checker_free(struct xlb_checker *c)
{
	struct xlb_target *t, *next;
	struct check_conf *cf, *cnext;
	size_t i;

	if (!c)
		return;
	c->freeing = 1;
	for (i = 0; i < c->tab_size; i++) {
		for (t = c->tab[i]; t; t = next) {
			next = t->next;
			target_cancel(t);
			event_free(t->timer);
			free(t);
		}
	}
	for (i = 0; i < c->conf_size; i++) {
		for (cf = c->confs[i]; cf; cf = cnext) {
			cnext = cf->next;
			free(cf);
		}
	}
	xlb_curlev_free(c->cv);
	free(c->tab);
	free(c->confs);
	free(c);
}

/**
 * xlb_checker_get() - the target for (@addr, @port), with a new reference
 * @c: the checker
 * @addr: the node's address (XLB_AF_INET or XLB_AF_INET6)
 * @port: the node's port (host order); the probe uses @check->port if set
 * @check: settings, copied; NULL (or !enabled) = never probed
 *
 * A new target starts healthy, as in APISIX, and is first probed after a
 * random part of healthy.interval. An existing target keeps its state,
 * counters and statistics; when its settings differ it takes @check and,
 * if idle, is rescheduled as a new one (a probe already running or queued
 * finishes first; one of a target no longer probed is cancelled).
 *
 * Return: the target, or NULL with errno (EINVAL, ENOMEM).
 */
struct xlb_target *xlb_checker_get(struct xlb_checker *c, const struct xlb_addr_key *addr,
				   __u16 port, const struct xlb_check_active *check)
{
	struct check_conf *conf = NULL;
	struct xlb_addr_key key;
	struct xlb_target *t;
	__u32 hash;
	int err;

	if (!c || !addr || (addr->family != XLB_AF_INET && addr->family != XLB_AF_INET6)) {
		errno = EINVAL;
		return NULL;
	}
	if (check) {
		conf = conf_get(c, check);
		if (!conf)
			return NULL;
	}
	key_norm(&key, addr);
	hash = target_hash(&key, port);
	t = target_find(c, &key, port, hash);
	if (t) {
		t->refs++;
		if (t->conf == conf) {
			conf_put(c, conf);
			return t;
		}
		conf_put(c, t->conf);
		t->conf = conf;
		if (!target_probed(t))
			target_cancel(t);
		target_arm(t, 1);
		probes_kick(c);
		return t;
	}

	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto out_conf;
	}
	t->timer = evtimer_new(c->base, on_timer, t);
	if (!t->timer) {
		err = -ENOMEM;
		goto out_free;
	}
	if (c->ntargets >= c->tab_size)
		target_tab_grow(c);
	if (!c->tab_size) {
		err = -ENOMEM;
		goto out_timer;
	}
	t->c = c;
	t->refs = 1;
	t->addr = key;
	t->port = port;
	t->hash = hash;
	t->conf = conf;
	t->state = XLB_H_HEALTHY;
	t->latency = -1;
	t->next = c->tab[hash & (c->tab_size - 1)];
	c->tab[hash & (c->tab_size - 1)] = t;
	c->ntargets++;
	target_arm(t, 1);
	return t;

out_timer:
	event_free(t->timer);
out_free:
	free(t);
out_conf:
	conf_put(c, conf);
	errno = -err;
	return NULL;
}

/**
 * xlb_checker_put() - drop a reference from xlb_checker_get()
 * @c: the checker
 * @t: the target (NULL: nothing)
 *
 * The last reference frees the target: its timer is cancelled and a probe
 * in flight is abandoned (socket closed, transfer removed) without an event.
 */
void xlb_checker_put(struct xlb_checker *c, struct xlb_target *t)
{
	if (!c || !t)
		return;
	target_unref(t);
}

/**
 * xlb_target_report() - feed an event observed elsewhere
 * @c: the checker
 * @t: the target
 * @ev: the event
 * @detail: a short reason for the callback and logs (may be NULL)
 *
 * Uses the target's thresholds (APISIX's active defaults when it has no
 * settings); a state change calls the callback before this returns.
 */
void xlb_target_report(struct xlb_checker *c, struct xlb_target *t, enum xlb_health_event ev,
		       const char *detail)
{
	if (!c || !t || (unsigned int)ev >= XLB_EV_MAX)
		return;
	target_event(t, ev, detail);
}

/**
 * xlb_target_report_with() - feed an event observed elsewhere, judged by
 * other thresholds
 * @c: the checker
 * @t: the target
 * @ev: the event
 * @detail: a short reason for the callback and logs (may be NULL)
 * @th: the thresholds to apply (NULL: the target's own)
 *
 * For passive checks: the counters are the target's (one state machine per
 * backend), the thresholds those of checks.passive. A state change calls
 * the callback before this returns.
 */
void xlb_target_report_with(struct xlb_checker *c, struct xlb_target *t, enum xlb_health_event ev,
			    const char *detail, const struct xlb_health_thresholds *th)
{
	if (!c || !t || (unsigned int)ev >= XLB_EV_MAX)
		return;
	target_event_th(t, ev, detail, th ? th : target_thresholds(t));
}

/**
 * xlb_target_set_state() - start a target from a known state
 * @t: the target
 * @s: the state (for a node the data plane already had: xlb_health_adopt())
 *
 * As lua-resty-healthcheck's set_target_status(): the state is forced and
 * every counter zeroed, without a callback; the next probe comes after a
 * random part of the new state's interval.
 */
void xlb_target_set_state(struct xlb_target *t, enum xlb_health s)
{
	if (!t || (unsigned int)s >= XLB_H_MAX)
		return;
	memset(&t->ctr, 0, sizeof(t->ctr));
	if (t->state == s)
		return;
	t->state = s;
	target_arm(t, 1);
}

/**
 * xlb_target_state() - the target's health state
 * @t: the target
 *
 * Return: the state.
 */
enum xlb_health xlb_target_state(const struct xlb_target *t)
{
	return t->state;
}

/**
 * xlb_target_counters() - the target's counters
 * @t: the target
 *
 * Return: the counters, valid while @t lives.
 */
const struct xlb_health_counters *xlb_target_counters(const struct xlb_target *t)
{
	return &t->ctr;
}

/**
 * xlb_target_addr() - the target's key
 * @t: the target
 * @addr: its address (may be NULL)
 * @port: its node port, host order (may be NULL)
 */
void xlb_target_addr(const struct xlb_target *t, struct xlb_addr_key *addr, __u16 *port)
{
	if (addr)
		*addr = t->addr;
	if (port)
		*port = t->port;
}

/**
 * xlb_target_latency() - how long the last probe took
 * @t: the target
 *
 * Return: seconds from connect() to the result; < 0 before the first result.
 */
double xlb_target_latency(const struct xlb_target *t)
{
	return t->latency;
}

/**
 * xlb_target_probes() - how many probes were sent
 * @t: the target
 *
 * Return: probes started (a cancelled one counts).
 */
unsigned long xlb_target_probes(const struct xlb_target *t)
{
	return t->probes;
}

/**
 * xlb_target_set_data() - attach the owner's pointer
 * @t: the target
 * @data: anything; the checker never dereferences it
 */
void xlb_target_set_data(struct xlb_target *t, void *data)
{
	t->data = data;
}

/**
 * xlb_target_data() - the owner's pointer
 * @t: the target
 *
 * Return: what xlb_target_set_data() set, NULL before.
 */
void *xlb_target_data(const struct xlb_target *t)
{
	return t->data;
}

/**
 * xlb_checker_foreach() - call @fn for every target
 * @c: the checker
 * @fn: return non-zero to stop
 * @arg: passed to @fn
 *
 * Iterates over a snapshot with references held, so @fn may get and put
 * targets (a target it frees is still visited if it was in the snapshot).
 * Return: 0, -ENOMEM, or the first non-zero value of @fn.
 */
int xlb_checker_foreach(struct xlb_checker *c, xlb_target_iter fn, void *arg)
{
	struct xlb_target **snap, *t;
	size_t i, n = 0;
	int ret = 0;

	if (!c || !fn)
		return -EINVAL;
	if (!c->ntargets)
		return 0;
	snap = malloc(c->ntargets * sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	for (i = 0; i < c->tab_size; i++) {
		for (t = c->tab[i]; t; t = t->next) {
			t->refs++;
			snap[n++] = t;
		}
	}
	for (i = 0; i < n && !ret; i++)
		ret = fn(snap[i], arg);
	for (i = 0; i < n; i++)
		target_unref(snap[i]);
	free(snap);
	return ret;
}
