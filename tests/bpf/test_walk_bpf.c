// SPDX-License-Identifier: GPL-2.0-only
/*
 * The verdict's walk without the daemon: a table of streams, each cut into chunks, run through
 * bpf/lib/walk.h in the kernel (tests/bpf/walk_fixture.bpf.c, BPF_PROG_TEST_RUN). For every
 * chunk the table says where its frames go, or why it goes to mcpd, and what the socket's
 * state holds after it; and userspace's stream decoder must agree with the kernel on every
 * chunk (walk_agree). Routes: GET to pool 1 (slot 1), SET to pool 2, DEL nowhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "frame.h"
#include "walk_runner.h"

/* The table names only the fields that matter to each row. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define MAX_FRAME 1000

enum corrupt { NONE, MAGIC0, MAGIC2, VERSION1 };

struct spec {
	uint8_t op;
	uint16_t len;
	uint8_t corrupt;
};

struct want {
	uint32_t dest;
	uint32_t reason;
	uint64_t frames;
	uint8_t hdr_have;
	uint32_t skip;
	uint32_t check; /* MCP_DP_PASS_INVALID */
	int32_t bad_at;
};

struct fixture {
	const char *name;
	uint8_t version, peer;
	struct spec frames[4];
	const char *raw; /* instead of frames */
	uint32_t cuts[3]; /* chunk lengths; the last chunk takes the rest */
	struct want want[4];
};

#define C MCP_PEER_CLIENT
#define B MCP_PEER_BACKEND
#define NOWHERE MCP_DEST_NONE
#define DAEMON MCP_DEST_DAEMON
#define SELF MCP_DEST_SELF
#define GET MCP_OP_GET
#define SET MCP_OP_SET
#define DEL MCP_OP_DEL

static const struct fixture fixtures[] = {
	{ "a request goes to its pool", 1, C, { { GET, 10 } }, NULL, { 0 },
	  { { 1, MCP_DP_REDIRECT, 1 } } },
	{ "two requests for one pool go together", 1, C, { { GET, 10 }, { GET, 0 } }, NULL, { 0 },
	  { { 1, MCP_DP_REDIRECT, 2 } } },
	{ "requests for two pools go to mcpd", 1, C, { { GET, 3 }, { SET, 3 } }, NULL, { 0 },
	  { { 1, MCP_DP_PASS_MIXED, 2 } } },
	{ "a PING is answered where it came from", 1, C, { { MCP_OP_PING, 0 } }, NULL, { 0 },
	  { { SELF, MCP_DP_REDIRECT, 1 } } },
	{ "a request without a route", 1, C, { { DEL, 2 } }, NULL, { 0 },
	  { { DAEMON, MCP_DP_PASS_NO_ROUTE, 1 } } },
	{ "a control frame", 1, C, { { MCP_OP_CLOSE, 0 } }, NULL, { 0 },
	  { { DAEMON, MCP_DP_PASS_CONTROL, 1 } } },
	{ "a payload across two chunks", 1, C, { { GET, 100 } }, NULL, { 50 },
	  { { 1, MCP_DP_REDIRECT, 1, 0, 58 }, { 1, MCP_DP_REDIRECT, 0, 0, 0 } } },
	{ "a header across two chunks", 1, C, { { GET, 5 } }, NULL, { 3 },
	  { { NOWHERE, MCP_DP_PASS_PARTIAL, 0, 3 }, { 1, MCP_DP_PASS_PARTIAL, 1 } } },
	{ "a v2 header across three chunks", 2, C, { { GET, 5 } }, NULL, { 3, 7 },
	  { { NOWHERE, MCP_DP_PASS_PARTIAL, 0, 3 }, { NOWHERE, MCP_DP_PASS_PARTIAL, 0, 10 },
	    { 1, MCP_DP_PASS_PARTIAL, 1 } } },
	{ "the rest of a payload, then a frame for another pool", 1, C,
	  { { GET, 20 }, { SET, 4 } }, NULL, { 10 },
	  { { 1, MCP_DP_REDIRECT, 1, 0, 18 }, { 1, MCP_DP_PASS_MIXED, 1 } } },
	{ "not MCP at all", 1, C, { { 0 } }, "HTTP/1.1 200 OK\r\n", { 0 },
	  { { NOWHERE, MCP_DP_PASS_INVALID, 0, .check = MCP_CHECK_BAD_MAGIC, .bad_at = 0 } } },
	{ "a bad magic byte in the next chunk", 1, C, { { GET, 0, MAGIC2 } }, NULL, { 2 },
	  { { NOWHERE, MCP_DP_PASS_PARTIAL, 0, 2 },
	    { NOWHERE, MCP_DP_PASS_INVALID, 0, .check = MCP_CHECK_BAD_MAGIC, .bad_at = 0 } } },
	{ "a good frame, then a bad one", 1, C, { { GET, 2 }, { GET, 0, MAGIC0 } }, NULL, { 0 },
	  { { 1, MCP_DP_PASS_INVALID, 1, .check = MCP_CHECK_BAD_MAGIC, .bad_at = 10 } } },
	{ "a frame over the session's limit", 1, C, { { GET, MAX_FRAME + 1 } }, NULL, { 0 },
	  { { NOWHERE, MCP_DP_PASS_INVALID, 0, .check = MCP_CHECK_TOO_LARGE, .bad_at = 6 } } },
	{ "a response from a client", 1, C, { { GET | MCP_OP_RESPONSE_BIT, 0 } }, NULL, { 0 },
	  { { NOWHERE, MCP_DP_PASS_INVALID, 0, .check = MCP_CHECK_BAD_OPCODE, .bad_at = 5 } } },
	{ "a response from a backend goes to the client", 1, B,
	  { { GET | MCP_OP_RESPONSE_BIT, 4 } }, NULL, { 0 },
	  { { MCP_SLOT_CLIENT, MCP_DP_REDIRECT, 1 } } },
	{ "a request from a backend", 1, B, { { GET, 0 } }, NULL, { 0 },
	  { { NOWHERE, MCP_DP_PASS_INVALID, 0, .check = MCP_CHECK_BAD_OPCODE, .bad_at = 5 } } },
	{ "a v2 request", 2, C, { { GET, 4 } }, NULL, { 0 }, { { 1, MCP_DP_REDIRECT, 1 } } },
	{ "a v1 header on a v2 session", 2, C, { { GET, 4, VERSION1 } }, NULL, { 0 },
	  { { NOWHERE, MCP_DP_PASS_INVALID, 0, .check = MCP_CHECK_BAD_VERSION, .bad_at = 4 } } },
};

