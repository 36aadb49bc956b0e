/* SPDX-License-Identifier: GPL-2.0-only */
/* Each restricted session's permissions and rate (include/mcp/perm.h), shared by the sk_skb
 * and sk_msg verdicts, and what they handed to mcpd for it, by reason. */
#ifndef MCP_BPF_MAPS_PERMS_H
#define MCP_BPF_MAPS_PERMS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/maps.h"
#include "mcp/perm.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS / 2);
	__type(key, __u32);
	__type(value, struct mcp_perms);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_perms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCP_PERM__COUNT);
	__type(key, __u32);
	__type(value, struct mcp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_perm_stats SEC(".maps");

#endif
