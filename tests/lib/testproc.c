// SPDX-License-Identifier: GPL-2.0-only
/* Helpers for tests that run real servers; see testproc.h. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "testproc.h"

const char *testproc_find(const char *const *paths)
{
	for (; *paths; paths++)
		if (!access(*paths, X_OK))
			return *paths;
	return NULL;
}

int testproc_free_port(int udp)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd, fd2, port = -1, tries;

	for (tries = 0; tries < 20 && port < 0; tries++) {
		a.sin_port = 0;
		fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
		    !getsockname(fd, (struct sockaddr *)&a, &alen)) {
			if (!udp) {
				port = ntohs(a.sin_port);
			} else {
				/* The same number must be free for TCP too. */
				fd2 = socket(AF_INET, SOCK_STREAM, 0);
				if (fd2 >= 0 && !bind(fd2, (struct sockaddr *)&a, sizeof(a)))
					port = ntohs(a.sin_port);
				if (fd2 >= 0)
					close(fd2);
			}
		}
		close(fd);
	}
	return port;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void testproc_rm_tree(const char *dir, const char *prefix)
{
	if (dir[0] && !strncmp(dir, prefix, strlen(prefix)))
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
