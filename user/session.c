// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sessions: negotiation and the state machine (docs/protocol.md), backends, and the frames
 * mcpd itself handles. On the user data path every frame passes through here; on the BPF
 * path only what the verdict passes up does, and the same code handles it.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "anomaly.h"
#include "log.h"
#include "messages.h"
#include "router.h"

#define READ_CHUNK	(256 * 1024)
#define READS_PER_EVENT 4
#define OUT_HIGH	(4u << 20) /* stop reading a source while a destination holds this */
#define LINGER_MS	1000
#define CLOSE_WAIT_MS	2000

static const uint32_t our_versions[] = { MCP_VERSION_1, MCP_VERSION_2 };

static const char *const state_names[S__COUNT] = {
	[S_IDLE] = "IDLE",	     [S_CONNECTING] = "CONNECTING", [S_CONNECTED] = "CONNECTED",
	[S_CLOSING] = "CLOSING", [S_ERROR] = "ERROR",	    [S_CLOSED] = "CLOSED",
};

const char *session_state_name(int state)
{
	return state >= 0 && state < S__COUNT ? state_names[state] : "?";
}

static bool transition_legal(int from, int to)
{
	switch (from) {
	case S_IDLE:
		return to == S_CONNECTING || to == S_ERROR || to == S_CLOSED;
	case S_CONNECTING:
		return to == S_CONNECTED || to == S_ERROR || to == S_CLOSED;
	case S_CONNECTED:
		return to == S_CLOSING || to == S_ERROR || to == S_CLOSED;
	case S_CLOSING:
		return to == S_CLOSED || to == S_ERROR;
	case S_ERROR:
		return to == S_CLOSED;
	default:
		return false;
	}
}

int session_set_state(struct router *r, struct session *s, int next)
{
	if (!transition_legal(s->state, next)) {
		r->illegal_transitions++;
		pr_warn("session %u: illegal transition %s -> %s refused", s->id,
			session_state_name(s->state), session_state_name(next));
		return -1;
	}
	pr_debug("session %u: %s -> %s", s->id, session_state_name(s->state),
		 session_state_name(next));
	if (s->state == S_IDLE)
		list_unlink(&r->unneg, &s->unneg);
	s->state = next;
	return 0;
}

/* ---- output ---------------------------------------------------------------------------- */

static void conn_queue(struct router *r, struct conn *c, const void *p, size_t n)
{
	if (c->closed || c->h.fd < 0)
		return;
	if (buf_append(&c->out, p, n)) {
		pr_err("session %u: out of memory queueing %zu bytes", c->s->id, n);
		c->closed = true;
		return;
	}
	router_mark_dirty(r, c);
}

static void queue_error(struct router *r, struct session *s, int code, const char *msg)
{
	uint8_t buf[MCP_HDR_MAX_LEN + MCP_ERROR_MSG_MAX + 64];
	struct mcp_error e = { .code = (uint32_t)code };
	ssize_t n;

	snprintf(e.message, sizeof(e.message), "%s", msg ? msg : mcp_error_code_name(code));
	if (code == MCP_ERR_UNSUPPORTED_VERSION) {
		memcpy(e.versions, our_versions, sizeof(our_versions));
		e.n_versions = 2;
	}
	n = mcp_build_error(buf, sizeof(buf), s->version ? s->version : 1, s->id, &e);
	if (n > 0)
		conn_queue(r, &s->client, buf, (size_t)n);
	if (code >= 0 && code < MCP_ERR__COUNT)
		r->errors_sent[code]++;
}

static void queue_close(struct router *r, struct session *s, struct conn *c)
{
	uint8_t buf[MCP_HDR_MAX_LEN];
	ssize_t n = mcp_build_close(buf, sizeof(buf), s->version ? s->version : 1, s->id);

	if (n > 0)
		conn_queue(r, c, buf, (size_t)n);
}

