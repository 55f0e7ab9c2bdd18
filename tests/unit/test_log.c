// SPDX-License-Identifier: GPL-2.0-only
/*
 * Folded log lines (user/lib/base/log.c), read back from stderr: of a
 * burst of one kind only the first lines and one summary are written; no
 * line is lost (written + summarised = sent) whatever the mix of kinds,
 * more kinds than the sink follows included; lines of no kind ("%s\n")
 * and lines below the level are never folded or counted; a window's end
 * lets the kind through again; the summary comes out at a tick after the
 * window, on a flush and at exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "../lib/check.h"

/*
 * stderr into a temporary file between capture_begin() and capture_end();
 * capture_start() first sets info lines on and xlb_log_fold(first, window_s).
 */
static int saved_fd = -1;
static FILE *cap;

static void capture_begin(void)
{
	fflush(stderr);
	cap = tmpfile();
	expect_int(cap != NULL, 1, "tmpfile");
	saved_fd = dup(STDERR_FILENO);
	expect_int(saved_fd >= 0 && dup2(fileno(cap), STDERR_FILENO) >= 0, 1, "dup2");
}

static void capture_start(unsigned int first, double window_s)
{
	xlb_log_setup(XLB_LOG_INFO, 0);
	xlb_log_fold(first, window_s);
	capture_begin();
}

/* What was written since capture_begin(), NUL-terminated (free it). */
static char *capture_end(void)
{
	long n;
	char *text;

	fflush(stderr);
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	n = ftell(cap);
	text = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
	expect_int(text != NULL, 1, "text");
	rewind(cap);
	if (n > 0)
		expect_int(fread(text, 1, (size_t)n, cap) == (size_t)n, 1, "fread");
	fclose(cap);
	return text;
}

/* Lines of text that start with prefix. */
static unsigned long lines_with(const char *text, const char *prefix)
{
	unsigned long n = 0;
	const char *p;

	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, strlen(prefix));
	return n;
}

/* The sum of N over the summary lines "... and N more like this ...: "fmt"". */
static unsigned long summarised(const char *text, const char *fmt)
{
	char tail[128];
	unsigned long n = 0, k;
	const char *p;

	snprintf(tail, sizeof(tail), ": \"%.*s\"\n", (int)strcspn(fmt, "\n"), fmt);
	for (p = strstr(text, "... and "); p; p = strstr(p + 1, "... and ")) {
		const char *eol = strchr(p, '\n');

		if (!eol || sscanf(p, "... and %lu more like this", &k) != 1 ||
		    (size_t)(eol - p + 1) < strlen(tail) ||
		    strncmp(eol + 1 - strlen(tail), tail, strlen(tail)))
			continue;
		n += k;
	}
	return n;
}

static void test_burst(void **state)
{
	char *text;
	int i;

	capture_start(XLB_LOG_FOLD_FIRST, 60);
	for (i = 0; i < 99000; i++)
		pr_warn("backend 10.0.%d.%d: no neighbour entry prepared: %s\n", i / 256, i % 256,
			"Network is unreachable");
	pr_info("maps: done\n");
	xlb_log_flush();
	text = capture_end();
	check_int((long long)lines_with(text, "backend "), XLB_LOG_FOLD_FIRST, "lines written");
	check_int((long long)lines_with(text, "... and "), 1, "summary lines");
	check_int((long long)summarised(text, "backend %d: no neighbour entry prepared: %s\n"), 0,
		  "another format's summary");
	check_int((long long)summarised(text, "backend 10.0.%d.%d: no neighbour entry prepared: "
					      "%s\n"),
		  99000 - XLB_LOG_FOLD_FIRST, "folded count");
	check_int((long long)lines_with(text, "maps: done"), 1, "another kind written");
	check_int(strlen(text) < 2000, 1, "%zu bytes for 99,000 lines", strlen(text));
	free(text);
	check_done();
}

/* Kinds: distinct format strings (distinct pointers), 3 x FOLD_KINDS of them. */
#define NKINDS 48
static char kinds[NKINDS][32];

