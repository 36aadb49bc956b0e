/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mcpd's core: the event loop (router.c) and what it holds: listeners, signals, the timer, and
 * a pointer to each module. One thread, one epoll set; every socket is non-blocking.
 */
#ifndef MCP_ROUTER_H
#define MCP_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include "anomaly.h"
#include "blocklist.h"
#include "config.h"
#include "datapath.h"
#include "loop.h"
#include "session.h"
#include "udp.h"
#include "xdp_guard.h"
#include "mcp/xdp.h"

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

/* router.c */
int router_init(struct router *r, const struct mcp_config *cfg, int datapath, bool takeover);
int router_adopt_listener(struct router *r, int fd);
int router_run(struct router *r);
void router_free(struct router *r);
void router_mark_dirty(struct router *r, struct conn *c);
int router_watch(struct router *r, struct conn *c, uint32_t events);

/* SIGHUP and `mcpctl reload`: 0 with a summary in msg, or -1 with the reason. */
int router_reload(struct router *r, char *msg, size_t len);
/* Pool positions that sessions or UDP relays use (bit i: pool i). */
uint32_t router_pools_in_use(struct router *r);
/* May `next` replace the running config without moving a pool in use? 0, or -1 with why. */
int router_pools_kept(struct router *r, const struct mcp_config *next, char *why, size_t len);

#endif
