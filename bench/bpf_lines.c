// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where each source line of a loaded BPF program landed in its JIT image:
 * one line per record of the kernel's JIT line table, "ADDRESS FILE:LINE
 * SOURCE", the address in hex (kernel text), the source from the
 * program's BTF. bench/wire_profile.sh maps perf's samples of a program
 * onto these to give its time by source line.
 *
 *   bpf_lines PROG_ID
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* The line tables of the program behind fd: line info and JIT addresses. */
static int line_tables(int fd, struct bpf_line_info **li, __u64 **jl, __u32 *n, __u32 *btf_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), nl, njl;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	nl = info.nr_line_info;
	njl = info.nr_jited_line_info;
	if (!nl || nl != njl || !info.btf_id)
		return -ENODATA;
	*li = calloc(nl, sizeof(**li));
	*jl = calloc(njl, sizeof(**jl));
	if (!*li || !*jl)
		return -ENOMEM;
	*btf_id = info.btf_id;
	memset(&info, 0, sizeof(info));
	info.nr_line_info = nl;
	info.line_info_rec_size = sizeof(**li);
	info.line_info = (__u64)(unsigned long)*li;
	info.nr_jited_line_info = njl;
	info.jited_line_info_rec_size = sizeof(**jl);
	info.jited_line_info = (__u64)(unsigned long)*jl;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	/* Addresses withheld (kernel.kptr_restrict): all zero. */
	if (!info.jited_line_info || !(*jl)[0])
		return -EPERM;
	*n = nl;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_line_info *li = NULL;
	const char *file, *src, *base;
	struct btf *btf;
	__u64 *jl = NULL;
	__u32 n = 0, btf_id = 0, i;
	char *end;
	long id;
	int fd, err;

	if (argc != 2 || (id = strtol(argv[1], &end, 10)) <= 0 || *end) {
		fprintf(stderr, "usage: bpf_lines PROG_ID\n");
		return 2;
	}
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0) {
		fprintf(stderr, "bpf_lines: program %ld: %s\n", id, strerror(errno));
		return 1;
	}
	err = line_tables(fd, &li, &jl, &n, &btf_id);
	if (err) {
		fprintf(stderr, "bpf_lines: program %ld: no JIT line table: %s\n", id,
			strerror(-err));
		return 1;
	}
	btf = btf__load_from_kernel_by_id(btf_id);
	if (!btf) {
		fprintf(stderr, "bpf_lines: BTF %u: %s\n", btf_id, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		file = btf__name_by_offset(btf, li[i].file_name_off);
		src = btf__name_by_offset(btf, li[i].line_off);
		base = file ? strrchr(file, '/') : NULL;
		printf("%llx %s:%u %s\n", (unsigned long long)jl[i],
		       base   ? base + 1
		       : file ? file
			      : "?",
		       BPF_LINE_INFO_LINE_NUM(li[i].line_col), src ? src : "");
	}
	btf__free(btf);
	free(li);
	free(jl);
	return 0;
}
