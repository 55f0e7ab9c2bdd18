// SPDX-License-Identifier: GPL-2.0-only
/* xlb attach | detach | status | decap ...: programs on devices. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base/addr.h"
#include "dataplane/attach.h"
#include "cli.h"
#include "dataplane/kernel.h"
#include "base/log.h"
#include "dataplane/maps.h"
#include "dataplane/names.h"

static int dev_index(struct xlb_cli *c, const char *dev, int *ifindex)
{
	*ifindex = if_nametoindex(dev);
	if (!*ifindex)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "device '%s' does not exist", dev);
	return 0;
}

static int parse_mode(struct xlb_cli *c, const char *s, enum xdp_attach_mode *mode)
{
	if (!s || !strcmp(s, "native"))
		*mode = XDP_MODE_NATIVE;
	else if (!strcmp(s, "generic") || !strcmp(s, "skb"))
		*mode = XDP_MODE_SKB;
	else
		return xlb_cli_err(c, XLB_EXIT_USAGE, "mode '%s' is not native or generic", s);
	return 0;
}

static const char *mode_str(enum xdp_attach_mode m)
{
	return m == XDP_MODE_NATIVE ? "native"
	       : m == XDP_MODE_SKB  ? "generic"
	       : m == XDP_MODE_HW   ? "offload"
				    : "unknown";
}

int xlb_cmd_attach(struct xlb_cli *c, int argc, char **argv)
{
	const char *mode_s = NULL, *fwd = NULL, *seed_s = NULL, *flows_s = NULL, *flows6_s = NULL,
		   *pos[1];
	const char *ports_s = NULL, *nat_conns_s = NULL, *slots_s = NULL, *backends_s = NULL;
	const char *gue_port_s = NULL;
	unsigned int lo, hi;
	__u32 gue_port = 0;
	char end;
	struct xlb_lb_setup su = {};
	const struct xlb_opt opts[] = {{"mode", &mode_s},
				       {"forward", &fwd},
				       {"encap-src", &su.encap_src},
				       {"encap-src6", &su.encap_src6},
				       {"nat-src", &su.nat_src},
				       {"nat-src6", &su.nat_src6},
				       {"nat-ports", &ports_s},
				       {"nat-conns", &nat_conns_s},
				       {"seed", &seed_s},
				       {"flows", &flows_s},
				       {"flows6", &flows6_s},
				       {"table-slots", &slots_s},
				       {"backends", &backends_s},
				       {"gue-port", &gue_port_s},
				       {}};
	struct xlb_lb_notes notes;
	char err_s[512];
	int npos, ret, err;

	ret = xlb_cli_parse(c, argc, argv, opts, pos, 1, 1, &npos,
			    "attach DEV [--mode native|generic] [--forward ipip|l2|nat|gue] "
			    "[--encap-src CIDR] [--encap-src6 CIDR] [--nat-src ADDR] "
			    "[--nat-src6 ADDR] [--nat-ports MIN-MAX] [--nat-conns N] [--seed N] "
			    "[--flows N] [--flows6 N] [--table-slots N] [--backends N] "
			    "[--gue-port P]");
	if (ret || npos < 0)
		return ret;
	su.ifname = pos[0];
	ret = parse_mode(c, mode_s, &su.mode);
	if (ret)
		return ret;
	su.forward_set = !!fwd;
	if (!fwd || !strcmp(fwd, "ipip"))
		su.forward = XLB_FWD_IPIP;
	else if (!strcmp(fwd, "l2"))
		su.forward = XLB_FWD_L2;
	else if (!strcmp(fwd, "nat"))
		su.forward = XLB_FWD_NAT;
	else if (!strcmp(fwd, "gue"))
		su.forward = XLB_FWD_GUE;
	else
		return xlb_cli_err(c, XLB_EXIT_USAGE,
				   "forward method '%s' is not ipip, l2, nat or gue", fwd);
	if (gue_port_s && xlb_u32_parse(gue_port_s, 1, 65535, &gue_port))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--gue-port '%s' is not a port 1-65535",
				   gue_port_s);
	su.gue_port = gue_port;
	if (su.forward == XLB_FWD_NAT && !su.nat_src && !su.nat_src6)
		return xlb_cli_err(c, XLB_EXIT_USAGE,
				   "--forward nat needs --nat-src ADDR and/or "
				   "--nat-src6 ADDR: the LB's address the nodes reply to");
	if (ports_s) {
		if (sscanf(ports_s, "%u-%u%c", &lo, &hi, &end) != 2 || !lo || lo > hi || hi > 65535)
			return xlb_cli_err(c, XLB_EXIT_USAGE,
					   "--nat-ports '%s' is not MIN-MAX with "
					   "1 <= MIN <= MAX <= 65535",
					   ports_s);
		su.nat_port_min = lo;
		su.nat_port_max = hi;
	}
	if (nat_conns_s && xlb_u32_parse(nat_conns_s, 1024, 1U << 24, &su.nat_conns))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--nat-conns '%s' is not a number 1024-%u",
				   nat_conns_s, 1U << 24);
	if (flows_s && xlb_u32_parse(flows_s, 1024, 1U << 27, &su.flows))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--flows '%s' is not a number 1024-%u",
				   flows_s, 1U << 27);
	if (flows6_s && xlb_u32_parse(flows6_s, 1024, 1U << 27, &su.flows6))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--flows6 '%s' is not a number 1024-%u",
				   flows6_s, 1U << 27);
	if (slots_s && xlb_u32_parse(slots_s, 1U << 16, 1U << 28, &su.table_slots))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--table-slots '%s' is not a number %u-%u",
				   slots_s, 1U << 16, 1U << 28);
	if (backends_s && xlb_u32_parse(backends_s, 16, XLB_MAX_BACKENDS, &su.backends))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--backends '%s' is not a number 16-%u",
				   backends_s, XLB_MAX_BACKENDS);
	if (seed_s && xlb_u32_parse(seed_s, 0, 0xffffffffU, &su.seed))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--seed '%s' is not a 32-bit number", seed_s);
	su.seed_set = !!seed_s;

	err = xlb_lb_attach_dev(c->pin_dir, &su, &notes, err_s, sizeof(err_s));
	if (err == -EINVAL)
		return xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err_s);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "%s", err_s);
	if (notes.forwarding_enabled)
		pr_warn("note: enabled forwarding on %s (bpf_fib_lookup needs it)\n", pos[0]);
	if (notes.legacy)
		pr_warn("note: libxdp's multi-program dispatcher is unavailable on this kernel; "
			"xlb_lb is attached alone (plain attach)\n");
	if (notes.veth)
		pr_warn("note: %s is a veth: frames sent back with XDP_TX reach the peer only "
			"if the peer has an XDP program of its own\n",
			pos[0]);
	if (notes.nat_ports[0])
		pr_warn("warning: %s\n", notes.nat_ports);
	if (c->json)
		xlb_cli_json(json_pack("{s:s, s:s, s:s, s:b}", "device", pos[0], "mode",
				       mode_str(su.mode), "forward",
				       su.forward == XLB_FWD_L2	   ? "l2"
				       : su.forward == XLB_FWD_NAT ? "nat"
				       : su.forward == XLB_FWD_GUE ? "gue"
								   : "ipip",
				       "dispatcher", !notes.legacy));
	return XLB_EXIT_OK;
}

/* Is kind attached to any device at all? */
static int attached_anywhere(enum xlb_prog_kind kind)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	struct xlb_attach_info info;
	int any = 0;

	for (i = ifs; i && i->if_index; i++)
		if (!xlb_prog_query(kind, i->if_index, &info) && info.attached)
			any = 1;
	if (ifs)
		if_freenameindex(ifs);
	return any;
}

