// SPDX-License-Identifier: GPL-2.0-only
/* The consul registry (in progress: answers nothing yet). */
#include <errno.h>
#include "discovery.h"

static int consul_start(struct xlb_disc_watch *w)
{
	return -ENOSYS;
}

const struct xlb_disc_ops xlb_disc_consul = {
	.name = "consul",
	.start = consul_start,
};
