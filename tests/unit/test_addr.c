/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Text forms of addresses (user/lib/base/addr.c), table-driven: addresses,
 * VIPs, endpoints, prefixes and bounded numbers, good and bad. A good
 * input must give an exact key (family XLB_AF_*, port in network byte
 * order, unused address words and padding zero) that formats back to its
 * canonical text and parses again to the same bytes. A bad input must
 * give -EINVAL and a message that names the offending text and says what
 * is wrong. Every row is checked; a failing test lists all bad rows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/addr.h"
#include "../lib/check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ERRLEN	      256
#define POISON	      0xa5

/* Up to this many substrings that an error message must contain. */
#define MAX_NEEDLES 3

/* --- checks beyond tests/lib/check.h ------------------------------------ */

static void check_needles(const char *err, const char *const *needles, const char *in,
			  const char *fn)
{
	int i;

	for (i = 0; i < MAX_NEEDLES && needles[i]; i++)
		check_contains(err, needles[i], "%s(\"%s\")", fn, in);
}

/* --- tables ---------------------------------------------------------------- */

/* A good address: its family, its 16 bytes, its canonical text. */
struct addr_case {
	const char *in;
	__u8 family;
	__u8 bytes[16];
	const char *str;
};

static const struct addr_case good_addrs[] = {
	{"198.18.0.1", XLB_AF_INET, {198, 18, 0, 1}, "198.18.0.1"},
	{"0.0.0.0", XLB_AF_INET, {0}, "0.0.0.0"},
	{"255.255.255.255", XLB_AF_INET, {255, 255, 255, 255}, "255.255.255.255"},
	{"fd00:0:0:0:0:0:0:1", XLB_AF_INET6, {[0] = 0xfd, [15] = 1}, "fd00::1"},
	{"fd00:0000:0000:0000:0000:0000:0000:0001",
	 XLB_AF_INET6,
	 {[0] = 0xfd, [15] = 1},
	 "fd00::1"},
	{"fd00::1", XLB_AF_INET6, {[0] = 0xfd, [15] = 1}, "fd00::1"},
	{"[fd00::1]", XLB_AF_INET6, {[0] = 0xfd, [15] = 1}, "fd00::1"},
	{"FD00::ABCD", XLB_AF_INET6, {[0] = 0xfd, [14] = 0xab, [15] = 0xcd}, "fd00::abcd"},
	{"::", XLB_AF_INET6, {0}, "::"},
	{"[::1]", XLB_AF_INET6, {[15] = 1}, "::1"},
	{"2001:db8:85a3::8a2e:370:7334",
	 XLB_AF_INET6,
	 {0x20, 0x01, 0x0d, 0xb8, 0x85, 0xa3, 0, 0, 0, 0, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x34},
	 "2001:db8:85a3::8a2e:370:7334"},
	{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	 XLB_AF_INET6,
	 {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff},
	 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	/* An IPv4-mapped address is IPv6 to xlb. */
	{"::ffff:198.18.0.1",
	 XLB_AF_INET6,
	 {[10] = 0xff, [11] = 0xff, [12] = 198, [13] = 18, [14] = 0, [15] = 1},
	 "::ffff:198.18.0.1"},
	/* The longest text form, bracketed: 47 characters still fit. */
	{"[0000:0000:0000:0000:0000:0000:255.255.255.255]",
	 XLB_AF_INET6,
	 {[12] = 255, [13] = 255, [14] = 255, [15] = 255},
	 "::255.255.255.255"},
};

/* A bad input and what its error message must contain. */
struct bad_case {
	const char *in;
	const char *needles[MAX_NEEDLES];
};

static const struct bad_case bad_addrs[] = {
	{"", {"''", "is not an IP address"}},
	{"1.2.3", {"'1.2.3'", "is not an IP address"}},
	{"1.2.3.4.5", {"'1.2.3.4.5'", "is not an IP address"}},
	{"256.1.1.1", {"'256.1.1.1'", "is not an IP address"}},
	{"1.2.3.-4", {"'1.2.3.-4'", "is not an IP address"}},
	{" 1.2.3.4", {"' 1.2.3.4'", "is not an IP address"}},
	{"1.2.3.4 ", {"'1.2.3.4 '", "is not an IP address"}},
	{"1.2.3.4:80", {"'1.2.3.4:80'", "is not an IP address"}},
	{"localhost", {"'localhost'", "is not an IP address"}},
	{"fd00::1::2", {"'fd00::1::2'", "is not an IP address"}},
	{"fd00:::1", {"'fd00:::1'", "is not an IP address"}},
	{"fd00:0:0:0:0:0:0:0:1", {"'fd00:0:0:0:0:0:0:0:1'", "is not an IP address"}},
	{"fe80::1%eth0", {"'fe80::1%eth0'", "is not an IP address"}},
	{"[fd00::1", {"'[fd00::1'", "is not an IP address"}},
	{"fd00::1]", {"'fd00::1]'", "is not an IP address"}},
	{"[]", {"'[]'", "is not an IPv6 address"}},
	{"[1.2.3.4]", {"'[1.2.3.4]'", "is not an IPv6 address"}},
	{"[[fd00::1]]", {"'[[fd00::1]]'", "is not an IPv6 address"}},
	/* 48 characters: longer than any address. */
	{"[0000:0000:0000:0000:0000:0000:255.255.255.2555]",
	 {"'[0000:0000:0000:0000:0000:0000:255.255.255.2555]'", "is not an IP address"}},
};

/* A good VIP: address, port (host order), protocol, canonical text. */
struct vip_case {
	const char *in;
	__u8 family;
	__u8 bytes[16];
	__u16 port;
	__u8 proto;
	const char *str;
};

static const struct vip_case good_vips[] = {
	{"198.18.100.1:80/tcp",
	 XLB_AF_INET,
	 {198, 18, 100, 1},
	 80,
	 IPPROTO_TCP,
	 "198.18.100.1:80/tcp"},
	{"198.18.100.1:53/udp",
	 XLB_AF_INET,
	 {198, 18, 100, 1},
	 53,
	 IPPROTO_UDP,
	 "198.18.100.1:53/udp"},
	{"198.18.100.1:0/tcp",
	 XLB_AF_INET,
	 {198, 18, 100, 1},
	 0,
	 IPPROTO_TCP,
	 "198.18.100.1:0/tcp"},
	{"198.18.100.1:65535/udp",
	 XLB_AF_INET,
	 {198, 18, 100, 1},
	 65535,
	 IPPROTO_UDP,
	 "198.18.100.1:65535/udp"},
	{"198.18.100.1:258/tcp",
	 XLB_AF_INET,
	 {198, 18, 100, 1},
	 258,
	 IPPROTO_TCP,
	 "198.18.100.1:258/tcp"},
	{"198.18.100.1:080/tcp",
	 XLB_AF_INET,
	 {198, 18, 100, 1},
	 80,
	 IPPROTO_TCP,
	 "198.18.100.1:80/tcp"},
	{"0.0.0.0:1/udp", XLB_AF_INET, {0}, 1, IPPROTO_UDP, "0.0.0.0:1/udp"},
	{"[fd00::1]:443/udp",
	 XLB_AF_INET6,
	 {[0] = 0xfd, [15] = 1},
	 443,
	 IPPROTO_UDP,
	 "[fd00::1]:443/udp"},
	{"[fd00::1]:0/tcp",
	 XLB_AF_INET6,
	 {[0] = 0xfd, [15] = 1},
	 0,
	 IPPROTO_TCP,
	 "[fd00::1]:0/tcp"},
	{"[fd00::1]:65535/tcp",
	 XLB_AF_INET6,
	 {[0] = 0xfd, [15] = 1},
	 65535,
	 IPPROTO_TCP,
	 "[fd00::1]:65535/tcp"},
	{"[::]:80/tcp", XLB_AF_INET6, {0}, 80, IPPROTO_TCP, "[::]:80/tcp"},
	{"[FD00:0:0:0:0:0:0:1]:443/tcp",
	 XLB_AF_INET6,
	 {[0] = 0xfd, [15] = 1},
	 443,
	 IPPROTO_TCP,
	 "[fd00::1]:443/tcp"},
	{"[fd00:0000:0000:0000:0000:0000:0000:0001]:65535/tcp",
	 XLB_AF_INET6,
	 {[0] = 0xfd, [15] = 1},
	 65535,
	 IPPROTO_TCP,
	 "[fd00::1]:65535/tcp"},
	{"[::ffff:198.18.0.1]:80/tcp",
	 XLB_AF_INET6,
	 {[10] = 0xff, [11] = 0xff, [12] = 198, [13] = 18, [14] = 0, [15] = 1},
	 80,
	 IPPROTO_TCP,
	 "[::ffff:198.18.0.1]:80/tcp"},
};

static const struct bad_case bad_vips[] = {
	{"", {"VIP ''", "ADDR:PORT/PROTO"}},
	{"1.2.3:80/tcp", {"'1.2.3'", "is not an IP address"}},
	{"1.2.3.4.5:80/tcp", {"'1.2.3.4.5'", "is not an IP address"}},
	{"256.1.1.1:80/tcp", {"'256.1.1.1'", "is not an IP address"}},
	/* A bare IPv6 VIP is refused, with the hint to bracket it. */
	{"fd00::1:80/tcp", {"'fd00::1:80/tcp'", "[ADDR]:PORT/PROTO"}},
	{"fd00::1/tcp", {"'fd00::1/tcp'", "[ADDR]:PORT/PROTO"}},
	{"[fd00::1/tcp", {"'[fd00::1/tcp'", "[ADDR]:PORT/PROTO"}},
	{"1.2.3.4/tcp", {"'1.2.3.4/tcp'", "no port", ":0"}},
	{"[fd00::1]/udp", {"'[fd00::1]/udp'", "no port", ":0"}},
	{"1.2.3.4:80", {"'1.2.3.4:80'", "ADDR:PORT/PROTO"}},
	{"[fd00::1]:80", {"'[fd00::1]:80'", "[ADDR]:PORT/PROTO"}},
	{"1.2.3.4:80/sctp", {"'sctp'", "tcp or udp"}},
	{"1.2.3.4:80/TCP", {"'TCP'", "tcp or udp"}},
	{"1.2.3.4:80/", {"protocol ''", "tcp or udp"}},
	{"1.2.3.4:65536/tcp", {"'65536'", "0-65535"}},
	{"1.2.3.4:4294967376/tcp", {"'4294967376'", "0-65535"}},
	{"1.2.3.4:-1/tcp", {"'-1'", "0-65535"}},
	{"1.2.3.4:+80/tcp", {"'+80'", "0-65535"}},
	{"1.2.3.4: 80/tcp", {"' 80'", "0-65535"}},
	{"1.2.3.4:\t80/tcp", {"'\t80'", "0-65535"}},
	{"1.2.3.4:8x/tcp", {"'8x'", "0-65535"}},
	{"1.2.3.4:0x50/tcp", {"'0x50'", "0-65535"}},
	{"1.2.3.4:/tcp", {"port ''", "0-65535"}},
	{"1.2.3.4:80/tcp/udp", {"'80/tcp'", "0-65535"}},
	{"[fd00::1]:/tcp", {"port ''", "0-65535"}},
	{"[fd00::1]80/tcp", {"'[fd00::1]80'", "ADDR:PORT"}},
	{"[1.2.3.4]:80/tcp", {"'[1.2.3.4]'", "is not an IPv6 address"}},
	{":80/tcp", {"''", "is not an IP address"}},
	/* 64 characters: longer than any VIP. */
	{"[fd00:0000:0000:0000:0000:0000:0000:0001]:0000000000000000080/tcp",
	 {"'[fd00:0000:0000:0000:0000:0000:0000:0001]:0000000000000000080/tcp'",
	  "ADDR:PORT/PROTO"}},
};

/* A good endpoint: address and port (0 when absent). */
struct endpoint_case {
	const char *in;
	__u8 family;
	__u8 bytes[16];
	__u16 port;
};

static const struct endpoint_case good_endpoints[] = {
	{"198.18.0.11", XLB_AF_INET, {198, 18, 0, 11}, 0},
	{"198.18.0.11:8080", XLB_AF_INET, {198, 18, 0, 11}, 8080},
	{"198.18.0.11:0", XLB_AF_INET, {198, 18, 0, 11}, 0},
	{"198.18.0.11:65535", XLB_AF_INET, {198, 18, 0, 11}, 65535},
	{"fd00::11", XLB_AF_INET6, {[0] = 0xfd, [15] = 0x11}, 0},
	{"[fd00::11]", XLB_AF_INET6, {[0] = 0xfd, [15] = 0x11}, 0},
	{"[fd00::11]:8080", XLB_AF_INET6, {[0] = 0xfd, [15] = 0x11}, 8080},
	{"[fd00::11]:0", XLB_AF_INET6, {[0] = 0xfd, [15] = 0x11}, 0},
	/* Without brackets every colon belongs to the IPv6 address. */
	{"fd00::11:80", XLB_AF_INET6, {[0] = 0xfd, [13] = 0x11, [15] = 0x80}, 0},
};

static const struct bad_case bad_endpoints[] = {
	{"", {"''", "is not an IP address"}},
	{"1.2.3:80", {"'1.2.3'", "is not an IP address"}},
	{"198.18.0.11:", {"port ''", "0-65535"}},
	{"198.18.0.11:65536", {"'65536'", "0-65535"}},
	{"198.18.0.11:-1", {"'-1'", "0-65535"}},
	{"198.18.0.11:http", {"'http'", "0-65535"}},
	{"198.18.0.11:80:81", {"'198.18.0.11:80:81'", "is not an IP address"}},
	{"[fd00::11", {"'[fd00::11'", "ADDR or ADDR:PORT"}},
	{"[fd00::11]80", {"'[fd00::11]80'", "ADDR or ADDR:PORT"}},
	{"[fd00::11]:", {"port ''", "0-65535"}},
	{"[fd00::11]:65536", {"'65536'", "0-65535"}},
	{"[198.18.0.11]:80", {"'[198.18.0.11]'", "is not an IPv6 address"}},
};

/* A good prefix: address and length. */
struct cidr_case {
	const char *in;
	__u8 family;
	__u8 bytes[16];
	unsigned int plen;
};

static const struct cidr_case good_cidrs[] = {
	{"10.0.0.0/8", XLB_AF_INET, {10}, 8},
	{"0.0.0.0/0", XLB_AF_INET, {0}, 0},
	{"198.18.0.1/32", XLB_AF_INET, {198, 18, 0, 1}, 32},
	{"198.18.0.1", XLB_AF_INET, {198, 18, 0, 1}, 32},
	{"198.18.0.0/015", XLB_AF_INET, {198, 18}, 15},
	{"fd00::/64", XLB_AF_INET6, {[0] = 0xfd}, 64},
	{"::/0", XLB_AF_INET6, {0}, 0},
	{"fd00::1/128", XLB_AF_INET6, {[0] = 0xfd, [15] = 1}, 128},
	{"fd00::1", XLB_AF_INET6, {[0] = 0xfd, [15] = 1}, 128},
	{"[fd00::]/48", XLB_AF_INET6, {[0] = 0xfd}, 48},
	/* The longest address text, with a length: 49 and 51 characters. */
	{"0000:0000:0000:0000:0000:0000:255.255.255.255/128",
	 XLB_AF_INET6,
	 {[12] = 255, [13] = 255, [14] = 255, [15] = 255},
	 128},
	{"[0000:0000:0000:0000:0000:0000:255.255.255.255]/128",
	 XLB_AF_INET6,
	 {[12] = 255, [13] = 255, [14] = 255, [15] = 255},
	 128},
};

static const struct bad_case bad_cidrs[] = {
	{"", {"''", "is not an IP address"}},
	{"10.0.0.0/33", {"'10.0.0.0/33'", "0-32"}},
	{"10.0.0.0/4294967328", {"'10.0.0.0/4294967328'", "0-32"}},
	{"10.0.0.0/", {"'10.0.0.0/'", "0-32"}},
	{"10.0.0.0/-1", {"'10.0.0.0/-1'", "0-32"}},
	{"10.0.0.0/+8", {"'10.0.0.0/+8'", "0-32"}},
	{"10.0.0.0/ 8", {"'10.0.0.0/ 8'", "0-32"}},
	{"10.0.0.0/8x", {"'10.0.0.0/8x'", "0-32"}},
	{"10.0.0.0/8/8", {"'10.0.0.0/8/8'", "0-32"}},
	{"fd00::/129", {"'fd00::/129'", "0-128"}},
	{"fd00::/", {"'fd00::/'", "0-128"}},
	{"10.0.0/8", {"'10.0.0'", "is not an IP address"}},
	{"/8", {"''", "is not an IP address"}},
	{"[10.0.0.0]/8", {"'[10.0.0.0]'", "is not an IPv6 address"}},
	/* An address part of 48 characters: longer than any address. */
	{"[0000:0000:0000:0000:0000:0000:255.255.255.2555]/8",
	 {"'[0000:0000:0000:0000:0000:0000:255.255.255.2555]/8'", "is not a prefix"}},
};

/* xlb_u32_parse(in, min, max): ret, and out when ret is 0. */
struct u32_case {
	const char *in;
	__u32 min, max;
	int ret;
	__u32 out;
};

static const struct u32_case u32_cases[] = {
	{"0", 0, 10, 0, 0},
	{"7", 0, 10, 0, 7},
	{"10", 0, 10, 0, 10},
	{"11", 0, 10, -EINVAL},
	{"5", 5, 5, 0, 5},
	{"4", 5, 5, -EINVAL},
	{"6", 5, 5, -EINVAL},
	{"0", 1, 10, -EINVAL},
	{"007", 0, 10, 0, 7},
	{"65535", 0, 65535, 0, 65535},
	{"65536", 0, 65535, -EINVAL},
	{"4294967295", 0, UINT32_MAX, 0, UINT32_MAX},
	{"4294967296", 0, UINT32_MAX, -EINVAL},
	{"4294967297", 0, 10, -EINVAL}, /* would be 1 after truncation */
	{"18446744073709551615", 0, UINT32_MAX, -EINVAL},
	{"18446744073709551616", 0, UINT32_MAX, -EINVAL},
	{"99999999999999999999999", 0, UINT32_MAX, -EINVAL},
	{"", 0, 10, -EINVAL},
	{" 1", 0, 10, -EINVAL},
	{"\t1", 0, 10, -EINVAL},
	{"\n1", 0, 10, -EINVAL},
	{"+1", 0, 10, -EINVAL},
	{"-1", 0, UINT32_MAX, -EINVAL},
	{"-0", 0, 10, -EINVAL},
	{"1 ", 0, 10, -EINVAL},
	{"1x", 0, 10, -EINVAL},
	{"0x10", 0, 100, -EINVAL},
	{"1e3", 0, 10000, -EINVAL},
	{"1.0", 0, 10, -EINVAL},
	{"x", 0, 10, -EINVAL},
};

/* --- helpers ----------------------------------------------------------------- */

static void addr_key(struct xlb_addr_key *k, __u8 family, const __u8 bytes[16])
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, bytes, sizeof(k->addr));
	k->family = family;
}

