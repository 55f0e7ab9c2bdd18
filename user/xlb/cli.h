/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared plumbing of the xlb command line: global options, output in text
 * or JSON (-j), errors with meaningful exit codes, option parsing and
 * prefix matching of OBJECT and VERB words.
 */
#ifndef XLB_CLI_H
#define XLB_CLI_H

#include <stddef.h>
#include <jansson.h>

/* Exit codes. */
#define XLB_EXIT_OK    0
#define XLB_EXIT_USAGE 1 /* bad command line */
#define XLB_EXIT_FAIL  2 /* the operation failed */

struct xlb_cli {
	int json;	     /* -j */
	const char *pin_dir; /* --pin-dir, $XLB_PIN_DIR, default */
	const char *prog;    /* "xlb" */
};

struct xlb_cmd {
	const char *name;
	int (*fn)(struct xlb_cli *c, int argc, char **argv);
	const char *help; /* one line of synopsis */
};

/* An option of a verb: "--name" with or without a value. */
struct xlb_opt {
	const char *name; /* without the dashes */
	const char **val; /* set when the option takes a value */
	int *flag;	  /* set to 1 when it takes none */
};

/* Print an error (text or JSON) and return code. */
int xlb_cli_err(struct xlb_cli *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Dispatch argv[0] among cmds (unambiguous prefixes accepted). */
int xlb_cli_dispatch(struct xlb_cli *c, const char *what, const struct xlb_cmd *cmds, int argc,
		     char **argv);
/*
 * The core of xlb_cli_parse(): on a problem, -1 with the reason in err
 * (naming prog and usage where a usage helps), nothing printed. 0 else;
 * *npos is -1 for --help / -h / help.
 */
int xlb_cli_args(int argc, char **argv, const struct xlb_opt *opts, const char **pos, int npos_min,
		 int npos_max, int *npos, const char *prog, const char *usage, char *err,
		 size_t errlen);
/*
 * Split argv into positional words (pos, at most npos_max) and options.
 * Returns 0, or XLB_EXIT_USAGE after printing the reason. *help is set for
 * --help / -h.
 */
int xlb_cli_parse(struct xlb_cli *c, int argc, char **argv, const struct xlb_opt *opts,
		  const char **pos, int npos_min, int npos_max, int *npos, const char *usage);
/* Print a JSON value (consumes the reference) as the command's output. */
void xlb_cli_json(json_t *v);
/* Error text for a negative errno from the library. */
const char *xlb_cli_strerror(int err);

struct xlb_maps;
/* Open the pinned maps, locked for writing or not, with a clear error. */
int xlb_cli_open_maps(struct xlb_cli *c, struct xlb_maps *m, int write);

/* Commands. */
int xlb_cmd_attach(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_detach(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_status(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_check(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_decap(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_vip(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_backend(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_stats(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_flows(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_pick(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_health(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_upstream(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_reload(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_drain(struct xlb_cli *c, int argc, char **argv);
int xlb_cmd_save(struct xlb_cli *c, int argc, char **argv);
/* xlb -batch FILE ("-": standard input) [-force]. */
int xlb_cmd_batch(struct xlb_cli *c, const char *file, int force);

/* Is xlb_lb attached to any device of this network namespace? */
int xlb_cli_lb_attached(void);

#endif /* XLB_CLI_H */