static int detach_kind(struct xlb_cli *c, enum xlb_prog_kind kind, int argc, char **argv,
		       const char *usage)
{
	const char *pos[1];
	int keep = 0, ifindex, npos, ret, err, lock;
	const struct xlb_opt opts[] = {{"keep-maps", NULL, &keep}, {}};

	ret = xlb_cli_parse(c, argc, argv, opts, pos, 1, 1, &npos, usage);
	if (ret || npos < 0)
		return ret;
	ret = dev_index(c, pos[0], &ifindex);
	if (ret)
		return ret;
	err = xlb_prog_detach(kind, ifindex);
	if (err == -ENOENT)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "%s is not attached to %s",
				   xlb_prog_name(kind), pos[0]);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "detach from %s failed: %s", pos[0],
				   xlb_cli_strerror(err));
	/* Last device gone: the maps mean nothing any more, unless kept. */
	if (!keep && !attached_anywhere(kind)) {
		lock = xlb_pin_dir_lock(c->pin_dir);
		err = xlb_prog_unpin(kind, c->pin_dir);
		if (lock >= 0)
			close(lock);
		if (err)
			pr_warn("warning: removing pins from %s: %s\n", c->pin_dir,
				xlb_cli_strerror(err));
	}
	if (c->json)
		xlb_cli_json(
			json_pack("{s:s, s:s}", "detached", xlb_prog_name(kind), "device", pos[0]));
	return XLB_EXIT_OK;
}

