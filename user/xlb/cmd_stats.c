// SPDX-License-Identifier: GPL-2.0-only
/* xlb stats | flows | pick: what the fast path did and would do. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xlb/flowcache.h>
#include <xlb/hash.h>

#include "base/addr.h"
#include "batch_maps.h"
#include "cli.h"
#include "dataplane/maps.h"
#include "dataplane/names.h"
#include "dataplane/conns.h"
#include "dataplane/pick.h"

static void backend_str(struct xlb_maps *m, __u32 id, char *buf, size_t len)
{
	struct xlb_backend b;

	if (xlb_backend_get(m, id, &b))
		snprintf(buf, len, "#%u", id);
	else
		xlb_backend_label(&b, buf, len);
}

/* --- stats -------------------------------------------------------------- */

/* One snapshot of every counter, as JSON (rates computed against prev). */
struct snap_ctx {
	struct xlb_maps *m;
	json_t *vips;
};

static json_t *traffic_json(const struct xlb_traffic *t)
{
	return json_pack("{s:I, s:I, s:I}", "packets", (json_int_t)t->packets, "bytes",
			 (json_int_t)t->bytes, "new_flows", (json_int_t)t->new_flows);
}

static int snap_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct snap_ctx *s = arg;
	struct xlb_traffic t = {};
	char name[XLB_VIPSTRLEN];

	xlb_vip_str(k, name, sizeof(name));
	xlb_stats_vip(s->m, v->id, &t);
	json_object_set_new(s->vips, name, traffic_json(&t));
	return 0;
}

static int snap_member(const struct xlb_member_key *k, const struct xlb_member *v, void *arg)
{
	struct snap_ctx *s = arg;
	struct xlb_traffic t = {};
	char name[XLB_VIPSTRLEN];
	json_t *backends = json_object_get(s->vips, "\x01"), *o;
	__u64 active;

	backend_str(s->m, k->backend_id, name, sizeof(name));
	if (json_object_get(backends, name))
		return 0;
	xlb_stats_backend(s->m, k->backend_id, &t);
	o = traffic_json(&t);
	/* least_conn's count of the backend's open flows (bpf/lib/lconn.h). */
	if (!xlb_conns_get(s->m, k->backend_id, &active))
		json_object_set_new(o, "active_flows", json_integer((json_int_t)active));
	json_object_set_new(backends, name, o);
	return 0;
}

static int count_nat(const struct xlb_flow_key *k, const struct xlb_nat_fwd *f, void *arg)
{
	struct xlb_nat_fwd *seen = arg;

	seen->backend_id++;
	return 0;
}

struct nat_nodes_ctx {
	struct xlb_maps *m;
	json_t *nodes;
};

static int nat_node(const struct xlb_member_key *k, const struct xlb_member *v, void *arg)
{
	struct nat_nodes_ctx *n = arg;
	struct xlb_nat_node h;
	char name[XLB_VIPSTRLEN];

	backend_str(n->m, k->backend_id, name, sizeof(name));
	if (json_object_get(n->nodes, name) || xlb_nat_node_read(n->m, k->backend_id, &h) ||
	    (!h.synacks && !h.node_rsts))
		return 0;
	json_object_set_new(n->nodes, name,
			    json_pack("{s:f, s:I, s:I}", "synack_ewma_ms", h.synack_ewma_s * 1e3,
				      "synacks", (json_int_t)h.synacks, "node_rsts",
				      (json_int_t)h.node_rsts));
	return 0;
}

/*
 * NAT: connections in the table (a walk of its keys), its memory, the
 * translation counters, per node the SYN-ACK latency EWMA and RSTs.
 */
