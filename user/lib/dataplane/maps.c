// SPDX-License-Identifier: GPL-2.0-only
/*
 * The typed map layer. Maps are reached only through the skeletons: the
 * skeleton is opened (not loaded) with the pin directory as pin root, so
 * libbpf names each map's pin path, and each map adopts its pinned fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/nat.h>

#include "base/addr.h"
#include "base/log.h"
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "base/vec.h"
#include "xlb_decap.skel.h"
#include "xlb_lb.skel.h"

__u64 xlb_now_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__u64 xlb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const char *xlb_pin_dir_default(void)
{
	const char *d = getenv("XLB_PIN_DIR");

	return d && *d ? d : XLB_PIN_DIR_DEFAULT;
}

static int is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int xlb_pin_dir_prepare(const char *dir)
{
	char parent[PATH_MAX];
	char *slash;
	int err;

	if (is_bpffs(dir))
		return 0;
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	/* The usual place: mount the standard bpffs, then create our folder. */
	if (!is_bpffs(parent) && !strcmp(parent, "/sys/fs/bpf")) {
		if (mount("bpf", parent, "bpf", 0, "mode=0700"))
			return -errno;
		pr_info("mounted bpffs on %s\n", parent);
	}
	if (is_bpffs(parent)) {
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
		return 0;
	}
	err = mkdir_p(dir);
	if (err)
		return err;
	if (mount("bpf", dir, "bpf", 0, "mode=0700"))
		return -errno;
	pr_info("mounted bpffs on %s\n", dir);
	return 0;
}

int xlb_pin_dir_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Give every pinned map of obj the fd of its pin; -ENOENT if one is missing. */
static int adopt_pins(struct bpf_object *obj)
{
	struct bpf_map *map;
	const char *path;
	int fd, err;

	bpf_object__for_each_map(map, obj) {
		path = bpf_map__pin_path(map);
		if (!path)
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			return -errno;
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

static void unlock(int *lock_fd)
{
	if (*lock_fd >= 0)
		close(*lock_fd);
	*lock_fd = -1;
}

enum skel_kind { SKEL_LB, SKEL_DECAP };

static void skel_destroy(enum skel_kind kind, void *skel)
{
	if (kind == SKEL_LB)
		xlb_lb__destroy(skel);
	else
		xlb_decap__destroy(skel);
}

/*
 * Open the skeleton of kind over the pins of pin_dir, for both map sets:
 * open it (never load it), take the lock if asked, give each map its pin's
 * fd; dir keeps pin_dir. *skel is the skeleton, or NULL on error (then
 * nothing is held).
 */
static int skel_open(enum skel_kind kind, const char *pin_dir, int lock, void **skel,
		     int *lock_fd, char dir[PATH_MAX])
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct xlb_decap *decap = NULL;
	struct xlb_lb *lb = NULL;
	struct bpf_object *obj;
	int err;

	snprintf(dir, PATH_MAX, "%s", pin_dir);
	*lock_fd = -1;
	if (kind == SKEL_LB)
		*skel = lb = xlb_lb__open_opts(&opts);
	else
		*skel = decap = xlb_decap__open_opts(&opts);
	obj = lb ? lb->obj : decap ? decap->obj : NULL;
	if (!obj)
		return -errno;
	if (lock) {
		*lock_fd = xlb_pin_dir_lock(pin_dir);
		if (*lock_fd < 0) {
			err = *lock_fd;
			*lock_fd = -1;
			goto out_destroy;
		}
	}
	err = adopt_pins(obj);
	if (!err)
		return 0;
	unlock(lock_fd);
out_destroy:
	skel_destroy(kind, *skel);
	*skel = NULL;
	return err;
}

int xlb_maps_open(struct xlb_maps *m, const char *pin_dir, int lock)
{
	void *skel;
	int err;

	memset(m, 0, sizeof(*m));
	err = skel_open(SKEL_LB, pin_dir, lock, &skel, &m->lock_fd, m->pin_dir);
	m->skel = skel;
	return err;
}

void xlb_maps_close(struct xlb_maps *m)
{
	skel_destroy(SKEL_LB, m->skel);
	m->skel = NULL;
	unlock(&m->lock_fd);
}

int xlb_decap_maps_open(struct xlb_decap_maps *m, const char *pin_dir, int lock)
{
	void *skel;
	int err;

	memset(m, 0, sizeof(*m));
	err = skel_open(SKEL_DECAP, pin_dir, lock, &skel, &m->lock_fd, m->pin_dir);
	m->skel = skel;
	return err;
}

void xlb_decap_maps_close(struct xlb_decap_maps *m)
{
	skel_destroy(SKEL_DECAP, m->skel);
	m->skel = NULL;
	unlock(&m->lock_fd);
}

static int map_fd(const struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static int ret_errno(int ret)
{
	return ret ? -errno : 0;
}

/* --- per-CPU values ------------------------------------------------------ */

/* Sum n __u64 counters of a per-CPU value of size vsz at key. */
static int percpu_sum(int fd, __u32 key, size_t vsz, __u64 *sum, size_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (vsz + 7) & ~7UL;
	__u64 *buf;
	int cpu, err = 0;
	size_t i;

	if (ncpu < 0)
		return ncpu;
	buf = calloc(ncpu, stride);
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, buf)) {
		err = -errno;
		goto out;
	}
	memset(sum, 0, n * sizeof(*sum));
	for (cpu = 0; cpu < ncpu; cpu++)
		for (i = 0; i < n; i++)
			sum[i] += buf[cpu * stride / 8 + i];
out:
	free(buf);
	return err;
}

