// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: the HELLO and HELLO_ACK parsers, and a rebuild of what they accept. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "messages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_hello h, again;
	struct mcp_hello_ack ack;
	uint8_t buf[MCP_HDR_V1_LEN + 4096 + MCP_TOKEN_MAX];
	struct mcp_frame f;

	(void)mcp_parse_hello_ack(data, size, &ack);
	if (mcp_parse_hello(data, size, &h) != 0)
		return 0;
	if (h.n_versions > MCP_HELLO_MAX_VERSIONS || strlen(h.client_id) > MCP_CLIENT_ID_MAX)
		abort();
	/* What parses must build, decode and parse to the same thing. */
	ssize_t n = mcp_build_hello(buf, sizeof(buf), &h);
	if (n < 0 || mcp_frame_decode(buf, (size_t)n, 1, 65535, MCP_PEER_CLIENT, &f) != n)
		abort();
	if (mcp_parse_hello(f.payload, f.length, &again) != 0 ||
	    again.n_versions != h.n_versions || strcmp(again.client_id, h.client_id) != 0 ||
	    again.max_frame != h.max_frame || again.heartbeat_ms != h.heartbeat_ms ||
	    again.token_len != h.token_len || memcmp(again.token, h.token, h.token_len))
		abort();
	(void)mcp_pick_version((const uint32_t[]){ 1, 2 }, 2, h.versions, h.n_versions);
	return 0;
}
