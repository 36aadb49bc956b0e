/* SPDX-License-Identifier: GPL-2.0-only */
/* Counting into a per-CPU array of struct mcp_counter (include/mcp/maps.h). */
#ifndef MCP_BPF_LIB_COUNTERS_H
#define MCP_BPF_LIB_COUNTERS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/maps.h"

static __always_inline void mcp_count_n(void *map, __u32 idx, __u32 n, __u32 bytes)
{
	struct mcp_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->count += n;
		c->bytes += bytes;
	}
}

static __always_inline void mcp_count(void *map, __u32 idx, __u32 bytes)
{
	mcp_count_n(map, idx, 1, bytes);
}

#endif
