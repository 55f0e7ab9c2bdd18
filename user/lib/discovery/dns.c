// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dns registry: service_name "host[:port]" is resolved through the
 * servers of discovery.dns, SRV first (RFC 2782: targets, ports, weights,
 * priorities), else A and AAAA with the port of service_name, as APISIX's
 * dns discovery does. Re-resolved when the smallest TTL of the records
 * used runs out, bounded by min_ttl and max_ttl.
 *
 * One resolution is a round of queries on a c-ares channel of the watch's
 * own (its sockets on the agent's libevent loop, closed between rounds):
 *
 *   SRV host --records--> A + AAAA of each target the additional section
 *      |                  did not already give an address for
 *      +--NXDOMAIN or no SRV record--> A + AAAA of host
 *
 * The round ends when every query has answered. Any query that failed
 * (timeout, refused, SERVFAIL, an answer that does not parse) fails the
 * round: an answer with a part missing would drop nodes that are still
 * there, so discovery.c keeps the last good set. Only NXDOMAIN for SRV,
 * A and AAAA together says the name is gone (XLB_DISC_GONE), and an SRV
 * set whose only target is "." (RFC 2782: "decidedly not available").
 *
 * Weights: an SRV record's weight is shared among its target's addresses,
 * weight 0 counts as 1, priority = -SRV priority (xlb_dns_srv_nodes() in
 * dns.h says why); A/AAAA nodes get discovery.dns.weight. A port in
 * service_name overrides the SRV ports, as in APISIX; without one, a name
 * that has only A/AAAA records is an error (no port to send to).
 *
 * c-ares 1.18 parses SRV records without their TTL, so answers are taken
 * apart with libresolv's parser here (xlb_dns_parse), and c-ares only
 * sends queries and matches answers to them (id, question, TCP after TC).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <ares.h>
#include <jansson.h>
#include <event2/event.h>

#include "discovery/discovery.h"
#include "discovery/dns.h"
#include "base/log.h"
#include "base/vec.h"

#define CHAIN_MAX   8	/* CNAMEs followed from the name asked */
#define TRIES	    2	/* sends of a query to each server */
#define DELAY_FLOOR 0.1 /* seconds: no busy loop even with min_ttl 0 */

/* --- the answer parser (pure) ---------------------------------------------------- */

static const char *rcode_name(int rcode)
{
	static const char *const names[] = {
		[ns_r_noerror] = "NOERROR",   [ns_r_formerr] = "FORMERR",
		[ns_r_servfail] = "SERVFAIL", [ns_r_nxdomain] = "NXDOMAIN",
		[ns_r_notimpl] = "NOTIMP",    [ns_r_refused] = "REFUSED",
		[ns_r_yxdomain] = "YXDOMAIN", [ns_r_yxrrset] = "YXRRSET",
		[ns_r_nxrrset] = "NXRRSET",   [ns_r_notauth] = "NOTAUTH",
		[ns_r_notzone] = "NOTZONE",
	};

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]) && names[rcode])
		return names[rcode];
	return "an unknown rcode";
}

static const char *type_name(int type)
{
	return type == ns_t_srv ? "SRV" : type == ns_t_a ? "A" : type == ns_t_aaaa ? "AAAA" : "?";
}

/* A name in text form without the final dot (the root is ""); -1: too long. */
static int name_norm(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n && src[n - 1] == '.' && !(n >= 2 && src[n - 2] == '\\'))
		n--;
	if (n >= XLB_DNS_NAME_LEN)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int name_eq(const char *a, const char *b)
{
	char na[XLB_DNS_NAME_LEN], nb[XLB_DNS_NAME_LEN];

	return !name_norm(na, a) && !name_norm(nb, b) && !strcasecmp(na, nb);
}

/* RFC 2181 section 8: a TTL with the top bit set counts as 0. */
static __u32 rr_ttl(const ns_rr *rr)
{
	__u32 t = ns_rr_ttl(*rr);

	return t > 0x7fffffffU ? 0 : t;
}

static void ttl_min(__u32 *ttl, __u32 t)
{
	if (t < *ttl)
		*ttl = t;
}

struct parse {
	ns_msg h;
	struct xlb_dns_answer *a;
	size_t srv_cap, addr_cap;
	char *why;
	size_t wlen;
};

