// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlb: the command line of the xlb load balancer. Grammar like ip(8) and
 * bpftool(8): xlb [OPTIONS] OBJECT VERB [ARGS]. Works on the pinned maps
 * directly, with or without the agent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/attach.h"
#include "cli.h"
#include "base/log.h"
#include "dataplane/maps.h"

static const struct xlb_cmd objects[] = {
	{"attach", xlb_cmd_attach,
	 "attach DEV [--mode native|generic] [--forward ipip|l2|nat|gue] [--encap-src CIDR] "
	 "[--encap-src6 CIDR] [--nat-src ADDR] [--nat-src6 ADDR] [--nat-ports MIN-MAX] "
	 "[--nat-conns N] [--seed N] [--flows N] [--flows6 N] [--table-slots N] [--backends N] "
	 "[--gue-port P]"},
	{"detach", xlb_cmd_detach, "detach DEV [--keep-maps]"},
	{"status", xlb_cmd_status, "status"},
	{"check", xlb_cmd_check, "check [--load xlb_lb|xlb_decap]       (can this kernel run xlb)"},
	{"vip", xlb_cmd_vip, "vip {add | del | list} ..."},
	{"backend", xlb_cmd_backend, "backend {add | set | del | list} ..."},
	{"stats", xlb_cmd_stats,
	 "stats [--watch [SECONDS]] [--count N] | stats --zero [--vip VIP]"},
	{"flows", xlb_cmd_flows, "flows [--vip VIP] [--limit N]"},
	{"pick", xlb_cmd_pick, "pick VIP CLIENT_ADDR:PORT [--dport PORT]"},
	{"health", xlb_cmd_health,
	 "health [--admin URL] [--api-key KEY]          (from the agent)"},
	{"upstream", xlb_cmd_upstream, "upstream {list | show ID} [--admin URL] [--api-key KEY]"},
	{"reload", xlb_cmd_reload,
	 "reload [--admin URL] [--api-key KEY]          (the agent re-reads its file)"},
	{"drain", xlb_cmd_drain,
	 "drain {start | stop | status | check | wait [--idle S] [--timeout S]}"},
	{"save", xlb_cmd_save,
	 "save                  (the batch that recreates the VIPs and backends)"},
	{"decap", xlb_cmd_decap,
	 "decap {attach DEV | detach DEV | vip {add | del} ADDR | vip list | stats}"},
	{}};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xlb [-j] [-d] [--pin-dir DIR] OBJECT VERB [ARGS]\n"
		"       xlb [-j] [-d] [--pin-dir DIR] -batch FILE [-force]\n"
		"  -j, --json       JSON output (errors too)\n"
		"  -d, --debug      show libbpf/libxdp debug output\n"
		"  --pin-dir DIR    pinned maps (default $XLB_PIN_DIR or %s)\n"
		"  -b, -batch FILE  one command a line ('-': standard input), checked whole,\n"
		"                   applied under one lock; nothing applied on any error\n"
		"  -force           with -batch: apply the good lines, report the bad ones\n"
		"Objects:\n",
		XLB_PIN_DIR_DEFAULT);
	for (const struct xlb_cmd *k = objects; k->name; k++)
		fprintf(f, "  xlb %s\n", k->help);
	fprintf(f, "Exit status: 0 success, 1 usage error, 2 operation failed.\n");
}

int main(int argc, char **argv)
{
	struct xlb_cli c = {.prog = "xlb", .pin_dir = xlb_pin_dir_default()};
	enum xlb_log_level level = XLB_LOG_WARN;
	const char *batch = NULL;
	int i, n, force = 0;

	/* Global options are accepted anywhere on the line, and removed. */
	for (i = 1, n = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			c.json = 1;
		} else if (!strcmp(argv[i], "-d") || !strcmp(argv[i], "--debug")) {
			level = XLB_LOG_DEBUG;
		} else if (!strcmp(argv[i], "--pin-dir")) {
			if (i + 1 == argc)
				return xlb_cli_err(&c, XLB_EXIT_USAGE,
						   "option --pin-dir needs a value");
			c.pin_dir = argv[++i];
		} else if (!strcmp(argv[i], "-batch") || !strcmp(argv[i], "--batch") ||
			   !strcmp(argv[i], "-b")) {
			if (i + 1 == argc)
				return xlb_cli_err(&c, XLB_EXIT_USAGE,
						   "option %s needs a file ('-': standard input)",
						   argv[i]);
			batch = argv[++i];
		} else if (!strcmp(argv[i], "-force") || !strcmp(argv[i], "--force")) {
			force = 1;
		} else {
			argv[n++] = argv[i];
		}
	}
	argc = n;
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return XLB_EXIT_OK;
	}
	if (argc > 1 && argv[1][0] == '-')
		return xlb_cli_err(&c, XLB_EXIT_USAGE, "unknown option '%s' (try 'xlb --help')",
				   argv[1]);
	xlb_log_setup(level, 0);
	xlb_log_route_libs();
	xlb_libxdp_bpffs(c.pin_dir);
	if (force && !batch)
		return xlb_cli_err(&c, XLB_EXIT_USAGE, "-force goes with -batch FILE");
	if (batch && argc > 1)
		return xlb_cli_err(&c, XLB_EXIT_USAGE,
				   "-batch takes its commands from the file, not '%s'", argv[1]);
	if (batch)
		return xlb_cmd_batch(&c, batch, force);
	/* With -j, a missing object is a JSON error like any other. */
	if (argc == 1 && !c.json) {
		usage(stderr);
		return XLB_EXIT_USAGE;
	}
	return xlb_cli_dispatch(&c, NULL, objects, argc - 1, argv + 1);
}
