/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xlb -batch: commands read from a file, one a line, checked whole and
 * applied under one lock of the pin directory. batch_parse.c turns a line
 * into a struct xlb_op (no maps needed: the unit tests call it);
 * batch.c holds the state read from the maps, checks every op against it
 * in memory, writes the result and undoes it on failure; batch_maps.c has
 * the batched map writes it needs; cmd_batch.c is `xlb -batch`, `xlb save`.
 */
#ifndef XLB_BATCH_H
#define XLB_BATCH_H

#include <stddef.h>
#include <xlb/abi.h>

struct xlb_maps;
struct xlb_cli;

/* The commands a batch may hold: every CLI command that writes the VIP maps. */
enum xlb_op_kind {
	XLB_OP_VIP_ADD,
	XLB_OP_VIP_DEL,
	XLB_OP_BACKEND_ADD,
	XLB_OP_BACKEND_SET,
	XLB_OP_BACKEND_DEL,
	XLB_OP_DRAIN_START,
	XLB_OP_DRAIN_STOP,
	XLB_OP_MAX,
};

/* One command, parsed and checked for syntax. */
struct xlb_op {
	enum xlb_op_kind kind;
	struct xlb_vip_key vip;
	__u32 vip_flags;	/* vip add: XLB_VIP_F_* */
	int fwd_set;		/* vip add: --forward given (else the node's method) */
	__u32 table_size;	/* vip add */
	struct xlb_addr_key be; /* backend commands */
	__u16 be_port;		/* host order; 0: any */
	int has_weight, has_state;
	__u32 weight;
	enum xlb_backend_state state;
};

/* "vip add", "backend set", ...: what error messages name. */
const char *xlb_op_name(enum xlb_op_kind kind);
/* The synopsis of a kind, without the leading "xlb ". */
const char *xlb_op_usage(enum xlb_op_kind kind);

/*
 * A new VIP's flags on a node whose method is cfg->forward: a VIP without
 * --forward on a node forwarding in GUE is a GUE VIP. -1 with the reason
 * in err for a stateless VIP that is not GUE.
 */
int xlb_op_vip_flags(const struct xlb_config *cfg, const struct xlb_op *op, __u32 *flags, char *err,
		     size_t errlen);

/*
 * Parse the words of a command of kind (after its OBJECT VERB words).
 * Returns 0; 1 for --help (nothing parsed); -1 with the reason in err.
 */
int xlb_op_parse(enum xlb_op_kind kind, int argc, char **argv, struct xlb_op *op, char *err,
		 size_t errlen);

/*
 * Whether the forwarding method lets op's backend serve its VIP (L2 and
 * NAT need the VIP's address family): 0, or -1 with the reason in err.
 */
int xlb_op_family_check(const struct xlb_config *cfg, __u32 vip_flags, const struct xlb_op *op,
			char *err, size_t errlen);

#define XLB_BATCH_MAX_WORDS 32

/*
 * Split line in place into words as a shell would for simple cases:
 * blanks separate words, '...' and "..." quote (a backslash escapes ", \
 * and $ inside "..."; a backslash escapes any character outside quotes),
 * and # at the start of a word begins a comment. Returns the number of
 * words (0 for a blank or comment line), or -1 with the reason in err.
 */
int xlb_batch_split(char *line, char **words, int max, char *err, size_t errlen);

/*
 * Parse one line of a batch: 1 with *op filled, 0 for a blank or comment
 * line, -1 with the reason in err ("backend add: weight 'x' is ...").
 * Objects and verbs may be unique prefixes, as on the command line.
 */
int xlb_batch_parse_line(char *line, struct xlb_op *op, char *err, size_t errlen);

/* --- the engine (batch.c) ---------------------------------------------- */

struct xlb_batch;

/* Read the VIPs, backends, members and settings of m into memory. */
struct xlb_batch *xlb_batch_new(struct xlb_maps *m, char *err, size_t errlen);
void xlb_batch_free(struct xlb_batch *b);
/*
 * Apply op to the in-memory state: 0, or -1 with the reason in err (the
 * state is then as before the op). Nothing is written to the maps.
 */
int xlb_batch_add(struct xlb_batch *b, const struct xlb_op *op, int line, char *err, size_t errlen);
/*
 * Write every change made by xlb_batch_add() to the maps. On failure the
 * writes done are undone as far as they can be; err says what failed and
 * what, if anything, could not be undone. 0 or -1.
 */
int xlb_batch_commit(struct xlb_batch *b, char *err, size_t errlen);
/* Warnings of the commit (folded: one line per kind), or "" when none. */
const char *xlb_batch_warnings(const struct xlb_batch *b);
/* Counts for the report. */
void xlb_batch_counts(const struct xlb_batch *b, size_t *vips, size_t *backends, size_t *tables);
/* Print the commands that recreate the current in-memory state (xlb save). */
int xlb_batch_save(struct xlb_batch *b, void (*emit)(const char *line, void *arg), void *arg);

#endif /* XLB_BATCH_H */
