// SPDX-License-Identifier: GPL-2.0-only
/*
 * The asynchronous HTTP client (user/lib/base/http.c) against
 * tests/lib/registry_server.py on 127.0.0.1: whole bodies and response
 * headers, POST bodies, streamed chunks, HTTP errors, truncated bodies,
 * the body cap, refused connections, timeouts, stalled streams, and
 * cancelling or starting requests from inside callbacks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <event2/event.h>

#include "base/http.h"
#include "../lib/registry_server.h"
#include "../lib/check.h"

static struct regsrv srv;

struct result {
	int done;
	long status;
	char *body;
	size_t len;
	char *error;
	char *header; /* the value of a header asked for */
	const char *want_header;
	char *streamed; /* on_data pieces, concatenated */
	size_t nstreamed, pieces;
	int stop_after;		     /* on_data: return 1 after this many pieces */
	struct xlb_http_req *cancel; /* on_data: cancel this one */
	struct xlb_http *h;	     /* on_data: start a follow-up request */
	struct result *follow;
	char follow_url[128];
};

static void result_free(struct result *r)
{
	free(r->body);
	free(r->error);
	free(r->header);
	free(r->streamed);
	memset(r, 0, sizeof(*r));
}

static void on_done(struct xlb_http_req *req, const struct xlb_http_resp *resp, void *arg)
{
	struct result *r = arg;
	const char *v;

	r->done++;
	r->status = resp->status;
	r->body = malloc(resp->len + 1);
	memcpy(r->body, resp->body, resp->len + 1);
	r->len = resp->len;
	r->error = resp->error ? strdup(resp->error) : NULL;
	if (r->want_header && !r->header && (v = xlb_http_header(req, r->want_header)))
		r->header = strdup(v);
	/* Cancelling the request being completed is a no-op. */
	xlb_http_cancel(req);
}

static int on_data(struct xlb_http_req *req, const char *data, size_t len, void *arg)
{
	struct result *r = arg;
	struct xlb_http_opts o = {0};

	r->streamed = realloc(r->streamed, r->nstreamed + len + 1);
	memcpy(r->streamed + r->nstreamed, data, len);
	r->nstreamed += len;
	r->streamed[r->nstreamed] = '\0';
	r->pieces++;
	if (r->want_header && !r->header && xlb_http_header(req, r->want_header))
		r->header = strdup(xlb_http_header(req, r->want_header));
	if (r->h && r->follow) {
		o.url = r->follow_url;
		o.on_done = on_done;
		o.arg = r->follow;
		assert_non_null(xlb_http_start(r->h, &o));
		r->h = NULL;
	}
	if (r->cancel) {
		xlb_http_cancel(r->cancel);
		r->cancel = NULL;
		return 0;
	}
	return r->stop_after && (int)r->pieces >= r->stop_after;
}

static int is_done(void *arg)
{
	return ((struct result *)arg)->done > 0;
}

static struct event_base *base;
static struct xlb_http *h;

static int setup(void **state)
{
	base = event_base_new();
	h = xlb_http_new(base);
	return base && h ? 0 : -1;
}

static int teardown(void **state)
{
	xlb_http_free(h);
	event_base_free(base);
	return 0;
}

static void start(struct result *r, const char *path, struct xlb_http_opts *o)
{
	char url[256];

	snprintf(url, sizeof(url), "%s%s", srv.url, path);
	o->url = url;
	o->on_done = on_done;
	o->arg = r;
	assert_non_null(xlb_http_start(h, o));
}

static void test_get_body_and_headers(void **state)
{
	const char *hdrs[] = {"X-Consul-Token: secret", NULL};
	struct xlb_http_opts o = {.headers = hdrs, .timeout = 10};
	struct result r = {.want_header = "x-consul-index"};
	char *log;

	assert_int_equal(regsrv_script(&srv, "{\"routes\": {\"/v1/x\": [{\"status\": 200, "
					     "\"headers\": {\"X-Consul-Index\": \"42\"}, "
					     "\"body\": [{\"a\": 1}]}]}}"),
			 0);
	start(&r, "/v1/x?passing=1&index=7", &o);
	assert_true(run_until(base, is_done, &r, 10));
	assert_null(r.error);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "[{\"a\": 1}]");
	assert_int_equal(r.len, strlen("[{\"a\": 1}]"));
	assert_non_null(r.header);
	assert_string_equal(r.header, "42");
	log = regsrv_log(&srv);
	assert_non_null(strstr(log, "\"query\": \"passing=1&index=7\""));
	assert_non_null(strstr(log, "\"x-consul-token\": \"secret\""));
	free(log);
	result_free(&r);
}

