// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attach and detach through libxdp so that xlb coexists with other XDP
 * programs. Where the kernel refuses libxdp's dispatcher (freplace not
 * allowed), libxdp falls back to attaching the program alone; we report
 * that through the legacy flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xlb/flowcache.h>

#include "base/addr.h"
#include "dataplane/attach.h"
#include "dataplane/kernel.h"
#include "base/log.h"
#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"
#include "xlb_decap.skel.h"
#include "xlb_lb.skel.h"

void xlb_libxdp_bpffs(const char *pin_dir)
{
	struct statfs st;

	if (getenv("LIBXDP_BPFFS"))
		return;
	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC)
		return;
	setenv("LIBXDP_BPFFS", pin_dir, 0);
}

const char *xlb_prog_name(enum xlb_prog_kind kind)
{
	return kind == XLB_PROG_LB ? "xlb_lb" : "xlb_decap";
}

/* Our program on ifindex, from libxdp's view of the device, or NULL. */
static struct xdp_program *find_prog(struct xdp_multiprog *mp, enum xlb_prog_kind kind)
{
	const char *name = xlb_prog_name(kind);
	struct xdp_program *p;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		return p && !strcmp(xdp_program__name(p), name) ? p : NULL;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), name))
			return p;
	return NULL;
}

int xlb_prog_query(enum xlb_prog_kind kind, int ifindex, struct xlb_attach_info *info)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int err;

	memset(info, 0, sizeof(*info));
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(mp);
	if (err == -ENOENT)
		return 0; /* nothing attached */
	if (err)
		return err;
	p = find_prog(mp, kind);
	if (p) {
		info->attached = 1;
		info->prog_id = xdp_program__id(p);
		info->mode = xdp_multiprog__attach_mode(mp);
		info->legacy = xdp_multiprog__is_legacy(mp);
	}
	xdp_multiprog__close(mp);
	return 0;
}

/*
 * A map pinned by an xlb whose maps differ (type, sizes, flags) cannot be
 * reused, and the load would fail with a bare EINVAL: name the map and
 * what to do instead (-EEXIST). Called with obj's sizes set.
 */
static int pins_check(struct bpf_object *obj)
{
	struct bpf_map_info info;
	struct bpf_map *map;
	const char *path;
	__u32 len;
	int fd, bad;

	bpf_object__for_each_map (map, obj) {
		path = bpf_map__pin_path(map);
		fd = path ? bpf_obj_get(path) : -1;
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		bad = bpf_obj_get_info_by_fd(fd, &info, &len) ||
		      info.type != (__u32)bpf_map__type(map) ||
		      info.key_size != bpf_map__key_size(map) ||
		      info.value_size != bpf_map__value_size(map) ||
		      info.max_entries != bpf_map__max_entries(map) ||
		      info.map_flags != bpf_map__map_flags(map);
		close(fd);
		if (bad) {
			pr_warn("error: the pinned map %s was made by another version of xlb "
				"(type %u, key %u, value %u bytes, %u entries; this one needs "
				"%u, %u, %u, %u): detach from every device without --keep-maps "
				"(that removes the pins), then attach again\n",
				path, info.type, info.key_size, info.value_size, info.max_entries,
				bpf_map__type(map), bpf_map__key_size(map),
				bpf_map__value_size(map), bpf_map__max_entries(map));
			return -EEXIST; /* not EINVAL: that one tries another attach */
		}
	}
	return 0;
}

static int attach_obj(struct bpf_object *obj, const char *sec, int ifindex,
		      enum xdp_attach_mode mode, int *legacy)
{
	struct xdp_program *prog;
	struct xdp_multiprog *mp;
	int err;

	prog = xdp_program__from_bpf_obj(obj, sec);
	err = libxdp_get_error(prog);
	if (err)
		return err;
	/* libxdp's try of its dispatcher is noisy where it cannot work. */
	xlb_log_libs_quiet(1);
	err = xdp_program__attach(prog, ifindex, mode, 0);
	xlb_log_libs_quiet(0);
	if (!err) {
		mp = xdp_multiprog__get_from_ifindex(ifindex);
		if (!libxdp_get_error(mp)) {
			*legacy = xdp_multiprog__is_legacy(mp);
			xdp_multiprog__close(mp);
		}
	}
	xdp_program__close(prog);
	return err;
}

