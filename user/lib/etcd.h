/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * etcd as a configuration source, in APISIX's layout: under the prefix
 * (deployment.etcd.prefix, default /apisix), /upstreams/<id> and
 * /stream_routes/<id> hold one JSON object each. Read through etcd's v3
 * JSON gateway (etcd 3.4+): a range read of the prefix, then a watch from
 * revision + 1; when the watch reports a compaction (or the connection
 * drops for longer than the history holds), a fresh range read resyncs.
 * Other keys under the prefix are ignored. Several hosts fail over in
 * order.
 *
 * The source keeps a mirror of the keys and hands the agent the objects as
 * two JSON arrays (upstreams, stream_routes), each object with its "id" set
 * from the key, after every change that settled (the initial read, each
 * watch response). Whether they form a valid configuration is the agent's
 * call; this source never drops the mirror because etcd is unreachable.
 */
#ifndef XLB_ETCD_H
#define XLB_ETCD_H

#include <jansson.h>
#include "config.h"

struct event_base;
struct xlb_etcd;

/*
 * The current objects (borrowed; valid during the call) at etcd revision
 * rev. Values that are not JSON objects are left out and reported through
 * the error path (named by key).
 */
typedef void (*xlb_etcd_update_fn)(json_t *upstreams, json_t *stream_routes, long long rev,
				   void *arg);

struct xlb_etcd *xlb_etcd_new(struct event_base *base, const struct xlb_etcd_conf *conf,
			      xlb_etcd_update_fn cb, void *arg);
void xlb_etcd_free(struct xlb_etcd *e);

struct xlb_etcd_status {
	int connected;			/* the watch is open */
	long long revision;		/* of the last update */
	unsigned long updates, errors, resyncs, reconnects;
	char error[256];		/* current error, "" when none */
	char host[XLB_URL_LEN];		/* the host in use */
};
void xlb_etcd_status(const struct xlb_etcd *e, struct xlb_etcd_status *st);

/*
 * Write (obj) or delete (obj NULL) /<prefix>/<kind>/<id> (kind "upstreams"
 * or "stream_routes"), asynchronously; done(err, arg) reports the outcome
 * (0 or -errno with a logged reason). The change comes back through the
 * watch like any other.
 */
typedef void (*xlb_etcd_done_fn)(int err, const char *why, void *arg);
int xlb_etcd_put(struct xlb_etcd *e, const char *kind, const char *id, json_t *obj,
		 xlb_etcd_done_fn done, void *arg);

#endif /* XLB_ETCD_H */
