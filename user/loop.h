/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The event loop's primitives every module uses: a handler (a descriptor and what to call
 * when it is ready), the monotonic clock, and leaving the epoll set (loop.c). The loop itself
 * is router.c.
 */
#ifndef MCP_LOOP_H
#define MCP_LOOP_H

#include <stdint.h>

struct router;
struct handler;

/* What the event loop calls when a descriptor is ready: each handler carries its own. */
typedef void (*handler_fn)(struct router *r, struct handler *h, uint32_t events);

struct handler {
	handler_fn on_event;
	int fd;
};

/* fd leaves the epoll set before it is closed (a socket handed to another process over
 * SCM_RIGHTS stays open there, so close alone would leave it in the set). A failure other than
 * "not in the set" is logged. */
void loop_unwatch(int epfd, int fd);

uint64_t mcp_now_ms(void);
uint64_t mcp_now_ns(void); /* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */

#endif
