// SPDX-License-Identifier: GPL-2.0-only
/*
 * Asynchronous HTTP client for the registries and etcd: libcurl's multi
 * interface on a libevent loop (curlev.c, shared with the HTTP health
 * checks).
 *
 * Re-entrancy. libcurl forbids calling the multi handle from inside its
 * own callbacks, and our users call back into us from theirs:
 *  - on_data runs inside curl's write callback. xlb_http_cancel() there
 *    (on any request) only marks the request; a marked request's write
 *    callback stops its transfer, and it is freed, without its done
 *    callback, once we are out of libcurl. xlb_http_start() there queues
 *    the new handle, which is added from a deferred event.
 *  - on_done runs from our own event callbacks, outside libcurl: starting
 *    and cancelling requests is direct. Cancelling the request being
 *    completed is a no-op (it is freed when done returns).
 * xlb_http_free() must not be called from a callback.
 *
 * Response headers of the last response (a 100 Continue or redirect
 * resets them) are kept for xlb_http_header(). Bodies are buffered up to
 * max_body unless on_data takes them. Requests never go through a proxy
 * (registry and etcd addresses are on the local network, and an
 * environment proxy would reroute them silently).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "base/curlev.h"
#include "base/http.h"

#define BODY_MAX_DEFAULT	(16U << 20)
#define CONNECT_TIMEOUT_DEFAULT 5.0
#define HDR_MAX			(64U << 10) /* response header bytes kept at most */

struct hdr {
	char *name, *value; /* one allocation: name\0value\0 */
};

struct xlb_http_req {
	TAILQ_ENTRY(xlb_http_req) link;
	struct xlb_http *h;
	CURL *easy;
	struct curl_slist *headers;
	xlb_http_data_fn on_data;
	xlb_http_done_fn on_done;
	void *arg;
	int added;	/* in the multi handle */
	int cancelled;	/* cancelled inside a libcurl callback */
	int completing; /* inside its done callback */
	int aborted;	/* on_data asked to stop */
	int overflow;	/* body over max_body */
	char *body;
	size_t len, cap, max_body;
	struct hdr *hdrs;
	size_t nhdrs, hdr_bytes;
	char errbuf[CURL_ERROR_SIZE];
};

struct xlb_http {
	struct event_base *base;
	struct xlb_curlev *cv;
	struct event *kick;		    /* deferred work: pending handles, cancelled requests */
	TAILQ_HEAD(, xlb_http_req) reqs;    /* running or cancelled, in the multi */
	TAILQ_HEAD(, xlb_http_req) pending; /* not yet added */
};

/* --- requests ----------------------------------------------------------------- */

static void hdrs_clear(struct xlb_http_req *r)
{
	size_t i;

	for (i = 0; i < r->nhdrs; i++)
		free(r->hdrs[i].name);
	free(r->hdrs);
	r->hdrs = NULL;
	r->nhdrs = 0;
	r->hdr_bytes = 0;
}

