// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dns registry: the answer parser on hand-made messages, then the
 * discovery manager on a real event_base against a real DNS server
 * (unbound on 127.0.0.1, records changed live with unbound-control) and a
 * scripted responder for answers no real server gives (garbage, cut
 * short, wrong id, SERVFAIL, silence). Queries go to those two only.
 * Its registry tests skip when unbound is not installed (scripts/install-deps.sh
 * installs it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <cmocka.h>

#include "base/addr.h"
#include "discovery/discovery.h"
#include "discovery/dns.h"
#include "../lib/dns_server.h"
#include "../lib/check.h"

/* --- hand-made messages -------------------------------------------------------- */

struct msg {
	unsigned char b[2048];
	size_t n;
	unsigned int counts[4]; /* qd an ns ar, written by msg_end */
};

static void put16(struct msg *m, unsigned int v)
{
	m->b[m->n++] = v >> 8;
	m->b[m->n++] = v;
}

static void put32(struct msg *m, unsigned int v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void put_name(struct msg *m, const char *name)
{
	const char *p = name, *dot;

	while (*p) {
		dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		m->b[m->n++] = len;
		memcpy(m->b + m->n, p, len);
		m->n += len;
		p += len + (dot ? 1 : 0);
	}
	m->b[m->n++] = 0;
}

static void msg_start(struct msg *m, unsigned int flags, const char *qname, int qtype)
{
	memset(m, 0, sizeof(*m));
	put16(m, 0x1234);
	put16(m, flags);
	m->n = 12;
	put_name(m, qname);
	put16(m, qtype);
	put16(m, ns_c_in);
	m->counts[0] = 1;
}

/* A record in section s (1 an, 2 ns, 3 ar); rdata follows, then rr_end. */
static size_t rr_start(struct msg *m, int s, const char *name, int type, unsigned int ttl)
{
	m->counts[s]++;
	put_name(m, name);
	put16(m, type);
	put16(m, ns_c_in);
	put32(m, ttl);
	put16(m, 0);
	return m->n;
}

static void rr_end(struct msg *m, size_t start)
{
	m->b[start - 2] = (m->n - start) >> 8;
	m->b[start - 1] = (m->n - start);
}

static void rr_a(struct msg *m, int s, const char *name, unsigned int ttl, const char *ip)
{
	int v6 = !!strchr(ip, ':');
	size_t st = rr_start(m, s, name, v6 ? ns_t_aaaa : ns_t_a, ttl);

	inet_pton(v6 ? AF_INET6 : AF_INET, ip, m->b + m->n);
	m->n += v6 ? 16 : 4;
	rr_end(m, st);
}

static void rr_srv(struct msg *m, const char *name, unsigned int ttl, unsigned int prio,
		   unsigned int weight, unsigned int port, const char *target)
{
	size_t st = rr_start(m, 1, name, ns_t_srv, ttl);

	put16(m, prio);
	put16(m, weight);
	put16(m, port);
	put_name(m, target);
	rr_end(m, st);
}

static void rr_cname(struct msg *m, const char *name, unsigned int ttl, const char *target)
{
	size_t st = rr_start(m, 1, name, ns_t_cname, ttl);

	put_name(m, target);
	rr_end(m, st);
}

static void rr_soa(struct msg *m, unsigned int ttl, unsigned int minimum)
{
	size_t st = rr_start(m, 2, "svc.test", ns_t_soa, ttl);

	put_name(m, "ns.svc.test");
	put_name(m, "admin.svc.test");
	put32(m, 1);
	put32(m, 3600);
	put32(m, 600);
	put32(m, 86400);
	put32(m, minimum);
	rr_end(m, st);
}

static void msg_end(struct msg *m)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		m->b[4 + 2 * i] = m->counts[i] >> 8;
		m->b[5 + 2 * i] = m->counts[i];
	}
}

/* Nodes as "addr:port/weight/priority ..." after the same sort discovery.c does. */
static int node_cmp(const void *x, const void *y)
{
	const struct xlb_node_conf *a = x, *b = y;

	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	return memcmp(a->addr.addr, b->addr.addr, 16) ?: (int)a->port - (int)b->port;
}

