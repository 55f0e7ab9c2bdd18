/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the files of the typed map layer (maps.c, maps_vip.c, maps_stats.c,
 * tables.c, natsweep.c, conns.c) share among themselves and nobody else: raw map
 * calls, the one hash-map walk, per-CPU sums, and the few steps of one
 * file that another needs. Included only by those files.
 */
#ifndef XLB_MAPS_INTERNAL_H
#define XLB_MAPS_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <bpf/libbpf.h>

#include "dataplane/maps.h"
#include "xlb_decap.skel.h"
#include "xlb_lb.skel.h"

static inline int map_fd(const struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static inline int ret_errno(int ret)
{
	return ret ? -errno : 0;
}

/* A walk of the NAT table's node side (natsweep.c). */
typedef int (*xlb_nat_rev_cb)(const struct xlb_nat_rkey *k, const struct xlb_nat_rev *r, void *arg);

/* Which map a walk goes through, and so which callback it calls. */
enum xlb_walk_kind {
	XLB_WALK_VIPS,	     /* xlb_vips: keys struct xlb_vip_addr, given as whole keys */
	XLB_WALK_FILTERED,   /* xlb_filtered_vips */
	XLB_WALK_MEMBERS,    /* xlb_members */
	XLB_WALK_FLOWS,	     /* xlb_flows */
	XLB_WALK_DECAP_VIPS, /* xlb_decap_vips: keys only */
	XLB_WALK_NAT_FWD,    /* xlb_nat_fwd */
	XLB_WALK_NAT_REV,    /* xlb_nat_rev */
	XLB_WALK_MAX,
};

union xlb_walk_cb {
	xlb_vip_cb vip;
	xlb_member_cb member;
	xlb_flow_cb flow;
	xlb_addr_cb addr;
	xlb_nat_cb nat_fwd;
	xlb_nat_rev_cb nat_rev;
};

/*
 * Call cb for every entry of map (of kind), until it returns non-zero;
 * entries deleted meanwhile are skipped. Returns that value, 0 at the
 * end, or a negative errno.
 */
int xlb_map_walk(const struct bpf_map *map, enum xlb_walk_kind kind, union xlb_walk_cb cb,
		 void *arg);

/* One entry of a batched read: its key and value (per-CPU maps: every CPU's copy). */
typedef int (*xlb_batch_cb)(const void *key, const void *value, void *arg);

/*
 * Every entry of map through cb, read 1024 at a time (BPF_MAP_LOOKUP_BATCH).
 * A per-CPU map's value is each possible CPU's copy in turn, each rounded
 * up to 8 bytes. Returns cb's first non-zero value, 0 at the end, or a
 * negative errno; -EOPNOTSUPP (nothing called) where the kernel cannot
 * read this map in batches.
 */
int xlb_map_read_batched(const struct bpf_map *map, xlb_batch_cb cb, void *arg);

/* A map's size: its pin's if it is pinned (the pin is reused), else dflt. */
__u32 xlb_pinned_max_entries(const struct bpf_map *map, __u32 dflt);

/* The kernel's account of a map's memory (fdinfo "memlock:"), 0 if unknown. */
__u64 xlb_map_memlock(int fd);

/* Sum n __u64 counters of a per-CPU value of size vsz at key. */
int xlb_percpu_sum(int fd, __u32 key, size_t vsz, __u64 *sum, size_t n);
/* The same for a map with any key (a hash): key points at it. */
int xlb_percpu_sum_at(int fd, const void *key, size_t vsz, __u64 *sum, size_t n);
/* Zero a per-CPU value on every CPU. */
int xlb_percpu_zero(int fd, __u32 key, size_t vsz);

/*
 * VIPs for some clients only (maps_clients.c). xlb_vip_key_check(): 0 when
 * the key's client part is well-formed (none, or a prefix of the VIP's
 * family with its host bits zero), else -EINVAL. xlb_vip_put() writes a
 * new VIP's entry (and, for a filtered one, its address's flag and its
 * LPM entry); xlb_vip_unput() takes it away again, leaving the address's
 * entry bare while filtered VIPs still share it. A bare entry (no id, no
 * table) is no VIP: the accessors hide it.
 */
int xlb_vip_key_check(const struct xlb_vip_key *k);
/* The map that holds the VIP of k: xlb_filtered_vips or xlb_vips. */
int xlb_vip_map_fd(struct xlb_maps *m, const struct xlb_vip_key *k);
int xlb_vip_is_bare(const struct xlb_vip *v);
int xlb_vip_put(struct xlb_maps *m, const struct xlb_vip_key *k, const struct xlb_vip *v);
int xlb_vip_unput(struct xlb_maps *m, const struct xlb_vip_key *k);

/* Members of one VIP, or of one backend, collected (maps_vip.c). */
struct xlb_member_list {
	__u32 vip_id; /* ~0: any VIP */
	__u32 be_id;  /* ~0: any backend */
	struct xlb_member_key *keys;
	struct xlb_member *vals;
	size_t n, cap;
};
/* An xlb_member_foreach() callback filling the xlb_member_list arg. */
int xlb_member_list_add(const struct xlb_member_key *k, const struct xlb_member *v, void *arg);
void xlb_member_list_free(struct xlb_member_list *c);

/* The whole backend array, allocated; NULL with errno on failure (maps_vip.c). */
struct xlb_backend *xlb_backends_read_new(struct xlb_maps *m);

/*
 * Table space (tables.c). xlb_tables_new() gives each of n new VIPs an
 * empty table of its size (vips[i].table_off out); xlb_tables_free() hands
 * a table's slots back once no packet can read them any more.
 */
int xlb_tables_new(struct xlb_maps *m, struct xlb_vip *vips, size_t n);
void xlb_tables_free(struct xlb_maps *m, const struct xlb_vip *vip);
/* Unmap the table space and close what tables.c opened (xlb_maps_close()). */
void xlb_tables_unmap(struct xlb_maps *m);

#endif /* XLB_MAPS_INTERNAL_H */
