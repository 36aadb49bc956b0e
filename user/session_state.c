// SPDX-License-Identifier: GPL-2.0-only
/* The session state machine's rules and the negotiation's (session_state.h). */
#include "session_state.h"

static const char *const state_names[S__COUNT] = {
	[S_IDLE] = "IDLE",	 [S_CONNECTING] = "CONNECTING", [S_CONNECTED] = "CONNECTED",
	[S_CLOSING] = "CLOSING", [S_ERROR] = "ERROR",		[S_CLOSED] = "CLOSED",
};

const char *session_state_name(int state)
{
	return state >= 0 && state < S__COUNT ? state_names[state] : "?";
}

bool session_transition_legal(int from, int to)
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

const uint32_t session_versions[2] = { MCP_VERSION_1, MCP_VERSION_2 };

int session_client_rule(int state, uint8_t opcode, int *code, const char **why)
{
	switch (state) {
	case S_IDLE:
		if (opcode == MCP_OP_HELLO)
			return CLIENT_HELLO;
		*code = MCP_ERR_NOT_NEGOTIATED;
		*why = "data before HELLO";
		return CLIENT_REFUSE;
	case S_CONNECTING:
		/* The client must wait for HELLO_ACK: anything else is NOT_NEGOTIATED. */
		*code = MCP_ERR_NOT_NEGOTIATED;
		*why = "frame before HELLO_ACK";
		return CLIENT_REFUSE;
	case S_CONNECTED:
		if (opcode == MCP_OP_HELLO) {
			*code = MCP_ERR_PROTOCOL_VIOLATION;
			*why = "second HELLO";
			return CLIENT_REFUSE;
		}
		return CLIENT_CARRY;
	default:
		return CLIENT_DROP;
	}
}

int session_read_hello(const struct mcp_frame *f, struct mcp_hello *h, const char **why)
{
	if (f->version != MCP_VERSION_1) {
		*why = "HELLO must carry a v1 header";
		return MCP_ERR_PROTOCOL_VIOLATION;
	}
	if (mcp_parse_hello(f->payload, f->length, h)) {
		*why = "malformed HELLO payload";
		return MCP_ERR_PROTOCOL_VIOLATION;
	}
	return 0;
}

int session_terms(const struct mcp_hello *h, uint32_t max_frame, struct session_terms *t,
		  const char **why)
{
	t->version = (uint8_t)mcp_pick_version(session_versions, 2, h->versions, h->n_versions);
	if (!t->version) {
		*why = "no common version; router speaks 1, 2";
		return MCP_ERR_UNSUPPORTED_VERSION;
	}
	/* What the client asks for narrows its own session only, and never below the floor. */
	t->max_frame = max_frame;
	if (h->max_frame && h->max_frame < t->max_frame)
		t->max_frame = h->max_frame < MCP_MAX_FRAME_FLOOR ? MCP_MAX_FRAME_FLOOR : h->max_frame;
	return 0;
}