static const char *nodes_str(const struct xlb_node_conf *v, size_t n, char *buf, size_t len)
{
	struct xlb_node_conf *s = malloc((n ?: 1) * sizeof(*s));
	char a[64];
	size_t i, o = 0;

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), node_cmp);
	buf[0] = '\0';
	for (i = 0; i < n && o < len - 80; i++) {
		xlb_addr_str(s[i].addr.addr, s[i].addr.family, a, sizeof(a));
		o += snprintf(buf + o, len - o, "%s%s:%u/%u/%d", i ? " " : "", a, s[i].port,
			      s[i].weight, s[i].priority);
	}
	free(s);
	return buf;
}

#define SRV_NAME "_x._tcp.svc.test"

static void test_parse_srv_additional(void **state)
{
	struct xlb_disc_nodes ns = {0};
	struct xlb_dns_answer a;
	struct msg m;
	char why[160], buf[512];
	__u32 ttl = XLB_DNS_TTL_NONE;

	msg_start(&m, 0x8180, SRV_NAME, ns_t_srv);
	rr_srv(&m, SRV_NAME, 30, 10, 60, 8080, "a.svc.test");
	rr_srv(&m, SRV_NAME, 20, 20, 0, 8081, "B.svc.test."); /* weight 0, another case */
	rr_srv(&m, SRV_NAME, 20, 30, 5, 8082, "nowhere.svc.test");
	rr_a(&m, 3, "a.svc.test", 40, "198.18.0.1");
	rr_a(&m, 3, "b.svc.test", 9, "198.18.0.2");
	rr_a(&m, 3, "b.svc.test", 9, "fd00:78:6c62::2");
	msg_end(&m);
	assert_int_equal(xlb_dns_parse(m.b, m.n, SRV_NAME ".", ns_t_srv, &a, why, sizeof(why)), 0);
	assert_int_equal(a.rcode, ns_r_noerror);
	assert_int_equal(a.nsrv, 3);
	assert_int_equal(a.naddr, 3);
	assert_int_equal(a.ttl, 20); /* the SRV records' */
	assert_string_equal(a.srv[1].target, "B.svc.test");
	assert_int_equal(xlb_dns_srv_nodes(a.srv, a.nsrv, a.addr, a.naddr, 0, &ns, &ttl), 0);
	/* b's weight 0 counts as 1 and is shared by its two addresses (at least 1 each) */
	assert_string_equal(nodes_str(ns.v, ns.n, buf, sizeof(buf)),
			    "198.18.0.1:8080/60/-10 198.18.0.2:8081/1/-20 "
			    "fd00:78:6c62::2:8081/1/-20");
	assert_int_equal(ttl, 9); /* b's addresses */
	xlb_disc_nodes_free(&ns);

	/* a port in service_name overrides the SRV ports (as APISIX) */
	ttl = XLB_DNS_TTL_NONE;
	assert_int_equal(xlb_dns_srv_nodes(a.srv, 1, a.addr, a.naddr, 443, &ns, &ttl), 0);
	assert_string_equal(nodes_str(ns.v, ns.n, buf, sizeof(buf)), "198.18.0.1:443/60/-10");
	assert_int_equal(ttl, 30);
	xlb_disc_nodes_free(&ns);
	xlb_dns_answer_free(&a);

	/* a weight is split among a target's addresses */
	msg_start(&m, 0x8180, SRV_NAME, ns_t_srv);
	rr_srv(&m, SRV_NAME, 30, 0, 60, 80, "b.svc.test");
	rr_a(&m, 3, "b.svc.test", 9, "198.18.0.2");
	rr_a(&m, 3, "b.svc.test", 9, "198.18.0.3");
	rr_a(&m, 3, "b.svc.test", 9, "198.18.0.4");
	msg_end(&m);
	assert_int_equal(xlb_dns_parse(m.b, m.n, SRV_NAME, ns_t_srv, &a, why, sizeof(why)), 0);
	assert_int_equal(xlb_dns_srv_nodes(a.srv, a.nsrv, a.addr, a.naddr, 0, &ns, &ttl), 0);
	assert_string_equal(nodes_str(ns.v, ns.n, buf, sizeof(buf)),
			    "198.18.0.2:80/20/0 198.18.0.3:80/20/0 198.18.0.4:80/20/0");
	xlb_disc_nodes_free(&ns);
	xlb_dns_answer_free(&a);
}

