// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlb_decap: the backend-side XDP program. It strips the outer header that
 * xlb_lb pushed (IPIP, IP6IP6, IPv4-in-IPv6, or GUE: outer IPv4/IPv6, UDP
 * to the GUE port, GUE header) when the inner destination is one of this
 * host's VIPs, and hands the inner packet to the kernel, so backends need
 * no tunnel device. Everything else passes untouched.
 */
#include "lib/common.h"
#include "lib/csum.h"

char LICENSE[] SEC("license") = "GPL";

/* Local VIP addresses whose tunnelled packets are stripped. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xlb_addr_key);
	__type(value, __u32);
	__uint(max_entries, XLB_MAX_VIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_vips SEC(".maps");

/*
 * (CPU, enum xlb_decap_reason) -> packets, bytes: a block of XLB_R_SLOTS
 * counters per CPU, as xlb_lb's xlb_reasons (bpf/lib/maps.h says why).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_reason_count);
	__uint(max_entries, XLB_R_ENTRIES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_stats SEC(".maps");

/* GUE's UDP destination port on this host, host order; 0 = XLB_GUE_PORT_DEFAULT. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_gue_port SEC(".maps");

/*
 * Hand-offs per peer (the next hop's address): packets and bytes sent to
 * it. An LRU keeps the most recent peers; a backend has a few dozen.
 */
