/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The active probes of the health checker (checker.c), one per target in
 * flight, of the target's kind: TCP connect, HTTP or HTTPS. A probe ends
 * with xlb_checker_probe_done(): an event for the state machine, or none.
 *
 * TCP probes: a non-blocking connect(); writable with SO_ERROR 0 is a
 * success, any error (refused, reset, unreachable: the kernel reports them
 * as soon as the RST or ICMP error comes) a TCP failure at once, and no
 * answer within check->timeout a timeout. A result known inside connect()
 * is delivered through the event loop too, so starting a probe never calls
 * back into the caller.
 *
 * HTTP(S) probes: libcurl's multi interface on the same loop (curlev.c,
 * shared with the registry client), which hands us finished transfers
 * outside libcurl. The request (check->http_method, GET by default, with
 * check->http_req_body when it is not empty) goes
 * to the address literal ([v6] in brackets) with Host from check->host,
 * no proxy, no redirects, a fresh connection each time, HTTP/1.1, and is
 * cut off at the first body byte: like lua-resty-healthcheck we only need
 * the status line. For https with a host name, CURLOPT_CONNECT_TO keeps
 * the URL's host name (SNI, certificate check, Host) while connecting to
 * the node's address. Mapping, as lua-resty-healthcheck: a status in
 * healthy.http_statuses is a success, in unhealthy.http_statuses (or no
 * valid status line) an HTTP failure, any other status no event; no
 * connection, a reset, a closed connection without an answer or a failed
 * TLS handshake a TCP failure; check->timeout a timeout.
 *
 * Failures on our side (no file descriptor, no memory, a URL curl rejects)
 * are not the target's fault: they are logged and produce no event, and
 * the target is probed again after its interval.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "base/addr.h"
#include "health/checker.h"
#include "health/checker_priv.h"
#include "base/curlev.h"
#include "base/log.h"

#define DETAIL_LEN 160

/* --- releasing -------------------------------------------------------------- */

void xlb_probe_free(struct xlb_checker *c, struct probe *p)
{
	if (p->ev)
		event_free(p->ev);
	if (p->fd >= 0)
		close(p->fd);
	if (p->easy) {
		/* Not inside a libcurl callback: see checker.c's top comment. */
		curl_multi_remove_handle(xlb_curlev_multi(c->cv), p->easy);
		curl_easy_cleanup(p->easy);
	}
	curl_slist_free_all(p->headers);
	curl_slist_free_all(p->connect_to);
	free(p);
}

/* TCP ------------------------------------------------------------------------ */

static void on_tcp(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct xlb_target *t = p->t;
	char detail[DETAIL_LEN];
	socklen_t len = sizeof(int);
	int err = 0;

	if (p->sync_err >= 0)
		err = p->sync_err;
	else if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;

	if (!err) {
		xlb_checker_probe_done(t, 1, XLB_EV_SUCCESS, "connected");
	} else if (err == ETIMEDOUT) {
		snprintf(detail, sizeof(detail), "timeout after %.1f s", target_timeout(t));
		xlb_checker_probe_done(t, 1, XLB_EV_TIMEOUT, detail);
	} else {
		snprintf(detail, sizeof(detail), "connect: %s", strerror(err));
		xlb_checker_probe_done(t, 1, XLB_EV_TCP_FAILURE, detail);
	}
}

static int tcp_start(struct xlb_target *t, struct probe *p)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct timeval tv = to_timeval(target_timeout(t));
	socklen_t sslen;
	int err;

	memset(&ss, 0, sizeof(ss));
	if (t->addr.family == XLB_AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(probe_port(t));
		sin->sin_addr.s_addr = t->addr.addr[0];
		sslen = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(probe_port(t));
		memcpy(&sin6->sin6_addr, t->addr.addr, sizeof(sin6->sin6_addr));
		sslen = sizeof(*sin6);
	}
	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return -errno;
	p->ev = event_new(t->c->base, p->fd, EV_WRITE, on_tcp, p);
	if (!p->ev)
		return -ENOMEM;
	if (connect(p->fd, (struct sockaddr *)&ss, sslen) == 0) {
		p->sync_err = 0;
	} else if (errno != EINPROGRESS) {
		err = errno;
		if (err == ENOBUFS || err == EAGAIN || err == EADDRNOTAVAIL || err == ENOMEM)
			return -err; /* our side: out of buffers or ports */
		p->sync_err = err;
	}
	if (p->sync_err >= 0)
		event_active(p->ev, EV_WRITE, 1); /* delivered by the loop */
	else if (event_add(p->ev, &tv))
		return -ENOMEM;
	return 0;
}

