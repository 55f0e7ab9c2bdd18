// SPDX-License-Identifier: GPL-2.0-only
/*
 * The syntax of the commands that write VIPs, backends and the drain flag:
 * words to a struct xlb_op, shared by the single commands (cmd_vip.c,
 * cmd_drain.c) and by xlb -batch, whose lines are split here too.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "base/addr.h"
#include "batch.h"
#include "cli.h"
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "dataplane/names.h"

static const struct {
	const char *object, *verb, *usage;
} ops[XLB_OP_MAX] = {
	[XLB_OP_VIP_ADD] = {"vip", "add",
			    "vip add ADDR:PORT/PROTO [--hash 5tuple|src] [--table-size M] "
			    "[--forward dsr|nat|gue] [--flow-state table|stateless] "
			    "[--lb chash|least_conn]"},
	[XLB_OP_VIP_DEL] = {"vip", "del", "vip del ADDR:PORT/PROTO"},
	[XLB_OP_BACKEND_ADD] = {"backend", "add", "backend add VIP ADDR[:PORT] [--weight W]"},
	[XLB_OP_BACKEND_SET] = {"backend", "set",
				"backend set VIP ADDR[:PORT] [--weight W] "
				"[--state active|draining|down]"},
	[XLB_OP_BACKEND_DEL] = {"backend", "del", "backend del VIP ADDR[:PORT]"},
	[XLB_OP_DRAIN_START] = {"drain", "start", "drain start"},
	[XLB_OP_DRAIN_STOP] = {"drain", "stop", "drain stop"},
};

const char *xlb_op_name(enum xlb_op_kind kind)
{
	static char names[XLB_OP_MAX][24];

	if (kind >= XLB_OP_MAX)
		return "?";
	if (!names[kind][0])
		snprintf(names[kind], sizeof(names[kind]), "%s %s", ops[kind].object,
			 ops[kind].verb);
	return names[kind];
}

const char *xlb_op_usage(enum xlb_op_kind kind)
{
	return kind < XLB_OP_MAX ? ops[kind].usage : "?";
}

static int parse_state(const char *s, enum xlb_backend_state *st)
{
	int i;

	for (i = XLB_BE_ACTIVE; i < XLB_BE_STATE_MAX; i++)
		if (!strcmp(s, xlb_state_name(i))) {
			*st = i;
			return 0;
		}
	return -1;
}

/*
 * An option of two words, --opt s: 0 for dflt (or none given), 1 for alt,
 * else -1 with err.
 */
static int opt_word(const char *opt, const char *s, const char *dflt, const char *alt, char *err,
		    size_t errlen)
{
	if (!s || !strcmp(s, dflt))
		return 0;
	if (!strcmp(s, alt))
		return 1;
	snprintf(err, errlen, "--%s '%s' is not %s or %s", opt, s, dflt, alt);
	return -1;
}

/*
 * --lb: chash (Maglev, the default) or least_conn (bpf/lib/lconn.h), which
 * hashes nothing of its own (no --hash src), is no NAT VIP's (bpf/lib/nat.h
 * picks by the table alone) and needs flow entries (no stateless VIP).
 */
static int vip_lb(struct xlb_op *op, const char *lb, char *err, size_t errlen)
{
	int r = opt_word("lb", lb, "chash", "least_conn", err, errlen);

	if (r <= 0)
		return r;
	if (op->vip_flags & XLB_VIP_F_HASH_SRC) {
		snprintf(err, errlen, "--hash src applies to --lb chash only");
		return -1;
	}
	if (op->vip_flags & XLB_VIP_F_NAT) {
		snprintf(err, errlen,
			 "--lb least_conn needs --forward dsr (NAT VIPs pick by the "
			 "table)");
		return -1;
	}
	if (op->vip_flags & XLB_VIP_F_STATELESS) {
		snprintf(err, errlen,
			 "--lb least_conn needs --flow-state table (it counts flow entries)");
		return -1;
	}
	op->vip_flags |= XLB_VIP_F_LEAST_CONN;
	return 0;
}