static json_t *nat_snapshot(struct xlb_maps *m, const struct xlb_reason_count *r)
{
	struct nat_nodes_ctx n = {.m = m, .nodes = json_object()};
	struct xlb_nat_fwd count = {};
	struct xlb_nat_mem mem = {};

	xlb_nat_foreach(m, count_nat, &count);
	xlb_nat_memory(m, &mem);
	xlb_member_foreach(m, nat_node, &n);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "connections",
			 (json_int_t)count.backend_id, "capacity", (json_int_t)mem.capacity,
			 "memory_bytes", (json_int_t)mem.bytes, "entry_bytes",
			 (json_int_t)mem.entry_bytes, "translations",
			 (json_int_t)r[XLB_R_FWD_NAT].packets, "replies",
			 (json_int_t)r[XLB_R_TX_NAT_REPLY].packets, "unmatched_replies",
			 (json_int_t)r[XLB_R_PASS_NAT_NO_ENTRY].packets, "port_failures",
			 (json_int_t)r[XLB_R_DROP_NAT_PORTS].packets, "nodes", n.nodes);
}

static json_t *snapshot(struct xlb_maps *m)
{
	struct xlb_reason_count r[XLB_R_MAX] = {};
	struct snap_ctx s = {.m = m, .vips = json_object()};
	json_t *reasons = json_object(), *backends = json_object(), *out;
	unsigned int i;

	xlb_vip_foreach(m, snap_vip, &s);
	/* Backends collected in a hidden slot of the VIP object, then moved. */
	json_object_set(s.vips, "\x01", backends);
	xlb_member_foreach(m, snap_member, &s);
	json_object_del(s.vips, "\x01");
	if (!xlb_stats_reasons(m, r))
		for (i = 0; i < XLB_R_MAX; i++)
			json_object_set_new(reasons, xlb_reason_name(i),
					    json_pack("{s:I, s:I}", "packets",
						      (json_int_t)r[i].packets, "bytes",
						      (json_int_t)r[i].bytes));
	out = json_pack("{s:o, s:o, s:o, s:o}", "vips", s.vips, "backends", backends, "reasons",
			reasons, "nat", nat_snapshot(m, r));
	return out;
}

static double counter(json_t *obj, const char *name, const char *field)
{
	return (double)json_integer_value(json_object_get(json_object_get(obj, name), field));
}

static void print_group(const char *title, json_t *now, json_t *prev, double secs, int names_w)
{
	const char *name;
	json_t *v;

	printf("%s\n", title);
	json_object_foreach (now, name, v) {
		double p = counter(now, name, "packets"), b = counter(now, name, "bytes");

		if (prev)
			printf("  %-*s %12.0f pkt/s %14.0f bit/s %10.0f flows/s", names_w, name,
			       (p - counter(prev, name, "packets")) / secs,
			       (b - counter(prev, name, "bytes")) * 8 / secs,
			       (counter(now, name, "new_flows") -
				counter(prev, name, "new_flows")) /
				       secs);
		else if (json_object_get(v, "new_flows"))
			printf("  %-*s %12.0f pkts %14.0f bytes %10.0f flows", names_w, name, p, b,
			       counter(now, name, "new_flows"));
		else if (p)
			printf("  %-*s %12.0f pkts %14.0f bytes", names_w, name, p, b);
		else
			continue;
		/* Backends of least_conn VIPs: their open flows now. */
		if (counter(now, name, "active_flows"))
			printf(" %8.0f active", counter(now, name, "active_flows"));
		printf("\n");
	}
}

static double nat_num(json_t *nat, const char *k)
{
	return (double)json_integer_value(json_object_get(nat, k));
}

static void print_nat(json_t *nat, json_t *prev, double secs)
{
	const char *name;
	json_t *v;

	if (!nat_num(nat, "connections") && !nat_num(nat, "translations") &&
	    !nat_num(nat, "unmatched_replies"))
		return;
	printf("NAT:\n  connections %.0f of %.0f (%.0f bytes of maps, %.0f bytes of keys and "
	       "values each)\n",
	       nat_num(nat, "connections"), nat_num(nat, "capacity"), nat_num(nat, "memory_bytes"),
	       nat_num(nat, "entry_bytes"));
	if (prev)
		printf("  translations %.0f/s  replies %.0f/s  unmatched replies %.0f/s  "
		       "port failures %.0f/s\n",
		       (nat_num(nat, "translations") - nat_num(prev, "translations")) / secs,
		       (nat_num(nat, "replies") - nat_num(prev, "replies")) / secs,
		       (nat_num(nat, "unmatched_replies") - nat_num(prev, "unmatched_replies")) /
			       secs,
		       (nat_num(nat, "port_failures") - nat_num(prev, "port_failures")) / secs);
	else
		printf("  translations %.0f  replies %.0f  unmatched replies %.0f  "
		       "port failures %.0f\n",
		       nat_num(nat, "translations"), nat_num(nat, "replies"),
		       nat_num(nat, "unmatched_replies"), nat_num(nat, "port_failures"));
	json_object_foreach (json_object_get(nat, "nodes"), name, v)
		printf("  node %-30s SYN-ACK EWMA %8.3f ms  %8.0f SYN-ACKs  %6.0f RSTs\n", name,
		       json_real_value(json_object_get(v, "synack_ewma_ms")), nat_num(v, "synacks"),
		       nat_num(v, "node_rsts"));
}