/* HTTP(S) -------------------------------------------------------------------- */

static int status_in(unsigned int st, const unsigned int *list, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (list[i] == st)
			return 1;
	return 0;
}

static void http_done(struct probe *p, CURLcode res)
{
	struct xlb_target *t = p->t;
	const struct xlb_check_active *a = &t->conf->a;
	char detail[DETAIL_LEN];
	long status = 0, oserr = 0;

	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(p->easy, CURLINFO_OS_ERRNO, &oserr);
	if (status > 0) {
		/* The status line is all we wait for (the body is cut off). */
		snprintf(detail, sizeof(detail), "http %ld", status);
		if (status_in((unsigned int)status, a->healthy.http_statuses, a->healthy.nstatus))
			xlb_checker_probe_done(t, 1, XLB_EV_SUCCESS, detail);
		else if (status_in((unsigned int)status, a->unhealthy.http_statuses,
				   a->unhealthy.nstatus))
			xlb_checker_probe_done(t, 1, XLB_EV_HTTP_FAILURE, detail);
		else
			xlb_checker_probe_done(t, 0, XLB_EV_SUCCESS, detail);
		return;
	}
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(detail, sizeof(detail), "timeout after %.1f s", target_timeout(t));
		xlb_checker_probe_done(t, 1, XLB_EV_TIMEOUT, detail);
		break;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL: /* what curl says to an HTTP/0.9 answer */
		snprintf(detail, sizeof(detail), "http: bad status line (%.120s)",
			 p->errbuf[0] ? p->errbuf : curl_easy_strerror(res));
		xlb_checker_probe_done(t, 1, XLB_EV_HTTP_FAILURE, detail);
		break;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
	case CURLE_URL_MALFORMAT:
		pr_warn("health: %s: http probe not sent: %s\n",
			xlb_checker_target_str(t, detail, sizeof(detail)),
			p->errbuf[0] ? p->errbuf : curl_easy_strerror(res));
		xlb_checker_probe_done(t, 0, XLB_EV_SUCCESS, NULL);
		break;
	case CURLE_COULDNT_CONNECT:
		if (oserr) {
			snprintf(detail, sizeof(detail), "connect: %s", strerror((int)oserr));
			xlb_checker_probe_done(t, 1, XLB_EV_TCP_FAILURE, detail);
			break;
		}
		/* fallthrough */
	default:
		snprintf(detail, sizeof(detail), "http: %.140s",
			 p->errbuf[0] ? p->errbuf : curl_easy_strerror(res));
		xlb_checker_probe_done(t, 1, XLB_EV_TCP_FAILURE, detail);
		break;
	}
}

/* A finished HTTP(S) probe (curlev's done callback, outside libcurl). */
void xlb_probe_curl_done(CURL *easy, CURLcode res, void *arg)
{
	char *priv = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if (priv)
		http_done((struct probe *)priv, res);
}

static size_t curl_discard_header(char *buf, size_t size, size_t n, void *arg)
{
	return size * n;
}

static size_t curl_stop_at_body(char *buf, size_t size, size_t n, void *arg)
{
	return 0; /* the status is known: end the transfer (CURLE_WRITE_ERROR) */
}

/* A host name fit for a URL and CURLOPT_CONNECT_TO (no port, no brackets). */
static int plain_host(const char *h)
{
	return h[0] && !strpbrk(h, ":/[]@ \t\r\n?#");
}

/* The list with the lines, or NULL with *err set. */
static struct curl_slist *slist_add(struct curl_slist *l, const char *line, int *err)
{
	struct curl_slist *n = curl_slist_append(l, line);

