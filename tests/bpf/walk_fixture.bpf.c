// SPDX-License-Identifier: GPL-2.0-only
/*
 * The verdict's walk (bpf/lib/walk.h, the same header the verdict includes) run on a chunk
 * handed in by BPF_PROG_TEST_RUN, for tests/bpf/test_walk_bpf.c and tests/fuzz/fuzz_framer.c:
 * the packet is a 14-byte filler (test runs of XDP want an Ethernet-sized packet) and then the
 * chunk; the socket's state goes in and comes out through `walk_state`, the walk's verdict
 * through .bss. Each header taken is folded into `frames_hash` (opcode and length, in order),
 * so a test can compare the frames the kernel saw with those userspace decoded. A restricted
 * session's permissions are judged from mcp_perms, as the verdicts judge them.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/maps.h"

#define FILLER 14
#define MCP_WALK_LOAD(ctx, off, to, len) bpf_xdp_load_bytes(ctx, FILLER + (off), to, len)
#define MCP_WALK_ON_FRAME(st) fold_frame(st)

__u64 frames_hash;

static __always_inline void fold_frame(const struct mcp_sock_state *st);

#include "lib/walk.h"

static __always_inline void fold_frame(const struct mcp_sock_state *st)
{
	__u64 f = ((__u64)st->fr.hdr[MCP_OFF_OPCODE] << 16) | mcp_hdr_length(st->fr.hdr);

	frames_hash = frames_hash * 1000003 + f;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_sock_state);
} walk_state SEC(".maps");

__u32 out_dest;
__u32 out_reason;
__u32 out_check;
__s32 out_bad_at;
__u64 out_frames;
__u32 out_taken;

SEC("xdp")
int mcp_walk_fixture(struct xdp_md *ctx)
{
	__u32 zero = 0, len = ctx->data_end - ctx->data;
	struct mcp_sock_state *st = bpf_map_lookup_elem(&walk_state, &zero);
	struct mcp_walk w;

	if (!st || len < FILLER)
		return XDP_ABORTED;
	mcp_walk_init(&w, ctx, st, len - FILLER);
	mcp_walk_run(&w);
	out_dest = w.dest;
	out_reason = w.reason;
	out_check = w.check;
	out_bad_at = w.bad_at;
	out_frames = w.frames;
	out_taken = w.taken;
	/* As the verdicts do once a redirect is certain: the allowed requests' tokens. */
	if (w.reason == MCP_DP_REDIRECT)
		mcp_walk_commit(&w);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
