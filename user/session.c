// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sessions: negotiation and the state machine (docs/protocol.md), backends, and the frames
 * mcpd itself handles. On the user data path every frame passes through here; on the BPF
 * path only what the verdict passes up does, and the same code handles it.
 */
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "log.h"
#include "pools.h"
#include "mcpd.h"
#include "auth.h"
#include "perm_map.h"
#include "session_int.h"
#include "session_table.h"

int session_set_state(struct mcpd *r, struct session *s, int next)
{
	if (!session_transition_legal(s->state, next)) {
		r->sessions->illegal_transitions++;
		pr_warn("session %u: illegal transition %s -> %s refused", s->id,
			session_state_name(s->state), session_state_name(next));
		return -1;
	}
	pr_debug("session %u: %s -> %s", s->id, session_state_name(s->state),
		 session_state_name(next));
	if (s->state == S_IDLE)
		session_table_negotiated(r->sessions, s);
	s->state = next;
	return 0;
}

static void close_conn(struct mcpd *r, struct conn *c)
{
	if (c->installed)
		datapath_forget(r, c);
	if (c->h.fd >= 0) {
		loop_unwatch(r->epfd, c->h.fd);
		close(c->h.fd);
		c->h.fd = -1;
	}
	c->closed = true;
	c->installed = false;
}

/* Close a backend now; its memory is freed at the end of the loop iteration (mcpd.c). */
void session_drop_backend(struct mcpd *r, struct session *s, int slot)
{
	struct conn *b = s->backends[slot];

	if (!b)
		return;
	close_conn(r, b);
	if (b->ready)
		pools_session_closed(r->pools, slot - 1, b->backend);
	b->s = NULL;
	s->backends[slot] = NULL;
	session_table_bury(r->sessions, b);
}

/* ---- ending ---------------------------------------------------------------------------- */

void session_close_backends(struct mcpd *r, struct session *s)
{
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		session_drop_backend(r, s, slot);
}

/* Everything for the client is queued: flush it, then shut down and linger (session_flush). */
void session_finish(struct mcpd *r, struct session *s)
{
	if (s->state == S_CLOSED)
		return;
	session_set_state(r, s, S_CLOSED);
	s->deadline_ms = mcp_now_ms() + LINGER_MS;
	session_table_mark_dirty(r->sessions, &s->client);
}

void session_end(struct mcpd *r, struct session *s, int code, const char *msg)
{
	if (s->state == S_ERROR || s->state == S_CLOSED)
		return;
	if (code >= 0) {
		pr_info("session %u (%s): %s: %s", s->id, s->peer, mcp_error_code_name(code),
			msg ? msg : "");
		session_queue_error(r, s, code, msg);
		session_set_state(r, s, S_ERROR);
	}
	session_close_backends(r, s);
	session_finish(r, s);
}

/* An orderly end: CLOSE to every backend, wait for them, then CLOSE to the client. */
void session_start_close(struct mcpd *r, struct session *s)
{
	bool waiting = false;

	if (s->state != S_CONNECTED || session_set_state(r, s, S_CLOSING))
		return;
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *b = s->backends[slot];

		if (b && !b->closed && !b->close_seen) {
			session_queue_close(r, s, b);
			waiting = true;
		}
	}
	s->deadline_ms = mcp_now_ms() + CLOSE_WAIT_MS;
	if (!waiting) {
		session_queue_close(r, s, &s->client);
		session_close_backends(r, s);
		session_finish(r, s);
	}
}

void session_check_closing_done(struct mcpd *r, struct session *s)
{
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *b = s->backends[slot];

		if (b && !b->closed && !b->close_seen)
			return;
	}
	/* The client's CLOSE is answered once every backend's last response is queued. */
	session_queue_close(r, s, &s->client);
	session_close_backends(r, s);
	session_finish(r, s);
}

void session_shutdown(struct mcpd *r, struct session *s)
{
	session_end(r, s, MCP_ERR_SHUTTING_DOWN, "the router is stopping");
}

/* Close a session now; its memory is freed at the end of the loop iteration (mcpd.c). */
void session_free(struct mcpd *r, struct session *s)
{
	if (s->dead)
		return;
	s->dead = true;
	if (s->client_ref >= 0) {
		struct session_counters k;

		session_counters(r, s, &k);
		auth_session_ended(r->auth, s->client_ref, k.frames_in + k.frames_out);
	}
	if (s->perms_in_kernel)
		perm_map_del(r->cfg.pin_root, s->id);
	datapath_uninstall(r, s);
	session_close_backends(r, s);
	close_conn(r, &s->client);
	s->client.s = NULL;
	session_table_remove(r->sessions, s);
	pr_debug("session %u closed", s->id);
}

struct session *session_alloc(struct mcpd *r, uint32_t id, const struct sockaddr_storage *ss,
			      const char *peer)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->id = id;
	s->state = S_IDLE;
	s->client_ref = -1; /* no identity before HELLO */
	s->client.h.on_event = session_on_event;
	s->client.h.fd = -1;
	s->client.out.account = &r->sessions->queued_bytes;
	s->client.s = s;
	s->client.slot = MCP_SLOT_CLIENT;
	s->client.peer = MCP_PEER_CLIENT;
	mcp_perm_all(&s->perms);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	s->peer_addr = *ss;
	s->last_active_ms = s->created_ms = mcp_now_ms();
	session_table_add(r->sessions, s);
	return s;
}

struct session *session_new(struct mcpd *r, int fd, const struct sockaddr_storage *ss,
			    const char *peer)
{
	uint32_t id = session_table_next_id(r->sessions);
	struct session *s;

	s = session_alloc(r, id, ss, peer);
	if (!s)
		return NULL;
	s->client.h.fd = fd;
	/* Before HELLO any header version parses; the state machine judges it. */
	mcp_decoder_init(&s->client.dec, 0, MCP_PEER_CLIENT, r->cfg.max_frame);
	r->sessions->opened++;
	session_table_unnegotiated(r->sessions, s);
	if (mcpd_watch(r, &s->client, EPOLLIN)) {
		session_free(r, s);
		return NULL;
	}
	return s;
}

void session_counters_add(struct session_counters *out, int slot, uint64_t frames,
			  uint64_t bytes)
{
	if (slot == MCP_SLOT_CLIENT) {
		out->frames_in += frames;
		out->bytes_in += bytes;
	} else {
		out->frames_out += frames;
		out->bytes_out += bytes;
	}
}

void session_counters(struct mcpd *r, struct session *s, struct session_counters *out)
{
	out->frames_in = s->frames_in;
	out->bytes_in = s->bytes_in;
	out->frames_out = s->frames_out;
	out->bytes_out = s->bytes_out;
	/* What the kernel carried (the inline path's counts stay with a session that fell back). */
	datapath_counters(r, s, out);
}

