// SPDX-License-Identifier: GPL-2.0-only
/* Priority groups and the no-healthy policy; see priority.h. */
#include "health/priority.h"

int xlb_priority_pick(const struct xlb_prio_node *in, size_t n, enum xlb_no_healthy policy,
		      struct xlb_prio_out *out)
{
	int any = 0, top = 0, top_all = 0, open;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!i || in[i].priority > top_all)
			top_all = in[i].priority;
		if (in[i].usable && (!any || in[i].priority > top))
			top = in[i].priority;
		any |= in[i].usable;
	}
	open = n && !any && policy == XLB_NO_HEALTHY_FAIL_OPEN;
	if (open)
		top = top_all;
	for (i = 0; i < n; i++) {
		out[i].active = in[i].usable || (open && in[i].priority == top);
		out[i].weight = (in[i].usable || open) && in[i].priority == top ? in[i].weight : 0;
	}
	return open;
}
