/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Another build of xlb_lb beside this one, for the benchmarks' -x
 * (bench_peer.c, trafficgen.c): this build's skeleton (its maps and
 * programs; the other build may have more) opened on the ELF bytes of an
 * object file, which stay allocated for the skeleton's life (destroying
 * the skeleton leaves them: a benchmark opens a few). The caller sizes,
 * loads and sets it up as the built-in one.
 */
#ifndef XLB_BENCH_LB_FILE_H
#define XLB_BENCH_LB_FILE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "xlb_lb.skel.h"

/* The opened skeleton, or NULL (said on stderr). */
static inline struct xlb_lb *xlb_lb_open_file(const char *path)
{
	struct xlb_lb *lb = NULL;
	FILE *f = fopen(path, "rb");
	void *elf = NULL;
	long len = -1;

	if (f && !fseek(f, 0, SEEK_END) && (len = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
	    (elf = malloc(len)) && fread(elf, 1, len, f) != (size_t)len)
		len = -1;
	if (f)
		fclose(f);
	if (!f || len <= 0 || !elf) {
		fprintf(stderr, "cannot read %s: %s\n", path, f ? "short read" : strerror(errno));
		goto fail;
	}
	lb = calloc(1, sizeof(*lb));
	if (!lb || xlb_lb__create_skeleton(lb))
		goto fail;
	lb->skeleton->data = elf;
	lb->skeleton->data_sz = len;
	if (bpf_object__open_skeleton(lb->skeleton, NULL)) {
		fprintf(stderr, "%s: cannot open as xlb_lb: %s\n", path, strerror(errno));
		goto fail;
	}
	/*
	 * The caller sets read-only globals through this build's struct: a
	 * build whose .rodata differs in size has them elsewhere.
	 */
	if (bpf_map__value_size(lb->maps.rodata) == sizeof(*lb->rodata))
		return lb;
	fprintf(stderr, "%s: its read-only globals are not this build's (%u bytes, not %zu)\n",
		path, bpf_map__value_size(lb->maps.rodata), sizeof(*lb->rodata));
fail:
	if (lb && lb->skeleton)
		xlb_lb__destroy(lb);
	else
		free(lb);
	free(elf);
	return NULL;
}

#endif /* XLB_BENCH_LB_FILE_H */
