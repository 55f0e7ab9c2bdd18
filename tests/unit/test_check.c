// SPDX-License-Identifier: GPL-2.0-only
/*
 * The unit tests' own harness (tests/lib/check.h): a check that failed can
 * never be reported as a pass.
 *
 * The program runs itself ("inner") as a child on a table of deliberately
 * failing and skipping tests and reads the child's report: a failed check
 * without check_done() fails its own test, not the next one; with
 * check_done() it fails as before; a test's own setup, teardown and state
 * still run under the wrapper; check_skip() prints the skip line
 * tests/run.sh counts. The child's output is shown only on a failure, each
 * line indented, so its deliberate failures and skip never count as this
 * program's.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "../lib/check.h"

/* --- the inner table: run only in the child -------------------------------- */

static int fixture_value = 42;

static void inner_forgot_done(void **state)
{
	check_int(1, 2, "deliberate failure, no check_done()");
}

static void inner_clean_after(void **state)
{
	/* A test with no check of its own: must not inherit the failure above. */
}

static void inner_done_called(void **state)
{
	check_int(1, 2, "deliberate failure, then check_done()");
	check_done();
}

static void inner_skipped(void **state)
{
	check_skip("deliberate skip %d", 7);
	fail_msg("check_skip() returned");
}

static int inner_setup(void **state)
{
	*state = &fixture_value;
	return 0;
}

static int inner_teardown(void **state)
{
	print_message("own teardown ran, state %d\n", *(int *)*state);
	return 0;
}

static void inner_fixture(void **state)
{
	assert_ptr_equal(*state, &fixture_value);
}

static void inner_fixture_forgot(void **state)
{
	assert_ptr_equal(*state, &fixture_value);
	check_int(3, 4, "deliberate failure under a fixture, no check_done()");
}

static void inner_initial_state(void **state)
{
	assert_ptr_equal(*state, &fixture_value);
}

static int inner_main(void)
{
	const struct CMUnitTest inner[] = {
		cmocka_unit_test(inner_forgot_done),
		cmocka_unit_test(inner_clean_after),
		cmocka_unit_test(inner_done_called),
		cmocka_unit_test(inner_skipped),
		cmocka_unit_test_setup_teardown(inner_fixture, inner_setup, inner_teardown),
		cmocka_unit_test_setup_teardown(inner_fixture_forgot, inner_setup, inner_teardown),
		cmocka_unit_test_prestate(inner_initial_state, &fixture_value),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return check_run_tests("inner", inner, NULL, NULL);
}

/* --- the outer tests ---------------------------------------------------------- */

/* The child's report: its exit status and everything it printed. */
static char out[16384];
static int status;

static int run_inner(void **state)
{
	char path[] = "/tmp/xlb-test-check-XXXXXX";
	ssize_t n;
	pid_t pid;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execl("/proc/self/exe", "test_check", "inner", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return 0;
}

/* Prints the child's output, indented, once, after the first failure. */
static void show_inner(void)
{
	static int shown;
	char *line, *save, copy[sizeof(out)];

	if (shown++)
		return;
	print_error("the inner run printed:\n");
	memcpy(copy, out, sizeof(copy));
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		print_error("  | %s\n", line);
}

/* The inner run's report holds @line (a whole line). */
static void check_line(const char *line)
{
	size_t len = strlen(line);
	const char *p;

	for (p = out; (p = strstr(p, line)); p += len)
		if ((p == out || p[-1] == '\n') && (p[len] == '\n' || !p[len]))
			return;
	check_int(0, 1, "inner report has the line \"%s\"", line);
	show_inner();
}

static void test_exit_status(void **state)
{
	/* Three tests fail: forgot_done, done_called, fixture_forgot. */
	check_int(WIFEXITED(status), 1, "inner exited");
	check_int(WEXITSTATUS(status), 3, "inner exit status (tests failed)");
	if (check_failures)
		show_inner();
	check_done();
}

static void test_forgotten_done_fails_its_test(void **state)
{
	check_line("inner_forgot_done: 1 check(s) failed and no check_done() followed");
	check_line("[  ERROR   ] inner_forgot_done");
	check_line("[       OK ] inner_clean_after");
	check_done();
}

static void test_done_still_fails(void **state)
{
	check_line("[  FAILED  ] inner_done_called");
	check_done();
}

static void test_skip_line(void **state)
{
	check_line("ok 4 - inner_skipped # SKIP deliberate skip 7");
	check_line("[  SKIPPED ] inner_skipped");
	check_done();
}

static void test_fixtures_kept(void **state)
{
	const char *p;
	int n = 0;

	check_line("[       OK ] inner_fixture");
	check_line("[  ERROR   ] inner_fixture_forgot");
	check_line("[       OK ] inner_initial_state");
	for (p = out; (p = strstr(p, "own teardown ran, state 42\n")); p++)
		n++;
	check_int(n, 2, "inner report: fixture teardowns that ran, with their state");
	if (n != 2)
		show_inner();
	check_done();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_forgotten_done_fails_its_test),
		cmocka_unit_test(test_done_still_fails),
		cmocka_unit_test(test_skip_line),
		cmocka_unit_test(test_fixtures_kept),
	};

	if (argc > 1 && !strcmp(argv[1], "inner"))
		return inner_main();
	return check_run_tests("check", tests, run_inner, NULL);
}