/* Zero a per-CPU value on every CPU. */
static int percpu_zero(int fd, __u32 key, size_t vsz)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (vsz + 7) & ~7UL;
	void *buf;
	int err;

	if (ncpu < 0)
		return ncpu;
	buf = calloc(ncpu, stride);
	if (!buf)
		return -ENOMEM;
	err = ret_errno(bpf_map_update_elem(fd, &key, buf, BPF_ANY));
	free(buf);
	return err;
}

int xlb_stats_reasons(struct xlb_maps *m, struct xlb_reason_count out[XLB_R_MAX])
{
	int fd = map_fd(m->skel->maps.xlb_reasons);
	__u32 r;
	int err;

	for (r = 0; r < XLB_R_MAX; r++) {
		err = percpu_sum(fd, r, sizeof(out[r]), (__u64 *)&out[r], 2);
		if (err)
			return err;
	}
	return 0;
}

int xlb_decap_stats(struct xlb_decap_maps *m, struct xlb_reason_count out[XLB_D_MAX])
{
	int fd = map_fd(m->skel->maps.xlb_decap_stats);
	__u32 r;
	int err;

	for (r = 0; r < XLB_D_MAX; r++) {
		err = percpu_sum(fd, r, sizeof(out[r]), (__u64 *)&out[r], 2);
		if (err)
			return err;
	}
	return 0;
}

int xlb_stats_vip(struct xlb_maps *m, __u32 id, struct xlb_traffic *out)
{
	return percpu_sum(map_fd(m->skel->maps.xlb_vip_stats), id, sizeof(*out),
			  (__u64 *)out, 3);
}

int xlb_stats_backend(struct xlb_maps *m, __u32 id, struct xlb_traffic *out)
{
	return percpu_sum(map_fd(m->skel->maps.xlb_backend_stats), id, sizeof(*out),
			  (__u64 *)out, 3);
}

int xlb_nexthop_set(struct xlb_maps *m, __u32 id, const struct xlb_nexthop *nh)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, err;
	struct xlb_nexthop *buf;

	if (ncpu < 0)
		return ncpu;
	buf = calloc(ncpu, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (cpu = 0; cpu < ncpu; cpu++)
		buf[cpu] = *nh;
	err = ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_nexthops), &id, buf,
					    BPF_ANY));
	free(buf);
	return err;
}

/* --- config -------------------------------------------------------------- */

int xlb_config_get(struct xlb_maps *m, struct xlb_config *c)
{
	__u32 zero = 0;

	return ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_config), &zero, c));
}

int xlb_config_set(struct xlb_maps *m, const struct xlb_config *c)
{
	__u32 zero = 0;

	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_config), &zero, c,
					     BPF_ANY));
}

/* --- VIPs ---------------------------------------------------------------- */

int xlb_vip_get(struct xlb_maps *m, const struct xlb_vip_key *k, struct xlb_vip *v)
{
	return ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_vips), k, v));
}

/*
 * One step through a hash map: the entry after *prev (NULL: the first) into
 * key, and its value into value unless value is NULL; *prev then points at
 * key and next is scratch of the key's size. Entries deleted while walking
 * are skipped. Returns 1 with an entry, 0 at the end, or a negative errno.
 */
static int map_next(int fd, void **prev, void *key, void *next, size_t key_size, void *value)
{
	for (;;) {
		if (bpf_map_get_next_key(fd, *prev, next))
			return errno == ENOENT ? 0 : -errno;
		memcpy(key, next, key_size);
		*prev = key;
		if (!value || !bpf_map_lookup_elem(fd, key, value))
			return 1;
	}
}

