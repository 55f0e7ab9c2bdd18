// SPDX-License-Identifier: GPL-2.0-only
/*
 * etcd as a configuration source (APISIX's layout) through the v3 JSON
 * gateway, on the caller's libevent loop with the asynchronous HTTP client:
 * the network half. What the answers mean (base64, the mirror of keys and
 * values, revisions, bad values) is etcd_mirror.c, which does no I/O.
 *
 * Protocol. All requests are POSTs of JSON; keys and values travel in
 * base64 and 64-bit numbers as JSON strings; fields equal to zero are left
 * out (a PUT event has no "type", an empty value no "value").
 *  1. With a user: /v3/auth/authenticate {name, password} -> token, sent as
 *     "Authorization: <token>" from then on; an answer saying the token is
 *     no longer valid clears it and authenticates again.
 *  2. /v3/kv/range over the whole prefix, [<prefix>/, <prefix>0): one read
 *     with one revision; header.revision is the mirror's. Only upstreams
 *     and stream routes are mirrored; the keys of every other kind are
 *     counted (an APISIX deployment's etcd holds routes, services, SSL
 *     objects... beside them), so the range and the watch cover it all.
 *  3. /v3/watch {create_request: {key, range_end, start_revision: rev+1}}:
 *     a stream of JSON objects, one per line: first {"created": true}, then
 *     events. A response with compact_revision (etcd already dropped the
 *     history we need: we were away too long) means a range read again.
 *
 * Revisions. The mirror's revision is the range read's header revision,
 * then the mod_revision of the last event applied (or the header revision
 * of a progress notification). The header of the "created" response is not
 * used: events from start_revision may still follow it. After a dropped
 * watch the next one starts at revision + 1 of what was applied, so no
 * event is lost or applied twice across a reconnect; a range read is only
 * needed after a compaction, or when etcd's revision is behind ours (its
 * data was lost or replaced: what it holds now is the truth).
 *
 * Failures. A host that cannot be reached, answers an HTTP error, garbage,
 * or closes the watch moves us to the next host after a backoff (1 s
 * doubling to 60 s, +-25 % jitter, reset once a watch is created). The
 * mirror is never cleared by a failure; the agent hears nothing until
 * something really changed. Errors are counted each time and logged when
 * the error text changes (and once when things work again).
 *
 * Re-entrancy. Stream data arrives inside libcurl's write callback: we
 * only parse and apply there. The agent's callback runs from a deferred
 * event of our own, which also coalesces bursts of watch responses into
 * one update. State changes (a compaction, garbage) abort the transfer
 * from the write callback; the done callback, outside libcurl, moves on.
 *
 * Dead connections. A watch on a host that vanished without a FIN or RST
 * (a partition) stays silent; requests have a timeout and the watch relies
 * on the kernel noticing. Watches are re-created every WATCH_REFRESH
 * seconds from the current revision, which bounds how long a silent dead
 * watch can go unnoticed. A watch that is not "created" within the
 * request timeout (a host that accepts and never answers) is a failure.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <jansson.h>

#include "config/etcd.h"
#include "base/http.h"
#include "base/log.h"

#define BACKOFF_MIN   1.0
#define BACKOFF_MAX   60.0
#define JITTER	      0.25
#define WATCH_REFRESH 300.0	   /* seconds; see "Dead connections" */
#define RANGE_MAX     (256U << 20) /* the largest range answer taken */
#define LINE_MAX_LEN  (64U << 20)  /* the largest watch response taken */

/* --- the client --------------------------------------------------------------- */

enum etcd_state {
	ST_IDLE, /* waiting for the retry timer */
	ST_AUTH,
	ST_RANGE,
	ST_WATCH,
};

struct etcd_put {
	LIST_ENTRY(etcd_put) link;
	struct xlb_etcd *e;
	char what[XLB_ETCD_PREFIX_LEN + 32 + XLB_ID_LEN];
	struct xlb_http_req *req;
	xlb_etcd_done_fn done;
	void *arg;
};

