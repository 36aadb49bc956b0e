/* SPDX-License-Identifier: GPL-2.0-only */
/* Where each request opcode goes: opcode -> slot (pool + 1; 0: no route). Both TCP paths. */
#ifndef MCP_BPF_MAPS_ROUTES_H
#define MCP_BPF_MAPS_ROUTES_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_routes SEC(".maps");

#endif
