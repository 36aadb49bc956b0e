/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sessions mcpd holds (session_table.c): the list, those still without a HELLO in arrival
 * order, their ids, what their output buffers hold together, the sockets waiting to be
 * flushed, those closed in this loop iteration (freed at its end), and what the session module
 * counts. No socket, no epoll, no config: unit-tested on its own (tests/unit/test_session_table.c).
 */
#ifndef MCP_SESSION_TABLE_H
#define MCP_SESSION_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include "list.h"
#include "stats.h"

struct session;
struct conn;

struct session_table {
	struct session *head;	/* newest first; s->prev, s->next */
	uint32_t n;
	struct list unneg;	/* sessions in IDLE (no HELLO yet), oldest first */
	uint32_t next_id;	/* the id the last new session got */
	struct conn *dirty;	/* sockets with output to flush after this batch of events */
	struct conn *dead_conns;	/* closed, freed at the end of the loop iteration */
	struct session *dead_sessions; /* likewise */
	/* What the sessions' output buffers hold (their capacity; struct buf's account). */
	uint64_t queued_bytes;
	uint64_t queued_peak;	/* the most they held since the last trim */
	bool budget_spared;	/* over budget, nobody worth ending: no scan per read till a tick */
	uint64_t trimmed_ms;
	/* Counted by the session module, carried over a takeover. */
	uint64_t opened;	      /* sessions accepted since start */
	uint64_t illegal_transitions; /* refused by the state machine */
	uint64_t frames_mcpd;	      /* frames of connected sessions mcpd handled itself */
};

#define session_table_for_each(t, s) for ((s) = (t)->head; (s); (s) = (s)->next)

/* NULL when out of memory. */
struct session_table *session_table_new(void);
/* Frees what is dead; the caller has freed the live sessions first (session_free). */
void session_table_free(struct session_table *t);

/* A new id: one more than the last, never 0. */
uint32_t session_table_next_id(struct session_table *t);
/* s joins the list, newest first (the caller lists it as without a HELLO where it is). */
void session_table_add(struct session_table *t, struct session *s);
/* s leaves the list and the HELLO-less list, and waits on the dead list to be freed. */
void session_table_remove(struct session_table *t, struct session *s);
/* s said HELLO (or ended before): it leaves the list of those without one. */
void session_table_negotiated(struct session_table *t, struct session *s);
/* s has not said HELLO: it joins the end of the list of those without one. */
void session_table_unnegotiated(struct session_table *t, struct session *s);
/* The session waiting longest for its HELLO, or NULL. */
struct session *session_table_oldest_unnegotiated(const struct session_table *t);
/* A socket closed: freed at the end of the loop iteration. */
void session_table_bury(struct session_table *t, struct conn *c);
/* The end of a loop iteration: free what was closed in it. */
void session_table_reap(struct session_table *t);

/* c has output to flush after this batch of events (listed once). */
void session_table_mark_dirty(struct session_table *t, struct conn *c);
/* The sockets marked since the last call, the list emptied (follow c->next_dirty). */
struct conn *session_table_take_dirty(struct session_table *t);

/* Pools that sessions have a backend of (bit i: pool i). */
uint32_t session_table_pools_in_use(const struct session_table *t);
/* Sessions open, by path; opened; illegal transitions (frames_mcpd: stats.c, beside the
 * kernel's own frames by path). */
void session_table_collect(const struct session_table *t, metric_fn fn, void *ctx);

#endif
