// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inline path, for sessions whose client and backends are processes on this host
 * (docs/architecture.md, "The inline path"; docs/kernel-notes.md, notes 14-20).
 *
 * mcp_sockops, attached to a cgroup, puts the sockets of local processes that concern mcpd
 * into mcp_inline_socks: a client's socket connected to one of mcpd's listeners, and a
 * backend's socket accepted from one of mcpd's own connections (mcpd names those by cookie in
 * mcp_inline_mine before it connects; as one is established, its backend's end is expected
 * in mcp_inline_expect, and taken when the backend's side is established, just after). Other
 * connections to a backend are left alone. mcpd finds a session's sockets there after
 * the client's HELLO and, before it sends HELLO_ACK, writes their state (mcp_inline_state)
 * and where each slot's socket is (mcp_inline_peers).
 *
 * mcp_inline_verdict runs inside the sender's own sendmsg. It walks the message's frames
 * (lib/walk.h in split mode) from the start, as far as they go to one place, and gives that
 * run one verdict: requests to the ingress of their pool's backend socket, responses to the
 * client's, PINGs rewritten into PONGs back to the sender's own (bpf_msg_apply_bytes to the
 * run: the kernel runs the program again for what follows it). A frame whose payload runs past
 * the message is remembered in the socket's state (no cork: note 16), and the next write's
 * first run takes the rest of it where its header went; the state also says since when a frame
 * has been incomplete, for mcpd's partial_timeout_ms.
 *
 * Anything else - a control frame, a frame that breaks a rule, a request with no route, a
 * header cut by the end of a write, a peer gone from the map, too many requests in flight, a
 * client that leaves more than inline_max_unread bytes of answers unread (lib/unread.h) -
 * goes down the socket's own TCP connection to mcpd (SK_PASS, never SK_DROP: note 17), and
 * the session is mcpd's from then on, its backends' sockets too (one way only: note 19).
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "mcp/maps.h"
#include "lib/msg.h"

#define MCP_WALK_LOAD(ctx, off, to, len) mcp_msg_load(ctx, off, to, len)
#define MCP_REWRITE_LOAD(ctx, off, to, len) mcp_msg_load(ctx, off, to, len)
#define MCP_REWRITE_STORE(ctx, off, from, len) mcp_msg_store(ctx, off, from, len)

#include "lib/counters.h"
#include "lib/rewrite.h"
#include "lib/unread.h"
#include "lib/walk.h"
#include "maps/inline.h"

#define AF_INET	 2
#define AF_INET6 10

/* Context fields one 32-bit load at a time (the verifier refuses wider loads of them). */
#define CTX_U32(p) (*(volatile __u32 *)&(p))

static __always_inline void put_addrs(struct mcp_tuple *t, __u32 family, const __u32 *l4,
				      const __u32 *r4, const __u32 *l6, const __u32 *r6)
{
	__u32 a[4];

	if (family == AF_INET) {
		a[0] = CTX_U32(*l4);
		__builtin_memcpy(t->local, a, 4);
		a[0] = CTX_U32(*r4);
		__builtin_memcpy(t->remote, a, 4);
		return;
	}
	for (int i = 0; i < 4; i++)
		a[i] = CTX_U32(l6[i]);
	__builtin_memcpy(t->local, a, 16);
	for (int i = 0; i < 4; i++)
		a[i] = CTX_U32(r6[i]);
	__builtin_memcpy(t->remote, a, 16);
}

/* An IPv4 address mapped into IPv6 (a dual-stack socket's view of an IPv4 peer) as plain IPv4,
 * as the socket at the other end and mcpd (user/tuple.c) see it. */
static __always_inline void unmap_v4(struct mcp_tuple *t)
{
	__u32 l[4], r[4];

	if (t->family != AF_INET6)
		return;
	__builtin_memcpy(l, t->local, 16);
	__builtin_memcpy(r, t->remote, 16);
	if (l[0] || l[1] || l[2] != bpf_htonl(0xffff) || r[0] || r[1] || r[2] != bpf_htonl(0xffff))
		return;
	t->family = AF_INET;
	__builtin_memset(t->local, 0, 16);
	__builtin_memset(t->remote, 0, 16);
	__builtin_memcpy(t->local, &l[3], 4);
	__builtin_memcpy(t->remote, &r[3], 4);
}

static __always_inline void tuple_of_ops(struct bpf_sock_ops *ops, struct mcp_tuple *t)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->netns = bpf_get_netns_cookie(ops);
	t->family = ops->family;
	t->local_port = ops->local_port;
	t->remote_port = bpf_ntohl(ops->remote_port);
	put_addrs(t, t->family, &ops->local_ip4, &ops->remote_ip4, ops->local_ip6, ops->remote_ip6);
	unmap_v4(t);
}

