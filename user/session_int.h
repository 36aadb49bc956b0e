/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the session module: what its files (session.c: life and end; session_backends.c;
 * session_frames.c; session_io.c; session_timers.c) call of each other. Not for other modules,
 * which use session.h.
 */
#ifndef MCP_SESSION_INT_H
#define MCP_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mcpd.h"

#define READ_CHUNK	(256 * 1024)
#define READS_PER_EVENT 4
#define OUT_HIGH	(4u << 20) /* stop reading a source while a destination holds this */
#define LINGER_MS	1000
#define CLOSE_WAIT_MS	2000

/* session.c: ending */
void session_drop_backend(struct mcpd *r, struct session *s, int slot);
void session_close_backends(struct mcpd *r, struct session *s);
void session_finish(struct mcpd *r, struct session *s);
void session_start_close(struct mcpd *r, struct session *s);
void session_check_closing_done(struct mcpd *r, struct session *s);

/* session_backends.c */
void session_start_backends(struct mcpd *r, struct session *s);
void session_connected(struct mcpd *r, struct session *s);
void backend_connected(struct mcpd *r, struct conn *b);
void backend_failed(struct mcpd *r, struct conn *b, const char *why);

/* session_frames.c */
void conn_queue(struct mcpd *r, struct conn *c, const void *p, size_t n);
void session_queue_error(struct mcpd *r, struct session *s, int code, const char *msg);
void session_queue_close(struct mcpd *r, struct session *s, struct conn *c);
void conn_consume(struct mcpd *r, struct conn *c, const uint8_t *p, size_t n);

/* session_io.c */
bool session_backpressured(struct session *s);
bool session_holding(struct session *s);

#endif
