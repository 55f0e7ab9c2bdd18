/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A reload that reparses only what changed. A configuration of 10,000
 * stream routes is a few megabytes of YAML; parsing it whole takes most of
 * a second, while an operator's edit usually touches one upstream. So a
 * conf parsed with xlb_conf_parse_kept() keeps its text and where each
 * item of upstreams and stream_routes starts (the layout), and a new text
 * is compared with the kept one:
 *
 *   - the bytes before the first difference and after the last are the
 *     same, so the change lies in one run of whole items of one list, or
 *     the text is parsed whole;
 *   - the run's new text must be items of that list and nothing else: its
 *     lines are indented at least as the list's '-', those at the '-' are
 *     items, no tab, no anchor, ASCII with LF line breaks (libyaml counts
 *     characters, and breaks lines at CR too);
 *   - it is parsed on its own, with libyaml's line count started where
 *     the run starts, so that positions are the file's;
 *   - the items keep their number, ids and protocols, and a stream route
 *     has no inline upstream, before and after (what links items to each
 *     other stays put);
 *   - what relates them to the others (link.c) is checked for them alone.
 *
 * Anything else, and any problem at all, is left to the full parser, whose
 * messages are the ones users see: the patch is a shortcut for the valid
 * common case, never a second validator with its own answers.
 *
 * Applying a patch swaps the run (items, their text, their starts) with the
 * conf's and shifts what follows, so applying it again restores the conf.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/patch.h"
#include "config/tables.h"
#include "config/yamldoc.h"
#include "config/yamljson.h"

/* Where one top-level list's items start, in the kept text. */
struct list_at {
	int ok;		     /* a block sequence whose items start their lines */
	unsigned int indent; /* the column of its '-' */
	size_t n;
	size_t *at;   /* n + 1 byte offsets of the items' lines; at[n]: the list's end */
	size_t *line; /* n + 1 lines (0-based) of the same */
};

struct xlb_conf_layout {
	char *text; /* the text parsed (owned) */
	size_t len;
	struct list_at l[XLB_LIST_MAX];
};

static const char *const list_names[XLB_LIST_MAX] = {"upstreams", "stream_routes"};

void xlb_conf_layout_free(struct xlb_conf_layout *lay)
{
	int i;

	if (!lay)
		return;
	for (i = 0; i < XLB_LIST_MAX; i++) {
		free(lay->l[i].at);
		free(lay->l[i].line);
	}
	free(lay->text);
	free(lay);
}

/*
 * Where seq's items start in text (base: text's offset in the file), each
 * on its own line after the list's '-' at *indent (set by the first when
 * *indent is ~0U): 0, or -1 when an item does not start that way.
 */
static int item_starts(const char *text, size_t base, yaml_document_t *doc, yaml_node_t *seq,
		       unsigned int *indent, size_t *at, size_t *line)
{
	yaml_node_item_t *it;
	yaml_node_t *n;
	size_t ls, k, i = 0;

	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
		n = yaml_document_get_node(doc, *it);
		if (!n || n->start_mark.column > n->start_mark.index)
			return -1;
		ls = n->start_mark.index - n->start_mark.column;
		for (k = ls; k < n->start_mark.index && text[k] == ' '; k++)
			;
		if (k >= n->start_mark.index || text[k] != '-' || text[k + 1] != ' ')
			return -1;
		if (*indent == ~0U)
			*indent = (unsigned int)(k - ls);
		if (k - ls != *indent)
			return -1;
		for (k++; k < n->start_mark.index && text[k] == ' '; k++)
			;
		if (k != n->start_mark.index)
			return -1;
		at[i] = base + ls;
		line[i] = n->start_mark.line;
	}
	return 0;
}

