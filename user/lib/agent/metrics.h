/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /metrics: a snapshot of the agent (agent.h) in Prometheus' text format.
 * Every family has its HELP and TYPE lines and all its samples together.
 * Per node, one health series (the state as a number) and one traffic
 * counter; with xlb.metrics.per_node false, per upstream instead: nodes
 * by health state and the sums of their counters. The families and their
 * meanings are listed in xlbd(8).
 */
#ifndef XLB_METRICS_H
#define XLB_METRICS_H

struct evbuffer;
struct xlb_agent_snapshot;

/*
 * The value of xlb_node_health for health state @health (agent.h's
 * numbering): 3 healthy, 2 mostly_healthy, 1 mostly_unhealthy, 0 unhealthy.
 */
unsigned int xlb_metrics_health_value(unsigned int health);

/**
 * xlb_metrics_write() - append the Prometheus text of @s to @out
 * @s: a snapshot taken with XLB_SNAP_METRICS
 * @per_node: node series (1) or upstream aggregates (0)
 *
 * Return: 0, or -ENOMEM (@out may then hold part of the text).
 */
int xlb_metrics_write(struct evbuffer *out, const struct xlb_agent_snapshot *s, int per_node);

#endif /* XLB_METRICS_H */
