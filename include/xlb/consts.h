/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Constants shared by the XDP programs and userspace: table sizes, states,
 * flags. Only plain integers here; no types beyond <linux/types.h>.
 */
#ifndef XLB_CONSTS_H
#define XLB_CONSTS_H

#define XLB_MAX_VIPS	      16384  /* VIP ids are 0 .. XLB_MAX_VIPS - 1 */
#define XLB_MAX_BACKENDS      131072 /* backend ids are 0 .. XLB_MAX_BACKENDS - 1 */
#define XLB_MAX_MEMBERS	      262144 /* (VIP, backend) pairs */
#define XLB_ADDR_BITS	      15     /* the address filter has 2^15 bits (struct xlb_addrs) */
#define XLB_ADDR_BITS_N	      (1U << XLB_ADDR_BITS)
#define XLB_CPUS_MAX	      1024 /* CPUs 0 .. XLB_CPUS_MAX - 1 have reason counters */
#define XLB_R_SLOTS	      64   /* reason counters per CPU in xlb_reasons, xlb_decap_stats */
#define XLB_R_ENTRIES	      (XLB_CPUS_MAX * XLB_R_SLOTS) /* xlb_reasons, xlb_decap_stats: 1 MiB */
#define XLB_R_KEY(cpu, r)     ((cpu)*XLB_R_SLOTS + (r))	   /* CPU cpu's counter of reason r */
#define XLB_FLOW_MAX_DEFAULT  (1 << 20) /* flow-cache flows a family; set at attach */
#define XLB_LC_FLOWS_DEFAULT  (1 << 18) /* least_conn flows (xlb_flows); set at attach */
#define XLB_SYN_BITS_DEFAULT  18	/* SYN-table slots of stateless VIPs: 2^18; set at attach */
#define XLB_SYN_SLOTS_DEFAULT 262144
#define XLB_MAGLEV_DEFAULT    65537	    /* largest table size chosen by itself (prime) */
#define XLB_MAGLEV_MAX	      1048573	    /* largest accepted table size (prime) */
#define XLB_MAGLEV_PER_NODE   100	    /* slots per node at least, when the size is chosen */
#define XLB_SLOTS_DEFAULT     (12U << 20)   /* slots of all VIPs' tables together; set at attach */
#define XLB_SLOT_BLOCK	      64	    /* tables start on a block: slots per block */
#define XLB_NO_BACKEND	      0xffffffffU   /* no backend: a slot as maglev.c computes it */
#define XLB_REPROBE_MAX	      8		    /* slots tried when the pick is not usable */
#define XLB_WEIGHT_MAX	      65535	    /* weights are 0 .. XLB_WEIGHT_MAX */
#define XLB_IPV6_EXT_MAX      4		    /* IPv6 extension headers skipped at most */
#define XLB_NH_TTL_NS	      1000000000ULL /* next-hop cache lifetime */

/*
 * Passive health (bpf/lib/passive.h). The event ring is a power of two of
 * pages: 256 KiB holds 5461 events of 48 bytes (plus 8-byte record
 * headers), far more than the rate limit lets through between two reads.
 */
#define XLB_EVENTS_RING_SIZE (1 << 18)
#define XLB_EVENT_WINDOW_NS  100000000ULL   /* rate-limit window: 100 ms */
#define XLB_EVENT_BURST	     8		    /* events per backend and window */
#define XLB_PASSIVE_YOUNG_NS 30000000000ULL /* a flow counts while younger */

#define XLB_IPV4_ENCAP_LEN 20 /* outer IPv4 header */
#define XLB_IPV6_ENCAP_LEN 40 /* outer IPv6 header */

/*
 * GUE (struct xlb_gue): outer IP, UDP, the GUE header with xlb's private
 * word, then room for XLB_GUE_HOPS hop addresses of the outer family, of
 * which the private word's count are meaningful. The size does not depend
 * on the count: a packet of a connection keeps its size when its slot's
 * chain grows, and the fast path has one header shape per family.
 */
#define XLB_GUE_PORT_DEFAULT 6080   /* UDP destination port, LB nodes and backends alike */
#define XLB_GUE_HOPS	     2	    /* hop addresses carried at most */
#define XLB_GUE_PRIV_TYPE    0x584c /* "XL": the private word is xlb's */
#define XLB_GUE_SPORT_BASE   0xc000 /* UDP source port: base | (flow hash & 0x3fff) */
#define XLB_GUE4_ENCAP_LEN   44	    /* IPv4 20 + UDP 8 + GUE 4 + private 4 + hops 2 x 4 */
#define XLB_GUE6_ENCAP_LEN   88	    /* IPv6 40 + UDP 8 + GUE 4 + private 4 + hops 2 x 16 */

