/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The configuration's entry points: a YAML or JSON document -> struct
 * xlb_conf (xlb_conf_parse), the one loader of configuration files
 * (xlb_conf_read, xlb_conf_load), and lookups in a validated conf.
 *
 * Where the rest is: the schema engine (tables of keys, types, bounds,
 * errors with their positions) in schema.c; xlb's tables in tables.c,
 * tables_discovery.c and nodes.c; building and linking upstreams and
 * routes in link.c.
 *
 * Validating, then applying. The model is built in a private struct
 * xlb_conf and handed to the caller only if no problem was found;
 * otherwise it is freed and the caller's struct stays zeroed. Every
 * problem is reported, not just the first, sorted by position.
 *
 * A file cut short must not remove every VIP. An empty document is an
 * error, and so is one without stream_routes (link.c). Text cut inside a
 * value is a syntax error from libyaml, and a NUL byte (after which the
 * parser would see nothing) is refused with its position when the file is
 * read. A file larger than 64 MiB is refused before it is parsed. YAML
 * anchors and aliases work; merge keys (<<) and a second document in the
 * stream are errors.
 *
 * Limits that keep a hostile document (aliases of aliases) small: at most
 * 65536 upstreams, XLB_MAX_VIPS stream routes (link.c), XLB_MAX_MEMBERS
 * nodes in all upstreams (nodes.c), and 4096 values 16 levels deep in one
 * discovery_args (tables.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <yaml.h>

#include "config/patch.h"
#include "config/tables.h"
#include "config/yamldoc.h"

#define FILE_MAX (64 << 20)

/* --- parsing ---------------------------------------------------------------- */

/* xlb_conf_parse(), and with layout the items' places in text (patch.c). */
static int conf_parse(const char *text, struct xlb_conf *conf, struct xlb_conf_errors *errs,
		      int layout)
{
	struct xlb_conf tmp = {0};
	struct parser p = {.conf = &tmp, .errs = errs};
	struct xlb_yaml_doc doc, more;
	yaml_node_t *root;
	yaml_parser_t yp;
	int err;

	memset(conf, 0, sizeof(*conf));
	memset(errs, 0, sizeof(*errs));
	if (!text)
		return -EINVAL;
	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, strlen(text));
	if (!xlb_yaml_doc_load(&yp, &doc)) {
		err = xlb_schema_syntax_error(&p, &yp, text);
		goto out_parser;
	}
	p.doc = &doc.doc;
	xlb_schema_defaults(&xlb_conf_root_table, &tmp);
	root = yaml_document_get_root_node(&doc.doc);
	/* Empty, comments only, or "---" alone: a file emptied or not yet written. */
	if (!root || (root->type == YAML_SCALAR_NODE && xlb_schema_node_kind(root) == SK_NULL))
		xlb_schema_report_at(&p, 1, 1, "",
				     "the document is empty (write 'stream_routes: []' to "
				     "run without routes)");
	else if (root->type != YAML_MAPPING_NODE)
		xlb_schema_report(&p, root, "",
				  "the document must be a mapping of upstreams, "
				  "stream_routes and xlb");
	else
		xlb_schema_parse_object(&p, &xlb_conf_root_table, root, &tmp, "");
	/* One document: a second one would be silently ignored otherwise. */
	if (root && !xlb_yaml_doc_load(&yp, &more)) {
		xlb_schema_syntax_error(&p, &yp, text);
	} else if (root) {
		if (yaml_document_get_root_node(&more.doc))
			xlb_schema_report(&p, yaml_document_get_root_node(&more.doc), "",
					  "only one YAML document is allowed");
		xlb_yaml_doc_free(&more);
	}
	err = p.err ? p.err : errs->n ? -EINVAL : 0;
	/* With anchors an item may depend on text elsewhere: no layout. */
	if (!err && layout && !doc.anchors)
		tmp.layout = xlb_conf_layout_make(text, &doc.doc, p.upstreams, p.routes);
	tmp.nodes_total = p.nodes;
	xlb_yaml_doc_free(&doc);
out_parser:
	yaml_parser_delete(&yp);
	free(p.ups);
	free(p.rts);
	xlb_schema_sort_errors(errs);
	if (err)
		xlb_conf_free(&tmp);
	else
		*conf = tmp;
	return err;
}

