// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcpbench: a closed-loop MCP load generator that checks every answer.
 *
 * Each connection says HELLO, then keeps `depth` requests in flight. A request's payload is
 * fully determined by (connection, sequence): it starts with the connection id, the sequence
 * number and the send time when it is large enough, and continues with bytes derived from
 * both. Every response must come back in order, with the response opcode and exactly the
 * payload sent; anything else is counted as reordered or corrupt, and requests never
 * answered are lost.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "addr.h"
#include "messages.h"
#include "stream_decoder.h"
#include "version.h"

#define STAMP_LEN 20 /* conn u32, seq u64, send time u64 */
#define HIST_SUB  16
#define HIST_LEN  (64 * HIST_SUB)

enum { C_CONNECTING, C_HELLO, C_RUNNING, C_DONE };

struct bconn {
	int fd;
	uint32_t id;
	int state;
	struct mcp_decoder dec;
	struct buf out;
	uint64_t next_send, next_recv;
	uint64_t pings_sent, pongs_received; /* PINGs: answered by the router, in their own order */
	uint64_t *sent_ns; /* ring of send times, by seq % depth */
	uint8_t *answered; /* ring: answered out of order, by seq % depth */
	int64_t last_by_op[256];
};

static struct {
	struct mcp_addr target;
	int connections, depth, size_lo, size_hi, version, json, chunk, ping_every, busy_poll, idle;
	int ping_op; /* PING is one of --ops */
	int udp;
	double duration, warmup, rate; /* rate: open loop, messages/s over all connections */
	uint64_t frames; /* per connection, 0 = until the duration ends */
	uint8_t ops[64];
	int n_ops;
	uint8_t token[MCP_TOKEN_MAX]; /* --token: the signed identity each HELLO carries */
	size_t token_len;
	int threads; /* each drives every threads-th connection in its own loop */
} opt = { .connections = 1, .depth = 1, .size_lo = 64, .size_hi = 64, .version = 1,
	  .duration = 5, .ops = { MCP_OP_GET }, .n_ops = 1, .threads = 1 };

/* What a thread counts (each its own; added up at the end for the report). */
struct bstats {
	uint64_t sent, received, reordered, corrupt, errors, closed_early;
	uint64_t measured, bytes; /* answers and their bytes after the warm-up */
	uint64_t hist[HIST_LEN];
	uint64_t max_ns; /* the slowest answer, exactly (the histogram rounds) */
	char last_error[512];
};

static __thread struct bstats st;
static __thread int measuring = 1; /* off during the warm-up */

/* The run's clock, the same for every thread. */
static uint64_t warm_end, end_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A small deterministic mix of (conn, seq), for sizes and payload bytes. */
static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	return x ^ (x >> 29);
}

