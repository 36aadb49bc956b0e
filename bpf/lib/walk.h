/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The verdict's walk over one chunk of a socket's stream (an skb): every frame header in it,
 * with the framer step of include/mcp/framer.h over the socket's state, so the walk goes on
 * across chunks exactly where the last one stopped. For each frame it checks the rules, counts
 * it and finds where it goes (lib/route.h); the result is the one destination of every frame
 * in the chunk, or the reason the chunk must go to mcpd instead.
 *
 * The bytes come through MCP_WALK_LOAD(ctx, off, to, len), which the program defines before it
 * includes this file (bpf_skb_load_bytes by default): the verdict reads an skb, the test
 * program (tests/bpf/walk_fixture.bpf.c) a packet handed in by BPF_PROG_TEST_RUN.
 */
#ifndef MCP_BPF_LIB_WALK_H
#define MCP_BPF_LIB_WALK_H

#include "mcp/framer.h"
#include "lib/counters.h"
#include "lib/route.h"
#include "maps/perms.h"
#include "maps/stats.h"

#ifndef MCP_WALK_LOAD
#define MCP_WALK_LOAD(ctx, off, to, len) bpf_skb_load_bytes(ctx, off, to, len)
#endif
/* Called with each header taken (whole and valid, in st->fr.hdr): a hook for tests. */
#ifndef MCP_WALK_ON_FRAME
#define MCP_WALK_ON_FRAME(st) do { } while (0)
#endif

struct mcp_walk {
	void *ctx;
	struct mcp_sock_state *st;
	__u32 off;    /* bytes of the chunk walked */
	__u32 len;    /* bytes in the chunk */
	__u32 dest;   /* common destination of every frame so far, MCP_DEST_NONE before one */
	__u32 reason; /* MCP_DP_REDIRECT, or the first reason to pass the chunk to mcpd */
	__u64 frames; /* headers taken in this chunk (after mcp_walk_run) */
	__u32 check;  /* MCP_DP_PASS_INVALID: the rule a header broke ... */
	__s32 bad_at; /* ... and where, in bytes from the chunk's start (< 0: in an earlier one) */
	/* Split mode (the inline verdict): the walk stops before the first frame that goes
	 * somewhere else than those before it, or whose header the chunk cuts, leaving the state
	 * at that frame's start; w->off is then the length of a run of frames for one place.
	 * MCP_WALK_REST: only the rest of the frame in progress, stopping before any header. */
	__u32 split;
	/* Restricted sessions (MCP_SF_PERMS): requests allowed in this chunk, whose tokens are
	 * taken (mcp_walk_commit) only once they have certainly gone on; the time judged at. */
	__u32 taken;
	__u64 now;
};

enum { MCP_WALK_WHOLE = 0, MCP_WALK_SPLIT = 1, MCP_WALK_REST = 2 };

static __always_inline void mcp_walk_init(struct mcp_walk *w, void *ctx,
					  struct mcp_sock_state *st, __u32 len)
{
	__builtin_memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	w->st = st;
	w->len = len;
	w->dest = MCP_DEST_NONE;
	w->reason = MCP_DP_REDIRECT;
}

/* The first reason to pass wins. */
static __always_inline void mcp_walk_pass(struct mcp_walk *w, __u32 reason)
{
	if (w->reason == MCP_DP_REDIRECT)
		w->reason = reason;
}

static __always_inline void mcp_walk_merge(struct mcp_walk *w, __u32 dest)
{
	if (w->dest == MCP_DEST_NONE)
		w->dest = dest;
	else if (w->dest != dest)
		mcp_walk_pass(w, MCP_DP_PASS_MIXED);
}

/* Split mode: put the frame whose header was just taken back (the run ends before it). */
static __always_inline int mcp_walk_stop_before(struct mcp_walk *w)
{
	w->st->fr.hdr_have = 0;
	w->st->fr.skip = 0;
	return 1;
}

/* May this request, routed to a pool, go on? (include/mcp/perm.h; no entry: mcpd judges.) */
static __always_inline __u32 mcp_walk_judge(struct mcp_walk *w, __u8 op, __u32 pool)
{
	__u32 session = w->st->key.session;
	struct mcp_perms *p = bpf_map_lookup_elem(&mcp_perms, &session);

	if (!w->now)
		w->now = bpf_ktime_get_ns();
	return p ? mcp_perm_judge(p, op, pool, w->now, w->taken) : MCP_PERM_DENY_OPCODE;
}

/* The frames judged in this chunk have gone on: their tokens are spent. */
static __always_inline void mcp_walk_commit(struct mcp_walk *w)
{
	__u32 session = w->st->key.session;
	struct mcp_perms *p;

	if (!w->taken)
		return;
	p = bpf_map_lookup_elem(&mcp_perms, &session);
	if (p)
		mcp_perm_take(p, w->now, w->taken);
}

