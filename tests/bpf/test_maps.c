/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Over 1,000 lines on purpose: one case table over one fixture (about 650 lines
 * of map setup and packet helpers) that every case uses; parts would each need it.
 *
 * Tests of the typed map layer (user/lib/dataplane/maps*.c, tables.c,
 * natsweep.c) and of the userspace pick (user/lib/dataplane/pick.c)
 * against a real, loaded xlb_lb skeleton: VIPs, backends, members, table
 * rebuilds, table digests (compared with a second, independently loaded
 * skeleton), flows, counters, config and next hops, NAT walks and sweeps,
 * and the contract that xlb_pick_flow() names the backend the fast path
 * really sends a packet to (checked with BPF_PROG_TEST_RUN).
 *
 * Maps are pinned only in a bpffs the test mounts on a directory of its
 * own (the table space's upgrade), so the tests leave /sys/fs/bpf alone. xlb_vips and
 * xlb_members are shrunk (VIPS_MAX, MEMBERS_MAX) so that a full map is
 * cheap to reach; xlb_backends keeps its size, because the library scans
 * XLB_MAX_BACKENDS entries of it. Every test starts from empty maps, reset
 * here with raw map calls rather than through the library under test.
 *
 * Next hops are static (stamped far in the future) on lo, the ingress
 * device of every run, so a forwarded packet is XDP_TX, bpf_fib_lookup is
 * never called, and the output's dmac 02:78:6c:62:HI:LO names the backend
 * id HI << 8 | LO. Expected Maglev tables are built here from the
 * documented backend identity ("ADDR:PORT", "[ADDR]:PORT"), not by the
 * library; flow hashes come from include/xlb/hash.h.
 *
 * Output: "ok N - name" or "not ok N - name: what differed", notes as
 * "# ...", then "P passed, F failed"; the exit status is 1 if a test
 * failed, 77 if the program cannot be loaded.
 */
#define _GNU_SOURCE /* sched_setaffinity(), strerrorname_np() */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include <xlb/flowcache.h>
#include <xlb/hash.h>
#include "dataplane/attach.h"
#include "dataplane/conns.h"
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "dataplane/pick.h"
#include "xlb_lb.skel.h"
#include "../lib/bpftest.h"
#include "../lib/pkt.h"

/* Addresses: only the benchmark range and the project's ULA prefix. */
#define BE4_1	   "198.18.0.11"
#define BE4_2	   "198.18.0.12"
#define BE4_3	   "198.18.0.13"
#define BE4_4	   "198.18.0.14"
#define BE4_5	   "198.18.0.15"
#define VIP4	   "198.18.100.1"
#define VIP4_OTHER "198.18.100.2"
#define ENC_SRC4   "198.18.200.0"
#define BE6_1	   "fd00:78:6c62::11"
#define BE6_2	   "fd00:78:6c62::12"
#define BE6_3	   "fd00:78:6c62::13"
#define VIP6	   "fd00:78:6c62:100::1"
#define ENC_SRC6   "fd00:78:6c62:200::"

#define SEED		 0x5eed1234U
#define SEED_OTHER	 0x0badcafeU
#define NH_MTU		 1600
#define NH_IFINDEX	 1	    /* lo, also the ingress device: XDP_TX */
#define VIPS_MAX	 4	    /* xlb_vips, shrunk: 4 VIPs fill it */
#define MEMBERS_MAX	 8	    /* xlb_members, shrunk: 8 members fill it */
#define SLOTS_MAX	 (1U << 21) /* xlb_chains, shrunk: two tables of the largest size fill it */
#define FLOWS_PER_CPU	 2048	    /* xlb_flows: each CPU's LRU list holds a test's flows */
/*
 * The flow cache's flows per CPU: sets enough that a test's flows (a pick
 * test's 2 * PICK_FLOWS) seldom fill one (more than 3 or 4 in a set
 * evict: bpf/lib/flowcache.h).
 */
#define FC_FLOWS_PER_CPU (FLOWS_PER_CPU * 8)
#define FC_TICK_NS	 (1ULL << XLB_FC_TICK_SHIFT) /* a cache way's clock */
#define TEST_IDS	 32			     /* VIP and backend ids a test may use */
#define PICK_FLOWS	 500			     /* client flows per phase of a pick test */
#define NODES_MAX	 8			     /* backends of one VIP in these tests */

#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* The dmac of backend id's next hop: 02:78:6c:62:HI:LO. */
static const __u8 nh_dmac_prefix[4] = {0x02, 0x78, 0x6c, 0x62};

struct env {
	struct xlb_lb *skel;
	struct xlb_maps m; /* the library's view of the same skeleton */
	int prog_fd;
	int ncpu;
	__u32 flows_max; /* xlb_flows' size */
	__u64 rng;	 /* xorshift state, seeded per test */
	__u32 sport_seq; /* makes every client flow of a test unique */
	__u32 sport_off;
	struct bpftest t; /* the report, why the test failed */
	char note[256];	  /* printed as "# ..." after the result */
};

/* The test failed: keep the first reason; -1. */
#define fail(e, ...) bpftest_fail(&(e)->t, __VA_ARGS__)

__attribute__((format(printf, 2, 3))) static void note(struct env *e, const char *fmt, ...)
{
	size_t off = strlen(e->note);
	va_list ap;

	if (off >= sizeof(e->note) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(e->note + off, sizeof(e->note) - off, fmt, ap);
	va_end(ap);
}

/* "-E2BIG" for -E2BIG; a few rotating buffers serve one printf. */
static const char *errname(int err)
{
	static char buf[4][32];
	static unsigned int n;
	char *b = buf[n++ & 3];
	const char *name = err < 0 ? strerrorname_np(-err) : NULL;

	if (name)
		snprintf(b, sizeof(buf[0]), "-%s", name);
	else
		snprintf(b, sizeof(buf[0]), "%d", err);
	return b;
}

static const char *const via_name[] = {
	[XLB_PICK_NONE] = "NONE",
	[XLB_PICK_FLOW] = "FLOW",
	[XLB_PICK_TABLE] = "TABLE",
	[XLB_PICK_REPROBE] = "REPROBE",
	[XLB_PICK_LEAST_CONN] = "LEAST_CONN",
};

static const char *state_name(__u8 s)
{
	static const char *const name[XLB_BE_STATE_MAX] = {
		[XLB_BE_UNUSED] = "UNUSED",
		[XLB_BE_ACTIVE] = "ACTIVE",
		[XLB_BE_DRAINING] = "DRAINING",
		[XLB_BE_DOWN] = "DOWN",
	};

	return s < XLB_BE_STATE_MAX ? name[s] : "?";
}

/* xorshift64*: a fixed seed per test, the same flows on every run. */
static __u64 rnd(struct env *e)
{
	e->rng ^= e->rng >> 12;
	e->rng ^= e->rng << 25;
	e->rng ^= e->rng >> 27;
	return e->rng * 0x2545f4914f6cdd1dULL;
}

/* --- raw map access (not through the library under test) ---------------- */

static int map_fd(struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static __u64 reason_packets(struct env *e, enum xlb_reason r)
{
	__u64 v[2] = {};

	bpftest_blocks_sum(e->skel->maps.xlb_reasons, r, e->ncpu, XLB_R_SLOTS, v, 2);
	return v[0];
}

static int hash_clear(struct bpf_map *map)
{
	__u8 key[64];
	int fd = map_fd(map);

	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	return 0;
}

static int hash_count(struct bpf_map *map)
{
	__u8 key[64], next[64];
	int fd = map_fd(map), n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

/* Flows of every kind (bpftest_flows_count); -errno. */
static int flows_count(struct env *e)
{
	return (int)bpftest_flows_count(&e->m);
}

/* VIP id's live value, through its key record; -1 if it has none. */
static int vip_of_id(struct env *e, __u32 id, struct xlb_vip *v)
{
	struct xlb_vip_key k;

	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_vip_keys), &id, &k) || !k.family)
		return -1;
	return bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_vips), &k, v) ? -1 : 0;
}

/* Block b of the table space's record: 0 free, 1 used, 2 freed. */
static __u8 block_state(struct env *e, __u32 b)
{
	__u32 key = b / 8;
	__u64 word = 0;

	bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_slot_blocks), &key, &word);
	return ((const __u8 *)&word)[b % 8];
}

/* Blocks of the table space marked used. */
static __u32 blocks_used(struct env *e)
{
	__u32 b, n = 0;

	for (b = 0; b < SLOTS_MAX / XLB_SLOT_BLOCK; b++)
		n += block_state(e, b) == 1;
	return n;
}

/*
 * Bit i set: VIP id i (i < TEST_IDS) has a live table, its slots marked
 * used in the table space's record.
 */
static __u32 tables_present(struct env *e)
{
	struct xlb_vip v;
	__u32 id, b, mask = 0;
	int used;

	for (id = 0; id < TEST_IDS; id++) {
		if (vip_of_id(e, id, &v) || !v.table_size)
			continue;
		used = 1;
		for (b = v.table_off / XLB_SLOT_BLOCK;
		     b < (v.table_off + v.table_size + XLB_SLOT_BLOCK - 1) / XLB_SLOT_BLOCK; b++)
			used &= block_state(e, b) == 1;
		if (used)
			mask |= 1U << id;
	}
	return mask;
}

/* Slots of VIP id's live table; 0 if none. */
static __u32 table_slots(struct env *e, __u32 id)
{
	struct xlb_vip v;

	return vip_of_id(e, id, &v) ? 0 : v.table_size;
}

static int backend_raw(struct env *e, __u32 id, struct xlb_backend *b)
{
	return bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_backends), &id, b) ? -errno : 0;
}

static void config_default(struct xlb_config *c)
{
	__be32 a[4];

	memset(c, 0, sizeof(*c));
	c->forward = XLB_FWD_IPIP;
	c->hash_seed = SEED;
	pkt_addr(ENC_SRC4, a);
	c->encap_src4 = a[0];
	c->encap_src4_mask = htonl(0xff);
	pkt_addr(ENC_SRC6, c->encap_src6);
	c->encap_src6_mask = htonl(0xffff);
}

/* Empty VIP, member and flow maps; ids 0 .. TEST_IDS - 1 free and zero. */
static int env_reset(struct env *e)
{
	struct xlb_lb *s = e->skel;
	struct xlb_backend be = {};
	struct xlb_config cfg;
	struct xlb_vip_key none = {};
	__u32 id, zero = 0;
	__u64 free8 = 0;
	int err;

	err = hash_clear(s->maps.xlb_vips) ?: hash_clear(s->maps.xlb_vip_clients) ?:
	      hash_clear(s->maps.xlb_filtered_vips) ?:
	      hash_clear(s->maps.xlb_members) ?:
	      hash_clear(s->maps.xlb_flows) ?: bpftest_fc_clear(s) ?:
	      hash_clear(s->maps.xlb_nat_fwd) ?: hash_clear(s->maps.xlb_nat_rev);
	/* The whole table space free. */
	for (id = 0; !err && id < SLOTS_MAX / XLB_SLOT_BLOCK / 8; id++)
		if (bpf_map_update_elem(map_fd(s->maps.xlb_slot_blocks), &id, &free8, BPF_ANY))
			err = -errno;
	for (id = 0; !err && id < TEST_IDS; id++) {
		if (bpf_map_update_elem(map_fd(s->maps.xlb_vip_keys), &id, &none, BPF_ANY))
			err = -errno;
		if (!err && bpf_map_update_elem(map_fd(s->maps.xlb_backends), &id, &be, BPF_ANY))
			err = -errno;
		if (!err && bpf_map_update_elem(map_fd(s->maps.xlb_nexthops), &id,
						&(struct xlb_nexthop){}, BPF_ANY))
			err = -errno;
		if (!err && bpf_map_update_elem(map_fd(s->maps.xlb_backend_conns), &id,
						&(struct xlb_backend_conns){}, BPF_ANY))
			err = -errno;
		err = err ?: bpftest_percpu_write(s->maps.xlb_vip_stats, id, e->ncpu, NULL,
					   sizeof(struct xlb_traffic)) ?:
		      bpftest_percpu_write(s->maps.xlb_backend_stats, id, e->ncpu, NULL,
					   sizeof(struct xlb_traffic));
	}
	for (id = 0; !err && id < XLB_R_MAX; id++)
		err = bpftest_blocks_write(s->maps.xlb_reasons, id, e->ncpu, XLB_R_SLOTS, NULL,
					   sizeof(struct xlb_reason_count));
	config_default(&cfg);
	if (!err && bpf_map_update_elem(map_fd(s->maps.xlb_config), &zero, &cfg, BPF_ANY))
		err = -errno;
	return err;
}

/* --- setup through the library ------------------------------------------ */

static void vip_key(const char *addr, __u16 port, __u8 proto, struct xlb_vip_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = pkt_addr(addr, k->addr);
	k->port = htons(port);
	k->proto = proto;
}

static void addr_key(const char *addr, struct xlb_addr_key *a)
{
	memset(a, 0, sizeof(*a));
	a->family = pkt_addr(addr, a->addr);
}

static int vip_new(struct env *e, const char *addr, __u16 port, __u8 proto, __u32 flags, __u32 size,
		   struct xlb_vip *vip)
{
	struct xlb_vip_key k;
	int err;

	vip_key(addr, port, proto, &k);
	err = xlb_vip_create(&e->m, &k, flags, size, vip);
	if (err)
		return fail(e, "xlb_vip_create(%s port %u, size %u): %s", addr, port, size,
			    errname(err));
	return 0;
}

/* A static next hop whose dmac names backend id. */
static struct xlb_nexthop nh_static(__u32 id)
{
	struct xlb_nexthop nh = {
		.ifindex = NH_IFINDEX,
		.mtu = NH_MTU,
		.dmac = {0x02, 0x78, 0x6c, 0x62, id >> 8 & 0xff, id & 0xff},
	};

	memcpy(nh.smac, pkt_mac_lb, 6);
	/* Stamped ~146 years ahead: the fast path never refreshes it. */
	nh.updated_ns = xlb_now_coarse_ns() + (1ULL << 62);
	return nh;
}

/* Backend (addr, port) as a member of vip with weight, with a static next hop. */
static int member_add(struct env *e, const struct xlb_vip *vip, const char *addr, __u16 port,
		      __u32 weight, __u32 *id)
{
	struct xlb_addr_key a;
	struct xlb_nexthop nh;
	int err;

	addr_key(addr, &a);
	err = xlb_backend_ensure(&e->m, &a, port, id);
	if (err)
		return fail(e, "xlb_backend_ensure(%s port %u): %s", addr, port, errname(err));
	if (*id >= TEST_IDS)
		return fail(e, "backend %s got id %u, beyond the %u ids the tests reset", addr, *id,
			    TEST_IDS);
	err = xlb_member_set(&e->m, vip->id, *id, weight);
	if (err)
		return fail(e, "xlb_member_set(VIP %u, backend %u, %u): %s", vip->id, *id, weight,
			    errname(err));
	nh = nh_static(*id);
	err = xlb_nexthop_set(&e->m, *id, &nh);
	if (err)
		return fail(e, "xlb_nexthop_set(%u): %s", *id, errname(err));
	return 0;
}

static int rebuild(struct env *e, const struct xlb_vip *vip)
{
	int err = xlb_table_rebuild(&e->m, vip);

	if (err)
		return fail(e, "xlb_table_rebuild(VIP %u): %s", vip->id, errname(err));
	return 0;
}

static int set_state(struct env *e, __u32 id, enum xlb_backend_state s)
{
	int err = xlb_backend_set_state(&e->m, id, s);

	if (err)
		return fail(e, "xlb_backend_set_state(%u, %s): %s", id, state_name(s),
			    errname(err));
	return 0;
}

/* --- expected tables ------------------------------------------------------ */

/* A backend as a test declares it. */
struct node_def {
	const char *addr; /* canonical text; NULL ends a list */
	__u16 port;
	__u32 weight;
};

static size_t nodes_count(const struct node_def *nd)
{
	size_t n = 0;

	while (n < NODES_MAX && nd[n].addr)
		n++;
	return n;
}

/*
 * The table Maglev builds from the backends in mask (bit i: nd[i], id
 * ids[i]), keyed by the documented identity, with the given seed.
 */
static int maglev_expected(struct env *e, const struct node_def *nd, const __u32 *ids,
			   unsigned int mask, __u32 size, __u32 seed, __u32 *out)
{
	struct xlb_maglev_node nodes[NODES_MAX];
	char keys[NODES_MAX][64];
	size_t i, k = 0, n = nodes_count(nd);
	int err;

	for (i = 0; i < n; i++) {
		if (!(mask & 1U << i))
			continue;
		snprintf(keys[k], sizeof(keys[k]), strchr(nd[i].addr, ':') ? "[%s]:%u" : "%s:%u",
			 nd[i].addr, nd[i].port);
		nodes[k].key = keys[k];
		nodes[k].weight = nd[i].weight;
		nodes[k].id = ids[i];
		k++;
	}
	err = xlb_maglev_build(nodes, k, size, seed, out);
	if (err)
		return fail(e, "xlb_maglev_build (expected table): %s", errname(err));
	return 0;
}

static const char *slot_str(__u32 v, char *buf, size_t len)
{
	if (v == XLB_NO_BACKEND)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "backend %u", v);
	return buf;
}

/* xlb_table_read of VIP vip_id equals want, slot for slot. */
static int table_check(struct env *e, __u32 vip_id, __u32 size, const __u32 *want, const char *what)
{
	__u32 *got = malloc((size_t)size * sizeof(*got));
	__u32 i, first = 0, diffs = 0;
	char a[32], b[32];
	int err;

	if (!got)
		return fail(e, "out of memory");
	err = xlb_table_read(&e->m, vip_id, got, size);
	if (err) {
		free(got);
		return fail(e, "%s: xlb_table_read(VIP %u, %u): %s", what, vip_id, size,
			    errname(err));
	}
	for (i = 0; i < size; i++) {
		if (got[i] == want[i])
			continue;
		if (!diffs++)
			first = i;
	}
	if (diffs)
		fail(e, "%s: %u of %u slots differ; first, slot %u: expected %s, got %s", what,
		     diffs, size, first, slot_str(want[first], a, sizeof(a)),
		     slot_str(got[first], b, sizeof(b)));
	free(got);
	return diffs ? -1 : 0;
}

/* Rebuilt table of vip equals Maglev over the backends in mask. */
static int table_expect(struct env *e, const struct xlb_vip *vip, const struct node_def *nd,
			const __u32 *ids, unsigned int mask, __u32 seed, const char *what)
{
	__u32 *want = malloc((size_t)vip->table_size * sizeof(*want));
	int err;

	if (!want)
		return fail(e, "out of memory");
	err = maglev_expected(e, nd, ids, mask, vip->table_size, seed, want)
		      ?: table_check(e, vip->id, vip->table_size, want, what);
	free(want);
	return err;
}

/* --- packets ---------------------------------------------------------------- */

/* What the fast path did with one packet. */
struct sent {
	__u32 verdict;
	__u32 be_id; /* named by the output's dmac; XLB_NO_BACKEND if not sent */
	size_t len;  /* the input frame's length */
	int gue;     /* sent in GUE: hops below */
	__u32 nhops; /* the GUE header's count */
	__u8 hops[XLB_GUE_HOPS][16];
};

static const char *flow_str(const struct pkt_spec *s, char *buf, size_t len)
{
	snprintf(buf, len, strchr(s->src, ':') ? "[%s]:%u -> [%s]:%u/%s" : "%s:%u -> %s:%u/%s",
		 s->src, s->sport, s->dst, s->dport, s->proto == IPPROTO_UDP ? "udp" : "tcp");
	return buf;
}

/*
 * Run one packet. A forwarded packet must name a backend by its dmac and
 * carry that backend's address as the outer destination.
 */
static int send_pkt(struct env *e, const struct pkt_spec *s, struct sent *r)
{
	struct pkt in, out;
	struct xlb_backend be;
	char f[128];
	__u16 ethertype;
	size_t off, alen;
	int err;

	r->be_id = XLB_NO_BACKEND;
	if (pkt_build(&in, s))
		return fail(e, "cannot build %s", flow_str(s, f, sizeof(f)));
	r->len = in.len;
	err = bpftest_run(e->prog_fd, NH_IFINDEX, &in, &out, &r->verdict);
	if (err)
		return fail(e, "test run: %s", errname(err));
	if (r->verdict != XDP_TX)
		return 0;
	if (out.len < 14 || memcmp(out.data, nh_dmac_prefix, sizeof(nh_dmac_prefix)))
		return fail(e, "%s: output dmac names no backend", flow_str(s, f, sizeof(f)));
	r->be_id = out.data[4] << 8 | out.data[5];
	if (backend_raw(e, r->be_id, &be))
		return fail(e, "%s: sent to backend %u, which cannot be read",
			    flow_str(s, f, sizeof(f)), r->be_id);
	ethertype = out.data[12] << 8 | out.data[13];
	if (be.family == XLB_AF_INET) {
		off = 14 + 16;
		alen = 4;
	} else {
		off = 14 + 24;
		alen = 16;
	}
	if (ethertype != (be.family == XLB_AF_INET ? 0x0800 : 0x86dd) || out.len < off + alen)
		return fail(e, "%s: sent to backend %u (IPv%u) with ethertype 0x%04x, %zu bytes",
			    flow_str(s, f, sizeof(f)), r->be_id, be.family, ethertype, out.len);
	if (memcmp(out.data + off, be.addr, alen))
		return fail(e, "%s: dmac names backend %u, the outer destination is another",
			    flow_str(s, f, sizeof(f)), r->be_id);
	/* GUE: outer IP, UDP, struct xlb_gue, then room for the hops. */
	off = 14 + (alen == 4 ? 20 : 40);
	r->gue = out.data[alen == 4 ? 14 + 9 : 14 + 6] == IPPROTO_UDP;
	if (r->gue) {
		const struct xlb_gue *g = (const void *)(out.data + off + 8);

		if (out.len < off + 8 + sizeof(*g) + XLB_GUE_HOPS * alen || g->count > XLB_GUE_HOPS)
			return fail(e, "%s: a GUE frame of %zu bytes, count %u",
				    flow_str(s, f, sizeof(f)), out.len,
				    out.len >= off + 16 ? g->count : 0);
		r->nhops = g->count;
		for (size_t i = 0; i < XLB_GUE_HOPS; i++)
			memcpy(r->hops[i], out.data + off + 8 + sizeof(*g) + i * alen, alen);
	}
	return 0;
}

