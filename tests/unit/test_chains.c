/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The history rule of the table chains (user/lib/dataplane/chains.c): a
 * table of hand-made slots for each clause of the rule, then the rule over
 * real Maglev tables: a sequence of member sets applied twice gives the
 * same bytes; A -> B -> C and A -> C have the same primaries and differ
 * only in secondaries; every slot that changed owner keeps the old owner
 * while it is a member; a slot changed twice keeps both.
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

#include <xlb/abi.h>
#include "dataplane/chains.h"
#include "dataplane/maglev.h"
#include "../lib/check.h"

#define N  XLB_SLOT_NONE
#define X  XLB_NO_BACKEND
#define V4 XLB_AF_INET
#define V6 XLB_AF_INET6

static __u64 ch(__u32 p, __u32 s1, __u32 s2)
{
	return xlb_slot_pack(p, s1, s2);
}

/* Members 1-5 IPv4, 6 and 7 IPv6. */
static const struct xlb_chain_member members[] = {
	{5, V4}, {1, V4}, {2, V4}, {3, V4}, {4, V4}, {6, V6}, {7, V6},
};

struct rule_case {
	const char *name;
	__u32 prim;
	__u64 old;
	size_t nkeep; /* the first nkeep of members */
	__u64 want;
};

static void test_rule(void **state)
{
	const size_t all = sizeof(members) / sizeof(members[0]);
	const struct rule_case cases[] = {
		{"new owner: the old chain follows it", 1, ch(2, 3, N), all, ch(1, 2, 3)},
		{"third owner: the oldest falls off", 1, ch(2, 3, 4), all, ch(1, 2, 3)},
		{"owner unchanged: secondaries kept", 2, ch(2, 3, 4), all, ch(2, 3, 4)},
		{"back to an earlier owner: no repeat", 3, ch(2, 3, 4), all, ch(3, 2, 4)},
		{"back to the first secondary of a short chain", 3, ch(2, 3, N), all, ch(3, 2, N)},
		{"no primary: empty chain", X, ch(2, 3, 4), all, ch(N, N, N)},
		{"members no more (3, 4) are dropped", 1, ch(2, 3, 4), 3, ch(1, 2, N)},
		{"old owners kept in their order", 1, ch(5, 2, N), 3, ch(1, 5, 2)},
		{"other family left out", 1, ch(6, 2, 7), all, ch(1, 2, N)},
		{"IPv6 primary keeps IPv6 owners only", 7, ch(6, 2, 3), all, ch(7, 6, N)},
		{"empty old chain", 4, ch(N, N, N), all, ch(4, N, N)},
		{"primary not a member: no secondaries", 9, ch(2, 3, N), all, ch(9, N, N)},
	};
	size_t i;
	__u64 out;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rule_case *c = &cases[i];

		expect_int(xlb_chains_next(&c->prim, &c->old, 1, members, c->nkeep, &out), 0, "%s",
			   c->name);
		check_int((long long)out, (long long)c->want, "%s: chain", c->name);
	}
	/* No history: the primaries alone. */
	expect_int(xlb_chains_next(&cases[0].prim, NULL, 1, members, all, &out), 0, "no history");
	check_int((long long)out, (long long)ch(1, N, N), "no history: chain");
	check_done();
}

/* --- over Maglev tables ---------------------------------------------------- */

#define SIZE 1021
#define SEED 0x5eed1234U

/* Maglev primaries of backends ids[0..n) (key "198.18.0.ID:80", weight 1). */
static void primaries(const __u32 *ids, size_t n, __u32 *table)
{
	struct xlb_maglev_node nodes[16];
	char keys[16][32];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "198.18.0.%u:80", ids[i]);
		nodes[i] = (struct xlb_maglev_node){.key = keys[i], .weight = 1, .id = ids[i]};
	}
	expect_int(xlb_maglev_build(nodes, n, SIZE, SEED, table), 0, "maglev of %zu nodes", n);
}

