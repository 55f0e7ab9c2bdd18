// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlb check: can this kernel run xlb? Probes each BPF feature the programs
 * use (with the Linux release that brought it), then loads each program
 * without attaching or pinning anything and reports the verifier's count
 * of processed instructions or its reason for refusing. Exit 0 when every
 * program loads, 2 when one does not.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dataplane/kernel.h"

static int parse_prog(const char *s, unsigned int *mask)
{
	if (!s) {
		*mask = 1u << XLB_PROG_LB | 1u << XLB_PROG_DECAP;
		return 0;
	}
	if (!strcmp(s, "xlb_lb"))
		*mask = 1u << XLB_PROG_LB;
	else if (!strcmp(s, "xlb_decap"))
		*mask = 1u << XLB_PROG_DECAP;
	else
		return -1;
	return 0;
}

int xlb_cmd_check(struct xlb_cli *c, int argc, char **argv)
{
	const char *prog_s = NULL, *pos[1];
	const struct xlb_opt opts[] = {{"load", &prog_s}, {}};
	json_t *feats = json_array(), *progs = json_array();
	unsigned int mask, k;
	char rel[65], why[512];
	int npos, ret, bad = 0;
	size_t i;

	ret = xlb_cli_parse(c, argc, argv, opts, pos, 0, 0, &npos,
			    "check [--load xlb_lb|xlb_decap]");
	if (ret || npos < 0)
		goto out;
	if (parse_prog(prog_s, &mask)) {
		ret = xlb_cli_err(c, XLB_EXIT_USAGE, "--load '%s' is not xlb_lb or xlb_decap",
				  prog_s);
		goto out;
	}
	xlb_kernel_release(rel, sizeof(rel));
	if (!c->json)
		printf("kernel: %s\n", rel);
	for (i = 0; i < xlb_kfeatures_n; i++) {
		const struct xlb_kfeature *f = &xlb_kfeatures[i];
		int have;

		if (!(f->progs & mask))
			continue;
		have = f->probe();
		if (have != 1)
			bad = 1;
		if (c->json)
			json_array_append_new(feats,
					      json_pack("{s:s, s:s, s:s?}", "feature", f->name,
							"since", f->since, "present",
							have == 1   ? "yes"
							: have == 0 ? "no"
								    : "unknown"));
		else
			printf("  %-34s %-8s (Linux %s)\n", f->name,
			       have == 1   ? "yes"
			       : have == 0 ? "MISSING"
					   : "unknown",
			       f->since);
	}
	for (k = XLB_PROG_LB; k <= XLB_PROG_DECAP; k++) {
		__u32 insns;
		int err;

		if (!(mask & 1u << k))
			continue;
		err = xlb_prog_verify(k, &insns, why, sizeof(why));
		if (err)
			bad = 1;
		if (c->json)
			json_array_append_new(
				progs,
				err ? json_pack("{s:s, s:b, s:s}", "program", xlb_prog_name(k),
						"loads", 0, "reason", why)
				    : json_pack("{s:s, s:b, s:i}", "program", xlb_prog_name(k),
						"loads", 1, "verified_insns", (json_int_t)insns));
		else if (err)
			printf("%s: refused by the verifier: %s\n", xlb_prog_name(k), why);
		else
			printf("%s: loads, verified %u instructions\n", xlb_prog_name(k), insns);
	}
	if (c->json) {
		xlb_cli_json(json_pack("{s:s, s:s, s:o, s:o, s:b}", "kernel", rel, "supported_from",
				       XLB_KERNEL_MIN, "features", feats, "programs", progs, "ok",
				       !bad));
		feats = progs = NULL;
	} else if (bad) {
		printf("this kernel cannot run xlb; xlb needs Linux %s or later\n", XLB_KERNEL_MIN);
	}
	ret = bad ? XLB_EXIT_FAIL : XLB_EXIT_OK;
out:
	json_decref(feats);
	json_decref(progs);
	return ret;
}
