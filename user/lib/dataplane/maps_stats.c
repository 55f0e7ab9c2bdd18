// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counters, summed over CPUs (the load balancer's reasons and per-VIP and
 * per-backend traffic, the decap program's reasons), and the settings
 * entry of xlb_config.
 */
#include <bpf/bpf.h>

#include "dataplane/maps.h"
#include "dataplane/maps_internal.h"
#include "xlb_decap.skel.h"
#include "xlb_lb.skel.h"

/* The n reason counters of a per-CPU array, summed. */
static int reasons_sum(int fd, __u32 n, struct xlb_reason_count *out)
{
	__u32 r;
	int err;

	for (r = 0; r < n; r++) {
		err = xlb_percpu_sum(fd, r, sizeof(out[r]), (__u64 *)&out[r], 2);
		if (err)
			return err;
	}
	return 0;
}

int xlb_stats_reasons(struct xlb_maps *m, struct xlb_reason_count out[XLB_R_MAX])
{
	return reasons_sum(map_fd(m->skel->maps.xlb_reasons), XLB_R_MAX, out);
}

int xlb_decap_stats(struct xlb_decap_maps *m, struct xlb_reason_count out[XLB_D_MAX])
{
	return reasons_sum(map_fd(m->skel->maps.xlb_decap_stats), XLB_D_MAX, out);
}

int xlb_stats_vip(struct xlb_maps *m, __u32 id, struct xlb_traffic *out)
{
	return xlb_percpu_sum(map_fd(m->skel->maps.xlb_vip_stats), id, sizeof(*out), (__u64 *)out,
			      3);
}

int xlb_stats_backend(struct xlb_maps *m, __u32 id, struct xlb_traffic *out)
{
	return xlb_percpu_sum(map_fd(m->skel->maps.xlb_backend_stats), id, sizeof(*out),
			      (__u64 *)out, 3);
}

/* --- settings ------------------------------------------------------------- */

int xlb_config_get(struct xlb_maps *m, struct xlb_config *c)
{
	__u32 zero = 0;

	return ret_errno(bpf_map_lookup_elem(map_fd(m->skel->maps.xlb_config), &zero, c));
}

int xlb_config_set(struct xlb_maps *m, const struct xlb_config *c)
{
	__u32 zero = 0;

	return ret_errno(bpf_map_update_elem(map_fd(m->skel->maps.xlb_config), &zero, c, BPF_ANY));
}
