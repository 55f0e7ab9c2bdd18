// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's core; see agent.h and, for its parts, agent_int.h. It wires
 * the parts together on one libevent loop: health events flip a backend's
 * fast-path state at once and schedule one reconcile, which coalesces all
 * changes of the same loop turn. Three sources feed the health state
 * machines (health/checker.c): active probes, passive events from the fast
 * path and kernel signals (signals.c). The configuration comes from the
 * file, Admin API edits or etcd (sources.c); upstreams with discovery_type
 * get their nodes from their registry watch (watches.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <xlb/flowcache.h>

#include "agent/agent_int.h"
#include "base/log.h"
#include "dataplane/attach.h"
#include "health/checker.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void on_health(struct xlb_target *t, enum xlb_health old, enum xlb_health new,
		      enum xlb_health_event ev, const char *detail, void *arg)
{
	struct xlb_agent *a = arg;
	struct agent_node *n = xlb_target_data(t);
	char ups[256];
	double t0;
	int lock, err;
	__u8 state;

	if (!n)
		return;
	a->st.health_changes++;
	agent_node_upstreams(a, n, ups, sizeof(ups));
	pr_info("health: node=%s upstream=%s state=%s->%s event=%s reason=\"%s\"\n", n->label, ups,
		xlb_health_name(old), xlb_health_name(new), xlb_health_event_name(ev),
		detail ? detail : "");
	if (xlb_health_usable(new))
		n->unreachable = 0;
	if (xlb_health_usable(old) == xlb_health_usable(new))
		return;
	agent_node_flipped(a, n);
	/*
	 * The decision is made: one map write now, so that the next packet
	 * already avoids (or may use) the node; tables follow in the reconcile.
	 */
	if (n->be_id != ~0U && a->maps_open) {
		t0 = now_us();
		state = xlb_health_usable(new) ? XLB_BE_ACTIVE : agent_node_out_state(n);
		lock = xlb_pin_dir_lock(a->pin_dir);
		err = xlb_backend_set_state(&a->maps, n->be_id, state);
		if (lock >= 0)
			close(lock);
		if (err == -EBUSY) {
			pr_info("health: node=%s: its state stays the operator's (xlb backend "
				"set)\n",
				n->label);
		} else if (err) {
			pr_warn("health: node=%s: state write failed: %s\n", n->label,
				strerror(-err));
		} else {
			a->st.flips++;
			a->st.last_flip_us = now_us() - t0;
			if (a->st.last_flip_us > a->st.max_flip_us)
				a->st.max_flip_us = a->st.last_flip_us;
			if (!xlb_health_usable(new))
				agent_signal_flipped(a);
		}
	}
	event_active(a->reconcile_ev, 0, 0);
}

