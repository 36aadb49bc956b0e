/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The XDP guard (dp_xdp.c): mcp_xdp attached through libxdp to the configured interfaces,
 * its blocklist and rate limits kept in step with mcpd's, its counters read for stats.
 */
#ifndef MCP_XDP_GUARD_H
#define MCP_XDP_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct mcpd;
struct xdp_guard;

/* Load and attach to the configured interfaces (none: nothing to do). 0, or -errno with e. */
int xdp_guard_init(struct mcpd *r, struct err *e);
/* Before a takeover: could the guard attach where the config says? 0, or -errno with e. */
int xdp_guard_check(struct mcpd *r, struct err *e);
void xdp_guard_apply_config(struct mcpd *r);
void xdp_guard_tick(struct mcpd *r, uint64_t now);
void xdp_guard_free(struct mcpd *r);
/* "eth0 native, eth1 skb" */
void xdp_guard_describe(struct mcpd *r, char *out, size_t len);

#endif
