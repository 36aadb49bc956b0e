/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-source token buckets (rate per second, burst), and the admission of new sources to the
 * rate table at a rate of their own.
 */
#ifndef MCP_BPF_LIB_RATE_LIMIT_H
#define MCP_BPF_LIB_RATE_LIMIT_H

#include "lib/parse.h"
#include "maps/xdp.h"

/* MCP_XDP__COUNT when the source may go on, else the drop reason. */
static __always_inline __u32 rate_limit(struct pkt *p)
{
	__u32 zero = 0;
	struct mcp_xdp_cfg *cfg = bpf_map_lookup_elem(&mcp_xdp_cfg, &zero);
	struct mcp_bucket *b, fresh;
	__u64 now;

	if (!cfg || !cfg->rate_pps)
		return MCP_XDP__COUNT;
	now = bpf_ktime_get_ns();
	b = bpf_map_lookup_elem(&mcp_rate, &p->src);
	if (b)
		return mcp_bucket_take_one(b, now, cfg->rate_pps, cfg->burst) ? MCP_XDP__COUNT
								      : MCP_XDP_DROP_RATE;
	/* A new source: admitted to the table only at newsrc_pps, so a flood of spoofed
	 * sources cannot flush the table of the real ones faster than that. */
	if (cfg->newsrc_pps) {
		struct mcp_bucket *ns = bpf_map_lookup_elem(&mcp_newsrc, &zero);

		if (ns && !mcp_bucket_take_one(ns, now, cfg->newsrc_pps, cfg->newsrc_pps))
			return MCP_XDP_DROP_NEW_SOURCE;
	}
	fresh.last_ns = now;
	fresh.tokens_ns = (__u64)(cfg->burst ? cfg->burst - 1 : 0) * MCP_NS_PER_TOKEN;
	bpf_map_update_elem(&mcp_rate, &p->src, &fresh, BPF_ANY);
	return MCP_XDP__COUNT;
}

#endif
