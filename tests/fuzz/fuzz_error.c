// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: the ERROR parser, and a rebuild of what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "messages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_error e, again;
	uint8_t buf[MCP_HDR_V2_LEN + 4096];
	struct mcp_frame f;

	if (mcp_parse_error(data, size, &e) != 0)
		return 0;
	if (e.n_versions > MCP_HELLO_MAX_VERSIONS || strlen(e.message) > MCP_ERROR_MSG_MAX)
		abort();
	(void)mcp_error_code_name(e.code);
	ssize_t n = mcp_build_error(buf, sizeof(buf), 2, 7, &e);
	if (n < 0 || mcp_frame_decode(buf, (size_t)n, 2, 65535, MCP_PEER_ANY, &f) != n)
		abort();
	if (mcp_parse_error(f.payload, f.length, &again) != 0 || again.code != e.code ||
	    strcmp(again.message, e.message) != 0 || again.n_versions != e.n_versions)
		abort();
	return 0;
}