/*
 * Done before the program is loaded, while none runs on this device; the
 * old map is unpinned last, so an interrupted conversion is done again.
 */
int xlb_chains_from_slots(const char *path)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), n, i;
	char old[PATH_MAX];
	__u64 *to = MAP_FAILED;
	__u32 *from = MAP_FAILED;
	int ofd, nfd = -1, err;
	const char *slash;

	slash = path ? strrchr(path, '/') : NULL;
	if (!slash)
		return 0;
	snprintf(old, sizeof(old), "%.*s/xlb_slots", (int)(slash - path), path);
	ofd = bpf_obj_get(old);
	if (ofd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = bpf_obj_get_info_by_fd(ofd, &info, &len) ? -errno : 0;
	if (!err && !access(path, F_OK))
		goto unpin; /* converted before, not yet unpinned */
	n = info.max_entries * 2;
	if (!err && (info.value_size != 8 || !(info.map_flags & BPF_F_MMAPABLE) || !n))
		err = -EINVAL;
	if (err)
		goto out;
	from = mmap(NULL, (size_t)n * 4, PROT_READ, MAP_SHARED, ofd, 0);
	nfd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_chains", 4, 8, n, &opts);
	if (from == MAP_FAILED || nfd < 0) {
		err = -errno;
		goto out;
	}
	to = mmap(NULL, (size_t)n * 8, PROT_READ | PROT_WRITE, MAP_SHARED, nfd, 0);
	if (to == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < n; i++)
		to[i] = xlb_slot_pack(from[i], XLB_SLOT_NONE, XLB_SLOT_NONE);
	if (bpf_obj_pin(nfd, path)) {
		err = -errno;
		goto out;
	}
	pr_info("table space: %u slots of %s converted to %s\n", n, old, path);
unpin:
	if (unlink(old))
		err = -errno;
out:
	if (to != MAP_FAILED)
		munmap(to, (size_t)n * 8);
	if (from != MAP_FAILED)
		munmap(from, (size_t)n * 4);
	if (nfd >= 0)
		close(nfd);
	close(ofd);
	return err;
}

/* xlb_decap_gue_port holds the port in host order, 0 for the default. */
static int gue_port_write(int fd, __u16 port)
{
	__u32 zero = 0, v = port;

	return bpf_map_update_elem(fd, &zero, &v, BPF_ANY) ? -errno : 0;
}

