// SPDX-License-Identifier: GPL-2.0-only
/*
 * Maglev tables in the maps: the table space (xlb_chains) shared by every
 * VIP, its allocation, a VIP's table written into free slots and made
 * live with one write of its xlb_vips entry; rebuilt from a VIP's members;
 * read back and digested. The table itself is computed by maglev.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/addr.h"
#include "dataplane/chains.h"
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"
#include "dataplane/tables.h"
#include "xlb_lb.skel.h"

/*
 * The table space: xlb_chains seen as one array of 64-bit slots (slot i is
 * word i of the mapping, a chain as struct xlb_slot packs it; tables
 * written here have no secondaries yet), cut into blocks of
 * XLB_SLOT_BLOCK slots. xlb_slot_blocks keeps one byte per block. A table
 * takes a run of free blocks, found next-fit from a cursor, so that many
 * tables written in a row cost one pass over the record. A table that is
 * replaced or removed has its blocks marked freed; they become free only
 * after a kernel grace period, when no packet can still be reading them.
 * The lock of the pin directory serialises the writers (CLI and agent).
 */
enum { BLOCK_FREE = 0, BLOCK_USED = 1, BLOCK_FREED = 2 };

static __u32 map_entries(const struct bpf_map *map)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(map_fd(map), &info, &len))
		return 0;
	return info.max_entries;
}

static int tables_map(struct xlb_maps *m)
{
	__u32 slots, words;
	void *p;

	if (m->chains)
		return 0;
	slots = map_entries(m->skel->maps.xlb_chains);
	words = map_entries(m->skel->maps.xlb_slot_blocks);
	if (!slots || !words)
		return -errno ?: -EINVAL;
	p = mmap(NULL, (size_t)slots * sizeof(struct xlb_slot), PROT_READ | PROT_WRITE, MAP_SHARED,
		 map_fd(m->skel->maps.xlb_chains), 0);
	if (p == MAP_FAILED)
		return -errno;
	m->chains = p;
	m->nslots = slots;
	p = mmap(NULL, (size_t)words * sizeof(__u64), PROT_READ | PROT_WRITE, MAP_SHARED,
		 map_fd(m->skel->maps.xlb_slot_blocks), 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		munmap(m->chains, (size_t)m->nslots * sizeof(*m->chains));
		m->chains = NULL;
		return err;
	}
	m->blocks = p;
	/* Both are sized together at attach; never trust more blocks than slots. */
	m->nblocks = words * 8;
	if (m->nblocks > m->nslots / XLB_SLOT_BLOCK)
		m->nblocks = m->nslots / XLB_SLOT_BLOCK;
	m->cursor = 0;
	return 0;
}

void xlb_tables_unmap(struct xlb_maps *m)
{
	if (m->chains) {
		munmap(m->chains, (size_t)m->nslots * sizeof(*m->chains));
		munmap(m->blocks, ((size_t)m->nblocks + 7) / 8 * sizeof(__u64));
	}
	m->chains = NULL;
	m->blocks = NULL;
	if (m->grace_made) {
		close(m->grace_fd);
		close(m->grace_inner_fd);
	}
	m->grace_made = 0;
}

/*
 * Wait until no XDP program that started before now is still running. An
 * update of a map-in-map returns only after an RCU grace period (the
 * kernel's contract, so that userspace may reuse the inner map it
 * replaced), and XDP programs run inside RCU read-side sections.
 */
static int grace_wait(struct xlb_maps *m)
{
	__u32 zero = 0;

	if (!m->grace_made) {
		LIBBPF_OPTS(bpf_map_create_opts, opts);
		int err;

		m->grace_inner_fd =
			bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_grace_in", 4, 4, 1, NULL);
		if (m->grace_inner_fd < 0)
			return -errno;
		opts.inner_map_fd = m->grace_inner_fd;
		m->grace_fd =
			bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "xlb_grace", 4, 4, 1, &opts);
		if (m->grace_fd < 0) {
			err = -errno;
			close(m->grace_inner_fd);
			return err;
		}
		m->grace_made = 1;
	}
	return ret_errno(bpf_map_update_elem(m->grace_fd, &zero, &m->grace_inner_fd, BPF_ANY));
}

static __u32 blocks_of(__u32 size)
{
	return (size + XLB_SLOT_BLOCK - 1) / XLB_SLOT_BLOCK;
}

/* First block of a run of n free blocks in [from, to), or to. */
static __u32 run_find(const struct xlb_maps *m, __u32 n, __u32 from, __u32 to)
{
	__u32 b = from, len = 0;

	while (b < to && len < n) {
		len = m->blocks[b] == BLOCK_FREE ? len + 1 : 0;
		b++;
	}
	return len == n ? b - n : to;
}

