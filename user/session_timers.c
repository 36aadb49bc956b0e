// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every tick: each session's timeouts (handshake, connect, stall, partial frame, idle, close,
 * linger), and all sessions' buffers within max_queued_bytes.
 */
#include <stdio.h>
#include <malloc.h>
#include <sys/epoll.h>
#include "log.h"
#include "mcpd.h"
#include "session_int.h"

#define BUDGET_SPARES (64u << 10) /* a session holding less is never ended for the budget */

/* What mcpd's output buffers hold for a session: their capacity, as router.queued_bytes
 * counts it. */
static uint64_t session_held(const struct session *s)
{
	uint64_t n = s->client.out.cap;

	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		if (s->backends[slot])
			n += s->backends[slot]->out.cap;
	return n;
}

uint64_t session_last_active_ms(struct mcpd *r, struct session *s)
{
	uint64_t k = datapath_last_active_ms(r, s); /* 0: not on a kernel path */

	return k > s->last_active_ms ? k : s->last_active_ms;
}

/* Its queued output goes (the peer was not taking it), then the session: with an ERROR if it
 * was still running, at once if it was already ending (its last bytes were that output). */
static void end_over_budget(struct mcpd *r, struct session *s)
{
	buf_free(&s->client.out);
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		if (s->backends[slot])
			buf_free(&s->backends[slot]->out);
	r->counters->limit_hits[LIMIT_QUEUED_BYTES]++;
	if (s->state == S_CLOSED || s->state == S_ERROR)
		session_free(r, s);
	else
		session_end(r, s, MCP_ERR_RATE_LIMITED,
			    "the router's buffers are full (max_queued_bytes) and this session held "
			    "the most");
}

void sessions_within_budget(struct mcpd *r, uint64_t now)
{
	struct session_table *t = r->sessions;
	uint64_t budget = r->cfg.max_queued_bytes;
	bool over = t->queued_bytes > budget;

	t->budget_spared = false;

	if (t->queued_bytes > t->queued_peak)
		t->queued_peak = t->queued_bytes;
	/* Over the budget: the largest holders end until the rest fit in three quarters. Each
	 * one ended gives back at least BUDGET_SPARES, so this ends; small holders are spared. */
	while (over && t->queued_bytes > budget / 4 * 3) {
		struct session *worst = NULL;
		uint64_t most = 0;

		for (struct session *s = t->head; s; s = s->next) {
			uint64_t n = session_held(s);

			if (n > most) {
				most = n;
				worst = s;
			}
		}
		if (!worst || most < BUDGET_SPARES) {
			/* Nothing left worth ending: reads stop scanning for it until the next tick. */
			t->budget_spared = true;
			break;
		}
		pr_warn("session %u (%s): ended, holding %llu of %llu queued bytes (max_queued_bytes "
			"%llu)", worst->id, worst->peer, (unsigned long long)most,
			(unsigned long long)t->queued_bytes, (unsigned long long)budget);
		end_over_budget(r, worst);
	}
	/* After a peak, the memory goes back to the system (glibc keeps freed heap otherwise). */
	if (t->queued_peak > (8u << 20) && t->queued_bytes < t->queued_peak / 4 &&
	    now > t->trimmed_ms + 1000) {
		malloc_trim(0);
		t->queued_peak = t->queued_bytes;
		t->trimmed_ms = now;
	}
}

/* A peer that does not take what is sent to it: the session ends. A client that reads nothing
 * is over the router's limits, RATE_LIMITED (docs/protocol.md), should it ever read again; a
 * backend that does not is unavailable. */
static void end_for_not_reading(struct mcpd *r, struct session *s, const struct conn *slow,
				int limit, const char *what)
{
	bool backend = slow->peer == MCP_PEER_BACKEND;
	char msg[128];

	snprintf(msg, sizeof(msg), "the %s %s", backend ? "backend" : "client", what);
	r->counters->limit_hits[limit]++;
	session_end(r, s, backend ? MCP_ERR_BACKEND_UNAVAILABLE : MCP_ERR_RATE_LIMITED, msg);
}