/* One try: open kind's skeleton afresh (a failed load cannot be retried), size, attach. */
static int attach_once(enum xlb_prog_kind kind, const char *pin_dir, int ifindex,
		       const struct xlb_attach_opts *o, int *legacy)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct xlb_decap *decap = NULL;
	struct xlb_lb *lb = NULL;
	struct bpf_map *by_backend[6];
	__u32 zero = 0, slots, cap, syns, flows;
	struct xlb_config cfg = {};
	__u8 bits;
	int err;
	size_t i;

	if (kind == XLB_PROG_LB) {
		if (libbpf_num_possible_cpus() > XLB_CPUS_MAX)
			pr_warn("warning: %d possible CPUs; CPUs %d and above count no reasons "
				"(xlb stats)\n",
				libbpf_num_possible_cpus(), XLB_CPUS_MAX);
		lb = xlb_lb__open_opts(&opts);
		if (!lb)
			return -errno;
		/*
		 * The flow cache holds flow_max flows (flow6_max IPv6 ones); least_conn
		 * VIPs' flows, in xlb_flows, are XLB_LC_FLOWS_DEFAULT at most.
		 */
		flows = o->flow_max ? o->flow_max : XLB_FLOW_MAX_DEFAULT;
		err = xlb_flow_cache_size(lb, flows, o->flow6_max ? o->flow6_max : flows,
					  libbpf_num_possible_cpus())
			      ?: bpf_map__set_max_entries(
					 lb->maps.xlb_flows,
					 xlb_pinned_max_entries(lb->maps.xlb_flows,
								XLB_LC_FLOWS_DEFAULT));
		/* The SYN table: a power of two of slots; one slot is none (syn_bits 0). */
		syns = xlb_pinned_max_entries(lb->maps.xlb_syns,
					      o->syn_max ? o->syn_max : 1U << XLB_SYN_BITS_DEFAULT);
		if (!err)
			err = bpf_map__set_max_entries(lb->maps.xlb_syns, syns);
		for (cfg.syn_bits = 0; syns > 1U << cfg.syn_bits; cfg.syn_bits++)
			;
		/* Both NAT maps hold one entry per connection. */
		if (!err)
			err = bpf_map__set_max_entries(
				lb->maps.xlb_nat_fwd,
				xlb_pinned_max_entries(lb->maps.xlb_nat_fwd,
						       o->nat_max ? o->nat_max
								  : XLB_NAT_MAX_DEFAULT));
		if (!err)
			err = bpf_map__set_max_entries(
				lb->maps.xlb_nat_rev,
				xlb_pinned_max_entries(lb->maps.xlb_nat_rev,
						       o->nat_max ? o->nat_max
								  : XLB_NAT_MAX_DEFAULT));
		/*
		 * Per-CPU NAT health, one entry per backend id and CPU: with the
		 * least NAT table (no NAT source), one entry; lookups of other
		 * ids find nothing, which the program and the readers allow.
		 */
		/*
		 * Every map indexed by backend id has one entry per id: the
		 * per-CPU ones cost cap x entry x CPUs, so a host with many
		 * CPUs and few backends sizes them down with --backends.
		 */
		cap = xlb_pinned_max_entries(lb->maps.xlb_backends,
					     o->backends ? o->backends : XLB_MAX_BACKENDS);
		by_backend[0] = lb->maps.xlb_backends;
		by_backend[1] = lb->maps.xlb_nexthops;
		by_backend[2] = lb->maps.xlb_backend_stats;
		by_backend[3] = lb->maps.xlb_event_rate;
		by_backend[4] = lb->maps.xlb_nat_health;
		by_backend[5] = lb->maps.xlb_backend_conns;
		for (i = 0; !err && i < sizeof(by_backend) / sizeof(by_backend[0]); i++)
			err = bpf_map__set_max_entries(by_backend[i], cap);
		if (!err && o->nat_off)
			err = bpf_map__set_max_entries(
				lb->maps.xlb_nat_health,
				xlb_pinned_max_entries(lb->maps.xlb_nat_health, 1));
		/* The table space and its block record, sized together. */
		if (!err)
			err = xlb_chains_from_slots(bpf_map__pin_path(lb->maps.xlb_chains));
		if (!err) {
			slots = xlb_pinned_max_entries(lb->maps.xlb_chains, 0)
					?: (o->table_slots ? o->table_slots : XLB_SLOTS_DEFAULT);
			slots = slots / (XLB_SLOT_BLOCK * 8) * (XLB_SLOT_BLOCK * 8);
			err = bpf_map__set_max_entries(lb->maps.xlb_chains, slots)
				      ?: bpf_map__set_max_entries(lb->maps.xlb_slot_blocks,
								  slots / XLB_SLOT_BLOCK / 8);
		}
		if (!err)
			err = pins_check(lb->obj);
		if (!err)
			err = attach_obj(lb->obj, "xdp", ifindex, o->mode, legacy);
		if (!err && o->config) {
			bits = cfg.syn_bits;
			cfg = *o->config;
			cfg.syn_bits = bits;
		} else if (!err &&
			   bpf_map_lookup_elem(bpf_map__fd(lb->maps.xlb_config), &zero, &cfg)) {
			err = -errno;
		}
		/*
		 * The address filter holds the VIPs already pinned and the NAT
		 * sources before the settings that name them are written.
		 */
		if (!err)
			err = xlb_addrs_fill(lb->maps.xlb_vips, lb->maps.xlb_addrs, &cfg);
		if (!err && o->config &&
		    bpf_map_update_elem(bpf_map__fd(lb->maps.xlb_config), &zero, &cfg, BPF_ANY))
			err = -errno;
		xlb_lb__destroy(lb);
		return err;
	}
	decap = xlb_decap__open_opts(&opts);
	if (!decap)
		return -errno;
	err = pins_check(decap->obj) ?: attach_obj(decap->obj, "xdp", ifindex, o->mode, legacy);
	if (!err && o->gue_port)
		err = gue_port_write(bpf_map__fd(decap->maps.xlb_decap_gue_port), o->gue_port);
	xlb_decap__destroy(decap);
	return err;
}

