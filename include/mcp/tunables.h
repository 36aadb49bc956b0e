/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The sizes the BPF programs and mcpd agree on, in one place. Each can be set at build time,
 * for both sides at once: make clean; make EXTRA_CFLAGS=-DMCP_MAX_SOCKS=262144
 */
#ifndef MCP_TUNABLES_H
#define MCP_TUNABLES_H

/* Sockets the fast path's maps hold (a session holds one per client and one per pool). */
#ifndef MCP_MAX_SOCKS
#define MCP_MAX_SOCKS (65536 * 2)
#endif

/* More frames than this in one skb: the verdict hands the skb to mcpd. */
#ifndef MCP_FRAMES_PER_SKB
#define MCP_FRAMES_PER_SKB 4096
#endif

/* The kernel's reports to mcpd's anomaly detector: ring size, and reports per second. */
#ifndef MCP_EVENTS_BYTES
#define MCP_EVENTS_BYTES (256 * 1024)
#endif
#ifndef MCP_EVENTS_PER_SEC
#define MCP_EVENTS_PER_SEC 4096
#endif

/* The XDP guard: sources in the rate table, prefixes in each blocklist. */
#ifndef MCP_RATE_ENTRIES
#define MCP_RATE_ENTRIES 65536
#endif
#ifndef MCP_BLOCK_ENTRIES
#define MCP_BLOCK_ENTRIES 16384
#endif

#endif
