/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Admin API proper (/apisix/admin/upstreams, /apisix/admin/stream_routes),
 * apart from HTTP and from the agent: a request (method, path below the
 * prefix, body) over a document store gives a status and a JSON answer.
 * admin.c serves it over evhttp with the agent as the store; the fuzz
 * target fuzz/fuzz_admin.c drives it with a store of its own.
 */
#ifndef XLB_AGENT_ADMINAPI_H
#define XLB_AGENT_ADMINAPI_H

#include <stddef.h>
#include <jansson.h>

#include "config/config.h"

/*
 * The Admin API's own numbering of objects (createdIndex, modifiedIndex)
 * for a store that keeps no revisions: one counter, raised by every write
 * through the API; an object first seen otherwise (the file) gets the next
 * number when first listed. Zeroed to start; xlb_admin_counter_free().
 */
struct xlb_admin_counter {
	json_t *revs; /* "kind/id" -> [created, modified] */
	long long last;
};

void xlb_admin_counter_free(struct xlb_admin_counter *c);

/* Where the objects live and how an edit is validated and applied. */
struct xlb_admin_store {
	/* The running document: {"upstreams": [...], "stream_routes": [...]}, borrowed. */
	json_t *(*doc)(void *arg);
	/*
	 * Put obj (NULL: delete) as kind/id: 0 once applied; -ENOENT (delete
	 * of nothing), -EINVAL with errs (the whole result does not
	 * validate: nothing changed), another negative errno.
	 */
	int (*put)(void *arg, const char *kind, const char *id, json_t *obj,
		   struct xlb_conf_errors *errs);
	/*
	 * The store's own revisions of kind/id (etcd's create and mod
	 * revisions of its key): 0, or -ENOENT when it has none (the counter
	 * numbers the object then). NULL: none ever.
	 */
	int (*revs)(void *arg, const char *kind, const char *id, long long *created,
		    long long *modified);
	void *arg;
	struct xlb_admin_counter *counter; /* NULL: no createdIndex/modifiedIndex */
};

/**
 * xlb_admin_api() - answer one Admin API request
 * @method: "GET", "PUT", "DELETE", ...
 * @path: below /apisix/admin/: "upstreams", "stream_routes/7",
 *	"upstreams/1/nodes" (PATCH), with the query if any ("upstreams?page=1")
 * @body: the request body (need not be NUL-terminated), @len bytes
 * @out: the JSON answer (an object; the caller owns it), never NULL on return
 *
 * Return: the HTTP status.
 */
int xlb_admin_api(const struct xlb_admin_store *st, const char *method, const char *path,
		  const char *body, size_t len, json_t **out);

/**
 * xlb_admin_authorized() - whether a request may be served
 * @loopback: the listener is on a loopback address
 * @method: "GET", "PUT", ...
 * @path: the whole URL path ("/apisix/admin/upstreams/1", "/metrics")
 * @key: the request's X-API-KEY header, or NULL
 * @api_key: the agent's key
 *
 * Every request needs the key, compared in constant time, except GET
 * /metrics and GET /v1/healthcheck on a loopback listener (APISIX keeps
 * its Prometheus export and control API on loopback without a key).
 * Return: 1 to serve it, 0 for a 401.
 */
int xlb_admin_authorized(int loopback, const char *method, const char *path, const char *key,
			 const char *api_key);

/* Index of the object with @id in the array @arr (string or integer id), or -1. */
int xlb_admin_doc_find(json_t *arr, const char *id);

/**
 * xlb_admin_doc_edit() - a copy of @doc with @obj (NULL: none) as kind/id
 * @err: 0, -ENOENT (delete of nothing), -ENOMEM
 *
 * The URL's id wins over the body's, as in APISIX. Return: the copy, or
 * NULL with @err.
 */
json_t *xlb_admin_doc_edit(json_t *doc, const char *kind, const char *id, json_t *obj, int *err);

#endif /* XLB_AGENT_ADMINAPI_H */