int xlb_conf_parse(const char *text, struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	return conf_parse(text, conf, errs, 0);
}

int xlb_conf_parse_kept(const char *text, struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	char *copy;
	size_t len;
	int err = conf_parse(text, conf, errs, 1);

	if (err || !conf->layout)
		return err;
	/* With room to grow: this buffer is a reload's read buffer later. */
	len = strlen(text);
	copy = malloc(len + len / 64 + 4096 + 1);
	if (copy) {
		memcpy(copy, text, len + 1);
		xlb_conf_layout_text(conf->layout, copy);
	} else { /* only a shortcut is lost */
		xlb_conf_layout_free(conf->layout);
		conf->layout = NULL;
	}
	return 0;
}

/* --- the file loader: the only place configuration files are read ------------ */

/*
 * The whole file, NUL-terminated, in *text, and its length: in the buffer
 * *text of *cap bytes when it fits (memory used before costs no page
 * faults), else in a larger one (*text and *cap follow).
 */
static int read_text(const char *file, char **text, size_t *tcap, size_t *size)
{
	size_t len = 0, cap = *text && *tcap > 1 ? *tcap - 1 : 0;
	char *buf = *text, *bigger;
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/*
	 * Room for the size known now and then some (a file edited grows a
	 * little): a buffer used again stays, its pages mapped.
	 */
	if (!fstat(fd, &st) && st.st_size > 0 && (size_t)st.st_size >= cap &&
	    st.st_size < FILE_MAX) {
		bigger = realloc(buf, (size_t)st.st_size + st.st_size / 64 + 4096 + 1);
		if (bigger) {
			buf = bigger;
			cap = (size_t)st.st_size + st.st_size / 64 + 4096;
		}
	}
	for (;;) {
		if (len == cap) {
			if (cap >= FILE_MAX) {
				err = -EFBIG;
				goto out_close;
			}
			cap = cap ? 2 * cap : 65536;
			bigger = realloc(buf, cap + 1);
			if (!bigger) {
				err = -ENOMEM;
				goto out_close;
			}
			buf = bigger;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out_close;
		}
		if (!n)
			break;
		len += n;
	}
	buf[len] = '\0';
out_close:
	close(fd);
	*text = buf;
	*tcap = buf ? cap + 1 : 0;
	*size = err ? 0 : len;
	return err;
}

int xlb_conf_read(const char *file, char **text, struct xlb_conf_errors *errs)
{
	size_t cap = 0;
	int err;

	*text = NULL;
	err = xlb_conf_read_reuse(file, text, &cap, errs);
	if (err) {
		free(*text);
		*text = NULL;
	}
	return err;
}

int xlb_conf_read_reuse(const char *file, char **text, size_t *cap, struct xlb_conf_errors *errs)
{
	unsigned int line = 1, col = 1;
	struct xlb_conf_error *e = &errs->e[0];
	size_t len = 0, i;
	char *buf;
	int err;

	memset(errs, 0, sizeof(*errs));
	err = read_text(file, text, cap, &len);
	buf = *text;
	if (err) {
		errs->n = 1;
		snprintf(e->msg, sizeof(e->msg), "cannot read: %s",
			 err == -EFBIG ? "larger than 64 MiB" : strerror(-err));
		return err == -EFBIG ? -EINVAL : err;
	}
	/* The parser stops at a NUL: what follows it would be silently lost. */
	if (!memchr(buf, '\0', len))
		return 0;
	for (i = 0; buf[i]; i++, col++) {
		if (buf[i] == '\n') {
			line++;
			col = 0;
		}
	}
	errs->n = 1;
	e->line = line;
	e->col = col;
	snprintf(e->msg, sizeof(e->msg), "contains a NUL byte (not a text file?)");
	return -EINVAL;
}