/* The expected VIP key, port written byte by byte in network order. */
static void vip_key(struct xlb_vip_key *k, const struct vip_case *t)
{
	__u8 *port = (__u8 *)&k->port;

	memset(k, 0, sizeof(*k));
	memcpy(k->addr, t->bytes, sizeof(k->addr));
	port[0] = t->port >> 8;
	port[1] = t->port & 0xff;
	k->proto = t->proto;
	k->family = t->family;
}

static void check_addr_key(const struct xlb_addr_key *got, const struct xlb_addr_key *exp,
			   const char *fn, const char *in)
{
	char a[XLB_ADDRSTRLEN], e[XLB_ADDRSTRLEN];

	check_int(got->family, exp->family, "%s(\"%s\"): family", fn, in);
	if (memcmp(got->addr, exp->addr, sizeof(got->addr)))
		check_str(xlb_addr_str(got->addr, got->family, a, sizeof(a)),
			  xlb_addr_str(exp->addr, exp->family, e, sizeof(e)), "%s(\"%s\"): address",
			  fn, in);
	check_bytes(got, exp, sizeof(*got), "%s(\"%s\"): key bytes", fn, in);
}

/* --- tests ------------------------------------------------------------------- */

static void test_addr_good(void **state)
{
	struct xlb_addr_key k, exp, again;
	char err[ERRLEN], buf[XLB_ADDRSTRLEN];
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(good_addrs); i++) {
		const struct addr_case *t = &good_addrs[i];

		memset(&k, POISON, sizeof(k));
		err[0] = '\0';
		ret = xlb_addr_parse(t->in, &k, err, sizeof(err));
		check_int(ret, 0, "xlb_addr_parse(\"%s\") [%s]", t->in, err);
		if (ret)
			continue;
		check_str(err, "", "xlb_addr_parse(\"%s\"): err written on success", t->in);
		addr_key(&exp, t->family, t->bytes);
		check_addr_key(&k, &exp, "xlb_addr_parse", t->in);

		/* Formats to its canonical text, which parses to the same key. */
		check_str(xlb_addr_str(k.addr, k.family, buf, sizeof(buf)), t->str,
			  "xlb_addr_str(xlb_addr_parse(\"%s\"))", t->in);
		memset(&again, POISON, sizeof(again));
		check_int(xlb_addr_parse(buf, &again, NULL, 0), 0, "xlb_addr_parse(\"%s\")", buf);
		check_bytes(&again, &k, sizeof(k), "xlb_addr_parse(\"%s\") after round trip", buf);
	}
	check_done();
}

