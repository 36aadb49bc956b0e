/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Keys and values of the BPF maps, shared by the BPF programs and mcpd. One definition for
 * both sides; padding is spelled out and sizes are asserted.
 *
 * The TCP fast path (bpf/mcp_sockmap.bpf.c) keeps these maps, pinned under /sys/fs/bpf/mcp/:
 *
 *   mcp_socks       SOCKHASH  mcp_sock_key -> socket         every fast-path socket
 *   mcp_sock_state  HASH      socket cookie -> mcp_sock_state the verdict's per-socket state
 *   mcp_sock_fwd    HASH      socket cookie -> __u64          bytes of passed data the daemon
 *                                                             has forwarded (only mcpd writes)
 *   mcp_sock_redir  HASH      mcp_sock_key -> __u64           bytes the kernel redirected into
 *                                                             this socket's send path
 *   mcp_routes      ARRAY     opcode -> slot                  0: no route
 *   mcp_sock_full   HASH      mcp_sock_key -> __u8            1: do not redirect into this
 *                                                             socket, its queue is backed up
 *                                                             (only mcpd writes)
 *   mcp_op_stats    PERCPU_ARRAY dir * 256 + opcode -> mcp_counter
 *   mcp_dp_stats    PERCPU_ARRAY enum mcp_dp_reason -> mcp_counter
 */
#ifndef MCP_MAPS_H
#define MCP_MAPS_H

#include <linux/types.h>
#include "mcp/wire.h"
#include "mcp/framer.h"
#include "mcp/tunables.h"

#define MCP_PIN_DIR	   "/sys/fs/bpf/mcp" /* the default pin root (config `pin_root`) */

/* The names maps are pinned by, for userspace and tests to find them (tests/unit/
 * test_map_names.c checks each against the programs' own maps). */
#define MCP_MAP_SOCKS	   "mcp_socks"
#define MCP_MAP_SOCK_STATE "mcp_sock_state"
#define MCP_MAP_SOCK_FWD   "mcp_sock_fwd"
#define MCP_MAP_SOCK_REDIR "mcp_sock_redir"
#define MCP_MAP_SOCK_FULL  "mcp_sock_full"
#define MCP_MAP_ROUTES	   "mcp_routes"
#define MCP_MAP_OP_STATS   "mcp_op_stats"
#define MCP_MAP_DP_STATS   "mcp_dp_stats"
#define MCP_MAP_INLINE_SOCKS  "mcp_inline_socks"
#define MCP_MAP_INLINE_PORTS  "mcp_inline_ports"
#define MCP_MAP_INLINE_STATE  "mcp_inline_state"
#define MCP_MAP_INLINE_PEERS  "mcp_inline_peers"
#define MCP_MAP_INLINE_FLIGHT "mcp_inline_flight"
#define MCP_MAP_INLINE_STATS  "mcp_inline_stats"
#define MCP_MAP_INLINE_MINE   "mcp_inline_mine"
#define MCP_MAP_INLINE_EXPECT "mcp_inline_expect"
#define MCP_MAP_EVENTS	   "mcp_events"
#define MCP_MAP_EV_BUDGET  "mcp_ev_budget"
#define MCP_MAX_POOLS	   16
#define MCP_SLOT_CLIENT	   0	      /* slot of the client socket; pool p has slot p + 1 */
#define MCP_DEST_DAEMON	   0xFFFFFFFFu /* a frame the daemon must handle */
#define MCP_DEST_NONE	   0xFFFFFFFEu /* no frame seen yet */
#define MCP_DEST_SELF	   0xFFFFFFFDu /* a PING: answered back to the socket it came from */

struct mcp_sock_key {
	__u32 session;
	__u32 slot;
};

enum mcp_sock_mode {
	MCP_MODE_FAST = 0, /* the verdict redirects whole skbs */
	MCP_MODE_SLOW = 1, /* the verdict passes skbs to the daemon, until it has caught up */
	MCP_MODE_FALLEN = 2, /* inline: the session went to mcpd, for good */
};

