// SPDX-License-Identifier: GPL-2.0-only
/*
 * The flow cache's packing and placement (include/xlb/flowcache.h), the
 * integer code the fast path and userspace share: a way's ref (backend id,
 * generation's low bits) and meta (VIP id, creation tick) round trips at
 * their widest values, the generation's truncation, a way's age across the
 * ticks' wrap, a flow's set index in its CPU's block, and the sizing of a
 * block (xlb_fc_bits) at exact powers of two, one flow past them, more
 * CPUs than flows and huge flow counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <xlb/consts.h>
#include <xlb/flowcache.h>
#include "../lib/check.h"

#define TICK_NS	  (1ULL << XLB_FC_TICK_SHIFT)			   /* one tick: 1.07 s */
#define PERIOD_NS (1ULL << (XLB_FC_TICK_SHIFT + XLB_FC_TICK_BITS)) /* the wrap: 78 h */
#define MAX_ID	  (XLB_MAX_BACKENDS - 1)			   /* 131071 */
#define MAX_GEN	  ((1U << XLB_FC_GEN_BITS) - 1)			   /* 32767 */
#define MAX_VIP	  (XLB_MAX_VIPS - 1)				   /* 16383 */

static void test_ref_round_trip(void **state)
{
	static const struct {
		__u32 id;
		__u16 gen;
	} cases[] = {
		{0, 0},
		{1, 1},
		{MAX_ID, MAX_GEN},
		{MAX_ID, 0},
		{0, MAX_GEN},
		{65536, 0x4000},
		{12345, 0xffff},
		{MAX_ID, 0x8000},
		{0x15555, 0x2aaa},
		{0x0aaaa, 0x5555},
	};
	__u32 ref;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ref = xlb_fc_ref(cases[i].id, xlb_fc_gen(cases[i].gen));
		check_int(xlb_fc_ref_id(ref), cases[i].id, "ref(%u, %#x): id", cases[i].id,
			  cases[i].gen);
		check_int(xlb_fc_ref_gen(ref), cases[i].gen & MAX_GEN, "ref(%u, %#x): gen",
			  cases[i].id, cases[i].gen);
		/* A gen not truncated first loses its top bit, not the id. */
		ref = xlb_fc_ref(cases[i].id, cases[i].gen);
		check_int(xlb_fc_ref_id(ref), cases[i].id, "ref(%u, %#x) untruncated: id",
			  cases[i].id, cases[i].gen);
		check_int(xlb_fc_ref_gen(ref), cases[i].gen & MAX_GEN,
			  "ref(%u, %#x) untruncated: gen", cases[i].id, cases[i].gen);
	}
	/* The layout itself: id in the low 17 bits, the gen above, every bit used. */
	check_int(xlb_fc_ref(MAX_ID, MAX_GEN), 0xffffffffLL, "ref(max id, max gen)");
	check_int(xlb_fc_ref(1, 1), 0x20001, "ref(1, 1)");
	check_int(xlb_fc_ref(MAX_ID, 0), 0x1ffff, "ref(max id, 0)");
	check_int(xlb_fc_ref(0, MAX_GEN), 0xfffe0000LL, "ref(0, max gen)");
	check_done();
}

