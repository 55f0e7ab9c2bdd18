/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Over 1,000 lines on purpose: one table of cases (most of the file) run by one
 * fixture; split by seam, each part would repeat the fixture and scatter the table.
 *
 * BPF_PROG_TEST_RUN tests of the load balancer (bpf/xlb_lb.bpf.c) through
 * its skeleton, driven by one table of cases: input packet, map setup,
 * expected verdict, expected output and the reason counter it must bump.
 *
 * Maps are never pinned, so the tests leave /sys/fs/bpf alone. Next hops
 * are static entries (stamped far in the future) on lo, the ingress device
 * of every run, so a forwarded packet is XDP_TX and bpf_fib_lookup is never
 * called. Expected outputs are rebuilt here from the ABI's definitions
 * (include/xlb/hash.h for the flow hash), not from the program's code.
 *
 * Output: "ok N - name" or "not ok N - name: what differed", then
 * "P passed, F failed"; the exit status is 1 if a case failed.
 */
#define _GNU_SOURCE /* sched_setaffinity, sched_getaffinity */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include <xlb/flowcache.h>
#include <xlb/hash.h>
#include "dataplane/maps.h"
#include "dataplane/names.h"
#include "xlb_lb.skel.h"
#include "../lib/bpftest.h"
#include "../lib/pkt.h"

/*
 * Addresses: only the benchmark range and the project's ULA prefix, but for
 * loopback, broadcast and all-nodes, which ICMP errors are sent to in cases.
 */
#define CLIENT4	   "198.18.0.10"
#define ROUTER4	   "198.18.0.1"
#define BE4_1	   "198.18.0.11"
#define BE4_2	   "198.18.0.12"
#define BE4_3	   "198.18.0.13"
#define BE4_4	   "198.18.0.14"
#define VIP4	   "198.18.100.1"
#define VIP4_OTHER "198.18.100.2"
#define ENC_SRC4   "198.18.200.0"
#define ENC_MASK4  0x000000ffU /* host order: low byte from the hash */
#define CLIENT6	   "fd00:78:6c62::10"
#define ROUTER6	   "fd00:78:6c62::1"
#define BE6_1	   "fd00:78:6c62::11"
#define BE6_2	   "fd00:78:6c62::12"
#define VIP6	   "fd00:78:6c62:100::1"
#define VIP6_OTHER "fd00:78:6c62:100::2"
#define ENC_SRC6   "fd00:78:6c62:200::"
#define ENC_MASK6  0x0000ffffU /* host order: low 16 bits from the hash */

#define NAT4	  "198.18.0.2" /* the LB's address towards the nodes */
#define NAT6	  "fd00:78:6c62::2"
#define LB4	  "198.18.0.3" /* the LB's own address, no VIP */
#define LB6	  "fd00:78:6c62::3"
#define LO4	  "127.0.0.1"
#define LO6	  "::1"
#define BCAST4	  "255.255.255.255"
#define ALLNODES6 "ff02::1"

#define SEED	   0x5eed1234U
#define NH_MTU	   1600
#define NH_IFINDEX 1 /* lo, also the ingress device: XDP_TX */
#define FLOWS_MAX  4096
#define TEST_IDS   16 /* VIP and backend ids the tests use */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define ICMP_ECHO	   8
#define ICMP_UNREACH	   3
#define ICMP_FRAG_NEEDED   4
#define ICMP_TIME_EXCEEDED 11
#define ICMP6_PKT_TOO_BIG  2
#define ICMP6_ECHO	   128

/* --- map setup, declared per case ---------------------------------------- */

struct vip_def {
	const char *addr; /* NULL ends the list */
	__u16 port;	  /* 0 = every port */
	__u8 proto;
	__u32 id;
	__u32 flags;	 /* XLB_VIP_F_* */
	__u32 size;	 /* Maglev table size */
	int no_table;	 /* table offset beyond the table space */
	__u32 fill[4];	 /* backend ids over the slots in turn; {} = empty */
	__u32 second[2]; /* every slot's secondaries (earlier owners); 0 = none */
	/*
	 * For these clients only (remote_addr): prefix and length. The
	 * address's entry gets XLB_VIP_F_CLIENTS (bare unless a VIP for every
	 * client of the address comes earlier in the list) and the prefix its
	 * xlb_vip_clients entry, as user/lib/dataplane/maps_clients.c writes.
	 */
	const char *client;
	__u8 plen;
};

struct be_def {
	__u32 id; /* 0 ends the list */
	const char *addr;
	__u8 state; /* enum xlb_backend_state; 0 here means ACTIVE */
	__u16 port; /* the node's port; 0 = the VIP's */
	__u16 gen;  /* the id's generation */
};

struct lb_setup {
	struct vip_def vips[3];
	struct be_def bes[5];
	__u32 forward;	      /* XLB_FWD_* */
	__u32 mtu;	      /* next-hop MTU; 0 = NH_MTU */
	int no_nat_src;	      /* leave the NAT addresses unset */
	__u16 nat_lo, nat_hi; /* NAT port range; 0 = the defaults */
};

#define VIP(a, p, pr, i, sz, ...)                                                               \
	{                                                                                       \
		.addr = a, .port = p, .proto = pr, .id = i, .size = sz, .fill = { __VA_ARGS__ } \
	}
#define VIPF(a, p, pr, i, fl, sz, ...)                                                         \
	{                                                                                      \
		.addr = a, .port = p, .proto = pr, .id = i, .flags = fl, .size = sz, .fill = { \
			__VA_ARGS__                                                            \
		}                                                                              \
	}
/* A GUE VIP whose slots all name secondaries s1, s2 (0: none). */
#define VIPG(a, p, pr, i, s1, s2, ...)                                                          \
	{                                                                                       \
		.addr = a, .port = p, .proto = pr, .id = i, .flags = XLB_VIP_F_GUE, .size = 13, \
		.second = {s1, s2}, .fill = {                                                   \
			__VA_ARGS__                                                             \
		}                                                                               \
	}
/* A stateless GUE VIP (no flow entries), secondaries s1, s2 in every slot. */
#define VIPS(a, p, pr, i, s1, s2, ...)                                                        \
	{                                                                                     \
		.addr = a, .port = p, .proto = pr, .id = i,                                   \
		.flags = XLB_VIP_F_GUE | XLB_VIP_F_STATELESS, .size = 13, .second = {s1, s2}, \
		.fill = {                                                                     \
			__VA_ARGS__                                                           \
		}                                                                             \
	}
#define VIPC(a, p, pr, i, cl, pl, be)                                                 \
	{                                                                             \
		.addr = a, .port = p, .proto = pr, .id = i, .size = 13, .fill = {be}, \
		.client = cl, .plen = pl                                              \
	}
#define BE(i, a)                   \
	{                          \
		.id = i, .addr = a \
	}
#define BES(i, a, s)                           \
	{                                      \
		.id = i, .addr = a, .state = s \
	}
#define BEG(i, a, s, g)                                  \
	{                                                \
		.id = i, .addr = a, .state = s, .gen = g \
	}
#define BEP(i, a, p)                          \
	{                                     \
		.id = i, .addr = a, .port = p \
	}

/* IPv4 backends are ids 1-4, IPv6 backends 5-6. */
static const struct lb_setup s_v4 = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 1), VIP(VIP4, 53, IPPROTO_UDP, 2, 13, 1)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2)},
};

static const struct lb_setup s_v6 = {
	.vips = {VIP(VIP6, 80, IPPROTO_TCP, 1, 13, 5), VIP(VIP6, 53, IPPROTO_UDP, 2, 13, 5)},
	.bes = {BE(5, BE6_1)},
};

static const struct lb_setup s_4in6 = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 5), VIP(VIP4, 53, IPPROTO_UDP, 2, 13, 5)},
	.bes = {BE(5, BE6_1)},
};

/* GUE VIPs: every slot's primary 1 (5), earlier owners 2 and 3 (6). */
static const struct lb_setup s_gue4 = {
	.vips = {VIPG(VIP4, 80, IPPROTO_TCP, 1, 2, 3, 1), VIPG(VIP4, 53, IPPROTO_UDP, 2, 0, 0, 1)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2), BE(3, BE4_3)},
};

static const struct lb_setup s_gue4_down = {
	.vips = {VIPG(VIP4, 80, IPPROTO_TCP, 1, 2, 3, 1)},
	.bes = {BE(1, BE4_1), BES(2, BE4_2, XLB_BE_DOWN), BE(3, BE4_3)},
};

static const struct lb_setup s_gue4_l2 = {
	.vips = {VIPG(VIP4, 80, IPPROTO_TCP, 1, 2, 3, 1)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2), BE(3, BE4_3)},
	.forward = XLB_FWD_L2,
};

/* Room for IPIP (20) but not for GUE (44) at 1480 bytes of IP. */
static const struct lb_setup s_gue4_mtu = {
	.vips = {VIPG(VIP4, 80, IPPROTO_TCP, 1, 2, 0, 1)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2)},
	.mtu = 1500,
};

/* Stateless: every slot's primary 1, earlier owner 3; a second VIP over 1 and 2. */
static const struct lb_setup s_sl4 = {
	.vips = {VIPS(VIP4, 80, IPPROTO_TCP, 1, 3, 0, 1),
		 VIPS(VIP4, 81, IPPROTO_TCP, 2, 3, 0, 1, 2)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2), BE(3, BE4_3)},
};

static const struct lb_setup s_sl4_draining = {
	.vips = {VIPS(VIP4, 80, IPPROTO_TCP, 1, 3, 0, 1)},
	.bes = {BES(1, BE4_1, XLB_BE_DRAINING), BE(3, BE4_3)},
};

static const struct lb_setup s_sl4_down = {
	.vips = {VIPS(VIP4, 80, IPPROTO_TCP, 1, 3, 0, 1, 2)},
	.bes = {BES(1, BE4_1, XLB_BE_DOWN), BE(2, BE4_2), BE(3, BE4_3)},
};

static const struct lb_setup s_gue6 = {
	.vips = {VIPG(VIP6, 80, IPPROTO_TCP, 1, 6, 0, 5), VIPG(VIP6, 53, IPPROTO_UDP, 2, 6, 0, 5)},
	.bes = {BE(5, BE6_1), BE(6, BE6_2)},
};

static const struct lb_setup s_gue4in6 = {
	.vips = {VIPG(VIP4, 80, IPPROTO_TCP, 1, 6, 0, 5), VIPG(VIP4, 53, IPPROTO_UDP, 2, 6, 0, 5)},
	.bes = {BE(5, BE6_1), BE(6, BE6_2)},
};

static const struct lb_setup s_portless = {
	.vips = {VIP(VIP4, 0, IPPROTO_TCP, 1, 13, 1)},
	.bes = {BE(1, BE4_1)},
};

static const struct lb_setup s_exact_and_portless = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 1), VIP(VIP4, 0, IPPROTO_TCP, 2, 13, 2)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2)},
};

/* Generations other than 0, one at the last before the wrap: flows keep them. */
static const struct lb_setup s_two4 = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 1, 2)},
	.bes = {BEG(1, BE4_1, XLB_BE_ACTIVE, 0xffff), BEG(2, BE4_2, XLB_BE_ACTIVE, 7)},
};

static const struct lb_setup s_two6 = {
	.vips = {VIP(VIP6, 80, IPPROTO_TCP, 1, 13, 5, 6)},
	.bes = {BE(5, BE6_1), BE(6, BE6_2)},
};

/* s_two4 / s_two6 with a second VIP address, every port. */
static const struct lb_setup s_two4_other = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 1, 2),
		 VIP(VIP4_OTHER, 0, IPPROTO_TCP, 2, 13, 1, 2)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2)},
};

static const struct lb_setup s_two6_other = {
	.vips = {VIP(VIP6, 80, IPPROTO_TCP, 1, 13, 5, 6),
		 VIP(VIP6_OTHER, 0, IPPROTO_TCP, 2, 13, 5, 6)},
	.bes = {BE(5, BE6_1), BE(6, BE6_2)},
};

/* Every slot backend 2; a case's prep points its own slots at backend 1. */
static const struct lb_setup s_slots2 = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 2)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2)},
};

/* s_v4 with backend 1 at the last generation before the wrap. */
static const struct lb_setup s_v4_gen_max = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 1)},
	.bes = {BEG(1, BE4_1, XLB_BE_ACTIVE, 0xffff), BE(2, BE4_2)},
};

static const struct lb_setup s_slots2_down1 = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 2)},
	.bes = {BES(1, BE4_1, XLB_BE_DOWN), BE(2, BE4_2)},
};

static const struct lb_setup s_all_down = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 1, 2)},
	.bes = {BES(1, BE4_1, XLB_BE_DOWN), BES(2, BE4_2, XLB_BE_DOWN)},
};

static const struct lb_setup s_empty_table = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13)},
	.bes = {BE(1, BE4_1)},
};

static const struct lb_setup s_no_table = {
	.vips = {{.addr = VIP4,
		  .port = 80,
		  .proto = IPPROTO_TCP,
		  .id = 1,
		  .size = 13,
		  .no_table = 1}},
	.bes = {BE(1, BE4_1)},
};

static const struct lb_setup s_v6_be4 = {
	.vips = {VIP(VIP6, 80, IPPROTO_TCP, 1, 13, 1)},
	.bes = {BE(1, BE4_1)},
};

static const struct lb_setup s_weights = {
	.vips = {VIP(VIP4, 53, IPPROTO_UDP, 1, 251, 1, 2, 2, 2)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2)},
};

static const struct lb_setup s_hash_src = {
	.vips = {VIPF(VIP4, 80, IPPROTO_TCP, 1, XLB_VIP_F_HASH_SRC, 251, 1, 2, 3, 4)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2), BE(3, BE4_3), BE(4, BE4_4)},
};

/* Every slot backend 1 (5); a flow cache case moves them to 2 (6) at its end. */
static const struct lb_setup s_fc4 = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 1)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2)},
};

static const struct lb_setup s_fc6 = {
	.vips = {VIP(VIP6, 80, IPPROTO_TCP, 1, 13, 5)},
	.bes = {BE(5, BE6_1), BE(6, BE6_2)},
};

/* Least connections over slots alternating 1, 2; counts and weights set per case. */
static const struct lb_setup s_lc = {
	.vips = {VIPF(VIP4, 80, IPPROTO_TCP, 1, XLB_VIP_F_LEAST_CONN, 13, 1, 2)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2)},
};

static const struct lb_setup s_default_size = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, XLB_MAGLEV_DEFAULT, 1, 2, 3)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2), BE(3, BE4_3)},
};

static const struct lb_setup s_l2_v4 = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 1)},
	.bes = {BE(1, BE4_1)},
	.forward = XLB_FWD_L2,
};

static const struct lb_setup s_l2_v6 = {
	.vips = {VIP(VIP6, 80, IPPROTO_TCP, 1, 13, 5)},
	.bes = {BE(5, BE6_1)},
	.forward = XLB_FWD_L2,
};

static const struct lb_setup s_l2_4in6 = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 5)},
	.bes = {BE(5, BE6_1)},
	.forward = XLB_FWD_L2,
};

/* NAT: backend 1 listens on 8080 (port translation), 2 on the VIP's port. */
static const struct lb_setup s_nat4 = {
	.vips = {VIPF(VIP4, 80, IPPROTO_TCP, 1, XLB_VIP_F_NAT, 13, 1),
		 VIPF(VIP4, 53, IPPROTO_UDP, 2, XLB_VIP_F_NAT, 13, 2)},
	.bes = {BEP(1, BE4_1, 8080), BE(2, BE4_2)},
};

static const struct lb_setup s_nat6 = {
	.vips = {VIPF(VIP6, 80, IPPROTO_TCP, 1, XLB_VIP_F_NAT, 13, 5),
		 VIPF(VIP6, 53, IPPROTO_UDP, 2, XLB_VIP_F_NAT, 13, 6)},
	.bes = {BEP(5, BE6_1, 8080), BE(6, BE6_2)},
};

/* The whole data plane in NAT mode: no VIP flag needed. */
static const struct lb_setup s_nat_global = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 1, 13, 1)},
	.bes = {BEP(1, BE4_1, 8080)},
	.forward = XLB_FWD_NAT,
};

/* Two source ports only: two live connections use them up. */
static const struct lb_setup s_nat_2ports = {
	.vips = {VIPF(VIP4, 80, IPPROTO_TCP, 1, XLB_VIP_F_NAT, 13, 1)},
	.bes = {BEP(1, BE4_1, 8080)},
	.nat_lo = 1024,
	.nat_hi = 1025,
};

static const struct lb_setup s_nat_1port = {
	.vips = {VIPF(VIP4, 80, IPPROTO_TCP, 1, XLB_VIP_F_NAT, 13, 1)},
	.bes = {BEP(1, BE4_1, 8080)},
	.nat_lo = 1024,
	.nat_hi = 1024,
};

static const struct lb_setup s_nat_no_src = {
	.vips = {VIPF(VIP4, 80, IPPROTO_TCP, 1, XLB_VIP_F_NAT, 13, 1)},
	.bes = {BEP(1, BE4_1, 8080)},
	.no_nat_src = 1,
};

static const struct lb_setup s_nat_v4_be6 = {
	.vips = {VIPF(VIP4, 80, IPPROTO_TCP, 1, XLB_VIP_F_NAT, 13, 5)},
	.bes = {BE(5, BE6_1)},
};

/* Two client prefixes on one address and port, each its own VIP (remote_addr). */
#define NEAR4 "198.18.5.9"	   /* in 198.18.5.0/24 */
#define FAR4  "198.18.9.9"	   /* in neither prefix */
#define FAR6  "fd00:78:6c62:1::10" /* outside fd00:78:6c62::/64 */
#define P_SYN4_FROM(c, port)                                                        \
	.src = c, .dst = VIP4, .proto = IPPROTO_TCP, .dport = port, .sport = 40000, \
	.tcp_flags = TCP_SYN
#define P_SYN6_FROM(c)                                                            \
	.src = c, .dst = VIP6, .proto = IPPROTO_TCP, .dport = 80, .sport = 40000, \
	.tcp_flags = TCP_SYN
static const struct lb_setup s_clients4 = {
	.vips = {VIPC(VIP4, 80, IPPROTO_TCP, 1, "198.18.0.0", 24, 1),
		 VIPC(VIP4, 80, IPPROTO_TCP, 2, "198.18.5.0", 24, 2)},
	.bes = {BE(1, BE4_1), BE(2, BE4_2), BE(3, BE4_3)},
};

/* A VIP for every client first, then one for a prefix on the same address. */
static const struct lb_setup s_clients4_rest = {
	.vips = {VIP(VIP4, 80, IPPROTO_TCP, 3, 13, 3),
		 VIPC(VIP4, 80, IPPROTO_TCP, 1, "198.18.0.0", 24, 1)},
	.bes = {BE(1, BE4_1), BE(3, BE4_3)},
};

/* Every port of the address, for a prefix: the LPM key carries port 0. */
static const struct lb_setup s_clients4_portless = {
	.vips = {VIPC(VIP4, 0, IPPROTO_TCP, 1, "198.18.0.0", 24, 1)},
	.bes = {BE(1, BE4_1)},
};

static const struct lb_setup s_clients6 = {
	.vips = {VIPC(VIP6, 80, IPPROTO_TCP, 1, "fd00:78:6c62::", 64, 5)},
	.bes = {BE(5, BE6_1)},
};

/* --- packets shared by several cases ------------------------------------- */

#define P_TCP4 .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .dport = 80
#define P_UDP4 .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP, .dport = 53
#define P_TCP6 .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .dport = 80
#define P_UDP6 .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .dport = 53

/* The client's flow, and the backend's answer that ICMP errors quote. */
static const struct pkt_spec flow4 = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN};
static const struct pkt_spec flow6 = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN};
static const struct pkt_spec reply4 = {
	.src = VIP4,
	.dst = CLIENT4,
	.proto = IPPROTO_TCP,
	.sport = 80,
	.dport = 40000,
	.tcp_flags = TCP_ACK,
	.payload_len = 1400,
};
static const struct pkt_spec reply6 = {
	.src = VIP6,
	.dst = CLIENT6,
	.proto = IPPROTO_TCP,
	.sport = 80,
	.dport = 40000,
	.tcp_flags = TCP_ACK,
	.payload_len = 1200,
};
/* An error about reply4 / reply6 (a VIP flow's packet), sent to d. */
#define P_ICMP4_ERR_TO(d)                                                           \
	.src = ROUTER4, .dst = d, .proto = IPPROTO_ICMP, .icmp_type = ICMP_UNREACH, \
	.icmp_code = ICMP_FRAG_NEEDED, .icmp_info = 1400, .quote = &reply4, .quote_len = 28
#define P_ICMP6_ERR_TO(d)                                                                  \
	.src = ROUTER6, .dst = d, .proto = IPPROTO_ICMPV6, .icmp_type = ICMP6_PKT_TOO_BIG, \
	.icmp_info = 1280, .quote = &reply6
/* NAT connections' first packets (their node answers in the cases). */
static const struct pkt_spec nflow4 = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN};
static const struct pkt_spec nflow4_b = {P_TCP4, .sport = 40001, .tcp_flags = TCP_SYN};
/* A connection's packet with no entry (moved here, or its entries evicted). */
static const struct pkt_spec nflow4_ack = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK,
					   .payload_len = 10};
static const struct pkt_spec nflow6 = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN};
static const struct pkt_spec nflow4u = {P_UDP4, .sport = 5353, .payload_len = 30};
static const struct pkt_spec nflow6u = {P_UDP6, .sport = 5353, .payload_len = 30};
static const struct pkt_spec reply4_other = {
	.src = VIP4_OTHER,
	.dst = CLIENT4,
	.proto = IPPROTO_TCP,
	.sport = 80,
	.dport = 40000,
	.tcp_flags = TCP_ACK,
	.payload_len = 100,
};

/* --- the environment a case runs in -------------------------------------- */

struct env {
	struct xlb_lb *skel;
	struct xlb_maps m; /* the skeleton's maps for user/lib/dataplane/flows.c */
	int prog_fd;
	int ncpu;
	int cpu; /* the one CPU every run is on (main) */
	const struct lb_setup *setup;
	__u32 first_be;	  /* backend the case's first packet got */
	size_t first_len; /* and that packet's length */
	__u32 want_be;	  /* backend the case's packet must get */
	struct bpftest t; /* the report, why the case failed */
	struct bpftest_reasons reasons;
	struct ring_buffer *rb;	     /* xlb_events, read by events_read() */
	struct xlb_event events[64]; /* passive events read since the last read */
	int nevents;
	__u16 nat_port;		 /* NAT: the first packet's source port (host order) */
	struct pkt_spec in_spec; /* the input as run (input hooks change it) */
};

/* The case failed: keep the first reason; -1. */
#define fail(e, ...) bpftest_fail(&(e)->t, __VA_ARGS__)

/* --- map access ---------------------------------------------------------- */