int xlb_cli_lb_attached(void)
{
	return attached_anywhere(XLB_PROG_LB);
}

int xlb_cmd_detach(struct xlb_cli *c, int argc, char **argv)
{
	return detach_kind(c, XLB_PROG_LB, argc, argv, "detach DEV [--keep-maps]");
}

/* Is a process called xlbd running? */
static int agent_running(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[300], comm[32];
	int fd, found = 0;
	ssize_t n;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0) {
			comm[n] = '\0';
			found = !strcmp(comm, "xlbd\n");
		}
	}
	closedir(d);
	return found;
}

struct counts {
	__u32 vips, backends, members, flows, nat, flow_max, be_cap;
};

static int count_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	((struct counts *)arg)->vips++;
	return 0;
}

static int count_member(const struct xlb_member_key *k, const struct xlb_member *v, void *arg)
{
	((struct counts *)arg)->members++;
	return 0;
}

static int count_flow(const struct xlb_flow_key *k, const struct xlb_flow *v, void *arg)
{
	((struct counts *)arg)->flows++;
	return 0;
}

static int count_nat(const struct xlb_flow_key *k, const struct xlb_nat_fwd *f, void *arg)
{
	((struct counts *)arg)->nat++;
	return 0;
}

/* Bytes per item: what the maps of one kind take, divided by their capacity. */
static double per_item(const struct xlb_mem_report *r, enum xlb_mem_item k, __u32 cap)
{
	return cap ? (double)r->bytes[k] / cap : 0;
}

static json_t *memory_json(const struct xlb_mem_report *r, const struct counts *n)
{
	json_t *maps = json_object();
	size_t i;

	for (i = 0; i < r->n; i++)
		json_object_set_new(maps, r->maps[i].name,
				    json_pack("{s:I, s:i}", "bytes", (json_int_t)r->maps[i].bytes,
					      "max_entries", r->maps[i].max_entries));
	return json_pack("{s:I, s:o, s:{s:i, s:i, s:I}, s:f, s:f, s:f, s:f, s:f}", "total_bytes",
			 (json_int_t)r->total, "maps", maps, "table_slots", "used", r->slots_used,
			 "max", r->slots_max, "bytes", (json_int_t)r->bytes[XLB_MEM_TABLE],
			 "bytes_per_vip", per_item(r, XLB_MEM_VIP, XLB_MAX_VIPS),
			 "table_bytes_per_vip", n->vips ? 4.0 * r->slots_used / n->vips : 0.0,
			 "bytes_per_backend", per_item(r, XLB_MEM_BACKEND, n->be_cap),
			 "bytes_per_member", per_item(r, XLB_MEM_MEMBER, XLB_MAX_MEMBERS),
			 "bytes_per_flow", per_item(r, XLB_MEM_FLOW, n->flow_max));
}

static void memory_print(const struct xlb_mem_report *r, const struct counts *n)
{
	printf("memory:   %.1f MB in maps: tables %.1f MB (%u of %u slots used), flows %.1f MB, "
	       "NAT %.1f MB, per backend id %.1f MB, per VIP id %.1f MB\n",
	       r->total / 1e6, r->bytes[XLB_MEM_TABLE] / 1e6, r->slots_used, r->slots_max,
	       r->bytes[XLB_MEM_FLOW] / 1e6, r->bytes[XLB_MEM_NAT] / 1e6,
	       r->bytes[XLB_MEM_BACKEND] / 1e6, r->bytes[XLB_MEM_VIP] / 1e6);
	printf("per item: VIP %.0f B + its table (%.0f B each now), backend %.0f B, member %.0f B, "
	       "flow %.0f B\n",
	       per_item(r, XLB_MEM_VIP, XLB_MAX_VIPS),
	       n->vips ? 4.0 * r->slots_used / n->vips : 0.0,
	       per_item(r, XLB_MEM_BACKEND, n->be_cap),
	       per_item(r, XLB_MEM_MEMBER, XLB_MAX_MEMBERS),
	       per_item(r, XLB_MEM_FLOW, n->flow_max));
}