static void test_parse_addresses(void **state)
{
	struct xlb_disc_nodes ns = {0};
	struct xlb_dns_answer a;
	struct msg m;
	char why[160], buf[512];
	__u32 ttl = XLB_DNS_TTL_NONE;

	/* a CNAME chain: the addresses count for the name asked, the CNAME's TTL too */
	msg_start(&m, 0x8180, "host.svc.test", ns_t_a);
	rr_cname(&m, "host.svc.test", 3, "web.svc.test");
	rr_a(&m, 1, "web.svc.test", 8, "198.18.3.1");
	rr_a(&m, 1, "web.svc.test", 8, "198.18.3.2");
	rr_a(&m, 1, "elsewhere.svc.test", 1, "198.18.3.3"); /* not ours */
	msg_end(&m);
	assert_int_equal(xlb_dns_parse(m.b, m.n, "host.svc.test", ns_t_a, &a, why, sizeof(why)), 0);
	assert_int_equal(a.ttl, 3);
	assert_int_equal(xlb_dns_addr_nodes(a.addr, a.naddr, "host.svc.test", 9000, 7, &ns, &ttl),
			 0);
	assert_string_equal(nodes_str(ns.v, ns.n, buf, sizeof(buf)),
			    "198.18.3.1:9000/7/0 198.18.3.2:9000/7/0");
	assert_int_equal(ttl, 8);
	xlb_disc_nodes_free(&ns);
	xlb_dns_answer_free(&a);

	/* NXDOMAIN: negative TTL = min(SOA TTL, MINIMUM) */
	msg_start(&m, 0x8183, SRV_NAME, ns_t_srv);
	rr_soa(&m, 30, 5);
	msg_end(&m);
	assert_int_equal(xlb_dns_parse(m.b, m.n, SRV_NAME, ns_t_srv, &a, why, sizeof(why)), 0);
	assert_int_equal(a.rcode, ns_r_nxdomain);
	assert_int_equal(a.ttl, 5);
	assert_int_equal(a.nsrv + a.naddr, 0);
	xlb_dns_answer_free(&a);

	/* a TTL with the top bit set is 0 (RFC 2181) */
	msg_start(&m, 0x8180, "host.svc.test", ns_t_aaaa);
	rr_a(&m, 1, "host.svc.test", 0x80000001U, "fd00:78:6c62::1");
	msg_end(&m);
	assert_int_equal(xlb_dns_parse(m.b, m.n, "host.svc.test", ns_t_aaaa, &a, why, sizeof(why)),
			 0);
	assert_int_equal(a.ttl, 0);
	assert_int_equal(a.naddr, 1);
	xlb_dns_answer_free(&a);
}

static void expect_bad(struct msg *m, const char *qname, int qtype, const char *text)
{
	struct xlb_dns_answer a;
	char why[160];

	assert_int_equal(xlb_dns_parse(m->b, m->n, qname, qtype, &a, why, sizeof(why)), -EINVAL);
	if (!strstr(why, text))
		fail_msg("error '%s' does not say '%s'", why, text);
	xlb_dns_answer_free(&a);
}