/* Queue a frame for `to`, writing the session id into v2 requests bound for a backend. */
static void forward_frame(struct router *r, struct conn *to, const struct mcp_frame *f)
{
	struct mcp_frame copy = *f;
	uint8_t *t;
	size_t hlen;

	if (to->closed || to->h.fd < 0)
		return;
	if (to->peer == MCP_PEER_BACKEND && f->version == MCP_VERSION_2)
		copy.session = to->s->id;
	hlen = mcp_hdr_len(f->version);
	t = buf_reserve(&to->out, hlen + f->length);
	if (!t) {
		to->closed = true;
		return;
	}
	mcp_frame_encode_header(t, &copy);
	if (f->length)
		memcpy(t + hlen, f->payload, f->length);
	to->out.len += hlen + f->length;
	router_mark_dirty(r, to);
}

static void close_conn(struct router *r, struct conn *c)
{
	if (c->installed && r->dp.forget)
		r->dp.forget(r, c);
	if (c->h.fd >= 0) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->h.fd, NULL);
		close(c->h.fd);
		c->h.fd = -1;
	}
	c->closed = true;
	c->installed = false;
}

/* Close a backend now; its memory is freed at the end of the loop iteration (router.c). */
static void free_backend(struct router *r, struct session *s, int slot)
{
	struct conn *b = s->backends[slot];

	if (!b)
		return;
	close_conn(r, b);
	if (b->ready && r->health[slot - 1][b->backend].sessions)
		r->health[slot - 1][b->backend].sessions--;
	b->s = NULL;
	s->backends[slot] = NULL;
	b->next_dead = r->dead_conns;
	r->dead_conns = b;
}

/* ---- ending ---------------------------------------------------------------------------- */

static void close_backends(struct router *r, struct session *s)
{
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		free_backend(r, s, slot);
}

/* Everything for the client is queued: flush it, then shut down and linger (session_flush). */
static void finish(struct router *r, struct session *s)
{
	if (s->state == S_CLOSED)
		return;
	session_set_state(r, s, S_CLOSED);
	s->deadline_ms = mcp_now_ms() + LINGER_MS;
	router_mark_dirty(r, &s->client);
}

void session_end(struct router *r, struct session *s, int code, const char *msg)
{
	if (s->state == S_ERROR || s->state == S_CLOSED)
		return;
	if (code >= 0) {
		pr_info("session %u (%s): %s: %s", s->id, s->peer, mcp_error_code_name(code),
			msg ? msg : "");
		queue_error(r, s, code, msg);
		session_set_state(r, s, S_ERROR);
	}
	close_backends(r, s);
	finish(r, s);
}

/* An orderly end: CLOSE to every backend, wait for them, then CLOSE to the client. */
static void start_close(struct router *r, struct session *s)
{
	bool waiting = false;

	if (s->state != S_CONNECTED || session_set_state(r, s, S_CLOSING))
		return;
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *b = s->backends[slot];

		if (b && !b->closed && !b->close_seen) {
			queue_close(r, s, b);
			waiting = true;
		}
	}
	s->deadline_ms = mcp_now_ms() + CLOSE_WAIT_MS;
	if (!waiting) {
		queue_close(r, s, &s->client);
		close_backends(r, s);
		finish(r, s);
	}
}

static void check_closing_done(struct router *r, struct session *s)
{
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *b = s->backends[slot];

		if (b && !b->closed && !b->close_seen)
			return;
	}
	/* The client's CLOSE is answered once every backend's last response is queued. */
	queue_close(r, s, &s->client);
	close_backends(r, s);
	finish(r, s);
}

void session_shutdown(struct router *r, struct session *s)
{
	session_end(r, s, MCP_ERR_SHUTTING_DOWN, "the router is stopping");
}

/* Close a session now; its memory is freed at the end of the loop iteration (router.c). */
void session_free(struct router *r, struct session *s)
{
	if (s->dead)
		return;
	s->dead = true;
	list_unlink(&r->unneg, &s->unneg);
	if (r->dp.uninstall)
		r->dp.uninstall(r, s);
	close_backends(r, s);
	close_conn(r, &s->client);
	s->client.s = NULL;
	if (s->prev)
		s->prev->next = s->next;
	else
		r->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	r->n_sessions--;
	s->next = r->dead_sessions;
	r->dead_sessions = s;
	pr_debug("session %u closed", s->id);
}

/* ---- backends -------------------------------------------------------------------------- */

static void backend_failed(struct router *r, struct conn *b, const char *why);


