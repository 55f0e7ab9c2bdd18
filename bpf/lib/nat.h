/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NAT forwarding (XLB_FWD_NAT, or a VIP with XLB_VIP_F_NAT): backends are
 * ordinary services that neither decapsulate nor hold the VIP.
 *
 *   client -> VIP:vport        becomes  nat_src:nat_port -> node:node_port
 *   node:node_port -> nat_src:nat_port  becomes  VIP:vport -> client
 *
 * node_port is the backend's port (struct xlb_backend.port; 0 keeps the
 * VIP's port), so port translation works. Both directions run here, with
 * the IPv4 header and TCP/UDP checksums updated incrementally (RFC 1624);
 * an IPv4 UDP datagram without a checksum (0) keeps none, and a computed
 * UDP checksum of 0 is sent as 0xffff. IPv4 VIPs need IPv4 nodes and IPv6
 * VIPs IPv6 nodes (config refuses a mix; the fast path drops it as
 * XLB_R_DROP_FAMILY): translating the header between families is not done.
 *
 * Connection table (include/xlb/abi.h): xlb_nat_fwd by the client's
 * 5-tuple, xlb_nat_rev by what a reply carries. Each direction reads only
 * its own entry per packet; the twin entry is read and its last-seen time
 * written once per XLB_NAT_TOUCH_NS, and on the few packets that change
 * the TCP state (xlb_nat_next: SYN, SYN-ACK, the client's ACK of it, the
 * node's first answer to a connection first seen mid-stream, FIN, RST).
 * An entry idle longer than its state's timeout is dead: it matches
 * nothing and its port is free again.
 * LRU eviction and the agent's sweep reclaim the memory.
 *
 * Source ports: nat_port.h. The TCP state machine: nat_state.h.
 * Checksum updates: csum.h.
 *
 * Replies go back out of the device the connection's first packet came
 * in on, to the MAC it came from (the client or the router before it):
 * no FIB lookup per reply, and symmetric by construction.
 *
 * Not translated: ICMP errors about NAT connections (passed to the
 * kernel), IP fragments (passed, as for every VIP).
 * Included by xlb_lb.bpf.c.
 */
#ifndef XLB_BPF_NAT_H
#define XLB_BPF_NAT_H

#include <xlb/nat.h>
#include "csum.h"
#include "icmp.h"
#include "maps.h"
#include "nat_port.h"
#include "nat_state.h"
#include "nexthop.h"
#include "parse.h"
#include "passive.h"
#include "pick.h"
#include "stats.h"

/* Where the L4 header may start, bounded for the verifier. */
#define XLB_NAT_L4_MAX 0x1ff

/* What a packet is rewritten to. */
struct xlb_nat_to {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
};

/* --- the NAT address ------------------------------------------------------ */

/* Whether the family has a NAT address (IPv4: one word, IPv6: four). */
static __always_inline int xlb_nat_has_src(const struct xlb_config *cfg, __u8 family)
{
	if (family == XLB_AF_INET)
		return !!cfg->nat_src4;
	return !!(cfg->nat_src6[0] | cfg->nat_src6[1] | cfg->nat_src6[2] | cfg->nat_src6[3]);
}

/* Whether addr is the family's NAT address (and there is one). */
static __always_inline int xlb_nat_is_src(const struct xlb_config *cfg, __u8 family,
					  const __be32 *addr)
{
	if (family == XLB_AF_INET)
		return cfg->nat_src4 && addr[0] == cfg->nat_src4;
	return xlb_nat_has_src(cfg, family) && addr[0] == cfg->nat_src6[0] &&
	       addr[1] == cfg->nat_src6[1] && addr[2] == cfg->nat_src6[2] &&
	       addr[3] == cfg->nat_src6[3];
}

/* The family's NAT address as four words (IPv4 in the first, as in keys). */
static __always_inline void xlb_nat_src_get(const struct xlb_config *cfg, __u8 family, __be32 *out)
{
	if (family == XLB_AF_INET) {
		out[0] = cfg->nat_src4;
		out[1] = out[2] = out[3] = 0;
	} else {
		__builtin_memcpy(out, cfg->nat_src6, sizeof(cfg->nat_src6));
	}
}

/* --- rewriting ------------------------------------------------------------ */

/*
 * Rewrite addresses and ports of the packet to t, with checksums, and set
 * its MACs. The packet keeps its length and its L2 shape.
 */
static __always_inline int xlb_nat_rewrite(struct xdp_md *ctx, const struct xlb_pkt *p,
					   const struct xlb_nat_to *t, const __u8 *smac,
					   const __u8 *dmac)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l4_off = p->l4_off & XLB_NAT_L4_MAX;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	struct ipv6hdr *ip6;
	__be16 *ports;
	__u16 *check;
	__u64 da = 0, dp;
	__u32 *w;
	int i;

	if (p->l4_off > XLB_NAT_L4_MAX || (void *)(eth + 1) > data_end)
		return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
	ports = data + l4_off;
	if (p->key.proto == IPPROTO_TCP) {
		if (data + l4_off + sizeof(struct tcphdr) > data_end)
			return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
		check = &((struct tcphdr *)ports)->check;
	} else {
		if (data + l4_off + sizeof(struct udphdr) > data_end)
			return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
		check = &((struct udphdr *)ports)->check;
	}

	if (p->key.family == XLB_AF_INET) {
		iph = data + xlb_l2_len(p);
		if ((void *)(iph + 1) > data_end)
			return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
		da = xlb_csum_diff32(iph->saddr, t->saddr[0]) +
		     xlb_csum_diff32(iph->daddr, t->daddr[0]);
		iph->check = xlb_csum_apply(iph->check, da);
		iph->saddr = t->saddr[0];
		iph->daddr = t->daddr[0];
	} else {
		ip6 = data + xlb_l2_len(p);
		if ((void *)(ip6 + 1) > data_end)
			return xlb_count_reason(XLB_R_PASS_MALFORMED, p->frame_len, XDP_PASS);
		w = (__u32 *)&ip6->saddr;
#pragma unroll
		for (i = 0; i < 4; i++) {
			da += xlb_csum_diff32(w[i], t->saddr[i]) +
			      xlb_csum_diff32(w[i + 4], t->daddr[i]);
			w[i] = t->saddr[i];
			w[i + 4] = t->daddr[i];
		}
	}
	dp = xlb_csum_diff16(ports[0], t->sport) + xlb_csum_diff16(ports[1], t->dport);
	ports[0] = t->sport;
	ports[1] = t->dport;
	/* IPv4 UDP with checksum 0 has none; IPv6 UDP must have one. */
	if (p->key.proto == IPPROTO_TCP) {
		*check = xlb_csum_apply(*check, da + dp);
	} else if (*check || p->key.family == XLB_AF_INET6) {
		*check = xlb_csum_apply(*check, da + dp);
		if (!*check)
			*check = 0xffff;
	}
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	return XLB_CONTINUE;
}

