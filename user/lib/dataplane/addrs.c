// SPDX-License-Identifier: GPL-2.0-only
/*
 * The address filter of the fast path (struct xlb_addrs, include/xlb/abi.h):
 * one bit per address of a VIP or a NAT source, so that a packet for any
 * other address leaves after one array lookup instead of the VIP lookups.
 *
 * The bits only grow. An address gets its bit before it is written where
 * the fast path finds it (xlb_vips, the NAT source of xlb_config), so no
 * packet of it ever meets a clear bit; a removed address keeps its bit,
 * which costs its packets the lookups and nothing else. Attach fills the
 * bits of every address already in the maps, then turns the filter on:
 * until then (a map just created) the fast path does not test it. All
 * writers hold the pin directory's lock, so the read-modify-writes here
 * do not race.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <xlb/hash.h>

#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"

static void addrs_set(struct xlb_addrs *a, const __be32 addr[4])
{
	__u32 bit = xlb_addr_bit(addr);

	a->bits[bit / 64] |= 1ULL << (bit % 64);
}

/* The NAT sources of cfg (unset ones are skipped). */
static void addrs_set_nat(struct xlb_addrs *a, const struct xlb_config *cfg)
{
	__be32 v4[4] = {cfg->nat_src4};

	if (cfg->nat_src4)
		addrs_set(a, v4);
	if (cfg->nat_src6[0] | cfg->nat_src6[1] | cfg->nat_src6[2] | cfg->nat_src6[3])
		addrs_set(a, cfg->nat_src6);
}

/* The filter's one value. */
static int addrs_read(const struct bpf_map *map, struct xlb_addrs *a)
{
	__u32 zero = 0;

	return ret_errno(bpf_map_lookup_elem(map_fd(map), &zero, a));
}

static int addrs_write(const struct bpf_map *map, const struct xlb_addrs *a)
{
	__u32 zero = 0;

	return ret_errno(bpf_map_update_elem(map_fd(map), &zero, a, BPF_ANY));
}

static int fill_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *a)
{
	(void)v;
	addrs_set(a, k->addr);
	return 0;
}

int xlb_addrs_fill(const struct bpf_map *vips, const struct bpf_map *addrs,
		   const struct xlb_config *cfg)
{
	struct xlb_addrs a;
	int err = addrs_read(addrs, &a);

	if (!err)
		err = xlb_map_walk(vips, XLB_WALK_VIPS, (union xlb_walk_cb){.vip = fill_vip}, &a);
	if (err)
		return err;
	if (cfg)
		addrs_set_nat(&a, cfg);
	a.on = 1;
	return addrs_write(addrs, &a);
}

/* Set the bits of addr and of cfg's NAT sources (either may be NULL). */
static int addrs_add(struct xlb_maps *m, const __be32 *addr, const struct xlb_config *cfg)
{
	struct xlb_addrs a;
	int err = addrs_read(m->skel->maps.xlb_addrs, &a);

	if (err || !a.on)
		return err; /* off: attach fills every address before turning it on */
	if (addr)
		addrs_set(&a, addr);
	if (cfg)
		addrs_set_nat(&a, cfg);
	return addrs_write(m->skel->maps.xlb_addrs, &a);
}

int xlb_addrs_add(struct xlb_maps *m, const __be32 addr[4])
{
	return addrs_add(m, addr, NULL);
}

int xlb_addrs_add_nat(struct xlb_maps *m, const struct xlb_config *cfg)
{
	return addrs_add(m, NULL, cfg);
}

int xlb_addrs_count(struct xlb_maps *m, int *on, unsigned int *set)
{
	struct xlb_addrs a;
	int err = addrs_read(m->skel->maps.xlb_addrs, &a);
	__u32 i;

	if (err)
		return err;
	*on = !!a.on;
	*set = 0;
	for (i = 0; i < XLB_ADDR_BITS_N / 64; i++)
		*set += __builtin_popcountll(a.bits[i]);
	return 0;
}

int xlb_addrs_test(struct xlb_maps *m, const __be32 addr[4], int *on)
{
	struct xlb_addrs a;
	__u32 bit = xlb_addr_bit(addr);
	int err = addrs_read(m->skel->maps.xlb_addrs, &a);

	if (err)
		return err;
	*on = !!a.on;
	return !a.on || (a.bits[bit / 64] >> (bit % 64) & 1);
}
