// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the Admin API (user/lib/agent/adminapi.h) on a store
 * that validates like the agent (the whole edited document through the
 * configuration parser and the agent's refusals). The input is one or more
 * requests separated by a line "--": each is "METHOD PATH" on its first
 * line, then the body. Whatever the bytes:
 *   - every answer is a JSON object with a status xlb uses (200, 201, 400,
 *     404, 405, 500); an error carries a string "error_msg";
 *   - the running document always validates: a bad body never replaces a
 *     good one (the store applies only what validated);
 *   - a PUT or POST answered 200 or 201 is found by a GET of the key it
 *     answers afterwards, and a DELETE answered 200 is not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

/* One request "METHOD PATH\nBODY" at req (n bytes, no NUL inside). */
static void one(const struct xlb_admin_store *st, struct store *s, const char *req, size_t n)
{
	const char *nl = memchr(req, '\n', n), *sp;
	char line[256], method[16], path[256];
	const char *key;
	struct xlb_conf_errors errs;
	size_t ll = nl ? (size_t)(nl - req) : n;
	json_t *out = NULL, *got = NULL;
	int code, code2;

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
	code = xlb_admin_api(st, method, path, nl ? nl + 1 : "", nl ? n - ll - 1 : 0, &out);
	check_answer(code, out);
	if (doc_valid(s->doc, &errs) == -EINVAL)
		abort(); /* the running document must always validate */
	/* What was written or deleted: the answer's key ("/apisix/KIND/ID"). */
	key = json_string_value(json_object_get(out, "key"));
	if ((code != 200 && code != 201) || !key || strncmp(key, "/apisix/", 8) ||
	    strlen(key + 8) >= sizeof(line) || !strcmp(method, "GET")) {
		json_decref(out);
		return;
	}
	strcpy(line, key + 8);
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
	struct store s;
	const struct xlb_admin_store st = {.doc = s_doc, .put = s_put, .arg = &s};
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
	return 0;
}
