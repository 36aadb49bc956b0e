// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP guard: the first thing every packet meets on the router's interfaces.
 *
 * For TCP and UDP packets to the router's ports (mcp_xdp_ports) it drops sources in the
 * blocklist (longest-prefix match, IPv4 and IPv6), rate limits TCP SYNs and UDP frames per
 * source with a token bucket, checks every UDP datagram as one MCP frame (docs/protocol.md, "UDP"), drops
 * what is not MCP, answers PING with PONG in place (XDP_TX, never larger than the PING), and
 * counts every decision by reason. Everything else passes untouched. It runs behind libxdp's
 * dispatcher, so other XDP programs share the interface.
 */
#include <linux/bpf.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>
#include "lib/blocklist.h"
#include "lib/counters.h"
#include "lib/events.h"
#include "lib/parse.h"
#include "lib/rate_limit.h"
#include "lib/udp_pong.h"
#include "maps/xdp.h"

struct {
	__uint(priority, 20);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(mcp_xdp_guard);

static __always_inline int verdict(__u32 reason, __u32 bytes, int action)
{
	mcp_count(&mcp_xdp_stats, reason, bytes);
	return action;
}

static __always_inline int judge_udp(struct pkt *p, __u32 len, __u8 flags)
{
	struct udphdr *udp = p->l4;
	__u32 ulen, plen;
	__u8 *mcp;
	__u32 r;

	if ((void *)(udp + 1) > p->end)
		return verdict(MCP_XDP_DROP_TRUNCATED, len, XDP_DROP);
	ulen = bpf_ntohs(udp->len);
	mcp = (void *)(udp + 1);
	if (ulen < sizeof(*udp) || (void *)udp + ulen > p->end)
		return verdict(MCP_XDP_DROP_TRUNCATED, len, XDP_DROP);
	plen = ulen - sizeof(*udp);
	if ((void *)(mcp + MCP_HDR_V1_LEN) > p->end)
		return verdict(MCP_XDP_DROP_TRUNCATED, len, XDP_DROP);
	r = mcp_udp_check(mcp, plen);
	if (r != MCP_XDP_PASS_UDP && r != MCP_XDP_TX_PONG) {
		/* A protocol violation: mcpd's anomaly detector wants the source. */
		struct mcp_event ev = { .origin = MCP_EV_XDP, .reason = (__u8)r,
					.family = p->src.family };

		__builtin_memcpy(ev.addr, p->src.addr, 16);
		mcp_report(&ev);
		return verdict(r, len, XDP_DROP);
	}
	r = rate_limit(p);
	if (r != MCP_XDP__COUNT)
		return verdict(r, len, XDP_DROP);
	if (mcp[MCP_OFF_OPCODE] == MCP_OP_PING && !(flags & MCP_PORT_PING_TO_MCPD))
		return verdict(MCP_XDP_TX_PONG, len, pong(p, udp, mcp));
	return verdict(MCP_XDP_PASS_UDP, len, XDP_PASS);
}

SEC("xdp")
int mcp_xdp_guard(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data, port, r;
	struct pkt p = {};
	__u8 *flags;

	if (parse_l3(ctx, &p))
		return verdict(MCP_XDP_PASS_OTHER, len, XDP_PASS);
	if (p.proto != IPPROTO_UDP && p.proto != IPPROTO_TCP)
		return verdict(MCP_XDP_PASS_OTHER, len, XDP_PASS);
	if (p.fragment == 2)
		return verdict(MCP_XDP_PASS_OTHER, len, XDP_PASS); /* no ports to look at */
	/* Both headers start with the ports; the destination port is bytes 2-3. */
	if (p.l4 + 4 > p.end)
		return verdict(MCP_XDP_PASS_OTHER, len, XDP_PASS);
	port = bpf_ntohs(((__be16 *)p.l4)[1]);
	flags = bpf_map_lookup_elem(&mcp_xdp_ports, &port);
	if (!flags || !(*flags & (p.proto == IPPROTO_UDP ? MCP_PORT_UDP : MCP_PORT_TCP)))
		return verdict(MCP_XDP_PASS_OTHER, len, XDP_PASS);

	if (blocked(&p))
		return verdict(MCP_XDP_DROP_BLOCKED, len, XDP_DROP);
	if (p.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p.l4;

		if ((void *)(tcp + 1) > p.end)
			return verdict(MCP_XDP_DROP_TRUNCATED, len, XDP_DROP);
		if (tcp->syn && !tcp->ack) {
			r = rate_limit(&p);
			if (r != MCP_XDP__COUNT)
				return verdict(r, len, XDP_DROP);
		}
		return verdict(MCP_XDP_PASS_TCP, len, XDP_PASS);
	}
	if (p.fragment)
		return verdict(MCP_XDP_DROP_FRAGMENT, len, XDP_DROP);
	return judge_udp(&p, len, *flags);
}

char LICENSE[] SEC("license") = "GPL";
