/* SPDX-License-Identifier: GPL-2.0-only */
/* The Prometheus /metrics page (libmicrohttpd, driven by mcpd's own epoll loop). */
#ifndef MCP_METRICS_H
#define MCP_METRICS_H

#include "err.h"

struct mcpd;

/* Serve the configured address (none: nothing to do). 0, or -errno with the reason in e. */
int metrics_init(struct mcpd *r, struct err *e);
void metrics_free(struct mcpd *r);
int metrics_listen_fd(struct mcpd *r);
/* libmicrohttpd's own timeouts, every tick. */
void metrics_tick(struct mcpd *r);
/* Serve /metrics on an inherited listening fd (takeover). */
int metrics_adopt(struct mcpd *r, int fd, struct err *e);

#endif
