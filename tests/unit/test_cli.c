/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CLI's shared plumbing (user/xlb/cli.c), table-driven:
 * xlb_cli_parse() (value and flag options, unique prefixes, ambiguous and
 * unknown options, missing values, positional word counts, --help) and
 * xlb_cli_dispatch() (exact names win, unique prefixes, ambiguous and
 * unknown words, help, the handler's argv), each in both output modes.
 * Every error is captured from the real streams: in text mode one line
 * "xlb: MSG" on stderr and nothing on stdout; with -j one JSON line
 * {"error": MSG, "exit": CODE} on stdout, the same MSG, nothing on stderr.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../user/xlb/cli.h"
#include "../lib/check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ARGS      8
#define MAX_NEEDLES   3
#define OUTLEN	      8192
#define HANDLER_RET   42

/* --- capture of stdout and stderr ------------------------------------------ */

/* What one call wrote to each stream. */
struct output {
	char out[OUTLEN];
	char err[OUTLEN];
};

struct capture {
	FILE *tmp[2]; /* stdout, stderr */
	int saved[2];
};

/*
 * Sends fds 1 and 2 to temporary files. Nothing may assert between
 * capture_start() and capture_end(): cmocka would print into the capture.
 */
static void capture_start(struct capture *cap)
{
	int i;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		cap->tmp[i] = tmpfile();
		assert_non_null(cap->tmp[i]);
	}
	for (i = 0; i < 2; i++) {
		cap->saved[i] = dup(i + 1);
		assert_true(cap->saved[i] >= 0);
	}
	for (i = 0; i < 2; i++)
		dup2(fileno(cap->tmp[i]), i + 1);
}

static void capture_end(struct capture *cap, struct output *o)
{
	char *buf[2] = {o->out, o->err};
	size_t n;
	int i;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		dup2(cap->saved[i], i + 1);
		close(cap->saved[i]);
	}
	for (i = 0; i < 2; i++) {
		rewind(cap->tmp[i]);
		n = fread(buf[i], 1, OUTLEN - 1, cap->tmp[i]);
		buf[i][n] = '\0';
		fclose(cap->tmp[i]);
	}
}

/*
 * @out must be one line holding exactly {"error": @msg, "exit": @code}.
 * @msg NULL accepts any string.
 */
static void check_json_error(const char *out, const char *msg, int code, const char *ctx)
{
	const char *nl = strchr(out, '\n');
	json_error_t jerr;
	json_t *v, *e, *x;

	if (!nl || nl[1])
		check_str(out, "one line ending in a newline", "%s: JSON error", ctx);
	v = json_loads(out, 0, &jerr);
	if (!v) {
		check_str(out, "a JSON object", "%s: JSON error (%s)", ctx, jerr.text);
		return;
	}
	e = json_object_get(v, "error");
	x = json_object_get(v, "exit");
	check_int(json_is_object(v) ? (long)json_object_size(v) : -1, 2, "%s: keys of %s", ctx,
		  out);
	if (!json_is_string(e))
		check_str(out, "a string \"error\"", "%s: JSON error", ctx);
	else if (msg)
		check_str(json_string_value(e), msg, "%s: JSON \"error\"", ctx);
	if (!json_is_integer(x))
		check_str(out, "an integer \"exit\"", "%s: JSON error", ctx);
	else
		check_int(json_integer_value(x), code, "%s: JSON \"exit\"", ctx);
	json_decref(v);
}

/*
 * @o must hold the text error "xlb: MSG\n" on stderr and nothing on
 * stdout. Returns MSG (in @msg, @len bytes) for the JSON comparison.
 */
static void check_text_error(const struct output *o, char *msg, size_t len, const char *ctx)
{
	const char *prefix = "xlb: ";
	size_t n = strlen(o->err);

	msg[0] = '\0';
	check_str(o->out, "", "%s: stdout of a text error", ctx);
	if (strncmp(o->err, prefix, strlen(prefix)) || n < strlen(prefix) + 1 ||
	    o->err[n - 1] != '\n' || strchr(o->err, '\n') != o->err + n - 1) {
		check_str(o->err, "xlb: MSG\\n", "%s: stderr", ctx);
		return;
	}
	snprintf(msg, len, "%.*s", (int)(n - strlen(prefix) - 1), o->err + strlen(prefix));
}

