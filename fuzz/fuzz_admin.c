// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the Admin API (user/lib/agent/adminapi.h) on a store
 * that validates like the agent (the whole edited document through the
 * configuration parser and the agent's refusals). The input is one or more
 * requests separated by a line "--": each is "METHOD PATH" on its first
 * line, then header lines ("Name: value"; a blank line ends them), then the
 * body. A PATH that starts with '/' is a whole URL path, any other is below
 * /apisix/admin/. Whatever the bytes:
 *   - the key check (xlb_admin_authorized) lets a request through off
 *     loopback only with X-API-KEY equal to the key, always with it, and on
 *     loopback at least whenever it does off loopback;
 *   - every answer is a JSON object with a status xlb uses (200, 201, 400,
 *     404, 405, 500); an error carries a string "error_msg";
 *   - the running document always validates: a bad body never replaces a
 *     good one (the store applies only what validated);
 *   - a PUT, POST or PATCH answered 200 or 201 is found by a GET of the key it
 *     answers afterwards, and a DELETE answered 200 is not.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "agent/adminapi.h"
#include "agent/agent.h"
#include "base/log.h"
#include "config/config.h"

static const char start_doc[] =
	"{\"upstreams\":[{\"id\":\"web\",\"nodes\":{\"198.18.0.11:80\":1,\"198.18.0.12:80\":2}},"
	"{\"id\":\"7\",\"type\":\"roundrobin\",\"nodes\":[{\"host\":\"fd00:78:6c62::11\","
	"\"port\":53,\"weight\":1}],\"scheme\":\"udp\"}],"
	"\"stream_routes\":[{\"id\":\"1\",\"server_addr\":\"198.18.100.1\",\"server_port\":80,"
	"\"upstream_id\":\"web\"}]}";

struct store {
	json_t *doc;
};

static int doc_valid(json_t *doc, struct xlb_conf_errors *errs)
{
	struct xlb_conf c;
	char *text = json_dumps(doc, JSON_COMPACT);
	int err;

	memset(errs, 0, sizeof(*errs));
	if (!text)
		return -ENOMEM;
	err = xlb_conf_parse(text, &c, errs);
	free(text);
	if (!err) {
		if (xlb_agent_conf_supported(&c, errs))
			err = -EINVAL;
		xlb_conf_free(&c);
	}
	return err;
}

static json_t *s_doc(void *arg)
{
	return ((struct store *)arg)->doc;
}

static int s_put(void *arg, const char *kind, const char *id, json_t *obj,
		 struct xlb_conf_errors *errs)
{
	struct store *s = arg;
	json_t *doc;
	int err;

	memset(errs, 0, sizeof(*errs));
	doc = xlb_admin_doc_edit(s->doc, kind, id, obj, &err);
	if (!doc)
		return err;
	err = doc_valid(doc, errs);
	if (err) {
		json_decref(doc);
		return err;
	}
	json_decref(s->doc);
	s->doc = doc;
	return 0;
}

static void check_answer(int code, json_t *out)
{
	if (!json_is_object(out))
		abort();
	if (code != 200 && code != 201 && code != 400 && code != 404 && code != 405 && code != 500)
		abort();
	if (code >= 300 && !json_is_string(json_object_get(out, "error_msg")))
		abort();
}

static const char api_key[] = "fuzz-key-0123456789abcdef";

/*
 * Skip the header lines at *p (up to end), keeping X-API-KEY's value in
 * key (NULL when absent or too long). A header line is a token of letters,
 * digits and '-' then ':'; a blank line after them is skipped too.
 */
static void headers(const char **p, const char *end, char *key, size_t size, int *has_key)
{
	const char *q, *nl, *v;
	size_t tl;

	*has_key = 0;
	for (q = *p; q < end; q = nl + 1) {
		nl = memchr(q, '\n', end - q);
		if (!nl)
			break;
		for (tl = 0; q + tl < nl && (isalnum((unsigned char)q[tl]) || q[tl] == '-'); tl++)
			;
		if (!tl || q + tl >= nl || q[tl] != ':')
			break;
		if (tl == 9 && !strncasecmp(q, "X-API-KEY", 9)) {
			for (v = q + tl + 1; v < nl && *v == ' '; v++)
				;
			*has_key = (size_t)(nl - v) < size;
			if (*has_key) {
				memcpy(key, v, nl - v);
				key[nl - v] = '\0';
			}
		}
	}
	if (q < end && *q == '\n' && q != *p)
		q++;
	*p = q;
}

/* The key check's properties for one request. */
static void check_auth(const char *method, const char *path, const char *key)
{
	char full[300];
	int off, on;

	snprintf(full, sizeof(full), "%s%s", path[0] == '/' ? "" : "/apisix/admin/", path);
	off = xlb_admin_authorized(0, method, full, key, api_key);
	on = xlb_admin_authorized(1, method, full, key, api_key);
	if (off != (key && !strcmp(key, api_key)))
		abort(); /* off loopback: the key, exactly, and nothing else */
	if (off && !on)
		abort();
	if (on && !off &&
	    (strcmp(method, "GET") ||
	     (strcmp(full, "/metrics") && strcmp(full, "/v1/healthcheck"))))
		abort(); /* without the key: two read endpoints only */
}

/* One request "METHOD PATH\nHEADERS\n\nBODY" at req (n bytes, no NUL inside). */
static void one(const struct xlb_admin_store *st, struct store *s, const char *req, size_t n)
{
	const char *nl = memchr(req, '\n', n), *sp;
	char line[256], method[16], path[256], key[128];
	const char *body = nl ? nl + 1 : req + n, *akey;
	struct xlb_conf_errors errs;
	size_t ll = nl ? (size_t)(nl - req) : n;
	json_t *out = NULL, *got = NULL;
	int code, code2, has_key;

	if (ll >= sizeof(line))
		return;
	memcpy(line, req, ll);
	line[ll] = '\0';
	sp = strchr(line, ' ');
	if (!sp || (size_t)(sp - line) >= sizeof(method))
		return;
	memcpy(method, line, sp - line);
	method[sp - line] = '\0';
	strcpy(path, sp + 1);
	headers(&body, req + n, key, sizeof(key), &has_key);
	check_auth(method, path, has_key ? key : NULL);
	if (path[0] == '/')
		return; /* not an Admin API object path */
	code = xlb_admin_api(st, method, path, body, req + n - body, &out);
	check_answer(code, out);
	if (doc_valid(s->doc, &errs) == -EINVAL)
		abort(); /* the running document must always validate */
	/* What was written or deleted: the answer's key ("/apisix/KIND/ID"). */
	akey = json_string_value(json_object_get(out, "key"));
	if ((code != 200 && code != 201) || !akey || strncmp(akey, "/apisix/", 8) ||
	    strlen(akey + 8) >= sizeof(line) || !strcmp(method, "GET")) {
		json_decref(out);
		return;
	}
	strcpy(line, akey + 8);
	json_decref(out);
	code2 = xlb_admin_api(st, "GET", line, "", 0, &got);
	check_answer(code2, got);
	json_decref(got);
	if (strcmp(method, "DELETE") ? code2 != 200 : code2 != 404)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct xlb_admin_counter counter = {};
	struct store s;
	const struct xlb_admin_store st = {
		.doc = s_doc, .put = s_put, .arg = &s, .counter = &counter};
	const char *p = (const char *)data, *end = p + size, *sep;
	int k;

	if (!quiet) {
		xlb_log_setup(XLB_LOG_WARN, 0);
		quiet = 1;
	}
	if (memchr(data, 0, size))
		return 0;
	s.doc = json_loads(start_doc, 0, NULL);
	if (!s.doc)
		return 0;
	for (k = 0; k < 16 && p < end; k++) {
		sep = memmem(p, end - p, "\n--\n", 4);
		one(&st, &s, p, sep ? (size_t)(sep - p) : (size_t)(end - p));
		p = sep ? sep + 4 : end;
	}
	json_decref(s.doc);
	xlb_admin_counter_free(&counter);
	return 0;
}
