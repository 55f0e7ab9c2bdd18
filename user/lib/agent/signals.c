// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signals besides the active probes, each one a health event for its node.
 *
 * Passive events (bpf/lib/passive.h): the xlb_events ring buffer is read on
 * the loop (its epoll fd is an EV_READ|EV_PERSIST event, each wake-up runs
 * ring_buffer__consume). A client's SYN retransmission counts as a timeout,
 * a bare client RST as a TCP failure, both judged by the node's
 * checks.passive thresholds; nodes of upstreams without checks.passive
 * ignore them (counted). The fast path sees no successes with direct
 * server return, so passive checks only take nodes out: recovery comes
 * from active probes (hence APISIX's rule, kept by config.c, that passive
 * needs active; an upstream whose probe intervals are 0 stays down).
 *
 * Kernel signals (nlmon.c): each node's next hop is resolved when it first
 * appears (xlb_nl_route_get); the neighbour entry of that next hop turning
 * FAILED, its device losing IFF_UP/IFF_RUNNING or going away, or a deleted
 * route after which the node has no route any more, is one failure (TCP
 * failure, with the reason) for the node, judged by the passive thresholds
 * where configured, else by the node's own; a route that merely changes
 * updates the cache. The thresholds stay in charge: a node goes down on a
 * kernel signal alone only when its tcp_failures threshold is 1.
 *
 * The NAT sweep reclaims dead connections every XLB_AGENT_NAT_SWEEP_S and
 * reports those that never saw a SYN-ACK as timeouts of their node. The
 * least_conn sweep, every XLB_LC_SWEEP_S, forgets idle counted flows and
 * takes evicted ones off the counts (user/lib/dataplane/conns.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <event2/event.h>

#include "dataplane/conns.h"
#include "xlb_lb.skel.h"

#include "agent/agent_int.h"
#include "base/log.h"
#include "dataplane/netlink.h"
#include "health/checker.h"
#include "health/nlmon.h"
#include "health/passive.h"

/* CLOCK_MONOTONIC, as bpf_ktime_get_ns() reads it. */
static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static const char *const nl_names[] = {
	[XLB_AGENT_NL_NEIGH] = "neigh_failed",
	[XLB_AGENT_NL_LINK] = "link_down",
	[XLB_AGENT_NL_ROUTE] = "no_route",
};

const char *xlb_agent_nl_name(unsigned int k)
{
	return k < sizeof(nl_names) / sizeof(nl_names[0]) ? nl_names[k] : "?";
}

/* Report ev for node n on behalf of signal source src that happened at ts. */
static void node_signal(struct xlb_agent *a, struct agent_node *n, enum xlb_agent_src src, __u64 ts,
			enum xlb_health_event ev, const char *detail)
{
	a->sig_src = src;
	a->sig_ns = ts;
	xlb_target_report_with(a->checker, n->t, ev, detail, n->passive ? &n->passive_th : NULL);
	a->sig_src = -1;
}

/* One record of the xlb_events ring (libbpf's ring_buffer_sample_fn). */
static int on_passive_event(void *ctx, void *data, size_t size)
{
	const struct xlb_event *ev = data;
	struct xlb_agent *a = ctx;
	char client[XLB_ADDRSTRLEN], detail[160];
	struct agent_node *n;

	if (size < sizeof(*ev) || ev->kind == XLB_EVK_NONE || ev->kind >= XLB_EVK_MAX)
		return 0; /* a newer data plane's record: not ours */
	a->st.passive_events[ev->kind]++;
	n = ev->backend_id < XLB_MAX_BACKENDS && a->by_id ? a->by_id[ev->backend_id] : NULL;
	if (!n || !n->passive) {
		a->st.passive_ignored++;
		return 0;
	}
	xlb_addr_str(ev->saddr, ev->family, client, sizeof(client));
	snprintf(detail, sizeof(detail), "passive: %s, client %s port %u, %.1f s after the SYN",
		 xlb_passive_detail(ev->kind), client, ntohs(ev->sport), ev->flow_age_ns / 1e9);
	pr_debug("passive: node=%s kind=%s client=%s port=%u flow_age_ms=%llu\n", n->label,
		 xlb_event_kind_name(ev->kind), client, ntohs(ev->sport),
		 (unsigned long long)(ev->flow_age_ns / 1000000));
	node_signal(a, n, XLB_AGENT_SRC_PASSIVE, ev->ts_ns, xlb_passive_health_event(ev->kind),
		    detail);
	return 0;
}

static void on_ring_ready(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_agent *a = arg;
	int err = ring_buffer__consume(a->rb);

	if (err < 0)
		pr_warn("passive: reading xlb_events: %s\n", strerror(-err));
}

int agent_passive_open(struct xlb_agent *a)
{
	int err;

	a->rb = ring_buffer__new(bpf_map__fd(a->maps.skel->maps.xlb_events), on_passive_event, a,
				 NULL);
	if (!a->rb)
		return -errno;
	a->rb_ev = event_new(a->base, ring_buffer__epoll_fd(a->rb), EV_READ | EV_PERSIST,
			     on_ring_ready, a);
	if (!a->rb_ev || event_add(a->rb_ev, NULL))
		return -ENOMEM;
	err = ring_buffer__consume(a->rb); /* what came before we listened */
	return err < 0 ? err : 0;
}

/* A NAT connection died waiting for its node's SYN-ACK: a timeout. */
static void on_nat_timeout(const struct xlb_nat_rev *r, void *arg)
{
	struct xlb_agent *a = arg;
	struct agent_node *n;
	char client[XLB_ADDRSTRLEN], detail[160];

	a->st.nat_syn_timeouts++;
	n = r->backend_id < XLB_MAX_BACKENDS && a->by_id ? a->by_id[r->backend_id] : NULL;
	if (!n || !n->passive)
		return;
	xlb_addr_str(r->client.saddr, r->client.family, client, sizeof(client));
	snprintf(detail, sizeof(detail), "passive: no SYN-ACK (NAT), client %s port %u", client,
		 ntohs(r->client.sport));
	node_signal(a, n, XLB_AGENT_SRC_PASSIVE, now_ns(), XLB_EV_TIMEOUT, detail);
}

static void on_nat_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_agent *a = arg;
	struct xlb_nat_sweep sw;
	int err;

	err = xlb_nat_sweep(&a->maps, xlb_now_coarse_ns(), on_nat_timeout, a, &sw);
	if (err) {
		pr_warn("nat: sweep: %s\n", strerror(-err));
		return;
	}
	a->st.nat_sweeps++;
	a->st.nat_reclaimed += sw.dead;
	a->st.nat_live = sw.live;
	if (sw.dead)
		pr_debug("nat: swept %llu dead connections (%llu without SYN-ACK), %llu live\n",
			 (unsigned long long)sw.dead, (unsigned long long)sw.syn_timeouts,
			 (unsigned long long)sw.live);
}

