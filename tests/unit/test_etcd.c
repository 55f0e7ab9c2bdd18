/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * etcd as a configuration source: the client (user/lib/config/etcd.c)
 * against a real etcd (tests/lib/etcd_server.c: loopback, free ports,
 * a temporary data directory, killed by PID) on a real libevent loop: the
 * first read, puts and deletes followed, bad values left out and named,
 * etcd down at start, failover to a second host, kill and restart with the
 * watch resuming from revision + 1 (writes made while it was away are
 * seen, no range read needed), garbage from a host after a good state
 * (nothing emptied), compaction while away (a resync by range read), and
 * writes through xlb_etcd_put(). Each test uses its own prefix. The test
 * never runs the loop while it writes to etcd, so "written while the
 * source was away" is exact, not a race. The pure mirror is test_etcd_mirror.c.
 *
 * Without the etcd binary every test skips.
 * ETCD_LATENCY_PUTS=N (default 100) sets how many puts the latency figure
 * (put -> update callback, p50/p99, printed, never asserted) is taken over.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>

#include "../lib/check.h"
#include "config/etcd.h"
#include "../lib/etcd_server.h"

#define LOOP_BOUND 20.0 /* seconds a wait may take before failing */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- against a real etcd ---------------------------------------------------------- */

static struct etcd_server srv;

struct rec {
	unsigned int n;
	json_t *ups, *routes;
	long long rev;
	double at; /* when the last update came */
};

static void on_update(json_t *ups, json_t *routes, long long rev, void *arg)
{
	struct rec *r = arg;

	json_decref(r->ups);
	json_decref(r->routes);
	r->ups = json_deep_copy(ups);
	r->routes = json_deep_copy(routes);
	r->rev = rev;
	r->n++;
	r->at = now_s();
}

static void rec_clear(struct rec *r)
{
	json_decref(r->ups);
	json_decref(r->routes);
	memset(r, 0, sizeof(*r));
}

/* "id,id|id" of the last update. */
static void rec_ids(const struct rec *r, char *buf, size_t len)
{
	json_t *a[2] = {r->ups, r->routes}, *v;
	size_t i, o = 0;
	int k;

	buf[0] = 0;
	for (k = 0; k < 2; k++) {
		json_array_foreach (a[k], i, v)
			o += snprintf(buf + o, len - o, "%s%s", i ? "," : "",
				      json_string_value(json_object_get(v, "id")));
		if (!k)
			o += snprintf(buf + o, len - o, "|");
	}
}

struct env {
	struct event_base *base;
	struct xlb_etcd *e;
	struct rec rec;
	char prefix[64];
};

typedef int (*cond_fn)(struct env *env, void *arg);

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until cond holds; fails the test after LOOP_BOUND seconds. */
static void run_until(struct env *env, cond_fn cond, void *arg, const char *what)
{
	struct event *tick = evtimer_new(env->base, on_tick, NULL);
	struct timeval tv = {0, 20000};
	double end = now_s() + LOOP_BOUND;
	struct xlb_etcd_status st;

	while (!cond(env, arg)) {
		if (now_s() > end) {
			event_free(tick);
			xlb_etcd_status(env->e, &st);
			print_error("waited %.0f s for %s; updates %u, error '%s'\n", LOOP_BOUND,
				    what, env->rec.n, st.error);
			fail();
		}
		evtimer_add(tick, &tv);
		event_base_loop(env->base, EVLOOP_ONCE);
	}
	event_free(tick);
}

static int cond_updates(struct env *env, void *arg)
{
	return env->rec.n >= *(unsigned int *)arg;
}

static void wait_updates(struct env *env, unsigned int n)
{
	run_until(env, cond_updates, &n, "an update");
}

static int cond_connected(struct env *env, void *arg)
{
	struct xlb_etcd_status st;

	xlb_etcd_status(env->e, &st);
	return st.connected == *(int *)arg;
}

