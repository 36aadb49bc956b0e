/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Runs the verdict's walk (bpf/lib/walk.h) in the kernel on chunks of a stream, through the
 * test program tests/bpf/walk_fixture.bpf.c and BPF_PROG_TEST_RUN, with a pin root of its own.
 * Used by the fixture table (test_walk_bpf.c) and the framer agreement fuzzer.
 */
#ifndef MCP_TEST_WALK_RUNNER_H
#define MCP_TEST_WALK_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include "mcp/maps.h"
#include "mcp/perm.h"
#include "err.h"

/* The longest chunk one run takes (an XDP test packet is one page, less room for the kernel). */
#define WALK_CHUNK_MAX 3000

struct walk_result {
	uint32_t dest;	 /* one destination of every frame, or MCP_DEST_NONE / MCP_DEST_DAEMON */
	uint32_t reason; /* enum mcp_dp_reason */
	uint32_t check;	 /* MCP_DP_PASS_INVALID: enum mcp_check ... */
	int32_t bad_at;	 /* ... at this byte, counted from the chunk's start */
	uint64_t frames; /* headers taken in the chunk */
	uint32_t taken;	 /* requests a restricted session may send, of those */
	uint64_t hash;	 /* every header taken so far, folded: opcode and length, in order */
	struct mcp_sock_state st; /* the socket's state after the chunk */
};

struct walk_runner;

/* NULL with the reason in e (not root, no BPF, ...). */
struct walk_runner *walk_runner_open(struct err *e);
void walk_runner_close(struct walk_runner *r);
/* A new stream: the socket's state as mcpd installs it, no routes, the hash at 0. */
int walk_runner_reset(struct walk_runner *r, uint8_t version, int peer, uint32_t max_frame);
int walk_runner_route(struct walk_runner *r, uint8_t opcode, uint32_t slot);
/* The session is restricted to p (include/mcp/perm.h); perms_get reads what the kernel holds. */
int walk_runner_perms(struct walk_runner *r, const struct mcp_perms *p);
int walk_runner_perms_get(struct walk_runner *r, struct mcp_perms *p);
/* Walk one chunk (at most WALK_CHUNK_MAX bytes). 0, or -errno. */
int walk_runner_chunk(struct walk_runner *r, const void *chunk, uint32_t len,
		      struct walk_result *out);
/* The frame hash, folded in userspace the way the fixture folds it in the kernel. */
uint64_t walk_fold(uint64_t hash, uint8_t opcode, uint16_t length);

#endif

/*
 * Walk a stream cut into chunks of the given lengths (the last one takes the rest) both in the
 * kernel and with mcpd's stream decoder, and compare after every chunk: frames taken (and
 * their opcodes and lengths, in order), the header bytes held, the payload still to come, and
 * where the stream broke and which rule. 0 when they agree; else -1 with the difference in why.
 * Routes: none (the decoder does not route; the walk's destinations are the fixture table's).
 */
int walk_agree(struct walk_runner *r, uint8_t version, int peer, uint32_t max_frame,
	       const uint8_t *stream, size_t len, const uint32_t *cuts, size_t ncuts, char *why,
	       size_t why_len);