static void on_lc_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_agent *a = arg;
	struct xlb_lc_sweep sw;
	int err;

	err = xlb_lc_sweep(&a->maps, xlb_now_coarse_ns(), &sw);
	if (err) {
		pr_warn("least_conn: sweep: %s\n", strerror(-err));
		return;
	}
	a->st.lc_sweeps++;
	a->st.lc_idle += sw.idle;
	a->st.lc_released += sw.released;
	if (sw.released)
		pr_debug("least_conn: swept %llu idle flows, %llu taken off the counts, %llu "
			 "counted\n",
			 (unsigned long long)sw.idle, (unsigned long long)sw.released,
			 (unsigned long long)sw.counted);
}

int agent_nat_sweep_start(struct xlb_agent *a)
{
	struct timeval tv = {.tv_sec = XLB_AGENT_NAT_SWEEP_S}, lc = {.tv_sec = XLB_LC_SWEEP_S};

	a->nat_ev = event_new(a->base, -1, EV_PERSIST, on_nat_sweep, a);
	if (!a->nat_ev || event_add(a->nat_ev, &tv))
		return -ENOMEM;
	a->lc_ev = event_new(a->base, -1, EV_PERSIST, on_lc_sweep, a);
	if (!a->lc_ev || event_add(a->lc_ev, &lc))
		return -ENOMEM;
	return 0;
}

static void nl_report(struct xlb_agent *a, struct agent_node *n, enum xlb_agent_nl kind, __u64 ts,
		      const char *detail)
{
	char ups[256];

	a->st.netlink_failures[kind]++;
	agent_node_upstreams(a, n, ups, sizeof(ups));
	pr_info("netlink: node=%s upstream=%s kind=%s reason=\"%s\"\n", n->label, ups,
		nl_names[kind], detail);
	/*
	 * Evidence, not opinion: when this takes the node out, its flows move.
	 * A node out already goes from draining to down: its upstreams' wants
	 * change without a health flip, so the next reconcile must see it.
	 */
	if (!n->unreachable)
		agent_node_flipped(a, n);
	n->unreachable = 1;
	node_signal(a, n, XLB_AGENT_SRC_NETLINK, ts, XLB_EV_TCP_FAILURE, detail);
}

/* Whether addr lies in prefix/plen (same family). */
static int in_prefix(const struct xlb_addr_key *addr, const struct xlb_addr_key *prefix,
		     unsigned int plen)
{
	const __u8 *x = (const __u8 *)addr->addr, *p = (const __u8 *)prefix->addr;
	unsigned int i, bits = addr->family == XLB_AF_INET ? 32 : 128;

	if (addr->family != prefix->family || plen > bits)
		return 0;
	for (i = 0; i < plen / 8; i++)
		if (x[i] != p[i])
			return 0;
	return plen % 8 ? !((x[i] ^ p[i]) & (0xff00 >> (plen % 8))) : 1;
}