/* "XDP_TX to backend 3", or the verdict alone. */
static const char *sent_str(const struct sent *r, char *buf, size_t len)
{
	if (r->verdict == XDP_TX)
		snprintf(buf, len, "XDP_TX to backend %u", r->be_id);
	else
		snprintf(buf, len, "%s", bpftest_verdict_name(r->verdict));
	return buf;
}

/* The fast path's flow key of a packet (client -> VIP). */
static void flow_key_of(const struct pkt_spec *s, struct xlb_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = pkt_addr(s->src, k->saddr);
	pkt_addr(s->dst, k->daddr);
	k->sport = htons(s->sport);
	k->dport = htons(s->dport);
	k->proto = s->proto;
}

/* Client flows to one VIP; spec i's source text lives in src[i]. */
struct flow_set {
	struct pkt_spec s[PICK_FLOWS];
	char src[PICK_FLOWS][INET6_ADDRSTRLEN];
	__u32 be[PICK_FLOWS]; /* backend the fast path chose */
	int n;
};

/* A client address from r: 198.18.0.0/15, or fd00:78:6c62:1::/64. */
static void client_addr(int family, __u64 r, char *buf)
{
	__be32 a[4] = {};

	if (family == XLB_AF_INET) {
		a[0] = htonl(0xc6120000U | (__u32)(r % 0x1fffe + 1));
		inet_ntop(AF_INET, a, buf, INET6_ADDRSTRLEN);
		return;
	}
	a[0] = htonl(0xfd000078U);
	a[1] = htonl(0x6c620001U);
	a[2] = htonl(r >> 32);
	a[3] = htonl((__u32)r);
	inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

/*
 * n new client flows to (vip, port, proto); port 0: any destination port.
 * pool > 0 draws the clients from pool addresses. Source ports are unique
 * within a test, so no flow repeats another.
 */
static void flows_make(struct env *e, struct flow_set *fs, int n, const char *vip, __u16 port,
		       __u8 proto, int pool)
{
	int family = strchr(vip, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	__u64 r;
	int i;

	fs->n = n;
	for (i = 0; i < n; i++) {
		r = pool ? (rnd(e) % pool + 1) * 0x9e3779b97f4a7c15ULL : rnd(e);
		client_addr(family, r, fs->src[i]);
		memset(&fs->s[i], 0, sizeof(fs->s[i]));
		fs->s[i].src = fs->src[i];
		fs->s[i].dst = vip;
		fs->s[i].proto = proto;
		/* 40503 is prime to 64000: distinct ports for 64000 flows. */
		fs->s[i].sport = 1024 + (e->sport_seq++ * 40503U + e->sport_off) % 64000;
		fs->s[i].dport = port ? port : 1 + rnd(e) % 65535;
		fs->s[i].tcp_flags = TCP_SYN;
		fs->be[i] = XLB_NO_BACKEND;
	}
}

/* --- tests: VIPs -------------------------------------------------------------- */

struct vip_list {
	struct xlb_vip_key k[8];
	struct xlb_vip v[8];
	int n;
};

static int vip_collect(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct vip_list *l = arg;

	if (l->n >= 8)
		return -E2BIG;
	l->k[l->n] = *k;
	l->v[l->n++] = *v;
	return 0;
}

static const struct vip_def {
	const char *addr;
	__u16 port;
	__u8 proto;
	__u32 flags;
	__u32 size;
} vip_defs[] = {
	{VIP4, 80, IPPROTO_TCP, 0, 251},
	{VIP6, 53, IPPROTO_UDP, 0, 1009},
	{VIP4, 0, IPPROTO_TCP, XLB_VIP_F_HASH_SRC, XLB_MAGLEV_DEFAULT},
};

#define N_VIP_DEFS (int)(sizeof(vip_defs) / sizeof(vip_defs[0]))

/* Every slot of VIP id's table is XLB_NO_BACKEND. */
static int table_all_empty(struct env *e, __u32 id, __u32 size, const char *what)
{
	__u32 *want = malloc((size_t)size * sizeof(*want));
	__u32 i;
	int err;

	if (!want)
		return fail(e, "out of memory");
	for (i = 0; i < size; i++)
		want[i] = XLB_NO_BACKEND;
	err = table_check(e, id, size, want, what);
	free(want);
	return err;
}

static int t_vip_basic(struct env *e, const void *arg)
{
	struct xlb_vip out[N_VIP_DEFS], got;
	struct xlb_vip_key k;
	struct vip_list l = {};
	int i, j, err;

	for (i = 0; i < N_VIP_DEFS; i++) {
		const struct vip_def *d = &vip_defs[i];

		if (vip_new(e, d->addr, d->port, d->proto, d->flags, d->size, &out[i]))
			return -1;
		if (out[i].flags != d->flags || out[i].table_size != d->size ||
		    out[i].table_off % XLB_SLOT_BLOCK || out[i].table_off > SLOTS_MAX - d->size)
			return fail(e,
				    "VIP %d: created with flags %u size %u, got flags %u "
				    "size %u offset %u",
				    i, d->flags, d->size, out[i].flags, out[i].table_size,
				    out[i].table_off);
		if (out[i].id >= VIPS_MAX)
			return fail(e, "VIP %d: id %u, expected below %u (the map's size)", i,
				    out[i].id, VIPS_MAX);
		for (j = 0; j < i; j++)
			if (out[j].id == out[i].id)
				return fail(e, "VIPs %d and %d share id %u", j, i, out[i].id);
		vip_key(d->addr, d->port, d->proto, &k);
		err = xlb_vip_get(&e->m, &k, &got);
		if (err)
			return fail(e, "xlb_vip_get(VIP %d): %s", i, errname(err));
		if (memcmp(&got, &out[i], sizeof(got)))
			return fail(e,
				    "VIP %d: get says id %u flags %u size %u, create said id %u "
				    "flags %u size %u",
				    i, got.id, got.flags, got.table_size, out[i].id, out[i].flags,
				    out[i].table_size);
		if (table_slots(e, got.id) != d->size)
			return fail(e, "VIP %d: table at id %u has %u slots, expected %u", i,
				    got.id, table_slots(e, got.id), d->size);
		if (table_all_empty(e, got.id, d->size, "new VIP's table"))
			return -1;
	}
	/* A reader that expects another size is told the table is not its own. */
	{
		__u32 slots[251];

		err = xlb_table_read(&e->m, out[1].id, slots, 251);
		if (err != -ESTALE)
			return fail(e,
				    "xlb_table_read of 1009 slots as 251: expected -ESTALE, "
				    "got %s",
				    errname(err));
	}
	err = xlb_vip_foreach(&e->m, vip_collect, &l);
	if (err)
		return fail(e, "xlb_vip_foreach: %s", errname(err));
	if (l.n != N_VIP_DEFS)
		return fail(e, "xlb_vip_foreach: %d VIPs, expected %d", l.n, N_VIP_DEFS);
	for (i = 0; i < N_VIP_DEFS; i++) {
		vip_key(vip_defs[i].addr, vip_defs[i].port, vip_defs[i].proto, &k);
		for (j = 0; j < l.n; j++)
			if (!memcmp(&l.k[j], &k, sizeof(k)))
				break;
		if (j == l.n)
			return fail(e, "xlb_vip_foreach: VIP %d not listed", i);
		if (memcmp(&l.v[j], &out[i], sizeof(out[i])))
			return fail(e, "xlb_vip_foreach: VIP %d listed with id %u, expected %u", i,
				    l.v[j].id, out[i].id);
	}

	/* Delete the second: gone from get, list and xlb_tables; the others stay. */
	vip_key(vip_defs[1].addr, vip_defs[1].port, vip_defs[1].proto, &k);
	err = xlb_vip_delete(&e->m, &k);
	if (err)
		return fail(e, "xlb_vip_delete: %s", errname(err));
	err = xlb_vip_get(&e->m, &k, &got);
	if (err != -ENOENT)
		return fail(e, "xlb_vip_get after delete: expected -ENOENT, got %s", errname(err));
	if (tables_present(e) != (1U << out[0].id | 1U << out[2].id))
		return fail(e, "tables at ids 0x%x after delete, expected 0x%x", tables_present(e),
			    1U << out[0].id | 1U << out[2].id);
	l.n = 0;
	err = xlb_vip_foreach(&e->m, vip_collect, &l);
	if (err || l.n != 2)
		return fail(e, "xlb_vip_foreach after delete: %s, %d VIPs, expected 2",
			    errname(err), l.n);
	err = xlb_vip_delete(&e->m, &k);
	if (err != -ENOENT)
		return fail(e, "second xlb_vip_delete: expected -ENOENT, got %s", errname(err));
	return 0;
}

static int t_vip_reuse(struct env *e, const void *arg)
{
	struct xlb_traffic junk = {.packets = 7, .bytes = 700, .new_flows = 3}, t;
	struct xlb_vip out[N_VIP_DEFS], v;
	struct xlb_vip_key k;
	int i, err;

	for (i = 0; i < N_VIP_DEFS; i++)
		if (vip_new(e, vip_defs[i].addr, vip_defs[i].port, vip_defs[i].proto,
			    vip_defs[i].flags, vip_defs[i].size, &out[i]))
			return -1;
	/* Counters the old VIP left behind. */
	err = bpftest_percpu_write(e->skel->maps.xlb_vip_stats, out[1].id, e->ncpu, &junk,
				   sizeof(junk));
	if (err)
		return fail(e, "cannot write VIP counters: %s", errname(err));
	vip_key(vip_defs[1].addr, vip_defs[1].port, vip_defs[1].proto, &k);
	err = xlb_vip_delete(&e->m, &k);
	if (err)
		return fail(e, "xlb_vip_delete: %s", errname(err));
	if (vip_new(e, VIP4_OTHER, 443, IPPROTO_TCP, 0, 1009, &v))
		return -1;
	if (v.id != out[1].id)
		return fail(e, "new VIP got id %u, expected the freed id %u", v.id, out[1].id);
	if (table_slots(e, v.id) != 1009)
		return fail(e, "table at reused id %u has %u slots, expected 1009", v.id,
			    table_slots(e, v.id));
	if (table_all_empty(e, v.id, 1009, "reused id's table"))
		return -1;
	err = xlb_stats_vip(&e->m, v.id, &t);
	if (err)
		return fail(e, "xlb_stats_vip: %s", errname(err));
	if (t.packets || t.bytes || t.new_flows)
		return fail(e,
			    "counters of the reused id: %llu packets %llu bytes %llu flows, "
			    "expected zeros",
			    (unsigned long long)t.packets, (unsigned long long)t.bytes,
			    (unsigned long long)t.new_flows);
	return 0;
}

static int t_vip_exists(struct env *e, const void *arg)
{
	static const struct node_def nd[] = {{BE4_1, 80, 1}, {BE4_2, 80, 1}, {}};
	struct xlb_vip v, got;
	struct xlb_vip_key k;
	__u32 ids[2], *before;
	int err;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, 251, &v) ||
	    member_add(e, &v, nd[0].addr, nd[0].port, 1, &ids[0]) ||
	    member_add(e, &v, nd[1].addr, nd[1].port, 1, &ids[1]) || rebuild(e, &v))
		return -1;
	before = malloc(251 * sizeof(*before));
	if (!before)
		return fail(e, "out of memory");
	err = maglev_expected(e, nd, ids, 3, 251, SEED, before);
	err = err ?: table_check(e, v.id, 251, before, "table before the duplicate");
	if (err)
		goto out;
	vip_key(VIP4, 80, IPPROTO_TCP, &k);
	/* The rebuild moved the table: the value as it is now. */
	err = xlb_vip_get(&e->m, &k, &v);
	if (err) {
		err = fail(e, "xlb_vip_get: %s", errname(err));
		goto out;
	}
	err = xlb_vip_create(&e->m, &k, XLB_VIP_F_HASH_SRC, 1009, &got);
	if (err != -EEXIST) {
		err = fail(e, "xlb_vip_create of an existing VIP: expected -EEXIST, got %s",
			   errname(err));
		goto out;
	}
	err = xlb_vip_get(&e->m, &k, &got);
	if (err || memcmp(&got, &v, sizeof(v))) {
		err = fail(e,
			   "existing VIP after the duplicate: %s, id %u flags %u size %u; "
			   "expected id %u flags 0 size 251",
			   errname(err), got.id, got.flags, got.table_size, v.id);
		goto out;
	}
	err = table_check(e, v.id, 251, before, "table after the duplicate");
	if (err)
		goto out;
	if (hash_count(e->skel->maps.xlb_vips) != 1 || tables_present(e) != 1U << v.id)
		err = fail(e, "after the duplicate: %d VIPs, tables at 0x%x; expected 1, 0x%x",
			   hash_count(e->skel->maps.xlb_vips), tables_present(e), 1U << v.id);
out:
	free(before);
	return err;
}

static int t_vip_bad_size(struct env *e, const void *arg)
{
	static const __u32 bad[] = {
		0,
		1,
		2,
		4,
		9,
		100,
		250,
		65535,
		65536,
		XLB_MAGLEV_MAX + 2,
		1048583 /* the next prime */,
		0xffffffffU,
	};
	static const __u32 good[] = {3, XLB_MAGLEV_MAX};
	struct xlb_vip_key k;
	struct xlb_vip v;
	size_t i;
	int err;

	vip_key(VIP4, 80, IPPROTO_TCP, &k);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = xlb_vip_create(&e->m, &k, 0, bad[i], &v);
		if (err != -EINVAL)
			return fail(e, "table size %u: expected -EINVAL, got %s", bad[i],
				    errname(err));
		if (hash_count(e->skel->maps.xlb_vips) || tables_present(e))
			return fail(e, "table size %u: %d VIPs and tables at 0x%x left behind",
				    bad[i], hash_count(e->skel->maps.xlb_vips), tables_present(e));
	}
	/* The bounds themselves are accepted. */
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err = xlb_vip_create(&e->m, &k, 0, good[i], &v);
		if (err)
			return fail(e, "table size %u: expected success, got %s", good[i],
				    errname(err));
		if (table_slots(e, v.id) != good[i])
			return fail(e, "table size %u: table has %u slots", good[i],
				    table_slots(e, v.id));
		err = xlb_vip_delete(&e->m, &k);
		if (err)
			return fail(e, "xlb_vip_delete: %s", errname(err));
	}
	return 0;
}

static int t_vip_full(struct env *e, const void *arg)
{
	static const struct vip_def full[VIPS_MAX] = {
		{VIP4, 80, IPPROTO_TCP, 0, 251},
		{VIP4, 81, IPPROTO_TCP, 0, 251},
		{VIP6, 80, IPPROTO_TCP, 0, 251},
		{VIP4, 0, IPPROTO_UDP, 0, 251},
	};
	struct xlb_vip v[VIPS_MAX], got;
	struct xlb_vip_key k;
	__u32 mask;
	int i, err;

	for (i = 0; i < VIPS_MAX; i++)
		if (vip_new(e, full[i].addr, full[i].port, full[i].proto, 0, full[i].size, &v[i]))
			return -1;
	mask = tables_present(e);
	vip_key(VIP4_OTHER, 80, IPPROTO_TCP, &k);
	err = xlb_vip_create(&e->m, &k, 0, 1009, &got);
	if (err != -E2BIG && err != -ENOSPC)
		return fail(e, "VIP into a full map: expected -E2BIG or -ENOSPC, got %s",
			    errname(err));
	note(e, "a full VIP map: xlb_vip_create returns %s", errname(err));
	if (hash_count(e->skel->maps.xlb_vips) != VIPS_MAX)
		return fail(e, "full map: %d VIPs after the failure, expected %d",
			    hash_count(e->skel->maps.xlb_vips), VIPS_MAX);
	if (tables_present(e) != mask)
		return fail(e,
			    "full map: tables at ids 0x%x after the failure, expected 0x%x "
			    "(a table left at an unused id)",
			    tables_present(e), mask);
	err = xlb_vip_get(&e->m, &k, &got);
	if (err != -ENOENT)
		return fail(e, "the refused VIP: get says %s, expected -ENOENT", errname(err));
	for (i = 0; i < VIPS_MAX; i++) {
		vip_key(full[i].addr, full[i].port, full[i].proto, &k);
		if (xlb_vip_get(&e->m, &k, &got) || memcmp(&got, &v[i], sizeof(got)))
			return fail(e, "VIP %d changed by the failed create", i);
	}
	/* Room again after a delete, and the freed id is the one reused. */
	vip_key(full[2].addr, full[2].port, full[2].proto, &k);
	err = xlb_vip_delete(&e->m, &k);
	if (err)
		return fail(e, "xlb_vip_delete: %s", errname(err));
	if (vip_new(e, VIP4_OTHER, 80, IPPROTO_TCP, 0, 1009, &got))
		return -1;
	if (got.id != v[2].id)
		return fail(e, "VIP after a delete got id %u, expected %u", got.id, v[2].id);
	return 0;
}

/* --- tests: backends ---------------------------------------------------------- */

static int t_be_ensure(struct env *e, const void *arg)
{
	/* c612:b:: has addr[0] == 198.18.0.11: only the family tells them apart. */
	static const struct {
		const char *addr;
		__u16 port;
	} bes[] = {
		{BE4_1, 80}, {BE4_1, 81}, {BE4_1, 0}, {BE6_1, 80}, {"c612:b::", 80}, {BE4_2, 80},
	};
	const size_t n = sizeof(bes) / sizeof(bes[0]);
	struct xlb_addr_key a;
	struct xlb_backend b;
	__u32 ids[6], id;
	size_t i, j;
	int err;

	for (i = 0; i < n; i++) {
		addr_key(bes[i].addr, &a);
		err = xlb_backend_ensure(&e->m, &a, bes[i].port, &ids[i]);
		if (err)
			return fail(e, "xlb_backend_ensure(%s port %u): %s", bes[i].addr,
				    bes[i].port, errname(err));
		for (j = 0; j < i; j++)
			if (ids[j] == ids[i])
				return fail(e, "%s port %u and %s port %u share id %u", bes[j].addr,
					    bes[j].port, bes[i].addr, bes[i].port, ids[i]);
	}
	for (i = 0; i < n; i++) {
		addr_key(bes[i].addr, &a);
		err = xlb_backend_ensure(&e->m, &a, bes[i].port, &id);
		if (err || id != ids[i])
			return fail(e,
				    "second xlb_backend_ensure(%s port %u): %s, id %u, "
				    "expected id %u",
				    bes[i].addr, bes[i].port, errname(err), id, ids[i]);
		err = xlb_backend_find(&e->m, &a, bes[i].port, &id);
		if (err || id != ids[i])
			return fail(e, "xlb_backend_find(%s port %u): %s, id %u, expected id %u",
				    bes[i].addr, bes[i].port, errname(err), id, ids[i]);
		err = xlb_backend_get(&e->m, ids[i], &b);
		if (err)
			return fail(e, "xlb_backend_get(%u): %s", ids[i], errname(err));
		if (memcmp(b.addr, a.addr, 16) || b.family != a.family ||
		    b.port != htons(bes[i].port) || b.state != XLB_BE_ACTIVE ||
		    b.by != XLB_BY_AGENT || b.pad || b.gen != 1)
			return fail(e,
				    "backend %u: family %u port %u state %s by %u pad %u gen %u or "
				    "its address differ from %s port %u, ACTIVE, gen 1 (the first "
				    "after a free entry's 0)",
				    ids[i], b.family, ntohs(b.port), state_name(b.state), b.by,
				    b.pad, b.gen, bes[i].addr, bes[i].port);
	}
	addr_key(BE4_3, &a);
	err = xlb_backend_find(&e->m, &a, 80, &id);
	if (err != -ENOENT)
		return fail(e, "xlb_backend_find of an unknown backend: expected -ENOENT, got %s",
			    errname(err));
	if (hash_count(e->skel->maps.xlb_members))
		return fail(e, "xlb_backend_ensure made members");
	return 0;
}

