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
 * Not thread-safe; everything runs on the caller's libevent loop. The
 * callbacks run from the loop (never inside libcurl); they may call
 * xlb_etcd_put() and xlb_etcd_status() but not xlb_etcd_free().
 */
#ifndef XLB_ETCD_H
#define XLB_ETCD_H

#include <stddef.h>
#include <jansson.h>
#include "config/config.h"

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
	int connected;			/* the watch is open */
	int have_state;			/* a first range read succeeded */
	long long revision;		/* of the mirror (the last update) */
	unsigned long requests;		/* requests sent (auth, range, watch, put) */
	unsigned long updates;		/* update callbacks */
	unsigned long errors;		/* failed requests, bad answers, bad values seen */
	unsigned long resyncs;		/* range reads after a compaction */
	unsigned long reconnects;	/* watches re-created after a failure */
	unsigned int bad_values;	/* keys left out now */
	char error[256];		/* current error, "" when none */
	char host[XLB_URL_LEN];		/* the host in use */
};
void xlb_etcd_status(const struct xlb_etcd *e, struct xlb_etcd_status *st);

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

/* --- pure parts (tests and fuzz targets call them without a loop) ---------- */

/*
 * The mirror: good objects and bad keys under a prefix, and the revision
 * they reflect.
 */
struct xlb_etcd_mirror;

struct xlb_etcd_mirror *xlb_etcd_mirror_new(const char *prefix);
void xlb_etcd_mirror_free(struct xlb_etcd_mirror *m);
long long xlb_etcd_mirror_rev(const struct xlb_etcd_mirror *m);

/*
 * A /v3/kv/range answer replaces the mirror (a bad value of a key that was
 * good keeps the good one). 1 when the objects changed, 0 when not, or
 * -EBADMSG / -EPROTO (etcd's own error) with the reason in why; on error
 * the mirror is untouched.
 */
int xlb_etcd_mirror_load_range(struct xlb_etcd_mirror *m, const char *body, size_t len,
			       char *why, size_t wlen);

/* What one watch response said besides its events. */
struct xlb_etcd_watch_info {
	int created;			/* the watch was just created */
	int canceled;			/* the server cancelled the watch */
	long long compact_revision;	/* > 0: history compacted, resync needed */
	long long revision;		/* header revision (0 if absent) */
	unsigned int events;
	char reason[128];		/* cancel_reason */
};

/*
 * Apply one watch response (one JSON object, as the gateway streams them).
 * Events older than the mirror's revision are skipped; all or none of a
 * response's events are applied. Returns as load_range; on a compaction
 * or a cancel nothing is applied and info says so.
 */
int xlb_etcd_mirror_apply_watch(struct xlb_etcd_mirror *m, const char *msg, size_t len,
				struct xlb_etcd_watch_info *info, char *why, size_t wlen);

/* New references: the good objects, sorted by key. 0 or -ENOMEM. */
int xlb_etcd_mirror_arrays(const struct xlb_etcd_mirror *m, json_t **upstreams,
			   json_t **stream_routes);

/* "key: reason; key: reason..." for the keys left out (count returned). */
unsigned int xlb_etcd_mirror_bad(const struct xlb_etcd_mirror *m, char *buf, size_t len);

/*
 * Base64 (RFC 4648, with padding), as the gateway encodes keys and values.
 * decode: out must hold len / 4 * 3 bytes; the decoded length, or -EINVAL
 * for anything that is not canonical base64. encode: malloc'ed,
 * NUL-terminated, or NULL.
 */
long xlb_etcd_b64_decode(const char *in, size_t len, unsigned char *out);
char *xlb_etcd_b64_encode(const void *in, size_t len);

#endif /* XLB_ETCD_H */
