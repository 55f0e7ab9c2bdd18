// SPDX-License-Identifier: GPL-2.0-only
/* Names of the ABI's enums; a missing entry is a build error (see below). */
#include "dataplane/names.h"

static const char *const reason_names[XLB_R_MAX] = {
	[XLB_R_FWD_ENCAP] = "fwd_encap",
	[XLB_R_FWD_L2] = "fwd_l2",
	[XLB_R_FWD_ICMP] = "fwd_icmp",
	[XLB_R_PASS_NOT_IP] = "pass_not_ip",
	[XLB_R_PASS_NOT_VIP] = "pass_not_vip",
	[XLB_R_PASS_FRAGMENT] = "pass_fragment",
	[XLB_R_PASS_PROTO] = "pass_proto",
	[XLB_R_PASS_NO_NEIGH] = "pass_no_neigh",
	[XLB_R_PASS_FIB] = "pass_fib",
	[XLB_R_PASS_MALFORMED] = "pass_malformed",
	[XLB_R_DROP_NO_BACKEND] = "drop_no_backend",
	[XLB_R_DROP_NO_TABLE] = "drop_no_table",
	[XLB_R_DROP_FAMILY] = "drop_family",
	[XLB_R_DROP_TOO_BIG] = "drop_too_big",
	[XLB_R_TX_TOO_BIG] = "tx_too_big",
	[XLB_R_DROP_HEADROOM] = "drop_headroom",
	[XLB_R_FLOW_REPICK] = "flow_repick",
	[XLB_R_REPROBE] = "reprobe",
	[XLB_R_EVENT] = "event",
	[XLB_R_EVENT_DROPPED] = "event_dropped",
	[XLB_R_FWD_NAT] = "fwd_nat",
	[XLB_R_TX_NAT_REPLY] = "tx_nat_reply",
	[XLB_R_PASS_NAT_NO_ENTRY] = "pass_nat_no_entry",
	[XLB_R_DROP_NAT_PORTS] = "drop_nat_ports",
	[XLB_R_DROP_NAT_SRC] = "drop_nat_src",
	[XLB_R_NAT_RST_UNCONFIRMED] = "nat_rst_unconfirmed",
	[XLB_R_PASS_CLIENT] = "pass_client",
	[XLB_R_FWD_GUE] = "fwd_gue",
	[XLB_R_GUE_HOPS] = "gue_hops",
	[XLB_R_HOP_DOWN] = "hop_down",
};
_Static_assert(XLB_R_HOP_DOWN + 1 == XLB_R_MAX, "name every enum xlb_reason value");

static const char *const decap_names[XLB_D_MAX] = {
	[XLB_D_DECAP] = "decap",
	[XLB_D_PASS_NOT_TUNNEL] = "pass_not_tunnel",
	[XLB_D_PASS_NOT_VIP] = "pass_not_vip",
	[XLB_D_PASS_MALFORMED] = "pass_malformed",
	[XLB_D_DROP_HEADROOM] = "drop_headroom",
	[XLB_D_GUE] = "gue",
};
_Static_assert(XLB_D_GUE + 1 == XLB_D_MAX, "name every enum xlb_decap_reason value");

static const char *const state_names[XLB_BE_STATE_MAX] = {
	[XLB_BE_UNUSED] = "unused",
	[XLB_BE_ACTIVE] = "active",
	[XLB_BE_DRAINING] = "draining",
	[XLB_BE_DOWN] = "down",
};

const char *xlb_reason_name(unsigned int r)
{
	return r < XLB_R_MAX && reason_names[r] ? reason_names[r] : "?";
}

const char *xlb_decap_reason_name(unsigned int r)
{
	return r < XLB_D_MAX && decap_names[r] ? decap_names[r] : "?";
}

const char *xlb_state_name(unsigned int s)
{
	return s < XLB_BE_STATE_MAX && state_names[s] ? state_names[s] : "?";
}
