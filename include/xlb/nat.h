/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NAT rules that the fast path (bpf/lib/nat.h) and userspace (the agent's
 * sweep, `xlb flows`) must apply alike: the idle timeout of a connection
 * state, and when an entry is dead. Pure integer code; compiles for BPF
 * and for the host.
 */
#ifndef XLB_NAT_H
#define XLB_NAT_H

#include <linux/types.h>
#include "abi.h"

/* Idle timeout of state in ns: the setting, or its default when 0. */
static inline __u64 xlb_nat_timeout_ns(const struct xlb_config *cfg, __u8 state)
{
	__u32 s;

	switch (state) {
	case XLB_NAT_S_SYN_SENT:
	case XLB_NAT_S_SYN_RECV:
	case XLB_NAT_S_UNCONFIRMED:
		/*
		 * Short until both ends spoke: spoofed SYNs (the node answers,
		 * the client never ACKs) and stray mid-stream packets must not
		 * hold a port for the established timeout.
		 */
		s = cfg->nat_tmo_syn ? cfg->nat_tmo_syn : XLB_NAT_TMO_SYN;
		break;
	case XLB_NAT_S_FIN:
		s = XLB_NAT_TMO_FIN;
		break;
	case XLB_NAT_S_ESTABLISHED:
		s = cfg->nat_tmo_established ? cfg->nat_tmo_established : XLB_NAT_TMO_ESTABLISHED;
		break;
	case XLB_NAT_S_UDP:
		s = cfg->nat_tmo_udp ? cfg->nat_tmo_udp : XLB_NAT_TMO_UDP;
		break;
	default:
		s = cfg->nat_tmo_closing ? cfg->nat_tmo_closing : XLB_NAT_TMO_CLOSING;
		break;
	}
	return (__u64)s * 1000000000ULL;
}

/*
 * Dead: idle (coarse monotonic clock) longer than its state allows. Signed,
 * so that an entry stamped in the future is live.
 */
static inline int xlb_nat_dead(const struct xlb_config *cfg, __u8 state, __u64 seen_ns,
			       __u64 now_ns)
{
	return (__s64)(now_ns - seen_ns) > (__s64)xlb_nat_timeout_ns(cfg, state);
}

#endif /* XLB_NAT_H */
