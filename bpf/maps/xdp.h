/* SPDX-License-Identifier: GPL-2.0-only */
/* The XDP guard's maps (include/mcp/xdp.h says what each holds). */
#ifndef MCP_BPF_MAPS_XDP_H
#define MCP_BPF_MAPS_XDP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/xdp.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_xdp_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_xdp_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_xdp_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MCP_BLOCK_ENTRIES);
	__type(key, struct mcp_lpm_v4);
	__type(value, struct mcp_block);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_block_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MCP_BLOCK_ENTRIES);
	__type(key, struct mcp_lpm_v6);
	__type(value, struct mcp_block);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_block_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MCP_RATE_ENTRIES);
	__type(key, struct mcp_rate_key);
	__type(value, struct mcp_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_rate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_newsrc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCP_XDP__COUNT);
	__type(key, __u32);
	__type(value, struct mcp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_xdp_stats SEC(".maps");

#endif
