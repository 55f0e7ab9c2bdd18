/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DNS servers for the dns discovery tests, on 127.0.0.1 only:
 *  - a real unbound serving a local zone, its records changed live with
 *    unbound-control over a unix socket; nothing outside the zone is
 *    looked up anywhere (the root zone is refused locally);
 *  - tests/lib/dns_server.py, a responder that answers as it is told
 *    (garbage, truncated, wrong id, SERVFAIL, silence...).
 */
#ifndef XLB_TEST_DNS_SERVER_H
#define XLB_TEST_DNS_SERVER_H

#include <sys/types.h>

struct dns_srv {
	pid_t pid;
	int port;
	char dir[64]; /* config, control socket, log */
	char conf[128];
	char addr[32]; /* "127.0.0.1:PORT" */
};

/* unbound's path, or NULL when it is not installed. */
const char *dns_srv_binary(void);
/*
 * Start unbound on a free port serving zone (e.g. "svc.test") with the
 * records rrs (NULL-terminated, "name TTL IN TYPE data"). 0 or -errno.
 */
int dns_srv_start(struct dns_srv *s, const char *zone, const char *const *rrs);
/* Stop the process (the port and config stay for dns_srv_restart). */
void dns_srv_kill(struct dns_srv *s);
/* Start again on the same port with the records of the config file. */
int dns_srv_restart(struct dns_srv *s);
/* Stop and remove the files. */
void dns_srv_stop(struct dns_srv *s);
/* unbound-control CMD [ARG]: "local_data" "name TTL IN A addr", "local_data_remove" "name". */
int dns_srv_ctl(struct dns_srv *s, const char *cmd, const char *arg);

struct dns_resp {
	pid_t pid;
	int port;
	char modefile[64];
	char addr[32];
};

/* Start tests/lib/dns_server.py serve. 0 or -errno (-ENOENT: no python3 or script). */
int dns_resp_start(struct dns_resp *r);
/* How the next queries are answered (see dns_server.py). */
int dns_resp_mode(struct dns_resp *r, const char *mode);
void dns_resp_stop(struct dns_resp *r);

#endif /* XLB_TEST_DNS_SERVER_H */
