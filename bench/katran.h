/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Katran's XDP balancer as the benchmarks set it up beside xlb (bench_peer.c
 * per packet, trafficgen.c on the wire): its object, built by
 * bench/katran.sh from a Katran source tree, loaded with libbpf and
 * configured as its library does for a running balancer
 * (katran/lib/KatranLb.cpp; addresses and MAC from katran/lib/testing):
 * vip_map holds the VIPs (no flags), reals the backends (F_IPV6 on IPv6
 * ones), ch_rings each VIP's ring of 65537 positions, ctl_array position
 * 0 the default next-hop MAC, and lru_mapping one LRU per CPU (what
 * KatranLb::initLrus builds for the forwarding cores).
 */
#ifndef XLB_BENCH_KATRAN_H
#define XLB_BENCH_KATRAN_H

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../tests/lib/pkt.h"

/* Katran's map values (katran/lib/bpf/balancer_structs.h, _consts.h). */
struct katran_vip_definition {
	__be32 addr[4];
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct katran_vip_meta {
	__u32 flags;
	__u32 vip_num;
};

struct katran_real_definition {
	__be32 addr[4];
	__u8 flags;
	__u8 pad[3];
};

struct katran_lb_stats {
	__u64 v1;
	__u64 v2;
};

#define KATRAN_RING_SIZE     65537
#define KATRAN_MAX_VIPS	     512
/* Counters at stats[MAX_VIPS + n]: */
#define KATRAN_LRU_MISS	     1 /* LRU_MISS_CNTR: v1 SYNs, v2 other TCP */
#define KATRAN_NEW_CONN_RATE 2 /* NEW_CONN_RATE_CNTR */
#define KATRAN_FALLBACK_LRU  3 /* FALLBACK_LRU_CNTR: no LRU for the CPU */
#define KATRAN_F_IPV6	     1

struct katran {
	struct bpf_object *obj;
	int prog_fd;
	int stats_fd;
	int ncpus;
	__u32 lru_key_size; /* of the per-CPU LRUs, from lru_mapping's inner map */
	__u32 lru_value_size;
};

static inline int katran_map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

/* A VIP: its vip_map entry and a ring spreading it over reals first..+2. */
static inline int katran_vip(struct bpf_object *obj, const char *addr, __u32 vip_num, __u32 first)
{
	struct katran_vip_definition k = {.port = htons(80), .proto = IPPROTO_TCP};
	struct katran_vip_meta meta = {.vip_num = vip_num};
	int vip_fd = katran_map_fd(obj, "vip_map"), ring_fd = katran_map_fd(obj, "ch_rings");
	__u32 i, key, real;

	if (vip_fd < 0 || ring_fd < 0)
		return -ENOENT;
	pkt_addr(addr, k.addr);
	if (bpf_map_update_elem(vip_fd, &k, &meta, BPF_ANY))
		return -errno;
	for (i = 0; i < KATRAN_RING_SIZE; i++) {
		key = vip_num * KATRAN_RING_SIZE + i;
		real = first + i % 3;
		if (bpf_map_update_elem(ring_fd, &key, &real, BPF_ANY))
			return -errno;
	}
	return 0;
}

static inline int katran_setup(struct katran *kt, __u32 flows, const char *vip4, const char *vip6)
{
	/* The default MAC of Katran's tests (katran/lib/testing, kDefaultMac). */
	static const __u8 katran_mac[6] = {0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xAF};
	static const char *const reals[] = {"198.18.0.11",	"198.18.0.12",
					    "198.18.0.13",	"fd00:78:6c62::11",
					    "fd00:78:6c62::12", "fd00:78:6c62::13"};
	struct bpf_map *lru = bpf_object__find_map_by_name(kt->obj, "lru_mapping");
	int reals_fd = katran_map_fd(kt->obj, "reals"),
	    ctl_fd = katran_map_fd(kt->obj, "ctl_array");
	__u64 ctl = 0;
	__u32 i, key = 0;
	int fd, err;

	if (!lru || reals_fd < 0 || ctl_fd < 0 || kt->stats_fd < 0)
		return -ENOENT;
	memcpy(&ctl, katran_mac, sizeof(katran_mac));
	if (bpf_map_update_elem(ctl_fd, &key, &ctl, BPF_ANY))
		return -errno;
	/* Real numbers 1-3 are the IPv4 backends, 4-6 the IPv6 ones. */
	for (i = 0; i < 6; i++) {
		struct katran_real_definition r = {.flags = i >= 3 ? KATRAN_F_IPV6 : 0};

		key = i + 1;
		pkt_addr(reals[i], r.addr);
		if (bpf_map_update_elem(reals_fd, &key, &r, BPF_ANY))
			return -errno;
	}
	err = katran_vip(kt->obj, vip4, 0, 1);
	if (!err)
		err = katran_vip(kt->obj, vip6, 1, 4);
	if (err)
		return err;
	/* One LRU per CPU, as KatranLb::initLrus makes for forwarding cores. */
	for (i = 0; i < (__u32)kt->ncpus; i++) {
		fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "katran_lru", kt->lru_key_size,
				    kt->lru_value_size, flows / kt->ncpus, NULL);
		if (fd < 0)
			return fd;
		err = bpf_map_update_elem(bpf_map__fd(lru), &i, &fd, BPF_ANY);
		close(fd);
		if (err)
			return -errno;
	}
	return 0;
}

