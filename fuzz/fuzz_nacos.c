// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: Nacos ns/instance/list and auth/login answers through
 * the nacos registry's parsers. Whatever the bytes: an error comes with a
 * reason; a list gives only nodes xlb can use, never more than it lists;
 * a login gives a non-empty token and a positive lifetime.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/httpreg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlb_disc_nodes ns = {0};
	char err[256] = "", tok[64];
	unsigned int skipped;
	size_t i, total;
	double ttl;

	if (xlb_nacos_parse((const char *)data, size, 100, &ns, &total, &skipped, err,
			    sizeof(err))) {
		if (!err[0])
			abort();
	} else {
		if (ns.n > total)
			abort();
		for (i = 0; i < ns.n; i++)
			if ((ns.v[i].addr.family != XLB_AF_INET &&
			     ns.v[i].addr.family != XLB_AF_INET6) ||
			    !ns.v[i].port || ns.v[i].weight > XLB_WEIGHT_MAX)
				abort();
	}
	xlb_disc_nodes_free(&ns);
	err[0] = '\0';
	if (xlb_nacos_parse_login((const char *)data, size, tok, sizeof(tok), &ttl, err,
				  sizeof(err))) {
		if (!err[0])
			abort();
	} else if (!tok[0] || strlen(tok) >= sizeof(tok) || !(ttl > 0)) {
		abort();
	}
	return 0;
}
