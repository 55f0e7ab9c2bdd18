/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every map of the load-balancer program, one comment line each. Sizes come
 * from include/xlb/consts.h. Maps shared with userspace are pinned by name
 * under the pin directory (default /sys/fs/bpf/xlb). Included by
 * xlb_lb.bpf.c only; userspace reaches these through the skeleton.
 */
#ifndef XLB_BPF_MAPS_H
#define XLB_BPF_MAPS_H

#include "common.h"

/*
 * One bit per address of a VIP or a NAT source (struct xlb_addrs): most
 * packets for none of them leave after this one lookup.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_addrs);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_addrs SEC(".maps");

/* (VIP address, port, proto) -> VIP id, flags, table size. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xlb_vip_addr);
	__type(value, struct xlb_vip);
	__uint(max_entries, XLB_MAX_VIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vips SEC(".maps");

/*
 * (VIP address, client prefix) -> key of the VIP for those clients in
 * xlb_filtered_vips. Read only for an entry of xlb_vips flagged
 * XLB_VIP_F_CLIENTS.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct xlb_client_key);
	__type(value, struct xlb_vip_key);
	__uint(max_entries, XLB_MAX_VIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vip_clients SEC(".maps");

/* VIPs for some clients only: whole key -> VIP id, flags, table size. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xlb_vip_key);
	__type(value, struct xlb_vip);
	__uint(max_entries, XLB_MAX_VIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_filtered_vips SEC(".maps");

/*
 * Every VIP's Maglev table, in one array of slots: a VIP's table is slots
 * [table_off, table_off + table_size) of it (struct xlb_vip), each slot a
 * chain of backends (struct xlb_slot). Userspace writes a new table into
 * free slots through mmap, then makes it live by replacing the VIP's
 * xlb_vips entry (offset and size in one value); the old slots are reused
 * only after a kernel grace period. Sized at attach.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_slot);
	__uint(max_entries, XLB_SLOTS_DEFAULT);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_chains SEC(".maps");

/*
 * Userspace's record of xlb_chains, unused per packet: one byte per block of
 * XLB_SLOT_BLOCK slots (free, used, freed before the last grace period),
 * eight to a value. Sized with xlb_chains.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, XLB_SLOTS_DEFAULT / XLB_SLOT_BLOCK / 8);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_slot_blocks SEC(".maps");

/* VIP id -> its key; userspace's record (a VIP found by id), unused per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_vip_key);
	__uint(max_entries, XLB_MAX_VIPS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vip_keys SEC(".maps");

/* Backend id -> address, state; one write flips a backend's state. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_backend);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_backends SEC(".maps");

/*
 * (VIP id, backend id) -> weight; userspace's record, read per packet only
 * for a least_conn VIP's new flow (two lookups).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xlb_member_key);
	__type(value, struct xlb_member);
	__uint(max_entries, XLB_MAX_MEMBERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_members SEC(".maps");

/*
 * The flow cache: 5-tuple -> backend of every stateful VIP's flows but
 * least_conn ones, which keep their entries in xlb_flows. Per CPU blocks
 * of sets (include/xlb/flowcache.h), 2^xlb_fc4_bits / 2^xlb_fc6_bits sets
 * a CPU, set at load. A set is cache-line aligned (the values of an
 * mmapable array start on a page), so a lookup and an insert read and
 * write the one set: a new flow costs what an established one does, and
 * the table's size does not change it. Mmapable: userspace reads it
 * whole without a call per set.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_fc_set4);
	__uint(max_entries, XLB_CPUS_MAX);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_fc4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_fc_set6);
	__uint(max_entries, XLB_CPUS_MAX);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_fc6 SEC(".maps");

/*
 * log2 of the flow cache's sets per CPU, and the CPUs that have a block
 * (the possible ones), set at load with the maps' sizes.
 */
const volatile __u32 xlb_fc4_bits = 0;
const volatile __u32 xlb_fc6_bits = 0;
const volatile __u32 xlb_fc_ncpu = 1;

/*
 * 5-tuple -> backend of least_conn VIPs' flows, whose entries carry the
 * count word (union xlb_flow_lc) the fast path changes by compare and
 * swap and xlbd's sweep reads.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_flow);
	__uint(max_entries, XLB_LC_FLOWS_DEFAULT);
	__uint(map_flags, BPF_F_NO_COMMON_LRU); /* per-CPU LRU lists */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_flows SEC(".maps");

/*
 * Backend id -> active flows of least_conn VIPs, shared by the CPUs
 * (atomic adds; bpf/lib/lconn.h). Mmapable: xlbd's sweep corrects it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_backend_conns);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_backend_conns SEC(".maps");

/*
 * Recent SYNs of stateless VIPs, which keep no flow entry: what passive
 * health needs to tell a client's SYN retry or bare RST on a young
 * connection. A direct-mapped cache, 2^xlb_config.syn_bits slots indexed by
 * the 5-tuple's hash: an insert is one array write, where a hash map's
 * would cost what the flow table's does; a SYN that lands on a busy slot
 * takes it (passive health is best effort). Sized at attach.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_syn);
	__uint(max_entries, 1U << XLB_SYN_BITS_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_syns SEC(".maps");

/* Run-time settings: forwarding method, hash seed, outer source. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_config SEC(".maps");

/*
 * Backend id -> cached next hop (FIB result), one entry shared by the CPUs
 * (a per-CPU copy would cost XLB_MAX_BACKENDS entries per CPU): written on
 * a miss or after the TTL, read on every packet. See nexthop.h for what
 * concurrent refreshes can do.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_nexthop);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_nexthops SEC(".maps");

/* VIP id -> packets, bytes, new flows. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_traffic);
	__uint(max_entries, XLB_MAX_VIPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_vip_stats SEC(".maps");

/* Backend id -> packets, bytes, new flows. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_traffic);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_backend_stats SEC(".maps");

/*
 * (CPU, enum xlb_reason) -> packets, bytes: CPU c's counter of reason r is
 * entry XLB_R_KEY(c, r) = c * XLB_R_SLOTS + r. A plain array of per-CPU
 * blocks rather than a per-CPU array: reaching a counter is then one load
 * from the map's base, where a per-CPU array's is two (its table of
 * pointers, then the CPU's copy), which cost a packet for no VIP about a
 * third of its time. A CPU writes only its own block (1 KiB), so CPUs
 * share no cache line.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_reason_count);
	__uint(max_entries, XLB_R_ENTRIES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_reasons SEC(".maps");

/* Passive-health events for the agent (struct xlb_event records). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XLB_EVENTS_RING_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_events SEC(".maps");

/*
 * Backend id -> event rate-limit window, shared by the CPUs without
 * atomics: an approximate limit (passive.h).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_event_rate);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_event_rate SEC(".maps");

/*
 * NAT connections, client side: client -> VIP 5-tuple -> node, NAT port,
 * state. A common LRU (not per CPU): both directions of a connection may
 * run on different CPUs, and a per-CPU list would evict one side early.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_nat_fwd);
	__uint(max_entries, XLB_NAT_MAX_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_nat_fwd SEC(".maps");

/* NAT connections, node side: (node, node port, NAT port, proto) -> client. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xlb_nat_rkey);
	__type(value, struct xlb_nat_rev);
	__uint(max_entries, XLB_NAT_MAX_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_nat_rev SEC(".maps");

/* Backend id -> SYN-ACK latency EWMA, node RSTs, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_nat_health);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_nat_health SEC(".maps");

#endif /* XLB_BPF_MAPS_H */