static void print_snapshot(json_t *now, json_t *prev, double secs)
{
	print_group("VIPs:", json_object_get(now, "vips"), json_object_get(prev, "vips"), secs, 32);
	print_group("Backends:", json_object_get(now, "backends"),
		    json_object_get(prev, "backends"), secs, 32);
	print_group(prev ? "Reasons:" : "Reasons (non-zero):", json_object_get(now, "reasons"),
		    json_object_get(prev, "reasons"), secs, 32);
	print_nat(json_object_get(now, "nat"), json_object_get(prev, "nat"), secs);
}

/*
 * stats --zero [--vip VIP] (ipvsadm -Z): every VIP, backend and reason
 * counter, or those of one VIP and its backends. A backend shared with
 * another VIP is zeroed for both: its counters are the backend's.
 */
static int stats_zero(struct xlb_cli *c, const char *vip_s)
{
	struct xlb_member_key *mk = NULL;
	struct xlb_member *mv = NULL;
	struct xlb_vip_key k;
	struct xlb_vip v;
	struct xlb_maps m;
	__u32 *ids, nvips = XLB_MAX_VIPS, nbe = 0, i;
	char err_s[200];
	size_t nm = 0;
	int ret, err;

	if (vip_s && xlb_vip_parse(vip_s, &k, err_s, sizeof(err_s)))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err_s);
	ret = xlb_cli_open_maps(c, &m, 1);
	if (ret)
		return ret;
	ids = calloc(XLB_MAX_BACKENDS, sizeof(*ids));
	err = ids ? 0 : -ENOMEM;
	if (!err && vip_s) {
		err = xlb_vip_get(&m, &k, &v);
		if (err == -ENOENT) {
			ret = xlb_cli_err(c, XLB_EXIT_FAIL, "VIP %s does not exist", vip_s);
			goto out;
		}
		if (!err)
			err = xlb_bm_members_read(&m, &mk, &mv, &nm);
		for (i = 0; !err && i < nm; i++)
			if (mk[i].vip_id == v.id)
				ids[nbe++] = mk[i].backend_id;
		nvips = 1;
		if (!err)
			err = xlb_bm_vips_zero(&m, &v.id, 1);
	} else if (!err) {
		for (i = 0; i < XLB_MAX_VIPS; i++)
			ids[i] = i;
		err = xlb_bm_vips_zero(&m, ids, XLB_MAX_VIPS);
		for (nbe = 0; nbe < XLB_MAX_BACKENDS; nbe++)
			ids[nbe] = nbe;
		if (!err)
			err = xlb_bm_reasons_zero(&m);
	}
	if (!err)
		err = xlb_bm_backends_zero(&m, ids, nbe, 0);
	if (err)
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "stats --zero: %s", xlb_cli_strerror(err));
	else if (c->json)
		xlb_cli_json(json_pack("{s:{s:s?, s:i, s:i, s:b}}", "zeroed", "vip", vip_s, "vips",
				       nvips, "backends", nbe, "reasons", !vip_s));
	else if (vip_s)
		printf("zeroed the counters of VIP %s and of its %u backends\n", vip_s, nbe);
	else
		printf("zeroed every VIP, backend and reason counter\n");
out:
	free(mk);
	free(mv);
	free(ids);
	xlb_maps_close(&m);
	return ret;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

