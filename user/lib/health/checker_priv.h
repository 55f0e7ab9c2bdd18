/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The health checker's insides, shared by checker.c (targets, settings,
 * scheduling) and probe.c (TCP and HTTP(S) probes); private to health/.
 * Everything else sees struct xlb_checker and struct xlb_target as opaque
 * (health/checker.h).
 */
#ifndef XLB_CHECKER_PRIV_H
#define XLB_CHECKER_PRIV_H

#include <sys/queue.h>
#include <sys/time.h>
#include <time.h>
#include <curl/curl.h>
#include "health/checker.h"

#define TIMEOUT_DEFAULT 1.0 /* seconds, when check->timeout <= 0 */

/* Check settings, interned: equal settings share one copy. */
struct check_conf {
	struct check_conf *next; /* hash chain */
	unsigned int refs;
	__u32 hash;
	struct xlb_health_thresholds th;
	struct xlb_check_active a; /* canonical copy: strings bounded, lists clamped */
};

struct probe {
	struct xlb_target *t;
	struct timespec start;
	/* TCP */
	int fd;
	int sync_err;	  /* connect() gave the result at once; -1: no */
	struct event *ev; /* writable, or the timeout */
	/* HTTP(S) */
	CURL *easy;
	struct curl_slist *headers;    /* CURLOPT_HTTPHEADER */
	struct curl_slist *connect_to; /* CURLOPT_CONNECT_TO */
	char errbuf[CURL_ERROR_SIZE];
};

struct xlb_target {
	struct xlb_target *next; /* hash chain */
	struct xlb_checker *c;
	unsigned int refs;
	struct xlb_addr_key addr;
	__u16 port;
	__u32 hash;
	struct check_conf *conf; /* NULL: never probed, default thresholds */
	enum xlb_health state;
	struct xlb_health_counters ctr;
	double latency;
	unsigned long probes;
	void *data;
	struct event *timer; /* the next probe */
	struct probe *probe; /* in flight */
	int queued;	     /* waiting for a free probe slot */
	TAILQ_ENTRY(xlb_target) wait;
};

struct xlb_checker {
	struct event_base *base;
	xlb_health_cb cb;
	void *arg;
	struct xlb_target **tab; /* targets by (addr, port) */
	size_t tab_size, ntargets;
	struct check_conf **confs; /* interned settings by content */
	size_t conf_size, nconfs;
	TAILQ_HEAD(, xlb_target) waitq;
	unsigned int inflight, max_inflight;
	struct xlb_curlev *cv; /* HTTP(S) probes */
	__u64 rng;
	int freeing;
};

/* --- shared helpers -------------------------------------------------------- */

static inline struct timeval to_timeval(double s)
{
	struct timeval tv;

	if (s < 0)
		s = 0;
	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	return tv;
}

static inline __u16 probe_port(const struct xlb_target *t)
{
	unsigned int p = t->conf->a.port;

	return p && p <= 65535 ? (__u16)p : t->port;
}

static inline double target_timeout(const struct xlb_target *t)
{
	return t->conf->a.timeout > 0 ? t->conf->a.timeout : TIMEOUT_DEFAULT;
}

/* checker.c: "addr:port", "[v6]:port" */
char *xlb_checker_target_str(const struct xlb_target *t, char *buf, size_t len);
/*
 * checker.c: the probe in flight of t ended. @has_ev: whether the result is
 * an event (an HTTP status in neither list, or a failure on our side, is
 * none). Frees the probe and schedules the next one.
 */
void xlb_checker_probe_done(struct xlb_target *t, int has_ev, enum xlb_health_event ev,
			    const char *detail);

/* probe.c */
int xlb_probe_start(struct xlb_target *t, struct probe **out);
/* Abandons a probe: event freed, socket closed, transfer removed (no event). */
void xlb_probe_free(struct xlb_checker *c, struct probe *p);
/* curlev's done callback: a finished HTTP(S) probe, outside libcurl. */
void xlb_probe_curl_done(CURL *easy, CURLcode res, void *arg);

#endif /* XLB_CHECKER_PRIV_H */
