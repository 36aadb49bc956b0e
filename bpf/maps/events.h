/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's reports to mcpd's anomaly detector: one ring buffer, shared by the sockmap
 * verdict and the XDP guard (pinned by name, so both programs find the same one), and each
 * CPU's budget of reports a second.
 */
#ifndef MCP_BPF_MAPS_EVENTS_H
#define MCP_BPF_MAPS_EVENTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MCP_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_ev_budget);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mcp_ev_budget SEC(".maps");

#endif
