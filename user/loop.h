/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The event loop's primitives every module uses: a handler (a descriptor and what to call
 * when it is ready), the monotonic clock, and leaving the epoll set (loop.c). The loop itself
 * is mcpd.c.
 */
#ifndef MCP_LOOP_H
#define MCP_LOOP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct mcpd;
struct handler;
struct mcp_addr;

/* What the event loop calls when a descriptor is ready: each handler carries its own. */
typedef void (*handler_fn)(struct mcpd *r, struct handler *h, uint32_t events);

struct handler {
	handler_fn on_event;
	int fd;
};

/* A listener on a (type SOCK_STREAM or SOCK_DGRAM), non-blocking, in the epoll set with h,
 * which calls on_event. 0, or -errno with "cannot listen on ADDR[/udp]: reason" in e. */
int loop_listen(int epfd, const struct mcp_addr *a, int type, struct handler *h,
		handler_fn on_event, struct err *e);

/* fd leaves the epoll set before it is closed (a socket handed to another process over
 * SCM_RIGHTS stays open there, so close alone would leave it in the set). A failure other than
 * "not in the set" is logged. */
void loop_unwatch(int epfd, int fd);

/* A connection refused without being served: it is told why (answer, len bytes; 0 for
 * nothing) and closed. What it sent is read first: closing over unread bytes sends a reset,
 * which can overtake the answer. */
void loop_refuse(int fd, const void *answer, size_t len);

/* accept() failed for want of descriptors or memory for one. */
static inline bool loop_out_of_descriptors(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

uint64_t mcp_now_ms(void);
uint64_t mcp_now_ns(void); /* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */

#endif