static int frame_size(uint32_t conn, uint64_t seq)
{
	if (opt.size_hi == opt.size_lo)
		return opt.size_lo;
	return opt.size_lo + (int)(mix(conn, seq) % (uint64_t)(opt.size_hi - opt.size_lo + 1));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint8_t frame_op(uint64_t seq)
{
	return opt.ops[seq % (uint64_t)opt.n_ops];
}

/* A connection's output buffer could not grow: nothing a run can carry on without. */
static void out_of_memory(void)
{
	fprintf(stderr, "mcpbench: out of memory\n");
	exit(1);
}

/* A PING carries the connection id and its own sequence number; its PONG must echo them. */
static void queue_ping(struct bconn *c)
{
	uint8_t payload[12], *t = buf_reserve(&c->out, MCP_HDR_MAX_LEN + sizeof(payload));
	ssize_t n;

	if (!t)
		out_of_memory();
	mcp_put_be32(payload, c->id);
	put64(payload + 4, c->pings_sent++);
	n = mcp_build_ping(t, MCP_HDR_MAX_LEN + sizeof(payload), (uint8_t)opt.version, 0, payload,
			   sizeof(payload));
	c->out.len += (size_t)n;
	st.sent++;
}

static void check_pong(struct bconn *c, const struct mcp_frame *f)
{
	st.received++;
	if (f->length != 12 || get64(f->payload + 4) != c->pongs_received ||
	    mcp_be32_at(f->payload) != c->id)
		st.corrupt++;
	c->pongs_received++;
}

static uint8_t fill_byte(uint32_t conn, uint64_t seq, size_t i)
{
	return (uint8_t)(mix(conn, seq) >> ((i % 8) * 8)) ^ (uint8_t)i;
}

/* fill_byte repeats every FILL_PERIOD bytes: payloads are made and checked a block at a time
 * (byte by byte, a 16 KiB frame cost the load generator more than the router it measured). */
#define FILL_PERIOD 256

/* The block's first n bytes (all a payload of n bytes needs). */
static void fill_block(uint8_t block[FILL_PERIOD], size_t n, uint32_t conn, uint64_t seq)
{
	for (size_t i = 0; i < n && i < FILL_PERIOD; i++)
		block[i] = fill_byte(conn, seq, i);
}

static void fill(uint8_t *p, size_t from, size_t to, uint32_t conn, uint64_t seq)
{
	uint8_t block[FILL_PERIOD];

	fill_block(block, to, conn, seq);
	while (from < to) {
		size_t at = from % FILL_PERIOD, n = FILL_PERIOD - at < to - from ? FILL_PERIOD - at
										      : to - from;

		memcpy(p + from, block + at, n);
		from += n;
	}
}

static int filled(const uint8_t *p, size_t from, size_t to, uint32_t conn, uint64_t seq)
{
	uint8_t block[FILL_PERIOD];

	fill_block(block, to, conn, seq);
	while (from < to) {
		size_t at = from % FILL_PERIOD, n = FILL_PERIOD - at < to - from ? FILL_PERIOD - at
										      : to - from;

		if (memcmp(p + from, block + at, n))
			return 0;
		from += n;
	}
	return 1;
}

static void hist_add(uint64_t ns)
{
	int msb = 63 - __builtin_clzll(ns | 1), idx;

	if (msb < 4)
		idx = (int)ns;
	else
		idx = msb * HIST_SUB + (int)((ns >> (msb - 4)) & (HIST_SUB - 1));
	if (idx >= HIST_LEN)
		idx = HIST_LEN - 1;
	st.hist[idx]++;
	if (ns > st.max_ns)
		st.max_ns = ns;
}

static double hist_value(int idx)
{
	int msb = idx / HIST_SUB, sub = idx % HIST_SUB;

	if (msb < 4)
		return idx;
	return ldexp(1.0 + (sub + 0.5) / HIST_SUB, msb);
}

static double percentile(double p)
{
	uint64_t total = 0, want, seen = 0;

	for (int i = 0; i < HIST_LEN; i++)
		total += st.hist[i];
	if (!total)
		return 0;
	want = (uint64_t)ceil(p / 100.0 * (double)total);
	for (int i = 0; i < HIST_LEN; i++) {
		seen += st.hist[i];
		if (seen >= want)
			return hist_value(i);
	}
	return 0;
}

static void queue_request(struct bconn *c)
{
	uint64_t seq = c->next_send++;
	int size = frame_size(c->id, seq);
	struct mcp_frame f = { .version = (uint8_t)opt.version, .opcode = frame_op(seq),
			       .length = (uint16_t)size, .stream_id = (uint32_t)seq };
	size_t hlen = mcp_hdr_len(f.version);
	uint8_t *t = buf_reserve(&c->out, hlen + (size_t)size), *p;
	uint64_t now = now_ns();

	if (!t)
		out_of_memory();
	mcp_frame_encode_header(t, &f);
	p = t + hlen;
	fill(p, 0, (size_t)size, c->id, seq);
	if (size >= STAMP_LEN) {
		mcp_put_be32(p, c->id);
		put64(p + 4, seq);
		put64(p + 12, now);
	}
	c->out.len += hlen + (size_t)size;
	c->sent_ns[seq % (uint64_t)opt.depth] = now;
	st.sent++;
}

static void fail_conn(struct bconn *c, const char *why)
{
	if (c->state == C_DONE)
		return;
	snprintf(st.last_error, sizeof(st.last_error), "connection %u: %s", c->id, why);
	st.errors++;
	c->state = C_DONE;
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

/*
 * Which request does this response answer? v2: its stream id; v1: the sequence number in
 * the payload when the payload is large enough, else the oldest outstanding request.
 */
static uint64_t answered_seq(const struct bconn *c, const struct mcp_frame *f)
{
	if (f->version == MCP_VERSION_2)
		return (c->next_recv & ~0xFFFFFFFFull) | f->stream_id;
	if (f->length >= STAMP_LEN)
		return get64(f->payload + 4);
	return c->next_recv;
}

static int check_response(struct bconn *c, const struct mcp_frame *f)
{
	uint64_t seq = answered_seq(c, f), depth = (uint64_t)opt.depth;
	uint8_t op;
	int size, good = 1;

	st.received++;
	if (seq < c->next_recv || seq >= c->next_send || c->answered[seq % depth]) {
		st.corrupt++; /* answers nothing outstanding: a duplicate or garbage */
		return 0;
	}
	op = frame_op(seq);
	size = frame_size(c->id, seq);
	if (f->opcode != mcp_answer_opcode(op) || f->length != size)
		good = 0;
	if (good && f->length >= STAMP_LEN &&
	    mcp_be32_at(f->payload) != c->id)
		good = 0;
	if (good)
		good = filled(f->payload, f->length >= STAMP_LEN ? STAMP_LEN : 0, f->length, c->id, seq);
	if (!good)
		st.corrupt++;
	/* Answers from one pool keep their order; with one opcode, all answers do. */
	if (seq != c->next_recv && (opt.n_ops == 1 || (int64_t)seq < c->last_by_op[op]))
		st.reordered++;
	c->last_by_op[op] = (int64_t)seq;
	if (good && measuring) {
		hist_add(now_ns() - c->sent_ns[seq % depth]);
		st.measured++;
		st.bytes += (uint64_t)f->length + mcp_hdr_len(f->version);
	}
	c->answered[seq % depth] = 1;
	while (c->next_recv < c->next_send && c->answered[c->next_recv % depth]) {
		c->answered[c->next_recv % depth] = 0;
		c->next_recv++;
	}
	return 0;
}

static int on_frame(void *ctx, const struct mcp_frame *f)
{
	struct bconn *c = ctx;

	if (f->opcode == MCP_OP_HELLO_ACK && c->state == C_HELLO) {
		struct mcp_hello_ack ack;

		if (mcp_parse_hello_ack(f->payload, f->length, &ack) || ack.version != (uint32_t)opt.version) {
			fail_conn(c, "bad HELLO_ACK");
			return 1;
		}
		c->dec.fr.version = (uint8_t)opt.version;
		c->state = C_RUNNING;
		return 0;
	}
	if (f->opcode == MCP_OP_ERROR) {
		struct mcp_error e = { 0 };
		char why[400];

		mcp_parse_error(f->payload, f->length, &e);
		snprintf(why, sizeof(why), "ERROR %s: %s", mcp_error_code_name(e.code), e.message);
		fail_conn(c, why);
		return 1;
	}
	if (f->opcode == MCP_OP_CLOSE) {
		c->state = C_DONE;
		return 1;
	}
	if (c->state != C_RUNNING) {
		fail_conn(c, "frame before HELLO_ACK");
		return 1;
	}
	if (f->opcode == MCP_OP_PONG && !opt.ping_op) {
		check_pong(c, f);
		return 0;
	}
	return check_response(c, f);
}

/* UDP: one datagram per frame. */
static int flush_datagrams(struct bconn *c)
{
	while (c->out.len >= MCP_HDR_V1_LEN) {
		const uint8_t *h = c->out.data + c->out.head;
		size_t n = mcp_hdr_len(h[MCP_OFF_VERSION]) + mcp_hdr_length(h);
		ssize_t w = send(c->fd, h, n, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == ENOBUFS))
			return 1;
		if (w < 0) {
			fail_conn(c, strerror(errno));
			return -1;
		}
		buf_consume(&c->out, n);
	}
	return 0;
}

static int flush(struct bconn *c)
{
	if (opt.udp)
		return flush_datagrams(c);
	while (c->out.len) {
		size_t n = opt.chunk && (size_t)opt.chunk < c->out.len ? (size_t)opt.chunk : c->out.len;
		ssize_t w = send(c->fd, c->out.data + c->out.head, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EAGAIN)
			return 1;
		if (w < 0) {
			fail_conn(c, strerror(errno));
			return -1;
		}
		buf_consume(&c->out, (size_t)w);
	}
	return 0;
}

/* Open loop: send what the clock says is due, whatever has come back (up to depth). */
static void pace(struct bconn *c, uint64_t started, uint64_t now)
{
	double per_conn = opt.rate / opt.connections;
	uint64_t due = (uint64_t)((double)(now - started) / 1e9 * per_conn);

	while (c->state == C_RUNNING && c->next_send < due &&
	       c->next_send - c->next_recv < (uint64_t)opt.depth &&
	       (!opt.frames || c->next_send < opt.frames))
		queue_request(c);
}

static void top_up(struct bconn *c, int sending)
{
	if (opt.rate > 0)
		return; /* paced by pace() */
	while (sending && c->state == C_RUNNING && c->next_send - c->next_recv < (uint64_t)opt.depth &&
	       (!opt.frames || c->next_send < opt.frames)) {
		queue_request(c);
		if (opt.ping_every && c->next_send % (uint64_t)opt.ping_every == 0)
			queue_ping(c);
	}
}

static int start(struct bconn *c, int epfd)
{
	struct mcp_hello h = { .versions = { (uint32_t)opt.version }, .n_versions = 1 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	uint8_t buf[256 + MCP_TOKEN_MAX];
	int one = 1;

	c->sent_ns = calloc((size_t)opt.depth, sizeof(uint64_t));
	c->answered = calloc((size_t)opt.depth, 1);
	if (!c->sent_ns || !c->answered)
		out_of_memory();
	for (int i = 0; i < 256; i++)
		c->last_by_op[i] = -1;
	if (opt.udp) {
		/* No handshake over UDP: frames carry a version the router speaks. */
		struct epoll_event uev = { .events = EPOLLIN, .data.ptr = c };

		c->fd = socket(opt.target.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&opt.target.ss, opt.target.len))
			return -1;
		mcp_decoder_init(&c->dec, (uint8_t)opt.version, MCP_PEER_BACKEND, MCP_MAX_FRAME_LIMIT);
		c->state = C_RUNNING;
		return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &uev);
	}
	c->fd = socket(opt.target.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&opt.target.ss, opt.target.len) && errno != EINPROGRESS)
		return -1;
	snprintf(h.client_id, sizeof(h.client_id), "mcpbench-%u", c->id);
	memcpy(h.token, opt.token, opt.token_len);
	h.token_len = (uint32_t)opt.token_len;
	buf_append(&c->out, buf, (size_t)mcp_build_hello(buf, sizeof(buf), &h));
	mcp_decoder_init(&c->dec, 1, MCP_PEER_BACKEND, MCP_MAX_FRAME_LIMIT);
	c->state = C_HELLO;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static int parse_ops(const char *s)
{
	char copy[256], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", s);
	opt.n_ops = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		/* PING among the "requests": its PONG is its answer, checked like a response. */
		int op = !strcasecmp(t, "PING") ? MCP_OP_PING : mcp_parse_request_opcode(t);

		if (op < 0 || opt.n_ops == 64)
			return -1;
		opt.ping_op |= op == MCP_OP_PING;
		opt.ops[opt.n_ops++] = (uint8_t)op;
	}
	return opt.n_ops ? 0 : -1;
}

