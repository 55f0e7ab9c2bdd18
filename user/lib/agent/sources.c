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
#include <malloc.h>
#include <pthread.h>
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
 * Validate the file's text; on success *doc and *conf hold it. The file
 * is read once: the model and the document the Admin API edits come from
 * the same text, even if the file changes meanwhile.
 */
/* The document the Admin API edits, made beside the parse (agent_load_text()). */
struct doc_job {
	const char *text;
	json_t *doc;
	int err; /* errno when doc is NULL */
};

static void *doc_make(void *arg)
{
	struct doc_job *j = arg;

	j->doc = xlb_yaml_to_json(j->text);
	j->err = j->doc ? 0 : errno;
	return NULL;
}

int agent_load_text(const char *text, json_t **doc, struct xlb_conf *conf,
		    struct xlb_conf_errors *errs)
{
	struct doc_job job = {.text = text};
	pthread_t th;
	int err, threaded;

	/*
	 * The model and the document come from the same text by two parses
	 * that share nothing: on a host with more than one CPU the document's
	 * is made on a thread of its own meanwhile (a start at 10,000 routes
	 * waits for the longer one only). Without a thread, one after the other.
	 */
	threaded = !pthread_create(&th, NULL, doc_make, &job);
	memset(conf, 0, sizeof(*conf));
	err = xlb_conf_parse_kept(text, conf, errs);
	if (!err)
		err = xlb_agent_conf_supported(conf, errs);
	if (!err && conf->etcd.enabled && (conf->nupstreams || conf->nroutes)) {
		add_err(errs, conf->nupstreams ? conf->upstreams[0].line : conf->routes[0].line,
			conf->nupstreams ? "upstreams" : "stream_routes", "%s",
			"with deployment.etcd, upstreams and stream_routes come from etcd: "
			"remove them from the file (or put them in etcd)");
		err = -EINVAL;
	}
	if (threaded)
		pthread_join(th, NULL);
	else if (!err)
		doc_make(&job);
	if (!err && !job.doc)
		err = job.err == ENOMEM ? -ENOMEM : -EINVAL;
	if (err) {
		json_decref(job.doc);
		xlb_conf_free(conf);
		return err; /* errs has line:col for the file itself */
	}
	*doc = job.doc;
	return 0;
}

int agent_load_file(const char *file, json_t **doc, struct xlb_conf *conf,
		    struct xlb_conf_errors *errs)
{
	char *text;
	int err;