static int map_fd(struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static int hash_clear(struct bpf_map *map, size_t key_size)
{
	__u8 key[64];
	int n = 0;

	if (key_size > sizeof(key))
		return -EINVAL;
	while (!bpf_map_get_next_key(map_fd(map), NULL, key)) {
		if (bpf_map_delete_elem(map_fd(map), key) || ++n > FLOWS_MAX * 4)
			return -EIO;
	}
	return 0;
}

static int hash_count(struct bpf_map *map)
{
	__u8 key[64], next[64];
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(map_fd(map), prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

static __u8 nh_dmac(__u32 id, int i)
{
	static const __u8 base[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x00};

	return i == 5 ? (__u8)id : base[i];
}

static int nexthop_set(struct env *e, __u32 id, __u32 mtu)
{
	struct xlb_nexthop nh = {.ifindex = NH_IFINDEX, .mtu = mtu};
	struct timespec ts;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Far in the future: the program treats the entry as static. */
	nh.updated_ns = (1ULL << 62) + ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	memcpy(nh.smac, pkt_mac_lb, 6);
	for (i = 0; i < 6; i++)
		nh.dmac[i] = nh_dmac(id, i);
	return bpf_map_update_elem(map_fd(e->skel->maps.xlb_nexthops), &id, &nh, BPF_ANY) ? -errno
											  : 0;
}

static int backend_get(struct env *e, __u32 id, struct xlb_backend *be)
{
	return bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_backends), &id, be) ? -errno : 0;
}

static int backend_set_state(struct env *e, __u32 id, __u8 state)
{
	struct xlb_backend be;

	if (backend_get(e, id, &be))
		return fail(e, "backend %u: lookup failed", id);
	be.state = state;
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_backends), &id, &be, BPF_ANY))
		return fail(e, "backend %u: update failed: %s", id, strerror(errno));
	return 0;
}

/*
 * VIP id's table in the table space: odd offsets, so that both halves of a
 * map value are read; room for a default-size table each, ids below
 * TEST_TABLE_IDS.
 */
#define TEST_TABLE_MAX 65600
#define TEST_TABLE_IDS 4
#define TABLE_OFF(id)  ((id)*TEST_TABLE_MAX + 1)
#define NO_TABLE_OFF   (BPFTEST_SLOTS + 2) /* beyond the table space */
_Static_assert(TABLE_OFF(TEST_TABLE_IDS) <= BPFTEST_SLOTS, "test tables fit");

/*
 * VIP v's size slots: primaries fill[] in turn ({} = empty), each with the
 * secondaries second[].
 */
static int table_fill(struct env *e, const struct vip_def *v)
{
	static __u64 chains[TEST_TABLE_MAX];
	__u32 slot, n = 0, s1, s2;

	if (v->id >= TEST_TABLE_IDS || v->size > TEST_TABLE_MAX)
		return -EINVAL;
	while (n < 4 && v->fill[n])
		n++;
	s1 = v->second[0] ?: XLB_SLOT_NONE;
	s2 = v->second[1] ?: XLB_SLOT_NONE;
	for (slot = 0; slot < v->size; slot++)
		chains[slot] = n ? xlb_slot_pack(v->fill[slot % n], s1, s2)
				 : xlb_slot_pack(XLB_SLOT_NONE, XLB_SLOT_NONE, XLB_SLOT_NONE);
	return bpftest_chains_write(e->skel, TABLE_OFF(v->id), chains, v->size);
}

/* Every test table's slots empty. */
static int table_clear(struct env *e)
{
	return bpftest_slots_write(e->skel, TABLE_OFF(0), NULL, TEST_TABLE_IDS * TEST_TABLE_MAX);
}

/* Ids 0 .. TEST_IDS - 1: no backend, no next hop, zero counters. */
static int reset_id(struct env *e, __u32 id)
{
	struct xlb_lb *s = e->skel;
	struct xlb_backend be = {};

	if (bpf_map_update_elem(map_fd(s->maps.xlb_backends), &id, &be, 0) ||
	    bpf_map_update_elem(map_fd(s->maps.xlb_nexthops), &id, &(struct xlb_nexthop){}, 0) ||
	    bpf_map_update_elem(map_fd(s->maps.xlb_backend_conns), &id,
				&(struct xlb_backend_conns){}, 0) ||
	    bpf_map_update_elem(map_fd(s->maps.xlb_event_rate), &id, &(struct xlb_event_rate){}, 0))
		return -errno;
	return bpftest_percpu_write(s->maps.xlb_vip_stats, id, e->ncpu, NULL,
				    sizeof(struct xlb_traffic)) ?:
	       bpftest_percpu_write(s->maps.xlb_backend_stats, id, e->ncpu, NULL,
				    sizeof(struct xlb_traffic)) ?:
	       bpftest_percpu_write(s->maps.xlb_nat_health, id, e->ncpu, NULL,
				    sizeof(struct xlb_nat_health));
}

/* ring_buffer_sample_fn: keep the record for the case's check. */
static int event_keep(void *ctx, void *data, size_t size)
{
	struct env *e = ctx;

	if (size == sizeof(struct xlb_event) &&
	    e->nevents < (int)(sizeof(e->events) / sizeof(e->events[0])))
		memcpy(&e->events[e->nevents], data, size);
	e->nevents++;
	return 0;
}

/* Read every queued passive event into e->events (count in e->nevents). */
static int events_read(struct env *e)
{
	int n;

	e->nevents = 0;
	n = ring_buffer__consume(e->rb);
	return n < 0 ? n : 0;
}

/* Every slot of the SYN table empty. */
static int syns_clear(struct env *e)
{
	static struct xlb_syn zero[1U << BPFTEST_SYN_BITS];
	static __u32 keys[1U << BPFTEST_SYN_BITS];
	__u32 i, n = 1U << BPFTEST_SYN_BITS;

	for (i = 0; i < n; i++)
		keys[i] = i;
	return bpf_map_update_batch(map_fd(e->skel->maps.xlb_syns), keys, zero, &n, NULL) ? -errno
											  : 0;
}

/* Back to empty maps and zero counters: every case starts alike. */
static int env_reset(struct env *e)
{
	struct xlb_lb *s = e->skel;
	struct xlb_config cfg = {};
	__u32 id, zero = 0;
	int err = 0;

	for (id = 0; id < TEST_IDS; id++)
		err = err ?: reset_id(e, id);
	err = err ?: table_clear(e);
	for (id = 0; id < XLB_R_MAX; id++)
		err = err
			      ?: bpftest_blocks_write(s->maps.xlb_reasons, id, e->ncpu, XLB_R_SLOTS,
						      NULL, sizeof(struct xlb_reason_count));
	if (!err && bpf_map_update_elem(map_fd(s->maps.xlb_config), &zero, &cfg, 0))
		err = -errno;
	err = err ?: hash_clear(s->maps.xlb_vips, sizeof(struct xlb_vip_key));
	err = err ?: hash_clear(s->maps.xlb_vip_clients, sizeof(struct xlb_client_key));
	err = err ?: hash_clear(s->maps.xlb_filtered_vips, sizeof(struct xlb_vip_key));
	err = err ?: hash_clear(s->maps.xlb_flows, sizeof(struct xlb_flow_key));
	err = err ?: bpftest_fc_clear(s);
	err = err ?: hash_clear(s->maps.xlb_members, sizeof(struct xlb_member_key));
	err = err ?: syns_clear(e);
	err = err ?: hash_clear(s->maps.xlb_nat_fwd, sizeof(struct xlb_flow_key));
	err = err ?: hash_clear(s->maps.xlb_nat_rev, sizeof(struct xlb_nat_rkey));
	err = err ?: events_read(e); /* no event left from the case before */
	return err;
}

/*
 * A VIP for v's clients: k (the address's key) gets its client part; the
 * address's entry is flagged (made bare when absent) and the prefix's LPM
 * entry names k, the key of the VIP in xlb_filtered_vips.
 */
static int client_entries(struct env *e, struct xlb_vip_key *k, const struct vip_def *v)
{
	struct xlb_vip base = {.id = XLB_VIP_NO_ID};
	struct xlb_client_key ck = {.prefixlen = XLB_CLIENT_KEY_VIP_BITS + v->plen};
	int fd = map_fd(e->skel->maps.xlb_vips);

	bpf_map_lookup_elem(fd, k, &base);
	base.flags |= XLB_VIP_F_CLIENTS;
	if (bpf_map_update_elem(fd, k, &base, 0))
		return -errno;
	memcpy(ck.addr, k->addr, sizeof(ck.addr));
	ck.port = k->port;
	ck.proto = k->proto;
	ck.family = k->family;
	k->client_family = pkt_addr(v->client, k->client);
	k->client_plen = v->plen;
	memcpy(ck.client, k->client, sizeof(ck.client));
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_vip_clients), &ck, k, 0))
		return -errno;
	return 0;
}

static int setup_apply(struct env *e, const struct lb_setup *su)
{
	struct xlb_lb *s = e->skel;
	struct xlb_config cfg = {
		.forward = su->forward,
		.hash_seed = SEED,
		.syn_bits = BPFTEST_SYN_BITS,
		.encap_src4_mask = htonl(ENC_MASK4),
		.encap_src6_mask = htonl(ENC_MASK6),
	};
	__be32 a[4];
	__u32 zero = 0;
	int i, err;

	pkt_addr(ENC_SRC4, a);
	cfg.encap_src4 = a[0];
	pkt_addr(ENC_SRC6, cfg.encap_src6);
	if (!su->no_nat_src) {
		pkt_addr(NAT4, a);
		cfg.nat_src4 = a[0];
		pkt_addr(NAT6, cfg.nat_src6);
	}
	cfg.nat_port_min = su->nat_lo;
	cfg.nat_port_max = su->nat_hi;
	if (bpf_map_update_elem(map_fd(s->maps.xlb_config), &zero, &cfg, 0))
		return fail(e, "setup: config: %s", strerror(errno));

	for (i = 0; i < 5 && su->bes[i].id; i++) {
		const struct be_def *b = &su->bes[i];
		struct xlb_backend be = {
			.state = b->state ?: XLB_BE_ACTIVE, .port = htons(b->port), .gen = b->gen};

		be.family = pkt_addr(b->addr, be.addr);
		if (bpf_map_update_elem(map_fd(s->maps.xlb_backends), &b->id, &be, 0))
			return fail(e, "setup: backend %u: %s", b->id, strerror(errno));
		err = nexthop_set(e, b->id, su->mtu ?: NH_MTU);
		if (err)
			return fail(e, "setup: next hop %u: %s", b->id, strerror(-err));
	}
	for (i = 0; i < 3 && su->vips[i].addr; i++) {
		const struct vip_def *v = &su->vips[i];
		struct xlb_vip_key k = {
			.port = htons(v->port),
			.proto = v->proto,
		};
		struct xlb_vip val = {.id = v->id,
				      .flags = v->flags,
				      .table_size = v->size,
				      .table_off = v->no_table ? NO_TABLE_OFF : TABLE_OFF(v->id)};

		k.family = pkt_addr(v->addr, k.addr);
		err = v->client ? client_entries(e, &k, v) : 0;
		if (err)
			return fail(e, "setup: clients %s/%u of VIP %s:%u: %s", v->client, v->plen,
				    v->addr, v->port, strerror(-err));
		if (bpf_map_update_elem(
			    map_fd(v->client ? s->maps.xlb_filtered_vips : s->maps.xlb_vips), &k,
			    &val, 0))
			return fail(e, "setup: VIP %s:%u: %s", v->addr, v->port, strerror(errno));
		if (v->no_table)
			continue;
		err = table_fill(e, v);
		if (err)
			return fail(e, "setup: table of VIP %u: %s", v->id, strerror(-err));
	}
	/* The address filter on, as attach leaves it, with these VIPs in. */
	err = xlb_addrs_fill(s->maps.xlb_vips, s->maps.xlb_addrs, &cfg);
	if (err)
		return fail(e, "setup: address filter: %s", strerror(-err));
	e->setup = su;
	return 0;
}

/* --- flows and hashes, computed from the ABI ----------------------------- */

/* The client -> VIP key of a packet; an ICMP error names its quoted flow. */
static void flow_key(const struct pkt_spec *s, struct xlb_flow_key *k)
{
	const struct pkt_spec *f = s->quote ? s->quote : s;
	int rev = !!s->quote;

	memset(k, 0, sizeof(*k));
	k->family = pkt_addr(rev ? f->dst : f->src, k->saddr);
	pkt_addr(rev ? f->src : f->dst, k->daddr);
	k->sport = htons(rev ? f->dport : f->sport);
	k->dport = htons(rev ? f->sport : f->dport);
	k->proto = f->proto;
}

/* The VIP a key matches: exact port first, then the port-less one. */
static int vip_find(struct env *e, const struct xlb_flow_key *fk, struct xlb_vip *vip)
{
	struct xlb_vip_key k = {.port = fk->dport, .proto = fk->proto, .family = fk->family};
	int fd = map_fd(e->skel->maps.xlb_vips);

	memcpy(k.addr, fk->daddr, sizeof(k.addr));
	if (!bpf_map_lookup_elem(fd, &k, vip))
		return 0;
	k.port = 0;
	return bpf_map_lookup_elem(fd, &k, vip) ? -ENOENT : 0;
}

static int spec_hash(struct env *e, const struct pkt_spec *s, __u32 *hash, struct xlb_vip *vip)
{
	struct xlb_flow_key k;

	flow_key(s, &k);
	if (vip_find(e, &k, vip))
		return fail(e, "no VIP for the case's packet");
	*hash = xlb_flow_hash(&k, SEED, vip->flags & XLB_VIP_F_HASH_SRC);
	return 0;
}

static const struct vip_def *vip_def(struct env *e, __u32 id)
{
	int i;

	for (i = 0; i < 3 && e->setup->vips[i].addr; i++)
		if (e->setup->vips[i].id == id)
			return &e->setup->vips[i];
	return NULL;
}

/* Backend in the table slot of the packet's hash, from the setup's fill. */
static int table_backend(struct env *e, const struct pkt_spec *s, __u32 *id)
{
	const struct vip_def *v;
	struct xlb_vip vip;
	__u32 hash, n = 0;

	if (spec_hash(e, s, &hash, &vip))
		return -1;
	v = vip_def(e, vip.id);
	while (v && n < 4 && v->fill[n])
		n++;
	if (!n)
		return fail(e, "VIP %u has no filled table", vip.id);
	*id = v->fill[(hash % vip.table_size) % n];
	return 0;
}

/* Point the packet's table slot at backend id. */
static int slot_set(struct env *e, const struct pkt_spec *s, __u32 id)
{
	struct xlb_vip vip;
	__u32 hash, slot;

	if (spec_hash(e, s, &hash, &vip))
		return -1;
	slot = hash % vip.table_size;
	if (bpftest_slots_write(e->skel, vip.table_off + slot, &id, 1))
		return fail(e, "table %u slot %u: %s", vip.id, slot, strerror(errno));
	return 0;
}

/* --- running packets ----------------------------------------------------- */

/* Backend an output frame went to: the next hop's dmac names it. */
static int out_backend(const struct pkt *out, __u32 *id)
{
	int i;

	for (i = 0; i < 5; i++)
		if (out->len < 6 || out->data[i] != nh_dmac(0, i))
			return -1;
	*id = out->data[5];
	return 0;
}

/* Build, run, expect XDP_TX, return the backend. */
static int run_to_backend(struct env *e, const struct pkt_spec *s, __u32 *id, size_t *len)
{
	struct pkt in, out;
	__u32 verdict;
	int err;

	if (pkt_build(&in, s))
		return fail(e, "cannot build a packet");
	err = bpftest_run(e->prog_fd, NH_IFINDEX, &in, &out, &verdict);
	if (err)
		return fail(e, "test run: %s", strerror(-err));
	if (verdict != XDP_TX)
		return fail(e, "packet %u -> %u: expected XDP_TX, got %s", s->sport, s->dport,
			    bpftest_verdict_name(verdict));
	if (out_backend(&out, id))
		return fail(e, "packet %u -> %u: output dmac names no backend", s->sport, s->dport);
	if (len)
		*len = in.len;
	return 0;
}

/* --- expected outputs ---------------------------------------------------- */

enum out_kind {
	OUT_NONE,      /* the verdict says it all (XDP_DROP) */
	OUT_SAME,      /* byte for byte the input */
	OUT_ENCAP,     /* next-hop MACs, outer header, the input's L3 packet */
	OUT_GUE,       /* next-hop MACs, outer header, UDP, GUE with hops, the input's L3 */
	OUT_L2,	       /* the input with the next hop's MACs */
	OUT_TOO_BIG,   /* ICMP frag-needed / packet-too-big back to the client */
	OUT_NAT,       /* translated to node:port from the NAT address and port */
	OUT_NAT_REPLY, /* a node's reply translated back to VIP -> client */
};

#define BE_TABLE  0x10000 /* backend in the table slot of the flow hash */
#define BE_FIRST  0x10001 /* backend the case's first packet went to */
#define BE_SECOND 0x10002 /* least_conn: the packet's second candidate */

struct xlb_case {
	const char *name;
	struct pkt_spec pkt;				       /* the input packet */
	void (*mangle)(struct pkt *p);			       /* break it once built */
	const struct lb_setup *setup;			       /* VIPs, backends, config */
	int (*prep)(struct env *e, const struct xlb_case *c);  /* after setup */
	const struct pkt_spec *first;			       /* run before (makes a flow) */
	int (*after)(struct env *e, const struct xlb_case *c); /* after first */
	int (*input)(struct env *e, const struct xlb_case *c, struct pkt *in);
	/* rebuild the input after first */
	__u32 verdict; /* XDP_PASS / XDP_TX / XDP_DROP */
	enum out_kind out;
	__u32 backend; /* id, BE_TABLE or BE_FIRST */
	int (*check)(struct env *e, const struct xlb_case *c, const struct pkt *in,
		     const struct pkt *out);
	int reason;	    /* enum xlb_reason counted once */
	const char *script; /* flow cache steps after the packet (check_fc_script) */
	int other_cpu;	    /* needs a CPU besides the one it runs on */
};

/* Ethernet header towards the backend, any VLAN tag of the input kept. */
static void expect_l2(struct pkt_expect *x, const struct pkt *in, __u32 be_id, __u16 ethertype)
{
	__u8 dmac[6];
	int i;

	for (i = 0; i < 6; i++)
		dmac[i] = nh_dmac(be_id, i);
	pkt_expect_put(x, "eth dest (next hop dmac)", dmac, 6);
	pkt_expect_put(x, "eth source (next hop smac)", pkt_mac_lb, 6);
	if (in->l3_off == 18)
		pkt_expect_put(x, "vlan tag", in->data + 12, 4);
	pkt_put_be16(pkt_expect_put(x, "ethertype", NULL, 2), ethertype);
}

static int expect_encap(struct env *e, const struct xlb_case *c, const struct pkt *in,
			struct pkt_expect *x)
{
	const __u8 *l3 = in->data + in->l3_off;
	int inner4 = l3[0] >> 4 == 4;
	/* The IP header's length, not the frame's: padding may follow. */
	size_t l3_len = inner4 ? (size_t)(l3[2] << 8 | l3[3]) : (size_t)(40 + (l3[4] << 8 | l3[5]));
	__u8 tos = inner4 ? l3[1] : (l3[0] << 4 | l3[1] >> 4);
	struct xlb_backend be;
	struct xlb_vip vip;
	__be32 src[4];
	__u32 hash;
	__u8 *h;

	if (spec_hash(e, &c->pkt, &hash, &vip))
		return -1;
	if (backend_get(e, e->want_be, &be))
		return fail(e, "backend %u: lookup failed", e->want_be);
	memset(x, 0, sizeof(*x));

	if (be.family == XLB_AF_INET) {
		expect_l2(x, in, e->want_be, 0x0800);
		*pkt_expect_put(x, "outer version/ihl", NULL, 1) = 0x45;
		*pkt_expect_put(x, "outer tos", NULL, 1) = tos;
		pkt_put_be16(pkt_expect_put(x, "outer tot_len", NULL, 2), 20 + l3_len);
		pkt_expect_put(x, "outer id", NULL, 2);
		pkt_put_be16(pkt_expect_put(x, "outer frag_off (DF)", NULL, 2),
			     inner4 && (l3[6] & 0x40) ? 0x4000 : 0);
		*pkt_expect_put(x, "outer ttl", NULL, 1) = 64;
		*pkt_expect_put(x, "outer protocol", NULL, 1) = IPPROTO_IPIP;
		pkt_expect_put(x, "outer check", NULL, 2);
		pkt_addr(ENC_SRC4, src);
		src[0] = (src[0] & ~htonl(ENC_MASK4)) | htonl(hash & ENC_MASK4);
		pkt_expect_put(x, "outer saddr", src, 4);
		pkt_expect_put(x, "outer daddr", be.addr, 4);
		h = x->data + x->len - 20;
		pkt_put_be16(h + 10, pkt_csum_fold(pkt_csum_add(0, h, 20)));
	} else {
		expect_l2(x, in, e->want_be, 0x86dd);
		pkt_put_be32(pkt_expect_put(x, "outer version/class/flow label", NULL, 4),
			     6U << 28 | (__u32)tos << 20 | (hash & 0xfffff));
		pkt_put_be16(pkt_expect_put(x, "outer payload_len", NULL, 2), l3_len);
		*pkt_expect_put(x, "outer nexthdr", NULL, 1) = inner4 ? IPPROTO_IPIP : IPPROTO_IPV6;
		*pkt_expect_put(x, "outer hop_limit", NULL, 1) = 64;
		pkt_addr(ENC_SRC6, src);
		src[3] = (src[3] & ~htonl(ENC_MASK6)) | htonl(hash & ENC_MASK6);
		pkt_expect_put(x, "outer saddr", src, 16);
		pkt_expect_put(x, "outer daddr", be.addr, 16);
	}
	pkt_expect_put(x, "inner packet (the input's L3)", l3, l3_len);
	if (in->len > in->l3_off + l3_len)
		pkt_expect_put(x, "ethernet padding (kept)", l3 + l3_len,
			       in->len - in->l3_off - l3_len);
	return 0;
}

/* An IPv4 UDP datagram sent without a checksum (IPv6 ones must have one). */
static void udp_no_csum(struct pkt *p)
{
	if (p->data[p->l3_off] >> 4 == 4)
		pkt_put_be16(p->data + p->l4_off + 6, 0);
}

/*
 * The GUE frame (docs/SECOND_CHANCE.md, "Wire format"): outer IP, UDP from
 * 0xc000 | (hash & 0x3fff) to the GUE port, GUE with xlb's private word,
 * the slot's secondaries that are not DOWN as hops (room for two, zero
 * beyond count), the input's L3 packet. The IPv6 UDP checksum is computed
 * here over every byte of the expected datagram; over IPv4 it is zero.
 */
static int expect_gue(struct env *e, const struct xlb_case *c, const struct pkt *in,
		      struct pkt_expect *x)
{
	const __u8 *l3 = in->data + in->l3_off;
	int inner4 = l3[0] >> 4 == 4, i, nhops = 0;
	size_t l3_len = inner4 ? (size_t)(l3[2] << 8 | l3[3]) : (size_t)(40 + (l3[4] << 8 | l3[5]));
	__u8 tos = inner4 ? l3[1] : (l3[0] << 4 | l3[1] >> 4);
	size_t hop_len, udp_off, udp_len;
	const struct vip_def *v;
	struct xlb_backend be, sb;
	struct xlb_vip vip;
	__u8 hops[2][16] = {}, *u;
	__be32 src[4];
	__u32 hash, sum;

