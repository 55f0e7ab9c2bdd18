/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test glue for tests/lib/registry_server.py: start it on 127.0.0.1 with
 * an ephemeral port, script its answers, read its request log, and run a
 * libevent loop until a condition holds. Header-only (static functions):
 * only the discovery tests include it.
 */
#ifndef XLB_TEST_REGISTRY_SERVER_H
#define XLB_TEST_REGISTRY_SERVER_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include <event2/event.h>
#include "base/addr.h"

struct regsrv {
	pid_t pid;
	int port;
	char url[64]; /* "http://127.0.0.1:PORT" */
};

static inline const char *regsrv_script_path(void)
{
	static char path[4200];
	char exe[4096], *p;
	ssize_t n;
	int up;

	if (!access("tests/lib/registry_server.py", R_OK))
		return "tests/lib/registry_server.py";
	/* build/tests/unit/test_x -> <repo>/tests/lib/... */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (up = 0; up < 4 && (p = strrchr(exe, '/')); up++)
		*p = '\0';
	snprintf(path, sizeof(path), "%s/tests/lib/registry_server.py", exe);
	return access(path, R_OK) ? NULL : path;
}

/* 0, or -errno (no python3, no script). With cert and key: HTTPS. */
static inline int regsrv_start_tls(struct regsrv *s, const char *cert, const char *key)
{
	const char *script = regsrv_script_path();
	char line[32];
	int fds[2];
	FILE *f;

	memset(s, 0, sizeof(*s));
	if (!script)
		return -ENOENT;
	if (pipe(fds))
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (!s->pid) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (cert)
			execlp("python3", "python3", script, "--tls", cert, key, (char *)NULL);
		else
			execlp("python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || (s->port = atoi(line)) <= 0) {
		if (f)
			fclose(f);
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		return -ENOENT;
	}
	fclose(f);
	snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%d", cert ? "https" : "http", s->port);
	return 0;
}

static inline int regsrv_start(struct regsrv *s)
{
	return regsrv_start_tls(s, NULL, NULL);
}

static inline void regsrv_stop(struct regsrv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
}

static inline size_t regsrv_collect(char *buf, size_t size, size_t n, void *arg)
{
	char **out = arg;
	size_t len = size * n, old = *out ? strlen(*out) : 0;
	char *p = realloc(*out, old + len + 1);

	if (!p)
		return 0;
	memcpy(p + old, buf, len);
	p[old + len] = '\0';
	*out = p;
	return len;
}

/*
 * A blocking control request (the test's side, not the code under test):
 * POST json to /_ctl/<what> (GET when json is NULL). The answer in *out
 * (malloc'd) when out is set. 0 or -1.
 */
static inline int regsrv_ctl(const struct regsrv *s, const char *what, const char *json, char **out)
{
	char url[128], *buf = NULL;
	struct curl_slist *h = NULL;
	long status = 0;
	CURLcode res;
	CURL *c;

	c = curl_easy_init();
	if (!c)
		return -1;
	snprintf(url, sizeof(url), "%s/_ctl/%s", s->url, what);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	/* The test's own control channel: a TLS server's certificate is its own. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, regsrv_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
	if (json) {
		h = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	}
	res = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (res != CURLE_OK || status != 200) {
		free(buf);
		return -1;
	}
	if (out)
		*out = buf ? buf : strdup("");
	else
		free(buf);
	return 0;
}

static inline int regsrv_script(const struct regsrv *s, const char *json)
{
	return regsrv_ctl(s, "script", json, NULL);
}

/* The request log as JSON text (free it). */
static inline char *regsrv_log(const struct regsrv *s)
{
	char *out = NULL;

	return regsrv_ctl(s, "log", NULL, &out) ? NULL : out;
}

static inline void regsrv_tick(evutil_socket_t fd, short what, void *arg)
{
}

/*
 * Run base until cond(arg) holds, at most limit seconds (a bound against
 * a hung test, not a timing assertion). Returns cond's last value.
 */
static inline int run_until(struct event_base *base, int (*cond)(void *), void *arg, double limit)
{
	struct timeval tv = {0, 20000};
	struct event *tick = event_new(base, -1, EV_PERSIST, regsrv_tick, NULL);
	struct timespec t0, t;
	int ok;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	event_add(tick, &tv);
	while (!(ok = cond(arg))) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 > limit)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(tick);
	return ok;
}