static int bad(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, p->wlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A domain name in rdata at off that must end exactly at end (-1: malformed). */
static int rdata_name(struct parse *p, const ns_rr *rr, size_t off, int must_end, char *out)
{
	char buf[NS_MAXDNAME];
	int n;

	if (off >= ns_rr_rdlen(*rr))
		return -1;
	n = dn_expand(ns_msg_base(p->h), ns_msg_end(p->h), ns_rr_rdata(*rr) + off, buf,
		      sizeof(buf));
	if (n < 0 || off + n > ns_rr_rdlen(*rr) || (must_end && off + n != ns_rr_rdlen(*rr)))
		return -1;
	return name_norm(out, buf) ? -1 : n;
}

static int add_addr(struct parse *p, const ns_rr *rr, const char *name)
{
	struct xlb_dns_answer *a = p->a;
	struct xlb_dns_addr *d;
	int type = ns_rr_type(*rr);

	if (ns_rr_rdlen(*rr) != (type == ns_t_a ? 4 : 16))
		return bad(p, "malformed answer: %s record of %u bytes", type_name(type),
			   ns_rr_rdlen(*rr));
	if (a->naddr >= XLB_DNS_ADDR_MAX)
		return bad(p, "more than %d address records", XLB_DNS_ADDR_MAX);
	if (xlb_vec_room((void **)&a->addr, sizeof(*a->addr), NULL, 0, a->naddr, &p->addr_cap, 16))
		return -ENOMEM;
	d = &a->addr[a->naddr];
	memset(d, 0, sizeof(*d));
	if (name_norm(d->name, name))
		return bad(p, "malformed answer: a name longer than %d characters",
			   XLB_DNS_NAME_LEN - 1);
	d->addr.family = type == ns_t_a ? XLB_AF_INET : XLB_AF_INET6;
	memcpy(d->addr.addr, ns_rr_rdata(*rr), ns_rr_rdlen(*rr));
	d->ttl = rr_ttl(rr);
	a->naddr++;
	return 0;
}

static int add_srv(struct parse *p, const ns_rr *rr)
{
	struct xlb_dns_answer *a = p->a;
	const unsigned char *rd = ns_rr_rdata(*rr);
	struct xlb_dns_srv *s;

	if (ns_rr_rdlen(*rr) < 7)
		return bad(p, "malformed answer: SRV record of %u bytes", ns_rr_rdlen(*rr));
	if (a->nsrv >= XLB_DNS_SRV_MAX)
		return bad(p, "more than %d SRV records", XLB_DNS_SRV_MAX);
	if (xlb_vec_room((void **)&a->srv, sizeof(*a->srv), NULL, 0, a->nsrv, &p->srv_cap, 16))
		return -ENOMEM;
	s = &a->srv[a->nsrv];
	memset(s, 0, sizeof(*s));
	s->priority = ns_get16(rd);
	s->weight = ns_get16(rd + 2);
	s->port = ns_get16(rd + 4);
	s->ttl = rr_ttl(rr);
	if (rdata_name(p, rr, 6, 1, s->target) < 0)
		return bad(p, "malformed answer: SRV record with a bad target name");
	a->nsrv++;
	return 0;
}

static int in_chain(char (*chain)[XLB_DNS_NAME_LEN], unsigned int n, const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (name_eq(chain[i], name))
			return 1;
	return 0;
}

/*
 * The names the answer to qname is about: qname and the CNAMEs it leads
 * to in the answer section (a server answers "A of www" with "www CNAME
 * web" and "web A ..."). Their TTLs bound the answer's.
 */
static int follow_cnames(struct parse *p, char (*chain)[XLB_DNS_NAME_LEN], unsigned int *n)
{
	int i, count = ns_msg_count(p->h, ns_s_an), found;
	ns_rr rr;

	do {
		found = 0;
		for (i = 0; i < count && *n < CHAIN_MAX; i++) {
			if (ns_parserr(&p->h, ns_s_an, i, &rr))
				return bad(p, "malformed answer: answer record %d", i);
			if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in ||
			    !name_eq(rr.name, chain[*n - 1]))
				continue;
			if (rdata_name(p, &rr, 0, 1, chain[*n]) < 0)
				return bad(p, "malformed answer: CNAME with a bad target name");
			if (in_chain(chain, *n, chain[*n]))
				return bad(p, "CNAME loop at '%s'", chain[*n]);
			ttl_min(&p->a->ttl, rr_ttl(&rr));
			(*n)++;
			found = 1;
			break;
		}
	} while (found && *n < CHAIN_MAX);
	return 0;
}

