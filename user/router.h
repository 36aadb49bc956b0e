/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mcpd's core: the event loop, sessions, their connections to backends, and the two data
 * paths. One thread, one epoll set; every socket is non-blocking.
 */
#ifndef MCP_ROUTER_H
#define MCP_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
#include "stream_decoder.h"
#include "mcp/xdp.h"
#include "mcp/perm.h"
#include "messages.h"
#include "blocklist.h"
#include "list.h"
#include "session_state.h"
#include "udp.h"

enum anomaly_kind {
	ANOMALY_BAD_FRAMES = 0,	 /* a burst of bad frames from one source */
	ANOMALY_SESSION_FLOOD,	 /* a flood of new sessions from one source */
	ANOMALY_OPCODE_SPIKE,	 /* an opcode's rate far over its baseline */
	ANOMALY_PASS_SPIKE,	 /* the pass-to-daemon rate far over its baseline */
	ANOMALY_AUTH_FAILURES,	 /* a source that keeps failing authentication */
	ANOMALY__COUNT,
};

/* The protective limits, each counted when it fires (mcpctl stats, mcp_limit_hits_total). */
enum router_limit {
	LIMIT_MAX_SESSIONS = 0, /* a connection refused at max_sessions */
	LIMIT_UNNEGOTIATED,	/* the oldest connection without a HELLO closed for a new one */
	LIMIT_HANDSHAKE,	/* a connection closed: no HELLO within handshake_timeout_ms */
	LIMIT_FDS,		/* accept failed: out of file descriptors */
	LIMIT_QUEUED_BYTES,	/* a session ended: mcpd's queued bytes over max_queued_bytes */
	LIMIT_STALL,		/* a session ended: a peer read nothing for stall_timeout_ms */
	LIMIT_UDP_RELAYS,	/* a UDP relay socket closed for a newer source (udp_relays) */
	LIMIT_UDP_UNVERIFIED,	/* a UDP request dropped: its source proved nothing (udp_verify) */
	LIMIT_MAP_FULL,		/* a session not put in the fast path: a BPF map was full */
	LIMIT_CTL_IDLE,		/* a control connection closed: idle or too slow */
	LIMIT_KERNEL_HELD,	/* a session ended: the kernel held more than kernel_max_held */
	LIMIT__COUNT,
};

const char *router_limit_name(int limit);

struct router;
struct handler;

/* What the event loop calls when a descriptor is ready: each handler carries its own. */
typedef void (*handler_fn)(struct router *r, struct handler *h, uint32_t events);

struct handler {
	handler_fn on_event;
	int fd;
};

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

struct router;

/* The data path's hooks: the user path has none, the BPF path installs sockets. */
struct datapath {
	const char *name;
	int (*install)(struct router *r, struct session *s);
	void (*uninstall)(struct router *r, struct session *s);
	/* One socket of a session is closing: it leaves the fast path's maps. */
	void (*forget)(struct router *r, struct conn *c);
	/* Before mcpd writes to c: 1 when every byte the kernel redirected into c has been
	 * queued on the socket, so a write cannot overtake them. */
	int (*can_write)(struct router *r, struct conn *c);
	/* After mcpd read n bytes from an installed conn: account them. */
	void (*on_read)(struct router *r, struct conn *c, size_t n);
	/* After c's session flushed everything: publish how much c's passed data is done. */
	void (*publish)(struct router *r, struct conn *c);
	uint64_t (*last_active_ms)(struct router *r, struct session *s);
	/* Every tick: watch the kernel's queues (backpressure on the fast path). */
	void (*tick)(struct router *r, struct session *s);
	/* What the kernel holds for s: bytes passed to mcpd and not read yet, and bytes
	 * redirected into its sockets and not on their send queues. *slowest: the socket whose
	 * peer takes the least (most held for it), or NULL. */
	uint64_t (*kernel_held)(struct router *r, struct session *s, struct conn **slowest);
	/* Since when the kernel has held part of a frame from c (0: none). */
	uint64_t (*partial_since_ms)(struct router *r, struct conn *c);
	void (*destroy)(struct router *r);
	void *priv;
};

