// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference programs for the benchmarks: an empty program (the cost of a
 * BPF_PROG_TEST_RUN call itself, subtracted from every figure), a MAC-swap
 * XDP_TX program (the floor any forwarding program pays) and a minimal
 * IPIP-encapsulating XDP_TX program (the floor any encapsulating one pays:
 * bpf_xdp_adjust_head, an outer IPv4 header with its checksum, a frame 20
 * bytes longer), with no lookup of any kind.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_macswap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

/*
 * An IPv4 frame back to its sender in IPIP: 20 bytes of headroom taken, the
 * Ethernet header written in front with the MACs swapped, an outer header
 * from the inner one's destination to its source, checksummed. As in xlb
 * (bpf/lib/encap.h), the header's words are summed in registers, not read
 * back from the packet. Anything but IPv4 is dropped.
 */
SEC("xdp")
int xdp_encap(struct xdp_md *ctx)
{
	const int grow = sizeof(struct iphdr);
	struct ethhdr *eth, *old;
	struct iphdr *o, *in;
	void *data, *data_end;
	__be32 w0, saddr, daddr, *w;
	__be16 ttl_proto;
	__u64 sum;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	old = data;
	in = (void *)(old + 1);
	if ((void *)(in + 1) > data_end || old->h_proto != bpf_htons(ETH_P_IP))
		return XDP_DROP;
	if (bpf_xdp_adjust_head(ctx, -grow))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	old = data + grow;
	o = (void *)(eth + 1);
	in = (void *)(o + 1);
	if ((void *)(in + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, old->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old->h_dest, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	/* version 4, 5 words, the inner TOS, the total length; id 0, no flags */
	w0 = bpf_htonl(0x45000000U | ((__u32)in->tos << 16) |
		       ((bpf_ntohs(in->tot_len) + grow) & 0xffff));
	ttl_proto = bpf_htons((64U << 8) | IPPROTO_IPIP);
	saddr = in->daddr;
	daddr = in->saddr;
	sum = (__u64)w0 + ttl_proto + saddr + daddr;
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	w = (__be32 *)o;
	w[0] = w0;
	w[1] = 0;
	*(__be16 *)&o->ttl = ttl_proto;
	o->check = ~sum;
	w[3] = saddr;
	w[4] = daddr;
	return XDP_TX;
}
