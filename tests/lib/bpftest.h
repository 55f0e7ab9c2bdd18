/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The harness of the BPF_PROG_TEST_RUN test programs (tests/bpf/): a
 * skeleton's maps kept private (never pinned), one XDP test run, per-CPU
 * values read, written and summed over every possible CPU, the reason
 * counters a case must bump, and the report: "ok N - name",
 * "ok N - name # SKIP why" or "not ok N - name: why" per case, then
 * "P passed, F failed" (after "# S skipped" when any were). The skip lines
 * (and "# SKIP why" of a program that cannot load) are the ones
 * tests/run.sh counts.
 */
#ifndef XLB_TEST_BPFTEST_H
#define XLB_TEST_BPFTEST_H

#include <stddef.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "pkt.h"

#define BPFTEST_MSG_MAX	    512
#define BPFTEST_REASONS_MAX 32 /* reason counters of one program */

/* The report of one test program, and why the running case failed. */
struct bpftest {
	char msg[BPFTEST_MSG_MAX]; /* the first reason given; "" if none */
	int passed, failed, skipped;
};

/**
 * bpftest_fail() - note why the running case failed; the first reason
 * given is the one kept and reported
 * Return: -1, for `return bpftest_fail(t, ...);`
 */
__attribute__((format(printf, 2, 3))) int bpftest_fail(struct bpftest *t, const char *fmt, ...);

/**
 * bpftest_result() - report case @n (from 1): @err 0 passed, > 0 skipped,
 * < 0 failed, with the reason in @t->msg; then forget that reason
 */
void bpftest_result(struct bpftest *t, int n, const char *name, int err);

/**
 * bpftest_summary() - print "# S skipped" (when any were) and
 * "P passed, F failed"
 * Return: the exit status: 1 if a case failed, else 0.
 */
int bpftest_summary(const struct bpftest *t);

/**
 * bpftest_cannot_load() - report that program @prog could not be loaded,
 * for reason @why, with an empty "0 passed, 0 failed" summary
 * Return: 77, the exit status of a skipped test program.
 */
int bpftest_cannot_load(const char *prog, const char *why);

/* libbpf prints its warnings and errors, not its debug output. */
void bpftest_libbpf_quiet(void);

/**
 * bpftest_prepare() - between a skeleton's open and load: keep every map
 * of @obj private (never pinned, never a pinned one reused) and count the
 * possible CPUs into @ncpu
 * Return: 0 or a negative errno.
 */
int bpftest_prepare(struct bpf_object *obj, int *ncpu);

struct xlb_lb;
/**
 * bpftest_lb_open() - open xlb_lb's skeleton into @skel (set as soon as it
 * is open: the caller destroys it, also on failure), prepare it
 * (bpftest_prepare), size its flow table to @flows and its table space to
 * BPFTEST_SLOTS slots, and load it
 * Return: 0 or a negative errno.
 */
int bpftest_lb_open(struct xlb_lb **skel, int *ncpu, __u32 flows);
/* bpftest_lb_open() with a SYN table of 2^@syn_bits slots (the map only). */
int bpftest_lb_open_syns(struct xlb_lb **skel, int *ncpu, __u32 flows, unsigned int syn_bits);
/*
 * What bpftest_lb_open_syns() does between open and load, for a skeleton
 * opened otherwise (another build's object file: bench/bench_xdp.h).
 */
int bpftest_lb_size(struct xlb_lb *skel, int *ncpu, __u32 flows, unsigned int syn_bits);
/* Empty the flow cache (xlb_fc4, xlb_fc6) of every CPU. */
int bpftest_fc_clear(struct xlb_lb *skel);
/* Flows of every kind (the cache's ways of every CPU, xlb_flows' entries); -errno. */
struct xlb_maps;
long bpftest_flows_count(struct xlb_maps *m);

#define BPFTEST_SLOTS	 (1U << 19) /* table space of a test's skeleton */
#define BPFTEST_SYN_BITS 10	    /* its SYN table: 2^10 slots */

