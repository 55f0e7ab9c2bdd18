/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Properties of the Maglev table build (user/lib/dataplane/maglev.c): valid sizes,
 * argument checks, empty and single-backend tables, no holes,
 * determinism (order of the input, repeated runs), weight shares,
 * balance, minimal disruption when a backend goes and restoration when
 * it comes back, and a pinned table hash that guards the cross-machine,
 * cross-version contract. Measured figures are printed with
 * print_message(), so they show in the test log.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xlb/consts.h"
#include "dataplane/maglev.h"
#include "../lib/check.h"

#define M_DEFAULT XLB_MAGLEV_DEFAULT
#define KEY_LEN	  48
#define SEED	  0x5eed1234U

/* A backend set: nodes whose keys point into their own key buffer. */
struct set {
	struct xlb_maglev_node *nodes;
	char (*keys)[KEY_LEN];
	size_t n;
};

/* --- assertions beyond tests/lib/check.h ------------------------------- */

/* memcmp of two tables; on a difference, prints the first differing slot. */
static void expect_same_table(const __u32 *actual, const __u32 *expected, __u32 size,
			      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void expect_same_table(const __u32 *actual, const __u32 *expected, __u32 size,
			      const char *fmt, ...)
{
	char what[96];
	va_list ap;
	__u32 i;

	if (!memcmp(actual, expected, size * sizeof(*actual)))
		return;
	for (i = 0; actual[i] == expected[i]; i++)
		;
	snprintf(what, sizeof(what), "slot %u: got %u, expected %u", i, actual[i], expected[i]);
	va_start(ap, fmt);
	check_vreport(1, what, fmt, ap);
	va_end(ap);
}

/* --- helpers -------------------------------------------------------------- */

/* splitmix64: reproducible pseudo-random numbers for weights and shuffles. */
static __u64 rnd(__u64 *state)
{
	__u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int is_prime(__u32 n)
{
	__u32 d;

	if (n < 2)
		return 0;
	for (d = 2; (__u64)d * d <= n; d++) {
		if (n % d == 0)
			return 0;
	}
	return 1;
}

/* @n backends, ids 0 .. n - 1, weight @weight; IPv4 and IPv6 keys mixed. */
static void set_init(struct set *s, size_t n, __u32 weight)
{
	size_t i;

	s->n = n;
	s->nodes = calloc(n ? n : 1, sizeof(*s->nodes));
	s->keys = calloc(n ? n : 1, sizeof(*s->keys));
	assert_non_null(s->nodes);
	assert_non_null(s->keys);
	for (i = 0; i < n; i++) {
		if (i % 4 == 3)
			snprintf(s->keys[i], KEY_LEN, "[fd00:78:6c62:%zx::%zx]:443", i / 256,
				 i % 256 + 1);
		else
			snprintf(s->keys[i], KEY_LEN, "198.18.%zu.%zu:80", i / 250, i % 250 + 1);
		s->nodes[i].key = s->keys[i];
		s->nodes[i].weight = weight;
		s->nodes[i].id = (__u32)i;
	}
}

static void set_random_weights(struct set *s, __u32 max, __u64 *rng)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		s->nodes[i].weight = (__u32)(rnd(rng) % max) + 1;
}

static void set_free(struct set *s)
{
	free(s->nodes);
	free(s->keys);
}

static __u32 *table_new(__u32 size)
{
	__u32 *t = malloc(size * sizeof(*t));

	assert_non_null(t);
	return t;
}

static void build_ok(const struct set *s, __u32 size, __u32 seed, __u32 *table)
{
	int err = xlb_maglev_build(s->nodes, s->n, size, seed, table);

	expect_int(err, 0, "xlb_maglev_build(n=%zu, size=%u)", s->n, size);
}

/* Slots per id (ids are below @n). Fails on a slot with another value. */
static void count_slots(const __u32 *table, __u32 size, __u32 *count, size_t n)
{
	__u32 i;

	memset(count, 0, n * sizeof(*count));
	for (i = 0; i < size; i++) {
		if (table[i] >= n)
			expect_int(table[i], 0, "slot %u of %u: no backend of the set (n=%zu)", i,
				   size, n);
		count[table[i]]++;
	}
}

static __u32 slots_moved(const __u32 *a, const __u32 *b, __u32 size)
{
	__u32 i, moved = 0;

	for (i = 0; i < size; i++)
		moved += a[i] != b[i];
	return moved;
}

/* --- tests ---------------------------------------------------------------- */

static void test_size_valid(void **state)
{
	static const __u32 big[] = {
		XLB_MAGLEV_DEFAULT,
		655373,
		XLB_MAGLEV_MAX,
		XLB_MAGLEV_MAX + 1,
		1048583 /* prime above XLB_MAGLEV_MAX */,
		0xffffffffU,
		0xfffffffbU /* prime */,
	};
	__u32 n;
	size_t i;

	for (n = 0; n < 20000; n++)
		expect_int(xlb_maglev_size_valid(n), n >= 3 && is_prime(n),
			   "xlb_maglev_size_valid(%u)", n);
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		expect_int(xlb_maglev_size_valid(big[i]),
			   big[i] <= XLB_MAGLEV_MAX && is_prime(big[i]),
			   "xlb_maglev_size_valid(%u)", big[i]);
}

/* The size chosen for a member count: >= 100 slots each, on the ladder, capped. */
static void test_size_auto(void **state)
{
	static const struct {
		size_t members;
		__u32 size;
	} rows[] = {
		{0, 251},     {1, 251},	    {2, 251},	  {3, 509},	 {5, 509},
		{6, 1021},    {10, 1021},   {11, 2039},	  {20, 2039},	 {21, 4093},
		{40, 4093},   {41, 8191},   {81, 8191},	  {82, 16381},	 {163, 16381},
		{164, 32749}, {327, 32749}, {328, 65537}, {1000, 65537}, {100000, 65537},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		expect_int(xlb_maglev_size_auto(rows[i].members), rows[i].size,
			   "xlb_maglev_size_auto(%zu)", rows[i].members);
}

static void test_invalid_args(void **state)
{
	static const __u32 bad_sizes[] = {0, 1, 2, 4, 9, 65535, 65536, 1048583};
	__u32 *table = table_new(M_DEFAULT);
	struct set s;
	size_t i;

	set_init(&s, 3, 1);
	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		expect_int(xlb_maglev_build(s.nodes, s.n, bad_sizes[i], SEED, table), -EINVAL,
			   "size %u", bad_sizes[i]);
	expect_int(xlb_maglev_build(s.nodes, s.n, 7, SEED, NULL), -EINVAL, "NULL table");
	expect_int(xlb_maglev_build(NULL, 1, 7, SEED, table), -EINVAL, "NULL nodes, n = 1");
	expect_int(xlb_maglev_build(s.nodes, XLB_MAX_BACKENDS + 1, 7, SEED, table), -EINVAL,
		   "n = XLB_MAX_BACKENDS + 1");

	/* A failed build leaves the table alone. */
	memset(table, 0xab, 7 * sizeof(*table));
	s.nodes[1].key = NULL;
	expect_int(xlb_maglev_build(s.nodes, s.n, 7, SEED, table), -EINVAL, "NULL key");
	s.nodes[1].key = s.keys[1];
	s.nodes[2].id = XLB_NO_BACKEND;
	expect_int(xlb_maglev_build(s.nodes, s.n, 7, SEED, table), -EINVAL,
		   "id XLB_NO_BACKEND with weight 1");
	for (i = 0; i < 7; i++)
		expect_int(table[i], 0xababababL, "slot %zu after failed builds", i);

	/* ... but the id is fine on a node that is not placed. */
	s.nodes[2].weight = 0;
	expect_int(xlb_maglev_build(s.nodes, s.n, 7, SEED, table), 0,
		   "id XLB_NO_BACKEND with weight 0");
	set_free(&s);
	free(table);
}

static void test_duplicate_keys(void **state)
{
	/* Equal in the first 16 bytes, different after: not duplicates. */
	static const char *const v6[] = {
		"[fd00:78:6c62:100::1]:80",
		"[fd00:78:6c62:100::1]:8080",
		"[fd00:78:6c62:100::2]:80",
		"[fd00:78:6c62:100::1]:81",
	};
	struct xlb_maglev_node nodes[4];
	__u32 *table = table_new(101);
	char copy[KEY_LEN];
	struct set s;
	size_t i;

	set_init(&s, 50, 1);
	strcpy(copy, s.keys[17]); /* same string, another pointer */
	s.nodes[33].key = copy;
	expect_int(xlb_maglev_build(s.nodes, s.n, 101, SEED, table), -EINVAL, "key \"%s\" twice",
		   copy);
	s.nodes[33].weight = 0;
	expect_int(xlb_maglev_build(s.nodes, s.n, 101, SEED, table), -EINVAL,
		   "key \"%s\" twice, once with weight 0", copy);
	set_free(&s);

	for (i = 0; i < 4; i++)
		nodes[i] = (struct xlb_maglev_node){
			.key = v6[i],
			.weight = 1,
			.id = (__u32)i,
		};
	expect_int(xlb_maglev_build(nodes, 4, 101, SEED, table), 0,
		   "long keys sharing a 16-byte prefix");
	nodes[3].key = "[fd00:78:6c62:100::1]:8080";
	expect_int(xlb_maglev_build(nodes, 4, 101, SEED, table), -EINVAL, "long key \"%s\" twice",
		   nodes[3].key);
	nodes[3].key = "";
	nodes[2].key = "";
	expect_int(xlb_maglev_build(nodes, 4, 101, SEED, table), -EINVAL, "empty key twice");
	free(table);
}

static void test_empty(void **state)
{
	static const __u32 sizes[] = {3, 101, M_DEFAULT};
	__u32 *table = table_new(M_DEFAULT);
	size_t i, zero_ok;
	struct set s;
	__u32 j;

	set_init(&s, 20, 0); /* all weight 0 */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(table, 0, sizes[i] * sizeof(*table));
		expect_int(xlb_maglev_build(NULL, 0, sizes[i], SEED, table), 0, "no nodes, size %u",
			   sizes[i]);
		for (j = 0, zero_ok = 0; j < sizes[i]; j++)
			zero_ok += table[j] == XLB_NO_BACKEND;
		expect_int((long)zero_ok, sizes[i], "slots XLB_NO_BACKEND, no nodes, size %u",
			   sizes[i]);

		memset(table, 0, sizes[i] * sizeof(*table));
		build_ok(&s, sizes[i], SEED, table);
		for (j = 0, zero_ok = 0; j < sizes[i]; j++)
			zero_ok += table[j] == XLB_NO_BACKEND;
		expect_int((long)zero_ok, sizes[i],
			   "slots XLB_NO_BACKEND, 20 nodes of weight 0, size %u", sizes[i]);
	}
	set_free(&s);
	free(table);
}

static void test_single_backend(void **state)
{
	static const __u32 sizes[] = {3, 7, 101, M_DEFAULT};
	static const __u32 weights[] = {1, 100, 0xffffffffU};
	__u32 *table = table_new(M_DEFAULT);
	size_t i, w, same;
	struct xlb_maglev_node node = {.key = "198.18.0.11:80", .id = 4242};
	__u32 j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (w = 0; w < sizeof(weights) / sizeof(weights[0]); w++) {
			node.weight = weights[w];
			expect_int(xlb_maglev_build(&node, 1, sizes[i], SEED, table), 0,
				   "one node, size %u", sizes[i]);
			for (j = 0, same = 0; j < sizes[i]; j++)
				same += table[j] == node.id;
			expect_int((long)same, sizes[i],
				   "slots holding the only backend, size %u, weight %u", sizes[i],
				   weights[w]);
		}
	}
	free(table);
}