static void list_make(struct list_at *la, const char *text, size_t len, yaml_document_t *doc,
		      yaml_node_t *seq)
{
	size_t n;

	if (!seq || seq->type != YAML_SEQUENCE_NODE ||
	    seq->data.sequence.style != YAML_BLOCK_SEQUENCE_STYLE)
		return;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	/* The list ends where a line starts (the next key) or with the text. */
	if (!n || (seq->end_mark.column && seq->end_mark.index != len))
		return;
	la->at = calloc(n + 1, sizeof(*la->at));
	la->line = calloc(n + 1, sizeof(*la->line));
	if (!la->at || !la->line)
		return;
	la->indent = ~0U;
	if (item_starts(text, 0, doc, seq, &la->indent, la->at, la->line))
		return;
	la->at[n] = seq->end_mark.index;
	la->line[n] = seq->end_mark.line;
	la->n = n;
	la->ok = 1;
}

/*
 * Text the layout can follow: ASCII (libyaml's marks count characters, not
 * bytes) with lines broken by LF alone (YAML breaks lines at CR too). 1 or 0.
 */
static int plain(const char *s, size_t n)
{
	unsigned char acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= (unsigned char)s[i];
	return !(acc & 0x80) && !memchr(s, '\r', n);
}

struct xlb_conf_layout *xlb_conf_layout_make(const char *text, yaml_document_t *doc,
					     yaml_node_t *ups, yaml_node_t *routes)
{
	struct xlb_conf_layout *lay;
	size_t len = strlen(text);

	if (!plain(text, len))
		return NULL;
	lay = calloc(1, sizeof(*lay));
	if (!lay)
		return NULL;
	lay->len = len;
	list_make(&lay->l[XLB_LIST_UPSTREAMS], text, len, doc, ups);
	list_make(&lay->l[XLB_LIST_ROUTES], text, len, doc, routes);
	return lay;
}

void xlb_conf_layout_text(struct xlb_conf_layout *lay, char *text)
{
	lay->text = text;
}

/*
 * The run's new text holds items of a list at indent and nothing else:
 * every line blank, a comment, or indented at least as far, and those at
 * the indent items ("- "). 0, or -1.
 */
static int run_check(const char *s, size_t n, unsigned int indent)
{
	const char *end = s + n, *e;
	size_t ind;

	if (!plain(s, n))
		return -1;
	for (; s < end; s = e + 1) {
		e = memchr(s, '\n', (size_t)(end - s));
		if (!e)
			e = end;
		for (ind = 0; s + ind < e && s[ind] == ' '; ind++)
			;
		if (s + ind == e || s[ind] == '#')
			continue;
		if (s[ind] == '\t' || ind < indent)
			return -1;
		if (ind == indent && (s[ind] != '-' || s + ind + 1 == e || s[ind + 1] != ' '))
			return -1;
	}
	return 0;
}

static size_t count_lines(const char *s, size_t n)
{
	const char *end = s + n;
	size_t c = 0;

	while (s < end && (s = memchr(s, '\n', (size_t)(end - s)))) {
		c++;
		s++;
	}
	return c;
}

/* Swap n bytes of a and b. */
static void swap_bytes(void *a, void *b, size_t n)
{
	unsigned char *x = a, *y = b, t;

	while (n--) {
		t = *x;
		*x++ = *y;
		*y++ = t;
	}
}

static size_t item_size(int list)
{
	return list == XLB_LIST_UPSTREAMS ? sizeof(struct xlb_upstream_conf)
					  : sizeof(struct xlb_route_conf);
}

/*
 * The run [first, first + nconf) of arr (*count elements of sz bytes, room
 * for the run to become n long) and the n elements held trade places: held
 * then holds the run's nconf (it has room for both counts).
 */
static void splice(void *arr, size_t *count, size_t sz, size_t first, size_t nconf, void *held,
		   size_t n)
{
	char *a = arr, *h = held;
	size_t tail = *count - first - nconf;

	swap_bytes(a + first * sz, h, (n < nconf ? n : nconf) * sz);
	if (n > nconf) { /* the run grows: what follows moves on */
		memmove(a + (first + n) * sz, a + (first + nconf) * sz, tail * sz);
		memcpy(a + (first + nconf) * sz, h + nconf * sz, (n - nconf) * sz);
	} else if (n < nconf) { /* it shrinks: the rest of the run is held */
		memcpy(h + n * sz, a + (first + n) * sz, (nconf - n) * sz);
		memmove(a + (first + n) * sz, a + (first + nconf) * sz, tail * sz);
	}
	*count = *count - nconf + n;
}

