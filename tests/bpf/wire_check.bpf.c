// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runs the header rules of include/mcp/wire.h inside the kernel, for tests: the packet holds
 * a 14-byte filler (prog-test-run wants an Ethernet-sized packet) and then an MCP header.
 * The verdict lands in `result`; the rule settings come from the test through .bss.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "mcp/wire.h"

#define FILLER 14

__u32 want_version;
__u32 max_frame;
__u32 peer;
__s32 result = -1;

SEC("xdp")
int mcp_wire_check(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	__u8 *h = data + FILLER;

	if ((void *)(h + MCP_HDR_V1_LEN) > (void *)end) {
		result = -2;
		return XDP_DROP;
	}
	result = mcp_check_header(h, (__u8)want_version, max_frame, (int)peer);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
