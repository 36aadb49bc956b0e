/* SPDX-License-Identifier: GPL-2.0-only */
/* mcpd's control socket (ctl.c): the server side of mcpctl. */
#ifndef MCP_CTL_H
#define MCP_CTL_H

#include <stdint.h>
#include "err.h"

struct mcpd;
struct handler;

/* Listen on the configured control socket (none: nothing to do). 0, or -errno with e. */
int ctl_init(struct mcpd *r, struct err *e);
void ctl_free(struct mcpd *r);
/* Every tick: control connections past their time are closed. */
void ctl_tick(struct mcpd *r, uint64_t now);
int ctl_listen_fd(struct mcpd *r);
/* Serve the control socket on an inherited listening fd (takeover). */
int ctl_adopt(struct mcpd *r, int fd, struct err *e);

#endif
