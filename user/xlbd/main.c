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
#include "base/apikey.h"

#define EXIT_CONFIG  1 /* the configuration is bad */
#define EXIT_RUNTIME 2 /* the data plane or the loop failed */

struct daemon {
	struct event_base *base;
	struct xlb_agent *agent;
	const char *conf_file;
};

/* Once a second: a burst of folded log lines gets its summary in time. */
static void on_log_tick(evutil_socket_t fd, short what, void *arg)
{
	xlb_log_tick();
}

static void print_errors(const char *file, const struct xlb_conf_errors *errs)
{
	char line[512];
	size_t i, shown = errs->n < sizeof(errs->e) / sizeof(errs->e[0])
				  ? errs->n
				  : sizeof(errs->e) / sizeof(errs->e[0]);

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
	if (err && errs.n)
		print_errors(d->conf_file, &errs);
	if (err == -EINVAL || (err && errs.n)) {
		pr_warn("reload: %s is %s; the running configuration stays\n", d->conf_file,
			err == -EINVAL ? "invalid" : "unreadable");
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

/*
 * The Admin API, with xlb.admin.api_key or else the key kept for pin_dir
 * (made at the first start): the API is never open.
 */
static struct xlb_admin *start_admin(struct daemon *d, const char *pin_dir)
{
	const struct xlb_settings *s = &xlb_agent_conf(d->agent)->xlb;
	char path[4096], key[XLB_API_KEY_LEN];
	struct xlb_admin *admin;
	int err;

	if (s->api_key[0])
		return xlb_admin_new(d->base, d->agent, s, s->api_key);
	err = xlb_api_key_path(pin_dir, path, sizeof(path));
	if (!err)
		err = xlb_api_key_load(path, 1, key, sizeof(key));
	if (err) {
		pr_warn("admin: no xlb.admin.api_key, and the key file %s: %s%s\n", path,
			strerror(-err),
			err == -EPERM	 ? " (it must be root's, mode 0600)"
			: err == -EINVAL ? " (it must hold 16 to 127 printable characters)"
					 : "");
		errno = -err;
		return NULL;
	}
	pr_info("admin: no xlb.admin.api_key: the key is in %s (xlb reads it there)\n", path);
	admin = xlb_admin_new(d->base, d->agent, s, key);
	explicit_bzero(key, sizeof(key));
	return admin;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xlbd -c FILE [--check] [--pin-dir DIR] [--log-level warn|info|debug]\n"
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
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"check", no_argument, NULL, 'C'},
					     {"pin-dir", required_argument, NULL, 'p'},
					     {"log-level", required_argument, NULL, 'l'},
					     {"help", no_argument, NULL, 'h'},
					     {}};
	enum xlb_log_level level = XLB_LOG_INFO;
	const char *pin_dir = xlb_pin_dir_default(), *level_s = NULL;
	struct event *ev_hup = NULL, *ev_term = NULL, *ev_int = NULL, *ev_tick = NULL;
	struct xlb_conf_errors errs;
	struct xlb_admin *admin = NULL;
	struct daemon d = {};
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
		/* The same refusals as at start: --check must not pass what xlbd rejects. */
		if (xlb_agent_check_file(d.conf_file, &errs)) {
			print_errors(d.conf_file, &errs);
			return EXIT_CONFIG;
		}
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
		if (errs.n) {
			/* Bad (1) or unreadable (2, it may yet appear): errs names the file. */
			print_errors(d.conf_file, &errs);
			if (errno == EINVAL)
				ret = EXIT_CONFIG;
		} else {
			pr_warn("xlbd: cannot start: %s\n", strerror(errno));
		}
		goto out;
	}
	if (!level_s && parse_level(xlb_agent_conf(d.agent)->xlb.log_level, &level) == 0)
		xlb_log_setup(level, 1);
	if (xlb_agent_conf(d.agent)->xlb.admin_listen[0]) {
		admin = start_admin(&d, pin_dir);
		if (!admin)
			goto out;
	}
	ev_hup = evsignal_new(d.base, SIGHUP, on_sighup, &d);
	ev_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_stop, &d);
	ev_tick = event_new(d.base, -1, EV_PERSIST, on_log_tick, NULL);
	if (!ev_hup || !ev_term || !ev_int || !ev_tick || evsignal_add(ev_hup, NULL) ||
	    evsignal_add(ev_term, NULL) || evsignal_add(ev_int, NULL) ||
	    event_add(ev_tick, &(struct timeval){.tv_sec = 1}))
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
	if (ev_tick)
		event_free(ev_tick);
	xlb_admin_free(admin);
	xlb_agent_free(d.agent);
	if (d.base)
		event_base_free(d.base);
	curl_global_cleanup();
	return ret;
}