static void test_parse_bad(void **state)
{
	struct msg m;
	size_t st;

	msg_start(&m, 0x8182, SRV_NAME, ns_t_srv);
	msg_end(&m);
	expect_bad(&m, SRV_NAME, ns_t_srv, "SERVFAIL");
	m.b[3] = 0x85;
	expect_bad(&m, SRV_NAME, ns_t_srv, "REFUSED");

	msg_start(&m, 0x8380, SRV_NAME, ns_t_srv); /* TC */
	msg_end(&m);
	expect_bad(&m, SRV_NAME, ns_t_srv, "truncated");
	msg_start(&m, 0x0180, SRV_NAME, ns_t_srv); /* a query, not an answer */
	msg_end(&m);
	expect_bad(&m, SRV_NAME, ns_t_srv, "not an answer");
	msg_start(&m, 0x8180, "other.svc.test", ns_t_srv);
	msg_end(&m);
	expect_bad(&m, SRV_NAME, ns_t_srv, "another question");
	expect_bad(&m, "other.svc.test", ns_t_a, "another question");

	msg_start(&m, 0x8180, SRV_NAME, ns_t_srv);
	rr_srv(&m, SRV_NAME, 30, 10, 60, 8080, "a.svc.test");
	msg_end(&m);
	m.n -= 5; /* cut short */
	expect_bad(&m, SRV_NAME, ns_t_srv, "malformed");
	expect_bad(&m, SRV_NAME, ns_t_srv, "malformed");

	msg_start(&m, 0x8180, SRV_NAME, ns_t_srv);
	st = rr_start(&m, 1, SRV_NAME, ns_t_srv, 1);
	put16(&m, 1);
	put16(&m, 2);
	rr_end(&m, st);
	msg_end(&m);
	expect_bad(&m, SRV_NAME, ns_t_srv, "SRV record of 4 bytes");

	msg_start(&m, 0x8180, "host.svc.test", ns_t_a);
	st = rr_start(&m, 1, "host.svc.test", ns_t_a, 1);
	put16(&m, 1);
	rr_end(&m, st);
	msg_end(&m);
	expect_bad(&m, "host.svc.test", ns_t_a, "A record of 2 bytes");

	msg_start(&m, 0x8180, "host.svc.test", ns_t_a);
	rr_cname(&m, "host.svc.test", 3, "x.svc.test");
	rr_cname(&m, "x.svc.test", 3, "host.svc.test");
	msg_end(&m);
	expect_bad(&m, "host.svc.test", ns_t_a, "CNAME loop");

	expect_bad(&m, "host.svc.test", ns_t_a, "CNAME loop");
	memset(&m, 0, sizeof(m));
	expect_bad(&m, "host.svc.test", ns_t_a, "malformed"); /* 0 bytes */
}

