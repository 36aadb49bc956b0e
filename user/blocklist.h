/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The blocklist: source prefixes refused on the router's ports. mcpd keeps the list; where the
 * XDP guard runs, every entry is mirrored at once into its LPM maps (mcp_block_v4/v6) so the
 * kernel drops the packets; elsewhere mcpd refuses the connections and datagrams itself.
 * Entries may expire; mcpd removes them from both places.
 */
#ifndef MCP_BLOCKLIST_H
#define MCP_BLOCKLIST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "addr.h"
#include "stats.h"
#include "control.pb-c.h"

#define MCP_BLOCK_MAX	  4096
#define MCP_BLOCK_REASON  32

struct block_entry {
	struct mcp_prefix p;
	uint64_t expires_ms; /* CLOCK_MONOTONIC ms; 0 = until removed */
	uint64_t hits;	     /* refused in userspace */
	char reason[MCP_BLOCK_REASON];
};

struct blocklist {
	struct block_entry e[MCP_BLOCK_MAX];
	int n;
	int v4_fd, v6_fd; /* the guard's maps, -1 when it is not attached */
};

/* Empty, without the guard's maps; NULL when out of memory. */
struct blocklist *blocklist_new(void);
void blocklist_free(struct blocklist *b);
/* Add or refresh; ttl_ms 0 = no expiry. 0, or -errno (-ENOSPC when full). */
int blocklist_add(struct blocklist *b, const struct mcp_prefix *p, uint64_t ttl_ms,
		  const char *reason, uint64_t now_ms);
/* The entry for exactly this prefix, or NULL. */
struct block_entry *blocklist_find(struct blocklist *b, const struct mcp_prefix *p);
int blocklist_remove(struct blocklist *b, const struct mcp_prefix *p);
/* Is this source blocked? Counts a hit. */
bool blocklist_match(struct blocklist *b, const struct sockaddr *sa, uint64_t now_ms);
/* Drop expired entries (from the kernel maps too). */
void blocklist_expire(struct blocklist *b, uint64_t now_ms);
/* Kernel drops for an entry, from the guard's map (0 without it). */
uint64_t blocklist_kernel_hits(const struct blocklist *b, const struct block_entry *e);
/* The guard came (or went): mirror every entry into its maps. */
void blocklist_attach_maps(struct blocklist *b, int v4_fd, int v6_fd, uint64_t now_ms);
/* How many prefixes it holds. */
void blocklist_collect(const struct blocklist *b, metric_fn fn, void *ctx);
/* For a hot upgrade: the entries still in force, with the time each has left, as t->blocks
 * (freed by blocklist_save_free). 0, or -ENOMEM (nothing left to free). */
int blocklist_save(const struct blocklist *b, uint64_t now_ms, Mcp__Ctl__Takeover *t);
void blocklist_save_free(Mcp__Ctl__Takeover *t);
/* The entries another mcpd saved (mirrored into the guard's maps when attached): how many could
 * not be restored, each logged. */
int blocklist_restore(struct blocklist *b, const Mcp__Ctl__Takeover *t, uint64_t now_ms);

#endif
