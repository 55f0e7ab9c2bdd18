/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The health state machine (user/lib/health/health.c) against lua-resty-healthcheck's
 * incr_counter(): a table of event sequences, each step with the state and
 * all four counters expected after it (flips both ways, the mostly_* states,
 * failures of different kinds counting apart, thresholds of 0 and 1, what
 * happens to counters on a flip), then properties over long random
 * sequences with random thresholds, then the names, then the first state
 * of a node whose backend the maps already have.
 *
 * Letters in the table: events s = success, t = tcp failure, p = http
 * failure, o = timeout, x = not an event; states H = healthy,
 * h = mostly_healthy, u = mostly_unhealthy, U = unhealthy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <xlb/abi.h>

#include "health/health.h"
#include "../lib/check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_STEPS     12

struct step {
	char ev;
	char state;
	struct xlb_health_counters c; /* after the step */
};

struct row {
	const char *name;
	struct xlb_health_thresholds th; /* successes, tcp, http, timeouts */
	char start;
	struct xlb_health_counters c0;
	struct step steps[MAX_STEPS];
};

#define TH(s, t, h, o)                                                               \
	{                                                                            \
		.successes = s, .tcp_failures = t, .http_failures = h, .timeouts = o \
	}
#define C(s, t, h, o)                                                           \
	{                                                                       \
		.success = s, .tcp_failure = t, .http_failure = h, .timeout = o \
	}
#define S(e, st, s, t, h, o)         \
	{                            \
		e, st, C(s, t, h, o) \
	}
/* APISIX's active-check defaults. */
#define APISIX TH(2, 2, 5, 3)

