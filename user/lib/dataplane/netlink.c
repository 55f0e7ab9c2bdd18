// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtnetlink requests with libmnl: one socket per request, extended acks on,
 * a real sequence number checked by mnl_cb_run, attributes validated
 * before use.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "dataplane/netlink.h"

#ifndef NTF_EXT_MANAGED
#define NTF_EXT_MANAGED (1 << 0)
#endif
#ifndef NDA_FLAGS_EXT
#define NDA_FLAGS_EXT 15
#endif

struct nl_req {
	struct mnl_socket *nl;
	unsigned int seq, portid;
};

static int nl_open(struct nl_req *r)
{
	int one = 1;

	r->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!r->nl)
		return -errno;
	/* Best effort: error messages from the kernel, where it has them. */
	mnl_socket_setsockopt(r->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(r->nl);
		return err;
	}
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (unsigned int)time(NULL);
	return 0;
}

/*
 * One socket per thread, opened on first use and kept: xlbd asks a route
 * per node at start, and 100,000 sockets opened and closed cost seconds.
 * After any error it is closed, so the next request starts in step.
 */
static __thread struct nl_req nl_cached;

static int nl_get(struct nl_req **r)
{
	int err = nl_cached.nl ? 0 : nl_open(&nl_cached);

	*r = &nl_cached;
	if (err)
		nl_cached.nl = NULL;
	return err;
}

static int nl_done(int err)
{
	if (err && nl_cached.nl) {
		mnl_socket_close(nl_cached.nl);
		nl_cached.nl = NULL;
	}
	return err;
}

/* Send nlh and run cb over the answer until the ack (or error). */
static int nl_talk(struct nl_req *r, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = ++r->seq;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, n, r->seq, r->portid, cb, data);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

struct route_ans {
	int family;
	struct xlb_addr_key gw;
	int has_gw, oif;
};

static int route_attr(const struct nlattr *a, void *data)
{
	struct route_ans *ans = data;
	size_t alen = ans->family == AF_INET ? 4 : 16;

	if (mnl_attr_type_valid(a, RTA_MAX) < 0)
		return MNL_CB_OK; /* newer attribute: not ours */
	switch (mnl_attr_get_type(a)) {
	case RTA_OIF:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		ans->oif = (int)mnl_attr_get_u32(a);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_get_payload_len(a) != alen)
			return MNL_CB_ERROR;
		memcpy(ans->gw.addr, mnl_attr_get_payload(a), alen);
		ans->has_gw = 1;
		break;
	}
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	return mnl_attr_parse(nlh, sizeof(*rm), route_attr, data);
}

int xlb_nl_route_get(const struct xlb_addr_key *dst, struct xlb_addr_key *nexthop, int *ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct route_ans ans = {};
	struct nlmsghdr *nlh;
	struct nl_req *r;
	struct rtmsg *rm;
	int err;

	ans.family = dst->family == XLB_AF_INET ? AF_INET : AF_INET6;
	err = nl_get(&r);
	if (err)
		return err;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	/* The ack ends the answer: without it mnl_cb_run would wait for more. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
	rm->rtm_family = ans.family;
	rm->rtm_dst_len = ans.family == AF_INET ? 32 : 128;
	mnl_attr_put(nlh, RTA_DST, ans.family == AF_INET ? 4 : 16, dst->addr);
	err = nl_done(nl_talk(r, nlh, route_cb, &ans));
	if (err)
		return err;
	if (!ans.oif)
		return -ENETUNREACH;
	*nexthop = ans.has_gw ? ans.gw : *dst;
	nexthop->family = dst->family;
	*ifindex = ans.oif;
	return 0;
}

int xlb_nl_neigh_manage(const struct xlb_addr_key *addr, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ndmsg *nd;
	struct nl_req *r;
	int err;

	err = nl_get(&r);
	if (err)
		return err;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = addr->family == XLB_AF_INET ? AF_INET : AF_INET6;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_NONE; /* the kernel resolves it */
	mnl_attr_put(nlh, NDA_DST, addr->family == XLB_AF_INET ? 4 : 16, addr->addr);
	mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
	err = nl_done(nl_talk(r, nlh, NULL, NULL));
	return err == -EEXIST ? 0 : err;
}

int xlb_nl_backend_prime(const struct xlb_addr_key *dst)
{
	struct xlb_addr_key nh;
	int ifindex, err;

	err = xlb_nl_route_get(dst, &nh, &ifindex);
	if (!err)
		err = xlb_nl_neigh_manage(&nh, ifindex);
	return err;
}
