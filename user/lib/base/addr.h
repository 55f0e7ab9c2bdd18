/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Text forms of addresses, VIPs, endpoints and prefixes, both ways.
 * Parsers return 0 or -EINVAL and, on error, write a one-line reason to
 * err (which may be NULL).
 */
#ifndef XLB_ADDR_H
#define XLB_ADDR_H

#include <stddef.h>
#include <xlb/abi.h>

#define XLB_ADDRSTRLEN 48 /* "[ffff:...:ffff]" */
#define XLB_VIPSTRLEN  64 /* "[addr]:65535/tcp" */

/* "198.18.0.1", "fd00::1" or "[fd00::1]". */
int xlb_addr_parse(const char *s, struct xlb_addr_key *a, char *err, size_t errlen);
/* ADDR:PORT/PROTO, IPv6 as [ADDR]:PORT/PROTO; PROTO is tcp or udp. */
int xlb_vip_parse(const char *s, struct xlb_vip_key *k, char *err, size_t errlen);
/* ADDR or ADDR:PORT ([ADDR]:PORT for IPv6); *port is 0 when absent. */
int xlb_endpoint_parse(const char *s, struct xlb_addr_key *a, __u16 *port, char *err,
		       size_t errlen);
/* ADDR/LEN, or ADDR alone (a host prefix). */
int xlb_cidr_parse(const char *s, struct xlb_addr_key *a, unsigned int *plen, char *err,
		   size_t errlen);
/* Unsigned decimal in [min, max]. */
int xlb_u32_parse(const char *s, __u32 min, __u32 max, __u32 *out);

/* 1 for 127.0.0.0/8 and ::1. */
int xlb_addr_is_loopback(const struct xlb_addr_key *a);

/* Formatters; return buf. */
char *xlb_addr_str(const __be32 addr[4], __u8 family, char *buf, size_t len);
char *xlb_vip_str(const struct xlb_vip_key *k, char *buf, size_t len);
const char *xlb_proto_str(__u8 proto);

#endif /* XLB_ADDR_H */
