/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the socket-level BPF tests (test_verdict_bpf.c, test_inline_bpf.c) do to their
 * sockets, with cmocka assertions: send all, receive exactly, hear nothing, build a frame.
 */
#ifndef MCP_TEST_SOCK_CHECK_H
#define MCP_TEST_SOCK_CHECK_H

#include <stddef.h>
#include <stdint.h>

#define SOCK_WAIT_MS	10000	  /* for what must arrive: only a hang runs out */
#define SOCK_SILENCE_MS 1000	  /* for what must not: a late arrival passes, never the reverse */

void sock_send_all(int fd, const void *p, size_t n);
/* Exactly n bytes from fd (its SO_RCVTIMEO bounds the wait). */
void sock_recv_exact(int fd, void *p, size_t n);
/* Nothing arrives on fd within SOCK_SILENCE_MS. */
void sock_silent(int fd);
/* A frame with this payload into buf (room for 2048 bytes); its length. */
size_t sock_frame(uint8_t *buf, uint8_t version, uint8_t op, uint32_t stream, const char *payload);
/* TCP_NODELAY, and receives that give up after SOCK_WAIT_MS. */
void sock_timeouts(int fd);

#endif