static void test_addr_bad(void **state)
{
	struct xlb_addr_key k;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_addrs); i++) {
		const struct bad_case *t = &bad_addrs[i];

		snprintf(err, sizeof(err), "untouched");
		check_int(xlb_addr_parse(t->in, &k, err, sizeof(err)), -EINVAL,
			  "xlb_addr_parse(\"%s\")", t->in);
		check_needles(err, t->needles, t->in, "xlb_addr_parse");
		/* err is optional. */
		check_int(xlb_addr_parse(t->in, &k, NULL, 0), -EINVAL,
			  "xlb_addr_parse(\"%s\", err = NULL)", t->in);
	}
	check_done();
}

static void test_vip_good(void **state)
{
	struct xlb_vip_key k, exp, again;
	char err[ERRLEN], buf[XLB_VIPSTRLEN];
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(good_vips); i++) {
		const struct vip_case *t = &good_vips[i];

		memset(&k, POISON, sizeof(k));
		err[0] = '\0';
		ret = xlb_vip_parse(t->in, &k, err, sizeof(err));
		check_int(ret, 0, "xlb_vip_parse(\"%s\") [%s]", t->in, err);
		if (ret)
			continue;
		check_str(err, "", "xlb_vip_parse(\"%s\"): err written on success", t->in);
		vip_key(&exp, t);
		check_int(k.family, exp.family, "xlb_vip_parse(\"%s\"): family", t->in);
		check_int(k.proto, exp.proto, "xlb_vip_parse(\"%s\"): proto", t->in);
		check_int(ntohs(k.port), t->port, "xlb_vip_parse(\"%s\"): port", t->in);
		check_bytes(&k.port, &exp.port, sizeof(k.port),
			    "xlb_vip_parse(\"%s\"): port bytes (network order)", t->in);
		check_bytes(&k, &exp, sizeof(k), "xlb_vip_parse(\"%s\"): key bytes", t->in);

		check_str(xlb_vip_str(&k, buf, sizeof(buf)), t->str,
			  "xlb_vip_str(xlb_vip_parse(\"%s\"))", t->in);
		memset(&again, POISON, sizeof(again));
		check_int(xlb_vip_parse(buf, &again, NULL, 0), 0, "xlb_vip_parse(\"%s\")", buf);
		check_bytes(&again, &k, sizeof(k), "xlb_vip_parse(\"%s\") after round trip", buf);
	}
	check_done();
}