/* Whole-machine CPU time (user + nice + system + irq + softirq), in seconds: forwarding in
 * the kernel runs in softirq and kernel workers, not in any one process. */
static double machine_cpu_s(void)
{
	unsigned long long u, n, sy, idle, io, irq, sirq;
	FILE *f = fopen("/proc/stat", "r");
	double ticks = (double)sysconf(_SC_CLK_TCK);

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &sy, &idle, &io, &irq,
		   &sirq) != 7)
		u = n = sy = irq = sirq = 0;
	fclose(f);
	return (double)(u + n + sy + irq + sirq) / ticks;
}

static double cpu_used;

static void report(double secs)
{
	uint64_t lost = st.sent > st.received ? st.sent - st.received : 0;
	double mps = secs > 0 ? (double)st.measured / secs : 0;
	double mbps = secs > 0 ? (double)st.bytes / secs / 1e6 : 0;
	double cpu_us = st.measured ? cpu_used * 1e6 / (double)st.measured : 0;

	if (opt.json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "connections", json_object_new_int(opt.connections));
		json_object_object_add(o, "depth", json_object_new_int(opt.depth));
		json_object_object_add(o, "size_min", json_object_new_int(opt.size_lo));
		json_object_object_add(o, "size_max", json_object_new_int(opt.size_hi));
		json_object_object_add(o, "version", json_object_new_int(opt.version));
		json_object_object_add(o, "seconds", json_object_new_double(secs));
		json_object_object_add(o, "messages_per_sec", json_object_new_double(mps));
		json_object_object_add(o, "mb_per_sec", json_object_new_double(mbps));
		json_object_object_add(o, "cpu_us_per_message", json_object_new_double(cpu_us));
		json_object_object_add(o, "cpu_seconds", json_object_new_double(cpu_used));
		json_object_object_add(o, "p90_us", json_object_new_double(percentile(90) / 1e3));
		json_object_object_add(o, "p50_us", json_object_new_double(percentile(50) / 1e3));
		json_object_object_add(o, "p99_us", json_object_new_double(percentile(99) / 1e3));
		json_object_object_add(o, "p999_us", json_object_new_double(percentile(99.9) / 1e3));
		json_object_object_add(o, "max_us", json_object_new_double((double)st.max_ns / 1e3));
		json_object_object_add(o, "sent", json_object_new_int64((int64_t)st.sent));
		json_object_object_add(o, "received", json_object_new_int64((int64_t)st.received));
		json_object_object_add(o, "lost", json_object_new_int64((int64_t)lost));
		json_object_object_add(o, "reordered", json_object_new_int64((int64_t)st.reordered));
		json_object_object_add(o, "corrupt", json_object_new_int64((int64_t)st.corrupt));
		json_object_object_add(o, "errors", json_object_new_int64((int64_t)st.errors));
		if (st.errors)
			json_object_object_add(o, "last_error", json_object_new_string(st.last_error));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	printf("mcpbench: %d connections x %d in flight, payload %d..%d bytes, v%d, %.2f s\n",
	       opt.connections, opt.depth, opt.size_lo, opt.size_hi, opt.version, secs);
	printf("messages/s   %.0f   (%.1f MB/s)\n", mps, mbps);
	printf("latency      p50 %.1f us   p90 %.1f us   p99 %.1f us   p99.9 %.1f us   max %.1f us\n",
	       percentile(50) / 1e3, percentile(90) / 1e3, percentile(99) / 1e3,
	       percentile(99.9) / 1e3, (double)st.max_ns / 1e3);
	printf("cpu          %.2f us per message (whole machine, from /proc/stat)\n", cpu_us);
	printf("frames       sent %llu  received %llu  lost %llu  reordered %llu  corrupt %llu\n",
	       (unsigned long long)st.sent, (unsigned long long)st.received,
	       (unsigned long long)lost, (unsigned long long)st.reordered,
	       (unsigned long long)st.corrupt);
	if (st.errors)
		printf("errors       %llu (last: %s)\n", (unsigned long long)st.errors, st.last_error);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mcpbench --target HOST:PORT [--connections N] [--depth D] [--size BYTES |\n"
		"                --size A-B] [--duration S | --frames N] [--version 1|2]\n"
		"                [--ops GET,SET,...] [--ping-every K] [--chunk BYTES] [--json]\n"
		"\n"
		"Closed-loop load: N connections keep D requests each in flight; every answer is\n"
		"checked for order and content. Exits 1 if any frame was lost, reordered or corrupt,\n"
		"or a connection failed.\n"
		"  -t, --target ADDR      the router (or a backend)\n"
		"  -c, --connections N    connections (default 1)\n"
		"  -d, --depth D          requests in flight per connection (default 1)\n"
		"  -s, --size B | A-B     payload bytes, fixed or uniformly random (default 64)\n"
		"  -D, --duration S       seconds of load (default 5)\n"
		"  -n, --frames N         requests per connection, then stop (overrides duration)\n"
		"  -v, --version V        header version 1 or 2 (default 1)\n"
		"      --ops LIST         request opcodes used in turn (default GET); PING among them\n"
		"                         counts its PONG as its answer (--ops PING: PINGs only)\n"
		"      --ping-every K     every K-th frame is a PING (answered by the router)\n"
		"      --chunk BYTES      write at most BYTES per send (1: one byte per write)\n"
		"      --busy-poll        spin on epoll instead of sleeping (for latency)\n"
		"      --rate R           open loop: R messages/s over all connections, whatever\n"
		"                         comes back (--depth caps what may be outstanding)\n"
		"      --udp              MCP over UDP: one datagram per frame, no handshake;\n"
		"                         datagrams never answered are counted lost\n"
		"      --warmup S         seconds of load before measuring starts\n"
		"      --idle             say HELLO, then hold the sessions without load\n"
		"      --token HEX        the signed identity every HELLO carries (mcpctl token issue)\n"
		"      --threads T        T threads, each driving every T-th connection (default 1)\n"
		"  -j, --json             one JSON object instead of text\n"
		"SIGINT or SIGTERM ends the run early as if its time were up: the answers in flight\n"
		"are awaited and the results printed.\n");
}

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* One thread's loop over its connections (every threads-th, from `first`), until the run
 * is over and their answers are in (or 3 s have passed). */
