// SPDX-License-Identifier: GPL-2.0-only
/*
 * DNS servers for the dns discovery tests (see dns_server.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "dns_server.h"
#include "testproc.h"

const char *dns_srv_binary(void)
{
	static const char *const paths[] = {"/usr/sbin/unbound", "/usr/local/sbin/unbound", NULL};

	return testproc_find(paths);
}

static const char *control_binary(void)
{
	static const char *const paths[] = {
		"/usr/sbin/unbound-control",
		"/usr/local/sbin/unbound-control",
		NULL,
	};

	return testproc_find(paths);
}

/* Run argv, output to the log file; its exit status or -1. */
static int run(char *const argv[], const char *log)
{
	pid_t pid = fork();
	int st, fd;

	if (pid < 0)
		return -1;
	if (!pid) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int dns_srv_ctl(struct dns_srv *s, const char *cmd, const char *arg)
{
	const char *ctl = control_binary();
	char log[128];
	char *argv[] = {(char *)ctl, "-c", s->conf, (char *)cmd, (char *)arg, NULL};

	if (!ctl)
		return -ENOENT;
	snprintf(log, sizeof(log), "%s/control.log", s->dir);
	return run(argv, log) ? -EIO : 0;
}

static int spawn(struct dns_srv *s)
{
	struct timespec ts = {0, 50 * 1000 * 1000};
	const char *bin = dns_srv_binary();
	char log[128];
	pid_t parent = getpid(), pid;
	int i, fd, st;

	snprintf(log, sizeof(log), "%s/unbound.log", s->dir);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(bin, bin, "-d", "-c", s->conf, (char *)NULL);
		_exit(127);
	}
	s->pid = pid;
	for (i = 0; i < 200; i++) { /* 10 s */
		if (waitpid(pid, &st, WNOHANG) == pid) {
			s->pid = 0;
			fprintf(stderr, "unbound exited at start; see %s\n", log);
			return -ECHILD;
		}
		if (!dns_srv_ctl(s, "status", NULL))
			return 0;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "unbound did not answer its control socket in 10 s; see %s\n", log);
	dns_srv_kill(s);
	return -ETIMEDOUT;
}

int dns_srv_start(struct dns_srv *s, const char *zone, const char *const *rrs)
{
	FILE *f;

	memset(s, 0, sizeof(*s));
	if (!dns_srv_binary() || !control_binary())
		return -ENOENT;
	snprintf(s->dir, sizeof(s->dir), "/tmp/xlbt-dns.XXXXXX");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = 0;
		return -errno;
	}
	s->port = testproc_free_port(1);
	if (s->port < 0)
		return -EADDRINUSE;
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
	snprintf(s->conf, sizeof(s->conf), "%s/unbound.conf", s->dir);
	f = fopen(s->conf, "w");
	if (!f)
		return -errno;
	/*
	 * Loopback only; no privileges dropped (the test's own user), no
	 * DNSSEC, no chroot. The zone is served from local data; every other
	 * name is refused here, so unbound never sends a query anywhere.
	 */
	fprintf(f,
		"server:\n"
		"  interface: 127.0.0.1\n"
		"  port: %d\n"
		"  do-ip6: no\n"
		"  access-control: 127.0.0.0/8 allow\n"
		"  username: \"\"\n"
		"  chroot: \"\"\n"
		"  directory: \"%s\"\n"
		"  pidfile: \"%s/unbound.pid\"\n"
		"  use-syslog: no\n"
		"  logfile: \"\"\n"
		"  verbosity: 1\n"
		"  num-threads: 1\n"
		"  so-reuseport: no\n"
		"  outgoing-range: 8\n"
		"  module-config: \"iterator\"\n"
		"  local-zone: \".\" refuse\n"
		"  local-zone: \"%s.\" static\n"
		"  local-data: \"%s. 3600 IN SOA ns.%s. admin.%s. 1 3600 600 86400 1\"\n",
		s->port, s->dir, s->dir, zone, zone, zone, zone);
	for (; rrs && *rrs; rrs++)
		fprintf(f, "  local-data: \"%s\"\n", *rrs);
	fprintf(f,
		"remote-control:\n"
		"  control-enable: yes\n"
		"  control-interface: \"%s/control.sock\"\n"
		"  control-use-cert: no\n",
		s->dir);
	if (fclose(f))
		return -errno;
	return spawn(s);
}

void dns_srv_kill(struct dns_srv *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

int dns_srv_restart(struct dns_srv *s)
{
	char sock[128];

	dns_srv_kill(s);
	snprintf(sock, sizeof(sock), "%s/control.sock", s->dir);
	unlink(sock);
	return spawn(s);
}

void dns_srv_stop(struct dns_srv *s)
{
	dns_srv_kill(s);
	testproc_rm_tree(s->dir, "/tmp/xlbt-dns.");
	s->dir[0] = 0;
}

/* --- the scripted responder ------------------------------------------------------- */

static const char *resp_script(void)
{
	static char path[4200];
	char exe[4096], *p;
	ssize_t n;
	int up;

	if (!access("tests/lib/dns_server.py", R_OK))
		return "tests/lib/dns_server.py";
	/* build/tests/unit/test_x -> <repo>/tests/lib/dns_server.py */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (up = 0; up < 4 && (p = strrchr(exe, '/')); up++)
		*p = '\0';
	snprintf(path, sizeof(path), "%s/tests/lib/dns_server.py", exe);
	return access(path, R_OK) ? NULL : path;
}

int dns_resp_mode(struct dns_resp *r, const char *mode)
{
	char tmp[80];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", r->modefile);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", mode);
	if (fclose(f))
		return -errno;
	return rename(tmp, r->modefile) ? -errno : 0; /* atomic for the reader */
}

int dns_resp_start(struct dns_resp *r)
{
	const char *script = resp_script();
	pid_t parent = getpid();
	char line[32];
	int fds[2], fd;
	FILE *f;

	memset(r, 0, sizeof(*r));
	if (!script)
		return -ENOENT;
	snprintf(r->modefile, sizeof(r->modefile), "/tmp/xlbt-dnsmode.XXXXXX");
	fd = mkstemp(r->modefile);
	if (fd < 0)
		return -errno;
	close(fd);
	if (dns_resp_mode(r, "good") || pipe(fds))
		return -errno;
	r->pid = fork();
	if (r->pid < 0)
		return -errno;
	if (!r->pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", script, "serve", r->modefile, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || (r->port = atoi(line)) <= 0) {
		if (f)
			fclose(f);
		dns_resp_stop(r);
		return -ENOENT;
	}
	fclose(f);
	snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
	return 0;
}

void dns_resp_stop(struct dns_resp *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
	if (r->modefile[0])
		unlink(r->modefile);
	r->modefile[0] = 0;
}