int xlb_cmd_status(struct xlb_cli *c, int argc, char **argv)
{
	struct xlb_nat_mem nm = {};
	struct xlb_mem_report mr = {};
	struct if_nameindex *ifs, *i;
	struct xlb_attach_info info;
	struct counts n = {};
	struct xlb_backend *all;
	struct xlb_config cfg;
	__u32 flow_max = 0;
	json_t *devs, *out;
	struct xlb_maps m;
	int npos, ret, err, kind, draining = 0, filter_on = 0, filter_err = 0;
	unsigned int filter_set = 0;
	__u32 id;

	ret = xlb_cli_parse(c, argc, argv, NULL, NULL, 0, 0, &npos, "status");
	if (ret || npos < 0)
		return ret;
	devs = json_array();
	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++) {
		for (kind = XLB_PROG_LB; kind <= XLB_PROG_DECAP; kind++) {
			if (xlb_prog_query(kind, i->if_index, &info) || !info.attached)
				continue;
			json_array_append_new(
				devs,
				json_pack("{s:s, s:s, s:i, s:s, s:b}", "device", i->if_name,
					  "program", xlb_prog_name(kind), "prog_id", info.prog_id,
					  "mode", mode_str(info.mode), "dispatcher", !info.legacy));
		}
	}
	if (ifs)
		if_freenameindex(ifs);
	out = json_pack("{s:s, s:o, s:b}", "pin_dir", c->pin_dir, "attached", devs, "agent_running",
			agent_running());
	err = xlb_maps_open(&m, c->pin_dir, 0);
	if (!err) {
		xlb_vip_foreach(&m, count_vip, &n);
		xlb_member_foreach(&m, count_member, &n);
		xlb_flow_foreach(&m, count_flow, &n);
		/* One batch read of the backend array, not one syscall per id. */
		all = calloc(XLB_MAX_BACKENDS, sizeof(*all));
		if (all && !xlb_backends_read(&m, all))
			for (id = 0; id < XLB_MAX_BACKENDS; id++)
				n.backends += all[id].state != XLB_BE_UNUSED;
		free(all);
		flow_max = xlb_flow_capacity(&m);
		n.flow_max = flow_max;
		n.be_cap = xlb_backend_cap(&m);
		xlb_nat_foreach(&m, count_nat, &n);
		xlb_nat_memory(&m, &nm);
		xlb_maps_memory(&m, &mr);
		if (!xlb_config_get(&m, &cfg))
			draining = !!(cfg.flags & XLB_CFG_F_DRAIN);
		json_object_set_new(out, "draining", json_boolean(draining));
		filter_err = xlb_addrs_count(&m, &filter_on, &filter_set);
		json_object_set_new(
			out, "address_filter",
			filter_err ? json_pack("{s:s}", "error", xlb_cli_strerror(filter_err))
				   : json_pack("{s:b, s:i, s:i}", "on", filter_on, "bits_set",
					       filter_set, "bits", XLB_ADDR_BITS_N));
		json_object_set_new(
			out, "maps",
			json_pack("{s:{s:i,s:i}, s:{s:i,s:i}, s:{s:i,s:i}, s:{s:i,s:i}, "
				  "s:{s:i,s:i,s:I,s:i}}",
				  "vips", "used", n.vips, "max", XLB_MAX_VIPS, "backends", "used",
				  n.backends, "max", n.be_cap, "members", "used", n.members, "max",
				  XLB_MAX_MEMBERS, "flows", "used", n.flows, "max", flow_max, "nat",
				  "used", n.nat, "max", nm.capacity, "memory_bytes",
				  (json_int_t)nm.bytes, "entry_bytes", nm.entry_bytes));
		json_object_set_new(out, "memory", memory_json(&mr, &n));
		xlb_maps_close(&m);
	}
	if (c->json) {
		xlb_cli_json(out);
		return XLB_EXIT_OK;
	}
	printf("pin dir:  %s%s\n", c->pin_dir, err ? " (no load-balancer maps)" : "");
	json_t *d;
	size_t k;
	json_array_foreach (devs, k, d)
		printf("attached: %s on %s, prog id %lld, %s mode%s\n",
		       json_string_value(json_object_get(d, "program")),
		       json_string_value(json_object_get(d, "device")),
		       json_integer_value(json_object_get(d, "prog_id")),
		       json_string_value(json_object_get(d, "mode")),
		       json_is_true(json_object_get(d, "dispatcher")) ? " (libxdp dispatcher)"
								      : "");
	if (!json_array_size(devs))
		printf("attached: nowhere\n");
	if (!err)
		printf("maps:     vips %u/%u, backends %u/%u, members %u/%u, flows %u/%u\n", n.vips,
		       XLB_MAX_VIPS, n.backends, n.be_cap, n.members, XLB_MAX_MEMBERS, n.flows,
		       flow_max);
	if (!err)
		printf("nat:      connections %u/%u, %llu bytes of maps (%u bytes of keys and "
		       "values per connection)\n",
		       n.nat, nm.capacity, (unsigned long long)nm.bytes, nm.entry_bytes);
	if (!err)
		memory_print(&mr, &n);
	if (!err && filter_err)
		printf("filter:   cannot read the address filter: %s\n",
		       xlb_cli_strerror(filter_err));
	else if (!err)
		printf("filter:   %s, %u of %u address bits set (VIP addresses and NAT "
		       "sources)\n",
		       filter_on ? "on" : "off (every packet is looked up)", filter_set,
		       XLB_ADDR_BITS_N);
	if (!err)
		printf("node:     %s\n",
		       draining ? "draining (xlb drain stop ends it)" : "not draining");
	printf("agent:    %s\n", agent_running() ? "xlbd running" : "not running");
	json_decref(out);
	return XLB_EXIT_OK;
}

