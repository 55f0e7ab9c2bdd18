// SPDX-License-Identifier: GPL-2.0-only
/*
 * /metrics text (user/lib/agent/metrics.c) from made-up snapshots: every
 * family has HELP and TYPE before its samples and appears once (samples of
 * one family together), counters and only counters end in _total, one
 * health series per node with the state's number, per-upstream counts and
 * sums that add up, label values escaped, text past the writer's buffer
 * intact, and `promtool check metrics` passing on both modes' text; the
 * setting xlb.metrics.per_node (default true, a bad value named).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/buffer.h>

#include "agent/agent.h"
#include "agent/metrics.h"
#include "config/config.h"
#include "health/health.h"
#include "../lib/check.h"

/* A snapshot of n nodes, upstreams of per_up nodes each; every field set. */
static void snap_make(struct xlb_agent_snapshot *s, size_t n, size_t per_up)
{
	static const char *const kinds[XLB_EVK_MAX] = {"", "syn_retransmit", "client_rst",
						       "node_rst", "node_ok"};
	static const char *const regs[] = {"dns", "consul"};
	struct xlb_agent_node_view *v;
	struct xlb_agent_upstream_view *u;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->nodes = calloc(n + 1, sizeof(*s->nodes));
	s->upstreams = calloc(n / per_up + 2, sizeof(*s->upstreams));
	s->vips = calloc(n / per_up + 2, sizeof(*s->vips));
	s->registries = calloc(2, sizeof(*s->registries));
	expect_int(s->nodes && s->upstreams && s->vips && s->registries, 1, "allocations");
	for (i = 0; i < n; i++) {
		v = &s->nodes[s->nnodes++];
		snprintf(v->label, sizeof(v->label), "10.%zu.%zu.%zu:8080", i >> 16, (i >> 8) & 255,
			 i & 255);
		v->health = i % XLB_H_MAX;
		v->probes = i;
		v->latency_s = 0.001;
		v->has_traffic = i % 7 != 0;
		v->traffic = (struct xlb_traffic){i * 10, i * 1000, i};
		v->nat = i % 5 == 0;
		v->synack_ewma_s = 0.000125;
		v->synacks = i;
		v->node_rsts = 1;
		if (i % per_up == 0) {
			u = &s->upstreams[s->nupstreams];
			snprintf(u->id, sizeof(u->id), "u%zu", s->nupstreams);
			u->members = calloc(per_up, sizeof(*u->members));
			expect_int(u->members != NULL, 1, "members");
			snprintf(s->vips[s->nvips].name, sizeof(s->vips[0].name),
				 "198.18.%zu.%zu:80/tcp", s->nvips >> 8, s->nvips & 255);
			s->vips[s->nvips++].traffic = (struct xlb_traffic){5, 500, 2};
			s->nupstreams++;
		}
		u = &s->upstreams[s->nupstreams - 1];
		u->members[u->nmembers++].node = (long)i;
	}
	s->have_reasons = 1;
	/* Names must differ within a family: one per row. */
	for (i = 0; i < XLB_R_MAX; i++) {
		char *name = malloc(16);

		expect_int(name != NULL, 1, "reason name");
		snprintf(name, 16, "r%zu", i);
		s->reasons[i] = (struct xlb_agent_count){name, i};
	}
	for (i = XLB_EVK_NONE + 1; i < XLB_EVK_MAX; i++)
		s->passive[i] = (struct xlb_agent_count){kinds[i], i};
	s->netlink[0] = (struct xlb_agent_count){"neigh", 1};
	s->netlink[1] = (struct xlb_agent_count){"link", 2};
	s->netlink[2] = (struct xlb_agent_count){"route", 3};
	s->latency[0] = (struct xlb_agent_latency){"passive", 3, 0.001, 0.002, 0.003};
	s->latency[1] = (struct xlb_agent_latency){"netlink", 0, 0, 0, 0};
	for (i = 0; i < 2; i++)
		s->registries[s->nregistries++] =
			(struct xlb_agent_registry_view){regs[i], 4, 3, 1, 2};
	s->etcd = (struct xlb_agent_etcd_view){.on = 1, .connected = 1, .revision = 42};
	s->nat_capacity = 131072;
	s->nat_bytes = 1 << 20;
	s->nat_entry_bytes = 192;
}

static void snap_free(struct xlb_agent_snapshot *s)
{
	size_t i;

	for (i = 0; i < XLB_R_MAX; i++)
		free((char *)s->reasons[i].name);
	xlb_agent_snapshot_free(s);
}

/* The text of s, NUL-terminated; *len its length. */
static char *render(const struct xlb_agent_snapshot *s, int per_node, size_t *len)
{
	struct evbuffer *out = evbuffer_new();
	char *text;

	expect_int(out != NULL, 1, "evbuffer");
	expect_int(xlb_metrics_write(out, s, per_node), 0, "xlb_metrics_write");
	*len = evbuffer_get_length(out);
	text = malloc(*len + 1);
	expect_int(text != NULL, 1, "text");
	evbuffer_remove(out, text, *len);
	text[*len] = '\0';
	evbuffer_free(out);
	return text;
}

