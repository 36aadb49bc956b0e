/* SPDX-License-Identifier: GPL-2.0-only */
/* Sessions across a hot upgrade (session_snapshot.c): described by the old mcpd, rebuilt by
 * the new one. The pinned maps keep the kernel's side; this is mcpd's. */
#ifndef MCP_SESSION_SNAPSHOT_H
#define MCP_SESSION_SNAPSHOT_H

#include "control.pb-c.h"
#include "takeover.h"

struct mcpd;
struct session;
struct session_table;

/* Describe s into m (pointing into s: valid while s is), its sockets through add_fd. 0, or
 * -1 out of memory (then session_snapshot_free(m) all the same). */
int session_snapshot(struct session *s, Mcp__Ctl__TakeoverSession *m, takeover_fd_fn add_fd,
		     void *ctx);
void session_snapshot_free(Mcp__Ctl__TakeoverSession *m);
/* Rebuild one session from m, its sockets from fds. 0, or -1 (the takeover fails). */
int session_restore(struct mcpd *r, const Mcp__Ctl__TakeoverSession *m, const int *fds,
		    int n_fds);
/* The table's ids and counters into a takeover message, and back (sessions come one by one). */
void session_table_save(const struct session_table *t, Mcp__Ctl__Takeover *m,
			Mcp__Ctl__TakeoverCounters *k);
void session_table_restore(struct session_table *t, const Mcp__Ctl__Takeover *m);

#endif
