// SPDX-License-Identifier: GPL-2.0-only
/*
 * The protobuf payloads of HELLO, HELLO_ACK and ERROR frames (proto/mcp.proto), built and
 * parsed with protobuf-c. Interface: messages.h.
 */
#include <errno.h>
#include <string.h>
#include "messages.h"
#include "mcp.pb-c.h"

/* The C enum and the protobuf enum are one list: keep them equal. */
#define SAME_CODE(name)                                                                        \
	_Static_assert((int)MCP_ERR_##name == (int)MCP__ERROR_CODE__ERROR_CODE_##name, #name)
SAME_CODE(UNKNOWN);
SAME_CODE(BAD_MAGIC);
SAME_CODE(UNSUPPORTED_VERSION);
SAME_CODE(NOT_NEGOTIATED);
SAME_CODE(FRAME_TOO_LARGE);
SAME_CODE(UNKNOWN_OPCODE);
SAME_CODE(NO_ROUTE);
SAME_CODE(BACKEND_UNAVAILABLE);
SAME_CODE(RATE_LIMITED);
SAME_CODE(SHUTTING_DOWN);
SAME_CODE(IDLE_TIMEOUT);
SAME_CODE(PROTOCOL_VIOLATION);
SAME_CODE(UNAUTHENTICATED);
SAME_CODE(PERMISSION_DENIED);

/* Write a header for a payload packed in place after it by `pack`. */
static ssize_t frame_around(void *buf, size_t cap, uint8_t version, uint8_t opcode,
			    uint32_t session, size_t packed_size,
			    size_t (*pack)(const void *msg, uint8_t *out), const void *msg)
{
	struct mcp_frame f = {
		.version = version,
		.opcode = opcode,
		.length = (uint16_t)packed_size,
		.session = session,
	};
	size_t hlen = mcp_hdr_len(version);

	if (packed_size > MCP_MAX_FRAME_LIMIT)
		return -EMSGSIZE;
	if (cap < hlen + packed_size)
		return -ENOSPC;
	mcp_frame_encode_header(buf, &f);
	pack(msg, (uint8_t *)buf + hlen);
	return (ssize_t)(hlen + packed_size);
}

static size_t pack_hello(const void *m, uint8_t *out)
{
	return mcp__hello__pack(m, out);
}

static size_t pack_hello_ack(const void *m, uint8_t *out)
{
	return mcp__hello_ack__pack(m, out);
}

static size_t pack_error(const void *m, uint8_t *out)
{
	return mcp__error__pack(m, out);
}

ssize_t mcp_build_hello(void *buf, size_t cap, const struct mcp_hello *h)
{
	Mcp__Hello m = MCP__HELLO__INIT;

	if (h->n_versions > MCP_HELLO_MAX_VERSIONS)
		return -EINVAL;
	m.n_versions = h->n_versions;
	m.versions = (uint32_t *)h->versions;
	m.client_id = (char *)h->client_id;
	m.max_frame = h->max_frame;
	m.heartbeat_ms = h->heartbeat_ms;
	if (h->token_len > sizeof(h->token))
		return -EINVAL;
	m.token.len = h->token_len;
	m.token.data = (uint8_t *)h->token;
	return frame_around(buf, cap, MCP_VERSION_1, MCP_OP_HELLO, 0, mcp__hello__get_packed_size(&m),
			    pack_hello, &m);
}

ssize_t mcp_build_hello_ack(void *buf, size_t cap, const struct mcp_hello_ack *a)
{
	Mcp__HelloAck m = MCP__HELLO_ACK__INIT;

	m.version = a->version;
	m.session_id = a->session_id;
	m.max_frame = a->max_frame;
	m.heartbeat_ms = a->heartbeat_ms;
	return frame_around(buf, cap, MCP_VERSION_1, MCP_OP_HELLO_ACK, 0,
			    mcp__hello_ack__get_packed_size(&m), pack_hello_ack, &m);
}

ssize_t mcp_build_error(void *buf, size_t cap, uint8_t version, uint32_t session,
			const struct mcp_error *e)
{
	Mcp__Error m = MCP__ERROR__INIT;

	if (e->n_versions > MCP_HELLO_MAX_VERSIONS || !mcp_version_ok(version, 0))
		return -EINVAL;
	m.code = (Mcp__ErrorCode)e->code;
	m.message = (char *)e->message;
	m.n_versions = e->n_versions;
	m.versions = (uint32_t *)e->versions;
	return frame_around(buf, cap, version, MCP_OP_ERROR, session,
			    mcp__error__get_packed_size(&m), pack_error, &m);
}

ssize_t mcp_build_error_simple(void *buf, size_t cap, uint8_t version, uint32_t session,
			       uint32_t code, const char *message)
{
	struct mcp_error e = { .code = code };

	strncpy(e.message, message ? message : "", MCP_ERROR_MSG_MAX);
	return mcp_build_error(buf, cap, version, session, &e);
}

ssize_t mcp_build_ping(void *buf, size_t cap, uint8_t version, uint32_t stream_id,
		       const void *payload, size_t len)
{
	return mcp_frame_build(buf, cap, version, MCP_OP_PING, stream_id, 0, payload, len);
}

ssize_t mcp_build_pong(void *buf, size_t cap, const struct mcp_frame *ping)
{
	struct mcp_frame pong = *ping;

	pong.opcode = mcp_answer_opcode(ping->opcode);
	return mcp_frame_encode(buf, cap, &pong);
}

ssize_t mcp_build_close(void *buf, size_t cap, uint8_t version, uint32_t session)
{
	return mcp_frame_build(buf, cap, version, MCP_OP_CLOSE, 0, session, NULL, 0);
}

static int copy_versions(uint32_t *dst, uint32_t *n_dst, const uint32_t *src, size_t n_src)
{
	if (n_src > MCP_HELLO_MAX_VERSIONS)
		return -EBADMSG;
	if (n_src)
		memcpy(dst, src, n_src * sizeof(*src));
	*n_dst = (uint32_t)n_src;
	return 0;
}

static int copy_string(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap)
		return -EBADMSG;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return 0;
}