static void test_vip_bad(void **state)
{
	struct xlb_vip_key k;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_vips); i++) {
		const struct bad_case *t = &bad_vips[i];

		snprintf(err, sizeof(err), "untouched");
		check_int(xlb_vip_parse(t->in, &k, err, sizeof(err)), -EINVAL,
			  "xlb_vip_parse(\"%s\")", t->in);
		check_needles(err, t->needles, t->in, "xlb_vip_parse");
		check_int(xlb_vip_parse(t->in, &k, NULL, 0), -EINVAL,
			  "xlb_vip_parse(\"%s\", err = NULL)", t->in);
	}
	check_done();
}

static void test_endpoint_good(void **state)
{
	struct xlb_addr_key k, exp;
	char err[ERRLEN];
	__u16 port;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(good_endpoints); i++) {
		const struct endpoint_case *t = &good_endpoints[i];

		memset(&k, POISON, sizeof(k));
		port = 0xa5a5;
		err[0] = '\0';
		ret = xlb_endpoint_parse(t->in, &k, &port, err, sizeof(err));
		check_int(ret, 0, "xlb_endpoint_parse(\"%s\") [%s]", t->in, err);
		if (ret)
			continue;
		check_str(err, "", "xlb_endpoint_parse(\"%s\"): err written on success", t->in);
		addr_key(&exp, t->family, t->bytes);
		check_addr_key(&k, &exp, "xlb_endpoint_parse", t->in);
		check_int(port, t->port, "xlb_endpoint_parse(\"%s\"): port (host order)", t->in);
	}
	check_done();
}

