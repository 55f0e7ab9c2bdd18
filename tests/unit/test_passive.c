// SPDX-License-Identifier: GPL-2.0-only
/*
 * Passive events as health events (user/lib/health/passive.c): a table of
 * event kinds with the name metrics use and the health event each counts
 * as; every kind has a name and a detail, unknown kinds are "?".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "health/passive.h"
#include "../lib/check.h"

static const struct {
	unsigned int kind;
	const char *name;
	enum xlb_health_event ev;
} cases[] = {
	{XLB_EVK_SYN_RETRANS, "syn_retransmit", XLB_EV_TIMEOUT},
	{XLB_EVK_CLIENT_RST, "client_rst", XLB_EV_TCP_FAILURE},
	{XLB_EVK_NODE_RST, "node_rst", XLB_EV_TCP_FAILURE},
	{XLB_EVK_NODE_OK, "node_ok", XLB_EV_SUCCESS},
};

static void test_kinds(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_str(xlb_event_kind_name(cases[i].kind), cases[i].name, "kind %u: name",
			  cases[i].kind);
		check_int(xlb_passive_health_event(cases[i].kind), cases[i].ev, "%s: health event",
			  cases[i].name);
	}
	check_done();
}

static void test_every_kind_named(void **state)
{
	unsigned int k;

	for (k = 0; k < XLB_EVK_MAX; k++) {
		check_int(strcmp(xlb_event_kind_name(k), "?") != 0, 1, "kind %u: has a name", k);
		check_int(xlb_passive_detail(k) != NULL, 1, "kind %u: has a detail", k);
	}
	check_str(xlb_event_kind_name(XLB_EVK_MAX), "?", "kind past the last");
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_every_kind_named),
	};

	return check_run_tests("passive", tests, NULL, NULL);
}