/* Address families as stored in the ABI (not the host's AF_* values). */
#define XLB_AF_INET  4
#define XLB_AF_INET6 6

/* VIP flags. */
#define XLB_VIP_F_HASH_SRC   (1U << 0) /* hash on the client address only */
#define XLB_VIP_F_NAT	     (1U << 1) /* forward by NAT (bpf/lib/nat.h) */
#define XLB_VIP_F_SIZE_AUTO  (1U << 2) /* table size follows the member count (userspace) */
/* (1U << 3) is XLB_VIP_F_CLIENTS, in abi.h. */
#define XLB_VIP_F_CHAINS     (1U << 4) /* table slots keep earlier owners (userspace) */
#define XLB_VIP_F_GUE	     (1U << 5) /* direct return in GUE, with the slot's hops */
#define XLB_VIP_F_STATELESS  (1U << 6) /* no flow entries: the table (and GUE hops) alone */
#define XLB_VIP_F_LEAST_CONN (1U << 7) /* new flows: weighted least connections (bpf/lib/lconn.h) */

/*
 * Weighted least connections (bpf/lib/lconn.h). A new flow's second
 * candidate is the first of XLB_LC_PROBES slots, each from its own hash,
 * whose backend differs from the Maglev pick and is ACTIVE. A counted
 * flow's last-seen second is written at most once a second; xlbd forgets
 * counted flows idle longer than the timeouts below (IPVS's TCP
 * established and UDP timeouts) every XLB_LC_SWEEP_S.
 */
#define XLB_LC_PROBES	  4
#define XLB_LC_IDLE_TCP_S 900
#define XLB_LC_IDLE_UDP_S 300
#define XLB_LC_SWEEP_S	  60

/*
 * Node flags (struct xlb_config.flags). Not read by the fast path: shared
 * state of the CLI, the agent and the route announcer.
 */
#define XLB_CFG_F_DRAIN	  (1U << 0) /* withdraw the VIPs; keep forwarding */
#define XLB_CFG_F_FC_SEED (1U << 1) /* the flow cache's sets hash with fc_seed */

/* Forwarding methods (struct xlb_config.forward). */
#define XLB_FWD_IPIP 0 /* IPIP / IP6IP6 / 4in6 encapsulation */
#define XLB_FWD_L2   1 /* rewrite MACs only (direct return) */
#define XLB_FWD_NAT  2 /* every VIP by NAT, as XLB_VIP_F_NAT */
#define XLB_FWD_GUE  3 /* direct return in GUE: new VIPs get XLB_VIP_F_GUE (userspace) */

/*
 * NAT (bpf/lib/nat.h). One entry per direction per connection, in two
 * LRU hashes of XLB_NAT_MAX_DEFAULT entries each (set at attach). Source
 * ports come from [nat_port_min, nat_port_max]: the default stays below
 * Linux's ephemeral range (32768-60999), so that the LB host's own
 * connections to a node (the agent's health probes) never share a port
 * with a translated one. Idle timeouts per state are the defaults of the
 * nat_timeout_* settings (seconds); 0 in struct xlb_config means these.
 */
#define XLB_NAT_MAX_DEFAULT	(1 << 17) /* connections (entries per map) */
#define XLB_NAT_MAX_OFF		1024	  /* attached without a NAT source: the least */
#define XLB_NAT_PORT_MIN	1024
#define XLB_NAT_PORT_MAX	32767
#define XLB_NAT_PORT_TRIES	8   /* candidate ports per new connection */
#define XLB_NAT_TMO_SYN		30  /* handshake: SYN_SENT, SYN_RECV, UNCONFIRMED */
#define XLB_NAT_TMO_ESTABLISHED 900 /* client ACKed the SYN-ACK (IPVS's default) */
#define XLB_NAT_TMO_CLOSING	10  /* RST seen */
#define XLB_NAT_TMO_UDP		60  /* UDP: idle */
/*
 * FIN seen, either side: a half-closed connection may idle while a slow
 * server still answers, and the node keeps the port in TIME_WAIT for 60 s
 * after its close; conntrack's FIN_WAIT/TIME_WAIT are 120 s. A fixed
 * value: no setting of its own (nat_timeout_closing is the RST's).
 */
#define XLB_NAT_TMO_FIN		120
#define XLB_NAT_TOUCH_NS	1000000000ULL /* entry's last-seen written at most this often */

#define XLB_PIN_DIR_DEFAULT "/sys/fs/bpf/xlb"

#endif /* XLB_CONSTS_H */