static void test_no_holes(void **state)
{
	static const struct {
		size_t n;
		__u32 size;
	} cases[] = {
		{2, 3},
		{3, 3},
		{10, 7},
		{300, 101},
		{2, 101},
		{10, M_DEFAULT},
		{100, M_DEFAULT},
		{1000, M_DEFAULT},
		{5000, M_DEFAULT},
		{100, XLB_MAGLEV_MAX},
	};
	__u32 *table = table_new(XLB_MAGLEV_MAX), *count;
	double sum_w, share;
	__u64 rng = 1;
	size_t i, k;
	struct set s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_init(&s, cases[i].n, 1);
		set_random_weights(&s, 100, &rng);
		count = calloc(s.n, sizeof(*count));
		assert_non_null(count);
		build_ok(&s, cases[i].size, SEED, table);
		/* Every slot holds a backend of the set ... */
		count_slots(table, cases[i].size, count, s.n);
		/* ... and every backend due two slots or more has one. */
		for (k = 0, sum_w = 0; k < s.n; k++)
			sum_w += s.nodes[k].weight;
		for (k = 0; k < s.n; k++) {
			share = cases[i].size * (s.nodes[k].weight / sum_w);
			if (share >= 2 && !count[k])
				expect_le(share, 0, "share of absent node %zu, n=%zu size=%u", k,
					  s.n, cases[i].size);
		}
		free(count);
		set_free(&s);
	}
	free(table);
}

