/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TCP fast path's maps (include/mcp/maps.h says what each holds, and who writes it).
 */
#ifndef MCP_BPF_MAPS_SOCKMAP_H
#define MCP_BPF_MAPS_SOCKMAP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/maps.h"
#include "maps/routes.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_sock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct mcp_sock_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_sock_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, __u64);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_sock_fwd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_sock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_sock_redir SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCP_MAX_SOCKS);
	__type(key, struct mcp_sock_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_sock_full SEC(".maps");

#endif
