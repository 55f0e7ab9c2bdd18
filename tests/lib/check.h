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
#include <string.h>
#include <cmocka.h>

#define CHECK_FMT	__attribute__((format(printf, 3, 4)))

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

static inline CHECK_FMT void expect_int(long long actual, long long expected, const char *fmt,
					...)
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
static inline CHECK_FMT void check_str(const char *actual, const char *expected,
				       const char *fmt, ...)
{
	char what[1200];
	va_list ap;

	if (actual == expected || (actual && expected && !strcmp(actual, expected)))
		return;
	snprintf(what, sizeof(what), "got %s%s%s, expected %s%s%s",
		 actual ? "\"" : "", actual ? actual : "NULL", actual ? "\"" : "",
		 expected ? "\"" : "", expected ? expected : "NULL", expected ? "\"" : "");
	va_start(ap, fmt);
	check_vreport(0, what, fmt, ap);
	va_end(ap);
}

static inline CHECK_FMT void check_contains(const char *text, const char *needle,
					    const char *fmt, ...)
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
static inline void check_bytes(const void *actual, const void *expected, size_t n,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline void check_bytes(const void *actual, const void *expected, size_t n,
			       const char *fmt, ...)
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

#endif /* XLB_TEST_CHECK_H */
