/* SPDX-License-Identifier: GPL-2.0-only */
/* A reload that reparses only the list items that changed (see patch.c). */
#ifndef XLB_CONFIG_PATCH_H
#define XLB_CONFIG_PATCH_H

#include <jansson.h>

#include "config/config.h"

enum { XLB_LIST_UPSTREAMS, XLB_LIST_ROUTES, XLB_LIST_MAX };

/*
 * A run of items of one top-level list, reparsed from a new text: applied
 * to a conf (xlb_conf_patch_apply()), it swaps the run and the text with
 * the conf's, so that applying it again undoes it.
 */
struct xlb_conf_patch {
	int list;	 /* XLB_LIST_* */
	size_t first, n; /* items [first, first + n) of the list */
	void *items;	 /* n struct xlb_upstream_conf or xlb_route_conf */
	json_t *json;	 /* the same items as a JSON array */
	char *text;	 /* the other whole text (owned) */
	size_t len;	 /* its length */
	size_t *at;	 /* n starts of the items' lines (bytes) ... */
	size_t *line;	 /* ... and their lines (0-based) */
	size_t end;	 /* where the run ends in the conf's text (bytes) ... */
	size_t end_line; /* ... and its line (0-based) */
	long delta;	 /* bytes the run grows by when applied */
	long dlines;	 /* lines it grows by */
	long dnodes;	 /* nodes it adds */
	int applied;	 /* the conf holds the new items */
	int doc_applied; /* the document does */
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
 * Only a change confined to items of one list, that keeps their number,
 * ids, protocols, and is valid, is patched; everything else (another key,
 * an item added or removed, an inline upstream, a problem to report) is
 * the full parser's: the caller parses @text whole.
 * Return: 0, -EAGAIN (parse whole; @conf unchanged), -ENOMEM.
 */
int xlb_conf_patch_make(struct xlb_conf *conf, char *text, struct xlb_conf_patch *pt);
/*
 * The same for one item given as a JSON object (an Admin API edit): item
 * @index of @list becomes @obj, and @pt->json holds it. There is no text:
 * @conf's layout no longer describes it (drop it once the patch stays).
 */
int xlb_conf_patch_item(struct xlb_conf *conf, int list, size_t index, json_t *obj,
			struct xlb_conf_patch *pt);
/* Swap the patch's items and text with @conf's: applying twice undoes it. */
void xlb_conf_patch_apply(struct xlb_conf *conf, struct xlb_conf_patch *pt);
/* Swap the patch's JSON items with @doc's list: twice undoes it. 0, or -EINVAL. */
int xlb_conf_patch_doc(struct xlb_conf_patch *pt, json_t *doc);
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