int xlb_conf_load(const char *file, struct xlb_conf *conf, struct xlb_conf_errors *errs)
{
	char *text;
	int err;

	memset(conf, 0, sizeof(*conf));
	err = xlb_conf_read(file, &text, errs);
	if (err)
		return err;
	err = xlb_conf_parse(text, conf, errs);
	free(text);
	return err;
}

/* --- the model ---------------------------------------------------------------- */

void xlb_conf_free(struct xlb_conf *conf)
{
	size_t i;

	if (!conf)
		return;
	for (i = 0; i < conf->nupstreams; i++) {
		free(conf->upstreams[i].nodes);
		free(conf->upstreams[i].discovery_args);
	}
	free(conf->upstreams);
	free(conf->routes);
	xlb_conf_layout_free(conf->layout);
	memset(conf, 0, sizeof(*conf));
}

void xlb_conf_error_str(const char *file, const struct xlb_conf_error *e, char *buf, size_t len)
{
	char pos[32] = "";

	if (e->line)
		snprintf(pos, sizeof(pos), ":%u:%u", e->line, e->col);
	snprintf(buf, len, "%s%s: %s%s%s", file ? file : "<input>", pos, e->path,
		 e->path[0] ? ": " : "", e->msg);
}

/* Two upstreams alike, but for the places of what they own (and line, unless lines). */
static int upstream_equal(const struct xlb_upstream_conf *a, const struct xlb_upstream_conf *b,
			  int lines)
{
	struct xlb_upstream_conf x = *a, y = *b;

	if (a->nnodes != b->nnodes ||
	    (a->nnodes && memcmp(a->nodes, b->nodes, a->nnodes * sizeof(*a->nodes))) ||
	    !a->discovery_args != !b->discovery_args ||
	    (a->discovery_args && strcmp(a->discovery_args, b->discovery_args)))
		return 0;
	x.nodes = y.nodes = NULL;
	x.discovery_args = y.discovery_args = NULL;
	if (!lines)
		x.line = y.line = 0;
	return !memcmp(&x, &y, sizeof(x));
}

int xlb_conf_equal(const struct xlb_conf *a, const struct xlb_conf *b, int lines)
{
	struct xlb_route_conf r, q;
	size_t i;

	if (a->nupstreams != b->nupstreams || a->nroutes != b->nroutes ||
	    a->nodes_total != b->nodes_total || memcmp(&a->xlb, &b->xlb, sizeof(a->xlb)) ||
	    memcmp(&a->discovery, &b->discovery, sizeof(a->discovery)) ||
	    memcmp(&a->etcd, &b->etcd, sizeof(a->etcd)))
		return 0;
	for (i = 0; i < a->nupstreams; i++)
		if (!upstream_equal(&a->upstreams[i], &b->upstreams[i], lines))
			return 0;
	for (i = 0; i < a->nroutes; i++) {
		r = a->routes[i];
		q = b->routes[i];
		if (!lines)
			r.line = q.line = 0;
		if (memcmp(&r, &q, sizeof(r)))
			return 0;
	}
	return 1;
}

/* Linear: for lookups now and then, not per packet. */
const struct xlb_upstream_conf *xlb_conf_upstream(const struct xlb_conf *conf, const char *id)
{
	size_t i;

	for (i = 0; i < conf->nupstreams; i++)
		if (!strcmp(conf->upstreams[i].id, id))
			return &conf->upstreams[i];
	errno = ENOENT;
	return NULL;
}

int xlb_conf_upstream_nat(const struct xlb_conf *conf, const struct xlb_upstream_conf *u)
{
	return u->forward ? u->forward == XLB_FWD_NAT + 1 : conf->xlb.forward == XLB_FWD_NAT;
}

int xlb_conf_upstream_gue(const struct xlb_conf *conf, const struct xlb_upstream_conf *u)
{
	return u->forward ? u->forward == XLB_FWD_GUE + 1 : conf->xlb.forward == XLB_FWD_GUE;
}

int xlb_conf_upstream_stateless(const struct xlb_conf *conf, const struct xlb_upstream_conf *u)
{
	return u->flow_state ? u->flow_state == 2 : conf->xlb.stateless;
}
