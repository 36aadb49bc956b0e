/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The second pass over a chunk the verdict redirects, from its first frame boundary: each PING
 * becomes its PONG (mcp_answer_opcode), and a v2 request gets the session id stamped into its
 * header. Only whole headers are rewritten: a redirected chunk holds whole frames, save a
 * payload continued from the chunk before.
 */
#ifndef MCP_BPF_LIB_REWRITE_H
#define MCP_BPF_LIB_REWRITE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/wire.h"

/* How the bytes are read and written: an skb's by default (the program may define its own,
 * as the inline verdict does for an sk_msg). */
#ifndef MCP_REWRITE_LOAD
#define MCP_REWRITE_LOAD(ctx, off, to, len) bpf_skb_load_bytes(ctx, off, to, len)
#define MCP_REWRITE_STORE(ctx, off, from, len) bpf_skb_store_bytes(ctx, off, from, len, 0)
#endif

struct mcp_rewrite {
	void *ctx;
	__u32 off;
	__u32 len;
	__u32 session;
	__u8 version;
	__u8 stamp; /* write the session into v2 headers (requests from a client) */
};

static long mcp_rewrite_step(__u32 i, void *ctx)
{
	struct mcp_rewrite *rw = ctx;
	__u32 hlen = mcp_hdr_len(rw->version);
	__u8 h[MCP_HDR_V1_LEN];

	if (rw->off + hlen > rw->len)
		return 1;
	if (MCP_REWRITE_LOAD(rw->ctx, rw->off, h, sizeof(h)))
		return 1;
	if (h[MCP_OFF_OPCODE] == MCP_OP_PING) {
		__u8 pong = mcp_answer_opcode(MCP_OP_PING);

		MCP_REWRITE_STORE(rw->ctx, rw->off + MCP_OFF_OPCODE, &pong, 1);
	} else if (hlen == MCP_HDR_V2_LEN && rw->stamp) {
		__u8 s[4];

		mcp_put_be32(s, rw->session);
		MCP_REWRITE_STORE(rw->ctx, rw->off + MCP_OFF_SESSION, s, 4);
	}
	rw->off += hlen + mcp_hdr_length(h);
	return 0;
}

static __always_inline void mcp_rewrite_run(struct mcp_rewrite *rw)
{
	bpf_loop(rw->len / MCP_HDR_V1_LEN + 1, mcp_rewrite_step, rw, 0);
}

#endif
