// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cost of passive health (bpf/lib/passive.h), measured on the real program
 * with BPF_PROG_TEST_RUN, one call of repeat=1 per sample, the kernel's own
 * per-call duration (so userspace work between calls is not counted):
 *   - an established flow's ACK (the path every packet takes: one flag test),
 *   - a client's SYN retransmission that emits an event (rate window reset
 *     and ring drained between calls, outside the timing),
 *   - the same once rate-limited (counted as event_dropped),
 *   - a first SYN (new flow), for scale.
 * Then the latency from the event's timestamp (bpf_ktime_get_ns in the
 * fast path) to a backend-state map write done by a ring-buffer consumer
 * woken through epoll, as the agent does (p50/p99). The agent's own figure,
 * state machine included, is its /metrics xlb_signal_flip_seconds.
 *   build/bench/bench_passive [calls]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "xlb_lb.skel.h"
#include "../tests/lib/bpftest.h"
#include "../tests/lib/pkt.h"

#define CLIENT4 "198.18.0.10"
#define BE4	"198.18.0.11"
#define VIP4	"198.18.100.1"
#define TBL	13

static struct xlb_lb *skel;
static int ncpu;

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* One run; its kernel-measured duration in ns. */
static int run(const struct pkt *in, __u32 *ns)
{
	struct xdp_md ctx = {.data_end = in->len, .ingress_ifindex = 1};
	static __u8 out[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xlb_lb), &o))
		return -errno;
	*ns = o.duration;
	return o.retval == XDP_TX ? 0 : -EPROTO;
}

static int setup(void)
{
	struct xlb_vip_key k = {.port = htons(80), .proto = IPPROTO_TCP};
	struct xlb_vip v = {.id = 1, .table_size = TBL};
	struct xlb_backend be = {.state = XLB_BE_ACTIVE};
	struct xlb_nexthop nh = {.ifindex = 1, .mtu = 1600, .updated_ns = 1ULL << 62};
	struct xlb_config cfg = {.hash_seed = 1};
	__u32 id = 1, zero = 0, slot;

	k.family = pkt_addr(VIP4, k.addr);
	be.family = pkt_addr(BE4, be.addr);
	for (slot = 0; slot < TBL; slot++)
		if (bpftest_slots_write(skel, slot, &id, 1))
			return -errno;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xlb_vips), &k, &v, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.xlb_backends), &id, &be, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.xlb_config), &zero, &cfg, 0))
		return -errno;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.xlb_nexthops), &id, &nh, 0) ? -errno : 0;
}

struct lat {
	__u64 *v;
	size_t n;
};

/* Consumer: flip the backend's state (one map write), note ts -> done. */
static int on_event(void *ctx, void *data, size_t size)
{
	const struct xlb_event *ev = data;
	struct lat *l = ctx;
	struct xlb_backend be;
	__u32 id = ev->backend_id;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xlb_backends), &id, &be))
		return 0;
	be.state = XLB_BE_ACTIVE; /* the write the agent does, kept usable */
	bpf_map_update_elem(bpf_map__fd(skel->maps.xlb_backends), &id, &be, BPF_ANY);
	l->v[l->n++] = mono_ns() - ev->ts_ns;
	return 0;
}

static void report(const char *name, __u64 *v, size_t n, double div)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("| %-40s | %9.1f | %9.1f | %9.1f |\n", name, v[n / 2] / div, v[n * 99 / 100] / div,
	       v[n - 1] / div);
}

int main(int argc, char **argv)
{
	size_t calls = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000, i;
	struct pkt_spec syn = {.src = CLIENT4,
			       .dst = VIP4,
			       .proto = IPPROTO_TCP,
			       .sport = 40000,
			       .dport = 80,
			       .tcp_flags = 0x02};
	struct pkt_spec ack = syn;
	struct pkt p_syn, p_ack, p_new;
	struct ring_buffer *rb;
	const struct xlb_event_rate zero_rate = {};
	struct lat l = {};
	__u64 *t;
	__u32 ns, id = 1;
	int err;

	bpftest_libbpf_quiet();
	ack.tcp_flags = 0x10;
	err = bpftest_lb_open(&skel, &ncpu, 1 << 16);
	if (err)
		return bpftest_cannot_load("xlb_lb", strerror(-err));
	err = setup();
	t = calloc(calls, sizeof(*t));
	l.v = calloc(calls, sizeof(*l.v));
	rb = ring_buffer__new(bpf_map__fd(skel->maps.xlb_events), on_event, &l, NULL);
	if (err || !t || !l.v || !rb || pkt_build(&p_syn, &syn) || pkt_build(&p_ack, &ack)) {
		fprintf(stderr, "setup: %s\n", strerror(err ? -err : errno));
		return 1;
	}
	if (run(&p_syn, &ns)) /* the flow */
		return 1;
	printf("xlb passive health: %zu calls each, ns per packet (kernel test-run duration, "
	       "repeat=1)\n| %-40s | %9s | %9s | %9s |\n|---|---|---|---|\n",
	       calls, "case", "p50", "p99", "max");

	for (i = 0; i < calls; i++)
		if (run(&p_ack, &ns) ? 1 : (t[i] = ns, 0))
			return 1;
	report("established ACK (flag test only)", t, calls, 1);

	for (i = 0; i < calls; i++) {
		bpf_map_update_elem(bpf_map__fd(skel->maps.xlb_event_rate), &id, &zero_rate, 0);
		if (run(&p_syn, &ns))
			return 1;
		t[i] = ns;
		ring_buffer__consume(rb);
	}
	report("SYN retransmit -> event emitted", t, calls, 1);
	l.n = 0;

	for (i = 0; i < calls; i++)
		if (run(&p_syn, &ns) ? 1 : (t[i] = ns, 0))
			return 1;
	ring_buffer__consume(rb);
	l.n = 0;
	report("SYN retransmit, rate-limited (dropped)", t, calls, 1);

	for (i = 0; i < calls; i++) {
		syn.sport = 1024 + i % 60000;
		syn.src = i & 1 ? "198.18.1.10" : CLIENT4;
		if (pkt_build(&p_new, &syn) || run(&p_new, &ns))
			return 1;
		t[i] = ns;
		ring_buffer__consume(rb);
		l.n = 0;
	}
	report("new-flow SYN (for scale; flow inserts)", t, calls, 1);

	/* Event -> consumer's map write, the consumer blocked in epoll. */
	l.n = 0;
	syn.src = CLIENT4;
	syn.sport = 40000;
	pkt_build(&p_syn, &syn);
	for (i = 0; i < calls / 10 && i < 10000; i++) {
		bpf_map_update_elem(bpf_map__fd(skel->maps.xlb_event_rate), &id, &zero_rate, 0);
		run(&p_syn, &ns);
		ring_buffer__poll(rb, 100);
	}
	if (l.n)
		report("event ts -> consumer map write (us)", l.v, l.n, 1000);
	printf("(the same process produces and consumes here; the agent's end-to-end figure "
	       "is xlb_signal_flip_seconds)\n");
	ring_buffer__free(rb);
	xlb_lb__destroy(skel);
	return 0;
}
