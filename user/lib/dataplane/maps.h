/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Typed access to the pinned maps of the load balancer and of the decap
 * program, through their skeletons. Every function returns 0 or a negative
 * errno. Writers hold the pin directory's lock (xlb_maps_open(.., 1)).
 * The whole API: opening (maps.c), VIPs, backends, members, flows, next
 * hops (maps_vip.c), counters and settings (maps_stats.c), and, declared
 * in their own headers included here, Maglev tables (tables.h) and NAT
 * connections (natsweep.h).
 */
#ifndef XLB_MAPS_H
#define XLB_MAPS_H

#include <limits.h>
#include <xlb/abi.h>

#include "dataplane/natsweep.h"
#include "dataplane/tables.h"

struct xlb_lb;
struct xlb_decap;
struct bpf_map;

struct xlb_maps {
	struct xlb_lb *skel; /* opened, never loaded: fds come from pins */
	int lock_fd;	     /* flock on the pin directory, or -1 */
	char pin_dir[PATH_MAX];
	/* Table slots (chains) and their block record, mapped on first use (tables.c). */
	__u64 *chains;
	__u8 *blocks;
	__u32 nslots, nblocks, cursor;
	int grace_fd, grace_inner_fd; /* a map-in-map whose update waits a grace period */
	int grace_made;		      /* the two fds above are open */
};

struct xlb_decap_maps {
	struct xlb_decap *skel;
	int lock_fd;
	char pin_dir[PATH_MAX];
};

/* $XLB_PIN_DIR, else XLB_PIN_DIR_DEFAULT. */
const char *xlb_pin_dir_default(void);
/* Create dir on a bpffs, mounting one where there is none. */
int xlb_pin_dir_prepare(const char *dir);
/* flock(LOCK_EX) on dir; returns the fd to close, or -errno. */
int xlb_pin_dir_lock(const char *dir);

/* Open the pinned maps in pin_dir; -ENOENT when nothing is attached there. */
int xlb_maps_open(struct xlb_maps *m, const char *pin_dir, int lock);
void xlb_maps_close(struct xlb_maps *m);
int xlb_decap_maps_open(struct xlb_decap_maps *m, const char *pin_dir, int lock);
void xlb_decap_maps_close(struct xlb_decap_maps *m);

/* The maps' memory, as the kernel accounts it, by what an entry stands for. */
enum xlb_mem_item {
	XLB_MEM_VIP,	 /* one per VIP id: key, value, counters */
	XLB_MEM_TABLE,	 /* the table space (slots of every VIP's table) */
	XLB_MEM_BACKEND, /* one per backend id: address, next hop, counters */
	XLB_MEM_MEMBER,	 /* one per (VIP, backend) */
	XLB_MEM_FLOW,	 /* the flow cache and least_conn's flow table */
	XLB_MEM_NAT,	 /* NAT connections, both directions */
	XLB_MEM_OTHER,	 /* settings, reasons, the event ring */
	XLB_MEM_ITEMS,
};

#define XLB_MEM_MAPS_MAX 32

struct xlb_map_mem {
	char name[16];
	__u64 bytes;
	__u32 max_entries;
	enum xlb_mem_item item;
};

struct xlb_mem_report {
	struct xlb_map_mem maps[XLB_MEM_MAPS_MAX];
	size_t n;
	__u64 bytes[XLB_MEM_ITEMS]; /* summed by item */
	__u64 total;
	__u32 slots_used, slots_max; /* of the table space */
};
int xlb_maps_memory(struct xlb_maps *m, struct xlb_mem_report *r);

/* VIPs. */
typedef int (*xlb_vip_cb)(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg);
int xlb_vip_get(struct xlb_maps *m, const struct xlb_vip_key *k, struct xlb_vip *v);
int xlb_vip_create(struct xlb_maps *m, const struct xlb_vip_key *k, __u32 flags, __u32 table_size,
		   struct xlb_vip *out);
/*
 * Create n VIPs at once (keys[i], vips[i].flags and .table_size in; .id
 * and .table_off out), each with an empty table; all or none.
 */
int xlb_vips_create(struct xlb_maps *m, const struct xlb_vip_key *keys, struct xlb_vip *vips,
		    size_t n);
int xlb_vip_delete(struct xlb_maps *m, const struct xlb_vip_key *k);
/*
 * xlb_vip_delete() for a writer that knows the VIP's members (the n
 * backend ids): their entries go by key, no walk of the member map; the
 * backends stay, for the caller to free those no VIP holds any more.
 */
int xlb_vip_delete_known(struct xlb_maps *m, const struct xlb_vip_key *k, const __u32 *be_ids,
			 size_t n);
int xlb_vip_foreach(struct xlb_maps *m, xlb_vip_cb cb, void *arg);

