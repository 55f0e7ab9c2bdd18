/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the tests that run real servers (etcd, unbound) share: finding the
 * binary, a free loopback port, removing a temporary directory.
 */
#ifndef XLB_TEST_TESTPROC_H
#define XLB_TEST_TESTPROC_H

/* The first of the NULL-terminated paths that is executable, or NULL. */
const char *testproc_find(const char *const *paths);
/*
 * A port on 127.0.0.1 free now (bound to 0, read back, closed); with udp
 * also free for UDP. -1 when none was found.
 */
int testproc_free_port(int udp);
/* Remove dir and everything under it, only if it starts with prefix (a guard). */
void testproc_rm_tree(const char *dir, const char *prefix);

#endif /* XLB_TEST_TESTPROC_H */