/* The metric name of a sample line, into name. */
static void sample_name(const char *line, char *name, size_t len)
{
	size_t n = strcspn(line, "{ ");

	snprintf(name, len, "%.*s", (int)n, line);
}

#define FAMILIES_MAX 256

/*
 * The format's rules over text: "# HELP NAME", then "# TYPE NAME TYPE",
 * then NAME's samples only; no NAME twice; _total for counters only. The
 * number of samples of family want goes to *nwant.
 */
static void check_format(const char *text, const char *mode, const char *want, size_t *nwant)
{
	static char seen[FAMILIES_MAX][96];
	char cur[96] = "", name[96], type[32], line[1024];
	const char *p = text, *nl;
	size_t nseen = 0, i, lineno = 0;
	int helped = 0, typed = 0;

	*nwant = 0;
	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		expect_int(nl != NULL, 1, "%s: text ends with a newline", mode);
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		lineno++;
		if (!strncmp(line, "# HELP ", 7)) {
			sample_name(line + 7, cur, sizeof(cur));
			for (i = 0; i < nseen; i++)
				if (!strcmp(seen[i], cur))
					check_str(cur, "(a new family)",
						  "%s: line %zu: family again", mode, lineno);
			expect_int(nseen < FAMILIES_MAX, 1, "%s: families", mode);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", cur);
			helped = 1;
			typed = 0;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			expect_int(sscanf(line + 7, "%95s %31s", name, type), 2, "%s: line %zu",
				   mode, lineno);
			check_str(name, cur, "%s: line %zu: TYPE after HELP of its family", mode,
				  lineno);
			check_int(helped && !typed, 1, "%s: line %zu: one TYPE after HELP", mode,
				  lineno);
			typed = 1;
			i = strlen(name);
			check_int(i > 6 && !strcmp(name + i - 6, "_total"),
				  !strcmp(type, "counter"),
				  "%s: %s (%s): _total if and only if a counter", mode, name, type);
			continue;
		}
		sample_name(line, name, sizeof(name));
		check_str(name, cur, "%s: line %zu: sample within its family", mode, lineno);
		check_int(typed, 1, "%s: line %zu: sample after TYPE", mode, lineno);
		if (!strcmp(name, want))
			(*nwant)++;
	}
}

/* The value of sample "NAME{LABELS}" in text; -1 when absent. */
static double value_of(const char *text, const char *series)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", series);
	p = strstr(text, key);
	return p ? strtod(p + strlen(key), NULL) : -1;
}

/*
 * The text of s in a mode, checked by check_format(), with want_n samples
 * of family want and no series starting with none (free it).
 */
static char *render_checked(const struct xlb_agent_snapshot *s, int per_node, const char *want,
			    size_t want_n, const char *none, size_t *len)
{
	const char *mode = per_node ? "per node" : "per upstream";
	char *text = render(s, per_node, len), bad[64];
	size_t n;

	check_format(text, mode, want, &n);
	check_int((long long)n, (long long)want_n, "%s: samples of %s", mode, want);
	snprintf(bad, sizeof(bad), "\n%s", none);
	check_int(strstr(text, bad) != NULL, 0, "%s: no series %s...", mode, none);
	return text;
}

static void test_format(void **state)
{
	struct xlb_agent_snapshot s;
	size_t len;

	snap_make(&s, 100, 10);
	/* One health sample a node; one a state per upstream. */
	free(render_checked(&s, 1, "xlb_node_health", 100, "xlb_upstream_", &len));
	free(render_checked(&s, 0, "xlb_upstream_nodes", 10 * XLB_H_MAX, "xlb_node_", &len));
	snap_free(&s);
	check_done();
}

static void test_values(void **state)
{
	struct xlb_agent_snapshot s;
	char series[128], *text;
	unsigned long long sum;
	size_t len, i;
	unsigned int h;

	snap_make(&s, 40, 8);
	text = render(&s, 1, &len);
	for (i = 0; i < s.nnodes; i++) {
		snprintf(series, sizeof(series), "xlb_node_health{node=\"%s\"}", s.nodes[i].label);
		check_dbl(value_of(text, series), 3 - s.nodes[i].health, "%s", series);
		snprintf(series, sizeof(series), "xlb_node_new_flows_total{node=\"%s\"}",
			 s.nodes[i].label);
		check_dbl(value_of(text, series), s.nodes[i].has_traffic ? (double)i : -1, "%s",
			  series);
	}
	check_int(xlb_metrics_health_value(XLB_H_HEALTHY), 3, "healthy");
	check_int(xlb_metrics_health_value(XLB_H_UNHEALTHY), 0, "unhealthy");
	check_dbl(value_of(text, "xlb_nodes{state=\"healthy\"}"), 10, "xlb_nodes healthy");
	check_dbl(value_of(text, "xlb_probes_total"), 40 * 39 / 2, "xlb_probes_total");
	check_dbl(value_of(text, "xlb_etcd_revision"), 42, "xlb_etcd_revision");
	free(text);

	text = render(&s, 0, &len);
	for (h = 0; h < XLB_H_MAX; h++) {
		snprintf(series, sizeof(series), "xlb_upstream_nodes{upstream=\"u1\",state=\"%s\"}",
			 xlb_health_name(h));
		check_dbl(value_of(text, series), 2, "%s", series);
	}
	/* u1 has nodes 8..15; node 14 has no traffic. */
	for (sum = 0, i = 8; i < 16; i++)
		sum += i == 14 ? 0 : i * 1000;
	check_dbl(value_of(text, "xlb_upstream_bytes_total{upstream=\"u1\"}"), (double)sum,
		  "bytes of u1");
	check_dbl(value_of(text, "xlb_upstream_probes_total{upstream=\"u1\"}"), 8 * 23 / 2,
		  "probes of u1");
	free(text);
	snap_free(&s);
	check_done();
}

