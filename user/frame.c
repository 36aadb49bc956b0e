// SPDX-License-Identifier: GPL-2.0-only
/*
 * The frame codec: headers and frames encoded and decoded whole, by the rules of
 * include/mcp/wire.h. Interface: frame.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

size_t mcp_frame_encode_header(uint8_t *buf, const struct mcp_frame *f)
{
	mcp_put_be32(buf + MCP_OFF_MAGIC, MCP_MAGIC);
	buf[MCP_OFF_VERSION] = f->version;
	buf[MCP_OFF_OPCODE] = f->opcode;
	put_be16(buf + MCP_OFF_LENGTH, f->length);
	if (f->version != MCP_VERSION_2)
		return MCP_HDR_V1_LEN;
	mcp_put_be32(buf + MCP_OFF_STREAM_ID, f->stream_id);
	mcp_put_be32(buf + MCP_OFF_SESSION, f->session);
	return MCP_HDR_V2_LEN;
}

ssize_t mcp_frame_encode(void *buf, size_t cap, const struct mcp_frame *f)
{
	size_t hlen;

	if (!mcp_version_ok(f->version, 0))
		return -EINVAL;
	hlen = mcp_hdr_len(f->version);
	if (cap < hlen + f->length)
		return -ENOSPC;
	mcp_frame_encode_header(buf, f);
	if (f->length)
		memcpy((uint8_t *)buf + hlen, f->payload, f->length);
	return (ssize_t)(hlen + f->length);
}

ssize_t mcp_frame_build(void *buf, size_t cap, uint8_t version, uint8_t opcode,
			uint32_t stream_id, uint32_t session, const void *payload, size_t len)
{
	struct mcp_frame f = {
		.version = version,
		.opcode = opcode,
		.length = (uint16_t)len,
		.stream_id = stream_id,
		.session = session,
		.payload = payload,
	};

	if (len > MCP_MAX_FRAME_LIMIT)
		return -EMSGSIZE;
	return mcp_frame_encode(buf, cap, &f);
}

void mcp_frame_fields(const uint8_t *h, struct mcp_frame *f)
{
	f->version = h[MCP_OFF_VERSION];
	f->opcode = h[MCP_OFF_OPCODE];
	f->length = mcp_hdr_length(h);
	f->stream_id = f->version == MCP_VERSION_2 ? mcp_be32_at(h + MCP_OFF_STREAM_ID) : 0;
	f->session = f->version == MCP_VERSION_2 ? mcp_be32_at(h + MCP_OFF_SESSION) : 0;
}

ssize_t mcp_frame_decode(const void *buf, size_t len, uint8_t want_version, uint32_t max_frame,
			 int peer, struct mcp_frame *f)
{
	const uint8_t *h = buf;
	size_t hlen;
	int check;

	if (len < MCP_HDR_V1_LEN)
		return 0;
	check = mcp_check_header(h, want_version, max_frame, peer);
	if (check != MCP_CHECK_OK)
		return -check;
	hlen = mcp_hdr_len(h[MCP_OFF_VERSION]);
	if (len < hlen + mcp_hdr_length(h))
		return 0;
	mcp_frame_fields(h, f);
	f->payload = h + hlen;
	return (ssize_t)(hlen + f->length);
}

const char *mcp_opcode_name(uint8_t op)
{
	switch (op) {
	case MCP_OP_GET:
		return "GET";
	case MCP_OP_SET:
		return "SET";
	case MCP_OP_SYNC:
		return "SYNC";
	case MCP_OP_DEL:
		return "DEL";
	case MCP_OP_HELLO:
		return "HELLO";
	case MCP_OP_HELLO_ACK:
		return "HELLO_ACK";
	case MCP_OP_PING:
		return "PING";
	case MCP_OP_PONG:
		return "PONG";
	case MCP_OP_CLOSE:
		return "CLOSE";
	case MCP_OP_ERROR:
		return "ERROR";
	}
	switch (mcp_opcode_class(op)) {
	case MCP_OPC_REQUEST:
		return "REQUEST";
	case MCP_OPC_RESPONSE:
		return "RESPONSE";
	}
	return "INVALID";
}

const char *mcp_check_name(int check)
{
	static const char *const names[MCP_CHECK__COUNT] = {
		[MCP_CHECK_OK] = "ok",
		[MCP_CHECK_BAD_MAGIC] = "bad_magic",
		[MCP_CHECK_BAD_VERSION] = "bad_version",
		[MCP_CHECK_BAD_OPCODE] = "bad_opcode",
		[MCP_CHECK_TOO_LARGE] = "too_large",
	};

	if (check < 0 || check >= MCP_CHECK__COUNT)
		return "unknown";
	return names[check];
}

const char *mcp_error_code_name(uint32_t code)
{
	static const char *const names[MCP_ERR__COUNT] = {
		[MCP_ERR_UNKNOWN] = "UNKNOWN",
		[MCP_ERR_BAD_MAGIC] = "BAD_MAGIC",
		[MCP_ERR_UNSUPPORTED_VERSION] = "UNSUPPORTED_VERSION",
		[MCP_ERR_NOT_NEGOTIATED] = "NOT_NEGOTIATED",
		[MCP_ERR_FRAME_TOO_LARGE] = "FRAME_TOO_LARGE",
		[MCP_ERR_UNKNOWN_OPCODE] = "UNKNOWN_OPCODE",
		[MCP_ERR_NO_ROUTE] = "NO_ROUTE",
		[MCP_ERR_BACKEND_UNAVAILABLE] = "BACKEND_UNAVAILABLE",
		[MCP_ERR_RATE_LIMITED] = "RATE_LIMITED",
		[MCP_ERR_SHUTTING_DOWN] = "SHUTTING_DOWN",
		[MCP_ERR_IDLE_TIMEOUT] = "IDLE_TIMEOUT",
		[MCP_ERR_PROTOCOL_VIOLATION] = "PROTOCOL_VIOLATION",
		[MCP_ERR_UNAUTHENTICATED] = "UNAUTHENTICATED",
		[MCP_ERR_PERMISSION_DENIED] = "PERMISSION_DENIED",
	};

	if (code >= MCP_ERR__COUNT)
		return "UNKNOWN";
	return names[code];
}

int mcp_parse_request_opcode(const char *text)
{
	static const struct {
		const char *name;
		int op;
	} names[] = { { "GET", MCP_OP_GET }, { "SET", MCP_OP_SET }, { "SYNC", MCP_OP_SYNC },
		      { "DEL", MCP_OP_DEL } };
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(text, names[i].name))
			return names[i].op;
	if (!*text)
		return -1;
	errno = 0;
	v = strtol(text, &end, 0);
	if (errno || *end || v < MCP_OP_REQUEST_MIN || v > MCP_OP_REQUEST_MAX)
		return -1;
	return (int)v;
}
