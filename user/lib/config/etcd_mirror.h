/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pure half of etcd as a configuration source (etcd_mirror.c): the
 * mirror of APISIX's keys under a prefix, updated from range answers and
 * watch responses of etcd's v3 JSON gateway, and base64 as the gateway
 * encodes keys and values. No network and no loop: the client (etcd.h)
 * feeds it, and tests and fuzz targets call it directly.
 */
#ifndef XLB_ETCD_MIRROR_H
#define XLB_ETCD_MIRROR_H

#include <stddef.h>
#include <jansson.h>
#include "config/config.h"

#define XLB_ETCD_PREFIX_LEN 128 /* a mirror's prefix, with its NUL */

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
int xlb_etcd_mirror_load_range(struct xlb_etcd_mirror *m, const char *body, size_t len, char *why,
			       size_t wlen);

/* What one watch response said besides its events. */
struct xlb_etcd_watch_info {
	int created;		    /* the watch was just created */
	int canceled;		    /* the server cancelled the watch */
	long long compact_revision; /* > 0: history compacted, resync needed */
	long long revision;	    /* header revision (0 if absent) */
	unsigned int events;
	char reason[128]; /* cancel_reason */
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

/*
 * etcd's create and mod revisions of the good object kind/id: 0, or
 * -ENOENT when the mirror has none.
 */
int xlb_etcd_mirror_revs(const struct xlb_etcd_mirror *m, const char *kind, const char *id,
			 long long *created, long long *modified);

/*
 * The keys under the prefix that are not mirrored, counted by APISIX's kind
 * (the first path element after the prefix: "routes", "services", ...;
 * xlb_etcd_other_kind_name(i) names counts[i], the last, "other", takes
 * the rest). A mirrored kind's own directory key is not counted.
 */
#define XLB_ETCD_OTHER_KINDS 12
void xlb_etcd_mirror_others(const struct xlb_etcd_mirror *m,
			    unsigned int counts[XLB_ETCD_OTHER_KINDS]);
const char *xlb_etcd_other_kind_name(unsigned int i);
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

/*
 * etcd's own error answer, {"error": ..., "message": ..., "code": N}:
 * -EPROTO with "etcd error: MESSAGE (code N)" in why; 0 when root is not
 * one.
 */
int xlb_etcd_error_answer(json_t *root, char *why, size_t wlen);

/* snprintf where cutting a long text short is intended (error texts). */
void xlb_etcd_cut(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The prefix (without a trailing '/'), and the bad values met so far. */
const char *xlb_etcd_mirror_prefix(const struct xlb_etcd_mirror *m);
unsigned long xlb_etcd_mirror_bad_seen(const struct xlb_etcd_mirror *m);

/*
 * 1 when <prefix>/kind/id is a key the mirror takes: kind "upstreams" or
 * "stream_routes", id a valid id; else 0 (NULLs included).
 */
int xlb_etcd_kind_id_valid(const char *kind, const char *id);

#endif /* XLB_ETCD_MIRROR_H */
