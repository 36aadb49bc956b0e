/* SPDX-License-Identifier: GPL-2.0-only */
/* Reading the kernel's counters from the pinned maps (for mcpctl, mcpd and the tests). */
#ifndef MCP_KSTATS_H
#define MCP_KSTATS_H

#include <stdbool.h>
#include <stdint.h>
#include "stats.h"
#include "mcp/maps.h"
#include "mcp/xdp.h"

struct mcp_kstats {
	struct mcp_counter dp[MCP_DP__COUNT];		  /* by enum mcp_dp_reason */
	struct mcp_counter op[MCP_DIR__COUNT][256];	  /* by direction and opcode */
	struct mcp_counter xdp[MCP_XDP__COUNT];		  /* by enum mcp_xdp_reason */
	struct mcp_counter inl[MCP_INLINE__COUNT];	  /* by enum mcp_inline_reason */
	struct mcp_counter dp_frames, inl_frames;	  /* frames each verdict carried */
	int have_sockmap, have_xdp, have_inline;	  /* which maps were there */
};

/* Sum the per-CPU counters of the maps pinned in `root` (a pin_root). 0 when at least one set
 * of maps (the sockmap's or the XDP guard's) was there, else -errno. */
int mcp_kstats_read(const char *root, struct mcp_kstats *out);
/* The counters as metrics (stats.h): the fast path's when `sockmap`, the guard's when `xdp`. */
void mcp_kstats_collect(const struct mcp_kstats *k, bool sockmap, bool xdp, metric_fn fn,
			void *ctx);
/* Sum entries [0, n) of the per-CPU array of mcp_counter pinned as root/name into out[].
 * 0, or -errno. */
int mcp_kstats_sum(const char *root, const char *name, uint32_t n, struct mcp_counter *out);
/* The same for entries [first, first + n). */
int mcp_kstats_sum_at(const char *root, const char *name, uint32_t first, uint32_t n,
		      struct mcp_counter *out);
const char *mcp_dp_reason_name(int reason);
const char *mcp_inline_reason_name(int reason);
const char *mcp_xdp_reason_name(int reason);

#endif
