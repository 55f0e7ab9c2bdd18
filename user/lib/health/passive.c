// SPDX-License-Identifier: GPL-2.0-only
/* Passive events as health events; see passive.h. */
#include "health/passive.h"

/* Per kind: its name, the health event it counts as, what happened. */
static const struct {
	const char *name;
	enum xlb_health_event ev;
	const char *detail;
} evk[XLB_EVK_MAX] = {
	[XLB_EVK_NONE] = {"none", XLB_EV_SUCCESS, "?"},
	[XLB_EVK_SYN_RETRANS] = {"syn_retransmit", XLB_EV_TIMEOUT, "SYN retransmitted"},
	[XLB_EVK_CLIENT_RST] = {"client_rst", XLB_EV_TCP_FAILURE, "bare RST from the client"},
	[XLB_EVK_NODE_RST] = {"node_rst", XLB_EV_TCP_FAILURE, "RST from the node (NAT)"},
	[XLB_EVK_NODE_OK] = {"node_ok", XLB_EV_SUCCESS, "SYN-ACK from the node (NAT)"},
};
_Static_assert(XLB_EVK_NODE_OK + 1 == XLB_EVK_MAX, "name every enum xlb_event_kind value");

const char *xlb_event_kind_name(unsigned int k)
{
	return k < XLB_EVK_MAX ? evk[k].name : "?";
}

enum xlb_health_event xlb_passive_health_event(unsigned int k)
{
	return evk[k].ev;
}

const char *xlb_passive_detail(unsigned int k)
{
	return evk[k].detail;
}
