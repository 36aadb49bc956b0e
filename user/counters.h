/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What mcpd counts that no one module owns (counters.c): ERROR frames sent by code,
 * connections refused, protective limits fired, anomalies found, and since when. Modules add
 * to them; counters_collect reports them; a takeover carries them over.
 */
#ifndef MCP_COUNTERS_H
#define MCP_COUNTERS_H

#include <stdint.h>
#include "anomaly.h"
#include "stats.h"
#include "mcp/wire.h"
#include "control.pb-c.h"

/* The protective limits, each counted when it fires (mcpctl stats, mcp_limit_hits_total). */
enum mcpd_limit {
	LIMIT_MAX_SESSIONS = 0, /* a connection refused at max_sessions */
	LIMIT_UNNEGOTIATED,	/* the oldest connection without a HELLO closed for a new one */
	LIMIT_HANDSHAKE,	/* a connection closed: no HELLO within handshake_timeout_ms */
	LIMIT_FDS,		/* accept failed: out of file descriptors */
	LIMIT_QUEUED_BYTES,	/* a session ended: mcpd's queued bytes over max_queued_bytes */
	LIMIT_STALL,		/* a session ended: a peer read nothing for stall_timeout_ms */
	LIMIT_UDP_RELAYS,	/* a UDP relay socket closed for a newer source (udp_relays) */
	LIMIT_UDP_UNVERIFIED,	/* a UDP request dropped: its source proved nothing (udp_verify) */
	LIMIT_MAP_FULL,		/* a session not put in the fast path: a BPF map was full */
	LIMIT_CTL_IDLE,		/* a control connection closed: idle or too slow */
	LIMIT_KERNEL_HELD,	/* a session ended: the kernel held more than kernel_max_held */
	LIMIT__COUNT,
};

struct counters {
	uint64_t started_ms;
	uint64_t errors_sent[MCP_ERR__COUNT]; /* ERROR frames sent to clients, by code */
	uint64_t sessions_refused;	      /* over max_sessions, out of descriptors, blocked */
	uint64_t limit_hits[LIMIT__COUNT];
	uint64_t anomalies[ANOMALY__COUNT];   /* by enum anomaly_kind */
};

/* "max_sessions", ...; "?" for none. */
const char *limit_name(int limit);

/* Started now; NULL when out of memory. */
struct counters *counters_new(void);
void counters_free(struct counters *c);
/* Refused, ERRORs by code, uptime, limits (anomalies: anomaly_collect, beside its state). */
void counters_collect(const struct counters *c, metric_fn fn, void *ctx);
/* Into a takeover message (pointing into c: nothing to free), and back from one. */
void counters_save(struct counters *c, Mcp__Ctl__TakeoverCounters *k);
void counters_restore(struct counters *c, const Mcp__Ctl__TakeoverCounters *k);

#endif
