// SPDX-License-Identifier: GPL-2.0-only
/* The agent's HTTP interface; see admin.h. */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>

#include "agent/admin.h"
#include "agent/adminapi.h"
#include "agent/agent.h"
#include "agent/metrics.h"
#include "base/addr.h"
#include "base/apikey.h"
#include "base/log.h"

#define ADMIN_PREFIX   "/apisix/admin/"
#define BACKLOG	       128 /* connections the kernel holds while we do not accept */
#define FD_RESERVE     64  /* open files kept for the agent, besides 2 a node */
#define ACCEPT_PAUSE_S 1   /* no accept for this long after EMFILE, ENFILE... */

/*
 * Where a connection is. IDLE: no request under way (idle_timeout). HEAD:
 * from a request's first byte to the empty line after its headers
 * (header_timeout, max_header_size). BODY: to the end of its body
 * (body_timeout; evhttp holds the size to max_body_size). ANSWER: the
 * handler has it; no deadline of ours (evhttp's write timeout). REFUSE: an
 * answer of ours (431) goes out before the connection closes.
 */
enum conn_phase {
	CONN_IDLE,
	CONN_HEAD,
	CONN_BODY,
	CONN_ANSWER,
	CONN_REFUSE,
};

struct conn {
	struct xlb_admin *ad;
	struct conn *next;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until bound (on_conn_timer) */
	struct evbuffer_cb_entry *input_cb;
	struct event *timer; /* binds, then the phase's deadline */
	enum conn_phase phase;
	int refuse;  /* CONN_REFUSE: the status */
	int eol;     /* head scanner: 1 after \n, 2 after \n\r */
	size_t head; /* bytes of this request's head so far */
};

struct xlb_admin {
	struct xlb_agent *agent;
	struct evhttp *http;
	struct evconnlistener *lev;
	struct conn *conns;
	unsigned int nconns, max_conns;
	int full;			  /* not accepting: max_conns open */
	int loopback;			  /* listening on a loopback address */
	struct xlb_admin_counter counter; /* createdIndex without etcd */
	size_t max_header;
	struct timeval header_tmo, body_tmo, idle_tmo;
	char api_key[XLB_API_KEY_LEN];
};

static void reply_json(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (out && text) {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
	}
	evhttp_send_reply(req, code,
			  code < 300	? "OK"
			  : code == 404 ? "Not Found"
			  : code == 401 ? "Unauthorized"
			  : code < 500	? "Bad Request"
					: "Error",
			  out);
	free(text);
	json_decref(body);
	if (out)
		evbuffer_free(out);
}

static void reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(req, code, json_pack("{s:s}", "error_msg", msg));
}

/* --- Admin API ------------------------------------------------------------ */

static json_t *store_doc(void *arg)
{
	return xlb_agent_doc(arg);
}

static int store_put(void *arg, const char *kind, const char *id, json_t *obj,
		     struct xlb_conf_errors *errs)
{
	return xlb_agent_put(arg, kind, id, obj, errs);
}

/* With etcd as the store, its create and mod revisions of the key. */
static int store_revs(void *arg, const char *kind, const char *id, long long *created,
		      long long *modified)
{
	return xlb_agent_revs(arg, kind, id, created, modified);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	default:
		return "OTHER";
	}
}

/*
 * /apisix/admin/...: adminapi.c answers, with the agent as the store; @path
 * is below the prefix, @query the URL's query or NULL.
 */
static void handle_admin(struct xlb_admin *ad, struct evhttp_request *req, const char *path,
			 const char *query)
{
	const struct xlb_admin_store st = {.doc = store_doc,
					   .put = store_put,
					   .revs = store_revs,
					   .arg = ad->agent,
					   .counter = &ad->counter};
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body = malloc(len + 1), *target = NULL;
	json_t *out = NULL;
	int code;

	if (!body || asprintf(&target, "%s%s%s", path, query ? "?" : "", query ? query : "") < 0) {
		free(body);
		return reply_error(req, 500, "out of memory");
	}
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	code = xlb_admin_api(&st, method_name(evhttp_request_get_command(req)), target, body, len,
			     &out);
	free(target);
	free(body);
	reply_json(req, code, out);
}

