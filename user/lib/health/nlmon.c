// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtnetlink monitor (see nlmon.h). Notifications carry sequence number 0
 * and port id 0 (the kernel's), which mnl_cb_run() then does not check;
 * attributes are validated before use. Only what may take a backend out is
 * decoded: NUD_FAILED neighbours, links losing IFF_UP or IFF_RUNNING (the
 * agent reacts to the edge), deleted routes. The receive buffer is raised
 * so that a burst (a link flap that drops a thousand routes) fits; when it
 * still overflows, ENOBUFS becomes XLB_NL_OVERRUN so the owner can
 * re-check everything instead of missing a signal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "health/nlmon.h"

#define NLMON_RCVBUF (4 << 20)

struct xlb_nlmon {
	struct mnl_socket *nl;
	xlb_nlmon_cb cb;
	void *arg;
};

static const char *const kind_names[XLB_NL_KIND_MAX] = {
	[XLB_NL_NEIGH_FAILED] = "neigh_failed",
	[XLB_NL_LINK] = "link",
	[XLB_NL_ROUTE_DEL] = "route_deleted",
	[XLB_NL_OVERRUN] = "overrun",
};

const char *xlb_nl_kind_name(enum xlb_nl_kind k)
{
	return (unsigned int)k < XLB_NL_KIND_MAX ? kind_names[k] : "?";
}

struct xlb_nlmon *xlb_nlmon_new(xlb_nlmon_cb cb, void *arg)
{
	unsigned int groups = RTMGRP_NEIGH | RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	int one = 1, rcvbuf = NLMON_RCVBUF, err;
	struct xlb_nlmon *m;

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cb = cb;
	m->arg = arg;
	m->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->nl) {
		err = -errno;
		goto out_free;
	}
	mnl_socket_setsockopt(m->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	/* Best effort: SO_RCVBUFFORCE needs CAP_NET_ADMIN, SO_RCVBUF is capped. */
	if (setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)))
		setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	if (mnl_socket_bind(m->nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out_close;
	}
	return m;

out_close:
	mnl_socket_close(m->nl);
out_free:
	free(m);
	errno = -err;
	return NULL;
}

void xlb_nlmon_free(struct xlb_nlmon *m)
{
	if (!m)
		return;
	mnl_socket_close(m->nl);
	free(m);
}

int xlb_nlmon_fd(const struct xlb_nlmon *m)
{
	return mnl_socket_get_fd(m->nl);
}

/* An address attribute of family af into key; -1 if its length is wrong. */
static int addr_attr(const struct nlattr *a, int af, struct xlb_addr_key *key)
{
	size_t len = af == AF_INET ? 4 : 16;

	if (mnl_attr_get_payload_len(a) != len)
		return -1;
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, mnl_attr_get_payload(a), len);
	key->family = af == AF_INET ? XLB_AF_INET : XLB_AF_INET6;
	return 0;
}

struct attrs {
	const struct nlattr *tb[128];
	int max;
};
_Static_assert(IFLA_MAX < 128 && RTA_MAX < 128 && NDA_MAX < 128, "struct attrs too small");

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *at = data;
	int type = mnl_attr_get_type(a);

	if (type > at->max)
		return MNL_CB_OK; /* newer attribute: not ours */
	at->tb[type] = a;
	return MNL_CB_OK;
}

static int on_neigh(struct xlb_nlmon *m, const struct nlmsghdr *nlh)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	struct xlb_nl_signal s = {.kind = XLB_NL_NEIGH_FAILED};
	struct attrs at = {.max = NDA_MAX};

	if (nlh->nlmsg_type != RTM_NEWNEIGH || !(nd->ndm_state & NUD_FAILED) ||
	    (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6))
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*nd), attr_cb, &at) < 0 || !at.tb[NDA_DST] ||
	    addr_attr(at.tb[NDA_DST], nd->ndm_family, &s.addr))
		return MNL_CB_OK; /* not decodable: not ours to act on */
	s.ifindex = nd->ndm_ifindex;
	m->cb(&s, m->arg);
	return MNL_CB_OK;
}

static int on_link(struct xlb_nlmon *m, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct xlb_nl_signal s = {.kind = XLB_NL_LINK};
	struct attrs at = {.max = IFLA_MAX};

	s.ifindex = ifi->ifi_index;
	s.up = nlh->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) &&
	       (ifi->ifi_flags & IFF_RUNNING);
	if (mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &at) >= 0 && at.tb[IFLA_IFNAME] &&
	    mnl_attr_validate(at.tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) >= 0)
		snprintf(s.ifname, sizeof(s.ifname), "%s", mnl_attr_get_str(at.tb[IFLA_IFNAME]));
	m->cb(&s, m->arg);
	return MNL_CB_OK;
}

static int on_route(struct xlb_nlmon *m, const struct nlmsghdr *nlh)
{
	const struct rtmsg *rm = mnl_nlmsg_get_payload(nlh);
	struct xlb_nl_signal s = {.kind = XLB_NL_ROUTE_DEL};
	struct attrs at = {.max = RTA_MAX};

	if (nlh->nlmsg_type != RTM_DELROUTE ||
	    (rm->rtm_family != AF_INET && rm->rtm_family != AF_INET6))
		return MNL_CB_OK;
	/* Local, broadcast and multicast routes do not lead to backends. */
	if (rm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*rm), attr_cb, &at) < 0)
		return MNL_CB_OK;
	if (at.tb[RTA_DST]) {
		if (addr_attr(at.tb[RTA_DST], rm->rtm_family, &s.addr))
			return MNL_CB_OK;
	} else {
		s.addr.family = rm->rtm_family == AF_INET ? XLB_AF_INET : XLB_AF_INET6;
	}
	s.plen = rm->rtm_dst_len;
	if (at.tb[RTA_OIF] && mnl_attr_validate(at.tb[RTA_OIF], MNL_TYPE_U32) >= 0)
		s.ifindex = (int)mnl_attr_get_u32(at.tb[RTA_OIF]);
	m->cb(&s, m->arg);
	return MNL_CB_OK;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct xlb_nlmon *m = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		return on_neigh(m, nlh);
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return on_link(m, nlh);
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return on_route(m, nlh);
	}
	return MNL_CB_OK;
}

int xlb_nlmon_read(struct xlb_nlmon *m)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xlb_nl_signal s = {.kind = XLB_NL_OVERRUN};
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(m->nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				m->cb(&s, m->arg);
				continue;
			}
			return -errno;
		}
		/* Notifications: sequence 0, port id 0 (the kernel). */
		if (mnl_cb_run(buf, n, 0, 0, msg_cb, m) < 0 && errno != ENOENT)
			return -errno;
	}
}