/* Copies a table's argv into a mutable array; returns argc. */
static int argv_copy(const char *const *in, char **argv)
{
	int argc = 0;

	while (argc < MAX_ARGS && in[argc]) {
		argv[argc] = (char *)in[argc];
		argc++;
	}
	argv[argc] = NULL;
	return argc;
}

static void argv_show(char **argv, int argc, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < argc && off < len; i++)
		off += snprintf(buf + off, len - off, "%s\"%s\"", i ? " " : "", argv[i]);
}

/* --- xlb_cli_parse() --------------------------------------------------------- */

#define USAGE "thing VIP [ADDR] [--weight W] [--keep-maps]"

/* Where the test option table stores what it parsed. */
struct opt_vals {
	const char *weight, *state, *wait, *src, *src6;
	const char *limit, *limit_max, *limit_min;
	int keep, watch;
};

struct parse_case {
	const char *argv[MAX_ARGS + 1];
	int npos_min, npos_max;
	int ret;
	int npos; /* -1: help printed */
	const char *pos[3];
	struct opt_vals want;
	const char *needles[MAX_NEEDLES]; /* in the error message */
};

static const struct parse_case parse_cases[] = {
	/* Positional words and options, in any order. */
	{{NULL}, 0, 2, 0, 0},
	{{"198.18.0.1:80/tcp", "198.18.0.11"}, 2, 2, 0, 2, {"198.18.0.1:80/tcp", "198.18.0.11"}},
	{{"v", "--weight", "7"}, 1, 2, 0, 1, {"v"}, {.weight = "7"}},
	{{"--weight", "7", "v", "b", "--state", "down"},
	 2,
	 2,
	 0,
	 2,
	 {"v", "b"},
	 {.weight = "7", .state = "down"}},
	{{"v", "--keep-maps"}, 1, 1, 0, 1, {"v"}, {.keep = 1}},
	{{"--keep-maps", "--watch", "v"}, 1, 1, 0, 1, {"v"}, {.keep = 1, .watch = 1}},
	{{"--weight", "1", "--weight", "2"}, 0, 0, 0, 0, {NULL}, {.weight = "2"}},
	/* Values are taken as they are, even when they look like words. */
	{{"--weight", "help", "v"}, 1, 1, 0, 1, {"v"}, {.weight = "help"}},

	/* Unique prefixes. */
	{{"--wei", "5"}, 0, 0, 0, 0, {NULL}, {.weight = "5"}},
	{{"--s", "down"}, 0, 0, 0, 0, {NULL}, {.state = "down"}},
	{{"--k"}, 0, 0, 0, 0, {NULL}, {.keep = 1}},
	{{"--wat"}, 0, 0, 0, 0, {NULL}, {.watch = 1}},
	{{"--wai", "3"}, 0, 0, 0, 0, {NULL}, {.wait = "3"}},
	{{"--limit-ma", "9"}, 0, 0, 0, 0, {NULL}, {.limit_max = "9"}},

	/* An exact name wins over longer names that start with it. */
	{{"--encap-src", "10.0.0.0/8"}, 0, 0, 0, 0, {NULL}, {.src = "10.0.0.0/8"}},
	{{"--encap-src6", "fd00::/64"}, 0, 0, 0, 0, {NULL}, {.src6 = "fd00::/64"}},
	{{"--limit", "5"}, 0, 0, 0, 0, {NULL}, {.limit = "5"}},

	/* Ambiguous prefixes. */
	{{"--wa", "1"},
	 0,
	 0,
	 XLB_EXIT_USAGE,
	 0,
	 {NULL},
	 {},
	 {"'--wa'", "ambiguous", "--watch or --wait"}},
	{{"--w", "1"}, 0, 0, XLB_EXIT_USAGE, 0, {NULL}, {}, {"'--w'", "ambiguous"}},
	{{"--encap", "1"},
	 0,
	 0,
	 XLB_EXIT_USAGE,
	 0,
	 {NULL},
	 {},
	 {"'--encap'", "ambiguous", "--encap-src or --encap-src6"}},
	{{"--limit-m", "1"},
	 0,
	 0,
	 XLB_EXIT_USAGE,
	 0,
	 {NULL},
	 {},
	 {"'--limit-m'", "ambiguous", "--limit-max or --limit-min"}},
	{{"--lim", "1"}, 0, 0, XLB_EXIT_USAGE, 0, {NULL}, {}, {"'--lim'", "ambiguous"}},

	/* Unknown options, with the usage. */
	{{"--colour", "red"},
	 0,
	 0,
	 XLB_EXIT_USAGE,
	 0,
	 {NULL},
	 {},
	 {"unknown option '--colour'", "xlb " USAGE}},
	{{"--weightx", "1"}, 0, 0, XLB_EXIT_USAGE, 0, {NULL}, {}, {"unknown option '--weightx'"}},
	{{"--encap-src6x", "1"},
	 0,
	 0,
	 XLB_EXIT_USAGE,
	 0,
	 {NULL},
	 {},
	 {"unknown option '--encap-src6x'"}},
	{{"--Weight", "1"}, 0, 0, XLB_EXIT_USAGE, 0, {NULL}, {}, {"unknown option '--Weight'"}},

	/* Missing values name the full option. */
	{{"v", "--weight"}, 1, 1, XLB_EXIT_USAGE, 0, {NULL}, {}, {"option --weight needs a value"}},
	{{"v", "--wei"}, 1, 1, XLB_EXIT_USAGE, 0, {NULL}, {}, {"option --weight needs a value"}},

	/* Positional word counts. */
	{{"a", "b", "c"},
	 1,
	 2,
	 XLB_EXIT_USAGE,
	 0,
	 {NULL},
	 {},
	 {"unexpected argument 'c'", "xlb " USAGE}},
	{{"a"}, 0, 0, XLB_EXIT_USAGE, 0, {NULL}, {}, {"unexpected argument 'a'"}},
	{{"a", "--weight", "1"},
	 2,
	 2,
	 XLB_EXIT_USAGE,
	 0,
	 {NULL},
	 {},
	 {"missing argument", "xlb " USAGE}},
	{{NULL}, 1, 1, XLB_EXIT_USAGE, 0, {NULL}, {}, {"missing argument"}},

	/* Help, wherever it is, before a later error. */
	{{"--help"}, 1, 1, 0, -1},
	{{"-h"}, 1, 1, 0, -1},
	{{"help"}, 1, 1, 0, -1},
	{{"v", "--weight", "1", "--help", "--colour"}, 1, 1, 0, -1},
};