/*
 * Katran's object at path loaded and set up: VIPs vip4 and vip6 on TCP port
 * 80 (vip_num 0 and 1), spread over reals 198.18.0.11-13 and
 * fd00:78:6c62::11-13, and per-CPU LRUs of flows entries in all.
 */
static inline int katran_load(struct katran *kt, const char *path, __u32 flows, const char *vip4,
			      const char *vip6)
{
	struct bpf_map *lru, *inner;
	struct bpf_program *prog;
	int err;

	kt->ncpus = libbpf_num_possible_cpus();
	kt->obj = bpf_object__open_file(path, NULL);
	if (!kt->obj)
		return -errno;
	prog = bpf_object__find_program_by_name(kt->obj, "balancer_ingress");
	lru = bpf_object__find_map_by_name(kt->obj, "lru_mapping");
	inner = lru ? bpf_map__inner_map(lru) : NULL;
	if (!prog || !inner)
		return -ENOENT;
	/* libbpf frees the inner map's description once the outer map exists. */
	kt->lru_key_size = bpf_map__key_size(inner);
	kt->lru_value_size = bpf_map__value_size(inner);
	err = bpf_object__load(kt->obj);
	if (err)
		return err;
	kt->prog_fd = bpf_program__fd(prog);
	kt->stats_fd = katran_map_fd(kt->obj, "stats");
	return katran_setup(kt, flows, vip4, vip6);
}

/*
 * Clear Katran's new-connection rate counter. Beyond MAX_CONN_RATE (125,000)
 * new flows per second and CPU, Katran considers itself flooded and stops
 * recording new flows in its LRU; this harness sends millions per second,
 * so the counter is cleared between chunks (outside the timed runs) to
 * time the path every new flow takes below that rate.
 */
static inline void katran_rate_reset(struct katran *kt)
{
	struct katran_lb_stats zero[kt->ncpus];
	__u32 key = KATRAN_MAX_VIPS + KATRAN_NEW_CONN_RATE;

	memset(zero, 0, sizeof(zero));
	bpf_map_update_elem(kt->stats_fd, &key, zero, BPF_ANY);
}

/* Katran's counter stats[MAX_VIPS + idx], summed over the CPUs. */
static inline struct katran_lb_stats katran_counter(struct katran *kt, __u32 idx)
{
	struct katran_lb_stats v[kt->ncpus], sum = {0};
	__u32 key = KATRAN_MAX_VIPS + idx;
	int i;

	if (bpf_map_lookup_elem(kt->stats_fd, &key, v))
		return sum;
	for (i = 0; i < kt->ncpus; i++) {
		sum.v1 += v[i].v1;
		sum.v2 += v[i].v2;
	}
	return sum;
}

#endif /* XLB_BENCH_KATRAN_H */
