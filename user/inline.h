/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The inline path in mcpd (dp_inline.c): owns the sockops and sk_msg programs and their maps,
 * and puts a session on the path when its client and backends are local processes whose
 * sockets the sockops program has seen (docs/architecture.md, "The inline path").
 */
#ifndef MCP_INLINE_H
#define MCP_INLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "stats.h"
#include "err.h"

struct mcpd;
struct session;

/* Load, pin and attach (sockops on the cgroup, the verdict on the sockhash). 0, or -errno with
 * the reason in e: mcpd then runs without it. */
int inline_init(struct mcpd *r, struct err *e);
void inline_free(struct mcpd *r);
/* The config's ports and routes into the maps (at start and on a reload). */
void inline_apply_config(struct mcpd *r);
/* Before mcpd connects fd to a backend: name it as mcpd's own, so the backend's end of it may
 * join the inline path. */
void inline_own_connection(struct mcpd *r, int fd);
/* Before HELLO_ACK: put s on the inline path if every socket of it is in the map. */
bool inline_install(struct mcpd *r, struct session *s);
/* The session's entries go (it ends, or mcpd took it over). */
void inline_uninstall(struct mcpd *r, struct session *s);
/* The kernel's view of an inline session: when it last carried something, and its counts. */
uint64_t inline_last_active_ms(struct mcpd *r, struct session *s);
/* Since when the client's frame in progress has been coming on the inline path (0: none). */
uint64_t inline_partial_since_ms(struct mcpd *r, struct session *s);
void inline_counters(struct mcpd *r, struct session *s, uint64_t *frames_in,
		     uint64_t *bytes_in, uint64_t *frames_out, uint64_t *bytes_out);
void inline_collect(struct mcpd *r, metric_fn fn, void *ctx);
/* "cgroup /sys/fs/cgroup/unified" or why not. */
const char *inline_describe(struct mcpd *r);

#endif