static void test_post_body(void **state)
{
	struct xlb_http_opts o = {.body = "username=a&password=b", .timeout = 10};
	struct result r = {0};
	char *log;

	assert_int_equal(regsrv_script(&srv, "{\"routes\": {\"/login\": [{\"body\": "
					     "{\"accessToken\": \"t\"}}]}}"),
			 0);
	start(&r, "/login", &o);
	assert_true(run_until(base, is_done, &r, 10));
	assert_null(r.error);
	assert_int_equal(r.status, 200);
	log = regsrv_log(&srv);
	assert_non_null(strstr(log, "\"method\": \"POST\""));
	assert_non_null(strstr(log, "\"body\": \"username=a&password=b\""));
	free(log);
	result_free(&r);

	/* Another method with a body. */
	o.method = "PUT";
	o.body = "{}";
	start(&r, "/login", &o);
	assert_true(run_until(base, is_done, &r, 10));
	log = regsrv_log(&srv);
	assert_non_null(strstr(log, "\"method\": \"PUT\""));
	free(log);
	result_free(&r);
}

static void test_stream_chunks(void **state)
{
	struct xlb_http_opts o = {.on_data = on_data};
	struct result r = {.want_header = "Content-Type"};

	assert_int_equal(regsrv_script(&srv,
				       "{\"routes\": {\"/watch\": [{\"chunks\": ["
				       "{\"data\": \"{\\\"type\\\": \\\"ADDED\\\"}\\n\"},"
				       "{\"data\": \"{\\\"type\\\": \", \"delay\": 0.1},"
				       "{\"data\": \"\\\"BOOKMARK\\\"}\\n\", \"delay\": 0.1}]}]}}"),
			 0);
	start(&r, "/watch", &o);
	assert_true(run_until(base, is_done, &r, 10));
	assert_null(r.error);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.streamed, "{\"type\": \"ADDED\"}\n{\"type\": \"BOOKMARK\"}\n");
	/* Streamed bodies are not buffered. */
	assert_int_equal(r.len, 0);
	assert_string_equal(r.body, "");
	assert_non_null(r.header);
	assert_string_equal(r.header, "application/json");
	result_free(&r);
}

static void test_http_error_status(void **state)
{
	struct xlb_http_opts o = {.timeout = 10};
	struct result r = {0};

	assert_int_equal(regsrv_script(&srv, "{\"routes\": {\"/e\": [{\"status\": 500, "
					     "\"body\": \"boom\"}]}}"),
			 0);
	start(&r, "/e", &o);
	assert_true(run_until(base, is_done, &r, 10));
	/* A status is not a transport error: the caller decides. */
	assert_null(r.error);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.body, "boom");
	result_free(&r);
}

static void test_truncated_body(void **state)
{
	struct xlb_http_opts o = {.timeout = 10};
	struct result r = {0};

	assert_int_equal(regsrv_script(&srv, "{\"routes\": {\"/t\": [{\"body\": "
					     "\"[{\\\"Service\\\": {}}]\", \"truncate\": 5}]}}"),
			 0);
	start(&r, "/t", &o);
	assert_true(run_until(base, is_done, &r, 10));
	assert_non_null(r.error);
	assert_int_equal(r.status, 200);
	result_free(&r);
}

static void test_body_cap(void **state)
{
	struct xlb_http_opts o = {.timeout = 10, .max_body = 16};
	struct result r = {0};

	assert_int_equal(regsrv_script(&srv, "{\"routes\": {\"/big\": [{\"body\": "
					     "\"0123456789012345678901234567890123456789\"}]}}"),
			 0);
	start(&r, "/big", &o);
	assert_true(run_until(base, is_done, &r, 10));
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "larger than 16 bytes"));
	result_free(&r);
}