/* Backends: one id per (address, port), shared by every VIP using it. */
int xlb_backend_get(struct xlb_maps *m, __u32 id, struct xlb_backend *b);
int xlb_backend_find(struct xlb_maps *m, const struct xlb_addr_key *a, __u16 port, __u32 *id);
int xlb_backend_ensure(struct xlb_maps *m, const struct xlb_addr_key *a, __u16 port, __u32 *id);
/* The agent's write: -EBUSY, and nothing written, while the operator holds it. */
int xlb_backend_set_state(struct xlb_maps *m, __u32 id, enum xlb_backend_state state);
/* The operator's write: draining and down are held; active ends the hold. */
int xlb_backend_hold(struct xlb_maps *m, __u32 id, enum xlb_backend_state state);
int xlb_backend_held(const struct xlb_backend *b);
/*
 * Backend ids the maps hold: xlb_backends' size, chosen at attach
 * (`--backends`, at most XLB_MAX_BACKENDS). Ids are 0 .. cap - 1; arrays
 * indexed by id in userspace keep XLB_MAX_BACKENDS entries, the rest UNUSED.
 */
__u32 xlb_backend_cap(const struct xlb_maps *m);
/* All XLB_MAX_BACKENDS entries in one batch read (UNUSED ones zero-state). */
int xlb_backends_read(struct xlb_maps *m, struct xlb_backend *all);
/*
 * Write a backend entry whole (its gen aside: xlb_backend_gen() against the
 * entry there now, read first). Freeing is writing an UNUSED entry.
 */
int xlb_backend_write(struct xlb_maps *m, __u32 id, const struct xlb_backend *b);
/*
 * xlb_backend_write() of n entries (ids distinct) in batched map updates;
 * the entries there now are read by one batched read of the array when n
 * is large. *done, when not NULL: how many were written, in order, also on
 * error.
 */
int xlb_backends_write_n(struct xlb_maps *m, const __u32 *ids, const struct xlb_backend *vals,
			 size_t n, size_t *done);
/*
 * keys and vals (ksz, vsz bytes each) of n entries into map fd, in batched
 * updates (BPF_MAP_UPDATE_BATCH); one by one where the kernel or the map
 * has no batched update. *done, when not NULL: how many were written.
 */
int xlb_map_update_n(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, size_t n,
		     size_t *done);
/*
 * The one rule for struct xlb_backend.gen: b, to be written over old, keeps
 * old's generation when both are in use with one identity (address, port,
 * family: a state change), else takes the next one (a new allocation,
 * another identity, a free). Every writer of xlb_backends applies it.
 */
void xlb_backend_gen(const struct xlb_backend *old, struct xlb_backend *b);
/* The frozen identity string Maglev orders by: "addr:port" / "[addr]:port". */
void xlb_backend_key(const struct xlb_backend *b, char *buf, size_t len);
/* For people: like xlb_backend_key() but the address alone when port is 0. */
void xlb_backend_label(const struct xlb_backend *b, char *buf, size_t len);
/* Set a VIP's flags; its table (size, offset) changes with xlb_table_write(). */
int xlb_vip_update(struct xlb_maps *m, const struct xlb_vip_key *k, const struct xlb_vip *v);
/*
 * Free the id when no VIP uses it any more. Its flows are not walked: the
 * id's next generation makes the fast path re-pick them (abi.h), so a
 * later user of the id inherits none. Its NAT connections are purged.
 */
int xlb_backend_release(struct xlb_maps *m, __u32 id);

/* Membership of backends in VIPs, with weights. */
typedef int (*xlb_member_cb)(const struct xlb_member_key *k, const struct xlb_member *v, void *arg);
int xlb_member_get(struct xlb_maps *m, __u32 vip_id, __u32 be_id, struct xlb_member *v);
int xlb_member_set(struct xlb_maps *m, __u32 vip_id, __u32 be_id, __u32 weight);
int xlb_member_del(struct xlb_maps *m, __u32 vip_id, __u32 be_id);
int xlb_member_foreach(struct xlb_maps *m, xlb_member_cb cb, void *arg);

/* Settings. */
int xlb_config_get(struct xlb_maps *m, struct xlb_config *c);
int xlb_config_set(struct xlb_maps *m, const struct xlb_config *c);

/*
 * The fast path's address filter (addrs.c): fill sets the bits of every
 * address in the map vips (xlb_vips) and of cfg's NAT sources (cfg may be
 * NULL) in the map addrs (xlb_addrs) and turns it on; add sets addr's bit, add_nat those
 * of cfg's NAT sources, before the address is written anywhere the fast
 * path looks (a filter still off is left alone). test returns 1 when the
 * fast path would look addr up (its bit set, or the filter off: *on 0),
 * 0 when not, or a negative errno. count says whether it is on and how
 * many bits are set (for xlb status).
 */
