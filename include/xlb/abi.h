/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ABI shared by the XDP programs (bpf/) and userspace (user/): map keys,
 * map values and the enums that index counters. Defined once, here.
 *
 * Rules: only <linux/types.h> types, byte order in the type, explicit
 * padding, and a size assertion for every struct. Addresses are four
 * __be32 words; an IPv4 address lives in addr[0] and the rest are zero.
 */
#ifndef XLB_ABI_H
#define XLB_ABI_H

#include <linux/types.h>
#include "consts.h"

/*
 * Key of the VIP map (xlb_vips): (address, port, protocol). port 0 = every
 * port. The leading part of struct xlb_vip_key, field for field.
 */
struct xlb_vip_addr {
	__be32 addr[4];
	__be16 port;
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* XLB_AF_INET or XLB_AF_INET6 */
};
_Static_assert(sizeof(struct xlb_vip_addr) == 20, "xlb_vip_addr size");

/*
 * A VIP's whole identity: its address (struct xlb_vip_addr) and, for a VIP
 * for some clients only (a stream route's remote_addr), the client prefix
 * (client_family set, host bits of client zero). Several VIPs can thus
 * share one address, port and protocol and differ by their clients. A VIP
 * for every client (client_family 0) is in xlb_vips under its first 20
 * bytes; one for some clients is in xlb_filtered_vips under the whole key,
 * and the fast path reaches it from the address's entry in xlb_vips,
 * flagged XLB_VIP_F_CLIENTS, through the client's longest prefix in
 * xlb_vip_clients. VIPs without the flag thus cost no lookup more, and
 * their key is hashed as before.
 */
struct xlb_vip_key {
	__be32 addr[4];
	__be16 port;
	__u8 proto;
	__u8 family;
	__be32 client[4];   /* client prefix, when client_family is set */
	__u8 client_plen;   /* its length: 0 .. 32 (IPv4), 0 .. 128 (IPv6) */
	__u8 client_family; /* 0: every client; else family (the VIP's) */
	__u8 pad[2];
};
_Static_assert(sizeof(struct xlb_vip_key) == 40, "xlb_vip_key size");
_Static_assert(__builtin_offsetof(struct xlb_vip_key, client) == sizeof(struct xlb_vip_addr),
	       "xlb_vip_key begins with an xlb_vip_addr");

/* Value of the VIP map. */
struct xlb_vip {
	__u32 id;	  /* index of the VIP's counters and key record */
	__u32 flags;	  /* XLB_VIP_F_* */
	__u32 table_size; /* Maglev table size (prime) */
	__u32 table_off;  /* first slot of the table in xlb_chains */
};
_Static_assert(sizeof(struct xlb_vip) == 16, "xlb_vip size");

/*
 * Set on the entry of an address (client_family 0) that VIPs for some
 * clients share: the fast path looks the client up in xlb_vip_clients.
 * A client no prefix covers is balanced by the entry itself when it is a
 * VIP of its own (a route without a client filter), else passed to the
 * host untouched (XLB_R_PASS_CLIENT): an entry made only for the filtered
 * VIPs has id XLB_VIP_NO_ID and no table. Written by userspace's VIP
 * accessors alone (user/lib/dataplane/maps_vip.c), which hide it.
 */
#define XLB_VIP_F_CLIENTS (1U << 3)
#define XLB_VIP_NO_ID	  0xffffffffU

/*
 * Key of xlb_vip_clients (LPM trie): the address (struct xlb_vip_addr),
 * then the client prefix. prefixlen counts the 160 bits of
 * the VIP part plus the client prefix length; a packet is looked up with
 * XLB_CLIENT_KEY_BITS and its source address. The value is the key
 * (struct xlb_vip_key) of the VIP for those clients.
 */
struct xlb_client_key {
	__u32 prefixlen;
	__be32 addr[4]; /* the VIP part: as struct xlb_vip_addr */
	__be16 port;
	__u8 proto;
	__u8 family;
	__be32 client[4];
};
_Static_assert(sizeof(struct xlb_client_key) == 40, "xlb_client_key size");

#define XLB_CLIENT_KEY_VIP_BITS 160
#define XLB_CLIENT_KEY_BITS	(XLB_CLIENT_KEY_VIP_BITS + 128)