/* --- health from what NAT sees -------------------------------------------- */

/* A SYN-ACK answered the connection's SYN after lat_ns: EWMA, success event. */
static __always_inline void xlb_nat_synack(const struct xlb_pkt *p, const struct xlb_nat_rev *r,
					   __u64 now)
{
	__u32 id = r->backend_id;
	struct xlb_nat_health *h = bpf_map_lookup_elem(&xlb_nat_health, &id);
	__u64 lat = now - r->created_ns;

	if (!h)
		return;
	h->synack_ewma_ns =
		h->synack_ewma_ns ? h->synack_ewma_ns - (h->synack_ewma_ns >> 3) + (lat >> 3) : lat;
	h->synacks++;
	if (now - h->ok_window_ns < XLB_EVENT_WINDOW_NS)
		return;
	h->ok_window_ns = now;
	xlb_event_send(id, 0, r->client.saddr, r->client.sport, r->client.family, XLB_EVK_NODE_OK,
		       lat, now, p->frame_len);
}

/* The node reset a live connection: a TCP failure for the agent. */
static __always_inline void xlb_nat_node_rst(const struct xlb_pkt *p, const struct xlb_nat_rev *r,
					     __u64 now)
{
	__u32 id = r->backend_id;
	struct xlb_nat_health *h = bpf_map_lookup_elem(&xlb_nat_health, &id);

	if (h)
		h->node_rsts++;
	if (!xlb_event_allowed(id, now)) {
		xlb_count_reason(XLB_R_EVENT_DROPPED, p->frame_len, 0);
		return;
	}
	xlb_event_send(id, 0, r->client.saddr, r->client.sport, r->client.family, XLB_EVK_NODE_RST,
		       now - r->created_ns, now, p->frame_len);
}

/* --- client -> node ------------------------------------------------------- */

/*
 * A packet of a live connection, client side: its TCP state, the passive
 * SYN-retry signal, and now and then the twin's last-seen time. Returns
 * whether the connection still owns its reverse entry (else re-allocate).
 */
