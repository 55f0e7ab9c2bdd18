// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlb health | upstream list | upstream show ID | reload: what the agent
 * knows, through its HTTP interface (libcurl). The agent's address comes
 * from --admin URL or $XLB_ADMIN (default http://127.0.0.1:9180), its key
 * from --api-key or $XLB_API_KEY, else, for an agent on a loopback address,
 * from the file where xlbd keeps the key it made (apikey.h; root only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "base/addr.h"
#include "base/apikey.h"
#include "cli.h"
#include "config/config.h"

#define ADMIN_DEFAULT "http://127.0.0.1:9180"
#define URL_MAX	      400 /* --admin; paths add at most 100 (an id is 64) */
#define KEY_MAX	      127 /* --api-key: what the agent keeps (xlb.admin.api_key) */

struct admin_opts {
	const char *url, *key;
	char file_key[XLB_API_KEY_LEN]; /* the key read from xlbd's file */
};

struct body {
	char *buf;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *nb = realloc(b->buf, b->len + size * n + 1);

	if (!nb)
		return 0;
	memcpy(nb + b->len, p, size * n);
	b->len += size * n;
	nb[b->len] = '\0';
	b->buf = nb;
	return size * n;
}

/*
 * method PATH against the agent; the JSON answer in *out. Returns the
 * HTTP status, or 0 after printing why the agent could not be reached.
 */
static long admin_call(struct xlb_cli *c, const struct admin_opts *o, const char *method,
		       const char *path, json_t **out)
{
	struct curl_slist *hdrs = NULL;
	struct body b = {};
	char url[URL_MAX + 112], hdr[KEY_MAX + 16];
	json_error_t jerr;
	long code = 0;
	CURL *h;
	CURLcode rc;

	*out = NULL;
	h = curl_easy_init();
	if (!h)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "libcurl: cannot start"), 0;
	snprintf(url, sizeof(url), "%s%s", o->url, path);
	if (o->key) {
		snprintf(hdr, sizeof(hdr), "X-API-KEY: %s", o->key);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		xlb_cli_err(c, XLB_EXIT_FAIL, "agent at %s: %s (is xlbd running? --admin URL)",
			    o->url, curl_easy_strerror(rc));
	else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (code && b.buf)
		*out = json_loads(b.buf, 0, &jerr);
	if (code && !*out) {
		xlb_cli_err(c, XLB_EXIT_FAIL, "agent at %s: answer to %s is not JSON", o->url,
			    path);
		code = 0;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(b.buf);
	return code;
}

/* The URL's host is a loopback address (or localhost): the local agent. */
static int url_is_local(const char *url)
{
	struct xlb_addr_key a;
	char *host = NULL;
	CURLU *u = curl_url();
	int local = 0;

	if (u && !curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0)) {
		/* "[::1]" as curl gives it is an address to xlb_addr_parse. */
		local = !strcmp(host, "localhost") ||
			(!xlb_addr_parse(host, &a, NULL, 0) && xlb_addr_is_loopback(&a));
	}
	curl_free(host);
	curl_url_cleanup(u);
	return local;
}

/*
 * No key given, a local agent: the key xlbd keeps for this pin dir, if this
 * user may read it. Without it the agent answers 401, which says what to do.
 */
static void local_key(struct xlb_cli *c, struct admin_opts *o)
{
	char path[4096];

	if (xlb_api_key_path(c->pin_dir, path, sizeof(path)) ||
	    xlb_api_key_load(path, 0, o->file_key, sizeof(o->file_key)))
		return;
	o->key = o->file_key;
}

/* Common options; returns 0 or an exit code. */
static int agent_args(struct xlb_cli *c, int argc, char **argv, const char **pos, int nmin,
		      int nmax, int *npos, const char *usage, struct admin_opts *o)
{
	const struct xlb_opt opts[] = {{"admin", &o->url}, {"api-key", &o->key}, {}};

	int ret;

	o->url = getenv("XLB_ADMIN") ? getenv("XLB_ADMIN") : ADMIN_DEFAULT;
	o->key = getenv("XLB_API_KEY");
	ret = xlb_cli_parse(c, argc, argv, opts, pos, nmin, nmax, npos, usage);
	if (ret || *npos < 0)
		return ret;
	/* Refused rather than cut: a cut URL or key would reach something else. */
	if (strlen(o->url) > URL_MAX)
		return xlb_cli_err(c, XLB_EXIT_USAGE,
				   "agent URL (--admin, XLB_ADMIN) is %zu "
				   "characters long: at most %d",
				   strlen(o->url), URL_MAX);
	if (o->key && strlen(o->key) > KEY_MAX)
		return xlb_cli_err(c, XLB_EXIT_USAGE,
				   "API key (--api-key, XLB_API_KEY) is %zu "
				   "characters long: at most %d",
				   strlen(o->key), KEY_MAX);
	if (!o->key && url_is_local(o->url))
		local_key(c, o);
	return 0;
}

/* An error answer from the agent, with its reasons. */
static int agent_error(struct xlb_cli *c, long code, json_t *ans, const char *what)
{
	const char *msg = json_string_value(json_object_get(ans, "error_msg"));
	json_t *errs = json_object_get(ans, "errors"), *e;
	size_t i;
	int ret;

	if (!c->json)
		json_array_foreach (errs, i, e)
			fprintf(stderr, "  %s\n", json_string_value(e));
	ret = xlb_cli_err(
		c, XLB_EXIT_FAIL, "%s: agent says %ld: %s%s", what, code, msg ? msg : "error",
		code == 401 ? " (--api-key or XLB_API_KEY; for "
			      "a local agent without xlb.admin.api_key, run as root: xlbd's key is "
			      "in " XLB_API_KEY_DIR ")"
			    : "");
	json_decref(ans);
	return ret;
}

int xlb_cmd_health(struct xlb_cli *c, int argc, char **argv)
{
	struct admin_opts o;
	json_t *ans, *u, *n, *cnt;
	size_t i, j;
	int npos, ret;
	long code;

	ret = agent_args(c, argc, argv, NULL, 0, 0, &npos, "health [--admin URL] [--api-key KEY]",
			 &o);
	if (ret || npos < 0)
		return ret;
	code = admin_call(c, &o, "GET", "/v1/healthcheck", &ans);
	if (!code)
		return XLB_EXIT_FAIL;
	if (code != 200)
		return agent_error(c, code, ans, "health");
	if (c->json) {
		xlb_cli_json(ans);
		return XLB_EXIT_OK;
	}
	json_array_foreach (ans, i, u) {
		printf("%s (%s checks)\n", json_string_value(json_object_get(u, "name")),
		       json_string_value(json_object_get(u, "type")));
		json_array_foreach (json_object_get(u, "nodes"), j, n) {
			cnt = json_object_get(n, "counter");
			double lat = json_real_value(json_object_get(n, "latency_s"));

			printf("  %-40s %-17s ok %lld tcp_fail %lld http_fail %lld timeout %lld  ",
			       json_string_value(json_object_get(n, "ip")),
			       json_string_value(json_object_get(n, "status")),
			       json_integer_value(json_object_get(cnt, "success")),
			       json_integer_value(json_object_get(cnt, "tcp_failure")),
			       json_integer_value(json_object_get(cnt, "http_failure")),
			       json_integer_value(json_object_get(cnt, "timeout_failure")));
			/* A node never probed (active checks off) has no latency. */
			if (lat >= 0)
				printf("%.1f ms\n", lat * 1e3);
			else
				printf("-\n");
		}
	}
	json_decref(ans);
	return XLB_EXIT_OK;
}

static int upstream_list(struct xlb_cli *c, int argc, char **argv)
{
	struct admin_opts o;
	json_t *ans, *e, *v;
	size_t i;
	int npos, ret;
	long code;

	ret = agent_args(c, argc, argv, NULL, 0, 0, &npos,
			 "upstream list [--admin URL] [--api-key KEY]", &o);
	if (ret || npos < 0)
		return ret;
	code = admin_call(c, &o, "GET", "/apisix/admin/upstreams", &ans);
	if (!code)
		return XLB_EXIT_FAIL;
	if (code != 200)
		return agent_error(c, code, ans, "upstream list");
	if (c->json) {
		xlb_cli_json(ans);
		return XLB_EXIT_OK;
	}
	json_array_foreach (json_object_get(ans, "list"), i, e) {
		v = json_object_get(e, "value");
		printf("%-32s type %-10s nodes %zu\n", json_string_value(json_object_get(e, "key")),
		       json_string_value(json_object_get(v, "type")) ?: "roundrobin",
		       json_is_array(json_object_get(v, "nodes"))
			       ? json_array_size(json_object_get(v, "nodes"))
			       : json_object_size(json_object_get(v, "nodes")));
	}
	json_decref(ans);
	return XLB_EXIT_OK;
}

/* "12 s ago" for a wall-clock time; "never" for 0. */
static void ago(double t, char *buf, size_t len)
{
	struct timespec ts;
	double d;

	if (t <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	d = ts.tv_sec + ts.tv_nsec / 1e9 - t;
	if (d < 0)
		d = 0;
	if (d < 120)
		snprintf(buf, len, "%.1f s ago", d);
	else if (d < 7200)
		snprintf(buf, len, "%.0f min ago", d / 60);
	else
		snprintf(buf, len, "%.1f h ago", d / 3600);
}

static int upstream_show(struct xlb_cli *c, int argc, char **argv)
{
	struct admin_opts o;
	const char *pos[1], *host, *err_s;
	json_t *ans, *view, *nodes, *n, *v, *disc;
	char path[256], addr[300], when[32];
	long code;
	size_t i;
	int npos, ret;

	ret = agent_args(c, argc, argv, pos, 1, 1, &npos,
			 "upstream show ID [--admin URL] [--api-key KEY]", &o);
	if (ret || npos < 0)
		return ret;
	if (strlen(pos[0]) >= XLB_ID_LEN)
		return xlb_cli_err(c, XLB_EXIT_USAGE,
				   "upstream id is %zu characters long: at "
				   "most %d",
				   strlen(pos[0]), XLB_ID_LEN - 1);
	snprintf(path, sizeof(path), "/apisix/admin/upstreams/%s", pos[0]);
	code = admin_call(c, &o, "GET", path, &ans);
	if (!code)
		return XLB_EXIT_FAIL;
	if (code != 200)
		return agent_error(c, code, ans, pos[0]);
	snprintf(path, sizeof(path), "/v1/upstreams/%s", pos[0]);
	code = admin_call(c, &o, "GET", path, &view);
	if (!code) {
		json_decref(ans);
		return XLB_EXIT_FAIL;
	}
	if (code != 200) {
		json_decref(ans);
		return agent_error(c, code, view, pos[0]);
	}
	v = json_object_get(ans, "value");
	if (c->json) {
		xlb_cli_json(json_pack("{s:O, s:O, s:O}", "upstream", v, "nodes",
				       json_object_get(view, "nodes"), "discovery",
				       json_object_get(view, "discovery")));
		json_decref(view);
		json_decref(ans);
		return XLB_EXIT_OK;
	}
	printf("upstream %s: type %s, key %s\n", pos[0],
	       json_string_value(json_object_get(v, "type")) ?: "roundrobin",
	       json_string_value(json_object_get(v, "key")) ?: "5-tuple");
	disc = json_object_get(view, "discovery");
	if (json_is_object(disc)) {
		ago(json_real_value(json_object_get(disc, "confirmed")), when, sizeof(when));
		err_s = json_string_value(json_object_get(disc, "error"));
		printf("  discovery %s service %s: last answer %s, %lld answers, %lld errors, "
		       "%lld changes%s%s\n",
		       json_string_value(json_object_get(disc, "type")),
		       json_string_value(json_object_get(disc, "service_name")), when,
		       json_integer_value(json_object_get(disc, "answers")),
		       json_integer_value(json_object_get(disc, "errors")),
		       json_integer_value(json_object_get(disc, "changes")),
		       err_s ? "\n  error: " : "", err_s ? err_s : "");
	}
	nodes = json_object_get(view, "nodes");
	if (!json_array_size(nodes))
		printf("  (no nodes)\n");
	json_array_foreach (nodes, i, n) {
		host = json_string_value(json_object_get(n, "host")) ?: "?";
		snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%lld" : "%s:%lld", host,
			 json_integer_value(json_object_get(n, "port")));
		ago(json_real_value(json_object_get(n, "confirmed")), when, sizeof(when));
		printf("  %-44s weight %-5lld priority %-4lld %-16s source %-10s confirmed %s\n",
		       addr, json_integer_value(json_object_get(n, "weight")),
		       json_integer_value(json_object_get(n, "priority")),
		       json_string_value(json_object_get(n, "health")) ?: "-",
		       json_string_value(json_object_get(n, "source")) ?: "-", when);
	}
	json_decref(view);
	json_decref(ans);
	return XLB_EXIT_OK;
}

int xlb_cmd_upstream(struct xlb_cli *c, int argc, char **argv)
{
	static const struct xlb_cmd verbs[] = {
		{"list", upstream_list, "upstream list [--admin URL] [--api-key KEY]"},
		{"show", upstream_show, "upstream show ID [--admin URL] [--api-key KEY]"},
		{}};

	return xlb_cli_dispatch(c, "upstream", verbs, argc, argv);
}

int xlb_cmd_reload(struct xlb_cli *c, int argc, char **argv)
{
	struct admin_opts o;
	json_t *ans;
	int npos, ret;
	long code;

	ret = agent_args(c, argc, argv, NULL, 0, 0, &npos, "reload [--admin URL] [--api-key KEY]",
			 &o);
	if (ret || npos < 0)
		return ret;
	code = admin_call(c, &o, "POST", "/v1/reload", &ans);
	if (!code)
		return XLB_EXIT_FAIL;
	if (code != 200)
		return agent_error(c, code, ans, "reload");
	if (c->json)
		xlb_cli_json(ans);
	else
		json_decref(ans);
	return XLB_EXIT_OK;
}
