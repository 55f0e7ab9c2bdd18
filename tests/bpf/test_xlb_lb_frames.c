/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A property test of the load balancer (bpf/xlb_lb.bpf.c): generated and
 * mutated frames through BPF_PROG_TEST_RUN, against a few VIPs and
 * backends.
 *
 * Properties, for every frame:
 *   1. the verdict is never XDP_ABORTED (nor the test run an error);
 *   2. a frame that is not for a VIP comes back XDP_PASS, byte for byte
 *      unchanged. "For a VIP" is decided here, from the bytes alone, by a
 *      strict reading independent of the program's parser: one Ethernet
 *      header with at most one 802.1Q/802.1ad tag; a well-formed IPv4 or
 *      IPv6 header whose length fits the frame; no fragment; a TCP or UDP
 *      header inside the IP packet whose destination address, port and
 *      protocol match a VIP (or a VIP of every port); or an ICMP/ICMPv6
 *      error, sent to the source of the packet it quotes, quoting a whole
 *      IP header and the first four bytes of a TCP/UDP header of a packet
 *      from a VIP's address and port. Anything else (other destinations,
 *      protocols, fragments, QinQ, malformed or cut frames) is not.
 * Frames for a VIP may get any verdict but XDP_ABORTED.
 *
 * Frames: a fixed list of valid frames (TCP, UDP, ICMP echo and errors,
 * IPIP, ARP; VLAN tags; IPv4 options; first and later fragments; IPv6
 * extension headers; to a VIP, another port or protocol of a VIP, the LB,
 * its NAT address, a backend, loopback, broadcast and all-nodes), each
 * whole, cut at every length from 14 bytes (BPF_PROG_TEST_RUN refuses
 * shorter frames), with every bit of its first 96 bytes flipped in turn,
 * with an outer 802.1ad tag added (QinQ), and an IPv6 fragment as a later
 * fragment too; then random frames: several bits flipped, a header byte
 * set to a random value, the bytes after a random offset replaced, or
 * random bytes altogether.
 *
 * The seed is fixed, and printed at start; XLB_FRAMES_SEED (another seed),
 * XLB_FRAMES_RANDOM (how many random frames) and XLB_FRAMES_SHOW (how many
 * violations printed in full) repeat or widen a run. Violations are printed
 * with the frame in hex, its verdict and how it was made; the counts
 * (frames, verdicts, for a VIP or not, violations) close the output.

 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "xlb_lb.skel.h"
#include "../lib/bpftest.h"
#include "../lib/pkt.h"

#define CLIENT4	  "198.18.0.10"
#define ROUTER4	  "198.18.0.1"
#define BE4_1	  "198.18.0.11"
#define BE4_2	  "198.18.0.12"
#define VIP4	  "198.18.100.1"
#define VIP4_ANY  "198.18.100.2" /* a VIP of every TCP port */
#define NAT4	  "198.18.0.2"
#define LB4	  "198.18.0.3"
#define LO4	  "127.0.0.1"
#define BCAST4	  "255.255.255.255"
#define ENC_SRC4  "198.18.200.0"
#define CLIENT6	  "fd00:78:6c62::10"
#define ROUTER6	  "fd00:78:6c62::1"
#define BE6_1	  "fd00:78:6c62::11"
#define VIP6	  "fd00:78:6c62:100::1"
#define VIP6_ANY  "fd00:78:6c62:100::2"
#define NAT6	  "fd00:78:6c62::2"
#define LB6	  "fd00:78:6c62::3"
#define LO6	  "::1"
#define ALLNODES6 "ff02::1"
#define ENC_SRC6  "fd00:78:6c62:200::"

#define NH_IFINDEX    1 /* lo, also the ingress device: XDP_TX */
#define NH_MTU	      1600
#define TABLE_SIZE    13
#define FLOWS_MAX     4096
#define RANDOM_FRAMES 1000000	/* default of XLB_FRAMES_RANDOM */
#define SEED	      0x786c62U /* default of XLB_FRAMES_SEED */
#define FLIP_BYTES    96	/* every bit of these flipped, per listed frame */
#define SHOW_MAX      10	/* violations printed in full; XLB_FRAMES_SHOW */

#define ETH_HLEN 14
#define TCP_SYN	 0x02
#define TCP_ACK	 0x10

