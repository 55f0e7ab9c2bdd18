/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel signals about the way to backends, from rtnetlink multicast
 * groups (libmnl): a neighbour entry turning FAILED, a link going down or
 * away, a route deleted. The monitor only decodes; the agent (agent.c)
 * decides which nodes a signal concerns and feeds their health state
 * machines. Non-blocking: call xlb_nlmon_read() when xlb_nlmon_fd() is
 * readable (the agent's libevent loop does).
 */
#ifndef XLB_NLMON_H
#define XLB_NLMON_H

#include <xlb/abi.h>

enum xlb_nl_kind {
	XLB_NL_NEIGH_FAILED = 0, /* RTM_NEWNEIGH with NUD_FAILED */
	XLB_NL_LINK,		 /* RTM_NEWLINK / RTM_DELLINK: see .up */
	XLB_NL_ROUTE_DEL,	 /* RTM_DELROUTE of .addr/.plen */
	XLB_NL_OVERRUN,		 /* ENOBUFS: signals were lost, resync */
	XLB_NL_KIND_MAX,
};

struct xlb_nl_signal {
	enum xlb_nl_kind kind;
	struct xlb_addr_key addr;	/* neighbour, or the route's destination */
	unsigned int plen;		/* route prefix length */
	int ifindex;			/* neighbour's or link's device */
	int up;				/* XLB_NL_LINK: IFF_UP and IFF_RUNNING */
	char ifname[16]; /* IFNAMSIZ */ /* XLB_NL_LINK: the name, when given */
};

typedef void (*xlb_nlmon_cb)(const struct xlb_nl_signal *s, void *arg);

struct xlb_nlmon;

/**
 * xlb_nlmon_new() - open a non-blocking rtnetlink socket subscribed to
 * RTMGRP_NEIGH, RTMGRP_LINK, RTMGRP_IPV4_ROUTE and RTMGRP_IPV6_ROUTE
 * Return: the monitor, or NULL with errno.
 */
struct xlb_nlmon *xlb_nlmon_new(xlb_nlmon_cb cb, void *arg);
void xlb_nlmon_free(struct xlb_nlmon *m);
int xlb_nlmon_fd(const struct xlb_nlmon *m);
/* Read every queued datagram and call the callback per signal: 0 or -errno. */
int xlb_nlmon_read(struct xlb_nlmon *m);
const char *xlb_nl_kind_name(enum xlb_nl_kind k);

#endif /* XLB_NLMON_H */
