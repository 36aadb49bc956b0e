/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Never reordering a socket's stream (docs/kernel-notes.md, note 4): only the verdict moves a
 * socket between FAST (chunks redirected in the kernel) and SLOW (chunks passed to mcpd). In
 * SLOW it counts the bytes it passes; mcpd writes how many of those it has forwarded into
 * mcp_sock_fwd (a map only mcpd writes). The verdict redirects again only when the two counts
 * are equal and the chunk starts on a frame boundary. At each FAST -> SLOW switch it records
 * where in a frame the passed bytes start (ep_skip, ep_dest), so mcpd's own decoder starts in
 * step with the kernel's.
 */
#ifndef MCP_BPF_LIB_ORDER_H
#define MCP_BPF_LIB_ORDER_H

#include "lib/counters.h"
#include "maps/sockmap.h"
#include "maps/stats.h"

/* What the socket's state was as the chunk began. */
struct mcp_order {
	__u32 skip0; /* payload bytes of a frame still to come */
	__u32 dest0; /* where that frame goes */
	__u32 at_boundary;
};

static __always_inline void mcp_order_begin(struct mcp_order *o, const struct mcp_sock_state *st)
{
	o->skip0 = st->fr.skip;
	o->dest0 = st->cur_dest;
	o->at_boundary = mcp_framer_at_boundary(&st->fr);
}

/* The chunk goes to mcpd (SK_PASS), for `reason`. */
static __always_inline int mcp_order_pass(struct mcp_sock_state *st, const struct mcp_order *o,
					  __u32 reason, __u32 len)
{
	if (MCP_SOCK_MODE(st) == MCP_MODE_FAST) {
		MCP_SOCK_MODE(st) = MCP_MODE_SLOW;
		st->episode++;
		st->ep_skip = o->skip0;
		st->ep_dest = o->dest0;
	}
	st->passed += len;
	mcp_count(&mcp_dp_stats, reason, len);
	return SK_PASS;
}

/* May this chunk be redirected, or must it follow what mcpd still has to forward? */
static __always_inline int mcp_order_may_redirect(const struct mcp_sock_state *st,
						  const struct mcp_order *o, __u64 cookie)
{
	__u64 *fwd;

	if (MCP_SOCK_MODE(st) != MCP_MODE_SLOW)
		return 1;
	fwd = bpf_map_lookup_elem(&mcp_sock_fwd, &cookie);
	return o->at_boundary && fwd && *fwd == st->passed;
}

#endif