static int t_be_state(struct env *e, const void *arg)
{
	static const struct node_def nd[] = {
		{BE4_1, 0, 1},
		{BE4_2, 0, 1},
		{BE4_3, 0, 1},
		{},
	};
	static const __u8 states[] = {XLB_BE_DOWN, XLB_BE_DRAINING, XLB_BE_ACTIVE};
	struct xlb_backend before[3], now;
	struct flow_set *fs = NULL;
	struct xlb_vip v;
	struct sent r;
	__u32 ids[3], *table;
	size_t i, s;
	int err, k;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, 251, &v))
		return -1;
	for (i = 0; i < 3; i++)
		if (member_add(e, &v, nd[i].addr, nd[i].port, nd[i].weight, &ids[i]))
			return -1;
	if (rebuild(e, &v))
		return -1;
	for (i = 0; i < 3; i++)
		if (backend_raw(e, ids[i], &before[i]))
			return fail(e, "cannot read backend %u", ids[i]);
	table = malloc(251 * sizeof(*table));
	fs = malloc(sizeof(*fs));
	if (!table || !fs) {
		err = fail(e, "out of memory");
		goto out;
	}
	err = maglev_expected(e, nd, ids, 7, 251, SEED, table);
	if (err)
		goto out;
	for (s = 0; s < sizeof(states); s++) {
		err = set_state(e, ids[0], states[s]);
		if (err)
			goto out;
		/* One write: the state and nothing else, no table rebuilt. */
		for (i = 0; i < 3; i++) {
			struct xlb_backend want = before[i];

			if (!i)
				want.state = states[s];
			if (backend_raw(e, ids[i], &now) || memcmp(&now, &want, sizeof(now))) {
				err = fail(e,
					   "after set_state(%u, %s): backend %u is %s, expected "
					   "%s with its address and port unchanged",
					   ids[0], state_name(states[s]), ids[i],
					   state_name(now.state), state_name(want.state));
				goto out;
			}
		}
		err = table_check(e, v.id, 251, table, "table after set_state");
		if (err)
			goto out;
		/* The next new flow already sees the state. */
		flows_make(e, fs, 50, VIP4, 80, IPPROTO_TCP, 0);
		for (k = 0; k < fs->n; k++) {
			err = send_pkt(e, &fs->s[k], &r);
			if (err)
				goto out;
			if (states[s] != XLB_BE_ACTIVE && r.be_id == ids[0]) {
				err = fail(e, "a new flow went to backend %u, %s", ids[0],
					   state_name(states[s]));
				goto out;
			}
		}
	}
	err = xlb_backend_set_state(&e->m, ids[0], XLB_BE_UNUSED);
	if (err != -EINVAL) {
		err = fail(e, "set_state(UNUSED): expected -EINVAL, got %s", errname(err));
		goto out;
	}
	err = xlb_backend_set_state(&e->m, ids[0], XLB_BE_STATE_MAX);
	if (err != -EINVAL) {
		err = fail(e, "set_state(STATE_MAX): expected -EINVAL, got %s", errname(err));
		goto out;
	}
	err = xlb_backend_set_state(&e->m, TEST_IDS - 1, XLB_BE_DOWN);
	if (err != -ENOENT) {
		err = fail(e, "set_state of a free id: expected -ENOENT, got %s", errname(err));
		goto out;
	}
	if (backend_raw(e, TEST_IDS - 1, &now) || now.state != XLB_BE_UNUSED) {
		err = fail(e, "set_state of a free id made it %s", state_name(now.state));
		goto out;
	}
	err = xlb_backend_set_state(&e->m, XLB_MAX_BACKENDS, XLB_BE_DOWN);
	if (err != -ENOENT) {
		err = fail(e, "set_state(XLB_MAX_BACKENDS): expected -ENOENT, got %s",
			   errname(err));
		goto out;
	}
	/* The operator's down is held: the agent's writes leave it. */
	err = xlb_backend_hold(&e->m, ids[0], XLB_BE_DOWN);
	if (!err)
		err = xlb_backend_set_state(&e->m, ids[0], XLB_BE_ACTIVE);
	if (err != -EBUSY || backend_raw(e, ids[0], &now) || now.state != XLB_BE_DOWN ||
	    now.by != XLB_BY_OPERATOR) {
		err = fail(e,
			   "set_state over a hold: %s, state %s by %u; expected -EBUSY, "
			   "down by the operator",
			   errname(err), state_name(now.state), now.by);
		goto out;
	}
	/* Active ends the hold. */
	err = xlb_backend_hold(&e->m, ids[0], XLB_BE_ACTIVE);
	if (!err)
		err = xlb_backend_set_state(&e->m, ids[0], XLB_BE_DOWN);
	if (err || backend_raw(e, ids[0], &now) || now.state != XLB_BE_DOWN ||
	    now.by != XLB_BY_AGENT) {
		err = fail(e,
			   "set_state after the hold ended: %s, state %s by %u; expected "
			   "down by the agent",
			   errname(err), state_name(now.state), now.by);
		goto out;
	}
	err = xlb_backend_set_state(&e->m, ids[0], XLB_BE_ACTIVE);
out:
	free(fs);
	free(table);
	return err;
}

/* Send n new flows to vip; count per backend id (< TEST_IDS). */
static int spray(struct env *e, struct flow_set *fs, const char *vip, __u16 port, int n,
		 __u64 count[TEST_IDS])
{
	struct sent r;
	int i;

	flows_make(e, fs, n, vip, port, IPPROTO_TCP, 0);
	for (i = 0; i < fs->n; i++) {
		if (send_pkt(e, &fs->s[i], &r))
			return -1;
		if (r.verdict != XDP_TX || r.be_id >= TEST_IDS)
			return fail(e, "SYN to %s port %u: %s, backend %u", vip, port,
				    bpftest_verdict_name(r.verdict), r.be_id);
		count[r.be_id]++;
	}
	return 0;
}

struct flows_of {
	__u32 id;
	__u16 gen;
	unsigned int n, stale;
};

static int count_flows_of(const struct xlb_flow_key *k, const struct xlb_flow *v, void *arg)
{
	struct flows_of *f = arg;

	f->n += v->backend_id == f->id && v->be_gen == f->gen;
	f->stale += v->backend_id == f->id && v->be_gen != f->gen;
	return 0;
}

/*
 * Flow-table entries that the fast path keeps on backend id: those with
 * the id's generation now; *stale (if given) counts the id's others.
 */
static unsigned int flows_of_gen(struct env *e, __u32 id, unsigned int *stale)
{
	struct flows_of f = {.id = id};
	struct xlb_backend b;

	if (backend_raw(e, id, &b))
		return ~0U;
	f.gen = b.gen;
	xlb_flow_foreach(&e->m, count_flows_of, &f);
	if (stale)
		*stale = f.stale;
	return f.n;
}

static unsigned int flows_of(struct env *e, __u32 id)
{
	return flows_of_gen(e, id, NULL);
}

static int t_be_release(struct env *e, const void *arg)
{
	struct xlb_vip v1, v2;
	struct xlb_vip_key k1, k2;
	struct xlb_backend b;
	struct xlb_traffic t;
	struct xlb_member mb;
	struct xlb_addr_key a;
	struct flow_set *fs;
	struct xlb_nexthop nh;
	__u64 count[TEST_IDS] = {};
	__u32 s, x, y, id, i;
	unsigned int stale;
	__u16 gen_x;
	int err;

	/* Shared backend s in both VIPs, x only in v1, y only in v2. */
	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, 251, &v1) ||
	    vip_new(e, VIP4, 443, IPPROTO_TCP, 0, 251, &v2) ||
	    member_add(e, &v1, BE4_1, 0, 1, &s) || member_add(e, &v1, BE4_2, 0, 1, &x) ||
	    member_add(e, &v2, BE4_1, 0, 1, &id) || member_add(e, &v2, BE4_3, 0, 1, &y) ||
	    rebuild(e, &v1) || rebuild(e, &v2))
		return -1;
	if (id != s)
		return fail(e, "the shared backend got ids %u and %u", s, id);
	fs = malloc(sizeof(*fs));
	if (!fs)
		return fail(e, "out of memory");
	err = spray(e, fs, VIP4, 80, 64, count) ?: spray(e, fs, VIP4, 443, 64, count);
	free(fs);
	if (err)
		return -1;
	for (i = 0; i < 3; i++) {
		id = i == 0 ? s : i == 1 ? x : y;
		err = xlb_stats_backend(&e->m, id, &t);
		if (err || t.packets != count[id] || !count[id])
			return fail(e, "backend %u: %s, %llu packets counted, %llu sent (want > 0)",
				    id, errname(err), (unsigned long long)t.packets,
				    (unsigned long long)count[id]);
	}

	if (backend_raw(e, x, &b))
		return fail(e, "cannot read backend %u", x);
	gen_x = b.gen;
	/* Still a member somewhere: release keeps it. */
	err = xlb_backend_release(&e->m, s) ?: xlb_backend_release(&e->m, x);
	if (err)
		return fail(e, "xlb_backend_release of members: %s", errname(err));
	if (xlb_backend_get(&e->m, s, &b) || xlb_backend_get(&e->m, x, &b))
		return fail(e, "xlb_backend_release freed a backend that is still a member");

	vip_key(VIP4, 80, IPPROTO_TCP, &k1);
	vip_key(VIP4, 443, IPPROTO_TCP, &k2);
	err = xlb_vip_delete(&e->m, &k1);
	if (err)
		return fail(e, "xlb_vip_delete(v1): %s", errname(err));
	err = xlb_backend_get(&e->m, s, &b);
	if (err)
		return fail(e, "shared backend %u after deleting one VIP: %s, expected kept", s,
			    errname(err));
	err = xlb_backend_get(&e->m, x, &b);
	if (err != -ENOENT)
		return fail(e, "backend %u of the deleted VIP only: %s, expected -ENOENT", x,
			    errname(err));
	/*
	 * A freed id is reused: its flows must not follow it. They stay in the
	 * table (no walk) but with an older generation than the id's, so the
	 * fast path re-picks them; the shared backend's keep theirs.
	 */
	if (flows_of_gen(e, x, &stale) || !stale || !flows_of(e, s) || backend_raw(e, x, &b) ||
	    b.gen != (__u16)(gen_x + 1))
		return fail(e,
			    "flows after freeing backend %u: %u of its generation left "
			    "(expected 0), %u of the one before (expected > 0), its gen %u "
			    "(expected %u); backend %u kept with %u (expected > 0)",
			    x, flows_of(e, x), stale, b.gen, (__u16)(gen_x + 1), s, flows_of(e, s));
	if (xlb_member_get(&e->m, v1.id, s, &mb) != -ENOENT || xlb_member_get(&e->m, v2.id, s, &mb))
		return fail(e,
			    "members after deleting v1: (v1, %u) should be gone, (v2, %u) "
			    "kept",
			    s, s);
	err = xlb_vip_delete(&e->m, &k2);
	if (err)
		return fail(e, "xlb_vip_delete(v2): %s", errname(err));
	for (i = 0; i < 3; i++) {
		id = i == 0 ? s : i == 1 ? x : y;
		if (backend_raw(e, id, &b) || b.state != XLB_BE_UNUSED)
			return fail(e, "backend %u after deleting both VIPs: %s, expected UNUSED",
				    id, state_name(b.state));
	}
	if (hash_count(e->skel->maps.xlb_members))
		return fail(e, "%d members left after deleting both VIPs",
			    hash_count(e->skel->maps.xlb_members));

	/* A new backend takes a freed id: counters and next hop start empty. */
	addr_key(BE4_4, &a);
	err = xlb_backend_ensure(&e->m, &a, 0, &id);
	if (err)
		return fail(e, "xlb_backend_ensure: %s", errname(err));
	if (id != s && id != x && id != y)
		return fail(e, "new backend got id %u, expected a freed one (%u, %u, %u)", id, s, x,
			    y);
	err = xlb_stats_backend(&e->m, id, &t);
	if (err || t.packets || t.bytes || t.new_flows)
		return fail(e,
			    "reused id %u: %s, %llu packets %llu bytes %llu flows, expected "
			    "zeros",
			    id, errname(err), (unsigned long long)t.packets,
			    (unsigned long long)t.bytes, (unsigned long long)t.new_flows);
	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_nexthops), &id, &nh))
		return fail(e, "cannot read next hop %u", id);
	if (nh.updated_ns || nh.ifindex)
		return fail(e, "reused id %u still has the old next hop (ifindex %u)", id,
			    nh.ifindex);
	return 0;
}

/* Write nb (its gen ignored) at id through the library; the gen the map then holds, or -1. */
static int gen_after_write(struct env *e, __u32 id, struct xlb_backend nb)
{
	struct xlb_backend b;

	nb.gen = 0x5a5a; /* not the caller's to set */
	if (xlb_backend_write(&e->m, id, &nb) || backend_raw(e, id, &b))
		return -1;
	return b.gen;
}

/*
 * A backend id's generation: state changes keep it; another address, port
 * or family on the id, or a free, take the next one; a free entry keeps
 * its own; the count wraps.
 */
static int t_be_gen(struct env *e, const void *arg)
{
	struct xlb_backend b, nb;
	struct xlb_addr_key a;
	__u32 id, id2;
	int g, got;

	addr_key(BE4_1, &a);
	if (xlb_backend_ensure(&e->m, &a, 80, &id) || backend_raw(e, id, &b))
		return fail(e, "xlb_backend_ensure(%s port 80) failed", BE4_1);
	g = b.gen;
	if (xlb_backend_set_state(&e->m, id, XLB_BE_DOWN) ||
	    xlb_backend_hold(&e->m, id, XLB_BE_DRAINING) ||
	    xlb_backend_hold(&e->m, id, XLB_BE_ACTIVE) || backend_raw(e, id, &b))
		return fail(e, "state changes of backend %u failed", id);
	if (b.gen != g)
		return fail(e, "state changes moved the generation from %d to %u", g, b.gen);
	nb = b;
	nb.state = XLB_BE_DRAINING;
	got = gen_after_write(e, id, nb);
	if (got != g)
		return fail(e, "a whole write of the same identity: generation %d, expected %d",
			    got, g);
	nb.addr[0] ^= htonl(1);
	got = gen_after_write(e, id, nb);
	if (got != (__u16)(g + 1))
		return fail(e, "another address: generation %d, expected %u", got, (__u16)(g + 1));
	nb.port = htons(81);
	got = gen_after_write(e, id, nb);
	if (got != (__u16)(g + 2))
		return fail(e, "another port: generation %d, expected %u", got, (__u16)(g + 2));
	got = gen_after_write(e, id, (struct xlb_backend){.state = XLB_BE_UNUSED});
	if (got != (__u16)(g + 3))
		return fail(e, "freed: generation %d, expected %u", got, (__u16)(g + 3));

	/* A free entry at the last generation: the next user of the id wraps to 0. */
	b = (struct xlb_backend){.state = XLB_BE_UNUSED, .gen = 0xffff};
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_backends), &id, &b, BPF_ANY))
		return fail(e, "backend %u: update failed: %s", id, strerror(errno));
	addr_key(BE4_2, &a);
	if (xlb_backend_ensure(&e->m, &a, 80, &id2) || backend_raw(e, id2, &b))
		return fail(e, "xlb_backend_ensure(%s port 80) failed", BE4_2);
	if (id2 != id || b.gen != 0)
		return fail(e,
			    "the free id %u at generation 65535 taken: id %u generation %u, "
			    "expected id %u generation 0",
			    id, id2, b.gen, id);
	if (xlb_backend_release(&e->m, id) || backend_raw(e, id, &b) || b.gen != 1 ||
	    b.state != XLB_BE_UNUSED)
		return fail(e, "released: state %s generation %u, expected UNUSED 1",
			    state_name(b.state), b.gen);
	return 0;
}

static int t_member_full(struct env *e, const void *arg)
{
	struct xlb_addr_key a;
	struct xlb_member mb;
	struct xlb_vip v;
	char addr[INET_ADDRSTRLEN];
	__u32 ids[MEMBERS_MAX + 1];
	int i, err;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, 251, &v))
		return -1;
	for (i = 0; i < MEMBERS_MAX; i++) {
		snprintf(addr, sizeof(addr), "198.18.0.%d", 11 + i);
		if (member_add(e, &v, addr, 0, 1 + i, &ids[i]))
			return -1;
	}
	snprintf(addr, sizeof(addr), "198.18.0.%d", 11 + MEMBERS_MAX);
	addr_key(addr, &a);
	err = xlb_backend_ensure(&e->m, &a, 0, &ids[MEMBERS_MAX]);
	if (err)
		return fail(e, "xlb_backend_ensure: %s", errname(err));
	err = xlb_member_set(&e->m, v.id, ids[MEMBERS_MAX], 1);
	if (err != -E2BIG && err != -ENOSPC)
		return fail(e, "member %d of a map of %d: expected -E2BIG or -ENOSPC, got %s",
			    MEMBERS_MAX + 1, MEMBERS_MAX, errname(err));
	note(e, "a full member map: xlb_member_set returns %s", errname(err));
	if (hash_count(e->skel->maps.xlb_members) != MEMBERS_MAX)
		return fail(e, "%d members after the failure, expected %d",
			    hash_count(e->skel->maps.xlb_members), MEMBERS_MAX);
	/* A full map still takes new weights for existing members. */
	err = xlb_member_set(&e->m, v.id, ids[0], 77);
	if (err)
		return fail(e, "weight update in a full map: %s", errname(err));
	err = xlb_member_get(&e->m, v.id, ids[0], &mb);
	if (err || mb.weight != 77)
		return fail(e, "xlb_member_get: %s, weight %u, expected 77", errname(err),
			    mb.weight);
	err = xlb_member_set(&e->m, v.id, ids[0], XLB_WEIGHT_MAX + 1);
	if (err != -ERANGE)
		return fail(e, "weight XLB_WEIGHT_MAX + 1: expected -ERANGE, got %s", errname(err));
	err = xlb_member_del(&e->m, v.id, ids[1])
		      ?: xlb_member_set(&e->m, v.id, ids[MEMBERS_MAX], 1);
	if (err)
		return fail(e, "member after a delete: %s", errname(err));
	return rebuild(e, &v);
}

/* --- tests: tables ------------------------------------------------------------ */

static int t_table_weights(struct env *e, const void *arg)
{
	static const struct node_def nd4[] = {
		{BE4_1, 80, 1}, {BE4_2, 80, 2},	  {BE4_3, 80, 3},
		{BE4_4, 80, 5}, {BE4_5, 8080, 8}, {},
	};
	static const struct node_def nd6[] = {
		{BE6_1, 443, 1},
		{BE6_2, 443, 1},
		{BE6_3, 0, 4},
		{},
	};
	struct xlb_config cfg;
	struct xlb_vip v4, v6;
	__u32 ids4[5], ids6[3], *a;
	int i, err;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, XLB_MAGLEV_DEFAULT, &v4) ||
	    vip_new(e, VIP6, 443, IPPROTO_TCP, 0, 1009, &v6))
		return -1;
	for (i = 0; i < 5; i++)
		if (member_add(e, &v4, nd4[i].addr, nd4[i].port, nd4[i].weight, &ids4[i]))
			return -1;
	for (i = 0; i < 3; i++)
		if (member_add(e, &v6, nd6[i].addr, nd6[i].port, nd6[i].weight, &ids6[i]))
			return -1;
	if (rebuild(e, &v4) || rebuild(e, &v6) ||
	    table_expect(e, &v4, nd4, ids4, 0x1f, SEED, "IPv4 VIP, 65537 slots") ||
	    table_expect(e, &v6, nd6, ids6, 0x7, SEED, "IPv6 VIP, 1009 slots"))
		return -1;
	/* The seed comes from the config: another seed, another (expected) table. */
	err = xlb_config_get(&e->m, &cfg);
	if (err)
		return fail(e, "xlb_config_get: %s", errname(err));
	cfg.hash_seed = SEED_OTHER;
	err = xlb_config_set(&e->m, &cfg);
	if (err)
		return fail(e, "xlb_config_set: %s", errname(err));
	if (rebuild(e, &v6) ||
	    table_expect(e, &v6, nd6, ids6, 0x7, SEED_OTHER, "IPv6 VIP, other seed"))
		return -1;
	a = malloc(2 * v6.table_size * sizeof(*a));
	if (!a)
		return fail(e, "out of memory");
	err = maglev_expected(e, nd6, ids6, 0x7, v6.table_size, SEED, a)
		      ?: maglev_expected(e, nd6, ids6, 0x7, v6.table_size, SEED_OTHER,
					 a + v6.table_size);
	if (!err && !memcmp(a, a + v6.table_size, v6.table_size * sizeof(*a)))
		err = fail(e, "the seed changes nothing: the test cannot tell the seeds apart");
	free(a);
	return err;
}