static void test_refused(void **state)
{
	struct xlb_http_opts o = {.timeout = 10, .url = "http://127.0.0.1:1/"};
	struct result r = {0};

	o.on_done = on_done;
	o.arg = &r;
	assert_non_null(xlb_http_start(h, &o));
	assert_true(run_until(base, is_done, &r, 10));
	assert_non_null(r.error);
	assert_int_equal(r.status, 0);
	result_free(&r);
}

static void test_timeout(void **state)
{
	struct xlb_http_opts o = {.timeout = 0.3};
	struct result r = {0};

	assert_int_equal(regsrv_script(&srv, "{\"routes\": {\"/slow\": [{\"delay\": 5, "
					     "\"body\": \"late\"}]}}"),
			 0);
	start(&r, "/slow", &o);
	assert_true(run_until(base, is_done, &r, 10));
	assert_non_null(r.error);
	assert_int_equal(r.status, 0);
	result_free(&r);
}

static void test_stalled_stream(void **state)
{
	struct xlb_http_opts o = {.on_data = on_data, .low_speed_time = 1};
	struct result r = {0};

	assert_int_equal(regsrv_script(&srv, "{\"routes\": {\"/hold\": [{\"chunks\": "
					     "[{\"data\": \"x\\n\"}], \"hold\": 10}]}}"),
			 0);
	start(&r, "/hold", &o);
	assert_true(run_until(base, is_done, &r, 10));
	assert_string_equal(r.streamed, "x\n");
	assert_non_null(r.error);
	regsrv_ctl(&srv, "close", "{}", NULL);
	result_free(&r);
}

static void test_dropped_stream(void **state)
{
	struct xlb_http_opts o = {.on_data = on_data};
	struct result r = {0};

	/* The stream ends without its last chunk: an error, not a clean end. */
	assert_int_equal(regsrv_script(&srv, "{\"routes\": {\"/drop\": [{\"chunks\": "
					     "[{\"data\": \"x\\n\"}], \"end\": false}]}}"),
			 0);
	start(&r, "/drop", &o);
	assert_true(run_until(base, is_done, &r, 10));
	assert_string_equal(r.streamed, "x\n");
	assert_non_null(r.error);
	result_free(&r);
}

static void test_abort_from_data(void **state)
{
	struct xlb_http_opts o = {.on_data = on_data};
	struct result r = {.stop_after = 1};

	assert_int_equal(
		regsrv_script(&srv, "{\"routes\": {\"/s\": [{\"chunks\": "
				    "[{\"data\": \"a\"}, {\"data\": \"b\", \"delay\": 0.2}]}]}}"),
		0);
	start(&r, "/s", &o);
	assert_true(run_until(base, is_done, &r, 10));
	assert_int_equal(r.pieces, 1);
	assert_non_null(r.error);
	assert_string_equal(r.error, "stopped by the receiver");
	result_free(&r);
}

static int both_done(void *arg)
{
	struct result *r = arg;

	return r[1].done > 0 && r[2].done > 0;
}

/*
 * Inside on_data (inside libcurl): cancel another request and the running
 * one, and start a new one. Neither cancelled request calls done; the new
 * one completes.
 */
static void test_cancel_and_start_in_callback(void **state)
{
	struct xlb_http_opts o1 = {.on_data = on_data}, o2 = {.on_data = on_data};
	struct xlb_http_opts o3 = {.timeout = 10};
	struct result r[4] = {0};
	char url[128];
	struct xlb_http_req *slow;

	assert_int_equal(
		regsrv_script(&srv, "{\"routes\": {"
				    "\"/held\": [{\"chunks\": [{\"data\": \"h\"}], \"hold\": 10}],"
				    "\"/s\": [{\"chunks\": [{\"data\": \"a\", \"delay\": 0.3}, "
				    "{\"data\": \"b\", \"delay\": 0.5}]}],"
				    "\"/ok\": [{\"body\": \"fine\"}]}}"),
		0);
	snprintf(url, sizeof(url), "%s/held", srv.url);
	o1.url = url;
	o1.on_done = on_done;
	o1.arg = &r[0];
	slow = xlb_http_start(h, &o1);
	assert_non_null(slow);
	/* r[3]: cancels /held and starts /ok (into r[2]) from its first piece. */
	r[3].cancel = slow;
	r[3].h = h;
	r[3].follow = &r[2];
	snprintf(r[3].follow_url, sizeof(r[3].follow_url), "%s/ok", srv.url);
	start(&r[3], "/s", &o2);
	/* r[1]: a plain request alongside. */
	start(&r[1], "/ok", &o3);
	assert_true(run_until(base, both_done, r, 10));
	assert_string_equal(r[2].body, "fine");
	assert_string_equal(r[1].body, "fine");
	/* The /s stream goes on to its end; /held never reports. */
	assert_true(run_until(base, is_done, &r[3], 10));
	assert_null(r[3].error);
	assert_int_equal(r[0].done, 0);
	/* Cancel a running request outside callbacks: no done either. */
	{
		struct xlb_http_opts o4 = {.on_data = on_data};
		struct result r4 = {0};
		struct xlb_http_req *q;

		o4.url = url;
		o4.on_done = on_done;
		o4.arg = &r4;
		q = xlb_http_start(h, &o4);
		assert_non_null(q);
		run_for(base, 0.2);
		xlb_http_cancel(q);
		run_for(base, 0.2);
		assert_int_equal(r4.done, 0);
		result_free(&r4);
	}
	regsrv_ctl(&srv, "close", "{}", NULL);
	for (int i = 0; i < 4; i++)
		result_free(&r[i]);
}