static void test_determinism(void **state)
{
	__u32 *ref = table_new(M_DEFAULT), *t = table_new(M_DEFAULT);
	struct xlb_maglev_node tmp;
	__u64 rng = 7;
	size_t i, j, round;
	struct set s;

	set_init(&s, 500, 1);
	set_random_weights(&s, 100, &rng);
	s.nodes[3].weight = 0; /* a weight-0 node in the mix */
	build_ok(&s, M_DEFAULT, SEED, ref);
	for (round = 0; round < 8; round++) {
		/* Same run again, then the same set in another order. */
		build_ok(&s, M_DEFAULT, SEED, t);
		expect_same_table(t, ref, M_DEFAULT, "run %zu", round);
		for (i = s.n - 1; i > 0; i--) {
			j = (size_t)(rnd(&rng) % (i + 1));
			tmp = s.nodes[i];
			s.nodes[i] = s.nodes[j];
			s.nodes[j] = tmp;
		}
		build_ok(&s, M_DEFAULT, SEED, t);
		expect_same_table(t, ref, M_DEFAULT, "shuffle %zu", round);
	}

	/* The seed is part of the input: another seed, another table. */
	build_ok(&s, M_DEFAULT, SEED + 1, t);
	expect_le(M_DEFAULT - slots_moved(t, ref, M_DEFAULT), M_DEFAULT / 10.0,
		  "slots equal with seeds %u and %u", SEED, SEED + 1);
	set_free(&s);
	free(t);
	free(ref);
}