static void test_service_name(void **state)
{
	char host[XLB_DNS_NAME_LEN], why[160];
	__u16 port;

	assert_int_equal(xlb_dns_service_parse("_web._tcp.svc.test", host, sizeof(host), &port, why,
					       sizeof(why)),
			 0);
	assert_string_equal(host, "_web._tcp.svc.test");
	assert_int_equal(port, 0);
	assert_int_equal(xlb_dns_service_parse("svc.test.:8080", host, sizeof(host), &port, why,
					       sizeof(why)),
			 0);
	assert_string_equal(host, "svc.test");
	assert_int_equal(port, 8080);
	assert_int_equal(
		xlb_dns_service_parse("svc.test:0", host, sizeof(host), &port, why, sizeof(why)),
		-EINVAL);
	assert_non_null(strstr(why, "port"));
	assert_int_equal(xlb_dns_service_parse("svc.test:65536", host, sizeof(host), &port, why,
					       sizeof(why)),
			 -EINVAL);
	assert_int_equal(
		xlb_dns_service_parse("fd00::1", host, sizeof(host), &port, why, sizeof(why)),
		-EINVAL);
	assert_int_equal(
		xlb_dns_service_parse("198.18.0.1:80", host, sizeof(host), &port, why, sizeof(why)),
		-EINVAL);
	assert_non_null(strstr(why, "address"));
	assert_int_equal(xlb_dns_service_parse("a..b", host, sizeof(host), &port, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(xlb_dns_service_parse("a b", host, sizeof(host), &port, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(xlb_dns_service_parse("", host, sizeof(host), &port, why, sizeof(why)),
			 -EINVAL);
}

/* --- the registry on a loop ------------------------------------------------------- */

static struct dns_srv srv;

static const char *const zone[] = {
	"_web._tcp.svc.test. 1 IN SRV 10 60 8080 a.svc.test.",
	"_web._tcp.svc.test. 1 IN SRV 20 20 8081 b.svc.test.",
	"a.svc.test. 1 IN A 198.18.0.1",
	"b.svc.test. 1 IN A 198.18.0.2",
	"b.svc.test. 1 IN AAAA fd00:78:6c62::2",
	"ab.svc.test. 1 IN A 198.18.0.10",
	"ab.svc.test. 1 IN AAAA fd00:78:6c62::10",
	"_chg._tcp.svc.test. 1 IN SRV 0 10 7000 c1.svc.test.",
	"c1.svc.test. 1 IN A 198.18.0.31",
	"gone.svc.test. 1 IN A 198.18.0.20",
	"_none._tcp.svc.test. 1 IN SRV 0 0 0 .",
	"txt.svc.test. 1 IN TXT \\\"no addresses here\\\"",
	NULL,
};

struct tw {
	struct event_base *base;
	struct xlb_disc *d;
	struct xlb_disc_watch *w;
	struct xlb_discovery_conf conf;
	char buf[1024];
};

static void tw_start(struct tw *t, const char *server, const char *service)
{
	char why[256];

	memset(t, 0, sizeof(*t));
	t->conf.dns.enabled = 1;
	t->conf.dns.nservers = 1;
	snprintf(t->conf.dns.servers[0], sizeof(t->conf.dns.servers[0]), "%s", server);
	t->conf.dns.timeout = 0.3;
	t->conf.dns.min_ttl = 0.5;
	t->conf.dns.max_ttl = 30;
	t->conf.dns.weight = 7;
	if (xlb_disc_check(&t->conf, "dns", service, NULL, why, sizeof(why)))
		fail_msg("check %s: %s", service, why);
	t->base = event_base_new();
	assert_non_null(t->base);
	t->d = xlb_disc_new(t->base, &t->conf);
	assert_non_null(t->d);
	t->w = xlb_disc_watch_new(t->d, "dns", service, NULL, NULL, 0, NULL, NULL);
	assert_non_null(t->w);
}

static void tw_stop(struct tw *t)
{
	xlb_disc_free(t->d);
	event_base_free(t->base);
}

static const char *tw_nodes(struct tw *t)
{
	const struct xlb_node_conf *v;
	size_t n;

	v = xlb_disc_watch_nodes(t->w, &n);
	return nodes_str(v, n, t->buf, sizeof(t->buf));
}

static struct xlb_disc_status tw_status(struct tw *t)
{
	struct xlb_disc_status st;

	xlb_disc_watch_status(t->w, &st);
	return st;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
}

/*
 * Run the loop until cond holds, at most limit seconds (a bound against a
 * hung test, not a timing assertion). Returns cond's last value.
 */
static int run_until(struct tw *t, int (*cond)(struct tw *, const void *), const void *arg,
		     double limit)
{
	struct timeval tv = {0, 20000};
	struct event *ev = event_new(t->base, -1, EV_PERSIST, tick, NULL);
	double t0 = now();
	int ok;

	event_add(ev, &tv);
	while (!(ok = cond(t, arg)) && now() - t0 < limit)
		event_base_loop(t->base, EVLOOP_ONCE);
	event_free(ev);
	return ok;
}

static int nodes_are(struct tw *t, const void *want)
{
	return !strcmp(tw_nodes(t), want);
}

static int errors_reach(struct tw *t, const void *n)
{
	return tw_status(t).errors >= *(const unsigned long *)n;
}

static int answers_reach(struct tw *t, const void *n)
{
	return tw_status(t).answers >= *(const unsigned long *)n;
}

static void run_for(struct tw *t, double secs)
{
	struct timeval tv = {(time_t)secs, (suseconds_t)((secs - (time_t)secs) * 1e6)};

	event_base_loopexit(t->base, &tv);
	event_base_dispatch(t->base);
}

#define WEB_NODES "198.18.0.1:8080/60/-10 198.18.0.2:8081/10/-20 fd00:78:6c62::2:8081/10/-20"

static void test_srv(void **state)
{
	struct xlb_disc_counters c;
	struct tw t;

	tw_start(&t, srv.addr, "_web._tcp.svc.test");
	if (!run_until(&t, nodes_are, WEB_NODES, 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	assert_string_equal(tw_status(&t).error, "");
	xlb_disc_counters(t.d, "dns", &c);
	/* SRV, then A and AAAA of a and b (unbound adds no additional section) */
	assert_true(c.requests >= 5);
	assert_int_equal(c.errors, 0);
	tw_stop(&t);
}

static void test_a_aaaa(void **state)
{
	unsigned long n;
	struct tw t;

	tw_start(&t, srv.addr, "ab.svc.test:9000");
	if (!run_until(&t, nodes_are, "198.18.0.10:9000/7/0 fd00:78:6c62::10:9000/7/0", 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	tw_stop(&t);

	/* no SRV and no port: an error, not nodes on port 0 */
	tw_start(&t, srv.addr, "ab.svc.test");
	n = 1;
	assert_true(run_until(&t, errors_reach, &n, 10));
	assert_non_null(strstr(tw_status(&t).error, "gives no port"));
	tw_stop(&t);

	/* a name with neither SRV, A nor AAAA (a TXT only): an error, not "gone" */
	tw_start(&t, srv.addr, "txt.svc.test:80");
	assert_true(run_until(&t, errors_reach, &n, 10));
	assert_non_null(strstr(tw_status(&t).error, "no SRV, A or AAAA"));
	tw_stop(&t);
}

/*
 * Records change on the server: the watch follows within about a TTL
 * (1 s here). The times are printed, not asserted.
 */
static void test_follow_changes(void **state)
{
	const char *want1 = "198.18.0.31:7000/10/0";
	const char *want2 = "198.18.0.31:7000/10/0 198.18.0.32:7001/30/-5";
	const char *want3 = "198.18.0.32:7001/30/-5 198.18.0.33:7000/10/0";
	struct xlb_disc_counters c0, c1;
	double t0, secs;
	unsigned long rounds;
	struct tw t;

	tw_start(&t, srv.addr, "_chg._tcp.svc.test");
	if (!run_until(&t, nodes_are, want1, 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);

	/* re-resolved at the TTL: count rounds (one SRV query each) over 4 s */
	xlb_disc_counters(t.d, "dns", &c0);
	run_for(&t, 4.0);
	xlb_disc_counters(t.d, "dns", &c1);
	rounds = (c1.requests - c0.requests) / 3; /* SRV + A + AAAA of c1 */
	printf("# TTL 1 s: %lu rounds in 4 s (%lu queries)\n", rounds, c1.requests - c0.requests);
	assert_true(rounds >= 2);  /* it re-resolves ... */
	assert_true(rounds <= 12); /* ... and does not spin */

	/* a new target: its address first, then the SRV record (never empty) */
	/*
	 * The loop does not run while unbound-control does, so a round that
	 * fell due meanwhile runs at once: the time is counted from the start
	 * of the change (unbound-control included), and may be near 0.
	 */
	assert_string_equal(tw_nodes(&t), want1);
	t0 = now();
	assert_int_equal(dns_srv_ctl(&srv, "local_data", "c2.svc.test. 1 IN A 198.18.0.32"), 0);
	assert_int_equal(dns_srv_ctl(&srv, "local_data",
				     "_chg._tcp.svc.test. 1 IN SRV 5 30 7001 c2.svc.test."),
			 0);
	secs = now() - t0;
	if (!run_until(&t, nodes_are, want2, 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	printf("# new SRV record seen %.2f s after the change began (unbound-control %.2f s; "
	       "TTL 1 s)\n",
	       now() - t0, secs);

	/* a target's address changes */
	t0 = now();
	assert_int_equal(dns_srv_ctl(&srv, "local_data_remove", "c1.svc.test."), 0);
	assert_int_equal(dns_srv_ctl(&srv, "local_data", "c1.svc.test. 1 IN A 198.18.0.33"), 0);
	secs = now() - t0;
	if (!run_until(&t, nodes_are, want3, 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	printf("# changed A record seen %.2f s after the change began (unbound-control %.2f s; "
	       "TTL 1 s)\n",
	       now() - t0, secs);
	assert_string_equal(tw_status(&t).error, "");
	tw_stop(&t);
}

/* min_ttl holds re-resolving back when records live shorter. */
static void test_ttl_floor(void **state)
{
	struct xlb_disc_counters c0, c1;
	unsigned long rounds;
	struct tw t;

	tw_start(&t, srv.addr, "ab.svc.test:9000");
	xlb_disc_free(t.d); /* again, with min_ttl 3 s */
	t.conf.dns.min_ttl = 3;
	t.d = xlb_disc_new(t.base, &t.conf);
	assert_non_null(t.d);
	t.w = xlb_disc_watch_new(t.d, "dns", "ab.svc.test:9000", NULL, NULL, 0, NULL, NULL);
	assert_non_null(t.w);
	if (!run_until(&t, nodes_are, "198.18.0.10:9000/7/0 fd00:78:6c62::10:9000/7/0", 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	xlb_disc_counters(t.d, "dns", &c0);
	run_for(&t, 4.5);
	xlb_disc_counters(t.d, "dns", &c1);
	rounds = (c1.requests - c0.requests) / 3; /* SRV + A + AAAA */
	printf("# TTL 1 s, min_ttl 3 s: %lu round(s) in 4.5 s\n", rounds);
	/* timers never fire early: with TTL 1 s there would be 4 */
	assert_true(rounds <= 2);
	tw_stop(&t);
}

static void test_nxdomain_gone(void **state)
{
	unsigned long n;
	struct tw t;

	tw_start(&t, srv.addr, "gone.svc.test:80");
	if (!run_until(&t, nodes_are, "198.18.0.20:80/7/0", 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	assert_int_equal(dns_srv_ctl(&srv, "local_data_remove", "gone.svc.test."), 0);
	/* SRV, A and AAAA all NXDOMAIN: the registry says the name is gone */
	if (!run_until(&t, nodes_are, "", 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	assert_string_equal(tw_status(&t).error, "");
	assert_int_equal(tw_status(&t).errors, 0);
	/* and back */
	assert_int_equal(dns_srv_ctl(&srv, "local_data", "gone.svc.test. 1 IN A 198.18.0.21"), 0);
	if (!run_until(&t, nodes_are, "198.18.0.21:80/7/0", 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	tw_stop(&t);

	/* SRV target "." (RFC 2782: decidedly not available) is an answer, not an error */
	tw_start(&t, srv.addr, "_none._tcp.svc.test");
	n = 1;
	assert_true(run_until(&t, answers_reach, &n, 10));
	assert_string_equal(tw_status(&t).error, "");
	assert_string_equal(tw_nodes(&t), "");
	tw_stop(&t);
}

/* The server stops: errors are counted, the nodes stay; it comes back: answers again. */
static void test_server_down(void **state)
{
	struct xlb_disc_counters c;
	unsigned long n;
	struct tw t;

	tw_start(&t, srv.addr, "_web._tcp.svc.test");
	if (!run_until(&t, nodes_are, WEB_NODES, 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	dns_srv_kill(&srv);
	n = 3;
	assert_true(run_until(&t, errors_reach, &n, 30));
	assert_string_equal(tw_nodes(&t), WEB_NODES);
	printf("# server down: '%s'\n", tw_status(&t).error);
	assert_string_not_equal(tw_status(&t).error, "");
	xlb_disc_counters(t.d, "dns", &c);
	assert_true(c.errors >= 3);

	assert_int_equal(dns_srv_restart(&srv), 0);
	n = tw_status(&t).answers + 1;
	assert_true(run_until(&t, answers_reach, &n, 30));
	assert_string_equal(tw_status(&t).error, "");
	assert_string_equal(tw_nodes(&t), WEB_NODES);
	tw_stop(&t);
}

/*
 * Answers no real server gives: each keeps the nodes, counts an error and
 * says what was wrong; a good answer afterwards clears it.
 */
static void test_bad_answers(void **state)
{
	static const struct {
		const char *mode, *text;
	} cases[] = {
		{"garbage", ""}, /* whatever the random bytes make of it */
		{"short", ""},
		{"wrongid", "no answer"}, /* c-ares drops it and waits */
		{"servfail", "no usable answer"},
		{"refused", "no usable answer"},
		{"noqr", ""},
		{"badrdata", "SRV record of 3 bytes"},
		{"tc", "no usable answer"}, /* then TCP, where it hangs up */
		{"silent", "no answer"},
	};
	const char *want = "198.18.1.1:7001/5/-1 198.18.1.2:7002/1/-2 fd00:78:6c62::12:7002/1/-2";
	struct dns_resp r;
	unsigned long n;
	unsigned int i;
	struct tw t;
	int err;

	err = dns_resp_start(&r);
	if (err)
		fail_msg("cannot start tests/lib/dns_server.py: %s", strerror(-err));
	tw_start(&t, r.addr, SRV_NAME);
	/* the good answer carries the targets' addresses in the additional section */
	if (!run_until(&t, nodes_are, want, 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(dns_resp_mode(&r, cases[i].mode), 0);
		n = tw_status(&t).errors + 1;
		if (!run_until(&t, errors_reach, &n, 15))
			fail_msg("%s: no error counted", cases[i].mode);
		printf("# %s: '%s'\n", cases[i].mode, tw_status(&t).error);
		assert_string_equal(tw_nodes(&t), want);
		if (!strstr(tw_status(&t).error, cases[i].text))
			fail_msg("%s: error '%s' does not say '%s'", cases[i].mode,
				 tw_status(&t).error, cases[i].text);
		assert_int_equal(dns_resp_mode(&r, "good"), 0);
		n = tw_status(&t).answers + 1;
		if (!run_until(&t, answers_reach, &n, 15))
			fail_msg("%s: no good answer after it", cases[i].mode);
		assert_string_equal(tw_status(&t).error, "");
	}

	/* NXDOMAIN for SRV, A and AAAA from this server too: gone */
	assert_int_equal(dns_resp_mode(&r, "nxdomain"), 0);
	if (!run_until(&t, nodes_are, "", 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	tw_stop(&t);
	dns_resp_stop(&r);
}

/*
 * Settings change (the watch restarts) and the watch goes away while
 * queries are in flight: nothing is left behind or touched after its
 * free (run under valgrind or ASan to see it), and the restarted watch
 * answers.
 */
static void test_restart_in_flight(void **state)
{
	const char *want = "198.18.2.1:5000/7/0 fd00:78:6c62::21:5000/7/0";
	struct xlb_discovery_conf conf;
	struct dns_resp r;
	struct tw t;
	int err;

	err = dns_resp_start(&r);
	if (err)
		fail_msg("cannot start tests/lib/dns_server.py: %s", strerror(-err));
	assert_int_equal(dns_resp_mode(&r, "silent"), 0);
	tw_start(&t, r.addr, "host.svc.test:5000");
	run_for(&t, 0.2); /* the SRV query waits for an answer */
	assert_int_equal(tw_status(&t).answers + tw_status(&t).errors, 0);
	conf = t.conf;
	conf.dns.timeout = 0.4;
	xlb_disc_set_conf(t.d, &conf); /* stops the watch, starts it again */
	run_for(&t, 0.2);
	assert_int_equal(dns_resp_mode(&r, "good"), 0);
	if (!run_until(&t, nodes_are, want, 10))
		fail_msg("nodes '%s', error '%s'", tw_nodes(&t), tw_status(&t).error);
	assert_int_equal(dns_resp_mode(&r, "silent"), 0);
	run_for(&t, 1.2); /* the next round is in flight */
	tw_stop(&t);
	dns_resp_stop(&r);
}

static int setup(void **state)
{
	int err = dns_srv_start(&srv, "svc.test", zone);

	if (err)
		fprintf(stderr, "cannot start unbound: %s\n", strerror(-err));
	return err ? -1 : 0;
}

static int teardown(void **state)
{
	dns_srv_stop(&srv);
	return 0;
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_parse_srv_additional),
		cmocka_unit_test(test_parse_addresses),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_service_name),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_srv),
		cmocka_unit_test(test_a_aaaa),
		cmocka_unit_test(test_follow_changes),
		cmocka_unit_test(test_ttl_floor),
		cmocka_unit_test(test_nxdomain_gone),
		cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_restart_in_flight),
		cmocka_unit_test(test_server_down), /* last: restarts the server */
	};
	int ret = check_run_tests("dns parser", pure, NULL, NULL);

	if (ret)
		return ret;
	if (!dns_srv_binary()) {
		check_skip_tests(live,
				 "unbound is not installed (scripts/install-deps.sh installs it)");
		return 0;
	}
	return check_run_tests("dns registry", live, setup, teardown);
}
