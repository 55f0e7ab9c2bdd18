/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Passive checks: what each kind of the fast path's events (enum
 * xlb_event_kind, bpf/lib/passive.h) means to a node's health state
 * machine, and the words for it in metrics and log lines.
 */
#ifndef XLB_HEALTH_PASSIVE_H
#define XLB_HEALTH_PASSIVE_H

#include <xlb/abi.h>
#include "health/health.h"

/* "syn_retransmit", "client_rst", ...; "?" for an unknown kind. */
const char *xlb_event_kind_name(unsigned int k);
/* The health event an event of kind k counts as (k below XLB_EVK_MAX). */
enum xlb_health_event xlb_passive_health_event(unsigned int k);
/* What happened, for a health change's reason (k below XLB_EVK_MAX). */
const char *xlb_passive_detail(unsigned int k);

#endif /* XLB_HEALTH_PASSIVE_H */