static void test_endpoint_bad(void **state)
{
	struct xlb_addr_key k;
	char err[ERRLEN];
	__u16 port;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_endpoints); i++) {
		const struct bad_case *t = &bad_endpoints[i];

		snprintf(err, sizeof(err), "untouched");
		port = 0xa5a5;
		check_int(xlb_endpoint_parse(t->in, &k, &port, err, sizeof(err)), -EINVAL,
			  "xlb_endpoint_parse(\"%s\")", t->in);
		check_needles(err, t->needles, t->in, "xlb_endpoint_parse");
		check_int(port, 0xa5a5, "xlb_endpoint_parse(\"%s\"): port written on error", t->in);
		check_int(xlb_endpoint_parse(t->in, &k, &port, NULL, 0), -EINVAL,
			  "xlb_endpoint_parse(\"%s\", err = NULL)", t->in);
	}
	check_done();
}

static void test_cidr_good(void **state)
{
	struct xlb_addr_key k, exp;
	char err[ERRLEN];
	unsigned int plen;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(good_cidrs); i++) {
		const struct cidr_case *t = &good_cidrs[i];

		memset(&k, POISON, sizeof(k));
		plen = 999;
		err[0] = '\0';
		ret = xlb_cidr_parse(t->in, &k, &plen, err, sizeof(err));
		check_int(ret, 0, "xlb_cidr_parse(\"%s\") [%s]", t->in, err);
		if (ret)
			continue;
		check_str(err, "", "xlb_cidr_parse(\"%s\"): err written on success", t->in);
		addr_key(&exp, t->family, t->bytes);
		check_addr_key(&k, &exp, "xlb_cidr_parse", t->in);
		check_int(plen, t->plen, "xlb_cidr_parse(\"%s\"): prefix length", t->in);
	}
	check_done();
}