/* --- the maps: VIPs and backends ------------------------------------------ */

struct vip_def {
	const char *addr;
	__u16 port; /* 0: every port */
	__u8 proto;
	__u32 id;
	__u32 backend; /* every slot of its table */
};

static const struct vip_def vips[] = {
	{VIP4, 80, IPPROTO_TCP, 1, 1},	  {VIP4, 53, IPPROTO_UDP, 2, 2},
	{VIP4_ANY, 0, IPPROTO_TCP, 3, 1}, {VIP6, 80, IPPROTO_TCP, 4, 5},
	{VIP6, 53, IPPROTO_UDP, 5, 5},	  {VIP6_ANY, 0, IPPROTO_TCP, 6, 5},
};

static const struct {
	__u32 id;
	const char *addr;
} backends[] = {{1, BE4_1}, {2, BE4_2}, {5, BE6_1}};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct env {
	struct xlb_lb *skel;
	int prog_fd, ncpu;
	struct xlb_vip_key keys[ARRAY_SIZE(vips)]; /* for the oracle */
};

static int nexthop_set(struct env *e, __u32 id)
{
	struct xlb_nexthop nh = {.ifindex = NH_IFINDEX, .mtu = NH_MTU};
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Far in the future: the program treats the entry as static. */
	nh.updated_ns = (1ULL << 62) + ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	memcpy(nh.smac, pkt_mac_lb, 6);
	memcpy(nh.dmac, pkt_mac_client, 6);
	nh.dmac[5] = (__u8)id;
	return bpf_map_update_elem(bpf_map__fd(e->skel->maps.xlb_nexthops), &id, &nh, BPF_ANY)
		       ? -errno
		       : 0;
}

/* VIP i's table: every slot names its one backend. */
static int table_fill(struct env *e, size_t i)
{
	__u32 ids[TABLE_SIZE], slot;

	for (slot = 0; slot < TABLE_SIZE; slot++)
		ids[slot] = vips[i].backend;
	return bpftest_slots_write(e->skel, i * TABLE_SIZE, ids, TABLE_SIZE);
}

static int maps_setup(struct env *e)
{
	struct xlb_config cfg = {.forward = XLB_FWD_IPIP,
				 .hash_seed = 0x5eed1234U,
				 .encap_src4_mask = htonl(0xff),
				 .encap_src6_mask = htonl(0xffff)};
	__be32 a[4];
	__u32 zero = 0;
	size_t i;
	int err;

	pkt_addr(ENC_SRC4, a);
	cfg.encap_src4 = a[0];
	pkt_addr(ENC_SRC6, cfg.encap_src6);
	pkt_addr(NAT4, a);
	cfg.nat_src4 = a[0];
	pkt_addr(NAT6, cfg.nat_src6);
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.xlb_config), &zero, &cfg, 0))
		return -errno;
	for (i = 0; i < ARRAY_SIZE(backends); i++) {
		struct xlb_backend be = {.state = XLB_BE_ACTIVE};

		be.family = pkt_addr(backends[i].addr, be.addr);
		if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.xlb_backends), &backends[i].id,
					&be, 0))
			return -errno;
		err = nexthop_set(e, backends[i].id);
		if (err)
			return err;
	}
	for (i = 0; i < ARRAY_SIZE(vips); i++) {
		struct xlb_vip_key *k = &e->keys[i];
		struct xlb_vip val = {
			.id = vips[i].id, .table_size = TABLE_SIZE, .table_off = i * TABLE_SIZE};

		k->port = htons(vips[i].port);
		k->proto = vips[i].proto;
		k->family = pkt_addr(vips[i].addr, k->addr);
		if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.xlb_vips), k, &val, 0))
			return -errno;
		err = table_fill(e, i);
		if (err)
			return err;
	}
	return 0;
}

static int env_open(struct env *e)
{
	int err;

	err = bpftest_lb_open(&e->skel, &e->ncpu, FLOWS_MAX);
	if (err)
		return err;
	e->prog_fd = bpf_program__fd(e->skel->progs.xlb_lb);
	return 0;
}

static void env_close(struct env *e)
{
	xlb_lb__destroy(e->skel);
}

/* --- the oracle: is a frame for a VIP? ------------------------------------- */

