// SPDX-License-Identifier: GPL-2.0-only
/*
 * xlbd: the xlb agent. Reads an APISIX-style configuration (upstreams,
 * stream_routes, xlb settings), keeps the fast path's maps in step with it
 * and with the health of every node, and serves the Admin API and metrics.
 * Stopping it leaves the data plane forwarding as it is.
 *
 *   xlbd -c FILE [--check] [--pin-dir DIR] [--log-level warn|info|debug]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "agent/admin.h"
#include "agent/agent.h"
#include "dataplane/attach.h"
#include "config/config.h"
#include "base/log.h"
#include "dataplane/maps.h"

#define EXIT_CONFIG	1	/* the configuration is bad */
#define EXIT_RUNTIME	2	/* the data plane or the loop failed */

struct daemon {
	struct event_base *base;
	struct xlb_agent *agent;
	const char *conf_file;
};

static void print_errors(const char *file, const struct xlb_conf_errors *errs)
{
	char line[512];
	size_t i, shown = errs->n < sizeof(errs->e) / sizeof(errs->e[0]) ?
			  errs->n : sizeof(errs->e) / sizeof(errs->e[0]);

	for (i = 0; i < shown; i++) {
		xlb_conf_error_str(file, &errs->e[i], line, sizeof(line));
		pr_warn("%s\n", line);
	}
	if (errs->n > shown)
		pr_warn("%s: %zu more problems not shown\n", file, errs->n - shown);
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct xlb_conf_errors errs;
	int err;

	pr_info("reload: reading %s\n", d->conf_file);
	err = xlb_agent_reload(d->agent, &errs);
	if (err == -EINVAL) {
		print_errors(d->conf_file, &errs);
		pr_warn("reload: %s is invalid; the running configuration stays\n", d->conf_file);
	} else if (err) {
		pr_warn("reload: %s: %s; the running configuration stays\n", d->conf_file,
			strerror(-err));
	} else {
		pr_info("reload: done\n");
	}
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	pr_info("stopping on signal %d; the data plane keeps forwarding\n", (int)sig);
	event_base_loopbreak(d->base);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: xlbd -c FILE [--check] [--pin-dir DIR] [--log-level warn|info|debug]\n"
		   "  -c, --config FILE   configuration (YAML or JSON, APISIX standalone shape)\n"
		   "  --check             validate the configuration and exit\n"
		   "  --pin-dir DIR       pinned maps (default $XLB_PIN_DIR or %s)\n"
		   "  --log-level LEVEL   warn, info (default) or debug\n"
		   "Signals: SIGHUP re-reads FILE (a bad file keeps the running configuration);\n"
		   "SIGTERM/SIGINT stop the agent and leave the data plane forwarding.\n"
		   "Exit status: 0 ok, 1 bad configuration or usage, 2 runtime failure.\n",
		XLB_PIN_DIR_DEFAULT);
}

static int parse_level(const char *s, enum xlb_log_level *l)
{
	if (!strcmp(s, "warn"))
		*l = XLB_LOG_WARN;
	else if (!strcmp(s, "info"))
		*l = XLB_LOG_INFO;
	else if (!strcmp(s, "debug"))
		*l = XLB_LOG_DEBUG;
	else
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum xlb_log_level level = XLB_LOG_INFO;
	const char *pin_dir = xlb_pin_dir_default(), *level_s = NULL;
	struct event *ev_hup = NULL, *ev_term = NULL, *ev_int = NULL;
	struct xlb_conf_errors errs;
	struct xlb_admin *admin = NULL;
	struct daemon d = {};
	struct xlb_conf conf;
	int c, check = 0, ret = EXIT_RUNTIME;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.conf_file = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'p':
			pin_dir = optarg;
			break;
		case 'l':
			level_s = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (!d.conf_file || optind != argc) {
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (level_s && parse_level(level_s, &level)) {
		fprintf(stderr, "xlbd: --log-level '%s' is not warn, info or debug\n", level_s);
		return EXIT_CONFIG;
	}
	xlb_log_setup(level, 1);
	xlb_log_route_libs();
	xlb_libxdp_bpffs(pin_dir);

	if (check) {
		memset(&errs, 0, sizeof(errs));
		if (xlb_conf_load(d.conf_file, &conf, &errs)) {
			print_errors(d.conf_file, &errs);
			return EXIT_CONFIG;
		}
		/* The same refusals as at start: --check must not pass what xlbd rejects. */
		if (xlb_agent_conf_supported(&conf, &errs)) {
			print_errors(d.conf_file, &errs);
			xlb_conf_free(&conf);
			return EXIT_CONFIG;
		}
		xlb_conf_free(&conf);
		printf("%s: ok\n", d.conf_file);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	d.base = event_base_new();
	if (!d.base)
		goto out;
	memset(&errs, 0, sizeof(errs));
	d.agent = xlb_agent_new(d.base, d.conf_file, pin_dir, &errs);
	if (!d.agent) {
		if (errno == EINVAL && errs.n) {
			print_errors(d.conf_file, &errs);
			ret = EXIT_CONFIG;
		} else {
			pr_warn("xlbd: cannot start: %s\n", strerror(errno));
		}
		goto out;
	}
	if (!level_s && parse_level(xlb_agent_conf(d.agent)->xlb.log_level, &level) == 0)
		xlb_log_setup(level, 1);
	if (xlb_agent_conf(d.agent)->xlb.admin_listen[0]) {
		admin = xlb_admin_new(d.base, d.agent, xlb_agent_conf(d.agent)->xlb.admin_listen,
				      xlb_agent_conf(d.agent)->xlb.api_key);
		if (!admin)
			goto out;
	}
	ev_hup = evsignal_new(d.base, SIGHUP, on_sighup, &d);
	ev_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_stop, &d);
	if (!ev_hup || !ev_term || !ev_int || evsignal_add(ev_hup, NULL) ||
	    evsignal_add(ev_term, NULL) || evsignal_add(ev_int, NULL))
		goto out;
	pr_info("xlbd running: %s, maps in %s\n", d.conf_file, pin_dir);
	ret = event_base_dispatch(d.base) < 0 ? EXIT_RUNTIME : 0;
out:
	if (ev_hup)
		event_free(ev_hup);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	xlb_admin_free(admin);
	xlb_agent_free(d.agent);
	if (d.base)
		event_base_free(d.base);
	curl_global_cleanup();
	return ret;
}
