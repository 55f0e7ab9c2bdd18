// SPDX-License-Identifier: GPL-2.0-only
/* libcurl's multi interface on a libevent loop; see curlev.h. */
#include <errno.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <event2/event.h>

#include "base/curlev.h"

/* A socket libcurl asked us to watch. */
struct curlev_sock {
	LIST_ENTRY(curlev_sock) link;
	struct xlb_curlev *cv;
	short kind;
	struct event *ev;
};

struct xlb_curlev {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;  /* curl's timeout */
	unsigned int in_curl; /* inside a libcurl call */
	LIST_HEAD(, curlev_sock) socks;
	xlb_curlev_done_fn done;
	xlb_curlev_after_fn after;
	void *arg;
};

/* Hand finished transfers to the owner; never called from inside libcurl. */
static void collect(struct xlb_curlev *cv)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(cv->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			cv->done(m->easy_handle, m->data.result, cv->arg);
	if (cv->after)
		cv->after(cv->arg);
}

static void socket_action(struct xlb_curlev *cv, curl_socket_t fd, int action)
{
	int running;

	cv->in_curl++;
	curl_multi_socket_action(cv->multi, fd, action, &running);
	cv->in_curl--;
	collect(cv);
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct curlev_sock *s = arg;
	int action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	socket_action(s->cv, fd, action); /* s may be freed in there */
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

static void sock_free(struct curlev_sock *s)
{
	LIST_REMOVE(s, link);
	event_free(s->ev);
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl wants. */
static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct xlb_curlev *cv = userp;
	struct curlev_sock *s = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(cv->multi, fd, NULL);
			sock_free(s);
		}
		return 0;
	}
	kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	       (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!(kind & (EV_READ | EV_WRITE))) {
		if (s)
			event_del(s->ev);
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->ev = event_new(cv->base, fd, kind, on_sock, s);
		if (!s->ev) {
			free(s);
			return -1;
		}
		s->cv = cv;
		s->kind = kind;
		LIST_INSERT_HEAD(&cv->socks, s, link);
		curl_multi_assign(cv->multi, fd, s);
	} else if (s->kind != kind) {
		event_del(s->ev);
		event_assign(s->ev, cv->base, fd, kind, on_sock, s);
		s->kind = kind;
	}
	return event_add(s->ev, NULL) ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct xlb_curlev *cv = userp;
	struct timeval tv;

	if (timeout_ms < 0)
		return evtimer_del(cv->timer) ? -1 : 0;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(cv->timer, &tv) ? -1 : 0;
}

struct xlb_curlev *xlb_curlev_new(struct event_base *base, xlb_curlev_done_fn done,
				  xlb_curlev_after_fn after, void *arg)
{
	struct xlb_curlev *cv;

	/* Idempotent; libcurl keeps a counter. Needed before any easy handle. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errno = ENOMEM;
		return NULL;
	}
	cv = calloc(1, sizeof(*cv));
	if (!cv) {
		curl_global_cleanup();
		return NULL;
	}
	cv->base = base;
	cv->done = done;
	cv->after = after;
	cv->arg = arg;
	LIST_INIT(&cv->socks);
	cv->timer = evtimer_new(base, on_timer, cv);
	cv->multi = curl_multi_init();
	if (!cv->timer || !cv->multi) {
		xlb_curlev_free(cv);
		errno = ENOMEM;
		return NULL;
	}
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
	return cv;
}

void xlb_curlev_free(struct xlb_curlev *cv)
{
	struct curlev_sock *s;

	if (!cv)
		return;
	if (cv->multi)
		curl_multi_cleanup(cv->multi); /* may still call sock_cb / timer_cb */
	/* curl_multi_cleanup() may leave sockets we watched. */
	while ((s = LIST_FIRST(&cv->socks)))
		sock_free(s);
	if (cv->timer)
		event_free(cv->timer);
	free(cv);
	curl_global_cleanup(); /* pairs with xlb_curlev_new()'s init */
}

CURLM *xlb_curlev_multi(const struct xlb_curlev *cv)
{
	return cv->multi;
}

void xlb_curlev_kick(struct xlb_curlev *cv)
{
	socket_action(cv, CURL_SOCKET_TIMEOUT, 0);
}

int xlb_curlev_in_curl(const struct xlb_curlev *cv)
{
	return cv->in_curl > 0;
}

void xlb_curlev_easy_defaults(CURL *easy, void *priv, char *errbuf)
{
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)priv);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
}