/* vip add's options into op; -1 with err on a bad one. */
static int vip_options(struct xlb_op *op, const char *hash, const char *size_s, const char *fwd,
		       char *err, size_t errlen)
{
	/* Unset: the size follows the member count (xlb_maglev_size_auto()). */
	op->table_size = xlb_maglev_size_auto(0);
	if (!size_s)
		op->vip_flags |= XLB_VIP_F_SIZE_AUTO;
	if (hash && !strcmp(hash, "src")) {
		op->vip_flags |= XLB_VIP_F_HASH_SRC;
	} else if (hash && strcmp(hash, "5tuple")) {
		snprintf(err, errlen, "--hash '%s' is not 5tuple or src", hash);
		return -1;
	}
	/*
	 * dsr: the data plane's direct-return method (xlb attach --forward);
	 * gue: direct return in GUE, whose tables keep each slot's earlier
	 * owners (docs/SECOND_CHANCE.md).
	 */
	op->fwd_set = !!fwd;
	if (fwd && !strcmp(fwd, "nat")) {
		op->vip_flags |= XLB_VIP_F_NAT;
	} else if (fwd && !strcmp(fwd, "gue")) {
		op->vip_flags |= XLB_VIP_F_GUE | XLB_VIP_F_CHAINS;
	} else if (fwd && strcmp(fwd, "dsr")) {
		snprintf(err, errlen, "--forward '%s' is not dsr, nat or gue", fwd);
		return -1;
	}
	if (size_s && (xlb_u32_parse(size_s, 3, XLB_MAGLEV_MAX, &op->table_size) ||
		       !xlb_maglev_size_valid(op->table_size))) {
		snprintf(err, errlen, "--table-size '%s' is not a prime between 3 and %u", size_s,
			 XLB_MAGLEV_MAX);
		return -1;
	}
	return 0;
}

/*
 * --flow-state: table (default) or stateless, which needs GUE (given, or
 * the node's method when --forward is not: xlb_op_vip_flags() checks).
 */
static int flow_state_option(struct xlb_op *op, const char *fs, char *err, size_t errlen)
{
	int r = opt_word("flow-state", fs, "table", "stateless", err, errlen);

	if (r <= 0)
		return r;
	if (op->fwd_set && !(op->vip_flags & XLB_VIP_F_GUE)) {
		snprintf(err, errlen,
			 "--flow-state stateless needs --forward gue: without flow entries, "
			 "connections follow a table change only through GUE's hops");
		return -1;
	}
	op->vip_flags |= XLB_VIP_F_STATELESS;
	return 0;
}

/* A backend command's VIP, backend, --weight and --state into op. */
static int backend_words(struct xlb_op *op, const char *vip_s, const char *be_s, const char *w_s,
			 const char *st_s, char *err, size_t errlen)
{
	char why[200];

	if (xlb_vip_parse(vip_s, &op->vip, err, errlen))
		return -1;
	if (xlb_endpoint_parse(be_s, &op->be, &op->be_port, why, sizeof(why))) {
		snprintf(err, errlen, "backend: %s", why);
		return -1;
	}
	if (op->vip.family == XLB_AF_INET6 && op->be.family == XLB_AF_INET) {
		snprintf(err, errlen, "backend %s: an IPv6 VIP needs IPv6 backends", be_s);
		return -1;
	}
	if (w_s) {
		op->has_weight = 1;
		if (xlb_u32_parse(w_s, 0, XLB_WEIGHT_MAX, &op->weight)) {
			snprintf(err, errlen, "weight '%s' is not a number 0-%u", w_s,
				 XLB_WEIGHT_MAX);
			return -1;
		}
	}
	if (st_s) {
		op->has_state = 1;
		if (parse_state(st_s, &op->state)) {
			snprintf(err, errlen, "state '%s' is not active, draining or down", st_s);
			return -1;
		}
	}
	return 0;
}