int xlb_vip_foreach(struct xlb_maps *m, xlb_vip_cb cb, void *arg)
{
	int fd = map_fd(m->skel->maps.xlb_vips);
	struct xlb_vip_key k, next;
	struct xlb_vip v;
	void *prev = NULL;
	int ret;

	while ((ret = map_next(fd, &prev, &k, &next, sizeof(k), &v)) > 0) {
		ret = cb(&k, &v, arg);
		if (ret)
			return ret;
	}
	return ret;
}

static int mark_vip_id(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	unsigned char *used = arg;

	if (v->id < XLB_MAX_VIPS)
		used[v->id] = 1;
	return 0;
}

/*
 * Array maps store each value in a slot rounded up to 8 bytes, and mmap
 * shows that layout: a table's slot i is the first 32-bit word of 8-byte
 * element i (the other word is padding).
 */
#define TABLE_STRIDE	8

static size_t table_mmap_len(__u32 size)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return ((size_t)size * TABLE_STRIDE + page - 1) & ~(page - 1);
}

/* A new table of size slots filled from slots (NULL: every slot empty). */
static int table_create(__u32 size, const __u32 *slots)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts,
		    .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	size_t len = table_mmap_len(size);
	__u32 *mem, i;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_maglev", sizeof(__u32),
			    sizeof(__u32), size, &opts);
	if (fd < 0)
		return -errno;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	for (i = 0; i < size; i++)
		mem[i * TABLE_STRIDE / sizeof(*mem)] = slots ? slots[i] : XLB_NO_BACKEND;
	munmap(mem, len);
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

static int table_gen_set(struct xlb_maps *m, __u32 vip_id, __u32 gen)
{
	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_table_gen), &vip_id, &gen,
					     BPF_ANY));
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

/* Take both tables of a VIP away (array-of-maps has no batched delete). */
static void tables_remove(struct xlb_maps *m, __u32 vip_id)
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
static int tables_install(struct xlb_maps *m, const struct xlb_vip *vips, size_t n)
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

int xlb_vips_create(struct xlb_maps *m, const struct xlb_vip_key *keys, struct xlb_vip *vips,
		    size_t n)
{
	unsigned char *used;
	struct xlb_vip old;
	size_t i, made = 0;
	int err, tables_installed = 0;
	__u32 id = 0;

	for (i = 0; i < n; i++) {
		if (!xlb_maglev_size_valid(vips[i].table_size))
			return -EINVAL;
		if (!xlb_vip_get(m, &keys[i], &old))
			return -EEXIST;
	}
	used = calloc(XLB_MAX_VIPS, 1);
	if (!used)
		return -ENOMEM;
	err = xlb_vip_foreach(m, mark_vip_id, used);
	for (i = 0; !err && i < n; i++) {
		while (id < XLB_MAX_VIPS && used[id])
			id++;
		if (id == XLB_MAX_VIPS)
			err = -ENOSPC;
		else
			vips[i].id = id++;
	}
	if (!err) {
		err = tables_install(m, vips, n);
		tables_installed = 1;	/* even partly: remove on failure */
	}
	for (i = 0; !err && i < n; i++) {
		percpu_zero(map_fd(m->skel->maps.xlb_vip_stats), vips[i].id,
			    sizeof(struct xlb_traffic));
		err = table_gen_set(m, vips[i].id, 0);
		if (!err)
			err = ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_vips), &keys[i],
							    &vips[i], BPF_NOEXIST));
		if (!err)
			made++;
	}
	/* On failure nothing half-made stays: the VIPs and tables of this call. */
	for (i = 0; err && i < n; i++) {
		if (i < made)
			bpf_map_delete_elem(map_fd(m->skel->maps.xlb_vips), &keys[i]);
		if (tables_installed)
			tables_remove(m, vips[i].id);
	}
	free(used);
	return err;
}

int xlb_vip_create(struct xlb_maps *m, const struct xlb_vip_key *k, __u32 flags,
		   __u32 table_size, struct xlb_vip *out)
{
	struct xlb_vip v = { .flags = flags, .table_size = table_size };
	int err = xlb_vips_create(m, k, &v, 1);

	if (!err && out)
		*out = v;
	return err;
}

struct member_collect {
	__u32 vip_id;		/* ~0: any VIP */
	__u32 be_id;		/* ~0: any backend */
	struct xlb_member_key *keys;
	struct xlb_member *vals;
	size_t n, cap;
};

static int collect_member(const struct xlb_member_key *k, const struct xlb_member *v, void *arg)
{
	struct member_collect *c = arg;

	if ((c->vip_id != ~0U && k->vip_id != c->vip_id) ||
	    (c->be_id != ~0U && k->backend_id != c->be_id))
		return 0;
	if (xlb_vec_room((void **)&c->keys, sizeof(*c->keys), (void **)&c->vals,
			 sizeof(*c->vals), c->n, &c->cap, 64))
		return -ENOMEM;
	c->keys[c->n] = *k;
	c->vals[c->n++] = *v;
	return 0;
}

