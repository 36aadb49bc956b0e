/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pin root (config `pin_root`, default /sys/fs/bpf/mcp): where the sockmap's and the XDP
 * guard's maps are pinned.
 * One mcpd at a time uses it — two would steer each other's sessions and filter each other's
 * ports — so whoever loads either holds an flock on the directory for its whole life.
 */
#ifndef MCP_PIN_DIR_H
#define MCP_PIN_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include "err.h"

struct mcpd;

/* Hold the directory (again: a no-op). With wait, for up to 5 s: a takeover waits for the old
 * mcpd to let go. 0, or -errno with the reason in e. */
int pin_dir_lock(struct mcpd *r, bool wait, struct err *e);
void pin_dir_unlock(struct mcpd *r);

#endif
