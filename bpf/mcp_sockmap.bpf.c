// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TCP fast path: a verdict-only sockmap program (no stream parser, docs/kernel-notes.md,
 * notes 1-2). For each skb a fast-path socket receives, the walk (lib/walk.h) takes every MCP
 * frame header in it, and then the verdict acts on the whole skb:
 *
 *   - every frame goes to one peer socket (requests to their pool's backend, responses to
 *     the client): redirect the skb to that socket's egress;
 *   - every frame is a PING: rewrite them into PONGs and send the skb back where it came from;
 *   - anything else (control frames, frames for different places, a header cut by the end of
 *     the skb, a broken rule, no route, a backed-up target): pass it to mcpd, which forwards
 *     it, in order (lib/order.h).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lib/events.h"
#include "lib/order.h"
#include "lib/rewrite.h"
#include "lib/walk.h"

/* Tell mcpd's anomaly detector who sent a bad frame. */
static __always_inline void report_violation(struct __sk_buff *skb, __u32 check)
{
	struct mcp_event ev = { .origin = MCP_EV_SOCKMAP, .reason = (__u8)check };

	if (skb->family == 2 /* AF_INET */) {
		__u32 a = skb->remote_ip4;

		ev.family = 4;
		__builtin_memcpy(ev.addr, &a, 4);
	} else {
		__u32 a[4] = { skb->remote_ip6[0], skb->remote_ip6[1], skb->remote_ip6[2],
			       skb->remote_ip6[3] };

		ev.family = 6;
		__builtin_memcpy(ev.addr, a, 16);
	}
	mcp_report(&ev);
}

/* How long the frame in progress has been coming (mcpd closes slow senders). */
static __always_inline void note_partial(struct mcp_sock_state *st, const struct mcp_walk *w,
					 const struct mcp_order *o)
{
	if (mcp_framer_at_boundary(&st->fr))
		st->partial_ns = 0;
	else if (w->frames || o->at_boundary || !st->partial_ns)
		st->partial_ns = st->last_ns; /* a new frame began in this skb */
}

SEC("sk_skb")
int mcp_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct mcp_sock_state *st = bpf_map_lookup_elem(&mcp_sock_state, &cookie);
	struct mcp_rewrite rw;
	struct mcp_sock_key to;
	struct mcp_order o;
	struct mcp_walk w;
	__u64 *redir;

	if (!st) {
		mcp_count(&mcp_dp_stats, MCP_DP_PASS_UNKNOWN, skb->len);
		return SK_PASS;
	}
	st->bytes += skb->len;
	st->last_ns = bpf_ktime_get_ns();
	mcp_order_begin(&o, st);
	mcp_walk_init(&w, skb, st, skb->len);
	mcp_walk_run(&w);
	note_partial(st, &w, &o);

	if (w.reason == MCP_DP_PASS_INVALID)
		report_violation(skb, w.check);
	if (w.reason != MCP_DP_REDIRECT)
		return mcp_order_pass(st, &o, w.reason, w.len);
	if (!mcp_order_may_redirect(st, &o, cookie))
		return mcp_order_pass(st, &o, MCP_DP_PASS_CATCHUP, w.len);

	to.session = st->key.session;
	if (w.dest == MCP_DEST_SELF) {
		if (!o.at_boundary)
			return mcp_order_pass(st, &o, MCP_DP_PASS_MIXED, w.len);
		to.slot = st->key.slot; /* back where it came from */
	} else {
		to.slot = w.dest;
	}
	/* The kernel queues what it redirects without a bound: when mcpd sees the target's
	 * queue backed up, the skbs go to mcpd, whose own backpressure stops the sender. */
	if (bpf_map_lookup_elem(&mcp_sock_full, &to))
		return mcp_order_pass(st, &o, MCP_DP_PASS_BACKPRESSURE, w.len);
	/* Redirect first, rewrite after: if the target has gone (its socket is closing), mcpd
	 * gets the frames as the peer sent them, not PONGs it never sent. */
	if (bpf_sk_redirect_hash(skb, &mcp_socks, &to, 0) != SK_PASS)
		return mcp_order_pass(st, &o, MCP_DP_REDIRECT_FAIL, w.len);
	if (w.dest == MCP_DEST_SELF ||
	    (st->fr.version == MCP_VERSION_2 && st->fr.peer == MCP_PEER_CLIENT)) {
		rw = (struct mcp_rewrite){ .ctx = skb, .len = w.len, .session = st->key.session,
					   .version = st->fr.version,
					   .stamp = st->fr.peer == MCP_PEER_CLIENT };
		rw.off = o.at_boundary ? 0 : (o.skip0 < w.len ? o.skip0 : w.len);
		mcp_rewrite_run(&rw);
	}
	mcp_walk_commit(&w);
	MCP_SOCK_MODE(st) = MCP_MODE_FAST;
	redir = bpf_map_lookup_elem(&mcp_sock_redir, &to);
	if (redir)
		__sync_fetch_and_add(redir, w.len);
	mcp_count(&mcp_dp_stats, w.dest == MCP_DEST_SELF ? MCP_DP_PONG : MCP_DP_REDIRECT, w.len);
	mcp_count_n(&mcp_dp_stats, MCP_DP_STAT_FRAMES, w.frames, w.len);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
