/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Over 1,000 lines on purpose: the in-process probe servers and the event
 * loop driver (about 450 lines) serve every case; parts would each need them.
 *
 * The active checker (user/lib/health/checker.c, probe.c) with real probes on loopback
 * (127.0.0.1 and ::1 only). The servers live in this process: a thread per
 * listening socket that accepts and closes, answers HTTP with a status set
 * by the test, holds connections without answering, closes after reading,
 * or answers garbage; a bound socket that does not listen gives refused
 * connections (and listens later, to recover); a listener with a full
 * backlog never completes a handshake (timeouts). The event loop runs until
 * a condition holds or a bound passes; the recorded callback sequences are
 * compared with the expected ones and printed in full when they differ.
 * HTTPS with a real handshake: a self-signed certificate from the openssl
 * CLI and a TLS HTTP server in a python3 child (both at test time; the
 * test skips without them).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <event2/event.h>

#include "health/checker.h"
#include "../lib/check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_RECS      64
#define MAX_HELD      256

/* --- time -------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- addresses --------------------------------------------------------------- */

static struct xlb_addr_key loopback(int family)
{
	struct xlb_addr_key k;

	memset(&k, 0, sizeof(k));
	if (family == AF_INET) {
		k.family = XLB_AF_INET;
		k.addr[0] = htonl(INADDR_LOOPBACK);
	} else {
		k.family = XLB_AF_INET6;
		memcpy(k.addr, &in6addr_loopback, sizeof(k.addr));
	}
	return k;
}

static socklen_t loopback_sa(int family, struct sockaddr_storage *ss, __u16 port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = in6addr_loopback;
	sin6->sin6_port = htons(port);
	return sizeof(*sin6);
}

/* A socket bound to a free loopback port; listening with @backlog >= 0. */
static int bound_socket(int family, int backlog, __u16 *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_sa(family, &ss, 0);
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) ||
	    (backlog >= 0 && listen(fd, backlog))) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static int fcntl_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int have_ipv6(void)
{
	__u16 port;
	int fd = bound_socket(AF_INET6, -1, &port);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* --- servers ------------------------------------------------------------------ */

enum srv_mode {
	SRV_ACCEPT,  /* accept and close */
	SRV_HTTP,    /* read a request, answer with status, close */
	SRV_SILENT,  /* accept, never answer, keep the connection */
	SRV_CLOSE,   /* read what comes, close without an answer */
	SRV_GARBAGE, /* read a request, answer no HTTP at all */
};

struct srv {
	int fd, family;
	__u16 port;
	pthread_t th;
	atomic_int stop, mode, status, accepted, requests;
	pthread_mutex_t lock;
	char last_req[2048];
	int held[MAX_HELD], nheld; /* the thread's own */
};

/* Whether buf holds a whole request: its head and the body Content-Length announces. */
static int request_whole(const char *buf, size_t n)
{
	const char *end = strstr(buf, "\r\n\r\n"), *cl;

	if (!end)
		return 0;
	cl = strstr(buf, "\r\nContent-Length:");
	if (!cl || cl > end)
		return 1;
	return n >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
}

/* Read until the end of the request (or EOF, or 500 ms). */
static int read_request(int fd, char *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len) {
		if (poll(&p, 1, 500) <= 0)
			break;
		r = read(fd, buf + n, len - 1 - n);
		if (r <= 0)
			break;
		n += r;
		buf[n] = '\0';
		if (request_whole(buf, n))
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

static void serve(struct srv *s, int fd)
{
	struct pollfd p = {.events = POLLIN};
	char buf[2048], resp[256];
	int st, mode = atomic_load(&s->mode);

	switch (mode) {
	case SRV_ACCEPT:
		close(fd);
		return;
	case SRV_SILENT:
		if (s->nheld < MAX_HELD)
			s->held[s->nheld++] = fd;
		else
			close(fd);
		return;
	case SRV_CLOSE:
		/* one read: a request, or a TLS ClientHello */
		p.fd = fd;
		if (poll(&p, 1, 500) > 0 && read(fd, buf, sizeof(buf)) < 0)
			st = 0;
		close(fd);
		return;
	}
	read_request(fd, buf, sizeof(buf));
	pthread_mutex_lock(&s->lock);
	memcpy(s->last_req, buf, sizeof(buf));
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&s->requests, 1);
	st = atomic_load(&s->status);
	if (mode == SRV_GARBAGE)
		snprintf(resp, sizeof(resp), "garbage\r\n\r\n");
	else
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 %d Test\r\nContent-Length: 2\r\nConnection: close\r\n%s\r\nok",
			 st, st == 302 ? "Location: http://127.0.0.1:1/elsewhere\r\n" : "");
	if (write(fd, resp, strlen(resp)) < 0)
		st = 0;
	close(fd);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	int fd, i;

	while (!atomic_load(&s->stop)) {
		if (poll(&p, 1, 10) <= 0)
			continue;
		while ((fd = accept(s->fd, NULL, NULL)) >= 0) {
			atomic_fetch_add(&s->accepted, 1);
			serve(s, fd);
		}
	}
	for (i = 0; i < s->nheld; i++)
		close(s->held[i]);
	return NULL;
}