/*
 * One slot of a VIP's table, an element of xlb_chains: the chain of
 * backends that own the slot, three backend ids of XLB_SLOT_ID_BITS bits
 * each, the primary in the low bits, then the first and second secondary
 * (the owners before the slot's last changes: docs/SECOND_CHANCE.md). A
 * field of XLB_SLOT_NONE names no backend; bit 63 is reserved (0).
 */
struct xlb_slot {
	__u64 chain;
};
_Static_assert(sizeof(struct xlb_slot) == 8, "xlb_slot size");

#define XLB_SLOT_ID_BITS 21
#define XLB_SLOT_NONE	 0x1fffffU
#define XLB_SLOT_IDS	 3 /* primary and two secondaries */
_Static_assert(XLB_MAX_BACKENDS <= XLB_SLOT_NONE, "backend ids fit a slot field");

/* Field i of a chain (0: the primary): a backend id, or XLB_SLOT_NONE. */
static inline __u32 xlb_slot_id(__u64 chain, unsigned int i)
{
	return (chain >> (i * XLB_SLOT_ID_BITS)) & XLB_SLOT_NONE;
}

/* The chain of primary p and secondaries s1, s2 (each an id or XLB_SLOT_NONE). */
static inline __u64 xlb_slot_pack(__u32 p, __u32 s1, __u32 s2)
{
	return (__u64)(p & XLB_SLOT_NONE) | (__u64)(s1 & XLB_SLOT_NONE) << XLB_SLOT_ID_BITS |
	       (__u64)(s2 & XLB_SLOT_NONE) << (2 * XLB_SLOT_ID_BITS);
}

/* Backend states as the fast path sees them. */
enum xlb_backend_state {
	XLB_BE_UNUSED = 0, /* slot free */
	XLB_BE_ACTIVE,	   /* new and existing flows */
	XLB_BE_DRAINING,   /* existing flows only */
	XLB_BE_DOWN,	   /* no traffic; its flows are re-picked */
	XLB_BE_STATE_MAX,
};

/*
 * Who set a backend's state. The fast path ignores it; xlbd reads it: it
 * never overwrites a state the operator set (draining or down: a hold),
 * and a restarted xlbd takes a DOWN of its own as the node's health.
 */
enum xlb_backend_by {
	XLB_BY_AGENT = 0, /* xlbd from health, or xlb backend add / set --state active */
	XLB_BY_OPERATOR,  /* xlb backend set --state draining|down */
};

/*
 * Value of the backend array, indexed by backend id.
 *
 * gen is the generation of the id: every write that gives the id another
 * identity (a new allocation, another address, port or family) or frees
 * it adds one (wrapping; any value is valid), a free entry keeps it, and
 * state changes leave it. A flow remembers the generation of its backend
 * (struct xlb_flow): one of another generation belongs to an earlier user
 * of the id and is re-picked, so freeing an id never walks the flow table.
 * Userspace sets it in one place (xlb_backend_gen()).
 */
struct xlb_backend {
	__be32 addr[4];
	__be16 port; /* service port (0 = any); identity, not rewritten */
	__u8 family; /* XLB_AF_INET or XLB_AF_INET6 */
	__u8 state;  /* enum xlb_backend_state */
	__u8 by;     /* enum xlb_backend_by: who set state */
	__u8 pad;    /* weights are per VIP: see struct xlb_member */
	__u16 gen;   /* generation of the id (host order) */
};
_Static_assert(sizeof(struct xlb_backend) == 24, "xlb_backend size");

/*
 * Membership of a backend in a VIP, with its weight there. Read only by
 * userspace (it rebuilds the VIP's Maglev table from these); kept in a
 * pinned map so the CLI, the agent and bpftool share one truth.
 */
struct xlb_member_key {
	__u32 vip_id;
	__u32 backend_id;
};
_Static_assert(sizeof(struct xlb_member_key) == 8, "xlb_member_key size");

struct xlb_member {
	__u32 weight; /* 0 .. XLB_WEIGHT_MAX; 0 = in no table slot */
	__u32 pad;
};
_Static_assert(sizeof(struct xlb_member) == 8, "xlb_member size");

/* Key of the flow table: the packet's own 5-tuple (client -> VIP). */
struct xlb_flow_key {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct xlb_flow_key) == 40, "xlb_flow_key size");

/*
 * The least_conn word of a flow entry (bpf/lib/lconn.h): its last-seen
 * second and its flags, changed together by one 64-bit compare and swap
 * (the fast path's atomics on map values are 64-bit).
 */