	memset(conf, 0, sizeof(*conf));
	err = xlb_conf_read(file, &text, errs);
	if (err)
		return err; /* errs says why, with the position of a NUL byte */
	err = agent_load_text(text, doc, conf, errs);
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

enum obj_mode {
	OBJ_ADMIN, /* an Admin API edit: adopted; obj's id set */
	OBJ_CHECK, /* an Admin API edit for etcd: checked only */
	OBJ_ETCD,  /* etcd's object: adopted as it is */
};

static int obj_patch(struct xlb_agent *a, const char *kind, const char *id, json_t *obj,
		     enum obj_mode mode);

/* One change etcd brought: an object of a kind, new or changed (obj), or gone. */
struct etcd_change {
	int kind;
	char id[XLB_ID_LEN];
	json_t *obj;
};

#define ETCD_PATCH_MAX 16 /* changes in one update taken one by one; more: the whole way */

/* The changes from a->doc's objects to etcd's: their count, or -1 when too many. */
static int etcd_changes(struct xlb_agent *a, struct etcd_change *ch)
{
	static const char *const kinds[2] = {"upstreams", "stream_routes"};
	json_t *etcd_objs[2] = {a->etcd_ups, a->etcd_routes}, *cur, *o, *c;
	char ib[32], cb[32];
	const char *id;
	size_t i;
	int k, n = 0;

	for (k = 0; k < 2; k++) {
		cur = json_object_get(a->doc, kinds[k]);
		/* New or changed: the same place first, else by id. */
		json_array_foreach (etcd_objs[k], i, o) {
			id = obj_id(o, ib, sizeof(ib));
			c = json_array_get(cur, i);
			if (!c || strcmp(obj_id(c, cb, sizeof(cb)), id))
				c = json_array_get(cur, (size_t)xlb_admin_doc_find(cur, id));
			if (c && json_equal(c, o))
				continue;
			if (n == ETCD_PATCH_MAX || strlen(id) >= XLB_ID_LEN)
				return -1;
			ch[n].kind = k;
			snprintf(ch[n].id, sizeof(ch[n].id), "%s", id);
			ch[n++].obj = o;
		}
		/* Gone. */
		json_array_foreach (cur, i, c) {
			id = obj_id(c, cb, sizeof(cb));
			o = json_array_get(etcd_objs[k], i);
			if ((o && !strcmp(obj_id(o, ib, sizeof(ib)), id)) ||
			    xlb_admin_doc_find(etcd_objs[k], id) >= 0)
				continue;
			if (n == ETCD_PATCH_MAX || strlen(id) >= XLB_ID_LEN)
				return -1;
			ch[n].kind = k;
			snprintf(ch[n].id, sizeof(ch[n].id), "%s", id);
			ch[n++].obj = NULL;
		}
	}
	return n;
}

/*
 * An update of a few of etcd's objects, each as a patch (obj_patch()), in
 * an order that keeps references valid: upstreams new or changed, routes
 * gone, routes new or changed, upstreams gone. 0, or -EAGAIN: the whole
 * way (which takes the rest from where these stopped).
 */
static int etcd_patch(struct xlb_agent *a)
{
	static const char *const kinds[2] = {"upstreams", "stream_routes"};
	static const struct {
		int kind, gone;
	} order[] = {{0, 0}, {1, 1}, {1, 0}, {0, 1}};
	struct etcd_change ch[ETCD_PATCH_MAX];
	int n, i, p, err = 0;

	if (!a->doc || a->etcd_problem)
		return -EAGAIN;
	n = etcd_changes(a, ch);
	if (n < 0)
		return -EAGAIN;
	for (p = 0; p < 4 && !err; p++)
		for (i = 0; i < n && !err; i++)
			if (ch[i].kind == order[p].kind && (!ch[i].obj) == order[p].gone)
				err = obj_patch(a, kinds[ch[i].kind], ch[i].id, ch[i].obj,
						OBJ_ETCD);
	if (!err && n)
		pr_info("etcd: %d objects applied one by one, the rest kept\n", n);
	return err ? -EAGAIN : 0;
}

/* 1 when upstream o validates alone with the file's settings, 0 if not. */
static int upstream_alone_valid(struct xlb_agent *a, json_t *o)
{
	struct xlb_conf conf = {};
	struct xlb_conf_errors errs;
	json_t *ups = json_pack("[O]", o), *doc;
	int err;

	doc = ups ? merge_doc(a->file_doc, ups, NULL) : NULL;
	json_decref(ups);
	if (!doc)
		return -ENOMEM;
	err = doc_parse(doc, &conf, &errs);
	xlb_conf_free(&conf);
	json_decref(doc);
	return err == -ENOMEM ? err : !err;
}

/*
 * The upstreams of etcd that xlb serves (a->etcd_ups, from etcd_all_ups).
 * An APISIX deployment's etcd holds the upstreams of its HTTP routes beside
 * those of its stream routes, often with keys only an HTTP proxy has
 * (pass_host, retries, timeout, ...). An upstream that a stream route uses
 * is served and validated with the rest (etcd_apply(): its problems are
 * logged). One that no stream route uses is served if it validates alone
 * (the Admin API shows what was written), else left out quietly: counted
 * (xlb_etcd_ignored_keys{kind="upstreams"}), never logged per key, and it
 * costs nothing else. Verdicts are kept while the object and the file stay
 * the same. 0 or -ENOMEM (then every upstream is served, as before).
 */
static int etcd_filter(struct xlb_agent *a)
{
	json_t *used = json_object(), *served = json_array(), *verdicts = json_object();
	json_t *o, *v, *uid;
	char idb[32];
	const char *id;
	unsigned int n = 0;
	size_t i;
	int ok, err = -ENOMEM;

	if (!used || !served || !verdicts)
		goto out;
	json_array_foreach (a->etcd_routes, i, o) {
		uid = json_object_get(o, "upstream_id");
		if (json_is_integer(uid))
			snprintf(idb, sizeof(idb), "%lld", (long long)json_integer_value(uid));
		id = json_is_string(uid)    ? json_string_value(uid)
		     : json_is_integer(uid) ? idb
					    : NULL;
		if (id && json_object_set(used, id, json_true()))
			goto out;
	}
	json_array_foreach (a->etcd_all_ups, i, o) {
		id = obj_id(o, idb, sizeof(idb));
		ok = 1;
		if (!json_object_get(used, id) && a->file_doc) {
			v = a->etcd_verdict_file == a->file_doc
				    ? json_object_get(a->etcd_verdicts, id)
				    : NULL;
			if (v && json_equal(json_array_get(v, 0), o))
				ok = json_is_true(json_array_get(v, 1));
			else
				ok = upstream_alone_valid(a, o);
			if (ok < 0 || json_object_set_new(verdicts, id, json_pack("[O,b]", o, ok)))
				goto out;
		}
		if (!ok)
			n++;
		else if (json_array_append(served, o))
			goto out;
	}
	if (n != a->etcd_ignored_ups)
		pr_info("etcd: %u upstreams that no stream route uses are not served: "
			"they do not validate for L4 (xlb_etcd_ignored_keys{kind=\"upstreams\"})\n",
			n);
	a->etcd_ignored_ups = n;
	json_decref(a->etcd_ups);
	a->etcd_ups = served;
	served = NULL;
	json_decref(a->etcd_verdicts);
	a->etcd_verdicts = verdicts;
	verdicts = NULL;
	if (a->etcd_verdict_file != a->file_doc) {
		json_decref(a->etcd_verdict_file);
		a->etcd_verdict_file = json_incref(a->file_doc);
	}
	err = 0;
out:
	if (err) {
		json_decref(a->etcd_ups);
		a->etcd_ups = json_incref(a->etcd_all_ups);
	}
	json_decref(used);
	json_decref(served);
	json_decref(verdicts);
	return err;
}

static void on_etcd_update(json_t *ups, json_t *routes, long long rev, void *arg)
{
	struct xlb_agent *a = arg;

	json_decref(a->etcd_all_ups);
	json_decref(a->etcd_routes);
	a->etcd_all_ups = json_incref(ups);
	a->etcd_routes = json_incref(routes);
	a->etcd_have = 1;
	if (etcd_filter(a))
		pr_warn("etcd: out of memory sorting out the upstreams: all are tried\n");
	pr_info("etcd: revision %lld: %zu upstreams (%u not served), %zu stream routes\n", rev,
		json_array_size(ups), a->etcd_ignored_ups, json_array_size(routes));
	if (etcd_patch(a))
		etcd_apply(a);
}

/* Forget etcd's objects (the file is the source again, or the agent ends). */
static void etcd_forget(struct xlb_agent *a)
{
	json_decref(a->etcd_ups);
	json_decref(a->etcd_all_ups);
	json_decref(a->etcd_routes);
	json_decref(a->etcd_verdicts);
	json_decref(a->etcd_verdict_file);
	a->etcd_ups = a->etcd_all_ups = a->etcd_routes = NULL;
	a->etcd_verdicts = a->etcd_verdict_file = NULL;
	a->etcd_ignored_ups = 0;
	a->etcd_have = 0;
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
		etcd_forget(a);
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
		if (!err) {
			etcd_filter(a); /* on failure, all are tried */
			etcd_apply(a);
		}
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

/* Whether the patch (applied) changed the count of its list's items or an id there. */
static int patch_reshapes(const struct xlb_agent *a, const struct xlb_conf_patch *pt)
{
	const struct xlb_upstream_conf *ou = pt->items;
	const struct xlb_route_conf *orr = pt->items;
	size_t i;

	if (pt->n != pt->nconf)
		return 1;
	for (i = 0; i < pt->n; i++)
		if (pt->list == XLB_LIST_UPSTREAMS
			    ? strcmp(ou[i].id, a->conf.upstreams[pt->first + i].id)
			    : strcmp(orr[i].id, a->conf.routes[pt->first + i].id))
			return 1;
	return 0;
}

/*
 * What the agent adds to a patch applied to a->conf (config/patch.c): the
 * checks the configuration layer does not make, the document, then the
 * nodes, the desired state and the reconcile for the patched items alone,
 * so that the cost is the change's, not the configuration's. The new
 * document shares the other objects with a->doc; file: it is the file's
 * too. Returns 0 (*prev, if asked, holds the document before, for
 * patch_undo()), or with the patch undone -EAGAIN (take the whole way: a
 * registry's upstream, a problem to report) or the reconcile's error (the
 * running configuration stays).
 */
/*
 * What the configuration layer does not check of a patch applied: a
 * registry's upstream (its watch is the whole way's to follow), what xlbd
 * supports of the new items (the rest passed before). 0, or -EAGAIN.
 */
static int patch_checks(struct xlb_agent *a, const struct xlb_conf_patch *pt)
{
	const struct xlb_upstream_conf *old = pt->list == XLB_LIST_UPSTREAMS ? pt->items : NULL;
	struct xlb_conf_errors *errs;
	struct xlb_conf *view;
	size_t i;
	int err = 0;

	for (i = 0; old && i < pt->n; i++)
		err |= !!old[i].discovery_type[0];
	for (i = 0; old && i < pt->nconf; i++)
		err |= !!a->conf.upstreams[pt->first + i].discovery_type[0];
	if (err)
		return -EAGAIN;
	errs = calloc(1, sizeof(*errs));
	view = calloc(1, sizeof(*view));
	if (errs && view) {
		*view = a->conf;
		view->upstreams = old ? &a->conf.upstreams[pt->first] : NULL;
		view->nupstreams = old ? pt->nconf : 0;
		view->routes = old ? NULL : &a->conf.routes[pt->first];
		view->nroutes = old ? 0 : pt->nconf;
		err = xlb_agent_conf_supported(view, errs) ? -EAGAIN : 0;
	} else {
		err = -EAGAIN;
	}
	free(view);
	free(errs);
	return err;
}

static int patch_adopt(struct xlb_agent *a, struct xlb_conf_patch *pt, int file, json_t **prev)
{
	const struct xlb_upstream_conf *old = pt->list == XLB_LIST_UPSTREAMS ? pt->items : NULL;
	double loaded = a->loaded;
	json_t *doc = NULL;
	int err;

	err = patch_checks(a, pt);
	if (!err) {
		doc = xlb_conf_patch_doc(pt, a->doc);
		err = doc ? 0 : -EAGAIN;
	}
	if (err) {
		xlb_conf_patch_apply(&a->conf, pt);
		return -EAGAIN;
	}
	err = old ? agent_nodes_patch(a, old, pt->n, pt->first, pt->nconf) : 0;
	if (!err) {
		a->loaded = wall_now();
		a->edit.list = pt->list;
		a->edit.first = pt->first;
		a->edit.n = pt->nconf;
		a->edit.whole = patch_reshapes(a, pt);
		err = agent_reconcile(a);
	}
	if (!err) {
		if (prev)
			*prev = a->doc;
		else
			json_decref(a->doc);
		a->doc = doc;
		if (file) {
			json_decref(a->file_doc);
			a->file_doc = json_incref(doc);
		}
		return 0;
	}
	json_decref(doc);
	a->loaded = loaded;
	a->edit.n = 0;
	xlb_conf_patch_apply(&a->conf, pt);
	if (agent_nodes_sync(a, &a->conf))
		pr_warn("configuration: restoring the previous nodes failed: out of memory\n");
	return err;
}

/*
 * A reload whose text differs from the running one in items of one list
 * only: those items alone (patch_adopt()). text is a->rbuf, which stays
 * the read buffer: memory the kernel has copied into before takes the
 * next read without faults (on this machine a first copy into fresh pages
 * costs more than the rest of the reload). Returns 0 (the conf holds
 * text), -EAGAIN (parse text whole), or the reconcile's error.
 */
static int reload_patch(struct xlb_agent *a, char *text)
{
	struct xlb_conf_patch pt;
	int err;

	if (a->etcd || a->conf.etcd.enabled || !a->doc || a->doc != a->file_doc)
		return -EAGAIN;
	if (xlb_conf_patch_make(&a->conf, text, &pt))
		return -EAGAIN;
	err = patch_adopt(a, &pt, 1, NULL);
	if (!err) {
		pr_info("reload: %zu of %s at [%zu] parsed again (were %zu), the rest kept\n",
			pt.nconf, pt.list == XLB_LIST_UPSTREAMS ? "upstreams" : "stream_routes",
			pt.first, pt.n);
		/* text stays the read buffer, else the old text becomes it. */
		if (xlb_conf_patch_settle(&a->conf, &pt)) {
			a->rbuf = pt.text;
			a->rcap = malloc_usable_size(pt.text);
		}
	}
	pt.text = NULL; /* the old text (settled), or text: the read buffer */
	xlb_conf_patch_free(&pt);
	return err;
}

/*
 * A file patch that stayed (patch_adopt() with prev), taken back: the
 * configuration, the document, the nodes, and the maps (a reconcile that
 * compares everything).
 */
static void patch_undo(struct xlb_agent *a, struct xlb_conf_patch *pt, json_t *prev)
{
	xlb_conf_patch_apply(&a->conf, pt);
	json_decref(a->doc);
	json_decref(a->file_doc);
	a->doc = prev;
	a->file_doc = json_incref(prev);
	if (agent_nodes_sync(a, &a->conf))
		pr_warn("configuration: restoring the previous nodes failed: out of memory\n");
	a->edit.whole = 1;
	if (agent_reconcile(a))
		pr_warn("configuration: the maps may hold a part of a reload that failed\n");
}

/*
 * text reached in two patches, through mid (xlb_conf_patch_split()):
 * 0 (the conf holds text; mid is freed), -EAGAIN (nothing changed; mid
 * stays the caller's), or a reconcile's error (nothing changed).
 */
static int reload_two(struct xlb_agent *a, char *mid, char *text)
{
	struct xlb_conf_patch p1, p2;
	json_t *prev = NULL;
	int err;

	if (xlb_conf_patch_make(&a->conf, mid, &p1))
		return -EAGAIN;
	err = patch_adopt(a, &p1, 1, &prev);
	if (err) {
		p1.text = NULL; /* mid, the caller's */
		xlb_conf_patch_free(&p1);
		return err;
	}
	err = xlb_conf_patch_make(&a->conf, text, &p2) ? -EAGAIN : 0;
	if (!err) {
		err = patch_adopt(a, &p2, 1, NULL);
		if (err) {
			p2.text = NULL; /* text, the read buffer */
			xlb_conf_patch_free(&p2);
		}
	}
	if (err) {
		patch_undo(a, &p1, prev);
		p1.text = NULL;
		xlb_conf_patch_free(&p1);
		return err;
	}
	pr_info("reload: %zu of %s at [%zu] and %zu of %s at [%zu] parsed again, the rest kept\n",
		p1.nconf, p1.list == XLB_LIST_UPSTREAMS ? "upstreams" : "stream_routes", p1.first,
		p2.nconf, p2.list == XLB_LIST_UPSTREAMS ? "upstreams" : "stream_routes", p2.first);
	json_decref(prev);
	/* The conf keeps text in mid's buffer (p2's old text); text stays the read buffer. */
	if (xlb_conf_patch_settle(&a->conf, &p2)) {
		a->rbuf = p2.text;
		a->rcap = malloc_usable_size(p2.text);
	}
	p2.text = NULL;
	xlb_conf_patch_free(&p2);
	xlb_conf_patch_free(&p1); /* and the old text */
	return 0;
}

/* A reload that changes items of both lists: one list, then the other, either way round. */
static int reload_split(struct xlb_agent *a, char *text)
{
	char *mid[2];
	int err = -EAGAIN, k;

	if (a->etcd || a->conf.etcd.enabled || !a->doc || a->doc != a->file_doc ||
	    xlb_conf_patch_split(&a->conf, text, &mid[0], &mid[1]))
		return -EAGAIN;
	for (k = 0; k < 2 && err == -EAGAIN; k++) {
		err = reload_two(a, mid[k], text);
		if (!err)
			mid[k] = NULL;
	}
	free(mid[0]);
	free(mid[1]);
	return err;
}

int agent_reload_file(struct xlb_agent *a, struct xlb_conf_errors *errs)
{
	struct xlb_conf conf;
	json_t *doc = NULL;
	int err;

	/* One buffer for every reload's read (see reload_patch()). */
	err = xlb_conf_read_reuse(a->conf_file, &a->rbuf, &a->rcap, errs);
	if (err)
		return err;
	err = reload_patch(a, a->rbuf);
	if (err == -EAGAIN)
		err = reload_split(a, a->rbuf);
	if (err != -EAGAIN)
		return err;
	err = agent_load_text(a->rbuf, &doc, &conf, errs);
	if (err)
		return err;
	err = agent_adopt_file(a, doc, &conf, errs);
	xlb_conf_free(&conf);
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

/*
 * One object of kind (new, replaced, or deleted: obj NULL) as a patch of
 * a->conf (patch_adopt()), or only checked that way. 0, or -EAGAIN: the
 * whole way, which also says what is wrong; or a reconcile's error.
 */
static int obj_patch(struct xlb_agent *a, const char *kind, const char *id, json_t *obj,
		     enum obj_mode mode)
{
	int list = !strcmp(kind, "upstreams")	    ? XLB_LIST_UPSTREAMS
		   : !strcmp(kind, "stream_routes") ? XLB_LIST_ROUTES
						    : -1;
	json_t *arr = json_object_get(a->doc, kind), *o = NULL;
	struct xlb_conf_patch pt;
	size_t at, nconf;
	int found, err;

	if (list < 0 || !json_is_array(arr))
		return -EAGAIN;
	found = xlb_admin_doc_find(arr, id);
	if (found < 0 && !obj)
		return -EAGAIN; /* nothing to delete: the whole way says so */
	at = found < 0 ? json_array_size(arr) : (size_t)found;
	nconf = found < 0 ? 0 : 1;
	if (nconf &&
	    strcmp(list == XLB_LIST_UPSTREAMS ? a->conf.upstreams[at].id : a->conf.routes[at].id,
		   id))
		return -EAGAIN;
	if (obj) {
		o = json_deep_copy(obj);
		if (!o || (mode != OBJ_ETCD && json_object_set_new(o, "id", json_string(id)))) {
			json_decref(o);
			return -EAGAIN;
		}
	}
	err = xlb_conf_patch_item(&a->conf, list, at, nconf, o, &pt);
	json_decref(o);
	if (err)
		return -EAGAIN;
	if (mode == OBJ_CHECK) {
		err = patch_checks(a, &pt);
		xlb_conf_patch_apply(&a->conf, &pt);
	} else {
		err = patch_adopt(a, &pt, 0, NULL);
	}
	if (!err && mode != OBJ_CHECK) /* the file's text no longer describes it */
		xlb_conf_forget_text(&a->conf);
	xlb_conf_patch_free(&pt);
	return err;
}

int xlb_agent_put(struct xlb_agent *a, const char *kind, const char *id, json_t *obj,
		  struct xlb_conf_errors *errs)
{
	struct xlb_conf conf = {};
	json_t *doc;
	int err;

	memset(errs, 0, sizeof(*errs));
	/*
	 * One object alone: adopted; with etcd checked, then written there
	 * (it comes back through the watch, and is applied like any other
	 * etcd change).
	 */
	err = obj_patch(a, kind, id, obj, a->etcd ? OBJ_CHECK : OBJ_ADMIN);
	if (!err && a->etcd)
		return xlb_etcd_put(a->etcd, kind, id, obj, on_etcd_put, a);
	if (err != -EAGAIN)
		return err;
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
	etcd_forget(a);
	json_decref(a->file_doc);
	a->file_doc = NULL;
	free(a->etcd_problem);
	a->etcd_problem = NULL;
	free(a->rbuf);
	a->rbuf = NULL;
	a->rcap = 0;
}
