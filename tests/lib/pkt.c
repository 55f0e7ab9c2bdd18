/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test packet builder: see pkt.h. Writes every header byte by byte in
 * network order, so the result does not depend on host structs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "pkt.h"

#define ETH_HLEN  14
#define VLAN_HLEN 4
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN  20
#define UDP_HLEN  8
#define ICMP_HLEN 8
#define EXT_HLEN  8 /* every extension header we build */

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define IP_DF	       0x4000

const __u8 pkt_mac_client[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x10};
const __u8 pkt_mac_lb[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

void pkt_put_be16(__u8 *b, __u16 v)
{
	b[0] = v >> 8;
	b[1] = v;
}

void pkt_put_be32(__u8 *b, __u32 v)
{
	pkt_put_be16(b, v >> 16);
	pkt_put_be16(b + 2, v);
}

int pkt_addr(const char *text, __be32 addr[4])
{
	memset(addr, 0, 16);
	if (!text)
		return -EINVAL;
	if (strchr(text, ':'))
		return inet_pton(AF_INET6, text, addr) == 1 ? 6 : -EINVAL;
	return inet_pton(AF_INET, text, addr) == 1 ? 4 : -EINVAL;
}

__u32 pkt_csum_add(__u32 sum, const void *buf, size_t len)
{
	const __u8 *b = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

__u16 pkt_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

__u32 pkt_pseudo_sum(int family, const void *src, const void *dst, __u8 proto, __u32 len)
{
	size_t alen = family == 4 ? 4 : 16;
	__u32 sum = 0;

	sum = pkt_csum_add(sum, src, alen);
	sum = pkt_csum_add(sum, dst, alen);
	return sum + proto + (len >> 16) + (len & 0xffff);
}

int pkt_csum_ok(const void *buf, size_t len, __u32 pseudo)
{
	return pkt_csum_fold(pkt_csum_add(pseudo, buf, len)) == 0;
}

static void fill_payload(__u8 *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (__u8)(i * 7 + 0x31);
}

/* The L4 part at buf; returns its length. Checksum needs the pseudo sum. */
static int build_l4(__u8 *buf, size_t size, const struct pkt_spec *s, int family,
		    __u32 pseudo_no_len)
{
	__u8 quote[PKT_MAX];
	size_t len, hlen, body;
	int qlen;

	switch (s->proto) {
	case IPPROTO_TCP:
		hlen = TCP_HLEN;
		break;
	case IPPROTO_UDP:
		hlen = UDP_HLEN;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		hlen = ICMP_HLEN;
		break;
	default:
		return -EINVAL;
	}
	body = s->payload_len;
	if (s->quote) {
		qlen = pkt_build_l3(quote, sizeof(quote), s->quote);
		if (qlen < 0)
			return qlen;
		if (s->quote_len && s->quote_len < qlen)
			qlen = s->quote_len;
		body = qlen;
	}
	len = hlen + body;
	if (len > size)
		return -ENOSPC;
	memset(buf, 0, hlen);
	if (s->quote)
		memcpy(buf + hlen, quote, body);
	else
		fill_payload(buf + hlen, body);

	switch (s->proto) {
	case IPPROTO_TCP:
		pkt_put_be16(buf, s->sport);
		pkt_put_be16(buf + 2, s->dport);
		pkt_put_be32(buf + 4, 0x01020304); /* seq */
		pkt_put_be32(buf + 8, s->tcp_flags & 0x10 ? 0x0a0b0c0d : 0);
		buf[12] = (TCP_HLEN / 4) << 4;
		buf[13] = s->tcp_flags;
		pkt_put_be16(buf + 14, 64240); /* window */
		pkt_put_be16(buf + 16, pkt_csum_fold(pkt_csum_add(pseudo_no_len + len, buf, len)));
		break;
	case IPPROTO_UDP:
		pkt_put_be16(buf, s->sport);
		pkt_put_be16(buf + 2, s->dport);
		pkt_put_be16(buf + 4, len);
		pkt_put_be16(buf + 6,
			     pkt_csum_fold(pkt_csum_add(pseudo_no_len + len, buf, len)) ?: 0xffff);
		break;
	default:
		buf[0] = s->icmp_type;
		buf[1] = s->icmp_code;
		pkt_put_be32(buf + 4, s->icmp_info);
		/* ICMPv4 has no pseudo-header; ICMPv6 has one. */
		pkt_put_be16(buf + 2, pkt_csum_fold(pkt_csum_add(
					      family == 6 ? pseudo_no_len + len : 0, buf, len)));
		break;
	}
	return len;
}

static int build_ipv4(__u8 *buf, size_t size, const struct pkt_spec *s)
{
	size_t hlen = IPV4_HLEN + s->ip_opts;
	__be32 src[4], dst[4];
	__u32 pseudo;
	int l4;

	if (s->ip_opts % 4 || s->ip_opts > 40 || hlen > size || pkt_addr(s->src, src) != 4 ||
	    pkt_addr(s->dst, dst) != 4)
		return -EINVAL;
	pseudo = pkt_pseudo_sum(4, src, dst, s->proto, 0);
	l4 = build_l4(buf + hlen, size - hlen, s, 4, pseudo);
	if (l4 < 0)
		return l4;

	buf[0] = 0x40 | hlen / 4;
	buf[1] = s->tos;
	pkt_put_be16(buf + 2, hlen + l4);
	pkt_put_be16(buf + 4, 0x1234); /* id */
	pkt_put_be16(buf + 6, (s->no_df ? 0 : IP_DF) | s->frag);
	buf[8] = s->ttl ?: 63;
	buf[9] = s->proto;
	pkt_put_be16(buf + 10, 0);
	memcpy(buf + 12, src, 4);
	memcpy(buf + 16, dst, 4);
	if (s->ip_opts) {
		/* Router alert (RFC 2113), then no-ops. */
		memset(buf + IPV4_HLEN, 1, s->ip_opts);
		buf[20] = 0x94;
		buf[21] = 4;
		buf[22] = 0;
		buf[23] = 0;
	}
	pkt_put_be16(buf + 10, pkt_csum_fold(pkt_csum_add(0, buf, hlen)));
	return hlen + l4;
}

static const __u8 ext_proto[] = {
	[PKT_EXT_HOPOPTS] = IPPROTO_HOPOPTS,
	[PKT_EXT_ROUTING] = IPPROTO_ROUTING,
	[PKT_EXT_DSTOPTS] = IPPROTO_DSTOPTS,
	[PKT_EXT_FRAGMENT] = IPPROTO_FRAGMENT,
};

/* One 8-byte extension header: PadN for options, fragment 0 with M set. */
static void build_ext(__u8 *b, __u8 type)
{
	memset(b, 0, EXT_HLEN);
	if (type == PKT_EXT_FRAGMENT) {
		pkt_put_be16(b + 2, 0x0001);	 /* offset 0, more fragments */
		pkt_put_be32(b + 4, 0x12345678); /* identification */
	} else if (type == PKT_EXT_ROUTING) {
		b[2] = 4; /* segment routing, no segments left */
	} else {
		b[2] = 1; /* PadN, 4 bytes */
		b[3] = 4;
	}
}

static int build_ipv6(__u8 *buf, size_t size, const struct pkt_spec *s)
{
	__be32 src[4], dst[4];
	size_t next_off, off = IPV6_HLEN;
	int i, l4;

	if (pkt_addr(s->src, src) != 6 || pkt_addr(s->dst, dst) != 6 ||
	    size < IPV6_HLEN + PKT_EXT_MAX * EXT_HLEN)
		return -EINVAL;
	next_off = 6;
	for (i = 0; i < PKT_EXT_MAX && s->ext[i]; i++) {
		if (s->ext[i] > PKT_EXT_FRAGMENT)
			return -EINVAL;
		buf[next_off] = ext_proto[s->ext[i]];
		build_ext(buf + off, s->ext[i]);
		next_off = off;
		off += EXT_HLEN;
	}
	buf[next_off] = s->proto;
	l4 = build_l4(buf + off, size - off, s, 6, pkt_pseudo_sum(6, src, dst, s->proto, 0));
	if (l4 < 0)
		return l4;

	pkt_put_be32(buf, 6U << 28 | (__u32)s->tos << 20 | (s->flow_label & 0xfffff));
	pkt_put_be16(buf + 4, off - IPV6_HLEN + l4);
	buf[7] = s->ttl ?: 63;
	memcpy(buf + 8, src, 16);
	memcpy(buf + 24, dst, 16);
	return off + l4;
}

int pkt_build_l3(__u8 *buf, size_t size, const struct pkt_spec *s)
{
	__be32 dst[4];

	switch (pkt_addr(s->dst, dst)) {
	case 4:
		return build_ipv4(buf, size, s);
	case 6:
		return build_ipv6(buf, size, s);
	default:
		return -EINVAL;
	}
}

/* Outer header of a tunnel carrying len bytes of family inner. */
static int build_tunnel(__u8 *buf, const struct pkt_spec *s, int inner, size_t len)
{
	__be32 src[4], dst[4];
	int family = pkt_addr(s->tun_dst, dst);
	__u8 proto = inner == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;

	if (family < 0 || pkt_addr(s->tun_src, src) != family)
		return -EINVAL;
	if (family == 4) {
		memset(buf, 0, IPV4_HLEN);
		buf[0] = 0x45;
		pkt_put_be16(buf + 2, IPV4_HLEN + len);
		pkt_put_be16(buf + 6, IP_DF);
		buf[8] = 64;
		buf[9] = proto;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
		pkt_put_be16(buf + 10, pkt_csum_fold(pkt_csum_add(0, buf, IPV4_HLEN)));
		return IPV4_HLEN;
	}
	memset(buf, 0, IPV6_HLEN);
	pkt_put_be32(buf, 6U << 28);
	pkt_put_be16(buf + 4, len);
	buf[6] = proto;
	buf[7] = 64;
	memcpy(buf + 8, src, 16);
	memcpy(buf + 24, dst, 16);
	return IPV6_HLEN;
}

/* Offset of the L4 header in the IP packet at ip (options, extensions). */
static size_t l4_offset(const __u8 *ip)
{
	size_t off = IPV6_HLEN;
	__u8 next;
	int i;

	if (ip[0] >> 4 == 4)
		return (ip[0] & 0xf) * 4;
	next = ip[6];
	for (i = 0; i < PKT_EXT_MAX; i++) {
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_FRAGMENT)
			break;
		next = ip[off];
		off += EXT_HLEN;
	}
	return off;
}

int pkt_build(struct pkt *p, const struct pkt_spec *s)
{
	__be32 addr[4];
	__u8 *b = p->data;
	size_t off = ETH_HLEN, tun = 0;
	int family, len;
	__u16 type;

	memset(p, 0, sizeof(*p));
	memcpy(b, pkt_mac_lb, 6);
	memcpy(b + 6, pkt_mac_client, 6);
	if (s->vlan) {
		pkt_put_be16(b + 12, ETHERTYPE_VLAN);
		pkt_put_be16(b + 14, s->vlan & 0x0fff);
		off += VLAN_HLEN;
	}
	p->l3_off = off;

	if (s->ethertype) {
		if (off + s->payload_len > PKT_MAX)
			return -ENOSPC;
		pkt_put_be16(b + off - 2, s->ethertype);
		fill_payload(b + off, s->payload_len);
		p->len = p->ip_off = p->l4_off = off + s->payload_len;
		return 0;
	}

	family = pkt_addr(s->dst, addr);
	if (family < 0)
		return family;
	type = family == 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
	if (s->tun_dst) {
		tun = pkt_addr(s->tun_dst, addr) == 4 ? IPV4_HLEN : IPV6_HLEN;
		type = tun == IPV4_HLEN ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
	}
	pkt_put_be16(b + off - 2, type);

	len = pkt_build_l3(b + off + tun, PKT_MAX - off - tun, s);
	if (len < 0)
		return len;
	if (tun && build_tunnel(b + off, s, family, len) < 0)
		return -EINVAL;
	p->ip_off = off + tun;
	p->l4_off = p->ip_off + l4_offset(b + p->ip_off);
	p->len = off + tun + len;
	return 0;
}

__u8 *pkt_expect_put(struct pkt_expect *x, const char *name, const void *src, size_t len)
{
	__u8 *at = x->data + x->len;

	if (x->len + len > sizeof(x->data) || x->nfield >= PKT_FIELDS_MAX)
		return NULL;
	if (src)
		memcpy(at, src, len);
	else
		memset(at, 0, len);
	x->field[x->nfield].off = x->len;
	x->field[x->nfield].len = len;
	x->field[x->nfield].name = name;
	x->nfield++;
	x->len += len;
	return at;
}

void pkt_expect_frame(struct pkt_expect *x, const struct pkt *p)
{
	const __u8 *b = p->data;
	size_t l3 = p->l3_off < p->len ? p->l3_off : p->len;
	size_t ip = p->ip_off < p->len ? p->ip_off : p->len;
	size_t l4 = p->l4_off < p->len ? p->l4_off : p->len;

	memset(x, 0, sizeof(*x));
	pkt_expect_put(x, "L2 header", b, l3);
	if (ip > l3)
		pkt_expect_put(x, "tunnel header", b + l3, ip - l3);
	if (l4 > ip)
		pkt_expect_put(x, "IP header", b + ip, l4 - ip);
	pkt_expect_put(x, "L4 header and payload", b + l4, p->len - l4);
}

static const char *expect_field(const struct pkt_expect *x, size_t off)
{
	int i;

	for (i = 0; i < x->nfield; i++)
		if (off >= x->field[i].off && off < x->field[i].off + x->field[i].len)
			return x->field[i].name;
	return "beyond the expected frame";
}

int pkt_expect_cmp(const struct pkt_expect *x, const __u8 *got, size_t len, char *msg, size_t size)
{
	size_t i, n = x->len < len ? x->len : len;

	for (i = 0; i < n; i++) {
		if (x->data[i] == got[i])
			continue;
		snprintf(msg, size, "byte %zu (%s): expected 0x%02x, got 0x%02x", i,
			 expect_field(x, i), x->data[i], got[i]);
		return 1;
	}
	if (x->len != len) {
		snprintf(msg, size, "length: expected %zu, got %zu (equal up to there)", x->len,
			 len);
		return 1;
	}
	return 0;
}
