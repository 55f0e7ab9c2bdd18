/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small asynchronous HTTP client on libcurl's multi interface driven by
 * a libevent loop, for the registries and etcd: one-shot requests with a
 * whole-body callback, and streams (etcd and Kubernetes watches, chunked
 * responses) delivered as they arrive. Never blocks.
 */
#ifndef XLB_HTTP_H
#define XLB_HTTP_H

#include <stddef.h>

struct event_base;
struct xlb_http;
struct xlb_http_req;

struct xlb_http_resp {
	long status;	  /* HTTP status; 0 when no response came */
	const char *body; /* NUL-terminated; "" for none */
	size_t len;
	const char *error; /* transport error text, or NULL */
};

/*
 * Whole response (or the end of a stream). After it returns, the request is
 * freed; body pointers die with it.
 */
typedef void (*xlb_http_done_fn)(struct xlb_http_req *r, const struct xlb_http_resp *resp,
				 void *arg);
/*
 * Streaming: called with each piece of the body as it arrives (any split);
 * return nonzero to abort the request (done is then called with error set).
 */
typedef int (*xlb_http_data_fn)(struct xlb_http_req *r, const char *data, size_t len, void *arg);

struct xlb_http_opts {
	const char *method; /* NULL: GET, or POST when body is set */
	const char *url;
	const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
	const char *body;	    /* request body, or NULL */
	size_t body_len;	    /* 0: strlen(body) */
	double connect_timeout;	    /* seconds; 0: 5 */
	double timeout;		    /* whole request, seconds; 0: none (streams) */
	double low_speed_time;	    /* streams: abort after this long without data; 0: off */
	size_t max_body;	    /* buffered body cap; 0: 16 MiB (error when exceeded) */
	const char *ca_file;	    /* HTTPS: CA bundle; NULL: the system's */
	int insecure;		    /* HTTPS: do not verify the peer */
	xlb_http_data_fn on_data;   /* NULL: buffer the body, deliver it in done */
	xlb_http_done_fn on_done;
	void *arg;
};

struct xlb_http *xlb_http_new(struct event_base *base);
/* Cancels every request still running (their done callbacks are not called). */
void xlb_http_free(struct xlb_http *h);

/* Start a request; NULL with errno on failure to start. */
struct xlb_http_req *xlb_http_start(struct xlb_http *h, const struct xlb_http_opts *o);
/* Cancel a request; its done callback is not called. */
void xlb_http_cancel(struct xlb_http_req *r);
/* The response's HTTP status so far (0 before the status line); valid in callbacks. */
long xlb_http_status(const struct xlb_http_req *r);
/* A response header's value (case-insensitive name), or NULL; valid in callbacks. */
const char *xlb_http_header(const struct xlb_http_req *r, const char *name);

#endif /* XLB_HTTP_H */
