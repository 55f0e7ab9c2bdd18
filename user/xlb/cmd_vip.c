// SPDX-License-Identifier: GPL-2.0-only
/* xlb vip ... and xlb backend ...: VIPs, their backends and weights. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "batch.h"
#include "cli.h"
#include "dataplane/maglev.h"
#include "dataplane/maps.h"
#include "dataplane/names.h"
#include "dataplane/netlink.h"
#include "base/log.h"

static int parse_vip(struct xlb_cli *c, const char *s, struct xlb_vip_key *k)
{
	char err[200];

	if (xlb_vip_parse(s, k, err, sizeof(err)))
		return xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err);
	return 0;
}

/* The VIP named s, which must exist. */
static int get_vip(struct xlb_cli *c, struct xlb_maps *m, const char *s, struct xlb_vip_key *k,
		   struct xlb_vip *v)
{
	int ret = parse_vip(c, s, k), err;

	if (ret)
		return ret;
	err = xlb_vip_get(m, k, v);
	if (err == -ENOENT)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "VIP %s does not exist", s);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "VIP %s: %s", s, xlb_cli_strerror(err));
	return 0;
}

/*
 * Open the maps (for writing when write is set) and, when vip_s is not
 * NULL, find that VIP, which must exist. On error the maps are closed.
 */
static int open_vip(struct xlb_cli *c, int write, const char *vip_s, struct xlb_maps *m,
		    struct xlb_vip_key *k, struct xlb_vip *v)
{
	int ret = xlb_cli_open_maps(c, m, write);

	if (ret || !vip_s)
		return ret;
	ret = get_vip(c, m, vip_s, k, v);
	if (ret)
		xlb_maps_close(m);
	return ret;
}

/*
 * Parse a writing command's words (batch_parse.c, shared with xlb -batch):
 * 0 parsed, 1 --help (usage printed), else the usage error's exit code.
 */
static int parse_op(struct xlb_cli *c, enum xlb_op_kind kind, int argc, char **argv,
		    struct xlb_op *op)
{
	char err[512];
	int ret = xlb_op_parse(kind, argc, argv, op, err, sizeof(err));

	if (ret < 0)
		return xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err);
	if (ret == 1)
		printf("Usage: %s %s\n", c->prog, xlb_op_usage(kind));
	return ret ? -1 : 0;
}

/* parse_op() of a VIP command, and the VIP's name as xlb prints it. */
static int parse_vip_op(struct xlb_cli *c, enum xlb_op_kind kind, int argc, char **argv,
			struct xlb_op *op, char name[XLB_VIPSTRLEN])
{
	int ret = parse_op(c, kind, argc, argv, op);

	if (!ret)
		xlb_vip_str(&op->vip, name, XLB_VIPSTRLEN);
	return ret;
}

/* --- vip ---------------------------------------------------------------- */

static int vip_add(struct xlb_cli *c, int argc, char **argv)
{
	char name[XLB_VIPSTRLEN], err_s[200];
	struct xlb_config cfg;
	__u32 flags = 0;
	struct xlb_maps m;
	struct xlb_op op;
	int ret, err;

	ret = parse_vip_op(c, XLB_OP_VIP_ADD, argc, argv, &op, name) ?: xlb_cli_open_maps(c, &m, 1);
	if (ret)
		return ret < 0 ? XLB_EXIT_OK : ret;
	err = xlb_config_get(&m, &cfg);
	if (!err && xlb_op_vip_flags(&cfg, &op, &flags, err_s, sizeof(err_s))) {
		xlb_maps_close(&m);
		return xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err_s);
	}
	if (!err)
		err = xlb_vip_create(&m, &op.vip, flags, op.table_size, NULL);
	xlb_maps_close(&m);
	if (err == -EEXIST)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "VIP %s already exists", name);
	if (err)
		return xlb_cli_err(c, XLB_EXIT_FAIL, "VIP %s: %s", name, xlb_cli_strerror(err));
	return XLB_EXIT_OK;
}

static int vip_del(struct xlb_cli *c, int argc, char **argv)
{
	char name[XLB_VIPSTRLEN];
	struct xlb_maps m;
	struct xlb_vip v;
	struct xlb_op op;
	int ret, err;

	ret = parse_vip_op(c, XLB_OP_VIP_DEL, argc, argv, &op, name)
		      ?: open_vip(c, 1, name, &m, &op.vip, &v);
	if (ret)
		return ret < 0 ? XLB_EXIT_OK : ret;
	err = xlb_vip_delete(&m, &op.vip);
	if (err)
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "VIP %s: %s", name, xlb_cli_strerror(err));
	xlb_maps_close(&m);
	return ret;
}