/* One step of a history: the table of members ids[0..n), from *cur. */
static void step(const __u32 *ids, size_t n, __u64 *cur)
{
	struct xlb_chain_member keep[16];
	__u32 prim[SIZE];
	__u64 next[SIZE];
	size_t i;

	for (i = 0; i < n; i++)
		keep[i] = (struct xlb_chain_member){ids[i], V4};
	primaries(ids, n, prim);
	expect_int(xlb_chains_next(prim, cur, SIZE, keep, n, next), 0, "step to %zu members", n);
	memcpy(cur, next, sizeof(next));
}

static void start(const __u32 *ids, size_t n, __u64 *cur)
{
	struct xlb_chain_member keep[16];
	__u32 prim[SIZE];
	size_t i;

	for (i = 0; i < n; i++)
		keep[i] = (struct xlb_chain_member){ids[i], V4};
	primaries(ids, n, prim);
	expect_int(xlb_chains_next(prim, NULL, SIZE, keep, n, cur), 0, "start");
}

static void test_history(void **state)
{
	static const __u32 a[] = {1, 2, 3}, b[] = {1, 2, 3, 4}, c[] = {1, 2, 3, 4, 5};
	static __u64 t1[SIZE], t2[SIZE], direct[SIZE], before[SIZE];
	unsigned int moved = 0, twice = 0, diff = 0;
	__u32 i, p0, p1, p2;

	/* Same sequence of sets, same bytes. */
	start(a, 3, t1);
	step(b, 4, t1);
	memcpy(before, t1, sizeof(before));
	step(c, 5, t1);
	start(a, 3, t2);
	step(b, 4, t2);
	step(c, 5, t2);
	check_bytes(t1, t2, sizeof(t1), "A -> B -> C twice");

	/* A -> C directly: same primaries, secondaries may differ. */
	start(a, 3, direct);
	step(c, 5, direct);
	for (i = 0; i < SIZE; i++) {
		check_int(xlb_slot_id(direct[i], 0), xlb_slot_id(t1[i], 0), "slot %u primary", i);
		diff += direct[i] != t1[i];
	}
	check_int(diff > 0, 1, "A -> C and A -> B -> C differ in some secondaries (%u)", diff);

	/* Every slot that changed owner keeps its owners before (all still members). */
	for (i = 0; i < SIZE; i++) {
		p0 = xlb_slot_id(before[i], 0);
		p1 = xlb_slot_id(t1[i], 0);
		if (p0 == p1) {
			check_int((long long)t1[i], (long long)before[i], "slot %u unchanged", i);
			continue;
		}
		moved++;
		check_int(xlb_slot_id(t1[i], 1), p0, "slot %u: old owner is the first secondary",
			  i);
		p2 = xlb_slot_id(before[i], 1);
		if (p2 != XLB_SLOT_NONE && p2 != p1) {
			twice++;
			check_int(xlb_slot_id(t1[i], 2), p2,
				  "slot %u: changed twice, the first owner is the second secondary",
				  i);
		}
	}
	print_message("# A -> B -> C: %u of %u slots moved at the second step, %u of them twice\n",
		      moved, SIZE, twice);
	check_int(moved > 0 && twice > 0, 1, "slots moved (%u) and moved twice (%u)", moved, twice);

	/* A member removed: it leaves every chain. */
	step(b, 4, t1);
	for (i = 0; i < SIZE; i++)
		check_int(xlb_slot_id(t1[i], 0) != 5 && xlb_slot_id(t1[i], 1) != 5 &&
				  xlb_slot_id(t1[i], 2) != 5,
			  1, "slot %u: removed backend 5 in chain 0x%llx", i,
			  (unsigned long long)t1[i]);
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule),
		cmocka_unit_test(test_history),
	};

	return check_run_tests("chains", tests, NULL, NULL);
}
