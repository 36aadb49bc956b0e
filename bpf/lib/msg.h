/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading and writing an sk_msg's bytes at any offset, for the walk and the rewrite: the
 * bytes asked for are pulled into one linear range (bpf_msg_pull_data, which leaves msg->data
 * at their start).
 */
#ifndef MCP_BPF_LIB_MSG_H
#define MCP_BPF_LIB_MSG_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/wire.h"

struct mcp_msg_cursor {
	struct sk_msg_md *msg;
};

/* A pointer to n (<= MCP_HDR_MAX_LEN) bytes at offset off, or NULL. Always through a pull:
 * an offset the program computed never becomes pointer arithmetic, which would make the
 * verifier track every offset exactly and never find two rounds of a loop alike. A pull
 * inside one scatterlist element moves msg->data and copies nothing. */
static __always_inline __u8 *mcp_msg_at(struct mcp_msg_cursor *c, __u32 off, __u32 n)
{
	if (bpf_msg_pull_data(c->msg, off, off + n, 0))
		return NULL;
	return c->msg->data;
}

/* A whole header (8 or 16 bytes) at off, into `to`. Anything else fails: a header cut by the
 * end of a write is not the inline path's (the session goes to mcpd), and constant-size copies
 * keep the verifier's work small. */
static __always_inline long mcp_msg_load(struct mcp_msg_cursor *c, __u32 off, __u8 *to, __u32 n)
{
	__u8 *p;

	if (n != MCP_HDR_V1_LEN && n != MCP_HDR_V2_LEN)
		return -1;
	if (bpf_msg_pull_data(c->msg, off, off + n, 0))
		return -1;
	p = c->msg->data;
	if (n == MCP_HDR_V2_LEN) {
		if (p + MCP_HDR_V2_LEN > (__u8 *)c->msg->data_end)
			return -1;
		__builtin_memcpy(to, p, MCP_HDR_V2_LEN);
	} else {
		if (p + MCP_HDR_V1_LEN > (__u8 *)c->msg->data_end)
			return -1;
		__builtin_memcpy(to, p, MCP_HDR_V1_LEN);
	}
	return 0;
}

static __always_inline long mcp_msg_store(struct mcp_msg_cursor *c, __u32 off, const __u8 *from,
					  __u32 n)
{
	__u8 *p = mcp_msg_at(c, off, n), *e;

	if (!p)
		return -1;
	e = c->msg->data_end;
	for (__u32 i = 0; i < 4; i++) {
		if (i >= n)
			break;
		if (p + i + 1 > e)
			return -1;
		p[i] = from[i];
	}
	return 0;
}

#endif