static void test_mix_loses_nothing(void **state)
{
	unsigned long sent[NKINDS] = {}, seen;
	unsigned int seed = 12345, k;
	char prefix[32], *text;
	int i;

	for (k = 0; k < NKINDS; k++)
		snprintf(kinds[k], sizeof(kinds[k]), "kind%02u line %%d\n", k);
	capture_start(XLB_LOG_FOLD_FIRST, 60);
	for (i = 0; i < 20000; i++) {
		/* Mostly a few kinds, sometimes any of them. */
		seed = seed * 1103515245 + 12345;
		k = (seed >> 16) % (i % 3 ? 4 : NKINDS);
		sent[k]++;
		xlb_log(XLB_LOG_WARN, kinds[k], i);
	}
	xlb_log_flush();
	text = capture_end();
	for (k = 0; k < NKINDS; k++) {
		snprintf(prefix, sizeof(prefix), "kind%02u line ", k);
		seen = lines_with(text, prefix) + summarised(text, kinds[k]);
		check_int((long long)seen, (long long)sent[k], "kind %u: written + summarised", k);
	}
	free(text);
	check_done();
}

static void test_not_folded(void **state)
{
	char *text;
	int i;

	capture_start(XLB_LOG_FOLD_FIRST, 60);
	for (i = 0; i < 100; i++)
		pr_warn("%s\n", "f.yaml:1:2: upstreams[0]: a problem");
	for (i = 0; i < 100; i++)
		pr_debug("debug line %d\n", i); /* below the level */
	pr_info("after %d\n", 1);
	xlb_log_flush();
	text = capture_end();
	check_int((long long)lines_with(text, "f.yaml:"), 100, "lines of no kind");
	check_int((long long)lines_with(text, "debug line"), 0, "below the level");
	check_int((long long)lines_with(text, "... and"), 0, "no summary");
	check_int((long long)lines_with(text, "after 1"), 1, "a kind's first line");
	free(text);
	/* Folding off: everything. */
	capture_start(0, 60);
	for (i = 0; i < 100; i++)
		pr_warn("again %d\n", i);
	text = capture_end();
	check_int((long long)lines_with(text, "again "), 100, "folding off");
	free(text);
	check_done();
}

static void test_window(void **state)
{
	char *text;
	int i;

	capture_start(2, 0.05);
	for (i = 0; i < 5; i++)
		pr_warn("probe %d failed\n", i);
	usleep(80000);
	pr_warn("probe %d failed\n", 5);
	pr_warn("probe %d failed\n", 6);
	pr_warn("probe %d failed\n", 7);
	text = capture_end();
	/* 0, 1, the summary of 2-4, then 5 and 6 in a new window; 7 waits. */
	check_int((long long)lines_with(text, "probe "), 4, "lines written");
	check_contains(text, "probe 1 failed\n... and 3 more like this in ",
		       "the summary after the window");
	check_contains(text, "probe 6 failed\n", "the new window's lines");
	check_int(strstr(text, "probe 7") == NULL, 1, "the third line of the new window");
	free(text);
	/* 7's window: open at a tick, over at the next one after the window. */
	capture_begin();
	xlb_log_tick();
	check_int(ftell(cap), 0, "a tick within the window writes nothing");
	usleep(80000);
	xlb_log_tick();
	text = capture_end();
	check_contains(text, "... and 1 more like this", "a tick after the window");
	free(text);
	capture_begin();
	pr_warn("probe %d failed\n", 8);
	pr_warn("probe %d failed\n", 9);
	pr_warn("probe %d failed\n", 10);
	xlb_log_flush();
	text = capture_end();
	check_contains(text, "probe 9 failed\n... and 1 more like this", "flush");
	free(text);
	check_done();
}

/* A child that logs a burst and exits without a flush: the summary is there. */
static void test_exit(void **state)
{
	char *text;
	pid_t pid;
	int i, st;

	capture_start(XLB_LOG_FOLD_FIRST, 60);
	fflush(stdout);
	pid = fork();
	expect_int(pid >= 0, 1, "fork");
	if (!pid) {
		for (i = 0; i < 500; i++)
			pr_warn("child line %d\n", i);
		exit(0);
	}
	expect_int(waitpid(pid, &st, 0) == pid && WIFEXITED(st), 1, "child");
	text = capture_end();
	check_int((long long)lines_with(text, "child line"), XLB_LOG_FOLD_FIRST, "lines written");
	check_int((long long)summarised(text, "child line %d\n"), 500 - XLB_LOG_FOLD_FIRST,
		  "summary at exit");
	free(text);
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst),	   cmocka_unit_test(test_mix_loses_nothing),
		cmocka_unit_test(test_not_folded), cmocka_unit_test(test_window),
		cmocka_unit_test(test_exit),
	};

	return check_run_tests("log", tests, NULL, NULL);
}