static void test_cidr_bad(void **state)
{
	struct xlb_addr_key k;
	unsigned int plen;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_cidrs); i++) {
		const struct bad_case *t = &bad_cidrs[i];

		snprintf(err, sizeof(err), "untouched");
		plen = 999;
		check_int(xlb_cidr_parse(t->in, &k, &plen, err, sizeof(err)), -EINVAL,
			  "xlb_cidr_parse(\"%s\")", t->in);
		check_needles(err, t->needles, t->in, "xlb_cidr_parse");
		check_int(plen, 999, "xlb_cidr_parse(\"%s\"): prefix length written on error",
			  t->in);
		check_int(xlb_cidr_parse(t->in, &k, &plen, NULL, 0), -EINVAL,
			  "xlb_cidr_parse(\"%s\", err = NULL)", t->in);
	}
	check_done();
}

static void test_u32(void **state)
{
	__u32 out;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(u32_cases); i++) {
		const struct u32_case *t = &u32_cases[i];

		out = 0xa5a5a5a5;
		check_int(xlb_u32_parse(t->in, t->min, t->max, &out), t->ret,
			  "xlb_u32_parse(\"%s\", %u, %u)", t->in, t->min, t->max);
		check_int(out, t->ret ? 0xa5a5a5a5 : t->out, "xlb_u32_parse(\"%s\", %u, %u): out",
			  t->in, t->min, t->max);
	}
	out = 0xa5a5a5a5;
	check_int(xlb_u32_parse(NULL, 0, 10, &out), -EINVAL, "xlb_u32_parse(NULL)");
	check_int(out, 0xa5a5a5a5, "xlb_u32_parse(NULL): out");
	check_done();
}