int agent_reconcile(struct xlb_agent *a)
{
	struct xlb_reconcile_stats rs = {};
	struct xlb_want w = {};
	struct agent_node *n;
	double t0 = now_us(), t_want = 0;
	int err, lock;
	size_t i;

	/*
	 * Until etcd's objects arrive the configuration has none: leave the
	 * maps of a running data plane as they are rather than empty them.
	 */
	if (a->etcd && !a->etcd_have)
		return 0;
	err = agent_want_update(a, &w);
	t_want = now_us() - t0;
	if (err)
		goto out;
	lock = xlb_pin_dir_lock(a->pin_dir);
	if (lock < 0) {
		err = lock;
		goto out;
	}
	err = xlb_reconcile(&a->maps, a->shadow, &w, &rs);
	close(lock);
	/*
	 * On failure the maps are as they were, and so are the nodes' ids.
	 * Only ids that differ from the hint (the node's id) are news.
	 */
	for (i = 0; !err && i < w.nbackends; i++) {
		if (w.backends[i].hint == w.backends[i].id + 1)
			continue;
		n = agent_node_find(a->nodes, a->nnodes, &w.backends[i].addr, w.backends[i].port);
		if (!n)
			continue;
		if (n->be_id < XLB_MAX_BACKENDS && a->by_id && a->by_id[n->be_id] == n)
			a->by_id[n->be_id] = NULL;
		n->be_id = w.backends[i].id;
		if (a->by_id)
			a->by_id[n->be_id] = n;
	}
out:
	if (err)
		agent_want_forget(a); /* the maps may not hold it: the next compares all */
	xlb_want_free(&w);
	a->st.reconciles++;
	a->st.last_reconcile_ms = (now_us() - t0) / 1e3;
	if (a->st.last_reconcile_ms > a->st.max_reconcile_ms)
		a->st.max_reconcile_ms = a->st.last_reconcile_ms;
	if (!err &&
	    (rs.vips_added || rs.vips_updated || rs.vips_removed || rs.backends_added ||
	     rs.backends_changed || rs.backends_removed || rs.members_changed || rs.tables_written))
		pr_info("maps: vips +%u ~%u -%u, backends +%u ~%u -%u, members ~%u, tables %u "
			"in %.1f ms (desired state %.1f ms)\n",
			rs.vips_added, rs.vips_updated, rs.vips_removed, rs.backends_added,
			rs.backends_changed, rs.backends_removed, rs.members_changed,
			rs.tables_written, a->st.last_reconcile_ms, t_want / 1e3);
	if (err) {
		a->st.reconcile_errors++;
		pr_warn("maps: reconcile failed: %s\n", rs.error[0] ? rs.error : strerror(-err));
	}
	return err;
}

static void on_reconcile(evutil_socket_t fd, short what, void *arg)
{
	agent_reconcile(arg);
}

/* The NAT part of the fast path's settings, from the configuration. */
static int nat_settings(const struct xlb_settings *s, struct xlb_config *cfg, char *err,
			size_t errlen)
{
	cfg->nat_src4 = 0;
	memset(cfg->nat_src6, 0, sizeof(cfg->nat_src6));
	if (s->nat_src[0] && xlb_nat_src_parse(s->nat_src, 4, cfg, err, errlen))
		return -EINVAL;
	if (s->nat_src6[0] && xlb_nat_src_parse(s->nat_src6, 6, cfg, err, errlen))
		return -EINVAL;
	cfg->nat_port_min = s->nat_port_min;
	cfg->nat_port_max = s->nat_port_max;
	cfg->nat_tmo_syn = s->nat_timeout_syn;
	cfg->nat_tmo_established = s->nat_timeout_established;
	cfg->nat_tmo_closing = s->nat_timeout_closing;
	cfg->nat_tmo_udp = s->nat_timeout_udp;
	return 0;
}

/*
 * NAT configured after the data plane was attached without it: its NAT
 * maps are as small as they go until xlbd attaches again. Said once.
 */
static void nat_capacity_check(struct xlb_agent *a, const struct xlb_settings *s)
{
	struct xlb_nat_mem nm;
	__u32 want = s->nat_connections ?: XLB_NAT_MAX_DEFAULT;

	if ((!s->nat_src[0] && !s->nat_src6[0]) || xlb_nat_memory(&a->maps, &nm) ||
	    nm.capacity >= want || a->nat_small_said)
		return;
	a->nat_small_said = 1;
	pr_warn("NAT: the NAT table holds %u connections (the data plane was attached without "
		"nat_src/nat_src6); restart xlbd after 'xlb detach' to size it to %u\n",
		nm.capacity, want);
}

/*
 * The xlb settings the fast path reads (forwarding method, hash seed, NAT
 * addresses, ports and timeouts) into the pinned config, at start and on
 * every reload; other fields (the drain flag, encapsulation sources) stay.
 */