/*
 * Each node's slot count against its ideal share M * w / sum(w): within
 * 1% (relative) or within 2 slots, whichever is larger. An integer count
 * cannot always come within 1% of a share of a few dozen slots; the build
 * rounds each count to within about one slot (see maglev.c). Returns the
 * worst relative error among shares of 100+ slots, and the worst absolute
 * error in *abs_err.
 */
static double check_shares(const struct set *s, const __u32 *table, __u32 size, double *abs_err)
{
	double sum_w = 0, worst_rel = 0, want, err;
	__u32 *count = calloc(s->n, sizeof(*count));
	size_t i;

	assert_non_null(count);
	count_slots(table, size, count, s->n);
	for (i = 0; i < s->n; i++)
		sum_w += s->nodes[i].weight;
	*abs_err = 0;
	for (i = 0; i < s->n; i++) {
		__u32 id = s->nodes[i].id;

		want = size * (s->nodes[i].weight / sum_w);
		err = count[id] > want ? count[id] - want : want - count[id];
		expect_le(err, want / 100 > 2 ? want / 100 : 2,
			  "|slots - share| of node %zu (weight %u, %u slots, share %.1f)", i,
			  s->nodes[i].weight, count[id], want);
		if (err > *abs_err)
			*abs_err = err;
		if (want >= 100 && err / want > worst_rel)
			worst_rel = err / want;
	}
	free(count);
	return worst_rel;
}

static void test_weights(void **state)
{
	__u32 *table = table_new(M_DEFAULT);
	double worst_rel = 0, worst_abs = 0, rel, abs_err;
	__u64 rng = 11;
	struct set s;
	size_t n;

	set_init(&s, 4, 1);
	for (n = 0; n < 4; n++)
		s.nodes[n].weight = (__u32)n + 1;
	build_ok(&s, M_DEFAULT, SEED, table);
	rel = check_shares(&s, table, M_DEFAULT, &abs_err);
	print_message("weights 1,2,3,4: worst share error %.4f%% (%.2f slots)\n", rel * 100,
		      abs_err);
	expect_le(rel, 0.01, "worst relative share error, weights 1,2,3,4");
	set_free(&s);

	for (n = 10; n <= 50; n++) {
		set_init(&s, n, 1);
		set_random_weights(&s, 100, &rng);
		build_ok(&s, M_DEFAULT, SEED, table);
		rel = check_shares(&s, table, M_DEFAULT, &abs_err);
		if (rel > worst_rel)
			worst_rel = rel;
		if (abs_err > worst_abs)
			worst_abs = abs_err;
		set_free(&s);
	}
	print_message("weights 1..100, N=10..50: worst share error %.4f%% (shares of 100+ slots), "
		      "%.2f slots\n",
		      worst_rel * 100, worst_abs);
	free(table);
}