static void req_free(struct xlb_http_req *r)
{
	if (r->easy) {
		if (r->added)
			curl_multi_remove_handle(xlb_curlev_multi(r->h->cv), r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	hdrs_clear(r);
	free(r->body);
	free(r);
}

/* Unlink and free r; never called from inside libcurl. */
static void req_drop(struct xlb_http_req *r)
{
	struct xlb_http *h = r->h;

	if (r->added)
		TAILQ_REMOVE(&h->reqs, r, link);
	else
		TAILQ_REMOVE(&h->pending, r, link);
	req_free(r);
}

static void kick(struct xlb_http *h)
{
	event_active(h->kick, EV_TIMEOUT, 1);
}

static void req_complete(struct xlb_http_req *r, CURLcode res)
{
	struct xlb_http_resp resp = {.body = ""};
	char err[CURL_ERROR_SIZE + 64];
	long status = 0;

	if (r->cancelled) {
		req_drop(r);
		return;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	resp.status = status;
	if (r->body) {
		resp.body = r->body;
		resp.len = r->len;
	}
	if (r->overflow) {
		snprintf(err, sizeof(err), "response body larger than %zu bytes", r->max_body);
		resp.error = err;
	} else if (r->aborted) {
		resp.error = "stopped by the receiver";
	} else if (res != CURLE_OK) {
		snprintf(err, sizeof(err), "%s",
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(res));
		resp.error = err;
	}
	r->completing = 1;
	if (r->on_done)
		r->on_done(r, &resp, r->arg);
	req_drop(r);
}

/* A finished transfer (curlev's done callback, outside libcurl). */
static void on_easy_done(CURL *easy, CURLcode res, void *arg)
{
	char *priv = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if (priv)
		req_complete((struct xlb_http_req *)priv, res);
}

/* Cancelled inside a callback and not finished by it: drop now. */
static void drop_cancelled(void *arg)
{
	struct xlb_http *h = arg;
	struct xlb_http_req *r, *next;

	for (r = TAILQ_FIRST(&h->reqs); r; r = next) {
		next = TAILQ_NEXT(r, link);
		if (r->cancelled)
			req_drop(r);
	}
}

static void add_pending(struct xlb_http *h)
{
	struct xlb_http_req *r;

	while ((r = TAILQ_FIRST(&h->pending))) {
		TAILQ_REMOVE(&h->pending, r, link);
		if (r->cancelled) {
			req_free(r);
			continue;
		}
		if (curl_multi_add_handle(xlb_curlev_multi(h->cv), r->easy) != CURLM_OK) {
			/* Report through done, as any other failure. */
			TAILQ_INSERT_TAIL(&h->pending, r, link);
			snprintf(r->errbuf, sizeof(r->errbuf), "cannot start the request");
			req_complete(r, CURLE_FAILED_INIT);
			continue;
		}
		r->added = 1;
		TAILQ_INSERT_TAIL(&h->reqs, r, link);
	}
	xlb_curlev_kick(h->cv);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	add_pending(arg);
}

/* --- libcurl callbacks ------------------------------------------------------ */

static size_t on_write(char *buf, size_t size, size_t n, void *arg)
{
	struct xlb_http_req *r = arg;
	size_t len = size * n, cap;
	char *p;

	if (r->cancelled)
		return 0;
	if (r->on_data) {
		if (r->on_data(r, buf, len, r->arg)) {
			r->aborted = 1;
			return 0;
		}
		return r->cancelled ? 0 : len;
	}
	if (len > r->max_body - r->len) {
		r->overflow = 1;
		return 0;
	}
	if (r->len + len + 1 > r->cap) {
		cap = r->cap ? r->cap : 4096;
		while (cap < r->len + len + 1)
			cap *= 2;
		p = realloc(r->body, cap);
		if (!p)
			return 0;
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, buf, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct xlb_http_req *r = arg;
	size_t len = size * n, nl, vl;
	struct hdr *v;
	const char *colon, *val, *end;
	char *mem;

	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* A new response (after 100 Continue or a redirect). */
		hdrs_clear(r);
		return len;
	}
	colon = memchr(buf, ':', len);
	if (!colon || colon == buf || r->hdr_bytes + len > HDR_MAX)
		return len;
	end = buf + len;
	while (end > colon + 1 &&
	       (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	val = colon + 1;
	while (val < end && (*val == ' ' || *val == '\t'))
		val++;
	nl = (size_t)(colon - buf);
	vl = (size_t)(end - val);
	v = realloc(r->hdrs, (r->nhdrs + 1) * sizeof(*v));
	if (!v)
		return len;
	r->hdrs = v;
	mem = malloc(nl + vl + 2);
	if (!mem)
		return len;
	memcpy(mem, buf, nl);
	mem[nl] = '\0';
	memcpy(mem + nl + 1, val, vl);
	mem[nl + 1 + vl] = '\0';
	v[r->nhdrs].name = mem;
	v[r->nhdrs].value = mem + nl + 1;
	r->nhdrs++;
	r->hdr_bytes += len;
	return len;
}

/* --- the client ----------------------------------------------------------------- */

struct xlb_http *xlb_http_new(struct event_base *base)
{
	struct xlb_http *h;

	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->base = base;
	TAILQ_INIT(&h->reqs);
	TAILQ_INIT(&h->pending);
	h->cv = xlb_curlev_new(base, on_easy_done, drop_cancelled, h);
	h->kick = event_new(base, -1, 0, on_kick, h);
	if (!h->cv || !h->kick) {
		xlb_http_free(h);
		errno = ENOMEM;
		return NULL;
	}
	return h;
}

void xlb_http_free(struct xlb_http *h)
{
	struct xlb_http_req *r;

	if (!h)
		return;
	while ((r = TAILQ_FIRST(&h->reqs)))
		req_drop(r);
	while ((r = TAILQ_FIRST(&h->pending)))
		req_drop(r);
	xlb_curlev_free(h->cv);
	if (h->kick)
		event_free(h->kick);
	free(h);
}

static long ms(double s, double dflt)
{
	if (s <= 0)
		s = dflt;
	return s > 0 && s < 1e-3 ? 1 : (long)(s * 1000);
}

struct xlb_http_req *xlb_http_start(struct xlb_http *h, const struct xlb_http_opts *o)
{
	struct xlb_http_req *r;
	struct curl_slist *l;
	const char *method;
	unsigned int i;

	if (!h || !o || !o->url || !o->on_done) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->h = h;
	r->on_data = o->on_data;
	r->on_done = o->on_done;
	r->arg = o->arg;
	r->max_body = o->max_body ? o->max_body : BODY_MAX_DEFAULT;
	for (i = 0; o->headers && o->headers[i]; i++) {
		l = curl_slist_append(r->headers, o->headers[i]);
		if (!l)
			goto out_nomem;
		r->headers = l;
	}
	r->easy = curl_easy_init();
	if (!r->easy)
		goto out_nomem;
	if (curl_easy_setopt(r->easy, CURLOPT_URL, o->url) != CURLE_OK) {
		req_free(r);
		errno = EINVAL;
		return NULL;
	}
	xlb_curlev_easy_defaults(r->easy, r, r->errbuf);
	/*
	 * Watches and blocking queries sit idle for minutes: TCP keepalive
	 * finds a peer that vanished without closing (a partition) within
	 * about 10 s + tcp_keepalive_probes (9) x 5 s, not only at the next
	 * watch renewal.
	 */
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPINTVL, 5L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 ms(o->connect_timeout, CONNECT_TIMEOUT_DEFAULT));
	if (o->timeout > 0)
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, ms(o->timeout, 0));
	if (o->low_speed_time > 0) {
		/* Whole seconds in curl; round up so 0.5 s is not "off". */
		long t = (long)o->low_speed_time;

		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME,
				 t < o->low_speed_time ? t + 1 : t);
	}
	if (o->ca_file && o->ca_file[0])
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	method = o->method ? o->method : o->body ? "POST" : "GET";
	if (o->body) {
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(o->body_len ? o->body_len : strlen(o->body)));
		curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, o->body);
	}
	if (strcmp(method, "GET") && strcmp(method, "POST"))
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	else if (!strcmp(method, "GET") && o->body)
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, "GET");
	if (r->headers)
		curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);

	if (xlb_curlev_in_curl(h->cv)) {
		/* Inside a libcurl callback: add from the loop (see the top comment). */
		TAILQ_INSERT_TAIL(&h->pending, r, link);
		kick(h);
		return r;
	}
	if (curl_multi_add_handle(xlb_curlev_multi(h->cv), r->easy) != CURLM_OK) {
		req_free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->added = 1;
	TAILQ_INSERT_TAIL(&h->reqs, r, link);
	return r;

out_nomem:
	req_free(r);
	errno = ENOMEM;
	return NULL;
}

void xlb_http_cancel(struct xlb_http_req *r)
{
	struct xlb_http *h;

	if (!r || r->completing)
		return;
	h = r->h;
	if (xlb_curlev_in_curl(h->cv)) {
		r->cancelled = 1;
		kick(h);
		return;
	}
	req_drop(r);
}

const char *xlb_http_header(const struct xlb_http_req *r, const char *name)
{
	size_t i;

	/* The last one wins, as for repeated single-valued headers. */
	for (i = r->nhdrs; i-- > 0;)
		if (!strcasecmp(r->hdrs[i].name, name))
			return r->hdrs[i].value;
	return NULL;
}

long xlb_http_status(const struct xlb_http_req *r)
{
	long status = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}