/* --- decap ------------------------------------------------------------------ */

#define DECAP_ATTACH_USAGE "decap attach DEV [--mode native|generic] [--gue-port P]"

/* The first character of a sysctl file, or '?' if it cannot be read. */
static char sysctl_char(const char *fmt, const char *dev)
{
	char path[128], v = '?';
	FILE *f;

	snprintf(path, sizeof(path), fmt, dev);
	f = fopen(path, "re");
	if (f) {
		v = (char)fgetc(f);
		fclose(f);
	}
	return v;
}

/*
 * Second chance hands packets on with a FIB lookup, which answers only
 * where the receiving device forwards (IPv6: forwarding on all devices).
 * Turning that on changes the host (IPv6 then ignores router
 * advertisements), so it is the operator's to do; say what is missing.
 */
static void forwarding_note(const char *dev)
{
	int v4 = sysctl_char("/proc/sys/net/ipv4/conf/%s/forwarding", dev) == '1';
	int v6 = sysctl_char("/proc/sys/net/ipv6/conf/all/forwarding", dev) == '1';

	if (v4 && v6)
		return;
	pr_warn("note: packets of connections this host does not hold are handed to the next "
		"GUE hop (second chance) only with forwarding on, now off: %s%s%s%s; until "
		"then they are dropped (xlb decap stats: sc_no_route)\n",
		v4 ? "" : "net.ipv4.conf.", v4 ? "" : dev, v4 ? "" : ".forwarding",
		v6 ? "" : (v4 ? "net.ipv6.conf.all.forwarding" : ", net.ipv6.conf.all.forwarding"));
}

