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
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>
#include "mcp/wire.h"
#include "mcp/xdp.h"
#include "mcp_events.h"

struct {
	__uint(priority, 20);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(mcp_xdp_guard);

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

#define NS_PER_TOKEN 1000000000ull

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

static __always_inline int verdict(__u32 reason, __u32 bytes, int action)
{
	struct mcp_counter *c = bpf_map_lookup_elem(&mcp_xdp_stats, &reason);

	if (c) {
		c->count++;
		c->bytes += bytes;
	}
	return action;
}

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

static __always_inline int blocked(struct pkt *p)
{
	struct mcp_block *b;

	if (p->ip4) {
		struct mcp_lpm_v4 k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, &p->ip4->saddr, 4);
		b = bpf_map_lookup_elem(&mcp_block_v4, &k);
	} else if (p->ip6) {
		struct mcp_lpm_v6 k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, &p->ip6->saddr, 16);
		b = bpf_map_lookup_elem(&mcp_block_v6, &k);
	} else {
		return 0;
	}
	if (!b || (b->expires_ns && b->expires_ns < bpf_ktime_get_ns()))
		return 0;
	__sync_fetch_and_add(&b->hits, 1);
	return 1;
}

/* Take a token from bucket b (rate per second, burst tokens). 1 when one was there. */
static __always_inline int take_token(struct mcp_bucket *b, __u64 now, __u32 rate, __u32 burst)
{
	__u64 cap = (__u64)(burst ? burst : 1) * NS_PER_TOKEN, elapsed = now - b->last_ns;
	__u64 tokens = b->tokens_ns;

	if (elapsed > 10 * NS_PER_TOKEN)
		tokens = cap;
	else
		tokens += elapsed * rate;
	if (tokens > cap)
		tokens = cap;
	b->last_ns = now;
	if (tokens < NS_PER_TOKEN) {
		b->tokens_ns = tokens;
		return 0;
	}
	b->tokens_ns = tokens - NS_PER_TOKEN;
	return 1;
}

/* MCP_XDP__COUNT when the source may go on, else the drop reason. */
static __always_inline __u32 rate_limit(struct pkt *p)
{
	__u32 zero = 0;
	struct mcp_xdp_cfg *cfg = bpf_map_lookup_elem(&mcp_xdp_cfg, &zero);
	struct mcp_bucket *b, fresh;
	__u64 now;

	if (!cfg || !cfg->rate_pps)
		return MCP_XDP__COUNT;
	now = bpf_ktime_get_ns();
	b = bpf_map_lookup_elem(&mcp_rate, &p->src);
	if (b)
		return take_token(b, now, cfg->rate_pps, cfg->burst) ? MCP_XDP__COUNT
								      : MCP_XDP_DROP_RATE;
	/* A new source: admitted to the table only at newsrc_pps, so a flood of spoofed
	 * sources cannot flush the table of the real ones faster than that. */
	if (cfg->newsrc_pps) {
		struct mcp_bucket *ns = bpf_map_lookup_elem(&mcp_newsrc, &zero);

		if (ns && !take_token(ns, now, cfg->newsrc_pps, cfg->newsrc_pps))
			return MCP_XDP_DROP_NEW_SOURCE;
	}
	fresh.last_ns = now;
	fresh.tokens_ns = (__u64)(cfg->burst ? cfg->burst - 1 : 0) * NS_PER_TOKEN;
	bpf_map_update_elem(&mcp_rate, &p->src, &fresh, BPF_ANY);
	return MCP_XDP__COUNT;
}

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