static void member_collect_free(struct member_collect *c)
{
	free(c->keys);
	free(c->vals);
}

int xlb_vip_delete(struct xlb_maps *m, const struct xlb_vip_key *k)
{
	struct member_collect c = { .be_id = ~0U };
	struct xlb_vip v;
	size_t i;
	int err;

	err = xlb_vip_get(m, k, &v);
	if (err)
		return err;
	/* Stop matching first, then take the rest away. */
	err = ret_errno(bpf_map_delete_elem(map_fd(m->skel->maps.xlb_vips), k));
	if (err)
		return err;
	tables_remove(m, v.id);
	c.vip_id = v.id;
	err = xlb_member_foreach(m, collect_member, &c);
	for (i = 0; !err && i < c.n; i++) {
		xlb_member_del(m, v.id, c.keys[i].backend_id);
		err = xlb_backend_release(m, c.keys[i].backend_id);
	}
	member_collect_free(&c);
	return err;
}

/* --- backends ------------------------------------------------------------ */

int xlb_backend_get(struct xlb_maps *m, __u32 id, struct xlb_backend *b)
{
	if (id >= XLB_MAX_BACKENDS)
		return -ENOENT;
	if (bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_backends), &id, b))
		return -errno;
	return b->state == XLB_BE_UNUSED ? -ENOENT : 0;
}

int xlb_backends_read(struct xlb_maps *m, struct xlb_backend *all)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys, out_batch, count = XLB_MAX_BACKENDS;
	int err = 0;

	keys = calloc(XLB_MAX_BACKENDS, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	if (bpf_map_lookup_batch(map_fd(m->skel->maps.xlb_backends), NULL, &out_batch, keys,
				 all, &count, &opts) && errno != ENOENT)
		err = -errno;
	free(keys);
	return err;
}

int xlb_backend_write(struct xlb_maps *m, __u32 id, const struct xlb_backend *b)
{
	if (id >= XLB_MAX_BACKENDS)
		return -EINVAL;
	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_backends), &id, b, BPF_ANY));
}

int xlb_vip_update(struct xlb_maps *m, const struct xlb_vip_key *k, const struct xlb_vip *v)
{
	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_vips), k, v, BPF_EXIST));
}

/* The whole backend array, allocated; NULL with errno on failure. */
static struct xlb_backend *backends_read(struct xlb_maps *m)
{
	struct xlb_backend *all = calloc(XLB_MAX_BACKENDS, sizeof(*all));
	int err;

	if (!all) {
		errno = ENOMEM;
		return NULL;
	}
	err = xlb_backends_read(m, all);
	if (err) {
		free(all);
		errno = -err;
		return NULL;
	}
	return all;
}

int xlb_backend_find(struct xlb_maps *m, const struct xlb_addr_key *a, __u16 port, __u32 *id)
{
	struct xlb_backend *all = backends_read(m);
	__u32 i;
	int err = -ENOENT;

	if (!all)
		return -errno ? -errno : -ENOMEM;
	for (i = 0; i < XLB_MAX_BACKENDS; i++) {
		if (all[i].state != XLB_BE_UNUSED && all[i].family == a->family &&
		    all[i].port == htons(port) && !memcmp(all[i].addr, a->addr, 16)) {
			*id = i;
			err = 0;
			break;
		}
	}
	free(all);
	return err;
}

int xlb_backend_ensure(struct xlb_maps *m, const struct xlb_addr_key *a, __u16 port, __u32 *id)
{
	struct xlb_backend *all, b = {};
	__u32 i, free_id = ~0U;
	int err;

	all = backends_read(m);
	if (!all)
		return -ENOMEM;
	for (i = 0; i < XLB_MAX_BACKENDS; i++) {
		if (all[i].state == XLB_BE_UNUSED) {
			if (free_id == ~0U)
				free_id = i;
			continue;
		}
		if (all[i].family == a->family && all[i].port == htons(port) &&
		    !memcmp(all[i].addr, a->addr, 16)) {
			*id = i;
			free(all);
			return 0;
		}
	}
	free(all);
	if (free_id == ~0U)
		return -ENOSPC;
	memcpy(b.addr, a->addr, 16);
	b.family = a->family;
	b.port = htons(port);
	b.state = XLB_BE_ACTIVE;
	percpu_zero(map_fd(m->skel->maps.xlb_backend_stats), free_id, sizeof(struct xlb_traffic));
	percpu_zero(map_fd(m->skel->maps.xlb_nexthops), free_id, sizeof(struct xlb_nexthop));
	err = ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_backends), &free_id,
					    &b, BPF_ANY));
	if (!err)
		*id = free_id;
	return err;
}

