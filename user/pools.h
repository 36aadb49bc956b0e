/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pools and the health of their backends (pools.c): which backend a new session or UDP
 * relay gets, which are down or drained, how many sessions each carries, and what a reload
 * keeps. The backends' addresses are the config's; their state is this module's.
 */
#ifndef MCP_POOLS_H
#define MCP_POOLS_H

#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "stats.h"

struct pools;

/* NULL when out of memory. */
struct pools *pools_new(void);
void pools_free(struct pools *p);

/* Round robin over the pool's backends that are neither down (for TCP, or for UDP: a backend
 * may speak one and not the other) nor drained; -1 if none. */
int pools_pick(struct pools *p, const struct mcp_config *cfg, int pool, uint64_t now, bool udp);
/* A backend that cannot be reached gets no new sessions (or relays) until `until`. */
void pools_set_down(struct pools *p, int pool, int backend, uint64_t until, bool udp);
/* A backend took a session (its HELLO_ACK came), or a session let go of it. */
void pools_session_opened(struct pools *p, int pool, int backend);
void pools_session_closed(struct pools *p, int pool, int backend);
/* No new sessions for the backend whose address is `text` (its open ones go on). Its pool,
 * or -ENOENT. */
int pools_drain(struct pools *p, const struct mcp_config *cfg, const char *text);
/* "up", "down" or "drained", and its sessions: for mcpctl pools. */
const char *pools_health(const struct pools *p, int pool, int backend, uint64_t now,
			 uint32_t *sessions);
/* A reload from cfg to next: each backend still at its place (same pool name and position,
 * same address) keeps its health; the others start afresh. */
void pools_reconfigure(struct pools *p, const struct mcp_config *cfg,
		       const struct mcp_config *next);
/* Per pool: backends up, sessions open. */
void pools_collect(const struct pools *p, const struct mcp_config *cfg, uint64_t now,
		   metric_fn fn, void *ctx);

#endif