	if (spec_hash(e, &c->pkt, &hash, &vip))
		return -1;
	if (backend_get(e, e->want_be, &be))
		return fail(e, "backend %u: lookup failed", e->want_be);
	v = vip_def(e, vip.id);
	hop_len = be.family == XLB_AF_INET ? 4 : 16;
	for (i = 0; v && i < 2; i++) {
		if (!v->second[i] || backend_get(e, v->second[i], &sb) || sb.state == XLB_BE_DOWN ||
		    sb.state == XLB_BE_UNUSED)
			continue;
		memcpy(hops[nhops++], sb.addr, hop_len);
	}
	udp_len = 8 + 8 + 2 * hop_len + l3_len;
	memset(x, 0, sizeof(*x));
	if (be.family == XLB_AF_INET) {
		expect_l2(x, in, e->want_be, 0x0800);
		*pkt_expect_put(x, "outer version/ihl", NULL, 1) = 0x45;
		*pkt_expect_put(x, "outer tos", NULL, 1) = tos;
		pkt_put_be16(pkt_expect_put(x, "outer tot_len", NULL, 2), 20 + udp_len);
		pkt_expect_put(x, "outer id", NULL, 2);
		pkt_put_be16(pkt_expect_put(x, "outer frag_off (DF)", NULL, 2),
			     inner4 && (l3[6] & 0x40) ? 0x4000 : 0);
		*pkt_expect_put(x, "outer ttl", NULL, 1) = 64;
		*pkt_expect_put(x, "outer protocol (udp)", NULL, 1) = IPPROTO_UDP;
		pkt_expect_put(x, "outer check", NULL, 2);
		pkt_addr(ENC_SRC4, src);
		src[0] = (src[0] & ~htonl(ENC_MASK4)) | htonl(hash & ENC_MASK4);
		pkt_expect_put(x, "outer saddr", src, 4);
		pkt_expect_put(x, "outer daddr", be.addr, 4);
		u = x->data + x->len - 20;
		pkt_put_be16(u + 10, pkt_csum_fold(pkt_csum_add(0, u, 20)));
	} else {
		expect_l2(x, in, e->want_be, 0x86dd);
		pkt_put_be32(pkt_expect_put(x, "outer version/class/flow label", NULL, 4),
			     6U << 28 | (__u32)tos << 20 | (hash & 0xfffff));
		pkt_put_be16(pkt_expect_put(x, "outer payload_len", NULL, 2), udp_len);
		*pkt_expect_put(x, "outer nexthdr (udp)", NULL, 1) = IPPROTO_UDP;
		*pkt_expect_put(x, "outer hop_limit", NULL, 1) = 64;
		pkt_addr(ENC_SRC6, src);
		src[3] = (src[3] & ~htonl(ENC_MASK6)) | htonl(hash & ENC_MASK6);
		pkt_expect_put(x, "outer saddr", src, 16);
		pkt_expect_put(x, "outer daddr", be.addr, 16);
	}
	udp_off = x->len;
	pkt_put_be16(pkt_expect_put(x, "udp sport", NULL, 2), 0xc000 | (hash & 0x3fff));
	pkt_put_be16(pkt_expect_put(x, "udp dport (gue port)", NULL, 2), XLB_GUE_PORT_DEFAULT);
	pkt_put_be16(pkt_expect_put(x, "udp length", NULL, 2), udp_len);
	pkt_expect_put(x, "udp check", NULL, 2);
	*pkt_expect_put(x, "gue version/C/hlen", NULL, 1) = (__u8)(1 + 2 * hop_len / 4);
	*pkt_expect_put(x, "gue proto", NULL, 1) = inner4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	pkt_expect_put(x, "gue flags", NULL, 2);
	pkt_put_be16(pkt_expect_put(x, "gue private type", NULL, 2), XLB_GUE_PRIV_TYPE);
	*pkt_expect_put(x, "gue next hop", NULL, 1) = 0;
	*pkt_expect_put(x, "gue hop count", NULL, 1) = nhops;
	pkt_expect_put(x, "hop 1", hops[0], hop_len);
	pkt_expect_put(x, "hop 2", hops[1], hop_len);
	pkt_expect_put(x, "inner packet (the input's L3)", l3, l3_len);
	if (be.family == XLB_AF_INET6 && !(c->mangle == udp_no_csum)) {
		u = x->data + udp_off;
		sum = pkt_pseudo_sum(6, u - 32, u - 16, IPPROTO_UDP, udp_len);
		pkt_put_be16(u + 6, pkt_csum_fold(pkt_csum_add(sum, u, udp_len)) ?: 0xffff);
	}
	if (in->len > in->l3_off + l3_len)
		pkt_expect_put(x, "ethernet padding (kept)", l3 + l3_len,
			       in->len - in->l3_off - l3_len);
	return 0;
}

static int expect_l2_mode(struct env *e, const struct pkt *in, struct pkt_expect *x)
{
	memset(x, 0, sizeof(*x));
	expect_l2(x, in, e->want_be, in->data[in->l3_off - 2] << 8 | in->data[in->l3_off - 1]);
	pkt_expect_put(x, "L3 packet (untouched)", in->data + in->l3_off, in->len - in->l3_off);
	return 0;
}

/* The too-big answer: MACs swapped, VIP -> client, quoting the input. */
static int expect_too_big(struct env *e, const struct pkt *in, struct pkt_expect *x)
{
	const __u8 *l3 = in->data + in->l3_off;
	size_t quote, mtu;
	struct xlb_backend be;
	__u32 sum;
	__u8 *h;

	if (backend_get(e, e->want_be, &be))
		return fail(e, "backend %u: lookup failed", e->want_be);
	if (e->setup->vips[0].flags & XLB_VIP_F_GUE)
		mtu = (e->setup->mtu ?: NH_MTU) - (be.family == XLB_AF_INET ? 44 : 88);
	else
		mtu = (e->setup->mtu ?: NH_MTU) - (be.family == XLB_AF_INET ? 20 : 40);
	memset(x, 0, sizeof(*x));
	pkt_expect_put(x, "eth dest (client)", in->data + 6, 6);
	pkt_expect_put(x, "eth source (LB)", in->data, 6);
	pkt_expect_put(x, "ethertype (and tag)", in->data + 12, in->l3_off - 12);

	if (l3[0] >> 4 == 4) {
		quote = (l3[0] & 0xf) * 4 + 8;
		*pkt_expect_put(x, "ip version/ihl", NULL, 1) = 0x45;
		pkt_expect_put(x, "ip tos", NULL, 1);
		pkt_put_be16(pkt_expect_put(x, "ip tot_len", NULL, 2), 28 + quote);
		pkt_expect_put(x, "ip id and frag_off", NULL, 4);
		*pkt_expect_put(x, "ip ttl", NULL, 1) = 64;
		*pkt_expect_put(x, "ip protocol", NULL, 1) = IPPROTO_ICMP;
		pkt_expect_put(x, "ip check", NULL, 2);
		pkt_expect_put(x, "ip saddr (VIP)", l3 + 16, 4);
		pkt_expect_put(x, "ip daddr (client)", l3 + 12, 4);
		*pkt_expect_put(x, "icmp type", NULL, 1) = ICMP_UNREACH;
		*pkt_expect_put(x, "icmp code", NULL, 1) = ICMP_FRAG_NEEDED;
		pkt_expect_put(x, "icmp checksum", NULL, 2);
		pkt_expect_put(x, "icmp unused", NULL, 2);
		pkt_put_be16(pkt_expect_put(x, "icmp mtu", NULL, 2), mtu);
		pkt_expect_put(x, "icmp quote", l3, quote);
		h = x->data + in->l3_off;
		pkt_put_be16(h + 10, pkt_csum_fold(pkt_csum_add(0, h, 20)));
		pkt_put_be16(h + 22, pkt_csum_fold(pkt_csum_add(0, h + 20, 8 + quote)));
		return 0;
	}
	quote = 128;
	pkt_put_be32(pkt_expect_put(x, "ip6 version/class/flow label", NULL, 4), 6U << 28);
	pkt_put_be16(pkt_expect_put(x, "ip6 payload_len", NULL, 2), 8 + quote);
	*pkt_expect_put(x, "ip6 nexthdr", NULL, 1) = IPPROTO_ICMPV6;
	*pkt_expect_put(x, "ip6 hop_limit", NULL, 1) = 64;
	pkt_expect_put(x, "ip6 saddr (VIP)", l3 + 24, 16);
	pkt_expect_put(x, "ip6 daddr (client)", l3 + 8, 16);
	*pkt_expect_put(x, "icmp6 type", NULL, 1) = ICMP6_PKT_TOO_BIG;
	pkt_expect_put(x, "icmp6 code", NULL, 1);
	pkt_expect_put(x, "icmp6 checksum", NULL, 2);
	pkt_put_be32(pkt_expect_put(x, "icmp6 mtu", NULL, 4), mtu < 1280 ? 1280 : mtu);
	pkt_expect_put(x, "icmp6 quote", l3, quote);
	h = x->data + in->l3_off;
	sum = pkt_pseudo_sum(6, h + 8, h + 24, IPPROTO_ICMPV6, 8 + quote);
	pkt_put_be16(h + 42, pkt_csum_fold(pkt_csum_add(sum, h + 40, 8 + quote)));
	return 0;
}

/* Checksums of what the program wrote, checked on the output itself. */
static int check_csums(struct env *e, const struct pkt *in, const struct pkt *out)
{
	const __u8 *h = out->data + in->l3_off;
	size_t left = out->len - in->l3_off;
	__u32 pseudo;

	if (out->len < in->l3_off + 40)
		return fail(e, "output too short: %zu bytes", out->len);
	if (h[0] >> 4 == 4) {
		if (!pkt_csum_ok(h, 20, 0))
			return fail(e, "IPv4 header checksum of the output is invalid");
		if (h[9] == IPPROTO_ICMP && !pkt_csum_ok(h + 20, left - 20, 0))
			return fail(e, "ICMP checksum of the output is invalid");
	} else if (h[6] == IPPROTO_ICMPV6) {
		pseudo = pkt_pseudo_sum(6, h + 8, h + 24, IPPROTO_ICMPV6, left - 40);
		if (!pkt_csum_ok(h + 40, left - 40, pseudo))
			return fail(e, "ICMPv6 checksum of the output is invalid");
	}
	return 0;
}

/* --- NAT: expected frames, rebuilt from scratch ---------------------------- */

static const __u8 node_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xbe};

static int nat_fwd_get(struct env *e, const struct pkt_spec *s, struct xlb_nat_fwd *f)
{
	struct xlb_flow_key k;

	flow_key(s, &k);
	return bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_nat_fwd), &k, f) ? -errno : 0;
}

static int nat_rev_get(struct env *e, const struct xlb_nat_fwd *f, __u8 proto, __u8 family,
		       struct xlb_nat_rev *r)
{
	struct xlb_nat_rkey k = {.node_port = f->node_port,
				 .nat_port = f->nat_port,
				 .proto = proto,
				 .family = family};

	memcpy(k.node, f->node, sizeof(k.node));
	return bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_nat_rev), &k, r) ? -errno : 0;
}

static const struct be_def *be_def(struct env *e, __u32 id)
{
	int i;

	for (i = 0; i < 5 && e->setup->bes[i].id; i++)
		if (e->setup->bes[i].id == id)
			return &e->setup->bes[i];
	return NULL;
}

/*
 * A built frame as named fields, so that a checksum or address that
 * differs is reported by name ("byte 50 (tcp check): ...").
 */
static void expect_nat_fields(struct pkt_expect *x, const struct pkt *b, __u8 proto)
{
	const __u8 *d = b->data;
	size_t ip = b->l3_off, l4 = b->l4_off;

	memset(x, 0, sizeof(*x));
	pkt_expect_put(x, "eth dest", d, 6);
	pkt_expect_put(x, "eth source", d + 6, 6);
	pkt_expect_put(x, "ethertype (and tag)", d + 12, ip - 12);
	if (d[ip] >> 4 == 4) {
		pkt_expect_put(x, "ip header up to check", d + ip, 10);
		pkt_expect_put(x, "ip check", d + ip + 10, 2);
		pkt_expect_put(x, "ip saddr", d + ip + 12, 4);
		pkt_expect_put(x, "ip daddr", d + ip + 16, 4);
		if (l4 > ip + 20)
			pkt_expect_put(x, "ip options", d + ip + 20, l4 - ip - 20);
	} else {
		pkt_expect_put(x, "ip6 header up to saddr", d + ip, 8);
		pkt_expect_put(x, "ip6 saddr", d + ip + 8, 16);
		pkt_expect_put(x, "ip6 daddr", d + ip + 24, 16);
		if (l4 > ip + 40)
			pkt_expect_put(x, "ip6 extension headers", d + ip + 40, l4 - ip - 40);
	}
	pkt_expect_put(x, "sport", d + l4, 2);
	pkt_expect_put(x, "dport", d + l4 + 2, 2);
	if (proto == IPPROTO_TCP) {
		pkt_expect_put(x, "tcp seq/ack/flags/window", d + l4 + 4, 12);
		pkt_expect_put(x, "tcp check", d + l4 + 16, 2);
		pkt_expect_put(x, "tcp urgent, options, payload", d + l4 + 18, b->len - l4 - 18);
	} else {
		pkt_expect_put(x, "udp length", d + l4 + 4, 2);
		pkt_expect_put(x, "udp check", d + l4 + 6, 2);
		pkt_expect_put(x, "udp payload", d + l4 + 8, b->len - l4 - 8);
	}
}

/* Client -> VIP became NAT address:port -> node:node port, checksums fresh. */
static int expect_nat(struct env *e, const struct xlb_case *c, struct pkt_expect *x)
{
	struct pkt_spec s = e->in_spec;
	const struct be_def *b = be_def(e, e->want_be);
	struct xlb_nat_fwd f;
	struct pkt out;
	int i;

	if (!b)
		return fail(e, "backend %u is not in the setup", e->want_be);
	if (nat_fwd_get(e, &s, &f))
		return fail(e, "xlb_nat_fwd has no entry for the packet's 5-tuple");
	s.src = strchr(s.dst, ':') ? NAT6 : NAT4;
	s.dst = b->addr;
	s.sport = ntohs(f.nat_port);
	s.dport = b->port ?: s.dport;
	if (pkt_build(&out, &s))
		return fail(e, "cannot build the expected packet");
	if (c->mangle)
		c->mangle(&out);
	for (i = 0; i < 6; i++)
		out.data[i] = nh_dmac(e->want_be, i);
	memcpy(out.data + 6, pkt_mac_lb, 6);
	expect_nat_fields(x, &out, s.proto);
	return 0;
}

/* node:port -> NAT address:port became VIP:vport -> client, to the client's MAC. */
static int expect_nat_reply(struct env *e, const struct xlb_case *c, struct pkt_expect *x)
{
	struct pkt_spec s = e->in_spec;
	struct pkt out;

	s.src = c->first->dst;
	s.dst = c->first->src;
	s.sport = c->first->dport;
	s.dport = c->first->sport;
	if (pkt_build(&out, &s))
		return fail(e, "cannot build the expected packet");
	if (c->mangle)
		c->mangle(&out);
	memcpy(out.data, pkt_mac_client, 6);
	memcpy(out.data + 6, pkt_mac_lb, 6);
	expect_nat_fields(x, &out, s.proto);
	return 0;
}

static int check_output(struct env *e, const struct xlb_case *c, const struct pkt *in,
			const struct pkt *out)
{
	struct pkt_expect x;
	char msg[256];
	int err = 0;

	switch (c->out) {
	case OUT_NONE:
		return 0;
	case OUT_SAME:
		pkt_expect_frame(&x, in);
		break;
	case OUT_ENCAP:
		err = check_csums(e, in, out) ?: expect_encap(e, c, in, &x);
		break;
	case OUT_GUE:
		err = check_csums(e, in, out) ?: expect_gue(e, c, in, &x);
		break;
	case OUT_L2:
		err = expect_l2_mode(e, in, &x);
		break;
	case OUT_TOO_BIG:
		err = check_csums(e, in, out) ?: expect_too_big(e, in, &x);
		break;
	case OUT_NAT:
		err = expect_nat(e, c, &x);
		break;
	case OUT_NAT_REPLY:
		err = expect_nat_reply(e, c, &x);
		break;
	}
	if (err)
		return err;
	if (pkt_expect_cmp(&x, out->data, out->len, msg, sizeof(msg)))
		return fail(e, "output %s", msg);
	return 0;
}

/* --- checks beyond the output -------------------------------------------- */

/* The packet's flow, from the flow cache (any CPU's way) or xlb_flows. */
static int flow_get(struct env *e, const struct pkt_spec *s, struct xlb_flow *f)
{
	struct xlb_flow_key k;

	flow_key(s, &k);
	return xlb_flow_lookup(&e->m, &k, f);
}

/* Flows of every kind (bpftest_flows_count); -errno. */
static int flows_count(struct env *e)
{
	return (int)bpftest_flows_count(&e->m);
}

/*
 * The way of key k in this CPU's set for it (include/xlb/flowcache.h: the
 * set at the 5-tuple's hash, with the seed the setup writes), or -1; the
 * set read into *set4 or *set6 by its family.
 */
static int fc_way(struct env *e, const struct xlb_flow_key *k, struct xlb_fc_set4 *set4,
		  struct xlb_fc_set6 *set6)
{
	__u32 h5 = xlb_flow_hash(k, SEED, 0), idx, i;

	if (k->family == XLB_AF_INET) {
		idx = xlb_fc_index(e->cpu, e->skel->rodata->xlb_fc4_bits, h5);
		if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_fc4), &idx, set4)) {
			fail(e, "xlb_fc4 set %u: lookup failed", idx);
			return -2;
		}
		for (i = 0; i < XLB_FC4_WAYS; i++)
			if (set4->proto[i] == k->proto && set4->w[i].saddr == k->saddr[0] &&
			    set4->w[i].daddr == k->daddr[0] && set4->w[i].sport == k->sport &&
			    set4->w[i].dport == k->dport)
				return i;
		return -1;
	}
	idx = xlb_fc_index(e->cpu, e->skel->rodata->xlb_fc6_bits, h5);
	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_fc6), &idx, set6)) {
		fail(e, "xlb_fc6 set %u: lookup failed", idx);
		return -2;
	}
	for (i = 0; i < XLB_FC6_WAYS; i++)
		if (set6->proto[i] == k->proto && set6->w[i].sport == k->sport &&
		    set6->w[i].dport == k->dport &&
		    !memcmp(set6->w[i].saddr, k->saddr, sizeof(k->saddr)) &&
		    !memcmp(set6->w[i].daddr, k->daddr, sizeof(k->daddr)))
			return i;
	return -1;
}

/*
 * The packet's flow is where its VIP keeps flows: a least_conn VIP's in
 * xlb_flows and in no cache way, any other's in a way of its set on this
 * CPU (ref and meta as flowcache.h packs them) and not in xlb_flows.
 */
static int check_flow_place(struct env *e, const struct pkt_spec *s, const struct xlb_vip *vip,
			    const struct xlb_flow *f)
{
	struct xlb_fc_set4 set4;
	struct xlb_fc_set6 set6;
	struct xlb_flow_key k;
	struct xlb_flow lf;
	__u32 ref, meta;
	int way, in_table;

	flow_key(s, &k);
	in_table = !bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_flows), &k, &lf);
	way = fc_way(e, &k, &set4, &set6);
	if (way < -1)
		return -1;
	if (vip->flags & XLB_VIP_F_LEAST_CONN) {
		if (!in_table)
			return fail(e, "least_conn flow: no entry in xlb_flows");
		if (way >= 0)
			return fail(e, "least_conn flow: also in the flow cache (way %d)", way);
		return 0;
	}
	if (in_table)
		return fail(e, "flow of a VIP without least_conn: in xlb_flows (backend %u)",
			    lf.backend_id);
	if (way < 0)
		return fail(e, "flow cache: no way of the packet's set on CPU %d holds it", e->cpu);
	ref = k.family == XLB_AF_INET ? set4.w[way].ref : set6.w[way].ref;
	meta = k.family == XLB_AF_INET ? set4.w[way].meta : set6.w[way].meta;
	if (ref != xlb_fc_ref(f->backend_id, xlb_fc_gen(f->be_gen)) ||
	    xlb_fc_meta_vip(meta) != vip->id)
		return fail(e,
			    "flow cache way %d: ref %#x VIP %u, expected backend %u gen %u VIP %u",
			    way, ref, xlb_fc_meta_vip(meta), f->backend_id, f->be_gen, vip->id);
	return 0;
}

/*
 * The packet's flow is remembered, on the backend it went to, with its
 * generation: whole in xlb_flows, its low bits in a cache way.
 */
static int check_flow(struct env *e, const struct xlb_case *c, const struct pkt *in,
		      const struct pkt *out)
{
	struct xlb_backend be;
	struct xlb_vip vip;
	struct xlb_flow f;
	__u32 hash;
	__u16 gen;

	if (flow_get(e, &c->pkt, &f))
		return fail(e, "no flow (cache or xlb_flows) for the packet's 5-tuple");
	if (spec_hash(e, &c->pkt, &hash, &vip))
		return -1;
	if (f.backend_id != e->want_be || f.vip_id != vip.id)
		return fail(e, "flow entry: expected backend %u VIP %u, got backend %u VIP %u",
			    e->want_be, vip.id, f.backend_id, f.vip_id);
	if (backend_get(e, f.backend_id, &be))
		return fail(e, "backend %u: lookup failed", f.backend_id);
	gen = vip.flags & XLB_VIP_F_LEAST_CONN ? be.gen : xlb_fc_gen(be.gen);
	if (f.be_gen != gen)
		return fail(e, "flow entry: generation %u, its backend %u has %u (kept: %u)",
			    f.be_gen, f.backend_id, be.gen, gen);
	return check_flow_place(e, &c->pkt, &vip, &f);
}

/* --- the flow cache (bpf/lib/flowcache.h) --------------------------------- */

#define FC_FLOWS 6 /* flows of one set a script names: 0 (the case's packet) .. 5 */

/* This CPU's set of the 5-tuple of s (include/xlb/flowcache.h). */
static __u32 fc_set_of(struct env *e, const struct pkt_spec *s)
{
	struct xlb_flow_key k;
	__u32 bits;

	flow_key(s, &k);
	bits = k.family == XLB_AF_INET ? e->skel->rodata->xlb_fc4_bits
				       : e->skel->rodata->xlb_fc6_bits;
	return xlb_fc_index(e->cpu, bits, xlb_flow_hash(&k, SEED, 0));
}

/* f[1] .. f[n - 1]: f[0] with other source ports, each 5-tuple in f[0]'s set. */
static int fc_same_set(struct env *e, struct pkt_spec *f, int n)
{
	__u32 set = fc_set_of(e, &f[0]);
	int i = 1, port;

	for (port = 1024; port < 65536 && i < n; port++) {
		if (port == f[0].sport)
			continue;
		f[i] = f[0];
		f[i].sport = port;
		if (fc_set_of(e, &f[i]) == set)
			i++;
	}
	if (i < n)
		return fail(e, "only %d flows of the case's set found", i);
	return 0;
}

