/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What one session's identity may do (docs/protocol.md, "Identity"), and the rule every data
 * path applies to each request frame with it: the verdicts in the kernel (bpf/lib/walk.h) and
 * mcpd (user/session_frames.c) include this header, so they cannot disagree.
 *
 * The kernel keeps one entry per restricted session in the pinned map
 *
 *   mcp_perms       HASH          session id -> struct mcp_perms   (mcpd writes it at HELLO;
 *                                                                  the verdicts take tokens)
 *   mcp_perm_stats  PERCPU_ARRAY  enum mcp_perm_verdict -> mcp_counter  frames the kernel
 *                                                                  handed to mcpd, by reason
 *
 * and the session's sockets carry MCP_SF_PERMS in their state (struct mcp_sock_state.flags),
 * so sessions without restrictions cost no lookup.
 */
#ifndef MCP_PERM_H
#define MCP_PERM_H

#include <linux/types.h>
#include "mcp/bucket.h"
#include "mcp/wire.h"

#define MCP_MAP_PERMS	   "mcp_perms"
#define MCP_MAP_PERM_STATS "mcp_perm_stats"

struct mcp_perms {
	__u64 opcodes[4]; /* bit op: the identity may send request opcode op */
	__u32 pools;	  /* bit p: its requests may reach pool p */
	__u32 rate_fps;	  /* request frames per second, a second's worth at once; 0: no limit */
	struct mcp_bucket bucket;
};

MCP_STATIC_ASSERT(sizeof(struct mcp_perms) == 56, "mcp_perms");

enum mcp_perm_verdict {
	MCP_PERM_ALLOW = 0,
	MCP_PERM_DENY_OPCODE, /* PERMISSION_DENIED: an opcode it may not send */
	MCP_PERM_DENY_POOL,   /* PERMISSION_DENIED: the opcode's pool is not one of its own */
	MCP_PERM_RATE,	      /* RATE_LIMITED: over rate_fps */
	MCP_PERM__COUNT,
};

static __always_inline int mcp_perm_opcode(const struct mcp_perms *p, __u8 op)
{
	return (p->opcodes[(op >> 6) & 3] >> (op & 63)) & 1;
}

static __always_inline void mcp_perm_allow_opcode(struct mcp_perms *p, __u8 op)
{
	p->opcodes[(op >> 6) & 3] |= 1ull << (op & 63);
}

/*
 * May a request with opcode `op`, routed to pool `pool`, go on at `now`, when `taken` frames
 * already judged and allowed in the same batch have not yet taken their tokens? The checks go
 * in this order, and mcpd's answer follows it: the opcode, the pool, the rate.
 */
static __always_inline __u32 mcp_perm_judge(const struct mcp_perms *p, __u8 op, __u32 pool,
					    __u64 now, __u32 taken)
{
	if (!mcp_perm_opcode(p, op))
		return MCP_PERM_DENY_OPCODE;
	if (pool >= 32 || !((p->pools >> pool) & 1))
		return MCP_PERM_DENY_POOL;
	if (p->rate_fps &&
	    mcp_bucket_level(&p->bucket, now, p->rate_fps, p->rate_fps) <
		    ((__u64)taken + 1) * MCP_NS_PER_TOKEN)
		return MCP_PERM_RATE;
	return MCP_PERM_ALLOW;
}

/* The tokens of n allowed frames, once they have certainly gone on. */
static __always_inline void mcp_perm_take(struct mcp_perms *p, __u64 now, __u32 n)
{
	if (p->rate_fps && n)
		mcp_bucket_take(&p->bucket, now, p->rate_fps, p->rate_fps, n);
}

/* Everything: every opcode, every pool, no rate. */
static __always_inline void mcp_perm_all(struct mcp_perms *p)
{
	__builtin_memset(p, 0, sizeof(*p));
	p->opcodes[0] = p->opcodes[1] = p->opcodes[2] = p->opcodes[3] = ~0ull;
	p->pools = ~0u;
}

/* A fresh bucket holds a second's worth. */
static __always_inline void mcp_perm_fill(struct mcp_perms *p, __u64 now)
{
	p->bucket.tokens_ns = (__u64)p->rate_fps * MCP_NS_PER_TOKEN;
	p->bucket.last_ns = now;
}

#endif
