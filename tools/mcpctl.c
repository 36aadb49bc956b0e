// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcpctl: look at a running router. This version reads the kernel's counters straight from
 * the maps mcpd pins under /sys/fs/bpf/mcp/ (they survive the daemon, so they can be read
 * even when it is down):
 *
 *   mcpctl stats        every counter of the fast path, by reason and by opcode
 *   mcpctl top [-n N]   rates per second, refreshed every second (N rounds, 0 = forever)
 *
 * -j prints JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "frame.h"
#include "kstats.h"
#include "version.h"

static int json;

static int read_or_explain(struct mcp_kstats *k)
{
	int err = mcp_kstats_read(k);

	if (err)
		fprintf(stderr,
			"mcpctl: cannot read the counters in %s: %s\n"
			"mcpctl: is mcpd running with the bpf data path (and are you root)?\n",
			MCP_PIN_DIR, strerror(-err));
	return err;
}

static const char *dir_name(int dir)
{
	return dir == MCP_DIR_TO_BACKEND ? "to_backend" : "to_client";
}

static int cmd_stats(void)
{
	struct mcp_kstats *k = calloc(1, sizeof(*k));

	if (!k || read_or_explain(k))
		return 1;
	if (json) {
		json_object *o = json_object_new_object(), *dp = json_object_new_object(),
			    *ops = json_object_new_array();

		for (int r = 0; r < MCP_DP__COUNT; r++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "skbs", json_object_new_int64((int64_t)k->dp[r].count));
			json_object_object_add(e, "bytes", json_object_new_int64((int64_t)k->dp[r].bytes));
			json_object_object_add(dp, mcp_dp_reason_name(r), e);
		}
		for (int d = 0; d < MCP_DIR__COUNT; d++)
			for (int op = 0; op < 256; op++) {
				json_object *e;

				if (!k->op[d][op].count)
					continue;
				e = json_object_new_object();
				json_object_object_add(e, "direction", json_object_new_string(dir_name(d)));
				json_object_object_add(e, "opcode", json_object_new_int(op));
				json_object_object_add(e, "name",
						       json_object_new_string(mcp_opcode_name((uint8_t)op)));
				json_object_object_add(e, "frames",
						       json_object_new_int64((int64_t)k->op[d][op].count));
				json_object_object_add(e, "bytes",
						       json_object_new_int64((int64_t)k->op[d][op].bytes));
				json_object_array_add(ops, e);
			}
		if (k->have_sockmap) {
			json_object_object_add(o, "datapath", dp);
			json_object_object_add(o, "opcodes", ops);
		} else {
			json_object_put(dp);
			json_object_put(ops);
		}
		if (k->have_xdp) {
			json_object *x = json_object_new_object();

			for (int r = 0; r < MCP_XDP__COUNT; r++) {
				json_object *e = json_object_new_object();

				json_object_object_add(e, "packets",
						       json_object_new_int64((int64_t)k->xdp[r].count));
				json_object_object_add(e, "bytes",
						       json_object_new_int64((int64_t)k->xdp[r].bytes));
				json_object_object_add(x, mcp_xdp_reason_name(r), e);
			}
			json_object_object_add(o, "xdp", x);
		}
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else if (k->have_sockmap) {
		printf("%-16s %14s %16s\n", "fast path", "skbs", "bytes");
		for (int r = 0; r < MCP_DP__COUNT; r++)
			printf("%-16s %14llu %16llu\n", mcp_dp_reason_name(r),
			       (unsigned long long)k->dp[r].count, (unsigned long long)k->dp[r].bytes);
		printf("\n%-11s %-6s %-10s %14s %16s\n", "direction", "opcode", "name", "frames",
		       "bytes");
		for (int d = 0; d < MCP_DIR__COUNT; d++)
			for (int op = 0; op < 256; op++)
				if (k->op[d][op].count)
					printf("%-11s 0x%02x   %-10s %14llu %16llu\n", dir_name(d), op,
					       mcp_opcode_name((uint8_t)op),
					       (unsigned long long)k->op[d][op].count,
					       (unsigned long long)k->op[d][op].bytes);
	}
	if (!json && k->have_xdp) {
		printf("\n%-16s %14s %16s\n", "xdp guard", "packets", "bytes");
		for (int r = 0; r < MCP_XDP__COUNT; r++)
			printf("%-16s %14llu %16llu\n", mcp_xdp_reason_name(r),
			       (unsigned long long)k->xdp[r].count, (unsigned long long)k->xdp[r].bytes);
	}
	free(k);
	return 0;
}

static uint64_t frames_total(const struct mcp_kstats *k, int dir)
{
	uint64_t n = 0;

	for (int op = 0; op < 256; op++)
		n += k->op[dir][op].count;
	return n;
}

static int cmd_top(int rounds)
{
	struct mcp_kstats *prev = calloc(1, sizeof(*prev)), *cur = calloc(1, sizeof(*cur));

	if (!prev || !cur || read_or_explain(prev))
		return 1;
	for (int i = 0; rounds == 0 || i < rounds; i++) {
		sleep(1);
		if (read_or_explain(cur))
			return 1;
		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "frames_to_backend_per_sec",
					       json_object_new_int64((int64_t)(frames_total(cur, 0) -
									       frames_total(prev, 0))));
			json_object_object_add(o, "frames_to_client_per_sec",
					       json_object_new_int64((int64_t)(frames_total(cur, 1) -
									       frames_total(prev, 1))));
			for (int r = 0; r < MCP_DP__COUNT; r++)
				json_object_object_add(o, mcp_dp_reason_name(r),
						       json_object_new_int64((int64_t)(cur->dp[r].count -
										       prev->dp[r].count)));
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else {
			printf("frames/s to backends %10llu   to clients %10llu   skbs/s:",
			       (unsigned long long)(frames_total(cur, 0) - frames_total(prev, 0)),
			       (unsigned long long)(frames_total(cur, 1) - frames_total(prev, 1)));
			for (int r = 0; r < MCP_DP__COUNT; r++) {
				uint64_t d = cur->dp[r].count - prev->dp[r].count;

				if (d)
					printf(" %s %llu", mcp_dp_reason_name(r), (unsigned long long)d);
			}
			printf("\n");
		}
		fflush(stdout);
		struct mcp_kstats *t = prev;
		prev = cur;
		cur = t;
	}
	free(prev);
	free(cur);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: mcpctl [-j] COMMAND\n"
		   "\n"
		   "Commands:\n"
		   "  stats          every fast-path counter, by reason and by opcode\n"
		   "  top [-n N]     rates per second, refreshed each second (N rounds; 0: forever)\n"
		   "\n"
		   "  -j, --json     JSON output\n"
		   "  -h, --help     this text\n"
		   "  -V, --version  version\n"
		   "The counters are read from the maps mcpd pins under " MCP_PIN_DIR ".\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+jhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mcpctl %s\n", MCP_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "stats") && optind + 1 == argc)
		return cmd_stats();
	if (!strcmp(argv[optind], "top")) {
		int rounds = 0;

		if (optind + 3 == argc && !strcmp(argv[optind + 1], "-n"))
			rounds = atoi(argv[optind + 2]);
		else if (optind + 1 != argc) {
			fprintf(stderr, "mcpctl: top takes only -n N\n");
			return 2;
		}
		return cmd_top(rounds);
	}
	fprintf(stderr, "mcpctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return 2;
}
