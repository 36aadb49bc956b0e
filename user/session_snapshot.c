// SPDX-License-Identifier: GPL-2.0-only
/*
 * The session module's part of a hot upgrade (takeover.c runs the hand-over): each session,
 * its connections (their decoders' partial frames and unwritten output included) and its
 * identity, described for the new mcpd, and rebuilt there. Interface: session_snapshot.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include "auth.h"
#include "log.h"
#include "pools.h"
#include "mcpd.h"
#include "session_snapshot.h"

/* ---- the old mcpd ------------------------------------------------------------------------ */

static Mcp__Ctl__TakeoverConn *describe_conn(struct conn *c, takeover_fd_fn add_fd, void *ctx)
{
	Mcp__Ctl__TakeoverConn *m = calloc(1, sizeof(*m));
	uint8_t *partial = malloc(mcp_decoder_pending_len(&c->dec) + 1);

	if (!m || !partial) {
		free(m);
		free(partial);
		return NULL;
	}
	mcp__ctl__takeover_conn__init(m);
	m->slot = (uint32_t)c->slot;
	m->backend = (uint32_t)c->backend;
	m->ready = c->ready;
	m->close_seen = c->close_seen;
	m->fd_index = add_fd(ctx, c->h.fd);
	mcp_decoder_pending(&c->dec, partial);
	m->partial.data = partial;
	m->partial.len = mcp_decoder_pending_len(&c->dec);
	m->dec_version = c->dec.fr.version;
	m->dec_max_frame = c->dec.fr.max_frame;
	m->dec_offset = c->dec.offset;
	m->out.data = c->out.data ? c->out.data + c->out.head : NULL;
	m->out.len = c->out.len;
	m->installed = c->installed;
	m->cookie = c->cookie;
	m->queue_base = c->queue_base;
	m->daemon_written = c->daemon_written;
	m->read_total = c->read_total;
	m->fwd_published = c->fwd_published;
	m->episode = c->episode;
	m->raw_left = c->raw_left;
	m->raw_dest = c->raw_dest;
	m->full = c->full;
	return m;
}

int session_snapshot(struct session *s, Mcp__Ctl__TakeoverSession *m, takeover_fd_fn add_fd,
		     void *ctx)
{
	mcp__ctl__takeover_session__init(m);
	m->id = s->id;
	m->state = (uint32_t)s->state;
	m->version = s->version;
	m->max_frame = s->max_frame;
	m->heartbeat_ms = s->heartbeat_ms;
	m->pools = s->pools;
	m->peer = s->peer;
	m->peer_addr.data = (uint8_t *)&s->peer_addr;
	m->peer_addr.len = sizeof(s->peer_addr);
	m->client_id = s->client_id;
	m->frames_in = s->frames_in;
	m->bytes_in = s->bytes_in;
	m->frames_out = s->frames_out;
	m->bytes_out = s->bytes_out;
	m->backends_pending = (uint32_t)s->backends_pending;
	m->path = s->path;
	m->auth = s->auth;
	m->denied = s->denied;
	m->rate_limited = s->rate_limited;
	m->perms_in_kernel = s->perms_in_kernel;
	if (s->restricted) { /* (the kernel's copy, if any, stays in mcp_perms) */
		m->perms.data = (uint8_t *)&s->perms;
		m->perms.len = sizeof(s->perms);
	}
	if (s->tuples) {
		/* The inline entries stay in the kernel; the new mcpd needs their keys. */
		m->inline_tuples.data = (uint8_t *)s->tuples;
		m->inline_tuples.len = sizeof(struct mcp_tuple) * (MCP_MAX_POOLS + 1);
	}
	m->conns = calloc(MCP_MAX_POOLS + 1, sizeof(*m->conns));
	if (!m->conns)
		return -1;
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *c = session_conn(s, slot);
		Mcp__Ctl__TakeoverConn *cm;

		if (!c || (slot && c->h.fd < 0))
			continue;
		cm = describe_conn(c, add_fd, ctx);
		if (!cm)
			return -1;
		m->conns[m->n_conns++] = cm;
	}
	return 0;
}

void session_snapshot_free(Mcp__Ctl__TakeoverSession *m)
{
	for (size_t c = 0; m->conns && c < m->n_conns; c++) {
		free(m->conns[c]->partial.data);
		free(m->conns[c]);
	}
	free(m->conns);
}

/* ---- the new mcpd ------------------------------------------------------------------------ */

static int no_frame(void *ctx, const struct mcp_frame *f)
{
	(void)f;
	*(int *)ctx = 1; /* a whole frame in "partial" would mean a broken hand-over */
	return 0;
}

