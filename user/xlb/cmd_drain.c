// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlb drain start | stop | status | check | wait: taking one LB node out of
 * an ECMP group without breaking flows.
 *
 * The node's routers learn its VIPs from a BGP daemon (BIRD, FRR) on the
 * node. Draining is a flag in the pinned xlb_config map (XLB_CFG_F_DRAIN),
 * so the CLI, the agent and the announcer (scripts/bird/xlb-announce.sh)
 * share one truth that survives an agent restart. The fast path does not
 * read it: a draining node forwards everything that still reaches it, old
 * flows and new, while the routers move the traffic to the other nodes
 * (which pick the same backends from the same tables). `check` is what the
 * announcer asks every second: announce only while xlb is attached, its
 * maps are readable and the node is not draining. `wait` tells when the
 * traffic is gone: no VIP packet for --idle seconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/addr.h"
#include "cli.h"
#include "base/log.h"
#include "dataplane/maps.h"

static int set_drain(struct xlb_cli *c, int on, const char *usage, int argc, char **argv)
{
	struct xlb_config cfg;
	struct xlb_maps m;
	int npos, ret, err;

	ret = xlb_cli_parse(c, argc, argv, NULL, NULL, 0, 0, &npos, usage);
	if (ret || npos < 0)
		return ret;
	ret = xlb_cli_open_maps(c, &m, 1);
	if (ret)
		return ret;
	err = xlb_config_get(&m, &cfg);
	if (!err) {
		if (on)
			cfg.flags |= XLB_CFG_F_DRAIN;
		else
			cfg.flags &= ~XLB_CFG_F_DRAIN;
		err = xlb_config_set(&m, &cfg);
	}
	xlb_maps_close(&m);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "drain %s: %s", on ? "start" : "stop",
				   xlb_cli_strerror(err));
	if (c->json)
		xlb_cli_json(json_pack("{s:b}", "draining", on));
	else
		printf("%s\n", on ? "draining: the announcer withdraws the VIPs; forwarding goes on"
				  : "not draining: the VIPs are announced while xlb is healthy");
	return XLB_EXIT_OK;
}

static int drain_start(struct xlb_cli *c, int argc, char **argv)
{
	return set_drain(c, 1, "drain start", argc, argv);
}

static int drain_stop(struct xlb_cli *c, int argc, char **argv)
{
	return set_drain(c, 0, "drain stop", argc, argv);
}

struct vip_sum {
	struct xlb_maps *m;
	__u64 packets;
	__u32 vips;
	int err;
};

static int add_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct vip_sum *s = arg;
	struct xlb_traffic t;
	int err = xlb_stats_vip(s->m, v->id, &t);

	if (err)
		return err;
	s->packets += t.packets;
	s->vips++;
	return 0;
}

/* Packets to any VIP so far, and how many VIPs. */
static int vip_packets(struct xlb_maps *m, __u64 *packets, __u32 *vips)
{
	struct vip_sum s = {.m = m};
	int err = xlb_vip_foreach(m, add_vip, &s);

	*packets = s.packets;
	*vips = s.vips;
	return err;
}

/*
 * Should this node announce its VIPs? 1 yes; 0 no, with why. -errno when
 * the maps cannot be read at all (also a no).
 */
static int node_state(struct xlb_cli *c, int *draining, char *why, size_t len, __u64 *packets,
		      __u32 *vips)
{
	struct xlb_config cfg;
	struct xlb_maps m;
	int err;

	*draining = 0;
	*packets = 0;
	*vips = 0;
	err = xlb_maps_open(&m, c->pin_dir, 0);
	if (err) {
		snprintf(why, len, "no xlb maps in %s: %s", c->pin_dir, xlb_cli_strerror(err));
		return 0;
	}
	err = xlb_config_get(&m, &cfg) ?: vip_packets(&m, packets, vips);
	xlb_maps_close(&m);
	if (err) {
		snprintf(why, len, "cannot read the maps in %s: %s", c->pin_dir,
			 xlb_cli_strerror(err));
		return 0;
	}
	*draining = !!(cfg.flags & XLB_CFG_F_DRAIN);
	if (*draining) {
		snprintf(why, len, "draining ('xlb drain stop' ends it)");
		return 0;
	}
	if (!xlb_cli_lb_attached()) {
		snprintf(why, len, "xlb_lb is attached to no device here");
		return 0;
	}
	snprintf(why, len, "attached, not draining");
	return 1;
}

static int drain_status(struct xlb_cli *c, int argc, char **argv)
{
	int npos, ret, draining, announce;
	char why[300];
	__u64 packets;
	__u32 vips;

	ret = xlb_cli_parse(c, argc, argv, NULL, NULL, 0, 0, &npos, "drain status");
	if (ret || npos < 0)
		return ret;
	announce = node_state(c, &draining, why, sizeof(why), &packets, &vips);
	if (c->json)
		xlb_cli_json(json_pack("{s:b, s:b, s:s, s:i, s:I}", "draining", draining,
				       "announce", announce, "reason", why, "vips", vips,
				       "vip_packets", (json_int_t)packets));
	else
		printf("draining: %s\nannounce: %s (%s)\nvips:     %u, %llu packets so far\n",
		       draining ? "yes" : "no", announce ? "yes" : "no", why, vips,
		       (unsigned long long)packets);
	return XLB_EXIT_OK;
}