/* Ask the kernel again for n's route: a failure only when it is gone. */
static void node_route_check(struct xlb_agent *a, struct agent_node *n, __u64 ts)
{
	char addr[XLB_ADDRSTRLEN], detail[160];
	struct xlb_addr_key nh;
	int ifindex, err;

	err = xlb_nl_route_get(&n->addr, &nh, &ifindex);
	if (!err) {
		if (!n->nh_ok || n->nh_ifindex != ifindex || memcmp(nh.addr, n->nh.addr, 16)) {
			xlb_addr_str(nh.addr, nh.family, addr, sizeof(addr));
			pr_info("netlink: node=%s route now via %s ifindex %d\n", n->label, addr,
				ifindex);
		}
		n->nh = nh;
		n->nh_ifindex = ifindex;
		n->nh_ok = 1;
		return;
	}
	if (!n->nh_ok)
		return; /* already without a route: reported then */
	n->nh_ok = 0;
	snprintf(detail, sizeof(detail), "no route to the node any more (%s)", strerror(-err));
	nl_report(a, n, XLB_AGENT_NL_ROUTE, ts, detail);
}

static void on_nl_signal(const struct xlb_nl_signal *s, void *arg)
{
	struct xlb_agent *a = arg;
	char addr[XLB_ADDRSTRLEN], detail[160];
	struct agent_node *n;
	__u64 ts = now_ns();
	size_t i;

	/* The callbacks below may change health, never the node list. */
	for (i = 0; i < a->nnodes; i++) {
		n = a->nodes[i];
		switch (s->kind) {
		case XLB_NL_NEIGH_FAILED:
			if (!n->nh_ok || n->nh.family != s->addr.family ||
			    memcmp(n->nh.addr, s->addr.addr, 16) || n->nh_ifindex != s->ifindex)
				break;
			xlb_addr_str(s->addr.addr, s->addr.family, addr, sizeof(addr));
			snprintf(detail, sizeof(detail), "neighbour %s failed (ifindex %d)", addr,
				 s->ifindex);
			nl_report(a, n, XLB_AGENT_NL_NEIGH, ts, detail);
			break;
		case XLB_NL_LINK:
			if (!n->nh_ok || n->nh_ifindex != s->ifindex)
				break;
			if (s->up) {
				n->link_down = 0;
				break;
			}
			if (n->link_down)
				break; /* one failure per down edge */
			n->link_down = 1;
			snprintf(detail, sizeof(detail), "link %s (ifindex %d) down",
				 s->ifname[0] ? s->ifname : "?", s->ifindex);
			nl_report(a, n, XLB_AGENT_NL_LINK, ts, detail);
			break;
		case XLB_NL_ROUTE_DEL:
			if (in_prefix(&n->addr, &s->addr, s->plen))
				node_route_check(a, n, ts);
			break;
		case XLB_NL_OVERRUN:
			node_route_check(a, n, ts);
			break;
		default:
			break;
		}
	}
	if (s->kind == XLB_NL_OVERRUN) {
		a->st.netlink_overruns++;
		pr_warn("netlink: signals lost (receive buffer full): routes re-checked\n");
	}
}

static void on_nl_ready(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_agent *a = arg;
	int err = xlb_nlmon_read(a->nlmon);

	if (err)
		pr_warn("netlink: reading signals: %s\n", strerror(-err));
}

int agent_netlink_open(struct xlb_agent *a)
{
	a->nlmon = xlb_nlmon_new(on_nl_signal, a);
	if (!a->nlmon)
		return -errno;
	a->nl_ev = event_new(a->base, xlb_nlmon_fd(a->nlmon), EV_READ | EV_PERSIST, on_nl_ready, a);
	if (!a->nl_ev || event_add(a->nl_ev, NULL))
		return -ENOMEM;
	return 0;
}

void agent_signal_flipped(struct xlb_agent *a)
{
	if (a->sig_src >= 0)
		a->lat_us[a->sig_src][a->nlat[a->sig_src]++ % LAT_SAMPLES] =
			(now_ns() - a->sig_ns) / 1e3;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

void agent_signal_latency(struct xlb_agent *a, enum xlb_agent_src src, unsigned long *n,
			  double *p50, double *p99, double *max)
{
	double v[LAT_SAMPLES];
	size_t k;

	*n = (unsigned int)src < XLB_AGENT_SRC_MAX ? a->nlat[src] : 0;
	if (!*n)
		return;
	k = *n < LAT_SAMPLES ? *n : LAT_SAMPLES;
	memcpy(v, a->lat_us[src], k * sizeof(v[0]));
	qsort(v, k, sizeof(v[0]), cmp_double);
	*p50 = v[(k - 1) / 2] / 1e6;
	*p99 = v[(k - 1) * 99 / 100] / 1e6;
	*max = v[k - 1] / 1e6;
}

void agent_signals_free(struct xlb_agent *a)
{
	if (a->nat_ev)
		event_free(a->nat_ev);
	if (a->lc_ev)
		event_free(a->lc_ev);
	if (a->nl_ev)
		event_free(a->nl_ev);
	xlb_nlmon_free(a->nlmon);
	if (a->rb_ev)
		event_free(a->rb_ev);
	ring_buffer__free(a->rb);
	a->nat_ev = a->lc_ev = a->nl_ev = a->rb_ev = NULL;
	a->nlmon = NULL;
	a->rb = NULL;
}
