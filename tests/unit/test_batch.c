/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The syntax of xlb -batch (user/xlb/batch_parse.c): xlb_batch_split()
 * (blanks, '...' and "..." quotes, backslashes, # comments, its errors,
 * and a property: any words, quoted as a shell would quote them, come back
 * as they were), xlb_batch_parse_line() for every command of a batch with
 * prefixes and options (the parsed fields), and each kind of bad line
 * (the reason names the command and the problem), and
 * xlb_op_family_check() under each forwarding method.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "../../user/xlb/batch.h"
#include "../lib/check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_split(void **state)
{
	static const struct {
		const char *line;
		int n;
		const char *words[5];
	} cases[] = {
		{"", 0, {}},
		{"   \t  \n", 0, {}},
		{"# a comment", 0, {}},
		{"   # indented comment", 0, {}},
		{"vip add 1.2.3.4:80/tcp", 3, {"vip", "add", "1.2.3.4:80/tcp"}},
		{"  vip\tdel   x  \r\n", 3, {"vip", "del", "x"}},
		{"a # rest is a comment", 1, {"a"}},
		{"a#b c", 2, {"a#b", "c"}},
		{"'a b' \"c d\"", 2, {"a b", "c d"}},
		{"x'y z'w", 1, {"xy zw"}},
		{"\"a \\\" \\\\ \\$ \\n\"", 1, {"a \" \\ $ \\n"}},
		{"'a \\ b'", 1, {"a \\ b"}},
		{"a\\ b c\\#", 2, {"a b", "c#"}},
		{"'' \"\"", 2, {"", ""}},
	};
	char buf[256], err[200], *w[8];
	size_t i;
	int n, j;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].line);
		err[0] = '\0';
		n = xlb_batch_split(buf, w, 8, err, sizeof(err));
		check_int(n, cases[i].n, "split(%s): words (err '%s')", cases[i].line, err);
		for (j = 0; j < n && j < cases[i].n; j++)
			check_str(w[j], cases[i].words[j], "split(%s): word %d", cases[i].line, j);
	}
	check_done();
}

static void test_split_errors(void **state)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
		{"vip add 'open", "unterminated ' quote"},
		{"vip \"open", "unterminated \" quote"},
		{"vip add x\\", "a backslash ends the line"},
		{"1 2 3 4 5", "more than 4 words"},
	};
	char buf[256], err[200], *w[4];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].line);
		err[0] = '\0';
		check_int(xlb_batch_split(buf, w, 4, err, sizeof(err)), -1, "split(%s)",
			  cases[i].line);
		check_str(err, cases[i].want, "split(%s): reason", cases[i].line);
	}
	check_done();
}

/* xorshift: the same words on every run. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Append w to line quoted in one of three ways a shell would read back as w. */
static void quote(char *line, size_t len, const char *w, uint32_t *s)
{
	size_t off = strlen(line);
	const char *p;
	int how = rnd(s) % 3;

	if (how == 0 && !strchr(w, '\'')) {
		off += snprintf(line + off, len - off, "'%s'", w);
	} else if (how == 1) {
		line[off++] = '"';
		for (p = w; *p; p++) {
			if (*p == '"' || *p == '\\' || *p == '$')
				line[off++] = '\\';
			line[off++] = *p;
		}
		line[off++] = '"';
	} else {
		if (!*w) {
			line[off++] = '"';
			line[off++] = '"';
		}
		for (p = w; *p; p++) {
			if (strchr(" \t'\"\\#$", *p))
				line[off++] = '\\';
			line[off++] = *p;
		}
	}
	line[off++] = ' ';
	line[off] = '\0';
}

static void test_split_property(void **state)
{
	static const char chars[] = "ab:/.[]1 \t'\"\\#$-";
	char words[6][12], line[512], copy[512], err[200], *w[8];
	uint32_t seed = 0x9e3779b9, round;
	int n, nw, i, j, len;

	for (round = 0; round < 5000; round++) {
		nw = 1 + rnd(&seed) % 6;
		line[0] = '\0';
		for (i = 0; i < nw; i++) {
			len = rnd(&seed) % 11;
			for (j = 0; j < len; j++)
				words[i][j] = chars[rnd(&seed) % (sizeof(chars) - 1)];
			words[i][len] = '\0';
			quote(line, sizeof(line), words[i], &seed);
		}
		if (rnd(&seed) % 2)
			strcat(line, "# trailing comment 'x");
		snprintf(copy, sizeof(copy), "%s", line);
		n = xlb_batch_split(line, w, 8, err, sizeof(err));
		check_int(n, nw, "round %u: split(%s): words (err '%s')", round, copy,
			  n < 0 ? err : "");
		for (i = 0; i < n && i < nw; i++)
			check_str(w[i], words[i], "round %u: split(%s): word %d", round, copy, i);
		if (n != nw)
			break;
	}
	check_done();
}

