// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's counters: read from the pinned maps (per-CPU values summed) and given as
 * metrics. Interface: kstats.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kstats.h"

const char *mcp_dp_reason_name(int reason)
{
	static const char *const names[MCP_DP__COUNT] = {
		[MCP_DP_REDIRECT] = "redirect",
		[MCP_DP_PONG] = "pong",
		[MCP_DP_PASS_CONTROL] = "pass_control",
		[MCP_DP_PASS_MIXED] = "pass_mixed",
		[MCP_DP_PASS_PARTIAL] = "pass_partial",
		[MCP_DP_PASS_CATCHUP] = "pass_catchup",
		[MCP_DP_PASS_NO_ROUTE] = "pass_no_route",
		[MCP_DP_PASS_INVALID] = "pass_invalid",
		[MCP_DP_PASS_MANY] = "pass_many",
		[MCP_DP_PASS_UNKNOWN] = "pass_unknown",
		[MCP_DP_REDIRECT_FAIL] = "redirect_fail",
		[MCP_DP_PASS_BACKPRESSURE] = "pass_backpressure",
		[MCP_DP_PASS_DENIED] = "pass_denied",
	};

	return reason >= 0 && reason < MCP_DP__COUNT ? names[reason] : "?";
}

const char *mcp_xdp_reason_name(int reason)
{
	static const char *const names[MCP_XDP__COUNT] = {
		[MCP_XDP_PASS_OTHER] = "pass_other",
		[MCP_XDP_PASS_UDP] = "pass_udp",
		[MCP_XDP_PASS_TCP] = "pass_tcp",
		[MCP_XDP_TX_PONG] = "tx_pong",
		[MCP_XDP_DROP_TRUNCATED] = "drop_truncated",
		[MCP_XDP_DROP_FRAGMENT] = "drop_fragment",
		[MCP_XDP_DROP_BAD_MAGIC] = "drop_bad_magic",
		[MCP_XDP_DROP_BAD_VERSION] = "drop_bad_version",
		[MCP_XDP_DROP_BAD_OPCODE] = "drop_bad_opcode",
		[MCP_XDP_DROP_BAD_LENGTH] = "drop_bad_length",
		[MCP_XDP_DROP_BLOCKED] = "drop_blocked",
		[MCP_XDP_DROP_RATE] = "drop_rate",
		[MCP_XDP_DROP_NEW_SOURCE] = "drop_new_source",
	};

	return reason >= 0 && reason < MCP_XDP__COUNT ? names[reason] : "?";
}

const char *mcp_inline_reason_name(int reason)
{
	static const char *const names[MCP_INLINE__COUNT] = {
		[MCP_INLINE_REDIRECT] = "redirect",
		[MCP_INLINE_PONG] = "pong",
		[MCP_INLINE_MCPD] = "mcpd",
		[MCP_INLINE_FALL_CONTROL] = "fall_control",
		[MCP_INLINE_FALL_INVALID] = "fall_invalid",
		[MCP_INLINE_FALL_NO_ROUTE] = "fall_no_route",
		[MCP_INLINE_FALL_PARTIAL] = "fall_partial",
		[MCP_INLINE_FALL_FLIGHT] = "fall_flight",
		[MCP_INLINE_FALL_GONE] = "fall_gone",
		[MCP_INLINE_NOT_OURS] = "not_ours",
		[MCP_INLINE_FALL_DENIED] = "fall_denied",
		[MCP_INLINE_FALL_UNREAD] = "fall_unread",
	};

	return reason >= 0 && reason < MCP_INLINE__COUNT ? names[reason] : "?";
}

int mcp_kstats_sum(const char *root, const char *name, uint32_t n, struct mcp_counter *out)
{
	return mcp_kstats_sum_at(root, name, 0, n, out);
}

int mcp_kstats_sum_at(const char *root, const char *name, uint32_t first, uint32_t n,
		      struct mcp_counter *out)
{
	char path[256];
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	struct mcp_counter *vals;