/* Runs one case in one mode; returns its output in @o. */
static int run_parse(const struct parse_case *t, int json, struct opt_vals *v, const char **pos,
		     int *npos, struct output *o)
{
	const struct xlb_opt opts[] = {{"weight", &v->weight},
				       {"state", &v->state},
				       {"keep-maps", NULL, &v->keep},
				       {"watch", NULL, &v->watch},
				       {"wait", &v->wait},
				       {"encap-src", &v->src},
				       {"encap-src6", &v->src6},
				       {"limit-max", &v->limit_max},
				       {"limit-min", &v->limit_min},
				       {"limit", &v->limit},
				       {}};
	struct xlb_cli c = {.json = json, .prog = "xlb"};
	char *argv[MAX_ARGS + 1];
	struct capture cap;
	int argc, ret;

	argc = argv_copy(t->argv, argv);
	memset(v, 0, sizeof(*v));
	*npos = -2;
	capture_start(&cap);
	ret = xlb_cli_parse(&c, argc, argv, opts, pos, t->npos_min, t->npos_max, npos, USAGE);
	capture_end(&cap, o);
	return ret;
}

static void check_opt_vals(const struct opt_vals *v, const struct opt_vals *w, const char *ctx)
{
	check_str(v->weight, w->weight, "%s: --weight", ctx);
	check_str(v->state, w->state, "%s: --state", ctx);
	check_str(v->wait, w->wait, "%s: --wait", ctx);
	check_str(v->src, w->src, "%s: --encap-src", ctx);
	check_str(v->src6, w->src6, "%s: --encap-src6", ctx);
	check_str(v->limit, w->limit, "%s: --limit", ctx);
	check_str(v->limit_max, w->limit_max, "%s: --limit-max", ctx);
	check_str(v->limit_min, w->limit_min, "%s: --limit-min", ctx);
	check_int(v->keep, w->keep, "%s: --keep-maps", ctx);
	check_int(v->watch, w->watch, "%s: --watch", ctx);
}