int xlb_cmd_stats(struct xlb_cli *c, int argc, char **argv)
{
	const char *count_s = NULL, *vip_s = NULL, *pos[1];
	int watch = 0, zero = 0, npos, ret, tty = isatty(STDOUT_FILENO);
	const struct xlb_opt opts[] = {{"watch", NULL, &watch},
				       {"count", &count_s},
				       {"zero", NULL, &zero},
				       {"vip", &vip_s},
				       {}};
	__u32 secs = 1, count = 0, i;
	struct timespec t0, t1;
	json_t *prev = NULL, *now;
	struct xlb_maps m;

	ret = xlb_cli_parse(c, argc, argv, opts, pos, 0, 1, &npos,
			    "stats [--watch [SECONDS]] [--count N] | stats --zero [--vip VIP]");
	if (ret || npos < 0)
		return ret;
	if (vip_s && !zero)
		return xlb_cli_err(c, XLB_EXIT_USAGE, "stats: --vip goes with --zero");
	if (zero && (watch || count_s || npos))
		return xlb_cli_err(c, XLB_EXIT_USAGE,
				   "stats: --zero takes no --watch, --count or interval");
	if (zero)
		return stats_zero(c, vip_s);
	if (npos == 1 && (!watch || xlb_u32_parse(pos[0], 1, 3600, &secs)))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "stats: '%s' is not a watch interval 1-3600",
				   pos[0]);
	if (count_s && xlb_u32_parse(count_s, 1, 1U << 30, &count))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--count '%s' is not a positive number",
				   count_s);
	ret = xlb_cli_open_maps(c, &m, 0);
	if (ret)
		return ret;
	if (!watch) {
		now = snapshot(&m);
		if (c->json)
			xlb_cli_json(now);
		else {
			print_snapshot(now, NULL, 0);
			json_decref(now);
		}
		xlb_maps_close(&m);
		return XLB_EXIT_OK;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	prev = snapshot(&m);
	for (i = 0; !stop && (!count || i < count); i++) {
		sleep(secs);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		now = snapshot(&m);
		double dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

		if (c->json) {
			json_object_set_new(now, "interval_s", json_real(dt));
			xlb_cli_json(json_incref(now));
		} else {
			if (tty)
				printf("\033[H\033[2J");
			print_snapshot(now, prev, dt > 0 ? dt : 1);
			printf("\n");
			fflush(stdout);
		}
		json_decref(prev);
		prev = now;
		t0 = t1;
	}
	json_decref(prev);
	xlb_maps_close(&m);
	return XLB_EXIT_OK;
}

/* --- flows -------------------------------------------------------------- */

struct flows_ctx {
	struct xlb_cli *c;
	struct xlb_maps *m;
	int one;
	__u32 vip_id, limit, n;
	__u64 now, now_fine;
	struct xlb_config cfg;
	json_t *out;
	struct xlb_vip *gue; /* by VIP id: the GUE VIPs (others zeroed) */
};

static int note_gue_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct xlb_vip *gue = arg;

	if (v->flags & XLB_VIP_F_GUE && v->id < XLB_MAX_VIPS)
		gue[v->id] = *v;
	return 0;
}

/*
 * " then A, B" for a flow of a GUE VIP: the hops its packets carry, where
 * a backend that does not hold the connection hands it (second chance);
 * into @hops as JSON too. "" for other VIPs.
 */
static void flow_hops(struct flows_ctx *f, const struct xlb_flow_key *k, __u32 vip_id, char *buf,
		      size_t len, json_t *hops)
{
	const struct xlb_vip *vip = f->gue ? &f->gue[vip_id] : NULL;
	char name[XLB_VIPSTRLEN];
	__u32 ids[XLB_GUE_HOPS];
	unsigned int n, i;
	size_t o = 0;

	buf[0] = 0;
	if (!vip || !(vip->flags & XLB_VIP_F_GUE))
		return;
	n = xlb_pick_hops(f->m,
			  xlb_pick_slot_chain(f->m, vip,
					      xlb_flow_hash(k, f->cfg.hash_seed,
							    vip->flags & XLB_VIP_F_HASH_SRC)),
			  ids);
	for (i = 0; i < n && o < len; i++) {
		backend_str(f->m, ids[i], name, sizeof(name));
		o += snprintf(buf + o, len - o, "%s%s", i ? ", " : " then ", name);
		json_array_append_new(hops, json_string(name));
	}
}