/*
 * The oracle reads a frame as a host does: every header inside the IP
 * packet (IPv4 total length, IPv6 payload length), never in bytes after it
 * (Ethernet padding, garbage), and an ICMP error's quote only when it is a
 * whole IP header of the error's own version. The fast path once read
 * ports past the IP packet and took quotes of any version, so frames a host
 * drops were forwarded; the test found both (bpf/lib/parse.h checks the
 * room the IP header leaves and the quote's version since).
 */

static __u16 be16_at(const __u8 *b)
{
	return (__u16)(b[0] << 8 | b[1]);
}

static int vip_known(const struct env *e, int family, const void *daddr, __u16 dport, __u8 proto)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vips); i++) {
		const struct xlb_vip_key *k = &e->keys[i];

		if (k->family == family && k->proto == proto &&
		    (!k->port || ntohs(k->port) == dport) &&
		    !memcmp(k->addr, daddr, family == XLB_AF_INET ? 4 : 16))
			return 1;
	}
	return 0;
}

/*
 * An ICMP/ICMPv6 error's quote at q (@n bytes of the error's IP packet
 * left): for a VIP when it quotes a whole IP header of @family from @dst
 * (the error's own destination) and four bytes of a TCP/UDP header, whose
 * source address, port and protocol are a VIP's.
 */
static int quote_for_vip(const struct env *e, int family, const __u8 *q, size_t n, const __u8 *dst)
{
	size_t hlen;
	__u8 proto;

	if (family == XLB_AF_INET) {
		if (n < 20 || q[0] >> 4 != 4 || (q[0] & 0xf) < 5)
			return 0;
		hlen = (q[0] & 0xf) * 4;
		proto = q[9];
		if (memcmp(q + 12, dst, 4))
			return 0;
	} else {
		if (n < 40 || q[0] >> 4 != 6)
			return 0;
		hlen = 40;
		proto = q[6];
		if (memcmp(q + 8, dst, 16))
			return 0;
	}
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || n < hlen + 4)
		return 0;
	return vip_known(e, family, dst, be16_at(q + hlen), proto);
}

/* The L4 header at l4 (@n bytes of the IP packet left) with protocol @proto. */
static int l4_for_vip(const struct env *e, int family, const __u8 *l4, size_t n, __u8 proto,
		      const __u8 *dst)
{
	if (proto == IPPROTO_TCP)
		return n >= 20 && vip_known(e, family, dst, be16_at(l4 + 2), proto);
	if (proto == IPPROTO_UDP)
		return n >= 8 && vip_known(e, family, dst, be16_at(l4 + 2), proto);
	if (n < 8)
		return 0;
	if (family == XLB_AF_INET && proto == IPPROTO_ICMP && (l4[0] == 3 || l4[0] == 11))
		return quote_for_vip(e, family, l4 + 8, n - 8, dst);
	if (family == XLB_AF_INET6 && proto == IPPROTO_ICMPV6 && l4[0] >= 1 && l4[0] <= 3)
		return quote_for_vip(e, family, l4 + 8, n - 8, dst);
	return 0;
}

/* 1 if the @len-byte frame at @f is for a VIP. */
static int frame_for_vip(const struct env *e, const __u8 *f, size_t len)
{
	size_t off = ETH_HLEN, hlen, ip_len, ext;
	__u16 type;
	__u8 next;

	if (len < ETH_HLEN)
		return 0;
	type = be16_at(f + 12);
	if (type == 0x8100 || type == 0x88a8) {
		if (len < ETH_HLEN + 4)
			return 0;
		type = be16_at(f + 16);
		off += 4;
	}
	f += off;
	len -= off;
	if (type == 0x0800) {
		if (len < 20 || f[0] >> 4 != 4 || (f[0] & 0xf) < 5)
			return 0;
		hlen = (f[0] & 0xf) * 4;
		ip_len = be16_at(f + 2);
		if (ip_len < hlen || ip_len > len || (be16_at(f + 6) & 0x3fff))
			return 0; /* cut, or a fragment (MF or an offset) */
		return l4_for_vip(e, XLB_AF_INET, f + hlen, ip_len - hlen, f[9], f + 16);
	}
	if (type != 0x86dd || len < 40 || f[0] >> 4 != 6)
		return 0;
	ip_len = 40 + be16_at(f + 4);
	if (ip_len > len)
		return 0;
	next = f[6];
	for (off = 40; next == 0 || next == 43 || next == 60 || next == 44; off += ext) {
		if (next == 44 || off + 8 > ip_len)
			return 0; /* a fragment, or cut */
		ext = (f[off + 1] + 1) * 8;
		next = f[off];
		if (off + ext > ip_len)
			return 0;
	}
	return l4_for_vip(e, XLB_AF_INET6, f + off, ip_len - off, next, f + 24);
}