void session_tick(struct mcpd *r, struct session *s, uint64_t now)
{

	if (s->state == S_CONNECTED)
		datapath_session_tick(r, s);

	/* However it dribbles, a connection gets handshake_timeout_ms to complete its HELLO. */
	if (s->state == S_IDLE && now > s->created_ms + r->cfg.handshake_timeout_ms) {
		r->counters->limit_hits[LIMIT_HANDSHAKE]++;
		session_end(r, s, MCP_ERR_IDLE_TIMEOUT,
			    "no complete HELLO within handshake_timeout_ms");
		return;
	}
	switch (s->state) {
	case S_IDLE:
	case S_CONNECTED:
		/* An idle session gives its output buffers back; they come again with traffic. */
		if (!s->client.out.len && s->client.out.cap && !s->client.dirty)
			buf_free(&s->client.out);
		for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
			struct conn *b = s->backends[slot];

			if (b && !b->out.len && b->out.cap && !b->dirty)
				buf_free(&b->out);
		}
		/* A peer that stopped reading: its session ends, so neither mcpd's buffers nor the
		 * kernel's queues (the fast path marks it full) grow without bound. */
		if (s->state == S_CONNECTED) {
			struct conn *stuck = NULL;

			for (int slot = 0; slot <= MCP_MAX_POOLS && !stuck; slot++) {
				struct conn *c = session_conn(s, slot);

				if (c && c->full && !c->stalled_since_ms)
					c->stalled_since_ms = now;
				if (c && !c->full && !c->out.len)
					c->stalled_since_ms = 0;
				if (c && c->stalled_since_ms &&
				    now > c->stalled_since_ms + r->cfg.stall_timeout_ms)
					stuck = c;
			}
			if (stuck) {
				end_for_not_reading(r, s, stuck, LIMIT_STALL,
						    "stopped reading (stall_timeout_ms)");
				break;
			}
			/* The kernel path does not hold a sender back: bytes pile up in the kernel's
			 * queues for a peer that does not read (kernel-notes, note 21). Not
			 * stall_timeout_ms later: now. */
			if (datapath_kernel_held(r, s, &stuck) > r->cfg.kernel_max_held) {
				end_for_not_reading(r, s, stuck ? stuck : &s->client, LIMIT_KERNEL_HELD,
						    "does not read: the kernel holds more than "
						    "kernel_max_held for it");
				break;
			}
		}
		/* A slow sender: part of a frame, and the rest not coming in time. */
		if (s->state == S_CONNECTED) {
			uint64_t since = s->client.partial_since_ms;
			uint64_t k = datapath_partial_since_ms(r, s); /* 0 when none */

			if (k && (!since || k < since))
				since = k;
			if (session_backpressured(s) || !(s->client.events & EPOLLIN))
				since = 0; /* we stopped reading: the sender is not the slow one */
			if (since && now > since + r->cfg.partial_timeout_ms) {
				session_end(r, s, MCP_ERR_PROTOCOL_VIOLATION,
					    "a frame not completed within partial_timeout_ms");
				break;
			}
		}
		if (s->state == S_CONNECTED && session_holding(s))
			s->last_active_ms = now;
		if (now > session_last_active_ms(r, s) + r->cfg.idle_timeout_ms)
			session_end(r, s, MCP_ERR_IDLE_TIMEOUT, "idle past the timeout");
		break;
	case S_CONNECTING:
		if (now > s->deadline_ms) {
			for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
				struct conn *b = s->backends[slot];

				if (b && !b->ready) {
					backend_failed(r, b, "timed out connecting");
					break;
				}
			}
			if (s->state == S_CONNECTING)
				s->deadline_ms = now + r->cfg.connect_timeout_ms;
		}
		break;
	case S_CLOSING:
		if (now > s->deadline_ms) {
			session_queue_close(r, s, &s->client);
			session_close_backends(r, s);
			session_finish(r, s);
		}
		break;
	default:
		if (now > s->deadline_ms)
			session_free(r, s);
	}
}