struct member_count {
	__u32 vip_id, n;
};

static int count_members(const struct xlb_member_key *k, const struct xlb_member *v, void *arg)
{
	struct member_count *mc = arg;

	mc->n += k->vip_id == mc->vip_id;
	return 0;
}

struct vip_list {
	struct xlb_cli *c;
	struct xlb_maps *m;
	struct xlb_backend *all; /* every backend, read once for all digests */
	json_t *out;
};

static int list_vip(const struct xlb_vip_key *k, const struct xlb_vip *v, void *arg)
{
	struct vip_list *l = arg;
	struct member_count mc = {.vip_id = v->id};
	char s[XLB_VIPSTRLEN], d[24], dc[24], a[XLB_ADDRSTRLEN], cl[XLB_ADDRSTRLEN + 8] = "";
	__u64 digest = 0, chain_digest = 0;
	int err;

	xlb_vip_str(k, s, sizeof(s));
	/* A VIP for some clients only (a stream route's remote_addr). */
	if (k->client_family)
		snprintf(cl, sizeof(cl), "%s/%u",
			 xlb_addr_str(k->client, k->client_family, a, sizeof(a)), k->client_plen);
	err = xlb_member_foreach(l->m, count_members, &mc);
	if (err)
		return err;
	/* A VIP made a moment ago may have no table yet: "-", not an error. */
	err = xlb_table_digest(l->m, v, l->all, &digest, &chain_digest);
	if (err == -ENOENT || err == -ESTALE) {
		snprintf(d, sizeof(d), "-");
		snprintf(dc, sizeof(dc), "-");
	} else if (err) {
		return err;
	} else {
		snprintf(d, sizeof(d), "%016llx", (unsigned long long)digest);
		snprintf(dc, sizeof(dc), "%016llx", (unsigned long long)chain_digest);
	}
	if (l->c->json)
		json_array_append_new(
			l->out,
			json_pack("{s:s, s:i, s:s, s:i, s:i, s:s, s:s, s:b, s:b, s:s, s:s?, s:s}",
				  "vip", s, "id", v->id, "hash",
				  v->flags & XLB_VIP_F_HASH_SRC ? "src" : "5tuple", "table_size",
				  v->table_size, "backends", mc.n, "table_digest", d,
				  "chain_digest", dc, "chains", !!(v->flags & XLB_VIP_F_CHAINS),
				  "stateless", !!(v->flags & XLB_VIP_F_STATELESS), "forward",
				  v->flags & XLB_VIP_F_NAT   ? "nat"
				  : v->flags & XLB_VIP_F_GUE ? "gue"
							     : "dsr",
				  "clients", cl[0] ? cl : NULL, "lb",
				  v->flags & XLB_VIP_F_LEAST_CONN ? "least_conn" : "chash"));
	else
		printf("%-32s id %-5u hash %-6s table %-7u backends %-4u digest %s%s%s%s%s%s%s%s\n",
		       s, v->id, v->flags & XLB_VIP_F_HASH_SRC ? "src" : "5tuple", v->table_size,
		       mc.n, d, v->flags & XLB_VIP_F_CHAINS ? " chains " : "",
		       v->flags & XLB_VIP_F_CHAINS ? dc : "",
		       v->flags & XLB_VIP_F_NAT	  ? " forward nat"
		       : v->flags & XLB_VIP_F_GUE ? " forward gue"
						  : "",
		       v->flags & XLB_VIP_F_STATELESS ? " stateless" : "", cl[0] ? " clients " : "",
		       cl, v->flags & XLB_VIP_F_LEAST_CONN ? " lb least_conn" : "");
	return 0;
}

static int vip_list(struct xlb_cli *c, int argc, char **argv)
{
	struct xlb_maps m;
	struct vip_list l = {.c = c, .m = &m};
	int npos, ret, err;

	ret = xlb_cli_parse(c, argc, argv, NULL, NULL, 0, 0, &npos, "vip list");
	if (ret || npos < 0)
		return ret;
	ret = xlb_cli_open_maps(c, &m, 0);
	if (ret)
		return ret;
	l.out = json_array();
	l.all = calloc(XLB_MAX_BACKENDS, sizeof(*l.all));
	err = l.all ? xlb_backends_read(&m, l.all) : -ENOMEM;
	if (!err)
		err = xlb_vip_foreach(&m, list_vip, &l);
	free(l.all);
	xlb_maps_close(&m);
	if (err) {
		json_decref(l.out);
		return xlb_cli_err(c, XLB_EXIT_FAIL, "vip list: %s", xlb_cli_strerror(err));
	}
	if (c->json)
		xlb_cli_json(l.out);
	else
		json_decref(l.out);
	return XLB_EXIT_OK;
}

