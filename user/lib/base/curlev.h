/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libcurl's multi interface driven by a libevent loop (curl's "hiperfifo"
 * pattern), for the HTTP health checks (checker.c) and the registry and
 * etcd client (base/http.c): CURLMOPT_SOCKETFUNCTION says which
 * sockets to watch (one libevent event each), CURLMOPT_TIMERFUNCTION sets
 * one timer, and both call curl_multi_socket_action(). After each such
 * call, every finished transfer goes to done(easy, result, arg), then
 * after(arg) runs when set: both outside libcurl, so they may add, remove
 * and clean up handles.
 */
#ifndef XLB_CURLEV_H
#define XLB_CURLEV_H

#include <curl/curl.h>

struct event_base;
struct xlb_curlev;

typedef void (*xlb_curlev_done_fn)(CURL *easy, CURLcode res, void *arg);
typedef void (*xlb_curlev_after_fn)(void *arg);

/* NULL with errno. Takes a curl_global_init() reference; free drops it. */
struct xlb_curlev *xlb_curlev_new(struct event_base *base, xlb_curlev_done_fn done,
				  xlb_curlev_after_fn after, void *arg);
/*
 * The owner removes its handles first; curl_multi_cleanup() and the events
 * of sockets curl left behind go here.
 */
void xlb_curlev_free(struct xlb_curlev *cv);
CURLM *xlb_curlev_multi(const struct xlb_curlev *cv);
/* Let curl start transfers added since, now rather than on its next timer. */
void xlb_curlev_kick(struct xlb_curlev *cv);
/*
 * What every easy handle of xlb's gets: priv as its CURLOPT_PRIVATE, errors
 * into errbuf (CURL_ERROR_SIZE), no signals, no proxy, no redirects.
 */
void xlb_curlev_easy_defaults(CURL *easy, void *priv, char *errbuf);
/* Whether a libcurl call is running (its callbacks are on the stack). */
int xlb_curlev_in_curl(const struct xlb_curlev *cv);

#endif /* XLB_CURLEV_H */
