/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a frame goes, from the socket it came in on and its opcode: a peer slot (a request to
 * its pool's backend by mcp_routes, a response to the client), MCP_DEST_SELF for a PING
 * (answered in the kernel), or MCP_DEST_DAEMON with the reason mcpd must see it.
 */
#ifndef MCP_BPF_LIB_ROUTE_H
#define MCP_BPF_LIB_ROUTE_H

#include "mcp/maps.h"
#include "maps/routes.h"

/* *why: enum mcp_dp_reason when the frame goes to the daemon, else left alone. */
static __always_inline __u32 mcp_route(const struct mcp_sock_state *st, __u8 op, __u32 *why)
{
	int cls = mcp_opcode_class(op);

	if (op == MCP_OP_PING)
		return MCP_DEST_SELF;
	if (st->fr.peer == MCP_PEER_BACKEND) {
		if (cls == MCP_OPC_RESPONSE)
			return MCP_SLOT_CLIENT;
		*why = MCP_DP_PASS_CONTROL;
		return MCP_DEST_DAEMON;
	}
	if (cls == MCP_OPC_REQUEST) {
		__u32 key = op, *slot = bpf_map_lookup_elem(&mcp_routes, &key);

		if (slot && *slot)
			return *slot;
		*why = MCP_DP_PASS_NO_ROUTE;
	} else {
		*why = MCP_DP_PASS_CONTROL;
	}
	return MCP_DEST_DAEMON;
}

#endif