/* The key: the X-API-KEY header, else ?api_key= as APISIX takes it too (NULL: none). */
static const char *request_key(struct evhttp_request *req, const char *query,
			       struct evkeyvalq *args)
{
	const char *key = evhttp_find_header(evhttp_request_get_input_headers(req), "X-API-KEY");

	if (key || !query || evhttp_parse_query_str(query, args))
		return key;
	return evhttp_find_header(args, "api_key");
}

static json_t *node_json(const struct xlb_agent_node_view *n)
{
	return json_pack("{s:s, s:i, s:s, s:s, s:{s:i, s:i, s:i, s:i}, s:f, s:I}", "ip", n->ip,
			 "port", n->port, "status", n->status, "health",
			 xlb_agent_health_name(n->health), "counter", "success", n->success,
			 "http_failure", n->http_failure, "tcp_failure", n->tcp_failure,
			 "timeout_failure", n->timeout, "latency_s", n->latency_s, "probes",
			 (json_int_t)n->probes);
}

/* GET /v1/healthcheck: per upstream, its nodes' state and counters. */
static void handle_healthcheck(struct xlb_admin *ad, struct evhttp_request *req)
{
	const struct xlb_agent_upstream_view *u;
	struct xlb_agent_snapshot s;
	json_t *list, *nodes;
	char name[128];
	size_t i, j;
	long k;

	if (xlb_agent_snapshot(ad->agent, XLB_SNAP_STATUS, &s)) {
		xlb_agent_snapshot_free(&s);
		return reply_error(req, 500, "out of memory");
	}
	list = json_array();
	for (i = 0; i < s.nupstreams; i++) {
		u = &s.upstreams[i];
		nodes = json_array();
		for (j = 0; j < u->nmembers; j++) {
			k = u->members[j].node;
			if (k >= 0)
				json_array_append_new(nodes, node_json(&s.nodes[k]));
		}
		snprintf(name, sizeof(name), "/apisix/upstreams/%s", u->id);
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:b, s:o}", "name", name, "type",
						u->check, "active", u->active, "nodes", nodes));
	}
	xlb_agent_snapshot_free(&s);
	reply_json(req, 200, list);
}

/* --- /metrics ------------------------------------------------------------------ */