static int restore_conn(struct mcpd *r, struct conn *c, const Mcp__Ctl__TakeoverConn *m,
			int fd, int peer)
{
	int whole = 0;

	c->h.on_event = session_on_event;
	c->h.fd = fd;
	c->slot = (int)m->slot;
	c->peer = peer;
	c->backend = (int)m->backend;
	c->ready = m->ready;
	c->close_seen = m->close_seen;
	mcp_decoder_init(&c->dec, (uint8_t)m->dec_version, peer, m->dec_max_frame);
	c->dec.offset = m->dec_offset - m->partial.len;
	if (m->partial.len && mcp_decoder_feed(&c->dec, m->partial.data, m->partial.len, no_frame,
					       &whole) != (ssize_t)m->partial.len)
		return -1;
	if (whole)
		return -1;
	c->out.account = &r->sessions->queued_bytes;
	if (m->out.len && buf_append(&c->out, m->out.data, m->out.len))
		return -1;
	c->installed = m->installed;
	c->cookie = m->cookie;
	c->queue_base = m->queue_base;
	c->daemon_written = m->daemon_written;
	c->read_total = m->read_total;
	c->fwd_published = m->fwd_published;
	c->episode = m->episode;
	c->raw_left = m->raw_left;
	c->raw_dest = m->raw_dest;
	c->full = m->full;
	if (mcpd_watch(r, c, EPOLLIN | (c->out.len ? EPOLLOUT : 0)))
		return -1;
	if (c->out.len)
		session_table_mark_dirty(r->sessions, c);
	return 0;
}

int session_restore(struct mcpd *r, const Mcp__Ctl__TakeoverSession *m, const int *fds,
		    int n_fds)
{
	struct sockaddr_storage addr = { 0 };
	struct session *s;

	if (!m->n_conns)
		return -1;
	if (m->peer_addr.len == sizeof(addr))
		memcpy(&addr, m->peer_addr.data, sizeof(addr));
	s = session_alloc(r, m->id, &addr, m->peer);
	if (!s)
		return -1;
	s->state = (int)m->state;
	s->version = (uint8_t)m->version;
	s->max_frame = m->max_frame;
	s->heartbeat_ms = m->heartbeat_ms;
	s->pools = m->pools;
	snprintf(s->client_id, sizeof(s->client_id), "%s", m->client_id);
	s->frames_in = m->frames_in;
	s->bytes_in = m->bytes_in;
	s->frames_out = m->frames_out;
	s->bytes_out = m->bytes_out;
	s->backends_pending = (int)m->backends_pending;
	s->path = m->path < SESSION_PATH__COUNT ? (uint8_t)m->path : SESSION_PATH_MCPD;
	s->auth = m->auth < SESSION_AUTH__COUNT ? (uint8_t)m->auth : SESSION_AUTH_NONE;
	s->denied = m->denied;
	s->rate_limited = m->rate_limited;
	if (m->perms.len == sizeof(s->perms)) {
		memcpy(&s->perms, m->perms.data, sizeof(s->perms));
		s->restricted = true;
		s->perms_in_kernel = m->perms_in_kernel;
	}
	s->client_ref = s->state == S_IDLE ? -1 : auth_client_ref(r->auth, s->client_id, s->auth);
	if (m->inline_tuples.len && !r->paths[DATAPATH_INLINE]) {
		/* Its frames go on in the kernel; without the inline path this mcpd could not
		 * see them, nor clear the session's entries when it ends. */
		pr_err("takeover: session %u is on the inline path and this mcpd has none "
		       "(datapath must stay auto)", m->id);
		return -1;
	}
	if (m->inline_tuples.len == sizeof(struct mcp_tuple) * (MCP_MAX_POOLS + 1)) {
		s->tuples = malloc(m->inline_tuples.len);
		if (!s->tuples)
			return -1;
		memcpy(s->tuples, m->inline_tuples.data, m->inline_tuples.len);
	}
	s->deadline_ms = mcp_now_ms() + 2000;
	if (s->state == S_IDLE) /* a new handshake window: the old one's start is not sent */
		session_table_unnegotiated(r->sessions, s);
	for (size_t i = 0; i < m->n_conns; i++) {
		const Mcp__Ctl__TakeoverConn *cm = m->conns[i];
		struct conn *c;

		if (cm->fd_index >= (uint32_t)n_fds || cm->slot > MCP_MAX_POOLS)
			return -1;
		if (cm->slot == MCP_SLOT_CLIENT) {
			c = &s->client;
		} else {
			c = calloc(1, sizeof(*c));
			if (!c)
				return -1;
			c->s = s;
			s->backends[cm->slot] = c;
			if (cm->ready)
				pools_session_opened(r->pools, (int)cm->slot - 1, (int)cm->backend);
		}
		if (restore_conn(r, c, cm, fds[cm->fd_index],
				 cm->slot == MCP_SLOT_CLIENT ? MCP_PEER_CLIENT : MCP_PEER_BACKEND))
			return -1;
	}
	return 0;
}

void session_table_save(const struct session_table *t, Mcp__Ctl__Takeover *m,
			Mcp__Ctl__TakeoverCounters *k)
{
	m->next_session_id = t->next_id;
	m->sessions_total = t->opened;
	k->illegal_transitions = t->illegal_transitions;
	k->frames_mcpd = t->frames_mcpd;
}

void session_table_restore(struct session_table *t, const Mcp__Ctl__Takeover *m)
{
	t->next_id = m->next_session_id;
	t->opened = m->sessions_total;
	if (m->counters) { /* an mcpd from before the field has none */
		t->illegal_transitions = m->counters->illegal_transitions;
		t->frames_mcpd = m->counters->frames_mcpd;
	}
}
