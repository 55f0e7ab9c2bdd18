// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlb -batch FILE [-force] and xlb save: commands read from a file (or
 * standard input), checked whole and applied under one lock of the pin
 * directory (batch.c), and the batch that recreates the VIPs, backends,
 * weights and held states of the maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "cli.h"
#include "dataplane/maps.h"

/* Errors of the lines, for the report: text at once, JSON at the end. */
struct report {
	struct xlb_cli *c;
	const char *file;
	json_t *errors;
	int code, n; /* worst exit code, lines with errors */
	int refused; /* commands that parsed but could not apply */
	char first[600];
};

static void line_error(struct report *r, int line, int code, const char *msg)
{
	char full[600];

	snprintf(full, sizeof(full), "%s:%d: %s", r->file, line, msg);
	if (!r->n++)
		snprintf(r->first, sizeof(r->first), "%s", full);
	if (code > r->code)
		r->code = code;
	if (r->c->json)
		json_array_append_new(r->errors,
				      json_pack("{s:i, s:s?}", "line", line, "error", msg));
	else
		fprintf(stderr, "%s: %s\n", r->c->prog, full);
}

/* Read, parse and check every line of f against b; the count of commands. */
static int read_lines(struct report *r, FILE *f, struct xlb_batch *b, int *commands)
{
	char *line = NULL, err[512], msg[600];
	size_t cap = 0;
	struct xlb_op op;
	int lineno = 0, ret;

	*commands = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		ret = xlb_batch_parse_line(line, &op, err, sizeof(err));
		if (ret < 0) {
			line_error(r, lineno, XLB_EXIT_USAGE, err);
			continue;
		}
		if (!ret)
			continue;
		(*commands)++;
		if (xlb_batch_add(b, &op, lineno, err, sizeof(err))) {
			snprintf(msg, sizeof(msg), "%s: %s", xlb_op_name(op.kind), err);
			line_error(r, lineno, XLB_EXIT_FAIL, msg);
			r->refused++;
		}
	}
	ret = ferror(f) ? -errno : 0;
	free(line);
	return ret;
}

/*
 * The maps opened under the lock and read into a batch, or NULL with the
 * error printed and *ret its exit code (the maps then closed).
 */
static struct xlb_batch *batch_open(struct xlb_cli *c, struct xlb_maps *m, const char *what,
				    int *ret)
{
	struct xlb_batch *b;
	char err[512];

	*ret = xlb_cli_open_maps(c, m, 1);
	if (*ret)
		return NULL;
	b = xlb_batch_new(m, err, sizeof(err));
	if (!b) {
		*ret = xlb_cli_err(c, XLB_EXIT_FAIL, "%s: %s", what, err);
		xlb_maps_close(m);
	}
	return b;
}

int xlb_cmd_batch(struct xlb_cli *c, const char *file, int force)
{
	struct report r = {.c = c, .file = strcmp(file, "-") ? file : "stdin"};
	char err[1024], msg[1400];
	struct xlb_batch *b;
	struct xlb_maps m;
	size_t vips, backends, tables;
	int commands, ret, applied;
	FILE *f;

	f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!f)
		return xlb_cli_err(c, XLB_EXIT_USAGE, "cannot open batch file %s: %s", file,
				   strerror(errno));
	b = batch_open(c, &m, r.file, &ret);
	if (!b)
		goto out_file;
	r.errors = json_array();
	ret = read_lines(&r, f, b, &commands);
	if (ret) {
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "%s: read: %s (nothing applied)", r.file,
				  strerror(-ret));
		goto out_batch;
	}
	applied = commands - r.refused;
	if (r.n && !force) {
		snprintf(msg, sizeof(msg), "%s; %d line%s with errors: nothing applied", r.first,
			 r.n, r.n == 1 ? "" : "s");
		applied = 0;
	} else if (xlb_batch_commit(b, err, sizeof(err))) {
		snprintf(msg, sizeof(msg), "%s: %s", r.file, err);
		r.code = XLB_EXIT_FAIL;
		applied = 0;
	} else if (r.n) {
		snprintf(msg, sizeof(msg),
			 "%s; -force: %d command%s applied, %d line%s with errors", r.first,
			 applied, applied == 1 ? "" : "s", r.n, r.n == 1 ? "" : "s");
	}
	fputs(xlb_batch_warnings(b), stderr);
	xlb_batch_counts(b, &vips, &backends, &tables);
	ret = r.code;
	if (c->json) {
		json_t *o = json_pack("{s:s, s:i, s:i, s:O}", "file", file, "commands", commands,
				      "applied", applied, "errors", r.errors);

		/* What the maps hold now: only when the batch was written. */
		if (applied)
			json_object_update_new(o, json_pack("{s:I, s:I, s:I}", "vips",
							    (json_int_t)vips, "backends",
							    (json_int_t)backends, "tables_built",
							    (json_int_t)tables));
		if (ret) {
			json_object_set_new(o, "error", json_string(msg));
			json_object_set_new(o, "exit", json_integer(ret));
		}
		xlb_cli_json(o);
	} else if (ret) {
		fprintf(stderr, "%s: %s\n", c->prog, msg);
	}
out_batch:
	json_decref(r.errors);
	xlb_batch_free(b);
	xlb_maps_close(&m);
out_file:
	if (f != stdin)
		fclose(f);
	return ret;
}

/* --- save ----------------------------------------------------------------- */

static void emit_text(const char *line, void *arg)
{
	printf("%s\n", line);
}

static void emit_json(const char *line, void *arg)
{
	json_array_append_new(arg, json_string(line));
}

int xlb_cmd_save(struct xlb_cli *c, int argc, char **argv)
{
	size_t vips, backends, tables;
	struct xlb_batch *b;
	struct xlb_maps m;
	json_t *lines;
	int npos, ret;

	ret = xlb_cli_parse(c, argc, argv, NULL, NULL, 0, 0, &npos, "save");
	if (ret || npos < 0)
		return ret;
	/* Under the lock: a batch or command running now is seen whole or not at all. */
	b = batch_open(c, &m, "save", &ret);
	if (!b)
		return ret;
	xlb_maps_close(&m); /* the copy in memory is all save needs */
	xlb_batch_counts(b, &vips, &backends, &tables);
	lines = json_array();
	if (!c->json)
		printf("# xlb save: %zu VIPs, %zu backends of VIPs ('xlb -batch FILE' restores "
		       "them)\n",
		       vips, backends);
	ret = xlb_batch_save(b, c->json ? emit_json : emit_text, lines);
	xlb_batch_free(b);
	if (ret) {
		json_decref(lines);
		return xlb_cli_err(c, XLB_EXIT_FAIL, "save: %s", xlb_cli_strerror(ret));
	}
	if (c->json)
		xlb_cli_json(json_pack("{s:o}", "commands", lines));
	else
		json_decref(lines);
	return XLB_EXIT_OK;
}