static void test_parse(void **state)
{
	char shown[256], ctx[300], msg[OUTLEN];
	const char *pos[4];
	struct opt_vals v;
	struct output *o = malloc(sizeof(*o));
	char *argv[MAX_ARGS + 1];
	size_t i;
	int j, npos, ret;

	assert_non_null(o);
	for (i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *t = &parse_cases[i];

		argv_show(argv, argv_copy(t->argv, argv), shown, sizeof(shown));
		snprintf(ctx, sizeof(ctx), "xlb_cli_parse(%s; %d-%d words)", shown, t->npos_min,
			 t->npos_max);

		/* A guard after the last word that may be written. */
		memset(pos, 0, sizeof(pos));
		pos[t->npos_max] = "guard";
		ret = run_parse(t, 0, &v, pos, &npos, o);
		check_int(ret, t->ret, "%s", ctx);
		check_str(pos[t->npos_max], "guard", "%s: pos[%d]", ctx, t->npos_max);
		if (ret != t->ret)
			continue;
		if (t->ret) {
			check_text_error(o, msg, sizeof(msg), ctx);
			for (j = 0; j < MAX_NEEDLES && t->needles[j]; j++)
				check_contains(msg, t->needles[j], "%s: message", ctx);

			/* The same message as one JSON line on stdout. */
			ret = run_parse(t, 1, &v, pos, &npos, o);
			check_int(ret, t->ret, "%s -j", ctx);
			check_str(o->err, "", "%s -j: stderr", ctx);
			check_json_error(o->out, msg, t->ret, ctx);
			continue;
		}
		check_int(npos, t->npos, "%s: npos", ctx);
		check_str(o->err, "", "%s: stderr", ctx);
		if (t->npos < 0) {
			check_str(o->out, "Usage: xlb " USAGE "\n", "%s: help", ctx);
			continue;
		}
		check_str(o->out, "", "%s: stdout", ctx);
		for (j = 0; j < t->npos; j++)
			check_str(pos[j], t->pos[j], "%s: pos[%d]", ctx, j);
		check_opt_vals(&v, &t->want, ctx);
	}
	free(o);
	check_done();
}

/* A verb without options accepts no option at all. */
static void test_parse_no_opts(void **state)
{
	struct xlb_cli c = {.prog = "xlb"};
	char *argv[] = {"--weight", "1", NULL};
	struct output *o = malloc(sizeof(*o));
	struct capture cap;
	char msg[OUTLEN];
	int npos = -2, ret;

	assert_non_null(o);
	capture_start(&cap);
	ret = xlb_cli_parse(&c, 2, argv, NULL, NULL, 0, 0, &npos, "vip list");
	capture_end(&cap, o);
	check_int(ret, XLB_EXIT_USAGE, "xlb_cli_parse(--weight 1) without options");
	check_text_error(o, msg, sizeof(msg), "xlb_cli_parse without options");
	check_str(msg, "unknown option '--weight' (usage: xlb vip list)",
		  "xlb_cli_parse without options: message");
	free(o);
	check_done();
}

/* --- xlb_cli_dispatch() ---------------------------------------------------- */

/* The last handler call. */
static struct {
	const char *name;
	int calls;
	int argc;
	char **argv;
} seen;

static int record(const char *name, int argc, char **argv)
{
	seen.name = name;
	seen.calls++;
	seen.argc = argc;
	seen.argv = argv;
	return HANDLER_RET;
}

static int h_attach(struct xlb_cli *c, int argc, char **argv)
{
	return record("attach", argc, argv);
}

static int h_detach(struct xlb_cli *c, int argc, char **argv)
{
	return record("detach", argc, argv);
}

static int h_decap(struct xlb_cli *c, int argc, char **argv)
{
	return record("decap", argc, argv);
}

static int h_status(struct xlb_cli *c, int argc, char **argv)
{
	return record("status", argc, argv);
}

static int h_stats(struct xlb_cli *c, int argc, char **argv)
{
	return record("stats", argc, argv);
}

static int h_stat(struct xlb_cli *c, int argc, char **argv)
{
	return record("stat", argc, argv);
}

/* The same commands in two orders: the order must not matter. */
static const struct xlb_cmd cmds_long_first[] = {{"attach", h_attach, "attach DEV"},
						 {"detach", h_detach, "detach DEV"},
						 {"decap", h_decap, "decap VERB"},
						 {"status", h_status, "status"},
						 {"stats", h_stats, "stats [--watch]"},
						 {"stat", h_stat, "stat NAME"},
						 {}};

