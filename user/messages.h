/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Build and parse the control frames: HELLO, HELLO_ACK, ERROR (protobuf payloads, see
 * proto/mcp.proto) and PING, PONG, CLOSE (opaque payloads). Parsers copy into plain structs
 * with fixed bounds and reject malformed or out-of-bounds payloads with -EBADMSG.
 */
#ifndef MCP_MESSAGES_H
#define MCP_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "frame.h"

#define MCP_HELLO_MAX_VERSIONS 16
#define MCP_CLIENT_ID_MAX      128
#define MCP_ERROR_MSG_MAX      256
#define MCP_TOKEN_MAX	       1024 /* a HELLO's token, signature included */

struct mcp_hello {
	uint32_t versions[MCP_HELLO_MAX_VERSIONS];
	uint32_t n_versions;
	char client_id[MCP_CLIENT_ID_MAX + 1];
	uint32_t max_frame;    /* 0: no preference */
	uint32_t heartbeat_ms; /* 0: no preference */
	uint8_t token[MCP_TOKEN_MAX]; /* field 5, as it came (user/token.h checks it) */
	uint32_t token_len;	       /* 0: none */
	bool token_too_long;	       /* one came, over MCP_TOKEN_MAX: not kept */
};

struct mcp_hello_ack {
	uint32_t version;
	uint32_t session_id;
	uint32_t max_frame;
	uint32_t heartbeat_ms;
};

struct mcp_error {
	uint32_t code; /* enum mcp_error_code; unknown values are kept as they came */
	char message[MCP_ERROR_MSG_MAX + 1];
	uint32_t versions[MCP_HELLO_MAX_VERSIONS];
	uint32_t n_versions;
};

/* Builders write a whole frame into buf and return its size, or a negative errno. */
ssize_t mcp_build_hello(void *buf, size_t cap, const struct mcp_hello *h);
ssize_t mcp_build_hello_ack(void *buf, size_t cap, const struct mcp_hello_ack *a);
/* `version` is the session's header version (1 before negotiation); `session` goes in a v2 header. */
ssize_t mcp_build_error(void *buf, size_t cap, uint8_t version, uint32_t session,
			const struct mcp_error *e);
ssize_t mcp_build_error_simple(void *buf, size_t cap, uint8_t version, uint32_t session,
			       uint32_t code, const char *message);
ssize_t mcp_build_ping(void *buf, size_t cap, uint8_t version, uint32_t stream_id,
		       const void *payload, size_t len);
ssize_t mcp_build_pong(void *buf, size_t cap, const struct mcp_frame *ping);
ssize_t mcp_build_close(void *buf, size_t cap, uint8_t version, uint32_t session);

/* Parsers take a frame's payload. 0 on success, -EBADMSG on a malformed payload. */
int mcp_parse_hello(const void *payload, size_t len, struct mcp_hello *out);
int mcp_parse_hello_ack(const void *payload, size_t len, struct mcp_hello_ack *out);
int mcp_parse_error(const void *payload, size_t len, struct mcp_error *out);

/* The highest version present in both lists, 0 when there is none. */
uint32_t mcp_pick_version(const uint32_t *ours, size_t n_ours, const uint32_t *theirs,
			  size_t n_theirs);

#endif