/* RFC 2308 section 5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
static int negative_ttl(struct parse *p)
{
	int i, n, count = ns_msg_count(p->h, ns_s_ns);
	size_t off;
	ns_rr rr;

	for (i = 0; i < count; i++) {
		if (ns_parserr(&p->h, ns_s_ns, i, &rr))
			return bad(p, "malformed answer: authority record %d", i);
		if (ns_rr_type(rr) != ns_t_soa || ns_rr_class(rr) != ns_c_in)
			continue;
		/* MNAME, RNAME, then five 32-bit numbers; MINIMUM is the last */
		off = 0;
		for (n = 0; n < 2; n++) {
			int len = dn_skipname(ns_rr_rdata(rr) + off,
					      ns_rr_rdata(rr) + ns_rr_rdlen(rr));

			if (len < 0)
				return bad(p, "malformed answer: SOA record");
			off += len;
		}
		if (off + 20 != ns_rr_rdlen(rr))
			return bad(p, "malformed answer: SOA record");
		ttl_min(&p->a->ttl, rr_ttl(&rr));
		ttl_min(&p->a->ttl, ns_get32(ns_rr_rdata(rr) + off + 16) & 0x7fffffffU);
		break;
	}
	return 0;
}

static int parse_records(struct parse *p, const char *qname, int qtype)
{
	char chain[CHAIN_MAX][XLB_DNS_NAME_LEN];
	struct xlb_dns_answer *a = p->a;
	unsigned int nchain = 1;
	int i, count, type, err, used = 0;
	ns_sect sect;
	ns_rr rr;

	if (name_norm(chain[0], qname))
		return bad(p, "name too long");
	err = follow_cnames(p, chain, &nchain);
	if (err)
		return err;
	for (sect = ns_s_an; sect <= ns_s_ar; sect++) {
		if (sect == ns_s_ns)
			continue;
		count = ns_msg_count(p->h, sect);
		for (i = 0; i < count; i++) {
			if (ns_parserr(&p->h, sect, i, &rr))
				return bad(p, "malformed answer: record %d of section %d", i, sect);
			if (ns_rr_class(rr) != ns_c_in)
				continue; /* EDNS OPT and anything else */
			type = ns_rr_type(rr);
			if (type == ns_t_srv && qtype == ns_t_srv && sect == ns_s_an &&
			    in_chain(chain, nchain, rr.name)) {
				err = add_srv(p, &rr);
				ttl_min(&a->ttl, rr_ttl(&rr));
				used = 1;
			} else if (type != ns_t_a && type != ns_t_aaaa) {
				continue;
			} else if (sect == ns_s_an && in_chain(chain, nchain, rr.name)) {
				if (type != qtype)
					continue;
				err = add_addr(p, &rr, chain[0]);
				ttl_min(&a->ttl, rr_ttl(&rr));
				used = 1;
			} else if (qtype == ns_t_srv) {
				/* the targets' addresses; their TTLs count when used */
				err = add_addr(p, &rr, rr.name);
			}
			if (err)
				return err;
		}
	}
	return used ? 0 : negative_ttl(p);
}

int xlb_dns_parse(const unsigned char *msg, size_t len, const char *qname, int qtype,
		  struct xlb_dns_answer *a, char *why, size_t wlen)
{
	struct parse p = {.a = a, .why = why, .wlen = wlen};
	ns_rr rr;
	int op;

	memset(a, 0, sizeof(*a));
	a->ttl = XLB_DNS_TTL_NONE;
	if (len > 65535 || ns_initparse(msg, (int)len, &p.h))
		return bad(&p, "malformed answer (%zu bytes)", len);
	if (!ns_msg_getflag(p.h, ns_f_qr))
		return bad(&p, "not an answer (QR bit clear)");
	op = ns_msg_getflag(p.h, ns_f_opcode);
	if (op != ns_o_query)
		return bad(&p, "answer with opcode %d, not QUERY", op);
	if (ns_msg_getflag(p.h, ns_f_tc))
		return bad(&p, "truncated answer (TC bit set)");
	a->rcode = ns_msg_getflag(p.h, ns_f_rcode);
	if (a->rcode != ns_r_noerror && a->rcode != ns_r_nxdomain)
		return bad(&p, "server answered %s", rcode_name(a->rcode));
	if (ns_msg_count(p.h, ns_s_qd) != 1)
		return bad(&p, "answer with %d questions, not 1", ns_msg_count(p.h, ns_s_qd));
	if (ns_parserr(&p.h, ns_s_qd, 0, &rr))
		return bad(&p, "malformed answer: question");
	if (!name_eq(rr.name, qname) || (int)ns_rr_type(rr) != qtype || ns_rr_class(rr) != ns_c_in)
		return bad(&p, "answer to another question");
	if (a->rcode == ns_r_nxdomain)
		return negative_ttl(&p);
	return parse_records(&p, qname, qtype);
}