static int connect_backend(struct router *r, struct session *s, int slot)
{
	uint64_t now = mcp_now_ms();
	int pool = slot - 1, one = 1;

	for (;;) {
		int i = router_pick_backend(r, pool, now, false), fd;
		const struct mcp_addr *a;
		struct conn *b;

		if (i < 0)
			return -1;
		a = &r->cfg.pools[pool].backends[i];
		fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			/* Our limit, not the backend's fault: say so, and mark nothing down. */
			pr_err("cannot open a backend connection: %s%s", strerror(errno),
			       errno == EMFILE ? " (raise the open-file limit: LimitNOFILE)" : "");
			return -1;
		}
		if (r->cfg.tcp_nodelay)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (const struct sockaddr *)&a->ss, a->len) && errno != EINPROGRESS) {
			if (errno == EADDRNOTAVAIL || errno == EAGAIN || errno == ENOBUFS ||
			    errno == ENOMEM) {
				pr_err("cannot connect to backend %s: %s (a shortage here, not the "
				       "backend's fault)", a->text, strerror(errno));
				close(fd);
				return -1;
			}
			pr_warn("backend %s (pool %s): %s; down for %u ms", a->text,
				r->cfg.pools[pool].name, strerror(errno), r->cfg.backend_down_ms);
			r->health[pool][i].down_until_ms = now + r->cfg.backend_down_ms;
			close(fd);
			continue;
		}
		b = calloc(1, sizeof(*b));
		if (!b) {
			close(fd);
			return -1;
		}
		b->h.kind = H_CONN;
		b->h.fd = fd;
		b->out.account = &r->queued_bytes;
		b->s = s;
		b->slot = slot;
		b->peer = MCP_PEER_BACKEND;
		b->backend = i;
		b->connecting = true;
		/* Until HELLO_ACK a backend speaks v1. mcpd talks to backends with its own limits,
		 * never with what a client asked for (a client asking for tiny frames once made
		 * every backend's HELLO_ACK "too large" and marked them all down). */
		mcp_decoder_init(&b->dec, MCP_VERSION_1, MCP_PEER_BACKEND, r->cfg.max_frame);
		s->backends[slot] = b;
		if (router_watch(r, b, EPOLLOUT)) {
			backend_failed(r, b, "epoll");
			return s->backends[slot] ? 0 : -1;
		}
		return 0;
	}
}

static void backend_failed(struct router *r, struct conn *b, const char *why)
{
	struct session *s = b->s;
	int slot = b->slot, pool = slot - 1;
	const struct mcp_addr *a = &r->cfg.pools[pool].backends[b->backend];
	bool setup = s->state == S_CONNECTING && !b->ready;

	if (setup) {
		/* Only a backend that cannot be reached is marked down. One that was reached but
		 * did not take this session's HELLO is not: the session's parameters (which a
		 * client chooses) may be the cause, and no client may take a backend from others. */
		if (b->connecting) {
			r->health[pool][b->backend].down_until_ms =
				mcp_now_ms() + r->cfg.backend_down_ms;
			pr_warn("backend %s (pool %s): %s; down for %u ms", a->text,
				r->cfg.pools[pool].name, why, r->cfg.backend_down_ms);
		} else {
			pr_warn("backend %s (pool %s): %s (session %u)", a->text,
				r->cfg.pools[pool].name, why, s->id);
		}
		free_backend(r, s, slot);
		/* Another backend of the pool, at most once round the pool per session. */
		if (++s->setup_failures <= (uint32_t)r->cfg.pools[pool].n_backends &&
		    connect_backend(r, s, slot) == 0)
			return;
		session_end(r, s, MCP_ERR_BACKEND_UNAVAILABLE, "no backend of the pool reachable");
		return;
	}
	char msg[160];

	snprintf(msg, sizeof(msg), "backend %s: %s", a->text, why);
	session_end(r, s, MCP_ERR_BACKEND_UNAVAILABLE, msg);
}

