/* SPDX-License-Identifier: GPL-2.0-only */
/* Packet parsing for the XDP guard: Ethernet, one optional VLAN tag, IPv4 or IPv6. */
#ifndef MCP_BPF_LIB_PARSE_H
#define MCP_BPF_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include "mcp/xdp.h"

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* What the L3 parse found: the source, and where L4 starts. */
struct pkt {
	void *end;
	struct ethhdr *eth;
	struct iphdr *ip4;
	struct ipv6hdr *ip6;
	void *l4;
	__u8 proto;
	__u8 fragment;	    /* 1: first fragment, 2: a later one */
	struct mcp_rate_key src;
};

/* Ethernet, one optional 802.1Q tag, IPv4 (any header length) or IPv6. 0 when parsed. */
static __always_inline int parse_l3(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	__u16 proto;
	void *l3;

	p->end = (void *)(long)ctx->data_end;
	p->eth = data;
	if ((void *)(p->eth + 1) > p->end)
		return -1;
	proto = p->eth->h_proto;
	l3 = p->eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > p->end)
			return -1;
		proto = vh->encap_proto;
		l3 = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		__u32 ihl;

		if ((void *)(ip + 1) > p->end)
			return -1;
		ihl = ip->ihl * 4;
		if (ip->version != 4 || ihl < sizeof(*ip) || l3 + ihl > p->end)
			return -1;
		p->ip4 = ip;
		p->proto = ip->protocol;
		p->l4 = l3 + ihl;
		if (ip->frag_off & bpf_htons(0x1FFF))
			p->fragment = 2;
		else if (ip->frag_off & bpf_htons(0x2000))
			p->fragment = 1;
		p->src.family = 4;
		__builtin_memcpy(p->src.addr, &ip->saddr, 4);
		return 0;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > p->end)
			return -1;
		p->ip6 = ip6;
		p->proto = ip6->nexthdr; /* extension headers: not ours to judge, passed */
		p->l4 = ip6 + 1;
		p->src.family = 6;
		__builtin_memcpy(p->src.addr, &ip6->saddr, 8); /* the /64 */
		return 0;
	}
	return -1;
}

#endif