static const struct xlb_cmd cmds_short_first[] = {{"stat", h_stat, "stat NAME"},
						  {"stats", h_stats, "stats [--watch]"},
						  {"status", h_status, "status"},
						  {"decap", h_decap, "decap VERB"},
						  {"detach", h_detach, "detach DEV"},
						  {"attach", h_attach, "attach DEV"},
						  {}};

struct dispatch_case {
	const char *what; /* NULL: objects, else the object of verbs */
	const char *argv[MAX_ARGS + 1];
	int ret;
	const char *called;		  /* the handler run, or NULL */
	const char *needles[MAX_NEEDLES]; /* in the error message */
	int help;			  /* usage printed on stdout */
};

static const struct dispatch_case dispatch_cases[] = {
	/* Exact names, also those that start longer names. */
	{NULL, {"attach", "eth0"}, HANDLER_RET, "attach"},
	{NULL, {"stat", "x", "--y"}, HANDLER_RET, "stat"},
	{NULL, {"stats", "--watch"}, HANDLER_RET, "stats"},
	{NULL, {"status"}, HANDLER_RET, "status"},
	/* Unique prefixes. */
	{NULL, {"a", "eth0", "--mode", "native"}, HANDLER_RET, "attach"},
	{"vip", {"det", "eth0"}, HANDLER_RET, "detach"},
	{NULL, {"dec"}, HANDLER_RET, "decap"},
	{NULL, {"statu"}, HANDLER_RET, "status"},
	/* Ambiguous prefixes name the candidates. */
	{NULL, {"de"}, XLB_EXIT_USAGE, NULL, {"'de' is ambiguous", "detach", "decap"}},
	{NULL, {"d", "eth0"}, XLB_EXIT_USAGE, NULL, {"'d' is ambiguous", "detach", "decap"}},
	/* Three candidates: all named ("a, b or c?"), in either order. */
	{"vip", {"sta"}, XLB_EXIT_USAGE, NULL, {"status", "stats", ", stat"}},
	/* Unknown words, with a hint. */
	{NULL, {"x"}, XLB_EXIT_USAGE, NULL, {"unknown object 'x'", "'xlb help'"}},
	{"vip", {"x"}, XLB_EXIT_USAGE, NULL, {"unknown verb 'x'", "'xlb vip help'"}},
	{NULL, {"attachx"}, XLB_EXIT_USAGE, NULL, {"unknown object 'attachx'"}},
	{NULL, {"ATTACH"}, XLB_EXIT_USAGE, NULL, {"unknown object 'ATTACH'"}},
	{NULL, {""}, XLB_EXIT_USAGE, NULL, {"unknown object ''"}},
	{NULL, {"--mode"}, XLB_EXIT_USAGE, NULL, {"unknown object '--mode'"}},
	/* Help, and no word at all. */
	{NULL, {"help"}, XLB_EXIT_OK, NULL, {NULL}, 1},
	{"vip", {"--help", "x"}, XLB_EXIT_OK, NULL, {NULL}, 1},
	{"vip", {"-h"}, XLB_EXIT_OK, NULL, {NULL}, 1},
	{"vip", {NULL}, XLB_EXIT_USAGE, NULL, {"missing verb", "'xlb vip help'"}, 1},
	{NULL, {NULL}, XLB_EXIT_USAGE, NULL, {"missing object", "'xlb help'"}, 1},
};

static int run_dispatch(const struct dispatch_case *t, const struct xlb_cmd *cmds, int json,
			int argc, char **argv, struct output *o)
{
	struct xlb_cli c = {.json = json, .prog = "xlb"};
	struct capture cap;
	int ret;

	memset(&seen, 0, sizeof(seen));
	capture_start(&cap);
	ret = xlb_cli_dispatch(&c, t->what, cmds, argc, argv);
	capture_end(&cap, o);
	return ret;
}

/* The usage of a command table: a header, then one help line per command. */
static void check_help(const char *out, const char *what, const struct xlb_cmd *cmds,
		       const char *ctx)
{
	const struct xlb_cmd *k;
	char line[128];

	snprintf(line, sizeof(line), "Usage: xlb %s%s{", what ? what : "", what ? " " : "");
	if (strncmp(out, line, strlen(line)))
		check_str(out, line, "%s: start of the usage", ctx);
	for (k = cmds; k->name; k++) {
		snprintf(line, sizeof(line), "\n  %s\n", k->help);
		check_contains(out, line, "%s: usage", ctx);
	}
}

