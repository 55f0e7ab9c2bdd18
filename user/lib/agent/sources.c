// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where the running configuration comes from: the file (at start, on
 * reload), Admin API edits, and with deployment.etcd, etcd's upstreams and
 * stream routes merged into the file's settings (etcd_apply). Everything
 * is validated whole before it is adopted; adopting syncs the registry
 * watches and the nodes, then reconciles the maps.
 */
#define _GNU_SOURCE /* open_memstream */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/adminapi.h"
#include "agent/agent_int.h"
#include "base/log.h"
#include "config/yamljson.h"
#include "discovery/discovery.h"

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void add_err(struct xlb_conf_errors *errs, unsigned int line, const char *path,
		    const char *fmt, const char *arg)
{
	struct xlb_conf_error *e;

	if (errs->n < sizeof(errs->e) / sizeof(errs->e[0])) {
		e = &errs->e[errs->n];
		memset(e, 0, sizeof(*e));
		e->line = line;
		snprintf(e->path, sizeof(e->path), "%s", path);
		snprintf(e->msg, sizeof(e->msg), fmt, arg);
	}
	errs->n++;
}

int xlb_agent_conf_supported(const struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	const struct xlb_upstream_conf *u;
	char path[64], why[256];
	size_t i;

	for (i = 0; i < conf->nupstreams; i++) {
		u = &conf->upstreams[i];
		if (!u->discovery_type[0] ||
		    !xlb_disc_check(&conf->discovery, u->discovery_type, u->service_name,
				    u->discovery_args, why, sizeof(why)))
			continue;
		snprintf(path, sizeof(path), "upstreams[%zu].discovery_type", i);
		add_err(errs, u->line, path, "%s", why);
	}
	return errs->n ? -EINVAL : 0;
}

/* Validate doc as a whole; on success *conf holds it. */
static int doc_parse(json_t *doc, struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	int err;

	memset(errs, 0, sizeof(*errs));
	if (!text)
		return -ENOMEM;
	err = xlb_conf_parse(text, conf, errs);
	free(text);
	if (!err && xlb_agent_conf_supported(conf, errs)) {
		xlb_conf_free(conf);
		err = -EINVAL;
	}
	return err;
}

/*
 * Make conf (validated) the running configuration. When its reconcile
 * fails the maps are as they were (xlb_reconcile()), and so is the running
 * configuration: conf then holds the rejected one, for the caller to free.
 */
static int adopt(struct xlb_agent *a, json_t *doc, struct xlb_conf *conf)
{
	struct xlb_conf old = a->conf;
	json_t *old_doc = a->doc;
	double old_loaded = a->loaded;
	int err;

	err = agent_watches_sync(a, conf);
	if (!err)
		err = agent_nodes_sync(a, conf);
	if (err)
		return err;
	a->loaded = wall_now();
	a->conf = *conf;
	memset(conf, 0, sizeof(*conf));
	a->doc = json_incref(doc);
	err = agent_reconcile(a);
	if (!err) {
		xlb_conf_free(&old);
		json_decref(old_doc);
		return 0;
	}
	*conf = a->conf;
	a->conf = old;
	json_decref(a->doc);
	a->doc = old_doc;
	a->loaded = old_loaded;
	if (agent_nodes_sync(a, &a->conf))
		pr_warn("configuration: restoring the previous nodes failed: out of memory\n");
	if (a->doc && agent_apply_settings(a, &a->conf.xlb))
		pr_warn("configuration: restoring the previous fast-path settings failed\n");
	return err;
}

/*
 * Load and validate the file; on success *doc and *conf hold it. The file
 * is read once: the model and the document the Admin API edits come from
 * the same text, even if the file changes meanwhile.
 */
int agent_load_file(const char *file, json_t **doc, struct xlb_conf *conf,
		    struct xlb_conf_errors *errs)
{
	char *text;
	int err;