static struct srv *srv_start(int family, enum srv_mode mode, int status)
{
	struct srv *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->family = family;
	s->fd = bound_socket(family, 4096, &s->port);
	assert_true(s->fd >= 0);
	assert_int_equal(fcntl_nonblock(s->fd), 0);
	atomic_store(&s->mode, mode);
	atomic_store(&s->status, status);
	pthread_mutex_init(&s->lock, NULL);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	return s;
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void srv_last_request(struct srv *s, char *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	snprintf(buf, len, "%s", s->last_req);
	pthread_mutex_unlock(&s->lock);
}

/*
 * A listener whose accept queue is full: with backlog 0 one handshake
 * completes (kept in fillers[0]); later SYNs are dropped, so connects hang.
 */
struct stuck {
	int fd, filler;
	__u16 port;
};

static void stuck_start(struct stuck *st, int family)
{
	struct sockaddr_storage ss;
	struct pollfd p;
	socklen_t len;

	st->fd = bound_socket(family, 0, &st->port);
	assert_true(st->fd >= 0);
	len = loopback_sa(family, &ss, st->port);
	st->filler = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(st->filler >= 0);
	connect(st->filler, (struct sockaddr *)&ss, len);
	p.fd = st->filler;
	p.events = POLLOUT;
	assert_int_equal(poll(&p, 1, 1000), 1);
}

static void stuck_stop(struct stuck *st)
{
	close(st->filler);
	close(st->fd);
}

/*
 * A TLS HTTP server in a python3 child (stdlib only), on 127.0.0.1 and an
 * ephemeral port it prints once listening. GET /503 answers 503; GET /sni
 * answers 200 only when the handshake's SNI and the Host header are both
 * svc.example (else 500); any other path 200. The handshake runs in the
 * handler's thread, so a client that aborts it (certificate rejected)
 * stalls nothing; such errors are not printed. It exits by itself after
 * 60 s should this process die without killing it.
 */
static const char tls_server_py[] =
	"import http.server, os, sys, threading\n"
	"try:\n"
	"    import ssl\n"
	"except ImportError:\n"
	"    sys.exit(77)\n"
	"ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
	"ctx.load_cert_chain(sys.argv[1], sys.argv[2])\n"
	"def on_sni(sock, name, c):\n"
	"    sock.sni = name\n"
	"ctx.sni_callback = on_sni\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.1'\n"
	"    def do_GET(self):\n"
	"        st = 200\n"
	"        if self.path == '/503':\n"
	"            st = 503\n"
	"        elif self.path == '/sni':\n"
	"            ok = (getattr(self.connection, 'sni', None) == 'svc.example' and\n"
	"                  self.headers.get('Host') == 'svc.example')\n"
	"            st = 200 if ok else 500\n"
	"        self.send_response(st)\n"
	"        self.send_header('Content-Length', '2')\n"
	"        self.send_header('Connection', 'close')\n"
	"        self.end_headers()\n"
	"        self.wfile.write(b'ok')\n"
	"    def log_message(self, *a):\n"
	"        pass\n"
	"class S(http.server.ThreadingHTTPServer):\n"
	"    daemon_threads = True\n"
	"    def get_request(self):\n"
	"        c, a = self.socket.accept()\n"
	"        return ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False), a\n"
	"    def handle_error(self, *a):\n"
	"        pass\n"
	"s = S(('127.0.0.1', 0), H)\n"
	"w = threading.Timer(60, os._exit, (0,))\n"
	"w.daemon = True\n"
	"w.start()\n"
	"print(s.server_address[1], flush=True)\n"
	"s.serve_forever()\n";

/* The certificate's directory and the server; teardown_tls() cleans up. */
static struct {
	char dir[64];
	pid_t pid;
	__u16 port;
} tls;

static int in_path(const char *prog)
{
	const char *path = getenv("PATH"), *end;
	char file[4096];
	size_t n;

	for (; path && *path; path = *end ? end + 1 : end) {
		end = strchr(path, ':');
		if (!end)
			end = path + strlen(path);
		n = (size_t)(end - path);
		snprintf(file, sizeof(file), "%.*s/%s", (int)(n ? n : 1), n ? path : ".", prog);
		if (access(file, X_OK) == 0)
			return 1;
	}
	return 0;
}

/* fork + exec argv; stdout to out_fd, stderr to err_fd (-1: inherited). */
static pid_t spawn(char *const argv[], int out_fd, int err_fd)
{
	pid_t parent = getpid(), pid = fork();

	if (pid)
		return pid;
	/* never outlive the test, even when it crashes */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if ((out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0) ||
	    (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0))
		_exit(127);
	execvp(argv[0], argv);
	_exit(127);
}

static void tls_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tls.dir, name);
}

static void print_file(const char *file)
{
	char line[256];
	FILE *f = fopen(file, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		print_message("  %s", line);
	fclose(f);
}

/*
 * A self-signed certificate for svc.example and 127.0.0.1 and the server
 * using it. Returns 0, or a reason to skip (printed); failures fail.
 */
static const char *tls_start(void)
{
	char key[96], cert[96], log[96], buf[16];
	char *req[] = {"openssl",  "req",
		       "-x509",	   "-newkey",
		       "rsa:2048", "-nodes",
		       "-days",	   "1",
		       "-subj",	   "/CN=svc.example",
		       "-addext",  "subjectAltName=DNS:svc.example,IP:127.0.0.1",
		       "-keyout",  key,
		       "-out",	   cert,
		       NULL};
	char *py[] = {"python3", "-c", (char *)tls_server_py, cert, key, NULL};
	struct pollfd p = {.events = POLLIN};
	int fd, pfd[2], st, n = 0;
	double until;
	ssize_t r;
	pid_t pid;

	if (!in_path("openssl"))
		return "no openssl in PATH";
	if (!in_path("python3"))
		return "no python3 in PATH";
	snprintf(tls.dir, sizeof(tls.dir), "/tmp/xlb-test-tls-XXXXXX");
	if (!mkdtemp(tls.dir)) {
		tls.dir[0] = '\0';
		fail_msg("mkdtemp: %s", strerror(errno));
	}
	tls_path(key, sizeof(key), "key.pem");
	tls_path(cert, sizeof(cert), "cert.pem");
	tls_path(log, sizeof(log), "openssl.log");

	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	pid = spawn(req, fd, fd);
	close(fd);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		/* e.g. an openssl older than 1.1.1 (no -addext) */
		print_message("openssl req failed (status %#x):\n", st);
		print_file(log);
		return "openssl could not make the certificate";
	}

	assert_int_equal(pipe(pfd), 0);
	fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
	tls.pid = spawn(py, pfd[1], -1);
	close(pfd[1]);
	assert_true(tls.pid > 0);
	/* The port, once listening (a bound for a loaded machine, not a timing). */
	p.fd = pfd[0];
	for (until = now_s() + 10; n < (int)sizeof(buf) - 1 && !memchr(buf, '\n', n);) {
		if (poll(&p, 1, 100) <= 0) {
			if (now_s() < until)
				continue;
			break;
		}
		r = read(pfd[0], buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += r;
	}
	close(pfd[0]);
	buf[n] = '\0';
	tls.port = (__u16)atoi(buf);
	if (!memchr(buf, '\n', n) || !tls.port) {
		if (waitpid(tls.pid, &st, WNOHANG) == tls.pid) {
			tls.pid = 0;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
				return "python3 has no ssl module";
		}
		fail_msg("the TLS server did not start (read \"%s\")", buf);
	}
	return NULL;
}

static void tls_stop(void)
{
	char file[96];
	static const char *const files[] = {"key.pem", "cert.pem", "openssl.log"};
	size_t i;

	if (tls.pid > 0) {
		kill(tls.pid, SIGTERM);
		waitpid(tls.pid, NULL, 0);
	}
	tls.pid = 0;
	if (tls.dir[0]) {
		for (i = 0; i < ARRAY_SIZE(files); i++) {
			tls_path(file, sizeof(file), files[i]);
			unlink(file);
		}
		if (rmdir(tls.dir))
			print_error("rmdir %s: %s\n", tls.dir, strerror(errno));
	}
	tls.dir[0] = '\0';
}

/* --- the checker under test, and what its callback saw ------------------------ */

struct rec {
	struct xlb_target *t;
	enum xlb_health old, new;
	enum xlb_health_event ev;
	char detail[96];
	double at;
};

struct ctx {
	struct event_base *base;
	struct xlb_checker *c;
	struct rec recs[MAX_RECS];
	int n;
	struct xlb_target *put_in_cb; /* drop this target's reference in the callback */
	double t0;
};

static void on_health(struct xlb_target *t, enum xlb_health old, enum xlb_health new,
		      enum xlb_health_event ev, const char *detail, void *arg)
{
	struct ctx *x = arg;
	struct rec *r;

	if (x->n < MAX_RECS) {
		r = &x->recs[x->n];
		r->t = t;
		r->old = old;
		r->new = new;
		r->ev = ev;
		snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "");
		r->at = now_s() - x->t0;
	}
	x->n++;
	assert_int_equal(xlb_target_state(t), new);
	if (t == x->put_in_cb) {
		x->put_in_cb = NULL;
		xlb_checker_put(x->c, t);
	}
}