/* Write a backend's state and who set it; the rest of its entry stays. */
static int backend_put_state(struct xlb_maps *m, __u32 id, struct xlb_backend *b,
			     enum xlb_backend_state state, enum xlb_backend_by by)
{
	b->state = state;
	b->by = by;
	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_backends), &id, b,
					     BPF_ANY));
}

/**
 * xlb_backend_set_state() - the agent's state of a backend
 * @m: the maps
 * @id: the backend
 * @state: XLB_BE_ACTIVE, XLB_BE_DRAINING or XLB_BE_DOWN
 *
 * A state the operator holds (xlb_backend_hold()) stays as it is.
 * Return: 0, -EBUSY when the operator holds the backend, -ENOENT for a
 * free slot, -EINVAL for a bad @state, or another negative errno.
 */
int xlb_backend_set_state(struct xlb_maps *m, __u32 id, enum xlb_backend_state state)
{
	struct xlb_backend b;
	int err;

	if (state == XLB_BE_UNUSED || state >= XLB_BE_STATE_MAX)
		return -EINVAL;
	err = xlb_backend_get(m, id, &b);
	if (err)
		return err;
	if (xlb_backend_held(&b))
		return -EBUSY;
	return backend_put_state(m, id, &b, state, XLB_BY_AGENT);
}

/**
 * xlb_backend_hold() - the operator's state of a backend (xlb backend set)
 * @m: the maps
 * @id: the backend
 * @state: XLB_BE_DRAINING or XLB_BE_DOWN to hold the backend there (the
 *	agent's writes leave it alone), XLB_BE_ACTIVE to end a hold and hand
 *	the backend back to the agent
 *
 * Return: 0, -ENOENT for a free slot, -EINVAL for a bad @state, or another
 * negative errno.
 */
int xlb_backend_hold(struct xlb_maps *m, __u32 id, enum xlb_backend_state state)
{
	struct xlb_backend b;
	int err;

	if (state == XLB_BE_UNUSED || state >= XLB_BE_STATE_MAX)
		return -EINVAL;
	err = xlb_backend_get(m, id, &b);
	if (err)
		return err;
	return backend_put_state(m, id, &b, state,
				 state == XLB_BE_ACTIVE ? XLB_BY_AGENT : XLB_BY_OPERATOR);
}

/**
 * xlb_backend_held() - whether the operator holds a backend's state
 * @b: a backend entry
 *
 * Return: 1 when the operator set it draining or down, else 0.
 */
int xlb_backend_held(const struct xlb_backend *b)
{
	return b->by == XLB_BY_OPERATOR && b->state != XLB_BE_UNUSED && b->state != XLB_BE_ACTIVE;
}

int xlb_backend_release(struct xlb_maps *m, __u32 id)
{
	struct member_collect c = { .vip_id = ~0U, .be_id = id };
	struct xlb_backend b = {};
	int err;

	err = xlb_member_foreach(m, collect_member, &c);
	member_collect_free(&c);
	if (err || c.n)
		return err;
	err = ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_backends), &id, &b,
					    BPF_ANY));
	if (!err)
		err = xlb_flow_purge_backend(m, id);
	if (!err)
		err = xlb_nat_purge_backend(m, id);
	return err;
}

struct purge {
	__u32 id;
	struct xlb_flow_key *keys;
	size_t n, cap;
};

static int collect_flow_of(const struct xlb_flow_key *k, const struct xlb_flow *v, void *arg)
{
	struct purge *p = arg;

	if (v->backend_id != p->id)
		return 0;
	if (xlb_vec_room((void **)&p->keys, sizeof(*p->keys), NULL, 0, p->n, &p->cap, 256))
		return -ENOMEM;
	p->keys[p->n++] = *k;
	return 0;
}

int xlb_flow_purge_backend(struct xlb_maps *m, __u32 id)
{
	struct purge p = { .id = id };
	size_t i;
	int err;

	/* Keys first, deletes after: deleting while walking restarts the walk. */
	err = xlb_flow_foreach(m, collect_flow_of, &p);
	for (i = 0; !err && i < p.n; i++)
		if (bpf_map_delete_elem(map_fd(m->skel->maps.xlb_flows), &p.keys[i]) &&
		    errno != ENOENT)
			err = -errno;
	free(p.keys);
	return err;
}

/* --- members ------------------------------------------------------------- */

int xlb_member_get(struct xlb_maps *m, __u32 vip_id, __u32 be_id, struct xlb_member *v)
{
	struct xlb_member_key k = { .vip_id = vip_id, .backend_id = be_id };

	return ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_members), &k, v));
}