static __always_inline void tuple_of_msg(struct sk_msg_md *msg, struct mcp_tuple *t)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->netns = bpf_get_netns_cookie(msg);
	t->family = msg->family;
	t->local_port = msg->local_port;
	t->remote_port = bpf_ntohl(msg->remote_port);
	put_addrs(t, t->family, &msg->local_ip4, &msg->remote_ip4, msg->local_ip6,
		  msg->remote_ip6);
	unmap_v4(t);
}

static __always_inline __u8 port_flags(__u32 port)
{
	__u8 *f = bpf_map_lookup_elem(&mcp_inline_ports, &port);

	return f ? *f : 0;
}

/* The same connection as seen from its other end. */
static __always_inline void reverse(const struct mcp_tuple *t, struct mcp_tuple *r)
{
	*r = *t;
	r->local_port = t->remote_port;
	r->remote_port = t->local_port;
	__builtin_memcpy(r->local, t->remote, sizeof(r->local));
	__builtin_memcpy(r->remote, t->local, sizeof(r->remote));
}

SEC("sockops")
int mcp_sockops(struct bpf_sock_ops *ops)
{
	struct mcp_tuple t, other;
	__u8 yes = 1;
	__u64 cookie;

	if (ops->family != AF_INET && ops->family != AF_INET6)
		return 1;
	switch (ops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		tuple_of_ops(ops, &t);
		/* A client connected to mcpd. */
		if (port_flags(t.remote_port) & MCP_INLINE_LISTENER) {
			bpf_sock_hash_update(ops, &mcp_inline_socks, &t, BPF_ANY);
			break;
		}
		/* mcpd connected to a backend: expect the backend's end. */
		cookie = bpf_get_socket_cookie(ops);
		if (bpf_map_lookup_elem(&mcp_inline_mine, &cookie)) {
			bpf_map_delete_elem(&mcp_inline_mine, &cookie);
			reverse(&t, &other);
			bpf_map_update_elem(&mcp_inline_expect, &other, &yes, BPF_ANY);
		}
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: /* a backend accepted mcpd's connection? */
		if (!(port_flags(ops->local_port) & MCP_INLINE_BACKEND))
			break;
		tuple_of_ops(ops, &t);
		if (bpf_map_lookup_elem(&mcp_inline_expect, &t)) {
			bpf_map_delete_elem(&mcp_inline_expect, &t);
			bpf_sock_hash_update(ops, &mcp_inline_socks, &t, BPF_ANY);
		}
		break;
	}
	return 1;
}

/* The session is mcpd's from here: this socket's state and those of its session's others. */
static __always_inline int fall_back(struct mcp_sock_state *st, __u32 reason, __u32 bytes)
{
	st->bytes += bytes;
	/* What this socket writes is mcpd's from here, from where its decoder starts. */
	st->fr.hdr_have = 0;
	st->fr.skip = 0;
	MCP_SOCK_MODE(st) = MCP_MODE_FALLEN;
	for (__u32 slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct mcp_sock_key k = { .session = st->key.session, .slot = slot };
		struct mcp_tuple *t = bpf_map_lookup_elem(&mcp_inline_peers, &k);
		struct mcp_sock_state *other = t ? bpf_map_lookup_elem(&mcp_inline_state, t) : NULL;

		if (other)
			MCP_SOCK_MODE(other) = MCP_MODE_FALLEN;
	}
	mcp_count(&mcp_inline_stats, reason, bytes);
	return SK_PASS;
}

static __always_inline __u32 fall_reason(__u32 why)
{
	switch (why) {
	case MCP_DP_PASS_INVALID:
		return MCP_INLINE_FALL_INVALID;
	case MCP_DP_PASS_NO_ROUTE:
		return MCP_INLINE_FALL_NO_ROUTE;
	case MCP_DP_PASS_PARTIAL:
		return MCP_INLINE_FALL_PARTIAL;
	case MCP_DP_PASS_DENIED:
		return MCP_INLINE_FALL_DENIED;
	default:
		return MCP_INLINE_FALL_CONTROL;
	}
}