/* No slot of VIP vip holds backend id. */
static int table_lacks(struct env *e, const struct xlb_vip *vip, __u32 id, const char *why)
{
	__u32 *t = malloc((size_t)vip->table_size * sizeof(*t));
	__u32 i;
	int err;

	if (!t)
		return fail(e, "out of memory");
	err = xlb_table_read(&e->m, vip->id, t, vip->table_size);
	for (i = 0; !err && i < vip->table_size; i++)
		if (t[i] == id)
			break;
	free(t);
	if (err)
		return fail(e, "xlb_table_read: %s", errname(err));
	if (i < vip->table_size)
		return fail(e, "slot %u holds backend %u, which is %s", i, id, why);
	return 0;
}

static int t_table_states(struct env *e, const void *arg)
{
	static const struct node_def nd[] = {
		{BE4_1, 0, 1}, {BE4_2, 0, 2}, {BE4_3, 0, 3}, {BE4_4, 0, 4}, {BE4_5, 0, 5}, {},
	};
	struct node_def nd0[6];
	struct xlb_vip v;
	__u32 ids[5];
	int i, err;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, 1009, &v))
		return -1;
	for (i = 0; i < 5; i++)
		if (member_add(e, &v, nd[i].addr, nd[i].port, nd[i].weight, &ids[i]))
			return -1;
	/* 0 DOWN, 1 DRAINING, 2 weight 0: only 3 and 4 fill the table. */
	if (set_state(e, ids[0], XLB_BE_DOWN) || set_state(e, ids[1], XLB_BE_DRAINING))
		return -1;
	err = xlb_member_set(&e->m, v.id, ids[2], 0);
	if (err)
		return fail(e, "xlb_member_set(weight 0): %s", errname(err));
	memcpy(nd0, nd, sizeof(nd0));
	nd0[2].weight = 0;
	if (rebuild(e, &v) ||
	    table_expect(e, &v, nd0, ids, 0x18, SEED, "DOWN, DRAINING, weight 0 left out") ||
	    table_lacks(e, &v, ids[0], "DOWN") || table_lacks(e, &v, ids[1], "DRAINING") ||
	    table_lacks(e, &v, ids[2], "of weight 0"))
		return -1;
	/* Back up: rebuilding the VIPs of one backend brings it in. */
	if (set_state(e, ids[0], XLB_BE_ACTIVE))
		return -1;
	err = xlb_table_rebuild_backend(&e->m, ids[0]);
	if (err)
		return fail(e, "xlb_table_rebuild_backend(%u): %s", ids[0], errname(err));
	if (table_expect(e, &v, nd0, ids, 0x19, SEED, "after the DOWN backend came back"))
		return -1;
	/* A member removed is gone from the next table. */
	err = xlb_member_del(&e->m, v.id, ids[4]);
	if (err)
		return fail(e, "xlb_member_del: %s", errname(err));
	return rebuild(e, &v)
		       ?: table_expect(e, &v, nd0, ids, 0x09, SEED, "after a member was removed");
}

static int t_table_empty(struct env *e, const void *arg)
{
	struct pkt_spec s = {
		.src = "198.18.0.10",
		.dst = VIP4,
		.proto = IPPROTO_TCP,
		.sport = 40000,
		.dport = 80,
		.tcp_flags = TCP_SYN,
	};
	struct xlb_pick_result pr;
	struct xlb_flow_key k;
	struct xlb_vip v1, v2;
	struct sent r;
	__u32 a, b;
	int err;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, 251, &v1) ||
	    vip_new(e, VIP4, 81, IPPROTO_TCP, 0, 1009, &v2) || rebuild(e, &v1) ||
	    table_all_empty(e, v1.id, 251, "VIP without members"))
		return -1;
	if (member_add(e, &v2, BE4_1, 0, 1, &a) || member_add(e, &v2, BE4_2, 0, 0, &b) ||
	    set_state(e, a, XLB_BE_DOWN) || rebuild(e, &v2) ||
	    table_all_empty(e, v2.id, 1009, "VIP with a DOWN and a weight-0 member"))
		return -1;
	/* No backend: the pick says so and the fast path drops, no flow made. */
	flow_key_of(&s, &k);
	err = xlb_pick_flow(&e->m, &v1, &k, &pr);
	if (err || pr.via != XLB_PICK_NONE)
		return fail(e,
			    "xlb_pick_flow on an empty table: %s, via %s backend %u; "
			    "expected NONE",
			    errname(err), via_name[pr.via], pr.backend_id);
	if (send_pkt(e, &s, &r))
		return -1;
	if (r.verdict != XDP_DROP)
		return fail(e, "SYN to a VIP with an empty table: %s, expected XDP_DROP",
			    bpftest_verdict_name(r.verdict));
	if (flows_count(e))
		return fail(e, "a dropped SYN made a flow (or the flows cannot be walked)");
	return 0;
}

static int t_table_sizes(struct env *e, const void *arg)
{
	static const struct {
		const char *vip;
		__u32 size;
		struct node_def nd[4];
	} vips[] = {
		{VIP4, 251, {{BE4_1, 80, 1}, {BE4_2, 80, 2}, {BE4_3, 80, 1}, {}}},
		{VIP6, 1009, {{BE6_1, 80, 1}, {BE6_2, 80, 1}, {BE6_3, 80, 3}, {}}},
	};
	struct flow_set *fs = malloc(sizeof(*fs));
	struct xlb_flow_key k;
	struct xlb_vip v;
	struct sent r;
	__u32 ids[3], *table = NULL, slot;
	char f[128], o[64];
	size_t i;
	int j, err = 0;

	if (!fs)
		return fail(e, "out of memory");
	for (i = 0; !err && i < sizeof(vips) / sizeof(vips[0]); i++) {
		err = vip_new(e, vips[i].vip, 80, IPPROTO_TCP, 0, vips[i].size, &v);
		for (j = 0; !err && j < 3; j++)
			err = member_add(e, &v, vips[i].nd[j].addr, vips[i].nd[j].port,
					 vips[i].nd[j].weight, &ids[j]);
		err = err ?: rebuild(e, &v);
		if (err)
			break;
		free(table);
		table = malloc(vips[i].size * sizeof(*table));
		if (!table) {
			err = fail(e, "out of memory");
			break;
		}
		err = xlb_table_read(&e->m, v.id, table, v.table_size);
		if (err) {
			err = fail(e, "xlb_table_read: %s", errname(err));
			break;
		}
		/* The fast path's backend is the table's slot of the flow hash. */
		flows_make(e, fs, 200, vips[i].vip, 80, IPPROTO_TCP, 0);
		for (j = 0; !err && j < fs->n; j++) {
			flow_key_of(&fs->s[j], &k);
			slot = xlb_flow_hash(&k, SEED, 0) % vips[i].size;
			err = send_pkt(e, &fs->s[j], &r);
			if (!err && r.be_id != table[slot])
				err = fail(e,
					   "%u slots, %s: slot %u holds backend %u; fast "
					   "path: %s",
					   vips[i].size, flow_str(&fs->s[j], f, sizeof(f)), slot,
					   table[slot], sent_str(&r, o, sizeof(o)));
		}
	}
	free(table);
	free(fs);
	return err;
}

/* --- tests: table digests across nodes ------------------------------------------- */

/*
 * A second, independent map set (another loaded skeleton): what another LB
 * node given the same configuration holds. Small maps, the same seed.
 */
static int node_open(struct env *e, struct xlb_lb **skel, struct xlb_maps *m)
{
	struct xlb_config cfg;
	int ncpu, err;

	*skel = xlb_lb__open();
	if (!*skel)
		return fail(e, "second skeleton: open: %s", errname(-errno));
	err = bpftest_prepare((*skel)->obj, &ncpu) ?:
	      bpf_map__set_max_entries((*skel)->maps.xlb_vips, VIPS_MAX) ?:
	      bpf_map__set_max_entries((*skel)->maps.xlb_members, MEMBERS_MAX) ?:
	      bpf_map__set_max_entries((*skel)->maps.xlb_flows, FLOWS_PER_CPU * ncpu) ?:
	      xlb_flow_cache_size(*skel, FC_FLOWS_PER_CPU * ncpu, FC_FLOWS_PER_CPU * ncpu, ncpu) ?:
	      bpf_map__set_max_entries((*skel)->maps.xlb_chains, SLOTS_MAX) ?:
	      bpf_map__set_max_entries((*skel)->maps.xlb_slot_blocks,
				       SLOTS_MAX / XLB_SLOT_BLOCK / 8) ?:
	      xlb_lb__load(*skel);
	if (err)
		return fail(e, "second skeleton: load: %s", errname(err));
	*m = (struct xlb_maps){.skel = *skel, .lock_fd = -1};
	config_default(&cfg);
	err = xlb_config_set(m, &cfg);
	if (err)
		return fail(e, "second skeleton: xlb_config_set: %s", errname(err));
	return 0;
}

/* Add nodes nd[order[0]], nd[order[1]], ... to vip in m; ids[i] is nd[i]'s id. */
static int node_members(struct env *e, struct xlb_maps *m, const struct xlb_vip *vip,
			const struct node_def *nd, const int *order, size_t n, __u32 *ids)
{
	struct xlb_addr_key a;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		const struct node_def *d = &nd[order[i]];

		addr_key(d->addr, &a);
		err = xlb_backend_ensure(m, &a, d->port, &ids[order[i]])
			      ?: xlb_member_set(m, vip->id, ids[order[i]], d->weight);
		if (err)
			return fail(e, "backend %s port %u: %s", d->addr, d->port, errname(err));
	}
	err = xlb_table_rebuild(m, vip);
	if (err)
		return fail(e, "xlb_table_rebuild(VIP %u): %s", vip->id, errname(err));
	return 0;
}

static int digest_of(struct env *e, struct xlb_maps *m, const struct xlb_vip *vip, __u64 *d,
		     const char *what)
{
	int err = xlb_table_digest(m, vip, NULL, d, NULL);

	if (err)
		return fail(e, "xlb_table_digest(%s): %s", what, errname(err));
	return 0;
}

/* Expect digest a == b (same) or a != b (!same). */
static int digest_cmp(struct env *e, __u64 a, __u64 b, int same, const char *what)
{
	if ((a == b) != same)
		return fail(e, "%s: digests %016llx and %016llx, expected them %s", what,
			    (unsigned long long)a, (unsigned long long)b,
			    same ? "equal" : "different");
	return 0;
}

static int t_digest_nodes(struct env *e, const void *arg)
{
	static const struct node_def nd4[] = {
		{BE4_1, 80, 1}, {BE4_2, 80, 2}, {BE4_3, 80, 3}, {BE4_4, 8080, 5}, {},
	};
	static const struct node_def nd6[] = {
		{BE6_1, 443, 1},
		{BE6_2, 443, 1},
		{BE6_3, 0, 4},
		{},
	};
	static const int fwd[] = {0, 1, 2, 3}, rev4[] = {3, 2, 1, 0}, rev6[] = {2, 1, 0};
	struct xlb_vip_key k4, k6;
	struct xlb_vip a4, a6, b4, b6;
	struct xlb_addr_key extra;
	struct xlb_backend *all;
	struct xlb_lb *skel = NULL;
	struct xlb_maps mb = {};
	__u32 ia4[4], ia6[3], ib4[4], ib6[3], id_extra, seed;
	__u64 da4, da6, db4, db6, d, d2;
	struct xlb_config cfg;
	int err = -1;

	/* Node A: the test's own maps, VIPs and backends in one order. */
	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, XLB_MAGLEV_DEFAULT, &a4) ||
	    vip_new(e, VIP6, 443, IPPROTO_TCP, 0, 1009, &a6) ||
	    node_members(e, &e->m, &a4, nd4, fwd, 4, ia4) ||
	    node_members(e, &e->m, &a6, nd6, fwd, 3, ia6))
		return -1;
	/*
	 * Node B: the same configuration applied in another order, after a
	 * backend that A never had, so VIP and backend ids differ.
	 */
	if (node_open(e, &skel, &mb))
		goto out;
	addr_key(BE4_5, &extra);
	vip_key(VIP6, 443, IPPROTO_TCP, &k6);
	vip_key(VIP4, 80, IPPROTO_TCP, &k4);
	err = xlb_backend_ensure(&mb, &extra, 9, &id_extra) ?:
	      xlb_vip_create(&mb, &k6, 0, 1009, &b6) ?:
	      xlb_vip_create(&mb, &k4, 0, XLB_MAGLEV_DEFAULT, &b4);
	if (err) {
		err = fail(e, "node B setup: %s", errname(err));
		goto out;
	}
	err = -1;
	if (node_members(e, &mb, &b4, nd4, rev4, 4, ib4) ||
	    node_members(e, &mb, &b6, nd6, rev6, 3, ib6))
		goto out;
	if (a4.id == b4.id || !memcmp(ia4, ib4, sizeof(ia4))) {
		err = fail(e, "node B numbered VIPs or backends like A: the test proves nothing");
		goto out;
	}
	note(e, "A: VIP ids %u %u, backends %u..%u; B: VIP ids %u %u, backends %u..%u", a4.id,
	     a6.id, ia4[0], ia4[3], b4.id, b6.id, ib4[0], ib4[3]);
	if (digest_of(e, &e->m, &a4, &da4, "A v4") || digest_of(e, &e->m, &a6, &da6, "A v6") ||
	    digest_of(e, &mb, &b4, &db4, "B v4") || digest_of(e, &mb, &b6, &db6, "B v6") ||
	    digest_cmp(e, da4, db4, 1, "IPv4 VIP on A and B") ||
	    digest_cmp(e, da6, db6, 1, "IPv6 VIP on A and B") ||
	    digest_cmp(e, da4, da6, 0, "two VIPs of A"))
		goto out;
	/* The backend array passed in gives what the function reads itself. */
	all = calloc(XLB_MAX_BACKENDS, sizeof(*all));
	if (!all) {
		err = fail(e, "out of memory");
		goto out;
	}
	err = xlb_backends_read(&mb, all) ?: xlb_table_digest(&mb, &b4, all, &d, NULL);
	free(all);
	if (err) {
		err = fail(e, "digest with a backend array: %s", errname(err));
		goto out;
	}
	err = -1;
	if (digest_cmp(e, d, db4, 1, "B v4, backends passed in"))
		goto out;

	/* The digest reads the live table: a member change shows once rebuilt. */
	if (xlb_member_del(&mb, b4.id, ib4[2]) || digest_of(e, &mb, &b4, &d, "B v4 -1") ||
	    digest_cmp(e, d, db4, 1, "member removed, table not rebuilt yet"))
		goto out;
	if (xlb_table_rebuild(&mb, &b4) || digest_of(e, &mb, &b4, &d, "B v4 -1 rebuilt") ||
	    digest_cmp(e, d, da4, 0, "B without one member vs A"))
		goto out;
	/* The same member set again: the same digest again. */
	if (xlb_member_set(&mb, b4.id, ib4[2], nd4[2].weight) || xlb_table_rebuild(&mb, &b4) ||
	    digest_of(e, &mb, &b4, &d, "B v4 restored") ||
	    digest_cmp(e, d, da4, 1, "B with the member back vs A"))
		goto out;
	/* One more member, a changed weight, a DOWN backend: each shows. */
	addr_key(BE4_5, &extra);
	if (xlb_backend_ensure(&mb, &extra, 80, &id_extra) ||
	    xlb_member_set(&mb, b4.id, id_extra, 1) || xlb_table_rebuild(&mb, &b4) ||
	    digest_of(e, &mb, &b4, &d, "B v4 +1") ||
	    digest_cmp(e, d, da4, 0, "B with one member more vs A") ||
	    xlb_member_del(&mb, b4.id, id_extra) || xlb_table_rebuild(&mb, &b4))
		goto out;
	if (xlb_member_set(&mb, b4.id, ib4[0], 9) || xlb_table_rebuild(&mb, &b4) ||
	    digest_of(e, &mb, &b4, &d, "B v4 weight") ||
	    digest_cmp(e, d, da4, 0, "B with another weight vs A") ||
	    xlb_member_set(&mb, b4.id, ib4[0], nd4[0].weight) || xlb_table_rebuild(&mb, &b4))
		goto out;
	if (xlb_backend_set_state(&mb, ib4[1], XLB_BE_DOWN) || xlb_table_rebuild(&mb, &b4) ||
	    digest_of(e, &mb, &b4, &d, "B v4 down") ||
	    digest_cmp(e, d, da4, 0, "B with a DOWN backend vs A") ||
	    xlb_backend_set_state(&mb, ib4[1], XLB_BE_ACTIVE) || xlb_table_rebuild(&mb, &b4) ||
	    digest_of(e, &mb, &b4, &d2, "B v4 up") ||
	    digest_cmp(e, d2, da4, 1, "B with the backend up again vs A"))
		goto out;
	/* Another hash seed sends flows to other slots of the same table. */
	if (xlb_config_get(&mb, &cfg)) {
		err = fail(e, "node B: xlb_config_get failed");
		goto out;
	}
	seed = cfg.hash_seed;
	cfg.hash_seed = seed ^ 0x5a5a5a5a;
	if (xlb_config_set(&mb, &cfg) || digest_of(e, &mb, &b4, &d, "B v4 other seed") ||
	    digest_cmp(e, d, da4, 0, "B with another hash seed vs A"))
		goto out;
	cfg.hash_seed = seed;
	if (xlb_config_set(&mb, &cfg) || digest_of(e, &mb, &b4, &d, "B v4 seed back") ||
	    digest_cmp(e, d, da4, 1, "B with A's seed again vs A"))
		goto out;
	err = 0;
out:
	if (mb.skel)
		xlb_maps_close(&mb); /* the skeleton too */
	else
		xlb_lb__destroy(skel);
	return err;
}

/* --- tests: the table space --------------------------------------------------- */

#define BIG_TABLE XLB_MAGLEV_MAX /* 16384 blocks: two fill SLOTS_MAX */

/*
 * A table rebuilt again and again in a space that holds two of it: every
 * write after the second reuses freed slots (after a grace period); the
 * live table is always right and holds its blocks alone.
 */
static int t_space_reuse(struct env *e, const void *arg)
{
	static const struct node_def nd[] = {{BE4_1, 80, 1}, {BE4_2, 80, 2}, {BE4_3, 80, 1}, {}};
	__u32 ids[3], offs[6], want = (BIG_TABLE + XLB_SLOT_BLOCK - 1) / XLB_SLOT_BLOCK;
	struct xlb_vip v;
	int i, j;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, BIG_TABLE, &v))
		return -1;
	for (j = 0; j < 3; j++)
		if (member_add(e, &v, nd[j].addr, nd[j].port, nd[j].weight, &ids[j]))
			return -1;
	for (i = 0; i < 6; i++) {
		if (rebuild(e, &v) || table_expect(e, &v, nd, ids, 0x7, SEED, "rebuilt table"))
			return -1;
		if (vip_of_id(e, v.id, &v))
			return fail(e, "VIP %u gone after rebuild %d", v.id, i);
		offs[i] = v.table_off;
		if (blocks_used(e) != want)
			return fail(e, "rebuild %d: %u blocks used, expected %u (the live table's)",
				    i, blocks_used(e), want);
		if (tables_present(e) != 1U << v.id)
			return fail(e, "rebuild %d: tables at 0x%x, expected 0x%x", i,
				    tables_present(e), 1U << v.id);
	}
	/* Two tables fit: the offsets alternate between the two halves. */
	for (i = 2; i < 6; i++)
		if (offs[i] != offs[i - 2] || offs[i] == offs[i - 1])
			return fail(e, "offsets %u %u %u: freed slots not reused in turn",
				    offs[i - 2], offs[i - 1], offs[i]);
	return 0;
}

/* A full table space: the next VIP is refused whole; a freed table makes room. */
static int t_space_full(struct env *e, const void *arg)
{
	struct xlb_vip a, b, c;
	struct xlb_vip_key k;
	int err;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, 0, BIG_TABLE, &a) ||
	    vip_new(e, VIP4, 81, IPPROTO_TCP, 0, BIG_TABLE, &b))
		return -1;
	vip_key(VIP4, 82, IPPROTO_TCP, &k);
	err = xlb_vip_create(&e->m, &k, 0, 251, &c);
	if (err != -ENOSPC)
		return fail(e, "a VIP in a full table space: %s, expected ENOSPC", errname(err));
	if (hash_count(e->skel->maps.xlb_vips) != 2 ||
	    tables_present(e) != (1U << a.id | 1U << b.id))
		return fail(e, "after the refusal: %d VIPs, tables 0x%x",
			    hash_count(e->skel->maps.xlb_vips), tables_present(e));
	vip_key(VIP4, 81, IPPROTO_TCP, &k);
	err = xlb_vip_delete(&e->m, &k);
	if (err)
		return fail(e, "xlb_vip_delete: %s", errname(err));
	if (vip_new(e, VIP4, 82, IPPROTO_TCP, 0, 251, &c))
		return -1;
	if (tables_present(e) != (1U << a.id | 1U << c.id))
		return fail(e, "tables at 0x%x, expected 0x%x", tables_present(e),
			    1U << a.id | 1U << c.id);
	return 0;
}

/*
 * Pins of a build whose table space was xlb_slots (two 32-bit slots per
 * value) become xlb_chains, slot for slot, in a bpffs of the test's own.
 */
#define OLD_SLOTS 1024