int xlb_member_set(struct xlb_maps *m, __u32 vip_id, __u32 be_id, __u32 weight)
{
	struct xlb_member_key k = { .vip_id = vip_id, .backend_id = be_id };
	struct xlb_member v = { .weight = weight };

	if (weight > XLB_WEIGHT_MAX)
		return -ERANGE;
	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_members), &k, &v,
					     BPF_ANY));
}

int xlb_member_del(struct xlb_maps *m, __u32 vip_id, __u32 be_id)
{
	struct xlb_member_key k = { .vip_id = vip_id, .backend_id = be_id };

	return ret_errno(bpf_map_delete_elem(map_fd(m->skel->maps.xlb_members), &k));
}

int xlb_member_foreach(struct xlb_maps *m, xlb_member_cb cb, void *arg)
{
	int fd = map_fd(m->skel->maps.xlb_members);
	struct xlb_member_key k, next;
	struct xlb_member v;
	void *prev = NULL;
	int ret;

	while ((ret = map_next(fd, &prev, &k, &next, sizeof(k), &v)) > 0) {
		ret = cb(&k, &v, arg);
		if (ret)
			return ret;
	}
	return ret;
}

/* --- tables -------------------------------------------------------------- */

void xlb_backend_key(const struct xlb_backend *b, char *buf, size_t len)
{
	char a[XLB_ADDRSTRLEN];

	xlb_addr_str(b->addr, b->family, a, sizeof(a));
	snprintf(buf, len, b->family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", a, ntohs(b->port));
}

void xlb_backend_label(const struct xlb_backend *b, char *buf, size_t len)
{
	if (b->port)
		xlb_backend_key(b, buf, len);
	else
		xlb_addr_str(b->addr, b->family, buf, len);
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
		if (fd >= 0 && bpf_map_update_elem(map_fd(m->skel->maps.xlb_tables), &idle, &fd,
						   BPF_ANY)) {
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
		err = table_gen_set(m, vip->id, gen + 1);	/* live: one write */
out:
	free(slots);
	return err;
}

int xlb_table_rebuild(struct xlb_maps *m, const struct xlb_vip *vip)
{
	struct member_collect c = { .vip_id = vip->id, .be_id = ~0U };
	struct xlb_maglev_node *nodes = NULL;
	char (*keys)[XLB_VIPSTRLEN] = NULL;
	struct xlb_backend b;
	size_t i, n = 0;
	int err;

	err = xlb_member_foreach(m, collect_member, &c);
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
	member_collect_free(&c);
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
	struct member_collect c = { .vip_id = ~0U, .be_id = be_id };
	struct vip_by_id f;
	size_t i;
	int err;

	err = xlb_member_foreach(m, collect_member, &c);
	for (i = 0; !err && i < c.n; i++) {
		f = (struct vip_by_id){ .id = c.keys[i].vip_id };
		err = xlb_vip_foreach(m, find_vip_id, &f);
		if (!err && f.found)
			err = xlb_table_rebuild(m, &f.vip);
	}
	member_collect_free(&c);
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
#define FNV64_OFFSET	0xcbf29ce484222325ULL
#define FNV64_PRIME	0x100000001b3ULL

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

int xlb_table_digest(struct xlb_maps *m, const struct xlb_vip *vip,
		     const struct xlb_backend *all, __u64 *digest)
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
		own = backends_read(m);
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
	hdr[0] = htonl(2);	/* digest format: 2 added the seed */
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

/* --- flows --------------------------------------------------------------- */

int xlb_flow_foreach(struct xlb_maps *m, xlb_flow_cb cb, void *arg)
{
	int fd = map_fd(m->skel->maps.xlb_flows);
	struct xlb_flow_key k, next;
	struct xlb_flow v;
	void *prev = NULL;
	int ret;

	while ((ret = map_next(fd, &prev, &k, &next, sizeof(k), &v)) > 0) {
		ret = cb(&k, &v, arg);
		if (ret)
			return ret;
	}
	return ret;
}

__u32 xlb_flow_capacity(struct xlb_maps *m)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(map_fd(m->skel->maps.xlb_flows), &info, &len))
		return 0;
	return info.max_entries;
}

/* --- decap VIPs ---------------------------------------------------------- */

int xlb_decap_vip_add(struct xlb_decap_maps *m, const struct xlb_addr_key *a)
{
	__u32 one = 1;

	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_decap_vips), a, &one,
					     BPF_NOEXIST));
}

int xlb_decap_vip_del(struct xlb_decap_maps *m, const struct xlb_addr_key *a)
{
	return ret_errno(bpf_map_delete_elem(map_fd(m->skel->maps.xlb_decap_vips), a));
}

