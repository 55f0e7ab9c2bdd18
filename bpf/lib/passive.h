/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Passive health signals (see enum xlb_event_kind in include/xlb/abi.h):
 * a client's retransmitted SYN or bare RST on a young flow becomes one
 * struct xlb_event on the xlb_events ring buffer for the agent, which feeds
 * it to the backend's health state machine.
 *
 * Cost: the flow-hit path tests one byte (the TCP flags) and goes on; only
 * SYN and RST packets on an existing flow do more (a clock read, one per-CPU
 * lookup, and for an event a ring-buffer reserve and submit). The flow
 * entry is never written: its creation time is all the state needed.
 *
 * Rate limit: per backend, about XLB_EVENT_BURST events per
 * XLB_EVENT_WINDOW_NS; the excess, and records the full ring refuses, count
 * as XLB_R_EVENT_DROPPED. A failing backend needs only a threshold's worth
 * of events to go down. The window is one entry shared by the CPUs, read
 * and written without atomics: CPUs that race may both start a new window
 * or both take the last event of one, so a few more events than the burst
 * can pass in a window (at most one per CPU racing). It is a rate limit,
 * not a count: approximate is enough, and a per-CPU copy would cost
 * XLB_MAX_BACKENDS entries per CPU.
 * Included by pick.h.
 */
#ifndef XLB_BPF_PASSIVE_H
#define XLB_BPF_PASSIVE_H

#include "maps.h"
#include "parse.h"
#include "stats.h"

/* The kind of signal a packet of an existing flow carries, if any. */
static __always_inline __u8 xlb_passive_kind(const struct xlb_pkt *p)
{
	__u8 f = p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_RST | XLB_TCP_ACK);

	if (f == XLB_TCP_SYN)
		return XLB_EVK_SYN_RETRANS;
	if (f == XLB_TCP_RST)
		return XLB_EVK_CLIENT_RST;
	return XLB_EVK_NONE;
}

/* Whether backend id may send one more event now (and count it). */
static __always_inline int xlb_event_allowed(__u32 id, __u64 now)
{
	struct xlb_event_rate *r = bpf_map_lookup_elem(&xlb_event_rate, &id);

	if (!r)
		return 0; /* id out of range: cannot happen for a flow's backend */
	if (now - r->window_ns >= XLB_EVENT_WINDOW_NS) {
		r->window_ns = now;
		r->count = 0;
	}
	if (r->count >= XLB_EVENT_BURST)
		return 0;
	r->count++;
	return 1;
}

/*
 * One event for backend id (already allowed by a rate limit): kind, the
 * client and, for the agent's log, an age in ns.
 */
static __always_inline void xlb_event_send(__u32 id, __u32 vip_id, const __be32 *saddr,
					   __be16 sport, __u8 family, __u8 kind, __u64 age,
					   __u64 now, __u32 frame_len)
{
	struct xlb_event *ev;

	/* NULL: the ring is full (the agent is behind or not running). */
	ev = bpf_ringbuf_reserve(&xlb_events, sizeof(*ev), 0);
	if (!ev) {
		xlb_count_reason(XLB_R_EVENT_DROPPED, frame_len, 0);
		return;
	}
	ev->ts_ns = now;
	ev->flow_age_ns = age;
	ev->backend_id = id;
	ev->vip_id = vip_id;
	__builtin_memcpy(ev->saddr, saddr, sizeof(ev->saddr));
	ev->sport = sport;
	ev->kind = kind;
	ev->family = family;
	ev->pad = 0;
	/* Flags 0: adaptive wake-up, the agent's epoll sees it at once. */
	bpf_ringbuf_submit(ev, 0);
	xlb_count_reason(XLB_R_EVENT, frame_len, 0);
}

static __always_inline void xlb_passive_emit(const struct xlb_pkt *p, const struct xlb_flow *flow,
					     __u8 kind)
{
	__u64 age = bpf_ktime_get_coarse_ns() - flow->created_ns;
	__u64 now;

	/* An old flow's SYN is a new connection on a reused 5-tuple. */
	if (age >= XLB_PASSIVE_YOUNG_NS)
		return;
	now = bpf_ktime_get_ns();
	if (!xlb_event_allowed(flow->backend_id, now)) {
		xlb_count_reason(XLB_R_EVENT_DROPPED, p->frame_len, 0);
		return;
	}
	xlb_event_send(flow->backend_id, flow->vip_id, p->key.saddr, p->key.sport, p->key.family,
		       kind, age, now, p->frame_len);
}

/*
 * A packet of an existing flow whose backend is usable: emit a passive
 * event if it is a client's SYN retry or bare RST. The common case, an
 * ACK, costs one test of the flags.
 */
static __always_inline void xlb_passive_check(const struct xlb_pkt *p, const struct xlb_flow *flow)
{
	__u8 kind;

	if (!(p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_RST)) || p->key.proto != IPPROTO_TCP)
		return;
	kind = xlb_passive_kind(p);
	if (kind != XLB_EVK_NONE)
		xlb_passive_emit(p, flow, kind);
}

#endif /* XLB_BPF_PASSIVE_H */