struct xlb_etcd {
	struct event_base *base;
	struct xlb_etcd_conf conf;
	xlb_etcd_update_fn cb;
	void *arg;
	struct xlb_http *http;
	struct xlb_etcd_mirror *m;

	enum etcd_state state;
	struct xlb_http_req *req; /* auth, range or watch in flight */
	unsigned int host;	  /* index into conf.hosts */
	unsigned int fails;	  /* since the last good watch; backoff */
	unsigned int rand;
	int need_range;	     /* the next connect reads the whole range */
	int watch_created;   /* the current watch said "created" */
	int ever_watched;    /* for the reconnect counter */
	int have_state;	     /* a range read succeeded once */
	int notify;	     /* the mirror changed since the last callback */
	int first_notify;    /* the first read is always delivered */
	int abort_compacted; /* the watch was stopped for a resync */
	char abort_why[256]; /* why the watch was stopped from on_data */
	char token[512];     /* auth token, "" when none */

	char *line; /* a watch response not yet complete */
	size_t len, cap;

	struct event *retry; /* backoff timer, also the watch refresh */
	struct event *kick;  /* deferred callback to the agent */
	LIST_HEAD(, etcd_put) puts;

	char error[256];  /* transport or answer error, "" when none */
	char logged[256]; /* the last error text logged */
	unsigned long requests, updates, errors, resyncs, reconnects;
	unsigned long bad_counted; /* m->bad_seen already in errors */
};

static void etcd_connect(struct xlb_etcd *e);

static const char *cur_host(const struct xlb_etcd *e)
{
	return e->conf.hosts[e->host];
}

static double request_timeout(const struct xlb_etcd *e)
{
	return e->conf.timeout > 0 ? e->conf.timeout : 30;
}

static double backoff(struct xlb_etcd *e)
{
	unsigned int k = e->fails ? e->fails - 1 : 0;
	double base = BACKOFF_MIN * (double)(1U << (k > 10 ? 10 : k)), r;

	if (base > BACKOFF_MAX)
		base = BACKOFF_MAX;
	r = (double)rand_r(&e->rand) / RAND_MAX;
	return base * (1.0 - JITTER + 2.0 * JITTER * r);
}

static void arm(struct event *ev, double secs)
{
	struct timeval tv = {
		.tv_sec = (time_t)secs,
		.tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6),
	};

	evtimer_add(ev, &tv);
}

/* The error shown in status and logged: ours, else the bad values. */
static void current_error(const struct xlb_etcd *e, char *buf, size_t len)
{
	char bad[sizeof(e->error)];

	if (e->error[0]) {
		snprintf(buf, len, "%s", e->error);
		return;
	}
	if (xlb_etcd_mirror_bad(e->m, bad, sizeof(bad)))
		xlb_etcd_cut(buf, len, "etcd %s: values left out: %s", xlb_etcd_mirror_prefix(e->m),
			     bad);
	else if (len)
		buf[0] = 0;
}

/* Log when the error text changes, and once when it clears. */
static void log_error_change(struct xlb_etcd *e)
{
	char now[sizeof(e->logged)];

	current_error(e, now, sizeof(now));
	if (!strcmp(now, e->logged))
		return;
	if (now[0])
		pr_warn("%s\n", now);
	else
		pr_info("etcd %s: working again (revision %lld)\n", cur_host(e),
			xlb_etcd_mirror_rev(e->m));
	snprintf(e->logged, sizeof(e->logged), "%s", now);
}

/*
 * curl's texts carry timings ("Failed to connect to ... after 3 ms"):
 * dropped, so that the same failure is logged once, not on every retry.
 */
static void drop_timing(char *s)
{
	char *p = s, *q;

	while ((p = strstr(p, " after "))) {
		q = p + 7;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q > p + 7 && !strncmp(q, " ms", 3)) {
			memmove(p, q + 3, strlen(q + 3) + 1);
			continue;
		}
		p += 7;
	}
}

