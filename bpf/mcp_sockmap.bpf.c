// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TCP fast path: a verdict-only sockmap program (no stream parser, docs/kernel-notes.md, notes 1-2).
 *
 * For each skb a fast-path socket receives, the verdict walks every MCP frame header inside
 * it, keeping per-socket state across skbs (bytes left of the current frame, a partial
 * header), checks each header against the session's negotiated rules, counts it, and then
 * acts on the whole skb:
 *
 *   - every frame goes to one peer socket (requests to their pool's backend, responses to
 *     the client): redirect the skb to that socket's egress;
 *   - every frame is a PING: rewrite them into PONGs and send the skb back where it came from;
 *   - anything else (control frames, frames for different places, a header cut by the end of
 *     the skb, a broken rule, no route): pass it to the daemon, which forwards it.
 *
 * Ordering (docs/kernel-notes.md, note 4): only this program moves a socket between FAST and SLOW. In SLOW
 * it counts the bytes it passes; mcpd writes how many of those it has forwarded into
 * mcp_sock_fwd (a map only mcpd writes). The verdict redirects again only when the two
 * counts are equal and the skb starts on a frame boundary. At each FAST -> SLOW switch it
 * records where in a frame the passed bytes start (ep_skip, ep_dest), so the daemon's own
 * decoder starts in step with the kernel's.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/wire.h"
#include "mcp/maps.h"
#include "mcp_events.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_sock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct mcp_sock_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_sock_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, __u64);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_sock_fwd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_sock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_sock_redir SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_sock_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_sock_full SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCP_OP_STATS_ENTRIES);
	__type(key, __u32);
	__type(value, struct mcp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_op_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCP_DP__COUNT);
	__type(key, __u32);
	__type(value, struct mcp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_dp_stats SEC(".maps");

struct walk {
	struct __sk_buff *skb;
	struct mcp_sock_state *st;
	__u32 off;
	__u32 len;
	__u32 dest;   /* common destination of every frame so far */
	__u32 reason; /* a reason to pass, or MCP_DP_REDIRECT */
	__u32 frames;
	__u32 session; /* for the rewrite pass */
	__u32 check;   /* the rule a frame broke */
};

static __always_inline void count(void *map, __u32 idx, __u32 bytes)
{
	struct mcp_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->count++;
		c->bytes += bytes;
	}
}

static __always_inline void merge_dest(struct walk *w, __u32 dest)
{
	if (w->dest == MCP_DEST_NONE)
		w->dest = dest;
	else if (w->dest != dest && w->reason == MCP_DP_REDIRECT)
		w->reason = MCP_DP_PASS_MIXED;
}

/* Where a frame goes: a peer slot, MCP_DEST_SELF, or MCP_DEST_DAEMON. */
static __always_inline __u32 frame_dest(struct walk *w, __u8 op)
{
	int cls = mcp_opcode_class(op);

	if (op == MCP_OP_PING)
		return MCP_DEST_SELF;
	if (w->st->role == MCP_PEER_BACKEND)
		return cls == MCP_OPC_RESPONSE ? MCP_SLOT_CLIENT : MCP_DEST_DAEMON;
	if (cls == MCP_OPC_REQUEST) {
		__u32 key = op, *slot = bpf_map_lookup_elem(&mcp_routes, &key);

		if (slot && *slot)
			return *slot;
		if (w->reason == MCP_DP_REDIRECT)
			w->reason = MCP_DP_PASS_NO_ROUTE;
	} else if (w->reason == MCP_DP_REDIRECT) {
		w->reason = MCP_DP_PASS_CONTROL;
	}
	return MCP_DEST_DAEMON;
}

/* A whole header is in h: check it, count it, and account for the frame it starts. */
static __always_inline int take_header(struct walk *w, const __u8 *h, __u32 hdr_bytes_here)
{
	struct mcp_sock_state *st = w->st;
	__u32 hlen = mcp_hdr_len(st->version), flen, here, dest, dir;
	int check = mcp_check_header(h, st->version, st->max_frame, st->role);

	if (check != MCP_CHECK_OK) {
		w->reason = MCP_DP_PASS_INVALID;
		w->check = check;
		return 1;
	}
	flen = mcp_hdr_length(h);
	dest = frame_dest(w, h[MCP_OFF_OPCODE]);
	merge_dest(w, dest);
	dir = st->role == MCP_PEER_CLIENT ? MCP_DIR_TO_BACKEND : MCP_DIR_TO_CLIENT;
	count(&mcp_op_stats, dir * 256 + h[MCP_OFF_OPCODE], hlen + flen);
	w->frames++;
	st->frames++;

	/* The payload: all of it here, or the rest comes in later skbs. */
	here = w->len - w->off;
	if (here >= flen) {
		w->off += flen;
	} else {
		st->skip = flen - here;
		st->cur_dest = dest;
		w->off = w->len;
	}
	(void)hdr_bytes_here;
	return 0;
}