/**
 * bpftest_slots_write() - set slots [@off, @off + @n) of the table space
 * (xlb_chains, written through mmap) to chains whose primaries are the
 * backend ids in @ids (none if @ids is NULL), without secondaries
 * Return: 0 or a negative errno.
 */
int bpftest_slots_write(struct xlb_lb *skel, __u32 off, const __u32 *ids, __u32 n);
/* bpftest_chains_write() - set slots [@off, @off + @n) to @chains (struct xlb_slot packing). */
int bpftest_chains_write(struct xlb_lb *skel, __u32 off, const __u64 *chains, __u32 n);

/**
 * bpftest_run() - run XDP program @prog_fd once on frame @in, received on
 * device @ifindex, into @out and @verdict
 * Return: 0 or the test run's negative errno.
 */
int bpftest_run(int prog_fd, __u32 ifindex, const struct pkt *in, struct pkt *out, __u32 *verdict);

/* "XDP_PASS" for XDP_PASS ...; "unknown verdict" for a value beyond them. */
const char *bpftest_verdict_name(__u32 v);

/**
 * bpftest_percpu_read() - every CPU's copy of the @size-byte value at @key
 * (copy i at i * @size rounded up to 8)
 * Return: a buffer to free(), or NULL with errno set.
 */
void *bpftest_percpu_read(struct bpf_map *map, __u32 key, int ncpu, size_t size);

/**
 * bpftest_percpu_write() - write @val (NULL: zeros) of @size bytes as
 * every CPU's copy of the value at @key
 * Return: 0 or a negative errno.
 */
int bpftest_percpu_write(struct bpf_map *map, __u32 key, int ncpu, const void *val, size_t size);

/**
 * bpftest_percpu_sum() - sum a value made of @n __u64 fields over every
 * CPU into @sum (zeroed first)
 * Return: 0 or a negative errno.
 */
int bpftest_percpu_sum(struct bpf_map *map, __u32 key, int ncpu, __u64 *sum, size_t n);

/**
 * bpftest_blocks_write() - write @val (NULL: zeros) of @size bytes at @key
 * of every CPU's block of a plain array laid out as a block of @stride
 * entries per CPU (CPU c's entry for key k is c * @stride + k)
 * Return: 0 or a negative errno.
 */
int bpftest_blocks_write(struct bpf_map *map, __u32 key, int ncpu, __u32 stride, const void *val,
			 size_t size);

/**
 * bpftest_blocks_sum() - sum a value made of @n __u64 fields at @key over
 * every CPU's block (as bpftest_blocks_write()) into @sum (zeroed first)
 * Return: 0 or a negative errno.
 */
int bpftest_blocks_sum(struct bpf_map *map, __u32 key, int ncpu, __u32 stride, __u64 *sum,
		       size_t n);

/*
 * A program's reason counters ({packets, bytes} per reason), a block of
 * XLB_R_SLOTS per CPU (xlb_reasons, xlb_decap_stats).
 */
struct bpftest_reasons {
	struct bpf_map *map;
	int ncpu;
	__u32 n;			      /* reasons: XLB_R_MAX, XLB_D_MAX */
	const char *(*name)(unsigned int r);  /* xlb_reason_name ... */
	__u64 before[BPFTEST_REASONS_MAX][2]; /* at bpftest_reasons_snap() */
};

/**
 * bpftest_reasons_snap() - remember every counter, before a case's run
 * Return: 0, or -1 with the reason in @t.
 */
int bpftest_reasons_snap(struct bpftest *t, struct bpftest_reasons *r);

/**
 * bpftest_expect_verdict() - the run's verdict @got is @want; if not, the
 * reasons counted since the snapshot are part of the failure
 * Return: 0, or -1 with the reason in @t.
 */
int bpftest_expect_verdict(struct bpftest *t, const struct bpftest_reasons *r, __u32 got,
			   __u32 want);

/**
 * bpftest_expect_reason() - since the snapshot, @reason counted exactly one
 * packet of @len bytes
 * Return: 0, or -1 with the reason in @t.
 */
int bpftest_expect_reason(struct bpftest *t, const struct bpftest_reasons *r, __u32 reason,
			  size_t len);

#endif /* XLB_TEST_BPFTEST_H */
