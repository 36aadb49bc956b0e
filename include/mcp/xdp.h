/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The XDP guard's maps, shared by bpf/mcp_xdp.bpf.c and mcpd. Pinned under /sys/fs/bpf/mcp/:
 *
 *   mcp_xdp_ports  ARRAY 65536   port (host order) -> MCP_PORT_TCP | MCP_PORT_UDP | ...
 *   mcp_xdp_cfg    ARRAY 1       struct mcp_xdp_cfg (rates; mcpd writes it)
 *   mcp_block_v4   LPM_TRIE      struct mcp_lpm_v4 -> struct mcp_block
 *   mcp_block_v6   LPM_TRIE      struct mcp_lpm_v6 -> struct mcp_block
 *   mcp_rate       LRU_HASH      struct mcp_rate_key -> struct mcp_bucket (per source)
 *   mcp_newsrc     PERCPU_ARRAY 1 struct mcp_bucket (sources new to mcp_rate)
 *   mcp_xdp_stats  PERCPU_ARRAY  enum mcp_xdp_reason -> struct mcp_counter
 */
#ifndef MCP_XDP_H
#define MCP_XDP_H

#include <linux/types.h>
#include "mcp/maps.h"
#include "mcp/bucket.h"

#define MCP_MAP_XDP_PORTS "mcp_xdp_ports"
#define MCP_MAP_XDP_CFG	  "mcp_xdp_cfg"
#define MCP_MAP_BLOCK_V4  "mcp_block_v4"
#define MCP_MAP_BLOCK_V6  "mcp_block_v6"
#define MCP_MAP_RATE	  "mcp_rate"
#define MCP_MAP_NEWSRC	  "mcp_newsrc"
#define MCP_MAP_XDP_STATS "mcp_xdp_stats"

#define MCP_PORT_TCP	    1
#define MCP_PORT_UDP	    2
#define MCP_PORT_PING_TO_MCPD 4 /* UDP PINGs go up to mcpd (udp_verify: its PONG has a cookie) */


struct mcp_xdp_cfg {
	__u32 rate_pps;	       /* per source: UDP frames and TCP SYNs per second; 0 = no limit */
	__u32 burst;	       /* bucket size */
	__u32 newsrc_pps;      /* sources entering the rate table per second, per CPU; 0 = no limit */
	__u32 _pad;
};

struct mcp_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct mcp_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

struct mcp_block {
	__u64 expires_ns; /* bpf_ktime_get_ns() deadline; 0 = until removed */
	__u64 hits;
};

/* Sources are bucketed by IPv4 address or IPv6 /64 (one host rarely owns less). */
struct mcp_rate_key {
	__u8 family; /* 4 or 6 */
	__u8 _pad[3];
	__u8 addr[16];
};

MCP_STATIC_ASSERT(sizeof(struct mcp_xdp_cfg) == 16, "mcp_xdp_cfg");
MCP_STATIC_ASSERT(sizeof(struct mcp_lpm_v4) == 8, "mcp_lpm_v4");
MCP_STATIC_ASSERT(sizeof(struct mcp_lpm_v6) == 20, "mcp_lpm_v6");
MCP_STATIC_ASSERT(sizeof(struct mcp_rate_key) == 20, "mcp_rate_key");

enum mcp_xdp_reason {
	MCP_XDP_PASS_OTHER = 0,	  /* not for the router's ports */
	MCP_XDP_PASS_UDP,	  /* a valid MCP datagram, to mcpd */
	MCP_XDP_PASS_TCP,	  /* TCP to the router's port */
	MCP_XDP_TX_PONG,	  /* a PING answered in place */
	MCP_XDP_DROP_TRUNCATED,	  /* shorter than its headers say */
	MCP_XDP_DROP_FRAGMENT,	  /* a fragmented datagram to the port */
	MCP_XDP_DROP_BAD_MAGIC,	  /* not MCP */
	MCP_XDP_DROP_BAD_VERSION, /* not 1 or 2 */
	MCP_XDP_DROP_BAD_OPCODE,  /* not a request or PING */
	MCP_XDP_DROP_BAD_LENGTH,  /* length != payload */
	MCP_XDP_DROP_BLOCKED,	  /* source in the blocklist */
	MCP_XDP_DROP_RATE,	  /* source over its rate */
	MCP_XDP_DROP_NEW_SOURCE,  /* too many new sources per second */
	MCP_XDP__COUNT,
};

/*
 * One UDP datagram's payload as one MCP frame (docs/protocol.md, "UDP"): magic, version 1 or 2, a request
 * or PING, and `length` equal to the payload minus the header. `h` holds at least the first
 * MCP_HDR_V1_LEN bytes when plen allows. The same rule in the XDP guard and in mcpd.
 * Returns MCP_XDP_PASS_UDP, MCP_XDP_TX_PONG (a PING) or the drop reason.
 */
static __always_inline __u32 mcp_udp_check(const __u8 *h, __u32 plen)
{
	if (plen < MCP_HDR_V1_LEN)
		return MCP_XDP_DROP_TRUNCATED;
	__u32 at;

	/* Magic and version: the TCP rules (any version); opcode and length are UDP's own. */
	switch (mcp_check_prefix(h, MCP_OFF_OPCODE, 0, 0, MCP_PEER_ANY, &at)) {
	case MCP_CHECK_BAD_MAGIC:
		return MCP_XDP_DROP_BAD_MAGIC;
	case MCP_CHECK_BAD_VERSION:
		return MCP_XDP_DROP_BAD_VERSION;
	}
	if (!mcp_udp_opcode_allowed(h[MCP_OFF_OPCODE]))
		return MCP_XDP_DROP_BAD_OPCODE;
	if (plen < mcp_hdr_len(h[MCP_OFF_VERSION]) ||
	    mcp_hdr_length(h) != plen - mcp_hdr_len(h[MCP_OFF_VERSION]))
		return MCP_XDP_DROP_BAD_LENGTH;
	return h[MCP_OFF_OPCODE] == MCP_OP_PING ? MCP_XDP_TX_PONG : MCP_XDP_PASS_UDP;
}

#endif /* MCP_XDP_H */