/* A request or answer failed: keep the mirror, next host, retry later. */
static void etcd_fail(struct xlb_etcd *e, const char *what, const char *why)
{
	double wait;

	e->errors++;
	xlb_etcd_cut(e->error, sizeof(e->error), "etcd %s: %s: %s", cur_host(e), what, why);
	drop_timing(e->error);
	log_error_change(e);
	e->req = NULL;
	e->state = ST_IDLE;
	e->watch_created = 0;
	e->len = 0;
	e->fails++;
	if (e->conf.nhosts > 1)
		e->host = (e->host + 1) % e->conf.nhosts;
	wait = backoff(e);
	pr_debug("etcd: retrying in %.1f s with %s\n", wait, cur_host(e));
	evtimer_del(e->retry);
	arm(e->retry, wait);
}

/* Headers for a request: content type and the token. */
static void req_headers(const struct xlb_etcd *e, char *auth, size_t len, const char *hdrs[3])
{
	unsigned int i = 0;

	hdrs[i++] = "Content-Type: application/json";
	if (e->token[0]) {
		snprintf(auth, len, "Authorization: %s", e->token);
		hdrs[i++] = auth;
	}
	hdrs[i] = NULL;
}

static struct xlb_http_req *etcd_post(struct xlb_etcd *e, const char *path, const char *body,
				      xlb_http_data_fn on_data, xlb_http_done_fn on_done, void *arg,
				      double timeout, size_t max_body)
{
	char url[XLB_URL_LEN + 64], auth[sizeof(e->token) + 32];
	const char *hdrs[3];
	struct xlb_http_opts o = {
		.method = "POST",
		.url = url,
		.headers = hdrs,
		.body = body,
		.connect_timeout = request_timeout(e) < 5 ? request_timeout(e) : 5,
		.timeout = timeout,
		.max_body = max_body,
		.on_data = on_data,
		.on_done = on_done,
		.arg = arg,
	};

	snprintf(url, sizeof(url), "%s%s", cur_host(e), path);
	req_headers(e, auth, sizeof(auth), hdrs);
	e->requests++;
	return xlb_http_start(e->http, &o);
}

/* "etcd error: ..." from an answer body, or the HTTP status. */
static void answer_error(const struct xlb_http_resp *resp, char *why, size_t len)
{
	json_t *root;

	root = json_loadb(resp->body, resp->len, 0, NULL);
	if (!json_is_object(root) || !xlb_etcd_error_answer(root, why, len))
		snprintf(why, len, "HTTP %ld", resp->status);
	json_decref(root);
}

/* etcd says the token is unknown or expired (or auth got enabled). */
static int auth_invalid(const char *why)
{
	return strstr(why, "invalid auth token") || strstr(why, "user name is empty") ||
	       strstr(why, "(code 16)");
}

/* A request failed; a rejected token is cleared so the retry gets a new one. */
static void request_failed(struct xlb_etcd *e, const char *what, const char *why)
{
	if (auth_invalid(why))
		e->token[0] = 0;
	etcd_fail(e, what, why);
}

/* --- deferred delivery ---------------------------------------------------------- */

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_etcd *e = arg;
	json_t *ups, *routes;

	e->errors += xlb_etcd_mirror_bad_seen(e->m) - e->bad_counted;
	e->bad_counted = xlb_etcd_mirror_bad_seen(e->m);
	log_error_change(e);
	if (!e->notify)
		return;
	e->notify = 0;
	if (xlb_etcd_mirror_arrays(e->m, &ups, &routes)) {
		pr_warn("etcd: out of memory building the update\n");
		e->notify = 1;
		return;
	}
	e->updates++;
	e->cb(ups, routes, xlb_etcd_mirror_rev(e->m), e->arg);
	json_decref(ups);
	json_decref(routes);
}

static void changed(struct xlb_etcd *e)
{
	e->notify = 1;
	event_active(e->kick, 0, 0);
}

/* --- watch ------------------------------------------------------------------------ */