	memset(conf, 0, sizeof(*conf));
	err = xlb_conf_read(file, &text, errs);
	if (err)
		return err; /* errs says why, with the position of a NUL byte */
	err = xlb_conf_parse(text, conf, errs);
	if (err)
		goto out_text; /* errs has line:col for the file itself */
	err = xlb_agent_conf_supported(conf, errs);
	if (err)
		goto out_free;
	if (conf->etcd.enabled && (conf->nupstreams || conf->nroutes)) {
		add_err(errs, conf->nupstreams ? conf->upstreams[0].line : conf->routes[0].line,
			conf->nupstreams ? "upstreams" : "stream_routes", "%s",
			"with deployment.etcd, upstreams and stream_routes come from etcd: "
			"remove them from the file (or put them in etcd)");
		err = -EINVAL;
		goto out_free;
	}
	*doc = xlb_yaml_to_json(text);
	if (!*doc) {
		err = errno == ENOMEM ? -ENOMEM : -EINVAL;
		goto out_free;
	}
	free(text);
	return 0;
out_free:
	xlb_conf_free(conf);
out_text:
	free(text);
	return err;
}

int xlb_agent_check_file(const char *file, struct xlb_conf_errors *errs)
{
	struct xlb_conf conf;
	json_t *doc = NULL;
	int err;

	err = agent_load_file(file, &doc, &conf, errs);
	if (err)
		return err;
	xlb_conf_free(&conf);
	json_decref(doc);
	return 0;
}

