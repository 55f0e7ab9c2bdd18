// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: Eureka apps/<APP> answers through the eureka
 * registry's parser. Whatever the bytes: an error comes with a reason, a
 * success gives only nodes xlb can use.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/httpreg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlb_disc_nodes ns = {0};
	unsigned int skipped;
	char err[256] = "";
	size_t i;

	if (xlb_eureka_parse((const char *)data, size, 100, &ns, &skipped, err, sizeof(err))) {
		if (!err[0])
			abort();
	} else {
		for (i = 0; i < ns.n; i++)
			if ((ns.v[i].addr.family != XLB_AF_INET &&
			     ns.v[i].addr.family != XLB_AF_INET6) ||
			    !ns.v[i].port || ns.v[i].weight > XLB_WEIGHT_MAX)
				abort();
	}
	xlb_disc_nodes_free(&ns);
	return 0;
}
