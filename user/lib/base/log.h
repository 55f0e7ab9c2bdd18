/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging for libxlb and its programs: pr_warn/pr_info/pr_debug over one
 * printf-checked function. Output goes to stderr; libbpf's and libxdp's
 * messages are routed through the same function. Repeated lines of one
 * kind (one format string) are folded: see xlb_log_fold().
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
/*
 * Folding, on by default: of the lines of one format string (one with text
 * of its own, not "%s\n" alone) within @window_s seconds of the first, the
 * first @first are written, the rest counted and summarised in one line
 * "... and N more like this in T s: "FORMAT"" once the window is over (at
 * the next line of any kind, xlb_log_tick(), xlb_log_flush() or exit). @first 0:
 * every line is written.
 */
#define XLB_LOG_FOLD_FIRST    10
#define XLB_LOG_FOLD_WINDOW_S 5.0
void xlb_log_fold(unsigned int first, double window_s);
/*
 * Write the summaries of the kinds whose window is over: a daemon calls it
 * every second or so, so that a burst's summary does not wait for the next
 * line.
 */
void xlb_log_tick(void);
/* Write the summaries of every folded kind now (registered with atexit). */
void xlb_log_flush(void);
/* Route libbpf and libxdp output into xlb_log (libbpf's info -> debug). */
void xlb_log_route_libs(void);
/* While on, libbpf/libxdp warnings are logged as debug (for expected failures). */
void xlb_log_libs_quiet(int on);

#define pr_warn(...)  xlb_log(XLB_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  xlb_log(XLB_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xlb_log(XLB_LOG_DEBUG, __VA_ARGS__)

#endif /* XLB_LOG_H */