int xlb_cmd_vip(struct xlb_cli *c, int argc, char **argv)
{
	static const struct xlb_cmd verbs[] = {
		{"add", vip_add,
		 "vip add ADDR:PORT/PROTO [--hash 5tuple|src] "
		 "[--table-size M] [--forward dsr|nat|gue] "
		 "[--flow-state table|stateless] [--lb chash|least_conn]"},
		{"del", vip_del, "vip del ADDR:PORT/PROTO"},
		{"list", vip_list, "vip list"},
		{}};

	return xlb_cli_dispatch(c, "vip", verbs, argc, argv);
}

/* --- backend ------------------------------------------------------------ */

/* What a backend command names: a VIP and one backend of it. */
struct backend_ref {
	struct xlb_op op;
	struct xlb_vip v;
	char vip_s[XLB_VIPSTRLEN], be_s[XLB_VIPSTRLEN];
	__u32 id; /* with open_backend(.., member = 1): its backend id */
};

/*
 * The start of backend add, set and del, after parse_op(): open the maps
 * for writing, find the VIP, check the backend's address family against it
 * and, when member is set, find its id among the VIP's members. On error
 * the maps are closed.
 */
static int open_backend(struct xlb_cli *c, int member, struct xlb_maps *m, struct backend_ref *r)
{
	struct xlb_backend shown = {.port = htons(r->op.be_port), .family = r->op.be.family};
	struct xlb_config cfg = {};
	struct xlb_member mem;
	char err[300];
	int ret;

	memcpy(shown.addr, r->op.be.addr, sizeof(shown.addr));
	xlb_backend_label(&shown, r->be_s, sizeof(r->be_s));
	xlb_vip_str(&r->op.vip, r->vip_s, sizeof(r->vip_s));
	ret = open_vip(c, 1, r->vip_s, m, &r->op.vip, &r->v);
	if (ret)
		return ret;
	xlb_config_get(m, &cfg);
	if (xlb_op_family_check(&cfg, r->v.flags, &r->op, err, sizeof(err)))
		ret = xlb_cli_err(c, XLB_EXIT_USAGE, "%s", err);
	if (!ret && member &&
	    (xlb_backend_find(m, &r->op.be, r->op.be_port, &r->id) ||
	     xlb_member_get(m, r->v.id, r->id, &mem)))
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "backend %s is not in VIP %s", r->be_s,
				  r->vip_s);
	if (ret)
		xlb_maps_close(m);
	return ret;
}

static int backend_add(struct xlb_cli *c, int argc, char **argv)
{
	struct xlb_member mem;
	struct backend_ref r;
	struct xlb_maps m;
	int ret, err;

	ret = parse_op(c, XLB_OP_BACKEND_ADD, argc, argv, &r.op);
	if (ret)
		return ret < 0 ? XLB_EXIT_OK : ret;
	ret = open_backend(c, 0, &m, &r);
	if (ret)
		return ret;
	err = xlb_backend_ensure(&m, &r.op.be, r.op.be_port, &r.id);
	if (err) {
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "backend %s: %s", r.be_s,
				  xlb_cli_strerror(err));
		goto out;
	}
	if (!xlb_member_get(&m, r.v.id, r.id, &mem)) {
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "backend %s is already in VIP %s", r.be_s,
				  r.vip_s);
		goto out;
	}
	/*
	 * Have the kernel resolve the backend's next hop before traffic
	 * comes, so the fast path's FIB lookups find a MAC.
	 */
	err = xlb_nl_backend_prime(&r.op.be);
	if (err)
		pr_warn("warning: backend %s: cannot prepare its neighbour entry: %s\n", r.be_s,
			xlb_cli_strerror(err));
	err = xlb_member_set(&m, r.v.id, r.id, r.op.weight);
	if (!err)
		err = xlb_table_rebuild(&m, &r.v);
	if (err) {
		xlb_member_del(&m, r.v.id, r.id);
		xlb_backend_release(&m, r.id);
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "backend %s: %s", r.be_s,
				  xlb_cli_strerror(err));
	}
out:
	xlb_maps_close(&m);
	return ret;
}

