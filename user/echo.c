// SPDX-License-Identifier: GPL-2.0-only
/* The echo backend's answers (echo.h): what mcp-echo says to each frame. */
#include <stdio.h>
#include <string.h>
#include "echo.h"
#include "mcp/xdp.h"

static size_t error(const struct mcp_echo *e, int code, const char *msg, uint8_t *out, size_t cap)
{
	struct mcp_error err = { .code = (uint32_t)code };
	ssize_t n;

	snprintf(err.message, sizeof(err.message), "%s", msg);
	if (code == MCP_ERR_UNSUPPORTED_VERSION) {
		for (size_t i = 0; i < e->n_versions && i < MCP_HELLO_MAX_VERSIONS; i++)
			err.versions[i] = e->versions[i];
		err.n_versions = (uint32_t)(e->n_versions < MCP_HELLO_MAX_VERSIONS ? e->n_versions
									    : MCP_HELLO_MAX_VERSIONS);
	}
	n = mcp_build_error(out, cap, e->version ? e->version : MCP_VERSION_1, 0, &err);
	return n > 0 ? (size_t)n : 0;
}

size_t mcp_echo_answer(struct mcp_echo *e, const struct mcp_frame *f, uint8_t *out, size_t cap,
		       bool *close)
{
	ssize_t n = 0;

	*close = false;
	if (f->opcode == MCP_OP_HELLO) {
		struct mcp_hello h;
		struct mcp_hello_ack ack = { .session_id = e->session_id };

		*close = true;
		if (e->version || mcp_parse_hello(f->payload, f->length, &h))
			return error(e, MCP_ERR_PROTOCOL_VIOLATION, "bad or second HELLO", out, cap);
		ack.version = mcp_pick_version(e->versions, e->n_versions, h.versions, h.n_versions);
		if (!ack.version)
			return error(e, MCP_ERR_UNSUPPORTED_VERSION, "no common version", out, cap);
		ack.max_frame = h.max_frame ? h.max_frame : MCP_MAX_FRAME_DEFAULT;
		ack.heartbeat_ms = h.heartbeat_ms;
		n = mcp_build_hello_ack(out, cap, &ack);
		if (n <= 0)
			return 0;
		*close = false;
		e->version = (uint8_t)ack.version;
		return (size_t)n;
	}
	if (!e->version) {
		*close = true;
		return error(e, MCP_ERR_NOT_NEGOTIATED, "HELLO first", out, cap);
	}
	if (mcp_answer_opcode(f->opcode)) {
		struct mcp_frame r = *f;

		r.opcode = mcp_answer_opcode(f->opcode);
		n = mcp_frame_encode(out, cap, &r);
	} else if (f->opcode == MCP_OP_CLOSE) {
		*close = true;
		n = mcp_build_close(out, cap, f->version, f->session);
	} else if (f->opcode == MCP_OP_ERROR) {
		*close = true;
	}
	return n > 0 ? (size_t)n : 0; /* PONG: nothing */
}

size_t mcp_echo_broken(const struct mcp_echo *e, int check, uint8_t *out, size_t cap)
{
	return error(e, mcp_check_error_code(check), mcp_check_name(check), out, cap);
}

bool mcp_echo_datagram(const struct mcp_echo *e, uint8_t *d, size_t n)
{
	uint32_t verdict = mcp_udp_check(d, (uint32_t)n);
	bool spoken = false;

	for (size_t v = 0; v < e->n_versions; v++)
		spoken |= e->versions[v] == d[MCP_OFF_VERSION];
	if ((verdict != MCP_XDP_PASS_UDP && verdict != MCP_XDP_TX_PONG) || !spoken)
		return false;
	d[MCP_OFF_OPCODE] = mcp_answer_opcode(d[MCP_OFF_OPCODE]);
	return true;
}