/* Exit 0 when the VIPs should be announced, 2 (with the reason) when not. */
static int drain_check(struct xlb_cli *c, int argc, char **argv)
{
	int npos, ret, draining;
	char why[300];
	__u64 packets;
	__u32 vips;

	ret = xlb_cli_parse(c, argc, argv, NULL, NULL, 0, 0, &npos, "drain check");
	if (ret || npos < 0)
		return ret;
	if (!node_state(c, &draining, why, sizeof(why), &packets, &vips))
		return xlb_cli_err(c, XLB_EXIT_FAIL, "do not announce: %s", why);
	if (c->json)
		xlb_cli_json(json_pack("{s:b, s:s}", "announce", 1, "reason", why));
	else
		printf("announce: %s\n", why);
	return XLB_EXIT_OK;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Wait until no packet reached a VIP for --idle seconds (the routers have
 * moved the flows away, or they ended), at most --timeout seconds.
 */
static int drain_wait(struct xlb_cli *c, int argc, char **argv)
{
	const char *idle_s = NULL, *timeout_s = NULL;
	const struct xlb_opt opts[] = {{"idle", &idle_s}, {"timeout", &timeout_s}, {}};
	double idle = 5, timeout = 300, t0, last_change, t;
	__u64 packets, prev, first;
	struct xlb_config cfg;
	struct xlb_maps m;
	char *end;
	__u32 vips;
	int npos, ret, err;

	ret = xlb_cli_parse(c, argc, argv, opts, NULL, 0, 0, &npos,
			    "drain wait [--idle SECONDS] [--timeout SECONDS]");
	if (ret || npos < 0)
		return ret;
	if (idle_s) {
		idle = strtod(idle_s, &end);
		if (*end || end == idle_s || !(idle > 0 && idle <= 3600))
			return xlb_cli_err(c, XLB_EXIT_USAGE,
					   "--idle '%s' is not a number of seconds in (0, 3600]",
					   idle_s);
	}
	if (timeout_s) {
		timeout = strtod(timeout_s, &end);
		if (*end || end == timeout_s || !(timeout > 0 && timeout <= 86400))
			return xlb_cli_err(
				c, XLB_EXIT_USAGE,
				"--timeout '%s' is not a number of seconds in (0, 86400]",
				timeout_s);
	}
	ret = xlb_cli_open_maps(c, &m, 0);
	if (ret)
		return ret;
	err = xlb_config_get(&m, &cfg) ?: vip_packets(&m, &first, &vips);
	if (!err && !(cfg.flags & XLB_CFG_F_DRAIN))
		pr_warn("warning: the node is not draining ('xlb drain start'): "
			"its VIPs are still announced\n");
	prev = first;
	t0 = last_change = now_s();
	while (!err) {
		struct timespec tick = {0, 100 * 1000 * 1000};

		nanosleep(&tick, NULL);
		err = vip_packets(&m, &packets, &vips);
		t = now_s();
		if (err)
			break;
		if (packets != prev) {
			prev = packets;
			last_change = t;
		}
		if (t - last_change >= idle || t - t0 >= timeout)
			break;
	}
	xlb_maps_close(&m);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "drain wait: %s", xlb_cli_strerror(err));
	if (t - last_change < idle)
		return xlb_cli_err(c, XLB_EXIT_FAIL,
				   "drain wait: still forwarding after %.1f s (%llu VIP packets "
				   "since the start, the last %.1f s ago)",
				   t - t0, (unsigned long long)(packets - first), t - last_change);
	if (c->json)
		xlb_cli_json(json_pack("{s:b, s:f, s:f, s:I}", "idle", 1, "seconds", t - t0,
				       "last_packet_s", last_change - t0, "packets",
				       (json_int_t)(packets - first)));
	else
		printf("idle: no VIP packet for %.1f s; waited %.1f s, %llu VIP packets "
		       "forwarded meanwhile, the last %.1f s after the start\n",
		       idle, t - t0, (unsigned long long)(packets - first), last_change - t0);
	return XLB_EXIT_OK;
}

int xlb_cmd_drain(struct xlb_cli *c, int argc, char **argv)
{
	static const struct xlb_cmd verbs[] = {
		{"start", drain_start, "drain start"},
		{"stop", drain_stop, "drain stop"},
		{"status", drain_status, "drain status"},
		{"check", drain_check, "drain check"},
		{"wait", drain_wait, "drain wait [--idle SECONDS] [--timeout SECONDS]"},
		{}};

	return xlb_cli_dispatch(c, "drain", verbs, argc, argv);
}