/* A good line and what it parses to. */
static void test_parse(void **state)
{
	struct xlb_op op;
	char line[256], err[300];
	struct {
		const char *line;
		enum xlb_op_kind kind;
		__u32 flags, size, weight;
		int has_weight, has_state;
		enum xlb_backend_state state;
		__u16 port;
	} cases[] = {
		{"vip add 198.18.0.1:80/tcp", XLB_OP_VIP_ADD, XLB_VIP_F_SIZE_AUTO, 251},
		{"vip add [fd00::1]:53/udp --hash src --table-size 1009 --forward nat",
		 XLB_OP_VIP_ADD, XLB_VIP_F_HASH_SRC | XLB_VIP_F_NAT, 1009},
		{"v a 198.18.0.1:80/tcp --ha 5tuple --t 251 --fo dsr", XLB_OP_VIP_ADD, 0, 251},
		{"vip add 198.18.0.1:80/tcp --table-size 251 --forward gue", XLB_OP_VIP_ADD,
		 XLB_VIP_F_GUE | XLB_VIP_F_CHAINS, 251},
		{"vip add 198.18.0.1:80/tcp --table-size 251 --forward gue --flow-state stateless",
		 XLB_OP_VIP_ADD, XLB_VIP_F_GUE | XLB_VIP_F_CHAINS | XLB_VIP_F_STATELESS, 251},
		{"vip del 198.18.0.1:80/tcp", XLB_OP_VIP_DEL},
		{"backend add 198.18.0.1:80/tcp 10.0.0.1", XLB_OP_BACKEND_ADD, 0, 0, 1, 0},
		{"backend add 198.18.0.1:80/tcp 10.0.0.1:8080 --weight 0", XLB_OP_BACKEND_ADD, 0, 0,
		 0, 1, .port = 8080},
		{"b add '198.18.0.1:80/tcp' \"[fd00::2]:80\" --weight 65535", XLB_OP_BACKEND_ADD, 0,
		 0, 65535, 1, .port = 80},
		{"backend set 198.18.0.1:80/tcp 10.0.0.1 --state draining", XLB_OP_BACKEND_SET, 0,
		 0, 0, 0, 1, XLB_BE_DRAINING},
		{"backend s 198.18.0.1:80/tcp 10.0.0.1 --w 7 --s down", XLB_OP_BACKEND_SET, 0, 0, 7,
		 1, 1, XLB_BE_DOWN},
		{"backend del 198.18.0.1:80/tcp 10.0.0.1 # gone", XLB_OP_BACKEND_DEL},
		{"drain start", XLB_OP_DRAIN_START},
		{"d star", XLB_OP_DRAIN_START},
		{"dr sto", XLB_OP_DRAIN_STOP},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "%s", cases[i].line);
		err[0] = '\0';
		if (xlb_batch_parse_line(line, &op, err, sizeof(err)) != 1) {
			check_str(err, "", "parse(%s): error", cases[i].line);
			continue;
		}
		check_int(op.kind, cases[i].kind, "parse(%s): kind", cases[i].line);
		if (op.kind == XLB_OP_VIP_ADD) {
			check_int(op.vip_flags, cases[i].flags, "parse(%s): flags", cases[i].line);
			check_int(op.table_size, cases[i].size, "parse(%s): table size",
				  cases[i].line);
		}
		if (op.kind >= XLB_OP_BACKEND_ADD && op.kind <= XLB_OP_BACKEND_DEL) {
			check_int(op.weight, cases[i].weight, "parse(%s): weight", cases[i].line);
			check_int(op.has_weight, cases[i].has_weight, "parse(%s): has weight",
				  cases[i].line);
			check_int(op.has_state, cases[i].has_state, "parse(%s): has state",
				  cases[i].line);
			check_int(op.state, cases[i].state, "parse(%s): state", cases[i].line);
			check_int(op.be_port, cases[i].port, "parse(%s): backend port",
				  cases[i].line);
		}
	}
	/* The VIP and backend themselves. */
	snprintf(line, sizeof(line), "backend add [fd00::1]:80/tcp [fd00::2]:81");
	expect_int(xlb_batch_parse_line(line, &op, err, sizeof(err)), 1, "parse IPv6: %s", err);
	check_int(op.vip.family, XLB_AF_INET6, "IPv6 VIP family");
	check_int(ntohs(op.vip.port), 80, "IPv6 VIP port");
	check_int(op.vip.proto, 6, "IPv6 VIP proto");
	check_int(op.be.family, XLB_AF_INET6, "IPv6 backend family");
	check_int(ntohl(op.be.addr[3]), 2, "IPv6 backend address");
	check_done();
}