/* A message longer than err is cut, and err stays a C string. */
static void test_err_truncated(void **state)
{
	struct xlb_vip_key k;
	char err[8];

	memset(err, 'x', sizeof(err));
	check_int(xlb_vip_parse("1.2.3.4:80/sctp", &k, err, sizeof(err)), -EINVAL,
		  "xlb_vip_parse with an 8-byte err");
	check_int(strnlen(err, sizeof(err)), sizeof(err) - 1, "strlen(err)");
	check_str(err, "VIP '1.", "truncated message");
	check_done();
}

static void test_formatters(void **state)
{
	static const __be32 v4[4] = {0};
	struct xlb_vip_key k;
	char buf[XLB_VIPSTRLEN];
	__be32 a[4];

	check_str(xlb_proto_str(IPPROTO_TCP), "tcp", "xlb_proto_str(IPPROTO_TCP)");
	check_str(xlb_proto_str(IPPROTO_UDP), "udp", "xlb_proto_str(IPPROTO_UDP)");
	check_str(xlb_proto_str(0), "?", "xlb_proto_str(0)");
	check_str(xlb_proto_str(IPPROTO_SCTP), "?", "xlb_proto_str(IPPROTO_SCTP)");

	/* The family byte picks the formatter, whatever the words hold. */
	check_str(xlb_addr_str(v4, XLB_AF_INET, buf, sizeof(buf)), "0.0.0.0",
		  "xlb_addr_str(0, XLB_AF_INET)");
	check_str(xlb_addr_str(v4, XLB_AF_INET6, buf, sizeof(buf)),
		  "::", "xlb_addr_str(0, XLB_AF_INET6)");

	/* Too small a buffer gives "?", never a cut address. */
	memset(a, 0, sizeof(a));
	a[0] = htonl(0xc612640a); /* 198.18.100.10 */
	check_str(xlb_addr_str(a, XLB_AF_INET, buf, 8), "?", "xlb_addr_str into 8 bytes");
	check_str(xlb_addr_str(a, XLB_AF_INET, buf, 14), "198.18.100.10",
		  "xlb_addr_str into 14 bytes");

	/* The longest VIP text fits XLB_VIPSTRLEN; the longest address XLB_ADDRSTRLEN. */
	memset(&k, 0xff, sizeof(k));
	k.family = XLB_AF_INET6;
	k.proto = IPPROTO_UDP;
	check_str(xlb_vip_str(&k, buf, sizeof(buf)),
		  "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535/udp", "xlb_vip_str(longest)");
	check_int(XLB_ADDRSTRLEN >= INET6_ADDRSTRLEN + 2, 1,
		  "XLB_ADDRSTRLEN %d holds a bracketed INET6_ADDRSTRLEN %d", XLB_ADDRSTRLEN,
		  INET6_ADDRSTRLEN);
	check_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_good),     cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_vip_good),      cmocka_unit_test(test_vip_bad),
		cmocka_unit_test(test_endpoint_good), cmocka_unit_test(test_endpoint_bad),
		cmocka_unit_test(test_cidr_good),     cmocka_unit_test(test_cidr_bad),
		cmocka_unit_test(test_u32),	      cmocka_unit_test(test_err_truncated),
		cmocka_unit_test(test_formatters),
	};

	return check_run_tests("addr", tests, NULL, NULL);
}