void xlb_dns_answer_free(struct xlb_dns_answer *a)
{
	free(a->srv);
	free(a->addr);
	memset(a, 0, sizeof(*a));
}

/* --- answers to nodes (pure) -------------------------------------------------------- */

int xlb_dns_srv_nodes(const struct xlb_dns_srv *srv, size_t nsrv, const struct xlb_dns_addr *pool,
		      size_t npool, __u16 port, struct xlb_disc_nodes *out, __u32 *ttl)
{
	struct xlb_node_conf nd;
	size_t i, j, k;
	__u32 w;

	for (i = 0; i < nsrv; i++) {
		if (!srv[i].target[0] || (!port && !srv[i].port))
			continue;
		for (k = 0, j = 0; j < npool; j++)
			k += !strcasecmp(pool[j].name, srv[i].target);
		if (!k)
			continue;
		/* the record's share, split among the target's addresses */
		w = (srv[i].weight ? srv[i].weight : 1) / k;
		ttl_min(ttl, srv[i].ttl);
		for (j = 0; j < npool; j++) {
			if (strcasecmp(pool[j].name, srv[i].target))
				continue;
			memset(&nd, 0, sizeof(nd));
			nd.addr = pool[j].addr;
			nd.port = port ? port : srv[i].port;
			nd.weight = w ? w : 1;
			nd.priority = -(int)srv[i].priority;
			ttl_min(ttl, pool[j].ttl);
			if (xlb_disc_nodes_add(out, &nd))
				return -ENOMEM;
		}
	}
	return 0;
}

int xlb_dns_addr_nodes(const struct xlb_dns_addr *pool, size_t npool, const char *name, __u16 port,
		       __u32 weight, struct xlb_disc_nodes *out, __u32 *ttl)
{
	struct xlb_node_conf nd;
	size_t j;

	for (j = 0; j < npool; j++) {
		if (strcasecmp(pool[j].name, name))
			continue;
		memset(&nd, 0, sizeof(nd));
		nd.addr = pool[j].addr;
		nd.port = port;
		nd.weight = weight;
		ttl_min(ttl, pool[j].ttl);
		if (xlb_disc_nodes_add(out, &nd))
			return -ENOMEM;
	}
	return 0;
}

int xlb_dns_service_parse(const char *service, char *host, size_t hlen, __u16 *port, char *why,
			  size_t wlen)
{
	const char *colon = strchr(service, ':'), *s;
	size_t n = colon ? (size_t)(colon - service) : strlen(service), label = 0;
	unsigned char tmp[16];
	char *end;
	unsigned long v;

	*port = 0;
	if (colon && strchr(colon + 1, ':')) {
		snprintf(why, wlen, "'%s' is not HOST[:PORT] (an address is not a DNS name)",
			 service);
		return -EINVAL;
	}
	if (colon) {
		errno = 0;
		v = strtoul(colon + 1, &end, 10);
		if (!colon[1] || *end || errno || !v || v > 65535 || colon[1] == '+' ||
		    colon[1] == '-') {
			snprintf(why, wlen, "'%s': the port must be 1..65535", service);
			return -EINVAL;
		}
		*port = (__u16)v;
	}
	if (n && service[n - 1] == '.')
		n--; /* fully qualified */
	if (!n || n > 253 || n >= hlen) {
		snprintf(why, wlen, "'%s' is not a DNS name (1..253 characters)", service);
		return -EINVAL;
	}
	for (s = service; s < service + n; s++) {
		if (*s == '.') {
			if (!label || label > 63)
				break;
			label = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			   (*s >= '0' && *s <= '9') || *s == '-' || *s == '_') {
			label++;
		} else {
			break;
		}
	}
	if (s < service + n || !label || label > 63) {
		snprintf(why, wlen,
			 "'%s' is not a DNS name (labels of 1..63 letters, digits, "
			 "'-' or '_', joined by dots)",
			 service);
		return -EINVAL;
	}
	memcpy(host, service, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, tmp) == 1) {
		snprintf(why, wlen, "'%s' is an address, not a name: list it in nodes instead",
			 service);
		return -EINVAL;
	}
	return 0;
}