/* Non-free ways of the flow cache, every set of every CPU. */
static int fc_ways_count(struct env *e)
{
	struct xlb_fc_set4 s4;
	struct xlb_fc_set6 s6;
	__u32 i, w, n4 = bpf_map__max_entries(e->skel->maps.xlb_fc4),
		    n6 = bpf_map__max_entries(e->skel->maps.xlb_fc6);
	int n = 0;

	for (i = 0; i < n4; i++) {
		if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_fc4), &i, &s4))
			return -errno;
		for (w = 0; w < XLB_FC4_WAYS; w++)
			n += !!s4.proto[w];
	}
	for (i = 0; i < n6; i++) {
		if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_fc6), &i, &s6))
			return -errno;
		for (w = 0; w < XLB_FC6_WAYS; w++)
			n += !!s6.proto[w];
	}
	return n;
}

/*
 * Run the case's script over flows of the packet's set, the packet being
 * flow 0 (on backend want_be): "nK" a new flow K (a SYN, to want_be), "hK"
 * a packet of flow K (an ACK: a hit, to its backend), "pK" flow K is in
 * its set (and found on its backend), "xK" no CPU holds it. Then the
 * slots of the flows it checked go to the other backend: a flow still
 * cached keeps its own, one evicted goes there.
 */
static int check_fc_script(struct env *e, const struct xlb_case *c, const struct pkt *in,
			   const struct pkt *out)
{
	struct pkt_spec f[FC_FLOWS];
	__u32 be[FC_FLOWS] = {e->want_be}, other, id;
	int state[FC_FLOWS] = {0}; /* 1 present, -1 absent, as last asserted */
	struct xlb_fc_set4 s4;
	struct xlb_fc_set6 s6;
	struct xlb_flow_key k;
	struct xlb_flow fl;
	const char *p;
	int i, err, pass;

	f[0] = c->pkt;
	if (fc_same_set(e, f, FC_FLOWS))
		return -1;
	other = e->want_be == 1 ? 2 : 6;
	for (p = c->script; p[0] && p[1]; p += p[2] ? 3 : 2) {
		i = p[1] - '0';
		if (i < 0 || i >= FC_FLOWS)
			return fail(e, "script: no flow %c", p[1]);
		switch (p[0]) {
		case 'n':
		case 'h':
			f[i].tcp_flags = p[0] == 'n' ? TCP_SYN : TCP_ACK;
			if (run_to_backend(e, &f[i], &id, NULL))
				return -1;
			if (id != (p[0] == 'n' ? e->want_be : be[i]))
				return fail(e,
					    "step %.2s: flow %d (port %u) went to backend %u, "
					    "expected %u",
					    p, i, f[i].sport, id, p[0] == 'n' ? e->want_be : be[i]);
			be[i] = id;
			break;
		case 'p':
			flow_key(&f[i], &k);
			err = fc_way(e, &k, &s4, &s6);
			if (err < -1)
				return -1;
			if (err < 0)
				return fail(e, "step %.2s: flow %d (port %u) not in its set", p, i,
					    f[i].sport);
			if (xlb_flow_lookup(&e->m, &k, &fl) || fl.backend_id != be[i] ||
			    fl.vip_id != 1)
				return fail(e, "step %.2s: flow %d: no flow on backend %u VIP 1", p,
					    i, be[i]);
			state[i] = 1;
			break;
		case 'x':
			flow_key(&f[i], &k);
			err = xlb_flow_lookup(&e->m, &k, &fl);
			if (err != -ENOENT)
				return fail(e, "step %.2s: flow %d (port %u): %s, expected evicted",
					    p, i, f[i].sport, err ? strerror(-err) : "still there");
			state[i] = -1;
			break;
		default:
			return fail(e, "script: no step %c", p[0]);
		}
	}
	for (i = 0; i < FC_FLOWS; i++)
		if (state[i] && slot_set(e, &f[i], other))
			return -1;
	/* Cached flows first: a miss makes a flow, which may evict another. */
	for (pass = 1; pass >= -1; pass -= 2)
		for (i = 0; i < FC_FLOWS; i++) {
			if (state[i] != pass)
				continue;
			f[i].tcp_flags = TCP_ACK;
			if (run_to_backend(e, &f[i], &id, NULL))
				return -1;
			if (id != (pass > 0 ? be[i] : other))
				return fail(e, "table moved to %u: flow %d (%s) went to %u", other,
					    i, pass > 0 ? "cached" : "evicted", id);
		}
	return 0;
}

/* Run s on CPU cpu, then come back to the test's CPU; its backend in *id. */
static int run_on_cpu(struct env *e, int cpu, const struct pkt_spec *s, __u32 *id)
{
	cpu_set_t cpus;
	int err;

	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		return fail(e, "cannot run on CPU %d: %s", cpu, strerror(errno));
	err = run_to_backend(e, s, id, NULL);
	CPU_ZERO(&cpus);
	CPU_SET(e->cpu, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		return fail(e, "cannot come back to CPU %d: %s", e->cpu, strerror(errno));
	return err;
}

/*
 * Connections whose packets moved CPUs (bpf/lib/flowcache.h,
 * xlb_fc_probe): two opened on another CPU, then their slots moved to
 * the other backend. An ACK of the first, here, finds the other CPU's way
 * and keeps its backend, and this CPU's set then holds the flow; a SYN of
 * the second does not look and follows the table.
 */
static int check_fc_moved(struct env *e, const struct xlb_case *c, const struct pkt *in,
			  const struct pkt *out)
{
	struct pkt_spec f[2] = {c->pkt, c->pkt};
	__u32 other = e->want_be == 1 ? 2 : 6, id;
	struct xlb_fc_set4 s4;
	struct xlb_fc_set6 s6;
	struct xlb_flow_key k;
	int cpu = e->cpu - 1, i; /* e->cpu is the highest CPU the test may use */

	if (cpu < 0) {
		snprintf(e->t.msg, sizeof(e->t.msg),
			 "one CPU only: no other CPU to open a flow on");
		return 1;
	}
	for (i = 0; i < 2; i++) {
		f[i].sport = c->pkt.sport + 1 + i;
		f[i].tcp_flags = TCP_SYN;
		if (run_on_cpu(e, cpu, &f[i], &id))
			return -1;
		if (id != e->want_be)
			return fail(e, "connection %d on CPU %d: backend %u, expected %u", i, cpu,
				    id, e->want_be);
		flow_key(&f[i], &k);
		if (fc_way(e, &k, &s4, &s6) != -1)
			return fail(e, "connection %d opened on CPU %d has a way on CPU %d", i, cpu,
				    e->cpu);
	}
	if (slot_set(e, &f[0], other) || slot_set(e, &f[1], other))
		return -1;
	f[0].tcp_flags = TCP_ACK;
	if (run_to_backend(e, &f[0], &id, NULL))
		return -1;
	if (id != e->want_be)
		return fail(e, "ACK of the moved connection: backend %u, expected its %u", id,
			    e->want_be);
	flow_key(&f[0], &k);
	if (fc_way(e, &k, &s4, &s6) < 0)
		return fail(e, "the moved connection has no way on CPU %d after its ACK", e->cpu);
	if (run_to_backend(e, &f[1], &id, NULL))
		return -1;
	return id == other ? 0
			   : fail(e,
				  "SYN of the second connection: backend %u, expected the "
				  "table's %u",
				  id, other);
}

/*
 * The hash seed changed under a cached connection (an agent reload with
 * another hash_seed): its ACK keeps its backend, found in the set of the
 * seed the cache was made with (xlb_fc_seed), where a new connection's
 * flow goes too; a second change keeps that seed.
 */
static int check_fc_reseed(struct env *e, const struct xlb_case *c, const struct pkt *in,
			   const struct pkt *out)
{
	struct pkt_spec f[2] = {c->pkt, c->pkt};
	__u32 other = e->want_be == 1 ? 2 : 6, id, s, hash, slots[16];
	struct xlb_config cfg;
	struct xlb_vip vip;
	struct xlb_fc_set4 s4;
	struct xlb_fc_set6 s6;
	struct xlb_flow_key k;
	int i;

	/* Every slot to the other backend: only the flow keeps the first. */
	if (spec_hash(e, &f[0], &hash, &vip))
		return -1;
	if (vip.table_size > 16)
		return fail(e, "table of %u slots, the check writes 16 at most", vip.table_size);
	for (s = 0; s < vip.table_size; s++)
		slots[s] = other;
	if (bpftest_slots_write(e->skel, vip.table_off, slots, vip.table_size))
		return fail(e, "cannot write the table: %s", strerror(errno));
	for (s = 1; s <= 2; s++) {
		if (xlb_config_get(&e->m, &cfg))
			return fail(e, "cannot read xlb_config");
		xlb_config_reseed(&cfg, SEED ^ (0x5a5a0000 + s));
		if (xlb_config_set(&e->m, &cfg))
			return fail(e, "cannot write xlb_config");
		if (xlb_fc_seed(&cfg) != SEED || !(cfg.flags & XLB_CFG_F_FC_SEED))
			return fail(e, "change %u: the cache's seed is %u, expected %u", s,
				    xlb_fc_seed(&cfg), SEED);
		f[0].tcp_flags = TCP_ACK;
		if (run_to_backend(e, &f[0], &id, NULL))
			return -1;
		if (id != e->want_be)
			return fail(e,
				    "seed change %u: the connection's ACK went to %u, expected %u",
				    s, id, e->want_be);
	}
	f[1].sport = c->pkt.sport + 1;
	if (run_to_backend(e, &f[1], &id, NULL))
		return -1;
	if (id != other)
		return fail(e, "a new connection after the change: backend %u, expected %u", id,
			    other);
	for (i = 0; i < 2; i++) {
		flow_key(&f[i], &k);
		if (fc_way(e, &k, &s4, &s6) < 0)
			return fail(e, "connection %d not in its set by the cache's seed", i);
	}
	return 0;
}

/* Every slot of s's VIP to backend id. */
static int slots_all(struct env *e, const struct pkt_spec *s, __u32 id)
{
	struct xlb_vip vip;
	__u32 hash, slots[16], i;

	if (spec_hash(e, s, &hash, &vip))
		return -1;
	if (vip.table_size > 16)
		return fail(e, "table of %u slots, 16 at most here", vip.table_size);
	for (i = 0; i < vip.table_size; i++)
		slots[i] = id;
	if (bpftest_slots_write(e->skel, vip.table_off, slots, vip.table_size))
		return fail(e, "cannot write the table: %s", strerror(errno));
	return 0;
}

/* Turn least_conn on or off for s's VIP, as a change of its upstream's type does. */
static int vip_least_conn(struct env *e, const struct pkt_spec *s, int on)
{
	struct xlb_vip_key k = {0};
	struct xlb_flow_key fk;
	struct xlb_vip vip;

	flow_key(s, &fk);
	if (vip_find(e, &fk, &vip))
		return fail(e, "no VIP for the packet");
	memcpy(k.addr, fk.daddr, sizeof(k.addr));
	k.port = fk.dport;
	k.proto = fk.proto;
	k.family = fk.family;
	vip.flags = on ? vip.flags | XLB_VIP_F_LEAST_CONN : vip.flags & ~XLB_VIP_F_LEAST_CONN;
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_vips), &k, &vip, BPF_EXIST))
		return fail(e, "cannot rewrite the VIP: %s", strerror(errno));
	return 0;
}

/*
 * A VIP whose kind changes under its connections (an upstream's type to
 * or from least_conn): a connection begun in the flow cache keeps its
 * backend once least_conn, through an uncounted entry of xlb_flows; one
 * begun in xlb_flows keeps its own once not least_conn, through a way.
 */
static int check_fc_kind(struct env *e, const struct xlb_case *c, const struct pkt *in,
			 const struct pkt *out)
{
	struct pkt_spec f[2] = {c->pkt, c->pkt};
	__u32 other = e->want_be == 1 ? 2 : 6, id, first;
	struct xlb_fc_set4 s4;
	struct xlb_fc_set6 s6;
	struct xlb_flow_key k;
	struct xlb_flow fl;

	/* The case's packet opened f[0] in the cache on want_be. */
	f[0].tcp_flags = TCP_ACK;
	if (vip_least_conn(e, &f[0], 1) || slots_all(e, &f[0], other) ||
	    run_to_backend(e, &f[0], &id, NULL))
		return -1;
	if (id != e->want_be)
		return fail(e, "now least_conn: the cache's connection went to %u, expected %u", id,
			    e->want_be);
	flow_key(&f[0], &k);
	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_flows), &k, &fl) ||
	    fl.backend_id != e->want_be || fl.lc.flags)
		return fail(e, "no uncounted xlb_flows entry on backend %u for it", e->want_be);
	/* A connection begun while least_conn, then the VIP is not any more. */
	f[1].sport = c->pkt.sport + 1;
	if (run_to_backend(e, &f[1], &first, NULL))
		return -1;
	f[1].tcp_flags = TCP_ACK;
	if (vip_least_conn(e, &f[1], 0) ||
	    slots_all(e, &f[1], first == e->want_be ? other : e->want_be) ||
	    run_to_backend(e, &f[1], &id, NULL))
		return -1;
	if (id != first)
		return fail(e, "least_conn no more: its connection went to %u, expected %u", id,
			    first);
	flow_key(&f[1], &k);
	return fc_way(e, &k, &s4, &s6) >= 0
		       ? 0
		       : fail(e, "the least_conn connection has no way in the cache after its ACK");
}

/*
 * A VIP hashing on the client alone: two connections of the client, its
 * slot moved between them, each keep their own backend, each in the set
 * of its whole 5-tuple (not one set of the client's hash).
 */
static int check_fc_hash_src(struct env *e, const struct xlb_case *c, const struct pkt *in,
			     const struct pkt *out)
{
	struct pkt_spec f[2] = {c->pkt, c->pkt};
	__u32 other = e->want_be % 4 + 1, id, bits = e->skel->rodata->xlb_fc4_bits, src_set;
	struct xlb_fc_set4 s4;
	struct xlb_fc_set6 s6;
	struct xlb_flow_key k;
	struct xlb_flow fl;
	int i;

	f[1].sport = c->pkt.sport + 1;
	flow_key(&c->pkt, &k);
	src_set = xlb_fc_index(e->cpu, bits, xlb_flow_hash(&k, SEED, 1));
	for (; fc_set_of(e, &f[1]) == fc_set_of(e, &f[0]) || fc_set_of(e, &f[1]) == src_set;
	     f[1].sport++)
		;
	if (fc_set_of(e, &f[0]) == src_set)
		return fail(e, "vacuous: the packet's set is its client's hash's too");
	if (slot_set(e, &c->pkt, other) || run_to_backend(e, &f[1], &id, NULL))
		return -1;
	if (id != other)
		return fail(e, "second connection (port %u): backend %u, expected %u", f[1].sport,
			    id, other);
	f[0].tcp_flags = TCP_ACK;
	if (run_to_backend(e, &f[0], &id, NULL))
		return -1;
	if (id != e->want_be)
		return fail(e, "first connection, its slot moved: backend %u, expected its %u", id,
			    e->want_be);
	for (i = 0; i < 2; i++) {
		flow_key(&f[i], &k);
		if (fc_way(e, &k, &s4, &s6) < 0)
			return fail(e, "connection %d (port %u) not in its 5-tuple's set", i,
				    f[i].sport);
		if (xlb_flow_lookup(&e->m, &k, &fl) || fl.backend_id != (i ? other : e->want_be))
			return fail(e, "connection %d: no flow on backend %u", i,
				    i ? other : e->want_be);
	}
	i = fc_ways_count(e);
	return i == 2 ? 0 : fail(e, "%d cache ways, expected 2", i);
}

/*
 * The one flow is in the table its VIP keeps: a least_conn VIP's in
 * xlb_flows and no cache way anywhere, any other's in one cache way and
 * not in xlb_flows (check_flow: the way is its set's, the entry right).
 */
static int check_fc_table(struct env *e, const struct xlb_case *c, const struct pkt *in,
			  const struct pkt *out)
{
	int lc = !!(e->setup->vips[0].flags & XLB_VIP_F_LEAST_CONN);
	int ways = fc_ways_count(e), entries = hash_count(e->skel->maps.xlb_flows);

	if (ways < 0)
		return fail(e, "cannot read the flow cache: %s", strerror(-ways));
	if (ways != !lc || entries != lc)
		return fail(e, "%d cache ways and %d xlb_flows entries, expected %d and %d", ways,
			    entries, !lc, lc);
	return check_flow(e, c, in, out);
}

/* check_flow, and the first packet's backend id went round to generation 1. */
static int check_flow_gen_wrapped(struct env *e, const struct xlb_case *c, const struct pkt *in,
				  const struct pkt *out)
{
	struct xlb_backend be;

	if (backend_get(e, e->first_be, &be))
		return fail(e, "backend %u: lookup failed", e->first_be);
	if (be.gen != 1)
		return fail(e,
			    "backend %u: generation %u after 65535, a free and a reuse; expected 1",
			    e->first_be, be.gen);
	return check_flow(e, c, in, out);
}

static int check_no_flow(struct env *e, const struct xlb_case *c, const struct pkt *in,
			 const struct pkt *out)
{
	struct xlb_flow f;

	if (!flow_get(e, &c->pkt, &f))
		return fail(e, "a flow (backend %u) for the packet's 5-tuple, expected none",
			    f.backend_id);
	return 0;
}

/*
 * A stateless VIP's packet: no flow entry; a SYN is remembered in
 * xlb_syns, another packet is not (unless the case's first packet was).
 */
static int check_stateless(struct env *e, const struct xlb_case *c, const struct pkt *in,
			   const struct pkt *out)
{
	struct xlb_flow_key k;
	struct xlb_vip vip;
	struct xlb_syn sy;
	__u32 h5, slot;
	int found;

	if (check_no_flow(e, c, in, out) || spec_hash(e, &c->pkt, &h5, &vip))
		return -1;
	/* The slot and tag, from include/xlb/hash.h as bpf/lib/pick.h says. */
	flow_key(&c->pkt, &k);
	h5 = xlb_flow_hash(&k, SEED, 0);
	slot = h5 & ((1U << BPFTEST_SYN_BITS) - 1);
	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_syns), &slot, &sy))
		return fail(e, "xlb_syns slot %u: lookup failed", slot);
	found = sy.tag == (xlb_jhash_3words(h5, (__u32)k.sport << 16 | k.dport, vip.id, SEED) | 1);
	if ((c->pkt.tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN)
		return found && !c->first ? fail(e, "xlb_syns has an entry for a packet that is "
						    "no SYN")
					  : 0;
	if (!found)
		return fail(e, "xlb_syns has no entry for the SYN");
	if (sy.f.backend_id != e->want_be || !sy.f.created_ns || sy.f.vip_id != vip.id)
		return fail(e,
			    "xlb_syns: backend %u VIP %u created %llu, expected backend %u VIP %u",
			    sy.f.backend_id, sy.f.vip_id, (unsigned long long)sy.f.created_ns,
			    e->want_be, vip.id);
	return 0;
}

static int check_traffic(struct env *e, struct bpf_map *map, const char *what, __u32 id,
			 __u64 packets, __u64 bytes, __u64 new_flows)
{
	__u64 t[3];

	if (bpftest_percpu_sum(map, id, e->ncpu, t, 3))
		return fail(e, "%s %u: lookup failed", what, id);
	if (t[0] != packets || t[1] != bytes || t[2] != new_flows)
		return fail(e,
			    "%s %u: expected %llu packets %llu bytes %llu new flows, "
			    "got %llu %llu %llu",
			    what, id, (unsigned long long)packets, (unsigned long long)bytes,
			    (unsigned long long)new_flows, (unsigned long long)t[0],
			    (unsigned long long)t[1], (unsigned long long)t[2]);
	return 0;
}

/* Two packets of one flow: two packets counted, one new flow. */
static int check_stats_2nd(struct env *e, const struct xlb_case *c, const struct pkt *in,
			   const struct pkt *out)
{
	__u64 bytes = e->first_len + in->len;

	return check_traffic(e, e->skel->maps.xlb_vip_stats, "VIP", 1, 2, bytes, 1) ?:
	       check_traffic(e, e->skel->maps.xlb_backend_stats, "backend",
			     e->want_be, 2, bytes, 1) ?:
	       check_flow(e, c, in, out);
}

/* An ICMP error makes no flow of its own; both packets counted. */
static int check_icmp(struct env *e, const struct xlb_case *c, const struct pkt *in,
		      const struct pkt *out)
{
	int n = flows_count(e);

	if (n != 1)
		return fail(e, "flows: expected only the first packet's, got %d", n);
	return check_traffic(e, e->skel->maps.xlb_backend_stats, "backend", e->want_be, 2,
			     e->first_len + in->len, 1);
}

static int check_icmp_no_flow(struct env *e, const struct xlb_case *c, const struct pkt *in,
			      const struct pkt *out)
{
	int n = flows_count(e);

	if (n)
		return fail(e, "flows: expected none, got %d", n);
	return check_traffic(e, e->skel->maps.xlb_vip_stats, "VIP", 1, 1, in->len, 0);
}

/* An ICMP error left to the host: only the first packet's flow and counts. */
static int check_icmp_passed(struct env *e, const struct xlb_case *c, const struct pkt *in,
			     const struct pkt *out)
{
	int n = flows_count(e);

	if (n != 1)
		return fail(e, "flows: expected only the first packet's, got %d", n);
	return check_traffic(e, e->skel->maps.xlb_vip_stats, "VIP", 1, 1, e->first_len, 1) ?:
	       check_traffic(e, e->skel->maps.xlb_vip_stats, "VIP", 2, 0, 0, 0) ?:
	       check_traffic(e, e->skel->maps.xlb_backend_stats, "backend",
			     e->first_be, 1, e->first_len, 1);
}

/* Many flows over a table filled 1:3 land near 1:3. */
static int check_weights(struct env *e, const struct xlb_case *c, const struct pkt *in,
			 const struct pkt *out)
{
	struct pkt_spec s = c->pkt;
	unsigned int n[3] = {0}, i, total = 1000;
	__u64 hits;
	__u32 id;

	for (i = 0; i < total; i++) {
		s.sport = 20000 + i;
		if (run_to_backend(e, &s, &id, NULL))
			return -1;
		if (id != 1 && id != 2)
			return fail(e, "flow %u went to backend %u", i, id);
		n[id]++;
	}
	/* The table holds 63 of 251 slots for backend 1: expect ~25%. */
	if (n[1] < total * 18 / 100 || n[1] > total * 32 / 100)
		return fail(e, "backend 1 got %u of %u flows, expected 180..320", n[1], total);
	/* Each packet was a new flow of one length; add the case's own packet. */
	hits = n[1] + (e->want_be == 1);
	return check_traffic(e, e->skel->maps.xlb_backend_stats, "backend", 1, hits, hits * in->len,
			     hits);
}

/* Every port of one client lands on one backend, though ports would spread. */
static int check_hash_src(struct env *e, const struct xlb_case *c, const struct pkt *in,
			  const struct pkt *out)
{
	struct pkt_spec s = c->pkt;
	struct xlb_flow_key k;
	__u32 id, spread = 0, i;

	for (i = 1; i <= 16; i++) {
		s.sport = c->pkt.sport + i;
		if (run_to_backend(e, &s, &id, NULL))
			return -1;
		if (id != e->want_be)
			return fail(e, "source port %u went to backend %u, port %u to %u", s.sport,
				    id, c->pkt.sport, e->want_be);
		flow_key(&s, &k);
		if ((xlb_flow_hash(&k, SEED, 0) % 251) % 4 != (e->want_be - 1))
			spread++;
	}
	if (!spread)
		return fail(e, "vacuous: the full 5-tuple hash would also pick one backend");
	return 0;
}