/* One step of the walk: one frame, or the end of the skb. Returns 1 to stop. */
static long walk_frame(__u32 i, void *ctx)
{
	struct walk *w = ctx;
	struct mcp_sock_state *st = w->st;
	__u32 hlen = mcp_hdr_len(st->version), rem;
	__u8 h[MCP_HDR_MAX_LEN];

	if (w->off >= w->len || w->reason == MCP_DP_PASS_INVALID)
		return 1;
	rem = w->len - w->off;
	if (rem < hlen) {
		/* The header is cut by the end of the skb: keep its bytes for the next one. */
		__u32 n = rem & (MCP_HDR_MAX_LEN - 1);

		if (n == 0 || bpf_skb_load_bytes(w->skb, w->off, st->hdr, n))
			return 1;
		st->hdr_have = n;
		if (w->reason == MCP_DP_REDIRECT)
			w->reason = MCP_DP_PASS_PARTIAL;
		w->off = w->len;
		return 1;
	}
	if (hlen == MCP_HDR_V2_LEN) {
		if (bpf_skb_load_bytes(w->skb, w->off, h, MCP_HDR_V2_LEN))
			return 1;
	} else if (bpf_skb_load_bytes(w->skb, w->off, h, MCP_HDR_V1_LEN)) {
		return 1;
	}
	w->off += hlen;
	return take_header(w, h, hlen);
}

/* The skb starts inside a frame: its rest goes where the frame's start went. */
static __always_inline int continue_frame(struct walk *w)
{
	struct mcp_sock_state *st = w->st;
	__u32 hlen = mcp_hdr_len(st->version);

	if (st->hdr_have) {
		/* Finish a header cut by the previous skb, assembling it in st->hdr. */
		__u32 have = st->hdr_have & (MCP_HDR_MAX_LEN - 1);
		__u32 need = hlen > have ? hlen - have : 0;
		__u32 n = (need < w->len ? need : w->len) & (MCP_HDR_MAX_LEN - 1);
		__u8 h[MCP_HDR_MAX_LEN];

		if (n == 0 || have + n > MCP_HDR_MAX_LEN ||
		    bpf_skb_load_bytes(w->skb, 0, st->hdr + have, n))
			return 1;
		/* The header started in a passed skb, so this one goes to the daemon too. */
		w->reason = MCP_DP_PASS_PARTIAL;
		w->off = n;
		if (n < need) {
			st->hdr_have = have + n;
			return 1;
		}
		st->hdr_have = 0;
		__builtin_memcpy(h, st->hdr, MCP_HDR_MAX_LEN);
		return take_header(w, h, n);
	}
	if (st->skip) {
		__u32 n = st->skip < w->len ? st->skip : w->len;

		merge_dest(w, st->cur_dest);
		st->skip -= n;
		w->off = n;
	}
	return 0;
}

/* Second pass over a redirected skb: PING -> PONG, or the session id into v2 requests. */
static long rewrite_frame(__u32 i, void *ctx)
{
	struct walk *w = ctx;
	__u32 hlen = mcp_hdr_len(w->st->version);
	__u8 h[MCP_HDR_V1_LEN];

	if (w->off + hlen > w->len)
		return 1;
	if (bpf_skb_load_bytes(w->skb, w->off, h, sizeof(h)))
		return 1;
	if (h[MCP_OFF_OPCODE] == MCP_OP_PING) {
		__u8 pong = mcp_answer_opcode(MCP_OP_PING);

		bpf_skb_store_bytes(w->skb, w->off + MCP_OFF_OPCODE, &pong, 1, 0);
	} else if (hlen == MCP_HDR_V2_LEN) {
		__be32 s = __builtin_bswap32(w->session);

		bpf_skb_store_bytes(w->skb, w->off + MCP_OFF_SESSION, &s, 4, 0);
	}
	w->off += hlen + mcp_hdr_length(h);
	return 0;
}

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