static int upgrade_check(struct env *e, const char *dir)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	char old[256], path[256];
	__u32 *w = MAP_FAILED, i, want;
	__u64 *c = MAP_FAILED, v;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, nfd = -1, err, ret = -1;

	snprintf(old, sizeof(old), "%s/xlb_slots", dir);
	snprintf(path, sizeof(path), "%s/xlb_chains", dir);
	err = xlb_chains_from_slots(path);
	if (err)
		return fail(e, "nothing to convert: %s, expected 0", errname(err));
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_slots", 4, 8, OLD_SLOTS / 2, &opts);
	if (fd < 0)
		return fail(e, "old table space: %s", errname(-errno));
	w = mmap(NULL, OLD_SLOTS * 4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED || bpf_obj_pin(fd, old)) {
		fail(e, "old table space: %s", errname(-errno));
		goto out;
	}
	for (i = 0; i < OLD_SLOTS; i++)
		w[i] = i % 7 ? i * 97 % XLB_MAX_BACKENDS : XLB_NO_BACKEND;
	err = xlb_chains_from_slots(path);
	if (err) {
		fail(e, "xlb_chains_from_slots: %s", errname(err));
		goto out;
	}
	if (!access(old, F_OK)) {
		fail(e, "%s still pinned after the conversion", old);
		goto out;
	}
	nfd = bpf_obj_get(path);
	if (nfd < 0 || bpf_obj_get_info_by_fd(nfd, &info, &len)) {
		fail(e, "%s: %s", path, errname(-errno));
		goto out;
	}
	if (info.max_entries != OLD_SLOTS || info.value_size != 8 ||
	    !(info.map_flags & BPF_F_MMAPABLE)) {
		fail(e,
		     "xlb_chains: %u entries of %u bytes, flags 0x%x; expected %u of 8, mmapable",
		     info.max_entries, info.value_size, info.map_flags, OLD_SLOTS);
		goto out;
	}
	c = mmap(NULL, OLD_SLOTS * 8, PROT_READ, MAP_SHARED, nfd, 0);
	if (c == MAP_FAILED) {
		fail(e, "mmap xlb_chains: %s", errname(-errno));
		goto out;
	}
	for (i = 0; i < OLD_SLOTS; i++) {
		v = c[i];
		want = w[i] == XLB_NO_BACKEND ? XLB_SLOT_NONE : w[i];
		if (xlb_slot_id(v, 0) != want || xlb_slot_id(v, 1) != XLB_SLOT_NONE ||
		    xlb_slot_id(v, 2) != XLB_SLOT_NONE || v >> 63) {
			fail(e, "slot %u: chain 0x%llx, expected primary %u, no secondaries", i,
			     (unsigned long long)v, want);
			goto out;
		}
	}
	/* Interrupted after the new pin: the old one goes, the new one stays. */
	if (bpf_obj_pin(fd, old) || (err = xlb_chains_from_slots(path)) || !access(old, F_OK) ||
	    access(path, F_OK)) {
		fail(e, "conversion done before: %s, old pin %s, new pin %s", errname(err),
		     access(old, F_OK) ? "gone" : "left", access(path, F_OK) ? "gone" : "kept");
		goto out;
	}
	ret = 0;
out:
	if (c != MAP_FAILED)
		munmap(c, OLD_SLOTS * 8);
	if (w != MAP_FAILED)
		munmap(w, OLD_SLOTS * 4);
	if (nfd >= 0)
		close(nfd);
	close(fd);
	unlink(old);
	unlink(path);
	return ret;
}

static int t_space_upgrade(struct env *e, const void *arg)
{
	char dir[] = "/tmp/xlb-test-bpffs.XXXXXX";
	int ret;

	if (!mkdtemp(dir))
		return fail(e, "mkdtemp: %s", errname(-errno));
	if (mount("bpf", dir, "bpf", 0, NULL)) {
		ret = fail(e, "mount bpffs on %s: %s", dir, errname(-errno));
		rmdir(dir);
		return ret;
	}
	ret = upgrade_check(e, dir);
	umount(dir);
	rmdir(dir);
	return ret;
}

/*
 * A VIP with XLB_VIP_F_CHAINS keeps each slot's earlier owners while they
 * are members (user/lib/dataplane/chains.c); DOWN and drained members
 * stay in chains, removed ones leave; a size change starts over; a VIP
 * without the flag has no secondaries; and the fast path still sends each
 * flow to the slot's primary.
 */
static int chains_read(struct env *e, const struct xlb_vip *v, __u32 size, __u64 *c)
{
	int err = xlb_table_read_chains(&e->m, v->id, c, size);

	if (err)
		return fail(e, "xlb_table_read_chains(VIP %u): %s", v->id, errname(err));
	return 0;
}

static int t_table_chains(struct env *e, const void *arg)
{
	static const char *const addr[] = {BE4_1, BE4_2, BE4_3, BE4_4, BE4_5};
	static __u64 before[251], after[251], plain[251], big[509];
	struct xlb_vip v, w;
	__u32 ids[5], idw[5], i, p0, moved = 0;
	int j;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, XLB_VIP_F_CHAINS, 251, &v) ||
	    vip_new(e, VIP4, 81, IPPROTO_TCP, 0, 251, &w))
		return -1;
	for (j = 0; j < 3; j++)
		if (member_add(e, &v, addr[j], 80, 1, &ids[j]) ||
		    member_add(e, &w, addr[j], 80, 1, &idw[j]))
			return -1;
	if (rebuild(e, &v) || rebuild(e, &w) || chains_read(e, &v, 251, before))
		return -1;
	for (i = 0; i < 251; i++)
		if (xlb_slot_id(before[i], 1) != XLB_SLOT_NONE)
			return fail(e, "first table, slot %u: chain 0x%llx has a secondary", i,
				    (unsigned long long)before[i]);
	if (member_add(e, &v, addr[3], 80, 1, &ids[3]) ||
	    member_add(e, &w, addr[3], 80, 1, &idw[3]) || rebuild(e, &v) || rebuild(e, &w) ||
	    chains_read(e, &v, 251, after) || chains_read(e, &w, 251, plain))
		return -1;
	for (i = 0; i < 251; i++) {
		p0 = xlb_slot_id(before[i], 0);
		if (xlb_slot_id(after[i], 0) == p0 ? after[i] != before[i]
						   : xlb_slot_id(after[i], 1) != p0)
			return fail(e, "slot %u: 0x%llx after 0x%llx, expected the old owner kept",
				    i, (unsigned long long)after[i], (unsigned long long)before[i]);
		moved += xlb_slot_id(after[i], 0) != p0;
		if (xlb_slot_id(plain[i], 1) != XLB_SLOT_NONE)
			return fail(e, "VIP without chains, slot %u: chain 0x%llx", i,
				    (unsigned long long)plain[i]);
	}
	if (!moved)
		return fail(e, "adding a fourth member moved no slot");
	/* DOWN and drained (weight 0) members stay in chains; a removed one leaves. */
	if (set_state(e, ids[0], XLB_BE_DOWN) || member_add(e, &v, addr[1], 80, 0, &ids[1]) ||
	    rebuild(e, &v) || chains_read(e, &v, 251, before))
		return -1;
	for (i = 0; i < 251; i++)
		if (xlb_slot_id(after[i], 0) != xlb_slot_id(before[i], 0) &&
		    xlb_slot_id(before[i], 1) != xlb_slot_id(after[i], 0))
			return fail(e, "slot %u after DOWN/drain: 0x%llx, expected owner %u kept",
				    i, (unsigned long long)before[i], xlb_slot_id(after[i], 0));
	if (xlb_member_del(&e->m, v.id, ids[0]) || rebuild(e, &v) || chains_read(e, &v, 251, after))
		return fail(e, "member delete and rebuild failed");
	for (i = 0; i < 251; i++)
		for (j = 0; j < XLB_SLOT_IDS; j++)
			if (xlb_slot_id(after[i], j) == ids[0])
				return fail(e, "slot %u: removed backend %u still in 0x%llx", i,
					    ids[0], (unsigned long long)after[i]);
	/* Another size: no history to keep. */
	v.table_size = 509;
	if (rebuild(e, &v) || chains_read(e, &v, 509, big))
		return -1;
	for (i = 0; i < 509; i++)
		if (xlb_slot_id(big[i], 1) != XLB_SLOT_NONE)
			return fail(e, "resized table, slot %u: chain 0x%llx has a secondary", i,
				    (unsigned long long)big[i]);
	note(e, "%u of 251 slots moved to the fourth member", moved);
	return 0;
}

/*
 * Divergent histories show: VIPs that reached the same members by
 * different steps have one table_digest and different chain_digests; the
 * same steps give the same chain_digest.
 */
static int digests(struct env *e, struct xlb_vip *v, __u64 *d, __u64 *c)
{
	int i, err;

	for (i = 0; i < 2; i++) {
		err = xlb_table_digest(&e->m, &v[i], NULL, &d[i], &c[i]);
		if (err)
			return fail(e, "xlb_table_digest(VIP %u): %s", v[i].id, errname(err));
	}
	return 0;
}

static int t_chain_digest(struct env *e, const void *arg)
{
	static const char *const addr[] = {BE4_1, BE4_2, BE4_3, BE4_4};
	struct xlb_vip v[2];
	__u64 d[2], c[2];
	__u32 id;
	int i, j;

	for (i = 0; i < 2; i++) {
		if (vip_new(e, VIP4, 80 + i, IPPROTO_TCP, XLB_VIP_F_CHAINS, 251, &v[i]))
			return -1;
		for (j = 0; j < 2; j++)
			if (member_add(e, &v[i], addr[j], 80, 1, &id))
				return -1;
		if (rebuild(e, &v[i]))
			return -1;
	}
	if (digests(e, v, d, c))
		return -1;
	if (d[0] != d[1] || c[0] != c[1])
		return fail(e, "same steps: digests %016llx/%016llx, chains %016llx/%016llx",
			    (unsigned long long)d[0], (unsigned long long)d[1],
			    (unsigned long long)c[0], (unsigned long long)c[1]);
	/* v[0]: a third member, then a fourth; v[1]: both at once. */
	if (member_add(e, &v[0], addr[2], 80, 1, &id) || rebuild(e, &v[0]))
		return -1;
	for (i = 0; i < 2; i++)
		if (member_add(e, &v[i], addr[2], 80, 1, &id) ||
		    member_add(e, &v[i], addr[3], 80, 1, &id) || rebuild(e, &v[i]))
			return -1;
	if (digests(e, v, d, c))
		return -1;
	if (d[0] != d[1] || c[0] == c[1])
		return fail(e,
			    "A-B-C against A-C: table digests %016llx %016llx (expected equal), "
			    "chain digests %016llx %016llx (expected different)",
			    (unsigned long long)d[0], (unsigned long long)d[1],
			    (unsigned long long)c[0], (unsigned long long)c[1]);
	return 0;
}

/* A VIP without a set size: its table follows its member count, health aside. */
static int t_space_auto(struct env *e, const void *arg)
{
	static const char *const addr[] = {BE4_1, BE4_2, BE4_3};
	struct xlb_vip v;
	__u32 ids[3];
	int j;

	if (vip_new(e, VIP4, 80, IPPROTO_TCP, XLB_VIP_F_SIZE_AUTO, xlb_maglev_size_auto(0), &v))
		return -1;
	for (j = 0; j < 3; j++)
		if (member_add(e, &v, addr[j], 80, 1, &ids[j]) || rebuild(e, &v))
			return -1;
	if (table_slots(e, v.id) != 509)
		return fail(e, "3 members: %u slots, expected 509", table_slots(e, v.id));
	if (xlb_backend_set_state(&e->m, ids[0], XLB_BE_DOWN) || rebuild(e, &v))
		return fail(e, "cannot take a member down");
	if (table_slots(e, v.id) != 509)
		return fail(e, "a member down: %u slots, expected 509 still", table_slots(e, v.id));
	return 0;
}

/* --- tests: the pick contract --------------------------------------------------- */

struct pick_case {
	const char *vip;
	__u16 port; /* 0: the VIP takes every port */
	__u8 proto;
	__u32 flags; /* XLB_VIP_F_* */
	__u32 size;
	struct node_def nd[NODES_MAX];
	int down, drain; /* backends marked DOWN / DRAINING, not rebuilt; -1: none */
	int pool;	 /* clients drawn from this many addresses; 0: all new */
	int grow;	 /* built once before the last node joins: chains hold earlier owners */
};

struct pick_tally {
	int via[XLB_PICK_LEAST_CONN + 1];
	int hops; /* GUE packets that carried hops */
};

/*
 * One packet of flow s: xlb_pick_flow first, then the fast path, which
 * must agree; then xlb_pick_flow must report the flow the packet left.
 */
static int pick_one(struct env *e, const struct xlb_vip *vip, const struct pkt_spec *s,
		    struct pick_tally *t, struct xlb_pick_result *pr, __u32 *be)
{
	struct xlb_pick_result after;
	struct xlb_flow_key k;
	struct sent r;
	char f[128], o[64];
	__u32 hash;
	int err;

	flow_key_of(s, &k);
	err = xlb_pick_flow(&e->m, vip, &k, pr);
	if (err)
		return fail(e, "%s: xlb_pick_flow: %s", flow_str(s, f, sizeof(f)), errname(err));
	hash = xlb_flow_hash(&k, SEED, vip->flags & XLB_VIP_F_HASH_SRC);
	if (pr->hash != hash)
		return fail(e, "%s: xlb_pick_flow: hash 0x%08x, expected 0x%08x",
			    flow_str(s, f, sizeof(f)), pr->hash, hash);
	if (pr->via == XLB_PICK_TABLE && pr->slot != hash % vip->table_size)
		return fail(e, "%s: xlb_pick_flow: slot %u, expected hash %% size = %u",
			    flow_str(s, f, sizeof(f)), pr->slot, hash % vip->table_size);
	if (send_pkt(e, s, &r))
		return -1;
	t->via[pr->via]++;
	*be = r.be_id;
	if (pr->via == XLB_PICK_NONE) {
		if (r.verdict != XDP_DROP)
			return fail(e, "%s: xlb_pick_flow: no backend; fast path: %s",
				    flow_str(s, f, sizeof(f)), sent_str(&r, o, sizeof(o)));
		return 0;
	}
	if (r.verdict != XDP_TX || r.be_id != pr->backend_id)
		return fail(e, "%s: xlb_pick_flow: backend %u via %s (slot %u); fast path: %s",
			    flow_str(s, f, sizeof(f)), pr->backend_id, via_name[pr->via], pr->slot,
			    sent_str(&r, o, sizeof(o)));
	/* A GUE VIP: the hops the packet carries are those xlb pick and xlb flows name. */
	if (vip->flags & XLB_VIP_F_GUE) {
		__u32 ids[XLB_GUE_HOPS], n = xlb_pick_hops(&e->m, pr->chain, ids), i;
		struct xlb_backend hb;

		if (!r.gue || r.nhops != n)
			return fail(e, "%s: %s with %u hops; xlb_pick_hops: %u (chain %016llx)",
				    flow_str(s, f, sizeof(f)), r.gue ? "GUE" : "not GUE", r.nhops,
				    n, (unsigned long long)pr->chain);
		for (i = 0; i < n; i++)
			if (backend_raw(e, ids[i], &hb) ||
			    memcmp(r.hops[i], hb.addr, hb.family == XLB_AF_INET ? 4 : 16))
				return fail(e, "%s: hop %u is not backend %u's address",
					    flow_str(s, f, sizeof(f)), i, ids[i]);
		t->hops += n > 0;
	}
	err = xlb_pick_flow(&e->m, vip, &k, &after);
	if (err || after.via != XLB_PICK_FLOW || after.backend_id != r.be_id)
		return fail(e,
			    "%s: after the packet, xlb_pick_flow: %s, backend %u via %s; "
			    "expected backend %u via FLOW",
			    flow_str(s, f, sizeof(f)), errname(err), after.backend_id,
			    via_name[after.via], r.be_id);
	return 0;
}

/*
 * Whether the flow of s left the flow cache, and rightly: 0 if a way of
 * any CPU holds it (or xlb_flows does); 1 if none does and its set on CPU
 * cpu (the one the test runs on) is full of other flows, which a new flow
 * of the set evicts (bpf/lib/flowcache.h); -1, failed, if a way was free.
 */
static int flow_evicted(struct env *e, const struct pkt_spec *s, int cpu)
{
	struct xlb_flow_key k;
	struct xlb_fc_set4 s4;
	struct xlb_fc_set6 s6;
	struct xlb_flow f;
	__u32 idx, h5, i, ways;
	const __u8 *proto;
	char b[128];
	int err, fd;

	flow_key_of(s, &k);
	err = xlb_flow_lookup(&e->m, &k, &f);
	if (!err)
		return 0;
	if (err != -ENOENT)
		return fail(e, "%s: xlb_flow_lookup: %s", flow_str(s, b, sizeof(b)), errname(err));
	h5 = xlb_flow_hash(&k, SEED, 0);
	if (k.family == XLB_AF_INET) {
		idx = xlb_fc_index(cpu, e->skel->rodata->xlb_fc4_bits, h5);
		fd = map_fd(e->skel->maps.xlb_fc4);
		proto = s4.proto;
		ways = XLB_FC4_WAYS;
	} else {
		idx = xlb_fc_index(cpu, e->skel->rodata->xlb_fc6_bits, h5);
		fd = map_fd(e->skel->maps.xlb_fc6);
		proto = s6.proto;
		ways = XLB_FC6_WAYS;
	}
	if (bpf_map_lookup_elem(fd, &idx, k.family == XLB_AF_INET ? (void *)&s4 : (void *)&s6))
		return fail(e, "flow cache set %u: lookup failed: %s", idx, strerror(errno));
	for (i = 0; i < ways; i++)
		if (!proto[i])
			return fail(e, "%s: gone from the flow cache, its set has a free way %u",
				    flow_str(s, b, sizeof(b)), i);
	return 1;
}