/* --- least connections (bpf/lib/lconn.h) --------------------------------- */

/* The packet's second candidate, rebuilt from hash.h and the setup's fill. */
static int lc_second(struct env *e, const struct pkt_spec *s, __u32 *id)
{
	const struct vip_def *v;
	struct xlb_backend be;
	struct xlb_vip vip;
	__u32 hash, first, n = 0, i, b;

	if (spec_hash(e, s, &hash, &vip) || table_backend(e, s, &first))
		return -1;
	v = vip_def(e, vip.id);
	while (v && n < 4 && v->fill[n])
		n++;
	for (i = 0; n && i < XLB_LC_PROBES; i++) {
		b = v->fill[xlb_lc_slot(hash, i, SEED, vip.table_size) % n];
		if (b != first && !backend_get(e, b, &be) && be.state == XLB_BE_ACTIVE) {
			*id = b;
			return 0;
		}
	}
	return fail(e, "vacuous: the packet has no second candidate (take another port)");
}

static int conns_set(struct env *e, __u32 id, __s64 active)
{
	struct xlb_backend_conns c = {.active = active};

	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_backend_conns), &id, &c, 0))
		return fail(e, "backend %u: count update failed: %s", id, strerror(errno));
	return 0;
}

static int conns_expect(struct env *e, __u32 id, __s64 active, __u64 opened)
{
	struct xlb_backend_conns c;

	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_backend_conns), &id, &c))
		return fail(e, "backend %u: count lookup failed", id);
	if (c.active != active || c.opened != opened)
		return fail(e, "backend %u: expected %lld active flows %llu opened, got %lld %llu",
			    id, (long long)active, (unsigned long long)opened, (long long)c.active,
			    (unsigned long long)c.opened);
	return 0;
}

static int member_set(struct env *e, __u32 id, __u32 weight)
{
	struct xlb_member_key k = {.vip_id = 1, .backend_id = id};
	struct xlb_member m = {.weight = weight};

	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_members), &k, &m, 0))
		return fail(e, "member %u: update failed: %s", id, strerror(errno));
	return 0;
}

/* The packet's flow entry: counted (flagged) or not, as expected. */
static int flow_counted(struct env *e, const struct pkt_spec *s, int counted)
{
	struct xlb_flow f;

	if (flow_get(e, s, &f))
		return fail(e, "no flow for the packet's 5-tuple");
	if (!!(f.lc.flags & XLB_FLOW_F_COUNTED) != counted)
		return fail(e, "flow entry: counted %d, expected %d",
			    !!(f.lc.flags & XLB_FLOW_F_COUNTED), counted);
	if (counted && !f.lc.seen_s)
		return fail(e, "counted flow entry without its last-seen second");
	return 0;
}

/* The candidates' counts: first (table) a_first, second a_second. */
static int lc_counts(struct env *e, const struct xlb_case *c, __s64 a_first, __s64 a_second)
{
	__u32 first, second;

	if (table_backend(e, &c->pkt, &first) || lc_second(e, &c->pkt, &second))
		return -1;
	return conns_set(e, first, a_first) ?: conns_set(e, second, a_second);
}

/* The candidates' weights in VIP 1: first w_first, second w_second. */
static int lc_weights(struct env *e, const struct xlb_case *c, __u32 w_first, __u32 w_second)
{
	__u32 first, second;

	if (table_backend(e, &c->pkt, &first) || lc_second(e, &c->pkt, &second))
		return -1;
	return member_set(e, first, w_first) ?: member_set(e, second, w_second);
}

/* Every bit of the address filter clear, the filter on or off. */
static int addrs_clear(struct env *e, int on)
{
	struct xlb_addrs a = {.on = on};
	__u32 zero = 0;

	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_addrs), &zero, &a, 0))
		return fail(e, "prep: address filter: %s", strerror(errno));
	return 0;
}

/* On, the VIPs still in xlb_vips: the filter's word alone must decide. */
static int prep_addrs_clear(struct env *e, const struct xlb_case *c)
{
	(void)c;
	return addrs_clear(e, 1);
}

/* Off: every packet is looked up, whatever the bits. */
static int prep_addrs_off(struct env *e, const struct xlb_case *c)
{
	(void)c;
	return addrs_clear(e, 0);
}

static int prep_lc_first_loaded(struct env *e, const struct xlb_case *c)
{
	return lc_counts(e, c, 5, 0);
}

static int prep_lc_tie(struct env *e, const struct xlb_case *c)
{
	return lc_counts(e, c, 3, 3);
}

/* 3 / 4 against 1 / 1: the first, though it has more flows. */
static int prep_lc_weight_keeps(struct env *e, const struct xlb_case *c)
{
	return lc_weights(e, c, 4, 1) ?: lc_counts(e, c, 3, 1);
}

/* 2 / 1 against 5 / 4: the second, though it has more flows. */
static int prep_lc_weight_moves(struct env *e, const struct xlb_case *c)
{
	return lc_weights(e, c, 1, 4) ?: lc_counts(e, c, 2, 5);
}

/* A count below 0 (two CPUs ended one flow) compares as 0, not as fewest. */
static int prep_lc_negative(struct env *e, const struct xlb_case *c)
{
	return lc_counts(e, c, 0, -3);
}

static int after_lc_load_first(struct env *e, const struct xlb_case *c)
{
	return conns_set(e, e->first_be, 100);
}

static int after_lc_fin(struct env *e, const struct xlb_case *c)
{
	struct pkt_spec fin = *c->first;
	__u32 id;

	fin.tcp_flags = TCP_FIN | TCP_ACK;
	return run_to_backend(e, &fin, &id, NULL);
}

static int after_lc_down_first(struct env *e, const struct xlb_case *c)
{
	return backend_set_state(e, e->first_be, XLB_BE_DOWN);
}

/* A new flow: one active flow on its backend, none elsewhere, entry flagged. */
static int check_lc_counted(struct env *e, const struct xlb_case *c, const struct pkt *in,
			    const struct pkt *out)
{
	__u32 other = e->want_be == 1 ? 2 : 1;

	return conns_expect(e, e->want_be, 1, 1) ?: conns_expect(e, other, 0, 0)
		?: flow_counted(e, &c->pkt, 1) ?: check_flow(e, c, in, out);
}

/* Preset counts: the chosen backend has one more, and one opened. */
static int check_lc_chosen(struct env *e, const struct xlb_case *c, const struct pkt *in,
			   const struct pkt *out)
{
	struct xlb_backend_conns k;
	__u32 id = e->want_be;

	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_backend_conns), &id, &k))
		return fail(e, "backend %u: count lookup failed", id);
	if (k.opened != 1)
		return fail(e, "backend %u: %llu flows opened, expected 1", id,
			    (unsigned long long)k.opened);
	return flow_counted(e, &c->pkt, 1);
}

/* An established flow kept its loaded backend; its count did not move. */
static int check_lc_kept(struct env *e, const struct xlb_case *c, const struct pkt *in,
			 const struct pkt *out)
{
	/* 100 as set (opened 0: set with it), nothing added by the packet. */
	return conns_expect(e, e->first_be, 100, 0) ?: flow_counted(e, &c->pkt, 1);
}

/* FIN or RST: the count back to 0, the flag gone; a second one takes nothing. */
static int check_lc_ended(struct env *e, const struct xlb_case *c, const struct pkt *in,
			  const struct pkt *out)
{
	__u32 id;

	if (conns_expect(e, e->first_be, 0, 1) || flow_counted(e, &c->pkt, 0))
		return -1;
	if (run_to_backend(e, &c->pkt, &id, NULL))
		return -1;
	return conns_expect(e, e->first_be, 0, 1);
}

/* A SYN on a closed flow's 5-tuple: counted again, on the same backend. */
static int check_lc_recounted(struct env *e, const struct xlb_case *c, const struct pkt *in,
			      const struct pkt *out)
{
	return conns_expect(e, e->first_be, 1, 2) ?: flow_counted(e, &c->pkt, 1);
}

/* Re-picked off a DOWN backend: the count went with the flow. */
static int check_lc_moved(struct env *e, const struct xlb_case *c, const struct pkt *in,
			  const struct pkt *out)
{
	if (e->want_be == e->first_be)
		return fail(e, "re-picked onto the DOWN backend %u", e->first_be);
	return conns_expect(e, e->first_be, 0, 1) ?: conns_expect(e, e->want_be, 1, 1)
		?: flow_counted(e, &c->pkt, 1);
}

/* A VIP without the flag counts nothing. */
static int check_lc_not_counted(struct env *e, const struct xlb_case *c, const struct pkt *in,
				const struct pkt *out)
{
	return conns_expect(e, e->want_be, 0, 0) ?: flow_counted(e, &c->pkt, 0);
}

/* --- prep and after hooks ------------------------------------------------ */

/* Point the slots of the case's packet and first packet at backend 1. */
static int prep_slots_to_1(struct env *e, const struct xlb_case *c)
{
	return slot_set(e, &c->pkt, 1) ?: (c->first ? slot_set(e, c->first, 1) : 0);
}

static int after_drain_first(struct env *e, const struct xlb_case *c)
{
	return backend_set_state(e, e->first_be, XLB_BE_DRAINING);
}

/* VIP vip_id's every slot now names backend id (a table change under a flow). */
static int refill(struct env *e, __u32 vip_id, __u32 id)
{
	struct vip_def v = *vip_def(e, vip_id);

	memset(v.fill, 0, sizeof(v.fill));
	v.fill[0] = id;
	if (table_fill(e, &v))
		return fail(e, "refill table: %s", strerror(errno));
	return 0;
}

static int after_refill_vip2_3(struct env *e, const struct xlb_case *c)
{
	return refill(e, 2, 3);
}

static int after_refill_2(struct env *e, const struct xlb_case *c)
{
	return refill(e, 1, 2);
}

static int after_down_first_refill_2(struct env *e, const struct xlb_case *c)
{
	return backend_set_state(e, e->first_be, XLB_BE_DOWN) ?: after_refill_2(e, c);
}

/*
 * The first packet's backend id freed, then given to another address
 * (BE4_4), each write with the generation userspace gives it
 * (xlb_backend_gen()); its flow entry is left as it was.
 */
static int after_reuse_first(struct env *e, const struct xlb_case *c)
{
	struct xlb_backend old, b = {.state = XLB_BE_UNUSED};

	if (backend_get(e, e->first_be, &old))
		return fail(e, "backend %u: lookup failed", e->first_be);
	xlb_backend_gen(&old, &b);
	old = b;
	b = (struct xlb_backend){.state = XLB_BE_ACTIVE};
	b.family = pkt_addr(BE4_4, b.addr);
	xlb_backend_gen(&old, &b);
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_backends), &e->first_be, &b, BPF_ANY))
		return fail(e, "backend %u: update failed: %s", e->first_be, strerror(errno));
	return 0;
}

static int after_reuse_first_refill_2(struct env *e, const struct xlb_case *c)
{
	return after_reuse_first(e, c) ?: after_refill_2(e, c);
}

/* --- mangles: malformed inputs ------------------------------------------- */

static void ipv4_fix_csum(struct pkt *p)
{
	__u8 *h = p->data + p->l3_off;

	pkt_put_be16(h + 10, 0);
	pkt_put_be16(h + 10, pkt_csum_fold(pkt_csum_add(0, h, (h[0] & 0xf) * 4)));
}

/* Ethernet minimum: 60 bytes, the IP packet's lengths unchanged. */
static void pad_to_60(struct pkt *p)
{
	if (p->len < 60) {
		memset(p->data + p->len, 0, 60 - p->len);
		p->len = 60;
	}
}

static void ipv4_tot_len_under(struct pkt *p)
{
	pkt_put_be16(p->data + p->l3_off + 2, 19);
	ipv4_fix_csum(p);
}

static void cut_short_eth(struct pkt *p)
{
	p->len = 10;
}

static void cut_vlan_tag(struct pkt *p)
{
	p->len = 16;
}

static void cut_ipv4_hdr(struct pkt *p)
{
	p->len = p->l3_off + 12;
}

static void ipv4_ihl_4(struct pkt *p)
{
	p->data[p->l3_off] = 0x44;
	ipv4_fix_csum(p);
}

static void ipv4_version_6(struct pkt *p)
{
	p->data[p->l3_off] = 0x65;
	ipv4_fix_csum(p);
}

static void ipv4_tot_len_over(struct pkt *p)
{
	pkt_put_be16(p->data + p->l3_off + 2, p->len - p->l3_off + 1);
	ipv4_fix_csum(p);
}

/* The IP header says 10 bytes of L4 and the frame ends there. */
static void cut_l4_hdr(struct pkt *p)
{
	pkt_put_be16(p->data + p->l3_off + 2, 20 + 10);
	ipv4_fix_csum(p);
	p->len = p->l3_off + 30;
}

static void cut_udp_hdr(struct pkt *p)
{
	pkt_put_be16(p->data + p->l3_off + 2, 20 + 6);
	ipv4_fix_csum(p);
	p->len = p->l3_off + 26;
}

static void cut_ipv6_hdr(struct pkt *p)
{
	p->len = p->l3_off + 30;
}

static void ipv6_payload_len_over(struct pkt *p)
{
	pkt_put_be16(p->data + p->l3_off + 4, p->len - p->l3_off - 40 + 1);
}

/* --- the cases ----------------------------------------------------------- */

/* --- passive-health events (bpf/lib/passive.h) --------------------------- */

/* No passive event was emitted by the case's packet. */
static int check_no_event(struct env *e, const struct xlb_case *c, const struct pkt *in,
			  const struct pkt *out)
{
	if (events_read(e))
		return fail(e, "reading xlb_events failed");
	if (e->nevents)
		return fail(e, "%d passive event(s) (kind %u, backend %u), expected none",
			    e->nevents, e->events[0].kind, e->events[0].backend_id);
	return 0;
}

/*
 * The backend's next hop after a forwarded packet: marked fresh for the
 * tick (the fast path's tick field set; 0 in what nexthop_set wrote), the
 * rest as written: the stamp is not the fast path's to move.
 */
static int check_nh_tick(struct env *e, const struct xlb_case *c, const struct pkt *in,
			 const struct pkt *out)
{
	struct xlb_nexthop nh;

	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_nexthops), &e->want_be, &nh))
		return fail(e, "next hop %u: lookup failed", e->want_be);
	/* jiffies whose low 32 bits are 0 would read as unmarked: 1 tick in 2^32. */
	if (!nh.tick)
		return fail(e, "next hop %u: tick not marked after a forwarded packet", e->want_be);
	if (nh.updated_ns < (1ULL << 62) || nh.ifindex != NH_IFINDEX ||
	    nh.dmac[5] != (__u8)e->want_be)
		return fail(e, "next hop %u changed: stamp %llu ifindex %u", e->want_be,
			    (unsigned long long)nh.updated_ns, nh.ifindex);
	return 0;
}

/* Exactly one event of kind, for the backend of the first packet's flow. */
static int check_one_event(struct env *e, const struct xlb_case *c, __u8 kind)
{
	const struct xlb_event *ev = &e->events[0];
	struct xlb_flow_key k;
	struct xlb_vip vip;
	__u32 hash;

	if (events_read(e))
		return fail(e, "reading xlb_events failed");
	if (e->nevents != 1)
		return fail(e, "%d passive events, expected 1", e->nevents);
	if (spec_hash(e, &c->pkt, &hash, &vip))
		return -1;
	flow_key(&c->pkt, &k);
	if (ev->kind != kind || ev->backend_id != e->first_be || ev->vip_id != vip.id)
		return fail(e,
			    "event: kind %u backend %u VIP %u, expected kind %u backend %u "
			    "VIP %u",
			    ev->kind, ev->backend_id, ev->vip_id, kind, e->first_be, vip.id);
	if (ev->family != k.family || ev->sport != k.sport ||
	    memcmp(ev->saddr, k.saddr, sizeof(k.saddr)))
		return fail(e, "event: client address or port is not the packet's");
	if (!ev->ts_ns || ev->flow_age_ns >= XLB_PASSIVE_YOUNG_NS)
		return fail(e, "event: ts %llu, flow age %llu ns", (unsigned long long)ev->ts_ns,
			    (unsigned long long)ev->flow_age_ns);
	return 0;
}

static int check_event_syn(struct env *e, const struct xlb_case *c, const struct pkt *in,
			   const struct pkt *out)
{
	return check_one_event(e, c, XLB_EVK_SYN_RETRANS);
}

static int check_event_rst(struct env *e, const struct xlb_case *c, const struct pkt *in,
			   const struct pkt *out)
{
	return check_one_event(e, c, XLB_EVK_CLIENT_RST);
}

/* The first SYN made the flow and no event; drain nothing else. */
static int after_no_event(struct env *e, const struct xlb_case *c)
{
	if (events_read(e))
		return fail(e, "reading xlb_events failed");
	if (e->nevents)
		return fail(e, "the flow's first SYN emitted %d passive event(s)", e->nevents);
	return 0;
}

/* XLB_EVENT_BURST retries of the SYN fill the backend's window. */
static int after_burst(struct env *e, const struct xlb_case *c)
{
	__u32 id;
	int i;

	for (i = 0; i < XLB_EVENT_BURST; i++)
		if (run_to_backend(e, &c->pkt, &id, NULL))
			return -1;
	if (events_read(e))
		return fail(e, "reading xlb_events failed");
	if (e->nevents != XLB_EVENT_BURST)
		return fail(e, "%d SYN retries: %d events, expected %d", XLB_EVENT_BURST,
			    e->nevents, XLB_EVENT_BURST);
	return 0;
}

/* The flow was made 31 s ago: its 5-tuple reused by a new connection. */
static int after_age_flow(struct env *e, const struct xlb_case *c)
{
	struct xlb_flow_key k;
	struct xlb_flow f;
	int err;

	if (after_no_event(e, c))
		return -1;
	flow_key(&c->pkt, &k);
	if (xlb_flow_lookup(&e->m, &k, &f))
		return fail(e, "no flow after the first SYN");
	/* A cache way keeps the time to a tick (include/xlb/flowcache.h). */
	f.created_ns -= XLB_PASSIVE_YOUNG_NS + 1000000000ULL;
	err = xlb_flow_update(&e->m, &k, &f);
	if (err)
		return fail(e, "cannot age the flow: %s", strerror(-err));
	return 0;
}

/* --- NAT: checks and hooks ------------------------------------------------ */

static __u16 nat_lo(struct env *e)
{
	return e->setup->nat_lo ?: XLB_NAT_PORT_MIN;
}

static __u16 nat_hi(struct env *e)
{
	return e->setup->nat_hi ?: XLB_NAT_PORT_MAX;
}

/* Both entries of the input's connection, consistent with each other. */
static int nat_entries(struct env *e, const struct pkt_spec *s, struct xlb_nat_fwd *f,
		       struct xlb_nat_rev *r)
{
	struct xlb_flow_key k;

	flow_key(s, &k);
	if (nat_fwd_get(e, s, f))
		return fail(e, "xlb_nat_fwd has no entry for %u -> %u", s->sport, s->dport);
	if (nat_rev_get(e, f, k.proto, k.family, r))
		return fail(e, "xlb_nat_rev has no entry for NAT port %u", ntohs(f->nat_port));
	if (memcmp(&r->client, &k, sizeof(k)))
		return fail(e, "reverse entry of NAT port %u names another client",
			    ntohs(f->nat_port));
	return 0;
}

/* The connection's entries: port in range, node port, state, way back. */
static int check_nat_entries(struct env *e, const struct xlb_case *c, const struct pkt *in,
			     const struct pkt *out)
{
	const struct be_def *b = be_def(e, e->want_be);
	__u8 want_state = c->pkt.proto == IPPROTO_UDP ? XLB_NAT_S_UDP : XLB_NAT_S_SYN_SENT;
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;
	__u16 port;

	if (nat_entries(e, &e->in_spec, &f, &r))
		return -1;
	port = ntohs(f.nat_port);
	if (port < nat_lo(e) || port > nat_hi(e))
		return fail(e, "NAT port %u outside %u-%u", port, nat_lo(e), nat_hi(e));
	if (ntohs(f.node_port) != (b->port ?: c->pkt.dport))
		return fail(e, "node port %u, expected %u", ntohs(f.node_port),
			    b->port ?: c->pkt.dport);
	if (f.backend_id != e->want_be || r.backend_id != e->want_be)
		return fail(e, "entries name backends %u/%u, expected %u", f.backend_id,
			    r.backend_id, e->want_be);
	if (f.state != want_state || r.state != want_state)
		return fail(e, "entries in states %u/%u, expected %u", f.state, r.state,
			    want_state);
	if (r.ifindex != NH_IFINDEX || memcmp(r.dmac, pkt_mac_client, 6) ||
	    memcmp(r.smac, pkt_mac_lb, 6))
		return fail(e, "reverse entry: the way back is not the client's frame");
	return check_traffic(e, e->skel->maps.xlb_backend_stats, "backend", e->want_be, 1, in->len,
			     1);
}

/* The second packet of a connection kept its port; one entry each way. */
static int check_nat_same_port(struct env *e, const struct xlb_case *c, const struct pkt *in,
			       const struct pkt *out)
{
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;
	int n = hash_count(e->skel->maps.xlb_nat_rev);

	if (nat_entries(e, &e->in_spec, &f, &r))
		return -1;
	if (ntohs(f.nat_port) != e->nat_port)
		return fail(e, "NAT port %u, the first packet had %u", ntohs(f.nat_port),
			    e->nat_port);
	if (n != 1)
		return fail(e, "xlb_nat_rev: %d entries, expected 1", n);
	return 0;
}

/* Another client towards the same node got another port. */
static int check_nat_other_port(struct env *e, const struct xlb_case *c, const struct pkt *in,
				const struct pkt *out)
{
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;
	int n = hash_count(e->skel->maps.xlb_nat_rev);

	if (nat_entries(e, &e->in_spec, &f, &r))
		return -1;
	if (ntohs(f.nat_port) == e->nat_port)
		return fail(e, "two live connections share NAT port %u", e->nat_port);
	if (n != 2)
		return fail(e, "xlb_nat_rev: %d entries, expected 2", n);
	return 0;
}

/* The dead connection's port went to the new one. */
static int check_nat_reused(struct env *e, const struct xlb_case *c, const struct pkt *in,
			    const struct pkt *out)
{
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;

	if (nat_entries(e, &e->in_spec, &f, &r))
		return -1;
	if (ntohs(f.nat_port) != e->nat_port)
		return fail(e, "NAT port %u, expected the dead connection's %u", ntohs(f.nat_port),
			    e->nat_port);
	return 0;
}

static int check_nat_nothing(struct env *e, const struct xlb_case *c, const struct pkt *in,
			     const struct pkt *out)
{
	int nf = hash_count(e->skel->maps.xlb_nat_fwd), nr = hash_count(e->skel->maps.xlb_nat_rev);

	if (nf || nr)
		return fail(e, "NAT entries: %d forward, %d reverse, expected none", nf, nr);
	return 0;
}

static int nat_state_is(struct env *e, const struct pkt_spec *s, __u8 state)
{
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;

	if (nat_entries(e, s, &f, &r))
		return -1;
	if (f.state != state || r.state != state)
		return fail(e, "entries in states %u/%u, expected %u", f.state, r.state, state);
	return 0;
}