union xlb_flow_lc {
	struct {
		__u32 seen_s; /* counted flows: coarse clock in seconds, last packet */
		__u32 flags;  /* XLB_FLOW_F_* */
	};
	__u64 word;
};

/*
 * Value of the flow table. Written on creation and re-pick only, but for
 * the least_conn word of a counted flow. The flow keeps its backend while
 * the backend's entry has the generation be_gen (struct xlb_backend) and
 * is ACTIVE or DRAINING; else it is re-picked.
 */
struct xlb_flow {
	__u32 backend_id;
	__u16 vip_id;	  /* < XLB_MAX_VIPS */
	__u16 be_gen;	  /* the backend's gen when the flow was given it */
	__u64 created_ns; /* bpf_ktime_get_coarse_ns() at creation */
	union xlb_flow_lc lc;
};
_Static_assert(sizeof(struct xlb_flow) == 24, "xlb_flow size");

/*
 * The flow cache (xlb_fc4, xlb_fc6; include/xlb/flowcache.h): where the
 * flows of every stateful VIP but least_conn ones live, one block of sets
 * per CPU, a set one cache line of IPv4 flows or three of IPv6 ones. A
 * flow's way holds its exact 5-tuple (a hash tag could send a connection
 * to another's backend) and a struct xlb_flow packed in two words: ref is
 * the backend id and the low bits of its generation, meta the VIP id and
 * the creation time in ticks of 2^XLB_FC_TICK_SHIFT ns (1.07 s), which wrap
 * after 2^(XLB_FC_TICK_SHIFT + XLB_FC_TICK_BITS) ns (78 hours): enough to tell
 * a flow younger than XLB_PASSIVE_YOUNG_NS, the one use of the time.
 */
#define XLB_FC_ID_BITS	  17 /* XLB_MAX_BACKENDS */
#define XLB_FC_GEN_BITS	  15
#define XLB_FC_VIP_BITS	  14 /* XLB_MAX_VIPS */
#define XLB_FC_TICK_BITS  18
#define XLB_FC_TICK_SHIFT 30
#define XLB_FC_PROBE_CPUS 16 /* other CPUs' sets a missed TCP packet looks in */
#define XLB_FC4_WAYS	  3
#define XLB_FC6_WAYS	  4
_Static_assert(XLB_MAX_BACKENDS <= 1U << XLB_FC_ID_BITS, "backend ids fit a flow cache way");
_Static_assert(XLB_MAX_VIPS <= 1U << XLB_FC_VIP_BITS, "VIP ids fit a flow cache way");

struct xlb_fc_way4 {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 ref;  /* backend id | generation << XLB_FC_ID_BITS */
	__u32 meta; /* VIP id | creation tick << XLB_FC_VIP_BITS */
};
_Static_assert(sizeof(struct xlb_fc_way4) == 20, "xlb_fc_way4 size");

/* A set of IPv4 flows: one cache line. */
struct xlb_fc_set4 {
	struct xlb_fc_way4 w[XLB_FC4_WAYS];
	__u8 proto[XLB_FC4_WAYS]; /* the way's protocol; 0: the way is free */
	__u8 used;		  /* bit i: way i was hit since the bits were cleared */
};
_Static_assert(sizeof(struct xlb_fc_set4) == 64, "xlb_fc_set4 size");

struct xlb_fc_way6 {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u32 ref;
	__u32 meta;
};
_Static_assert(sizeof(struct xlb_fc_way6) == 44, "xlb_fc_way6 size");

/* A set of IPv6 flows: three cache lines. */
struct xlb_fc_set6 {
	struct xlb_fc_way6 w[XLB_FC6_WAYS];
	__u8 proto[XLB_FC6_WAYS];
	__u8 used;
	__u8 pad[11];
};
_Static_assert(sizeof(struct xlb_fc_set6) == 192, "xlb_fc_set6 size");

/*
 * The flow is one of its backend's active flows (struct xlb_backend_conns):
 * set when a least_conn VIP's flow is created, cleared, with one
 * decrement, by the flow's first FIN or RST or its re-pick (a compare and
 * swap decides which CPU's), or deleted with it by the sweep.
 */
#define XLB_FLOW_F_COUNTED (1U << 0)
/*
 * Never in a map: userspace's readers (user/lib/dataplane/flows.c) mark
 * a flow read from the flow cache so, whose be_gen has the low
 * XLB_FC_GEN_BITS bits only.
 */