/* A whole, valid header: route it, count it. 1 when the run ends before it (split mode). */
static __always_inline int mcp_walk_frame(struct mcp_walk *w)
{
	struct mcp_sock_state *st = w->st;
	__u8 op = st->fr.hdr[MCP_OFF_OPCODE];
	__u32 why = MCP_DP_REDIRECT, dest = mcp_route(st, op, &why), perm = MCP_PERM__COUNT;
	__u32 dir = st->fr.peer == MCP_PEER_CLIENT ? MCP_DIR_TO_BACKEND : MCP_DIR_TO_CLIENT;
	__u32 size = mcp_hdr_len(st->fr.version) + mcp_hdr_length(st->fr.hdr);

	/* A routed request of a restricted session: one its identity may send now? */
	if ((st->flags & MCP_SF_PERMS) && st->fr.peer == MCP_PEER_CLIENT &&
	    dest > MCP_SLOT_CLIENT && dest <= MCP_MAX_POOLS) {
		perm = mcp_walk_judge(w, op, dest - 1);
		if (perm != MCP_PERM_ALLOW) {
			why = MCP_DP_PASS_DENIED;
			dest = MCP_DEST_DAEMON;
		}
	}
	if (w->split && w->dest != MCP_DEST_NONE && dest != w->dest)
		return mcp_walk_stop_before(w);
	if (perm == MCP_PERM_ALLOW)
		w->taken++;
	else if (perm != MCP_PERM__COUNT)
		mcp_count(&mcp_perm_stats, perm, size);
	if (why != MCP_DP_REDIRECT)
		mcp_walk_pass(w, why);
	mcp_walk_merge(w, dest);
	st->cur_dest = dest;
	mcp_count(&mcp_op_stats, dir * 256 + op, size);
	st->frames++;
	MCP_WALK_ON_FRAME(st);
	return 0;
}

/* One framer step: a header (with what of its payload is here), or payload. 1 to stop. */
static long mcp_walk_step(__u32 i, void *ctx)
{
	struct mcp_walk *w = ctx;
	struct mcp_framer *fr = &w->st->fr;
	__u32 avail, n, have;
	struct mcp_step s;

	if (w->off >= w->len)
		return 1;
	avail = w->len - w->off;
	have = fr->hdr_have;
	n = mcp_framer_need(fr, avail);
	if (n && w->split == MCP_WALK_REST)
		return 1;
	if (n) {
		/* The header started in an earlier chunk, which went to mcpd: so does this one. */
		if (have)
			mcp_walk_pass(w, MCP_DP_PASS_PARTIAL);
		/* The verifier wants the copy's bounds in the registers it sees. */
		have &= MCP_HDR_MAX_LEN - 1;
		n &= 2 * MCP_HDR_MAX_LEN - 1;
		if (n == 0 || n > MCP_HDR_MAX_LEN - have ||
		    MCP_WALK_LOAD(w->ctx, w->off, fr->hdr + have, n)) {
			/* An skb's bytes are always there; an sk_msg's loader takes whole headers
			 * only: the run ends before this one, or it is cut and goes to mcpd. */
			if (!w->split)
				mcp_walk_pass(w, MCP_DP_PASS_MANY);
			else if (!w->off)
				mcp_walk_pass(w, MCP_DP_PASS_PARTIAL);
			return 1;
		}
	}
	mcp_framer_step(fr, n, avail, &s);
	switch (s.event) {
	case MCP_STEP_BAD:
		if (w->split && w->off)
			return mcp_walk_stop_before(w);
		w->reason = MCP_DP_PASS_INVALID;
		w->check = s.check;
		w->bad_at = (__s32)w->off - (__s32)have + s.at;
		return 1;
	case MCP_STEP_PARTIAL:
		/* Cut by the end of the chunk: where it goes is not known yet. */
		if (w->split && w->off)
			return mcp_walk_stop_before(w);
		mcp_walk_pass(w, MCP_DP_PASS_PARTIAL);
		break;
	case MCP_STEP_HEADER:
		if (mcp_walk_frame(w))
			return 1;
		break;
	default: /* the payload of the frame in progress goes where its header went */
		mcp_walk_merge(w, w->st->cur_dest);
	}
	w->off += s.used;
	return 0;
}

/* Walk the whole chunk. Every step takes a header or the rest of a payload, so a chunk has at
 * most len / MCP_HDR_V1_LEN + 2 of them: the walk always reaches its end, and the state stays
 * in step with the stream whatever is decided about the chunk. */
static __always_inline void mcp_walk_run(struct mcp_walk *w)
{
	__u64 frames0 = w->st->frames;

	bpf_loop(w->len / MCP_HDR_V1_LEN + 2, mcp_walk_step, w, 0);
	/* Counted in the map, not in w: a count the verifier knows (a constant on the stack each
	 * time round) would keep it from ever finding two rounds of the loop alike. */
	w->frames = w->st->frames - frames0;
	if ((w->off < w->len && w->reason != MCP_DP_PASS_INVALID && !w->split) ||
	    w->frames > MCP_FRAMES_PER_SKB)
		mcp_walk_pass(w, MCP_DP_PASS_MANY);
	if (w->dest == MCP_DEST_DAEMON)
		mcp_walk_pass(w, MCP_DP_PASS_CONTROL);
}

#endif