int xlb_prog_attach(enum xlb_prog_kind kind, const char *pin_dir, int ifindex,
		    const struct xlb_attach_opts *o, int *legacy)
{
	struct xlb_attach_info info;
	int err;

	*legacy = 0;
	xlb_libxdp_bpffs(pin_dir);
	err = xlb_prog_query(kind, ifindex, &info);
	if (err)
		return err;
	if (info.attached)
		return -EEXIST;
	err = attach_once(kind, pin_dir, ifindex, o, legacy);
	if (err != -EINVAL || getenv("LIBXDP_SKIP_DISPATCHER"))
		return err;
	/*
	 * libxdp puts a program into its dispatcher as an freplace extension.
	 * Since Linux 6.13 (and 6.12.y, where it was backported) the kernel refuses an extension that
	 * changes packet data in place of a function that does not, and the
	 * dispatcher of libxdp before 1.4.3 (Debian 12 ships 1.3.1) declares
	 * none: its compatibility test passes, our program's load fails with
	 * EINVAL. Then attach the program alone, as libxdp does where it has
	 * no dispatcher (it reads this variable on every attach).
	 */
	pr_debug("attach through libxdp's dispatcher failed; attaching %s alone\n",
		 xlb_prog_name(kind));
	setenv("LIBXDP_SKIP_DISPATCHER", "1", 1);
	err = attach_once(kind, pin_dir, ifindex, o, legacy);
	unsetenv("LIBXDP_SKIP_DISPATCHER");
	return err;
}

int xlb_prog_detach(enum xlb_prog_kind kind, int ifindex)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int err;

	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(mp);
	if (err)
		return err;
	p = find_prog(mp, kind);
	if (!p)
		err = -ENOENT;
	else if (xdp_multiprog__is_legacy(mp))
		err = xdp_multiprog__detach(mp);
	else
		err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	return err;
}

int xlb_prog_unpin(enum xlb_prog_kind kind, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct bpf_object *obj;
	struct xlb_decap *decap = NULL;
	struct xlb_lb *lb = NULL;
	struct bpf_map *map;
	const char *path;
	int err = 0;

	if (kind == XLB_PROG_LB) {
		lb = xlb_lb__open_opts(&opts);
		obj = lb ? lb->obj : NULL;
	} else {
		decap = xlb_decap__open_opts(&opts);
		obj = decap ? decap->obj : NULL;
	}
	if (!obj)
		return -errno;
	bpf_object__for_each_map (map, obj) {
		path = bpf_map__pin_path(map);
		if (path && unlink(path) && errno != ENOENT)
			err = -errno;
	}
	xlb_lb__destroy(lb);
	xlb_decap__destroy(decap);
	return err;
}

int xlb_decap_gue_port_get(const char *pin_dir, __u16 *port)
{
	struct xlb_decap_maps m;
	__u32 zero = 0, v = 0;
	int err;

	err = xlb_decap_maps_open(&m, pin_dir, 0);
	if (err)
		return err;
	if (bpf_map_lookup_elem(bpf_map__fd(m.skel->maps.xlb_decap_gue_port), &zero, &v))
		err = -errno;
	xlb_decap_maps_close(&m);
	*port = v ? v : XLB_GUE_PORT_DEFAULT;
	return err;
}

int xlb_decap_gue_port_set(const char *pin_dir, __u16 port)
{
	struct xlb_decap_maps m;
	int err;

	err = xlb_decap_maps_open(&m, pin_dir, 1);
	if (err)
		return err;
	err = gue_port_write(bpf_map__fd(m.skel->maps.xlb_decap_gue_port), port);
	xlb_decap_maps_close(&m);
	return err;
}

/* --- device setup ------------------------------------------------------ */

/* Name of the device's driver (ethtool), or "" when it has none to tell. */
static void dev_driver(const char *dev, char *buf, size_t len)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	buf[0] = '\0';
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (void *)&info;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		snprintf(buf, len, "%s", info.driver);
	close(fd);
}

/* bpf_fib_lookup refuses to answer unless the ingress device forwards. */
static int enable_forwarding(const char *dev)
{
	static const char *const fmt[] = {
		"/proc/sys/net/ipv4/conf/%s/forwarding",
		"/proc/sys/net/ipv6/conf/%s/forwarding",
	};
	char path[128], v;
	int fd, i, changed = 0;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), fmt[i], dev);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (read(fd, &v, 1) == 1 && v != '1' && pwrite(fd, "1", 1, 0) == 1)
			changed = 1;
		close(fd);
	}
	return changed;
}

