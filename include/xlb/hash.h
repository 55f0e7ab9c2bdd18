/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The flow hash, shared by the fast path and userspace (`xlb pick`, tests):
 * every xlb node and tool must compute the same slot for the same packet.
 * Bob Jenkins' lookup3 final mix over the folded 5-tuple (the kernel's
 * jhash_3words). Pure integer code; compiles for BPF and for the host.
 */
#ifndef XLB_HASH_H
#define XLB_HASH_H

#include <linux/types.h>
#include "abi.h"

#define XLB_JHASH_INITVAL 0xdeadbeefU

static inline __u32 xlb_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

static inline __u32 xlb_jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	a += XLB_JHASH_INITVAL + (3 << 2) + initval;
	b += XLB_JHASH_INITVAL + (3 << 2) + initval;
	c += XLB_JHASH_INITVAL + (3 << 2) + initval;
	c ^= b;
	c -= xlb_rol32(b, 14);
	a ^= c;
	a -= xlb_rol32(c, 11);
	b ^= a;
	b -= xlb_rol32(a, 25);
	c ^= b;
	c -= xlb_rol32(b, 16);
	a ^= c;
	a -= xlb_rol32(c, 4);
	b ^= a;
	b -= xlb_rol32(a, 14);
	c ^= b;
	c -= xlb_rol32(b, 24);
	return c;
}

static inline __u32 xlb_addr_fold(const __be32 a[4])
{
	return (__u32)a[0] ^ (__u32)a[1] ^ (__u32)a[2] ^ (__u32)a[3];
}

/*
 * The bit of an address in struct xlb_addrs: the folded address times the
 * golden ratio, its top XLB_ADDR_BITS bits (Fibonacci hashing: addresses
 * that differ in a few low bits, as VIPs of one subnet do, spread out).
 */
static inline __u32 xlb_addr_bit(const __be32 a[4])
{
	return (xlb_addr_fold(a) * 0x9e3779b1U) >> (32 - XLB_ADDR_BITS);
}

/*
 * Hash of a flow for the Maglev lookup. With src_only (a VIP with
 * XLB_VIP_F_HASH_SRC) only the client address counts, so every connection
 * of a client lands on the same backend.
 */
static inline __u32 xlb_flow_hash(const struct xlb_flow_key *k, __u32 seed, int src_only)
{
	__u32 ports = ((__u32)k->sport << 16) | (__u32)k->dport;

	if (src_only)
		return xlb_jhash_3words(xlb_addr_fold(k->saddr), 0, 0, seed);
	return xlb_jhash_3words(xlb_addr_fold(k->saddr), xlb_addr_fold(k->daddr), ports,
				seed ^ k->proto);
}

/*
 * Slot of re-probe i (i >= 1) when the flow's own slot holds a backend that
 * may not take new flows. Each probe hashes anew: walking the table at a
 * fixed stride instead would meet the same backend again far more often
 * than chance, since a Maglev table repeats its backends along a stride.
 */
static inline __u32 xlb_reprobe_slot(__u32 hash, __u32 i, __u32 seed, __u32 table_size)
{
	return xlb_jhash_3words(hash, i, 0x72657072, seed) % table_size;
}

/*
 * Slot of least_conn's second candidate, probe i (i >= 0): hashes of their
 * own, apart from the re-probes' (bpf/lib/lconn.h).
 */
static inline __u32 xlb_lc_slot(__u32 hash, __u32 i, __u32 seed, __u32 table_size)
{
	return xlb_jhash_3words(hash, i, 0x6c636f6e, seed) % table_size;
}

#endif /* XLB_HASH_H */
