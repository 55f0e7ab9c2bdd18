// SPDX-License-Identifier: GPL-2.0-only
/* Parsing and formatting of addresses, VIPs, endpoints and prefixes. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int xlb_u32_parse(const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	/* strtoull() would skip white space and take a sign: digits only. */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

int xlb_addr_is_loopback(const struct xlb_addr_key *a)
{
	if (a->family == XLB_AF_INET)
		return (ntohl(a->addr[0]) >> 24) == 127;
	return !a->addr[0] && !a->addr[1] && !a->addr[2] && a->addr[3] == htonl(1);
}

int xlb_addr_parse(const char *s, struct xlb_addr_key *a, char *err, size_t errlen)
{
	char buf[XLB_ADDRSTRLEN];
	size_t n = strlen(s);

	memset(a, 0, sizeof(*a));
	if (n >= sizeof(buf))
		return fail(err, errlen, "'%s' is not an IP address", s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, a->addr) != 1)
			return fail(err, errlen, "'%s' is not an IPv6 address", s);
		a->family = XLB_AF_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, s, a->addr) == 1) {
		a->family = XLB_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->addr) == 1) {
		a->family = XLB_AF_INET6;
		return 0;
	}
	return fail(err, errlen, "'%s' is not an IP address", s);
}

/* Split "ADDR:PORT" / "[ADDR]:PORT" at the port colon; port may be absent. */
static int split_port(const char *s, char *host, size_t hostlen, const char **port)
{
	const char *colon, *rb;

	*port = NULL;
	if (s[0] == '[') {
		rb = strchr(s, ']');
		if (!rb || (rb[1] && rb[1] != ':'))
			return -EINVAL;
		colon = rb[1] ? rb + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		/* More than one colon without brackets: a bare IPv6 address. */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
	}
	if ((colon ? (size_t)(colon - s) : strlen(s)) >= hostlen)
		return -EINVAL;
	snprintf(host, hostlen, "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
	if (colon)
		*port = colon + 1;
	return 0;
}

int xlb_endpoint_parse(const char *s, struct xlb_addr_key *a, __u16 *port, char *err, size_t errlen)
{
	char host[XLB_ADDRSTRLEN];
	const char *p;
	__u32 v = 0;

	if (split_port(s, host, sizeof(host), &p))
		return fail(err, errlen, "'%s' is not ADDR or ADDR:PORT", s);
	if (xlb_addr_parse(host, a, err, errlen))
		return -EINVAL;
	if (p && xlb_u32_parse(p, 0, 65535, &v))
		return fail(err, errlen, "'%s': port '%s' is not a number 0-65535", s, p);
	*port = (__u16)v;
	return 0;
}

int xlb_vip_parse(const char *s, struct xlb_vip_key *k, char *err, size_t errlen)
{
	char buf[XLB_VIPSTRLEN];
	struct xlb_addr_key a;
	const char *slash;
	__u16 port;

	memset(k, 0, sizeof(*k));
	slash = strrchr(s, '/');
	if (!slash || strlen(s) >= sizeof(buf))
		return fail(err, errlen,
			    "VIP '%s' is not ADDR:PORT/PROTO ([ADDR]:PORT/PROTO for IPv6)", s);
	if (!strcmp(slash + 1, "tcp"))
		k->proto = IPPROTO_TCP;
	else if (!strcmp(slash + 1, "udp"))
		k->proto = IPPROTO_UDP;
	else
		return fail(err, errlen, "VIP '%s': protocol '%s' is not tcp or udp", s, slash + 1);
	snprintf(buf, sizeof(buf), "%.*s", (int)(slash - s), s);
	if (!strchr(buf, ']') && strchr(buf, ':') != strrchr(buf, ':'))
		return fail(err, errlen, "VIP '%s': write IPv6 VIPs as [ADDR]:PORT/PROTO", s);
	if (xlb_endpoint_parse(buf, &a, &port, err, errlen))
		return -EINVAL;
	if (!strchr(buf[0] == '[' ? strchr(buf, ']') : buf, ':'))
		return fail(err, errlen, "VIP '%s' has no port (use :0 for all ports)", s);
	memcpy(k->addr, a.addr, sizeof(k->addr));
	k->family = a.family;
	k->port = htons(port);
	return 0;
}

int xlb_cidr_parse(const char *s, struct xlb_addr_key *a, unsigned int *plen, char *err,
		   size_t errlen)
{
	char buf[XLB_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	__u32 v, max;

	if (n >= sizeof(buf))
		return fail(err, errlen, "'%s' is not a prefix ADDR/LEN", s);
	snprintf(buf, sizeof(buf), "%.*s", (int)n, s);
	if (xlb_addr_parse(buf, a, err, errlen))
		return -EINVAL;
	max = a->family == XLB_AF_INET ? 32 : 128;
	if (!slash) {
		*plen = max;
		return 0;
	}
	if (xlb_u32_parse(slash + 1, 0, max, &v))
		return fail(err, errlen, "'%s': prefix length must be 0-%u", s, max);
	*plen = v;
	return 0;
}

char *xlb_addr_str(const __be32 addr[4], __u8 family, char *buf, size_t len)
{
	if (!inet_ntop(family == XLB_AF_INET ? AF_INET : AF_INET6, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *xlb_proto_str(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

char *xlb_vip_str(const struct xlb_vip_key *k, char *buf, size_t len)
{
	char a[XLB_ADDRSTRLEN];

	char c[XLB_ADDRSTRLEN];
	int n;

	xlb_addr_str(k->addr, k->family, a, sizeof(a));
	n = snprintf(buf, len, k->family == XLB_AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", a,
		     ntohs(k->port), xlb_proto_str(k->proto));
	/* A VIP for some clients (a stream route's remote_addr) says which. */
	if ((k->client_family == XLB_AF_INET || k->client_family == XLB_AF_INET6) && n >= 0 &&
	    (size_t)n < len) {
		xlb_addr_str(k->client, k->client_family, c, sizeof(c));
		snprintf(buf + n, len - (size_t)n, " clients %s/%u", c, k->client_plen);
	}
	return buf;
}
