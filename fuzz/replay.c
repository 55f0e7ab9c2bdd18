// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replays kept inputs through a libFuzzer target without libFuzzer, as a
 * unit test: build/tests/unit/test_fuzz_NAME runs LLVMFuzzerTestOneInput on
 * every file in fuzz/corpus/NAME/ and fuzz/regressions/NAME/ (or in the
 * directories given as arguments). A crash fails the test; the inputs that
 * once crashed stay in regressions/ for good.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc(len > 0 ? len : 1);
	if (!buf || fread(buf, 1, len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int run_dir(const char *dir, unsigned int *n)
{
	char path[4096];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return 0; /* no regressions yet */
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (run_file(path)) {
			fprintf(stderr, "%s: cannot read\n", path);
			closedir(d);
			return -1;
		}
		(*n)++;
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/'), *name;
	char dir[4096];
	unsigned int n = 0;
	int i;

	base = base ? base + 1 : argv[0];
	name = strncmp(base, "test_fuzz_", 10) ? base : base + 10;
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (run_dir(argv[i], &n))
				return 1;
	} else {
		snprintf(dir, sizeof(dir), "fuzz/corpus/%s", name);
		if (run_dir(dir, &n))
			return 1;
		snprintf(dir, sizeof(dir), "fuzz/regressions/%s", name);
		if (run_dir(dir, &n))
			return 1;
	}
	if (!n) {
		fprintf(stderr, "%s: no inputs found (run from the source tree)\n", base);
		return 1;
	}
	printf("%s: %u inputs replayed without a crash\n", base, n);
	return 0;
}