static void session_connected(struct router *r, struct session *s)
{
	struct mcp_hello_ack ack = { .version = s->version, .session_id = s->id,
				     .max_frame = s->max_frame, .heartbeat_ms = s->heartbeat_ms };
	uint8_t buf[64];
	ssize_t n;

	if (session_set_state(r, s, S_CONNECTED))
		return;
	s->client.dec.version = s->version;
	s->client.dec.max_frame = s->max_frame;
	if (r->dp.install && r->dp.install(r, s))
		pr_warn("session %u: fast path not installed; it stays on the user path", s->id);
	n = mcp_build_hello_ack(buf, sizeof(buf), &ack);
	if (n > 0)
		conn_queue(r, &s->client, buf, (size_t)n);
	s->last_active_ms = mcp_now_ms();
	pr_debug("session %u: connected, v%u", s->id, s->version);
}

static void start_backends(struct router *r, struct session *s)
{
	uint32_t used = mcp_config_pools_used(&r->cfg);

	s->pools = used;
	for (int pool = 0; pool < r->cfg.n_pools; pool++) {
		if (!(used & (1u << pool)))
			continue;
		if (connect_backend(r, s, pool + 1)) {
			char msg[128];

			snprintf(msg, sizeof(msg), "no backend of pool %s reachable",
				 r->cfg.pools[pool].name);
			session_end(r, s, MCP_ERR_BACKEND_UNAVAILABLE, msg);
			return;
		}
		s->backends_pending++;
	}
	s->deadline_ms = mcp_now_ms() + r->cfg.connect_timeout_ms;
	if (!s->backends_pending)
		session_connected(r, s);
}

static void backend_connected(struct router *r, struct conn *b)
{
	struct session *s = b->s;
	struct mcp_hello h = { .versions = { s->version }, .n_versions = 1,
			       .max_frame = r->cfg.max_frame, .heartbeat_ms = r->cfg.heartbeat_ms };
	uint8_t buf[256];
	ssize_t n;

	b->connecting = false;
	snprintf(h.client_id, sizeof(h.client_id), "mcpd-session-%u", s->id);
	n = mcp_build_hello(buf, sizeof(buf), &h);
	if (n > 0)
		conn_queue(r, b, buf, (size_t)n);
	router_watch(r, b, EPOLLIN);
}

/* ---- frames ---------------------------------------------------------------------------- */

static void on_hello(struct router *r, struct session *s, const struct mcp_frame *f)
{
	struct mcp_hello h;

	if (f->version != MCP_VERSION_1) {
		session_end(r, s, MCP_ERR_PROTOCOL_VIOLATION, "HELLO must carry a v1 header");
		return;
	}
	if (mcp_parse_hello(f->payload, f->length, &h)) {
		session_end(r, s, MCP_ERR_PROTOCOL_VIOLATION, "malformed HELLO payload");
		return;
	}
	snprintf(s->client_id, sizeof(s->client_id), "%s", h.client_id);
	s->version = (uint8_t)mcp_pick_version(our_versions, 2, h.versions, h.n_versions);
	if (!s->version) {
		session_end(r, s, MCP_ERR_UNSUPPORTED_VERSION, "no common version; router speaks 1, 2");
		return;
	}
	/* What the client asks for narrows its own session only, and never below the floor. */
	s->max_frame = r->cfg.max_frame;
	if (h.max_frame && h.max_frame < s->max_frame)
		s->max_frame = h.max_frame < MCP_MAX_FRAME_FLOOR ? MCP_MAX_FRAME_FLOOR : h.max_frame;
	s->heartbeat_ms = r->cfg.heartbeat_ms;
	if (session_set_state(r, s, S_CONNECTING))
		return;
	/* From here on the client must wait for HELLO_ACK: anything else is NOT_NEGOTIATED. */
	start_backends(r, s);
}

static void answer_ping(struct router *r, struct conn *c, const struct mcp_frame *f)
{
	struct mcp_frame pong = *f;

	pong.opcode = mcp_answer_opcode(f->opcode);
	forward_frame(r, c, &pong);
}