static void handle_metrics(struct xlb_admin *ad, struct evhttp_request *req)
{
	int per_node = xlb_agent_conf(ad->agent)->xlb.metrics_per_node;
	struct xlb_agent_snapshot s;
	struct evbuffer *out;
	int err;

	err = xlb_agent_snapshot(ad->agent,
				 XLB_SNAP_METRICS | (per_node ? XLB_SNAP_NO_UPSTREAMS : 0), &s);
	out = err ? NULL : evbuffer_new();
	if (out)
		err = xlb_metrics_write(out, &s, per_node);
	xlb_agent_snapshot_free(&s);
	if (!out || err) {
		if (out)
			evbuffer_free(out);
		return reply_error(req, 500, "out of memory");
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* POST /v1/reload: what SIGHUP does, with the problems in the answer. */
static void handle_reload(struct xlb_admin *ad, struct evhttp_request *req)
{
	const char *file = xlb_agent_conf_file(ad->agent);
	struct xlb_conf_errors errs;
	json_t *list;
	char line[512];
	size_t i;
	int err;

	pr_info("reload: requested through the admin API\n");
	err = xlb_agent_reload(ad->agent, &errs);
	/* Bad (400) or unreadable (500): the problems, each naming the file. */
	if (err == -EINVAL || (err && errs.n)) {
		list = json_array();
		for (i = 0; i < errs.n && i < sizeof(errs.e) / sizeof(errs.e[0]); i++) {
			xlb_conf_error_str(file, &errs.e[i], line, sizeof(line));
			json_array_append_new(list, json_string(line));
		}
		pr_warn("reload: %s is %s; the running configuration stays\n", file,
			err == -EINVAL ? "invalid" : "unreadable");
		return reply_json(
			req, err == -EINVAL ? 400 : 500,
			json_pack("{s:s, s:o}", "error_msg",
				  err == -EINVAL
					  ? "invalid configuration; the running one stays"
					  : "unreadable configuration; the running one stays",
				  "errors", list));
	}
	if (err)
		return reply_error(req, 500, "reload of %s: %s", file, strerror(-err));
	pr_info("reload: done\n");
	reply_json(req, 200, json_pack("{s:s}", "reloaded", file));
}

static json_t *watch_json(const struct xlb_agent_upstream_view *u)
{
	const struct xlb_agent_watch_view *w = &u->watch;

	return json_pack("{s:s, s:s, s:b, s:f, s:f, s:I, s:I, s:I, s:s?}", "type",
			 u->discovery_type, "service_name", u->service_name, "answered",
			 w->answered, "confirmed", w->confirmed, "changed", w->changed, "answers",
			 (json_int_t)w->answers, "errors", (json_int_t)w->errors, "changes",
			 (json_int_t)w->changes, "error", w->error[0] ? w->error : NULL);
}

/*
 * An upstream as the agent runs it: its nodes (static or discovered) with
 * each one's source ("config" or the registry), when it was last confirmed
 * (wall-clock seconds) and its health, plus the registry watch's status.
 */
static json_t *upstream_json(const struct xlb_agent_snapshot *s,
			     const struct xlb_agent_upstream_view *u)
{
	const struct xlb_agent_member_view *m;
	json_t *nodes = json_array();
	const char *health;
	size_t i;

	for (i = 0; nodes && i < u->nmembers; i++) {
		m = &u->members[i];
		health = m->node >= 0 ? xlb_agent_health_name(s->nodes[m->node].health) : "unknown";
		json_array_append_new(nodes,
				      json_pack("{s:s, s:i, s:I, s:i, s:s, s:f, s:s}", "host",
						m->host, "port", m->port, "weight",
						(json_int_t)m->weight, "priority", m->priority,
						"source", u->watched ? u->discovery_type : "config",
						"confirmed", m->confirmed, "health", health));
	}
	return json_pack("{s:s, s:o, s:o}", "id", u->id, "discovery",
			 u->watched ? watch_json(u) : json_null(), "nodes", nodes);
}

/* GET /v1/upstreams/ID: the nodes as the agent runs them, with their source. */
static void handle_upstream_view(struct xlb_admin *ad, struct evhttp_request *req, const char *id)
{
	char *dec = evhttp_uridecode(id, 0, NULL);
	struct xlb_agent_snapshot s;
	json_t *v = NULL;
	size_t i;

	if (!dec)
		return reply_error(req, 500, "out of memory");
	if (xlb_agent_snapshot(ad->agent, 0, &s)) {
		xlb_agent_snapshot_free(&s);
		free(dec);
		return reply_error(req, 500, "out of memory");
	}
	for (i = 0; i < s.nupstreams && !v; i++)
		if (!strcmp(s.upstreams[i].id, dec))
			v = upstream_json(&s, &s.upstreams[i]);
	xlb_agent_snapshot_free(&s);
	if (!v) {
		reply_error(req, 404, "no upstream '%s'", dec);
		free(dec);
		return;
	}
	free(dec);
	reply_json(req, 200, v);
}

/* --- connections: how many, how long, how large ---------------------------- */

static void conn_arm(struct conn *c, enum conn_phase phase, const struct timeval *tmo)
{
	c->phase = phase;
	evtimer_add(c->timer, tmo);
}

static struct conn *conn_find(struct xlb_admin *ad, struct evhttp_connection *evcon)
{
	struct conn *c;

	for (c = ad->conns; c && c->evcon != evcon; c = c->next)
		;
	return c;
}

/* Our own answer, written straight to the socket: the connection closes next. */
static void conn_answer(struct conn *c, int code, const char *reason, const char *msg)
{
	char buf[512];
	int n, body = (int)strlen(msg) + (int)strlen("{\"error_msg\":\"\"}\n");

	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		     "Content-Length: %d\r\nConnection: close\r\n\r\n{\"error_msg\":\"%s\"}\n",
		     code, reason, body, msg);
	if (n > 0 && (size_t)n < sizeof(buf) &&
	    send(bufferevent_getfd(c->bev), buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("admin: answering %d: %s\n", code, strerror(errno));
}

/* c is gone: uncounted, unwatched, freed; the listener on again below the cap. */
static void conn_forget(struct conn *c)
{
	struct xlb_admin *ad = c->ad;
	struct conn **pp;

	for (pp = &ad->conns; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
	event_free(c->timer);
	free(c);
	ad->nconns--;
	if (ad->full && ad->lev && ad->nconns < ad->max_conns) {
		ad->full = 0;
		evconnlistener_enable(ad->lev);
	}
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	conn_forget(arg);
}

/*
 * Once evhttp has made the connection (right after the accept), then at
 * each deadline. Freeing the connection calls on_conn_close, which frees c.
 */
static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct xlb_admin *ad = c->ad;
	void *evcon = NULL;
	char msg[96];

	if (!c->evcon) {
		/* evhttp's callbacks on the bufferevent carry its connection. */
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
		if (!evcon) {
			/* evhttp could not make its connection (no memory). */
			struct bufferevent *bev = c->bev;

			conn_forget(c);
			bufferevent_free(bev);
			return;
		}
		c->evcon = evcon;
		evhttp_connection_set_closecb(c->evcon, on_conn_close, c);
		if (ad->nconns <= ad->max_conns)
			return conn_arm(c, CONN_IDLE, &ad->idle_tmo);
		/* Accepted beyond the cap (the listener was on again): closed at once. */
		evhttp_connection_free(c->evcon);
		return;
	}
	switch (c->phase) {
	case CONN_REFUSE:
		snprintf(msg, sizeof(msg), "request line and headers longer than %zu bytes",
			 ad->max_header);
		conn_answer(c, 431, "Request Header Fields Too Large", msg);
		break;
	case CONN_HEAD:
	case CONN_BODY:
		conn_answer(c, 408, "Request Timeout",
			    c->phase == CONN_HEAD ? "request headers too slow"
						  : "request body too slow");
		break;
	default:
		break;
	}
	evhttp_connection_free(c->evcon);
}

/* Feeds len head bytes to the scanner; how many it took (it stops at the end). */
static size_t head_scan(struct conn *c, const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len && c->head <= c->ad->max_header; i++) {
		c->head++;
		if (b[i] == '\n' && c->eol) {
			conn_arm(c, CONN_BODY, &c->ad->body_tmo);
			return i + 1;
		}
		c->eol = b[i] == '\n' ? 1 : b[i] == '\r' && c->eol ? 2 : 0;
	}
	return i;
}

/*
 * Every read: finds the end of a request's head (an empty line, "\n" or
 * "\r\n") in the new bytes and holds the head to max_header, before evhttp
 * parses (or keeps) anything. Beyond it, the input is dropped, reading
 * stops and on_conn_timer answers 431.
 */
static void on_conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct evbuffer_iovec vec[8];
	struct evbuffer_ptr pos;
	size_t len = evbuffer_get_length(buf), off, n;
	int i, nvec;

	if (!info->n_added || !c->evcon || (c->phase != CONN_IDLE && c->phase != CONN_HEAD))
		return;
	if (c->phase == CONN_IDLE) {
		c->head = 0;
		c->eol = 0;
		conn_arm(c, CONN_HEAD, &c->ad->header_tmo);
	}
	off = info->n_added < len ? len - info->n_added : 0;
	while (off < len && c->phase == CONN_HEAD && c->head <= c->ad->max_header) {
		if (evbuffer_ptr_set(buf, &pos, off, EVBUFFER_PTR_SET))
			break;
		nvec = evbuffer_peek(buf, (ev_ssize_t)(len - off), &pos, vec, 8);
		if (nvec <= 0)
			break;
		for (i = 0; i < nvec && i < 8 && c->phase == CONN_HEAD; i++) {
			n = vec[i].iov_len < len - off ? vec[i].iov_len : len - off;
			off += head_scan(c, vec[i].iov_base, n);
			if (c->head > c->ad->max_header)
				break;
		}
	}
	if (c->phase != CONN_HEAD || c->head <= c->ad->max_header)
		return;
	c->phase = CONN_REFUSE;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(buf, evbuffer_get_length(buf));
	evtimer_del(c->timer);
	event_active(c->timer, EV_TIMEOUT, 1);
}

/* evhttp's bufferevent for a new connection: counted, watched, capped. */
static struct bufferevent *on_connection(struct event_base *base, void *arg)
{
	struct xlb_admin *ad = arg;
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ad = ad;
	c->bev = bufferevent_socket_new(base, -1, 0);
	c->timer = evtimer_new(base, on_conn_timer, c);
	if (c->bev)
		c->input_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), on_conn_input, c);
	if (!c->bev || !c->timer || !c->input_cb)
		goto out_free;
	c->next = ad->conns;
	ad->conns = c;
	if (++ad->nconns >= ad->max_conns && !ad->full) {
		/* The kernel holds the next ones (BACKLOG) until one closes. */
		ad->full = 1;
		evconnlistener_disable(ad->lev);
	}
	/*
	 * evhttp sets the connection up when this returns, before anything
	 * is read from it; the timer, active now, runs right after that and
	 * finds the connection (on_conn_timer). (evhttp frees the bufferevent
	 * meanwhile only when it runs out of memory.)
	 */
	event_active(c->timer, EV_TIMEOUT, 1);
	return c->bev;
