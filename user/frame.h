/* SPDX-License-Identifier: GPL-2.0-only */
/* Encoding and decoding of single MCP frames (v1 and v2) in a contiguous buffer. */
#ifndef MCP_FRAME_H
#define MCP_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "mcp/wire.h"

struct mcp_frame {
	uint8_t version;
	uint8_t opcode;
	uint16_t length;     /* payload bytes */
	uint32_t stream_id;  /* v2 only; 0 in v1 */
	uint32_t session;    /* v2 only; 0 in v1 */
	const uint8_t *payload;
};

/* Write a header for `f` (its payload is not copied). Returns the header length. */
size_t mcp_frame_encode_header(uint8_t *buf, const struct mcp_frame *f);

/*
 * Write header and payload. Returns the frame's total size, -ENOSPC if `cap` is too small,
 * -EINVAL for a version the protocol does not have.
 */
ssize_t mcp_frame_encode(void *buf, size_t cap, const struct mcp_frame *f);

/* Convenience: encode a frame from its fields. */
ssize_t mcp_frame_build(void *buf, size_t cap, uint8_t version, uint8_t opcode,
			uint32_t stream_id, uint32_t session, const void *payload, size_t len);

/*
 * Decode the frame at the start of `buf`, checked with the rules of mcp/wire.h.
 * Returns the frame's total size (> 0) and fills `f` (payload points into `buf`),
 * 0 when `buf` does not yet hold the whole frame, or -(enum mcp_check) when a rule is broken.
 */
ssize_t mcp_frame_decode(const void *buf, size_t len, uint8_t want_version, uint32_t max_frame,
			 int peer, struct mcp_frame *f);

const char *mcp_opcode_name(uint8_t op);
const char *mcp_check_name(int check);
const char *mcp_error_code_name(uint32_t code);

/* The fields of a whole header (checked already) into f; the payload is the caller's. */
void mcp_frame_fields(const uint8_t *h, struct mcp_frame *f);
/* Parse an opcode name (GET, SET, SYNC, DEL) or number (5, 0x05) of a request. -1 if none. */
int mcp_parse_request_opcode(const char *text);

#endif