/* One complete watch response; nonzero stops the stream (reason in abort_why). */
static int watch_line(struct xlb_etcd *e, const char *msg, size_t len)
{
	struct xlb_etcd_watch_info info;
	char why[256];
	int err;

	err = xlb_etcd_mirror_apply_watch(e->m, msg, len, &info, why, sizeof(why));
	if (err < 0) {
		snprintf(e->abort_why, sizeof(e->abort_why), "%s", why);
		return 1;
	}
	if (info.compact_revision > 0) {
		/* etcd no longer has the events after our revision: read again. */
		pr_info("etcd %s: revision %lld compacted (at %lld), reading everything again\n",
			cur_host(e), xlb_etcd_mirror_rev(e->m) + 1, info.compact_revision);
		e->abort_compacted = 1;
		return 1;
	}
	if (info.canceled) {
		snprintf(e->abort_why, sizeof(e->abort_why), "watch cancelled by etcd%s%s",
			 info.reason[0] ? ": " : "", info.reason);
		return 1;
	}
	if (info.created && info.revision > 0 && info.revision < xlb_etcd_mirror_rev(e->m)) {
		/* Not the history we followed: etcd lost its data, or another cluster. */
		pr_warn("etcd %s: revision %lld is behind ours (%lld): reading everything again\n",
			cur_host(e), info.revision, xlb_etcd_mirror_rev(e->m));
		e->abort_compacted = 1;
		return 1;
	}
	if (info.created && !e->watch_created) {
		e->watch_created = 1;
		evtimer_del(e->retry);
		arm(e->retry, WATCH_REFRESH);
		e->fails = 0;
		if (e->ever_watched)
			e->reconnects++;
		e->ever_watched = 1;
		if (e->error[0]) {
			e->error[0] = 0;
			event_active(e->kick, 0, 0); /* logs "working again" */
		}
	}
	if (err > 0)
		changed(e);
	else if (info.events)
		event_active(e->kick, 0, 0); /* a bad value is logged from there */
	return 0;
}

static int watch_data(struct xlb_http_req *r, const char *data, size_t len, void *arg)
{
	struct xlb_etcd *e = arg;
	size_t start = 0, i, need;
	char *p;

	/* Most responses come whole in one piece: parse them in place. */
	for (i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (e->len) {
			need = e->len + (i - start);
			if (need > e->cap) {
				p = realloc(e->line, need);
				if (!p)
					goto out_nomem;
				e->line = p;
				e->cap = need;
			}
			memcpy(e->line + e->len, data + start, i - start);
			if (watch_line(e, e->line, need))
				return 1;
			e->len = 0;
		} else if (i > start && watch_line(e, data + start, i - start)) {
			return 1;
		}
		start = i + 1;
	}
	if (start < len) {
		need = e->len + (len - start);
		if (need > LINE_MAX_LEN) {
			snprintf(e->abort_why, sizeof(e->abort_why),
				 "watch response larger than %u bytes", LINE_MAX_LEN);
			return 1;
		}
		if (need > e->cap) {
			p = realloc(e->line, need);
			if (!p)
				goto out_nomem;
			e->line = p;
			e->cap = need;
		}
		memcpy(e->line + e->len, data + start, len - start);
		e->len = need;
	}
	return 0;

out_nomem:
	snprintf(e->abort_why, sizeof(e->abort_why), "out of memory");
	return 1;
}

static void watch_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct xlb_etcd *e = arg;
	char why[256];

	e->req = NULL;
	/* A last response without its newline (an error closing the stream). */
	if (e->len && !e->abort_compacted && !e->abort_why[0])
		watch_line(e, e->line, e->len);
	e->len = 0;
	if (e->abort_compacted) {
		e->abort_compacted = 0;
		e->need_range = 1;
		e->resyncs++;
		e->watch_created = 0;
		etcd_connect(e);
		return;
	}
	if (e->abort_why[0]) {
		snprintf(why, sizeof(why), "%s", e->abort_why);
		e->abort_why[0] = 0;
		request_failed(e, "watch", why);
		return;
	}
	if (resp->error) {
		etcd_fail(e, "watch", resp->error);
		return;
	}
	if (resp->status != 200) {
		answer_error(resp, why, sizeof(why));
		request_failed(e, "watch", why);
		return;
	}
	etcd_fail(e, "watch", "closed by etcd");
}

