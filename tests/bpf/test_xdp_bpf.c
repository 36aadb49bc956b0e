// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP guard, table-driven through BPF_PROG_TEST_RUN in the running kernel: each case is
 * {description, input packet, expected verdict, expected counter, expected output packet}.
 * Packets and checksums are built here, independently of the program.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include "mcp/xdp.h"
#include "mcp_xdp.skel.h"
#include "pin_root.h"

#define PORT	7800
#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define XDP_TX_	  3

static struct mcp_xdp *skel;
static char pin_dir[64];

/* ---- packet building ----------------------------------------------------------------------- */

struct spec {
	int ipv6, vlan, ip_options; /* ip_options: extra 32-bit words in the IPv4 header */
	int frag;		    /* 1: MF set, 2: offset set */
	int tcp;		    /* 1: TCP SYN, 2: TCP ACK */
	uint16_t dport;
	const char *src; /* source address */
	int no_udp_csum;
	uint8_t mcp[64]; /* UDP payload */
	size_t mcp_len;
};

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Build the packet; returns its length. */
static size_t build(const struct spec *s, uint8_t *pkt)
{
	uint8_t *p = pkt, *l3, *l4;
	size_t l4len = s->tcp ? 20 : 8 + s->mcp_len;
	uint8_t srcaddr[16] = { 0 }, dstaddr[16] = { 0 };
	uint32_t sum;

	memcpy(p, "\x02\x00\x00\x00\x00\x01", 6); /* dst */
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x02", 6);
	p += 12;
	if (s->vlan) {
		memcpy(p, "\x81\x00\x00\x2a", 4);
		p += 4;
	}
	memcpy(p, s->ipv6 ? "\x86\xdd" : "\x08\x00", 2);
	p += 2;
	l3 = p;
	if (s->ipv6) {
		inet_pton(AF_INET6, s->src ? s->src : "2001:db8::1", srcaddr);
		inet_pton(AF_INET6, "2001:db8::2", dstaddr);
		memset(l3, 0, 40);
		l3[0] = 0x60;
		l3[4] = (uint8_t)(l4len >> 8);
		l3[5] = (uint8_t)l4len;
		l3[6] = s->tcp ? 6 : 17;
		l3[7] = 64;
		memcpy(l3 + 8, srcaddr, 16);
		memcpy(l3 + 24, dstaddr, 16);
		l4 = l3 + 40;
	} else {
		size_t ihl = 20 + 4 * (size_t)s->ip_options, tot = ihl + l4len;

		inet_pton(AF_INET, s->src ? s->src : "192.0.2.1", srcaddr);
		inet_pton(AF_INET, "192.0.2.2", dstaddr);
		memset(l3, 0, ihl);
		l3[0] = (uint8_t)(0x40 | (ihl / 4));
		l3[2] = (uint8_t)(tot >> 8);
		l3[3] = (uint8_t)tot;
		if (s->frag == 1)
			l3[6] = 0x20;
		if (s->frag == 2)
			l3[7] = 0x10;
		l3[8] = 64;
		l3[9] = s->tcp ? 6 : 17;
		memcpy(l3 + 12, srcaddr, 4);
		memcpy(l3 + 16, dstaddr, 4);
		for (int i = 0; i < s->ip_options; i++)
			l3[20 + 4 * i] = 1; /* NOP options */
		sum = fold(sum16(l3, ihl, 0));
		l3[10] = (uint8_t)(sum >> 8);
		l3[11] = (uint8_t)sum;
		l4 = l3 + ihl;
	}
	memset(l4, 0, l4len);
	l4[0] = 0x9c;
	l4[1] = 0x40; /* source port 40000 */
	l4[2] = (uint8_t)(s->dport >> 8);
	l4[3] = (uint8_t)s->dport;
	if (s->tcp) {
		l4[12] = 0x50;
		l4[13] = s->tcp == 1 ? 0x02 : 0x10;
		return (size_t)(l4 + l4len - pkt);
	}
	l4[4] = (uint8_t)(l4len >> 8);
	l4[5] = (uint8_t)l4len;
	memcpy(l4 + 8, s->mcp, s->mcp_len);
	if (!s->no_udp_csum) {
		size_t alen = s->ipv6 ? 16 : 4;

		sum = sum16(srcaddr, alen, 0);
		sum = sum16(dstaddr, alen, sum);
		sum += 17 + (uint32_t)l4len;
		sum = fold(sum16(l4, l4len, sum));
		if (!sum)
			sum = 0xFFFF;
		l4[6] = (uint8_t)(sum >> 8);
		l4[7] = (uint8_t)sum;
	}
	return (size_t)(l4 + l4len - pkt);
}