static int show_flow(const struct xlb_flow_key *k, const struct xlb_flow *v, void *arg)
{
	struct flows_ctx *f = arg;
	char s[XLB_ADDRSTRLEN], d[XLB_ADDRSTRLEN], be[XLB_VIPSTRLEN], src[80], dst[80];
	char then[2 * XLB_VIPSTRLEN + 16];
	struct xlb_backend b;
	json_t *hops;
	double age;
	int gone;

	if (f->one && v->vip_id != f->vip_id)
		return 0;
	if (f->limit && f->n >= f->limit)
		return 1; /* stop the walk */
	f->n++;
	xlb_addr_str(k->saddr, k->family, s, sizeof(s));
	xlb_addr_str(k->daddr, k->family, d, sizeof(d));
	snprintf(src, sizeof(src), k->family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", s,
		 ntohs(k->sport));
	snprintf(dst, sizeof(dst), k->family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", d,
		 ntohs(k->dport));
	/*
	 * A flow of an earlier user of the id (another generation) is not the
	 * current backend's: the fast path re-picks it on its next packet.
	 */
	gone = xlb_backend_get(f->m, v->backend_id, &b) ||
	       (v->lc.flags & XLB_FLOW_F_CACHED ? xlb_fc_gen(b.gen) != v->be_gen
						: b.gen != v->be_gen);
	if (gone)
		snprintf(be, sizeof(be), "#%u", v->backend_id);
	else
		xlb_backend_label(&b, be, sizeof(be));
	age = f->now > v->created_ns ? (f->now - v->created_ns) / 1e9 : 0;
	hops = json_array();
	flow_hops(f, k, v->vip_id, then, sizeof(then), hops);
	if (f->c->json)
		json_array_append_new(f->out,
				      json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:f, s:o}",
						"proto", xlb_proto_str(k->proto), "src", src, "dst",
						dst, "backend", be, "backend_id", v->backend_id,
						"vip_id", v->vip_id, "backend_gone", gone, "age_s",
						age, "hops", hops));
	else
		printf("%s %s -> %s => %s%s%s  age %.1fs\n", xlb_proto_str(k->proto), src, dst, be,
		       then, gone ? " (gone: re-picked on its next packet)" : "", age);
	if (!f->c->json)
		json_decref(hops);
	return 0;
}

static const char *const nat_states[XLB_NAT_S_MAX] = {
	[XLB_NAT_S_NONE] = "none",
	[XLB_NAT_S_SYN_SENT] = "syn_sent",
	[XLB_NAT_S_ESTABLISHED] = "established",
	[XLB_NAT_S_CLOSING] = "closing",
	[XLB_NAT_S_UDP] = "udp",
	[XLB_NAT_S_SYN_RECV] = "syn_recv",
	[XLB_NAT_S_FIN] = "fin",
	[XLB_NAT_S_UNCONFIRMED] = "unconfirmed",
};

static const char *nat_state(__u8 s)
{
	return s < XLB_NAT_S_MAX ? nat_states[s] : "?";
}