static int decap_attach(struct xlb_cli *c, int argc, char **argv)
{
	const char *mode_s = NULL, *port_s = NULL, *pos[1];
	const struct xlb_opt opts[] = {{"mode", &mode_s}, {"gue-port", &port_s}, {}};
	struct xlb_attach_opts ao = {};
	char why[512];
	int ifindex, npos, ret, err, legacy, lock;
	__u32 port = 0;
	__u16 now;

	ret = xlb_cli_parse(c, argc, argv, opts, pos, 1, 1, &npos, DECAP_ATTACH_USAGE);
	if (ret || npos < 0)
		return ret;
	if (port_s && xlb_u32_parse(port_s, 1, 65535, &port))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "--gue-port '%s' is not a port 1-65535",
				   port_s);
	ao.gue_port = port;
	ret = parse_mode(c, mode_s, &ao.mode);
	if (!ret)
		ret = dev_index(c, pos[0], &ifindex);
	if (ret)
		return ret;
	err = xlb_pin_dir_prepare(c->pin_dir);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "pin directory %s: %s", c->pin_dir,
				   xlb_cli_strerror(err));
	if (xlb_kernel_check(XLB_PROG_DECAP, why, sizeof(why)))
		return xlb_cli_err(c, XLB_EXIT_FAIL, "%s", why);
	lock = xlb_pin_dir_lock(c->pin_dir);
	err = xlb_prog_attach(XLB_PROG_DECAP, c->pin_dir, ifindex, &ao, &legacy);
	if (lock >= 0)
		close(lock);
	/* Attached already: a new GUE port is all there is to do. */
	if (err == -EEXIST && port) {
		err = xlb_decap_gue_port_set(c->pin_dir, port);
		if (err)
			return xlb_cli_err(c, XLB_EXIT_FAIL, "GUE port of xlb_decap in %s: %s",
					   c->pin_dir, xlb_cli_strerror(err));
		if (!c->json)
			printf("xlb_decap was attached to %s already; GUE port now %u\n", pos[0],
			       port);
	} else if (err == -EEXIST) {
		return xlb_cli_err(c, XLB_EXIT_FAIL, "xlb_decap is already attached to %s", pos[0]);
	} else if (err && xlb_kernel_explain(XLB_PROG_DECAP, err, why, sizeof(why))) {
		return xlb_cli_err(c, XLB_EXIT_FAIL, "%s", why);
	} else if (err) {
		return xlb_cli_err(c, XLB_EXIT_FAIL, "decap attach to %s failed: %s", pos[0],
				   xlb_cli_strerror(err));
	} else if (legacy) {
		pr_warn("note: libxdp's multi-program dispatcher is unavailable on this kernel; "
			"xlb_decap is attached alone (plain attach)\n");
	}
	forwarding_note(pos[0]);
	if (c->json) {
		if (xlb_decap_gue_port_get(c->pin_dir, &now))
			now = 0;
		xlb_cli_json(json_pack("{s:s, s:s, s:i}", "device", pos[0], "mode",
				       mode_str(ao.mode), "gue_port", now));
	}
	return XLB_EXIT_OK;
}

static int decap_detach(struct xlb_cli *c, int argc, char **argv)
{
	return detach_kind(c, XLB_PROG_DECAP, argc, argv, "decap detach DEV [--keep-maps]");
}

static int print_decap_vip(const struct xlb_addr_key *a, void *arg)
{
	struct xlb_cli *c = ((void **)arg)[0];
	json_t *list = ((void **)arg)[1];
	char s[XLB_ADDRSTRLEN];

	xlb_addr_str(a->addr, a->family, s, sizeof(s));
	if (c->json)
		json_array_append_new(list, json_string(s));
	else
		printf("%s\n", s);
	return 0;
}

static int decap_vip(struct xlb_cli *c, int argc, char **argv)
{
	struct xlb_decap_maps m;
	struct xlb_addr_key a;
	const char *pos[2];
	char err_s[160];
	int npos, ret, err, add;

	ret = xlb_cli_parse(c, argc, argv, NULL, pos, 1, 2, &npos,
			    "decap vip {add ADDR | del ADDR | list}");
	if (ret || npos < 0)
		return ret;
	err = xlb_decap_maps_open(&m, c->pin_dir, 1);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL,
				   "no decap maps in %s (run 'xlb decap attach DEV' first): %s",
				   c->pin_dir, xlb_cli_strerror(err));
	if (!strncmp(pos[0], "list", strlen(pos[0])) && npos == 1) {
		json_t *list = json_array();
		void *arg[2] = {c, list};

		err = xlb_decap_vip_foreach(&m, print_decap_vip, arg);
		xlb_decap_maps_close(&m);
		if (c->json)
			xlb_cli_json(list);
		else
			json_decref(list);
		return err ? xlb_cli_err(c, XLB_EXIT_FAIL, "list: %s", xlb_cli_strerror(err)) : 0;
	}
	add = !strncmp(pos[0], "add", strlen(pos[0]));
	if ((!add && strncmp(pos[0], "del", strlen(pos[0]))) || npos != 2) {
		xlb_decap_maps_close(&m);
		return xlb_cli_err(c, XLB_EXIT_USAGE,
				   "usage: xlb decap vip {add ADDR | del ADDR | list}");
	}
	if (xlb_addr_parse(pos[1], &a, err_s, sizeof(err_s))) {
		xlb_decap_maps_close(&m);
		return xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err_s);
	}
	err = add ? xlb_decap_vip_add(&m, &a) : xlb_decap_vip_del(&m, &a);
	xlb_decap_maps_close(&m);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "decap vip %s: %s", pos[1],
				   xlb_cli_strerror(err));
	return XLB_EXIT_OK;
}