/* --- frames ------------------------------------------------------------------ */

/* The packets that errors quote: a VIP's answer (DSR), 28 / 48 bytes of it. */
static const struct pkt_spec reply4 = {
	.src = VIP4,
	.dst = CLIENT4,
	.proto = IPPROTO_TCP,
	.sport = 80,
	.dport = 40000,
	.tcp_flags = TCP_ACK,
	.payload_len = 100,
};
static const struct pkt_spec reply4_udp = {
	.src = VIP4,
	.dst = CLIENT4,
	.proto = IPPROTO_UDP,
	.sport = 53,
	.dport = 5353,
	.payload_len = 40,
};
static const struct pkt_spec reply4_lb = {
	.src = LB4,
	.dst = CLIENT4,
	.proto = IPPROTO_TCP,
	.sport = 22,
	.dport = 40000,
	.tcp_flags = TCP_ACK,
	.payload_len = 20,
};
static const struct pkt_spec reply6 = {
	.src = VIP6,
	.dst = CLIENT6,
	.proto = IPPROTO_TCP,
	.sport = 80,
	.dport = 40000,
	.tcp_flags = TCP_ACK,
	.payload_len = 100,
};
static const struct pkt_spec reply6_any = {
	.src = VIP6_ANY,
	.dst = CLIENT6,
	.proto = IPPROTO_TCP,
	.sport = 8443,
	.dport = 40000,
	.tcp_flags = TCP_ACK,
	.payload_len = 100,
};
static const struct pkt_spec reply6_lb = {
	.src = LB6,
	.dst = CLIENT6,
	.proto = IPPROTO_UDP,
	.sport = 123,
	.dport = 123,
	.payload_len = 48,
};

#define TCP4(d, p)                                                                  \
	.src = CLIENT4, .dst = d, .proto = IPPROTO_TCP, .sport = 40000, .dport = p, \
	.tcp_flags = TCP_SYN
#define UDP4(d, p) \
	.src = CLIENT4, .dst = d, .proto = IPPROTO_UDP, .sport = 5353, .dport = p, .payload_len = 24
#define TCP6(d, p)                                                                  \
	.src = CLIENT6, .dst = d, .proto = IPPROTO_TCP, .sport = 40000, .dport = p, \
	.tcp_flags = TCP_SYN
#define UDP6(d, p) \
	.src = CLIENT6, .dst = d, .proto = IPPROTO_UDP, .sport = 5353, .dport = p, .payload_len = 24
#define ERR4(d, q)                                                                       \
	.src = ROUTER4, .dst = d, .proto = IPPROTO_ICMP, .icmp_type = 3, .icmp_code = 4, \
	.icmp_info = 1400, .quote = &q, .quote_len = 28
#define TTL4(d, q)                                                                     \
	.src = ROUTER4, .dst = d, .proto = IPPROTO_ICMP, .icmp_type = 11, .quote = &q, \
	.quote_len = 28
#define ERR6(d, q)                                                                            \
	.src = ROUTER6, .dst = d, .proto = IPPROTO_ICMPV6, .icmp_type = 2, .icmp_info = 1280, \
	.quote = &q, .quote_len = 48
#define UNR6(d, q)                                                                         \
	.src = ROUTER6, .dst = d, .proto = IPPROTO_ICMPV6, .icmp_type = 1, .icmp_code = 4, \
	.quote = &q, .quote_len = 48
#define ECHO4(d)                                                                                  \
	.src = CLIENT4, .dst = d, .proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_info = 0x12340001, \
	.payload_len = 32
#define ECHO6(d)                                                             \
	.src = CLIENT6, .dst = d, .proto = IPPROTO_ICMPV6, .icmp_type = 128, \
	.icmp_info = 0x12340001, .payload_len = 32