static void endpoint(const __be32 *a, __u8 family, __be16 port, char *buf, size_t len)
{
	char s[XLB_ADDRSTRLEN];

	xlb_addr_str(a, family, s, sizeof(s));
	snprintf(buf, len, family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", s, ntohs(port));
}

/*
 * A NAT connection, both directions: client -> VIP => NAT address:port ->
 * node, and the reply's way node -> NAT address:port => VIP -> client as
 * the reverse entry holds it (or "missing" when it is gone).
 */
static int show_nat(const struct xlb_flow_key *k, const struct xlb_nat_fwd *v, void *arg)
{
	struct flows_ctx *f = arg;
	char src[80], dst[80], nat[80], node[80], rsrc[80], rdst[80], be[XLB_VIPSTRLEN];
	const __be32 *nat_addr = k->family == XLB_AF_INET ? &f->cfg.nat_src4 : f->cfg.nat_src6;
	struct xlb_nat_rev r;
	int have_r;
	double age, idle;
	json_t *j;

	if (f->one && v->vip_id != f->vip_id)
		return 0;
	if (f->limit && f->n >= f->limit)
		return 1;
	f->n++;
	endpoint(k->saddr, k->family, k->sport, src, sizeof(src));
	endpoint(k->daddr, k->family, k->dport, dst, sizeof(dst));
	endpoint(nat_addr, k->family, v->nat_port, nat, sizeof(nat));
	endpoint(v->node, k->family, v->node_port, node, sizeof(node));
	backend_str(f->m, v->backend_id, be, sizeof(be));
	have_r = !xlb_nat_rev_get(f->m, v, k->proto, k->family, &r) &&
		 !memcmp(&r.client, k, sizeof(*k));
	if (have_r) {
		endpoint(r.client.daddr, k->family, r.client.dport, rsrc, sizeof(rsrc));
		endpoint(r.client.saddr, k->family, r.client.sport, rdst, sizeof(rdst));
	}
	age = f->now_fine > v->created_ns ? (f->now_fine - v->created_ns) / 1e9 : 0;
	idle = f->now > v->seen_ns ? (f->now - v->seen_ns) / 1e9 : 0;
	if (f->c->json) {
		j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:f, s:f, s:{s:s, s:s}}",
			      "proto", xlb_proto_str(k->proto), "src", src, "dst", dst, "backend",
			      be, "backend_id", v->backend_id, "vip_id", v->vip_id, "state",
			      nat_state(v->state), "age_s", age, "idle_s", idle, "nat", "src", nat,
			      "dst", node);
		json_object_set_new(j, "reply",
				    have_r ? json_pack("{s:s, s:s, s:s, s:s, s:s}", "src", node,
						       "dst", nat, "to_src", rsrc, "to_dst", rdst,
						       "state", nat_state(r.state))
					   : json_null());
		json_array_append_new(f->out, j);
	} else {
		printf("%s %s -> %s => nat %s -> %s  %s age %.1fs idle %.1fs\n",
		       xlb_proto_str(k->proto), src, dst, nat, node, nat_state(v->state), age,
		       idle);
		if (have_r)
			printf("    reply %s -> %s => %s -> %s  %s\n", node, nat, rsrc, rdst,
			       nat_state(r.state));
		else
			printf("    reply %s -> %s => (no reverse entry)\n", node, nat);
	}
	return 0;
}

int xlb_cmd_flows(struct xlb_cli *c, int argc, char **argv)
{
	const char *vip_s = NULL, *limit_s = NULL;
	const struct xlb_opt opts[] = {{"vip", &vip_s}, {"limit", &limit_s}, {}};
	struct xlb_maps m;
	struct flows_ctx f = {.c = c, .m = &m};
	struct xlb_vip_key k;
	struct xlb_vip v;
	char err_s[200];
	int npos, ret, err;

	ret = xlb_cli_parse(c, argc, argv, opts, NULL, 0, 0, &npos,
			    "flows [--vip VIP] [--limit N]");
	if (ret || npos < 0)
		return ret;
	if (limit_s && xlb_u32_parse(limit_s, 1, 1U << 30, &f.limit))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--limit '%s' is not a positive number",
				   limit_s);
	if (vip_s && xlb_vip_parse(vip_s, &k, err_s, sizeof(err_s)))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err_s);
	ret = xlb_cli_open_maps(c, &m, 0);
	if (ret)
		return ret;
	if (vip_s) {
		if (xlb_vip_get(&m, &k, &v)) {
			xlb_maps_close(&m);
			return xlb_cli_err(c, XLB_EXIT_FAIL, "VIP %s does not exist", vip_s);
		}
		f.one = 1;
		f.vip_id = v.id;
	}
	f.now = xlb_now_coarse_ns();
	f.now_fine = xlb_now_ns();
	f.out = json_array();
	xlb_config_get(&m, &f.cfg);
	f.gue = calloc(XLB_MAX_VIPS, sizeof(*f.gue));
	err = f.gue ? xlb_vip_foreach(&m, note_gue_vip, f.gue) : -ENOMEM;
	if (err >= 0)
		err = xlb_flow_foreach(&m, show_flow, &f);
	if (err >= 0)
		err = xlb_nat_foreach(&m, show_nat, &f);
	xlb_maps_close(&m);
	free(f.gue);
	if (err < 0) {
		json_decref(f.out);
		return xlb_cli_err(c, XLB_EXIT_FAIL, "flows: %s", xlb_cli_strerror(err));
	}
	if (c->json)
		xlb_cli_json(f.out);
	else
		json_decref(f.out);
	return XLB_EXIT_OK;
}

