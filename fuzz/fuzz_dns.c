// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: raw DNS answers into the dns registry's parser and
 * node builder (user/lib/discovery/dns.h). Each input is read as the
 * answer to "SRV _x._tcp.svc.test" (nodes from the SRV records and the
 * addresses beside them) and to "A" and "AAAA host.svc.test" (nodes with
 * a fixed port). Whatever the bytes, the result is an error or nodes that
 * discovery.c accepts: a known family, a port, a weight of 1..65535.
 */
#include <stdint.h>
#include <stdlib.h>
#include <arpa/nameser.h>

#include "discovery/discovery.h"
#include "discovery/dns.h"

static void check_nodes(const struct xlb_disc_nodes *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++) {
		const struct xlb_node_conf *nd = &ns->v[i];

		if ((nd->addr.family != XLB_AF_INET && nd->addr.family != XLB_AF_INET6) ||
		    !nd->port || !nd->weight || nd->weight > XLB_WEIGHT_MAX || nd->priority > 0 ||
		    nd->priority < -65535)
			abort();
	}
}

static void one(const uint8_t *data, size_t size, const char *qname, int qtype)
{
	struct xlb_disc_nodes ns = {0};
	struct xlb_dns_answer a;
	char why[160];
	__u32 ttl = XLB_DNS_TTL_NONE;

	if (!xlb_dns_parse(data, size, qname, qtype, &a, why, sizeof(why))) {
		if (a.ttl != XLB_DNS_TTL_NONE && a.ttl > 0x7fffffffU)
			abort();
		if (a.rcode == ns_r_nxdomain && (a.nsrv || a.naddr))
			abort();
		if (qtype == ns_t_srv) {
			xlb_dns_srv_nodes(a.srv, a.nsrv, a.addr, a.naddr, 0, &ns, &ttl);
			check_nodes(&ns);
			xlb_disc_nodes_free(&ns);
			xlb_dns_srv_nodes(a.srv, a.nsrv, a.addr, a.naddr, 443, &ns, &ttl);
		} else {
			xlb_dns_addr_nodes(a.addr, a.naddr, qname, 80, 1, &ns, &ttl);
		}
		check_nodes(&ns);
		xlb_disc_nodes_free(&ns);
	}
	xlb_dns_answer_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, "_x._tcp.svc.test", ns_t_srv);
	one(data, size, "host.svc.test", ns_t_a);
	one(data, size, "host.svc.test", ns_t_aaaa);
	return 0;
}
