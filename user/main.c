// SPDX-License-Identifier: GPL-2.0-only
/* mcpd's entry point: the command line, the descriptor limit, privileges; then the loop (mcpd.c). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"
#include "mcpd.h"
#include "token.h"
#include "privileges.h"
#include "upgrade.h"
#include "version.h"
#include <systemd/sd-daemon.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mcpd [-c FILE] [-f] [--datapath bpf|user|auto] [-v] [--help] [--version]\n"
		"\n"
		"The MCP router daemon: accepts MCP sessions, negotiates their version, connects\n"
		"them to backend pools and forwards their frames, in the kernel (sockmap) where it\n"
		"can and in userspace where it cannot.\n"
		"\n"
		"  -c, --config FILE     INI config (default: listen 127.0.0.1:7800, no pools)\n"
		"  -f, --foreground      stay in the foreground (log to stderr)\n"
		"      --datapath MODE   bpf, user or auto (overrides the config)\n"
		"  -t, --check           check the config and exit\n"
		"      --takeover        take over every session of the mcpd running with this\n"
		"                        config (its control socket), without dropping any\n"
		"  -v, --verbose         more log (repeat for debug)\n"
		"  -h, --help            this text\n"
		"  -V, --version         version, with the libbpf and libxdp versions\n"
		"\n"
		"Signals: SIGHUP reloads the config (a bad one is refused, the running one stays);\n"
		"SIGTERM/SIGINT stop accepting, end every session with ERROR SHUTTING_DOWN, exit.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "datapath", required_argument, NULL, 'D' },
		{ "check", no_argument, NULL, 't' },
		{ "takeover", no_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct mcp_config *cfg = calloc(1, sizeof(*cfg));
	struct mcpd *r = calloc(1, sizeof(*r));
	struct err e = { 0 };
	const char *path = NULL;
	int foreground = 0, check = 0, level = MCP_LOG_INFO, datapath = -1, c, rc = 1, takeover = 0;

	if (!cfg || !r)
		return 1;
	while ((c = getopt_long(argc, argv, "c:ftvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'D':
			datapath = mcp_parse_datapath(optarg);
			if (datapath < 0) {
				fprintf(stderr, "mcpd: --datapath: '%s' is not bpf, user or auto\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			check = 1;
			break;
		case 'T':
			takeover = 1;
			break;
		case 'v':
			level++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mcpd %s (libbpf %d.%d, libxdp %s)\n", MCP_VERSION_STRING,
			       libbpf_major_version(), libbpf_minor_version(), MCP_LIBXDP_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mcpd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	upgrade_remember(argc, argv);
	mcp_log_init("mcpd", level > MCP_LOG_DEBUG ? MCP_LOG_DEBUG : level);
	mcp_log_route_libbpf();
	if (privileges_sanitize_env())
		return 1;

	/* daemon() moves to /: a reload must find the file the start found. */
	char abs[PATH_MAX];
	if (path && path[0] != '/' && realpath(path, abs))
		path = abs;
	if (path) {
		struct err e;

		if (mcp_config_load(path, cfg, &e)) {
			fprintf(stderr, "mcpd: bad config: %s\n", e.msg);
			return 1;
		}
	} else {
		mcp_config_defaults(cfg);
	}
	if (datapath >= 0)
		cfg->datapath = datapath;
	if (check) {
		struct err e;
		struct mcp_keyring *kr = cfg->auth != MCP_AUTH_MODE_OFF ? malloc(sizeof(*kr)) : NULL;

		if (cfg->auth != MCP_AUTH_MODE_OFF && !kr) {
			fprintf(stderr, "mcpd: out of memory\n");
			return 1;
		}
		if (kr && mcp_keyring_load(cfg->auth_keys, true, kr, &e)) {
			fprintf(stderr, "mcpd: bad config: auth_keys: %s\n", e.msg);
			free(kr);
			return 1;
		}
		if (kr)
			printf("%s: auth %s, %d keys\n", cfg->auth_keys, mcp_auth_mode_name(cfg->auth),
			       kr->n);
		free(kr);
		printf("%s: ok (%d listen, %d pools, datapath %s)\n", path ? path : "(defaults)",
		       cfg->n_listen, cfg->n_pools, mcp_datapath_name(cfg->datapath));
		return 0;
	}
	/* Each session holds a client socket and one per pool: lift the soft fd limit. */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!foreground && daemon(0, 1)) {
		perror("mcpd: daemon");
		return 1;
	}
	if (upgrade_helper_start())
		return 1;
	if (mcpd_init(r, cfg, cfg->datapath, takeover, &e) == 0) {
		sd_notify(0, "READY=1");
		privileges_drop(r->paths[DATAPATH_SOCKMAP] || r->paths[DATAPATH_XDP]);
		rc = mcpd_run(r) ? 1 : 0;
		sd_notify(0, "STOPPING=1");
	} else {
		pr_err("cannot start: %s", e.msg);
		/* Whatever came over still belongs to the old mcpd (or, if it has gone, is lost
		 * with this process): freeing it would take its sockets out of the maps. */
		if (takeover) {
			fflush(stderr);
			_exit(1);
		}
	}
	if (r->handed_over) {
		/* The new mcpd holds every socket; closing ours changes nothing, but freeing
		 * sessions would take them out of the maps: leave at once. */
		fflush(stderr);
		_exit(0);
	}
	mcpd_free(r);
	free(cfg);
	free(r);
	return rc;
}
