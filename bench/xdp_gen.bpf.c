// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs of the live-frames traffic generator (bench/trafficgen.c):
 *
 * xdp_gen   run by BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: writes
 *           the frame afresh from gen_frame (live frames recycle their
 *           pages without restoring the bytes, and the program under test
 *           rewrites them: xlb pushes an outer header over the Ethernet
 *           header), gives it the next source port of a small set (so the
 *           frames belong to a few established flows), fixes the TCP
 *           checksum incrementally and sends it with XDP_TX out of the
 *           generator's device. It is also attached in generic mode to the
 *           idle lo of the generator's namespace, only so that it stays in
 *           the kernel's XDP dispatcher (otherwise every test-run call pays
 *           two RCU grace periods); there it passes everything.
 * xdp_count attached natively to the generator's device: counts what comes
 *           back (all frames, and IPIP frames) per CPU, and drops it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 gen_ifindex; /* the device test-run frames "arrive" on */
const volatile __u16 sport_base = 40000;
const volatile __u16 sport_count = 16;

/* The frame to send, written by userspace (SYN first, then ACK). */
#define GEN_FRAME_LEN 60
__u8 gen_frame[GEN_FRAME_LEN];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} gen_seq SEC(".maps");

struct gen_rx {
	__u64 frames;
	__u64 bytes;
	__u64 ipip; /* outer IPv4 with protocol 4: what xlb forwards */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_rx);
} gen_rx SEC(".maps");

/* RFC 1624: HC' = ~(~HC + ~m + m') for one 16-bit word. */
static __always_inline __u16 csum_replace2(__u16 check, __u16 old, __u16 new)
{
	__u32 s = (__u16)~check + (__u16)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ~s;
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	__u32 zero = 0, *seq;
	__u16 port;

	if (ctx->ingress_ifindex != gen_ifindex)
		return XDP_PASS;
	if (data + GEN_FRAME_LEN > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, gen_frame, GEN_FRAME_LEN);
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_TCP)
		return XDP_TX;
	seq = bpf_map_lookup_elem(&gen_seq, &zero);
	if (!seq)
		return XDP_TX;
	port = bpf_htons(sport_base + *seq % sport_count);
	*seq += 1;
	tcp->check = csum_replace2(tcp->check, tcp->source, port);
	tcp->source = port;
	return XDP_TX;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct gen_rx *rx;
	__u32 zero = 0;

	rx = bpf_map_lookup_elem(&gen_rx, &zero);
	if (!rx)
		return XDP_DROP;
	rx->frames++;
	rx->bytes += data_end - data;
	if ((void *)(ip + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) &&
	    ip->protocol == IPPROTO_IPIP)
		rx->ipip++;
	return XDP_DROP;
}