static const struct pkt_spec listed[] = {
	/* IPv4 TCP/UDP to every kind of destination, port and protocol */
	{TCP4(VIP4, 80)},
	{TCP4(VIP4, 80), .payload_len = 64},
	{TCP4(VIP4, 443)},
	{TCP4(VIP4_ANY, 8443)},
	{TCP4(LB4, 22)},
	{TCP4(NAT4, 40000)},
	{TCP4(BE4_1, 80)},
	{TCP4(LO4, 80)},
	{TCP4(BCAST4, 80)},
	{UDP4(VIP4, 53)},
	{UDP4(VIP4, 80)},
	{UDP4(VIP4_ANY, 53)},
	{UDP4(LB4, 53)},
	{UDP4(BCAST4, 67)},
	{UDP4(LO4, 53)},
	/* VLAN tags, options, fragments */
	{TCP4(VIP4, 80), .vlan = 5},
	{UDP4(VIP4, 53), .vlan = 4095},
	{TCP4(LB4, 22), .vlan = 7},
	{TCP4(VIP4, 80), .ip_opts = 4},
	{TCP4(VIP4, 80), .ip_opts = 40},
	{UDP4(VIP4, 53), .ip_opts = 20, .vlan = 9},
	{TCP4(LB4, 22), .ip_opts = 12},
	{TCP4(VIP4, 80), .frag = 0x2000, .no_df = 1, .payload_len = 40},
	{TCP4(VIP4, 80), .frag = 0x0005, .no_df = 1, .payload_len = 40},
	{UDP4(VIP4, 53), .frag = 0x2003, .no_df = 1},
	{UDP4(LB4, 53), .frag = 0x2000, .no_df = 1, .ip_opts = 8},
	/* ICMP: echo, and errors to the VIP they quote, to another one, elsewhere */
	{ECHO4(VIP4)},
	{ECHO4(LB4)},
	{ECHO4(BCAST4)},
	{ERR4(VIP4, reply4)},
	{ERR4(VIP4, reply4_udp)},
	{TTL4(VIP4, reply4)},
	{ERR4(VIP4, reply4), .vlan = 3},
	{ERR4(VIP4, reply4), .ip_opts = 8},
	{ERR4(VIP4_ANY, reply4)},
	{ERR4(LB4, reply4)},
	{ERR4(NAT4, reply4)},
	{ERR4(BE4_1, reply4)},
	{ERR4(LO4, reply4)},
	{ERR4(BCAST4, reply4)},
	{ERR4(LB4, reply4_lb)},
	{ERR4(VIP4, reply4), .frag = 0x2000, .no_df = 1},
	/* IPv6 */
	{TCP6(VIP6, 80)},
	{TCP6(VIP6, 80), .payload_len = 64},
	{TCP6(VIP6, 443)},
	{TCP6(VIP6_ANY, 1)},
	{TCP6(LB6, 22)},
	{TCP6(NAT6, 40000)},
	{TCP6(BE6_1, 80)},
	{TCP6(LO6, 80)},
	{TCP6(ALLNODES6, 80)},
	{UDP6(VIP6, 53)},
	{UDP6(VIP6, 80)},
	{UDP6(LB6, 53)},
	{UDP6(ALLNODES6, 547)},
	{TCP6(VIP6, 80), .vlan = 5},
	{UDP6(VIP6, 53), .vlan = 100, .flow_label = 0xabcde},
	{TCP6(VIP6, 80), .ext = {PKT_EXT_HOPOPTS}},
	{TCP6(VIP6, 80), .ext = {PKT_EXT_HOPOPTS, PKT_EXT_ROUTING, PKT_EXT_DSTOPTS}},
	{UDP6(VIP6, 53),
	 .ext = {PKT_EXT_DSTOPTS, PKT_EXT_DSTOPTS, PKT_EXT_DSTOPTS, PKT_EXT_DSTOPTS}},
	{TCP6(VIP6, 80), .ext = {PKT_EXT_FRAGMENT}},
	{TCP6(VIP6, 80), .ext = {PKT_EXT_HOPOPTS, PKT_EXT_FRAGMENT}, .vlan = 2},
	{TCP6(LB6, 22), .ext = {PKT_EXT_ROUTING}},
	{ECHO6(VIP6)},
	{ECHO6(LB6)},
	{ECHO6(ALLNODES6)},
	{ERR6(VIP6, reply6)},
	{UNR6(VIP6, reply6)},
	{ERR6(VIP6_ANY, reply6_any)},
	{ERR6(VIP6, reply6), .vlan = 8},
	{ERR6(VIP6, reply6), .ext = {PKT_EXT_DSTOPTS}},
	{ERR6(VIP6_ANY, reply6)},
	{ERR6(LB6, reply6)},
	{ERR6(NAT6, reply6)},
	{ERR6(BE6_1, reply6)},
	{ERR6(LO6, reply6)},
	{ERR6(ALLNODES6, reply6)},
	{ERR6(LB6, reply6_lb)},
	/* tunnels (the decap program's, not this one's), ARP */
	{TCP4(VIP4, 80), .tun_src = CLIENT4, .tun_dst = LB4},
	{TCP6(VIP6, 80), .tun_src = CLIENT6, .tun_dst = VIP6},
	{.ethertype = 0x0806, .payload_len = 28},
	{.ethertype = 0x0806, .payload_len = 28, .vlan = 12},
};

