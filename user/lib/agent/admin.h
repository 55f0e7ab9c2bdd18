/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's HTTP interface (libevent's evhttp, on the agent's loop):
 *   /apisix/admin/upstreams[/{id}], /apisix/admin/stream_routes[/{id}]
 *       GET, PUT, POST, PATCH, DELETE as APISIX's Admin API (adminapi.h),
 *       the query included. A body is validated with the whole
 *       configuration it would produce: a bad one is a 400 with the
 *       reasons and changes nothing.
 *   /v1/healthcheck          per node state and counters (APISIX control API)
 *   /v1/upstreams/{id}       the nodes as the agent runs them
 *   POST /v1/reload          re-read the configuration file
 *   /metrics                 Prometheus text format
 * Every request carries the key in X-API-KEY or ?api_key= (compared in constant time),
 * except GET /metrics and /v1/healthcheck on a loopback listener (as APISIX
 * keeps its control API and Prometheus export on loopback without a key).
 * Loopback by default; the listen address comes from xlb.admin.listen.
 *
 * The listener's limits (xlb.admin): at most max_connections open (fewer
 * when RLIMIT_NOFILE would not leave room for the agent's own files; the
 * next ones wait in the kernel's backlog); a request's head within
 * header_timeout of its first byte and max_header_size (431), its body
 * within body_timeout and max_body_size (413); a connection without a
 * request, or without a byte either way, for idle_timeout is closed. When
 * accept() fails for want of files or memory, accepting pauses 1 s.
 */
#ifndef XLB_ADMIN_H
#define XLB_ADMIN_H

struct event_base;
struct xlb_agent;
struct xlb_admin;

struct xlb_settings;

/*
 * Listen on s->admin_listen, "ADDR:PORT" ("[ADDR]:PORT" for IPv6), with
 * s's limits; api_key (not empty) is the key requests must carry. NULL and
 * errno on failure.
 */
struct xlb_admin *xlb_admin_new(struct event_base *base, struct xlb_agent *a,
				const struct xlb_settings *s, const char *api_key);
void xlb_admin_free(struct xlb_admin *ad);

#endif /* XLB_ADMIN_H */
