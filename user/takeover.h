/* SPDX-License-Identifier: GPL-2.0-only */
/* Hot upgrade (takeover.c): the running mcpd gives, the new one takes. */
#ifndef MCP_TAKEOVER_H
#define MCP_TAKEOVER_H

#include <stdint.h>
#include "err.h"

struct mcpd;

/* A module handing a socket over: the index it will have among the fds the new mcpd gets. */
typedef uint32_t (*takeover_fd_fn)(void *ctx, int fd);

/* The old mcpd, asked on its control socket: 0 when the new one has everything. */
int takeover_give(struct mcpd *r, int sock);
/* The new mcpd (--takeover): 0 when it holds every listener and session of the old one, or
 * -errno with the reason in e (the old mcpd then keeps everything). */
int takeover_take(struct mcpd *r, struct err *e);
/* Before a takeover touches anything: is there a running mcpd to take over from (a control
 * socket in the config that answers)? 0, or -errno with the reason in e. */
int takeover_possible(struct mcpd *r, struct err *e);

#endif
