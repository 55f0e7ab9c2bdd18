/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging for libxlb and its programs: pr_warn/pr_info/pr_debug over one
 * printf-checked function. Output goes to stderr; libbpf's and libxdp's
 * messages are routed through the same function.
 */
#ifndef XLB_LOG_H
#define XLB_LOG_H

enum xlb_log_level {
	XLB_LOG_WARN = 0,
	XLB_LOG_INFO,
	XLB_LOG_DEBUG,
};

/* Messages above this level are dropped; timestamps for daemons. */
void xlb_log_setup(enum xlb_log_level level, int timestamps);
void xlb_log(enum xlb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Route libbpf and libxdp output into xlb_log (libbpf's info -> debug). */
void xlb_log_route_libs(void);
/* While on, libbpf/libxdp warnings are logged as debug (for expected failures). */
void xlb_log_libs_quiet(int on);

#define pr_warn(...)  xlb_log(XLB_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  xlb_log(XLB_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xlb_log(XLB_LOG_DEBUG, __VA_ARGS__)

#endif /* XLB_LOG_H */
