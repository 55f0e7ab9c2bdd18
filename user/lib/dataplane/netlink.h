/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Route and neighbour requests over rtnetlink (libmnl): where a backend is
 * reached from here, and a kernel-managed neighbour entry for that next hop
 * so that the fast path's FIB lookups find a resolved MAC.
 */
#ifndef XLB_NETLINK_H
#define XLB_NETLINK_H

#include <xlb/abi.h>

/* Next hop (gateway, or dst itself when on-link) and device towards dst. */
int xlb_nl_route_get(const struct xlb_addr_key *dst, struct xlb_addr_key *nexthop, int *ifindex);
/*
 * Ask the kernel to keep addr on ifindex resolved (NTF_EXT_MANAGED, Linux
 * 5.16+): it probes by itself and refreshes the entry. An existing entry is
 * left alone (0).
 */
int xlb_nl_neigh_manage(const struct xlb_addr_key *addr, int ifindex);
/* Route to dst, then a managed neighbour entry for its next hop. */
int xlb_nl_backend_prime(const struct xlb_addr_key *dst);

#endif /* XLB_NETLINK_H */