static size_t mcp(struct spec *s, uint8_t version, uint8_t op, size_t payload, int length_delta)
{
	uint8_t *m = s->mcp;
	size_t hlen = version == 2 ? 16 : 8;

	memcpy(m, "\x4d\x43\x50\x01", 4);
	m[4] = version;
	m[5] = op;
	m[6] = (uint8_t)((payload + (size_t)length_delta) >> 8);
	m[7] = (uint8_t)(payload + (size_t)length_delta);
	memset(m + 8, 0, 8);
	for (size_t i = 0; i < payload; i++)
		m[hlen + i] = (uint8_t)('a' + i);
	s->mcp_len = hlen + payload;
	return s->mcp_len;
}

/* ---- running ------------------------------------------------------------------------------- */

static uint64_t counter(int reason)
{
	struct mcp_counter v[512];
	uint32_t key = (uint32_t)reason;
	uint64_t sum = 0;
	int ncpu = libbpf_num_possible_cpus();

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.mcp_xdp_stats), &key, v), 0);
	for (int i = 0; i < ncpu; i++)
		sum += v[i].count;
	return sum;
}

/* Run pkt[0..len) and check the verdict and the counter; the output lands in out. */
static void run(const char *what, const uint8_t *pkt, size_t len, int want, int reason,
		uint8_t *out, uint32_t *out_len)
{
	static uint8_t sink[256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .data_out = out ? out : sink, .data_size_out = 256);
	uint64_t before = counter(reason);
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mcp_xdp_guard), &opts);

	if (err || (int)opts.retval != want || counter(reason) != before + 1)
		fail_msg("%s: err %d, verdict %u (want %d), counter %d moved by %llu", what, err,
			 opts.retval, want, reason, (unsigned long long)(counter(reason) - before));
	if (out_len)
		*out_len = opts.data_size_out;
}

static void check(const char *what, struct spec *s, int want, int reason)
{
	uint8_t pkt[256];
	size_t len = build(s, pkt);

	run(what, pkt, len, want, reason, NULL, NULL);
}

static struct spec udp(void)
{
	struct spec s = { .dport = PORT };

	return s;
}

/* ---- cases --------------------------------------------------------------------------------- */

