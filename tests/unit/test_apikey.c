// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Admin API key (user/lib/base/apikey.c): the file's path per pin dir, a
 * key made once and then read back, the refusal of a file others may read
 * or one that holds too short a key, and the comparison.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base/apikey.h"

static void test_path(void **state)
{
	static const struct {
		const char *pin, *want;
	} cases[] = {
		{"/sys/fs/bpf/xlb", "/run/xlb/api_key"},
		{"/sys/fs/bpf/xlb/", "/run/xlb/api_key"},
		{"/run/xlbt-123/bpf/lb", "/run/xlb/api_key.run_xlbt-123_bpf_lb"},
		{"/sys/fs/bpf/xlb2", "/run/xlb/api_key.sys_fs_bpf_xlb2"},
		{"/", "/run/xlb/api_key"},
	};
	char path[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(xlb_api_key_path(cases[i].pin, path, sizeof(path)), 0);
		if (strcmp(path, cases[i].want))
			fail_msg("pin dir '%s': actual %s, expected %s", cases[i].pin, path,
				 cases[i].want);
	}
	assert_int_equal(
		xlb_api_key_path("/sys/fs/bpf/a-rather-long-name-that-will-not-fit", path, 24),
		-ENAMETOOLONG);
}

static void test_load(void **state)
{
	char dir[] = "/tmp/xlb-apikey-XXXXXX", path[128], key[XLB_API_KEY_LEN];
	char again[XLB_API_KEY_LEN];
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run/k.key", dir);
	/* Not there, not made: ENOENT. */
	assert_int_equal(xlb_api_key_load(path, 0, key, sizeof(key)), -ENOENT);
	/* Made once (with its folder), 0600, 0700; read back the same. */
	assert_int_equal(xlb_api_key_load(path, 1, key, sizeof(key)), 0);
	assert_true(strlen(key) >= XLB_API_KEY_MIN);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(again, sizeof(again), "%s/run", dir);
	assert_int_equal(stat(again, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(xlb_api_key_load(path, 1, again, sizeof(again)), 0);
	assert_string_equal(key, again);
	/* Others may read it: refused. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(xlb_api_key_load(path, 0, again, sizeof(again)), -EPERM);
	/* Too short a key: refused. */
	assert_int_equal(chmod(path, 0600), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("short\n", f);
	fclose(f);
	assert_int_equal(xlb_api_key_load(path, 1, again, sizeof(again)), -EINVAL);
	unlink(path);
	snprintf(again, sizeof(again), "%s/run", dir);
	rmdir(again);
	rmdir(dir);
}

static void test_equal(void **state)
{
	assert_true(xlb_api_key_equal("0123456789abcdef", "0123456789abcdef"));
	assert_false(xlb_api_key_equal("0123456789abcdeF", "0123456789abcdef"));
	assert_false(xlb_api_key_equal("0123456789abcde", "0123456789abcdef"));
	assert_false(xlb_api_key_equal("0123456789abcdef0", "0123456789abcdef"));
	assert_false(xlb_api_key_equal("", "0123456789abcdef"));
	assert_false(xlb_api_key_equal("x", ""));
	assert_true(xlb_api_key_equal("", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
