/* SPDX-License-Identifier: GPL-2.0-only */
/* The inline path's maps (include/mcp/maps.h says what each holds, and who writes it). */
#ifndef MCP_BPF_MAPS_INLINE_H
#define MCP_BPF_MAPS_INLINE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_tuple);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_inline_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_inline_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_tuple);
	__type(value, struct mcp_sock_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_inline_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_sock_key);
	__type(value, struct mcp_tuple);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_inline_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS / 2);
	__type(key, __u32);
	__type(value, struct mcp_inline_flight);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_inline_flight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCP_INLINE_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct mcp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_inline_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, __u64);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_inline_mine SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_tuple);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_inline_expect SEC(".maps");

#endif
