/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Maglev table build benchmark: time per xlb_maglev_build() call for
 * weighted backend sets (random weights 1..100 from a fixed-seed PRNG),
 * plus the quality of the result: the largest relative deviation of a
 * backend's slot count from its weight share, and the fraction of slots
 * that change owner when one backend is removed (ideal: that backend's
 * share).
 *
 * Each case runs 5 repetitions of many builds; a repetition's figure is
 * its mean time per build, and the table shows the median, minimum and
 * maximum over the repetitions. Target (bench/README.md): M = 65537, N = 1000
 * weighted <= 1000 us.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xlb/consts.h"
#include "dataplane/maglev.h"

#define BENCH_REPS    5
#define BENCH_REP_NS  200000000ULL /* aim for 0.2 s per repetition */
#define BENCH_SEED    0x5eed1234U  /* table hash seed */
#define BENCH_KEY_LEN 48

struct bench_case {
	__u32 size;
	__u32 n;
};

static const struct bench_case bench_cases[] = {
	{65537, 10},
	{65537, 100},
	{65537, 1000},
	{655373, 1000},
};

static __u64 bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* splitmix64: a fixed-seed PRNG, so every run measures the same sets. */
static __u64 bench_rand(__u64 *state)
{
	__u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Largest |slots - share| over the nodes, share = size * w / sum(w): in
 * slots (returned) and relative to the share (*rel), the latter over
 * shares of 100 slots or more (a share of 1.3 slots cannot be met within
 * a few percent by any whole number of slots).
 */
static double bench_share_error(const struct xlb_maglev_node *nodes, __u32 n, const __u32 *table,
				__u32 size, __u32 *count, double *rel)
{
	double worst = 0, sum_w = 0;
	__u32 i;

	memset(count, 0, n * sizeof(*count));
	for (i = 0; i < size; i++)
		count[table[i]]++; /* ids are 0 .. n - 1 */
	for (i = 0; i < n; i++)
		sum_w += nodes[i].weight;
	*rel = 0;
	for (i = 0; i < n; i++) {
		double want = size * (nodes[i].weight / sum_w);
		double err = count[i] > want ? count[i] - want : want - count[i];

		if (err > worst)
			worst = err;
		if (want >= 100 && err / want > *rel)
			*rel = err / want;
	}
	return worst;
}

static int bench_run(const struct bench_case *bc, __u64 *rng)
{
	struct xlb_maglev_node *nodes;
	__u32 *table, *table2, *count;
	double rep_us[BENCH_REPS], share_err, share_rel, moved_frac, ideal_frac;
	double sum_w = 0;
	char(*keys)[BENCH_KEY_LEN];
	__u64 t0, t1, builds;
	__u32 i, moved, victim;
	int rep, err = -ENOMEM;

	nodes = calloc(bc->n, sizeof(*nodes));
	keys = calloc(bc->n, sizeof(*keys));
	count = calloc(bc->n, sizeof(*count));
	table = calloc(bc->size, sizeof(*table));
	table2 = calloc(bc->size, sizeof(*table2));
	if (!nodes || !keys || !count || !table || !table2)
		goto out_free;

	for (i = 0; i < bc->n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "198.18.%u.%u:80", i / 250, i % 250 + 1);
		nodes[i].key = keys[i];
		nodes[i].weight = (__u32)(bench_rand(rng) % 100) + 1;
		nodes[i].id = i;
		sum_w += nodes[i].weight;
	}

	/* Warm up and calibrate the number of builds per repetition. */
	t0 = bench_now_ns();
	err = xlb_maglev_build(nodes, bc->n, bc->size, BENCH_SEED, table);
	if (err)
		goto out_free;
	t1 = bench_now_ns();
	builds = BENCH_REP_NS / (t1 - t0 + 1);
	if (builds < 3)
		builds = 3;

	for (rep = 0; rep < BENCH_REPS; rep++) {
		__u64 b;

		t0 = bench_now_ns();
		for (b = 0; b < builds; b++)
			xlb_maglev_build(nodes, bc->n, bc->size, BENCH_SEED, table);
		t1 = bench_now_ns();
		rep_us[rep] = (double)(t1 - t0) / 1000.0 / (double)builds;
	}
	qsort(rep_us, BENCH_REPS, sizeof(rep_us[0]), bench_cmp_double);

	share_err = bench_share_error(nodes, bc->n, table, bc->size, count, &share_rel);

	/* Remove one node (weight 0) and count the slots that change. */
	victim = bc->n / 2;
	ideal_frac = nodes[victim].weight / sum_w;
	nodes[victim].weight = 0;
	err = xlb_maglev_build(nodes, bc->n, bc->size, BENCH_SEED, table2);
	if (err)
		goto out_free;
	for (i = 0, moved = 0; i < bc->size; i++)
		moved += table[i] != table2[i];
	moved_frac = (double)moved / bc->size;

	printf("| %u | %u | %llu | %.1f | %.1f | %.1f | %.2f | %.3f | %.4f | %.4f | %.2f |\n",
	       bc->size, bc->n, (unsigned long long)builds, rep_us[BENCH_REPS / 2], rep_us[0],
	       rep_us[BENCH_REPS - 1], share_err, share_rel * 100, moved_frac * 100,
	       ideal_frac * 100, moved_frac / ideal_frac);
	err = 0;
out_free:
	free(table2);
	free(table);
	free(count);
	free(keys);
	free(nodes);
	return err;
}

int main(void)
{
	__u64 rng = 0x0123456789abcdefULL;
	size_t i;
	int err;

	printf("Maglev build, random weights 1..100; %d repetitions of <builds> builds,\n"
	       "us = mean time per build in a repetition (median, min, max over repetitions)\n"
	       "err slots = max |slots - share|; err %% = max relative error, shares >= 100 slots\n"
	       "moved %% = slots changed when node N/2 goes; ideal %% = its share; ratio = "
	       "moved/ideal\n",
	       BENCH_REPS);
	printf("| M | N | builds | median us | min us | max us | err slots | err %% | moved %% | "
	       "ideal %% | ratio |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < sizeof(bench_cases) / sizeof(bench_cases[0]); i++) {
		err = bench_run(&bench_cases[i], &rng);
		if (err) {
			fprintf(stderr, "bench_maglev: M=%u N=%u: %s\n", bench_cases[i].size,
				bench_cases[i].n, strerror(-err));
			return 1;
		}
	}
	return 0;
}
