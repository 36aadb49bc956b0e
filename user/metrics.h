/* SPDX-License-Identifier: GPL-2.0-only */
/* The Prometheus /metrics page (libmicrohttpd, driven by mcpd's own epoll loop). */
#ifndef MCP_METRICS_H
#define MCP_METRICS_H

struct router;

int metrics_init(struct router *r);
void metrics_free(struct router *r);
int metrics_listen_fd(struct router *r);
/* libmicrohttpd's own timeouts, every tick. */
void metrics_tick(struct router *r);
/* Serve /metrics on an inherited listening fd (takeover). */
int metrics_adopt(struct router *r, int fd);

#endif