static void test_valid_frames(void **state)
{
	struct spec s = udp();

	(void)state;
	mcp(&s, 1, 0x01, 10, 0);
	check("v1 GET", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	mcp(&s, 2, 0x02, 0, 0);
	check("v2 SET, empty", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	mcp(&s, 1, 0x6F, 20, 0);
	check("last request opcode", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	s.ipv6 = 1;
	mcp(&s, 2, 0x03, 5, 0);
	check("IPv6", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	s.ipv6 = 0;
	s.vlan = 1;
	check("802.1Q", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	s.vlan = 0;
	s.ip_options = 1;
	check("IPv4 options, ihl 6", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	s.ip_options = 10;
	check("IPv4 options, ihl 15", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	s.ip_options = 0;
	s.no_udp_csum = 1;
	check("no UDP checksum", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
}

static void test_invalid_fields(void **state)
{
	static const uint8_t bad_ops[] = { 0x00, 0x70, 0x71, 0x73, 0x74, 0x75, 0x7F, 0x80, 0x81, 0xEF, 0xF0, 0xFF };
	struct spec s = udp();

	(void)state;
	for (int i = 0; i < 4; i++) {
		mcp(&s, 1, 0x01, 4, 0);
		s.mcp[i] ^= 0x10;
		check("bad magic", &s, XDP_DROP_, MCP_XDP_DROP_BAD_MAGIC);
	}
	mcp(&s, 0, 0x01, 4, 0);
	check("version 0", &s, XDP_DROP_, MCP_XDP_DROP_BAD_VERSION);
	mcp(&s, 3, 0x01, 4, 0);
	check("version 3", &s, XDP_DROP_, MCP_XDP_DROP_BAD_VERSION);
	for (size_t i = 0; i < sizeof(bad_ops); i++) {
		mcp(&s, 1, bad_ops[i], 4, 0);
		check("opcode not a request or PING", &s, XDP_DROP_, MCP_XDP_DROP_BAD_OPCODE);
	}
	mcp(&s, 1, 0x01, 4, 1);
	check("length one more than the payload", &s, XDP_DROP_, MCP_XDP_DROP_BAD_LENGTH);
	mcp(&s, 1, 0x01, 4, -1);
	check("length one less than the payload", &s, XDP_DROP_, MCP_XDP_DROP_BAD_LENGTH);
	mcp(&s, 2, 0x01, 0, 0);
	s.mcp_len = 12; /* a v2 header needs 16 bytes */
	check("v2 header cut short", &s, XDP_DROP_, MCP_XDP_DROP_BAD_LENGTH);
	s.mcp_len = 5;
	check("less than a v1 header", &s, XDP_DROP_, MCP_XDP_DROP_TRUNCATED);
	memcpy(s.mcp, "GET / HTTP/1.0\r\n", 16);
	s.mcp_len = 16;
	check("not MCP", &s, XDP_DROP_, MCP_XDP_DROP_BAD_MAGIC);
}

static void test_truncated_at_every_length(void **state)
{
	uint8_t pkt[256];
	struct spec s = udp();

	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		size_t len, headers;

		s.ipv6 = v6;
		mcp(&s, 1, 0x01, 12, 0);
		len = build(&s, pkt);
		headers = 14 + (v6 ? 40 : 20) + 8;
		/* prog-test-run takes nothing shorter than an Ethernet header, nor does a NIC. */
		for (size_t cut = ETH_HLEN; cut < len; cut++) {
			char what[64];

			snprintf(what, sizeof(what), "IPv%d cut at %zu of %zu", v6 ? 6 : 4, cut, len);
			/* Until the ports are there the packet is nobody's; after, it is ours and short. */
			if (cut < headers - 4)
				run(what, pkt, cut, XDP_PASS_, MCP_XDP_PASS_OTHER, NULL, NULL);
			else
				run(what, pkt, cut, XDP_DROP_, MCP_XDP_DROP_TRUNCATED, NULL, NULL);
		}
		run("whole", pkt, len, XDP_PASS_, MCP_XDP_PASS_UDP, NULL, NULL);
	}
}

static void test_fragments_and_other_traffic(void **state)
{
	struct spec s = udp();

	(void)state;
	mcp(&s, 1, 0x01, 4, 0);
	s.frag = 1;
	check("first fragment", &s, XDP_DROP_, MCP_XDP_DROP_FRAGMENT);
	s.frag = 2;
	check("later fragment: no ports", &s, XDP_PASS_, MCP_XDP_PASS_OTHER);
	s.frag = 0;
	s.dport = 53;
	check("another port", &s, XDP_PASS_, MCP_XDP_PASS_OTHER);
	s.dport = PORT;
	s.tcp = 1;
	check("TCP SYN to the port", &s, XDP_PASS_, MCP_XDP_PASS_TCP);
	s.tcp = 2;
	check("TCP ACK to the port", &s, XDP_PASS_, MCP_XDP_PASS_TCP);
}

/* The PONG the guard must send: the PING with addresses and ports swapped, opcode 0x73. */
static void expect_pong(const char *what, struct spec s)
{
	uint8_t ping[256], want[256], got[256];
	size_t len;
	uint32_t got_len;
	struct spec r = s;

	len = build(&s, ping);
	r.mcp[5] = 0x73;
	build(&r, want);
	/* Swap what build() put in: MACs, addresses, ports. */
	size_t l3 = 14 + (s.vlan ? 4 : 0), alen = s.ipv6 ? 16 : 4,
	       src = l3 + (s.ipv6 ? 8 : 12), l4 = l3 + (s.ipv6 ? 40 : 20 + 4 * (size_t)s.ip_options);
	uint8_t t[16];
	memcpy(t, want, 6);
	memcpy(want, want + 6, 6);
	memcpy(want + 6, t, 6);
	memcpy(t, want + src, alen);
	memcpy(want + src, want + src + alen, alen);
	memcpy(want + src + alen, t, alen);
	memcpy(t, want + l4, 2);
	memcpy(want + l4, want + l4 + 2, 2);
	memcpy(want + l4 + 2, t, 2);
	run(what, ping, len, XDP_TX_, MCP_XDP_TX_PONG, got, &got_len);
	assert_int_equal(got_len, len); /* never larger than the PING */
	assert_memory_equal(got, want, len);
}

static void test_ping_pong_bytes(void **state)
{
	struct spec s = udp();

	(void)state;
	mcp(&s, 1, 0x72, 6, 0);
	expect_pong("IPv4 PING", s);
	mcp(&s, 2, 0x72, 0, 0);
	expect_pong("IPv4 v2 PING, empty", s);
	s.no_udp_csum = 1;
	expect_pong("IPv4 PING without UDP checksum", s);
	s.no_udp_csum = 0;
	s.ipv6 = 1;
	mcp(&s, 1, 0x72, 11, 0);
	expect_pong("IPv6 PING", s);
	s.vlan = 1;
	expect_pong("IPv6 PING, 802.1Q", s);
	s.ipv6 = 0;
	s.ip_options = 3;
	expect_pong("IPv4 PING, options, 802.1Q", s);
	/* Whatever the payload, the checksum update must hold: try many. */
	s = udp();
	for (int i = 0; i < 40; i++) {
		mcp(&s, 1 + i % 2, 0x72, (size_t)i, 0);
		for (int j = 0; j < i; j++)
			s.mcp[(i % 2 ? 16 : 8) + j] = (uint8_t)(i * 37 + j * 11);
		expect_pong("PING with varied payload", s);
	}
}

static void block(const char *prefix, int len, uint64_t expires_ns)
{
	struct mcp_block v = { .expires_ns = expires_ns };

	if (strchr(prefix, ':')) {
		struct mcp_lpm_v6 k = { .prefixlen = (uint32_t)len };

		inet_pton(AF_INET6, prefix, k.addr);
		assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_block_v6), &k, &v, 0), 0);
	} else {
		struct mcp_lpm_v4 k = { .prefixlen = (uint32_t)len };

		inet_pton(AF_INET, prefix, k.addr);
		assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_block_v4), &k, &v, 0), 0);
	}
}

static void test_blocklist(void **state)
{
	struct spec s = udp();

	(void)state;
	block("10.1.0.0", 16, 0);
	block("10.9.9.0", 24, 1); /* expired long ago */
	block("2001:db8:bad::", 48, 0);
	mcp(&s, 1, 0x01, 4, 0);
	s.src = "10.1.2.3";
	check("in a blocked /16", &s, XDP_DROP_, MCP_XDP_DROP_BLOCKED);
	s.tcp = 1;
	check("TCP SYN from a blocked /16", &s, XDP_DROP_, MCP_XDP_DROP_BLOCKED);
	s.tcp = 0;
	s.src = "10.2.0.1";
	check("outside it", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	s.src = "10.9.9.9";
	check("in an expired entry", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	s.ipv6 = 1;
	s.src = "2001:db8:bad:1::5";
	check("in a blocked IPv6 /48", &s, XDP_DROP_, MCP_XDP_DROP_BLOCKED);
	s.src = "2001:db8:600d::5";
	check("outside it", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	s.src = "10.1.2.3";
	s.ipv6 = 0;
	s.dport = 53;
	check("blocked source, another port: not ours", &s, XDP_PASS_, MCP_XDP_PASS_OTHER);
}

static void set_rate(uint32_t rate, uint32_t burst, uint32_t newsrc)
{
	struct mcp_xdp_cfg c = { .rate_pps = rate, .burst = burst, .newsrc_pps = newsrc };
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_xdp_cfg), &zero, &c, 0), 0);
}

static void test_rate_limit(void **state)
{
	struct spec s = udp();

	(void)state;
	set_rate(1, 3, 0); /* one a second, bursts of three */
	mcp(&s, 1, 0x01, 4, 0);
	s.src = "198.51.100.7";
	for (int i = 0; i < 3; i++)
		check("within the burst", &s, XDP_PASS_, MCP_XDP_PASS_UDP);
	check("over the rate", &s, XDP_DROP_, MCP_XDP_DROP_RATE);
	mcp(&s, 1, 0x72, 0, 0);
	check("a PING over the rate gets no PONG", &s, XDP_DROP_, MCP_XDP_DROP_RATE);
	s.tcp = 1;
	check("a SYN over the rate", &s, XDP_DROP_, MCP_XDP_DROP_RATE);
	s.tcp = 2;
	check("established TCP is not limited", &s, XDP_PASS_, MCP_XDP_PASS_TCP);
	s.tcp = 0;
	s.src = "198.51.100.8";
	mcp(&s, 1, 0x01, 4, 0);
	check("another source has its own bucket", &s, XDP_PASS_, MCP_XDP_PASS_UDP);

	/* New sources enter the table at newsrc_pps (per CPU; the test runs on one). */
	set_rate(1000, 10, 2);
	char addr[32];
	int dropped = 0;
	for (int i = 0; i < 6; i++) {
		uint8_t pkt[256];
		size_t len;
		static uint8_t out[256];
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_out = out, .data_size_out = 256);

		snprintf(addr, sizeof(addr), "203.0.113.%d", 10 + i);
		s.src = addr;
		len = build(&s, pkt);
		o.data_in = pkt;
		o.data_size_in = (uint32_t)len;
		assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mcp_xdp_guard), &o), 0);
		dropped += o.retval == XDP_DROP_;
	}
	assert_true(dropped >= 3); /* at most the burst of 2 (plus refill) got in */
	set_rate(0, 0, 0);
}

static int setup(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct err e;
	uint8_t both = MCP_PORT_TCP | MCP_PORT_UDP;
	uint32_t port = PORT;

	(void)state;
	/* Pin in a directory of our own, so a running mcpd's maps are not touched. */
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/mcp-test-%d", getpid());
	if (pin_root_prepare(pin_dir, &e)) { /* bpffs may not be mounted yet */
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	opts.pin_root_path = pin_dir;
	skel = mcp_xdp__open_opts(&opts);
	if (!skel || mcp_xdp__load(skel))
		return -1;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_xdp_ports), &port, &both, 0);
}

static int teardown(void **state)
{
	(void)state;
	bpf_object__unpin_maps(skel->obj, NULL);
	mcp_xdp__destroy(skel);
	pin_root_remove(pin_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_frames),
		cmocka_unit_test(test_invalid_fields),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_fragments_and_other_traffic),
		cmocka_unit_test(test_ping_pong_bytes),
		cmocka_unit_test(test_blocklist),
		cmocka_unit_test(test_rate_limit),
	};

	if (geteuid() != 0) {
		printf("SKIPPED: loading an XDP program needs root\n");
		return 77;
	}
	return cmocka_run_group_tests_name("xdp_guard", tests, setup, teardown);
}
