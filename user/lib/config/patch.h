/* SPDX-License-Identifier: GPL-2.0-only */
/* A reload that reparses only the list items that changed (see patch.c). */
#ifndef XLB_CONFIG_PATCH_H
#define XLB_CONFIG_PATCH_H

#include <jansson.h>

#include "config/config.h"

enum { XLB_LIST_UPSTREAMS, XLB_LIST_ROUTES, XLB_LIST_MAX };

/*
 * A run of items of one top-level list, parsed anew: applied to a conf
 * (xlb_conf_patch_apply()), its items take the place of the run's, which
 * it then holds, so that applying it again undoes it. The counts may
 * differ (items added or removed).
 */
struct xlb_conf_patch {
	int list;	 /* XLB_LIST_* */
	size_t first;	 /* where the run starts in the list */
	size_t n;	 /* items the patch holds (items, at, line) ... */
	size_t nconf;	 /* ... for the conf's nconf items at first */
	void *items;	 /* struct xlb_upstream_conf or xlb_route_conf, room for both counts */
	json_t *json;	 /* the new items as JSON (xlb_conf_patch_doc()) */
	size_t json_old; /* how many items of the document's list they replace */
	char *text;	 /* the other whole text (owned) */
	size_t len;	 /* its length */
	size_t *at;	 /* starts of the held items' lines (bytes) ... */
	size_t *line;	 /* ... and their lines (0-based) */
	size_t start;	 /* where the run starts in the text (bytes) */
	size_t end;	 /* where it ends in the conf's text (bytes) ... */
	size_t end_line; /* ... and its line (0-based) */
	long delta;	 /* bytes the run grows by when applied */
	long dlines;	 /* lines it grows by */
	long dnodes;	 /* nodes it adds */
	int applied;	 /* the conf holds the new items */
};

/*
 * xlb_conf_parse(), keeping a copy of text and where each item is in it
 * (unless the text has anchors, or other than ASCII): what a later
 * xlb_conf_patch_make() compares a new text with.
 */
int xlb_conf_parse_kept(const char *text, struct xlb_conf *conf, struct xlb_conf_errors *errs);

/**
 * xlb_conf_patch_make() - make @conf hold @text by reparsing what changed
 * @conf: a valid conf parsed by xlb_conf_parse_kept()
 * @text: the new document, malloc'd: on success @conf keeps it (and @pt
 *        the old text), else it stays the caller's
 * @pt: the patch, applied to @conf on success
 *
 * Only a change confined to items of one list, valid, whose removed
 * upstreams no route names, whose kept upstream ids keep their protocol,
 * without inline upstreams, is patched; everything else (another key, a
 * problem to report) is the full parser's: the caller parses @text whole.
 * Return: 0, -EAGAIN (parse whole; @conf unchanged), -ENOMEM.
 */
int xlb_conf_patch_make(struct xlb_conf *conf, char *text, struct xlb_conf_patch *pt);
/*
 * The same for one item given as a JSON object (an Admin API edit): the
 * @nconf (0 or 1) items at @index of @list become @obj (NULL: none, a
 * delete). There is no text: @conf's layout no longer describes it (drop
 * it once the patch stays: xlb_conf_forget_text()).
 */
int xlb_conf_patch_item(struct xlb_conf *conf, int list, size_t index, size_t nconf, json_t *obj,
			struct xlb_conf_patch *pt);
/*
 * A new text that changes items of both lists (an upstream and the route
 * that uses it), in two steps: *t1 is the kept text with the earlier
 * list's items as in text, *t2 with the later list's (malloc'd). Patching
 * to either, then to text, gives text; which order is valid depends on
 * the change (add the upstream first, remove the route first). 0,
 * -EAGAIN (not such a change), -ENOMEM.
 */
int xlb_conf_patch_split(const struct xlb_conf *conf, const char *text, char **t1, char **t2);
/* Trade the patch's items and text with @conf's: applying twice undoes it. */
void xlb_conf_patch_apply(struct xlb_conf *conf, struct xlb_conf_patch *pt);
/*
 * A new document: @doc with the run replaced by the patch's new items; it
 * shares every other object with @doc. NULL: no memory, or @doc has not
 * the run.
 */
json_t *xlb_conf_patch_doc(const struct xlb_conf_patch *pt, json_t *doc);
/*
 * A patch that stays: @conf copies its new text into the buffer of the old
 * one, so that the buffer given to xlb_conf_patch_make() is the caller's
 * again (a reader keeps one buffer: its pages stay mapped). No undo after.
 * 0, or -ENOMEM (nothing changed).
 */
int xlb_conf_patch_settle(struct xlb_conf *conf, struct xlb_conf_patch *pt);
void xlb_conf_patch_free(struct xlb_conf_patch *pt);
/* conf's text and layout no longer describe it (an edit from elsewhere). */
void xlb_conf_forget_text(struct xlb_conf *conf);

#endif /* XLB_CONFIG_PATCH_H */
