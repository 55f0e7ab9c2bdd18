/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Active health checking on a libevent loop: one target per backend
 * (address, port) however many upstreams share it, probed by TCP connect,
 * HTTP or HTTPS (libcurl's multi interface on the same loop). Timers live in
 * libevent's min-heap; thousands of targets cost no scan per tick. Probing
 * starts at once, with jitter. A refused connection or ICMP unreachable
 * counts at once, not at the timeout. Results feed xlb_health_next(); each
 * state change is reported through the callback.
 */
#ifndef XLB_CHECKER_H
#define XLB_CHECKER_H

#include <xlb/abi.h>
#include "config/config.h"
#include "health/health.h"

struct event_base;
struct xlb_checker;
struct xlb_target;

/* A state change of a target: old -> new, and the event that caused it. */
typedef void (*xlb_health_cb)(struct xlb_target *t, enum xlb_health old, enum xlb_health new,
			      enum xlb_health_event ev, const char *detail, void *arg);

struct xlb_checker *xlb_checker_new(struct event_base *base, xlb_health_cb cb, void *arg);
void xlb_checker_free(struct xlb_checker *c);
/* Probes in flight at most: half the soft RLIMIT_NOFILE, 16-1024 (a socket each). */
unsigned int xlb_checker_max_inflight(void);

/*
 * The target for (addr, port), created if new, with check settings *check
 * (copied). An existing target keeps its state and counters when its
 * settings change (state survives node-list changes). Reference counted:
 * every xlb_checker_get() pairs with one xlb_checker_put().
 */
struct xlb_target *xlb_checker_get(struct xlb_checker *c, const struct xlb_addr_key *addr,
				   __u16 port, const struct xlb_check_active *check);
void xlb_checker_put(struct xlb_checker *c, struct xlb_target *t);

/* Feed an event from elsewhere (passive checks, netlink). */
void xlb_target_report(struct xlb_checker *c, struct xlb_target *t, enum xlb_health_event ev,
		       const char *detail);
/* The same with thresholds @th (checks.passive); NULL: the target's own. */
void xlb_target_report_with(struct xlb_checker *c, struct xlb_target *t, enum xlb_health_event ev,
			    const char *detail, const struct xlb_health_thresholds *th);

/* Force a state, counters zeroed, no callback (lua's set_target_status). */
void xlb_target_set_state(struct xlb_target *t, enum xlb_health s);
enum xlb_health xlb_target_state(const struct xlb_target *t);
const struct xlb_health_counters *xlb_target_counters(const struct xlb_target *t);
void xlb_target_addr(const struct xlb_target *t, struct xlb_addr_key *addr, __u16 *port);
/* Last probe's latency in seconds (< 0: none yet), and probes sent. */
double xlb_target_latency(const struct xlb_target *t);
unsigned long xlb_target_probes(const struct xlb_target *t);
/* Opaque pointer for the owner (e.g. its backend id). */
void xlb_target_set_data(struct xlb_target *t, void *data);
void *xlb_target_data(const struct xlb_target *t);

typedef int (*xlb_target_iter)(struct xlb_target *t, void *arg);
int xlb_checker_foreach(struct xlb_checker *c, xlb_target_iter fn, void *arg);

#endif /* XLB_CHECKER_H */
