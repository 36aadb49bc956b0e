// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include "anomaly.h"
#include "frame.h"
#include "kstats.h"
#include "router.h"
#include "stats.h"
#include "version.h"

static const struct metric
	m_build = { "build_info", "gauge",
		    "Always 1: the labels say which mcpd answers (after an upgrade, the new one)." },
	m_sessions = { "sessions", "gauge", "Sessions open now." },
	m_opened = { "sessions_opened_total", "counter", "Sessions accepted since mcpd started." },
	m_refused = { "sessions_refused_total", "counter",
		      "Connections refused: over max_sessions, or from a blocked source." },
	m_errors = { "errors_sent_total", "counter", "ERROR frames sent to clients, by code." },
	m_illegal = { "illegal_transitions_total", "counter",
		      "Session state transitions refused by the state machine." },
	m_uptime = { "uptime_seconds", "gauge", "Seconds since mcpd started." },
	m_pool_up = { "pool_backends_up", "gauge", "Backends of the pool neither down nor drained." },
	m_pool_sessions = { "pool_sessions", "gauge", "Sessions using a backend of the pool." },
	m_dp_skbs = { "fastpath_skbs_total", "counter",
		      "skbs the sockmap verdict handled, by what it did." },
	m_dp_bytes = { "fastpath_bytes_total", "counter",
		       "Bytes the sockmap verdict handled, by what it did." },
	m_frames = { "frames_total", "counter",
		     "Frames the fast path saw, by direction and opcode." },
	m_frame_bytes = { "frame_bytes_total", "counter",
			  "Frame bytes the fast path saw, by direction and opcode." },
	m_xdp = { "xdp_packets_total", "counter", "Packets the XDP guard judged, by reason." },
	m_udp = { "udp_datagrams_total", "counter",
		  "Datagrams mcpd's UDP socket judged itself, by reason." },
	m_udp_relayed = { "udp_relayed_total", "counter", "UDP requests relayed to a backend." },
	m_udp_answers = { "udp_answers_total", "counter", "UDP answers relayed to a client." },
	m_udp_no_route = { "udp_no_route_total", "counter",
			   "UDP requests dropped: no route or no backend." },
	m_blocked = { "blocklist_entries", "gauge", "Prefixes in the blocklist." },
	m_anomalies = { "anomalies_total", "counter", "Anomalies detected, by kind." },
	m_anomaly_ready = { "anomaly_detector_ready", "gauge",
			    "1 once the anomaly detector has its baselines and judges." },
	m_limits = { "limit_hits_total", "counter",
		     "Times a protective limit fired, by limit (docs/operations.md, Under attack)." };

/* One label, as the (labels, n) pair the callback takes. */
#define L1(k, v) (const struct label[]){ { (k), (v) } }, 1

void router_collect(struct router *r, metric_fn fn, void *ctx)
{
	static struct mcp_kstats k;
	char opcode_label[8];

	const struct label build[2] = { { "version", MCP_VERSION_STRING }, { "datapath", r->dp.name } };
	fn(ctx, &m_build, build, 2, 1);
	fn(ctx, &m_sessions, NULL, 0, r->n_sessions);
	fn(ctx, &m_opened, NULL, 0, r->sessions_total);
	fn(ctx, &m_refused, NULL, 0, r->sessions_refused);
	for (int code = 0; code < MCP_ERR__COUNT; code++)
		fn(ctx, &m_errors, L1("code", mcp_error_code_name((uint32_t)code)), r->errors_sent[code]);
	fn(ctx, &m_illegal, NULL, 0, r->illegal_transitions);
	fn(ctx, &m_uptime, NULL, 0, (mcp_now_ms() - r->started_ms) / 1000);

	uint64_t now = mcp_now_ms();
	for (int p = 0; p < r->cfg.n_pools; p++) {
		uint64_t up = 0;

		for (int b = 0; b < r->cfg.pools[p].n_backends; b++) {
			const struct backend_health *h = &r->health[p][b];

			up += h->down_until_ms <= now && !h->drained;
		}
		fn(ctx, &m_pool_up, L1("pool", r->cfg.pools[p].name), up);
	}
	for (int p = 0; p < r->cfg.n_pools; p++) {
		uint64_t sessions = 0;

		for (int b = 0; b < r->cfg.pools[p].n_backends; b++)
			sessions += r->health[p][b].sessions;
		fn(ctx, &m_pool_sessions, L1("pool", r->cfg.pools[p].name), sessions);
	}

	memset(&k, 0, sizeof(k));
	mcp_kstats_read(r->cfg.pin_root, &k);
	if (r->dp.priv && k.have_sockmap) {
		for (int i = 0; i < MCP_DP__COUNT; i++)
			fn(ctx, &m_dp_skbs, L1("reason", mcp_dp_reason_name(i)), k.dp[i].count);
		for (int i = 0; i < MCP_DP__COUNT; i++)
			fn(ctx, &m_dp_bytes, L1("reason", mcp_dp_reason_name(i)), k.dp[i].bytes);
		const struct metric *ms[2] = { &m_frames, &m_frame_bytes };
		for (int which = 0; which < 2; which++)
			for (int d = 0; d < MCP_DIR__COUNT; d++)
				for (int op = 0; op < 256; op++) {
					if (!k.op[d][op].count)
						continue;
					struct label l[2] = {
						{ "direction", d == MCP_DIR_TO_BACKEND ? "to_backend"
										       : "to_client" },
						{ "opcode", opcode_label },
					};

					snprintf(opcode_label, sizeof(opcode_label), "0x%02x", op);
					fn(ctx, ms[which], l, 2,
					   which ? k.op[d][op].bytes : k.op[d][op].count);
				}
	}
	if (r->xdp && k.have_xdp)
		for (int i = 0; i < MCP_XDP__COUNT; i++)
			fn(ctx, &m_xdp, L1("reason", mcp_xdp_reason_name(i)), k.xdp[i].count);
	for (int i = 0; i < MCP_XDP__COUNT; i++)
		fn(ctx, &m_udp, L1("reason", mcp_xdp_reason_name(i)), r->udp_stats[i].count);
	fn(ctx, &m_udp_relayed, NULL, 0, r->udp_relayed);
	fn(ctx, &m_udp_answers, NULL, 0, r->udp_answers);
	fn(ctx, &m_udp_no_route, NULL, 0, r->udp_no_route);
	fn(ctx, &m_blocked, NULL, 0, (uint64_t)r->blocks.n);
	for (int i = 0; i < ANOMALY__COUNT; i++)
		fn(ctx, &m_anomalies, L1("kind", anomaly_kind_name(i)), r->anomalies_total[i]);
	fn(ctx, &m_anomaly_ready, NULL, 0, anomaly_ready(r));
	for (int i = 0; i < LIMIT__COUNT; i++)
		fn(ctx, &m_limits, L1("limit", router_limit_name(i)), r->limit_hits[i]);
}
