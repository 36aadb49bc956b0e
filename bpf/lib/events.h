/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reporting protocol violations to mcpd. A flood of bad packets must not turn into a flood of
 * events: each CPU reports at most MCP_EVENTS_PER_SEC events a second, and without waking
 * mcpd, which reads the ring once a second (enough for its per-second, per-source counts).
 */
#ifndef MCP_BPF_LIB_EVENTS_H
#define MCP_BPF_LIB_EVENTS_H

#include "maps/events.h"

static __always_inline void mcp_report(const struct mcp_event *ev)
{
	__u32 zero = 0;
	struct mcp_ev_budget *b = bpf_map_lookup_elem(&mcp_ev_budget, &zero);
	__u64 now;

	if (!b)
		return;
	now = bpf_ktime_get_ns();
	if (now - b->window_ns >= 1000000000ull) {
		b->window_ns = now;
		b->used = 0;
	}
	if (b->used >= MCP_EVENTS_PER_SEC)
		return;
	b->used++;
	bpf_ringbuf_output(&mcp_events, (void *)ev, sizeof(*ev), BPF_RB_NO_WAKEUP);
}

#endif
