// SPDX-License-Identifier: GPL-2.0-only
/* The sessions mcpd holds, their ids, their shared output budget, and the lists the event loop
 * walks at the end of each iteration (flush, free). Interface: session_table.h. */
#include <stdlib.h>
#include "session.h"
#include "session_table.h"

static const struct metric
	m_sessions = { "sessions", "gauge", "Sessions open now." },
	m_sessions_path = { "sessions_by_path", "gauge",
			    "Sessions open now, by the path their frames take (inline, kernel, mcpd)." },
	m_opened = { "sessions_opened_total", "counter", "Sessions accepted since mcpd started." },
	m_illegal = { "illegal_transitions_total", "counter",
		      "Session state transitions refused by the state machine." };

const char *session_path_name(int path)
{
	static const char *const names[SESSION_PATH__COUNT] = {
		[SESSION_PATH_MCPD] = "mcpd",
		[SESSION_PATH_KERNEL] = "kernel",
		[SESSION_PATH_INLINE] = "inline",
	};

	return path >= 0 && path < SESSION_PATH__COUNT ? names[path] : "?";
}

struct session_table *session_table_new(void)
{
	return calloc(1, sizeof(struct session_table));
}

void session_table_free(struct session_table *t)
{
	if (!t)
		return;
	session_table_reap(t);
	free(t);
}

uint32_t session_table_next_id(struct session_table *t)
{
	if (!++t->next_id)
		++t->next_id;
	return t->next_id;
}

void session_table_add(struct session_table *t, struct session *s)
{
	s->prev = NULL;
	s->next = t->head;
	if (t->head)
		t->head->prev = s;
	t->head = s;
	t->n++;
}

void session_table_remove(struct session_table *t, struct session *s)
{
	list_unlink(&t->unneg, &s->unneg);
	if (s->prev)
		s->prev->next = s->next;
	else
		t->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	t->n--;
	s->prev = NULL;
	s->next = t->dead_sessions;
	t->dead_sessions = s;
}

void session_table_negotiated(struct session_table *t, struct session *s)
{
	list_unlink(&t->unneg, &s->unneg);
}

void session_table_unnegotiated(struct session_table *t, struct session *s)
{
	list_append(&t->unneg, &s->unneg);
}

struct session *session_table_oldest_unnegotiated(const struct session_table *t)
{
	return t->unneg.oldest ? list_entry(t->unneg.oldest, struct session, unneg) : NULL;
}

void session_table_bury(struct session_table *t, struct conn *c)
{
	c->next_dead = t->dead_conns;
	t->dead_conns = c;
}

static void conn_release(struct conn *c)
{
	mcp_decoder_free(&c->dec);
	buf_free(&c->out);
}

void session_table_reap(struct session_table *t)
{
	while (t->dead_conns) {
		struct conn *c = t->dead_conns;

		t->dead_conns = c->next_dead;
		conn_release(c);
		free(c);
	}
	while (t->dead_sessions) {
		struct session *s = t->dead_sessions;

		t->dead_sessions = s->next;
		conn_release(&s->client);
		free(s);
	}
}

void session_table_mark_dirty(struct session_table *t, struct conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = t->dirty;
	t->dirty = c;
}

struct conn *session_table_take_dirty(struct session_table *t)
{
	struct conn *list = t->dirty;

	t->dirty = NULL;
	return list;
}

uint32_t session_table_pools_in_use(const struct session_table *t)
{
	const struct session *s;
	uint32_t used = 0;

	session_table_for_each(t, s)
		for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
			if (s->backends[slot])
				used |= 1u << (slot - 1);
	return used;
}

void session_table_collect(const struct session_table *t, metric_fn fn, void *ctx)
{
	uint64_t by_path[SESSION_PATH__COUNT] = { 0 };
	const struct session *s;

	fn(ctx, &m_sessions, NULL, 0, t->n);
	session_table_for_each(t, s)
		by_path[s->path < SESSION_PATH__COUNT ? s->path : 0]++;
	for (int p = 0; p < SESSION_PATH__COUNT; p++) {
		const struct label l = { "path", session_path_name(p) };

		fn(ctx, &m_sessions_path, &l, 1, by_path[p]);
	}
	fn(ctx, &m_opened, NULL, 0, t->opened);
	fn(ctx, &m_illegal, NULL, 0, t->illegal_transitions);
}