static int backend_set(struct xlb_cli *c, int argc, char **argv)
{
	struct backend_ref r;
	struct xlb_maps m;
	int ret, err = 0;

	ret = parse_op(c, XLB_OP_BACKEND_SET, argc, argv, &r.op);
	if (ret)
		return ret < 0 ? XLB_EXIT_OK : ret;
	ret = open_backend(c, 1, &m, &r);
	if (ret)
		return ret;
	/*
	 * The state first: one map write, and the fast path avoids a DOWN
	 * backend from the next packet. Its tables follow. Draining and down
	 * are held against xlbd's writes; active hands the backend back.
	 */
	if (r.op.has_state)
		err = xlb_backend_hold(&m, r.id, r.op.state);
	if (!err && r.op.has_weight)
		err = xlb_member_set(&m, r.v.id, r.id, r.op.weight);
	if (!err)
		err = r.op.has_state ? xlb_table_rebuild_backend(&m, r.id)
				     : xlb_table_rebuild(&m, &r.v);
	if (err)
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "backend %s: %s", r.be_s,
				  xlb_cli_strerror(err));
	xlb_maps_close(&m);
	return ret;
}

static int backend_del(struct xlb_cli *c, int argc, char **argv)
{
	struct backend_ref r;
	struct xlb_maps m;
	int ret, err;

	ret = parse_op(c, XLB_OP_BACKEND_DEL, argc, argv, &r.op);
	if (ret)
		return ret < 0 ? XLB_EXIT_OK : ret;
	ret = open_backend(c, 1, &m, &r);
	if (ret)
		return ret;
	err = xlb_member_del(&m, r.v.id, r.id);
	if (!err)
		err = xlb_table_rebuild(&m, &r.v);
	if (!err)
		err = xlb_backend_release(&m, r.id);
	if (err)
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "backend %s: %s", r.be_s,
				  xlb_cli_strerror(err));
	xlb_maps_close(&m);
	return ret;
}

struct backend_list {
	struct xlb_cli *c;
	struct xlb_maps *m;
	int one; /* only vip_id */
	__u32 vip_id;
	json_t *out;
};

static int list_member(const struct xlb_member_key *mk, const struct xlb_member *mv, void *arg)
{
	struct backend_list *l = arg;
	struct xlb_traffic t = {};
	struct xlb_backend b;
	char key[XLB_VIPSTRLEN];

	if (l->one && mk->vip_id != l->vip_id)
		return 0;
	if (xlb_backend_get(l->m, mk->backend_id, &b))
		return 0;
	xlb_backend_label(&b, key, sizeof(key));
	xlb_stats_backend(l->m, mk->backend_id, &t);
	if (l->c->json)
		json_array_append_new(l->out,
				      json_pack("{s:i, s:s, s:i, s:i, s:s, s:I, s:I, s:I}",
						"vip_id", mk->vip_id, "backend", key, "id",
						mk->backend_id, "weight", mv->weight, "state",
						xlb_state_name(b.state), "packets",
						(json_int_t)t.packets, "bytes", (json_int_t)t.bytes,
						"new_flows", (json_int_t)t.new_flows));
	else
		printf("vip %-5u %-40s id %-6u weight %-5u %-9s %12llu pkts %10llu flows\n",
		       mk->vip_id, key, mk->backend_id, mv->weight, xlb_state_name(b.state),
		       (unsigned long long)t.packets, (unsigned long long)t.new_flows);
	return 0;
}

static int backend_list(struct xlb_cli *c, int argc, char **argv)
{
	struct xlb_maps m;
	struct backend_list l = {.c = c, .m = &m};
	struct xlb_vip_key k;
	struct xlb_vip v;
	const char *pos[1];
	int npos, ret, err;

	ret = xlb_cli_parse(c, argc, argv, NULL, pos, 0, 1, &npos, "backend list [VIP]");
	if (ret || npos < 0)
		return ret;
	ret = open_vip(c, 0, npos == 1 ? pos[0] : NULL, &m, &k, &v);
	if (ret)
		return ret;
	if (npos == 1) {
		l.one = 1;
		l.vip_id = v.id;
	}
	l.out = json_array();
	err = xlb_member_foreach(&m, list_member, &l);
	if (err)
		ret = xlb_cli_err(c, XLB_EXIT_FAIL, "backend list: %s", xlb_cli_strerror(err));
	else if (c->json)
		xlb_cli_json(json_incref(l.out));
	json_decref(l.out);
	xlb_maps_close(&m);
	return ret;
}

int xlb_cmd_backend(struct xlb_cli *c, int argc, char **argv)
{
	static const struct xlb_cmd verbs[] = {
		{"add", backend_add, "backend add VIP ADDR[:PORT] [--weight W]"},
		{"set", backend_set,
		 "backend set VIP ADDR[:PORT] [--weight W] [--state active|draining|down]"},
		{"del", backend_del, "backend del VIP ADDR[:PORT]"},
		{"list", backend_list, "backend list [VIP]"},
		{}};

	return xlb_cli_dispatch(c, "backend", verbs, argc, argv);
}