static void test_bad_url(void **state)
{
	struct xlb_http_opts o = {.url = "ftp://127.0.0.1/x"};
	struct result r = {0};

	/* Not http(s): refused by curl when the transfer starts. */
	o.on_done = on_done;
	o.arg = &r;
	if (xlb_http_start(h, &o)) {
		assert_true(run_until(base, is_done, &r, 10));
		assert_non_null(r.error);
	}
	result_free(&r);
	o.url = NULL;
	assert_null(xlb_http_start(h, &o));
	assert_int_equal(errno, EINVAL);
}

/*
 * HTTPS against a self-signed certificate made now: refused with the
 * system's CA bundle, accepted with the certificate as ca_file, and with
 * verification off.
 */
static void test_https(void **state)
{
	char dir[] = "/tmp/xlb-https-XXXXXX", cert[64], key[64], cmd[512], url[128];
	struct xlb_http_opts o = {.timeout = 10};
	struct regsrv tls;
	struct result r = {0};

	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
		 "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s "
		 ">/dev/null 2>&1",
		 key, cert);
	if (system(cmd) || regsrv_start_tls(&tls, cert, key)) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
		check_skip("openssl could not make a certificate, or the TLS server did not start");
	}
	assert_int_equal(regsrv_script(&tls, "{\"routes\": {\"/s\": [{\"body\": \"tls\"}]}}"), 0);
	snprintf(url, sizeof(url), "%s/s", tls.url);
	o.url = url;
	o.on_done = on_done;
	o.arg = &r;

	assert_non_null(xlb_http_start(h, &o));
	assert_true(run_until(base, is_done, &r, 10));
	assert_non_null(r.error);
	assert_int_equal(r.status, 0);
	result_free(&r);

	o.ca_file = cert;
	o.arg = &r;
	assert_non_null(xlb_http_start(h, &o));
	assert_true(run_until(base, is_done, &r, 10));
	assert_null(r.error);
	assert_string_equal(r.body, "tls");
	result_free(&r);

	o.ca_file = NULL;
	o.insecure = 1;
	o.arg = &r;
	assert_non_null(xlb_http_start(h, &o));
	assert_true(run_until(base, is_done, &r, 10));
	assert_null(r.error);
	assert_string_equal(r.body, "tls");
	result_free(&r);

	regsrv_stop(&tls);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_body_and_headers),
		cmocka_unit_test(test_post_body),
		cmocka_unit_test(test_stream_chunks),
		cmocka_unit_test(test_http_error_status),
		cmocka_unit_test(test_truncated_body),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_stalled_stream),
		cmocka_unit_test(test_dropped_stream),
		cmocka_unit_test(test_abort_from_data),
		cmocka_unit_test(test_cancel_and_start_in_callback),
		cmocka_unit_test(test_bad_url),
		cmocka_unit_test(test_https),
	};
	int err = regsrv_start(&srv), rc;

	if (err) {
		printf("# SKIP cannot start tests/lib/registry_server.py (python3)\n");
		return 77;
	}
	rc = check_run_tests("http", tests, setup, teardown);
	regsrv_stop(&srv);
	return rc;
}