/* The [from, to) range of the whole prefix, base64. */
static int range_keys(const struct xlb_etcd *e, char **from, char **to)
{
	const char *prefix = xlb_etcd_mirror_prefix(e->m);
	char k[XLB_ETCD_PREFIX_LEN + 32];

	snprintf(k, sizeof(k), "%s/", prefix);
	*from = xlb_etcd_b64_encode(k, strlen(k));
	snprintf(k, sizeof(k), "%s0", prefix); /* '0' follows '/' */
	*to = xlb_etcd_b64_encode(k, strlen(k));
	if (*from && *to)
		return 0;
	free(*from);
	free(*to);
	return -ENOMEM;
}

static void start_watch(struct xlb_etcd *e)
{
	char *from, *to, *body;

	if (range_keys(e, &from, &to))
		goto out_nomem;
	/*
	 * progress_notify: etcd sends the current revision now and then when
	 * nothing of ours changes, so that a reconnect after a quiet spell
	 * does not ask for history that was compacted meanwhile.
	 */
	if (asprintf(&body,
		     "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
		     "\"start_revision\":\"%lld\",\"progress_notify\":true}}",
		     from, to, xlb_etcd_mirror_rev(e->m) + 1) < 0)
		body = NULL;
	free(from);
	free(to);
	if (!body)
		goto out_nomem;
	e->state = ST_WATCH;
	e->watch_created = 0;
	e->abort_why[0] = 0;
	e->abort_compacted = 0;
	e->len = 0;
	e->req = etcd_post(e, "/v3/watch", body, watch_data, watch_done, e, 0, 0);
	free(body);
	if (!e->req)
		etcd_fail(e, "watch", strerror(errno));
	else
		arm(e->retry, request_timeout(e)); /* until "created" */
	return;

out_nomem:
	etcd_fail(e, "watch", strerror(ENOMEM));
}

/* --- range ------------------------------------------------------------------------ */

static void range_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct xlb_etcd *e = arg;
	char why[256];
	int err;

	e->req = NULL;
	if (resp->error) {
		etcd_fail(e, "range", resp->error);
		return;
	}
	if (resp->status != 200) {
		answer_error(resp, why, sizeof(why));
		request_failed(e, "range", why);
		return;
	}
	err = xlb_etcd_mirror_load_range(e->m, resp->body, resp->len, why, sizeof(why));
	if (err < 0) {
		request_failed(e, "range", why);
		return;
	}
	e->need_range = 0;
	if (err > 0 || !e->have_state)
		changed(e);
	else
		event_active(e->kick, 0, 0); /* bad values are logged from there */
	e->have_state = 1;
	if (e->error[0]) {
		e->error[0] = 0;
		event_active(e->kick, 0, 0);
	}
	start_watch(e);
}

static void start_range(struct xlb_etcd *e)
{
	char *from, *to, *body;

	if (range_keys(e, &from, &to))
		goto out_nomem;
	if (asprintf(&body, "{\"key\":\"%s\",\"range_end\":\"%s\"}", from, to) < 0)
		body = NULL;
	free(from);
	free(to);
	if (!body)
		goto out_nomem;
	e->state = ST_RANGE;
	e->req = etcd_post(e, "/v3/kv/range", body, NULL, range_done, e, request_timeout(e),
			   RANGE_MAX);
	free(body);
	if (!e->req)
		etcd_fail(e, "range", strerror(errno));
	return;

out_nomem:
	etcd_fail(e, "range", strerror(ENOMEM));
}

/* --- auth --------------------------------------------------------------------------- */

