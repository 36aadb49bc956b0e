/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What mcp-echo has seen (echo_stats.c): frames by opcode, sessions, the last HELLO's client id,
 * and the text report its --stats socket gives whoever connects (one report, then close).
 */
#ifndef MCP_ECHO_STATS_H
#define MCP_ECHO_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "messages.h"

struct echo_stats {
	uint64_t sessions;	   /* HELLOs answered with HELLO_ACK */
	uint64_t frames[256];	   /* TCP frames received, by opcode */
	uint64_t datagrams[256];   /* UDP requests received, by opcode */
	uint32_t last_udp_session; /* the `session` field of the last version 2 UDP request */
	char last_client_id[MCP_CLIENT_ID_MAX + 1]; /* of the last HELLO ("" for none) */
};

/* A TCP frame received (a HELLO's client id kept). */
void echo_stats_frame(struct echo_stats *s, const struct mcp_frame *f);
/* A UDP datagram of n bytes received (counted when it is a request). */
void echo_stats_datagram(struct echo_stats *s, const uint8_t *d, size_t n);
/*
 * The report, one fact per line:
 *   sessions N
 *   last_client_id ID              (bytes outside printable ASCII, space and \ as \xHH)
 *   last_udp_session 0xHHHHHHHH
 *   tcp 0xOP NAME N                (one line per opcode seen, in opcode order)
 *   udp 0xOP NAME N
 * Its length (cut at cap - 1, always terminated).
 */
size_t echo_stats_report(const struct echo_stats *s, char *out, size_t cap);
/* Answer everyone waiting on the listening socket with the report. 0 once none waits, or
 * -errno when accept failed otherwise (out of descriptors: the caller must make room, or its
 * listener stays readable with the client still waiting). */
int echo_stats_serve(int listen_fd, const struct echo_stats *s);

#endif
