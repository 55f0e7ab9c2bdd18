// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers shared by the HTTP registries: weights, URLs, JSON loading and
 * the poll loop with server failover (see httpreg.h).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "base/http.h"
#include "discovery/httpreg.h"
#include "base/log.h"

__u32 xlb_httpreg_weight(const json_t *v, double scale, __u32 dflt)
{
	double d;
	char *end;

	if (json_is_number(v)) {
		d = json_number_value(v);
	} else if (json_is_string(v)) {
		d = strtod(json_string_value(v), &end);
		if (end == json_string_value(v) || *end)
			return dflt;
	} else {
		return dflt;
	}
	if (!isfinite(d) || d < 0)
		return dflt;
	d = round(d * scale);
	/* A positive weight never rounds down to "no traffic". */
	if (d < 1 && json_is_number(v) && json_number_value(v) > 0)
		d = 1;
	return d > XLB_WEIGHT_MAX ? XLB_WEIGHT_MAX : (__u32)d;
}

double xlb_httpreg_interval(const struct xlb_disc_http_conf *conf)
{
	return conf->fetch_interval < 0.1 ? 0.1 : conf->fetch_interval;
}

json_t *xlb_httpreg_load(const char *what, const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;

	if (!len) {
		snprintf(err, errlen, "%s: empty body", what);
		return NULL;
	}
	j = json_loadb(body, len, JSON_DECODE_ANY, &je);
	if (!j)
		snprintf(err, errlen, "%s: bad JSON at byte %d: %s", what, je.position, je.text);
	return j;
}

int xlb_httpreg_url(char *buf, size_t len, const char *host, int strip_auth, const char *path)
{
	const char *scheme_end = strstr(host, "://"), *at, *rest;
	size_t hl;
	int n;

	rest = host;
	hl = strlen(host);
	if (strip_auth && scheme_end) {
		at = strchr(scheme_end + 3, '@');
		if (at && !memchr(scheme_end + 3, '/', (size_t)(at - scheme_end - 3))) {
			n = snprintf(buf, len, "%.*s", (int)(scheme_end + 3 - host), host);
			if (n < 0 || (size_t)n >= len)
				return -ENAMETOOLONG;
			buf += n;
			len -= (size_t)n;
			rest = at + 1;
			hl = strlen(rest);
		}
	}
	while (hl && rest[hl - 1] == '/')
		hl--;
	n = snprintf(buf, len, "%.*s%s%s", (int)hl, rest, path[0] == '/' ? "" : "/", path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

const char *xlb_httpreg_name(const char *host, char *buf, size_t len)
{
	size_t n;

	if (xlb_httpreg_url(buf, len, host, 1, "")) {
		snprintf(buf, len, "(a long URL)");
		return buf;
	}
	n = strlen(buf);
	if (n && buf[n - 1] == '/')
		buf[n - 1] = '\0';
	return buf;
}

static int unhex(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

static int pct_decode(char *out, size_t olen, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%' && i + 2 < n && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
			c = unhex(s[i + 1]) * 16 + unhex(s[i + 2]);
			i += 2;
		}
		if (o + 1 >= olen)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int xlb_httpreg_userinfo(const char *host, char *user, size_t ulen, char *pass, size_t plen)
{
	const char *s = strstr(host, "://"), *at, *colon;

	if (!s)
		return -ENOENT;
	s += 3;
	at = strchr(s, '@');
	if (!at || memchr(s, '/', (size_t)(at - s)))
		return -ENOENT;
	colon = memchr(s, ':', (size_t)(at - s));
	if (!colon)
		colon = at;
	if (pct_decode(user, ulen, s, (size_t)(colon - s)))
		return -ENAMETOOLONG;
	if (colon == at)
		pass[0] = '\0';
	else if (pct_decode(pass, plen, colon + 1, (size_t)(at - colon - 1)))
		return -ENAMETOOLONG;
	return 0;
}

int xlb_httpreg_escape(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			if (o + 1 >= len)
				return -ENAMETOOLONG;
			buf[o++] = (char)c;
		} else {
			if (o + 3 >= len)
				return -ENAMETOOLONG;
			buf[o++] = '%';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (o >= len)
		return -ENAMETOOLONG;
	buf[o] = '\0';
	return 0;
}

int xlb_httpreg_args2(const char *args, const char *type, const char *k1, char *v1, const char *k2,
		      char *v2, char *why, size_t len)
{
	json_error_t je;
	const char *k;
	json_t *j, *v;
	char *dst;
	int ret = 0;

	v1[0] = v2[0] = '\0';
	if (!args)
		return 0;
	j = json_loads(args, 0, &je);
	if (!json_is_object(j)) {
		snprintf(why, len, "discovery_args must be an object");
		json_decref(j);
		return -EINVAL;
	}
	json_object_foreach (j, k, v) {
		dst = !strcmp(k, k1) ? v1 : !strcmp(k, k2) ? v2 : NULL;
		if (!dst) {
			snprintf(why, len, "discovery_args: %s takes %s and %s, not '%s'", type, k1,
				 k2, k);
			ret = -EINVAL;
			break;
		}
		if (!json_is_string(v) || !json_string_length(v) ||
		    json_string_length(v) >= XLB_HTTPREG_ARG_LEN) {
			snprintf(why, len,
				 "discovery_args.%s must be a non-empty string of at "
				 "most %d bytes",
				 k, XLB_HTTPREG_ARG_LEN - 1);
			ret = -EINVAL;
			break;
		}
		strcpy(dst, json_string_value(v));
	}
	json_decref(j);
	return ret;
}

/* --- the poll loop --------------------------------------------------------------- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct xlb_httpreg *p = arg;

	p->fire(p);
}

int xlb_httpreg_init(struct xlb_httpreg *p, struct xlb_disc_watch *w,
		     void (*fire)(struct xlb_httpreg *p))
{
	memset(p, 0, sizeof(*p));
	p->w = w;
	p->fire = fire;
	p->timer = evtimer_new(xlb_disc_base(xlb_disc_watch_disc(w)), on_timer, p);
	return p->timer ? 0 : -ENOMEM;
}

void xlb_httpreg_fini(struct xlb_httpreg *p)
{
	if (p->req)
		xlb_http_cancel(p->req);
	p->req = NULL;
	if (p->timer)
		event_free(p->timer);
	p->timer = NULL;
}

void xlb_httpreg_after(struct xlb_httpreg *p, double secs)
{
	struct timeval tv;

	if (secs < 0)
		secs = 0;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(p->timer, &tv);
}

void xlb_httpreg_ok(struct xlb_httpreg *p)
{
	p->failed = 0;
}

void xlb_httpreg_fail(struct xlb_httpreg *p, unsigned int nhosts, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!p->failed++)
		memcpy(p->first, msg, sizeof(msg));
	if (nhosts > 1)
		p->host = (p->host + 1) % nhosts;
	if (nhosts > 1 && p->failed < nhosts) {
		/* Another server may answer: try it now, report nothing yet. */
		pr_info("discovery: %s '%s': %s; trying the next server\n",
			xlb_disc_watch_type(p->w), xlb_disc_watch_service(p->w), msg);
		xlb_httpreg_after(p, 0);
		return;
	}
	/* The server in use says what went wrong; the others only failed too. */
	xlb_disc_error(p->w, "%s%s", p->first, nhosts > 1 ? " (no other server answered)" : "");
	p->failed = 0;
	xlb_httpreg_after(p, xlb_disc_backoff(p->w));
}
