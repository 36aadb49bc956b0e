// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every counter mcpd has, as one list of metrics: the router's own, then each module's
 * collect. mcpctl stats and /metrics both walk it. Interface: stats.h.
 */
#include <stdio.h>
#include <string.h>
#include "anomaly.h"
#include "frame.h"
#include "kstats.h"
#include "pools.h"
#include "mcpd.h"
#include "stats.h"
#include "auth.h"
#include "mcp/perm.h"
#include "version.h"

static const struct metric
	m_build = { "build_info", "gauge",
		    "Always 1: the labels say which mcpd answers (after an upgrade, the new one)." },
	m_path_frames = { "path_frames_total", "counter",
			  "Frames carried, by path: inline (the sk_msg verdict), kernel (the sk_skb "
			  "verdict), mcpd (mcpd itself, including what a verdict handed it)." },
	m_kernel_denied = { "kernel_denied_total", "counter",
			    "Requests a kernel verdict handed to mcpd for their identity's permissions or "
			    "rate (mcp_perm_stats), by reason." };

/* One label, as the (labels, n) pair the callback takes. */
#define L1(k, v) (const struct label[]){ { (k), (v) } }, 1

void mcpd_collect(struct mcpd *r, metric_fn fn, void *ctx)
{
	static struct mcp_kstats k;

	const struct label build[2] = { { "version", MCP_VERSION_STRING }, { "datapath", datapath_mode(r) } };
	fn(ctx, &m_build, build, 2, 1);
	session_table_collect(r->sessions, fn, ctx);
	counters_collect(r->counters, fn, ctx);

	pools_collect(r->pools, &r->cfg, mcp_now_ms(), fn, ctx);

	memset(&k, 0, sizeof(k));
	mcp_kstats_read(r->cfg.pin_root, &k);
	mcp_kstats_collect(&k, r->paths[DATAPATH_SOCKMAP] != NULL, r->paths[DATAPATH_XDP] != NULL, fn,
			   ctx);
	if (r->paths[DATAPATH_INLINE])
		fn(ctx, &m_path_frames, L1("path", "inline"), k.inl_frames.count);
	if (r->paths[DATAPATH_SOCKMAP])
		fn(ctx, &m_path_frames, L1("path", "kernel"), k.dp_frames.count);
	fn(ctx, &m_path_frames, L1("path", "mcpd"), r->sessions->frames_mcpd);
	datapath_collect(r, fn, ctx);
	udp_collect(r, fn, ctx);
	blocklist_collect(r->blocks, fn, ctx);
	anomaly_collect(r, fn, ctx);
	auth_collect(r->auth, &r->cfg, fn, ctx);
	{
		static const char *const why[MCP_PERM__COUNT] = { "allow", "opcode", "pool", "rate" };
		struct mcp_counter perm[MCP_PERM__COUNT];

		if (!mcp_kstats_sum(r->cfg.pin_root, MCP_MAP_PERM_STATS, MCP_PERM__COUNT, perm))
			for (int v = MCP_PERM_DENY_OPCODE; v < MCP_PERM__COUNT; v++)
				fn(ctx, &m_kernel_denied, L1("reason", why[v]), perm[v].count);
	}
}