static int nat_health(struct env *e, __u32 id, struct xlb_nat_health *h)
{
	if (bpftest_percpu_sum(e->skel->maps.xlb_nat_health, id, e->ncpu, (__u64 *)h, 4))
		return fail(e, "xlb_nat_health %u: lookup failed", id);
	return 0;
}

static int one_event(struct env *e, __u8 kind)
{
	if (events_read(e))
		return fail(e, "reading xlb_events failed");
	if (e->nevents != 1)
		return fail(e, "%d passive events, expected 1", e->nevents);
	if (e->events[0].kind != kind || e->events[0].backend_id != e->first_be)
		return fail(e, "event kind %u backend %u, expected kind %u backend %u",
			    e->events[0].kind, e->events[0].backend_id, kind, e->first_be);
	return 0;
}

/*
 * SYN-ACK: SYN_RECV both ways (established only once the client ACKs it),
 * one latency sample, one success event.
 */
static int check_nat_synack(struct env *e, const struct xlb_case *c, const struct pkt *in,
			    const struct pkt *out)
{
	struct xlb_nat_health h;

	if (nat_state_is(e, c->first, XLB_NAT_S_SYN_RECV) || nat_health(e, e->first_be, &h))
		return -1;
	if (h.synacks != 1 || !h.synack_ewma_ns)
		return fail(e, "health: %llu SYN-ACK samples, EWMA %llu ns; expected 1 sample",
			    (unsigned long long)h.synacks, (unsigned long long)h.synack_ewma_ns);
	return one_event(e, XLB_EVK_NODE_OK);
}

static int check_nat_reply_plain(struct env *e, const struct xlb_case *c, const struct pkt *in,
				 const struct pkt *out)
{
	return nat_state_is(e, c->first,
			    c->first->proto == IPPROTO_UDP ? XLB_NAT_S_UDP : XLB_NAT_S_ESTABLISHED);
}

/* The node refused: closing, one RST counted, one node_rst event. */
static int check_nat_node_rst(struct env *e, const struct xlb_case *c, const struct pkt *in,
			      const struct pkt *out)
{
	struct xlb_nat_health h;

	if (nat_state_is(e, c->first, XLB_NAT_S_CLOSING) || nat_health(e, e->first_be, &h))
		return -1;
	if (h.node_rsts != 1)
		return fail(e, "health: %llu node RSTs, expected 1",
			    (unsigned long long)h.node_rsts);
	return one_event(e, XLB_EVK_NODE_RST);
}

static int check_nat_syn_retry(struct env *e, const struct xlb_case *c, const struct pkt *in,
			       const struct pkt *out)
{
	return nat_state_is(e, c->first, XLB_NAT_S_SYN_SENT) ?: one_event(e, XLB_EVK_SYN_RETRANS);
}

static int check_nat_closing(struct env *e, const struct xlb_case *c, const struct pkt *in,
			     const struct pkt *out)
{
	return nat_state_is(e, c->first, XLB_NAT_S_CLOSING);
}

static int check_nat_fin(struct env *e, const struct xlb_case *c, const struct pkt *in,
			 const struct pkt *out)
{
	return nat_state_is(e, c->first, XLB_NAT_S_FIN);
}

static int check_nat_established(struct env *e, const struct xlb_case *c, const struct pkt *in,
				 const struct pkt *out)
{
	return nat_state_is(e, c->first, XLB_NAT_S_ESTABLISHED);
}

/* A node's RST on an entry it never answered: closed, but no failure. */
static int check_nat_rst_unconfirmed(struct env *e, const struct xlb_case *c, const struct pkt *in,
				     const struct pkt *out)
{
	struct xlb_nat_health h;

	if (nat_state_is(e, c->first, XLB_NAT_S_CLOSING) || nat_health(e, e->first_be, &h))
		return -1;
	if (h.node_rsts)
		return fail(e, "health: %llu node RSTs, expected none",
			    (unsigned long long)h.node_rsts);
	if (events_read(e))
		return fail(e, "reading xlb_events failed");
	if (e->nevents)
		return fail(e, "%d passive event(s), expected none", e->nevents);
	return 0;
}

/* The reply's forward twin (another node now, same NAT port) kept its state. */
static int check_nat_twin_kept(struct env *e, const struct xlb_case *c, const struct pkt *in,
			       const struct pkt *out)
{
	struct xlb_nat_fwd f;

	if (nat_fwd_get(e, c->first, &f))
		return fail(e, "xlb_nat_fwd lost the connection");
	if (f.state != XLB_NAT_S_ESTABLISHED)
		return fail(e,
			    "forward entry towards another node in state %u, expected %u: "
			    "a reply of the old node changed it",
			    f.state, XLB_NAT_S_ESTABLISHED);
	return 0;
}

/* Reply input: the node answers the first packet's connection, from its MAC. */
static int input_nat_reply(struct env *e, const struct xlb_case *c, struct pkt *in)
{
	if (!e->nat_port)
		return fail(e, "the first packet made no NAT entry");
	e->in_spec.dport = e->nat_port;
	if (pkt_build(in, &e->in_spec))
		return fail(e, "cannot build the reply");
	memcpy(in->data + 6, node_mac, 6);
	if (c->mangle)
		c->mangle(in);
	return 0;
}

/* Set the first connection's state, and age both entries by sec seconds. */
static int nat_age(struct env *e, const struct pkt_spec *s, __u8 state, __u64 sec)
{
	struct xlb_flow_key k;
	struct xlb_nat_rkey rk = {};
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;

	if (nat_entries(e, s, &f, &r))
		return -1;
	flow_key(s, &k);
	memcpy(rk.node, f.node, sizeof(rk.node));
	rk.node_port = f.node_port;
	rk.nat_port = f.nat_port;
	rk.proto = k.proto;
	rk.family = k.family;
	f.state = r.state = state;
	f.seen_ns -= sec * 1000000000ULL;
	r.seen_ns -= sec * 1000000000ULL;
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_nat_fwd), &k, &f, BPF_EXIST) ||
	    bpf_map_update_elem(map_fd(e->skel->maps.xlb_nat_rev), &rk, &r, BPF_EXIST))
		return fail(e, "cannot age the NAT entries: %s", strerror(errno));
	return 0;
}

/* Age both entries of a connection by sec seconds, state kept. */
static int nat_idle(struct env *e, const struct pkt_spec *s, __u64 sec)
{
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;

	if (nat_entries(e, s, &f, &r))
		return -1;
	return nat_age(e, s, f.state, sec);
}

/* The node answers the first connection with flags (reply path). */
static int nat_node_says(struct env *e, __u8 flags)
{
	struct pkt_spec s = {.src = BE4_1,
			     .dst = NAT4,
			     .proto = IPPROTO_TCP,
			     .sport = 8080,
			     .dport = e->nat_port,
			     .tcp_flags = flags};
	struct pkt in, out;
	__u32 verdict;
	int err;

	if (pkt_build(&in, &s))
		return fail(e, "cannot build the node's packet");
	memcpy(in.data + 6, node_mac, 6);
	err = bpftest_run(e->prog_fd, NH_IFINDEX, &in, &out, &verdict);
	if (err)
		return fail(e, "test run: %s", strerror(-err));
	if (verdict != XDP_TX)
		return fail(e, "node's packet (flags %#x): expected XDP_TX, got %s", flags,
			    bpftest_verdict_name(verdict));
	return 0;
}

/* The client sends s: expect it translated. */
static int nat_client_says(struct env *e, const struct pkt_spec *s)
{
	__u32 id;

	return run_to_backend(e, s, &id, NULL);
}

/* Both entries of s's connection gone (deleted as LRU eviction would). */
static int nat_forget(struct env *e, const struct pkt_spec *s, int fwd, int rev)
{
	struct xlb_flow_key k;
	struct xlb_nat_rkey rk = {};
	struct xlb_nat_fwd f;

	flow_key(s, &k);
	if (nat_fwd_get(e, s, &f))
		return fail(e, "xlb_nat_fwd has no entry for %u -> %u", s->sport, s->dport);
	memcpy(rk.node, f.node, sizeof(rk.node));
	rk.node_port = f.node_port;
	rk.nat_port = f.nat_port;
	rk.proto = k.proto;
	rk.family = k.family;
	if (rev && bpf_map_delete_elem(map_fd(e->skel->maps.xlb_nat_rev), &rk))
		return fail(e, "cannot delete the reverse entry: %s", strerror(errno));
	if (fwd && bpf_map_delete_elem(map_fd(e->skel->maps.xlb_nat_fwd), &k))
		return fail(e, "cannot delete the forward entry: %s", strerror(errno));
	return 0;
}

/* The node's SYN-ACK, never ACKed by the (spoofed) client, 31 s ago. */
static int after_nat_synack_unacked(struct env *e, const struct xlb_case *c)
{
	return nat_node_says(e, TCP_SYN | TCP_ACK) ?: nat_idle(e, c->first, XLB_NAT_TMO_SYN + 1);
}

static int after_nat_synack(struct env *e, const struct xlb_case *c)
{
	return nat_node_says(e, TCP_SYN | TCP_ACK);
}

/* Began without a SYN, nothing from the node, 31 s ago. */
static int after_nat_unconfirmed_idle(struct env *e, const struct xlb_case *c)
{
	return nat_idle(e, c->first, XLB_NAT_TMO_SYN + 1);
}

/* Handshake done, then the client half-closes; idle for sec seconds. */
static int nat_half_closed(struct env *e, const struct xlb_case *c, __u64 sec)
{
	struct pkt_spec fin = *c->first;

	fin.tcp_flags = TCP_ACK | TCP_FIN;
	return nat_node_says(e, TCP_SYN | TCP_ACK) ?:
	       nat_client_says(e, &(struct pkt_spec){ P_TCP4, .sport = c->first->sport,
						       .tcp_flags = TCP_ACK }) ?:
	       nat_client_says(e, &fin) ?: nat_idle(e, c->first, sec);
}

/* Past the RST's close timeout: a slow server still answers after this. */
static int after_nat_half_closed_11s(struct env *e, const struct xlb_case *c)
{
	return nat_half_closed(e, c, XLB_NAT_TMO_CLOSING + 1);
}

/* Past the node's TIME_WAIT (60 s): within the FIN timeout still. */
static int after_nat_half_closed_61s(struct env *e, const struct xlb_case *c)
{
	return nat_half_closed(e, c, 61);
}

/* The node reset the connection just over the close timeout ago. */
static int after_nat_reset_dead(struct env *e, const struct xlb_case *c)
{
	return nat_node_says(e, TCP_RST | TCP_ACK)
		       ?: nat_idle(e, c->first, XLB_NAT_TMO_CLOSING + 1);
}

/*
 * The connection's forward entry points at another node now (re-picked),
 * under the same NAT port; the old node's reverse entry is still live.
 */
static int after_nat_moved_same_port(struct env *e, const struct xlb_case *c)
{
	struct xlb_flow_key k;
	struct xlb_nat_fwd f;

	if (nat_age(e, c->first, XLB_NAT_S_ESTABLISHED, 0) || nat_fwd_get(e, c->first, &f))
		return -1;
	flow_key(c->first, &k);
	memset(f.node, 0, sizeof(f.node));
	if (inet_pton(AF_INET, BE4_2, f.node) != 1)
		return fail(e, "bad address %s", BE4_2);
	f.backend_id = 2;
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_nat_fwd), &k, &f, BPF_EXIST))
		return fail(e, "cannot move the forward entry: %s", strerror(errno));
	return 0;
}

/*
 * Of two ports, the client's connection holds the second of its
 * candidates (another client held the first when it began); then that
 * other client leaves and the connection's forward entry is evicted. Its
 * next packet must keep its port, not move to the freed first candidate.
 */
static int prep_nat_own_port_second(struct env *e, const struct xlb_case *c)
{
	struct pkt_spec a = nflow4, b = nflow4_b;
	struct xlb_nat_fwd f;
	__u16 first;

	if (nat_client_says(e, &a) || nat_fwd_get(e, &a, &f) || nat_forget(e, &a, 1, 1))
		return fail(e, "cannot find the client's first candidate");
	first = f.nat_port;
	for (b.sport = 41000; b.sport < 41100; b.sport++) {
		if (nat_client_says(e, &b) || nat_fwd_get(e, &b, &f))
			return fail(e, "another client got no port");
		if (f.nat_port == first)
			break;
		if (nat_forget(e, &b, 1, 1))
			return -1;
	}
	if (f.nat_port != first)
		return fail(e, "no client among 100 whose first candidate is the client's");
	if (nat_client_says(e, &a) || nat_fwd_get(e, &a, &f))
		return -1;
	if (f.nat_port == first)
		return fail(e, "the client got the port another one holds");
	e->nat_port = ntohs(f.nat_port);
	return nat_forget(e, &b, 1, 1) ?: nat_forget(e, &a, 1, 0);
}

/* SYN_SENT for 31 s: past the SYN timeout (30 s), dead. */
static int after_nat_syn_dead(struct env *e, const struct xlb_case *c)
{
	return nat_age(e, c->first, XLB_NAT_S_SYN_SENT, XLB_NAT_TMO_SYN + 1);
}

/* ESTABLISHED and idle for 31 s: far inside its timeout. */
static int after_nat_est_idle(struct env *e, const struct xlb_case *c)
{
	return nat_age(e, c->first, XLB_NAT_S_ESTABLISHED, XLB_NAT_TMO_SYN + 1);
}

/* ESTABLISHED, idle past the established timeout. */
static int after_nat_est_dead(struct env *e, const struct xlb_case *c)
{
	return nat_age(e, c->first, XLB_NAT_S_ESTABLISHED, XLB_NAT_TMO_ESTABLISHED + 1);
}

static int after_nat_established(struct env *e, const struct xlb_case *c)
{
	return nat_age(e, c->first, XLB_NAT_S_ESTABLISHED, 0);
}

/* A second client takes the other port of two. */
static int after_nat_second_client(struct env *e, const struct xlb_case *c)
{
	__u32 id;

	return run_to_backend(e, &nflow4_b, &id, NULL);
}

#define P_NREPLY4 .src = BE4_1, .dst = NAT4, .proto = IPPROTO_TCP, .sport = 8080
#define P_NREPLY6 .src = BE6_1, .dst = NAT6, .proto = IPPROTO_TCP, .sport = 8080

/*
 * A least_conn case: a packet of flow4's 5-tuple with flags fl on setup su
 * (s_lc, or s_v4 for a VIP without the flag), encapsulated to backend be;
 * fst (flow4 or NULL) runs first.
 */
#define LC_CASE(nm, su, fl, pre, fst, aft, be, chk)                                           \
	{                                                                                     \
		.name = nm, .pkt = {P_TCP4, .sport = 40000, .tcp_flags = fl}, .setup = su,    \
		.prep = pre, .first = fst, .after = aft, .verdict = XDP_TX, .out = OUT_ENCAP, \
		.backend = be, .check = chk, .reason = XLB_R_FWD_ENCAP                        \
	}

/* A flow cache case: a SYN of port 40000 to the table's backend, then script. */
#define FC_CASE(n, p, st, sc)                                                             \
	{                                                                                 \
		.name = n, .pkt = {p, .sport = 40000, .tcp_flags = TCP_SYN}, .setup = st, \
		.verdict = XDP_TX, .out = OUT_ENCAP, .backend = BE_TABLE,                 \
		.check = check_fc_script, .reason = XLB_R_FWD_ENCAP, .script = sc         \
	}

