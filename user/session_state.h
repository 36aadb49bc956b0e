/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The session state machine (session_state.c): the states, which transitions are legal, what
 * a client's frame means in each state, and the terms a HELLO negotiates (docs/protocol.md,
 * "Session states", "Version negotiation"). Pure: no router, no I/O; unit-tested on its own.
 */
#ifndef MCP_SESSION_STATE_H
#define MCP_SESSION_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "messages.h"

enum session_state {
	S_IDLE = 0,   /* accepted, waiting for HELLO */
	S_CONNECTING, /* negotiated, connecting to backends */
	S_CONNECTED,  /* data flows (fast path installed where it runs) */
	S_CLOSING,    /* CLOSE, drain: waiting for backends to finish */
	S_ERROR,      /* a protocol violation or backend failure: ERROR sent */
	S_CLOSED,     /* sockets shut; lingering until the peer has read everything */
	S__COUNT,
};

bool session_transition_legal(int from, int to);
const char *session_state_name(int state);

/* What a client's frame does in a session's state. */
enum client_rule {
	CLIENT_CARRY = 0, /* connected: mcpd routes, answers or handles it */
	CLIENT_HELLO,	  /* the HELLO that opens the session: negotiate */
	CLIENT_REFUSE,	  /* out of turn: ERROR *code with *why, and the session ends */
	CLIENT_DROP,	  /* closing: whatever follows CLOSE is dropped */
};
int session_client_rule(int state, uint8_t opcode, int *code, const char **why);

/* What mcpd speaks, highest last. */
extern const uint32_t session_versions[2];

/* The terms of a session, from its client's HELLO and the router's limit. */
struct session_terms {
	uint8_t version;    /* the highest both speak */
	uint32_t max_frame; /* the client's own if lower, never below MCP_MAX_FRAME_FLOOR */
};
/* A HELLO frame read and judged: 0 with the HELLO in *h and the terms in *t, or the ERROR code
 * that refuses it (PROTOCOL_VIOLATION: not a v1 header, or a malformed payload;
 * UNSUPPORTED_VERSION: no version in common) with *why. Identities are judged between the two
 * (auth.c), so the HELLO is read first and the terms asked for after: session_terms. */
int session_read_hello(const struct mcp_frame *f, struct mcp_hello *h, const char **why);
int session_terms(const struct mcp_hello *h, uint32_t max_frame, struct session_terms *t,
		  const char **why);

#endif