out_free:
	if (c->timer)
		event_free(c->timer);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c);
	return NULL;
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(arg);
}

/*
 * accept() failed for want of file descriptors or memory (EINTR, EAGAIN
 * and ECONNABORTED never come here): a pause, not a busy loop. One line a
 * pause at most.
 */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval pause = {.tv_sec = ACCEPT_PAUSE_S};
	int err = EVUTIL_SOCKET_ERROR();

	pr_warn("admin: accept: %s; not accepting for %d s\n", strerror(err), ACCEPT_PAUSE_S);
	evconnlistener_disable(lev);
	if (event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT, on_accept_resume, lev,
			    &pause))
		evconnlistener_enable(lev);
}

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the listing's own */
}

/*
 * The connection cap: xlb.admin.max_connections, lowered so that the
 * agent's own files (registries, etcd, netlink: FD_RESERVE; the health
 * probes it may run at once) fit in RLIMIT_NOFILE whatever the admin port
 * receives.
 */
static unsigned int conn_cap(struct xlb_admin *ad, unsigned int wanted)
{
	unsigned long long limit = 1 << 20, used = open_fds(), cap;
	unsigned long long reserve = FD_RESERVE + xlb_agent_probe_fds(ad->agent);
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		limit = rl.rlim_cur;
	cap = limit > used + reserve ? limit - used - reserve : 0;
	if (cap > wanted)
		cap = wanted;
	if (cap < 1) {
		pr_warn("admin: open files limit %llu leaves no room beside %llu in use and %llu "
			"kept: 1 connection at a time\n",
			limit, used, reserve);
		cap = 1;
	}
	pr_info("admin: at most %llu connections (max_connections %u; open files limit %llu, "
		"%llu in use, %llu kept for probes, registries, etcd and netlink)\n",
		cap, wanted, limit, used, reserve);
	return (unsigned int)cap;
}