int agent_apply_settings(struct xlb_agent *a, const struct xlb_settings *s)
{
	struct xlb_config cfg, old;
	char err_s[256];
	int err, lock;

	if (!a->maps_open)
		return 0;
	err = xlb_config_get(&a->maps, &cfg);
	if (err)
		return err;
	old = cfg;
	if (s->hash_seed && cfg.hash_seed != s->hash_seed)
		pr_warn("hash seed changes from %u to %u: new flows will hash differently "
			"(the flows this node holds keep their backends)\n",
			cfg.hash_seed, s->hash_seed);
	cfg.forward = s->forward;
	cfg.gue_port = htons(s->gue_port);
	if (s->hash_seed)
		xlb_config_reseed(&cfg, s->hash_seed);
	err = nat_settings(s, &cfg, err_s, sizeof(err_s));
	if (err) {
		pr_warn("%s\n", err_s);
		return err;
	}
	if ((s->nat_src[0] || s->nat_src6[0]) &&
	    xlb_nat_ports_overlap(cfg.nat_port_min, cfg.nat_port_max, err_s, sizeof(err_s)))
		pr_warn("%s\n", err_s);
	nat_capacity_check(a, s);
	if (!memcmp(&old, &cfg, sizeof(cfg)))
		return 0;
	lock = xlb_pin_dir_lock(a->pin_dir);
	if (lock < 0)
		return lock;
	/* Re-read under the lock: xlb drain may have changed the flags. */
	if (!xlb_config_get(&a->maps, &old))
		cfg.flags = old.flags;
	err = xlb_config_set(&a->maps, &cfg);
	close(lock);
	if (!err)
		pr_info("fast-path settings written (forward, GUE port, hash seed, NAT)\n");
	return err;
}

static int setup_data_plane(struct xlb_agent *a)
{
	const struct xlb_settings *s = &a->conf.xlb;
	struct xlb_lb_setup su = {
		.mode = s->generic_mode ? XDP_MODE_SKB : XDP_MODE_NATIVE,
		.forward = s->forward,
		.forward_set = 1,
		.encap_src = s->encap_src[0] ? s->encap_src : NULL,
		.encap_src6 = s->encap_src6[0] ? s->encap_src6 : NULL,
		.seed_set = !!s->hash_seed,
		.seed = s->hash_seed,
		.flows = s->flows,
		.flows6 = s->flows6,
		.syns = s->syn_table ? s->syn_table : 1, /* one slot: no SYN table */
		/* Without a NAT source the NAT maps take the least room. */
		.nat_src = s->nat_src[0] ? s->nat_src : NULL,
		.nat_src6 = s->nat_src6[0] ? s->nat_src6 : NULL,
		.nat_conns = s->nat_connections,
		.table_slots = s->table_slots,
		.backends = s->backends,
		.gue_port = s->gue_port,
	};
	struct xlb_lb_notes notes;
	char err_s[512];
	unsigned int i;
	int err;

	for (i = 0; i < s->nifaces; i++) {
		su.ifname = s->interfaces[i];
		err = xlb_lb_attach_dev(a->pin_dir, &su, &notes, err_s, sizeof(err_s));
		if (err == -EEXIST) {
			pr_info("adopting xlb already attached to %s\n", su.ifname);
			continue;
		}
		if (err) {
			pr_warn("%s\n", err_s);
			return err;
		}
		pr_info("attached xlb to %s%s\n", su.ifname,
			notes.legacy ? " (plain attach: no libxdp dispatcher here)" : "");
	}
	err = xlb_maps_open(&a->maps, a->pin_dir, 0);
	if (err) {
		pr_warn("no xlb maps in %s: list xlb.interfaces in the configuration or run "
			"'xlb attach DEV' first\n",
			a->pin_dir);
		return err;
	}
	a->maps_open = 1;
	a->shadow = xlb_shadow_new();
	if (!a->shadow)
		return -ENOMEM;
	return agent_apply_settings(a, s);
}