static const struct xlb_case cases[] = {
	/* NAT: client -> node. */
	{.name = "nat ipv4 tcp syn -> NAT address:port to node:8080, checksums exact",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_nat4,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 1,
	 .check = check_nat_entries,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat ipv4 tcp data with options -> translated, checksums exact",
	 .pkt = {P_TCP4, .sport = 40007, .tcp_flags = TCP_ACK | TCP_PSH, .ip_opts = 8,
		 .payload_len = 999},
	 .setup = &s_nat4,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 1,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat ipv4 udp -> node, VIP port kept for a port-0 backend",
	 .pkt = {P_UDP4, .sport = 5353, .payload_len = 77},
	 .setup = &s_nat4,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 2,
	 .check = check_nat_entries,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat ipv4 udp without checksum -> still without",
	 .pkt = {P_UDP4, .sport = 5354, .payload_len = 12},
	 .mangle = udp_no_csum,
	 .setup = &s_nat4,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 2,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat vlan ipv4 -> translated, tag kept",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN, .vlan = 100},
	 .setup = &s_nat4,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 1,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat ipv6 tcp syn -> node:8080, checksum exact",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN, .payload_len = 10},
	 .setup = &s_nat6,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 5,
	 .check = check_nat_entries,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat ipv6 udp -> node, checksum exact",
	 .pkt = {P_UDP6, .sport = 5353, .payload_len = 301},
	 .setup = &s_nat6,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 6,
	 .check = check_nat_entries,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat ipv6 with a hop-by-hop header -> translated",
	 .pkt = {P_TCP6, .sport = 40002, .tcp_flags = TCP_SYN, .ext = {PKT_EXT_HOPOPTS}},
	 .setup = &s_nat6,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 5,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat for every VIP when forward is nat",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_global,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 1,
	 .check = check_nat_entries,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat second packet of a connection keeps its port",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 100},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = BE_FIRST,
	 .check = check_nat_same_port,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat two clients to one node -> two ports",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_SYN},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = BE_FIRST,
	 .check = check_nat_other_port,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat every port live -> drop, counted as port exhaustion",
	 .pkt = {P_TCP4, .sport = 40002, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_2ports,
	 .first = &nflow4,
	 .after = after_nat_second_client,
	 .verdict = XDP_DROP,
	 .reason = XLB_R_DROP_NAT_PORTS},
	{.name = "nat port of a connection dead past the SYN timeout -> reused",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_1port,
	 .first = &nflow4,
	 .after = after_nat_syn_dead,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 1,
	 .check = check_nat_reused,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat port of an established connection idle 31 s -> not reused",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_1port,
	 .first = &nflow4,
	 .after = after_nat_est_idle,
	 .verdict = XDP_DROP,
	 .reason = XLB_R_DROP_NAT_PORTS},
	{.name = "nat client SYN retried in SYN_SENT -> syn_retransmit event",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_no_event,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = BE_FIRST,
	 .check = check_nat_syn_retry,
	 .reason = XLB_R_EVENT},
	{.name = "nat client FIN -> fin (the long close timeout)",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK | TCP_FIN},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_nat_established,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = BE_FIRST,
	 .check = check_nat_fin,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat client RST -> closing",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_RST | TCP_ACK},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_nat_established,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = BE_FIRST,
	 .check = check_nat_closing,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat client ACK of the node's SYN-ACK -> established",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_nat_synack,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = BE_FIRST,
	 .check = check_nat_established,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat SYN-ACK never ACKed (spoofed SYN), 31 s -> its port reused",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_1port,
	 .first = &nflow4,
	 .after = after_nat_synack_unacked,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 1,
	 .check = check_nat_reused,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat entry begun mid-stream, node silent 31 s -> its port reused",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_1port,
	 .first = &nflow4_ack,
	 .after = after_nat_unconfirmed_idle,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 1,
	 .check = check_nat_reused,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat half-closed connection idle 11 s -> node's reply still translated",
	 .pkt = {P_NREPLY4, .tcp_flags = TCP_ACK | TCP_PSH, .payload_len = 100},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_nat_half_closed_11s,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_fin,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat port of a connection closed by FIN 61 s ago -> not reused (TIME_WAIT)",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_1port,
	 .first = &nflow4,
	 .after = after_nat_half_closed_61s,
	 .verdict = XDP_DROP,
	 .reason = XLB_R_DROP_NAT_PORTS},
	{.name = "nat port of a connection reset 11 s ago -> reused",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_1port,
	 .first = &nflow4,
	 .after = after_nat_reset_dead,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 1,
	 .check = check_nat_reused,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat connection whose forward entry was evicted keeps its own port",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_nat_2ports,
	 .prep = prep_nat_own_port_second,
	 .verdict = XDP_TX,
	 .out = OUT_NAT,
	 .backend = 1,
	 .check = check_nat_same_port,
	 .reason = XLB_R_FWD_NAT},
	{.name = "nat client RST without a connection -> pass, nothing made",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_RST},
	 .setup = &s_nat4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_nat_nothing,
	 .reason = XLB_R_PASS_NAT_NO_ENTRY},
	{.name = "nat ipv4 VIP with an ipv6 node -> drop",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_v4_be6,
	 .verdict = XDP_DROP,
	 .check = check_nat_nothing,
	 .reason = XLB_R_DROP_FAMILY},
	{.name = "nat VIP without a NAT address -> drop",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_nat_no_src,
	 .verdict = XDP_DROP,
	 .check = check_nat_nothing,
	 .reason = XLB_R_DROP_NAT_SRC},

	/* NAT: node -> client. */
	{.name = "nat reply ipv4 syn-ack -> VIP:80 to client, checksums exact, EWMA, ok event",
	 .pkt = {P_NREPLY4, .tcp_flags = TCP_SYN | TCP_ACK},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_no_event,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_synack,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat reply ipv4 data -> translated back",
	 .pkt = {P_NREPLY4, .tcp_flags = TCP_ACK | TCP_PSH, .payload_len = 1400},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_nat_established,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_reply_plain,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat reply ipv4 udp -> translated back",
	 .pkt = {.src = BE4_2, .dst = NAT4, .proto = IPPROTO_UDP, .sport = 53, .payload_len = 200},
	 .setup = &s_nat4,
	 .first = &nflow4u,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_reply_plain,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat reply ipv4 udp without checksum -> still without",
	 .pkt = {.src = BE4_2, .dst = NAT4, .proto = IPPROTO_UDP, .sport = 53, .payload_len = 20},
	 .mangle = udp_no_csum,
	 .setup = &s_nat4,
	 .first = &nflow4u,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat reply ipv6 syn-ack -> VIP to client, checksum exact",
	 .pkt = {P_NREPLY6, .tcp_flags = TCP_SYN | TCP_ACK, .payload_len = 4},
	 .setup = &s_nat6,
	 .first = &nflow6,
	 .after = after_no_event,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_synack,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat reply ipv6 udp -> translated back",
	 .pkt = {.src = BE6_2, .dst = NAT6, .proto = IPPROTO_UDP, .sport = 53, .payload_len = 99},
	 .setup = &s_nat6,
	 .first = &nflow6u,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_reply_plain,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat node RST on SYN_SENT -> closing, node_rst event",
	 .pkt = {P_NREPLY4, .tcp_flags = TCP_RST | TCP_ACK},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_no_event,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_node_rst,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat node RST on an entry begun mid-stream -> closing, no node_rst, counted",
	 .pkt = {P_NREPLY4, .tcp_flags = TCP_RST | TCP_ACK},
	 .setup = &s_nat4,
	 .first = &nflow4_ack,
	 .after = after_no_event,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_rst_unconfirmed,
	 .reason = XLB_R_NAT_RST_UNCONFIRMED},
	{.name = "nat node answers an entry begun mid-stream -> established",
	 .pkt = {P_NREPLY4, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_nat4,
	 .first = &nflow4_ack,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_established,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat old node's RST leaves the forward entry towards the new node alone",
	 .pkt = {P_NREPLY4, .tcp_flags = TCP_RST | TCP_ACK},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_nat_moved_same_port,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .check = check_nat_twin_kept,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat reply to an established connection idle 31 s -> translated",
	 .pkt = {P_NREPLY4, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_nat_est_idle,
	 .input = input_nat_reply,
	 .verdict = XDP_TX,
	 .out = OUT_NAT_REPLY,
	 .reason = XLB_R_TX_NAT_REPLY},
	{.name = "nat reply to a connection past its timeout -> pass untouched",
	 .pkt = {P_NREPLY4, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_nat4,
	 .first = &nflow4,
	 .after = after_nat_est_dead,
	 .input = input_nat_reply,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NAT_NO_ENTRY},
	{.name = "nat reply matching no entry -> pass untouched, counted",
	 .pkt = {P_NREPLY4, .dport = 2000, .tcp_flags = TCP_SYN | TCP_ACK},
	 .setup = &s_nat4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NAT_NO_ENTRY},
	{.name = "to the NAT address above the port range (host's own) -> pass, not NAT",
	 .pkt = {P_NREPLY4, .dport = 40000, .tcp_flags = TCP_SYN | TCP_ACK},
	 .setup = &s_nat4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},

	/* The address filter (struct xlb_addrs). */
	{.name = "VIP address whose filter bit is clear -> pass untouched, not looked up",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_v4,
	 .prep = prep_addrs_clear,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "nat reply whose filter bit is clear -> pass untouched, not looked up",
	 .pkt = {P_NREPLY4, .dport = 2000, .tcp_flags = TCP_SYN | TCP_ACK},
	 .setup = &s_nat4,
	 .prep = prep_addrs_clear,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "address filter off, bits clear -> VIP looked up and served",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_v4,
	 .prep = prep_addrs_off,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_flow,
	 .reason = XLB_R_FWD_ENCAP},

	/* Forwarding: IPIP, IP6IP6, 4in6. */
	{.name = "ipv4 tcp syn to VIP -> ipip, flow created",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_flow,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 tcp data to VIP -> ipip, inner byte-identical",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_ACK | TCP_PSH, .payload_len = 1000},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 without DF -> outer DF clear",
	 .pkt = {P_TCP4, .sport = 40002, .tcp_flags = TCP_ACK, .payload_len = 200, .no_df = 1},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 TOS copied to the outer header",
	 .pkt = {P_TCP4, .sport = 40003, .tcp_flags = TCP_ACK, .tos = 0xb8, .payload_len = 10},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 udp to VIP -> ipip, flow created",
	 .pkt = {P_UDP4, .sport = 5353, .payload_len = 300},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_flow,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv6 tcp syn to VIP -> ip6ip6, flow created",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_v6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .check = check_flow,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv6 udp to VIP -> ip6ip6",
	 .pkt = {P_UDP6, .sport = 5353, .payload_len = 500},
	 .setup = &s_v6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .check = check_flow,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv6 traffic class kept, flow label from the hash",
	 .pkt = {P_TCP6, .sport = 40001, .tcp_flags = TCP_ACK, .tos = 0x28, .flow_label = 0xabcde,
		 .payload_len = 64},
	 .setup = &s_v6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 tcp to VIP, ipv6 backend -> 4in6",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 700},
	 .setup = &s_4in6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 udp to VIP, ipv6 backend -> 4in6",
	 .pkt = {P_UDP4, .sport = 5353, .payload_len = 40},
	 .setup = &s_4in6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 syn with ethernet padding -> lengths from the IP header",
	 .pkt = {P_TCP4, .sport = 40004, .tcp_flags = TCP_SYN},
	 .mangle = pad_to_60,
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "gue: ipv4 tcp syn -> GUE, the slot's two earlier owners as hops, flow created",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_gue4,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 1,
	 .check = check_flow,
	 .reason = XLB_R_FWD_GUE},
	{.name = "gue: ipv4 tcp data -> GUE with hops counted",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_ACK | TCP_PSH, .payload_len = 1000},
	 .setup = &s_gue4,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 1,
	 .reason = XLB_R_GUE_HOPS},
	{.name = "gue: a DOWN earlier owner is left out of the hops",
	 .pkt = {P_TCP4, .sport = 40002, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_gue4_down,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 1,
	 .reason = XLB_R_HOP_DOWN},
	{.name = "gue: ipv4 udp, no earlier owner -> GUE, hop count 0",
	 .pkt = {P_UDP4, .sport = 5353, .payload_len = 300},
	 .setup = &s_gue4,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 1,
	 .reason = XLB_R_FWD_GUE},
	{.name = "gue: on a node forwarding by L2, a GUE VIP still goes in GUE",
	 .pkt = {P_TCP4, .sport = 40003, .tcp_flags = TCP_SYN},
	 .setup = &s_gue4_l2,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 1,
	 .reason = XLB_R_FWD_GUE},
	{.name = "gue: too big for the GUE header (fits IPIP) -> frag needed, mtu - 44",
	 .pkt = {P_TCP4, .sport = 40004, .tcp_flags = TCP_ACK, .payload_len = 1440},
	 .setup = &s_gue4_mtu,
	 .verdict = XDP_TX,
	 .out = OUT_TOO_BIG,
	 .backend = 1,
	 .reason = XLB_R_TX_TOO_BIG},
	{.name = "stateless: SYN -> GUE to the slot's primary with its hops, no flow entry, "
		 "the SYN remembered",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_sl4,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 1,
	 .check = check_stateless,
	 .reason = XLB_R_FWD_GUE},
	{.name = "stateless: established packet -> the slot's primary, nothing remembered",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_ACK, .payload_len = 100},
	 .setup = &s_sl4,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 1,
	 .check = check_stateless,
	 .reason = XLB_R_GUE_HOPS},
	{.name = "stateless: established packet follows the table, not its first backend",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4,
		 .proto = IPPROTO_TCP,
		 .dport = 81,
		 .sport = 40002,
		 .tcp_flags = TCP_ACK},
	 .setup = &s_sl4,
	 .first = &(const struct pkt_spec){.src = CLIENT4,
					   .dst = VIP4,
					   .proto = IPPROTO_TCP,
					   .dport = 81,
					   .sport = 40002,
					   .tcp_flags = TCP_SYN},
	 .after = after_refill_vip2_3,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 3,
	 .check = check_stateless,
	 .reason = XLB_R_FWD_GUE},
	{.name = "stateless: SYN retried on a young SYN -> one passive event",
	 .pkt = {P_TCP4, .sport = 40003, .tcp_flags = TCP_SYN},
	 .setup = &s_sl4,
	 .first = &(const struct pkt_spec){P_TCP4, .sport = 40003, .tcp_flags = TCP_SYN},
	 .after = after_no_event,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = BE_FIRST,
	 .check = check_event_syn,
	 .reason = XLB_R_EVENT},
	{.name = "stateless: bare RST after a young SYN -> one passive event",
	 .pkt = {P_TCP4, .sport = 40004, .tcp_flags = TCP_RST},
	 .setup = &s_sl4,
	 .first = &(const struct pkt_spec){P_TCP4, .sport = 40004, .tcp_flags = TCP_SYN},
	 .after = after_no_event,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = BE_FIRST,
	 .check = check_event_rst,
	 .reason = XLB_R_EVENT},
	{.name = "stateless: a DRAINING primary still takes its slot's SYNs",
	 .pkt = {P_TCP4, .sport = 40005, .tcp_flags = TCP_SYN},
	 .setup = &s_sl4_draining,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 1,
	 .check = check_stateless,
	 .reason = XLB_R_FWD_GUE},
	{.name = "stateless: a DOWN primary -> re-probed to an ACTIVE one, no flow entry",
	 .pkt = {P_TCP4, .sport = 40006, .tcp_flags = TCP_ACK},
	 .setup = &s_sl4_down,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 2,
	 .check = check_stateless,
	 .reason = XLB_R_FWD_GUE},
	{.name = "gue: ipv6 tcp syn -> GUE over IPv6, UDP checksum from the headers",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_gue6,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 5,
	 .reason = XLB_R_FWD_GUE},
	{.name = "gue: ipv6 tcp data, traffic class and payload -> checksum right",
	 .pkt = {P_TCP6, .sport = 40001, .tcp_flags = TCP_ACK, .tos = 0x28, .payload_len = 777},
	 .setup = &s_gue6,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 5,
	 .reason = XLB_R_GUE_HOPS},
	{.name = "gue: ipv6 udp -> GUE over IPv6, checksum right",
	 .pkt = {P_UDP6, .sport = 5353, .payload_len = 501},
	 .setup = &s_gue6,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 5,
	 .reason = XLB_R_FWD_GUE},
	{.name = "gue: ipv4 tcp, ipv6 backend -> GUE 4in6, checksum right",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 699, .ip_opts = 8},
	 .setup = &s_gue4in6,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 5,
	 .reason = XLB_R_FWD_GUE},
	{.name = "gue: ipv4 udp, ipv6 backend -> GUE 4in6, checksum right",
	 .pkt = {P_UDP4, .sport = 5353, .payload_len = 41},
	 .setup = &s_gue4in6,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 5,
	 .reason = XLB_R_FWD_GUE},
	{.name = "gue: ipv4 udp without a checksum, ipv6 backend -> outer checksum 0",
	 .pkt = {P_UDP4, .sport = 5354, .payload_len = 40},
	 .mangle = udp_no_csum,
	 .setup = &s_gue4in6,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = 5,
	 .reason = XLB_R_FWD_GUE},
	{.name = "gue: icmpv6 packet-too-big about a flow -> GUE, ICMPv6 checksum shortcut right",
	 .pkt = {.src = ROUTER6,
		 .dst = VIP6,
		 .proto = IPPROTO_ICMPV6,
		 .icmp_type = ICMP6_PKT_TOO_BIG,
		 .icmp_info = 1280,
		 .quote = &reply6},
	 .setup = &s_gue6,
	 .first = &flow6,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = BE_FIRST,
	 .reason = XLB_R_FWD_ICMP},
	{.name = "gue: icmp frag-needed about a flow, ipv6 backend -> GUE 4in6, checksum right",
	 .pkt = {.src = ROUTER4,
		 .dst = VIP4,
		 .proto = IPPROTO_ICMP,
		 .icmp_type = ICMP_UNREACH,
		 .icmp_code = ICMP_FRAG_NEEDED,
		 .icmp_info = 1400,
		 .quote = &reply4},
	 .setup = &s_gue4in6,
	 .first = &flow4,
	 .verdict = XDP_TX,
	 .out = OUT_GUE,
	 .backend = BE_FIRST,
	 .reason = XLB_R_FWD_ICMP},
	{.name = "client filter: a client in the first VIP's prefix -> its backend",
	 .pkt = {P_SYN4_FROM(CLIENT4, 80)},
	 .setup = &s_clients4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "client filter: a client in the second VIP's prefix, same address -> its backend",
	 .pkt = {P_SYN4_FROM(NEAR4, 80)},
	 .setup = &s_clients4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 2,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "client filter: a client in no prefix -> pass untouched (pass_client)",
	 .pkt = {P_SYN4_FROM(FAR4, 80)},
	 .setup = &s_clients4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_CLIENT},
	{.name = "client filter: a VIP for every client takes a client in no prefix",
	 .pkt = {P_SYN4_FROM(FAR4, 80)},
	 .setup = &s_clients4_rest,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 3,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "client filter: the prefix wins over the VIP for every client",
	 .pkt = {P_SYN4_FROM(CLIENT4, 80)},
	 .setup = &s_clients4_rest,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "client filter on a port-less VIP: any port from the prefix -> its backend",
	 .pkt = {P_SYN4_FROM(CLIENT4, 8080)},
	 .setup = &s_clients4_portless,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "client filter, ipv6: a client in the prefix -> its backend",
	 .pkt = {P_SYN6_FROM(CLIENT6)},
	 .setup = &s_clients6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "client filter, ipv6: a client outside the prefix -> pass untouched (pass_client)",
	 .pkt = {P_SYN6_FROM(FAR6)},
	 .setup = &s_clients6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_CLIENT},
	{.name = "port-less VIP matches any port",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4,
		 .proto = IPPROTO_TCP,
		 .dport = 8080,
		 .sport = 40000,
		 .tcp_flags = TCP_SYN},
	 .setup = &s_portless,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "exact-port VIP preferred over the port-less one",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_exact_and_portless,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "other port falls back to the port-less VIP",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4,
		 .proto = IPPROTO_TCP,
		 .dport = 81,
		 .sport = 40000,
		 .tcp_flags = TCP_SYN},
	 .setup = &s_exact_and_portless,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 2,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "default-size table (65537 slots)",
	 .pkt = {P_TCP4, .sport = 41234, .tcp_flags = TCP_SYN},
	 .setup = &s_default_size,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_TABLE,
	 .check = check_flow,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 with options to VIP -> encapsulated whole",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .ip_opts = 8, .payload_len = 50},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 with 40 option bytes to VIP -> encapsulated whole",
	 .pkt = {P_UDP4, .sport = 5353, .ip_opts = 40, .payload_len = 50},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv6 hop-by-hop header to VIP -> ip6ip6",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN, .ext = {PKT_EXT_HOPOPTS}},
	 .setup = &s_v6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .check = check_flow,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv6 hop-by-hop + routing + dest-opts to VIP -> ip6ip6",
	 .pkt = {P_UDP6, .sport = 5353, .payload_len = 20,
		 .ext = {PKT_EXT_HOPOPTS, PKT_EXT_ROUTING, PKT_EXT_DSTOPTS}},
	 .setup = &s_v6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .check = check_flow,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "vlan ipv4 -> ipip, tag kept",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN, .vlan = 100},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "vlan ipv6 -> ip6ip6, tag kept",
	 .pkt = {P_UDP6, .sport = 5353, .payload_len = 99, .vlan = 4094},
	 .setup = &s_v6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "vlan ipv4 -> 4in6, ethertype inside the tag becomes ipv6",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN, .vlan = 7},
	 .setup = &s_4in6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .reason = XLB_R_FWD_ENCAP},

	/* Not for a VIP: untouched. */
	{.name = "ipv4 to another address -> pass untouched",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4_OTHER,
		 .proto = IPPROTO_TCP,
		 .sport = 40000,
		 .dport = 80,
		 .tcp_flags = TCP_SYN},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "ipv4 to another port -> pass untouched",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4,
		 .proto = IPPROTO_TCP,
		 .sport = 40000,
		 .dport = 8080,
		 .tcp_flags = TCP_SYN},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "udp to a tcp VIP -> pass untouched",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4,
		 .proto = IPPROTO_UDP,
		 .sport = 40000,
		 .dport = 80,
		 .payload_len = 20},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "udp to a port-less tcp VIP -> pass untouched",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4,
		 .proto = IPPROTO_UDP,
		 .sport = 40000,
		 .dport = 80,
		 .payload_len = 20},
	 .setup = &s_portless,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "ipv6 to another address -> pass untouched",
	 .pkt = {.src = CLIENT6,
		 .dst = VIP6_OTHER,
		 .proto = IPPROTO_TCP,
		 .sport = 40000,
		 .dport = 80,
		 .tcp_flags = TCP_SYN},
	 .setup = &s_v6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "arp -> pass untouched",
	 .pkt = {.ethertype = 0x0806, .payload_len = 28},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_IP},
	{.name = "unknown ethertype -> pass untouched",
	 .pkt = {.ethertype = 0x88b5, .payload_len = 46},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_IP},
	{.name = "ipv4 with options to another address -> pass untouched",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4_OTHER,
		 .proto = IPPROTO_TCP,
		 .sport = 40000,
		 .dport = 80,
		 .tcp_flags = TCP_SYN,
		 .ip_opts = 12},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "ipv4 first fragment (MF) to VIP -> pass untouched",
	 .pkt = {P_UDP4, .sport = 5353, .payload_len = 600, .frag = 0x2000},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_FRAGMENT},
	{.name = "ipv4 later fragment (offset) to VIP -> pass untouched",
	 .pkt = {P_UDP4, .sport = 5353, .payload_len = 600, .frag = 185},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_FRAGMENT},
	{.name = "ipv6 fragment header to VIP -> pass untouched",
	 .pkt = {P_UDP6, .sport = 5353, .payload_len = 600, .ext = {PKT_EXT_FRAGMENT}},
	 .setup = &s_v6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_FRAGMENT},
	{.name = "ipv6 hop-by-hop then fragment header -> pass untouched",
	 .pkt = {P_UDP6, .sport = 5353, .payload_len = 60,
		 .ext = {PKT_EXT_HOPOPTS, PKT_EXT_FRAGMENT}},
	 .setup = &s_v6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_FRAGMENT},
	{.name = "icmp echo to VIP -> pass untouched",
	 .pkt = {.src = CLIENT4,
		 .dst = VIP4,
		 .proto = IPPROTO_ICMP,
		 .icmp_type = ICMP_ECHO,
		 .icmp_info = 0x00010001,
		 .payload_len = 56},
	 .setup = &s_portless,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_PROTO},
	{.name = "icmpv6 echo to VIP -> pass untouched",
	 .pkt = {.src = CLIENT6,
		 .dst = VIP6,
		 .proto = IPPROTO_ICMPV6,
		 .icmp_type = ICMP6_ECHO,
		 .icmp_info = 0x00010001,
		 .payload_len = 56},
	 .setup = &s_v6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_PROTO},
	{.name = "icmp error quoting another address's flow -> pass untouched",
	 .pkt = {.src = ROUTER4,
		 .dst = VIP4_OTHER,
		 .proto = IPPROTO_ICMP,
		 .icmp_type = ICMP_UNREACH,
		 .icmp_code = ICMP_FRAG_NEEDED,
		 .icmp_info = 1400,
		 .quote = &reply4_other,
		 .quote_len = 28},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmp error quoting 2 bytes of L4 (no ports) -> pass untouched",
	 .pkt = {.src = ROUTER4,
		 .dst = VIP4,
		 .proto = IPPROTO_ICMP,
		 .icmp_type = ICMP_UNREACH,
		 .icmp_code = ICMP_FRAG_NEEDED,
		 .icmp_info = 1400,
		 .quote = &reply4,
		 .quote_len = 22},
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_PROTO},

	/* Malformed: untouched, counted. */
	{.name = "frame shorter than an ethernet header -> pass untouched",
	 .pkt = {P_TCP4, .sport = 40000},
	 .mangle = cut_short_eth,
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "truncated vlan tag -> pass untouched",
	 .pkt = {P_TCP4, .sport = 40000, .vlan = 5},
	 .mangle = cut_vlan_tag,
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "truncated ipv4 header -> pass untouched",
	 .pkt = {P_TCP4, .sport = 40000},
	 .mangle = cut_ipv4_hdr,
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "ipv4 ihl < 5 -> pass untouched",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .mangle = ipv4_ihl_4,
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "ipv4 version field 6 -> pass untouched",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .mangle = ipv4_version_6,
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "ipv4 tot_len beyond the frame -> pass untouched",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 100},
	 .mangle = ipv4_tot_len_over,
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "ipv4 tot_len shorter than its header -> pass untouched",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .mangle = ipv4_tot_len_under,
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "truncated tcp header -> pass untouched",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .mangle = cut_l4_hdr,
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "truncated udp header -> pass untouched",
	 .pkt = {P_UDP4, .sport = 5353},
	 .mangle = cut_udp_hdr,
	 .setup = &s_v4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "truncated ipv6 header -> pass untouched",
	 .pkt = {P_TCP6, .sport = 40000},
	 .mangle = cut_ipv6_hdr,
	 .setup = &s_v6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},
	{.name = "ipv6 payload_len beyond the frame -> pass untouched",
	 .pkt = {P_TCP6, .sport = 40000, .payload_len = 10},
	 .mangle = ipv6_payload_len_over,
	 .setup = &s_v6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .reason = XLB_R_PASS_MALFORMED},

	/* ICMP errors about a VIP flow follow the flow. */
	{.name = "icmp frag-needed about a VIP flow -> that flow's backend",
	 .pkt = {.src = ROUTER4,
		 .dst = VIP4,
		 .proto = IPPROTO_ICMP,
		 .icmp_type = ICMP_UNREACH,
		 .icmp_code = ICMP_FRAG_NEEDED,
		 .icmp_info = 1400,
		 .quote = &reply4,
		 .quote_len = 28},
	 .setup = &s_two4,
	 .first = &flow4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_icmp,
	 .reason = XLB_R_FWD_ICMP},
	{.name = "icmp frag-needed follows the flow table, not the table slot",
	 .pkt = {.src = ROUTER4,
		 .dst = VIP4,
		 .proto = IPPROTO_ICMP,
		 .icmp_type = ICMP_UNREACH,
		 .icmp_code = ICMP_FRAG_NEEDED,
		 .icmp_info = 1400,
		 .quote = &reply4},
	 .setup = &s_v4,
	 .first = &flow4,
	 .after = after_refill_2,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_icmp,
	 .reason = XLB_R_FWD_ICMP},
	{.name = "icmp time-exceeded about a VIP flow -> that flow's backend",
	 .pkt = {.src = ROUTER4,
		 .dst = VIP4,
		 .proto = IPPROTO_ICMP,
		 .icmp_type = ICMP_TIME_EXCEEDED,
		 .quote = &reply4,
		 .quote_len = 48},
	 .setup = &s_two4,
	 .first = &flow4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_icmp,
	 .reason = XLB_R_FWD_ICMP},
	{.name = "icmpv6 packet-too-big about a VIP flow -> that flow's backend",
	 .pkt = {.src = ROUTER6,
		 .dst = VIP6,
		 .proto = IPPROTO_ICMPV6,
		 .icmp_type = ICMP6_PKT_TOO_BIG,
		 .icmp_info = 1280,
		 .quote = &reply6},
	 .setup = &s_two6,
	 .first = &flow6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_icmp,
	 .reason = XLB_R_FWD_ICMP},
	{.name = "icmp frag-needed without a flow -> hashed like it, no flow made",
	 .pkt = {.src = ROUTER4,
		 .dst = VIP4,
		 .proto = IPPROTO_ICMP,
		 .icmp_type = ICMP_UNREACH,
		 .icmp_code = ICMP_FRAG_NEEDED,
		 .icmp_info = 1400,
		 .quote = &reply4,
		 .quote_len = 28},
	 .setup = &s_two4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_TABLE,
	 .check = check_icmp_no_flow,
	 .reason = XLB_R_FWD_ICMP},

	/*
	 * ICMP errors about a VIP flow addressed elsewhere than that VIP are the
	 * host's (addressed to the VIP: the cases above).
	 */
	{.name = "icmp frag-needed about a VIP flow, to another VIP -> pass untouched",
	 .pkt = {P_ICMP4_ERR_TO(VIP4_OTHER)},
	 .setup = &s_two4_other,
	 .first = &flow4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmp frag-needed about a VIP flow, to the LB's address -> pass untouched",
	 .pkt = {P_ICMP4_ERR_TO(LB4)},
	 .setup = &s_two4_other,
	 .first = &flow4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmp frag-needed about a VIP flow, to a backend -> pass untouched",
	 .pkt = {P_ICMP4_ERR_TO(BE4_1)},
	 .setup = &s_two4_other,
	 .first = &flow4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmp frag-needed about a VIP flow, to 127.0.0.1 -> pass untouched",
	 .pkt = {P_ICMP4_ERR_TO(LO4)},
	 .setup = &s_two4_other,
	 .first = &flow4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmp frag-needed about a VIP flow, to 255.255.255.255 -> pass untouched",
	 .pkt = {P_ICMP4_ERR_TO(BCAST4)},
	 .setup = &s_two4_other,
	 .first = &flow4,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmpv6 packet-too-big about a VIP flow, to another VIP -> pass untouched",
	 .pkt = {P_ICMP6_ERR_TO(VIP6_OTHER)},
	 .setup = &s_two6_other,
	 .first = &flow6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmpv6 packet-too-big about a VIP flow, to the LB's address -> pass untouched",
	 .pkt = {P_ICMP6_ERR_TO(LB6)},
	 .setup = &s_two6_other,
	 .first = &flow6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmpv6 packet-too-big about a VIP flow, to a backend -> pass untouched",
	 .pkt = {P_ICMP6_ERR_TO(BE6_1)},
	 .setup = &s_two6_other,
	 .first = &flow6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmpv6 packet-too-big about a VIP flow, to ::1 -> pass untouched",
	 .pkt = {P_ICMP6_ERR_TO(LO6)},
	 .setup = &s_two6_other,
	 .first = &flow6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},
	{.name = "icmpv6 packet-too-big about a VIP flow, to ff02::1 -> pass untouched",
	 .pkt = {P_ICMP6_ERR_TO(ALLNODES6)},
	 .setup = &s_two6_other,
	 .first = &flow6,
	 .verdict = XDP_PASS,
	 .out = OUT_SAME,
	 .check = check_icmp_passed,
	 .reason = XLB_R_PASS_NOT_VIP},

	/* Backend states, flows, weights. */
	{.name = "DOWN backend in the slot -> re-probed to another",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_slots2_down1,
	 .prep = prep_slots_to_1,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 2,
	 .check = check_flow,
	 .reason = XLB_R_REPROBE},
	{.name = "all backends DOWN -> drop",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_all_down,
	 .verdict = XDP_DROP,
	 .check = check_no_flow,
	 .reason = XLB_R_DROP_NO_BACKEND},
	{.name = "table without backends -> drop",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_empty_table,
	 .verdict = XDP_DROP,
	 .check = check_no_flow,
	 .reason = XLB_R_DROP_NO_BACKEND},
	{.name = "DRAINING backend keeps its existing flow (its generation kept)",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_two4,
	 .first = &flow4,
	 .after = after_drain_first,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_flow,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "SYN on a DRAINING backend's flow (a client's retry) -> re-picked",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_slots2,
	 .prep = prep_slots_to_1,
	 .first = &flow4,
	 .after = after_drain_first,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 2,
	 .check = check_flow,
	 .reason = XLB_R_FLOW_REPICK},
	{.name = "DRAINING backend gets no new flow",
	 .pkt = {P_TCP4, .sport = 40001, .tcp_flags = TCP_SYN},
	 .setup = &s_slots2,
	 .prep = prep_slots_to_1,
	 .first = &flow4,
	 .after = after_drain_first,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 2,
	 .check = check_flow,
	 .reason = XLB_R_REPROBE},
	{.name = "flow whose backend went DOWN is re-picked",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_v4,
	 .first = &flow4,
	 .after = after_down_first_refill_2,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 2,
	 .check = check_flow,
	 .reason = XLB_R_FLOW_REPICK},
	{.name = "flow whose backend id was freed and reused by another address -> re-picked",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_v4,
	 .first = &flow4,
	 .after = after_reuse_first_refill_2,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 2,
	 .check = check_flow,
	 .reason = XLB_R_FLOW_REPICK},
	{.name = "flow of a reused backend id, the table still at the id -> rewritten, new "
		 "generation",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_v4,
	 .first = &flow4,
	 .after = after_reuse_first,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_flow,
	 .reason = XLB_R_FLOW_REPICK},
	{.name = "generation wraps: backend at 65535 freed and reused (1) -> flow re-picked",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 10},
	 .setup = &s_v4_gen_max,
	 .first = &flow4,
	 .after = after_reuse_first_refill_2,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 2,
	 .check = check_flow_gen_wrapped,
	 .reason = XLB_R_FLOW_REPICK},
	{.name = "tcp rst to VIP -> forwarded, no flow created",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_RST},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_no_flow,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "second packet of a flow: VIP and backend counters",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 333},
	 .setup = &s_two4,
	 .first = &flow4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_stats_2nd,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "table filled 1:3 -> flows near 1:3",
	 .pkt = {P_UDP4, .sport = 19999, .payload_len = 8},
	 .setup = &s_weights,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_TABLE,
	 .check = check_weights,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "hash on source only -> one backend for every port",
	 .pkt = {P_TCP4, .sport = 50000, .tcp_flags = TCP_SYN},
	 .setup = &s_hash_src,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_TABLE,
	 .check = check_hash_src,
	 .reason = XLB_R_FWD_ENCAP},
	/* Least connections (bpf/lib/lconn.h). */
	LC_CASE("least_conn: new flow, no counts -> first candidate, counted, entry flagged", &s_lc,
		TCP_SYN, NULL, NULL, NULL, BE_TABLE, check_lc_counted),
	LC_CASE("least_conn: first candidate busier -> the second", &s_lc, TCP_SYN,
		prep_lc_first_loaded, NULL, NULL, BE_SECOND, check_lc_chosen),
	LC_CASE("least_conn: equal counts -> the first candidate", &s_lc, TCP_SYN, prep_lc_tie,
		NULL, NULL, BE_TABLE, check_lc_chosen),
	LC_CASE("least_conn: 3 flows at weight 4 against 1 at weight 1 -> the first", &s_lc,
		TCP_SYN, prep_lc_weight_keeps, NULL, NULL, BE_TABLE, check_lc_chosen),
	LC_CASE("least_conn: 2 flows at weight 1 against 5 at weight 4 -> the second", &s_lc,
		TCP_SYN, prep_lc_weight_moves, NULL, NULL, BE_SECOND, check_lc_chosen),
	LC_CASE("least_conn: a count below 0 compares as 0 -> tie, the first candidate", &s_lc,
		TCP_SYN, prep_lc_negative, NULL, NULL, BE_TABLE, check_lc_chosen),
	LC_CASE("least_conn: established flow stays on its backend, however loaded", &s_lc, TCP_ACK,
		NULL, &flow4, after_lc_load_first, BE_FIRST, check_lc_kept),
	LC_CASE("least_conn: client FIN -> count back to 0, once", &s_lc, TCP_FIN | TCP_ACK, NULL,
		&flow4, NULL, BE_FIRST, check_lc_ended),
	LC_CASE("least_conn: client RST -> count back to 0, once", &s_lc, TCP_RST | TCP_ACK, NULL,
		&flow4, NULL, BE_FIRST, check_lc_ended),
	LC_CASE("least_conn: SYN on a closed flow's 5-tuple -> counted again", &s_lc, TCP_SYN, NULL,
		&flow4, after_lc_fin, BE_FIRST, check_lc_recounted),
	LC_CASE("least_conn: flow re-picked off a DOWN backend -> its count moves", &s_lc, TCP_ACK,
		NULL, &flow4, after_lc_down_first, BE_SECOND, check_lc_moved),
	LC_CASE("chash VIP: new flow -> nothing counted, entry not flagged", &s_v4, TCP_SYN, NULL,
		NULL, NULL, BE_TABLE, check_lc_not_counted),
	{.name = "VIP without a table -> drop",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_no_table,
	 .verdict = XDP_DROP,
	 .check = check_no_flow,
	 .reason = XLB_R_DROP_NO_TABLE},
	{.name = "ipv6 VIP with an ipv4 backend -> drop",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_v6_be4,
	 .verdict = XDP_DROP,
	 .reason = XLB_R_DROP_FAMILY},

	/* Too big once encapsulated. */
	{.name = "ipv4 DF, 1581 bytes -> icmp frag-needed to the client",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 1541},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_TOO_BIG,
	 .backend = 1,
	 .reason = XLB_R_TX_TOO_BIG},
	{.name = "ipv4 DF, 1580 bytes -> fits, ipip",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 1540},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "ipv4 options, DF, too big -> frag-needed quoting the options",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .ip_opts = 8, .payload_len = 1533},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_TOO_BIG,
	 .backend = 1,
	 .reason = XLB_R_TX_TOO_BIG},
	{.name = "vlan ipv4 DF too big -> frag-needed, tag kept",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 1541, .vlan = 100},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_TOO_BIG,
	 .backend = 1,
	 .reason = XLB_R_TX_TOO_BIG},
	{.name = "ipv4 without DF too big -> drop",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 1541, .no_df = 1},
	 .setup = &s_v4,
	 .verdict = XDP_DROP,
	 .reason = XLB_R_DROP_TOO_BIG},
	{.name = "ipv4 to ipv6 backend, 1561 bytes -> frag-needed, mtu 1560",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 1521},
	 .setup = &s_4in6,
	 .verdict = XDP_TX,
	 .out = OUT_TOO_BIG,
	 .backend = 5,
	 .reason = XLB_R_TX_TOO_BIG},
	{.name = "ipv6, 1561 bytes -> icmpv6 packet-too-big to the client",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 1501},
	 .setup = &s_v6,
	 .verdict = XDP_TX,
	 .out = OUT_TOO_BIG,
	 .backend = 5,
	 .reason = XLB_R_TX_TOO_BIG},
	{.name = "ipv6, 1560 bytes -> fits, ip6ip6",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 1500},
	 .setup = &s_v6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .reason = XLB_R_FWD_ENCAP},

	/* L2 direct return. */
	{.name = "l2 mode ipv4: only the MACs change",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN, .payload_len = 20},
	 .setup = &s_l2_v4,
	 .verdict = XDP_TX,
	 .out = OUT_L2,
	 .backend = 1,
	 .check = check_flow,
	 .reason = XLB_R_FWD_L2},
	{.name = "l2 mode ipv6: only the MACs change",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN, .payload_len = 20},
	 .setup = &s_l2_v6,
	 .verdict = XDP_TX,
	 .out = OUT_L2,
	 .backend = 5,
	 .reason = XLB_R_FWD_L2},
	{.name = "l2 mode vlan ipv4: only the MACs change",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN, .vlan = 42},
	 .setup = &s_l2_v4,
	 .verdict = XDP_TX,
	 .out = OUT_L2,
	 .backend = 1,
	 .reason = XLB_R_FWD_L2},
	{.name = "l2 mode, ipv4 VIP with an ipv6 backend -> drop",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_l2_4in6,
	 .verdict = XDP_DROP,
	 .reason = XLB_R_DROP_FAMILY},

	/* Passive health: events on the xlb_events ring. */
	{.name = "passive: first SYN of a flow -> no event",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_two4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_TABLE,
	 .check = check_no_event,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "passive: SYN retransmitted on a flow -> one event for its backend",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_two4,
	 .first = &flow4,
	 .after = after_no_event,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_event_syn,
	 .reason = XLB_R_EVENT},
	{.name = "passive: ipv6 SYN retransmitted -> one event",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_two6,
	 .first = &flow6,
	 .after = after_no_event,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_event_syn,
	 .reason = XLB_R_EVENT},
	{.name = "passive: established ACK -> no event",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK, .payload_len = 100},
	 .setup = &s_two4,
	 .first = &flow4,
	 .after = after_no_event,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_no_event,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "next hop: a forwarded packet marks the entry fresh for the tick, stamp kept",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_ACK},
	 .setup = &s_two4,
	 .first = &flow4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_nh_tick,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "passive: bare RST on a young flow -> client_rst event",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_RST},
	 .setup = &s_two4,
	 .first = &flow4,
	 .after = after_no_event,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_event_rst,
	 .reason = XLB_R_EVENT},
	{.name = "passive: RST|ACK (application abort) -> no event",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_RST | TCP_ACK},
	 .setup = &s_two4,
	 .first = &flow4,
	 .after = after_no_event,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_no_event,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "passive: SYN+ACK from the client side -> no event",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN | TCP_ACK},
	 .setup = &s_two4,
	 .first = &flow4,
	 .after = after_no_event,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_no_event,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "passive: SYN on a 31 s old flow (5-tuple reuse) -> no event",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_two4,
	 .first = &flow4,
	 .after = after_age_flow,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_no_event,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "passive: SYN retry after the burst -> dropped and counted",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_two4,
	 .first = &flow4,
	 .after = after_burst,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_FIRST,
	 .check = check_no_event,
	 .reason = XLB_R_EVENT_DROPPED},
	{.name = "passive: SYN retry on a flow whose backend is down -> re-picked, no event",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_v4,
	 .first = &flow4,
	 .after = after_down_first_refill_2,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 2,
	 .check = check_no_event,
	 .reason = XLB_R_FLOW_REPICK},

	/*
	 * The flow cache: flows of one set (the packet's, flow 0), a new one in
	 * a full set taking the oldest way not hit since the set's bits were
	 * cleared, else the oldest (check_fc_script).
	 */
	FC_CASE("flow cache v4: 4th flow of a 3-way set, every way hit since -> the oldest evicted",
		P_TCP4, &s_fc4, "p0 n1 n2 p0 p1 p2 n3 x0 p1 p2 p3"),
	FC_CASE("flow cache v4: next new flow -> the oldest way not hit since evicted", P_TCP4,
		&s_fc4, "n1 n2 n3 x0 n4 x1 p2 p3 p4"),
	FC_CASE("flow cache v4: a flow hit after insert outlives an older unhit one", P_TCP4,
		&s_fc4, "n1 n2 n3 x0 h1 n4 x2 p1 p3 p4"),
	FC_CASE("flow cache v6: 5th flow of a 4-way set, every way hit since -> the oldest evicted",
		P_TCP6, &s_fc6, "n1 n2 n3 p0 p1 p2 p3 n4 x0 p1 p2 p3 p4"),
	FC_CASE("flow cache v6: next new flow -> the oldest way not hit since evicted", P_TCP6,
		&s_fc6, "n1 n2 n3 n4 x0 n5 x1 p2 p3 p4 p5"),
	FC_CASE("flow cache v6: a flow hit after insert outlives an older unhit one", P_TCP6,
		&s_fc6, "n1 n2 n3 n4 x0 h1 n5 x2 p1 p3 p4 p5"),
	{.name = "flow cache v4: ACK of a connection opened on another CPU keeps its backend",
	 .other_cpu = 1,
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_fc4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_fc_moved,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "flow cache v6: ACK of a connection opened on another CPU keeps its backend",
	 .other_cpu = 1,
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_fc6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .check = check_fc_moved,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "flow cache v4: the hash seed changes under a connection -> it keeps its backend",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_fc4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_fc_reseed,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "flow cache v6: the hash seed changes under a connection -> it keeps its backend",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_fc6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .check = check_fc_reseed,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "flow cache v4: a VIP turns least_conn and back -> connections keep their "
		 "backends",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_fc4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_fc_kind,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "flow cache v6: a VIP turns least_conn and back -> connections keep their "
		 "backends",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_fc6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .check = check_fc_kind,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "flow cache: hash-src VIP keeps two connections of a client apart",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_hash_src,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_TABLE,
	 .check = check_fc_hash_src,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "flow cache: least_conn VIP's flow in xlb_flows, not in the cache",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_lc,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = BE_TABLE,
	 .check = check_fc_table,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "flow cache: ipv4 VIP's flow in the cache, not in xlb_flows",
	 .pkt = {P_TCP4, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_v4,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 1,
	 .check = check_fc_table,
	 .reason = XLB_R_FWD_ENCAP},
	{.name = "flow cache: ipv6 VIP's flow in the cache, not in xlb_flows",
	 .pkt = {P_TCP6, .sport = 40000, .tcp_flags = TCP_SYN},
	 .setup = &s_v6,
	 .verdict = XDP_TX,
	 .out = OUT_ENCAP,
	 .backend = 5,
	 .check = check_fc_table,
	 .reason = XLB_R_FWD_ENCAP},
};

