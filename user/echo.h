/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the reference echo backend answers (echo.c): HELLO with HELLO_ACK (the highest version
 * both speak), each request with its response (same payload, stream id and session), PING
 * with PONG, CLOSE with CLOSE; anything out of turn with an ERROR. mcp-echo serves it, around
 * its fault modes.
 */
#ifndef MCP_ECHO_H
#define MCP_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "messages.h"

struct mcp_echo {
	const uint32_t *versions; /* the versions this backend speaks */
	size_t n_versions;
	uint32_t session_id;	  /* what HELLO_ACK says */
	uint8_t version;	  /* negotiated; 0 before HELLO */
};

/* Room an answer to f may take. */
static inline size_t mcp_echo_room(const struct mcp_frame *f)
{
	size_t small = MCP_ERROR_MSG_MAX + 64;

	return MCP_HDR_MAX_LEN + (f->length > small ? f->length : small);
}

/* The answer to f, written to out (mcp_echo_room(f) bytes): its length, 0 for none. *close
 * says whether the connection ends once it is sent. */
size_t mcp_echo_answer(struct mcp_echo *e, const struct mcp_frame *f, uint8_t *out, size_t cap,
		       bool *close);
/* The answer to a stream that broke rule `check` (enum mcp_check): an ERROR, then close. */
size_t mcp_echo_broken(const struct mcp_echo *e, int check, uint8_t *out, size_t cap);
/* A UDP datagram of n bytes answered in place: true when it goes back, false when dropped. */
bool mcp_echo_datagram(const struct mcp_echo *e, uint8_t *d, size_t n);

#endif