/* The device's first IPv4 and first global IPv6 address. */
static void dev_addrs(const char *dev, struct xlb_config *cfg, int want4, int want6)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, dev))
			continue;
		if (want4 && i->ifa_addr->sa_family == AF_INET) {
			cfg->encap_src4 = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			cfg->encap_src4_mask = 0;
			want4 = 0;
		} else if (want6 && i->ifa_addr->sa_family == AF_INET6) {
			struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a))
				continue;
			memcpy(cfg->encap_src6, a, 16);
			cfg->encap_src6_mask = 0;
			want6 = 0;
		}
	}
	freeifaddrs(ifa);
}

int xlb_encap_src_parse(const char *s, int family, struct xlb_config *cfg, char *err, size_t errlen)
{
	struct xlb_addr_key a;
	unsigned int plen, host;

	if (xlb_cidr_parse(s, &a, &plen, err, errlen))
		return -EINVAL;
	if ((family == 4) != (a.family == XLB_AF_INET)) {
		snprintf(err, errlen, "'%s' is not an IPv%d prefix", s, family);
		return -EINVAL;
	}
	if (family == 4) {
		host = 32 - plen;
		cfg->encap_src4 = a.addr[0];
		cfg->encap_src4_mask = htonl(host >= 32 ? 0xffffffffU : (1U << host) - 1);
	} else {
		/* Only the low 32 bits vary; longer host parts keep the rest fixed. */
		host = 128 - plen;
		memcpy(cfg->encap_src6, a.addr, 16);
		cfg->encap_src6_mask = htonl(host >= 32 ? 0xffffffffU : (1U << host) - 1);
	}
	return 0;
}

int xlb_nat_ports_overlap(__u16 min, __u16 max, char *why, size_t len)
{
	unsigned int lo = 0, hi = 0;
	FILE *f;

	min = min ? min : XLB_NAT_PORT_MIN;
	max = max ? max : XLB_NAT_PORT_MAX;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%u %u", &lo, &hi) != 2)
		lo = hi = 0;
	fclose(f);
	if (!hi || max < lo || min > hi)
		return 0;
	snprintf(why, len,
		 "NAT source ports %u-%u overlap the kernel's ephemeral ports %u-%u "
		 "(net.ipv4.ip_local_port_range): a connection of this host to a node may get a "
		 "port NAT also uses, and the node's replies would go to the NAT client; "
		 "narrow one of the two ranges",
		 min, max, lo, hi);
	return 1;
}

int xlb_nat_src_parse(const char *s, int family, struct xlb_config *cfg, char *err, size_t errlen)
{
	struct xlb_addr_key a;

	if (xlb_addr_parse(s, &a, err, errlen))
		return -EINVAL;
	if ((family == 4) != (a.family == XLB_AF_INET)) {
		snprintf(err, errlen, "NAT source '%s' is not an IPv%d address", s, family);
		return -EINVAL;
	}
	if (family == 4)
		cfg->nat_src4 = a.addr[0];
	else
		memcpy(cfg->nat_src6, a.addr, 16);
	return 0;
}