struct worker {
	struct bconn *conns;
	int first, epfd;
	uint64_t start_ns;
	double cpu0; /* the machine's CPU time when measuring began (thread 0 notes it) */
	struct bstats stats;
	pthread_t thread;
};

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	struct bconn *conns = w->conns;
	static __thread uint8_t buf[256 * 1024];
	uint64_t drain_end = 0, end = end_ns;
	int step = opt.threads;

	measuring = opt.warmup <= 0;
	for (;;) {
		struct epoll_event evs[256];
		uint64_t now = now_ns(), t0 = opt.warmup > 0 && now >= warm_end ? warm_end : w->start_ns;
		int sending, n, running;

		if (stop_requested && end > now)
			end = now; /* SIGINT or SIGTERM: the run ends here, as if its time were up */
		sending = now < end && !opt.idle;

		if (!measuring && now >= warm_end) {
			measuring = 1;
			if (w->first == 0)
				w->cpu0 = machine_cpu_s();
		}
		if (opt.idle && now >= end)
			break;

		/* Answers still in flight may come back for 3 s (--idle has none: it holds its
		 * sessions for the whole duration; it once let them go after these 3 s). */
		if (!sending && !drain_end && !opt.idle)
			drain_end = now + 3000000000ull;
		running = 0;
		for (int i = w->first; i < opt.connections; i += step) {
			struct bconn *c = &conns[i];

			if (c->state == C_DONE)
				continue;
			if (!opt.idle && c->state == C_RUNNING && c->next_recv == c->next_send &&
			    c->pongs_received == c->pings_sent &&
			    (!sending || (opt.frames && c->next_send >= opt.frames)))
				continue; /* finished */
			running++;
		}
		if (!running || (drain_end && now > drain_end))
			break;
		if (opt.rate > 0 && sending)
			for (int i = w->first; i < opt.connections; i += step) {
				pace(&conns[i], t0, now);
				if (conns[i].out.len && flush(&conns[i]) > 0) {
					struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
								  .data.ptr = &conns[i] };
					if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, conns[i].fd, &ev))
						fail_conn(&conns[i], strerror(errno));
				}
			}
		n = epoll_wait(w->epfd, evs, 256,
			       opt.busy_poll ? 0 : opt.rate > 0 || opt.udp ? 1 : 100);
		for (int i = 0; i < n; i++) {
			struct bconn *c = evs[i].data.ptr;

			if (c->state == C_DONE)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				ssize_t r = recv(c->fd, buf, sizeof(buf), 0), off = 0;

				if (r == 0 || (r < 0 && errno != EAGAIN)) {
					fail_conn(c, r == 0 ? "closed by the peer" : strerror(errno));
					continue;
				}
				while (r > 0 && off < r && c->state != C_DONE) {
					ssize_t used = mcp_decoder_feed(&c->dec, buf + off, (size_t)(r - off),
									on_frame, c);
					if (used < 0) {
						fail_conn(c, mcp_check_name(c->dec.error));
						break;
					}
					off += used;
				}
			}
			if (c->state == C_DONE)
				continue;
			top_up(c, !opt.idle && now_ns() < end);
			if (flush(c) >= 0) {
				struct epoll_event ev = { .events = EPOLLIN | (c->out.len ? EPOLLOUT : 0),
							  .data.ptr = c };
				if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev))
					fail_conn(c, strerror(errno));
			}
		}
	}
	w->stats = st;
	return NULL;
}

