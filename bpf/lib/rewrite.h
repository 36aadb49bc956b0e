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

struct mcp_rewrite {
	struct __sk_buff *skb;
	__u32 off;
	__u32 len;
	__u32 session;
	__u8 version;
};

static long mcp_rewrite_step(__u32 i, void *ctx)
{
	struct mcp_rewrite *rw = ctx;
	__u32 hlen = mcp_hdr_len(rw->version);
	__u8 h[MCP_HDR_V1_LEN];

	if (rw->off + hlen > rw->len)
		return 1;
	if (bpf_skb_load_bytes(rw->skb, rw->off, h, sizeof(h)))
		return 1;
	if (h[MCP_OFF_OPCODE] == MCP_OP_PING) {
		__u8 pong = mcp_answer_opcode(MCP_OP_PING);

		bpf_skb_store_bytes(rw->skb, rw->off + MCP_OFF_OPCODE, &pong, 1, 0);
	} else if (hlen == MCP_HDR_V2_LEN) {
		__u8 s[4];

		mcp_put_be32(s, rw->session);
		bpf_skb_store_bytes(rw->skb, rw->off + MCP_OFF_SESSION, s, 4, 0);
	}
	rw->off += hlen + mcp_hdr_length(h);
	return 0;
}

static __always_inline void mcp_rewrite_run(struct mcp_rewrite *rw)
{
	bpf_loop(rw->len / MCP_HDR_V1_LEN + 1, mcp_rewrite_step, rw, 0);
}

#endif