static void dispatch_one(const struct dispatch_case *t, const struct xlb_cmd *cmds,
			 const char *order, struct output *o)
{
	char shown[256], ctx[320], msg[OUTLEN];
	char *argv[MAX_ARGS + 1];
	int argc, j, ret;

	argc = argv_copy(t->argv, argv);
	argv_show(argv, argc, shown, sizeof(shown));
	snprintf(ctx, sizeof(ctx), "xlb_cli_dispatch(%s%s%s; %s)", t->what ? t->what : "",
		 t->what ? ": " : "", shown, order);

	ret = run_dispatch(t, cmds, 0, argc, argv, o);
	check_int(ret, t->ret, "%s", ctx);
	check_str(seen.name, t->called, "%s: handler", ctx);
	if (t->called) {
		/* The handler gets the words after its name, in place. */
		check_int(seen.calls, 1, "%s: handler calls", ctx);
		check_int(seen.argc, argc - 1, "%s: handler argc", ctx);
		check_int(seen.argv == argv + 1, 1, "%s: handler argv is argv + 1", ctx);
		check_str(o->out, "", "%s: stdout", ctx);
		check_str(o->err, "", "%s: stderr", ctx);
		return;
	}
	check_int(seen.calls, 0, "%s: handler calls", ctx);
	if (t->help && t->ret == XLB_EXIT_OK) {
		/* Asked for: the usage on stdout. */
		check_help(o->out, t->what, cmds, ctx);
		check_str(o->err, "", "%s: stderr", ctx);
	} else if (t->help) {
		/* A missing word is a usage error: the usage goes to stderr. */
		check_help(o->err, t->what, cmds, ctx);
		check_str(o->out, "", "%s: stdout", ctx);
	} else {
		check_text_error(o, msg, sizeof(msg), ctx);
		for (j = 0; j < MAX_NEEDLES && t->needles[j]; j++)
			check_contains(msg, t->needles[j], "%s: message", ctx);
	}
	if (t->ret == XLB_EXIT_OK)
		return;

	/* With -j every error is one JSON line, even a missing word. */
	ret = run_dispatch(t, cmds, 1, argc, argv, o);
	check_int(ret, t->ret, "%s -j", ctx);
	check_str(o->err, "", "%s -j: stderr", ctx);
	check_json_error(o->out, t->help ? NULL : msg, t->ret, ctx);
	for (j = 0; j < MAX_NEEDLES && t->needles[j]; j++)
		check_contains(o->out, t->needles[j], "%s -j: message", ctx);
}

static void test_dispatch(void **state)
{
	struct output *o = malloc(sizeof(*o));
	size_t i;

	assert_non_null(o);
	for (i = 0; i < ARRAY_SIZE(dispatch_cases); i++) {
		dispatch_one(&dispatch_cases[i], cmds_long_first, "long names first", o);
		dispatch_one(&dispatch_cases[i], cmds_short_first, "short names first", o);
	}
	free(o);
	check_done();
}

/* --- xlb_cli_err(), xlb_cli_json(), xlb_cli_strerror() --------------------- */

static void test_err_text(void **state)
{
	struct xlb_cli c = {.prog = "xlb"};
	struct output *o = malloc(sizeof(*o));
	char want[600];
	struct capture cap;
	int ret;

	assert_non_null(o);
	capture_start(&cap);
	ret = xlb_cli_err(&c, XLB_EXIT_FAIL, "vip %s: %s", "198.18.0.1:80/tcp", "not found");
	capture_end(&cap, o);
	check_int(ret, XLB_EXIT_FAIL, "xlb_cli_err() return");
	check_str(o->err, "xlb: vip 198.18.0.1:80/tcp: not found\n", "xlb_cli_err() stderr");
	check_str(o->out, "", "xlb_cli_err() stdout");

	/* The program name comes from the context. */
	c.prog = "xlbd";
	capture_start(&cap);
	xlb_cli_err(&c, XLB_EXIT_USAGE, "x");
	capture_end(&cap, o);
	check_str(o->err, "xlbd: x\n", "xlb_cli_err() with prog xlbd");

	/* Long messages are cut at 511 bytes. */
	c.prog = "xlb";
	capture_start(&cap);
	xlb_cli_err(&c, XLB_EXIT_USAGE, "%0600d", 7);
	capture_end(&cap, o);
	snprintf(want, sizeof(want), "xlb: %0511d\n", 0);
	check_str(o->err, want, "xlb_cli_err() of 600 bytes");
	free(o);
	check_done();
}

