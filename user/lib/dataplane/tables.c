// SPDX-License-Identifier: GPL-2.0-only
/*
 * Maglev tables in the maps: each VIP's two inner array maps in
 * xlb_tables, written in place through mmap and swapped in with one write
 * of xlb_table_gen; rebuilt from a VIP's members; read back and digested.
 * The table itself is computed by maglev.c.
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
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"
#include "dataplane/tables.h"
#include "xlb_lb.skel.h"

/*
 * Array maps store each value in a slot rounded up to 8 bytes, and mmap
 * shows that layout: a table's slot i is the first 32-bit word of 8-byte
 * element i (the other word is padding).
 */
#define TABLE_STRIDE 8

static size_t table_mmap_len(__u32 size)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return ((size_t)size * TABLE_STRIDE + page - 1) & ~(page - 1);
}

/* Fill table fd (size slots) in place from slots (NULL: empty). */
static int table_fill(int fd, __u32 size, const __u32 *slots)
{
	size_t len = table_mmap_len(size);
	__u32 *mem, i;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	for (i = 0; i < size; i++)
		mem[i * TABLE_STRIDE / sizeof(*mem)] = slots ? slots[i] : XLB_NO_BACKEND;
	munmap(mem, len);
	return 0;
}

/* A new table of size slots filled from slots (NULL: every slot empty). */
static int table_create(__u32 size, const __u32 *slots)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_maglev", sizeof(__u32), sizeof(__u32), size,
			    &opts);
	if (fd < 0)
		return -errno;
	err = table_fill(fd, size, slots);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * Each VIP has two tables, at 2 * id and 2 * id + 1 in xlb_tables, and
 * xlb_table_gen[id] says which is live. A new table is written into the
 * idle one in place and goes live with one array write. Installing an inner
 * map costs an RCU grace period in the kernel (~10 ms), so maps are only
 * installed when a VIP is created or its table size changes, many at once.
 */
static __u32 table_slot(__u32 vip_id, __u32 gen)
{
	return vip_id * 2 + (gen & 1);
}

static int table_gen(struct xlb_maps *m, __u32 vip_id, __u32 *gen)
{
	return ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_table_gen), &vip_id, gen));
}

int xlb_table_gen_set(struct xlb_maps *m, __u32 vip_id, __u32 gen)
{
	return ret_errno(
		bpf_map_update_elem(map_fd(m->skel->maps.xlb_table_gen), &vip_id, &gen, BPF_ANY));
}

/* The inner map at slot, if it has size entries; -ENOENT / -ESTALE else. */
static int table_open(struct xlb_maps *m, __u32 slot, __u32 size)
{
	struct bpf_map_info info = {};
	__u32 inner_id, len = sizeof(info);
	int fd, err;

	if (bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_tables), &slot, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (info.max_entries != size) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Take both tables of a VIP away (array-of-maps has no batched delete). */
void xlb_tables_remove(struct xlb_maps *m, __u32 vip_id)
{
	__u32 slot;
	int half;

	for (half = 0; half < 2; half++) {
		slot = table_slot(vip_id, half);
		bpf_map_delete_elem(map_fd(m->skel->maps.xlb_tables), &slot);
	}
}

/*
 * Give both table slots of each VIP an empty table of its size, with one
 * batched update of xlb_tables (one grace period for all of them).
 */
int xlb_tables_install(struct xlb_maps *m, const struct xlb_vip *vips, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys, count;
	int *fds, err = 0;
	size_t i, j = 0;

	keys = calloc(2 * n + 1, sizeof(*keys));
	fds = calloc(2 * n + 1, sizeof(*fds));
	if (!keys || !fds) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		for (int half = 0; half < 2; half++) {
			fds[j] = table_create(vips[i].table_size, NULL);
			if (fds[j] < 0) {
				err = fds[j];
				goto out;
			}
			keys[j++] = table_slot(vips[i].id, half);
		}
	}
	count = j;
	if (j && bpf_map_update_batch(map_fd(m->skel->maps.xlb_tables), keys, fds, &count, &opts))
		err = -errno;
out:
	while (j--)
		close(fds[j]);
	free(fds);
	free(keys);
	return err;
}