static int t_pick(struct env *e, const void *arg)
{
	const struct pick_case *pc = arg;
	size_t n = nodes_count(pc->nd);
	struct flow_set *fs = malloc(sizeof(*fs)), *fs2 = malloc(sizeof(*fs2));
	struct pick_tally t1 = {}, t2 = {}, t3 = {};
	struct xlb_pick_result pr;
	struct xlb_backend b;
	struct xlb_vip v;
	__u64 reprobe0, repick0;
	__u32 ids[NODES_MAX], be;
	cpu_set_t saved, one;
	char f[128];
	int i, j, err = 0, downs = 0, evicted = 0, cpu = -1, gone;
	size_t k;

	/*
	 * Every packet on one CPU: the flow cache is per CPU, and a flow whose
	 * packets moved to another CPU would be picked there anew, while
	 * xlb_pick_flow finds it in its first CPU's way.
	 */
	if (sched_getaffinity(0, sizeof(saved), &saved)) {
		err = fail(e, "sched_getaffinity: %s", strerror(errno));
		free(fs2);
		free(fs);
		return err;
	}
	for (i = 0; i < CPU_SETSIZE && cpu < 0; i++)
		if (CPU_ISSET(i, &saved))
			cpu = i;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (cpu < 0 || sched_setaffinity(0, sizeof(one), &one)) {
		err = fail(e, "cannot pin the test to CPU %d", cpu);
		goto out;
	}
	if (!fs || !fs2) {
		err = fail(e, "out of memory");
		goto out;
	}
	err = vip_new(e, pc->vip, pc->port, pc->proto, pc->flags, pc->size, &v);
	for (k = 0; !err && k < n; k++) {
		if (pc->grow && k == n - 1)
			err = rebuild(e, &v);
		if (!err)
			err = member_add(e, &v, pc->nd[k].addr, pc->nd[k].port, pc->nd[k].weight,
					 &ids[k]);
	}
	err = err ?: rebuild(e, &v);
	if (err)
		goto out;

	/* 1. Every backend ACTIVE: new flows take their table slot. */
	flows_make(e, fs, PICK_FLOWS, pc->vip, pc->port, pc->proto, pc->pool);
	for (i = 0; i < fs->n; i++) {
		err = pick_one(e, &v, &fs->s[i], &t1, &pr, &fs->be[i]);
		if (err)
			goto out;
		if (pr.via != XLB_PICK_TABLE) {
			err = fail(e, "new flow %s, every backend ACTIVE: via %s, expected TABLE",
				   flow_str(&fs->s[i], f, sizeof(f)), via_name[pr.via]);
			goto out;
		}
		/* Hashing on the source: one backend per client, whatever the ports. */
		for (j = 0; pc->flags & XLB_VIP_F_HASH_SRC && j < i; j++) {
			if (strcmp(fs->src[j], fs->src[i]) || fs->be[j] == fs->be[i])
				continue;
			err = fail(e, "hash on source: client %s went to backends %u and %u",
				   fs->src[i], fs->be[j], fs->be[i]);
			goto out;
		}
	}

	/* 2. Marked DOWN / DRAINING, table not rebuilt: the re-probe steps over. */
	if (pc->down >= 0)
		err = set_state(e, ids[pc->down], XLB_BE_DOWN);
	if (!err && pc->drain >= 0)
		err = set_state(e, ids[pc->drain], XLB_BE_DRAINING);
	if (err)
		goto out;
	reprobe0 = reason_packets(e, XLB_R_REPROBE);
	flows_make(e, fs2, PICK_FLOWS, pc->vip, pc->port, pc->proto, pc->pool);
	for (i = 0; i < fs2->n; i++) {
		err = pick_one(e, &v, &fs2->s[i], &t2, &pr, &be);
		if (err)
			goto out;
		if (pr.via == XLB_PICK_FLOW ||
		    (pr.via != XLB_PICK_NONE &&
		     (backend_raw(e, be, &b) || b.state != XLB_BE_ACTIVE))) {
			err = fail(e, "new flow %s: via %s to backend %u (%s)",
				   flow_str(&fs2->s[i], f, sizeof(f)), via_name[pr.via], be,
				   state_name(b.state));
			goto out;
		}
	}
	if (!t2.via[XLB_PICK_REPROBE]) {
		err = fail(e,
			   "no new flow needed a re-probe (TABLE %d, NONE %d): the case "
			   "tests nothing",
			   t2.via[XLB_PICK_TABLE], t2.via[XLB_PICK_NONE]);
		goto out;
	}
	if (reason_packets(e, XLB_R_REPROBE) - reprobe0 != (__u64)t2.via[XLB_PICK_REPROBE]) {
		err = fail(e, "fast path counted %llu re-probes, xlb_pick_flow reported %d",
			   (unsigned long long)(reason_packets(e, XLB_R_REPROBE) - reprobe0),
			   t2.via[XLB_PICK_REPROBE]);
		goto out;
	}

	/*
	 * 3. The first flows again: DOWN ones re-picked, DRAINING ones kept;
	 * those the second flows evicted from a full set are new flows again.
	 */
	repick0 = reason_packets(e, XLB_R_FLOW_REPICK);
	for (i = 0; i < fs->n; i++) {
		int down = pc->down >= 0 && fs->be[i] == ids[pc->down];

		fs->s[i].tcp_flags = TCP_ACK;
		gone = flow_evicted(e, &fs->s[i], cpu);
		if (gone < 0) {
			err = -1;
			goto out;
		}
		err = pick_one(e, &v, &fs->s[i], &t3, &pr, &be);
		if (err)
			goto out;
		if (gone) {
			evicted++;
			if (pr.via == XLB_PICK_FLOW) {
				err = fail(e, "flow %s evicted from the cache: via FLOW",
					   flow_str(&fs->s[i], f, sizeof(f)));
				goto out;
			}
			continue;
		}
		downs += down;
		if (down ? pr.via == XLB_PICK_FLOW || be == fs->be[i]
			 : pr.via != XLB_PICK_FLOW || be != fs->be[i]) {
			err = fail(e, "flow %s on backend %u (%s): via %s to %u, expected %s",
				   flow_str(&fs->s[i], f, sizeof(f)), fs->be[i],
				   down ? "DOWN" : "not DOWN", via_name[pr.via], be,
				   down ? "a re-pick" : "its flow");
			goto out;
		}
	}
	/* A set of 2 * PICK_FLOWS flows overflows at times; more is no chance. */
	if (evicted > fs->n / 50) {
		err = fail(e, "%d of %d flows evicted from the cache", evicted, fs->n);
		goto out;
	}
	if (reason_packets(e, XLB_R_FLOW_REPICK) - repick0 != (__u64)downs) {
		err = fail(e, "fast path re-picked %llu flows, %d were on the DOWN backend",
			   (unsigned long long)(reason_packets(e, XLB_R_FLOW_REPICK) - repick0),
			   downs);
		goto out;
	}
	if (pc->flags & XLB_VIP_F_GUE && !(t1.hops && t3.hops)) {
		err = fail(e, "GUE packets with hops: %d new, %d existing: the case tests nothing",
			   t1.hops, t3.hops);
		goto out;
	}
	note(e,
	     "new: TABLE %d; after DOWN/DRAINING: TABLE %d REPROBE %d NONE %d; "
	     "existing: FLOW %d, re-picked %d, evicted %d; GUE with hops %d",
	     t1.via[XLB_PICK_TABLE], t2.via[XLB_PICK_TABLE], t2.via[XLB_PICK_REPROBE],
	     t2.via[XLB_PICK_NONE], t3.via[XLB_PICK_FLOW], downs, evicted,
	     t1.hops + t2.hops + t3.hops);
out:
	sched_setaffinity(0, sizeof(saved), &saved);
	free(fs2);
	free(fs);
	return err;
}

static const struct pick_case pick_v4 = {
	.vip = VIP4,
	.port = 80,
	.proto = IPPROTO_TCP,
	.size = 251,
	.nd = {{BE4_1, 80, 1}, {BE4_2, 80, 1}, {BE4_3, 80, 2}, {BE4_4, 80, 3}},
	.down = 2,
	.drain = 0,
};

static const struct pick_case pick_v6 = {
	.vip = VIP6,
	.port = 443,
	.proto = IPPROTO_TCP,
	.size = 1009,
	.nd = {{BE6_1, 443, 1}, {BE6_2, 443, 1}, {BE6_3, 443, 1}},
	.down = 1,
	.drain = -1,
};

static const struct pick_case pick_v4_src = {
	.vip = VIP4,
	.port = 80,
	.proto = IPPROTO_TCP,
	.flags = XLB_VIP_F_HASH_SRC,
	.size = XLB_MAGLEV_DEFAULT,
	.nd = {{BE4_1, 0, 1}, {BE4_2, 0, 1}, {BE4_3, 0, 1}, {BE4_4, 0, 1}},
	.down = 3,
	.drain = 1,
	.pool = 60,
};

static const struct pick_case pick_v6_src = {
	.vip = VIP6,
	.port = 53,
	.proto = IPPROTO_UDP,
	.flags = XLB_VIP_F_HASH_SRC,
	.size = 251,
	.nd = {{BE6_1, 53, 2}, {BE6_2, 53, 1}, {BE6_3, 53, 1}},
	.down = 0,
	.drain = 2,
	.pool = 60,
};

/* A GUE VIP whose table changed once: packets carry the slots' earlier owners. */
static const struct pick_case pick_v4_gue = {
	.vip = VIP4,
	.port = 80,
	.proto = IPPROTO_TCP,
	.flags = XLB_VIP_F_GUE | XLB_VIP_F_CHAINS,
	.size = 1009,
	.nd = {{BE4_1, 80, 1}, {BE4_2, 80, 1}, {BE4_3, 80, 1}, {BE4_4, 80, 1}},
	.down = 1,
	.drain = -1,
	.grow = 1,
};

static const struct pick_case pick_v4_port0 = {
	.vip = VIP4,
	.port = 0,
	.proto = IPPROTO_TCP,
	.size = 1009,
	.nd = {{BE4_1, 0, 1}, {BE4_2, 0, 1}, {BE6_1, 0, 1}}, /* one 4in6 */
	.down = 1,
	.drain = -1,
};

static const struct pick_case pick_v6_port0 = {
	.vip = VIP6,
	.port = 0,
	.proto = IPPROTO_UDP,
	.size = 251,
	.nd = {{BE6_1, 0, 1}, {BE6_2, 0, 3}, {BE6_3, 0, 1}},
	.down = 1,
	.drain = 0,
};

/*
 * Flows made through a port-0 VIP, then an exact-port VIP on the same
 * address: its packets match the new VIP, whose id their flows do not
 * name, so both the fast path and xlb_pick_flow pick again.
 */
static int t_pick_other_vip(struct env *e, const void *arg)
{
	struct flow_set *fs = malloc(sizeof(*fs));
	struct pick_tally t = {};
	struct xlb_pick_result pr;
	struct xlb_vip any, exact;
	__u32 a, b, c, d, be;
	__u64 repick0;
	char f[128];
	int i, err;

	if (!fs)
		return fail(e, "out of memory");
	err = vip_new(e, VIP4, 0, IPPROTO_TCP, 0, 251, &any) ?:
	      member_add(e, &any, BE4_1, 0, 1, &a) ?: member_add(e, &any, BE4_2, 0, 1, &b) ?:
	      rebuild(e, &any);
	if (err)
		goto out;
	flows_make(e, fs, 100, VIP4, 80, IPPROTO_TCP, 0);
	for (i = 0; !err && i < fs->n; i++)
		err = pick_one(e, &any, &fs->s[i], &t, &pr, &be);
	err = err ?: vip_new(e, VIP4, 80, IPPROTO_TCP, 0, 1009, &exact) ?:
	      member_add(e, &exact, BE4_3, 0, 1, &c) ?: member_add(e, &exact, BE4_4, 0, 1, &d) ?:
	      rebuild(e, &exact);
	if (err)
		goto out;
	repick0 = reason_packets(e, XLB_R_FLOW_REPICK);
	for (i = 0; i < fs->n; i++) {
		fs->s[i].tcp_flags = TCP_ACK;
		err = pick_one(e, &exact, &fs->s[i], &t, &pr, &be);
		if (err)
			goto out;
		if (pr.via != XLB_PICK_TABLE || (be != c && be != d)) {
			err = fail(e,
				   "%s, flow of VIP %u, now VIP %u's: via %s to backend %u, "
				   "expected TABLE to %u or %u",
				   flow_str(&fs->s[i], f, sizeof(f)), any.id, exact.id,
				   via_name[pr.via], be, c, d);
			goto out;
		}
	}
	if (reason_packets(e, XLB_R_FLOW_REPICK) - repick0 != (__u64)fs->n)
		err = fail(e, "fast path re-picked %llu flows, expected %d",
			   (unsigned long long)(reason_packets(e, XLB_R_FLOW_REPICK) - repick0),
			   fs->n);
out:
	free(fs);
	return err;
}

/* --- tests: VIPs for some clients only ----------------------------------------------- */

/* The key of addr:port/tcp for the clients of prefix/plen (NULL: every client). */
static void client_key(const char *addr, __u16 port, const char *prefix, __u8 plen,
		       struct xlb_vip_key *k)
{
	vip_key(addr, port, IPPROTO_TCP, k);
	if (prefix) {
		k->client_family = pkt_addr(prefix, k->client);
		k->client_plen = plen;
	}
}

/* A VIP of addr:port/tcp for the clients of prefix/plen, with one backend. */
static int client_vip(struct env *e, const char *addr, __u16 port, const char *prefix, __u8 plen,
		      const char *be_addr, struct xlb_vip *vip, __u32 *be)
{
	struct xlb_vip_key k;
	int err;

	client_key(addr, port, prefix, plen, &k);
	err = xlb_vip_create(&e->m, &k, 0, 251, vip);
	if (err)
		return fail(e, "xlb_vip_create(%s port %u, clients %s/%u): %s", addr, port,
			    prefix ? prefix : "any", plen, errname(err));
	return member_add(e, vip, be_addr, 0, 1, be) ?: rebuild(e, vip);
}

static int client_vip_del(struct env *e, const char *addr, __u16 port, const char *prefix,
			  __u8 plen)
{
	struct xlb_vip_key k;
	int err;

	client_key(addr, port, prefix, plen, &k);
	err = xlb_vip_delete(&e->m, &k);
	if (err)
		return fail(e, "xlb_vip_delete(%s port %u, clients %s/%u): %s", addr, port,
			    prefix ? prefix : "any", plen, errname(err));
	return 0;
}

/*
 * A SYN from client to dst:80 gets verdict, sent to backend be when
 * XDP_TX; an XDP_PASS is counted under reason.
 */
static int client_expect(struct env *e, const char *client, const char *dst, __u32 verdict,
			 __u32 be, enum xlb_reason reason)
{
	struct pkt_spec s = {.src = client,
			     .dst = dst,
			     .proto = IPPROTO_TCP,
			     .sport = 40000 + (e->sport_seq++ % 20000),
			     .dport = 80,
			     .tcp_flags = TCP_SYN};
	__u64 r0 = reason_packets(e, reason);
	char got[64];
	struct sent r;

	if (send_pkt(e, &s, &r))
		return -1;
	if (r.verdict != verdict || (verdict == XDP_TX && r.be_id != be))
		return fail(e, "client %s -> %s:80: %s, expected %s%s%u", client, dst,
			    sent_str(&r, got, sizeof(got)), bpftest_verdict_name(verdict),
			    verdict == XDP_TX ? " to backend " : ", reason ",
			    verdict == XDP_TX ? be : (__u32)reason);
	if (verdict == XDP_PASS && reason_packets(e, reason) - r0 != 1)
		return fail(e, "client %s -> %s:80 passed, but not counted under reason %u", client,
			    dst, reason);
	return 0;
}

static int count_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	(*(int *)arg)++;
	return v->flags & XLB_VIP_F_CLIENTS ? -EBADMSG : 0;
}

static int t_clients(struct env *e, const void *arg)
{
	struct xlb_vip a, b, any, v6, seen;
	struct xlb_vip_key k;
	__u32 ba, bb, bany, b6;
	int n = 0, err;

	/* Two VIPs on one address, port and protocol, for two client prefixes. */
	err = client_vip(e, VIP4, 80, "198.18.1.0", 24, BE4_1, &a, &ba) ?:
	      client_vip(e, VIP4, 80, "198.18.2.0", 24, BE4_2, &b, &bb) ?:
	      client_expect(e, "198.18.1.5", VIP4, XDP_TX, ba, 0) ?:
	      client_expect(e, "198.18.2.7", VIP4, XDP_TX, bb, 0) ?:
	      client_expect(e, "198.18.3.1", VIP4, XDP_PASS, 0, XLB_R_PASS_CLIENT) ?:
	      client_expect(e, "198.18.1.5", VIP4_OTHER, XDP_PASS, 0, XLB_R_PASS_NOT_VIP);
	if (err)
		return err;
	/* The accessors show the two VIPs, not the address's own entry. */
	err = xlb_vip_foreach(&e->m, count_vip, &n);
	if (err || n != 2)
		return fail(e, "xlb_vip_foreach: %s, %d VIPs, expected 2 without the flag",
			    errname(err), n);
	vip_key(VIP4, 80, IPPROTO_TCP, &k);
	err = xlb_vip_get(&e->m, &k, &seen);
	if (err != -ENOENT)
		return fail(e, "xlb_vip_get(%s:80, every client): %s, expected -ENOENT", VIP4,
			    errname(err));
	if (hash_count(e->skel->maps.xlb_vip_clients) != 2 ||
	    hash_count(e->skel->maps.xlb_filtered_vips) != 2 ||
	    hash_count(e->skel->maps.xlb_vips) != 1)
		return fail(e,
			    "xlb_vip_clients holds %d entries, xlb_filtered_vips %d, xlb_vips %d, "
			    "expected 2, 2 and the address's own",
			    hash_count(e->skel->maps.xlb_vip_clients),
			    hash_count(e->skel->maps.xlb_filtered_vips),
			    hash_count(e->skel->maps.xlb_vips));

	/* A VIP for every client takes the rest; the longest prefix wins. */
	err = client_vip(e, VIP4, 80, NULL, 0, BE4_3, &any, &bany) ?:
	      client_expect(e, "198.18.3.1", VIP4, XDP_TX, bany, 0) ?:
	      client_expect(e, "198.18.1.5", VIP4, XDP_TX, ba, 0) ?:
	      client_vip_del(e, VIP4, 80, "198.18.1.0", 24) ?:
	      client_expect(e, "198.18.1.6", VIP4, XDP_TX, bany, 0) ?:
	      client_vip_del(e, VIP4, 80, NULL, 0) ?:
	      client_expect(e, "198.18.1.6", VIP4, XDP_PASS, 0, XLB_R_PASS_CLIENT) ?:
	      client_expect(e, "198.18.2.8", VIP4, XDP_TX, bb, 0) ?:
	      client_vip_del(e, VIP4, 80, "198.18.2.0", 24) ?:
	      client_expect(e, "198.18.2.8", VIP4, XDP_PASS, 0, XLB_R_PASS_NOT_VIP);
	if (err)
		return err;
	if (hash_count(e->skel->maps.xlb_vips) || hash_count(e->skel->maps.xlb_vip_clients) ||
	    hash_count(e->skel->maps.xlb_filtered_vips))
		return fail(e,
			    "all deleted: xlb_vips holds %d, xlb_vip_clients %d, "
			    "xlb_filtered_vips %d, expected 0",
			    hash_count(e->skel->maps.xlb_vips),
			    hash_count(e->skel->maps.xlb_vip_clients),
			    hash_count(e->skel->maps.xlb_filtered_vips));

	/* IPv6, and a filter added to an address already balanced for all. */
	err = client_vip(e, VIP6, 80, NULL, 0, BE6_2, &any, &bany) ?:
	      client_vip(e, VIP6, 80, "fd00:78:6c62:1::", 64, BE6_1, &v6, &b6) ?:
	      client_expect(e, "fd00:78:6c62:1::5", VIP6, XDP_TX, b6, 0) ?:
	      client_expect(e, "fd00:78:6c62:2::5", VIP6, XDP_TX, bany, 0) ?:
	      client_vip_del(e, VIP6, 80, NULL, 0) ?:
	      client_expect(e, "fd00:78:6c62:2::5", VIP6, XDP_PASS, 0, XLB_R_PASS_CLIENT) ?:
	      client_expect(e, "fd00:78:6c62:1::6", VIP6, XDP_TX, b6, 0);
	if (err)
		return err;

	/* Keys the fast path could not match: refused before any write. */
	client_key(VIP4, 81, "198.18.1.1", 24, &k);
	err = xlb_vip_create(&e->m, &k, 0, 251, &seen);
	if (err != -EINVAL)
		return fail(e, "client prefix with host bits: %s, expected -EINVAL", errname(err));
	client_key(VIP4, 81, "fd00:78:6c62:1::", 64, &k);
	err = xlb_vip_create(&e->m, &k, 0, 251, &seen);
	if (err != -EINVAL)
		return fail(e, "IPv6 clients of an IPv4 VIP: %s, expected -EINVAL", errname(err));
	return 0;
}

/* --- tests: flows and counters ---------------------------------------------------- */

struct flow_seen {
	const struct flow_set *fs[2];
	const struct xlb_vip *vip[2];
	int hits[2][PICK_FLOWS];
	__u64 t0, t1; /* the coarse clock before and after the SYNs */
	int n, stray;
	char why[256];
};

static int flow_check(const struct xlb_flow_key *k, const struct xlb_flow *v, void *arg)
{
	struct flow_seen *fsn = arg;
	struct xlb_flow_key want;
	int s, i;

	fsn->n++;
	for (s = 0; s < 2; s++) {
		for (i = 0; i < fsn->fs[s]->n; i++) {
			flow_key_of(&fsn->fs[s]->s[i], &want);
			if (memcmp(&want, k, sizeof(want)))
				continue;
			fsn->hits[s][i]++;
			/* A cache way keeps the creation time to a tick, read back within one. */
			if (!fsn->why[0] &&
			    (v->backend_id != fsn->fs[s]->be[i] || v->vip_id != fsn->vip[s]->id ||
			     v->created_ns + FC_TICK_NS < fsn->t0 ||
			     v->created_ns > fsn->t1 + FC_TICK_NS))
				snprintf(fsn->why, sizeof(fsn->why),
					 "flow %d of VIP %u: backend %u vip %u created %llu; "
					 "expected backend %u vip %u created in [%llu, %llu] "
					 "within a tick",
					 i, fsn->vip[s]->id, v->backend_id, v->vip_id,
					 (unsigned long long)v->created_ns, fsn->fs[s]->be[i],
					 fsn->vip[s]->id, (unsigned long long)fsn->t0,
					 (unsigned long long)fsn->t1);
			return 0;
		}
	}
	fsn->stray++;
	return 0;
}

static int stop_early(const struct xlb_flow_key *k, const struct xlb_flow *v, void *arg)
{
	int *calls = arg;

	++*calls;
	return -EINTR;
}

