// SPDX-License-Identifier: GPL-2.0-only
/* The nacos registry (in progress: answers nothing yet). */
#include <errno.h>
#include "discovery.h"

static int nacos_start(struct xlb_disc_watch *w)
{
	return -ENOSYS;
}

const struct xlb_disc_ops xlb_disc_nacos = {
	.name = "nacos",
	.start = nacos_start,
};
