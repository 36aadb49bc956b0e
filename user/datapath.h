/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel data paths behind one ops table: the inline path (dp_inline.c), the sk_skb verdict
 * (dp_bpf.c) and the XDP guard (dp_xdp.c). With none loaded, sessions take the user path.
 */
#ifndef MCP_DATAPATH_H
#define MCP_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "stats.h"

struct mcpd;
struct session;
struct session_counters;
struct conn;

/* mcpd's slots for them, in the order a session tries them (datapath_install). */
enum datapath_id {
	DATAPATH_INLINE,  /* sk_msg between local processes (docs/architecture.md) */
	DATAPATH_SOCKMAP, /* the sk_skb verdict: `datapath = bpf`, or auto's remote sessions */
	DATAPATH_XDP,	  /* the XDP guard: no sessions, it drops, limits and answers PINGs */
	DATAPATH__COUNT,
};

/*
 * One path's hooks; any may be NULL (nothing to do). A session hook gets every session, and
 * does nothing for one that is not on its path. Each path's init function (inline_init,
 * dp_bpf_init, xdp_guard_init) fills one and puts it in mcpd's slot.
 */
struct datapath {
	const char *name;
	void *priv;

	/* The whole path. */
	void (*apply_config)(struct mcpd *r);	       /* a reload: ports, routes, rates */
	void (*tick)(struct mcpd *r, uint64_t now_ms); /* every tick */
	void (*collect)(struct mcpd *r, metric_fn fn, void *ctx);
	void (*describe)(struct mcpd *r, char *out, size_t len); /* for status */
	void (*destroy)(struct mcpd *r);			 /* empties the slot */

	/* A session's sockets. The hooks of one socket (forget, can_write, on_read, publish) are
	 * called only for one in a path's maps (conn.installed): the user path's reads and
	 * writes ask nothing. */
	/* Before mcpd connects fd to a backend. */
	void (*own_connection)(struct mcpd *r, int fd);
	/* 0: s is on this path now (the hook set s->path); -ENOENT: s is not for it (the next
	 * path may take it); other -errno: it failed (counted and logged here). */
	int (*install)(struct mcpd *r, struct session *s);
	void (*uninstall)(struct mcpd *r, struct session *s);
	/* The client has everything; mcpd shuts its side down and lingers. */
	void (*linger)(struct mcpd *r, struct session *s);
	/* One socket of a session is closing: it leaves the path's maps. */
	void (*forget)(struct mcpd *r, struct conn *c);
	/* Before mcpd writes to c: 1 when every byte the kernel redirected into c has been
	 * queued on the socket, so a write cannot overtake them. */
	int (*can_write)(struct mcpd *r, struct conn *c);
	/* After mcpd read n bytes from c: account them. */
	void (*on_read)(struct mcpd *r, struct conn *c, size_t n);
	/* After c's session flushed everything: publish how much c's passed data is done. */
	void (*publish)(struct mcpd *r, struct conn *c);
	/* When the kernel last carried something of s (0: never, or not on this path). */
	uint64_t (*last_active_ms)(struct mcpd *r, struct session *s);
	/* Since when the kernel has held part of a frame from s's client (0: none). */
	uint64_t (*partial_since_ms)(struct mcpd *r, struct session *s);
	/* Every tick, for a connected session: watch the kernel's queues (backpressure). */
	void (*session_tick)(struct mcpd *r, struct session *s);
	/* What the kernel holds for s: bytes passed to mcpd and not read yet, and bytes
	 * redirected into its sockets and not on their send queues. *slowest: the socket whose
	 * peer takes the least (most held for it), or NULL. */
	uint64_t (*kernel_held)(struct mcpd *r, struct session *s, struct conn **slowest);
	/* Adds what the kernel counted for s (frames and bytes, in and out). */
	void (*counters)(struct mcpd *r, struct session *s, struct session_counters *out);
};

/* datapath.c: each asks every loaded path, in slot order. */
/* "auto" (the inline path and, for remote sessions, the verdict or mcpd), "bpf" or "user". */
const char *datapath_mode(struct mcpd *r);
/* Does any loaded path carry sessions (inline or sockmap)? */
bool datapath_carries_sessions(struct mcpd *r);
void datapath_apply_config(struct mcpd *r);
void datapath_tick(struct mcpd *r, uint64_t now_ms);
void datapath_collect(struct mcpd *r, metric_fn fn, void *ctx);
/* The path's description, "" when it is not loaded. */
void datapath_describe(struct mcpd *r, enum datapath_id id, char *out, size_t len);
void datapath_destroy_all(struct mcpd *r);

void datapath_own_connection(struct mcpd *r, int fd);
/* The first path that takes s; 0, -ENOENT (none would: it stays on mcpd's path) or the last
 * failure. */
int datapath_install(struct mcpd *r, struct session *s);
void datapath_uninstall(struct mcpd *r, struct session *s);
void datapath_linger(struct mcpd *r, struct session *s);
void datapath_forget(struct mcpd *r, struct conn *c);
bool datapath_can_write(struct mcpd *r, struct conn *c);
void datapath_on_read(struct mcpd *r, struct conn *c, size_t n);
void datapath_publish(struct mcpd *r, struct conn *c);
/* The latest of the paths' answers (0: none). */
uint64_t datapath_last_active_ms(struct mcpd *r, struct session *s);
/* The earliest of the paths' answers (0: none). */
uint64_t datapath_partial_since_ms(struct mcpd *r, struct session *s);
void datapath_session_tick(struct mcpd *r, struct session *s);
/* The most any one path holds for s, with its slowest socket. */
uint64_t datapath_kernel_held(struct mcpd *r, struct session *s, struct conn **slowest);
void datapath_counters(struct mcpd *r, struct session *s, struct session_counters *out);

/* The paths' own set-up (each fills its slot; 0, or -errno with the reason in e). */
/* dp_inline.c: the inline path's programs (datapath auto). */
int inline_init(struct mcpd *r, struct err *e);
/* dp_bpf.c: the sk_skb verdict. After a takeover, dp_bpf_took_over waits for the old mcpd to
 * let go of the pin directory, then puts this build's verdict and this config's routes in
 * place. */
int dp_bpf_init(struct mcpd *r, struct err *e);
int dp_bpf_took_over(struct mcpd *r, struct err *e);
/* dp_xdp.c: attach to the configured interfaces (none: nothing to do). xdp_guard_check,
 * before a takeover: could the guard attach where the config says? */
int xdp_guard_init(struct mcpd *r, struct err *e);
int xdp_guard_check(struct mcpd *r, struct err *e);

#endif