	if (!n)
		*err = -ENOMEM;
	return n ? n : l;
}

/*
 * The method and body: GET without one is curl's default; HEAD asks for no
 * body (curl would wait for the one Content-Length announces); a body is
 * copied (the settings may go before the transfer) and sent with any method.
 */
static void http_method(CURL *easy, const struct xlb_check_active *a)
{
	const char *m = a->http_method[0] ? a->http_method : "GET";

	if (a->http_req_body[0]) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(a->http_req_body));
		curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, a->http_req_body);
	}
	if (!strcmp(m, "HEAD"))
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	else if (strcmp(m, "GET") || a->http_req_body[0])
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, m);
}

static int http_start(struct xlb_target *t, struct probe *p)
{
	const struct xlb_check_active *a = &t->conf->a;
	int https = a->type == XLB_CHECK_HTTPS, err = 0;
	const char *path = a->http_path[0] ? a->http_path : "/";
	const char *slash = path[0] == '/' ? "" : "/";
	char addr[XLB_ADDRSTRLEN], lit[XLB_ADDRSTRLEN + 2], url[1024], line[400];
	long ms = (long)(target_timeout(t) * 1000);
	__u16 port = probe_port(t);
	unsigned int i;

	xlb_addr_str(t->addr.addr, t->addr.family, addr, sizeof(addr));
	snprintf(lit, sizeof(lit), t->addr.family == XLB_AF_INET6 ? "[%s]" : "%s", addr);
	if (https && plain_host(a->host)) {
		/* SNI, certificate check and Host use the name; connect to the node. */
		snprintf(url, sizeof(url), "https://%s:%u%s%s", a->host, port, slash, path);
		snprintf(line, sizeof(line), "%s:%u:%s:%u", a->host, port, lit, port);
		p->connect_to = slist_add(NULL, line, &err);
	} else {
		snprintf(url, sizeof(url), "%s://%s:%u%s%s", https ? "https" : "http", lit, port,
			 slash, path);
	}
	if (a->host[0]) {
		snprintf(line, sizeof(line), "Host: %s", a->host);
		p->headers = slist_add(p->headers, line, &err);
	}
	for (i = 0; i < a->nheaders; i++)
		p->headers = slist_add(p->headers, a->req_headers[i], &err);
	if (err)
		return err;

	p->easy = curl_easy_init();
	if (!p->easy)
		return -ENOMEM;
	curl_easy_setopt(p->easy, CURLOPT_URL, url);
	xlb_curlev_easy_defaults(p->easy, p, p->errbuf);
	curl_easy_setopt(p->easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(p->easy, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(p->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	curl_easy_setopt(p->easy, CURLOPT_SSL_VERIFYPEER, a->https_verify_certificate ? 1L : 0L);
	curl_easy_setopt(p->easy, CURLOPT_SSL_VERIFYHOST, a->https_verify_certificate ? 2L : 0L);
	curl_easy_setopt(p->easy, CURLOPT_HEADERFUNCTION, curl_discard_header);
	curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, curl_stop_at_body);
	if (p->connect_to)
		curl_easy_setopt(p->easy, CURLOPT_CONNECT_TO, p->connect_to);
	if (p->headers)
		curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->headers);
	http_method(p->easy, a);
	if (curl_multi_add_handle(xlb_curlev_multi(t->c->cv), p->easy) != CURLM_OK)
		return -ENOMEM;
	return 0;
}

/* --- starting ---------------------------------------------------------------- */

/*
 * A probe of t's kind, started: 0 with *out set, or -errno for a failure
 * on our side (nothing is left allocated).
 */
int xlb_probe_start(struct xlb_target *t, struct probe **out)
{
	struct probe *p;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->t = t;
	p->fd = -1;
	p->sync_err = -1;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	if (t->conf->a.type == XLB_CHECK_HTTP || t->conf->a.type == XLB_CHECK_HTTPS)
		err = http_start(t, p);
	else
		err = tcp_start(t, p);
	if (err) {
		xlb_probe_free(t->c, p);
		return err;
	}
	*out = p;
	return 0;
}