/* A bad line: -1 and a reason naming the command and the problem. */
static void test_parse_errors(void **state)
{
	static const struct {
		const char *line;
		const char *want[3];
	} cases[] = {
		{"xlb vip add 198.18.0.1:80/tcp", {"starts with the object", "'xlb'"}},
		{"-j vip list", {"options such as '-j'", "command line"}},
		{"frob add x", {"'frob' is not a command of a batch"}},
		{"vip", {"vip: missing verb"}},
		{"vip list", {"vip list writes nothing"}},
		{"backend l", {"backend l", "writes nothing"}},
		{"vip frob x", {"vip: 'frob' is not a verb of a batch"}},
		{"drain status", {"drain: 'status' is not a verb of a batch"}},
		{"drain st", {"drain: 'st' is ambiguous"}},
		{"vip add", {"vip add: missing argument", "usage: xlb vip add ADDR:PORT/PROTO"}},
		{"vip add 198.18.0.1:80/tcp extra", {"vip add: unexpected argument 'extra'"}},
		{"vip add 198.18.0.1:80/tcp --frob 1", {"vip add: unknown option '--frob'"}},
		{"vip add 198.18.0.1:80/tcp --table-size", {"option --table-size needs a value"}},
		{"vip add 198.18.0.1:80/tcp --table-size 4", {"--table-size '4'", "prime"}},
		{"vip add 198.18.0.1:80/tcp --hash md5", {"--hash 'md5' is not 5tuple or src"}},
		{"vip add 198.18.0.1:80/tcp --forward gre",
		 {"--forward 'gre' is not dsr, nat or gue"}},
		{"vip add 198.18.0.1:80/sctp", {"vip add:", "sctp"}},
		{"vip del 300.1.1.1:80/tcp", {"vip del:", "300.1.1.1"}},
		{"backend add 198.18.0.1:80/tcp", {"backend add: missing argument"}},
		{"backend add 198.18.0.1:80/tcp nohost", {"backend add: backend:", "nohost"}},
		{"backend add [fd00::1]:80/tcp 10.0.0.1", {"10.0.0.1", "IPv6 VIP needs IPv6"}},
		{"backend add 198.18.0.1:80/tcp 10.0.0.1 --weight 65536",
		 {"weight '65536' is not a number 0-65535"}},
		{"backend add 198.18.0.1:80/tcp 10.0.0.1 --weight -1", {"weight '-1'"}},
		{"backend add 198.18.0.1:80/tcp 10.0.0.1 --state down",
		 {"unknown option '--state'"}},
		{"backend set 198.18.0.1:80/tcp 10.0.0.1",
		 {"backend set: give --weight and/or --state"}},
		{"backend set 198.18.0.1:80/tcp 10.0.0.1 --state up",
		 {"state 'up' is not active, draining or down"}},
		{"backend set 198.18.0.1:80/tcp 10.0.0.1 --help", {"--help is not a command"}},
		{"drain start now", {"drain start: unexpected argument 'now'"}},
		{"vip add 'x", {"unterminated ' quote"}},
	};
	char line[256], err[300];
	struct xlb_op op;
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "%s", cases[i].line);
		err[0] = '\0';
		check_int(xlb_batch_parse_line(line, &op, err, sizeof(err)), -1, "parse(%s)",
			  cases[i].line);
		for (j = 0; j < 3 && cases[i].want[j]; j++)
			check_contains(err, cases[i].want[j], "parse(%s): reason", cases[i].line);
	}
	check_done();
}

/* Blank and comment lines parse to nothing. */
static void test_parse_nothing(void **state)
{
	static const char *const lines[] = {"", "\n", "  # vip add x", "#"};
	char line[64], err[200];
	struct xlb_op op;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		snprintf(line, sizeof(line), "%s", lines[i]);
		check_int(xlb_batch_parse_line(line, &op, err, sizeof(err)), 0, "parse(%s)",
			  lines[i]);
	}
	check_done();
}