SEC("sk_msg")
int mcp_inline_verdict(struct sk_msg_md *msg)
{
	struct mcp_msg_cursor cur = { .msg = msg };
	struct mcp_inline_flight *fl;
	struct mcp_sock_state *st;
	struct mcp_rewrite rw;
	struct mcp_tuple self, *to;
	struct mcp_sock_key peer;
	__u32 size = msg->size, run, skip0;
	struct mcp_walk w;
	long verdict;

	/* What an earlier run on this message set is not this run's. */
	bpf_msg_apply_bytes(msg, 0);
	bpf_msg_cork_bytes(msg, 0);
	tuple_of_msg(msg, &self);
	st = bpf_map_lookup_elem(&mcp_inline_state, &self);
	if (!st) {
		mcp_count(&mcp_inline_stats, MCP_INLINE_NOT_OURS, size);
		return SK_PASS;
	}
	st->last_ns = bpf_ktime_get_ns();
	/* Handed to mcpd (by a peer's verdict, perhaps mid-frame here): from a frame boundary on,
	 * everything is mcpd's; the rest of a frame in progress still goes where it began. */
	if (MCP_SOCK_MODE(st) == MCP_MODE_FALLEN && mcp_framer_at_boundary(&st->fr)) {
		mcp_count(&mcp_inline_stats, MCP_INLINE_MCPD, size);
		return SK_PASS;
	}

	skip0 = st->fr.skip; /* the rest of a frame begun in an earlier write */
	mcp_walk_init(&w, &cur, st, size);
	w.split = MCP_SOCK_MODE(st) == MCP_MODE_FALLEN ? MCP_WALK_REST : MCP_WALK_SPLIT;
	mcp_walk_run(&w);
	if (w.reason != MCP_DP_REDIRECT || w.dest == MCP_DEST_DAEMON || !w.off)
		return fall_back(st, fall_reason(w.reason), size);
	/* The run: whole frames, and maybe the start of one whose rest is still to be written. */
	run = w.off;
	if (!st->fr.skip)
		st->partial_ns = 0;
	else if (w.frames || !st->partial_ns)
		st->partial_ns = st->last_ns; /* a frame began in this write and is not done */

	peer.session = st->key.session;
	peer.slot = w.dest == MCP_DEST_SELF ? st->key.slot : w.dest;
	to = w.dest == MCP_DEST_SELF ? &self : bpf_map_lookup_elem(&mcp_inline_peers, &peer);
	fl = bpf_map_lookup_elem(&mcp_inline_flight, &peer.session);
	if (!to || !fl)
		return fall_back(st, MCP_INLINE_FALL_GONE, size);
	/* A client that keeps writing but leaves its answers (and PONGs) unread: mcpd's, where
	 * TCP's backpressure, stall_timeout_ms and max_queued_bytes apply. */
	if (st->fr.peer == MCP_PEER_CLIENT && (__s64)mcp_unread(msg->sk) > fl->max_unread)
		return fall_back(st, MCP_INLINE_FALL_UNREAD, size);
	if (st->fr.peer == MCP_PEER_CLIENT && w.dest != MCP_DEST_SELF &&
	    fl->frames + (__s64)w.frames > fl->cap)
		return fall_back(st, MCP_INLINE_FALL_FLIGHT, size);
	verdict = bpf_msg_redirect_hash(msg, &mcp_inline_socks, to, BPF_F_INGRESS);
	if (verdict != SK_PASS)
		return fall_back(st, MCP_INLINE_FALL_GONE, size);
	if (run != size)
		bpf_msg_apply_bytes(msg, run);
	mcp_walk_commit(&w);
	/* Only once the redirect is certain: PONGs, and the session in v2 requests. */
	if (w.dest == MCP_DEST_SELF ||
	    (st->fr.version == MCP_VERSION_2 && st->fr.peer == MCP_PEER_CLIENT)) {
		rw = (struct mcp_rewrite){ .ctx = &cur, .off = skip0 < run ? skip0 : run, .len = run,
					   .session = st->key.session, .version = st->fr.version,
					   .stamp = st->fr.peer == MCP_PEER_CLIENT };
		mcp_rewrite_run(&rw);
	}
	if (w.dest != MCP_DEST_SELF)
		__sync_fetch_and_add(&fl->frames, st->fr.peer == MCP_PEER_CLIENT ? (__s64)w.frames
										  : -(__s64)w.frames);
	st->bytes += run; /* (the program runs again for the rest of the message) */
	mcp_count(&mcp_inline_stats, w.dest == MCP_DEST_SELF ? MCP_INLINE_PONG : MCP_INLINE_REDIRECT,
		  run);
	mcp_count_n(&mcp_inline_stats, MCP_INLINE_STAT_FRAMES, w.frames, run);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