#define XLB_FLOW_F_CACHED  (1U << 1)

/*
 * Active flows of least_conn VIPs per backend id (array shared by the
 * CPUs, mmapable: the fast path adds with atomic adds, xlbd's sweep
 * corrects through the mapping). active is the number of flow entries
 * flagged XLB_FLOW_F_COUNTED for the id, but for flows the LRU evicted
 * or the sweep deleted since its last correction. Two CPUs ending one
 * flow at once may take it below 0 for a moment (bpf/lib/lconn.h):
 * readers take such a value as 0. opened only grows: the sweep tells by
 * it how many flows came during its walk.
 */
struct xlb_backend_conns {
	__s64 active;
	__u64 opened;
};
_Static_assert(sizeof(struct xlb_backend_conns) == 16, "xlb_backend_conns size");
_Static_assert(XLB_MAX_VIPS <= 65536, "VIP ids fit xlb_flow.vip_id");

/*
 * A slot of xlb_syns: a recent SYN of a stateless VIP, in the slot of its
 * 5-tuple's hash, told from others there by tag (another hash of it).
 */
struct xlb_syn {
	struct xlb_flow f; /* backend, VIP and time of the first SYN */
	__u32 tag;
	__u32 pad;
};
_Static_assert(sizeof(struct xlb_syn) == sizeof(struct xlb_flow) + 8, "xlb_syn size");

/* Run-time settings of the fast path (array map, one entry). */
struct xlb_config {
	__u32 forward;		/* XLB_FWD_* */
	__u32 hash_seed;	/* shared by every LB node */
	__be32 encap_src4;	/* outer IPv4 source: base ... */
	__be32 encap_src4_mask; /* ... with these bits taken from the flow hash */
	__be32 encap_src6[4];	/* outer IPv6 source: base ... */
	__be32 encap_src6_mask; /* ... low-word bits from the flow hash */
	__u32 flags;		/* XLB_CFG_F_* */
	/* NAT (XLB_FWD_NAT or VIPs with XLB_VIP_F_NAT): */
	__be32 nat_src4;    /* LB's address towards IPv4 nodes; 0 = none */
	__be32 nat_src6[4]; /* LB's address towards IPv6 nodes; :: = none */
	__u16 nat_port_min; /* source ports handed out (host order) */
	__u16 nat_port_max;
	__u32 nat_tmo_syn; /* idle timeouts in seconds, 0 = XLB_NAT_TMO_* */
	__u32 nat_tmo_established;
	__u32 nat_tmo_closing;
	__u32 nat_tmo_udp;
	__be16 gue_port; /* GUE's UDP destination port; 0 = XLB_GUE_PORT_DEFAULT */
	__u8 syn_bits;	 /* xlb_syns has 2^syn_bits slots; 0 = no SYN table */
	__u8 pad;
	__u32 fc_seed; /* with XLB_CFG_F_FC_SEED: the flow cache's set hash seed */
};
_Static_assert(sizeof(struct xlb_config) == 88, "xlb_config size");

/*
 * The addresses the fast path answers for, VIP addresses and NAT sources,
 * one bit each at xlb_addr_bit() (include/xlb/hash.h): a packet whose
 * destination's bit is clear is for no VIP and no NAT connection, and
 * leaves without the VIP lookups. A set bit only says "look": addresses
 * share bits, and the bit of a removed address stays set (it costs its
 * packets the lookups, nothing else). on 0, as in a map just created,
 * turns the test off; userspace sets it once the bits of every address
 * already in the maps are in (user/lib/dataplane/addrs.c). Array map, one
 * entry.
 */
struct xlb_addrs {
	__u64 on;
	__u64 bits[XLB_ADDR_BITS_N / 64];
};
_Static_assert(sizeof(struct xlb_addrs) == 8 + XLB_ADDR_BITS_N / 8, "xlb_addrs size");

/* Cached next hop of a backend (array shared by the CPUs, indexed by backend id). */
struct xlb_nexthop {
	__u64 updated_ns; /* 0 = empty */
	__u32 ifindex;	  /* egress device */
	__u32 mtu;	  /* egress MTU */
	__u8 smac[6];
	__u8 dmac[6];
	__u32 tick; /* the fast path's: jiffies (low bits) when last found fresh */
};
_Static_assert(sizeof(struct xlb_nexthop) == 32, "xlb_nexthop size");

