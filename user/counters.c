// SPDX-License-Identifier: GPL-2.0-only
/* The counters no one module owns, their names and their report. Interface: counters.h. */
#include <stdlib.h>
#include "counters.h"
#include "loop.h"
#include "messages.h"

static const struct metric
	m_refused = { "sessions_refused_total", "counter",
		      "Connections refused: over max_sessions, or from a blocked source." },
	m_errors = { "errors_sent_total", "counter", "ERROR frames sent to clients, by code." },
	m_uptime = { "uptime_seconds", "gauge", "Seconds since mcpd started." },
	m_limits = { "limit_hits_total", "counter",
		     "Times a protective limit fired, by limit (docs/operations.md, Under attack)." };

const char *limit_name(int limit)
{
	static const char *const names[LIMIT__COUNT] = {
		[LIMIT_MAX_SESSIONS] = "max_sessions",
		[LIMIT_UNNEGOTIATED] = "max_unnegotiated",
		[LIMIT_HANDSHAKE] = "handshake_timeout",
		[LIMIT_FDS] = "file_descriptors",
		[LIMIT_QUEUED_BYTES] = "max_queued_bytes",
		[LIMIT_STALL] = "stall_timeout",
		[LIMIT_UDP_RELAYS] = "udp_relays",
		[LIMIT_UDP_UNVERIFIED] = "udp_unverified",
		[LIMIT_MAP_FULL] = "bpf_map_full",
		[LIMIT_CTL_IDLE] = "control_idle",
		[LIMIT_KERNEL_HELD] = "kernel_max_held",
	};

	return limit >= 0 && limit < LIMIT__COUNT ? names[limit] : "?";
}

struct counters *counters_new(void)
{
	struct counters *c = calloc(1, sizeof(*c));

	if (c)
		c->started_ms = mcp_now_ms();
	return c;
}

void counters_free(struct counters *c)
{
	free(c);
}

void counters_collect(const struct counters *c, metric_fn fn, void *ctx)
{
	fn(ctx, &m_refused, NULL, 0, c->sessions_refused);
	for (int code = 0; code < MCP_ERR__COUNT; code++) {
		const struct label l = { "code", mcp_error_code_name((uint32_t)code) };

		fn(ctx, &m_errors, &l, 1, c->errors_sent[code]);
	}
	fn(ctx, &m_uptime, NULL, 0, (mcp_now_ms() - c->started_ms) / 1000);
	for (int i = 0; i < LIMIT__COUNT; i++) {
		const struct label l = { "limit", limit_name(i) };

		fn(ctx, &m_limits, &l, 1, c->limit_hits[i]);
	}
}

void counters_save(struct counters *c, Mcp__Ctl__TakeoverCounters *k)
{
	k->errors_sent = c->errors_sent;
	k->n_errors_sent = MCP_ERR__COUNT;
	k->sessions_refused = c->sessions_refused;
	k->anomalies = c->anomalies;
	k->n_anomalies = ANOMALY__COUNT;
	k->limit_hits = c->limit_hits;
	k->n_limit_hits = LIMIT__COUNT;
}

/* What an older mcpd counted and this one does not know is dropped; what it did not count
 * stays 0. */
static void copy_known(uint64_t *to, size_t known, const uint64_t *from, size_t n)
{
	for (size_t i = 0; i < n && i < known; i++)
		to[i] = from[i];
}

void counters_restore(struct counters *c, const Mcp__Ctl__TakeoverCounters *k)
{
	copy_known(c->errors_sent, MCP_ERR__COUNT, k->errors_sent, k->n_errors_sent);
	c->sessions_refused = k->sessions_refused;
	copy_known(c->anomalies, ANOMALY__COUNT, k->anomalies, k->n_anomalies);
	copy_known(c->limit_hits, LIMIT__COUNT, k->limit_hits, k->n_limit_hits);
}