/* size slots of table space: their first slot in *off, or -ENOSPC. */
static int space_alloc(struct xlb_maps *m, __u32 size, __u32 *off)
{
	__u32 n = blocks_of(size), b, i;
	int freed = 0, err;

	for (int pass = 0; pass < 2; pass++) {
		b = run_find(m, n, m->cursor, m->nblocks);
		if (b == m->nblocks)
			b = run_find(m, n, 0, m->nblocks);
		if (b < m->nblocks) {
			memset(&m->blocks[b], BLOCK_USED, n);
			m->cursor = b + n;
			*off = b * XLB_SLOT_BLOCK;
			return 0;
		}
		/* Full: what was freed becomes free after one grace period. */
		for (i = 0; i < m->nblocks && !freed; i++)
			freed = m->blocks[i] == BLOCK_FREED;
		if (!freed)
			break;
		err = grace_wait(m);
		if (err)
			return err;
		for (i = 0; i < m->nblocks; i++)
			if (m->blocks[i] == BLOCK_FREED)
				m->blocks[i] = BLOCK_FREE;
	}
	return -ENOSPC;
}

/* Give back the slots of a table; now_free: it was never live. */
static void space_release(struct xlb_maps *m, __u32 off, __u32 size, int now_free)
{
	__u32 b = off / XLB_SLOT_BLOCK, n = blocks_of(size);

	if (!size || b >= m->nblocks || n > m->nblocks - b)
		return;
	memset(&m->blocks[b], now_free ? BLOCK_FREE : BLOCK_FREED, n);
}

/* Slots [off, off + size) get primaries slots (NULL: none), no secondaries. */
static void space_fill(struct xlb_maps *m, __u32 off, __u32 size, const __u32 *slots)
{
	__u64 *c = &m->chains[off];
	__u32 i;

	for (i = 0; i < size; i++)
		c[i] = xlb_slot_pack(slots ? slots[i] : XLB_SLOT_NONE, XLB_SLOT_NONE,
				     XLB_SLOT_NONE);
}

int xlb_table_space(struct xlb_maps *m, __u32 *used, __u32 *max)
{
	__u32 b, n = 0;
	int err;

	*used = *max = 0;
	err = tables_map(m);
	if (err)
		return err;
	for (b = 0; b < m->nblocks; b++)
		n += m->blocks[b] != BLOCK_FREE;
	*used = n * XLB_SLOT_BLOCK;
	*max = m->nblocks * XLB_SLOT_BLOCK;
	return 0;
}

int xlb_tables_new(struct xlb_maps *m, struct xlb_vip *vips, size_t n)
{
	size_t i;
	int err;

	err = tables_map(m);
	for (i = 0; !err && i < n; i++) {
		err = space_alloc(m, vips[i].table_size, &vips[i].table_off);
		if (err)
			break;
		space_fill(m, vips[i].table_off, vips[i].table_size, NULL);
	}
	while (err && i--) /* vips[i] failed: the ones before it go back */
		space_release(m, vips[i].table_off, vips[i].table_size, 1);
	return err;
}

void xlb_tables_free(struct xlb_maps *m, const struct xlb_vip *vip)
{
	if (!tables_map(m))
		space_release(m, vip->table_off, vip->table_size, 0);
}

/* The key and live value of VIP id. */
static int vip_by_id(struct xlb_maps *m, __u32 id, struct xlb_vip_key *k, struct xlb_vip *v)
{
	int err;

	err = ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_vip_keys), &id, k));
	if (!err && !k->family)
		err = -ENOENT;
	if (!err)
		err = xlb_vip_get(m, k, v);
	return err;
}

/*
 * The live chains of cur that a new table of vip's may continue: same size
 * and hash mode, and the VIP keeps chains; else NULL (no history).
 */
static const __u64 *history_of(const struct xlb_maps *m, const struct xlb_vip *cur,
			       const struct xlb_vip *vip)
{
	if (!(cur->flags & XLB_VIP_F_CHAINS) || cur->table_size != vip->table_size ||
	    (cur->flags ^ vip->flags) & XLB_VIP_F_HASH_SRC || cur->table_off > m->nslots ||
	    cur->table_size > m->nslots - cur->table_off)
		return NULL;
	return &m->chains[cur->table_off];
}