/* --- the registry on the loop --------------------------------------------------------- */

/* A socket of the channel and its event. */
struct dns_sock {
	struct dns_watch *dw;
	ares_socket_t fd;
	struct event *ev;
	short what;
	struct dns_sock *next;
};

enum dns_role {
	Q_SRV,	  /* SRV of the name */
	Q_HOST,	  /* A/AAAA of the name (no SRV) */
	Q_TARGET, /* A/AAAA of an SRV target */
};

struct dns_query {
	struct dns_watch *dw;
	enum dns_role role;
	int qtype;
	char name[XLB_DNS_NAME_LEN];
};

struct dns_watch {
	struct xlb_disc_watch *w;
	struct event_base *base;
	ares_channel ch;
	struct event *ares_timer; /* c-ares' next timeout */
	struct event *next_timer; /* the next round */
	struct dns_sock *socks;
	char host[XLB_DNS_NAME_LEN];
	__u16 port;
	double min_ttl, max_ttl;
	__u32 weight;
	char who[96]; /* "dns 127.0.0.1:53" for error texts */

	/* the round in flight */
	int busy;
	unsigned int pending;	   /* queries sent, not answered */
	char err[200];		   /* the round's first error */
	int srv_mode;		   /* the name has SRV records */
	int nx_srv, nx_a, nx_aaaa; /* NXDOMAIN answers */
	struct xlb_dns_srv *srv;
	size_t nsrv;
	struct xlb_dns_addr *pool; /* addresses learnt this round */
	size_t npool, pool_cap;
	__u32 ttl;
};

static void arm_ares_timer(struct dns_watch *dw)
{
	struct timeval tv, *tp = ares_timeout(dw->ch, NULL, &tv);

	if (tp)
		evtimer_add(dw->ares_timer, tp);
	else
		evtimer_del(dw->ares_timer);
}

