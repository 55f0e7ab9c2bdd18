// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel feature probes and dry loads of xlb's programs (kernel.h).
 *
 * The feature list names what the programs in bpf/ use that an older
 * kernel may lack; it must follow bpf/ (a new helper or map type there is a
 * new row here). A kernel that has every feature may still refuse a
 * program in its verifier: xlb_prog_verify() finds that out without
 * touching any device, and keeps only the verifier's last message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/kernel.h"
#include "base/log.h"
#include "xlb_decap.skel.h"
#include "xlb_lb.skel.h"

/* The kernel's "operation not supported" (not in userspace's errno.h). */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

#define LB    (1u << XLB_PROG_LB)
#define DECAP (1u << XLB_PROG_DECAP)

static int probe_ret(int ret)
{
	return ret < 0 ? ret : ret > 0;
}

static int probe_xdp(void)
{
	return probe_ret(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL));
}

static int probe_percpu_array(void)
{
	return probe_ret(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_PERCPU_ARRAY, NULL));
}

static int probe_lru_hash(void)
{
	return probe_ret(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_HASH, NULL));
}

static int probe_array_of_maps(void)
{
	return probe_ret(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL));
}

static int probe_fib_lookup(void)
{
	return probe_ret(libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_fib_lookup, NULL));
}

static int probe_adjust_tail(void)
{
	return probe_ret(
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_adjust_tail, NULL));
}

static int probe_ringbuf(void)
{
	int ret = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);

	if (ret <= 0)
		return probe_ret(ret);
	return probe_ret(
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ringbuf_reserve, NULL));
}

/* The flow cache's maps: arrays userspace maps (flows.c reads them so). */
static int probe_mmapable_array(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_probe", 4, 64, 1, &opts);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == EINVAL ? 0 : -errno;
}

/* The flow cache's look into other CPUs' sets. */
static int probe_loop(void)
{
	return probe_ret(libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_loop, NULL));
}

static int probe_coarse_clock(void)
{
	return probe_ret(
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_coarse_ns, NULL));
}

/*
 * libbpf has no probe for atomic instructions: load the smallest program
 * with a 64-bit compare-and-exchange on the stack (what the NAT port
 * allocator does on a map value). Older verifiers answer EINVAL
 * ("BPF_STX uses reserved fields").
 */
static int probe_cmpxchg(void)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 0},
		{.code = BPF_STX | BPF_DW | BPF_MEM,
		 .dst_reg = BPF_REG_10,
		 .src_reg = BPF_REG_1,
		 .off = -8},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1},
		{.code = BPF_STX | BPF_DW | BPF_ATOMIC,
		 .dst_reg = BPF_REG_10,
		 .src_reg = BPF_REG_1,
		 .off = -8,
		 .imm = BPF_CMPXCHG},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
		{.code = BPF_JMP | BPF_EXIT},
	};
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xlb_probe", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	err = -errno;
	return err == -EINVAL ? 0 : err;
}

const struct xlb_kfeature xlb_kfeatures[] = {
	{"per-CPU array maps", "4.6", LB | DECAP, probe_percpu_array},
	{"XDP programs", "4.8", LB | DECAP, probe_xdp},
	{"LRU hash maps", "4.10", LB, probe_lru_hash},
	{"array-of-maps maps", "4.12", LB, probe_array_of_maps},
	{"bpf_fib_lookup() in XDP", "4.18", LB, probe_fib_lookup},
	{"bpf_xdp_adjust_tail() in XDP", "4.18", LB, probe_adjust_tail},
	{"mmapable BPF arrays", "5.5", LB, probe_mmapable_array},
	{"BPF ring buffer", "5.8", LB, probe_ringbuf},
	{"bpf_ktime_get_coarse_ns()", "5.11", LB, probe_coarse_clock},
	{"BPF atomic compare-and-exchange", "5.12", LB, probe_cmpxchg},
	{"bpf_loop()", "5.17", LB, probe_loop},
};
const size_t xlb_kfeatures_n = sizeof(xlb_kfeatures) / sizeof(xlb_kfeatures[0]);

const char *xlb_kernel_release(char *buf, size_t len)
{
	struct utsname u;

	snprintf(buf, len, "%s", uname(&u) ? "unknown" : u.release);
	return buf;
}