int xlb_table_write(struct xlb_maps *m, const struct xlb_vip *vip,
		    const struct xlb_maglev_node *nodes, size_t n,
		    const struct xlb_chain_member *keep, size_t nkeep)
{
	struct xlb_vip_key key;
	struct xlb_config cfg;
	struct xlb_vip cur, nv;
	__u32 *slots;
	int err;

	slots = malloc((size_t)vip->table_size * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	/* The seed is part of the shared contract: every LB node uses it. */
	err = xlb_config_get(m, &cfg);
	if (!err)
		err = xlb_maglev_build(nodes, n, vip->table_size, cfg.hash_seed, slots);
	if (!err)
		err = tables_map(m);
	if (!err)
		err = vip_by_id(m, vip->id, &key, &cur);
	if (!err)
		err = space_alloc(m, vip->table_size, &nv.table_off);
	if (err)
		goto out;
	nv.id = cur.id;
	nv.flags = cur.flags;
	nv.table_size = vip->table_size;
	/* The new run is not live, the old one is: they never overlap. */
	err = xlb_chains_next(slots, history_of(m, &cur, &nv), nv.table_size, keep, nkeep,
			      &m->chains[nv.table_off]);
	/* Live: one replacement of the VIP's value, offset and size together. */
	if (!err)
		err = ret_errno(bpf_map_update_elem(xlb_vip_map_fd(m, &key), &key, &nv, BPF_EXIST));
	if (err) {
		space_release(m, nv.table_off, nv.table_size, 1);
		goto out;
	}
	space_release(m, cur.table_off, cur.table_size, 0);
out:
	free(slots);
	return err;
}

__u32 xlb_vip_table_size(const struct xlb_vip *vip, size_t members)
{
	return vip->flags & XLB_VIP_F_SIZE_AUTO ? xlb_maglev_size_auto(members) : vip->table_size;
}

int xlb_table_input_init(struct xlb_table_input *in, size_t members)
{
	memset(in, 0, sizeof(*in));
	in->nodes = calloc(members + 1, sizeof(*in->nodes));
	in->keys = calloc(members + 1, sizeof(*in->keys));
	in->keep = calloc(members + 1, sizeof(*in->keep));
	in->cap = members;
	return in->nodes && in->keys && in->keep ? 0 : -ENOMEM;
}

void xlb_table_input_add(struct xlb_table_input *in, __u32 id, const struct xlb_backend *b,
			 __u32 weight)
{
	if (in->nkeep == in->cap)
		return;
	in->keep[in->nkeep].id = id;
	in->keep[in->nkeep++].family = b->family;
	if (!weight || b->state != XLB_BE_ACTIVE)
		return;
	xlb_backend_key(b, in->keys[in->n], sizeof(in->keys[in->n]));
	in->nodes[in->n].key = in->keys[in->n];
	in->nodes[in->n].weight = weight;
	in->nodes[in->n++].id = id;
}

int xlb_table_input_write(struct xlb_maps *m, const struct xlb_vip *vip,
			  const struct xlb_table_input *in)
{
	return xlb_table_write(m, vip, in->nodes, in->n, in->keep, in->nkeep);
}

void xlb_table_input_free(struct xlb_table_input *in)
{
	free(in->nodes);
	free(in->keys);
	free(in->keep);
	memset(in, 0, sizeof(*in));
}

int xlb_table_rebuild(struct xlb_maps *m, const struct xlb_vip *vip)
{
	struct xlb_member_list c = {.vip_id = vip->id, .be_id = ~0U};
	struct xlb_table_input in = {};
	struct xlb_vip sized = *vip;
	struct xlb_backend b;
	size_t i;
	int err;

	err = xlb_member_foreach(m, xlb_member_list_add, &c);
	if (!err)
		err = xlb_table_input_init(&in, c.n);
	for (i = 0; !err && i < c.n; i++)
		if (!xlb_backend_get(m, c.keys[i].backend_id, &b) && b.state != XLB_BE_UNUSED)
			xlb_table_input_add(&in, c.keys[i].backend_id, &b, c.vals[i].weight);
	sized.table_size = xlb_vip_table_size(vip, c.n);
	if (!err)
		err = xlb_table_input_write(m, &sized, &in);
	xlb_table_input_free(&in);
	xlb_member_list_free(&c);
	return err;
}

int xlb_table_rebuild_backend(struct xlb_maps *m, __u32 be_id)
{
	struct xlb_member_list c = {.vip_id = ~0U, .be_id = be_id};
	struct xlb_vip_key k;
	struct xlb_vip v;
	size_t i;
	int err;

	err = xlb_member_foreach(m, xlb_member_list_add, &c);
	for (i = 0; !err && i < c.n; i++) {
		err = vip_by_id(m, c.keys[i].vip_id, &k, &v);
		if (!err)
			err = xlb_table_rebuild(m, &v);
		else if (err == -ENOENT)
			err = 0; /* a VIP going away */
	}
	xlb_member_list_free(&c);
	return err;
}

/* The first slot of VIP vip_id's live table of size slots, or -ESTALE for another size. */
static int table_run(struct xlb_maps *m, __u32 vip_id, __u32 size, __u32 *off)
{
	struct xlb_vip_key k;
	struct xlb_vip v;
	int err;

	err = tables_map(m);
	if (!err)
		err = vip_by_id(m, vip_id, &k, &v);
	if (err)
		return err;
	if (v.table_size != size || v.table_off > m->nslots || size > m->nslots - v.table_off)
		return -ESTALE;
	*off = v.table_off;
	return 0;
}

int xlb_table_read(struct xlb_maps *m, __u32 vip_id, __u32 *table, __u32 size)
{
	__u32 i, off;
	int err;

	err = table_run(m, vip_id, size, &off);
	for (i = 0; !err && i < size; i++) {
		table[i] = xlb_slot_id(m->chains[off + i], 0);
		if (table[i] == XLB_SLOT_NONE)
			table[i] = XLB_NO_BACKEND;
	}
	return err;
}

int xlb_table_read_chains(struct xlb_maps *m, __u32 vip_id, __u64 *chains, __u32 size)
{
	__u32 off;
	int err;

	err = table_run(m, vip_id, size, &off);
	if (!err)
		memcpy(chains, &m->chains[off], (size_t)size * sizeof(*chains));
	return err;
}

int xlb_table_read_slot(struct xlb_maps *m, __u32 vip_id, __u32 size, __u32 slot, __u64 *chain)
{
	__u32 off;
	int err;

	err = slot < size ? table_run(m, vip_id, size, &off) : -ERANGE;
	if (!err)
		*chain = m->chains[off + slot];
	return err;
}

/* FNV-1a 64: byte-wise, defined the same on every host, no seed. */
#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME  0x100000001b3ULL

static __u64 fnv64(__u64 h, const void *p, size_t len)
{
	const unsigned char *b = p;

	while (len--)
		h = (h ^ *b++) * FNV64_PRIME;
	return h;
}

/*
 * One slot as digested: the backend's identity, never its id (ids are
 * local: two nodes given the same configuration may number backends
 * differently). family 0 is an empty slot, 0xff an id with no backend
 * behind it (a torn read, or a bug: either way the digests differ).
 */
struct digest_slot {
	__u8 family;
	__u8 pad;
	__be16 port;
	__be32 addr[4];
};
_Static_assert(sizeof(struct digest_slot) == 20, "digest_slot size");

/* Slot field id as digested. */
static void digest_slot_of(struct digest_slot *ds, const struct xlb_backend *all, __u32 id)
{
	memset(ds, 0, sizeof(*ds));
	if (id == XLB_SLOT_NONE) {
		ds->family = 0;
	} else if (id >= XLB_MAX_BACKENDS || all[id].state == XLB_BE_UNUSED) {
		ds->family = 0xff;
	} else {
		ds->family = all[id].family;
		ds->port = all[id].port;
		memcpy(ds->addr, all[id].addr, sizeof(ds->addr));
	}
}

int xlb_table_digest(struct xlb_maps *m, const struct xlb_vip *vip, const struct xlb_backend *all,
		     __u64 *digest, __u64 *chain_digest)
{
	struct xlb_backend *own = NULL;
	struct digest_slot ds;
	struct xlb_config cfg;
	__u32 i, j, hdr[4];
	__u64 *t, h = FNV64_OFFSET, hc = FNV64_OFFSET;
	int err;

	err = xlb_config_get(m, &cfg);
	if (err)
		return err;
	t = malloc((size_t)vip->table_size * sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (!all) {
		own = xlb_backends_read_new(m);
		if (!own) {
			err = -errno;
			goto out;
		}
		all = own;
	}
	err = xlb_table_read_chains(m, vip->id, t, vip->table_size);
	if (err)
		goto out;
	/*
	 * What a flow's slot depends on besides the slots: size, hash mode
	 * and the hash seed (equal tables under different seeds send a flow
	 * to different slots). Format 2 (the seed added) digests primaries;
	 * format 3 every field of every chain.
	 */
	hdr[0] = htonl(2);
	hdr[1] = htonl(vip->table_size);
	hdr[2] = htonl(vip->flags & XLB_VIP_F_HASH_SRC);
	hdr[3] = htonl(cfg.hash_seed);
	h = fnv64(h, hdr, sizeof(hdr));
	hdr[0] = htonl(3);
	hc = fnv64(hc, hdr, sizeof(hdr));
	for (i = 0; i < vip->table_size; i++) {
		for (j = 0; j < XLB_SLOT_IDS; j++) {
			digest_slot_of(&ds, all, xlb_slot_id(t[i], j));
			if (!j)
				h = fnv64(h, &ds, sizeof(ds));
			hc = fnv64(hc, &ds, sizeof(ds));
		}
	}
	*digest = h;
	if (chain_digest)
		*chain_digest = hc;
out:
	free(own);
	free(t);
	return err;
}