struct xlb_agent *xlb_agent_new(struct event_base *base, const char *conf_file, const char *pin_dir,
				struct xlb_conf_errors *errs)
{
	struct xlb_conf conf = {};
	struct xlb_agent *a;
	json_t *doc = NULL;
	int err;

	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->base = base;
	a->sig_src = -1;
	snprintf(a->conf_file, sizeof(a->conf_file), "%s", conf_file);
	snprintf(a->pin_dir, sizeof(a->pin_dir), "%s", pin_dir);
	/* Into the buffer every reload reads the file into (sources.c). */
	err = xlb_conf_read_reuse(conf_file, &a->rbuf, &a->rcap, errs);
	if (!err)
		err = agent_load_text(a->rbuf, &doc, &conf, errs);
	if (err)
		goto out_free;
	a->conf = conf; /* settings are needed before the first adopt */
	memset(&conf, 0, sizeof(conf));
	a->reconcile_ev = event_new(base, -1, 0, on_reconcile, a);
	a->disc_ev = event_new(base, -1, 0, agent_on_disc_changed, a);
	a->checker = xlb_checker_new(base, on_health, a);
	a->by_id = calloc(XLB_MAX_BACKENDS, sizeof(*a->by_id));
	if (!a->reconcile_ev || !a->disc_ev || !a->checker || !a->by_id) {
		err = -ENOMEM;
		goto out_free;
	}
	err = setup_data_plane(a);
	if (err)
		goto out_free;
	/* Without them the agent still works, on active probes alone. */
	err = agent_passive_open(a);
	if (err)
		pr_warn("passive: no events from the fast path: %s\n", strerror(-err));
	err = agent_netlink_open(a);
	if (err)
		pr_warn("netlink: no kernel signals: %s\n", strerror(-err));
	err = agent_nat_sweep_start(a);
	if (err)
		goto out_free;
	conf = a->conf;
	memset(&a->conf, 0, sizeof(a->conf));
	err = agent_adopt_file(a, doc, &conf, errs);
	if (err)
		goto out_free;
	json_decref(doc);
	return a;

out_free:
	xlb_conf_free(&conf);
	json_decref(doc);
	xlb_agent_free(a);
	errno = -err;
	return NULL;
}

void xlb_agent_free(struct xlb_agent *a)
{
	if (!a)
		return;
	agent_nodes_free(a);
	agent_watches_free(a);
	agent_sources_free(a);
	agent_signals_free(a);
	xlb_checker_free(a->checker);
	if (a->reconcile_ev)
		event_free(a->reconcile_ev);
	xlb_shadow_free(a->shadow);
	agent_want_forget(a);
	if (a->maps_open)
		xlb_maps_close(&a->maps);
	xlb_conf_free(&a->conf);
	json_decref(a->doc);
	free(a);
}

int xlb_agent_reload(struct xlb_agent *a, struct xlb_conf_errors *errs)
{
	int err;

	a->st.reloads++;
	err = agent_reload_file(a, errs);
	if (err)
		a->st.reload_errors++;
	return err;
}

const char *xlb_agent_conf_file(struct xlb_agent *a)
{
	return a->conf_file;
}

json_t *xlb_agent_doc(struct xlb_agent *a)
{
	return a->doc;
}

const struct xlb_conf *xlb_agent_conf(struct xlb_agent *a)
{
	return &a->conf;
}

int xlb_agent_revs(struct xlb_agent *a, const char *kind, const char *id, long long *created,
		   long long *modified)
{
	return a->etcd ? xlb_etcd_revs(a->etcd, kind, id, created, modified) : -ENOENT;
}

unsigned long long xlb_agent_probe_fds(struct xlb_agent *a)
{
	unsigned long long checked = 0;
	size_t i;

	for (i = 0; i < a->conf.nupstreams; i++)
		if (a->conf.upstreams[i].active.enabled)
			checked += a->conf.upstreams[i].nnodes;
	if (checked > xlb_checker_max_inflight())
		checked = xlb_checker_max_inflight();
	return 2 * checked;
}
