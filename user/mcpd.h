/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mcpd's core: the event loop (mcpd.c) and what it holds: listeners, signals, the timer, a
 * pointer to each module and a slot per kernel data path. One thread, one epoll set; every
 * socket is non-blocking.
 */
#ifndef MCP_MCPD_H
#define MCP_MCPD_H

#include <stdbool.h>
#include <stdint.h>
#include "anomaly.h"
#include "blocklist.h"
#include "config.h"
#include "counters.h"
#include "datapath.h"
#include "loop.h"
#include "session.h"
#include "session_table.h"
#include "udp.h"
#include "mcp/xdp.h"

struct anomaly_state;
struct ctl;
struct metrics;

struct mcpd {
	struct mcp_config cfg;
	int epfd;
	struct handler listeners[MCP_MAX_LISTEN];
	int n_listeners;
	struct udp *udp; /* MCP over UDP (udp.c) */
	struct auth *auth; /* identities: keys, decisions, their counters (auth.c) */
	int pin_lock_fd; /* holds /sys/fs/bpf/mcp (pin_dir.c), -1 when not */
	struct blocklist *blocks; /* refused sources (blocklist.c) */
	struct anomaly_state *anomaly; /* the detector's state (anomaly.c) */
	struct ctl *ctl;	       /* the control socket (ctl.c) */
	struct metrics *metrics;       /* the /metrics page (metrics.c) */
	struct handler sigfd;
	struct handler timer;
	struct session_table *sessions; /* the sessions and their lists (session_table.c) */
	struct pools *pools; /* backends' health, round robin (pools.c) */
	/* The kernel's paths (datapath.h: inline, sockmap, XDP), NULL when not loaded. */
	struct datapath *paths[DATAPATH__COUNT];
	bool stopping;
	bool taking_over;  /* started with --takeover: adopt, do not create or clear */
	bool handed_over;  /* gave everything to a new mcpd: exit without touching anything */
	uint64_t stop_deadline_ms;
	bool pending_writes; /* a write waits for the kernel: poll soon */
	int spare_fd;	     /* held in reserve for accept-and-refuse when out of descriptors */
	bool accept_paused;  /* out of descriptors and no spare: listeners rest until a tick */
	uint64_t fds_logged_ms;
	struct counters *counters; /* what no one module owns (counters.c) */
};

/* mcpd.c */
/* Everything mcpd needs before it serves (a takeover: everything the running mcpd hands
 * over). 0, or -errno with the reason in e (the caller logs it). */
int mcpd_init(struct mcpd *r, const struct mcp_config *cfg, int datapath, bool takeover,
	      struct err *e);
int mcpd_adopt_listener(struct mcpd *r, int fd);
int mcpd_run(struct mcpd *r);
void mcpd_free(struct mcpd *r);
int mcpd_watch(struct mcpd *r, struct conn *c, uint32_t events);

/*
 * accept() on listen_fd failed for want of descriptors (err). The connection stays in the
 * backlog and the listener stays readable, so retrying at once would spin. Counted and logged
 * (once a second at most); with the descriptor kept in reserve, one waiting connection is
 * taken and handed to refuse, which tells it why and closes it. False when there is no reserve:
 * the caller stops watching its listener until the next tick.
 */
typedef void (*refuse_fn)(struct mcpd *r, int fd);
bool mcpd_out_of_descriptors(struct mcpd *r, int listen_fd, int err, refuse_fn refuse);

/* SIGHUP and `mcpctl reload`: 0 with a summary in msg, or -errno with the reason in e; logged
 * either way. */
int mcpd_reload(struct mcpd *r, char *msg, size_t len, struct err *e);
/* Pool positions that sessions or UDP relays use (bit i: pool i). */
uint32_t mcpd_pools_in_use(struct mcpd *r);
/* May `next` replace the running config without moving a pool in use? 0, or -errno with e. */
int mcpd_pools_kept(struct mcpd *r, const struct mcp_config *next, struct err *e);

#endif