/*
 * Items of list after the run move by its lines: in the run's own list
 * those after the run (n items now); a list that lies before the run has
 * none, but for inline upstreams (after the file's upstreams), which go by
 * their line. A list without a layout is looked at whole.
 */
static void lines_shift(struct xlb_conf *conf, const struct xlb_conf_patch *pt, int list, size_t n)
{
	const struct list_at *la = &conf->layout->l[list];
	size_t i, lo = 0, cnt = list == XLB_LIST_UPSTREAMS ? conf->nupstreams : conf->nroutes;
	unsigned int *line;

	if (la->ok && list == pt->list)
		lo = pt->first + n;
	else if (la->ok && la->at[la->n] <= pt->start)
		lo = la->n;
	for (i = lo; i < cnt; i++) {
		/* Upstreams lie kilobytes apart: ask for the ones ahead early. */
		if (list == XLB_LIST_UPSTREAMS && i + 16 < cnt)
			__builtin_prefetch(&conf->upstreams[i + 16].line, 1);
		line = list == XLB_LIST_UPSTREAMS ? &conf->upstreams[i].line
						  : &conf->routes[i].line;
		if (*line > pt->end_line)
			*line += pt->dlines;
	}
}

void xlb_conf_patch_apply(struct xlb_conf *conf, struct xlb_conf_patch *pt)
{
	struct xlb_conf_layout *lay = conf->layout;
	size_t i, n = pt->n, nconf = pt->nconf, cnt, tlen;
	struct list_at *la;
	char *t;
	int l;

	if (pt->list == XLB_LIST_UPSTREAMS)
		splice(conf->upstreams, &conf->nupstreams, sizeof(*conf->upstreams), pt->first,
		       nconf, pt->items, n);
	else
		splice(conf->routes, &conf->nroutes, sizeof(*conf->routes), pt->first, nconf,
		       pt->items, n);
	conf->nodes_total += pt->dnodes;
	pt->dnodes = -pt->dnodes;
	pt->n = nconf;
	pt->nconf = n;
	pt->applied = !pt->applied;
	if (!pt->at)
		return; /* an item without text (xlb_conf_patch_item()) */
	la = &lay->l[pt->list];
	t = lay->text;
	tlen = lay->len;
	lay->text = pt->text;
	lay->len = pt->len;
	pt->text = t;
	pt->len = tlen;
	cnt = la->n + 1;
	splice(la->at, &cnt, sizeof(*la->at), pt->first, nconf, pt->at, n);
	cnt = la->n + 1;
	splice(la->line, &cnt, sizeof(*la->line), pt->first, nconf, pt->line, n);
	la->n = cnt - 1;
	/* What follows the run moves by its growth; the run's own starts are new. */
	for (l = 0; l < XLB_LIST_MAX; l++) {
		for (i = 0; lay->l[l].ok && i <= lay->l[l].n; i++) {
			if (lay->l[l].at[i] < pt->end ||
			    (l == pt->list && i >= pt->first && i < pt->first + n))
				continue;
			lay->l[l].at[i] += pt->delta;
			lay->l[l].line[i] += pt->dlines;
		}
	}
	lines_shift(conf, pt, XLB_LIST_UPSTREAMS, pt->list == XLB_LIST_UPSTREAMS ? n : 0);
	lines_shift(conf, pt, XLB_LIST_ROUTES, pt->list == XLB_LIST_ROUTES ? n : 0);
	pt->end += pt->delta;
	pt->end_line += pt->dlines;
	pt->delta = -pt->delta;
	pt->dlines = -pt->dlines;
}