static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	x->base = event_base_new();
	x->c = x->base ? xlb_checker_new(x->base, on_health, x) : NULL;
	if (!x->c)
		return -1;
	x->t0 = now_s();
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *x = *state;

	xlb_checker_free(x->c);
	event_base_free(x->base);
	free(x);
	return 0;
}

/* teardown(), and the TLS server and certificate of test_https() */
static int teardown_tls(void **state)
{
	int r = teardown(state);

	tls_stop();
	return r;
}

struct want {
	enum xlb_health old, new;
	enum xlb_health_event ev;
	const char *detail; /* a prefix; NULL: any */
};

/* The callbacks for t, in order, from the first one on or after @from. */
static void expect_recs(struct ctx *x, struct xlb_target *t, int from, const struct want *w, int nw,
			const char *what)
{
	const struct rec *r;
	int i, k = 0, bad = 0;

	for (i = from; i < x->n && i < MAX_RECS; i++) {
		r = &x->recs[i];
		if (r->t != t)
			continue;
		if (k >= nw || r->old != w[k].old || r->new != w[k].new || r->ev != w[k].ev ||
		    (w[k].detail && strncmp(r->detail, w[k].detail, strlen(w[k].detail))))
			bad = 1;
		k++;
	}
	if (!bad && k == nw)
		return;
	print_error("%s: callbacks differ\n  got:\n", what);
	for (i = from; i < x->n && i < MAX_RECS; i++) {
		r = &x->recs[i];
		if (r->t == t)
			print_error("    %.3f s %s -> %s (%s: %s)\n", r->at,
				    xlb_health_name(r->old), xlb_health_name(r->new),
				    xlb_health_event_name(r->ev), r->detail);
	}
	print_error("  expected:\n");
	for (k = 0; k < nw; k++)
		print_error("    %s -> %s (%s: %s...)\n", xlb_health_name(w[k].old),
			    xlb_health_name(w[k].new), xlb_health_event_name(w[k].ev),
			    w[k].detail ? w[k].detail : "");
	fail();
}

/* The detail of t's first callback. */
static const char *detail_of(struct ctx *x, struct xlb_target *t)
{
	int i;

	for (i = 0; i < x->n && i < MAX_RECS; i++)
		if (x->recs[i].t == t)
			return x->recs[i].detail;
	return "";
}

static void expect_state(struct xlb_target *t, enum xlb_health want, const char *what)
{
	if (xlb_target_state(t) != want)
		fail_msg("%s: state %s, expected %s", what, xlb_health_name(xlb_target_state(t)),
			 xlb_health_name(want));
}

/* --- running the loop ------------------------------------------------------------ */

typedef int (*cond_fn)(void *arg);

struct runner {
	struct event_base *base;
	cond_fn cond;
	void *arg;
	double deadline;
	int met;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct runner *r = arg;

	if (r->cond && r->cond(r->arg)) {
		r->met = 1;
		event_base_loopbreak(r->base);
	} else if (now_s() >= r->deadline) {
		event_base_loopbreak(r->base);
	}
}

/* Run the loop until cond(arg) holds (checked every 2 ms) or max_s passed. */
static int run_until(struct ctx *x, cond_fn cond, void *arg, double max_s)
{
	struct runner r = {x->base, cond, arg, now_s() + max_s, 0};
	struct timeval tv = {0, 2000};
	struct event *ev = event_new(x->base, -1, EV_PERSIST, on_tick, &r);

	assert_non_null(ev);
	event_add(ev, &tv);
	event_base_loop(x->base, 0);
	event_free(ev);
	return r.met;
}

static void run_for(struct ctx *x, double s)
{
	run_until(x, NULL, NULL, s);
}

struct state_cond {
	struct xlb_target *t;
	enum xlb_health want;
};

static int state_is(void *arg)
{
	struct state_cond *c = arg;

	return xlb_target_state(c->t) == c->want;
}

static void run_until_state(struct ctx *x, struct xlb_target *t, enum xlb_health want, double max_s,
			    const char *what)
{
	struct state_cond c = {t, want};

	if (!run_until(x, state_is, &c, max_s))
		fail_msg("%s: still %s after %.2f s, expected %s (%lu probes)", what,
			 xlb_health_name(xlb_target_state(t)), max_s, xlb_health_name(want),
			 xlb_target_probes(t));
}

struct probes_cond {
	struct xlb_target *t;
	unsigned long n;
};

static int probes_reach(void *arg)
{
	struct probes_cond *c = arg;

	return xlb_target_probes(c->t) >= c->n;
}

/* --- check settings ------------------------------------------------------------- */

static struct xlb_check_active tcp_check(double interval, double timeout)
{
	static const unsigned int ok[] = {200, 302};
	static const unsigned int bad[] = {429, 404, 500, 501, 502, 503, 504, 505};
	struct xlb_check_active a;

	memset(&a, 0, sizeof(a));
	a.enabled = 1;
	a.type = XLB_CHECK_TCP;
	a.timeout = timeout;
	a.concurrency = 10;
	snprintf(a.http_path, sizeof(a.http_path), "/");
	a.https_verify_certificate = 1;
	a.healthy.interval = interval;
	a.healthy.successes = 2;
	a.healthy.nstatus = ARRAY_SIZE(ok);
	memcpy(a.healthy.http_statuses, ok, sizeof(ok));
	a.unhealthy.interval = interval;
	a.unhealthy.tcp_failures = 2;
	a.unhealthy.http_failures = 5;
	a.unhealthy.timeouts = 3;
	a.unhealthy.nstatus = ARRAY_SIZE(bad);
	memcpy(a.unhealthy.http_statuses, bad, sizeof(bad));
	return a;
}

static struct xlb_check_active http_check(double interval, double timeout)
{
	struct xlb_check_active a = tcp_check(interval, timeout);

	a.type = XLB_CHECK_HTTP;
	return a;
}

/* --- tests -------------------------------------------------------------------------- */

/*
 * Refused twice: healthy -> mostly_healthy -> unhealthy, each failure known
 * long before the timeout; then the port listens: back to healthy.
 */
