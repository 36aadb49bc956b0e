// SPDX-License-Identifier: GPL-2.0-only
/*
 * The frames mcpd handles itself, each way: negotiation (HELLO), routing a request by opcode,
 * PONG, CLOSE, ERROR, responses back to the client; and what it queues (ERROR, CLOSE, frames).
 */
#include <stdio.h>
#include "anomaly.h"
#include "auth.h"
#include "log.h"
#include "messages.h"
#include "perm_map.h"
#include "pools.h"
#include "mcpd.h"
#include "session_int.h"

struct feed {
	struct mcpd *r;
	struct conn *c;
};

void conn_queue(struct mcpd *r, struct conn *c, const void *p, size_t n)
{
	if (c->closed || c->h.fd < 0)
		return;
	if (buf_append(&c->out, p, n)) {
		pr_err("session %u: out of memory queueing %zu bytes", c->s->id, n);
		c->closed = true;
		return;
	}
	session_table_mark_dirty(r->sessions, c);
}

void session_queue_error(struct mcpd *r, struct session *s, int code, const char *msg)
{
	uint8_t buf[MCP_HDR_MAX_LEN + MCP_ERROR_MSG_MAX + 64];
	struct mcp_error e = { .code = (uint32_t)code };
	ssize_t n;

	snprintf(e.message, sizeof(e.message), "%s", msg ? msg : mcp_error_code_name(code));
	if (code == MCP_ERR_UNSUPPORTED_VERSION) {
		memcpy(e.versions, session_versions, sizeof(session_versions));
		e.n_versions = 2;
	}
	n = mcp_build_error(buf, sizeof(buf), s->version ? s->version : 1, s->id, &e);
	if (n > 0)
		conn_queue(r, &s->client, buf, (size_t)n);
	if (code >= 0 && code < MCP_ERR__COUNT)
		r->counters->errors_sent[code]++;
}

void session_queue_close(struct mcpd *r, struct session *s, struct conn *c)
{
	uint8_t buf[MCP_HDR_MAX_LEN];
	ssize_t n = mcp_build_close(buf, sizeof(buf), s->version ? s->version : 1, s->id);

	if (n > 0)
		conn_queue(r, c, buf, (size_t)n);
}

/* Queue a frame for `to`, writing the session id into v2 requests bound for a backend. */
static void forward_frame(struct mcpd *r, struct conn *to, const struct mcp_frame *f)
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
	session_table_mark_dirty(r->sessions, to);
}

static void on_hello(struct mcpd *r, struct session *s, const struct mcp_frame *f)
{
	struct session_terms t;
	struct auth_verdict v;
	struct mcp_hello h;
	const char *why;
	int code = session_read_hello(f, &h, &why);

	if (code) {
		session_end(r, s, code, why);
		return;
	}
	if (auth_hello(r->auth, &r->cfg, &h, mcp_now_ns(), &v)) {
		pr_info("session %u from %s: %s", s->id, s->peer, v.why);
		anomaly_auth_failure(r, (struct sockaddr *)&s->peer_addr);
		session_end(r, s, MCP_ERR_UNAUTHENTICATED, v.why);
		return;
	}
	snprintf(s->client_id, sizeof(s->client_id), "%s", v.client_id);
	s->auth = (uint8_t)v.kind;
	s->perms = v.perms;
	s->restricted = v.restricted;
	s->client_ref = auth_client_ref(r->auth, s->client_id, v.kind);
	code = session_terms(&h, r->cfg.max_frame, &t, &why);
	if (code) {
		session_end(r, s, code, why);
		return;
	}
	s->version = t.version;
	s->max_frame = t.max_frame;
	s->heartbeat_ms = r->cfg.heartbeat_ms;
	if (session_set_state(r, s, S_CONNECTING))
		return;
	session_start_backends(r, s);
}

static void answer_ping(struct mcpd *r, struct conn *c, const struct mcp_frame *f)
{
	struct mcp_frame pong = *f;

	pong.opcode = mcp_answer_opcode(f->opcode);
	forward_frame(r, c, &pong);
}

