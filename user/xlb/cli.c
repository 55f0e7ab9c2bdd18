// SPDX-License-Identifier: GPL-2.0-only
/* Option parsing, prefix dispatch, and output helpers of the CLI. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dataplane/maps.h"

int xlb_cli_err(struct xlb_cli *c, int code, const char *fmt, ...)
{
	char msg[512], *p;
	va_list ap;
	json_t *v;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->json) {
		v = json_pack("{s:s, s:i}", "error", msg, "exit", code);
		if (!v) {
			/* Not UTF-8 (bytes from argv, or cut mid-character). */
			for (p = msg; *p; p++) {
				if ((unsigned char)*p >= 0x80)
					*p = '?';
			}
			v = json_pack("{s:s, s:i}", "error", msg, "exit", code);
		}
		xlb_cli_json(v);
	} else {
		fprintf(stderr, "%s: %s\n", c->prog, msg);
	}
	return code;
}

void xlb_cli_json(json_t *v)
{
	if (!v)
		return;
	json_dumpf(v, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(v);
}

const char *xlb_cli_strerror(int err)
{
	switch (err) {
	case -EEXIST:
		return "already exists";
	case -ENOENT:
		return "not found";
	case -ENOSPC:
		return "no room left: every id or the table space is taken (xlb status)";
	case -E2BIG:
		return "map is full";
	case -EPERM:
		return "operation not permitted (need root or CAP_BPF/CAP_NET_ADMIN)";
	default:
		return strerror(-err);
	}
}

/* Usage of a command table: stdout when asked for, stderr on a usage error. */
static void print_cmds(struct xlb_cli *c, const char *what, const struct xlb_cmd *cmds, FILE *f)
{
	const struct xlb_cmd *k;

	fprintf(f, "Usage: %s %s%s{", c->prog, what ? what : "", what ? " " : "");
	for (k = cmds; k->name; k++)
		fprintf(f, "%s%s", k->name, k[1].name ? " | " : "");
	fprintf(f, "} ...\n");
	for (k = cmds; k->name; k++)
		fprintf(f, "  %s\n", k->help);
}

/* "'d' is ambiguous: detach, drain or decap?": every name word starts. */
static int ambiguous(struct xlb_cli *c, const struct xlb_cmd *cmds, const char *word)
{
	const struct xlb_cmd *k, *last = NULL;
	size_t n = strlen(word), off = 0;
	char list[512] = "";

	for (k = cmds; k->name; k++) {
		if (strncmp(k->name, word, n))
			continue;
		if (last && off < sizeof(list))
			off += snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "",
					last->name);
		last = k;
	}
	return xlb_cli_err(c, XLB_EXIT_USAGE, "'%s' is ambiguous: %s or %s?", word, list,
			   last ? last->name : "?");
}

int xlb_cli_dispatch(struct xlb_cli *c, const char *what, const struct xlb_cmd *cmds, int argc,
		     char **argv)
{
	const struct xlb_cmd *k, *hit = NULL, *other = NULL;
	size_t n;

	if (argc < 1 && c->json)
		return xlb_cli_err(c, XLB_EXIT_USAGE, "missing %s (try '%s %s%shelp')",
				   what ? "verb" : "object", c->prog, what ? what : "",
				   what ? " " : "");
	if (argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "-h")) {
		print_cmds(c, what, cmds, argc < 1 ? stderr : stdout);
		return argc < 1 ? XLB_EXIT_USAGE : XLB_EXIT_OK;
	}
	n = strlen(argv[0]);
	for (k = cmds; k->name; k++) {
		if (!strcmp(k->name, argv[0])) {
			hit = k;
			other = NULL;
			break;
		}
		/* A prefix; ambiguous unless an exact name comes later. */
		if (n && !strncmp(k->name, argv[0], n)) {
			if (!hit)
				hit = k;
			else if (!other)
				other = k;
		}
	}
	if (other)
		return ambiguous(c, cmds, argv[0]);
	if (!hit)
		return xlb_cli_err(c, XLB_EXIT_USAGE, "unknown %s '%s' (try '%s %s%shelp')",
				   what ? "verb" : "object", argv[0], c->prog, what ? what : "",
				   what ? " " : "");
	return hit->fn(c, argc - 1, argv + 1);
}

int xlb_cli_args(int argc, char **argv, const struct xlb_opt *opts, const char **pos, int npos_min,
		 int npos_max, int *npos, const char *prog, const char *usage, char *err,
		 size_t errlen)
{
	const struct xlb_opt *o, *hit, *other;
	int i, n = 0;
	size_t len;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "help")) {
			*npos = -1;
			return 0;
		}
		if (strncmp(argv[i], "--", 2)) {
			if (n == npos_max) {
				snprintf(err, errlen, "unexpected argument '%s' (usage: %s%s%s)",
					 argv[i], prog, *prog ? " " : "", usage);
				return -1;
			}
			pos[n++] = argv[i];
			continue;
		}
		hit = NULL;
		other = NULL;
		len = strlen(argv[i] + 2);
		for (o = opts; o && o->name; o++) {
			if (!strcmp(o->name, argv[i] + 2)) {
				hit = o;
				other = NULL;
				break;
			}
			if (len && !strncmp(o->name, argv[i] + 2, len)) {
				if (!hit)
					hit = o;
				else if (!other)
					other = o;
			}
		}
		if (other) {
			snprintf(err, errlen, "option '%s' is ambiguous: --%s or --%s?", argv[i],
				 hit->name, other->name);
			return -1;
		}
		if (!hit) {
			snprintf(err, errlen, "unknown option '%s' (usage: %s%s%s)", argv[i], prog,
				 *prog ? " " : "", usage);
			return -1;
		}
		if (hit->flag) {
			*hit->flag = 1;
			continue;
		}
		if (i + 1 >= argc) {
			snprintf(err, errlen, "option --%s needs a value", hit->name);
			return -1;
		}
		*hit->val = argv[++i];
	}
	if (n < npos_min) {
		snprintf(err, errlen, "missing argument (usage: %s%s%s)", prog, *prog ? " " : "",
			 usage);
		return -1;
	}
	*npos = n;
	return 0;
}

int xlb_cli_parse(struct xlb_cli *c, int argc, char **argv, const struct xlb_opt *opts,
		  const char **pos, int npos_min, int npos_max, int *npos, const char *usage)
{
	char err[512];

	if (xlb_cli_args(argc, argv, opts, pos, npos_min, npos_max, npos, c->prog, usage, err,
			 sizeof(err)))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err);
	if (*npos < 0)
		printf("Usage: %s %s\n", c->prog, usage);
	return 0;
}

/* Open the maps for writing (lock held) or reading, with a clear error. */
int xlb_cli_open_maps(struct xlb_cli *c, struct xlb_maps *m, int write)
{
	int err = xlb_maps_open(m, c->pin_dir, write);

	if (err == -ENOENT)
		return xlb_cli_err(
			c, XLB_EXIT_FAIL,
			"no xlb maps in %s: run 'xlb attach DEV' first (or set --pin-dir)",
			c->pin_dir);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "open maps in %s: %s", c->pin_dir,
				   xlb_cli_strerror(err));
	return 0;
}