static void flip_and_recover(struct ctx *x, int family)
{
	struct xlb_check_active a = tcp_check(0.05, 2.0);
	struct xlb_addr_key k = loopback(family);
	const struct want down[] = {
		{XLB_H_HEALTHY, XLB_H_MOSTLY_HEALTHY, XLB_EV_TCP_FAILURE,
		 "connect: Connection refused"},
		{XLB_H_MOSTLY_HEALTHY, XLB_H_UNHEALTHY, XLB_EV_TCP_FAILURE,
		 "connect: Connection refused"},
	};
	const struct want up[] = {
		{XLB_H_UNHEALTHY, XLB_H_MOSTLY_UNHEALTHY, XLB_EV_SUCCESS, "connected"},
		{XLB_H_MOSTLY_UNHEALTHY, XLB_H_HEALTHY, XLB_EV_SUCCESS, "connected"},
	};
	const struct xlb_health_counters *c;
	struct xlb_target *t;
	double t0, took;
	__u16 port;
	int fd, mark;

	fd = bound_socket(family, -1, &port);
	assert_true(fd >= 0);
	t0 = now_s();
	t = xlb_checker_get(x->c, &k, port, &a);
	assert_non_null(t);
	expect_state(t, XLB_H_HEALTHY, "new target");
	assert_true(xlb_target_latency(t) < 0);

	run_until_state(x, t, XLB_H_UNHEALTHY, 1.0, "refused");
	took = now_s() - t0;
	expect_recs(x, t, 0, down, ARRAY_SIZE(down), "refused twice");
	/* refused counts at once: nowhere near the 2 s timeout */
	print_message("%s: unhealthy after %.3f s (2 refused probes, interval 0.05 s, "
		      "timeout 2 s); last probe %.4f s\n",
		      family == AF_INET ? "IPv4" : "IPv6", took, xlb_target_latency(t));
	assert_true(took < a.timeout / 2);
	assert_true(xlb_target_latency(t) >= 0 && xlb_target_latency(t) < a.timeout / 2);
	c = xlb_target_counters(t);
	assert_int_equal(c->tcp_failure, 2);
	assert_int_equal(c->success, 0);

	mark = x->n;
	assert_int_equal(listen(fd, 64), 0);
	run_until_state(x, t, XLB_H_HEALTHY, 1.0, "listening again");
	expect_recs(x, t, mark, up, ARRAY_SIZE(up), "recovery");
	c = xlb_target_counters(t);
	assert_int_equal(c->tcp_failure, 0);
	assert_int_equal(c->success, 2); /* lua-resty-healthcheck: no reset on a flip */
	assert_true(xlb_target_probes(t) >= 4);

	xlb_checker_put(x->c, t);
	close(fd);
}

static void test_tcp_flip_recover_ipv4(void **state)
{
	flip_and_recover(*state, AF_INET);
}

static void test_tcp_flip_recover_ipv6(void **state)
{
	if (!have_ipv6())
		check_skip("no IPv6 on loopback (::1)");
	flip_and_recover(*state, AF_INET6);
}

/* No handshake: timeouts, at the timeout, not earlier. */
static void test_tcp_timeout(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = tcp_check(0.02, 0.1);
	struct xlb_addr_key k = loopback(AF_INET);
	const struct want w[] = {
		{XLB_H_HEALTHY, XLB_H_MOSTLY_HEALTHY, XLB_EV_TIMEOUT, "timeout after 0.1 s"},
		{XLB_H_MOSTLY_HEALTHY, XLB_H_UNHEALTHY, XLB_EV_TIMEOUT, "timeout after 0.1 s"},
	};
	struct xlb_target *t;
	struct stuck st;

	stuck_start(&st, AF_INET);
	a.unhealthy.timeouts = 2;
	t = xlb_checker_get(x->c, &k, st.port, &a);
	assert_non_null(t);
	run_until_state(x, t, XLB_H_UNHEALTHY, 1.0, "no handshake");
	expect_recs(x, t, 0, w, ARRAY_SIZE(w), "timeouts");
	/* A timeout never comes early; how late is a benchmark's business. */
	assert_true(xlb_target_latency(t) >= 0.095);
	assert_int_equal(xlb_target_counters(t)->timeout, 2);
	xlb_checker_put(x->c, t);
	stuck_stop(&st);
}

/*
 * HTTP: the request (path, Host, extra headers), and the status mapping:
 * unhealthy list -> http failure, neither list -> no event, healthy list
 * -> success, a redirect is a status, not followed.
 */
static void test_http_status_mapping(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = http_check(0.02, 1.0);
	struct xlb_addr_key k = loopback(AF_INET);
	const struct want down[] = {
		{XLB_H_HEALTHY, XLB_H_UNHEALTHY, XLB_EV_HTTP_FAILURE, "http 503"},
	};
	const struct want up[] = {
		{XLB_H_UNHEALTHY, XLB_H_HEALTHY, XLB_EV_SUCCESS, "http 200"},
	};
	struct probes_cond pc;
	struct xlb_target *t;
	char req[2048];
	struct srv *s;
	int mark, n;

	s = srv_start(AF_INET, SRV_HTTP, 503);
	snprintf(a.http_path, sizeof(a.http_path), "/healthz?x=1");
	snprintf(a.host, sizeof(a.host), "svc.example");
	a.nheaders = 2;
	snprintf(a.req_headers[0], sizeof(a.req_headers[0]), "X-Probe: xlb");
	snprintf(a.req_headers[1], sizeof(a.req_headers[1]), "User-Agent: xlb-test");
	a.healthy.successes = 1;
	a.unhealthy.http_failures = 1;
	t = xlb_checker_get(x->c, &k, 1, &a); /* the node port is 1; check->port wins */
	assert_non_null(t);
	a.port = s->port;
	assert_ptr_equal(xlb_checker_get(x->c, &k, 1, &a), t);
	xlb_checker_put(x->c, t);

	run_until_state(x, t, XLB_H_UNHEALTHY, 1.0, "503");
	expect_recs(x, t, 0, down, ARRAY_SIZE(down), "503");
	srv_last_request(s, req, sizeof(req));
	if (strncmp(req, "GET /healthz?x=1 HTTP/1.1\r\n", 27) ||
	    !strstr(req, "\r\nHost: svc.example\r\n") || !strstr(req, "\r\nX-Probe: xlb\r\n") ||
	    !strstr(req, "\r\nUser-Agent: xlb-test\r\n"))
		fail_msg("unexpected request:\n%s", req);

	/* 418 is in neither list: probes go on, nothing changes */
	mark = x->n;
	atomic_store(&s->status, 418);
	pc.t = t;
	pc.n = xlb_target_probes(t) + 3;
	assert_true(run_until(x, probes_reach, &pc, 1.0));
	assert_int_equal(x->n, mark);
	expect_state(t, XLB_H_UNHEALTHY, "418");
	assert_int_equal(xlb_target_counters(t)->http_failure, 1);

	atomic_store(&s->status, 200);
	run_until_state(x, t, XLB_H_HEALTHY, 1.0, "200");
	expect_recs(x, t, mark, up, ARRAY_SIZE(up), "200");

	/* 302 is in the healthy list; its Location is not followed */
	atomic_store(&s->status, 302);
	pc.n = xlb_target_probes(t) + 3;
	assert_true(run_until(x, probes_reach, &pc, 1.0));
	expect_state(t, XLB_H_HEALTHY, "302");
	assert_int_equal(x->n, mark + 1);
	/* one request per probe (the last may still be on its way): no redirect followed */
	n = atomic_load(&s->requests);
	if (n > (int)xlb_target_probes(t) || n + 1 < (int)xlb_target_probes(t))
		fail_msg("%d requests for %lu probes", n, xlb_target_probes(t));
	xlb_checker_put(x->c, t);
	srv_stop(s);
}