int mcp_parse_hello(const void *payload, size_t len, struct mcp_hello *out)
{
	Mcp__Hello *m = mcp__hello__unpack(NULL, len, payload);
	int err;

	if (!m)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	err = copy_versions(out->versions, &out->n_versions, m->versions, m->n_versions);
	if (!err)
		err = copy_string(out->client_id, sizeof(out->client_id), m->client_id);
	out->max_frame = m->max_frame;
	out->heartbeat_ms = m->heartbeat_ms;
	if (m->token.len > sizeof(out->token)) {
		out->token_too_long = true; /* refused by whoever checks tokens, not a bad HELLO */
	} else if (m->token.len) {
		memcpy(out->token, m->token.data, m->token.len);
		out->token_len = (uint32_t)m->token.len;
	}
	mcp__hello__free_unpacked(m, NULL);
	return err;
}

int mcp_parse_hello_ack(const void *payload, size_t len, struct mcp_hello_ack *out)
{
	Mcp__HelloAck *m = mcp__hello_ack__unpack(NULL, len, payload);

	if (!m)
		return -EBADMSG;
	out->version = m->version;
	out->session_id = m->session_id;
	out->max_frame = m->max_frame;
	out->heartbeat_ms = m->heartbeat_ms;
	mcp__hello_ack__free_unpacked(m, NULL);
	return 0;
}

int mcp_parse_error(const void *payload, size_t len, struct mcp_error *out)
{
	Mcp__Error *m = mcp__error__unpack(NULL, len, payload);
	int err;

	if (!m)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->code = (uint32_t)m->code;
	err = copy_versions(out->versions, &out->n_versions, m->versions, m->n_versions);
	if (!err)
		err = copy_string(out->message, sizeof(out->message), m->message);
	mcp__error__free_unpacked(m, NULL);
	return err;
}

uint32_t mcp_pick_version(const uint32_t *ours, size_t n_ours, const uint32_t *theirs,
			  size_t n_theirs)
{
	uint32_t best = 0;

	for (size_t i = 0; i < n_ours; i++)
		for (size_t j = 0; j < n_theirs; j++)
			if (ours[i] == theirs[j] && ours[i] > best)
				best = ours[i];
	return best;
}