struct mcp_sock_state {
	struct mcp_sock_key key; /* this socket in mcp_socks */
	/* The walk over what this socket receives (include/mcp/framer.h): its rules are the
	 * session's (fr.peer: who sends; fr.version, fr.max_frame: what was negotiated). Its
	 * spare byte, fr.owner, holds the verdict's enum mcp_sock_mode (MCP_SOCK_MODE()). */
	struct mcp_framer fr;
	__u32 cur_dest;	   /* slot of the frame in progress, or MCP_DEST_DAEMON */
	__u64 passed;	   /* bytes passed up to the daemon */
	__u32 episode;	   /* number of FAST -> SLOW switches */
	__u32 ep_skip;	   /* at the switch: bytes of a frame in progress ... */
	__u32 ep_dest;	   /* ... and where they go */
	__u32 flags;	   /* MCP_SF_* */
	__u64 frames;	   /* frames received on this socket */
	__u64 bytes;	   /* bytes received on this socket */
	__u64 last_ns;	   /* bpf_ktime_get_ns() of the last skb */
	__u64 partial_ns;  /* when the frame still incomplete began arriving; 0 between frames */
};

#define MCP_SOCK_MODE(st) ((st)->fr.owner)

/* Flags of a socket's state. */
#define MCP_SF_PERMS 1u /* its session's identity is restricted: see mcp_perms (mcp/perm.h) */

MCP_STATIC_ASSERT(sizeof(struct mcp_sock_key) == 8, "mcp_sock_key");
MCP_STATIC_ASSERT(sizeof(struct mcp_sock_state) == 96, "mcp_sock_state");
/* The layout of the pinned state is what a hot upgrade hands over live: it never moves. */
MCP_STATIC_ASSERT(__builtin_offsetof(struct mcp_sock_state, fr) == 8, "mcp_sock_state.fr");
MCP_STATIC_ASSERT(__builtin_offsetof(struct mcp_sock_state, cur_dest) == 36,
		  "mcp_sock_state.cur_dest");

/*
 * The inline path (bpf/mcp_inline.bpf.c): sockets of local processes, found by their 4-tuple
 * as the process sees it (ports in host order, addresses as on the wire; IPv4 in the first 4
 * bytes):
 *
 *   mcp_inline_socks  SOCKHASH     mcp_tuple -> socket       put there by the sockops program
 *   mcp_inline_ports  ARRAY        port -> MCP_INLINE_*      the ports whose sockets it takes
 *   mcp_inline_state  HASH         mcp_tuple -> mcp_sock_state  one per socket of a session
 *   mcp_inline_peers  HASH         mcp_sock_key -> mcp_tuple  a session's sockets by slot
 *   mcp_inline_flight HASH         session -> mcp_inline_flight  requests redirected less the
 *                                                              responses redirected back, and
 *                                                              the session's caps
 *   mcp_inline_stats  PERCPU_ARRAY enum mcp_inline_reason -> mcp_counter
 *   mcp_inline_mine   LRU_HASH     socket cookie -> 1        mcpd's own connections to
 *                                                             backends (mcpd writes them)
 *   mcp_inline_expect LRU_HASH     mcp_tuple -> 1            the backend's end of each, as
 *                                                             its process will see it: only
 *                                                             those backend sockets are taken
 */
struct mcp_tuple {
	__u64 netns; /* the network namespace's cookie: a tuple means something only in one */
	__u32 family; /* AF_INET or AF_INET6 */
	__u32 local_port;
	__u32 remote_port;
	__u32 _pad;
	__u8 local[16];
	__u8 remote[16];
};

MCP_STATIC_ASSERT(sizeof(struct mcp_tuple) == 56, "mcp_tuple");

/* A session's requests in flight on the inline path, and its caps (config inline_max_flight,
 * inline_max_unread). */
struct mcp_inline_flight {
	__s64 frames;	  /* requests redirected less responses redirected back */
	__s64 cap;	  /* past it, the session goes to mcpd */
	__s64 max_unread; /* bytes the client may leave unread in its socket; past them, to mcpd */
};

MCP_STATIC_ASSERT(sizeof(struct mcp_inline_flight) == 24, "mcp_inline_flight");

enum mcp_inline_port {
	MCP_INLINE_LISTENER = 1, /* mcpd listens here: take the clients' sockets */
	MCP_INLINE_BACKEND = 2,	 /* a backend listens here: take its accepted sockets */
};