int xlb_kernel_check(enum xlb_prog_kind kind, char *why, size_t len)
{
	char rel[65];
	size_t i;
	int ret;

	why[0] = '\0';
	for (i = 0; i < xlb_kfeatures_n; i++) {
		const struct xlb_kfeature *f = &xlb_kfeatures[i];

		if (!(f->progs & (1u << kind)))
			continue;
		ret = f->probe();
		if (ret == 1)
			continue;
		if (ret == 0) {
			snprintf(why, len,
				 "this kernel (%s) lacks %s, which Linux %s brought; %s needs "
				 "Linux %s or later",
				 xlb_kernel_release(rel, sizeof(rel)), f->name, f->since,
				 xlb_prog_name(kind), XLB_KERNEL_MIN);
			return -EOPNOTSUPP;
		}
		snprintf(why, len, "cannot probe the kernel for %s: %s", f->name, strerror(-ret));
		return ret;
	}
	return 0;
}

/* The last non-empty line of a verifier log that is not its statistics. */
static void last_reason(const char *log, char *why, size_t len)
{
	const char *end = log + strlen(log), *p, *line;

	while (end > log) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		for (p = end; p > log && p[-1] != '\n'; p--)
			;
		line = p;
		if (end > line && strncmp(line, "processed ", 10) &&
		    strncmp(line, "verification time", 17) && strncmp(line, "stack depth", 11) &&
		    strncmp(line, "-- END PROG LOAD LOG --", 23)) {
			snprintf(why, len, "%.*s", (int)(end - line), line);
			return;
		}
		end = line;
	}
}

/* Hash tables at their smallest: a dry load needs no room for flows. */
static void shrink_maps(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map (map, obj) {
		enum bpf_map_type t = bpf_map__type(map);

		bpf_map__set_pin_path(map, NULL);
		if ((t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
		     t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_HASH) &&
		    bpf_map__max_entries(map) > 1024)
			bpf_map__set_max_entries(map, 1024);
	}
}

/*
 * One load of @kind with the verifier's log at @level into @log. The
 * skeleton is opened afresh each time (a failed load cannot be retried).
 */
static int load_once(enum xlb_prog_kind kind, __u32 level, char *log, size_t len)
{
	struct xlb_decap *decap = NULL;
	struct xlb_lb *lb = NULL;
	struct bpf_object *obj;
	struct bpf_program *prog;
	int err;

	if (kind == XLB_PROG_LB) {
		lb = xlb_lb__open();
		obj = lb ? lb->obj : NULL;
	} else {
		decap = xlb_decap__open();
		obj = decap ? decap->obj : NULL;
	}
	if (!obj)
		return -errno;
	shrink_maps(obj);
	log[0] = '\0';
	bpf_object__for_each_program(prog, obj)
	{
		bpf_program__set_log_level(prog, level);
		bpf_program__set_log_buf(prog, log, len);
	}
	xlb_log_libs_quiet(1);
	err = bpf_object__load(obj);
	xlb_log_libs_quiet(0);
	xlb_lb__destroy(lb);
	xlb_decap__destroy(decap);
	return err;
}

int xlb_prog_verify(enum xlb_prog_kind kind, __u32 *insns, char *why, size_t len)
{
	/* Level 1 logs every instruction visited: room for a large program. */
	const size_t big = 64u << 20, small = 64u << 10;
	char *log;
	const char *p;
	int err;

	*insns = 0;
	why[0] = '\0';
	log = malloc(small);
	if (!log)
		return -ENOMEM;
	/* Level 4: statistics only ("processed N insns ..."). */
	err = load_once(kind, 4, log, small);
	if (!err) {
		p = strstr(log, "processed ");
		if (p)
			*insns = strtoul(p + 10, NULL, 10);
		free(log);
		return 0;
	}
	free(log);
	log = malloc(big);
	if (!log) {
		snprintf(why, len, "%s", strerror(-err));
		return err;
	}
	err = load_once(kind, 1, log, big);
	if (err) {
		last_reason(log, why, len);
		if (!why[0])
			snprintf(why, len, "%s", strerror(-err));
	}
	free(log);
	return err;
}

int xlb_kernel_explain(enum xlb_prog_kind kind, int err, char *why, size_t len)
{
	char rel[65], reason[384];
	__u32 insns;

	if (err != -EINVAL && err != -EACCES && err != -E2BIG && err != -ENOSPC &&
	    err != -EOPNOTSUPP && err != -ENOTSUPP)
		return 0;
	if (!xlb_prog_verify(kind, &insns, reason, sizeof(reason)))
		return 0;
	snprintf(why, len,
		 "the verifier of this kernel (%s) refuses %s: %s; xlb needs Linux %s "
		 "or later ('xlb check' tells what this kernel lacks)",
		 xlb_kernel_release(rel, sizeof(rel)), xlb_prog_name(kind), reason, XLB_KERNEL_MIN);
	return 1;
}
