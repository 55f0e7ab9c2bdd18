// SPDX-License-Identifier: GPL-2.0-only
/*
 * Priority groups and the no-healthy policy (user/lib/health/priority.c): a table
 * of upstreams (priority, weight, usable per node) with the effective
 * weights and fast-path states expected under each policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "health/priority.h"
#include "../lib/check.h"

#define MAXN 6

struct prio_case {
	const char *name;
	enum xlb_no_healthy policy;
	size_t n;
	struct xlb_prio_node in[MAXN];
	__u32 weight[MAXN]; /* expected effective weights */
	int active[MAXN];   /* expected fast-path states */
	int open;	    /* expected return: fail-open applied */
};

#define OPEN   XLB_NO_HEALTHY_FAIL_OPEN
#define CLOSED XLB_NO_HEALTHY_FAIL_CLOSED

static const struct prio_case cases[] = {
	{"all healthy, one group",
	 OPEN,
	 3,
	 {{0, 1, 1}, {0, 2, 1}, {0, 3, 1}},
	 {1, 2, 3},
	 {1, 1, 1},
	 0},
	{"one down: weight 0, not active",
	 OPEN,
	 3,
	 {{0, 1, 1}, {0, 2, 0}, {0, 3, 1}},
	 {1, 0, 3},
	 {1, 0, 1},
	 0},
	{"backup group idle while the primary has a usable node",
	 OPEN,
	 3,
	 {{0, 1, 1}, {0, 1, 0}, {-1, 5, 1}},
	 {1, 0, 0},
	 {1, 0, 1},
	 0},
	{"primary all down: the backup group takes over",
	 OPEN,
	 3,
	 {{0, 1, 0}, {0, 1, 0}, {-1, 5, 1}},
	 {0, 0, 5},
	 {0, 0, 1},
	 0},
	{"three groups: the highest usable wins",
	 CLOSED,
	 4,
	 {{10, 1, 0}, {5, 2, 1}, {5, 3, 1}, {0, 4, 1}},
	 {0, 2, 3, 0},
	 {0, 1, 1, 1},
	 0},
	{"priority order does not depend on node order",
	 OPEN,
	 3,
	 {{-1, 5, 1}, {0, 1, 0}, {0, 1, 1}},
	 {0, 0, 1},
	 {1, 0, 1},
	 0},
	{"none usable, fail_open: the top group whole",
	 OPEN,
	 3,
	 {{0, 1, 0}, {0, 2, 0}, {-1, 5, 0}},
	 {1, 2, 0},
	 {1, 1, 0},
	 1},
	{"none usable, fail_closed: nothing",
	 CLOSED,
	 3,
	 {{0, 1, 0}, {0, 2, 0}, {-1, 5, 0}},
	 {0, 0, 0},
	 {0, 0, 0},
	 0},
	{"usable node with weight 0 keeps its group",
	 CLOSED,
	 2,
	 {{1, 0, 1}, {0, 4, 1}},
	 {0, 0},
	 {1, 1},
	 0},
	{"negative priorities only", OPEN, 2, {{-5, 1, 1}, {-2, 1, 1}}, {0, 1}, {1, 1}, 0},
	{"empty upstream", OPEN, 0, {}, {}, {}, 0},
};

static void test_cases(void **state)
{
	struct xlb_prio_out out[MAXN];
	size_t i, j;
	int open, bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct prio_case *c = &cases[i];

		open = xlb_priority_pick(c->in, c->n, c->policy, out);
		if (open != c->open) {
			print_error("%s: fail-open: got %d, expected %d\n", c->name, open, c->open);
			bad++;
		}
		for (j = 0; j < c->n; j++) {
			if (out[j].weight != c->weight[j] || !!out[j].active != c->active[j]) {
				print_error("%s: node %zu: got weight %u active %d, expected "
					    "weight %u active %d\n",
					    c->name, j, out[j].weight, out[j].active, c->weight[j],
					    c->active[j]);
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
	};

	return check_run_tests("priority", tests, NULL, NULL);
}