static void test_family(void **state)
{
	static const struct {
		__u8 forward;
		__u32 vip_flags;
		const char *line, *want; /* NULL: allowed */
	} cases[] = {
		{XLB_FWD_IPIP, 0, "backend add 198.18.0.1:80/tcp fd00::2", NULL},
		{XLB_FWD_IPIP, 0, "backend add 198.18.0.1:80/tcp 10.0.0.2", NULL},
		{XLB_FWD_L2, 0, "backend add 198.18.0.1:80/tcp fd00::2", "L2 forwarding"},
		{XLB_FWD_L2, 0, "backend add 198.18.0.1:80/tcp 10.0.0.2", NULL},
		{XLB_FWD_NAT, 0, "backend add 198.18.0.1:80/tcp fd00::2", "NAT does not translate"},
		{XLB_FWD_IPIP, XLB_VIP_F_NAT, "backend add 198.18.0.1:80/tcp [fd00::2]:80",
		 "NAT does not translate"},
		{XLB_FWD_NAT, 0, "backend add [fd00::1]:80/tcp fd00::2", NULL},
		{XLB_FWD_L2, XLB_VIP_F_GUE, "backend add 198.18.0.1:80/tcp fd00::2", NULL},
	};
	struct xlb_config cfg = {};
	char line[128], err[300];
	struct xlb_op op;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "%s", cases[i].line);
		expect_int(xlb_batch_parse_line(line, &op, err, sizeof(err)), 1, "parse(%s): %s",
			   cases[i].line, err);
		cfg.forward = cases[i].forward;
		err[0] = '\0';
		ret = xlb_op_family_check(&cfg, cases[i].vip_flags, &op, err, sizeof(err));
		check_int(ret, cases[i].want ? -1 : 0, "family(%s, forward %u): %s", cases[i].line,
			  cases[i].forward, err);
		if (cases[i].want)
			check_contains(err, cases[i].want, "family(%s): reason", cases[i].line);
	}
	check_done();
}

/* A VIP without --forward takes the node's GUE; --forward says otherwise. */
static void test_vip_flags_node(void **state)
{
	static const struct {
		__u32 forward;
		const char *line;
		__u32 want;
	} cases[] = {
		{XLB_FWD_GUE, "vip add 198.18.0.1:80/tcp --table-size 251",
		 XLB_VIP_F_GUE | XLB_VIP_F_CHAINS},
		{XLB_FWD_GUE, "vip add 198.18.0.1:80/tcp --table-size 251 --forward dsr", 0},
		{XLB_FWD_GUE, "vip add 198.18.0.1:80/tcp --table-size 251 --forward nat",
		 XLB_VIP_F_NAT},
		{XLB_FWD_IPIP, "vip add 198.18.0.1:80/tcp --table-size 251", 0},
		{XLB_FWD_L2, "vip add 198.18.0.1:80/tcp --table-size 251 --forward gue",
		 XLB_VIP_F_GUE | XLB_VIP_F_CHAINS},
		{XLB_FWD_GUE, "vip add 198.18.0.1:80/tcp --table-size 251 --flow-state stateless",
		 XLB_VIP_F_GUE | XLB_VIP_F_CHAINS | XLB_VIP_F_STATELESS},
		{XLB_FWD_IPIP, "vip add 198.18.0.1:80/tcp --table-size 251 --flow-state stateless",
		 ~0U},
	};
	struct xlb_config cfg = {};
	char line[128], err[300];
	struct xlb_op op;
	__u32 flags;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "%s", cases[i].line);
		expect_int(xlb_batch_parse_line(line, &op, err, sizeof(err)), 1, "parse(%s): %s",
			   cases[i].line, err);
		cfg.forward = cases[i].forward;
		err[0] = '\0';
		ret = xlb_op_vip_flags(&cfg, &op, &flags, err, sizeof(err));
		check_int(ret, cases[i].want == ~0U ? -1 : 0, "flags(%s, forward %u): %s",
			  cases[i].line, cases[i].forward, err);
		if (!ret)
			check_int(flags, cases[i].want, "flags(%s, forward %u)", cases[i].line,
				  cases[i].forward);
	}
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),	       cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_split_property), cmocka_unit_test(test_parse),
		cmocka_unit_test(test_vip_flags_node), cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_nothing),  cmocka_unit_test(test_family),
	};

	return check_run_tests("batch", tests, NULL, NULL);
}
