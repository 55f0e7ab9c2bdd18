/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * etcd as a configuration source, in APISIX's layout: under the prefix
 * (deployment.etcd.prefix, default /apisix), /upstreams/<id> and
 * /stream_routes/<id> hold one JSON object each. Read through etcd's v3
 * JSON gateway (etcd 3.4+): a range read of the prefix, then a watch from
 * revision + 1; when the watch reports a compaction, a fresh range read
 * resyncs. Other keys under the prefix are ignored. Several hosts fail
 * over in order.
 *
 * The source keeps a mirror of the keys and hands the agent the objects as
 * two JSON arrays (upstreams, stream_routes), each object with its "id" set
 * from the key, after every change that settled (the initial read, each
 * watch response that changed something). Whether they form a valid
 * configuration is the agent's call; this source never drops the mirror
 * because etcd is unreachable or answers garbage.
 *
 * The mirror and base64, which do no I/O, are declared in etcd_mirror.h
 * (included here). Not thread-safe; everything runs on the caller's
 * libevent loop. The callbacks run from the loop (never inside libcurl);
 * they may call xlb_etcd_put() and xlb_etcd_status() but not
 * xlb_etcd_free().
 */
#ifndef XLB_ETCD_H
#define XLB_ETCD_H

#include <stddef.h>
#include <jansson.h>
#include "config/config.h"
#include "config/etcd_mirror.h"

struct event_base;
struct xlb_etcd;

/*
 * The current objects (borrowed; valid during the call) at etcd revision
 * rev. Values that are not JSON objects, or keys whose id is not valid,
 * are left out and reported through the error (named by key); a key that
 * had a good value and then gets a bad one keeps the good one.
 */
typedef void (*xlb_etcd_update_fn)(json_t *upstreams, json_t *stream_routes, long long rev,
				   void *arg);

/* NULL with errno when conf has no host or something cannot be allocated. */
struct xlb_etcd *xlb_etcd_new(struct event_base *base, const struct xlb_etcd_conf *conf,
			      xlb_etcd_update_fn cb, void *arg);
/* Cancels every request; pending put callbacks are not called. */
void xlb_etcd_free(struct xlb_etcd *e);

struct xlb_etcd_status {
	int connected;		  /* the watch is open */
	int have_state;		  /* a first range read succeeded */
	long long revision;	  /* of the mirror (the last update) */
	unsigned long requests;	  /* requests sent (auth, range, watch, put) */
	unsigned long updates;	  /* update callbacks */
	unsigned long errors;	  /* failed requests, bad answers, bad values seen */
	unsigned long resyncs;	  /* range reads after a compaction */
	unsigned long reconnects; /* watches re-created after a failure */
	unsigned int bad_values;  /* keys left out now */
	/* keys of other kinds under the prefix, by xlb_etcd_other_kind_name() */
	unsigned int ignored[XLB_ETCD_OTHER_KINDS];
	char error[256];	/* current error, "" when none */
	char host[XLB_URL_LEN]; /* the host in use */
};
void xlb_etcd_status(const struct xlb_etcd *e, struct xlb_etcd_status *st);

/*
 * etcd's create and mod revisions of <prefix>/<kind>/<id>, as the mirror
 * last saw them: 0, or -ENOENT when it holds no such object.
 */
int xlb_etcd_revs(const struct xlb_etcd *e, const char *kind, const char *id, long long *created,
		  long long *modified);

/*
 * Write (obj) or delete (obj NULL) <prefix>/<kind>/<id> (kind "upstreams"
 * or "stream_routes"), asynchronously; obj is stored with "id" set to id.
 * done(err, why, arg) reports the outcome (0, or -errno with the reason in
 * why). The change comes back through the watch like any other. Returns 0,
 * or -EINVAL (bad kind or id; done is not called) / -ENOMEM.
 */
typedef void (*xlb_etcd_done_fn)(int err, const char *why, void *arg);
int xlb_etcd_put(struct xlb_etcd *e, const char *kind, const char *id, json_t *obj,
		 xlb_etcd_done_fn done, void *arg);

#endif /* XLB_ETCD_H */