static void wait_connected(struct env *env, int connected)
{
	run_until(env, cond_connected, &connected, connected ? "the watch" : "a disconnect");
}

static int cond_errors(struct env *env, void *arg)
{
	struct xlb_etcd_status st;

	xlb_etcd_status(env->e, &st);
	return st.errors >= *(unsigned long *)arg;
}

static void wait_errors(struct env *env, unsigned long n)
{
	run_until(env, cond_errors, &n, "an error");
}

static int cond_bad(struct env *env, void *arg)
{
	struct xlb_etcd_status st;

	xlb_etcd_status(env->e, &st);
	return st.bad_values == *(unsigned int *)arg;
}

static void env_start(struct env *env, const char *prefix, const char *const *hosts)
{
	struct xlb_etcd_conf conf = {.enabled = 1, .timeout = 5};
	unsigned int i;

	memset(env, 0, sizeof(*env));
	snprintf(env->prefix, sizeof(env->prefix), "%s", prefix);
	snprintf(conf.prefix, sizeof(conf.prefix), "%s", prefix);
	for (i = 0; hosts[i]; i++)
		snprintf(conf.hosts[i], sizeof(conf.hosts[i]), "%s", hosts[i]);
	conf.nhosts = i;
	env->base = event_base_new();
	assert_non_null(env->base);
	env->e = xlb_etcd_new(env->base, &conf, on_update, &env->rec);
	assert_non_null(env->e);
}

static void env_stop(struct env *env)
{
	xlb_etcd_free(env->e);
	event_base_free(env->base);
	rec_clear(&env->rec);
}

static long long put(struct env *env, const char *kind, const char *id, const char *value)
{
	char key[128];
	long long rev;

	snprintf(key, sizeof(key), "%s/%s/%s", env->prefix, kind, id);
	rev = etcd_server_put(&srv, key, value, -1);
	assert_true(rev > 0);
	return rev;
}

