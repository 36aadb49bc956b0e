/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sessions: a client's connection, its backends' connections, and what mcpd knows of them.
 * The session module (session*.c) owns them; other modules use this interface.
 */
#ifndef MCP_SESSION_H
#define MCP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "addr.h"
#include "buf.h"
#include "config.h"
#include "list.h"
#include "loop.h"
#include "messages.h"
#include "mcp/perm.h"
#include "session_state.h"
#include "stream_decoder.h"

struct mcpd;
struct mcp_tuple;

struct session;

struct conn {
	struct handler h;
	struct session *s;
	int slot;   /* MCP_SLOT_CLIENT, or pool index + 1 */
	int peer;   /* who sends what we read: MCP_PEER_CLIENT or MCP_PEER_BACKEND */
	int backend; /* index of the backend in its pool */
	struct mcp_decoder dec;
	struct buf out;
	uint32_t events;
	bool registered;  /* in the epoll set */
	bool connecting;  /* TCP connect in progress */
	bool ready;	  /* backend answered HELLO_ACK */
	bool closed;	  /* peer closed or failed */
	bool close_seen;  /* peer sent CLOSE */
	bool dirty;	  /* on the flush list */
	uint64_t partial_since_ms; /* mcpd's decoder holds part of a frame since then */
	uint64_t stalled_since_ms; /* output waiting and the peer not taking it, since then */
	struct conn *next_dirty;
	struct conn *next_dead;

	/* The BPF fast path (dp_bpf.c). */
	bool installed;
	uint64_t cookie;
	uint64_t queue_base;	 /* bytes in the send queue's history when installed */
	uint64_t daemon_written; /* bytes mcpd wrote into the socket since installed */
	uint64_t read_total;	 /* bytes mcpd read from the socket since installed */
	uint64_t handled;	 /* of those, bytes fully forwarded */
	uint64_t fwd_published;	 /* last value written to mcp_sock_fwd */
	uint32_t episode;	 /* slow episode being read */
	uint32_t raw_left;	 /* bytes of a frame begun in the kernel, to forward as they are */
	uint32_t raw_dest;
	uint64_t redir_seen;	 /* mcp_sock_redir at the last backlog check */
	uint64_t backlog;	 /* at that check: redirected into it, not on its send queue */
	bool full;		 /* marked in mcp_sock_full */
};

/* Which path a session's frames take (mcpctl sessions, /metrics). */
enum session_path {
	SESSION_PATH_MCPD = 0, /* through mcpd: the user data path, or fallen back */
	SESSION_PATH_KERNEL,   /* the sk_skb verdict (datapath bpf) */
	SESSION_PATH_INLINE,   /* the sk_msg shortcut between local processes */
	SESSION_PATH__COUNT,
};

struct session {
	uint32_t id;
	int state;
	uint8_t path;			/* enum session_path */
	struct mcp_tuple *tuples;	/* inline: the sockets' tuples by slot (dp_inline.c) */
	uint8_t version;
	uint32_t max_frame;
	uint32_t heartbeat_ms;
	uint32_t pools; /* bit i: this session has a backend of pool i */
	struct conn client;
	struct conn *backends[MCP_MAX_POOLS + 1]; /* by slot */
	int backends_pending;
	uint32_t setup_failures; /* backends that failed this session while it connected */
	uint64_t last_active_ms;
	uint64_t deadline_ms; /* connecting, closing or lingering must end by then */
	char peer[MCP_ADDR_TEXT_MAX];
	struct sockaddr_storage peer_addr;
	char client_id[MCP_CLIENT_ID_MAX + 1]; /* verified (auth), as typed (auth off), or "" (anonymous) */
	uint8_t auth;		/* enum session_auth (auth.h) */
	bool restricted;	/* its identity may not do everything: perms are checked */
	bool perms_in_kernel;	/* its perms are in mcp_perms: the kernel's copy is the one */
	int client_ref;		/* its identity's row of totals (auth.c) */
	struct mcp_perms perms; /* what its identity may do (include/mcp/perm.h) */
	uint64_t denied, rate_limited; /* requests answered PERMISSION_DENIED, RATE_LIMITED */
	uint64_t frames_in, frames_out, bytes_in, bytes_out; /* seen by mcpd */
	bool dead;
	uint64_t created_ms;
	struct session *prev, *next;
	struct list_node unneg; /* in router.unneg while it has not said HELLO */
};

/* session.c */
/* A session in IDLE, in the router's list, its client connection not yet given a socket. */
struct session *session_alloc(struct mcpd *r, uint32_t id, const struct sockaddr_storage *ss,
			      const char *peer);
struct session *session_new(struct mcpd *r, int fd, const struct sockaddr_storage *ss,
			    const char *peer);

/* Frames and bytes each way: what mcpd forwarded itself plus what the kernel did. */
struct session_counters {
	uint64_t frames_in, bytes_in, frames_out, bytes_out;
};
/* What the socket of slot received, counted in: the client's is "in", a backend's is on its way
 * "out". */
void session_counters_add(struct session_counters *out, int slot, uint64_t frames,
			  uint64_t bytes);
void session_counters(struct mcpd *r, struct session *s, struct session_counters *out);
/* The handler of every session socket (client and backends). */
void session_on_event(struct mcpd *r, struct handler *h, uint32_t events);
void session_tick(struct mcpd *r, struct session *s, uint64_t now);
/* When s last carried a frame, on whichever path: mcpd's, the kernel's or the inline one. */
uint64_t session_last_active_ms(struct mcpd *r, struct session *s);

/* What the data paths may know of a session and its sockets (session_io.c): they never read
 * the decoder's or the buffers' layout themselves. */
/* A session's socket by slot (MCP_SLOT_CLIENT, or pool + 1); NULL where it has none. */
struct conn *session_conn(struct session *s, int slot);
/* Whether mcpd has written out everything it held for each of s's sockets. */
bool session_flushed(const struct session *s);
/* The longest payload c's peer may send (the session's, for a kernel walk over c). */
uint32_t conn_max_frame(const struct conn *c);
/* Bytes read from c that mcpd holds as the start of a frame not yet whole. */
size_t conn_partial_len(const struct conn *c);
/* Whether c's stream is between frames: no frame begun, no raw bytes still to forward. */
bool conn_between_frames(const struct conn *c);
/* Every tick: all sessions' buffers within max_queued_bytes (the largest holders end), and
 * memory given back to the system after a peak. */
void sessions_within_budget(struct mcpd *r, uint64_t now);
void session_end(struct mcpd *r, struct session *s, int code, const char *msg);
void session_shutdown(struct mcpd *r, struct session *s);
void session_flush(struct mcpd *r, struct conn *c);
void session_free(struct mcpd *r, struct session *s);
const char *session_path_name(int path);

int session_set_state(struct mcpd *r, struct session *s, int next);

#endif
