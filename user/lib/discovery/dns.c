// SPDX-License-Identifier: GPL-2.0-only
/* The dns registry (in progress: answers nothing yet). */
#include <errno.h>
#include "discovery.h"

static int dns_start(struct xlb_disc_watch *w)
{
	return -ENOSYS;
}

const struct xlb_disc_ops xlb_disc_dns = {
	.name = "dns",
	.start = dns_start,
};