int xlb_decap_vip_foreach(struct xlb_decap_maps *m, xlb_addr_cb cb, void *arg)
{
	int fd = map_fd(m->skel->maps.xlb_decap_vips);
	struct xlb_addr_key k, next;
	void *prev = NULL;
	int ret;

	while ((ret = map_next(fd, &prev, &k, &next, sizeof(k), NULL)) > 0) {
		ret = cb(&k, arg);
		if (ret)
			return ret;
	}
	return ret;
}

/* --- NAT connections ------------------------------------------------------ */

int xlb_nat_foreach(struct xlb_maps *m, xlb_nat_cb cb, void *arg)
{
	int fd = map_fd(m->skel->maps.xlb_nat_fwd);
	struct xlb_flow_key k, next;
	struct xlb_nat_fwd v;
	void *prev = NULL;
	int ret;

	while ((ret = map_next(fd, &prev, &k, &next, sizeof(k), &v)) > 0) {
		ret = cb(&k, &v, arg);
		if (ret)
			return ret;
	}
	return ret;
}

static void nat_rkey(struct xlb_nat_rkey *rk, const struct xlb_nat_fwd *f, __u8 proto,
		     __u8 family)
{
	memset(rk, 0, sizeof(*rk));
	memcpy(rk->node, f->node, sizeof(rk->node));
	rk->node_port = f->node_port;
	rk->nat_port = f->nat_port;
	rk->proto = proto;
	rk->family = family;
}

int xlb_nat_rev_get(struct xlb_maps *m, const struct xlb_nat_fwd *f, __u8 proto, __u8 family,
		    struct xlb_nat_rev *r)
{
	struct xlb_nat_rkey rk;

	nat_rkey(&rk, f, proto, family);
	return ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_nat_rev), &rk, r));
}

/* Reverse keys to delete, and their clients' forward keys. */
struct nat_victims {
	struct xlb_nat_rkey *rk;
	struct xlb_flow_key *fk;
	size_t n, cap;
};

static int victim_add(struct nat_victims *v, const struct xlb_nat_rkey *rk,
		      const struct xlb_flow_key *fk)
{
	if (xlb_vec_room((void **)&v->rk, sizeof(*v->rk), (void **)&v->fk, sizeof(*v->fk), v->n,
			 &v->cap, 256))
		return -ENOMEM;
	v->rk[v->n] = *rk;
	v->fk[v->n++] = *fk;
	return 0;
}

/*
 * Whether an entry (either direction) still deserves deletion, judged on
 * what it holds now: the walk that chose the victims may have taken long,
 * and the fast path goes on meanwhile.
 */
typedef int (*nat_gone_fn)(__u8 state, __u64 seen_ns, __u32 backend_id, const void *arg);

/*
 * Delete the victims: the reverse entry, and the forward entry of its
 * client unless that one has moved on to another port (a newer connection
 * on the same 5-tuple). Each entry is read again just before its delete
 * and kept if gone() no longer holds or, for the reverse entry, it names
 * another client: the fast path may have revived it, or taken the dead
 * port over for a new connection, since the walk saw it. What is left is
 * the moment between that read and the delete (the kernel has no
 * conditional delete).
 */