	if (ncpu <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals) {
		close(fd);
		return -ENOMEM;
	}
	for (uint32_t k = 0; k < n; k++) {
		uint32_t key = first + k;

		memset(&out[k], 0, sizeof(out[k]));
		if (bpf_map_lookup_elem(fd, &key, vals)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++) {
			out[k].count += vals[c].count;
			out[k].bytes += vals[c].bytes;
		}
	}
	free(vals);
	close(fd);
	return err;
}

int mcp_kstats_read(const char *root, struct mcp_kstats *out)
{
	int err = mcp_kstats_sum(root, MCP_MAP_DP_STATS, MCP_DP__COUNT, out->dp), xerr;

	if (!err)
		err = mcp_kstats_sum(root, MCP_MAP_OP_STATS, MCP_OP_STATS_ENTRIES, &out->op[0][0]);
	out->have_sockmap = !err;
	xerr = mcp_kstats_sum(root, MCP_MAP_XDP_STATS, MCP_XDP__COUNT, out->xdp);
	out->have_xdp = !xerr;
	out->have_inline = !mcp_kstats_sum(root, MCP_MAP_INLINE_STATS, MCP_INLINE__COUNT, out->inl);
	memset(&out->dp_frames, 0, sizeof(out->dp_frames));
	memset(&out->inl_frames, 0, sizeof(out->inl_frames));
	if (out->have_sockmap)
		mcp_kstats_sum_at(root, MCP_MAP_DP_STATS, MCP_DP_STAT_FRAMES, 1, &out->dp_frames);
	if (out->have_inline)
		mcp_kstats_sum_at(root, MCP_MAP_INLINE_STATS, MCP_INLINE_STAT_FRAMES, 1,
				  &out->inl_frames);
	return out->have_sockmap || out->have_xdp || out->have_inline ? 0 : err;
}

static const struct metric
	m_dp_skbs = { "fastpath_skbs_total", "counter",
		      "skbs the sockmap verdict handled, by what it did." },
	m_dp_bytes = { "fastpath_bytes_total", "counter",
		       "Bytes the sockmap verdict handled, by what it did." },
	m_frames = { "frames_total", "counter",
		     "Frames the fast path saw, by direction and opcode." },
	m_frame_bytes = { "frame_bytes_total", "counter",
			  "Frame bytes the fast path saw, by direction and opcode." },
	m_xdp = { "xdp_packets_total", "counter", "Packets the XDP guard judged, by reason." };

void mcp_kstats_collect(const struct mcp_kstats *k, bool sockmap, bool xdp, metric_fn fn,
			void *ctx)
{
	const struct metric *ms[2] = { &m_frames, &m_frame_bytes };
	char opcode[8];

	for (int i = 0; sockmap && k->have_sockmap && i < MCP_DP__COUNT; i++) {
		struct label l = { "reason", mcp_dp_reason_name(i) };

		fn(ctx, &m_dp_skbs, &l, 1, k->dp[i].count);
	}
	for (int i = 0; sockmap && k->have_sockmap && i < MCP_DP__COUNT; i++) {
		struct label l = { "reason", mcp_dp_reason_name(i) };

		fn(ctx, &m_dp_bytes, &l, 1, k->dp[i].bytes);
	}
	for (int which = 0; sockmap && k->have_sockmap && which < 2; which++)
		for (int d = 0; d < MCP_DIR__COUNT; d++)
			for (int op = 0; op < 256; op++) {
				struct label l[2] = {
					{ "direction", d == MCP_DIR_TO_BACKEND ? "to_backend" : "to_client" },
					{ "opcode", opcode },
				};

				if (!k->op[d][op].count)
					continue;
				snprintf(opcode, sizeof(opcode), "0x%02x", op);
				fn(ctx, ms[which], l, 2, which ? k->op[d][op].bytes : k->op[d][op].count);
			}
	for (int i = 0; xdp && k->have_xdp && i < MCP_XDP__COUNT; i++) {
		struct label l = { "reason", mcp_xdp_reason_name(i) };

		fn(ctx, &m_xdp, &l, 1, k->xdp[i].count);
	}
}
