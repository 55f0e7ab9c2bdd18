/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checks for the cmocka unit tests (tests/unit/) that print actual vs
 * expected: "CONTEXT: got X, expected Y" through print_error(), CONTEXT
 * formatted from the check's own printf-style arguments.
 *
 * check_*() count a failure and go on, so that a table-driven test lists
 * every bad row; check_done() then fails the running test if any check
 * failed since the last check_done(). expect_*() fail the running test at
 * once, for checks whose failure makes the rest meaningless or unsafe.
 *
 * Every unit test program runs its tables with check_run_tests(), never
 * with cmocka's runners (poisoned below): it wraps each test so that a
 * check that failed without a check_done() after it fails that test, not
 * the next one, and is never lost. A test skips with check_skip(REASON),
 * never cmocka's bare skip() (poisoned too), which prints the suite's skip
 * line "ok N - TEST # SKIP REASON" for tests/run.sh to count.
 *
 * Header only, with one failure count per test program: the objects built
 * from the .c files in tests/lib go into programs without cmocka too.
 */
#ifndef XLB_TEST_CHECK_H
#define XLB_TEST_CHECK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define CHECK_FMT __attribute__((format(printf, 3, 4)))

/* Failed check_*() calls since the last check_done(). */
static int check_failures;

/* Prints "CONTEXT: WHAT"; counts a failure, or with @now fails at once. */
static inline void check_vreport(int now, const char *what, const char *fmt, va_list ap)
{
	char ctx[256];

	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	print_error("%s: %s\n", ctx, what);
	if (now)
		fail();
	check_failures++;
}

/* Fails the running test if a check_*() failed since the last call. */
static inline void check_done(void)
{
	int n = check_failures;

	check_failures = 0;
	if (n) {
		print_error("%d check(s) failed\n", n);
		fail();
	}
}

static inline void check_vint(int now, long long actual, long long expected, const char *fmt,
			      va_list ap)
{
	char what[96];

	if (actual == expected)
		return;
	snprintf(what, sizeof(what), "got %lld, expected %lld", actual, expected);
	check_vreport(now, what, fmt, ap);
}

static inline CHECK_FMT void check_int(long long actual, long long expected, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vint(0, actual, expected, fmt, ap);
	va_end(ap);
}

static inline CHECK_FMT void expect_int(long long actual, long long expected, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vint(1, actual, expected, fmt, ap);
	va_end(ap);
}

static inline CHECK_FMT void check_dbl(double actual, double expected, const char *fmt, ...)
{
	char what[96];
	va_list ap;

	if (actual == expected)
		return;
	snprintf(what, sizeof(what), "got %g, expected %g", actual, expected);
	va_start(ap, fmt);
	check_vreport(0, what, fmt, ap);
	va_end(ap);
}

/* @actual <= @bound, or the running test fails at once. */
static inline CHECK_FMT void expect_le(double actual, double bound, const char *fmt, ...)
{
	char what[96];
	va_list ap;

	if (actual <= bound)
		return;
	snprintf(what, sizeof(what), "got %.6g, expected <= %.6g", actual, bound);
	va_start(ap, fmt);
	check_vreport(1, what, fmt, ap);
	va_end(ap);
}

/* Two strings, either of which may be NULL (printed unquoted). */
static inline CHECK_FMT void check_str(const char *actual, const char *expected, const char *fmt,
				       ...)
{
	char what[1200];
	va_list ap;

	if (actual == expected || (actual && expected && !strcmp(actual, expected)))
		return;
	snprintf(what, sizeof(what), "got %s%s%s, expected %s%s%s", actual ? "\"" : "",
		 actual ? actual : "NULL", actual ? "\"" : "", expected ? "\"" : "",
		 expected ? expected : "NULL", expected ? "\"" : "");
	va_start(ap, fmt);
	check_vreport(0, what, fmt, ap);
	va_end(ap);
}

static inline CHECK_FMT void check_contains(const char *text, const char *needle, const char *fmt,
					    ...)
{
	char what[1200];
	va_list ap;

	if (strstr(text, needle))
		return;
	snprintf(what, sizeof(what), "\"%s\" does not contain \"%s\"", text, needle);
	va_start(ap, fmt);
	check_vreport(0, what, fmt, ap);
	va_end(ap);
}

/* @n bytes at @p in hex, a space after every fourth byte. */
static inline void check_hex(const void *p, size_t n, char *buf, size_t len)
{
	const unsigned char *b = p;
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off + 3 < len; i++)
		off += snprintf(buf + off, len - off, "%02x%s", b[i],
				i + 1 < n && i % 4 == 3 ? " " : "");
}