/* Run base for secs seconds (let things that should not happen show up). */
static inline void run_for(struct event_base *base, double secs)
{
	struct timeval tv = {(time_t)secs, (suseconds_t)((secs - (time_t)secs) * 1e6)};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* --- the request log --------------------------------------------------------------- */

/* Append responses (a JSON array text) to path's queue. */
static inline int regsrv_push(const struct regsrv *s, const char *path, const char *responses)
{
	char *buf;
	size_t n = strlen(path) + strlen(responses) + 64;
	int ret;

	buf = malloc(n);
	if (!buf)
		return -1;
	snprintf(buf, n, "{\"path\": \"%s\", \"responses\": %s}", path, responses);
	ret = regsrv_ctl(s, "push", buf, NULL);
	free(buf);
	return ret;
}

/*
 * Answer path's waiting request (a blocking query, a watch) with the one
 * response resp, then make the next request wait again.
 */
static inline int regsrv_answer(const struct regsrv *s, const char *path, const char *resp)
{
	size_t n = strlen(resp) + 32;
	char *buf = malloc(n);
	int ret;

	if (!buf)
		return -1;
	snprintf(buf, n, "[%s, {\"wait\": true}]", resp);
	ret = regsrv_push(s, path, buf);
	free(buf);
	return ret;
}

/* The logged requests to path ("PATH?text": whose query contains text). */
static inline json_t *regsrv_select(const struct regsrv *s, const char *path)
{
	char *text = regsrv_log(s);
	json_t *log, *e, *sel;
	size_t k;

	if (!text)
		return NULL;
	log = json_loads(text, 0, NULL);
	free(text);
	sel = json_array();
	json_array_foreach (log, k, e) {
		const char *p = json_string_value(json_object_get(e, "path")) ?: "";
		const char *qs = json_string_value(json_object_get(e, "query")) ?: "";
		const char *want_q = strchr(path, '?');
		size_t pl = want_q ? (size_t)(want_q - path) : strlen(path);

		if (strlen(p) == pl && !strncmp(p, path, pl) && (!want_q || strstr(qs, want_q + 1)))
			json_array_append(sel, e);
	}
	json_decref(log);
	return sel;
}

/* Requests logged for path so far (see regsrv_select), or -1. */
static inline int regsrv_count(const struct regsrv *s, const char *path)
{
	json_t *sel = regsrv_select(s, path);
	int n = sel ? (int)json_array_size(sel) : -1;

	json_decref(sel);
	return n;
}

/*
 * Field key ("query", "method", "body", or "header:<name>") of request i
 * to path (i < 0 counts from the last); malloc'd, or NULL when there is
 * no such request or field. "PATH?text" selects the requests to PATH
 * whose query contains text.
 */
static inline char *regsrv_req(const struct regsrv *s, const char *path, int i, const char *key)
{
	json_t *sel = regsrv_select(s, path), *e, *v;
	char *out = NULL;

	if (!sel)
		return NULL;
	if (i < 0)
		i += (int)json_array_size(sel);
	e = i >= 0 ? json_array_get(sel, (size_t)i) : NULL;
	if (e && !strncmp(key, "header:", 7))
		v = json_object_get(json_object_get(e, "headers"), key + 7);
	else
		v = e ? json_object_get(e, key) : NULL;
	if (json_is_string(v))
		out = strdup(json_string_value(v));
	json_decref(sel);
	return out;
}

/* --- a discovery manager with one watch -------------------------------------------- */

#ifdef XLB_DISCOVERY_H
struct dwatch {
	struct event_base *base;
	struct xlb_disc *d;
	struct xlb_disc_watch *w;
	int updates;
	char text[4096];
};

static inline void dwatch_cb(struct xlb_disc_watch *w, void *arg)
{
	((struct dwatch *)arg)->updates++;
}

static inline int dwatch_start(struct dwatch *t, const struct xlb_discovery_conf *conf,
			       const char *type, const char *service, const char *args)
{
	char why[256];

	memset(t, 0, sizeof(*t));
	if (xlb_disc_check(conf, type, service, args, why, sizeof(why))) {
		fprintf(stderr, "check: %s\n", why);
		return -1;
	}
	t->base = event_base_new();
	t->d = t->base ? xlb_disc_new(t->base, conf) : NULL;
	t->w = t->d ? xlb_disc_watch_new(t->d, type, service, args, NULL, 0, dwatch_cb, t) : NULL;
	return t->w ? 0 : -1;
}

static inline void dwatch_stop(struct dwatch *t)
{
	xlb_disc_free(t->d); /* frees the watches */
	if (t->base)
		event_base_free(t->base);
	memset(t, 0, sizeof(*t));
}

/* The node set as "addr:port/weight addr:port/weight ..." ("" when empty). */
static inline const char *dwatch_nodes(struct dwatch *t)
{
	const struct xlb_node_conf *v;
	char a[64];
	size_t n, i, o = 0;

	v = xlb_disc_watch_nodes(t->w, &n);
	t->text[0] = '\0';
	for (i = 0; i < n && o < sizeof(t->text) - 80; i++) {
		xlb_addr_str(v[i].addr.addr, v[i].addr.family, a, sizeof(a));
		o += (size_t)snprintf(t->text + o, sizeof(t->text) - o, "%s%s:%u/%u", i ? " " : "",
				      a, v[i].port, v[i].weight);
	}
	return t->text;
}

struct dwatch_want {
	struct dwatch *t;
	const char *nodes;
	unsigned long errors, answers;
};

static inline int dwatch_nodes_are(void *arg)
{
	struct dwatch_want *x = arg;

	return !strcmp(dwatch_nodes(x->t), x->nodes);
}

static inline int dwatch_counts(void *arg)
{
	struct dwatch_want *x = arg;
	struct xlb_disc_status st;

	xlb_disc_watch_status(x->t->w, &st);
	return st.errors >= x->errors && st.answers >= x->answers;
}

/* Run until the node set reads nodes (see dwatch_nodes); 1 when it does. */
static inline int dwatch_wait_nodes(struct dwatch *t, const char *nodes, double limit)
{
	struct dwatch_want x = {.t = t, .nodes = nodes};

	return run_until(t->base, dwatch_nodes_are, &x, limit);
}

/* Run until the watch counted at least errors errors and answers answers. */
static inline int dwatch_wait_counts(struct dwatch *t, unsigned long errors, unsigned long answers,
				     double limit)
{
	struct dwatch_want x = {.t = t, .errors = errors, .answers = answers};

	return run_until(t->base, dwatch_counts, &x, limit);
}

static inline struct xlb_disc_status dwatch_status(struct dwatch *t)
{
	struct xlb_disc_status st;

	xlb_disc_watch_status(t->w, &st);
	return st;
}
#endif /* XLB_DISCOVERY_H */

#endif /* XLB_TEST_REGISTRY_SERVER_H */
