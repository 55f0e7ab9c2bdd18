/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Configuration parsing benchmark: what reading one large configuration
 * costs xlbd before it writes a map. The document is the one
 * bench/scale.sh writes (VIPS stream routes, each with its own upstream of
 * NODES static nodes in the hash form), generated here, or a file (-f).
 *
 * Each step's CPU time (the machine is shared: wall time would count
 * others' work) over RUNS runs (mean, min, max):
 *   libyaml events   yaml_parser_parse() over the text: the floor
 *   libyaml document yaml_parser_load(): libyaml's node graph
 *   xlb_yaml_doc_load the same graph in a few arrays (config/yamldoc.c)
 *   xlb_conf_parse   the whole validating parse into struct xlb_conf
 *   xlb_yaml_to_json the JSON tree that xlbd keeps for the Admin API
 * and the heap in use after each (mallinfo2), i.e. what the result keeps.
 *
 *   build/bench/bench_parse [-r RUNS] [-f FILE | VIPS [NODES]]
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "config/config.h"
#include "config/yamldoc.h"
#include "config/yamljson.h"

#define BENCH_RUNS_MAX 50

/* CPU seconds of this process. */
static double bench_cpu(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

/* The document bench/scale.sh's gen_conf writes; malloc'd. */
static char *bench_gen(unsigned int vips, unsigned int nodes)
{
	size_t cap = (size_t)vips * (nodes * 32 + 160) + 4096, len = 0;
	char *buf = malloc(cap);
	unsigned int i, j;

	if (!buf)
		return NULL;
#define OUT(...) (len += snprintf(buf + len, cap - len, __VA_ARGS__))
	OUT("xlb:\n  interfaces: [xlbs0a]\n  forward: ipip\n  encap_src: 198.18.200.1\n"
	    "  flows: 65536\n  log_level: info\nupstreams:\n");
	for (i = 0; i < vips; i++) {
		OUT("  - id: u%u\n    type: roundrobin\n    nodes:\n", i);
		for (j = 0; j < nodes; j++)
			OUT("      \"10.%u.%u.%u:8000\": 1\n", i / 250, i % 250, 1 + j);
	}
	OUT("stream_routes:\n");
	for (i = 0; i < vips; i++)
		OUT("  - {id: %u, server_addr: 198.19.%u.%u, server_port: 80, upstream_id: u%u}\n",
		    i + 1, i / 250, 1 + i % 250, i);
#undef OUT
	return buf;
}

static char *bench_read(const char *file)
{
	struct xlb_conf_errors errs;
	char *text;
	int err;

	err = xlb_conf_read(file, &text, &errs);
	if (err) {
		fprintf(stderr, "bench_parse: %s: %s\n", file, errs.n ? errs.e[0].msg : "?");
		return NULL;
	}
	return text;
}

/* One step: 0 or -1. */
static int step_events(const char *text)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	int done = 0, err = 0;

	if (!yaml_parser_initialize(&yp))
		return -1;
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, strlen(text));
	while (!done) {
		if (!yaml_parser_parse(&yp, &ev)) {
			err = -1;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	return err;
}

static int step_document(const char *text)
{
	yaml_parser_t yp;
	yaml_document_t doc;

	if (!yaml_parser_initialize(&yp))
		return -1;
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&yp, &doc)) {
		yaml_parser_delete(&yp);
		return -1;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&yp);
	return 0;
}

static int step_xlbdoc(const char *text)
{
	struct xlb_yaml_doc d;
	yaml_parser_t yp;
	int ok;

	if (!yaml_parser_initialize(&yp))
		return -1;
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, strlen(text));
	ok = xlb_yaml_doc_load(&yp, &d);
	if (ok)
		xlb_yaml_doc_free(&d);
	yaml_parser_delete(&yp);
	return ok ? 0 : -1;
}

static struct xlb_conf_errors bench_errs;

