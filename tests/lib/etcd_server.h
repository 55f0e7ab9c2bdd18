/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A real etcd for tests: started on loopback with free ports and a
 * temporary data directory, stopped and restarted by PID (the data and the
 * ports stay, so revisions go on), and blocking helpers that write through
 * the v3 JSON gateway with libcurl (independent of the code under test).
 * The child dies with the test process (PR_SET_PDEATHSIG); etcd_server_
 * cleanup() kills it and removes the directory.
 */
#ifndef XLB_TEST_ETCD_SERVER_H
#define XLB_TEST_ETCD_SERVER_H

#include <sys/types.h>

struct etcd_server {
	pid_t pid;     /* 0 when stopped */
	char dir[256]; /* data directory and log */
	int client_port, peer_port;
	char url[64]; /* http://127.0.0.1:<client_port> */
};

/* The etcd binary's path, or NULL when it is not installed. */
const char *etcd_server_binary(void);
/* Start (first time: new ports and directory); waits until it answers. 0 or -errno. */
int etcd_server_start(struct etcd_server *s);
/* Kill (SIGKILL: like a crash) and reap. */
void etcd_server_stop(struct etcd_server *s);
/* Stop, remove the data, start again empty (same ports): revisions restart. */
int etcd_server_wipe(struct etcd_server *s);
/* Stop, remove the directory. */
void etcd_server_cleanup(struct etcd_server *s);

/*
 * Blocking gateway calls. put/delete return the revision after the write
 * (> 0) or -errno; compact returns 0 or -errno. The key and value are raw
 * bytes (len -1: strlen).
 */
long long etcd_server_put(struct etcd_server *s, const char *key, const char *value, long vlen);
long long etcd_server_delete(struct etcd_server *s, const char *key);
int etcd_server_compact(struct etcd_server *s, long long rev);
/* POST body to path; the answer (malloc'ed) or NULL; *status the HTTP status. */
char *etcd_server_post(struct etcd_server *s, const char *path, const char *body, long *status);

#endif /* XLB_TEST_ETCD_SERVER_H */
