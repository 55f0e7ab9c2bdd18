/* SPDX-License-Identifier: GPL-2.0-only */
/* Names of the ABI's enums, as the CLI, logs and metrics print them. */
#ifndef XLB_NAMES_H
#define XLB_NAMES_H

#include <xlb/abi.h>

const char *xlb_reason_name(unsigned int r);
const char *xlb_decap_reason_name(unsigned int r);
const char *xlb_state_name(unsigned int s);

#endif /* XLB_NAMES_H */