/* --- pick --------------------------------------------------------------- */

/* The least_conn candidates' names ("-" for a missing second). */
static void pick_lc_strs(struct xlb_maps *m, const struct xlb_pick_lc *lc,
			 char (*cand)[XLB_VIPSTRLEN], size_t len)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (lc->id[i] == XLB_NO_BACKEND)
			snprintf(cand[i], len, "-");
		else
			backend_str(m, lc->id[i], cand[i], len);
	}
}

static json_t *pick_lc_json(const struct xlb_pick_lc *lc, char (*cand)[XLB_VIPSTRLEN])
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < 2 && lc->id[i] != XLB_NO_BACKEND; i++)
		json_array_append_new(a, json_pack("{s:s, s:i, s:I, s:i}", "backend", cand[i],
						   "backend_id", lc->id[i], "active_flows",
						   (json_int_t)lc->active[i], "weight",
						   lc->weight[i]));
	return json_pack("{s:o}", "candidates", a);
}

/* Why a least_conn VIP's new flow goes where it goes. */
static void pick_lc_print(const struct xlb_pick_lc *lc, char (*cand)[XLB_VIPSTRLEN], int second)
{
	if (lc->id[1] == XLB_NO_BACKEND) {
		printf("least_conn: %s alone (no other ACTIVE backend in %u probe slots)\n",
		       cand[0], XLB_LC_PROBES);
		return;
	}
	printf("least_conn: %s %llu active flows / weight %u against %s %llu / %u "
	       "(slot %u): %s\n",
	       cand[0], (unsigned long long)lc->active[0], lc->weight[0], cand[1],
	       (unsigned long long)lc->active[1], lc->weight[1], lc->slot2,
	       second ? "the second, fewer per weight" : "the first (fewer per weight, or a tie)");
}