int xlb_lb_attach_dev(const char *pin_dir, const struct xlb_lb_setup *s, struct xlb_lb_notes *notes,
		      char *err, size_t errlen)
{
	/*
	 * NAT needs a source address: without one (and no size asked for),
	 * the NAT maps take the least room instead of 2 x 131,072 entries.
	 */
	int nat_off = s->forward != XLB_FWD_NAT && !s->nat_src && !s->nat_src6 && !s->nat_conns;
	struct xlb_attach_opts ao = {.mode = s->mode,
				     .flow_max = s->flows,
				     .flow6_max = s->flows6,
				     .syn_max = s->syns,
				     .nat_max = nat_off ? XLB_NAT_MAX_OFF : s->nat_conns,
				     .table_slots = s->table_slots,
				     .backends = s->backends,
				     .nat_off = nat_off};
	struct xlb_config cfg = {.forward = s->forward, .hash_seed = s->seed};
	struct xlb_maps m;
	char drv[32];
	int ifindex, lock, ret;

	memset(notes, 0, sizeof(*notes));
	err[0] = '\0';
	ifindex = if_nametoindex(s->ifname);
	if (!ifindex) {
		snprintf(err, errlen, "device '%s' does not exist", s->ifname);
		return -ENODEV;
	}
	dev_addrs(s->ifname, &cfg, !s->encap_src, !s->encap_src6);
	if (s->encap_src && xlb_encap_src_parse(s->encap_src, 4, &cfg, err, errlen))
		return -EINVAL;
	if (s->encap_src6 && xlb_encap_src_parse(s->encap_src6, 6, &cfg, err, errlen))
		return -EINVAL;
	if (s->nat_src && xlb_nat_src_parse(s->nat_src, 4, &cfg, err, errlen))
		return -EINVAL;
	if (s->nat_src6 && xlb_nat_src_parse(s->nat_src6, 6, &cfg, err, errlen))
		return -EINVAL;
	cfg.nat_port_min = s->nat_port_min;
	cfg.nat_port_max = s->nat_port_max;
	cfg.gue_port = htons(s->gue_port ?: XLB_GUE_PORT_DEFAULT);

	/* A kernel without what the program needs is named before any change. */
	ret = xlb_kernel_check(XLB_PROG_LB, err, errlen);
	if (ret)
		return ret;
	ret = xlb_pin_dir_prepare(pin_dir);
	if (ret) {
		snprintf(err, errlen, "pin directory %s: %s", pin_dir, strerror(-ret));
		return ret;
	}
	lock = xlb_pin_dir_lock(pin_dir);
	if (lock < 0) {
		snprintf(err, errlen, "lock %s: %s", pin_dir, strerror(-lock));
		return lock;
	}
	/* A second device shares the maps: keep their seed unless one is given. */
	if (!xlb_maps_open(&m, pin_dir, 0)) {
		struct xlb_config old;

		if (!xlb_config_get(&m, &old)) {
			/* A new seed: the flow cache's sets keep theirs (xlb_fc_seed). */
			cfg.hash_seed = old.hash_seed;
			cfg.fc_seed = old.fc_seed;
			cfg.flags = old.flags; /* a draining node stays draining */
			if (s->seed_set)
				xlb_config_reseed(&cfg, s->seed);
			/* What this attach does not say stays as the data plane has it. */
			if (!s->forward_set)
				cfg.forward = old.forward;
			if (!s->gue_port && old.gue_port)
				cfg.gue_port = old.gue_port;
			if (!s->nat_src)
				cfg.nat_src4 = old.nat_src4;
			if (!s->nat_src6)
				memcpy(cfg.nat_src6, old.nat_src6, sizeof(cfg.nat_src6));
			if (!s->nat_port_min && !s->nat_port_max) {
				cfg.nat_port_min = old.nat_port_min;
				cfg.nat_port_max = old.nat_port_max;
			}
			cfg.nat_tmo_syn = old.nat_tmo_syn;
			cfg.nat_tmo_established = old.nat_tmo_established;
			cfg.nat_tmo_closing = old.nat_tmo_closing;
			cfg.nat_tmo_udp = old.nat_tmo_udp;
		}
		xlb_maps_close(&m);
	} else if (!s->seed_set && getrandom(&cfg.hash_seed, sizeof(cfg.hash_seed), 0) < 0) {
		cfg.hash_seed = 0x786c6221;
	}
	ao.config = &cfg;
	/* NAT in use: the caller tells the operator of an overlap (notes->nat_ports). */
	if (cfg.nat_src4 || cfg.nat_src6[0] || cfg.nat_src6[1] || cfg.nat_src6[2] ||
	    cfg.nat_src6[3])
		xlb_nat_ports_overlap(cfg.nat_port_min, cfg.nat_port_max, notes->nat_ports,
				      sizeof(notes->nat_ports));
	ret = xlb_prog_attach(XLB_PROG_LB, pin_dir, ifindex, &ao, &notes->legacy);
	close(lock);
	if (ret == -EEXIST)
		snprintf(err, errlen, "xlb is already attached to %s", s->ifname);
	else if (ret && xlb_kernel_explain(XLB_PROG_LB, ret, err, errlen))
		ret = -EOPNOTSUPP; /* the kernel, not the settings (-EINVAL) */
	else if (ret)
		snprintf(err, errlen, "attach to %s failed: %s", s->ifname, strerror(-ret));
	if (ret)
		return ret;
	notes->forwarding_enabled = enable_forwarding(s->ifname);
	dev_driver(s->ifname, drv, sizeof(drv));
	notes->veth = !strcmp(drv, "veth") && s->mode == XDP_MODE_NATIVE;
	return 0;
}