json_t *xlb_conf_patch_doc(const struct xlb_conf_patch *pt, json_t *doc)
{
	json_t *list = json_object_get(doc, list_names[pt->list]), *copy = NULL, *arr;
	size_t i, have = json_array_size(list);

	if (!json_is_array(list) || have < pt->first + pt->json_old)
		return NULL;
	arr = json_array();
	for (i = 0; arr && i < pt->first; i++)
		if (json_array_append(arr, json_array_get(list, i)))
			goto fail;
	for (i = 0; arr && i < json_array_size(pt->json); i++)
		if (json_array_append(arr, json_array_get(pt->json, i)))
			goto fail;
	for (i = pt->first + pt->json_old; arr && i < have; i++)
		if (json_array_append(arr, json_array_get(list, i)))
			goto fail;
	copy = arr ? json_copy(doc) : NULL;
	if (!copy || json_object_set(copy, list_names[pt->list], arr))
		goto fail;
	json_decref(arr);
	return copy;
fail:
	json_decref(copy);
	json_decref(arr);
	return NULL;
}

int xlb_conf_patch_settle(struct xlb_conf *conf, struct xlb_conf_patch *pt)
{
	struct xlb_conf_layout *lay = conf->layout;
	size_t need = lay->len + 1;
	char *mine = pt->text;

	if (!mine || malloc_usable_size(mine) < need) {
		mine = realloc(mine, need + need / 64 + 4096);
		if (!mine)
			return -ENOMEM;
	}
	memcpy(mine, lay->text, need);
	pt->text = NULL;
	lay->text = mine;
	return 0;
}

void xlb_conf_forget_text(struct xlb_conf *conf)
{
	xlb_conf_layout_free(conf->layout);
	conf->layout = NULL;
}

static void items_free(int list, void *items, size_t n)
{
	struct xlb_upstream_conf *u = items;
	size_t i;

	for (i = 0; list == XLB_LIST_UPSTREAMS && items && i < n; i++) {
		free(u[i].nodes);
		free(u[i].discovery_args);
	}
	free(items);
}

void xlb_conf_patch_free(struct xlb_conf_patch *pt)
{
	items_free(pt->list, pt->items, pt->n);
	json_decref(pt->json);
	free(pt->text);
	free(pt->at);
	free(pt->line);
	memset(pt, 0, sizeof(*pt));
}