#define XLB_DECAP_PEERS 1024
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__type(key, struct xlb_addr_key);
	__type(value, struct xlb_reason_count);
	__uint(max_entries, XLB_DECAP_PEERS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlb_decap_peers SEC(".maps");

static __always_inline int xlb_decap_count(__u32 r, __u32 bytes, int verdict)
{
	__u32 k = XLB_R_KEY(bpf_get_smp_processor_id(), r);
	struct xlb_reason_count *c = bpf_map_lookup_elem(&xlb_decap_stats, &k);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return verdict;
}

/* Is the inner packet at inner (IPv4 or IPv6 per proto) for a local VIP? */
static __always_inline int xlb_inner_is_vip(void *inner, void *data_end, __u8 proto)
{
	struct xlb_addr_key k = {};
	struct iphdr *iph = inner;
	struct ipv6hdr *ip6 = inner;

	if (proto == IPPROTO_IPIP) {
		if ((void *)(iph + 1) > data_end || iph->version != 4)
			return -1;
		k.family = XLB_AF_INET;
		k.addr[0] = iph->daddr;
	} else {
		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return -1;
		k.family = XLB_AF_INET6;
		__builtin_memcpy(k.addr, &ip6->daddr, 16);
	}
	return bpf_map_lookup_elem(&xlb_decap_vips, &k) ? 1 : 0;
}

/*
 * The UDP datagram at udp, if it is a GUE data message (version 0, C clear)
 * carrying IPv4 or IPv6: *inner := IPPROTO_IPIP or IPPROTO_IPV6, *len :=
 * the bytes from udp to the inner packet, 8 + 4 + hlen x 4. Whatever hlen
 * covers is skipped unread: xlb's private word and hops, or another
 * sender's optional fields (flags) and private data. Returns XLB_D_GUE, or
 * the reason to pass the packet untouched.
 */
static __always_inline __u32 xlb_gue_parse(struct udphdr *udp, void *data_end, __u8 *inner,
					   __u32 *len)
{
	struct xlb_gue *g = (void *)(udp + 1);
	__u32 zero = 0, *port;

	if ((void *)(udp + 1) > data_end)
		return XLB_D_PASS_MALFORMED;
	port = bpf_map_lookup_elem(&xlb_decap_gue_port, &zero);
	if (udp->dest != bpf_htons(port && *port ? (__u16)*port : XLB_GUE_PORT_DEFAULT))
		return XLB_D_PASS_NOT_TUNNEL;
	/* The first word: version (2 bits), C (1), hlen (5); proto; flags. */
	if ((void *)g + 4 > data_end)
		return XLB_D_PASS_MALFORMED;
	if (g->hlen & 0xe0) /* version 1 or more, or a control message */
		return XLB_D_PASS_NOT_TUNNEL;
	if (g->proto != IPPROTO_IPIP && g->proto != IPPROTO_IPV6)
		return XLB_D_PASS_NOT_TUNNEL;
	*inner = g->proto;
	*len = sizeof(*udp) + 4 + (g->hlen & 0x1f) * 4;
	return XLB_D_GUE;
}

/*
 * Second chance (docs/SECOND_CHANCE.md, section 4): a GUE packet from
 * xlb_lb names, after this host, the backends that owned the flow's table
 * slot before (hops). A SYN, or a packet of a connection a socket of this
 * host holds, stays here; anything else is handed to the next hop, whose
 * kernel may hold the connection. Hops only go forward (next grows, count
 * is at most XLB_GUE_HOPS), so a packet is handed on twice at most.
 */

/* Whether the inner TCP segment at in (family per proto) is this host's. */
static __always_inline int xlb_sc_local(struct xdp_md *ctx, void *in, void *data_end, __u8 proto,
					__u32 *reason)
{
	struct bpf_sock_tuple t = {};
	struct ipv6hdr *ip6 = in;
	struct iphdr *iph = in;
	struct bpf_sock *sk;
	struct tcphdr *th;
	__u32 tlen;

	if (proto == IPPROTO_IPIP) {
		/* Other protocols, and IPv4 options, get no second chance. */
		if ((void *)(iph + 1) > data_end || iph->protocol != IPPROTO_TCP || iph->ihl != 5)
			return 1;
		th = (void *)(iph + 1);
		if ((void *)(th + 1) > data_end)
			return 1;
		t.ipv4.saddr = iph->saddr;
		t.ipv4.daddr = iph->daddr;
		t.ipv4.sport = th->source;
		t.ipv4.dport = th->dest;
		tlen = sizeof(t.ipv4);
	} else {
		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
			return 1;
		th = (void *)(ip6 + 1);
		if ((void *)(th + 1) > data_end)
			return 1;
		__builtin_memcpy(t.ipv6.saddr, &ip6->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, &ip6->daddr, 16);
		t.ipv6.sport = th->source;
		t.ipv6.dport = th->dest;
		tlen = sizeof(t.ipv6);
	}
	if (th->syn && !th->ack) {
		*reason = XLB_D_SC_SYN;
		return 1;
	}
	/*
	 * Established, a request socket (the handshake's last ACK) or
	 * time-wait: skc_lookup finds all three; a listener alone is no
	 * connection.
	 */
	sk = bpf_skc_lookup_tcp(ctx, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		*reason = XLB_D_SC_KNOWN;
		return 1;
	}
	bpf_sk_release(sk);
	return 0;
}

/* Outer IPv4: to hop from this host, TTL - 1, header checksum anew. */
static __always_inline int xlb_sc_rewrite4(struct iphdr *iph, __be32 hop)
{
	if (iph->ttl <= 1)
		return -1;
	iph->saddr = iph->daddr;
	iph->daddr = hop;
	iph->ttl--;
	iph->check = 0;
	iph->check = xlb_ipv4_csum(iph);
	return 0;
}

/*
 * Outer IPv6: to hop from this host, hop limit - 1. The UDP checksum
 * follows incrementally (RFC 1624): the pseudo-header's source becomes
 * hop's address (the old destination stays in it, as the source), and the
 * private word's next grows by one.
 */
static __always_inline int xlb_sc_rewrite6(struct ipv6hdr *ip6, struct udphdr *udp,
					   struct xlb_gue *g, const __u32 *hop)
{
	__u32 *s = (__u32 *)&ip6->saddr, *d = (__u32 *)&ip6->daddr;
	__u16 old_w = *(__u16 *)&g->next;
	__u64 diff = 0;
	int i;

	if (ip6->hop_limit <= 1)
		return -1;
#pragma unroll
	for (i = 0; i < 4; i++)
		diff += xlb_csum_diff32(s[i], hop[i]);
	__builtin_memcpy(s, d, 16);
	__builtin_memcpy(d, hop, 16);
	ip6->hop_limit--;
	g->next++;
	diff += xlb_csum_diff16(old_w, *(__u16 *)&g->next);
	if (udp->check)
		udp->check = xlb_csum_apply(udp->check, diff) ?: 0xffff;
	return 0;
}

/* One more packet of bytes handed to peer. */
static __always_inline void xlb_sc_peer_count(const struct xlb_addr_key *peer, __u32 bytes)
{
	struct xlb_reason_count *c, one = {.packets = 1, .bytes = bytes};

	c = bpf_map_lookup_elem(&xlb_decap_peers, peer);
	if (!c) {
		/* Another CPU's insert of the same peer may win: then count in it. */
		if (!bpf_map_update_elem(&xlb_decap_peers, peer, &one, BPF_NOEXIST))
			return;
		c = bpf_map_lookup_elem(&xlb_decap_peers, peer);
		if (!c)
			return;
	}
	c->packets++;
	c->bytes += bytes;
}

/*
 * Hand the packet (outer headers at l3, GUE at g) to hop next: rewrite,
 * find the next hop's MACs, send. A verdict.
 */
static __always_inline int xlb_sc_handoff(struct xdp_md *ctx, void *l3, struct xlb_gue *g, int v6,
					  __u32 bytes)
{
	struct bpf_fib_lookup fib = {};
	struct xlb_addr_key peer = {};
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = l3;
	struct iphdr *iph = l3;
	__u8 next = g->next;
	__u32 *hop;
	int rc;

	if ((void *)(eth + 1) > data_end)
		return xlb_decap_count(XLB_D_PASS_MALFORMED, bytes, XDP_PASS);
	fib.ifindex = ctx->ingress_ifindex;
	if (!v6) {
		hop = (void *)(g + 1) + (next & 1) * 4;
		if ((void *)(hop + 1) > data_end || (void *)(iph + 1) > data_end)
			return xlb_decap_count(XLB_D_PASS_MALFORMED, bytes, XDP_PASS);
		peer.addr[0] = *hop;
		peer.family = XLB_AF_INET;
		if (xlb_sc_rewrite4(iph, *hop))
			return xlb_decap_count(XLB_D_SC_TTL, bytes, XDP_DROP);
		g->next++;
		fib.family = AF_INET;
		fib.tos = iph->tos;
		fib.l4_protocol = IPPROTO_UDP;
		fib.tot_len = bpf_ntohs(iph->tot_len);
		fib.ipv4_src = iph->saddr;
		fib.ipv4_dst = iph->daddr;
	} else {
		hop = (void *)(g + 1) + (next & 1) * 16;
		if ((void *)(hop + 4) > data_end || (void *)(ip6 + 1) > data_end ||
		    (void *)(ip6 + 1) + sizeof(struct udphdr) > data_end)
			return xlb_decap_count(XLB_D_PASS_MALFORMED, bytes, XDP_PASS);
		__builtin_memcpy(peer.addr, hop, 16);
		peer.family = XLB_AF_INET6;
		if (xlb_sc_rewrite6(ip6, (void *)(ip6 + 1), g, hop))
			return xlb_decap_count(XLB_D_SC_TTL, bytes, XDP_DROP);
		fib.family = AF_INET6;
		fib.l4_protocol = IPPROTO_UDP;
		fib.tot_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		__builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return xlb_decap_count(XLB_D_SC_NO_ROUTE, bytes, XDP_DROP);
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	xlb_decap_count(XLB_D_SC_HANDOFF, bytes, 0);
	xlb_sc_peer_count(&peer, bytes);
	if (fib.ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib.ifindex, 0);
}

/*
 * Remove outer_len bytes after the L2 header: move the L2 header forward,
 * set the inner ethertype, then adjust_head(+outer_len).
 */
static __always_inline int xlb_strip(struct xdp_md *ctx, __u32 l2_len, __u32 outer_len,
				     __be16 inner_proto)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth;

	/*
	 * outer_len may vary (GUE's hlen): then the verifier learns nothing of
	 * data itself from the second test, hence the first.
	 */
	if (data + 18 > data_end || data + outer_len + 18 > data_end)
		return -1;
	/* Constant sizes: the verifier wants fixed-length copies. */
	if (l2_len == sizeof(struct ethhdr)) {
		__builtin_memmove(data + outer_len, data, sizeof(struct ethhdr));
		eth = data + outer_len;
		eth->h_proto = inner_proto;
	} else {
		__builtin_memmove(data + outer_len, data, 18);
		*(__be16 *)(data + outer_len + 16) = inner_proto;
	}
	return bpf_xdp_adjust_head(ctx, (int)outer_len);
}

SEC("xdp")
int xlb_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 bytes = data_end - data, l2_len = sizeof(struct ethhdr), outer_len, gue_len;
	__u32 done = XLB_D_DECAP;
	struct xlb_gue *sc_g = NULL;
	struct ethhdr *eth = data;
	int l4_v6 = 0;
	struct xlb_vlan_hdr *vh;
	struct ipv6hdr *ip6;
	struct iphdr *iph;
	__be16 proto;
	__u8 inner, l4;
	int ret;

	if ((void *)(eth + 1) > data_end)
		return xlb_decap_count(XLB_D_PASS_MALFORMED, bytes, XDP_PASS);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end)
			return xlb_decap_count(XLB_D_PASS_MALFORMED, bytes, XDP_PASS);
		proto = vh->proto;
		l2_len += XLB_VLAN_HLEN;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		iph = data + l2_len;
		if ((void *)(iph + 1) > data_end)
			return xlb_decap_count(XLB_D_PASS_MALFORMED, bytes, XDP_PASS);
		/* xlb_lb writes 20-byte, unfragmented outer headers only. */
		l4 = iph->protocol;
		if ((l4 != IPPROTO_IPIP && l4 != IPPROTO_UDP) || iph->ihl != 5 ||
		    (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return xlb_decap_count(XLB_D_PASS_NOT_TUNNEL, bytes, XDP_PASS);
		outer_len = sizeof(*iph);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		ip6 = data + l2_len;
		if ((void *)(ip6 + 1) > data_end)
			return xlb_decap_count(XLB_D_PASS_MALFORMED, bytes, XDP_PASS);
		l4 = ip6->nexthdr;
		if (l4 != IPPROTO_IPIP && l4 != IPPROTO_IPV6 && l4 != IPPROTO_UDP)
			return xlb_decap_count(XLB_D_PASS_NOT_TUNNEL, bytes, XDP_PASS);
		outer_len = sizeof(*ip6);
		l4_v6 = 1;
	} else {
		return xlb_decap_count(XLB_D_PASS_NOT_TUNNEL, bytes, XDP_PASS);
	}

	inner = l4;
	if (l4 == IPPROTO_UDP) {
		done = xlb_gue_parse(data + l2_len + outer_len, data_end, &inner, &gue_len);
		if (done != XLB_D_GUE)
			return xlb_decap_count(done, bytes, XDP_PASS);
		sc_g = data + l2_len + outer_len + sizeof(struct udphdr);
		outer_len += gue_len;
	}

	ret = xlb_inner_is_vip(data + l2_len + outer_len, data_end, inner);
	if (ret < 0)
		return xlb_decap_count(XLB_D_PASS_MALFORMED, bytes, XDP_PASS);
	if (!ret)
		return xlb_decap_count(XLB_D_PASS_NOT_VIP, bytes, XDP_PASS);
	/*
	 * xlb's private word with a hop left: this host keeps the packet only
	 * if it is a SYN or one of its sockets holds the connection.
	 */
	if (sc_g && (void *)(sc_g + 1) <= data_end && sc_g->priv == bpf_htons(XLB_GUE_PRIV_TYPE) &&
	    sc_g->count <= XLB_GUE_HOPS && sc_g->next < sc_g->count &&
	    (sc_g->hlen & 0x1f) >= 1 + XLB_GUE_HOPS * (l4_v6 ? 4 : 1)) {
		if (!xlb_sc_local(ctx, data + l2_len + outer_len, data_end, inner, &done))
			return xlb_sc_handoff(ctx, data + l2_len, sc_g, l4_v6, bytes);
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
	}
	if (xlb_strip(ctx, l2_len, outer_len,
		      inner == IPPROTO_IPIP ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6)))
		return xlb_decap_count(XLB_D_DROP_HEADROOM, bytes, XDP_DROP);
	return xlb_decap_count(done, bytes, XDP_PASS);
}