/* IPv6 literal in brackets; without check->host, Host is the address. */
static void test_http_ipv6(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = http_check(0.02, 1.0);
	struct xlb_addr_key k = loopback(AF_INET6);
	const struct want w[] = {
		{XLB_H_HEALTHY, XLB_H_MOSTLY_HEALTHY, XLB_EV_HTTP_FAILURE, "http 500"},
		{XLB_H_MOSTLY_HEALTHY, XLB_H_UNHEALTHY, XLB_EV_HTTP_FAILURE, "http 500"},
	};
	struct xlb_target *t;
	char req[2048], host[64];
	struct srv *s;

	if (!have_ipv6())
		check_skip("no IPv6 on loopback (::1)");
	s = srv_start(AF_INET6, SRV_HTTP, 500);
	a.unhealthy.http_failures = 2;
	t = xlb_checker_get(x->c, &k, s->port, &a);
	assert_non_null(t);
	run_until_state(x, t, XLB_H_UNHEALTHY, 1.0, "500 on ::1");
	expect_recs(x, t, 0, w, ARRAY_SIZE(w), "500 on ::1");
	srv_last_request(s, req, sizeof(req));
	snprintf(host, sizeof(host), "\r\nHost: [::1]:%u\r\n", s->port);
	if (strncmp(req, "GET / HTTP/1.1\r\n", 16) || !strstr(req, host))
		fail_msg("unexpected request:\n%s", req);
	xlb_checker_put(x->c, t);
	srv_stop(s);
}

/*
 * checks.active.http_method and http_req_body: the request line has the
 * method, the body follows the head; HEAD waits for no body (the server
 * announces two bytes, which a HEAD answer never has).
 */
static void test_http_method(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = http_check(0.02, 1.0);
	struct xlb_addr_key k = loopback(AF_INET);
	const struct want w[] = {
		{XLB_H_HEALTHY, XLB_H_UNHEALTHY, XLB_EV_HTTP_FAILURE, "http 503"},
	};
	struct xlb_target *t;
	char req[2048];
	struct srv *s;

	s = srv_start(AF_INET, SRV_HTTP, 503);
	snprintf(a.http_method, sizeof(a.http_method), "POST");
	snprintf(a.http_path, sizeof(a.http_path), "/rpc");
	snprintf(a.http_req_body, sizeof(a.http_req_body), "{\"ping\":1}");
	a.unhealthy.http_failures = 1;
	a.healthy.successes = 1;
	t = xlb_checker_get(x->c, &k, s->port, &a);
	assert_non_null(t);
	run_until_state(x, t, XLB_H_UNHEALTHY, 1.0, "POST 503");
	expect_recs(x, t, 0, w, ARRAY_SIZE(w), "POST 503");
	srv_last_request(s, req, sizeof(req));
	if (strncmp(req, "POST /rpc HTTP/1.1\r\n", 20) ||
	    !strstr(req, "\r\nContent-Length: 10\r\n") || !strstr(req, "\r\n\r\n{\"ping\":1}"))
		fail_msg("unexpected POST request:\n%s", req);
	xlb_checker_put(x->c, t);

	/* A body with GET keeps the method; then HEAD: healthy at 200, no timeout. */
	snprintf(a.http_method, sizeof(a.http_method), "GET");
	t = xlb_checker_get(x->c, &k, s->port, &a);
	assert_non_null(t);
	run_until_state(x, t, XLB_H_UNHEALTHY, 1.0, "GET 503");
	srv_last_request(s, req, sizeof(req));
	if (strncmp(req, "GET /rpc HTTP/1.1\r\n", 19) || !strstr(req, "\r\n\r\n{\"ping\":1}"))
		fail_msg("unexpected GET request with a body:\n%s", req);

	/* The same target, new settings: it stays unhealthy until HEAD gets 200. */
	snprintf(a.http_method, sizeof(a.http_method), "HEAD");
	a.http_req_body[0] = '\0';
	a.timeout = 0.5;
	atomic_store(&s->status, 200);
	assert_ptr_equal(xlb_checker_get(x->c, &k, s->port, &a), t);
	xlb_checker_put(x->c, t);
	run_until_state(x, t, XLB_H_HEALTHY, 1.0, "HEAD 200");
	srv_last_request(s, req, sizeof(req));
	if (strncmp(req, "HEAD /rpc HTTP/1.1\r\n", 20))
		fail_msg("unexpected HEAD request:\n%s", req);
	xlb_checker_put(x->c, t);
	srv_stop(s);
}

/*
 * What each way of failing counts as, all on one loop at once: refused
 * (HTTP), no answer, closed without an answer, not HTTP, TLS to a server
 * that does not speak it.
 */
static void test_http_failures(void **state)
{
	struct ctx *x = *state;
	struct {
		const char *name;
		enum srv_mode mode; /* -1: a refused port */
		enum xlb_check_type type;
		const char *host;
		enum xlb_health_event ev;
		const char *detail;
		double max_latency;
		struct srv *s;
		int fd;
		struct xlb_target *t;
	} c[] = {
		/*
		 * max_latency is a sanity bound only: the event kind shows the
		 * cause (a refusal is a tcp_failure, not a timeout), and timing
		 * figures belong to benchmarks, not to assertions on a loaded VM.
		 */
		{"refused", -1, XLB_CHECK_HTTP, "", XLB_EV_TCP_FAILURE,
		 "connect: Connection refused", 5.0},
		{"no answer", SRV_SILENT, XLB_CHECK_HTTP, "", XLB_EV_TIMEOUT, "timeout after 1.0 s",
		 5.0},
		{"closed", SRV_CLOSE, XLB_CHECK_HTTP, "", XLB_EV_TCP_FAILURE, "http: ", 5.0},
		{"not http", SRV_GARBAGE, XLB_CHECK_HTTP, "", XLB_EV_HTTP_FAILURE,
		 "http: bad status line", 5.0},
		{"tls to plain", SRV_CLOSE, XLB_CHECK_HTTPS, "", XLB_EV_TCP_FAILURE, "http: ", 5.0},
		/* the name goes into the URL (SNI); the connection to the node */
		{"tls by name", SRV_CLOSE, XLB_CHECK_HTTPS, "svc.example", XLB_EV_TCP_FAILURE,
		 "http: ", 5.0},
	};
	struct xlb_addr_key k = loopback(AF_INET);
	struct xlb_check_active a;
	struct want w;
	size_t i, done;
	__u16 port;
	double t0 = now_s();

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		/*
		 * A timeout of 1 s, not less: the test's own servers are threads
		 * that a loaded machine may not run for a while, and "closed"
		 * must close before the probe gives up.
		 */
		a = http_check(0.01, 1.0);
		a.type = c[i].type;
		snprintf(a.host, sizeof(a.host), "%s", c[i].host);
		a.unhealthy.tcp_failures = 1;
		a.unhealthy.timeouts = 1;
		a.unhealthy.http_failures = 1;
		if ((int)c[i].mode < 0) {
			c[i].fd = bound_socket(AF_INET, -1, &port);
			assert_true(c[i].fd >= 0);
		} else {
			c[i].s = srv_start(AF_INET, c[i].mode, 200);
			port = c[i].s->port;
		}
		c[i].t = xlb_checker_get(x->c, &k, port, &a);
		assert_non_null(c[i].t);
	}
	for (done = 0; done < ARRAY_SIZE(c) && now_s() - t0 < 5.0;) {
		run_for(x, 0.01);
		for (i = done = 0; i < ARRAY_SIZE(c); i++)
			done += xlb_target_state(c[i].t) == XLB_H_UNHEALTHY;
	}
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		w.old = XLB_H_HEALTHY;
		w.new = XLB_H_UNHEALTHY;
		w.ev = c[i].ev;
		w.detail = c[i].detail;
		expect_recs(x, c[i].t, 0, &w, 1, c[i].name);
		if (xlb_target_latency(c[i].t) > c[i].max_latency)
			fail_msg("%s: took %.3f s", c[i].name, xlb_target_latency(c[i].t));
		if (c[i].s && atomic_load(&c[i].s->accepted) < 1)
			fail_msg("%s: the server saw no connection", c[i].name);
		print_message("%-12s -> %-12s in %.4f s: %s\n", c[i].name,
			      xlb_health_event_name(c[i].ev), xlb_target_latency(c[i].t),
			      detail_of(x, c[i].t));
	}
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		xlb_checker_put(x->c, c[i].t);
		if (c[i].s)
			srv_stop(c[i].s);
		else
			close(c[i].fd);
	}
}