static int t_flows(struct env *e, const void *arg)
{
	struct flow_seen *fsn = calloc(1, sizeof(*fsn));
	struct flow_set *fs[2] = {malloc(sizeof(*fs[0])), malloc(sizeof(*fs[1]))};
	struct pkt_spec rst, other;
	struct xlb_vip v[2];
	__u32 id, cap, cap4, cap6, want;
	struct sent r;
	int s, i, calls = 0, err = 0;

	if (!fsn || !fs[0] || !fs[1]) {
		err = fail(e, "out of memory");
		goto out;
	}
	/*
	 * Every way of both caches (2^bits sets of XLB_FC4_WAYS, XLB_FC6_WAYS
	 * per CPU, each room for the flows asked) and least_conn's table.
	 */
	want = FC_FLOWS_PER_CPU * e->ncpu;
	cap4 = ((__u32)e->ncpu << xlb_fc_bits(want, e->ncpu, XLB_FC4_WAYS)) * XLB_FC4_WAYS;
	cap6 = ((__u32)e->ncpu << xlb_fc_bits(want, e->ncpu, XLB_FC6_WAYS)) * XLB_FC6_WAYS;
	cap = cap4 + cap6 + bpf_map__max_entries(e->skel->maps.xlb_flows);
	if (xlb_flow_capacity(&e->m) != cap || cap4 < want || cap6 < want) {
		err = fail(e, "xlb_flow_capacity: %u, expected %u (room for %u flows)",
			   xlb_flow_capacity(&e->m), cap, want);
		goto out;
	}
	err = vip_new(e, VIP4, 80, IPPROTO_TCP, 0, 251, &v[0]) ?:
	      vip_new(e, VIP6, 53, IPPROTO_UDP, 0, 1009, &v[1]) ?:
	      member_add(e, &v[0], BE4_1, 80, 1, &id) ?: member_add(e, &v[0], BE4_2, 80, 1, &id) ?:
	      member_add(e, &v[1], BE6_1, 53, 1, &id) ?: member_add(e, &v[1], BE6_2, 53, 1, &id) ?:
	      rebuild(e, &v[0]) ?: rebuild(e, &v[1]);
	if (err)
		goto out;
	flows_make(e, fs[0], 150, VIP4, 80, IPPROTO_TCP, 0);
	flows_make(e, fs[1], 150, VIP6, 53, IPPROTO_UDP, 0);
	fsn->t0 = xlb_now_coarse_ns();
	for (s = 0; s < 2; s++) {
		fsn->fs[s] = fs[s];
		fsn->vip[s] = &v[s];
		for (i = 0; i < fs[s]->n; i++) {
			err = send_pkt(e, &fs[s]->s[i], &r);
			if (err)
				goto out;
			if (r.verdict != XDP_TX) {
				err = fail(e, "SYN: %s, expected XDP_TX",
					   bpftest_verdict_name(r.verdict));
				goto out;
			}
			fs[s]->be[i] = r.be_id;
		}
	}
	/* Neither an RST nor a packet to no VIP makes a flow. */
	rst = fs[0]->s[0];
	rst.sport = 1023;
	rst.tcp_flags = TCP_RST;
	other = fs[0]->s[0];
	other.dst = VIP4_OTHER;
	err = send_pkt(e, &rst, &r) ?: send_pkt(e, &other, &r);
	if (err)
		goto out;
	fsn->t1 = xlb_now_coarse_ns();

	err = xlb_flow_foreach(&e->m, flow_check, fsn);
	if (err) {
		err = fail(e, "xlb_flow_foreach: %s", errname(err));
		goto out;
	}
	if (fsn->why[0]) {
		err = fail(e, "%s", fsn->why);
		goto out;
	}
	if (fsn->n != fs[0]->n + fs[1]->n || fsn->stray) {
		err = fail(e, "xlb_flow_foreach: %d flows (%d not sent), expected %d", fsn->n,
			   fsn->stray, fs[0]->n + fs[1]->n);
		goto out;
	}
	for (s = 0; s < 2; s++)
		for (i = 0; i < fs[s]->n; i++)
			if (fsn->hits[s][i] != 1) {
				err = fail(e, "flow %d of VIP %u seen %d times", i, v[s].id,
					   fsn->hits[s][i]);
				goto out;
			}
	/* A callback's error stops the walk and is returned. */
	err = xlb_flow_foreach(&e->m, stop_early, &calls);
	if (err != -EINTR || calls != 1) {
		err = fail(e,
			   "xlb_flow_foreach with a failing callback: %s after %d calls, "
			   "expected -EINTR after 1",
			   errname(err), calls);
		goto out;
	}
	err = 0;
out:
	free(fs[1]);
	free(fs[0]);
	free(fsn);
	return err;
}

/* The first two CPUs this process may run on; -1 where there is none. */
static void two_cpus(const cpu_set_t *set, int cpu[2])
{
	int c, n = 0;

	cpu[0] = cpu[1] = -1;
	for (c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, set))
			cpu[n++] = c;
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* CPUs whose copy of a per-CPU xlb_traffic counted packets. */
static int cpus_counting(struct env *e, struct bpf_map *map, __u32 id)
{
	struct xlb_traffic *t = bpftest_percpu_read(map, id, e->ncpu, sizeof(*t));
	int cpu, n = 0;

	for (cpu = 0; t && cpu < e->ncpu; cpu++)
		n += !!t[cpu].packets;
	free(t);
	return n;
}

static int traffic_expect(struct env *e, const char *what, __u32 id, const struct xlb_traffic *got,
			  __u64 packets, __u64 bytes, __u64 flows)
{
	if (got->packets == packets && got->bytes == bytes && got->new_flows == flows)
		return 0;
	return fail(e, "%s %u: %llu packets %llu bytes %llu new flows; expected %llu %llu %llu",
		    what, id, (unsigned long long)got->packets, (unsigned long long)got->bytes,
		    (unsigned long long)got->new_flows, (unsigned long long)packets,
		    (unsigned long long)bytes, (unsigned long long)flows);
}

static int t_stats(struct env *e, const void *arg)
{
	struct flow_set *fs = malloc(sizeof(*fs));
	struct xlb_reason_count reasons[XLB_R_MAX];
	__u64 pk[TEST_IDS] = {}, by[TEST_IDS] = {}, nf[TEST_IDS] = {}, raw[2];
	__u64 vpk = 0, vby = 0;
	struct xlb_traffic t, *all;
	struct xlb_vip v;
	cpu_set_t saved;
	struct sent r;
	__u32 ids[3], id;
	int cpu[2], pinned = 0, i, k, err = 0;

	if (!fs)
		return fail(e, "out of memory");
	err = vip_new(e, VIP4, 80, IPPROTO_TCP, 0, 251, &v) ?:
	      member_add(e, &v, BE4_1, 80, 1, &ids[0]) ?:
	      member_add(e, &v, BE4_2, 80, 1, &ids[1]) ?:
	      member_add(e, &v, BE6_1, 80, 1, &ids[2]) ?: rebuild(e, &v);
	if (err)
		goto out;
	/* Half the packets on one CPU, half on another: the sums must add both. */
	if (!sched_getaffinity(0, sizeof(saved), &saved))
		two_cpus(&saved, cpu);
	else
		cpu[0] = cpu[1] = -1;
	flows_make(e, fs, 200, VIP4, 80, IPPROTO_TCP, 0);
	for (k = 0; k < 2; k++) {
		if (cpu[1] >= 0 && !pin_cpu(cpu[k]))
			pinned++;
		/* Each flow: a SYN, then (every other flow) a data packet. */
		for (i = k * 100; i < k * 100 + 100; i++) {
			fs->s[i].tcp_flags = TCP_SYN;
			err = send_pkt(e, &fs->s[i], &r);
			if (!err && r.verdict == XDP_TX && r.be_id < TEST_IDS) {
				pk[r.be_id]++;
				by[r.be_id] += r.len;
				nf[r.be_id]++;
				vpk++;
				vby += r.len;
			} else if (!err) {
				err = fail(e, "SYN: %s", bpftest_verdict_name(r.verdict));
			}
			if (err || i & 1)
				continue;
			fs->s[i].tcp_flags = TCP_ACK;
			fs->s[i].payload_len = 100;
			err = send_pkt(e, &fs->s[i], &r);
			if (!err && r.verdict == XDP_TX && r.be_id < TEST_IDS) {
				pk[r.be_id]++;
				by[r.be_id] += r.len;
				vpk++;
				vby += r.len;
			} else if (!err) {
				err = fail(e, "data packet: %s", bpftest_verdict_name(r.verdict));
			}
		}
		if (err)
			break;
	}
	if (cpu[1] >= 0)
		sched_setaffinity(0, sizeof(saved), &saved);
	if (err)
		goto out;
	err = xlb_stats_vip(&e->m, v.id, &t);
	if (err) {
		err = fail(e, "xlb_stats_vip: %s", errname(err));
		goto out;
	}
	err = traffic_expect(e, "VIP", v.id, &t, vpk, vby, 200);
	for (k = 0; !err && k < 3; k++) {
		id = ids[k];
		err = xlb_stats_backend(&e->m, id, &t);
		if (err)
			err = fail(e, "xlb_stats_backend(%u): %s", id, errname(err));
		else
			err = traffic_expect(e, "backend", id, &t, pk[id], by[id], nf[id]);
	}
	if (err)
		goto out;
	/* The batched read of every backend agrees, and others are zero. */
	all = calloc(XLB_MAX_BACKENDS, sizeof(*all));
	if (!all) {
		err = fail(e, "out of memory");
		goto out;
	}
	err = xlb_stats_backends(&e->m, all);
	if (err)
		err = fail(e, "xlb_stats_backends: %s", errname(err));
	for (id = 0; !err && id < XLB_MAX_BACKENDS; id++) {
		if (id < TEST_IDS)
			err = traffic_expect(e, "backend (batched read)", id, &all[id], pk[id],
					     by[id], nf[id]);
		else if (all[id].packets || all[id].bytes || all[id].new_flows)
			err = fail(e, "xlb_stats_backends: id %u has traffic", id);
	}
	free(all);
	if (err)
		goto out;
	/* The reasons agree with the raw sums of the CPUs' blocks. */
	err = xlb_stats_reasons(&e->m, reasons);
	if (err) {
		err = fail(e, "xlb_stats_reasons: %s", errname(err));
		goto out;
	}
	for (k = 0; k < XLB_R_MAX; k++) {
		bpftest_blocks_sum(e->skel->maps.xlb_reasons, k, e->ncpu, XLB_R_SLOTS, raw, 2);
		if (reasons[k].packets != raw[0] || reasons[k].bytes != raw[1]) {
			err = fail(e,
				   "xlb_stats_reasons[%d]: %llu packets %llu bytes, the map "
				   "holds %llu %llu",
				   k, (unsigned long long)reasons[k].packets,
				   (unsigned long long)reasons[k].bytes, (unsigned long long)raw[0],
				   (unsigned long long)raw[1]);
			goto out;
		}
	}
	if (reasons[XLB_R_FWD_ENCAP].packets != vpk) {
		err = fail(e, "FWD_ENCAP counted %llu packets, %llu were sent",
			   (unsigned long long)reasons[XLB_R_FWD_ENCAP].packets,
			   (unsigned long long)vpk);
		goto out;
	}
	if (pinned == 2 && cpus_counting(e, e->skel->maps.xlb_vip_stats, v.id) != 2) {
		err = fail(e, "packets run on CPUs %d and %d, the VIP's counters moved on %d CPUs",
			   cpu[0], cpu[1], cpus_counting(e, e->skel->maps.xlb_vip_stats, v.id));
		goto out;
	}
	if (pinned == 2)
		note(e, "counted on CPUs %d and %d", cpu[0], cpu[1]);
	else
		note(e, "one CPU only: the sums cover a single CPU's counters");
	err = 0;
out:
	free(fs);
	return err;
}

/* --- tests: config and next hops -------------------------------------------------- */

static int t_config(struct env *e, const void *arg)
{
	struct xlb_config want =
				  {
					  .forward = XLB_FWD_L2,
					  .hash_seed = 0xdeadbeef,
					  .encap_src4_mask = htonl(0x0f),
					  .encap_src6_mask = htonl(0x00ff),
					  .flags = 0,
				  },
			  got;
	__u32 zero = 0;
	__be32 a[4];
	int err;

	pkt_addr("198.18.201.0", a);
	want.encap_src4 = a[0];
	pkt_addr("fd00:78:6c62:201::", want.encap_src6);
	err = xlb_config_set(&e->m, &want);
	if (err)
		return fail(e, "xlb_config_set: %s", errname(err));
	memset(&got, 0xa5, sizeof(got));
	err = xlb_config_get(&e->m, &got);
	if (err)
		return fail(e, "xlb_config_get: %s", errname(err));
	if (memcmp(&got, &want, sizeof(got)))
		return fail(e,
			    "round trip: forward %u seed 0x%x masks 0x%x 0x%x; set forward %u "
			    "seed 0x%x masks 0x%x 0x%x (or the addresses differ)",
			    got.forward, got.hash_seed, ntohl(got.encap_src4_mask),
			    ntohl(got.encap_src6_mask), want.forward, want.hash_seed,
			    ntohl(want.encap_src4_mask), ntohl(want.encap_src6_mask));
	/* What the fast path reads is what was set. */
	memset(&got, 0, sizeof(got));
	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_config), &zero, &got) ||
	    memcmp(&got, &want, sizeof(got)))
		return fail(e, "the config map holds something else than what was set");
	return 0;
}

static int t_nexthop(struct env *e, const void *arg)
{
	struct xlb_nexthop nh = nh_static(5), got, junk;
	const __u32 id = 5;
	int round;

	/* One entry shared by the CPUs: garbage in it first. */
	memset(&junk, 0x11, sizeof(junk));
	junk.updated_ns = 1000;
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_nexthops), &id, &junk, BPF_ANY))
		return fail(e, "cannot write garbage: %s", strerror(errno));
	for (round = 0; round < 2; round++) {
		if (round)
			nh.updated_ns = 0; /* clears: a FIB lookup on the next packet */
		if (xlb_nexthop_set(&e->m, id, &nh))
			return fail(e, "xlb_nexthop_set failed");
		if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_nexthops), &id, &got))
			return fail(e, "cannot read next hop %u", id);
		if (memcmp(&got, &nh, sizeof(nh)))
			return fail(e,
				    "round %d: updated_ns %llu ifindex %u mtu %u, expected "
				    "%llu %u %u",
				    round, (unsigned long long)got.updated_ns, got.ifindex, got.mtu,
				    (unsigned long long)nh.updated_ns, nh.ifindex, nh.mtu);
	}
	return 0;
}

/* --- the runner ------------------------------------------------------------------- */

struct maps_test {
	const char *name;
	int (*fn)(struct env *e, const void *arg);
	const void *arg;
};

/* --- NAT connections: walk, sweep, purge ------------------------------------ */

struct nat_walk {
	int n, bad;
	int per_be[TEST_IDS];
	struct env *e;
};

/* Every forward entry has its reverse entry, naming the same client. */
static int nat_walk_cb(const struct xlb_flow_key *k, const struct xlb_nat_fwd *f, void *arg)
{
	struct nat_walk *w = arg;
	struct xlb_nat_rev r;

	w->n++;
	if (xlb_nat_rev_get(&w->e->m, f, k->proto, k->family, &r) ||
	    memcmp(&r.client, k, sizeof(*k)) || r.backend_id != f->backend_id)
		w->bad++;
	if (f->backend_id < TEST_IDS)
		w->per_be[f->backend_id]++;
	return 0;
}

static int nat_walk(struct env *e, struct nat_walk *w)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->e = e;
	err = xlb_nat_foreach(&e->m, nat_walk_cb, w);
	if (err)
		return fail(e, "xlb_nat_foreach: %s", errname(err));
	if (w->bad)
		return fail(e, "%d of %d NAT connections without their reverse entry", w->bad,
			    w->n);
	return 0;
}

static void nat_timeout_count(const struct xlb_nat_rev *r, void *arg)
{
	(*(int *)arg)++;
}

/* Age connection s's entries (both directions) by sec seconds. */
static int nat_age(struct env *e, const struct pkt_spec *s, __u64 sec)
{
	struct xlb_nat_rkey rk = {};
	struct xlb_flow_key k;
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;

	flow_key_of(s, &k);
	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_nat_fwd), &k, &f) ||
	    xlb_nat_rev_get(&e->m, &f, k.proto, k.family, &r))
		return fail(e, "no NAT entries for sport %u", s->sport);
	memcpy(rk.node, f.node, sizeof(rk.node));
	rk.node_port = f.node_port;
	rk.nat_port = f.nat_port;
	rk.proto = k.proto;
	rk.family = k.family;
	f.seen_ns -= sec * 1000000000ULL;
	r.seen_ns -= sec * 1000000000ULL;
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_nat_fwd), &k, &f, BPF_EXIST) ||
	    bpf_map_update_elem(map_fd(e->skel->maps.xlb_nat_rev), &rk, &r, BPF_EXIST))
		return fail(e, "cannot age NAT entries: %s", strerror(errno));
	return 0;
}

static int t_nat(struct env *e, const void *arg)
{
	struct flow_set *fs = malloc(sizeof(*fs));
	struct xlb_nat_sweep sw;
	struct xlb_config cfg;
	struct nat_walk w;
	struct xlb_vip v;
	__u32 id[2];
	__be32 a[4];
	struct sent r;
	int i, timeouts = 0, err, want[TEST_IDS] = {0};
	const int n = 100, aged = 40;

	if (!fs)
		return fail(e, "out of memory");
	config_default(&cfg);
	pkt_addr("198.18.0.2", a);
	cfg.nat_src4 = a[0];
	err = xlb_config_set(&e->m, &cfg) ? fail(e, "xlb_config_set failed") : 0;
	err = err ?: vip_new(e, VIP4, 80, IPPROTO_TCP, XLB_VIP_F_NAT, 251, &v) ?:
	      member_add(e, &v, BE4_1, 8080, 1, &id[0]) ?:
	      member_add(e, &v, BE4_2, 8080, 1, &id[1]) ?: rebuild(e, &v);
	if (err)
		goto out;
	flows_make(e, fs, n, VIP4, 80, IPPROTO_TCP, 0);
	for (i = 0; i < n; i++) {
		err = send_pkt(e, &fs->s[i], &r);
		if (err)
			goto out;
		if (r.verdict != XDP_TX || (r.be_id != id[0] && r.be_id != id[1])) {
			err = fail(e, "NAT SYN %d: %s, backend %u", i,
				   bpftest_verdict_name(r.verdict), r.be_id);
			goto out;
		}
		fs->be[i] = r.be_id;
		if (i >= aged)
			want[r.be_id]++;
	}
	err = nat_walk(e, &w);
	if (err)
		goto out;
	if (w.n != n) {
		err = fail(e, "xlb_nat_foreach: %d connections, expected %d", w.n, n);
		goto out;
	}
	/* 40 idle past the SYN timeout: the sweep deletes them, both ways. */
	for (i = 0; i < aged; i++) {
		err = nat_age(e, &fs->s[i], XLB_NAT_TMO_SYN + 1);
		if (err)
			goto out;
	}
	err = xlb_nat_sweep(&e->m, xlb_now_coarse_ns(), nat_timeout_count, &timeouts, &sw);
	if (err) {
		err = fail(e, "xlb_nat_sweep: %s", errname(err));
		goto out;
	}
	if (sw.dead != aged || sw.syn_timeouts != aged || sw.live != n - aged || timeouts != aged) {
		err = fail(e,
			   "sweep: %llu dead, %llu SYN timeouts (%d reported), %llu live; "
			   "expected %d, %d, %d",
			   (unsigned long long)sw.dead, (unsigned long long)sw.syn_timeouts,
			   timeouts, (unsigned long long)sw.live, aged, aged, n - aged);
		goto out;
	}
	err = nat_walk(e, &w);
	if (err)
		goto out;
	if (w.n != n - aged || hash_count(e->skel->maps.xlb_nat_rev) != n - aged) {
		err = fail(e, "after the sweep: %d forward, %d reverse entries, expected %d", w.n,
			   hash_count(e->skel->maps.xlb_nat_rev), n - aged);
		goto out;
	}
	/* A backend's purge takes its connections, not the other's. */
	err = xlb_nat_purge_backend(&e->m, id[0]);
	if (err) {
		err = fail(e, "xlb_nat_purge_backend: %s", errname(err));
		goto out;
	}
	err = nat_walk(e, &w);
	if (err)
		goto out;
	if (w.per_be[id[0]] || w.per_be[id[1]] != want[id[1]] || w.n != want[id[1]] ||
	    hash_count(e->skel->maps.xlb_nat_rev) != want[id[1]]) {
		err = fail(e,
			   "after purging backend %u: %d/%d connections of backends %u/%u, "
			   "%d reverse entries; expected 0/%d",
			   id[0], w.per_be[id[0]], w.per_be[id[1]], id[0], id[1],
			   hash_count(e->skel->maps.xlb_nat_rev), want[id[1]]);
		goto out;
	}
	if (!want[id[1]] || !want[id[0]])
		note(e, "vacuous: a backend got none of the %d live connections", n - aged);
out:
	free(fs);
	return err;
}

/*
 * The sweep's timeout callback runs during its walk, after the victim was
 * chosen and before it is deleted: the fast path's moves in that time.
 */
struct nat_meanwhile {
	struct env *e;
	struct xlb_flow_key revive; /* this connection comes back to life */
	struct xlb_flow_key lose;   /* this one's port goes to ... */
	struct xlb_flow_key taker;  /* ... this new connection */
	int err;
};

static void nat_meanwhile_cb(const struct xlb_nat_rev *r, void *arg)
{
	struct nat_meanwhile *w = arg;
	int ffd = map_fd(w->e->skel->maps.xlb_nat_fwd), rfd = map_fd(w->e->skel->maps.xlb_nat_rev);
	int revive = !memcmp(&r->client, &w->revive, sizeof(r->client));
	struct xlb_nat_rev nr = *r;
	struct xlb_nat_rkey rk;
	struct xlb_nat_fwd f;

	if (!revive && memcmp(&r->client, &w->lose, sizeof(r->client)))
		return;
	if (bpf_map_lookup_elem(ffd, &r->client, &f)) {
		w->err = -errno;
		return;
	}
	memset(&rk, 0, sizeof(rk));
	memcpy(rk.node, f.node, sizeof(rk.node));
	rk.node_port = f.node_port;
	rk.nat_port = f.nat_port;
	rk.proto = r->client.proto;
	rk.family = r->client.family;
	nr.seen_ns = xlb_now_coarse_ns();
	if (revive) {
		f.seen_ns = nr.seen_ns;
		if (bpf_map_update_elem(ffd, &r->client, &f, BPF_EXIST))
			w->err = -errno;
	} else {
		nr.client = w->taker;
	}
	if (bpf_map_update_elem(rfd, &rk, &nr, BPF_EXIST))
		w->err = -errno;
}

