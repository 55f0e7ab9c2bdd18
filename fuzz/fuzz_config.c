// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the configuration parser (user/lib/config/config.h) on any
 * bytes, as a file or an Admin API body would bring them (JSON is YAML's
 * flow style, so JSON bodies take the same path). Whatever the bytes:
 *   - the answer is 0, -EINVAL or -ENOMEM;
 *   - -EINVAL comes with at least one problem, each with a message and a
 *     line within the document; 0 with none;
 *   - an accepted document is whole: every route names an upstream that
 *     exists, every id is 1 to 64 characters, and parsing the same text
 *     again gives the same counts (no hidden state).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

/*
 * Lines as YAML counts them: a break is LF, CR, CR LF, or (in UTF-8) NEL,
 * LS and PS. Counting CR and LF separately gives an upper bound.
 */
static size_t count_lines(const char *s)
{
	size_t n = 1;

	for (; *s; s++)
		n += *s == '\n' || *s == '\r' || (unsigned char)*s == 0x85 ||
		     (unsigned char)*s == 0xa8 || (unsigned char)*s == 0xa9;
	return n;
}

static void check_errors(const struct xlb_conf_errors *errs, size_t lines)
{
	size_t i, n = errs->n < 64 ? errs->n : 64;

	for (i = 0; i < n; i++) {
		const struct xlb_conf_error *e = &errs->e[i];

		if (strnlen(e->msg, sizeof(e->msg)) == sizeof(e->msg) || !e->msg[0] ||
		    strnlen(e->path, sizeof(e->path)) == sizeof(e->path))
			abort();
		if (e->line > lines + 1)
			abort();
	}
}

static void check_whole(const struct xlb_conf *c)
{
	size_t i, len;

	for (i = 0; i < c->nupstreams; i++) {
		len = strnlen(c->upstreams[i].id, sizeof(c->upstreams[i].id));
		if (!len || len == sizeof(c->upstreams[i].id))
			abort();
	}
	for (i = 0; i < c->nroutes; i++)
		if (!xlb_conf_upstream(c, c->routes[i].upstream_id))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlb_conf_errors errs, errs2;
	struct xlb_conf c, c2;
	char *text;
	int ret, ret2;

	/* A file with a NUL byte is refused before parsing (xlb_conf_read). */
	if (memchr(data, 0, size))
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&errs, 0, sizeof(errs));
	ret = xlb_conf_parse(text, &c, &errs);
	if (ret != 0 && ret != -EINVAL && ret != -ENOMEM)
		abort();
	if (ret == -EINVAL) {
		if (!errs.n)
			abort();
		check_errors(&errs, count_lines(text));
	} else if (ret == 0) {
		if (errs.n)
			abort();
		check_whole(&c);
		memset(&errs2, 0, sizeof(errs2));
		ret2 = xlb_conf_parse(text, &c2, &errs2);
		if (ret2 == 0) {
			if (c2.nupstreams != c.nupstreams || c2.nroutes != c.nroutes)
				abort();
			xlb_conf_free(&c2);
		} else if (ret2 != -ENOMEM) {
			abort();
		}
		xlb_conf_free(&c);
	}
	free(text);
	return 0;
}