/* file_doc with etcd's objects as its upstreams and stream_routes. */
static json_t *merge_doc(json_t *file_doc, json_t *ups, json_t *routes)
{
	json_t *doc = json_deep_copy(file_doc);

	if (!doc)
		return NULL;
	if (json_object_set_new(doc, "upstreams", ups ? json_deep_copy(ups) : json_array()) ||
	    json_object_set_new(doc, "stream_routes",
				routes ? json_deep_copy(routes) : json_array())) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static const char *obj_id(json_t *o, char *buf, size_t len)
{
	json_t *id = json_object_get(o, "id");

	if (json_is_string(id))
		return json_string_value(id);
	snprintf(buf, len, "%lld", json_is_integer(id) ? (long long)json_integer_value(id) : -1LL);
	return buf;
}

/* Note a refused key once per distinct set of problems (f: the set being built). */
static void etcd_problem(struct xlb_agent *a, FILE *f, const char *kind, const char *id,
			 const struct xlb_conf_errors *errs, const char *outcome)
{
	a->etcd_rejects++;
	if (f)
		fprintf(f, "etcd: %s/%s/%s: %s: %s; %s\n", a->etcd_conf.prefix, kind, id,
			errs->n ? errs->e[0].path : "?", errs->n ? errs->e[0].msg : "?", outcome);
}

/*
 * Try one change of etcd on top of *cur (obj NULL: delete kind/id): kept
 * when the whole still validates. 1 kept, 0 refused, -ENOMEM.
 */
static int etcd_try(struct xlb_agent *a, json_t **cur, const char *kind, const char *id,
		    json_t *obj, FILE *f)
{
	struct xlb_conf conf = {};
	struct xlb_conf_errors errs;
	json_t *doc = json_deep_copy(*cur), *arr;
	int at, err;

	if (!doc)
		return -ENOMEM;
	arr = json_object_get(doc, kind);
	at = xlb_admin_doc_find(arr, id);
	if (!obj)
		err = at >= 0 ? json_array_remove(arr, at) : 0;
	else if (at >= 0)
		err = json_array_set(arr, at, obj);
	else
		err = json_array_append(arr, obj);
	if (err) {
		json_decref(doc);
		return -ENOMEM;
	}
	err = doc_parse(doc, &conf, &errs);
	xlb_conf_free(&conf);
	if (err == -ENOMEM) {
		json_decref(doc);
		return err;
	}
	if (err) {
		etcd_problem(a, f, kind, id, &errs,
			     !obj      ? "its deletion is refused (it is in use)"
			     : at >= 0 ? "the running version stays"
				       : "left out");
		json_decref(doc);
		return 0;
	}
	json_decref(*cur);
	*cur = doc;
	return 1;
}

/*
 * Make etcd's objects the running configuration: all at once when they
 * validate together, the usual case. Otherwise, from the objects that run
 * now, etcd's changes are tried one key at a time (upstreams added or
 * changed, then routes added or changed, then routes deleted, then
 * upstreams deleted), each kept only if the whole still validates: one bad
 * key costs that key, never the rest. Refused keys are logged once for
 * each distinct set of problems.
 */
static int etcd_apply(struct xlb_agent *a)
{
	static const char *const kinds[2] = {"upstreams", "stream_routes"};
	json_t *etcd_objs[2] = {a->etcd_ups, a->etcd_routes};
	struct xlb_conf conf = {};
	struct xlb_conf_errors errs;
	char *problems = NULL, idb[32];
	json_t *doc, *o, *run;
	size_t plen = 0, i;
	int k, err;
	FILE *f;

	doc = merge_doc(a->file_doc, a->etcd_ups, a->etcd_routes);
	if (!doc)
		return -ENOMEM;
	err = doc_parse(doc, &conf, &errs);
	if (err == -EINVAL) {
		xlb_conf_free(&conf);
		json_decref(doc);
		doc = merge_doc(a->file_doc, json_object_get(a->doc, "upstreams"),
				json_object_get(a->doc, "stream_routes"));
		if (!doc)
			return -ENOMEM;
		f = open_memstream(&problems, &plen);
		for (k = 0, err = 0; k < 2 && err >= 0; k++) {
			json_array_foreach (etcd_objs[k], i, o) {
				const char *id = obj_id(o, idb, sizeof(idb));

				run = json_array_get(
					json_object_get(doc, kinds[k]),
					xlb_admin_doc_find(json_object_get(doc, kinds[k]), id));
				if (run && json_equal(run, o))
					continue;
				err = etcd_try(a, &doc, kinds[k], id, o, f);
				if (err < 0)
					break;
			}
		}
		for (k = 1; k >= 0 && err >= 0; k--) {
			run = json_object_get(doc, kinds[k]);
			for (i = json_array_size(run); i-- > 0 && err >= 0;) {
				char id[XLB_ID_LEN];

				snprintf(id, sizeof(id), "%s",
					 obj_id(json_array_get(run, i), idb, sizeof(idb)));
				if (xlb_admin_doc_find(etcd_objs[k], id) < 0)
					err = etcd_try(a, &doc, kinds[k], id, NULL, f);
				run = json_object_get(doc, kinds[k]);
			}
		}
		if (f)
			fclose(f);
		err = err < 0 ? err : doc_parse(doc, &conf, &errs);
	}
	if (problems && plen) {
		if (!a->etcd_problem || strcmp(problems, a->etcd_problem)) {
			char *save = NULL, *l;

			free(a->etcd_problem);
			a->etcd_problem = strdup(problems);
			for (l = strtok_r(problems, "\n", &save); l;
			     l = strtok_r(NULL, "\n", &save))
				pr_warn("%s\n", l);
		}
	} else {
		free(a->etcd_problem);
		a->etcd_problem = NULL;
	}
	free(problems);
	if (!err)
		err = adopt(a, doc, &conf);
	else
		pr_warn("etcd: cannot apply etcd's objects (%s); the running configuration stays\n",
			strerror(-err));
	xlb_conf_free(&conf);
	json_decref(doc);
	return err;
}

static void on_etcd_update(json_t *ups, json_t *routes, long long rev, void *arg)
{
	struct xlb_agent *a = arg;

	json_decref(a->etcd_ups);
	json_decref(a->etcd_routes);
	a->etcd_ups = json_incref(ups);
	a->etcd_routes = json_incref(routes);
	a->etcd_have = 1;
	pr_info("etcd: revision %lld: %zu upstreams, %zu stream routes\n", rev,
		json_array_size(ups), json_array_size(routes));
	etcd_apply(a);
}

/* Start, restart or stop the etcd source for the settings in conf. */
static int etcd_sync(struct xlb_agent *a, const struct xlb_etcd_conf *c)
{
	if (a->etcd && !memcmp(c, &a->etcd_conf, sizeof(*c)))
		return 0;
	if (a->etcd) {
		pr_info("etcd: settings changed: reconnecting\n");
		xlb_etcd_free(a->etcd);
		a->etcd = NULL;
	}
	a->etcd_conf = *c;
	if (!c->enabled) {
		/* The file is the source again: etcd's objects are forgotten. */
		json_decref(a->etcd_ups);
		json_decref(a->etcd_routes);
		a->etcd_ups = a->etcd_routes = NULL;
		a->etcd_have = 0;
		return 0;
	}
	a->etcd = xlb_etcd_new(a->base, c, on_etcd_update, a);
	if (!a->etcd)
		return -errno ? -errno : -ENOMEM;
	pr_info("etcd: reading upstreams and stream routes from %s%s under %s\n", c->hosts[0],
		c->nhosts > 1 ? " (and fail-over hosts)" : "", c->prefix);
	return 0;
}

/*
 * The file (at start or reloaded) and, with etcd, the objects from etcd:
 * with etcd's objects in hand, the new file is validated together with the
 * objects that run now before anything changes (settings, the etcd
 * connection); then etcd's own objects are tried again with the new file.
 */
int agent_adopt_file(struct xlb_agent *a, json_t *file_doc, struct xlb_conf *conf,
		     struct xlb_conf_errors *errs)
{
	struct xlb_conf merged = {};
	json_t *doc = NULL, *old_file;
	int err;

	if (conf->etcd.enabled && a->etcd_have && a->doc) {
		doc = merge_doc(file_doc, json_object_get(a->doc, "upstreams"),
				json_object_get(a->doc, "stream_routes"));
		if (!doc)
			return -ENOMEM;
		err = doc_parse(doc, &merged, errs);
		if (err)
			goto out;
	}
	err = agent_apply_settings(a, &conf->xlb);
	if (!err)
		err = etcd_sync(a, &conf->etcd);
	if (err)
		goto out;
	old_file = a->file_doc;
	a->file_doc = json_incref(file_doc);
	if (doc) {
		err = adopt(a, doc, &merged);
		if (!err)
			etcd_apply(a);
	} else {
		err = adopt(a, file_doc, conf);
	}
	if (err) {
		json_decref(a->file_doc);
		a->file_doc = old_file;
	} else {
		json_decref(old_file);
	}
out:
	xlb_conf_free(&merged);
	json_decref(doc);
	return err;
}

/* How an Admin API edit written to etcd went (it comes back through the watch). */
static void on_etcd_put(int err, const char *why, void *arg)
{
	if (err)
		pr_warn("etcd: writing an admin API edit failed: %s\n",
			why && *why ? why : strerror(-err));
}

int xlb_agent_put(struct xlb_agent *a, const char *kind, const char *id, json_t *obj,
		  struct xlb_conf_errors *errs)
{
	struct xlb_conf conf = {};
	json_t *doc;
	int err;

	memset(errs, 0, sizeof(*errs));
	doc = xlb_admin_doc_edit(a->doc, kind, id, obj, &err);
	if (!doc)
		return err;
	err = doc_parse(doc, &conf, errs);
	/*
	 * With etcd the edit is written there (and so persists); it comes back
	 * through the watch and is applied like any other etcd change.
	 */
	if (!err && a->etcd)
		err = xlb_etcd_put(a->etcd, kind, id, obj, on_etcd_put, a);
	else if (!err)
		err = adopt(a, doc, &conf);
	xlb_conf_free(&conf);
	json_decref(doc);
	return err;
}

void agent_sources_free(struct xlb_agent *a)
{
	xlb_etcd_free(a->etcd);
	a->etcd = NULL;
	json_decref(a->etcd_ups);
	json_decref(a->etcd_routes);
	json_decref(a->file_doc);
	a->etcd_ups = a->etcd_routes = a->file_doc = NULL;
	free(a->etcd_problem);
	a->etcd_problem = NULL;
}