static void test_err_json(void **state)
{
	static const char *const msgs[] = {
		"vip 198.18.0.1:80/tcp: not found",
		"quotes \" and \\ backslash",
		"a new\nline and a\ttab",
		"unicode: caf\xc3\xa9",
		"",
	};
	struct xlb_cli c = {.json = 1, .prog = "xlb"};
	struct output *o = malloc(sizeof(*o));
	char long_msg[600];
	struct capture cap;
	size_t i;
	int ret;

	assert_non_null(o);
	for (i = 0; i < ARRAY_SIZE(msgs); i++) {
		capture_start(&cap);
		ret = xlb_cli_err(&c, i % 2 ? XLB_EXIT_USAGE : XLB_EXIT_FAIL, "%s", msgs[i]);
		capture_end(&cap, o);
		check_int(ret, i % 2 ? XLB_EXIT_USAGE : XLB_EXIT_FAIL, "xlb_cli_err(\"%s\") -j",
			  msgs[i]);
		check_str(o->err, "", "xlb_cli_err(\"%s\") -j: stderr", msgs[i]);
		check_json_error(o->out, msgs[i], ret, "xlb_cli_err() -j");
	}

	/* The exact shape: compact, "error" then "exit". */
	capture_start(&cap);
	xlb_cli_err(&c, XLB_EXIT_USAGE, "bad");
	capture_end(&cap, o);
	check_str(o->out, "{\"error\":\"bad\",\"exit\":1}\n", "xlb_cli_err(\"bad\") -j");

	/* Bytes that are not UTF-8 (from argv) still give a JSON error. */
	capture_start(&cap);
	xlb_cli_err(&c, XLB_EXIT_USAGE, "unknown object '%s'", "x\xff\xfey");
	capture_end(&cap, o);
	check_json_error(o->out, NULL, XLB_EXIT_USAGE, "xlb_cli_err() -j, not UTF-8");
	check_contains(o->out, "unknown object 'x", "xlb_cli_err() -j, not UTF-8");

	/* So does a message cut in the middle of a UTF-8 sequence. */
	snprintf(long_msg, sizeof(long_msg), "%0510d\xc3\xa9", 0);
	capture_start(&cap);
	xlb_cli_err(&c, XLB_EXIT_FAIL, "%s", long_msg);
	capture_end(&cap, o);
	check_json_error(o->out, NULL, XLB_EXIT_FAIL, "xlb_cli_err() -j, cut in UTF-8");
	free(o);
	check_done();
}

static void test_json(void **state)
{
	struct output *o = malloc(sizeof(*o));
	struct capture cap;

	assert_non_null(o);
	capture_start(&cap);
	xlb_cli_json(NULL);
	capture_end(&cap, o);
	check_str(o->out, "", "xlb_cli_json(NULL)");

	capture_start(&cap);
	xlb_cli_json(json_pack("{s:i, s:[s, s]}", "n", 5, "vips", "a", "b"));
	capture_end(&cap, o);
	check_str(o->out, "{\"n\":5,\"vips\":[\"a\",\"b\"]}\n", "xlb_cli_json(object)");
	check_str(o->err, "", "xlb_cli_json(object): stderr");
	free(o);
	check_done();
}

static void test_strerror(void **state)
{
	static const struct {
		int err;
		const char *want;
	} cases[] = {
		{-EEXIST, "already exists"},
		{-ENOENT, "not found"},
		{-ENOSPC, "no room left: every id or the table space is taken (xlb status)"},
		{-E2BIG, "map is full"},
		{-EPERM, "operation not permitted (need root or CAP_BPF/CAP_NET_ADMIN)"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		check_str(xlb_cli_strerror(cases[i].err), cases[i].want, "xlb_cli_strerror(%d)",
			  cases[i].err);
	check_str(xlb_cli_strerror(-EINVAL), strerror(EINVAL), "xlb_cli_strerror(-EINVAL)");
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),	 cmocka_unit_test(test_parse_no_opts),
		cmocka_unit_test(test_dispatch), cmocka_unit_test(test_err_text),
		cmocka_unit_test(test_err_json), cmocka_unit_test(test_json),
		cmocka_unit_test(test_strerror),
	};

	return check_run_tests("cli", tests, NULL, NULL);
}