static void auth_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct xlb_etcd *e = arg;
	json_t *root, *tok;
	char why[256];

	e->req = NULL;
	if (resp->error) {
		etcd_fail(e, "authenticate", resp->error);
		return;
	}
	if (resp->status != 200) {
		answer_error(resp, why, sizeof(why));
		etcd_fail(e, "authenticate", why);
		return;
	}
	root = json_loadb(resp->body, resp->len, 0, NULL);
	tok = json_object_get(root, "token");
	if (!json_is_string(tok) || !json_string_length(tok) ||
	    json_string_length(tok) >= sizeof(e->token) ||
	    strpbrk(json_string_value(tok), "\r\n")) {
		json_decref(root);
		etcd_fail(e, "authenticate", "answer without a usable token");
		return;
	}
	snprintf(e->token, sizeof(e->token), "%s", json_string_value(tok));
	json_decref(root);
	etcd_connect(e);
}

static void start_auth(struct xlb_etcd *e)
{
	json_t *req;
	char *body;

	req = json_pack("{s:s, s:s}", "name", e->conf.user, "password", e->conf.password);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		etcd_fail(e, "authenticate", strerror(ENOMEM));
		return;
	}
	e->state = ST_AUTH;
	e->token[0] = 0;
	e->req = etcd_post(e, "/v3/auth/authenticate", body, NULL, auth_done, e, request_timeout(e),
			   0);
	free(body);
	if (!e->req)
		etcd_fail(e, "authenticate", strerror(errno));
}

/* The next step: authenticate, read everything, or watch from rev + 1. */
static void etcd_connect(struct xlb_etcd *e)
{
	evtimer_del(e->retry);
	if (e->conf.user[0] && !e->token[0])
		start_auth(e);
	else if (e->need_range)
		start_range(e);
	else
		start_watch(e);
}

/* Backoff over, or a watch to refresh. */
static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_etcd *e = arg;

	if (e->state == ST_WATCH && e->req && !e->watch_created) {
		char why[64];

		xlb_http_cancel(e->req);
		snprintf(why, sizeof(why), "no answer within %.0f s", request_timeout(e));
		etcd_fail(e, "watch", why);
		return;
	}
	if (e->state == ST_WATCH && e->req) {
		/* Refresh: same revision, fresh connection; not a reconnect. */
		xlb_http_cancel(e->req);
		e->req = NULL;
		e->ever_watched = 0;
	}
	etcd_connect(e);
}

struct xlb_etcd *xlb_etcd_new(struct event_base *base, const struct xlb_etcd_conf *conf,
			      xlb_etcd_update_fn cb, void *arg)
{
	struct xlb_etcd *e;

	if (!base || !conf || !conf->nhosts || !cb) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->base = base;
	e->conf = *conf;
	e->cb = cb;
	e->arg = arg;
	e->rand = (unsigned int)time(NULL) ^ (unsigned int)getpid() ^ (unsigned int)(size_t)e;
	e->need_range = 1;
	LIST_INIT(&e->puts);
	e->m = xlb_etcd_mirror_new(conf->prefix[0] ? conf->prefix : "/apisix");
	e->http = xlb_http_new(base);
	e->retry = evtimer_new(base, on_retry, e);
	e->kick = event_new(base, -1, 0, on_kick, e);
	if (!e->m || !e->http || !e->retry || !e->kick) {
		xlb_etcd_free(e);
		errno = ENOMEM;
		return NULL;
	}
	etcd_connect(e);
	return e;
}

void xlb_etcd_free(struct xlb_etcd *e)
{
	struct etcd_put *p;

	if (!e)
		return;
	while ((p = LIST_FIRST(&e->puts))) {
		LIST_REMOVE(p, link);
		free(p);
	}
	xlb_http_free(e->http); /* cancels everything, no callbacks */
	if (e->retry)
		event_free(e->retry);
	if (e->kick)
		event_free(e->kick);
	xlb_etcd_mirror_free(e->m);
	free(e->line);
	free(e);
}

int xlb_etcd_revs(const struct xlb_etcd *e, const char *kind, const char *id, long long *created,
		  long long *modified)
{
	return xlb_etcd_mirror_revs(e->m, kind, id, created, modified);
}

