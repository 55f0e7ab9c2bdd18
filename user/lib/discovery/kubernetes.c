// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kubernetes registry: a service's EndpointSlices, listed and then
 * watched on the API server.
 *
 *   GET /apis/discovery.k8s.io/v1/namespaces/<ns>/endpointslices
 *       ?labelSelector=kubernetes.io/service-name=<name>
 *   then the same with &watch=1&resourceVersion=<rv>&allowWatchBookmarks=true
 *
 * The watch is a chunked stream of JSON lines {"type", "object"}: ADDED
 * and MODIFIED replace a slice by name, DELETED removes it, BOOKMARK only
 * moves the resourceVersion, ERROR with code 410 (or an HTTP 410) means
 * the version is too old and the list starts over. Each event moves the
 * resourceVersion, so a watch that ends (the server's timeout) or drops
 * resumes from the last one it saw, which is how the API server expects
 * clients to continue. A line that does not parse aborts the watch and,
 * after the backoff, lists again (our copy may have missed something).
 *
 * service_name is APISIX's "<namespace>/<name>:<portName>"; the port is
 * matched by ports[].name (without ":<portName>", the unnamed port).
 * Nodes: every address of the endpoints that are ready, where a missing
 * conditions.ready counts as ready (as the EndpointSlice API says);
 * weight default_weight. FQDN slices carry no addresses and give none.
 *
 * Gone, authoritatively: a successful list or watch leaves the service
 * with no slice at all, or with slices that have no endpoint at all (a
 * service scaled to zero). Slices with endpoints of which none is ready
 * keep the last good set (an "empty answer" error), as every failure.
 *
 * Only EndpointSlices are read (discovery.k8s.io/v1, every supported
 * Kubernetes serves them): watch_endpoint_slices: false, APISIX's switch
 * to the older Endpoints API, gives the same nodes from the same source.
 *
 * Authentication: client.token, else the token read from token_file at
 * start and again after a 401 (service-account tokens are rotated);
 * https verifies the API server with ca_file when it exists.
 *
 * Nothing is reported from inside libcurl's callbacks: the stream's
 * events are applied as they come and the node set is reported from a
 * deferred event, so the update callback may do anything, including
 * stopping this watch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <jansson.h>

#include "base/addr.h"
#include "discovery/discovery.h"
#include "base/http.h"
#include "discovery/httpreg.h"
#include "base/vec.h"
#include "base/log.h"

#define LINE_MAX_BYTES (16U << 20) /* one watch event at most */
#define WATCH_TIMEOUT  290	   /* timeoutSeconds asked of the server */

enum k8s_phase {
	PH_LIST,
	PH_WATCH,
};

struct k8s {
	struct xlb_httpreg p; /* one server: nhosts = 1 */
	enum k8s_phase phase;
	struct xlb_k8s_slices slices;
	char ns[64], name[256], port[64];
	char token[4096];
	char *line; /* a partial watch line */
	size_t llen, lcap;
	int dirty;	      /* slices changed, not reported yet */
	int relist;	      /* the watch said 410 */
	char stream_err[256]; /* why the watch was aborted */
	struct event *report;
};

/* --- parsing --------------------------------------------------------------------------- */

static void slice_free(struct xlb_k8s_slice *s)
{
	free(s->name);
	xlb_disc_nodes_free(&s->nodes);
}

void xlb_k8s_slices_free(struct xlb_k8s_slices *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		slice_free(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int xlb_k8s_slices_nodes(const struct xlb_k8s_slices *s, struct xlb_disc_nodes *out)
{
	size_t i, j;

	for (i = 0; i < s->n; i++)
		for (j = 0; j < s->v[i].nodes.n; j++)
			if (xlb_disc_nodes_add(out, &s->v[i].nodes.v[j]))
				return -ENOMEM;
	return 0;
}

static int slices_room(struct xlb_k8s_slices *s)
{
	return xlb_vec_room((void **)&s->v, sizeof(*s->v), NULL, 0, s->n, &s->cap, 4);
}

/* Endpoints the slices list, ready or not. */
static size_t slices_endpoints(const struct xlb_k8s_slices *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->v[i].endpoints;
	return n;
}

/* One EndpointSlice object into sl (name, ready nodes, endpoint count). */
static int parse_slice(const json_t *o, const char *port_name, __u32 weight,
		       struct xlb_k8s_slice *sl, char *err, size_t errlen)
{
	const json_t *md, *name, *type, *ports, *eps, *e, *p, *pn, *pp, *addrs, *a, *cond, *ready;
	struct xlb_node_conf nd;
	size_t i, j;
	int port = 0, fqdn;

	memset(sl, 0, sizeof(*sl));
	md = json_object_get(o, "metadata");
	name = json_object_get(md, "name");
	if (!json_is_object(o) || !json_is_string(name)) {
		snprintf(err, errlen, "EndpointSlice without metadata.name");
		return -EINVAL;
	}
	type = json_object_get(o, "addressType");
	if (type && !json_is_string(type)) {
		snprintf(err, errlen, "slice %s: addressType is not a string",
			 json_string_value(name));
		return -EINVAL;
	}
	fqdn = type && !strcmp(json_string_value(type), "FQDN");
	ports = json_object_get(o, "ports");
	if (ports && !json_is_null(ports) && !json_is_array(ports)) {
		snprintf(err, errlen, "slice %s: ports is not an array", json_string_value(name));
		return -EINVAL;
	}
	json_array_foreach (ports, i, p) {
		pn = json_object_get(p, "name");
		pp = json_object_get(p, "port");
		if (!json_is_object(p) || (pn && !json_is_string(pn)) ||
		    (pp && !json_is_integer(pp))) {
			snprintf(err, errlen, "slice %s: ports[%zu] is malformed",
				 json_string_value(name), i);
			return -EINVAL;
		}
		if (strcmp(pn ? json_string_value(pn) : "", port_name))
			continue;
		if (!pp || json_integer_value(pp) < 1 || json_integer_value(pp) > 65535) {
			snprintf(err, errlen, "slice %s: port '%s' has no port number",
				 json_string_value(name), port_name);
			return -EINVAL;
		}
		port = (int)json_integer_value(pp);
	}
	eps = json_object_get(o, "endpoints");
	if (eps && !json_is_null(eps) && !json_is_array(eps)) {
		snprintf(err, errlen, "slice %s: endpoints is not an array",
			 json_string_value(name));
		return -EINVAL;
	}
	sl->name = strdup(json_string_value(name));
	if (!sl->name) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach (eps, i, e) {
		addrs = json_object_get(e, "addresses");
		cond = json_object_get(e, "conditions");
		ready = cond ? json_object_get(cond, "ready") : NULL;
		if (!json_is_object(e) || !json_is_array(addrs) ||
		    (cond && !json_is_object(cond)) ||
		    (ready && !json_is_boolean(ready) && !json_is_null(ready))) {
			snprintf(err, errlen, "slice %s: endpoints[%zu] is malformed", sl->name, i);
			goto out_free;
		}
		sl->endpoints++;
		/* Kubernetes: a missing (or null) ready condition means ready. */
		if (json_is_false(ready) || !port || fqdn)
			continue;
		json_array_foreach (addrs, j, a) {
			if (!json_is_string(a)) {
				snprintf(err, errlen,
					 "slice %s: endpoints[%zu].addresses[%zu] is "
					 "not a string",
					 sl->name, i, j);
				goto out_free;
			}
			memset(&nd, 0, sizeof(nd));
			if (xlb_addr_parse(json_string_value(a), &nd.addr, NULL, 0))
				continue;
			nd.port = (__u16)port;
			nd.weight = weight;
			if (xlb_disc_nodes_add(&sl->nodes, &nd)) {
				snprintf(err, errlen, "out of memory");
				goto out_free;
			}
		}
	}
	return 0;

out_free:
	slice_free(sl);
	return -EINVAL;
}

static const char *rv_of(const json_t *o)
{
	const json_t *rv = json_object_get(json_object_get(o, "metadata"), "resourceVersion");

	/* An empty version would turn a resuming watch into "from now on". */
	return json_is_string(rv) && json_string_length(rv) ? json_string_value(rv) : NULL;
}

int xlb_k8s_parse_list(const char *body, size_t len, const char *port_name, __u32 weight,
		       struct xlb_k8s_slices *s, char *err, size_t errlen)
{
	struct xlb_k8s_slices ns = {0};
	json_t *root, *items, *it;
	const char *rv;
	int ret = -EINVAL;
	size_t i;

	root = xlb_httpreg_load("EndpointSlice list", body, len, err, errlen);
	if (!root)
		return -EINVAL;
	items = json_object_get(root, "items");
	rv = rv_of(root);
	if (!json_is_object(root) || (items && !json_is_null(items) && !json_is_array(items))) {
		snprintf(err, errlen, "EndpointSlice list has no items array");
		goto out;
	}
	if (!rv || strlen(rv) >= sizeof(ns.rv)) {
		snprintf(err, errlen, "EndpointSlice list has no metadata.resourceVersion");
		goto out;
	}
	snprintf(ns.rv, sizeof(ns.rv), "%s", rv);
	json_array_foreach (items, i, it) {
		if (slices_room(&ns)) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (parse_slice(it, port_name, weight, &ns.v[ns.n], err, errlen))
			goto out;
		ns.n++;
	}
	xlb_k8s_slices_free(s);
	*s = ns;
	memset(&ns, 0, sizeof(ns));
	ret = 0;
out:
	xlb_k8s_slices_free(&ns);
	json_decref(root);
	return ret;
}

int xlb_k8s_parse_event(const char *line, size_t len, const char *port_name, __u32 weight,
			struct xlb_k8s_slices *s, char *err, size_t errlen)
{
	struct xlb_k8s_slice sl;
	json_t *root, *type, *obj, *code, *msg;
	const char *t, *rv, *name;
	int ret = -EINVAL;
	size_t i;

	root = xlb_httpreg_load("watch event", line, len, err, errlen);
	if (!root)
		return -EINVAL;
	type = json_object_get(root, "type");
	obj = json_object_get(root, "object");
	if (!json_is_string(type) || !json_is_object(obj)) {
		snprintf(err, errlen, "watch event without type or object");
		goto out;
	}
	t = json_string_value(type);
	if (!strcmp(t, "ERROR")) {
		code = json_object_get(obj, "code");
		msg = json_object_get(obj, "message");
		if (json_is_integer(code) && json_integer_value(code) == 410) {
			ret = XLB_K8S_GONE;
			goto out;
		}
		snprintf(err, errlen, "watch ERROR %lld: %.160s",
			 json_is_integer(code) ? json_integer_value(code) : 0LL,
			 json_is_string(msg) ? json_string_value(msg) : "(no message)");
		ret = XLB_K8S_ERROR;
		goto out;
	}
	rv = rv_of(obj);
	if (!rv || strlen(rv) >= sizeof(s->rv)) {
		snprintf(err, errlen, "%s event without metadata.resourceVersion", t);
		goto out;
	}
	if (!strcmp(t, "BOOKMARK")) {
		snprintf(s->rv, sizeof(s->rv), "%s", rv);
		ret = XLB_K8S_BOOKMARK;
		goto out;
	}
	if (strcmp(t, "ADDED") && strcmp(t, "MODIFIED") && strcmp(t, "DELETED")) {
		snprintf(err, errlen, "watch event of unknown type '%.40s'", t);
		goto out;
	}
	if (parse_slice(obj, port_name, weight, &sl, err, errlen))
		goto out;
	name = sl.name;
	for (i = 0; i < s->n && strcmp(s->v[i].name, name); i++)
		;
	if (!strcmp(t, "DELETED")) {
		slice_free(&sl);
		if (i < s->n) {
			slice_free(&s->v[i]);
			s->v[i] = s->v[--s->n];
		}
	} else if (i < s->n) {
		slice_free(&s->v[i]);
		s->v[i] = sl;
	} else {
		if (slices_room(s)) {
			slice_free(&sl);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		s->v[s->n++] = sl;
	}
	snprintf(s->rv, sizeof(s->rv), "%s", rv);
	ret = XLB_K8S_CHANGED;
out:
	json_decref(root);
	return ret;
}

/* --- service_name ------------------------------------------------------------------------ */

static int dns_name(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '.'))
			return 0;
	return 1;
}

static int split_service(const char *svc, char *ns, size_t nsl, char *name, size_t nl, char *port,
			 size_t pl)
{
	const char *slash = strchr(svc, '/'), *colon;
	size_t a, b;

	if (!slash)
		return -EINVAL;
	colon = strchr(slash + 1, ':');
	a = (size_t)(slash - svc);
	b = colon ? (size_t)(colon - slash - 1) : strlen(slash + 1);
	if (!dns_name(svc, a) || a >= nsl || !dns_name(slash + 1, b) || b >= nl)
		return -EINVAL;
	if (colon && (!colon[1] || strlen(colon + 1) >= pl || strpbrk(colon + 1, "/: ")))
		return -EINVAL;
	snprintf(ns, nsl, "%.*s", (int)a, svc);
	snprintf(name, nl, "%.*s", (int)b, slash + 1);
	snprintf(port, pl, "%s", colon ? colon + 1 : "");
	return 0;
}

static int k8s_check(const struct xlb_discovery_conf *conf, const char *service_name,
		     const char *args, char *why, size_t len)
{
	char ns[64], name[256], port[64];

	if (split_service(service_name, ns, sizeof(ns), name, sizeof(name), port, sizeof(port))) {
		snprintf(why, len,
			 "kubernetes service_name '%s' is not <namespace>/<name>:"
			 "<portName>",
			 service_name);
		return -EINVAL;
	}
	if (args && strcmp(args, "{}") && strcmp(args, "null")) {
		snprintf(why, len, "discovery_args: kubernetes takes none");
		return -EINVAL;
	}
	return 0;
}

/* --- the watch ------------------------------------------------------------------------------ */

static const struct xlb_disc_k8s_conf *k8s_conf(struct xlb_disc_watch *w)
{
	return &xlb_disc_conf(xlb_disc_watch_disc(w))->kubernetes;
}

/*
 * client.token, else token_file's content (trimmed); "" when neither, and
 * when the file holds more than fits: a cut token would only be refused.
 */
static void load_token(struct k8s *k)
{
	const struct xlb_disc_k8s_conf *c = k8s_conf(k->p.w);
	char buf[sizeof(k->token) + 64]; /* room for trailing white space */
	ssize_t n;
	int fd;

	k->token[0] = '\0';
	if (c->token[0]) {
		snprintf(k->token, sizeof(k->token), "%s", c->token);
		return;
	}
	if (!c->token_file[0])
		return;
	/* A small local file (a tmpfs in pods): read at start and after a 401 only. */
	fd = open(c->token_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	if (n >= (ssize_t)sizeof(k->token)) {
		pr_warn("kubernetes: the token in %s is longer than %zu bytes: not sent\n",
			c->token_file, sizeof(k->token) - 1);
		return;
	}
	memcpy(k->token, buf, n);
	k->token[n] = '\0';
}

/* Report the node set (outside libcurl). */
static void report(struct k8s *k)
{
	struct xlb_disc_nodes ns = {0};

	k->dirty = 0;
	if (xlb_k8s_slices_nodes(&k->slices, &ns)) {
		xlb_disc_nodes_free(&ns);
		xlb_disc_error(k->p.w, "out of memory");
		return;
	}
	/* No slice, or slices without endpoints: Kubernetes says there are none. */
	xlb_disc_result(k->p.w, ns.v, ns.n,
			!k->slices.n || !slices_endpoints(&k->slices) ? XLB_DISC_GONE : 0);
	xlb_disc_nodes_free(&ns);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	struct k8s *k = arg;

	if (k->dirty)
		report(k);
}

static void fail(struct k8s *k, enum k8s_phase next, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct k8s *k, enum k8s_phase next, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->phase = next;
	xlb_httpreg_fail(&k->p, 1, "kubernetes: %s", msg);
}

/* One complete line of the watch stream; 0, or nonzero to stop the stream. */
static int watch_line(struct k8s *k, const char *line, size_t len)
{
	const struct xlb_disc_k8s_conf *c = k8s_conf(k->p.w);
	char err[256];
	int ev;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return 0;
	ev = xlb_k8s_parse_event(line, len, k->port, c->default_weight, &k->slices, err,
				 sizeof(err));
	switch (ev) {
	case XLB_K8S_CHANGED:
		k->dirty = 1;
		event_active(k->report, EV_TIMEOUT, 1);
		return 0;
	case XLB_K8S_BOOKMARK:
		return 0;
	case XLB_K8S_GONE:
		k->relist = 1;
		return 1;
	default:
		snprintf(k->stream_err, sizeof(k->stream_err), "%s", err);
		return 1;
	}
}

static int on_data(struct xlb_http_req *r, const char *data, size_t len, void *arg)
{
	struct k8s *k = arg;
	const char *nl;
	size_t take, cap;
	char *p;

	/* An error's body is not a stream of events; done reports the status. */
	if (xlb_http_status(r) != 200)
		return 0;
	while (len) {
		nl = memchr(data, '\n', len);
		take = nl ? (size_t)(nl - data) : len;
		if (k->llen + take > LINE_MAX_BYTES) {
			snprintf(k->stream_err, sizeof(k->stream_err),
				 "a watch event longer than %u bytes", LINE_MAX_BYTES);
			return 1;
		}
		if (k->llen + take + 1 > k->lcap) {
			cap = k->lcap ? k->lcap : 4096;
			while (cap < k->llen + take + 1)
				cap *= 2;
			p = realloc(k->line, cap);
			if (!p) {
				snprintf(k->stream_err, sizeof(k->stream_err), "out of memory");
				return 1;
			}
			k->line = p;
			k->lcap = cap;
		}
		memcpy(k->line + k->llen, data, take);
		k->llen += take;
		if (!nl)
			break;
		if (watch_line(k, k->line, k->llen))
			return 1;
		k->llen = 0;
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

static void on_done(struct xlb_http_req *r, const struct xlb_http_resp *resp, void *arg)
{
	struct k8s *k = arg;
	const struct xlb_disc_k8s_conf *c = k8s_conf(k->p.w);
	enum k8s_phase was = k->phase;
	char err[256];

	k->p.req = NULL;
	/* Events applied from the stream are reported by the deferred event. */
	if (was == PH_WATCH) {
		/* A partial last line of a stream that ended is not an event. */
		k->llen = 0;
		if (k->relist || resp->status == 410) {
			/* Too old a version: list again at once, no error. */
			k->relist = 0;
			k->phase = PH_LIST;
			xlb_httpreg_after(&k->p, 0);
			return;
		}
		if (k->stream_err[0]) {
			fail(k, PH_LIST, "watch: %s", k->stream_err);
			k->stream_err[0] = '\0';
			return;
		}
	}
	if (resp->status == 401) {
		/* A rotated service-account token: read it again. */
		load_token(k);
		fail(k, was, "%s: HTTP 401 (token refused)", was == PH_LIST ? "list" : "watch");
		return;
	}
	if (resp->error) {
		/* The watch resumes from the last resourceVersion it saw. */
		fail(k, was, "%s: %s", was == PH_LIST ? "list" : "watch", resp->error);
		return;
	}
	if (resp->status != 200) {
		fail(k, was, "%s: HTTP %ld", was == PH_LIST ? "list" : "watch", resp->status);
		return;
	}
	xlb_httpreg_ok(&k->p);
	if (was == PH_WATCH) {
		/* The server ended the watch (timeoutSeconds): continue from rv. */
		xlb_httpreg_after(&k->p, 0);
		return;
	}
	if (xlb_k8s_parse_list(resp->body, resp->len, k->port, c->default_weight, &k->slices, err,
			       sizeof(err))) {
		fail(k, PH_LIST, "list: %s", err);
		return;
	}
	k->phase = PH_WATCH;
	xlb_httpreg_after(&k->p, 0);
	/* Last: the update callback may stop this watch (and free k). */
	report(k);
}

static void k8s_fire(struct xlb_httpreg *p)
{
	struct k8s *k = (struct k8s *)p;
	const struct xlb_disc_k8s_conf *c = k8s_conf(p->w);
	char url[2048], rv[400], auth[4200], host[300];
	const char *hdrs[3] = {"Accept: application/json", NULL, NULL};
	struct xlb_http_opts o = {0};
	int n;

	if (strchr(c->host, ':') && c->host[0] != '[')
		snprintf(host, sizeof(host), "[%s]", c->host);
	else
		snprintf(host, sizeof(host), "%s", c->host);
	n = snprintf(url, sizeof(url),
		     "%s://%s%s%s/apis/discovery.k8s.io/v1/namespaces/%s/"
		     "endpointslices?labelSelector=kubernetes.io%%2Fservice-name%%3D%s",
		     c->schema[0] ? c->schema : "https", host, c->port[0] ? ":" : "", c->port,
		     k->ns, k->name);
	if (k->phase == PH_WATCH) {
		xlb_httpreg_escape(rv, sizeof(rv), k->slices.rv);
		n += snprintf(url + n, sizeof(url) - (size_t)n,
			      "&watch=1&resourceVersion=%s"
			      "&allowWatchBookmarks=true&timeoutSeconds=%d",
			      rv, WATCH_TIMEOUT);
		o.on_data = on_data;
		/* The server ends the watch after timeoutSeconds; give it slack. */
		o.timeout = WATCH_TIMEOUT + 30;
		k->llen = 0;
		k->relist = 0;
		k->stream_err[0] = '\0';
	} else {
		o.timeout = 30;
	}
	if (k->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", k->token);
		hdrs[1] = auth;
	}
	o.url = url;
	o.headers = hdrs;
	o.connect_timeout = 5;
	if (!access(c->ca_file, R_OK))
		o.ca_file = c->ca_file;
	o.on_done = on_done;
	o.arg = k;
	xlb_disc_count_request(p->w);
	p->req = xlb_http_start(xlb_disc_http(xlb_disc_watch_disc(p->w)), &o);
	if (!p->req)
		fail(k, k->phase, "cannot start a request: %s", strerror(errno));
}

static int k8s_start(struct xlb_disc_watch *w)
{
	struct k8s *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	if (split_service(xlb_disc_watch_service(w), k->ns, sizeof(k->ns), k->name, sizeof(k->name),
			  k->port, sizeof(k->port))) {
		free(k);
		return -EINVAL;
	}
	k->report = event_new(xlb_disc_base(xlb_disc_watch_disc(w)), -1, 0, on_report, k);
	if (!k->report || xlb_httpreg_init(&k->p, w, k8s_fire)) {
		if (k->report)
			event_free(k->report);
		free(k);
		return -ENOMEM;
	}
	load_token(k);
	k->phase = PH_LIST;
	xlb_disc_watch_set_priv(w, k);
	xlb_httpreg_after(&k->p, 0);
	return 0;
}

static void k8s_stop(struct xlb_disc_watch *w)
{
	struct k8s *k = xlb_disc_watch_priv(w);

	if (!k)
		return;
	xlb_httpreg_fini(&k->p);
	event_free(k->report);
	xlb_k8s_slices_free(&k->slices);
	free(k->line);
	memset(k->token, 0, sizeof(k->token));
	free(k);
	xlb_disc_watch_set_priv(w, NULL);
}

const struct xlb_disc_ops xlb_disc_kubernetes = {
	.name = "kubernetes",
	.check = k8s_check,
	.start = k8s_start,
	.stop = k8s_stop,
};