static long long del(struct env *env, const char *kind, const char *id)
{
	char key[128];
	long long rev;

	snprintf(key, sizeof(key), "%s/%s/%s", env->prefix, kind, id);
	rev = etcd_server_delete(&srv, key);
	assert_true(rev > 0);
	return rev;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void test_follow(void **state)
{
	const char *hosts[] = {srv.url, NULL};
	char ids[256], v[64];
	struct xlb_etcd_status st;
	struct env env;
	unsigned int i, n = 100;
	long long rev;
	double *lat, *rtt;

	/* What is there before the source starts, with things to ignore. */
	etcd_server_put(&srv, "/t1/upstreams", "\"init_dir\"", -1);
	etcd_server_put(&srv, "/t1/routes/1", "{}", -1);
	etcd_server_put(&srv, "/t1x/upstreams/9", "{}", -1);
	etcd_server_put(&srv, "/t1/upstreams/2", "{\"type\":\"roundrobin\"}", -1);
	etcd_server_put(&srv, "/t1/upstreams/1", "{\"type\":\"chash\"}", -1);
	rev = etcd_server_put(&srv, "/t1/stream_routes/r", "{\"upstream_id\":\"1\"}", -1);

	env_start(&env, "/t1", hosts);
	wait_updates(&env, 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1,2|r", "first read");
	check_int(env.rec.rev, rev, "first read at etcd's revision");
	check_str(json_string_value(json_object_get(json_array_get(env.rec.ups, 0), "type")),
		  "chash", "upstream 1's object");
	wait_connected(&env, 1);

	rev = put(&env, "upstreams", "3", "{}");
	wait_updates(&env, 2);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1,2,3|r", "after a put");
	check_int(env.rec.rev, rev, "revision of the put");

	rev = put(&env, "upstreams", "1", "{\"type\":\"ewma\"}");
	wait_updates(&env, 3);
	check_str(json_string_value(json_object_get(json_array_get(env.rec.ups, 0), "type")),
		  "ewma", "upstream 1 changed");
	rev = del(&env, "stream_routes", "r");
	wait_updates(&env, 4);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1,2,3|", "after a delete");
	check_int(env.rec.rev, rev, "revision of the delete");

	/* Keys of other kinds or prefixes: no update. */
	etcd_server_put(&srv, "/t1/routes/2", "{}", -1);
	etcd_server_put(&srv, "/t1x/upstreams/8", "{}", -1);
	rev = put(&env, "upstreams", "4", "{}");
	wait_updates(&env, 5);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1,2,3,4|", "unrelated keys ignored");

	/* A big value: the watch response comes in many pieces. */
	{
		size_t big = 512 * 1024;
		char *val = malloc(big + 32);
		json_t *o;

		assert_non_null(val);
		memcpy(val, "{\"desc\":\"", 9);
		memset(val + 9, 'x', big);
		strcpy(val + 9 + big, "\"}");
		rev = put(&env, "upstreams", "big", val);
		free(val);
		wait_updates(&env, 6);
		o = json_array_get(env.rec.ups, 4);
		check_str(json_string_value(json_object_get(o, "id")), "big", "big value's id");
		check_int(json_string_length(json_object_get(o, "desc")), big, "big value whole");
		check_int(env.rec.rev, rev, "big value's revision");
		rev = del(&env, "upstreams", "big");
		wait_updates(&env, 7);
	}

	/* Latency put -> callback (a figure, not a check). */
	if (getenv("ETCD_LATENCY_PUTS") && atoi(getenv("ETCD_LATENCY_PUTS")) > 0)
		n = atoi(getenv("ETCD_LATENCY_PUTS"));
	lat = calloc(n, sizeof(*lat));
	rtt = calloc(n, sizeof(*rtt));
	assert_non_null(lat);
	assert_non_null(rtt);
	for (i = 0; i < n; i++) {
		double t0;

		snprintf(v, sizeof(v), "{\"n\":%u}", i);
		t0 = now_s();
		put(&env, "upstreams", "lat", v);
		rtt[i] = (now_s() - t0) * 1e3;
		wait_updates(&env, 8 + i);
		lat[i] = (env.rec.at - t0) * 1e3;
	}
	qsort(lat, n, sizeof(*lat), cmp_dbl);
	qsort(rtt, n, sizeof(*rtt), cmp_dbl);
	printf("etcd put -> update callback over %u puts: p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
	       "of which the put's own round trip (etcd commit): p50 %.2f ms, p99 %.2f ms\n",
	       n, lat[n / 2], lat[n * 99 / 100], lat[n - 1], rtt[n / 2], rtt[n * 99 / 100]);
	free(lat);
	free(rtt);

	xlb_etcd_status(env.e, &st);
	check_int(st.errors, 0, "no errors");
	check_int(st.updates, env.rec.n, "updates counted");
	check_str(st.error, "", "no error text");
	env_stop(&env);
	check_done();
}

static void test_bad_values(void **state)
{
	const char *hosts[] = {srv.url, NULL};
	struct xlb_etcd_status st;
	unsigned int zero = 0, n;
	char ids[256];
	struct env env;

	etcd_server_put(&srv, "/t2/upstreams/1", "{\"v\":1}", -1);
	etcd_server_put(&srv, "/t2/upstreams/2", "[\"an array\"]", -1);
	env_start(&env, "/t2", hosts);
	wait_updates(&env, 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1|", "bad value left out of the first read");
	xlb_etcd_status(env.e, &st);
	check_int(st.bad_values, 1, "one bad value");
	check_contains(st.error, "/t2/upstreams/2: value is not a JSON object",
		       "error names the key");
	check_int(st.errors >= 1, 1, "bad value counted");
	wait_connected(&env, 1);

	/* Garbage over a good key: no update, the good object stays. */
	n = env.rec.n;
	put(&env, "upstreams", "1", "{truncated");
	run_until(&env, cond_bad, &(unsigned int){2}, "two bad values");
	check_int(env.rec.n, n, "no update for a bad value");
	xlb_etcd_status(env.e, &st);
	check_contains(st.error, "/t2/upstreams/1: value is not JSON", "error names the key");
	check_int(st.errors >= 2, 1, "both counted");

	/* Fixed and deleted: the error clears. */
	put(&env, "upstreams", "1", "{\"v\":2}");
	wait_updates(&env, n + 1);
	del(&env, "upstreams", "2");
	run_until(&env, cond_bad, &zero, "no bad values");
	xlb_etcd_status(env.e, &st);
	check_str(st.error, "", "error cleared");
	check_int(json_integer_value(json_object_get(json_array_get(env.rec.ups, 0), "v")), 2,
		  "fixed value");
	env_stop(&env);
	check_done();
}

/* A host that answers every request with garbage (a thread, loopback). */
struct garbage_srv {
	int fd, port;
	pthread_t th;
};

static void *garbage_main(void *arg)
{
	static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				  "Content-Length: 9\r\nConnection: close\r\n\r\n{\"oops\":[";
	struct garbage_srv *g = arg;
	char buf[4096];
	int c;

	while ((c = accept(g->fd, NULL, NULL)) >= 0) {
		/* A send to a client already gone fails; nothing to do about it. */
		if (recv(c, buf, sizeof(buf), 0) > 0)
			send(c, ans, sizeof(ans) - 1, MSG_NOSIGNAL);
		close(c);
	}
	return NULL;
}

static void garbage_start(struct garbage_srv *g)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	g->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(g->fd >= 0);
	assert_int_equal(bind(g->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(g->fd, 16), 0);
	assert_int_equal(getsockname(g->fd, (struct sockaddr *)&a, &alen), 0);
	g->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&g->th, NULL, garbage_main, g), 0);
}

static void garbage_stop(struct garbage_srv *g)
{
	shutdown(g->fd, SHUT_RDWR); /* accept() returns */
	pthread_join(g->th, NULL);
	close(g->fd);
}

/* A port with nothing listening (bound, not listening: connections are refused). */
static int dead_port(int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &alen), 0);
	return ntohs(a.sin_port);
}