struct router {
	struct mcp_config cfg;
	int epfd;
	struct handler listeners[MCP_MAX_LISTEN];
	int n_listeners;
	struct udp *udp; /* MCP over UDP (udp.c) */
	void *xdp; /* the XDP guard (dp_xdp.c), when attached */
	struct inline_path *inl; /* the inline path (dp_inline.c), when loaded */
	struct auth *auth; /* identities: keys, decisions, their counters (auth.c) */
	int pin_lock_fd; /* holds /sys/fs/bpf/mcp (pin_dir.c), -1 when not */
	struct blocklist blocks;
	uint64_t anomalies_total[ANOMALY__COUNT];
	void *anomaly;	 /* the detector's state (anomaly.c) */
	void *ctl;	 /* the control socket (ctl.c) */
	void *metrics;	 /* the /metrics page (metrics.c) */
	struct handler sigfd;
	struct handler timer;
	struct session *sessions; /* doubly linked list */
	uint32_t n_sessions;
	struct list unneg; /* sessions in IDLE (no HELLO yet), in arrival order */
	uint32_t next_session_id;
	struct conn *dirty;
	struct conn *dead_conns;	 /* closed, freed at the end of the loop iteration */
	struct session *dead_sessions; /* likewise */
	struct pools *pools; /* backends' health, round robin (pools.c) */
	struct datapath dp;
	bool stopping;
	bool taking_over;  /* started with --takeover: adopt, do not create or clear */
	bool handed_over;  /* gave everything to a new mcpd: exit without touching anything */
	uint64_t stop_deadline_ms;
	bool pending_writes; /* a write waits for the kernel: poll soon */
	int spare_fd;	     /* held in reserve for accept-and-refuse when out of descriptors */
	bool accept_paused;  /* out of descriptors and no spare: listeners rest until a tick */
	uint64_t fds_logged_ms;
	uint64_t queued_bytes;	 /* what the sessions' output buffers hold (their capacity) */
	uint64_t queued_peak;	 /* the most they held since the last trim */
	bool budget_spared;	 /* over budget, nobody worth ending: no scan per read till a tick */
	uint64_t trimmed_ms;
	uint64_t started_ms;
	/* Counters of the daemon itself. */
	uint64_t errors_sent[MCP_ERR__COUNT];
	uint64_t sessions_total, sessions_refused;
	uint64_t illegal_transitions;
	uint64_t frames_mcpd; /* frames of connected sessions mcpd handled itself */
	uint64_t limit_hits[LIMIT__COUNT];
};

uint64_t mcp_now_ms(void);
uint64_t mcp_now_ns(void); /* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */

/* router.c */
int router_init(struct router *r, const struct mcp_config *cfg, int datapath, bool takeover);
int router_adopt_listener(struct router *r, int fd);
int router_run(struct router *r);
void router_free(struct router *r);
void router_mark_dirty(struct router *r, struct conn *c);
int router_watch(struct router *r, struct conn *c, uint32_t events);

/* session.c */
/* A session in IDLE, in the router's list, its client connection not yet given a socket. */
struct session *session_alloc(struct router *r, uint32_t id, const struct sockaddr_storage *ss,
			      const char *peer);
struct session *session_new(struct router *r, int fd, const struct sockaddr_storage *ss,
			    const char *peer);

/* Frames and bytes each way: what mcpd forwarded itself plus what the kernel did. */
struct session_counters {
	uint64_t frames_in, bytes_in, frames_out, bytes_out;
};
void session_counters(struct router *r, struct session *s, struct session_counters *out);
/* The kernel's counters of one installed socket (dp_bpf.c); 0 when not installed. */
int dp_bpf_sock_counters(struct router *r, struct conn *c, uint64_t *frames, uint64_t *bytes);
/* The handler of every session socket (client and backends). */
void session_on_event(struct router *r, struct handler *h, uint32_t events);
void session_tick(struct router *r, struct session *s, uint64_t now);

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
void sessions_within_budget(struct router *r, uint64_t now);
void session_end(struct router *r, struct session *s, int code, const char *msg);
void session_shutdown(struct router *r, struct session *s);
void session_flush(struct router *r, struct conn *c);
void session_free(struct router *r, struct session *s);
const char *session_path_name(int path);

int session_set_state(struct router *r, struct session *s, int next);

/* SIGHUP and `mcpctl reload`: 0 with a summary in msg, or -1 with the reason. */
int router_reload(struct router *r, char *msg, size_t len);
/* Pool positions that sessions or UDP relays use (bit i: pool i). */
uint32_t router_pools_in_use(struct router *r);
/* May `next` replace the running config without moving a pool in use? 0, or -1 with why. */
int router_pools_kept(struct router *r, const struct mcp_config *next, char *why, size_t len);

/* dp_xdp.c: the XDP guard on the configured interfaces */
int xdp_guard_init(struct router *r, char *why, size_t why_len);
/* Before a takeover: could the guard attach where the config says? 0, or -1 with why. */
int xdp_guard_check(struct router *r, char *why, size_t why_len);
void xdp_guard_apply_config(struct router *r);
void xdp_guard_tick(struct router *r, uint64_t now);
void xdp_guard_free(struct router *r);
/* "eth0 native, eth1 skb" */
void xdp_guard_describe(struct router *r, char *out, size_t len);

/* anomaly.c */
const char *anomaly_kind_name(int kind);

/* dp_user.c / dp_bpf.c */
void dp_user_init(struct datapath *dp);
int dp_bpf_init(struct router *r, char *why, size_t why_len);
void dp_bpf_set_routes(struct router *r);
/* After a takeover: wait for the old mcpd to let go of the pin directory, then put this
 * build's verdict and this config's routes in place. 0, or -1 with the reason in why. */
int dp_bpf_took_over(struct router *r, char *why, size_t len);

#endif