static int step_conf(const char *text, size_t *kept)
{
	struct xlb_conf conf;
	size_t before = mallinfo2().uordblks;
	char buf[512];

	if (xlb_conf_parse(text, &conf, &bench_errs)) {
		xlb_conf_error_str(NULL, &bench_errs.e[0], buf, sizeof(buf));
		fprintf(stderr, "bench_parse: %s\n", buf);
		return -1;
	}
	*kept = mallinfo2().uordblks - before;
	xlb_conf_free(&conf);
	return 0;
}

static int step_json(const char *text, size_t *kept)
{
	size_t before = mallinfo2().uordblks;
	json_t *doc = xlb_yaml_to_json(text);

	if (!doc)
		return -1;
	*kept = mallinfo2().uordblks - before;
	json_decref(doc);
	return 0;
}

enum { S_EVENTS, S_DOCUMENT, S_XLBDOC, S_CONF, S_JSON, S_MAX };

static const char *const step_names[S_MAX] = {
	"libyaml events (floor)", "libyaml document", "xlb_yaml_doc_load",
	"xlb_conf_parse",	  "xlb_yaml_to_json",
};

static int run_step(int s, const char *text, size_t *kept)
{
	*kept = 0;
	switch (s) {
	case S_EVENTS:
		return step_events(text);
	case S_DOCUMENT:
		return step_document(text);
	case S_XLBDOC:
		return step_xlbdoc(text);
	case S_CONF:
		return step_conf(text, kept);
	default:
		return step_json(text, kept);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_parse [-r RUNS] [-f FILE | VIPS [NODES]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long vips = 10000, nodes = 10, runs = 5;
	double t, t0, sum, lo = 0, hi = 0;
	const char *file = NULL;
	size_t kept = 0;
	char *text, *end;
	int opt, s;
	unsigned long r;

	while ((opt = getopt(argc, argv, "r:f:")) != -1) {
		switch (opt) {
		case 'r':
			runs = strtoul(optarg, &end, 10);
			if (*end || runs < 1 || runs > BENCH_RUNS_MAX) {
				fprintf(stderr, "bench_parse: -r: 1-%d runs\n", BENCH_RUNS_MAX);
				return 2;
			}
			break;
		case 'f':
			file = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind < argc) {
		if (file)
			usage();
		vips = strtoul(argv[optind], &end, 10);
		if (*end || vips < 1 || vips > XLB_MAX_VIPS) {
			fprintf(stderr, "bench_parse: VIPS: 1-%d\n", XLB_MAX_VIPS);
			return 2;
		}
		if (optind + 1 < argc) {
			nodes = strtoul(argv[optind + 1], &end, 10);
			if (*end || nodes < 1 || nodes > 250) {
				fprintf(stderr, "bench_parse: NODES: 1-250\n");
				return 2;
			}
		}
		if (optind + 2 < argc)
			usage();
	}
	text = file ? bench_read(file) : bench_gen(vips, nodes);
	if (!text)
		return 1;
	if (file)
		printf("%s: %zu KB of YAML, %lu runs\n\n", file, strlen(text) / 1024, runs);
	else
		printf("%lu stream routes x %lu static nodes (bench/scale.sh's file): %zu KB of "
		       "YAML, %lu runs\n\n",
		       vips, nodes, strlen(text) / 1024, runs);
	printf("| step | mean ms | min ms | max ms | heap kept, MB |\n");
	printf("|---|---|---|---|---|\n");
	for (s = 0; s < S_MAX; s++) {
		sum = 0;
		for (r = 0; r < runs; r++) {
			t0 = bench_cpu();
			if (run_step(s, text, &kept)) {
				fprintf(stderr, "bench_parse: %s failed\n", step_names[s]);
				free(text);
				return 1;
			}
			t = bench_cpu() - t0;
			sum += t;
			lo = r && lo < t ? lo : t;
			hi = r && hi > t ? hi : t;
		}
		printf("| %s | %.1f | %.1f | %.1f | %.1f |\n", step_names[s], sum / runs * 1e3,
		       lo * 1e3, hi * 1e3, kept / 1048576.0);
	}
	free(text);
	return 0;
}