/* Hand-offs per peer: "peers" in JSON, one line each in text. */
static void decap_stats_peers(struct xlb_cli *c, json_t *out, const struct xlb_decap_peer *p,
			      size_t n)
{
	json_t *list = json_array();
	char a[XLB_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < n; i++) {
		xlb_addr_str(p[i].addr.addr, p[i].addr.family, a, sizeof(a));
		if (c->json)
			json_array_append_new(list, json_pack("{s:s, s:I, s:I}", "peer", a,
							      "packets", (json_int_t)p[i].packets,
							      "bytes", (json_int_t)p[i].bytes));
		else
			printf("%-18s %12llu pkts %14llu bytes  to %s\n", "handoff",
			       (unsigned long long)p[i].packets, (unsigned long long)p[i].bytes, a);
	}
	if (c->json)
		json_object_set_new(out, "peers", list);
	else
		json_decref(list);
}

static int decap_stats(struct xlb_cli *c, int argc, char **argv)
{
	struct xlb_reason_count r[XLB_D_MAX];
	struct xlb_decap_peer *peers = NULL;
	struct xlb_decap_maps m;
	size_t npeers = 0;
	json_t *out;
	int npos, ret, err, i;
	__u16 port;

	ret = xlb_cli_parse(c, argc, argv, NULL, NULL, 0, 0, &npos, "decap stats");
	if (ret || npos < 0)
		return ret;
	err = xlb_decap_maps_open(&m, c->pin_dir, 0);
	if (!err) {
		err = xlb_decap_stats(&m, r);
		if (!err)
			err = xlb_decap_peers(&m, &peers, &npeers);
		xlb_decap_maps_close(&m);
	}
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "decap stats in %s: %s", c->pin_dir,
				   xlb_cli_strerror(err));
	out = json_object();
	for (i = 0; i < XLB_D_MAX; i++) {
		if (c->json)
			json_object_set_new(out, xlb_decap_reason_name(i),
					    json_pack("{s:I, s:I}", "packets",
						      (json_int_t)r[i].packets, "bytes",
						      (json_int_t)r[i].bytes));
		else
			printf("%-18s %12llu pkts %14llu bytes\n", xlb_decap_reason_name(i),
			       (unsigned long long)r[i].packets, (unsigned long long)r[i].bytes);
	}
	decap_stats_peers(c, out, peers, npeers);
	free(peers);
	if (xlb_decap_gue_port_get(c->pin_dir, &port))
		port = 0; /* maps pinned by a build without the setting */
	if (c->json) {
		if (port)
			json_object_set_new(out, "gue_port", json_integer(port));
		xlb_cli_json(out);
	} else {
		if (port)
			printf("%-18s %12u\n", "gue_port", port);
		json_decref(out);
	}
	return XLB_EXIT_OK;
}

int xlb_cmd_decap(struct xlb_cli *c, int argc, char **argv)
{
	static const struct xlb_cmd verbs[] = {
		{"attach", decap_attach, DECAP_ATTACH_USAGE},
		{"detach", decap_detach, "decap detach DEV [--keep-maps]"},
		{"vip", decap_vip, "decap vip {add ADDR | del ADDR | list}"},
		{"stats", decap_stats, "decap stats"},
		{}};

	return xlb_cli_dispatch(c, "decap", verbs, argc, argv);
}
