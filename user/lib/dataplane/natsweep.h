/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The NAT connection table from userspace (natsweep.c): walk, purge,
 * sweep, per-node figures, memory. Part of the typed map layer; included
 * by dataplane/maps.h.
 */
#ifndef XLB_NATSWEEP_H
#define XLB_NATSWEEP_H

#include <xlb/abi.h>

struct xlb_maps;

/* NAT connections (bpf/lib/nat.h): walk the client side, read the node side. */
typedef int (*xlb_nat_cb)(const struct xlb_flow_key *k, const struct xlb_nat_fwd *f, void *arg);
int xlb_nat_foreach(struct xlb_maps *m, xlb_nat_cb cb, void *arg);
/* The reverse entry of forward entry f (proto/family: its key's). */
int xlb_nat_rev_get(struct xlb_maps *m, const struct xlb_nat_fwd *f, __u8 proto, __u8 family,
		    struct xlb_nat_rev *r);
/* Delete both entries of every NAT connection to backend id. */
int xlb_nat_purge_backend(struct xlb_maps *m, __u32 id);

/* What one sweep of the NAT table found (and deleted). */
struct xlb_nat_sweep {
	__u64 live;	    /* entries kept */
	__u64 dead;	    /* dead entries deleted (both directions) */
	__u64 syn_timeouts; /* of them: still waiting for a SYN-ACK */
};
/* Called for every connection that died waiting for its node's SYN-ACK. */
typedef void (*xlb_nat_timeout_cb)(const struct xlb_nat_rev *r, void *arg);
/**
 * xlb_nat_sweep() - delete the dead NAT entries (idle past their state's
 * timeout at @now_ns, coarse clock) of both directions; @cb (may be NULL)
 * hears of each one that died in SYN_SENT
 * Return: 0 or a negative errno; @out filled.
 */
int xlb_nat_sweep(struct xlb_maps *m, __u64 now_ns, xlb_nat_timeout_cb cb, void *arg,
		  struct xlb_nat_sweep *out);

/* What NAT shows of a node, its CPUs merged. */
struct xlb_nat_node {
	double synack_ewma_s; /* SYN -> SYN-ACK, EWMA; 0 = no sample */
	__u64 synacks;
	__u64 node_rsts;
};
int xlb_nat_node_read(struct xlb_maps *m, __u32 id, struct xlb_nat_node *out);

/* Memory of the NAT table, as the kernel accounts it. */
struct xlb_nat_mem {
	__u32 capacity;	   /* connections (entries per map) */
	__u64 bytes;	   /* both maps */
	__u32 entry_bytes; /* keys and values of one connection, both maps */
};
int xlb_nat_memory(struct xlb_maps *m, struct xlb_nat_mem *out);

#endif /* XLB_NATSWEEP_H */
