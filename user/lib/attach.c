// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attach and detach through libxdp so that xlb coexists with other XDP
 * programs. Where the kernel refuses libxdp's dispatcher (freplace not
 * allowed), libxdp falls back to attaching the program alone; we report
 * that through the legacy flag.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "log.h"
#include "xlb_decap.skel.h"
#include "xlb_lb.skel.h"

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
		return 0;	/* nothing attached */
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

/* The flow table's size: the pinned one's if it exists, so it is reused. */
static __u32 pinned_max_entries(const struct bpf_map *map, __u32 dflt)
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
	err = xdp_program__attach(prog, ifindex, mode, 0);
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

int xlb_prog_attach(enum xlb_prog_kind kind, const char *pin_dir, int ifindex,
		    const struct xlb_attach_opts *o, int *legacy)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct xlb_attach_info info;
	struct xlb_decap *decap = NULL;
	struct xlb_lb *lb = NULL;
	__u32 zero = 0;
	int err;

	*legacy = 0;
	err = xlb_prog_query(kind, ifindex, &info);
	if (err)
		return err;
	if (info.attached)
		return -EEXIST;

	if (kind == XLB_PROG_LB) {
		lb = xlb_lb__open_opts(&opts);
		if (!lb)
			return -errno;
		err = bpf_map__set_max_entries(lb->maps.xlb_flows,
			pinned_max_entries(lb->maps.xlb_flows,
					   o->flow_max ? o->flow_max : XLB_FLOW_MAX_DEFAULT));
		if (!err)
			err = attach_obj(lb->obj, "xdp", ifindex, o->mode, legacy);
		if (!err && o->config &&
		    bpf_map_update_elem(bpf_map__fd(lb->maps.xlb_config), &zero, o->config,
					BPF_ANY))
			err = -errno;
		xlb_lb__destroy(lb);
		return err;
	}
	decap = xlb_decap__open_opts(&opts);
	if (!decap)
		return -errno;
	err = attach_obj(decap->obj, "xdp", ifindex, o->mode, legacy);
	xlb_decap__destroy(decap);
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
	bpf_object__for_each_map(map, obj) {
		path = bpf_map__pin_path(map);
		if (path && unlink(path) && errno != ENOENT)
			err = -errno;
	}
	xlb_lb__destroy(lb);
	xlb_decap__destroy(decap);
	return err;
}