int xlb_op_parse(enum xlb_op_kind kind, int argc, char **argv, struct xlb_op *op, char *err,
		 size_t errlen)
{
	const char *hash = NULL, *size_s = NULL, *fwd = NULL, *w_s = NULL, *st_s = NULL;
	const char *fs = NULL, *lb = NULL;
	const struct xlb_opt vip_opts[] = {{"hash", &hash},   {"table-size", &size_s},
					   {"forward", &fwd}, {"flow-state", &fs},
					   {"lb", &lb},	      {}};
	const struct xlb_opt add_opts[] = {{"weight", &w_s}, {}};
	const struct xlb_opt set_opts[] = {{"weight", &w_s}, {"state", &st_s}, {}};
	const struct xlb_opt *opts = NULL;
	int npos_min = 0, npos_max = 0, npos;
	const char *pos[2];

	memset(op, 0, sizeof(*op));
	op->kind = kind;
	switch (kind) {
	case XLB_OP_VIP_ADD:
		opts = vip_opts;
		/* fall through */
	case XLB_OP_VIP_DEL:
		npos_min = npos_max = 1;
		break;
	case XLB_OP_BACKEND_ADD:
		opts = add_opts;
		npos_min = npos_max = 2;
		break;
	case XLB_OP_BACKEND_SET:
		opts = set_opts;
		/* fall through */
	case XLB_OP_BACKEND_DEL:
		npos_min = npos_max = 2;
		break;
	case XLB_OP_DRAIN_START:
	case XLB_OP_DRAIN_STOP:
		break;
	default:
		snprintf(err, errlen, "unknown command");
		return -1;
	}
	if (xlb_cli_args(argc, argv, opts, pos, npos_min, npos_max, &npos, "xlb", ops[kind].usage,
			 err, errlen))
		return -1;
	if (npos < 0)
		return 1;
	switch (kind) {
	case XLB_OP_VIP_ADD:
		if (vip_options(op, hash, size_s, fwd, err, errlen) ||
		    flow_state_option(op, fs, err, errlen) || vip_lb(op, lb, err, errlen))
			return -1;
		/* fall through */
	case XLB_OP_VIP_DEL:
		return xlb_vip_parse(pos[0], &op->vip, err, errlen) ? -1 : 0;
	case XLB_OP_BACKEND_SET:
		if (!w_s && !st_s) {
			snprintf(err, errlen, "give --weight and/or --state");
			return -1;
		}
		/* fall through */
	case XLB_OP_BACKEND_ADD:
	case XLB_OP_BACKEND_DEL:
		if (kind == XLB_OP_BACKEND_ADD)
			op->weight = 1;
		return backend_words(op, pos[0], pos[1], w_s, st_s, err, errlen);
	default:
		return 0;
	}
}

int xlb_op_vip_flags(const struct xlb_config *cfg, const struct xlb_op *op, __u32 *flags, char *err,
		     size_t errlen)
{
	*flags = op->vip_flags;
	if (!op->fwd_set && cfg->forward == XLB_FWD_GUE)
		*flags |= XLB_VIP_F_GUE | XLB_VIP_F_CHAINS;
	if (*flags & XLB_VIP_F_STATELESS && !(*flags & XLB_VIP_F_GUE)) {
		snprintf(err, errlen,
			 "--flow-state stateless needs GUE (--forward gue, or a node attached "
			 "with --forward gue)");
		return -1;
	}
	return 0;
}

int xlb_op_family_check(const struct xlb_config *cfg, __u32 vip_flags, const struct xlb_op *op,
			char *err, size_t errlen)
{
	struct xlb_backend shown = {.port = htons(op->be_port), .family = op->be.family};
	char be_s[XLB_VIPSTRLEN];

	if (op->be.family == op->vip.family)
		return 0;
	memcpy(shown.addr, op->be.addr, sizeof(shown.addr));
	xlb_backend_label(&shown, be_s, sizeof(be_s));
	if (cfg->forward == XLB_FWD_L2 && !(vip_flags & XLB_VIP_F_GUE)) {
		snprintf(err, errlen, "backend %s: L2 forwarding needs the VIP's address family",
			 be_s);
		return -1;
	}
	if (vip_flags & XLB_VIP_F_NAT || cfg->forward == XLB_FWD_NAT) {
		snprintf(err, errlen,
			 "backend %s: NAT does not translate between IPv4 and IPv6; the VIP "
			 "needs backends of its own family",
			 be_s);
		return -1;
	}
	return 0;
}

