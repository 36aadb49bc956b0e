/* SPDX-License-Identifier: GPL-2.0-only */
/* The TCP fast path's counters: frames per direction and opcode, skbs per verdict reason. */
#ifndef MCP_BPF_MAPS_STATS_H
#define MCP_BPF_MAPS_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCP_OP_STATS_ENTRIES);
	__type(key, __u32);
	__type(value, struct mcp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_op_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCP_DP_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct mcp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_dp_stats SEC(".maps");

#endif