static void test_down_at_start(void **state)
{
	char dead[64], garbage[64], ids[64];
	const char *hosts[] = {dead, NULL, NULL, NULL};
	struct xlb_etcd_status st;
	struct garbage_srv g;
	struct env env;
	int fd;

	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", dead_port(&fd));
	etcd_server_put(&srv, "/t3/upstreams/1", "{}", -1);

	/* Only a dead host: errors, counted and named; no update at all. */
	env_start(&env, "/t3", hosts);
	wait_errors(&env, 2);
	xlb_etcd_status(env.e, &st);
	check_int(env.rec.n, 0, "no update while etcd is down");
	check_int(st.have_state, 0, "no state");
	check_contains(st.error, dead, "error names the host");
	check_contains(st.error, "range", "error names the request");
	env_stop(&env);

	/* Garbage answers: the same. */
	garbage_start(&g);
	snprintf(garbage, sizeof(garbage), "http://127.0.0.1:%d", g.port);
	hosts[0] = garbage;
	env_start(&env, "/t3", hosts);
	wait_errors(&env, 1);
	xlb_etcd_status(env.e, &st);
	check_int(env.rec.n, 0, "no update from garbage");
	check_contains(st.error, "range answer is not JSON", "garbage named");
	env_stop(&env);

	/* Failover: dead, garbage, then the real one. */
	hosts[0] = dead;
	hosts[1] = garbage;
	hosts[2] = srv.url;
	env_start(&env, "/t3", hosts);
	wait_updates(&env, 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1|", "state from the third host");
	wait_connected(&env, 1);
	xlb_etcd_status(env.e, &st);
	check_str(st.host, srv.url, "host in use");
	check_int(st.errors, 2, "one error per bad host");
	check_str(st.error, "", "error cleared once the watch runs");
	env_stop(&env);
	garbage_stop(&g);
	close(fd);
	check_done();
}

/*
 * Kill etcd under a running watch: nothing emptied (no update at all) while
 * it is away, also while the other host answers garbage; after the restart
 * the watch resumes from revision + 1: writes made before it reconnected
 * arrive as events, without a range read (resyncs stays 0).
 */
static void test_restart(void **state)
{
	char garbage[64], ids[256];
	const char *hosts[] = {srv.url, garbage, NULL};
	struct xlb_etcd_status st;
	struct garbage_srv g;
	struct env env;
	long long rev;
	unsigned int n;
	double t0;

	garbage_start(&g);
	snprintf(garbage, sizeof(garbage), "http://127.0.0.1:%d", g.port);
	etcd_server_put(&srv, "/t4/upstreams/1", "{}", -1);
	etcd_server_put(&srv, "/t4/stream_routes/s", "{}", -1);
	env_start(&env, "/t4", hosts);
	wait_updates(&env, 1);
	wait_connected(&env, 1);
	n = env.rec.n;

	/* A quick restart: back before the source noticed it was gone. */
	etcd_server_stop(&srv);
	assert_int_equal(etcd_server_start(&srv), 0);
	rev = put(&env, "upstreams", "q", "{}");
	t0 = now_s();
	wait_updates(&env, ++n);
	printf("etcd quick restart: the write made meanwhile arrived %.2f s later "
	       "(backoff and failover included)\n",
	       now_s() - t0);
	check_int(env.rec.rev, rev, "resumed at the write's revision");
	del(&env, "upstreams", "q");
	wait_updates(&env, ++n);
	wait_connected(&env, 1);
	rev = env.rec.rev;

	/* A long outage, the other host answering garbage meanwhile. */
	etcd_server_stop(&srv);
	wait_connected(&env, 0);
	wait_errors(&env, 3); /* etcd gone, garbage, etcd refused... */
	xlb_etcd_status(env.e, &st);
	check_int(env.rec.n, n, "no update while etcd is down");
	check_int(st.revision, rev, "revision kept");
	check_int(st.error[0] != 0, 1, "an error is shown");

	/* Back, and written to before the source gets to it. */
	assert_int_equal(etcd_server_start(&srv), 0);
	t0 = now_s();
	put(&env, "upstreams", "2", "{}");
	rev = del(&env, "stream_routes", "s");
	wait_updates(&env, n + 1);
	wait_connected(&env, 1);
	printf("etcd restart: watch resumed %.2f s after etcd answered again (backoff included)\n",
	       now_s() - t0);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1,2|", "writes made while away seen, nothing lost");
	check_int(env.rec.rev, rev, "at the revision of the last write");
	xlb_etcd_status(env.e, &st);
	check_int(st.resyncs, 0, "resumed by watch, no range read");
	check_int(st.reconnects >= 1, 1, "reconnect counted");
	check_str(st.error, "", "error cleared");

	/* And it goes on following. */
	put(&env, "upstreams", "3", "{}");
	wait_updates(&env, env.rec.n + 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1,2,3|", "following after the restart");
	env_stop(&env);
	garbage_stop(&g);
	check_done();
}

/* A host that accepts connections and never answers (a thread, loopback). */
struct silent_srv {
	int fd, port, n;
	int held[64];
	pthread_t th;
};

static void *silent_main(void *arg)
{
	struct silent_srv *s = arg;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0) {
		if (s->n < 64)
			s->held[s->n++] = c;
		else
			close(c);
	}
	return NULL;
}

static void silent_start(struct silent_srv *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, silent_main, s), 0);
}