/* A request its identity may not send (now): answered, never forwarded; the session goes on. */
static int deny(struct mcpd *r, struct session *s, const struct mcp_frame *f, int verdict)
{
	const char *who = s->client_id[0] ? s->client_id : session_auth_name(s->auth);
	char msg[MCP_CLIENT_ID_MAX + 96];

	if (verdict == MCP_PERM_RATE) {
		s->rate_limited++;
		snprintf(msg, sizeof(msg), "over %u request frames/s for %s", s->perms.rate_fps, who);
	} else {
		s->denied++;
		snprintf(msg, sizeof(msg), "%s 0x%02x (%s) not allowed for %s",
			 verdict == MCP_PERM_DENY_POOL ? "the pool of opcode" : "opcode", f->opcode,
			 mcp_opcode_name(f->opcode), who);
	}
	auth_count_denial(r->auth, s->client_ref, verdict);
	session_queue_error(r, s, auth_denial_error(verdict), msg);
	return 0;
}

/* May a restricted session's request go to `pool` now? Its token is taken if so. On a kernel
 * path the kernel's copy of the bucket is the one both judge from; the rest of the rules never
 * change, so without a rate the copy in memory is enough (no system call per frame). */
static int judge(struct mcpd *r, struct session *s, uint8_t op, int pool)
{
	uint64_t now = mcp_now_ns();
	bool kernel = s->perms.rate_fps && s->perms_in_kernel &&
		      !perm_map_get(r->cfg.pin_root, s->id, &s->perms);
	int verdict = mcp_perm_judge(&s->perms, op, (uint32_t)pool, now, 0);

	if (verdict == MCP_PERM_ALLOW && s->perms.rate_fps) {
		mcp_perm_take(&s->perms, now, 1);
		if (kernel)
			perm_map_put(r->cfg.pin_root, s->id, &s->perms);
	}
	return verdict;
}

static int client_frame(struct mcpd *r, struct conn *c, const struct mcp_frame *f)
{
	struct session *s = c->s;
	int cls = mcp_opcode_class(f->opcode), code;
	const char *why;

	if (!c->installed) { /* on the fast path the kernel counts every frame */
		s->frames_in++;
		s->bytes_in += mcp_hdr_len(f->version) + f->length;
		anomaly_frame(r, MCP_DIR_TO_BACKEND, f->opcode);
	}
	switch (session_client_rule(s->state, f->opcode, &code, &why)) {
	case CLIENT_HELLO:
		on_hello(r, s, f);
		return 0;
	case CLIENT_REFUSE:
		session_end(r, s, code, why);
		return 1;
	case CLIENT_DROP:
		return 0;
	}
	if (cls == MCP_OPC_REQUEST) {
		int slot = r->cfg.routes[f->opcode];
		struct conn *b = slot ? s->backends[slot] : NULL;

		if (s->restricted && !mcp_perm_opcode(&s->perms, f->opcode))
			return deny(r, s, f, MCP_PERM_DENY_OPCODE);
		if (!b || b->closed) {
			char msg[64];

			snprintf(msg, sizeof(msg), "no route for opcode 0x%02x", f->opcode);
			session_queue_error(r, s, MCP_ERR_NO_ROUTE, msg);
			return 0;
		}
		if (s->restricted) {
			int verdict = judge(r, s, f->opcode, slot - 1);

			if (verdict != MCP_PERM_ALLOW)
				return deny(r, s, f, verdict);
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
		session_start_close(r, s);
		return 1;
	case MCP_OP_ERROR: {
		struct mcp_error e;

		if (!mcp_parse_error(f->payload, f->length, &e))
			pr_info("session %u: client sent ERROR %s: %s", s->id,
				mcp_error_code_name(e.code), e.message);
		session_end(r, s, -1, NULL);
		return 1;
	}
	}
	session_end(r, s, MCP_ERR_UNKNOWN_OPCODE, "opcode not allowed from a client");
	return 1;
}

static int backend_frame(struct mcpd *r, struct conn *b, const struct mcp_frame *f)
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
		b->dec.fr.version = s->version;
		pools_session_opened(r->pools, b->slot - 1, b->backend);
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
			session_check_closing_done(r, s);
		} else if (s->state == S_CONNECTED) {
			/* The backend ends the session in order: so do we. */
			session_start_close(r, s);
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

static int on_frame(void *ctx, const struct mcp_frame *f)
{
	struct feed *fd = ctx;
	struct conn *c = fd->c;

	if (!c->s || c->s->state == S_ERROR || c->s->state == S_CLOSED)
		return 1;
	if (c->s->state == S_CONNECTED)
		fd->r->sessions->frames_mcpd++; /* a frame mcpd carries itself (path_frames_total) */
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

static void decoder_failed(struct mcpd *r, struct conn *c)
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
void conn_consume(struct mcpd *r, struct conn *c, const uint8_t *p, size_t n)
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