static const struct row rows[] = {
	{"two tcp failures: healthy -> mostly_healthy -> unhealthy",
	 APISIX,
	 'H',
	 C(0, 0, 0, 0),
	 {S('t', 'h', 0, 1, 0, 0), S('t', 'U', 0, 2, 0, 0)}},
	{"two successes: unhealthy -> mostly_unhealthy -> healthy",
	 APISIX,
	 'U',
	 C(0, 2, 0, 0),
	 {S('s', 'u', 1, 0, 0, 0), S('s', 'H', 2, 0, 0, 0)}},
	{"full cycle, counters are not reset on a flip (as lua)",
	 APISIX,
	 'H',
	 C(0, 0, 0, 0),
	 {S('t', 'h', 0, 1, 0, 0), S('t', 'U', 0, 2, 0, 0), S('t', 'U', 0, 2, 0, 0),
	  S('s', 'u', 1, 0, 0, 0), S('s', 'H', 2, 0, 0, 0), S('s', 'H', 2, 0, 0, 0),
	  S('o', 'h', 0, 0, 0, 1), S('s', 'h', 1, 0, 0, 0), S('s', 'H', 2, 0, 0, 0)}},
	{"success while healthy changes nothing",
	 APISIX,
	 'H',
	 C(2, 0, 0, 0),
	 {S('s', 'H', 2, 0, 0, 0), S('s', 'H', 2, 0, 0, 0)}},
	{"failures while unhealthy change nothing, other counters kept",
	 APISIX,
	 'U',
	 C(0, 2, 1, 1),
	 {S('t', 'U', 0, 2, 1, 1), S('p', 'U', 0, 2, 1, 1), S('o', 'U', 0, 2, 1, 1),
	  S('s', 'u', 1, 0, 0, 0)}},
	{"failure kinds count apart; none clears another",
	 TH(2, 3, 3, 3),
	 'H',
	 C(0, 0, 0, 0),
	 {S('t', 'h', 0, 1, 0, 0), S('p', 'h', 0, 1, 1, 0), S('o', 'h', 0, 1, 1, 1),
	  S('p', 'h', 0, 1, 2, 1), S('t', 'h', 0, 2, 2, 1), S('p', 'U', 0, 2, 3, 1)}},
	{"timeouts flip at their own threshold",
	 APISIX,
	 'H',
	 C(0, 0, 0, 0),
	 {S('o', 'h', 0, 0, 0, 1), S('o', 'h', 0, 0, 0, 2), S('o', 'U', 0, 0, 0, 3)}},
	{"http failures flip at their own threshold",
	 TH(2, 2, 2, 3),
	 'H',
	 C(0, 0, 0, 0),
	 {S('p', 'h', 0, 0, 1, 0), S('p', 'U', 0, 0, 2, 0)}},
	{"a success in mostly_healthy clears failures, stays below threshold",
	 TH(3, 2, 5, 3),
	 'H',
	 C(0, 0, 0, 0),
	 {S('t', 'h', 0, 1, 0, 0), S('s', 'h', 1, 0, 0, 0), S('t', 'h', 0, 1, 0, 0),
	  S('s', 'h', 1, 0, 0, 0), S('s', 'h', 2, 0, 0, 0), S('s', 'H', 3, 0, 0, 0)}},
	{"a failure in mostly_unhealthy clears successes, stays below threshold",
	 TH(3, 2, 5, 3),
	 'U',
	 C(0, 2, 0, 0),
	 {S('s', 'u', 1, 0, 0, 0), S('s', 'u', 2, 0, 0, 0), S('t', 'u', 0, 1, 0, 0),
	  S('s', 'u', 1, 0, 0, 0), S('t', 'u', 0, 1, 0, 0), S('t', 'U', 0, 2, 0, 0)}},
	{"mostly_healthy straight to unhealthy, mostly_unhealthy straight to healthy",
	 TH(2, 2, 5, 3),
	 'H',
	 C(0, 0, 0, 0),
	 {S('t', 'h', 0, 1, 0, 0), S('t', 'U', 0, 2, 0, 0), S('s', 'u', 1, 0, 0, 0),
	  S('s', 'H', 2, 0, 0, 0)}},
	{"threshold 1 flips at once, both ways",
	 TH(1, 1, 1, 1),
	 'H',
	 C(0, 0, 0, 0),
	 {S('p', 'U', 0, 0, 1, 0), S('s', 'H', 1, 0, 0, 0), S('o', 'U', 0, 0, 0, 1),
	  S('s', 'H', 1, 0, 0, 0), S('t', 'U', 0, 1, 0, 0)}},
	{"tcp_failures 0: tcp failures do nothing at all",
	 TH(2, 0, 5, 3),
	 'H',
	 C(0, 0, 0, 0),
	 {S('t', 'H', 0, 0, 0, 0), S('o', 'h', 0, 0, 0, 1), S('s', 'h', 1, 0, 0, 0),
	  S('t', 'h', 1, 0, 0, 0), /* the success counter is not cleared */
	  S('t', 'h', 1, 0, 0, 0), S('s', 'H', 2, 0, 0, 0)}},
	{"successes 0: an unhealthy target never recovers",
	 TH(0, 2, 5, 3),
	 'U',
	 C(0, 2, 0, 0),
	 {S('s', 'U', 0, 2, 0, 0), S('s', 'U', 0, 2, 0, 0)}},
	{"successes 0: failure counters are not cleared either",
	 TH(0, 3, 5, 3),
	 'H',
	 C(0, 0, 0, 0),
	 {S('t', 'h', 0, 1, 0, 0), S('s', 'h', 0, 1, 0, 0), S('t', 'h', 0, 2, 0, 0),
	  S('t', 'U', 0, 3, 0, 0)}},
	{"all thresholds 0: nothing ever changes",
	 TH(0, 0, 0, 0),
	 'h',
	 C(1, 1, 1, 1),
	 {S('s', 'h', 1, 1, 1, 1), S('t', 'h', 1, 1, 1, 1), S('p', 'h', 1, 1, 1, 1),
	  S('o', 'h', 1, 1, 1, 1)}},
	{"not an event: nothing changes", APISIX, 'u', C(1, 0, 0, 0), {S('x', 'u', 1, 0, 0, 0)}},
	{"counters above a lowered threshold flip on the next event",
	 TH(2, 2, 5, 3),
	 'h',
	 C(0, 4, 0, 0),
	 {S('t', 'U', 0, 5, 0, 0)}},
};

/* --- letters <-> values ----------------------------------------------------- */

static enum xlb_health state_of(char ch)
{
	switch (ch) {
	case 'H':
		return XLB_H_HEALTHY;
	case 'h':
		return XLB_H_MOSTLY_HEALTHY;
	case 'u':
		return XLB_H_MOSTLY_UNHEALTHY;
	default:
		return XLB_H_UNHEALTHY;
	}
}

static enum xlb_health_event event_of(char ch)
{
	switch (ch) {
	case 's':
		return XLB_EV_SUCCESS;
	case 't':
		return XLB_EV_TCP_FAILURE;
	case 'p':
		return XLB_EV_HTTP_FAILURE;
	case 'o':
		return XLB_EV_TIMEOUT;
	default:
		return XLB_EV_MAX;
	}
}

static int counters_equal(const struct xlb_health_counters *a, const struct xlb_health_counters *b)
{
	return a->success == b->success && a->tcp_failure == b->tcp_failure &&
	       a->http_failure == b->http_failure && a->timeout == b->timeout;
}

/* --- the table -------------------------------------------------------------- */