static void silent_stop(struct silent_srv *s)
{
	int i;

	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
	for (i = 0; i < s->n; i++)
		close(s->held[i]);
}

static int cond_error_has(struct env *env, void *arg)
{
	struct xlb_etcd_status st;

	xlb_etcd_status(env->e, &st);
	return strstr(st.error, arg) != NULL;
}

/*
 * A host that never answers (timeout 1 s): its range and its watch each
 * time out and the source moves on; the state stays meanwhile.
 */
static void test_silent(void **state)
{
	char silent[64], ids[64];
	const char *hosts[] = {silent, srv.url, NULL};
	struct xlb_etcd_conf conf = {.enabled = 1, .nhosts = 2, .timeout = 1, .prefix = "/t8"};
	struct xlb_etcd_status st;
	struct silent_srv s;
	struct env env;
	unsigned int n;

	silent_start(&s);
	snprintf(silent, sizeof(silent), "http://127.0.0.1:%d", s.port);
	snprintf(conf.hosts[0], sizeof(conf.hosts[0]), "%s", hosts[0]);
	snprintf(conf.hosts[1], sizeof(conf.hosts[1]), "%s", hosts[1]);
	etcd_server_put(&srv, "/t8/upstreams/1", "{}", -1);
	memset(&env, 0, sizeof(env));
	snprintf(env.prefix, sizeof(env.prefix), "/t8");
	env.base = event_base_new();
	env.e = xlb_etcd_new(env.base, &conf, on_update, &env.rec);
	assert_non_null(env.e);
	wait_updates(&env, 1); /* the silent host's range timed out first */
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1|", "state from the second host");
	xlb_etcd_status(env.e, &st);
	check_int(st.errors, 1, "the range timeout counted");
	wait_connected(&env, 1);
	n = env.rec.n;

	etcd_server_stop(&srv);
	run_until(&env, cond_error_has, "watch: no answer within 1 s", "the watch timeout");
	check_int(env.rec.n, n, "no update meanwhile");
	assert_int_equal(etcd_server_start(&srv), 0);
	put(&env, "upstreams", "2", "{}");
	wait_updates(&env, n + 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1,2|", "back on the real host");
	env_stop(&env);
	silent_stop(&s);
	check_done();
}

/* Away while the history it needs is compacted: a range read resyncs. */
static void test_compaction(void **state)
{
	const char *hosts[] = {srv.url, NULL};
	struct xlb_etcd_status st;
	struct env env;
	char ids[256];
	long long rev;
	unsigned int n;

	etcd_server_put(&srv, "/t5/upstreams/1", "{}", -1);
	etcd_server_put(&srv, "/t5/upstreams/2", "{}", -1);
	env_start(&env, "/t5", hosts);
	wait_updates(&env, 1);
	wait_connected(&env, 1);
	n = env.rec.n;

	etcd_server_stop(&srv);
	wait_connected(&env, 0);
	assert_int_equal(etcd_server_start(&srv), 0);
	put(&env, "upstreams", "3", "{}");
	del(&env, "upstreams", "1");
	rev = put(&env, "upstreams", "4", "{}");
	assert_int_equal(etcd_server_compact(&srv, rev), 0);

	wait_updates(&env, n + 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "2,3,4|", "state after the resync");
	check_int(env.rec.rev, rev, "revision of the range read");
	wait_connected(&env, 1);
	xlb_etcd_status(env.e, &st);
	check_int(st.resyncs, 1, "one resync");

	put(&env, "upstreams", "5", "{}");
	wait_updates(&env, env.rec.n + 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "2,3,4,5|", "following after the resync");
	env_stop(&env);
	check_done();
}

/*
 * etcd comes back with its data gone (revisions start again, behind ours):
 * the watch would wait for a revision that means something else; the
 * source reads everything again and follows the new history.
 */
static void test_data_lost(void **state)
{
	const char *hosts[] = {srv.url, NULL};
	struct xlb_etcd_status st;
	struct env env;
	char ids[256];
	unsigned int n, i;

	for (i = 0; i < 20; i++) /* a revision well ahead of the new etcd's */
		etcd_server_put(&srv, "/t9/upstreams/old", "{}", -1);
	env_start(&env, "/t9", hosts);
	wait_updates(&env, 1);
	wait_connected(&env, 1);
	n = env.rec.n;

	assert_int_equal(etcd_server_wipe(&srv), 0);
	put(&env, "upstreams", "new", "{}");
	wait_updates(&env, n + 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "new|", "the new etcd's content");
	xlb_etcd_status(env.e, &st);
	check_int(st.resyncs, 1, "one resync");
	wait_connected(&env, 1);
	put(&env, "upstreams", "new2", "{}");
	wait_updates(&env, env.rec.n + 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "new,new2|", "following the new history");
	env_stop(&env);
	check_done();
}

struct put_res {
	int done, err;
	char why[256];
};

static void on_put(int err, const char *why, void *arg)
{
	struct put_res *p = arg;

	p->done++;
	p->err = err;
	snprintf(p->why, sizeof(p->why), "%s", why);
}

static int cond_put(struct env *env, void *arg)
{
	return ((struct put_res *)arg)->done;
}

static void test_put_api(void **state)
{
	const char *hosts[] = {srv.url, NULL};
	struct put_res p = {0};
	struct env env;
	char ids[256];
	json_t *obj;

	env_start(&env, "/t6", hosts);
	wait_updates(&env, 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "|", "empty prefix: one update, empty");
	wait_connected(&env, 1);

	obj = json_pack("{s:s, s:s}", "type", "roundrobin", "id", "wrong");
	assert_int_equal(xlb_etcd_put(env.e, "upstreams", "u1", obj, on_put, &p), 0);
	run_until(&env, cond_put, &p, "the put");
	check_int(p.err, 0, "put ok (%s)", p.why);
	wait_updates(&env, 2);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "u1|", "the put came back through the watch");
	check_str(json_string_value(json_object_get(json_array_get(env.rec.ups, 0), "type")),
		  "roundrobin", "the object");

	memset(&p, 0, sizeof(p));
	assert_int_equal(xlb_etcd_put(env.e, "stream_routes", "s1", obj, on_put, &p), 0);
	run_until(&env, cond_put, &p, "the put");
	wait_updates(&env, 3);
	memset(&p, 0, sizeof(p));
	assert_int_equal(xlb_etcd_put(env.e, "upstreams", "u1", NULL, on_put, &p), 0);
	run_until(&env, cond_put, &p, "the delete");
	check_int(p.err, 0, "delete ok (%s)", p.why);
	wait_updates(&env, 4);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "|s1", "after the delete");

	check_int(xlb_etcd_put(env.e, "routes", "1", obj, on_put, &p), -EINVAL, "bad kind");
	check_int(xlb_etcd_put(env.e, "upstreams", "a/b", obj, on_put, &p), -EINVAL, "bad id");
	check_int(xlb_etcd_put(env.e, "upstreams", "", obj, on_put, &p), -EINVAL, "empty id");
	json_decref(obj);
	obj = json_array();
	check_int(xlb_etcd_put(env.e, "upstreams", "x", obj, on_put, &p), -EINVAL, "not an object");
	json_decref(obj);

	/* A write with etcd down fails with a reason. */
	etcd_server_stop(&srv);
	memset(&p, 0, sizeof(p));
	obj = json_object();
	assert_int_equal(xlb_etcd_put(env.e, "upstreams", "u2", obj, on_put, &p), 0);
	json_decref(obj);
	run_until(&env, cond_put, &p, "the failed put");
	check_int(p.err, -EIO, "put with etcd down");
	check_contains(p.why, srv.url, "reason names the host");
	check_contains(p.why, "put /t6/upstreams/u2", "reason names the write");
	assert_int_equal(etcd_server_start(&srv), 0);
	env_stop(&env);
	check_done();
}