static int client_frame(struct router *r, struct conn *c, const struct mcp_frame *f)
{
	struct session *s = c->s;
	int cls = mcp_opcode_class(f->opcode);

	if (!c->installed) { /* on the fast path the kernel counts every frame */
		s->frames_in++;
		s->bytes_in += mcp_hdr_len(f->version) + f->length;
		anomaly_frame(r, MCP_DIR_TO_BACKEND, f->opcode);
	}
	switch (s->state) {
	case S_IDLE:
		if (f->opcode != MCP_OP_HELLO) {
			session_end(r, s, MCP_ERR_NOT_NEGOTIATED, "data before HELLO");
			return 1;
		}
		on_hello(r, s, f);
		return 0;
	case S_CONNECTING:
		session_end(r, s, MCP_ERR_NOT_NEGOTIATED, "frame before HELLO_ACK");
		return 1;
	case S_CONNECTED:
		break;
	default:
		return 0; /* closing: whatever follows CLOSE is dropped */
	}
	if (cls == MCP_OPC_REQUEST) {
		int slot = r->cfg.routes[f->opcode];
		struct conn *b = slot ? s->backends[slot] : NULL;

		if (!b || b->closed) {
			char msg[64];

			snprintf(msg, sizeof(msg), "no route for opcode 0x%02x", f->opcode);
			queue_error(r, s, MCP_ERR_NO_ROUTE, msg);
			return 0;
		}
		forward_frame(r, b, f);
		return 0;
	}
	switch (f->opcode) {
	case MCP_OP_PING:
		answer_ping(r, c, f);
		return 0;
	case MCP_OP_PONG:
		return 0;
	case MCP_OP_CLOSE:
		start_close(r, s);
		return 1;
	case MCP_OP_ERROR: {
		struct mcp_error e;

		if (!mcp_parse_error(f->payload, f->length, &e))
			pr_info("session %u: client sent ERROR %s: %s", s->id,
				mcp_error_code_name(e.code), e.message);
		session_end(r, s, -1, NULL);
		return 1;
	}
	case MCP_OP_HELLO:
		session_end(r, s, MCP_ERR_PROTOCOL_VIOLATION, "second HELLO");
		return 1;
	}
	session_end(r, s, MCP_ERR_UNKNOWN_OPCODE, "opcode not allowed from a client");
	return 1;
}

static int backend_frame(struct router *r, struct conn *b, const struct mcp_frame *f)
{
	struct session *s = b->s;

	if (!b->ready) {
		struct mcp_hello_ack ack;

		if (f->opcode != MCP_OP_HELLO_ACK || mcp_parse_hello_ack(f->payload, f->length, &ack) ||
		    ack.version != s->version) {
			backend_failed(r, b, "did not answer HELLO with a matching HELLO_ACK");
			return 1;
		}
		b->ready = true;
		b->dec.version = s->version;
		r->health[b->slot - 1][b->backend].sessions++;
		if (--s->backends_pending == 0 && s->state == S_CONNECTING)
			session_connected(r, s);
		return 0;
	}
	if (mcp_opcode_class(f->opcode) == MCP_OPC_RESPONSE) {
		if (!b->installed) {
			anomaly_frame(r, MCP_DIR_TO_CLIENT, f->opcode);
			s->frames_out++;
			s->bytes_out += mcp_hdr_len(f->version) + f->length;
		}
		forward_frame(r, &s->client, f);
		return 0;
	}
	switch (f->opcode) {
	case MCP_OP_PING:
		answer_ping(r, b, f);
		return 0;
	case MCP_OP_PONG:
		return 0;
	case MCP_OP_CLOSE:
		b->close_seen = true;
		if (s->state == S_CLOSING) {
			check_closing_done(r, s);
		} else if (s->state == S_CONNECTED) {
			/* The backend ends the session in order: so do we. */
			start_close(r, s);
		}
		return 1;
	case MCP_OP_ERROR: {
		struct mcp_error e = { 0 };
		char msg[MCP_ERROR_MSG_MAX + 32];

		mcp_parse_error(f->payload, f->length, &e);
		snprintf(msg, sizeof(msg), "backend sent ERROR %s: %s", mcp_error_code_name(e.code),
			 e.message);
		session_end(r, s, MCP_ERR_BACKEND_UNAVAILABLE, msg);
		return 1;
	}
	}
	backend_failed(r, b, "protocol violation (unexpected control frame)");
	return 1;
}

struct feed {
	struct router *r;
	struct conn *c;
};

static int on_frame(void *ctx, const struct mcp_frame *f)
{
	struct feed *fd = ctx;
	struct conn *c = fd->c;

	if (!c->s || c->s->state == S_ERROR || c->s->state == S_CLOSED)
		return 1;
	if (c->peer == MCP_PEER_CLIENT)
		return client_frame(fd->r, c, f);
	return backend_frame(fd->r, c, f);
}

