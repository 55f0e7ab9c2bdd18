/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's HTTP interface (libevent's evhttp, on the agent's loop):
 *   /apisix/admin/upstreams[/{id}], /apisix/admin/stream_routes[/{id}]
 *       GET, PUT, DELETE as APISIX's Admin API; the X-API-KEY header must
 *       carry the configured key. A PUT body is validated with the whole
 *       configuration it would produce: a bad one is a 400 with the reasons
 *       and changes nothing.
 *   /v1/healthcheck          per node state and counters (APISIX control API)
 *   POST /v1/reload          re-read the configuration file (X-API-KEY)
 *   /metrics                 Prometheus text format
 * Loopback by default; the listen address comes from xlb.admin.listen.
 */
#ifndef XLB_ADMIN_H
#define XLB_ADMIN_H

struct event_base;
struct xlb_agent;
struct xlb_admin;

/* Listen on "ADDR:PORT" ("[ADDR]:PORT" for IPv6). NULL and errno on failure. */
struct xlb_admin *xlb_admin_new(struct event_base *base, struct xlb_agent *a,
				const char *listen, const char *api_key);
void xlb_admin_free(struct xlb_admin *ad);

#endif /* XLB_ADMIN_H */