int xlb_cmd_pick(struct xlb_cli *c, int argc, char **argv)
{
	static const char *const via[] = {
		[XLB_PICK_NONE] = "none",
		[XLB_PICK_FLOW] = "flow",
		[XLB_PICK_TABLE] = "table",
		[XLB_PICK_REPROBE] = "reprobe",
		[XLB_PICK_LEAST_CONN] = "least_conn",
	};
	const char *dport_s = NULL, *pos[2];
	const struct xlb_opt opts[] = {{"dport", &dport_s}, {}};
	struct xlb_pick_result r;
	struct xlb_flow_key fk = {};
	json_t *out;
	struct xlb_addr_key a;
	struct xlb_vip_key k;
	struct xlb_vip v;
	struct xlb_maps m;
	char err_s[200], be[XLB_VIPSTRLEN], sec[2][XLB_VIPSTRLEN], chain[4 * XLB_VIPSTRLEN + 64];
	char cand[2][XLB_VIPSTRLEN], hop[XLB_GUE_HOPS][XLB_VIPSTRLEN];
	json_t *js = NULL, *jh;
	__u32 dport = 0, id, hops[XLB_GUE_HOPS];
	__u16 port;
	int npos, ret, err, i, nsec = 0, nhops = 0;

	ret = xlb_cli_parse(
		c, argc, argv, opts, pos, 2, 2, &npos,
		"pick VIP CLIENT_ADDR:PORT [--dport PORT]  (--dport for port-less VIPs)");
	if (ret || npos < 0)
		return ret;
	if (xlb_vip_parse(pos[0], &k, err_s, sizeof(err_s)))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err_s);
	if (xlb_endpoint_parse(pos[1], &a, &port, err_s, sizeof(err_s)))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "client: %s", err_s);
	if (a.family != k.family)
		return xlb_cli_err(c, XLB_EXIT_USAGE,
				   "client %s and VIP %s differ in address family", pos[1], pos[0]);
	if (dport_s && xlb_u32_parse(dport_s, 1, 65535, &dport))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--dport '%s' is not a port 1-65535",
				   dport_s);
	if (!k.port && !dport)
		return xlb_cli_err(c, XLB_EXIT_USAGE, "VIP %s has no port: give --dport", pos[0]);
	ret = xlb_cli_open_maps(c, &m, 0);
	if (ret)
		return ret;
	if (xlb_vip_get(&m, &k, &v)) {
		xlb_maps_close(&m);
		return xlb_cli_err(c, XLB_EXIT_FAIL, "VIP %s does not exist", pos[0]);
	}
	memcpy(fk.saddr, a.addr, 16);
	memcpy(fk.daddr, k.addr, 16);
	fk.sport = htons(port);
	fk.dport = k.port ? k.port : htons(dport);
	fk.proto = k.proto;
	fk.family = k.family;
	err = xlb_pick_flow(&m, &v, &fk, &r);
	if (!err && r.via != XLB_PICK_NONE)
		backend_str(&m, r.backend_id, be, sizeof(be));
	/* The slot's earlier owners (a VIP with chains): where its older connections live. */
	for (i = 1; !err && r.via != XLB_PICK_FLOW && i < XLB_SLOT_IDS; i++) {
		id = xlb_slot_id(r.chain, i);
		if (id != XLB_SLOT_NONE)
			backend_str(&m, id, sec[nsec++], sizeof(sec[0]));
	}
	/* A GUE VIP's packets carry the hops second chance hands them to. */
	if (!err && r.via != XLB_PICK_NONE && v.flags & XLB_VIP_F_GUE)
		nhops = (int)xlb_pick_hops(&m, r.chain, hops);
	for (i = 0; i < nhops; i++)
		backend_str(&m, hops[i], hop[i], sizeof(hop[0]));
	if (!err && r.least_conn)
		pick_lc_strs(&m, &r.lc, cand, sizeof(cand[0]));
	xlb_maps_close(&m);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "pick: %s", xlb_cli_strerror(err));
	if (r.via == XLB_PICK_NONE)
		return xlb_cli_err(c, XLB_EXIT_FAIL,
				   "VIP %s has no usable backend: the packet would be dropped",
				   pos[0]);
	if (c->json) {
		js = json_array();
		for (i = 0; i < nsec; i++)
			json_array_append_new(js, json_string(sec[i]));
		jh = json_array();
		for (i = 0; i < nhops; i++)
			json_array_append_new(jh, json_string(hop[i]));
		out = json_pack("{s:s, s:i, s:s, s:i, s:i, s:o, s:o}", "backend", be, "backend_id",
				r.backend_id, "via", via[r.via], "hash", r.hash, "slot", r.slot,
				"secondaries", js, "hops", jh);
		if (r.least_conn)
			json_object_set_new(out, "least_conn", pick_lc_json(&r.lc, cand));
		xlb_cli_json(out);
		return XLB_EXIT_OK;
	}
	chain[0] = '\0';
	if (nsec)
		snprintf(chain, sizeof(chain), ", earlier owners %s%s%s", sec[0],
			 nsec > 1 ? ", " : "", nsec > 1 ? sec[1] : "");
	if (v.flags & XLB_VIP_F_GUE)
		snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain), ", GUE hops %s%s%s",
			 nhops ? hop[0] : "none", nhops > 1 ? ", " : "", nhops > 1 ? hop[1] : "");
	printf("%s (via %s, hash %08x, slot %u%s)\n", be, via[r.via], r.hash, r.slot, chain);
	if (r.least_conn)
		pick_lc_print(&r.lc, cand, r.via == XLB_PICK_LEAST_CONN);
	return XLB_EXIT_OK;
}
