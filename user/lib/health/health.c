/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The health state machine of lua-resty-healthcheck (the library behind
 * APISIX's checks), rule for rule; its incr_counter() is the reference:
 *
 *  1. The event's threshold is 0: the counter is disabled and nothing at
 *     all happens (no counter moves, not even the ones the event would
 *     clear; the state stays). lua: "if limit == 0 then return true end".
 *  2. A success while healthy, or a failure while unhealthy, changes
 *     nothing (lua: "if health_report == current_health then return").
 *  3. Otherwise the event's counter goes up by one; a success clears the
 *     three failure counters, a failure clears the success counter.
 *  4. The counter reached its threshold: healthy (success) or unhealthy
 *     (failure). Else a failure moves healthy to mostly_healthy and a
 *     success moves unhealthy to mostly_unhealthy; a mostly_* state stays
 *     as it is (a failure below threshold in mostly_unhealthy, or a
 *     success below threshold in mostly_healthy, keeps it).
 *
 * Counters are not reset when the state flips: lua-resty-healthcheck
 * zeroes the counter word only in set_target_status() (a forced state),
 * never in incr_counter(). So after a flip to healthy the success counter
 * stays at its threshold, and after a flip to unhealthy the other failure
 * counters keep their values. This never changes a later state: in
 * healthy (unhealthy) rule 2 freezes the counters, and the first event
 * that counts is a failure (success), which clears the success (failure)
 * counters before anything is compared.
 *
 * lua packs the four counters in 8-bit fields of one word; thresholds are
 * at most 254 there and a counter never passes its threshold, so plain
 * unsigned counters behave the same. They saturate instead of wrapping.
 */
#include <limits.h>
#include <stddef.h>
#include <xlb/abi.h>

#include "health/health.h"

static unsigned int *counter_of(struct xlb_health_counters *c, enum xlb_health_event ev,
				const struct xlb_health_thresholds *t, unsigned int *limit)
{
	switch (ev) {
	case XLB_EV_SUCCESS:
		*limit = t->successes;
		return &c->success;
	case XLB_EV_TCP_FAILURE:
		*limit = t->tcp_failures;
		return &c->tcp_failure;
	case XLB_EV_HTTP_FAILURE:
		*limit = t->http_failures;
		return &c->http_failure;
	case XLB_EV_TIMEOUT:
		*limit = t->timeouts;
		return &c->timeout;
	default:
		return NULL;
	}
}

/**
 * xlb_health_next() - the state after one event
 * @s: the current state
 * @c: the target's counters, updated
 * @ev: what a probe (or passive check) saw
 * @t: thresholds; 0 disables a counter
 *
 * Pure: no I/O, no time, no hidden state.
 * Return: the new state (@s when nothing changes, and for an unknown @s or @ev).
 */
enum xlb_health xlb_health_next(enum xlb_health s, struct xlb_health_counters *c,
				enum xlb_health_event ev, const struct xlb_health_thresholds *t)
{
	unsigned int limit, *ctr;
	int success = ev == XLB_EV_SUCCESS;

	if ((unsigned int)s >= XLB_H_MAX)
		return s;
	ctr = counter_of(c, ev, t, &limit);
	if (!ctr || limit == 0)
		return s;
	if ((success && s == XLB_H_HEALTHY) || (!success && s == XLB_H_UNHEALTHY))
		return s;

	if (*ctr < UINT_MAX)
		(*ctr)++;
	if (success) {
		c->tcp_failure = 0;
		c->http_failure = 0;
		c->timeout = 0;
	} else {
		c->success = 0;
	}

	if (*ctr >= limit)
		return success ? XLB_H_HEALTHY : XLB_H_UNHEALTHY;
	if (success && s == XLB_H_UNHEALTHY)
		return XLB_H_MOSTLY_UNHEALTHY;
	if (!success && s == XLB_H_HEALTHY)
		return XLB_H_MOSTLY_HEALTHY;
	return s;
}

/**
 * xlb_health_adopt() - a node's first state, from its backend in the maps
 * @be_state: the backend's enum xlb_backend_state (XLB_BE_UNUSED: none)
 * @by: who set it, enum xlb_backend_by
 *
 * An agent that finds its node's backend in pinned maps (it restarted)
 * starts from what the data plane holds, not from scratch:
 *
 *   no entry, ACTIVE     healthy, as APISIX starts a node. An ACTIVE node
 *                        may have been mostly_healthy, or unhealthy and
 *                        used only by fail_open; the checks tell again.
 *   DOWN by the agent    unhealthy: the agent took it out, and nothing
 *                        has brought it back. Counters start at zero, so
 *                        the configured healthy.successes bring it back
 *                        (the caller keeps a node without checks healthy).
 *   DRAINING by the      unhealthy too: the agent takes a node out as
 *   agent                DRAINING when only checks speak against it (its
 *                        established flows stay; see unhealthy_flows).
 *   DOWN, DRAINING by    healthy: the operator's hold says nothing of the
 *   the operator         node's health; the agent leaves the hold alone
 *                        and its checks judge the node meanwhile.
 *
 * Return: the state to start in.
 */
enum xlb_health xlb_health_adopt(unsigned int be_state, unsigned int by)
{
	if ((be_state == XLB_BE_DOWN || be_state == XLB_BE_DRAINING) && by == XLB_BY_AGENT)
		return XLB_H_UNHEALTHY;
	return XLB_H_HEALTHY;
}

/**
 * xlb_health_usable() - whether a state carries traffic
 * @s: a state
 *
 * Return: 1 for healthy and mostly_healthy, else 0.
 */
int xlb_health_usable(enum xlb_health s)
{
	return s == XLB_H_HEALTHY || s == XLB_H_MOSTLY_HEALTHY;
}

/**
 * xlb_health_name() - APISIX's name of a state
 * @s: a state
 *
 * Return: "healthy", "mostly_healthy", "mostly_unhealthy", "unhealthy", or "?".
 */
const char *xlb_health_name(enum xlb_health s)
{
	static const char *const names[XLB_H_MAX] = {
		[XLB_H_HEALTHY] = "healthy",
		[XLB_H_MOSTLY_HEALTHY] = "mostly_healthy",
		[XLB_H_MOSTLY_UNHEALTHY] = "mostly_unhealthy",
		[XLB_H_UNHEALTHY] = "unhealthy",
	};

	return (unsigned int)s < XLB_H_MAX ? names[s] : "?";
}

/**
 * xlb_health_event_name() - the name of an event (logs, JSON)
 * @ev: an event
 *
 * Return: "success", "tcp_failure", "http_failure", "timeout", or "?".
 */
const char *xlb_health_event_name(enum xlb_health_event ev)
{
	static const char *const names[XLB_EV_MAX] = {
		[XLB_EV_SUCCESS] = "success",
		[XLB_EV_TCP_FAILURE] = "tcp_failure",
		[XLB_EV_HTTP_FAILURE] = "http_failure",
		[XLB_EV_TIMEOUT] = "timeout",
	};

	return (unsigned int)ev < XLB_EV_MAX ? names[ev] : "?";
}
