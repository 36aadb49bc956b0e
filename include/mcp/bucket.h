/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A token bucket, for the kernel and mcpd alike: the XDP guard's per-source rates and each
 * identity's rate_fps. Tokens are kept in units of 1e-9 token so that refilling is a
 * multiplication, never a division (`rate` tokens per second, elapsed nanoseconds). Times are
 * CLOCK_MONOTONIC nanoseconds: bpf_ktime_get_ns() in the kernel, clock_gettime() in mcpd, so
 * both sides may take from one bucket.
 */
#ifndef MCP_BUCKET_H
#define MCP_BUCKET_H

#include <linux/types.h>
#include "mcp/wire.h"

#define MCP_NS_PER_TOKEN 1000000000ull
#define MCP_RATE_MAX	 100000000u /* per second; above it a rate is taken as this */

struct mcp_bucket {
	__u64 tokens_ns; /* tokens, in units of 1e-9 token */
	__u64 last_ns;
};

MCP_STATIC_ASSERT(sizeof(struct mcp_bucket) == 16, "mcp_bucket");

/* What the bucket holds at `now` (it refills at `rate`, up to `burst` tokens), in 1e-9
 * tokens. A gap of over 10 s fills it, so the product below cannot overflow. */
static __always_inline __u64 mcp_bucket_level(const struct mcp_bucket *b, __u64 now, __u32 rate,
					      __u32 burst)
{
	__u64 cap = (__u64)(burst ? burst : 1) * MCP_NS_PER_TOKEN, elapsed = now - b->last_ns;
	__u64 tokens = b->tokens_ns;

	if (rate > MCP_RATE_MAX)
		rate = MCP_RATE_MAX;
	if (now < b->last_ns)
		elapsed = 0;
	if (elapsed > 10 * MCP_NS_PER_TOKEN)
		tokens = cap;
	else
		tokens += elapsed * rate;
	return tokens > cap ? cap : tokens;
}

/* Take n tokens, or as many as are there: the level is brought to `now` either way. */
static __always_inline void mcp_bucket_take(struct mcp_bucket *b, __u64 now, __u32 rate,
					    __u32 burst, __u32 n)
{
	__u64 tokens = mcp_bucket_level(b, now, rate, burst), want = (__u64)n * MCP_NS_PER_TOKEN;

	b->tokens_ns = tokens > want ? tokens - want : 0;
	b->last_ns = now;
}

/* Take one token: 1 when there was one. */
static __always_inline int mcp_bucket_take_one(struct mcp_bucket *b, __u64 now, __u32 rate,
					       __u32 burst)
{
	__u64 tokens = mcp_bucket_level(b, now, rate, burst);

	b->last_ns = now;
	if (tokens < MCP_NS_PER_TOKEN) {
		b->tokens_ns = tokens;
		return 0;
	}
	b->tokens_ns = tokens - MCP_NS_PER_TOKEN;
	return 1;
}

#endif