static void test_table(void **state)
{
	const struct row *r;
	const struct step *st;
	struct xlb_health_counters c;
	enum xlb_health s, want;
	size_t i, j;
	int bad = 0;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		r = &rows[i];
		s = state_of(r->start);
		c = r->c0;
		for (j = 0; j < MAX_STEPS && r->steps[j].ev; j++) {
			st = &r->steps[j];
			s = xlb_health_next(s, &c, event_of(st->ev), &r->th);
			want = state_of(st->state);
			if (s == want && counters_equal(&c, &st->c))
				continue;
			print_error("%s: step %zu (%s): got %s s=%u t=%u h=%u o=%u, "
				    "expected %s s=%u t=%u h=%u o=%u\n",
				    r->name, j + 1, xlb_health_event_name(event_of(st->ev)),
				    xlb_health_name(s), c.success, c.tcp_failure, c.http_failure,
				    c.timeout, xlb_health_name(want), st->c.success,
				    st->c.tcp_failure, st->c.http_failure, st->c.timeout);
			bad++;
			break;
		}
	}
	if (bad)
		fail_msg("%d of %zu sequences wrong", bad, ARRAY_SIZE(rows));
}

/* --- properties over random sequences --------------------------------------- */

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static unsigned int limit_of(const struct xlb_health_thresholds *t, enum xlb_health_event ev)
{
	switch (ev) {
	case XLB_EV_SUCCESS:
		return t->successes;
	case XLB_EV_TCP_FAILURE:
		return t->tcp_failures;
	case XLB_EV_HTTP_FAILURE:
		return t->http_failures;
	default:
		return t->timeouts;
	}
}

static unsigned int counter_of(const struct xlb_health_counters *c, enum xlb_health_event ev)
{
	switch (ev) {
	case XLB_EV_SUCCESS:
		return c->success;
	case XLB_EV_TCP_FAILURE:
		return c->tcp_failure;
	case XLB_EV_HTTP_FAILURE:
		return c->http_failure;
	default:
		return c->timeout;
	}
}

/* How healthy a state is: a success never lowers it, a failure never raises it. */
static int rank(enum xlb_health s)
{
	static const int r[XLB_H_MAX] = {
		[XLB_H_HEALTHY] = 3,
		[XLB_H_MOSTLY_HEALTHY] = 2,
		[XLB_H_MOSTLY_UNHEALTHY] = 1,
		[XLB_H_UNHEALTHY] = 0,
	};

	return r[s];
}

/* The first property that step s -ev-> n broke, or NULL. */
static const char *broken(enum xlb_health s, enum xlb_health_event ev, enum xlb_health n,
			  const struct xlb_health_counters *before,
			  const struct xlb_health_counters *c,
			  const struct xlb_health_thresholds *t)
{
	unsigned int lim = limit_of(t, ev);

	if (lim == 0 || (ev == XLB_EV_SUCCESS && s == XLB_H_HEALTHY) ||
	    (ev != XLB_EV_SUCCESS && s == XLB_H_UNHEALTHY)) {
		if (n != s || !counters_equal(c, before))
			return "a disabled or redundant event changed something";
	} else if (ev == XLB_EV_SUCCESS) {
		if (c->tcp_failure || c->http_failure || c->timeout)
			return "a success left failure counters";
		if (c->success != before->success + 1)
			return "success not counted";
		if (rank(n) < rank(s))
			return "a success lowered the state";
		if ((n == XLB_H_HEALTHY) != (c->success >= lim))
			return "not healthy exactly when the successes reach the threshold";
	} else {
		if (c->success)
			return "a failure left the success counter";
		if (counter_of(c, ev) != counter_of(before, ev) + 1)
			return "failure not counted";
		if (rank(n) > rank(s))
			return "a failure raised the state";
		if ((n == XLB_H_UNHEALTHY) != (counter_of(c, ev) >= lim))
			return "not unhealthy exactly when the failures reach the threshold";
	}
	if (n != s && n == XLB_H_MOSTLY_HEALTHY && s != XLB_H_HEALTHY)
		return "mostly_healthy entered not from healthy";
	if (n != s && n == XLB_H_MOSTLY_UNHEALTHY && s != XLB_H_UNHEALTHY)
		return "mostly_unhealthy entered not from unhealthy";
	if (n != s && n == XLB_H_HEALTHY && (c->tcp_failure || c->http_failure || c->timeout))
		return "flipped to healthy with failures counted";
	if (n != s && n == XLB_H_UNHEALTHY && c->success)
		return "flipped to unhealthy with successes counted";
	if (c->success > t->successes || c->tcp_failure > t->tcp_failures ||
	    c->http_failure > t->http_failures || c->timeout > t->timeouts)
		return "a counter passed its threshold";
	return NULL;
}

