// SPDX-License-Identifier: GPL-2.0-only
/*
 * A session's sockets: reading in chunks with backpressure (a destination holding too much
 * stops its sources), writing what is queued, and the epoll events of each.
 */
#include <errno.h>
#include <sys/epoll.h>
#include "log.h"
#include "mcpd.h"
#include "session_int.h"

struct conn *session_conn(struct session *s, int slot)
{
	return slot == MCP_SLOT_CLIENT ? &s->client : s->backends[slot];
}

bool session_flushed(const struct session *s)
{
	if (s->client.out.len)
		return false;
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		if (s->backends[slot] && s->backends[slot]->out.len)
			return false;
	return true;
}

uint32_t conn_max_frame(const struct conn *c)
{
	return c->dec.fr.max_frame;
}

size_t conn_partial_len(const struct conn *c)
{
	return mcp_decoder_pending_len(&c->dec);
}

bool conn_between_frames(const struct conn *c)
{
	return !c->raw_left && mcp_decoder_idle(&c->dec);
}

/* Would reading more from c pile up output its session cannot get rid of? */
bool session_backpressured(struct session *s)
{
	if (s->client.out.len > OUT_HIGH)
		return true;
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		if (s->backends[slot] && s->backends[slot]->out.len > OUT_HIGH)
			return true;
	return false;
}

/*
 * Does mcpd hold this session's traffic: answers waiting for the client (in mcpd or, on the
 * fast path, in the kernel's queues), or the client's reads paused by backpressure? Then the
 * session is busy, not idle; a client that stops reading altogether is the stall timeout's.
 */
bool session_holding(struct session *s)
{
	if (session_backpressured(s) || s->client.out.len || s->client.full ||
	    (!s->client.closed && !(s->client.events & EPOLLIN)))
		return true;
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *b = s->backends[slot];

		if (b && (b->out.len || b->full))
			return true;
	}
	return false;
}

static void read_conn(struct mcpd *r, struct conn *c)
{
	static uint8_t buf[READ_CHUNK];
	struct session *s = c->s;

	for (int i = 0; i < READS_PER_EVENT && c->s && !c->closed; i++) {
		ssize_t n;

		if (s->state != S_CLOSED && session_backpressured(s)) {
			mcpd_watch(r, c, c->events & ~EPOLLIN);
			return;
		}
		n = recv(c->h.fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			n = 0; /* reset: handled as a close */
		}
		if (n == 0) {
			c->closed = true;
			if (s->state == S_CLOSED) {
				session_free(r, s);
			} else if (c->peer == MCP_PEER_CLIENT) {
				pr_debug("session %u: client closed", s->id);
				session_end(r, s, -1, NULL);
				session_free(r, s);
			} else if (s->state == S_CLOSING) {
				session_check_closing_done(r, s);
			} else {
				backend_failed(r, c, "closed the connection");
			}
			return;
		}
		if (s->state == S_CLOSED)
			continue; /* lingering: the client's last bytes are read and dropped */
		if (c->peer == MCP_PEER_CLIENT)
			s->last_active_ms = mcp_now_ms();
		if (c->installed)
			datapath_on_read(r, c, (size_t)n);
		/* Bytes on an inline session's own sockets: the kernel handed it to mcpd (for
		 * good), which carries it from here as on the user path. */
		if (s->path == SESSION_PATH_INLINE) {
			pr_debug("session %u: from the inline path to mcpd", s->id);
			s->path = SESSION_PATH_MCPD;
		}
		conn_consume(r, c, buf, (size_t)n);
		/* Past the budget now, not at the next tick: a tick is long enough for forty
		 * sessions to queue 4 MiB each. */
		if (r->sessions->queued_bytes > r->cfg.max_queued_bytes &&
		    !r->sessions->budget_spared)
			sessions_within_budget(r, mcp_now_ms());
		if (!c->s || c->closed)
			return;
		if (mcp_decoder_idle(&c->dec))
			c->partial_since_ms = 0;
		else if (!c->partial_since_ms || session_backpressured(s))
			c->partial_since_ms = mcp_now_ms(); /* our hold is not the sender's delay */
		if ((size_t)n < sizeof(buf))
			return;
	}
}

void session_on_event(struct mcpd *r, struct handler *h, uint32_t events)
{
	struct conn *c = (struct conn *)h;

	if (!c->s)
		return;
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->h.fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (events & (EPOLLERR | EPOLLHUP))) {
			backend_failed(r, c, strerror(err ? err : ECONNREFUSED));
			return;
		}
		backend_connected(r, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_conn(r, c);
	if (c->s && (events & EPOLLOUT))
		session_flush(r, c);
}

/* Sources paused by backpressure read again once their destinations drained. */
static void resume_reading(struct mcpd *r, struct session *s)
{
	if (s->state == S_ERROR || session_backpressured(s))
		return;
	if (!s->client.closed && s->client.h.fd >= 0 && !(s->client.events & EPOLLIN))
		mcpd_watch(r, &s->client, s->client.events | EPOLLIN);
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *b = s->backends[slot];

		if (b && !b->closed && !b->connecting && !(b->events & EPOLLIN))
			mcpd_watch(r, b, b->events | EPOLLIN);
	}
}

/* Write what c holds. Called from the flush list and on EPOLLOUT. */
void session_flush(struct mcpd *r, struct conn *c)
{
	struct session *s = c->s;

	while (c->out.len && !c->closed && c->h.fd >= 0) {
		ssize_t n;

		if (c->installed && !datapath_can_write(r, c)) {
			r->pending_writes = true;
			return;
		}
		n = send(c->h.fd, c->out.data + c->out.head, c->out.len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!c->stalled_since_ms)
					c->stalled_since_ms = mcp_now_ms();
				mcpd_watch(r, c, c->events | EPOLLOUT);
				return;
			}
			c->closed = true;
			buf_free(&c->out);
			break;
		}
		c->daemon_written += (uint64_t)n;
		c->stalled_since_ms = 0;
		buf_consume(&c->out, (size_t)n);
	}
	if (c->h.fd >= 0 && !c->closed && !c->out.len && (c->events & EPOLLOUT) && !c->connecting)
		mcpd_watch(r, c, c->events & ~EPOLLOUT);
	resume_reading(r, s);

	/* Everything queued for the client is out: shut down and linger. */
	if (c == &s->client && s->state == S_CLOSED && !c->out.len) {
		datapath_linger(r, s);
		if (c->closed || c->h.fd < 0 || shutdown(c->h.fd, SHUT_WR)) {
			session_free(r, s);
			return;
		}
	}
	if (c->installed)
		datapath_publish(r, c);
}