/*
 * One heavy backend among light ones: the build lists turns from a heap
 * instead of walking every backend each round (see maglev.c). Same
 * properties: shares, and independence from the input order.
 */
static void test_weights_skewed(void **state)
{
	__u32 *a = table_new(M_DEFAULT), *b = table_new(M_DEFAULT);
	struct xlb_maglev_node tmp;
	double rel, abs_err;
	__u64 rng = 19;
	struct set s;
	size_t i, j;

	set_init(&s, 100, 1);
	set_random_weights(&s, 100, &rng);
	s.nodes[42].weight = 10000;
	build_ok(&s, M_DEFAULT, SEED, a);
	rel = check_shares(&s, a, M_DEFAULT, &abs_err);
	print_message("weights 1..100 and one 10000, N=100: worst share error %.4f%% (shares of "
		      "100+ slots), %.2f slots\n",
		      rel * 100, abs_err);
	for (i = s.n - 1; i > 0; i--) {
		j = (size_t)(rnd(&rng) % (i + 1));
		tmp = s.nodes[i];
		s.nodes[i] = s.nodes[j];
		s.nodes[j] = tmp;
	}
	build_ok(&s, M_DEFAULT, SEED, b);
	expect_same_table(b, a, M_DEFAULT, "skewed weights, shuffled");
	set_free(&s);
	free(b);
	free(a);
}

/* Only ratios count: every weight times 1000 gives the same table. */
static void test_weight_scale(void **state)
{
	__u32 *a = table_new(M_DEFAULT), *b = table_new(M_DEFAULT);
	__u64 rng = 13;
	struct set s;
	size_t i;

	set_init(&s, 40, 1);
	set_random_weights(&s, 60, &rng);
	build_ok(&s, M_DEFAULT, SEED, a);
	for (i = 0; i < s.n; i++)
		s.nodes[i].weight *= 1000;
	build_ok(&s, M_DEFAULT, SEED, b);
	expect_same_table(b, a, M_DEFAULT, "weights times 1000");
	set_free(&s);
	free(b);
	free(a);
}

/* Equal weights: every backend gets floor(M / N) or ceil(M / N) slots. */
static void test_balance(void **state)
{
	static const size_t ns[] = {2, 10, 100, 1000};
	__u32 *table = table_new(M_DEFAULT), *count, lo, hi;
	struct set s;
	size_t i, k;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		set_init(&s, ns[i], 7);
		count = calloc(s.n, sizeof(*count));
		assert_non_null(count);
		build_ok(&s, M_DEFAULT, SEED, table);
		count_slots(table, M_DEFAULT, count, s.n);
		lo = hi = count[0];
		for (k = 1; k < s.n; k++) {
			lo = count[k] < lo ? count[k] : lo;
			hi = count[k] > hi ? count[k] : hi;
		}
		print_message("N=%zu equal weights: %u..%u slots per backend, max/min %.4f\n", s.n,
			      lo, hi, (double)hi / lo);
		expect_int(lo, M_DEFAULT / (__u32)s.n, "fewest slots, N=%zu", s.n);
		expect_le(hi - lo, 1, "most - fewest slots, N=%zu", s.n);
		free(count);
		set_free(&s);
	}
	free(table);
}

/*
 * Removing one of N backends moves its own M / N slots plus some that
 * change hands as the contest for the last free slots replays. Maglev does
 * not bound the extra; it grows with N / M (maglev.c has the figures). The
 * bounds are the measured worst case over these victims with a margin:
 * they catch a regression to "everything moves", not a constant.
 */
