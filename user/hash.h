/* SPDX-License-Identifier: GPL-2.0-only */
/* FNV-1a over bytes, for mcpd's own hash tables (sources, UDP relays): not keyed, so never
 * for anything an attacker's choice of input could exploit beyond a longer chain. */
#ifndef MCP_HASH_H
#define MCP_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t mcp_fnv1a(uint32_t seed, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u ^ seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

#endif
