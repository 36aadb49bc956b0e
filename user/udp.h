/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MCP over UDP (udp.c): owns the UDP listening sockets, the relay sockets to backends, the
 * udp_verify secret and the UDP counters. The router holds it as r->udp.
 */
#ifndef MCP_UDP_H
#define MCP_UDP_H

#include <stddef.h>
#include <stdint.h>
#include "takeover.h"
#include <sys/socket.h>
#include "control.pb-c.h"
#include "stats.h"

struct mcpd;
struct mcp_addr;

int udp_init(struct mcpd *r);
void udp_free(struct mcpd *r);
/* Listen on a (UDP, beside the TCP listener). 0, or -errno with the reason in e. */
int udp_open(struct mcpd *r, const struct mcp_addr *a, struct err *e);
/* Serve every listener now (after a burst of other events). */
void udp_serve(struct mcpd *r);
/* Idle relays go. */
void udp_tick(struct mcpd *r, uint64_t now);
/* Listeners and relays closed (stopping); the counters stay. */
void udp_close_all(struct mcpd *r);
/* Free the relays closed in this loop iteration (an event for them may have been pending). */
void udp_reap(struct mcpd *r);
/* Pool positions the relays use (bit i: pool i). */
uint32_t udp_pools_in_use(struct mcpd *r);
void udp_collect(struct mcpd *r, metric_fn fn, void *ctx);
/* udp_verify's cookie for a source (what its PONGs carry in `session`), for an epoch. */
uint32_t udp_cookie(const struct mcpd *r, const struct sockaddr_storage *ss, uint64_t epoch);

/* Hot upgrade: what goes to the new mcpd, and what it takes. add_fd puts a descriptor in the
 * hand-over and says at which index. */
int udp_n_listeners(struct mcpd *r);
int udp_listener_fd(struct mcpd *r, int i);
int udp_adopt(struct mcpd *r, int fd, uint32_t index);
/* The relays, the secret and the counters into t (pointing into r's UDP state): 0, or -1 out
 * of memory. udp_given frees what udp_give allocated. */
int udp_give(struct mcpd *r, Mcp__Ctl__Takeover *t, Mcp__Ctl__TakeoverCounters *k,
	     takeover_fd_fn add_fd, void *ctx);
void udp_given(Mcp__Ctl__Takeover *t);
void udp_take(struct mcpd *r, const Mcp__Ctl__Takeover *t, const int *fds);

#endif