/* Where raw bytes of a frame begun in the kernel go: a peer slot, or back to the sender. */
static struct conn *raw_destination(struct session *s, struct conn *from, uint32_t dest)
{
	if (dest == MCP_DEST_SELF)
		return from;
	if (dest == MCP_SLOT_CLIENT)
		return &s->client;
	if (dest <= MCP_MAX_POOLS)
		return s->backends[dest];
	return NULL;
}

static void decoder_failed(struct router *r, struct conn *c)
{
	struct session *s = c->s;
	char msg[128];

	snprintf(msg, sizeof(msg), "%s at stream byte %llu",
		 c->dec.error == MCP_DECODER_ENOMEM ? "out of memory" : mcp_check_name(c->dec.error),
		 (unsigned long long)c->dec.error_offset);
	if (c->peer == MCP_PEER_BACKEND) {
		backend_failed(r, c, msg);
		return;
	}
	/* On the fast path the kernel reported this one already (mcp_events). */
	if (!c->installed)
		anomaly_bad_frame(r, (struct sockaddr *)&s->peer_addr);
	/* Garbage instead of HELLO is BAD_MAGIC; before negotiation, any frame but HELLO
	 * is NOT_NEGOTIATED, whatever its header says. */
	if (s->state == S_IDLE && c->dec.error != MCP_CHECK_BAD_MAGIC)
		session_end(r, s, MCP_ERR_NOT_NEGOTIATED, msg);
	else
		session_end(r, s, mcp_check_error_code(c->dec.error), msg);
}

/* Bytes read from c: raw continuation first (BPF path), then the decoder. */
static void consume(struct router *r, struct conn *c, const uint8_t *p, size_t n)
{
	struct feed fd = { .r = r, .c = c };

	if (c->raw_left) {
		size_t k = n < c->raw_left ? n : c->raw_left;
		struct conn *to = raw_destination(c->s, c, c->raw_dest);

		if (to)
			conn_queue(r, to, p, k);
		c->raw_left -= (uint32_t)k;
		p += k;
		n -= k;
	}
	while (n && c->s && c->s->state != S_ERROR && c->s->state != S_CLOSED) {
		ssize_t used = mcp_decoder_feed(&c->dec, p, n, on_frame, &fd);

		if (used < 0) {
			decoder_failed(r, c);
			return;
		}
		p += used;
		n -= (size_t)used;
		if (c->closed)
			return;
	}
}

/* Would reading more from c pile up output its session cannot get rid of? */
static bool backpressured(struct session *s)
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
static bool holding(struct session *s)
{
	if (backpressured(s) || s->client.out.len || s->client.full ||
	    (!s->client.closed && !(s->client.events & EPOLLIN)))
		return true;
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *b = s->backends[slot];

		if (b && (b->out.len || b->full))
			return true;
	}
	return false;
}

static void read_conn(struct router *r, struct conn *c)
{
	static uint8_t buf[READ_CHUNK];
	struct session *s = c->s;

	for (int i = 0; i < READS_PER_EVENT && c->s && !c->closed; i++) {
		ssize_t n;

		if (s->state != S_CLOSED && backpressured(s)) {
			router_watch(r, c, c->events & ~EPOLLIN);
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
				check_closing_done(r, s);
			} else {
				backend_failed(r, c, "closed the connection");
			}
			return;
		}
		if (s->state == S_CLOSED)
			continue; /* lingering: the client's last bytes are read and dropped */
		if (c->peer == MCP_PEER_CLIENT)
			s->last_active_ms = mcp_now_ms();
		if (c->installed && r->dp.on_read)
			r->dp.on_read(r, c, (size_t)n);
		consume(r, c, buf, (size_t)n);
		/* Past the budget now, not at the next tick: a tick is long enough for forty
		 * sessions to queue 4 MiB each. */
		if (r->queued_bytes > r->cfg.max_queued_bytes)
			sessions_within_budget(r, mcp_now_ms());
		if (!c->s || c->closed)
			return;
		if (mcp_decoder_idle(&c->dec))
			c->partial_since_ms = 0;
		else if (!c->partial_since_ms || backpressured(s))
			c->partial_since_ms = mcp_now_ms(); /* our hold is not the sender's delay */
		if ((size_t)n < sizeof(buf))
			return;
	}
}

