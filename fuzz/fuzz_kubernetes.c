// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: Kubernetes EndpointSlice lists and watch streams
 * through the kubernetes registry's parsers. The input is split at
 * newlines: the first line is a list answer (when it parses, the slices
 * start from it, else from a fixed good list), every further line a watch
 * event applied on top. Whatever the bytes: an error comes with a reason
 * and leaves the slices as they were; the slices always have distinct
 * names and a resourceVersion, and give only nodes xlb can use.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/httpreg.h"

static const char good_list[] =
	"{\"kind\":\"EndpointSliceList\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":["
	"{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"9\"},\"addressType\":\"IPv4\","
	"\"endpoints\":[{\"addresses\":[\"198.18.0.1\"],\"conditions\":{\"ready\":true}},"
	"{\"addresses\":[\"198.18.0.2\"]}],\"ports\":[{\"name\":\"http\",\"port\":80}]}]}";

static void check(const struct xlb_k8s_slices *s)
{
	struct xlb_disc_nodes ns = {0};
	size_t i, j;

	if (!s->rv[0])
		abort();
	for (i = 0; i < s->n; i++)
		for (j = i + 1; j < s->n; j++)
			if (!strcmp(s->v[i].name, s->v[j].name))
				abort();
	if (xlb_k8s_slices_nodes(s, &ns))
		abort();
	for (i = 0; i < ns.n; i++)
		if ((ns.v[i].addr.family != XLB_AF_INET && ns.v[i].addr.family != XLB_AF_INET6) ||
		    !ns.v[i].port || ns.v[i].weight != 50)
			abort();
	xlb_disc_nodes_free(&ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct xlb_k8s_slices s = {0};
	char err[256], rv[sizeof(s.rv)];
	size_t len, n;
	int ret;

	nl = memchr(p, '\n', size);
	len = nl ? (size_t)(nl - p) : size;
	err[0] = '\0';
	if (xlb_k8s_parse_list(p, len, "http", 50, &s, err, sizeof(err))) {
		if (!err[0] || s.n || s.rv[0])
			abort();
		if (xlb_k8s_parse_list(good_list, sizeof(good_list) - 1, "http", 50, &s, err,
				       sizeof(err)))
			abort();
	}
	check(&s);
	p = nl ? nl + 1 : end;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		memcpy(rv, s.rv, sizeof(rv));
		n = s.n;
		err[0] = '\0';
		ret = xlb_k8s_parse_event(p, len, "http", 50, &s, err, sizeof(err));
		if (ret < 0 || ret == XLB_K8S_ERROR) {
			if (!err[0] || s.n != n || strcmp(rv, s.rv))
				abort();
		} else if (ret == XLB_K8S_GONE && (s.n != n || strcmp(rv, s.rv))) {
			abort();
		}
		check(&s);
		p = nl ? nl + 1 : end;
	}
	xlb_k8s_slices_free(&s);
	return 0;
}
