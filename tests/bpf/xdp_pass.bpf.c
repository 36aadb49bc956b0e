// SPDX-License-Identifier: GPL-2.0-only
/*
 * XDP_PASS, nothing else. Tests attach it to the client end of a veth pair: a veth delivers
 * frames another program sends back with XDP_TX only when its peer runs XDP (NAPI).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass_all(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