/* How a frame was made, for the report of a violation. */
enum origin { O_LISTED, O_CUT, O_FLIP, O_QINQ, O_LATER, O_FLIPS, O_BYTE, O_TAIL, O_RANDOM, O_MAX };

static const char *const origin_name[O_MAX] = {
	[O_LISTED] = "listed",	      [O_CUT] = "cut",
	[O_FLIP] = "one bit flipped", [O_QINQ] = "QinQ",
	[O_LATER] = "later fragment", [O_FLIPS] = "bits flipped",
	[O_BYTE] = "header byte set", [O_TAIL] = "tail replaced",
	[O_RANDOM] = "random bytes",
};

/* splitmix64: small, seedable, the same on every machine. */
static __u64 rnd_state;

static __u64 rnd(void)
{
	__u64 z = (rnd_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* --- running and checking ------------------------------------------------------ */

struct stats {
	__u64 frames, for_vip, not_vip, refused;
	__u64 verdict[6]; /* XDP_ABORTED .. XDP_REDIRECT, then unknown */
	__u64 by_origin[O_MAX];
	__u64 violations, aborted, run_errors;
	__u64 listed_vip, listed_vip_missed;
};

static __u64 show_max = SHOW_MAX;

static void hex_print(const __u8 *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x%s", b[i], i + 1 == n ? "\n" : (i % 16 == 15 ? "\n#   " : " "));
}

static void violation(struct stats *st, const char *what, enum origin o, size_t base, size_t arg,
		      const struct pkt *in, __u32 verdict)
{
	st->violations++;
	if (st->violations > show_max)
		return;
	printf("# violation %llu: %s; frame %llu (%s of listed frame %zu, at %zu), %zu bytes, "
	       "verdict %s:\n#   ",
	       (unsigned long long)st->violations, what, (unsigned long long)st->frames,
	       origin_name[o], base, arg, in->len, bpftest_verdict_name(verdict));
	hex_print(in->data, in->len);
}

/* Runs one frame and checks it; returns its verdict, or -1 if not run. */
static int run_frame(struct env *e, struct stats *st, const struct pkt *in, enum origin o,
		     size_t base, size_t arg)
{
	static struct pkt out;
	__u32 verdict = 0;
	int vip, err;

	if (in->len < ETH_HLEN) {
		st->refused++;
		return -1;
	}
	vip = frame_for_vip(e, in->data, in->len);
	err = bpftest_run(e->prog_fd, NH_IFINDEX, in, &out, &verdict);
	st->frames++;
	st->by_origin[o]++;
	if (err) {
		st->run_errors++;
		violation(st, strerror(-err), o, base, arg, in, verdict);
		return -1;
	}
	st->verdict[verdict <= XDP_REDIRECT ? verdict : 5]++;
	if (vip)
		st->for_vip++;
	else
		st->not_vip++;
	if (verdict == XDP_ABORTED) {
		st->aborted++;
		violation(st, "XDP_ABORTED", o, base, arg, in, verdict);
		return verdict;
	}
	if (vip)
		return verdict;
	if (verdict != XDP_PASS)
		violation(st, "not for a VIP, not passed", o, base, arg, in, verdict);
	else if (out.len != in->len || memcmp(out.data, in->data, in->len))
		violation(st, "not for a VIP, passed changed", o, base, arg, in, verdict);
	return verdict;
}

/* Each listed frame whole, cut at every length, every bit of its head flipped, in QinQ. */
static int run_listed(struct env *e, struct stats *st, struct pkt *bases)
{
	static struct pkt m;
	size_t i, n, bit;
	int x;

	for (i = 0; i < ARRAY_SIZE(listed); i++) {
		const struct pkt *p = &bases[i];

		if (pkt_build(&bases[i], &listed[i])) {
			printf("# cannot build listed frame %zu\n", i);
			return -1;
		}
		/* The oracle agrees with the fast path on valid frames. */
		if (frame_for_vip(e, p->data, p->len)) {
			st->listed_vip++;
			if (run_frame(e, st, p, O_LISTED, i, 0) != XDP_TX) {
				st->listed_vip_missed++;
				printf("# listed frame %zu is for a VIP and was not forwarded\n",
				       i);
			}
		} else {
			run_frame(e, st, p, O_LISTED, i, 0);
		}
		for (n = ETH_HLEN; n < p->len; n++) {
			m = *p;
			m.len = n;
			run_frame(e, st, &m, O_CUT, i, n);
		}
		for (bit = 0; bit < 8 * FLIP_BYTES && bit / 8 < p->len; bit++) {
			m = *p;
			m.data[bit / 8] ^= 1 << (bit % 8);
			run_frame(e, st, &m, O_FLIP, i, bit);
		}
		/* An 802.1ad tag outside the frame's own (or only) tag. */
		m = *p;
		memmove(m.data + 16, m.data + 12, p->len - 12);
		m.data[12] = 0x88;
		m.data[13] = 0xa8;
		m.data[14] = 0x00;
		m.data[15] = 0x64;
		m.len = p->len + 4;
		run_frame(e, st, &m, O_QINQ, i, 0);
		/* IPv6: the same frame as a later fragment (offset 8 bytes, M clear). */
		for (x = 0; x < PKT_EXT_MAX && listed[i].ext[x]; x++) {
			if (listed[i].ext[x] != PKT_EXT_FRAGMENT)
				continue;
			m = *p;
			pkt_put_be16(m.data + p->ip_off + 40 + 8 * x + 2, 1 << 3);
			run_frame(e, st, &m, O_LATER, i, x);
		}
	}
	return 0;
}

/* Random mutations of the listed frames, and random bytes. */
static void run_random(struct env *e, struct stats *st, const struct pkt *bases, size_t count)
{
	static struct pkt m;
	size_t i, j, base, at, n;
	unsigned int kind;

	for (i = 0; i < count; i++) {
		base = rnd_below(ARRAY_SIZE(listed));
		m = bases[base];
		kind = rnd_below(10);
		at = 0;
		if (kind < 5) { /* 2 to 8 bits anywhere in the head */
			n = 2 + rnd_below(7);
			for (j = 0; j < n; j++) {
				at = rnd_below(m.len < 128 ? m.len : 128);
				m.data[at] ^= 1 << rnd_below(8);
			}
			run_frame(e, st, &m, O_FLIPS, base, n);
		} else if (kind < 8) { /* one header byte to any value */
			at = rnd_below(m.len < 100 ? m.len : 100);
			m.data[at] = (__u8)rnd();
			if (rnd_below(2)) /* and maybe cut too */
				m.len = ETH_HLEN + rnd_below(m.len - ETH_HLEN + 1);
			run_frame(e, st, &m, O_BYTE, base, at);
		} else if (kind < 9) { /* random bytes after a valid prefix */
			at = ETH_HLEN + rnd_below(m.len - ETH_HLEN);
			for (j = at; j < m.len; j++)
				m.data[j] = (__u8)rnd();
			run_frame(e, st, &m, O_TAIL, base, at);
		} else { /* random bytes, an IP ethertype or not */
			m.len = ETH_HLEN + rnd_below(200);
			for (j = 0; j < m.len; j++)
				m.data[j] = (__u8)rnd();
			if (rnd_below(4)) {
				m.data[12] = rnd_below(2) ? 0x08 : 0x86;
				m.data[13] = m.data[12] == 0x08 ? 0x00 : 0xdd;
				if (m.len > ETH_HLEN)
					m.data[14] = (m.data[12] == 0x08 ? 0x40 : 0x60) |
						     (m.data[14] & 0x0f);
			}
			run_frame(e, st, &m, O_RANDOM, 0, m.len);
		}
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __u64 env_u64(const char *name, __u64 def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

int main(void)
{
	static struct pkt bases[ARRAY_SIZE(listed)];
	struct bpftest t = {};
	struct stats st = {};
	struct env e = {};
	__u64 seed, count;
	double t0;
	int err, o;

	setvbuf(stdout, NULL, _IOLBF, 0);
	seed = env_u64("XLB_FRAMES_SEED", SEED);
	count = env_u64("XLB_FRAMES_RANDOM", RANDOM_FRAMES);
	rnd_state = seed;
	show_max = env_u64("XLB_FRAMES_SHOW", SHOW_MAX);
	printf("# seed %llu (XLB_FRAMES_SEED=%llu repeats this run), %llu random frames\n",
	       (unsigned long long)seed, (unsigned long long)seed, (unsigned long long)count);

	bpftest_libbpf_quiet();
	err = env_open(&e);
	if (!err)
		err = maps_setup(&e);
	if (err) {
		env_close(&e);
		return bpftest_cannot_load("xlb_lb", strerror(-err));
	}

	t0 = now_s();
	if (run_listed(&e, &st, bases)) {
		env_close(&e);
		return 1;
	}
	run_random(&e, &st, bases, count);

	printf("# %llu frames in %.1f s (%llu for a VIP, %llu not; %llu under 14 bytes not "
	       "run); %llu of %zu listed frames for a VIP\n",
	       (unsigned long long)st.frames, now_s() - t0, (unsigned long long)st.for_vip,
	       (unsigned long long)st.not_vip, (unsigned long long)st.refused,
	       (unsigned long long)st.listed_vip, ARRAY_SIZE(listed));
	printf("# verdicts: XDP_ABORTED %llu, XDP_DROP %llu, XDP_PASS %llu, XDP_TX %llu, "
	       "XDP_REDIRECT %llu, other %llu\n",
	       (unsigned long long)st.verdict[XDP_ABORTED],
	       (unsigned long long)st.verdict[XDP_DROP], (unsigned long long)st.verdict[XDP_PASS],
	       (unsigned long long)st.verdict[XDP_TX], (unsigned long long)st.verdict[XDP_REDIRECT],
	       (unsigned long long)st.verdict[5]);
	printf("# frames by origin:");
	for (o = 0; o < O_MAX; o++)
		printf("%s %s %llu", o ? "," : "", origin_name[o],
		       (unsigned long long)st.by_origin[o]);
	printf("\n# violations %llu (XDP_ABORTED %llu, test-run errors %llu)\n",
	       (unsigned long long)st.violations, (unsigned long long)st.aborted,
	       (unsigned long long)st.run_errors);

	if (st.aborted || st.run_errors)
		bpftest_fail(&t, "%llu aborted, %llu test-run errors",
			     (unsigned long long)st.aborted, (unsigned long long)st.run_errors);
	bpftest_result(&t, 1, "no frame is XDP_ABORTED or refused by the test run",
		       st.aborted || st.run_errors ? -1 : 0);
	if (st.violations > st.aborted + st.run_errors)
		bpftest_fail(&t, "%llu frames not for a VIP were not passed unchanged",
			     (unsigned long long)(st.violations - st.aborted - st.run_errors));
	bpftest_result(&t, 2, "every frame not for a VIP passes byte for byte unchanged",
		       st.violations > st.aborted + st.run_errors ? -1 : 0);
	if (st.listed_vip_missed)
		bpftest_fail(&t, "%llu of %llu", (unsigned long long)st.listed_vip_missed,
			     (unsigned long long)st.listed_vip);
	bpftest_result(&t, 3, "listed frames for a VIP are forwarded (the oracle is not vacuous)",
		       st.listed_vip_missed || !st.listed_vip ? -1 : 0);
	if (st.frames < 100000)
		bpftest_fail(&t, "only %llu frames run", (unsigned long long)st.frames);
	bpftest_result(&t, 4, "at least 100000 frames", st.frames < 100000 ? -1 : 0);
	env_close(&e);
	return bpftest_summary(&t);
}