/* Traffic counters per VIP and per backend (per-CPU arrays). */
struct xlb_traffic {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
};
_Static_assert(sizeof(struct xlb_traffic) == 24, "xlb_traffic size");

/* Why a packet got its verdict: one counter each (per-CPU array). */
enum xlb_reason {
	XLB_R_FWD_ENCAP = 0,   /* forwarded, encapsulated */
	XLB_R_FWD_L2,	       /* forwarded, MAC rewritten */
	XLB_R_FWD_ICMP,	       /* ICMP error forwarded to its flow's backend */
	XLB_R_PASS_NOT_IP,     /* not IPv4/IPv6 */
	XLB_R_PASS_NOT_VIP,    /* no VIP matches (ICMP error: not sent to the VIP it quotes) */
	XLB_R_PASS_FRAGMENT,   /* IP fragment */
	XLB_R_PASS_PROTO,      /* protocol without a VIP path (e.g. ICMP echo) */
	XLB_R_PASS_NO_NEIGH,   /* next hop unresolved: kernel resolves it */
	XLB_R_PASS_FIB,	       /* no route to the backend */
	XLB_R_PASS_MALFORMED,  /* truncated or inconsistent headers */
	XLB_R_DROP_NO_BACKEND, /* no usable backend for a new flow */
	XLB_R_DROP_NO_TABLE,   /* VIP without a Maglev table */
	XLB_R_DROP_FAMILY,     /* IPv6 VIP with an IPv4 backend */
	XLB_R_DROP_TOO_BIG,    /* too big after encap, DF clear */
	XLB_R_TX_TOO_BIG,      /* too big: ICMP frag-needed/PTB sent back */
	XLB_R_DROP_HEADROOM,   /* adjust_head/tail failed */
	XLB_R_FLOW_REPICK,     /* flow's backend unusable: picked again */
	XLB_R_REPROBE,	       /* table pick unusable: another slot used */
	XLB_R_EVENT,	       /* passive-health event sent to the agent */
	XLB_R_EVENT_DROPPED,   /* passive-health event lost: rate limit, ring full */
	XLB_R_FWD_NAT,	       /* client -> node, translated */
	XLB_R_TX_NAT_REPLY,    /* node -> client, translated back */
	XLB_R_PASS_NAT_NO_ENTRY, /* to the NAT address/ports (or a NAT VIP's RST) without a live entry */
	XLB_R_DROP_NAT_PORTS,	   /* no free source port towards the node */
	XLB_R_DROP_NAT_SRC,	   /* NAT VIP, no NAT source address of the node's family */
	XLB_R_NAT_RST_UNCONFIRMED, /* node RST on a NAT entry not opened by a SYN: no failure */
	XLB_R_PASS_CLIENT,	   /* VIP for some clients only, and not this one's */
	XLB_R_FWD_GUE,		   /* forwarded in GUE */
	XLB_R_GUE_HOPS,		   /* GUE packet carried at least one hop */
	XLB_R_HOP_DOWN,		   /* a slot's earlier owner left out of the hops: DOWN */
	XLB_R_MAX,
};
_Static_assert(XLB_R_MAX <= XLB_R_SLOTS, "a CPU's block of xlb_reasons holds every reason");

struct xlb_reason_count {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct xlb_reason_count) == 16, "xlb_reason_count size");