static void round_fail(struct dns_watch *dw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void round_fail(struct dns_watch *dw, const char *fmt, ...)
{
	va_list ap;

	if (dw->err[0])
		return; /* the first error says what went wrong */
	va_start(ap, fmt);
	vsnprintf(dw->err, sizeof(dw->err), fmt, ap);
	va_end(ap);
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

/*
 * What a c-ares failure without an answer means here. c-ares moves to the
 * next server on SERVFAIL, REFUSED and NOTIMP and reports the end of the
 * list as ECONNREFUSED ("Could not contact DNS servers"), which would
 * blame the network for a server that did answer.
 */
static const char *ares_error(int status)
{
	switch (status) {
	case ARES_ECONNREFUSED:
		return "no usable answer from any server (connection refused, or SERVFAIL, "
		       "REFUSED or NOTIMP)";
	case ARES_ETIMEOUT:
		return "no answer from any server within the timeout";
	default:
		return ares_strerror(status);
	}
}

static void send_query(struct dns_watch *dw, enum dns_role role, const char *name, int qtype)
{
	struct dns_query *q = calloc(1, sizeof(*q));

	if (!q) {
		round_fail(dw, "out of memory");
		return;
	}
	q->dw = dw;
	q->role = role;
	q->qtype = qtype;
	snprintf(q->name, sizeof(q->name), "%s", name);
	dw->pending++;
	xlb_disc_count_request(dw->w);
	/* may answer at once (out of memory, no server): on_answer copes */
	ares_query(dw->ch, q->name, ns_c_in, qtype, on_answer, q);
}

static int pool_has(const struct dns_watch *dw, const char *name)
{
	size_t i;

	for (i = 0; i < dw->npool; i++)
		if (!strcasecmp(dw->pool[i].name, name))
			return 1;
	return 0;
}

static int pool_add(struct dns_watch *dw, const struct xlb_dns_answer *a, const char *only)
{
	size_t i;

	for (i = 0; i < a->naddr; i++) {
		if (only && strcasecmp(a->addr[i].name, only))
			continue;
		if (xlb_vec_room((void **)&dw->pool, sizeof(*dw->pool), NULL, 0, dw->npool,
				 &dw->pool_cap, 16))
			return -ENOMEM;
		dw->pool[dw->npool++] = a->addr[i];
	}
	return 0;
}

static void got_srv(struct dns_watch *dw, struct xlb_dns_answer *a)
{
	size_t i, j;

	if (a->rcode != ns_r_noerror || !a->nsrv) {
		dw->nx_srv = a->rcode == ns_r_nxdomain;
		send_query(dw, Q_HOST, dw->host, ns_t_a);
		send_query(dw, Q_HOST, dw->host, ns_t_aaaa);
		return;
	}
	dw->srv_mode = 1;
	dw->srv = a->srv;
	dw->nsrv = a->nsrv;
	a->srv = NULL;
	a->nsrv = 0;
	if (pool_add(dw, a, NULL)) {
		round_fail(dw, "out of memory");
		return;
	}
	/* A/AAAA queries for the targets the additional section left out, once each */
	for (i = 0; i < dw->nsrv; i++) {
		const char *t = dw->srv[i].target;

		if (!t[0] || pool_has(dw, t))
			continue;
		for (j = 0; j < i; j++)
			if (!strcasecmp(dw->srv[j].target, t))
				break;
		if (j < i)
			continue;
		send_query(dw, Q_TARGET, t, ns_t_a);
		send_query(dw, Q_TARGET, t, ns_t_aaaa);
	}
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct dns_watch *dw = q->dw;
	struct xlb_dns_answer a;
	char why[160];

	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		free(q); /* the watch is stopping */
		return;
	}
	dw->pending--;
	if (!abuf || alen <= 0) {
		round_fail(dw, "%s: %s %s: %s", dw->who, type_name(q->qtype), q->name,
			   ares_error(status));
		free(q);
		return;
	}
	if (xlb_dns_parse(abuf, alen, q->name, q->qtype, &a, why, sizeof(why))) {
		round_fail(dw, "%s: %s %s: %s", dw->who, type_name(q->qtype), q->name, why);
		goto out;
	}
	if (dw->err[0])
		goto out; /* the round has failed already: send nothing more */
	ttl_min(&dw->ttl, a.ttl);
	switch (q->role) {
	case Q_SRV:
		got_srv(dw, &a);
		break;
	case Q_HOST:
		if (a.rcode == ns_r_nxdomain)
			*(q->qtype == ns_t_a ? &dw->nx_a : &dw->nx_aaaa) = 1;
		/* fall through */
	case Q_TARGET:
		if (pool_add(dw, &a, q->name))
			round_fail(dw, "out of memory");
		break;
	}
out:
	xlb_dns_answer_free(&a);
	free(q);
}

static void arm_next(struct dns_watch *dw, double secs)
{
	struct timeval tv;

	if (secs < DELAY_FLOOR)
		secs = DELAY_FLOOR;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(dw->next_timer, &tv);
}

static void round_reset(struct dns_watch *dw)
{
	free(dw->srv);
	free(dw->pool);
	dw->srv = NULL;
	dw->pool = NULL;
	dw->nsrv = dw->npool = dw->pool_cap = 0;
	dw->err[0] = '\0';
	dw->srv_mode = dw->nx_srv = dw->nx_a = dw->nx_aaaa = 0;
	dw->ttl = XLB_DNS_TTL_NONE;
}

/*
 * The round is over: report it. Last thing the caller does: the update
 * callback may free the watch (and dw with it).
 */
static void round_finish(struct dns_watch *dw)
{
	struct xlb_disc_watch *w = dw->w;
	struct xlb_disc_nodes nodes = {0};
	unsigned int flags = 0, i;
	double delay;
	int err = 0;

	dw->busy = 0;
	if (dw->err[0])
		goto fail;
	if (dw->srv_mode) {
		err = xlb_dns_srv_nodes(dw->srv, dw->nsrv, dw->pool, dw->npool, dw->port, &nodes,
					&dw->ttl);
		if (!err && !nodes.n) {
			for (i = 0; i < dw->nsrv && !dw->srv[i].target[0]; i++)
				;
			if (i < dw->nsrv) {
				round_fail(dw, "%s: SRV %s: no address for any target%s", dw->who,
					   dw->host, dw->port ? "" : " with a port");
				goto fail;
			}
			flags = XLB_DISC_GONE; /* target "." only */
		}
	} else if (dw->nx_srv && dw->nx_a && dw->nx_aaaa) {
		flags = XLB_DISC_GONE;
	} else if (!dw->port) {
		round_fail(dw,
			   "%s: %s has no SRV records, and service_name gives no port for "
			   "its A/AAAA records",
			   dw->who, dw->host);
		goto fail;
	} else {
		err = xlb_dns_addr_nodes(dw->pool, dw->npool, dw->host, dw->port, dw->weight,
					 &nodes, &dw->ttl);
		if (!err && !nodes.n) {
			round_fail(dw, "%s: %s has no SRV, A or AAAA records", dw->who, dw->host);
			goto fail;
		}
	}
	if (err) {
		round_fail(dw, "out of memory");
		goto fail;
	}
	delay = dw->ttl == XLB_DNS_TTL_NONE ? dw->min_ttl : (double)dw->ttl;
	if (delay < dw->min_ttl)
		delay = dw->min_ttl;
	if (delay > dw->max_ttl)
		delay = dw->max_ttl;
	round_reset(dw);
	arm_next(dw, delay);
	pr_debug("discovery: dns '%s': %zu node%s, next in %.1f s\n", dw->host, nodes.n,
		 nodes.n == 1 ? "" : "s", delay);
	xlb_disc_result(w, nodes.v, nodes.n, flags); /* may free dw */
	xlb_disc_nodes_free(&nodes);
	return;
fail:
	xlb_disc_nodes_free(&nodes);
	xlb_disc_error(w, "%s", dw->err);
	round_reset(dw);
	arm_next(dw, xlb_disc_backoff(w));
}

/* After c-ares ran: keep its timer right and report a round that ended. */
static void after_ares(struct dns_watch *dw)
{
	arm_ares_timer(dw);
	if (dw->busy && !dw->pending)
		round_finish(dw); /* last: may free dw */
}

static void on_next(evutil_socket_t fd, short what, void *arg)
{
	struct dns_watch *dw = arg;

	round_reset(dw);
	dw->busy = 1;
	send_query(dw, Q_SRV, dw->host, ns_t_srv);
	after_ares(dw);
}

static void on_ares_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_watch *dw = arg;

	ares_process_fd(dw->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	after_ares(dw);
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dns_sock *s = arg;
	struct dns_watch *dw = s->dw; /* s may be freed by ares_process_fd */

	ares_process_fd(dw->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	after_ares(dw);
}

/* c-ares opens, watches and closes its sockets through this. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_watch *dw = data;
	struct dns_sock **pp, *s;
	short what = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);

	for (pp = &dw->socks; *pp && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	s = *pp;
	if (!what) {
		if (s) {
			*pp = s->next;
			event_free(s->ev);
			free(s);
		}
		return;
	}
	if (s && s->what == what)
		return;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			goto fail;
		s->dw = dw;
		s->fd = fd;
		s->next = dw->socks;
		dw->socks = s;
	} else {
		event_free(s->ev);
	}
	s->what = what;
	s->ev = event_new(dw->base, fd, what | EV_PERSIST, on_sock, s);
	if (s->ev && !event_add(s->ev, NULL))
		return;
fail:
	/* the query times out and the round fails: nothing hangs */
	pr_warn("discovery: dns '%s': cannot watch a socket of the resolver\n", dw->host);
}

static void dns_free(struct dns_watch *dw)
{
	struct dns_sock *s;

	if (dw->ch)
		ares_destroy(dw->ch); /* cancels queries, closes sockets (callbacks) */
	while ((s = dw->socks)) {
		dw->socks = s->next;
		event_free(s->ev);
		free(s);
	}
	if (dw->ares_timer)
		event_free(dw->ares_timer);
	if (dw->next_timer)
		event_free(dw->next_timer);
	round_reset(dw);
	free(dw);
	ares_library_cleanup();
}

static int dns_check(const struct xlb_discovery_conf *conf, const char *service_name,
		     const char *args, char *why, size_t len)
{
	char host[XLB_DNS_NAME_LEN];
	json_error_t jerr;
	json_t *j;
	__u16 port;
	int ok;

	if (xlb_dns_service_parse(service_name, host, sizeof(host), &port, why, len))
		return -EINVAL;
	if (!args)
		return 0;
	j = json_loads(args, JSON_DECODE_ANY, &jerr);
	ok = j && (json_is_null(j) || (json_is_object(j) && !json_object_size(j)));
	json_decref(j);
	if (!ok) {
		snprintf(why, len, "dns takes no discovery_args");
		return -EINVAL;
	}
	return 0;
}

static int dns_start(struct xlb_disc_watch *w)
{
	const struct xlb_disc_dns_conf *c = &xlb_disc_conf(xlb_disc_watch_disc(w))->dns;
	struct ares_options o = {0};
	char why[160], csv[XLB_DISC_HOSTS_MAX * 66];
	struct dns_watch *dw;
	size_t off = 0;
	unsigned int i;
	int err;

	if (!c->enabled || !c->nservers)
		return -EINVAL;
	err = ares_library_init(ARES_LIB_INIT_ALL);
	if (err != ARES_SUCCESS)
		return -ENOMEM;
	dw = calloc(1, sizeof(*dw));
	if (!dw) {
		ares_library_cleanup();
		return -ENOMEM;
	}
	dw->w = w;
	dw->base = xlb_disc_base(xlb_disc_watch_disc(w));
	if (xlb_dns_service_parse(xlb_disc_watch_service(w), dw->host, sizeof(dw->host), &dw->port,
				  why, sizeof(why))) {
		err = -EINVAL;
		goto fail;
	}
	dw->min_ttl = c->min_ttl;
	dw->max_ttl = c->max_ttl > c->min_ttl ? c->max_ttl : c->min_ttl;
	dw->weight = c->weight ? c->weight : 1;
	snprintf(dw->who, sizeof(dw->who), "dns %s%s", c->servers[0],
		 c->nservers > 1 ? " (and others)" : "");
	for (i = 0; i < c->nservers; i++)
		off += snprintf(csv + off, sizeof(csv) - off, "%s%s", i ? "," : "", c->servers[i]);
	round_reset(dw);

	/*
	 * Only the configured servers, tried in order: no search domains, no
	 * hosts file, nothing from the system's resolv.conf. The sockets close
	 * when no query is in flight (no ARES_FLAG_STAYOPEN).
	 */
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.timeout = c->timeout > 0 ? (int)(c->timeout * 1000) : 2000;
	o.tries = TRIES;
	o.ndots = 1;
	o.ndomains = 0;
	o.domains = NULL;
	o.lookups = (char *)"b";
	o.sock_state_cb = on_sock_state;
	o.sock_state_cb_data = dw;
	o.resolvconf_path = (char *)"/dev/null";
	err = ares_init_options(&dw->ch, &o,
				ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
					ARES_OPT_NDOTS | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS |
					ARES_OPT_SOCK_STATE_CB | ARES_OPT_RESOLVCONF |
					ARES_OPT_NOROTATE);
	if (err != ARES_SUCCESS) {
		dw->ch = NULL;
		pr_warn("discovery: dns: cannot start a resolver: %s\n", ares_strerror(err));
		err = -ENOMEM;
		goto fail;
	}
	err = ares_set_servers_ports_csv(dw->ch, csv);
	if (err != ARES_SUCCESS) {
		pr_warn("discovery: dns: servers '%s': %s\n", csv, ares_strerror(err));
		err = -EINVAL;
		goto fail;
	}
	dw->ares_timer = evtimer_new(dw->base, on_ares_timer, dw);
	dw->next_timer = evtimer_new(dw->base, on_next, dw);
	if (!dw->ares_timer || !dw->next_timer) {
		err = -ENOMEM;
		goto fail;
	}
	xlb_disc_watch_set_priv(w, dw);
	/* the first round on the loop, not inside the caller */
	evtimer_add(dw->next_timer, &(struct timeval){0});
	return 0;
fail:
	dns_free(dw);
	return err;
}

static void dns_stop(struct xlb_disc_watch *w)
{
	struct dns_watch *dw = xlb_disc_watch_priv(w);

	if (dw)
		dns_free(dw);
	xlb_disc_watch_set_priv(w, NULL);
}

const struct xlb_disc_ops xlb_disc_dns = {
	.name = "dns",
	.check = dns_check,
	.start = dns_start,
	.stop = dns_stop,
};
