/* SPDX-License-Identifier: GPL-2.0-only */
/* mcpd's configuration: an INI file parsed with inih, checked whole before it is used. */
#ifndef MCP_CONFIG_H
#define MCP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <sys/socket.h>
#include "mcp/maps.h"
#include "addr.h"
#include "ctl_request.h"
#include "frame.h"
#include "err.h"

#define MCP_MAX_LISTEN	   8
#define MCP_MAX_BACKENDS   32
#define MCP_POOL_NAME_MAX  32
#define MCP_DEFAULT_LISTEN "127.0.0.1:7800"
#define MCP_MAX_XDP_IFACES 8
#define MCP_IFNAME_MAX	   16

enum mcp_datapath { MCP_DATAPATH_AUTO = 0, MCP_DATAPATH_BPF, MCP_DATAPATH_USER };
enum mcp_xdp_mode { MCP_XDP_MODE_AUTO = 0, MCP_XDP_MODE_NATIVE, MCP_XDP_MODE_SKB };
/* `auth`: whether a HELLO must carry a signed identity (docs/protocol.md, "Identity"). */
enum mcp_auth_mode { MCP_AUTH_MODE_OFF = 0, MCP_AUTH_MODE_OPTIONAL, MCP_AUTH_MODE_REQUIRED };

#define MCP_MAX_CLIENTS	    64
#define MCP_CLIENT_NAME_MAX 48 /* a [client NAME] section's name, in bytes */

/* A [client NAME] section: what a verified identity (or `anonymous`) may do, at most. */
struct mcp_client_cfg {
	char name[MCP_CLIENT_NAME_MAX + 1];
	uint64_t opcodes[4]; /* `allow`: bit op; every request opcode when not given */
	uint32_t pools;	     /* `pools`: bit p; every pool when not given */
	uint32_t rate_fps;   /* `rate_fps`: 0, no limit */
};

struct mcp_pool_cfg {
	char name[MCP_POOL_NAME_MAX];
	struct mcp_addr backends[MCP_MAX_BACKENDS];
	int n_backends;
};

struct mcp_config {
	char path[PATH_MAX];
	struct mcp_addr listen[MCP_MAX_LISTEN];
	int n_listen;
	int datapath; /* enum mcp_datapath */
	int remote_datapath; /* with datapath auto: MCP_DATAPATH_USER or _BPF for remote sessions */
	char inline_cgroup[PATH_MAX]; /* whose local sockets the inline path takes; "": cgroup v2 root */
	uint32_t inline_max_flight;   /* requests in flight per inline session; past it, mcpd's */
	uint32_t inline_max_unread;   /* answers' bytes an inline client may leave unread; past
					 them, mcpd's */
	uint32_t kernel_max_held;     /* bytes the kernel path may hold for one session; past
					 them, it ends */
	uint32_t max_frame;
	uint32_t heartbeat_ms;
	uint32_t idle_timeout_ms;
	uint32_t max_sessions;
	uint32_t connect_timeout_ms; /* backend connect + HELLO */
	uint32_t partial_timeout_ms; /* a frame begun must be complete within this */
	uint32_t stall_timeout_ms;   /* a peer that reads nothing for this long ends its session */
	uint32_t backend_down_ms;    /* how long a refusing backend is left alone */
	uint32_t handshake_timeout_ms; /* a connection must complete HELLO within this */
	uint32_t max_unnegotiated;     /* connections without a HELLO yet, at most (oldest go) */
	uint64_t max_queued_bytes;     /* all sessions' buffers together; past it the largest end */
	struct mcp_pool_cfg pools[MCP_MAX_POOLS];
	int n_pools;
	uint8_t routes[256]; /* request opcode -> pool index + 1; 0: no route */
	char xdp_ifaces[MCP_MAX_XDP_IFACES][MCP_IFNAME_MAX];
	int n_xdp_ifaces;
	int xdp_mode;	     /* enum mcp_xdp_mode */
	uint32_t rate_pps;   /* per source, UDP frames and TCP SYNs; 0: no limit */
	uint32_t rate_burst;
	uint32_t newsrc_pps; /* new sources admitted to the rate table per second and CPU */
	char control[108];   /* the control socket's path; empty: none */
	char pin_root[96];   /* where the BPF maps are pinned (a directory on bpffs) */
	struct mcp_addr metrics; /* where /metrics is served; len 0: not served */
	uint32_t metrics_per_source; /* HTTP connections one source address may hold */
	uint32_t udp_relays;	     /* UDP relay sockets at once; past it the least recent goes */
	uint32_t udp_relay_idle_ms;  /* a relay socket unused this long is closed */
	bool udp_verify;	     /* relay only for sources that echo their PONG's cookie */
	uint32_t metrics_timeout_s;  /* an HTTP connection idle this long is closed */
	bool auto_block;
	bool tcp_nodelay; /* TCP_NODELAY on client and backend sockets (latency over batching) */
	uint32_t auto_block_ttl_s;
	uint32_t anomaly_sigma;	       /* how many standard deviations over the baseline */
	uint32_t anomaly_bad_frames;   /* per source per second, at least */
	uint32_t anomaly_new_sessions; /* per source per second, at least */
	uint32_t anomaly_auth_failures; /* failed HELLO tokens per source per second, at least */
	int auth;		       /* enum mcp_auth_mode */
	char auth_keys[PATH_MAX];      /* the key file; "" when auth is off */
	struct mcp_client_cfg clients[MCP_MAX_CLIENTS];
	int n_clients;
};

void mcp_config_defaults(struct mcp_config *cfg);
/* Load and check `path`. 0, or -errno with "file:line: reason" in e; cfg is then unusable. */
int mcp_config_load(const char *path, struct mcp_config *cfg, struct err *e);
const char *mcp_datapath_name(int dp);
/* "bpf", "user" or "auto" as enum mcp_datapath; -1 for anything else. */
int mcp_parse_datapath(const char *text);
const char *mcp_xdp_mode_name(int mode);
const char *mcp_auth_mode_name(int mode);
/* "GET, SET, 0x10-0x1f": request opcodes into set (bit op), or -EINVAL with the bad item in e. */
int mcp_parse_opcode_set(const char *text, uint64_t set[4], struct err *e);
/* The [client NAME] section for an identity, or NULL. */
const struct mcp_client_cfg *mcp_config_client(const struct mcp_config *cfg, const char *name);
/* The position of a pool by name, or -1. */
int mcp_config_pool_index(const struct mcp_config *cfg, const char *name);
/* Pools that some route uses: bit i for pool i. */
uint32_t mcp_config_pools_used(const struct mcp_config *cfg);
/*
 * Can `next` take over from a config whose pools were `names` (n of them), while sessions use
 * the positions in in_use (bit i: pool i)? Sessions hold their backends by pool position, so a
 * pool in use must keep its position; others may move, go, or come. 0, or -errno with e.
 */
int mcp_config_pools_kept(const char *const *names, int n, const struct mcp_config *next,
			  uint32_t in_use, struct err *e);

#endif
