/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the running kernel offers xlb: the BPF features its programs use,
 * probed with libbpf's feature probes (or a tiny program where libbpf has
 * none), each with the first Linux release that has it; and a dry load of
 * a program (no pins, no device) that reports how many instructions the
 * verifier processed, or the verifier's own reason for refusing it.
 * `xlb check`, `xlb attach` and xlbd use it to refuse a kernel with a
 * sentence instead of a verifier dump.
 */
#ifndef XLB_KERNEL_H
#define XLB_KERNEL_H

#include <stddef.h>
#include <linux/types.h>

#include "dataplane/attach.h"

/* The kernel xlb is tested on and supports (docs/kernels.md). */
#define XLB_KERNEL_MIN "6.1"

struct xlb_kfeature {
	const char *name;   /* "BPF ring buffer map" */
	const char *since;  /* first Linux release with it: "5.8" */
	unsigned int progs; /* 1 << XLB_PROG_LB | 1 << XLB_PROG_DECAP: who needs it */
	int (*probe)(void); /* 1 present, 0 absent, negative errno: cannot tell */
};

/* The features, in the order of the Linux release that brought them. */
extern const struct xlb_kfeature xlb_kfeatures[];
extern const size_t xlb_kfeatures_n;

/**
 * xlb_kernel_check() - does the running kernel have what @kind needs?
 * @why: on failure, a sentence naming the first missing feature, the
 *       release that has it and this kernel's release
 *
 * Return: 0; -EOPNOTSUPP when a feature is missing; another negative errno
 * when probing itself failed (no BPF permission, ...), with @why.
 */
int xlb_kernel_check(enum xlb_prog_kind kind, char *why, size_t len);

/**
 * xlb_prog_verify() - load @kind's program and maps into the kernel and
 * drop them again: nothing is pinned or attached, hash tables are created
 * small. @insns gets the verifier's count of processed instructions.
 * @why: on failure, the verifier's last message (one line) or the errno
 *
 * Return: 0 or a negative errno.
 */
int xlb_prog_verify(enum xlb_prog_kind kind, __u32 *insns, char *why, size_t len);

/**
 * xlb_kernel_explain() - why loading @kind failed with @err, when the
 * kernel's verifier is the reason (found by a dry load). For a caller that
 * ran xlb_kernel_check() first, so no feature is missing. 1 with the
 * sentence in @why, 0 when the kernel is not to blame.
 */
int xlb_kernel_explain(enum xlb_prog_kind kind, int err, char *why, size_t len);

/* uname's release of the running kernel, into buf. */
const char *xlb_kernel_release(char *buf, size_t len);

#endif /* XLB_KERNEL_H */