static struct walk_runner *runner;

/* The fixture's stream: its frames (corrupted as it says), or its raw bytes. */
static size_t build(const struct fixture *fx, uint8_t *out, size_t cap)
{
	static const uint8_t payload[MAX_FRAME + 1];
	size_t n = 0;

	if (fx->raw) {
		n = strlen(fx->raw);
		memcpy(out, fx->raw, n);
		return n;
	}
	for (int i = 0; i < 4 && fx->frames[i].op; i++) {
		const struct spec *s = &fx->frames[i];
		uint8_t version = s->corrupt == VERSION1 ? 1 : fx->version;
		ssize_t k = mcp_frame_build(out + n, cap - n, version, s->op, 7, 0, payload, s->len);

		assert_true(k > 0);
		if (s->corrupt == MAGIC0)
			out[n] ^= 0xFF;
		if (s->corrupt == MAGIC2)
			out[n + 2] ^= 0xFF;
		n += (size_t)k;
	}
	return n;
}

#define EXPECT(what, got, want)                                                               \
	do {                                                                                  \
		if ((long long)(got) != (long long)(want)) {                                  \
			print_error("\"%s\", chunk %d: %s is %lld, not %lld\n", fx->name, c,  \
				    what, (long long)(got), (long long)(want));               \
			fail();                                                               \
		}                                                                             \
	} while (0)

static void test_fixture_table(void **state)
{
	static uint8_t stream[4 * (MAX_FRAME + 32)];

	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture *fx = &fixtures[i];
		size_t len = build(fx, stream, sizeof(stream)), at = 0;
		size_t ncuts = 0;
		char why[256];

		assert_int_equal(walk_runner_reset(runner, fx->version, fx->peer, MAX_FRAME), 0);
		assert_int_equal(walk_runner_route(runner, GET, 1), 0);
		assert_int_equal(walk_runner_route(runner, SET, 2), 0);
		for (int c = 0; at < len; c++) {
			const struct want *w = &fx->want[c];
			size_t n = c < 3 && fx->cuts[c] ? fx->cuts[c] : len - at;
			struct walk_result k;

			assert_true(c < 4);
			assert_int_equal(walk_runner_chunk(runner, stream + at, (uint32_t)n, &k), 0);
			EXPECT("the destination", k.dest, w->dest);
			EXPECT("the reason", k.reason, w->reason);
			EXPECT("the frames taken", k.frames, w->frames);
			if (w->reason == MCP_DP_PASS_INVALID) {
				EXPECT("the rule broken", k.check, w->check);
				EXPECT("where", k.bad_at, w->bad_at);
				break;
			}
			EXPECT("the header bytes held", k.st.fr.hdr_have, w->hdr_have);
			EXPECT("the payload to come", k.st.fr.skip, w->skip);
			at += n;
			if (c < 3 && fx->cuts[c])
				ncuts++;
		}
		/* Userspace's decoder, in the same chunks, agrees with the kernel. */
		if (walk_agree(runner, fx->version, fx->peer, MAX_FRAME, stream, len, fx->cuts,
			       ncuts, why, sizeof(why))) {
			print_error("\"%s\": %s\n", fx->name, why);
			fail();
		}
	}
}