/*
 * Passive health: what the fast path can see of a backend's failures when
 * its replies bypass the LB (direct server return). Only the client's side
 * of a flow passes here, so the signals are the client's reactions:
 *
 * XLB_EVK_SYN_RETRANS: a SYN without ACK on an existing, young flow whose
 *   backend is usable: the client is retrying the handshake on the same
 *   5-tuple because no SYN-ACK came. The agent counts it as a timeout.
 *   "Young" (XLB_PASSIVE_YOUNG_NS, 30 s: Linux retries after 1, 3, 7, 15
 *   s) keeps out a new connection that reuses the 5-tuple of an old one.
 *
 * XLB_EVK_CLIENT_RST: a RST without ACK on a young flow. A client's
 *   kernel answers with a bare RST (sequence = the segment's ACK, no ACK
 *   bit) a segment for which it has no socket: typically a SYN-ACK that
 *   came after the client gave up connecting (a backend too slow to
 *   accept), or an answer from a backend that lost the connection's state.
 *   An application's own abort (close with SO_LINGER 0, unread data) is
 *   RST|ACK from an established socket: normal client behaviour, ignored.
 *   The agent counts a bare RST as a TCP failure.
 *
 * With NAT (bpf/lib/nat.h) both directions pass the LB, and the node's
 * own answers are seen too:
 *
 * XLB_EVK_NODE_RST: the node sent a RST on a connection in SYN_SENT
 *   (refused), SYN_RECV or ESTABLISHED state. The agent counts a TCP
 *   failure. A RST on an entry that began without a SYN and that the node
 *   never answered (UNCONFIRMED: a connection moved here by an ECMP
 *   rehash, or whose entry was evicted) is no failure: the node rightly
 *   knows no such connection. It is counted as XLB_R_NAT_RST_UNCONFIRMED.
 *
 * XLB_EVK_NODE_OK: the node's SYN-ACK to a connection's SYN: a success
 *   (passive recovery). At most one per backend, CPU and
 *   XLB_EVENT_WINDOW_NS, on a window of its own so that successes never
 *   use up the failures' burst. flow_age_ns carries the SYN -> SYN-ACK
 *   time.
 *
 * A client's SYN retransmitted on a NAT connection still in SYN_SENT is
 * XLB_EVK_SYN_RETRANS, as above (a timeout).
 *
 * Events are rate-limited per backend (XLB_EVENT_BURST per
 * XLB_EVENT_WINDOW_NS, one window shared by the CPUs without atomics, so
 * the limit is approximate: see bpf/lib/passive.h); the excess is counted
 * as XLB_R_EVENT_DROPPED.
 */
enum xlb_event_kind {
	XLB_EVK_NONE = 0,
	XLB_EVK_SYN_RETRANS,
	XLB_EVK_CLIENT_RST,
	XLB_EVK_NODE_RST, /* NAT: the node reset a live connection */
	XLB_EVK_NODE_OK,  /* NAT: the node answered a SYN (SYN-ACK) */
	XLB_EVK_MAX,
};

/* A record of the xlb_events ring buffer. */
struct xlb_event {
	__u64 ts_ns;	   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 flow_age_ns; /* since the flow's creation (coarse clock) */
	__u32 backend_id;
	__u32 vip_id;
	__be32 saddr[4]; /* the client */
	__be16 sport;
	__u8 kind;   /* enum xlb_event_kind */
	__u8 family; /* XLB_AF_INET or XLB_AF_INET6 */
	__u32 pad;
};
_Static_assert(sizeof(struct xlb_event) == 48, "xlb_event size");

/* Per backend (shared by the CPUs): the rate limit's window and its count. */
struct xlb_event_rate {
	__u64 window_ns; /* start of the current window */
	__u32 count;	 /* events sent in it */
	__u32 pad;
};
_Static_assert(sizeof(struct xlb_event_rate) == 16, "xlb_event_rate size");

/*
 * NAT connection table (bpf/lib/nat.h): one entry per direction.
 * Forward map: key struct xlb_flow_key (client -> VIP, as the client
 * sent it), value struct xlb_nat_fwd. Reverse map: key struct
 * xlb_nat_rkey (what a reply from the node carries), value struct
 * xlb_nat_rev. The NAT address is not in the reverse key: there is one per
 * family (struct xlb_config), and replies not addressed to it never
 * reach the lookup. Ports are thus allocated per (node, node port, proto).
 */
enum xlb_nat_state {
	XLB_NAT_S_NONE = 0,
	XLB_NAT_S_SYN_SENT,    /* client SYN forwarded, no SYN-ACK yet */
	XLB_NAT_S_ESTABLISHED, /* the client ACKed the SYN-ACK, or the node answered */
	XLB_NAT_S_CLOSING,     /* RST seen, either side */
	XLB_NAT_S_UDP,	       /* UDP: idle timeout only */
	XLB_NAT_S_SYN_RECV,    /* node's SYN-ACK seen, client's ACK not yet */
	XLB_NAT_S_FIN,	       /* FIN seen, either side (half-closed, TIME_WAIT) */
	XLB_NAT_S_UNCONFIRMED, /* began without a SYN, no answer from the node yet */
	XLB_NAT_S_MAX,
};

