// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every counter mcpd has, as one list of metrics: the router's own, then each module's
 * collect. mcpctl stats and /metrics both walk it. Interface: stats.h.
 */
#include <stdio.h>
#include <string.h>
#include "anomaly.h"
#include "frame.h"
#include "inline.h"
#include "kstats.h"
#include "pools.h"
#include "router.h"
#include "stats.h"
#include "auth.h"
#include "mcp/perm.h"
#include "version.h"

static const struct metric
	m_build = { "build_info", "gauge",
		    "Always 1: the labels say which mcpd answers (after an upgrade, the new one)." },
	m_sessions = { "sessions", "gauge", "Sessions open now." },
	m_sessions_path = { "sessions_by_path", "gauge",
			    "Sessions open now, by the path their frames take (inline, kernel, mcpd)." },
	m_opened = { "sessions_opened_total", "counter", "Sessions accepted since mcpd started." },
	m_refused = { "sessions_refused_total", "counter",
		      "Connections refused: over max_sessions, or from a blocked source." },
	m_errors = { "errors_sent_total", "counter", "ERROR frames sent to clients, by code." },
	m_illegal = { "illegal_transitions_total", "counter",
		      "Session state transitions refused by the state machine." },
	m_uptime = { "uptime_seconds", "gauge", "Seconds since mcpd started." },
	m_path_frames = { "path_frames_total", "counter",
			  "Frames carried, by path: inline (the sk_msg verdict), kernel (the sk_skb "
			  "verdict), mcpd (mcpd itself, including what a verdict handed it)." },
	m_blocked = { "blocklist_entries", "gauge", "Prefixes in the blocklist." },
	m_kernel_denied = { "kernel_denied_total", "counter",
			    "Requests a kernel verdict handed to mcpd for their identity's permissions or "
			    "rate (mcp_perm_stats), by reason." },
	m_limits = { "limit_hits_total", "counter",
		     "Times a protective limit fired, by limit (docs/operations.md, Under attack)." };

/* One label, as the (labels, n) pair the callback takes. */
#define L1(k, v) (const struct label[]){ { (k), (v) } }, 1

void router_collect(struct router *r, metric_fn fn, void *ctx)
{
	static struct mcp_kstats k;

	const struct label build[2] = { { "version", MCP_VERSION_STRING }, { "datapath", r->dp.name } };
	fn(ctx, &m_build, build, 2, 1);
	fn(ctx, &m_sessions, NULL, 0, r->n_sessions);
	{
		uint64_t by_path[SESSION_PATH__COUNT] = { 0 };

		for (struct session *s = r->sessions; s; s = s->next)
			by_path[s->path < SESSION_PATH__COUNT ? s->path : 0]++;
		for (int p = 0; p < SESSION_PATH__COUNT; p++)
			fn(ctx, &m_sessions_path, L1("path", session_path_name(p)), by_path[p]);
	}
	fn(ctx, &m_opened, NULL, 0, r->sessions_total);
	fn(ctx, &m_refused, NULL, 0, r->sessions_refused);
	for (int code = 0; code < MCP_ERR__COUNT; code++)
		fn(ctx, &m_errors, L1("code", mcp_error_code_name((uint32_t)code)), r->errors_sent[code]);
	fn(ctx, &m_illegal, NULL, 0, r->illegal_transitions);
	fn(ctx, &m_uptime, NULL, 0, (mcp_now_ms() - r->started_ms) / 1000);

	pools_collect(r->pools, &r->cfg, mcp_now_ms(), fn, ctx);

	memset(&k, 0, sizeof(k));
	mcp_kstats_read(r->cfg.pin_root, &k);
	mcp_kstats_collect(&k, r->dp.priv != NULL, r->xdp != NULL, fn, ctx);
	if (r->inl)
		fn(ctx, &m_path_frames, L1("path", "inline"), k.inl_frames.count);
	if (r->dp.priv)
		fn(ctx, &m_path_frames, L1("path", "kernel"), k.dp_frames.count);
	fn(ctx, &m_path_frames, L1("path", "mcpd"), r->frames_mcpd);
	inline_collect(r, fn, ctx);
	udp_collect(r, fn, ctx);
	fn(ctx, &m_blocked, NULL, 0, (uint64_t)r->blocks.n);
	anomaly_collect(r, fn, ctx);
	auth_collect(r->auth, &r->cfg, fn, ctx);
	{
		static const char *const why[MCP_PERM__COUNT] = { "allow", "opcode", "pool", "rate" };
		struct mcp_counter perm[MCP_PERM__COUNT];

		if (!mcp_kstats_sum(r->cfg.pin_root, MCP_MAP_PERM_STATS, MCP_PERM__COUNT, perm))
			for (int v = MCP_PERM_DENY_OPCODE; v < MCP_PERM__COUNT; v++)
				fn(ctx, &m_kernel_denied, L1("reason", why[v]), perm[v].count);
	}
	for (int i = 0; i < LIMIT__COUNT; i++)
		fn(ctx, &m_limits, L1("limit", router_limit_name(i)), r->limit_hits[i]);
}