static int victims_delete(struct xlb_maps *m, const struct nat_victims *v, nat_gone_fn gone,
			  const void *arg)
{
	int rfd = map_fd(m->skel->maps.xlb_nat_rev), ffd = map_fd(m->skel->maps.xlb_nat_fwd);
	struct xlb_nat_fwd f;
	struct xlb_nat_rev r;
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (!bpf_map_lookup_elem(rfd, &v->rk[i], &r) &&
		    !memcmp(&r.client, &v->fk[i], sizeof(r.client)) &&
		    gone(r.state, r.seen_ns, r.backend_id, arg) &&
		    bpf_map_delete_elem(rfd, &v->rk[i]) && errno != ENOENT)
			return -errno;
		if (!bpf_map_lookup_elem(ffd, &v->fk[i], &f) && f.nat_port == v->rk[i].nat_port &&
		    f.node_port == v->rk[i].node_port &&
		    !memcmp(f.node, v->rk[i].node, sizeof(f.node)) &&
		    gone(f.state, f.seen_ns, f.backend_id, arg) &&
		    bpf_map_delete_elem(ffd, &v->fk[i]) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

typedef int (*nat_rev_cb)(const struct xlb_nat_rkey *k, const struct xlb_nat_rev *r, void *arg);

static int nat_rev_foreach(struct xlb_maps *m, nat_rev_cb cb, void *arg)
{
	int fd = map_fd(m->skel->maps.xlb_nat_rev);
	struct xlb_nat_rkey k, next;
	struct xlb_nat_rev v;
	void *prev = NULL;
	int ret;

	while ((ret = map_next(fd, &prev, &k, &next, sizeof(k), &v)) > 0) {
		ret = cb(&k, &v, arg);
		if (ret)
			return ret;
	}
	return ret;
}

struct nat_purge {
	__u32 id;
	struct nat_victims v;
};

static int purge_of(const struct xlb_nat_rkey *k, const struct xlb_nat_rev *r, void *arg)
{
	struct nat_purge *p = arg;

	return r->backend_id == p->id ? victim_add(&p->v, k, &r->client) : 0;
}

static int purge_gone(__u8 state, __u64 seen_ns, __u32 backend_id, const void *arg)
{
	const struct nat_purge *p = arg;

	return backend_id == p->id;
}

int xlb_nat_purge_backend(struct xlb_maps *m, __u32 id)
{
	struct nat_purge p = { .id = id };
	int err;

	/* Keys first, deletes after: deleting while walking restarts the walk. */
	err = nat_rev_foreach(m, purge_of, &p);
	if (!err)
		err = victims_delete(m, &p.v, purge_gone, &p);
	free(p.v.rk);
	free(p.v.fk);
	return err;
}

struct nat_sweep_ctx {
	struct xlb_config cfg;
	__u64 now;		/* the caller's clock at the start of the walk */
	__u64 started;		/* xlb_now_coarse_ns() then */
	xlb_nat_timeout_cb cb;
	void *arg;
	struct xlb_nat_sweep *out;
	struct nat_victims v;
};

static int sweep_one(const struct xlb_nat_rkey *k, const struct xlb_nat_rev *r, void *arg)
{
	struct nat_sweep_ctx *s = arg;

	if (!xlb_nat_dead(&s->cfg, r->state, r->seen_ns, s->now)) {
		s->out->live++;
		return 0;
	}
	s->out->dead++;
	if (r->state == XLB_NAT_S_SYN_SENT) {
		s->out->syn_timeouts++;
		if (s->cb)
			s->cb(r, s->arg);
	}
	return victim_add(&s->v, k, &r->client);
}

/* Dead still, by the caller's clock moved on by the time the sweep took. */
static int sweep_gone(__u8 state, __u64 seen_ns, __u32 backend_id, const void *arg)
{
	const struct nat_sweep_ctx *s = arg;

	return xlb_nat_dead(&s->cfg, state, seen_ns, s->now + (xlb_now_coarse_ns() - s->started));
}

int xlb_nat_sweep(struct xlb_maps *m, __u64 now_ns, xlb_nat_timeout_cb cb, void *arg,
		  struct xlb_nat_sweep *out)
{
	struct nat_sweep_ctx s = { .now = now_ns, .started = xlb_now_coarse_ns(), .cb = cb,
				   .arg = arg, .out = out };
	int err;

	memset(out, 0, sizeof(*out));
	err = xlb_config_get(m, &s.cfg);
	if (!err)
		err = nat_rev_foreach(m, sweep_one, &s);
	if (!err)
		err = victims_delete(m, &s.v, sweep_gone, &s);
	free(s.v.rk);
	free(s.v.fk);
	return err;
}

int xlb_nat_node_read(struct xlb_maps *m, __u32 id, struct xlb_nat_node *out)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, err = 0;
	struct xlb_nat_health *h;
	double wsum = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu < 0)
		return ncpu;
	h = calloc(ncpu, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_nat_health), &id, h)) {
		err = -errno;
		goto out;
	}
	/* Each CPU's EWMA weighted by its samples. */
	for (cpu = 0; cpu < ncpu; cpu++) {
		out->synacks += h[cpu].synacks;
		out->node_rsts += h[cpu].node_rsts;
		wsum += (double)h[cpu].synack_ewma_ns * h[cpu].synacks;
	}
	if (out->synacks)
		out->synack_ewma_s = wsum / out->synacks / 1e9;
out:
	free(h);
	return err;
}

/* The kernel's account of a map's memory (fdinfo "memlock:"). */
static __u64 map_memlock(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

int xlb_nat_memory(struct xlb_maps *m, struct xlb_nat_mem *out)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int ffd = map_fd(m->skel->maps.xlb_nat_fwd), rfd = map_fd(m->skel->maps.xlb_nat_rev);

	memset(out, 0, sizeof(*out));
	if (bpf_obj_get_info_by_fd(ffd, &info, &len))
		return -errno;
	out->capacity = info.max_entries;
	out->bytes = map_memlock(ffd) + map_memlock(rfd);
	out->entry_bytes = sizeof(struct xlb_flow_key) + sizeof(struct xlb_nat_fwd) +
			   sizeof(struct xlb_nat_rkey) + sizeof(struct xlb_nat_rev);
	return 0;
}