/* --- requests ------------------------------------------------------------------ */

static void on_answered(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	conn_arm(c, CONN_IDLE, &c->ad->idle_tmo);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct xlb_admin *ad = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct conn *c = conn_find(ad, evhttp_request_get_connection(req));
	struct evkeyvalq args = {};
	int ok;

	if (c) {
		evtimer_del(c->timer);
		c->phase = CONN_ANSWER;
		evhttp_request_set_on_complete_cb(req, on_answered, c);
	}
	if (!path)
		return reply_error(req, 400, "bad request URI");
	TAILQ_INIT(&args);
	ok = xlb_admin_authorized(ad->loopback, method_name(evhttp_request_get_command(req)), path,
				  request_key(req, query, &args), ad->api_key);
	evhttp_clear_headers(&args);
	if (!ok)
		return reply_error(req, 401, "failed to check token: missing or wrong X-API-KEY");
	if (!strncmp(path, ADMIN_PREFIX, strlen(ADMIN_PREFIX)))
		return handle_admin(ad, req, path + strlen(ADMIN_PREFIX), query);
	if (!strcmp(path, "/v1/reload")) {
		if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
			return reply_error(req, 405, "use POST");
		return handle_reload(ad, req);
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
		return reply_error(req, 405, "method not allowed");
	if (!strcmp(path, "/v1/healthcheck"))
		return handle_healthcheck(ad, req);
	if (!strcmp(path, "/metrics"))
		return handle_metrics(ad, req);
	if (!strncmp(path, "/v1/upstreams/", 14))
		return handle_upstream_view(ad, req, path + 14);
	reply_error(req, 404,
		    "no such path '%s' (/apisix/admin/..., /v1/healthcheck, "
		    "/v1/upstreams/ID, /metrics)",
		    path);
}

static struct timeval tv_of(double s)
{
	return (struct timeval){.tv_sec = (time_t)s,
				.tv_usec = (suseconds_t)((s - (time_t)s) * 1e6)};
}

struct xlb_admin *xlb_admin_new(struct event_base *base, struct xlb_agent *a,
				const struct xlb_settings *s, const char *api_key)
{
	struct sockaddr_storage ss;
	struct xlb_addr_key addr;
	struct xlb_admin *ad;
	int sslen = sizeof(ss), err;
	__u16 port;

	if (xlb_endpoint_parse(s->admin_listen, &addr, &port, NULL, 0) || !port ||
	    evutil_parse_sockaddr_port(s->admin_listen, (struct sockaddr *)&ss, &sslen)) {
		pr_warn("admin: listen address '%s' is not ADDR:PORT\n", s->admin_listen);
		errno = EINVAL;
		return NULL;
	}
	if (!api_key || !*api_key || strlen(api_key) >= sizeof(ad->api_key)) {
		pr_warn("admin: the API key must have 1 to %zu characters\n",
			sizeof(ad->api_key) - 1);
		errno = EINVAL;
		return NULL;
	}
	ad = calloc(1, sizeof(*ad));
	if (!ad)
		return NULL;
	ad->agent = a;
	snprintf(ad->api_key, sizeof(ad->api_key), "%s", api_key);
	ad->loopback = xlb_addr_is_loopback(&addr);
	ad->max_header = s->admin_max_header_size;
	ad->header_tmo = tv_of(s->admin_header_timeout);
	ad->body_tmo = tv_of(s->admin_body_timeout);
	ad->idle_tmo = tv_of(s->admin_idle_timeout);
	ad->max_conns = conn_cap(ad, s->admin_max_connections);
	ad->http = evhttp_new(base);
	if (!ad->http)
		goto out_free;
	/*
	 * Every method reaches on_request, which answers the ones it does not
	 * serve with a JSON 405 (evhttp's own answer would be an HTML 501).
	 */
	evhttp_set_allowed_methods(ad->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						     EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						     EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	/* evhttp's own limits stay as a second line (its answer to a long head is 400). */
	evhttp_set_max_headers_size(ad->http, s->admin_max_header_size);
	evhttp_set_max_body_size(ad->http, s->admin_max_body_size);
	/* No byte either way for idle_timeout: closed (a stalled read or write). */
	evhttp_set_timeout_tv(ad->http, &ad->idle_tmo);
	evhttp_set_bevcb(ad->http, on_connection, ad);
	evhttp_set_gencb(ad->http, on_request, ad);
	ad->lev = evconnlistener_new_bind(
		base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
		BACKLOG, (struct sockaddr *)&ss, sslen);
	if (!ad->lev) {
		err = errno;
		pr_warn("admin: cannot listen on %s: %s\n", s->admin_listen, strerror(err));
		errno = err == EADDRINUSE ? err : EADDRINUSE;
		goto out_free;
	}
	if (!evhttp_bind_listener(ad->http, ad->lev)) {
		evconnlistener_free(ad->lev);
		ad->lev = NULL;
		goto out_free;
	}
	/* The listener's user data is evhttp's: the error callback needs none. */
	evconnlistener_set_error_cb(ad->lev, on_accept_error);
	pr_info("admin: listening on %s\n", s->admin_listen);
	return ad;
out_free:
	xlb_admin_free(ad);
	return NULL;
}

void xlb_admin_free(struct xlb_admin *ad)
{
	if (!ad)
		return;
	/* Frees the listener, then every connection (on_conn_close for each). */
	ad->lev = NULL;
	if (ad->http)
		evhttp_free(ad->http);
	xlb_admin_counter_free(&ad->counter);
	free(ad);
}
