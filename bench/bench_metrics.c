// SPDX-License-Identifier: GPL-2.0-only
/*
 * /metrics formatter benchmark: xlb_metrics_write() over a made-up agent
 * snapshot of N nodes (default 100,000: 10,000 upstreams and VIPs of 10
 * nodes each, IPv4 node labels of 14 to 17 characters, counters of
 * realistic widths), in both modes. Prints the text's size per node, its
 * series per node and the time per scrape (median of 9), against the
 * targets 150 bytes and 0.3 s at 100,000 nodes. The agent's snapshot
 * (the map reads) is not in this figure: bench/metrics.sh measures a
 * live xlbd end to end.
 *
 *   bench_metrics [NODES [NODES_PER_UPSTREAM]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>

#include "agent/agent.h"
#include "agent/metrics.h"

#define REPS	     9
#define TARGET_BYTES 150
#define TARGET_S     0.3

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Fills s as the agent would for n nodes in upstreams of per nodes. */
static int fake_snapshot(struct xlb_agent_snapshot *s, size_t n, size_t per)
{
	static char reason_names[XLB_R_MAX][16];
	static const char *const kinds[XLB_EVK_MAX] = {"", "syn_retransmit", "client_rst",
						       "node_rst", "node_ok"};
	size_t nup = (n + per - 1) / per, i, u;
	struct xlb_agent_node_view *v;

	memset(s, 0, sizeof(*s));
	s->nodes = calloc(n + 1, sizeof(*s->nodes));
	s->upstreams = calloc(nup + 1, sizeof(*s->upstreams));
	s->vips = calloc(nup + 1, sizeof(*s->vips));
	if (!s->nodes || !s->upstreams || !s->vips)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		v = &s->nodes[s->nnodes++];
		/* 10.1.0.0/16 onwards, ports 8000-8009: like a real address plan. */
		snprintf(v->label, sizeof(v->label), "10.%zu.%zu.%zu:%zu", 1 + i / 65536 % 250,
			 i / 256 % 256, i % 256, 8000 + i % 10);
		v->health = i % 97 ? 0 : 3;
		v->probes = 86400 + i % 1000;
		v->has_traffic = 1;
		v->traffic = (struct xlb_traffic){123456789 + i, 98765432101ULL + i, 1234567 + i};
	}
	for (u = 0; u < nup; u++) {
		snprintf(s->upstreams[u].id, sizeof(s->upstreams[u].id), "svc-%zu", u);
		s->upstreams[u].members = calloc(per, sizeof(*s->upstreams[u].members));
		if (!s->upstreams[u].members)
			return -ENOMEM;
		s->nupstreams++;
		for (i = u * per; i < n && i < (u + 1) * per; i++)
			s->upstreams[u].members[s->upstreams[u].nmembers++].node = (long)i;
		snprintf(s->vips[u].name, sizeof(s->vips[u].name), "198.%zu.%zu.%zu:443/tcp",
			 18 + u / 65536, u / 256 % 256, u % 256);
		s->vips[u].traffic = (struct xlb_traffic){1234567890, 987654321012ULL, 12345678};
		s->nvips++;
	}
	s->have_reasons = 1;
	for (i = 0; i < XLB_R_MAX; i++) {
		snprintf(reason_names[i], sizeof(reason_names[i]), "reason%zu", i);
		s->reasons[i] = (struct xlb_agent_count){reason_names[i], i};
	}
	for (i = XLB_EVK_NONE + 1; i < XLB_EVK_MAX; i++)
		s->passive[i] = (struct xlb_agent_count){kinds[i], i};
	s->netlink[0] = (struct xlb_agent_count){"neigh", 0};
	s->netlink[1] = (struct xlb_agent_count){"link", 0};
	s->netlink[2] = (struct xlb_agent_count){"route", 0};
	s->latency[0].source = "passive";
	s->latency[1].source = "netlink";
	return 0;
}

/* One mode: REPS scrapes; prints a row; 0 when within the targets. */
static int run(const struct xlb_agent_snapshot *s, int per_node)
{
	double t[REPS], t0;
	size_t bytes = 0, series = 0;
	struct evbuffer *out;
	char *text, *p;
	int r;

	for (r = 0; r < REPS; r++) {
		out = evbuffer_new();
		if (!out)
			return -ENOMEM;
		t0 = now_s();
		if (xlb_metrics_write(out, s, per_node)) {
			evbuffer_free(out);
			return -ENOMEM;
		}
		t[r] = now_s() - t0;
		bytes = evbuffer_get_length(out);
		if (r == 0) {
			text = (char *)evbuffer_pullup(out, -1);
			for (p = text; p && p < text + bytes;
			     p = memchr(p, '\n', text + bytes - p) + 1)
				series += *p != '#';
		}
		evbuffer_free(out);
	}
	qsort(t, REPS, sizeof(t[0]), cmp_dbl);
	printf("%-13s %10zu %10.1f %10.2f %10.4f\n", per_node ? "per_node" : "per_upstream", bytes,
	       (double)bytes / s->nnodes, (double)series / s->nnodes, t[REPS / 2]);
	return (double)bytes / s->nnodes <= TARGET_BYTES && t[REPS / 2] <= TARGET_S ? 0 : 1;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t per = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
	struct xlb_agent_snapshot s;
	int over = 0;

	if (!n || !per || argc > 3) {
		fprintf(stderr, "usage: bench_metrics [NODES [NODES_PER_UPSTREAM]] (both > 0)\n");
		return 2;
	}
	if (fake_snapshot(&s, n, per)) {
		fprintf(stderr, "bench_metrics: out of memory\n");
		return 1;
	}
	printf("/metrics formatter: %zu nodes, %zu upstreams and VIPs of %zu nodes\n", n,
	       s.nupstreams, per);
	printf("%-13s %10s %10s %10s %10s\n", "mode", "bytes", "bytes/node", "series/node",
	       "s/scrape");
	over |= run(&s, 1);
	over |= run(&s, 0);
	printf("target: <= %d bytes and <= %.1f s a scrape at 100000 nodes: %s\n", TARGET_BYTES,
	       TARGET_S, over ? "NOT met" : "met");
	xlb_agent_snapshot_free(&s);
	return over;
}