static void test_disruption(void **state)
{
	static const struct {
		size_t n;
		size_t victims;
		double bound;
	} cases[] = {
		{10, 10, 1.25},
		{100, 10, 2.0},
		{1000, 4, 10.0},
	};
	__u32 *before = table_new(M_DEFAULT), *after = table_new(M_DEFAULT);
	__u32 *back = table_new(M_DEFAULT);
	double worst, sum, frac;
	size_t i, v, victim;
	__u32 moved, left, j;
	struct set s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_init(&s, cases[i].n, 1);
		build_ok(&s, M_DEFAULT, SEED, before);
		worst = 0;
		sum = 0;
		for (v = 0; v < cases[i].victims; v++) {
			victim = (v * 7919) % s.n;
			s.nodes[victim].weight = 0;
			build_ok(&s, M_DEFAULT, SEED, after);
			s.nodes[victim].weight = 1;

			for (j = 0, left = 0; j < M_DEFAULT; j++)
				left += after[j] == victim;
			expect_int(left, 0, "slots still on removed node %zu", victim);
			moved = slots_moved(before, after, M_DEFAULT);
			frac = (double)moved / M_DEFAULT;
			sum += frac;
			worst = frac > worst ? frac : worst;
			expect_le(moved, cases[i].bound * M_DEFAULT / s.n,
				  "slots moved when node %zu of %zu goes", victim, s.n);

			/* Adding it back restores the table exactly. */
			build_ok(&s, M_DEFAULT, SEED, back);
			expect_same_table(back, before, M_DEFAULT, "node %zu of %zu back", victim,
					  s.n);
		}
		print_message("N=%zu, one removed: moved %.4f%% of slots (mean), %.4f%% (worst); "
			      "1/N = %.4f%%\n",
			      s.n, sum / cases[i].victims * 100, worst * 100, 100.0 / s.n);
		print_message("N=%zu, one removed: worst %.2f x 1/N, bound %.2f x\n", s.n,
			      worst * s.n, cases[i].bound);
		set_free(&s);
	}
	free(back);
	free(after);
	free(before);
}

/* A node of weight 0 is as if absent: same table as without it. */
static void test_weight_zero_absent(void **state)
{
	__u32 *with = table_new(M_DEFAULT), *without = table_new(M_DEFAULT);
	__u32 *count;
	__u64 rng = 17;
	struct set s;
	size_t i, k;

	set_init(&s, 60, 1);
	set_random_weights(&s, 100, &rng);
	for (i = 0; i < s.n; i += 3)
		s.nodes[i].weight = 0;
	build_ok(&s, M_DEFAULT, SEED, with);
	count = calloc(s.n, sizeof(*count));
	assert_non_null(count);
	count_slots(with, M_DEFAULT, count, s.n);
	for (i = 0; i < s.n; i += 3)
		expect_int(count[i], 0, "slots of node %zu (weight 0)", i);

	/* Drop them from the array. */
	for (i = 0, k = 0; i < s.n; i++) {
		if (i % 3)
			s.nodes[k++] = s.nodes[i];
	}
	s.n = k;
	build_ok(&s, M_DEFAULT, SEED, without);
	expect_same_table(with, without, M_DEFAULT, "with vs without weight-0 nodes");
	free(count);
	set_free(&s);
	free(without);
	free(with);
}

/*
 * The cross-machine contract pinned down: FNV-1a of one weighted table.
 * Every LB node must build this exact table from this input, whatever
 * its CPU (AVX2 or not) or compiler. If the algorithm changes on purpose,
 * LB nodes of different versions disagree until all are upgraded: say so
 * in the change, then update the constant.
 */
static void test_known_table(void **state)
{
	const __u32 expected = 0x0cc8feefU;
	__u32 *table = table_new(M_DEFAULT), h = 2166136261U, i;
	__u64 rng = 42;
	struct set s;

	set_init(&s, 100, 1);
	set_random_weights(&s, 100, &rng);
	build_ok(&s, M_DEFAULT, 0xc0ffee, table);
	for (i = 0; i < M_DEFAULT; i++) {
		h = (h ^ (table[i] & 0xff)) * 16777619U;
		h = (h ^ (table[i] >> 8 & 0xff)) * 16777619U;
		h = (h ^ (table[i] >> 16 & 0xff)) * 16777619U;
		h = (h ^ (table[i] >> 24)) * 16777619U;
	}
	print_message("table hash 0x%08x\n", h);
	expect_int(h, expected, "FNV-1a of the reference table");
	set_free(&s);
	free(table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_valid),   cmocka_unit_test(test_size_auto),
		cmocka_unit_test(test_invalid_args), cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_empty),	     cmocka_unit_test(test_single_backend),
		cmocka_unit_test(test_no_holes),     cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_weights),	     cmocka_unit_test(test_weights_skewed),
		cmocka_unit_test(test_weight_scale), cmocka_unit_test(test_balance),
		cmocka_unit_test(test_disruption),   cmocka_unit_test(test_weight_zero_absent),
		cmocka_unit_test(test_known_table),
	};

	return check_run_tests("maglev", tests, NULL, NULL);
}