static __always_inline int xlb_nat_fwd_seen(const struct xlb_pkt *p, struct xlb_nat_fwd *f,
					    __u64 now)
{
	struct xlb_nat_rkey rk;
	struct xlb_nat_rev *r;
	__u8 flags = p->tcp_flags, next = f->state;
	__u64 t;

	if (p->key.proto == IPPROTO_TCP) {
		next = xlb_nat_next(f->state, flags, 0);
		if ((flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN) {
			if (f->state == XLB_NAT_S_SYN_SENT) {
				/* The client retries: no SYN-ACK came. */
				t = bpf_ktime_get_ns();
				if (xlb_event_allowed(f->backend_id, t))
					xlb_event_send(f->backend_id, f->vip_id, p->key.saddr,
						       p->key.sport, p->key.family,
						       XLB_EVK_SYN_RETRANS, t - f->created_ns, t,
						       p->frame_len);
				else
					xlb_count_reason(XLB_R_EVENT_DROPPED, p->frame_len, 0);
			} else if (f->state != XLB_NAT_S_SYN_RECV) {
				/* A new connection on the tuple of a closed one. */
				next = XLB_NAT_S_SYN_SENT;
				f->created_ns = bpf_ktime_get_ns();
			}
			/* SYN_RECV: the node's SYN-ACK was lost on the way back. */
		}
	}
	if (next == f->state && now - f->seen_ns < XLB_NAT_TOUCH_NS)
		return 1;
	f->state = next;
	f->seen_ns = now;
	xlb_nat_rkey_of(&rk, f, p);
	r = bpf_map_lookup_elem(&xlb_nat_rev, &rk);
	if (!r || !xlb_key_eq(&r->client, &p->key))
		return 0; /* evicted or taken over: the port is not ours */
	r->state = next;
	r->seen_ns = now;
	r->created_ns = f->created_ns;
	return 1;
}

/* Client -> VIP of a NAT VIP: translate to the connection's node. */
static __always_inline int xlb_nat_forward(struct xdp_md *ctx, const struct xlb_pkt *p,
					   const struct xlb_vip *vip, const struct xlb_config *cfg)
{
	struct xlb_nat_fwd nf = {}, *f;
	struct xlb_backend *be = 0;
	struct xlb_nexthop *nh;
	struct xlb_nat_to t;
	__u32 id = 0, hash;
	__u64 now;
	int ret;

	if (p->icmp_err)
		return xlb_count_reason(XLB_R_PASS_PROTO, p->frame_len, XDP_PASS);
	if (!xlb_nat_has_src(cfg, p->key.family))
		return xlb_count_reason(XLB_R_DROP_NAT_SRC, p->frame_len, XDP_DROP);
	now = bpf_ktime_get_coarse_ns();

	f = bpf_map_lookup_elem(&xlb_nat_fwd, &p->key);
	if (f && !xlb_nat_dead(cfg, f->state, f->seen_ns, now) && f->vip_id == vip->id) {
		be = xlb_backend_get(f->backend_id);
		if (be && (be->state == XLB_BE_ACTIVE || be->state == XLB_BE_DRAINING) &&
		    xlb_nat_fwd_seen(p, f, now)) {
			id = f->backend_id;
		} else {
			xlb_count_reason(XLB_R_FLOW_REPICK, p->frame_len, 0);
			f = 0;
		}
	} else {
		f = 0;
	}
	if (!f) {
		/* A RST opens nothing: the node never saw this connection. */
		if (p->key.proto == IPPROTO_TCP && p->tcp_flags & XLB_TCP_RST)
			return xlb_count_reason(XLB_R_PASS_NAT_NO_ENTRY, p->frame_len, XDP_PASS);
		hash = xlb_flow_hash(&p->key, cfg->hash_seed, vip->flags & XLB_VIP_F_HASH_SRC);
		ret = xlb_maglev_pick(vip, hash, cfg->hash_seed, &id, &be, p->frame_len, 0);
		if (ret >= 0)
			return ret;
		if (be->family != p->key.family)
			return xlb_count_reason(XLB_R_DROP_FAMILY, p->frame_len, XDP_DROP);
		ret = xlb_nat_alloc(ctx, p, vip, be, id, cfg, hash, now, &nf);
		if (ret >= 0)
			return ret;
		f = &nf;
	}
	if (!be)
		return XDP_DROP; /* not reached: both paths set it */

	ret = xlb_nexthop_get(ctx, id, be, &nh, p->frame_len);
	if (ret >= 0)
		return ret;
	if (p->ip_len > nh->mtu)
		return xlb_too_big(ctx, p, nh->mtu, 0);

	xlb_nat_src_get(cfg, p->key.family, t.saddr);
	__builtin_memcpy(t.daddr, f->node, sizeof(t.daddr));
	t.sport = f->nat_port;
	t.dport = f->node_port;
	ret = xlb_nat_rewrite(ctx, p, &t, nh->smac, nh->dmac);
	if (ret >= 0)
		return ret;
	xlb_count_reason(XLB_R_FWD_NAT, p->frame_len, 0);
	xlb_count_traffic(&xlb_backend_stats, id, p->frame_len);
	if (nh->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	/* bpf_redirect returns XDP_REDIRECT, or XDP_ABORTED on a bad ifindex. */
	return bpf_redirect(nh->ifindex, 0);
}

/* --- node -> client ------------------------------------------------------- */

/*
 * A packet that matched no VIP: if it is addressed to the NAT address and
 * port range, translate it back to its client. Negative: not a NAT reply
 * (the caller goes on as for any packet that is not ours).
 */
static __always_inline int xlb_nat_reply(struct xdp_md *ctx, const struct xlb_pkt *p)
{
	struct xlb_nat_rkey rk = {};
	struct xlb_config *cfg;
	struct xlb_nat_fwd *f;
	struct xlb_nat_rev *r;
	struct xlb_nat_to t;
	__u32 zero = 0, port;
	__u64 now;
	__u8 next;
	int ret;

	if (p->icmp_err || (p->key.proto != IPPROTO_TCP && p->key.proto != IPPROTO_UDP))
		return XLB_CONTINUE;
	cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	if (!cfg)
		return XLB_CONTINUE;
	if (!xlb_nat_is_src(cfg, p->key.family, p->key.daddr))
		return XLB_CONTINUE;
	port = bpf_ntohs(p->key.dport);
	if (port < (cfg->nat_port_min ?: XLB_NAT_PORT_MIN) ||
	    port > (cfg->nat_port_max ?: XLB_NAT_PORT_MAX))
		return XLB_CONTINUE;

	__builtin_memcpy(rk.node, p->key.saddr, sizeof(rk.node));
	rk.node_port = p->key.sport;
	rk.nat_port = p->key.dport;
	rk.proto = p->key.proto;
	rk.family = p->key.family;
	now = bpf_ktime_get_coarse_ns();
	r = bpf_map_lookup_elem(&xlb_nat_rev, &rk);
	/* No entry: the host's own connection, or one that timed out. */
	if (!r || xlb_nat_dead(cfg, r->state, r->seen_ns, now))
		return xlb_count_reason(XLB_R_PASS_NAT_NO_ENTRY, p->frame_len, XDP_PASS);

	next = r->state;
	if (p->key.proto == IPPROTO_TCP) {
		next = xlb_nat_next(r->state, p->tcp_flags, 1);
		if (p->tcp_flags & XLB_TCP_RST && r->state == XLB_NAT_S_UNCONFIRMED) {
			/*
			 * Never confirmed: a connection moved here (ECMP rehash,
			 * evicted entry) that the node does not know, or a stray
			 * packet. Its RST is right, no sign of a sick node.
			 */
			xlb_count_reason(XLB_R_NAT_RST_UNCONFIRMED, p->frame_len, 0);
		} else if (p->tcp_flags & XLB_TCP_RST &&
			   (r->state == XLB_NAT_S_SYN_SENT || r->state == XLB_NAT_S_SYN_RECV ||
			    r->state == XLB_NAT_S_ESTABLISHED)) {
			xlb_nat_node_rst(p, r, bpf_ktime_get_ns());
		} else if (next == XLB_NAT_S_SYN_RECV && r->state == XLB_NAT_S_SYN_SENT) {
			/* The fine clock: created_ns is bpf_ktime_get_ns() too. */
			xlb_nat_synack(p, r, bpf_ktime_get_ns());
		}
	}
	if (next != r->state || now - r->seen_ns >= XLB_NAT_TOUCH_NS) {
		r->state = next;
		r->seen_ns = now;
		f = bpf_map_lookup_elem(&xlb_nat_fwd, &r->client);
		/* The twin only if it is this connection's: same node, both ports. */
		if (f && f->nat_port == rk.nat_port && f->node_port == rk.node_port &&
		    f->node[0] == rk.node[0] && f->node[1] == rk.node[1] &&
		    f->node[2] == rk.node[2] && f->node[3] == rk.node[3]) {
			f->state = next;
			f->seen_ns = now;
		}
	}

	__builtin_memcpy(t.saddr, r->client.daddr, sizeof(t.saddr));
	__builtin_memcpy(t.daddr, r->client.saddr, sizeof(t.daddr));
	t.sport = r->client.dport;
	t.dport = r->client.sport;
	ret = xlb_nat_rewrite(ctx, p, &t, r->smac, r->dmac);
	if (ret >= 0)
		return ret;
	xlb_count_reason(XLB_R_TX_NAT_REPLY, p->frame_len, 0);
	if (r->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(r->ifindex, 0);
}

#endif /* XLB_BPF_NAT_H */