/* The threads' counts as one. */
static void add_stats(struct bstats *to, const struct bstats *from)
{
	to->sent += from->sent;
	to->received += from->received;
	to->reordered += from->reordered;
	to->corrupt += from->corrupt;
	to->errors += from->errors;
	to->closed_early += from->closed_early;
	to->measured += from->measured;
	to->bytes += from->bytes;
	for (int i = 0; i < HIST_LEN; i++)
		to->hist[i] += from->hist[i];
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
	if (!to->last_error[0])
		memcpy(to->last_error, from->last_error, sizeof(to->last_error));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "connections", required_argument, NULL, 'c' },
		{ "depth", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'D' },
		{ "frames", required_argument, NULL, 'n' },
		{ "version", required_argument, NULL, 'v' },
		{ "ops", required_argument, NULL, 'O' },
		{ "ping-every", required_argument, NULL, 'P' },
		{ "chunk", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "busy-poll", no_argument, NULL, 'B' },
		{ "rate", required_argument, NULL, 'R' },
		{ "udp", no_argument, NULL, 'U' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "idle", no_argument, NULL, 'I' },
		{ "token", required_argument, NULL, 'T' },
		{ "threads", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "Version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *target = NULL;
	struct bconn *conns;
	struct worker *workers;
	uint64_t t0;
	double cpu0;
	int ch;

	while ((ch = getopt_long(argc, argv, "t:c:d:s:D:n:v:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			target = optarg;
			break;
		case 'c':
			opt.connections = atoi(optarg);
			break;
		case 'd':
			opt.depth = atoi(optarg);
			break;
		case 's':
			if (sscanf(optarg, "%d-%d", &opt.size_lo, &opt.size_hi) != 2)
				opt.size_hi = opt.size_lo = atoi(optarg);
			break;
		case 'D':
			opt.duration = atof(optarg);
			break;
		case 'n':
			opt.frames = strtoull(optarg, NULL, 10);
			break;
		case 'v':
			opt.version = atoi(optarg);
			break;
		case 'O':
			if (parse_ops(optarg)) {
				fprintf(stderr, "mcpbench: --ops: '%s' is not a list of request opcodes\n",
					optarg);
				return 2;
			}
			break;
		case 'P':
			opt.ping_every = atoi(optarg);
			break;
		case 'C':
			opt.chunk = atoi(optarg);
			break;
		case 'j':
			opt.json = 1;
			break;
		case 'B':
			opt.busy_poll = 1;
			break;
		case 'R':
			opt.rate = atof(optarg);
			break;
		case 'U':
			opt.udp = 1;
			break;
		case 'W':
			opt.warmup = atof(optarg);
			break;
		case 'I':
			opt.idle = 1;
			break;
		case 'H':
			opt.threads = atoi(optarg);
			break;
		case 'T': {
			size_t n = strlen(optarg);

			if (n % 2 || n / 2 > sizeof(opt.token) || !n) {
				fprintf(stderr, "mcpbench: --token: not a token (hex, up to %zu bytes)\n",
					sizeof(opt.token));
				return 2;
			}
			for (size_t i = 0; i < n / 2; i++) {
				unsigned int byte;

				if (sscanf(optarg + 2 * i, "%2x", &byte) != 1) {
					fprintf(stderr, "mcpbench: --token: not hex\n");
					return 2;
				}
				opt.token[i] = (uint8_t)byte;
			}
			opt.token_len = n / 2;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mcpbench %s\n", MCP_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!target || mcp_parse_addr(target, &opt.target) || opt.connections < 1 || opt.depth < 1 ||
	    opt.size_lo < 0 || opt.size_hi > MCP_MAX_FRAME_LIMIT || opt.size_lo > opt.size_hi ||
	    (opt.version != 1 && opt.version != 2) || opt.duration <= 0 || opt.threads < 1 ||
	    opt.threads > 64) {
		fprintf(stderr, "mcpbench: bad arguments\n");
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (opt.threads > opt.connections)
		opt.threads = opt.connections;
	conns = calloc((size_t)opt.connections, sizeof(*conns));
	workers = calloc((size_t)opt.threads, sizeof(*workers));
	if (!conns || !workers) {
		fprintf(stderr, "mcpbench: out of memory\n");
		return 1;
	}
	for (int k = 0; k < opt.threads; k++) {
		workers[k].conns = conns;
		workers[k].first = k;
		workers[k].epfd = epoll_create1(EPOLL_CLOEXEC);
		if (workers[k].epfd < 0) {
			fprintf(stderr, "mcpbench: epoll_create1: %s\n", strerror(errno));
			return 1;
		}
	}
	for (int i = 0; i < opt.connections; i++) {
		conns[i].id = (uint32_t)i + 1;
		if (start(&conns[i], workers[i % opt.threads].epfd)) {
			fprintf(stderr, "mcpbench: cannot connect to %s: %s\n", target, strerror(errno));
			return 1;
		}
	}
	for (int i = 0; opt.udp && i < opt.connections; i++) {
		top_up(&conns[i], 1);
		flush(&conns[i]);
	}
	uint64_t start = now_ns();

	warm_end = start + (uint64_t)(opt.warmup * 1e9);
	/* With --frames the run ends when they are all answered; over UDP, where a datagram
	 * can be lost for good, the duration still caps it. */
	end_ns = opt.frames && !opt.udp ? UINT64_MAX : warm_end + (uint64_t)(opt.duration * 1e9);
	for (int k = 0; k < opt.threads; k++) {
		workers[k].start_ns = start;
		workers[k].cpu0 = machine_cpu_s();
		if (k && pthread_create(&workers[k].thread, NULL, run_worker, &workers[k])) {
			fprintf(stderr, "mcpbench: cannot start a thread: %s\n", strerror(errno));
			return 1;
		}
	}
	run_worker(&workers[0]);
	memset(&st, 0, sizeof(st));
	for (int k = 0; k < opt.threads; k++) {
		if (k)
			pthread_join(workers[k].thread, NULL);
		add_stats(&st, &workers[k].stats);
	}
	t0 = opt.warmup > 0 ? warm_end : start;
	cpu0 = workers[0].cpu0;
	double secs = (double)(now_ns() - t0) / 1e9;
	cpu_used = machine_cpu_s() - cpu0;
	if (opt.frames == 0 && !opt.idle)
		secs = opt.duration < secs ? opt.duration : secs;
	report(secs);
	for (int i = 0; i < opt.connections; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	return (st.sent != st.received || st.reordered || st.corrupt || st.errors) ? 1 : 0;
}
