/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dns registry's answer parser and node builder: pure functions (bytes
 * in, records or an error out), used by dns.c on the loop and called
 * directly by unit tests and the libFuzzer target.
 *
 * Messages are taken apart with glibc's libresolv (ns_initparse,
 * ns_parserr, dn_expand), which checks every length against the message;
 * this file only decides which records count.
 */
#ifndef XLB_DISC_DNS_H
#define XLB_DISC_DNS_H

#include <stddef.h>
#include <linux/types.h>
#include "discovery/discovery.h"

#define XLB_DNS_NAME_LEN 256  /* a name in text form, without the final dot */
#define XLB_DNS_SRV_MAX	 1024 /* SRV records in one answer */
#define XLB_DNS_ADDR_MAX 4096 /* A and AAAA records in one answer */
#define XLB_DNS_TTL_NONE 0xffffffffU

/* One SRV record (RFC 2782). target "" is the root: "no service here". */
struct xlb_dns_srv {
	char target[XLB_DNS_NAME_LEN];
	__u16 priority, weight, port;
	__u32 ttl;
};

/* One address record, with the name it belongs to. */
struct xlb_dns_addr {
	char name[XLB_DNS_NAME_LEN];
	struct xlb_addr_key addr;
	__u32 ttl;
};

struct xlb_dns_answer {
	int rcode; /* ns_r_noerror or ns_r_nxdomain (others are errors) */
	/*
	 * Smallest TTL of the answer-section records that were used (with the
	 * CNAMEs that led to them); for an answer without them, the negative
	 * caching TTL from the SOA (RFC 2308); XLB_DNS_TTL_NONE when neither.
	 */
	__u32 ttl;
	size_t nsrv, naddr;
	struct xlb_dns_srv *srv; /* SRV records of the name asked */
	/*
	 * A/AAAA records: those of the name asked (or of the CNAMEs it leads
	 * to) under that name, and every other one in the answer and
	 * additional sections under its own name (an SRV answer's addresses
	 * of its targets).
	 */
	struct xlb_dns_addr *addr;
};

/*
 * Parse a DNS answer to the question (qname, qtype: ns_t_srv, ns_t_a or
 * ns_t_aaaa). 0, or -EINVAL/-ENOMEM with the reason in why: malformed,
 * truncated, not an answer, another question, an error rcode (SERVFAIL,
 * REFUSED...). NXDOMAIN is a good answer with rcode ns_r_nxdomain.
 * Free a with xlb_dns_answer_free() in every case.
 */
int xlb_dns_parse(const unsigned char *msg, size_t len, const char *qname, int qtype,
		  struct xlb_dns_answer *a, char *why, size_t wlen);
void xlb_dns_answer_free(struct xlb_dns_answer *a);

/*
 * Nodes from SRV records, their targets' addresses taken from pool (names
 * compared without case). An SRV record's weight is shared among its
 * target's addresses (as APISIX does); weight 0 counts as 1 (RFC 2782:
 * "a very small chance of being selected"; an xlb node of weight 0 would
 * get no traffic at all). Priority = -SRV priority (lower SRV priority is
 * tried first; xlb prefers higher). port: non-zero overrides the SRV port
 * (service_name "name:port", as APISIX); records with port 0 and no
 * override are skipped. *ttl is lowered to the smallest TTL of the
 * records used. 0 or -ENOMEM.
 */
int xlb_dns_srv_nodes(const struct xlb_dns_srv *srv, size_t nsrv, const struct xlb_dns_addr *pool,
		      size_t npool, __u16 port, struct xlb_disc_nodes *out, __u32 *ttl);
/*
 * Nodes from the addresses of name in pool, each with port and weight,
 * priority 0. *ttl is lowered as above. 0 or -ENOMEM.
 */
int xlb_dns_addr_nodes(const struct xlb_dns_addr *pool, size_t npool, const char *name, __u16 port,
		       __u32 weight, struct xlb_disc_nodes *out, __u32 *ttl);

/*
 * Split service_name "host[:port]" (IPv6 literals are not names: no
 * brackets). host without a final dot. 0 or -EINVAL with the reason.
 */
int xlb_dns_service_parse(const char *service, char *host, size_t hlen, __u16 *port, char *why,
			  size_t wlen);

#endif /* XLB_DISC_DNS_H */
