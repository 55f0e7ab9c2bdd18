// SPDX-License-Identifier: GPL-2.0-only
/*
 * Log sink. The level and timestamp switch are process-wide by nature (one
 * stderr per process); they are the only state here and are set once by
 * main() through xlb_log_setup().
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "base/log.h"

static enum xlb_log_level log_level = XLB_LOG_WARN;
static int log_timestamps;
static int log_libs_quiet;

void xlb_log_setup(enum xlb_log_level level, int timestamps)
{
	log_level = level;
	log_timestamps = timestamps;
}

static void xlb_vlog(enum xlb_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[XLB_LOG_WARN] = "warn",
		[XLB_LOG_INFO] = "info",
		[XLB_LOG_DEBUG] = "debug",
	};
	struct timespec ts;
	struct tm tm;
	char buf[32];

	if (level > log_level)
		return;
	if (log_timestamps) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s: ", buf, ts.tv_nsec / 1000000, names[level]);
	}
	vfprintf(stderr, fmt, ap);
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
