// SPDX-License-Identifier: GPL-2.0-only
/*
 * The typed map layer's base: the pin directory (bpffs, lock) and opening
 * the pinned maps. Maps are reached only through the skeletons: the
 * skeleton is opened (not loaded) with the pin directory as pin root, so
 * libbpf names each map's pin path, and each map adopts its pinned fd.
 * Also the raw steps every accessor uses: per-CPU values, the hash-map
 * walk, the clocks. The accessors: maps_vip.c (VIPs, backends, members,
 * flows, next hops, decap VIPs), maps_stats.c (counters, settings),
 * tables.c (Maglev tables), natsweep.c (NAT connections).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"
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

__u32 xlb_pinned_max_entries(const struct bpf_map *map, __u32 dflt)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const char *path = bpf_map__pin_path(map);
	int fd;

	if (!path)
		return dflt;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return dflt;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		dflt = info.max_entries;
	close(fd);
	return dflt;
}

/* Give every pinned map of obj the fd of its pin; -ENOENT if one is missing. */
static int adopt_pins(struct bpf_object *obj)
{
	struct bpf_map *map;
	const char *path;
	int fd, err;

	bpf_object__for_each_map (map, obj) {
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
static int skel_open(enum skel_kind kind, const char *pin_dir, int lock, void **skel, int *lock_fd,
		     char dir[PATH_MAX])
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
	xlb_tables_unmap(m);
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

/* --- per-CPU values ------------------------------------------------------ */

int xlb_percpu_sum(int fd, __u32 key, size_t vsz, __u64 *sum, size_t n)
{
	return xlb_percpu_sum_at(fd, &key, vsz, sum, n);
}

int xlb_percpu_sum_at(int fd, const void *key, size_t vsz, __u64 *sum, size_t n)
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
	if (bpf_map_lookup_elem(fd, key, buf)) {
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

int xlb_percpu_zero(int fd, __u32 key, size_t vsz)
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

/* Key and value sizes of each walk (decap VIPs: keys only). */
static const struct {
	size_t key, value;
} walk_size[XLB_WALK_MAX] = {
	[XLB_WALK_VIPS] = {sizeof(struct xlb_vip_addr), sizeof(struct xlb_vip)},
	[XLB_WALK_FILTERED] = {sizeof(struct xlb_vip_key), sizeof(struct xlb_vip)},
	[XLB_WALK_MEMBERS] = {sizeof(struct xlb_member_key), sizeof(struct xlb_member)},
	[XLB_WALK_FLOWS] = {sizeof(struct xlb_flow_key), sizeof(struct xlb_flow)},
	[XLB_WALK_DECAP_VIPS] = {sizeof(struct xlb_addr_key), 0},
	[XLB_WALK_NAT_FWD] = {sizeof(struct xlb_flow_key), sizeof(struct xlb_nat_fwd)},
	[XLB_WALK_NAT_REV] = {sizeof(struct xlb_nat_rkey), sizeof(struct xlb_nat_rev)},
};

static int walk_call(enum xlb_walk_kind kind, union xlb_walk_cb cb, const void *k, const void *v,
		     void *arg)
{
	struct xlb_vip_key whole = {};

	switch (kind) {
	case XLB_WALK_VIPS:
		/* The address alone is the key: a whole key with no client part. */
		memcpy(&whole, k, sizeof(struct xlb_vip_addr));
		return cb.vip(&whole, v, arg);
	case XLB_WALK_FILTERED:
		return cb.vip(k, v, arg);
	case XLB_WALK_MEMBERS:
		return cb.member(k, v, arg);
	case XLB_WALK_FLOWS:
		return cb.flow(k, v, arg);
	case XLB_WALK_DECAP_VIPS:
		return cb.addr(k, arg);
	case XLB_WALK_NAT_FWD:
		return cb.nat_fwd(k, v, arg);
	case XLB_WALK_NAT_REV:
		return cb.nat_rev(k, v, arg);
	case XLB_WALK_MAX:
		break;
	}
	return -EINVAL;
}

#define KERNEL_ENOTSUPP 524 /* the kernel's errno for a batch operation a map lacks */

/* Entries a batched map update carries. */
#define UPDATE_CHUNK 4096

int xlb_map_update_n(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, size_t n,
		     size_t *done)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	const char *k = keys, *v = vals;
	size_t i = 0, j;
	__u32 count, want;
	int err = 0;

	while (!err && i < n) {
		want = count = n - i < UPDATE_CHUNK ? (__u32)(n - i) : UPDATE_CHUNK;
		if (!bpf_map_update_batch(fd, k + i * ksz, v + i * vsz, &count, &opts)) {
			i += count;
			continue;
		}
		err = -errno;
		/*
		 * Refused (524: the kernel's ENOTSUPP), maybe before the count
		 * was set: the chunk again one by one (rewriting an entry the
		 * batch wrote writes the same bytes). Any other error: the count
		 * is what the kernel wrote before it stopped.
		 */
		if (err != -EINVAL && err != -EOPNOTSUPP && err != -524) {
			if (count < want)
				i += count;
			break;
		}
		err = 0;
		for (j = i + UPDATE_CHUNK < n ? i + UPDATE_CHUNK : n; i < j; i++) {
			err = ret_errno(bpf_map_update_elem(fd, k + i * ksz, v + i * vsz, BPF_ANY));
			if (err)
				break;
		}
	}
	if (done)
		*done = i;
	return err;
}

int xlb_map_read_batched(const struct bpf_map *map, xlb_batch_cb cb, void *arg)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	enum bpf_map_type type = bpf_map__type(map);
	size_t ks = bpf_map__key_size(map), vs = bpf_map__value_size(map);
	__u32 n = 1024, count, i;
	__u64 in[8], out[8]; /* the kernel's position: a bucket, or a key */
	int fd = map_fd(map), ret = 0, done = 0, first = 1, ncpu;
	__u8 *keys = NULL, *vals = NULL;
	void *from = NULL;

	if (type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	    type == BPF_MAP_TYPE_LRU_PERCPU_HASH) {
		ncpu = libbpf_num_possible_cpus();
		if (ncpu <= 0)
			return ncpu ?: -EINVAL;
		vs = ((vs + 7) & ~(size_t)7) * ncpu;
	}
	if (ks > sizeof(in))
		return -EOPNOTSUPP;
	while (!done && !ret) {
		if (!keys) {
			keys = malloc((size_t)n * ks);
			vals = malloc((size_t)n * vs);
			if (!keys || !vals) {
				ret = -ENOMEM;
				break;
			}
		}
		count = n;
		if (bpf_map_lookup_batch(fd, from, out, keys, vals, &count, &opts)) {
			if (errno == ENOSPC && n < (1U << 20)) {
				/* A bucket holds more than n entries: read it whole. */
				n *= 2;
				free(keys);
				free(vals);
				keys = vals = NULL;
				continue;
			}
			if (errno != ENOENT) {
				ret = first && (errno == EINVAL || errno == KERNEL_ENOTSUPP ||
						errno == EOPNOTSUPP)
					      ? -EOPNOTSUPP
					      : -errno;
				break;
			}
			done = 1; /* the last entries come with ENOENT */
		}
		first = 0;
		for (i = 0; i < count && !ret; i++)
			ret = cb(keys + i * ks, vals + i * vs, arg);
		memcpy(in, out, sizeof(in));
		from = in;
	}
	free(keys);
	free(vals);
	return ret;
}

struct walk_ctx {
	enum xlb_walk_kind kind;
	union xlb_walk_cb cb;
	void *arg;
};

static int walk_one(const void *k, const void *v, void *arg)
{
	const struct walk_ctx *w = arg;

	return walk_call(w->kind, w->cb, k, v, w->arg);
}

int xlb_map_walk(const struct bpf_map *map, enum xlb_walk_kind kind, union xlb_walk_cb cb,
		 void *arg)
{
	union {
		struct xlb_vip_key vip;
		struct xlb_member_key member;
		struct xlb_flow_key flow;
		struct xlb_addr_key addr;
		struct xlb_nat_rkey nat_rev;
	} k, next;
	union {
		struct xlb_vip vip;
		struct xlb_member member;
		struct xlb_flow flow;
		struct xlb_nat_fwd nat_fwd;
		struct xlb_nat_rev nat_rev;
	} v;
	int fd = map_fd(map);
	void *prev = NULL;
	int ret;

	if (kind >= XLB_WALK_MAX || bpf_map__key_size(map) != walk_size[kind].key ||
	    (walk_size[kind].value && bpf_map__value_size(map) != walk_size[kind].value))
		return -EINVAL;
	/* Batched where the kernel can: one call per 1024 entries, not two per entry. */
	ret = xlb_map_read_batched(map, walk_one, &(struct walk_ctx){kind, cb, arg});
	if (ret != -EOPNOTSUPP)
		return ret;
	while ((ret = map_next(fd, &prev, &k, &next, walk_size[kind].key,
			       walk_size[kind].value ? &v : NULL)) > 0) {
		ret = walk_call(kind, cb, &k, &v, arg);
		if (ret)
			return ret;
	}
	return ret;
}