/* Every cut of streams that hold each kind of frame, both versions, both senders. */
static void test_every_cut_agrees(void **state)
{
	static uint8_t stream[512];
	static const uint8_t ops[] = { GET, MCP_OP_PING, SET, MCP_OP_CLOSE, DEL, GET };
	char why[256];

	(void)state;
	for (uint8_t version = 1; version <= 2; version++) {
		size_t len = 0;

		for (size_t i = 0; i < sizeof(ops); i++) {
			ssize_t k = mcp_frame_build(stream + len, sizeof(stream) - len, version,
						    ops[i], 1, 0, "0123456789", i * 2);

			assert_true(k > 0);
			len += (size_t)k;
		}
		for (uint32_t a = 1; a < len; a++) {
			uint32_t cuts[2] = { a, 1 + (a * 7) % 13 };

			if (walk_agree(runner, version, C, MAX_FRAME, stream, len, cuts, 2, why,
				       sizeof(why))) {
				print_error("v%u, cut at %u: %s\n", version, a, why);
				fail();
			}
		}
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* GET (pool 1, slot 1) and SET (pool 2) requests, n of them, in one chunk: the result. */
static void walk_requests(const uint8_t *ops, int n, struct walk_result *k)
{
	uint8_t stream[512];
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		ssize_t f = mcp_frame_build(stream + len, sizeof(stream) - len, 1, ops[i], 0, 0, "ab", 2);

		assert_true(f > 0);
		len += (size_t)f;
	}
	assert_int_equal(walk_runner_chunk(runner, stream, (uint32_t)len, k), 0);
}

static void restricted(const struct mcp_perms *p)
{
	assert_int_equal(walk_runner_reset(runner, 1, C, MAX_FRAME), 0);
	assert_int_equal(walk_runner_route(runner, GET, 1), 0);
	assert_int_equal(walk_runner_route(runner, SET, 2), 0);
	assert_int_equal(walk_runner_perms(runner, p), 0);
}

/* A restricted session (include/mcp/perm.h): what it may not send, or not now, goes to mcpd,
 * and only frames that went on take tokens. */
static void test_permissions_in_the_walk(void **state)
{
	const uint8_t get3[] = { GET, GET, GET }, get_set[] = { GET, SET };
	struct mcp_perms p, after;
	struct walk_result k;

	(void)state;
	/* GET only: a SET goes to mcpd, with its chunk. */
	memset(&p, 0, sizeof(p));
	mcp_perm_allow_opcode(&p, GET);
	p.pools = ~0u;
	restricted(&p);
	walk_requests(get_set, 2, &k);
	assert_int_equal(k.dest, 1);
	assert_int_equal(k.reason, MCP_DP_PASS_DENIED);
	assert_int_equal(k.frames, 2);
	walk_requests(get3, 3, &k);
	assert_int_equal(k.reason, MCP_DP_REDIRECT);
	/* Pool 1 (slot 2) only: GET's pool is not. */
	mcp_perm_all(&p);
	p.pools = 1u << 1;
	restricted(&p);
	walk_requests(get3, 1, &k);
	assert_int_equal(k.dest, MCP_DEST_DAEMON);
	assert_int_equal(k.reason, MCP_DP_PASS_DENIED);
	/* Rate 2/s with 2 tokens: the third of three is over; nothing is taken for a chunk that
	 * goes to mcpd. */
	mcp_perm_all(&p);
	p.rate_fps = 2;
	mcp_perm_fill(&p, mono_ns());
	restricted(&p);
	walk_requests(get3, 3, &k);
	assert_int_equal(k.reason, MCP_DP_PASS_DENIED);
	assert_int_equal(k.taken, 2);
	assert_int_equal(walk_runner_perms_get(runner, &after), 0);
	assert_true(after.bucket.tokens_ns >= 2 * MCP_NS_PER_TOKEN);
	/* Two fit: redirected, and their two tokens are spent. */
	walk_requests(get3, 2, &k);
	assert_int_equal(k.reason, MCP_DP_REDIRECT);
	assert_int_equal(k.taken, 2);
	assert_int_equal(walk_runner_perms_get(runner, &after), 0);
	assert_true(after.bucket.tokens_ns < MCP_NS_PER_TOKEN);
	/* Responses are never judged. */
	p.rate_fps = 0;
	memset(p.opcodes, 0, sizeof(p.opcodes));
	assert_int_equal(walk_runner_reset(runner, 1, B, MAX_FRAME), 0);
	assert_int_equal(walk_runner_perms(runner, &p), 0);
	{
		const uint8_t resp[] = { GET | 0x80, SET | 0x80 };

		walk_requests(resp, 2, &k);
		assert_int_equal(k.dest, MCP_SLOT_CLIENT);
		assert_int_equal(k.reason, MCP_DP_REDIRECT);
	}
}

static int setup(void **state)
{
	struct err e;

	(void)state;
	runner = walk_runner_open(&e);
	if (!runner) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	walk_runner_close(runner);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_table),
		cmocka_unit_test(test_every_cut_agrees),
		cmocka_unit_test(test_permissions_in_the_walk),
	};

	return cmocka_run_group_tests_name("walk", tests, setup, teardown);
}