int xlb_addrs_fill(const struct bpf_map *vips, const struct bpf_map *addrs,
		   const struct xlb_config *cfg);
int xlb_addrs_add(struct xlb_maps *m, const __be32 addr[4]);
int xlb_addrs_add_nat(struct xlb_maps *m, const struct xlb_config *cfg);
int xlb_addrs_test(struct xlb_maps *m, const __be32 addr[4], int *on);
int xlb_addrs_count(struct xlb_maps *m, int *on, unsigned int *set);

/* Counters, summed over CPUs. */
int xlb_stats_reasons(struct xlb_maps *m, struct xlb_reason_count out[XLB_R_MAX]);
/* CPUs with reason counters: the possible ones, at most XLB_CPUS_MAX; or -errno. */
int xlb_reason_cpus(void);
int xlb_stats_vip(struct xlb_maps *m, __u32 id, struct xlb_traffic *out);
int xlb_stats_backend(struct xlb_maps *m, __u32 id, struct xlb_traffic *out);
/* Every backend id's traffic (all[XLB_MAX_BACKENDS]), in batched reads. */
int xlb_stats_backends(struct xlb_maps *m, struct xlb_traffic *all);
int xlb_decap_stats(struct xlb_decap_maps *m, struct xlb_reason_count out[XLB_D_MAX]);
/* Second-chance hand-offs xlb_decap sent to one peer (next hop), summed over CPUs. */
struct xlb_decap_peer {
	struct xlb_addr_key addr;
	__u64 packets, bytes;
};
/*
 * Every peer of xlb_decap_peers (an LRU: the most recent ones), sorted by
 * family then address, in *out (malloc'd; free() it) and *n.
 */
int xlb_decap_peers(struct xlb_decap_maps *m, struct xlb_decap_peer **out, size_t *n);

/*
 * Flows (flows.c): the flow cache's (xlb_fc4, xlb_fc6; include/xlb/
 * flowcache.h) and least_conn VIPs' flow table's (xlb_flows), seen as
 * one. A cache way reads as a struct xlb_flow: lc.flags XLB_FLOW_F_CACHED,
 * be_gen the bits the way keeps, created_ns to a tick (2^XLB_FC_TICK_SHIFT
 * ns).
 */
typedef int (*xlb_flow_cb)(const struct xlb_flow_key *k, const struct xlb_flow *v, void *arg);
/* Every flow until cb returns non-zero (that value is returned). */
int xlb_flow_foreach(struct xlb_maps *m, xlb_flow_cb cb, void *arg);
/* The flow of k: the table's, else the youngest cache way of any CPU; -ENOENT if none. */
int xlb_flow_lookup(struct xlb_maps *m, const struct xlb_flow_key *k, struct xlb_flow *f);
/*
 * Rewrite k's existing flow (every CPU's way of it): backend_id, be_gen,
 * vip_id and created_ns, and lc in the table; -ENOENT if none.
 */
int xlb_flow_update(struct xlb_maps *m, const struct xlb_flow_key *k, const struct xlb_flow *f);
/* Flows held at most: the cache's ways of every CPU, both families, and the table's; 0 on error. */
__u32 xlb_flow_capacity(struct xlb_maps *m);
/*
 * Size the flow cache of an opened, not loaded xlb_lb for flows IPv4 and
 * flows6 IPv6 flows on ncpu CPUs (rounded up to a power of two of sets per
 * CPU); a map already pinned keeps its size.
 */
struct xlb_lb;
int xlb_flow_cache_size(struct xlb_lb *lb, __u64 flows, __u64 flows6, int ncpu);

/* Decap VIP set. */
int xlb_decap_vip_add(struct xlb_decap_maps *m, const struct xlb_addr_key *a);
int xlb_decap_vip_del(struct xlb_decap_maps *m, const struct xlb_addr_key *a);
typedef int (*xlb_addr_cb)(const struct xlb_addr_key *a, void *arg);
int xlb_decap_vip_foreach(struct xlb_decap_maps *m, xlb_addr_cb cb, void *arg);

/*
 * Set a backend's next hop (one entry, shared by the CPUs). An entry stamped in the future
 * (updated_ns > now) is static: the fast path never refreshes it from the
 * FIB. updated_ns 0 clears it, forcing a FIB lookup on the next packet.
 */
int xlb_nexthop_set(struct xlb_maps *m, __u32 id, const struct xlb_nexthop *nh);

/* Monotonic coarse clock, the one bpf_ktime_get_coarse_ns() reads. */
__u64 xlb_now_coarse_ns(void);
/* Monotonic clock, the one bpf_ktime_get_ns() reads. */
__u64 xlb_now_ns(void);

#endif /* XLB_MAPS_H */
