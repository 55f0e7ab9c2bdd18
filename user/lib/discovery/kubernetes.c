// SPDX-License-Identifier: GPL-2.0-only
/* The kubernetes registry (in progress: answers nothing yet). */
#include <errno.h>
#include "discovery.h"

static int kubernetes_start(struct xlb_disc_watch *w)
{
	return -ENOSYS;
}

const struct xlb_disc_ops xlb_disc_kubernetes = {
	.name = "kubernetes",
	.start = kubernetes_start,
};
