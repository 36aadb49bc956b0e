// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the token parser and verifier (user/token.c) on any bytes a HELLO may
 * carry. What verifies must say what a token may say (bounds), and must sign again, with the
 * same key, into a token that verifies to the same identity. Keys and time are fixed, as the
 * seeds in tests/fuzz/make_seeds.py were made with them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "token.h"

#define FUZZ_NOW 1796083200ull /* 2026-12-01 */

static const struct mcp_keyring *keys(void)
{
	static struct mcp_keyring kr;

	if (!kr.n) {
		kr.keys[0].id = 1;
		kr.keys[0].len = 32;
		memset(kr.keys[0].secret, 0x11, 32);
		kr.keys[1].id = 2;
		kr.keys[1].len = 16;
		memset(kr.keys[1].secret, 0x22, 16);
		kr.n = 2;
	}
	return &kr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_token t, again;
	uint8_t buf[MCP_TOKEN_MAX];
	int result = mcp_token_verify(data, size, keys(), FUZZ_NOW, &t);
	ssize_t n;

	if (result < 0 || result >= MCP_AUTH__COUNT)
		abort();
	if (size == 0 && result != MCP_AUTH_MISSING)
		abort();
	if (result != MCP_AUTH_OK)
		return 0;
	if (!t.client_id[0] || strlen(t.client_id) > MCP_CLIENT_ID_MAX || t.n_opcodes > 256 ||
	    t.n_pools > MCP_MAX_POOLS || t.expires_unix <= FUZZ_NOW)
		abort();
	n = mcp_token_sign(&t, mcp_keyring_find(keys(), t.key_id), buf, sizeof(buf));
	if (n <= 0 || mcp_token_verify(buf, (size_t)n, keys(), FUZZ_NOW, &again) != MCP_AUTH_OK ||
	    strcmp(again.client_id, t.client_id) || again.n_opcodes != t.n_opcodes ||
	    again.n_pools != t.n_pools || again.rate_fps != t.rate_fps ||
	    again.expires_unix != t.expires_unix)
		abort();
	/* One bit flipped anywhere: never the same identity with a valid signature. */
	buf[(size_t)t.expires_unix % (size_t)n] ^= 0x04;
	if (mcp_token_verify(buf, (size_t)n, keys(), FUZZ_NOW, &again) == MCP_AUTH_OK &&
	    !memcmp(&again, &t, sizeof(t)))
		abort();
	return 0;
}