static void test_escape(void **state)
{
	struct xlb_agent_snapshot s;
	size_t len;
	char *text;

	snap_make(&s, 2, 2);
	snprintf(s.upstreams[0].id, sizeof(s.upstreams[0].id), "a\"b\\c\nd");
	text = render(&s, 0, &len);
	check_contains(text, "xlb_upstream_probes_total{upstream=\"a\\\"b\\\\c\\nd\"} 1\n",
		       "escaped label");
	free(text);
	snap_free(&s);
	check_done();
}

/* 50,000 nodes: text many times the writer's buffer, every sample there. */
static void test_large(void **state)
{
	struct xlb_agent_snapshot s;
	size_t len;
	char *text;

	snap_make(&s, 50000, 10);
	text = render_checked(&s, 1, "xlb_node_health", 50000, "xlb_upstream_", &len);
	check_dbl(value_of(text, "xlb_node_health{node=\"10.0.195.79:8080\"}"), 3 - 49999 % 4,
		  "the last node");
	check_int(len / 50000 <= 150, 1, "large: %zu bytes a node (at most 150)", len / 50000);
	free(text);
	snap_free(&s);
	check_done();
}

/* promtool check metrics < text: its exit status; its complaints printed. */
static int promtool(const char *text, size_t len)
{
	char path[] = "/tmp/xlb-metrics-XXXXXX", cmd[256];
	int fd = mkstemp(path), rc;

	expect_int(fd >= 0, 1, "mkstemp");
	expect_int(write(fd, text, len) == (ssize_t)len, 1, "write %s", path);
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	rc = system(cmd);
	unlink(path);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void test_promtool(void **state)
{
	struct xlb_agent_snapshot s;
	size_t len;
	char *text;
	int mode;

	/* A dependency (scripts/install-deps.sh): missing is a failure. */
	expect_int(system("command -v promtool >/dev/null"), 0,
		   "promtool on PATH (Debian package prometheus; make deps)");
	snap_make(&s, 30, 3);
	for (mode = 0; mode < 2; mode++) {
		text = render(&s, mode, &len);
		check_int(promtool(text, len), 0, "promtool check metrics (%s)",
			  mode ? "per node" : "per upstream");
		free(text);
	}
	snap_free(&s);
	check_done();
}

static void test_setting(void **state)
{
	static const struct {
		const char *metrics; /* the xlb.metrics line; "" none */
		int err, per_node;
		const char *msg;
	} cases[] = {
		{"", 0, 1, NULL},
		{"  metrics: {}\n", 0, 1, NULL},
		{"  metrics: {per_node: false}\n", 0, 0, NULL},
		{"  metrics: {per_node: true}\n", 0, 1, NULL},
		{"  metrics: {per_node: maybe}\n", -EINVAL, 0, "xlb.metrics.per_node"},
		{"  metrics: {per_nod: false}\n", -EINVAL, 0, "did you mean 'per_node'"},
		{"  metrics: false\n", -EINVAL, 0, "xlb.metrics"},
	};
	struct xlb_conf_errors errs;
	struct xlb_conf conf;
	char text[512], line[512];
	size_t i;
	int err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "xlb:\n%s  log_level: info\nupstreams:\n  - id: web\n"
			 "    nodes: {\"10.0.0.1:80\": 1}\nstream_routes: []\n",
			 cases[i].metrics);
		memset(&conf, 0, sizeof(conf));
		err = xlb_conf_parse(text, &conf, &errs);
		check_int(err, cases[i].err, "case %zu: xlb_conf_parse", i);
		if (!err)
			check_int(conf.xlb.metrics_per_node, cases[i].per_node,
				  "case %zu: per_node", i);
		if (cases[i].msg) {
			line[0] = '\0';
			if (errs.n)
				xlb_conf_error_str("f.yaml", &errs.e[0], line, sizeof(line));
			check_contains(line, cases[i].msg, "case %zu: the problem", i);
		}
		xlb_conf_free(&conf);
	}
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),	 cmocka_unit_test(test_values),
		cmocka_unit_test(test_escape),	 cmocka_unit_test(test_large),
		cmocka_unit_test(test_promtool), cmocka_unit_test(test_setting),
	};

	return check_run_tests("metrics", tests, NULL, NULL);
}
