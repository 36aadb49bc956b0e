/* SPDX-License-Identifier: GPL-2.0-only */
/* A UDP PING turned into its PONG in place, to go back out of the interface it came in on. */
#ifndef MCP_BPF_LIB_UDP_PONG_H
#define MCP_BPF_LIB_UDP_PONG_H

#include <linux/udp.h>
#include "lib/parse.h"

static __always_inline void swap_bytes(void *a, void *b, __u32 n)
{
	__u8 t[16];

	if (n > sizeof(t))
		return;
	__builtin_memcpy(t, a, n);
	__builtin_memcpy(a, b, n);
	__builtin_memcpy(b, t, n);
}

/* Turn the PING in place into its PONG: same size, addresses and ports swapped. */
static __always_inline int pong(struct pkt *p, struct udphdr *udp, __u8 *mcp)
{
	__u8 mac[ETH_ALEN];
	__u16 port;

	__builtin_memcpy(mac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, p->eth->h_dest, ETH_ALEN);
	__builtin_memcpy(p->eth->h_dest, mac, ETH_ALEN);
	if (p->ip4) {
		__be32 a = p->ip4->saddr;

		p->ip4->saddr = p->ip4->daddr; /* a swap leaves the IPv4 checksum as it is */
		p->ip4->daddr = a;
	} else if (p->ip6) {
		swap_bytes(&p->ip6->saddr, &p->ip6->daddr, 16);
	}
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	mcp[MCP_OFF_OPCODE] = mcp_answer_opcode(MCP_OP_PING); /* a PING (judge_udp) */
	/* The opcode is the low byte of a 16-bit word (UDP offset 12) of the checksummed data:
	 * the word grew by one (0x72 -> 0x73). RFC 1624: HC' = ~(~HC + ~m + m'), and
	 * ~m + m' = 1 in ones' complement. */
	if (udp->check) {
		__u32 sum = (__u16)~bpf_ntohs(udp->check);

		sum += 1;
		sum = (sum & 0xFFFF) + (sum >> 16);
		sum = (sum & 0xFFFF) + (sum >> 16);
		sum = (__u16)~sum;
		udp->check = bpf_htons(sum ? sum : 0xFFFF);
	}
	return XDP_TX;
}

#endif