void xlb_etcd_status(const struct xlb_etcd *e, struct xlb_etcd_status *st)
{
	memset(st, 0, sizeof(*st));
	st->connected = e->state == ST_WATCH && e->watch_created;
	st->have_state = e->have_state;
	st->revision = xlb_etcd_mirror_rev(e->m);
	st->requests = e->requests;
	st->updates = e->updates;
	st->errors = e->errors;
	st->resyncs = e->resyncs;
	st->reconnects = e->reconnects;
	st->bad_values = xlb_etcd_mirror_bad(e->m, NULL, 0);
	xlb_etcd_mirror_others(e->m, st->ignored);
	current_error(e, st->error, sizeof(st->error));
	snprintf(st->host, sizeof(st->host), "%s", cur_host(e));
}

/* --- writes ------------------------------------------------------------------------- */

static void put_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct etcd_put *p = arg;
	struct xlb_etcd *e = p->e;
	char why[256], text[256];
	json_t *root;
	int err = 0;

	why[0] = 0;
	if (resp->error) {
		xlb_etcd_cut(why, sizeof(why), "etcd %s: %s: %s", cur_host(e), p->what,
			     resp->error);
		err = -EIO;
	} else if (resp->status != 200) {
		answer_error(resp, text, sizeof(text));
		if (auth_invalid(text))
			e->token[0] = 0;
		xlb_etcd_cut(why, sizeof(why), "etcd %s: %s: %s", cur_host(e), p->what, text);
		err = -EIO;
	} else {
		root = json_loadb(resp->body, resp->len, 0, NULL);
		if (!json_is_object(root) || !json_is_object(json_object_get(root, "header"))) {
			xlb_etcd_cut(why, sizeof(why), "etcd %s: %s: unexpected answer",
				     cur_host(e), p->what);
			err = -EIO;
		}
		json_decref(root);
	}
	LIST_REMOVE(p, link);
	if (err)
		pr_warn("%s\n", why);
	if (p->done)
		p->done(err, why, p->arg);
	free(p);
}

int xlb_etcd_put(struct xlb_etcd *e, const char *kind, const char *id, json_t *obj,
		 xlb_etcd_done_fn done, void *arg)
{
	char key[XLB_ETCD_PREFIX_LEN + 32 + XLB_ID_LEN], *k64 = NULL, *v64 = NULL, *val = NULL;
	char *body = NULL;
	struct etcd_put *p;
	json_t *copy;
	int err = -ENOMEM;

	if (!xlb_etcd_kind_id_valid(kind, id) || (obj && !json_is_object(obj)))
		return -EINVAL;
	snprintf(key, sizeof(key), "%s/%s/%s", xlb_etcd_mirror_prefix(e->m), kind, id);
	p = calloc(1, sizeof(*p));
	k64 = xlb_etcd_b64_encode(key, strlen(key));
	if (!p || !k64)
		goto out;
	if (obj) {
		copy = json_deep_copy(obj);
		if (!copy || json_object_set_new(copy, "id", json_string(id))) {
			json_decref(copy);
			goto out;
		}
		val = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(copy);
		v64 = val ? xlb_etcd_b64_encode(val, strlen(val)) : NULL;
		if (!v64 || asprintf(&body, "{\"key\":\"%s\",\"value\":\"%s\"}", k64, v64) < 0)
			body = NULL;
	} else if (asprintf(&body, "{\"key\":\"%s\"}", k64) < 0) {
		body = NULL;
	}
	if (!body)
		goto out;
	p->e = e;
	xlb_etcd_cut(p->what, sizeof(p->what), "%s %s", obj ? "put" : "delete", key);
	p->done = done;
	p->arg = arg;
	p->req = etcd_post(e, obj ? "/v3/kv/put" : "/v3/kv/deleterange", body, NULL, put_done, p,
			   request_timeout(e), 0);
	if (!p->req) {
		err = -errno;
		goto out;
	}
	LIST_INSERT_HEAD(&e->puts, p, link);
	p = NULL;
	err = 0;
out:
	free(p);
	free(k64);
	free(val);
	free(v64);
	free(body);
	return err;
}