static int t_nat_sweep_recheck(struct env *e, const void *arg)
{
	struct pkt_spec s[3] = {
		{.src = "198.18.0.100",
		 .dst = VIP4,
		 .proto = IPPROTO_TCP,
		 .sport = 40000,
		 .dport = 80,
		 .tcp_flags = TCP_SYN},
		{.src = "198.18.0.100",
		 .dst = VIP4,
		 .proto = IPPROTO_TCP,
		 .sport = 40001,
		 .dport = 80,
		 .tcp_flags = TCP_SYN},
		{.src = "198.18.0.101",
		 .dst = VIP4,
		 .proto = IPPROTO_TCP,
		 .sport = 40002,
		 .dport = 80,
		 .tcp_flags = TCP_SYN},
	};
	struct nat_meanwhile w = {.e = e};
	struct xlb_nat_sweep sw;
	struct xlb_config cfg;
	struct xlb_nat_fwd f, lost;
	struct xlb_nat_rev r;
	struct xlb_vip v;
	struct sent out;
	__be32 a[4];
	__u32 id;
	int i, err;

	config_default(&cfg);
	pkt_addr("198.18.0.2", a);
	cfg.nat_src4 = a[0];
	err = xlb_config_set(&e->m, &cfg) ? fail(e, "xlb_config_set failed") : 0;
	err = err ?: vip_new(e, VIP4, 80, IPPROTO_TCP, XLB_VIP_F_NAT, 251, &v) ?:
	      member_add(e, &v, BE4_1, 8080, 1, &id) ?: rebuild(e, &v);
	for (i = 0; !err && i < 2; i++) {
		err = send_pkt(e, &s[i], &out);
		if (!err && out.verdict != XDP_TX)
			err = fail(e, "NAT SYN %d: %s", i, bpftest_verdict_name(out.verdict));
		err = err ?: nat_age(e, &s[i], XLB_NAT_TMO_SYN + 1);
	}
	if (err)
		return err;
	flow_key_of(&s[0], &w.revive);
	flow_key_of(&s[1], &w.lose);
	flow_key_of(&s[2], &w.taker);
	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_nat_fwd), &w.lose, &lost))
		return fail(e, "no forward entry for the second connection");
	err = xlb_nat_sweep(&e->m, xlb_now_coarse_ns(), nat_meanwhile_cb, &w, &sw);
	if (err || w.err)
		return fail(e, "xlb_nat_sweep: %s, callback: %s", errname(err), errname(w.err));
	if (sw.dead != 2)
		return fail(e, "sweep saw %llu dead, expected 2", (unsigned long long)sw.dead);
	/* Revived: both entries kept. */
	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_nat_fwd), &w.revive, &f) ||
	    xlb_nat_rev_get(&e->m, &f, IPPROTO_TCP, XLB_AF_INET, &r))
		return fail(e, "the sweep deleted a connection revived after its walk saw it dead");
	/* Taken over: the dead forward entry gone, the new owner's reverse entry kept. */
	if (!bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_nat_fwd), &w.lose, &f))
		return fail(e, "the dead connection's forward entry was left");
	if (xlb_nat_rev_get(&e->m, &lost, IPPROTO_TCP, XLB_AF_INET, &r) ||
	    memcmp(&r.client, &w.taker, sizeof(r.client)))
		return fail(e, "the sweep deleted the reverse entry of a port taken over "
			       "after its walk saw it dead");
	return 0;
}

/* --- least connections (conns.c, pick.c) --------------------------------- */

/*
 * The sweeps below run at a clock LC_LATER seconds ahead: a flow left as
 * it is has been idle that long, one seen then is fresh. (Moving a flow's
 * last-seen second back instead would go below 0 on a host up for less
 * than the timeout, as a test VM is.)
 */
#define LC_LATER (XLB_LC_IDLE_TCP_S + 100)

/*
 * A flow entry's least_conn last-seen second moved sec seconds on, and
 * with stale, its backend generation changed (a flow of the id's earlier user).
 */
static int flow_seen_later(struct env *e, const struct pkt_spec *s, __u32 sec, int stale)
{
	struct xlb_flow_key k;
	struct xlb_flow f;
	char b[128];

	flow_key_of(s, &k);
	if (bpf_map_lookup_elem(map_fd(e->skel->maps.xlb_flows), &k, &f))
		return fail(e, "%s: no flow entry", flow_str(s, b, sizeof(b)));
	if (!(f.lc.flags & XLB_FLOW_F_COUNTED))
		return fail(e, "%s: flow entry not counted", flow_str(s, b, sizeof(b)));
	f.lc.seen_s += sec;
	f.be_gen ^= stale ? 1 : 0;
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_flows), &k, &f, BPF_EXIST))
		return fail(e, "%s: cannot age the flow: %s", flow_str(s, b, sizeof(b)),
			    strerror(errno));
	return 0;
}

/* Every member's count of active flows is want[id]. */
static int conns_check(struct env *e, const __u32 *ids, int n, const int *want, const char *when)
{
	__u64 a;
	int k, err;

	for (k = 0; k < n; k++) {
		err = xlb_conns_get(&e->m, ids[k], &a);
		if (err)
			return fail(e, "%s: xlb_conns_get(%u): %s", when, ids[k], errname(err));
		if (a != (__u64)want[ids[k]])
			return fail(e, "%s: backend %u has %llu active flows, expected %d", when,
				    ids[k], (unsigned long long)a, want[ids[k]]);
	}
	return 0;
}

static int sweep_check(struct env *e, __u64 flows, __u64 counted, __u64 idle, __u64 released)
{
	struct xlb_lc_sweep sw;
	int err = xlb_lc_sweep(&e->m, xlb_now_coarse_ns() + LC_LATER * 1000000000ULL, &sw);

	if (err)
		return fail(e, "xlb_lc_sweep: %s", errname(err));
	if (sw.flows != flows || sw.counted != counted || sw.idle != idle ||
	    sw.released != released)
		return fail(e,
			    "sweep: %llu flows, %llu counted, %llu idle, %llu released; expected "
			    "%llu, %llu, %llu, %llu",
			    (unsigned long long)sw.flows, (unsigned long long)sw.counted,
			    (unsigned long long)sw.idle, (unsigned long long)sw.released,
			    (unsigned long long)flows, (unsigned long long)counted,
			    (unsigned long long)idle, (unsigned long long)released);
	return 0;
}

/*
 * A least_conn VIP: xlb_pick_flow() names the fast path's backend for
 * every new flow, some via the second candidate; the counts follow the
 * flows and the weights; the sweep deletes idle counted flows and those of
 * another generation of their backend id, and takes them, and flows
 * deleted behind its back (an eviction), off the counts, once.
 */
static int t_least_conn(struct env *e, const void *arg)
{
	static const struct node_def nd[] = {
		{BE4_1, 80, 1}, {BE4_2, 80, 1}, {BE4_3, 80, 2}, {BE4_4, 80, 4}, {}};
	struct flow_set *fs = malloc(sizeof(*fs));
	struct pick_tally t = {};
	struct xlb_pick_result pr;
	struct xlb_flow_key fk;
	struct xlb_vip v;
	int want[TEST_IDS] = {0}, i, k, err = 0, aged = 0, evicted = 0;
	double per_w;
	__u32 ids[4];

	if (!fs)
		return fail(e, "out of memory");
	err = vip_new(e, VIP4, 80, IPPROTO_TCP, XLB_VIP_F_LEAST_CONN, 251, &v);
	for (k = 0; !err && k < 4; k++)
		err = member_add(e, &v, nd[k].addr, nd[k].port, nd[k].weight, &ids[k]);
	err = err ?: rebuild(e, &v);
	if (err)
		goto out;
	flows_make(e, fs, PICK_FLOWS, VIP4, 80, IPPROTO_TCP, 0);
	for (i = 0; i < fs->n; i++) {
		err = pick_one(e, &v, &fs->s[i], &t, &pr, &fs->be[i]);
		if (err)
			goto out;
		want[fs->be[i]]++;
	}
	if (!t.via[XLB_PICK_LEAST_CONN] || !pr.least_conn) {
		err = fail(e, "no new flow went to its second candidate (TABLE %d): vacuous",
			   t.via[XLB_PICK_TABLE]);
		goto out;
	}
	err = conns_check(e, ids, 4, want, "after the SYNs");
	if (err)
		goto out;
	/* least_conn flows live in xlb_flows (their count word), none in the flow cache. */
	if (hash_count(e->skel->maps.xlb_flows) != fs->n || flows_count(e) != fs->n) {
		err = fail(e, "after the SYNs: %d xlb_flows entries, %d flows in all; expected %d",
			   hash_count(e->skel->maps.xlb_flows), flows_count(e), fs->n);
		goto out;
	}
	/* Open flows per weight: each backend within 25% of the mean. */
	per_w = PICK_FLOWS / 8.0;
	for (k = 0; k < 4; k++)
		if (want[ids[k]] < 0.75 * per_w * nd[k].weight ||
		    want[ids[k]] > 1.25 * per_w * nd[k].weight) {
			err = fail(e, "backend %u (weight %u) has %d flows, expected %.0f +-25%%",
				   ids[k], nd[k].weight, want[ids[k]], per_w * nd[k].weight);
			goto out;
		}
	/*
	 * Every 4th flow idle past the timeout (left as it is), every 4th + 1
	 * gone unseen, every 4th + 2 of another generation of its backend id
	 * (and seen), every 4th + 3 seen: fresh.
	 */
	for (i = 0; i < fs->n; i++) {
		if (i % 4 == 3) {
			err = flow_seen_later(e, &fs->s[i], LC_LATER, 0);
			if (err)
				goto out;
			continue;
		}
		if (i % 4 == 0 || i % 4 == 2) {
			err = i % 4 ? flow_seen_later(e, &fs->s[i], LC_LATER, 1) : 0;
			aged++;
		} else {
			flow_key_of(&fs->s[i], &fk);
			if (bpf_map_delete_elem(map_fd(e->skel->maps.xlb_flows), &fk))
				err = fail(e, "cannot delete a flow: %s", strerror(errno));
			evicted++;
		}
		if (err)
			goto out;
		want[fs->be[i]]--;
	}
	err = sweep_check(e, fs->n - evicted, fs->n - evicted - aged, aged, aged + evicted)
		      ?: conns_check(e, ids, 4, want, "after the sweep");
	if (err)
		goto out;
	if (hash_count(e->skel->maps.xlb_flows) != fs->n - evicted - aged) {
		err = fail(e, "after the sweep: %d flow entries, expected %d",
			   hash_count(e->skel->maps.xlb_flows), fs->n - evicted - aged);
		goto out;
	}
	/* Nothing more to take: a second sweep changes nothing. */
	err = sweep_check(e, fs->n - evicted - aged, fs->n - evicted - aged, 0, 0)
		      ?: conns_check(e, ids, 4, want, "after a second sweep");
out:
	free(fs);
	return err;
}

/* Whether addr would be looked up by the fast path (xlb_addrs_test), or -1. */
static int addr_looked(struct env *e, const char *addr, int want_on)
{
	__be32 a[4] = {0};
	int on, ret;

	inet_pton(strchr(addr, ':') ? AF_INET6 : AF_INET, addr, a);
	ret = xlb_addrs_test(&e->m, a, &on);
	if (ret < 0)
		return fail(e, "xlb_addrs_test(%s): %s", addr, errname(ret));
	if (on != want_on)
		return fail(e, "address filter %s, expected %s", on ? "on" : "off",
			    want_on ? "on" : "off");
	return ret;
}

/*
 * The address filter: left alone while off, filled and turned on with the
 * VIPs and NAT sources already there; later VIPs and NAT sources set their
 * bits; a removed VIP's bit stays; an address never put stays clear.
 */
static int t_addrs(struct env *e, const void *arg)
{
	static const struct xlb_addrs off = {0};
	struct xlb_config cfg = {0};
	struct xlb_vip_key k;
	struct xlb_vip v;
	char other[32];
	__u32 zero = 0;
	int i, err;

	(void)arg;
	if (bpf_map_update_elem(map_fd(e->skel->maps.xlb_addrs), &zero, &off, 0))
		return fail(e, "clear the filter: %s", strerror(errno));
	if (vip_new(e, "198.18.90.1", 80, IPPROTO_TCP, 0, 251, &v))
		return -1;
	if (addr_looked(e, "198.18.90.1", 0) != 1 || addr_looked(e, "198.18.90.2", 0) != 1)
		return fail(e, "a filter that is off must let every address be looked up");
	inet_pton(AF_INET, "198.18.90.250", &cfg.nat_src4);
	err = xlb_addrs_fill(e->skel->maps.xlb_vips, e->skel->maps.xlb_addrs, &cfg);
	if (err)
		return fail(e, "xlb_addrs_fill: %s", errname(err));
	if (addr_looked(e, "198.18.90.1", 1) != 1 || addr_looked(e, "198.18.90.250", 1) != 1)
		return fail(e, "fill left the bit of a VIP or of the NAT source clear");
	if (vip_new(e, "fd00:90::1", 443, IPPROTO_TCP, 0, 251, &v))
		return -1;
	if (addr_looked(e, "fd00:90::1", 1) != 1)
		return fail(e, "a VIP created with the filter on has no bit");
	inet_pton(AF_INET6, "fd00:90::250", cfg.nat_src6);
	err = xlb_config_set(&e->m, &cfg);
	if (err)
		return fail(e, "xlb_config_set: %s", errname(err));
	if (addr_looked(e, "fd00:90::250", 1) != 1)
		return fail(e, "a NAT source set with the filter on has no bit");
	vip_key("198.18.90.1", 80, IPPROTO_TCP, &k);
	err = xlb_vip_delete(&e->m, &k);
	if (err)
		return fail(e, "xlb_vip_delete: %s", errname(err));
	if (addr_looked(e, "198.18.90.1", 1) != 1)
		return fail(e, "a deleted VIP's bit was cleared (bits only grow)");
	/* Some address of the same /24 has a clear bit: the filter filters. */
	for (i = 2; i < 250; i++) {
		snprintf(other, sizeof(other), "198.18.90.%d", i);
		err = addr_looked(e, other, 1);
		if (err < 0)
			return -1;
		if (!err)
			return 0;
	}
	return fail(e, "every address of 198.18.90.0/24 has its bit set");
}

static const struct maps_test tests[] = {
	{"vip: create, get, list, delete", t_vip_basic},
	{"address filter: off until filled; VIPs and NAT sources set bits first; bits stay",
	 t_addrs},
	{"vip: a deleted VIP's id is reused, counters from zero", t_vip_reuse},
	{"vip: creating an existing VIP -> -EEXIST, the existing one unchanged", t_vip_exists},
	{"vip: invalid table sizes -> -EINVAL, nothing created; 3 and max accepted",
	 t_vip_bad_size},
	{"vip: a full VIP map -> error, no table left at an unused id", t_vip_full},
	{"backend: one id per (addr, port); ports and families differ", t_be_ensure},
	{"backend: set_state flips the state in one write, tables untouched", t_be_state},
	{"backend: freed only when no VIP uses it; reused id starts empty", t_be_release},
	{"backend: generation kept by state changes, advanced by a new identity or a free, wraps",
	 t_be_gen},
	{"member: a full member map -> error, updates still work", t_member_full},
	{"table: rebuild equals Maglev of the members and config seed", t_table_weights},
	{"table: DOWN, DRAINING and weight-0 members left out", t_table_states},
	{"table: no usable member -> every slot empty, pick NONE, drop", t_table_empty},
	{"table: 251 and 1009 slots drive the fast path", t_table_sizes},
	{"table space: rebuilds reuse freed slots after a grace period", t_space_reuse},
	{"table space: full -> ENOSPC, nothing made; a deleted VIP makes room", t_space_full},
	{"table space: an unset size follows the member count, not health", t_space_auto},
	{"table chains: earlier owners kept while members, dropped when removed; none without "
	 "the flag",
	 t_table_chains},
	{"table chains: same members by other steps -> one table_digest, two chain_digests",
	 t_chain_digest},
	{"table space: pinned xlb_slots of an older build become xlb_chains, slot for slot",
	 t_space_upgrade},
	{"digest: two map sets from one config, numbered differently -> equal; "
	 "another member set, weight or state -> different",
	 t_digest_nodes},
	{"pick == fast path: ipv4 tcp:80, 251 slots", t_pick, &pick_v4},
	{"pick == fast path: ipv6 tcp:443, 1009 slots", t_pick, &pick_v6},
	{"pick == fast path: ipv4 tcp:80 hash src, 65537 slots", t_pick, &pick_v4_src},
	{"pick == fast path: ipv6 udp:53 hash src, 251 slots", t_pick, &pick_v6_src},
	{"pick == fast path: ipv4 tcp:80 GUE, hops after a change, 1009 slots", t_pick,
	 &pick_v4_gue},
	{"pick == fast path: ipv4 tcp port 0, a 4in6 backend, 1009 slots", t_pick, &pick_v4_port0},
	{"pick == fast path: ipv6 udp port 0, 251 slots", t_pick, &pick_v6_port0},
	{"pick == fast path: a flow made through another VIP is re-picked", t_pick_other_vip},
	{"clients: VIPs for client prefixes on one address; inside -> their backend, outside -> "
	 "XDP_PASS (pass_client); a VIP for all takes the rest; IPv4 and IPv6",
	 t_clients},
	{"flows: xlb_flow_foreach sees the SYNs' flows", t_flows},
	{"stats: VIP and backend counters sum over CPUs", t_stats},
	{"config: get/set round trip", t_config},
	{"nexthop: xlb_nexthop_set writes the entry the CPUs share", t_nexthop},
	{"least_conn: pick == fast path with the counts; counts follow flows and weights; the "
	 "sweep deletes idle and stale flows and takes them and evicted ones off the counts, "
	 "once",
	 t_least_conn},
	{"nat: foreach sees both directions; sweep deletes the dead, purge a backend's", t_nat},
	{"nat: the sweep re-reads each victim: one revived or taken over meanwhile is kept",
	 t_nat_sweep_recheck},
};

static int env_open(struct env *e)
{
	int err;

	e->skel = xlb_lb__open();
	if (!e->skel)
		return -errno;
	err = bpftest_prepare(e->skel->obj, &e->ncpu);
	if (err)
		return err;
	/*
	 * Small maps where a test fills them; xlb_backends keeps its size. The
	 * flow table's LRU lists are per CPU, each max_entries / possible CPUs.
	 */
	e->flows_max = FLOWS_PER_CPU * e->ncpu;
	err = bpf_map__set_max_entries(e->skel->maps.xlb_vips, VIPS_MAX) ?:
	      bpf_map__set_max_entries(e->skel->maps.xlb_members, MEMBERS_MAX) ?:
	      bpf_map__set_max_entries(e->skel->maps.xlb_flows, e->flows_max) ?:
	      xlb_flow_cache_size(e->skel, FC_FLOWS_PER_CPU * e->ncpu, FC_FLOWS_PER_CPU * e->ncpu,
				  e->ncpu) ?:
	      bpf_map__set_max_entries(e->skel->maps.xlb_chains, SLOTS_MAX) ?:
	      bpf_map__set_max_entries(e->skel->maps.xlb_slot_blocks,
				       SLOTS_MAX / XLB_SLOT_BLOCK / 8);
	if (err)
		return err;
	err = xlb_lb__load(e->skel);
	if (err)
		return err;
	e->prog_fd = bpf_program__fd(e->skel->progs.xlb_lb);
	e->m = (struct xlb_maps){.skel = e->skel, .lock_fd = -1};
	return 0;
}

int main(void)
{
	int i, n = sizeof(tests) / sizeof(tests[0]);
	struct env e = {};
	int err;

	bpftest_libbpf_quiet();
	err = env_open(&e);
	if (err) {
		xlb_lb__destroy(e.skel);
		return bpftest_cannot_load("xlb_lb", errname(err));
	}
	for (i = 0; i < n; i++) {
		e.note[0] = 0;
		e.rng = 0x786c62000000ULL + i;
		e.sport_seq = 0;
		e.sport_off = rnd(&e) % 64000;
		err = env_reset(&e);
		if (err)
			err = fail(&e, "cannot reset the maps: %s", errname(err));
		else
			err = tests[i].fn(&e, tests[i].arg);
		/* No test skips: anything but 0 is a failure. */
		bpftest_result(&e.t, i + 1, tests[i].name, err ? -1 : 0);
		if (e.note[0])
			printf("# %s\n", e.note);
	}
	env_reset(&e);
	xlb_lb__destroy(e.skel);
	return bpftest_summary(&e.t);
}