void session_on_event(struct router *r, struct conn *c, uint32_t events)
{
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
static void resume_reading(struct router *r, struct session *s)
{
	if (s->state == S_ERROR || backpressured(s))
		return;
	if (!s->client.closed && s->client.h.fd >= 0 && !(s->client.events & EPOLLIN))
		router_watch(r, &s->client, s->client.events | EPOLLIN);
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *b = s->backends[slot];

		if (b && !b->closed && !b->connecting && !(b->events & EPOLLIN))
			router_watch(r, b, b->events | EPOLLIN);
	}
}

/* Write what c holds. Called from the flush list and on EPOLLOUT. */
void session_flush(struct router *r, struct conn *c)
{
	struct session *s = c->s;

	while (c->out.len && !c->closed && c->h.fd >= 0) {
		ssize_t n;

		if (r->dp.can_write && c->installed && !r->dp.can_write(r, c)) {
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
				router_watch(r, c, c->events | EPOLLOUT);
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
		router_watch(r, c, c->events & ~EPOLLOUT);
	resume_reading(r, s);

	/* Everything queued for the client is out: shut down and linger. */
	if (c == &s->client && s->state == S_CLOSED && !c->out.len) {
		if (r->dp.uninstall)
			r->dp.uninstall(r, s);
		if (c->closed || c->h.fd < 0 || shutdown(c->h.fd, SHUT_WR)) {
			session_free(r, s);
			return;
		}
	}
	if (r->dp.publish && c->installed)
		r->dp.publish(r, c);
}

struct session *session_new(struct router *r, int fd, const struct sockaddr_storage *ss,
			    const char *peer)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->id = ++r->next_session_id;
	if (!s->id)
		s->id = ++r->next_session_id;
	s->state = S_IDLE;
	s->client.h.kind = H_CONN;
	s->client.h.fd = fd;
	s->client.out.account = &r->queued_bytes;
	s->client.s = s;
	s->client.slot = MCP_SLOT_CLIENT;
	s->client.peer = MCP_PEER_CLIENT;
	/* Before HELLO any header version parses; the state machine judges it. */
	mcp_decoder_init(&s->client.dec, 0, MCP_PEER_CLIENT, r->cfg.max_frame);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	s->peer_addr = *ss;
	s->last_active_ms = s->created_ms = mcp_now_ms();
	s->next = r->sessions;
	if (r->sessions)
		r->sessions->prev = s;
	r->sessions = s;
	r->n_sessions++;
	r->sessions_total++;
	list_append(&r->unneg, &s->unneg);
	if (router_watch(r, &s->client, EPOLLIN)) {
		session_free(r, s);
		return NULL;
	}
	return s;
}

void session_counters(struct router *r, struct session *s, struct session_counters *out)
{
	uint64_t f, b;

	out->frames_in = s->frames_in;
	out->bytes_in = s->bytes_in;
	out->frames_out = s->frames_out;
	out->bytes_out = s->bytes_out;
	if (!r->dp.priv)
		return;
	/* The kernel counts what each socket received: the client's is "in"... */
	if (!dp_bpf_sock_counters(r, &s->client, &f, &b)) {
		out->frames_in += f;
		out->bytes_in += b;
	}
	/* ... and what the backends' sockets received is on its way "out". */
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		if (s->backends[slot] && !dp_bpf_sock_counters(r, s->backends[slot], &f, &b)) {
			out->frames_out += f;
			out->bytes_out += b;
		}
}

/* What mcpd's buffers hold for a session (their capacity: that is what memory they take). */
static uint64_t session_held(const struct session *s)
{
	uint64_t n = s->client.out.cap + s->client.dec.body_cap;

	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		if (s->backends[slot])
			n += s->backends[slot]->out.cap + s->backends[slot]->dec.body_cap;
	return n;
}

/* Its queued output goes (the peer was not taking it), then its session ends. */
static void end_over_budget(struct router *r, struct session *s)
{
	buf_free(&s->client.out);
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		if (s->backends[slot])
			buf_free(&s->backends[slot]->out);
	r->limit_hits[LIMIT_QUEUED_BYTES]++;
	session_end(r, s, MCP_ERR_RATE_LIMITED,
		    "the router's buffers are full (max_queued_bytes) and this session held the most");
}

void sessions_within_budget(struct router *r, uint64_t now)
{
	uint64_t budget = r->cfg.max_queued_bytes;
	bool over = r->queued_bytes > budget;

	if (r->queued_bytes > r->queued_peak)
		r->queued_peak = r->queued_bytes;
	/* Over the budget: the largest holders end until the rest fit in three quarters. */
	while (over && r->queued_bytes > budget / 4 * 3) {
		struct session *worst = NULL;
		uint64_t most = 0;

		for (struct session *s = r->sessions; s; s = s->next) {
			uint64_t n = s->state == S_CLOSED || s->state == S_ERROR ? 0 : session_held(s);

			if (n > most) {
				most = n;
				worst = s;
			}
		}
		if (!worst)
			break;
		pr_warn("session %u (%s): ended, holding %llu of %llu queued bytes (max_queued_bytes "
			"%llu)", worst->id, worst->peer, (unsigned long long)most,
			(unsigned long long)r->queued_bytes, (unsigned long long)budget);
		end_over_budget(r, worst);
	}
	/* After a peak, the memory goes back to the system (glibc keeps freed heap otherwise). */
	if (r->queued_peak > (8u << 20) && r->queued_bytes < r->queued_peak / 4 &&
	    now > r->trimmed_ms + 1000) {
		malloc_trim(0);
		r->queued_peak = r->queued_bytes;
		r->trimmed_ms = now;
	}
}

void session_tick(struct router *r, struct session *s, uint64_t now)
{
	uint64_t last;

	if (r->dp.tick && s->state == S_CONNECTED)
		r->dp.tick(r, s);

	/* However it dribbles, a connection gets handshake_timeout_ms to complete its HELLO. */
	if (s->state == S_IDLE && now > s->created_ms + r->cfg.handshake_timeout_ms) {
		r->limit_hits[LIMIT_HANDSHAKE]++;
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
				struct conn *c = slot ? s->backends[slot] : &s->client;

				if (c && c->full && !c->stalled_since_ms)
					c->stalled_since_ms = now;
				if (c && !c->full && !c->out.len)
					c->stalled_since_ms = 0;
				if (c && c->stalled_since_ms &&
				    now > c->stalled_since_ms + r->cfg.stall_timeout_ms)
					stuck = c;
			}
			if (stuck) {
				/* A client that reads nothing is over the router's limits: RATE_LIMITED
				 * (docs/protocol.md), should it ever read again. */
				r->limit_hits[LIMIT_STALL]++;
				session_end(r, s,
					    stuck->peer == MCP_PEER_BACKEND ? MCP_ERR_BACKEND_UNAVAILABLE
									    : MCP_ERR_RATE_LIMITED,
					    stuck->peer == MCP_PEER_BACKEND
						    ? "the backend stopped reading (stall_timeout_ms)"
						    : "the client stopped reading (stall_timeout_ms)");
				break;
			}
		}
		/* A slow sender: part of a frame, and the rest not coming in time. */
		if (s->state == S_CONNECTED) {
			uint64_t since = s->client.partial_since_ms;

			if (r->dp.partial_since_ms) {
				uint64_t k = r->dp.partial_since_ms(r, &s->client);

				if (k && (!since || k < since))
					since = k;
			}
			if (backpressured(s) || !(s->client.events & EPOLLIN))
				since = 0; /* we stopped reading: the sender is not the slow one */
			if (since && now > since + r->cfg.partial_timeout_ms) {
				session_end(r, s, MCP_ERR_PROTOCOL_VIOLATION,
					    "a frame not completed within partial_timeout_ms");
				break;
			}
		}
		if (s->state == S_CONNECTED && holding(s))
			s->last_active_ms = now;
		last = s->last_active_ms;
		if (r->dp.last_active_ms) {
			uint64_t k = r->dp.last_active_ms(r, s);

			if (k > last)
				last = k;
		}
		if (now > last + r->cfg.idle_timeout_ms)
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
			queue_close(r, s, &s->client);
			close_backends(r, s);
			finish(r, s);
		}
		break;
	default:
		if (now > s->deadline_ms)
			session_free(r, s);
	}
}
