/* SPDX-License-Identifier: GPL-2.0-only */
/* A YAML or JSON document as a jansson tree (see yamljson.c). */
#ifndef XLB_YAMLJSON_H
#define XLB_YAMLJSON_H

#include <jansson.h>

/* The document's root as a new reference; NULL and errno (EINVAL) if the
 * text is not YAML or holds something JSON cannot (e.g. non-scalar keys). */
json_t *xlb_yaml_to_json(const char *text);

#endif /* XLB_YAMLJSON_H */