int xlb_table_write(struct xlb_maps *m, const struct xlb_vip *vip,
		    const struct xlb_maglev_node *nodes, size_t n)
{
	struct xlb_config cfg;
	__u32 *slots, gen, idle;
	int err, fd;

	slots = malloc((size_t)vip->table_size * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	/* The seed is part of the shared contract: every LB node uses it. */
	err = xlb_config_get(m, &cfg);
	if (!err)
		err = xlb_maglev_build(nodes, n, vip->table_size, cfg.hash_seed, slots);
	if (!err)
		err = table_gen(m, vip->id, &gen);
	if (err)
		goto out;
	idle = table_slot(vip->id, gen + 1);
	fd = table_open(m, idle, vip->table_size);
	if (fd == -ENOENT || fd == -ESTALE) {
		/* First use, or a new size: a new map (and one grace period). */
		fd = table_create(vip->table_size, slots);
		if (fd >= 0 &&
		    bpf_map_update_elem(map_fd(m->skel->maps.xlb_tables), &idle, &fd, BPF_ANY)) {
			err = -errno;
			close(fd);
			goto out;
		}
	} else if (fd >= 0) {
		/*
		 * The idle table is not read by new packets; one that looked up
		 * the VIP before the previous flip may still be reading it for
		 * a few nanoseconds, and would see slots of either table: every
		 * one names a valid backend, and the state check applies.
		 */
		err = table_fill(fd, vip->table_size, slots);
	}
	if (fd < 0) {
		err = fd;
		goto out;
	}
	close(fd);
	if (!err)
		err = xlb_table_gen_set(m, vip->id, gen + 1); /* live: one write */
out:
	free(slots);
	return err;
}

int xlb_table_rebuild(struct xlb_maps *m, const struct xlb_vip *vip)
{
	struct xlb_member_list c = {.vip_id = vip->id, .be_id = ~0U};
	struct xlb_maglev_node *nodes = NULL;
	char(*keys)[XLB_VIPSTRLEN] = NULL;
	struct xlb_backend b;
	size_t i, n = 0;
	int err;

	err = xlb_member_foreach(m, xlb_member_list_add, &c);
	if (err)
		goto out;
	nodes = calloc(c.n + 1, sizeof(*nodes));
	keys = calloc(c.n + 1, sizeof(*keys));
	if (!nodes || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < c.n; i++) {
		if (xlb_backend_get(m, c.keys[i].backend_id, &b) || b.state != XLB_BE_ACTIVE ||
		    !c.vals[i].weight)
			continue;
		xlb_backend_key(&b, keys[n], sizeof(keys[n]));
		nodes[n].key = keys[n];
		nodes[n].weight = c.vals[i].weight;
		nodes[n].id = c.keys[i].backend_id;
		n++;
	}
	err = xlb_table_write(m, vip, nodes, n);
out:
	free(keys);
	free(nodes);
	xlb_member_list_free(&c);
	return err;
}

struct vip_by_id {
	__u32 id;
	struct xlb_vip vip;
	int found;
};

static int find_vip_id(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct vip_by_id *f = arg;

	if (v->id == f->id) {
		f->vip = *v;
		f->found = 1;
	}
	return 0;
}

int xlb_table_rebuild_backend(struct xlb_maps *m, __u32 be_id)
{
	struct xlb_member_list c = {.vip_id = ~0U, .be_id = be_id};
	struct vip_by_id f;
	size_t i;
	int err;

	err = xlb_member_foreach(m, xlb_member_list_add, &c);
	for (i = 0; !err && i < c.n; i++) {
		f = (struct vip_by_id){.id = c.keys[i].vip_id};
		err = xlb_vip_foreach(m, find_vip_id, &f);
		if (!err && f.found)
			err = xlb_table_rebuild(m, &f.vip);
	}
	xlb_member_list_free(&c);
	return err;
}

int xlb_table_read(struct xlb_maps *m, __u32 vip_id, __u32 *table, __u32 size)
{
	size_t len = table_mmap_len(size);
	__u32 gen, i, *mem;
	int fd, err;

	err = table_gen(m, vip_id, &gen);
	if (err)
		return err;
	fd = table_open(m, table_slot(vip_id, gen), size);
	if (fd < 0)
		return fd;
	mem = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		err = -errno;
	} else {
		for (i = 0; i < size; i++)
			table[i] = mem[i * TABLE_STRIDE / sizeof(*mem)];
		munmap(mem, len);
	}
	close(fd);
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

int xlb_table_digest(struct xlb_maps *m, const struct xlb_vip *vip, const struct xlb_backend *all,
		     __u64 *digest)
{
	struct xlb_backend *own = NULL;
	struct digest_slot ds;
	struct xlb_config cfg;
	__u32 *t, i, hdr[4];
	__u64 h = FNV64_OFFSET;
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
	err = xlb_table_read(m, vip->id, t, vip->table_size);
	if (err)
		goto out;
	/*
	 * What a flow's slot depends on besides the slots: size, hash mode
	 * and the hash seed (equal tables under different seeds send a flow
	 * to different slots).
	 */
	hdr[0] = htonl(2); /* digest format: 2 added the seed */
	hdr[1] = htonl(vip->table_size);
	hdr[2] = htonl(vip->flags & XLB_VIP_F_HASH_SRC);
	hdr[3] = htonl(cfg.hash_seed);
	h = fnv64(h, hdr, sizeof(hdr));
	for (i = 0; i < vip->table_size; i++) {
		memset(&ds, 0, sizeof(ds));
		if (t[i] == XLB_NO_BACKEND) {
			ds.family = 0;
		} else if (t[i] >= XLB_MAX_BACKENDS || all[t[i]].state == XLB_BE_UNUSED) {
			ds.family = 0xff;
		} else {
			ds.family = all[t[i]].family;
			ds.port = all[t[i]].port;
			memcpy(ds.addr, all[t[i]].addr, sizeof(ds.addr));
		}
		h = fnv64(h, &ds, sizeof(ds));
	}
	*digest = h;
out:
	free(own);
	free(t);
	return err;
}