/* What the inline verdict did with a run of frames, or why the session went to mcpd. */
enum mcp_inline_reason {
	MCP_INLINE_REDIRECT = 0,   /* to the peer's socket */
	MCP_INLINE_PONG,	   /* PINGs answered in the kernel */
	MCP_INLINE_MCPD,	   /* the session is mcpd's now: passed */
	MCP_INLINE_FALL_CONTROL,   /* fell back: a control frame */
	MCP_INLINE_FALL_INVALID,   /* fell back: a frame breaks a rule */
	MCP_INLINE_FALL_NO_ROUTE,  /* fell back: a request without a route */
	MCP_INLINE_FALL_PARTIAL,   /* fell back: a header cut by the end of a write */
	MCP_INLINE_FALL_FLIGHT,	   /* fell back: too many requests in flight */
	MCP_INLINE_FALL_GONE,	   /* fell back: the peer's socket left the map */
	MCP_INLINE_NOT_OURS,	   /* a socket in the map without a session: passed */
	MCP_INLINE_FALL_DENIED,	   /* fell back: a request its identity may not send now */
	MCP_INLINE_FALL_UNREAD,	   /* fell back: the client leaves too many answers unread */
	MCP_INLINE__COUNT,
};

/* The counter maps have room for reasons to come, so a build that adds one can still use
 * (and take over from) the maps a build before it pinned. */
#define MCP_INLINE_STATS_SLOTS 32
#define MCP_DP_STATS_SLOTS     32
/* Their last slot is no reason: it counts the frames (count) and bytes each verdict carried
 * itself, for frames by path. */
#define MCP_INLINE_STAT_FRAMES (MCP_INLINE_STATS_SLOTS - 1)
#define MCP_DP_STAT_FRAMES     (MCP_DP_STATS_SLOTS - 1)
MCP_STATIC_ASSERT(MCP_INLINE__COUNT <= MCP_INLINE_STAT_FRAMES, "mcp_inline_stats room");

/* Direction of a frame, for per-opcode counters. */
enum mcp_dir {
	MCP_DIR_TO_BACKEND = 0, /* client -> router -> backend */
	MCP_DIR_TO_CLIENT = 1,	/* backend -> router -> client */
	MCP_DIR__COUNT,
};

struct mcp_counter {
	__u64 count; /* frames for mcp_op_stats, skbs for mcp_dp_stats */
	__u64 bytes;
};

/* What the verdict did with an skb, and why. */
enum mcp_dp_reason {
	MCP_DP_REDIRECT = 0,   /* every frame to one peer socket */
	MCP_DP_PONG,	       /* only PINGs: answered in the kernel */
	MCP_DP_PASS_CONTROL,   /* a control frame for the daemon */
	MCP_DP_PASS_MIXED,     /* frames for different places */
	MCP_DP_PASS_PARTIAL,   /* ends inside a header: destination not known yet */
	MCP_DP_PASS_CATCHUP,   /* daemon still forwarding earlier passed bytes */
	MCP_DP_PASS_NO_ROUTE,  /* an opcode without a route */
	MCP_DP_PASS_INVALID,   /* a frame breaks a rule: the daemon ends the session */
	MCP_DP_PASS_MANY,      /* more than MCP_FRAMES_PER_SKB frames */
	MCP_DP_PASS_UNKNOWN,   /* a socket without state */
	MCP_DP_REDIRECT_FAIL,  /* redirect refused (peer gone): passed instead */
	MCP_DP_PASS_BACKPRESSURE, /* the peer's send queue is backed up: mcpd holds the line */
	MCP_DP_PASS_DENIED,    /* a request its identity may not send (now): mcpd answers it */
	MCP_DP__COUNT,
};

MCP_STATIC_ASSERT(MCP_DP__COUNT <= MCP_DP_STAT_FRAMES, "mcp_dp_stats room");

#define MCP_OP_STATS_ENTRIES (MCP_DIR__COUNT * 256)

/*
 * A protocol violation, with its source, reported by the kernel through the ring buffer
 * mcp_events (shared by the sockmap verdict and the XDP guard) to mcpd's anomaly detector.
 */
enum mcp_event_origin {
	MCP_EV_SOCKMAP = 1, /* a bad frame on a TCP session; reason: enum mcp_check */
	MCP_EV_XDP = 2,	    /* a datagram the guard dropped; reason: enum mcp_xdp_reason */
};

struct mcp_event {
	__u8 origin;
	__u8 reason;
	__u8 family; /* 4 or 6 */
	__u8 _pad;
	__u32 _pad2;
	__u8 addr[16]; /* IPv4 in the first 4 bytes */
};

MCP_STATIC_ASSERT(sizeof(struct mcp_event) == 24, "mcp_event");

/* Each CPU's budget of reports a second (mcp_ev_budget). */
struct mcp_ev_budget {
	__u64 window_ns;
	__u32 used;
	__u32 _pad;
};


#endif /* MCP_MAPS_H */
