/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `mcpctl upgrade` (upgrade.c): a small helper process, forked before mcpd drops its
 * privileges, starts mcpd's own binary anew with --takeover when mcpd asks; the new mcpd then
 * takes every socket and session from the running one (takeover.c).
 */
#ifndef MCP_UPGRADE_H
#define MCP_UPGRADE_H

#include <stddef.h>
#include <sys/types.h>
#include "err.h"

/* First thing at start-up: the binary, the arguments and the directory to start again with. */
void upgrade_remember(int argc, char **argv);
/* Once detached, before anything is opened and before privileges are dropped: fork the
 * helper. 0, or -1 with a message. */
int upgrade_helper_start(void);
/* Ask the helper to start the new mcpd: its pid, or -errno with the reason in e. */
pid_t upgrade_start(struct err *e);
/* Hear from the helper whether a new mcpd it started has failed (called from the tick). */
void upgrade_poll(void);
/* The last upgrade this mcpd started, for status: "", "running: pid N", "failed: ...". */
const char *upgrade_state(void);

#endif
