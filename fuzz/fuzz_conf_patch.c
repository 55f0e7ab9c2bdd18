// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: a reload that reparses only what changed
 * (user/lib/config/patch.c), against the whole parser. The input is two
 * documents separated by a NUL byte: the running one and the new one.
 * Whatever the bytes:
 *   - a patch is made only when the whole parser accepts the new document,
 *     and then the patched configuration equals the whole parser's, line
 *     numbers included;
 *   - applying the patch again gives back the running configuration;
 *   - the two steps of a change to both lists, when both are made, end
 *     at the whole parser's configuration too;
 *   - the answer is 0, -EAGAIN or -ENOMEM.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/patch.h"

/* The whole parser's configuration of text, or NULL when it refuses. */
static struct xlb_conf *whole(const char *text)
{
	struct xlb_conf *c = calloc(1, sizeof(*c));
	struct xlb_conf_errors *errs = calloc(1, sizeof(*errs));

	if (!c || !errs || xlb_conf_parse(text, c, errs)) {
		free(c);
		c = NULL;
	}
	free(errs);
	return c;
}

static void whole_free(struct xlb_conf *c)
{
	xlb_conf_free(c);
	free(c);
}

/* conf patched to text (malloc'd, taken): checked against the whole parser. Whether it was. */
static int patched(struct xlb_conf *conf, char *text, struct xlb_conf_patch *pt)
{
	struct xlb_conf *ref;
	int err = xlb_conf_patch_make(conf, text, pt);

	if (err && err != -EAGAIN && err != -ENOMEM)
		abort();
	if (err) {
		free(text);
		return 0;
	}
	ref = whole(text);
	if (!ref || !xlb_conf_equal(conf, ref, 1))
		abort();
	whole_free(ref);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0, size);
	struct xlb_conf conf = {}, *before;
	struct xlb_conf_errors *errs;
	struct xlb_conf_patch pt, p2;
	char *base, *next, *mid[2];
	int k;

	if (!sep)
		return 0;
	base = strndup((const char *)data, (size_t)(sep - data));
	next = strndup((const char *)sep + 1, size - (size_t)(sep - data) - 1);
	errs = calloc(1, sizeof(*errs));
	if (!base || !next || !errs || xlb_conf_parse_kept(base, &conf, errs))
		goto out;
	before = whole(base);
	if (!before)
		abort();
	if (patched(&conf, strdup(next), &pt)) {
		xlb_conf_patch_apply(&conf, &pt);
		if (!xlb_conf_equal(&conf, before, 1))
			abort();
		xlb_conf_patch_apply(&conf, &pt);
		xlb_conf_patch_free(&pt);
	} else if (!xlb_conf_patch_split(&conf, next, &mid[0], &mid[1])) {
		for (k = 0; k < 2; k++) {
			if (!patched(&conf, mid[k], &pt))
				continue;
			if (patched(&conf, strdup(next), &p2))
				xlb_conf_patch_free(&p2);
			else
				xlb_conf_patch_apply(&conf, &pt);
			xlb_conf_patch_free(&pt);
			break;
		}
		for (k++; k < 2; k++)
			free(mid[k]);
	}
	whole_free(before);
out:
	xlb_conf_free(&conf);
	free(errs);
	free(base);
	free(next);
	return 0;
}
