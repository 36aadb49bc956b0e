/* SPDX-License-Identifier: GPL-2.0-only */
/* Whether a packet's source is in the blocklist (longest-prefix match, with expiry). */
#ifndef MCP_BPF_LIB_BLOCKLIST_H
#define MCP_BPF_LIB_BLOCKLIST_H

#include "lib/parse.h"
#include "maps/xdp.h"

static __always_inline int blocked(struct pkt *p)
{
	struct mcp_block *b;

	if (p->ip4) {
		struct mcp_lpm_v4 k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, &p->ip4->saddr, 4);
		b = bpf_map_lookup_elem(&mcp_block_v4, &k);
	} else if (p->ip6) {
		struct mcp_lpm_v6 k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, &p->ip6->saddr, 16);
		b = bpf_map_lookup_elem(&mcp_block_v6, &k);
	} else {
		return 0;
	}
	if (!b || (b->expires_ns && b->expires_ns < bpf_ktime_get_ns()))
		return 0;
	__sync_fetch_and_add(&b->hits, 1);
	return 1;
}

#endif
