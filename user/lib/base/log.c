// SPDX-License-Identifier: GPL-2.0-only
/*
 * Log sink. The level and timestamp switch are process-wide by nature (one
 * stderr per process); they are set once by main() through xlb_log_setup().
 * The other state is the folding of repeated lines (below), process-wide
 * for the same reason. Programs that log are single-threaded.
 *
 * Folding: a kind of line is one format string with text of its own (not
 * "%s\n" alone, which may carry anything). Of the lines of one kind within
 * fold_window seconds of the kind's first, the first fold_first are
 * written and the rest counted; the count comes out as one line, "... and
 * N more like this in T s: "FORMAT"", when a line of that kind comes after
 * the window, when any line comes after it, when the kind's slot is taken
 * by another kind, on xlb_log_tick() after it, on xlb_log_flush() and at
 * exit.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "base/log.h"

#define FOLD_KINDS 16 /* kinds followed at once; the oldest makes room */

struct fold {
	const char *fmt; /* the kind; NULL: a free slot */
	enum xlb_log_level level;
	double start, last; /* its window's first line, its last line (monotonic s) */
	unsigned int shown; /* lines written in the window */
	unsigned long folded;
};

static enum xlb_log_level log_level = XLB_LOG_WARN;
static int log_timestamps;
static int log_libs_quiet;
static unsigned int fold_first = XLB_LOG_FOLD_FIRST;
static double fold_window = XLB_LOG_FOLD_WINDOW_S;
static struct fold folds[FOLD_KINDS];
static int fold_at_exit;

void xlb_log_setup(enum xlb_log_level level, int timestamps)
{
	log_level = level;
	log_timestamps = timestamps;
}

static void emit(enum xlb_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[XLB_LOG_WARN] = "warn",
		[XLB_LOG_INFO] = "info",
		[XLB_LOG_DEBUG] = "debug",
	};
	struct timespec ts;
	struct tm tm;
	char buf[32];

	if (log_timestamps) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s: ", buf, ts.tv_nsec / 1000000, names[level]);
	}
	vfprintf(stderr, fmt, ap);
}

static void emitf(enum xlb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void emitf(enum xlb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(level, fmt, ap);
	va_end(ap);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whether fmt has text outside its conversions (a letter): a kind. */
static int foldable(const char *fmt)
{
	const char *p;

	for (p = fmt; *p; p++) {
		if (*p == '%') {
			/* Flags, width, precision and length, then the conversion. */
			p += 1 + strspn(p + 1, "#0- +'123456789.*hlLqjzt");
			if (!*p)
				break;
			continue;
		}
		if (isalpha((unsigned char)*p))
			return 1;
	}
	return 0;
}

/* The summary of f's folded lines, if any; f's slot is free afterwards. */
static void fold_end(struct fold *f)
{
	int n = (int)strcspn(f->fmt, "\n");

	if (f->folded)
		emitf(f->level, "... and %lu more like this in %.1f s: \"%.*s\"\n", f->folded,
		      f->last - f->start, n, f->fmt);
	f->fmt = NULL;
}

/* Ends the windows older than fold_window at now (all of them: now < 0). */
static void fold_expire(double now)
{
	unsigned int i;

	for (i = 0; i < FOLD_KINDS; i++)
		if (folds[i].fmt && (now < 0 || now - folds[i].start >= fold_window))
			fold_end(&folds[i]);
}

void xlb_log_tick(void)
{
	fold_expire(mono_s());
}

void xlb_log_flush(void)
{
	fold_expire(-1);
	fflush(stderr);
}

/* fmt's slot: its own, else a free one, else the oldest one's (ended). */
static struct fold *fold_slot(enum xlb_log_level level, const char *fmt, double now)
{
	struct fold *f = NULL;
	unsigned int i;

	for (i = 0; i < FOLD_KINDS; i++) {
		if (folds[i].fmt == fmt)
			return &folds[i];
		if (!f || (f->fmt && (!folds[i].fmt || folds[i].start < f->start)))
			f = &folds[i];
	}
	if (f->fmt)
		fold_end(f);
	if (!fold_at_exit)
		fold_at_exit = !atexit(xlb_log_flush);
	*f = (struct fold){.fmt = fmt, .level = level, .start = now};
	return f;
}

void xlb_log_fold(unsigned int first, double window_s)
{
	xlb_log_flush();
	fold_first = first;
	fold_window = window_s;
}

static void xlb_vlog(enum xlb_log_level level, const char *fmt, va_list ap)
{
	struct fold *f;
	double now;

	if (level > log_level)
		return;
	if (fold_first) {
		now = mono_s();
		fold_expire(now);
		if (foldable(fmt)) {
			f = fold_slot(level, fmt, now);
			f->last = now;
			if (f->shown >= fold_first) {
				f->folded++;
				return;
			}
			f->shown++;
		}
	}
	emit(level, fmt, ap);
}

void xlb_log(enum xlb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xlb_vlog(level, fmt, ap);
	va_end(ap);
}

static int xlb_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	xlb_vlog(level == LIBBPF_WARN && !log_libs_quiet ? XLB_LOG_WARN : XLB_LOG_DEBUG, fmt, ap);
	return 0;
}

static int xlb_libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	xlb_vlog(level == LIBXDP_WARN && !log_libs_quiet ? XLB_LOG_WARN : XLB_LOG_DEBUG, fmt, ap);
	return 0;
}

void xlb_log_libs_quiet(int on)
{
	log_libs_quiet = on;
}

void xlb_log_route_libs(void)
{
	libbpf_set_print(xlb_libbpf_print);
	libxdp_set_print(xlb_libxdp_print);
}
