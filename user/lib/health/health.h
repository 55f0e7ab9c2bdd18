/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Health of backends, as APISIX (lua-resty-healthcheck) defines it: four
 * states, four counters, thresholds from checks.{active,passive}. A
 * success clears the failure counters, any failure clears the success
 * counter; a state flips when a counter reaches its threshold (a threshold
 * of 0 disables that counter). healthy and mostly_healthy carry traffic.
 *
 * xlb_health_next() is a pure function; the checker (checker.h) owns the
 * timers and probes that produce events.
 */
#ifndef XLB_HEALTH_H
#define XLB_HEALTH_H

enum xlb_health {
	XLB_H_HEALTHY = 0,
	XLB_H_MOSTLY_HEALTHY,	/* healthy, failures seen below threshold */
	XLB_H_MOSTLY_UNHEALTHY, /* unhealthy, successes seen below threshold */
	XLB_H_UNHEALTHY,
	XLB_H_MAX,
};

enum xlb_health_event {
	XLB_EV_SUCCESS = 0,
	XLB_EV_TCP_FAILURE,  /* refused, reset, unreachable */
	XLB_EV_HTTP_FAILURE, /* a status in unhealthy.http_statuses */
	XLB_EV_TIMEOUT,
	XLB_EV_MAX,
};

struct xlb_health_counters {
	unsigned int success, tcp_failure, http_failure, timeout;
};

struct xlb_health_thresholds {
	unsigned int successes, tcp_failures, http_failures, timeouts;
};

/* The state after ev; updates c. */
enum xlb_health xlb_health_next(enum xlb_health s, struct xlb_health_counters *c,
				enum xlb_health_event ev, const struct xlb_health_thresholds *t);
/*
 * The first state of a node whose backend the maps already have (enum
 * xlb_backend_state, enum xlb_backend_by): unhealthy for a DOWN or
 * DRAINING the agent wrote, else healthy. See health.c.
 */
enum xlb_health xlb_health_adopt(unsigned int be_state, unsigned int by);
/* healthy or mostly_healthy. */
int xlb_health_usable(enum xlb_health s);
const char *xlb_health_name(enum xlb_health s);
const char *xlb_health_event_name(enum xlb_health_event ev);

#endif /* XLB_HEALTH_H */