/*
 * HTTPS with a real handshake against a self-signed certificate.
 * https_verify_certificate false: the probes succeed (by address, and by
 * name through CONNECT_TO with SNI and Host the name), the targets stay
 * healthy, and after a forced failure recover on "http 200". true: the
 * handshake fails on the certificate, a tcp failure (by address, and by
 * the name the certificate is for: it is still not trusted). Statuses map
 * over TLS as over plain HTTP: 503 is an http failure.
 */
static void test_https(void **state)
{
	struct ctx *x = *state;
	struct {
		const char *name;
		int verify;
		const char *host;
		const char *path;
		enum xlb_health_event ev; /* the flip to unhealthy; SUCCESS: none */
		const char *detail;
		struct xlb_target *t;
	} c[] = {
		{"no verify", 0, "", "/", XLB_EV_SUCCESS, NULL},
		/* the server answers 500 unless SNI and Host are svc.example */
		{"no verify, name", 0, "svc.example", "/sni", XLB_EV_SUCCESS, NULL},
		{"verify", 1, "", "/", XLB_EV_TCP_FAILURE, "http: "},
		{"verify, name", 1, "svc.example", "/sni", XLB_EV_TCP_FAILURE, "http: "},
		{"503", 0, "", "/503", XLB_EV_HTTP_FAILURE, "http 503"},
	};
	const struct want up[] = {
		{XLB_H_HEALTHY, XLB_H_UNHEALTHY, XLB_EV_TCP_FAILURE, "passive"},
		{XLB_H_UNHEALTHY, XLB_H_MOSTLY_UNHEALTHY, XLB_EV_SUCCESS, "http 200"},
		{XLB_H_MOSTLY_UNHEALTHY, XLB_H_HEALTHY, XLB_EV_SUCCESS, "http 200"},
	};
	struct xlb_addr_key k = loopback(AF_INET);
	struct xlb_check_active a;
	const char *why, *d;
	size_t i, done;
	struct want w;
	double t0;
	int mark;

	why = tls_start();
	if (why) {
		check_skip("%s", why);
	}
	print_message("TLS server (self-signed, CN and SAN svc.example, 127.0.0.1) on port %u\n",
		      tls.port);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		a = http_check(0.02, 1.0);
		a.type = XLB_CHECK_HTTPS;
		a.https_verify_certificate = c[i].verify;
		snprintf(a.host, sizeof(a.host), "%s", c[i].host);
		snprintf(a.http_path, sizeof(a.http_path), "%s", c[i].path);
		a.healthy.successes = 2;
		a.unhealthy.tcp_failures = 1;
		a.unhealthy.http_failures = 1;
		a.unhealthy.timeouts = 1;
		/* distinct node ports, one target each; all probe the server */
		a.port = tls.port;
		c[i].t = xlb_checker_get(x->c, &k, 20000 + i, &a);
		assert_non_null(c[i].t);
	}

	/* The failing ones flip; the others have answered a few probes. */
	t0 = now_s();
	for (done = 0; done < ARRAY_SIZE(c) && now_s() - t0 < 5.0;) {
		run_for(x, 0.01);
		for (i = done = 0; i < ARRAY_SIZE(c); i++)
			done += c[i].ev == XLB_EV_SUCCESS
					? xlb_target_probes(c[i].t) >= 4
					: xlb_target_state(c[i].t) == XLB_H_UNHEALTHY;
	}
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		if (c[i].ev == XLB_EV_SUCCESS) {
			/* a success keeps healthy quiet: no callback at all */
			expect_recs(x, c[i].t, 0, NULL, 0, c[i].name);
			expect_state(c[i].t, XLB_H_HEALTHY, c[i].name);
			if (xlb_target_probes(c[i].t) < 4)
				fail_msg("%s: %lu probes", c[i].name, xlb_target_probes(c[i].t));
			print_message("%-16s healthy after %lu probes\n", c[i].name,
				      xlb_target_probes(c[i].t));
			continue;
		}
		w.old = XLB_H_HEALTHY;
		w.new = XLB_H_UNHEALTHY;
		w.ev = c[i].ev;
		w.detail = c[i].detail;
		expect_recs(x, c[i].t, 0, &w, 1, c[i].name);
		d = detail_of(x, c[i].t);
		/* curl: "SSL certificate problem: self-signed certificate" */
		if (c[i].verify && !strstr(d, "certificate"))
			fail_msg("%s: detail \"%s\" does not name the certificate", c[i].name, d);
		print_message("%-16s -> %-12s %s\n", c[i].name, xlb_health_event_name(c[i].ev), d);
	}

	/* Forced down, the healthy ones come back on their own probes. */
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		if (c[i].ev != XLB_EV_SUCCESS)
			continue;
		mark = x->n;
		xlb_target_report(x->c, c[i].t, XLB_EV_TCP_FAILURE, "passive");
		expect_state(c[i].t, XLB_H_UNHEALTHY, "reported");
		run_until_state(x, c[i].t, XLB_H_HEALTHY, 3.0, c[i].name);
		expect_recs(x, c[i].t, mark, up, ARRAY_SIZE(up), c[i].name);
		assert_int_equal(xlb_target_counters(c[i].t)->success, 2);
		print_message("%-16s reported down, back up on 2 x http 200\n", c[i].name);
	}

	for (i = 0; i < ARRAY_SIZE(c); i++)
		xlb_checker_put(x->c, c[i].t);
	/* the server and its directory go in teardown_tls(), also after a failure */
}

