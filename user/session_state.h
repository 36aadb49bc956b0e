/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The session state machine (session_state.c): the states and which transitions are legal
 * (docs/protocol.md, "Session states"). Pure: no router, no I/O; unit-tested on its own.
 */
#ifndef MCP_SESSION_STATE_H
#define MCP_SESSION_STATE_H

#include <stdbool.h>

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

#endif