/* --- lines ------------------------------------------------------------------ */

int xlb_batch_split(char *line, char **words, int max, char *err, size_t errlen)
{
	char *r = line, *w = line, quote;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			r++;
		if (!*r || *r == '#')
			return n;
		if (n == max) {
			snprintf(err, errlen, "more than %d words", max);
			return -1;
		}
		words[n++] = w;
		while (*r && *r != ' ' && *r != '\t' && *r != '\r' && *r != '\n') {
			if (*r == '\\') {
				if (!r[1]) {
					snprintf(err, errlen, "a backslash ends the line");
					return -1;
				}
				*w++ = r[1];
				r += 2;
				continue;
			}
			if (*r != '\'' && *r != '"') {
				*w++ = *r++;
				continue;
			}
			quote = *r++;
			while (*r && *r != quote) {
				if (quote == '"' && *r == '\\' &&
				    (r[1] == '"' || r[1] == '\\' || r[1] == '$'))
					r++;
				*w++ = *r++;
			}
			if (!*r) {
				snprintf(err, errlen, "unterminated %c quote", quote);
				return -1;
			}
			r++;
		}
		/* The write end never passes the read end: end the word in place. */
		if (*r)
			r++;
		*w++ = '\0';
	}
}

/* The kind named by OBJECT VERB (unique prefixes), or -1 with err. */
static int find_kind(const char *object, const char *verb, char *err, size_t errlen)
{
	static const char *const objects[] = {"vip", "backend", "drain"};
	const char *obj = NULL;
	int i, hit = -1, nhit = 0;
	size_t n = strlen(object);

	for (i = 0; i < 3; i++)
		if (n && !strncmp(objects[i], object, n))
			obj = objects[i], nhit++;
	if (nhit != 1) {
		snprintf(err, errlen,
			 nhit ? "'%s' is ambiguous"
			      : "'%s' is not a command of a batch (vip, "
				"backend or drain)",
			 object);
		return -1;
	}
	if (!verb) {
		snprintf(err, errlen, "%s: missing verb", obj);
		return -1;
	}
	n = strlen(verb);
	for (i = 0, nhit = 0; i < XLB_OP_MAX; i++) {
		if (strcmp(ops[i].object, obj) || strncmp(ops[i].verb, verb, n) || !n)
			continue;
		if (!strcmp(ops[i].verb, verb)) {
			hit = i;
			nhit = 1;
			break;
		}
		hit = i;
		nhit++;
	}
	if (nhit == 1)
		return hit;
	if (nhit > 1)
		snprintf(err, errlen, "%s: '%s' is ambiguous", obj, verb);
	else if (strcmp(obj, "drain") && !strncmp("list", verb, n))
		snprintf(err, errlen, "%s %s writes nothing: not a command of a batch", obj, verb);
	else
		snprintf(err, errlen, "%s: '%s' is not a verb of a batch", obj, verb);
	return -1;
}

int xlb_batch_parse_line(char *line, struct xlb_op *op, char *err, size_t errlen)
{
	char *words[XLB_BATCH_MAX_WORDS], why[400];
	int n, kind;

	n = xlb_batch_split(line, words, XLB_BATCH_MAX_WORDS, err, errlen);
	if (n <= 0)
		return n;
	if (!strcmp(words[0], "xlb")) {
		snprintf(err, errlen, "a batch line starts with the object, not with 'xlb'");
		return -1;
	}
	if (words[0][0] == '-') {
		snprintf(err, errlen, "options such as '%s' belong on xlb's own command line",
			 words[0]);
		return -1;
	}
	kind = find_kind(words[0], n > 1 ? words[1] : NULL, err, errlen);
	if (kind < 0)
		return -1;
	n = xlb_op_parse(kind, n - 2, words + 2, op, why, sizeof(why));
	if (n == 1)
		snprintf(why, sizeof(why), "--help is not a command of a batch");
	if (n) {
		snprintf(err, errlen, "%s: %s", xlb_op_name(kind), why);
		return -1;
	}
	return 1;
}
