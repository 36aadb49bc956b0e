/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every counter mcpd has, in one place: the daemon's own, the fast path's and the XDP
 * guard's (read from the pinned maps). `mcpctl stats` and the /metrics page both walk this
 * one list, so they cannot disagree. Labels are of bounded cardinality only (opcode,
 * reason, pool, direction, code, kind) — never an address.
 */
#ifndef MCP_STATS_H
#define MCP_STATS_H

#include <stdint.h>

struct mcpd;

struct metric {
	const char *name; /* without the mcp_ prefix */
	const char *type; /* "counter" or "gauge" */
	const char *help;
};

struct label {
	const char *key, *value;
};

/* Called once per sample (with 0 to 2 labels); samples of one metric come together. */
typedef void (*metric_fn)(void *ctx, const struct metric *m, const struct label *labels,
			  int n_labels, uint64_t value);

void mcpd_collect(struct mcpd *r, metric_fn fn, void *ctx);

#endif