/* Byte-exact comparison; prints both sides in hex on a difference. */
static inline void check_bytes(const void *actual, const void *expected, size_t n, const char *fmt,
			       ...) __attribute__((format(printf, 4, 5)));

static inline void check_bytes(const void *actual, const void *expected, size_t n, const char *fmt,
			       ...)
{
	char a[128], e[128], what[300];
	va_list ap;

	if (!memcmp(actual, expected, n))
		return;
	check_hex(actual, n, a, sizeof(a));
	check_hex(expected, n, e, sizeof(e));
	snprintf(what, sizeof(what), "got %s, expected %s", a, e);
	va_start(ap, fmt);
	check_vreport(0, what, fmt, ap);
	va_end(ap);
}

/* --- running the tests ---------------------------------------------------- */

/* The test running (its own table entry) and tests started, for the wrappers. */
static const struct CMUnitTest *check_current;
static int check_started;

/*
 * Every test's setup: its entry in the caller's table comes as the initial
 * state; the test's own setup, if any, then runs on its own initial state.
 */
static inline int check_setup(void **state)
{
	const struct CMUnitTest *t = *state;

	check_current = t;
	check_started++;
	check_failures = 0;
	*state = t->initial_state;
	return t->setup_func ? t->setup_func(state) : 0;
}

/*
 * Every test's teardown: the test's own teardown, then the test fails
 * (cmocka reports it as an error: "Test teardown failed") if a check failed
 * without a check_done() after it.
 */
static inline int check_teardown(void **state)
{
	const struct CMUnitTest *t = check_current;
	int n = check_failures, err = 0;

	check_failures = 0;
	if (t && t->teardown_func)
		err = t->teardown_func(state);
	if (n) {
		print_error("%s: %d check(s) failed and no check_done() followed\n",
			    t ? t->name : "?", n);
		return -1;
	}
	return err;
}

/**
 * check_run_group() - run @n tests of @tests as cmocka group @name, each
 * wrapped by check_setup() and check_teardown(); check_run_tests() counts
 * the table
 * Return: the number of tests that failed (cmocka's count), plus one if a
 * check failed outside any test (in the group's setup or teardown).
 */
static inline int check_run_group(const char *name, const struct CMUnitTest *tests, size_t n,
				  CMFixtureFunction group_setup, CMFixtureFunction group_teardown)
{
	struct CMUnitTest *w = calloc(n, sizeof(*w));
	size_t i;
	int rc;

	if (!w) {
		print_error("%s: out of memory\n", name);
		return -1;
	}
	for (i = 0; i < n; i++) {
		w[i] = tests[i];
		w[i].setup_func = check_setup;
		w[i].teardown_func = check_teardown;
		w[i].initial_state = (void *)&tests[i];
	}
	rc = _cmocka_run_group_tests(name, w, n, group_setup, group_teardown);
	free(w);
	check_current = NULL;
	if (check_failures) {
		print_error("%s: %d check(s) failed outside any test\n", name, check_failures);
		check_failures = 0;
		rc++;
	}
	return rc;
}

#define check_run_tests(name, tests, group_setup, group_teardown)                     \
	check_run_group(name, tests, sizeof(tests) / sizeof((tests)[0]), group_setup, \
			group_teardown)

/* "ok N - TEST # SKIP REASON", the skip line tests/run.sh counts. */
static inline void check_skip_line(int n, const char *test, const char *reason)
{
	printf("ok %d - %s # SKIP %s\n", n, test, reason);
	fflush(stdout);
}

/* Skips the running test for the printf-style reason: a test that cannot run here. */
#define check_skip(...)                                                                          \
	do {                                                                                     \
		char why_[256];                                                                  \
		snprintf(why_, sizeof(why_), __VA_ARGS__);                                       \
		check_skip_line(check_started, check_current ? check_current->name : "?", why_); \
		_skip(__FILE__, __LINE__);                                                       \
	} while (0)

/*
 * Reports every test of @tests as skipped for @reason, for a table that
 * cannot run here (its server missing) while the program's others ran.
 */
static inline void check_skip_group(const struct CMUnitTest *tests, size_t n, const char *reason)
{
	size_t i;

	for (i = 0; i < n; i++)
		check_skip_line(++check_started, tests[i].name, reason);
}

#define check_skip_tests(tests, reason) \
	check_skip_group(tests, sizeof(tests) / sizeof((tests)[0]), reason)

/* cmocka's runners and bare skip() would bypass the above. */
#undef cmocka_run_group_tests
#undef cmocka_run_group_tests_name
#undef skip
#pragma GCC poison cmocka_run_group_tests cmocka_run_group_tests_name skip

#endif /* XLB_TEST_CHECK_H */