static void test_gen_truncation(void **state)
{
	static const struct {
		__u16 gen, want;
	} cases[] = {
		{0, 0},	     {1, 1},	       {0x7fff, 0x7fff}, {0x8000, 0},
		{0x8001, 1}, {0xffff, 0x7fff}, {0x4321, 0x4321}, {0xc321, 0x4321},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_int(xlb_fc_gen(cases[i].gen), cases[i].want, "gen(%#x)", cases[i].gen);
	/* Generations 2^15 apart are one to a way (the documented truncation). */
	check_int(xlb_fc_gen(7) == xlb_fc_gen(7 + 0x8000), 1, "gen 7 vs 7 + 2^15");
	check_int(xlb_fc_gen(7) == xlb_fc_gen(8), 0, "gen 7 vs 8");
	check_done();
}

static void test_meta_round_trip(void **state)
{
	static const __u32 vips[] = {0, 1, 0x2aaa, 0x1555, MAX_VIP};
	static const __u64 times[] = {
		0,	   TICK_NS - 1,	       TICK_NS, 123456789012ULL, PERIOD_NS - 1,
		PERIOD_NS, 5 * PERIOD_NS + 77,
	};
	size_t v, t;
	__u32 meta;

	for (v = 0; v < sizeof(vips) / sizeof(vips[0]); v++)
		for (t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
			meta = xlb_fc_meta(vips[v], times[t]);
			check_int(xlb_fc_meta_vip(meta), vips[v], "meta(%u, %llu): vip", vips[v],
				  (unsigned long long)times[t]);
			check_int(meta >> XLB_FC_VIP_BITS, xlb_fc_tick(times[t]),
				  "meta(%u, %llu): tick", vips[v], (unsigned long long)times[t]);
			check_int(xlb_fc_age_ns(meta, times[t]), 0, "meta(%u, %llu): age at once",
				  vips[v], (unsigned long long)times[t]);
		}
	check_int(xlb_fc_meta(MAX_VIP, PERIOD_NS - 1), 0xffffffffLL, "meta(max vip, last tick)");
	check_int(xlb_fc_meta(MAX_VIP, PERIOD_NS), MAX_VIP, "meta(max vip, wrapped to tick 0)");
	check_int(xlb_fc_meta(0, TICK_NS), 1U << XLB_FC_VIP_BITS, "meta(0, one tick)");
	check_done();
}

static void test_tick(void **state)
{
	check_int(xlb_fc_tick(0), 0, "tick(0)");
	check_int(xlb_fc_tick(TICK_NS - 1), 0, "tick(one tick - 1 ns)");
	check_int(xlb_fc_tick(TICK_NS), 1, "tick(one tick)");
	check_int(xlb_fc_tick(PERIOD_NS - 1), XLB_FC_TICK_MASK, "tick(wrap - 1 ns)");
	check_int(xlb_fc_tick(PERIOD_NS), 0, "tick(wrap)");
	check_int(xlb_fc_tick(PERIOD_NS + 3 * TICK_NS), 3, "tick(wrap + 3 ticks)");
	check_int(xlb_fc_tick(~0ULL), XLB_FC_TICK_MASK, "tick(2^64 - 1)");
	check_done();
}

static void test_age(void **state)
{
	/* Created in the last tick before a wrap, read just after it. */
	__u64 created = PERIOD_NS - 1, now = PERIOD_NS + 5;
	__u64 seed = 0x9e3779b97f4a7c15ULL, real, age;
	__u32 meta = xlb_fc_meta(3, created);
	int i;

	check_int(xlb_fc_age_ns(meta, now), TICK_NS, "last tick before the wrap, read after it");
	check_int(xlb_fc_age_ns(meta, PERIOD_NS - 1), 0, "same tick before the wrap");
	meta = xlb_fc_meta(3, 7 * PERIOD_NS - 2 * TICK_NS);
	check_int(xlb_fc_age_ns(meta, 7 * PERIOD_NS + 3 * TICK_NS + 1), 5 * TICK_NS,
		  "2 ticks before the 7th wrap, read 3 ticks after it");
	/* 30 s, the passive-health bound, straddling a wrap: a whole number of ticks away. */
	meta = xlb_fc_meta(0, PERIOD_NS - 10000000000ULL);
	age = xlb_fc_age_ns(meta, PERIOD_NS + 20000000000ULL);
	check_int(age + TICK_NS > 30000000000ULL && age < 30000000000ULL + TICK_NS, 1,
		  "30 s across a wrap: age %llu ns", (unsigned long long)age);
	check_int(age % TICK_NS, 0, "an age is whole ticks");
	/* A whole period later the way reads as new again (the ticks' modulus). */
	meta = xlb_fc_meta(0, 1000 * TICK_NS);
	check_int(xlb_fc_age_ns(meta, 1000 * TICK_NS + PERIOD_NS), 0, "one period later");
	check_int(xlb_fc_age_ns(meta, 1000 * TICK_NS + PERIOD_NS - TICK_NS), PERIOD_NS - TICK_NS,
		  "one tick short of a period");
	/* Any age below the period reads to within a tick, whatever the start. */
	for (i = 0; i < 10000; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		created = seed >> 8;
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		real = (seed >> 16) % (PERIOD_NS - TICK_NS);
		age = xlb_fc_age_ns(xlb_fc_meta(MAX_VIP, created), created + real);
		if (age + TICK_NS <= real || age >= real + TICK_NS) {
			check_int(age, real, "created %llu, real age %llu: within a tick",
				  (unsigned long long)created, (unsigned long long)real);
			break;
		}
	}
	check_done();
}

static void test_index(void **state)
{
	__u32 cpu, h, i;

	check_int(xlb_fc_index(0, 10, 0xffffffff), 0x3ff, "cpu 0, bits 10, all ones");
	check_int(xlb_fc_index(3, 10, 0x12345), 3 << 10 | 0x345, "cpu 3, bits 10");
	check_int(xlb_fc_index(255, 18, 0xdeadbeef), 255U << 18 | (0xdeadbeef & 0x3ffff),
		  "cpu 255, bits 18");
	/* Every hash of a CPU lands in that CPU's block of 2^bits sets. */
	for (cpu = 0; cpu < 8; cpu++)
		for (h = 0; h < 64; h++) {
			i = xlb_fc_index(cpu, 4, h * 0x9e3779b9U);
			if (i >> 4 != cpu || (i & 15) != ((h * 0x9e3779b9U) & 15)) {
				check_int(i, cpu << 4 | ((h * 0x9e3779b9U) & 15),
					  "cpu %u, bits 4, hash %#x", cpu, h * 0x9e3779b9U);
				break;
			}
		}
	/* bits 0: one set a CPU, the hash ignored. */
	check_int(xlb_fc_index(0, 0, 0xffffffff), 0, "bits 0, cpu 0");
	check_int(xlb_fc_index(5, 0, 0xffffffff), 5, "bits 0, cpu 5");
	check_int(xlb_fc_index(5, 0, 0), 5, "bits 0, cpu 5, hash 0");
	/* bits 31: the whole index but the top bit is the hash's. */
	check_int(xlb_fc_index(0, 31, 0xffffffff), 0x7fffffff, "bits 31, cpu 0");
	check_int(xlb_fc_index(1, 31, 0xffffffff), 0xffffffffLL, "bits 31, cpu 1");
	check_int(xlb_fc_index(1, 31, 0), 0x80000000LL, "bits 31, cpu 1, hash 0");
	/* bits is taken modulo 32 (no undefined shift): 32 is 0. */
	check_int(xlb_fc_index(5, 32, 0xffffffff), 5, "bits 32 as 0");
	check_done();
}

static void test_bits(void **state)
{
	static const struct {
		__u64 flows;
		__u32 ncpu, ways, want;
	} cases[] = {
		/* Exact powers of two of sets per CPU, and one flow more. */
		{3ULL << 20, 1, 3, 20},
		{(3ULL << 20) + 1, 1, 3, 21},
		{4 * 4 * 1024, 4, 4, 10},
		{4 * 4 * 1024 + 1, 4, 4, 11},
		{2 * 3, 2, 3, 0},
		{2 * 3 + 1, 2, 3, 1},
		{2 * 3 * 2, 2, 3, 1},
		{2 * 3 * 2 + 1, 2, 3, 2},
		/* The defaults and the figures of docs/ARCHITECTURE.md. */
		{1 << 20, 2, XLB_FC4_WAYS, 18},
		{200000, 2, XLB_FC4_WAYS, 16},
		{200000, 2, XLB_FC6_WAYS, 15},
		{100000, 2, XLB_FC4_WAYS, 15},
		/* No flows, or fewer flows than CPUs: one set a CPU. */
		{0, 1, 3, 0},
		{1, 1, 3, 0},
		{3, 64, 3, 0},
		{100, 4096, 4, 0},
		/* Huge: the largest --flows, then beyond 31 bits (capped). */
		{0xffffffffULL, 1, 3, 31},
		{0xffffffffULL, 2, 3, 30},
		{0xffffffffULL, 4096, 4, 18},
		{3ULL << 31, 1, 3, 31},
		{(3ULL << 31) + 1, 1, 3, 31},
		{1ULL << 40, 1, 3, 31},
		{1ULL << 62, 1, 3, 31},
	};
	__u64 cap;
	size_t i;
	__u32 b;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = xlb_fc_bits(cases[i].flows, cases[i].ncpu, cases[i].ways);
		check_int(b, cases[i].want, "bits(%llu flows, %u cpus, %u ways)",
			  (unsigned long long)cases[i].flows, cases[i].ncpu, cases[i].ways);
		if (b >= 31)
			continue;
		/* Room for every flow asked for, and not twice what a smaller block held. */
		cap = (__u64)cases[i].ncpu * cases[i].ways << b;
		check_int(cap >= cases[i].flows, 1, "bits(%llu, %u, %u) = %u: room",
			  (unsigned long long)cases[i].flows, cases[i].ncpu, cases[i].ways, b);
		check_int(!b || cap / 2 < cases[i].flows, 1, "bits(%llu, %u, %u) = %u: smallest",
			  (unsigned long long)cases[i].flows, cases[i].ncpu, cases[i].ways, b);
	}
	check_done();
}

/*
 * The round-up must not wrap for counts near 2^64 (it once computed
 * flows + ncpu * ways - 1, which sized such a cache to one set a CPU).
 */
static void test_bits_u64_wrap(void **state)
{
	check_int(xlb_fc_bits(UINT64_MAX, 1, 3), 31, "bits(2^64 - 1 flows, 1 cpu, 3 ways)");
	check_int(xlb_fc_bits(UINT64_MAX - 5, 2, 4), 31, "bits(2^64 - 6 flows, 2 cpus, 4 ways)");
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_round_trip),
		cmocka_unit_test(test_gen_truncation),
		cmocka_unit_test(test_meta_round_trip),
		cmocka_unit_test(test_tick),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_bits),
		cmocka_unit_test(test_bits_u64_wrap),
	};

	return check_run_tests("flowcache", tests, NULL, NULL);
}