struct xlb_nat_fwd {
	__be32 node[4]; /* translated destination */
	__be16 node_port;
	__be16 nat_port; /* translated source port (address: config) */
	__u32 backend_id;
	__u32 vip_id;
	__u8 state; /* enum xlb_nat_state */
	__u8 pad[3];
	__u64 created_ns; /* bpf_ktime_get_ns() of the first packet */
	__u64 seen_ns;	  /* coarse clock, written once per XLB_NAT_TOUCH_NS */
};
_Static_assert(sizeof(struct xlb_nat_fwd) == 48, "xlb_nat_fwd size");

struct xlb_nat_rkey {
	__be32 node[4]; /* the reply's source */
	__be16 node_port;
	__be16 nat_port; /* the reply's destination port */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct xlb_nat_rkey) == 24, "xlb_nat_rkey size");

struct xlb_nat_rev {
	struct xlb_flow_key client; /* client -> VIP, as the client sent it */
	__u32 backend_id;
	__u8 state; /* enum xlb_nat_state */
	__u8 pad[3];
	__u64 created_ns;
	__u64 seen_ns;
	/*
	 * Where replies go: back to the frame the connection's first packet
	 * came in (its source MAC is the client or the router before it).
	 */
	__u32 ifindex;
	__u8 smac[6]; /* our MAC on that device */
	__u8 dmac[6]; /* the client's (or router's) MAC */
};
_Static_assert(sizeof(struct xlb_nat_rev) == 80, "xlb_nat_rev size");

/*
 * What NAT shows of a node (per-CPU array by backend id): the SYN ->
 * SYN-ACK time as an EWMA (weight 1/8) over the samples of this CPU;
 * userspace merges the CPUs weighted by their sample counts.
 */
struct xlb_nat_health {
	__u64 synack_ewma_ns;
	__u64 synacks;	    /* samples */
	__u64 node_rsts;    /* RSTs from the node on live connections */
	__u64 ok_window_ns; /* rate limit of XLB_EVK_NODE_OK events */
};
_Static_assert(sizeof(struct xlb_nat_health) == 32, "xlb_nat_health size");

/* Key of the decap program's local-VIP set. */
struct xlb_addr_key {
	__be32 addr[4];
	__u8 family; /* XLB_AF_INET or XLB_AF_INET6 */
	__u8 pad[3];
};
_Static_assert(sizeof(struct xlb_addr_key) == 20, "xlb_addr_key size");

/* Why the decap program gave its verdict (per-CPU array). */
/*
 * The GUE header (version 0, data message) with xlb's private word, after
 * the outer UDP header. hlen counts the 32-bit words after the first: the
 * private word and XLB_GUE_HOPS hops. The private word names the hops:
 * next is the index of the hop a hand-off goes to (0 from the LB), count
 * how many of the hop addresses that follow are meaningful.
 */
struct xlb_gue {
	__u8 hlen;    /* version (2 bits) 0, C 0, hlen (5 bits) */
	__u8 proto;   /* IPPROTO_IPIP or IPPROTO_IPV6: the inner packet */
	__be16 flags; /* 0 */
	__be16 priv;  /* XLB_GUE_PRIV_TYPE */
	__u8 next;    /* hop index */
	__u8 count;   /* hops that follow, 0 .. XLB_GUE_HOPS */
};
_Static_assert(sizeof(struct xlb_gue) == 8, "xlb_gue size");

enum xlb_decap_reason {
	XLB_D_DECAP = 0,       /* tunnel stripped, inner packet passed */
	XLB_D_PASS_NOT_TUNNEL, /* not IPIP / IP6IP6 / 4in6 */
	XLB_D_PASS_NOT_VIP,    /* inner destination not a local VIP */
	XLB_D_PASS_MALFORMED,  /* truncated headers */
	XLB_D_DROP_HEADROOM,   /* adjust_head failed */
	XLB_D_GUE,	       /* GUE stripped, inner packet passed */
	XLB_D_SC_SYN,	       /* hops left, a SYN: a new connection is the primary's */
	XLB_D_SC_KNOWN,	       /* hops left, a socket of this host holds the connection */
	XLB_D_SC_HANDOFF,      /* handed to the next hop (second chance) */
	XLB_D_SC_NO_ROUTE,     /* hand-off impossible (no route or neighbour): dropped */
	XLB_D_SC_TTL,	       /* hand-off with the outer TTL spent: dropped */
	XLB_D_MAX,
};
_Static_assert(XLB_D_MAX <= XLB_R_SLOTS, "a CPU's block of xlb_decap_stats holds every reason");

#endif /* XLB_ABI_H */
