/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data paths behind one ops table: the user path (dp_user.c) has no hooks, the bpf path
 * (dp_bpf.c) installs sessions' sockets in the sk_skb verdict's maps.
 */
#ifndef MCP_DATAPATH_H
#define MCP_DATAPATH_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct mcpd;
struct session;
struct conn;

/* The data path's hooks: the user path has none, the BPF path installs sockets. */
struct datapath {
	const char *name;
	int (*install)(struct mcpd *r, struct session *s);
	void (*uninstall)(struct mcpd *r, struct session *s);
	/* One socket of a session is closing: it leaves the fast path's maps. */
	void (*forget)(struct mcpd *r, struct conn *c);
	/* Before mcpd writes to c: 1 when every byte the kernel redirected into c has been
	 * queued on the socket, so a write cannot overtake them. */
	int (*can_write)(struct mcpd *r, struct conn *c);
	/* After mcpd read n bytes from an installed conn: account them. */
	void (*on_read)(struct mcpd *r, struct conn *c, size_t n);
	/* After c's session flushed everything: publish how much c's passed data is done. */
	void (*publish)(struct mcpd *r, struct conn *c);
	uint64_t (*last_active_ms)(struct mcpd *r, struct session *s);
	/* Every tick: watch the kernel's queues (backpressure on the fast path). */
	void (*tick)(struct mcpd *r, struct session *s);
	/* What the kernel holds for s: bytes passed to mcpd and not read yet, and bytes
	 * redirected into its sockets and not on their send queues. *slowest: the socket whose
	 * peer takes the least (most held for it), or NULL. */
	uint64_t (*kernel_held)(struct mcpd *r, struct session *s, struct conn **slowest);
	/* Since when the kernel has held part of a frame from c (0: none). */
	uint64_t (*partial_since_ms)(struct mcpd *r, struct conn *c);
	void (*destroy)(struct mcpd *r);
	void *priv;
};

/* dp_user.c / dp_bpf.c */
void dp_user_init(struct datapath *dp);
int dp_bpf_init(struct mcpd *r, struct err *e);
void dp_bpf_set_routes(struct mcpd *r);
/* After a takeover: wait for the old mcpd to let go of the pin directory, then put this
 * build's verdict and this config's routes in place. 0, or -errno with the reason in e. */
int dp_bpf_took_over(struct mcpd *r, struct err *e);

/* The kernel's counters of one installed socket (dp_bpf.c); 0 when not installed. */
int dp_bpf_sock_counters(struct mcpd *r, struct conn *c, uint64_t *frames, uint64_t *bytes);

#endif