/*
 * etcd with authentication (a second etcd of its own): the source logs in
 * with user/password, reads, watches and writes with the token; a wrong
 * password is an error that names etcd's reason, and no update.
 */
static void test_auth(void **state)
{
	static struct etcd_server asrv;
	struct xlb_etcd_conf conf = {.enabled = 1,
				     .nhosts = 1,
				     .timeout = 5,
				     .prefix = "/t7",
				     .user = "root",
				     .password = "s3cret"};
	static const char *const setup[][2] = {
		{"/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"s3cret\"}"},
		{"/v3/auth/role/add", "{\"name\":\"root\"}"},
		{"/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}"},
		{"/v3/auth/enable", "{}"},
	};
	struct xlb_etcd_status st;
	struct put_res p = {0};
	struct env env;
	unsigned int i;
	char ids[64], *r;
	long status;
	json_t *obj;

	assert_int_equal(etcd_server_start(&asrv), 0);
	assert_true(etcd_server_put(&asrv, "/t7/upstreams/1", "{}", -1) > 0);
	for (i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
		r = etcd_server_post(&asrv, setup[i][0], setup[i][1], &status);
		check_int(r && status == 200, 1, "%s: %s", setup[i][0], r ? r : "(no answer)");
		free(r);
	}
	check_int(etcd_server_put(&asrv, "/t7/upstreams/x", "{}", -1) < 0, 1,
		  "etcd refuses writes without a token now");
	snprintf(conf.hosts[0], sizeof(conf.hosts[0]), "%s", asrv.url);

	memset(&env, 0, sizeof(env));
	snprintf(env.prefix, sizeof(env.prefix), "/t7");
	env.base = event_base_new();
	env.e = xlb_etcd_new(env.base, &conf, on_update, &env.rec);
	assert_non_null(env.e);
	wait_updates(&env, 1);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1|", "read with a token");
	wait_connected(&env, 1);
	obj = json_object();
	assert_int_equal(xlb_etcd_put(env.e, "upstreams", "2", obj, on_put, &p), 0);
	json_decref(obj);
	run_until(&env, cond_put, &p, "the put");
	check_int(p.err, 0, "put with a token (%s)", p.why);
	wait_updates(&env, 2);
	rec_ids(&env.rec, ids, sizeof(ids));
	check_str(ids, "1,2|", "watched with a token");
	env_stop(&env);

	snprintf(conf.password, sizeof(conf.password), "wrong");
	memset(&env, 0, sizeof(env));
	env.base = event_base_new();
	env.e = xlb_etcd_new(env.base, &conf, on_update, &env.rec);
	assert_non_null(env.e);
	wait_errors(&env, 1);
	xlb_etcd_status(env.e, &st);
	check_int(env.rec.n, 0, "no update with a wrong password");
	check_contains(st.error, "authenticate: etcd error: etcdserver: authentication failed",
		       "etcd's reason");
	env_stop(&env);
	etcd_server_cleanup(&asrv);
	check_done();
}

static int group_setup(void **state)
{
	int err = etcd_server_start(&srv);

	if (err) {
		print_error("cannot start etcd: %s\n", strerror(-err));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	etcd_server_cleanup(&srv);
	return 0;
}

static void cleanup_at_exit(void)
{
	etcd_server_cleanup(&srv);
}

int main(void)
{
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_follow),	      cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_down_at_start), cmocka_unit_test(test_restart),
		cmocka_unit_test(test_silent),	      cmocka_unit_test(test_compaction),
		cmocka_unit_test(test_put_api),	      cmocka_unit_test(test_data_lost),
		cmocka_unit_test(test_auth),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!etcd_server_binary()) {
		check_skip_tests(live, "no etcd binary (/usr/bin/etcd; Debian package etcd-server, "
				       "scripts/install-deps.sh installs it)");
		return 0;
	}
	atexit(cleanup_at_exit);
	return check_run_tests("etcd live", live, group_setup, group_teardown);
}
