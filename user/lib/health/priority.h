/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which nodes of an upstream receive new flows, from their health: only the
 * highest priority group with a usable node does, each usable node of it
 * with its weight. When no node is usable, the no-healthy policy decides:
 * fail_open uses the top group whole (APISIX's behaviour: all nodes rather
 * than none), fail_closed uses none. A pure function, for the agent.
 */
#ifndef XLB_PRIORITY_H
#define XLB_PRIORITY_H

#include <stddef.h>
#include <linux/types.h>
#include "config/config.h"

struct xlb_prio_node {
	int priority; /* higher first */
	__u32 weight;
	int usable; /* healthy or mostly_healthy */
};

struct xlb_prio_out {
	__u32 weight; /* effective: 0 = no new flows */
	int active;   /* the fast path may send to it */
};

/* Fill out[0..n-1]; returns 1 when fail_open had to use unusable nodes. */
int xlb_priority_pick(const struct xlb_prio_node *in, size_t n, enum xlb_no_healthy policy,
		      struct xlb_prio_out *out);

#endif /* XLB_PRIORITY_H */