static __always_inline int pass(struct walk *w, __u32 reason, __u32 skip0, __u32 dest0)
{
	struct mcp_sock_state *st = w->st;

	if (reason == MCP_DP_PASS_INVALID)
		report_violation(w->skb, w->check);
	if (st->mode == MCP_MODE_FAST) {
		st->mode = MCP_MODE_SLOW;
		st->episode++;
		st->ep_skip = skip0;
		st->ep_dest = dest0;
	}
	st->passed += w->len;
	count(&mcp_dp_stats, reason, w->len);
	return SK_PASS;
}

SEC("sk_skb")
int mcp_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct mcp_sock_state *st = bpf_map_lookup_elem(&mcp_sock_state, &cookie);
	struct walk w = { .skb = skb, .len = skb->len, .dest = MCP_DEST_NONE,
			  .reason = MCP_DP_REDIRECT };
	struct mcp_sock_key to;
	__u32 skip0, dest0, at_boundary;
	__u64 *fwd, *redir;

	if (!st) {
		count(&mcp_dp_stats, MCP_DP_PASS_UNKNOWN, skb->len);
		return SK_PASS;
	}
	w.st = st;
	st->bytes += skb->len;
	st->last_ns = bpf_ktime_get_ns();
	skip0 = st->skip;
	dest0 = st->cur_dest;
	at_boundary = st->skip == 0 && st->hdr_have == 0;

	if (!continue_frame(&w) && w.off < w.len) {
		bpf_loop(MCP_FRAMES_PER_SKB, walk_frame, &w, 0);
		if (w.off < w.len && w.reason == MCP_DP_REDIRECT)
			w.reason = MCP_DP_PASS_MANY;
	}
	/* How long the frame in progress has been coming (mcpd closes slow senders). */
	if (!st->skip && !st->hdr_have)
		st->partial_ns = 0;
	else if (w.frames || at_boundary || !st->partial_ns)
		st->partial_ns = st->last_ns; /* a new frame began in this skb */
	if (w.reason == MCP_DP_REDIRECT && w.dest == MCP_DEST_DAEMON)
		w.reason = MCP_DP_PASS_CONTROL;
	if (w.reason != MCP_DP_REDIRECT)
		return pass(&w, w.reason, skip0, dest0);

	if (st->mode == MCP_MODE_SLOW) {
		fwd = bpf_map_lookup_elem(&mcp_sock_fwd, &cookie);
		if (!at_boundary || !fwd || *fwd != st->passed)
			return pass(&w, MCP_DP_PASS_CATCHUP, skip0, dest0);
	}

	to.session = st->key.session;
	if (w.dest == MCP_DEST_SELF) {
		if (!at_boundary)
			return pass(&w, MCP_DP_PASS_MIXED, skip0, dest0);
		to.slot = st->key.slot; /* back where it came from */
	} else {
		to.slot = w.dest;
	}
	/* The kernel queues what it redirects without a bound: when mcpd sees the target's
	 * queue backed up, the skbs go to mcpd, whose own backpressure stops the sender. */
	if (bpf_map_lookup_elem(&mcp_sock_full, &to))
		return pass(&w, MCP_DP_PASS_BACKPRESSURE, skip0, dest0);
	/* Redirect first, rewrite after: if the target has gone (its socket is closing), mcpd
	 * gets the frames as the peer sent them, not PONGs it never sent. */
	if (bpf_sk_redirect_hash(skb, &mcp_socks, &to, 0) != SK_PASS)
		return pass(&w, MCP_DP_REDIRECT_FAIL, skip0, dest0);
	if (w.dest == MCP_DEST_SELF || (st->version == MCP_VERSION_2 && st->role == MCP_PEER_CLIENT)) {
		w.off = at_boundary ? 0 : (skip0 < w.len ? skip0 : w.len);
		w.session = st->key.session;
		bpf_loop(MCP_FRAMES_PER_SKB, rewrite_frame, &w, 0);
	}
	st->mode = MCP_MODE_FAST;
	redir = bpf_map_lookup_elem(&mcp_sock_redir, &to);
	if (redir)
		__sync_fetch_and_add(redir, w.len);
	count(&mcp_dp_stats, w.dest == MCP_DEST_SELF ? MCP_DP_PONG : MCP_DP_REDIRECT, w.len);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
