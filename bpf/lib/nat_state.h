/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NAT connection state: the TCP state machine an entry follows, and the
 * key helpers both directions and the port allocator use. Timeouts and
 * deadness are include/xlb/nat.h (shared with userspace). Included by
 * nat_port.h and nat.h.
 */
#ifndef XLB_BPF_NAT_STATE_H
#define XLB_BPF_NAT_STATE_H

#include <xlb/nat.h>
#include "common.h"
#include "parse.h"

/*
 * The state a TCP connection enters when a packet with flags passes, from
 * the node or from the client: conntrack's and IPVS's machine, cut down.
 * A connection is ESTABLISHED (the long timeout) only once both ends have
 * shown they hold it: the client ACKing the node's SYN-ACK, or, for an
 * entry that began mid-stream (UNCONFIRMED), the node answering it. A
 * SYN-ACK alone (SYN_RECV) keeps the handshake's short timeout, so that
 * spoofed SYNs the node answers do not hold ports. A FIN (either side)
 * enters FIN, long enough for a half-closed connection and the node's
 * TIME_WAIT; a RST enters CLOSING, the short one.
 */
static __always_inline __u8 xlb_nat_next(__u8 state, __u8 flags, int from_node)
{
	if (flags & XLB_TCP_RST)
		return XLB_NAT_S_CLOSING;
	switch (state) {
	case XLB_NAT_S_SYN_SENT:
		if (from_node &&
		    (flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == (XLB_TCP_SYN | XLB_TCP_ACK))
			return XLB_NAT_S_SYN_RECV;
		return state;
	case XLB_NAT_S_SYN_RECV:
		/* The client's first ACK without SYN: the handshake is done. */
		if (from_node || flags & XLB_TCP_SYN || !(flags & XLB_TCP_ACK))
			return state;
		return flags & XLB_TCP_FIN ? XLB_NAT_S_FIN : XLB_NAT_S_ESTABLISHED;
	case XLB_NAT_S_UNCONFIRMED:
		/* Only the node can confirm: it knows the connection. */
		if (!from_node)
			return state;
		return flags & XLB_TCP_FIN ? XLB_NAT_S_FIN : XLB_NAT_S_ESTABLISHED;
	case XLB_NAT_S_ESTABLISHED:
		return flags & XLB_TCP_FIN ? XLB_NAT_S_FIN : state;
	}
	return state;
}

/* Two flow keys are the same (no memcmp in BPF: ten word compares). */
static __always_inline int xlb_key_eq(const struct xlb_flow_key *a, const struct xlb_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 d = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*a) / 4); i++)
		d |= x[i] ^ y[i];
	return !d;
}

static __always_inline void xlb_nat_rkey_of(struct xlb_nat_rkey *rk, const struct xlb_nat_fwd *f,
					    const struct xlb_pkt *p)
{
	__builtin_memcpy(rk->node, f->node, sizeof(rk->node));
	rk->node_port = f->node_port;
	rk->nat_port = f->nat_port;
	rk->proto = p->key.proto;
	rk->family = p->key.family;
	rk->pad[0] = rk->pad[1] = 0;
}

#endif /* XLB_BPF_NAT_STATE_H */