static size_t common_prefix(const char *a, const char *b, size_t n)
{
	size_t i = 0;

	while (i + 8 <= n && !memcmp(a + i, b + i, 8))
		i += 8;
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static size_t common_suffix(const char *a, size_t la, const char *b, size_t lb, size_t max)
{
	size_t i = 0;

	while (i + 8 <= max && !memcmp(a + la - i - 8, b + lb - i - 8, 8))
		i += 8;
	while (i < max && a[la - i - 1] == b[lb - i - 1])
		i++;
	return i;
}

/* The last i < n with at[i] <= pos (at[0] <= pos). */
static size_t item_at(const size_t *at, size_t n, size_t pos)
{
	size_t lo = 0, hi = n, mid;

	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (at[mid] <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Parse the run [so, se) of text on its own into pt (its items, their
 * starts, their JSON): 0, -EAGAIN (not a run of valid items of that list),
 * -ENOMEM. pt->nconf is the count of the run it replaces.
 */
static int run_parse(struct xlb_conf *conf, const struct list_at *la, const char *text, size_t so,
		     size_t se, struct xlb_conf_patch *pt)
{
	struct xlb_yaml_doc doc;
	yaml_parser_t yp;
	yaml_node_t *root;
	unsigned int indent = la->indent;
	size_t i, room, old_nodes = 0, new_nodes = 0;
	char *run;
	int err = -EAGAIN;

	run = strndup(text + so, se - so);
	if (!run)
		return -ENOMEM;
	if (!yaml_parser_initialize(&yp)) {
		free(run);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)run, se - so);
	yp.mark.line = la->line[pt->first]; /* positions are the file's */
	if (!xlb_yaml_doc_load(&yp, &doc)) {
		err = yp.error == YAML_MEMORY_ERROR ? -ENOMEM : -EAGAIN;
		goto out_parser;
	}
	/* Items removed leave nothing, or blank lines and comments: no root. */
	root = yaml_document_get_root_node(&doc.doc);
	if (doc.anchors || (root && (root->type != YAML_SEQUENCE_NODE ||
				     root->data.sequence.style != YAML_BLOCK_SEQUENCE_STYLE)))
		goto out_doc;
	pt->n = root ? (size_t)(root->data.sequence.items.top - root->data.sequence.items.start)
		     : 0;
	room = (pt->n > pt->nconf ? pt->n : pt->nconf) + 1;
	pt->at = calloc(room, sizeof(*pt->at));
	pt->line = calloc(room, sizeof(*pt->line));
	if (!pt->at || !pt->line) {
		err = -ENOMEM;
		goto out_doc;
	}
	if (root && item_starts(run, so, &doc.doc, root, &indent, pt->at, pt->line))
		goto out_doc;
	for (i = 0; pt->list == XLB_LIST_UPSTREAMS && i < pt->nconf; i++)
		old_nodes += conf->upstreams[pt->first + i].nnodes;
	err = xlb_conf_parse_run(conf, pt->list, pt->first, &doc.doc, root,
				 conf->nodes_total - old_nodes, room, &pt->items);
	if (err)
		goto out_doc;
	for (i = 0; pt->list == XLB_LIST_UPSTREAMS && i < pt->n; i++)
		new_nodes += ((const struct xlb_upstream_conf *)pt->items)[i].nnodes;
	pt->dnodes = (long)new_nodes - (long)old_nodes;
	pt->json = root ? xlb_yaml_to_json(run) : json_array();
	if (!pt->json)
		err = errno == ENOMEM ? -ENOMEM : -EAGAIN;
	else if (json_array_size(pt->json) != pt->n)
		err = -EAGAIN;
	pt->json_old = pt->nconf;
out_doc:
	xlb_yaml_doc_free(&doc);
out_parser:
	yaml_parser_delete(&yp);
	free(run);
	return err;
}

/*
 * Room in conf's list, and in its layout, for the run to grow from nconf
 * items to n: 0, or -ENOMEM (what is there stays as it was).
 */
static int room_make(struct xlb_conf *conf, const struct xlb_conf_patch *pt)
{
	struct list_at *la = conf->layout ? &conf->layout->l[pt->list] : NULL;
	size_t more = pt->n - pt->nconf, cnt;
	void *p;

	if (pt->n <= pt->nconf)
		return 0;
	cnt = pt->list == XLB_LIST_UPSTREAMS ? conf->nupstreams : conf->nroutes;
	p = realloc(pt->list == XLB_LIST_UPSTREAMS ? (void *)conf->upstreams : (void *)conf->routes,
		    (cnt + more + 1) * item_size(pt->list));
	if (!p)
		return -ENOMEM;
	if (pt->list == XLB_LIST_UPSTREAMS)
		conf->upstreams = p;
	else
		conf->routes = p;
	if (!la || !la->ok || !pt->at)
		return 0;
	p = realloc(la->at, (la->n + 1 + more) * sizeof(*la->at));
	if (!p)
		return -ENOMEM;
	la->at = p;
	p = realloc(la->line, (la->n + 1 + more) * sizeof(*la->line));
	if (!p)
		return -ENOMEM;
	la->line = p;
	return 0;
}

/* A stream route with an inline upstream among the conf's run: 1. */
static int run_has_inline(const struct xlb_conf *conf, const struct xlb_conf_patch *pt)
{
	size_t i;

	for (i = 0; pt->list == XLB_LIST_ROUTES && i < pt->nconf; i++)
		if (!strncmp(conf->routes[pt->first + i].upstream_id, "route:", 6))
			return 1;
	return 0;
}

/* Apply pt, then check what relates it to the rest; undone on a problem. */
static int apply_related(struct xlb_conf *conf, struct xlb_conf_patch *pt)
{
	int err;

	xlb_conf_patch_apply(conf, pt);
	err = xlb_conf_relate_run(conf, pt->list, pt->first, pt->nconf, pt->items, pt->n);
	if (err)
		xlb_conf_patch_apply(conf, pt);
	return err;
}

int xlb_conf_patch_make(struct xlb_conf *conf, char *text, struct xlb_conf_patch *pt)
{
	struct xlb_conf_layout *lay = conf->layout;
	size_t len, pre, suf, oend, so, se, ne, last;
	const struct list_at *la = NULL;
	int l, err;

	memset(pt, 0, sizeof(*pt));
	if (!lay || !lay->text)
		return -EAGAIN;
	len = strlen(text);
	pre = common_prefix(lay->text, text, len < lay->len ? len : lay->len);
	if (pre == len && len == lay->len)
		return -EAGAIN; /* the same text: a full reload, as asked */
	suf = common_suffix(lay->text, lay->len, text, len,
			    (len < lay->len ? len : lay->len) - pre);
	oend = lay->len - suf; /* the old text differs in [pre, oend) */
	for (l = 0; l < XLB_LIST_MAX; l++) {
		la = &lay->l[l];
		if (la->ok && la->at[0] <= pre && oend <= la->at[la->n])
			break;
	}
	if (l == XLB_LIST_MAX)
		return -EAGAIN;
	/* The whole items the difference touches. */
	pt->list = l;
	pt->first = item_at(la->at, la->n, pre);
	last = oend > pre ? item_at(la->at, la->n, oend - 1) : pt->first;
	pt->nconf = last + 1 - pt->first;
	so = la->at[pt->first];
	se = la->at[last + 1];
	ne = se + len - lay->len;
	/*
	 * The run must end where a line starts in the new text too: the same
	 * bytes follow, but a line cut (a comment that took in the next
	 * item's start) would read otherwise.
	 */
	if ((ne > so && text[ne - 1] != '\n') || run_check(text + so, ne - so, la->indent) ||
	    run_has_inline(conf, pt))
		return -EAGAIN;
	err = run_parse(conf, la, text, so, ne, pt);
	/* A list emptied is the full parser's to judge. */
	if (!err && la->n - pt->nconf + pt->n == 0)
		err = -EAGAIN;
	if (!err)
		err = room_make(conf, pt);
	if (err)
		goto out_free;
	pt->text = text;
	pt->len = len;
	pt->start = so;
	pt->end = se;
	pt->end_line = la->line[last + 1];
	pt->delta = (long)len - (long)lay->len;
	pt->dlines =
		(long)count_lines(text + so, ne - so) - (long)count_lines(lay->text + so, se - so);
	err = apply_related(conf, pt);
	if (!err)
		return 0;
	pt->text = NULL; /* the caller's again */
out_free:
	xlb_conf_patch_free(pt);
	return err;
}

int xlb_conf_patch_item(struct xlb_conf *conf, int list, size_t index, size_t nconf, json_t *obj,
			struct xlb_conf_patch *pt)
{
	const struct xlb_upstream_conf *u;
	struct xlb_yaml_doc doc;
	yaml_parser_t yp;
	yaml_node_t *root;
	size_t i, room = 2, old_nodes = 0, new_nodes = 0;
	char *text = NULL;
	int err = -EAGAIN;

	memset(pt, 0, sizeof(*pt));
	if (nconf > 1 ||
	    index + nconf > (list == XLB_LIST_UPSTREAMS ? conf->nupstreams : conf->nroutes))
		return -EAGAIN;
	pt->list = list;
	pt->first = index;
	pt->nconf = nconf;
	pt->n = obj ? 1 : 0;
	pt->json_old = nconf;
	if (run_has_inline(conf, pt))
		return -EAGAIN;
	pt->json = json_array();
	if (!pt->json || (obj && json_array_append(pt->json, obj)))
		goto out_nomem;
	text = json_dumps(pt->json, JSON_COMPACT);
	if (!text || !yaml_parser_initialize(&yp))
		goto out_nomem;
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, strlen(text));
	if (xlb_yaml_doc_load(&yp, &doc)) {
		root = yaml_document_get_root_node(&doc.doc);
		for (i = 0; list == XLB_LIST_UPSTREAMS && i < nconf; i++)
			old_nodes += conf->upstreams[index + i].nnodes;
		if (root && root->type == YAML_SEQUENCE_NODE)
			err = xlb_conf_parse_run(conf, list, index, &doc.doc, root,
						 conf->nodes_total - old_nodes, room, &pt->items);
		xlb_yaml_doc_free(&doc);
	} else if (yp.error == YAML_MEMORY_ERROR) {
		err = -ENOMEM;
	}
	yaml_parser_delete(&yp);
	free(text);
	text = NULL;
	u = pt->items;
	for (i = 0; !err && list == XLB_LIST_UPSTREAMS && i < pt->n; i++)
		new_nodes += u[i].nnodes;
	pt->dnodes = (long)new_nodes - (long)old_nodes;
	if (!err)
		err = room_make(conf, pt);
	if (!err)
		err = apply_related(conf, pt);
	if (!err)
		return 0;
	goto out_free;
out_nomem:
	free(text);
	err = -ENOMEM;
out_free:
	xlb_conf_patch_free(pt);
	return err;
}

int xlb_conf_patch_split(const struct xlb_conf *conf, const char *text, char **t1, char **t2)
{
	const struct xlb_conf_layout *lay = conf->layout;
	const struct list_at *la, *lb;
	size_t len, pre, suf, oend, a1, b0, glen, x, nb0, ind;
	const char *e;

	*t1 = *t2 = NULL;
	if (!lay || !lay->text || !lay->l[0].ok || !lay->l[1].ok)
		return -EAGAIN;
	la = &lay->l[lay->l[0].at[0] < lay->l[1].at[0] ? 0 : 1]; /* the earlier list */
	lb = &lay->l[la == &lay->l[0] ? 1 : 0];
	a1 = la->at[la->n];
	b0 = lb->at[0];
	if (a1 > b0)
		return -EAGAIN;
	len = strlen(text);
	pre = common_prefix(lay->text, text, len < lay->len ? len : lay->len);
	suf = common_suffix(lay->text, lay->len, text, len,
			    (len < lay->len ? len : lay->len) - pre);
	oend = lay->len - suf;
	/* From inside the earlier list to inside the later one. */
	if (pre < la->at[0] || pre > a1 || oend <= b0 || oend > lb->at[lb->n])
		return -EAGAIN;
	/* Where the earlier list ends in text: the first line from pre's on not of it. */
	for (x = pre; x > 0 && text[x - 1] != '\n'; x--)
		;
	for (; x < len; x = (size_t)(e - text) + 1) {
		e = memchr(text + x, '\n', len - x);
		if (!e)
			e = text + len;
		for (ind = 0; text + x + ind < e && text[x + ind] == ' '; ind++)
			;
		if (text + x + ind == e || text[x + ind] == '#')
			continue;
		if (ind < la->indent ||
		    (ind == la->indent &&
		     (text[x + ind] != '-' || text + x + ind + 1 == e || text[x + ind + 1] != ' ')))
			break;
	}
	/* The text between the lists is the same, and so the later list starts after it. */
	glen = b0 - a1;
	if (x >= len || len - x < glen || memcmp(text + x, lay->text + a1, glen))
		return -EAGAIN;
	nb0 = x + glen;
	*t1 = malloc(x + lay->len - a1 + 1);
	*t2 = malloc(b0 + len - nb0 + 1);
	if (!*t1 || !*t2) {
		free(*t1);
		free(*t2);
		*t1 = *t2 = NULL;
		return -ENOMEM;
	}
	memcpy(*t1, text, x);
	memcpy(*t1 + x, lay->text + a1, lay->len - a1 + 1);
	memcpy(*t2, lay->text, b0);
	memcpy(*t2 + b0, text + nb0, len - nb0 + 1);
	return 0;
}