static void test_properties(void **state)
{
	struct xlb_health_counters c, before;
	struct xlb_health_thresholds t;
	enum xlb_health s, n;
	enum xlb_health_event ev;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	const char *what;
	int seq, i, k, flips = 0;

	for (seq = 0; seq < 500; seq++) {
		/* thresholds 0..4: 0 (disabled) one time in five */
		t.successes = rng_next(&x) % 5;
		t.tcp_failures = rng_next(&x) % 5;
		t.http_failures = rng_next(&x) % 5;
		t.timeouts = rng_next(&x) % 5;
		s = XLB_H_HEALTHY;
		memset(&c, 0, sizeof(c));
		for (i = 0; i < 200; i++) {
			/* successes half the time, so both directions get exercised */
			k = rng_next(&x) % 6;
			ev = k < 3 ? XLB_EV_SUCCESS : (enum xlb_health_event)(k - 2);
			before = c;
			n = xlb_health_next(s, &c, ev, &t);
			what = broken(s, ev, n, &before, &c, &t);
			if (what) {
				print_error("sequence %d, step %d: %s -%s-> %s: %s\n", seq, i,
					    xlb_health_name(s), xlb_health_event_name(ev),
					    xlb_health_name(n), what);
				fail();
			}
			flips += n != s;
			s = n;
		}
	}
	print_message("500 random sequences of 200 events: %d state changes\n", flips);
	assert_true(flips > 1000);
}

static void test_names(void **state)
{
	assert_string_equal(xlb_health_name(XLB_H_HEALTHY), "healthy");
	assert_string_equal(xlb_health_name(XLB_H_MOSTLY_HEALTHY), "mostly_healthy");
	assert_string_equal(xlb_health_name(XLB_H_MOSTLY_UNHEALTHY), "mostly_unhealthy");
	assert_string_equal(xlb_health_name(XLB_H_UNHEALTHY), "unhealthy");
	assert_string_equal(xlb_health_name(XLB_H_MAX), "?");
	assert_string_equal(xlb_health_event_name(XLB_EV_SUCCESS), "success");
	assert_string_equal(xlb_health_event_name(XLB_EV_TCP_FAILURE), "tcp_failure");
	assert_string_equal(xlb_health_event_name(XLB_EV_HTTP_FAILURE), "http_failure");
	assert_string_equal(xlb_health_event_name(XLB_EV_TIMEOUT), "timeout");
	assert_string_equal(xlb_health_event_name(XLB_EV_MAX), "?");
	assert_true(xlb_health_usable(XLB_H_HEALTHY));
	assert_true(xlb_health_usable(XLB_H_MOSTLY_HEALTHY));
	assert_false(xlb_health_usable(XLB_H_MOSTLY_UNHEALTHY));
	assert_false(xlb_health_usable(XLB_H_UNHEALTHY));
}

static void test_bad_state(void **state)
{
	struct xlb_health_thresholds t = APISIX;
	struct xlb_health_counters c = C(1, 1, 1, 1);

	assert_int_equal(xlb_health_next(XLB_H_MAX, &c, XLB_EV_TCP_FAILURE, &t), XLB_H_MAX);
	assert_int_equal(c.tcp_failure, 1);
	assert_int_equal(c.success, 1);
}

/*
 * A node adopted from the maps: only a DOWN or DRAINING the agent wrote
 * starts unhealthy (the operator's holds and every other state start
 * healthy), and
 * from there exactly healthy.successes successes bring it back.
 */
static void test_adopt(void **state)
{
	struct xlb_health_counters c;
	struct xlb_health_thresholds t = APISIX;
	enum xlb_health s;
	unsigned int be, by, k;

	for (be = XLB_BE_UNUSED; be < XLB_BE_STATE_MAX; be++) {
		for (by = XLB_BY_AGENT; by <= XLB_BY_OPERATOR; by++) {
			s = xlb_health_adopt(be, by);
			if ((be == XLB_BE_DOWN || be == XLB_BE_DRAINING) && by == XLB_BY_AGENT)
				assert_int_equal(s, XLB_H_UNHEALTHY);
			else
				assert_int_equal(s, XLB_H_HEALTHY);
		}
	}
	for (t.successes = 1; t.successes <= 5; t.successes++) {
		memset(&c, 0, sizeof(c));
		s = xlb_health_adopt(XLB_BE_DOWN, XLB_BY_AGENT);
		for (k = 1; k < t.successes; k++) {
			s = xlb_health_next(s, &c, XLB_EV_SUCCESS, &t);
			assert_false(xlb_health_usable(s));
		}
		assert_int_equal(xlb_health_next(s, &c, XLB_EV_SUCCESS, &t), XLB_H_HEALTHY);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table), cmocka_unit_test(test_properties),
		cmocka_unit_test(test_names), cmocka_unit_test(test_bad_state),
		cmocka_unit_test(test_adopt),
	};

	return check_run_tests("health", tests, NULL, NULL);
}