/* Two get()s, one target, one probe per interval; gone after two put()s. */
static int count_target(struct xlb_target *t, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_shared_target(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = tcp_check(0.05, 1.0);
	struct xlb_addr_key k = loopback(AF_INET);
	struct xlb_target *t, *t2;
	unsigned long probes;
	struct srv *s;
	int n = 0, acc;

	s = srv_start(AF_INET, SRV_ACCEPT, 0);
	t = xlb_checker_get(x->c, &k, s->port, &a);
	t2 = xlb_checker_get(x->c, &k, s->port, &a);
	assert_non_null(t);
	assert_ptr_equal(t, t2);
	xlb_checker_foreach(x->c, count_target, &n);
	assert_int_equal(n, 1);
	run_for(x, 0.3);
	probes = xlb_target_probes(t);
	/* one probe per 0.05 s, after a jitter below 0.05 s: 5 or 6, not twice that */
	assert_true(probes >= 4 && probes <= 7);
	xlb_checker_put(x->c, t);
	run_for(x, 0.1);
	assert_true(xlb_target_probes(t) > probes);
	probes = xlb_target_probes(t);
	xlb_checker_put(x->c, t2);
	n = 0;
	xlb_checker_foreach(x->c, count_target, &n);
	assert_int_equal(n, 0);
	run_for(x, 0.15);
	acc = atomic_load(&s->accepted);
	print_message("shared target: %lu probes, %d connections accepted\n", probes, acc);
	assert_int_equal(acc, (int)probes);
	srv_stop(s);
	assert_int_equal(x->n, 0);
}

/* New settings for an existing target: state and counters stay; they apply. */
static void test_settings_update(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = tcp_check(0.03, 1.0), b;
	struct xlb_addr_key k = loopback(AF_INET);
	const struct want up[] = {
		{XLB_H_UNHEALTHY, XLB_H_MOSTLY_UNHEALTHY, XLB_EV_SUCCESS, "connected"},
		{XLB_H_MOSTLY_UNHEALTHY, XLB_H_HEALTHY, XLB_EV_SUCCESS, "connected"},
	};
	struct xlb_health_counters before;
	struct xlb_target *t;
	struct srv *s;
	__u16 port;
	int fd, mark;

	fd = bound_socket(AF_INET, -1, &port);
	assert_true(fd >= 0);
	s = srv_start(AF_INET, SRV_ACCEPT, 0);
	t = xlb_checker_get(x->c, &k, port, &a);
	assert_non_null(t);
	run_until_state(x, t, XLB_H_UNHEALTHY, 1.0, "refused");
	before = *xlb_target_counters(t);

	mark = x->n;
	b = a;
	b.port = s->port; /* probe elsewhere */
	b.unhealthy.interval = 0.02;
	assert_ptr_equal(xlb_checker_get(x->c, &k, port, &b), t);
	expect_state(t, XLB_H_UNHEALTHY, "right after the update");
	assert_memory_equal(xlb_target_counters(t), &before, sizeof(before));
	assert_int_equal(x->n, mark);
	run_until_state(x, t, XLB_H_HEALTHY, 1.0, "new port");
	expect_recs(x, t, mark, up, ARRAY_SIZE(up), "after the update");

	xlb_checker_put(x->c, t);
	xlb_checker_put(x->c, t);
	srv_stop(s);
	close(fd);
}

/* No settings, or disabled ones: never probed; reports still count. */
static void test_disabled_and_report(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = tcp_check(0.01, 1.0);
	struct xlb_addr_key k = loopback(AF_INET);
	const struct want w[] = {
		{XLB_H_HEALTHY, XLB_H_MOSTLY_HEALTHY, XLB_EV_TCP_FAILURE, "passive"},
		{XLB_H_MOSTLY_HEALTHY, XLB_H_UNHEALTHY, XLB_EV_TCP_FAILURE, "passive"},
		{XLB_H_UNHEALTHY, XLB_H_MOSTLY_UNHEALTHY, XLB_EV_SUCCESS, "passive"},
	};
	const struct want w1[] = {
		{XLB_H_HEALTHY, XLB_H_UNHEALTHY, XLB_EV_TIMEOUT, "passive"},
	};
	struct xlb_target *none, *off;
	struct srv *s;

	s = srv_start(AF_INET, SRV_ACCEPT, 0);
	none = xlb_checker_get(x->c, &k, s->port, NULL);
	a.enabled = 0;
	a.unhealthy.timeouts = 1;
	off = xlb_checker_get(x->c, &k, s->port + 1, &a);
	assert_non_null(none);
	assert_non_null(off);
	run_for(x, 0.1);
	assert_int_equal(xlb_target_probes(none), 0);
	assert_int_equal(xlb_target_probes(off), 0);
	assert_true(xlb_target_latency(none) < 0);
	assert_int_equal(atomic_load(&s->accepted), 0);

	/* APISIX's defaults without settings: 2 tcp failures, 2 successes */
	xlb_target_report(x->c, none, XLB_EV_TCP_FAILURE, "passive");
	xlb_target_report(x->c, none, XLB_EV_TCP_FAILURE, "passive");
	xlb_target_report(x->c, none, XLB_EV_SUCCESS, "passive");
	expect_recs(x, none, 0, w, ARRAY_SIZE(w), "reports, no settings");
	xlb_target_report(x->c, off, XLB_EV_TIMEOUT, "passive");
	expect_recs(x, off, 0, w1, ARRAY_SIZE(w1), "reports, disabled");
	run_for(x, 0.1);
	assert_int_equal(xlb_target_probes(off), 0);
	expect_state(none, XLB_H_MOSTLY_UNHEALTHY, "no probes after reports");

	xlb_target_set_data(none, s);
	assert_ptr_equal(xlb_target_data(none), s);
	xlb_checker_put(x->c, none);
	xlb_checker_put(x->c, off);
	srv_stop(s);
}

/*
 * healthy.interval 0: no probes while healthy; a report makes it unhealthy,
 * probes start at unhealthy.interval, bring it back, and stop again.
 */
static void test_interval_zero(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = tcp_check(0, 1.0);
	struct xlb_addr_key k = loopback(AF_INET);
	const struct want w[] = {
		{XLB_H_HEALTHY, XLB_H_UNHEALTHY, XLB_EV_TCP_FAILURE, "passive"},
		{XLB_H_UNHEALTHY, XLB_H_MOSTLY_UNHEALTHY, XLB_EV_SUCCESS, "connected"},
		{XLB_H_MOSTLY_UNHEALTHY, XLB_H_HEALTHY, XLB_EV_SUCCESS, "connected"},
	};
	struct xlb_target *t;
	unsigned long probes;
	struct srv *s;

	s = srv_start(AF_INET, SRV_ACCEPT, 0);
	a.unhealthy.interval = 0.02;
	a.unhealthy.tcp_failures = 1;
	t = xlb_checker_get(x->c, &k, s->port, &a);
	assert_non_null(t);
	run_for(x, 0.1);
	assert_int_equal(xlb_target_probes(t), 0);
	xlb_target_report(x->c, t, XLB_EV_TCP_FAILURE, "passive");
	run_until_state(x, t, XLB_H_HEALTHY, 1.0, "probed back");
	expect_recs(x, t, 0, w, ARRAY_SIZE(w), "interval 0");
	probes = xlb_target_probes(t);
	assert_int_equal(probes, 2);
	run_for(x, 0.1);
	assert_int_equal(xlb_target_probes(t), probes);
	xlb_checker_put(x->c, t);
	srv_stop(s);
}

/*
 * put() while a probe is in flight (TCP connect pending, HTTP request
 * unanswered), and put() of the last reference from inside the callback.
 */
static void test_put_in_flight(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = tcp_check(0.01, 1.0), h = http_check(0.01, 1.0);
	struct xlb_addr_key k = loopback(AF_INET);
	struct xlb_target *t1, *t2, *t3;
	struct probes_cond pc;
	struct stuck st;
	struct srv *s;
	__u16 port;
	int fd;

	stuck_start(&st, AF_INET);
	s = srv_start(AF_INET, SRV_SILENT, 0);
	fd = bound_socket(AF_INET, -1, &port);
	assert_true(fd >= 0);
	t1 = xlb_checker_get(x->c, &k, st.port, &a);
	t2 = xlb_checker_get(x->c, &k, s->port, &h);
	assert_non_null(t1);
	assert_non_null(t2);
	pc.t = t1;
	pc.n = 1;
	assert_true(run_until(x, probes_reach, &pc, 1.0));
	pc.t = t2;
	assert_true(run_until(x, probes_reach, &pc, 1.0));
	run_for(x, 0.05); /* the HTTP request is out, waiting for an answer */
	assert_true(atomic_load(&s->accepted) >= 1);
	xlb_checker_put(x->c, t1);
	xlb_checker_put(x->c, t2);

	a.unhealthy.tcp_failures = 1;
	t3 = xlb_checker_get(x->c, &k, port, &a);
	assert_non_null(t3);
	x->put_in_cb = t3;
	run_for(x, 0.2);
	assert_null(x->put_in_cb);
	assert_int_equal(x->n, 1); /* only t3's flip; none from t1, t2 */

	close(fd);
	srv_stop(s);
	stuck_stop(&st);
}

struct many {
	struct xlb_target **t; /* NULL: put() already */
	int n;
};

static int all_probed(void *arg)
{
	struct many *m = arg;
	int i;

	for (i = 0; i < m->n; i++)
		if (m->t[i] && xlb_target_latency(m->t[i]) < 0)
			return 0;
	return 1;
}

/* 1000 targets (ports 20000..20999, all probed at one listener's port). */
static void test_many_targets(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = tcp_check(0.2, 1.0);
	struct xlb_addr_key k = loopback(AF_INET);
	struct many m = {.n = 1000};
	double t0, first, second;
	unsigned long sum = 0;
	struct srv *s;
	int i, n = 0;

	s = srv_start(AF_INET, SRV_ACCEPT, 0);
	a.port = s->port;
	m.t = calloc(m.n, sizeof(*m.t));
	assert_non_null(m.t);
	t0 = now_s();
	for (i = 0; i < m.n; i++) {
		m.t[i] = xlb_checker_get(x->c, &k, 20000 + i, &a);
		assert_non_null(m.t[i]);
	}
	assert_true(run_until(x, all_probed, &m, 2.0));
	first = now_s() - t0;
	run_for(x, 0.45 - first);
	second = now_s() - t0;
	for (i = 0; i < m.n; i++) {
		sum += xlb_target_probes(m.t[i]);
		if (xlb_target_state(m.t[i]) != XLB_H_HEALTHY)
			fail_msg("target %d: %s", i, xlb_health_name(xlb_target_state(m.t[i])));
	}
	xlb_checker_foreach(x->c, count_target, &n);
	assert_int_equal(n, m.n);
	print_message("1000 targets, interval 0.2 s: all probed once after %.3f s; "
		      "%lu probes after %.3f s; %d accepted\n",
		      first, sum, second, atomic_load(&s->accepted));
	/* Jitter in [0, interval): all first probes within a loaded loop's reach. */
	assert_true(first < 2.0);
	assert_true(sum >= 2000);
	assert_int_equal(x->n, 0);
	/* xlb_checker_free() (teardown) frees the targets still referenced */
	free(m.t);
	srv_stop(s);
}

/*
 * The in-flight cap: with RLIMIT_NOFILE at 64 the checker runs at most 32
 * probes at once; 100 probes that each hang for 0.1 s need 4 rounds. Some
 * queued targets are put() while they wait: they never probe, the rest do.
 */

static void test_inflight_cap(void **state)
{
	struct ctx *x = *state;
	struct xlb_check_active a = tcp_check(0.001, 0.1);
	struct xlb_addr_key k = loopback(AF_INET);
	struct many m = {.n = 100};
	struct xlb_checker *c;
	struct rlimit old, low;
	struct stuck st;
	double t0, took;
	int i, nput = 0, rounds;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	c = xlb_checker_new(x->base, on_health, x);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_non_null(c);

	stuck_start(&st, AF_INET);
	a.port = st.port;
	a.unhealthy.timeouts = 1;
	a.unhealthy.interval = 10;
	m.t = calloc(m.n, sizeof(*m.t));
	assert_non_null(m.t);
	t0 = now_s();
	for (i = 0; i < m.n; i++) {
		m.t[i] = xlb_checker_get(c, &k, 20000 + i, &a);
		assert_non_null(m.t[i]);
	}
	run_for(x, 0.05); /* 32 in flight, the others queued */
	for (i = 0; i < m.n; i += 2) {
		if (xlb_target_probes(m.t[i]))
			continue;
		xlb_checker_put(c, m.t[i]);
		m.t[i] = NULL;
		nput++;
	}
	assert_true(run_until(x, all_probed, &m, 2.0));
	took = now_s() - t0;
	print_message("%d hanging probes, 32 at a time, timeout 0.1 s: %.3f s "
		      "(%d put while queued)\n",
		      100 - nput, took, nput);
	/* 50 even indices, about 2/3 of them still queued after the first 32 began */
	assert_true(nput >= 20 && nput <= 50);
	rounds = (100 - nput + 31) / 32;
	/* Batches of 32: never faster than the rounds allow. */
	if (took < rounds * 0.1 - 0.02)
		fail_msg("%.3f s for %d rounds of 0.1 s", took, rounds);
	assert_int_equal(x->n, 100 - nput);
	for (i = 0; i < m.n; i++) {
		if (!m.t[i])
			continue;
		expect_state(m.t[i], XLB_H_UNHEALTHY, "hanging");
		xlb_checker_put(c, m.t[i]);
	}
	xlb_checker_free(c);
	free(m.t);
	stuck_stop(&st);
}

static void test_bad_args(void **state)
{
	struct ctx *x = *state;
	struct xlb_addr_key k = loopback(AF_INET);

	errno = 0;
	assert_null(xlb_checker_new(NULL, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	k.family = 0;
	errno = 0;
	assert_null(xlb_checker_get(x->c, &k, 80, NULL));
	assert_int_equal(errno, EINVAL);
	xlb_checker_put(x->c, NULL);
	xlb_checker_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp_flip_recover_ipv4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_flip_recover_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_status_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https, setup, teardown_tls),
		cmocka_unit_test_setup_teardown(test_shared_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_and_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflight_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return check_run_tests("checker", tests, NULL, NULL);
}