/* --- the runner ---------------------------------------------------------- */

static int resolve_backend(struct env *e, const struct xlb_case *c)
{
	if (c->backend == BE_FIRST)
		e->want_be = e->first_be;
	else if (c->backend == BE_SECOND)
		return lc_second(e, &c->pkt, &e->want_be);
	else if (c->backend == BE_TABLE)
		return table_backend(e, &c->pkt, &e->want_be);
	else
		e->want_be = c->backend;
	return 0;
}

/* The built input has the options / extension headers the case asks for. */
static int input_sane(struct env *e, const struct xlb_case *c, const struct pkt *in)
{
	size_t want, n = 0;

	if (c->pkt.ethertype)
		return 0;
	while (n < PKT_EXT_MAX && c->pkt.ext[n])
		n++;
	want = strchr(c->pkt.dst, ':') ? 40 + 8 * n : 20 + (size_t)c->pkt.ip_opts;
	if (in->l4_off - in->ip_off != want)
		return fail(e, "input: IP headers of %zu bytes, the case asks for %zu",
			    in->l4_off - in->ip_off, want);
	return 0;
}

/* A NAT case: remember the source port the first packet was given. */
static int nat_port_read(struct env *e, const struct xlb_case *c)
{
	struct xlb_nat_fwd f;

	e->nat_port = 0;
	if (!nat_fwd_get(e, c->first, &f))
		e->nat_port = ntohs(f.nat_port);
	return 0;
}

/* 0 passed, 1 skipped, -1 failed; the reason in e->t.msg. */
static int run_case(struct env *e, const struct xlb_case *c)
{
	struct pkt in, out;
	__u32 verdict = 0;
	int err;

	e->first_be = 0;
	e->first_len = 0;
	e->nat_port = 0;
	err = env_reset(e);
	if (err)
		return fail(e, "cannot reset the maps: %s", strerror(-err));
	if (setup_apply(e, c->setup))
		return -1;
	if (pkt_build(&in, &c->pkt))
		return fail(e, "cannot build the input packet");
	if (input_sane(e, c, &in))
		return -1;
	if (c->mangle)
		c->mangle(&in);
	if (c->prep && c->prep(e, c))
		return -1;
	if (c->first && run_to_backend(e, c->first, &e->first_be, &e->first_len))
		return -1;
	if (c->first && nat_port_read(e, c))
		return -1;
	if (c->after && c->after(e, c))
		return -1;
	e->in_spec = c->pkt;
	if (c->input && c->input(e, c, &in))
		return -1;
	if (resolve_backend(e, c))
		return -1;
	if (bpftest_reasons_snap(&e->t, &e->reasons))
		return -1;

	err = bpftest_run(e->prog_fd, NH_IFINDEX, &in, &out, &verdict);
	if (err == -EINVAL && in.len < 14) {
		snprintf(e->t.msg, sizeof(e->t.msg),
			 "the kernel's test run refuses frames under 14 bytes (EINVAL)");
		return 1;
	}
	if (err)
		return fail(e, "test run: %s", strerror(-err));
	if (bpftest_expect_verdict(&e->t, &e->reasons, verdict, c->verdict))
		return -1;
	if (check_output(e, c, &in, &out))
		return -1;
	if (bpftest_expect_reason(&e->t, &e->reasons, c->reason, in.len))
		return -1;
	err = c->check ? c->check(e, c, &in, &out) : 0;
	return err > 0 ? 1 : err ? -1 : 0; /* a check may skip (1, why in e->t.msg) */
}

/*
 * The program loaded for this host, or with one_cpu as a one-CPU host
 * loads it (xlb_fc_ncpu 1: the flow cache sized for CPU 0 alone, the look
 * into other CPUs' sets dead code the verifier drops).
 */
static int env_open(struct env *e, int one_cpu)
{
	int err;

	e->skel = xlb_lb__open();
	if (!e->skel)
		return -errno;
	err = bpftest_lb_size(e->skel, &e->ncpu, FLOWS_MAX, BPFTEST_SYN_BITS);
	if (!err && one_cpu)
		err = xlb_flow_cache_size(e->skel, FLOWS_MAX, FLOWS_MAX, 1);
	err = err ?: xlb_lb__load(e->skel);
	if (err)
		return err;
	e->prog_fd = bpf_program__fd(e->skel->progs.xlb_lb);
	e->m = (struct xlb_maps){.skel = e->skel, .lock_fd = -1};
	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.xlb_events), event_keep, e, NULL);
	if (!e->rb)
		return -errno;
	e->reasons = (struct bpftest_reasons){
		.map = e->skel->maps.xlb_reasons,
		.ncpu = e->ncpu,
		.n = XLB_R_MAX,
		.name = xlb_reason_name,
	};
	return 0;
}

static void env_close(struct env *e)
{
	env_reset(e);
	ring_buffer__free(e->rb);
	xlb_lb__destroy(e->skel);
	e->rb = NULL;
	e->skel = NULL;
}

/*
 * The flow cache's cases again on the program as a one-CPU host loads it,
 * run on CPU 0 (the only CPU whose sets that load has; on CPU 0 a reason
 * counter's block starts at entry 0 whatever its size, which main() avoids
 * for the first pass), but those that need another CPU. Numbered after
 * the n cases. A program that does not load so fails a case of its own;
 * without CPU 0, every case of the pass is skipped.
 */
static void one_cpu_pass(struct env *e, const struct xlb_case *all, int n)
{
	char name[256];
	cpu_set_t cpus;
	int i, k = n, err, pinned;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	pinned = !sched_setaffinity(0, sizeof(cpus), &cpus);
	e->cpu = 0;
	err = pinned ? env_open(e, 1) : 0;
	if (err) {
		bpftest_fail(&e->t, "the program as a one-CPU host loads it: %s", strerror(-err));
		bpftest_result(&e->t, ++k, "one-CPU load: xlb_lb loads", -1);
		xlb_lb__destroy(e->skel);
		e->skel = NULL;
		return;
	}
	for (i = 0; i < n; i++) {
		if (strncmp(all[i].name, "flow cache", 10) || all[i].other_cpu)
			continue;
		snprintf(name, sizeof(name), "one-CPU load: %s", all[i].name);
		if (!pinned)
			bpftest_fail(&e->t, "CPU 0 is not among this process's CPUs");
		bpftest_result(&e->t, ++k, name, pinned ? run_case(e, &all[i]) : 1);
	}
	if (pinned)
		env_close(e);
}

int main(void)
{
	int i, n = sizeof(cases) / sizeof(cases[0]);
	struct env e = {};
	cpu_set_t cpus;
	int err;

	bpftest_libbpf_quiet();
	/*
	 * One CPU for every run: the passive events' rate limit is per CPU, and
	 * a migration in the middle of a case would split its count. The
	 * highest CPU allowed: on CPU 0 a reason counter's block starts at
	 * entry 0 whatever the block size, and a program and readers that
	 * disagreed on it would go unseen.
	 */
	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		CPU_ZERO(&cpus);
	for (i = CPU_SETSIZE - 1; i > 0 && !CPU_ISSET(i, &cpus); i--)
		;
	CPU_ZERO(&cpus);
	CPU_SET(i, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	e.cpu = i;
	err = env_open(&e, 0);
	if (err) {
		xlb_lb__destroy(e.skel);
		return bpftest_cannot_load("xlb_lb", strerror(-err));
	}
	for (i = 0; i < n; i++)
		bpftest_result(&e.t, i + 1, cases[i].name, run_case(&e, &cases[i]));
	env_close(&e);
	one_cpu_pass(&e, cases, n);
	return bpftest_summary(&e.t);
}
