/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Anomaly detection. Every second mcpd samples its rates — bad frames and new sessions per
 * source (from the kernel's ring buffer mcp_events and from its own accept and decode
 * paths), each opcode's frame rate, and the rate of skbs the fast path passes up — and
 * compares each with its baseline, an exponentially weighted mean and variance. A rate far
 * above its baseline is an anomaly: a log line, a counter, an entry in `mcpctl stats`, and
 * with auto_block, a blocklist entry with a TTL for the source's prefix.
 */
#ifndef MCP_ANOMALY_H
#define MCP_ANOMALY_H

#include <stdbool.h>
#include <stdint.h>
#include "stats.h"
#include <sys/socket.h>

struct mcpd;

enum anomaly_kind {
	ANOMALY_BAD_FRAMES = 0,	 /* a burst of bad frames from one source */
	ANOMALY_SESSION_FLOOD,	 /* a flood of new sessions from one source */
	ANOMALY_OPCODE_SPIKE,	 /* an opcode's rate far over its baseline */
	ANOMALY_PASS_SPIKE,	 /* the pass-to-daemon rate far over its baseline */
	ANOMALY_AUTH_FAILURES,	 /* a source that keeps failing authentication */
	ANOMALY__COUNT,
};

const char *anomaly_kind_name(int kind);

#define ANOMALY_RECENT 64

struct anomaly_event {
	uint64_t at_ms; /* since mcpd started */
	int kind;	/* enum anomaly_kind */
	char source[64];
	char detail[160];
};

int anomaly_init(struct mcpd *r);
void anomaly_free(struct mcpd *r);
/* Once a second, from the timer. */
void anomaly_tick(struct mcpd *r, uint64_t now_ms);
/* Has the detector its baselines (a few seconds after start), so that it judges? */
bool anomaly_ready(struct mcpd *r);
/* Anomalies by kind, and whether the detector judges yet (stats.h). */
void anomaly_collect(struct mcpd *r, metric_fn fn, void *ctx);
/* Userspace sightings. */
void anomaly_bad_frame(struct mcpd *r, const struct sockaddr *src);
void anomaly_new_session(struct mcpd *r, const struct sockaddr *src);
void anomaly_auth_failure(struct mcpd *r, const struct sockaddr *src); /* a refused token */
void anomaly_frame(struct mcpd *r, int dir, uint8_t opcode);
/* The most recent anomalies, oldest first. */
int anomaly_recent(struct mcpd *r, const struct anomaly_event **out);

#endif
